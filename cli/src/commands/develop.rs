//! `burstpipe develop`: one raw file to a finished photo; and the develop options that `merge`
//! shares.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use burstpipe::{
    files, Binning, Demosaic, EngineOptions, Format, Frame, Options, Tone, WhiteBalance,
};

#[derive(clap::Args)]
pub struct Args {
    /// The raw file.
    input: PathBuf,
    /// Output file: .jpg, .png or .tif.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    look: DevelopArgs,
}

/// How a raw mosaic is developed: the options `develop` and `merge` share. Defaults are the
/// library's ([`Options::default`]).
#[derive(clap::Args)]
pub struct DevelopArgs {
    /// Demosaicing method: rcd (high quality), mhc or bilinear; on X-Trans raws markesteijn
    /// or xtrans-bilinear (rcd and mhc mean markesteijn there, bilinear xtrans-bilinear).
    #[arg(long, default_value_t = Options::default().demosaic)]
    demosaic: Demosaic,
    /// Exposure correction in EV (default: automatic).
    #[arg(long, allow_negative_numbers = true)]
    exposure: Option<f32>,
    /// Bits per channel for PNG (8 or 16); JPEG is always 8, TIFF always 16.
    #[arg(long, default_value_t = Options::default().bits)]
    bits: u8,
    /// Pixel binning: 2 or 3 (same-colour means, a 1/2 or 1/3 resolution Bayer mosaic; a
    /// burst is binned before alignment, so it merges faster and cleaner) or superpixel (each
    /// 2×2 quad to one RGB pixel; after the merge for a burst).
    #[arg(long, default_value_t = Options::default().binning)]
    bin: Binning,
    /// Quad Bayer / Nonacell raws: remosaic to a full-resolution Bayer mosaic instead of
    /// binning the same-colour blocks (bursts: every frame, before alignment; no effect on
    /// Bayer raws).
    #[arg(long)]
    remosaic: bool,
    /// Tone mapping: fusion (auto HDR: short and long synthetic exposures of the luminance
    /// fused, colour carried over, a gentle contrast curve), curve, or linear (no tone mapping:
    /// scene-referred linear sRGB at the raw exposure, 16-bit PNG or TIFF only).
    #[arg(long, default_value_t = Options::default().tone)]
    tone: Tone,
    /// White balance: as-shot (the camera's; auto when the file has none usable), auto
    /// (estimated from the image), daylight (D65 by the camera's colour matrix) or
    /// multipliers R,G,B.
    #[arg(long, default_value_t = Options::default().white_balance)]
    wb: WhiteBalance,
}

impl DevelopArgs {
    /// The library's options these arguments say.
    pub fn options(&self) -> Options {
        Options {
            demosaic: self.demosaic,
            exposure_ev: self.exposure,
            bits: self.bits,
            binning: self.bin,
            remosaic: self.remosaic,
            tone: self.tone,
            white_balance: self.wb,
            ..Options::default()
        }
    }

    /// Linear output is 16-bit scene-referred light: JPEG (8-bit, display-referred) cannot hold
    /// it.
    pub fn check_output(&self, output: &Path) -> Result<()> {
        if self.tone == Tone::Linear && Format::from_path(output) == Some(Format::Jpeg) {
            bail!(
                "{}: --tone linear writes 16-bit linear light, which JPEG cannot hold: write a .tif or .png",
                output.display()
            );
        }
        Ok(())
    }
}

pub fn run(args: &Args, gpu: &EngineOptions) -> Result<()> {
    let Args {
        input,
        output,
        look,
    } = args;
    files::check_output(&[input], output)?;
    look.check_output(output)?;
    let frame = Frame::open(input)?;
    let engine = super::engine(gpu)?;
    // Written band by band as the GPU finishes them: a large frame is never whole in memory.
    let ignore = &mut |_, _, _: &str| std::ops::ControlFlow::Continue(());
    let (width, height) = engine.develop_to_file(&frame, &look.options(), output, ignore)?;
    eprintln!(
        "{} → {} ({}×{}, {})",
        input.display(),
        output.display(),
        width,
        height,
        engine.adapter().name
    );
    Ok(())
}
