//! Exposure fusion of aligned, display-referred exposures on the GPU (Mertens, Kautz & Van Reeth
//! 2007): weights of every input, normalized across inputs; each input's Laplacian pyramid blended
//! level by level under its weight's Gaussian pyramid; the fused pyramid collapsed. Everything stays
//! on the GPU; the caller downloads (or tones) the fused full-size level.

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::schedule::develop::RowSink;
use crate::stages::fusion::{self, Dims, Exponents, Pyr, Rows};
use crate::stages::{fused_look, tone, RGBA16F_BYTES};

/// The fused image: level 0 of the fused pyramid (RGBA 16-bit snorm of v/2, see pyramid.wgsl),
/// and the bands its rows are processed in.
pub(crate) struct Fused {
    pub buffer: wgpu::Buffer,
    pub dims: Dims,
    pub bands: Vec<Rows>,
}

/// The whole image must fit one binding (alignment of brackets is not banded yet).
pub(crate) fn check_fits(gpu: &Gpu, dims: Dims) -> Result<()> {
    let bytes = dims.0 as u64 * dims.1 as u64 * RGBA16F_BYTES;
    if bytes > gpu.max_binding() {
        return Err(Error::InvalidInput(format!(
            "aligning a {}×{} bracket needs {} MiB buffers; this device allows {} MiB (fuse it with --no-align)",
            dims.0,
            dims.1,
            bytes >> 20,
            gpu.max_binding() >> 20
        )));
    }
    Ok(())
}

/// A whole image of `bpp` bytes per pixel must fit one buffer (bindings see bands of it).
fn check_buffer(gpu: &Gpu, dims: Dims, bpp: u64) -> Result<()> {
    let bytes = dims.0 as u64 * dims.1 as u64 * bpp;
    if bytes > gpu.max_buffer_size() {
        return Err(Error::InvalidInput(format!(
            "a {}×{} image needs {} MiB buffers for exposure fusion; this device allows {} MiB",
            dims.0,
            dims.1,
            bytes >> 20,
            gpu.max_buffer_size() >> 20
        )));
    }
    Ok(())
}

