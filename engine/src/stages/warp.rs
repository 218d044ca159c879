//! Handheld brackets (shaders/warp.wgsl): the alignment grey of an exposure, the confidence of each
//! aligned tile, and the warp of an exposure by its motion field. The search itself is the burst
//! alignment's (stages::align); these kernels feed it finished RGB exposures instead of Bayer quads
//! and apply its result to them. Images are RGBA 16-bit unorm words, as the fusion takes them.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{self, Gpu};
use crate::stages::align;
use crate::stages::fusion::Dims;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct GreyParams {
    pub width: u32,
    pub height: u32,
    pub gw: u32,
    pub gh: u32,
    pub scale: f32,
    pub lo: f32,
    pub hi: f32,
    pub _pad: f32,
}

/// The alignment grey's size for a `dims` exposure: one grey pixel per 2×2 block, an odd last
/// row or column making one of its own.
pub(crate) fn grey_dims(dims: Dims) -> Dims {
    (dims.0.div_ceil(2), dims.1.div_ceil(2))
}

impl GreyParams {
    /// The grey of a `dims` exposure, its linear values times `scale`, clamped to [`lo`, `hi`].
    pub fn new(dims: Dims, scale: f32, lo: f32, hi: f32) -> GreyParams {
        let (gw, gh) = grey_dims(dims);
        GreyParams {
            width: dims.0,
            height: dims.1,
            gw,
            gh,
            scale,
            lo,
            hi,
            _pad: 0.0,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct TileParams {
    pub width: u32,
    pub height: u32,
    pub tiles_x: u32,
    pub tiles_y: u32,
    /// Pixels between tile centres (of `width` × `height`).
    pub stride: u32,
    pub _pad: [u32; 3],
}

impl TileParams {
    /// The burst alignment's tile grid over a `dims` grey image.
    pub fn new(dims: Dims) -> TileParams {
        TileParams {
            width: dims.0,
            height: dims.1,
            tiles_x: align::tiles(dims.0),
            tiles_y: align::tiles(dims.1),
            stride: align::STRIDE as u32,
            _pad: [0; 3],
        }
    }

    /// The same grid (that of the grey of a `dims` exposure, [`grey_dims`]) over the exposure
    /// itself, for the warp: tiles twice as far apart.
    pub fn image(dims: Dims) -> TileParams {
        TileParams {
            width: dims.0,
            height: dims.1,
            stride: 2 * align::STRIDE as u32,
            ..TileParams::new(grey_dims(dims))
        }
    }

    pub fn tiles(&self) -> usize {
        (self.tiles_x * self.tiles_y) as usize
    }
}

/// Record the alignment grey of `img` (half resolution, [`grey_dims`]) and its Gaussian pyramid
/// (the burst alignment's levels, [`align::record_levels`], over the whole grey).
pub(crate) fn record_pyramid(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &GreyParams,
    img: &wgpu::Buffer,
) -> align::Pyramid {
    let kernel = (&gpu::WARP, "exposure_grey");
    let grey = align::record_gray_image(gpu, enc, kernel, p, img, (p.gw, p.gh));
    align::record_levels(gpu, enc, grey, align::Window::whole(p.gw, p.gh))
}

/// Record the (texture, residual) of every tile of `motion` (see warp.wgsl); `p` is the grey's
/// grid ([`TileParams::new`]), `motion` in grey pixels.
pub(crate) fn record_confidence(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &TileParams,
    reference: &wgpu::Buffer,
    alt: &wgpu::Buffer,
    motion: &wgpu::Buffer,
) -> wgpu::Buffer {
    let out = gpu.storage("tile confidence", p.tiles() as u64 * 8);
    let params = gpu.uniform(p);
    gpu.dispatch(
        enc,
        &gpu::WARP,
        "tile_confidence",
        &params,
        &[reference, alt, motion, &out],
        (gpu::groups(p.tiles_x, 8), gpu::groups(p.tiles_y, 8)),
    );
    out
}

/// Record the warp of `img` by `motion` (one vector per tile of `p`, [`TileParams::image`], in
/// image pixels) into `out`.
pub(crate) fn record_warp(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &TileParams,
    img: &wgpu::Buffer,
    motion: &wgpu::Buffer,
    out: &wgpu::Buffer,
) {
    let params = gpu.uniform(p);
    gpu.dispatch(
        enc,
        &gpu::WARP,
        "warp_image",
        &params,
        &[img, motion, out],
        (gpu::groups(p.width, 16), gpu::groups(p.height, 16)),
    );
}

// ---- CPU references, loop for loop -----------------------------------------------------------

#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod reference {
    use super::*;
    use crate::stages::align::reference::cubic_weights;
    use crate::stages::fusion::{pack_unorm, unpack_unorm};

    pub fn srgb_eotf(v: f32) -> f32 {
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    }

    pub fn exposure_grey(p: &GreyParams, img: &[[u32; 2]]) -> Vec<f32> {
        let mut out = Vec::with_capacity((p.gw * p.gh) as usize);
        for gy in 0..p.gh {
            for gx in 0..p.gw {
                let mut s = 0.0;
                for dy in 0..2 {
                    let y = (2 * gy + dy).min(p.height - 1);
                    for dx in 0..2 {
                        let x = (2 * gx + dx).min(p.width - 1);
                        for c in unpack_unorm(img[(y * p.width + x) as usize]) {
                            s += (srgb_eotf(c) * p.scale).clamp(p.lo, p.hi);
                        }
                    }
                }
                out.push((s / 12.0f32).sqrt());
            }
        }
        out
    }

    fn at(img: &[f32], p: &TileParams, x: i32, y: i32) -> f32 {
        align::reference::at(img, (p.width, p.height, 0), x, y)
    }

    fn mix(a: f32, b: f32, t: f32) -> f32 {
        a * (1.0 - t) + b * t
    }

    pub fn tile_confidence(
        p: &TileParams,
        reference: &[f32],
        alt: &[f32],
        motion: &[[f32; 2]],
    ) -> Vec<[f32; 2]> {
        let mut out = vec![[0.0; 2]; p.tiles()];
        for ty in 0..p.tiles_y {
            for tx in 0..p.tiles_x {
                let t = (ty * p.tiles_x + tx) as usize;
                let (ox, oy) = (8 * tx as i32 - 8, 8 * ty as i32 - 8);
                let m = motion[t];
                let f = [m[0].floor(), m[1].floor()];
                let w = [m[0] - f[0], m[1] - f[1]];
                let d = [f[0] as i32, f[1] as i32];
                let (mut sum, mut sum2, mut residual) = (0.0f32, 0.0f32, 0.0f32);
                for v in 0..16 {
                    for u in 0..16 {
                        let (x, y) = (ox + u, oy + v);
                        let r = at(reference, p, x, y);
                        sum += r;
                        sum2 += r * r;
                        let a = |i: i32, j: i32| at(alt, p, x + d[0] + i, y + d[1] + j);
                        let top = mix(a(0, 0), a(1, 0), w[0]);
                        let bottom = mix(a(0, 1), a(1, 1), w[0]);
                        let e = mix(top, bottom, w[1]) - r;
                        residual += e * e;
                    }
                }
                out[t] = [(sum2 - sum * sum / 256.0).max(0.0), residual];
            }
        }
        out
    }

    /// The motion at image pixel (x, y): the tile vectors interpolated bilinearly between tile
    /// centres (stride·i − 0.5), clamped at the outer ones.
    pub fn motion_at(p: &TileParams, motion: &[[f32; 2]], x: u32, y: u32) -> [f32; 2] {
        let vector = |i: i32, j: i32| {
            let x = i.clamp(0, p.tiles_x as i32 - 1) as u32;
            let y = j.clamp(0, p.tiles_y as i32 - 1) as u32;
            motion[(y * p.tiles_x + x) as usize]
        };
        let s = p.stride as f32;
        let tx = ((x as f32 + 0.5) / s).clamp(0.0, (p.tiles_x - 1) as f32);
        let ty = ((y as f32 + 0.5) / s).clamp(0.0, (p.tiles_y - 1) as f32);
        let (i, j) = (tx.floor() as i32, ty.floor() as i32);
        let (a, b) = (tx - i as f32, ty - j as f32);
        [0, 1].map(|c| {
            let top = mix(vector(i, j)[c], vector(i + 1, j)[c], a);
            let bottom = mix(vector(i, j + 1)[c], vector(i + 1, j + 1)[c], a);
            mix(top, bottom, b)
        })
    }

    pub fn warp_image(p: &TileParams, img: &[[u32; 2]], motion: &[[f32; 2]]) -> Vec<[u32; 2]> {
        let src = |x: i32, y: i32| {
            let cx = x.clamp(0, p.width as i32 - 1) as u32;
            let cy = y.clamp(0, p.height as i32 - 1) as u32;
            unpack_unorm(img[(cy * p.width + cx) as usize])
        };
        let mut out = Vec::with_capacity((p.width * p.height) as usize);
        for y in 0..p.height {
            for x in 0..p.width {
                let m = motion_at(p, motion, x, y);
                let pos = [x as f32 + m[0], y as f32 + m[1]];
                let f = [pos[0].floor(), pos[1].floor()];
                let (wx, wy) = (cubic_weights(pos[0] - f[0]), cubic_weights(pos[1] - f[1]));
                let (sx, sy) = (f[0] as i32, f[1] as i32);
                let mut acc = [0.0f32; 3];
                for (k, wk) in wy.iter().enumerate() {
                    let yy = sy + k as i32 - 1;
                    for (l, wl) in wx.iter().enumerate() {
                        let s = src(sx + l as i32 - 1, yy);
                        for c in 0..3 {
                            acc[c] += wk * wl * s[c];
                        }
                    }
                }
                out.push(pack_unorm(acc));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::reference as r;
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::fusion::tests::{kodak_exposure, random_image, unorms};
    use crate::stages::fusion::{pack_unorm, unpack_unorm};
    use crate::stages::testing::{max_abs_diff, Rng};

    fn upload(img: &[[u32; 2]]) -> wgpu::Buffer {
        gpu().storage_init("test image", bytemuck::cast_slice(img))
    }

    fn read_f32(buf: &wgpu::Buffer, n: usize) -> Vec<f32> {
        bytemuck::cast_slice(&gpu().read("test", buf, n as u64 * 4).unwrap()).to_vec()
    }

    /// Two images of one size: random, then a real photo and its -2 EV exposure.
    type Pair = (Dims, Vec<[u32; 2]>, Vec<[u32; 2]>);

    fn inputs() -> Vec<Pair> {
        let mut rng = Rng::new(71);
        let dims = (53, 37);
        let real = (96, 80);
        vec![
            (
                dims,
                random_image(&mut rng, dims),
                random_image(&mut rng, dims),
            ),
            (
                real,
                kodak_exposure("kodim05", 0.0, real),
                kodak_exposure("kodim05", -2.0, real),
            ),
        ]
    }

    #[test]
    fn exposure_grey_and_pyramid_gpu_match_reference() {
        let gpu = gpu();
        // Odd sizes (the last row and column repeat) and even ones.
        for (dims, _, img) in inputs() {
            let p = GreyParams::new(dims, 4.0, 1.0 / 128.0, 0.6);
            assert_eq!((p.gw, p.gh), (dims.0.div_ceil(2), dims.1.div_ceil(2)));
            let buf = upload(&img);
            let pyr = gpu
                .run("test", |enc| record_pyramid(gpu, enc, &p, &buf))
                .unwrap();
            let want = r::exposure_grey(&p, &img);
            // The clamps are exercised: without either bound the grey differs in many pixels
            // (random values reach both, the photo, a -2 EV exposure brought up 2 stops, its
            // highlights' bound).
            let changed = |q: GreyParams| {
                let other = r::exposure_grey(&q, &img);
                want.iter().zip(&other).filter(|(a, b)| a != b).count()
            };
            let n = want.len();
            assert!(changed(GreyParams { hi: 4.0, ..p }) > n / 20, "{dims:?}");
            assert!(changed(GreyParams { lo: 0.0, ..p }) > n / 20 || dims == (96, 80));
            let want_pyr = align::reference::pyramid(&want, p.gw, p.gh);
            for (l, (buf, want)) in pyr.levels.iter().zip(&want_pyr).enumerate() {
                let got = read_f32(buf, want.len());
                // pow on the GPU is within a few ulps of Rust's powf.
                let d = max_abs_diff(&got, want);
                assert!(d < 1e-5, "{dims:?} level {l}: {d}");
            }
        }
    }

    #[test]
    fn grey_is_the_mean_of_2x2_blocks_edges_repeated() {
        // A 3×3 image: grey pixel (0, 0) averages four pixels, (1, 0) its column twice, (1, 1)
        // the corner four times.
        let v = [0.1f32, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
        let img: Vec<[u32; 2]> = v.iter().map(|&v| pack_unorm([v; 3])).collect();
        let p = GreyParams::new((3, 3), 1.0, 0.0, 1.0);
        let got = r::exposure_grey(&p, &img);
        let lin = |i: usize| r::srgb_eotf(unpack_unorm(img[i])[0]);
        let want = [
            (lin(0) + lin(1) + lin(3) + lin(4)) / 4.0,
            (2.0 * lin(2) + 2.0 * lin(5)) / 4.0,
            (lin(6) + lin(7) + lin(6) + lin(7)) / 4.0,
            lin(8),
        ];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w.sqrt()).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    }

    /// Motion with integer and fractional parts, varying from tile to tile, some beyond the image.
    fn random_motion(rng: &mut Rng, p: &TileParams) -> Vec<[f32; 2]> {
        (0..p.tiles())
            .map(|_| [0; 2].map(|_| rng.unit() * 12.0 - 6.0))
            .collect()
    }

    #[test]
    fn confidence_and_warp_gpu_match_reference() {
        let gpu = gpu();
        let mut rng = Rng::new(72);
        for (dims, a, b) in inputs() {
            // The confidence on the half-resolution grey, the warp on the image, one tile grid.
            let p = TileParams::new(grey_dims(dims));
            let wp = TileParams::image(dims);
            assert_eq!(p.tiles(), wp.tiles());
            let motion = random_motion(&mut rng, &p);
            let gp = GreyParams::new(dims, 1.0, 0.0, 1.0);
            let (ga, gb) = (r::exposure_grey(&gp, &a), r::exposure_grey(&gp, &b));
            let (ba, bb) = (
                gpu.storage_init("a", bytemuck::cast_slice(&ga)),
                gpu.storage_init("b", bytemuck::cast_slice(&gb)),
            );
            let bm = gpu.storage_init("motion", bytemuck::cast_slice(&motion));
            let img = upload(&a);
            let out = gpu.storage("warped", (dims.0 * dims.1) as u64 * 8);
            let conf = gpu
                .run("test", |enc| {
                    record_warp(gpu, enc, &wp, &img, &bm, &out);
                    record_confidence(gpu, enc, &p, &ba, &bb, &bm)
                })
                .unwrap();
            let got = read_f32(&conf, p.tiles() * 2);
            let want = r::tile_confidence(&p, &ga, &gb, &motion);
            for (g, w) in got.chunks(2).zip(&want) {
                // Sums of 256 squares in f32, in another order on the GPU.
                for c in 0..2 {
                    assert!(
                        (g[c] - w[c]).abs() <= 1e-4 * (1.0 + w[c]),
                        "{dims:?}: {g:?} vs {w:?}"
                    );
                }
            }
            let bytes = gpu
                .read("test", &out, (dims.0 * dims.1) as u64 * 8)
                .unwrap();
            let got: Vec<[u32; 2]> = bytemuck::cast_slice(&bytes).to_vec();
            let want = r::warp_image(&wp, &a, &motion);
            // Both round to 16 bits; a sum rounded the other way moves one step.
            let d = max_abs_diff(&unorms(&got), &unorms(&want));
            assert!(d <= 1.5 / 65535.0, "{dims:?}: warp differs by {d}");
        }
    }

    #[test]
    fn zero_motion_warp_is_the_identity_and_a_whole_pixel_shift_moves_the_image() {
        let dims = (64, 48);
        let img = kodak_exposure("kodim21", 0.0, dims);
        let p = TileParams::image(dims);
        let same = r::warp_image(&p, &img, &vec![[0.0; 2]; p.tiles()]);
        assert_eq!(same, img);
        let moved = r::warp_image(&p, &img, &vec![[3.0, -2.0]; p.tiles()]);
        for y in 2..dims.1 {
            for x in 0..dims.0 - 3 {
                let got = unpack_unorm(moved[(y * dims.0 + x) as usize]);
                let want = unpack_unorm(img[((y - 2) * dims.0 + x + 3) as usize]);
                assert_eq!(got, want, "({x}, {y})");
            }
        }
    }

    #[test]
    fn warp_reads_the_half_resolution_tile_grid_at_image_positions() {
        // Grey tile i is centred on grey pixel 8i − 0.5, i.e. image pixel 16i − 0.5 (grey pixel g
        // covers image pixels 2g and 2g + 1). A field linear in those centres must come out
        // linear in the image pixel (the grid reaches past the image's far edges: tiles_x − 1
        // centres at 16·(tiles_x − 1) − 0.5 ≥ width, so no clamp is reached inside it).
        for dims in [(100, 70), (101, 67)] {
            let p = TileParams::image(dims);
            let centre = |i: u32| 16.0 * i as f32 - 0.5;
            let motion: Vec<[f32; 2]> = (0..p.tiles())
                .map(|t| {
                    let (i, j) = (t as u32 % p.tiles_x, t as u32 / p.tiles_x);
                    [0.01 * centre(i), -0.02 * centre(j)]
                })
                .collect();
            assert!(
                centre(p.tiles_x - 1) >= dims.0 as f32 && centre(p.tiles_y - 1) >= dims.1 as f32
            );
            for y in 0..dims.1 {
                for x in 0..dims.0 {
                    let got = r::motion_at(&p, &motion, x, y);
                    let want = [0.01 * x as f32, -0.02 * y as f32];
                    let d = (got[0] - want[0]).abs().max((got[1] - want[1]).abs());
                    assert!(d < 1e-5, "{dims:?} ({x}, {y}): {got:?} vs {want:?}");
                }
            }
        }
    }
}
