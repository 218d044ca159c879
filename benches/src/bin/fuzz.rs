//! Structure-aware fuzzing of the raw decoders (`Frame::from_bytes`), on stable Rust, for as long
//! as asked. The seeds are the shared data (`../shared/data/{real/raw,raw,bad}`) plus a synthetic
//! NEF and opcode DNG; the mutator and the checks are `burstpipe_tests::fuzz`, the same as the
//! CI test (`tests/fuzz.rs`). Each case must decode or give a clean error within `--case-ms`,
//! with no single allocation over 64 × the file's length + 16 MiB; failures are written to
//! `--out` (`failure-<case>-<seed>.bin` + `.txt`). A case is a pure function of (`--seed`, its
//! number): `--first N --cases 1` replays case N.
//!
//! ```text
//! cargo run --release -p burstpipe-benches --bin fuzz -- [--cases N | --seconds S] [--seed 1]
//!     [--first 0] [--out fuzz-out] [--case-ms 20000]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use burstpipe_tests::fuzz::{self, CountingAlloc, Plan};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[derive(Parser)]
struct Args {
    /// Number of cases (default: until --seconds, or 10 000 without it).
    #[arg(long)]
    cases: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long)]
    seconds: Option<f64>,
    /// Run seed: the same seed gives the same cases.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// First case number (to replay or resume).
    #[arg(long, default_value_t = 0)]
    first: u64,
    /// Folder for reproducers.
    #[arg(long, default_value = "fuzz-out")]
    out: PathBuf,
    /// Per-case time limit in milliseconds (a hang aborts the run after writing the case).
    #[arg(long, default_value_t = 20_000)]
    case_ms: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let seeds = match fuzz::seeds() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fuzz: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cases = match (args.cases, args.seconds) {
        (Some(n), _) => n,
        (None, Some(_)) => u64::MAX,
        (None, None) => 10_000,
    };
    eprintln!(
        "fuzz: {} seeds, run seed {}, cases from {}",
        seeds.len(),
        args.seed,
        args.first
    );
    let report = fuzz::run(
        &seeds,
        &Plan {
            seed: args.seed,
            first: args.first,
            cases,
            seconds: args.seconds,
            case_time: Duration::from_millis(args.case_ms),
            out: args.out,
            progress: Some(Duration::from_secs(10)),
        },
    );
    println!("{}", report.summary());
    if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
