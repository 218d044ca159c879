//! DNG opcode lists (DNG 1.7 specification, chapter 7): OpcodeList1 (tag 51008, on the raw values
//! as read), OpcodeList2 (51009, on the linearized CFA mosaic) and OpcodeList3 (51022, on the
//! demosaiced RGB). Parsed here from the big-endian list format with every count and size checked
//! against the bytes present (the lists come from untrusted files); applied on the GPU by
//! `stages::opcodes`.
//!
//! Coordinates: the spec gives list 1 areas in the raw IFD's full image and lists 2 and 3 areas in
//! the active area (the stage-2 and stage-3 images). [`OpcodeLists::shifted`] moves them into the
//! frame's own coordinates once we have cropped, so the kernels only ever see frame pixels.

use std::path::Path;

use crate::error::{Error, Result};

/// Tag numbers of the three lists.
pub(crate) const OPCODE_LIST_1: u16 = 51008;
pub(crate) const OPCODE_LIST_2: u16 = 51009;
pub(crate) const OPCODE_LIST_3: u16 = 51022;

/// Opcode ids of DNG 1.7, for naming them in errors.
const NAMES: [&str; 15] = [
    "",
    "WarpRectilinear",
    "WarpFisheye",
    "FixVignetteRadial",
    "FixBadPixelsConstant",
    "FixBadPixelsList",
    "TrimBounds",
    "MapTable",
    "MapPolynomial",
    "GainMap",
    "DeltaPerRow",
    "DeltaPerColumn",
    "ScalePerRow",
    "ScalePerColumn",
    "WarpRectilinear2",
];

/// The spec's name of opcode `id`.
pub(crate) fn opcode_name(id: u32) -> &'static str {
    NAMES
        .get(id as usize)
        .filter(|n| !n.is_empty())
        .unwrap_or(&"unknown")
}

/// A rectangle of the image, with the planes and the pixel pitch an opcode applies to (DNG 1.7
/// §7 "AreaSpec"). Rows `top, top + row_pitch, ...` below `bottom` are processed, likewise
/// columns. In frame coordinates (may reach outside the frame before [`Area::clipped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Area {
    pub top: i64,
    pub left: i64,
    pub bottom: i64,
    pub right: i64,
    pub plane: u32,
    pub planes: u32,
    pub row_pitch: u32,
    pub col_pitch: u32,
}

impl Area {
    /// The part inside a `width`×`height` frame, start moved forward to keep the pitch's phase;
    /// `None` when no processed pixel is inside.
    pub fn clipped(&self, width: u32, height: u32) -> Option<Area> {
        let first = |start: i64, pitch: u32| {
            if start >= 0 {
                start
            } else {
                start + ((-start) as u64).div_ceil(pitch as u64) as i64 * pitch as i64
            }
        };
        let a = Area {
            top: first(self.top, self.row_pitch),
            left: first(self.left, self.col_pitch),
            bottom: self.bottom.min(height as i64),
            right: self.right.min(width as i64),
            ..*self
        };
        (a.top < a.bottom && a.left < a.right).then_some(a)
    }

    fn shifted(self, dx: i64, dy: i64) -> Area {
        Area {
            top: self.top - dy,
            left: self.left - dx,
            bottom: self.bottom - dy,
            right: self.right - dx,
            ..self
        }
    }
}

/// A rectangle in frame coordinates: the image an opcode's relative coordinates refer to (the
/// stage image of its list), which is larger than the frame when we cropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    pub top: i64,
    pub left: i64,
    pub bottom: i64,
    pub right: i64,
}

/// GainMap (id 9): per-pixel gains bilinearly interpolated from a grid over the image.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GainMap {
    pub area: Area,
    /// The stage image: map coordinates are relative to it (0 at its top/left, 1 at its
    /// bottom/right edge).
    pub bounds: Bounds,
    pub points_v: u32,
    pub points_h: u32,
    pub spacing_v: f64,
    pub spacing_h: f64,
    pub origin_v: f64,
    pub origin_h: f64,
    pub map_planes: u32,
    /// `points_v × points_h × map_planes` gains, row by row, planes innermost.
    pub gains: Vec<f32>,
    /// The map's values are added, not multiplied (DeltaPerRow/Column).
    pub additive: bool,
}

/// FixBadPixelsList (id 5): pixels and rectangles known bad.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BadPixelList {
    /// The Bayer layout the spec's BayerPhase names, seen from frame pixel (0, 0).
    pub phase: crate::Cfa,
    /// (row, column) in frame coordinates.
    pub points: Vec<[i64; 2]>,
    /// top, left, bottom, right in frame coordinates.
    pub rects: Vec<[i64; 4]>,
}

