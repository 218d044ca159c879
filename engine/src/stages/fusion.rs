//! Exposure fusion (Mertens, Kautz & Van Reeth 2007) kernels: per-pixel weights, weight maps (sum,
//! normalization, Gaussian pyramid), image pyramids (reduce, Laplacian blend, collapse), and the
//! synthetic exposures used for HDR tone mapping. Each dispatch has a CPU reference below, written
//! loop-for-loop like its shader. Inputs and Gaussian levels are RGBA 16-bit unorm words (exact for
//! 8/16-bit photos); fused levels RGBA 16-bit snorm words of v/2 (see pyramid.wgsl).

use bytemuck::{Pod, Zeroable};

use crate::error::{Error, Result};
use crate::gpu::{self, Gpu};
#[cfg_attr(not(test), allow(unused_imports))]
use crate::stages::{pack_rgb, unpack_rgb};

/// CPU twin of two `pack2x16unorm` words: RGB (alpha = 1).
pub(crate) fn pack_unorm(rgb: [f32; 3]) -> [u32; 2] {
    let u = |v: f32| (v.clamp(0.0, 1.0) * 65535.0).round() as u32;
    [u(rgb[0]) | (u(rgb[1]) << 16), u(rgb[2]) | (0xffff << 16)]
}

/// CPU twin of `unpack2x16unorm` on the two words of one pixel.
pub(crate) fn unpack_unorm(px: [u32; 2]) -> [f32; 3] {
    let f = |bits: u32| (bits & 0xffff) as f32 / 65535.0;
    [f(px[0]), f(px[0] >> 16), f(px[1])]
}

/// CPU twin of the fused levels' format: v/2 as `pack2x16snorm` words (alpha = 1).
pub(crate) fn pack_fused(rgb: [f32; 3]) -> [u32; 2] {
    let s = |v: f32| ((v * 0.5).clamp(-1.0, 1.0) * 32767.0).round() as i16 as u16 as u32;
    [s(rgb[0]) | (s(rgb[1]) << 16), s(rgb[2]) | (s(2.0) << 16)]
}

/// CPU twin of reading a fused level's pixel (`unpack2x16snorm`, × 2).
pub(crate) fn unpack_fused(px: [u32; 2]) -> [f32; 3] {
    let f = |bits: u32| 2.0 * ((bits & 0xffff) as u16 as i16 as f32 / 32767.0).max(-1.0);
    [f(px[0]), f(px[0] >> 16), f(px[1])]
}

/// Width and height of one pyramid level.
pub(crate) type Dims = (u32, u32);

/// Level sizes from full size down: each level ceil(w/2) × ceil(h/2), as many levels as OpenCV's
/// MergeMertens uses (floor(log2(min(w, h))) + 1), so the coarsest level is one or two pixels on
/// its short side and carries only the overall brightness.
pub(crate) fn levels(width: u32, height: u32) -> Vec<Dims> {
    let count = (width.min(height).max(1)).ilog2() + 1;
    let mut dims = vec![(width, height)];
    for _ in 1..count {
        let (w, h) = *dims.last().expect("one level at least");
        dims.push((w.div_ceil(2), h.div_ceil(2)));
    }
    dims
}

/// Exponents of the three Mertens measures (0 switches a measure off), and how pixels where
/// every input's weight is 0 are weighed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Exponents {
    pub contrast: f32,
    pub saturation: f32,
    pub exposedness: f32,
    /// Where every exposure is flat or exactly neutral (all weights 0, Mertens' measures say
    /// nothing): true takes the weights of the pixels around (5×5), false weighs the inputs
    /// equally, as OpenCV's MergeMertens does (but for its float rounding).
    pub from_neighbours: bool,
}

/// Rows `[start, end)` of one pyramid level: the band a dispatch writes.
pub(crate) type Rows = (u32, u32);

/// Every row of a level.
pub(crate) fn all_rows(dims: Dims) -> Rows {
    (0, dims.1)
}

/// The parameter block shared by the fusion kernels (fusion_common.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct Params {
    width: u32,
    height: u32,
    row0: u32,
    rows: u32,
    other_width: u32,
    other_height: u32,
    other_row0: u32,
    top: u32,
    k: [f32; 4],
}

/// Bytes per pixel of images (RGBA 16-bit words) and of weight maps (f32).
const IMAGE_BYTES: u64 = 8;
const WEIGHT_BYTES: u64 = 4;

/// Rows a binding window may start at: its byte offset (row × width × 4 or × 8) must be a
/// multiple of the device's binding alignment. Returns that row step.
pub(crate) fn row_step(gpu: &Gpu, width: u32) -> u32 {
    let align = gpu.binding_alignment().max(4);
    let row = width as u64 * WEIGHT_BYTES;
    (align / gcd(row, align)) as u32
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The window of a level's buffer that holds `rows` (start moved down to an allowed row): the
/// binding and the row it starts at.
fn window<'a>(
    gpu: &Gpu,
    buffer: &'a wgpu::Buffer,
    dims: Dims,
    bpp: u64,
    rows: Rows,
) -> (gpu::Window<'a>, u32) {
    let step = row_step(gpu, dims.0);
    let start = rows.0 / step * step;
    let row_bytes = dims.0 as u64 * bpp;
    let w = gpu::Window {
        buffer,
        offset: start as u64 * row_bytes,
        size: (rows.1 - start) as u64 * row_bytes,
    };
    (w, start)
}

