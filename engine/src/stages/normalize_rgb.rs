//! Normalize LinearRaw RGB: u16 samples, three per pixel → f16 RGBA (what the colour stage takes),
//! black at 0 and white at 1 per sample. LinearRaw DNGs skip demosaicing: this is their first stage.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{self, Gpu};
use crate::raw::RgbLevels;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub width: u32,
    pub rows: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub black: [f32; 4],
    pub inv_range: [f32; 4],
}

/// Largest finite f16: values are bounded to it so that none packs to infinity.
const F16_MAX: f32 = 65504.0;

impl Params {
    pub fn new(width: u32, rows: u32, levels: &RgbLevels) -> Params {
        let [r, g, b] = levels.black;
        let inv = |c: usize| 1.0 / (levels.white[c] - levels.black[c]);
        Params {
            width,
            rows,
            _pad0: 0,
            _pad1: 0,
            black: [r, g, b, 0.0],
            inv_range: [inv(0), inv(1), inv(2), 0.0],
        }
    }
}

/// Record the kernel: `raw` (interleaved RGB u16, two per u32) → `out` (f16 RGBA, width × rows).
pub(crate) fn record(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &Params,
    raw: &wgpu::Buffer,
    out: &wgpu::Buffer,
) {
    let kernel = (&gpu::NORMALIZE_RGB, "normalize_rgb");
    gpu.dispatch_image(enc, kernel, p, &[raw, out], (p.width, p.rows));
}

/// Upload rows `y0..y1` of a LinearRaw frame and record their normalization into `out`.
pub(crate) fn record_rows(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    frame: &crate::raw::Frame,
    levels: &RgbLevels,
    (y0, y1): (u32, u32),
    out: &wgpu::Buffer,
) {
    let row = frame.width as usize * 3;
    let raw = gpu.storage_init(
        "linear raw rgb",
        bytemuck::cast_slice(&frame.mosaic[y0 as usize * row..y1 as usize * row]),
    );
    // OpcodeList2 follows on this kernel's output (schedule::develop): the DNG specification
    // applies it to linear reference values (linearized, black 0, white 1), per plane. Adobe's
    // lossy LinearRaw DNGs store gamma-encoded, white-balanced 8-bit values and undo both with
    // one MapPolynomial per plane there.
    record(
        gpu,
        enc,
        &Params::new(frame.width, y1 - y0, levels),
        &raw,
        out,
    );
}

/// CPU reference, loop for loop: RGB per pixel, as f16 would hold it.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, raw: &[u16]) -> Vec<[f32; 3]> {
    let mut out = vec![[0.0; 3]; (p.width * p.rows) as usize];
    for y in 0..p.rows {
        for x in 0..p.width {
            let i = (y * p.width + x) as usize;
            for c in 0..3 {
                let v = (raw[3 * i + c] as f32 - p.black[c]) * p.inv_range[c];
                out[i][c] = half::f16::from_f32(v.clamp(-F16_MAX, F16_MAX)).to_f32();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::testing::{read_rgb16f, Rng};

    fn run_gpu(p: &Params, raw: &[u16]) -> Vec<[f32; 3]> {
        let gpu = gpu();
        let input = gpu.storage_init("raw", bytemuck::cast_slice(raw));
        let n = (p.width * p.rows) as u64;
        let out = gpu.storage("out", n * crate::stages::RGBA16F_BYTES);
        gpu.run("normalize_rgb", |enc| record(gpu, enc, p, &input, &out))
            .unwrap();
        read_rgb16f(gpu, "normalize_rgb", &out, n)
    }

    /// GPU and CPU agree to f16 rounding (one unit in the last place: 2^-10 relative).
    fn assert_close(gpu: &[[f32; 3]], cpu: &[[f32; 3]]) {
        assert_eq!(gpu.len(), cpu.len());
        for (i, (g, c)) in gpu.iter().zip(cpu).enumerate() {
            for k in 0..3 {
                assert!(g[k].is_finite(), "pixel {i}: unwritten or non-finite {g:?}");
                let tol = c[k].abs() * 1e-3 + 1e-6;
                assert!(
                    (g[k] - c[k]).abs() <= tol,
                    "pixel {i} channel {k}: gpu {} vs cpu {}",
                    g[k],
                    c[k]
                );
            }
        }
    }

    #[test]
    fn gpu_matches_reference_on_random_rgb() {
        let mut rng = Rng::new(11);
        // Odd width × 3 samples: pixels straddle the u16 pairs both ways.
        let (w, h) = (37, 21);
        let raw: Vec<u16> = (0..w * h * 3).map(|_| rng.next_u32() as u16).collect();
        let levels = RgbLevels {
            black: [512.0, 600.0, 530.0],
            white: [16383.0, 16000.0, 15000.0],
        };
        let p = Params::new(w, h, &levels);
        let cpu = reference(&p, &raw);
        // Values far beyond white (the random u16s) and below black are kept, not clipped.
        assert!(cpu.iter().any(|px| px[0] > 2.0) && cpu.iter().any(|px| px[1] < 0.0));
        assert_close(&run_gpu(&p, &raw), &cpu);
    }

    #[test]
    fn gpu_matches_reference_on_the_lg_g4_linear_raw_dng() {
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/real/raw/lg_g4_linear_raw_lossy_jpeg.dng"
        );
        let frame = crate::raw::Frame::open(file).unwrap_or_else(|e| {
            panic!("{e} (the shared data folder ../shared/data/real is needed)")
        });
        let levels = frame.linear_rgb.expect("a LinearRaw frame");
        let p = Params::new(frame.width, frame.height, &levels);
        assert_close(&run_gpu(&p, &frame.mosaic), &reference(&p, &frame.mosaic));
    }

    #[test]
    fn gpu_matches_reference_on_a_real_photo() {
        // kodim23 as 14-bit linear RGB with a per-channel black offset.
        let (w, h, px) = crate::stages::testing::kodak("kodim23");
        let levels = RgbLevels {
            black: [256.0, 240.0, 250.0],
            white: [16383.0; 3],
        };
        let raw: Vec<u16> = px
            .iter()
            .flat_map(|p| {
                [0, 1, 2].map(|c| {
                    (levels.black[c] + p[c] * (levels.white[c] - levels.black[c])).round() as u16
                })
            })
            .collect();
        let p = Params::new(w, h, &levels);
        assert_close(&run_gpu(&p, &raw), &reference(&p, &raw));
    }
}
