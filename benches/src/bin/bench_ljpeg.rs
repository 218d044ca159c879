//! Lossless-JPEG DNG decoding speed: burstpipe's `Frame::open` against LibRaw (rawpy: `imread`
//! plus a copy of `raw_image`) on the same 12 MP file, written by burstpipe's DNG writer
//! (256×256 tiles, 2 components × half width, predictor 1, as Adobe's converter writes).
//!
//! The mosaic is 4000×3000, 14-bit RGGB (black 512, white 16383) sampled from the 24 Kodak
//! photos in 512×512 cells, with deterministic shot-like noise so the entropy coder sees what a
//! sensor gives. Both decoders read the file from the page cache; each is timed as the median
//! of `--runs` after one warm-up run. burstpipe decodes tiles on every core (rayon); LibRaw on
//! one. Run with `RAYON_NUM_THREADS=1` for a per-core comparison.
//!
//! ```text
//! cargo run --release -p burstpipe-benches --bin bench_ljpeg -- [--out DIR] [--runs 5]
//!     [--file DNG]    # time an existing DNG instead (e.g. the shared G2 file: one tile)
//! ```

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

use clap::Parser;

use burstpipe::{Cfa, Frame};
use burstpipe_tests::{kodak, kodak_names};

#[derive(Parser)]
struct Args {
    /// Folder for the DNG (a temporary folder by default).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Timed runs per decoder (median reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Time this DNG instead of the generated one.
    #[arg(long)]
    file: Option<PathBuf>,
}

const LIBRAW: &str = r#"
import statistics, sys, time
import rawpy
times = []
for i in range(int(sys.argv[2]) + 1):
    t = time.perf_counter()
    with rawpy.imread(sys.argv[1]) as r:
        raw = r.raw_image.copy()
    times.append(time.perf_counter() - t)
print(statistics.median(times[1:]), int(raw.sum()))
"#;

fn main() -> ExitCode {
    let args = Args::parse();
    let tmp = tempfile::tempdir().expect("temporary folder");
    let (path, expected) = match &args.file {
        Some(file) => (file.clone(), None),
        None => {
            let frame = generated_frame();
            let dir = args.out.clone().unwrap_or_else(|| tmp.path().to_path_buf());
            std::fs::create_dir_all(&dir).expect("output folder");
            let path = dir.join("ljpeg_12mp.dng");
            frame.save_dng(&path).expect("DNG written");
            (path, Some(frame))
        }
    };
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    let mut times = Vec::new();
    let mut pixels = 0;
    for i in 0..=args.runs {
        let t = Instant::now();
        let back = Frame::open(&path).expect("decoded");
        if i > 0 {
            times.push(t.elapsed().as_secs_f64());
        }
        if let Some(frame) = &expected {
            assert!(back.mosaic() == frame.mosaic(), "decoded mosaic differs");
        }
        pixels = back.mosaic().len();
    }
    times.sort_by(f64::total_cmp);
    let ours = times[times.len() / 2];

    let out = Command::new("python3")
        .arg("-c")
        .arg(LIBRAW)
        .arg(&path)
        .arg(args.runs.to_string())
        .output();
    let libraw = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .next()
            .and_then(|s| s.parse::<f64>().ok()),
        Ok(o) => {
            eprintln!("rawpy failed: {}", String::from_utf8_lossy(&o.stderr));
            None
        }
        Err(e) => {
            eprintln!("python3 did not start: {e}");
            None
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(threads);
    println!(
        "{}: {:.1} MP lossless-JPEG DNG ({:.1} MB, {:.2} bytes/pixel)",
        path.display(),
        pixels as f64 / 1e6,
        bytes as f64 / 1e6,
        bytes as f64 / pixels.max(1) as f64
    );
    println!(
        "burstpipe Frame::open: {:.1} ms ({threads} threads)",
        ours * 1e3
    );
    match libraw {
        Some(l) => {
            println!("LibRaw (rawpy) imread + raw_image: {:.1} ms", l * 1e3);
            println!("LibRaw / burstpipe time ratio: {:.2}", l / ours);
            ExitCode::SUCCESS
        }
        None => ExitCode::FAILURE,
    }
}

/// The 12 MP 14-bit mosaic described at the top.
fn generated_frame() -> Frame {
    let (w, h, cell) = (4000usize, 3000usize, 512usize);
    let names = kodak_names();
    let mosaics: Vec<(usize, Vec<u16>)> = names
        .iter()
        .map(|n| {
            let img = kodak(n);
            let m = burstpipe_tests::mosaic(&img, Cfa::Rggb, 15000.0);
            (img.width as usize, m)
        })
        .collect();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mosaic: Vec<u16> = (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            let k = (y / cell * w.div_ceil(cell) + x / cell) % mosaics.len();
            let (mw, m) = &mosaics[k];
            // Cells start on even pixels, so the Bayer phase is kept.
            let v = m[(y % cell) * mw + x % cell] as f64;
            let sigma = (4.0 + v * 0.5).sqrt();
            let n = ((noise() % 2001) as f64 / 1000.0 - 1.0) * sigma * 1.7;
            (512.0 + v + n).round().clamp(0.0, 16383.0) as u16
        })
        .collect();
    Frame::from_mosaic(w as u32, h as u32, mosaic, Cfa::Rggb, 512.0, 16383.0).expect("valid mosaic")
}
