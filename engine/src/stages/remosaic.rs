//! Remosaic: a Quad Bayer (2×2 same-colour blocks, 4×4 repeat) or Nonacell (3×3 blocks, 6×6
//! repeat) mosaic → a full-resolution standard Bayer mosaic of the same phase, which the normal
//! demosaic then takes (`--remosaic`; the default bins the blocks instead). Two passes,
//! `shaders/remosaic.wgsl`:
//!
//! 1. `remosaic_green`: green everywhere. Green is half the pixels in both layouts and every red or
//!    blue block touches green blocks on its four sides, so each missing green is interpolated
//!    along both axes from the nearest greens (at most one block away), and the axes are blended by
//!    inverse gradients. A gradient adds the step between those greens to steps between pixels one
//!    CFA period (2·block) apart — same colour whatever the position — on three lines: the block
//!    pattern has no same-colour neighbour pairs a short step apart in every direction, the period
//!    does.
//! 2. `remosaic_bayer`: the sensor's sample where the Bayer colour matches it, green from pass 1,
//!    otherwise green plus the colour difference (C − G) of that colour's pixels within
//!    2·block − 1 (inverse squared distance, times the inverse green difference, so that colour
//!    stays on its side of an edge). Colour differences are smooth where green carries the detail,
//!    which is why this beats interpolating the colour itself.
//!
//! Reads outside the image or band step back by whole periods (the colour is kept); the rows a
//! band edge spoils stay inside [`HALO`].

use bytemuck::{Pod, Zeroable};

use crate::gpu::{self, Gpu};
use crate::raw::Cfa;

/// Rows of context each side for block side 3 (the wider one): green reads a block away, the
/// Bayer pass 2·block − 1 further.
pub(crate) const HALO: u32 = 9;
const GROUP: u32 = 16;
/// Guards the inverse-gradient weights (values are on a [0, 1] scale).
const EPS: f32 = 1e-4;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub width: u32,
    pub rows: u32,
    pub y0: u32,
    pub height: u32,
    pub block: u32,
    pub cfa: u32,
    pub _pad: [u32; 2],
}

impl Params {
    /// The band holds image rows `y0 .. y0 + rows` of a `width × height` block mosaic.
    pub fn new(width: u32, height: u32, block: u32, cfa: Cfa, y0: u32, rows: u32) -> Params {
        Params {
            width,
            rows,
            y0,
            height,
            block,
            cfa: cfa.packed(),
            _pad: [0; 2],
        }
    }
}

/// Record both passes: `mosaic` (band, f32 normalized) → `bayer` (band, f32).
pub(crate) fn record(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &Params,
    mosaic: &wgpu::Buffer,
    bayer: &wgpu::Buffer,
) {
    let params = gpu.uniform(p);
    let green = gpu.storage("remosaic green", (p.width * p.rows) as u64 * 4);
    let groups = (gpu::groups(p.width, GROUP), gpu::groups(p.rows, GROUP));
    let k = &gpu::REMOSAIC;
    gpu.dispatch(enc, k, "remosaic_green", &params, &[mosaic, &green], groups);
    gpu.dispatch(
        enc,
        k,
        "remosaic_bayer",
        &params,
        &[mosaic, &green, bayer],
        groups,
    );
}

/// `v` moved into `[lo, hi)` by whole periods (same CFA colour).
fn wrap(v: i64, lo: i64, hi: i64, period: i64) -> i64 {
    let mut r = v;
    if r < lo {
        r += (lo - r + period - 1) / period * period;
    }
    if r >= hi {
        r -= ((r - hi) / period + 1) * period;
    }
    r
}

/// A band plane read with the shader's wrapping.
struct Plane<'a> {
    p: &'a Params,
    data: &'a [f32],
}

impl Plane<'_> {
    fn index(&self, x: i64, y: i64) -> usize {
        let p = self.p;
        let period = 2 * p.block as i64;
        let gx = wrap(x, 0, p.width as i64, period);
        let gy = wrap(y, p.y0 as i64, (p.y0 + p.rows) as i64, period);
        ((gy - p.y0 as i64) * p.width as i64 + gx) as usize
    }
    fn at(&self, x: i64, y: i64) -> f32 {
        self.data[self.index(x, y)]
    }
}

