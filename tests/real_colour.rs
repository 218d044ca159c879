//! Colour on real camera files: the ColorChecker shots of `../shared/data/real/` (read its
//! README) developed by burstpipe, scored with the Rust port of `../shared/tools/colorchecker.py`
//! (mean CIEDE2000, grey-balanced), against LibRaw's render of the same file made in the same
//! test through rawpy (camera white balance, 8-bit sRGB: the README's "LibRaw default").
//! These tests need that folder, python3 with rawpy and opencv, and fail without them.

use std::path::{Path, PathBuf};
use std::process::Command;

use burstpipe::{Engine, Frame, Image, Options, Tone};
use burstpipe_tests::assets;
use burstpipe_tests::colorchecker::{score, srgb_encode, Chart, Pixels, Score};

/// The two chart shots and their patch maps.
const CHARTS: [(&str, &str); 2] = [
    (
        "canon_powershot_g2_colorchecker.CRW",
        "canon_powershot_g2_colorchecker.json",
    ),
    ("canon_550d_colorchart.dng", "canon_550d_colorchart.json"),
];

/// A file of the shared real-camera data; missing data fails the test.
fn real(path: &str) -> PathBuf {
    burstpipe_tests::shared_real(path)
}

fn develop(engine: &Engine, raw: &Path, tone: Tone) -> Image {
    let frame = Frame::open(raw).unwrap_or_else(|e| panic!("{}: {e}", raw.display()));
    let options = Options {
        tone,
        ..Options::default()
    };
    engine
        .develop(&frame, &options)
        .unwrap_or_else(|e| panic!("{}: {e}", raw.display()))
}

