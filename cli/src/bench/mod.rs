//! `burstpipe bench`: the standard workload (develop one raw frame, merge an 8-frame burst, fuse
//! a 3-exposure bracket) at given sizes on every adapter, timed per stage by the engine's profile
//! (GPU timestamps where the adapter has them), as a table, JSON and an SVG chart.

mod chart;
mod workload;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burstpipe::{
    AdapterInfo, Backend, Burst, Engine, EngineOptions, Frame, FuseOptions, Image, MergeOptions,
    Options, Profile, TimingSource,
};
use serde_json::{json, Value};

/// What `burstpipe bench` was asked to do.
pub struct Args {
    pub backend: Backend,
    pub adapter: Option<usize>,
    pub sizes: Vec<f64>,
    pub runs: usize,
    pub quick: bool,
    pub json: bool,
    pub out: PathBuf,
}

/// The three workloads.
const STAGES: [&str; 3] = ["develop", "merge", "fuse"];

/// One workload on one adapter at one size.
struct Outcome {
    stage: &'static str,
    size: (u32, u32),
    /// Input frames (1, the burst's or the bracket's).
    frames: usize,
    /// The run of median wall time, and every run's wall time.
    result: Result<(Profile, Vec<f64>), String>,
}

struct AdapterRun {
    info: AdapterInfo,
    error: Option<String>,
    outcomes: Vec<Outcome>,
}

/// The inputs of every workload at one size.
struct Inputs {
    size: (u32, u32),
    develop: Frame,
    burst: Burst,
    bracket: Vec<Image>,
}

impl Inputs {
    fn make(scene: &workload::Scene, size: (u32, u32)) -> Result<Inputs> {
        let burst = scene.burst(size)?;
        Ok(Inputs {
            size,
            develop: burst.frames()[0].clone(),
            burst,
            bracket: scene.bracket(size),
        })
    }

    fn frames(&self, stage: &str) -> usize {
        match stage {
            "merge" => self.burst.len(),
            "fuse" => self.bracket.len(),
            _ => 1,
        }
    }

    /// One call of a stage's public API.
    fn run(&self, engine: &Engine, stage: &str) -> burstpipe::Result<()> {
        match stage {
            "develop" => engine.develop(&self.develop, &Options::default()).map(drop),
            "merge" => engine
                .merge_raw(&self.burst, &MergeOptions::default())
                .map(drop),
            _ => engine
                .fuse(&self.bracket, &FuseOptions::default())
                .map(drop),
        }
    }
}

/// Warm up (pipelines compile on first use), then `runs` profiled calls; the median by wall time.
fn measure(
    engine: &Engine,
    inputs: &Inputs,
    warmup: Option<&Inputs>,
    stage: &str,
    runs: usize,
) -> Result<(Profile, Vec<f64>), String> {
    warmup
        .unwrap_or(inputs)
        .run(engine, stage)
        .map_err(|e| e.to_string())?;
    let mut profiles = Vec::new();
    for _ in 0..runs.max(1) {
        let ((), p) = engine
            .profile(|e| inputs.run(e, stage))
            .map_err(|e| e.to_string())?;
        profiles.push(p);
    }
    let walls: Vec<f64> = profiles.iter().map(|p| p.wall_ms).collect();
    profiles.sort_by(|a, b| a.wall_ms.total_cmp(&b.wall_ms));
    let median = profiles.swap_remove(profiles.len() / 2);
    Ok((median, walls))
}

