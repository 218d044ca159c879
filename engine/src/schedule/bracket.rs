//! Handheld brackets: each exposure is aligned to the reference (the middle exposure) before
//! fusion. Exposures differ in brightness, so each pair is first brought to one exposure: the
//! relative exposure comes from EXIF (time × ISO / f-number²) or, without it, from the images
//! (their value distributions, which a few pixels of camera shake hardly change). The burst
//! alignment (stages::align) then searches a grey made from the linearized, rescaled exposure,
//! clamped to the range both exposures of the pair record, so clipped or black areas do not drive
//! the search. As for a burst, the grey has one pixel per 2×2 block (a quarter of the work, and
//! still a fraction of a pixel's precision); its motion, twice over, is the image's. The tile
//! matches are then made safe (schedule::motion_model: a robust global model, local motion only
//! where reliable and consistent, no motion at all where alignment explains nothing or stays
//! under a pixel); each exposure that moves is warped at full resolution by its field
//! (stages::warp), one that does not is fused as it is, and the bracket fused (schedule::fuse).

use crate::error::Result;
use crate::gpu::Gpu;
use crate::schedule::{fuse, motion_model};
use crate::stages::align;
use crate::stages::fusion::Dims;
use crate::stages::warp::reference::srgb_eotf;
use crate::stages::warp::{self, GreyParams, TileParams};
use crate::Image;

/// Linear values below this are near black: quantization and noise, not scene detail (1/128 is
/// sRGB code 23 of 255).
const BLACK: f32 = 1.0 / 128.0;
/// Linear values above this may be clipped or rolled off: cameras' JPEG curves and our own
/// (tone::Params' knee 0.6) compress highlights from about here, so the exposures would no longer
/// differ by a plain factor.
const WHITE: f32 = 0.6;
/// The EV estimate uses only values this far above black: in an 8-bit file one code step is then
/// at most a tenth of a stop.
const ESTIMATE_BLACK: f32 = 0.02;
/// Smallest side of the grey the 4-level alignment pyramid can search (its coarsest level is 1/8
/// of it), 128 image pixels.
const MIN_ALIGN_SIDE: u32 = 64;

/// Exposures of a bracket in EV relative to its reference, and which one that is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Exposures {
    pub ev: Vec<f32>,
    pub reference: usize,
    /// Whether the EVs came from EXIF (else estimated from the images).
    pub from_exif: bool,
}

/// log2 of each exposure from EXIF (time × ISO / f-number²), when every image has its time. ISO
/// and aperture count only when every image has them (otherwise they are taken as equal).
fn exif_ev(images: &[Image]) -> Option<Vec<f32>> {
    let ok = |v: Option<f64>| v.filter(|v| v.is_finite() && *v > 0.0);
    let times: Option<Vec<f64>> = images.iter().map(|i| ok(i.exif.exposure_time)).collect();
    let isos: Option<Vec<f64>> = images
        .iter()
        .map(|i| ok(i.exif.iso.map(f64::from)))
        .collect();
    let apertures: Option<Vec<f64>> = images.iter().map(|i| ok(i.exif.f_number)).collect();
    let times = times?;
    Some(
        (0..images.len())
            .map(|i| {
                let iso = isos.as_ref().map_or(1.0, |v| v[i]);
                let n = apertures.as_ref().map_or(1.0, |v| v[i]);
                (times[i] * iso / (n * n)).log2() as f32
            })
            .collect(),
    )
}

/// Per channel, a histogram of one image's 16-bit values (8-bit values scaled by 257).
struct Histograms {
    counts: [Vec<u32>; 3],
    pixels: u64,
}

impl Histograms {
    fn of(img: &Image) -> Histograms {
        let scale = if img.bits == 8 { 257 } else { 1 };
        let mut counts = [0; 3].map(|_| vec![0u32; 65536]);
        for px in img.data.chunks_exact(3) {
            for c in 0..3 {
                counts[c][(px[c] as u32 * scale).min(65535) as usize] += 1;
            }
        }
        Histograms {
            counts,
            pixels: (img.data.len() / 3) as u64,
        }
    }

    /// Linear values at `n` evenly spaced quantiles of channel `c`.
    fn quantiles(&self, c: usize, n: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(n);
        let (mut seen, mut v) = (0u64, 0usize);
        for q in 0..n {
            let rank = ((q as f64 + 0.5) / n as f64 * self.pixels as f64) as u64;
            while v < 65535 && seen + self.counts[c][v] as u64 <= rank {
                seen += self.counts[c][v] as u64;
                v += 1;
            }
            out.push(srgb_eotf(v as f32 / 65535.0));
        }
        out
    }

