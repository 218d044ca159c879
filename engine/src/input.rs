//! Reading finished photos (JPEG, PNG, TIFF) as [`Image`]s, e.g. the members of an exposure bracket.

use std::path::Path;

use crate::error::{Error, Result};
use crate::{Exif, Image};

/// Largest image we accept from a file: 2^28 pixels (a 16 384 × 16 384 photo), a guard against
/// headers that claim absurd sizes.
const MAX_PIXELS: u64 = 1 << 28;

/// Decode `path`; 8-bit files stay 8-bit, 16-bit and float files become 16-bit; grey images become
/// RGB and alpha is dropped.
pub(crate) fn open(path: &Path) -> Result<Image> {
    let reader = image::ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| Error::decode(path, e.to_string()))?;
    if w as u64 * h as u64 > MAX_PIXELS {
        return Err(Error::limits(
            path,
            format!("{w}×{h} pixels is more than the {MAX_PIXELS} we accept"),
        ));
    }
    let mut reader = image::ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    // The image crate's default ceiling (512 MiB) refuses a 100 MP 16-bit photo; the size is
    // checked above, so allow what this one needs (RGBA, 16 bits at most) and a margin.
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(w as u64 * h as u64 * 8 + (64 << 20));
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| Error::decode(path, e.to_string()))?;
    let (width, height) = (img.width(), img.height());
    let eight_bit = matches!(
        img.color(),
        image::ColorType::L8
            | image::ColorType::La8
            | image::ColorType::Rgb8
            | image::ColorType::Rgba8
    );
    let (bits, data) = if eight_bit {
        (
            8,
            img.into_rgb8()
                .into_raw()
                .into_iter()
                .map(u16::from)
                .collect(),
        )
    } else {
        (16, img.into_rgb16().into_raw())
    };
    Ok(Image {
        width,
        height,
        bits,
        data,
        exif: read_exif(path),
    })
}

/// The capture settings in a photo's EXIF (JPEG APP1, PNG eXIf, TIFF, ...), e.g. the exposure
/// times of a bracket; a file without EXIF (or with unreadable EXIF) simply has none.
fn read_exif(path: &Path) -> Exif {
    let Ok(file) = std::fs::File::open(path) else {
        return Exif::default();
    };
    let mut reader = std::io::BufReader::new(file);
    let Ok(fields) = exif::Reader::new().read_from_container(&mut reader) else {
        return Exif::default();
    };
    let text = |tag| match fields.get_field(tag, exif::In::PRIMARY).map(|f| &f.value) {
        Some(exif::Value::Ascii(v)) => v
            .first()
            .map(|s| {
                String::from_utf8_lossy(s)
                    .trim_end_matches('\0')
                    .trim()
                    .to_string()
            })
            .unwrap_or_default(),
        _ => String::new(),
    };
    Exif {
        make: text(exif::Tag::Make),
        model: text(exif::Tag::Model),
        ..crate::raw::exif_fields(&fields)
    }
}
