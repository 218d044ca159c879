//! Per-stage timing for [`crate::Engine::profile`]. Every stage of the engine is one submission
//! (`Gpu::run`), so timing is hooked there and in `Gpu::dispatch`, not in the stages: GPU
//! timestamps around the submission's commands where the adapter has timestamp queries, the wall
//! clock from submission to idle otherwise. When profiling is off the only cost is one relaxed
//! atomic load per submission and per dispatch.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::error::{Error, Result};

/// How a stage's time was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimingSource {
    /// GPU timestamp queries written before and after the stage's commands: device time only.
    GpuTimestamps,
    /// Wall clock from submission until the device is idle, used where the adapter has no
    /// timestamp queries (or a stage has no compute pass to time): includes driver overhead.
    WallClock,
}

impl TimingSource {
    /// "gpu-timestamps" or "wall-clock".
    pub fn name(self) -> &'static str {
        match self {
            TimingSource::GpuTimestamps => "gpu-timestamps",
            TimingSource::WallClock => "wall-clock",
        }
    }
}

/// One stage of a profiled call (one submission to the device) and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct StageTime {
    /// Stage name, e.g. "normalize/demosaic/colour", "align and merge", "exposure fusion".
    pub name: String,
    /// Milliseconds on the device (see `source`).
    pub gpu_ms: f64,
    /// Bytes read and written on the device, estimated as the sizes of the buffers bound to each
    /// kernel dispatch (each read or written once) plus device-side copies of downloads.
    pub bytes: u64,
    /// Bytes moved between host and device for the stage: uploads it uses, downloads it makes.
    pub host_bytes: u64,
    /// How `gpu_ms` was measured.
    pub source: TimingSource,
}

/// What [`crate::Engine::profile`] measured: every stage in the order it ran.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    /// Every submission, in order (stages that run per band or per frame appear once each time).
    pub stages: Vec<StageTime>,
    /// Wall-clock milliseconds of the whole profiled call (CPU work included).
    pub wall_ms: f64,
}

impl Profile {
    /// Sum of the stages' device times.
    pub fn gpu_ms(&self) -> f64 {
        self.stages.iter().map(|s| s.gpu_ms).sum()
    }

    /// Sum of the stages' device bytes.
    pub fn bytes(&self) -> u64 {
        self.stages.iter().map(|s| s.bytes).sum()
    }

    /// Sum of the stages' host↔device bytes.
    pub fn host_bytes(&self) -> u64 {
        self.stages.iter().map(|s| s.host_bytes).sum()
    }

    /// `GpuTimestamps` when every stage was timed on the device, else `WallClock`.
    pub fn source(&self) -> TimingSource {
        if self
            .stages
            .iter()
            .all(|s| s.source == TimingSource::GpuTimestamps)
        {
            TimingSource::GpuTimestamps
        } else {
            TimingSource::WallClock
        }
    }

    /// Stages of the same name summed, in the order each name first ran; a sum is timed by
    /// timestamps only if all its parts were.
    pub fn by_name(&self) -> Vec<StageTime> {
        let mut out: Vec<StageTime> = Vec::new();
        for s in &self.stages {
            match out.iter_mut().find(|o| o.name == s.name) {
                Some(o) => {
                    o.gpu_ms += s.gpu_ms;
                    o.bytes += s.bytes;
                    o.host_bytes += s.host_bytes;
                    if s.source == TimingSource::WallClock {
                        o.source = TimingSource::WallClock;
                    }
                }
                None => out.push(s.clone()),
            }
        }
        out
    }
}

/// How this device times a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Timestamps written by the command encoder before and after everything recorded.
    Encoder,
    /// Timestamps at the start and end of each compute pass (adapters that only have
    /// `TIMESTAMP_QUERY`): the span from the first pass's start to the last pass's end.
    Passes,
    /// No timestamp queries: wall clock.
    Wall,
}

impl Mode {
    pub fn of(features: wgpu::Features) -> Mode {
        if features.contains(wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS) {
            Mode::Encoder
        } else if features.contains(wgpu::Features::TIMESTAMP_QUERY) {
            Mode::Passes
        } else {
            Mode::Wall
        }
    }
}

/// Most compute passes timed in one submission (a 48 MP fusion records about 150).
const MAX_PASSES: u32 = wgpu::QUERY_SET_MAX_QUERIES / 2;

/// The query set of the submission being recorded.
struct RunQueries {
    set: wgpu::QuerySet,
    used: u32,
}

