//! The DNG colour model (DNG 1.7 specification, chapter 6, "Mapping Camera Color Space to CIE XYZ
//! Space"): one or two calibrations (ColorMatrix, ForwardMatrix, CameraCalibration under a
//! CalibrationIlluminant), AnalogBalance, the as-shot white (AsShotNeutral or AsShotWhiteXY) and
//! BaselineExposure. It gives, for any white, the matching camera → linear sRGB matrix, so every
//! white-balance choice gets its own matrix rather than the one calibrated for D65.
//!
//! Camera formats read by rawloader carry one matrix (calibrated under D65): the same model with
//! one calibration.

/// 3×3 matrix, rows first.
pub(crate) type M3 = [[f64; 3]; 3];

const IDENTITY: M3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// CIE 1931 xy chromaticities of the standard illuminants (2° observer).
pub(crate) const XY_A: [f64; 2] = [0.44758, 0.40745];
pub(crate) const XY_B: [f64; 2] = [0.34842, 0.35161];
pub(crate) const XY_C: [f64; 2] = [0.31006, 0.31616];
pub(crate) const XY_D50: [f64; 2] = [0.34567, 0.35850];
pub(crate) const XY_D55: [f64; 2] = [0.33242, 0.34743];
pub(crate) const XY_D65: [f64; 2] = [0.31271, 0.32902];
pub(crate) const XY_D75: [f64; 2] = [0.29902, 0.31485];

/// Linear sRGB (D65) → XYZ.
const SRGB_TO_XYZ: M3 = [
    [0.4124564, 0.3575761, 0.1804375],
    [0.2126729, 0.7151522, 0.0721750],
    [0.0193339, 0.1191920, 0.9503041],
];

/// Bradford cone response matrix (Lam 1985), used by the DNG SDK for chromatic adaptation.
const BRADFORD: M3 = [
    [0.8951, 0.2664, -0.1614],
    [-0.7502, 1.7135, 0.0367],
    [0.0389, -0.0685, 1.0296],
];

/// The white of an EXIF LightSource / DNG CalibrationIlluminant tag value: its chromaticity where
/// the illuminant is a standard one, and its correlated colour temperature (for the fluorescent
/// classes, the middle of EXIF's CCT range for the class). `None` for 0 (unknown), 255 (other)
/// and values the specification does not define.
pub(crate) fn illuminant(tag: u16) -> Option<(Option<[f64; 2]>, f64)> {
    let standard = |xy: [f64; 2]| Some((Some(xy), cct_of_xy(xy)));
    match tag {
        17 | 3 => standard(XY_A),                    // Standard light A, tungsten
        18 => standard(XY_B),                        // Standard light B
        19 => standard(XY_C),                        // Standard light C
        23 => standard(XY_D50),                      // D50
        20 | 1 | 9 | 4 => standard(XY_D55),          // D55, daylight, fine weather, flash
        21 | 10 => standard(XY_D65),                 // D65, cloudy weather
        22 | 11 => standard(XY_D75),                 // D75, shade
        24 => Some((None, 3200.0)),                  // ISO studio tungsten
        12 => Some((None, (5700.0 + 7100.0) / 2.0)), // daylight fluorescent (D 5700–7100 K)
        13 => Some((None, (4600.0 + 5500.0) / 2.0)), // day white fluorescent (N)
        14 | 2 => Some((None, (3800.0 + 4500.0) / 2.0)), // cool white fluorescent (W)
        15 => Some((None, (3250.0 + 3800.0) / 2.0)), // white fluorescent (WW)
        16 => Some((None, (2600.0 + 3250.0) / 2.0)), // warm white fluorescent (L)
        _ => None,
    }
}

/// Correlated colour temperature of a chromaticity, by McCamy's cubic (1992): within a few kelvin
/// of the exact (Robertson) figure along the Planckian locus from 2000 K to 12 500 K, which is the
/// range that matters for interpolating between two calibrations. Clamped to 1000–50 000 K.
pub(crate) fn cct_of_xy([x, y]: [f64; 2]) -> f64 {
    let d = 0.1858 - y;
    if d.abs() < 1e-9 || !x.is_finite() || !y.is_finite() {
        return 50_000.0;
    }
    let n = (x - 0.3320) / d;
    let t = 449.0 * n.powi(3) + 3525.0 * n.powi(2) + 6823.3 * n + 5520.33;
    if t.is_finite() {
        t.clamp(1000.0, 50_000.0)
    } else {
        50_000.0
    }
}

