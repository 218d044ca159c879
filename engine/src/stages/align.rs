//! Alignment (HDR+-style): gray from 2×2 quads (X-Trans: 3×3 windows at a stride of 2) →
//! Gaussian pyramid → tile search per level, coarse to fine, with candidates carried down →
//! Lucas-Kanade sub-pixel refinement at the finest level. The result is one motion vector per
//! 16×16 gray tile (= per merge tile of each Bayer plane), in gray pixels (two sensor pixels).

use bytemuck::{Pod, Zeroable};

use crate::gpu::{self, Gpu};

/// Tile side and stride of every level, in that level's pixels (as in the shader).
pub(crate) const TILE: i32 = 16;
pub(crate) const STRIDE: i32 = 8;
/// Pyramid depth, each level half the previous: ±4 px at the coarsest reaches ±64 sensor px.
pub(crate) const LEVELS: usize = 4;
/// Search radius at the coarsest level, the levels between, and the finest.
pub(crate) const COARSE_RADIUS: i32 = 4;
pub(crate) const MIDDLE_RADIUS: i32 = 2;
pub(crate) const FINE_RADIUS: i32 = 1;

/// Search radius at level `l` of `n`. The coarsest level finds the motion (±4 of its pixels is
/// ±64 sensor pixels); finer levels only correct it, which the carried candidates already bring
/// within a pixel or so. A wide search there would let periodic texture (railings, windows,
/// fences) lock onto a copy one period away.
pub(crate) fn search_radius(l: usize, n: usize) -> i32 {
    if l == 0 {
        FINE_RADIUS
    } else if l + 1 == n {
        COARSE_RADIUS
    } else {
        MIDDLE_RADIUS
    }
}
/// Lucas-Kanade iterations.
pub(crate) const REFINE_ITERATIONS: u32 = 4;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct GrayParams {
    pub width: u32,
    pub height: u32,
    pub gw: u32,
    pub gh: u32,
    pub black: [f32; 4],
    pub inv_range: [f32; 4],
    /// X-Trans: the packed 6×6 layout ([`crate::XTrans::packed`]); unused for Bayer.
    pub layout: [u32; 3],
    /// 1: an X-Trans mosaic, 0: Bayer.
    pub xtrans: u32,
}

impl GrayParams {
    pub fn new(width: u32, height: u32, black: [f32; 4], white: f32) -> GrayParams {
        GrayParams {
            width,
            height,
            gw: width / 2,
            gh: height / 2,
            black,
            inv_range: black.map(|b| 1.0 / (white - b)),
            layout: [0; 3],
            xtrans: 0,
        }
    }

    /// The gray image of an X-Trans mosaic: gray pixel g is the 3×3 window from sensor pixel
    /// 2g, so gray pixels are two sensor pixels apart as with Bayer quads.
    pub fn xtrans(
        width: u32,
        height: u32,
        black: [f32; 4],
        white: f32,
        layout: crate::XTrans,
    ) -> GrayParams {
        GrayParams {
            gw: width.saturating_sub(1) / 2,
            gh: height.saturating_sub(1) / 2,
            layout: layout.packed(),
            xtrans: 1,
            ..GrayParams::new(width, height, black, white)
        }
    }

