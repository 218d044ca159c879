//! Merge a burst on the GPU, a band of rows at a time (one band when the frames fit the device's
//! bindings, see [`merge_bands`]): per band, upload the reference's crop and build its gray
//! pyramid, then per alternate frame: crop → pyramid → align → merge into the band's
//! accumulator, one submission per frame so that only the reference and one alternate are
//! resident at a time; the band's merged rows are copied into the merged mosaic, which is only
//! copied into (never bound whole). Global decisions are made once for the whole burst: the
//! reference (gradient energy summed over every band's rows) and the noise model (from whole
//! motion fields). The merged mosaic stays on the GPU for the develop stages (which render it in
//! bands) or is downloaded once as a 16-bit frame (DNG).

use std::ops::ControlFlow;

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::raw::Frame;
pub(crate) use crate::schedule::merge_bands::gray_params;
use crate::schedule::merge_bands::{self, Band};
use crate::schedule::noise::{estimate_noise, estimate_noise_from_pairs};
use crate::stages::align;
use crate::stages::merge::{self, MergeMethod, Params, DENOISE_C, SPATIAL_C, WIENER_C};

/// The merged mosaic is stored with this black level and white 65535 (the finish kernels round
/// to these levels): below-black noise of the average survives (nothing is clipped at black
/// before demosaicing), and 61 439 levels are far finer than the merged noise.
use crate::stages::merge::MERGED_BLACK;
/// Frames among which the automatic reference is the sharpest.
pub(crate) const REFERENCE_CANDIDATES: usize = 3;

/// What to merge and how (validated by the caller).
pub(crate) struct Plan<'a> {
    pub frames: &'a [Frame],
    pub reference: Option<usize>,
    pub method: MergeMethod,
    pub strength: f32,
    /// Merge at most this many mosaic rows at a time (default: as many as a binding holds).
    pub max_band_rows: Option<u32>,
    /// Treat the device's binding limit as at most this many bytes.
    pub max_binding: Option<u64>,
}

/// The bands in which `frames` (of one size) merge on `gpu` with `method`.
fn bands_of(
    gpu: &Gpu,
    frames: &[Frame],
    method: MergeMethod,
    max_binding: Option<u64>,
    max_band_rows: Option<u32>,
) -> Result<Vec<Band>> {
    let r = &frames[0];
    let p = params_of(r, frames.len() as u32, [0.0; 4]);
    let limit = gpu.max_binding().min(max_binding.unwrap_or(u64::MAX));
    merge_bands::plan(&p, method_for(r, method), limit, max_band_rows, &r.source)
}

/// X-Trans has no Bayer planes for the Wiener tiles: either method merges it with the X-Trans
/// kernel regression, whose accumulator and finish are the spatial merge's.
fn method_for(r: &Frame, method: MergeMethod) -> MergeMethod {
    match r.xtrans {
        Some(_) => MergeMethod::Spatial,
        None => method,
    }
}

/// Merge parameters of a burst of `frames` like `r` (whole frames).
fn params_of(r: &Frame, frames: u32, noise: [f32; 4]) -> Params {
    let levels = (r.black, r.white);
    match r.xtrans {
        None => Params::new(r.width, r.height, frames, levels, noise),
        Some(layout) => Params::xtrans(r.width, r.height, frames, levels, noise, layout),
    }
}