/// Fuse `inputs` (RGBA unorm16 images of `dims`, display-referred). Every level is processed in
/// bands that fit the device's bindings (at most `max_band_rows` rows, if given), so any size
/// that fits in buffers fuses, with the same result as in one pass.
pub(crate) fn fuse(
    gpu: &Gpu,
    dims: Dims,
    inputs: &[&wgpu::Buffer],
    e: Exponents,
    max_band_rows: Option<u32>,
) -> Result<Fused> {
    if inputs.is_empty() {
        return Err(Error::InvalidInput(
            "exposure fusion needs at least one image".into(),
        ));
    }
    check_buffer(gpu, dims, RGBA16F_BYTES)?;
    let levels = fusion::levels(dims.0, dims.1);
    let bands = fusion::plan_bands(gpu, &levels, max_band_rows)?;
    let px = |d: Dims| d.0 as u64 * d.1 as u64;
    let weights: Vec<wgpu::Buffer> = inputs
        .iter()
        .map(|_| gpu.storage("fusion weight", px(dims) * 4))
        .collect();
    let sum = gpu.storage("fusion weight sum", px(dims) * 4);
    // One input's normalized weights at a time: level 0 of its weight pyramid.
    let normalized = gpu.storage("normalized weight", px(dims) * 4);
    // Per-level scratch, reused for every input (level 0 is the input itself / its weight map).
    let gauss: Vec<wgpu::Buffer> = levels[1..]
        .iter()
        .map(|&d| gpu.storage("gaussian level", px(d) * RGBA16F_BYTES))
        .collect();
    let weight_pyr: Vec<wgpu::Buffer> = levels[1..]
        .iter()
        .map(|&d| gpu.storage("weight level", px(d) * 4))
        .collect();
    let mut fused: Vec<wgpu::Buffer> = levels
        .iter()
        .map(|&d| gpu.storage("fused level", px(d) * RGBA16F_BYTES))
        .collect();
    let top = levels.len() - 1;
    let at = |l: usize| -> Vec<(Dims, Rows)> { bands[l].iter().map(|&b| (levels[l], b)).collect() };
    gpu.run("exposure fusion", |enc| {
        enc.clear_buffer(&sum, 0, None);
        for b in &fused {
            enc.clear_buffer(b, 0, None);
        }
        for (img, w) in inputs.iter().zip(&weights) {
            for band in at(0) {
                fusion::mertens_weight(gpu, enc, band, e, img, w);
                fusion::weight_sum_add(gpu, enc, band, w, &sum);
            }
        }
        for (img, w) in inputs.iter().zip(&weights) {
            for band in at(0) {
                let n = inputs.len();
                fusion::weight_normalize(gpu, enc, band, n, e, w, &sum, &normalized);
            }
            let g = |l: usize| if l == 0 { *img } else { &gauss[l - 1] };
            let wl = |l: usize| {
                if l == 0 {
                    &normalized
                } else {
                    &weight_pyr[l - 1]
                }
            };
            for l in 1..levels.len() {
                for band in at(l) {
                    let fine = (levels[l - 1], g(l - 1));
                    fusion::pyr_down(gpu, enc, Pyr::Image, fine, band, g(l));
                    let fine = (levels[l - 1], wl(l - 1));
                    fusion::pyr_down(gpu, enc, Pyr::Weight, fine, band, wl(l));
                }
            }
            for l in 0..levels.len() {
                let coarse = (l < top).then(|| (levels[l + 1], g(l + 1)));
                for band in at(l) {
                    fusion::blend_level(gpu, enc, band, g(l), wl(l), coarse, &fused[l]);
                }
            }
        }
        for l in (0..top).rev() {
            for band in at(l) {
                fusion::collapse_level(gpu, enc, band, levels[l + 1], &fused[l + 1], &fused[l]);
            }
        }
    })?;
    let bands = bands.into_iter().next().expect("level 0");
    Ok(Fused {
        buffer: fused.swap_remove(0),
        dims,
        bands,
    })
}

/// CPU reference of the whole fusion, composed of the kernels' references in the same order.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(dims: Dims, inputs: &[Vec<[u32; 2]>], e: Exponents) -> Vec<[u32; 2]> {
    use fusion::reference as r;
    let levels = fusion::levels(dims.0, dims.1);
    let top = levels.len() - 1;
    let n = (dims.0 * dims.1) as usize;
    let weights: Vec<Vec<f32>> = inputs
        .iter()
        .map(|img| r::mertens_weight(dims, e, img))
        .collect();
    let mut sum = vec![0.0f32; n];
    for w in &weights {
        r::weight_sum_add(w, &mut sum);
    }
    let mut fused: Vec<Vec<[u32; 2]>> = levels
        .iter()
        .map(|d| vec![[0u32; 2]; (d.0 * d.1) as usize])
        .collect();
    for (img, w) in inputs.iter().zip(&weights) {
        let normalized = r::weight_normalize(dims, inputs.len(), e.from_neighbours, w, &sum);
        let mut g = vec![img.clone()];
        let mut wp = vec![normalized];
        for l in 1..levels.len() {
            g.push(r::pyr_down_image(levels[l - 1], &g[l - 1], levels[l]));
            wp.push(r::pyr_down_weight(levels[l - 1], &wp[l - 1], levels[l]));
        }
        for l in 0..levels.len() {
            let coarse = (l < top).then(|| (levels[l + 1], g[l + 1].as_slice()));
            r::blend_level(levels[l], &g[l], &wp[l], coarse, &mut fused[l]);
        }
    }
    for l in (0..top).rev() {
        let (fine, coarse) = fused.split_at_mut(l + 1);
        r::collapse_level(levels[l], levels[l + 1], &coarse[0], &mut fine[l]);
    }
    r::fused_to_f16(&fused[0])
}