/// Profiling state of one device.
pub(crate) struct Profiler {
    on: AtomicBool,
    pub(crate) mode: Mode,
    period_ns: f64,
    /// Device bytes of the submission being recorded.
    bytes: AtomicU64,
    /// Uploads since the last submission, counted against the next one (the stage using them).
    host: AtomicU64,
    records: Mutex<Vec<StageTime>>,
    queries: Mutex<Option<RunQueries>>,
}

/// What a profiled submission needs after it was submitted.
pub(crate) struct Pending {
    readback: Option<(wgpu::Buffer, u32)>,
    start: Instant,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Profiler {
    pub fn new(mode: Mode, period_ns: f32) -> Profiler {
        Profiler {
            on: AtomicBool::new(false),
            mode,
            period_ns: period_ns as f64,
            bytes: AtomicU64::new(0),
            host: AtomicU64::new(0),
            records: Mutex::new(Vec::new()),
            queries: Mutex::new(None),
        }
    }

    #[inline]
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Start recording; profiles do not nest.
    pub fn start(&self) -> Result<()> {
        if self.on.swap(true, Ordering::AcqRel) {
            return Err(Error::InvalidInput(
                "this engine is already profiling (Engine::profile calls do not nest)".into(),
            ));
        }
        lock(&self.records).clear();
        self.host.store(0, Ordering::Relaxed);
        Ok(())
    }

    /// Stop recording and hand back what was recorded.
    pub fn stop(&self) -> Vec<StageTime> {
        self.on.store(false, Ordering::Release);
        std::mem::take(&mut *lock(&self.records))
    }

    /// Count device bytes of the submission being recorded.
    #[inline]
    pub fn add_bytes(&self, n: u64) {
        if self.is_on() {
            self.bytes.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Count host↔device bytes against the next submission.
    #[inline]
    pub fn add_host_bytes(&self, n: u64) {
        if self.is_on() {
            self.host.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Before recording a submission: a fresh query set, and the encoder's first timestamp.
    pub fn begin(&self, device: &wgpu::Device, enc: &mut wgpu::CommandEncoder) {
        self.bytes.store(0, Ordering::Relaxed);
        let count = match self.mode {
            Mode::Encoder => 2,
            Mode::Passes => 2 * MAX_PASSES,
            Mode::Wall => return,
        };
        let set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("stage timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count,
        });
        if self.mode == Mode::Encoder {
            enc.write_timestamp(&set, 0);
        }
        *lock(&self.queries) = Some(RunQueries {
            set,
            used: if self.mode == Mode::Encoder { 1 } else { 0 },
        });
    }

    /// Timestamp writes for the next compute pass, in `Mode::Passes` (None once the set is full:
    /// the span then ends at the last timed pass).
    pub fn pass_writes(&self) -> Option<(wgpu::QuerySet, u32)> {
        if self.mode != Mode::Passes || !self.is_on() {
            return None;
        }
        let mut q = lock(&self.queries);
        let q = q.as_mut()?;
        if q.used + 2 > q.set.count() {
            return None;
        }
        q.used += 2;
        Some((q.set.clone(), q.used - 2))
    }

    /// After recording: the last timestamp, and the resolve into a buffer the host can map.
    pub fn end(&self, device: &wgpu::Device, enc: &mut wgpu::CommandEncoder) -> Pending {
        let start = Instant::now();
        let Some(mut q) = lock(&self.queries).take() else {
            return Pending {
                readback: None,
                start,
            };
        };
        if self.mode == Mode::Encoder {
            enc.write_timestamp(&q.set, 1);
            q.used = 2;
        }
        if q.used == 0 {
            return Pending {
                readback: None,
                start,
            };
        }
        let size = q.used as u64 * wgpu::QUERY_SIZE as u64;
        let resolve = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps resolve"),
            size,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        enc.resolve_query_set(&q.set, 0..q.used, &resolve, 0);
        enc.copy_buffer_to_buffer(&resolve, 0, &readback, 0, size);
        Pending {
            readback: Some((readback, q.used)),
            start: Instant::now(),
        }
    }

    /// After the submission finished (the device was waited on): record the stage.
    pub fn finish(&self, device: &wgpu::Device, name: &str, pending: Pending) -> Result<()> {
        let wall_ms = pending.start.elapsed().as_secs_f64() * 1e3;
        let gpu = match pending.readback {
            Some((buffer, used)) => self.read_span(device, name, &buffer, used)?,
            None => None,
        };
        let (gpu_ms, source) = match gpu {
            Some(ms) => (ms, TimingSource::GpuTimestamps),
            None => (wall_ms, TimingSource::WallClock),
        };
        lock(&self.records).push(StageTime {
            name: name.to_string(),
            gpu_ms,
            bytes: self.bytes.swap(0, Ordering::Relaxed),
            host_bytes: self.host.swap(0, Ordering::Relaxed),
            source,
        });
        Ok(())
    }

    /// Milliseconds from the first timestamp to the last; `None` if the driver wrote nothing
    /// usable (zeros, or time running backwards).
    fn read_span(
        &self,
        device: &wgpu::Device,
        stage: &str,
        buffer: &wgpu::Buffer,
        used: u32,
    ) -> Result<Option<f64>> {
        let err = |e: String| Error::Gpu {
            stage: format!("{stage} (timestamps)"),
            message: e,
        };
        let slice = buffer.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| err(e.to_string()))?;
        rx.recv()
            .map_err(|e| err(e.to_string()))?
            .map_err(|e| err(e.to_string()))?;
        let ticks: Vec<u64> = {
            let view = slice.get_mapped_range().map_err(|e| err(e.to_string()))?;
            bytemuck::cast_slice(&view[..used as usize * 8]).to_vec()
        };
        buffer.unmap();
        Ok(span_ms(&ticks, self.period_ns))
    }
}

/// The span of (begin, end) timestamp pairs in milliseconds: the first begin to the last end.
pub(crate) fn span_ms(ticks: &[u64], period_ns: f64) -> Option<f64> {
    let pairs: Vec<(u64, u64)> = ticks
        .chunks_exact(2)
        .map(|p| (p[0], p[1]))
        .filter(|&(b, e)| b != 0 && e >= b)
        .collect();
    let first = pairs.iter().map(|p| p.0).min()?;
    let last = pairs.iter().map(|p| p.1).max()?;
    let ms = (last - first) as f64 * period_ns * 1e-6;
    (ms > 0.0).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_runs_from_first_begin_to_last_end_and_ignores_unwritten_pairs() {
        // Two passes 1000..1500 and 1700..2600 ticks, one pair never written (zeros).
        let ticks = [1000, 1500, 0, 0, 1700, 2600];
        assert_eq!(span_ms(&ticks, 1.0), Some(1600.0 * 1e-6));
        assert_eq!(span_ms(&ticks, 2.5), Some(1600.0 * 2.5e-6));
        assert_eq!(span_ms(&[0, 0], 1.0), None);
        assert_eq!(span_ms(&[5, 3], 1.0), None);
    }

    #[test]
    fn stages_of_one_name_are_summed_in_first_run_order() {
        let s = |name: &str, ms: f64, source| StageTime {
            name: name.into(),
            gpu_ms: ms,
            bytes: 10,
            host_bytes: 1,
            source,
        };
        let p = Profile {
            stages: vec![
                s("a", 1.0, TimingSource::GpuTimestamps),
                s("b", 2.0, TimingSource::GpuTimestamps),
                s("a", 3.0, TimingSource::WallClock),
            ],
            wall_ms: 10.0,
        };
        let by = p.by_name();
        assert_eq!(by.len(), 2);
        assert_eq!((by[0].name.as_str(), by[0].gpu_ms), ("a", 4.0));
        assert_eq!((by[0].bytes, by[0].host_bytes), (20, 2));
        assert_eq!(by[0].source, TimingSource::WallClock);
        assert_eq!(by[1].source, TimingSource::GpuTimestamps);
        assert_eq!(p.gpu_ms(), 6.0);
        assert_eq!(p.source(), TimingSource::WallClock);
    }
}

#[cfg(test)]
mod gpu_tests {
    //! Profiles of a real develop on a device of their own (the shared test device runs other
    //! tests' stages concurrently, which a profile would count).
    use super::*;
    use crate::gpu::{Backend, Gpu};
    use crate::stages::testing::kodak;
    use crate::{Cfa, Engine, Frame, Options};

    /// A 256×192 crop of a real photo as a 12-bit RGGB mosaic.
    fn kodak_frame() -> Frame {
        let (w, _, px) = kodak("kodim23");
        let (cw, ch) = (256u32, 192u32);
        let mosaic = (0..cw * ch)
            .map(|i| {
                let (x, y) = (i % cw, i / cw);
                let p = px[((y + 100) * w + x + 200) as usize];
                let c = Cfa::Rggb.color_at(x as usize, y as usize);
                (256.0 + p[c] * 3839.0).round() as u16
            })
            .collect();
        Frame::from_mosaic(cw, ch, mosaic, Cfa::Rggb, 256.0, 4095.0).unwrap()
    }

    fn engine(mode: Option<Mode>) -> Engine {
        let mut gpu = Gpu::new(Backend::Auto, None).unwrap_or_else(|e| {
            panic!("GPU tests need an adapter: {e}\nOn Debian/Ubuntu: apt-get install mesa-vulkan-drivers libvulkan1")
        });
        // Timestamp modes need the adapter's timestamp queries.
        if let Some(mode) = mode.filter(|_| gpu.info.timestamp_queries) {
            gpu.profiler.mode = mode;
        }
        Engine {
            gpu,
            options: Default::default(),
        }
    }

    /// Develop the crop under a profile; check what holds whatever the timing source.
    fn profiled_develop(engine: &Engine) -> Profile {
        let frame = kodak_frame();
        // Warm up: pipeline compilation is not a stage's time.
        engine.develop(&frame, &Options::default()).unwrap();
        let (image, p) = engine
            .profile(|e| e.develop(&frame, &Options::default()))
            .unwrap();
        assert_eq!((image.width, image.height), (256, 192));
        assert!(!p.stages.is_empty());
        for s in &p.stages {
            assert!(
                s.gpu_ms.is_finite() && s.gpu_ms > 0.0,
                "{}: {} ms",
                s.name,
                s.gpu_ms
            );
        }
        // Stages run one after another inside the call, so their device times fit in its wall
        // time (0.5 ms slack for clock granularity).
        assert!(
            p.gpu_ms() <= p.wall_ms + 0.5,
            "stages sum to {:.3} ms, the whole call took {:.3} ms: {:?}",
            p.gpu_ms(),
            p.wall_ms,
            p.stages
        );
        // The mosaic goes up (2 B/px) and 16-bit RGB comes down (6 B/px), at least.
        let px = 256 * 192;
        assert!(p.host_bytes() >= 8 * px, "host bytes {}", p.host_bytes());
        let demosaic = p
            .stages
            .iter()
            .find(|s| s.name == "normalize/demosaic/colour")
            .expect("a demosaic stage");
        // It reads the u16 mosaic and writes f16 RGBA at least.
        assert!(
            demosaic.bytes >= 10 * px,
            "demosaic bytes {}",
            demosaic.bytes
        );
        // Profiling is off again: nothing more is recorded.
        engine.develop(&frame, &Options::default()).unwrap();
        assert!(engine.gpu.profiler.stop().is_empty());
        p
    }

    #[test]
    fn timestamp_stage_times_fit_in_the_wall_time_of_the_call() {
        let engine = engine(None);
        let p = profiled_develop(&engine);
        eprintln!(
            "{:?} on {}: {:#?}",
            engine.gpu.profiler.mode,
            engine.adapter().name,
            p
        );
        let want = if engine.adapter().timestamp_queries {
            TimingSource::GpuTimestamps
        } else {
            TimingSource::WallClock
        };
        assert_eq!(p.source(), want, "{:?}", p.stages);
        // Nested profiles are refused, and the engine still profiles afterwards.
        let nested = engine.profile(|e| e.profile(|_| Ok(())).map(|_| ()));
        assert!(matches!(nested, Err(crate::Error::InvalidInput(_))));
        assert!(engine.profile(|_| Ok(())).is_ok());
    }

    #[test]
    fn pass_timestamps_time_compute_stages_and_the_wall_clock_the_rest() {
        let engine = engine(Some(Mode::Passes));
        let p = profiled_develop(&engine);
        for s in &p.stages {
            // Downloads are copies only: no compute pass to time.
            let want = if s.name == "download" || !engine.adapter().timestamp_queries {
                TimingSource::WallClock
            } else {
                TimingSource::GpuTimestamps
            };
            assert_eq!(s.source, want, "{}", s.name);
        }
    }

    #[test]
    fn without_timestamps_every_stage_is_wall_clock() {
        let p = profiled_develop(&engine(Some(Mode::Wall)));
        assert!(p.stages.iter().all(|s| s.source == TimingSource::WallClock));
    }
}
