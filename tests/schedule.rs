//! The engine embedded in an application: progress and cancellation of develop, fuse and merge,
//! engines in parallel threads, and the batch scheduler (overlapped against sequential, a bad
//! burst, several devices, a tiny memory budget, cancelling a batch).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use burstpipe::{
    run_batch, BatchEvent, BatchJob, BatchOptions, Burst, Cfa, Engine, EngineOptions, Error, Frame,
    FuseOptions, Image, MergeMethod, MergeOptions, Options,
};
use burstpipe_tests::synth::{random_motions, synth_burst, NOISE_MEDIUM};
use burstpipe_tests::{assets, kodak, sensor_mosaic, Rgb};

fn engine() -> Engine {
    Engine::new(&EngineOptions::default())
        .expect("a GPU adapter (apt-get install mesa-vulkan-drivers)")
}

/// The `w`×`h` centre of a Kodak photo: small enough for fast tests, real content.
fn crop(name: &str, w: u32, h: u32) -> Rgb {
    let img = kodak(name);
    let (x0, y0) = ((img.width - w) / 2, (img.height - h) / 2);
    burstpipe_tests::crop(&img, x0, y0, w, h)
}

fn frame(name: &str) -> Frame {
    let img = crop(name, 256, 256);
    Frame::from_mosaic(
        256,
        256,
        sensor_mosaic(&img, Cfa::Rggb),
        Cfa::Rggb,
        256.0,
        4095.0,
    )
    .unwrap()
    .with_source(format!("{name}.dng"))
}

/// Every (done, total) a call reports, checked to rise to its total.
fn assert_monotone_to_one(calls: &[(usize, usize)], what: &str) {
    assert!(!calls.is_empty(), "{what}: no progress reported");
    let total = calls[0].1;
    assert!(
        calls.iter().all(|&(_, t)| t == total),
        "{what}: total changed: {calls:?}"
    );
    assert!(
        calls.windows(2).all(|w| w[0].0 <= w[1].0),
        "{what}: progress went back: {calls:?}"
    );
    assert_eq!(
        calls.last().unwrap().0,
        total,
        "{what}: did not reach 1: {calls:?}"
    );
}

