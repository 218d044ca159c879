//! Batches of bursts over every device: raw files are decoded on CPU threads ahead of the GPU,
//! decoded bursts are dealt to the device with the least queued work, each device runs up to
//! `jobs_per_device` bursts at once (while one waits on its submission, the next one's frames are
//! uploaded and its kernels recorded), and finished photos are encoded and written on CPU threads
//! while the GPUs go on. A memory budget per device, from its limits, bounds the bursts in flight
//! on it; host memory is bounded by the decode look-ahead.
//!
//! ```text
//! decode threads ──(lookahead)──▶ dealer ──▶ device 0: slot, slot ──▶ encode threads ──▶ files
//!                                        └─▶ device 1: slot, slot ──┘
//! ```

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::{Burst, Engine, Image, MergeOptions};

/// One unit of batch work: raw files in, one photo out.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchJob {
    /// Raw files in capture order: several are aligned and merged as a burst, one is developed.
    pub inputs: Vec<PathBuf>,
    /// The photo to write (.jpg, .png or .tif), through a temporary file and a rename.
    pub output: PathBuf,
}

/// How to run a batch.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// How to merge and develop each burst.
    pub merge: MergeOptions,
    /// Overlap decoding, GPU work and encoding (the default). `false` runs the jobs strictly one
    /// after another, decode → GPU → encode, on the first engine: the reference the overlapped
    /// schedule must match byte for byte.
    pub overlap: bool,
    /// CPU threads decoding raw files ahead of the GPUs.
    pub decode_threads: usize,
    /// CPU threads encoding and writing the photos.
    pub encode_threads: usize,
    /// Decoded bursts waiting for a device, at most (bounds host memory).
    pub lookahead: usize,
    /// Bursts one device works on at once, at most (2: one computes while the next uploads).
    pub jobs_per_device: usize,
    /// GPU memory in bytes that the bursts in flight on one device may take, by the estimate of
    /// [`gpu_bytes_estimate`]; `None`: the device's largest buffer ([`crate::AdapterInfo`]'s
    /// `max_buffer_size`), the one memory figure wgpu reports. A burst larger than the budget
    /// still runs, alone on its device.
    pub memory_budget: Option<u64>,
}

impl Default for BatchOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        BatchOptions {
            merge: MergeOptions::default(),
            overlap: true,
            decode_threads: (cores / 4).clamp(1, 4),
            encode_threads: (cores / 4).clamp(1, 4),
            lookahead: 2,
            jobs_per_device: 2,
            memory_budget: None,
        }
    }
}

/// What the batch tells its caller as it goes (on the caller's thread).
#[derive(Debug)]
pub enum BatchEvent<'a> {
    /// Job `job` (its index in the list) went to the GPU of engine `device`.
    Started {
        /// Index of the job.
        job: usize,
        /// Index of the engine in the list given.
        device: usize,
    },
    /// A step of the job's GPU work finished (the merge's frames, then the develop's bands).
    Progress {
        /// Index of the job.
        job: usize,
        /// Steps done of `total`.
        done: usize,
        /// Steps in all.
        total: usize,
    },
    /// The job's photo is written, or the job failed (`error`): decoding, GPU, encoding, or
    /// [`Error::Cancelled`] after a cancel.
    Finished {
        /// Index of the job.
        job: usize,
        /// Why it failed, if it did.
        error: Option<&'a Error>,
    },
}

/// Where the time went, for throughput and utilisation figures. Times are wall clock: the GPU
/// time of a device is how long it had at least one burst in its engine calls (upload, kernels,
/// waits, download), an upper bound of the device's own busy time.
#[derive(Debug, Clone, Default)]
pub struct BatchStats {
    /// The whole batch.
    pub wall: Duration,
    /// Decoding, summed over threads.
    pub decode: Duration,
    /// Per engine: time with a burst in flight.
    pub gpu_busy: Vec<Duration>,
    /// Encoding and writing, summed over threads.
    pub encode: Duration,
    /// Per engine: the most bursts it had in flight at once.
    pub peak_in_flight: Vec<usize>,
    /// Per engine: bursts it processed.
    pub jobs: Vec<usize>,
}

