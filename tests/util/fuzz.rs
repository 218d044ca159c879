//! A structure-aware fuzzer of the raw decoders on stable Rust, shared by the CI test
//! (`tests/fuzz.rs`, a fixed budget) and `benches` (`fuzz`, as long as asked).
//!
//! Every case is a seed file mutated by [`mutate`] and decoded from memory by
//! [`burstpipe::Frame::from_bytes`]; it must end in `Ok` (with a consistent frame) or a clean
//! `Error`, within a time limit and without any single allocation larger than the file justifies
//! (see [`alloc_limit`]). A panic, a hang or an oversize allocation is a failure: the case is
//! written to the reproducer folder (`<kind>-<case>-<seed>.bin` and a `.txt` saying what was done)
//! and reported. A binary that runs cases must install [`CountingAlloc`] as its global allocator.

pub mod mutate;
pub mod synth;
pub mod tiff;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mutate::Rng;
use tiff::Tiff;

/// Largest single allocation a case of `file_len` bytes may make: 64 bytes per file byte (a
/// 16-bit frame from data compressed 32:1, far beyond any lossless raw codec) plus 16 MiB for
/// fixed tables and thread stacks.
pub fn alloc_limit(file_len: usize) -> u64 {
    64 * file_len as u64 + (16 << 20)
}

/// Beyond this a single allocation is not attempted at all: the process writes the reproducer
/// and aborts (a real decoder asking for this much would be killed for memory anyway).
const HARD_CAP: u64 = 4 << 30;

/// The current case's limit (0: not checking) and the largest allocation seen over it.
static LIMIT: AtomicU64 = AtomicU64::new(0);
static OVER: AtomicU64 = AtomicU64::new(0);
static ALLOCATOR_SEEN: AtomicUsize = AtomicUsize::new(0);
/// 1: print a backtrace at each oversize allocation (`BURSTPIPE_FUZZ_BACKTRACE=1`).
static TRACE: AtomicUsize = AtomicUsize::new(0);

/// A global allocator that records the largest single allocation over the current case's limit.
pub struct CountingAlloc;