pub fn run(args: &Args) -> Result<()> {
    for &mp in &args.sizes {
        if !(mp.is_finite() && mp > 0.0 && mp <= 200.0) {
            bail!("--sizes {mp}: use sizes in megapixels between 0 and 200, e.g. --sizes 12,48");
        }
    }
    let list = Engine::adapters(args.backend);
    let indices: Vec<usize> = match args.adapter {
        Some(i) => vec![i],
        None if list.is_empty() => {
            return Err(burstpipe::Error::NoAdapter {
                detail: format!(" for backend {:?}", args.backend),
            }
            .into())
        }
        None => (0..list.len()).collect(),
    };
    let mut adapters: Vec<(Option<Engine>, AdapterRun)> = Vec::new();
    for i in indices {
        let opened = Engine::new(&EngineOptions {
            backend: args.backend,
            adapter: Some(i),
        });
        match opened {
            Ok(engine) => {
                let info = engine.adapter().clone();
                adapters.push((Some(engine), AdapterRun::new(info, None)));
            }
            // A bad --adapter is the user's mistake: say so and stop.
            Err(e) if args.adapter.is_some() => return Err(e.into()),
            Err(e) => {
                let info = list[i].clone();
                adapters.push((None, AdapterRun::new(info, Some(e.to_string()))));
            }
        }
    }

    let scene = workload::Scene::load()?;
    // Quick runs warm up on a small workload instead of a full-size run.
    let small = if args.quick {
        Some(Inputs::make(&scene, workload::dims(0.05))?)
    } else {
        None
    };
    let runs = if args.quick { 1 } else { args.runs };
    for &mp in &args.sizes {
        let size = workload::dims(mp);
        eprintln!("bench: making the {mp} MP workload ({}×{})", size.0, size.1);
        let inputs = Inputs::make(&scene, size)?;
        for (engine, run) in adapters.iter_mut() {
            let Some(engine) = engine else { continue };
            for stage in STAGES {
                eprintln!(
                    "bench: [{}] {} {stage} at {mp} MP",
                    run.info.index, run.info.name
                );
                let result = measure(engine, &inputs, small.as_ref(), stage, runs);
                run.outcomes.push(Outcome {
                    stage,
                    size: inputs.size,
                    frames: inputs.frames(stage),
                    result,
                });
            }
        }
    }
    let runs: Vec<AdapterRun> = adapters.into_iter().map(|(_, r)| r).collect();

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let chart_path = args.out.join("bench.svg");
    write_atomic(&chart_path, &chart::svg(&chart_rows(&runs)))?;
    let report = to_json(&runs, args, runs_of(args), &chart_path);
    write_atomic(
        &args.out.join("bench.json"),
        &serde_json::to_string_pretty(&report)?,
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&runs));
        println!("chart: {}", chart_path.display());
    }
    let ok = runs
        .iter()
        .flat_map(|r| &r.outcomes)
        .any(|o| o.result.is_ok());
    if !ok {
        bail!("no workload ran on any adapter (see the errors above)");
    }
    Ok(())
}

fn runs_of(args: &Args) -> usize {
    if args.quick {
        1
    } else {
        args.runs.max(1)
    }
}

impl AdapterRun {
    fn new(info: AdapterInfo, error: Option<String>) -> AdapterRun {
        AdapterRun {
            info,
            error,
            outcomes: Vec::new(),
        }
    }
}

/// Write a file through a temporary one in the same folder, so a reader never sees half of it.
fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Derived figures of one successful outcome.
struct Figures {
    mp: f64,
    gpu_ms: f64,
    wall_ms: f64,
    ms_per_mp: f64,
    bytes_per_px: f64,
    host_bytes_per_px: f64,
    fps: f64,
    timing: &'static str,
}

fn figures(o: &Outcome, p: &Profile) -> Figures {
    let px = o.size.0 as f64 * o.size.1 as f64;
    let gpu_ms = p.gpu_ms();
    Figures {
        mp: px / 1e6,
        gpu_ms,
        wall_ms: p.wall_ms,
        ms_per_mp: gpu_ms / (px / 1e6),
        bytes_per_px: p.bytes() as f64 / px,
        host_bytes_per_px: p.host_bytes() as f64 / px,
        fps: 1e3 / p.wall_ms,
        timing: match p.source() {
            TimingSource::GpuTimestamps => "timestamp",
            TimingSource::WallClock => "wall",
        },
    }
}

fn to_json(runs: &[AdapterRun], args: &Args, n: usize, chart: &Path) -> Value {
    let adapters: Vec<Value> = runs
        .iter()
        .map(|r| {
            let results: Vec<Value> = r
                .outcomes
                .iter()
                .map(|o| {
                    let base = json!({
                        "stage": o.stage,
                        "width": o.size.0,
                        "height": o.size.1,
                        "frames": o.frames,
                    });
                    let mut v = base;
                    match &o.result {
                        Err(e) => v["error"] = json!(e),
                        Ok((p, walls)) => {
                            let f = figures(o, p);
                            let steps: Vec<Value> = p
                                .by_name()
                                .iter()
                                .map(|s| {
                                    json!({
                                        "name": s.name,
                                        "gpu_ms": s.gpu_ms,
                                        "bytes": s.bytes,
                                        "host_bytes": s.host_bytes,
                                        "timing": s.source.name(),
                                        "submissions": p.stages.iter().filter(|t| t.name == s.name).count(),
                                    })
                                })
                                .collect();
                            for (k, val) in [
                                ("size_mp", json!(f.mp)),
                                ("gpu_ms", json!(f.gpu_ms)),
                                ("wall_ms", json!(f.wall_ms)),
                                ("wall_ms_runs", json!(walls)),
                                ("timing", json!(p.source().name())),
                                ("ms_per_mp", json!(f.ms_per_mp)),
                                ("bytes_per_px", json!(f.bytes_per_px)),
                                ("host_bytes_per_px", json!(f.host_bytes_per_px)),
                                ("fps", json!(f.fps)),
                                ("steps", json!(steps)),
                                ("error", Value::Null),
                            ] {
                                v[k] = val;
                            }
                        }
                    }
                    v
                })
                .collect();
            let i = &r.info;
            json!({
                "index": i.index,
                "name": i.name,
                "backend": i.backend,
                "device_type": i.device_type,
                "driver": i.driver,
                "timestamp_queries": i.timestamp_queries,
                "max_buffer_size": i.max_buffer_size,
                "max_storage_binding": i.max_storage_binding,
                "error": r.error,
                "results": results,
            })
        })
        .collect();
    json!({
        "burstpipe": env!("CARGO_PKG_VERSION"),
        "workload": {
            "source": workload::SOURCE,
            "sizes_mp": args.sizes,
            "burst_frames": workload::BURST_FRAMES,
            "bracket_ev": workload::BRACKET_EV,
            "runs": n,
            "quick": args.quick,
            "develop": "Engine::develop, default options (RCD, auto exposure, fusion tone), 16-bit out",
            "merge": "Engine::merge_raw, default options (Wiener, automatic reference)",
            "fuse": "Engine::fuse, Mertens weights 1/1/1, 16-bit out",
        },
        "host": {
            "os": std::env::consts::OS,
            "arch": std::env::consts::ARCH,
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        },
        "chart": chart.display().to_string(),
        "adapters": adapters,
    })
}

