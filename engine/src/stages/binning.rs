//! Binning: same-colour means of a normalized f32 mosaic, on the GPU (`shaders/binning.wgsl`).
//! A binned frame has 1/f the resolution and, in shot-noise-limited light, √(f²) = f times the SNR
//! (6 dB for 2×2); in float there is no integer overflow and no rounding, and the mean keeps the
//! normalized scale (black 0, white 1), so black/white levels and white balance carry over.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{self, Gpu};
use crate::raw::Cfa;

/// Pixel binning before alignment and demosaicing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Binning {
    /// Full resolution.
    #[default]
    Off,
    /// 2×2 same-colour mean of a Bayer mosaic: a half-resolution Bayer mosaic, same CFA phase.
    Bayer2,
    /// 3×3 same-colour mean: a third-resolution Bayer mosaic, same CFA phase.
    Bayer3,
    /// Each 2×2 Bayer quad straight to one RGB pixel (no demosaicing): half resolution.
    Superpixel,
}

impl Binning {
    /// Parse "off"/"1", "2", "3" or "superpixel".
    pub fn parse(s: &str) -> Option<Binning> {
        match s.to_ascii_lowercase().as_str() {
            "off" | "none" | "1" => Some(Binning::Off),
            "2" => Some(Binning::Bayer2),
            "3" => Some(Binning::Bayer3),
            "superpixel" => Some(Binning::Superpixel),
            _ => None,
        }
    }
}

/// What a binning kernel does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Bayer → Bayer, f×f same-colour pixels per output pixel.
    Bayer(u32),
    /// f×f same-colour blocks (Quad Bayer f = 2, Nonacell f = 3) → Bayer: what develop does to
    /// frames whose DNG has a 4×4 / 6×6 block CFA.
    Blocks(u32),
    /// Bayer quad → RGB.
    Superpixel,
}

impl Mode {
    pub fn of(binning: Binning) -> Option<Mode> {
        match binning {
            Binning::Off => None,
            Binning::Bayer2 => Some(Mode::Bayer(2)),
            Binning::Bayer3 => Some(Mode::Bayer(3)),
            Binning::Superpixel => Some(Mode::Superpixel),
        }
    }

    fn factor(self) -> u32 {
        match self {
            Mode::Bayer(f) | Mode::Blocks(f) => f,
            Mode::Superpixel => 2,
        }
    }

    /// Input rows (and columns) one output row pair (Bayer) or row (otherwise) consumes: band
    /// starts must be multiples of this so that every band bins whole blocks.
    pub fn input_block(self) -> u32 {
        match self {
            Mode::Bayer(f) => 2 * f,
            Mode::Blocks(f) => f,
            Mode::Superpixel => 2,
        }
    }

    /// Output rows per input block.
    pub fn output_block(self) -> u32 {
        match self {
            Mode::Bayer(_) => 2,
            Mode::Blocks(_) | Mode::Superpixel => 1,
        }
    }

    /// Binned size: whole blocks only (a partial block at the right/bottom edge is cropped, as
    /// binning sensors do), so a Bayer output is still made of whole 2×2 quads.
    pub fn output_size(self, width: u32, height: u32) -> (u32, u32) {
        let (i, o) = (self.input_block(), self.output_block());
        (width / i * o, height / i * o)
    }

