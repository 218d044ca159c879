//! The DNG opcodes that touch pixels (parsed by `raw::opcodes`), one kernel each with its CPU
//! twin: GainMap, MapPolynomial and MapTable (on a mosaic, packed RGB or f16 RGBA, plane-aware),
//! FixBadPixelsConstant/List (mosaic) and WarpRectilinear (f16 RGBA). `schedule::opcodes`
//! applies whole lists to the bands of the develop path.

pub(crate) mod bad_pixels;
pub(crate) mod gain_map;
pub(crate) mod map_polynomial;
pub(crate) mod map_table;
pub(crate) mod warp_rectilinear;

use bytemuck::{Pod, Zeroable};

use crate::raw::opcodes::Area;

/// How the image an opcode kernel works on is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// f32, `stride` values per pixel of which the first `planes` are image planes (a
    /// normalized mosaic: 1 and 1; packed RGB: 3 and 3).
    F32 { stride: u32, planes: u32 },
    /// The f16 RGBA image between demosaic and colour (three planes).
    Rgba16f,
}

impl Layout {
    /// The normalized f32 mosaic.
    pub const MOSAIC: Layout = Layout::F32 {
        stride: 1,
        planes: 1,
    };
    /// Packed f32 RGB (only the tests use it for now).
    #[cfg(test)]
    pub const PACKED_RGB: Layout = Layout::F32 {
        stride: 3,
        planes: 3,
    };

    /// (format, stride, planes) as the shaders take them.
    fn shader(self) -> (u32, u32, u32) {
        match self {
            Layout::F32 { stride, planes } => (0, stride, planes),
            Layout::Rgba16f => (1, 4, 3),
        }
    }
}

/// A band of an image: `rows` rows of `width` pixels starting at image row `y0`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Band {
    pub width: u32,
    pub rows: u32,
    pub y0: u32,
    pub layout: Layout,
}

impl Band {
    pub fn new(width: u32, rows: u32, y0: u32, layout: Layout) -> Band {
        Band {
            width,
            rows,
            y0,
            layout,
        }
    }
}

/// The value scale an opcode expects, per 2×2 CFA position: OpcodeList1 sees raw values (sensor
/// units / 65535, as the DNG reference implementation scales 16-bit images), lists 2 and 3 our
/// normalized values (identity). `raw = normalized · scale + offset`. The value maps' kernels
/// take it as their last fields (`to_raw_scale`, `to_raw_offset`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub(crate) struct ToRaw {
    pub scale: [f32; 4],
    pub offset: [f32; 4],
}

impl ToRaw {
    /// Lists 2 and 3.
    pub const IDENTITY: ToRaw = ToRaw {
        scale: [1.0; 4],
        offset: [0.0; 4],
    };

    /// List 1 of a frame with these levels (sensor units).
    pub fn sensor(black: [f32; 4], white: f32) -> ToRaw {
        ToRaw {
            scale: black.map(|b| (white - b) / 65535.0),
            offset: black.map(|b| b / 65535.0),
        }
    }
}

/// The leading parameters GainMap, MapPolynomial and MapTable share: the band, its layout and
/// the clipped area. Each of their WGSL `Params` starts with these fields, in this order, which
/// `pixels_common.wgsl` reads.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Pixels {
    pub width: u32,
    pub rows: u32,
    /// Image row of buffer row 0.
    pub y0: u32,
    pub format: u32,
    pub stride: u32,
    pub image_planes: u32,
    pub plane: u32,
    pub planes: u32,
    /// The area clipped to the image, pitch phase kept.
    pub top: u32,
    pub left: u32,
    pub bottom: u32,
    pub right: u32,
    pub row_pitch: u32,
    pub col_pitch: u32,
}

impl Pixels {
    /// `area` on `band` of a frame `height` rows high; `None` when the area misses the frame.
    fn new(area: &Area, band: Band, height: u32) -> Option<Pixels> {
        let area = area.clipped(band.width, height)?;
        let (format, stride, image_planes) = band.layout.shader();
        Some(Pixels {
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
        })
    }

