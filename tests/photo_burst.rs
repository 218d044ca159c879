//! Bursts of finished photos (JPEG frames): merged in linear light, back in the frames' encoding.

use std::path::{Path, PathBuf};

use burstpipe::{BurstFiles, Engine, EngineOptions, Error, Image, MergeOptions, PhotoBurst};
use burstpipe_tests::synth::Rng;
use burstpipe_tests::{assets, kodak, psnr, shared_real, Rgb};

fn engine() -> Engine {
    Engine::new(&EngineOptions::default())
        .expect("GPU tests need an adapter: apt-get install mesa-vulkan-drivers libvulkan1")
}

/// Write 8-bit RGB values (0..=255 floats) as a quality-90 JPEG.
fn write_jpeg(path: &Path, w: u32, h: u32, values: &[f32]) {
    let bytes: Vec<u8> = values
        .iter()
        .map(|v| v.round().clamp(0.0, 255.0) as u8)
        .collect();
    let file = std::fs::File::create(path).unwrap();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(file, 90);
    enc.encode(&bytes, w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
}

/// Frames of this size are 2×2 box averages of the photo (so half-pixel shifts need no
/// interpolation, and every frame is equally sharp).
const FW: u32 = 352;
const FH: u32 = 224;

/// The clean frame of `photo` whose top-left corner is at full-resolution pixel (16 + sx, 16 + sy)
/// (a shift of sx/2, sy/2 frame pixels), sRGB on [0, 1].
fn frame(photo: &Rgb, (sx, sy): (i32, i32)) -> Rgb {
    let mut data = Vec::with_capacity((FW * FH * 3) as usize);
    for y in 0..FH as i32 {
        for x in 0..FW as i32 {
            for c in 0..3 {
                let mut s = 0.0;
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let (px, py) = (16 + sx + 2 * x + dx, 16 + sy + 2 * y + dy);
                    s += photo.data[((py as u32 * photo.width + px as u32) * 3 + c) as usize];
                }
                data.push(s / 4.0);
            }
        }
    }
    Rgb {
        width: FW,
        height: FH,
        data,
    }
}

/// Shifts at full resolution (twice the frames'): even ones are whole-pixel motions of the
/// frames, odd ones half-pixel motions (the worst case for whole-pixel tile alignment).
const SHIFTS: [(i32, i32); 8] = [
    (0, 0),
    (3, -2),
    (-5, 1),
    (2, 5),
    (-1, -6),
    (6, 3),
    (-4, -3),
    (1, 6),
];

/// The merge of an 8-frame JPEG burst of `name` moved by `shifts` (noise of σ 6 codes of 255
/// added before quality-90 compression, as a phone's JPEG of a dim scene), and the PSNR (dB)
/// against the clean reference of one frame and of the merge.
fn jpeg_burst_psnr(engine: &Engine, name: &str, shifts: &[(i32, i32)], seed: u64) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let photo = kodak(name);
    let truth = frame(&photo, shifts[0]);
    let mut rng = Rng::new(seed);
    let paths: Vec<PathBuf> = shifts
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let noisy: Vec<f32> = frame(&photo, s)
                .data
                .iter()
                .map(|v| v * 255.0 + 6.0 * rng.normal() as f32)
                .collect();
            let path = dir.path().join(format!("{name}-{i}.jpg"));
            write_jpeg(&path, FW, FH, &noisy);
            path
        })
        .collect();
    let burst = match BurstFiles::open(&paths).unwrap() {
        BurstFiles::Photos(b) => b,
        BurstFiles::Raw(_) => panic!("JPEG frames read as a raw burst"),
    };
    let options = MergeOptions {
        reference: Some(0),
        ..MergeOptions::default()
    };
    let merged = engine.merge_photos(&burst, &options).unwrap();
    assert_eq!((merged.width, merged.height, merged.bits), (FW, FH, 8));
    (
        psnr(&truth, &burst.images()[0].data, 255.0),
        psnr(&truth, &merged.data, 255.0),
    )
}

/// Half- and whole-pixel motion: ≥ 4 dB over one frame (measured: kodim19 +5.04, kodim23 +5.86).
#[test]
fn jpeg_bursts_of_real_photos_gain_4_db_over_one_frame() {
    let engine = engine();
    for (k, name) in ["kodim19", "kodim23"].iter().enumerate() {
        let (one, many) = jpeg_burst_psnr(&engine, name, &SHIFTS, 90 + k as u64);
        eprintln!(
            "{name}: one frame {one:.2} dB, merged {many:.2} dB, gain {:.2} dB",
            many - one
        );
        assert!(many - one >= 4.0, "{name}: gain {:.2} dB", many - one);
    }
}

