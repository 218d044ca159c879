//! Developing raw frames through the library, end to end on the GPU, on real photo content.

use burstpipe::{Binning, Cfa, Demosaic, Engine, EngineOptions, Frame, Options};
use burstpipe_tests::{cast_on_neutrals, kodak, psnr, sensor_mosaic};

fn engine() -> Engine {
    Engine::new(&EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn sensor_frame(name: &str, cfa: Cfa) -> (burstpipe_tests::Rgb, Frame) {
    let img = kodak(name);
    let frame = Frame::from_mosaic(
        img.width,
        img.height,
        sensor_mosaic(&img, cfa),
        cfa,
        256.0,
        4095.0,
    )
    .unwrap();
    (img, frame)
}

#[test]
fn developed_sensor_data_reproduces_the_photo() {
    // A real photo recorded as 12-bit linear sensor data (sRGB primaries, neutral white balance)
    // and developed at 0 EV must come back as the photo, with only demosaicing error left:
    // the develop equals the linear demosaic sRGB-encoded, and flat grey stays grey.
    let engine = engine();
    for (name, cfa) in [
        ("kodim08", Cfa::Rggb),
        ("kodim19", Cfa::Bggr),
        ("kodim17", Cfa::Gbrg),
    ] {
        let (img, frame) = sensor_frame(name, cfa);
        for demosaic in [Demosaic::Bilinear, Demosaic::Mhc, Demosaic::Rcd] {
            let opts = Options {
                demosaic,
                exposure_ev: Some(0.0),
                tone: burstpipe::Tone::Curve,
                ..Options::default()
            };
            let out = engine.develop(&frame, &opts).unwrap();
            assert_eq!(
                (out.width, out.height, out.bits),
                (img.width, img.height, 16)
            );

            let linear = engine.demosaic(&frame, demosaic, 16).unwrap();
            let encoded: Vec<f32> = linear
                .data
                .iter()
                .map(|&v| linear_to_srgb(v as f32 / 65535.0))
                .collect();
            let expected = burstpipe_tests::Rgb {
                width: img.width,
                height: img.height,
                data: encoded,
            };
            let fidelity = psnr(&expected, &out.data, 65535.0);
            assert!(
                fidelity > 45.0,
                "{name} {demosaic:?}: colour/tone added error ({fidelity:.2} dB)"
            );

            let (cast, n) = cast_on_neutrals(&img, &out.data, 65535.0);
            assert!(n > 50, "{name}: too few neutral pixels to judge ({n})");
            assert!(
                cast < 0.01,
                "{name} {demosaic:?}: grey came out with a colour cast of {cast:.3}"
            );
        }
    }
}

fn linear_to_srgb(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    if x <= 0.0031308 {
        12.92 * x
    } else {
        1.055 * x.powf(1.0 / 2.4) - 0.055
    }
}

#[test]
fn banded_develop_equals_one_pass() {
    let engine = engine();
    let (_, frame) = sensor_frame("kodim21", Cfa::Grbg);
    use burstpipe::Tone;
    // Auto HDR (exposure fusion) bands its pyramids too; the curve recomputes bands.
    let cases = [
        (Demosaic::Bilinear, Tone::Curve),
        (Demosaic::Mhc, Tone::Curve),
        (Demosaic::Rcd, Tone::Curve),
        (Demosaic::Rcd, Tone::Fusion),
        (Demosaic::Rcd, Tone::Linear),
    ];
    for (demosaic, tone) in cases {
        let whole = engine
            .develop(
                &frame,
                &Options {
                    demosaic,
                    tone,
                    ..Options::default()
                },
            )
            .unwrap();
        let banded = engine
            .develop(
                &frame,
                &Options {
                    demosaic,
                    max_band_rows: Some(46),
                    tone,
                    ..Options::default()
                },
            )
            .unwrap();
        let worst = burstpipe_tests::max_abs_diff(&whole.data, &banded.data);
        assert!(
            worst <= 1,
            "{demosaic:?} {tone:?}: banded result differs by {worst} steps"
        );
    }
}

#[test]
fn auto_exposure_brightens_an_underexposed_frame_without_clipping_it() {
    let engine = engine();
    let img = kodak("kodim23");
    // Three stops under: the sensor saw 1/8 of the light.
    let mosaic: Vec<u16> = sensor_mosaic(&img, Cfa::Rggb)
        .iter()
        .map(|&v| 256 + (v - 256) / 8)
        .collect();
    let frame =
        Frame::from_mosaic(img.width, img.height, mosaic, Cfa::Rggb, 256.0, 4095.0).unwrap();
    let dark = engine
        .develop(
            &frame,
            &Options {
                exposure_ev: Some(0.0),
                ..Options::default()
            },
        )
        .unwrap();
    let auto = engine.develop(&frame, &Options::default()).unwrap();
    let mean = |d: &[u16]| d.iter().map(|&v| v as f64).sum::<f64>() / d.len() as f64 / 65535.0;
    let clipped = |d: &[u16]| d.iter().filter(|&&v| v == 65535).count() as f64 / d.len() as f64;
    assert!(
        mean(&auto.data) > mean(&dark.data) * 1.5,
        "auto {} vs 0 EV {}",
        mean(&auto.data),
        mean(&dark.data)
    );
    assert!(
        mean(&auto.data) > 0.25 && mean(&auto.data) < 0.75,
        "auto exposure mean {}",
        mean(&auto.data)
    );
    assert!(
        clipped(&auto.data) < 0.01,
        "{:.3} of values clipped",
        clipped(&auto.data)
    );
}

#[test]
fn eight_bit_output_is_the_sixteen_bit_output_rounded() {
    let engine = engine();
    let (_, frame) = sensor_frame("kodim03", Cfa::Rggb);
    let o16 = engine.develop(&frame, &Options::default()).unwrap();
    let o8 = engine
        .develop(
            &frame,
            &Options {
                bits: 8,
                ..Options::default()
            },
        )
        .unwrap();
    assert_eq!(o8.bits, 8);
    let worst = o16
        .data
        .iter()
        .zip(&o8.data)
        .map(|(a, b)| (*a as f32 / 257.0 - *b as f32).abs())
        .fold(0.0, f32::max);
    assert!(worst <= 0.51, "8-bit differs from 16-bit by {worst} levels");
    assert!(matches!(
        engine.develop(
            &frame,
            &Options {
                bits: 12,
                ..Options::default()
            }
        ),
        Err(burstpipe::Error::InvalidInput(_))
    ));
}

/// The photo downsampled by `f` (box mean of sRGB-decoded values, re-encoded): what a binned
/// develop should look like.
fn box_downsampled(img: &burstpipe_tests::Rgb, f: u32, w: u32, h: u32) -> burstpipe_tests::Rgb {
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let mut sum = 0.0;
                for j in 0..f {
                    for i in 0..f {
                        let k = (((y * f + j) * img.width + x * f + i) * 3 + c) as usize;
                        sum += burstpipe_tests::srgb_to_linear(img.data[k]);
                    }
                }
                data.push(linear_to_srgb(sum / (f * f) as f32));
            }
        }
    }
    burstpipe_tests::Rgb {
        width: w,
        height: h,
        data,
    }
}

