//! `burstpipe fuse` as a process: brackets from files and folders, and bad brackets.
//! The brackets in assets/fusion/ are made from Kodak photos (see benches/fusion/make_references.py).

use std::path::Path;

use assert_cmd::Command;
use burstpipe_tests::fusion::stored_bracket;
use burstpipe_tests::kodak;

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
    fails_cleanly(&[&files[0], &raw], &out, &["frame.dng", "raw brackets"]);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    fails_cleanly(&[&empty], &out, &["empty", "no files"]);
}
