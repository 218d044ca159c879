//! Develop one frame on the GPU: normalize → demosaic → colour → [exposure stats] → tone → download,
//! a band at a time. Only the final 8/16-bit pixels come back to the CPU.

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::progress::{self, Progress, Steps};
use crate::raw::Frame;
use crate::schedule::bands::{self, Band};
use crate::schedule::opcodes;
use crate::stages::{
    binning, color, demosaic, demosaic_xtrans, normalize, normalize_rgb, remosaic, stats, tone,
    Binning, Demosaic, RGBA16F_BYTES,
};

/// What happens after demosaicing.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Look {
    /// Values kept linear and unbalanced, only quantized (for evaluating demosaicers).
    Plain,
    /// A finished photo: colour, then exposure (`None`: automatic, else EV) and tone mapping.
    Photo {
        exposure_ev: Option<f32>,
        tone: crate::Tone,
        /// The white balance (its matrix and BaselineExposure come with it).
        white_balance: crate::WhiteBalance,
    },
}

/// The rendered pixels, RGB interleaved, as stored in the file (orientation not applied).
pub(crate) struct Rendered {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u16>,
}

/// Where rendered pixels go as each band is downloaded: whole rows, top to bottom, RGB
/// interleaved (an encoder writing a file as it comes, or a Vec).
pub(crate) type RowSink<'a> = dyn FnMut(&[u16]) -> Result<()> + 'a;

/// A render gathered into one image: `render` returns the size it rendered, `size` is what it
/// is expected to be (room is made for it at once, not by doubling).
pub(crate) fn collect(
    size: (u32, u32),
    render: impl FnOnce(&mut RowSink) -> Result<(u32, u32)>,
) -> Result<Rendered> {
    let mut data = Vec::with_capacity(size.0 as usize * size.1 as usize * 3);
    let (width, height) = render(&mut |rows| {
        data.extend_from_slice(rows);
        Ok(())
    })?;
    Ok(Rendered {
        width,
        height,
        data,
    })
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

/// The mosaic a develop reads: the frame's own rows (uploaded a band at a time), or a binned image
/// already on the GPU (a normalized f32 Bayer mosaic, or f16 RGBA for superpixel binning).
pub(crate) enum Source<'a> {
    Frame(&'a Frame),
    /// A Quad Bayer / Nonacell frame remosaiced to full-resolution Bayer band by band, on the way
    /// to the demosaic.
    Remosaic(&'a Frame),
    Binned {
        buffer: wgpu::Buffer,
        width: u32,
        height: u32,
        rgb: bool,
    },
}

impl Source<'_> {
    pub(crate) fn size(&self, frame: &Frame) -> (u32, u32) {
        match self {
            Source::Frame(_) | Source::Remosaic(_) => (frame.width, frame.height),
            Source::Binned { width, height, .. } => (*width, *height),
        }
    }
}

/// The size of the binned image; an error for a frame too small to bin.
fn binned_size(frame: &Frame, mode: binning::Mode) -> Result<(u32, u32)> {
    let (w, h) = (frame.width, frame.height);
    match mode.output_size(w, h) {
        (0, _) | (_, 0) => Err(Error::InvalidInput(format!(
            "{}: a {w}×{h} image is too small for {mode:?} binning",
            frame.source.display()
        ))),
        size => Ok(size),
    }
}

/// Bin a frame on the GPU, a band of input rows at a time, into one binned buffer.
pub(crate) fn bin_frame<'a>(
    gpu: &Gpu,
    frame: &Frame,
    mode: binning::Mode,
    max_band_rows: Option<u32>,
) -> Result<Source<'a>> {
    let w = frame.width;
    let (ow, oh) = binned_size(frame, mode)?;
    let (blk, ob) = (mode.input_block(), mode.output_block());
    let rgb = mode == binning::Mode::Superpixel;
    let out_bytes = (ow * oh) as u64 * if rgb { RGBA16F_BYTES } else { 4 };
    if out_bytes > gpu.max_binding() {
        return Err(Error::InvalidInput(format!(
            "{}: the binned image ({out_bytes} bytes) exceeds this device's {}-byte buffers (banded binning output is not implemented)",
            frame.source.display(),
            gpu.max_binding()
        )));
    }
    let out = gpu.storage("binned", out_bytes);
    let fit = (gpu.max_binding() / (w as u64 * 4)).min(max_band_rows.unwrap_or(u32::MAX) as u64);
    let rows = (fit as u32 / blk * blk).max(blk);
    let used = oh / ob * blk;
    let mut y = 0;
    while y < used {
        let end = (y + rows).min(used);
        let band = &frame.mosaic[(y * w) as usize..(end * w) as usize];
        let raw = normalize::upload(gpu, band);
        let mosaic = gpu.storage("mosaic f32", band.len() as u64 * 4);
        let np = normalize::Params::new(w, end - y, y, frame.black, frame.white);
        let bp = binning::Params::new(
            mode,
            w,
            frame.cfa,
            y,
            end - y,
            y / blk * ob,
            (end - y) / blk * ob,
        );
        gpu.run("normalize/binning", |enc| {
            normalize::record(gpu, enc, &np, &raw, &mosaic);
            opcodes::record_mosaic(gpu, enc, frame, &mosaic, y, end - y);
            binning::record(gpu, enc, &bp, mode, &mosaic, &out);
        })?;
        y = end;
    }
    Ok(Source::Binned {
        buffer: out,
        width: ow,
        height: oh,
        rgb,
    })
}

