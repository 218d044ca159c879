//! The `burstpipe` binary tested as a process: real files in, files and exit codes out.

use std::path::Path;

use assert_cmd::Command;
use burstpipe::Cfa;
use burstpipe_tests::{assets, cpsnr, kodak, mosaic, shared_real};
use predicates::prelude::*;

fn burstpipe() -> Command {
    Command::cargo_bin("burstpipe").expect("binary built")
}

/// No file besides `keep` in `dir`: failures leave no partial output behind.
fn only_files(dir: &Path, keep: &[&str]) {
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for n in &names {
        assert!(
            keep.contains(&n.as_str()),
            "unexpected file left behind: {n} (all: {names:?})"
        );
    }
}

#[test]
fn devices_lists_at_least_one_adapter() {
    burstpipe()
        .arg("devices")
        .assert()
        .success()
        .stdout(predicate::str::contains("[0]"));
}

#[test]
fn demosaic_command_keeps_bit_depth_and_matches_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let img = kodak("kodim19");
    let engine = burstpipe::Engine::new(&Default::default()).unwrap();
    for (bits, max) in [(8u8, 255.0f32), (16, 65535.0)] {
        let m = mosaic(&img, Cfa::Grbg, max);
        let input = dir.path().join(format!("mosaic{bits}.png"));
        if bits == 8 {
            let v: Vec<u8> = m.iter().map(|&v| v as u8).collect();
            image::GrayImage::from_raw(img.width, img.height, v)
                .unwrap()
                .save(&input)
                .unwrap();
        } else {
            image::ImageBuffer::<image::Luma<u16>, _>::from_raw(img.width, img.height, m.clone())
                .unwrap()
                .save(&input)
                .unwrap();
        }
        let mut db = Vec::new();
        for method in ["bilinear", "mhc", "rcd"] {
            let output = dir.path().join(format!("{method}{bits}.png"));
            burstpipe()
                .args(["demosaic", "--cfa", "grbg", "--method", method, "-o"])
                .arg(&output)
                .arg(&input)
                .assert()
                .success();
            let data: Vec<u16> = match (bits, image::open(&output).unwrap()) {
                (8, image::DynamicImage::ImageRgb8(o)) => {
                    o.into_raw().into_iter().map(u16::from).collect()
                }
                (16, image::DynamicImage::ImageRgb16(o)) => o.into_raw(),
                (b, o) => panic!("{b}-bit input gave {:?}", o.color()),
            };
            // The file holds exactly what the library computes.
            let frame = burstpipe::Frame::from_mosaic(
                img.width,
                img.height,
                m.clone(),
                Cfa::Grbg,
                0.0,
                max,
            )
            .unwrap();
            let lib = engine
                .demosaic(&frame, burstpipe::Demosaic::parse(method).unwrap(), bits)
                .unwrap();
            assert!(
                lib.data == data,
                "{method} {bits}-bit: CLI output differs from the library's"
            );
            db.push(cpsnr(&img, &data, max, 10));
        }
        // MHC's gradient correction is worth several dB over bilinear on this detailed photo.
        assert!(
            db[1] > db[0] + 4.0,
            "{bits}-bit: bilinear {:.2} dB, MHC {:.2} dB",
            db[0],
            db[1]
        );
        // The high-quality method is worth well over a dB more (about 4.5 on Kodak).
        assert!(
            db[2] > db[1] + 1.5,
            "{bits}-bit: MHC {:.2} dB, RCD {:.2} dB",
            db[1],
            db[2]
        );
    }
}

#[test]
fn demosaic_rejects_rgb_input_and_unknown_cfa() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.png");
    burstpipe()
        .args(["demosaic", "--cfa", "rggb", "-o"])
        .arg(&out)
        .arg(assets().join("kodak/kodim01.png"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("one 8- or 16-bit channel"));
    burstpipe()
        .args(["demosaic", "--cfa", "rgbe", "-o"])
        .arg(&out)
        .arg(assets().join("kodak/kodim01.png"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("unknown CFA"));
    only_files(dir.path(), &[]);
}

/// Run `develop` on `input` into a fresh folder: it must fail with a one-line error naming the
/// file, no panic text, and leave no file behind.
fn develop_fails_cleanly(input: &Path, expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jpg");
    let assert = burstpipe()
        .arg("develop")
        .arg(input)
        .arg("-o")
        .arg(&out)
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "panic text for {input:?}: {stderr}"
    );
    let name = input.file_name().unwrap().to_string_lossy();
    assert!(
        stderr.contains(name.as_ref()),
        "error does not name {name}: {stderr}"
    );
    assert!(
        stderr.contains(expect),
        "{name}: expected '{expect}' in: {stderr}"
    );
    only_files(dir.path(), &[]);
}

