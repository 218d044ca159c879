//! GainMap (DNG opcode 9): lens shading and other smooth per-pixel gains; also ScalePerRow/Column
//! and DeltaPerRow/Column (ids 10–13), parsed as one-dimensional (additive) maps.

use bytemuck::{Pod, Zeroable};

use super::{Band, Pixels, ToRaw};
use crate::gpu::{self, Gpu};
use crate::raw::opcodes::GainMap;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub px: Pixels,
    pub points_v: u32,
    pub points_h: u32,
    pub map_planes: u32,
    /// 1: the map's values are added (DeltaPerRow/Column), 0: multiplied.
    pub additive: u32,
    pub index_v: [f32; 2],
    pub index_h: [f32; 2],
    pub _pad1: [f32; 2],
    pub to_raw: ToRaw,
}

/// Map index of pixel `i` along one axis as `i·a + b`: the pixel's centre relative to the stage
/// image (`start`, `size` pixels), minus the map origin, over the spacing.
fn index_line(start: i64, size: i64, origin: f64, spacing: f64, points: u32) -> [f32; 2] {
    if points < 2 {
        return [0.0, 0.0];
    }
    let size = size.max(1) as f64;
    let a = 1.0 / (size * spacing);
    let b = ((0.5 - start as f64) / size - origin) / spacing;
    [a as f32, b as f32]
}

impl Params {
    /// The kernel's parameters for `map` on `band` of a `width`×`height` frame; `None` when the
    /// map's area misses the frame.
    pub fn new(map: &GainMap, band: Band, height: u32, to_raw: ToRaw) -> Option<Params> {
        let b = map.bounds;
        Some(Params {
            px: Pixels::new(&map.area, band, height)?,
            points_v: map.points_v,
            points_h: map.points_h,
            map_planes: map.map_planes,
            additive: map.additive as u32,
            index_v: index_line(
                b.top,
                b.bottom - b.top,
                map.origin_v,
                map.spacing_v,
                map.points_v,
            ),
            index_h: index_line(
                b.left,
                b.right - b.left,
                map.origin_h,
                map.spacing_h,
                map.points_h,
            ),
            _pad1: [0.0; 2],
            to_raw,
        })
    }
}

/// Record the kernel on `data` (the band, in place); `gains` holds the map's gains.
pub(crate) fn record(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &Params,
    data: &wgpu::Buffer,
    gains: &wgpu::Buffer,
) {
    let size = (p.px.width, p.px.rows);
    gpu.dispatch_image(enc, (&gpu::GAIN_MAP, "gain_map"), p, &[data, gains], size);
}

/// Integer part, next index and fraction of a map coordinate, clamped to the grid.
fn grid(f: f32, points: u32) -> (usize, usize, f32) {
    let last = (points - 1) as f32;
    let c = f.clamp(0.0, last);
    let i = c.floor();
    (i as usize, (i + 1.0).min(last) as usize, c - i)
}

