//! Lossless-JPEG DNG pixels (compression 7): every strip or tile decoded by `ljpeg`, in
//! parallel, and placed in the mosaic.

use std::path::Path;

use rayon::prelude::*;

use super::dng_chunks::{Chunk, Chunks};
use super::ljpeg::{self, LjpegError};
use crate::error::{Error, Result};

/// The full (uncropped) mosaic of a lossless-JPEG DNG.
pub(crate) fn decode_mosaic(path: &Path, data: &[u8], chunks: &Chunks) -> Result<Vec<u16>> {
    let width = chunks.image_width as usize;
    let band_rows = chunks.chunk_height as usize;
    let across = chunks.across();
    // Sizes were checked against MAX_PIXELS by the DNG reader.
    let mut mosaic = vec![0u16; width * chunks.image_height as usize];
    // One band per row of chunks; the chunks of a band decode in parallel too.
    mosaic
        .par_chunks_mut(width * band_rows)
        .enumerate()
        .try_for_each(|(band_index, band)| {
            let decoded: Vec<(Chunk, Vec<u16>)> = (0..across)
                .into_par_iter()
                .map(|col| {
                    let chunk = chunks.chunk(band_index * across + col, data);
                    decode_chunk(path, chunks, &chunk).map(|s| (chunk, s))
                })
                .collect::<Result<_>>()?;
            for (chunk, samples) in decoded {
                let (x, w, stored) = (
                    chunk.x as usize,
                    chunk.width as usize,
                    chunk.stored_width as usize,
                );
                for r in 0..chunk.height as usize {
                    band[r * width + x..][..w].copy_from_slice(&samples[r * stored..][..w]);
                }
            }
            Ok(())
        })?;
    Ok(mosaic)
}

