//! A burst: several raw frames of one scene from one camera, validated together, and the options
//! of merging them into one photo.

use std::path::Path;

use crate::error::{Error, Result};
use crate::raw::{Exif, Frame};

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
        for f in &frames[1..] {
            let what = if (f.width, f.height) != (first.width, first.height) {
                Some(format!(
                    "{}×{} pixels, but {} has {}×{}",
                    f.width,
                    f.height,
                    first.source.display(),
                    first.width,
                    first.height
                ))
            } else if f.cfa != first.cfa {
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
        let frames = paths
            .iter()
            .map(|p| Frame::open(p))
            .collect::<Result<Vec<_>>>()?;
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

    /// The noise profile (scale, offset), if the file had one.
    pub fn noise_profile(&self) -> Option<[f64; 2]> {
        self.noise_profile
    }

    /// The same frame with other capture metadata.
    pub fn with_exif(mut self, exif: Exif) -> Frame {
        self.exif = exif;
        self
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
