//! `burstpipe devices`: every adapter found, best first, with what decides its use.

use anyhow::Result;
use burstpipe::{Backend, Engine};

pub fn run(backend: Backend) -> Result<()> {
    let list = Engine::adapters(backend);
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
    Ok(())
}
