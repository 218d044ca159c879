//! MapPolynomial (DNG opcode 8): a polynomial tone map of an area's values, per plane.

use bytemuck::{Pod, Zeroable};

use super::{Band, Pixels, ToRaw};
use crate::gpu::{self, Gpu};
use crate::raw::opcodes::Area;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub px: Pixels,
    pub degree: u32,
    pub _pad: u32,
    /// c0..c8 (the spec's largest degree is 8).
    pub coefficients: [f32; 12],
    pub to_raw: ToRaw,
}

impl Params {
    /// The kernel's parameters on `band` of a frame `height` rows high; `None` when the area
    /// misses the frame.
    pub fn new(
        area: &Area,
        coefficients: &[f64],
        band: Band,
        height: u32,
        to_raw: ToRaw,
    ) -> Option<Params> {
        let px = Pixels::new(area, band, height)?;
        let mut c = [0.0f32; 12];
        for (dst, &src) in c.iter_mut().zip(coefficients) {
            *dst = src as f32;
        }
        Some(Params {
            px,
            degree: coefficients.len().clamp(1, 9) as u32 - 1,
            _pad: 0,
            coefficients: c,
            to_raw,
        })
    }
}

/// Record the kernel on `data` (the band, in place).
pub(crate) fn record(gpu: &Gpu, enc: &mut wgpu::CommandEncoder, p: &Params, data: &wgpu::Buffer) {
    let size = (p.px.width, p.px.rows);
    gpu.dispatch_image(
        enc,
        (&gpu::MAP_POLYNOMIAL, "map_polynomial"),
        p,
        &[data],
        size,
    );
}

/// CPU reference, loop for loop: `data` holds `stride` f32 values per pixel.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, data: &mut [f32], stride: usize) {
    p.px.map_raw(&p.to_raw, data, stride, |_, _, _, raw| {
        let mut acc = p.coefficients[p.degree as usize];
        for k in (1..=p.degree as usize).rev() {
            acc = acc * raw + p.coefficients[k - 1];
        }
        acc
    });
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, download, random_values, upload, whole_area};
    use super::super::Layout;
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::testing::{kodak, max_abs_diff, Rng};

    fn run(p: &Params, layout: Layout, values: &[f32]) -> Vec<f32> {
        let gpu = gpu();
        let data = upload(gpu, layout, values);
        gpu.run("map polynomial", |enc| record(gpu, enc, p, &data))
            .unwrap();
        download(gpu, layout, &data, values.len())
    }

    #[test]
    fn gpu_matches_reference_on_random_mosaic_and_rgb() {
        let mut rng = Rng::new(4);
        let (w, h) = (53u32, 29u32);
        let area = Area {
            top: 1,
            left: 2,
            bottom: 27,
            right: 50,
            plane: 1,
            planes: 2,
            row_pitch: 1,
            col_pitch: 3,
        };
        let coefficients = [0.05, 0.5, 0.6, -0.2];
        let cases = [
            (Layout::MOSAIC, ToRaw::sensor([512.0; 4], 16383.0)),
            (Layout::PACKED_RGB, ToRaw::IDENTITY),
            (Layout::Rgba16f, ToRaw::IDENTITY),
        ];
        for (layout, to_raw) in cases {
            let mosaic = matches!(layout, Layout::F32 { stride: 1, .. });
            let area = Area {
                plane: if mosaic { 0 } else { 1 },
                ..area
            };
            let band = Band::new(w, h - 4, 3, layout);
            let p = Params::new(&area, &coefficients, band, h, to_raw).unwrap();
            let stride = layout.shader().2 as usize;
            let values = random_values(&mut rng, (w * band.rows) as usize * stride, 1.0);
            let gpu_out = run(&p, layout, &values);
            let mut cpu = values.clone();
            reference(&p, &mut cpu, stride);
            assert_close(layout, &gpu_out, &cpu);
            assert!(
                max_abs_diff(&cpu, &values) > 0.05,
                "{layout:?}: nothing mapped"
            );
        }
    }

    #[test]
    fn gpu_matches_reference_on_real_photo_and_the_polynomial_is_exact() {
        let (w, h, px) = kodak("kodim19");
        let area = whole_area(w, h, 3);
        let layout = Layout::PACKED_RGB;
        let coefficients = [0.0, 0.5, 0.5];
        let p = Params::new(
            &area,
            &coefficients,
            Band::new(w, h, 0, layout),
            h,
            ToRaw::IDENTITY,
        )
        .unwrap();
        let values = px.as_flattened().to_vec();
        let gpu_out = run(&p, layout, &values);
        let mut cpu = values.clone();
        reference(&p, &mut cpu, 3);
        assert!(max_abs_diff(&gpu_out, &cpu) < 1e-5);
        // v ↦ (v + v²) / 2, by hand.
        for (o, v) in cpu.iter().zip(&values) {
            assert!((o - (v + v * v) / 2.0).abs() < 1e-6);
        }
    }
}
