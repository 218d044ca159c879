//! X-Trans colour filter arrays (Fujifilm): a 6×6 repeat in which every row and every column holds
//! all three colours and 20 of the 36 sites are green (2×2 green blocks plus one green between
//! them). Kept apart from the 2×2 [`Cfa`](super::Cfa) so that the Bayer paths stay as they are: a
//! frame is X-Trans when `Frame::xtrans` is set, and only the X-Trans demosaicers read it.

/// A 6×6 X-Trans layout, row-major from the top-left pixel: 0 = R, 1 = G, 2 = B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct XTrans {
    colors: [u8; 36],
}

impl XTrans {
    /// Fujifilm's X-Trans layout in the phase dcraw and LibRaw document (GGRGGB / GGBGGR /
    /// BRGRBG / GGBGGR / GGRGGB / RBGBRG); the other phases are its shifts.
    pub const FUJIFILM: XTrans = XTrans {
        colors: [
            1, 1, 0, 1, 1, 2, //
            1, 1, 2, 1, 1, 0, //
            2, 0, 1, 0, 2, 1, //
            1, 1, 2, 1, 1, 0, //
            1, 1, 0, 1, 1, 2, //
            0, 2, 1, 2, 0, 1, //
        ],
    };

    /// The layout with these 36 colours (row-major), if it is X-Trans-like: only R, G, B, 20
    /// greens, and all three colours in every row and every column.
    pub fn from_colors(colors: [u8; 36]) -> Option<XTrans> {
        let all_three = |line: &mut dyn Iterator<Item = u8>| {
            line.fold(0u8, |seen, c| seen | 1 << c.min(3)) == 0b111
        };
        let ok = colors.iter().all(|&c| c <= 2)
            && colors.iter().filter(|&&c| c == 1).count() == 20
            && (0..6).all(|r| all_three(&mut (0..6).map(|k| colors[r * 6 + k])))
            && (0..6).all(|k| all_three(&mut (0..6).map(|r| colors[r * 6 + k])));
        ok.then_some(XTrans { colors })
    }

    /// Parse 36 letters R/G/B (row-major; '/', ' ', ',' between rows allowed), or "xtrans" for
    /// [`XTrans::FUJIFILM`].
    pub fn parse(s: &str) -> Option<XTrans> {
        if s.eq_ignore_ascii_case("xtrans") || s.eq_ignore_ascii_case("x-trans") {
            return Some(XTrans::FUJIFILM);
        }
        let colors: Option<Vec<u8>> = s
            .bytes()
            .filter(|b| !matches!(b, b'/' | b' ' | b','))
            .map(|b| match b.to_ascii_uppercase() {
                b'R' => Some(0),
                b'G' => Some(1),
                b'B' => Some(2),
                _ => None,
            })
            .collect();
        XTrans::from_colors(colors?.try_into().ok()?)
    }

    /// Colour (0 = R, 1 = G, 2 = B) at pixel (x, y).
    pub fn color_at(self, x: usize, y: usize) -> usize {
        self.colors[(y % 6) * 6 + x % 6] as usize
    }

    /// The pattern seen from pixel (dx, dy) on, as after cropping.
    pub fn shifted(self, dx: usize, dy: usize) -> XTrans {
        let mut colors = [0u8; 36];
        for (i, c) in colors.iter_mut().enumerate() {
            *c = self.color_at(i % 6 + dx, i / 6 + dy) as u8;
        }
        XTrans { colors }
    }

    /// The 36 colours, row-major.
    pub fn colors(self) -> [u8; 36] {
        self.colors
    }

    /// Six rows of letters separated by '/', e.g. "GGRGGB/GGBGGR/...".
    pub fn name(self) -> String {
        self.colors
            .chunks(6)
            .map(|row| row.iter().map(|&c| ['R', 'G', 'B'][c as usize]).collect())
            .collect::<Vec<String>>()
            .join("/")
    }

    /// Packed for shaders: 2 bits per site, site i = y·6 + x in word i / 12 at bits 2(i % 12).
    pub(crate) fn packed(self) -> [u32; 3] {
        let mut words = [0u32; 3];
        for (i, &c) in self.colors.iter().enumerate() {
            words[i / 12] |= (c as u32) << (2 * (i % 12));
        }
        words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three X-Trans layouts rawloader 0.37 knows (data/cameras/fuji/*.toml).
    const RAWLOADER: [&str; 3] = [
        "GGRGGBGGBGGRBRGRBGGGBGGRGGRGGBRBGBRG",
        "RBGBRGGGRGGBGGBGGRBRGRBGGGBGGRGGRGGB",
        "GBGGRGRGRBGBGBGGRGGRGGBGBGBRGRGRGGBG",
    ];

    #[test]
    fn rawloader_layouts_are_x_trans_and_phases_round_trip() {
        for name in RAWLOADER {
            let x = XTrans::parse(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(x.name().replace('/', ""), name);
        }
        assert_eq!(XTrans::parse(RAWLOADER[0]), Some(XTrans::FUJIFILM));
        // The second is the first five rows down; every shift stays X-Trans-like.
        assert_eq!(
            XTrans::FUJIFILM.shifted(0, 5),
            XTrans::parse(RAWLOADER[1]).unwrap()
        );
        for (dx, dy) in [(1, 0), (2, 3), (5, 5)] {
            let s = XTrans::FUJIFILM.shifted(dx, dy);
            assert_eq!(XTrans::from_colors(s.colors()), Some(s));
            assert_eq!(s.shifted(6 - dx, 6 - dy), XTrans::FUJIFILM);
        }
        // X-Trans maps to itself under shifts of (3, 3).
        assert_eq!(XTrans::FUJIFILM.shifted(3, 3), XTrans::FUJIFILM);
    }

    #[test]
    fn non_x_trans_6x6_patterns_are_refused() {
        // Nonacell (3×3 blocks of a Bayer pattern): 18 greens, rows without blue.
        let mut nona = [0u8; 36];
        for (i, c) in nona.iter_mut().enumerate() {
            *c = [0, 1, 1, 2][(i / 6 / 3) * 2 + (i % 6) / 3];
        }
        assert_eq!(XTrans::from_colors(nona), None);
        assert_eq!(XTrans::parse("RGGB"), None);
        assert_eq!(XTrans::from_colors([1; 36]), None);
    }

    #[test]
    fn packing_matches_color_at() {
        let x = XTrans::FUJIFILM.shifted(1, 2);
        let p = x.packed();
        for i in 0..36 {
            assert_eq!(
                (p[i / 12] >> (2 * (i % 12)) & 3) as usize,
                x.color_at(i % 6, i / 6)
            );
        }
    }
}