    /// CPU twin of the value maps' shared loop (with the helpers of `pixels_common.wgsl`): every
    /// value of the area's pixels and planes becomes `f(x, y, plane, raw)`, on the raw
    /// scale of `to_raw` and back. `data` holds `stride` f32 values per pixel.
    fn map_raw(
        &self,
        to_raw: &ToRaw,
        data: &mut [f32],
        stride: usize,
        mut f: impl FnMut(u32, u32, u32, f32) -> f32,
    ) {
        let area = [self.top, self.left, self.bottom, self.right];
        for row in 0..self.rows {
            let y = row + self.y0;
            for x in 0..self.width {
                if !in_area(x, y, area, [self.row_pitch, self.col_pitch]) {
                    continue;
                }
                let pos = position(x, y);
                let (s, o) = (to_raw.scale[pos], to_raw.offset[pos]);
                let i = (row * self.width + x) as usize;
                for plane in self.plane..(self.plane + self.planes).min(self.image_planes) {
                    let v = &mut data[i * stride + plane as usize];
                    *v = (f(x, y, plane, *v * s + o) - o) / s;
                }
            }
        }
    }
}

/// Whether image pixel (x, y) is one an area processes (inside `[top, left, bottom, right]`,
/// on its row and column pitch): `in_area` of `pixels_common.wgsl`.
fn in_area(
    x: u32,
    y: u32,
    [top, left, bottom, right]: [u32; 4],
    [row_pitch, col_pitch]: [u32; 2],
) -> bool {
    y >= top
        && y < bottom
        && x >= left
        && x < right
        && (y - top).is_multiple_of(row_pitch)
        && (x - left).is_multiple_of(col_pitch)
}

/// 2×2 position of image pixel (x, y), as the shaders index `to_raw`.
fn position(x: u32, y: u32) -> usize {
    (((y & 1) << 1) | (x & 1)) as usize
}

#[cfg(test)]
pub(crate) mod testing {
    use crate::gpu::Gpu;
    use crate::stages::{pack_rgb, unpack_rgb};

    /// Upload f32 planes as `layout` stores them (RGB triples for f16 RGBA).
    pub fn upload(gpu: &Gpu, layout: super::Layout, values: &[f32]) -> wgpu::Buffer {
        match layout {
            super::Layout::F32 { .. } => gpu.storage_init("image", bytemuck::cast_slice(values)),
            super::Layout::Rgba16f => {
                let words: Vec<u32> = values
                    .chunks(3)
                    .flat_map(|c| pack_rgb([c[0], c[1], c[2]]))
                    .collect();
                gpu.storage_init("image", bytemuck::cast_slice(&words))
            }
        }
    }

    /// Read back what [`upload`] uploaded, in the same form.
    pub fn download(gpu: &Gpu, layout: super::Layout, buf: &wgpu::Buffer, n: usize) -> Vec<f32> {
        let bytes = gpu.read("opcode test", buf, buf.size()).unwrap();
        let words: &[u32] = bytemuck::cast_slice(&bytes);
        match layout {
            super::Layout::F32 { .. } => bytemuck::cast_slice(&words[..n]).to_vec(),
            super::Layout::Rgba16f => words[..n / 3 * 2]
                .chunks(2)
                .flat_map(|w| unpack_rgb([w[0], w[1]]))
                .collect(),
        }
    }

    /// Every pixel of a `w`×`h` image, planes 0..`planes`.
    pub fn whole_area(w: u32, h: u32, planes: u32) -> crate::raw::opcodes::Area {
        crate::raw::opcodes::Area {
            top: 0,
            left: 0,
            bottom: h as i64,
            right: w as i64,
            plane: 0,
            planes,
            row_pitch: 1,
            col_pitch: 1,
        }
    }

    /// `n` random values in [0, `scale`), rounded through f16 (so that every layout holds them
    /// exactly).
    pub fn random_values(rng: &mut crate::stages::testing::Rng, n: usize, scale: f32) -> Vec<f32> {
        through_f16(&(0..n).map(|_| rng.unit() * scale).collect::<Vec<_>>())
    }

    /// GPU output within f16 rounding of the CPU reference for f16 RGBA, f32 rounding otherwise.
    pub fn assert_close(layout: super::Layout, gpu: &[f32], cpu: &[f32]) {
        let tol = if layout == super::Layout::Rgba16f {
            2e-3
        } else {
            1e-5
        };
        let diff = crate::stages::testing::max_abs_diff(gpu, cpu);
        assert!(diff < tol, "{layout:?}: max diff {diff}");
    }

    /// f32 values rounded through f16, as an f16 RGBA image holds them.
    pub fn through_f16(v: &[f32]) -> Vec<f32> {
        v.iter().map(|&x| half::f16::from_f32(x).to_f32()).collect()
    }
}
