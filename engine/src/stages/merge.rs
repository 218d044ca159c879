//! Merge: the aligned frames of a burst, per Bayer plane, into one mosaic — Wiener shrinkage of
//! overlapped DFT tiles towards the reference (HDR+), or a faster per-pixel robust average; X-Trans
//! mosaics (no Bayer planes) by a robust kernel regression over same-colour sites.
//! One dispatch per frame adds it into an accumulator (the reference is merged as a frame with
//! zero motion); a finishing dispatch writes the merged, normalised f32 mosaic.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{self, Gpu};
use crate::stages::align::{tiles, STRIDE, TILE};

/// How frames are merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MergeMethod {
    /// HDR+ frequency-domain merge: 16×16 overlapped tiles, Wiener shrinkage per frequency.
    #[default]
    Wiener,
    /// Per-pixel robust weighted average: faster, a little softer.
    Spatial,
}

impl MergeMethod {
    /// Parse "wiener" or "spatial".
    pub fn parse(s: &str) -> Option<MergeMethod> {
        match s.to_ascii_lowercase().as_str() {
            "wiener" => Some(MergeMethod::Wiener),
            "spatial" => Some(MergeMethod::Spatial),
            _ => None,
        }
    }
}

/// Levels of the merged mosaic (as stored in a merged DNG): black, and white − black. The merge
/// finish rounds to them, so that developing on the GPU and developing the DNG agree.
pub(crate) const MERGED_BLACK: f32 = 4096.0;
pub(crate) const MERGED_RANGE: f32 = 65535.0 - MERGED_BLACK;

/// Shrinkage constant c at strength 1: a frequency is averaged in while the frames differ there
/// by less than about √c noise standard deviations (HDR+ uses a value of this order).
pub(crate) const WIENER_C: f32 = 8.0;
/// Spatial denoising after the Wiener merge at strength 1: a frequency of the merged tile is
/// kept in proportion to how far its power stands above the remaining noise.
pub(crate) const DENOISE_C: f32 = 1.0;
/// Spatial merge: a frame's weight is exp(-d² / (c · var d)) for the neighbourhood difference d.
pub(crate) const SPATIAL_C: f32 = 4.0;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub width: u32,
    pub height: u32,
    pub pw: u32,
    pub ph: u32,
    pub tiles_x: u32,
    pub tiles_y: u32,
    pub frames: u32,
    pub _pad: u32,
    pub ref_black: [f32; 4],
    pub ref_inv_range: [f32; 4],
    pub alt_black: [f32; 4],
    pub alt_inv_range: [f32; 4],
    /// Noise variance scale, offset (normalised signal), shrinkage constant c, and c of the
    /// spatial denoising after a Wiener merge (0: none).
    pub noise: [f32; 4],
    /// The band a dispatch works on: first tile row, tile rows in the Wiener accumulator, first
    /// mosaic row, mosaic rows of output (and of the spatial accumulator). The whole image is
    /// one band.
    pub band: [u32; 4],
    /// What the frame and motion buffers hold: from mosaic row `held[0]` (even) and from tile
    /// row `held[1]` on (frames larger than a binding are bound a crop at a time); then padding.
    pub held: [u32; 4],
    /// X-Trans merge: the packed 6×6 layout ([`crate::XTrans::packed`]), then 0.
    pub xtrans: [u32; 4],
}

/// Sensor levels of one frame: black per 2×2 position, white.
pub(crate) type Levels = ([f32; 4], f32);

impl Params {
    pub fn new(width: u32, height: u32, frames: u32, reference: Levels, noise: [f32; 4]) -> Params {
        let (pw, ph) = (width / 2, height / 2);
        let inv = |(b, w): Levels| b.map(|b| 1.0 / (w - b));
        Params {
            width,
            height,
            pw,
            ph,
            tiles_x: tiles(pw),
            tiles_y: tiles(ph),
            frames,
            _pad: 0,
            ref_black: reference.0,
            ref_inv_range: inv(reference),
            alt_black: reference.0,
            alt_inv_range: inv(reference),
            noise,
            band: [0, tiles(ph), 0, height],
            held: [0; 4],
            xtrans: [0; 4],
        }
    }