    fn entry(self) -> &'static str {
        match self {
            Mode::Bayer(_) => "bin_bayer",
            Mode::Blocks(_) => "bin_blocks",
            Mode::Superpixel => "bin_superpixel",
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub in_width: u32,
    pub in_rows: u32,
    pub in_y0: u32,
    pub factor: u32,
    pub out_width: u32,
    pub out_rows: u32,
    pub out_y0: u32,
    pub cfa: u32,
}

impl Params {
    /// Input holds image rows `in_y0 .. in_y0 + in_rows` (`in_y0` a multiple of the mode's input
    /// block); produce binned rows `out_y0 .. out_y0 + out_rows`.
    pub fn new(
        mode: Mode,
        width: u32,
        cfa: Cfa,
        in_y0: u32,
        in_rows: u32,
        out_y0: u32,
        out_rows: u32,
    ) -> Params {
        Params {
            in_width: width,
            in_rows,
            in_y0,
            factor: mode.factor(),
            out_width: mode.output_size(width, 0).0,
            out_rows,
            out_y0,
            cfa: cfa.packed(),
        }
    }
}

/// Record one kernel: `mosaic` (f32 band) → `out` (whole binned image: f32, or f16 RGBA for
/// superpixel).
pub(crate) fn record(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &Params,
    mode: Mode,
    mosaic: &wgpu::Buffer,
    out: &wgpu::Buffer,
) {
    let params = gpu.uniform(p);
    let groups = (gpu::groups(p.out_width, 16), gpu::groups(p.out_rows, 16));
    gpu.dispatch(
        enc,
        &gpu::BINNING,
        mode.entry(),
        &params,
        &[mosaic, out],
        groups,
    );
}

/// CPU reference for the mosaic modes: the produced rows, `out_rows × out_width`.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, mode: Mode, mosaic: &[f32]) -> Vec<f32> {
    let input = |x: u32, y: u32| mosaic[((y - p.in_y0) * p.in_width + x) as usize];
    let f = p.factor;
    let mut out = Vec::with_capacity((p.out_width * p.out_rows) as usize);
    for oy in 0..p.out_rows {
        let y = p.out_y0 + oy;
        for x in 0..p.out_width {
            let mut sum = 0.0f32;
            for j in 0..f {
                for i in 0..f {
                    sum += match mode {
                        Mode::Bayer(_) => input(
                            (x >> 1) * 2 * f + (x & 1) + 2 * i,
                            (y >> 1) * 2 * f + (y & 1) + 2 * j,
                        ),
                        Mode::Blocks(_) => input(x * f + i, y * f + j),
                        Mode::Superpixel => unreachable!("see reference_superpixel"),
                    };
                }
            }
            out.push(sum / (f * f) as f32);
        }
    }
    out
}