/// Normalize, demosaic and (for a photo) colour one band; returns its f16 RGBA buffer.
pub(crate) fn linear_band(
    gpu: &Gpu,
    frame: &Frame,
    source: &Source,
    band: Band,
    method: Demosaic,
    colour: Option<&color::Params>,
) -> Result<wgpu::Buffer> {
    let (w, h) = source.size(frame);
    // OpcodeList3 warps read rows beyond the band: the demosaic produces them too.
    let rgb_rows = opcodes::rgb_rows(frame, (w, h), band.out);
    let demosaic_band = Band {
        out: rgb_rows,
        ..band
    };
    let rgb = gpu.storage(
        "rgb f16",
        ((rgb_rows.1 - rgb_rows.0) * w) as u64 * RGBA16F_BYTES,
    );
    let dp = demosaic::Params::new(
        w,
        h,
        frame.cfa,
        band.input.0,
        band.input_rows(),
        rgb_rows.0,
        rgb_rows.1 - rgb_rows.0,
    );
    gpu.run("normalize/demosaic/colour", |enc| {
        match source {
            // LinearRaw RGB: demosaiced already, normalized straight into the colour stage's input.
            Source::Frame(Frame {
                linear_rgb: Some(levels),
                ..
            }) => {
                normalize_rgb::record_rows(gpu, enc, frame, levels, rgb_rows, &rgb);
                // OpcodeList2 on the linear reference values, per plane (R, G, B).
                let (y0, rows) = (rgb_rows.0, rgb_rows.1 - rgb_rows.0);
                opcodes::record_list2_on_rgb(gpu, enc, frame, &rgb, y0, rows);
            }
            Source::Frame(frame) => {
                let rows = &frame.mosaic[(band.input.0 * w) as usize..(band.input.1 * w) as usize];
                let raw = normalize::upload(gpu, rows);
                let mosaic = gpu.storage("mosaic f32", rows.len() as u64 * 4);
                let np = normalize::Params::new(
                    w,
                    band.input_rows(),
                    band.input.0,
                    frame.black,
                    frame.white,
                );
                normalize::record(gpu, enc, &np, &raw, &mosaic);
                let (y0, rows) = (band.input.0, band.input_rows());
                opcodes::record_mosaic(gpu, enc, frame, &mosaic, y0, rows);
                match frame.xtrans {
                    Some(layout) => {
                        let xp = xtrans_params(w, h, layout, &demosaic_band);
                        demosaic_xtrans::record(gpu, enc, &xp, method, &mosaic, &rgb);
                    }
                    None => demosaic::record(gpu, enc, &dp, method, &mosaic, &rgb),
                }
            }
            Source::Remosaic(frame) => {
                // The band's input rows carry the remosaic's halo beyond the demosaic's: the
                // rows the band edge spoils are never read by the demosaic's output rows.
                let (y0, rows) = (band.input.0, band.input_rows());
                let raw = normalize::upload(
                    gpu,
                    &frame.mosaic[(y0 * w) as usize..(band.input.1 * w) as usize],
                );
                let bytes = (rows * w) as u64 * 4;
                let mosaic = gpu.storage("mosaic f32", bytes);
                let bayer = gpu.storage("remosaiced", bytes);
                let np = normalize::Params::new(w, rows, y0, frame.black, frame.white);
                let rp = remosaic::Params::new(w, h, frame.cfa_block, frame.cfa, y0, rows);
                normalize::record(gpu, enc, &np, &raw, &mosaic);
                opcodes::record_mosaic(gpu, enc, frame, &mosaic, y0, rows);
                remosaic::record(gpu, enc, &rp, &mosaic, &bayer);
                demosaic::record(gpu, enc, &dp, method, &bayer, &rgb);
            }
            Source::Binned {
                buffer, rgb: false, ..
            } => {
                // The band's rows of the binned mosaic, halo included.
                let bytes = (band.input_rows() * w) as u64 * 4;
                let mosaic = gpu.storage("binned band", bytes);
                enc.copy_buffer_to_buffer(buffer, (band.input.0 * w) as u64 * 4, &mosaic, 0, bytes);
                // A merged mosaic whose frames were not corrected before merging (the lists are
                // still on the reference: see prepare::before_merge) takes lists 1 and 2 here.
                if opcodes::applies(frame, (w, h)) {
                    opcodes::record_mosaic(
                        gpu,
                        enc,
                        frame,
                        &mosaic,
                        band.input.0,
                        band.input_rows(),
                    );
                }
                // A merged X-Trans burst is an X-Trans mosaic in the reference's layout.
                match frame.xtrans {
                    Some(layout) => {
                        let xp = xtrans_params(w, h, layout, &demosaic_band);
                        demosaic_xtrans::record(gpu, enc, &xp, method, &mosaic, &rgb);
                    }
                    None => demosaic::record(gpu, enc, &dp, method, &mosaic, &rgb),
                }
            }
            Source::Binned {
                buffer, rgb: true, ..
            } => {
                // Superpixels are RGB already: no demosaicing.
                let bytes = (band.out_rows() * w) as u64 * RGBA16F_BYTES;
                enc.copy_buffer_to_buffer(
                    buffer,
                    (band.out.0 * w) as u64 * RGBA16F_BYTES,
                    &rgb,
                    0,
                    bytes,
                );
            }
        }
        let rgb = opcodes::record_rgb(gpu, enc, frame, (w, h), rgb, rgb_rows, band.out);
        if let Some(cp) = colour {
            let cp = color::Params {
                rows: band.out_rows(),
                ..*cp
            };
            color::record(gpu, enc, &cp, &rgb);
        }
        rgb
    })
}

