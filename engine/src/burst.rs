//! A burst: several raw frames of one scene from one camera, validated together, and the options
//! of merging them into one photo.

use std::path::Path;

use crate::error::{Error, Result};
use crate::progress::{Progress, Steps};
use crate::raw::{Exif, Frame};
use crate::schedule::develop::Source;
use crate::schedule::merge as merge_schedule;
use crate::stages::merge::MergeMethod;
use crate::{Engine, Image, Options};

/// How to merge a burst (and develop the result).
#[derive(Debug, Clone)]
pub struct MergeOptions {
    /// Reference frame index; `None` picks the sharpest of the first three frames.
    pub reference: Option<usize>,
    /// Merge method.
    pub method: MergeMethod,
    /// Noise reduction strength: 1 is the default, larger averages more (risking ghosts), smaller
    /// keeps more of the reference. Must be positive.
    pub strength: f32,
    /// Use only the first K frames.
    pub frames: Option<usize>,
    /// How to develop the merged mosaic.
    pub develop: Options,
    /// Merge at most this many mosaic rows at a time (default: as many as the device's
    /// buffers allow; frames larger than one binding are merged in bands).
    pub max_band_rows: Option<u32>,
    /// Treat the device's storage-binding limit as at most this many bytes (default: the
    /// device's own, [`crate::AdapterInfo::max_storage_binding`]): the merge then binds every
    /// frame, pyramid and accumulator in bands within it. For tests, and to leave room on a
    /// shared GPU.
    pub max_binding: Option<u64>,
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions {
            reference: None,
            method: MergeMethod::Wiener,
            strength: 1.0,
            frames: None,
            develop: Options::default(),
            max_band_rows: None,
            max_binding: None,
        }
    }
}

impl MergeOptions {
    /// How many of a burst's `len` frames to merge, once the strength and frame count are
    /// checked.
    pub(crate) fn frames_to_merge(&self, len: usize) -> Result<usize> {
        if !(self.strength.is_finite() && self.strength > 0.0) {
            return Err(Error::InvalidInput(format!(
                "merge strength {} must be a positive number",
                self.strength
            )));
        }
        match self.frames {
            Some(0) => Err(Error::InvalidInput(
                "--frames 0: merge at least one frame".into(),
            )),
            Some(k) => Ok(k.min(len)),
            None => Ok(len),
        }
    }

    /// How the merged raw is developed: `develop` less what was done before alignment (binning
    /// 2 / 3, and the binning or remosaicing of block CFAs); superpixel binning stays (it gives
    /// RGB, so it is applied to the merged mosaic).
    pub fn merged_develop(&self) -> Options {
        Options {
            binning: match self.develop.binning {
                crate::Binning::Superpixel => crate::Binning::Superpixel,
                _ => crate::Binning::Off,
            },
            ..self.develop.clone()
        }
    }
}

/// One frame's motion relative to the reference: a vector per 32×32-sensor-pixel tile (tiles
/// overlap by half). Tile (i, j) is centred on sensor position (16i − 0.5, 16j − 0.5) (X-Trans:
/// 16i + 0, 16j + 0); the vector says where, in sensor pixels, the reference's content at that
/// point lies in the frame.
#[derive(Debug, Clone, PartialEq)]
pub struct MotionField {
    /// Tiles per row.
    pub tiles_x: u32,
    /// Tile rows.
    pub tiles_y: u32,
    /// Sensor position of tile (0, 0)'s centre along each axis: −0.5 (Bayer), 0 (X-Trans,
    /// whose gray pixels are 3×3 windows centred on a sensor pixel).
    pub origin: f32,
    /// `(dx, dy)` per tile, row-major.
    pub vectors: Vec<[f32; 2]>,
}

impl MotionField {
    /// Sensor position of the centre of tile (i, j) of a Bayer field.
    pub fn tile_centre(i: u32, j: u32) -> (f32, f32) {
        (16.0 * i as f32 - 0.5, 16.0 * j as f32 - 0.5)
    }

