//! LinearRaw DNGs (PhotometricInterpretation 34892): images already demosaiced to 3 linear
//! samples per pixel, as iPhone ProRAW, Samsung Expert RAW and Adobe's converter write them.
//!
//! Read per the DNG 1.7 specification: chunky samples in strips or tiles, uncompressed (8/16-bit)
//! or lossy JPEG (34892, 8-bit, each tile a baseline JPEG decoded to RGB by image-rs/zune-jpeg,
//! as LibRaw does with libjpeg) or JPEG XL (52546, DNG 1.7: jxl-oxide); then LinearizationTable, per-sample BlackLevel and WhiteLevel,
//! ActiveArea and DefaultCrop. The pixels stay in stored units: the develop path normalizes them
//! on the GPU (`stages::normalize_rgb`).
//!
//! OpcodeList2 (on the normalized values: MapPolynomial in Adobe's lossy DNGs, whose JPEG values
//! are gamma-encoded and white-balanced) is not applied yet: see `stages::normalize_rgb`.

use std::path::Path;

use rayon::prelude::*;
use tiff::Directory;

use super::{
    chunk_grid, linearize, main_images, numbers, read_colour_tags, read_crop, read_exif,
    read_linearization, read_opcodes, read_size, row_bytes, tiff_error, MainImages, TiffFile,
    BITS_PER_SAMPLE, BLACK_LEVEL, BLACK_LEVEL_DELTA_H, BLACK_LEVEL_DELTA_V, BLACK_LEVEL_REPEAT_DIM,
    COMPRESSION, SAMPLES_PER_PIXEL, SAMPLE_FORMAT,
};
use crate::error::{Error, Result};
use crate::raw::ljpeg::{self, LjpegError};
use crate::raw::{Cfa, Frame, RgbLevels};

const PLANAR_CONFIGURATION: u16 = 284;
const STRIP_BYTE_COUNTS: u16 = 279;
const TILE_BYTE_COUNTS: u16 = 325;

const COMPRESSION_NONE: u64 = 1;
const COMPRESSION_LOSSLESS_JPEG: u64 = 7;
const COMPRESSION_LOSSY_JPEG: u64 = 34892;
const COMPRESSION_JPEG_XL: u64 = 52546;

#[cfg(test)]
mod tests;

/// Samples per pixel of the LinearRaw images we develop (R, G, B).
const SAMPLES: usize = 3;

/// Decode a LinearRaw DNG into a frame of interleaved RGB. `Ok(None)` when `data` is not a DNG or
/// its main image is a CFA mosaic (the mosaic reader's job).
pub(crate) fn decode(path: &Path, data: &[u8]) -> Result<Option<Frame>> {
    // A DNG with a CFA main image is a mosaic whatever else it holds.
    let Some(MainImages {
        mut tiff,
        ifd0,
        cfa: None,
        linear: Some(raw),
    }) = main_images(path, data)?
    else {
        return Ok(None);
    };
    read_frame(path, &mut tiff, &ifd0, &raw, data).map(Some)
}

/// Check a LinearRaw frame's levels (called by `Frame::validate`).
pub(crate) fn check_levels(path: &Path, l: &RgbLevels) -> Result<()> {
    for c in 0..SAMPLES {
        let (b, w) = (l.black[c], l.white[c]);
        if !(w.is_finite() && w > 0.0 && w <= 65535.0 && b.is_finite() && b >= 0.0 && b < w) {
            return Err(Error::decode(
                path,
                format!(
                    "LinearRaw sample {c}: black level {b} and white level {w} are out of range (corrupt metadata?)"
                ),
            ));
        }
    }
    Ok(())
}

/// How the chunks (strips or tiles) of the image are stored.
struct Chunks {
    compression: u64,
    bits: u32,
    little_endian: bool,
    width: u32,
    height: u32,
    /// Byte range of each chunk in the file, checked to lie inside it.
    ranges: Vec<(usize, usize)>,
}

