//! The finish of colour-preserving auto HDR: fused luminance → toe and shoulder → linear light,
//! each pixel's linear RGB scaled by fused / own luminance (hue and saturation kept), the
//! brightest highlights faded to grey, channels over the knee rolled off one by one, a gentle S-curve in display space, sRGB, 8/16-bit
//! output. See shaders/fused_look.wgsl for the why of each step.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{self, Gpu};
use crate::stages::fusion::unpack_fused;
use crate::stages::tone::srgb_oetf;
use crate::stages::unpack_rgb;

/// Luminance weights of linear sRGB (Rec.709).
pub(crate) const LUMA: [f32; 3] = [0.2126, 0.7152, 0.0722];

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub pixels: u32,
    pub stride: u32,
    pub bits: u32,
    pub pad: u32,
    /// Linear input × gain is in the units of the fused luminance (the short exposure's).
    pub gain: f32,
    /// Luminance (after gain) below which a pixel's colour fades to grey.
    pub eps: f32,
    /// Display-referred shoulder knee and toe of the fused luminance.
    pub knee: f32,
    pub toe: f32,
    /// S-curve strength in display space: 0 none, 1 smoothstep.
    pub contrast: f32,
    /// Luminance (after gain) where a pixel starts to fade to grey: near the scene's brightest
    /// (1) colour is the sensor's clipping more than the scene's.
    pub highlight: f32,
    pub pad1: [f32; 2],
}

/// Record the kernel over `pixels` pixels: `linear` RGBA f16, `fused` the fused grey (16-bit
/// snorm of v/2, as the fusion pyramid leaves it), `out` packed like the tone stage's output.
pub(crate) fn record(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &Params,
    linear: &wgpu::Buffer,
    fused: &wgpu::Buffer,
    out: &wgpu::Buffer,
) {
    let (groups, stride) = gpu::groups_1d(p.pixels.div_ceil(2), 256);
    let params = gpu.uniform(&Params { stride, ..*p });
    let buffers = [linear, fused, out];
    gpu.dispatch(
        enc,
        &gpu::FUSED_LOOK,
        "fused_look",
        &params,
        &buffers,
        groups,
    );
}

#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn srgb_eotf(v: f32) -> f32 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// The shoulder above `knee` (display-referred): C1, below 1 for every value.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn shoulder(p: &Params, v: f32) -> f32 {
    if v > p.knee {
        return p.knee + (1.0 - p.knee) * (1.0 - (-(v - p.knee) / (1.0 - p.knee)).exp());
    }
    v
}

/// Toe and shoulder of the fused display-referred luminance: increasing, C1, within (0, 1).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn rolled(p: &Params, v: f32) -> f32 {
    if v < p.toe {
        return p.toe * p.toe / (2.0 * p.toe - v);
    }
    shoulder(p, v)
}

#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn s_curve(p: &Params, d: f32) -> f32 {
    d + p.contrast * (d * d * (3.0 - 2.0 * d) - d)
}

