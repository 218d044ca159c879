//! Demosaic and develop throughput of burstpipe on the adapter it finds, in ms per megapixel.
//!
//! Makes a 12 MP (4032×3024) RGGB mosaic from a Kodak photo (upscaled, linearised, sampled through
//! the CFA), writes it as a 16-bit PNG (plus the linear RGB truth and a metadata file) for
//! `peers.py`, then times `Engine::demosaic` and `Engine::develop`: warm-up runs, then the median
//! of N. Times are wall clock around the public calls, so they include the upload of the u16
//! mosaic, every kernel, and the download and unpacking of the result.
//!
//! ```text
//! bench_develop --out DIR [--runs 7] [--warmup 2] [--photo assets/kodak/kodim23.png]
//!               [--size 4032x3024] [--raw FILE] [--json FILE]
//! ```

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use serde_json::json;

use burstpipe::{Binning, Cfa, Demosaic, Engine, EngineOptions, Frame, Image, Options, XTrans};
use burstpipe_benches::{
    linear_photo, mosaic_rggb, parse_size, psnr16, save_mosaic_png, time, Timing,
};

/// Develop speed (and demosaic quality) of every method, in one run; `bash benches/run.sh` adds
/// the peers.
#[derive(Parser)]
struct Args {
    /// Folder for the mosaic, its DNG and the truth.
    #[arg(long)]
    out: PathBuf,
    /// Timed runs per method (the median is reported).
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// Untimed runs first.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// The photo the mosaic is sampled from.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/kodak/kodim23.png"))]
    photo: PathBuf,
    /// Mosaic size.
    #[arg(long, default_value = "4032x3024", value_parser = parse_size)]
    size: (u32, u32),
    /// A raw file to time instead of the sampled mosaic.
    #[arg(long)]
    raw: Option<PathBuf>,
    /// Also write the rows as JSON lines here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    burstpipe_benches::exit("bench_develop", run())
}

