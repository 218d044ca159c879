//! Demosaic: Bayer mosaic (f32) → linear camera RGB (f16 RGBA), bilinear, Malvar-He-Cutler, or the
//! high-quality RCD-based method (its own kernel and module, `demosaic_rcd`).

use bytemuck::{Pod, Zeroable};

use crate::gpu::{self, Gpu};
use crate::raw::Cfa;

/// Demosaicing method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Demosaic {
    /// Bilinear interpolation: fast, soft, colour fringes at edges.
    Bilinear,
    /// Malvar-He-Cutler 2004 gradient-corrected linear interpolation: sharp and cheap.
    Mhc,
    /// Ratio Corrected Demosaicing's edge-directed structure with colour-difference estimates and a
    /// median refinement of the colour differences: the high-quality method (five passes), default.
    #[default]
    Rcd,
    /// X-Trans sensors: each missing colour the mean of its samples in the 3×3 (else 5×5)
    /// neighbourhood. The baseline.
    XtransBilinear,
    /// X-Trans sensors: a Markesteijn-class method (directional green, colour differences per
    /// direction, the most homogeneous directions kept). The default for X-Trans.
    Markesteijn,
}

impl Demosaic {
    /// Parse "bilinear", "mhc", "rcd", "xtrans-bilinear" or "markesteijn".
    pub fn parse(s: &str) -> Option<Demosaic> {
        match s.to_ascii_lowercase().as_str() {
            "bilinear" => Some(Demosaic::Bilinear),
            "mhc" | "malvar" => Some(Demosaic::Mhc),
            "rcd" => Some(Demosaic::Rcd),
            "xtrans-bilinear" => Some(Demosaic::XtransBilinear),
            "markesteijn" => Some(Demosaic::Markesteijn),
            _ => None,
        }
    }

    /// Whether this is one of the X-Trans methods.
    pub fn is_xtrans(self) -> bool {
        matches!(self, Demosaic::XtransBilinear | Demosaic::Markesteijn)
    }

    /// The method used on an X-Trans frame: X-Trans methods as they are, Bayer bilinear → X-Trans
    /// bilinear, the others (MHC, RCD, the default) → Markesteijn.
    pub fn for_xtrans(self) -> Demosaic {
        match self {
            Demosaic::Bilinear | Demosaic::XtransBilinear => Demosaic::XtransBilinear,
            _ => Demosaic::Markesteijn,
        }
    }

    fn entry(self) -> &'static str {
        match self {
            Demosaic::Bilinear => "demosaic_bilinear",
            Demosaic::Mhc => "demosaic_mhc",
            Demosaic::Rcd => unreachable!("RCD has its own passes"),
            Demosaic::XtransBilinear | Demosaic::Markesteijn => {
                unreachable!("X-Trans methods have their own module")
            }
        }
    }
}

/// Rows of context each side that the widest method needs (RCD's chained passes; bilinear and MHC
/// need 2, their shader's tile halo).
pub(crate) const HALO: u32 = super::demosaic_rcd::HALO;
const TILE: u32 = 32;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub width: u32,
    pub rows_in: u32,
    pub y0: u32,
    pub height: u32,
    pub out_y0: u32,
    pub out_rows: u32,
    pub cfa: u32,
    pub _pad: u32,
}

impl Params {
    /// Input holds image rows `y0 .. y0 + rows_in`; produce rows `out_y0 .. out_y0 + out_rows`.
    pub fn new(
        width: u32,
        height: u32,
        cfa: Cfa,
        y0: u32,
        rows_in: u32,
        out_y0: u32,
        out_rows: u32,
    ) -> Params {
        Params {
            width,
            rows_in,
            y0,
            height,
            out_y0,
            out_rows,
            cfa: cfa.packed(),
            _pad: 0,
        }
    }
}

pub(crate) fn record(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &Params,
    method: Demosaic,
    mosaic: &wgpu::Buffer,
    out: &wgpu::Buffer,
) {
    if method == Demosaic::Rcd {
        return super::demosaic_rcd::record(gpu, enc, p, mosaic, out);
    }
    let params = gpu.uniform(p);
    let groups = (gpu::groups(p.width, TILE), gpu::groups(p.out_rows, TILE));
    gpu.dispatch(
        enc,
        &gpu::DEMOSAIC,
        method.entry(),
        &params,
        &[mosaic, out],
        groups,
    );
}

