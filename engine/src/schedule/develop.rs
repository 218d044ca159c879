//! Develop one frame on the GPU: normalize → demosaic → colour → [exposure stats] → tone → download,
//! a band at a time. Only the final 8/16-bit pixels come back to the CPU.

use crate::error::Result;
use crate::gpu::Gpu;
use crate::raw::Frame;
use crate::schedule::bands::{self, Band};
use crate::stages::{color, demosaic, normalize, stats, tone, Demosaic, RGBA16F_BYTES};

/// What happens after demosaicing.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Look {
    /// Values kept linear and unbalanced, only quantized (for evaluating demosaicers).
    Plain,
    /// A finished photo: colour, then exposure (`None`: automatic, else EV) and tone curve.
    Photo { exposure_ev: Option<f32> },
}

/// The rendered pixels, RGB interleaved, as stored in the file (orientation not applied).
pub(crate) struct Rendered {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u16>,
}

/// Mid-grey the automatic exposure aims the image's log-average luminance at.
const TARGET_KEY: f32 = 0.18;
/// Brightening is limited so that noise in very dark frames is not amplified without bound.
const MAX_AUTO_GAIN: f32 = 8.0;

/// Exposure gain and shoulder white point from the luminance histogram.
pub(crate) fn exposure_from_histogram(bins: &[u32], ev: Option<f32>) -> (f32, f32) {
    let total: f64 = bins.iter().map(|&b| b as f64).sum::<f64>().max(1.0);
    let mean_log2: f64 = bins
        .iter()
        .enumerate()
        .map(|(i, &b)| b as f64 * ((i as f64 + 0.5) / 16.0 - 16.0))
        .sum::<f64>()
        / total;
    let gain = match ev {
        Some(ev) => ev.exp2(),
        None => (TARGET_KEY / (mean_log2.exp2() as f32)).clamp(1.0, MAX_AUTO_GAIN),
    };
    let brightest = stats::quantile(bins, 0.999).max(1.0);
    (gain, (brightest * gain).max(1.0))
}

/// Normalize, demosaic and (for a photo) colour one band; returns its f16 RGBA buffer.
fn linear_band(
    gpu: &Gpu,
    frame: &Frame,
    band: Band,
    method: Demosaic,
    colour: Option<&color::Params>,
) -> Result<wgpu::Buffer> {
    let w = frame.width;
    let rows = &frame.mosaic[(band.input.0 * w) as usize..(band.input.1 * w) as usize];
    let raw = normalize::upload(gpu, rows);
    let mosaic = gpu.storage("mosaic f32", rows.len() as u64 * 4);
    let rgb = gpu.storage("rgb f16", (band.out_rows() * w) as u64 * RGBA16F_BYTES);
    let np = normalize::Params::new(w, band.input_rows(), band.input.0, frame.black, frame.white);
    let dp = demosaic::Params::new(
        w,
        frame.height,
        frame.cfa,
        band.input.0,
        band.input_rows(),
        band.out.0,
        band.out_rows(),
    );
    gpu.run("normalize/demosaic/colour", |enc| {
        normalize::record(gpu, enc, &np, &raw, &mosaic);
        demosaic::record(gpu, enc, &dp, method, &mosaic, &rgb);
        if let Some(cp) = colour {
            let cp = color::Params {
                rows: band.out_rows(),
                ..*cp
            };
            color::record(gpu, enc, &cp, &rgb);
        }
    })?;
    Ok(rgb)
}

/// Render a frame to `bits`-bit RGB with the given demosaicer and look.
pub(crate) fn render(
    gpu: &Gpu,
    frame: &Frame,
    method: Demosaic,
    look: Look,
    bits: u32,
    max_band_rows: Option<u32>,
) -> Result<Rendered> {
    let (w, h) = (frame.width, frame.height);
    let bands = bands::plan(
        w,
        h,
        demosaic::HALO,
        RGBA16F_BYTES,
        gpu.max_binding(),
        max_band_rows,
    )?;
    let colour = match look {
        Look::Plain => None,
        Look::Photo { .. } => Some(color::Params::new(w, 0, frame.wb, frame.xyz_to_cam)),
    };

    // Exposure needs the whole image's statistics before any band is toned. With one band (the
    // usual case) the coloured band stays on the GPU; with several, bands are recomputed.
    let mut kept: Option<wgpu::Buffer> = None;
    let tone_params = |rows: u32, gain: f32, white: f32| match look {
        Look::Plain => tone::Params::plain(w, rows, bits),
        Look::Photo { .. } => tone::Params::photo(w, rows, bits, gain, white),
    };
    let (gain, white) = match look {
        Look::Plain => (1.0, 1.0),
        Look::Photo { exposure_ev } => {
            let bins = gpu.storage_init("histogram", &[0u8; stats::BINS * 4]);
            for band in &bands {
                let rgb = linear_band(gpu, frame, *band, method, colour.as_ref())?;
                let sp = stats::Params {
                    width: w,
                    rows: band.out_rows(),
                    _pad: [0; 2],
                };
                gpu.run("exposure statistics", |enc| {
                    stats::record(gpu, enc, &sp, &rgb, &bins)
                })?;
                if bands.len() == 1 {
                    kept = Some(rgb);
                }
            }
            let bins: Vec<u32> = bytemuck::cast_slice(&gpu.read(
                "exposure statistics",
                &bins,
                (stats::BINS * 4) as u64,
            )?)
            .to_vec();
            exposure_from_histogram(&bins, exposure_ev)
        }
    };

    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for band in &bands {
        let rgb = match kept.take() {
            Some(rgb) => rgb,
            None => linear_band(gpu, frame, *band, method, colour.as_ref())?,
        };
        let tp = tone_params(band.out_rows(), gain, white);
        let bytes = (w * band.out_rows() * tp.words_per_pixel()) as u64 * 4;
        let out = gpu.storage("output", bytes);
        gpu.run("tone", |enc| tone::record(gpu, enc, &tp, &rgb, &out))?;
        let words = gpu.read("download", &out, bytes)?;
        data.extend(tone::unpack_output(&tp, bytemuck::cast_slice(&words)));
    }
    Ok(Rendered {
        width: w,
        height: h,
        data,
    })
}