/// Check a bracket before any GPU work: at least two exposures, one size, 8 or 16 bits, sane
/// exponents. Messages number the exposures from 1, in the order given.
pub(crate) fn check_bracket(images: &[crate::Image], e: Exponents) -> Result<()> {
    let bad = |m: String| Err(Error::InvalidInput(m));
    match images.len() {
        0 => return bad("exposure fusion needs at least two exposures, got none".into()),
        1 => return bad("exposure fusion needs at least two exposures, got one".into()),
        _ => {}
    }
    for (name, v) in [
        ("contrast", e.contrast),
        ("saturation", e.saturation),
        ("exposedness", e.exposedness),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return bad(format!("the {name} exponent must be a number ≥ 0, got {v}"));
        }
    }
    let first = &images[0];
    for (i, img) in images.iter().enumerate() {
        if img.bits != 8 && img.bits != 16 {
            return bad(format!(
                "exposure {}: {} bits per channel: use 8 or 16",
                i + 1,
                img.bits
            ));
        }
        if (img.width, img.height) != (first.width, first.height) {
            return bad(format!(
                "exposure {} is {}×{} but exposure 1 is {}×{}: a bracket's exposures must have the same size",
                i + 1,
                img.width,
                img.height,
                first.width,
                first.height
            ));
        }
        if img.data.len() != img.width as usize * img.height as usize * 3 {
            return bad(format!(
                "exposure {}: {} values for {}×{} RGB pixels",
                i + 1,
                img.data.len(),
                img.width,
                img.height
            ));
        }
        if img.width == 0 || img.height == 0 {
            return bad(format!("exposure {} is empty", i + 1));
        }
    }
    Ok(())
}

/// 8/16-bit RGB pixels (`bits` per channel) as RGBA 16-bit unorm words, the fusion's input
/// format; 8-bit values are scaled by 257 (exactly v/255), so brackets of mixed depths fuse as
/// they should.
fn rgba_unorm16(rgb: &[u16], bits: u8) -> Vec<[u32; 2]> {
    use rayon::prelude::*;
    let scale = if bits == 8 { 257 } else { 1 };
    rgb.par_chunks(3)
        .map(|c| {
            let u = |v: u16| (v as u32 * scale).min(0xffff);
            [u(c[0]) | (u(c[1]) << 16), u(c[2]) | (0xffff << 16)]
        })
        .collect()
}

/// Host bytes converted at a time when uploading an exposure.
const UPLOAD_SLICE_BYTES: usize = 64 << 20;

/// An exposure on the GPU in the fusion's input format ([`rgba_unorm16`]), converted and
/// written a slice of rows at a time: the host never holds the whole converted copy (800 MB for
/// a 100 MP photo).
pub(crate) fn upload_exposure(gpu: &Gpu, img: &crate::Image) -> wgpu::Buffer {
    let w = img.width as usize;
    let buffer = gpu.storage("exposure", w as u64 * img.height as u64 * 8);
    let rows = (UPLOAD_SLICE_BYTES / (w * 8).max(1)).max(1);
    for (i, slice) in img.data.chunks(rows * w * 3).enumerate() {
        let words = rgba_unorm16(slice, img.bits);
        let bytes: &[u8] = bytemuck::cast_slice(&words);
        gpu.profiler.add_host_bytes(bytes.len() as u64);
        gpu.queue
            .write_buffer(&buffer, (i * rows * w * 8) as u64, bytes);
    }
    buffer
}