/// LibRaw's render (rawpy `postprocess(use_camera_wb=True)`, 8-bit sRGB) written to `png`.
fn libraw_render(raw: &Path, png: &Path) {
    let script = "import sys, rawpy, cv2\n\
                  rgb = rawpy.imread(sys.argv[1]).postprocess(use_camera_wb=True)\n\
                  assert cv2.imwrite(sys.argv[2], rgb[:, :, ::-1])\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(raw)
        .arg(png)
        .output()
        .expect("python3 is needed to render with LibRaw (rawpy)");
    assert!(
        out.status.success(),
        "LibRaw render of {} failed (python3 with rawpy and opencv-python needed): {}",
        raw.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Python tool's mean and max ΔE00 (`--grey-wb`) for an image file.
fn python_score(png: &Path, chart: &Path) -> (f64, f64) {
    let out = Command::new("python3")
        .arg(assets().join("../../shared/tools/colorchecker.py"))
        .arg(png)
        .arg(chart)
        .arg("--grey-wb")
        .output()
        .expect("python3 runs the reference scorer");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "colorchecker.py failed: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "dE00 mean M max X chroma-only mean C (scale K)"
    let words: Vec<&str> = text.split_whitespace().collect();
    let at = |key: &str| -> f64 {
        let i = words
            .iter()
            .position(|w| *w == key)
            .expect("mean and max in the output");
        words[i + 1].parse().expect("a number")
    };
    (at("mean"), at("max"))
}

fn scored(img: &Pixels, chart: &Chart) -> Score {
    score(img, chart, false, true).unwrap()
}

/// The default look (auto HDR) renders both charts at least as accurately as LibRaw's default
/// render of the same files. Measured: G2 3.03 vs LibRaw 3.81; 550D 5.41 vs 5.69 (the 550D
/// chart is small in a backlit scene of 7.5 stops, so fusion lifts its shadows 2.5 stops).
#[test]
fn default_develop_is_as_colour_accurate_as_libraw_on_both_charts() {
    let engine = Engine::new(&Default::default()).expect("GPU tests need an adapter");
    let dir = tempfile::tempdir().unwrap();
    for (raw, chart) in CHARTS {
        let (raw, chart_path) = (
            real(&format!("raw/{raw}")),
            real(&format!("charts/{chart}")),
        );
        let chart = Chart::load(&chart_path).unwrap();
        let ours = scored(&Pixels::of(&develop(&engine, &raw, Tone::Fusion)), &chart);
        let png = dir.path().join("libraw.png");
        libraw_render(&raw, &png);
        let libraw = scored(&Pixels::open(&png).unwrap(), &chart);
        eprintln!(
            "{}: mean ΔE00 burstpipe default {:.2} (max {:.2}), LibRaw {:.2} (max {:.2})",
            raw.display(),
            ours.mean,
            ours.max,
            libraw.mean,
            libraw.max
        );
        assert!(
            ours.mean <= libraw.mean,
            "{}: default develop ΔE00 {:.2} > LibRaw's {:.2}",
            raw.display(),
            ours.mean,
            libraw.mean
        );
    }
}

/// `Tone::Linear` is scene-referred linear light at the raw exposure: encoded to sRGB for
/// scoring, the G2 chart is within ΔE00 4 (measured 3.39); it is 16-bit only.
#[test]
fn linear_output_is_accurate_scene_referred_light() {
    let engine = Engine::new(&Default::default()).expect("GPU tests need an adapter");
    let raw = real("raw/canon_powershot_g2_colorchecker.CRW");
    let chart = Chart::load(&real("charts/canon_powershot_g2_colorchecker.json")).unwrap();
    let img = develop(&engine, &raw, Tone::Linear);
    assert_eq!(img.bits, 16);
    let linear = Pixels::of(&img);
    let encoded = Pixels {
        data: linear.data.iter().map(|&v| srgb_encode(v)).collect(),
        ..linear
    };
    let s = scored(&encoded, &chart);
    eprintln!("G2 linear: mean ΔE00 {:.2} max {:.2}", s.mean, s.max);
    assert!(s.mean <= 4.0, "linear output ΔE00 {:.2}", s.mean);
    // The raw exposure, not brightened: the white patch (reflectance 0.9) sits well below 1
    // in a chart shot exposed for it, and far above 8-bit's first steps.
    let white = burstpipe_tests::colorchecker::patch_values(&Pixels::of(&img), &chart).unwrap()[18];
    assert!(
        white[1] > 0.2 && white[1] < 0.95,
        "white patch at {white:?} (linear)"
    );
    // 8-bit linear is refused with a message that says why.
    let frame = Frame::open(&raw).unwrap();
    let err = engine
        .develop(
            &frame,
            &Options {
                tone: Tone::Linear,
                bits: 8,
                ..Options::default()
            },
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("16 bits"), "{err}");
}

/// The Rust scorer gives the Python tool's numbers (to 0.01) on our render and LibRaw's.
#[test]
fn the_rust_scorer_agrees_with_the_python_tool() {
    let engine = Engine::new(&Default::default()).expect("GPU tests need an adapter");
    let dir = tempfile::tempdir().unwrap();
    let (raw, chart_path) = (
        real("raw/canon_550d_colorchart.dng"),
        real("charts/canon_550d_colorchart.json"),
    );
    let chart = Chart::load(&chart_path).unwrap();
    let ours = dir.path().join("ours.png");
    develop(&engine, &raw, Tone::Curve).save(&ours).unwrap();
    let libraw = dir.path().join("libraw.png");
    libraw_render(&raw, &libraw);
    for png in [ours, libraw] {
        let rust = scored(&Pixels::open(&png).unwrap(), &chart);
        let python = python_score(&png, &chart_path);
        eprintln!(
            "{}: Rust {:.3}/{:.3}, Python {python:?}",
            png.display(),
            rust.mean,
            rust.max
        );
        assert!(
            (rust.mean - python.0).abs() <= 0.01 && (rust.max - python.1).abs() <= 0.01,
            "{}: Rust scorer {:.3}/{:.3}, Python {python:?}",
            png.display(),
            rust.mean,
            rust.max
        );
    }
}
