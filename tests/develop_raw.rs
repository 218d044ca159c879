//! Real camera raw files developed end to end through the library: the bundled sample (a Canon
//! EOS 550D DNG) and the shared real files (Canon CRWs through rawloader). Each must come out at
//! LibRaw's size (its visible area, read through rawpy) with sane levels. Colour accuracy on the
//! chart shots is judged in `tests/real_colour.rs`; the strip/tile layouts of one DNG below.

use burstpipe::{Engine, EngineOptions, Frame, Options};
use burstpipe_tests::{assets, shared_real};

/// The visible size LibRaw reports for a raw file (rawpy `sizes.width`, `sizes.height`).
fn libraw_size(path: &std::path::Path) -> (u32, u32) {
    let v = burstpipe_tests::python_numbers(
        "import rawpy, sys\nwith rawpy.imread(sys.argv[1]) as r: print(r.sizes.width, r.sizes.height)",
        &[path.as_os_str()],
    );
    (v[0] as u32, v[1] as u32)
}

/// Mean level and the shares of pixels black or white in all three channels (a single channel at
/// 0 is a saturated colour outside sRGB, not a black pixel).
fn levels(data: &[u16]) -> (f64, f64, f64) {
    let n = data.len() as f64;
    let mean = data.iter().map(|&v| v as f64).sum::<f64>() / n / 65535.0;
    let px = n / 3.0;
    let share = |v: u16| data.chunks(3).filter(|p| p.iter().all(|&c| c == v)).count() as f64 / px;
    (mean, share(0), share(65535))
}

#[test]
fn real_camera_raws_develop_at_libraws_size_with_sane_levels() {
    let engine = Engine::new(&EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let files = [
        assets().join("sample.dng"),
        shared_real("raw/canon_powershot_g2_colorchecker.CRW"),
        shared_real("raw/canon_eos_d30_tree.crw"),
    ];
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let frame = Frame::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let out = engine.develop(&frame, &Options::default()).unwrap();
        assert_eq!((out.width, out.height), libraw_size(&path), "{name}");
        let (mean, black, white) = levels(&out.data);
        // Every one of these scenes is a normally exposed photo: mid-tones in the middle of the
        // range, and neither crushed shadows nor blown highlights over more than 1 % of the frame
        // (the tree's lights and the chart's white patches are well under that).
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
    }
}

/// The same synthetic mosaic stored in strips and in tiles (the layout rawloader 0.37 refuses)
/// develops to the same photo.
#[test]
fn strip_and_tiled_dngs_develop_identically() {
    let engine = Engine::new(&EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let outputs: Vec<_> = [
        "raw/synthetic-kodim23.dng",
        "raw/synthetic-kodim23-tiled.dng",
    ]
    .iter()
    .map(|name| {
        let frame = Frame::open(assets().join(name)).unwrap_or_else(|e| panic!("{e}"));
        engine.develop(&frame, &Options::default()).unwrap()
    })
    .collect();
    assert!(
        outputs[0] == outputs[1],
        "strip and tiled DNG developed differently"
    );
}