/// XYZ (Y = 1) of a chromaticity.
pub(crate) fn xyz_of_xy([x, y]: [f64; 2]) -> [f64; 3] {
    [x / y, 1.0, (1.0 - x - y) / y]
}

/// Chromaticity of an XYZ colour.
pub(crate) fn xy_of_xyz([x, y, z]: [f64; 3]) -> [f64; 2] {
    let s = x + y + z;
    [x / s, y / s]
}

/// One calibration: the matrices measured under one illuminant.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Calibration {
    /// Correlated colour temperature of the calibration illuminant; `None` when the file does not
    /// say (then no interpolation is possible).
    pub cct: Option<f64>,
    /// ColorMatrix: XYZ → reference camera space.
    pub color_matrix: M3,
    /// ForwardMatrix: white-balanced camera space → XYZ D50.
    pub forward_matrix: Option<M3>,
    /// CameraCalibration: reference camera → this camera (identity when absent).
    pub camera_calibration: M3,
}

/// The white the file says the photo was taken under.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AsShot {
    /// AsShotNeutral: the camera's response to the white (R, G, B).
    Neutral([f64; 3]),
    /// AsShotWhiteXY: the white's xy chromaticity.
    WhiteXy([f64; 2]),
}

/// A camera's colour model: everything needed to recompute the camera → sRGB matrix for any white.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColourModel {
    /// One or two calibrations; with two, the lower-temperature one first.
    pub(crate) calibrations: Vec<Calibration>,
    /// AnalogBalance (1, 1, 1 when absent).
    pub(crate) analog_balance: [f64; 3],
    /// The as-shot white, when the file has a usable one.
    pub(crate) as_shot: Option<AsShot>,
    /// BaselineExposure in EV: how much to brighten the camera's linear values to a normal exposure.
    pub(crate) baseline_exposure: f64,
}

impl ColourModel {
    /// A model with one XYZ → camera matrix calibrated under D65 (rawloader's and synthetic
    /// frames), with this as-shot neutral.
    pub(crate) fn single_d65(xyz_to_cam: M3, as_shot_neutral: Option<[f64; 3]>) -> ColourModel {
        ColourModel {
            calibrations: vec![Calibration {
                cct: Some(cct_of_xy(XY_D65)),
                color_matrix: xyz_to_cam,
                forward_matrix: None,
                camera_calibration: IDENTITY,
            }],
            analog_balance: [1.0; 3],
            as_shot: as_shot_neutral
                .filter(|n| usable_neutral(*n))
                .map(AsShot::Neutral),
            baseline_exposure: 0.0,
        }
    }

    /// Weight of the first calibration for a white of temperature `cct`: linear in 1/CCT between
    /// the two calibration temperatures, clamped outside them (DNG 1.7 §6).
    fn weight(&self, cct: f64) -> f64 {
        match &self.calibrations[..] {
            [a, b] => match (a.cct, b.cct) {
                (Some(t1), Some(t2)) if (t1 - t2).abs() > 1.0 => {
                    let w = (1.0 / cct - 1.0 / t2) / (1.0 / t1 - 1.0 / t2);
                    w.clamp(0.0, 1.0)
                }
                // Temperatures unknown or equal: the second matrix (by convention the daylight one).
                _ => 0.0,
            },
            _ => 1.0,
        }
    }

    /// `f` of the first calibration weighted `w`, of the second `1 - w` (the first alone with one).
    fn blend(&self, w: f64, f: impl Fn(&Calibration) -> M3) -> M3 {
        let a = f(&self.calibrations[0]);
        let Some(c2) = self.calibrations.get(1) else {
            return a;
        };
        let b = f(c2);
        std::array::from_fn(|r| std::array::from_fn(|c| w * a[r][c] + (1.0 - w) * b[r][c]))
    }

    /// AB · CC · CM for a white of chromaticity `xy`: XYZ → this camera's RGB.
    pub(crate) fn xyz_to_camera(&self, xy: [f64; 2]) -> M3 {
        let w = self.weight(cct_of_xy(xy));
        let cm = self.blend(w, |c| c.color_matrix);
        mul(&self.ab_cc(w), &cm)
    }

    /// AnalogBalance · CameraCalibration (interpolated).
    fn ab_cc(&self, w: f64) -> M3 {
        let cc = self.blend(w, |c| c.camera_calibration);
        mul(&diag(self.analog_balance), &cc)
    }

    /// The camera's response to a white of chromaticity `xy`, normalised to G = 1.
    pub(crate) fn neutral_of_xy(&self, xy: [f64; 2]) -> [f64; 3] {
        let n = apply(&self.xyz_to_camera(xy), xyz_of_xy(xy));
        n.map(|v| v / n[1])
    }