/// Fuse a bracket of finished photos into one, `bits` per channel; `align`: handheld, each
/// exposure is aligned to the middle one first (see schedule::bracket).
#[allow(clippy::too_many_arguments)]
pub(crate) fn fuse_images(
    gpu: &Gpu,
    images: &[crate::Image],
    e: Exponents,
    bits: u32,
    align: bool,
    max_band_rows: Option<u32>,
    progress: &mut crate::Progress,
) -> Result<crate::Image> {
    check_bracket(images, e)?;
    let dims = (images[0].width, images[0].height);
    check_buffer(gpu, dims, RGBA16F_BYTES)?;
    let mut steps = crate::progress::Steps::new(progress, 3 + align as usize);
    let mut inputs: Vec<wgpu::Buffer> =
        images.iter().map(|img| upload_exposure(gpu, img)).collect();
    steps.step("exposures uploaded")?;
    if align {
        inputs = crate::schedule::bracket::align_exposures(gpu, images, inputs)?;
        steps.step("aligned")?;
    }
    let refs: Vec<&wgpu::Buffer> = inputs.iter().collect();
    let fused = fuse(gpu, dims, &refs, e, max_band_rows)?;
    drop(inputs);
    steps.step("fused")?;
    let mut data = Vec::with_capacity(dims.0 as usize * dims.1 as usize * 3);
    let tone = |pixels| tone::Params::plain(pixels, bits);
    download(gpu, &fused, tone, &mut |rows| {
        data.extend_from_slice(rows);
        Ok(())
    })?;
    steps.step("downloaded")?;
    Ok(crate::Image {
        width: dims.0,
        height: dims.1,
        bits: bits as u8,
        data,
        exif: images[0].exif.clone(),
    })
}

/// Tone (`tone` gives the parameters for a number of pixels) and download the fused image, a
/// band at a time: each band's rows are copied out, converted to f16, toned and read back.
fn download(
    gpu: &Gpu,
    fused: &Fused,
    tone: impl Fn(u32) -> tone::Params,
    sink: &mut RowSink,
) -> Result<()> {
    let w = fused.dims.0;
    finish_bands(gpu, fused, "tone", sink, |enc, (y0, rows), out| {
        let bytes = (w * rows) as u64 * RGBA16F_BYTES;
        let part = gpu.storage("fused band", bytes);
        let f16 = gpu.storage("fused band f16", bytes);
        let offset = (w * y0) as u64 * RGBA16F_BYTES;
        enc.copy_buffer_to_buffer(&fused.buffer, offset, &part, 0, bytes);
        let at = ((w, rows), fusion::all_rows((w, rows)));
        fusion::fused_to_f16(gpu, enc, at, &part, &f16);
        tone::record(gpu, enc, &tone(w * rows), &f16, out);
    })
}

/// The final 8/16-bit pixels of a fused image, band by band (the fusion's bands): `record`
/// writes a band's rows `(y0, rows)` into `out`, packed as the tone stage packs them, and they
/// are read back and handed to `sink` in order.
fn finish_bands(
    gpu: &Gpu,
    fused: &Fused,
    stage: &str,
    sink: &mut RowSink,
    record: impl Fn(&mut wgpu::CommandEncoder, (u32, u32), &wgpu::Buffer),
) -> Result<()> {
    let w = fused.dims.0;
    for &(y0, y1) in &fused.bands {
        let pixels = w * (y1 - y0);
        let bytes = tone::packed_bytes(pixels);
        let out = gpu.storage("output", bytes);
        gpu.run(stage, |enc| record(enc, (y0, y1 - y0), &out))?;
        let packed = gpu.read("download", &out, bytes)?;
        drop(out);
        sink(&tone::unpack_packed(pixels, &packed))?;
    }
    Ok(())
}

/// Where the scene's darkest values should land. The long synthetic exposure is brighter than
/// the short one by as many stops as it takes to lift the luminance at [`DARK_QUANTILE`] (at the
/// short exposure) to [`DARK_TARGET`] (linear; about 0.19 sRGB-encoded), at most
/// [`MAX_LONG_STOPS`]. A scene that fits the display (a ColorChecker in even light: its 5 % point
/// 4.4 stops under the white) gets one exposure, so fusion leaves its tones alone, instead of
/// lifting every shadow two stops as a fixed long exposure did (mean CIEDE2000 9 on a chart);
/// a backlit 10-stop scene gets about 5 stops, where the weights separate the two exposures
/// cleanly (the scene of tests/develop_fusion.rs, in a prototype: 2.2 stops gave a 0.49-stop
/// halo at the edge, 4.8 stops 0.14; the engine measures 0.11 with these constants). The
/// 550D chart, small in a 7.5-stop backlit scene, gets 2.5 stops: ΔE00 5.4 against 4.5 for
/// the plain curve, still under LibRaw's 5.7.
pub(crate) const DARK_QUANTILE: f64 = 0.05;
const DARK_TARGET: f32 = 0.03;
const MAX_LONG_STOPS: f32 = 6.0;

