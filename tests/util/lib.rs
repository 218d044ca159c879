//! Test utilities shared by the end-to-end and quality tests: real reference photos, mosaicing,
//! and image-quality measures.

use std::path::PathBuf;

use burstpipe::{Cfa, XTrans};

/// The repository's assets folder.
pub fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

/// A file of the shared real-camera data (`../shared/data/real/`, beside the repository, or under
/// `$BURSTPIPE_SHARED/data/real` for a checkout elsewhere: files whose licence keeps them out of
/// assets/). Panics, failing the test, when it is missing.
pub fn shared_real(rel: &str) -> PathBuf {
    let path = std::env::var_os("BURSTPIPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
        .join("data/real")
        .join(rel);
    assert!(
        path.exists(),
        "{} is missing: the real-camera test data lives in ../shared/data/real/ beside the repository",
        path.display()
    );
    path
}

/// Run a Python snippet (`python3 -c SCRIPT ARGS...`, for the peers: rawpy/LibRaw, numpy) and
/// parse the numbers it prints. Panics, failing the test, when Python or the module is missing.
pub fn python_numbers(script: &str, args: &[&std::ffi::OsStr]) -> Vec<f64> {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("python3 could not start ({e}): install Python 3 and `python3 -m pip install rawpy numpy`"));
    assert!(
        out.status.success(),
        "the Python peer failed (if rawpy is missing: python3 -m pip install rawpy numpy): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|s| {
            s.parse()
                .unwrap_or_else(|e| panic!("Python printed {s:?}: {e}"))
        })
        .collect()
}

/// An RGB photo with channels as f32 in [0, 1] (values as stored, sRGB-encoded).
pub struct Rgb {
    pub width: u32,
    pub height: u32,
    pub data: Vec<f32>,
}

/// Load `assets/kodak/<name>.png`.
pub fn kodak(name: &str) -> Rgb {
    load_rgb8(&assets().join("kodak").join(format!("{name}.png")))
}

/// Load `assets/photos2/<name>.png`: the second demosaicing set (see its README).
pub fn photo2(name: &str) -> Rgb {
    load_rgb8(&assets().join("photos2").join(format!("{name}.png")))
}

/// An 8-bit RGB image as [0, 1] floats.
fn load_rgb8(path: &std::path::Path) -> Rgb {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    Rgb {
        width: img.width(),
        height: img.height(),
        data: img.into_raw().iter().map(|&v| v as f32 / 255.0).collect(),
    }
}