/// Rows of the same level a 3×3 stencil over `band` reads (one spare each side).
fn halo_rows(band: Rows, height: u32) -> Rows {
    (band.0.saturating_sub(2), (band.1 + 2).min(height))
}

/// Rows of the finer level that reducing into `band` reads (5 taps at 2y, mirrored).
fn finer_rows(band: Rows, fine_height: u32) -> Rows {
    (
        (2 * band.0).saturating_sub(3),
        (2 * band.1 + 3).min(fine_height),
    )
}

/// Rows of the coarser level that up-sampling to `band` reads.
fn coarser_rows(band: Rows, coarse_height: u32) -> Rows {
    (
        (band.0 / 2).saturating_sub(2),
        (band.1.div_ceil(2) + 2).min(coarse_height),
    )
}

/// Rows per band of a level of width `width` such that every window a kernel writing it binds
/// (its own rows, `reach` × as many rows of a level `other_width` wide plus `extra`) fits one
/// binding; a multiple of the row step, at most `cap`.
fn band_rows(gpu: &Gpu, width: u32, reads: &[(u32, u32, u32)], cap: Option<u32>) -> Result<u32> {
    let max = gpu.max_binding();
    let step = row_step(gpu, width);
    let mut rows = max / (width as u64 * IMAGE_BYTES);
    // (other width, rows read per row written, extra rows): window = reach·rows + extra + step.
    for &(other_width, reach, extra) in reads {
        let fit = max / (other_width as u64 * IMAGE_BYTES);
        let other_step = row_step(gpu, other_width) as u64;
        let avail = fit.saturating_sub(extra as u64 + other_step);
        rows = rows.min(avail / reach as u64);
    }
    let step = step as u64;
    rows = rows / step * step;
    if let Some(cap) = cap {
        // A cap below the row step is raised to it: windows start only on those rows.
        rows = rows.min((cap as u64 / step * step).max(step));
    }
    if rows == 0 {
        return Err(Error::InvalidInput(format!(
            "an image {width} pixels wide is too wide for this device's {}-byte buffers, even a few rows at a time",
            max
        )));
    }
    Ok(rows.min(u32::MAX as u64) as u32)
}

/// The bands of every pyramid level (`levels[l]` split into rows), each band's windows within one
/// binding; `cap` limits rows per band (to test banding on small images).
pub(crate) fn plan_bands(gpu: &Gpu, levels: &[Dims], cap: Option<u32>) -> Result<Vec<Vec<Rows>>> {
    let mut plan = Vec::with_capacity(levels.len());
    for (l, &(w, h)) in levels.iter().enumerate() {
        let mut reads = vec![(w, 1, 4)]; // the input image around its own rows (mertens_weight)
        if l > 0 {
            reads.push((levels[l - 1].0, 2, 6)); // reduce from the finer level
        }
        if l + 1 < levels.len() {
            reads.push((levels[l + 1].0, 1, 6)); // up-sample the coarser level
        }
        let rows = band_rows(gpu, w, &reads, cap)?;
        plan.push(
            (0..h)
                .step_by(rows as usize)
                .map(|y| (y, (y + rows).min(h)))
                .collect(),
        );
    }
    Ok(plan)
}

#[allow(clippy::too_many_arguments)]
fn params(dims: Dims, band: Rows, other: Dims, other_row0: u32, top: bool, k: [f32; 4]) -> Params {
    Params {
        width: dims.0,
        height: dims.1,
        row0: band.0,
        rows: band.1 - band.0,
        other_width: other.0,
        other_height: other.1,
        other_row0,
        top: top as u32,
        k,
    }
}

fn groups(width: u32, band: Rows) -> (u32, u32) {
    (gpu::groups(width, 16), gpu::groups(band.1 - band.0, 16))
}

/// Workgroups of the pyramid kernels, which compute a 2×2 block of pixels per invocation.
fn block_groups(width: u32, band: Rows) -> (u32, u32) {
    groups(width.div_ceil(2), (0, (band.1 - band.0).div_ceil(2)))
}

/// Mertens weight of every pixel of `band` of a display-referred image (f32, never 0).
pub(crate) fn mertens_weight(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    (dims, band): (Dims, Rows),
    e: Exponents,
    img: &wgpu::Buffer,
    weight: &wgpu::Buffer,
) {
    let (iw, row0) = window(gpu, img, dims, IMAGE_BYTES, halo_rows(band, dims.1));
    let (ww, _) = window(gpu, weight, dims, WEIGHT_BYTES, band);
    let k = [e.contrast, e.saturation, e.exposedness, 0.0];
    let p = gpu.uniform(&params(dims, band, dims, row0, false, k));
    let g = groups(dims.0, band);
    gpu.dispatch_windows(enc, &gpu::MERTENS, "mertens_weight", &p, &[iw, ww], g);
}