/// The outcome of every job, in the order given, and the timings.
#[derive(Debug)]
pub struct BatchReport {
    /// `Ok` for each photo written, else why not.
    pub results: Vec<Result<()>>,
    /// Where the time went.
    pub stats: BatchStats,
}

/// GPU bytes a burst holds at its peak, per sensor pixel. The merge holds the reference and one
/// alternate (u16: 4), their grey pyramids (f32 at a quarter of the pixels, ≈ 3), the Wiener
/// accumulator (16) and the merged mosaic (4); it frees them before the develop, whose peak with
/// fusion tone mapping is the larger: linear RGBA f16 (8), two synthetic exposures (16), weights
/// and their sum (12), the Gaussian, weight and fused pyramids (≈ 14), the fused image (8) and
/// the 16-bit output (6).
const GPU_BYTES_PER_PX: u64 = 64;

/// Estimated peak GPU bytes of merging and developing a burst of `width`×`height` frames.
pub fn gpu_bytes_estimate(width: u32, height: u32) -> u64 {
    width as u64 * height as u64 * GPU_BYTES_PER_PX
}

/// Run every job on the engines (at least one): decode, merge (or develop a single frame),
/// save. A failing job is reported and the others go on. `on_event` is called on this thread;
/// return `ControlFlow::Break(())` from it to cancel: bursts on the GPUs stop at their next step,
/// and every job not finished ends with [`Error::Cancelled`].
pub fn run_batch(
    engines: &[Engine],
    jobs: &[BatchJob],
    options: &BatchOptions,
    on_event: &mut dyn FnMut(BatchEvent) -> ControlFlow<()>,
) -> Result<BatchReport> {
    if engines.is_empty() {
        return Err(Error::InvalidInput(
            "a batch needs at least one engine".into(),
        ));
    }
    remove_stale_temporaries(jobs);
    if options.overlap {
        Ok(overlapped(engines, jobs, options, on_event))
    } else {
        Ok(sequential(&engines[0], jobs, options, on_event))
    }
}

/// A batch killed before (SIGKILL, a power cut) leaves the temporary files it was writing; its
/// finished photos are whole (renamed into place only once complete). Rerun, it removes those
/// leftovers from the output folders, and skipping the outputs that exist finishes the rest.
fn remove_stale_temporaries(jobs: &[BatchJob]) {
    let mut dirs: Vec<&std::path::Path> = jobs
        .iter()
        .map(|j| match j.output.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        crate::output::temporaries::remove_stale(dir);
    }
}

fn decode(job: &BatchJob) -> Result<Burst> {
    Burst::open(&job.inputs)
}

fn gpu_work(
    engine: &Revivable,
    burst: &Burst,
    options: &MergeOptions,
    progress: &mut crate::Progress,
) -> Result<Image> {
    engine.run(|engine| engine.merge_with_progress(burst, options, progress))
}

/// A device's engine that comes back after a device loss: the burst that was running fails with
/// [`Error::DeviceLost`], and the adapter is opened again for the bursts after it.
struct Revivable<'a> {
    given: &'a Engine,
    reopened: Mutex<Option<Arc<Engine>>>,
}

impl<'a> Revivable<'a> {
    fn new(given: &'a Engine) -> Self {
        Revivable {
            given,
            reopened: Mutex::new(None),
        }
    }

    fn run<T>(&self, work: impl FnOnce(&Engine) -> Result<T>) -> Result<T> {
        let lock = || self.reopened.lock().unwrap_or_else(|p| p.into_inner());
        let used = lock().clone();
        let engine = used.as_deref().unwrap_or(self.given);
        let out = work(engine);
        if matches!(out, Err(Error::DeviceLost(_))) && engine.is_lost() {
            let mut slot = lock();
            // Another burst on this device may have opened it again already.
            let current = match (&*slot, &used) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (a, b) => a.is_none() && b.is_none(),
            };
            if current {
                // If it does not open, the next bursts fail with the loss too.
                if let Ok(e) = engine.reopen() {
                    *slot = Some(Arc::new(e));
                }
            }
        }
        out
    }
}

