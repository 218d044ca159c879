//! Colour: white balance, highlight clipping and camera RGB → linear sRGB, in place.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{self, Gpu};
use crate::stages::{pack_rgb, unpack_rgb};

/// Linear sRGB (D65) → XYZ.
pub(crate) const SRGB_TO_XYZ: [[f64; 3]; 3] = [
    [0.4124564, 0.3575761, 0.1804375],
    [0.2126729, 0.7151522, 0.0721750],
    [0.0193339, 0.1191920, 0.9503041],
];

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub width: u32,
    pub rows: u32,
    pub _pad: [u32; 2],
    pub wb: [f32; 4],
    pub m: [[f32; 4]; 3],
}

impl Params {
    /// From the frame's white balance and XYZ → camera matrix (rows of camera RGB scaled so grey
    /// is recorded grey: a single D65 matrix without chromatic adaptation).
    pub fn new(width: u32, rows: u32, wb: [f32; 3], xyz_to_cam: [[f32; 3]; 3]) -> Params {
        Params::with_matrix(width, rows, wb, camera_to_srgb(xyz_to_cam))
    }

    /// From white-balance multipliers and the matrix from white-balanced camera RGB to linear
    /// sRGB (e.g. the DNG colour model's for that white). The multipliers are scaled so the
    /// smallest is 1: clipping at 1 then keeps blown highlights white.
    pub fn with_matrix(width: u32, rows: u32, wb: [f32; 3], m: [[f32; 3]; 3]) -> Params {
        let min = wb.iter().cloned().fold(f32::INFINITY, f32::min);
        let row = |r: [f32; 3]| [r[0], r[1], r[2], 0.0];
        Params {
            width,
            rows,
            _pad: [0; 2],
            wb: [wb[0] / min, wb[1] / min, wb[2] / min, 0.0],
            m: [row(m[0]), row(m[1]), row(m[2])],
        }
    }
}

/// Linear sRGB → camera RGB: XYZ→camera · sRGB→XYZ with each row scaled to sum 1, so that grey is
/// recorded grey (the white balance then carries the illuminant). `None` for a degenerate matrix.
pub(crate) fn srgb_to_camera(xyz_to_cam: [[f32; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let mut cam_rgb = [[0.0f64; 3]; 3];
    for r in 0..3 {
        for c in 0..3 {
            cam_rgb[r][c] = (0..3)
                .map(|k| xyz_to_cam[r][k] as f64 * SRGB_TO_XYZ[k][c])
                .sum();
        }
        let sum: f64 = cam_rgb[r].iter().sum();
        if sum.abs() < 1e-9 {
            return None;
        }
        cam_rgb[r].iter_mut().for_each(|v| *v /= sum);
    }
    Some(cam_rgb)
}

/// Camera RGB → linear sRGB: the inverse of [`srgb_to_camera`], so white-balanced white maps to
/// sRGB white. A singular or missing matrix falls back to the identity (camera RGB taken as sRGB).
pub(crate) fn camera_to_srgb(xyz_to_cam: [[f32; 3]; 3]) -> [[f32; 3]; 3] {
    match srgb_to_camera(xyz_to_cam).and_then(|m| crate::raw::colour_model::invert(&m)) {
        Some(inv) => inv.map(|row| row.map(|v| v as f32)),
        None => IDENTITY,
    }
}

const IDENTITY: [[f32; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// Record the kernel on an f16 RGBA image of `width × rows` pixels, in place.
pub(crate) fn record(gpu: &Gpu, enc: &mut wgpu::CommandEncoder, p: &Params, img: &wgpu::Buffer) {
    let kernel = (&gpu::COLOR, "color");
    gpu.dispatch_image(enc, kernel, p, &[img], (p.width, p.rows));
}

/// CPU reference on packed pixels.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, img: &[[u32; 2]]) -> Vec<[u32; 2]> {
    img.iter()
        .map(|&px| {
            let rgb = unpack_rgb(px);
            let cam: [f32; 3] = std::array::from_fn(|c| (rgb[c] * p.wb[c]).min(1.0));
            let out =
                p.m.map(|row| row[0] * cam[0] + row[1] * cam[1] + row[2] * cam[2]);
            pack_rgb(out)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::testing::{kodak, max_abs_diff, Rng};

    fn run_gpu(p: &Params, img: &[[u32; 2]]) -> Vec<[u32; 2]> {
        let gpu = gpu();
        let buf = gpu.storage_init("img", bytemuck::cast_slice(img));
        gpu.run("color", |enc| record(gpu, enc, p, &buf)).unwrap();
        bytemuck::cast_slice(&gpu.read("color", &buf, (img.len() * 8) as u64).unwrap()).to_vec()
    }

    fn floats(img: &[[u32; 2]]) -> Vec<f32> {
        img.iter().flat_map(|&px| unpack_rgb(px)).collect()
    }

    /// A real camera's matrix (a typical DNG ColorMatrix2 of a Canon body, D65).
    const CAMERA_XYZ_TO_CAM: [[f32; 3]; 3] = [
        [0.6722, -0.0635, -0.0963],
        [-0.4287, 1.2460, 0.2028],
        [-0.0908, 0.2162, 0.5668],
    ];

    #[test]
    fn matrix_keeps_white_white_and_identity_for_srgb_cameras() {
        let m = camera_to_srgb(CAMERA_XYZ_TO_CAM);
        for row in m {
            assert!(
                (row.iter().sum::<f32>() - 1.0).abs() < 1e-4,
                "row {row:?} does not sum to 1"
            );
        }
        let id = camera_to_srgb(crate::raw::SRGB_TO_XYZ_INVERSE);
        for (r, row) in id.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                assert!((v - if r == c { 1.0 } else { 0.0 }).abs() < 1e-4, "{id:?}");
            }
        }
    }

    #[test]
    fn gpu_matches_reference_on_random_and_real_pixels() {
        let mut rng = Rng::new(3);
        let p = Params::new(31, 9, [2.1, 1.0, 1.6], CAMERA_XYZ_TO_CAM);
        let random: Vec<[u32; 2]> = (0..31 * 9)
            .map(|_| pack_rgb([rng.unit() * 1.2, rng.unit(), rng.unit()]))
            .collect();
        let diff = max_abs_diff(
            &floats(&run_gpu(&p, &random)),
            &floats(&reference(&p, &random)),
        );
        assert!(diff < 2e-3, "random: max diff {diff}");

        let (w, h, px) = kodak("kodim05");
        let p = Params::new(w, h, [2.1, 1.0, 1.6], CAMERA_XYZ_TO_CAM);
        let real: Vec<[u32; 2]> = px.iter().map(|&c| pack_rgb(c)).collect();
        let diff = max_abs_diff(&floats(&run_gpu(&p, &real)), &floats(&reference(&p, &real)));
        assert!(diff < 2e-3, "real: max diff {diff}");
    }

    #[test]
    fn blown_highlights_come_out_neutral() {
        // Green saturated at 1, red and blue saturated too: after WB they must not stay magenta.
        let p = Params::new(1, 1, [2.1, 1.0, 1.6], CAMERA_XYZ_TO_CAM);
        let out = unpack_rgb(run_gpu(&p, &[pack_rgb([1.0, 1.0, 1.0])])[0]);
        for c in out {
            assert!((c - 1.0).abs() < 2e-3, "clipped white became {out:?}");
        }
    }
}