/// `sum += weight` over `band`.
pub(crate) fn weight_sum_add(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    (dims, band): (Dims, Rows),
    weight: &wgpu::Buffer,
    sum: &wgpu::Buffer,
) {
    let (ww, _) = window(gpu, weight, dims, WEIGHT_BYTES, band);
    let (sw, _) = window(gpu, sum, dims, WEIGHT_BYTES, band);
    let p = gpu.uniform(&params(dims, band, dims, band.0, false, [0.0; 4]));
    let g = groups(dims.0, band);
    gpu.dispatch_windows(enc, &gpu::WEIGHT_MAP, "weight_sum_add", &p, &[ww, sw], g);
}

/// `band` of one input's normalized weights (`out`) from its weights and the sum of all
/// `inputs` inputs' weights (see weight_normalize in weight_map.wgsl).
#[allow(clippy::too_many_arguments)]
pub(crate) fn weight_normalize(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    (dims, band): (Dims, Rows),
    inputs: usize,
    e: Exponents,
    weight: &wgpu::Buffer,
    sum: &wgpu::Buffer,
    out: &wgpu::Buffer,
) {
    let read = halo_rows(band, dims.1);
    let (ww, row0) = window(gpu, weight, dims, WEIGHT_BYTES, read);
    let (sw, _) = window(gpu, sum, dims, WEIGHT_BYTES, read);
    let (ow, _) = window(gpu, out, dims, WEIGHT_BYTES, band);
    let k = [inputs as f32, e.from_neighbours as u32 as f32, 0.0, 0.0];
    let p = gpu.uniform(&params(dims, band, dims, row0, false, k));
    let g = groups(dims.0, band);
    gpu.dispatch_windows(
        enc,
        &gpu::WEIGHT_MAP,
        "weight_normalize",
        &p,
        &[ww, ow, sw],
        g,
    );
}

/// What a Gaussian pyramid holds: images (RGBA 16-bit words) or weight maps (f32).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Pyr {
    Image,
    Weight,
}

/// `band` of the next (coarser) level of an image's or weight map's Gaussian pyramid.
pub(crate) fn pyr_down(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    what: Pyr,
    (fine_dims, fine): (Dims, &wgpu::Buffer),
    (coarse_dims, band): (Dims, Rows),
    coarse: &wgpu::Buffer,
) {
    let (kernel, entry, bpp) = match what {
        Pyr::Image => (&gpu::PYRAMID, "pyr_down_image", IMAGE_BYTES),
        Pyr::Weight => (&gpu::WEIGHT_MAP, "pyr_down_weight", WEIGHT_BYTES),
    };
    let (fw, row0) = window(gpu, fine, fine_dims, bpp, finer_rows(band, fine_dims.1));
    let (cw, _) = window(gpu, coarse, coarse_dims, bpp, band);
    let p = gpu.uniform(&params(coarse_dims, band, fine_dims, row0, false, [0.0; 4]));
    let g = block_groups(coarse_dims.0, band);
    gpu.dispatch_windows(enc, kernel, entry, &p, &[fw, cw], g);
}

/// `acc += weight × (fine - up(coarse))` over `band`: one input's Laplacian level blended into
/// the fused pyramid; at the top level (`coarse` None) the Gaussian level itself is blended.
pub(crate) fn blend_level(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    (dims, band): (Dims, Rows),
    fine: &wgpu::Buffer,
    weight: &wgpu::Buffer,
    coarse: Option<(Dims, &wgpu::Buffer)>,
    acc: &wgpu::Buffer,
) {
    // At the top the coarser binding is unused by the shader's branch; `fine` stands in for it.
    let (other, (cw, row0), top) = match coarse {
        Some((d, b)) => (
            d,
            window(gpu, b, d, IMAGE_BYTES, coarser_rows(band, d.1)),
            false,
        ),
        None => (dims, window(gpu, fine, dims, IMAGE_BYTES, band), true),
    };
    let (aw, _) = window(gpu, acc, dims, IMAGE_BYTES, band);
    let (fw, _) = window(gpu, fine, dims, IMAGE_BYTES, band);
    let (ww, _) = window(gpu, weight, dims, WEIGHT_BYTES, band);
    let p = gpu.uniform(&params(dims, band, other, row0, top, [0.0; 4]));
    let g = block_groups(dims.0, band);
    gpu.dispatch_windows(enc, &gpu::PYRAMID, "blend_level", &p, &[cw, aw, fw, ww], g);
}

/// `acc += up(coarse)` over `band`: one step of collapsing the fused pyramid.
pub(crate) fn collapse_level(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    (dims, band): (Dims, Rows),
    coarse_dims: Dims,
    coarse: &wgpu::Buffer,
    acc: &wgpu::Buffer,
) {
    let read = coarser_rows(band, coarse_dims.1);
    let (cw, row0) = window(gpu, coarse, coarse_dims, IMAGE_BYTES, read);
    let (aw, _) = window(gpu, acc, dims, IMAGE_BYTES, band);
    let p = gpu.uniform(&params(dims, band, coarse_dims, row0, false, [0.0; 4]));
    let g = block_groups(dims.0, band);
    gpu.dispatch_windows(enc, &gpu::PYRAMID, "collapse_level", &p, &[cw, aw], g);
}

