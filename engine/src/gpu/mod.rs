//! The wgpu context: adapter choice, device limits, the kernel cache, buffers, error scopes.

mod kernels;
mod profile;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) use kernels::*;
pub(crate) use profile::{Mode as TimingMode, Profiler};
pub use profile::{Profile, StageTime, TimingSource};

use crate::error::{Error, Result};

/// Which graphics API to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// Whatever is available (Vulkan, Metal, DX12, then GL); honours `WGPU_BACKEND`.
    #[default]
    Auto,
    /// Vulkan (Linux, Windows, Android; lavapipe for software).
    Vulkan,
    /// Metal (macOS, iOS).
    Metal,
    /// Direct3D 12 (Windows).
    Dx12,
    /// OpenGL / GLES (llvmpipe for software).
    Gl,
}

impl Backend {
    /// Parse "auto", "vulkan", "metal", "dx12", "gl".
    pub fn parse(s: &str) -> Option<Backend> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Some(Backend::Auto),
            "vulkan" | "vk" => Some(Backend::Vulkan),
            "metal" => Some(Backend::Metal),
            "dx12" | "d3d12" => Some(Backend::Dx12),
            "gl" | "gles" | "opengl" => Some(Backend::Gl),
            _ => None,
        }
    }

    fn backends(self) -> wgpu::Backends {
        match self {
            Backend::Auto => wgpu::Backends::all().with_env(),
            Backend::Vulkan => wgpu::Backends::VULKAN,
            Backend::Metal => wgpu::Backends::METAL,
            Backend::Dx12 => wgpu::Backends::DX12,
            Backend::Gl => wgpu::Backends::GL,
        }
    }
}

/// What `burstpipe devices` shows about one adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterInfo {
    /// Index to pass as `adapter` in the engine options.
    pub index: usize,
    /// Adapter name, e.g. "NVIDIA GeForce RTX 4090" or "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// Graphics API.
    pub backend: String,
    /// Discrete, integrated, virtual, CPU or other.
    pub device_type: String,
    /// Driver name and version.
    pub driver: String,
    /// Largest buffer in bytes.
    pub max_buffer_size: u64,
    /// Largest storage-buffer binding in bytes (images larger than this are processed in bands).
    pub max_storage_binding: u64,
    /// Largest 2-D texture side.
    pub max_texture_2d: u32,
    /// Most workgroups per dispatch dimension.
    pub max_workgroups_per_dim: u32,
    /// Whether stages can be timed with GPU timestamp queries (else profiles use the wall clock).
    pub timestamp_queries: bool,
}

fn instance(backend: Backend) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    if backend != Backend::Auto {
        desc.backends = backend.backends();
    }
    wgpu::Instance::new(desc)
}

/// Rank for the default choice: real GPUs before software ones.
fn rank(t: wgpu::DeviceType) -> u32 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

fn adapters(backend: Backend) -> Vec<wgpu::Adapter> {
    let instance = instance(backend);
    let mut list = pollster::block_on(instance.enumerate_adapters(backend.backends()));
    // Vulkan first among equals: it has the fullest compute feature set in wgpu.
    list.sort_by_key(|a| {
        let info = a.get_info();
        (
            rank(info.device_type),
            info.backend != wgpu::Backend::Vulkan,
        )
    });
    list
}

fn summarize(index: usize, adapter: &wgpu::Adapter) -> AdapterInfo {
    let info = adapter.get_info();
    let limits = adapter.limits();
    AdapterInfo {
        index,
        name: info.name,
        backend: format!("{:?}", info.backend),
        device_type: format!("{:?}", info.device_type),
        driver: format!("{} {}", info.driver, info.driver_info)
            .trim()
            .to_string(),
        max_buffer_size: limits.max_buffer_size,
        max_storage_binding: limits.max_storage_buffer_binding_size,
        max_texture_2d: limits.max_texture_dimension_2d,
        max_workgroups_per_dim: limits.max_compute_workgroups_per_dimension,
        timestamp_queries: adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY),
    }
}

/// Every adapter wgpu finds for the backend, best first (the default choice is index 0).
pub(crate) fn list_adapters(backend: Backend) -> Vec<AdapterInfo> {
    adapters(backend)
        .iter()
        .enumerate()
        .map(|(i, a)| summarize(i, a))
        .collect()
}

