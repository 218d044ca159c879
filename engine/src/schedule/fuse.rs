//! Exposure fusion of aligned, display-referred exposures on the GPU (Mertens, Kautz & Van Reeth
//! 2007): weights of every input, normalized across inputs; each input's Laplacian pyramid blended
//! level by level under its weight's Gaussian pyramid; the fused pyramid collapsed. Everything stays
//! on the GPU; the caller downloads (or tones) the fused full-size level.

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::stages::fusion::{self, Dims, Exponents};
use crate::stages::{tone, RGBA16F_BYTES};

/// Largest level-0 buffer: the whole image is one binding (pyramids are not banded yet).
pub(crate) fn check_fits(gpu: &Gpu, dims: Dims) -> Result<()> {
    let bytes = dims.0 as u64 * dims.1 as u64 * RGBA16F_BYTES;
    if bytes > gpu.max_binding() {
        return Err(Error::InvalidInput(format!(
            "a {}×{} image needs {} MiB buffers for exposure fusion; this device allows {} MiB",
            dims.0,
            dims.1,
            bytes >> 20,
            gpu.max_binding() >> 20
        )));
    }
    Ok(())
}

/// Fuse `inputs` (RGBA unorm16 images of `dims`, display-referred); returns the fused
/// image in a new RGBA f16 buffer (values may leave [0, 1] slightly: clamp when quantizing).
pub(crate) fn fuse(
    gpu: &Gpu,
    dims: Dims,
    inputs: &[&wgpu::Buffer],
    e: Exponents,
) -> Result<wgpu::Buffer> {
    if inputs.is_empty() {
        return Err(Error::InvalidInput(
            "exposure fusion needs at least one image".into(),
        ));
    }
    check_fits(gpu, dims)?;
    let levels = fusion::levels(dims.0, dims.1);
    let px = |d: Dims| d.0 as u64 * d.1 as u64;
    let weights: Vec<wgpu::Buffer> = inputs
        .iter()
        .map(|_| gpu.storage("fusion weight", px(dims) * 4))
        .collect();
    let sum = gpu.storage("fusion weight sum", px(dims) * 4);
    // Per-level scratch, reused for every input (level 0 is the input itself / its weight map).
    let gauss: Vec<wgpu::Buffer> = levels[1..]
        .iter()
        .map(|&d| gpu.storage("gaussian level", px(d) * RGBA16F_BYTES))
        .collect();
    let weight_pyr: Vec<wgpu::Buffer> = levels[1..]
        .iter()
        .map(|&d| gpu.storage("weight level", px(d) * 4))
        .collect();
    let fused: Vec<wgpu::Buffer> = levels
        .iter()
        .map(|&d| gpu.storage("fused level", px(d) * RGBA16F_BYTES))
        .collect();
    let top = levels.len() - 1;
    gpu.run("exposure fusion", |enc| {
        enc.clear_buffer(&sum, 0, None);
        for b in &fused {
            enc.clear_buffer(b, 0, None);
        }
        for (img, w) in inputs.iter().zip(&weights) {
            fusion::mertens_weight(gpu, enc, dims, e, img, w);
            fusion::weight_sum_add(gpu, enc, dims, w, &sum);
        }
        for (img, w) in inputs.iter().zip(&weights) {
            fusion::weight_normalize(gpu, enc, dims, &sum, w);
            let g = |l: usize| if l == 0 { *img } else { &gauss[l - 1] };
            let wl = |l: usize| if l == 0 { w } else { &weight_pyr[l - 1] };
            for l in 1..levels.len() {
                fusion::pyr_down_image(gpu, enc, levels[l - 1], g(l - 1), levels[l], g(l));
                fusion::pyr_down_weight(gpu, enc, levels[l - 1], wl(l - 1), levels[l], wl(l));
            }
            for l in 0..levels.len() {
                let coarse = (l < top).then(|| (levels[l + 1], g(l + 1)));
                fusion::blend_level(gpu, enc, levels[l], g(l), wl(l), coarse, &fused[l]);
            }
        }
        for l in (0..top).rev() {
            fusion::collapse_level(gpu, enc, levels[l], levels[l + 1], &fused[l + 1], &fused[l]);
        }
    })?;
    let out = gpu.storage("fused f16", px(dims) * RGBA16F_BYTES);
    gpu.run("exposure fusion output", |enc| {
        fusion::fused_to_f16(gpu, enc, dims, &fused[0], &out)
    })?;
    Ok(out)
}