/// One pointwise conversion kernel of expose.wgsl over `band`, with `gain`.
fn expose(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    entry: &'static str,
    (dims, band): (Dims, Rows),
    gain: f32,
    src: &wgpu::Buffer,
    dst: &wgpu::Buffer,
) {
    let (sw, _) = window(gpu, src, dims, IMAGE_BYTES, band);
    let (dw, _) = window(gpu, dst, dims, IMAGE_BYTES, band);
    let p = gpu.uniform(&params(
        dims,
        band,
        dims,
        band.0,
        false,
        [gain, 0.0, 0.0, 0.0],
    ));
    let g = groups(dims.0, band);
    gpu.dispatch_windows(enc, &gpu::EXPOSE, entry, &p, &[sw, dw], g);
}

/// `band` of the fused image as RGBA f16, for the tone stage.
pub(crate) fn fused_to_f16(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    at: (Dims, Rows),
    fused: &wgpu::Buffer,
    out: &wgpu::Buffer,
) {
    expose(gpu, enc, "fused_to_f16", at, 1.0, fused, out);
}

/// `band` of a linear image's luminance exposed by `gain`, clipped and sRGB-encoded, as a grey
/// RGBA image (the luminance-only input of colour-preserving auto HDR).
pub(crate) fn synthetic_exposure_luma(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    at: (Dims, Rows),
    gain: f32,
    linear: &wgpu::Buffer,
    exposed: &wgpu::Buffer,
) {
    expose(
        gpu,
        enc,
        "synthetic_exposure_luma",
        at,
        gain,
        linear,
        exposed,
    );
}