/// WarpRectilinear (id 1): radial and tangential lens distortion, per plane.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WarpRectilinear {
    /// kr0..kr3, kt0, kt1 for each plane (one set applies to every plane).
    pub coefficients: Vec<[f64; 6]>,
    /// Optical centre, relative to `bounds` (0 left/top edge, 1 right/bottom edge).
    pub center: [f64; 2],
    pub bounds: Bounds,
}

/// One opcode we can apply, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Opcode {
    GainMap(GainMap),
    /// FixBadPixelsConstant (id 4): pixels whose raw value equals `constant` are bad.
    FixBadPixelsConstant {
        constant: u32,
        phase: crate::Cfa,
    },
    FixBadPixelsList(BadPixelList),
    /// MapPolynomial (id 8): value ← Σ coefficients[i]·valueⁱ.
    MapPolynomial {
        area: Area,
        coefficients: Vec<f64>,
    },
    /// MapTable (id 7): value ← table[value] on the 16-bit scale.
    MapTable {
        area: Area,
        table: Vec<u16>,
    },
    WarpRectilinear(WarpRectilinear),
}

impl Opcode {
    /// Rows above and below a pixel the opcode reads (bad pixels: a 5×5 window).
    pub fn halo(&self) -> u32 {
        match self {
            Opcode::FixBadPixelsConstant { .. } | Opcode::FixBadPixelsList(_) => {
                crate::stages::opcodes::bad_pixels::HALO
            }
            _ => 0,
        }
    }
}

/// The three lists of a frame, in frame coordinates.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct OpcodeLists {
    /// On the raw values as read (we apply it to the normalized mosaic, converting values to the
    /// raw scale where an opcode depends on them).
    pub list1: Vec<Opcode>,
    /// On the linearized mosaic.
    pub list2: Vec<Opcode>,
    /// On the demosaiced RGB.
    pub list3: Vec<Opcode>,
}

impl OpcodeLists {
    /// No opcode at all.
    pub fn is_empty(&self) -> bool {
        self.list1.is_empty() && self.list2.is_empty() && self.list3.is_empty()
    }

    /// Coordinates moved by a crop: list 1 by (`dx1`, `dy1`) (from the raw image's top-left),
    /// lists 2 and 3 by (`dx23`, `dy23`) (from the active area's top-left).
    pub fn shifted(self, (dx1, dy1): (i64, i64), (dx23, dy23): (i64, i64)) -> OpcodeLists {
        let shift = |list: Vec<Opcode>, dx: i64, dy: i64| -> Vec<Opcode> {
            list.into_iter()
                .map(|op| shift_opcode(op, dx, dy))
                .collect()
        };
        OpcodeLists {
            list1: shift(self.list1, dx1, dy1),
            list2: shift(self.list2, dx23, dy23),
            list3: shift(self.list3, dx23, dy23),
        }
    }
}

fn shift_bounds(b: Bounds, dx: i64, dy: i64) -> Bounds {
    Bounds {
        top: b.top - dy,
        left: b.left - dx,
        bottom: b.bottom - dy,
        right: b.right - dx,
    }
}

fn shift_opcode(op: Opcode, dx: i64, dy: i64) -> Opcode {
    // The Bayer phase of the pixel that becomes (0, 0); a negative shift never happens (crops
    // only move the origin right and down), rem_euclid keeps it total anyway.
    let phase = |cfa: crate::Cfa| cfa.shifted(dx.rem_euclid(2) as usize, dy.rem_euclid(2) as usize);
    match op {
        Opcode::GainMap(mut g) => {
            g.area = g.area.shifted(dx, dy);
            g.bounds = shift_bounds(g.bounds, dx, dy);
            Opcode::GainMap(g)
        }
        Opcode::FixBadPixelsConstant { constant, phase: p } => Opcode::FixBadPixelsConstant {
            constant,
            phase: phase(p),
        },
        Opcode::FixBadPixelsList(l) => Opcode::FixBadPixelsList(BadPixelList {
            phase: phase(l.phase),
            points: l.points.iter().map(|[r, c]| [r - dy, c - dx]).collect(),
            rects: l
                .rects
                .iter()
                .map(|[t, l, b, r]| [t - dy, l - dx, b - dy, r - dx])
                .collect(),
        }),
        Opcode::MapPolynomial { area, coefficients } => Opcode::MapPolynomial {
            area: area.shifted(dx, dy),
            coefficients,
        },
        Opcode::MapTable { area, table } => Opcode::MapTable {
            area: area.shifted(dx, dy),
            table,
        },
        Opcode::WarpRectilinear(mut w) => {
            w.bounds = shift_bounds(w.bounds, dx, dy);
            Opcode::WarpRectilinear(w)
        }
    }
}

