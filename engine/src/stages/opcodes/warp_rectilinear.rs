//! WarpRectilinear (DNG opcode 1): lens distortion (radial and tangential, per plane) corrected on
//! the demosaiced f16 RGBA image.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{self, Gpu};
use crate::raw::opcodes::WarpRectilinear;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub width: u32,
    pub height: u32,
    pub src_y0: u32,
    pub src_rows: u32,
    pub dst_y0: u32,
    pub dst_rows: u32,
    pub planes: u32,
    pub _pad: u32,
    pub center: [f32; 2],
    pub radius: f32,
    pub _pad1: f32,
    pub kr: [[f32; 4]; 3],
    pub kt: [[f32; 4]; 3],
}

/// Optical centre and normalizing radius in frame pixels: the centre is relative to the stage
/// image, the radius its distance to the image's farthest corner.
fn geometry(w: &WarpRectilinear) -> ([f64; 2], f64) {
    let b = w.bounds;
    let cx = b.left as f64 + w.center[0] * (b.right - b.left) as f64;
    let cy = b.top as f64 + w.center[1] * (b.bottom - b.top) as f64;
    let dx = (cx - b.left as f64).abs().max((b.right as f64 - cx).abs());
    let dy = (cy - b.top as f64).abs().max((b.bottom as f64 - cy).abs());
    ([cx, cy], (dx * dx + dy * dy).sqrt().max(1.0))
}

/// Where the warp samples destination pixel (x, y) of `plane` (spec formulas, f64).
pub(crate) fn source_of(w: &WarpRectilinear, plane: usize, x: f64, y: f64) -> [f64; 2] {
    let ([cx, cy], m) = geometry(w);
    let k = w.coefficients[plane.min(w.coefficients.len() - 1)];
    let (dx, dy) = ((x - cx) / m, (y - cy) / m);
    let r2 = dx * dx + dy * dy;
    let f = k[0] + r2 * (k[1] + r2 * (k[2] + r2 * k[3]));
    let tx = k[4] * 2.0 * dx * dy + k[5] * (r2 + 2.0 * dx * dx);
    let ty = k[5] * 2.0 * dx * dy + k[4] * (r2 + 2.0 * dy * dy);
    [cx + m * (f * dx + tx), cy + m * (f * dy + ty)]
}

/// Rows a band's output reaches above or below itself on a `width`×`height` frame: the largest
/// vertical displacement, found on a grid of 129×129 points plus what can hide between points,
/// and one row for the bilinear sample.
pub(crate) fn halo(w: &WarpRectilinear, width: u32, height: u32) -> u32 {
    const N: u32 = 128;
    let mut worst = 0.0f64;
    let mut step_change = 0.0f64;
    for plane in 0..3 {
        let mut prev: Option<f64> = None;
        for j in 0..=N {
            for i in 0..=N {
                let (x, y) = (
                    i as f64 * (width - 1) as f64 / N as f64,
                    j as f64 * (height - 1) as f64 / N as f64,
                );
                let d = source_of(w, plane, x, y)[1] - y;
                worst = worst.max(d.abs());
                if let Some(p) = prev.filter(|_| i > 0) {
                    step_change = step_change.max((d - p).abs());
                }
                prev = Some(d);
            }
        }
    }
    let h = worst + step_change + 2.0;
    h.min(height as f64).ceil() as u32
}

