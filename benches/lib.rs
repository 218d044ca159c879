//! Benchmark helpers for burstpipe: a realistic 12 MP test mosaic made from a Kodak photo, timing
//! (warm-up + median of N) and image comparison.

use std::path::Path;
use std::time::Instant;

use image::imageops::{self, FilterType};
use image::{ImageBuffer, Luma, Rgb};

/// A 16-bit linear RGB image, the ground truth a mosaic was sampled from.
pub type Rgb16 = ImageBuffer<Rgb<u16>, Vec<u16>>;

/// sRGB-encoded [0, 1] → linear light.
fn srgb_to_linear(v: f32) -> f32 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Upscale a photo to cover `width`×`height` (Catmull-Rom), crop the centre, and convert it to
/// linear light on a 16-bit scale (black 0, white 65535): what a clean sensor would have seen.
pub fn linear_photo(path: &Path, width: u32, height: u32) -> Result<Rgb16, image::ImageError> {
    let src = image::open(path)?.into_rgb16();
    let scale = (width as f64 / src.width() as f64).max(height as f64 / src.height() as f64);
    let (sw, sh) = (
        ((src.width() as f64 * scale).ceil() as u32).max(width),
        ((src.height() as f64 * scale).ceil() as u32).max(height),
    );
    let big = imageops::resize(&src, sw, sh, FilterType::CatmullRom);
    let (x0, y0) = ((sw - width) / 2, (sh - height) / 2);
    let mut out = imageops::crop_imm(&big, x0, y0, width, height).to_image();
    let lut: Vec<u16> = (0..=65535u32)
        .map(|v| (srgb_to_linear(v as f32 / 65535.0) * 65535.0).round() as u16)
        .collect();
    for v in out.iter_mut() {
        *v = lut[*v as usize];
    }
    Ok(out)
}

/// Sample an RGB image through an RGGB colour filter array: one value per pixel.
pub fn mosaic_rggb(rgb: &Rgb16) -> Vec<u16> {
    let (w, h) = rgb.dimensions();
    let mut m = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        for x in 0..w {
            // R G / G B: colour index = (y&1) + (x&1).
            let c = ((y & 1) + (x & 1)) as usize;
            m.push(rgb.get_pixel(x, y).0[c]);
        }
    }
    m
}

/// Save a mosaic as a single-channel 16-bit PNG (readable by `cv2.imread(..., IMREAD_UNCHANGED)`
/// and by `Frame::open_mosaic_image`).
pub fn save_mosaic_png(
    path: &Path,
    width: u32,
    height: u32,
    mosaic: &[u16],
) -> Result<(), image::ImageError> {
    let img: ImageBuffer<Luma<u16>, Vec<u16>> =
        ImageBuffer::from_raw(width, height, mosaic.to_vec()).expect("mosaic matches its size");
    img.save(path)
}

/// PSNR in dB of `a` against `b` (interleaved RGB u16 on the same 16-bit scale), ignoring a
/// `border`-pixel frame where demosaicers differ only in how they extend the edges.
pub fn psnr16(a: &[u16], b: &[u16], width: u32, height: u32, border: u32) -> f64 {
    let (w, h, b0) = (width as usize, height as usize, border as usize);
    let mut se = 0.0f64;
    let mut n = 0u64;
    for y in b0..h - b0 {
        let row = y * w * 3;
        for i in row + b0 * 3..row + (w - b0) * 3 {
            let d = a[i] as f64 - b[i] as f64;
            se += d * d;
            n += 1;
        }
    }
    let mse = se / n.max(1) as f64;
    10.0 * (65535.0f64 * 65535.0 / mse.max(1e-12)).log10()
}

/// Times of repeated runs of one piece of work, in milliseconds.
#[derive(Debug, Clone)]
pub struct Timing {
    pub samples_ms: Vec<f64>,
}

impl Timing {
    pub fn median(&self) -> f64 {
        let mut s = self.samples_ms.clone();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            s[n / 2]
        } else {
            0.5 * (s[n / 2 - 1] + s[n / 2])
        }
    }
    pub fn min(&self) -> f64 {
        self.samples_ms
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
    }
}

/// Run `f` `warmup` times untimed, then `runs` times timed (wall clock).
pub fn time<T>(warmup: usize, runs: usize, mut f: impl FnMut() -> T) -> Timing {
    for _ in 0..warmup {
        std::hint::black_box(f());
    }
    let samples_ms = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    Timing { samples_ms }
}

/// The process exit of a bench binary: errors printed with the binary's name.
pub fn exit(name: &str, result: Result<(), String>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `--size WxH` for clap: width and height in pixels.
pub fn parse_size(v: &str) -> Result<(u32, u32), String> {
    v.split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .filter(|&(w, h)| w > 0 && h > 0)
        .ok_or(format!("{v}: expected WxH, e.g. 4032x3024"))
}

/// Print the JSON rows after the table, and write them to `json` when given.
pub fn emit_rows(rows: &str, json: Option<&Path>) -> Result<(), String> {
    println!();
    print!("{rows}");
    match json {
        Some(path) => std::fs::write(path, rows).map_err(|e| format!("{}: {e}", path.display())),
        None => Ok(()),
    }
}
