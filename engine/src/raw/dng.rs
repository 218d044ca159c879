//! DNG reader: finds the raw CFA image, reads its metadata, and reads uncompressed pixels (strips
//! or tiles, 8/16-bit or bit-packed) itself. Compressed DNGs keep our metadata but leave the pixels
//! to rawloader (see `decode.rs`).
//!
//! The tiff crate parses directories and tag values (byte order, BigTIFF, value limits); pixel
//! bytes are read here by offset, with every offset and size checked against the file first.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use tiff::decoder::{ifd::Value, Decoder, Limits};
use tiff::tags::{IfdPointer, Tag};
use tiff::{Directory, TiffError};

use super::{Cfa, Exif, XTrans, MAX_PIXELS, MAX_SIDE, SRGB_TO_XYZ_INVERSE};
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
const ORIENTATION: u16 = 274;
const SAMPLES_PER_PIXEL: u16 = 277;
const ROWS_PER_STRIP: u16 = 278;
const TILE_WIDTH: u16 = 322;
const TILE_LENGTH: u16 = 323;
const TILE_OFFSETS: u16 = 324;
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
const AS_SHOT_NEUTRAL: u16 = 50728;
const CALIBRATION_ILLUMINANT_1: u16 = 50778;
const CALIBRATION_ILLUMINANT_2: u16 = 50779;
const ACTIVE_AREA: u16 = 50829;
const NOISE_PROFILE: u16 = 51041;

const PHOTOMETRIC_CFA: u64 = 32803;
/// GoPro's VC-5 wavelet codec (GPR files).
const COMPRESSION_VC5: u64 = 9;
const PHOTOMETRIC_LINEAR_RAW: u64 = 34892;
/// EXIF LightSource value of D65, the illuminant our colour pipeline assumes.
const ILLUMINANT_D65: u64 = 21;

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
    /// Compressed (lossless JPEG and others): rawloader decodes the pixels.
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
}

