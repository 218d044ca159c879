//! DNG writer for raw frames (the merged mosaic of a burst): one uncompressed 16-bit CFA image in
//! IFD0, with the levels, Bayer or X-Trans layout, colour matrix, white balance, noise profile and capture
//! metadata that raw developers (LibRaw, rawloader, our own reader) need. Written with the `tiff`
//! crate's encoder; only the DNG tags are ours.

use std::borrow::Cow;
use std::io::{Seek, Write};

use tiff::encoder::{colortype, TiffEncoder, TiffValue};
use tiff::tags::{Tag, Type};

use crate::raw::Frame;

const DNG_VERSION: u16 = 50706;
const DNG_BACKWARD_VERSION: u16 = 50707;
const UNIQUE_CAMERA_MODEL: u16 = 50708;
const CFA_REPEAT_PATTERN_DIM: u16 = 33421;
const CFA_PATTERN: u16 = 33422;
const CFA_PLANE_COLOR: u16 = 50710;
const CFA_LAYOUT: u16 = 50711;
const BLACK_LEVEL_REPEAT_DIM: u16 = 50713;
const BLACK_LEVEL: u16 = 50714;
const WHITE_LEVEL: u16 = 50717;
const COLOR_MATRIX_1: u16 = 50721;
const AS_SHOT_NEUTRAL: u16 = 50728;
const CALIBRATION_ILLUMINANT_1: u16 = 50778;
const NOISE_PROFILE: u16 = 51041;
const PHOTOMETRIC_CFA: u16 = 32803;
/// EXIF LightSource D65: the matrices are D65 ones.
const ILLUMINANT_D65: u16 = 21;

/// TIFF RATIONAL or SRATIONAL arrays (the tiff crate encodes only single rationals).
struct Rationals<const SIGNED: bool>(Vec<[i32; 2]>);

impl<const SIGNED: bool> TiffValue for Rationals<SIGNED> {
    const BYTE_LEN: u8 = 8;
    const FIELD_TYPE: Type = if SIGNED {
        Type::SRATIONAL
    } else {
        Type::RATIONAL
    };
    fn count(&self) -> usize {
        self.0.len()
    }
    fn data(&self) -> Cow<'_, [u8]> {
        // The encoder writes native byte order throughout (and says so in the header).
        Cow::Owned(
            self.0
                .iter()
                .flat_map(|[n, d]| n.to_ne_bytes().into_iter().chain(d.to_ne_bytes()))
                .collect(),
        )
    }
}

/// A value as a fraction over the largest power of ten up to 10⁶ that keeps the numerator in
/// range (six decimals for matrices and white balance, whole numbers for levels up to 65535).
fn fraction(v: f32) -> [i32; 2] {
    let mut d = 1_000_000i64;
    while d > 1 && (v as f64 * d as f64).abs() >= i32::MAX as f64 {
        d /= 10;
    }
    [(v as f64 * d as f64).round() as i32, d as i32]
}

/// A tag beyond what a frame carries, for tests that write DNGs with known opcode lists or
/// active areas.
#[cfg(test)]
pub(crate) enum ExtraTag {
    /// UNDEFINED bytes (the opcode lists' type).
    Undefined(u16, Vec<u8>),
    /// LONGs.
    Longs(u16, Vec<u32>),
}

/// TIFF UNDEFINED bytes (the tiff crate writes `[u8]` as BYTE).
#[cfg(test)]
struct Undefined<'a>(&'a [u8]);

#[cfg(test)]
impl TiffValue for Undefined<'_> {
    const BYTE_LEN: u8 = 1;
    const FIELD_TYPE: Type = Type::UNDEFINED;
    fn count(&self) -> usize {
        self.0.len()
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.0)
    }
}

/// Encode `frame` as a DNG into `w`.
pub(crate) fn encode<W: Write + Seek>(frame: &Frame, w: &mut W) -> Result<(), String> {
    encode_with(frame, &[], w)
}

