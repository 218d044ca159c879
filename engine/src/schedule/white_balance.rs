//! White balance: which white a develop balances to, and the colour-stage parameters for it (the
//! multipliers and the DNG colour model's camera → sRGB matrix for that very white).

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::raw::colour_model::ColourModel;
use crate::raw::Frame;
use crate::schedule::bands::Band;
use crate::schedule::develop::{self, Source};
use crate::stages::{color, wb_stats, Demosaic};

/// Which white a photo is balanced to.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum WhiteBalance {
    /// The white the camera recorded (DNG AsShotNeutral or AsShotWhiteXY, or the camera's
    /// multipliers); for a file with none usable, [`WhiteBalance::Auto`]. The default.
    #[default]
    AsShot,
    /// Estimated from the image: grey world on the linear camera RGB after demosaicing, clipped
    /// pixels (and their neighbours) and the darkest ones left out, summed on the GPU.
    Auto,
    /// D65 daylight: the camera's response to D65 by its colour matrix.
    Daylight,
    /// These multipliers for R, G, B (any scale; only their ratios count).
    Multipliers([f32; 3]),
}

impl WhiteBalance {
    /// Parse "as-shot", "auto", "daylight" or three multipliers "R,G,B" (e.g. "2.1,1,1.5").
    pub fn parse(s: &str) -> Option<WhiteBalance> {
        match s.to_ascii_lowercase().as_str() {
            "as-shot" | "asshot" | "camera" => Some(WhiteBalance::AsShot),
            "auto" => Some(WhiteBalance::Auto),
            "daylight" | "d65" => Some(WhiteBalance::Daylight),
            s => {
                let v: Vec<f32> = s
                    .split(',')
                    .map(|p| p.trim().parse().ok())
                    .collect::<Option<_>>()?;
                let m: [f32; 3] = v.try_into().ok()?;
                valid_multipliers(m).then_some(WhiteBalance::Multipliers(m))
            }
        }
    }
}

fn valid_multipliers(m: [f32; 3]) -> bool {
    m.iter().all(|v| v.is_finite() && *v > 0.0)
}

/// The camera neutral (response to the white, G = 1) for `wb`; `auto` estimates it from the image
/// when it is needed.
pub(crate) fn neutral(
    frame: &Frame,
    model: &ColourModel,
    wb: WhiteBalance,
    auto: impl FnOnce() -> Result<Option<[f64; 3]>>,
) -> Result<[f64; 3]> {
    let estimate = || -> Result<[f64; 3]> {
        // An image with nothing usable (all clipped or black) keeps daylight.
        Ok(auto()?.unwrap_or_else(|| model.daylight_neutral()))
    };
    match wb {
        WhiteBalance::AsShot => match model.as_shot_neutral() {
            Some(n) => Ok(n),
            None => estimate(),
        },
        WhiteBalance::Auto => estimate(),
        WhiteBalance::Daylight => Ok(model.daylight_neutral()),
        WhiteBalance::Multipliers(m) if valid_multipliers(m) => {
            Ok([m[1] / m[0], 1.0, m[1] / m[2]].map(|v| v as f64))
        }
        WhiteBalance::Multipliers(m) => Err(Error::InvalidInput(format!(
            "{}: white-balance multipliers {m:?} must be positive numbers",
            frame.source.display()
        ))),
    }
}

/// The grey-world neutral of `source` (rendered in `bands`), from the linear camera RGB after a
/// quick demosaic; `None` when too few pixels are neither clipped nor dark.
pub(crate) fn auto_neutral(
    gpu: &Gpu,
    frame: &Frame,
    source: &Source,
    bands: &[Band],
) -> Result<Option<[f64; 3]>> {
    // Bilinear is plenty for a mean and the cheapest (X-Trans: its own bilinear).
    let method = match frame.xtrans {
        Some(_) => Demosaic::Bilinear.for_xtrans(),
        None => Demosaic::Bilinear,
    };
    let (w, _) = source.size(frame);
    let mut sum = [0.0f64; 4];
    for band in bands {
        let rgb = develop::linear_band(gpu, frame, source, *band, method, None)?;
        let p = wb_stats::Params::new(w, band.out_rows(), band.out.0);
        let partials = gpu.storage("wb partials", p.partials_bytes());
        gpu.run("white-balance statistics", |enc| {
            wb_stats::record(gpu, enc, &p, &rgb, &partials)
        })?;
        let band_sum = wb_stats::total(&gpu.read(
            "white-balance statistics",
            &partials,
            p.partials_bytes(),
        )?);
        (0..4).for_each(|c| sum[c] += band_sum[c]);
    }
    Ok(wb_stats::neutral(sum))
}

