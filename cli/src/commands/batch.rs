//! `burstpipe batch`: every burst of a folder, one output each (the work is in `crate::batch`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use burstpipe::{
    BatchOptions, Demosaic, Engine, EngineOptions, Format, MergeMethod, MergeOptions, Options,
    WhiteBalance,
};

use crate::batch;

#[derive(clap::Args)]
pub struct Args {
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
    #[arg(long = "merge", default_value_t = MergeOptions::default().method)]
    method: MergeMethod,
    /// Demosaicing method: mhc or bilinear.
    #[arg(long, default_value_t = Demosaic::Mhc)]
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
    #[arg(long, default_value_t = Options::default().white_balance)]
    wb: WhiteBalance,
}

impl Args {
    /// The library's options these arguments say.
    fn options(&self) -> BatchOptions {
        let mut options = BatchOptions {
            merge: MergeOptions {
                method: self.method,
                develop: Options {
                    demosaic: self.demosaic,
                    bits: 16,
                    white_balance: self.wb,
                    ..Options::default()
                },
                ..MergeOptions::default()
            },
            overlap: !self.sequential,
            ..BatchOptions::default()
        };
        if let Some(n) = self.decode_threads {
            options.decode_threads = n.max(1);
        }
        options
    }
}

pub fn run(args: &Args, gpu: &EngineOptions) -> Result<()> {
    let ext = args.format.to_ascii_lowercase();
    if Format::from_path(Path::new(&format!("x.{ext}"))).is_none() {
        bail!(
            "unknown output format '{}': use jpg, png or tif",
            args.format
        );
    }
    let mut jobs = batch::find_bursts(&args.input)?;
    if let Some(shard) = args.shard {
        jobs.retain(|j| batch::in_shard(&j.name, shard));
    }
    std::fs::create_dir_all(&args.output)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.output.display()))?;
    let engines = match &args.devices {
        None => vec![super::engine(gpu)?],
        Some(batch::Devices::All) => Engine::open_all(gpu.backend)?,
        Some(batch::Devices::List(list)) => list
            .iter()
            .map(|&i| {
                Engine::new(&EngineOptions {
                    adapter: Some(i),
                    ..gpu.clone()
                })
            })
            .collect::<burstpipe::Result<_>>()?,
    };
    let report = batch::run(
        &engines,
        &jobs,
        &args.output,
        &ext,
        args.overwrite,
        &args.options(),
    )?;
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
    Ok(())
}