    /// The kernel that makes this gray image.
    fn entry(&self) -> &'static str {
        match self.xtrans {
            1 => "gray_from_xtrans",
            _ => "gray_from_quads",
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct LevelParams {
    pub w_in: u32,
    pub h_in: u32,
    pub w_out: u32,
    pub h_out: u32,
}

impl LevelParams {
    pub fn half_of(w: u32, h: u32) -> LevelParams {
        LevelParams {
            w_in: w,
            h_in: h,
            w_out: w.div_ceil(2),
            h_out: h.div_ceil(2),
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct TileParams {
    pub width: u32,
    pub height: u32,
    pub tiles_x: u32,
    pub tiles_y: u32,
    pub coarse_x: u32,
    pub coarse_y: u32,
    pub radius: i32,
    pub l1: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct RefineParams {
    pub width: u32,
    pub height: u32,
    pub tiles_x: u32,
    pub tiles_y: u32,
    pub iterations: u32,
    pub _pad: [u32; 3],
}

/// Tiles along a side of `n` pixels: stride 8, the first starting half a tile outside.
pub(crate) fn tiles(n: u32) -> u32 {
    n.div_ceil(STRIDE as u32) + 1
}

/// Sizes of the pyramid levels, finest (the gray image) first.
pub(crate) fn level_sizes(gw: u32, gh: u32) -> Vec<(u32, u32)> {
    let mut sizes = vec![(gw, gh)];
    while sizes.len() < LEVELS {
        let (w, h) = *sizes.last().expect("non-empty");
        sizes.push((w.div_ceil(2), h.div_ceil(2)));
    }
    sizes
}

/// One frame's gray pyramid on the GPU.
pub(crate) struct Pyramid {
    pub sizes: Vec<(u32, u32)>,
    pub levels: Vec<wgpu::Buffer>,
}

/// Record gray + pyramid for one frame whose raw u16 mosaic is in `raw`.
pub(crate) fn record_pyramid(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    gp: &GrayParams,
    raw: &wgpu::Buffer,
) -> Pyramid {
    let sizes = level_sizes(gp.gw, gp.gh);
    let mut levels: Vec<wgpu::Buffer> = Vec::new();
    let gray = gpu.storage("gray", (gp.gw * gp.gh) as u64 * 4);
    let params = gpu.uniform(gp);
    gpu.dispatch(
        enc,
        &gpu::ALIGN,
        gp.entry(),
        &params,
        &[raw, &gray],
        (gpu::groups(gp.gw, 16), gpu::groups(gp.gh, 16)),
    );
    levels.push(gray);
    for l in 1..sizes.len() {
        let (w, h) = sizes[l - 1];
        let lp = LevelParams::half_of(w, h);
        let out = gpu.storage("pyramid level", (lp.w_out * lp.h_out) as u64 * 4);
        let params = gpu.uniform(&lp);
        gpu.dispatch(
            enc,
            &gpu::ALIGN,
            "downsample",
            &params,
            &[&levels[l - 1], &out],
            (gpu::groups(lp.w_out, 16), gpu::groups(lp.h_out, 16)),
        );
        levels.push(out);
    }
    Pyramid { sizes, levels }
}

/// Record the coarse-to-fine search and refinement of `alt` against `reference`; returns the
/// finest motion field (vec2 f32 per tile, `tiles(gw) × tiles(gh)`).
pub(crate) fn record_align(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    reference: &Pyramid,
    alt: &Pyramid,
) -> wgpu::Buffer {
    let none = gpu.storage_init("no coarse motion", &[0u8; 8]);
    let mut coarse: Option<(wgpu::Buffer, u32, u32)> = None;
    for l in (0..reference.sizes.len()).rev() {
        let (w, h) = reference.sizes[l];
        let tp = TileParams {
            width: w,
            height: h,
            tiles_x: tiles(w),
            tiles_y: tiles(h),
            coarse_x: coarse.as_ref().map_or(0, |c| c.1),
            coarse_y: coarse.as_ref().map_or(0, |c| c.2),
            radius: search_radius(l, reference.sizes.len()),
            l1: (l == 0) as u32,
        };
        let motion = gpu.storage("motion", (tp.tiles_x * tp.tiles_y) as u64 * 8);
        let params = gpu.uniform(&tp);
        let coarse_buf = coarse.as_ref().map_or(&none, |c| &c.0);
        gpu.dispatch(
            enc,
            &gpu::ALIGN,
            "align_tiles",
            &params,
            &[&reference.levels[l], &alt.levels[l], coarse_buf, &motion],
            (gpu::groups(tp.tiles_x, 8), gpu::groups(tp.tiles_y, 8)),
        );
        coarse = Some((motion, tp.tiles_x, tp.tiles_y));
    }
    let (motion, tx, ty) = coarse.expect("at least one level");
    let (w, h) = reference.sizes[0];
    let rp = RefineParams {
        width: w,
        height: h,
        tiles_x: tx,
        tiles_y: ty,
        iterations: REFINE_ITERATIONS,
        _pad: [0; 3],
    };
    let params = gpu.uniform(&rp);
    gpu.dispatch(
        enc,
        &gpu::ALIGN,
        "align_refine",
        &params,
        &[&reference.levels[0], &alt.levels[0], &motion],
        (gpu::groups(tx, 8), gpu::groups(ty, 8)),
    );
    motion
}

/// Record the per-row gradient energy of a gray image (`h` floats).
pub(crate) fn record_gradient_energy(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    gray: &wgpu::Buffer,
    w: u32,
    h: u32,
) -> wgpu::Buffer {
    let out = gpu.storage("row energy", h as u64 * 4);
    let params = gpu.uniform(&LevelParams {
        w_in: w,
        h_in: h,
        w_out: 0,
        h_out: 0,
    });
    gpu.dispatch(
        enc,
        &gpu::ALIGN,
        "gradient_energy",
        &params,
        &[gray, &out],
        (gpu::groups(h, 64), 1),
    );
    out
}

// ---- CPU references, loop for loop -----------------------------------------------------------

#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod reference {
    use super::*;

    pub fn gray_from_quads(p: &GrayParams, raw: &[u16]) -> Vec<f32> {
        let sensor = |x: u32, y: u32| {
            let pos = ((y & 1) * 2 + (x & 1)) as usize;
            (raw[(y * p.width + x) as usize] as f32 - p.black[pos]) * p.inv_range[pos]
        };
        let mut out = vec![0.0; (p.gw * p.gh) as usize];
        for gy in 0..p.gh {
            for gx in 0..p.gw {
                let (x, y) = (2 * gx, 2 * gy);
                out[(gy * p.gw + gx) as usize] = 0.25
                    * ((sensor(x, y) + sensor(x + 1, y))
                        + (sensor(x, y + 1) + sensor(x + 1, y + 1)));
            }
        }
        out
    }

    pub fn gray_from_xtrans(p: &GrayParams, raw: &[u16]) -> Vec<f32> {
        let color = |x: u32, y: u32| {
            let i = (y % 6) * 6 + x % 6;
            ((p.layout[(i / 12) as usize] >> (2 * (i % 12))) & 3) as usize
        };
        let sensor = |x: u32, y: u32| {
            let pos = ((y & 1) * 2 + (x & 1)) as usize;
            (raw[(y * p.width + x) as usize] as f32 - p.black[pos]) * p.inv_range[pos]
        };
        let mut out = vec![0.0; (p.gw * p.gh) as usize];
        for gy in 0..p.gh {
            for gx in 0..p.gw {
                let (mut sum, mut n) = ([0.0f32; 3], [0.0f32; 3]);
                for dy in 0..3 {
                    for dx in 0..3 {
                        let (x, y) = (2 * gx + dx, 2 * gy + dy);
                        sum[color(x, y)] += sensor(x, y);
                        n[color(x, y)] += 1.0;
                    }
                }
                let m = [sum[0] / n[0], sum[1] / n[1], sum[2] / n[2]];
                out[(gy * p.gw + gx) as usize] = 0.25 * (m[0] + 2.0 * m[1] + m[2]);
            }
        }
        out
    }

    pub fn downsample(p: &LevelParams, input: &[f32]) -> Vec<f32> {
        let k = [0.125f32, 0.375, 0.375, 0.125];
        let mut out = vec![0.0; (p.w_out * p.h_out) as usize];
        for oy in 0..p.h_out as i32 {
            for ox in 0..p.w_out as i32 {
                let mut acc = 0.0;
                for (j, kj) in k.iter().enumerate() {
                    let y = (2 * oy + j as i32 - 1).clamp(0, p.h_in as i32 - 1) as usize;
                    let mut row = 0.0;
                    for (i, ki) in k.iter().enumerate() {
                        let x = (2 * ox + i as i32 - 1).clamp(0, p.w_in as i32 - 1) as usize;
                        row += ki * input[y * p.w_in as usize + x];
                    }
                    acc += kj * row;
                }
                out[(oy as u32 * p.w_out + ox as u32) as usize] = acc;
            }
        }
        out
    }

    pub fn pyramid(gray: &[f32], gw: u32, gh: u32) -> Vec<Vec<f32>> {
        let sizes = level_sizes(gw, gh);
        let mut levels = vec![gray.to_vec()];
        for l in 1..sizes.len() {
            let (w, h) = sizes[l - 1];
            levels.push(downsample(&LevelParams::half_of(w, h), &levels[l - 1]));
        }
        levels
    }

    fn at(img: &[f32], w: u32, h: u32, x: i32, y: i32) -> f32 {
        img[(y.clamp(0, h as i32 - 1) as u32 * w + x.clamp(0, w as i32 - 1) as u32) as usize]
    }

    pub fn align_tiles(
        p: &TileParams,
        reference: &[f32],
        alt: &[f32],
        coarse: &[[f32; 2]],
    ) -> Vec<[f32; 2]> {
        let (w, h) = (p.width, p.height);
        let cost = |ox: i32, oy: i32, d: [i32; 2]| {
            let mut cost = 0.0f32;
            for v in 0..TILE {
                let mut row = 0.0f32;
                for u in 0..TILE {
                    let e = at(alt, w, h, ox + u + d[0], oy + v + d[1])
                        - at(reference, w, h, ox + u, oy + v);
                    row += if p.l1 == 1 { e.abs() } else { e * e };
                }
                cost += row;
            }
            cost
        };
        let carried = |cx: i32, cy: i32| {
            let x = cx.clamp(0, p.coarse_x as i32 - 1) as u32;
            let y = cy.clamp(0, p.coarse_y as i32 - 1) as u32;
            let m = coarse[(y * p.coarse_x + x) as usize];
            [2 * m[0].round() as i32, 2 * m[1].round() as i32]
        };
        let mut out = vec![[0.0; 2]; (p.tiles_x * p.tiles_y) as usize];
        for ty in 0..p.tiles_y {
            for tx in 0..p.tiles_x {
                let (ox, oy) = (STRIDE * tx as i32 - STRIDE, STRIDE * ty as i32 - STRIDE);
                let mut best = [0i32, 0];
                let mut best_cost = f32::MAX;
                if p.coarse_x == 0 {
                    best_cost = cost(ox, oy, best);
                } else {
                    let c2 = [4.0 * tx as f32, 4.0 * ty as f32];
                    let near = [(c2[0] / 8.0).round() as i32, (c2[1] / 8.0).round() as i32];
                    for j in -1..=1 {
                        for i in -1..=1 {
                            let cand = carried(near[0] + i, near[1] + j);
                            let c = cost(ox, oy, cand);
                            if c < best_cost {
                                best_cost = c;
                                best = cand;
                            }
                        }
                    }
                }
                let centre = best;
                for dy in -p.radius..=p.radius {
                    for dx in -p.radius..=p.radius {
                        let d = [centre[0] + dx, centre[1] + dy];
                        let c = cost(ox, oy, d);
                        if c < best_cost {
                            best_cost = c;
                            best = d;
                        }
                    }
                }
                out[(ty * p.tiles_x + tx) as usize] = [best[0] as f32, best[1] as f32];
            }
        }
        out
    }

    pub fn align_refine(p: &RefineParams, reference: &[f32], alt: &[f32], motion: &mut [[f32; 2]]) {
        let (w, h) = (p.width, p.height);
        let r = |x: i32, y: i32| at(reference, w, h, x, y);
        let a = |x: i32, y: i32| at(alt, w, h, x, y);
        let weights = |t: f32| {
            let (t2, t3) = (t * t, t * t * t);
            [
                0.5 * (-t3 + 2.0 * t2 - t),
                0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
                0.5 * (-3.0 * t3 + 4.0 * t2 + t),
                0.5 * (t3 - t2),
            ]
        };
        let bicubic = |px: f32, py: f32| {
            let (fx, fy) = (px.floor(), py.floor());
            let (wx, wy) = (weights(px - fx), weights(py - fy));
            let (x, y) = (fx as i32, fy as i32);
            let mut acc = 0.0f32;
            for (j, wj) in wy.iter().enumerate() {
                let yy = y + j as i32 - 1;
                let row = wx[0] * a(x - 1, yy)
                    + wx[1] * a(x, yy)
                    + wx[2] * a(x + 1, yy)
                    + wx[3] * a(x + 2, yy);
                acc += wj * row;
            }
            acc
        };
        for ty in 0..p.tiles_y {
            for tx in 0..p.tiles_x {
                let t = (ty * p.tiles_x + tx) as usize;
                let (ox, oy) = (STRIDE * tx as i32 - STRIDE, STRIDE * ty as i32 - STRIDE);
                let start = motion[t];
                let mut m = start;
                let (mut gxx, mut gxy, mut gyy) = (0.0f32, 0.0f32, 0.0f32);
                for v in 0..TILE {
                    for u in 0..TILE {
                        let (x, y) = (ox + u, oy + v);
                        let gx = 0.5 * (r(x + 1, y) - r(x - 1, y));
                        let gy = 0.5 * (r(x, y + 1) - r(x, y - 1));
                        gxx += gx * gx;
                        gxy += gx * gy;
                        gyy += gy * gy;
                    }
                }
                let det = gxx * gyy - gxy * gxy;
                let trace = gxx + gyy;
                if det <= 1e-4 * trace * trace || trace <= 0.0 {
                    continue;
                }
                for _ in 0..p.iterations {
                    let (mut bx, mut by) = (0.0f32, 0.0f32);
                    for v in 0..TILE {
                        for u in 0..TILE {
                            let (x, y) = (ox + u, oy + v);
                            let gx = 0.5 * (r(x + 1, y) - r(x - 1, y));
                            let gy = 0.5 * (r(x, y + 1) - r(x, y - 1));
                            let e = bicubic(x as f32 + m[0], y as f32 + m[1]) - r(x, y);
                            bx += gx * e;
                            by += gy * e;
                        }
                    }
                    let delta = [(gxy * by - gyy * bx) / det, (gxy * bx - gxx * by) / det];
                    for i in 0..2 {
                        m[i] = (m[i] + delta[i]).clamp(start[i] - 1.0, start[i] + 1.0);
                    }
                }
                motion[t] = m;
            }
        }
    }

    /// The whole alignment of one frame against the reference, from gray images.
    pub fn align(reference: &[f32], alt: &[f32], gw: u32, gh: u32) -> Vec<[f32; 2]> {
        let (rp, ap) = (pyramid(reference, gw, gh), pyramid(alt, gw, gh));
        let sizes = level_sizes(gw, gh);
        let mut coarse: Vec<[f32; 2]> = Vec::new();
        let (mut cx, mut cy) = (0, 0);
        for l in (0..sizes.len()).rev() {
            let (w, h) = sizes[l];
            let tp = TileParams {
                width: w,
                height: h,
                tiles_x: tiles(w),
                tiles_y: tiles(h),
                coarse_x: cx,
                coarse_y: cy,
                radius: search_radius(l, sizes.len()),
                l1: (l == 0) as u32,
            };
            coarse = align_tiles(&tp, &rp[l], &ap[l], &coarse);
            (cx, cy) = (tp.tiles_x, tp.tiles_y);
        }
        let p = RefineParams {
            width: gw,
            height: gh,
            tiles_x: cx,
            tiles_y: cy,
            iterations: REFINE_ITERATIONS,
            _pad: [0; 3],
        };
        align_refine(&p, &rp[0], &ap[0], &mut coarse);
        coarse
    }

    pub fn gradient_energy(gray: &[f32], w: u32, h: u32) -> Vec<f32> {
        let mut out = vec![0.0; h as usize];
        for y in 0..h {
            let y1 = (y + 1).min(h - 1);
            let mut acc = 0.0f32;
            for x in 0..w {
                let x1 = (x + 1).min(w - 1);
                let c = gray[(y * w + x) as usize];
                let dx = gray[(y * w + x1) as usize] - c;
                let dy = gray[(y1 * w + x) as usize] - c;
                acc += dx * dx + dy * dy;
            }
            out[y as usize] = acc;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::testing::{kodak, max_abs_diff, Rng};

    fn read_f32(gpu: &Gpu, b: &wgpu::Buffer, n: usize) -> Vec<f32> {
        bytemuck::cast_slice(&gpu.read("align test", b, n as u64 * 4).unwrap()).to_vec()
    }

    /// A 12-bit mosaic of a real photo moved by (dx, dy) sensor pixels (bilinear resampling of
    /// the luminance is enough here: both sides see the same input).
    fn shifted_mosaic(w: u32, h: u32, px: &[[f32; 3]], dx: f32, dy: f32, seed: u64) -> Vec<u16> {
        let mut rng = Rng::new(seed);
        let at = |x: i64, y: i64, c: usize| {
            px[(y.clamp(0, h as i64 - 1) * w as i64 + x.clamp(0, w as i64 - 1)) as usize][c]
        };
        (0..(w * h) as usize)
            .map(|i| {
                let (x, y) = ((i % w as usize) as f32 + dx, (i / w as usize) as f32 + dy);
                let (fx, fy) = (x.floor(), y.floor());
                let (tx, ty) = (x - fx, y - fy);
                let c = crate::Cfa::Rggb.color_at(i % w as usize, i / w as usize);
                let (x0, y0) = (fx as i64, fy as i64);
                let v = (at(x0, y0, c) * (1.0 - tx) + at(x0 + 1, y0, c) * tx) * (1.0 - ty)
                    + (at(x0, y0 + 1, c) * (1.0 - tx) + at(x0 + 1, y0 + 1, c) * tx) * ty;
                (256.0 + v * 3839.0 + (rng.unit() - 0.5) * 8.0).round() as u16
            })
            .collect()
    }

    fn gpu_gray_and_pyramid(gp: &GrayParams, raw: &[u16]) -> Vec<Vec<f32>> {
        let gpu = gpu();
        let buf = gpu.storage_init("raw", bytemuck::cast_slice(raw));
        let pyr = gpu
            .run("pyramid", |enc| record_pyramid(gpu, enc, gp, &buf))
            .unwrap();
        pyr.levels
            .iter()
            .zip(&pyr.sizes)
            .map(|(b, &(w, h))| read_f32(gpu, b, (w * h) as usize))
            .collect()
    }

    #[test]
    fn gray_and_pyramid_match_reference_on_random_and_real_mosaics() {
        let mut rng = Rng::new(3);
        // Odd sizes: the last column/row of an odd mosaic is not part of any quad.
        let (w, h) = (75u32, 41u32);
        let random: Vec<u16> = (0..w * h)
            .map(|_| (rng.next_u32() & 0xfff) as u16)
            .collect();
        let (kw, kh, px) = kodak("kodim05");
        let real = shifted_mosaic(kw, kh, &px, 0.0, 0.0, 1);
        for (w, h, raw) in [(w, h, random), (kw, kh, real)] {
            let gp = GrayParams::new(w, h, [256.0, 250.0, 260.0, 255.0], 4095.0);
            let gray = reference::gray_from_quads(&gp, &raw);
            let cpu = reference::pyramid(&gray, gp.gw, gp.gh);
            let gpu_levels = gpu_gray_and_pyramid(&gp, &raw);
            assert_eq!(gpu_levels.len(), LEVELS);
            for (l, (g, c)) in gpu_levels.iter().zip(&cpu).enumerate() {
                let d = max_abs_diff(g, c);
                assert!(d < 1e-5, "level {l}: max diff {d}");
            }
        }
    }

    #[test]
    fn x_trans_gray_and_pyramid_match_reference_on_random_and_real_mosaics() {
        let mut rng = Rng::new(4);
        // Odd and even sizes, not whole 6×6 periods, and layouts in phases whose windows hold
        // 1, 2 or 3 reds.
        let (w, h) = (76u32, 43u32);
        let random: Vec<u16> = (0..w * h)
            .map(|_| (rng.next_u32() & 0xfff) as u16)
            .collect();
        let (kw, kh, px) = kodak("kodim05");
        let real = shifted_mosaic(kw, kh, &px, 0.0, 0.0, 1);
        for (w, h, raw, layout) in [
            (w, h, random, crate::XTrans::FUJIFILM.shifted(1, 0)),
            (kw, kh, real, crate::XTrans::FUJIFILM.shifted(2, 5)),
        ] {
            let gp = GrayParams::xtrans(w, h, [256.0, 250.0, 260.0, 255.0], 4095.0, layout);
            let gray = reference::gray_from_xtrans(&gp, &raw);
            let cpu = reference::pyramid(&gray, gp.gw, gp.gh);
            for (l, (g, c)) in gpu_gray_and_pyramid(&gp, &raw).iter().zip(&cpu).enumerate() {
                let d = max_abs_diff(g, c);
                assert!(d < 1e-5, "level {l}: max diff {d}");
            }
        }
        // A flat scene of any colour balance gives the same gray in every window.
        let layout = crate::XTrans::FUJIFILM.shifted(1, 4);
        let (w, h) = (36u32, 30u32);
        let flat: Vec<u16> = (0..w * h)
            .map(|i| [1000u16, 2000, 3000][layout.color_at((i % w) as usize, (i / w) as usize)])
            .collect();
        let gp = GrayParams::xtrans(w, h, [0.0; 4], 4000.0, layout);
        let gray = reference::gray_from_xtrans(&gp, &flat);
        assert!(gray.iter().all(|&g| (g - 0.5).abs() < 1e-6), "{gray:?}");
    }

    #[test]
    fn tile_search_and_refinement_match_reference_on_a_real_photo() {
        let gpu = gpu();
        let (w, h, px) = kodak("kodim23");
        let a = shifted_mosaic(w, h, &px, 0.0, 0.0, 1);
        let b = shifted_mosaic(w, h, &px, 7.4, -3.2, 2);
        let gp = GrayParams::new(w, h, [256.0; 4], 4095.0);
        let (ga, gb) = (
            reference::gray_from_quads(&gp, &a),
            reference::gray_from_quads(&gp, &b),
        );
        let cpu = reference::align(&ga, &gb, gp.gw, gp.gh);
        let (ba, bb) = (
            gpu.storage_init("a", bytemuck::cast_slice(&a)),
            gpu.storage_init("b", bytemuck::cast_slice(&b)),
        );
        let motion = gpu
            .run("align", |enc| {
                let pa = record_pyramid(gpu, enc, &gp, &ba);
                let pb = record_pyramid(gpu, enc, &gp, &bb);
                record_align(gpu, enc, &pa, &pb)
            })
            .unwrap();
        let g: Vec<[f32; 2]> =
            bytemuck::cast_slice(&read_f32(gpu, &motion, cpu.len() * 2)).to_vec();
        // The integer search may break a near-tie differently in the last bit of a cost: allow a
        // few tiles to differ, and the rest to agree to within float rounding of the refinement.
        let differ = g
            .iter()
            .zip(&cpu)
            .filter(|(g, c)| (g[0] - c[0]).abs() > 1e-3 || (g[1] - c[1]).abs() > 1e-3)
            .count();
        assert!(
            differ * 100 <= cpu.len(),
            "{differ} of {} tiles differ",
            cpu.len()
        );
        // And the motion is right: frame b shows the scene moved by (7.4, -3.2) sensor px, so a
        // reference pixel's content is found at (-3.7, +1.6) gray px in b (away from borders).
        let tx = tiles(gp.gw);
        let mut err = 0.0;
        let mut n = 0;
        for (t, m) in g.iter().enumerate() {
            let (x, y) = (t as u32 % tx, t as u32 / tx);
            if x >= 3 && y >= 3 && x + 3 < tx && y + 3 < tiles(gp.gh) {
                err += ((m[0] + 3.7).powi(2) + (m[1] - 1.6).powi(2)).sqrt();
                n += 1;
            }
        }
        let epe = err / n as f32;
        eprintln!("mean end-point error {epe} gray px");
        // The bound: 0.25 sensor px = 0.125 gray px.
        assert!(epe < 0.125, "mean end-point error {epe} gray px");
    }

    #[test]
    fn gradient_energy_matches_reference() {
        let gpu = gpu();
        let (w, h, px) = kodak("kodim19");
        let gray: Vec<f32> = px.iter().map(|p| p[1]).collect();
        let cpu = reference::gradient_energy(&gray, w, h);
        let buf = gpu.storage_init("gray", bytemuck::cast_slice(&gray));
        let out = gpu
            .run("energy", |enc| record_gradient_energy(gpu, enc, &buf, w, h))
            .unwrap();
        let g = read_f32(gpu, &out, h as usize);
        let rel = g
            .iter()
            .zip(&cpu)
            .map(|(a, b)| (a - b).abs() / b.max(1e-6))
            .fold(0.0f32, f32::max);
        assert!(rel < 1e-4, "max relative diff {rel}");
    }
}
