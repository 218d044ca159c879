//! The fuzzer's fixed CI budget over the shared seeds (see `burstpipe_tests::fuzz`), the
//! regression cases of crashes it found, and the size limits checked before allocating.

use std::time::Duration;

use burstpipe_tests::fuzz::{self, CountingAlloc, Plan};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Cases per CI run: a few thousand, under a minute in a debug build on two cores.
const CI_CASES: u64 = 3000;

#[test]
fn mutated_raws_decode_or_fail_cleanly() {
    let seeds = fuzz::seeds().unwrap_or_else(|e| panic!("{e}"));
    let out = std::env::temp_dir().join(format!("burstpipe-fuzz-{}", std::process::id()));
    let report = fuzz::run(
        &seeds,
        &Plan {
            seed: 1,
            first: 0,
            cases: CI_CASES,
            seconds: None,
            case_time: Duration::from_secs(30),
            out,
            progress: None,
        },
    );
    eprintln!("{}", report.summary());
    assert_eq!(report.cases, CI_CASES);
    assert!(report.failures.is_empty(), "{}", report.summary());
}
