//! Exposure-fusion test utilities: brackets, the MEF-SSIM quality index, and tone measures.

use burstpipe::{Exif, Image};

use crate::{assets, srgb_to_linear, Rgb};

/// Load an 8/16-bit RGB image file as values in [0, 1].
pub fn load(path: &std::path::Path) -> Rgb {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb16();
    Rgb {
        width: img.width(),
        height: img.height(),
        data: img.into_raw().iter().map(|&v| v as f32 / 65535.0).collect(),
    }
}

/// The stored bracket `assets/fusion/<name>-ev{-2,+0,+2}.png` (made from a Kodak photo by
/// benches/fusion/make_references.py: linear light × 2^EV, clipped, sRGB-encoded, 8-bit), darkest
/// first, with the paths.
pub fn stored_bracket(name: &str) -> Vec<std::path::PathBuf> {
    ["-2", "+0", "+2"]
        .iter()
        .map(|ev| assets().join("fusion").join(format!("{name}-ev{ev}.png")))
        .collect()
}

/// Values in [0, 1] from an 8/16-bit image's data.
pub fn unit(data: &[u16], bits: u8) -> Vec<f32> {
    let max = ((1u32 << bits) - 1) as f32;
    data.iter().map(|&v| v as f32 / max).collect()
}

/// Luma on the 0..255 scale, as MATLAB's rgb2gray (Rec.601) computes it.
fn grey255(rgb: &[f32]) -> Vec<f64> {
    rgb.chunks(3)
        .map(|c| 255.0 * (0.2989 * c[0] as f64 + 0.5870 * c[1] as f64 + 0.1140 * c[2] as f64))
        .collect()
}

