//! White-balance statistics: the grey-world sums of a linear camera-RGB image (demosaiced, before
//! white balance and colour), clipped pixels (and their neighbours) and the darkest ones left out.
//!
//! Grey world (Buchsbaum 1980) was chosen over shades-of-grey (Finlayson & Trezzi 2004, p = 6)
//! and grey-edge (van de Weijer et al. 2007, p = 1, 2, 6) by measuring all of them on the shared
//! real files: on the G2 ColorChecker all are within 1.3–4° of the grey patches' neutral (grey
//! world 2.1°, shades-of-grey 1.4°, grey-edge p=1 4.0°); on the 550D chart (mixed light: the chart
//! and the room are lit differently) none gets within 10°; on the EOS D30's tungsten Christmas
//! tree, only grey world (and shades-of-grey with small p) lands near LibRaw's automatic white
//! balance, which is a grey world over unclipped 8×8 blocks; the higher norms and edges leave it
//! twice as blue.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{self, Gpu};
use crate::stages::{stats, unpack_rgb};

/// Every `STEP`-th pixel in x and y is counted: a quarter of the image is plenty for a mean.
pub(crate) const STEP: u32 = 2;
/// A channel at or above this (normalised: 1 = white level) counts as clipped.
pub(crate) const CLIP: f32 = 0.95;
/// A pixel whose brightest channel is below this is too dark to say anything about the light.
pub(crate) const DARK: f32 = 0.002;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub width: u32,
    pub rows: u32,
    pub step: u32,
    pub first_row: u32,
    pub clip: f32,
    pub dark: f32,
    pub _pad: [u32; 2],
}

impl Params {
    /// For a band of `rows` rows starting at image row `y0`: the sample grid is the image's.
    pub fn new(width: u32, rows: u32, y0: u32) -> Params {
        Params {
            width,
            rows,
            step: STEP,
            first_row: stats::first_sampled_row(y0, STEP),
            clip: CLIP,
            dark: DARK,
            _pad: [0; 2],
        }
    }

    /// Workgroups of the dispatch (16×16 sampled pixels each), x and y.
    pub fn groups(&self) -> (u32, u32) {
        stats::sampled_groups(self.width, self.rows, self.step, self.first_row)
    }

    /// Bytes of the partial-sums buffer: one vec4<f32> per workgroup.
    pub fn partials_bytes(&self) -> u64 {
        let (x, y) = self.groups();
        (x as u64 * y as u64).max(1) * 16
    }
}

/// Record the kernel: one (ΣR, ΣG, ΣB, count) per workgroup into `partials`
/// ([`Params::partials_bytes`] long); add them up with [`total`].
pub(crate) fn record(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &Params,
    img: &wgpu::Buffer,
    partials: &wgpu::Buffer,
) {
    let params = gpu.uniform(p);
    gpu.dispatch(
        enc,
        &gpu::WB_STATS,
        "wb_sums",
        &params,
        &[img, partials],
        p.groups(),
    );
}

/// The partials' sum in f64: (ΣR, ΣG, ΣB, count).
pub(crate) fn total(bytes: &[u8]) -> [f64; 4] {
    let words: &[f32] = bytemuck::cast_slice(bytes);
    let mut sum = [0.0f64; 4];
    for px in words.chunks_exact(4) {
        (0..4).for_each(|c| sum[c] += px[c] as f64);
    }
    sum
}

/// CPU reference: (ΣR, ΣG, ΣB, count) over the same pixels as the kernel.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, img: &[[u32; 2]]) -> [f64; 4] {
    let at = |x: i64, y: i64| {
        let x = x.clamp(0, p.width as i64 - 1) as u32;
        let y = y.clamp(0, p.rows as i64 - 1) as u32;
        unpack_rgb(img[(y * p.width + x) as usize])
    };
    let brightest = |c: [f32; 3]| c[0].max(c[1]).max(c[2]);
    let mut sum = [0.0f64; 4];
    for y in (p.first_row..p.rows).step_by(p.step as usize) {
        for x in (0..p.width).step_by(p.step as usize) {
            let c = at(x as i64, y as i64);
            let clipped = (-1..=1)
                .any(|dy| (-1..=1).any(|dx| brightest(at(x as i64 + dx, y as i64 + dy)) >= p.clip));
            if brightest(c) >= p.dark && !clipped {
                (0..3).for_each(|k| sum[k] += c[k] as f64);
                sum[3] += 1.0;
            }
        }
    }
    sum
}