/// The table for people: per adapter, one row per workload and size, its stages under it.
fn table(runs: &[AdapterRun]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for r in runs {
        let i = &r.info;
        let driver = if i.driver.is_empty() { "-" } else { &i.driver };
        let _ = writeln!(
            s,
            "[{}] {} — {}, {}; driver {driver}; timing: {}",
            i.index,
            i.name,
            i.backend,
            i.device_type,
            if i.timestamp_queries {
                "GPU timestamps"
            } else {
                "wall clock (no timestamp queries)"
            }
        );
        if let Some(e) = &r.error {
            let _ = writeln!(s, "    could not open: {e}\n");
            continue;
        }
        let _ = writeln!(
            s,
            "  {:<8} {:<34} {:>6} {:>10} {:>9} {:>10} {:>8} {:>8} {:>8}",
            "size", "stage", "frames", "GPU ms", "timing", "wall ms", "ms/MP", "B/px", "fps"
        );
        for o in &r.outcomes {
            let size = mp_label(o.size);
            match &o.result {
                Err(e) => {
                    let _ = writeln!(s, "  {size:<8} {:<34} not run: {e}", o.stage);
                }
                Ok((p, _)) => {
                    let f = figures(o, p);
                    let _ = writeln!(
                        s,
                        "  {size:<8} {:<34} {:>6} {:>10.1} {:>9} {:>10.1} {:>8.2} {:>8.1} {:>8.2}",
                        o.stage,
                        o.frames,
                        f.gpu_ms,
                        f.timing,
                        f.wall_ms,
                        f.ms_per_mp,
                        f.bytes_per_px,
                        f.fps
                    );
                    let px = o.size.0 as f64 * o.size.1 as f64;
                    for st in p.by_name() {
                        let timing = match st.source {
                            TimingSource::GpuTimestamps => "timestamp",
                            TimingSource::WallClock => "wall",
                        };
                        let _ = writeln!(
                            s,
                            "  {:<8}   {:<32} {:>6} {:>10.1} {:>9} {:>10} {:>8.2} {:>8.1}",
                            "",
                            st.name,
                            "",
                            st.gpu_ms,
                            timing,
                            "",
                            st.gpu_ms / (px / 1e6),
                            st.bytes as f64 / px
                        );
                    }
                }
            }
        }
        s.push('\n');
    }
    s.push_str(
        "GPU ms: sum of the stages' device times (timestamp) or submission-to-idle times (wall); \
         wall ms: the whole call, CPU work included;\nms/MP: GPU ms per output megapixel; B/px: device \
         bytes read+written per output pixel (bound buffers); fps: outputs per second by wall time.\n",
    );
    s
}

fn chart_rows(runs: &[AdapterRun]) -> Vec<chart::Row> {
    runs.iter()
        .flat_map(|r| {
            r.outcomes.iter().filter_map(move |o| {
                let (p, _) = o.result.as_ref().ok()?;
                Some(chart::Row {
                    label: format!(
                        "[{}] {} {} {}",
                        r.info.index,
                        r.info.backend,
                        mp_label(o.size),
                        o.stage
                    ),
                    adapter: r.info.index,
                    stage: o.stage,
                    steps: p
                        .by_name()
                        .into_iter()
                        .map(|s| (s.name, s.gpu_ms))
                        .collect(),
                })
            })
        })
        .collect()
}

/// "12.0 MP", "0.05 MP".
fn mp_label((w, h): (u32, u32)) -> String {
    let mp = w as f64 * h as f64 / 1e6;
    if mp < 1.0 {
        format!("{mp:.2} MP")
    } else {
        format!("{mp:.1} MP")
    }
}
