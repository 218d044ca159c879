//! `burstpipe fuse` as a process: brackets from files and folders, and bad brackets.
//! The brackets in assets/fusion/ are made from Kodak photos (see benches/fusion/make_references.py).

use std::path::Path;

use assert_cmd::Command;
use burstpipe::{Cfa, Engine, Frame, Image, Options, Tone};
use burstpipe_tests::fusion::stored_bracket;
use burstpipe_tests::{kodak, srgb_to_linear, Rgb};

fn burstpipe() -> Command {
    Command::cargo_bin("burstpipe").expect("binary built")
}

fn fails_cleanly(args: &[&Path], out: &Path, expect: &[&str]) {
    let mut cmd = burstpipe();
    cmd.arg("fuse").arg("-o").arg(out).args(args);
    let assert = cmd.assert().failure();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    for e in expect {
        assert!(stderr.contains(e), "expected '{e}' in: {stderr}");
    }
    assert!(!out.exists(), "output written despite the error");
}

#[test]
fn fuse_files_and_folder_give_the_library_result() {
    let dir = tempfile::tempdir().unwrap();
    let files = stored_bracket("kodim21");
    let out_files = dir.path().join("files.png");
    burstpipe()
        .arg("fuse")
        .args(&files)
        .arg("-o")
        .arg(&out_files)
        .assert()
        .success();
    let bracket = dir.path().join("bracket");
    std::fs::create_dir(&bracket).unwrap();
    for (i, f) in files.iter().enumerate() {
        std::fs::copy(f, bracket.join(format!("{i}.png"))).unwrap();
    }
    let out_dir = dir.path().join("folder.png");
    burstpipe()
        .arg("fuse")
        .arg(&bracket)
        .arg("-o")
        .arg(&out_dir)
        .assert()
        .success();
    let a = image::open(&out_files).unwrap().to_rgb8();
    let b = image::open(&out_dir).unwrap().to_rgb8();
    assert_eq!(a, b, "a folder fuses like its files");
    let engine = burstpipe::Engine::new(&Default::default()).unwrap();
    let images: Vec<_> = files
        .iter()
        .map(|f| burstpipe::Image::open(f).unwrap())
        .collect();
    let lib = engine.fuse(&images, &Default::default()).unwrap();
    let lib8: Vec<u8> = lib.data.iter().map(|&v| v as u8).collect();
    assert_eq!(
        a.into_raw(),
        lib8,
        "the file holds what the library computes"
    );
}

#[test]
fn fuse_bad_brackets_fail_cleanly_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jpg");
    let files = stored_bracket("kodim21");
    fails_cleanly(
        &[&files[0]],
        &out,
        &["kodim21-ev-2.png", "at least two exposures"],
    );
    // A different size: another crop of a real photo.
    let k = kodak("kodim05");
    let small = dir.path().join("small.png");
    let px: Vec<u8> = k.data.iter().map(|&v| (v * 255.0) as u8).collect();
    image::RgbImage::from_raw(k.width, k.height, px)
        .unwrap()
        .save(&small)
        .unwrap();
    fails_cleanly(
        &[&files[0], &small],
        &out,
        &["small.png", "768×512", "same size"],
    );
    let text = dir.path().join("notes.png");
    std::fs::write(&text, "not an image").unwrap();
    fails_cleanly(&[&files[0], &text], &out, &["notes.png", "cannot decode"]);
    fails_cleanly(
        &[&files[0], &dir.path().join("missing.png")],
        &out,
        &["missing.png"],
    );
    let raw = dir.path().join("frame.dng");
    std::fs::write(&raw, "raw").unwrap();
    fails_cleanly(&[&files[0], &raw], &out, &["frame.dng", "cannot decode"]);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    fails_cleanly(&[&empty], &out, &["empty", "no files"]);
}

/// A raw bracket (-2, 0, +2 EV) of a high-contrast scene — a real photo with its left half in
/// shadow, 4 stops down — as a 12-bit RGGB sensor records it (black 256, white 4095, clipping at
/// white): DNG files in `dir`, darkest first. No single exposure holds the whole scene.
fn raw_bracket(img: &Rgb, dir: &Path) -> Vec<std::path::PathBuf> {
    let w = img.width as usize;
    [-2.0f32, 0.0, 2.0]
        .iter()
        .enumerate()
        .map(|(i, ev)| {
            let mosaic: Vec<u16> = (0..w * img.height as usize)
                .map(|p| {
                    let c = img.data[p * 3 + Cfa::Rggb.color_at(p % w, p / w)];
                    let light = if p % w < w / 2 { 1.0 / 16.0 } else { 1.0 };
                    let v = srgb_to_linear(c) * light * ev.exp2();
                    (256.0 + v.clamp(0.0, 1.0) * 3839.0).round() as u16
                })
                .collect();
            let frame = Frame::from_mosaic(img.width, img.height, mosaic, Cfa::Rggb, 256.0, 4095.0)
                .unwrap();
            let path = dir.join(format!("{i}.dng"));
            frame.save_dng(&path).unwrap();
            path
        })
        .collect()
}