/// The grey-world neutral (camera response to the light, G = 1) from the sums; `None` when too
/// few pixels were usable (fewer than 64) or a channel is empty.
pub(crate) fn neutral(sum: [f64; 4]) -> Option<[f64; 3]> {
    let [r, g, b, n] = sum;
    (n >= 64.0 && [r, g, b].iter().all(|v| v.is_finite() && *v > 0.0)).then(|| [r / g, 1.0, b / g])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::pack_rgb;
    use crate::stages::testing::{kodak, Rng};

    fn run_gpu(p: &Params, img: &[[u32; 2]]) -> [f64; 4] {
        let gpu = gpu();
        let buf = gpu.storage_init("img", bytemuck::cast_slice(img));
        // Poisoned: a partial the kernel does not write shows up as NaN.
        let poison = vec![f32::NAN; (p.partials_bytes() / 4) as usize];
        let partials = gpu.storage_init("partials", bytemuck::cast_slice(&poison));
        gpu.run("wb stats", |enc| record(gpu, enc, p, &buf, &partials))
            .unwrap();
        total(&gpu.read("wb stats", &partials, p.partials_bytes()).unwrap())
    }

    fn assert_sums_close(got: [f64; 4], want: [f64; 4], what: &str) {
        assert_eq!(
            got[3], want[3],
            "{what}: pixel counts differ: {got:?} vs {want:?}"
        );
        assert!(want[3] > 100.0, "{what}: only {} pixels counted", want[3]);
        for c in 0..3 {
            // f32 sums of ≤ 256 f16 values per workgroup: relative error ~1e-6.
            let rel = (got[c] / want[c] - 1.0).abs();
            assert!(
                rel < 1e-4,
                "{what}: channel {c}: {} vs {} ({rel:e})",
                got[c],
                want[c]
            );
        }
    }

    #[test]
    fn gpu_matches_reference_on_random_pixels_with_clipped_and_dark_ones() {
        let mut rng = Rng::new(11);
        let (w, h) = (131u32, 77u32);
        let img: Vec<[u32; 2]> = (0..w * h)
            .map(|_| {
                let k = rng.unit();
                // 10 % clipped, 10 % below the dark threshold, the rest anywhere.
                let scale = if k < 0.1 {
                    1.2
                } else if k < 0.2 {
                    0.003
                } else {
                    1.0
                };
                pack_rgb([(); 3].map(|_| rng.unit() * scale))
            })
            .collect();
        for y0 in [0, 1] {
            let p = Params::new(w, h, y0);
            let want = reference(&p, &img);
            assert!(
                want[3] < (w * h / 4) as f64 * 0.6,
                "the exclusions did not bite"
            );
            assert_sums_close(run_gpu(&p, &img), want, "random");
        }
    }

    #[test]
    fn gpu_matches_reference_on_a_real_photo_and_a_real_raw() {
        let (w, h, px) = kodak("kodim08");
        let img: Vec<[u32; 2]> = px.iter().map(|&c| pack_rgb(c)).collect();
        let p = Params::new(w, h, 0);
        assert_sums_close(run_gpu(&p, &img), reference(&p, &img), "kodim08");

        // Camera RGB of a real raw (the EOS D30's tungsten-lit scene, with clipped lights):
        // each 2×2 quad of its mosaic as one pixel, normalised by its levels.
        let path = crate::raw::testing::real_raw("canon_eos_d30_tree.crw");
        let frame = crate::Frame::open(&path)
            .unwrap_or_else(|e| panic!("{} is needed (../shared/data/real): {e}", path.display()));
        let (fw, fh) = (frame.width / 2, frame.height / 2);
        let img: Vec<[u32; 2]> = (0..fw * fh)
            .map(|i| {
                let (x, y) = ((i % fw) as usize * 2, (i / fw) as usize * 2);
                let mut rgb = [0.0f32; 3];
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let v = frame.mosaic[(y + dy) * frame.width as usize + x + dx] as f32;
                    let k = (dy & 1) * 2 + (dx & 1);
                    let n = ((v - frame.black[k]) / (frame.white - frame.black[k])).max(0.0);
                    let c = frame.cfa.color_at(x + dx, y + dy);
                    rgb[c] += if c == 1 { n / 2.0 } else { n };
                }
                pack_rgb(rgb)
            })
            .collect();
        let p = Params::new(fw, fh, 0);
        let want = reference(&p, &img);
        assert_sums_close(run_gpu(&p, &img), want, "EOS D30 raw");
        // The scene is tungsten-lit: the camera sees far more red than blue.
        let n = neutral(want).unwrap();
        assert!(n[0] > 1.5 * n[2], "D30 neutral {n:?} is not warm");
    }
}
