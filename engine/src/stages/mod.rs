//! One module per pixel stage: the GPU dispatch and, beside it, a plain-Rust reference written
//! loop-for-loop like the shader, which the tests compare against.

pub(crate) mod align;
pub(crate) mod binning;
pub(crate) mod color;
pub(crate) mod demosaic;
pub(crate) mod demosaic_rcd;
pub(crate) mod demosaic_xtrans;
pub(crate) mod fused_look;
pub(crate) mod fusion;
pub(crate) mod merge;
pub(crate) mod normalize;
pub(crate) mod normalize_rgb;
pub(crate) mod opcodes;
pub(crate) mod photo_encode;
pub(crate) mod remosaic;
pub(crate) mod stats;
pub(crate) mod tone;
pub(crate) mod warp;
pub(crate) mod wb_stats;

pub use binning::Binning;
pub use demosaic::Demosaic;
pub use merge::MergeMethod;

/// Bytes per pixel of the RGBA f16 images passed between stages (pack2x16float pairs).
pub(crate) const RGBA16F_BYTES: u64 = 8;

/// CPU twin of two `pack2x16float` words: RGB (alpha = 1).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn pack_rgb(rgb: [f32; 3]) -> [u32; 2] {
    let h = |v: f32| half::f16::from_f32(v).to_bits() as u32;
    [h(rgb[0]) | (h(rgb[1]) << 16), h(rgb[2]) | (h(1.0) << 16)]
}

/// CPU twin of `unpack2x16float` on the two words of one pixel.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn unpack_rgb(px: [u32; 2]) -> [f32; 3] {
    let f = |bits: u32| half::f16::from_bits((bits & 0xffff) as u16).to_f32();
    [f(px[0]), f(px[0] >> 16), f(px[1])]
}

#[cfg(test)]
pub(crate) mod testing {
    //! Shared helpers of the kernel tests: seeded random inputs and real photos.

    /// A small deterministic generator (xorshift), so failures reproduce.
    pub(crate) struct Rng(u64);
    impl Rng {
        pub fn new(seed: u64) -> Rng {
            Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1)
        }
        pub fn next_u32(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 32) as u32
        }
        pub fn unit(&mut self) -> f32 {
            (self.next_u32() >> 8) as f32 / (1u32 << 24) as f32
        }
    }

    /// A real photo from assets/ as linear RGB rows (sRGB decoded).
    pub(crate) fn kodak(name: &str) -> (u32, u32, Vec<[f32; 3]>) {
        let path = format!("{}/../assets/kodak/{name}.png", env!("CARGO_MANIFEST_DIR"));
        let img = image::open(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .to_rgb8();
        let lin = |v: u8| {
            let c = v as f32 / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let px = img
            .pixels()
            .map(|p| [lin(p[0]), lin(p[1]), lin(p[2])])
            .collect();
        (img.width(), img.height(), px)
    }

    /// Read back `n` pixels of an f16 RGBA image.
    pub(crate) fn read_rgb16f(
        gpu: &crate::gpu::Gpu,
        stage: &str,
        buf: &wgpu::Buffer,
        n: u64,
    ) -> Vec<[f32; 3]> {
        let bytes = gpu.read(stage, buf, n * super::RGBA16F_BYTES).unwrap();
        let words: &[u32] = bytemuck::cast_slice(&bytes);
        words
            .chunks(2)
            .map(|w| super::unpack_rgb([w[0], w[1]]))
            .collect()
    }

    /// GPU output is f16: equal to the f32 reference within f16 rounding of values up to ~2.
    pub(crate) fn assert_rgb_close(gpu: &[[f32; 3]], cpu: &[[f32; 3]]) {
        let diff = max_abs_diff(gpu.as_flattened(), cpu.as_flattened());
        assert!(diff < 2e-3, "max |gpu - cpu| = {diff}");
    }

    /// Largest absolute difference, after asserting both have no NaN.
    pub(crate) fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| {
                assert!(
                    x.is_finite() && y.is_finite(),
                    "non-finite value (unwritten pixel?): {x} vs {y}"
                );
                (x - y).abs()
            })
            .fold(0.0, f32::max)
    }
}