    /// Sensor position of the centre of tile (i, j) of this field.
    pub fn centre(&self, i: u32, j: u32) -> (f32, f32) {
        (16.0 * i as f32 + self.origin, 16.0 * j as f32 + self.origin)
    }
}

impl Engine {
    /// Align and merge a burst on the GPU, then develop the merged mosaic (which stays on the
    /// GPU). A burst of one frame is developed as it is.
    pub fn merge(&self, burst: &Burst, options: &MergeOptions) -> Result<Image> {
        self.merge_with_progress(burst, options, &mut crate::progress::ignore)
    }

    /// [`Engine::merge`] with progress and cancellation: `progress(done, total, stage)` after
    /// each step of the merge (see [`Engine::merge_raw_with_progress`]) and then of the develop
    /// (see [`Engine::develop_with_progress`]), counted as one call whose fraction only rises.
    pub fn merge_with_progress(
        &self,
        burst: &Burst,
        options: &MergeOptions,
        progress: &mut Progress,
    ) -> Result<Image> {
        let merged = self.merge_inner(burst, options, false, progress);
        Ok(self.finish(&|| merging(burst), merged)?.0)
    }

    /// [`Engine::merge_with_progress`] that also returns the merged raw mosaic (downloaded once,
    /// for a DNG) — cheaper than [`Engine::merge_raw`] followed by [`Engine::develop`], which
    /// uploads the mosaic again.
    pub fn merge_and_raw_with_progress(
        &self,
        burst: &Burst,
        options: &MergeOptions,
        progress: &mut Progress,
    ) -> Result<(Image, Frame)> {
        let merged = self.merge_inner(burst, options, true, progress);
        let (image, raw) = self.finish(&|| merging(burst), merged)?;
        Ok((image, raw.expect("the raw mosaic was asked for")))
    }

    /// Align and merge a burst; the merged mosaic comes back as a raw frame (16-bit, the
    /// reference's colour and metadata), to develop (with [`MergeOptions::merged_develop`]) or
    /// save as DNG.
    pub fn merge_raw(&self, burst: &Burst, options: &MergeOptions) -> Result<Frame> {
        self.merge_raw_with_progress(burst, options, &mut crate::progress::ignore)
    }

    /// [`Engine::merge_raw`], calling `progress(done, total, stage)` as each step finishes (the
    /// reference choice, each frame aligned and merged, the finish): for a progress bar. Return
    /// `ControlFlow::Break(())` from it to cancel (from a UI thread, check a flag there): the
    /// merge stops after the current step with [`Error::Cancelled`] and the engine stays usable.
    pub fn merge_raw_with_progress(
        &self,
        burst: &Burst,
        options: &MergeOptions,
        progress: &mut Progress,
    ) -> Result<Frame> {
        let merged = (|| {
            let prepared = self.prepare(burst, options)?;
            let plan = plan(prepared.frames(burst), options);
            match merge_schedule::merge(&self.gpu, &plan, progress)? {
                Ok(merged) => merged.to_frame(&self.gpu, plan.frames),
                Err(single) => Ok(plan.frames[single].clone()),
            }
        })();
        self.finish(&|| merging(burst), merged)
    }