/// One device with its queue, limits and compiled kernels.
pub(crate) struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: AdapterInfo,
    pub limits: wgpu::Limits,
    pipelines:
        Mutex<std::collections::HashMap<(&'static str, &'static str), Arc<wgpu::ComputePipeline>>>,
    lost: Arc<Mutex<Option<String>>>,
    /// The first GPU error no error scope caught (a buffer the device refused, a validation
    /// error between submissions): the next check ([`Gpu::check`]) turns it into the error of
    /// the call that is running.
    uncaptured: Arc<Mutex<Option<Uncaptured>>>,
    /// Fill new storage buffers with NaN so that unwritten pixels show up in tests.
    pub poison: AtomicBool,
    /// Per-stage timing, off unless `Engine::profile` runs.
    pub profiler: Profiler,
}

impl Gpu {
    pub fn new(backend: Backend, index: Option<usize>) -> Result<Gpu> {
        let list = adapters(backend);
        let detail = match (backend, index) {
            (Backend::Auto, None) => String::new(),
            (b, None) => format!(" for backend {b:?}"),
            (b, Some(i)) => format!(" at index {i} for backend {b:?} ({} found)", list.len()),
        };
        let i = index.unwrap_or(0);
        if !list.is_empty() && i >= list.len() {
            return Err(Error::InvalidInput(format!(
                "there is no adapter {i}: {} found for backend {backend:?} (see `burstpipe devices`)",
                list.len()
            )));
        }
        let adapter = list.into_iter().nth(i).ok_or(Error::NoAdapter { detail })?;
        let info = summarize(i, &adapter);
        // Ask for everything the adapter offers: the defaults (256 MiB buffers, 8192 px) are far
        // below what real GPUs and even lavapipe allow.
        let limits = adapter.limits();
        // Timestamp queries cost nothing until a profile writes them.
        let features = adapter.features()
            & (wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS);
        let desc = wgpu::DeviceDescriptor {
            label: Some("burstpipe"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        };
        let (device, queue) =
            pollster::block_on(adapter.request_device(&desc)).map_err(|e| Error::Gpu {
                stage: format!("opening {}", info.name),
                message: e.to_string(),
            })?;
        let lost = Arc::new(Mutex::new(None));
        let flag = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            *flag.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{reason:?}: {msg}"));
        });
        // Errors are caught by scopes around each stage; anything that escapes is kept (the first
        // one) and becomes the error of the call running, at its next check.
        let uncaptured = Arc::new(Mutex::new(None));
        let slot = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e| {
            record(&slot, Uncaptured::of(&e));
        }));
        let profiler = Profiler::new(TimingMode::of(features), queue.get_timestamp_period());
        Ok(Gpu {
            device,
            queue,
            info,
            limits,
            pipelines: Mutex::new(Default::default()),
            lost,
            uncaptured,
            poison: AtomicBool::new(false),
            profiler,
        })
    }

    /// Largest buffer the device can create (bindings see windows of it).
    pub fn max_buffer_size(&self) -> u64 {
        self.limits.max_buffer_size
    }

    /// Largest buffer one binding may see: bands and tiles are sized from this.
    pub fn max_binding(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }

    /// The compiled pipeline of a kernel entry point, built once.
    pub fn pipeline(&self, kernel: &Kernel, entry: &'static str) -> Arc<wgpu::ComputePipeline> {
        let mut cache = self.pipelines.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry((kernel.name, entry))
            .or_insert_with(|| {
                let module = self
                    .device
                    .create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(kernel.name),
                        source: wgpu::ShaderSource::Wgsl(kernel.source.into()),
                    });
                Arc::new(
                    self.device
                        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                            label: Some(entry),
                            layout: None,
                            module: &module,
                            entry_point: Some(entry),
                            compilation_options: Default::default(),
                            cache: None,
                        }),
                )
            })
            .clone()
    }

    /// A storage buffer of `size` bytes (rounded up to 4), NaN-filled when poisoning.
    pub fn storage(&self, label: &str, size: u64) -> wgpu::Buffer {
        if self.poison.load(Ordering::Relaxed) {
            self.storage_filled(label, size, &[])
        } else {
            self.storage_buffer(label, size, false)
        }
    }

    /// A storage buffer holding `data`.
    pub fn storage_init(&self, label: &str, data: &[u8]) -> wgpu::Buffer {
        self.profiler.add_host_bytes(data.len() as u64);
        self.storage_filled(label, data.len() as u64, data)
    }

    fn storage_buffer(&self, label: &str, size: u64, mapped_at_creation: bool) -> wgpu::Buffer {
        let size = size.max(4).div_ceil(4) * 4;
        // A buffer over the device's limit would be a validation error: record the limit instead
        // (the running call fails with it at its next check) and hand out a stand-in.
        let size = if size > self.max_buffer_size() {
            record(
                &self.uncaptured,
                Uncaptured::TooLarge(format!(
                    "allocating {label} ({} MiB), more than this device's largest buffer ({} MiB)",
                    size >> 20,
                    self.max_buffer_size() >> 20
                )),
            );
            4
        } else {
            size
        };
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation,
        })
    }

    /// `data` first, the rest of the buffer 0xFF bytes (NaN as f32 and f16).
    fn storage_filled(&self, label: &str, size: u64, data: &[u8]) -> wgpu::Buffer {
        let buffer = self.storage_buffer(label, size, true);
        // A stand-in for a refused buffer, or a lost device's, is left unfilled: the error
        // recorded fails the call.
        if let Ok(mut view) = buffer.slice(..).get_mapped_range_mut() {
            if view.len() >= data.len() {
                view.slice(..data.len()).copy_from_slice(data);
                let rest = view.len() - data.len();
                view.slice(data.len()..).copy_from_slice(&vec![0xFF; rest]);
            }
        }
        buffer.unmap();
        buffer
    }

    /// A uniform buffer holding a parameter block.
    pub fn uniform<T: bytemuck::Pod>(&self, params: &T) -> wgpu::Buffer {
        let bytes = bytemuck::bytes_of(params);
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: bytes.len() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: true,
        });
        // Not mappable only on a lost device, which the next check reports.
        if let Ok(mut view) = buffer.slice(..).get_mapped_range_mut() {
            view.copy_from_slice(bytes);
        }
        buffer.unmap();
        buffer
    }

    /// Record one dispatch: binding 0 is the uniform block, bindings 1.. the buffers in order.
    pub fn dispatch(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        kernel: &Kernel,
        entry: &'static str,
        params: &wgpu::Buffer,
        buffers: &[&wgpu::Buffer],
        groups: (u32, u32),
    ) {
        let windows: Vec<Window> = buffers.iter().map(|b| Window::whole(b)).collect();
        self.dispatch_windows(encoder, kernel, entry, params, &windows, groups);
    }

    /// [`Gpu::dispatch`] of a kernel over an image of `width × rows` pixels in 16×16 workgroups,
    /// with `params` as its uniform block: the shape of most per-pixel kernels.
    pub fn dispatch_image<T: bytemuck::Pod>(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        (kernel, entry): (&Kernel, &'static str),
        params: &T,
        buffers: &[&wgpu::Buffer],
        (width, rows): (u32, u32),
    ) {
        let params = self.uniform(params);
        let groups = (groups(width, 16), groups(rows, 16));
        self.dispatch(encoder, kernel, entry, &params, buffers, groups);
    }

    /// Byte offsets a binding may start at: windows into a buffer start at multiples of this.
    pub fn binding_alignment(&self) -> u64 {
        self.limits.min_storage_buffer_offset_alignment as u64
    }

    /// [`Gpu::dispatch`] with each binding a byte range of its buffer: the band of an image
    /// larger than one binding may be.
    pub fn dispatch_windows(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        kernel: &Kernel,
        entry: &'static str,
        params: &wgpu::Buffer,
        windows: &[Window],
        groups: (u32, u32),
    ) {
        let pipeline = self.pipeline(kernel, entry);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: params.as_entire_binding(),
        }];
        for (i, w) in windows.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: w.buffer,
                    offset: w.offset,
                    size: wgpu::BufferSize::new(w.size),
                }),
            });
        }
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(entry),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        if self.profiler.is_on() {
            self.profiler
                .add_bytes(windows.iter().map(|w| w.size).sum::<u64>());
        }
        let timer = self.profiler.pass_writes();
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(entry),
            timestamp_writes: timer
                .as_ref()
                .map(|(set, i)| wgpu::ComputePassTimestampWrites {
                    query_set: set,
                    beginning_of_pass_write_index: Some(*i),
                    end_of_pass_write_index: Some(i + 1),
                }),
        });
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups.0.max(1), groups.1.max(1), 1);
    }

    pub fn encoder(&self) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
    }

    /// Run `record` inside out-of-memory and validation error scopes, submit and wait.
    /// A failure becomes an [`Error`] naming the stage instead of a panic or a silent wrong image.
    pub fn run<T>(
        &self,
        stage: &str,
        record: impl FnOnce(&mut wgpu::CommandEncoder) -> T,
    ) -> Result<T> {
        self.run_as(stage, stage, record)
    }

    /// [`Gpu::run`], profiled under the name `profile_as` (errors still name `stage`).
    fn run_as<T>(
        &self,
        stage: &str,
        profile_as: &str,
        record: impl FnOnce(&mut wgpu::CommandEncoder) -> T,
    ) -> Result<T> {
        self.check(stage)?;
        let profiling = self.profiler.is_on();
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut encoder = self.encoder();
        if profiling {
            self.profiler.begin(&self.device, &mut encoder);
        }
        let out = record(&mut encoder);
        let pending = profiling.then(|| self.profiler.end(&self.device, &mut encoder));
        self.queue.submit([encoder.finish()]);
        let validation = pollster::block_on(validation.pop());
        let oom = pollster::block_on(oom.pop());
        self.wait(stage)?;
        if let Some(pending) = pending {
            self.profiler.finish(&self.device, profile_as, pending)?;
        }
        if oom.is_some() {
            return Err(Error::OutOfMemory {
                stage: stage.to_string(),
            });
        }
        if let Some(e) = validation {
            return Err(Error::Gpu {
                stage: stage.to_string(),
                message: e.to_string(),
            });
        }
        self.check(stage)?;
        Ok(out)
    }

    fn wait(&self, stage: &str) -> Result<()> {
        let polled = self.device.poll(wgpu::PollType::wait_indefinitely());
        self.check_lost(stage)?;
        polled.map_err(|e| Error::Gpu {
            stage: stage.to_string(),
            message: e.to_string(),
        })?;
        Ok(())
    }

    fn check_lost(&self, stage: &str) -> Result<()> {
        match self.lost.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(reason) => Err(Error::DeviceLost(format!("{reason}, during {stage}"))),
            None => Ok(()),
        }
    }

    /// Whether the device is lost (a new one must be opened).
    pub fn is_lost(&self) -> bool {
        self.lost
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// The device lost, or the first GPU error no scope caught since the last check, as the
    /// error of `stage` (the uncaptured error is taken: the next check starts clean).
    pub fn check(&self, stage: &str) -> Result<()> {
        self.check_lost(stage)?;
        let taken = self
            .uncaptured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match taken {
            None => Ok(()),
            Some(Uncaptured::OutOfMemory(message)) => Err(Error::OutOfMemory {
                stage: format!("{stage} ({message})"),
            }),
            Some(Uncaptured::TooLarge(what)) => Err(Error::OutOfMemory {
                stage: format!("{stage}: {what}"),
            }),
            Some(Uncaptured::Other(message)) => Err(Error::Gpu {
                stage: stage.to_string(),
                message,
            }),
        }
    }

    /// Destroy the device, as a driver reset would lose it (for tests of device loss).
    pub fn destroy(&self) {
        self.device.destroy();
        // wgpu reports the loss on its next poll; record it now so the next check sees it.
        let _ = self.device.poll(wgpu::PollType::Poll);
        let mut lost = self.lost.lock().unwrap_or_else(|p| p.into_inner());
        lost.get_or_insert_with(|| "Destroyed: the device was destroyed".into());
    }

    /// Copy a buffer back to the CPU (the only download of a pipeline happens here).
    pub fn read(&self, stage: &str, buffer: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        let size = bytes.div_ceil(4) * 4;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.profiler.add_host_bytes(size);
        self.run_as(stage, "download", |enc| {
            self.profiler.add_bytes(size);
            enc.copy_buffer_to_buffer(buffer, 0, &staging, 0, size)
        })?;
        let slice = staging.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.wait(stage)?;
        let mapped = rx.recv().map_err(|e| Error::Gpu {
            stage: stage.into(),
            message: e.to_string(),
        })?;
        mapped.map_err(|e| Error::Gpu {
            stage: stage.into(),
            message: e.to_string(),
        })?;
        let view = slice.get_mapped_range().map_err(|e| Error::Gpu {
            stage: stage.into(),
            message: e.to_string(),
        })?;
        let out = view[..bytes as usize].to_vec();
        drop(view);
        staging.unmap();
        Ok(out)
    }
}

