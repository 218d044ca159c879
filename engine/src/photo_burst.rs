//! Bursts of finished photos (JPEG, PNG, TIFF: phone burst modes, frames exported from video).
//! Each photo is linearised (inverse sRGB) and laid out as a mosaic of RGGB quads — pixel (x, y)
//! becomes sensor pixels (2x, 2y) R, (2x + 1, 2y) and (2x, 2y + 1) G, (2x + 1, 2y + 1) B — so the
//! raw burst merge runs on it unchanged: its grey (the mean of each quad, a luma) is the photo at
//! full resolution, the alignment's motion in grey pixels is the photo's, and the robust merge
//! (Wiener or spatial, with its noise estimate and motion robustness) works per Bayer plane, that
//! is per RGB channel of the linear photo. The merged mosaic goes back to the input's encoding
//! (sRGB, same bit depth) on the GPU (stages::photo_encode), with no tone mapping.

use std::path::{Path, PathBuf};

use crate::burst::MergeOptions;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::raw::{Frame, MAX_SIDE};
use crate::schedule::merge as merge_schedule;
use crate::stages::photo_encode::{self, Params};
use crate::stages::tone::{packed_bytes, unpack_packed};
use crate::stages::warp::reference::srgb_eotf;
use crate::{Burst, Cfa, Engine, Image};

/// The frames of a burst of finished photos, checked to share size and bit depth.
#[derive(Debug, Clone)]
pub struct PhotoBurst {
    images: Vec<Image>,
    sources: Vec<PathBuf>,
}

impl PhotoBurst {
    /// A burst from images in memory (sRGB-encoded, 8 or 16 bits, all one size and depth).
    pub fn new(images: Vec<Image>) -> Result<PhotoBurst> {
        let sources = (0..images.len())
            .map(|i| PathBuf::from(format!("<memory: frame {i}>")))
            .collect();
        PhotoBurst::with_sources(images, sources)
    }

    /// Decode every file (JPEG, PNG, TIFF; in the given order) and check them as a burst.
    pub fn open<P: AsRef<Path>>(paths: &[P]) -> Result<PhotoBurst> {
        let images = paths.iter().map(Image::open).collect::<Result<Vec<_>>>()?;
        let sources = paths.iter().map(|p| p.as_ref().to_path_buf()).collect();
        PhotoBurst::with_sources(images, sources)
    }

    fn with_sources(images: Vec<Image>, sources: Vec<PathBuf>) -> Result<PhotoBurst> {
        let first = images
            .first()
            .ok_or_else(|| Error::InvalidInput("a burst needs at least one frame".into()))?;
        for (img, path) in images.iter().zip(&sources) {
            let n = img.width as u64 * img.height as u64 * 3;
            if !matches!(img.bits, 8 | 16) || img.data.len() as u64 != n || n == 0 {
                return Err(Error::InvalidInput(format!(
                    "{}: a {}×{} {}-bit image must hold {n} values, not {}",
                    path.display(),
                    img.width,
                    img.height,
                    img.bits,
                    img.data.len()
                )));
            }
            let what = if (img.width, img.height) != (first.width, first.height) {
                Some(format!(
                    "{}×{} pixels, but {} has {}×{}",
                    img.width,
                    img.height,
                    sources[0].display(),
                    first.width,
                    first.height
                ))
            } else if img.bits != first.bits {
                Some(format!(
                    "{}-bit, but {} is {}-bit",
                    img.bits,
                    sources[0].display(),
                    first.bits
                ))
            } else {
                None
            };
            if let Some(what) = what {
                return Err(Error::BurstMismatch {
                    path: path.clone(),
                    what,
                });
            }
        }
        Ok(PhotoBurst { images, sources })
    }

    /// The frames, in capture order.
    pub fn images(&self) -> &[Image] {
        &self.images
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Always false: a burst has at least one frame.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }
}

/// A burst read from files: raw frames or finished photos, never both.
#[derive(Debug, Clone)]
pub enum BurstFiles {
    /// Raw frames: merge with [`Engine::merge`].
    Raw(Burst),
    /// Finished photos: merge with [`Engine::merge_photos`].
    Photos(PhotoBurst),
}