    /// Mean linear value over the channels.
    fn mean(&self) -> f64 {
        let mut sum = 0.0;
        for c in 0..3 {
            for (v, &n) in self.counts[c].iter().enumerate() {
                sum += n as f64 * srgb_eotf(v as f32 / 65535.0) as f64;
            }
        }
        sum / (3.0 * self.pixels.max(1) as f64)
    }
}

/// Quantiles per channel used for the estimate: many enough for a robust median.
const QUANTILES: usize = 512;

/// EV of `alt` relative to `reference` from their value distributions: at each quantile of each
/// channel where both are well exposed, the log ratio of their linear values; the median of those.
/// The same scene at two exposures has the same distribution scaled by the exposure ratio (where
/// neither clips), and a few pixels of shake hardly change a distribution; pixel-by-pixel ratios
/// would need the alignment this estimate is for. None when no quantile is well exposed in both.
fn estimate_ev(alt: &Histograms, reference: &Histograms) -> Option<f32> {
    let mut ratios = Vec::new();
    for c in 0..3 {
        let (a, r) = (
            alt.quantiles(c, QUANTILES),
            reference.quantiles(c, QUANTILES),
        );
        for (a, r) in a.into_iter().zip(r) {
            let ok = |v: f32| (ESTIMATE_BLACK..=WHITE).contains(&v);
            if ok(a) && ok(r) {
                ratios.push((a / r).log2());
            }
        }
    }
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_by(f32::total_cmp);
    Some(ratios[ratios.len() / 2])
}

/// The exposures of a bracket relative to its middle exposure (the reference).
pub(crate) fn exposures(images: &[Image]) -> Exposures {
    let middle = |ev: &[f32]| {
        let mut order: Vec<usize> = (0..ev.len()).collect();
        order.sort_by(|&a, &b| ev[a].total_cmp(&ev[b]));
        order[(order.len() - 1) / 2]
    };
    if let Some(abs) = exif_ev(images) {
        let reference = middle(&abs);
        let ev = abs.iter().map(|e| e - abs[reference]).collect();
        return Exposures {
            ev,
            reference,
            from_exif: true,
        };
    }
    let hist: Vec<Histograms> = images.iter().map(Histograms::of).collect();
    // Order by mean brightness to find the middle, then measure each against it directly.
    let brightness: Vec<f32> = hist
        .iter()
        .map(|h| h.mean().max(1e-9).log2() as f32)
        .collect();
    let reference = middle(&brightness);
    let ev = hist
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if i == reference {
                0.0
            } else {
                // Without a well-exposed overlap the brightness ratio is the best we have.
                estimate_ev(h, &hist[reference]).unwrap_or(brightness[i] - brightness[reference])
            }
        })
        .collect();
    Exposures {
        ev,
        reference,
        from_exif: false,
    }
}

/// The grey pyramid of the reference for each clamp range (lo, hi) used so far: exposures whose
/// pairs clamp alike (e.g. two at the same EV) share one, bit for bit what each would build.
type ReferencePyramids = Vec<((u32, u32), align::Pyramid)>;