/// A GPU error that escaped the error scopes, kept until a check turns it into an [`Error`].
#[derive(Debug, Clone, PartialEq)]
enum Uncaptured {
    OutOfMemory(String),
    /// A buffer over the device's limits was asked for (never created).
    TooLarge(String),
    Other(String),
}

impl Uncaptured {
    fn of(e: &wgpu::Error) -> Uncaptured {
        match e {
            wgpu::Error::OutOfMemory { .. } => Uncaptured::OutOfMemory(e.to_string()),
            _ => Uncaptured::Other(e.to_string()),
        }
    }
}

/// Keep `e` unless an earlier error is waiting: the first one is the cause.
fn record(slot: &Mutex<Option<Uncaptured>>, e: Uncaptured) {
    slot.lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert(e);
}

/// The bytes of a buffer one binding sees.
#[derive(Clone, Copy)]
pub(crate) struct Window<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub offset: u64,
    pub size: u64,
}

impl<'a> Window<'a> {
    pub fn whole(buffer: &'a wgpu::Buffer) -> Window<'a> {
        Window {
            buffer,
            offset: 0,
            size: buffer.size(),
        }
    }
}

/// Workgroups needed to cover `n` items with groups of `size`.
pub(crate) fn groups(n: u32, size: u32) -> u32 {
    n.div_ceil(size)
}

/// A 1-D job of `n` items in workgroups of `size`, laid out in 2-D because one dispatch dimension
/// holds at most 65 535 groups: the groups (x, y) and the invocations per row, `stride`; an
/// invocation's item is `id.y * stride + id.x`.
pub(crate) fn groups_1d(n: u32, size: u32) -> ((u32, u32), u32) {
    let total = n.div_ceil(size).max(1);
    let x = total.min(65_535);
    ((x, total.div_ceil(x)), x * size)
}

#[cfg(test)]
pub(crate) mod testing {
    //! One shared device for the kernel tests; a missing adapter fails loudly, never skips.
    use super::*;
    use std::sync::OnceLock;

