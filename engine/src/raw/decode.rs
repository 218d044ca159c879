//! Guarded decoding: file → Frame.
//!
//! DNGs go through our own reader (`dng.rs`); everything else, and the pixels of compressed DNGs,
//! through rawloader. rawloader turns its internal panics into errors, but the panic hook still
//! prints a trace to stderr, which a library must not do: `quiet_panics` silences it for the
//! calling thread only, and we catch the unwind ourselves too. Whatever comes back is checked by
//! `Frame::validate`, since rawloader also "succeeds" on some corrupt files with absurd levels.

use std::cell::Cell;
use std::io::Cursor;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

use super::colour_model::ColourModel;
use super::dng::{self, DngImage, Layout};
use super::{Cfa, Exif, Frame, XTrans, MAX_FILE_BYTES, MAX_PIXELS, MAX_SIDE, SRGB_TO_XYZ_INVERSE};
use crate::error::{Error, Result};

pub(crate) fn decode_file(path: &Path) -> Result<Frame> {
    // Refuse absurd files before reading them whole.
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(Error::limits(
            path,
            format!("file of {len} bytes is larger than any supported raw"),
        ));
    }
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_bytes(path, &data)
}

/// Decode a raw file already in memory; `path` names it in errors.
pub(crate) fn decode_bytes(path: &Path, data: &[u8]) -> Result<Frame> {
    if data.is_empty() {
        return Err(Error::decode(path, "empty file"));
    }
    if looks_like_text(data) {
        return Err(Error::decode(path, "this is a text file, not a raw image"));
    }
    if let Some(format) = finished_photo_format(data) {
        return Err(Error::NotRaw {
            path: path.to_path_buf(),
            format,
        });
    }
    // LinearRaw DNGs (already demosaiced RGB) have their own reader.
    if let Some(frame) = dng::linear_raw::decode(path, data)? {
        frame.validate()?;
        return Ok(frame);
    }
    let frame = match dng::parse(path, data)? {
        Some(image) if !matches!(image.layout, Layout::Compressed) => {
            let mosaic = image.read_mosaic(path, data)?;
            dng_frame(path, image, mosaic)?
        }
        Some(image) => {
            // Other compressions: rawloader decodes the pixels, our metadata is more complete
            // (per-position black levels, NoiseProfile, EXIF, D65 matrix choice).
            let raw = rawloader_decode(path, data)?;
            let mut mosaic = rawloader_pixels(path, &raw)?;
            image.linearize(&mut mosaic);
            if (raw.width, raw.height) != (image.width as usize, image.height as usize) {
                return Err(Error::decode(
                    path,
                    format!(
                        "the DNG raw image is {}×{} but its compressed data decodes to {}×{}",
                        image.width, image.height, raw.width, raw.height
                    ),
                ));
            }
            dng_frame(path, image, mosaic)?
        }
        None => {
            dng::check_declared_sizes(path, data)?;
            let raw = match rawloader_decode(path, data) {
                // A TIFF that no raw decoder claims (no camera maker it knows, no DNG version) is
                // an ordinary TIFF image: a finished photo or a scan.
                Err(Error::Decode { reason, .. })
                    if reason == NOT_RAW_FORMAT && dng::is_tiff(data) =>
                {
                    return Err(Error::NotRaw {
                        path: path.to_path_buf(),
                        format: "TIFF",
                    })
                }
                raw => raw?,
            };
            frame_from_rawloader(path, data, raw)?
        }
    };
    frame.validate()?;
    Ok(frame)
}

