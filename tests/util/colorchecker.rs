//! Colour accuracy of a developed ColorChecker Classic shot: mean / max CIEDE2000 against
//! X-Rite's reference (after November 2014, D50), after one exposure scale in linear light fitted
//! on the grey row. A line-for-line port of `../shared/tools/colorchecker.py` (colour-science
//! 0.4): sRGB decoding, sRGB → XYZ (D65) with colour's 4-decimal matrix, Bradford to D50, Lab,
//! CIEDE2000; `grey_wb` first makes the grey patches 20–23 neutral; patch values are medians of
//! a square window. Checked against the Python tool on our fusion, curve and linear renders and
//! LibRaw's render of both charts: the same means and maxima to 0.01 (see
//! tests/real_colour.rs::the_rust_scorer_agrees_with_the_python_tool).

use std::path::Path;

/// Patch centres of a chart shot: centres of patch 1 (dark skin), 6 (bluish green), 19 (white)
/// and 24 (black) in image pixels, and the half-size of the sampled square.
#[derive(Debug, Clone)]
pub struct Chart {
    pub corners: [[f64; 2]; 4],
    pub window: usize,
}

impl Chart {
    /// Read a chart description (`{"corners": [[x, y] × 4], "window": w}`).
    pub fn load(path: &Path) -> Result<Chart, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let bad = || {
            format!(
                "{}: expected corners [[x, y] × 4] and a window",
                path.display()
            )
        };
        let c = v["corners"]
            .as_array()
            .filter(|c| c.len() == 4)
            .ok_or_else(bad)?;
        let mut corners = [[0.0; 2]; 4];
        for (i, p) in c.iter().enumerate() {
            for k in 0..2 {
                corners[i][k] = p[k].as_f64().ok_or_else(bad)?;
            }
        }
        let window = v.get("window").and_then(|w| w.as_u64()).unwrap_or(20) as usize;
        Ok(Chart { corners, window })
    }

    /// The 24 patch centres, row by row: bilinear between the four corner patches.
    pub fn centres(&self) -> Vec<[f64; 2]> {
        let [p1, p6, p19, p24] = self.corners;
        let mut pts = Vec::with_capacity(24);
        for r in 0..4 {
            let v = r as f64 / 3.0;
            let (lx, ly) = (p1[0] + (p19[0] - p1[0]) * v, p1[1] + (p19[1] - p1[1]) * v);
            let (rx, ry) = (p6[0] + (p24[0] - p6[0]) * v, p6[1] + (p24[1] - p6[1]) * v);
            for k in 0..6 {
                let u = k as f64 / 5.0;
                pts.push([lx + (rx - lx) * u, ly + (ry - ly) * u]);
            }
        }
        pts
    }
}

/// What the scorer reports.
#[derive(Debug, Clone, Copy)]
pub struct Score {
    /// Mean CIEDE2000 over the 24 patches.
    pub mean: f64,
    /// Worst patch's CIEDE2000.
    pub max: f64,
    /// Mean chroma-only difference (a*, b* distance).
    pub chroma: f64,
}

/// An RGB image as values in [0, 1] (a 16-bit file / 65535, an 8-bit one / 255).
pub struct Pixels {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f64>,
}

impl Pixels {
    /// Read a PNG / TIFF / JPEG file.
    pub fn open(path: &Path) -> Result<Pixels, String> {
        let img = image::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let (width, height) = (img.width() as usize, img.height() as usize);
        let data = match img {
            image::DynamicImage::ImageRgb8(_) | image::DynamicImage::ImageRgba8(_) => img
                .to_rgb8()
                .into_raw()
                .iter()
                .map(|&v| v as f64 / 255.0)
                .collect(),
            _ => img
                .to_rgb16()
                .into_raw()
                .iter()
                .map(|&v| v as f64 / 65535.0)
                .collect(),
        };
        Ok(Pixels {
            width,
            height,
            data,
        })
    }