/// kodim05, the busiest photo (fine texture to its Nyquist frequency). With whole-pixel motion
/// it gains ≥ 4 dB (measured +5.95). With half-pixel motion in 7 of 8 frames, frames sampled half
/// a pixel apart differ from the reference by more than a shift (their aliases move the other
/// way), a difference the robust merge treats like motion and mostly rejects: the gain is small
/// (measured +1.18 dB), but the merge must never be worse than its reference frame.
#[test]
fn an_aliased_photo_gains_with_whole_pixel_motion_and_never_loses_with_half_pixel() {
    let engine = engine();
    let whole: Vec<(i32, i32)> = SHIFTS.iter().map(|s| (s.0 & !1, s.1 & !1)).collect();
    for (motion, shifts, bar) in [
        ("whole-pixel", &whole[..], 4.0),
        ("half-pixel", &SHIFTS[..], 0.5),
    ] {
        let (one, many) = jpeg_burst_psnr(&engine, "kodim05", shifts, 90);
        eprintln!(
            "kodim05, {motion} motion: one frame {one:.2} dB, merged {many:.2} dB, gain {:.2} dB",
            many - one
        );
        assert!(many - one >= bar, "{motion}: gain {:.2} dB", many - one);
    }
}

/// The exact error when a burst mixes raws and finished photos, whichever comes first.
#[test]
fn a_burst_mixing_raws_and_photos_names_the_odd_file() {
    let dir = tempfile::tempdir().unwrap();
    let photo = frame(&kodak("kodim23"), (0, 0));
    let jpeg = dir.path().join("frame.jpg");
    let values: Vec<f32> = photo.data.iter().map(|v| v * 255.0).collect();
    write_jpeg(&jpeg, FW, FH, &values);
    let raw = assets().join("raw/synthetic-kodim23.dng");
    let err = BurstFiles::open(&[raw.clone(), raw.clone(), jpeg.clone()]).unwrap_err();
    assert!(
        matches!(&err, Error::MixedBurst { path, .. } if *path == jpeg),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: a finished photo (JPEG) in a burst of raw frames ({} is one): merge raw frames or finished photos, not both",
            jpeg.display(),
            raw.display()
        )
    );
    let err = BurstFiles::open(&[jpeg.clone(), raw.clone()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: a raw frame in a burst of finished photos ({} is one): merge raw frames or finished photos, not both",
            raw.display(),
            jpeg.display()
        )
    );
    // Photos of different sizes: the burst mismatch error, naming the odd one.
    let small = dir.path().join("small.jpg");
    write_jpeg(&small, 16, 8, &values[..16 * 8 * 3]);
    let err = BurstFiles::open(&[jpeg.clone(), small.clone()]).unwrap_err();
    assert!(
        matches!(&err, Error::BurstMismatch { path, .. } if *path == small),
        "{err:?}"
    );
    assert!(err.to_string().contains("16×8 pixels"), "{err}");
}