#[test]
fn develop_writes_jpeg_png_and_tiff_from_strip_and_tiled_dng() {
    let dir = tempfile::tempdir().unwrap();
    for (input, out, size) in [
        ("sample.dng", "a.jpg", (1734, 1156)), // the 550D's DefaultCrop, as LibRaw reports
        ("raw/synthetic-kodim23.dng", "b.png", (1488, 976)),
        ("raw/synthetic-kodim23-tiled.dng", "c.tif", (1488, 976)),
    ] {
        let path = dir.path().join(out);
        burstpipe()
            .arg("develop")
            .arg(assets().join(input))
            .arg("-o")
            .arg(&path)
            .assert()
            .success();
        let img = image::open(&path).unwrap_or_else(|e| panic!("{out}: {e}"));
        assert_eq!((img.width(), img.height()), size, "{out}");
    }
    only_files(dir.path(), &["a.jpg", "b.png", "c.tif"]);
}

#[test]
fn bad_inputs_fail_cleanly_with_their_own_errors() {
    let dir = tempfile::tempdir().unwrap();
    let sample = std::fs::read(assets().join("sample.dng")).unwrap();
    let truncated = dir.path().join("truncated.dng");
    std::fs::write(&truncated, &sample[..sample.len() / 3]).unwrap();
    develop_fails_cleanly(&truncated, "truncated");
    let text = dir.path().join("notes.dng");
    std::fs::write(&text, "this is not a raw file\n").unwrap();
    develop_fails_cleanly(&text, "text file");
    let empty = dir.path().join("empty.dng");
    std::fs::write(&empty, b"").unwrap();
    develop_fails_cleanly(&empty, "empty");
    develop_fails_cleanly(&dir.path().join("missing.dng"), "No such file");
}

/// Finished photos where a raw is needed get an error that says so and points at `fuse`, not the
/// "damaged file" advice; a GoPro GPR (VC-5, no decoder here) names the codec and a converter.
#[test]
fn finished_photos_and_gpr_raws_get_errors_that_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let photo = image::open(assets().join("kodak/kodim05.png")).unwrap();
    let jpeg = dir.path().join("photo.dng"); // a misleading extension: the bytes decide
    photo
        .write_to(
            &mut std::io::BufWriter::new(std::fs::File::create(&jpeg).unwrap()),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let tiff = dir.path().join("scan.tif");
    photo.save(&tiff).unwrap();
    for (input, format) in [
        (jpeg.clone(), "JPEG image"),
        (assets().join("kodak/kodim05.png"), "PNG image"),
        (tiff, "TIFF image"),
    ] {
        develop_fails_cleanly(&input, format);
        develop_fails_cleanly(&input, "burstpipe fuse");
        // A burst of finished photos is merged in their own encoding (issue 12), not refused.
        let out = dir.path().join("merged.png");
        burstpipe()
            .arg("merge")
            .arg(&input)
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        let merged = image::open(&out).unwrap();
        assert_eq!(
            (merged.width(), merged.height()),
            (photo.width(), photo.height())
        );
    }
    let err = burstpipe::Frame::open(&jpeg).unwrap_err();
    assert!(
        matches!(err, burstpipe::Error::NotRaw { format: "JPEG", .. }),
        "{err:?}"
    );
    let gpr = shared_real("raw/gopro_hero7.GPR");
    develop_fails_cleanly(&gpr, "VC-5");
    develop_fails_cleanly(&gpr, "gpr -i");
    let err = burstpipe::Frame::open(&gpr).unwrap_err();
    assert!(
        matches!(err, burstpipe::Error::Unsupported { .. }),
        "{err:?}"
    );
}

