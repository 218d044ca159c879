//! DNG reader: finds the raw CFA image, reads its metadata, and reads its pixels: uncompressed
//! (strips or tiles, 8/16-bit or bit-packed) here, lossless JPEG in `dng_ljpeg.rs`. Other
//! compressions keep our metadata but leave the pixels to rawloader (see `decode.rs`).
//!
//! The tiff crate parses directories and tag values (byte order, BigTIFF, value limits); pixel
//! bytes are read here by offset, with every offset and size checked against the file first.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use tiff::decoder::{ifd::Value, Decoder, Limits};
use tiff::tags::{IfdPointer, Tag};
use tiff::{Directory, TiffError};

use super::colour_model::{self, AsShot, Calibration, ColourModel, M3};
use super::dng_chunks::Chunks;
use super::opcodes::{self, OpcodeLists, Stage};
use super::{Cfa, Exif, XTrans, MAX_SIDE, SRGB_TO_XYZ_INVERSE};
use crate::error::{Error, Result};

pub(crate) mod linear_raw;

// DNG and EXIF tag numbers (the tiff crate names only baseline TIFF tags).
const NEW_SUBFILE_TYPE: u16 = 254;
const IMAGE_WIDTH: u16 = 256;
const IMAGE_LENGTH: u16 = 257;
const BITS_PER_SAMPLE: u16 = 258;
const COMPRESSION: u16 = 259;
const PHOTOMETRIC: u16 = 262;
const MAKE: u16 = 271;
const MODEL: u16 = 272;
const STRIP_OFFSETS: u16 = 273;
const STRIP_BYTE_COUNTS: u16 = 279;
const ORIENTATION: u16 = 274;
const SAMPLES_PER_PIXEL: u16 = 277;
const ROWS_PER_STRIP: u16 = 278;
const TILE_WIDTH: u16 = 322;
const TILE_LENGTH: u16 = 323;
const TILE_OFFSETS: u16 = 324;
const TILE_BYTE_COUNTS: u16 = 325;
const SUB_IFDS: u16 = 330;
const SAMPLE_FORMAT: u16 = 339;
const CFA_REPEAT_PATTERN_DIM: u16 = 33421;
const CFA_PATTERN: u16 = 33422;
const EXPOSURE_TIME: u16 = 33434;
const F_NUMBER: u16 = 33437;
const EXIF_IFD: u16 = 34665;
const ISO_SPEED: u16 = 34855;
const DATE_TIME_ORIGINAL: u16 = 36867;
const FOCAL_LENGTH: u16 = 37386;
const DNG_VERSION: u16 = 50706;
const CFA_PLANE_COLOR: u16 = 50710;
const LINEARIZATION_TABLE: u16 = 50712;
const BLACK_LEVEL_REPEAT_DIM: u16 = 50713;
const BLACK_LEVEL: u16 = 50714;
const BLACK_LEVEL_DELTA_H: u16 = 50715;
const BLACK_LEVEL_DELTA_V: u16 = 50716;
const WHITE_LEVEL: u16 = 50717;
const DEFAULT_CROP_ORIGIN: u16 = 50719;
const DEFAULT_CROP_SIZE: u16 = 50720;
const COLOR_MATRIX_1: u16 = 50721;
const COLOR_MATRIX_2: u16 = 50722;
const CAMERA_CALIBRATION_1: u16 = 50723;
const CAMERA_CALIBRATION_2: u16 = 50724;
const ANALOG_BALANCE: u16 = 50727;
const AS_SHOT_NEUTRAL: u16 = 50728;
const AS_SHOT_WHITE_XY: u16 = 50729;
const BASELINE_EXPOSURE: u16 = 50730;
const FORWARD_MATRIX_1: u16 = 50964;
const FORWARD_MATRIX_2: u16 = 50965;
const CALIBRATION_ILLUMINANT_1: u16 = 50778;
const CALIBRATION_ILLUMINANT_2: u16 = 50779;
const ACTIVE_AREA: u16 = 50829;
const NOISE_PROFILE: u16 = 51041;

const PHOTOMETRIC_CFA: u64 = 32803;
/// GoPro's VC-5 wavelet codec (GPR files).
const COMPRESSION_VC5: u64 = 9;
const PHOTOMETRIC_LINEAR_RAW: u64 = 34892;
const COMPRESSION_LOSSLESS_JPEG: u64 = 7;

/// Hostile files can chain or nest directories without end; real DNGs have a handful.
const MAX_DIRECTORIES: usize = 64;

/// Where the pixel values of the raw image are and how they are stored.
#[derive(Debug, Clone)]
pub(crate) enum Layout {
    /// Uncompressed, read by [`DngImage::read_mosaic`].
    Uncompressed {
        bits: u32,
        /// Byte order of 16-bit samples.
        little_endian: bool,
        /// Chunk (strip or tile) size in pixels; a strip is as wide as the image.
        chunk_width: u32,
        chunk_height: u32,
        offsets: Vec<u64>,
    },
    /// Lossless JPEG (compression 7), decoded by `dng_ljpeg`.
    LosslessJpeg(Chunks),
    /// Other compressions: rawloader decodes the pixels.
    Compressed,
}

/// The raw image of a DNG: full (uncropped) size, with metadata ready for a `Frame`.
#[derive(Debug, Clone)]
pub(crate) struct DngImage {
    pub width: u32,
    pub height: u32,
    /// CFA of the full image, before cropping.
    pub cfa: Cfa,
    /// Black level per 2×2 position of the full image.
    pub black: [f32; 4],
    pub white: f32,
    pub wb: [f32; 3],
    pub xyz_to_cam: [[f32; 3]; 3],
    pub orientation: u16,
    pub exif: Exif,
    pub noise_profile: Option<[f64; 2]>,
    /// 1 Bayer, 2 Quad Bayer, 3 Nonacell (see `Frame::cfa_block`).
    pub cfa_block: u32,
    /// X-Trans layout of the full image (then `cfa` is a placeholder).
    pub xtrans: Option<XTrans>,
    /// Area to keep, in full-image pixels: x, y, width, height.
    pub crop: [u32; 4],
    pub layout: Layout,
    linearization: Option<Vec<u16>>,
    /// The DNG colour model (calibrations, as-shot white, baseline exposure).
    pub colour: ColourModel,
    /// OpcodeList1/2/3, already in the coordinates of the cropped frame.
    pub opcodes: OpcodeLists,
}