/// The noise (σ, 0..=255 codes) of a flat area of an 8-bit image: the median absolute deviation
/// of each pixel from the mean of its four neighbours (which removes smooth gradients), scaled
/// to a Gaussian's σ (1.4826 · MAD, and √(1 + 1/4) for the neighbours' own noise).
fn flat_noise(img: &Image, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> f64 {
    let at = |x: u32, y: u32, c: u32| img.data[((y * img.width + x) * 3 + c) as usize] as f64;
    let mut d = Vec::new();
    for y in y0 + 1..y1 - 1 {
        for x in x0 + 1..x1 - 1 {
            for c in 0..3 {
                let n =
                    (at(x - 1, y, c) + at(x + 1, y, c) + at(x, y - 1, c) + at(x, y + 1, c)) / 4.0;
                d.push(at(x, y, c) - n);
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let m = median(&mut d.clone());
    let mut dev: Vec<f64> = d.iter().map(|v| (v - m).abs()).collect();
    1.4826 * median(&mut dev) / 1.25f64.sqrt()
}

/// A crop of an 8-bit image.
fn crop(img: &Image, (x0, y0): (u32, u32), (w, h): (u32, u32)) -> Image {
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in y0..y0 + h {
        let i = ((y * img.width + x0) * 3) as usize;
        data.extend_from_slice(&img.data[i..i + (w * 3) as usize]);
    }
    Image {
        width: w,
        height: h,
        data,
        ..img.clone()
    }
}

#[test]
fn the_real_phone_burst_merges_cleaner_without_ghosts() {
    // 7 handheld frames, 1600×1200: a 512×384 crop of sky, branches, mountains and trees
    // (cropped, not downscaled, which would average the noise away).
    let dir = shared_real("bursts/phone_0006");
    let frames: Vec<Image> = (0..7)
        .map(|i| Image::open(dir.join(format!("frame-{i:03}.jpg"))).unwrap())
        .map(|img| crop(&img, (0, 300), (512, 384)))
        .collect();
    let burst = PhotoBurst::new(frames).unwrap();
    let options = MergeOptions {
        reference: Some(0),
        ..MergeOptions::default()
    };
    let merged = engine().merge_photos(&burst, &options).unwrap();
    let one = &burst.images()[0];
    // Clear sky left of the trunk, below the branches.
    let sky = (40, 120, 300, 320);
    let (n1, nm) = (flat_noise(one, sky), flat_noise(&merged, sky));
    // Ghosts or seams (a misaligned frame blended in) would leave the merge far from its
    // reference where the scene has detail; noise alone keeps them close.
    let (w, h) = (one.width as f32, one.height as f32);
    let truth = Rgb {
        width: one.width,
        height: one.height,
        data: one.data.iter().map(|&v| v as f32 / 255.0).collect(),
    };
    let close = psnr(&truth, &merged.data, 255.0);
    eprintln!("phone_0006 ({w}×{h} crop): flat-area noise σ one frame {n1:.3}, merged {nm:.3} codes; merge vs reference {close:.2} dB");
    if let Some(out) = std::env::var_os("PHOTO_BURST_OUT") {
        merged
            .save(Path::new(&out).join("phone_0006_merged.png"))
            .unwrap();
        one.save(Path::new(&out).join("phone_0006_frame0.png"))
            .unwrap();
    }
    assert!(nm < 0.8 * n1, "merge noise {nm:.3} vs one frame {n1:.3}");
}

/// A 16-bit burst stays 16-bit; identical frames merge to themselves (within a quarter of an
/// 8-bit code); merged in bands (of 32 mosaic
/// rows, 16 photo rows) the result is the whole merge's, bit for bit.
#[test]
fn sixteen_bit_bursts_round_trip_and_banded_merges_match_whole() {
    let engine = engine();
    let photo = frame(&kodak("kodim23"), (0, 0));
    let img = Image {
        width: FW,
        height: FH,
        bits: 16,
        data: photo
            .data
            .iter()
            .map(|v| (v * 65535.0).round() as u16)
            .collect(),
        exif: Default::default(),
    };
    let burst = PhotoBurst::new(vec![img.clone(); 3]).unwrap();
    let whole = engine
        .merge_photos(&burst, &MergeOptions::default())
        .unwrap();
    assert_eq!(whole.bits, 16);
    let worst = img
        .data
        .iter()
        .zip(&whole.data)
        .map(|(a, b)| (a.abs_diff(*b), *a))
        .max()
        .unwrap();
    eprintln!(
        "16-bit identical frames: worst difference {} codes (at {})",
        worst.0, worst.1
    );
    // The merge's spatial denoising of the merged tiles and the linear u16 mosaic move dark
    // values by a few linear steps (measured 49 codes at code 1606): a quarter of an 8-bit code.
    assert!(worst.0 <= 64, "{worst:?}");
    let banded = MergeOptions {
        max_band_rows: Some(32),
        ..MergeOptions::default()
    };
    let noisy: Vec<Image> = (0..3u16)
        .map(|k| Image {
            data: img
                .data
                .iter()
                .enumerate()
                .map(|(i, &v)| v.saturating_add(((i as u16).wrapping_mul(7919) ^ k) % 2000))
                .collect(),
            ..img.clone()
        })
        .collect();
    let burst = PhotoBurst::new(noisy).unwrap();
    let a = engine
        .merge_photos(&burst, &MergeOptions::default())
        .unwrap();
    let b = engine.merge_photos(&burst, &banded).unwrap();
    assert!(a.data == b.data, "banded merge differs from the whole");
}