#[test]
fn fuse_raw_bracket_folder_develops_each_exposure_then_fuses() {
    let dir = tempfile::tempdir().unwrap();
    let bracket = dir.path().join("raw");
    std::fs::create_dir(&bracket).unwrap();
    let k = kodak("kodim21");
    // A 256×192 crop keeps the test fast.
    let (cw, ch) = (256u32, 192u32);
    let crop = Rgb {
        width: cw,
        height: ch,
        data: (0..ch)
            .flat_map(|y| {
                let row = (y * k.width * 3) as usize;
                k.data[row..row + (cw * 3) as usize].to_vec()
            })
            .collect(),
    };
    let files = raw_bracket(&crop, &bracket);
    let out = dir.path().join("fused.png");
    burstpipe()
        .arg("fuse")
        .arg(&bracket)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let fused = Image::open(&out).unwrap();
    assert_eq!((fused.width, fused.height, fused.bits), (cw, ch, 16));
    // The exposures as fuse develops them: 0 EV, plain curve.
    let engine = Engine::new(&Default::default()).unwrap();
    let options = Options {
        exposure_ev: Some(0.0),
        tone: Tone::Curve,
        ..Options::default()
    };
    let exposures: Vec<Image> = files
        .iter()
        .map(|f| engine.develop(&Frame::open(f).unwrap(), &options).unwrap())
        .collect();
    let lib = engine.fuse(&exposures, &Default::default()).unwrap();
    assert_eq!(
        fused.data, lib.data,
        "the file holds what the library computes"
    );
    // Fusion takes the shadows from the long exposure and the highlights from the short one:
    // nearer the long exposure on the shadow half, nearer the short one on the bright half.
    let half_mean = |img: &Image, left: bool| {
        let w = img.width as usize;
        let v: Vec<f64> = img
            .data
            .chunks(3)
            .enumerate()
            .filter(|(i, _)| (i % w < w / 2) == left)
            .map(|(_, c)| c.iter().map(|&x| x as f64).sum::<f64>() / 3.0 / 65535.0)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let (short, middle, long) = (&exposures[0], &exposures[1], &exposures[2]);
    eprintln!(
        "shadow half: fused {:.3}, exposures {:.3} {:.3} {:.3}; bright half: fused {:.3}, exposures {:.3} {:.3} {:.3}",
        half_mean(&fused, true),
        half_mean(short, true),
        half_mean(middle, true),
        half_mean(long, true),
        half_mean(&fused, false),
        half_mean(short, false),
        half_mean(middle, false),
        half_mean(long, false)
    );
    assert!(half_mean(&fused, true) > half_mean(middle, true));
    assert!(half_mean(&fused, false) < half_mean(long, false));
}

/// A handheld bracket as files: 8-bit PNGs of a real photo at -2, 0, +2 EV, each shaken by its own
/// sub-pixel shift, with EXIF exposure times (read back by `fuse`). Aligned (the default) the
/// result is near the fusion of the bracket without shake; `--no-align` fuses the ghosts.
#[test]
fn fuse_aligns_a_handheld_bracket_unless_told_not_to() {
    use burstpipe_tests::fusion::{psnr_unit, shaken_exposure, unit};
    let dir = tempfile::tempdir().unwrap();
    let photo = kodak("kodim21");
    let (origin, size) = ((240, 120), (192, 160));
    let shakes = [(-4.6, 2.3), (1.0, -2.0), (5.3, 3.7)];
    let evs = [-2.0f32, 0.0, 2.0];
    let files: Vec<_> = evs
        .iter()
        .zip(shakes)
        .enumerate()
        .map(|(i, (&ev, s))| {
            let path = dir.path().join(format!("{i}.png"));
            shaken_exposure(&photo, origin, size, s, ev, true)
                .save(&path)
                .unwrap();
            path
        })
        .collect();
    // The exposure times come back from the files' EXIF.
    let t = Image::open(&files[0]).unwrap().exif.exposure_time;
    assert_eq!(t, Some(0.25 / 100.0));
    let steady: Vec<Image> = evs
        .iter()
        .map(|&ev| shaken_exposure(&photo, origin, size, shakes[1], ev, true))
        .collect();
    let engine = Engine::new(&Default::default()).unwrap();
    let no_align = burstpipe::FuseOptions {
        align: false,
        ..Default::default()
    };
    let truth = engine.fuse(&steady, &no_align).unwrap();
    let run = |extra: &[&str], name: &str| {
        let out = dir.path().join(name);
        burstpipe()
            .arg("fuse")
            .args(&files)
            .args(extra)
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        let img = Image::open(&out).unwrap();
        assert_eq!((img.width, img.height), size);
        // Compared away from the borders, where shaken exposures have nothing to bring back.
        let crop = |u: Vec<f32>| -> Vec<f32> {
            (16..size.1 - 16)
                .flat_map(|y| {
                    let row = ((y * size.0 + 16) * 3) as usize;
                    u[row..row + ((size.0 - 32) * 3) as usize].to_vec()
                })
                .collect()
        };
        psnr_unit(
            &crop(unit(&img.data, img.bits)),
            &crop(unit(&truth.data, truth.bits)),
        )
    };
    let aligned = run(&[], "aligned.png");
    let ghosted = run(&["--no-align"], "ghosted.png");
    eprintln!("aligned {aligned:.2} dB, --no-align {ghosted:.2} dB against the steady bracket");
    assert!(aligned >= 30.0 && aligned >= ghosted + 10.0);
}