/// Parse a DNG. `Ok(None)` if `data` is not a DNG at all (not TIFF, or TIFF without DNGVersion),
/// so the caller can try other decoders.
pub(crate) fn parse(path: &Path, data: &[u8]) -> Result<Option<DngImage>> {
    let Some(MainImages {
        mut tiff,
        ifd0,
        cfa,
        linear,
    }) = main_images(path, data)?
    else {
        return Ok(None);
    };
    let Some(raw) = cfa else {
        return Err(match linear {
            // `linear_raw::decode` reads these; here only by mistake.
            Some(_) => Error::unsupported(path, "LinearRaw DNG where a CFA mosaic is needed"),
            None => Error::decode(path, "DNG without a raw CFA image"),
        });
    };
    read_image(path, &mut tiff, &ifd0, &raw, data.len() as u64).map(Some)
}

/// A DNG's IFD0 and its full-resolution main images: the first CFA and the first LinearRaw
/// directory, in IFD0 or a SubIFD (phones and converters use both).
struct MainImages<'a> {
    tiff: TiffFile<'a>,
    ifd0: Directory,
    cfa: Option<Directory>,
    linear: Option<Directory>,
}

/// `Ok(None)` if `data` is not a DNG at all (not TIFF, or TIFF without DNGVersion).
fn main_images<'a>(path: &Path, data: &'a [u8]) -> Result<Option<MainImages<'a>>> {
    let Some(mut tiff) = TiffFile::open(data) else {
        return Ok(None);
    };
    let err = |e| tiff_error(path, e);
    let ifd0 = tiff.decoder.read_directory(tiff.ifd0).map_err(err)?;
    if !ifd0.contains(tag(DNG_VERSION)) {
        return Ok(None);
    }
    let (mut cfa, mut linear) = (None, None);
    for dir in directories(&mut tiff).map_err(err)? {
        let main_image = tiff
            .unsigned(&dir, NEW_SUBFILE_TYPE)
            .map_err(err)?
            .unwrap_or(0)
            == 0;
        match tiff.unsigned(&dir, PHOTOMETRIC).map_err(err)? {
            Some(PHOTOMETRIC_CFA) if main_image && cfa.is_none() => cfa = Some(dir),
            Some(PHOTOMETRIC_LINEAR_RAW) if main_image && linear.is_none() => linear = Some(dir),
            _ => {}
        }
    }
    Ok(Some(MainImages {
        tiff,
        ifd0,
        cfa,
        linear,
    }))
}

/// Every directory of the IFD0 chain and its SubIFDs, breadth-first (the main image comes
/// before the previews nested in it), bounded against cycles and endless chains.
fn directories(tiff: &mut TiffFile) -> Result<Vec<Directory>, TiffError> {
    let mut queue = std::collections::VecDeque::from([tiff.ifd0]);
    let mut seen = Vec::new();
    let mut dirs = Vec::new();
    while let Some(ptr) = queue.pop_front() {
        if seen.contains(&ptr.0) || seen.len() >= MAX_DIRECTORIES {
            continue;
        }
        seen.push(ptr.0);
        let dir = tiff.decoder.read_directory(ptr)?;
        queue.extend(dir.next());
        if let Some(subs) = tiff.find(&dir, SUB_IFDS)? {
            queue.extend(subs.into_u64_vec()?.into_iter().map(IfdPointer));
        }
        dirs.push(dir);
    }
    Ok(dirs)
}