/// The fused luminance overshoots 1 a little where detail is enhanced next to bright areas and
/// undershoots 0 in dark crevices next to brighter detail: both roll off smoothly (display-
/// referred knee and toe, see shaders/fused_look.wgsl). The knee is high because on a scene
/// that needs no compression fusion returns the short exposure, whose white sits at 1.
const FUSED_KNEE: f32 = 0.9;
const FUSED_TOE: f32 = 0.01;

/// Below this luminance (at the short exposure: 1/10000 of the brightest value) a pixel's
/// colour fades to grey instead of dividing by a luminance that is mostly noise.
const COLOUR_EPS: f32 = 1e-4;

/// Strength of the display-space S-curve (0 none, 1 smoothstep) that gives back the global
/// contrast fusion flattens. 0.15 on top of the fused luminance: mean CIEDE2000 on the G2 and
/// 550D charts 3.6 / 5.0 against 3.9 / 5.3 without (prototype on LibRaw's linear render).
const CONTRAST: f32 = 0.15;

/// Luminance (at the short exposure, whose white is the scene's brightest) where pixels start to
/// fade to grey: the colour ratio keeps full saturation up to white, so the partly clipped
/// fringe of a candle flame (D30 tree) came out pink where a clipping curve renders it white.
const HIGHLIGHT_FADE: f32 = 0.85;

/// Stops of the long synthetic exposure over the short one (`dark`: the luminance at
/// [`DARK_QUANTILE`], linear, before any gain; `short_gain`: the short exposure's gain;
/// `shift`: the chosen exposure over the automatic one, 1 when automatic: an exposure set by
/// hand moves the shadows' target with it, so 3 EV under the automatic exposure renders 3 EV
/// darker shadows, and no lift at all once the target is under the short exposure).
pub(crate) fn long_exposure_stops(dark: f32, short_gain: f32, shift: f32) -> f32 {
    let dark = (dark * short_gain).max(1e-9);
    (DARK_TARGET * shift / dark)
        .log2()
        .clamp(0.0, MAX_LONG_STOPS)
}

/// Mertens' exponents on the grey synthetic exposures: no saturation (0 on grey), and the
/// exposedness measure (a product over three equal channels, i.e. the cube) to the power 1/3,
/// so it is the paper's single-channel Gaussian (σ = 0.2).
const LUMA_FUSION: Exponents = Exponents {
    contrast: 1.0,
    saturation: 0.0,
    exposedness: 1.0 / 3.0,
    // Pixels flat in both exposures (clipped white, black) weigh them equally.
    from_neighbours: false,
};