/// One scale of MEF-SSIM: the mean over every 11×11 patch of the structural similarity between the
/// fused patch and the ideal patch made from the exposures' patches.
fn mef_ssim_scale(w: usize, h: usize, seq: &[Vec<f64>], fused: &[f64]) -> f64 {
    const R: usize = 5; // 11×11 patches
    const P: f64 = 4.0; // structure weights ‖x̃‖^p (Ma et al. use p = 4)
    let c2 = (0.03f64 * 255.0).powi(2);
    let g: Vec<f64> = (0..=2 * R)
        .map(|i| (-((i as f64 - R as f64).powi(2)) / (2.0 * 1.5 * 1.5)).exp())
        .collect();
    let gsum: f64 = g.iter().sum::<f64>().powi(2);
    let n = (2 * R + 1) * (2 * R + 1);
    let (mut total, mut count) = (0.0, 0usize);
    let mut xt = vec![vec![0.0; n]; seq.len()];
    let mut s_bar = vec![0.0; n];
    for y in R..h - R {
        for x in R..w - R {
            // Each exposure's patch without its mean: signal strength c_k = ‖x̃_k‖, structure x̃_k/c_k.
            let mut c_max = 0.0f64;
            s_bar.iter_mut().for_each(|v| *v = 0.0);
            for (k, img) in seq.iter().enumerate() {
                let mut i = 0;
                let mut mean = 0.0;
                for v in y - R..=y + R {
                    for u in x - R..=x + R {
                        xt[k][i] = img[v * w + u];
                        mean += xt[k][i];
                        i += 1;
                    }
                }
                mean /= n as f64;
                let mut norm2 = 0.0;
                for t in xt[k].iter_mut() {
                    *t -= mean;
                    norm2 += *t * *t;
                }
                let c = norm2.sqrt();
                c_max = c_max.max(c);
                // Weight ‖x̃‖^p on the structure x̃/‖x̃‖: ‖x̃‖^(p-1) on x̃ itself.
                let wk = c.powf(P - 1.0);
                for (s, t) in s_bar.iter_mut().zip(&xt[k]) {
                    *s += wk * t;
                }
            }
            // Ideal patch: the largest contrast with the weighted structure.
            let s_norm = s_bar.iter().map(|v| v * v).sum::<f64>().sqrt();
            let scale = if s_norm > 0.0 { c_max / s_norm } else { 0.0 };
            // Gaussian-weighted variances and covariance of ideal and fused patches.
            let (mut mx, mut my, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
            let mut i = 0;
            for (a, v) in (y - R..=y + R).enumerate() {
                for (b, u) in (x - R..=x + R).enumerate() {
                    let wt = g[a] * g[b] / gsum;
                    let xv = s_bar[i] * scale;
                    let yv = fused[v * w + u];
                    mx += wt * xv;
                    my += wt * yv;
                    sxx += wt * xv * xv;
                    syy += wt * yv * yv;
                    sxy += wt * xv * yv;
                    i += 1;
                }
            }
            let (vx, vy, cxy) = (sxx - mx * mx, syy - my * my, sxy - mx * my);
            total += (2.0 * cxy + c2) / (vx + vy + c2);
            count += 1;
        }
    }
    total / count as f64
}

/// 2×2 box average, then every other pixel (MEF-SSIM's down-sampling between scales).
fn halve(w: usize, h: usize, img: &[f64]) -> Vec<f64> {
    let (w2, h2) = (w / 2, h / 2);
    let mut out = Vec::with_capacity(w2 * h2);
    for y in 0..h2 {
        for x in 0..w2 {
            let at = |u: usize, v: usize| img[v * w + u];
            out.push(
                (at(2 * x, 2 * y)
                    + at(2 * x + 1, 2 * y)
                    + at(2 * x, 2 * y + 1)
                    + at(2 * x + 1, 2 * y + 1))
                    / 4.0,
            );
        }
    }
    out
}

/// MEF-SSIM (Ma, Zeng & Wang, "Perceptual quality assessment for multi-exposure image fusion",
/// IEEE TIP 2015) of `fused` for the exposures `seq` (RGB values in [0, 1], all `w`×`h`), in
/// [0, 1], higher is better. Luma on 0..255; per 11×11 patch, each exposure's patch is split into
/// signal strength ‖x̃‖ and structure x̃/‖x̃‖; the ideal patch has the largest strength and the
/// structures averaged with weights ‖x̃‖^4; its SSIM structure/contrast term with the fused patch
/// (Gaussian window σ = 1.5, C2 = (0.03·255)²) is averaged over the image; three scales (2×2 box
/// down-sampling) are combined as Π Q_l^β_l, β ∝ (0.0448, 0.2856, 0.3001).
pub fn mef_ssim(w: u32, h: u32, seq: &[&[f32]], fused: &[f32]) -> f64 {
    let beta = [0.0448, 0.2856, 0.3001];
    let bsum: f64 = beta.iter().sum();
    let (mut w, mut h) = (w as usize, h as usize);
    let mut seq: Vec<Vec<f64>> = seq.iter().map(|s| grey255(s)).collect();
    let mut fused = grey255(fused);
    let mut q = 1.0;
    for (l, b) in beta.iter().enumerate() {
        q *= mef_ssim_scale(w, h, &seq, &fused).powf(b / bsum);
        if l + 1 < beta.len() {
            seq = seq.iter().map(|s| halve(w, h, s)).collect();
            fused = halve(w, h, &fused);
            (w, h) = (w / 2, h / 2);
        }
    }
    q
}

/// PSNR (dB) between two images with values in [0, 1].
pub fn psnr_unit(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let se: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    10.0 * (a.len() as f64 / se).log10()
}

/// A real photo bracketed at `ev` (linear light × 2^ev, clipped, sRGB-encoded), values in [0, 1].
pub fn expose(img: &Rgb, ev: f32) -> Rgb {
    let oetf = |x: f32| {
        if x <= 0.0031308 {
            12.92 * x
        } else {
            1.055 * x.powf(1.0 / 2.4) - 0.055
        }
    };
    Rgb {
        width: img.width,
        height: img.height,
        data: img
            .data
            .iter()
            .map(|&v| oetf((srgb_to_linear(v) * ev.exp2()).clamp(0.0, 1.0)))
            .collect(),
    }
}

fn oetf_srgb(x: f32) -> f32 {
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

/// One exposure of a handheld bracket as a camera writes it: the photo's linear light seen through a `size` window at
/// `origin` + `shift` (resampled with Lanczos-3, a different filter from the warp's), × 2^ev,
/// clipped, sRGB-encoded, 8-bit; EXIF exposure time 2^ev / 100 s when `exif`.
pub fn shaken_exposure(
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
                let v = oetf_srgb((acc * ev.exp2()).clamp(0.0, 1.0));
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