/// The format of a finished (already developed) image, by its magic numbers; `None` for
/// anything else. No raw format starts with these signatures.
fn finished_photo_format(data: &[u8]) -> Option<&'static str> {
    let at = |o: usize, magic: &[u8]| data.get(o..o + magic.len()) == Some(magic);
    if at(0, &[0xFF, 0xD8, 0xFF]) {
        Some("JPEG")
    } else if at(0, b"\x89PNG\r\n\x1a\n") {
        Some("PNG")
    } else if at(0, b"GIF8") {
        Some("GIF")
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        Some("WebP")
    } else if at(4, b"ftypheic") || at(4, b"ftypheix") || at(4, b"ftypmif1") {
        Some("HEIF")
    } else if at(4, b"ftypavif") {
        Some("AVIF")
    } else if at(0, &[0xFF, 0x0A]) || at(4, b"JXL \r\n\x87\n") {
        Some("JPEG XL")
    } else {
        None
    }
}

/// Text has no NUL bytes and few control characters; every raw format starts with binary
/// magic numbers. Only the first bytes are looked at.
fn looks_like_text(data: &[u8]) -> bool {
    let head = &data[..data.len().min(512)];
    let text = match std::str::from_utf8(head) {
        Ok(s) => s,
        // The cut at 512 bytes may split a character: keep the valid part.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or("")
        }
        Err(_) => return false,
    };
    !text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
}

fn dng_frame(path: &Path, image: DngImage, mosaic: Vec<u16>) -> Result<Frame> {
    let frame = Frame {
        source: path.to_path_buf(),
        width: image.width,
        height: image.height,
        mosaic,
        cfa: image.cfa,
        black: image.black,
        white: image.white,
        wb: image.wb,
        xyz_to_cam: image.xyz_to_cam,
        orientation: image.orientation,
        exif: image.exif,
        noise_profile: image.noise_profile,
        cfa_block: image.cfa_block,
        xtrans: image.xtrans,
        colour: Some(image.colour),
        linear_rgb: None,
        opcodes: image.opcodes,
    };
    let [x, y, w, h] = image.crop;
    crop(frame, x, y, w, h)
}

/// Keep the `w`×`h` area at (`x`, `y`), moving the CFA phase and per-position black levels with it.
fn crop(mut frame: Frame, x: u32, y: u32, w: u32, h: u32) -> Result<Frame> {
    if x as u64 + w as u64 > frame.width as u64
        || y as u64 + h as u64 > frame.height as u64
        || w == 0
        || h == 0
    {
        return Err(Error::decode(
            &frame.source,
            format!(
                "crop {w}×{h} at ({x}, {y}) lies outside the {}×{} image",
                frame.width, frame.height
            ),
        ));
    }
    if (x, y, w, h) == (0, 0, frame.width, frame.height) {
        return Ok(frame);
    }
    let (x, y, w, h) = (x as usize, y as usize, w as usize, h as usize);
    let full_width = frame.width as usize;
    let mut mosaic = Vec::with_capacity(w * h);
    for row in frame.mosaic.chunks_exact(full_width).skip(y).take(h) {
        mosaic.extend_from_slice(&row[x..x + w]);
    }
    let old = frame.black;
    frame.black = [0, 1, 2, 3].map(|i| old[((i / 2 + y) & 1) * 2 + ((i % 2 + x) & 1)]);
    let b = frame.cfa_block as usize;
    if x % b != 0 || y % b != 0 {
        return Err(Error::unsupported(
            &frame.source,
            format!("a crop at ({x}, {y}) that splits the sensor's {b}×{b} colour blocks"),
        ));
    }
    frame.cfa = frame.cfa.shifted(x / b, y / b);
    frame.xtrans = frame.xtrans.map(|t| t.shifted(x, y));
    frame.mosaic = mosaic;
    frame.width = w as u32;
    frame.height = h as u32;
    Ok(frame)
}

thread_local! {
    /// True while this thread is inside rawloader: its panics are expected and reported as errors.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Run `f` with panic messages of the current thread silenced. The hook is process-wide, so it
/// is installed once and forwards every other thread's panics (e.g. failing tests running in
/// parallel) to the hook that was there before.
fn quiet_panics<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            // rawloader also panics inside its own rayon workers (e.g. the packed decoders on a
            // truncated file); rayon hands those panics to the decoding thread, which turns them
            // into errors, so they are silenced by where they come from as well.
            let in_rawloader = info
                .location()
                .is_some_and(|l| l.file().contains("rawloader"));
            if !QUIET.with(Cell::get) && !in_rawloader {
                previous(info);
            }
        }));
    });
    /// Resets the flag even if `f` unwinds.
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            QUIET.with(|q| q.set(self.0));
        }
    }
    let _reset = Reset(QUIET.with(|q| q.replace(true)));
    panic::catch_unwind(AssertUnwindSafe(f))
}