#[test]
fn every_malformed_real_world_raw_fails_cleanly() {
    let mut n = 0;
    for entry in std::fs::read_dir(assets().join("bad")).unwrap() {
        develop_fails_cleanly(&entry.unwrap().path(), "");
        n += 1;
    }
    assert_eq!(n, 10, "assets/bad/ should hold the 10 malformed files");
}

#[test]
fn output_in_a_missing_folder_or_over_the_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/folder/out.jpg");
    burstpipe()
        .arg("develop")
        .arg(assets().join("sample.dng"))
        .arg("-o")
        .arg(&missing)
        .assert()
        .failure()
        .stderr(predicate::str::contains("does not exist"));
    let copy = dir.path().join("in.png");
    std::fs::copy(assets().join("kodak/kodim01.png"), &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    burstpipe()
        .args(["demosaic", "--cfa", "rggb", "-o"])
        .arg(&copy)
        .arg(&copy)
        .assert()
        .failure()
        .stderr(predicate::str::contains("overwrite the input"));
    assert_eq!(std::fs::read(&copy).unwrap(), before, "input was modified");
    only_files(dir.path(), &["in.png"]);
}

#[test]
fn backend_and_adapter_choice() {
    // The same develop on Vulkan and on GL (both software on CI): the f32 kernels agree to well
    // under one 8-bit level (257 steps); they differ only in float rounding (pow, f16 packing).
    // With the tone curve: exposure fusion differs by up to 384 steps on a handful of pixels
    // (5 of 1.45 M on this file), where every exposure's Mertens weight is at its 1e-12 floor and
    // rounding decides which exposure wins (an open item of the fusion work).
    let dir = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for backend in ["vulkan", "gl"] {
        let out = dir.path().join(format!("{backend}.png"));
        burstpipe()
            .args(["--backend", backend, "develop", "--tone", "curve"])
            .arg(assets().join("sample.dng"))
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        outs.push(image::open(&out).unwrap().to_rgb16().into_raw());
    }
    let worst = burstpipe_tests::max_abs_diff(&outs[0], &outs[1]);
    assert!(worst <= 64, "Vulkan and GL differ by {worst}/65535");
    burstpipe()
        .args(["--adapter", "99", "develop"])
        .arg(assets().join("sample.dng"))
        .arg("-o")
        .arg(dir.path().join("x.png"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("there is no adapter 99"));
    burstpipe()
        .args(["--backend", "glide", "devices"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("unknown backend"));
}

#[test]
fn merge_command_merges_a_folder_and_names_a_corrupt_frame() {
    let dir = tempfile::tempdir().unwrap();
    let burst = dir.path().join("burst");
    std::fs::create_dir(&burst).unwrap();
    // Three frames of one camera (the same scene in strip and tile layouts).
    for (i, name) in [
        "synthetic-kodim23.dng",
        "synthetic-kodim23-tiled.dng",
        "synthetic-kodim23.dng",
    ]
    .iter()
    .enumerate()
    {
        std::fs::copy(
            assets().join("raw").join(name),
            burst.join(format!("frame{i}.dng")),
        )
        .unwrap();
    }
    let out = dir.path().join("merged.png");
    burstpipe()
        .args([
            "merge",
            burst.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .args([
            "--merge",
            "spatial",
            "--strength",
            "1.5",
            "--reference",
            "1",
        ])
        .assert()
        .success();
    let img = image::open(&out).unwrap();
    let frame = burstpipe::Frame::open(burst.join("frame0.dng")).unwrap();
    assert_eq!((img.width(), img.height()), (frame.width(), frame.height()));

    // Files listed, Wiener, first two frames only, JPEG, and the merged raw as DNG, which reads
    // back as a raw frame and develops to the same picture.
    let jpg = dir.path().join("merged.jpg");
    let dng = dir.path().join("merged.dng");
    let f = |i: usize| burst.join(format!("frame{i}.dng"));
    burstpipe()
        .arg("merge")
        .args([f(0), f(1), f(2)])
        .args(["-o", jpg.to_str().unwrap(), "--frames", "2", "--dng"])
        .arg(&dng)
        .assert()
        .success();
    assert!(jpg.exists());
    let again = dir.path().join("again.jpg");
    burstpipe()
        .args([
            "develop",
            dng.to_str().unwrap(),
            "-o",
            again.to_str().unwrap(),
        ])
        .assert()
        .success();
    let (a, b) = (
        image::open(&jpg).unwrap().to_rgb8(),
        image::open(&again).unwrap().to_rgb8(),
    );
    assert_eq!(a.as_raw(), b.as_raw(), "the DNG develops differently");

    // A corrupt frame in the middle: an error naming it, and no output. (Mismatched sizes, CFAs
    // and cameras are tested through the library in tests/burst.rs.)
    let odd = dir.path().join("broken-frame.dng");
    std::fs::write(&odd, b"II*\0\x08\0\0\0truncated").unwrap();
    let bad_out = dir.path().join("bad.jpg");
    burstpipe()
        .arg("merge")
        .args([f(0), odd.clone(), f(2)])
        .args(["-o", bad_out.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicate::str::contains("broken-frame.dng"))
        .stderr(predicate::str::contains("panicked").not());
    assert!(!bad_out.exists());
    burstpipe()
        .args([
            "merge",
            burst.to_str().unwrap(),
            "-o",
            bad_out.to_str().unwrap(),
        ])
        .args(["--merge", "median"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("wiener or spatial"));
    assert!(!bad_out.exists());
}

#[test]
fn merge_command_on_a_synthetic_dng_burst_matches_the_library() {
    use burstpipe::{Burst, Engine, EngineOptions, MergeOptions, Options};
    use burstpipe_tests::synth::{random_motions, synth_burst, NOISE_MEDIUM};
    let dir = tempfile::tempdir().unwrap();
    let b = synth_burst(
        &kodak("kodim23"),
        &random_motions(4, 6.0, 0.0, 4),
        NOISE_MEDIUM,
        None,
        4,
    );
    let files = b.write_dngs(dir.path());
    let out = dir.path().join("merged.png");
    let dng = dir.path().join("merged.dng");
    burstpipe()
        .arg("merge")
        .args(&files)
        .args([
            "-o",
            out.to_str().unwrap(),
            "--exposure",
            "0",
            "--reference",
            "0",
            // The curve: this compares CLI and library plumbing; exposure fusion amplifies the
            // DNG's six-decimal colour matrix to 26/65535 (its backend/rounding sensitivity at
            // degenerate-weight pixels is an open item of the fusion work).
            "--tone",
            "curve",
        ])
        .arg("--dng")
        .arg(&dng)
        .assert()
        .success();
    // The DNGs carry the frames' mosaics, levels and noise profiles exactly: the merged raw is
    // the one merging the frames in memory gives, bit for bit.
    let engine = Engine::new(&EngineOptions::default()).unwrap();
    let options = MergeOptions {
        reference: Some(0),
        develop: Options {
            exposure_ev: Some(0.0),
            tone: burstpipe::Tone::Curve,
            ..Options::default()
        },
        ..MergeOptions::default()
    };
    let lib_raw = engine
        .merge_raw(&Burst::new(b.frames.clone()).unwrap(), &options)
        .unwrap();
    let cli_raw = burstpipe::Frame::open(&dng).unwrap();
    assert_eq!(cli_raw.mosaic(), lib_raw.mosaic());
    // The developed photo too, up to the colour matrix's six decimals in the DNG files.
    let cli = image::open(&out).unwrap().to_rgb16().into_raw();
    let lib = engine.develop(&lib_raw, &options.develop).unwrap();
    let worst = cli
        .iter()
        .zip(&lib.data)
        .map(|(&a, &b)| (a as i32 - b as i32).abs())
        .max()
        .unwrap();
    assert!(worst <= 8, "CLI and library differ by {worst}/65535");

    // A frame of another size in the middle: an error naming it, no output.
    let small = burstpipe::Frame::from_mosaic(64, 64, vec![300; 64 * 64], Cfa::Rggb, 256.0, 4095.0)
        .unwrap();
    let odd = dir.path().join("small-frame.dng");
    small.save_dng(&odd).unwrap();
    let bad_out = dir.path().join("bad.png");
    burstpipe()
        .arg("merge")
        .args([&files[0], &odd, &files[1]])
        .args(["-o", bad_out.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicate::str::contains("small-frame.dng"))
        .stderr(predicate::str::contains("does not match the burst"));
    assert!(!bad_out.exists());
}

#[test]
fn develop_bins_2x2_3x3_and_superpixel_and_refuses_other_factors() {
    let dir = tempfile::tempdir().unwrap();
    let input = assets().join("raw/synthetic-kodim23.dng");
    let plain = dir.path().join("plain.png");
    burstpipe()
        .args(["develop", "-o"])
        .arg(&plain)
        .arg(&input)
        .assert()
        .success();
    let full = image::image_dimensions(&plain).unwrap();
    for (bin, size) in [
        ("2", (full.0 / 4 * 2, full.1 / 4 * 2)),
        ("3", (full.0 / 6 * 2, full.1 / 6 * 2)),
        ("superpixel", (full.0 / 2, full.1 / 2)),
    ] {
        let output = dir.path().join(format!("bin{bin}.png"));
        burstpipe()
            .args(["develop", "--bin", bin, "-o"])
            .arg(&output)
            .arg(&input)
            .assert()
            .success();
        assert_eq!(
            image::image_dimensions(&output).unwrap(),
            size,
            "--bin {bin}"
        );
    }
    let output = dir.path().join("bad.png");
    burstpipe()
        .args(["develop", "--bin", "5", "-o"])
        .arg(&output)
        .arg(&input)
        .assert()
        .failure()
        .stderr(predicates::str::contains("unknown binning '5'"));
    assert!(!output.exists());
}

/// A Kodak photo as a 12-bit X-Trans sensor records it (linear, black 256), in the phase `layout`.
fn xtrans_dng(
    path: &Path,
    name: &str,
    layout: burstpipe::XTrans,
) -> (burstpipe_tests::Rgb, burstpipe::Frame) {
    let img = kodak(name);
    let mosaic = burstpipe_tests::sensor_mosaic(&img, layout);
    let frame =
        burstpipe::Frame::from_mosaic(img.width, img.height, mosaic, Cfa::Rggb, 256.0, 4095.0)
            .unwrap()
            .with_xtrans(layout);
    frame.save_dng(path).unwrap();
    (img, frame)
}

#[test]
fn an_x_trans_dng_develops_through_the_cli_and_x_trans_misuse_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let dng = dir.path().join("xtrans.dng");
    let (img, frame) = xtrans_dng(&dng, "kodim19", burstpipe::XTrans::FUJIFILM.shifted(3, 1));
    let out = dir.path().join("out.png");
    burstpipe()
        .arg("develop")
        .arg(&dng)
        .args(["--tone", "curve", "--exposure", "0", "-o"])
        .arg(&out)
        .assert()
        .success();
    let data = image::open(&out).unwrap().to_rgb16().into_raw();
    // The DNG carried the layout, phase and levels, and the file is the library's develop of it.
    let back = burstpipe::Frame::open(&dng).unwrap();
    assert_eq!(back.xtrans(), frame.xtrans());
    assert_eq!(
        (back.mosaic(), back.levels()),
        (frame.mosaic(), frame.levels())
    );
    let engine = burstpipe::Engine::new(&Default::default()).unwrap();
    let options = burstpipe::Options {
        exposure_ev: Some(0.0),
        tone: burstpipe::Tone::Curve,
        ..Default::default()
    };
    assert!(engine.develop(&back, &options).unwrap().data == data);
    // Demosaicing linear light leaves 31.4 dB of the sRGB photo on kodim19 (its fence aliases).
    let db = cpsnr(&img, &data, 65535.0, 10);
    assert!(
        db > 30.0,
        "X-Trans DNG developed to {db:.2} dB of the photo"
    );
    // Binning X-Trans, and bursts mixing it with Bayer frames, are refused naming the file, and
    // leave no output (X-Trans bursts merge: tests/cli_sensor.rs).
    let refused = dir.path().join("refused.jpg");
    burstpipe()
        .arg("develop")
        .arg(&dng)
        .args(["--bin", "2", "-o"])
        .arg(&refused)
        .assert()
        .failure()
        .stderr(predicate::str::contains("xtrans.dng").and(predicate::str::contains("X-Trans")));
    burstpipe()
        .arg("merge")
        .arg(&dng)
        .arg(assets().join("sample.dng"))
        .arg("-o")
        .arg(&refused)
        .assert()
        .failure()
        .stderr(predicate::str::contains("sample.dng").and(predicate::str::contains("X-Trans")));
    assert!(!refused.exists());
    // An X-Trans method on a Bayer file.
    burstpipe()
        .arg("develop")
        .arg(assets().join("sample.dng"))
        .args(["--demosaic", "markesteijn", "-o"])
        .arg(&refused)
        .assert()
        .failure()
        .stderr(predicate::str::contains("sample.dng").and(predicate::str::contains("X-Trans")));
    only_files(dir.path(), &["xtrans.dng", "out.png"]);
}

#[test]
fn demosaic_command_reads_x_trans_mosaics() {
    let dir = tempfile::tempdir().unwrap();
    let img = kodak("kodim23");
    let layout = burstpipe::XTrans::FUJIFILM;
    let m = mosaic(&img, layout, 65535.0);
    let input = dir.path().join("mosaic.png");
    image::ImageBuffer::<image::Luma<u16>, _>::from_raw(img.width, img.height, m)
        .unwrap()
        .save(&input)
        .unwrap();
    let mut db = Vec::new();
    for method in ["xtrans-bilinear", "markesteijn"] {
        let out = dir.path().join(format!("{method}.png"));
        burstpipe()
            .args(["demosaic", "--cfa", "xtrans", "--method", method, "-o"])
            .arg(&out)
            .arg(&input)
            .assert()
            .success();
        let data = image::open(&out).unwrap().to_rgb16().into_raw();
        db.push(cpsnr(&img, &data, 65535.0, 10));
    }
    // kodim23: 33.8 dB and 42.2 dB measured.
    assert!(db[1] > db[0] + 6.0, "{db:?}");
}

/// Every file written gets the mode a plain `File::create` gives: 0666 less the umask (not the
/// private 0600 of the temporary file it was written through).
#[cfg(unix)]
#[test]
fn outputs_get_ordinary_permissions_under_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("burstpipe");
    let raw = assets().join("raw/synthetic-kodim23.dng");
    // Every writer under the usual umask; one under a strict umask, which must apply too.
    for (umask, want, names) in [
        (
            "022",
            0o644,
            &["a.jpg", "b.png", "c.tif", "m.jpg", "m.dng"][..],
        ),
        ("077", 0o600, &["a.jpg"][..]),
    ] {
        let run = |args: String| {
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("umask {umask} && exec \"$0\" {args}"))
                .arg(&bin)
                .status()
                .unwrap();
            assert!(status.success(), "{args}");
        };
        let out = |name: &str| dir.path().join(format!("{umask}-{name}"));
        for name in names.iter().filter(|n| !n.starts_with('m')) {
            run(format!(
                "develop --tone curve '{}' -o '{}'",
                raw.display(),
                out(name).display()
            ));
        }
        if names.contains(&"m.dng") {
            run(format!(
                "merge --frames 2 '{}' '{}' -o '{}' --dng '{}'",
                raw.display(),
                raw.display(),
                out("m.jpg").display(),
                out("m.dng").display()
            ));
        }
        for name in names {
            let mode = std::fs::metadata(out(name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, want, "{name} under umask {umask}: {mode:o}");
        }
    }
}

/// `--tone linear` writes 16-bit linear light: a .jpg output is refused before any work with a
/// message saying what to write instead; a .tif is written, 16-bit.
#[test]
fn tone_linear_refuses_jpeg_and_writes_16_bit_tiff() {
    let dir = tempfile::tempdir().unwrap();
    burstpipe()
        .args(["develop", "--tone", "linear", "-o"])
        .arg(dir.path().join("out.jpg"))
        .arg(assets().join("sample.dng"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("JPEG cannot hold"));
    only_files(dir.path(), &[]);
    let tif = dir.path().join("out.tif");
    burstpipe()
        .args(["develop", "--tone", "linear", "-o"])
        .arg(&tif)
        .arg(assets().join("sample.dng"))
        .assert()
        .success();
    let img = image::open(&tif).unwrap();
    assert!(
        matches!(img, image::DynamicImage::ImageRgb16(_)),
        "{:?}",
        img.color()
    );
}