/// CPU reference for superpixel: the produced rows as RGB.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference_superpixel(p: &Params, mosaic: &[f32]) -> Vec<[f32; 3]> {
    let input = |x: u32, y: u32| mosaic[((y - p.in_y0) * p.in_width + x) as usize];
    let mut out = Vec::new();
    for oy in 0..p.out_rows {
        let y = p.out_y0 + oy;
        for x in 0..p.out_width {
            let mut rgb = [0.0f32; 3];
            for k in 0..4 {
                let c = (p.cfa >> (k * 2) & 3) as usize;
                let weight = if c == 1 { 0.5 } else { 1.0 };
                rgb[c] += weight * input(x * 2 + (k & 1), y * 2 + (k >> 1));
            }
            out.push(rgb);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::testing::{kodak, max_abs_diff, Rng};
    use crate::stages::{unpack_rgb, RGBA16F_BYTES};

    /// Run a band through the kernel; returns the whole binned buffer's produced rows.
    fn run_gpu(p: &Params, mode: Mode, mosaic: &[f32], out_height: u32) -> Vec<u32> {
        let gpu = gpu();
        let input = gpu.storage_init("mosaic", bytemuck::cast_slice(mosaic));
        let px = (p.out_width * out_height) as u64;
        let bytes = if mode == Mode::Superpixel {
            px * RGBA16F_BYTES
        } else {
            px * 4
        };
        let out = gpu.storage("binned", bytes);
        gpu.run("binning", |enc| record(gpu, enc, p, mode, &input, &out))
            .unwrap();
        let words: Vec<u32> =
            bytemuck::cast_slice(&gpu.read("binning", &out, bytes).unwrap()).to_vec();
        let per_px = if mode == Mode::Superpixel { 2 } else { 1 };
        let row = (p.out_width * per_px) as usize;
        words[p.out_y0 as usize * row..(p.out_y0 + p.out_rows) as usize * row].to_vec()
    }

    fn floats(words: &[u32]) -> Vec<f32> {
        words.iter().map(|&w| f32::from_bits(w)).collect()
    }

    #[test]
    fn gpu_matches_reference_all_modes_phases_and_a_band() {
        let mut rng = Rng::new(21);
        let (w, h) = (50u32, 38u32);
        let mosaic: Vec<f32> = (0..w * h).map(|_| rng.unit()).collect();
        for cfa in Cfa::ALL {
            for mode in [
                Mode::Bayer(2),
                Mode::Bayer(3),
                Mode::Blocks(2),
                Mode::Blocks(3),
                Mode::Superpixel,
            ] {
                let (ow, oh) = mode.output_size(w, h);
                // The whole image, then a band starting at the second input block.
                let b = mode.input_block();
                let whole = Params::new(mode, w, cfa, 0, h, 0, oh);
                assert_eq!(whole.out_width, ow);
                let band_rows = 2 * b;
                let band = Params::new(
                    mode,
                    w,
                    cfa,
                    b,
                    band_rows,
                    mode.output_block(),
                    2 * mode.output_block(),
                );
                let band_input = &mosaic[(b * w) as usize..((b + band_rows) * w) as usize];
                for (p, input) in [(whole, &mosaic[..]), (band, band_input)] {
                    let got = run_gpu(&p, mode, input, oh);
                    if mode == Mode::Superpixel {
                        let rgb: Vec<[f32; 3]> =
                            got.chunks(2).map(|w| unpack_rgb([w[0], w[1]])).collect();
                        let diff = max_abs_diff(
                            rgb.as_flattened(),
                            reference_superpixel(&p, input).as_flattened(),
                        );
                        assert!(diff < 1e-3, "{mode:?} {cfa:?}: {diff}");
                    } else {
                        let diff = max_abs_diff(&floats(&got), &reference(&p, mode, input));
                        assert!(diff < 1e-6, "{mode:?} {cfa:?}: {diff}");
                    }
                }
            }
        }
    }

    /// Flat patches of a real photo under Poisson-Gaussian noise (variance a·x + b with read noise
    /// well below shot noise): 2×2 binning averages 4 independent samples, +6.02 dB of SNR, and
    /// keeps the mean. Measured per CFA colour on the binned mosaic, on the GPU.
    #[test]
    fn bayer_2x2_binning_gains_6_db_snr_and_keeps_the_mean_on_real_flat_patches() {
        let (w, h, px) = kodak("kodim03");
        // The flattest 32×32 patches (smallest spread of the clean green), a real photo's levels.
        let side = 32u32;
        let mut patches: Vec<(f32, u32, u32)> = Vec::new();
        for py in (0..h - side).step_by(side as usize) {
            for px0 in (0..w - side).step_by(side as usize) {
                let g: Vec<f32> = (0..side * side)
                    .map(|k| px[((py + k / side) * w + px0 + k % side) as usize][1])
                    .collect();
                let mean = g.iter().sum::<f32>() / g.len() as f32;
                let sd =
                    (g.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / g.len() as f32).sqrt();
                if mean > 0.05 {
                    patches.push((sd / mean, px0, py));
                }
            }
        }
        patches.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (a, b) = (4e-3f32, 4e-6f32);
        let mut rng = Rng::new(5);
        let mut gauss = move || {
            // Box-Muller on the xorshift generator.
            let (u1, u2) = (rng.unit().max(1e-7), rng.unit());
            (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
        };
        let cfa = Cfa::Rggb;
        let mode = Mode::Bayer(2);
        let mut gains = Vec::new();
        for &(_, x0, y0) in patches.iter().take(4) {
            // Each patch: its clean per-colour mean, many noisy copies (a flat field per colour).
            let n = 64u32;
            let clean: Vec<f32> = (0..side * side)
                .map(|k| {
                    px[((y0 + k / side) * w + x0 + k % side) as usize]
                        [cfa.color_at((k % side) as usize, (k / side) as usize)]
                })
                .collect();
            let level = |c: usize| {
                let v: Vec<f32> = (0..side * side)
                    .filter(|&k| cfa.color_at((k % side) as usize, (k / side) as usize) == c)
                    .map(|k| clean[k as usize])
                    .collect();
                v.iter().sum::<f32>() / v.len() as f32
            };
            let levels = [level(0), level(1), level(2)];
            let noisy: Vec<f32> = (0..side * n * side)
                .map(|k| {
                    let (x, y) = ((k % side) as usize, (k / side) as usize);
                    let s = levels[cfa.color_at(x, y)];
                    s + (a * s + b).sqrt() * gauss()
                })
                .collect();
            let rows = side * n;
            let (ow, oh) = mode.output_size(side, rows);
            let p = Params::new(mode, side, cfa, 0, rows, 0, oh);
            let binned = floats(&run_gpu(&p, mode, &noisy, oh));
            for c in 0..3 {
                let stats = |v: &[f32]| {
                    let m = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
                    let var =
                        v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / v.len() as f64;
                    (m, var)
                };
                let before: Vec<f32> = (0..side * rows)
                    .filter(|&k| cfa.color_at((k % side) as usize, (k / side) as usize) == c)
                    .map(|k| noisy[k as usize])
                    .collect();
                let after: Vec<f32> = (0..ow * oh)
                    .filter(|&k| cfa.color_at((k % ow) as usize, (k / ow) as usize) == c)
                    .map(|k| binned[k as usize])
                    .collect();
                let ((m0, v0), (m1, v1)) = (stats(&before), stats(&after));
                let gain = 10.0 * ((m1 * m1 / v1) / (m0 * m0 / v0)).log10();
                assert!((m1 - m0).abs() < 1e-3 * m0.max(0.01), "mean {m0} → {m1}");
                assert!(
                    (gain - 6.0).abs() < 0.5,
                    "SNR gain {gain:.2} dB (colour {c})"
                );
                gains.push(gain);
            }
        }
        eprintln!("2×2 binning SNR gains: {gains:.2?} dB");
    }

    #[test]
    fn binned_bayer_keeps_cfa_phase_and_quad_bayer_bins_to_bayer() {
        let levels = [0.1f32, 0.5, 0.9];
        for cfa in Cfa::ALL {
            let (w, h) = (24u32, 18u32);
            // A flat colour per CFA site: the binned mosaic must hold the same colours, same phase.
            let bayer: Vec<f32> = (0..w * h)
                .map(|k| levels[cfa.color_at((k % w) as usize, (k / w) as usize)])
                .collect();
            // Quad Bayer / Nonacell: the same pattern with every site f×f pixels large.
            for mode in [
                Mode::Bayer(2),
                Mode::Bayer(3),
                Mode::Blocks(2),
                Mode::Blocks(3),
            ] {
                let input: Vec<f32> = match mode {
                    Mode::Blocks(f) => (0..w * h)
                        .map(|k| levels[cfa.color_at((k % w / f) as usize, (k / w / f) as usize)])
                        .collect(),
                    _ => bayer.clone(),
                };
                let (ow, oh) = mode.output_size(w, h);
                let p = Params::new(mode, w, cfa, 0, h, 0, oh);
                let got = floats(&run_gpu(&p, mode, &input, oh));
                for (k, v) in got.iter().enumerate() {
                    let want = levels[cfa.color_at(k % ow as usize, k / ow as usize)];
                    assert!(
                        (v - want).abs() < 1e-6,
                        "{mode:?} {cfa:?} at {k}: {v} vs {want}"
                    );
                }
            }
        }
    }
}
