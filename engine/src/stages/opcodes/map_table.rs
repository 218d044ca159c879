//! MapTable (DNG opcode 7): a lookup table on the 16-bit value scale, per plane.

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
    pub entries: u32,
    pub _pad: u32,
    pub to_raw_scale: [f32; 4],
    pub to_raw_offset: [f32; 4],
}

impl Params {
    /// The kernel's parameters for a table of `entries` on `band` of a frame `height` rows high;
    /// `None` when the area misses the frame.
    pub fn new(
        area: &Area,
        entries: usize,
        band: Band,
        height: u32,
        to_raw: ToRaw,
    ) -> Option<Params> {
        let area = area.clipped(band.width, height)?;
        let (format, stride, image_planes) = band.layout.shader();
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
            entries: entries.clamp(1, 65536) as u32,
            _pad: 0,
            to_raw_scale: to_raw.scale,
            to_raw_offset: to_raw.offset,
        })
    }
}

/// The table as the kernel binds it: entries / 65535.
pub(crate) fn table_values(table: &[u16]) -> Vec<f32> {
    table.iter().map(|&v| v as f32 / 65535.0).collect()
}

/// Record the kernel on `data` (the band, in place); `table` from [`table_values`].
pub(crate) fn record(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &Params,
    data: &wgpu::Buffer,
    table: &wgpu::Buffer,
) {
    let params = gpu.uniform(p);
    let groups = (gpu::groups(p.width, 16), gpu::groups(p.rows, 16));
    gpu.dispatch(
        enc,
        &gpu::MAP_TABLE,
        "map_table",
        &params,
        &[data, table],
        groups,
    );
}

/// CPU reference, loop for loop: `data` holds `stride` f32 values per pixel.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, table: &[f32], data: &mut [f32], stride: usize) {
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
                let index = (raw * 65535.0).round().clamp(0.0, (p.entries - 1) as f32) as usize;
                *v = (table[index] - o) / s;
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

    fn run(p: &Params, layout: Layout, table: &[f32], values: &[f32]) -> Vec<f32> {
        let gpu = gpu();
        let data = upload(gpu, layout, values);
        let t = gpu.storage_init("table", bytemuck::cast_slice(table));
        gpu.run("map table", |enc| record(gpu, enc, p, &data, &t))
            .unwrap();
        download(gpu, layout, &data, values.len())
    }

    #[test]
    fn gpu_matches_reference_on_random_raw_mosaic_and_rgb() {
        let mut rng = Rng::new(8);
        let (w, h) = (45u32, 31u32);
        // A 12-bit square-root curve (a typical decompanding table in list 1 is its inverse).
        let table: Vec<u16> = (0..4096)
            .map(|i| ((i as f64 / 4095.0).sqrt() * 4095.0) as u16)
            .collect();
        let area = Area {
            top: 0,
            left: 3,
            bottom: 31,
            right: 40,
            plane: 0,
            planes: 3,
            row_pitch: 1,
            col_pitch: 2,
        };
        for (layout, to_raw) in [
            (
                Layout::F32 {
                    stride: 1,
                    planes: 1,
                },
                ToRaw::sensor([256.0, 250.0, 260.0, 240.0], 4095.0),
            ),
            (Layout::Rgba16f, ToRaw::IDENTITY),
        ] {
            let band = Band {
                width: w,
                rows: h,
                y0: 0,
                layout,
            };
            let p = Params::new(&area, table.len(), band, h, to_raw).unwrap();
            let stride = layout.shader().2 as usize;
            // Raw values on the 12-bit scale (list 1), or small linear values (list 2).
            let values = through_f16(
                &(0..(w * h) as usize * stride)
                    .map(|_| rng.unit() * 0.07)
                    .collect::<Vec<_>>(),
            );
            let t = table_values(&table);
            let mut cpu = values.clone();
            reference(&p, &t, &mut cpu, stride);
            let tol = if layout == Layout::Rgba16f {
                2e-3
            } else {
                1e-5
            };
            let diff = max_abs_diff(&run(&p, layout, &t, &values), &cpu);
            assert!(diff < tol, "{layout:?}: max diff {diff}");
            assert!(
                max_abs_diff(&cpu, &values) > 0.01,
                "{layout:?}: nothing mapped"
            );
        }
    }

    #[test]
    fn gpu_matches_reference_on_real_photo_and_indexes_raw_values() {
        let (w, h, px) = kodak("kodim23");
        let layout = Layout::F32 {
            stride: 1,
            planes: 1,
        };
        let area = Area {
            top: 0,
            left: 0,
            bottom: h as i64,
            right: w as i64,
            plane: 0,
            planes: 1,
            row_pitch: 1,
            col_pitch: 1,
        };
        // Doubling table on raw values: black 0, white 4095, so normalized v ↦ 2v.
        let table: Vec<u16> = (0..4096u32).map(|i| (2 * i).min(65535) as u16).collect();
        let p = Params::new(
            &area,
            table.len(),
            Band {
                width: w,
                rows: h,
                y0: 0,
                layout,
            },
            h,
            ToRaw::sensor([0.0; 4], 4095.0),
        )
        .unwrap();
        let values: Vec<f32> = px
            .iter()
            .map(|c| (c[1] * 4095.0).round() / 4095.0)
            .collect();
        let t = table_values(&table);
        let mut cpu = values.clone();
        reference(&p, &t, &mut cpu, 1);
        assert!(max_abs_diff(&run(&p, layout, &t, &values), &cpu) < 1e-5);
        for (o, v) in cpu.iter().zip(&values) {
            assert!((o - 2.0 * v).abs() < 1e-5, "{o} vs 2 × {v}");
        }
    }
}
