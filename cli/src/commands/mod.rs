//! One module per subcommand: its clap arguments, mapped into the library's option types, and
//! the few lines that run it on the library.

pub mod batch;
pub mod bench;
pub mod demosaic;
pub mod develop;
pub mod devices;
pub mod fuse;
pub mod merge;

use anyhow::Result;
use burstpipe::{Engine, EngineOptions};

/// The engine the global `--backend` / `--adapter` choose.
pub fn engine(gpu: &EngineOptions) -> Result<Engine> {
    Ok(Engine::new(gpu)?)
}