    /// A developed image (values on its own 8- or 16-bit scale).
    pub fn of(img: &burstpipe::Image) -> Pixels {
        let max = if img.bits == 8 { 255.0 } else { 65535.0 };
        Pixels {
            width: img.width as usize,
            height: img.height as usize,
            data: img.data.iter().map(|&v| v as f64 / max).collect(),
        }
    }
}

/// X-Rite's ColorChecker Classic after November 2014 (colour-science's
/// "ColorChecker24 - After November 2014"): xyY under D50, patches 1–24.
const REFERENCE_XYY: [[f64; 3]; 24] = [
    [
        0.43748359776589135,
        0.37852284252367574,
        0.09832436104903851,
    ],
    [0.4222494414825217, 0.37249368511754133, 0.3362023039946287],
    [0.27614744043207645, 0.2983815721208263, 0.178551934765673],
    [0.37331612820722, 0.45116913568963873, 0.13467926789228754],
    [0.3028905214310583, 0.286286909325318, 0.22871759975296238],
    [0.28640482815577994, 0.3897177845237023, 0.4143554687769077],
    [0.5281477218315832, 0.4053349677195299, 0.3126416158520489],
    [0.23238584983686839, 0.2112037154829227, 0.10910902328342183],
    [0.504447547136753, 0.3270647451424294, 0.18899995604639894],
    [0.3334711475089796, 0.25055230112263344, 0.0627666295512321],
    [0.3988934507833836, 0.5041491488388328, 0.43317594089100103],
    [0.49357600127214574, 0.44428320198333177, 0.4293377577692557],
    [0.2052207685222249, 0.16866547571361887, 0.05596214062500002],
    [0.32303796463349593, 0.5104181832990494, 0.2233437582465455],
    [0.5628723227211951, 0.33556280741805006, 0.12780083497363057],
    [0.4677593492335331, 0.47602443369004865, 0.5992976803066956],
    [0.421310886084705, 0.2669246232731137, 0.18951145768007596],
    [
        0.20912871882445683,
        0.30265801492415445,
        0.18060991295576384,
    ],
    [0.34891449451162004, 0.364212580001662, 0.8806903202769434],
    [0.3455838580957924, 0.35988061288500306, 0.5899709701921204],
    [0.3441498292049951, 0.3591850701198528, 0.3648652066306788],
    [0.3457692225227178, 0.35909382718958216, 0.19062287543564713],
    [0.34264843258988703, 0.3575835153536729, 0.08817234828393437],
    [0.3437674672618446, 0.356057629662105, 0.03151319430890977],
];

/// The reference's illuminant (ICC D50) and sRGB's white (D65), CIE 1931 xy.
const D50_XY: [f64; 2] = [0.345702914918791, 0.358538596679933];
const D65_XY: [f64; 2] = [0.3127, 0.329];

/// colour-science's sRGB → XYZ matrix (IEC 61966-2-1's 4 decimals).
const SRGB_TO_XYZ: [[f64; 3]; 3] = [
    [0.4124, 0.3576, 0.1805],
    [0.2126, 0.7152, 0.0722],
    [0.0193, 0.1192, 0.9505],
];

/// Bradford cone response (colour-science's CAT_BRADFORD).
const BRADFORD: [[f64; 3]; 3] = [
    [0.8951, 0.2664, -0.1614],
    [-0.7502, 1.7135, 0.0367],
    [0.0389, -0.0685, 1.0296],
];

