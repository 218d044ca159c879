//! Raw frames: the decoded sensor mosaic and the metadata every later stage needs.
//!
//! `decode` guards rawloader (contains its panics, validates sizes and levels); `dng` reads
//! uncompressed DNGs in both strip and tile layouts, which rawloader 0.37 only half supports, and
//! lossless-JPEG DNGs of every predictor through `ljpeg` (rawloader reads predictor 1 only).

mod ciff;
pub(crate) mod colour_model;
mod decode;
pub(crate) use decode::exif_fields;
mod dng;
mod dng_chunks;
mod dng_ljpeg;
mod limits;
pub(crate) mod ljpeg;
mod mosaic;
pub(crate) mod opcodes;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testing {
    /// A shared real camera file: `../shared/data/real/raw/NAME` beside the repository, or under
    /// `$BURSTPIPE_SHARED` (a worktree elsewhere). Tests that need one fail when it is missing.
    pub(crate) fn real_raw(name: &str) -> std::path::PathBuf {
        std::env::var_os("BURSTPIPE_SHARED")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared").into())
            .join("data/real/raw")
            .join(name)
    }

    /// The colour model of a DNG's metadata (its pixels unread).
    pub(crate) fn dng_colour_model(
        path: &std::path::Path,
        data: &[u8],
    ) -> crate::Result<super::ColourModel> {
        let image = super::dng::parse(path, data)?
            .ok_or_else(|| crate::Error::decode(path, "not a DNG"))?;
        Ok(image.colour)
    }
}
mod xtrans;

pub use xtrans::XTrans;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use colour_model::ColourModel;

pub(crate) use limits::{MAX_FILE_BYTES, MAX_PIXELS, MAX_SIDE};

/// Bayer colour-filter layouts, named by the 2×2 pattern read row by row from the top-left pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cfa {
    /// R G / G B
    Rggb,
    /// B G / G R
    Bggr,
    /// G R / B G
    Grbg,
    /// G B / R G
    Gbrg,
}

impl Cfa {
    /// All four phases.
    pub const ALL: [Cfa; 4] = [Cfa::Rggb, Cfa::Bggr, Cfa::Grbg, Cfa::Gbrg];

    /// Colour (0 = R, 1 = G, 2 = B) of each 2×2 position, index `(y & 1) * 2 + (x & 1)`.
    pub fn colors(self) -> [u32; 4] {
        match self {
            Cfa::Rggb => [0, 1, 1, 2],
            Cfa::Bggr => [2, 1, 1, 0],
            Cfa::Grbg => [1, 0, 2, 1],
            Cfa::Gbrg => [1, 2, 0, 1],
        }
    }

    /// Colour at pixel (x, y).
    pub fn color_at(self, x: usize, y: usize) -> usize {
        self.colors()[(y & 1) * 2 + (x & 1)] as usize
    }

    /// The pattern seen from pixel (dx, dy) on, as after cropping.
    pub fn shifted(self, dx: usize, dy: usize) -> Cfa {
        let c = |x, y| self.color_at(x + dx, y + dy) as u32;
        Cfa::from_colors([c(0, 0), c(1, 0), c(0, 1), c(1, 1)]).expect("a shifted Bayer is Bayer")
    }

    /// The Bayer layout with these four colours, if it is one.
    pub fn from_colors(c: [u32; 4]) -> Option<Cfa> {
        Cfa::ALL.into_iter().find(|cfa| cfa.colors() == c)
    }

    /// Parse "rggb", "bggr", "grbg", "gbrg" (any case).
    pub fn parse(s: &str) -> Option<Cfa> {
        match s.to_ascii_lowercase().as_str() {
            "rggb" => Some(Cfa::Rggb),
            "bggr" => Some(Cfa::Bggr),
            "grbg" => Some(Cfa::Grbg),
            "gbrg" => Some(Cfa::Gbrg),
            _ => None,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Cfa::Rggb => "rggb",
            Cfa::Bggr => "bggr",
            Cfa::Grbg => "grbg",
            Cfa::Gbrg => "gbrg",
        }
    }

