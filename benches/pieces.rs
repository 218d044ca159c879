//! The develop pipeline taken apart: the engine's own WGSL kernels (the same files, through
//! `include_str!`) replayed one at a time on a wgpu device of the same adapter, so that upload,
//! each kernel, buffer creation (wgpu zero-fills new buffers before a kernel may read them) and the
//! readback can be timed separately. The engine's stages are private; this mirrors
//! `schedule::develop::render` for a frame that fits in one band.

use crate::{time, Timing};

const NORMALIZE: &str = include_str!("../shaders/normalize.wgsl");
const DEMOSAIC: &str = include_str!("../shaders/demosaic.wgsl");
const COLOR: &str = include_str!("../shaders/color.wgsl");
const STATS: &str = include_str!("../shaders/stats.wgsl");
const TONE: &str = include_str!("../shaders/tone.wgsl");

/// One timed piece.
#[derive(Debug, Clone)]
pub struct Piece {
    pub name: String,
    /// Bytes the piece reads plus writes in memory (buffers only), for a bandwidth figure.
    pub bytes: u64,
    pub timing: Timing,
}

pub(crate) struct Ctx {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
}

impl Ctx {
    pub fn pipeline(&self, source: &str, entry: &str) -> wgpu::ComputePipeline {
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(entry),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        self.device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
    }

    pub fn storage(&self, size: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: size.div_ceil(4) * 4,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// As the engine uploads: a new buffer mapped at creation, filled, unmapped.
    fn storage_init(&self, data: &[u8]) -> wgpu::Buffer {
        let size = (data.len() as u64).div_ceil(4) * 4;
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: true,
        });
        buffer
            .slice(..)
            .get_mapped_range_mut()
            .expect("mapped at creation")
            .slice(..data.len())
            .copy_from_slice(data);
        buffer.unmap();
        buffer
    }

    pub fn uniform(&self, words: &[u32]) -> wgpu::Buffer {
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: (words.len() * 4) as u64,
            usage: wgpu::BufferUsages::UNIFORM,
            mapped_at_creation: true,
        });
        buffer
            .slice(..)
            .get_mapped_range_mut()
            .expect("mapped at creation")
            .copy_from_slice(bytemuck::cast_slice(words));
        buffer.unmap();
        buffer
    }

    pub fn dispatch(
        &self,
        enc: &mut wgpu::CommandEncoder,
        pipeline: &wgpu::ComputePipeline,
        params: &wgpu::Buffer,
        buffers: &[&wgpu::Buffer],
        groups: (u32, u32),
    ) {
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: params.as_entire_binding(),
        }];
        for (i, b) in buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: b.as_entire_binding(),
            });
        }
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups.0, groups.1, 1);
    }

    pub fn submit_wait(&self, record: impl FnOnce(&mut wgpu::CommandEncoder)) {
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
        record(&mut enc);
        self.queue.submit([enc.finish()]);
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("poll");
    }

    /// As the engine downloads: a new MAP_READ buffer, a copy, map, copy out to a Vec.
    fn read(&self, src: &wgpu::Buffer, staging: Option<&wgpu::Buffer>) -> Vec<u8> {
        let size = src.size();
        let fresh;
        let staging = match staging {
            Some(s) => s,
            None => {
                fresh = self.staging(size);
                &fresh
            }
        };
        self.submit_wait(|enc| enc.copy_buffer_to_buffer(src, 0, staging, 0, size));
        let slice = staging.slice(..);
        slice.map_async(wgpu::MapMode::Read, |r| r.expect("map"));
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("poll");
        let out = slice.get_mapped_range().expect("mapped").to_vec();
        staging.unmap();
        out
    }

    pub fn staging(&self, size: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }
}

