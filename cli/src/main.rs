//! `burstpipe`: the command-line front of the burstpipe library.

mod batch;
mod bench;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};
use burstpipe::{
    Backend, BatchOptions, Binning, Cfa, Demosaic, Engine, EngineOptions, Frame, FuseOptions,
    Image, MergeMethod, MergeOptions, Options, Tone, WhiteBalance, XTrans,
};
use clap::{Parser, Subcommand};
use rayon::prelude::*;

#[derive(Parser)]
#[command(
    name = "burstpipe",
    version,
    about = "GPU burst photography: develop, merge and fuse raw photos on any GPU"
)]
struct Cli {
    /// Graphics API: auto, vulkan, metal, dx12, gl.
    #[arg(long, global = true, default_value = "auto", value_parser = parse_backend)]
    backend: Backend,
    /// Adapter index from `burstpipe devices` (default: the best one).
    #[arg(long, global = true)]
    adapter: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every GPU adapter found, best first.
    Devices,
    /// Develop one raw file (DNG or a camera raw) into a finished photo.
    Develop {
        /// The raw file.
        input: PathBuf,
        /// Output file: .jpg, .png or .tif.
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        look: DevelopArgs,
    },
    /// Align and merge a raw burst (a folder, or files in capture order), then develop it.
    Merge {
        /// A folder holding the burst's raw files (taken in name order), or the files.
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
        #[arg(long = "merge", default_value = "wiener", value_parser = parse_merge)]
        method: MergeMethod,
        /// Noise reduction strength (1 = default; larger removes more noise, risks ghosts).
        #[arg(long, default_value_t = 1.0)]
        strength: f32,
        /// Use only the first K frames.
        #[arg(long)]
        frames: Option<usize>,
        /// Also write the merged raw mosaic as a DNG that other raw developers open.
        #[arg(long)]
        dng: Option<PathBuf>,
        #[command(flatten)]
        look: DevelopArgs,
    },
    /// Process every burst of a folder (sub-folders, or loose files grouped by capture time):
    /// one output per burst; existing outputs are skipped; a bad burst is reported at the end.
    Batch {
        /// The folder of bursts.
        input: PathBuf,
        /// The output folder (created if missing).
        #[arg(short, long)]
        output: PathBuf,
        /// Output format: jpg, png or tif.
        #[arg(long, default_value = "jpg")]
        format: String,
        /// Replace outputs that already exist (default: skip those bursts, so a batch resumes).
        #[arg(long)]
        overwrite: bool,
        /// Process only shard i of n (0-based), e.g. `--shard $SLURM_ARRAY_TASK_ID/8`.
        #[arg(long, value_parser = batch::parse_shard)]
        shard: Option<(u64, u64)>,
        /// Merge method: wiener or spatial.
        #[arg(long = "merge", default_value = "wiener", value_parser = parse_merge)]
        method: MergeMethod,
        /// Demosaicing method: mhc or bilinear.
        #[arg(long, default_value = "mhc", value_parser = parse_demosaic)]
        demosaic: Demosaic,
        /// GPUs to spread the bursts over: `all` (every adapter of the best one's API) or
        /// indices from `burstpipe devices`, e.g. 0,1 (default: the one `--adapter` picks).
        #[arg(long, value_parser = batch::parse_devices, conflicts_with = "adapter")]
        devices: Option<batch::Devices>,
        /// CPU threads decoding raw files ahead of the GPUs (default: a quarter of the cores,
        /// 1 to 4).
        #[arg(long)]
        decode_threads: Option<usize>,
        /// Process the bursts strictly one after another (decode, GPU, encode) instead of
        /// overlapping them.
        #[arg(long)]
        sequential: bool,
        /// White balance: as-shot (auto when a file has none usable), auto, daylight or R,G,B.
        #[arg(long, default_value = "as-shot", value_parser = parse_wb)]
        wb: WhiteBalance,
    },
    /// Benchmark the standard workload (develop a raw frame, merge an 8-frame burst, fuse 3
    /// exposures; made in memory from a built-in photo) on every adapter found, or on
    /// `--adapter`: per-stage GPU time (timestamp queries, else wall clock, as it says), ms per
    /// megapixel, bytes moved per pixel, frames per second. Writes bench.json and a bench.svg
    /// chart of the per-stage breakdown to --out.
    Bench {
        /// Print JSON (with the adapters' driver and limits) instead of the table.
        #[arg(long)]
        json: bool,
        /// Frame sizes in megapixels, comma-separated (default 12,48; with --quick 12).
        #[arg(long, value_delimiter = ',')]
        sizes: Option<Vec<f64>>,
        /// Folder for bench.json and bench.svg (created if missing).
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// One timed run per workload, warmed up on a small workload (default: a full-size
        /// warm-up and the median of --runs).
        #[arg(long)]
        quick: bool,
        /// Timed runs per workload (the median by wall time is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Demosaic a single-channel 8/16-bit PNG or TIFF mosaic; the output keeps its bit depth.
    Demosaic {
        /// The mosaic image.
        input: PathBuf,
        /// Layout of the mosaic: rggb, bggr, grbg, gbrg, xtrans (Fujifilm's X-Trans in the phase
        /// GGRGGB/GGBGGR/BRGRBG/GGBGGR/GGRGGB/RBGBRG) or any X-Trans phase as 36 letters.
        #[arg(long, value_parser = parse_cfa)]
        cfa: Layout,
        /// Method: rcd (high quality), mhc or bilinear; markesteijn or xtrans-bilinear for X-Trans.
        #[arg(long, default_value = "rcd", value_parser = parse_demosaic)]
        method: Demosaic,
        /// Output file: .png or .tif.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Fuse a bracket of exposures (JPEG, PNG or TIFF files, raw files, or a folder of them) into
    /// one photo with detail in shadows and highlights (Mertens exposure fusion). Handheld
    /// brackets are aligned to the middle exposure first (exposure ratios from EXIF, or estimated
    /// from the images). Raw exposures are all developed at the same fixed gain (0 EV, plain
    /// curve), so their exposure differences remain for the fusion.
    Fuse {
        /// The exposures, or folders holding them (files taken in name order).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output file: .jpg, .png or .tif.
        #[arg(short, long)]
        output: PathBuf,
        /// Exponent of the contrast weight (0 switches it off).
        #[arg(long, default_value_t = 1.0)]
        contrast: f32,
        /// Exponent of the saturation weight (0 switches it off).
        #[arg(long, default_value_t = 1.0)]
        saturation: f32,
        /// Exponent of the well-exposedness weight (0 switches it off).
        #[arg(long, default_value_t = 1.0)]
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
    },
}

/// How a raw mosaic is developed: the options `develop` and `merge` share.
#[derive(clap::Args)]
struct DevelopArgs {
    /// Demosaicing method: rcd (high quality), mhc or bilinear; on X-Trans raws markesteijn
    /// or xtrans-bilinear (rcd and mhc mean markesteijn there, bilinear xtrans-bilinear).
    #[arg(long, default_value = "rcd", value_parser = parse_demosaic)]
    demosaic: Demosaic,
    /// Exposure correction in EV (default: automatic).
    #[arg(long, allow_negative_numbers = true)]
    exposure: Option<f32>,
    /// Bits per channel for PNG (8 or 16); JPEG is always 8, TIFF always 16.
    #[arg(long, default_value_t = 16)]
    bits: u8,
    /// Pixel binning: 2 or 3 (same-colour means, a 1/2 or 1/3 resolution Bayer mosaic; a
    /// burst is binned before alignment, so it merges faster and cleaner) or superpixel (each
    /// 2×2 quad to one RGB pixel; after the merge for a burst).
    #[arg(long, default_value = "off", value_parser = parse_binning)]
    bin: Binning,
    /// Quad Bayer / Nonacell raws: remosaic to a full-resolution Bayer mosaic instead of
    /// binning the same-colour blocks (bursts: every frame, before alignment; no effect on
    /// Bayer raws).
    #[arg(long)]
    remosaic: bool,
    /// Tone mapping: fusion (auto HDR: short and long synthetic exposures of the luminance
    /// fused, colour carried over, a gentle contrast curve), curve, or linear (no tone mapping:
    /// scene-referred linear sRGB at the raw exposure, 16-bit PNG or TIFF only).
    #[arg(long, default_value = "fusion", value_parser = parse_tone)]
    tone: Tone,
    /// White balance: as-shot (the camera's; auto when the file has none usable), auto
    /// (estimated from the image), daylight (D65 by the camera's colour matrix) or
    /// multipliers R,G,B.
    #[arg(long, default_value = "as-shot", value_parser = parse_wb)]
    wb: WhiteBalance,
}

impl DevelopArgs {
    fn options(&self) -> Options {
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
}

/// Raw extensions: raw exposures are developed before fusion.
const RAW_EXTENSIONS: &[&str] = &[
    "dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "raf", "rw2", "orf", "pef",
    "srw", "3fr", "iiq", "erf", "kdc", "mrw", "x3f",
];

fn is_raw(path: &Path) -> bool {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    RAW_EXTENSIONS.contains(&ext.as_str())
}

/// The exposures named on the command line: files as given, folders expanded to their files in
/// name order (hidden files skipped).
fn exposure_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut list: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|e| anyhow::anyhow!("{}: {e}", input.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .filter(|p| {
                    !p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect();
            list.sort();
            if list.is_empty() {
                bail!("{}: the folder holds no files", input.display());
            }
            files.extend(list);
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

/// One exposure of a bracket as a display-referred image: finished photos as they are; raw files
/// developed with the plain curve at 0 EV (no automatic exposure), so that the bracket keeps its
/// exposure differences, which are what fusion works from.
fn open_exposure(engine: &Engine, path: &Path) -> Result<Image> {
    if !is_raw(path) {
        return Ok(Image::open(path)?);
    }
    let frame = Frame::open(path)?;
    let options = Options {
        exposure_ev: Some(0.0),
        tone: Tone::Curve,
        ..Options::default()
    };
    Ok(engine.develop(&frame, &options)?)
}

fn parse_backend(s: &str) -> Result<Backend, String> {
    Backend::parse(s)
        .ok_or_else(|| format!("unknown backend '{s}': use auto, vulkan, metal, dx12 or gl"))
}
fn parse_binning(s: &str) -> Result<Binning, String> {
    Binning::parse(s).ok_or_else(|| format!("unknown binning '{s}': use 2, 3, superpixel or off"))
}

fn parse_demosaic(s: &str) -> Result<Demosaic, String> {
    Demosaic::parse(s).ok_or_else(|| {
        format!(
            "unknown demosaic method '{s}': use rcd, mhc, bilinear, markesteijn or xtrans-bilinear"
        )
    })
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
fn parse_merge(s: &str) -> Result<MergeMethod, String> {
    MergeMethod::parse(s)
        .ok_or_else(|| format!("unknown merge method '{s}': use wiener or spatial"))
}

/// The burst's files: a folder's files in name order (hidden files skipped), or the files given.
fn burst_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if let [dir] = inputs {
        if dir.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && !p
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect();
            files.sort();
            if files.is_empty() {
                bail!("{}: the folder holds no files to merge", dir.display());
            }
            return Ok(files);
        }
    }
    Ok(inputs.to_vec())
}

fn parse_wb(s: &str) -> Result<WhiteBalance, String> {
    WhiteBalance::parse(s).ok_or_else(|| {
        format!("unknown white balance '{s}': use as-shot, auto, daylight or three positive multipliers R,G,B")
    })
}

/// Linear output is 16-bit scene-referred light: JPEG (8-bit, display-referred) cannot hold it.
fn check_linear_output(look: &DevelopArgs, output: &Path) -> Result<()> {
    if look.tone == Tone::Linear
        && burstpipe::Format::from_path(output) == Some(burstpipe::Format::Jpeg)
    {
        bail!(
            "{}: --tone linear writes 16-bit linear light, which JPEG cannot hold: write a .tif or .png",
            output.display()
        );
    }
    Ok(())
}

fn parse_tone(s: &str) -> Result<Tone, String> {
    Tone::parse(s).ok_or_else(|| format!("unknown tone mapping '{s}': use fusion, curve or linear"))
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

/// Refuse before any work: an output we cannot write, or one that would overwrite the input.
fn check_output(input: &Path, output: &Path) -> Result<()> {
    if burstpipe::Format::from_path(output).is_none() {
        bail!(
            "{}: unknown output format: use .jpg, .png or .tif",
            output.display()
        );
    }
    check_writable(input, output)
}

/// `--dng`: a .dng name in an existing folder that is not one of the inputs.
fn check_dng_output(input: &Path, dng: &Path) -> Result<()> {
    if !dng
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("dng"))
    {
        bail!("{}: the --dng output must end in .dng", dng.display());
    }
    check_writable(input, dng)
}

/// The output's folder exists and the output is not the input.
fn check_writable(input: &Path, output: &Path) -> Result<()> {
    let dir = output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        bail!(
            "{}: the output folder {} does not exist: create it first",
            output.display(),
            dir.display()
        );
    }
    if let (Ok(a), Ok(b)) = (input.canonicalize(), output.canonicalize()) {
        if a == b {
            bail!(
                "{}: the output would overwrite the input: choose another name",
                output.display()
            );
        }
    }
    Ok(())
}

fn engine(cli: &Cli) -> Result<Engine> {
    Ok(Engine::new(&EngineOptions {
        backend: cli.backend,
        adapter: cli.adapter,
    })?)
}

fn run(cli: Cli) -> Result<()> {
    match &cli.command {
        Command::Devices => {
            let list = Engine::adapters(cli.backend);
            if list.is_empty() {
                return Err(burstpipe::Error::NoAdapter {
                    detail: String::new(),
                }
                .into());
            }
            for a in list {
                println!(
                    "[{}] {} ({}, {})",
                    a.index, a.name, a.backend, a.device_type
                );
                println!(
                    "    driver: {}",
                    if a.driver.is_empty() { "-" } else { &a.driver }
                );
                println!(
                    "    max buffer {} MiB, max storage binding {} MiB, max 2-D texture {} px, {} workgroups/dim",
                    a.max_buffer_size >> 20,
                    a.max_storage_binding >> 20,
                    a.max_texture_2d,
                    a.max_workgroups_per_dim
                );
                println!(
                    "    stage timing: {}",
                    if a.timestamp_queries {
                        "GPU timestamp queries"
                    } else {
                        "wall clock (no timestamp queries)"
                    }
                );
            }
        }
        Command::Develop {
            input,
            output,
            look,
        } => {
            check_output(input, output)?;
            check_linear_output(look, output)?;
            let frame = Frame::open(input)?;
            let engine = engine(&cli)?;
            let image = engine.develop(&frame, &look.options())?;
            image.save(output)?;
            eprintln!(
                "{} → {} ({}×{}, {})",
                input.display(),
                output.display(),
                image.width,
                image.height,
                engine.adapter().name
            );
        }
        Command::Merge {
            inputs,
            output,
            reference,
            method,
            strength,
            frames,
            dng,
            look,
        } => {
            check_linear_output(look, output)?;
            let files = burst_files(inputs)?;
            for f in &files {
                check_output(f, output)?;
                if let Some(d) = dng {
                    check_dng_output(f, d)?;
                }
            }
            let mut files = files;
            if let Some(k) = frames {
                files.truncate((*k).max(1));
            }
            eprintln!("decoding {} frames", files.len());
            let burst = match burstpipe::BurstFiles::open(&files)? {
                burstpipe::BurstFiles::Raw(burst) => burst,
                // Finished photos (JPEG, PNG, TIFF): merged in their own encoding, not developed.
                burstpipe::BurstFiles::Photos(photos) => {
                    if dng.is_some() {
                        bail!("--dng writes a merged raw: these frames are finished photos");
                    }
                    let options = MergeOptions {
                        reference: reference.0,
                        method: *method,
                        strength: *strength,
                        frames: *frames,
                        ..MergeOptions::default()
                    };
                    let image = engine(&cli)?.merge_photos(&photos, &options)?;
                    image.save(output)?;
                    eprintln!("{} photos → {}", photos.len(), output.display());
                    return Ok(());
                }
            };
            let engine = engine(&cli)?;
            let options = MergeOptions {
                reference: reference.0,
                method: *method,
                strength: *strength,
                frames: *frames,
                develop: look.options(),
                ..MergeOptions::default()
            };
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
                    let (image, raw) =
                        engine.merge_and_raw_with_progress(&burst, &options, &mut report)?;
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
        }
        Command::Batch {
            input,
            output,
            format,
            overwrite,
            shard,
            method,
            demosaic,
            devices,
            decode_threads,
            sequential,
            wb,
        } => {
            let ext = format.to_ascii_lowercase();
            if burstpipe::Format::from_path(Path::new(&format!("x.{ext}"))).is_none() {
                bail!("unknown output format '{format}': use jpg, png or tif");
            }
            let mut jobs = batch::find_bursts(input)?;
            if let Some(shard) = *shard {
                jobs.retain(|j| batch::in_shard(&j.name, shard));
            }
            std::fs::create_dir_all(output)
                .map_err(|e| anyhow::anyhow!("{}: {e}", output.display()))?;
            let engines = match devices {
                None => vec![engine(&cli)?],
                Some(batch::Devices::All) => Engine::open_all(cli.backend)?,
                Some(batch::Devices::List(list)) => list
                    .iter()
                    .map(|&i| {
                        Engine::new(&EngineOptions {
                            backend: cli.backend,
                            adapter: Some(i),
                        })
                    })
                    .collect::<burstpipe::Result<_>>()?,
            };
            let mut options = BatchOptions {
                merge: MergeOptions {
                    method: *method,
                    develop: Options {
                        demosaic: *demosaic,
                        bits: 16,
                        white_balance: *wb,
                        ..Options::default()
                    },
                    ..MergeOptions::default()
                },
                overlap: !*sequential,
                ..BatchOptions::default()
            };
            if let Some(n) = *decode_threads {
                options.decode_threads = n.max(1);
            }
            let report = batch::run(&engines, &jobs, output, &ext, *overwrite, &options)?;
            if engines.len() > 1 {
                for (i, e) in engines.iter().enumerate() {
                    eprintln!(
                        "device {i}: {} ({}): {} bursts",
                        e.adapter().name,
                        e.adapter().backend,
                        report.stats.jobs[i]
                    );
                }
            }
            eprintln!(
                "{} bursts: {} done, {} skipped (output exists), {} failed",
                jobs.len(),
                report.done,
                report.skipped,
                report.failed.len()
            );
            for (name, why) in &report.failed {
                eprintln!("  failed: {name}: {why}");
            }
            if !report.failed.is_empty() {
                bail!("{} of {} bursts failed", report.failed.len(), jobs.len());
            }
        }
        Command::Bench {
            json,
            sizes,
            out,
            quick,
            runs,
        } => {
            let sizes =
                sizes
                    .clone()
                    .unwrap_or_else(|| if *quick { vec![12.0] } else { vec![12.0, 48.0] });
            bench::run(&bench::Args {
                backend: cli.backend,
                adapter: cli.adapter,
                sizes,
                runs: *runs,
                quick: *quick,
                json: *json,
                out: out.clone(),
            })?;
        }
        Command::Demosaic {
            input,
            cfa,
            method,
            output,
        } => {
            check_output(input, output)?;
            if burstpipe::Format::from_path(output) == Some(burstpipe::Format::Jpeg) {
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
            let image = engine(&cli)?.demosaic(&frame, *method, bits)?;
            image.save(output)?;
        }
        Command::Fuse {
            inputs,
            output,
            contrast,
            saturation,
            exposedness,
            bits,
            no_align,
            opencv_neutral,
        } => {
            let files = exposure_files(inputs)?;
            for f in &files {
                check_output(f, output)?;
            }
            match files.len() {
                0 => bail!("no exposures given"),
                1 => bail!(
                    "{}: exposure fusion needs at least two exposures, got only this one",
                    files[0].display()
                ),
                _ => {}
            }
            let engine = engine(&cli)?;
            // Decoded side by side: each exposure is a whole file to decompress.
            let images = files
                .par_iter()
                .map(|f| open_exposure(&engine, f))
                .collect::<Result<Vec<_>>>()?;
            for (f, img) in files.iter().zip(&images) {
                if (img.width, img.height) != (images[0].width, images[0].height) {
                    bail!(
                        "{}: {}×{}, but {} is {}×{}: a bracket's exposures must have the same size",
                        f.display(),
                        img.width,
                        img.height,
                        files[0].display(),
                        images[0].width,
                        images[0].height
                    );
                }
            }
            let options = FuseOptions {
                contrast: *contrast,
                saturation: *saturation,
                exposedness: *exposedness,
                bits: *bits,
                align: !*no_align,
                opencv_neutral: *opencv_neutral,
            };
            let image = engine.fuse(&images, &options)?;
            image.save(output)?;
            eprintln!(
                "{} exposures → {} ({}×{}, {})",
                files.len(),
                output.display(),
                image.width,
                image.height,
                engine.adapter().name
            );
        }
    }
    Ok(())
}

/// What to do about an error, where there is something to do.
fn hint(e: &burstpipe::Error) -> Option<&'static str> {
    use burstpipe::Error::*;
    match e {
        Decode { .. } => Some("the file is damaged or not a raw photo: copy it from the card again, or convert it to DNG"),
        Unsupported { what, .. } if what.contains("already demosaiced") => Some("a LinearRaw DNG is a finished RGB image: develop it on its own with `burstpipe develop`, without --bin"),
        Unsupported { .. } => Some("convert the file to a Bayer DNG (e.g. with Adobe DNG Converter) and try again"),
        Limits { .. } => Some("the file's header claims an impossible size: it is most likely corrupt"),
        OutOfMemory { .. } => Some("try `--adapter` to pick a GPU with more memory"),
        _ => None,
    }
}

/// Mesa's EGL (probed for the GL backend) prints a scary line when XDG_RUNTIME_DIR is unset, as on
/// servers and in containers: give it a private folder before any adapter is enumerated.
fn quiet_headless_egl() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let user = std::env::var("USER").unwrap_or_default();
        let dir = std::env::temp_dir().join(format!("burstpipe-runtime-{user}"));
        if std::fs::create_dir_all(&dir).is_ok() {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
            }
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
        }
    }
}

fn main() -> ExitCode {
    quiet_headless_egl();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("burstpipe: error: {e}");
            if let Some(hint) = e.downcast_ref::<burstpipe::Error>().and_then(hint) {
                eprintln!("burstpipe: hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}