    /// The chromaticity of the white whose camera response is `neutral`: the specification's
    /// iteration (guess D50, interpolate the matrix by the guess's temperature, map the neutral to
    /// XYZ, repeat until the guess stops moving).
    pub(crate) fn xy_of_neutral(&self, neutral: [f64; 3]) -> [f64; 2] {
        let mut xy = XY_D50;
        for _ in 0..50 {
            let Some(inv) = invert(&self.xyz_to_camera(xy)) else {
                return XY_D65;
            };
            let next = xy_of_xyz(apply(&inv, neutral));
            if !(next[0].is_finite() && next[1].is_finite() && next[1] > 0.0) {
                return xy;
            }
            let moved = (next[0] - xy[0]).abs() + (next[1] - xy[1]).abs();
            xy = next;
            if moved < 1e-9 {
                break;
            }
        }
        xy
    }

    /// The as-shot neutral (G = 1): AsShotNeutral, or the response to AsShotWhiteXY.
    pub(crate) fn as_shot_neutral(&self) -> Option<[f64; 3]> {
        let n = match self.as_shot? {
            AsShot::Neutral(n) => n.map(|v| v / n[1]),
            AsShot::WhiteXy(xy) => self.neutral_of_xy(xy),
        };
        usable_neutral(n).then_some(n)
    }

    /// The camera's response to D65 daylight (G = 1).
    pub(crate) fn daylight_neutral(&self) -> [f64; 3] {
        self.neutral_of_xy(XY_D65)
    }

    /// Camera RGB → XYZ D50 for the white whose camera response is `neutral`. With forward
    /// matrices (the specification's preferred path): FM · D · (AB · CC)⁻¹ where D = 1 / the
    /// reference neutral; otherwise (XYZ → camera)⁻¹ followed by a Bradford adaptation from the
    /// white to D50. The neutral maps to D50 white either way.
    pub(crate) fn camera_to_xyz_d50(&self, neutral: [f64; 3]) -> Option<M3> {
        let xy = self.xy_of_neutral(neutral);
        let w = self.weight(cct_of_xy(xy));
        let forward = self.calibrations.iter().all(|c| c.forward_matrix.is_some());
        if forward {
            // Files quantise forward matrices (often to 1/128), which moves their white off D50
            // by a visible cast; like the DNG SDK, scale the rows so (1, 1, 1) maps to D50.
            let mut fm = self.blend(w, |c| c.forward_matrix.unwrap_or(IDENTITY));
            let d50 = xyz_of_xy(XY_D50);
            for (r, row) in fm.iter_mut().enumerate() {
                let sum: f64 = row.iter().sum();
                if sum.abs() > 1e-6 {
                    row.iter_mut().for_each(|v| *v *= d50[r] / sum);
                }
            }
            let ab_cc_inv = invert(&self.ab_cc(w))?;
            let reference = apply(&ab_cc_inv, neutral);
            if reference.iter().any(|&v| !(v.is_finite() && v > 0.0)) {
                return None;
            }
            let d = diag(reference.map(|v| 1.0 / v));
            Some(mul(&mul(&fm, &d), &ab_cc_inv))
        } else {
            let cam_to_xyz = invert(&self.xyz_to_camera(xy))?;
            Some(mul(&bradford(xy, XY_D50), &cam_to_xyz))
        }
    }

    /// Camera RGB → linear sRGB (D65) for the white `neutral`: camera → XYZ D50, Bradford to D65,
    /// XYZ → sRGB; scaled so that the neutral maps to (1, 1, 1) times its green value.
    pub(crate) fn camera_to_srgb(&self, neutral: [f64; 3]) -> Option<M3> {
        let d50 = self.camera_to_xyz_d50(neutral)?;
        let xyz_to_srgb = invert(&SRGB_TO_XYZ)?;
        // To sRGB's own white (S · (1, 1, 1), D65 to five digits), so the neutral lands on
        // R = G = B exactly.
        let white = xy_of_xyz(apply(&SRGB_TO_XYZ, [1.0; 3]));
        let m = mul(&mul(&xyz_to_srgb, &bradford(XY_D50, white)), &d50);
        let white = apply(&m, neutral);
        let scale = neutral[1] / white[1];
        let m = m.map(|row| row.map(|v| v * scale));
        m.iter().flatten().all(|v| v.is_finite()).then_some(m)
    }