/// Open the adapter called `adapter_name` (the one the engine chose) the way the engine does.
pub(crate) fn open(adapter_name: &str) -> Result<Ctx, String> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    let adapter = adapters
        .into_iter()
        .find(|a| a.get_info().name == adapter_name)
        .ok_or_else(|| format!("adapter {adapter_name:?} not found"))?;
    let desc = wgpu::DeviceDescriptor {
        label: Some("bench pieces"),
        required_features: wgpu::Features::empty(),
        required_limits: adapter.limits(),
        experimental_features: wgpu::ExperimentalFeatures::disabled(),
        memory_hints: wgpu::MemoryHints::Performance,
        trace: wgpu::Trace::Off,
    };
    let (device, queue) =
        pollster::block_on(adapter.request_device(&desc)).map_err(|e| e.to_string())?;
    Ok(Ctx { device, queue })
}

/// The engine's 16-bit unpacking of the tone kernel's output (two u32 words → R, G, B).
fn unpack16(words: &[u32]) -> Vec<u16> {
    words
        .chunks(2)
        .flat_map(|w| {
            [
                (w[0] & 0xffff) as u16,
                (w[0] >> 16) as u16,
                (w[1] & 0xffff) as u16,
            ]
        })
        .collect()
}

/// Time every piece of developing a `width`×`height` RGGB mosaic (one band).
pub fn profile(
    adapter_name: &str,
    width: u32,
    height: u32,
    mosaic: &[u16],
    warmup: usize,
    runs: usize,
) -> Result<Vec<Piece>, String> {
    let ctx = open(adapter_name)?;
    let (w, h) = (width, height);
    let px = w as u64 * h as u64;
    let g16 = (w.div_ceil(16), h.div_ceil(16));
    let g32 = (w.div_ceil(32), h.div_ceil(32));

    let normalize = ctx.pipeline(NORMALIZE, "normalize");
    let bilinear = ctx.pipeline(DEMOSAIC, "demosaic_bilinear");
    let mhc = ctx.pipeline(DEMOSAIC, "demosaic_mhc");
    let color = ctx.pipeline(COLOR, "color");
    let histogram = ctx.pipeline(STATS, "histogram");
    let tone = ctx.pipeline(TONE, "tone");

    let f = |v: f32| v.to_bits();
    let inv = f(1.0 / 65535.0);
    let np = ctx.uniform(&[w, h, 0, 0, 0, 0, 0, 0, inv, inv, inv, inv]);
    // RGGB packed two bits per 2×2 position: [R, G, G, B] = [0, 1, 1, 2].
    let cfa = 1 << 2 | 1 << 4 | 2 << 6;
    let dp = ctx.uniform(&[w, h, 0, h, 0, h, cfa, 0]);
    let (one, zero) = (f(1.0), 0);
    #[rustfmt::skip]
    let cp = ctx.uniform(&[
        w, h, 0, 0,
        one, one, one, zero,
        one, zero, zero, zero,
        zero, one, zero, zero,
        zero, zero, one, zero,
    ]);
    let sp = ctx.uniform(&[w, h, 0, 0]);
    let tp16 = ctx.uniform(&[w, h, 16, 3, f(1.5), f(0.6), f(2.0), 0]);
    let tp8 = ctx.uniform(&[w, h, 8, 3, f(1.5), f(0.6), f(2.0), 0]);

    let raw_bytes: &[u8] = bytemuck::cast_slice(mosaic);
    let raw = ctx.storage_init(raw_bytes);
    let mosaic_f32 = ctx.storage(px * 4);
    let rgb = ctx.storage(px * 8);
    let bins = ctx.storage(256 * 4);
    let out16 = ctx.storage(px * 8);
    let out8 = ctx.storage(px * 4);
    let staging16 = ctx.staging(px * 8);

    let mut pieces = Vec::new();
    let mut add = |name: &str, bytes: u64, timing: Timing| {
        pieces.push(Piece {
            name: name.to_string(),
            bytes,
            timing,
        })
    };

    add(
        "upload: new buffer mapped at creation + memcpy of u16 mosaic",
        px * 2,
        time(warmup, runs, || ctx.storage_init(raw_bytes)),
    );
    add(
        "upload: queue.write_buffer into a reused buffer",
        px * 2,
        time(warmup, runs, || {
            ctx.queue.write_buffer(&raw, 0, raw_bytes);
            ctx.submit_wait(|_| {});
        }),
    );
    add(
        "kernel normalize (u16 -> f32)",
        px * 6,
        time(warmup, runs, || {
            ctx.submit_wait(|e| ctx.dispatch(e, &normalize, &np, &[&raw, &mosaic_f32], g16))
        }),
    );
    add(
        "kernel demosaic_bilinear (f32 -> rgba f16)",
        px * 12,
        time(warmup, runs, || {
            ctx.submit_wait(|e| ctx.dispatch(e, &bilinear, &dp, &[&mosaic_f32, &rgb], g32))
        }),
    );
    add(
        "kernel demosaic_mhc (f32 -> rgba f16)",
        px * 12,
        time(warmup, runs, || {
            ctx.submit_wait(|e| ctx.dispatch(e, &mhc, &dp, &[&mosaic_f32, &rgb], g32))
        }),
    );
    add(
        "kernel color (rgba f16 in place)",
        px * 16,
        time(warmup, runs, || {
            ctx.submit_wait(|e| ctx.dispatch(e, &color, &cp, &[&rgb], g16))
        }),
    );
    add(
        "kernel histogram (exposure statistics)",
        px * 8,
        time(warmup, runs, || {
            ctx.submit_wait(|e| ctx.dispatch(e, &histogram, &sp, &[&rgb, &bins], g16))
        }),
    );
    add(
        "kernel tone, 16-bit out (rgba f16 -> rgba u16)",
        px * 16,
        time(warmup, runs, || {
            ctx.submit_wait(|e| ctx.dispatch(e, &tone, &tp16, &[&rgb, &out16], g16))
        }),
    );
    add(
        "kernel tone, 8-bit out (rgba f16 -> rgba u8)",
        px * 12,
        time(warmup, runs, || {
            ctx.submit_wait(|e| ctx.dispatch(e, &tone, &tp8, &[&rgb, &out8], g16))
        }),
    );
    // What the engine pays per call on top of the kernels: it creates the f32 mosaic, the f16 RGB
    // and the output buffer anew each time, and wgpu zero-fills each before its first use.
    add(
        "new buffers (f32 mosaic, f16 rgb, u16 out) + their first-use zero-fill",
        px * (4 + 8 + 8),
        time(warmup, runs, || {
            let m = ctx.storage(px * 4);
            let r = ctx.storage(px * 8);
            let o = ctx.storage(px * 8);
            ctx.submit_wait(|e| {
                ctx.dispatch(e, &normalize, &np, &[&raw, &m], g16);
                ctx.dispatch(e, &bilinear, &dp, &[&m, &r], g32);
                ctx.dispatch(e, &tone, &tp16, &[&r, &o], g16);
            });
        }),
    );
    add(
        "same three kernels on reused buffers (to subtract from the line above)",
        px * (6 + 12 + 16),
        time(warmup, runs, || {
            ctx.submit_wait(|e| {
                ctx.dispatch(e, &normalize, &np, &[&raw, &mosaic_f32], g16);
                ctx.dispatch(e, &bilinear, &dp, &[&mosaic_f32, &rgb], g32);
                ctx.dispatch(e, &tone, &tp16, &[&rgb, &out16], g16);
            })
        }),
    );
    add(
        "readback 16-bit: new staging buffer + copy + map + to_vec (engine path)",
        px * 32,
        time(warmup, runs, || ctx.read(&out16, None)),
    );
    add(
        "readback 16-bit: reused staging buffer + copy + map + to_vec",
        px * 32,
        time(warmup, runs, || ctx.read(&out16, Some(&staging16))),
    );
    let words = ctx.read(&out16, Some(&staging16));
    let words: Vec<u32> = bytemuck::cast_slice(&words).to_vec();
    add(
        "CPU unpack rgba u16 words -> rgb Vec<u16> (engine's flat_map)",
        px * (8 + 6),
        time(warmup, runs, || unpack16(&words)),
    );
    Ok(pieces)
}
