//! Sensor-side processing end to end on the GPU: Quad Bayer / Nonacell remosaicing against
//! binning, and bursts binned before alignment.

use burstpipe::{Binning, Burst, Cfa, Engine, EngineOptions, Frame, MergeOptions, Options};
use burstpipe_tests::synth::{linear_to_srgb, random_motions, synth_burst, NOISE_HIGH};
use burstpipe_tests::{cpsnr, kodak, srgb_to_linear, Rgb};

fn engine() -> Engine {
    Engine::new(&EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Develop at 0 EV with the plain curve: directly comparable with the photo.
fn options() -> Options {
    Options {
        exposure_ev: Some(0.0),
        tone: burstpipe::Tone::Curve,
        ..Options::default()
    }
}

/// The top-left `w × h` of a photo.
fn crop(img: &Rgb, w: u32, h: u32) -> Rgb {
    let data = (0..h)
        .flat_map(|y| {
            let i = (y * img.width * 3) as usize;
            img.data[i..i + (w * 3) as usize].to_vec()
        })
        .collect();
    Rgb {
        width: w,
        height: h,
        data,
    }
}

/// A photo as a sensor with `block`×`block` same-colour pixels in a Bayer layout records it
/// (block 1: plain Bayer): linear light, 16-bit, black 0.
fn block_sensor(img: &Rgb, block: u32, cfa: Cfa) -> Frame {
    let w = img.width;
    let mosaic = (0..(w * img.height) as usize)
        .map(|i| {
            let (x, y) = (i as u32 % w, i as u32 / w);
            let c = cfa.color_at((x / block) as usize, (y / block) as usize);
            (srgb_to_linear(img.data[i * 3 + c]) * 65535.0).round() as u16
        })
        .collect();
    Frame::from_mosaic(w, img.height, mosaic, cfa, 0.0, 65535.0)
        .unwrap()
        .with_cfa_block(block)
        .unwrap()
}

/// Bilinear upscaling by `f` of 16-bit sRGB pixels, in linear light, each low-resolution pixel
/// centred on its `f × f` block; the result is `w × h`.
fn upscale(small: &[u16], sw: u32, sh: u32, f: u32, w: u32, h: u32) -> Vec<u16> {
    let lin = |x: i64, y: i64, c: usize| {
        let (x, y) = (x.clamp(0, sw as i64 - 1), y.clamp(0, sh as i64 - 1));
        srgb_to_linear(small[((y * sw as i64 + x) * 3) as usize + c] as f32 / 65535.0)
    };
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let u = (x as f32 + 0.5) / f as f32 - 0.5;
            let v = (y as f32 + 0.5) / f as f32 - 0.5;
            let (x0, y0) = (u.floor(), v.floor());
            let (fx, fy) = (u - x0, v - y0);
            let (x0, y0) = (x0 as i64, y0 as i64);
            for c in 0..3 {
                let top = lin(x0, y0, c) * (1.0 - fx) + lin(x0 + 1, y0, c) * fx;
                let bottom = lin(x0, y0 + 1, c) * (1.0 - fx) + lin(x0 + 1, y0 + 1, c) * fx;
                let l = top * (1.0 - fy) + bottom * fy;
                out.push((linear_to_srgb(l) * 65535.0).round() as u16);
            }
        }
    }
    out
}

