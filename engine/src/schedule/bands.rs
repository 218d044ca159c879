//! Horizontal bands: images larger than a device's binding limit are processed a band at a time,
//! each band read with a halo of context rows so the result is identical to one pass.

use crate::error::{Error, Result};

/// One band: the rows it produces (`out`) and the rows it reads (`input`, with halo), image rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Band {
    pub out: (u32, u32),
    pub input: (u32, u32),
}

impl Band {
    pub fn out_rows(&self) -> u32 {
        self.out.1 - self.out.0
    }
    pub fn input_rows(&self) -> u32 {
        self.input.1 - self.input.0
    }
}

/// Split `height` rows into bands whose widest buffer (`bytes_per_px` per pixel, halo included)
/// fits `max_binding` bytes, optionally capped at `max_rows`. Band starts stay even so every band
/// sees the same CFA phase.
pub(crate) fn plan(
    width: u32,
    height: u32,
    halo: u32,
    bytes_per_px: u64,
    max_binding: u64,
    max_rows: Option<u32>,
) -> Result<Vec<Band>> {
    let fit = max_binding / (width as u64 * bytes_per_px);
    let mut rows = fit.saturating_sub(2 * halo as u64).min(height as u64) as u32;
    if let Some(cap) = max_rows {
        rows = rows.min(cap);
    }
    rows &= !1;
    if rows < 2 {
        return Err(Error::InvalidInput(format!(
            "an image {width} pixels wide does not fit this device's {max_binding}-byte buffers even two rows at a time"
        )));
    }
    let mut bands = Vec::new();
    let mut y = 0;
    while y < height {
        let end = (y + rows).min(height);
        bands.push(Band {
            out: (y, end),
            input: (y.saturating_sub(halo), (end + halo).min(height)),
        });
        y = end;
    }
    Ok(bands)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_cover_every_row_once_with_halo_and_even_starts() {
        for (h, cap) in [(37, Some(6)), (100, Some(10)), (5, None), (4000, Some(333))] {
            let bands = plan(640, h, 2, 8, 1 << 30, cap).unwrap();
            let mut next = 0;
            for b in &bands {
                assert_eq!(b.out.0, next);
                assert_eq!(b.out.0 % 2, 0);
                assert_eq!(b.input.0, b.out.0.saturating_sub(2));
                assert_eq!(b.input.1, (b.out.1 + 2).min(h));
                next = b.out.1;
            }
            assert_eq!(next, h);
        }
    }

    #[test]
    fn bands_respect_binding_limit_and_reject_impossible_widths() {
        let bands = plan(1000, 1000, 2, 8, 8000 * 50, None).unwrap();
        assert!(bands
            .iter()
            .all(|b| b.input_rows() as u64 * 1000 * 8 <= 8000 * 50));
        assert!(matches!(
            plan(1_000_000, 10, 2, 8, 1 << 20, None),
            Err(Error::InvalidInput(_))
        ));
    }
}