/// CPU references, loop-for-loop like the shaders.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod reference {
    use super::*;

    const TAPS: [f32; 5] = [0.0625, 0.25, 0.375, 0.25, 0.0625];

    /// Mirror without repeating the edge pixel (x = -1 reads x = 1).
    pub fn reflect101(v: i32, n: i32) -> i32 {
        if n == 1 {
            return 0;
        }
        let mut m = v;
        if m < 0 {
            m = -m;
        }
        if m >= n {
            m = 2 * n - 2 - m;
        }
        if m < 0 {
            m = -m;
        }
        m.clamp(0, n - 1)
    }

    fn power(x: f32, e: f32) -> f32 {
        if e == 0.0 {
            1.0
        } else if x <= 0.0 {
            0.0
        } else {
            x.powf(e)
        }
    }

    pub fn mertens_weight(dims: Dims, e: Exponents, img: &[[u32; 2]]) -> Vec<f32> {
        let (w, h) = (dims.0 as i32, dims.1 as i32);
        let rgb =
            |x: i32, y: i32| unpack_unorm(img[(reflect101(y, h) * w + reflect101(x, w)) as usize]);
        let grey = |c: [f32; 3]| 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
        let mut out = Vec::with_capacity((w * h) as usize);
        for y in 0..h {
            for x in 0..w {
                let c = rgb(x, y);
                let lap = grey(rgb(x - 1, y))
                    + grey(rgb(x + 1, y))
                    + grey(rgb(x, y - 1))
                    + grey(rgb(x, y + 1))
                    - 4.0 * grey(c);
                let d = [c[0] - c[1], c[1] - c[2], c[2] - c[0]];
                let saturation = ((d[0] * d[0] + d[1] * d[1] + d[2] * d[2]) / 3.0).sqrt();
                let exposedness: f32 = c
                    .iter()
                    .map(|v| (-(v - 0.5).powi(2) / 0.08).exp())
                    .product();
                out.push(
                    power(lap.abs(), e.contrast)
                        * power(saturation, e.saturation)
                        * power(exposedness, e.exposedness),
                );
            }
        }
        out
    }

    pub fn weight_sum_add(weight: &[f32], sum: &mut [f32]) {
        for (s, w) in sum.iter_mut().zip(weight) {
            *s += w;
        }
    }

    /// One input's normalized weights (see weight_normalize in weight_map.wgsl).
    pub fn weight_normalize(
        dims: Dims,
        inputs: usize,
        from_neighbours: bool,
        weight: &[f32],
        sum: &[f32],
    ) -> Vec<f32> {
        let (w, h) = (dims.0 as i32, dims.1 as i32);
        let n = inputs as f32;
        let norm = |i: usize| (weight[i] + FLOOR) / (sum[i] + n * FLOOR);
        let mut out = Vec::with_capacity(weight.len());
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) as usize;
                let mut v = norm(i);
                if sum[i] == 0.0 && from_neighbours {
                    let (mut acc, mut count) = (0.0f32, 0.0f32);
                    for yy in (y - 2).max(0)..=(y + 2).min(h - 1) {
                        for xx in (x - 2).max(0)..=(x + 2).min(w - 1) {
                            let j = (yy * w + xx) as usize;
                            if sum[j] > 0.0 {
                                acc += norm(j);
                                count += 1.0;
                            }
                        }
                    }
                    if count > 0.0 {
                        v = acc / count;
                    }
                }
                out.push(v);
            }
        }
        out
    }

    /// The floor OpenCV adds to every weight (weight_map.wgsl).
    const FLOOR: f32 = 1e-12;

    pub fn pyr_down_weight(fine_dims: Dims, fine: &[f32], coarse_dims: Dims) -> Vec<f32> {
        let (ow, oh) = (fine_dims.0 as i32, fine_dims.1 as i32);
        let mut out = Vec::with_capacity((coarse_dims.0 * coarse_dims.1) as usize);
        for y in 0..coarse_dims.1 as i32 {
            for x in 0..coarse_dims.0 as i32 {
                let mut acc = 0.0;
                for ky in -2..=2 {
                    let sy = reflect101(2 * y + ky, oh);
                    for kx in -2..=2 {
                        let sx = reflect101(2 * x + kx, ow);
                        acc += TAPS[(ky + 2) as usize]
                            * TAPS[(kx + 2) as usize]
                            * fine[(sy * ow + sx) as usize];
                    }
                }
                out.push(acc);
            }
        }
        out
    }

    pub fn pyr_down_image(fine_dims: Dims, fine: &[[u32; 2]], coarse_dims: Dims) -> Vec<[u32; 2]> {
        let (ow, oh) = (fine_dims.0 as i32, fine_dims.1 as i32);
        let mut out = Vec::with_capacity((coarse_dims.0 * coarse_dims.1) as usize);
        for y in 0..coarse_dims.1 as i32 {
            for x in 0..coarse_dims.0 as i32 {
                let mut acc = [0.0f32; 3];
                for ky in -2..=2 {
                    let sy = reflect101(2 * y + ky, oh);
                    for kx in -2..=2 {
                        let sx = reflect101(2 * x + kx, ow);
                        let k = TAPS[(ky + 2) as usize] * TAPS[(kx + 2) as usize];
                        let c = unpack_unorm(fine[(sy * ow + sx) as usize]);
                        (0..3).for_each(|i| acc[i] += k * c[i]);
                    }
                }
                out.push(pack_unorm(acc));
            }
        }
        out
    }

    /// The coarser level up-sampled to (x, y) of the next finer level.
    pub fn upsample(
        coarse_dims: Dims,
        coarse: &[[u32; 2]],
        gaussian: bool,
        x: i32,
        y: i32,
    ) -> [f32; 3] {
        // Mirrored on the zero-stuffed grid of twice the coarser size (see pyramid.wgsl).
        let (w, h) = (2 * coarse_dims.0 as i32, 2 * coarse_dims.1 as i32);
        let coarse_width = coarse_dims.0;
        let mut acc = [0.0f32; 3];
        for ky in -2..=2 {
            let ty = reflect101(y + ky, h);
            if ty & 1 != 0 {
                continue;
            }
            for kx in -2..=2 {
                let tx = reflect101(x + kx, w);
                if tx & 1 != 0 {
                    continue;
                }
                let k = 4.0 * TAPS[(ky + 2) as usize] * TAPS[(kx + 2) as usize];
                let px = coarse[((ty / 2) as u32 * coarse_width + (tx / 2) as u32) as usize];
                let c = if gaussian {
                    unpack_unorm(px)
                } else {
                    unpack_fused(px)
                };
                (0..3).for_each(|i| acc[i] += k * c[i]);
            }
        }
        acc
    }

    pub fn blend_level(
        dims: Dims,
        fine: &[[u32; 2]],
        weight: &[f32],
        coarse: Option<(Dims, &[[u32; 2]])>,
        acc: &mut [[u32; 2]],
    ) {
        for y in 0..dims.1 as i32 {
            for x in 0..dims.0 as i32 {
                let i = (y as u32 * dims.0 + x as u32) as usize;
                let mut lap = unpack_unorm(fine[i]);
                if let Some((cd, c)) = coarse {
                    let up = upsample(cd, c, true, x, y);
                    (0..3).for_each(|k| lap[k] -= up[k]);
                }
                let a = unpack_fused(acc[i]);
                acc[i] = pack_fused([0, 1, 2].map(|k| a[k] + weight[i] * lap[k]));
            }
        }
    }

    pub fn collapse_level(
        dims: Dims,
        coarse_dims: Dims,
        coarse: &[[u32; 2]],
        acc: &mut [[u32; 2]],
    ) {
        for y in 0..dims.1 as i32 {
            for x in 0..dims.0 as i32 {
                let i = (y as u32 * dims.0 + x as u32) as usize;
                let up = upsample(coarse_dims, coarse, false, x, y);
                let a = unpack_fused(acc[i]);
                acc[i] = pack_fused([0, 1, 2].map(|k| a[k] + up[k]));
            }
        }
    }

    pub fn fused_to_f16(fused: &[[u32; 2]]) -> Vec<[u32; 2]> {
        fused.iter().map(|&px| pack_rgb(unpack_fused(px))).collect()
    }

    pub fn synthetic_exposure_luma(gain: f32, linear: &[[u32; 2]]) -> Vec<[u32; 2]> {
        linear
            .iter()
            .map(|&px| {
                let [r, g, b] = unpack_rgb(px);
                let y = ((0.2126 * r + 0.7152 * g + 0.0722 * b) * gain).clamp(0.0, 1.0);
                pack_unorm([crate::stages::tone::srgb_oetf(y); 3])
            })
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::reference as r;
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::testing::{kodak, max_abs_diff, Rng};
    use crate::stages::tone::srgb_oetf;

    pub(crate) const MERTENS: Exponents = Exponents {
        contrast: 1.0,
        saturation: 1.0,
        exposedness: 1.0,
        from_neighbours: false,
    };

    /// Random display values in [0, 1], some exactly 0 and 1 (clipped pixels of a real bracket).
    pub(crate) fn random_image(rng: &mut Rng, dims: Dims) -> Vec<[u32; 2]> {
        (0..dims.0 * dims.1)
            .map(|_| pack_unorm([0; 3].map(|_| (rng.unit() * 1.2 - 0.1).clamp(0.0, 1.0))))
            .collect()
    }

    /// A real photo as a bracket member: linear light × 2^ev, clipped, sRGB-encoded (what a camera
    /// shooting that exposure writes to a JPEG), cropped to `dims` from the top-left.
    pub(crate) fn kodak_exposure(name: &str, ev: f32, dims: Dims) -> Vec<[u32; 2]> {
        let (w, _, px) = kodak(name);
        let mut out = Vec::new();
        for y in 0..dims.1 {
            for x in 0..dims.0 {
                let c = px[(y * w + x) as usize];
                out.push(pack_unorm(
                    c.map(|v| srgb_oetf((v * ev.exp2()).clamp(0.0, 1.0))),
                ));
            }
        }
        out
    }

    /// Values of fused-level words.
    pub(crate) fn fused_values(img: &[[u32; 2]]) -> Vec<f32> {
        img.iter().flat_map(|&p| unpack_fused(p)).collect()
    }

    /// Values of f16 words.
    pub(crate) fn floats(img: &[[u32; 2]]) -> Vec<f32> {
        img.iter().flat_map(|&p| unpack_rgb(p)).collect()
    }

    /// Values of unorm16 words (inputs and Gaussian levels).
    pub(crate) fn unorms(img: &[[u32; 2]]) -> Vec<f32> {
        img.iter().flat_map(|&p| unpack_unorm(p)).collect()
    }

    fn read_image(buf: &wgpu::Buffer, n: usize) -> Vec<[u32; 2]> {
        let bytes = gpu().read("test", buf, n as u64 * 8).unwrap();
        bytemuck::cast_slice(&bytes).to_vec()
    }

    fn read_f32(buf: &wgpu::Buffer, n: usize) -> Vec<f32> {
        bytemuck::cast_slice(&gpu().read("test", buf, n as u64 * 4).unwrap()).to_vec()
    }

    /// The bands a kernel test writes: the whole level, or bands as narrow as the device allows
    /// (windows into the buffers, as for images larger than one binding).
    fn bands(gpu: &Gpu, dims: Dims, banded: bool) -> Vec<Rows> {
        if !banded {
            return vec![all_rows(dims)];
        }
        let step = row_step(gpu, dims.0).max(2);
        (0..dims.1)
            .step_by(step as usize)
            .map(|y| (y, (y + step).min(dims.1)))
            .collect()
    }

    fn assert_relative(gpu: &[f32], cpu: &[f32], what: &str) {
        assert_eq!(gpu.len(), cpu.len());
        for (i, (a, b)) in gpu.iter().zip(cpu).enumerate() {
            assert!(
                a.is_finite(),
                "{what}: pixel {i} not written or not finite: {a}"
            );
            // pow/exp/sqrt on the GPU may differ from Rust's in the last bits.
            assert!(
                (a - b).abs() <= 1e-3 * a.abs().max(b.abs()) + 1e-6,
                "{what}: pixel {i}: GPU {a} vs CPU {b}"
            );
        }
    }

    #[test]
    fn levels_halve_rounding_up_down_to_one_pixel_like_opencv() {
        assert_eq!(
            levels(37, 23),
            vec![(37, 23), (19, 12), (10, 6), (5, 3), (3, 2)]
        );
        let kodak = levels(768, 512);
        assert_eq!(kodak.len(), 10);
        assert_eq!(*kodak.last().unwrap(), (2, 1));
        assert_eq!(levels(1, 1), vec![(1, 1)]);
    }

    #[test]
    fn mertens_weight_gpu_matches_reference_random_and_real() {
        let gpu = gpu();
        let mut rng = Rng::new(41);
        let cases = [
            ((37, 23), random_image(&mut rng, (37, 23))),
            ((2, 1), random_image(&mut rng, (2, 1))),
            ((256, 160), kodak_exposure("kodim07", 1.0, (256, 160))),
        ];
        let exps = [
            MERTENS,
            Exponents {
                contrast: 1.0,
                saturation: 0.0,
                exposedness: 2.5,
                from_neighbours: true,
            },
        ];
        for ((dims, img), banded) in cases.iter().flat_map(|c| [(c, false), (c, true)]) {
            for e in exps {
                let input = gpu.storage_init("img", bytemuck::cast_slice(img));
                let weight = gpu.storage("weight", img.len() as u64 * 4);
                gpu.run("test", |enc| {
                    for band in bands(gpu, *dims, banded) {
                        mertens_weight(gpu, enc, (*dims, band), e, &input, &weight)
                    }
                })
                .unwrap();
                let got = read_f32(&weight, img.len());
                assert_relative(
                    &got,
                    &r::mertens_weight(*dims, e, img),
                    &format!("{dims:?} {e:?} banded {banded}"),
                );
            }
        }
    }

    #[test]
    fn weight_map_kernels_gpu_match_reference() {
        let gpu = gpu();
        let mut rng = Rng::new(42);
        let cases = [((37, 23), (19, 12)), ((2, 1), (1, 1)), ((64, 48), (32, 24))];
        for ((fine, coarse), banded) in cases.iter().flat_map(|&c| [(c, false), (c, true)]) {
            let n = (fine.0 * fine.1) as usize;
            // Weights of one input and the sum over three, 0 in places (flat or neutral pixels),
            // the sum 0 wherever all three are.
            let w: Vec<f32> = (0..n)
                .map(|_| if rng.unit() < 0.3 { 0.0 } else { rng.unit() })
                .collect();
            let others: Vec<f32> = w
                .iter()
                .map(|&v| {
                    if v == 0.0 && rng.unit() < 0.5 {
                        0.0
                    } else {
                        2.0 * rng.unit()
                    }
                })
                .collect();
            let (wb, sb) = (
                gpu.storage_init("w", bytemuck::cast_slice(&w)),
                gpu.storage_init("s", bytemuck::cast_slice(&others)),
            );
            gpu.run("test", |enc| {
                for band in bands(gpu, fine, banded) {
                    weight_sum_add(gpu, enc, (fine, band), &wb, &sb)
                }
            })
            .unwrap();
            let mut want = others.clone();
            r::weight_sum_add(&w, &mut want);
            assert_relative(&read_f32(&sb, n), &want, "sum");
            assert!(
                n < 4 || want.contains(&0.0),
                "the case has pixels without weight"
            );
            let nb = gpu.storage("normalized", n as u64 * 4);
            let mut want_w = Vec::new();
            for from_neighbours in [false, true] {
                let e = Exponents {
                    from_neighbours,
                    ..MERTENS
                };
                gpu.run("test", |enc| {
                    for band in bands(gpu, fine, banded) {
                        weight_normalize(gpu, enc, (fine, band), 3, e, &wb, &sb, &nb)
                    }
                })
                .unwrap();
                want_w = r::weight_normalize(fine, 3, from_neighbours, &w, &want);
                assert_relative(&read_f32(&nb, n), &want_w, "normalize");
            }
            let wb = nb;
            let down = gpu.storage("down", (coarse.0 * coarse.1) as u64 * 4);
            gpu.run("test", |enc| {
                for band in bands(gpu, coarse, banded) {
                    pyr_down(gpu, enc, Pyr::Weight, (fine, &wb), (coarse, band), &down)
                }
            })
            .unwrap();
            let got = read_f32(&down, (coarse.0 * coarse.1) as usize);
            assert_relative(&got, &r::pyr_down_weight(fine, &want_w, coarse), "pyr_down");
        }
    }

    #[test]
    fn image_pyramid_kernels_gpu_match_reference_random_and_real() {
        let gpu = gpu();
        let mut rng = Rng::new(43);
        let cases = [
            ((37, 23), random_image(&mut rng, (37, 23))),
            ((3, 2), random_image(&mut rng, (3, 2))),
            ((200, 131), kodak_exposure("kodim23", -1.0, (200, 131))),
        ];
        // Fused levels are stored in steps of 2/32767: one step of rounding either way.
        let tol = 2.0 / 32767.0 + 1e-6;
        for ((fine_dims, fine), banded) in cases.iter().flat_map(|c| [(c, false), (c, true)]) {
            let fine_dims: &Dims = fine_dims;
            let coarse_dims = (fine_dims.0.div_ceil(2), fine_dims.1.div_ceil(2));
            let nf = fine.len();
            let nc = (coarse_dims.0 * coarse_dims.1) as usize;
            let fine_buf = gpu.storage_init("fine", bytemuck::cast_slice(fine));
            let coarse_buf = gpu.storage("coarse", nc as u64 * 8);
            gpu.run("test", |enc| {
                for band in bands(gpu, coarse_dims, banded) {
                    pyr_down(
                        gpu,
                        enc,
                        Pyr::Image,
                        (*fine_dims, &fine_buf),
                        (coarse_dims, band),
                        &coarse_buf,
                    )
                }
            })
            .unwrap();
            let coarse = read_image(&coarse_buf, nc);
            let want = r::pyr_down_image(*fine_dims, fine, coarse_dims);
            let d = max_abs_diff(&unorms(&coarse), &unorms(&want));
            assert!(
                d <= 2.0 / 65535.0,
                "{fine_dims:?} banded {banded} pyr_down_image: {d}"
            );

            let weight: Vec<f32> = (0..nf).map(|_| rng.unit()).collect();
            let acc0: Vec<[u32; 2]> = (0..nf)
                .map(|_| pack_fused([0; 3].map(|_| rng.unit() * 2.0 - 1.0)))
                .collect();
            let wb = gpu.storage_init("weight", bytemuck::cast_slice(&weight));
            for top in [false, true] {
                let acc = gpu.storage_init("acc", bytemuck::cast_slice(&acc0));
                let c = (!top).then_some((coarse_dims, &coarse_buf));
                gpu.run("test", |enc| {
                    for band in bands(gpu, *fine_dims, banded) {
                        blend_level(gpu, enc, (*fine_dims, band), &fine_buf, &wb, c, &acc)
                    }
                })
                .unwrap();
                let mut want = acc0.clone();
                let c = (!top).then_some((coarse_dims, coarse.as_slice()));
                r::blend_level(*fine_dims, fine, &weight, c, &mut want);
                let d = max_abs_diff(&fused_values(&read_image(&acc, nf)), &fused_values(&want));
                assert!(
                    d <= tol,
                    "{fine_dims:?} banded {banded} blend_level top={top}: {d}"
                );
            }

            // Collapsing reads a fused (signed, f16) coarser level.
            let fused: Vec<[u32; 2]> = (0..nc)
                .map(|_| pack_fused([0; 3].map(|_| rng.unit() * 2.0 - 1.0)))
                .collect();
            let fused_buf = gpu.storage_init("fused", bytemuck::cast_slice(&fused));
            let acc = gpu.storage_init("acc", bytemuck::cast_slice(&acc0));
            gpu.run("test", |enc| {
                for band in bands(gpu, *fine_dims, banded) {
                    collapse_level(gpu, enc, (*fine_dims, band), coarse_dims, &fused_buf, &acc)
                }
            })
            .unwrap();
            let mut want = acc0.clone();
            r::collapse_level(*fine_dims, coarse_dims, &fused, &mut want);
            let d = max_abs_diff(&fused_values(&read_image(&acc, nf)), &fused_values(&want));
            assert!(
                d <= tol,
                "{fine_dims:?} banded {banded} collapse_level: {d}"
            );
        }
    }

    #[test]
    fn synthetic_exposure_gpu_matches_reference_random_and_real() {
        let gpu = gpu();
        let mut rng = Rng::new(44);
        let random: Vec<[u32; 2]> = (0..37 * 23)
            .map(|_| pack_rgb([0; 3].map(|_| rng.unit() * 3.0 - 0.1)))
            .collect();
        let (w, h, px) = kodak("kodim03");
        let real: Vec<[u32; 2]> = px.iter().map(|&c| pack_rgb(c)).collect();
        for ((dims, img), banded) in [((37, 23), &random), ((w, h), &real)]
            .into_iter()
            .flat_map(|c| [(c, false), (c, true)])
        {
            for gain in [0.25f32, 1.0, 6.0] {
                let lin = gpu.storage_init("linear", bytemuck::cast_slice(img));
                let out = gpu.storage("exposed", img.len() as u64 * 8);
                gpu.run("test", |enc| {
                    for band in bands(gpu, dims, banded) {
                        synthetic_exposure_luma(gpu, enc, (dims, band), gain, &lin, &out)
                    }
                })
                .unwrap();
                let got = unorms(&read_image(&out, img.len()));
                let want = r::synthetic_exposure_luma(gain, img);
                let d = max_abs_diff(&got, &unorms(&want));
                assert!(d <= 2.0 / 65535.0, "gain {gain} banded {banded}: {d}");
            }
        }
    }

    #[test]
    fn fused_to_f16_gpu_matches_reference() {
        let gpu = gpu();
        let mut rng = Rng::new(46);
        let fused: Vec<[u32; 2]> = (0..37 * 23)
            .map(|_| pack_fused([0; 3].map(|_| rng.unit() * 3.0 - 1.0)))
            .collect();
        let src = gpu.storage_init("fused", bytemuck::cast_slice(&fused));
        for banded in [false, true] {
            let out = gpu.storage("f16", fused.len() as u64 * 8);
            gpu.run("test", |enc| {
                for band in bands(gpu, (37, 23), banded) {
                    fused_to_f16(gpu, enc, ((37, 23), band), &src, &out)
                }
            })
            .unwrap();
            let got = floats(&read_image(&out, fused.len()));
            let d = max_abs_diff(&got, &floats(&r::fused_to_f16(&fused)));
            assert!(d <= 1e-3, "banded {banded}: {d}");
        }
    }

    /// The Laplacian pyramid is invertible: blending one image with weight 1 and collapsing gives
    /// the image back (only f16 rounding differs), at odd sizes and borders too.
    #[test]
    fn laplacian_pyramid_collapses_back_to_the_image_reference() {
        let mut rng = Rng::new(45);
        for dims in [(37, 23), (5, 3), (64, 64)] {
            let img = random_image(&mut rng, dims);
            let lv = levels(dims.0, dims.1);
            let mut g = vec![img.clone()];
            for l in 1..lv.len() {
                g.push(r::pyr_down_image(lv[l - 1], &g[l - 1], lv[l]));
            }
            let mut fused: Vec<Vec<[u32; 2]>> = lv
                .iter()
                .map(|d| vec![[0; 2]; (d.0 * d.1) as usize])
                .collect();
            for l in 0..lv.len() {
                let ones = vec![1.0f32; (lv[l].0 * lv[l].1) as usize];
                let c = (l + 1 < lv.len()).then(|| (lv[l + 1], g[l + 1].as_slice()));
                r::blend_level(lv[l], &g[l], &ones, c, &mut fused[l]);
            }
            for l in (0..lv.len() - 1).rev() {
                let (a, b) = fused.split_at_mut(l + 1);
                r::collapse_level(lv[l], lv[l + 1], &b[0], &mut a[l]);
            }
            let d = max_abs_diff(&fused_values(&fused[0]), &unorms(&img));
            assert!(d < 1e-3, "{dims:?}: collapse differs by {d}");
        }
    }
}