impl BurstFiles {
    /// Decode every file (in the given order): the first decides whether this is a raw burst or
    /// one of finished photos; a file of the other kind is an [`Error::MixedBurst`] naming it.
    pub fn open<P: AsRef<Path>>(paths: &[P]) -> Result<BurstFiles> {
        let mut raws = Vec::new();
        let mut photos = Vec::new();
        for path in paths {
            let path = path.as_ref();
            let photo = match Frame::open(path) {
                Ok(frame) => {
                    raws.push(frame);
                    None
                }
                Err(Error::NotRaw { format, .. }) => {
                    photos.push(path.to_path_buf());
                    Some(format)
                }
                Err(e) => return Err(e),
            };
            if raws.is_empty() || photos.is_empty() {
                continue;
            }
            let first = paths[0].as_ref().to_path_buf();
            return Err(match photo {
                Some(format) => Error::MixedBurst {
                    path: path.to_path_buf(),
                    first,
                    found: format!("a finished photo ({format})"),
                    expected: "raw frames",
                },
                None => Error::MixedBurst {
                    path: path.to_path_buf(),
                    first,
                    found: "a raw frame".into(),
                    expected: "finished photos",
                },
            });
        }
        if photos.is_empty() {
            return Ok(BurstFiles::Raw(Burst::new(raws)?));
        }
        Ok(BurstFiles::Photos(PhotoBurst::open(&photos)?))
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        match self {
            BurstFiles::Raw(b) => b.len(),
            BurstFiles::Photos(b) => b.len(),
        }
    }

    /// Always false: a burst has at least one frame.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Linear value (on 0..=65535) of every code of a `bits`-bit sRGB encoding: the decode of a
/// finished photo, applied while it is read into a mosaic (like a raw's linearization table).
fn linear_table(bits: u8) -> Vec<u16> {
    let max = if bits == 8 { 255.0 } else { 65535.0 };
    (0..=max as u32)
        .map(|c| (srgb_eotf(c as f32 / max) * 65535.0).round() as u16)
        .collect()
}

/// `img` linearised as a mosaic of RGGB quads (see the module), levels black 0, white 65535.
fn to_quads(img: &Image, source: &Path, table: &[u16]) -> Result<Frame> {
    let too_big = || {
        Error::limits(
            source,
            format!(
                "a {}×{} photo is too large to merge as a burst: at most {} pixels a side",
                img.width,
                img.height,
                MAX_SIDE / 2
            ),
        )
    };
    let (w, h) = (img.width as usize, img.height as usize);
    let (mw, mh) = (
        img.width
            .checked_mul(2)
            .filter(|&v| v <= MAX_SIDE)
            .ok_or_else(too_big)?,
        img.height
            .checked_mul(2)
            .filter(|&v| v <= MAX_SIDE)
            .ok_or_else(too_big)?,
    );
    let lin = |v: u16| table.get(v as usize).copied().unwrap_or(u16::MAX);
    let mut mosaic = vec![0u16; 4 * w * h];
    let row = 2 * w;
    for (i, px) in img.data.chunks_exact(3).enumerate() {
        let top = 2 * (i / w) * row + 2 * (i % w);
        mosaic[top] = lin(px[0]);
        mosaic[top + 1] = lin(px[1]);
        mosaic[top + row] = lin(px[1]);
        mosaic[top + row + 1] = lin(px[2]);
    }
    let mut frame =
        Frame::from_mosaic(mw, mh, mosaic, Cfa::Rggb, 0.0, 65535.0)?.with_exif(img.exif.clone());
    frame.source = source.to_path_buf();
    Ok(frame)
}

impl Engine {
    /// Align and merge a burst of finished photos (see [`PhotoBurst`]) into one photo in their
    /// encoding (sRGB, the frames' bit depth) and with the reference's EXIF: aligned on luma,
    /// merged robustly per channel in linear light, not tone mapped again. The options' method,
    /// strength, reference, frame count and band limits apply (bands count mosaic rows, two per
    /// photo row); `develop` does not (binning is refused). A burst of one frame comes back as it
    /// is.
    pub fn merge_photos(&self, burst: &PhotoBurst, options: &MergeOptions) -> Result<Image> {
        self.merge_photos_with_progress(burst, options, &mut crate::progress::ignore)
    }

