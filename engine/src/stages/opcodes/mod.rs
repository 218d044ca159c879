//! The DNG opcodes that touch pixels (parsed by `raw::opcodes`), one kernel each with its CPU
//! twin: GainMap, MapPolynomial and MapTable (on a mosaic, packed RGB or f16 RGBA, plane-aware),
//! FixBadPixelsConstant/List (mosaic) and WarpRectilinear (f16 RGBA). `schedule::opcodes`
//! applies whole lists to the bands of the develop path.

pub(crate) mod bad_pixels;
pub(crate) mod gain_map;
pub(crate) mod map_polynomial;
pub(crate) mod map_table;
pub(crate) mod warp_rectilinear;

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

/// The value scale an opcode expects, per 2×2 CFA position: OpcodeList1 sees raw values (sensor
/// units / 65535, as the DNG reference implementation scales 16-bit images), lists 2 and 3 our
/// normalized values (identity). `raw = normalized · scale + offset`.
#[derive(Debug, Clone, Copy, PartialEq)]
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

    /// f32 values rounded through f16, as an f16 RGBA image holds them.
    pub fn through_f16(v: &[f32]) -> Vec<f32> {
        v.iter().map(|&x| half::f16::from_f32(x).to_f32()).collect()
    }
}