impl Params {
    /// Parameters for output rows `dst` of a `width`×`height` frame, reading rows `src`.
    pub fn new(
        w: &WarpRectilinear,
        width: u32,
        height: u32,
        src: (u32, u32),
        dst: (u32, u32),
    ) -> Params {
        let ([cx, cy], m) = geometry(w);
        let mut kr = [[0.0f32; 4]; 3];
        let mut kt = [[0.0f32; 4]; 3];
        // One set for every plane, or one per plane (a 2- or 4-set list lends its last set on).
        for c in 0..3 {
            let k = w.coefficients[c.min(w.coefficients.len() - 1)];
            kr[c] = [k[0], k[1], k[2], k[3]].map(|v| v as f32);
            kt[c] = [k[4] as f32, k[5] as f32, 0.0, 0.0];
        }
        Params {
            width,
            height,
            src_y0: src.0,
            src_rows: src.1 - src.0,
            dst_y0: dst.0,
            dst_rows: dst.1 - dst.0,
            planes: 3,
            _pad: 0,
            center: [cx as f32, cy as f32],
            radius: m as f32,
            _pad1: 0.0,
            kr,
            kt,
        }
    }
}

/// Record the kernel: `src` (f16 RGBA, the source rows) → `dst` (f16 RGBA, the output rows).
pub(crate) fn record(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &Params,
    src: &wgpu::Buffer,
    dst: &wgpu::Buffer,
) {
    let size = (p.width, p.dst_rows);
    gpu.dispatch_image(
        enc,
        (&gpu::WARP_RECTILINEAR, "warp_rectilinear"),
        p,
        &[src, dst],
        size,
    );
}