/// Which list an opcode is in: what it may be applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// OpcodeList1: raw values.
    Raw,
    /// OpcodeList2: linear mosaic.
    Linear,
    /// OpcodeList3: demosaiced RGB.
    Rgb,
}

impl Stage {
    fn tag_name(self) -> &'static str {
        match self {
            Stage::Raw => "OpcodeList1",
            Stage::Linear => "OpcodeList2",
            Stage::Rgb => "OpcodeList3",
        }
    }

    /// Whether we can apply opcode `id` in this list: bad pixels only on the mosaic, warps only
    /// on RGB, value maps anywhere.
    fn supports(self, id: u32) -> bool {
        match id {
            7..=13 => true,
            4 | 5 => self != Stage::Rgb,
            1 => self == Stage::Rgb,
            _ => false,
        }
    }
}

/// Largest MapPolynomial degree the spec allows.
const MAX_DEGREE: u32 = 8;
/// The spec's limit on planes (kMaxColorPlanes of the reference implementation).
const MAX_PLANES: u32 = 4;

/// Parse one opcode list. `bounds` is the list's stage image (its width and height) in the
/// list's own coordinates; `path` names the file in errors.
pub(crate) fn parse_list(
    path: &Path,
    bytes: &[u8],
    stage: Stage,
    (width, height): (u32, u32),
) -> Result<Vec<Opcode>> {
    let list = stage.tag_name();
    let corrupt = |what: String| Error::decode(path, format!("{list}: {what}"));
    let mut r = Reader::new(bytes);
    let count = r
        .u32()
        .ok_or_else(|| corrupt("the list is empty (no opcode count)".into()))?;
    // Each opcode has a 16-byte header: a count beyond that is a lie, refused before any work.
    if count as u64 * 16 > r.remaining() as u64 {
        return Err(corrupt(format!(
            "{count} opcodes cannot fit in the {} bytes of the list",
            bytes.len()
        )));
    }
    let bounds = Bounds {
        top: 0,
        left: 0,
        bottom: height as i64,
        right: width as i64,
    };
    let mut ops = Vec::new();
    for index in 0..count {
        let (Some(id), Some(_version), Some(flags), Some(size)) =
            (r.u32(), r.u32(), r.u32(), r.u32())
        else {
            return Err(corrupt(format!("opcode {index} is truncated")));
        };
        let name = opcode_name(id);
        let Some(params) = r.take(size as usize) else {
            return Err(corrupt(format!(
                "opcode {index} ({name}, id {id}) claims {size} parameter bytes but only {} remain",
                r.remaining()
            )));
        };
        let optional = flags & 1 != 0;
        if !stage.supports(id) {
            if optional {
                continue;
            }
            return Err(Error::unsupported(
                path,
                format!(
                    "{list} holds opcode {id} ({name}), which the file marks as required and burstpipe cannot apply{}",
                    if name == "unknown" { " (an opcode newer than DNG 1.7?)" } else { "" }
                ),
            ));
        }
        let bad = |what: &str| corrupt(format!("opcode {index} ({name}): {what}"));
        let op = parse_opcode(id, params, bounds).map_err(|e| bad(&e))?;
        ops.push(op);
    }
    if r.remaining() != 0 {
        return Err(corrupt(format!(
            "{} bytes follow the last of its {count} opcodes",
            r.remaining()
        )));
    }
    Ok(ops)
}

