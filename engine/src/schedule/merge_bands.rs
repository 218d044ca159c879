//! Bands of a burst merge: frames of any size are aligned and merged a band of rows at a time,
//! each frame bound as a crop of whole rows. The crop holds every row the band's alignment can
//! reach through the pyramid (coarse tiles, search radii, carried candidates, refinement and the
//! downsampling taps: [`align::Window::for_tiles`]) and the merge's reads at the largest motion
//! the alignment can return; kernels address rows in whole-frame coordinates and clamp at the
//! frame's edges, so every band computes bit for bit what one whole pass would. A frame that
//! fits one binding is one band: its crop is the whole frame.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::raw::Frame;
use crate::stages::align::{self, GrayParams, Pyramid, Window};
use crate::stages::merge::{MergeMethod, Params};

/// Mosaic rows per merge tile row (a plane tile row is 8 plane rows apart, 2 mosaic rows each).
const TILE_ROWS: u32 = 16;

/// One band of a merge.
#[derive(Clone, Debug)]
pub(crate) struct Band {
    /// The merge's parameters for the band: its output rows and accumulator tiles (`band`) and
    /// what its buffers hold (`held`).
    pub p: Params,
    /// Its alignment: the motion's tile rows (`tiles[0]`, those the band's merge reads) and the
    /// rows of each pyramid level.
    pub window: Window,
    /// The mosaic rows of each frame's crop.
    pub rows: Range<u32>,
}

impl Band {
    /// The band whose output and accumulator are `p.band`.
    fn new(p: Params, method: MergeMethod) -> Band {
        let tiles_y = p.tiles_y;
        let out = p.band[2]..p.band[2] + p.band[3];
        // Wiener: the accumulator's tiles; spatial: the tiles whose centres surround each plane
        // row (motion is interpolated between them).
        let motion_tiles = match method {
            MergeMethod::Wiener => p.band[0]..p.band[0] + p.band[1],
            MergeMethod::Spatial => {
                let (y0, y1) = (out.start / 2, (out.end - 1) / 2);
                (y0 / 8).min(tiles_y - 1)..(y1 / 8 + 2).min(tiles_y)
            }
        };
        let (gw, gh) = p.gray_size();
        let window = Window::for_tiles(gw, gh, motion_tiles);
        // The alignment reaches one gray row further than the merge on every side (the
        // refinement's bicubic taps around the same largest motion), so its rows hold the
        // merge's too (the X-Trans merge's ±3 sensor rows around a moved site as well: the
        // tiles' rows reach 8 gray rows past the band's on each side); the output rows are
        // added for the odd last row of an odd-height frame. A gray pixel reads 2 mosaic rows
        // (a quad) or 3 (an X-Trans window) from row 2g.
        let rows_read = align::rows_read(p.is_xtrans());
        let aligned = window.mosaic_rows(p.height, rows_read);
        let rows = aligned.start.min(out.start)..aligned.end.max(out.end);
        let crop_gh = (rows.len() as u32 + 2 - rows_read) / 2;
        let window = window.with_gray_rows(rows.start / 2..rows.start / 2 + crop_gh);
        let p = p.with_held(rows.start, window.tiles[0].start);
        Band { p, window, rows }
    }

    /// Output mosaic rows.
    pub fn out(&self) -> Range<u32> {
        self.p.band[2]..self.p.band[2] + self.p.band[3]
    }

    /// Every buffer the band binds, (bytes, what): frame crops, pyramid levels, motion fields,
    /// accumulator, merged rows.
    fn bindings(&self, method: MergeMethod) -> Vec<(u64, &'static str)> {
        let w = self.p.width as u64;
        let mut b = vec![
            (self.rows.len() as u64 * w * 2, "frame crop (16-bit mosaic)"),
            (self.p.acc_len(method) * 4, "merge accumulator"),
            (self.p.band[3] as u64 * w * 4, "merged rows (f32)"),
        ];
        let win = &self.window;
        for l in 0..win.sizes.len() {
            let lw = win.sizes[l].0 as u64;
            b.push((
                win.rows[l].len() as u64 * lw * 4,
                "gray pyramid level (f32)",
            ));
            b.push((
                win.tiles[l].len() as u64 * align::tiles(lw as u32) as u64 * 8,
                "motion field",
            ));
        }
        b
    }

