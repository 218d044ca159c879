//! The finish of a burst of finished photos: the merged linear mosaic (one RGGB quad per pixel,
//! see `photo_burst`) back to sRGB-encoded 8/16-bit RGB, packed like the tone stage's output.
//! See shaders/photo_encode.wgsl.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{self, Gpu};
use crate::stages::tone::srgb_oetf;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    /// Output pixels of this band.
    pub pixels: u32,
    pub stride: u32,
    /// 8 or 16.
    pub bits: u32,
    /// Output pixels per row.
    pub width: u32,
}

/// Record the kernel: `merged` holds the band's mosaic rows (2 per output row, 2 × width f32
/// each), `out` [`crate::stages::tone::packed_bytes`]`(pixels)` bytes.
pub(crate) fn record(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &Params,
    merged: &wgpu::Buffer,
    out: &wgpu::Buffer,
) {
    let (groups, stride) = gpu::groups_1d(p.pixels.div_ceil(2), 256);
    let params = gpu.uniform(&Params { stride, ..*p });
    gpu.dispatch(
        enc,
        &gpu::PHOTO_ENCODE,
        "photo_encode",
        &params,
        &[merged, out],
        groups,
    );
}

/// CPU reference: R, G, B values (0..=255 or 0..=65535) of each output pixel, written
/// loop-for-loop like the kernel.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, merged: &[f32]) -> Vec<u16> {
    let max = if p.bits == 8 { 255.0 } else { 65535.0 };
    let row = 2 * p.width as usize;
    (0..p.pixels as usize)
        .flat_map(|i| {
            let (x, y) = (i % p.width as usize, i / p.width as usize);
            let top = 2 * y * row + 2 * x;
            let g = 0.5 * (merged[top + 1] + merged[top + row]);
            [merged[top], g, merged[top + row + 1]]
                .map(|v| (srgb_oetf(v.clamp(0.0, 1.0)) * max).round() as u16)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::testing::{kodak, Rng};
    use crate::stages::tone::{packed_bytes, unpack_packed};

    fn run_gpu(p: &Params, merged: &[f32]) -> Vec<u16> {
        let gpu = gpu();
        let m = gpu.storage_init("merged", bytemuck::cast_slice(merged));
        let bytes = packed_bytes(p.pixels);
        // Poisoned: an unwritten pixel fails the comparison.
        let out = gpu.storage_init("out", &vec![0xFFu8; bytes as usize]);
        gpu.run("photo encode", |enc| record(gpu, enc, p, &m, &out))
            .unwrap();
        unpack_packed(p.pixels, &gpu.read("photo encode", &out, bytes).unwrap())
    }

    /// A photo's linear RGB as the packed mosaic the merge works on (G twice).
    fn quads(w: u32, px: &[[f32; 3]]) -> Vec<f32> {
        let w = w as usize;
        let mut m = vec![0.0; px.len() * 4];
        for (i, c) in px.iter().enumerate() {
            let top = 2 * (i / w) * 2 * w + 2 * (i % w);
            m[top] = c[0];
            m[top + 1] = c[1];
            m[top + 2 * w] = c[1];
            m[top + 2 * w + 1] = c[2];
        }
        m
    }

    #[test]
    fn gpu_matches_reference_random_and_real_8_and_16_bit() {
        let mut rng = Rng::new(12);
        // Odd width and count (the last pair half padding), values under 0 and over 1 (merge
        // overshoot), the two greens different.
        let (w, h) = (37, 19);
        let random: Vec<f32> = (0..w * h * 4).map(|_| rng.unit() * 1.4 - 0.2).collect();
        let (kw, kh, px) = kodak("kodim23");
        let real = quads(kw, &px);
        for bits in [8, 16] {
            for (width, pixels, m) in [(w, w * h, &random), (kw, kw * kh, &real)] {
                let p = Params {
                    pixels,
                    stride: 0,
                    bits,
                    width,
                };
                let got = run_gpu(&p, m);
                let want = reference(&p, m);
                assert_eq!(got.len(), want.len());
                let worst = got.iter().zip(&want).map(|(a, b)| a.abs_diff(*b)).max();
                // pow may differ in the last bits: one step where rounding lands on .5.
                assert!(worst <= Some(1), "{bits} bits: worst difference {worst:?}");
            }
        }
    }

    #[test]
    fn an_encoded_photo_round_trips_through_its_linear_quads() {
        // 8-bit codes → linear (the merge's input) → this stage: the same codes.
        let lin = |c: u16| crate::stages::fused_look::srgb_eotf(c as f32 / 255.0);
        let codes: Vec<[u16; 3]> = (0..256u16).map(|c| [c, 255 - c, c / 2]).collect();
        let px: Vec<[f32; 3]> = codes.iter().map(|c| c.map(lin)).collect();
        let p = Params {
            pixels: 256,
            stride: 0,
            bits: 8,
            width: 16,
        };
        let got = reference(&p, &quads(16, &px));
        assert_eq!(got, codes.concat());
    }
}