/// The X-Trans demosaic's parameters for one band.
fn xtrans_params(w: u32, h: u32, layout: crate::XTrans, band: &Band) -> demosaic_xtrans::Params {
    demosaic_xtrans::Params::new(
        w,
        h,
        layout,
        band.input.0,
        band.input_rows(),
        band.out.0,
        band.out_rows(),
    )
}

/// The demosaicer for this frame: X-Trans frames take the X-Trans counterpart of a Bayer method
/// (so the default, RCD, becomes Markesteijn); X-Trans methods on a Bayer frame and binning of an
/// X-Trans frame are errors naming the file.
pub(crate) fn method_for(frame: &Frame, binning: Binning, method: Demosaic) -> Result<Demosaic> {
    let file = frame.source.display();
    if binning != Binning::Off {
        frame.require_mosaic("binning")?;
    }
    match frame.xtrans {
        Some(_) if binning != Binning::Off => Err(Error::unsupported(
            &frame.source,
            "binning an X-Trans mosaic (6×6 layout) is not supported: develop it without --bin",
        )),
        Some(_) => Ok(method.for_xtrans()),
        None if method.is_xtrans() => Err(Error::InvalidInput(format!(
            "{file}: demosaic method {method:?} is for X-Trans sensors; this is a Bayer mosaic (use rcd, mhc or bilinear)"
        ))),
        None => Ok(method),
    }
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
    if matches!(look, Look::Plain) {
        frame.require_mosaic("demosaicing")?;
    }
    collect((frame.width, frame.height), |sink| {
        render_binned_into(
            gpu,
            frame,
            Binning::Off,
            false,
            method,
            look,
            bits,
            max_band_rows,
            &mut progress::ignore,
            sink,
        )
    })
}

