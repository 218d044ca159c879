//! How a desktop editor embeds burstpipe: one engine kept alive for the whole session (kernels
//! compile once), a fast half-size preview first (2×2 superpixels: no demosaic), then the
//! full-size develop — both in memory, ready to put on screen.
//!
//! `cargo run -p burstpipe --example editor_preview -- assets/sample.dng`

use std::time::Instant;

use burstpipe::{Binning, Engine, EngineOptions, Frame, Options};

fn main() -> Result<(), burstpipe::Error> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "assets/sample.dng".into());
    // Open the engine once, at start-up, and keep it: editors develop many photos with it.
    let engine = Engine::new(&EngineOptions::default())?;
    println!(
        "running on {} ({})",
        engine.adapter().name,
        engine.adapter().backend
    );

    let frame = Frame::open(&path)?;
    for (what, options) in [
        (
            "preview",
            Options {
                binning: Binning::Superpixel,
                bits: 8,
                ..Options::default()
            },
        ),
        ("full size", Options::default()),
    ] {
        let start = Instant::now();
        let image = engine.develop(&frame, &options)?;
        // `image.data` is RGB, row-major, `image.bits` per channel: hand it to the UI toolkit.
        println!(
            "{what}: {}×{} at {} bits in {:.0} ms",
            image.width,
            image.height,
            image.bits,
            start.elapsed().as_secs_f64() * 1e3
        );
    }
    Ok(())
}
