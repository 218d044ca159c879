//! Alignment (HDR+-style): gray from 2×2 quads (X-Trans: 3×3 windows at a stride of 2) →
//! Gaussian pyramid → tile search per level, coarse to fine, with candidates carried down →
//! Lucas-Kanade sub-pixel refinement at the finest level. The result is one motion vector per
//! 16×16 gray tile (= per merge tile of each Bayer plane), in gray pixels (two sensor pixels).
//!
//! Frames larger than one binding are aligned a band of tile rows at a time ([`Window`]): every
//! kernel addresses rows in whole-image coordinates (edges clamp at the image's edges, not the
//! band's) and reads them from a buffer holding only the rows the band's tiles can reach, so a
//! band's motion is bit for bit the whole alignment's.

use std::ops::Range;

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
pub(crate) const fn search_radius(l: usize, n: usize) -> i32 {
    if l == 0 {
        FINE_RADIUS
    } else if l + 1 == n {
        COARSE_RADIUS
    } else {
        MIDDLE_RADIUS
    }
}

/// The largest |component| of a whole-pixel motion the search can return at level `l` of `n`
/// (that level's pixels): the coarsest searches ±radius around zero, each finer level ±radius
/// around twice a coarser answer. The refinement adds at most one pixel to the finest.
pub(crate) const fn max_motion(l: usize, n: usize) -> i32 {
    if l + 1 >= n {
        search_radius(l, n)
    } else {
        2 * max_motion(l + 1, n) + search_radius(l, n)
    }
}