/// The size [`render_binned_into`] renders `frame` at (before orientation).
pub(crate) fn rendered_size(frame: &Frame, binning: Binning, remosaic: bool) -> Result<(u32, u32)> {
    match render_mode(frame, binning, remosaic && frame.cfa_block > 1)? {
        None => Ok((frame.width, frame.height)),
        Some(mode) => binned_size(frame, mode),
    }
}

/// How a frame is binned before demosaicing, if it is.
fn render_mode(frame: &Frame, binning: Binning, remosaic: bool) -> Result<Option<binning::Mode>> {
    if remosaic && binning != Binning::Off {
        return Err(Error::InvalidInput(format!(
            "{}: --remosaic keeps full resolution and --bin reduces it: use one of them",
            frame.source.display()
        )));
    }
    match (frame.cfa_block, binning::Mode::of(binning)) {
        (1, mode) => Ok(mode),
        (_, None) if remosaic => Ok(None),
        (b, None) => Ok(Some(binning::Mode::Blocks(b))),
        (b, Some(_)) => Err(Error::InvalidInput(format!(
            "{}: --bin applies to Bayer mosaics; this {b}×{b}-block sensor is binned to Bayer already",
            frame.source.display()
        ))),
    }
}

/// [`render`] after optional binning or remosaicing (on the GPU, before demosaicing), the rows
/// handed to `sink` as each band is done; returns the size rendered.
/// `remosaic` applies to Quad Bayer / Nonacell frames only (Bayer frames are unaffected).
/// `progress` is told of each step (binning, each band coloured, the exposure, each band
/// toned) and may cancel between them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn render_binned_into(
    gpu: &Gpu,
    frame: &Frame,
    binning: Binning,
    remosaic: bool,
    method: Demosaic,
    look: Look,
    bits: u32,
    max_band_rows: Option<u32>,
    progress: &mut Progress,
    sink: &mut RowSink,
) -> Result<(u32, u32)> {
    let method = method_for(frame, binning, method)?;
    // Quad Bayer / Nonacell sensors are binned to Bayer by default: their blocks are one colour.
    let remosaic = remosaic && frame.cfa_block > 1;
    let mode = render_mode(frame, binning, remosaic)?;
    // The band plan is known before any GPU work (binning sizes are exact), so is the step count.
    let (w, h) = match mode {
        None => (frame.width, frame.height),
        Some(mode) => binned_size(frame, mode)?,
    };
    let bands = plan_bands(gpu, frame, (w, h), remosaic, max_band_rows)?;
    let render_steps = render_steps(look, bands.len());
    let mut steps = Steps::new(progress, mode.is_some() as usize + render_steps);
    let source = match mode {
        None if remosaic => {
            crate::schedule::prepare::check_remosaic_size(frame)?;
            Source::Remosaic(frame)
        }
        None => Source::Frame(frame),
        Some(mode) => {
            let s = bin_frame(gpu, frame, mode, max_band_rows)?;
            steps.step("binned")?;
            s
        }
    };
    debug_assert_eq!(source.size(frame), (w, h));
    let rendered = render_source_into(
        gpu,
        frame,
        &source,
        &bands,
        method,
        look,
        bits,
        max_band_rows,
        &mut *steps.part(render_steps),
        sink,
    );
    rendered.map(|()| (w, h))
}