/// CPU reference of the whole fusion, composed of the kernels' references in the same order.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(dims: Dims, inputs: &[Vec<[u32; 2]>], e: Exponents) -> Vec<[u32; 2]> {
    use fusion::reference as r;
    let levels = fusion::levels(dims.0, dims.1);
    let top = levels.len() - 1;
    let n = (dims.0 * dims.1) as usize;
    let mut weights: Vec<Vec<f32>> = inputs
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
    for (img, w) in inputs.iter().zip(weights.iter_mut()) {
        r::weight_normalize(&sum, w);
        let mut g = vec![img.clone()];
        let mut wp = vec![w.clone()];
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

/// An 8/16-bit RGB image as RGBA 16-bit unorm words, the fusion's input format; 8-bit values are
/// scaled by 257 (exactly v/255), so brackets of mixed depths fuse as they should.
pub(crate) fn to_rgba_unorm16(img: &crate::Image) -> Vec<[u32; 2]> {
    use rayon::prelude::*;
    let scale = if img.bits == 8 { 257 } else { 1 };
    img.data
        .par_chunks(3)
        .map(|c| {
            let u = |v: u16| (v as u32 * scale).min(0xffff);
            [u(c[0]) | (u(c[1]) << 16), u(c[2]) | (0xffff << 16)]
        })
        .collect()
}

/// Fuse a bracket of finished photos into one, `bits` per channel.
pub(crate) fn fuse_images(
    gpu: &Gpu,
    images: &[crate::Image],
    e: Exponents,
    bits: u32,
) -> Result<crate::Image> {
    check_bracket(images, e)?;
    let dims = (images[0].width, images[0].height);
    check_fits(gpu, dims)?;
    let inputs: Vec<wgpu::Buffer> = images
        .iter()
        .map(|img| gpu.storage_init("exposure", bytemuck::cast_slice(&to_rgba_unorm16(img))))
        .collect();
    let refs: Vec<&wgpu::Buffer> = inputs.iter().collect();
    let fused = fuse(gpu, dims, &refs, e)?;
    drop(inputs);
    let data = quantize(gpu, dims, &fused, bits)?;
    Ok(crate::Image {
        width: dims.0,
        height: dims.1,
        bits: bits as u8,
        data,
        exif: images[0].exif.clone(),
    })
}

/// Clamp and quantize a display-referred RGBA f16 image to `bits`, and download it.
pub(crate) fn quantize(gpu: &Gpu, dims: Dims, img: &wgpu::Buffer, bits: u32) -> Result<Vec<u16>> {
    let tp = tone::Params::plain(dims.0 * dims.1, bits);
    download(gpu, &tp, img)
}

/// Run the tone kernel with `tp` on `img` and download the 8/16-bit values.
fn download(gpu: &Gpu, tp: &tone::Params, img: &wgpu::Buffer) -> Result<Vec<u16>> {
    let out = gpu.storage("output", tp.output_bytes());
    gpu.run("quantize", |enc| tone::record(gpu, enc, tp, img, &out))?;
    let bytes = gpu.read("download", &out, tp.output_bytes())?;
    Ok(tone::unpack_output(tp, &bytes))
}

/// How far the long synthetic exposure is over the automatic exposure. On a 5-stop backlit scene
/// (tests/develop_fusion.rs) 1 stop lifted shadow detail by 9 % over the curve with a 0.64-stop
/// halo at the edge, 2 stops by 56 % with a 0.22-stop halo (the weights then separate the two
/// exposures more cleanly), 3-4 stops clipped more.
const LONG_EXPOSURE_EV: f32 = 2.0;

/// The fused image overshoots [0, 1] a little where detail is enhanced next to bright areas: a
/// shoulder from KNEE rolls values up to FUSED_WHITE smoothly into 1 instead of clipping them.
const FUSED_KNEE: f32 = 0.8;
const FUSED_WHITE: f32 = 1.25;

/// Auto-HDR tone mapping of a linear image (RGBA f16, `dims`): a short synthetic exposure that
/// lands the image's brightest value (`white`, after `gain`) on 1, a long one at the automatic
/// exposure `gain` plus [`LONG_EXPOSURE_EV`], fused with the paper's Mertens weights, rolled off
/// above [`FUSED_KNEE`] and quantized to `bits`.
pub(crate) fn tone_fusion(
    gpu: &Gpu,
    dims: Dims,
    linear: &wgpu::Buffer,
    gain: f32,
    white: f32,
    bits: u32,
) -> Result<Vec<u16>> {
    check_fits(gpu, dims)?;
    let short_gain = gain / white.max(1.0);
    let long_gain = (gain * LONG_EXPOSURE_EV.exp2()).max(short_gain);
    let bytes = dims.0 as u64 * dims.1 as u64 * RGBA16F_BYTES;
    let short = gpu.storage("short exposure", bytes);
    let long = gpu.storage("long exposure", bytes);
    gpu.run("synthetic exposures", |enc| {
        fusion::synthetic_exposure(gpu, enc, dims, short_gain, linear, &short);
        fusion::synthetic_exposure(gpu, enc, dims, long_gain, linear, &long);
    })?;
    let e = Exponents {
        contrast: 1.0,
        saturation: 1.0,
        exposedness: 1.0,
    };
    let fused = fuse(gpu, dims, &[&short, &long], e)?;
    let tp = tone::Params {
        flags: tone::SHOULDER,
        knee: FUSED_KNEE,
        white: FUSED_WHITE,
        ..tone::Params::plain(dims.0 * dims.1, bits)
    };
    download(gpu, &tp, &fused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::fusion::tests::{floats, kodak_exposure, random_image, unorms, MERTENS};
    use crate::stages::testing::{max_abs_diff, Rng};

    fn run_gpu(dims: Dims, inputs: &[Vec<[u32; 2]>], e: Exponents) -> Vec<[u32; 2]> {
        let gpu = gpu();
        let bufs: Vec<wgpu::Buffer> = inputs
            .iter()
            .map(|i| gpu.storage_init("input", bytemuck::cast_slice(i)))
            .collect();
        let refs: Vec<&wgpu::Buffer> = bufs.iter().collect();
        let out = fuse(gpu, dims, &refs, e).unwrap();
        let n = (dims.0 * dims.1) as u64;
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
        for (dims, inputs) in [(dims, &random), (real_dims, &real)] {
            let got = floats(&run_gpu(dims, inputs, MERTENS));
            let want = floats(&reference(dims, inputs, MERTENS));
            // Ten levels of f16 rounding, each of which may round the other way on the GPU.
            let d = max_abs_diff(&got, &want);
            assert!(d <= 4e-3, "{dims:?}: GPU and reference differ by {d}");
        }
    }

    #[test]
    fn fusing_copies_of_one_image_gives_the_image_back_on_gpu() {
        let (dims, img) = ((100, 67), kodak_exposure("kodim05", 0.0, (100, 67)));
        let got = floats(&run_gpu(
            dims,
            &[img.clone(), img.clone(), img.clone()],
            MERTENS,
        ));
        let d = max_abs_diff(&got, &unorms(&img));
        assert!(d <= 4e-3, "copies fused to something else: {d}");
    }
}