    /// [`Engine::merge_photos`] with progress and cancellation, as [`Engine::merge_raw_with_progress`].
    pub fn merge_photos_with_progress(
        &self,
        burst: &PhotoBurst,
        options: &MergeOptions,
        progress: &mut Progress,
    ) -> Result<Image> {
        if options.develop.binning != crate::Binning::Off {
            return Err(Error::InvalidInput(
                "binning applies to raw mosaics: merge finished photos without --bin".into(),
            ));
        }
        let k = options.frames_to_merge(burst.len())?;
        let images = &burst.images[..k];
        let table = linear_table(images[0].bits);
        let frames = images
            .iter()
            .zip(&burst.sources)
            .map(|(img, source)| to_quads(img, source, &table))
            .collect::<Result<Vec<_>>>()?;
        let plan = merge_schedule::Plan {
            frames: &frames,
            reference: options.reference,
            method: options.method,
            strength: options.strength,
            max_band_rows: options.max_band_rows,
            max_binding: options.max_binding,
        };
        let merged = match merge_schedule::merge(&self.gpu, &plan, progress)? {
            Ok(merged) => merged,
            Err(single) => return Ok(images[single].clone()),
        };
        drop(frames);
        let r = &images[merged.reference];
        let data = encode(self, &merged.buffer, r, options)?;
        Ok(Image {
            data,
            exif: r.exif.clone(),
            ..*r
        })
    }
}

/// The merged mosaic (f32, linear, one quad per pixel of `like`) as `like`'s encoding: R, G, B
/// values. Done in bands of rows that fit the device's bindings (and the options' `max_binding`,
/// `max_band_rows` in mosaic rows); the whole output is only copied into.
fn encode(
    engine: &Engine,
    merged: &wgpu::Buffer,
    like: &Image,
    options: &MergeOptions,
) -> Result<Vec<u16>> {
    let gpu = &engine.gpu;
    let (w, h) = (like.width, like.height);
    // Bytes of mosaic per output row: two rows of 2w f32.
    let row_bytes = 16 * w as u64;
    let limit = gpu
        .max_binding()
        .min(options.max_binding.unwrap_or(u64::MAX));
    let cap = options.max_band_rows.map_or(u64::MAX, |r| r as u64 / 2);
    let fit = (limit / row_bytes).min(cap.max(2));
    if fit < 2 {
        return Err(Error::InvalidInput(format!(
            "a photo {w} pixels wide does not fit this device's {limit}-byte buffers two rows at a time"
        )));
    }
    // Even band heights keep every band's packed pixel pairs (and copies) 4-byte aligned.
    let rows = (fit.min(h.max(2) as u64) as u32) & !1;
    let total = packed_bytes(w * h);
    let out = gpu.storage("merged photo", total);
    gpu.run("encode merged photo", |enc| {
        let mut y = 0;
        while y < h {
            let band = rows.min(h - y);
            let pixels = w * band;
            let part = gpu.storage("merged band", row_bytes * band as u64);
            enc.copy_buffer_to_buffer(
                merged,
                row_bytes * y as u64,
                &part,
                0,
                row_bytes * band as u64,
            );
            let encoded = gpu.storage("encoded band", packed_bytes(pixels));
            let p = Params {
                pixels,
                stride: 0,
                bits: like.bits as u32,
                width: w,
            };
            photo_encode::record(gpu, enc, &p, &part, &encoded);
            let at = (w as u64 * y as u64).div_ceil(2) * 12;
            enc.copy_buffer_to_buffer(&encoded, 0, &out, at, packed_bytes(pixels));
            y += band;
        }
    })?;
    Ok(unpack_packed(
        w * h,
        &gpu.read("encode merged photo", &out, total)?,
    ))
}
