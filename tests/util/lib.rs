//! Test utilities shared by the end-to-end and quality tests: real reference photos, mosaicing,
//! and image-quality measures.

use std::path::PathBuf;

use burstpipe::Cfa;

/// The repository's assets folder.
pub fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

/// An RGB photo with channels as f32 in [0, 1] (values as stored, sRGB-encoded).
pub struct Rgb {
    pub width: u32,
    pub height: u32,
    pub data: Vec<f32>,
}

/// Load `assets/kodak/<name>.png`.
pub fn kodak(name: &str) -> Rgb {
    let path = assets().join("kodak").join(format!("{name}.png"));
    let img = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_rgb8();
    Rgb { width: img.width(), height: img.height(), data: img.into_raw().iter().map(|&v| v as f32 / 255.0).collect() }
}

/// Names of the 24 Kodak photos.
pub fn kodak_names() -> Vec<String> {
    (1..=24).map(|i| format!("kodim{i:02}")).collect()
}

/// Sample each pixel's CFA colour, scaled to `max` (255 or 65535).
pub fn mosaic(img: &Rgb, cfa: Cfa, max: f32) -> Vec<u16> {
    let w = img.width as usize;
    (0..w * img.height as usize)
        .map(|i| (img.data[i * 3 + cfa.color_at(i % w, i / w)] * max).round() as u16)
        .collect()
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
