//! Sensor-side preparation of a whole frame before alignment and merging: same-colour binning
//! (`--bin 2|3`, and the default for Quad Bayer / Nonacell blocks) or remosaicing of block CFAs.
//! The result is an ordinary 16-bit Bayer frame, so the merge (and the DNG of the merge) take it
//! as they take any raw frame; its metadata are the source's, restated for the new mosaic.

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::raw::Frame;
use crate::schedule::bands;
use crate::schedule::develop::{bin_frame, Source};
use crate::stages::{binning, normalize, remosaic};

/// Black level of a prepared frame: below-black noise of a mean survives (as for the merged
/// mosaic), and 61 439 levels above it are far finer than any binned noise.
const PREPARED_BLACK: f32 = 4096.0;

/// How one frame is turned into a Bayer mosaic before merging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prepare {
    /// Same-colour means (a binning mode of the Bayer or block mosaic).
    Bin(binning::Mode),
    /// Block CFA → full-resolution Bayer.
    Remosaic,
    /// The frame's DNG OpcodeList1 and 2 applied (lens shading, bad pixels), the mosaic otherwise
    /// as it is: every frame is corrected before alignment, as each has its own defects.
    Opcodes,
}

/// Normalized f32 values → 16-bit sensor values on the prepared scale.
fn quantize(v: &[f32]) -> Vec<u16> {
    let range = 65535.0 - PREPARED_BLACK;
    v.iter()
        .map(|&v| (PREPARED_BLACK + v * range).round().clamp(0.0, 65535.0) as u16)
        .collect()
}

/// The frame, prepared. Colour, white balance, orientation and capture metadata are the source's;
/// the CFA phase is kept by every mode; the noise profile (normalized units, so levels do not enter
/// it) is divided by the number of pixels a binned value is the mean of.
pub(crate) fn prepare(
    gpu: &Gpu,
    frame: &Frame,
    how: Prepare,
    max_band_rows: Option<u32>,
) -> Result<Frame> {
    let (width, height, values, pixels) = match how {
        Prepare::Bin(mode) => {
            if mode == binning::Mode::Superpixel {
                return Err(Error::InvalidInput(format!(
                    "{}: superpixel binning gives RGB, not a mosaic to merge",
                    frame.source.display()
                )));
            }
            let Source::Binned {
                buffer,
                width,
                height,
                ..
            } = bin_frame(gpu, frame, mode, max_band_rows)?
            else {
                unreachable!("bin_frame returns a binned source")
            };
            let bytes = gpu.read("binning", &buffer, (width * height) as u64 * 4)?;
            let f = match mode {
                binning::Mode::Bayer(f) | binning::Mode::Blocks(f) => f,
                binning::Mode::Superpixel => unreachable!("refused above"),
            };
            let values: Vec<f32> = bytemuck::cast_slice(&bytes).to_vec();
            (width, height, values, (f * f) as f64)
        }
        Prepare::Remosaic => (
            frame.width,
            frame.height,
            normalized_whole(gpu, frame, true, max_band_rows)?,
            1.0,
        ),
        Prepare::Opcodes => (
            frame.width,
            frame.height,
            normalized_whole(gpu, frame, false, max_band_rows)?,
            1.0,
        ),
    };
    let prepared = Frame {
        width,
        height,
        mosaic: quantize(&values),
        black: [PREPARED_BLACK; 4],
        white: 65535.0,
        cfa_block: 1,
        noise_profile: frame.noise_profile.map(|[s, o]| [s / pixels, o / pixels]),
        // Lists 1 and 2 are applied above; list 3 (after demosaic) stays where the size does.
        opcodes: crate::raw::opcodes::OpcodeLists {
            list3: match (width, height) == (frame.width, frame.height) {
                true => frame.opcodes.list3.clone(),
                false => Vec::new(),
            },
            ..Default::default()
        },
        ..frame.clone()
    };
    prepared.validate()?;
    Ok(prepared)
}

/// Check that a block mosaic is large enough for the remosaic's period wrap.
pub(crate) fn check_remosaic_size(frame: &Frame) -> Result<()> {
    let min = 4 * frame.cfa_block;
    if frame.width < min || frame.height < min {
        return Err(Error::InvalidInput(format!(
            "{}: a {}×{} image is too small to remosaic (at least {min}×{min})",
            frame.source.display(),
            frame.width,
            frame.height
        )));
    }
    Ok(())
}