    /// Merge, develop on the GPU, and download the merged mosaic only if `keep_raw`.
    fn merge_inner(
        &self,
        burst: &Burst,
        options: &MergeOptions,
        keep_raw: bool,
        progress: &mut Progress,
    ) -> Result<(Image, Option<Frame>)> {
        let prepared = self.prepare(burst, options)?;
        let plan = plan(prepared.frames(burst), options);
        // The merge's own count; the develop's steps are scaled into a window as long as a
        // single-band develop's (colour, exposure, tone).
        let (merge_steps, develop_steps) = (plan.frames.len() + 2, 3);
        let mut steps = Steps::new(progress, merge_steps + develop_steps);
        let develop = options.merged_develop();
        let merged = merge_schedule::merge(&self.gpu, &plan, &mut *steps.part(merge_steps))?;
        let merged = match merged {
            Ok(merged) => merged,
            Err(single) => {
                let f = &plan.frames[single];
                let image =
                    self.develop_with_progress(f, &develop, &mut *steps.part(develop_steps))?;
                return Ok((image, keep_raw.then(|| f.clone())));
            }
        };
        let raw = match keep_raw {
            true => Some(merged.to_frame(&self.gpu, plan.frames)?),
            false => None,
        };
        let mut develop_progress = steps.part(develop_steps);
        let image = if develop.binning != crate::Binning::Off {
            // Superpixel binning reads frame rows: bin the downloaded mosaic.
            let frame = match &raw {
                Some(raw) => std::borrow::Cow::Borrowed(raw),
                None => std::borrow::Cow::Owned(merged.to_frame(&self.gpu, plan.frames)?),
            };
            self.develop_with_progress(&frame, &develop, &mut *develop_progress)?
        } else {
            let r = &plan.frames[merged.reference];
            let source = Source::Binned {
                buffer: merged.buffer,
                width: r.width,
                height: r.height,
                rgb: false,
            };
            self.develop_source(r, &source, &develop, &mut *develop_progress)?
        };
        Ok((image, raw))
    }

    /// The checked frames of a merge, binned (or remosaiced) before alignment when the options
    /// say so: a smaller, cleaner burst to align and merge.
    fn prepare(&self, burst: &Burst, options: &MergeOptions) -> Result<Prepared> {
        if options.develop.binning != crate::Binning::Off {
            for f in &burst.frames {
                f.require_mosaic("binning")?;
            }
        }
        if let Some(f) = burst.frames.iter().find(|f| f.xtrans.is_some()) {
            if options.develop.binning != crate::Binning::Off {
                return Err(Error::unsupported(
                    &f.source,
                    "binning an X-Trans mosaic (6×6 layout) is not supported: merge it without --bin",
                ));
            }
        }
        let k = options.frames_to_merge(burst.len())?;
        let frames = crate::schedule::prepare::burst_before_merge(
            &self.gpu,
            &burst.frames[..k],
            &options.develop,
        )?;
        Ok(Prepared { k, frames })
    }

    /// The motion of every frame of the burst relative to frame `reference` (its own field is
    /// zero), as the merge computes it.
    pub fn align(&self, burst: &Burst, reference: usize) -> Result<Vec<MotionField>> {
        if reference >= burst.len() {
            return Err(Error::InvalidInput(format!(
                "reference frame {reference} does not exist: the burst has {} frames",
                burst.len()
            )));
        }
        let gp = merge_schedule::gray_params(&burst.frames[reference]);
        let (tiles_x, tiles_y) = (
            crate::stages::align::tiles(gp.gw),
            crate::stages::align::tiles(gp.gh),
        );
        let fields = merge_schedule::align_all(&self.gpu, &burst.frames, reference);
        let fields = self.finish(&|| format!("aligning {}", merging(burst)), fields)?;
        Ok(fields
            .into_iter()
            .map(|v| MotionField {
                tiles_x,
                tiles_y,
                // Gray pixel g: the quad from 2g (centre 2g + 0.5) or the X-Trans 3×3 window
                // from 2g (centre 2g + 1); tile i is centred on gray 8i − 0.5.
                origin: if gp.xtrans == 1 { 0.0 } else { -0.5 },
                // Gray pixels are two sensor pixels.
                vectors: v.iter().map(|m| [2.0 * m[0], 2.0 * m[1]]).collect(),
            })
            .collect())
    }
}

/// The frames and options of a merge, checked.
/// The first `k` frames of a burst, or their binned / remosaiced versions.
struct Prepared {
    k: usize,
    frames: Option<Vec<Frame>>,
}