#[cfg_attr(not(test), allow(dead_code))]
fn mirror(v: i64, n: i64) -> usize {
    let mut m = v.abs();
    if m >= n {
        m = 2 * n - 2 - m;
    }
    m.clamp(0, n - 1) as usize
}

/// CPU reference: the same stencils, pixel by pixel, in f32.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, method: Demosaic, mosaic: &[f32]) -> Vec<[f32; 3]> {
    if method == Demosaic::Rcd {
        return super::demosaic_rcd::reference(p, mosaic);
    }
    let color = |x: u32, y: u32| (p.cfa >> (((y & 1) * 2 + (x & 1)) * 2) & 3) as usize;
    let mut out = vec![[0.0; 3]; (p.width * p.out_rows) as usize];
    for oy in 0..p.out_rows {
        let y = p.out_y0 + oy;
        for x in 0..p.width {
            let s = |dx: i64, dy: i64| {
                let gx = mirror(x as i64 + dx, p.width as i64);
                let gy = mirror(y as i64 + dy, p.height as i64);
                let row = (gy as i64 - p.y0 as i64).clamp(0, p.rows_in as i64 - 1) as usize;
                mosaic[row * p.width as usize + gx]
            };
            let (c, h) = (color(x, y), color(x + 1, y));
            let c0 = s(0, 0);
            let cross1 = s(-1, 0) + s(1, 0) + s(0, -1) + s(0, 1);
            let diag1 = s(-1, -1) + s(1, -1) + s(-1, 1) + s(1, 1);
            let (h1, v1) = (s(-1, 0) + s(1, 0), s(0, -1) + s(0, 1));
            let (h2, v2) = (s(-2, 0) + s(2, 0), s(0, -2) + s(0, 2));
            let mut rgb = [0.0f32; 3];
            rgb[c] = c0;
            match (method, c == 1) {
                (Demosaic::Bilinear, true) => {
                    rgb[h] = 0.5 * h1;
                    rgb[2 - h] = 0.5 * v1;
                }
                (Demosaic::Bilinear, false) => {
                    rgb[1] = 0.25 * cross1;
                    rgb[2 - c] = 0.25 * diag1;
                }
                (Demosaic::Mhc, true) => {
                    rgb[h] = (5.0 * c0 + 4.0 * h1 - h2 - diag1 + 0.5 * v2) / 8.0;
                    rgb[2 - h] = (5.0 * c0 + 4.0 * v1 - v2 - diag1 + 0.5 * h2) / 8.0;
                }
                (Demosaic::Mhc, false) => {
                    rgb[1] = (4.0 * c0 + 2.0 * cross1 - h2 - v2) / 8.0;
                    rgb[2 - c] = (6.0 * c0 + 2.0 * diag1 - 1.5 * (h2 + v2)) / 8.0;
                }
                (Demosaic::Rcd | Demosaic::XtransBilinear | Demosaic::Markesteijn, _) => {
                    unreachable!("handled above / not Bayer")
                }
            }
            out[(oy * p.width + x) as usize] = rgb;
        }
    }
    out
}