/// [`encode`] with `extra` tags in the raw IFD.
fn encode_with<W: Write + Seek>(
    frame: &Frame,
    #[cfg(test)] extra: &[ExtraTag],
    #[cfg(not(test))] _extra: &[()],
    w: &mut W,
) -> Result<(), String> {
    let e = |e: tiff::TiffError| e.to_string();
    let mut tiff = TiffEncoder::new(w).map_err(e)?;
    let mut image = tiff
        .new_image::<colortype::Gray16>(frame.width, frame.height)
        .map_err(e)?;
    let d = image.encoder();
    d.write_tag(Tag::NewSubfileType, 0u32).map_err(e)?;
    // Overrides the encoder's BlackIsZero: this is a colour filter array.
    d.write_tag(Tag::PhotometricInterpretation, PHOTOMETRIC_CFA)
        .map_err(e)?;
    d.write_tag(Tag::Orientation, frame.orientation)
        .map_err(e)?;
    let make = if frame.exif.make.is_empty() {
        "burstpipe"
    } else {
        &frame.exif.make
    };
    let model = if frame.exif.model.is_empty() {
        "merged burst"
    } else {
        &frame.exif.model
    };
    d.write_tag(Tag::Make, make).map_err(e)?;
    d.write_tag(Tag::Model, model).map_err(e)?;
    d.write_tag(Tag::Software, "burstpipe").map_err(e)?;
    let t = Tag::Unknown;
    d.write_tag(t(DNG_VERSION), &[1u8, 4, 0, 0][..])
        .map_err(e)?;
    d.write_tag(t(DNG_BACKWARD_VERSION), &[1u8, 1, 0, 0][..])
        .map_err(e)?;
    d.write_tag(t(UNIQUE_CAMERA_MODEL), format!("{make} {model}").as_str())
        .map_err(e)?;
    match frame.xtrans {
        Some(layout) => {
            d.write_tag(t(CFA_REPEAT_PATTERN_DIM), &[6u16, 6][..])
                .map_err(e)?;
            d.write_tag(t(CFA_PATTERN), &layout.colors()[..])
                .map_err(e)?;
        }
        None => {
            // Bayer, or Quad Bayer / Nonacell: the 4×4 / 6×6 pattern of same-colour blocks.
            let period = 2 * frame.cfa_block as usize;
            d.write_tag(t(CFA_REPEAT_PATTERN_DIM), &[period as u16; 2][..])
                .map_err(e)?;
            let pattern: Vec<u8> = (0..period * period)
                .map(|i| {
                    let b = frame.cfa_block as usize;
                    frame.cfa.color_at(i % period / b, i / period / b) as u8
                })
                .collect();
            d.write_tag(t(CFA_PATTERN), &pattern[..]).map_err(e)?;
        }
    }
    d.write_tag(t(CFA_PLANE_COLOR), &[0u8, 1, 2][..])
        .map_err(e)?;
    d.write_tag(t(CFA_LAYOUT), 1u16).map_err(e)?;
    d.write_tag(t(BLACK_LEVEL_REPEAT_DIM), &[2u16, 2][..])
        .map_err(e)?;
    let black = Rationals::<false>(frame.black.iter().map(|&b| fraction(b)).collect());
    d.write_tag(t(BLACK_LEVEL), black).map_err(e)?;
    d.write_tag(t(WHITE_LEVEL), frame.white.round() as u32)
        .map_err(e)?;
    let matrix = Rationals::<true>(
        frame
            .xyz_to_cam
            .iter()
            .flatten()
            .map(|&v| fraction(v))
            .collect(),
    );
    d.write_tag(t(COLOR_MATRIX_1), matrix).map_err(e)?;
    d.write_tag(t(CALIBRATION_ILLUMINANT_1), ILLUMINANT_D65)
        .map_err(e)?;
    // AsShotNeutral is the camera's response to white: the inverse of the multipliers.
    let neutral = Rationals::<false>(frame.wb.iter().map(|&m| fraction(1.0 / m)).collect());
    d.write_tag(t(AS_SHOT_NEUTRAL), neutral).map_err(e)?;
    if let Some([scale, offset]) = frame.noise_profile {
        d.write_tag(t(NOISE_PROFILE), &[scale, offset][..])
            .map_err(e)?;
    }
    #[cfg(test)]
    for tag in extra {
        match tag {
            ExtraTag::Undefined(t, bytes) => d.write_tag(Tag::Unknown(*t), Undefined(bytes)),
            ExtraTag::Longs(t, v) => d.write_tag(Tag::Unknown(*t), &v[..]),
        }
        .map_err(e)?;
        // Opcode lists came with DNG 1.3: readers older than that cannot render the file.
        if matches!(tag, ExtraTag::Undefined(51008 | 51009 | 51022, _)) {
            d.write_tag(t(DNG_BACKWARD_VERSION), &[1u8, 3, 0, 0][..])
                .map_err(e)?;
        }
    }
    image.write_data(&frame.mosaic).map_err(e)
}