    pub(crate) fn gpu() -> &'static Gpu {
        static GPU: OnceLock<Gpu> = OnceLock::new();
        GPU.get_or_init(|| {
            let gpu = Gpu::new(Backend::Auto, None).unwrap_or_else(|e| {
                panic!("GPU tests need an adapter: {e}\nOn Debian/Ubuntu: apt-get install mesa-vulkan-drivers libvulkan1")
            });
            gpu.poison.store(true, Ordering::Relaxed);
            gpu
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A device of its own: these tests leave errors behind on purpose.
    fn own_gpu() -> Gpu {
        Gpu::new(Backend::Auto, None).unwrap_or_else(|e| panic!("GPU tests need an adapter: {e}"))
    }

    #[test]
    fn a_buffer_over_the_device_limit_is_an_out_of_memory_error_of_the_stage() {
        let gpu = own_gpu();
        let huge = gpu.storage("huge buffer", gpu.max_buffer_size() + 4);
        let err = gpu
            .run("huge stage", |enc| enc.clear_buffer(&huge, 0, None))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, Error::OutOfMemory { .. })
                && text.contains("huge stage")
                && text.contains("huge buffer"),
            "{text}"
        );
        // Reported once, by the call that caused it: the device goes on working.
        let ok = gpu.storage_init("small", &[1, 2, 3, 4]);
        assert_eq!(gpu.read("after", &ok, 4).unwrap(), [1, 2, 3, 4]);
        // The same with a poisoned (mapped at creation) buffer.
        gpu.poison.store(true, Ordering::Relaxed);
        let _huge = gpu.storage("huge poisoned", gpu.max_buffer_size() * 2);
        assert!(matches!(
            gpu.read("read", &ok, 4),
            Err(Error::OutOfMemory { .. })
        ));
    }