/// Quad Bayer and Nonacell sensors seeing real photos: remosaicing to full-resolution Bayer and
/// demosaicing (RCD) must recover more of the photo than binning the blocks to Bayer, demosaicing
/// and upscaling (the default, which halves / thirds the resolution). CPSNR against the photo,
/// 10-px border excluded; a plain Bayer sensor of the full resolution is printed as the ceiling.
#[test]
fn remosaic_and_rcd_beat_binning_and_upscaling_on_quad_bayer_and_nonacell() {
    let engine = engine();
    let names = ["kodim01", "kodim08", "kodim19"];
    for block in [2u32, 3] {
        let (mut remo_sum, mut bin_sum, mut bayer_sum) = (0.0, 0.0, 0.0);
        for name in names {
            // Whole 2·block periods (512 rows are not a multiple of 6).
            let img = kodak(name);
            let p = 2 * block;
            let img = crop(&img, img.width / p * p, img.height / p * p);
            let (w, h) = (img.width, img.height);
            let frame = block_sensor(&img, block, Cfa::Grbg);
            let remo = engine
                .develop(
                    &frame,
                    &Options {
                        remosaic: true,
                        ..options()
                    },
                )
                .unwrap();
            assert_eq!((remo.width, remo.height), (w, h));
            let binned = engine.develop(&frame, &options()).unwrap();
            assert_eq!((binned.width, binned.height), (w / block, h / block));
            let up = upscale(&binned.data, w / block, h / block, block, w, h);
            let bayer = engine
                .develop(&block_sensor(&img, 1, Cfa::Grbg), &options())
                .unwrap();
            let (r, b, c) = (
                cpsnr(&img, &remo.data, 65535.0, 10),
                cpsnr(&img, &up, 65535.0, 10),
                cpsnr(&img, &bayer.data, 65535.0, 10),
            );
            eprintln!("block {block} {name}: remosaic+RCD {r:.2} dB, binned+RCD+upscaled {b:.2} dB (Bayer sensor {c:.2} dB)");
            remo_sum += r;
            bin_sum += b;
            bayer_sum += c;
        }
        let n = names.len() as f64;
        let (r, b, c) = (remo_sum / n, bin_sum / n, bayer_sum / n);
        eprintln!("block {block} mean CPSNR: remosaic+RCD {r:.2} dB, binned+RCD+upscaled {b:.2} dB, Bayer sensor {c:.2} dB");
        assert!(
            r > b + 1.0,
            "block {block}: remosaic {r:.2} dB does not beat binning + upscaling {b:.2} dB by 1 dB"
        );
    }
}

/// Remosaicing in bands gives the image of one pass (halos cover both the remosaic and RCD).
#[test]
fn banded_remosaic_equals_one_pass() {
    let engine = engine();
    let img = crop(&kodak("kodim19"), 768, 510);
    let frame = block_sensor(&img, 3, Cfa::Rggb);
    let opts = Options {
        remosaic: true,
        ..options()
    };
    let whole = engine.develop(&frame, &opts).unwrap();
    let banded = engine
        .develop(
            &frame,
            &Options {
                max_band_rows: Some(64),
                ..opts.clone()
            },
        )
        .unwrap();
    let worst = burstpipe_tests::max_abs_diff(&whole.data, &banded.data);
    assert!(worst <= 1, "banded differs by {worst} steps");
    // --bin with --remosaic is a contradiction, refused.
    let err = engine
        .develop(
            &frame,
            &Options {
                binning: Binning::Bayer2,
                ..opts
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("--remosaic"), "{err}");
}

/// Box-downsampled by 2 in linear light (what a half-size sensor of the same scene records).
fn half(img: &Rgb) -> Rgb {
    let (w, h) = (img.width / 4 * 2, img.height / 4 * 2);
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let mut s = 0.0;
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let i = (((2 * y + dy) * img.width + 2 * x + dx) * 3 + c) as usize;
                    s += srgb_to_linear(img.data[i]);
                }
                data.push(linear_to_srgb(s / 4.0));
            }
        }
    }
    Rgb {
        width: w,
        height: h,
        data,
    }
}

