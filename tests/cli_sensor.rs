//! The `burstpipe` binary's sensor-side options: `merge --bin`, `--remosaic` on develop and merge,
//! and merging X-Trans bursts.

use assert_cmd::Command;
use burstpipe::{Cfa, Frame};
use burstpipe_tests::synth::{random_motions, synth_burst, synth_burst_xtrans, NOISE_MEDIUM};
use burstpipe_tests::{crop, kodak};

fn burstpipe() -> Command {
    Command::cargo_bin("burstpipe").expect("binary built")
}

#[test]
fn merge_bin_2_writes_a_half_size_image() {
    let dir = tempfile::tempdir().unwrap();
    let b = synth_burst(
        &kodak("kodim23"),
        &random_motions(3, 4.0, 0.0, 2),
        NOISE_MEDIUM,
        None,
        2,
    );
    let files = b.write_dngs(dir.path());
    let (w, h) = (b.frames[0].width(), b.frames[0].height());
    for (bin, size) in [("2", (w / 4 * 2, h / 4 * 2)), ("3", (w / 6 * 2, h / 6 * 2))] {
        let out = dir.path().join(format!("merged{bin}.png"));
        let dng = dir.path().join(format!("merged{bin}.dng"));
        burstpipe()
            .arg("merge")
            .args(&files)
            .args(["--bin", bin, "--merge", "spatial", "-o"])
            .arg(&out)
            .arg("--dng")
            .arg(&dng)
            .assert()
            .success();
        assert_eq!(image::image_dimensions(&out).unwrap(), size, "--bin {bin}");
        // The merged raw is the binned mosaic: same size, a Bayer layout raw developers read.
        let raw = Frame::open(&dng).unwrap();
        assert_eq!((raw.width(), raw.height()), size, "--bin {bin} DNG");
        assert_eq!(raw.cfa_block(), 1);
    }
}

#[test]
fn develop_remosaic_keeps_a_quad_bayer_dng_at_full_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let img = kodak("kodim19");
    let (w, h) = (256u32, 256u32);
    let mosaic = (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            let c = Cfa::Rggb.color_at((x / 2) as usize, (y / 2) as usize);
            (256.0 + img.data[((y * img.width + x) * 3) as usize + c] * 3839.0) as u16
        })
        .collect();
    let quad = Frame::from_mosaic(w, h, mosaic, Cfa::Rggb, 256.0, 4095.0)
        .unwrap()
        .with_cfa_block(2)
        .unwrap();
    let input = dir.path().join("quad.dng");
    quad.save_dng(&input).unwrap();
    assert_eq!(Frame::open(&input).unwrap().cfa_block(), 2);
    for (flag, size) in [(None, (128, 128)), (Some("--remosaic"), (256, 256))] {
        let out = dir.path().join("out.png");
        burstpipe()
            .args(["develop", "-o"])
            .arg(&out)
            .arg(&input)
            .args(flag)
            .assert()
            .success();
        assert_eq!(image::image_dimensions(&out).unwrap(), size, "{flag:?}");
    }
    // A quad burst merges too (binned by default, full size remosaiced).
    let second = dir.path().join("quad2.dng");
    std::fs::copy(&input, &second).unwrap();
    let out = dir.path().join("merged.png");
    burstpipe()
        .arg("merge")
        .args([&input, &second])
        .args(["--remosaic", "--merge", "spatial", "-o"])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(image::image_dimensions(&out).unwrap(), (256, 256));
}

#[test]
fn merge_on_a_folder_of_x_trans_dngs_writes_a_photo_and_an_x_trans_dng() {
    let dir = tempfile::tempdir().unwrap();
    let burst_dir = dir.path().join("burst");
    std::fs::create_dir(&burst_dir).unwrap();
    let layout = burstpipe::XTrans::FUJIFILM.shifted(2, 3);
    let b = synth_burst_xtrans(
        &crop(&kodak("kodim23"), 200, 100, 240, 180),
        &random_motions(4, 4.0, 0.0, 3),
        NOISE_MEDIUM,
        None,
        3,
        layout,
    );
    b.write_dngs(&burst_dir);
    let out = dir.path().join("merged.png");
    let dng = dir.path().join("merged.dng");
    // --merge wiener (the default) on X-Trans is the X-Trans merge.
    burstpipe()
        .arg("merge")
        .arg(&burst_dir)
        .args(["--reference", "0", "-o"])
        .arg(&out)
        .arg("--dng")
        .arg(&dng)
        .assert()
        .success();
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (240, 180));
    let back = Frame::open(&dng).unwrap();
    assert_eq!(back.xtrans(), Some(layout));
    assert_eq!((back.width(), back.height()), (240, 180));
    // The merged raw is what the library merges from the same frames.
    let engine = burstpipe::Engine::new(&burstpipe::EngineOptions::default()).unwrap();
    let options = burstpipe::MergeOptions {
        reference: Some(0),
        ..burstpipe::MergeOptions::default()
    };
    let raw = engine
        .merge_raw(&burstpipe::Burst::new(b.frames.clone()).unwrap(), &options)
        .unwrap();
    assert_eq!(back.mosaic(), raw.mosaic());
    // Binning an X-Trans burst: an error naming a frame, no output.
    let bad = dir.path().join("binned.png");
    burstpipe()
        .arg("merge")
        .arg(&burst_dir)
        .args(["--bin", "2", "-o"])
        .arg(&bad)
        .assert()
        .failure()
        .stderr(predicates::str::contains("frame0"))
        .stderr(predicates::str::contains("X-Trans"));
    assert!(!bad.exists());
}
