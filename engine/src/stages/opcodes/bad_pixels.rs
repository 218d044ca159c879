//! FixBadPixelsConstant and FixBadPixelsList (DNG opcodes 4 and 5) on the normalized mosaic: a
//! bad pixel becomes the mean of the good pixels of its colour in the 5×5 window around it.

use bytemuck::{Pod, Zeroable};

use super::position;
use crate::gpu::{self, Gpu};
use crate::raw::opcodes::BadPixelList;
use crate::Cfa;

/// Rows above and below a pixel the fix reads.
pub(crate) const HALO: u32 = 2;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub width: u32,
    pub rows: u32,
    pub y0: u32,
    /// Cfa::packed of the opcode's BayerPhase, in frame coordinates.
    pub colors: u32,
    /// FixBadPixelsConstant's value (sensor units); u32::MAX for a list.
    pub constant: u32,
    pub _pad: [u32; 3],
    pub to_sensor_scale: [f32; 4],
    pub to_sensor_offset: [f32; 4],
}

impl Params {
    /// Parameters for a band of `rows` rows from image row `y0`, of a frame with these levels.
    pub fn new(
        width: u32,
        rows: u32,
        y0: u32,
        phase: Cfa,
        constant: Option<u32>,
        black: [f32; 4],
        white: f32,
    ) -> Params {
        Params {
            width,
            rows,
            y0,
            colors: phase.packed(),
            constant: constant.unwrap_or(u32::MAX),
            _pad: [0; 3],
            to_sensor_scale: black.map(|b| white - b),
            to_sensor_offset: black,
        }
    }

    /// Bytes of the band's bad-pixel mask (one bit per pixel, whole u32 words).
    pub fn mask_bytes(&self) -> u64 {
        (self.width as u64 * self.rows as u64).div_ceil(32) * 4
    }
}

/// The band's mask words with the list's points and rectangles set (frame coordinates; what lies
/// outside the band is left out).
pub(crate) fn list_mask(p: &Params, list: &BadPixelList) -> Vec<u32> {
    let mut mask = vec![0u32; (p.mask_bytes() / 4) as usize];
    let (w, y0, y1) = (p.width as i64, p.y0 as i64, (p.y0 + p.rows) as i64);
    let mut set_row = |y: i64, x0: i64, x1: i64| {
        if y < y0 || y >= y1 {
            return;
        }
        for x in x0.max(0)..x1.min(w) {
            let i = ((y - y0) * w + x) as usize;
            mask[i / 32] |= 1 << (i % 32);
        }
    };
    for &[row, col] in &list.points {
        set_row(row, col, col + 1);
    }
    for &[top, left, bottom, right] in &list.rects {
        for y in top.max(y0)..bottom.min(y1) {
            set_row(y, left, right);
        }
    }
    mask
}

/// Record the opcode on `data` (the band's f32 mosaic, in place). `mask` holds the list's bits
/// (or zeros for FixBadPixelsConstant, whose bits the GPU sets).
pub(crate) fn record(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &Params,
    data: &wgpu::Buffer,
    mask: &wgpu::Buffer,
) {
    let params = gpu.uniform(p);
    let groups = (gpu::groups(p.width, 16), gpu::groups(p.rows, 16));
    if p.constant != u32::MAX {
        gpu.dispatch(
            enc,
            &gpu::BAD_PIXELS,
            "mark_constant",
            &params,
            &[data, mask],
            groups,
        );
    }
    gpu.dispatch(enc, &gpu::BAD_PIXELS, "fix", &params, &[data, mask], groups);
}