    /// Packed for shaders: 2 bits per position, position i at bits 2i..2i+1.
    pub(crate) fn packed(self) -> u32 {
        self.colors()
            .iter()
            .enumerate()
            .fold(0, |acc, (i, c)| acc | (c << (2 * i)))
    }
}

/// The capture metadata that matters to a photographer, carried into the output files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exif {
    /// Camera maker.
    pub make: String,
    /// Camera model.
    pub model: String,
    /// Exposure time in seconds.
    pub exposure_time: Option<f64>,
    /// ISO speed.
    pub iso: Option<u32>,
    /// Aperture as an f-number.
    pub f_number: Option<f64>,
    /// Focal length in mm.
    pub focal_length: Option<f64>,
    /// Capture date and time as written by the camera ("YYYY:MM:DD HH:MM:SS").
    pub datetime: Option<String>,
}

/// One decoded raw frame: a Bayer or X-Trans mosaic (or a LinearRaw DNG's RGB) cropped to the active
/// area, with its levels and colour.
#[derive(Debug, Clone)]
pub struct Frame {
    pub(crate) source: PathBuf,
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// `width * height` sensor values, row-major, active area only.
    pub(crate) mosaic: Vec<u16>,
    pub(crate) cfa: Cfa,
    /// Side of the same-colour blocks: 1 for Bayer, 2 for Quad Bayer (4×4 repeat), 3 for Nonacell
    /// (6×6). With blocks, `cfa` is the Bayer layout of the blocks: the colour at (x, y) is
    /// `cfa.color_at(x / block, y / block)`.
    pub(crate) cfa_block: u32,
    /// X-Trans sensors (6×6 layout): the layout of the active area. `cfa` is then meaningless and
    /// every Bayer-only path refuses the frame.
    pub(crate) xtrans: Option<XTrans>,
    /// Black level per 2×2 CFA position (index `(y & 1) * 2 + (x & 1)`), in sensor units.
    pub(crate) black: [f32; 4],
    /// White (saturation) level in sensor units.
    pub(crate) white: f32,
    /// White-balance multipliers for R, G, B, normalised so that G = 1.
    pub(crate) wb: [f32; 3],
    /// XYZ → camera matrix (the DNG ColorMatrix), rows R, G, B.
    pub(crate) xyz_to_cam: [[f32; 3]; 3],
    /// EXIF orientation 1..=8.
    pub(crate) orientation: u16,
    pub(crate) exif: Exif,
    /// DNG NoiseProfile (scale, offset) of the first plane: variance = scale·x + offset on the
    /// normalised [0, 1] signal.
    pub(crate) noise_profile: Option<[f64; 2]>,
    /// The file's full colour model (DNG calibrations, forward matrices, as-shot white, baseline
    /// exposure); `None`: one D65 matrix `xyz_to_cam` with `wb` as shot (see [`Frame::colour_model`]).
    pub(crate) colour: Option<ColourModel>,
    /// LinearRaw DNGs (already demosaiced, e.g. iPhone ProRAW): the levels of each colour sample.
    /// `mosaic` then holds `width * height * 3` interleaved R, G, B values, `cfa` is meaningless
    /// and every mosaic-only path (merge, binning, demosaic, DNG writer) refuses the frame.
    /// `None` for sensor mosaics.
    pub(crate) linear_rgb: Option<RgbLevels>,
    /// DNG OpcodeList1/2/3 in this frame's coordinates (empty for other formats).
    pub(crate) opcodes: opcodes::OpcodeLists,
}

/// Black and white level of each sample (R, G, B) of a LinearRaw frame, in stored units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RgbLevels {
    pub black: [f32; 3],
    pub white: [f32; 3],
}

impl Frame {
    /// Decode a raw file (DNG or any camera format rawloader reads).
    pub fn open(path: impl AsRef<Path>) -> Result<Frame> {
        decode::decode_file(path.as_ref())
    }

