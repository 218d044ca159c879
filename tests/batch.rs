//! `burstpipe batch` as a process: bursts found in sub-folders and by capture time, resume (skip
//! existing outputs), overwrite, a bad burst in the middle, and shards that partition the work.

use std::path::Path;
use std::time::{Duration, SystemTime};

use assert_cmd::Command;
use burstpipe_tests::assets;

fn burstpipe() -> Command {
    Command::cargo_bin("burstpipe").expect("binary built")
}

fn copy(from: &str, to: &Path, mtime: SystemTime) {
    std::fs::copy(assets().join(from), to).unwrap();
    std::fs::File::options()
        .write(true)
        .open(to)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// in/a/ (one frame), in/b/ (two frames), in/bad/ (a corrupt frame), and loose files: x1 and x2
/// one second apart (one burst), y two minutes later (its own burst).
fn make_input(root: &Path) {
    let t0 = SystemTime::now() - Duration::from_secs(3600);
    for d in ["a", "b", "bad"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    copy("raw/synthetic-kodim23.dng", &root.join("a/1.dng"), t0);
    copy("raw/synthetic-kodim23.dng", &root.join("b/1.dng"), t0);
    copy("raw/synthetic-kodim23-tiled.dng", &root.join("b/2.dng"), t0);
    copy("bad/issue_841_poc.crw", &root.join("bad/1.crw"), t0);
    copy("raw/synthetic-kodim23.dng", &root.join("x1.dng"), t0);
    copy(
        "raw/synthetic-kodim23.dng",
        &root.join("x2.dng"),
        t0 + Duration::from_secs(1),
    );
    copy(
        "raw/synthetic-kodim23.dng",
        &root.join("y.dng"),
        t0 + Duration::from_secs(120),
    );
}

#[test]
fn batch_processes_every_burst_resumes_and_reports_the_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (dir.path().join("in"), dir.path().join("out"));
    make_input(&input);
    let run = |extra: &[&str]| {
        burstpipe()
            .args(["batch", "--merge", "spatial", "--format", "png"])
            .args(extra)
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .assert()
            .failure()
            .get_output()
            .stderr
            .clone()
    };
    let stderr = String::from_utf8(run(&[])).unwrap();
    assert!(stderr.contains("failed: bad"), "{stderr}");
    assert!(stderr.contains("4 done, 0 skipped"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(names(&out), ["a.png", "b.png", "x1.png", "y.png"]);
    let merged = image::open(out.join("x1.png")).unwrap();
    assert_eq!((merged.width(), merged.height()), (1488, 976));

    // Run again: everything already there is skipped and left untouched.
    let before = std::fs::metadata(out.join("a.png"))
        .unwrap()
        .modified()
        .unwrap();
    let stderr = String::from_utf8(run(&[])).unwrap();
    assert!(stderr.contains("0 done, 4 skipped"), "{stderr}");
    assert_eq!(
        std::fs::metadata(out.join("a.png"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );

    // --overwrite redoes them; still no partial file and the bad burst is still reported.
    let stderr = String::from_utf8(run(&["--overwrite"])).unwrap();
    assert!(stderr.contains("4 done, 0 skipped"), "{stderr}");
    assert_eq!(names(&out), ["a.png", "b.png", "x1.png", "y.png"]);
}

#[test]
fn shards_process_every_burst_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    make_input(&input);
    std::fs::remove_dir_all(input.join("bad")).unwrap();
    let mut all = Vec::new();
    for shard in ["0/2", "1/2"] {
        let out = dir.path().join(shard.replace('/', "of"));
        burstpipe()
            .args([
                "batch", "--merge", "spatial", "--format", "jpg", "--shard", shard,
            ])
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        all.extend(names(&out));
    }
    all.sort();
    assert_eq!(all, ["a.jpg", "b.jpg", "x1.jpg", "y.jpg"]);
    burstpipe()
        .args(["batch", "--shard", "2/2", "-o", "x"])
        .arg(&input)
        .assert()
        .failure();
}

#[test]
fn devices_all_writes_what_the_sequential_batch_writes() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let t0 = SystemTime::now() - Duration::from_secs(3600);
    for d in ["a", "b"] {
        std::fs::create_dir_all(input.join(d)).unwrap();
    }
    copy("raw/synthetic-kodim23.dng", &input.join("a/1.dng"), t0);
    copy("raw/synthetic-kodim23.dng", &input.join("b/1.dng"), t0);
    copy(
        "raw/synthetic-kodim23-tiled.dng",
        &input.join("b/2.dng"),
        t0,
    );
    let run = |extra: &[&str], out: &str| {
        let out = dir.path().join(out);
        let assert = burstpipe()
            .args(["batch", "--merge", "spatial", "--format", "png"])
            .args(extra)
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        assert!(stderr.contains("2 done, 0 skipped"), "{stderr}");
        out
    };
    let all = run(&["--devices", "all"], "all");
    let seq = run(&["--sequential"], "seq");
    assert_eq!(names(&all), ["a.png", "b.png"]);
    for name in names(&seq) {
        assert!(
            std::fs::read(all.join(&name)).unwrap() == std::fs::read(seq.join(&name)).unwrap(),
            "{name}: --devices all and --sequential differ"
        );
    }
    // Clear refusals: a device that does not exist, and two ways of choosing at once.
    for bad in [
        &["--devices", "7"][..],
        &["--devices", "0", "--adapter", "0"],
    ] {
        let out = burstpipe()
            .args(["batch"])
            .args(bad)
            .arg(&input)
            .arg("-o")
            .arg(dir.path().join("x"))
            .assert()
            .failure()
            .get_output()
            .stderr
            .clone();
        let stderr = String::from_utf8(out).unwrap();
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            stderr.contains("adapter") || stderr.contains("devices"),
            "{stderr}"
        );
    }
}

#[test]
fn a_batch_killed_mid_way_leaves_only_whole_photos_and_the_rerun_finishes_the_rest() {
    const BURSTS: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (dir.path().join("in"), dir.path().join("out"));
    let t0 = SystemTime::now() - Duration::from_secs(3600);
    let all: Vec<String> = (0..BURSTS).map(|i| format!("b{i}.png")).collect();
    for i in 0..BURSTS {
        std::fs::create_dir_all(input.join(format!("b{i}"))).unwrap();
        copy(
            "raw/synthetic-kodim23.dng",
            &input.join(format!("b{i}/1.dng")),
            t0,
        );
    }
    let photos = || -> Vec<String> {
        names(&out)
            .into_iter()
            .filter(|n| all.contains(n))
            .collect()
    };
    let whole = |name: &str| {
        let image = burstpipe::Image::open(out.join(name))
            .unwrap_or_else(|e| panic!("{name} is not a whole photo: {e}"));
        assert_eq!((image.width, image.height), (1488, 976), "{name}");
    };

    // Start a batch and kill it (SIGKILL: no clean-up runs) as soon as its first photo appears.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("burstpipe"))
        .args(["batch", "--format", "png"])
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while photos().is_empty() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the batch ended before writing a photo"
        );
        assert!(std::time::Instant::now() < deadline, "no photo in 300 s");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = photos();
    assert!(
        done.len() < BURSTS,
        "the batch finished before it was killed: nothing was tested"
    );
    // Every photo there is whole; anything else is a hidden temporary, never a photo's name.
    for name in &done {
        whole(name);
    }
    for name in names(&out) {
        assert!(
            done.contains(&name) || (name.starts_with(".burstpipe-") && name.ends_with(".part")),
            "{name} was left in the output folder"
        );
    }

    // The rerun skips the photos written, does the rest and removes the killed run's leftovers.
    let rerun = burstpipe()
        .args(["batch", "--format", "png"])
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8(rerun.get_output().stderr.clone()).unwrap();
    let counts = format!("{} done, {} skipped", BURSTS - done.len(), done.len());
    assert!(stderr.contains(&counts), "{stderr}");
    assert_eq!(names(&out), all);
    for name in &all {
        whole(name);
    }
}