fn read_frame(
    path: &Path,
    tiff: &mut TiffFile,
    ifd0: &Directory,
    raw: &Directory,
    data: &[u8],
) -> Result<Frame> {
    let err = |e| tiff_error(path, e);
    let (width, height) = read_size(path, tiff, raw)?;

    match tiff.unsigned(raw, SAMPLES_PER_PIXEL).map_err(err)?.unwrap_or(1) {
        3 => {}
        4 => {
            return Err(Error::unsupported(
                path,
                "LinearRaw DNG with 4 samples per pixel (a 4-colour camera): only RGB (3 samples) develops",
            ))
        }
        n => {
            return Err(Error::decode(
                path,
                format!("LinearRaw image with {n} samples per pixel (the DNG specification needs 3 or 4)"),
            ))
        }
    }
    if tiff
        .unsigned(raw, PLANAR_CONFIGURATION)
        .map_err(err)?
        .unwrap_or(1)
        != 1
    {
        return Err(Error::unsupported(
            path,
            "LinearRaw DNG with planar (not interleaved) samples",
        ));
    }
    if tiff.unsigned(raw, SAMPLE_FORMAT).map_err(err)?.unwrap_or(1) != 1 {
        return Err(Error::unsupported(
            path,
            "LinearRaw DNG with floating-point or signed samples",
        ));
    }
    let bits = match tiff.find(raw, BITS_PER_SAMPLE).map_err(err)? {
        Some(v) => {
            let b = v.into_u64_vec().map_err(err)?;
            match b.first() {
                Some(&first) if b.iter().all(|&x| x == first) => first,
                _ => {
                    return Err(Error::unsupported(
                        path,
                        format!("LinearRaw DNG with BitsPerSample {b:?} (different per sample)"),
                    ))
                }
            }
        }
        None => 1,
    };
    let compression = tiff.unsigned(raw, COMPRESSION).map_err(err)?.unwrap_or(1);
    match (compression, bits) {
        (COMPRESSION_NONE, 8 | 16)
        | (COMPRESSION_LOSSY_JPEG, 8)
        | (COMPRESSION_JPEG_XL | COMPRESSION_LOSSLESS_JPEG, 1..=16) => {}
        (
            COMPRESSION_NONE
            | COMPRESSION_LOSSY_JPEG
            | COMPRESSION_JPEG_XL
            | COMPRESSION_LOSSLESS_JPEG,
            b,
        ) => {
            return Err(Error::unsupported(
                path,
                format!("LinearRaw DNG with {b}-bit samples (compression {compression})"),
            ))
        }
        (c, _) => {
            return Err(Error::unsupported(
                path,
                format!("LinearRaw DNG with compression {c}"),
            ))
        }
    }
    let chunks = read_chunks(
        path,
        tiff,
        raw,
        width,
        height,
        compression,
        bits as u32,
        data.len(),
    )?;
    let mut rgb = read_pixels(path, &chunks, width, height, data)?;

    if let Some(table) = read_linearization(path, tiff, raw)? {
        linearize(&table, &mut rgb);
    }
    let levels = read_levels(path, tiff, raw, bits)?;

    let [x, y, w, h] = read_crop(path, tiff, raw, width, height)?;
    let rgb = crop(&rgb, width, [x, y, w, h]);

    let (colour, wb, xyz_to_cam, orientation, noise_profile) =
        read_colour_tags(path, tiff, ifd0, raw)?;
    let opcodes = read_opcodes(path, tiff, ifd0, raw, (width, height), [x, y, w, h])?;
    let exif = read_exif(path, tiff, ifd0)?;
    let lowest_black = levels.black.iter().copied().fold(f32::INFINITY, f32::min);
    let highest_white = levels.white.iter().copied().fold(0.0, f32::max);
    Ok(Frame {
        source: path.to_path_buf(),
        width: w,
        height: h,
        mosaic: rgb,
        cfa: Cfa::Rggb,
        // Mosaic-wide levels for code that looks at any frame; the per-sample ones are exact.
        black: [lowest_black; 4],
        white: highest_white,
        wb,
        xyz_to_cam,
        orientation,
        exif,
        noise_profile,
        cfa_block: 1,
        xtrans: None,
        linear_rgb: Some(levels),
        colour: Some(colour),
        opcodes,
    })
}

