//! The merged raw DNG (lossless-JPEG tiles by default) read back by LibRaw (through rawpy, as
//! darktable, RawTherapee and most raw developers read DNGs with LibRaw or its relatives): the
//! same mosaic, CFA, levels and white balance, and LibRaw develops it. And a real lossless-JPEG
//! DNG that rawloader cannot read decodes to exactly LibRaw's mosaic. Needs `python3 -m pip install rawpy numpy` (`.ci/run` does it).

use std::path::Path;
use std::process::Command;

use burstpipe::{Burst, Cfa, DngCompression, Engine, EngineOptions, Frame, MergeOptions, XTrans};
use burstpipe_tests::kodak;
use burstpipe_tests::synth::{random_motions, synth_burst, NOISE_MEDIUM};

/// Reads a DNG with rawpy: writes its raw_image (u16, little-endian) to argv[2] and prints what
/// LibRaw understood of it as JSON; then develops it to be sure LibRaw can.
const READ_WITH_LIBRAW: &str = r#"
import json, sys
import numpy as np
import rawpy
with rawpy.imread(sys.argv[1]) as r:
    raw = np.ascontiguousarray(r.raw_image, dtype="<u2")
    raw.tofile(sys.argv[2])
    desc = r.color_desc.decode()
    pattern = r.raw_pattern
    letters = ["".join(desc[c] for c in row) for row in pattern.tolist()] if pattern is not None else []
    rgb = r.postprocess(output_bps=16, no_auto_bright=True, gamma=(1, 1))
    print(json.dumps({
        "height": int(raw.shape[0]), "width": int(raw.shape[1]),
        "pattern": letters,
        "black": [int(b) for b in r.black_level_per_channel],
        "white": int(r.white_level),
        "wb": [float(v) for v in r.camera_whitebalance],
        "rgb_shape": list(rgb.shape),
        "rgb_finite_mean": float(rgb.astype(np.float64).mean()),
    }))
"#;

struct LibRaw {
    mosaic: Vec<u16>,
    info: serde_json::Value,
}

