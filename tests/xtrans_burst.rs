//! X-Trans bursts (Fujifilm 6×6 layout): alignment on a gray image of 3×3 windows and the X-Trans
//! merge, end to end through the library on synthetic bursts made from Kodak crops (known motion
//! and clean truth; see `util/synth.rs`).

use burstpipe::{Burst, Engine, EngineOptions, MergeMethod, XTrans};
use burstpipe_tests::synth::{
    assert_banded_merge_is_whole, develop_options, epe_stats, merge_options, random_motions,
    synth_burst_xtrans, tall_burst, unaligned_average, MovingObject, BORDER, NOISE_HIGH, NOISE_LOW,
    NOISE_MEDIUM,
};
use burstpipe_tests::{cpsnr, cpsnr_masked, crop, kodak};

fn engine() -> Engine {
    Engine::new(&EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn x_trans_alignment_finds_sub_pixel_translations() {
    let engine = engine();
    for (name, x0, y0, seed) in [("kodim05", 300, 150, 1), ("kodim21", 200, 200, 2)] {
        let img = crop(&kodak(name), x0, y0, 240, 240);
        let b = synth_burst_xtrans(
            &img,
            &random_motions(4, 8.0, 0.0, seed),
            NOISE_LOW,
            None,
            seed,
            XTrans::FUJIFILM.shifted(seed as usize, 2),
        );
        let burst = Burst::new(b.frames.clone()).unwrap();
        let fields = engine.align(&burst, 0).unwrap();
        let (epe, median, mean_all, share) = epe_stats(&b, &fields);
        eprintln!(
            "{name}: X-Trans translation: mean end-point error {epe:.3} px on the {:.0} % textured tiles; on all tiles median {median:.3} px, mean {mean_all:.3} px",
            100.0 * share
        );
        // The bar the Bayer aligner meets on the same photos (tests/burst.rs, 0.20–0.21 px): an
        // X-Trans frame is aligned on a grey image of the same resolution (3×3 windows cover
        // every colour), so it must align to the same quarter pixel.
        assert!(epe < 0.25, "{name}: X-Trans end-point error {epe:.3} px");
    }
}

#[test]
fn merging_eight_noisy_x_trans_frames_beats_one_frame_and_an_unaligned_average() {
    let engine = engine();
    let img = crop(&kodak("kodim23"), 260, 120, 240, 240);
    let motions = random_motions(8, 8.0, 0.002, 7);
    for noise in [NOISE_MEDIUM, NOISE_HIGH] {
        let b = synth_burst_xtrans(&img, &motions, noise, None, 3, XTrans::FUJIFILM);
        let db = |data: &[u16]| cpsnr(&b.truth, data, 65535.0, BORDER);
        let single = engine.develop(&b.frames[0], &develop_options()).unwrap();
        let naive = engine
            .develop(&unaligned_average(&b.frames), &develop_options())
            .unwrap();
        let burst = Burst::new(b.frames.clone()).unwrap();
        let merged = engine
            .merge(&burst, &merge_options(MergeMethod::Spatial))
            .unwrap();
        let (single_db, naive_db, merged_db) =
            (db(&single.data), db(&naive.data), db(&merged.data));
        eprintln!(
            "X-Trans, {} noise: merged {merged_db:.2} dB, single frame {single_db:.2} dB (gain {:.2} dB), unaligned average {naive_db:.2} dB",
            noise.name,
            merged_db - single_db
        );
        assert!(
            merged_db >= single_db + 5.0,
            "{} noise: gain {:.2} dB < 5 dB",
            noise.name,
            merged_db - single_db
        );
        assert!(
            merged_db > naive_db,
            "{} noise: no better than an unaligned average",
            noise.name
        );
        if noise.name == "medium" {
            // X-Trans has no Bayer planes for Wiener tiles: --merge wiener means this merge.
            let wiener = engine
                .merge(&burst, &merge_options(MergeMethod::Wiener))
                .unwrap();
            assert_eq!(wiener, merged, "wiener must map to the X-Trans merge");
        }
    }
}

#[test]
fn a_moving_object_leaves_no_ghost_in_an_x_trans_merge() {
    let engine = engine();
    let img = crop(&kodak("kodim23"), 260, 120, 240, 240);
    let motions = random_motions(8, 6.0, 0.0, 9);
    // A 64-px square of the photo crossing the frame at 10 px per frame.
    let object = MovingObject {
        from: (20, 20),
        at: (60.0, 80.0),
        size: 64,
        velocity: (10.0, 4.0),
    };
    let b = synth_burst_xtrans(
        &img,
        &motions,
        NOISE_MEDIUM,
        Some(object),
        5,
        XTrans::FUJIFILM.shifted(3, 1),
    );
    let mask = b.object_mask.clone().unwrap();
    let single = engine.develop(&b.frames[0], &develop_options()).unwrap();
    let burst = Burst::new(b.frames.clone()).unwrap();
    let merged = engine
        .merge(&burst, &merge_options(MergeMethod::Spatial))
        .unwrap();
    let moving = |d: &[u16]| cpsnr_masked(&b.truth, d, 65535.0, &mask, true, BORDER);
    let still = |d: &[u16]| cpsnr_masked(&b.truth, d, 65535.0, &mask, false, BORDER);
    let (m1, mm) = (moving(&single.data), moving(&merged.data));
    let (s1, sm) = (still(&single.data), still(&merged.data));
    eprintln!(
        "X-Trans: moving region {mm:.2} dB (single {m1:.2}), static background {sm:.2} dB (single {s1:.2})"
    );
    assert!(mm >= m1 - 0.5, "ghost: {mm:.2} dB vs single {m1:.2} dB");
    assert!(sm >= s1 + 3.0, "background gained only {:.2} dB", sm - s1);
}

#[test]
fn a_merged_x_trans_raw_keeps_its_layout_and_develops_as_the_merge_does() {
    // The merged mosaic downloaded as a frame (for a DNG) is an X-Trans mosaic in the
    // reference's layout, and developing it gives the photo the merge developed on the GPU.
    let engine = engine();
    let img = crop(&kodak("kodim05"), 100, 100, 120, 96);
    let layout = XTrans::FUJIFILM.shifted(5, 4);
    let b = synth_burst_xtrans(
        &img,
        &random_motions(3, 4.0, 0.0, 4),
        NOISE_MEDIUM,
        None,
        6,
        layout,
    );
    let burst = Burst::new(b.frames.clone()).unwrap();
    let options = merge_options(MergeMethod::Spatial);
    let (image, raw) = engine
        .merge_and_raw_with_progress(&burst, &options, &mut |_, _, _| {
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(raw.xtrans(), Some(layout));
    assert_eq!((raw.width(), raw.height()), (120, 96));
    let again = engine.develop(&raw, &options.merged_develop()).unwrap();
    let worst = image
        .data
        .iter()
        .zip(&again.data)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(worst <= 1, "developed merged raw differs by {worst} steps");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("merged.dng");
    raw.save_dng(&path).unwrap();
    let back = burstpipe::Frame::open(&path).unwrap();
    assert_eq!(back.xtrans(), Some(layout));
    assert_eq!(back.mosaic(), raw.mosaic());
}

#[test]
fn x_trans_frames_larger_than_a_binding_merge_in_cropped_bands_exactly_as_whole() {
    // As for Bayer (tests/burst.rs): the binding limit forced below one frame's mosaic, each band
    // binds a crop of every frame, whose first rows fall at every phase of the 6-row layout (the
    // kernels take colours in whole-frame rows); reference choice, noise estimate (no profile:
    // the X-Trans single-frame estimate), merged raw and developed photo are the whole merge's.
    let engine = engine();
    let layout = XTrans::FUJIFILM.shifted(2, 1);
    let burst = tall_burst(96, 11, Some(layout));
    let (merged, bands) = assert_banded_merge_is_whole(&engine, &burst, MergeMethod::Spatial);
    assert!(bands >= 3, "{bands} bands");
    assert_eq!(merged.xtrans(), Some(layout));
}