    /// Decode a raw file already in memory (the bytes of a DNG or camera raw); `name` stands for
    /// the file in errors and in [`Frame::source`]. The same checks as [`Frame::open`] apply: bad
    /// or hostile bytes give an error, never a panic, and no buffer larger than the limits in the
    /// README ("Limits") is allocated.
    pub fn from_bytes(name: impl AsRef<Path>, data: &[u8]) -> Result<Frame> {
        decode::decode_bytes(name.as_ref(), data)
    }

    /// Build a frame from a mosaic in memory (e.g. a single-channel image), with explicit levels.
    /// White balance is neutral and the colour matrix the identity (camera RGB = sRGB primaries).
    pub fn from_mosaic(
        width: u32,
        height: u32,
        mosaic: Vec<u16>,
        cfa: Cfa,
        black: f32,
        white: f32,
    ) -> Result<Frame> {
        let source = PathBuf::from("<memory>");
        if width == 0 || height == 0 || mosaic.len() as u64 != width as u64 * height as u64 {
            return Err(Error::InvalidInput(format!(
                "mosaic of {} values does not match {width}×{height}",
                mosaic.len()
            )));
        }
        let frame = Frame {
            source,
            width,
            height,
            mosaic,
            cfa,
            black: [black; 4],
            white,
            wb: [1.0; 3],
            xyz_to_cam: SRGB_TO_XYZ_INVERSE,
            orientation: 1,
            exif: Exif::default(),
            noise_profile: None,
            cfa_block: 1,
            xtrans: None,
            colour: None,
            linear_rgb: None,
            opcodes: Default::default(),
        };
        frame.validate()?;
        Ok(frame)
    }

    /// The same mosaic read as an X-Trans sensor with layout `xtrans` (e.g. an X-Trans mosaic saved
    /// as a single-channel image).
    pub fn with_xtrans(mut self, xtrans: XTrans) -> Frame {
        self.xtrans = Some(xtrans);
        self.cfa_block = 1;
        self
    }

    /// Check dimensions and levels; every constructor ends here.
    pub(crate) fn validate(&self) -> Result<()> {
        let path = &self.source;
        if self.width == 0 || self.height == 0 {
            return Err(Error::decode(path, "the image has no pixels"));
        }
        if self.width > MAX_SIDE
            || self.height > MAX_SIDE
            || self.width as u64 * self.height as u64 > MAX_PIXELS
        {
            return Err(Error::limits(
                path,
                format!(
                    "{}×{} pixels is beyond the supported size",
                    self.width, self.height
                ),
            ));
        }
        if self.mosaic.len() as u64
            != self.width as u64 * self.height as u64 * self.samples() as u64
        {
            return Err(Error::decode(
                path,
                "pixel data is shorter than the image size (truncated file?)",
            ));
        }
        if !(self.white.is_finite() && self.white > 0.0 && self.white <= 65535.0) {
            return Err(Error::decode(
                path,
                format!("white level {} is out of range", self.white),
            ));
        }
        if self
            .black
            .iter()
            .any(|&b| !(b.is_finite() && b >= 0.0 && b < self.white))
        {
            return Err(Error::decode(
                path,
                format!(
                    "black levels {:?} are not below the white level {} (corrupt metadata?)",
                    self.black, self.white
                ),
            ));
        }
        if let Some(levels) = &self.linear_rgb {
            dng::linear_raw::check_levels(path, levels)?;
        }
        if self.wb.iter().any(|&w| !(w.is_finite() && w > 0.0)) {
            return Err(Error::decode(
                path,
                format!("white balance {:?} is invalid", self.wb),
            ));
        }
        Ok(())
    }