/// Write `frame` to `path` as a DNG with `extra` tags (tests).
#[cfg(test)]
pub(crate) fn save_with(
    frame: &Frame,
    path: &std::path::Path,
    extra: &[ExtraTag],
) -> Result<(), String> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| e.to_string())?);
    encode_with(frame, extra, &mut file)?;
    file.flush().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cfa;

    fn frame(cfa: Cfa) -> Frame {
        let (w, h) = (70u32, 46u32);
        let mosaic = (0..w * h).map(|i| (4096 + i * 37 % 61000) as u16).collect();
        let mut f = Frame::from_mosaic(w, h, mosaic, cfa, 4096.0, 65535.0).unwrap();
        f.wb = [2.0, 1.0, 1.5];
        f.noise_profile = Some([2.5e-4, 3e-6]);
        f.exif.make = "Acme".into();
        f.exif.model = "Burst 1".into();
        f
    }

    #[test]
    fn dng_round_trips_through_our_reader_and_rawloader() {
        let dir = tempfile::tempdir().unwrap();
        for cfa in Cfa::ALL {
            let f = frame(cfa);
            let path = dir.path().join(format!("{}.dng", cfa.name()));
            f.save_dng(&path).unwrap();

            let back = Frame::open(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                (back.width, back.height, back.cfa),
                (f.width, f.height, cfa)
            );
            assert_eq!(back.mosaic, f.mosaic);
            assert_eq!((back.black, back.white), (f.black, f.white));
            for c in 0..3 {
                assert!(
                    (back.wb[c] - f.wb[c]).abs() < 1e-4,
                    "{:?} vs {:?}",
                    back.wb,
                    f.wb
                );
            }
            assert_eq!(back.noise_profile, f.noise_profile);
            assert_eq!(
                (back.exif.make.as_str(), back.exif.model.as_str()),
                ("Acme", "Burst 1")
            );

            let raw = rawloader::decode_file(&path).unwrap_or_else(|e| panic!("rawloader: {e}"));
            assert_eq!(
                (raw.width, raw.height),
                (f.width as usize, f.height as usize)
            );
            match raw.data {
                rawloader::RawImageData::Integer(v) => assert_eq!(v, f.mosaic),
                _ => panic!("rawloader read floats"),
            }
            assert_eq!(raw.whitelevels[0], 65535);
            assert_eq!(raw.blacklevels[0], 4096);
        }
    }

    #[test]
    fn x_trans_dng_round_trips_through_our_reader_and_rawloader() {
        let dir = tempfile::tempdir().unwrap();
        let layout = crate::XTrans::FUJIFILM.shifted(2, 5);
        let mut f = frame(Cfa::Rggb);
        f.xtrans = Some(layout);
        let path = dir.path().join("xtrans.dng");
        f.save_dng(&path).unwrap();
        let back = Frame::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.xtrans, Some(layout));
        assert_eq!(back.mosaic, f.mosaic);
        assert_eq!((back.black, back.white), (f.black, f.white));
        let raw = rawloader::decode_file(&path).unwrap_or_else(|e| panic!("rawloader: {e}"));
        assert_eq!((raw.cfa.width, raw.cfa.height), (6, 6));
        assert_eq!(raw.cfa.name, layout.name().replace('/', ""));
    }
}