fn rawloader_decode(path: &Path, data: &[u8]) -> Result<rawloader::RawImage> {
    // rawloader allocates whatever size the file declares: ask for the size first (its dummy
    // mode reads the metadata and allocates no pixels) and check it. The dummy pass fails on some
    // valid files (rawloader's black-area averaging reads the absent pixels): those go on to the
    // real decode, where rawloader's own 500 MP cap still holds.
    // Canon CRW: the sensor size read here too, as rawloader's dummy pass may fail on the file.
    if let Some((w @ 1.., h @ 1..)) = super::ciff::sensor_size(data) {
        super::limits::check_declared(path, (w as u64, h as u64), 1, data.len() as u64)?;
    }
    if let Ok(Ok(probe)) = quiet_panics(|| rawloader::decode_dummy(&mut Cursor::new(data))) {
        let size = (probe.width as u64, probe.height as u64);
        super::limits::check_declared(path, size, probe.cpp as u64, data.len() as u64)?;
    }
    match quiet_panics(|| rawloader::decode(&mut Cursor::new(data))) {
        Ok(Ok(image)) => Ok(image),
        Ok(Err(e)) => Err(translate(path, &e.to_string())),
        Err(_) => Err(Error::decode(
            path,
            "the file is corrupt (the raw decoder failed on it)",
        )),
    }
}

/// rawloader's messages address its own maintainers ("submit samples", "file a bug"); say what
/// happened in our words instead.
fn translate(path: &Path, message: &str) -> Error {
    let message = message
        .trim_start_matches("RawLoaderError: ")
        .trim_matches('"');
    let first_line = message.lines().next().unwrap_or("").trim();
    // Names come from the (possibly corrupt) file: show printable characters only.
    let quoted: Vec<String> = first_line
        .split('"')
        .skip(1)
        .step_by(2)
        .map(|s| printable(s, 64))
        .collect();
    if first_line.starts_with("Couldn't find a decoder for this file") {
        Error::decode(path, NOT_RAW_FORMAT)
    } else if first_line.starts_with("Couldn't find a decoder for make") {
        Error::unsupported(
            path,
            format!(
                "camera maker not supported by the raw decoder: {}",
                quoted.join(" ")
            ),
        )
    } else if first_line.starts_with("Couldn't find camera") {
        let camera = quoted[..quoted.len().min(2)].join(" ");
        Error::unsupported(
            path,
            format!("camera not supported by the raw decoder: {camera}"),
        )
    } else if first_line.starts_with("Caught a panic") {
        Error::decode(
            path,
            "the file is corrupt or truncated (the raw decoder failed on it)",
        )
    } else {
        Error::decode(
            path,
            format!(
                "corrupt or unsupported raw data ({})",
                printable(first_line, 200)
            ),
        )
    }
}

/// rawloader found no decoder for the file's format.
const NOT_RAW_FORMAT: &str = "not a raw image format this decoder recognises";