/// One opcode's parameters; the error says what is wrong in them.
fn parse_opcode(id: u32, params: &[u8], bounds: Bounds) -> Result<Opcode, String> {
    let mut r = Reader::new(params);
    let short = || "the parameters are truncated".to_string();
    let op = match id {
        9 => {
            let area = read_area(&mut r)?;
            let points_v = r.u32().ok_or_else(short)?;
            let points_h = r.u32().ok_or_else(short)?;
            let spacing_v = r.f64().ok_or_else(short)?;
            let spacing_h = r.f64().ok_or_else(short)?;
            let origin_v = r.f64().ok_or_else(short)?;
            let origin_h = r.f64().ok_or_else(short)?;
            let map_planes = r.u32().ok_or_else(short)?;
            if points_v == 0 || points_h == 0 || !(1..=MAX_PLANES).contains(&map_planes) {
                return Err(format!(
                    "a map of {points_v}×{points_h} points and {map_planes} planes"
                ));
            }
            let all = [spacing_v, spacing_h, origin_v, origin_h];
            if all.iter().any(|v| !v.is_finite())
                || (points_v > 1 && spacing_v <= 0.0)
                || (points_h > 1 && spacing_h <= 0.0)
            {
                return Err(format!(
                    "map spacing {spacing_v}, {spacing_h} or origin {origin_v}, {origin_h} is invalid"
                ));
            }
            let n = (points_v as u64)
                .checked_mul(points_h as u64)
                .and_then(|n| n.checked_mul(map_planes as u64))
                .filter(|&n| n.checked_mul(4) == Some(r.remaining() as u64))
                .ok_or_else(|| {
                    format!(
                        "a map of {points_v}×{points_h}×{map_planes} gains does not match the {} bytes left",
                        r.remaining()
                    )
                })?;
            let gains: Vec<f32> = (0..n).map(|_| r.f32().unwrap_or(f32::NAN)).collect();
            if gains.iter().any(|g| !g.is_finite()) {
                return Err("the map holds a gain that is not a finite number".into());
            }
            Opcode::GainMap(GainMap {
                area,
                bounds,
                points_v,
                points_h,
                spacing_v,
                spacing_h,
                origin_v,
                origin_h,
                map_planes,
                gains,
                additive: false,
            })
        }
        7 => {
            let area = read_area(&mut r)?;
            let n = r.u32().ok_or_else(short)?;
            if !(1..=65536).contains(&n) || n as u64 * 2 != r.remaining() as u64 {
                return Err(format!("a table of {n} entries in {} bytes", r.remaining()));
            }
            let table = (0..n)
                .map(|_| r.take(2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]])))
                .collect();
            Opcode::MapTable { area, table }
        }
        10..=13 => {
            // DeltaPerRow, DeltaPerColumn, ScalePerRow, ScalePerColumn: a value per processed
            // row (column), i.e. a one-dimensional map with a point on each, spaced by the pitch.
            let area = read_area(&mut r)?;
            let count = r.u32().ok_or_else(short)?;
            let rows = matches!(id, 10 | 12); // DeltaPerRow, ScalePerRow
            let (span, pitch) = match rows {
                true => (area.bottom - area.top, area.row_pitch),
                false => (area.right - area.left, area.col_pitch),
            };
            let need = (span as u64).div_ceil(pitch as u64);
            if count as u64 != need || count as u64 * 4 != r.remaining() as u64 {
                return Err(format!(
                    "{count} values where the area has {need} {} ({} bytes left)",
                    if rows { "rows" } else { "columns" },
                    r.remaining()
                ));
            }
            let values: Vec<f32> = (0..count).map(|_| r.f32().unwrap_or(f32::NAN)).collect();
            if values.iter().any(|v| !v.is_finite()) {
                return Err("a value is not a finite number".into());
            }
            // Map index of pixel y: ((y + ½ - top of image) / H - origin) / spacing, which is
            // (y - area top) / pitch with these (likewise for columns).
            let size = |a: i64, b: i64| (b - a).max(1) as f64;
            let (h, w) = (
                size(bounds.top, bounds.bottom),
                size(bounds.left, bounds.right),
            );
            let one_d =
                |start: i64, extent: f64| ((start as f64 + 0.5) / extent, pitch as f64 / extent);
            let (origin_v, spacing_v, origin_h, spacing_h, points_v, points_h) = match rows {
                true => {
                    let (o, s) = one_d(area.top, h);
                    (o, s, 0.0, 1.0, count.max(1), 1)
                }
                false => {
                    let (o, s) = one_d(area.left, w);
                    (0.0, 1.0, o, s, 1, count.max(1))
                }
            };
            if count == 0 {
                return Err("no values".into());
            }
            Opcode::GainMap(GainMap {
                area,
                bounds,
                points_v,
                points_h,
                spacing_v,
                spacing_h,
                origin_v,
                origin_h,
                map_planes: 1,
                gains: values,
                additive: id < 12,
            })
        }
        4 => {
            let constant = r.u32().ok_or_else(short)?;
            let phase = bayer_phase(r.u32().ok_or_else(short)?)?;
            Opcode::FixBadPixelsConstant { constant, phase }
        }
        5 => {
            let phase = bayer_phase(r.u32().ok_or_else(short)?)?;
            let points = r.u32().ok_or_else(short)? as u64;
            let rects = r.u32().ok_or_else(short)? as u64;
            if points * 8 + rects * 16 != r.remaining() as u64 {
                return Err(format!(
                    "{points} bad points and {rects} bad rectangles do not match the {} bytes left",
                    r.remaining()
                ));
            }
            let mut long = || r.u32().map(|v| v as i64).ok_or_else(short);
            let points = (0..points)
                .map(|_| Ok([long()?, long()?]))
                .collect::<Result<Vec<_>, String>>()?;
            let rects = (0..rects)
                .map(|_| Ok([long()?, long()?, long()?, long()?]))
                .collect::<Result<Vec<_>, String>>()?;
            Opcode::FixBadPixelsList(BadPixelList {
                phase,
                points,
                rects,
            })
        }
        8 => {
            let area = read_area(&mut r)?;
            let degree = r.u32().ok_or_else(short)?;
            if degree > MAX_DEGREE {
                return Err(format!("degree {degree} is above the spec's {MAX_DEGREE}"));
            }
            if r.remaining() != (degree as usize + 1) * 8 {
                return Err(format!(
                    "degree {degree} needs {} coefficient bytes, {} are left",
                    (degree + 1) * 8,
                    r.remaining()
                ));
            }
            let coefficients: Vec<f64> =
                (0..=degree).map(|_| r.f64().unwrap_or(f64::NAN)).collect();
            if coefficients.iter().any(|c| !c.is_finite()) {
                return Err("a coefficient is not a finite number".into());
            }
            Opcode::MapPolynomial { area, coefficients }
        }
        1 => {
            let planes = r.u32().ok_or_else(short)?;
            if !(1..=MAX_PLANES).contains(&planes) {
                return Err(format!("{planes} planes"));
            }
            if r.remaining() != planes as usize * 48 + 16 {
                return Err(format!(
                    "{planes} planes need {} bytes of coefficients, {} are left",
                    planes * 48 + 16,
                    r.remaining()
                ));
            }
            let mut f = || r.f64().unwrap_or(f64::NAN);
            let coefficients: Vec<[f64; 6]> = (0..planes).map(|_| [(); 6].map(|_| f())).collect();
            let center = [f(), f()];
            if coefficients
                .iter()
                .flatten()
                .chain(&center)
                .any(|v| !v.is_finite())
            {
                return Err("a coefficient is not a finite number".into());
            }
            Opcode::WarpRectilinear(WarpRectilinear {
                coefficients,
                center,
                bounds,
            })
        }
        _ => unreachable!("Stage::supports lists the opcodes parsed here"),
    };
    if matches!(id, 4 | 5 | 1 | 9) && r.remaining() != 0 {
        return Err(format!(
            "{} unexpected bytes after the parameters",
            r.remaining()
        ));
    }
    Ok(op)
}

