//! Tone and quantize: exposure gain, highlight shoulder, sRGB transfer, 8/16-bit output.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{self, Gpu};
use crate::stages::unpack_rgb;

pub(crate) const SHOULDER: u32 = 1;
pub(crate) const SRGB: u32 = 2;
pub(crate) const TOE: u32 = 4;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub pixels: u32,
    pub stride: u32,
    pub bits: u32,
    pub flags: u32,
    pub gain: f32,
    pub knee: f32,
    pub white: f32,
    /// With TOE: values below this roll off smoothly towards 0 instead of clipping there.
    pub toe: f32,
}

impl Params {
    /// No look at all: values quantized as they are (the `demosaic` command keeps data linear).
    pub fn plain(pixels: u32, bits: u32) -> Params {
        let flags = 0;
        Params {
            pixels,
            stride: 0,
            bits,
            flags,
            gain: 1.0,
            knee: 1.0,
            white: 1.0,
            toe: 0.0,
        }
    }

    /// A photo: exposure gain, shoulder reaching 1 at `white`, sRGB transfer.
    pub fn photo(pixels: u32, bits: u32, gain: f32, white: f32) -> Params {
        let flags = SHOULDER | SRGB;
        Params {
            pixels,
            stride: 0,
            bits,
            flags,
            gain,
            knee: 0.6,
            white,
            toe: 0.0,
        }
    }

    /// Bytes of the output: see [`packed_bytes`].
    pub fn output_bytes(&self) -> u64 {
        packed_bytes(self.pixels)
    }
}

pub(crate) fn record(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &Params,
    img: &wgpu::Buffer,
    out: &wgpu::Buffer,
) {
    let (groups, stride) = gpu::groups_1d(p.pixels.div_ceil(2), 256);
    let params = gpu.uniform(&Params { stride, ..*p });
    gpu.dispatch(enc, &gpu::TONE, "tone", &params, &[img, out], groups);
}

#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn shoulder(p: &Params, x: f32) -> f32 {
    if x <= p.knee || p.white <= 1.0 {
        return x;
    }
    let a = (1.0 - p.knee) / (p.white - 1.0);
    let u = (x - p.knee) / (p.white - p.knee);
    p.knee + (1.0 - p.knee) * u * (1.0 + a) / (u + a)
}

/// Below `toe`, x ↦ toe·exp((x − toe)/toe): C1 at the toe (value and slope 1), positive and
/// increasing everywhere, so negative values (the undershoot of a Laplacian-pyramid fusion next to
/// strong edges) keep their order as deep shadows instead of all clipping to one black.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn toe(p: &Params, x: f32) -> f32 {
    if x >= p.toe || p.toe <= 0.0 {
        return x;
    }
    p.toe * ((x - p.toe) / p.toe).exp()
}

#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn srgb_oetf(x: f32) -> f32 {
    if x <= 0.0031308 {
        12.92 * x
    } else {
        1.055 * x.powf(1.0 / 2.4) - 0.055
    }
}

/// CPU reference: one value per channel (R, G, B) per pixel, on the 0..=255 or 0..=65535 scale.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, img: &[[u32; 2]]) -> Vec<u16> {
    let max = if p.bits == 8 { 255.0 } else { 65535.0 };
    img.iter()
        .flat_map(|&px| {
            unpack_rgb(px).map(|v| {
                let mut x = v * p.gain;
                if p.flags & TOE != 0 {
                    x = toe(p, x);
                }
                x = x.max(0.0);
                if p.flags & SHOULDER != 0 {
                    x = shoulder(p, x);
                }
                x = x.clamp(0.0, 1.0);
                if p.flags & SRGB != 0 {
                    x = srgb_oetf(x);
                }
                (x * max).round() as u16
            })
        })
        .collect()
}

/// The kernel's output as the RGB values it packs (the padding of an odd last pair dropped).
pub(crate) fn unpack_output(p: &Params, bytes: &[u8]) -> Vec<u16> {
    unpack_packed(p.pixels, bytes)
}

/// Bytes of a photo's final pixels as the kernels that write them pack them
/// (`output_common.wgsl`: tone, fused_look): three u16 per pixel, whole pixel pairs.
pub(crate) fn packed_bytes(pixels: u32) -> u64 {
    pixels.div_ceil(2) as u64 * 12
}

