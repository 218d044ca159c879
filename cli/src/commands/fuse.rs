//! `burstpipe fuse`: a bracket of exposures (finished photos or raw files) fused into one photo.

use std::path::PathBuf;

use anyhow::Result;
use burstpipe::{files, EngineOptions, FuseOptions};

#[derive(clap::Args)]
pub struct Args {
    /// The exposures, or folders holding them (files taken in name order).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output file: .jpg, .png or .tif.
    #[arg(short, long)]
    output: PathBuf,
    /// Exponent of the contrast weight (0 switches it off).
    #[arg(long, default_value_t = FuseOptions::default().contrast)]
    contrast: f32,
    /// Exponent of the saturation weight (0 switches it off).
    #[arg(long, default_value_t = FuseOptions::default().saturation)]
    saturation: f32,
    /// Exponent of the well-exposedness weight (0 switches it off).
    #[arg(long, default_value_t = FuseOptions::default().exposedness)]
    exposedness: f32,
    /// Bits per channel for PNG (8 or 16; default: the deepest input's).
    #[arg(long)]
    bits: Option<u8>,
    /// Do not align the exposures (a tripod bracket: saves the alignment's time).
    #[arg(long)]
    no_align: bool,
    /// Where every exposure is flat or exactly grey (Mertens' weights all 0), weigh the
    /// exposures equally, as OpenCV's MergeMertens does, instead of taking the weights of the
    /// pixels around (the default).
    #[arg(long)]
    opencv_neutral: bool,
}

impl Args {
    /// The library's options these arguments say.
    fn options(&self) -> FuseOptions {
        FuseOptions {
            contrast: self.contrast,
            saturation: self.saturation,
            exposedness: self.exposedness,
            bits: self.bits,
            align: !self.no_align,
            opencv_neutral: self.opencv_neutral,
        }
    }
}

pub fn run(args: &Args, gpu: &EngineOptions) -> Result<()> {
    let files = files::exposure_files(&args.inputs)?;
    files::check_output(&files, &args.output)?;
    let engine = super::engine(gpu)?;
    let image = engine.fuse_files(&files, &args.options())?;
    image.save(&args.output)?;
    eprintln!(
        "{} exposures → {} ({}×{}, {})",
        files.len(),
        args.output.display(),
        image.width,
        image.height,
        engine.adapter().name
    );
    Ok(())
}