/// Colour-preserving auto HDR of a linear image (RGBA f16, `dims`), as HDR+ does it: the
/// luminance alone is rendered at a short exposure (the brightest value, `white` after `gain`,
/// on 1) and a long one ([`long_exposure_stops`] over it, from `dark`, the luminance at
/// [`DARK_QUANTILE`], and `shift`, the exposure chosen over the automatic one); the two are fused (Mertens); each pixel's linear RGB is then scaled by
/// fused / own luminance, and a gentle S-curve and the sRGB transfer finish it (see
/// stages::fused_look), quantized to `bits`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn tone_fusion(
    gpu: &Gpu,
    dims: Dims,
    linear: &wgpu::Buffer,
    gain: f32,
    white: f32,
    (dark, shift): (f32, f32),
    bits: u32,
    max_band_rows: Option<u32>,
    sink: &mut RowSink,
) -> Result<()> {
    check_buffer(gpu, dims, RGBA16F_BYTES)?;
    let short_gain = gain / white.max(1.0);
    let long_gain = short_gain * long_exposure_stops(dark, short_gain, shift).exp2();
    let bytes = dims.0 as u64 * dims.1 as u64 * RGBA16F_BYTES;
    let short = gpu.storage("short exposure", bytes);
    let long = gpu.storage("long exposure", bytes);
    let bands = fusion::plan_bands(gpu, &[dims], max_band_rows)?;
    gpu.run("synthetic exposures", |enc| {
        for &band in &bands[0] {
            let at = (dims, band);
            fusion::synthetic_exposure_luma(gpu, enc, at, short_gain, linear, &short);
            fusion::synthetic_exposure_luma(gpu, enc, at, long_gain, linear, &long);
        }
    })?;
    let fused = fuse(gpu, dims, &[&short, &long], LUMA_FUSION, max_band_rows)?;
    drop((short, long));
    let look = |pixels| fused_look::Params {
        pixels,
        stride: 0,
        bits,
        pad: 0,
        gain: short_gain,
        eps: COLOUR_EPS,
        knee: FUSED_KNEE,
        toe: FUSED_TOE,
        contrast: CONTRAST,
        highlight: HIGHLIGHT_FADE,
        pad1: [0.0; 2],
    };
    // Band by band: the band's rows of the fused grey and of the linear image, finished.
    let w = dims.0;
    finish_bands(gpu, &fused, "fused look", sink, |enc, (y0, rows), out| {
        let bytes = (w * rows) as u64 * RGBA16F_BYTES;
        let grey = gpu.storage("fused band", bytes);
        let rgb = gpu.storage("linear band", bytes);
        let offset = (w * y0) as u64 * RGBA16F_BYTES;
        enc.copy_buffer_to_buffer(&fused.buffer, offset, &grey, 0, bytes);
        enc.copy_buffer_to_buffer(linear, offset, &rgb, 0, bytes);
        fused_look::record(gpu, enc, &look(w * rows), &rgb, &grey, out);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::fusion::tests::{floats, kodak_exposure, random_image, unorms, MERTENS};
    use crate::stages::testing::{max_abs_diff, Rng};

    fn run_gpu(
        dims: Dims,
        inputs: &[Vec<[u32; 2]>],
        e: Exponents,
        band_rows: Option<u32>,
    ) -> Vec<[u32; 2]> {
        let gpu = gpu();
        let bufs: Vec<wgpu::Buffer> = inputs
            .iter()
            .map(|i| gpu.storage_init("input", bytemuck::cast_slice(i)))
            .collect();
        let refs: Vec<&wgpu::Buffer> = bufs.iter().collect();
        let fused = fuse(gpu, dims, &refs, e, band_rows).unwrap();
        let n = (dims.0 * dims.1) as u64;
        let out = gpu.storage("f16", n * 8);
        gpu.run("test", |enc| {
            fusion::fused_to_f16(
                gpu,
                enc,
                (dims, fusion::all_rows(dims)),
                &fused.buffer,
                &out,
            )
        })
        .unwrap();
        bytemuck::cast_slice(&gpu.read("test", &out, n * 8).unwrap()).to_vec()
    }

    #[test]
    fn fused_bracket_gpu_matches_reference_random_and_real() {
        let mut rng = Rng::new(51);
        let dims = (45, 29);
        let random: Vec<_> = (0..4).map(|_| random_image(&mut rng, dims)).collect();
        // A real photo bracketed at -2, 0, +2 EV (made from a Kodak photo: there are no real
        // bracketed photos in the assets; see stages::fusion::tests::kodak_exposure).
        let real_dims = (192, 128);
        let real: Vec<_> = [-2.0, 0.0, 2.0]
            .iter()
            .map(|&ev| kodak_exposure("kodim21", ev, real_dims))
            .collect();
        let filled = Exponents {
            from_neighbours: true,
            ..MERTENS
        };
        for (dims, inputs) in [(dims, &random), (real_dims, &real)] {
            for e in [MERTENS, filled] {
                let got = floats(&run_gpu(dims, inputs, e, None));
                let want = floats(&reference(dims, inputs, e));
                // Ten levels of f16 rounding, each of which may round the other way on the GPU.
                let d = max_abs_diff(&got, &want);
                assert!(d <= 4e-3, "{dims:?} {e:?}: GPU and reference differ by {d}");
            }
        }
    }

    /// Fusion in bands (every level, windows into whole buffers) equals fusion in one pass: the
    /// same arithmetic on the same values, so within f16 rounding of the final conversion.
    #[test]
    fn banded_fusion_equals_one_pass_on_a_real_bracket() {
        // Odd sizes: levels of odd width and height, band edges at every level.
        let dims = (203, 141);
        let real: Vec<_> = [-2.0, 0.0, 2.0]
            .iter()
            .map(|&ev| kodak_exposure("kodim08", ev, dims))
            .collect();
        // Both ways of weighing pixels without weight: from_neighbours reads a halo of rows.
        for from_neighbours in [false, true] {
            let e = Exponents {
                from_neighbours,
                ..MERTENS
            };
            let whole = floats(&run_gpu(dims, &real, e, None));
            for rows in [1, 16, 50] {
                let plan = fusion::plan_bands(gpu(), &fusion::levels(dims.0, dims.1), Some(rows));
                assert!(plan.unwrap()[0].len() > 1, "{rows}-row bands: one pass");
                let banded = floats(&run_gpu(dims, &real, e, Some(rows)));
                let d = max_abs_diff(&whole, &banded);
                assert!(
                    d <= 1e-6,
                    "{rows}-row bands ({e:?}) differ from one pass by {d}"
                );
            }
        }
    }

    /// The long exposure lifts only scenes the display cannot hold: none for a chart-like range,
    /// the stops to the target for a deep-shadowed one, fewer when the exposure is set darker
    /// by hand, never more than the cap.
    #[test]
    fn long_exposure_follows_the_scene_range_and_the_chosen_exposure() {
        // The darkest 5 % at 1/16 of white (4 stops): the display holds it.
        assert_eq!(long_exposure_stops(1.0 / 16.0, 1.0, 1.0), 0.0);
        // At 1/1024 (10 stops): lifted to the target, 0.03.
        let stops = long_exposure_stops(1.0 / 1024.0, 1.0, 1.0);
        assert!((stops - (0.03f32 * 1024.0).log2()).abs() < 1e-4, "{stops}");
        // The same scene exposed 3 EV under the automatic exposure: 3 stops less lift.
        let darker = long_exposure_stops(1.0 / 1024.0, 1.0, 1.0 / 8.0);
        assert!((stops - darker - 3.0).abs() < 1e-4, "{stops} vs {darker}");
        // The short exposure's gain counts: the same scene at twice the gain needs a stop less.
        let brighter = long_exposure_stops(1.0 / 1024.0, 2.0, 1.0);
        assert!(
            (stops - brighter - 1.0).abs() < 1e-4,
            "{stops} vs {brighter}"
        );
        // A black frame: the cap, not infinity.
        assert_eq!(long_exposure_stops(0.0, 1.0, 1.0), MAX_LONG_STOPS);
    }

    #[test]
    fn fusing_copies_of_one_image_gives_the_image_back_on_gpu() {
        let (dims, img) = ((100, 67), kodak_exposure("kodim05", 0.0, (100, 67)));
        let got = floats(&run_gpu(
            dims,
            &[img.clone(), img.clone(), img.clone()],
            MERTENS,
            None,
        ));
        let d = max_abs_diff(&got, &unorms(&img));
        assert!(d <= 4e-3, "copies fused to something else: {d}");
    }
}