/// CPU reference, loop for loop (f32 like the kernel): RGB pixels of the source rows → output rows.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, src: &[[f32; 3]]) -> Vec<[f32; 3]> {
    let mix = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let hi_y = (p.height.min(p.src_y0 + p.src_rows) - 1) as f32;
    let hi_x = (p.width - 1) as f32;
    let fetch = |x: u32, y: u32, c: usize| src[((y - p.src_y0) * p.width + x) as usize][c];
    let mut out = Vec::with_capacity((p.width * p.dst_rows) as usize);
    for row in 0..p.dst_rows {
        for x in 0..p.width {
            let d = [
                (x as f32 - p.center[0]) / p.radius,
                ((row + p.dst_y0) as f32 - p.center[1]) / p.radius,
            ];
            let r2 = d[0] * d[0] + d[1] * d[1];
            let mut rgb = [0.0f32; 3];
            for (c, v) in rgb.iter_mut().enumerate() {
                let k = if p.planes == 1 { 0 } else { c };
                let (kr, kt) = (p.kr[k], p.kt[k]);
                let f = kr[0] + r2 * (kr[1] + r2 * (kr[2] + r2 * kr[3]));
                let xy2 = 2.0 * d[0] * d[1];
                let t = [
                    kt[0] * xy2 + kt[1] * (r2 + 2.0 * d[0] * d[0]),
                    kt[1] * xy2 + kt[0] * (r2 + 2.0 * d[1] * d[1]),
                ];
                let qx = (p.center[0] + p.radius * (f * d[0] + t[0])).clamp(0.0, hi_x);
                let qy = (p.center[1] + p.radius * (f * d[1] + t[1])).clamp(p.src_y0 as f32, hi_y);
                let (x0, y0) = (qx.floor(), qy.floor());
                let (tx, ty) = (qx - x0, qy - y0);
                let (x0, y0) = (x0 as u32, y0 as u32);
                let (x1, y1) = ((x0 + 1).min(hi_x as u32), (y0 + 1).min(hi_y as u32));
                let top = mix(fetch(x0, y0, c), fetch(x1, y0, c), tx);
                let bottom = mix(fetch(x0, y1, c), fetch(x1, y1, c), tx);
                *v = mix(top, bottom, ty);
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
    use crate::raw::opcodes::Bounds;
    use crate::stages::testing::{kodak, read_rgb16f, Rng};
    use crate::stages::{pack_rgb, unpack_rgb};

    fn run(p: &Params, src: &[[f32; 3]]) -> Vec<[f32; 3]> {
        let gpu = gpu();
        let words: Vec<u32> = src.iter().flat_map(|&c| pack_rgb(c)).collect();
        let s = gpu.storage_init("src", bytemuck::cast_slice(&words));
        let d = gpu.storage("dst", (p.width * p.dst_rows) as u64 * 8);
        gpu.run("warp", |enc| record(gpu, enc, p, &s, &d)).unwrap();
        read_rgb16f(gpu, "warp", &d, (p.width * p.dst_rows) as u64)
    }

    fn barrel(w: u32, h: u32) -> WarpRectilinear {
        WarpRectilinear {
            coefficients: vec![
                [0.97, 0.04, 0.01, 0.0, 0.002, -0.001],
                [0.98, 0.03, 0.0, 0.0, 0.0, 0.0],
                [0.99, 0.02, 0.005, 0.001, -0.001, 0.002],
            ],
            center: [0.48, 0.53],
            bounds: Bounds {
                top: -2,
                left: -4,
                bottom: h as i64 + 2,
                right: w as i64 + 4,
            },
        }
    }

    /// GPU output is f16 and samples at f32 positions: within f16 rounding of the bilinear mix.
    fn assert_close(gpu: &[[f32; 3]], cpu: &[[f32; 3]]) {
        let worst = gpu
            .iter()
            .flatten()
            .zip(cpu.iter().flatten())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 4e-3, "max |gpu - cpu| = {worst}");
    }

    #[test]
    fn gpu_matches_reference_on_random_image_in_a_band() {
        let mut rng = Rng::new(21);
        let (w, h) = (75u32, 60u32);
        let warp = barrel(w, h);
        let halo = halo(&warp, w, h);
        let (dst, src) = ((20, 40), (20 - halo.min(20), (40 + halo).min(h)));
        let p = Params::new(&warp, w, h, src, dst);
        let img: Vec<[f32; 3]> = (0..(src.1 - src.0) * w)
            .map(|_| unpack_rgb(pack_rgb([rng.unit(), rng.unit(), rng.unit()])))
            .collect();
        assert_close(&run(&p, &img), &reference(&p, &img));
    }

    #[test]
    fn gpu_matches_reference_on_real_photo_and_undoes_a_known_distortion() {
        let (w, h, px) = kodak("kodim19");
        let px: Vec<[f32; 3]> = px.iter().map(|&c| unpack_rgb(pack_rgb(c))).collect();
        let warp = WarpRectilinear {
            coefficients: vec![[1.0, -0.03, 0.0, 0.0, 0.0, 0.0]],
            center: [0.5, 0.5],
            bounds: Bounds {
                top: 0,
                left: 0,
                bottom: h as i64,
                right: w as i64,
            },
        };
        let p = Params::new(&warp, w, h, (0, h), (0, h));
        let cpu = reference(&p, &px);
        assert_close(&run(&p, &px), &cpu);
        // Each output pixel is the input at the spec's source position (nearest-pixel check at
        // positions that land on whole pixels is too rare; compare the sampled position instead).
        let [sx, sy] = source_of(&warp, 0, 10.0, 10.0);
        let ([cx, cy], m) = geometry(&warp);
        let r2 = ((10.0 - cx) / m).powi(2) + ((10.0 - cy) / m).powi(2);
        let f = 1.0 - 0.03 * r2;
        assert!(
            (sx - (cx + (10.0 - cx) * f)).abs() < 1e-9
                && (sy - (cy + (10.0 - cy) * f)).abs() < 1e-9
        );
        // The corner maps inward by 3 % of the radius.
        let [cx0, _] = source_of(&warp, 0, 0.0, cy);
        assert!((cx0 - (cx - cx * (1.0 - 0.03 * (cx / m).powi(2)))).abs() < 1e-9);
    }

    #[test]
    fn halo_covers_the_displacement() {
        let warp = barrel(400, 300);
        let halo = halo(&warp, 400, 300);
        for y in (0..300).step_by(7) {
            for x in (0..400).step_by(7) {
                for c in 0..3 {
                    let d = (source_of(&warp, c, x as f64, y as f64)[1] - y as f64).abs();
                    assert!(d + 1.0 <= halo as f64, "({x}, {y}): {d} vs halo {halo}");
                }
            }
        }
    }
}
