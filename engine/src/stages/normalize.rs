//! Normalize: u16 sensor values → f32, black at 0 and white at 1, per CFA position.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{self, Gpu};

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub width: u32,
    pub rows: u32,
    pub y0: u32,
    pub _pad: u32,
    pub black: [f32; 4],
    pub inv_range: [f32; 4],
}

impl Params {
    pub fn new(width: u32, rows: u32, y0: u32, black: [f32; 4], white: f32) -> Params {
        Params {
            width,
            rows,
            y0,
            _pad: 0,
            black,
            inv_range: black.map(|b| 1.0 / (white - b)),
        }
    }
}

/// Upload `rows` of u16 sensor values packed two per u32 (the narrowest form: 2 bytes per pixel).
pub(crate) fn upload(gpu: &Gpu, mosaic: &[u16]) -> wgpu::Buffer {
    gpu.storage_init("raw mosaic", bytemuck::cast_slice(mosaic))
}

/// Record the kernel: `raw` (u16 pairs) → `out` (f32, width × rows).
pub(crate) fn record(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &Params,
    raw: &wgpu::Buffer,
    out: &wgpu::Buffer,
) {
    let kernel = (&gpu::NORMALIZE, "normalize");
    gpu.dispatch_image(enc, kernel, p, &[raw, out], (p.width, p.rows));
}

/// CPU reference, loop for loop.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, raw: &[u16]) -> Vec<f32> {
    let mut out = vec![0.0; (p.width * p.rows) as usize];
    for y in 0..p.rows {
        for x in 0..p.width {
            let i = (y * p.width + x) as usize;
            let pos = (((y + p.y0) & 1) * 2 + (x & 1)) as usize;
            out[i] = (raw[i] as f32 - p.black[pos]) * p.inv_range[pos];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::testing::{max_abs_diff, Rng};

    fn run_gpu(p: &Params, raw: &[u16]) -> Vec<f32> {
        let gpu = gpu();
        let input = upload(gpu, raw);
        let out = gpu.storage("out", (raw.len() * 4) as u64);
        gpu.run("normalize", |enc| record(gpu, enc, p, &input, &out))
            .unwrap();
        bytemuck::cast_slice(&gpu.read("normalize", &out, (raw.len() * 4) as u64).unwrap()).to_vec()
    }

    #[test]
    fn gpu_matches_reference_on_random_mosaic() {
        let mut rng = Rng::new(1);
        // Odd width and an odd band offset: both the u16 packing and the CFA phase are exercised.
        let (w, h) = (37, 21);
        let raw: Vec<u16> = (0..w * h)
            .map(|_| (rng.next_u32() & 0x0fff) as u16)
            .collect();
        let p = Params::new(w, h, 1, [256.0, 250.0, 260.0, 240.0], 4095.0);
        let diff = max_abs_diff(&run_gpu(&p, &raw), &reference(&p, &raw));
        assert!(diff < 1e-6, "max diff {diff}");
    }

    #[test]
    fn gpu_matches_reference_on_real_photo() {
        let (w, h, px) = crate::stages::testing::kodak("kodim23");
        // Mosaic a real photo into 12-bit sensor values with black 256.
        let raw: Vec<u16> = (0..(w * h) as usize)
            .map(|i| {
                let (x, y) = (i % w as usize, i / w as usize);
                (256.0 + px[i][crate::Cfa::Rggb.color_at(x, y)] * 3839.0).round() as u16
            })
            .collect();
        let p = Params::new(w, h, 0, [256.0; 4], 4095.0);
        let diff = max_abs_diff(&run_gpu(&p, &raw), &reference(&p, &raw));
        assert!(diff < 1e-6, "max diff {diff}");
    }
}
