//! What a raw file says about itself (`burstpipe.open`), and the GPU adapters (`devices()`).

use pyo3::prelude::*;
use pyo3::types::PyDict;

use burstpipe::{AdapterInfo, Frame};

/// A raw file's metadata: camera, size, colour filter layout, levels, white balance and EXIF.
/// Returned by `burstpipe.open(path)`; the sizes are those of the active area, before rotation.
#[pyclass(module = "burstpipe", frozen, get_all)]
pub struct RawInfo {
    /// The file.
    path: String,
    /// Camera maker, as the file says.
    make: String,
    /// Camera model, as the file says.
    model: String,
    /// Width of the active sensor area in pixels (before `orientation` is applied).
    width: u32,
    /// Height of the active sensor area in pixels.
    height: u32,
    /// Colour filter layout: "rggb", "bggr", "grbg", "gbrg", "xtrans" or "linear" (a LinearRaw
    /// DNG, already RGB).
    cfa: String,
    /// Side of the same-colour blocks of the mosaic: 1 (Bayer), 2 (Quad Bayer), 3 (Nonacell).
    cfa_block: u32,
    /// Black level of each 2×2 position, in raw units.
    black_levels: (f32, f32, f32, f32),
    /// White (saturation) level in raw units.
    white_level: f32,
    /// As-shot white balance multipliers (R, G, B; G = 1).
    white_balance: (f32, f32, f32),
    /// Whether the file holds a usable as-shot white balance.
    has_as_shot_white_balance: bool,
    /// EXIF orientation (1 = upright).
    orientation: u16,
    /// DNG BaselineExposure in EV (0 when absent).
    baseline_exposure: f64,
    /// DNG NoiseProfile (scale, offset) of the variance, if the file has one.
    noise_profile: Option<(f64, f64)>,
    /// Capture metadata: make, model, exposure_time (s), iso, f_number, focal_length (mm),
    /// datetime ("YYYY:MM:DD HH:MM:SS"); missing values are None.
    exif: Py<PyDict>,
}

#[pymethods]
impl RawInfo {
    fn __repr__(&self) -> String {
        format!(
            "RawInfo({:?}: {} {}, {}×{}, {}, black {:?}, white {})",
            self.path,
            self.make,
            self.model,
            self.width,
            self.height,
            self.cfa,
            self.black_levels,
            self.white_level
        )
    }
}

impl RawInfo {
    /// The metadata of a decoded frame.
    pub fn of(py: Python<'_>, frame: &Frame) -> PyResult<RawInfo> {
        let e = frame.exif();
        let exif = PyDict::new(py);
        exif.set_item("make", &e.make)?;
        exif.set_item("model", &e.model)?;
        exif.set_item("exposure_time", e.exposure_time)?;
        exif.set_item("iso", e.iso)?;
        exif.set_item("f_number", e.f_number)?;
        exif.set_item("focal_length", e.focal_length)?;
        exif.set_item("datetime", e.datetime.clone())?;
        let (b, white) = frame.levels();
        let wb = frame.white_balance();
        let cfa = if frame.xtrans().is_some() {
            "xtrans".to_string()
        } else if frame.samples() == 3 {
            "linear".to_string()
        } else {
            frame.cfa().name().to_string()
        };
        Ok(RawInfo {
            path: frame.source().to_string_lossy().into_owned(),
            make: e.make.clone(),
            model: e.model.clone(),
            width: frame.width(),
            height: frame.height(),
            cfa,
            cfa_block: frame.cfa_block(),
            black_levels: (b[0], b[1], b[2], b[3]),
            white_level: white,
            white_balance: (wb[0], wb[1], wb[2]),
            has_as_shot_white_balance: frame.has_as_shot_white_balance(),
            orientation: frame.orientation(),
            baseline_exposure: frame.baseline_exposure(),
            noise_profile: frame.noise_profile().map(|p| (p[0], p[1])),
            exif: exif.unbind(),
        })
    }
}

/// An adapter as a dict: index, name, backend, device_type, driver, max_buffer_size,
/// max_storage_binding, max_texture_2d, max_workgroups_per_dim, timestamp_queries.
pub fn adapter_dict<'py>(py: Python<'py>, a: &AdapterInfo) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("index", a.index)?;
    d.set_item("name", &a.name)?;
    d.set_item("backend", &a.backend)?;
    d.set_item("device_type", &a.device_type)?;
    d.set_item("driver", &a.driver)?;
    d.set_item("max_buffer_size", a.max_buffer_size)?;
    d.set_item("max_storage_binding", a.max_storage_binding)?;
    d.set_item("max_texture_2d", a.max_texture_2d)?;
    d.set_item("max_workgroups_per_dim", a.max_workgroups_per_dim)?;
    d.set_item("timestamp_queries", a.timestamp_queries)?;
    Ok(d)
}
