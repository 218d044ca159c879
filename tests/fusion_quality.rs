//! Exposure fusion on real photos through the public API: fidelity to OpenCV's MergeMertens, the
//! MEF-SSIM quality index, and bad brackets.
//!
//! There are no real bracketed photos in the assets: the brackets in assets/fusion/ are made from
//! real Kodak photos (linear light × 2^EV for -2, 0, +2 EV, clipped, sRGB-encoded, 8-bit) by
//! benches/fusion/make_references.py, which also stores OpenCV's MergeMertens result on each.

use burstpipe::{Engine, Error, FuseOptions, Image};
use burstpipe_tests::fusion::{load, mef_ssim, psnr_unit, stored_bracket, unit};
use burstpipe_tests::{assets, kodak};

const BRACKETS: [&str; 2] = ["kodim21", "kodim08"];

fn engine() -> Engine {
    Engine::new(&Default::default())
        .expect("GPU tests need an adapter (apt-get install mesa-vulkan-drivers)")
}

/// OpenCV's settings: the paper's exponents (1, 1, 1), as the reference script passes them, no
/// alignment (MergeMertens does not align; the stored brackets are aligned), and equal weights
/// where every exposure is flat or neutral (what MergeMertens does there, but for rounding).
fn opencv_settings() -> FuseOptions {
    FuseOptions {
        bits: Some(8),
        align: false,
        opencv_neutral: true,
        ..FuseOptions::default()
    }
}

/// Our defaults, less alignment (the stored brackets are aligned).
fn our_settings() -> FuseOptions {
    FuseOptions {
        bits: Some(8),
        align: false,
        ..FuseOptions::default()
    }
}

fn fuse_stored(engine: &Engine, name: &str, options: &FuseOptions) -> (Vec<Image>, Image) {
    let bracket: Vec<Image> = stored_bracket(name)
        .iter()
        .map(|p| Image::open(p).unwrap())
        .collect();
    let fused = engine.fuse(&bracket, options).unwrap();
    (bracket, fused)
}

fn opencv_result(name: &str) -> Vec<f32> {
    load(
        &assets()
            .join("fusion")
            .join(format!("{name}-opencv-mertens.png")),
    )
    .data
}

#[test]
fn fusion_agrees_with_opencv_merge_mertens_on_real_brackets() {
    let engine = engine();
    for name in BRACKETS {
        let (_, fused) = fuse_stored(&engine, name, &opencv_settings());
        let db = psnr_unit(&unit(&fused.data, fused.bits), &opencv_result(name));
        eprintln!("{name}: {db:.2} dB against OpenCV MergeMertens");
        // Measured 59.9 dB (kodim21) and 49.1 dB (kodim08): the same method, differing in the
        // rounding of grey pixels' weights (see below), storage precision and 8-bit rounding of both. A different
        // weight definition or pyramid depth costs far more (below 35 dB).
        assert!(
            db >= 45.0,
            "{name}: only {db:.2} dB against OpenCV MergeMertens"
        );
    }
}

#[test]
fn fusion_scores_at_least_opencv_on_mef_ssim() {
    let engine = engine();
    for name in BRACKETS {
        let (bracket, fused) = fuse_stored(&engine, name, &our_settings());
        let seq: Vec<Vec<f32>> = bracket.iter().map(|i| unit(&i.data, i.bits)).collect();
        let seq_refs: Vec<&[f32]> = seq.iter().map(|s| s.as_slice()).collect();
        let (w, h) = (fused.width, fused.height);
        let ours = mef_ssim(w, h, &seq_refs, &unit(&fused.data, fused.bits));
        let opencv = mef_ssim(w, h, &seq_refs, &opencv_result(name));
        let middle = mef_ssim(w, h, &seq_refs, &seq[1]);
        eprintln!(
            "{name}: MEF-SSIM ours {ours:.5}, OpenCV {opencv:.5}, 0 EV exposure alone {middle:.5}"
        );
        // The index must tell a fusion from one of its exposures, or it measures nothing.
        assert!(
            opencv > middle + 0.01,
            "{name}: MEF-SSIM does not rank fusion above one exposure"
        );
        // Measured: kodim21 ours 0.98307 vs OpenCV 0.98306; kodim08 ours 0.97675 vs OpenCV
        // 0.97623. With OpenCV's equal weights on pixels neutral in every exposure (4.5 % of
        // kodim08) ours scored 0.97605 there: OpenCV's float rounding gives those pixels tiny
        // arbitrary weights, ours equal ones; weights taken from the pixels around do better.
        assert!(
            ours >= opencv,
            "{name}: MEF-SSIM {ours:.5} below OpenCV's {opencv:.5}"
        );
    }
}

#[test]
fn brackets_of_mixed_bit_depths_fuse_like_one_depth() {
    let engine = engine();
    let paths = stored_bracket("kodim21");
    let eight: Vec<Image> = paths.iter().map(|p| Image::open(p).unwrap()).collect();
    let mut mixed = eight.clone();
    mixed[1].bits = 16;
    mixed[1].data = mixed[1].data.iter().map(|&v| v * 257).collect();
    let a = engine.fuse(&eight, &FuseOptions::default()).unwrap();
    let b = engine.fuse(&mixed, &FuseOptions::default()).unwrap();
    assert_eq!(
        (a.bits, b.bits),
        (8, 16),
        "output takes the deepest input's depth"
    );
    let worst = unit(&a.data, 8)
        .iter()
        .zip(unit(&b.data, 16))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    // The same values on either scale: only the final rounding to 8 bits differs.
    assert!(
        worst <= 0.5 / 255.0 + 1e-4,
        "mixed depths changed the result by {worst}"
    );
}

#[test]
fn bad_brackets_give_clear_errors() {
    let engine = engine();
    let k = kodak("kodim05");
    let img = |w: u32, h: u32| Image {
        width: w,
        height: h,
        bits: 8,
        data: (0..w * h * 3)
            .map(|i| (k.data[i as usize] * 255.0) as u16)
            .collect(),
        exif: Default::default(),
    };
    let opts = FuseOptions::default();
    let msg = |r: burstpipe::Result<Image>| match r {
        Err(Error::InvalidInput(m)) => m,
        other => panic!("expected InvalidInput, got {other:?}"),
    };
    assert!(msg(engine.fuse(&[], &opts)).contains("got none"));
    assert!(msg(engine.fuse(&[img(64, 48)], &opts)).contains("at least two exposures, got one"));
    let m = msg(engine.fuse(&[img(64, 48), img(64, 48), img(48, 64)], &opts));
    assert!(
        m.contains("exposure 3 is 48×64 but exposure 1 is 64×48"),
        "{m}"
    );
    let mut twelve = img(64, 48);
    twelve.bits = 12;
    assert!(msg(engine.fuse(&[img(64, 48), twelve], &opts)).contains("12 bits"));
    let mut short = img(64, 48);
    short.data.truncate(100);
    assert!(msg(engine.fuse(&[img(64, 48), short], &opts)).contains("exposure 2: 100 values"));
    let negative = FuseOptions {
        saturation: -1.0,
        ..FuseOptions::default()
    };
    assert!(msg(engine.fuse(&[img(64, 48), img(64, 48)], &negative)).contains("saturation"));
    assert!(matches!(
        Image::open(assets().join("fusion").join("missing.png")),
        Err(Error::Io { .. })
    ));
    assert!(matches!(
        Image::open(assets().join("bad").join("issue_841_poc.crw")),
        Err(Error::Decode { .. })
    ));
}