/// One job at a time: decode, GPU, encode.
fn sequential(
    engine: &Engine,
    jobs: &[BatchJob],
    options: &BatchOptions,
    on_event: &mut dyn FnMut(BatchEvent) -> ControlFlow<()>,
) -> BatchReport {
    let start = Instant::now();
    let mut stats = BatchStats {
        gpu_busy: vec![Duration::ZERO],
        peak_in_flight: vec![0],
        jobs: vec![0],
        ..BatchStats::default()
    };
    let mut cancelled = false;
    let engine = Revivable::new(engine);
    let mut results = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let result = if cancelled {
            Err(Error::Cancelled)
        } else {
            let t = Instant::now();
            let burst = decode(job);
            stats.decode += t.elapsed();
            burst.and_then(|burst| {
                cancelled |= on_event(BatchEvent::Started { job: i, device: 0 }).is_break();
                let t = Instant::now();
                stats.peak_in_flight[0] = 1;
                stats.jobs[0] += 1;
                let image = gpu_work(&engine, &burst, &options.merge, &mut |done, total, _| {
                    if cancelled {
                        return ControlFlow::Break(());
                    }
                    let flow = on_event(BatchEvent::Progress {
                        job: i,
                        done,
                        total,
                    });
                    cancelled |= flow.is_break();
                    flow
                });
                stats.gpu_busy[0] += t.elapsed();
                let t = Instant::now();
                let saved = image.and_then(|image| image.save(&job.output));
                stats.encode += t.elapsed();
                saved
            })
        };
        cancelled |= on_event(BatchEvent::Finished {
            job: i,
            error: result.as_ref().err(),
        })
        .is_break();
        results.push(result);
    }
    stats.wall = start.elapsed();
    BatchReport { results, stats }
}

/// A decoded burst on its way to a device.
struct Decoded {
    job: usize,
    burst: Burst,
    bytes: u64,
}

/// One device's queue and accounting, under the batch's lock.
struct Device {
    queue: VecDeque<Decoded>,
    /// Bytes of the bursts queued and running: the load bursts are dealt by.
    load: u64,
    /// Budget bytes held by the running bursts.
    in_use: u64,
    running: usize,
    busy_since: Option<Instant>,
    busy: Duration,
    peak: usize,
    jobs: usize,
}

struct Shared {
    devices: Vec<Device>,
    /// The dealer has dealt every decoded burst.
    dealt_all: bool,
}

/// Messages to the caller's thread.
enum Event {
    Started(usize, usize),
    Progress(usize, usize, usize),
    Finished(usize, Result<()>),
}

/// Bursts queued on a device beyond the ones running: one is enough to keep it fed, and the
/// rest wait undealt so that a device that frees up first can take them.
const QUEUE_PER_DEVICE: usize = 1;

