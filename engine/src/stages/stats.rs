//! Statistics for automatic exposure: a log2 luminance histogram of a linear sRGB image.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{self, Gpu};
use crate::stages::unpack_rgb;

/// Bins of the histogram; bin b covers log2(Y) in [b/16 - 16, (b+1)/16 - 16).
pub(crate) const BINS: usize = 256;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct Params {
    pub width: u32,
    pub rows: u32,
    pub step: u32,
    pub first_row: u32,
}

/// Every `STEP`-th pixel in x and y is counted: a 1/16 sample is plenty for exposure.
pub(crate) const STEP: u32 = 4;

impl Params {
    /// For a band of `rows` rows starting at image row `y0`: the sample grid is the image's, so a
    /// banded image is sampled exactly like a whole one.
    pub fn new(width: u32, rows: u32, y0: u32) -> Params {
        Params {
            width,
            rows,
            step: STEP,
            first_row: first_sampled_row(y0, STEP),
        }
    }
}

/// The first row of a band starting at image row `y0` that lies on the image's grid of every
/// `step`-th row: a banded image is sampled exactly like a whole one.
pub(crate) fn first_sampled_row(y0: u32, step: u32) -> u32 {
    (step - y0 % step) % step
}

/// Workgroups (16×16 sampled pixels each) over a band of `width` × `rows` pixels sampled every
/// `step`-th pixel from row `first_row`.
pub(crate) fn sampled_groups(width: u32, rows: u32, step: u32, first_row: u32) -> (u32, u32) {
    let sampled_rows = rows.saturating_sub(first_row).div_ceil(step);
    (
        gpu::groups(width.div_ceil(step), 16),
        gpu::groups(sampled_rows, 16),
    )
}

/// Record the kernel: adds the image's counts into `bins` (256 u32, zeroed by the caller).
pub(crate) fn record(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    p: &Params,
    img: &wgpu::Buffer,
    bins: &wgpu::Buffer,
) {
    let params = gpu.uniform(p);
    let groups = sampled_groups(p.width, p.rows, p.step, p.first_row);
    gpu.dispatch(enc, &gpu::STATS, "histogram", &params, &[img, bins], groups);
}

#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn bin_of(y: f32) -> usize {
    ((y.max(1e-9).log2() + 16.0) * 16.0)
        .floor()
        .clamp(0.0, 255.0) as usize
}

/// CPU reference.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference(p: &Params, img: &[[u32; 2]]) -> Vec<u32> {
    let mut bins = vec![0u32; BINS];
    for y in (p.first_row..p.rows).step_by(p.step as usize) {
        for x in (0..p.width).step_by(p.step as usize) {
            let [r, g, b] = unpack_rgb(img[(y * p.width + x) as usize]);
            bins[bin_of(0.2126 * r + 0.7152 * g + 0.0722 * b)] += 1;
        }
    }
    bins
}

/// Luminance (linear) at the given quantile of the histogram, at the centre of its bin.
pub(crate) fn quantile(bins: &[u32], q: f64) -> f32 {
    let total: u64 = bins.iter().map(|&b| b as u64).sum();
    let target = (q * total as f64).ceil().max(1.0) as u64;
    let mut acc = 0u64;
    for (i, &b) in bins.iter().enumerate() {
        acc += b as u64;
        if acc >= target {
            return ((i as f32 + 0.5) / 16.0 - 16.0).exp2();
        }
    }
    1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::testing::gpu;
    use crate::stages::pack_rgb;
    use crate::stages::testing::kodak;

    #[test]
    fn gpu_histogram_matches_reference_on_random_pixels() {
        let mut rng = crate::stages::testing::Rng::new(5);
        let (w, h) = (97u32, 61u32);
        // Log-uniform luminances over the histogram's whole range, and some beyond it.
        let img: Vec<[u32; 2]> = (0..w * h)
            .map(|_| pack_rgb([(); 3].map(|_| (rng.unit() * 20.0 - 17.0).exp2())))
            .collect();
        let gpu = gpu();
        let buf = gpu.storage_init("img", bytemuck::cast_slice(&img));
        let bins = gpu.storage_init("bins", &[0u8; BINS * 4]);
        let p = Params::new(w, h, 3);
        gpu.run("stats", |enc| record(gpu, enc, &p, &buf, &bins))
            .unwrap();
        let got: Vec<u32> =
            bytemuck::cast_slice(&gpu.read("stats", &bins, (BINS * 4) as u64).unwrap()).to_vec();
        let want = reference(&p, &img);
        assert_eq!(got.iter().sum::<u32>(), want.iter().sum::<u32>());
        let moved: u32 = got.iter().zip(&want).map(|(a, b)| a.abs_diff(*b)).sum();
        assert!(
            moved <= 4,
            "{moved} of {} pixels in different bins",
            want.iter().sum::<u32>()
        );
    }

    #[test]
    fn gpu_histogram_matches_reference_on_real_photo_whole_and_banded() {
        let (w, h, px) = kodak("kodim21");
        let img: Vec<[u32; 2]> = px.iter().map(|&c| pack_rgb(c)).collect();
        let gpu = gpu();
        let run = |p: &Params, img: &[[u32; 2]], bins: &wgpu::Buffer| {
            let buf = gpu.storage_init("img", bytemuck::cast_slice(img));
            gpu.run("stats", |enc| record(gpu, enc, p, &buf, bins))
                .unwrap();
        };
        let read = |bins: &wgpu::Buffer| -> Vec<u32> {
            bytemuck::cast_slice(&gpu.read("stats", bins, (BINS * 4) as u64).unwrap()).to_vec()
        };
        let p = Params::new(w, h, 0);
        let bins = gpu.storage_init("bins", &[0u8; BINS * 4]);
        run(&p, &img, &bins);
        let got = read(&bins);
        let want = reference(&p, &img);
        let samples = w.div_ceil(STEP) * h.div_ceil(STEP);
        assert_eq!(
            got.iter().sum::<u32>(),
            samples,
            "every sampled pixel counted once"
        );
        // log2 on the GPU may differ in the last bit: a pixel on a bin edge may land next door.
        let moved: u32 = got.iter().zip(&want).map(|(a, b)| a.abs_diff(*b)).sum();
        assert!(moved <= samples / 1000, "{moved} pixels in different bins");
        // Bands starting at rows 0, 150 and 301 sample exactly the whole image's pixels.
        let banded = gpu.storage_init("bins", &[0u8; BINS * 4]);
        for (a, b) in [(0u32, 150u32), (150, 301), (301, h)] {
            let band = &img[(a * w) as usize..(b * w) as usize];
            run(&Params::new(w, b - a, a), band, &banded);
        }
        assert_eq!(
            read(&banded),
            got,
            "banded histogram differs from the whole image's"
        );
        let (m_gpu, m_cpu) = (quantile(&got, 0.5), quantile(&want, 0.5));
        assert!(
            (m_gpu / m_cpu - 1.0).abs() < 0.05,
            "median {m_gpu} vs {m_cpu}"
        );
    }
}