impl Prepared {
    fn frames<'a>(&'a self, burst: &'a Burst) -> &'a [Frame] {
        self.frames.as_deref().unwrap_or(&burst.frames[..self.k])
    }
}

/// What the merge schedule needs of the options.
/// What a merge of `burst` is doing, for errors: its first file and how many there are.
fn merging(burst: &Burst) -> String {
    match burst.frames.first() {
        Some(f) => format!(
            "merging the burst of {} ({} frames)",
            f.source.display(),
            burst.len()
        ),
        None => "merging an empty burst".into(),
    }
}

fn plan<'a>(frames: &'a [Frame], options: &MergeOptions) -> merge_schedule::Plan<'a> {
    merge_schedule::Plan {
        frames,
        reference: options.reference,
        method: options.method,
        strength: options.strength,
        max_band_rows: options.max_band_rows,
        max_binding: options.max_binding,
    }
}

/// The frames of one burst, checked to share size, Bayer layout and camera.
#[derive(Debug, Clone)]
pub struct Burst {
    frames: Vec<Frame>,
}

impl Burst {
    /// A burst from decoded frames. Every frame must have the first frame's size, CFA and camera;
    /// the error names the first file that differs.
    pub fn new(frames: Vec<Frame>) -> Result<Burst> {
        let first = frames
            .first()
            .ok_or_else(|| Error::InvalidInput("a burst needs at least one frame".into()))?;
        // A single LinearRaw frame "merges" by developing as it is (batch jobs of one file).
        if frames.len() > 1 {
            for f in &frames {
                f.require_mosaic("merging a burst")?;
            }
        }
        let sensor = |f: &Frame| match f.xtrans {
            Some(x) => format!("an X-Trans sensor ({})", x.name()),
            None => "a Bayer sensor".to_string(),
        };
        for f in &frames[1..] {
            // Block CFAs are binned or remosaiced to Bayer before merging: all frames alike.
            let what = if f.xtrans != first.xtrans {
                Some(format!(
                    "{}, but {} is from {}",
                    sensor(f),
                    first.source.display(),
                    sensor(first)
                ))
            } else if f.cfa_block != first.cfa_block {
                let kind = |b: u32| match b {
                    1 => "Bayer".to_string(),
                    b => format!("{b}×{b}-block (Quad Bayer / Nonacell)"),
                };
                Some(format!(
                    "a {} sensor, but {} is from a {} sensor",
                    kind(f.cfa_block),
                    first.source.display(),
                    kind(first.cfa_block)
                ))
            } else if (f.width, f.height) != (first.width, first.height) {
                Some(format!(
                    "{}×{} pixels, but {} has {}×{}",
                    f.width,
                    f.height,
                    first.source.display(),
                    first.width,
                    first.height
                ))
            } else if f.cfa != first.cfa && f.xtrans.is_none() {
                Some(format!(
                    "Bayer layout {}, but {} has {}",
                    f.cfa.name(),
                    first.source.display(),
                    first.cfa.name()
                ))
            } else if (&f.exif.make, &f.exif.model) != (&first.exif.make, &first.exif.model) {
                Some(format!(
                    "taken with \"{} {}\", but {} with \"{} {}\"",
                    f.exif.make,
                    f.exif.model,
                    first.source.display(),
                    first.exif.make,
                    first.exif.model
                ))
            } else {
                None
            };
            if let Some(what) = what {
                return Err(Error::BurstMismatch {
                    path: f.source.clone(),
                    what,
                });
            }
        }
        Ok(Burst { frames })
    }

    /// Decode every file (in the given order) and check them as a burst. A corrupt file anywhere
    /// gives its decoding error, naming it.
    pub fn open<P: AsRef<Path>>(paths: &[P]) -> Result<Burst> {
        let frames = paths.iter().map(Frame::open).collect::<Result<Vec<_>>>()?;
        Burst::new(frames)
    }

