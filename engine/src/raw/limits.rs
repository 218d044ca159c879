//! Limits on sizes read from untrusted files, all in one place: every decoder checks a declared
//! image against [`check_declared`] before it allocates pixels, so a lying header is an error,
//! never an out-of-memory kill. The README's "Limits" section states the same numbers.

use std::path::Path;

use crate::error::{Error, Result};

/// Largest accepted frame: 2^29 pixels (a 536 MP sensor). Anything larger is a corrupt header,
/// not a camera.
pub(crate) const MAX_PIXELS: u64 = 1 << 29;
/// Largest accepted side: 65 535 pixels.
pub(crate) const MAX_SIDE: u32 = 65_535;
/// Largest raw file read into memory: 2 GiB, twice a 16-bit frame of MAX_PIXELS.
pub(crate) const MAX_FILE_BYTES: u64 = 2 << 30;
/// Values (pixels × samples) a file may declare per byte it holds: 16, half a bit per value.
/// Lossless JPEG and the camera makers' Huffman codes spend at least one bit per value and real
/// raws two or more bytes per pixel, so only a header that lies about its size gets near it.
pub(crate) const VALUES_PER_BYTE: u64 = 16;
/// Values any file may declare whatever its length (4 Mi: an 8 MiB frame), so tiny test files
/// and thumbnails are never refused by the rule above.
pub(crate) const SMALL_IMAGE_VALUES: u64 = 1 << 22;

/// Check an image of `width` × `height` pixels × `samples` values declared by a file of
/// `file_len` bytes: against [`MAX_SIDE`] and [`MAX_PIXELS`] (an `Error::Limits`), and against
/// what the file's length can hold (an `Error::Decode`: a truncated file or a lying header).
pub(crate) fn check_declared(
    path: &Path,
    (width, height): (u64, u64),
    samples: u64,
    file_len: u64,
) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::decode(
            path,
            format!("the raw image is {width}×{height} pixels"),
        ));
    }
    if width > MAX_SIDE as u64 || height > MAX_SIDE as u64 || width * height > MAX_PIXELS {
        return Err(Error::limits(
            path,
            format!(
                "{width}×{height} pixels is beyond the supported size (at most {MAX_SIDE} pixels a side and {} MP)",
                MAX_PIXELS / 1_000_000
            ),
        ));
    }
    let values = width * height * samples.max(1);
    if values > max_values(file_len) {
        return Err(Error::decode(
            path,
            format!(
                "the file declares a {width}×{height} image, more than its {file_len} bytes can hold (truncated file or corrupt header)"
            ),
        ));
    }
    Ok(())
}

/// Values (pixels × samples) that `len` bytes of a file or of one compressed chunk may declare:
/// [`VALUES_PER_BYTE`] per byte, and [`SMALL_IMAGE_VALUES`] whatever the length.
pub(crate) fn max_values(len: u64) -> u64 {
    len.saturating_mul(VALUES_PER_BYTE).max(SMALL_IMAGE_VALUES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_beyond_the_limits_or_the_file_are_errors() {
        let p = Path::new("x.raw");
        let check = |w, h, s, len| check_declared(p, (w, h), s, len);
        assert!(check(4000, 3000, 1, 12_000_000).is_ok());
        assert!(
            check(100, 100, 3, 10).is_ok(),
            "small images pass whatever the length"
        );
        assert!(matches!(
            check(100_000, 100_000, 1, 1 << 40),
            Err(Error::Limits { .. })
        ));
        assert!(matches!(
            check(65_000, 65_000, 1, 1 << 40),
            Err(Error::Limits { .. })
        ));
        assert!(matches!(check(0, 10, 1, 100), Err(Error::Decode { .. })));
        // 12 MP of a few kilobytes.
        assert!(matches!(
            check(4000, 3000, 1, 4096),
            Err(Error::Decode { .. })
        ));
        // The bound counts samples: 6 M values need 375 000 bytes.
        assert!(check(2000, 1000, 3, 400_000).is_ok());
        assert!(matches!(
            check(2000, 1000, 3, 300_000),
            Err(Error::Decode { .. })
        ));
    }
}