fn bayer_color(p: &Params, x: i64, y: i64) -> u32 {
    p.cfa >> (((y & 1) * 2 + (x & 1)) * 2) & 3
}

/// Colour of the block sensor at image pixel (x, y), any integer coordinates.
fn block_color(p: &Params, x: i64, y: i64) -> u32 {
    let (b, period) = (p.block as i64, 2 * p.block as i64);
    bayer_color(
        p,
        wrap(x, 0, p.width as i64, period) / b,
        wrap(y, 0, p.height as i64, period) / b,
    )
}

/// Pass 1, `remosaic_green`.
fn green(p: &Params, m: &Plane) -> Vec<f32> {
    let b = p.block as i64;
    let step = |x: i64, y: i64, dx: i64, dy: i64| {
        (1..=b)
            .find(|k| block_color(p, x + k * dx, y + k * dy) == 1)
            .unwrap_or(b)
    };
    let mut out = vec![0.0; m.data.len()];
    for row in 0..p.rows as i64 {
        let y = p.y0 as i64 + row;
        for x in 0..p.width as i64 {
            let i = m.index(x, y);
            if block_color(p, x, y) == 1 {
                out[i] = m.data[i];
                continue;
            }
            let (dw, de) = (step(x, y, -1, 0), step(x, y, 1, 0));
            let (dn, ds) = (step(x, y, 0, -1), step(x, y, 0, 1));
            let (gw, ge) = (m.at(x - dw, y), m.at(x + de, y));
            let (gn, gs) = (m.at(x, y - dn), m.at(x, y + ds));
            let h_est = (gw * de as f32 + ge * dw as f32) / (dw + de) as f32;
            let v_est = (gn * ds as f32 + gs * dn as f32) / (dn + ds) as f32;
            let mut h_grad = EPS + (gw - ge).abs();
            let mut v_grad = EPS + (gn - gs).abs();
            for j in -1..=1 {
                h_grad += (m.at(x - b, y + j) - m.at(x + b, y + j)).abs();
                v_grad += (m.at(x + j, y - b) - m.at(x + j, y + b)).abs();
            }
            out[i] = (h_est * v_grad + v_est * h_grad) / (h_grad + v_grad);
        }
    }
    out
}

/// Pass 2, `remosaic_bayer`.
fn bayer(p: &Params, m: &Plane, g: &Plane) -> Vec<f32> {
    let b = p.block as i64;
    let r = 2 * b - 1;
    let mut out = vec![0.0; m.data.len()];
    for row in 0..p.rows as i64 {
        let y = p.y0 as i64 + row;
        for x in 0..p.width as i64 {
            let i = m.index(x, y);
            let want = bayer_color(p, x, y);
            if want == block_color(p, x, y) {
                out[i] = m.data[i];
                continue;
            }
            let gc = g.data[i];
            if want == 1 {
                out[i] = gc;
                continue;
            }
            let (mut sum, mut weight) = (0.0f32, 0.0f32);
            for dy in -r..=r {
                for dx in -r..=r {
                    if block_color(p, x + dx, y + dy) != want {
                        continue;
                    }
                    let gq = g.at(x + dx, y + dy);
                    let w = 1.0 / ((dx * dx + dy * dy) as f32 * (EPS + (gq - gc).abs()));
                    sum += w * (m.at(x + dx, y + dy) - gq);
                    weight += w;
                }
            }
            out[i] = gc + sum / weight;
        }
    }
    out
}