fn overlapped(
    engines: &[Engine],
    jobs: &[BatchJob],
    options: &BatchOptions,
    on_event: &mut dyn FnMut(BatchEvent) -> ControlFlow<()>,
) -> BatchReport {
    let start = Instant::now();
    let budgets: Vec<u64> = engines
        .iter()
        .map(|e| options.memory_budget.unwrap_or(e.adapter().max_buffer_size))
        .collect();
    let slots = options.jobs_per_device.max(1);
    let shared = Mutex::new(Shared {
        devices: engines
            .iter()
            .map(|_| Device {
                queue: VecDeque::new(),
                load: 0,
                in_use: 0,
                running: 0,
                busy_since: None,
                busy: Duration::ZERO,
                peak: 0,
                jobs: 0,
            })
            .collect(),
        dealt_all: false,
    });
    let changed = Condvar::new();
    let revivable: Vec<Revivable> = engines.iter().map(Revivable::new).collect();
    let lock = || shared.lock().unwrap_or_else(|p| p.into_inner());
    let cancel = AtomicBool::new(false);
    let next_job = AtomicUsize::new(0);
    let decode_time = Mutex::new(Duration::ZERO);
    let encode_time = Mutex::new(Duration::ZERO);
    let add = |m: &Mutex<Duration>, d: Duration| *m.lock().unwrap_or_else(|p| p.into_inner()) += d;

    let (event_tx, event_rx) = mpsc::channel::<Event>();
    let (decoded_tx, decoded_rx) = mpsc::sync_channel::<Decoded>(options.lookahead.max(1));
    let (encode_tx, encode_rx) =
        mpsc::sync_channel::<(usize, Image)>(options.encode_threads.max(1));
    let encode_rx = Mutex::new(encode_rx);

    let mut results: Vec<Option<Result<()>>> = (0..jobs.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        // Decoders: take the jobs in order; a failure goes straight to the report.
        for _ in 0..options.decode_threads.max(1) {
            let (decoded_tx, event_tx) = (decoded_tx.clone(), event_tx.clone());
            let (cancel, next_job, decode_time) = (&cancel, &next_job, &decode_time);
            s.spawn(move || loop {
                let i = next_job.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                if cancel.load(Ordering::Relaxed) {
                    let _ = event_tx.send(Event::Finished(i, Err(Error::Cancelled)));
                    continue;
                }
                let t = Instant::now();
                let burst = decode(job);
                add(decode_time, t.elapsed());
                match burst {
                    Ok(burst) => {
                        let f = &burst.frames()[0];
                        let bytes = gpu_bytes_estimate(f.width, f.height);
                        if decoded_tx
                            .send(Decoded {
                                job: i,
                                burst,
                                bytes,
                            })
                            .is_err()
                        {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = event_tx.send(Event::Finished(i, Err(e)));
                    }
                }
            });
        }
        drop(decoded_tx);

        // The dealer: each decoded burst to the device with the least queued work among those
        // with room in their queue.
        {
            let (shared, changed) = (&shared, &changed);
            s.spawn(move || {
                let lock = || shared.lock().unwrap_or_else(|p| p.into_inner());
                for d in decoded_rx {
                    let mut g = lock();
                    let device = loop {
                        let best = g
                            .devices
                            .iter()
                            .enumerate()
                            .filter(|(_, dev)| dev.queue.len() < QUEUE_PER_DEVICE)
                            .min_by_key(|(i, dev)| (dev.load, *i))
                            .map(|(i, _)| i);
                        match best {
                            Some(i) => break i,
                            None => g = changed.wait(g).unwrap_or_else(|p| p.into_inner()),
                        }
                    };
                    let dev = &mut g.devices[device];
                    dev.load += d.bytes;
                    dev.queue.push_back(d);
                    changed.notify_all();
                }
                lock().dealt_all = true;
                changed.notify_all();
            });
        }

        // Device slots: run a queued burst when the device's budget allows (always when the
        // device is idle, so a burst over budget runs alone rather than never).
        for (device, engine) in revivable.iter().enumerate() {
            for _ in 0..slots {
                let (shared, changed, cancel) = (&shared, &changed, &cancel);
                let (event_tx, encode_tx) = (event_tx.clone(), encode_tx.clone());
                let budget = budgets[device];
                let merge = &options.merge;
                s.spawn(move || loop {
                    let lock = || shared.lock().unwrap_or_else(|p| p.into_inner());
                    let mut g = lock();
                    let d = loop {
                        let dev = &mut g.devices[device];
                        let fits = |d: &Decoded| dev.running == 0 || dev.in_use + d.bytes <= budget;
                        if dev.queue.front().is_some_and(fits) {
                            let d = dev.queue.pop_front().expect("checked");
                            dev.running += 1;
                            dev.in_use += d.bytes;
                            dev.peak = dev.peak.max(dev.running);
                            dev.jobs += 1;
                            if dev.running == 1 {
                                dev.busy_since = Some(Instant::now());
                            }
                            break Some(d);
                        }
                        if g.dealt_all && g.devices[device].queue.is_empty() {
                            break None;
                        }
                        g = changed.wait(g).unwrap_or_else(|p| p.into_inner());
                    };
                    drop(g);
                    changed.notify_all();
                    let Some(d) = d else { break };
                    let image = if cancel.load(Ordering::Relaxed) {
                        Err(Error::Cancelled)
                    } else {
                        let _ = event_tx.send(Event::Started(d.job, device));
                        gpu_work(engine, &d.burst, merge, &mut |done, total, _| {
                            let _ = event_tx.send(Event::Progress(d.job, done, total));
                            if cancel.load(Ordering::Relaxed) {
                                ControlFlow::Break(())
                            } else {
                                ControlFlow::Continue(())
                            }
                        })
                    };
                    let (job, bytes) = (d.job, d.bytes);
                    drop(d);
                    {
                        let mut g = lock();
                        let dev = &mut g.devices[device];
                        dev.running -= 1;
                        dev.in_use -= bytes;
                        dev.load -= bytes;
                        if dev.running == 0 {
                            if let Some(t) = dev.busy_since.take() {
                                dev.busy += t.elapsed();
                            }
                        }
                    }
                    changed.notify_all();
                    match image {
                        Ok(image) => {
                            if let Err(mpsc::SendError((job, _))) = encode_tx.send((job, image)) {
                                let _ = event_tx.send(Event::Finished(job, Err(Error::Cancelled)));
                            }
                        }
                        Err(e) => {
                            let _ = event_tx.send(Event::Finished(job, Err(e)));
                        }
                    }
                });
            }
        }
        drop(encode_tx);

        // Encoders: write each photo as it comes.
        for _ in 0..options.encode_threads.max(1) {
            let (encode_rx, event_tx, encode_time) = (&encode_rx, event_tx.clone(), &encode_time);
            s.spawn(move || loop {
                let next = encode_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok((job, image)) = next else { break };
                let t = Instant::now();
                let saved = image.save(&jobs[job].output);
                add(encode_time, t.elapsed());
                let _ = event_tx.send(Event::Finished(job, saved));
            });
        }
        drop(event_tx);

        // The caller's thread: events until every job is finished (or every sender is gone).
        let mut finished = 0;
        while finished < jobs.len() {
            let Ok(event) = event_rx.recv() else { break };
            let flow = match event {
                Event::Started(job, device) => on_event(BatchEvent::Started { job, device }),
                Event::Progress(job, done, total) => {
                    on_event(BatchEvent::Progress { job, done, total })
                }
                Event::Finished(job, result) => {
                    finished += 1;
                    let flow = on_event(BatchEvent::Finished {
                        job,
                        error: result.as_ref().err(),
                    });
                    results[job] = Some(result);
                    flow
                }
            };
            if flow.is_break() {
                cancel.store(true, Ordering::Relaxed);
            }
        }
    });
    let g = lock();
    let stats = BatchStats {
        wall: start.elapsed(),
        decode: *decode_time.lock().unwrap_or_else(|p| p.into_inner()),
        gpu_busy: g.devices.iter().map(|d| d.busy).collect(),
        encode: *encode_time.lock().unwrap_or_else(|p| p.into_inner()),
        peak_in_flight: g.devices.iter().map(|d| d.peak).collect(),
        jobs: g.devices.iter().map(|d| d.jobs).collect(),
    };
    BatchReport {
        results: results
            .into_iter()
            .map(|r| r.unwrap_or(Err(Error::Cancelled)))
            .collect(),
        stats,
    }
}

impl Engine {
    /// One engine per adapter of the kind a batch should spread over: the adapters of the best
    /// adapter's graphics API (for [`crate::Backend::Auto`], so that one GPU is not opened twice
    /// through two APIs), software adapters left out unless the best one is software.
    pub fn open_all(backend: crate::Backend) -> Result<Vec<Engine>> {
        let best = Engine::adapters(backend)
            .into_iter()
            .next()
            .ok_or_else(|| Error::NoAdapter {
                detail: format!(" for backend {backend:?}"),
            })?;
        let backend = match backend {
            crate::Backend::Auto => crate::Backend::parse(&best.backend).unwrap_or(backend),
            b => b,
        };
        let software = |a: &crate::AdapterInfo| a.device_type == "Cpu";
        Engine::adapters(backend)
            .iter()
            .filter(|a| software(&best) || !software(a))
            .map(|a| {
                Engine::new(&crate::EngineOptions {
                    backend,
                    adapter: Some(a.index),
                })
            })
            .collect()
    }
}