    /// Gray params of the band's crop of `f`.
    pub fn gray_params(&self, f: &Frame) -> GrayParams {
        gray_params(f).crop(self.rows.clone())
    }

    /// Upload the band's crop of `f` (u16 mosaic rows).
    pub fn upload(&self, gpu: &Gpu, f: &Frame) -> wgpu::Buffer {
        let w = f.width as usize;
        let rows = &f.mosaic[self.rows.start as usize * w..self.rows.end as usize * w];
        gpu.storage_init("raw frame", bytemuck::cast_slice(rows))
    }

    /// Record the gray pyramid of the band's crop of `f` (uploaded in `raw`).
    pub fn record_pyramid(
        &self,
        gpu: &Gpu,
        enc: &mut wgpu::CommandEncoder,
        f: &Frame,
        raw: &wgpu::Buffer,
    ) -> Pyramid {
        align::record_pyramid(gpu, enc, &self.gray_params(f), raw, &self.window)
    }
}

/// The gray image alignment works on: Bayer quads, or X-Trans 3×3 windows (whole frame).
pub(crate) fn gray_params(f: &Frame) -> GrayParams {
    match f.xtrans {
        None => GrayParams::new(f.width, f.height, f.black, f.white),
        Some(layout) => GrayParams::xtrans(f.width, f.height, f.black, f.white, layout),
    }
}

/// The band's output rows: whole tile rows, `k` of them (the last band what is left).
fn split(p: &Params, method: MergeMethod, k: u32) -> Vec<Band> {
    let mut bands = Vec::new();
    let mut t0 = 0;
    while TILE_ROWS * t0 < p.height {
        let end = (TILE_ROWS * (t0 + k)).min(p.height);
        // A Wiener band's output rows need one more tile row than they cover (each pixel sums
        // the two tile rows around it): neighbouring bands both compute that row of tiles,
        // identically.
        let tile_rows = match method {
            MergeMethod::Wiener => (k + 1).min(p.tiles_y - t0),
            MergeMethod::Spatial => 0,
        };
        let pb = p.with_band(t0, tile_rows, end - TILE_ROWS * t0);
        bands.push(Band::new(pb, method));
        t0 += k;
    }
    bands
}

/// Bands of whole tile rows (16 mosaic rows) in which every buffer the merge binds fits `limit`
/// bytes, at most `max_rows` output rows each (at least one tile row). The accumulator
/// (Wiener: 16 bytes per pixel) sets the first guess; crops, whose halo does not shrink with
/// the band, may make bands narrower still. An error names the frame, the buffer that does not
/// fit even one tile row at a time, and what to do.
pub(crate) fn plan(
    p: &Params,
    method: MergeMethod,
    limit: u64,
    max_rows: Option<u32>,
    source: &std::path::Path,
) -> Result<Vec<Band>> {
    let per_tile_row = match method {
        MergeMethod::Wiener => 4 * p.tiles_x as u64 * 256 * 4,
        MergeMethod::Spatial => TILE_ROWS as u64 * p.width as u64 * 2 * 4,
    };
    let fit = match method {
        MergeMethod::Wiener => (limit / per_tile_row).saturating_sub(1),
        MergeMethod::Spatial => limit / per_tile_row,
    };
    // (Spatial and X-Trans accumulators are per pixel: bands of 16 rows, whatever the tiles.)
    let bands = match method {
        MergeMethod::Wiener => p.tiles_y,
        MergeMethod::Spatial => p.height.div_ceil(TILE_ROWS),
    };
    let mut k = fit.clamp(1, bands as u64) as u32;
    if let Some(rows) = max_rows {
        k = k.min((rows / TILE_ROWS).max(1));
    }
    loop {
        let bands = split(p, method, k);
        let (bytes, what) = bands
            .iter()
            .flat_map(|b| b.bindings(method))
            .max_by_key(|b| b.0)
            .expect("a band binds buffers");
        if bytes <= limit {
            return Ok(bands);
        }
        if k == 1 {
            return Err(Error::Limits {
                path: source.to_path_buf(),
                what: format!(
                    "{}×{} frames cannot be merged on this device even {TILE_ROWS} rows at a time: \
                     the {what} of such a band takes {bytes} bytes ({:.1} MiB), more than the \
                     {limit}-byte ({:.1} MiB) limit of one storage binding. Bin the frames before \
                     merging (binning 2 or 3), crop them, or use a GPU with larger bindings \
                     (`burstpipe devices` lists them)",
                    p.width,
                    p.height,
                    bytes as f64 / 1048576.0,
                    limit as f64 / 1048576.0
                ),
            });
        }
        // The halo does not shrink with k: shrink at least by one.
        k = ((k as u64 * limit / bytes) as u32).clamp(1, k - 1);
    }
}

