//! Merge a burst on the GPU: upload each frame once (u16), build the reference's gray pyramid,
//! then per alternate frame: pyramid → align → merge into the accumulator, one submission per
//! frame so that only the reference and one alternate are resident at a time. Finally the merged
//! mosaic is downloaded once and becomes a 16-bit frame that the develop pipeline (and the DNG
//! writer) take as they take any raw frame.

use std::ops::ControlFlow;

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::raw::Frame;
use crate::stages::align::{self, GrayParams, Pyramid};
use crate::stages::merge::{self, MergeMethod, Params, DENOISE_C, SPATIAL_C, WIENER_C};

/// The merged mosaic is stored with this black level and white 65535: below-black noise of the
/// average survives (nothing is clipped at black before demosaicing), and 61 439 levels are far
/// finer than the merged noise.
pub(crate) const MERGED_BLACK: f32 = 4096.0;
/// Frames among which the automatic reference is the sharpest.
pub(crate) const REFERENCE_CANDIDATES: usize = 3;

/// What to merge and how (validated by the caller).
pub(crate) struct Plan<'a> {
    pub frames: &'a [Frame],
    pub reference: Option<usize>,
    pub method: MergeMethod,
    pub strength: f32,
}

fn gray_params(f: &Frame) -> GrayParams {
    GrayParams::new(f.width, f.height, f.black, f.white)
}

fn upload(gpu: &Gpu, f: &Frame) -> wgpu::Buffer {
    gpu.storage_init("raw frame", bytemuck::cast_slice(&f.mosaic))
}

/// The sharpest of the first few frames: the most gradient energy in the gray image (camera
/// shake blurs, and a blurred reference would blur the merge).
pub(crate) fn pick_reference(gpu: &Gpu, frames: &[Frame]) -> Result<usize> {
    let mut best = (0, f64::MIN);
    for (i, f) in frames.iter().take(REFERENCE_CANDIDATES).enumerate() {
        let gp = gray_params(f);
        let raw = upload(gpu, f);
        let rows = gpu.run("reference choice", |enc| {
            let pyr = align::record_pyramid(gpu, enc, &gp, &raw);
            align::record_gradient_energy(gpu, enc, &pyr.levels[0], gp.gw, gp.gh)
        })?;
        let sums: Vec<f32> =
            bytemuck::cast_slice(&gpu.read("reference choice", &rows, gp.gh as u64 * 4)?).to_vec();
        let energy: f64 = sums.iter().map(|&v| v as f64).sum();
        if energy > best.1 {
            best = (i, energy);
        }
    }
    Ok(best.0)
}

/// Motion fields (gray pixels per tile) of every frame against the reference.
pub(crate) fn align_all(
    gpu: &Gpu,
    frames: &[Frame],
    reference: usize,
) -> Result<Vec<Vec<[f32; 2]>>> {
    let r = &frames[reference];
    let gp = gray_params(r);
    let ref_raw = upload(gpu, r);
    let ref_pyr = gpu.run("align", |enc| {
        align::record_pyramid(gpu, enc, &gp, &ref_raw)
    })?;
    let n = (align::tiles(gp.gw) * align::tiles(gp.gh)) as usize;
    frames
        .iter()
        .map(|f| {
            let raw = upload(gpu, f);
            let motion = gpu.run("align", |enc| {
                let pyr = align::record_pyramid(gpu, enc, &gray_params(f), &raw);
                align::record_align(gpu, enc, &ref_pyr, &pyr)
            })?;
            Ok(bytemuck::cast_slice(&gpu.read("align", &motion, n as u64 * 8)?).to_vec())
        })
        .collect()
}

/// Noise model (variance = scale·x + offset, normalised signal) of the reference: its DNG
/// NoiseProfile, or else estimated from it.
fn noise_model(frame: &Frame) -> [f32; 2] {
    match frame.noise_profile {
        Some([s, o]) => [s as f32, o as f32],
        None => estimate_noise(frame),
    }
}