    /// The frames, in capture order.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Always false: a burst has at least one frame.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

impl Frame {
    /// The same frame with a DNG-style noise profile: variance = `scale`·x + `offset` for a
    /// signal x on the normalised [0, 1] scale (black 0, white 1). Merging uses it to tell noise
    /// from motion; without one, the noise is estimated from the frames.
    pub fn with_noise_profile(mut self, scale: f64, offset: f64) -> Result<Frame> {
        if !(scale.is_finite() && offset.is_finite() && scale >= 0.0 && offset >= 0.0)
            || scale + offset <= 0.0
        {
            return Err(Error::InvalidInput(format!(
                "{}: noise profile ({scale}, {offset}) must be non-negative and not all zero",
                self.source.display()
            )));
        }
        self.noise_profile = Some([scale, offset]);
        Ok(self)
    }

    /// The same frame with these as-shot white-balance multipliers (R, G, B: any scale, all
    /// positive), as if the camera had recorded them (e.g. for a frame built in memory). They
    /// are kept normalised to G = 1 and written to a saved DNG as its AsShotNeutral.
    pub fn with_white_balance(mut self, wb: [f32; 3]) -> Result<Frame> {
        if !wb.iter().all(|v| v.is_finite() && *v > 0.0) {
            return Err(Error::InvalidInput(format!(
                "{}: white balance {wb:?} must be three positive multipliers",
                self.source.display()
            )));
        }
        self.wb = [wb[0] / wb[1], 1.0, wb[2] / wb[1]];
        if let Some(model) = &mut self.colour {
            let neutral = self.wb.map(|m| 1.0 / m as f64);
            model.as_shot = Some(crate::raw::colour_model::AsShot::Neutral(neutral));
        }
        Ok(self)
    }

    /// The same frame with other capture metadata.
    pub fn with_exif(mut self, exif: Exif) -> Frame {
        self.exif = exif;
        self
    }

    /// Save as a DNG with lossless-JPEG tiles (for a merged burst: the merged raw, which other
    /// raw developers open). Written to a temporary file, then renamed.
    pub fn save_dng(&self, path: impl AsRef<Path>) -> Result<()> {
        self.save_dng_with(path, crate::DngCompression::default())
    }

    /// Save as a DNG stored as `compression` says (uncompressed for readers without lossless
    /// JPEG).
    pub fn save_dng_with(
        &self,
        path: impl AsRef<Path>,
        compression: crate::DngCompression,
    ) -> Result<()> {
        self.require_mosaic("writing a raw DNG")?;
        crate::output::save_dng(self, path.as_ref(), compression)
    }

    /// The same frame read as a Quad Bayer (`block` 2) or Nonacell (3) sensor's mosaic, whose
    /// same-colour blocks form the frame's Bayer layout (for frames built in memory; DNGs with a
    /// 4×4 or 6×6 CFA are recognised when decoded). 1 is plain Bayer. The size must be whole
    /// 2×2-block periods.
    pub fn with_cfa_block(mut self, block: u32) -> Result<Frame> {
        if !(1..=3).contains(&block)
            || !self.width.is_multiple_of(2 * block)
            || !self.height.is_multiple_of(2 * block)
        {
            return Err(Error::InvalidInput(format!(
                "{}: {block}×{block} same-colour blocks: the block must be 1, 2 or 3 and {}×{} a whole number of {p}×{p} CFA periods",
                self.source.display(),
                self.width,
                self.height,
                p = 2 * block
            )));
        }
        self.cfa_block = block;
        Ok(self)
    }