/// Whole motion fields (`tiles(pw)` × `tiles(ph)`, gray pixels) of `alts` against `reference`,
/// aligned band by band: bit for bit the whole alignment.
pub(crate) fn motion_fields(
    gpu: &Gpu,
    bands: &[Band],
    reference: &Frame,
    alts: &[&Frame],
    stage: &str,
) -> Result<Vec<Vec<[f32; 2]>>> {
    let p = &bands[0].p;
    let tx = p.tiles_x as usize;
    let mut fields = vec![vec![[0.0f32; 2]; tx * p.tiles_y as usize]; alts.len()];
    // Bands' tile rows overlap: each row is taken from the first band that aligns it.
    let mut next = 0;
    for band in bands {
        let t = &band.window.tiles[0];
        let keep = next.max(t.start)..t.end;
        if keep.is_empty() {
            continue;
        }
        let ref_raw = band.upload(gpu, reference);
        let ref_pyr = gpu.run(stage, |enc| {
            band.record_pyramid(gpu, enc, reference, &ref_raw)
        })?;
        for (f, field) in alts.iter().zip(&mut fields) {
            let raw = band.upload(gpu, f);
            let motion = gpu.run(stage, |enc| {
                let pyr = band.record_pyramid(gpu, enc, f, &raw);
                align::record_align(gpu, enc, &ref_pyr, &pyr)
            })?;
            let bytes = gpu.read(stage, &motion, (t.len() * tx) as u64 * 8)?;
            let got: &[[f32; 2]] = bytemuck::cast_slice(&bytes);
            let skip = (keep.start - t.start) as usize * tx;
            field[keep.start as usize * tx..keep.end as usize * tx]
                .copy_from_slice(&got[skip..skip + keep.len() * tx]);
        }
        next = keep.end;
    }
    debug_assert_eq!(next, p.tiles_y);
    Ok(fields)
}