fn run() -> Result<(), String> {
    let args = Args::parse();
    if args.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;

    // The input: a real raw file when given (once raw decoding supports it), else a mosaic sampled
    // from a photo whose full-colour truth is known (so the demosaicers' PSNR can be reported too).
    let (frame, truth) = match &args.raw {
        Some(path) => (Frame::open(path).map_err(|e| e.to_string())?, None),
        None => {
            let (w, h) = args.size;
            eprintln!(
                "making a {w}×{h} RGGB mosaic from {} ...",
                args.photo.display()
            );
            let rgb = linear_photo(&args.photo, w, h)
                .map_err(|e| format!("{}: {e}", args.photo.display()))?;
            let mosaic = mosaic_rggb(&rgb);
            let frame = Frame::from_mosaic(w, h, mosaic, Cfa::Rggb, 0.0, 65535.0)
                .map_err(|e| e.to_string())?;
            let truth_path = args.out.join("truth.png");
            rgb.save(&truth_path)
                .map_err(|e| format!("{}: {e}", truth_path.display()))?;
            (frame, Some(rgb.into_raw()))
        }
    };
    let (w, h) = (frame.width(), frame.height());
    let (black, white) = frame.levels();
    let mosaic_path = args.out.join("mosaic.png");
    save_mosaic_png(&mosaic_path, w, h, frame.mosaic())
        .map_err(|e| format!("{}: {e}", mosaic_path.display()))?;
    let source = args.raw.as_ref().unwrap_or(&args.photo);
    let meta = json!({
        "width": w, "height": h, "cfa": frame.cfa().name(), "black": black, "white": white,
        "source": source.display().to_string(),
    })
    .to_string()
        + "\n";
    let meta_path = args.out.join("mosaic.json");
    std::fs::write(&meta_path, meta).map_err(|e| format!("{}: {e}", meta_path.display()))?;

    let engine = Engine::new(&EngineOptions::default()).map_err(|e| e.to_string())?;
    let info = engine.adapter().clone();
    let mp = w as f64 * h as f64 / 1e6;
    let bands = (w as u64 * h as u64 * 8).div_ceil(info.max_storage_binding.max(1));
    println!(
        "adapter: {} ({}, {}, driver {}); max storage binding {} MiB -> about {} band(s) at {}x{}",
        info.name,
        info.backend,
        info.device_type,
        info.driver,
        info.max_storage_binding >> 20,
        bands,
        w,
        h
    );
    println!(
        "CPU threads available: {}; LP_NUM_THREADS={}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::var("LP_NUM_THREADS")
            .unwrap_or_else(|_| "(unset: lavapipe uses all cores)".into())
    );
    println!(
        "input: {w}×{h} = {mp:.2} MP, CFA {}, {} warm-up + median of {} runs; \
         wall clock per call incl. u16 upload, kernels, download and unpack",
        frame.cfa().name(),
        args.warmup,
        args.runs
    );

    // The same scene through an X-Trans sensor (Fujifilm's 6×6 layout): the raw itself when it is
    // X-Trans, else the photo sampled through the layout.
    let xframe = match (frame.xtrans(), &truth) {
        (Some(_), _) => Some(frame.clone()),
        (None, Some(t)) => {
            let layout = XTrans::FUJIFILM;
            let m = (0..(w * h) as usize)
                .map(|i| t[i * 3 + layout.color_at(i % w as usize, i / w as usize)])
                .collect();
            let f = Frame::from_mosaic(w, h, m, Cfa::Rggb, 0.0, 65535.0)
                .map_err(|e| e.to_string())?
                .with_xtrans(layout);
            Some(f)
        }
        (None, None) => None,
    };

    type Call<'a> = Box<dyn Fn() -> burstpipe::Result<Image> + 'a>;
    let e = &engine;
    let f = &frame;
    // The same mosaic read as a Quad Bayer sensor's (timing does not depend on the content): the
    // remosaic's cost, and the default block binning's.
    // (Bayer raws only: an X-Trans raw has no Quad Bayer reading.)
    let quad = match frame.xtrans() {
        None => Some(
            frame
                .clone()
                .with_cfa_block(2)
                .map_err(|e| format!("quad bench frame: {e}"))?,
        ),
        Some(_) => None,
    };
    let develop_with = |binning: Binning, remosaic: bool| Options {
        binning,
        remosaic,
        ..Options::default()
    };
    let mut calls: Vec<(&str, Call)> = vec![
        (
            "burstpipe demosaic RCD (16-bit out)",
            Box::new(move || e.demosaic(f, Demosaic::Rcd, 16)),
        ),
        (
            "burstpipe demosaic bilinear (16-bit out)",
            Box::new(move || e.demosaic(f, Demosaic::Bilinear, 16)),
        ),
        (
            "burstpipe demosaic bilinear (8-bit out)",
            Box::new(move || e.demosaic(f, Demosaic::Bilinear, 8)),
        ),
        (
            "burstpipe demosaic MHC (16-bit out)",
            Box::new(move || e.demosaic(f, Demosaic::Mhc, 16)),
        ),
        (
            // The defaults: RCD, auto exposure, fusion tone mapping.
            "burstpipe develop RCD, auto exposure (16-bit out)",
            Box::new(move || e.develop(f, &Options::default())),
        ),
        (
            "burstpipe develop --bin 2 (RCD at 1/4 the pixels)",
            Box::new(move || e.develop(f, &develop_with(Binning::Bayer2, false))),
        ),
        (
            "burstpipe develop --bin 3 (RCD at 1/9 the pixels)",
            Box::new(move || e.develop(f, &develop_with(Binning::Bayer3, false))),
        ),
        (
            "burstpipe develop --bin superpixel (RGB per quad)",
            Box::new(move || e.develop(f, &develop_with(Binning::Superpixel, false))),
        ),
        (
            "burstpipe develop bilinear, auto exposure (8-bit out)",
            Box::new(move || {
                e.develop(
                    f,
                    &Options {
                        demosaic: Demosaic::Bilinear,
                        bits: 8,
                        ..Options::default()
                    },
                )
            }),
        ),
    ];
    if let Some(q) = &quad {
        calls.push((
            "burstpipe develop Quad Bayer, binned (default)",
            Box::new(move || e.develop(q, &develop_with(Binning::Off, false))),
        ));
        calls.push((
            "burstpipe develop Quad Bayer --remosaic (+ RCD)",
            Box::new(move || e.develop(q, &develop_with(Binning::Off, true))),
        ));
    }
    if let Some(x) = &xframe {
        calls.push((
            "burstpipe demosaic X-Trans bilinear (16-bit out)",
            Box::new(move || e.demosaic(x, Demosaic::XtransBilinear, 16)),
        ));
        calls.push((
            "burstpipe demosaic X-Trans Markesteijn (16-bit out)",
            Box::new(move || e.demosaic(x, Demosaic::Markesteijn, 16)),
        ));
    }
    if frame.xtrans().is_some() {
        // Bayer methods on an X-Trans raw map to the X-Trans ones: time only those.
        calls.retain(|(name, _)| name.contains("X-Trans") || name.contains("develop"));
    }

    let mut lines = String::new();
    println!();
    println!(
        "{:<54} {:>9} {:>9} {:>8} {:>9}",
        "method", "ms", "min ms", "ms/MP", "PSNR dB"
    );
    for (name, call) in &calls {
        let first = call().map_err(|e| format!("{name}: {e}"))?;
        // Quality against the truth, for demosaic-only outputs on the 16-bit linear scale.
        let psnr = match (
            &truth,
            name.starts_with("burstpipe demosaic") && first.bits == 16,
        ) {
            (Some(t), true) => Some(psnr16(&first.data, t, w, h, 8)),
            _ => None,
        };
        drop(first);
        let t: Timing = time(args.warmup.saturating_sub(1), args.runs, || {
            call().expect("succeeded once")
        });
        let (med, min) = (t.median(), t.min());
        println!(
            "{:<54} {:>9.1} {:>9.1} {:>8.2} {:>9}",
            name,
            med,
            min,
            med / mp,
            psnr.map_or("-".into(), |p| format!("{p:.2}"))
        );
        let row = json!({
            "who": "burstpipe", "method": name, "ms": med, "ms_min": min, "ms_per_mp": med / mp,
            "mp": mp, "runs": args.runs, "psnr_db": psnr, "threads": null,
            "adapter": format!("{} ({})", info.name, info.backend),
            "timing": "wall clock incl. upload, kernels, download, unpack",
        });
        let _ = writeln!(lines, "{row}");
    }

    burstpipe_benches::emit_rows(&lines, args.json.as_deref())
}
