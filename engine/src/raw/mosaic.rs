//! Single-channel mosaic images (8/16-bit PNG or TIFF): the input people use to evaluate
//! demosaicers, since every reference data set ships its mosaics that way.

use std::path::Path;

use super::{Cfa, Frame};
use crate::error::{Error, Result};

impl Frame {
    /// Read a single-channel 8- or 16-bit PNG/TIFF as a Bayer mosaic with layout `cfa`: black is 0
    /// and white the largest value of the bit depth. Returns the frame and the bit depth.
    pub fn open_mosaic_image(path: impl AsRef<Path>, cfa: Cfa) -> Result<(Frame, u8)> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let img =
            image::load_from_memory(&bytes).map_err(|e| Error::decode(path, e.to_string()))?;
        let (w, h) = (img.width(), img.height());
        let (data, bits) = match img {
            image::DynamicImage::ImageLuma8(g) => {
                (g.into_raw().into_iter().map(u16::from).collect(), 8u8)
            }
            image::DynamicImage::ImageLuma16(g) => (g.into_raw(), 16u8),
            other => {
                return Err(Error::unsupported(
                    path,
                    format!(
                        "a mosaic must be one 8- or 16-bit channel, this image is {:?}",
                        other.color()
                    ),
                ))
            }
        };
        let white = if bits == 8 { 255.0 } else { 65535.0 };
        let mut frame = Frame::from_mosaic(w, h, data, cfa, 0.0, white)?;
        frame.source = path.to_path_buf();
        Ok((frame, bits))
    }
}
