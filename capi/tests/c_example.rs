//! examples/c/develop.c compiled with the system's `cc` against the built library and run: the
//! C route develops the bundled sample to the CLI's pixels, and a missing file is NULL plus a
//! `bp_last_error()` naming it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// target/debug (or release): the test executable lies in its deps/ folder.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shared library of the C API, current with the sources. `cargo test` builds the library
/// only as an rlib for this test, so build it here: with the same packages and targets as `cargo
/// test --workspace` (the README's test command), which resolves dependency features the same way
/// and so reuses everything it compiled (one link step); a narrower selection would rebuild wgpu.
fn build_library(lib_dir: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--workspace", "--lib", "--tests"])
        .current_dir(workspace());
    if lib_dir.ends_with("release") {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "cargo build of the C API failed");
}

/// examples/c/develop.c built against libburstpipe_capi in the target folder.
fn build_example(out: &Path) -> PathBuf {
    let lib_dir = target_dir();
    build_library(&lib_dir);
    assert!(
        lib_dir.join("libburstpipe_capi.so").exists()
            || lib_dir.join("libburstpipe_capi.dylib").exists(),
        "no libburstpipe_capi shared library in {}",
        lib_dir.display()
    );
    let exe = out.join("develop");
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .arg("-Wall")
        .arg("-Werror")
        .arg("-std=c99")
        .arg(workspace().join("examples/c/develop.c"))
        .arg("-I")
        .arg(workspace().join("include"))
        .arg("-L")
        .arg(&lib_dir)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-lburstpipe_capi")
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("run cc (a C compiler is needed for this test)");
    assert!(status.success(), "cc failed on examples/c/develop.c");
    exe
}

/// The CLI's 16-bit PNG of `input`: the `burstpipe` binary of this target folder (built by the
/// workspace's tests; built here if missing).
fn cli_png(input: &Path, out: &Path) -> image::ImageBuffer<image::Rgb<u16>, Vec<u16>> {
    let bin = target_dir().join("burstpipe");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "burstpipe-cli"])
            .current_dir(workspace())
            .status()
            .expect("cargo build");
        assert!(status.success(), "cargo build -p burstpipe-cli failed");
    }
    let png = out.join("cli.png");
    let status = Command::new(&bin)
        .arg("develop")
        .arg(input)
        .arg("-o")
        .arg(&png)
        .arg("--bits")
        .arg("16")
        .status()
        .expect("run burstpipe");
    assert!(status.success(), "burstpipe develop failed");
    image::open(&png).expect("the CLI's PNG").to_rgb16()
}

#[test]
fn c_example_develops_the_sample_like_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_example(dir.path());
    let sample = workspace().join("assets/sample.dng");
    let (png, raw) = (dir.path().join("c.png"), dir.path().join("c.rgb16"));
    let run = Command::new(&exe)
        .arg(&sample)
        .arg(&png)
        .arg(&raw)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "develop.c failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    let dims: Vec<u32> = stdout
        .split_whitespace()
        .take(3)
        .map(|v| v.parse().unwrap())
        .collect();
    let cli = cli_png(&sample, dir.path());
    assert_eq!(dims, [cli.width(), cli.height(), 16], "C reports {stdout}");
    // The pixels in memory (bp_image_data) and the PNG bp_image_save wrote, against the CLI's.
    let bytes = std::fs::read(&raw).unwrap();
    let data: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|b| u16::from_ne_bytes([b[0], b[1]]))
        .collect();
    let saved = image::open(&png).unwrap().to_rgb16().into_raw();
    for (what, values) in [("bp_image_data", &data), ("bp_image_save", &saved)] {
        assert_eq!(values.len(), cli.as_raw().len(), "{what}: size");
        let worst = values
            .iter()
            .zip(cli.as_raw())
            .map(|(&a, &b)| a.abs_diff(b))
            .max()
            .unwrap();
        eprintln!("{what}: at most {worst} of 65535 from the CLI's PNG");
        assert!(
            worst <= 64,
            "{what}: differs from the CLI by {worst} of 65535"
        );
    }
}

#[test]
fn c_example_reports_a_missing_file_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_example(dir.path());
    let missing = dir.path().join("no-such-photo.dng");
    let run = Command::new(&exe)
        .arg(&missing)
        .arg(dir.path().join("out.png"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "a missing file must fail");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("no-such-photo.dng"),
        "bp_last_error does not name the file: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!dir.path().join("out.png").exists());
}