fn printable(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// The full mosaic of a rawloader image, or why it is not one we can use.
fn rawloader_pixels(path: &Path, raw: &rawloader::RawImage) -> Result<Vec<u16>> {
    if raw.cpp != 1 {
        return Err(Error::unsupported(
            path,
            format!(
                "raw data with {} values per pixel (already demosaiced) is not supported",
                raw.cpp
            ),
        ));
    }
    if raw.width == 0 || raw.height == 0 {
        return Err(Error::decode(path, "the image has no pixels"));
    }
    if raw.width > MAX_SIDE as usize
        || raw.height > MAX_SIDE as usize
        || (raw.width * raw.height) as u64 > MAX_PIXELS
    {
        return Err(Error::limits(
            path,
            format!(
                "{}×{} pixels is beyond the supported size",
                raw.width, raw.height
            ),
        ));
    }
    match &raw.data {
        rawloader::RawImageData::Integer(v) if v.len() == raw.width * raw.height => Ok(v.clone()),
        rawloader::RawImageData::Integer(_) => Err(Error::decode(
            path,
            "pixel data is shorter than the image size (truncated file?)",
        )),
        rawloader::RawImageData::Float(_) => Err(Error::unsupported(
            path,
            "floating-point raw data (e.g. HDR-merged DNG) is not supported yet",
        )),
    }
}

/// The layout of a rawloader CFA: Bayer, or X-Trans (then `cfa` is a placeholder), or
/// `Unsupported` naming it.
fn rawloader_cfa(path: &Path, cfa: &rawloader::CFA) -> Result<(Cfa, Option<XTrans>)> {
    // rawloader folds other colours (E, M, Y) onto indices 0..3, so go by the letters.
    let colours: Option<Vec<u32>> = cfa
        .name
        .bytes()
        .map(|c| match c {
            b'R' => Some(0),
            b'G' => Some(1),
            b'B' => Some(2),
            _ => None,
        })
        .collect();
    match (cfa.width, cfa.height) {
        (2, 2) => {}
        (0, _) | (_, 0) => {
            return Err(Error::unsupported(
                path,
                "raw data without a colour filter array (monochrome sensor)",
            ))
        }
        (6, 6) => {
            let layout = colours
                .as_deref()
                .and_then(|c| {
                    c.iter()
                        .map(|&v| v as u8)
                        .collect::<Vec<_>>()
                        .try_into()
                        .ok()
                })
                .and_then(XTrans::from_colors);
            return match layout {
                Some(x) => Ok((Cfa::Rggb, Some(x))),
                None => Err(Error::unsupported(
                    path,
                    format!(
                        "CFA pattern 6×6 ({}) is not an X-Trans layout",
                        printable(&cfa.name, 36)
                    ),
                )),
            };
        }
        (w, h) => {
            return Err(Error::unsupported(
                path,
                format!(
                    "CFA pattern {w}×{h} ({}) is not supported yet",
                    printable(&cfa.name, 64)
                ),
            ))
        }
    }
    match colours.as_deref() {
        Some(&[a, b, c, d]) => Cfa::from_colors([a, b, c, d]),
        _ => None,
    }
    .map(|c| (c, None))
    .ok_or_else(|| {
        Error::unsupported(
            path,
            format!("CFA pattern {} is not a Bayer pattern", cfa.name),
        )
    })
}

pub(crate) fn frame_from_rawloader(
    path: &Path,
    data: &[u8],
    raw: rawloader::RawImage,
) -> Result<Frame> {
    let mosaic = rawloader_pixels(path, &raw)?;
    let (cfa, xtrans) = rawloader_cfa(path, &raw.cfa)?;
    // rawloader's levels are per colour (RGBE); ours are per 2×2 position.
    let level = |levels: &[u16; 4], c: u32| levels[c as usize] as f32;
    let black = match xtrans {
        None => cfa.colors().map(|c| level(&raw.blacklevels, c)),
        // Every 2×2 position sees all three colours somewhere on an X-Trans sensor: one level,
        // the colours' mean weighted by their share of the sensor (8 R, 20 G, 8 B of 36).
        // Fujifilm bodies report one level for all three.
        Some(_) => {
            let b = |c| level(&raw.blacklevels, c);
            [(8.0 * b(0) + 20.0 * b(1) + 8.0 * b(2)) / 36.0; 4]
        }
    };
    // One white level for all: the lowest, so no channel is taken as unclipped when it is not.
    let white = [0, 1, 2]
        .into_iter()
        .map(|c| level(&raw.whitelevels, c))
        .fold(f32::INFINITY, f32::min);
    let m = &raw.xyz_to_cam;
    let known_matrix = m[..3].iter().flatten().all(|v| v.is_finite())
        && m[..3].iter().flatten().any(|&v| v != 0.0);
    let xyz_to_cam = if known_matrix {
        [m[0], m[1], m[2]]
    } else {
        SRGB_TO_XYZ_INVERSE
    };
    // rawloader's camera multipliers are the as-shot white; some cameras store placeholders
    // (the EOS D30's start with -1) or none: then the develop estimates the white.
    let [r, g, b, _] = raw.wb_coeffs.map(|v| v as f64);
    let mut as_shot = [r, g, b].map(|v| g / v);
    // The EOS D30's one stored set is its daylight table when the camera was on auto WB.
    if raw.clean_model == "EOS D30" && super::ciff::white_balance_index(data) == Some(0) {
        as_shot = [f64::NAN; 3];
    }
    let colour = ColourModel::single_d65(xyz_to_cam.map(|r| r.map(|v| v as f64)), Some(as_shot));
    let wb = colour
        .as_shot_neutral()
        .unwrap_or_else(|| colour.daylight_neutral())
        .map(|v| (1.0 / v) as f32);
    let orientation = match raw.orientation.to_u16() {
        o @ 1..=8 => o,
        _ => 1,
    };
    let mut exif = read_exif(data);
    exif.make = raw.clean_make.clone();
    exif.model = raw.clean_model.clone();
    let [top, right, bottom, left] = raw.crops;
    let (width, height) = (raw.width, raw.height);
    let frame = Frame {
        source: path.to_path_buf(),
        width: width as u32,
        height: height as u32,
        mosaic,
        cfa,
        black,
        white,
        wb,
        xyz_to_cam,
        orientation,
        exif,
        noise_profile: None,
        cfa_block: 1,
        xtrans,
        colour: Some(colour),
        linear_rgb: None,
        opcodes: Default::default(),
    };
    let (w, h) = (
        width.checked_sub(left + right),
        height.checked_sub(top + bottom),
    );
    match (w, h) {
        (Some(w), Some(h)) => crop(frame, left as u32, top as u32, w as u32, h as u32),
        _ => Err(Error::decode(
            path,
            format!(
                "crop margins {:?} are larger than the {width}×{height} image",
                raw.crops
            ),
        )),
    }
}

/// Capture settings from a TIFF-based raw (CR2, NEF, ARW, ...); other containers simply have none
/// here. kamadak-exif needs its own copy of the bytes.
fn read_exif(data: &[u8]) -> Exif {
    if !(data.starts_with(b"II*\0") || data.starts_with(b"MM\0*")) {
        return Exif::default();
    }
    let Ok(fields) = exif::Reader::new().read_raw(data.to_vec()) else {
        return Exif::default();
    };
    exif_fields(&fields)
}

/// The capture settings among parsed EXIF fields (raw files here, finished photos in input.rs).
pub(crate) fn exif_fields(fields: &exif::Exif) -> Exif {
    let mut exif = Exif::default();
    let get = |tag| fields.get_field(tag, exif::In::PRIMARY).map(|f| &f.value);
    let number = |tag| match get(tag)? {
        exif::Value::Rational(v) => v.first().map(|r| r.to_f64()),
        exif::Value::SRational(v) => v.first().map(|r| r.to_f64()),
        v => v.get_uint(0).map(f64::from),
    };
    exif.exposure_time = number(exif::Tag::ExposureTime);
    exif.f_number = number(exif::Tag::FNumber);
    exif.focal_length = number(exif::Tag::FocalLength);
    exif.iso = get(exif::Tag::PhotographicSensitivity).and_then(|v| v.get_uint(0));
    exif.datetime = match get(exif::Tag::DateTimeOriginal) {
        Some(exif::Value::Ascii(v)) => v
            .first()
            .map(|s| String::from_utf8_lossy(s).trim().to_string()),
        _ => None,
    };
    exif
}
