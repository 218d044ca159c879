//! MapPolynomial (DNG opcode 8): a polynomial tone map of an area's values, per plane.

use bytemuck::{Pod, Zeroable};

use super::{in_area, position, Band, ToRaw};
use crate::gpu::{self, Gpu};
use crate::raw::opcodes::Area;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub width: u32,
    pub rows: u32,
    pub y0: u32,
    pub format: u32,
    pub stride: u32,
    pub image_planes: u32,
    pub plane: u32,
    pub planes: u32,
    pub top: u32,
    pub left: u32,
    pub bottom: u32,
    pub right: u32,
    pub row_pitch: u32,
    pub col_pitch: u32,
    pub degree: u32,
    pub _pad: u32,
    /// c0..c8 (the spec's largest degree is 8).
    pub coefficients: [f32; 12],
    pub to_raw_scale: [f32; 4],
    pub to_raw_offset: [f32; 4],
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
        let area = area.clipped(band.width, height)?;
        let (format, stride, image_planes) = band.layout.shader();
        let mut c = [0.0f32; 12];
        for (dst, &src) in c.iter_mut().zip(coefficients) {
            *dst = src as f32;
        }
        Some(Params {
            width: band.width,
            rows: band.rows,
            y0: band.y0,
            format,
            stride,
            image_planes,
            plane: area.plane,
            planes: area.planes,
            top: area.top as u32,
            left: area.left as u32,
            bottom: area.bottom as u32,
            right: area.right as u32,
            row_pitch: area.row_pitch,
            col_pitch: area.col_pitch,
            degree: coefficients.len().clamp(1, 9) as u32 - 1,
            _pad: 0,
            coefficients: c,
            to_raw_scale: to_raw.scale,
            to_raw_offset: to_raw.offset,
        })
    }
}

/// Record the kernel on `data` (the band, in place).
pub(crate) fn record(gpu: &Gpu, enc: &mut wgpu::CommandEncoder, p: &Params, data: &wgpu::Buffer) {
    let params = gpu.uniform(p);
    let groups = (gpu::groups(p.width, 16), gpu::groups(p.rows, 16));
    gpu.dispatch(
        enc,
        &gpu::MAP_POLYNOMIAL,
        "map_polynomial",
        &params,
        &[data],
        groups,
    );
}

/// CPU reference, loop for loop: `data` holds `stride` f32 values per pixel.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, data: &mut [f32], stride: usize) {
    for row in 0..p.rows {
        let y = row + p.y0;
        for x in 0..p.width {
            let area = [p.top, p.left, p.bottom, p.right];
            if !in_area(x, y, area, [p.row_pitch, p.col_pitch]) {
                continue;
            }
            let pos = position(x, y);
            let (s, o) = (p.to_raw_scale[pos], p.to_raw_offset[pos]);
            let i = (row * p.width + x) as usize;
            for plane in p.plane..(p.plane + p.planes).min(p.image_planes) {
                let v = &mut data[i * stride + plane as usize];
                let raw = *v * s + o;
                let mut acc = p.coefficients[p.degree as usize];
                for k in (1..=p.degree as usize).rev() {
                    acc = acc * raw + p.coefficients[k - 1];
                }
                *v = (acc - o) / s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{download, through_f16, upload};
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
            (
                Layout::F32 {
                    stride: 1,
                    planes: 1,
                },
                ToRaw::sensor([512.0; 4], 16383.0),
            ),
            (
                Layout::F32 {
                    stride: 3,
                    planes: 3,
                },
                ToRaw::IDENTITY,
            ),
            (Layout::Rgba16f, ToRaw::IDENTITY),
        ];
        for (layout, to_raw) in cases {
            let mosaic = matches!(layout, Layout::F32 { stride: 1, .. });
            let area = Area {
                plane: if mosaic { 0 } else { 1 },
                ..area
            };
            let band = Band {
                width: w,
                rows: h - 4,
                y0: 3,
                layout,
            };
            let p = Params::new(&area, &coefficients, band, h, to_raw).unwrap();
            let stride = layout.shader().2 as usize;
            let values = through_f16(
                &(0..(w * band.rows) as usize * stride)
                    .map(|_| rng.unit())
                    .collect::<Vec<_>>(),
            );
            let gpu_out = run(&p, layout, &values);
            let mut cpu = values.clone();
            reference(&p, &mut cpu, stride);
            let tol = if layout == Layout::Rgba16f {
                2e-3
            } else {
                1e-5
            };
            let diff = max_abs_diff(&gpu_out, &cpu);
            assert!(diff < tol, "{layout:?}: max diff {diff}");
            assert!(
                max_abs_diff(&cpu, &values) > 0.05,
                "{layout:?}: nothing mapped"
            );
        }
    }

    #[test]
    fn gpu_matches_reference_on_real_photo_and_the_polynomial_is_exact() {
        let (w, h, px) = kodak("kodim19");
        let area = Area {
            top: 0,
            left: 0,
            bottom: h as i64,
            right: w as i64,
            plane: 0,
            planes: 3,
            row_pitch: 1,
            col_pitch: 1,
        };
        let layout = Layout::F32 {
            stride: 3,
            planes: 3,
        };
        let coefficients = [0.0, 0.5, 0.5];
        let p = Params::new(
            &area,
            &coefficients,
            Band {
                width: w,
                rows: h,
                y0: 0,
                layout,
            },
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