/// Largest |component| of a refined motion vector, in gray pixels (45 + 1 with 4 levels).
pub(crate) const MAX_MOTION: i32 = max_motion(0, LEVELS) + 1;

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
    /// For a mosaic (or a crop of whole rows of it starting at an even row) of `width`×`height`.
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
    /// 2g, so gray pixels are two sensor pixels apart as with Bayer quads. For a crop of whole
    /// rows from an even row y0, `layout` is the frame's as seen from the crop's first row
    /// (`shifted(0, y0 % 6)`: colours repeat every 6 rows of the whole frame), and the crop's
    /// gray pixel g is the whole frame's y0 / 2 + g.
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

    /// The gray image of mosaic rows `rows` (from an even row: a crop of whole rows), whose
    /// gray pixel g is this one's `rows.start / 2 + g`. Bayer quads keep their colours at any
    /// even row; an X-Trans crop sees the layout from its first row (colours repeat every 6 rows
    /// of the whole frame).
    pub fn crop(&self, rows: Range<u32>) -> GrayParams {
        debug_assert!(rows.start.is_multiple_of(2) && rows.end <= self.height);
        let mut layout = [0u32; 3];
        for i in 0..36 {
            let j = ((i / 6 + rows.start) % 6) * 6 + i % 6;
            let c = (self.layout[(j / 12) as usize] >> (2 * (j % 12))) & 3;
            layout[(i / 12) as usize] |= c << (2 * (i % 12));
        }
        let height = rows.len() as u32;
        GrayParams {
            height,
            gh: (height + 2).saturating_sub(rows_read(self.xtrans == 1)) / 2,
            layout,
            ..*self
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct LevelParams {
    /// Whole input level (rows clamp to `h_in`) and whole output level.
    pub w_in: u32,
    pub h_in: u32,
    pub w_out: u32,
    pub h_out: u32,
    /// First input row held in the input buffer, first output row computed (and held first in
    /// the output buffer), output rows computed.
    pub in_y0: u32,
    pub out_y0: u32,
    pub out_rows: u32,
    pub _pad: u32,
}

impl LevelParams {
    /// Halve a whole `w`×`h` level.
    pub fn half_of(w: u32, h: u32) -> LevelParams {
        LevelParams::window(w, h, 0, 0..h.div_ceil(2))
    }

    /// Rows `rows` of a `w`×`h` image whose buffer holds rows from `y0`, at full size (one
    /// value per row: the gradient energy).
    pub fn rows_of(w: u32, h: u32, y0: u32, rows: Range<u32>) -> LevelParams {
        LevelParams {
            w_out: 0,
            h_out: 0,
            ..LevelParams::window(w, h, y0, rows)
        }
    }

    /// Rows `out` of the half of a `w`×`h` level whose buffer holds rows from `in_y0`.
    pub fn window(w: u32, h: u32, in_y0: u32, out: Range<u32>) -> LevelParams {
        LevelParams {
            w_in: w,
            h_in: h,
            w_out: w.div_ceil(2),
            h_out: h.div_ceil(2),
            in_y0,
            out_y0: out.start,
            out_rows: out.len() as u32,
            _pad: 0,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct TileParams {
    /// The whole level and its whole tile grid.
    pub width: u32,
    pub height: u32,
    pub tiles_x: u32,
    pub tiles_y: u32,
    pub coarse_x: u32,
    pub coarse_y: u32,
    pub radius: i32,
    pub l1: u32,
    /// First level row held in the level buffers, first tile row computed (held first in the
    /// motion buffer), tile rows computed, first tile row held in the coarse motion buffer.
    pub level_y0: u32,
    pub tile_y0: u32,
    pub tile_rows: u32,
    pub coarse_y0: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct RefineParams {
    pub width: u32,
    pub height: u32,
    pub tiles_x: u32,
    pub tiles_y: u32,
    pub iterations: u32,
    /// As in [`TileParams`].
    pub level_y0: u32,
    pub tile_y0: u32,
    pub tile_rows: u32,
}

/// Mosaic rows one gray pixel reads from row 2g: a quad's 2, an X-Trans window's 3.
pub(crate) const fn rows_read(xtrans: bool) -> u32 {
    2 + xtrans as u32
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

/// `[lo, hi)` clamped to `[0, n)`.
fn clamped(lo: i64, hi: i64, n: u32) -> Range<u32> {
    lo.clamp(0, n as i64) as u32..hi.clamp(0, n as i64) as u32
}

/// What an alignment of some tile rows computes and reads, per pyramid level (finest first):
/// the tile rows computed and the level's rows its buffers hold. The whole image is one window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub sizes: Vec<(u32, u32)>,
    pub tiles: Vec<Range<u32>>,
    pub rows: Vec<Range<u32>>,
}

impl Window {
    /// The whole `gw`×`gh` gray image.
    pub fn whole(gw: u32, gh: u32) -> Window {
        let sizes = level_sizes(gw, gh);
        Window {
            tiles: sizes.iter().map(|&(_, h)| 0..tiles(h)).collect(),
            rows: sizes.iter().map(|&(_, h)| 0..h).collect(),
            sizes,
        }
    }

    /// The finest-level tile rows `tiles0` of a `gw`×`gh` gray image, with every row and coarser
    /// tile their motion depends on, as the kernels reach (see align.wgsl):
    /// - a tile of level l carries candidates from the coarser tiles nearest its centre (tile
    ///   row round(t/2)) and their neighbours: coarser tile rows t/2 − 1 ..= ⌈t/2⌉ + 1;
    /// - its cost reads its 16 rows moved by at most [`max_motion`] rows; the refinement reads
    ///   the reference's gradient (±1 row) and the alternate bicubically at motions up to one
    ///   pixel more (rows −1 ..= +2 around);
    /// - a coarser level's row r is downsampled from rows 2r − 1 ..= 2r + 2.
    ///
    /// Windows are clamped to the image: reads beyond its edges clamp to its edge rows, which
    /// then lie in the window too.
    pub fn for_tiles(gw: u32, gh: u32, tiles0: Range<u32>) -> Window {
        let sizes = level_sizes(gw, gh);
        let n = sizes.len();
        let mut tiles_l = vec![tiles0];
        for l in 1..n {
            let t = &tiles_l[l - 1];
            let (lo, hi) = (t.start as i64 / 2 - 1, t.end as i64 / 2 + 2);
            tiles_l.push(clamped(lo, hi, tiles(sizes[l].1)));
        }
        let mut rows = vec![0..0; n];
        for l in (0..n).rev() {
            let t = &tiles_l[l];
            // Tile rows t start at STRIDE·t − STRIDE and span TILE rows.
            let first = STRIDE as i64 * t.start as i64 - STRIDE as i64;
            let last = STRIDE as i64 * (t.end as i64 - 1) - STRIDE as i64 + TILE as i64 - 1;
            let (mut lo, mut hi) = if l == 0 {
                let m = MAX_MOTION as i64;
                (first - m - 1, last + m + 2 + 1)
            } else {
                let m = max_motion(l, n) as i64;
                (first - m, last + m + 1)
            };
            if l + 1 < n {
                let c = &rows[l + 1];
                lo = lo.min(2 * c.start as i64 - 1);
                hi = hi.max(2 * c.end as i64 + 1);
            }
            rows[l] = clamped(lo, hi, sizes[l].1);
        }
        Window {
            sizes,
            tiles: tiles_l,
            rows,
        }
    }

    /// The same with the finest level's rows widened to `rows0` (a superset: the frame crop the
    /// band holds for the merge as well).
    pub fn with_gray_rows(mut self, rows0: Range<u32>) -> Window {
        debug_assert!(rows0.start <= self.rows[0].start && rows0.end >= self.rows[0].end);
        self.rows[0] = rows0;
        self
    }

    /// The mosaic rows (of a mosaic `height` rows tall) whose gray pixels (each reading
    /// `rows_read` rows from row 2g, [`rows_read`]) are the finest level's rows:
    /// every row to the bottom when the window reaches it (an odd last row, which the merge
    /// keeps as it is or reads).
    pub fn mosaic_rows(&self, height: u32, rows_read: u32) -> Range<u32> {
        let r = &self.rows[0];
        2 * r.start..if r.end == self.sizes[0].1 {
            height
        } else {
            2 * (r.end - 1) + rows_read
        }
    }
}

/// One frame's gray pyramid on the GPU: the rows `window.rows` of each level.
pub(crate) struct Pyramid {
    pub window: Window,
    pub levels: Vec<wgpu::Buffer>,
}

/// Record gray + pyramid for one frame whose raw u16 mosaic rows `2·window.rows[0]` (and the odd
/// last row, if any) are in `raw`; `gp` describes that crop.
pub(crate) fn record_pyramid(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    gp: &GrayParams,
    raw: &wgpu::Buffer,
    window: &Window,
) -> Pyramid {
    debug_assert_eq!(gp.gh as usize, window.rows[0].len());
    let gray = record_gray(gpu, enc, gp, raw);
    record_levels(gpu, enc, gray, window.clone())
}

/// Record the gray image (one pixel per Bayer quad or X-Trans window) of the mosaic in `raw`.
pub(crate) fn record_gray(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    gp: &GrayParams,
    raw: &wgpu::Buffer,
) -> wgpu::Buffer {
    let kernel = (&gpu::ALIGN, gp.entry());
    record_gray_image(gpu, enc, kernel, gp, raw, (gp.gw, gp.gh))
}

/// Record a kernel that makes an alignment gray image (f32, `w`×`h`, one thread per pixel) from
/// `input`: Bayer quads here, a bracket's RGB exposure in stages::warp.
pub(crate) fn record_gray_image<T: Pod>(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    (kernel, entry): (&gpu::Kernel, &'static str),
    params: &T,
    input: &wgpu::Buffer,
    (w, h): (u32, u32),
) -> wgpu::Buffer {
    let gray = gpu.storage("alignment gray", (w * h) as u64 * 4);
    let params = gpu.uniform(params);
    gpu.dispatch(
        enc,
        kernel,
        entry,
        &params,
        &[input, &gray],
        (gpu::groups(w, 16), gpu::groups(h, 16)),
    );
    gray
}

/// Record the coarser levels of a pyramid whose finest level (rows `window.rows[0]`) is `finest`.
pub(crate) fn record_levels(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    finest: wgpu::Buffer,
    window: Window,
) -> Pyramid {
    let mut levels = vec![finest];
    for l in 1..window.sizes.len() {
        let (w, h) = window.sizes[l - 1];
        let lp = LevelParams::window(w, h, window.rows[l - 1].start, window.rows[l].clone());
        let out = gpu.storage("pyramid level", (lp.w_out * lp.out_rows) as u64 * 4);
        let params = gpu.uniform(&lp);
        gpu.dispatch(
            enc,
            &gpu::ALIGN,
            "downsample",
            &params,
            &[&levels[l - 1], &out],
            (gpu::groups(lp.w_out, 16), gpu::groups(lp.out_rows, 16)),
        );
        levels.push(out);
    }
    Pyramid { window, levels }
}

/// Record the coarse-to-fine search and refinement of `alt` against `reference` (pyramids of one
/// window); returns the finest motion field of the window's tile rows (vec2 f32 per tile,
/// `tiles(gw)` per row).
pub(crate) fn record_align(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    reference: &Pyramid,
    alt: &Pyramid,
) -> wgpu::Buffer {
    let win = &reference.window;
    debug_assert_eq!(win, &alt.window);
    let none = gpu.storage_init("no coarse motion", &[0u8; 8]);
    let mut coarse: Option<(wgpu::Buffer, TileParams)> = None;
    let n = win.sizes.len();
    for l in (0..n).rev() {
        let (w, h) = win.sizes[l];
        let c = coarse.as_ref().map(|c| c.1);
        let tp = TileParams {
            width: w,
            height: h,
            tiles_x: tiles(w),
            tiles_y: tiles(h),
            coarse_x: c.map_or(0, |c| c.tiles_x),
            coarse_y: c.map_or(0, |c| c.tiles_y),
            radius: search_radius(l, n),
            l1: (l == 0) as u32,
            level_y0: win.rows[l].start,
            tile_y0: win.tiles[l].start,
            tile_rows: win.tiles[l].len() as u32,
            coarse_y0: c.map_or(0, |c| c.tile_y0),
        };
        let motion = gpu.storage("motion", (tp.tiles_x * tp.tile_rows) as u64 * 8);
        let params = gpu.uniform(&tp);
        let coarse_buf = coarse.as_ref().map_or(&none, |c| &c.0);
        gpu.dispatch(
            enc,
            &gpu::ALIGN,
            "align_tiles",
            &params,
            &[&reference.levels[l], &alt.levels[l], coarse_buf, &motion],
            (gpu::groups(tp.tiles_x, 8), gpu::groups(tp.tile_rows, 8)),
        );
        coarse = Some((motion, tp));
    }
    let (motion, tp) = coarse.expect("at least one level");
    let rp = RefineParams {
        width: tp.width,
        height: tp.height,
        tiles_x: tp.tiles_x,
        tiles_y: tp.tiles_y,
        iterations: REFINE_ITERATIONS,
        level_y0: tp.level_y0,
        tile_y0: tp.tile_y0,
        tile_rows: tp.tile_rows,
    };
    let params = gpu.uniform(&rp);
    gpu.dispatch(
        enc,
        &gpu::ALIGN,
        "align_refine",
        &params,
        &[&reference.levels[0], &alt.levels[0], &motion],
        (gpu::groups(rp.tiles_x, 8), gpu::groups(rp.tile_rows, 8)),
    );
    motion
}

/// Record the gradient energy of gray rows `rows` (one float each) of a `w`×`h` gray image whose
/// buffer holds rows from `y0` (and row `rows.end` too, unless it is past the image).
pub(crate) fn record_gradient_energy(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    gray: &wgpu::Buffer,
    (w, h): (u32, u32),
    y0: u32,
    rows: Range<u32>,
) -> wgpu::Buffer {
    let out = gpu.storage("row energy", rows.len() as u64 * 4);
    let params = gpu.uniform(&LevelParams::rows_of(w, h, y0, rows.clone()));
    gpu.dispatch(
        enc,
        &gpu::ALIGN,
        "gradient_energy",
        &params,
        &[gray, &out],
        (gpu::groups(rows.len() as u32, 64), 1),
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
        let mut out = vec![0.0; (p.w_out * p.out_rows) as usize];
        for oy in 0..p.out_rows as i32 {
            let gy = oy + p.out_y0 as i32;
            for ox in 0..p.w_out as i32 {
                let mut acc = 0.0;
                for (j, kj) in k.iter().enumerate() {
                    let y = (2 * gy + j as i32 - 1).clamp(0, p.h_in as i32 - 1) - p.in_y0 as i32;
                    let mut row = 0.0;
                    for (i, ki) in k.iter().enumerate() {
                        let x = (2 * ox + i as i32 - 1).clamp(0, p.w_in as i32 - 1) as usize;
                        row += ki * input[y as usize * p.w_in as usize + x];
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

    /// Pixel (x, y) of a `w`×`h` level whose rows from `y0` are in `img`, edges repeated.
    pub fn at(img: &[f32], (w, h, y0): (u32, u32, u32), x: i32, y: i32) -> f32 {
        let row = y.clamp(0, h as i32 - 1) as u32 - y0;
        img[(row * w + x.clamp(0, w as i32 - 1) as u32) as usize]
    }

    pub fn align_tiles(
        p: &TileParams,
        reference: &[f32],
        alt: &[f32],
        coarse: &[[f32; 2]],
    ) -> Vec<[f32; 2]> {
        let level = (p.width, p.height, p.level_y0);
        let cost = |ox: i32, oy: i32, d: [i32; 2]| {
            let mut cost = 0.0f32;
            for v in 0..TILE {
                let mut row = 0.0f32;
                for u in 0..TILE {
                    let e = at(alt, level, ox + u + d[0], oy + v + d[1])
                        - at(reference, level, ox + u, oy + v);
                    row += if p.l1 == 1 { e.abs() } else { e * e };
                }
                cost += row;
            }
            cost
        };
        let carried = |cx: i32, cy: i32| {
            let x = cx.clamp(0, p.coarse_x as i32 - 1) as u32;
            let y = cy.clamp(0, p.coarse_y as i32 - 1) as u32 - p.coarse_y0;
            let m = coarse[(y * p.coarse_x + x) as usize];
            [2 * m[0].round() as i32, 2 * m[1].round() as i32]
        };
        let mut out = vec![[0.0; 2]; (p.tiles_x * p.tile_rows) as usize];
        for row in 0..p.tile_rows {
            let ty = row + p.tile_y0;
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
                out[(row * p.tiles_x + tx) as usize] = [best[0] as f32, best[1] as f32];
            }
        }
        out
    }

    /// Catmull-Rom weights of the four taps around fraction `t` (tiles_common.wgsl).
    pub fn cubic_weights(t: f32) -> [f32; 4] {
        let (t2, t3) = (t * t, t * t * t);
        [
            0.5 * (-t3 + 2.0 * t2 - t),
            0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
            0.5 * (-3.0 * t3 + 4.0 * t2 + t),
            0.5 * (t3 - t2),
        ]
    }

    pub fn align_refine(p: &RefineParams, reference: &[f32], alt: &[f32], motion: &mut [[f32; 2]]) {
        let level = (p.width, p.height, p.level_y0);
        let r = |x: i32, y: i32| at(reference, level, x, y);
        let a = |x: i32, y: i32| at(alt, level, x, y);
        let gradient = |x: i32, y: i32| {
            [
                0.5 * (r(x + 1, y) - r(x - 1, y)),
                0.5 * (r(x, y + 1) - r(x, y - 1)),
            ]
        };
        let bicubic = |px: f32, py: f32| {
            let (fx, fy) = (px.floor(), py.floor());
            let (wx, wy) = (cubic_weights(px - fx), cubic_weights(py - fy));
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
        for row in 0..p.tile_rows {
            let ty = row + p.tile_y0;
            for tx in 0..p.tiles_x {
                let t = (row * p.tiles_x + tx) as usize;
                let (ox, oy) = (STRIDE * tx as i32 - STRIDE, STRIDE * ty as i32 - STRIDE);
                let start = motion[t];
                let mut m = start;
                let (mut gxx, mut gxy, mut gyy) = (0.0f32, 0.0f32, 0.0f32);
                for v in 0..TILE {
                    for u in 0..TILE {
                        let [gx, gy] = gradient(ox + u, oy + v);
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
                            let [gx, gy] = gradient(x, y);
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
                level_y0: 0,
                tile_y0: 0,
                tile_rows: tiles(h),
                coarse_y0: 0,
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
            level_y0: 0,
            tile_y0: 0,
            tile_rows: cy,
        };
        align_refine(&p, &rp[0], &ap[0], &mut coarse);
        coarse
    }

    pub fn gradient_energy(p: &LevelParams, gray: &[f32]) -> Vec<f32> {
        let (w, h) = (p.w_in, p.h_in);
        let mut out = vec![0.0; p.out_rows as usize];
        for i in 0..p.out_rows {
            let y = i + p.out_y0;
            let y1 = (y + 1).min(h - 1);
            let (row, row1) = (((y - p.in_y0) * w) as usize, ((y1 - p.in_y0) * w) as usize);
            let mut acc = 0.0f32;
            for x in 0..w as usize {
                let x1 = (x + 1).min(w as usize - 1);
                let c = gray[row + x];
                let dx = gray[row + x1] - c;
                let dy = gray[row1 + x] - c;
                acc += dx * dx + dy * dy;
            }
            out[i as usize] = acc;
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
            .run("pyramid", |enc| {
                record_pyramid(gpu, enc, gp, &buf, &Window::whole(gp.gw, gp.gh))
            })
            .unwrap();
        pyr.levels
            .iter()
            .zip(&pyr.window.sizes)
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
            // Crops of whole rows from even rows of every phase of the layout give the whole
            // gray image's rows.
            for y0 in [2u32, 4, 6, 10] {
                let cp = gp.crop(y0..h - 3);
                let crop = reference::gray_from_xtrans(&cp, &raw[(y0 * w) as usize..]);
                let first = (y0 / 2 * gp.gw) as usize;
                assert_eq!(crop, gray[first..first + crop.len()], "crop from row {y0}");
                assert_eq!(cp.gh, (h - 3 - y0 - 1) / 2);
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
        let (w, h, px) = kodak("kodim23");
        let a = shifted_mosaic(w, h, &px, 0.0, 0.0, 1);
        let b = shifted_mosaic(w, h, &px, 7.4, -3.2, 2);
        let gp = GrayParams::new(w, h, [256.0; 4], 4095.0);
        let (ga, gb) = (
            reference::gray_from_quads(&gp, &a),
            reference::gray_from_quads(&gp, &b),
        );
        let cpu = reference::align(&ga, &gb, gp.gw, gp.gh);
        let g = gpu_align(&gp, &a, &b, &Window::whole(gp.gw, gp.gh));
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

    /// The motion of `window`'s tile rows, aligning the crops of `a` and `b` (whole mosaics of
    /// `gp`) that the window holds.
    fn gpu_align(gp: &GrayParams, a: &[u16], b: &[u16], window: &Window) -> Vec<[f32; 2]> {
        let gpu = gpu();
        let rows = window.mosaic_rows(gp.height, rows_read(gp.xtrans == 1));
        let crop = |m: &[u16]| {
            let bytes = &m[(rows.start * gp.width) as usize..(rows.end * gp.width) as usize];
            gpu.storage_init("crop", bytemuck::cast_slice(bytes))
        };
        let (ba, bb) = (crop(a), crop(b));
        let cp = gp.crop(rows);
        let motion = gpu
            .run("align", |enc| {
                let pa = record_pyramid(gpu, enc, &cp, &ba, window);
                let pb = record_pyramid(gpu, enc, &cp, &bb, window);
                record_align(gpu, enc, &pa, &pb)
            })
            .unwrap();
        let n = tiles(gp.gw) as usize * window.tiles[0].len();
        bytemuck::cast_slice(&read_f32(gpu, &motion, n * 2)).to_vec()
    }

    /// A tall mosaic (two real photos, stood on end and stacked) moved by (dx, dy) sensor px.
    fn tall_mosaic(dx: f32, dy: f32, seed: u64) -> (u32, u32, Vec<u16>) {
        let mut px = Vec::new();
        let w = 192u32;
        let mut h = 0;
        for name in ["kodim23", "kodim05"] {
            let (kw, kh, img) = kodak(name);
            // Transposed: kh columns, kw rows; keep the first w columns.
            for y in 0..kw {
                for x in 0..w.min(kh) {
                    px.push(img[(x * kw + y) as usize]);
                }
            }
            h += kw;
        }
        (w, h, shifted_mosaic(w, h, &px, dx, dy, seed))
    }

    #[test]
    fn bands_of_tile_rows_aligned_from_crops_equal_the_whole_alignment() {
        // Windows strictly inside the frame (cropped above and below), at its top and its
        // bottom: the crop holds every row the band's tiles reach, so the motion is identical.
        // Bayer quads and X-Trans windows, whose crops start at rows of every phase of the
        // 6-row layout (the colours are the whole frame's, not the crop's).
        let (w, h, a) = tall_mosaic(0.0, 0.0, 1);
        let (_, _, b) = tall_mosaic(7.4, -13.2, 2);
        let xtrans = crate::XTrans::FUJIFILM.shifted(1, 3);
        for gp in [
            GrayParams::new(w, h, [256.0; 4], 4095.0),
            GrayParams::xtrans(w, h, [256.0; 4], 4095.0, xtrans),
        ] {
            let whole = gpu_align(&gp, &a, &b, &Window::whole(gp.gw, gp.gh));
            let (tx, ty) = (tiles(gp.gw) as usize, tiles(gp.gh));
            let mut inside = false;
            let mut phases = std::collections::BTreeSet::new();
            for band in [40..48, 0..5, ty - 7..ty, 61..62, 20..21] {
                let win = Window::for_tiles(gp.gw, gp.gh, band.clone());
                let rows = win.mosaic_rows(h, rows_read(gp.xtrans == 1));
                inside |= rows.start > 0 && rows.end < h;
                phases.insert(rows.start % 6);
                let got = gpu_align(&gp, &a, &b, &win);
                let want = &whole[band.start as usize * tx..band.end as usize * tx];
                let kind = gp.entry();
                assert_eq!(got, want, "{kind}: tile rows {band:?} from rows {rows:?}");
            }
            assert!(inside, "no window was cropped at both ends");
            assert_eq!(phases.len(), 3, "crops start at rows {phases:?} mod 6");
        }
    }

    #[test]
    fn gradient_energy_matches_reference() {
        let gpu = gpu();
        let (w, h, px) = kodak("kodim19");
        let gray: Vec<f32> = px.iter().map(|p| p[1]).collect();
        // The whole image, and rows 100..200 from a buffer holding rows 90..201.
        for (y0, rows, held) in [(0, 0..h, 0..h), (90, 100..200, 90..201)] {
            let p = LevelParams::rows_of(w, h, y0, rows.clone());
            let part = &gray[(held.start * w) as usize..(held.end * w) as usize];
            let cpu = reference::gradient_energy(&p, part);
            let whole = reference::gradient_energy(&LevelParams::rows_of(w, h, 0, 0..h), &gray);
            assert_eq!(cpu, whole[rows.start as usize..rows.end as usize]);
            let buf = gpu.storage_init("gray", bytemuck::cast_slice(part));
            let out = gpu
                .run("energy", |enc| {
                    record_gradient_energy(gpu, enc, &buf, (w, h), y0, rows.clone())
                })
                .unwrap();
            let g = read_f32(gpu, &out, rows.len());
            let rel = g
                .iter()
                .zip(&cpu)
                .map(|(a, b)| (a - b).abs() / b.max(1e-6))
                .fold(0.0f32, f32::max);
            assert!(rel < 1e-4, "max relative diff {rel}");
        }
    }
}
