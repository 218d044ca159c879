//! Real raw files (DNG in strip and tile layouts) developed end to end through the library.
//! (Greys staying neutral is judged where the scene has grey areas: `tests/develop.rs` with
//! sRGB-primaries sensor data, and `schedule::develop` in the engine with a real camera matrix
//! and white balance. These sample files' scenes have no flat greys to judge.)

use burstpipe::{Engine, EngineOptions, Frame, Options};
use burstpipe_tests::assets;

const FILES: [&str; 3] = [
    "sample.dng",
    "raw/synthetic-kodim23.dng",
    "raw/synthetic-kodim23-tiled.dng",
];

#[test]
fn raw_files_develop_to_sane_neutral_photos() {
    let engine = Engine::new(&EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut outputs = Vec::new();
    for name in FILES {
        let frame = Frame::open(assets().join(name)).unwrap_or_else(|e| panic!("{e}"));
        let out = engine.develop(&frame, &Options::default()).unwrap();
        assert_eq!(
            (out.width, out.height),
            (frame.width(), frame.height()),
            "{name}"
        );
        let n = out.data.len() as f64;
        let mean = out.data.iter().map(|&v| v as f64).sum::<f64>() / n / 65535.0;
        // Pixels crushed to black or blown to white in all three channels (a single channel at 0
        // is a saturated colour outside sRGB, not a black pixel).
        let px = n / 3.0;
        let black = out
            .data
            .chunks(3)
            .filter(|p| p.iter().all(|&v| v == 0))
            .count() as f64
            / px;
        let white = out
            .data
            .chunks(3)
            .filter(|p| p.iter().all(|&v| v == 65535))
            .count() as f64
            / px;
        assert!(mean > 0.15 && mean < 0.85, "{name}: mean level {mean:.3}");
        assert!(
            black < 0.01,
            "{name}: {:.2} % of pixels black",
            black * 100.0
        );
        assert!(
            white < 0.01,
            "{name}: {:.2} % of pixels clipped white",
            white * 100.0
        );
        outputs.push(out);
    }
    // The strip and tile layouts of the same file develop to the same photo.
    assert!(
        outputs[1] == outputs[2],
        "strip and tiled DNG developed differently"
    );
}