/// Whether `data` starts like a TIFF file (classic or BigTIFF, either byte order).
pub(crate) fn is_tiff(data: &[u8]) -> bool {
    [b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"]
        .iter()
        .any(|m| data.starts_with(*m))
}

/// Before handing a TIFF-based raw (CR2, NEF, ARW, ...) to rawloader, which allocates whatever
/// the header says: refuse images declared beyond our limits. Anything unreadable here is left
/// for rawloader to report.
pub(crate) fn check_declared_sizes(path: &Path, data: &[u8]) -> Result<()> {
    let Some(mut tiff) = TiffFile::open(data) else {
        return Ok(());
    };
    let Ok(dirs) = directories(&mut tiff) else {
        return Ok(());
    };
    for dir in dirs {
        let width = tiff.unsigned(&dir, IMAGE_WIDTH).ok().flatten();
        let height = tiff.unsigned(&dir, IMAGE_LENGTH).ok().flatten();
        if let (Some(w @ 1..), Some(h @ 1..)) = (width, height) {
            check_size(path, &tiff, w, h)?;
            check_uncompressed_strips(path, &mut tiff, &dir, (w, h))?;
        }
    }
    Ok(())
}

/// An uncompressed image (compression 1, or a strip exactly the size of packed pixels, which
/// rawloader also reads as uncompressed) whose strip claims the whole image must fit in the file
/// from its first strip on: rawloader's packed decoders index rows without checking and panic on
/// a truncated file.
fn check_uncompressed_strips(
    path: &Path,
    tiff: &mut TiffFile,
    dir: &Directory,
    (width, height): (u64, u64),
) -> Result<()> {
    let mut get = |t| tiff.unsigned(dir, t).ok().flatten();
    let (Some(offset), Some(bits)) = (get(STRIP_OFFSETS), get(BITS_PER_SAMPLE)) else {
        return Ok(());
    };
    let need = (width * height * bits).div_ceil(8);
    // Only where the strip says it holds the whole image: Olympus writes compression 1 over its
    // own (smaller) compressed data, which rawloader decodes as such.
    let count = get(STRIP_BYTE_COUNTS).unwrap_or(0);
    let uncompressed = count >= need && (get(COMPRESSION) == Some(1) || count == need);
    if uncompressed && offset.checked_add(need).is_none_or(|end| end > tiff.len) {
        return Err(Error::decode(
            path,
            format!(
                "file is truncated: its uncompressed {width}×{height} {bits}-bit image needs bytes {offset}..{} but the file has {}",
                offset.saturating_add(need),
                tiff.len
            ),
        ));
    }
    Ok(())
}

fn read_image(
    path: &Path,
    tiff: &mut TiffFile,
    ifd0: &Directory,
    raw: &Directory,
    file_len: u64,
) -> Result<DngImage> {
    let err = |e| tiff_error(path, e);
    let (width, height) = read_size(path, tiff, raw)?;

    if tiff
        .unsigned(raw, SAMPLES_PER_PIXEL)
        .map_err(err)?
        .unwrap_or(1)
        != 1
    {
        return Err(Error::unsupported(
            path,
            "DNG raw image with more than one sample per pixel",
        ));
    }
    let (cfa, cfa_block, xtrans) = read_cfa(path, tiff, raw)?;

    let bits = tiff
        .unsigned(raw, BITS_PER_SAMPLE)
        .map_err(err)?
        .unwrap_or(1);
    let compression = tiff.unsigned(raw, COMPRESSION).map_err(err)?.unwrap_or(1);
    if compression == COMPRESSION_VC5 {
        return Err(Error::unsupported(
            path,
            "GoPro GPR raw (DNG with VC-5 compression) has no decoder here: convert it to an \
             uncompressed DNG first, e.g. with GoPro's open-source `gpr` tool \
             (`gpr -i IN.GPR -o OUT.DNG`) or Adobe DNG Converter",
        ));
    }
    let layout = if compression == 1 {
        if let Some(format) = tiff.unsigned(raw, SAMPLE_FORMAT).map_err(err)? {
            if format != 1 {
                return Err(Error::unsupported(
                    path,
                    "floating-point or signed DNG samples",
                ));
            }
        }
        if !(1..=16).contains(&bits) {
            return Err(Error::unsupported(
                path,
                format!("DNG with {bits} bits per sample"),
            ));
        }
        read_chunks(path, tiff, raw, width, height, bits as u32, file_len)?
    } else if compression == COMPRESSION_LOSSLESS_JPEG {
        Layout::LosslessJpeg(read_chunk_table(path, tiff, raw, width, height, file_len)?)
    } else {
        Layout::Compressed
    };

    let linearization = read_linearization(path, tiff, raw)?;

    let black = read_black(path, tiff, raw)?;
    let white = match tiff.find(raw, WHITE_LEVEL).map_err(err)? {
        Some(v) => numbers(v).first().copied().unwrap_or(f64::NAN) as f32,
        None => ((1u64 << bits.min(16)) - 1) as f32,
    };

    let (colour, wb, xyz_to_cam, orientation, noise_profile) =
        read_colour_tags(path, tiff, ifd0, raw)?;
    let crop = read_crop(path, tiff, raw, width, height)?;
    let exif = read_exif(path, tiff, ifd0)?;
    let opcodes = read_opcodes(path, tiff, ifd0, raw, (width, height), crop)?;

    Ok(DngImage {
        width,
        height,
        cfa,
        black,
        white,
        wb,
        xyz_to_cam,
        orientation,
        exif,
        noise_profile,
        cfa_block,
        xtrans,
        crop,
        layout,
        linearization,
        colour,
        opcodes,
    })
}

/// The colour model, the default white-balance multipliers, the D65 XYZ → camera matrix, the
/// orientation and the noise profile of a raw image (CFA or LinearRaw).
type ColourTags = (ColourModel, [f32; 3], [[f32; 3]; 3], u16, Option<[f64; 2]>);

fn read_colour_tags(
    path: &Path,
    tiff: &mut TiffFile,
    ifd0: &Directory,
    raw: &Directory,
) -> Result<ColourTags> {
    let err = |e| tiff_error(path, e);
    // Metadata usually sits in IFD0, but DNG allows it in the raw IFD too: raw IFD wins.
    let mut find = |t: u16| -> Result<Option<Vec<f64>>> {
        let v = match tiff.find(raw, t).map_err(err)? {
            Some(v) => Some(v),
            None => tiff.find(ifd0, t).map_err(err)?,
        };
        Ok(v.map(numbers))
    };
    let colour = read_colour_model(&mut find)?;
    let wb = colour
        .as_shot_neutral()
        .unwrap_or_else(|| colour.daylight_neutral())
        .map(|v| (1.0 / v) as f32);
    let xyz_to_cam = {
        // The D65 calibration (or the one nearest D65): what the merged-DNG writer stores.
        let d65 = colour.xyz_to_camera(super::colour_model::XY_D65);
        let ok = d65.iter().flatten().all(|v| v.is_finite());
        if ok {
            d65.map(|r| r.map(|v| v as f32))
        } else {
            SRGB_TO_XYZ_INVERSE
        }
    };
    let orientation = match find(ORIENTATION)?.and_then(|v| v.first().copied()) {
        Some(o) if (1.0..=8.0).contains(&o) => o as u16,
        _ => 1,
    };
    let noise_profile = match find(NOISE_PROFILE)?.as_deref() {
        Some(&[scale, offset, ..]) if scale.is_finite() && offset.is_finite() => {
            Some([scale, offset])
        }
        _ => None,
    };
    Ok((colour, wb, xyz_to_cam, orientation, noise_profile))
}

/// The DNG colour model from the colour tags (DNG 1.7 §6). A file without a usable 3×3
/// ColorMatrix gets the sRGB one (camera RGB taken as sRGB); a missing or unusable as-shot white
/// is left `None` (the develop then estimates it).
fn read_colour_model(
    find: &mut impl FnMut(u16) -> Result<Option<Vec<f64>>>,
) -> Result<ColourModel> {
    let matrix = |v: Option<Vec<f64>>| -> Option<M3> {
        match v.as_deref() {
            Some(m) if m.len() == 9 && m.iter().all(|v| v.is_finite()) => {
                Some(std::array::from_fn(|r| {
                    std::array::from_fn(|c| m[r * 3 + c])
                }))
            }
            // Four-colour matrices cannot go with a Bayer CFA of R, G, B.
            _ => None,
        }
    };
    let identity: M3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    let mut calibrations = Vec::new();
    for (cm, fm, cc, ill) in [
        (
            COLOR_MATRIX_1,
            FORWARD_MATRIX_1,
            CAMERA_CALIBRATION_1,
            CALIBRATION_ILLUMINANT_1,
        ),
        (
            COLOR_MATRIX_2,
            FORWARD_MATRIX_2,
            CAMERA_CALIBRATION_2,
            CALIBRATION_ILLUMINANT_2,
        ),
    ] {
        let Some(color_matrix) = matrix(find(cm)?) else {
            continue;
        };
        let illuminant = find(ill)?
            .and_then(|v| v.first().copied())
            .filter(|v| (0.0..=65535.0).contains(v))
            .and_then(|v| colour_model::illuminant(v as u16));
        calibrations.push(Calibration {
            cct: illuminant.map(|(_, cct)| cct),
            color_matrix,
            forward_matrix: matrix(find(fm)?),
            camera_calibration: matrix(find(cc)?).unwrap_or(identity),
        });
    }
    if calibrations.is_empty() {
        // No colour matrix: camera RGB taken as sRGB, the as-shot white and the rest still hold.
        calibrations =
            ColourModel::single_d65(SRGB_TO_XYZ_INVERSE.map(|r| r.map(|v| v as f64)), None)
                .calibrations;
    }
    // Lower temperature first; unknown temperatures keep the file's order.
    if let [a, b] = &calibrations[..] {
        if let (Some(t1), Some(t2)) = (a.cct, b.cct) {
            if t1 > t2 {
                calibrations.swap(0, 1);
            }
        }
    }
    let analog_balance = match find(ANALOG_BALANCE)?.as_deref() {
        Some(&[r, g, b]) if colour_model::usable_neutral([r, g, b]) => [r, g, b],
        _ => [1.0; 3],
    };
    let as_shot = match (
        find(AS_SHOT_NEUTRAL)?.as_deref(),
        find(AS_SHOT_WHITE_XY)?.as_deref(),
    ) {
        (Some(&[r, g, b]), _) if colour_model::usable_neutral([r, g, b]) => {
            Some(AsShot::Neutral([r, g, b]))
        }
        (_, Some(&[x, y])) if x > 0.0 && y > 0.0 && x + y < 1.0 => Some(AsShot::WhiteXy([x, y])),
        _ => None,
    };
    let baseline_exposure = match find(BASELINE_EXPOSURE)?.as_deref() {
        Some(&[ev, ..]) if ev.is_finite() && ev.abs() <= 16.0 => ev,
        _ => 0.0,
    };
    Ok(ColourModel {
        calibrations,
        analog_balance,
        as_shot,
        baseline_exposure,
    })
}

/// ImageWidth and ImageLength of the raw image, checked against our limits: sizes first, so
/// nothing may allocate per pixel before this check.
fn read_size(path: &Path, tiff: &mut TiffFile, raw: &Directory) -> Result<(u32, u32)> {
    let mut required = |t: u16, name: &str| -> Result<u64> {
        tiff.unsigned(raw, t)
            .map_err(|e| tiff_error(path, e))?
            .ok_or_else(|| Error::decode(path, format!("DNG raw image has no {name}")))
    };
    let width = required(IMAGE_WIDTH, "ImageWidth")?;
    let height = required(IMAGE_LENGTH, "ImageLength")?;
    check_size(path, tiff, width, height)?;
    Ok((width as u32, height as u32))
}

/// A declared image size against the limits and the file's length (see `limits`).
fn check_size(path: &Path, tiff: &TiffFile, width: u64, height: u64) -> Result<()> {
    super::limits::check_declared(path, (width, height), 1, tiff.len)
}

/// The LinearizationTable (stored value → linear value), checked for a usable length.
fn read_linearization(
    path: &Path,
    tiff: &mut TiffFile,
    raw: &Directory,
) -> Result<Option<Vec<u16>>> {
    let err = |e| tiff_error(path, e);
    let Some(v) = tiff.find(raw, LINEARIZATION_TABLE).map_err(err)? else {
        return Ok(None);
    };
    let table = v.into_u64_vec().map_err(err)?;
    if table.is_empty() || table.len() > 65536 {
        return Err(Error::decode(
            path,
            "DNG LinearizationTable has an invalid length",
        ));
    }
    Ok(Some(
        table.into_iter().map(|x| x.min(65535) as u16).collect(),
    ))
}

/// Map every value through a (non-empty) LinearizationTable; values past its end take its last.
fn linearize(table: &[u16], values: &mut [u16]) {
    let last = table.len() - 1;
    values
        .iter_mut()
        .for_each(|v| *v = table[(*v as usize).min(last)]);
}

/// The Bayer layout and the side of its same-colour blocks (1 Bayer, 2 Quad Bayer 4×4, 3 Nonacell
/// 6×6), or an X-Trans layout (6×6, with a placeholder Bayer layout), or `Unsupported` naming the
/// pattern.
fn read_cfa(
    path: &Path,
    tiff: &mut TiffFile,
    raw: &Directory,
) -> Result<(Cfa, u32, Option<XTrans>)> {
    let err = |e| tiff_error(path, e);
    let dim = match tiff.find(raw, CFA_REPEAT_PATTERN_DIM).map_err(err)? {
        Some(v) => v.into_u64_vec().map_err(err)?,
        None => vec![2, 2],
    };
    let [rows, cols] = dim[..] else {
        return Err(Error::decode(
            path,
            "DNG CFARepeatPatternDim does not have two values",
        ));
    };
    let pattern = match tiff.find(raw, CFA_PATTERN).map_err(err)? {
        Some(v) => v.into_u64_vec().map_err(err)?,
        None => return Err(Error::decode(path, "DNG raw image has no CFAPattern")),
    };
    // CFAPattern indexes CFAPlaneColor, which names the actual colours (default R, G, B).
    let planes = match tiff.find(raw, CFA_PLANE_COLOR).map_err(err)? {
        Some(v) => v.into_u64_vec().map_err(err)?,
        None => vec![0, 1, 2],
    };
    let colours: Option<Vec<u64>> = pattern
        .iter()
        .map(|&i| planes.get(i as usize).copied())
        .collect();
    let letters = |c: &[u64]| {
        c.iter()
            .map(|&c| b"RGBCMYW".get(c as usize).map_or('?', |&l| l as char))
            .collect::<String>()
    };
    // Repeat dimensions come from the file: a product that overflows matches no pattern.
    let Some(c) = colours.filter(|c| Some(c.len() as u64) == rows.checked_mul(cols)) else {
        return Err(Error::decode(
            path,
            "DNG CFAPattern does not match CFARepeatPatternDim",
        ));
    };
    // A 4×4 or 6×6 repeat whose 2×2 or 3×3 blocks are each one colour, the blocks forming a Bayer
    // pattern, is a Quad Bayer or Nonacell sensor.
    let block = rows / 2;
    let at = |r: u64, k: u64| c[(r * block * cols + k * block) as usize];
    let blocky = rows == cols
        && (rows == 4 || rows == 6)
        && (0..rows * cols).all(|i| c[i as usize] == at(i / cols / block, i % cols / block))
        && [at(0, 0), at(0, 1), at(1, 0), at(1, 1)]
            .iter()
            .all(|&v| v <= 2)
        && Cfa::from_colors([at(0, 0), at(0, 1), at(1, 0), at(1, 1)].map(|v| v as u32)).is_some();
    if (rows, cols) == (6, 6) && !blocky {
        let layout = c.iter().map(|&v| v.min(255) as u8).collect::<Vec<_>>();
        if let Some(x) = layout.try_into().ok().and_then(XTrans::from_colors) {
            return Ok((Cfa::Rggb, 1, Some(x)));
        }
        return Err(Error::unsupported(
            path,
            format!(
                "CFA pattern 6×6 {} is neither X-Trans nor Nonacell",
                letters(&c)
            ),
        ));
    }
    if (rows, cols) != (2, 2) && !blocky {
        let name = match (rows, cols) {
            (4, 4) => " (Quad Bayer)",
            (8, 8) => " (Nona/Quad Bayer variant)",
            _ => "",
        };
        return Err(Error::unsupported(
            path,
            format!("CFA pattern {rows}×{cols}{name} is not supported yet"),
        ));
    }
    let (quad, block) = if blocky {
        ([at(0, 0), at(0, 1), at(1, 0), at(1, 1)], block as u32)
    } else {
        ([c[0], c[1], c[2], c[3]], 1)
    };
    if quad.iter().all(|&c| c <= 2) {
        let q = quad.map(|c| c as u32);
        Cfa::from_colors(q)
            .map(|cfa| (cfa, block, None))
            .ok_or_else(|| {
                Error::unsupported(
                    path,
                    format!("CFA pattern {} is not a Bayer pattern", letters(&quad)),
                )
            })
    } else {
        Err(Error::unsupported(
            path,
            format!("CFA pattern {} is not supported", letters(&quad)),
        ))
    }
}

/// Black level per 2×2 position: BlackLevel tiled by BlackLevelRepeatDim, plus the mean of the
/// per-row/per-column deltas of each parity.
fn read_black(path: &Path, tiff: &mut TiffFile, raw: &Directory) -> Result<[f32; 4]> {
    let err = |e| tiff_error(path, e);
    let values = tiff
        .find(raw, BLACK_LEVEL)
        .map_err(err)?
        .map(numbers)
        .unwrap_or_else(|| vec![0.0]);
    let (rows, cols) = match tiff.find(raw, BLACK_LEVEL_REPEAT_DIM).map_err(err)? {
        Some(v) => match v.into_u64_vec().map_err(err)?[..] {
            [r, c] if r > 0 && c > 0 => (r as usize, c as usize),
            _ => return Err(Error::decode(path, "DNG BlackLevelRepeatDim is invalid")),
        },
        None => (1, 1),
    };
    if rows.checked_mul(cols).is_none_or(|n| values.len() < n) {
        return Err(Error::decode(
            path,
            "DNG BlackLevel has fewer values than BlackLevelRepeatDim",
        ));
    }
    let parity_means = |v: Option<Vec<f64>>| -> [f64; 2] {
        let v = v.unwrap_or_default();
        [0, 1].map(|p| {
            let (sum, n) = v
                .iter()
                .skip(p)
                .step_by(2)
                .fold((0.0, 0), |(s, n), x| (s + x, n + 1));
            if n > 0 {
                sum / n as f64
            } else {
                0.0
            }
        })
    };
    let dh = parity_means(
        tiff.find(raw, BLACK_LEVEL_DELTA_H)
            .map_err(err)?
            .map(numbers),
    );
    let dv = parity_means(
        tiff.find(raw, BLACK_LEVEL_DELTA_V)
            .map_err(err)?
            .map(numbers),
    );
    Ok([0, 1, 2, 3].map(|i| {
        let (y, x) = (i / 2, i % 2);
        (values[(y % rows) * cols + (x % cols)] + dh[x] + dv[y]) as f32
    }))
}

/// The area to keep: ActiveArea, then DefaultCrop inside it (integer part; DNG allows fractions).
fn read_crop(
    path: &Path,
    tiff: &mut TiffFile,
    raw: &Directory,
    width: u32,
    height: u32,
) -> Result<[u32; 4]> {
    let err = |e| tiff_error(path, e);
    let mut crop = [0, 0, width, height];
    if let Some(v) = tiff.find(raw, ACTIVE_AREA).map_err(err)? {
        let a = v.into_u64_vec().map_err(err)?; // top, left, bottom, right
        match a[..] {
            [t, l, b, r] if t < b && l < r && b <= height as u64 && r <= width as u64 => {
                crop = [l as u32, t as u32, (r - l) as u32, (b - t) as u32];
            }
            _ => {
                return Err(Error::decode(
                    path,
                    format!("DNG ActiveArea {a:?} lies outside the {width}×{height} image"),
                ))
            }
        }
    }
    let origin = tiff
        .find(raw, DEFAULT_CROP_ORIGIN)
        .map_err(err)?
        .map(numbers);
    let size = tiff.find(raw, DEFAULT_CROP_SIZE).map_err(err)?.map(numbers);
    if let (Some(&[x, y]), Some(&[w, h])) = (origin.as_deref(), size.as_deref()) {
        // Ignored rather than fatal when odd: it only trims a few edge pixels.
        let (x, y, w, h) = (x.floor(), y.floor(), w.floor(), h.floor());
        if x >= 0.0
            && y >= 0.0
            && w >= 1.0
            && h >= 1.0
            && x + w <= crop[2] as f64
            && y + h <= crop[3] as f64
        {
            crop = [crop[0] + x as u32, crop[1] + y as u32, w as u32, h as u32];
        }
    }
    Ok(crop)
}

/// The three opcode lists (raw IFD first, IFD0 as a fallback), moved into the coordinates of the
/// frame cropped at `crop`: list 1 counts from the raw image's top-left, lists 2 and 3 from the
/// active area's (their stage images are the active area).
fn read_opcodes(
    path: &Path,
    tiff: &mut TiffFile,
    ifd0: &Directory,
    raw: &Directory,
    (width, height): (u32, u32),
    crop: [u32; 4],
) -> Result<OpcodeLists> {
    let err = |e| tiff_error(path, e);
    let active = match tiff.find(raw, ACTIVE_AREA).map_err(err)? {
        // Checked by read_crop.
        Some(v) => match v.into_u64_vec().map_err(err)?[..] {
            [t, l, b, r] => [t, l, b, r].map(|v| v as u32),
            _ => [0, 0, height, width],
        },
        None => [0, 0, height, width],
    };
    let active_size = (active[3] - active[1], active[2] - active[0]);
    let mut read = |t: u16, stage: Stage, size: (u32, u32)| -> Result<Vec<opcodes::Opcode>> {
        let value = match tiff.find(raw, t).map_err(err)? {
            Some(v) => Some(v),
            None => tiff.find(ifd0, t).map_err(err)?,
        };
        match value {
            Some(v) => opcodes::parse_list(path, &v.into_u8_vec().map_err(err)?, stage, size),
            None => Ok(Vec::new()),
        }
    };
    let lists = OpcodeLists {
        list1: read(opcodes::OPCODE_LIST_1, Stage::Raw, (width, height))?,
        list2: read(opcodes::OPCODE_LIST_2, Stage::Linear, active_size)?,
        list3: read(opcodes::OPCODE_LIST_3, Stage::Rgb, active_size)?,
    };
    let (x, y) = (crop[0] as i64, crop[1] as i64);
    Ok(lists.shifted((x, y), (x - active[1] as i64, y - active[0] as i64)))
}

fn read_exif(path: &Path, tiff: &mut TiffFile, ifd0: &Directory) -> Result<Exif> {
    let err = |e| tiff_error(path, e);
    let text = |tiff: &mut TiffFile, dir: &Directory, t: u16| -> Result<Option<String>> {
        Ok(match tiff.find(dir, t).map_err(err)? {
            Some(Value::Ascii(s)) => Some(s.trim_end_matches('\0').trim().to_string()),
            _ => None,
        })
    };
    let mut exif = Exif {
        make: text(tiff, ifd0, MAKE)?.unwrap_or_default(),
        model: text(tiff, ifd0, MODEL)?.unwrap_or_default(),
        ..Exif::default()
    };
    // EXIF fields may be in the EXIF IFD or directly in IFD0; a broken EXIF IFD only loses them.
    let exif_dir = match tiff.unsigned(ifd0, EXIF_IFD) {
        Ok(Some(p)) => tiff.decoder.read_directory(IfdPointer(p)).ok(),
        _ => None,
    };
    for dir in exif_dir.iter().chain(std::iter::once(ifd0)) {
        let mut num = |t: u16| {
            tiff.find(dir, t)
                .ok()
                .flatten()
                .map(numbers)
                .and_then(|v| v.first().copied())
        };
        exif.exposure_time = exif.exposure_time.or(num(EXPOSURE_TIME));
        exif.f_number = exif.f_number.or(num(F_NUMBER));
        exif.focal_length = exif.focal_length.or(num(FOCAL_LENGTH));
        exif.iso = exif.iso.or(num(ISO_SPEED)
            .filter(|&v| v >= 0.0 && v <= u32::MAX as f64)
            .map(|v| v as u32));
        if exif.datetime.is_none() {
            exif.datetime = text(tiff, dir, DATE_TIME_ORIGINAL).ok().flatten();
        }
    }
    Ok(exif)
}

/// Whether the image is tiled, its chunk size in pixels and the chunk offsets.
fn chunk_grid(
    path: &Path,
    tiff: &mut TiffFile,
    raw: &Directory,
    width: u32,
    height: u32,
) -> Result<(bool, u32, u32, Vec<u64>)> {
    let err = |e| tiff_error(path, e);
    let tiled = raw.contains(tag(TILE_OFFSETS));
    let (chunk_width, chunk_height, offsets_tag) = if tiled {
        let tw = tiff.unsigned(raw, TILE_WIDTH).map_err(err)?.unwrap_or(0);
        let th = tiff.unsigned(raw, TILE_LENGTH).map_err(err)?.unwrap_or(0);
        if tw == 0 || th == 0 || tw > MAX_SIDE as u64 || th > MAX_SIDE as u64 {
            return Err(Error::decode(
                path,
                format!("DNG tile size {tw}×{th} is invalid"),
            ));
        }
        (tw as u32, th as u32, TILE_OFFSETS)
    } else {
        let rows = tiff
            .unsigned(raw, ROWS_PER_STRIP)
            .map_err(err)?
            .unwrap_or(height as u64);
        (width, rows.clamp(1, height as u64) as u32, STRIP_OFFSETS)
    };
    let offsets = match tiff.find(raw, offsets_tag).map_err(err)? {
        Some(v) => v.into_u64_vec().map_err(err)?,
        None => {
            return Err(Error::decode(
                path,
                "DNG raw image has no StripOffsets or TileOffsets",
            ))
        }
    };
    let needed = width.div_ceil(chunk_width) as u64 * height.div_ceil(chunk_height) as u64;
    if offsets.len() as u64 != needed {
        return Err(Error::decode(
            path,
            format!(
                "DNG has {} pixel chunks where its size needs {needed}",
                offsets.len(),
            ),
        ));
    }
    Ok((tiled, chunk_width, chunk_height, offsets))
}

/// The strips or tiles of a compressed image with their byte counts, each checked to lie inside
/// the file: what every compressed-DNG decoder iterates over.
fn read_chunk_table(
    path: &Path,
    tiff: &mut TiffFile,
    raw: &Directory,
    width: u32,
    height: u32,
    file_len: u64,
) -> Result<Chunks> {
    let (tiled, chunk_width, chunk_height, offsets) = chunk_grid(path, tiff, raw, width, height)?;
    let counts_tag = if tiled {
        TILE_BYTE_COUNTS
    } else {
        STRIP_BYTE_COUNTS
    };
    let byte_counts = match tiff
        .find(raw, counts_tag)
        .map_err(|e| tiff_error(path, e))?
    {
        Some(v) => v.into_u64_vec().map_err(|e| tiff_error(path, e))?,
        None => {
            return Err(Error::decode(
                path,
                "DNG raw image has no StripByteCounts or TileByteCounts",
            ))
        }
    };
    Chunks::new(
        path,
        tiled,
        (chunk_width, chunk_height),
        (width, height),
        offsets,
        byte_counts,
        file_len,
    )
}

/// Strip or tile geometry and offsets, every chunk checked to lie inside the file.
fn read_chunks(
    path: &Path,
    tiff: &mut TiffFile,
    raw: &Directory,
    width: u32,
    height: u32,
    bits: u32,
    file_len: u64,
) -> Result<Layout> {
    let (tiled, chunk_width, chunk_height, offsets) = chunk_grid(path, tiff, raw, width, height)?;
    let (across, down) = (
        width.div_ceil(chunk_width) as u64,
        height.div_ceil(chunk_height) as u64,
    );
    let layout = Layout::Uncompressed {
        bits,
        little_endian: tiff.little_endian,
        chunk_width,
        chunk_height,
        offsets,
    };
    // Truncation is detected here, before any pixel buffer exists.
    if let Layout::Uncompressed { offsets, .. } = &layout {
        for (i, &offset) in offsets.iter().enumerate() {
            let rows = chunk_rows(i as u64, across, down, chunk_height, height, tiled);
            let need = row_bytes(chunk_width, bits) * rows as u64;
            if offset.checked_add(need).is_none_or(|end| end > file_len) {
                return Err(Error::decode(
                    path,
                    format!("file is truncated: pixel chunk {i} needs bytes {offset}..{} but the file has {file_len}", offset.saturating_add(need)),
                ));
            }
        }
    }
    Ok(layout)
}

/// Rows stored in chunk `i`: tiles are always full (padded); the last strip may be short.
fn chunk_rows(i: u64, across: u64, down: u64, chunk_height: u32, height: u32, tiled: bool) -> u32 {
    let row = i / across;
    if tiled || row + 1 < down {
        chunk_height
    } else {
        height - (row as u32) * chunk_height
    }
}

/// TIFF rows start on a byte boundary.
fn row_bytes(width: u32, bits: u32) -> u64 {
    (width as u64 * bits as u64).div_ceil(8)
}

impl DngImage {
    /// The full (uncropped) mosaic of an uncompressed or lossless-JPEG DNG, linearized.
    pub(crate) fn read_mosaic(&self, path: &Path, data: &[u8]) -> Result<Vec<u16>> {
        let mut mosaic = match &self.layout {
            Layout::LosslessJpeg(chunks) => super::dng_ljpeg::decode_mosaic(path, data, chunks)?,
            _ => self.read_uncompressed(path, data)?,
        };
        self.linearize(&mut mosaic);
        Ok(mosaic)
    }

    /// Apply the LinearizationTable, if any (values past its end take its last entry). Every
    /// decoding path ends here, rawloader's included.
    pub(crate) fn linearize(&self, mosaic: &mut [u16]) {
        if let Some(table) = &self.linearization {
            linearize(table, mosaic);
        }
    }

    fn read_uncompressed(&self, path: &Path, data: &[u8]) -> Result<Vec<u16>> {
        let Layout::Uncompressed {
            bits,
            little_endian,
            chunk_width,
            chunk_height,
            ref offsets,
        } = self.layout
        else {
            return Err(Error::unsupported(
                path,
                "compressed DNG pixels are decoded elsewhere",
            ));
        };
        let (width, height) = (self.width as usize, self.height as usize);
        let (cw, ch) = (chunk_width as usize, chunk_height as usize);
        let across = width.div_ceil(cw);
        let stride = row_bytes(chunk_width, bits) as usize;
        let mut mosaic = vec![0u16; width * height];
        for (i, &offset) in offsets.iter().enumerate() {
            let (x0, y0) = ((i % across) * cw, (i / across) * ch);
            let w = cw.min(width - x0);
            for y in y0..(y0 + ch).min(height) {
                let start = offset as usize + (y - y0) * stride;
                // Checked in read_chunks; a failure here is a bug, reported rather than a panic.
                let row = data.get(start..start + stride).ok_or_else(|| {
                    Error::decode(path, "file is truncated inside the pixel data")
                })?;
                unpack_row(row, bits, little_endian, &mut mosaic[y * width + x0..][..w]);
            }
        }
        Ok(mosaic)
    }
}

/// Samples of one row: 8-bit, 16-bit in the file's byte order, or packed MSB-first (the DNG spec
/// packs other widths big-endian whatever the file's byte order).
fn unpack_row(row: &[u8], bits: u32, little_endian: bool, out: &mut [u16]) {
    match bits {
        8 => out.iter_mut().zip(row).for_each(|(o, &b)| *o = b as u16),
        16 => out.iter_mut().zip(row.chunks_exact(2)).for_each(|(o, b)| {
            *o = if little_endian {
                u16::from_le_bytes([b[0], b[1]])
            } else {
                u16::from_be_bytes([b[0], b[1]])
            }
        }),
        _ => {
            let (mut acc, mut have, mut bytes) = (0u32, 0u32, row.iter());
            for o in out.iter_mut() {
                while have < bits {
                    acc = (acc << 8) | *bytes.next().unwrap_or(&0) as u32;
                    have += 8;
                }
                have -= bits;
                *o = ((acc >> have) & ((1 << bits) - 1)) as u16;
                acc &= (1 << have) - 1;
            }
        }
    }
}

fn tag(t: u16) -> Tag {
    Tag::from_u16_exhaustive(t)
}

/// Any numeric tag value (integers, rationals, floats) as f64s; non-numbers are dropped.
#[allow(deprecated)] // RationalBig/SRationalBig: still produced for BigTIFF rational tags.
fn numbers(v: Value) -> Vec<f64> {
    let one = |v: Value| -> Option<f64> {
        Some(match v {
            Value::Byte(x) => x as f64,
            Value::Short(x) => x as f64,
            Value::SignedByte(x) => x as f64,
            Value::SignedShort(x) => x as f64,
            Value::Signed(x) => x as f64,
            Value::SignedBig(x) => x as f64,
            Value::Unsigned(x) => x as f64,
            Value::UnsignedBig(x) => x as f64,
            Value::Float(x) => x as f64,
            Value::Double(x) => x,
            Value::Rational(n, d) => n as f64 / d as f64,
            Value::SRational(n, d) => n as f64 / d as f64,
            Value::RationalBig(n, d) => n as f64 / d as f64,
            Value::SRationalBig(n, d) => n as f64 / d as f64,
            _ => return None,
        })
    };
    match v {
        Value::List(items) => items.into_iter().filter_map(one).collect(),
        v => one(v).into_iter().collect(),
    }
}

fn tiff_error(path: &Path, e: TiffError) -> Error {
    match e {
        TiffError::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => Error::decode(
            path,
            "file is truncated (a directory or tag points past its end)",
        ),
        TiffError::LimitsExceeded => Error::limits(path, "a DNG tag value is larger than allowed"),
        e => Error::decode(path, format!("corrupt DNG/TIFF structure: {e}")),
    }
}

/// A tiff-crate decoder over the file bytes, used only to read directories and tag values.
struct TiffFile<'a> {
    decoder: Decoder<HeaderShim<'a>>,
    ifd0: IfdPointer,
    little_endian: bool,
    /// Length of the file in bytes.
    len: u64,
}