/// A noisy burst binned 2×2 before alignment: half-size frames, aligned and merged, must come
/// closer to the half-size clean photo than the binned reference frame alone, and the merged raw
/// keeps the metadata right (levels, CFA phase, white balance, noise profile of a mean of 4 × 8).
#[test]
fn a_burst_binned_before_alignment_merges_to_a_cleaner_half_size_photo() {
    let engine = engine();
    let img = kodak("kodim23");
    let b = synth_burst(&img, &random_motions(8, 8.0, 0.002, 7), NOISE_HIGH, None, 3);
    let truth = half(&b.truth);
    let binned = Options {
        binning: Binning::Bayer2,
        ..options()
    };
    let single = engine.develop(&b.frames[0], &binned).unwrap();
    assert_eq!((single.width, single.height), (truth.width, truth.height));
    let merge = MergeOptions {
        reference: Some(0),
        develop: binned,
        ..MergeOptions::default()
    };
    let burst = Burst::new(b.frames.clone()).unwrap();
    let merged = engine.merge(&burst, &merge).unwrap();
    assert_eq!((merged.width, merged.height), (truth.width, truth.height));
    // Quality over the frame, 8 px (16 sensor px) border excluded: moved frames repeat edges.
    let (single_db, merged_db) = (
        cpsnr(&truth, &single.data, 65535.0, 8),
        cpsnr(&truth, &merged.data, 65535.0, 8),
    );
    eprintln!("binned 2×2, high noise: merged {merged_db:.2} dB, binned reference frame {single_db:.2} dB");
    assert!(
        merged_db > single_db + 3.0,
        "merged {merged_db:.2} dB vs single {single_db:.2} dB"
    );

    let raw = engine.merge_raw(&burst, &merge).unwrap();
    let f0 = &b.frames[0];
    assert_eq!((raw.width(), raw.height()), (truth.width, truth.height));
    assert_eq!(raw.cfa(), f0.cfa());
    assert_eq!(raw.white_balance(), f0.white_balance());
    let [s, o] = f0.noise_profile().unwrap();
    let [ms, mo] = raw.noise_profile().unwrap();
    assert!(
        (ms / (s / 32.0) - 1.0).abs() < 1e-4 && (mo / (o / 32.0) - 1.0).abs() < 1e-4,
        "noise profile {ms:e} {mo:e} vs source {s:e} {o:e}"
    );
    // Saved and read back as a DNG, the merged raw is the same mosaic with the same levels.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("merged.dng");
    raw.save_dng(&path).unwrap();
    let back = Frame::open(&path).unwrap();
    assert_eq!(back.mosaic(), raw.mosaic());
    assert_eq!(back.levels(), raw.levels());
    assert_eq!(back.cfa(), raw.cfa());
}

/// A Quad Bayer burst (refused before binning and remosaicing existed) merges: binned to a
/// half-size Bayer burst by default, full size with remosaicing.
#[test]
fn a_quad_bayer_burst_merges_binned_or_remosaiced() {
    let engine = engine();
    let img = crop(&kodak("kodim05"), 256, 256);
    let frames: Vec<Frame> = (0..3)
        .map(|k| block_sensor(&img, 2, Cfa::Rggb).with_source(format!("quad{k}.dng")))
        .collect();
    let burst = Burst::new(frames).unwrap();
    let binned = engine
        .merge(
            &burst,
            &MergeOptions {
                develop: options(),
                ..MergeOptions::default()
            },
        )
        .unwrap();
    assert_eq!((binned.width, binned.height), (128, 128));
    let remo = engine
        .merge(
            &burst,
            &MergeOptions {
                develop: Options {
                    remosaic: true,
                    ..options()
                },
                ..MergeOptions::default()
            },
        )
        .unwrap();
    assert_eq!((remo.width, remo.height), (256, 256));
    // Identical noiseless frames merge to the single frame's picture.
    let single = engine
        .develop(
            &burst.frames()[0],
            &Options {
                remosaic: true,
                ..options()
            },
        )
        .unwrap();
    let db = cpsnr(
        &Rgb {
            width: 256,
            height: 256,
            data: single.data.iter().map(|&v| v as f32 / 65535.0).collect(),
        },
        &remo.data,
        65535.0,
        8,
    );
    assert!(
        db > 40.0,
        "merged remosaiced burst vs its frame: {db:.2} dB"
    );
}
