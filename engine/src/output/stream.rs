//! Photos written while they are rendered, band by band, so that a very large frame is never held
//! whole on the host: PNG rows go into the compressor as they come; JPEG (whose encoder takes a
//! whole image) gathers them at the 8 bits it stores, half of 16-bit; TIFF and turned images
//! (EXIF orientation 2–8) gather the whole image and are saved as [`super::save`] does.

use std::io::Write;
use std::path::Path;

use super::{exif_tags, to_u8, Format};
use crate::error::{Error, Result};
use crate::schedule::develop::RowSink;
use crate::{Exif, Image};

/// What is being written: the rendered size (before orientation), bits per channel, metadata.
pub(crate) struct Photo<'a> {
    pub width: u32,
    pub height: u32,
    pub bits: u8,
    pub orientation: u16,
    pub exif: &'a Exif,
}

/// Write `path` (format by extension) from the rows `render` hands its sink, through a temporary
/// file renamed into place only when the render and the encoding both succeeded.
pub(crate) fn save_rendered(
    path: &Path,
    photo: &Photo,
    render: impl FnOnce(&mut RowSink) -> Result<()>,
) -> Result<()> {
    let format = Format::from_path(path).ok_or_else(|| Error::Encode {
        path: path.into(),
        reason: "unknown output format: use .png, .jpg/.jpeg or .tif/.tiff".into(),
    })?;
    let encode_error = |e: &dyn std::fmt::Display| Error::Encode {
        path: path.into(),
        reason: e.to_string(),
    };
    let whole = format == Format::Tiff || (2..=8).contains(&photo.orientation);
    if whole {
        let mut data = Vec::with_capacity(photo.width as usize * photo.height as usize * 3);
        render(&mut |rows| {
            data.extend_from_slice(rows);
            Ok(())
        })?;
        let (width, height, data) =
            super::orient(photo.width, photo.height, data, photo.orientation);
        let image = Image {
            width,
            height,
            bits: photo.bits,
            data,
            exif: photo.exif.clone(),
        };
        return super::save(&image, path);
    }
    super::write_atomically_with(path, |w| match format {
        Format::Png => {
            let mut info = png::Info::with_size(photo.width, photo.height);
            let blob = exif_tags::blob(photo.exif);
            if !blob.is_empty() {
                info.exif_metadata = Some(blob.into());
            }
            let mut encoder = png::Encoder::with_info(w, info).map_err(|e| encode_error(&e))?;
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(match photo.bits {
                8 => png::BitDepth::Eight,
                _ => png::BitDepth::Sixteen,
            });
            // As the image crate's PNG encoder sets them for a whole image.
            encoder.set_compression(png::Compression::Balanced);
            encoder.set_filter(png::Filter::Adaptive);
            let mut writer = encoder.write_header().map_err(|e| encode_error(&e))?;
            let mut stream = writer.stream_writer().map_err(|e| encode_error(&e))?;
            render(&mut |rows| {
                let bytes: Vec<u8> = match photo.bits {
                    8 => to_u8(rows, 8),
                    _ => rows.iter().flat_map(|v| v.to_be_bytes()).collect(),
                };
                stream.write_all(&bytes).map_err(|e| Error::io(path, e))
            })?;
            stream.finish().map_err(|e| encode_error(&e))
        }
        _ => {
            let mut data = Vec::with_capacity(photo.width as usize * photo.height as usize * 3);
            render(&mut |rows| {
                data.extend(to_u8(rows, photo.bits));
                Ok(())
            })?;
            let mut encoder =
                image::codecs::jpeg::JpegEncoder::new_with_quality(w, super::JPEG_QUALITY);
            let _ = encoder.set_exif_metadata(exif_tags::blob(photo.exif));
            use image::ImageEncoder;
            encoder
                .write_image(
                    &data,
                    photo.width,
                    photo.height,
                    image::ExtendedColorType::Rgb8,
                )
                .map_err(|e| encode_error(&e))
        }
    })
}