impl<'a> TiffFile<'a> {
    /// `None` if `data` is not TIFF.
    fn open(data: &'a [u8]) -> Option<TiffFile<'a>> {
        let shim = HeaderShim::new(data)?;
        let (ifd0, little_endian) = (IfdPointer(shim.real_ifd0), shim.little_endian);
        // 1 MiB per tag value is plenty for any DNG tag. The tiff crate reserves room for a
        // tag's declared count of values before reading them: no tag holds more values than the
        // file has bytes, so that bounds what a lying count can make it allocate.
        let mut limits = Limits::default();
        limits.decoding_buffer_size = limits
            .decoding_buffer_size
            .min((data.len() + 64).saturating_mul(std::mem::size_of::<Value>()));
        let decoder = Decoder::new(shim).ok()?.with_limits(limits);
        Some(TiffFile {
            decoder,
            ifd0,
            little_endian,
            len: data.len() as u64,
        })
    }

    fn find(&mut self, dir: &Directory, t: u16) -> Result<Option<Value>, TiffError> {
        self.decoder.read_directory_tags(dir).find_tag(tag(t))
    }

    fn unsigned(&mut self, dir: &Directory, t: u16) -> Result<Option<u64>, TiffError> {
        match self.find(dir, t)? {
            Some(v) => v.into_u64_vec().map(|v| v.first().copied()),
            None => Ok(None),
        }
    }
}

/// tiff 0.11's `Decoder::new` insists on understanding the first directory as an ordinary image,
/// and it does not know CFA (32803) — the very IFD0 of many DNGs. So the decoder is shown a
/// header whose first directory is a 1×1 grey image appended past the end of the file; the real
/// directories are then read by offset with `read_directory`.
struct HeaderShim<'a> {
    data: &'a [u8],
    header: Vec<u8>,
    tail: Vec<u8>,
    pos: u64,
    real_ifd0: u64,
    little_endian: bool,
}

