//! A prototype of the develop pipeline shaped for CPU adapters (lavapipe), timed end to end the
//! way the engine is: upload of the u16 mosaic, one fused kernel, download into a `Vec<u16>`.
//! It lives here, not in the engine, as evidence for the suggestions in the README; see
//! `shaders/fused_demosaic.wgsl` for what it changes.

use crate::pieces::{open, Ctx};
use crate::{psnr16, time, Timing};

const FUSED: &str = include_str!("shaders/fused_demosaic.wgsl");

/// One timed variant, with its PSNR against the truth when it is a plain demosaic.
pub struct Variant {
    pub name: String,
    pub timing: Timing,
    pub psnr_db: Option<f64>,
}

struct Fused<'a> {
    ctx: &'a Ctx,
    w: u32,
    h: u32,
    raw: wgpu::Buffer,
    out: wgpu::Buffer,
    staging: wgpu::Buffer,
}

impl Fused<'_> {
    fn params(&self, flags: u32, black: f32, white: f32) -> wgpu::Buffer {
        let f = |v: f32| v.to_bits();
        let photo = flags & 2 != 0;
        let scale = if photo { 1.0 } else { 65535.0 } / (white - black);
        let (one, zero) = (f(1.0), 0);
        #[rustfmt::skip]
        let words = [
            self.w, self.h, flags, 0,
            f(black), f(scale), f(1.5), f(0.6),
            f(2.0), 0, 0, 0,
            one, one, one, zero,
            one, zero, zero, zero,
            zero, one, zero, zero,
            zero, zero, one, zero,
        ];
        self.ctx.uniform(&words)
    }

    fn dispatch(&self, pipeline: &wgpu::ComputePipeline, params: &wgpu::Buffer) {
        let groups = ((self.w / 2).div_ceil(16), (self.h / 2).div_ceil(8));
        self.ctx.submit_wait(|e| {
            self.ctx
                .dispatch(e, pipeline, params, &[&self.raw, &self.out], groups)
        });
    }

    /// Upload, one kernel, download: the whole call, with buffers kept from call to call.
    fn call(
        &self,
        pipeline: &wgpu::ComputePipeline,
        params: &wgpu::Buffer,
        mosaic: &[u16],
    ) -> Vec<u16> {
        let ctx = self.ctx;
        ctx.queue
            .write_buffer(&self.raw, 0, bytemuck::cast_slice(mosaic));
        let groups = ((self.w / 2).div_ceil(16), (self.h / 2).div_ceil(8));
        let size = self.out.size();
        ctx.submit_wait(|e| {
            ctx.dispatch(e, pipeline, params, &[&self.raw, &self.out], groups);
            e.copy_buffer_to_buffer(&self.out, 0, &self.staging, 0, size);
        });
        let slice = self.staging.slice(..);
        slice.map_async(wgpu::MapMode::Read, |r| r.expect("map"));
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("poll");
        let n = (self.w * self.h * 3) as usize;
        let mut data = vec![0u16; n];
        data.copy_from_slice(
            &bytemuck::cast_slice::<u8, u16>(&slice.get_mapped_range().expect("mapped"))[..n],
        );
        self.staging.unmap();
        data
    }
}

/// Time the prototype on a `width`×`height` RGGB mosaic (even sides).
#[allow(clippy::too_many_arguments)]
pub fn profile(
    adapter_name: &str,
    width: u32,
    height: u32,
    mosaic: &[u16],
    levels: (f32, f32),
    truth: Option<&[u16]>,
    warmup: usize,
    runs: usize,
) -> Result<Vec<Variant>, String> {
    if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
        return Err("the fused prototype needs even image sides".into());
    }
    let ctx = open(adapter_name)?;
    let px = width as u64 * height as u64;
    let checked = ctx.pipeline(FUSED, "fused_develop");
    // SAFETY: the kernel indexes only inside its buffers (indices are clamped or mirrored into
    // the image, and the output index is checked against the quad count), which is what the
    // runtime checks would otherwise enforce; used only to measure what those checks cost.
    let unchecked = unsafe {
        ctx.device.create_shader_module_trusted(
            wgpu::ShaderModuleDescriptor {
                label: Some("fused unchecked"),
                source: wgpu::ShaderSource::Wgsl(FUSED.into()),
            },
            wgpu::ShaderRuntimeChecks::unchecked(),
        )
    };
    let unchecked = ctx
        .device
        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("fused unchecked"),
            layout: None,
            module: &unchecked,
            entry_point: Some("fused_develop"),
            compilation_options: Default::default(),
            cache: None,
        });
    let fused = Fused {
        ctx: &ctx,
        w: width,
        h: height,
        raw: ctx.storage(px * 2),
        out: ctx.storage(px * 6),
        staging: ctx.staging((px * 6).div_ceil(4) * 4),
    };
    let (black, white) = levels;
    let bilinear = fused.params(0, black, white);
    let mhc = fused.params(1, black, white);
    let photo = fused.params(3, black, white);
    let psnr = |data: &[u16]| truth.map(|t| psnr16(data, t, width, height, 8));

    let mut out = Vec::new();
    for (name, pipeline, params, plain) in [
        ("fused bilinear (16-bit out)", &checked, &bilinear, true),
        ("fused MHC (16-bit out)", &checked, &mhc, true),
        (
            "fused MHC + colour + tone, fixed exposure (16-bit out)",
            &checked,
            &photo,
            false,
        ),
    ] {
        let first = fused.call(pipeline, params, mosaic);
        out.push(Variant {
            name: format!("prototype {name}, end to end"),
            timing: time(warmup, runs, || fused.call(pipeline, params, mosaic)),
            psnr_db: if plain { psnr(&first) } else { None },
        });
    }
    let write_only = ctx.pipeline(FUSED, "write_only");
    for (name, pipeline, params) in [
        (
            "floor: store the 16-bit RGB output only (no loads, no math)",
            &write_only,
            &bilinear,
        ),
        ("fused bilinear", &checked, &bilinear),
        ("fused bilinear, no bounds checks", &unchecked, &bilinear),
        ("fused MHC", &checked, &mhc),
        ("fused MHC, no bounds checks", &unchecked, &mhc),
    ] {
        out.push(Variant {
            name: format!("prototype {name}, kernel only"),
            timing: time(warmup, runs, || fused.dispatch(pipeline, params)),
            psnr_db: None,
        });
    }
    Ok(out)
}
