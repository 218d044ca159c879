//! MapTable (DNG opcode 7): a lookup table on the 16-bit value scale, per plane.

use bytemuck::{Pod, Zeroable};

use super::{Band, Pixels, ToRaw};
use crate::gpu::{self, Gpu};
use crate::raw::opcodes::Area;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub px: Pixels,
    pub entries: u32,
    pub _pad: u32,
    pub to_raw: ToRaw,
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
        Some(Params {
            px: Pixels::new(area, band, height)?,
            entries: entries.clamp(1, 65536) as u32,
            _pad: 0,
            to_raw,
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
    let size = (p.px.width, p.px.rows);
    gpu.dispatch_image(enc, (&gpu::MAP_TABLE, "map_table"), p, &[data, table], size);
}

/// CPU reference, loop for loop: `data` holds `stride` f32 values per pixel.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, table: &[f32], data: &mut [f32], stride: usize) {
    p.px.map_raw(&p.to_raw, data, stride, |_, _, _, raw| {
        let index = (raw * 65535.0).round().clamp(0.0, (p.entries - 1) as f32) as usize;
        table[index]
    });
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, download, random_values, upload, whole_area};
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
                Layout::MOSAIC,
                ToRaw::sensor([256.0, 250.0, 260.0, 240.0], 4095.0),
            ),
            (Layout::Rgba16f, ToRaw::IDENTITY),
        ] {
            let band = Band::new(w, h, 0, layout);
            let p = Params::new(&area, table.len(), band, h, to_raw).unwrap();
            let stride = layout.shader().2 as usize;
            // Raw values on the 12-bit scale (list 1), or small linear values (list 2).
            let values = random_values(&mut rng, (w * h) as usize * stride, 0.07);
            let t = table_values(&table);
            let mut cpu = values.clone();
            reference(&p, &t, &mut cpu, stride);
            assert_close(layout, &run(&p, layout, &t, &values), &cpu);
            assert!(
                max_abs_diff(&cpu, &values) > 0.01,
                "{layout:?}: nothing mapped"
            );
        }
    }

    #[test]
    fn gpu_matches_reference_on_real_photo_and_indexes_raw_values() {
        let (w, h, px) = kodak("kodim23");
        let layout = Layout::MOSAIC;
        let area = whole_area(w, h, 1);
        // Doubling table on raw values: black 0, white 4095, so normalized v ↦ 2v.
        let table: Vec<u16> = (0..4096u32).map(|i| (2 * i).min(65535) as u16).collect();
        let p = Params::new(
            &area,
            table.len(),
            Band::new(w, h, 0, layout),
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