    /// For the colour stage, which multiplies camera RGB by the white-balance multipliers
    /// (1 / neutral, G = 1) before its matrix: that matrix, mapping white-balanced camera RGB to
    /// linear sRGB with white at (1, 1, 1), times 2^BaselineExposure.
    pub(crate) fn balanced_to_srgb(&self, neutral: [f64; 3]) -> Option<M3> {
        let n = neutral.map(|v| v / neutral[1]);
        let m = mul(&self.camera_to_srgb(n)?, &diag(n));
        let gain = self.baseline_exposure.exp2();
        Some(m.map(|row| row.map(|v| v * gain)))
    }
}

/// Bradford chromatic adaptation from white `from` to white `to` (both xy), on XYZ.
pub(crate) fn bradford(from: [f64; 2], to: [f64; 2]) -> M3 {
    let s = apply(&BRADFORD, xyz_of_xy(from));
    let d = apply(&BRADFORD, xyz_of_xy(to));
    let scale = diag([d[0] / s[0], d[1] / s[1], d[2] / s[2]]);
    let inv = invert(&BRADFORD).unwrap_or(IDENTITY);
    mul(&mul(&inv, &scale), &BRADFORD)
}

/// A neutral every channel of which is positive and finite.
pub(crate) fn usable_neutral(n: [f64; 3]) -> bool {
    n.iter().all(|v| v.is_finite() && *v > 0.0) && {
        // Multipliers beyond 1:64 are a broken tag (e.g. -1 placeholders), not a light.
        let (lo, hi) = n
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), &v| (l.min(v), h.max(v)));
        hi / lo < 64.0
    }
}

pub(crate) fn mul(a: &M3, b: &M3) -> M3 {
    std::array::from_fn(|r| std::array::from_fn(|c| (0..3).map(|k| a[r][k] * b[k][c]).sum()))
}

pub(crate) fn apply(m: &M3, v: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|r| (0..3).map(|k| m[r][k] * v[k]).sum())
}

fn diag(v: [f64; 3]) -> M3 {
    [[v[0], 0.0, 0.0], [0.0, v[1], 0.0], [0.0, 0.0, v[2]]]
}