/// WGSL's smoothstep.
#[cfg_attr(not(test), allow(dead_code))]
fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// CPU reference: one value per channel (R, G, B) per pixel, on the 0..=255 or 0..=65535 scale.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, linear: &[[u32; 2]], fused: &[[u32; 2]]) -> Vec<u16> {
    let max = if p.bits == 8 { 255.0 } else { 65535.0 };
    linear
        .iter()
        .zip(fused)
        .flat_map(|(&px, &f)| {
            let rgb = unpack_rgb(px).map(|v| (v * p.gain).max(0.0));
            let y: f32 = (0..3).map(|k| rgb[k] * LUMA[k]).sum();
            let y_out = srgb_eotf(rolled(p, unpack_fused(f)[0]));
            let c = rgb.map(|v| (v + p.eps) * (y_out / (y + p.eps)));
            let fade = smoothstep(p.highlight, 1.0, y);
            c.map(|v| {
                let v = v + (y_out - v) * fade;
                let d = s_curve(p, shoulder(p, srgb_oetf(v)));
                (d.clamp(0.0, 1.0) * max).round() as u16
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::fusion::pack_fused;
    use crate::stages::pack_rgb;
    use crate::stages::testing::{kodak, Rng};

    fn params(pixels: u32, bits: u32) -> Params {
        Params {
            pixels,
            stride: 0,
            bits,
            pad: 0,
            gain: 1.7,
            eps: 1e-4,
            knee: 0.9,
            toe: 0.01,
            contrast: 0.15,
            highlight: 0.85,
            pad1: [0.0; 2],
        }
    }

    fn run_gpu(p: &Params, linear: &[[u32; 2]], fused: &[[u32; 2]]) -> Vec<u16> {
        let gpu = gpu();
        let l = gpu.storage_init("linear", bytemuck::cast_slice(linear));
        let f = gpu.storage_init("fused", bytemuck::cast_slice(fused));
        let out = gpu.storage("out", crate::stages::tone::packed_bytes(p.pixels));
        gpu.run("fused look", |enc| record(gpu, enc, p, &l, &f, &out))
            .unwrap();
        crate::stages::tone::unpack_packed(
            p.pixels,
            &gpu.read(
                "fused look",
                &out,
                crate::stages::tone::packed_bytes(p.pixels),
            )
            .unwrap(),
        )
    }

    #[test]
    fn gpu_matches_reference_random_and_real_8_and_16_bit() {
        let mut rng = Rng::new(71);
        // Odd count (the last pair half padding); fused values under 0 and over 1 (the
        // pyramid's undershoot and overshoot), linear values over 1 and some exactly black.
        let n = 41 * 17;
        let linear: Vec<[u32; 2]> = (0..n)
            .map(|i| match i % 7 {
                0 => pack_rgb([0.0; 3]),
                _ => pack_rgb([0; 3].map(|_| rng.unit() * 1.2)),
            })
            .collect();
        let fused: Vec<[u32; 2]> = (0..n)
            .map(|_| pack_fused([rng.unit() * 1.6 - 0.3; 3]))
            .collect();
        // A real photo: its linear light, and its own sRGB luminance as the fused grey.
        let (w, h, px) = kodak("kodim08");
        let real: Vec<[u32; 2]> = px.iter().map(|&c| pack_rgb(c)).collect();
        let real_fused: Vec<[u32; 2]> = px
            .iter()
            .map(|c| pack_fused([srgb_oetf((0..3).map(|k| c[k] * LUMA[k]).sum::<f32>() * 1.7); 3]))
            .collect();
        for bits in [8, 16] {
            for (p, l, f) in [
                (params(n, bits), &linear, &fused),
                (params(w * h, bits), &real, &real_fused),
            ] {
                let got = run_gpu(&p, l, f);
                let want = reference(&p, l, f);
                assert_eq!(got.len(), want.len());
                let worst = got.iter().zip(&want).map(|(a, b)| a.abs_diff(*b)).max();
                // pow/exp may differ in the last bits: one step where rounding lands on .5.
                assert!(worst <= Some(1), "{bits} bits: worst difference {worst:?}");
            }
        }
    }

    #[test]
    fn toe_and_shoulder_are_increasing_c1_and_stay_inside_0_1() {
        let p = params(1, 16);
        let mut prev = 0.0;
        // Up to 1.6: beyond, the shoulder is within f32 rounding of 1 (flat, still below 1).
        for i in 0..2600 {
            let v = -1.0 + i as f32 * 0.001;
            let r = rolled(&p, v);
            assert!(r > prev && r < 1.0, "at {v}: {r}");
            prev = r;
        }
        // C1: slope 1 on both sides of the toe and the knee.
        let h = 1e-4;
        for x in [p.toe, p.knee] {
            let left = (rolled(&p, x) - rolled(&p, x - h)) / h;
            let right = (rolled(&p, x + h) - rolled(&p, x)) / h;
            for slope in [left, right] {
                assert!((slope - 1.0).abs() < 0.02, "slope at {x}: {left} {right}");
            }
        }
    }

    /// The colour ratio keeps a pixel's chromaticity in linear light wherever its channels stay
    /// under the knee; a colour pushed over 1 rolls off channel by channel: nothing clips, the
    /// brightest channel compresses most, the hue order stays.
    #[test]
    fn colour_ratio_keeps_chromaticity_and_bright_colours_roll_off_per_channel() {
        let p = Params {
            contrast: 0.0,
            // Highlights fade only at the very top: these pixels keep their colour.
            highlight: 0.99,
            ..params(1, 16)
        };
        let lin = |c: u16| srgb_eotf(c as f32 / 65535.0);
        for (rgb, f) in [([0.2f32, 0.1, 0.05], 0.6f32), ([0.05, 0.3, 0.4], 0.3)] {
            let out = reference(&p, &[pack_rgb(rgb)], &[pack_fused([f; 3])]);
            let o = [lin(out[0]), lin(out[1]), lin(out[2])];
            let g = rgb.map(|v| v * p.gain);
            for k in [0, 2] {
                let (a, b) = (o[k] / o[1], g[k] / g[1]);
                assert!((a - b).abs() < 0.01 * b, "{rgb:?}: ratio {a} vs {b}");
            }
        }
        // A saturated red whose fused luminance pushes R over 1: R rolls off under 1, G and B
        // (under the knee) keep their ratio.
        let out = reference(&p, &[pack_rgb([0.5, 0.05, 0.02])], &[pack_fused([0.8; 3])]);
        let o = [lin(out[0]), lin(out[1]), lin(out[2])];
        assert!(out[0] > 65000 && out[0] < 65535, "{out:?}");
        assert!((o[1] / o[2] - 2.5).abs() < 0.05, "G/B {}", o[1] / o[2]);
        assert!(o[0] > o[1] && o[1] > o[2], "hue order lost: {o:?}");
        // At the short exposure's white (luminance 1 after gain) highlights are grey.
        let p = Params {
            contrast: 0.0,
            ..params(1, 16)
        };
        let out = reference(&p, &[pack_rgb([0.8, 0.6, 0.55])], &[pack_fused([1.0; 3])]);
        assert!(
            out[0] == out[1] && out[1] == out[2],
            "highlight kept colour: {out:?}"
        );
    }
}