impl<'a> HeaderShim<'a> {
    fn new(data: &'a [u8]) -> Option<HeaderShim<'a>> {
        let little_endian = match data.get(..2)? {
            b"II" => true,
            b"MM" => false,
            _ => return None,
        };
        let u16_at = |o: usize| {
            data.get(o..o + 2).map(|b| {
                if little_endian {
                    u16::from_le_bytes([b[0], b[1]])
                } else {
                    u16::from_be_bytes([b[0], b[1]])
                }
            })
        };
        let bigtiff = match u16_at(2)? {
            42 => false,
            43 => true,
            _ => return None,
        };
        let mut w = Writer {
            little_endian,
            bytes: Vec::new(),
        };
        let fake_at = data.len() as u64;
        let real_ifd0;
        if bigtiff {
            let b: [u8; 8] = data.get(8..16)?.try_into().ok()?;
            real_ifd0 = if little_endian {
                u64::from_le_bytes(b)
            } else {
                u64::from_be_bytes(b)
            };
            w.bytes.extend_from_slice(&data[..2]);
            w.u16(43);
            w.u16(8);
            w.u16(0);
            w.u64(fake_at);
        } else {
            let b: [u8; 4] = data.get(4..8)?.try_into().ok()?;
            real_ifd0 = if little_endian {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            } as u64;
            u32::try_from(fake_at).ok()?; // a classic TIFF cannot be this large anyway
            w.bytes.extend_from_slice(&data[..2]);
            w.u16(42);
            w.u32(fake_at as u32);
        }
        let header = std::mem::take(&mut w.bytes);
        // ImageWidth 1, ImageLength 1, BitsPerSample 8, Photometric BlackIsZero, one strip.
        let entries: [(u16, u32); 6] = [(256, 1), (257, 1), (258, 8), (262, 1), (273, 0), (279, 1)];
        if bigtiff {
            w.u64(entries.len() as u64);
            for (t, v) in entries {
                w.u16(t);
                w.u16(16); // LONG8
                w.u64(1);
                w.u64(v as u64);
            }
            w.u64(0);
        } else {
            w.u16(entries.len() as u16);
            for (t, v) in entries {
                w.u16(t);
                w.u16(4); // LONG
                w.u32(1);
                w.u32(v);
            }
            w.u32(0);
        }
        Some(HeaderShim {
            data,
            header,
            tail: w.bytes,
            pos: 0,
            real_ifd0,
            little_endian,
        })
    }

    fn len(&self) -> u64 {
        (self.data.len() + self.tail.len()) as u64
    }
}

impl Read for HeaderShim<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let pos = self.pos as usize;
        let (src, at) = if pos < self.header.len() {
            (&self.header[..], pos)
        } else if pos < self.data.len() {
            (self.data, pos)
        } else if pos < self.data.len() + self.tail.len() {
            (&self.tail[..], pos - self.data.len())
        } else {
            return Ok(0);
        };
        let n = buf.len().min(src.len() - at);
        buf[..n].copy_from_slice(&src[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for HeaderShim<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos =
            pos.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.pos)
    }
}

struct Writer {
    little_endian: bool,
    bytes: Vec<u8>,
}

impl Writer {
    fn u16(&mut self, v: u16) {
        self.bytes.extend_from_slice(&if self.little_endian {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        });
    }
    fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&if self.little_endian {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        });
    }
    fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&if self.little_endian {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        });
    }
}