/// Runs `call` once to count its progress calls, then cancels it at each of them: every cancel
/// must give `Error::Cancelled`, and the engine must still give the uncancelled result after.
fn check_cancel_at_every_step<T: PartialEq + std::fmt::Debug>(
    what: &str,
    mut call: impl FnMut(&mut dyn FnMut(usize, usize, &str) -> ControlFlow<()>) -> burstpipe::Result<T>,
) {
    let mut calls = Vec::new();
    let want = call(&mut |d, t, _| {
        calls.push((d, t));
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_monotone_to_one(&calls, what);
    for k in 0..calls.len() {
        let mut n = 0;
        let got = call(&mut |_, _, _| {
            n += 1;
            if n > k {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert!(
            matches!(got, Err(Error::Cancelled)),
            "{what}: cancel at step {} of {}: {got:?}",
            k + 1,
            calls.len()
        );
        assert_eq!(
            n,
            k + 1,
            "{what}: went on after the cancel at step {}",
            k + 1
        );
        let again = call(&mut |_, _, _| ControlFlow::Continue(())).unwrap();
        assert!(
            again == want,
            "{what}: the engine changed its result after a cancel"
        );
    }
}

#[test]
fn develop_reports_progress_and_cancels_at_every_step() {
    let engine = engine();
    let f = frame("kodim23");
    let plain = engine.develop(&f, &Options::default()).unwrap();
    // Fusion tone mapping in one band, and the curve in four bands (more steps).
    let banded = Options {
        max_band_rows: Some(64),
        tone: burstpipe::Tone::Curve,
        ..Options::default()
    };
    for (what, opts) in [("develop", Options::default()), ("banded develop", banded)] {
        check_cancel_at_every_step(what, |p| engine.develop_with_progress(&f, &opts, p));
    }
    let mut calls = Vec::new();
    let img = engine
        .develop_with_progress(&f, &Options::default(), &mut |d, t, _| {
            calls.push((d, t));
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(img, plain, "progress changed the photo");
}

#[test]
fn fuse_reports_progress_and_cancels_at_every_step() {
    let engine = engine();
    let f = frame("kodim21");
    let exposures: Vec<Image> = [-1.5f32, 0.0, 1.5]
        .iter()
        .map(|&ev| {
            let o = Options {
                exposure_ev: Some(ev),
                tone: burstpipe::Tone::Curve,
                ..Options::default()
            };
            engine.develop(&f, &o).unwrap()
        })
        .collect();
    let want = engine.fuse(&exposures, &FuseOptions::default()).unwrap();
    check_cancel_at_every_step("fuse", |p| {
        engine.fuse_with_progress(&exposures, &FuseOptions::default(), p)
    });
    let got = engine
        .fuse_with_progress(&exposures, &FuseOptions::default(), &mut |_, _, _| {
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(got, want);
}

fn small_burst(seed: u64) -> Burst {
    let img = crop("kodim23", 256, 192);
    Burst::new(
        synth_burst(
            &img,
            &random_motions(3, 4.0, 0.0, seed),
            NOISE_MEDIUM,
            None,
            seed,
        )
        .frames,
    )
    .unwrap()
}

#[test]
fn merge_and_develop_progress_rises_to_one_and_cancels() {
    let engine = engine();
    let burst = small_burst(1);
    let options = MergeOptions {
        method: MergeMethod::Spatial,
        ..MergeOptions::default()
    };
    let want = engine.merge(&burst, &options).unwrap();
    check_cancel_at_every_step("merge", |p| engine.merge_with_progress(&burst, &options, p));
    let got = engine
        .merge_with_progress(&burst, &options, &mut |_, _, _| ControlFlow::Continue(()))
        .unwrap();
    assert_eq!(got, want);
}

#[test]
fn two_engines_in_parallel_threads_give_the_same_photos() {
    let (a, b) = (engine(), engine());
    let burst = small_burst(2);
    let f = frame("kodim19");
    let options = MergeOptions::default();
    let alone = (
        a.merge(&burst, &options).unwrap(),
        a.develop(&f, &Options::default()).unwrap(),
    );
    let run = |e: &Engine| {
        // Several rounds each, so that the two threads' GPU work interleaves.
        (0..3)
            .map(|_| {
                (
                    e.merge(&burst, &options).unwrap(),
                    e.develop(&f, &Options::default()).unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let both = std::thread::scope(|s| {
        let (ta, tb) = (s.spawn(|| run(&a)), s.spawn(|| run(&b)));
        [ta.join().unwrap(), tb.join().unwrap()]
    });
    for results in &both {
        for r in results {
            assert!(
                r.0 == alone.0 && r.1 == alone.1,
                "a photo differs when two engines run at once"
            );
        }
    }
}

/// `n` bursts of 3 frames as DNG folders under `root`, and the jobs writing `out/<i>.png`; job
/// `bad` (if any) has a corrupt frame in the middle.
fn burst_jobs(root: &Path, out: &Path, n: usize, bad: Option<usize>) -> Vec<BatchJob> {
    std::fs::create_dir_all(out).unwrap();
    let img = crop("kodim23", 256, 192);
    (0..n)
        .map(|i| {
            let dir = root.join(format!("burst{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            let b = synth_burst(
                &img,
                &random_motions(3, 4.0, 0.0, i as u64),
                NOISE_MEDIUM,
                None,
                i as u64,
            );
            let mut inputs = b.write_dngs(&dir);
            if bad == Some(i) {
                let corrupt = dir.join("frame01.crw");
                std::fs::copy(assets().join("bad/issue_841_poc.crw"), &corrupt).unwrap();
                inputs[1] = corrupt;
            }
            // One single-frame job among the bursts: developed, not merged.
            if i == 1 {
                inputs.truncate(1);
            }
            BatchJob {
                inputs,
                output: out.join(format!("{i}.png")),
            }
        })
        .collect()
}

fn batch_options(overlap: bool) -> BatchOptions {
    BatchOptions {
        merge: MergeOptions {
            method: MergeMethod::Spatial,
            ..MergeOptions::default()
        },
        overlap,
        decode_threads: 2,
        encode_threads: 2,
        ..BatchOptions::default()
    }
}

fn run(engines: &[Engine], jobs: &[BatchJob], options: &BatchOptions) -> burstpipe::BatchReport {
    run_batch(engines, jobs, options, &mut |_| ControlFlow::Continue(())).unwrap()
}

fn read(path: &PathBuf) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn overlapped_batch_writes_the_same_files_as_sequential_and_reports_the_bad_burst() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine();
    let seq = burst_jobs(&dir.path().join("in"), &dir.path().join("seq"), 5, Some(3));
    let par: Vec<BatchJob> = seq
        .iter()
        .map(|j| BatchJob {
            output: dir.path().join("par").join(j.output.file_name().unwrap()),
            ..j.clone()
        })
        .collect();
    std::fs::create_dir_all(dir.path().join("par")).unwrap();
    let a = run(std::slice::from_ref(&engine), &seq, &batch_options(false));
    let mut events = Vec::new();
    let b = run_batch(
        std::slice::from_ref(&engine),
        &par,
        &batch_options(true),
        &mut |e| {
            events.push(format!("{e:?}"));
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    for report in [&a, &b] {
        for (i, r) in report.results.iter().enumerate() {
            if i == 3 {
                let e = r.as_ref().unwrap_err();
                assert!(
                    e.to_string().contains("frame01.crw"),
                    "the bad frame is not named: {e}"
                );
            } else {
                assert!(r.is_ok(), "job {i}: {r:?}");
            }
        }
    }
    for (s, p) in seq.iter().zip(&par) {
        if s.output.exists() || p.output.exists() {
            assert!(
                read(&s.output) == read(&p.output),
                "{} differs",
                p.output.display()
            );
        }
    }
    assert!(!par[3].output.exists() && par[4].output.exists());
    // Every job finished exactly once.
    for i in 0..par.len() {
        let n = events
            .iter()
            .filter(|e| e.starts_with(&format!("Finished {{ job: {i},")))
            .count();
        assert_eq!(n, 1, "job {i} finished {n} times: {events:?}");
    }
    assert!(b.stats.peak_in_flight[0] <= 2);
    assert_eq!(b.stats.jobs[0], 4, "the bad burst never reaches the GPU");
}

#[test]
fn a_tiny_memory_budget_runs_bursts_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = burst_jobs(&dir.path().join("in"), &dir.path().join("out"), 4, None);
    let options = BatchOptions {
        memory_budget: Some(1),
        ..batch_options(true)
    };
    let report = run(&[engine()], &jobs, &options);
    assert!(
        report.results.iter().all(|r| r.is_ok()),
        "{:?}",
        report.results
    );
    assert_eq!(report.stats.peak_in_flight, [1]);
    assert!(jobs.iter().all(|j| j.output.exists()));
}

#[test]
fn every_device_takes_bursts() {
    // Every adapter found (here lavapipe through Vulkan and llvmpipe through GL), as
    // `--devices 0,1` would open them; fewer adapters still run the batch.
    let engines: Vec<Engine> = Engine::adapters(burstpipe::Backend::Auto)
        .iter()
        .filter_map(|a| {
            Engine::new(&EngineOptions {
                adapter: Some(a.index),
                ..EngineOptions::default()
            })
            .ok()
        })
        .collect();
    assert!(!engines.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let jobs = burst_jobs(&dir.path().join("in"), &dir.path().join("out"), 4, None);
    let report = run(&engines, &jobs, &batch_options(true));
    assert!(
        report.results.iter().all(|r| r.is_ok()),
        "{:?}",
        report.results
    );
    let names: Vec<String> = engines
        .iter()
        .map(|e| format!("{} ({})", e.adapter().name, e.adapter().backend))
        .collect();
    eprintln!("bursts per device {:?}: {:?}", names, report.stats.jobs);
    assert_eq!(report.stats.jobs.iter().sum::<usize>(), 4);
    assert!(
        report.stats.jobs.iter().all(|&n| n > 0),
        "a device was left idle: {:?}",
        report.stats.jobs
    );
    // And `Engine::open_all` (`--devices all`) opens at least the best adapter.
    assert!(!Engine::open_all(burstpipe::Backend::Auto)
        .unwrap()
        .is_empty());
}

#[test]
fn a_cancelled_batch_stops_and_the_engine_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = burst_jobs(&dir.path().join("in"), &dir.path().join("out"), 5, None);
    let engine = engine();
    for overlap in [false, true] {
        let mut finished = 0;
        let report = run_batch(
            std::slice::from_ref(&engine),
            &jobs,
            &batch_options(overlap),
            &mut |e| {
                if matches!(e, BatchEvent::Finished { .. }) {
                    finished += 1;
                }
                // Cancel as soon as the first photo is written.
                if finished > 0 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .unwrap();
        let cancelled = report
            .results
            .iter()
            .filter(|r| matches!(r, Err(Error::Cancelled)))
            .count();
        let ok = report.results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(
            ok + cancelled,
            jobs.len(),
            "overlap {overlap}: {:?}",
            report.results
        );
        assert!(
            cancelled >= 2,
            "overlap {overlap}: only {cancelled} cancelled"
        );
    }
    let report = run(std::slice::from_ref(&engine), &jobs, &batch_options(true));
    assert!(
        report.results.iter().all(|r| r.is_ok()),
        "{:?}",
        report.results
    );
}