/// CPU reference, loop for loop (both passes); `mask` as given to [`record`].
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, data: &mut [f32], mask: &[u32]) {
    let mut mask = mask.to_vec();
    let color = |x: u32, y: u32| (p.colors >> (2 * position(x, y))) & 3;
    if p.constant != u32::MAX {
        for row in 0..p.rows {
            for x in 0..p.width {
                let i = (row * p.width + x) as usize;
                let pos = position(x, row + p.y0);
                let sensor = (data[i] * p.to_sensor_scale[pos] + p.to_sensor_offset[pos]).round();
                if sensor == p.constant as f32 {
                    mask[i / 32] |= 1 << (i % 32);
                }
            }
        }
    }
    let flagged = |i: usize| mask[i / 32] >> (i % 32) & 1 != 0;
    for row in 0..p.rows {
        for x in 0..p.width {
            let i = (row * p.width + x) as usize;
            if !flagged(i) {
                continue;
            }
            let c = color(x, row + p.y0);
            let (mut sum, mut n) = (0.0f32, 0u32);
            for dy in -2i32..=2 {
                for dx in -2i32..=2 {
                    let (u, v) = (x as i32 + dx, row as i32 + dy);
                    if u < 0
                        || v < 0
                        || u >= p.width as i32
                        || v >= p.rows as i32
                        || (dx, dy) == (0, 0)
                    {
                        continue;
                    }
                    let j = (v as u32 * p.width + u as u32) as usize;
                    if color(u as u32, v as u32 + p.y0) == c && !flagged(j) {
                        sum += data[j];
                        n += 1;
                    }
                }
            }
            if n > 0 {
                data[i] = sum / n as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::testing::{kodak, max_abs_diff, Rng};

    fn run(p: &Params, values: &[f32], mask: &[u32]) -> Vec<f32> {
        let gpu = gpu();
        let data = gpu.storage_init("mosaic", bytemuck::cast_slice(values));
        let m = gpu.storage_init("mask", bytemuck::cast_slice(mask));
        gpu.run("bad pixels", |enc| record(gpu, enc, p, &data, &m))
            .unwrap();
        bytemuck::cast_slice(
            &gpu.read("bad pixels", &data, values.len() as u64 * 4)
                .unwrap(),
        )
        .to_vec()
    }

    /// A 12-bit mosaic (normalized, black 256) with dead pixels (raw 0 → the constant) and a
    /// hot column and block (the list).
    fn case(
        w: u32,
        rows: u32,
        y0: u32,
        rng: &mut Rng,
        scene: impl Fn(u32, u32) -> f32,
    ) -> (Vec<f32>, BadPixelList, Vec<[u32; 2]>) {
        let mut v: Vec<f32> = (0..w * rows).map(|i| scene(i % w, i / w)).collect();
        let mut dead = Vec::new();
        for _ in 0..20 {
            let (x, y) = (rng.next_u32() % w, rng.next_u32() % rows);
            v[(y * w + x) as usize] = -256.0 / 3839.0; // raw 0
            dead.push([x, y]);
        }
        let list = BadPixelList {
            phase: Cfa::Grbg,
            points: vec![[y0 as i64 + 3, 7], [y0 as i64 + 10, 20], [-5, 3]],
            rects: vec![[y0 as i64 + 5, 30, y0 as i64 + 8, 33], [0, 40, 10_000, 41]],
        };
        (v, list, dead)
    }

    #[test]
    fn gpu_matches_reference_on_random_mosaic() {
        let mut rng = Rng::new(11);
        let (w, rows, y0) = (57u32, 33u32, 7u32);
        let noise: Vec<f32> = (0..w * rows).map(|_| rng.unit()).collect();
        let (values, list, _) = case(w, rows, y0, &mut rng, |x, y| noise[(y * w + x) as usize]);
        for constant in [Some(0), None] {
            let p = Params::new(w, rows, y0, Cfa::Grbg, constant, [256.0; 4], 4095.0);
            let mask = match constant {
                Some(_) => vec![0; (p.mask_bytes() / 4) as usize],
                None => list_mask(&p, &list),
            };
            let mut cpu = values.clone();
            reference(&p, &mut cpu, &mask);
            let diff = max_abs_diff(&run(&p, &values, &mask), &cpu);
            assert!(diff < 1e-6, "{constant:?}: max diff {diff}");
            assert!(
                max_abs_diff(&cpu, &values) > 0.01,
                "{constant:?}: nothing fixed"
            );
        }
    }

    #[test]
    fn gpu_matches_reference_on_real_photo_and_repairs_defects() {
        let (w, h, px) = kodak("kodim23");
        let mut rng = Rng::new(5);
        let cfa = Cfa::Grbg;
        let scene = |x: u32, y: u32| px[(y * w + x) as usize][cfa.color_at(x as usize, y as usize)];
        let (values, list, dead) = case(w, h, 0, &mut rng, scene);
        let p = Params::new(w, h, 0, cfa, Some(0), [256.0; 4], 4095.0);
        let mask = vec![0; (p.mask_bytes() / 4) as usize];
        let mut cpu = values.clone();
        reference(&p, &mut cpu, &mask);
        assert!(max_abs_diff(&run(&p, &values, &mask), &cpu) < 1e-6);
        // Dead pixels now hold about the scene's value: the mean error of same-colour
        // interpolation on a photo is a few percent of full scale; raw 0 was 0.07 below black.
        let err: f32 = dead
            .iter()
            .map(|&[x, y]| (cpu[(y * w + x) as usize] - scene(x, y)).abs())
            .sum::<f32>()
            / dead.len() as f32;
        let before: f32 = dead
            .iter()
            .map(|&[x, y]| (values[(y * w + x) as usize] - scene(x, y)).abs())
            .sum::<f32>()
            / dead.len() as f32;
        assert!(
            err < 0.04 && err * 4.0 < before,
            "mean error at dead pixels {err} (was {before})"
        );
        let p = Params::new(w, h, 0, cfa, None, [256.0; 4], 4095.0);
        let mask = list_mask(&p, &list);
        let mut cpu = values.clone();
        reference(&p, &mut cpu, &mask);
        assert!(max_abs_diff(&run(&p, &values, &mask), &cpu) < 1e-6);
    }

    #[test]
    fn list_mask_clips_to_the_band() {
        let p = Params::new(10, 4, 6, Cfa::Rggb, None, [0.0; 4], 1.0);
        let list = BadPixelList {
            phase: Cfa::Rggb,
            points: vec![[6, 0], [5, 0], [9, 9], [10, 1]],
            rects: vec![[0, 8, 100, 100]],
        };
        let mask = list_mask(&p, &list);
        let set: Vec<usize> = (0..40)
            .filter(|i| mask[i / 32] >> (i % 32) & 1 != 0)
            .collect();
        assert_eq!(set, vec![0, 8, 9, 18, 19, 28, 29, 38, 39]);
    }
}