/// CPU reference, loop for loop: `data` holds `stride` f32 values per pixel (f16 RGBA images as
/// RGB triples, stride 3).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, gains: &[f32], data: &mut [f32], stride: usize) {
    let mix = |a: f32, b: f32, t: f32| a + (b - a) * t;
    p.px.map_raw(&p.to_raw, data, stride, |x, y, plane, raw| {
        let (r0, r1, fv) = grid(y as f32 * p.index_v[0] + p.index_v[1], p.points_v);
        let (c0, c1, fh) = grid(x as f32 * p.index_h[0] + p.index_h[1], p.points_h);
        let m = plane.min(p.map_planes - 1) as usize;
        let at =
            |r: usize, c: usize| gains[(r * p.points_h as usize + c) * p.map_planes as usize + m];
        let gain = mix(
            mix(at(r0, c0), at(r0, c1), fh),
            mix(at(r1, c0), at(r1, c1), fh),
            fv,
        );
        if p.additive == 1 {
            raw + gain
        } else {
            raw * gain
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::testing::{
        assert_close, download, random_values, through_f16, upload, whole_area,
    };
    use super::super::Layout;
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::raw::opcodes::{Area, Bounds};
    use crate::stages::testing::{kodak, max_abs_diff, Rng};

    fn map(planes: u32, area: Area, rng: &mut Rng) -> GainMap {
        let (points_v, points_h) = (7, 9);
        GainMap {
            area,
            bounds: Bounds {
                top: -3,
                left: -5,
                bottom: 60,
                right: 80,
            },
            points_v,
            points_h,
            spacing_v: 1.0 / 5.0,
            spacing_h: 1.0 / 7.0,
            origin_v: 0.05,
            origin_h: -0.02,
            map_planes: planes,
            gains: (0..points_v * points_h * planes)
                .map(|_| 0.5 + rng.unit())
                .collect(),
            additive: false,
        }
    }

    fn run(p: &Params, layout: Layout, gains: &[f32], values: &[f32]) -> Vec<f32> {
        let gpu = gpu();
        let data = upload(gpu, layout, values);
        let g = gpu.storage_init("gains", bytemuck::cast_slice(gains));
        gpu.run("gain map", |enc| record(gpu, enc, p, &data, &g))
            .unwrap();
        download(gpu, layout, &data, values.len())
    }

    #[test]
    fn gpu_matches_reference_on_random_mosaic_rgb_and_raw_scale() {
        let mut rng = Rng::new(9);
        let (w, h) = (61u32, 47u32);
        let area = Area {
            top: 3,
            left: 1,
            bottom: 44,
            right: 58,
            plane: 0,
            planes: 4,
            row_pitch: 2,
            col_pitch: 1,
        };
        // A mosaic band (rows 10..37) in the raw scale of list 1; packed RGB; f16 RGBA.
        let cases = [
            (
                Layout::MOSAIC,
                1,
                ToRaw::sensor([256.0, 250.0, 260.0, 240.0], 4095.0),
                (10, 27),
            ),
            (Layout::PACKED_RGB, 3, ToRaw::IDENTITY, (0, h)),
            (Layout::Rgba16f, 2, ToRaw::IDENTITY, (5, 30)),
        ];
        for (layout, planes, to_raw, (y0, rows)) in cases {
            let mut m = map(planes, area, &mut rng);
            // The f16 RGBA case adds its map (as DeltaPerRow/Column do).
            m.additive = layout == Layout::Rgba16f;
            let band = Band::new(w, rows, y0, layout);
            let p = Params::new(&m, band, h, to_raw).unwrap();
            let stride = layout.shader().2 as usize;
            let values = random_values(&mut rng, (w * rows) as usize * stride, 1.0);
            let gpu_out = run(&p, layout, &m.gains, &values);
            let mut cpu = values.clone();
            reference(&p, &m.gains, &mut cpu, stride);
            assert_close(layout, &gpu_out, &cpu);
            // The map did something, and only inside the area.
            assert!(max_abs_diff(&cpu, &values) > 0.1);
            assert_eq!(
                cpu[..stride],
                values[..stride],
                "{layout:?}: row outside the area changed"
            );
        }
    }

    #[test]
    fn gpu_matches_reference_on_real_photo() {
        let mut rng = Rng::new(3);
        let (w, h, px) = kodak("kodim23");
        let area = whole_area(w, h, 3);
        let mut m = map(3, area, &mut rng);
        m.bounds = Bounds {
            top: 0,
            left: 0,
            bottom: h as i64,
            right: w as i64,
        };
        let layout = Layout::Rgba16f;
        let p = Params::new(&m, Band::new(w, h, 0, layout), h, ToRaw::IDENTITY).unwrap();
        let values = through_f16(px.as_flattened());
        let gpu_out = run(&p, layout, &m.gains, &values);
        let mut cpu = values.clone();
        reference(&p, &m.gains, &mut cpu, 3);
        let diff = max_abs_diff(&gpu_out, &cpu);
        assert!(diff < 2e-3, "max diff {diff}");
    }

    #[test]
    fn map_coordinates_follow_the_spec() {
        // A 2×2 map over a 100-pixel-wide image, origin 0, spacing 1: pixel x's centre is at
        // relative (x + 0.5) / 100, so the gain goes linearly from g0 to g1 across the image.
        let area = whole_area(100, 1, 1);
        let m = GainMap {
            area,
            bounds: Bounds {
                top: 0,
                left: 0,
                bottom: 1,
                right: 100,
            },
            points_v: 1,
            points_h: 2,
            spacing_v: 1.0,
            spacing_h: 1.0,
            origin_v: 0.0,
            origin_h: 0.0,
            map_planes: 1,
            gains: vec![1.0, 3.0],
            additive: false,
        };
        let band = Band::new(100, 1, 0, Layout::MOSAIC);
        let p = Params::new(&m, band, 1, ToRaw::IDENTITY).unwrap();
        let mut v = vec![1.0f32; 100];
        reference(&p, &m.gains, &mut v, 1);
        for (x, g) in v.iter().enumerate() {
            let want = 1.0 + 2.0 * (x as f32 + 0.5) / 100.0;
            assert!((g - want).abs() < 1e-5, "x {x}: {g} vs {want}");
        }
    }
}