/// AreaSpec: Top, Left, Bottom, Right, Plane, Planes, RowPitch, ColPitch (LONGs).
fn read_area(r: &mut Reader) -> Result<Area, String> {
    let mut v = [0u32; 8];
    for x in &mut v {
        *x = r.u32().ok_or("the parameters are truncated")?;
    }
    let [top, left, bottom, right, plane, planes, row_pitch, col_pitch] = v;
    if top > bottom || left > right || planes == 0 || row_pitch == 0 || col_pitch == 0 {
        return Err(format!(
            "area {top},{left}–{bottom},{right} planes {plane}+{planes} pitch {row_pitch}×{col_pitch} is invalid"
        ));
    }
    Ok(Area {
        top: top as i64,
        left: left as i64,
        bottom: bottom as i64,
        right: right as i64,
        plane,
        planes,
        row_pitch,
        col_pitch,
    })
}

/// BayerPhase: 0 red, 1 green then red, 2 green then blue, 3 blue at the top-left.
fn bayer_phase(v: u32) -> Result<crate::Cfa, String> {
    use crate::Cfa::*;
    [Rggb, Grbg, Gbrg, Bggr]
        .get(v as usize)
        .copied()
        .ok_or_else(|| format!("BayerPhase {v} is not 0–3"))
}

/// Big-endian reads that stop at the end of the bytes.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }
    fn remaining(&self) -> usize {
        self.bytes.len()
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes(b.try_into().unwrap_or_default()))
    }
    fn f32(&mut self) -> Option<f32> {
        self.u32().map(f32::from_bits)
    }
    fn f64(&mut self) -> Option<f64> {
        self.take(8)
            .map(|b| f64::from_be_bytes(b.try_into().unwrap_or_default()))
    }
}