#[test]
fn binned_develop_is_the_downsampled_photo_and_banding_does_not_change_it() {
    let engine = engine();
    let (img, frame) = sensor_frame("kodim08", Cfa::Grbg);
    // (binning, resolution factor)
    for (binning, f) in [
        (Binning::Bayer2, 2),
        (Binning::Bayer3, 3),
        (Binning::Superpixel, 2),
    ] {
        let opts = Options {
            binning,
            exposure_ev: Some(0.0),
            // Compared with the photo itself, and banded with whole: the plain curve.
            tone: burstpipe::Tone::Curve,
            ..Options::default()
        };
        let out = engine.develop(&frame, &opts).unwrap();
        let (w, h) = match binning {
            Binning::Superpixel => (img.width / 2, img.height / 2),
            _ => (img.width / (2 * f) * 2, img.height / (2 * f) * 2),
        };
        assert_eq!((out.width, out.height), (w, h), "{binning:?}");
        let expected = box_downsampled(&img, f, w, h);
        let db = psnr(&expected, &out.data, 65535.0);
        // The baseline: a sensor with the binned resolution (the downsampled photo mosaiced).
        let direct = Frame::from_mosaic(
            w,
            h,
            sensor_mosaic(&expected, Cfa::Grbg),
            Cfa::Grbg,
            256.0,
            4095.0,
        )
        .unwrap();
        let native = engine
            .develop(
                &direct,
                &Options {
                    binning: Binning::Off,
                    ..opts.clone()
                },
            )
            .unwrap();
        let baseline = psnr(&expected, &native.data, 65535.0);
        eprintln!("{binning:?}: {db:.2} dB vs the downsampled photo (native sensor of that size: {baseline:.2} dB)");
        // A gross-error guard (a wrong CFA phase or scale swaps or tints whole colours). Measured
        // on this detailed photo: 22.5 / 22.2 / 24.2 dB against 30.0 / 28.8 dB for a native sensor
        // of the binned size: same-colour binning shifts each colour's sampling centroid by a
        // quarter of an output pixel (as in-sensor binning does) — a known gap (see the issue note).
        assert!(
            db > 20.0,
            "{binning:?}: {db:.2} dB vs the downsampled photo"
        );
        let banded = engine
            .develop(
                &frame,
                &Options {
                    max_band_rows: Some(36),
                    ..opts
                },
            )
            .unwrap();
        let worst = burstpipe_tests::max_abs_diff(&out.data, &banded.data);
        assert!(worst <= 1, "{binning:?}: banded differs by {worst} steps");
    }
}