impl CountingAlloc {
    #[inline]
    fn check(size: usize) {
        let limit = LIMIT.load(Ordering::Relaxed);
        if limit != 0 && size as u64 > limit {
            OVER.fetch_max(size as u64, Ordering::Relaxed);
            if TRACE.load(Ordering::Relaxed) == 1 {
                // Where it came from (allocations below are not checked while this prints).
                LIMIT.store(0, Ordering::Relaxed);
                eprintln!(
                    "fuzz: allocation of {size} bytes at\n{}",
                    std::backtrace::Backtrace::force_capture()
                );
                LIMIT.store(limit, Ordering::Relaxed);
            }
            if size as u64 > HARD_CAP {
                LIMIT.store(0, Ordering::Relaxed);
                abort_with_case(&format!("a single allocation of {size} bytes"));
            }
        }
    }
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATOR_SEEN.store(1, Ordering::Relaxed);
        Self::check(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::check(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::check(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

/// The allocation limit is one per process and counts every thread (decoders fan out on rayon's
/// threads), so tests that measure allocations, and tests that allocate beside them, run one at a
/// time: each test of a binary that uses [`with_alloc_limit`] holds this guard for its whole run.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Run `f` with every single allocation over `limit` bytes recorded; returns `f`'s result and
/// the largest such allocation (0 if none). Needs [`CountingAlloc`] installed.
pub fn with_alloc_limit<T>(limit: u64, f: impl FnOnce() -> T) -> (T, u64) {
    assert_eq!(
        ALLOCATOR_SEEN.load(Ordering::Relaxed),
        1,
        "install burstpipe_tests::fuzz::CountingAlloc as the #[global_allocator]"
    );
    // rawloader parses its camera database (~19 MB of tables) on first use: once per process,
    // whatever the file, so not counted against the first case.
    static WARM_UP: std::sync::Once = std::sync::Once::new();
    WARM_UP.call_once(|| {
        let _ = burstpipe::Frame::from_bytes("warm-up.nef", &synth::nef());
    });
    if std::env::var_os("BURSTPIPE_FUZZ_BACKTRACE").is_some() {
        TRACE.store(1, Ordering::Relaxed);
    }
    OVER.store(0, Ordering::Relaxed);
    LIMIT.store(limit, Ordering::Relaxed);
    let out = f();
    LIMIT.store(0, Ordering::Relaxed);
    (out, OVER.swap(0, Ordering::Relaxed))
}

/// A seed: a name and its bytes, with its TIFF structure when it has one.
pub struct Seed {
    pub name: String,
    pub bytes: Vec<u8>,
    pub tiff: Option<Tiff>,
}

impl Seed {
    pub fn new(name: &str, bytes: Vec<u8>) -> Seed {
        Seed {
            name: name.into(),
            tiff: Tiff::parse(&bytes),
            bytes,
        }
    }
}

/// The shared data folder (`../shared/data` beside the repository, or `$BURSTPIPE_SHARED/data`).
pub fn shared_data() -> PathBuf {
    std::env::var_os("BURSTPIPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
        .join("data")
}

/// The folders of shared seeds; every one must exist and hold files.
pub const SEED_DIRS: [&str; 3] = ["real/raw", "raw", "bad"];

/// Every file in the shared seed folders, then the synthetic NEF and opcode DNG. An error names
/// a missing or empty folder.
pub fn seeds() -> Result<Vec<Seed>, String> {
    let mut seeds = Vec::new();
    for dir in SEED_DIRS {
        let path = shared_data().join(dir);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
            .map_err(|e| {
                format!(
                    "{}: {e} (the fuzz seeds are the shared data)",
                    path.display()
                )
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e != "md"))
            .collect();
        if files.is_empty() {
            return Err(format!("{} holds no seed files", path.display()));
        }
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            let name = format!(
                "{dir}/{}",
                f.file_name().unwrap_or_default().to_string_lossy()
            );
            seeds.push(Seed::new(&name, bytes));
        }
    }
    seeds.push(Seed::new("synthetic/nikon_d1.nef", synth::nef()));
    seeds.push(Seed::new("synthetic/opcodes.dng", synth::opcode_dng()));
    Ok(seeds)
}

/// How a case ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Decoded into a consistent frame.
    Decoded,
    /// A clean error, by kind (`decode`, `unsupported`, `limits`, ...).
    Error(&'static str),
    /// A failure: what went wrong.
    Failure(String),
}

/// Decode `bytes` as `name` under the time (checked by the caller's watchdog) and allocation
/// limits, and judge the result.
pub fn run_case(name: &str, bytes: &[u8]) -> Outcome {
    let limit = alloc_limit(bytes.len());
    let (result, over) = with_alloc_limit(limit, || {
        panic::catch_unwind(AssertUnwindSafe(|| {
            burstpipe::Frame::from_bytes(name, bytes)
        }))
    });
    let outcome = match result {
        Err(_) => Outcome::Failure(format!(
            "panic: {}",
            LAST_PANIC.lock().map(|p| p.clone()).unwrap_or_default()
        )),
        Ok(Ok(frame)) => match frame_problem(&frame) {
            Some(p) => Outcome::Failure(format!("inconsistent frame: {p}")),
            None => Outcome::Decoded,
        },
        Ok(Err(e)) => Outcome::Error(error_kind(&e)),
    };
    if over > 0 && !matches!(outcome, Outcome::Failure(_)) {
        return Outcome::Failure(format!(
            "a single allocation of {over} bytes, over the {limit} a {}-byte file justifies",
            bytes.len()
        ));
    }
    outcome
}

fn error_kind(e: &burstpipe::Error) -> &'static str {
    use burstpipe::Error as E;
    match e {
        E::Decode { reason, .. } if reason.contains("raw decoder failed") => {
            "decode (rawloader panic, contained)"
        }
        E::Decode { .. } => "decode",
        E::Unsupported { .. } => "unsupported",
        E::Limits { .. } => "limits",
        E::NotRaw { .. } => "not raw",
        E::Io { .. } => "io",
        E::InvalidInput(_) => "invalid input",
        _ => "other",
    }
}

/// What is wrong with a decoded frame, if anything: the public accessors must agree.
pub fn frame_problem(f: &burstpipe::Frame) -> Option<String> {
    let (w, h, s) = (f.width() as u64, f.height() as u64, f.samples() as u64);
    if w == 0 || h == 0 {
        return Some(format!("{w}×{h}"));
    }
    if f.mosaic().len() as u64 != w * h * s {
        return Some(format!("{} values for {w}×{h}×{s}", f.mosaic().len()));
    }
    let (black, white) = f.levels();
    if !(white.is_finite() && white > 0.0) || black.iter().any(|b| !(b.is_finite() && *b < white)) {
        return Some(format!("levels {black:?} / {white}"));
    }
    if f.white_balance()
        .iter()
        .any(|v| !(v.is_finite() && *v > 0.0))
    {
        return Some(format!("white balance {:?}", f.white_balance()));
    }
    None
}

static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

/// The case being run, for the watchdog and the allocator to write out before aborting.
struct Current {
    name: String,
    bytes: Arc<Vec<u8>>,
    out: PathBuf,
    started: Instant,
}
static CURRENT: Mutex<Option<Current>> = Mutex::new(None);

/// Write the current case as a reproducer of `kind` and abort: for hangs and allocations too
/// large to attempt, after which the process cannot go on.
fn abort_with_case(why: &str) -> ! {
    if let Ok(Some(c)) = CURRENT.try_lock().as_deref() {
        let path = write_reproducer(&c.out, "abort", &c.name, &c.bytes, why);
        eprintln!("fuzz: {why} on {}: reproducer {}", c.name, path.display());
    } else {
        eprintln!("fuzz: {why}");
    }
    std::process::abort();
}

/// Write `bytes` and a note to `out/<kind>-<name>.bin|.txt`; returns the .bin path.
pub fn write_reproducer(out: &Path, kind: &str, name: &str, bytes: &[u8], note: &str) -> PathBuf {
    let _ = std::fs::create_dir_all(out);
    let stem = format!("{kind}-{}", name.replace(['/', ' '], "_"));
    let bin = out.join(format!("{stem}.bin"));
    let _ = std::fs::write(&bin, bytes);
    let _ = std::fs::write(out.join(format!("{stem}.txt")), format!("{note}\n"));
    bin
}

/// What to run.
pub struct Plan {
    /// Run seed: the same seed gives the same cases.
    pub seed: u64,
    /// First case number and how many (`u64::MAX`: until `seconds`).
    pub first: u64,
    pub cases: u64,
    /// Stop after this long, if set.
    pub seconds: Option<f64>,
    /// Per-case time limit.
    pub case_time: Duration,
    /// Where reproducers go.
    pub out: PathBuf,
    /// Print a progress line this often (None: silent).
    pub progress: Option<Duration>,
}

/// Totals of a run.
#[derive(Debug, Default)]
pub struct Report {
    pub cases: u64,
    pub elapsed: Duration,
    pub outcomes: BTreeMap<String, u64>,
    /// (case description, reproducer path) of each failure.
    pub failures: Vec<(String, PathBuf)>,
}

impl Report {
    pub fn summary(&self) -> String {
        let rate = self.cases as f64 / self.elapsed.as_secs_f64().max(1e-9);
        let mut s = format!(
            "{} cases in {:.1} s ({rate:.0} cases/s), {} failures\n",
            self.cases,
            self.elapsed.as_secs_f64(),
            self.failures.len()
        );
        for (k, v) in &self.outcomes {
            s += &format!("  {k}: {v}\n");
        }
        for (what, path) in &self.failures {
            s += &format!("  FAILURE {what}\n    reproducer {}\n", path.display());
        }
        s
    }
}

/// The case `case` of a run with `seed`: which seed file, the mutated bytes and what was done.
pub fn make_case(seeds: &[Seed], seed: u64, case: u64) -> (usize, mutate::Case) {
    let mut rng = Rng::for_case(seed, case);
    let index = rng.below(seeds.len());
    let s = &seeds[index];
    (index, mutate::mutate(&s.bytes, s.tiff.as_ref(), &mut rng))
}

/// Run the plan over `seeds`. Panics are caught and reported as failures; a hang or an
/// allocation over [`HARD_CAP`] writes its reproducer and aborts the process.
pub fn run(seeds: &[Seed], plan: &Plan) -> Report {
    install_panic_hook();
    let watchdog = plan.case_time;
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(100));
        let late = CURRENT
            .lock()
            .ok()
            .and_then(|c| c.as_ref().map(|c| c.started.elapsed() > watchdog))
            .unwrap_or(false);
        if late {
            abort_with_case(&format!("a hang (over {watchdog:?})"));
        }
    });
    let start = Instant::now();
    let mut last_progress = start;
    let mut report = Report::default();
    for case in plan.first..plan.first.saturating_add(plan.cases) {
        if plan
            .seconds
            .is_some_and(|s| start.elapsed().as_secs_f64() >= s)
        {
            break;
        }
        let (index, c) = make_case(seeds, plan.seed, case);
        let seed_name = &seeds[index].name;
        let name = format!(
            "{case}-{}",
            seed_name.rsplit('/').next().unwrap_or(seed_name)
        );
        let bytes = Arc::new(c.bytes);
        *CURRENT.lock().unwrap() = Some(Current {
            name: name.clone(),
            bytes: bytes.clone(),
            out: plan.out.clone(),
            started: Instant::now(),
        });
        let outcome = run_case(&name, &bytes);
        *CURRENT.lock().unwrap() = None;
        report.cases += 1;
        let key = match &outcome {
            Outcome::Decoded => "decoded".to_string(),
            Outcome::Error(k) => format!("error: {k}"),
            Outcome::Failure(_) => "FAILURE".to_string(),
        };
        *report.outcomes.entry(key).or_default() += 1;
        if let Outcome::Failure(why) = outcome {
            let note = format!(
                "{why}\nseed file {seed_name}, run seed {}, case {case}\nmutations: {}",
                plan.seed,
                c.what.join("; ")
            );
            let path = write_reproducer(&plan.out, "failure", &name, &bytes, &note);
            report.failures.push((note.replace('\n', " | "), path));
        }
        if let Some(every) = plan.progress {
            if last_progress.elapsed() >= every {
                last_progress = Instant::now();
                let rate = report.cases as f64 / start.elapsed().as_secs_f64();
                eprintln!(
                    "fuzz: {} cases ({rate:.0}/s), {} failures, case {case}",
                    report.cases,
                    report.failures.len()
                );
            }
        }
    }
    report.elapsed = start.elapsed();
    report
}

/// Record panic messages for the report instead of printing a backtrace per case. The engine
/// installs its own hook (silencing rawloader) on top, which forwards ours every other panic.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        panic::set_hook(Box::new(|info| {
            let msg = format!("{info}");
            if let Ok(mut p) = LAST_PANIC.lock() {
                *p = msg;
            }
        }));
    });
}
