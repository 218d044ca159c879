//! DNG writer for raw frames (the merged mosaic of a burst): one 16-bit CFA image in IFD0,
//! lossless-JPEG tiles by default or uncompressed, with the levels, Bayer or X-Trans layout,
//! colour matrix, white balance, noise profile and capture metadata that raw developers (LibRaw,
//! rawloader, our own reader) need. Written with the `tiff` crate's encoder; only the DNG tags
//! and the tiles are ours.

use std::borrow::Cow;
use std::io::{Seek, Write};

use rayon::prelude::*;
use tiff::encoder::{colortype, DirectoryEncoder, TiffEncoder, TiffKind, TiffValue};
use tiff::tags::{Tag, Type};

use crate::raw::{ljpeg, Frame};

/// How a DNG stores its mosaic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DngCompression {
    /// Lossless JPEG (compression 7) in 256×256 tiles, as Adobe's DNG Converter writes it: about
    /// half the size, read back bit-identically by LibRaw, rawloader and burstpipe.
    #[default]
    LosslessJpeg,
    /// Uncompressed 16-bit strips, for readers without lossless-JPEG support.
    Uncompressed,
}

/// Tile side of lossless-JPEG DNGs (Adobe's converter uses 256 too).
const TILE: u32 = 256;
const COMPRESSION_LOSSLESS_JPEG: u16 = 7;

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
pub(crate) fn encode<W: Write + Seek>(
    frame: &Frame,
    compression: DngCompression,
    w: &mut W,
) -> Result<(), String> {
    encode_with(frame, compression, &[], w)
}

/// [`encode`] with `extra` tags in the raw IFD.
fn encode_with<W: Write + Seek>(
    frame: &Frame,
    compression: DngCompression,
    #[cfg(test)] extra: &[ExtraTag],
    #[cfg(not(test))] extra: &[()],
    w: &mut W,
) -> Result<(), String> {
    let e = |e: tiff::TiffError| e.to_string();
    let mut tiff = TiffEncoder::new(w).map_err(e)?;
    match compression {
        DngCompression::Uncompressed => {
            let mut image = tiff
                .new_image::<colortype::Gray16>(frame.width, frame.height)
                .map_err(e)?;
            write_tags(frame, extra, image.encoder())?;
            image.write_data(&frame.mosaic).map_err(e)
        }
        DngCompression::LosslessJpeg => {
            let mut d = tiff.image_directory().map_err(e)?;
            d.write_tag(Tag::ImageWidth, frame.width).map_err(e)?;
            d.write_tag(Tag::ImageLength, frame.height).map_err(e)?;
            d.write_tag(Tag::BitsPerSample, 16u16).map_err(e)?;
            d.write_tag(Tag::Compression, COMPRESSION_LOSSLESS_JPEG)
                .map_err(e)?;
            d.write_tag(Tag::SamplesPerPixel, 1u16).map_err(e)?;
            d.write_tag(Tag::PlanarConfiguration, 1u16).map_err(e)?;
            d.write_tag(Tag::TileWidth, TILE).map_err(e)?;
            d.write_tag(Tag::TileLength, TILE).map_err(e)?;
            write_tags(frame, extra, &mut d)?;
            let tiles = lossless_jpeg_tiles(frame);
            let mut offsets = Vec::with_capacity(tiles.len());
            for tile in &tiles {
                let offset = d.write_data(&tile[..]).map_err(e)?;
                offsets.push(u32::try_from(offset).map_err(|_| "DNG larger than 4 GiB")?);
            }
            let counts: Vec<u32> = tiles.iter().map(|t| t.len() as u32).collect();
            d.write_tag(Tag::TileOffsets, &offsets[..]).map_err(e)?;
            d.write_tag(Tag::TileByteCounts, &counts[..]).map_err(e)?;
            d.finish().map_err(e)
        }
    }
}

/// The mosaic as 256×256 lossless-JPEG tiles, row by row, encoded in parallel. Each tile is a
/// 128-wide, 2-component JPEG (the layout of Adobe's converter): a sample's left neighbour in
/// its component is then two pixels away, the same Bayer colour, which predictor 1 codes in
/// fewer bits than the other colour next to it. Edge tiles repeat the last column and row.
fn lossless_jpeg_tiles(frame: &Frame) -> Vec<Vec<u8>> {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let t = TILE as usize;
    let across = w.div_ceil(t);
    let options = ljpeg::EncodeOptions {
        predictor: 1,
        precision: 16,
        point_transform: 0,
        restart_lines: 0,
    };
    (0..across * h.div_ceil(t))
        .into_par_iter()
        .map(|i| {
            let (x0, y0) = (i % across * t, i / across * t);
            let mut tile = Vec::with_capacity(t * t);
            for y in y0..y0 + t {
                let row = &frame.mosaic[y.min(h - 1) * w..][..w];
                tile.extend((x0..x0 + t).map(|x| row[x.min(w - 1)]));
            }
            ljpeg::encode(&tile, TILE / 2, TILE, 2, options)
        })
        .collect()
}

/// IFD0's tags other than the image structure.
fn write_tags<W: Write + Seek, K: TiffKind>(
    frame: &Frame,
    #[cfg(test)] extra: &[ExtraTag],
    #[cfg(not(test))] _extra: &[()],
    d: &mut DirectoryEncoder<'_, W, K>,
) -> Result<(), String> {
    let e = |e: tiff::TiffError| e.to_string();
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
    // AsShotNeutral is the camera's response to white: the inverse of the multipliers. A frame
    // whose file recorded no usable white gets none, so readers estimate it as we do.
    if frame.has_as_shot_white_balance() {
        let neutral = Rationals::<false>(frame.wb.iter().map(|&m| fraction(1.0 / m)).collect());
        d.write_tag(t(AS_SHOT_NEUTRAL), neutral).map_err(e)?;
    }
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
    Ok(())
}

/// Write `frame` to `path` as a DNG with `extra` tags (tests).
#[cfg(test)]
pub(crate) fn save_with(
    frame: &Frame,
    path: &std::path::Path,
    extra: &[ExtraTag],
) -> Result<(), String> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| e.to_string())?);
    encode_with(frame, DngCompression::Uncompressed, extra, &mut file)?;
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
        let compressions = [DngCompression::LosslessJpeg, DngCompression::Uncompressed];
        for (cfa, compression) in Cfa::ALL.into_iter().zip(compressions.into_iter().cycle()) {
            let f = frame(cfa);
            let path = dir.path().join(format!("{}.dng", cfa.name()));
            f.save_dng_with(&path, compression).unwrap();

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
    fn lossless_jpeg_tiles_cover_an_image_of_several_partial_tiles() {
        // 2×2 tiles, the right and bottom ones mostly padding; values up to 65535 and jumps of
        // 32768 (the 16-bit difference category).
        let (w, h) = (300u32, 270u32);
        let mosaic = (0..w * h)
            .map(|i| match i % 7 {
                0 => 0,
                1 => 65535,
                2 => 32768,
                _ => (i * 7919 % 65536) as u16,
            })
            .collect();
        let f = Frame::from_mosaic(w, h, mosaic, Cfa::Gbrg, 0.0, 65535.0).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiles.dng");
        f.save_dng(&path).unwrap();
        let back = Frame::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(back.mosaic == f.mosaic);
        // (LibRaw reads partial tiles back in tests/dng_libraw.rs. rawloader 0.37 is not asked:
        // it misdecodes a tile from the first difference of −32768 on, the 16-bit category of
        // T.81 H.1.2.2 that LibRaw decodes, e.g. a 0 as a tile's first value.)
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
