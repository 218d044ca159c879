//! A GPU lost in the middle of the work (a driver reset, an unplugged eGPU), simulated by
//! destroying the device: the call fails with `Error::DeviceLost` naming what was running, nothing
//! panics, no output is written, a new engine works, and a batch reports the burst it lost and
//! goes on with the next ones on a device it opens again.

use std::ops::ControlFlow;

use burstpipe::{run_batch, BatchJob, BatchOptions, Engine, EngineOptions, Error, Frame, Options};
use burstpipe_tests::assets;

fn engine() -> Engine {
    Engine::new(&EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn sample() -> std::path::PathBuf {
    assets().join("raw/synthetic-kodim23.dng")
}

#[test]
fn a_device_lost_mid_develop_is_an_error_naming_the_file_and_a_new_engine_works() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let frame = Frame::open(sample()).unwrap();
    let engine = engine();
    let mut steps = 0;
    let result = engine.develop_with_progress(&frame, &Options::default(), &mut |_, _, _| {
        steps += 1;
        if steps == 1 {
            engine.lose_device_for_testing();
        }
        ControlFlow::Continue(())
    });
    let err = result.and_then(|image| image.save(&out)).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, Error::DeviceLost(_))
            && text.contains("synthetic-kodim23.dng")
            && text.contains("during"),
        "{text}"
    );
    assert!(engine.is_lost());
    assert!(!out.exists(), "a file was written after the loss");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // Later calls on the lost engine fail the same way, at once.
    let again = engine.develop(&frame, &Options::default()).unwrap_err();
    assert!(matches!(again, Error::DeviceLost(_)), "{again}");
    // A new engine develops the frame.
    let image = self::engine().develop(&frame, &Options::default()).unwrap();
    assert_eq!((image.width, image.height), (frame.width(), frame.height()));
}

#[test]
fn a_batch_reports_the_burst_whose_device_was_lost_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let jobs: Vec<BatchJob> = ["a", "b", "c"]
        .iter()
        .map(|n| BatchJob {
            inputs: vec![sample()],
            output: dir.path().join(format!("{n}.png")),
        })
        .collect();
    let engines = [engine()];
    // Sequential: the events come from inside the burst's GPU work, so the loss lands in it.
    let options = BatchOptions {
        overlap: false,
        ..BatchOptions::default()
    };
    let mut lost = false;
    let report = run_batch(&engines, &jobs, &options, &mut |event| {
        if let burstpipe::BatchEvent::Progress { job: 1, .. } = event {
            if !lost {
                engines[0].lose_device_for_testing();
                lost = true;
            }
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    let r = &report.results;
    assert!(r[0].is_ok(), "{:?}", r[0]);
    assert!(matches!(r[1], Err(Error::DeviceLost(_))), "{:?}", r[1]);
    assert!(r[2].is_ok(), "the batch did not go on: {:?}", r[2]);
    assert!(jobs[0].output.exists() && jobs[2].output.exists());
    assert!(!jobs[1].output.exists());
    let frame = Frame::open(sample()).unwrap();
    for job in [&jobs[0], &jobs[2]] {
        let image = burstpipe::Image::open(&job.output).unwrap();
        assert_eq!((image.width, image.height), (frame.width(), frame.height()));
    }
    // Nothing else in the folder: no temporary file left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}