/// The bands a `w`×`h` mosaic of `frame`'s layout renders in (`remosaic`: read through the
/// Quad Bayer remosaic, whose halo adds to the demosaic's).
pub(crate) fn plan_bands(
    gpu: &Gpu,
    frame: &Frame,
    (w, h): (u32, u32),
    remosaic: bool,
    max_band_rows: Option<u32>,
) -> Result<Vec<Band>> {
    // The X-Trans method's widest intermediate is wider than the f16 RGBA output.
    let bytes_per_px = match frame.xtrans {
        Some(_) => demosaic_xtrans::BYTES_PER_PX,
        None => RGBA16F_BYTES,
    };
    let halo = match remosaic {
        true => demosaic::HALO + remosaic::HALO,
        false => demosaic::HALO,
    } + opcodes::band_halo(frame, (w, h));
    bands::plan(w, h, halo, bytes_per_px, gpu.max_binding(), max_band_rows)
}

/// How many steps [`render_source_into`] reports over `bands` bands.
fn render_steps(look: Look, bands: usize) -> usize {
    let photo = matches!(look, Look::Photo { .. });
    // Toning: one step for the whole image when fusing, else one a band.
    let tone_steps = if is_fusion(look) { 1 } else { bands };
    tone_steps + photo as usize * (bands + 1)
}

fn is_fusion(look: Look) -> bool {
    matches!(
        look,
        Look::Photo {
            tone: crate::Tone::Fusion,
            ..
        }
    )
}

