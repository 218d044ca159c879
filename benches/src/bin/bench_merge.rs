//! Burst align + merge speed of burstpipe on the adapter it finds, in ms per megapixel per frame,
//! with PSNR against the clean truth, on a synthetic burst made from a real photo.
//!
//! The burst comes from the tests' generator (`burstpipe_tests::synth`): a Kodak photo upscaled
//! to `--size`, seen by 8 frames moved by known sub-pixel motions (±8 px, ±0.002 rad, as in
//! `tests/burst.rs`), mosaiced as a 12-bit RGGB sensor (black 256, white 4095), medium
//! Poisson-Gaussian noise. Frames are written to `--out` as 16-bit PNG mosaics (`frameKK.png`,
//! raw sensor values), the clean photo frame 0 sees as `truth.png` (16-bit sRGB) and
//! `burst.json`, for `peers_merge.py`. Then `Engine::align`, `Engine::merge_raw` (wiener and
//! spatial), `Engine::merge` (merge + develop) and, as the baseline, `Engine::develop` of frame 0
//! alone are timed: warm-up, then the median of N, wall clock around the public calls (uploads,
//! kernels, downloads included).
//!
//! ```text
//! bench_merge --out DIR [--runs 5] [--warmup 1] [--photo assets/kodak/kodim23.png]
//!             [--size 2304x1728] [--frames 8] [--json FILE]
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use serde_json::json;

use burstpipe::{Burst, Engine, EngineOptions, MergeMethod, MergeOptions, Options, Tone};
use burstpipe_benches::{parse_size, save_mosaic_png, time};
use burstpipe_tests::synth::{random_motions, synth_burst, BLACK, NOISE_MEDIUM, WHITE};
use burstpipe_tests::{cpsnr, Rgb};
use image::imageops::{self, FilterType};

/// Border excluded from PSNR (moved frames repeat their edges there), as in tests/burst.rs.
const BORDER: u32 = 16;