/// Estimate shot + read noise from one frame: in 16 brightness bins, the lower quartile of the
/// squared diagonal second difference of same-colour 2×2 blocks, (a − b − c + d) / 2 (zero on
/// flat areas, ramps and straight horizontal or vertical edges, so it sees mostly noise, and
/// texture only adds to it — hence a low quantile), converted to a variance and fitted with a
/// line. Sampled on every other block: a statistic, not pixel work, so it runs on the CPU.
pub(crate) fn estimate_noise(frame: &Frame) -> [f32; 2] {
    const BINS: usize = 16;
    let (w, h) = (frame.width as usize, frame.height as usize);
    let norm = |x: usize, y: usize| {
        let b = frame.black[(y & 1) * 2 + (x & 1)];
        (frame.mosaic[y * w + x] as f32 - b) / (frame.white - b)
    };
    let mut bins: Vec<Vec<f32>> = vec![Vec::new(); BINS];
    for y in (0..h.saturating_sub(2)).step_by(3) {
        for x in (0..w.saturating_sub(2)).step_by(3) {
            let (a, b, c, d) = (
                norm(x, y),
                norm(x + 2, y),
                norm(x, y + 2),
                norm(x + 2, y + 2),
            );
            let mean = 0.25 * (a + b + c + d);
            let r = 0.5 * (a - b - c + d);
            let bin = (mean.clamp(0.0, 0.999) * BINS as f32) as usize;
            bins[bin].push(r * r);
        }
    }
    // For Gaussian noise r has the pixels' variance σ², and the lower quartile of r² is
    // 0.1015 σ² (the quartile of χ² with one degree of freedom).
    let points: Vec<(f64, f64, f64)> = bins
        .iter_mut()
        .enumerate()
        .filter(|(_, b)| b.len() >= 50)
        .map(|(i, b)| {
            b.sort_by(|a, c| a.total_cmp(c));
            let var = b[b.len() / 4] as f64 / 0.1015;
            let x = (i as f64 + 0.5) / BINS as f64;
            // A variance estimated from n samples has a standard error ∝ var / √n: weigh each
            // bin by n / var² (texture makes bright, busy bins the noisiest estimates).
            (x, var, b.len() as f64 / (var * var).max(1e-30))
        })
        .collect();
    let (sw, sx, sy, sxx, sxy) = points
        .iter()
        .fold((0.0, 0.0, 0.0, 0.0, 0.0), |a, &(x, y, n)| {
            (
                a.0 + n,
                a.1 + n * x,
                a.2 + n * y,
                a.3 + n * x * x,
                a.4 + n * x * y,
            )
        });
    let det = sw * sxx - sx * sx;
    if points.len() < 2 || det <= 0.0 {
        let var = if sw > 0.0 { sy / sw } else { 1e-5 };
        return [0.0, var.max(1e-8) as f32];
    }
    let scale = ((sw * sxy - sx * sy) / det).max(0.0);
    let offset = ((sy - scale * sx) / sw).max(1e-8);
    [scale as f32, offset as f32]
}