/// Packed final pixels as RGB values, the padding of an odd last pair dropped.
pub(crate) fn unpack_packed(pixels: u32, bytes: &[u8]) -> Vec<u16> {
    let mut v: Vec<u16> = bytemuck::pod_collect_to_vec(bytes);
    v.truncate(pixels as usize * 3);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::pack_rgb;
    use crate::stages::testing::{kodak, Rng};

    fn run_gpu(p: &Params, img: &[[u32; 2]]) -> Vec<u16> {
        let gpu = gpu();
        let buf = gpu.storage_init("img", bytemuck::cast_slice(img));
        let bytes = p.output_bytes();
        let out = gpu.storage("out", bytes);
        gpu.run("tone", |enc| record(gpu, enc, p, &buf, &out))
            .unwrap();
        unpack_output(p, &gpu.read("tone", &out, bytes).unwrap())
    }

    /// Integer outputs may differ by one step where pow/rounding land on a .5 boundary.
    fn assert_within_one(gpu: &[u16], cpu: &[u16], what: &str) {
        assert_eq!(gpu.len(), cpu.len());
        let worst = gpu
            .iter()
            .zip(cpu)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(worst <= 1, "{what}: worst difference {worst} steps");
    }

    #[test]
    fn gpu_matches_reference_random_and_real_8_and_16_bit() {
        let mut rng = Rng::new(11);
        // An odd pixel count: the last pair is half padding.
        let random: Vec<[u32; 2]> = (0..41 * 17)
            .map(|_| pack_rgb([rng.unit() * 3.0 - 0.2, rng.unit(), rng.unit() * 1.5]))
            .collect();
        let (w, h, px) = kodak("kodim08");
        let real: Vec<[u32; 2]> = px.iter().map(|&c| pack_rgb(c)).collect();
        for bits in [8, 16] {
            // The fused look: display-referred values with undershoots below 0, toe and shoulder.
            let fused = Params {
                flags: SHOULDER | TOE,
                knee: 0.8,
                white: 1.25,
                toe: 0.05,
                ..Params::plain(41 * 17, bits)
            };
            for p in [
                Params::plain(41 * 17, bits),
                Params::photo(41 * 17, bits, 1.7, 4.0),
                fused,
            ] {
                assert_within_one(&run_gpu(&p, &random), &reference(&p, &random), "random");
            }
            let p = Params::photo(w * h, bits, 1.3, 2.0);
            assert_within_one(&run_gpu(&p, &real), &reference(&p, &real), "real");
        }
    }

    #[test]
    fn shoulder_is_continuous_monotonic_and_lands_white_on_one() {
        let p = Params::photo(1, 16, 1.0, 5.0);
        assert!((shoulder(&p, 5.0) - 1.0).abs() < 1e-6);
        assert!((shoulder(&p, 0.6) - 0.6).abs() < 1e-6);
        let mut prev = 0.0;
        for i in 1..1000 {
            let y = shoulder(&p, i as f32 * 0.005);
            assert!(y > prev, "not increasing at {}", i as f32 * 0.005);
            prev = y;
        }
        // C1 at the knee: slope 1 on both sides.
        let slope = (shoulder(&p, 0.6001) - shoulder(&p, 0.6)) / 0.0001;
        assert!((slope - 1.0).abs() < 0.01, "slope at knee {slope}");
    }

    #[test]
    fn toe_is_continuous_monotonic_and_stays_above_zero() {
        let p = Params {
            toe: 0.02,
            ..Params::plain(1, 16)
        };
        assert_eq!(toe(&p, 0.5), 0.5);
        assert!((toe(&p, 0.02) - 0.02).abs() < 1e-7);
        let mut prev = 0.0;
        for i in 0..1000 {
            let x = -0.2 + i as f32 * 0.0003;
            let y = toe(&p, x);
            assert!(y > prev && y <= x.max(0.02), "at {x}: {y}");
            prev = y;
        }
        let slope = (toe(&p, 0.02) - toe(&p, 0.0199)) / 0.0001;
        assert!((slope - 1.0).abs() < 0.01, "slope at the toe {slope}");
    }
}
