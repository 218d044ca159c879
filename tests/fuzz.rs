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

/// `BURSTPIPE_FUZZ_REPLAY=FILE` runs one reproducer through the same checks (for debugging a
/// failure); without it, the committed regression files in tests/data/fuzz.
#[test]
fn reproducers_decode_or_fail_cleanly() {
    let files: Vec<std::path::PathBuf> = match std::env::var_os("BURSTPIPE_FUZZ_REPLAY") {
        Some(f) => vec![f.into()],
        None => {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/fuzz");
            let mut v: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "bin"))
                .collect();
            v.sort();
            v
        }
    };
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let outcome = fuzz::run_case(&f.display().to_string(), &bytes);
        eprintln!("{}: {outcome:?}", f.display());
        assert!(!matches!(outcome, fuzz::Outcome::Failure(_)), "{}: {outcome:?}", f.display());
    }
}