/// Strip or tile geometry and the byte range of each chunk, every range checked against the file.
#[allow(clippy::too_many_arguments)]
fn read_chunks(
    path: &Path,
    tiff: &mut TiffFile,
    raw: &Directory,
    width: u32,
    height: u32,
    compression: u64,
    bits: u32,
    file_len: usize,
) -> Result<Chunks> {
    let err = |e| tiff_error(path, e);
    let (tiled, cw, ch, offsets) = chunk_grid(path, tiff, raw, width, height)?;
    // The image and each tile (which may be larger than the image) are decoded to RGB buffers:
    // both must be sizes the file can hold.
    for size in [(width, height), (cw, ch)] {
        let (w, h) = (size.0 as u64, size.1 as u64);
        crate::raw::limits::check_declared(path, (w, h), SAMPLES as u64, file_len as u64)?;
    }
    let counts_tag = if tiled {
        TILE_BYTE_COUNTS
    } else {
        STRIP_BYTE_COUNTS
    };
    let list = |tiff: &mut TiffFile, t: u16, name: &str| -> Result<Vec<u64>> {
        match tiff.find(raw, t).map_err(err)? {
            Some(v) => v.into_u64_vec().map_err(err),
            None => Err(Error::decode(
                path,
                format!("LinearRaw image has no {name}"),
            )),
        }
    };
    let (across, down) = (width.div_ceil(cw) as u64, height.div_ceil(ch) as u64);
    // Uncompressed chunks have a known size; compressed ones say theirs in the byte counts.
    let counts = if compression == COMPRESSION_NONE {
        (0..offsets.len() as u64)
            .map(|i| {
                let rows = if tiled || i / across + 1 < down {
                    ch
                } else {
                    height - (i / across) as u32 * ch
                };
                row_bytes(cw * SAMPLES as u32, bits) * rows as u64
            })
            .collect()
    } else {
        let counts = list(tiff, counts_tag, "strip or tile byte counts")?;
        if counts.len() != offsets.len() {
            return Err(Error::decode(
                path,
                "DNG has different numbers of chunk offsets and byte counts",
            ));
        }
        counts
    };
    let mut ranges = Vec::with_capacity(offsets.len());
    for (i, (&offset, &count)) in offsets.iter().zip(&counts).enumerate() {
        match offset.checked_add(count) {
            Some(end) if end <= file_len as u64 => ranges.push((offset as usize, end as usize)),
            _ => {
                return Err(Error::decode(
                    path,
                    format!("file is truncated: pixel chunk {i} needs bytes {offset}..{} but the file has {file_len}", offset.saturating_add(count)),
                ))
            }
        }
    }
    Ok(Chunks {
        compression,
        bits,
        little_endian: tiff.little_endian,
        width: cw,
        height: ch,
        ranges,
    })
}

/// The whole image, RGB interleaved: chunks decoded in parallel, then placed.
fn read_pixels(
    path: &Path,
    chunks: &Chunks,
    width: u32,
    height: u32,
    data: &[u8],
) -> Result<Vec<u16>> {
    let (width, height) = (width as usize, height as usize);
    let (cw, ch) = (chunks.width as usize, chunks.height as usize);
    let across = width.div_ceil(cw);
    let decoded: Vec<Vec<u16>> = chunks
        .ranges
        .par_iter()
        .enumerate()
        .map(|(i, &(start, end))| {
            let (x0, y0) = ((i % across) * cw, (i / across) * ch);
            // The pixels of this chunk that lie inside the image.
            let need = (cw.min(width - x0), ch.min(height - y0));
            decode_chunk(path, chunks, i, &data[start..end], need)
        })
        .collect::<Result<_>>()?;
    let mut rgb = vec![0u16; width * height * SAMPLES];
    for (i, chunk) in decoded.iter().enumerate() {
        let (x0, y0) = ((i % across) * cw, (i / across) * ch);
        let w = cw.min(width - x0);
        for (r, row) in chunk.chunks_exact(w * SAMPLES).enumerate() {
            let at = ((y0 + r) * width + x0) * SAMPLES;
            rgb[at..at + w * SAMPLES].copy_from_slice(row);
        }
    }
    Ok(rgb)
}

/// A lossless-JPEG tile or strip (iPhone ProRAW, Adobe's lossless LinearRaw): 3 components, or
/// any shape whose samples, read in order, fill the chunk's rows of interleaved RGB.
fn decode_lossless_jpeg(
    path: &Path,
    chunks: &Chunks,
    index: usize,
    bytes: &[u8],
) -> Result<(usize, usize, Vec<u16>)> {
    let (cw, ch) = (chunks.width as usize, chunks.height as usize);
    // Room for writers that round the JPEG's size up, not more: a tiny chunk must not declare a
    // huge image.
    let limit = 2 * (cw * ch * SAMPLES) as u64 + 4096;
    let image = ljpeg::decode(bytes, limit).map_err(|e| match e {
        LjpegError::Corrupt(_) => Error::decode(path, format!("tile {index}: {e}")),
        LjpegError::Unsupported(_) => Error::unsupported(path, format!("tile {index}: {e}")),
    })?;
    if image.samples.len() < cw * ch * SAMPLES {
        return Err(Error::decode(
            path,
            format!(
                "lossless JPEG tile {index} holds {} samples, fewer than its {cw}×{ch} RGB pixels",
                image.samples.len()
            ),
        ));
    }
    Ok((cw, ch, image.samples))
}