/// Writing opcode lists (for tests that build DNGs with known opcodes).
#[cfg(test)]
pub(crate) mod write {
    /// One opcode: id, flags (bit 0 optional), parameter bytes.
    pub struct Raw {
        pub id: u32,
        pub flags: u32,
        pub params: Vec<u8>,
    }

    impl Raw {
        /// A required opcode (flags 0).
        pub fn new(id: u32, params: Params) -> Raw {
            Raw {
                id,
                flags: 0,
                params: params.0,
            }
        }
    }

    /// Big-endian parameter bytes.
    #[derive(Default)]
    pub struct Params(pub Vec<u8>);
    impl Params {
        pub fn u32(mut self, v: u32) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        pub fn f64(mut self, v: f64) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        pub fn f32(mut self, v: f32) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        pub fn u32s(self, vs: &[u32]) -> Self {
            vs.iter().fold(self, |p, &v| p.u32(v))
        }
        pub fn f64s(self, vs: &[f64]) -> Self {
            vs.iter().fold(self, |p, &v| p.f64(v))
        }
        pub fn f32s(self, vs: &[f32]) -> Self {
            vs.iter().fold(self, |p, &v| p.f32(v))
        }
        pub fn u16s(mut self, vs: &[u16]) -> Self {
            for v in vs {
                self.0.extend_from_slice(&v.to_be_bytes());
            }
            self
        }
        /// AreaSpec.
        pub fn area(
            self,
            [t, l, b, r]: [u32; 4],
            plane: u32,
            planes: u32,
            pitch: [u32; 2],
        ) -> Self {
            self.u32s(&[t, l, b, r, plane, planes, pitch[0], pitch[1]])
        }
    }