/// The samples of one chunk as rows of `stored_width` pixels. The JPEG's own shape may differ
/// (DNG converters write e.g. half the width with 2 components): its samples are read in order
/// and wrapped at the chunk width, as the DNG specification lays them out.
fn decode_chunk(path: &Path, chunks: &Chunks, chunk: &Chunk) -> Result<Vec<u16>> {
    let kind = if chunks.tiled { "tile" } else { "strip" };
    let stored = chunk.stored_width as u64 * chunks.chunk_height as u64;
    // Room for writers that round the JPEG's size up (to whole components or MCUs), not more:
    // a tiny chunk must not declare a huge image.
    let limit = 2 * stored + 4096;
    let image = ljpeg::decode(chunk.bytes, limit).map_err(|e| match e {
        LjpegError::Corrupt(_) => Error::decode(path, format!("{kind} {}: {e}", chunk.index)),
        LjpegError::Unsupported(_) => {
            Error::unsupported(path, format!("{kind} {}: {e}", chunk.index))
        }
    })?;
    let need = chunk.stored_width as usize * chunk.height as usize;
    if image.samples.len() < need {
        return Err(Error::decode(
            path,
            format!(
                "{kind} {} decodes to {}×{}×{} samples, fewer than the {}×{} pixels it covers",
                chunk.index,
                image.width,
                image.height,
                image.components,
                chunk.stored_width,
                chunk.height
            ),
        ));
    }
    Ok(image.samples)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::path::Path;

    use tiff::encoder::TiffEncoder;
    use tiff::tags::Tag;

    use super::super::decode::decode_bytes;
    use super::super::ljpeg::{encode, EncodeOptions};
    use crate::error::Error;

    /// How the test DNG stores its chunks.
    #[derive(Clone, Copy)]
    struct Layout {
        tiled: bool,
        chunk: (u32, u32),
        /// JPEG components: the JPEG is `chunk width / components` wide.
        components: u32,
    }

    const PADDING: u16 = 4000;

    /// A 12-bit lossless-JPEG CFA DNG of `mosaic`, written here with the tiff crate (not with
    /// our DNG writer): predictors cycle 1–7 over the chunks, tile padding holds PADDING.
    fn write_dng(mosaic: &[u16], (w, h): (u32, u32), l: Layout, table: Option<&[u16]>) -> Vec<u8> {
        let (cw, ch) = l.chunk;
        let (across, down) = (w.div_ceil(cw), h.div_ceil(ch));
        let mut chunks = Vec::new();
        for i in 0..across * down {
            let (x0, y0) = (i % across * cw, i / across * ch);
            let rows = if l.tiled { ch } else { ch.min(h - y0) };
            let samples: Vec<u16> = (y0..y0 + rows)
                .flat_map(|y| (x0..x0 + cw).map(move |x| (x, y)))
                .map(|(x, y)| {
                    if x < w && y < h {
                        mosaic[(y * w + x) as usize]
                    } else {
                        PADDING
                    }
                })
                .collect();
            let options = EncodeOptions {
                predictor: (i % 7 + 1) as u8,
                precision: 12,
                point_transform: 0,
                restart_lines: if i % 2 == 0 { 0 } else { 3 },
            };
            chunks.push(encode(
                &samples,
                cw / l.components,
                rows,
                l.components,
                options,
            ));
        }
        let mut buf = Cursor::new(Vec::new());
        let mut tiff = TiffEncoder::new(&mut buf).unwrap();
        let mut d = tiff.image_directory().unwrap();
        let t = Tag::Unknown;
        d.write_tag(Tag::NewSubfileType, 0u32).unwrap();
        d.write_tag(Tag::ImageWidth, w).unwrap();
        d.write_tag(Tag::ImageLength, h).unwrap();
        d.write_tag(Tag::BitsPerSample, 12u16).unwrap();
        d.write_tag(Tag::Compression, 7u16).unwrap();
        d.write_tag(Tag::PhotometricInterpretation, 32803u16)
            .unwrap();
        d.write_tag(Tag::SamplesPerPixel, 1u16).unwrap();
        d.write_tag(t(50706), &[1u8, 4, 0, 0][..]).unwrap();
        d.write_tag(t(33421), &[2u16, 2][..]).unwrap();
        d.write_tag(t(33422), &[0u8, 1, 1, 2][..]).unwrap();
        d.write_tag(t(50717), 65535u32).unwrap();
        if let Some(table) = table {
            d.write_tag(t(50712), table).unwrap();
        }
        let offsets: Vec<u32> = chunks
            .iter()
            .map(|c| d.write_data(&c[..]).unwrap() as u32)
            .collect();
        let counts: Vec<u32> = chunks.iter().map(|c| c.len() as u32).collect();
        if l.tiled {
            d.write_tag(Tag::TileWidth, cw).unwrap();
            d.write_tag(Tag::TileLength, ch).unwrap();
            d.write_tag(Tag::TileOffsets, &offsets[..]).unwrap();
            d.write_tag(Tag::TileByteCounts, &counts[..]).unwrap();
        } else {
            d.write_tag(Tag::RowsPerStrip, ch).unwrap();
            d.write_tag(Tag::StripOffsets, &offsets[..]).unwrap();
            d.write_tag(Tag::StripByteCounts, &counts[..]).unwrap();
        }
        d.finish().unwrap();
        buf.into_inner()
    }

    fn mosaic((w, h): (u32, u32)) -> Vec<u16> {
        (0..w * h)
            .map(|i| ((i % w) * 29 + (i / w) * 53 + (i * 7919) % 97) as u16 % 4096)
            .collect()
    }

    const SIZE: (u32, u32) = (70, 45);

    #[test]
    fn tiles_and_strips_of_every_predictor_and_layout_decode_with_padding_cropped() {
        let m = mosaic(SIZE);
        for (tiled, chunk, components) in [
            (true, (32, 16), 2), // Adobe's layout: half-width, 2 components
            (true, (32, 16), 1),
            (true, (16, 32), 4),
            (true, (80, 48), 2), // one tile larger than the image
            (false, (70, 8), 1), // strips, the last one short
            (false, (70, 6), 2),
        ] {
            let l = Layout {
                tiled,
                chunk,
                components,
            };
            let dng = write_dng(&m, SIZE, l, None);
            let f = decode_bytes(Path::new("t.dng"), &dng).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((f.width, f.height), SIZE);
            assert!(
                f.mosaic == m,
                "tiled {tiled}, chunk {chunk:?}, {components} components"
            );
        }
    }

    #[test]
    fn linearization_table_applies_to_lossless_jpeg_pixels() {
        let m = mosaic(SIZE);
        // A curve that moves every value: v → v²/256 + 100.
        let table: Vec<u16> = (0..4096u32).map(|v| (v * v / 256 + 100) as u16).collect();
        let l = Layout {
            tiled: true,
            chunk: (32, 16),
            components: 2,
        };
        let dng = write_dng(&m, SIZE, l, Some(&table));
        let f = decode_bytes(Path::new("t.dng"), &dng).unwrap_or_else(|e| panic!("{e}"));
        let expected: Vec<u16> = m.iter().map(|&v| table[v as usize]).collect();
        assert!(f.mosaic == expected);
    }

    #[test]
    fn corrupt_or_truncated_tiles_are_decode_errors_naming_the_file() {
        let m = mosaic(SIZE);
        let l = Layout {
            tiled: true,
            chunk: (32, 16),
            components: 2,
        };
        let dng = write_dng(&m, SIZE, l, None);
        // The first tile's JPEG starts after the 8-byte header (the tiff crate writes data
        // where it is given it, before the directory): damage its scan, then cut the file.
        let soi = dng.windows(2).position(|p| p == [0xFF, 0xD8]).unwrap();
        let sos = soi
            + dng[soi..]
                .windows(2)
                .position(|p| p == [0xFF, 0xDA])
                .unwrap();
        let mut bad = dng.clone();
        bad[sos + 14..sos + 40].fill(0xFF);
        match decode_bytes(Path::new("damaged.dng"), &bad) {
            Err(e @ Error::Decode { .. }) => assert!(e.to_string().contains("damaged.dng")),
            other => panic!("{other:?}"),
        }
        // A tile whose data ends early (an end-of-image marker inside its scan).
        let mut cut = dng.clone();
        cut[sos + 20..sos + 22].copy_from_slice(&[0xFF, 0xD9]);
        match decode_bytes(Path::new("cut.dng"), &cut) {
            Err(e @ Error::Decode { .. }) => assert!(e.to_string().contains("cut.dng"), "{e}"),
            other => panic!("{other:?}"),
        }
        // A file cut in half: no pixels for the tiles (or no directory).
        assert!(decode_bytes(Path::new("half.dng"), &dng[..dng.len() / 2]).is_err());
    }
}