    /// Width of the active area in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Height of the active area in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }
    /// The Bayer layout of the active area (of its same-colour blocks, for Quad Bayer / Nonacell);
    /// meaningless for X-Trans frames (see [`Frame::xtrans`]).
    pub fn cfa(&self) -> Cfa {
        self.cfa
    }
    /// Side of the sensor's same-colour pixel blocks: 1 Bayer, 2 Quad Bayer, 3 Nonacell.
    pub fn cfa_block(&self) -> u32 {
        self.cfa_block
    }
    /// The X-Trans layout of the active area, for X-Trans sensors (Fujifilm).
    pub fn xtrans(&self) -> Option<XTrans> {
        self.xtrans
    }
    /// The file this frame came from.
    pub fn source(&self) -> &Path {
        &self.source
    }
    /// Capture metadata.
    pub fn exif(&self) -> &Exif {
        &self.exif
    }
    /// EXIF orientation (1 = as stored).
    pub fn orientation(&self) -> u16 {
        self.orientation
    }
    /// White-balance multipliers (R, G, B), G = 1: the as-shot white balance, which a default
    /// develop uses. When the file has none usable ([`Frame::has_as_shot_white_balance`] false),
    /// these are the camera's daylight (D65) multipliers and a default develop estimates the white
    /// from the image instead ([`crate::WhiteBalance::Auto`]; [`crate::Engine::white_balance`]
    /// gives the multipliers it picks).
    pub fn white_balance(&self) -> [f32; 3] {
        self.wb
    }
    /// Whether the file records a usable as-shot white (AsShotNeutral, AsShotWhiteXY or the
    /// camera's multipliers).
    pub fn has_as_shot_white_balance(&self) -> bool {
        self.colour_model().as_shot_neutral().is_some()
    }
    /// BaselineExposure in EV (DNG; 0 for other formats): the develop brightens by it, and
    /// `exposure_ev` is relative to it.
    pub fn baseline_exposure(&self) -> f64 {
        self.colour_model().baseline_exposure
    }
    /// The colour model: the file's, or one D65 matrix with `wb` as shot.
    pub(crate) fn colour_model(&self) -> ColourModel {
        match &self.colour {
            Some(m) => m.clone(),
            None => ColourModel::single_d65(
                self.xyz_to_cam.map(|r| r.map(|v| v as f64)),
                Some(self.wb.map(|v| 1.0 / v as f64)),
            ),
        }
    }
    /// Black level per 2×2 position and white level, in sensor units (for a LinearRaw frame: its
    /// samples' lowest black and highest white).
    pub fn levels(&self) -> ([f32; 4], f32) {
        (self.black, self.white)
    }
    /// The DNG NoiseProfile (scale, offset): noise variance = scale·x + offset on the normalised
    /// [0, 1] signal, when the file carries one.
    pub fn noise_profile(&self) -> Option<[f64; 2]> {
        self.noise_profile
    }
    /// The raw sensor values of the active area, row-major (for a LinearRaw frame, R, G, B
    /// interleaved: see [`Frame::samples`]).
    pub fn mosaic(&self) -> &[u16] {
        &self.mosaic
    }
    /// Values per pixel: 1 for a sensor mosaic, 3 for a LinearRaw DNG (already demosaiced RGB).
    pub fn samples(&self) -> u32 {
        if self.linear_rgb.is_some() {
            3
        } else {
            1
        }
    }
    /// An `Unsupported` error naming the file if this frame is LinearRaw RGB: for the paths that
    /// need a sensor mosaic (`what` says which).
    pub(crate) fn require_mosaic(&self, what: &str) -> Result<()> {
        match self.linear_rgb {
            Some(_) => Err(Error::unsupported(
                &self.source,
                format!("{what} needs a sensor mosaic, and this LinearRaw DNG is already demosaiced RGB: develop it alone, without binning"),
            )),
            None => Ok(()),
        }
    }
}

/// XYZ(D65) → linear sRGB: the colour matrix of a "camera" whose RGB is sRGB.
pub(crate) const SRGB_TO_XYZ_INVERSE: [[f32; 3]; 3] = [
    [3.240_454, -1.537_138_5, -0.498_531_4],
    [-0.969_266, 1.876_010_8, 0.041_556],
    [0.055_643_4, -0.204_025_9, 1.057_225_2],
];
