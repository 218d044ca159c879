//! `burstpipe bench`: the standard workload on every adapter (the work is in `crate::bench`).

use std::path::PathBuf;

use anyhow::Result;
use burstpipe::EngineOptions;

use crate::bench;

#[derive(clap::Args)]
pub struct Args {
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
}

pub fn run(args: &Args, gpu: &EngineOptions) -> Result<()> {
    let sizes = args.sizes.clone().unwrap_or_else(|| {
        if args.quick {
            vec![12.0]
        } else {
            vec![12.0, 48.0]
        }
    });
    bench::run(&bench::Args {
        backend: gpu.backend,
        adapter: gpu.adapter,
        sizes,
        runs: args.runs,
        quick: args.quick,
        json: args.json,
        out: args.out.clone(),
    })
}
