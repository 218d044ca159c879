//! Batch throughput: the same N bursts processed strictly one after another (decode → GPU →
//! encode, one burst at a time) and by the overlapped scheduler (decode threads ahead of the GPU,
//! two bursts in flight per device, encode threads behind it), in one run, with the library's
//! `run_batch` both ways. Prints bursts/s of each, the ratio, and a GPU utilisation estimate.
//!
//! The bursts come from the tests' generator (`burstpipe_tests::synth`): a Kodak photo upscaled
//! to `--size`, `--frames` frames moved by known sub-pixel motions, 12-bit RGGB, medium noise,
//! written as DNG files (so decoding is real work) under `--out`/in/burstK/. Each burst is merged
//! (Wiener), developed (MHC, auto exposure, fusion tone mapping) and written as `--format`, as
//! `burstpipe batch` does by default.
//!
//! GPU utilisation is the devices' own time, from `Engine::profile` around each run (GPU
//! timestamp queries where the adapter has them, else the wall clock of each submission), over
//! the wall time; next to it, the wall-clock estimate of the scheduler itself: how long a device
//! had at least one burst inside the engine's calls (uploads, kernels, waits, downloads), an upper
//! bound. On a software adapter (lavapipe) the "GPU" is this CPU's cores, which decoding and
//! encoding share.
//!
//! ```text
//! bench_batch [--out DIR] [--bursts 6] [--frames 4] [--size 1632x1224] [--format jpg]
//!             [--devices all|N,M] [--decode-threads N]
//! ```

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use burstpipe::{
    run_batch, BatchJob, BatchOptions, BatchReport, Engine, EngineOptions, MergeOptions, Options,
    Profile,
};
use burstpipe_benches::parse_size;
use burstpipe_tests::synth::{linear_to_srgb, random_motions, synth_burst, NOISE_MEDIUM};
use burstpipe_tests::{assets, Rgb};

/// Batch throughput, sequential vs overlapped, in one run.
#[derive(Parser)]
struct Args {
    /// Folder for the bursts and the outputs.
    #[arg(long, default_value_os_t = std::env::temp_dir().join("burstpipe-bench-batch"))]
    out: PathBuf,
    /// Bursts in the batch.
    #[arg(long, default_value_t = 6)]
    bursts: usize,
    /// Frames per burst.
    #[arg(long, default_value_t = 4)]
    frames: usize,
    /// Frame size.
    #[arg(long, default_value = "1632x1224", value_parser = parse_size)]
    size: (u32, u32),
    /// Output format: jpg, png or tif.
    #[arg(long, default_value = "jpg")]
    format: String,
    /// GPUs: all, or indices N,M from `burstpipe devices`.
    #[arg(long)]
    devices: Option<String>,
    /// CPU threads decoding ahead of the GPUs.
    #[arg(long)]
    decode_threads: Option<usize>,
}

fn engines(devices: Option<&str>) -> Result<Vec<Engine>, String> {
    let e = |r: burstpipe::Result<Engine>| r.map_err(|e| e.to_string());
    match devices {
        None => Ok(vec![e(Engine::new(&EngineOptions::default()))?]),
        Some("all") => Engine::open_all(burstpipe::Backend::Auto).map_err(|e| e.to_string()),
        Some(list) => list
            .split(',')
            .map(|i| {
                let i = i.trim().parse().map_err(|_| format!("--devices {list}"))?;
                e(Engine::new(&EngineOptions {
                    adapter: Some(i),
                    ..EngineOptions::default()
                }))
            })
            .collect(),
    }
}

/// The bursts as DNG folders; the jobs write `out/<mode>/burstK.<format>`.
fn make_bursts(a: &Args) -> Result<Vec<Vec<PathBuf>>, String> {
    let (w, h) = a.size;
    let lin = burstpipe_benches::linear_photo(&assets().join("kodak/kodim23.png"), w, h)
        .map_err(|e| e.to_string())?;
    let img = Rgb {
        width: w,
        height: h,
        data: lin
            .into_raw()
            .iter()
            .map(|&v| linear_to_srgb(v as f32 / 65535.0))
            .collect(),
    };
    (0..a.bursts)
        .map(|k| {
            let dir = a.out.join("in").join(format!("burst{k}"));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let motions = random_motions(a.frames, 8.0, 0.002, k as u64);
            Ok(synth_burst(&img, &motions, NOISE_MEDIUM, None, k as u64).write_dngs(&dir))
        })
        .collect()
}

fn jobs(a: &Args, bursts: &[Vec<PathBuf>], mode: &str) -> Result<Vec<BatchJob>, String> {
    let dir = a.out.join(mode);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(bursts
        .iter()
        .enumerate()
        .map(|(k, inputs)| BatchJob {
            inputs: inputs.clone(),
            output: dir.join(format!("burst{k}.{}", a.format)),
        })
        .collect())
}

/// Runs `work` inside a profile of every engine (profiles of different engines nest; each
/// counts the stages run on its engine, from any thread).
fn profiled<T>(
    engines: &[Engine],
    work: &mut dyn FnMut() -> burstpipe::Result<T>,
) -> burstpipe::Result<(T, Vec<Profile>)> {
    match engines.split_first() {
        None => Ok((work()?, Vec::new())),
        Some((first, rest)) => {
            let ((t, mut profiles), p) = first.profile(|_| profiled(rest, work))?;
            profiles.insert(0, p);
            Ok((t, profiles))
        }
    }
}

