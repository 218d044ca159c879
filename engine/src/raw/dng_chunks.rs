//! The compressed pixel chunks (strips or tiles) of a DNG image: where each one's bytes are and
//! which part of the image it covers. Shared by every compressed DNG decoder (lossless JPEG here;
//! lossy JPEG and JPEG XL tiles of LinearRaw DNGs use the same table).

use std::path::Path;

use crate::error::{Error, Result};

/// The strip or tile table of a DNG image, every chunk checked to lie inside the file.
#[derive(Debug, Clone)]
pub(crate) struct Chunks {
    /// Tiles (padded to full size at the right and bottom) rather than image-wide strips.
    pub tiled: bool,
    /// Stored chunk size in pixels (a strip is as wide as the image).
    pub chunk_width: u32,
    pub chunk_height: u32,
    pub image_width: u32,
    pub image_height: u32,
    offsets: Vec<u64>,
    byte_counts: Vec<u64>,
}

/// One strip or tile.
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)] // `y` is for the LinearRaw tile decoders (lossy JPEG, JPEG XL)
pub(crate) struct Chunk<'a> {
    /// Position in the table (row-major).
    pub index: usize,
    /// Top-left image pixel it covers.
    pub x: u32,
    pub y: u32,
    /// Image pixels it covers: tiles at the right and bottom edges cover fewer than they store,
    /// the last strip may be short.
    pub width: u32,
    pub height: u32,
    /// Pixels per stored row (tile width, or image width for strips).
    pub stored_width: u32,
    /// Its compressed bytes.
    pub bytes: &'a [u8],
}

impl Chunks {
    /// Check the table against the image and the file: one chunk per grid cell, each inside the
    /// file (`file_len` bytes).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        path: &Path,
        tiled: bool,
        (chunk_width, chunk_height): (u32, u32),
        (image_width, image_height): (u32, u32),
        offsets: Vec<u64>,
        byte_counts: Vec<u64>,
        file_len: u64,
    ) -> Result<Chunks> {
        if chunk_width == 0 || chunk_height == 0 {
            return Err(Error::decode(path, "DNG chunk size is zero"));
        }
        let across = image_width.div_ceil(chunk_width) as u64;
        let down = image_height.div_ceil(chunk_height) as u64;
        if offsets.len() as u64 != across * down || byte_counts.len() != offsets.len() {
            return Err(Error::decode(
                path,
                format!(
                    "DNG has {} chunk offsets and {} byte counts where its size needs {}",
                    offsets.len(),
                    byte_counts.len(),
                    across * down
                ),
            ));
        }
        for (i, (&offset, &count)) in offsets.iter().zip(&byte_counts).enumerate() {
            if offset.checked_add(count).is_none_or(|end| end > file_len) {
                return Err(Error::decode(
                    path,
                    format!(
                        "file is truncated: pixel chunk {i} needs bytes {offset}..{} but the file has {file_len}",
                        offset.saturating_add(count)
                    ),
                ));
            }
        }
        Ok(Chunks {
            tiled,
            chunk_width,
            chunk_height,
            image_width,
            image_height,
            offsets,
            byte_counts,
        })
    }

    /// Number of chunks.
    #[allow(dead_code)] // for the LinearRaw tile decoders
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Chunks per row of the grid.
    pub fn across(&self) -> usize {
        self.image_width.div_ceil(self.chunk_width) as usize
    }

    /// Chunk `index` (< `len()`) of `data`, the file the table was checked against.
    pub fn chunk<'a>(&self, index: usize, data: &'a [u8]) -> Chunk<'a> {
        let across = self.across();
        let x = (index % across) as u32 * self.chunk_width;
        let y = (index / across) as u32 * self.chunk_height;
        let (start, count) = (
            self.offsets[index] as usize,
            self.byte_counts[index] as usize,
        );
        Chunk {
            index,
            x,
            y,
            width: self.chunk_width.min(self.image_width - x),
            height: self.chunk_height.min(self.image_height - y),
            stored_width: self.chunk_width,
            // Checked against the file length in `new`; an empty slice if `data` is another file.
            bytes: data.get(start..start + count).unwrap_or(&[]),
        }
    }

    /// Every chunk of `data` in table order.
    #[allow(dead_code)] // for the LinearRaw tile decoders
    pub fn iter<'a>(&'a self, data: &'a [u8]) -> impl Iterator<Item = Chunk<'a>> + 'a {
        (0..self.len()).map(move |i| self.chunk(i, data))
    }
}