/// Align and merge speed on a synthetic burst with known truth; `bash benches/run_merge.sh`
/// adds the OpenCV peers.
#[derive(Parser)]
struct Args {
    /// Folder for the burst's frames, truth and JSON.
    #[arg(long)]
    out: PathBuf,
    /// Timed runs per row (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Untimed runs first.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// The photo the burst is made from.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/kodak/kodim23.png"))]
    photo: PathBuf,
    /// Frame size (even, at least 64×64).
    #[arg(long, default_value = "2304x1728", value_parser = parse_size)]
    size: (u32, u32),
    /// Frames in the burst.
    #[arg(long, default_value_t = 8)]
    frames: usize,
    /// Also write the rows as JSON lines here.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// The photo (sRGB-encoded) upscaled (Catmull-Rom) to cover `w`×`h` and centre-cropped.
fn photo(path: &Path, w: u32, h: u32) -> Result<Rgb, String> {
    let src = image::open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .to_rgb32f();
    let s = (w as f64 / src.width() as f64).max(h as f64 / src.height() as f64);
    let (sw, sh) = (
        ((src.width() as f64 * s).ceil() as u32).max(w),
        ((src.height() as f64 * s).ceil() as u32).max(h),
    );
    let big = imageops::resize(&src, sw, sh, FilterType::CatmullRom);
    let crop = imageops::crop_imm(&big, (sw - w) / 2, (sh - h) / 2, w, h).to_image();
    Ok(Rgb {
        width: w,
        height: h,
        data: crop.into_raw().iter().map(|v| v.clamp(0.0, 1.0)).collect(),
    })
}

fn main() -> ExitCode {
    burstpipe_benches::exit("bench_merge", run())
}

fn run() -> Result<(), String> {
    let args = Args::parse();
    let (w, h) = args.size;
    if w < 64 || h < 64 || w % 2 != 0 || h % 2 != 0 {
        return Err(format!(
            "--size {w}x{h}: expected even WxH >= 64, e.g. 2304x1728"
        ));
    }
    if args.runs == 0 || args.frames < 2 {
        return Err("--runs must be >= 1 and --frames >= 2".into());
    }
    let out = &args.out;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let n = args.frames;

    eprintln!(
        "making a {n}-frame {w}×{h} burst (medium noise) from {} ...",
        args.photo.display()
    );
    let img = photo(&args.photo, w, h)?;
    let motions = random_motions(n, 8.0, 0.002, 7);
    let b = synth_burst(&img, &motions, NOISE_MEDIUM, None, 3);
    for (k, f) in b.frames.iter().enumerate() {
        let p = out.join(format!("frame{k:02}.png"));
        save_mosaic_png(&p, w, h, f.mosaic()).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let truth16: Vec<u16> = b
        .truth
        .data
        .iter()
        .map(|&v| (v * 65535.0).round() as u16)
        .collect();
    let tp = out.join("truth.png");
    image::ImageBuffer::<image::Rgb<u16>, _>::from_raw(w, h, truth16)
        .expect("truth matches its size")
        .save(&tp)
        .map_err(|e| format!("{}: {e}", tp.display()))?;
    let motions_json: Vec<String> = motions
        .iter()
        .map(|m| format!("[{:.4}, {:.4}, {:.6}]", m.dx, m.dy, m.angle))
        .collect();
    let meta = format!(
        "{{\"width\": {w}, \"height\": {h}, \"frames\": {n}, \"cfa\": \"rggb\", \"black\": {BLACK}, \
         \"white\": {WHITE}, \"reference\": 0, \"noise\": \"{}\", \"border\": {BORDER}, \
         \"motions_dx_dy_angle\": [{}], \"source\": \"{}\"}}\n",
        NOISE_MEDIUM.name,
        motions_json.join(", "),
        args.photo.display()
    );
    let mp_path = out.join("burst.json");
    std::fs::write(&mp_path, meta).map_err(|e| format!("{}: {e}", mp_path.display()))?;

    let engine = Engine::new(&EngineOptions::default()).map_err(|e| e.to_string())?;
    let info = engine.adapter().clone();
    let mp = w as f64 * h as f64 / 1e6;
    println!(
        "adapter: {} ({}, {}, driver {}); max storage binding {} MiB",
        info.name,
        info.backend,
        info.device_type,
        info.driver,
        info.max_storage_binding >> 20
    );
    println!(
        "burst: {n} frames of {w}×{h} = {mp:.2} MP, RGGB 12-bit, medium noise, reference 0; \
         {} warm-up + median of {} runs, wall clock per call",
        args.warmup, args.runs
    );

    let burst = Burst::new(b.frames.clone()).map_err(|e| e.to_string())?;
    // Develop at 0 EV, so the output is comparable with the clean photo (as in tests/burst.rs).
    // 0 EV and the plain curve: the photo is then comparable with the clean truth (the default
    // fusion tone mapping changes tones on purpose).
    let develop = Options {
        exposure_ev: Some(0.0),
        tone: Tone::Curve,
        ..Options::default()
    };
    let mopts = |method| MergeOptions {
        reference: Some(0),
        method,
        develop: develop.clone(),
        ..MergeOptions::default()
    };
    let fields = engine.align(&burst, 0).map_err(|e| e.to_string())?;
    let tiles = (fields[0].tiles_x * fields[0].tiles_y) as f64;
    let px = w as f64 * h as f64;
    let nf = n as f64;

    // Host↔device bytes per sensor pixel of the burst's frame size, counted from the schedule
    // (engine/src/schedule/{merge,develop}.rs), not measured: frames go up as u16 (2 B/px; align
    // uploads the reference twice), align reads back 8 B per tile per frame, merge_raw reads back
    // the merged f32 mosaic (4 B/px). Merge + develop keeps the merged mosaic on the GPU and
    // develops it there (until this change: 4 B/px down, then 2 B/px up again), reading back only
    // the 16-bit RGB (6 B/px); with the raw for a DNG as well, 4 + 6 B/px come back.
    // Device-resident merge accumulator: Wiener 16 B/px (4 planes × 256 f32 per half-overlapped
    // 16×16 tile), spatial 8 B/px.
    let align_d2h = nf * tiles * 8.0 / px;
    struct Row<'a> {
        name: &'a str,
        call: Box<dyn Fn() -> Result<Option<Vec<u16>>, String> + 'a>,
        frames: f64,
        h2d: f64,
        d2h: f64,
        acc: f64,
    }
    let e = &engine;
    let bu = &burst;
    let m = &mopts;
    let f0 = &b.frames[0];
    let dv = &develop;
    let err = |e: burstpipe::Error| e.to_string();
    let rows: Vec<Row> = vec![
        Row {
            name: "burstpipe align (8 motion fields)",
            call: Box::new(move || e.align(bu, 0).map(|_| None).map_err(err)),
            frames: nf,
            h2d: 2.0 * (nf + 1.0),
            d2h: align_d2h,
            acc: 0.0,
        },
        Row {
            name: "burstpipe align+merge wiener (raw out)",
            call: Box::new(move || {
                e.merge_raw(bu, &m(MergeMethod::Wiener))
                    .map(|_| None)
                    .map_err(err)
            }),
            frames: nf,
            h2d: 2.0 * nf,
            d2h: 4.0,
            acc: 16.0,
        },
        Row {
            name: "burstpipe align+merge spatial (raw out)",
            call: Box::new(move || {
                e.merge_raw(bu, &m(MergeMethod::Spatial))
                    .map(|_| None)
                    .map_err(err)
            }),
            frames: nf,
            h2d: 2.0 * nf,
            d2h: 4.0,
            acc: 8.0,
        },
        Row {
            name: "burstpipe merge wiener + develop",
            call: Box::new(move || {
                e.merge(bu, &m(MergeMethod::Wiener))
                    .map(|i| Some(i.data))
                    .map_err(err)
            }),
            frames: nf,
            h2d: 2.0 * nf,
            d2h: 6.0,
            acc: 16.0,
        },
        Row {
            name: "burstpipe merge wiener + develop + raw",
            call: Box::new(move || {
                e.merge_and_raw_with_progress(bu, &m(MergeMethod::Wiener), &mut |_, _, _| {
                    std::ops::ControlFlow::Continue(())
                })
                .map(|(i, _)| Some(i.data))
                .map_err(err)
            }),
            frames: nf,
            h2d: 2.0 * nf,
            d2h: 10.0,
            acc: 16.0,
        },
        Row {
            name: "burstpipe merge spatial + develop",
            call: Box::new(move || {
                e.merge(bu, &m(MergeMethod::Spatial))
                    .map(|i| Some(i.data))
                    .map_err(err)
            }),
            frames: nf,
            h2d: 2.0 * nf,
            d2h: 6.0,
            acc: 8.0,
        },
        Row {
            name: "burstpipe develop frame 0 only (no merge)",
            call: Box::new(move || e.develop(f0, dv).map(|i| Some(i.data)).map_err(err)),
            frames: 1.0,
            h2d: 2.0,
            d2h: 6.0,
            acc: 0.0,
        },
    ];

    println!();
    println!(
        "{:<44} {:>9} {:>9} {:>12} {:>8} {:>8} {:>8} {:>8}",
        "method", "ms", "min ms", "ms/MP/frame", "PSNR dB", "H2D B/px", "D2H B/px", "acc B/px"
    );
    let mut lines = String::new();
    for r in &rows {
        let first = (r.call)().map_err(|e| format!("{}: {e}", r.name))?;
        let psnr = first.map(|d| cpsnr(&b.truth, &d, 65535.0, BORDER));
        let t = time(args.warmup.saturating_sub(1), args.runs, || {
            (r.call)().expect("succeeded once")
        });
        let (med, min) = (t.median(), t.min());
        let per = med / (mp * r.frames);
        println!(
            "{:<44} {:>9.1} {:>9.1} {:>12.2} {:>8} {:>8.2} {:>8.2} {:>8.0}",
            r.name,
            med,
            min,
            per,
            psnr.map_or("-".into(), |p| format!("{p:.2}")),
            r.h2d,
            r.d2h,
            r.acc
        );
        let row = json!({
            "who": "burstpipe", "method": r.name, "ms": med, "ms_min": min,
            "ms_per_mp_frame": per, "mp": mp, "frames": r.frames, "runs": args.runs,
            "psnr_db": psnr, "h2d_bpp": r.h2d, "d2h_bpp": r.d2h, "acc_bpp": r.acc,
            "adapter": format!("{} ({})", info.name, info.backend),
        });
        let _ = writeln!(lines, "{row}");
    }
    burstpipe_benches::emit_rows(&lines, args.json.as_deref())
}
