//! The standard workload of `burstpipe bench`, made in memory from a real photo (kodim23, built
//! into the binary so the bench runs anywhere): a 12-bit RGGB burst of 8 frames with small
//! sub-pixel shifts and sensor noise (its first frame is the develop input), and a bracket of 3
//! exposures (−2, 0, +2 EV) for fusion.

use anyhow::{Context, Result};
use burstpipe::{Burst, Cfa, Exif, Frame, Image};
use rayon::prelude::*;

/// Frames of the merged burst.
pub const BURST_FRAMES: usize = 8;
/// Exposures of the fused bracket, in EV.
pub const BRACKET_EV: [f32; 3] = [-2.0, 0.0, 2.0];
/// The photo the workload is made from.
pub const SOURCE: &str = "kodim23";
const PHOTO: &[u8] = include_bytes!("../../../assets/kodak/kodim23.png");

/// Sensor levels (12-bit) and noise (variance = SCALE·x + OFFSET of the linear signal x: about
/// 2.8 % of white at mid-grey, a dim room; the tests' medium level).
const BLACK: f32 = 256.0;
const WHITE: f32 = 4095.0;
const NOISE_SCALE: f32 = 4e-3;
const NOISE_OFFSET: f32 = 4e-5;

/// Where each frame of the burst looks, in output pixels: hand-held shake of a few pixels.
const SHIFTS: [(f32, f32); BURST_FRAMES] = [
    (0.0, 0.0),
    (1.3, -0.7),
    (-2.1, 0.9),
    (0.6, 2.4),
    (-1.4, -1.8),
    (2.7, 1.1),
    (-0.3, -2.6),
    (1.9, -1.2),
];

/// Width and height of a `mp`-megapixel 4:3 frame, multiples of 16.
pub fn dims(mp: f64) -> (u32, u32) {
    let w = (((mp * 1e6 * 4.0 / 3.0).sqrt() / 16.0).round() as u32).max(4) * 16;
    let h = ((w as f64 * 0.75 / 16.0).round() as u32).max(3) * 16;
    (w, h)
}

/// The photo in linear light, sampled bilinearly at any size.
pub struct Scene {
    w: usize,
    h: usize,
    lin: Vec<[f32; 3]>,
}

fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn linear_to_srgb(v: f32) -> f32 {
    let v = v.clamp(0.0, 1.0);
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

impl Scene {
    pub fn load() -> Result<Scene> {
        let img = image::load_from_memory(PHOTO)
            .with_context(|| format!("decoding the built-in {SOURCE}.png"))?
            .to_rgb8();
        let lut: Vec<f32> = (0..256).map(|v| srgb_to_linear(v as f32 / 255.0)).collect();
        Ok(Scene {
            w: img.width() as usize,
            h: img.height() as usize,
            lin: img
                .pixels()
                .map(|p| [lut[p[0] as usize], lut[p[1] as usize], lut[p[2] as usize]])
                .collect(),
        })
    }

    /// One output row of a `w`×`h` view covering the photo (centre crop), shifted by `shift`
    /// output pixels, through `f(x, rgb)`.
    fn row(
        &self,
        (w, h): (u32, u32),
        y: u32,
        shift: (f32, f32),
        mut f: impl FnMut(usize, [f32; 3]),
    ) {
        let s = (self.w as f32 / w as f32).min(self.h as f32 / h as f32);
        let (ox, oy) = (
            (self.w as f32 - w as f32 * s) / 2.0,
            (self.h as f32 - h as f32 * s) / 2.0,
        );
        let v = ((y as f32 + 0.5 + shift.1) * s + oy - 0.5).clamp(0.0, (self.h - 1) as f32);
        let (y0, fy) = (v.floor() as usize, v.fract());
        let y1 = (y0 + 1).min(self.h - 1);
        for x in 0..w as usize {
            let u = ((x as f32 + 0.5 + shift.0) * s + ox - 0.5).clamp(0.0, (self.w - 1) as f32);
            let (x0, fx) = (u.floor() as usize, u.fract());
            let x1 = (x0 + 1).min(self.w - 1);
            let p = |xx: usize, yy: usize| self.lin[yy * self.w + xx];
            let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
            let mut rgb = [0.0f32; 3];
            for k in 0..3 {
                let top = a[k] + (b[k] - a[k]) * fx;
                let bottom = c[k] + (d[k] - c[k]) * fx;
                rgb[k] = top + (bottom - top) * fy;
            }
            f(x, rgb);
        }
    }

    /// The burst: frame k sees the scene shifted by `SHIFTS[k]`, mosaiced RGGB, with noise.
    pub fn burst(&self, dims: (u32, u32)) -> Result<Burst> {
        let frames = SHIFTS
            .iter()
            .enumerate()
            .map(|(k, &shift)| self.raw_frame(dims, shift, k as u64))
            .collect::<Result<Vec<_>>>()?;
        Ok(Burst::new(frames)?)
    }

    fn raw_frame(&self, (w, h): (u32, u32), shift: (f32, f32), seed: u64) -> Result<Frame> {
        let mut mosaic = vec![0u16; w as usize * h as usize];
        mosaic
            .par_chunks_mut(w as usize)
            .enumerate()
            .for_each(|(y, row)| {
                let mut rng = Rng(seed << 32 ^ y as u64);
                self.row((w, h), y as u32, shift, |x, rgb| {
                    let c = Cfa::Rggb.color_at(x, y);
                    let v = rgb[c];
                    let noisy = v + (NOISE_SCALE * v + NOISE_OFFSET).sqrt() * rng.normal();
                    row[x] = (BLACK + noisy * (WHITE - BLACK)).round().clamp(0.0, 4095.0) as u16;
                });
            });
        Ok(Frame::from_mosaic(w, h, mosaic, Cfa::Rggb, BLACK, WHITE)?)
    }

    /// The bracket: the clean scene at each of `BRACKET_EV`, 16-bit sRGB.
    pub fn bracket(&self, (w, h): (u32, u32)) -> Vec<Image> {
        BRACKET_EV
            .iter()
            .map(|&ev| {
                let gain = ev.exp2();
                let mut data = vec![0u16; w as usize * h as usize * 3];
                data.par_chunks_mut(w as usize * 3)
                    .enumerate()
                    .for_each(|(y, row)| {
                        self.row((w, h), y as u32, (0.0, 0.0), |x, rgb| {
                            for k in 0..3 {
                                row[x * 3 + k] =
                                    (linear_to_srgb(rgb[k] * gain) * 65535.0).round() as u16;
                            }
                        })
                    });
                Image {
                    width: w,
                    height: h,
                    bits: 16,
                    data,
                    exif: Exif::default(),
                }
            })
            .collect()
    }
}

/// SplitMix64 with Box-Muller normals: fast, and the same noise on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f32 {
        ((self.next() >> 40) as f32 + 0.5) / (1u64 << 24) as f32
    }
    fn normal(&mut self) -> f32 {
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_4_by_3_multiples_of_16_close_to_the_megapixels_asked() {
        for mp in [0.5, 1.0, 12.0, 48.0] {
            let (w, h) = dims(mp);
            assert_eq!((w % 16, h % 16), (0, 0));
            let got = w as f64 * h as f64 / 1e6;
            assert!((got / mp - 1.0).abs() < 0.05, "{mp} MP → {w}×{h}");
        }
        assert_eq!(dims(12.0), (4000, 3008));
    }

    #[test]
    fn burst_frames_are_shifted_noisy_views_of_the_photo() {
        let scene = Scene::load().unwrap();
        let burst = scene.burst((128, 96)).unwrap();
        assert_eq!(burst.len(), BURST_FRAMES);
        let f = burst.frames();
        // Noise: the frames differ, but not by more than noise and a few pixels of shift do.
        let (a, b) = (f[0].mosaic(), f[1].mosaic());
        let mean_diff = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (x as f64 - y as f64).abs())
            .sum::<f64>()
            / a.len() as f64;
        assert!(mean_diff > 5.0 && mean_diff < 600.0, "{mean_diff}");
        assert!(a.iter().all(|&v| v <= 4095));
        let bracket = scene.bracket((128, 96));
        let mean = |i: &Image| i.data.iter().map(|&v| v as f64).sum::<f64>() / i.data.len() as f64;
        assert!(mean(&bracket[0]) < mean(&bracket[1]) && mean(&bracket[1]) < mean(&bracket[2]));
    }
}