fn run_mode(
    engines: &[Engine],
    jobs: &[BatchJob],
    options: &BatchOptions,
) -> Result<(BatchReport, Vec<Profile>), String> {
    let (report, profiles) = profiled(engines, &mut || {
        run_batch(engines, jobs, options, &mut |_| ControlFlow::Continue(()))
    })
    .map_err(|e| e.to_string())?;
    for (j, r) in jobs.iter().zip(&report.results) {
        r.as_ref()
            .map_err(|e| format!("{}: {e}", j.output.display()))?;
    }
    Ok((report, profiles))
}

fn main() -> ExitCode {
    burstpipe_benches::exit("bench_batch", run())
}

fn run() -> Result<(), String> {
    let mut a = Args::parse();
    a.bursts = a.bursts.max(1);
    a.frames = a.frames.max(1);
    a.decode_threads = a.decode_threads.map(|n| n.max(1));
    let (w, h) = a.size;
    eprintln!(
        "making {} bursts of {} frames, {w}×{h} ({:.2} MP), as DNG under {} ...",
        a.bursts,
        a.frames,
        (w * h) as f64 / 1e6,
        a.out.display()
    );
    let t = Instant::now();
    let bursts = make_bursts(&a)?;
    eprintln!("  made in {:.1} s", t.elapsed().as_secs_f64());
    let engines = engines(a.devices.as_deref())?;
    let mut options = BatchOptions {
        merge: MergeOptions {
            develop: Options {
                demosaic: burstpipe::Demosaic::Mhc,
                ..Options::default()
            },
            ..MergeOptions::default()
        },
        ..BatchOptions::default()
    };
    if let Some(n) = a.decode_threads {
        options.decode_threads = n;
    }

    // Warm-up: kernels compiled on every device before anything is timed.
    for e in &engines {
        let warm = jobs(&a, &bursts[..1], "warmup")?;
        let seq = BatchOptions {
            overlap: false,
            ..options.clone()
        };
        run_mode(std::slice::from_ref(e), &warm, &seq)?;
    }

    let seq_jobs = jobs(&a, &bursts, "sequential")?;
    let seq = run_mode(
        &engines,
        &seq_jobs,
        &BatchOptions {
            overlap: false,
            ..options.clone()
        },
    )?;
    let par_jobs = jobs(&a, &bursts, "overlapped")?;
    let par = run_mode(&engines, &par_jobs, &options)?;
    let same = seq_jobs
        .iter()
        .zip(&par_jobs)
        .all(|(s, p)| std::fs::read(&s.output).ok() == std::fs::read(&p.output).ok());

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{} bursts × {} frames × {w}×{h} ({:.2} MP), wiener merge + MHC develop + fusion tone, {} out",
        a.bursts,
        a.frames,
        (w * h) as f64 / 1e6,
        a.format
    );
    for (i, e) in engines.iter().enumerate() {
        println!("device {i}: {} ({})", e.adapter().name, e.adapter().backend);
    }
    println!(
        "{cores} CPU cores, load average {}; {} decode threads, {} encode threads, {} bursts in flight per device at most",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        options.decode_threads,
        options.encode_threads,
        options.jobs_per_device
    );
    println!(
        "{:<12} {:>8} {:>9} {:>9} {:>11} {:>9} {:>10} {:>10} {:>9}",
        "schedule",
        "wall s",
        "bursts/s",
        "decode s",
        "in GPU s",
        "encode s",
        "GPU time s",
        "GPU util",
        "(wall)"
    );
    let devices = engines.len() as f64;
    for (name, (r, profiles)) in [("sequential", &seq), ("overlapped", &par)] {
        let s = &r.stats;
        let wall = s.wall.as_secs_f64();
        let busy: f64 = s.gpu_busy.iter().map(|d| d.as_secs_f64()).sum();
        let gpu: f64 = profiles.iter().map(|p| p.gpu_ms()).sum::<f64>() / 1e3;
        println!(
            "{:<12} {:>8.2} {:>9.3} {:>9.2} {:>11.2} {:>9.2} {:>10.2} {:>9.0}% {:>8.0}%",
            name,
            wall,
            a.bursts as f64 / wall,
            s.decode.as_secs_f64(),
            busy,
            s.encode.as_secs_f64(),
            gpu,
            100.0 * gpu / (wall * devices),
            100.0 * busy / (wall * devices)
        );
    }
    let sources: Vec<&str> = par.1.iter().map(|p| p.source().name()).collect();
    println!(
        "GPU time: the devices' own time from Engine::profile ({}); GPU util = GPU time / wall; \
         (wall) = time with a burst inside the engine's calls / wall",
        sources.join(", ")
    );
    let (seq, par) = (seq.0, par.0);
    // What overlap can gain at best: the sequential run's stages, each spread over its threads
    // (GPU over the devices), the slowest of them setting the pace.
    let st = &seq.stats;
    let gpu: f64 = st.gpu_busy.iter().map(|d| d.as_secs_f64()).sum::<f64>() / engines.len() as f64;
    let pace = gpu
        .max(st.decode.as_secs_f64() / options.decode_threads as f64)
        .max(st.encode.as_secs_f64() / options.encode_threads as f64);
    println!(
        "best overlap can do with these stage times: {:.2}× (the slowest stage sets the pace)",
        st.wall.as_secs_f64() / pace
    );
    println!(
        "overlapped / sequential throughput: {:.2}×; outputs byte-identical: {}",
        seq.stats.wall.as_secs_f64() / par.stats.wall.as_secs_f64(),
        if same { "yes" } else { "NO" }
    );
    if !same {
        return Err("the overlapped batch wrote different files from the sequential one".into());
    }
    Ok(())
}