/// Render a mosaic that is already chosen (the frame's rows, a remosaic of them, or a buffer on
/// the GPU such as a binned or merged mosaic) in `bands` (from [`plan_bands`]); `frame` gives
/// the CFA, white balance and colour matrix. `progress` hears of each band coloured, the
/// exposure and the toning, and may cancel between them; the rows go to `sink` as each band is done.
#[allow(clippy::too_many_arguments)]
pub(crate) fn render_source_into(
    gpu: &Gpu,
    frame: &Frame,
    source: &Source,
    bands: &[Band],
    method: Demosaic,
    look: Look,
    bits: u32,
    max_band_rows: Option<u32>,
    progress: &mut Progress,
    sink: &mut RowSink,
) -> Result<()> {
    let (w, h) = source.size(frame);
    let fusion = is_fusion(look);
    let mut steps = Steps::new(progress, render_steps(look, bands.len()));
    let colour = match look {
        Look::Plain => None,
        Look::Photo { white_balance, .. } => Some(crate::schedule::white_balance::colour_params(
            gpu,
            frame,
            source,
            bands,
            white_balance,
        )?),
    };

    // Exposure needs the whole image's statistics before any band is toned. With one band (the
    // usual case) the coloured band stays on the GPU. Exposure fusion needs the whole image too:
    // with several bands, they are gathered into one buffer (bindings see windows of it); the
    // tone curve recomputes band by band instead.
    let mut kept: Option<wgpu::Buffer> = None;
    let whole = (fusion && bands.len() > 1)
        .then(|| gpu.storage("linear image", (w * h) as u64 * RGBA16F_BYTES));
    let tone_params = |rows: u32, gain: f32, white: f32| match look {
        Look::Plain => tone::Params::plain(w * rows, bits),
        // Scene-referred: the exposure gain only, no shoulder, no transfer curve.
        Look::Photo {
            tone: crate::Tone::Linear,
            ..
        } => tone::Params {
            gain,
            ..tone::Params::plain(w * rows, bits)
        },
        Look::Photo { .. } => tone::Params::photo(w * rows, bits, gain, white),
    };
    // How far auto HDR lifts the shadows: the luminance at fuse::DARK_QUANTILE, and the
    // exposure chosen over the automatic one.
    let mut shadows = (0.0, 1.0);
    let (gain, white) = match look {
        Look::Plain => (1.0, 1.0),
        Look::Photo {
            exposure_ev, tone, ..
        } => {
            // Linear output keeps the raw exposure (0 EV unless asked): never automatic.
            let exposure_ev = match tone {
                crate::Tone::Linear => Some(exposure_ev.unwrap_or(0.0)),
                _ => exposure_ev,
            };
            let bins = gpu.storage_init("histogram", &[0u8; stats::BINS * 4]);
            for band in bands {
                let rgb = linear_band(gpu, frame, source, *band, method, colour.as_ref())?;
                let sp = stats::Params::new(w, band.out_rows(), band.out.0);
                gpu.run("exposure statistics", |enc| {
                    stats::record(gpu, enc, &sp, &rgb, &bins);
                    if let Some(whole) = &whole {
                        let at = (band.out.0 * w) as u64 * RGBA16F_BYTES;
                        enc.copy_buffer_to_buffer(&rgb, 0, whole, at, rgb.size());
                    }
                })?;
                if bands.len() == 1 {
                    kept = Some(rgb);
                }
                steps.step("coloured")?;
            }
            let bins: Vec<u32> = bytemuck::cast_slice(&gpu.read(
                "exposure statistics",
                &bins,
                (stats::BINS * 4) as u64,
            )?)
            .to_vec();
            let (gain, white) = exposure_from_histogram(&bins, exposure_ev);
            let auto_gain = exposure_from_histogram(&bins, None).0;
            shadows = (
                stats::quantile(&bins, crate::schedule::fuse::DARK_QUANTILE),
                gain / auto_gain,
            );
            steps.step("exposure chosen")?;
            (gain, white)
        }
    };

    if fusion {
        let linear = whole.or(kept).expect("the linear image is on the GPU");
        crate::schedule::fuse::tone_fusion(
            gpu,
            (w, h),
            &linear,
            gain,
            white,
            shadows,
            bits,
            max_band_rows,
            sink,
        )?;
        steps.step("toned")?;
        return Ok(());
    }
    for band in bands {
        let rgb = match kept.take() {
            Some(rgb) => rgb,
            None => linear_band(gpu, frame, source, *band, method, colour.as_ref())?,
        };
        let tp = tone_params(band.out_rows(), gain, white);
        let out = gpu.storage("output", tp.output_bytes());
        gpu.run("tone", |enc| tone::record(gpu, enc, &tp, &rgb, &out))?;
        let bytes = gpu.read("download", &out, tp.output_bytes())?;
        sink(&tone::unpack_output(&tp, &bytes))?;
        steps.step("toned")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::raw::Cfa;
    use crate::stages::testing::kodak;

    /// A typical DNG ColorMatrix2 (D65) of a Canon body: XYZ → camera.
    const CANON_XYZ_TO_CAM: [[f32; 3]; 3] = [
        [0.6722, -0.0635, -0.0963],
        [-0.4287, 1.2460, 0.2028],
        [-0.0908, 0.2162, 0.5668],
    ];

    /// A real photo blurred (Gaussian, σ = 2 px) so that it is band-limited: demosaicing then
    /// recovers it almost exactly and what remains is the colour pipeline's own error.
    fn smooth_scene(name: &str) -> (u32, u32, Vec<[f32; 3]>) {
        let (w, h, px) = kodak(name);
        let k: Vec<f32> = (-6i32..=6).map(|i| (-(i * i) as f32 / 8.0).exp()).collect();
        let norm: f32 = k.iter().sum();
        let blur = |src: &[[f32; 3]], dx: i32, dy: i32| -> Vec<[f32; 3]> {
            (0..(w * h) as i32)
                .map(|i| {
                    let (x, y) = (i % w as i32, i / w as i32);
                    let mut acc = [0.0f32; 3];
                    for (j, kv) in k.iter().enumerate() {
                        let o = j as i32 - 6;
                        let (u, v) = (
                            (x + o * dx).clamp(0, w as i32 - 1),
                            (y + o * dy).clamp(0, h as i32 - 1),
                        );
                        let p = src[(v * w as i32 + u) as usize];
                        (0..3).for_each(|c| acc[c] += kv * p[c] / norm);
                    }
                    acc
                })
                .collect()
        };
        (w, h, blur(&blur(&px, 1, 0), 0, 1))
    }

    /// What a camera with this matrix and white balance records of the scene: camera RGB =
    /// (XYZ→camera)(sRGB→XYZ) rgb, rows scaled so grey is recorded grey, divided by the white-balance
    /// gains (the illuminant's tint); 12-bit, black 256.
    fn camera_frame(w: u32, h: u32, scene: &[[f32; 3]], wb: [f32; 3]) -> Frame {
        let cam = color::srgb_to_camera(CANON_XYZ_TO_CAM)
            .unwrap()
            .map(|r| r.map(|v| v as f32));
        let cfa = Cfa::Grbg;
        let mosaic = (0..(w * h) as usize)
            .map(|i| {
                let c = cfa.color_at(i % w as usize, i / w as usize);
                let v = (0..3).map(|k| cam[c][k] * scene[i][k]).sum::<f32>() / wb[c];
                (256.0 + v.clamp(0.0, 1.0) * 3839.0).round() as u16
            })
            .collect();
        let mut frame = Frame::from_mosaic(w, h, mosaic, cfa, 256.0, 4095.0).unwrap();
        frame.wb = wb;
        frame.xyz_to_cam = CANON_XYZ_TO_CAM;
        frame
    }

    #[test]
    fn a_real_camera_matrix_and_white_balance_develop_back_to_the_scene() {
        // Scenes with large grey areas (kodim08: buildings, kodim19: fence), under a warm light.
        for name in ["kodim08", "kodim19"] {
            let (w, h, scene) = smooth_scene(name);
            let frame = camera_frame(w, h, &scene, [2.1, 1.0, 1.6]);
            let out = render(
                gpu(),
                &frame,
                Demosaic::Mhc,
                Look::Photo {
                    exposure_ev: Some(0.0),
                    tone: crate::Tone::Curve,
                    white_balance: crate::WhiteBalance::AsShot,
                },
                16,
                None,
            )
            .unwrap();
            let srgb = |v: f32| tone::srgb_oetf(v.clamp(0.0, 1.0)) as f64;
            let (mut rg, mut bg, mut greys) = (0.0f64, 0.0f64, 0usize);
            let mut se = 0.0f64;
            for (p, o) in scene.iter().zip(out.data.chunks(3)) {
                let o: Vec<f64> = o.iter().map(|&v| v as f64 / 65535.0).collect();
                se += (0..3).map(|c| (o[c] - srgb(p[c])).powi(2)).sum::<f64>();
                // Greys of the (smooth) scene: channels within 1 %.
                if p[1] > 0.05 && p.iter().all(|&c| (c / p[1] - 1.0).abs() < 0.01) {
                    rg += o[0] - o[1];
                    bg += o[2] - o[1];
                    greys += 1;
                }
            }
            let psnr = 10.0 * (scene.len() as f64 * 3.0 / se).log10();
            let cast = (rg / greys as f64).abs().max((bg / greys as f64).abs());
            assert!(greys > 200, "{name}: only {greys} grey pixels");
            // 0.005 of full scale is about one 8-bit level.
            assert!(
                cast < 0.005,
                "{name}: greys came out with a cast of {cast:.4}"
            );
            // What is left is demosaicing error, amplified by the camera matrix (it falls as the
            // scene gets smoother: 37 dB at σ = 2 px, 42 dB at σ = 3 px on kodim08); a wrong
            // matrix, white balance or transfer curve costs far more (below 25 dB).
            assert!(
                psnr > 35.0,
                "{name}: developed scene differs from the scene: {psnr:.2} dB"
            );
        }
    }
}