    /// Parameters of an X-Trans merge: motion tiles of its gray image (3×3 windows at a stride of
    /// 2: `(width − 1) / 2` pixels wide), the spatial
    /// merge's accumulator and finish over every pixel (`pw`, `ph` cover the whole mosaic, so no
    /// column or row is left to the reference alone).
    pub fn xtrans(
        width: u32,
        height: u32,
        frames: u32,
        reference: Levels,
        noise: [f32; 4],
        layout: crate::XTrans,
    ) -> Params {
        let [a, b, c] = layout.packed();
        let (pw, ph) = (width.div_ceil(2), height.div_ceil(2));
        Params {
            pw,
            ph,
            tiles_x: tiles(width.saturating_sub(1) / 2),
            tiles_y: tiles(height.saturating_sub(1) / 2),
            xtrans: [a, b, c, 0],
            ..Params::new(width, height, frames, reference, noise)
        }
    }

    /// Whether this is an X-Trans merge (a layout is never all red, i.e. all zero).
    pub fn is_xtrans(&self) -> bool {
        self.xtrans != [0; 4]
    }

    /// Size of the gray image the motion tiles cover: one pixel per Bayer quad (the planes), or
    /// per X-Trans 3×3 window at a stride of 2.
    pub fn gray_size(&self) -> (u32, u32) {
        match self.is_xtrans() {
            true => (
                self.width.saturating_sub(1) / 2,
                self.height.saturating_sub(1) / 2,
            ),
            false => (self.pw, self.ph),
        }
    }

    /// The same for one band: output mosaic rows `[16·tile0, 16·tile0 + rows)`, Wiener tiles
    /// `[tile0, tile0 + tile_rows)`.
    pub fn with_band(&self, tile0: u32, tile_rows: u32, rows: u32) -> Params {
        Params {
            band: [tile0, tile_rows, 16 * tile0, rows],
            ..*self
        }
    }

    /// The same reading frames that hold mosaic rows from `row0` (even) and motion that holds
    /// tile rows from `tile0`.
    pub fn with_held(&self, row0: u32, tile0: u32) -> Params {
        debug_assert!(row0.is_multiple_of(2));
        Params {
            held: [row0, tile0, 0, 0],
            ..*self
        }
    }

    /// The same with the levels of the alternate frame being merged.
    pub fn with_alt(&self, alt: Levels) -> Params {
        Params {
            alt_black: alt.0,
            alt_inv_range: alt.0.map(|b| 1.0 / (alt.1 - b)),
            ..*self
        }
    }

    /// Accumulator size in f32 of the band: Wiener keeps every tile of every plane, spatial a
    /// (sum, weight) pair per pixel.
    pub fn acc_len(&self, method: MergeMethod) -> u64 {
        match method {
            MergeMethod::Wiener => 4 * (self.tiles_x * self.band[1]) as u64 * 256,
            MergeMethod::Spatial => 2 * (self.width * self.band[3]) as u64,
        }
    }
}

/// Record the merge of one frame (`alt`, with its per-tile motion) into `acc`: an X-Trans merge
/// (`p` from [`Params::xtrans`]) takes the kernel regression into the spatial (sum, weight)
/// accumulator whatever `method` (finish it with [`MergeMethod::Spatial`]).
#[allow(clippy::too_many_arguments)] // one per binding of the kernel, named as in the shader
pub(crate) fn record_frame(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    method: MergeMethod,
    p: &Params,
    reference: &wgpu::Buffer,
    alt: &wgpu::Buffer,
    motion: &wgpu::Buffer,
    acc: &wgpu::Buffer,
) {
    let per_pixel = |entry, columns| {
        let groups = (gpu::groups(columns, 16), gpu::groups(p.band[3], 16));
        (entry, groups)
    };
    let (entry, groups) = match method {
        _ if p.is_xtrans() => per_pixel("merge_xtrans_frame", p.width),
        MergeMethod::Wiener => ("merge_wiener_frame", (p.tiles_x, p.band[1] * 4)),
        MergeMethod::Spatial => per_pixel("merge_spatial_frame", p.pw * 2),
    };
    let params = gpu.uniform(p);
    let buffers = [reference, alt, motion, acc];
    gpu.dispatch(enc, &gpu::MERGE, entry, &params, &buffers, groups);
}