/// The largest difference between two 16-bit images, in steps (banded vs whole and the like).
pub fn max_abs_diff(a: &[u16], b: &[u16]) -> u16 {
    assert_eq!(a.len(), b.len(), "images of different sizes");
    a.iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

/// Names of the second set's photos.
pub const PHOTOS2: [&str; 8] = [
    "astronaut",
    "chelsea",
    "coffee",
    "ihc",
    "rocket",
    "hubble",
    "gravel",
    "grass",
];

/// Names of the 24 Kodak photos.
pub fn kodak_names() -> Vec<String> {
    (1..=24).map(|i| format!("kodim{i:02}")).collect()
}

/// A colour filter layout: which colour (0 R, 1 G, 2 B) a sensor pixel sees.
pub trait Layout: Copy {
    fn color_at(self, x: usize, y: usize) -> usize;
}

impl Layout for Cfa {
    fn color_at(self, x: usize, y: usize) -> usize {
        Cfa::color_at(self, x, y)
    }
}

impl Layout for XTrans {
    fn color_at(self, x: usize, y: usize) -> usize {
        XTrans::color_at(self, x, y)
    }
}

/// Each pixel's value of the colour `layout` puts there, through `f`.
fn sample(img: &Rgb, layout: impl Layout, f: impl Fn(f32) -> u16) -> Vec<u16> {
    let w = img.width as usize;
    (0..w * img.height as usize)
        .map(|i| f(img.data[i * 3 + layout.color_at(i % w, i / w)]))
        .collect()
}

/// Sample each pixel's CFA (Bayer or X-Trans) colour, scaled to `max` (255 or 65535).
pub fn mosaic(img: &Rgb, layout: impl Layout, max: f32) -> Vec<u16> {
    sample(img, layout, |v| (v * max).round() as u16)
}

/// Colour PSNR (dB) of `test` (values on the 0..=`max` scale) against `truth`, with `border`
/// pixels excluded on each side: the usual demosaicing benchmark measure.
pub fn cpsnr(truth: &Rgb, test: &[u16], max: f32, border: u32) -> f64 {
    let (w, h) = (truth.width, truth.height);
    assert_eq!(test.len(), (w * h * 3) as usize);
    let mut se = 0.0f64;
    let mut n = 0u64;
    for y in border..h - border {
        for x in border..w - border {
            for c in 0..3 {
                let i = ((y * w + x) * 3 + c) as usize;
                let d = truth.data[i] as f64 - test[i] as f64 / max as f64;
                se += d * d;
                n += 1;
            }
        }
    }
    10.0 * (1.0 / (se / n as f64)).log10()
}

/// sRGB-encoded value → linear light.
pub fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// A photo as a 12-bit sensor (Bayer or X-Trans) would record it: linear light, black level
/// 256, white 4095.
pub fn sensor_mosaic(img: &Rgb, layout: impl Layout) -> Vec<u16> {
    sample(img, layout, |v| {
        (256.0 + srgb_to_linear(v) * 3839.0).round() as u16
    })
}

/// Colour cast on flat grey areas of the reference photo (pixels whose channels agree within
/// 1.5/255, mid-tones, with the same value ±3/255 two pixels away in every direction, so that
/// demosaicing at edges is not judged): the larger of |mean(R - G)| and |mean(B - G)| there
/// (0..1 scale), and how many pixels were judged.
pub fn cast_on_neutrals(truth: &Rgb, test: &[u16], max: f32) -> (f32, usize) {
    let (w, h) = (truth.width as usize, truth.height as usize);
    let at = |x: usize, y: usize, c: usize| truth.data[(y * w + x) * 3 + c];
    let (mut rg, mut bg, mut n) = (0.0f64, 0.0f64, 0usize);
    for y in 2..h - 2 {
        for x in 2..w - 2 {
            let g = at(x, y, 1);
            let neutral =
                (at(x, y, 0) - g).abs() < 1.5 / 255.0 && (at(x, y, 2) - g).abs() < 1.5 / 255.0;
            let flat = [(x - 2, y), (x + 2, y), (x, y - 2), (x, y + 2)]
                .iter()
                .all(|&(u, v)| (0..3).all(|c| (at(u, v, c) - g).abs() < 3.0 / 255.0));
            if neutral && flat && g > 0.2 && g < 0.8 {
                let o = &test[(y * w + x) * 3..(y * w + x) * 3 + 3];
                rg += (o[0] as f64 - o[1] as f64) / max as f64;
                bg += (o[2] as f64 - o[1] as f64) / max as f64;
                n += 1;
            }
        }
    }
    let n_f = n.max(1) as f64;
    (((rg / n_f).abs().max((bg / n_f).abs())) as f32, n)
}

/// PSNR (dB) over all pixels and channels, values on the 0..=`max` scale.
pub fn psnr(truth: &Rgb, test: &[u16], max: f32) -> f64 {
    cpsnr(truth, test, max, 0)
}

pub mod synth;

/// Colour PSNR (dB) over the pixels where `mask` is `inside` (and `border` px from the edges),
/// values of `test` on the 0..=`max` scale.
pub fn cpsnr_masked(
    truth: &Rgb,
    test: &[u16],
    max: f32,
    mask: &[bool],
    inside: bool,
    border: u32,
) -> f64 {
    let (w, h) = (truth.width, truth.height);
    let (mut se, mut n) = (0.0f64, 0u64);
    for y in border..h - border {
        for x in border..w - border {
            if mask[(y * w + x) as usize] != inside {
                continue;
            }
            for c in 0..3 {
                let i = ((y * w + x) * 3 + c) as usize;
                let d = truth.data[i] as f64 - test[i] as f64 / max as f64;
                se += d * d;
                n += 1;
            }
        }
    }
    10.0 * (1.0 / (se / n.max(1) as f64)).log10()
}
pub mod colorchecker;
pub mod fusion;
pub mod fuzz;

/// A `w`×`h` crop of a photo from (x0, y0).
pub fn crop(img: &Rgb, x0: u32, y0: u32, w: u32, h: u32) -> Rgb {
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in y0..y0 + h {
        let i = ((y * img.width + x0) * 3) as usize;
        data.extend_from_slice(&img.data[i..i + (w * 3) as usize]);
    }
    Rgb {
        width: w,
        height: h,
        data,
    }
}

/// A tall, narrow photo: two Kodak photos stood on end and stacked, `w`×1536. Merged in bands,
/// its frames are cropped above and below (the alignment's halo is some 230 gray rows, 460
/// sensor rows, on each side of a band), which a frame of ordinary proportions this small never
/// is — at the cost of a 0.25 MP burst.
pub fn tall_photo(w: u32) -> Rgb {
    let mut data = Vec::new();
    let mut height = 0;
    for name in ["kodim23", "kodim05"] {
        let img = kodak(name);
        // Transposed: the photo's columns become rows.
        for y in 0..img.width {
            for x in 0..w {
                let i = ((x * img.width + y) * 3) as usize;
                data.extend_from_slice(&img.data[i..i + 3]);
            }
        }
        height += img.width;
    }
    Rgb {
        width: w,
        height,
        data,
    }
}