/// CPU-reference helpers of the band-based demosaics (RCD for Bayer, the X-Trans module): planes
/// read as their shaders' `band_index` reads them, and the last pass both share (the 3×3 median
/// of the colour differences, `shaders/demosaic_common.wgsl`).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod cpu {
    use super::Params;

    /// A plane over the band's input rows, read with image coordinates: mirrored at image
    /// edges, clamped at band edges (exactly like the shaders' `band_index`).
    pub struct Plane<'a, T> {
        pub p: &'a Params,
        pub data: &'a [T],
    }

    /// Mirror without repeating the edge pixel (which keeps the CFA colour).
    pub fn mirror(v: i64, n: i64) -> i64 {
        let mut m = v.abs();
        if m >= n {
            m = 2 * n - 2 - m;
        }
        m.clamp(0, n - 1)
    }

    /// Index of image pixel (x, y) in a band plane.
    pub fn band_index(p: &Params, x: i64, y: i64) -> usize {
        let gx = mirror(x, p.width as i64);
        let gy = mirror(y, p.height as i64);
        let row = (gy - p.y0 as i64).clamp(0, p.rows_in as i64 - 1);
        (row * p.width as i64 + gx) as usize
    }

    impl<T: Copy> Plane<'_, T> {
        pub fn at(&self, x: i64, y: i64) -> T {
            self.data[band_index(self.p, x, y)]
        }
    }

    /// Median of nine (the shader's sorting network gives the same value).
    pub fn median9(mut v: [f32; 9]) -> f32 {
        v.sort_by(f32::total_cmp);
        v[4]
    }

    /// The last pass: RGB at the output rows from the 3×3 medians of the colour differences
    /// (R − G, B − G), anchored on the mosaic's own sample, whose colour `color(x, y)` gives.
    pub fn median_refine(
        p: &Params,
        m: &Plane<f32>,
        diffs: &Plane<[f32; 2]>,
        color: impl Fn(i64, i64) -> usize,
    ) -> Vec<[f32; 3]> {
        let mut out = vec![[0.0; 3]; (p.width * p.out_rows) as usize];
        for r in 0..p.out_rows as i64 {
            let y = p.out_y0 as i64 + r;
            for x in 0..p.width as i64 {
                let med = |k: usize| {
                    let mut v = [0.0f32; 9];
                    for (j, item) in v.iter_mut().enumerate() {
                        let (dx, dy) = (j as i64 % 3 - 1, j as i64 / 3 - 1);
                        *item = diffs.at(x + dx, y + dy)[k];
                    }
                    median9(v)
                };
                let (rg, bg) = (med(0), med(1));
                let s = m.at(x, y);
                let g = match color(x, y) {
                    0 => s - rg,
                    1 => s,
                    _ => s - bg,
                };
                out[(r * p.width as i64 + x) as usize] = [g + rg, g, g + bg];
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::testing::{assert_rgb_close, kodak, read_rgb16f, Rng};
    use crate::stages::RGBA16F_BYTES;

    fn run_gpu(p: &Params, method: Demosaic, mosaic: &[f32]) -> Vec<[f32; 3]> {
        let gpu = gpu();
        let input = gpu.storage_init("mosaic", bytemuck::cast_slice(mosaic));
        let n = (p.width * p.out_rows) as u64;
        let out = gpu.storage("rgb", n * RGBA16F_BYTES);
        gpu.run("demosaic", |enc| record(gpu, enc, p, method, &input, &out))
            .unwrap();
        read_rgb16f(gpu, "demosaic", &out, n)
    }

    #[test]
    fn gpu_matches_reference_on_random_mosaics_all_phases_and_bands() {
        let mut rng = Rng::new(7);
        // Sizes that are not multiples of the 32-px tile, odd sizes, and a band in the middle.
        for (i, &(w, h)) in [(45u32, 37u32), (64, 64), (33, 7)].iter().enumerate() {
            let mosaic: Vec<f32> = (0..w * h).map(|_| rng.unit()).collect();
            for cfa in Cfa::ALL {
                for method in [Demosaic::Bilinear, Demosaic::Mhc] {
                    let p = Params::new(w, h, cfa, 0, h, 0, h);
                    assert_rgb_close(
                        &run_gpu(&p, method, &mosaic),
                        &reference(&p, method, &mosaic),
                    );
                    if i == 0 {
                        // A band: input rows 8..30 (with halo), output rows 10..28.
                        let band = &mosaic[(8 * w) as usize..(30 * w) as usize];
                        let p = Params::new(w, h, cfa, 8, 22, 10, 18);
                        let whole = reference(&Params::new(w, h, cfa, 0, h, 0, h), method, &mosaic);
                        let gpu_band = run_gpu(&p, method, band);
                        assert_rgb_close(&gpu_band, &whole[(10 * w) as usize..(28 * w) as usize]);
                    }
                }
            }
        }
    }

    #[test]
    fn gpu_matches_reference_on_real_photo() {
        let (w, h, px) = kodak("kodim19");
        for cfa in [Cfa::Rggb, Cfa::Gbrg] {
            let mosaic: Vec<f32> = (0..(w * h) as usize)
                .map(|i| px[i][cfa.color_at(i % w as usize, i / w as usize)])
                .collect();
            for method in [Demosaic::Bilinear, Demosaic::Mhc] {
                let p = Params::new(w, h, cfa, 0, h, 0, h);
                assert_rgb_close(
                    &run_gpu(&p, method, &mosaic),
                    &reference(&p, method, &mosaic),
                );
            }
        }
    }
}