/// One chunk's pixels inside the image (`need` = columns, rows), RGB interleaved.
fn decode_chunk(
    path: &Path,
    chunks: &Chunks,
    index: usize,
    bytes: &[u8],
    (w, h): (usize, usize),
) -> Result<Vec<u16>> {
    let mut out = Vec::with_capacity(w * h * SAMPLES);
    match chunks.compression {
        COMPRESSION_NONE => {
            let stride = row_bytes(chunks.width * SAMPLES as u32, chunks.bits) as usize;
            for row in bytes.chunks_exact(stride).take(h) {
                match chunks.bits {
                    8 => out.extend(row[..w * SAMPLES].iter().map(|&b| b as u16)),
                    _ => out.extend(row[..w * SAMPLES * 2].chunks_exact(2).map(|b| {
                        if chunks.little_endian {
                            u16::from_le_bytes([b[0], b[1]])
                        } else {
                            u16::from_be_bytes([b[0], b[1]])
                        }
                    })),
                }
            }
        }
        compression => {
            let (tw, th, rgb) = match compression {
                COMPRESSION_JPEG_XL => decode_jpeg_xl(path, chunks, index, bytes)?,
                COMPRESSION_LOSSLESS_JPEG => decode_lossless_jpeg(path, chunks, index, bytes)?,
                _ => decode_lossy_jpeg(path, chunks, index, bytes)?,
            };
            if tw < w || th < h {
                return Err(Error::decode(
                    path,
                    format!("JPEG tile {index} is {tw}×{th} pixels where the image needs {w}×{h}"),
                ));
            }
            for row in rgb.chunks_exact(tw * SAMPLES).take(h) {
                out.extend_from_slice(&row[..w * SAMPLES]);
            }
        }
    }
    if out.len() != w * h * SAMPLES {
        return Err(Error::decode(
            path,
            format!("pixel chunk {index} is shorter than its {w}×{h} pixels"),
        ));
    }
    Ok(out)
}

/// A lossy JPEG tile (compression 34892) decoded to 8-bit RGB: width, height, pixels. The tile's
/// YCbCr is converted to RGB by the decoder, as the DNG specification's baseline JPEG intends.
fn decode_lossy_jpeg(
    path: &Path,
    chunks: &Chunks,
    index: usize,
    bytes: &[u8],
) -> Result<(usize, usize, Vec<u16>)> {
    use image::ImageDecoder;
    let bad = |e: image::ImageError| {
        Error::decode(path, format!("lossy JPEG tile {index} is corrupt: {e}"))
    };
    let decoder =
        image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(bytes)).map_err(bad)?;
    let (tw, th) = decoder.dimensions();
    // Checked before allocating: a tile may not be larger than the tile size the DNG declares.
    if tw > chunks.width || th > chunks.height {
        return Err(Error::decode(
            path,
            format!(
                "JPEG tile {index} is {tw}×{th} pixels, larger than the {}×{} tiles of the image",
                chunks.width, chunks.height
            ),
        ));
    }
    if decoder.color_type() != image::ColorType::Rgb8 {
        return Err(Error::unsupported(
            path,
            format!(
                "lossy JPEG tile {index} decodes to {:?}, not 3-channel 8-bit colour",
                decoder.color_type()
            ),
        ));
    }
    let mut rgb = vec![0u8; decoder.total_bytes() as usize];
    decoder.read_image(&mut rgb).map_err(bad)?;
    Ok((
        tw as usize,
        th as usize,
        rgb.into_iter().map(u16::from).collect(),
    ))
}

/// A JPEG XL tile (compression 52546, DNG 1.7) decoded by jxl-oxide to 3 samples on the DNG's
/// BitsPerSample scale: width, height, pixels.
fn decode_jpeg_xl(
    path: &Path,
    chunks: &Chunks,
    index: usize,
    bytes: &[u8],
) -> Result<(usize, usize, Vec<u16>)> {
    let bad = |e: Box<dyn std::error::Error + Send + Sync>| {
        Error::decode(path, format!("JPEG XL tile {index} is corrupt: {e}"))
    };
    let image = jxl_oxide::JxlImage::builder()
        .read(std::io::Cursor::new(bytes))
        .map_err(bad)?;
    let (tw, th) = (image.width(), image.height());
    // Checked before rendering allocates: a tile may not be larger than the declared tile size.
    if tw > chunks.width || th > chunks.height {
        return Err(Error::decode(
            path,
            format!(
                "JPEG XL tile {index} is {tw}×{th} pixels, larger than the {}×{} tiles of the image",
                chunks.width, chunks.height
            ),
        ));
    }
    if image.pixel_format() != jxl_oxide::PixelFormat::Rgb {
        return Err(Error::unsupported(
            path,
            format!(
                "JPEG XL tile {index} has {:?} channels, not 3-sample colour",
                image.pixel_format()
            ),
        ));
    }
    let render = image.render_frame(0).map_err(bad)?;
    let fb = render.image_all_channels();
    if (fb.width(), fb.height(), fb.channels()) != (tw as usize, th as usize, SAMPLES) {
        return Err(Error::decode(
            path,
            format!(
                "JPEG XL tile {index} decodes to an unexpected {}×{}×{}",
                fb.width(),
                fb.height(),
                fb.channels()
            ),
        ));
    }
    // Samples come normalized to [0, 1] for the file's bit depth.
    let max = ((1u32 << chunks.bits) - 1) as f32;
    let rgb = fb
        .buf()
        .iter()
        .map(|&v| (v.clamp(0.0, 1.0) * max).round() as u16)
        .collect();
    Ok((tw as usize, th as usize, rgb))
}