    /// A whole list: count, then each opcode's header (DNG version 1.3) and parameters.
    pub fn list(ops: &[Raw]) -> Vec<u8> {
        let mut out = (ops.len() as u32).to_be_bytes().to_vec();
        for op in ops {
            for v in [op.id, 0x0103_0000, op.flags, op.params.len() as u32] {
                out.extend_from_slice(&v.to_be_bytes());
            }
            out.extend_from_slice(&op.params);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::write::{list, Params, Raw};
    use super::*;

    fn parse(bytes: &[u8], stage: Stage) -> Result<Vec<Opcode>> {
        parse_list(Path::new("x.dng"), bytes, stage, (100, 80))
    }

    fn gain_map(points: [u32; 2], planes: u32, gains: usize) -> Raw {
        let mut p = Params::default()
            .area([0, 0, 80, 100], 0, 1, [1, 1])
            .u32s(&[points[0], points[1]])
            .f64s(&[0.5, 0.5, 0.0, 0.0])
            .u32(planes);
        for i in 0..gains {
            p = p.f32(1.0 + i as f32 / 10.0);
        }
        Raw::new(9, p)
    }

    #[test]
    fn every_supported_opcode_parses_with_its_parameters() {
        let poly = Raw::new(
            8,
            Params::default()
                .area([2, 4, 60, 90], 0, 1, [2, 2])
                .u32(2)
                .f64s(&[0.01, 0.9, 0.1]),
        );
        let constant = Raw::new(4, Params::default().u32s(&[0, 1]));
        let bad_list = Raw::new(
            5,
            Params::default().u32s(&[3, 2, 1, 10, 11, 20, 21, 30, 31, 32, 33]),
        );
        let bytes = list(&[gain_map([3, 3], 1, 9), poly, constant, bad_list]);
        let ops = parse(&bytes, Stage::Linear).unwrap();
        assert_eq!(ops.len(), 4);
        let Opcode::GainMap(g) = &ops[0] else {
            panic!("{:?}", ops[0])
        };
        assert_eq!((g.points_v, g.points_h, g.map_planes), (3, 3, 1));
        assert_eq!(g.gains[8], 1.8);
        assert_eq!(g.bounds.right, 100);
        assert_eq!(
            ops[1],
            Opcode::MapPolynomial {
                area: Area {
                    top: 2,
                    left: 4,
                    bottom: 60,
                    right: 90,
                    plane: 0,
                    planes: 1,
                    row_pitch: 2,
                    col_pitch: 2
                },
                coefficients: vec![0.01, 0.9, 0.1]
            }
        );
        assert_eq!(
            ops[2],
            Opcode::FixBadPixelsConstant {
                constant: 0,
                phase: crate::Cfa::Grbg
            }
        );
        let Opcode::FixBadPixelsList(l) = &ops[3] else {
            panic!()
        };
        assert_eq!(l.phase, crate::Cfa::Bggr);
        assert_eq!(l.points, vec![[10, 11], [20, 21]]);
        assert_eq!(l.rects, vec![[30, 31, 32, 33]]);

        let warp = Raw::new(
            1,
            Params::default()
                .u32(1)
                .f64s(&[1.0, -0.1, 0.0, 0.0, 0.001, 0.0, 0.5, 0.4]),
        );
        let ops = parse(&list(&[warp]), Stage::Rgb).unwrap();
        let Opcode::WarpRectilinear(w) = &ops[0] else {
            panic!()
        };
        assert_eq!(w.coefficients, vec![[1.0, -0.1, 0.0, 0.0, 0.001, 0.0]]);
        assert_eq!(w.center, [0.5, 0.4]);
    }

    #[test]
    fn truncated_lists_are_decode_errors_naming_the_list() {
        let full = list(&[gain_map([3, 3], 1, 9)]);
        for cut in [0, 2, 4, 10, 19, 20, 60, full.len() - 1] {
            let e = parse(&full[..cut], Stage::Linear).unwrap_err();
            assert!(
                matches!(&e, Error::Decode { reason, .. } if reason.starts_with("OpcodeList2")),
                "cut at {cut}: {e}"
            );
        }
        // Trailing bytes after the last opcode are corruption too.
        let mut long = full.clone();
        long.push(0);
        assert!(matches!(
            parse(&long, Stage::Linear),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn absurd_counts_are_refused_before_allocating() {
        // An opcode count no list of this size can hold.
        let e = parse(&u32::MAX.to_be_bytes(), Stage::Raw).unwrap_err();
        assert!(e.to_string().contains("cannot fit"), "{e}");
        // A gain map declaring 65536×65536×4 gains in a few bytes.
        let e = parse(&list(&[gain_map([65536, 65536], 4, 1)]), Stage::Linear).unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
        // A point count whose bytes overflow 32 bits; a polynomial of degree 2^32 - 1.
        let bad = Raw::new(5, Params::default().u32s(&[0, u32::MAX, u32::MAX]));
        assert!(matches!(
            parse(&list(&[bad]), Stage::Raw),
            Err(Error::Decode { .. })
        ));
        let poly = Raw::new(
            8,
            Params::default()
                .area([0, 0, 1, 1], 0, 1, [1, 1])
                .u32(u32::MAX),
        );
        assert!(matches!(
            parse(&list(&[poly]), Stage::Raw),
            Err(Error::Decode { .. })
        ));
        // Zero pitch would loop forever; bottom above top is not an area.
        let poly = Raw::new(
            8,
            Params::default()
                .area([0, 0, 1, 1], 0, 1, [0, 1])
                .u32(0)
                .f64(1.0),
        );
        assert!(matches!(
            parse(&list(&[poly]), Stage::Raw),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn unknown_optional_opcodes_are_skipped_and_required_ones_refused_by_name() {
        let fisheye = |flags| Raw {
            id: 2,
            flags,
            params: vec![0; 20],
        };
        let future = |flags| Raw {
            id: 99,
            flags,
            params: vec![1, 2, 3],
        };
        let ops = parse(
            &list(&[fisheye(1), gain_map([2, 2], 1, 4), future(3)]),
            Stage::Linear,
        )
        .unwrap();
        assert_eq!(ops.len(), 1);
        assert!(matches!(ops[0], Opcode::GainMap(_)));

        let e = parse(&list(&[fisheye(0)]), Stage::Rgb).unwrap_err();
        match &e {
            Error::Unsupported { what, path } => {
                assert!(
                    what.contains("OpcodeList3 holds opcode 2 (WarpFisheye)"),
                    "{what}"
                );
                assert_eq!(path, Path::new("x.dng"));
            }
            e => panic!("{e}"),
        }
        let e = parse(&list(&[future(2)]), Stage::Raw).unwrap_err();
        assert!(
            matches!(&e, Error::Unsupported { what, .. } if what.contains("opcode 99 (unknown)")),
            "{e}"
        );
        // A bad-pixel opcode on RGB (list 3) is not something we can apply.
        let constant = Raw::new(4, Params::default().u32s(&[0, 0]));
        assert!(matches!(
            parse(&list(&[constant]), Stage::Rgb),
            Err(Error::Unsupported { .. })
        ));
    }

    #[test]
    fn per_row_and_column_scales_and_deltas_map_each_processed_line_to_its_value() {
        use crate::stages::opcodes::{gain_map, Band, Layout, ToRaw};
        let (w, h) = (100u32, 80u32);
        // ScalePerRow over rows 2..9 at pitch 3 (rows 2, 5, 8); DeltaPerColumn over columns
        // 10..20 at pitch 4 (10, 14, 18), rows 0..80.
        let scale = Raw::new(
            12,
            Params::default()
                .area([2, 0, 9, 100], 0, 1, [3, 1])
                .u32(3)
                .f32s(&[2.0, 3.0, 4.0]),
        );
        let delta = Raw::new(
            11,
            Params::default()
                .area([0, 10, 80, 20], 0, 1, [1, 4])
                .u32(3)
                .f32s(&[0.1, 0.2, 0.3]),
        );
        let ops = parse(&list(&[scale, delta]), Stage::Linear).unwrap();
        let band = Band::new(w, h, 0, Layout::MOSAIC);
        let mut img = vec![1.0f32; (w * h) as usize];
        for op in &ops {
            let Opcode::GainMap(m) = op else {
                panic!("{op:?}")
            };
            let p = gain_map::Params::new(m, band, h, ToRaw::IDENTITY).unwrap();
            gain_map::reference(&p, &m.gains, &mut img, 1);
        }
        let at = |x: u32, y: u32| img[(y * w + x) as usize];
        for (y, want) in [(2, 2.0), (5, 3.0), (8, 4.0), (3, 1.0), (11, 1.0)] {
            assert!((at(50, y) - want).abs() < 1e-5, "row {y}: {}", at(50, y));
        }
        for (x, want) in [(10, 1.1), (14, 1.2), (18, 1.3), (11, 1.0), (22, 1.0)] {
            assert!((at(x, 40) - want).abs() < 1e-5, "column {x}: {}", at(x, 40));
        }
        // A count that does not match the area is corruption.
        let short = Raw::new(
            13,
            Params::default()
                .area([0, 0, 10, 10], 0, 1, [1, 1])
                .u32(2)
                .f32s(&[1.0, 1.0]),
        );
        assert!(matches!(
            parse(&list(&[short]), Stage::Raw),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn map_tables_parse_and_refuse_sizes_that_do_not_match() {
        let table = |n: u32, entries: &[u16]| {
            let area = Params::default().area([0, 0, 80, 100], 0, 1, [1, 1]);
            Raw::new(7, area.u32(n).u16s(entries))
        };
        let ops = parse(&list(&[table(3, &[0, 1000, 65535])]), Stage::Raw).unwrap();
        assert!(matches!(&ops[0], Opcode::MapTable { table, .. } if table == &[0, 1000, 65535]));
        for bad in [table(4, &[1, 2, 3]), table(0, &[]), table(70000, &[1])] {
            assert!(matches!(
                parse(&list(&[bad]), Stage::Raw),
                Err(Error::Decode { .. })
            ));
        }
    }

    #[test]
    fn crops_shift_areas_bounds_and_bayer_phase() {
        let bytes = list(&[
            gain_map([2, 2], 1, 4),
            Raw::new(5, Params::default().u32s(&[0, 1, 0, 10, 11])),
        ]);
        let l2 = parse(&bytes, Stage::Linear).unwrap();
        let lists = OpcodeLists {
            list1: vec![],
            list2: l2,
            list3: vec![],
        }
        .shifted((8, 6), (3, 1));
        let Opcode::GainMap(g) = &lists.list2[0] else {
            panic!()
        };
        assert_eq!(
            (g.area.top, g.area.left, g.bounds.bottom, g.bounds.right),
            (-1, -3, 79, 97)
        );
        let Opcode::FixBadPixelsList(l) = &lists.list2[1] else {
            panic!()
        };
        assert_eq!(l.points, vec![[9, 8]]);
        // RGGB seen from (3, 1) is GBRG... one column right and one row down: B G / G R shifted.
        assert_eq!(l.phase, crate::Cfa::Rggb.shifted(1, 1));
        // Clipping keeps the pitch's phase.
        let a = Area {
            top: -3,
            left: -4,
            bottom: 10,
            right: 10,
            plane: 0,
            planes: 1,
            row_pitch: 2,
            col_pitch: 3,
        };
        let c = a.clipped(8, 8).unwrap();
        assert_eq!((c.top, c.left, c.bottom, c.right), (1, 2, 8, 8));
        assert!(Area { top: 9, ..a }.clipped(8, 8).is_none());
    }
}