/// CPU reference: both passes over the band, pixel by pixel, in f32.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, mosaic: &[f32]) -> Vec<f32> {
    let m = Plane { p, data: mosaic };
    let g = green(p, &m);
    bayer(p, &m, &Plane { p, data: &g })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::testing::{kodak, max_abs_diff, Rng};

    fn run_gpu(p: &Params, mosaic: &[f32]) -> Vec<f32> {
        let gpu = gpu();
        let input = gpu.storage_init("mosaic", bytemuck::cast_slice(mosaic));
        let bytes = mosaic.len() as u64 * 4;
        let out = gpu.storage("bayer", bytes);
        gpu.run("remosaic", |enc| record(gpu, enc, p, &input, &out))
            .unwrap();
        bytemuck::cast_slice(&gpu.read("remosaic", &out, bytes).unwrap()).to_vec()
    }

    /// The block sensor's view of linear RGB rows.
    fn block_mosaic(w: u32, px: &[[f32; 3]], block: u32, cfa: Cfa) -> Vec<f32> {
        (0..px.len())
            .map(|i| {
                let (x, y) = (i as u32 % w, i as u32 / w);
                px[i][cfa.color_at((x / block) as usize, (y / block) as usize)]
            })
            .collect()
    }

    #[test]
    fn gpu_matches_reference_on_random_mosaics_both_blocks_all_phases_and_a_band() {
        let mut rng = Rng::new(11);
        let (w, h) = (46u32, 40u32);
        let mosaic: Vec<f32> = (0..w * h).map(|_| rng.unit()).collect();
        for block in [2, 3] {
            for cfa in Cfa::ALL {
                let p = Params::new(w, h, block, cfa, 0, h);
                let whole = reference(&p, &mosaic);
                let diff = max_abs_diff(&run_gpu(&p, &mosaic), &whole);
                assert!(diff < 1e-5, "block {block} {cfa:?}: {diff}");
                // A band (rows 7..33): equal to the whole image at least HALO rows inside it.
                let (y0, y1) = (7u32, 33u32);
                let band = &mosaic[(y0 * w) as usize..(y1 * w) as usize];
                let bp = Params::new(w, h, block, cfa, y0, y1 - y0);
                let cpu = reference(&bp, band);
                let diff = max_abs_diff(&run_gpu(&bp, band), &cpu);
                assert!(diff < 1e-5, "band, block {block} {cfa:?}: {diff}");
                let inner = (y0 + HALO)..(y1 - HALO);
                let a = &cpu[((inner.start - y0) * w) as usize..((inner.end - y0) * w) as usize];
                let b = &whole[(inner.start * w) as usize..(inner.end * w) as usize];
                assert_eq!(a, b, "band interior, block {block} {cfa:?}");
            }
        }
    }

    #[test]
    fn gpu_matches_reference_on_a_real_photo() {
        let (w, h, px) = kodak("kodim19");
        for (block, cfa) in [(2, Cfa::Rggb), (3, Cfa::Gbrg)] {
            let mosaic = block_mosaic(w, &px, block, cfa);
            let p = Params::new(w, h, block, cfa, 0, h);
            let diff = max_abs_diff(&run_gpu(&p, &mosaic), &reference(&p, &mosaic));
            assert!(diff < 1e-5, "block {block}: {diff}");
        }
    }

    /// On a real photo the remosaiced samples are close to what a Bayer sensor would have
    /// recorded: far closer than the block sensor's own samples read as Bayer.
    #[test]
    fn remosaiced_samples_approach_the_bayer_sensor_on_a_real_photo() {
        let (w, h, px) = kodak("kodim23");
        for block in [2, 3] {
            let cfa = Cfa::Rggb;
            let mosaic = block_mosaic(w, &px, block, cfa);
            let p = Params::new(w, h, block, cfa, 0, h);
            let out = run_gpu(&p, &mosaic);
            let truth: Vec<f32> = (0..px.len())
                .map(|i| px[i][cfa.color_at(i % w as usize, i / w as usize)])
                .collect();
            let psnr = |a: &[f32]| {
                let se: f64 = a
                    .iter()
                    .zip(&truth)
                    .map(|(x, y)| ((x - y) as f64).powi(2))
                    .sum();
                10.0 * (a.len() as f64 / se).log10()
            };
            let (raw, remo) = (psnr(&mosaic), psnr(&out));
            eprintln!("block {block}: as-is {raw:.2} dB, remosaiced {remo:.2} dB");
            assert!(remo > raw + 10.0, "block {block}: {raw:.2} → {remo:.2} dB");
        }
    }
}
