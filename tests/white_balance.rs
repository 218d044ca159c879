//! White balance on real camera files (`../shared/data/real/`, see its README; the tests fail
//! when the files are missing): no cast when the file has no usable white balance (the Canon EOS
//! D30), grey patches of the two ColorChecker shots neutral with `auto`, `as-shot` taking the
//! file's own neutral. LibRaw's figures are measured in the same test through rawpy
//! (`python3 -m pip install rawpy numpy`).

use std::path::PathBuf;

use burstpipe::{Binning, Engine, EngineOptions, Frame, Image, Options, Tone, WhiteBalance};
use burstpipe_tests::srgb_to_linear;

fn real(name: &str) -> PathBuf {
    burstpipe_tests::shared_real(name)
}

fn open(name: &str) -> Frame {
    let path = real(name);
    assert!(
        path.exists(),
        "{} is missing: these tests need ../shared/data/real (see its README)",
        path.display()
    );
    Frame::open(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn engine() -> Engine {
    Engine::new(&EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Developed with the plain curve at a fixed exposure, so linear light can be read back.
fn develop(engine: &Engine, frame: &Frame, wb: WhiteBalance) -> Image {
    develop_binned(engine, frame, wb, Binning::Off)
}

fn develop_binned(engine: &Engine, frame: &Frame, wb: WhiteBalance, binning: Binning) -> Image {
    let options = Options {
        tone: Tone::Curve,
        exposure_ev: Some(0.0),
        white_balance: wb,
        binning,
        ..Options::default()
    };
    engine
        .develop(frame, &options)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn linear(img: &Image, x: u32, y: u32) -> [f64; 3] {
    let i = ((y * img.width + x) * 3) as usize;
    std::array::from_fn(|c| srgb_to_linear(img.data[i + c] as f32 / 65535.0) as f64)
}

/// Mean R/G and B/G of an image in linear light.
fn mean_ratios(img: &Image) -> [f64; 2] {
    let mut sum = [0.0f64; 3];
    for y in 0..img.height {
        for x in 0..img.width {
            let p = linear(img, x, y);
            (0..3).for_each(|c| sum[c] += p[c]);
        }
    }
    [sum[0] / sum[1], sum[2] / sum[1]]
}

/// LibRaw's render of `file` (camera WB, or auto WB), linear sRGB: mean R/G and B/G, and
/// whether its camera WB was usable.
fn libraw_ratios(file: &std::path::Path, auto: bool) -> [f64; 2] {
    let script = r#"
import sys, numpy as np, rawpy
with rawpy.imread(sys.argv[1]) as r:
    kw = dict(use_auto_wb=True) if sys.argv[2] == "auto" else dict(use_camera_wb=True)
    a = r.postprocess(gamma=(1, 1), no_auto_bright=True, output_bps=16, **kw).astype(np.float64)
    m = a.reshape(-1, 3).mean(0)
    print(m[0] / m[1], m[2] / m[1])
"#;
    let v = burstpipe_tests::python_numbers(
        script,
        &[
            file.as_os_str(),
            std::ffi::OsStr::new(if auto { "auto" } else { "camera" }),
        ],
    );
    [v[0], v[1]]
}

#[test]
fn eos_d30_without_usable_camera_white_balance_has_no_cast() {
    let file = "raw/canon_eos_d30_tree.crw";
    let frame = open(file);
    // Its camera multipliers start with -1: not a white balance.
    assert!(!frame.has_as_shot_white_balance());
    let engine = engine();
    let ours = mean_ratios(&develop(&engine, &frame, WhiteBalance::AsShot));
    // LibRaw finds the camera WB unusable too and falls back to its automatic WB (a grey world
    // over unclipped 8×8 blocks): its camera-WB render is its auto-WB render.
    let libraw = libraw_ratios(&real(file), false);
    let libraw_auto = libraw_ratios(&real(file), true);
    assert!(
        (libraw[0] - libraw_auto[0]).abs() < 1e-6 && (libraw[1] - libraw_auto[1]).abs() < 1e-6,
        "LibRaw's camera WB {libraw:?} is not its auto WB {libraw_auto:?} any more"
    );
    for (c, name) in [(0, "R/G"), (1, "B/G")] {
        let rel = ours[c] / libraw[c] - 1.0;
        println!(
            "D30 mean {name}: ours {:.3}, LibRaw {:.3} ({:+.1} %)",
            ours[c],
            libraw[c],
            rel * 100.0
        );
        assert!(
            rel.abs() < 0.12,
            "D30 mean {name}: ours {:.3}, LibRaw {:.3}",
            ours[c],
            libraw[c]
        );
    }
    // The default develop is that automatic estimate, and the frame's fallback multipliers
    // (daylight) would have left the tungsten scene orange.
    let auto = engine.white_balance(&frame, WhiteBalance::Auto).unwrap();
    assert_eq!(
        engine.white_balance(&frame, WhiteBalance::AsShot).unwrap(),
        auto
    );
    assert!(
        auto[2] > 1.5 * frame.white_balance()[2],
        "auto {auto:?} vs daylight {:?}",
        frame.white_balance()
    );
}

/// Patch centres of the 24-patch chart (the chart JSON's corners, bilinear between them).
fn patch_centres(chart: &serde_json::Value) -> Vec<(f64, f64)> {
    let c: Vec<(f64, f64)> = (0..4)
        .map(|i| {
            (
                chart["corners"][i][0].as_f64().unwrap(),
                chart["corners"][i][1].as_f64().unwrap(),
            )
        })
        .collect();
    let mut pts = Vec::new();
    for r in 0..4 {
        let v = r as f64 / 3.0;
        let l = (
            c[0].0 + (c[2].0 - c[0].0) * v,
            c[0].1 + (c[2].1 - c[0].1) * v,
        );
        let rt = (
            c[1].0 + (c[3].0 - c[1].0) * v,
            c[1].1 + (c[3].1 - c[1].1) * v,
        );
        for k in 0..6 {
            let u = k as f64 / 5.0;
            pts.push((l.0 + (rt.0 - l.0) * u, l.1 + (rt.1 - l.1) * u));
        }
    }
    pts
}

/// R/G and B/G of the grey patches 20–23 together (each patch's per-channel median), linear, in
/// a half-size (superpixel) develop.
fn grey_row_ratios(img: &Image, chart: &str) -> [f64; 2] {
    let path = real(&format!("charts/{chart}"));
    let chart: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap();
    let w = chart["window"].as_i64().unwrap() as i32 / 2;
    let mut sum = [0.0f64; 3];
    for &(cx, cy) in &patch_centres(&chart)[19..23] {
        let (cx, cy) = (cx / 2.0, cy / 2.0);
        for (c, sum) in sum.iter_mut().enumerate() {
            let mut v: Vec<f64> = Vec::new();
            for y in (cy.round() as i32 - w)..(cy.round() as i32 + w) {
                for x in (cx.round() as i32 - w)..(cx.round() as i32 + w) {
                    v.push(linear(img, x as u32, y as u32)[c]);
                }
            }
            v.sort_by(|a, b| a.total_cmp(b));
            *sum += v[v.len() / 2];
        }
    }
    [sum[0] / sum[1], sum[2] / sum[1]]
}

/// The largest deviation of R/G or B/G from 1.
fn cast(r: [f64; 2]) -> f64 {
    (r[0] - 1.0).abs().max((r[1] - 1.0).abs())
}

/// LibRaw's grey-row R/G and B/G (same patches, medians, linear sRGB, half size) with its auto
/// or camera white balance.
fn libraw_grey_row(file: &str, chart: &str, auto: bool) -> [f64; 2] {
    let script = r#"
import json, sys, numpy as np, rawpy
c = json.load(open(sys.argv[2]))
(x1, y1), (x6, y6), (x19, y19), (x24, y24) = c["corners"]
w = c["window"] // 2
kw = dict(use_auto_wb=True) if sys.argv[3] == "auto" else dict(use_camera_wb=True)
with rawpy.imread(sys.argv[1]) as r:
    a = r.postprocess(gamma=(1, 1), no_auto_bright=True, output_bps=16, half_size=True, **kw)
    a = a.astype(np.float64)
s = np.zeros(3)
for k in range(1, 5):  # patches 20..23: row 3, columns 1..4
    lx, ly, rx, ry = x19, y19, x24, y24
    u = k / 5
    x, y = int(round((lx + (rx - lx) * u) / 2)), int(round((ly + (ry - ly) * u) / 2))
    s += np.median(a[y - w:y + w, x - w:x + w].reshape(-1, 3), axis=0)
print(s[0] / s[1], s[2] / s[1])
"#;
    let v = burstpipe_tests::python_numbers(
        script,
        &[
            real(file).as_os_str(),
            real(&format!("charts/{chart}")).as_os_str(),
            std::ffi::OsStr::new(if auto { "auto" } else { "camera" }),
        ],
    );
    [v[0], v[1]]
}

#[test]
fn colorchecker_grey_patches_with_auto_and_as_shot() {
    let engine = engine();
    for (file, chart, as_shot) in [
        (
            "raw/canon_powershot_g2_colorchecker.CRW",
            "canon_powershot_g2_colorchecker.json",
            [1687.0 / 1036.0, 1.0, 1655.0 / 1036.0],
        ),
        (
            "raw/canon_550d_colorchart.dng",
            "canon_550d_colorchart.json",
            [2.477, 1.0, 2.477 / 1.462],
        ),
    ] {
        let frame = open(file);
        assert!(frame.has_as_shot_white_balance(), "{file}");
        // as-shot: the file's own neutral (camera multipliers / AsShotNeutral).
        let shot = engine.white_balance(&frame, WhiteBalance::AsShot).unwrap();
        for c in 0..3 {
            assert!(
                (shot[c] as f64 / as_shot[c] - 1.0).abs() < 2e-3,
                "{file}: as-shot multipliers {shot:?}, the file says {as_shot:?}"
            );
        }
        assert_eq!(frame.white_balance(), shot);
        // Half size (superpixels, LibRaw's half_size): the grey row does not need more.
        let half = |wb| develop_binned(&engine, &frame, wb, Binning::Superpixel);
        let auto = grey_row_ratios(&half(WhiteBalance::Auto), chart);
        let camera = grey_row_ratios(&half(WhiteBalance::AsShot), chart);
        let libraw_auto = libraw_grey_row(file, chart, true);
        let libraw_camera = libraw_grey_row(file, chart, false);
        println!(
            "{file}: grey row R/G, B/G: auto {auto:.3?} (LibRaw auto {libraw_auto:.3?}), as-shot {camera:.3?} (LibRaw camera WB {libraw_camera:.3?})"
        );
        // Auto: a scene-wide grey world cannot know which surfaces are grey; on the G2 chart
        // (one light) it is 2° off in camera space, which the G2's strong matrix doubles: the grey
        // row keeps a cast of 14 %, LibRaw's auto WB 12 %. On the 550D the chart is lit warmer
        // than the room: LibRaw's auto and ours both leave a 63 % cast. Bound: within 3 points
        // of LibRaw's auto WB, and under 15 % where one light fills the frame (the G2).
        assert!(
            cast(auto) <= cast(libraw_auto) + 0.03,
            "{file}: auto leaves the grey row at {auto:.3?}, LibRaw's auto at {libraw_auto:.3?}"
        );
        if file.contains("g2") {
            assert!(
                cast(auto) < 0.15,
                "{file}: auto leaves the grey row at {auto:.3?}"
            );
        }
        // As shot: the same neutral as LibRaw's camera WB, so the same grey row but for the
        // colour matrices (ours: the DNG model with Bradford adaptation; LibRaw: its own).
        for c in 0..2 {
            let rel = camera[c] / libraw_camera[c] - 1.0;
            assert!(
                rel.abs() < 0.06,
                "{file}: as-shot grey row {camera:.3?}, LibRaw's camera WB {libraw_camera:.3?}"
            );
        }
    }
}

/// `--wb` on the command line: a bad value is refused with a message saying what to give;
/// `auto` is what a file without as-shot white gets by default; `daylight` leaves the D30's
/// tungsten scene orange (its red above auto's).
#[test]
fn cli_wb_option() {
    let bin = || assert_cmd::Command::cargo_bin("burstpipe").expect("binary built");
    let dir = tempfile::tempdir().unwrap();
    let input = real("raw/canon_eos_d30_tree.crw");
    assert!(input.exists(), "{} is missing", input.display());
    let out = dir.path().join("bad.png");
    let bad = bin()
        .args(["develop", "--wb", "1,0,1", "-o"])
        .arg(&out)
        .arg(&input)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("as-shot, auto, daylight"), "{err}");
    let develop = |name: &str, wb: Option<&str>| -> Vec<[f64; 3]> {
        let out = dir.path().join(name);
        let mut cmd = bin();
        cmd.args([
            "develop",
            "--bin",
            "2",
            "--tone",
            "curve",
            "--exposure",
            "0",
            "-o",
        ])
        .arg(&out)
        .arg(&input);
        if let Some(wb) = wb {
            cmd.args(["--wb", wb]);
        }
        cmd.assert().success();
        let img = image::open(&out).unwrap().to_rgb16();
        img.pixels()
            .map(|p| std::array::from_fn(|c| p[c] as f64))
            .collect()
    };
    let default = develop("default.png", None);
    assert_eq!(default, develop("auto.png", Some("auto")));
    let mean = |px: &[[f64; 3]]| {
        let s = px
            .iter()
            .fold([0.0; 3], |a, p| [a[0] + p[0], a[1] + p[1], a[2] + p[2]]);
        s[0] / s[1]
    };
    let daylight = develop("daylight.png", Some("daylight"));
    assert!(
        mean(&daylight) > 1.2 * mean(&default),
        "daylight R/G {} vs auto {}",
        mean(&daylight),
        mean(&default)
    );
}