/// Black and white level per sample. BlackLevel holds RepeatRows × RepeatCols × 3 values; a
/// repeat pattern larger than 1×1 and the per-row / per-column deltas are averaged (a LinearRaw
/// image has no mosaic phase to keep them apart).
fn read_levels(path: &Path, tiff: &mut TiffFile, raw: &Directory, bits: u64) -> Result<RgbLevels> {
    let err = |e| tiff_error(path, e);
    let (rows, cols) = match tiff.find(raw, BLACK_LEVEL_REPEAT_DIM).map_err(err)? {
        Some(v) => match v.into_u64_vec().map_err(err)?[..] {
            [r, c] if (1..=64).contains(&r) && (1..=64).contains(&c) => (r as usize, c as usize),
            _ => return Err(Error::decode(path, "DNG BlackLevelRepeatDim is invalid")),
        },
        None => (1, 1),
    };
    let values = tiff
        .find(raw, BLACK_LEVEL)
        .map_err(err)?
        .map(numbers)
        .unwrap_or_else(|| vec![0.0; rows * cols * SAMPLES]);
    let per_sample: [f64; SAMPLES] = match values.len() {
        // One value for every sample is a common shortcut.
        1 => [values[0]; SAMPLES],
        n if n == rows * cols * SAMPLES => [0, 1, 2]
            .map(|c| values.iter().skip(c).step_by(SAMPLES).sum::<f64>() / (rows * cols) as f64),
        n => {
            return Err(Error::decode(
                path,
                format!(
                    "DNG BlackLevel has {n} values where {rows}×{cols} × {SAMPLES} samples need {}",
                    rows * cols * SAMPLES
                ),
            ))
        }
    };
    let mean = |t: u16, tiff: &mut TiffFile| -> Result<f64> {
        let v = tiff
            .find(raw, t)
            .map_err(err)?
            .map(numbers)
            .unwrap_or_default();
        Ok(if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        })
    };
    let delta = mean(BLACK_LEVEL_DELTA_H, tiff)? + mean(BLACK_LEVEL_DELTA_V, tiff)?;
    let black = per_sample.map(|b| (b + delta) as f32);
    let white = match tiff
        .find(raw, super::WHITE_LEVEL)
        .map_err(err)?
        .map(numbers)
    {
        Some(v) if v.len() == 1 => [v[0] as f32; SAMPLES],
        Some(v) if v.len() == SAMPLES => [v[0] as f32, v[1] as f32, v[2] as f32],
        Some(v) => {
            return Err(Error::decode(
                path,
                format!(
                    "DNG WhiteLevel has {} values for {SAMPLES} samples",
                    v.len()
                ),
            ))
        }
        None => [((1u64 << bits.min(16)) - 1) as f32; SAMPLES],
    };
    let levels = RgbLevels { black, white };
    check_levels(path, &levels)?;
    Ok(levels)
}

/// The `w`×`h` area at (`x`, `y`) of an interleaved RGB image `width` pixels wide.
fn crop(rgb: &[u16], width: u32, [x, y, w, h]: [u32; 4]) -> Vec<u16> {
    let (x, y, w, h, width) = (
        x as usize,
        y as usize,
        w as usize,
        h as usize,
        width as usize,
    );
    if x == 0 && w == width {
        return rgb[y * width * SAMPLES..(y + h) * width * SAMPLES].to_vec();
    }
    rgb.chunks_exact(width * SAMPLES)
        .skip(y)
        .take(h)
        .flat_map(|row| &row[x * SAMPLES..(x + w) * SAMPLES])
        .copied()
        .collect()
}