/// The motion of exposure `alt` (RGBA unorm16, `dims`) against `reference`, `ev` stops brighter,
/// one vector per alignment tile ([`TileParams::image`]), in image pixels, made safe by
/// [`motion_model::robust_field`] (global model, local motion only where reliable, no motion
/// where the alignment cannot be trusted or stays under a pixel).
fn motion_field(
    gpu: &Gpu,
    dims: Dims,
    (reference, pyramids): (&wgpu::Buffer, &mut ReferencePyramids),
    alt: &wgpu::Buffer,
    ev: f32,
) -> Result<Vec<[f32; 2]>> {
    let gd = warp::grey_dims(dims);
    let tp = TileParams::new(gd);
    let k = ev.exp2();
    // The scene range (in reference units) that both exposures record between black and white.
    let (lo, hi) = (BLACK.max(BLACK / k), WHITE.min(WHITE / k));
    if gd.0.min(gd.1) < MIN_ALIGN_SIDE || !ev.is_finite() || hi <= 2.0 * lo {
        return Ok(vec![[0.0; 2]; tp.tiles()]);
    }
    let key = (lo.to_bits(), hi.to_bits());
    if !pyramids.iter().any(|(k, _)| *k == key) {
        let p = GreyParams::new(dims, 1.0, lo, hi);
        let pyr = gpu.run("bracket reference grey", |enc| {
            warp::record_pyramid(gpu, enc, &p, reference)
        })?;
        pyramids.push((key, pyr));
    }
    let r = &pyramids
        .iter()
        .find(|(k, _)| *k == key)
        .expect("just made")
        .1;
    let bytes = tp.tiles() as u64 * 8;
    let zero = gpu.storage("no motion", bytes);
    let (motion, confidence, still, alt_grey) = gpu.run("bracket alignment", |enc| {
        enc.clear_buffer(&zero, 0, None);
        let a = warp::record_pyramid(gpu, enc, &GreyParams::new(dims, 1.0 / k, lo, hi), alt);
        let motion = align::record_align(gpu, enc, r, &a);
        let (rg, ag) = (&r.levels[0], &a.levels[0]);
        let confidence = warp::record_confidence(gpu, enc, &tp, rg, ag, &motion);
        // The same tiles left where they are: alignment must explain more than that.
        let still = warp::record_confidence(gpu, enc, &tp, rg, ag, &zero);
        (
            motion,
            confidence,
            still,
            a.levels.into_iter().next().expect("finest"),
        )
    })?;
    let read = |label: &str, b: &wgpu::Buffer| -> Result<Vec<[f32; 2]>> {
        Ok(bytemuck::cast_slice(&gpu.read(label, b, bytes)?).to_vec())
    };
    let still = read("tile confidence at rest", &still)?;
    let field = motion_model::robust_field(&motion_model::Matches {
        motion: &read("motion", &motion)?,
        confidence: &read("tile confidence", &confidence)?,
        still: &still,
        tiles_x: tp.tiles_x as usize,
    });
    if field.kind == motion_model::FieldKind::Moved {
        // Never worse than no motion: the field as it will be applied must explain the
        // differences between the exposures clearly better than leaving this one alone.
        let f = gpu.storage_init("motion", bytemuck::cast_slice(&field.motion));
        let applied = gpu.run("bracket alignment check", |enc| {
            warp::record_confidence(gpu, enc, &tp, &r.levels[0], &alt_grey, &f)
        })?;
        if !motion_model::explains_more_than_rest(&read("field confidence", &applied)?, &still) {
            return Ok(vec![[0.0; 2]; tp.tiles()]);
        }
    }
    // A grey pixel is two image pixels (grey pixel g's centre is image pixel 2g + 0.5, so a
    // displacement d of the grey is 2d of the image).
    Ok(field
        .motion
        .into_iter()
        .map(|m| m.map(|v| 2.0 * v))
        .collect())
}

