//! `burstpipe demosaic`: a single-channel mosaic image demosaiced, nothing else (for evaluating
//! demosaicers).

use std::path::PathBuf;

use anyhow::{bail, Result};
use burstpipe::{files, Cfa, Demosaic, EngineOptions, Format, Frame, XTrans};

#[derive(clap::Args)]
pub struct Args {
    /// The mosaic image.
    input: PathBuf,
    /// Layout of the mosaic: rggb, bggr, grbg, gbrg, xtrans (Fujifilm's X-Trans in the phase
    /// GGRGGB/GGBGGR/BRGRBG/GGBGGR/GGRGGB/RBGBRG) or any X-Trans phase as 36 letters.
    #[arg(long, value_parser = parse_cfa)]
    cfa: Layout,
    /// Method: rcd (high quality), mhc or bilinear; markesteijn or xtrans-bilinear for X-Trans.
    #[arg(long, default_value_t = Demosaic::Rcd)]
    method: Demosaic,
    /// Output file: .png or .tif.
    #[arg(short, long)]
    output: PathBuf,
}

/// A mosaic's colour filter layout: Bayer or X-Trans.
#[derive(Debug, Clone, Copy)]
enum Layout {
    Bayer(Cfa),
    XTrans(XTrans),
}

fn parse_cfa(s: &str) -> Result<Layout, String> {
    Cfa::parse(s)
        .map(Layout::Bayer)
        .or_else(|| XTrans::parse(s).map(Layout::XTrans))
        .ok_or_else(|| {
            format!("unknown CFA '{s}': use rggb, bggr, grbg, gbrg, xtrans or 36 X-Trans letters")
        })
}

pub fn run(args: &Args, gpu: &EngineOptions) -> Result<()> {
    let Args {
        input,
        cfa,
        method,
        output,
    } = args;
    files::check_output(&[input], output)?;
    if Format::from_path(output) == Some(Format::Jpeg) {
        bail!(
            "{}: demosaic output must be lossless: use .png or .tif",
            output.display()
        );
    }
    let (frame, bits) = match *cfa {
        Layout::Bayer(cfa) => Frame::open_mosaic_image(input, cfa)?,
        Layout::XTrans(layout) => {
            let (frame, bits) = Frame::open_mosaic_image(input, Cfa::Rggb)?;
            (frame.with_xtrans(layout), bits)
        }
    };
    let image = super::engine(gpu)?.demosaic(&frame, *method, bits)?;
    image.save(output)?;
    Ok(())
}