fn mul(m: &[[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
    [0, 1, 2].map(|r| m[r][0] * v[0] + m[r][1] * v[1] + m[r][2] * v[2])
}

fn inverse(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    let c = |r: usize, k: usize| {
        let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
        let (k1, k2) = ((k + 1) % 3, (k + 2) % 3);
        m[r1][k1] * m[r2][k2] - m[r1][k2] * m[r2][k1]
    };
    [0, 1, 2].map(|i| [0, 1, 2].map(|j| c(j, i) / det))
}

fn xyy_to_xyz(x: f64, y: f64, big_y: f64) -> [f64; 3] {
    if y == 0.0 {
        return [0.0; 3];
    }
    [x * big_y / y, big_y, (1.0 - x - y) * big_y / y]
}

/// sRGB's decoding (the piecewise IEC 61966-2-1 curve).
pub fn srgb_decode(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// sRGB's encoding.
pub fn srgb_encode(x: f64) -> f64 {
    if x <= 0.0031308 {
        12.92 * x
    } else {
        1.055 * x.powf(1.0 / 2.4) - 0.055
    }
}

fn xyz_to_lab(xyz: [f64; 3], white: [f64; 3]) -> [f64; 3] {
    let f = |t: f64| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let [fx, fy, fz] = [0, 1, 2].map(|k| f(xyz[k] / white[k]));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// CIEDE2000 (Sharma, Wu & Dalal 2005; kL = kC = kH = 1).
pub fn ciede2000(a: [f64; 3], b: [f64; 3]) -> f64 {
    use std::f64::consts::PI;
    let (l1, a1, b1) = (a[0], a[1], a[2]);
    let (l2, a2, b2) = (b[0], b[1], b[2]);
    let c_bar = (a1.hypot(b1) + a2.hypot(b2)) / 2.0;
    let c7 = c_bar.powi(7);
    let g = 0.5 * (1.0 - (c7 / (c7 + 25f64.powi(7))).sqrt());
    let (a1p, a2p) = (a1 * (1.0 + g), a2 * (1.0 + g));
    let (c1p, c2p) = (a1p.hypot(b1), a2p.hypot(b2));
    let hue = |b: f64, a: f64| {
        if b == 0.0 && a == 0.0 {
            0.0
        } else {
            let h = b.atan2(a).to_degrees();
            if h < 0.0 {
                h + 360.0
            } else {
                h
            }
        }
    };
    let (h1p, h2p) = (hue(b1, a1p), hue(b2, a2p));
    let dl = l2 - l1;
    let dc = c2p - c1p;
    let dh = if c1p * c2p == 0.0 {
        0.0
    } else if (h2p - h1p).abs() <= 180.0 {
        h2p - h1p
    } else if h2p - h1p > 180.0 {
        h2p - h1p - 360.0
    } else {
        h2p - h1p + 360.0
    };
    let dhh = 2.0 * (c1p * c2p).sqrt() * (dh.to_radians() / 2.0).sin();
    let l_bar = (l1 + l2) / 2.0;
    let cp_bar = (c1p + c2p) / 2.0;
    let h_bar = if c1p * c2p == 0.0 {
        h1p + h2p
    } else if (h1p - h2p).abs() <= 180.0 {
        (h1p + h2p) / 2.0
    } else if h1p + h2p < 360.0 {
        (h1p + h2p + 360.0) / 2.0
    } else {
        (h1p + h2p - 360.0) / 2.0
    };
    let t = 1.0 - 0.17 * (h_bar - 30.0).to_radians().cos()
        + 0.24 * (2.0 * h_bar).to_radians().cos()
        + 0.32 * (3.0 * h_bar + 6.0).to_radians().cos()
        - 0.20 * (4.0 * h_bar - 63.0).to_radians().cos();
    let d_theta = 30.0 * (-((h_bar - 275.0) / 25.0).powi(2)).exp();
    let cp7 = cp_bar.powi(7);
    let rc = 2.0 * (cp7 / (cp7 + 25f64.powi(7))).sqrt();
    let sl = 1.0 + 0.015 * (l_bar - 50.0).powi(2) / (20.0 + (l_bar - 50.0).powi(2)).sqrt();
    let sc = 1.0 + 0.045 * cp_bar;
    let sh = 1.0 + 0.015 * cp_bar * t;
    let rt = -(2.0 * d_theta * PI / 180.0).sin() * rc;
    ((dl / sl).powi(2) + (dc / sc).powi(2) + (dhh / sh).powi(2) + rt * (dc / sc) * (dhh / sh))
        .sqrt()
}

/// The median of `v` (the mean of the two middle values for an even count, as numpy's).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Each patch's median RGB (values as stored) over its window `[c - w, c + w)` in x and y.
pub fn patch_values(img: &Pixels, chart: &Chart) -> Result<Vec<[f64; 3]>, String> {
    let w = chart.window as i64;
    let mut out = Vec::with_capacity(24);
    for [x, y] in chart.centres() {
        // Python's round(): halves to even.
        let (x, y) = (x.round_ties_even() as i64, y.round_ties_even() as i64);
        if x - w < 0 || y - w < 0 || x + w > img.width as i64 || y + w > img.height as i64 {
            return Err(format!(
                "patch at ({x}, {y}) ± {w} lies outside the {}×{} image",
                img.width, img.height
            ));
        }
        let mut rgb = [0.0; 3];
        for (c, v) in rgb.iter_mut().enumerate() {
            let mut vals: Vec<f64> = (y - w..y + w)
                .flat_map(|yy| (x - w..x + w).map(move |xx| (yy, xx)))
                .map(|(yy, xx)| img.data[(yy as usize * img.width + xx as usize) * 3 + c])
                .collect();
            *v = median(&mut vals);
        }
        out.push(rgb);
    }
    Ok(out)
}

/// Score `img` against the chart. `linear`: values are linear sRGB (else sRGB-encoded);
/// `grey_wb`: neutralise the grey row first (colour rendering apart from the scene's light).
pub fn score(img: &Pixels, chart: &Chart, linear: bool, grey_wb: bool) -> Result<Score, String> {
    let rgb = patch_values(img, chart)?;
    let mut lin: Vec<[f64; 3]> = rgb
        .iter()
        .map(|p| if linear { *p } else { p.map(srgb_decode) })
        .collect();
    if grey_wb {
        let mut sum = [0.0; 3];
        for p in &lin[19..23] {
            (0..3).for_each(|c| sum[c] += p[c]);
        }
        let gains = sum.map(|s| sum[1] / s.max(1e-12));
        for p in &mut lin {
            (0..3).for_each(|c| p[c] *= gains[c]);
        }
    }
    let d65 = xyy_to_xyz(D65_XY[0], D65_XY[1], 1.0);
    let d50 = xyy_to_xyz(D50_XY[0], D50_XY[1], 1.0);
    let (lms65, lms50) = (mul(&BRADFORD, d65), mul(&BRADFORD, d50));
    let inv = inverse(&BRADFORD);
    let adapt = |xyz: [f64; 3]| {
        let lms = mul(&BRADFORD, xyz);
        mul(&inv, [0, 1, 2].map(|k| lms[k] * lms50[k] / lms65[k]))
    };
    let xyz50: Vec<[f64; 3]> = lin.iter().map(|p| adapt(mul(&SRGB_TO_XYZ, *p))).collect();
    let reference: Vec<[f64; 3]> = REFERENCE_XYY
        .iter()
        .map(|r| xyy_to_xyz(r[0], r[1], r[2]))
        .collect();
    // One exposure scale: least squares on the grey row's Y (patches 19–23, black left out).
    let (mut num, mut den) = (0.0, 0.0);
    for i in 18..23 {
        num += xyz50[i][1] * reference[i][1];
        den += xyz50[i][1] * xyz50[i][1];
    }
    let k = num / den.max(1e-12);
    let (mut sum, mut max, mut chroma) = (0.0, 0.0f64, 0.0);
    for (p, r) in xyz50.iter().zip(&reference) {
        let lab = xyz_to_lab(p.map(|v| v * k), d50);
        let ref_lab = xyz_to_lab(*r, d50);
        let de = ciede2000(lab, ref_lab);
        sum += de;
        max = max.max(de);
        chroma += (lab[1] - ref_lab[1]).hypot(lab[2] - ref_lab[2]);
    }
    Ok(Score {
        mean: sum / 24.0,
        max,
        chroma: chroma / 24.0,
    })
}