/// Align a handheld bracket (`inputs`: the exposures uploaded as fusion inputs) to its middle
/// exposure: each other exposure is replaced by its warped copy.
pub(crate) fn align_exposures(
    gpu: &Gpu,
    images: &[Image],
    inputs: Vec<wgpu::Buffer>,
) -> Result<Vec<wgpu::Buffer>> {
    let dims = (images[0].width, images[0].height);
    fuse::check_fits(gpu, dims)?;
    let exp = exposures(images);
    let tp = TileParams::image(dims);
    let mut pyramids = ReferencePyramids::new();
    let mut aligned: Vec<wgpu::Buffer> = Vec::with_capacity(inputs.len());
    for (i, img) in inputs.iter().enumerate() {
        if i == exp.reference {
            aligned.push(img.clone());
            continue;
        }
        let reference = (&inputs[exp.reference], &mut pyramids);
        let motion = motion_field(gpu, dims, reference, img, exp.ev[i])?;
        if motion.iter().all(|m| *m == [0.0; 2]) {
            // Not moved: the exposure itself, bit for bit (no resampling at all).
            aligned.push(img.clone());
            continue;
        }
        let motion = gpu.storage_init("motion", bytemuck::cast_slice(&motion));
        let out = gpu.storage("aligned exposure", dims.0 as u64 * dims.1 as u64 * 8);
        gpu.run("warp exposure", |enc| {
            warp::record_warp(gpu, enc, &tp, img, &motion, &out)
        })?;
        aligned.push(out);
    }
    Ok(aligned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An 8-bit exposure (`ev`) of a 256×192 window of a real photo, the window moved by `shift`
    /// whole pixels (camera shake), with or without an EXIF exposure time.
    fn image(name: &str, ev: f32, shift: (u32, u32), time: Option<f64>) -> Image {
        use crate::stages::testing::kodak;
        use crate::stages::tone::srgb_oetf;
        let (w, _, px) = kodak(name);
        let (cw, ch) = (256, 192);
        let mut data = Vec::new();
        for y in 0..ch {
            for x in 0..cw {
                let c = px[((y + 150 + shift.1) * w + x + 250 + shift.0) as usize];
                for v in c {
                    let e = srgb_oetf((v * ev.exp2()).clamp(0.0, 1.0));
                    data.push((e * 255.0).round() as u16);
                }
            }
        }
        Image {
            width: cw,
            height: ch,
            bits: 8,
            data,
            exif: crate::Exif {
                exposure_time: time,
                ..Default::default()
            },
        }
    }

    #[test]
    fn exposures_from_exif_and_from_the_images_agree() {
        // Given out of order, each shaken by a few pixels: the middle exposure is the reference
        // either way, and the estimate without EXIF is within 0.2 EV of the truth.
        let evs = [2.0f32, -2.0, 0.0, -1.0, 1.0];
        let shifts = [(0, 0), (7, 3), (2, 8), (5, 5), (8, 1)];
        for name in ["kodim21", "kodim05", "kodim08"] {
            let with: Vec<Image> = evs
                .iter()
                .zip(shifts)
                .map(|(&ev, s)| image(name, ev, s, Some(ev.exp2() as f64 / 100.0)))
                .collect();
            let e = exposures(&with);
            assert!(e.from_exif);
            assert_eq!(e.reference, 2);
            assert_eq!(e.ev, evs);
            let without: Vec<Image> = evs
                .iter()
                .zip(shifts)
                .map(|(&ev, s)| image(name, ev, s, None))
                .collect();
            let e = exposures(&without);
            assert!(!e.from_exif);
            assert_eq!(e.reference, 2);
            let worst =
                e.ev.iter()
                    .zip(evs)
                    .map(|(got, want)| (got - want).abs())
                    .fold(0.0f32, f32::max);
            eprintln!("{name}: estimated {:?}, worst error {worst:.3} EV", e.ev);
            assert!(worst <= 0.2, "{name}: {:?} vs {evs:?}", e.ev);
        }
    }

    #[test]
    fn half_resolution_search_finds_the_shake_in_image_pixels() {
        // Odd whole-pixel shakes are half-pixel motions of the grey: the field, in image pixels,
        // must bring each tile's content back (alt(x + m) = reference(x), so m = −shift) to a
        // fraction of a pixel, at -2 and +2 EV and on an odd-sized crop.
        use crate::gpu::testing::gpu;
        use crate::schedule::fuse::upload_exposure;
        let gpu = gpu();
        let crop = |mut img: Image, (w, h): Dims| {
            let data = (0..h)
                .flat_map(|y| (0..w * 3).map(move |i| (y * img.width * 3 + i) as usize))
                .map(|i| img.data[i])
                .collect();
            (img.width, img.height, img.data) = (w, h, data);
            img
        };
        for (name, ev, shift, dims) in [
            ("kodim21", -2.0f32, (7, 3), (256, 192)),
            ("kodim05", 2.0, (5, 8), (255, 191)),
        ] {
            let reference = crop(image(name, 0.0, (0, 0), None), dims);
            let alt = crop(image(name, ev, shift, None), dims);
            let up = |img: &Image| upload_exposure(gpu, img);
            let mut pyramids = ReferencePyramids::new();
            let motion =
                motion_field(gpu, dims, (&up(&reference), &mut pyramids), &up(&alt), ev).unwrap();
            let want = [-(shift.0 as f32), -(shift.1 as f32)];
            // Inside the two outer rings of tiles, every tile; anywhere, including the outer
            // ring (half outside the image, where both exposures repeat their edge rows and
            // columns, which do not move: it takes its neighbours' motion, see trust_motion).
            let tp = TileParams::image(dims);
            let (tx, ty) = (tp.tiles_x as usize, tp.tiles_y as usize);
            let error = |t: usize| (motion[t][0] - want[0]).hypot(motion[t][1] - want[1]);
            let errors: Vec<f32> = (0..motion.len())
                .filter(|t| (2..tx - 2).contains(&(t % tx)) && (2..ty - 2).contains(&(t / tx)))
                .map(error)
                .collect();
            let worst = errors.iter().fold(0.0f32, |a, &b| a.max(b));
            let mean = errors.iter().sum::<f32>() / errors.len() as f32;
            let edge = (0..motion.len()).map(error).fold(0.0f32, f32::max);
            eprintln!("{name} {ev:+} EV, shake {shift:?}: error {mean:.3} px on average, {worst:.3} px at worst inside, {edge:.3} px at worst anywhere");
            // Half a grey pixel of shake is where the refinement's interpolation errs most; a
            // wrong scale or tile geometry would be off by a pixel or more.
            assert!(mean < 0.15 && worst < 0.5, "{name}: {motion:?}");
            // Measured 0.13 / 0.48 px; 3.6 / 6.9 px when the outer ring trusted its own matches.
            assert!(edge < 1.0, "{name}: {edge} px at the image's edge");
        }
    }
}
