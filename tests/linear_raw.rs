//! A LinearRaw DNG (already demosaiced RGB: the shared LG G4 file) through the public API: it
//! develops, and every path that needs a sensor mosaic refuses it with `Error::Unsupported`
//! naming the file. The pixel-level checks (against LibRaw, colours of written DNGs) are in
//! the engine's `raw::dng::linear_raw` tests.

use std::path::{Path, PathBuf};

use burstpipe::{
    Binning, Burst, Demosaic, Engine, EngineOptions, Error, Frame, MergeOptions, Options,
};

fn lg_g4() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/real/raw/lg_g4_linear_raw_lossy_jpeg.dng")
}

fn open() -> Frame {
    Frame::open(lg_g4())
        .unwrap_or_else(|e| panic!("{e} (the shared data folder ../shared/data/real is needed)"))
}

/// `result` is `Error::Unsupported` naming the LG file and saying why.
fn assert_refused<T>(result: Result<T, Error>, what: &str) {
    match result {
        Err(Error::Unsupported { path, what: why }) => {
            assert_eq!(path, lg_g4(), "{what}: the error names another file");
            assert!(why.contains("LinearRaw"), "{what}: {why}");
        }
        Err(e) => panic!("{what}: wrong error {e:?}"),
        Ok(_) => panic!("{what}: a LinearRaw frame was accepted"),
    }
}

#[test]
fn the_lg_g4_linear_raw_dng_develops_as_rgb_at_its_full_size() {
    let frame = open();
    assert_eq!(
        (frame.width(), frame.height(), frame.samples()),
        (600, 338, 3)
    );
    assert_eq!(frame.mosaic().len(), 600 * 338 * 3);
    let engine = Engine::new(&EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    for options in [
        Options::default(),
        Options {
            tone: burstpipe::Tone::Curve,
            exposure_ev: Some(0.0),
            ..Options::default()
        },
    ] {
        let image = engine
            .develop(&frame, &options)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((image.width, image.height), (600, 338));
        assert_eq!(image.data.len(), 600 * 338 * 3);
    }
}

#[test]
fn merge_binning_demosaic_and_raw_dng_output_refuse_a_linear_raw_frame() {
    let frame = open();
    let engine = Engine::new(&EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    assert_refused(Burst::new(vec![frame.clone(), frame.clone()]), "merge");
    // One frame "merges" by developing as it is (batch jobs of one file), binned or not refused.
    let single = Burst::new(vec![frame.clone()]).unwrap_or_else(|e| panic!("{e}"));
    let merged = engine
        .merge(&single, &MergeOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let developed = engine.develop(&frame, &Options::default()).unwrap();
    assert_eq!(merged.data, developed.data);
    let mut binned_merge = MergeOptions::default();
    binned_merge.develop.binning = Binning::Bayer2;
    assert_refused(engine.merge(&single, &binned_merge), "merge with binning");
    let raw = engine.merge_raw(&single, &MergeOptions::default()).unwrap();
    assert_refused(
        raw.save_dng(dir.path().join("single.dng")),
        "--dng of a single frame",
    );
    let binned = Options {
        binning: Binning::Bayer2,
        ..Options::default()
    };
    assert_refused(engine.develop(&frame, &binned), "binning");
    assert_refused(engine.demosaic(&frame, Demosaic::Rcd, 16), "demosaic");
    let out = dir.path().join("out.dng");
    assert_refused(frame.save_dng(&out), "--dng");
    assert!(!out.exists(), "a refused DNG left a file behind");
}