#[test]
fn one_engine_shared_by_threads_and_two_engines_in_parallel_agree() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
    let (_, frame) = sensor_frame("kodim04", Cfa::Rggb);
    let shared = engine();
    let alone = shared.develop(&frame, &Options::default()).unwrap();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|i| {
                let (frame, shared) = (&frame, &shared);
                s.spawn(move || {
                    // Threads 0 and 1 share one engine; thread 2 opens its own.
                    let own;
                    let engine = if i == 2 {
                        own = engine();
                        &own
                    } else {
                        shared
                    };
                    engine.develop(frame, &Options::default()).unwrap()
                })
            })
            .collect();
        for h in handles {
            assert!(
                h.join().unwrap() == alone,
                "a concurrent develop differs from the lone one"
            );
        }
    });
}

#[test]
fn developing_to_a_file_band_by_band_writes_what_develop_and_save_write() {
    // Several bands (forced small), each format, 8 and 16 bits: the streamed file decodes to the
    // same pixels.
    let engine = engine();
    let dir = tempfile::tempdir().unwrap();
    let (_, frame) = sensor_frame("kodim05", Cfa::Rggb);
    let none = &mut |_, _, _: &str| std::ops::ControlFlow::Continue(());
    for (frame, ext, bits) in [
        (&frame, "png", 16),
        (&frame, "png", 8),
        (&frame, "jpg", 8),
        (&frame, "tif", 16),
    ] {
        let opts = Options {
            bits,
            max_band_rows: Some(128),
            ..Options::default()
        };
        let (streamed, whole) = (
            dir.path().join(format!("streamed.{ext}")),
            dir.path().join(format!("whole.{ext}")),
        );
        let size = engine
            .develop_to_file(frame, &opts, &streamed, none)
            .unwrap();
        let image = engine.develop(frame, &opts).unwrap();
        assert_eq!(size, (image.width, image.height));
        image.save(&whole).unwrap();
        let (a, b) = (
            burstpipe::Image::open(&streamed).unwrap(),
            burstpipe::Image::open(&whole).unwrap(),
        );
        assert_eq!(
            (a.width, a.height, a.bits),
            (b.width, b.height, b.bits),
            "{ext}"
        );
        assert!(
            a.data == b.data,
            "{ext} {bits}-bit: the streamed file differs"
        );
    }
    // A refused output writes nothing.
    let bad = dir.path().join("x.bmp");
    assert!(engine
        .develop_to_file(&frame, &Options::default(), &bad, none)
        .is_err());
    assert!(!bad.exists());
}