/// Merge the frames; returns the merged mosaic as a frame and the reference index used.
/// `progress(done, total, stage)` is called as steps finish (reference, each frame, finish);
/// returning `ControlFlow::Break` cancels the merge between steps with [`Error::Cancelled`].
pub(crate) fn merge(
    gpu: &Gpu,
    plan: &Plan,
    progress: &mut dyn FnMut(usize, usize, &str) -> ControlFlow<()>,
) -> Result<(Frame, usize)> {
    let mut progress = |done, total, stage: &str| match progress(done, total, stage) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(Error::Cancelled),
    };
    let frames = plan.frames;
    let total = frames.len() + 2;
    let reference = match plan.reference {
        Some(i) if i < frames.len() => i,
        Some(i) => {
            return Err(Error::InvalidInput(format!(
                "reference frame {i} does not exist: the burst has {} frames (0..{})",
                frames.len(),
                frames.len() - 1
            )))
        }
        None => pick_reference(gpu, frames)?,
    };
    progress(1, total, "reference chosen")?;
    let r = &frames[reference];
    if frames.len() == 1 {
        return Ok((r.clone(), 0));
    }
    let base_c = match plan.method {
        MergeMethod::Wiener => WIENER_C,
        MergeMethod::Spatial => SPATIAL_C,
    };
    let [scale, offset] = noise_model(r);
    let p = Params::new(
        r.width,
        r.height,
        frames.len() as u32,
        (r.black, r.white),
        [
            scale,
            offset,
            base_c * plan.strength,
            DENOISE_C * plan.strength,
        ],
    );
    // Merging keeps whole frames on the device (no bands yet): refuse clearly, before any GPU
    // work, what one binding cannot hold, instead of failing in validation.
    let acc_bytes = p.acc_len(plan.method) * 4;
    if acc_bytes > gpu.max_binding() {
        return Err(Error::InvalidInput(format!(
            "{}: {}×{} frames need a {} MiB merge buffer, more than this device's {} MiB binding \
             limit (merging in bands is not implemented yet): try --merge spatial, or a GPU with \
             larger bindings",
            r.source.display(),
            r.width,
            r.height,
            acc_bytes >> 20,
            gpu.max_binding() >> 20
        )));
    }
    let gp = gray_params(r);
    let ref_raw = upload(gpu, r);
    let acc = gpu.storage("merge accumulator", acc_bytes);
    let ref_pyr: Pyramid = gpu.run("align", |enc| {
        enc.clear_buffer(&acc, 0, None);
        align::record_pyramid(gpu, enc, &gp, &ref_raw)
    })?;
    let zero = gpu.storage_init(
        "zero motion",
        &vec![0u8; (p.tiles_x * p.tiles_y) as usize * 8],
    );
    for (i, f) in frames.iter().enumerate() {
        let pf = p.with_alt((f.black, f.white));
        if i == reference {
            gpu.run("merge", |enc| {
                merge::record_frame(gpu, enc, plan.method, &pf, &ref_raw, &ref_raw, &zero, &acc)
            })?;
            progress(i + 2, total, "merged the reference")?;
            continue;
        }
        let raw = upload(gpu, f);
        gpu.run("align and merge", |enc| {
            let pyr = align::record_pyramid(gpu, enc, &gray_params(f), &raw);
            let motion = align::record_align(gpu, enc, &ref_pyr, &pyr);
            merge::record_frame(gpu, enc, plan.method, &pf, &ref_raw, &raw, &motion, &acc);
        })?;
        progress(i + 2, total, "aligned and merged a frame")?;
    }
    let n = (r.width * r.height) as u64;
    let out = gpu.storage("merged mosaic", n * 4);
    gpu.run("merge", |enc| {
        merge::record_finish(gpu, enc, plan.method, &p, &ref_raw, &acc, &out)
    })?;
    let merged: Vec<f32> = bytemuck::cast_slice(&gpu.read("merge", &out, n * 4)?).to_vec();
    progress(total, total, "merged")?;
    let range = 65535.0 - MERGED_BLACK;
    let mosaic = merged
        .iter()
        .map(|&v| (MERGED_BLACK + v * range).round().clamp(0.0, 65535.0) as u16)
        .collect();
    // Averaging N frames divides the noise variance by up to N; say so in the profile.
    let k = frames.len() as f64;
    let frame = Frame {
        mosaic,
        black: [MERGED_BLACK; 4],
        white: 65535.0,
        noise_profile: Some([scale as f64 / k, offset as f64 / k]),
        cfa_block: 1,
        xtrans: None,
        ..r.clone()
    };
    frame.validate()?;
    Ok((frame, reference))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::testing::{kodak, Rng};
    use crate::Cfa;

    /// A real photo as 12-bit sensor data with Gaussian shot + read noise of a known profile.
    fn noisy(name: &str, scale: f64, offset: f64, seed: u64) -> Frame {
        let (w, h, px) = kodak(name);
        let mut rng = Rng::new(seed);
        let mut normal = || {
            let (u, v) = (rng.unit().max(1e-7) as f64, rng.unit() as f64);
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        let mosaic = (0..(w * h) as usize)
            .map(|i| {
                let x = px[i][Cfa::Rggb.color_at(i % w as usize, i / w as usize)] as f64;
                let v = x + (scale * x + offset).sqrt() * normal();
                (256.0 + v * 3839.0).round().clamp(0.0, 4095.0) as u16
            })
            .collect();
        Frame::from_mosaic(w, h, mosaic, Cfa::Rggb, 256.0, 4095.0).unwrap()
    }

    #[test]
    fn noise_is_estimated_from_a_real_photo() {
        // At the noise levels where merging matters (the burst tests' medium and high levels),
        // the estimate must predict the variance at mid-grey and in the shadows within 30 %:
        // close enough for the shrinkage, whose constant c spans a factor of several anyway.
        // KNOWN GAP: on a photo busy with fine texture everywhere (kodim05) texture is mistaken
        // for noise: 2× too high at the medium level, 3× at the low one. Files with a
        // NoiseProfile do not use the estimate; a burst-based estimate (differences of aligned
        // frames) is the planned fix.
        for (name, scale, offset) in [("kodim23", 4e-3, 4e-5), ("kodim23", 1.6e-2, 4e-4)] {
            let f = noisy(name, scale, offset, 1);
            let [s, o] = estimate_noise(&f);
            for x in [0.05f64, 0.18] {
                let (want, got) = (scale * x + offset, s as f64 * x + o as f64);
                eprintln!("{name} at {x}: variance {got:.3e}, true {want:.3e}");
                assert!(
                    (got / want - 1.0).abs() < 0.3,
                    "{name} at {x}: estimated variance {got:.3e}, true {want:.3e}"
                );
            }
        }
    }
}