/// The colour stage's parameters for `wb`: multipliers 1 / neutral and the matrix from
/// white-balanced camera RGB to linear sRGB for that white (× 2^BaselineExposure).
pub(crate) fn colour_params(
    gpu: &Gpu,
    frame: &Frame,
    source: &Source,
    bands: &[Band],
    wb: WhiteBalance,
) -> Result<color::Params> {
    let model = frame.colour_model();
    let n = neutral(frame, &model, wb, || {
        auto_neutral(gpu, frame, source, bands)
    })?;
    Ok(params_for(frame, &model, n, source.size(frame).0))
}

/// [`colour_params`] for a known neutral.
pub(crate) fn params_for(
    frame: &Frame,
    model: &ColourModel,
    n: [f64; 3],
    width: u32,
) -> color::Params {
    let multipliers = n.map(|v| (1.0 / v) as f32);
    match model.balanced_to_srgb(n) {
        Some(m) => {
            color::Params::with_matrix(width, 0, multipliers, m.map(|r| r.map(|v| v as f32)))
        }
        // A degenerate matrix: the old per-row normalisation (identity at worst).
        None => color::Params::new(width, 0, multipliers, frame.xyz_to_cam),
    }
}

/// The multipliers (G = 1) a develop with `wb` uses for this frame.
pub(crate) fn multipliers(gpu: &Gpu, frame: &Frame, wb: WhiteBalance) -> Result<[f32; 3]> {
    let model = frame.colour_model();
    let n = neutral(frame, &model, wb, || {
        let source = Source::Frame(frame);
        let bands = develop::plan_bands(gpu, frame, (frame.width, frame.height), false, None)?;
        auto_neutral(gpu, frame, &source, &bands)
    })?;
    Ok(n.map(|v| (1.0 / v) as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_choice() {
        assert_eq!(WhiteBalance::parse("as-shot"), Some(WhiteBalance::AsShot));
        assert_eq!(WhiteBalance::parse("AUTO"), Some(WhiteBalance::Auto));
        assert_eq!(
            WhiteBalance::parse("daylight"),
            Some(WhiteBalance::Daylight)
        );
        assert_eq!(
            WhiteBalance::parse("2.1, 1,1.5"),
            Some(WhiteBalance::Multipliers([2.1, 1.0, 1.5]))
        );
        for bad in ["", "1,2", "1,0,1", "-1,1,1", "a,b,c", "1,2,3,4", "nan,1,1"] {
            assert_eq!(WhiteBalance::parse(bad), None, "{bad:?}");
        }
    }

    /// `daylight` on a DNG is the matrix's D65 neutral: XYZ→camera × D65 white.
    #[test]
    fn daylight_on_a_dng_is_the_colour_matrix_d65_neutral() {
        let path = crate::raw::testing::real_raw("canon_powershot_g2_colorchecker_lj92.dng");
        let data = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{} is needed (../shared/data/real): {e}", path.display()));
        // Its ColorMatrix1 (D65), from the file.
        let cm = [
            [0.9194, -0.2787, -0.1059],
            [-0.8098, 1.5657, 0.2608],
            [-0.2610, 0.3064, 0.7867],
        ];
        let d65 = crate::raw::colour_model::xyz_of_xy(crate::raw::colour_model::XY_D65);
        let want = crate::raw::colour_model::apply(&cm, d65);
        let image = crate::raw::testing::dng_colour_model(&path, &data).unwrap();
        let got = neutral(
            &Frame::from_mosaic(2, 2, vec![0; 4], crate::Cfa::Rggb, 0.0, 1.0).unwrap(),
            &image,
            WhiteBalance::Daylight,
            || panic!("daylight must not estimate"),
        )
        .unwrap();
        for c in 0..3 {
            let w = want[c] / want[1];
            assert!((got[c] - w).abs() < 1e-3, "channel {c}: {} vs {w}", got[c]);
        }
        // And as-shot is the file's AsShotNeutral (0.6141, 1, 0.626).
        let shot = image.as_shot_neutral().unwrap();
        assert!(
            (shot[0] - 0.6141).abs() < 1e-3 && (shot[2] - 0.626).abs() < 1e-3,
            "{shot:?}"
        );
    }

    /// A frame whose file has no usable white is written to DNG without AsShotNeutral, so our
    /// reader (and others) estimate it again instead of taking the daylight fallback as shot.
    #[test]
    fn dng_of_a_frame_without_as_shot_white_has_no_as_shot_neutral() {
        let path = crate::raw::testing::real_raw("canon_eos_d30_tree.crw");
        let frame = Frame::open(&path)
            .unwrap_or_else(|e| panic!("{} is needed (../shared/data/real): {e}", path.display()));
        assert!(!frame.has_as_shot_white_balance());
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("d30.dng");
        frame.save_dng(&out).unwrap();
        let back = Frame::open(&out).unwrap();
        assert!(!back.has_as_shot_white_balance());
        assert_eq!(back.mosaic, frame.mosaic);
    }
}