/// Gradient energy of `f`'s gray image (sum over rows of squared forward differences), row by
/// row over the bands and summed in row order: the whole image's value.
pub(crate) fn gradient_energy(gpu: &Gpu, bands: &[Band], f: &Frame) -> Result<f64> {
    let whole = gray_params(f);
    let (gw, gh) = (whole.gw, whole.gh);
    let mut rows = Vec::with_capacity(gh as usize);
    for band in bands {
        let out = band.out();
        let g = out.start / 2..(out.end / 2).min(gh);
        if g.is_empty() {
            continue;
        }
        let raw = band.upload(gpu, f);
        let energy = gpu.run("reference choice", |enc| {
            let gray = align::record_gray(gpu, enc, &band.gray_params(f), &raw);
            let y0 = band.window.rows[0].start;
            align::record_gradient_energy(gpu, enc, &gray, (gw, gh), y0, g.clone())
        })?;
        let bytes = gpu.read("reference choice", &energy, g.len() as u64 * 4)?;
        rows.extend_from_slice(bytemuck::cast_slice::<u8, f32>(&bytes));
    }
    debug_assert_eq!(rows.len(), gh as usize);
    Ok(rows.iter().map(|&v| v as f64).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(w: u32, h: u32) -> Params {
        Params::new(w, h, 4, ([256.0; 4], 4095.0), [1e-3, 1e-5, 8.0, 1.0])
    }

    fn xtrans_params(w: u32, h: u32) -> Params {
        let layout = crate::XTrans::FUJIFILM;
        Params::xtrans(
            w,
            h,
            4,
            ([256.0; 4], 4095.0),
            [1e-3, 1e-5, 4.0, 0.0],
            layout,
        )
    }

    #[test]
    fn bands_cover_every_row_once_and_their_crops_hold_what_they_reach() {
        // Bayer by both methods, X-Trans (always the per-pixel accumulator).
        let cases = [
            (MergeMethod::Wiener, false),
            (MergeMethod::Spatial, false),
            (MergeMethod::Spatial, true),
        ];
        for (method, xtrans) in cases {
            for (w, h, k) in [
                (128, 1536, 4),
                (130, 1537, 1),
                (64, 100, 3),
                (4000, 3000, 40),
            ] {
                let p = match xtrans {
                    false => params(w, h),
                    true => xtrans_params(w, h),
                };
                let bands = split(&p, method, k);
                let mut next = 0;
                for b in &bands {
                    assert_eq!(b.out().start, next);
                    next = b.out().end;
                    // The crop starts on an even row and holds the output rows, and its gray
                    // pixels (quads or X-Trans 3×3 windows) are the gray rows of the window.
                    assert_eq!(b.rows.start % 2, 0);
                    assert!(b.rows.start <= b.out().start && b.rows.end >= b.out().end);
                    assert_eq!(b.window.rows[0].start * 2, b.rows.start);
                    let crop_gh = (b.rows.len() as u32 - xtrans as u32) / 2;
                    assert_eq!(b.window.rows[0].len() as u32, crop_gh);
                    // The merge's reads at the largest motion lie in the crop (gray rows, from
                    // the motion's tiles; clamped at the frame's edges).
                    let t = &b.window.tiles[0];
                    let m = align::MAX_MOTION;
                    let lo = (8 * t.start as i32 - 8 - m).max(0) as u32;
                    let hi = ((8 * t.end as i32 + m) as u32).min(p.gray_size().1);
                    assert!(b.window.rows[0].start <= lo && b.window.rows[0].end >= hi);
                    // X-Trans: every output site's 7×7 window around its site moved by up to
                    // the largest motion (2 sensor px per gray px, rounded).
                    if xtrans {
                        let reach = 2 * m + 1 + 3;
                        let lo = (b.out().start as i32 - reach).max(0) as u32;
                        let hi = (b.out().end as i32 - 1 + reach + 1).min(h as i32) as u32;
                        assert!(b.rows.start <= lo && b.rows.end >= hi, "{:?}", b.rows);
                    }
                }
                assert_eq!(next, h, "{method:?} {w}×{h} k {k}");
            }
        }
    }

    #[test]
    fn bands_fit_the_limit_or_the_error_says_what_does_not() {
        let p = params(4000, 3000);
        let limit = 24 << 20;
        let bands = plan(&p, MergeMethod::Wiener, limit, None, "a.dng".as_ref()).unwrap();
        assert!(bands.len() > 1);
        for b in &bands {
            assert!(b.bindings(MergeMethod::Wiener).iter().all(|x| x.0 <= limit));
        }
        // A frame that fits is one band whose crop is the whole frame.
        let one = plan(&p, MergeMethod::Wiener, 1 << 30, None, "a.dng".as_ref()).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].rows, 0..3000);
        let err = plan(&p, MergeMethod::Spatial, 1 << 20, None, "a.dng".as_ref()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Limits { .. }), "{msg}");
        for needle in [
            "a.dng",
            "4000×3000",
            "frame crop",
            "1048576-byte",
            "Bin the frames",
        ] {
            assert!(msg.contains(needle), "{msg}");
        }
    }
}