    #[test]
    fn a_validation_error_outside_any_scope_fails_the_next_call_once() {
        let gpu = own_gpu();
        // MAP_READ with MAP_WRITE is invalid: wgpu reports it to the uncaptured-error handler.
        let _bad = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("invalid usage"),
            size: 16,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::MAP_WRITE,
            mapped_at_creation: false,
        });
        let err = gpu.run("next stage", |_| ()).unwrap_err();
        assert!(
            matches!(&err, Error::Gpu { stage, .. } if stage == "next stage"),
            "{err}"
        );
        gpu.run("after", |_| ()).unwrap();
    }

    #[test]
    fn a_destroyed_device_fails_every_call_with_device_lost() {
        let gpu = own_gpu();
        let buffer = gpu.storage_init("data", &[7; 16]);
        gpu.destroy();
        assert!(gpu.is_lost());
        for _ in 0..2 {
            let err = gpu.read("download", &buffer, 16).unwrap_err();
            assert!(
                matches!(&err, Error::DeviceLost(m) if m.contains("download")),
                "{err}"
            );
        }
        // Creating buffers and pipelines on it does not panic either.
        let b = gpu.storage("after the loss", 64);
        let _ = gpu.uniform(&[1u32; 4]);
        let _ = gpu.pipeline(&NORMALIZE, "normalize");
        let err = gpu
            .run("clear", |enc| enc.clear_buffer(&b, 0, None))
            .unwrap_err();
        assert!(matches!(err, Error::DeviceLost(_)), "{err}");
        // A new device works.
        let fresh = own_gpu();
        let b = fresh.storage_init("data", &[9; 8]);
        assert_eq!(fresh.read("read", &b, 8).unwrap(), [9; 8]);
    }
}