    /// The same frame, named as coming from `path` (for frames built in memory).
    pub fn with_source(mut self, path: impl AsRef<Path>) -> Frame {
        self.source = path.as_ref().to_path_buf();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cfa;

    fn frame(name: &str, w: u32, h: u32, cfa: Cfa) -> Frame {
        Frame::from_mosaic(w, h, vec![300; (w * h) as usize], cfa, 256.0, 4095.0)
            .unwrap()
            .with_source(name)
    }

    #[test]
    fn an_empty_burst_is_invalid_input() {
        assert!(matches!(Burst::new(vec![]), Err(Error::InvalidInput(_))));
    }

    #[test]
    fn a_mismatched_frame_is_named() {
        let ok = || frame("a.dng", 8, 6, Cfa::Rggb);
        for (bad, needle) in [
            (frame("b.dng", 10, 6, Cfa::Rggb), "10×6"),
            (frame("b.dng", 8, 6, Cfa::Bggr), "bggr"),
            (
                frame("b.dng", 8, 6, Cfa::Rggb).with_exif(Exif {
                    make: "Other".into(),
                    ..Exif::default()
                }),
                "Other",
            ),
        ] {
            let err = Burst::new(vec![ok(), ok(), bad, ok()]).unwrap_err();
            match &err {
                Error::BurstMismatch { path, what } => {
                    assert_eq!(path, Path::new("b.dng"));
                    assert!(what.contains(needle), "{what}");
                }
                e => panic!("wrong error {e:?}"),
            }
            assert!(err.to_string().starts_with("b.dng: "), "{err}");
        }
        assert_eq!(Burst::new(vec![ok(), ok()]).unwrap().len(), 2);
    }

    #[test]
    fn a_burst_mixing_quad_bayer_and_bayer_frames_is_refused_naming_the_frame() {
        let quad = || {
            let mut f = frame("q.dng", 8, 8, Cfa::Rggb);
            f.cfa_block = 2;
            f
        };
        let err = Burst::new(vec![frame("a.dng", 8, 8, Cfa::Rggb), quad()]).unwrap_err();
        assert!(matches!(err, Error::BurstMismatch { .. }), "{err}");
        assert!(
            err.to_string().starts_with("q.dng: ") && err.to_string().contains("Quad Bayer"),
            "{err}"
        );
        assert_eq!(Burst::new(vec![quad(), quad()]).unwrap().len(), 2);
    }

    #[test]
    fn a_burst_mixing_x_trans_and_bayer_frames_or_layouts_is_refused_naming_the_frame() {
        let xt = |name: &str, layout| {
            let mut f = frame(name, 12, 6, Cfa::Rggb);
            f.xtrans = Some(layout);
            f
        };
        let fuji = crate::XTrans::FUJIFILM;
        assert_eq!(
            Burst::new(vec![xt("a.raf", fuji), xt("b.raf", fuji)])
                .unwrap()
                .len(),
            2
        );
        for (frames, needle) in [
            (
                vec![xt("a.raf", fuji), frame("b.dng", 12, 6, Cfa::Rggb)],
                "a Bayer sensor, but a.raf is from an X-Trans sensor",
            ),
            (
                vec![frame("a.dng", 12, 6, Cfa::Rggb), xt("b.raf", fuji)],
                "X-Trans",
            ),
            (
                vec![xt("a.raf", fuji), xt("b.raf", fuji.shifted(1, 0))],
                "GGRGGB",
            ),
        ] {
            let err = Burst::new(frames).unwrap_err();
            assert!(matches!(err, Error::BurstMismatch { .. }), "{err}");
            assert!(
                err.to_string().starts_with("b.") && err.to_string().contains(needle),
                "{err}"
            );
        }
    }

    #[test]
    fn a_bad_noise_profile_is_refused() {
        let f = frame("a.dng", 8, 6, Cfa::Rggb);
        assert!(f.clone().with_noise_profile(-1.0, 0.0).is_err());
        assert!(f.clone().with_noise_profile(0.0, f64::NAN).is_err());
        assert_eq!(
            f.with_noise_profile(1e-3, 1e-5).unwrap().noise_profile(),
            Some([1e-3, 1e-5])
        );
    }
}
