//! Handheld brackets through the public API: exposures of a real photo, each shifted by its own
//! sub-pixel translation (camera shake between shots), fused with and without alignment and
//! compared with the fusion of the same bracket taken without shake.

use burstpipe::{Engine, Exif, FuseOptions, Image};
use burstpipe_tests::fusion::{psnr_unit, unit};
use burstpipe_tests::{kodak, srgb_to_linear, Rgb};

fn engine() -> Engine {
    Engine::new(&Default::default())
        .expect("GPU tests need an adapter (apt-get install mesa-vulkan-drivers)")
}

fn oetf(x: f32) -> f32 {
    if x <= 0.0031308 {
        12.92 * x
    } else {
        1.055 * x.powf(1.0 / 2.4) - 0.055
    }
}

/// Lanczos-3 weights of the six taps around a sample at fractional offset `t` (taps at −2..=3).
fn lanczos(t: f32) -> [f32; 6] {
    let k = |x: f32| {
        if x.abs() < 1e-6 {
            1.0
        } else if x.abs() >= 3.0 {
            0.0
        } else {
            let px = std::f32::consts::PI * x;
            3.0 * px.sin() * (px / 3.0).sin() / (px * px)
        }
    };
    let w: [f32; 6] = std::array::from_fn(|i| k(i as f32 - 2.0 - t));
    let s: f32 = w.iter().sum();
    w.map(|v| v / s)
}

/// One exposure as a camera writes it: the photo's linear light seen through a `size` window at
/// `origin` + `shift` (resampled with Lanczos-3, a different filter from the warp's), × 2^ev,
/// clipped, sRGB-encoded, 8-bit; EXIF exposure time 2^ev / 100 s when `exif`.
fn exposure(
    photo: &Rgb,
    origin: (u32, u32),
    size: (u32, u32),
    shift: (f32, f32),
    ev: f32,
    exif: bool,
) -> Image {
    let lin: Vec<f32> = photo.data.iter().map(|&v| srgb_to_linear(v)).collect();
    let w = photo.width as i64;
    let (fx, fy) = (shift.0.floor(), shift.1.floor());
    let (wx, wy) = (lanczos(shift.0 - fx), lanczos(shift.1 - fy));
    let mut data = Vec::with_capacity((size.0 * size.1 * 3) as usize);
    for y in 0..size.1 {
        for x in 0..size.0 {
            let sx = origin.0 as i64 + x as i64 + fx as i64;
            let sy = origin.1 as i64 + y as i64 + fy as i64;
            for c in 0..3 {
                let mut acc = 0.0;
                for (j, wj) in wy.iter().enumerate() {
                    for (i, wi) in wx.iter().enumerate() {
                        let p = (sy + j as i64 - 2) * w + sx + i as i64 - 2;
                        acc += wj * wi * lin[p as usize * 3 + c];
                    }
                }
                let v = oetf((acc * ev.exp2()).clamp(0.0, 1.0));
                data.push((v * 255.0).round() as u16);
            }
        }
    }
    Image {
        width: size.0,
        height: size.1,
        bits: 8,
        data,
        exif: Exif {
            exposure_time: exif.then(|| ev.exp2() as f64 / 100.0),
            ..Default::default()
        },
    }
}

/// PSNR (dB) of two fused images over their interior (`border` pixels left out on each side,
/// where a shifted exposure has no content to bring back).
fn interior_psnr(a: &Image, b: &Image, border: u32) -> f64 {
    let (ua, ub) = (unit(&a.data, a.bits), unit(&b.data, b.bits));
    let w = a.width;
    let pick = |u: &[f32]| -> Vec<f32> {
        (border..a.height - border)
            .flat_map(|y| {
                let row = ((y * w + border) * 3) as usize;
                u[row..row + ((w - 2 * border) * 3) as usize].to_vec()
            })
            .collect()
    };
    psnr_unit(&pick(&ua), &pick(&ub))
}

/// Camera shake of each exposure in pixels, drawn at random once (up to ±8 px, sub-pixel parts);
/// the middle exposure's is whole, so the shake-free bracket can be cut at the same place.
const SHAKE: [(f32, f32); 3] = [(-6.37, 3.81), (2.0, -3.0), (7.42, 5.16)];
const EVS: [f32; 3] = [-2.0, 0.0, 2.0];
const ORIGIN: (u32, u32) = (240, 120);
const SIZE: (u32, u32) = (256, 256);

fn no_align() -> FuseOptions {
    FuseOptions {
        align: false,
        ..FuseOptions::default()
    }
}

#[test]
fn handheld_bracket_fuses_like_the_bracket_without_shake() {
    let engine = engine();
    for name in ["kodim21", "kodim05"] {
        let photo = kodak(name);
        let steady: Vec<Image> = EVS
            .iter()
            .map(|&ev| exposure(&photo, ORIGIN, SIZE, SHAKE[1], ev, true))
            .collect();
        let truth = engine.fuse(&steady, &no_align()).unwrap();
        for exif in [true, false] {
            let shaken: Vec<Image> = EVS
                .iter()
                .zip(SHAKE)
                .map(|(&ev, s)| exposure(&photo, ORIGIN, SIZE, s, ev, exif))
                .collect();
            let aligned = engine.fuse(&shaken, &FuseOptions::default()).unwrap();
            let ghosted = engine.fuse(&shaken, &no_align()).unwrap();
            let (good, bad) = (
                interior_psnr(&aligned, &truth, 16),
                interior_psnr(&ghosted, &truth, 16),
            );
            eprintln!(
                "{name} (EXIF {exif}): aligned {good:.2} dB, not aligned {bad:.2} dB against the steady bracket"
            );
            assert!(good >= 30.0, "{name}: aligned only {good:.2} dB");
            assert!(
                good >= bad + 10.0,
                "{name}: alignment gains only {:.2} dB",
                good - bad
            );
        }
    }
}

#[test]
fn bracket_of_unrelated_photos_still_fuses_without_moving() {
    // Nothing matches: the alignment must find no reliable tiles and leave the exposures alone.
    let engine = engine();
    let a = exposure(&kodak("kodim21"), ORIGIN, SIZE, (0.0, 0.0), -1.0, true);
    let b = exposure(&kodak("kodim05"), ORIGIN, SIZE, (0.0, 0.0), 1.0, true);
    let pair = [a, b];
    let aligned = engine.fuse(&pair, &FuseOptions::default()).unwrap();
    let plain = engine.fuse(&pair, &no_align()).unwrap();
    let db = interior_psnr(&aligned, &plain, 0);
    eprintln!("unrelated pair: aligned vs not aligned {db:.2} dB");
    assert!(
        db >= 40.0,
        "the alignment moved unrelated content: {db:.2} dB"
    );
}