/// Inverse by the adjugate; `None` for a singular or non-finite matrix.
pub(crate) fn invert(m: &M3) -> Option<M3> {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if !det.is_finite() || det.abs() < 1e-12 {
        return None;
    }
    let c = |r: usize, col: usize| {
        let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
        let (c1, c2) = ((col + 1) % 3, (col + 2) % 3);
        m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]
    };
    Some(std::array::from_fn(|r| {
        std::array::from_fn(|col| c(col, r) / det)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The LG G4's two calibrations as Adobe Camera Raw wrote them (shared file
    /// `lg_g4_linear_raw_lossy_jpeg.dng`): standard light A and D65, with forward matrices and a
    /// camera calibration.
    fn lg_g4() -> ColourModel {
        let m =
            |v: [f64; 9]| -> M3 { [[v[0], v[1], v[2]], [v[3], v[4], v[5]], [v[6], v[7], v[8]]] };
        let cc = m([0.9766, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.9922]);
        ColourModel {
            calibrations: vec![
                Calibration {
                    cct: illuminant(17).map(|i| i.1),
                    color_matrix: m([
                        1.0494, -0.2624, -0.2907, -0.4822, 1.4182, 0.0567, -0.0709, 0.2553, 0.5105,
                    ]),
                    forward_matrix: Some(m([
                        0.6797, -0.0781, 0.3594, 0.2109, 0.7031, 0.0859, -0.0469, -0.8281, 1.6953,
                    ])),
                    camera_calibration: cc,
                },
                Calibration {
                    cct: illuminant(21).map(|i| i.1),
                    color_matrix: m([
                        0.6013, 0.0561, -0.1283, -0.6654, 1.5953, 0.0561, -0.2485, 0.5772, 0.4008,
                    ]),
                    forward_matrix: Some(m([
                        0.8203, -0.2188, 0.3594, 0.3438, 0.5703, 0.0938, 0.0156, -0.7266, 1.5391,
                    ])),
                    camera_calibration: cc,
                },
            ],
            analog_balance: [1.0; 3],
            as_shot: Some(AsShot::Neutral([0.5156, 1.0, 0.6562])),
            baseline_exposure: 0.0,
        }
    }

    fn close(a: &M3, b: &M3, tol: f64) -> bool {
        a.iter()
            .flatten()
            .zip(b.iter().flatten())
            .all(|(x, y)| (x - y).abs() <= tol)
    }

    #[test]
    fn standard_illuminants_have_their_temperatures() {
        for (tag, kelvin) in [
            (17, 2856.0),
            (23, 5003.0),
            (20, 5503.0),
            (21, 6504.0),
            (22, 7504.0),
        ] {
            let (_, cct) = illuminant(tag).unwrap();
            assert!(
                (cct - kelvin).abs() < 50.0,
                "illuminant {tag}: {cct} K, not {kelvin} K"
            );
        }
        assert_eq!(illuminant(0), None);
        assert_eq!(illuminant(255), None);
    }

    #[test]
    fn interpolation_ends_at_the_calibration_matrices() {
        let model = lg_g4();
        let cc = model.calibrations[0].camera_calibration;
        // At (and beyond) each calibration illuminant's temperature the matrix is exactly that
        // calibration's (with its camera calibration).
        for (xy, i) in [(XY_A, 0), (XY_D65, 1), (XY_D75, 1)] {
            let want = mul(&cc, &model.calibrations[i].color_matrix);
            let got = model.xyz_to_camera(xy);
            assert!(close(&got, &want, 1e-12), "{xy:?}: {got:?} != {want:?}");
        }
        // In between: a blend, nearer the D65 matrix at D55 (5503 K is nearer 6504 K in 1/T).
        let w = model.weight(cct_of_xy(XY_D55));
        assert!(w > 0.0 && w < 0.5, "weight of A at D55: {w}");
    }

    #[test]
    fn forward_matrix_maps_the_neutral_to_d50_white() {
        // The file's forward matrices are quantised to 1/128 (their white 0.3 % off D50): the
        // model rescales them as the DNG SDK does, so the neutral still lands on D50.
        let model = lg_g4();
        let neutral = model.as_shot_neutral().unwrap();
        let m = model.camera_to_xyz_d50(neutral).unwrap();
        let xy = xy_of_xyz(apply(&m, neutral));
        assert!(
            (xy[0] - XY_D50[0]).abs() < 1e-9 && (xy[1] - XY_D50[1]).abs() < 1e-9,
            "neutral maps to {xy:?}, not D50"
        );
        // And to sRGB white once adapted to D65.
        let rgb = apply(&model.camera_to_srgb(neutral).unwrap(), neutral);
        for v in rgb {
            assert!((v - 1.0).abs() < 1e-9, "neutral → sRGB {rgb:?}");
        }
    }

    #[test]
    fn as_shot_white_xy_and_neutral_round_trip() {
        let model = lg_g4();
        for xy in [XY_A, XY_D50, XY_D65, [0.40, 0.39], [0.33, 0.36]] {
            let n = model.neutral_of_xy(xy);
            let back = model.xy_of_neutral(n);
            assert!(
                (back[0] - xy[0]).abs() < 1e-6 && (back[1] - xy[1]).abs() < 1e-6,
                "{xy:?} → {n:?} → {back:?}"
            );
            let from_xy = ColourModel {
                as_shot: Some(AsShot::WhiteXy(xy)),
                ..lg_g4()
            };
            let n2 = from_xy.as_shot_neutral().unwrap();
            assert!(n.iter().zip(n2).all(|(a, b)| (a - b).abs() < 1e-12));
        }
    }

    #[test]
    fn single_matrix_model_without_forward_matrix_keeps_white_white() {
        let canon: M3 = [
            [0.6722, -0.0635, -0.0963],
            [-0.4287, 1.2460, 0.2028],
            [-0.0908, 0.2162, 0.5668],
        ];
        let model = ColourModel::single_d65(canon, None);
        // Daylight neutral: what the matrix says D65 white records as.
        let d65 = model.daylight_neutral();
        let want = apply(&canon, xyz_of_xy(XY_D65));
        assert!(
            (d65[0] - want[0] / want[1]).abs() < 1e-12
                && (d65[2] - want[2] / want[1]).abs() < 1e-12
        );
        for neutral in [d65, model.neutral_of_xy(XY_A)] {
            let m = model.balanced_to_srgb(neutral).unwrap();
            for row in m {
                assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{m:?}");
            }
        }
        // Unusable neutrals are refused.
        assert_eq!(
            ColourModel::single_d65(canon, Some([-1.0, 1.0, 1.0])).as_shot,
            None
        );
    }

    #[test]
    fn baseline_exposure_scales_the_output() {
        let mut model = lg_g4();
        let n = model.as_shot_neutral().unwrap();
        let m0 = model.balanced_to_srgb(n).unwrap();
        model.baseline_exposure = 1.0;
        let m1 = model.balanced_to_srgb(n).unwrap();
        assert!(close(&m1, &m0.map(|r| r.map(|v| 2.0 * v)), 1e-12));
    }
}