fn read_with_libraw(dng: &Path) -> LibRaw {
    let raw_out = dng.with_extension("u16");
    let out = Command::new("python3")
        .arg("-c")
        .arg(READ_WITH_LIBRAW)
        .arg(dng)
        .arg(&raw_out)
        .output()
        .unwrap_or_else(|e| panic!("python3 could not start ({e}): install Python 3 and `python3 -m pip install rawpy numpy`"));
    assert!(
        out.status.success(),
        "LibRaw (rawpy) failed on {}: {}\n(if rawpy is missing: python3 -m pip install rawpy numpy)",
        dng.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let info = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "rawpy printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let bytes = std::fs::read(&raw_out).unwrap();
    let mosaic = bytes
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    LibRaw { mosaic, info }
}

#[test]
fn merged_dng_reads_back_through_libraw_with_mosaic_cfa_levels_and_white_balance() {
    let engine = Engine::new(&EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let img = kodak("kodim23");
    let motions = random_motions(3, 4.0, 0.0, 7);
    let b = synth_burst(&img, &motions, NOISE_MEDIUM, None, 7);
    // A warm light's multipliers, not the synthetic frames' neutral 1, 1, 1: the DNG must carry
    // them (AsShotNeutral), not a default.
    let frames = b
        .frames
        .into_iter()
        .map(|f| f.with_white_balance([2.1, 1.0, 1.6]).unwrap());
    let burst = Burst::new(frames.collect()).unwrap();
    let merged = engine
        .merge_raw(&burst, &MergeOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("merged.dng");
    merged.save_dng(&path).unwrap();

    let lr = read_with_libraw(&path);
    let i = &lr.info;
    assert_eq!(
        (i["width"].as_u64(), i["height"].as_u64()),
        (Some(merged.width() as u64), Some(merged.height() as u64))
    );
    assert!(
        lr.mosaic == merged.mosaic(),
        "LibRaw's raw_image differs from the merged mosaic"
    );
    // The synthetic burst is RGGB; LibRaw names its two greens G (and sometimes G2 as G).
    let pattern: Vec<String> = serde_json::from_value(i["pattern"].clone()).unwrap();
    assert_eq!(pattern, ["RG", "GB"], "CFA as LibRaw reads it");
    let (black, white) = merged.levels();
    let lr_black: Vec<f32> = serde_json::from_value(i["black"].clone()).unwrap();
    assert_eq!(lr_black, black.to_vec(), "black levels");
    assert_eq!(i["white"].as_f64(), Some(white as f64), "white level");
    // White balance: LibRaw's multipliers, normalised to green, are the frame's.
    let wb: Vec<f64> = serde_json::from_value(i["wb"].clone()).unwrap();
    let ours = merged.white_balance();
    assert_eq!(
        ours,
        [2.1, 1.0, 1.6],
        "the merged frame keeps the burst's white balance"
    );
    for c in 0..3 {
        let (theirs, ours) = (wb[c] / wb[1], (ours[c] / ours[1]) as f64);
        assert!(
            (theirs - ours).abs() < 1e-3,
            "white balance {c}: LibRaw {theirs:.4}, ours {ours:.4}"
        );
    }
    // LibRaw develops it to a full-size RGB image with content.
    let shape: Vec<u64> = serde_json::from_value(i["rgb_shape"].clone()).unwrap();
    assert_eq!(shape[2], 3);
    assert!(i["rgb_finite_mean"].as_f64().unwrap() > 1000.0);
}

#[test]
fn every_bayer_phase_reads_back_through_libraw() {
    let img = kodak("kodim05");
    let dir = tempfile::tempdir().unwrap();
    for (cfa, rows) in [
        (Cfa::Rggb, ["RG", "GB"]),
        (Cfa::Bggr, ["BG", "GR"]),
        (Cfa::Grbg, ["GR", "BG"]),
        (Cfa::Gbrg, ["GB", "RG"]),
    ] {
        let mosaic = burstpipe_tests::mosaic(&img, cfa, 60000.0);
        let frame = Frame::from_mosaic(img.width, img.height, mosaic, cfa, 0.0, 65535.0).unwrap();
        let path = dir.path().join(format!("{cfa:?}.dng"));
        frame.save_dng(&path).unwrap();
        let lr = read_with_libraw(&path);
        assert!(lr.mosaic == frame.mosaic(), "{cfa:?}: raw_image differs");
        let pattern: Vec<String> = serde_json::from_value(lr.info["pattern"].clone()).unwrap();
        assert_eq!(pattern, rows, "{cfa:?} as LibRaw reads it");
    }
}

#[test]
fn x_trans_dng_reads_back_through_libraw() {
    let img = kodak("kodim05");
    let layout = XTrans::FUJIFILM;
    let mosaic: Vec<u16> = burstpipe_tests::mosaic(&img, layout, 60000.0)
        .iter()
        .map(|v| v + 1000)
        .collect();
    let frame = Frame::from_mosaic(
        img.width,
        img.height,
        mosaic,
        burstpipe::Cfa::Rggb,
        1000.0,
        65535.0,
    )
    .unwrap()
    .with_xtrans(layout);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("xtrans.dng");
    frame.save_dng(&path).unwrap();
    let lr = read_with_libraw(&path);
    assert!(
        lr.mosaic == frame.mosaic(),
        "LibRaw's raw_image differs from the X-Trans mosaic"
    );
    let pattern: Vec<String> = serde_json::from_value(lr.info["pattern"].clone()).unwrap();
    let ours: Vec<String> = (0..6)
        .map(|y| {
            (0..6)
                .map(|x| ['R', 'G', 'B'][layout.color_at(x, y)])
                .collect()
        })
        .collect();
    assert_eq!(pattern, ours, "X-Trans CFA as LibRaw reads it");
}

/// A file of the shared real-camera data; the test fails (not skips) without it.
fn real_raw(name: &str) -> std::path::PathBuf {
    let path = burstpipe_tests::assets()
        .join("../../shared/data/real/raw")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: this test needs the shared real-camera data (../shared/data/real/)",
        path.display()
    );
    path
}

#[test]
fn lossless_jpeg_dng_with_predictor_6_decodes_to_exactly_libraws_mosaic() {
    // One tile, one component, predictor 6: rawloader refuses it, LibRaw reads it.
    let source = real_raw("canon_powershot_g2_colorchecker_lj92.dng");
    let dir = tempfile::tempdir().unwrap();
    let dng = dir.path().join("g2.dng");
    std::fs::copy(&source, &dng).unwrap();
    let frame = Frame::open(&dng).unwrap_or_else(|e| panic!("{e}"));
    let lr = read_with_libraw(&dng);
    assert_eq!(
        (lr.info["width"].as_u64(), lr.info["height"].as_u64()),
        (Some(2312), Some(1720))
    );
    assert_eq!((frame.width(), frame.height()), (2312, 1720));
    let differing = lr
        .mosaic
        .iter()
        .zip(frame.mosaic())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(differing, 0, "values that differ from LibRaw's raw_image");
    assert_eq!(lr.mosaic.len(), frame.mosaic().len());
    // Same sensor data as the camera's own CRW, which rawloader decodes.
    let crw = Frame::open(real_raw("canon_powershot_g2_colorchecker.CRW"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((crw.width(), crw.height()), (frame.width(), frame.height()));
    assert!(
        crw.mosaic() == frame.mosaic(),
        "the DNG's mosaic differs from the CRW's"
    );
}

#[test]
fn lossless_jpeg_is_the_default_dng_and_uncompressed_stays_available() {
    // A 12-bit sensor (black 256, white 4095), as most cameras' raws are; 701×499 leaves the
    // right and bottom 256×256 tiles partly padding.
    let img = kodak("kodim05");
    let (w, h) = (701usize, 499usize);
    let full = burstpipe_tests::mosaic(&img, Cfa::Grbg, 3839.0);
    let mosaic: Vec<u16> = (0..w * h)
        .map(|i| full[i / w * img.width as usize + i % w] + 256)
        .collect();
    let frame = Frame::from_mosaic(w as u32, h as u32, mosaic, Cfa::Grbg, 256.0, 4095.0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ljpeg = dir.path().join("ljpeg.dng");
    let plain = dir.path().join("plain.dng");
    frame.save_dng(&ljpeg).unwrap();
    frame
        .save_dng_with(&plain, DngCompression::Uncompressed)
        .unwrap();
    let (ljpeg_len, plain_len) = (
        std::fs::metadata(&ljpeg).unwrap().len(),
        std::fs::metadata(&plain).unwrap().len(),
    );
    // 12-bit values in 16-bit samples: dropping the 4 unused bits alone gives 0.75, so below
    // that the prediction gains something (0.687 measured: a detailed photo, noise-free).
    let ratio = ljpeg_len as f64 / plain_len as f64;
    println!("lossless JPEG / uncompressed size: {ratio:.3}");
    assert!(
        ratio < 0.75,
        "lossless JPEG {ljpeg_len} bytes vs uncompressed {plain_len}: barely compressed"
    );
    for path in [&ljpeg, &plain] {
        let lr = read_with_libraw(path);
        assert!(
            lr.mosaic == frame.mosaic(),
            "{}: LibRaw's raw_image differs",
            path.display()
        );
        let back = Frame::open(path).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            back.mosaic() == frame.mosaic(),
            "{}: ours differs",
            path.display()
        );
    }
}

#[test]
fn lossless_jpeg_dng_of_extreme_16_bit_values_reads_back_through_libraw() {
    // 0, 32768 and 65535 next to each other: differences of ±32768, the 16-bit category that
    // has no extra bits (T.81 H.1.2.2), also as the first sample of tiles (predicted 32768).
    let (w, h) = (300u32, 270u32);
    let mosaic: Vec<u16> = (0..w * h)
        .map(|i| match (i % w / 2 + i / w) % 5 {
            0 => 0,
            1 => 32768,
            2 => 65535,
            3 => 1,
            _ => (i * 7919 % 65536) as u16,
        })
        .collect();
    let frame = Frame::from_mosaic(w, h, mosaic, Cfa::Rggb, 0.0, 65535.0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("extreme.dng");
    frame.save_dng(&path).unwrap();
    let lr = read_with_libraw(&path);
    assert!(lr.mosaic == frame.mosaic(), "LibRaw's raw_image differs");
    let back = Frame::open(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(back.mosaic() == frame.mosaic(), "ours differs");
}