/// The sharpest of the first few frames: the most gradient energy in the gray image (camera
/// shake blurs, and a blurred reference would blur the merge).
fn pick_reference(gpu: &Gpu, frames: &[Frame], bands: &[Band]) -> Result<usize> {
    let mut best = (0, f64::MIN);
    for (i, f) in frames.iter().take(REFERENCE_CANDIDATES).enumerate() {
        let energy = merge_bands::gradient_energy(gpu, bands, f)?;
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
    let bands = bands_of(gpu, frames, MergeMethod::Wiener, None, None)?;
    let all: Vec<&Frame> = frames.iter().collect();
    merge_bands::motion_fields(gpu, &bands, &frames[reference], &all, "align")
}

/// Alternate frames whose differences with the reference estimate the noise (without a DNG
/// NoiseProfile): each is aligned before merging (its motion is kept for the merge).
const NOISE_FRAMES: usize = 3;

/// One frame's whole motion field (vectors per tile), by frame index.
type Motion = (usize, Vec<[f32; 2]>);

/// Noise model (variance = scale·x + offset, normalised signal) of the reference: its DNG
/// NoiseProfile, or else estimated from the differences between it and a few aligned frames
/// (and, should those give too few flat samples, from the reference alone). Also returns the
/// whole motion fields computed for it, by frame index.
fn noise_model(
    gpu: &Gpu,
    frames: &[Frame],
    reference: usize,
    bands: &[Band],
) -> Result<([f32; 2], Vec<Motion>)> {
    let r = &frames[reference];
    if let Some([s, o]) = r.noise_profile {
        return Ok(([s as f32, o as f32], Vec::new()));
    }
    // The burst-based estimate works per Bayer plane; X-Trans takes the single-frame one.
    if r.xtrans.is_some() {
        return Ok((estimate_noise(r), Vec::new()));
    }
    let alts: Vec<usize> = (0..frames.len())
        .filter(|&i| i != reference)
        .take(NOISE_FRAMES)
        .collect();
    let refs: Vec<&Frame> = alts.iter().map(|&i| &frames[i]).collect();
    let fields = merge_bands::motion_fields(gpu, bands, r, &refs, "noise estimate: align")?;
    let pairs: Vec<(&Frame, Vec<[f32; 2]>)> = refs.into_iter().zip(fields).collect();
    let noise = estimate_noise_from_pairs(r, &pairs).unwrap_or_else(|| estimate_noise(r));
    let known = alts
        .into_iter()
        .zip(pairs.into_iter().map(|p| p.1))
        .collect();
    Ok((noise, known))
}

/// A merged burst on the GPU: the normalised f32 mosaic (the reference's black 0, white 1 per CFA
/// position), ready for the develop stages without leaving the device.
pub(crate) struct Merged {
    pub buffer: wgpu::Buffer,
    /// Index of the reference frame, whose colour and metadata the merged mosaic carries.
    pub reference: usize,
    /// Noise model of the reference (variance = scale·x + offset).
    pub noise: [f32; 2],
    pub frames: usize,
}

impl Merged {
    /// Download the merged mosaic as a 16-bit frame (for `--dng` and `merge_raw`).
    pub fn to_frame(&self, gpu: &Gpu, frames: &[Frame]) -> Result<Frame> {
        let r = &frames[self.reference];
        let n = (r.width * r.height) as u64;
        let merged: Vec<f32> =
            bytemuck::cast_slice(&gpu.read("merge", &self.buffer, n * 4)?).to_vec();
        let range = 65535.0 - MERGED_BLACK;
        let mosaic = merged
            .iter()
            .map(|&v| (MERGED_BLACK + v * range).round().clamp(0.0, 65535.0) as u16)
            .collect();
        // Averaging N frames divides the noise variance by up to N; say so in the profile.
        let k = self.frames as f64;
        let [scale, offset] = self.noise;
        let frame = Frame {
            mosaic,
            black: [MERGED_BLACK; 4],
            white: 65535.0,
            noise_profile: Some([scale as f64 / k, offset as f64 / k]),
            cfa_block: 1,
            // The merged X-Trans mosaic keeps the reference's layout (a 6×6 CFA in the DNG).
            xtrans: r.xtrans,
            ..r.clone()
        };
        frame.validate()?;
        Ok(frame)
    }
}

/// Merge the frames on the GPU. `Ok(Err(i))`: a burst of one frame, nothing merged (frame `i`
/// develops as it is). `progress(done, total, stage)` is called as steps finish (reference, each
/// frame of each band, finish); returning `ControlFlow::Break` cancels the merge between steps
/// with [`Error::Cancelled`].
pub(crate) fn merge(
    gpu: &Gpu,
    plan: &Plan,
    progress: &mut dyn FnMut(usize, usize, &str) -> ControlFlow<()>,
) -> Result<std::result::Result<Merged, usize>> {
    let mut progress = |done, total, stage: &str| match progress(done, total, stage) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(Error::Cancelled),
    };
    let frames = plan.frames;
    // Every buffer the merge binds fits one binding in each band.
    let bands = bands_of(
        gpu,
        frames,
        plan.method,
        plan.max_binding,
        plan.max_band_rows,
    )?;
    let total = frames.len() * bands.len() + 2;
    let reference = match plan.reference {
        Some(i) if i < frames.len() => i,
        Some(i) => {
            return Err(Error::InvalidInput(format!(
                "reference frame {i} does not exist: the burst has {} frames (0..{})",
                frames.len(),
                frames.len() - 1
            )))
        }
        None if frames.len() == 1 => 0,
        None => pick_reference(gpu, frames, &bands)?,
    };
    progress(1, total, "reference chosen")?;
    let r = &frames[reference];
    if frames.len() == 1 {
        return Ok(Err(reference));
    }
    let method = method_for(r, plan.method);
    let base_c = match method {
        MergeMethod::Wiener => WIENER_C,
        MergeMethod::Spatial => SPATIAL_C,
    };
    let ([scale, offset], known) = noise_model(gpu, frames, reference, &bands)?;
    let noise = [
        scale,
        offset,
        base_c * plan.strength,
        DENOISE_C * plan.strength,
    ];
    let p = params_of(r, frames.len() as u32, noise);
    let n = (r.width * r.height) as u64;
    let out = gpu.storage("merged mosaic", n * 4);
    let tx = p.tiles_x as usize;
    let mut done = 1;
    for band in &bands {
        let pb = Params {
            band: band.p.band,
            held: band.p.held,
            ..p
        };
        let tiles = band.window.tiles[0].clone();
        let motion_bytes = (tiles.len() * tx) as u64 * 8;
        let acc = gpu.storage("merge accumulator", pb.acc_len(method) * 4);
        let ref_raw = band.upload(gpu, r);
        let ref_pyr = gpu.run("merge", |enc| {
            enc.clear_buffer(&acc, 0, None);
            band.record_pyramid(gpu, enc, r, &ref_raw)
        })?;
        for (i, f) in frames.iter().enumerate() {
            let pf = pb.with_alt((f.black, f.white));
            let known = known.iter().find(|k| k.0 == i);
            let stage = if i == reference {
                // The reference is merged as a frame with zero motion.
                let zero = gpu.storage_init("zero motion", &vec![0u8; motion_bytes as usize]);
                gpu.run("merge", |enc| {
                    merge::record_frame(gpu, enc, method, &pf, &ref_raw, &ref_raw, &zero, &acc)
                })?;
                "merged the reference"
            } else if let Some((_, field)) = known {
                // Aligned for the noise estimate already.
                let rows = &field[tiles.start as usize * tx..tiles.end as usize * tx];
                let motion = gpu.storage_init("motion", bytemuck::cast_slice(rows));
                let raw = band.upload(gpu, f);
                gpu.run("merge", |enc| {
                    merge::record_frame(gpu, enc, method, &pf, &ref_raw, &raw, &motion, &acc)
                })?;
                "merged a frame"
            } else {
                let raw = band.upload(gpu, f);
                gpu.run("align and merge", |enc| {
                    let pyr = band.record_pyramid(gpu, enc, f, &raw);
                    let motion = align::record_align(gpu, enc, &ref_pyr, &pyr);
                    merge::record_frame(gpu, enc, method, &pf, &ref_raw, &raw, &motion, &acc);
                })?;
                "aligned and merged a frame"
            };
            done += 1;
            progress(done, total, stage)?;
        }
        gpu.run("merge", |enc| {
            if bands.len() == 1 {
                merge::record_finish(gpu, enc, method, &pb, &ref_raw, &acc, &out);
            } else {
                let bytes = (pb.band[3] * r.width) as u64 * 4;
                let part = gpu.storage("merged band", bytes);
                merge::record_finish(gpu, enc, method, &pb, &ref_raw, &acc, &part);
                let at = (pb.band[2] * r.width) as u64 * 4;
                enc.copy_buffer_to_buffer(&part, 0, &out, at, bytes);
            }
        })?;
    }
    progress(total, total, "merged")?;
    Ok(Ok(Merged {
        buffer: out,
        reference,
        noise: [scale, offset],
        frames: frames.len(),
    }))
}