/// Record the finishing pass: `acc` → merged normalised f32 mosaic `out`.
pub(crate) fn record_finish(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    method: MergeMethod,
    p: &Params,
    reference: &wgpu::Buffer,
    acc: &wgpu::Buffer,
    out: &wgpu::Buffer,
) {
    let params = gpu.uniform(p);
    if method == MergeMethod::Wiener && p.noise[3] > 0.0 {
        gpu.dispatch(
            enc,
            &gpu::MERGE,
            "merge_wiener_denoise",
            &params,
            &[acc],
            (p.tiles_x, p.band[1] * 4),
        );
    }
    let entry = match method {
        MergeMethod::Wiener => "merge_wiener_finish",
        MergeMethod::Spatial => "merge_spatial_finish",
    };
    gpu.dispatch(
        enc,
        &gpu::MERGE,
        entry,
        &params,
        &[reference, acc, out],
        (gpu::groups(p.width, 16), gpu::groups(p.band[3], 16)),
    );
}

// ---- CPU reference, loop for loop ------------------------------------------------------------

#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod reference {
    use super::*;
    use std::f32::consts::TAU;

    struct Planes<'a> {
        p: &'a Params,
        raw: &'a [u16],
        black: [f32; 4],
        inv: [f32; 4],
    }

    impl Planes<'_> {
        fn at(&self, c: u32, x: i32, y: i32) -> f32 {
            let sx = x.clamp(0, self.p.pw as i32 - 1) as u32 * 2 + (c & 1);
            let sy = y.clamp(0, self.p.ph as i32 - 1) as u32 * 2 + (c >> 1);
            let i = (sy * self.p.width + sx) as usize;
            (self.raw[i] as f32 - self.black[c as usize]) * self.inv[c as usize]
        }
        fn any(&self, x: u32, y: u32) -> f32 {
            let c = ((y & 1) * 2 + (x & 1)) as usize;
            (self.raw[(y * self.p.width + x) as usize] as f32 - self.black[c]) * self.inv[c]
        }
        fn bilinear(&self, c: u32, qx: f32, qy: f32) -> f32 {
            let (fx, fy) = (qx.floor(), qy.floor());
            let (tx, ty) = (qx - fx, qy - fy);
            let (x, y) = (fx as i32, fy as i32);
            let mix = |a: f32, b: f32, t: f32| a * (1.0 - t) + b * t;
            let top = mix(self.at(c, x, y), self.at(c, x + 1, y), tx);
            let bottom = mix(self.at(c, x, y + 1), self.at(c, x + 1, y + 1), tx);
            mix(top, bottom, ty)
        }
    }

    fn planes<'a>(p: &'a Params, raw: &'a [u16], alt: bool) -> Planes<'a> {
        let (black, inv) = if alt {
            (p.alt_black, p.alt_inv_range)
        } else {
            (p.ref_black, p.ref_inv_range)
        };
        Planes { p, raw, black, inv }
    }

    fn noise_variance(p: &Params, x: f32) -> f32 {
        p.noise[0] * x.max(0.0) + p.noise[1]
    }

    fn window(n: i32) -> f32 {
        0.5 - 0.5 * (TAU * (n as f32 + 0.5) / TILE as f32).cos()
    }

    fn twiddle(j: i32) -> [f32; 2] {
        let a = TAU * (j & 15) as f32 / 16.0;
        [a.cos(), -a.sin()]
    }

    fn cmul(a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
        [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]]
    }

    /// 2-D DFT of a real or complex 16×16 tile, rows then columns, sign -1 (forward) or +1.
    fn dft(tile: &[[f32; 2]; 256], sign: i32) -> [[f32; 2]; 256] {
        let mut rows = [[0.0f32; 2]; 256];
        let mut out = [[0.0f32; 2]; 256];
        for v in 0..16 {
            for k in 0..16 {
                let mut s = [0.0f32; 2];
                for n in 0..16 {
                    let t = cmul(tile[(v * 16 + n) as usize], twiddle(sign * -(k * n)));
                    s = [s[0] + t[0], s[1] + t[1]];
                }
                rows[(v * 16 + k) as usize] = s;
            }
        }
        for k2 in 0..16 {
            for k in 0..16 {
                let mut s = [0.0f32; 2];
                for n in 0..16 {
                    let t = cmul(rows[(n * 16 + k) as usize], twiddle(sign * -(k2 * n)));
                    s = [s[0] + t[0], s[1] + t[1]];
                }
                out[(k2 * 16 + k) as usize] = s;
            }
        }
        out
    }

    /// One frame's Wiener contribution added into `acc` (layout as the shader's).
    pub fn wiener_frame(
        p: &Params,
        reference: &[u16],
        alt: &[u16],
        motion: &[[f32; 2]],
        acc: &mut [f32],
    ) {
        let (r, a) = (planes(p, reference, false), planes(p, alt, true));
        for c in 0..4u32 {
            for ty in 0..p.tiles_y {
                for tx in 0..p.tiles_x {
                    let m = motion[(ty * p.tiles_x + tx) as usize];
                    let whole = [m[0].round() as i32, m[1].round() as i32];
                    let frac = [m[0] - whole[0] as f32, m[1] - whole[1] as f32];
                    let (ox, oy) = (STRIDE * tx as i32 - STRIDE, STRIDE * ty as i32 - STRIDE);
                    let mut rt = [[0.0f32; 2]; 256];
                    let mut at = [[0.0f32; 2]; 256];
                    for v in 0..16 {
                        for u in 0..16 {
                            let w = window(u) * window(v);
                            let k = (v * 16 + u) as usize;
                            rt[k][0] = w * r.at(c, ox + u, oy + v);
                            at[k][0] = w * a.at(c, ox + u + whole[0], oy + v + whole[1]);
                        }
                    }
                    let (f0s, fzs) = (dft(&rt, -1), dft(&at, -1));
                    let mean = f0s[0][0] / 64.0;
                    let sigma2 = 2.0 * noise_variance(p, mean) * 36.0;
                    let mut merged = [[0.0f32; 2]; 256];
                    for v in 0..16i32 {
                        for u in 0..16i32 {
                            let k = (v * 16 + u) as usize;
                            let ks = [
                                if u >= 8 { u - 16 } else { u } as f32,
                                if v >= 8 { v - 16 } else { v } as f32,
                            ];
                            let phase = TAU * (ks[0] * frac[0] + ks[1] * frac[1]) / 16.0;
                            let fz = cmul(fzs[k], [phase.cos(), phase.sin()]);
                            let d = [f0s[k][0] - fz[0], f0s[k][1] - fz[1]];
                            let d2 = d[0] * d[0] + d[1] * d[1];
                            let shrink = d2 / (d2 + p.noise[2] * sigma2);
                            merged[k] = [fz[0] + shrink * d[0], fz[1] + shrink * d[1]];
                        }
                    }
                    let spatial = dft(&merged, 1);
                    let base = (((c * p.tiles_y + ty) * p.tiles_x + tx) * 256) as usize;
                    for (k, s) in spatial.iter().enumerate() {
                        acc[base + k] += s[0] / 256.0;
                    }
                }
            }
        }
    }

    pub fn wiener_denoise(p: &Params, acc: &mut [f32]) {
        let n = p.frames as f32;
        for c in 0..4u32 {
            for ty in 0..p.tiles_y {
                for tx in 0..p.tiles_x {
                    let base = (((c * p.tiles_y + ty) * p.tiles_x + tx) * 256) as usize;
                    let mut t = [[0.0f32; 2]; 256];
                    for k in 0..256 {
                        t[k][0] = acc[base + k] / n;
                    }
                    let f = dft(&t, -1);
                    let mean = f[0][0] / 64.0;
                    let sigma2 = noise_variance(p, mean) * 36.0 / n;
                    let mut g = [[0.0f32; 2]; 256];
                    for k in 0..256 {
                        let f2 = f[k][0] * f[k][0] + f[k][1] * f[k][1];
                        let shrink = if k == 0 {
                            1.0
                        } else {
                            f2 / (f2 + p.noise[3] * sigma2)
                        };
                        g[k] = [shrink * f[k][0], shrink * f[k][1]];
                    }
                    let s = dft(&g, 1);
                    for k in 0..256 {
                        acc[base + k] = s[k][0] / 256.0 * n;
                    }
                }
            }
        }
    }

    /// As the shader's `stored_level`: the levels of the merged 16-bit DNG.
    pub fn stored_level(v: f32) -> f32 {
        let q = (MERGED_BLACK + v * MERGED_RANGE)
            .round_ties_even()
            .clamp(0.0, 65535.0);
        (q - MERGED_BLACK) * (1.0 / MERGED_RANGE)
    }

    pub fn wiener_finish(p: &Params, reference: &[u16], acc: &[f32]) -> Vec<f32> {
        let r = planes(p, reference, false);
        let mut out = vec![0.0; (p.width * p.height) as usize];
        for sy in 0..p.height {
            for sx in 0..p.width {
                let c = (sy & 1) * 2 + (sx & 1);
                let (x, y) = (sx >> 1, sy >> 1);
                out[(sy * p.width + sx) as usize] = stored_level(if x >= p.pw || y >= p.ph {
                    r.any(sx, sy)
                } else {
                    let mut sum = 0.0;
                    for j in 0..2 {
                        let ty = y / 8 + j;
                        let ny = y + 8 - 8 * ty;
                        for i in 0..2 {
                            let tx = x / 8 + i;
                            let nx = x + 8 - 8 * tx;
                            sum += acc[(((c * p.tiles_y + ty) * p.tiles_x + tx) * 256
                                + ny * 16
                                + nx) as usize];
                        }
                    }
                    sum / p.frames as f32
                });
            }
        }
        out
    }

    fn motion_at(p: &Params, motion: &[[f32; 2]], x: f32, y: f32) -> [f32; 2] {
        let lim = [(p.tiles_x - 1) as f32, (p.tiles_y - 1) as f32];
        let t = [(x + 0.5) / STRIDE as f32, (y + 0.5) / STRIDE as f32];
        let mut i0 = [0u32; 2];
        let mut i1 = [0u32; 2];
        let mut f = [0.0f32; 2];
        for d in 0..2 {
            let tc = t[d].clamp(0.0, lim[d]);
            let t0 = tc.floor().min((lim[d] - 1.0).max(0.0));
            f[d] = tc - t0;
            i0[d] = t0 as u32;
            i1[d] = (i0[d] + 1).min(lim[d] as u32);
        }
        let m = |ix: u32, iy: u32| motion[(iy * p.tiles_x + ix) as usize];
        let mix = |a: [f32; 2], b: [f32; 2], t: f32| {
            [a[0] * (1.0 - t) + b[0] * t, a[1] * (1.0 - t) + b[1] * t]
        };
        mix(
            mix(m(i0[0], i0[1]), m(i1[0], i0[1]), f[0]),
            mix(m(i0[0], i1[1]), m(i1[0], i1[1]), f[0]),
            f[1],
        )
    }

    pub fn spatial_frame(
        p: &Params,
        reference: &[u16],
        alt: &[u16],
        motion: &[[f32; 2]],
        acc: &mut [f32],
    ) {
        let (r, a) = (planes(p, reference, false), planes(p, alt, true));
        for sy in 0..p.ph * 2 {
            for sx in 0..p.pw * 2 {
                let c = (sy & 1) * 2 + (sx & 1);
                let (x, y) = ((sx >> 1) as i32, (sy >> 1) as i32);
                let m = motion_at(p, motion, x as f32, y as f32);
                let q = [x as f32 + m[0], y as f32 + m[1]];
                let (mut mean_ref, mut mean_alt) = (0.0f32, 0.0f32);
                for dy in -1..=1 {
                    for dx in -1..=1 {
                        mean_ref += r.at(c, x + dx, y + dy);
                        mean_alt += a.bilinear(c, q[0] + dx as f32, q[1] + dy as f32);
                    }
                }
                mean_ref /= 9.0;
                mean_alt /= 9.0;
                let diff = mean_alt - mean_ref;
                let var_diff = 2.0 * noise_variance(p, mean_ref) / 9.0;
                let weight = (-diff * diff / (p.noise[2] * var_diff)).exp();
                let i = ((sy * p.width + sx) * 2) as usize;
                acc[i] += weight * a.bilinear(c, q[0], q[1]);
                acc[i + 1] += weight;
            }
        }
    }

    /// As the shader's constants.
    const XT_RADIUS: i32 = 3;
    const XT_KERNEL: [f32; 3] = [1.0204, 2.0, 1.0204];
    const XT_WIDE: f32 = 0.2222;

    pub fn xtrans_frame(
        p: &Params,
        reference: &[u16],
        alt: &[u16],
        motion: &[[f32; 2]],
        acc: &mut [f32],
    ) {
        let color = |x: i32, y: i32| {
            let i = ((y % 6) * 6 + x % 6) as usize;
            ((p.xtrans[i / 12] >> (2 * (i % 12))) & 3) as usize
        };
        let sensor = |raw: &[u16], black: &[f32; 4], inv: &[f32; 4], x: i32, y: i32| {
            let c = ((y & 1) * 2 + (x & 1)) as usize;
            (raw[(y as u32 * p.width + x as u32) as usize] as f32 - black[c]) * inv[c]
        };
        let inside = |x: i32, y: i32| x >= 0 && y >= 0 && x < p.width as i32 && y < p.height as i32;
        for sy in 0..p.height as i32 {
            for sx in 0..p.width as i32 {
                let c = color(sx, sy);
                let m = motion_at(p, motion, (sx as f32 - 1.0) / 2.0, (sy as f32 - 1.0) / 2.0);
                let q = [sx as f32 + 2.0 * m[0], sy as f32 + 2.0 * m[1]];
                let qi = [(q[0] + 0.5).floor() as i32, (q[1] + 0.5).floor() as i32];
                let k = XT_KERNEL[c];
                let (mut r, mut a) = ([0.0f32; 3], [0.0f32; 3]);
                let (mut kv, mut kw) = (0.0f32, 0.0f32);
                for dy in -XT_RADIUS..=XT_RADIUS {
                    for dx in -XT_RADIUS..=XT_RADIUS {
                        let (rx, ry) = (sx + dx, sy + dy);
                        if inside(rx, ry) && color(rx, ry) == c {
                            let g = (-((dx * dx + dy * dy) as f32) * XT_WIDE).exp();
                            let v = sensor(reference, &p.ref_black, &p.ref_inv_range, rx, ry);
                            r = [r[0] + g * v, r[1] + g, r[2] + g * g];
                        }
                        let (ax, ay) = (qi[0] + dx, qi[1] + dy);
                        if inside(ax, ay) && color(ax, ay) == c {
                            let d = [ax as f32 - q[0], ay as f32 - q[1]];
                            let d2 = d[0] * d[0] + d[1] * d[1];
                            let v = sensor(alt, &p.alt_black, &p.alt_inv_range, ax, ay);
                            let g = (-d2 * XT_WIDE).exp();
                            a = [a[0] + g * v, a[1] + g, a[2] + g * g];
                            let kernel = (-d2 * k).exp();
                            kv += kernel * v;
                            kw += kernel;
                        }
                    }
                }
                if a[1] <= 0.0 {
                    continue;
                }
                let mean_ref = r[0] / r[1];
                let diff = a[0] / a[1] - mean_ref;
                let var_diff = (noise_variance(p, mean_ref)
                    * (r[2] / (r[1] * r[1]) + a[2] / (a[1] * a[1])))
                    .max(1e-20);
                let weight = (-diff * diff / (p.noise[2] * var_diff)).exp();
                let i = ((sy as u32 * p.width + sx as u32) * 2) as usize;
                acc[i] += weight * kv;
                acc[i + 1] += weight * kw;
            }
        }
    }

    pub fn spatial_finish(p: &Params, reference: &[u16], acc: &[f32]) -> Vec<f32> {
        let r = planes(p, reference, false);
        let mut out = vec![0.0; (p.width * p.height) as usize];
        for sy in 0..p.height {
            for sx in 0..p.width {
                let i = (sy * p.width + sx) as usize;
                out[i] = stored_level(if sx >= p.pw * 2 || sy >= p.ph * 2 {
                    r.any(sx, sy)
                } else {
                    acc[2 * i] / acc[2 * i + 1]
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::testing::{kodak, max_abs_diff, Rng};

    /// Merge `frames` (the first is the reference) with the given motions on GPU and CPU: the
    /// X-Trans merge (finished as `Spatial`) when `p` has a layout (`Params::xtrans`; a layout is
    /// never all red, i.e. all zero).
    fn both(
        method: MergeMethod,
        p: &Params,
        frames: &[Vec<u16>],
        motions: &[Vec<[f32; 2]>],
    ) -> (Vec<f32>, Vec<f32>) {
        let gpu = gpu();
        let n = (p.width * p.height) as usize;
        let xtrans = p.is_xtrans();
        let mut acc = vec![0.0f32; p.acc_len(method) as usize];
        for (f, m) in frames.iter().zip(motions) {
            match method {
                _ if xtrans => reference::xtrans_frame(p, &frames[0], f, m, &mut acc),
                MergeMethod::Wiener => reference::wiener_frame(p, &frames[0], f, m, &mut acc),
                MergeMethod::Spatial => reference::spatial_frame(p, &frames[0], f, m, &mut acc),
            }
        }
        let cpu = match method {
            MergeMethod::Wiener => {
                if p.noise[3] > 0.0 {
                    reference::wiener_denoise(p, &mut acc);
                }
                reference::wiener_finish(p, &frames[0], &acc)
            }
            MergeMethod::Spatial => reference::spatial_finish(p, &frames[0], &acc),
        };
        let bufs: Vec<wgpu::Buffer> = frames
            .iter()
            .map(|f| gpu.storage_init("frame", bytemuck::cast_slice(f)))
            .collect();
        let mbufs: Vec<wgpu::Buffer> = motions
            .iter()
            .map(|m| gpu.storage_init("motion", bytemuck::cast_slice(m)))
            .collect();
        let acc = gpu.storage("acc", p.acc_len(method) * 4);
        let out = gpu.storage("merged", n as u64 * 4);
        gpu.run("merge", |enc| {
            enc.clear_buffer(&acc, 0, None);
            for (b, m) in bufs.iter().zip(&mbufs) {
                record_frame(gpu, enc, method, p, &bufs[0], b, m, &acc);
            }
            record_finish(gpu, enc, method, p, &bufs[0], &acc, &out);
        })
        .unwrap();
        let g = bytemuck::cast_slice(&gpu.read("merge", &out, n as u64 * 4).unwrap()).to_vec();
        (g, cpu)
    }

    /// Motion per tile uniform in ±`max` (zero for the reference).
    fn random_motion(p: &Params, rng: &mut Rng, zero: bool, max: f32) -> Vec<[f32; 2]> {
        (0..p.tiles_x * p.tiles_y)
            .map(|_| {
                if zero {
                    [0.0, 0.0]
                } else {
                    [rng.unit() * 2.0 * max - max, rng.unit() * 2.0 * max - max]
                }
            })
            .collect()
    }

    /// Motions of `n` frames, the first the reference.
    fn motions(p: &Params, rng: &mut Rng, n: usize, max: f32) -> Vec<Vec<[f32; 2]>> {
        (0..n).map(|i| random_motion(p, rng, i == 0, max)).collect()
    }

    /// X-Trans merge parameters of the tests: 12-bit frames (black 256), spatial c = 4.
    fn xtrans_params(w: u32, h: u32, frames: u32, layout: crate::XTrans) -> Params {
        let noise = [1e-3, 1e-5, SPATIAL_C, 0.0];
        Params::xtrans(w, h, frames, ([256.0; 4], 4095.0), noise, layout)
    }

    /// `n` frames of random 12-bit values (black 256).
    fn random_frames(rng: &mut Rng, n: usize, w: u32, h: u32) -> Vec<Vec<u16>> {
        (0..n)
            .map(|_| {
                (0..w * h)
                    .map(|_| 256 + (rng.next_u32() % 3840) as u16)
                    .collect()
            })
            .collect()
    }

    /// A method, its params and the motion of each frame.
    type MethodRun = (MergeMethod, Params, Vec<Vec<[f32; 2]>>);

    /// Merge `frames` (the first is the reference, with zero motion) with random motion by both
    /// methods on GPU and CPU, check they agree, and return each method's params and motions.
    fn check_both_methods(
        (w, h): (u32, u32),
        frames: &[Vec<u16>],
        rng: &mut Rng,
    ) -> Vec<MethodRun> {
        let n = frames.len() as u32;
        [MergeMethod::Wiener, MergeMethod::Spatial]
            .into_iter()
            .map(|method| {
                let p = Params::new(w, h, n, ([256.0; 4], 4095.0), [1e-3, 1e-5, 8.0, 1.0]);
                let motions = motions(&p, rng, n as usize, 3.0);
                let (g, c) = both(method, &p, frames, &motions);
                let d = max_abs_diff(&g, &c);
                assert!(d < 1e-4, "{method:?}: max diff {d}");
                (method, p, motions)
            })
            .collect()
    }

    /// `n` noisy 12-bit mosaics (black 256, ±20 levels) of kodim23 at half size through the
    /// colour filter `color(x, y)`, with their size.
    fn photo_frames(
        rng: &mut Rng,
        n: usize,
        color: impl Fn(usize, usize) -> usize,
    ) -> (u32, u32, Vec<Vec<u16>>) {
        let (kw, kh, px) = kodak("kodim23");
        let (w, h) = (kw / 2, kh / 2);
        let frames = (0..n)
            .map(|_| {
                (0..w * h)
                    .map(|i| {
                        let (x, y) = (i % w, i / w);
                        let v = px[(2 * y * kw + 2 * x) as usize][color(x as usize, y as usize)];
                        (256.0 + v * 3839.0 + (rng.unit() - 0.5) * 40.0) as u16
                    })
                    .collect()
            })
            .collect();
        (w, h, frames)
    }

    #[test]
    fn gpu_matches_reference_on_random_frames_and_motion() {
        let mut rng = Rng::new(11);
        // Odd sizes: an unpaired last column and row, and partial tiles.
        let (w, h) = (53u32, 37u32);
        let frames = random_frames(&mut rng, 3, w, h);
        check_both_methods((w, h), &frames, &mut rng);
    }

    #[test]
    fn gpu_matches_reference_on_a_real_photo_and_one_frame_is_identity() {
        let mut rng = Rng::new(5);
        let (w, h, frames) = photo_frames(&mut rng, 2, |x, y| crate::Cfa::Rggb.color_at(x, y));
        for (method, p, motions) in check_both_methods((w, h), &frames, &mut rng) {
            // The reference alone merges to itself (on the merged mosaic's levels, which clip
            // the test data's few values above white): the windows add back to exactly one.
            let p1 = Params {
                frames: 1,
                noise: [1e-3, 1e-5, 8.0, 0.0],
                ..p
            };
            let (g1, _) = both(method, &p1, &frames[..1], &motions[..1]);
            let norm: Vec<f32> = frames[0]
                .iter()
                .map(|&v| reference::stored_level((v as f32 - 256.0) / 3839.0))
                .collect();
            let d = max_abs_diff(&g1, &norm);
            assert!(d < 1e-4, "{method:?}: one frame changed by {d}");
        }
    }

    #[test]
    fn gpu_matches_reference_on_random_and_real_x_trans_frames() {
        let mut rng = Rng::new(12);
        // Odd sizes, not whole 6×6 periods; motion up to ±3 gray px (±6 px) moves windows off
        // the edges.
        let (w, h) = (53u32, 37u32);
        let random = random_frames(&mut rng, 3, w, h);
        let layout = crate::XTrans::FUJIFILM.shifted(2, 1);
        let p = xtrans_params(w, h, 3, layout);
        let m = motions(&p, &mut rng, 3, 3.0);
        let (g, c) = both(MergeMethod::Spatial, &p, &random, &m);
        let d = max_abs_diff(&g, &c);
        assert!(d < 1e-4, "random: max diff {d}");
        // A real photo (half size) with noise, sub-pixel motion.
        let layout = crate::XTrans::FUJIFILM.shifted(4, 3);
        let (w, h, real) = photo_frames(&mut rng, 3, |x, y| layout.color_at(x, y));
        let p = xtrans_params(w, h, 3, layout);
        let m = motions(&p, &mut rng, 3, 0.4);
        let (g, c) = both(MergeMethod::Spatial, &p, &real, &m);
        let d = max_abs_diff(&g, &c);
        assert!(d < 1e-4, "kodim23: max diff {d}");
    }

    #[test]
    fn a_flat_scene_merges_to_itself_under_any_motion() {
        // Kernel regression is normalised: whatever the motion and however few same-colour
        // sites the kernel finds, a scene of one colour stays that colour (to the levels of
        // the merged mosaic).
        let layout = crate::XTrans::FUJIFILM;
        let (w, h) = (48u32, 42u32);
        let levels = [900u16, 2100, 3300];
        let flat: Vec<u16> = (0..w * h)
            .map(|i| levels[layout.color_at((i % w) as usize, (i / w) as usize)])
            .collect();
        let p = xtrans_params(w, h, 4, layout);
        let m = motions(&p, &mut Rng::new(3), 4, 1.5);
        let (g, _) = both(MergeMethod::Spatial, &p, &vec![flat.clone(); 4], &m);
        let want: Vec<f32> = flat
            .iter()
            .map(|&v| reference::stored_level((v as f32 - 256.0) / 3839.0))
            .collect();
        let d = max_abs_diff(&g, &want);
        assert!(d < 1e-4, "flat scene changed by {d}");
    }
}
