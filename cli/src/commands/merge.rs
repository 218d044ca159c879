//! `burstpipe merge`: align and merge a raw burst, then develop it (optionally also writing the
//! merged mosaic as a DNG); or a burst of finished photos, written in their own encoding.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use burstpipe::{files, BurstFiles, EngineOptions, MergeMethod, MergeOptions};

use super::develop::DevelopArgs;

#[derive(clap::Args)]
pub struct Args {
    /// A folder holding the burst's raw files or finished photos (JPEG, PNG, TIFF; taken in name
    /// order), or the files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output file: .jpg, .png or .tif.
    #[arg(short, long)]
    output: PathBuf,
    /// Reference frame: auto (the sharpest of the first three) or its index from 0.
    #[arg(long, default_value = "auto", value_parser = parse_reference)]
    reference: Reference,
    /// Merge method: wiener (HDR+, frequency domain) or spatial (faster). X-Trans bursts
    /// (no Bayer planes) take the X-Trans merge with either.
    #[arg(long = "merge", default_value_t = MergeOptions::default().method)]
    method: MergeMethod,
    /// Noise reduction strength (1 = default; larger removes more noise, risks ghosts).
    #[arg(long, default_value_t = MergeOptions::default().strength)]
    strength: f32,
    /// Use only the first K frames.
    #[arg(long)]
    frames: Option<usize>,
    /// Also write the merged raw mosaic as a DNG that other raw developers open.
    #[arg(long)]
    dng: Option<PathBuf>,
    #[command(flatten)]
    look: DevelopArgs,
}

/// `--reference`: automatic or a frame index.
#[derive(Clone, Copy)]
struct Reference(Option<usize>);

fn parse_reference(s: &str) -> Result<Reference, String> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(Reference(None));
    }
    s.parse()
        .map(|i| Reference(Some(i)))
        .map_err(|_| format!("reference '{s}': use auto or a frame index (0, 1, ...)"))
}

/// `--dng`: a .dng name in an existing folder that is not one of the inputs.
fn check_dng_output(inputs: &[PathBuf], dng: &Path) -> Result<()> {
    if !dng
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("dng"))
    {
        bail!("{}: the --dng output must end in .dng", dng.display());
    }
    Ok(files::check_writable(inputs, dng)?)
}

pub fn run(args: &Args, gpu: &EngineOptions) -> Result<()> {
    let Args {
        inputs,
        output,
        reference,
        method,
        strength,
        frames,
        dng,
        look,
    } = args;
    look.check_output(output)?;
    let mut files = files::burst_files(inputs)?;
    files::check_output(&files, output)?;
    if let Some(d) = dng {
        check_dng_output(&files, d)?;
    }
    if let Some(k) = frames {
        files.truncate((*k).max(1));
    }
    eprintln!("decoding {} frames", files.len());
    let mut options = MergeOptions {
        reference: reference.0,
        method: *method,
        strength: *strength,
        frames: *frames,
        ..MergeOptions::default()
    };
    let burst = match BurstFiles::open(&files)? {
        BurstFiles::Raw(burst) => burst,
        // Finished photos (JPEG, PNG, TIFF): merged in their own encoding, not developed.
        BurstFiles::Photos(photos) => {
            if dng.is_some() {
                bail!("--dng writes a merged raw: these frames are finished photos");
            }
            let image = super::engine(gpu)?.merge_photos(&photos, &options)?;
            image.save(output)?;
            eprintln!("{} photos → {}", photos.len(), output.display());
            return Ok(());
        }
    };
    options.develop = look.options();
    let engine = super::engine(gpu)?;
    eprintln!("aligning and merging on {}", engine.adapter().name);
    // Drawn only when stderr is a terminal.
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} ({elapsed})")
            .expect("a valid template"),
    );
    let mut report = |done, total, stage: &str| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(stage.to_string());
        std::ops::ControlFlow::Continue(())
    };
    // The merged mosaic is developed on the GPU; it comes back only for a DNG.
    let image = match dng {
        Some(d) => {
            let (image, raw) = engine.merge_and_raw_with_progress(&burst, &options, &mut report)?;
            raw.save_dng(d)?;
            image
        }
        None => engine.merge_with_progress(&burst, &options, &mut report)?,
    };
    bar.finish_and_clear();
    image.save(output)?;
    eprintln!(
        "{} frames → {} ({}×{})",
        burst.len(),
        output.display(),
        image.width,
        image.height
    );
    Ok(())
}