/// A whole frame normalized with its OpcodeList1 and 2 applied, then remosaiced to Bayer when
/// `remosaic` (block CFAs), on the GPU a band at a time; the normalized mosaic comes back.
fn normalized_whole(
    gpu: &Gpu,
    frame: &Frame,
    remosaic: bool,
    max_band_rows: Option<u32>,
) -> Result<Vec<f32>> {
    if remosaic {
        check_remosaic_size(frame)?;
    }
    let (w, h) = (frame.width, frame.height);
    // Widest band buffer: f32 input, green and output (4 bytes each per pixel).
    let halo = crate::schedule::opcodes::band_halo(frame, (w, h))
        + if remosaic { remosaic::HALO } else { 0 };
    let plan = bands::plan(w, h, halo, 4, gpu.max_binding(), max_band_rows)?;
    let mut out = Vec::with_capacity((w * h) as usize);
    for band in plan {
        let (y0, rows) = (band.input.0, band.input_rows());
        let raw_rows = &frame.mosaic[(y0 * w) as usize..(band.input.1 * w) as usize];
        let raw = normalize::upload(gpu, raw_rows);
        let bytes = raw_rows.len() as u64 * 4;
        let mosaic = gpu.storage("mosaic f32", bytes);
        let bayer = remosaic.then(|| gpu.storage("remosaiced", bytes));
        let np = normalize::Params::new(w, rows, y0, frame.black, frame.white);
        gpu.run("normalize/opcodes/remosaic", |enc| {
            normalize::record(gpu, enc, &np, &raw, &mosaic);
            crate::schedule::opcodes::record_mosaic(gpu, enc, frame, &mosaic, y0, rows);
            if let Some(bayer) = &bayer {
                let rp = remosaic::Params::new(w, h, frame.cfa_block, frame.cfa, y0, rows);
                remosaic::record(gpu, enc, &rp, &mosaic, bayer);
            }
        })?;
        let values = gpu.read("prepared band", bayer.as_ref().unwrap_or(&mosaic), bytes)?;
        let values: &[f32] = bytemuck::cast_slice(&values);
        let skip = (band.out.0 - y0) * w;
        out.extend_from_slice(&values[skip as usize..(skip + band.out_rows() * w) as usize]);
    }
    Ok(out)
}

/// What merging needs done to each frame first, from the develop options: `--bin 2|3` bins before
/// alignment (a smaller, cleaner burst to align and merge), block CFAs are binned to Bayer (or
/// remosaiced with `--remosaic`), frames with DNG OpcodeList1/2 are corrected by them. `None`:
/// the frames merge as they are (superpixel binning, which gives RGB, happens when the merged
/// mosaic is developed).
pub(crate) fn before_merge(
    frame: &Frame,
    binning: crate::Binning,
    remosaic: bool,
) -> Option<Prepare> {
    match (frame.cfa_block, binning::Mode::of(binning)) {
        // Binning and remosaicing apply the opcode lists on their way.
        // A LinearRaw frame (a burst of one: merges are refused) takes its lists when developed.
        (1, None) if frame.linear_rgb.is_some() => None,
        (1, Some(binning::Mode::Superpixel)) | (1, None) => {
            let lists = &frame.opcodes;
            (!lists.list1.is_empty() || !lists.list2.is_empty()).then_some(Prepare::Opcodes)
        }
        (1, Some(mode)) => Some(Prepare::Bin(mode)),
        (_, _) if remosaic => Some(Prepare::Remosaic),
        (b, _) => Some(Prepare::Bin(binning::Mode::Blocks(b))),
    }
}

/// Prepare every frame of a burst for merging, or `None` when they merge as they are.
pub(crate) fn burst_before_merge(
    gpu: &Gpu,
    frames: &[Frame],
    options: &crate::Options,
) -> Result<Option<Vec<Frame>>> {
    let Some(how) = frames
        .first()
        .and_then(|f| before_merge(f, options.binning, options.remosaic))
    else {
        return Ok(None);
    };
    if frames[0].cfa_block > 1 && options.binning != crate::Binning::Off {
        return Err(Error::InvalidInput(format!(
            "{}: --bin applies to Bayer mosaics; this {b}×{b}-block sensor is binned to Bayer already",
            frames[0].source.display(),
            b = frames[0].cfa_block
        )));
    }
    frames
        .iter()
        .map(|f| prepare(gpu, f, how, options.max_band_rows))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}