/// Parse a DNG. `Ok(None)` if `data` is not a DNG at all (not TIFF, or TIFF without DNGVersion),
/// so the caller can try other decoders.
pub(crate) fn parse(path: &Path, data: &[u8]) -> Result<Option<DngImage>> {
    let Some(mut tiff) = TiffFile::open(data) else {
        return Ok(None);
    };
    let err = |e| tiff_error(path, e);
    let ifd0 = tiff.decoder.read_directory(tiff.ifd0).map_err(err)?;
    if !ifd0.contains(tag(DNG_VERSION)) {
        return Ok(None);
    }

    // The raw image is IFD0 or one of its SubIFDs (phones and converters use both).
    let mut raw = None;
    let mut linear_raw = false;
    for dir in directories(&mut tiff).map_err(err)? {
        let main_image = tiff
            .unsigned(&dir, NEW_SUBFILE_TYPE)
            .map_err(err)?
            .unwrap_or(0)
            == 0;
        match tiff.unsigned(&dir, PHOTOMETRIC).map_err(err)? {
            Some(PHOTOMETRIC_CFA) if main_image && raw.is_none() => raw = Some(dir),
            Some(PHOTOMETRIC_LINEAR_RAW) if main_image => linear_raw = true,
            _ => {}
        }
    }
    let Some(raw) = raw else {
        return Err(if linear_raw {
            Error::unsupported(
                path,
                "LinearRaw DNG (already demosaiced) is not supported yet",
            )
        } else {
            Error::decode(path, "DNG without a raw CFA image")
        });
    };
    read_image(path, &mut tiff, &ifd0, &raw, data.len() as u64).map(Some)
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
            check_size(path, w, h)?;
        }
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
    let required = |tiff: &mut TiffFile, t: u16, name: &str| -> Result<u64> {
        tiff.unsigned(raw, t)
            .map_err(err)?
            .ok_or_else(|| Error::decode(path, format!("DNG raw image has no {name}")))
    };
    let width = required(tiff, IMAGE_WIDTH, "ImageWidth")?;
    let height = required(tiff, IMAGE_LENGTH, "ImageLength")?;
    // Sizes first: nothing below may allocate per pixel before this check.
    check_size(path, width, height)?;
    let (width, height) = (width as u32, height as u32);

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
    } else {
        Layout::Compressed
    };

    let linearization = match tiff.find(raw, LINEARIZATION_TABLE).map_err(err)? {
        Some(v) => {
            let table = v.into_u64_vec().map_err(err)?;
            if table.is_empty() || table.len() > 65536 {
                return Err(Error::decode(
                    path,
                    "DNG LinearizationTable has an invalid length",
                ));
            }
            Some(table.into_iter().map(|x| x.min(65535) as u16).collect())
        }
        None => None,
    };

    let black = read_black(path, tiff, raw)?;
    let white = match tiff.find(raw, WHITE_LEVEL).map_err(err)? {
        Some(v) => numbers(v).first().copied().unwrap_or(f64::NAN) as f32,
        None => ((1u64 << bits.min(16)) - 1) as f32,
    };

    // Metadata usually sits in IFD0, but DNG allows it in the raw IFD too: raw IFD wins.
    let mut find = |t: u16| -> Result<Option<Vec<f64>>> {
        let v = match tiff.find(raw, t).map_err(err)? {
            Some(v) => Some(v),
            None => tiff.find(ifd0, t).map_err(err)?,
        };
        Ok(v.map(numbers))
    };
    let wb = match find(AS_SHOT_NEUTRAL)?.as_deref() {
        Some(&[r, g, b, ..]) if [r, g, b].iter().all(|v| v.is_finite() && *v > 0.0) => {
            [(g / r) as f32, 1.0, (g / b) as f32]
        }
        _ => [1.0; 3],
    };
    let xyz_to_cam = {
        let m1 = find(COLOR_MATRIX_1)?;
        let m2 = find(COLOR_MATRIX_2)?;
        let i1 = find(CALIBRATION_ILLUMINANT_1)?.and_then(|v| v.first().copied());
        let i2 = find(CALIBRATION_ILLUMINANT_2)?.and_then(|v| v.first().copied());
        // Our colour stage works in D65, so the D65 calibration is the exact one; otherwise
        // ColorMatrix2 is by convention the daylight-ish one.
        let d65 = ILLUMINANT_D65 as f64;
        let chosen = if i1 == Some(d65) && m1.is_some() {
            m1
        } else if i2 == Some(d65) && m2.is_some() {
            m2
        } else {
            m2.or(m1)
        };
        match chosen.as_deref() {
            Some(m) if m.len() == 9 && m.iter().all(|v| v.is_finite()) => {
                [0, 1, 2].map(|r| [0, 1, 2].map(|c| m[r * 3 + c] as f32))
            }
            // A 4-colour matrix cannot happen with a Bayer CFA; no matrix means unknown colour.
            _ => SRGB_TO_XYZ_INVERSE,
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
    let crop = read_crop(path, tiff, raw, width, height)?;
    let exif = read_exif(path, tiff, ifd0)?;

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
    })
}

fn check_size(path: &Path, width: u64, height: u64) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::decode(
            path,
            format!("DNG raw image is {width}×{height} pixels"),
        ));
    }
    if width > MAX_SIDE as u64 || height > MAX_SIDE as u64 || width * height > MAX_PIXELS {
        return Err(Error::limits(
            path,
            format!("{width}×{height} pixels is beyond the supported size"),
        ));
    }
    Ok(())
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
    let across = width.div_ceil(chunk_width) as u64;
    let down = height.div_ceil(chunk_height) as u64;
    if offsets.len() as u64 != across * down {
        return Err(Error::decode(
            path,
            format!(
                "DNG has {} pixel chunks where its size needs {}",
                offsets.len(),
                across * down
            ),
        ));
    }
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
    /// The full (uncropped) mosaic of an uncompressed DNG.
    pub(crate) fn read_mosaic(&self, path: &Path, data: &[u8]) -> Result<Vec<u16>> {
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
        if let Some(table) = &self.linearization {
            let last = table.len() - 1;
            mosaic
                .iter_mut()
                .for_each(|v| *v = table[(*v as usize).min(last)]);
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
}

impl<'a> TiffFile<'a> {
    /// `None` if `data` is not TIFF.
    fn open(data: &'a [u8]) -> Option<TiffFile<'a>> {
        let shim = HeaderShim::new(data)?;
        let (ifd0, little_endian) = (IfdPointer(shim.real_ifd0), shim.little_endian);
        let limits = Limits::default(); // 1 MiB per tag value is plenty for any DNG tag.
        let decoder = Decoder::new(shim).ok()?.with_limits(limits);
        Some(TiffFile {
            decoder,
            ifd0,
            little_endian,
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
