//! `burstpipe`: the command-line front of the burstpipe library. Clap's top level and the
//! dispatch live here; each subcommand is a small module of `commands` over the library.

mod batch;
mod bench;
mod commands;

use std::process::ExitCode;

use anyhow::Result;
use burstpipe::{Backend, EngineOptions};
use clap::{Parser, Subcommand};

use commands::{demosaic, develop, devices, fuse, merge};

#[derive(Parser)]
#[command(
    name = "burstpipe",
    version,
    about = "GPU burst photography: develop, merge and fuse raw photos on any GPU"
)]
struct Cli {
    /// Graphics API: auto, vulkan, metal, dx12, gl.
    #[arg(long, global = true, default_value_t = Backend::Auto)]
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
    Develop(develop::Args),
    /// Align and merge a raw burst (a folder, or files in capture order), then develop it.
    Merge(merge::Args),
    /// Process every burst of a folder (sub-folders, or loose files grouped by capture time):
    /// one output per burst; existing outputs are skipped; a bad burst is reported at the end.
    Batch(commands::batch::Args),
    /// Benchmark the standard workload (develop a raw frame, merge an 8-frame burst, fuse 3
    /// exposures; made in memory from a built-in photo) on every adapter found, or on
    /// `--adapter`: per-stage GPU time (timestamp queries, else wall clock, as it says), ms per
    /// megapixel, bytes moved per pixel, frames per second. Writes bench.json and a bench.svg
    /// chart of the per-stage breakdown to --out.
    Bench(commands::bench::Args),
    /// Demosaic a single-channel 8/16-bit PNG or TIFF mosaic; the output keeps its bit depth.
    Demosaic(demosaic::Args),
    /// Fuse a bracket of exposures (JPEG, PNG or TIFF files, raw files, or a folder of them) into
    /// one photo with detail in shadows and highlights (Mertens exposure fusion). Handheld
    /// brackets are aligned to the middle exposure first (exposure ratios from EXIF, or estimated
    /// from the images). Raw exposures are all developed at the same fixed gain (0 EV, plain
    /// curve), so their exposure differences remain for the fusion.
    Fuse(fuse::Args),
}

fn run(cli: Cli) -> Result<()> {
    let gpu = EngineOptions {
        backend: cli.backend,
        adapter: cli.adapter,
    };
    match &cli.command {
        Command::Devices => devices::run(cli.backend),
        Command::Develop(args) => develop::run(args, &gpu),
        Command::Merge(args) => merge::run(args, &gpu),
        Command::Batch(args) => commands::batch::run(args, &gpu),
        Command::Bench(args) => commands::bench::run(args, &gpu),
        Command::Demosaic(args) => demosaic::run(args, &gpu),
        Command::Fuse(args) => fuse::run(args, &gpu),
    }
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
