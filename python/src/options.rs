//! Keyword options, named as the CLI's flags (`demosaic`, `exposure`, `bits`, `bin`, `remosaic`,
//! `tone`, `wb`, ...), turned into the library's option types. Defaults are the library's: an
//! option left out (or None) keeps `Options::default()`'s value. Text values are parsed by the
//! library's own parsers, so the messages and the accepted names are the CLI's.

use std::path::PathBuf;
use std::str::FromStr;

use pyo3::conversion::FromPyObjectOwned;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use burstpipe::{FuseOptions, MergeOptions, Options};

use crate::errors::bad_option;

/// The keyword arguments of one call, taken one by one; whatever is left is an error.
pub struct Kwargs<'py> {
    call: &'static str,
    dict: Bound<'py, PyDict>,
}

impl<'py> Kwargs<'py> {
    /// The keywords given to `call` (copied: the caller's dict is not touched).
    pub fn new(
        py: Python<'py>,
        call: &'static str,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Self> {
        let dict = match kwargs {
            Some(d) => d.copy()?,
            None => PyDict::new(py),
        };
        Ok(Kwargs { call, dict })
    }

    /// The value of `key` (None when absent or None), converted to `T`.
    pub fn take<T: FromPyObjectOwned<'py>>(&self, key: &str) -> PyResult<Option<T>> {
        let Some(v) = self.dict.get_item(key)? else {
            return Ok(None);
        };
        self.dict.del_item(key)?;
        if v.is_none() {
            return Ok(None);
        }
        v.extract::<T>().map(Some).map_err(|e| {
            bad_option(
                key,
                format!("{} (got {})", Into::<PyErr>::into(e), type_name(&v)),
            )
        })
    }

    /// Option `key` parsed by the library's `FromStr` (the CLI's names; a bad one gives the
    /// library's message listing the choices). Given as text, or as a number (`bin=2`) or three
    /// numbers (`wb=(2.0, 1.0, 1.5)`), which are the texts "2" and "2,1,1.5".
    pub fn parsed<T: FromStr<Err = String>>(&self, key: &str) -> PyResult<Option<T>> {
        let Some(v) = self.dict.get_item(key)? else {
            return Ok(None);
        };
        self.dict.del_item(key)?;
        if v.is_none() {
            return Ok(None);
        }
        let text = if let Ok(s) = v.cast::<PyString>() {
            s.to_string()
        } else if let Ok(n) = v.extract::<i64>() {
            n.to_string()
        } else if let Ok(m) = v.extract::<Vec<f64>>() {
            m.iter().map(f64::to_string).collect::<Vec<_>>().join(",")
        } else {
            return Err(bad_option(
                key,
                format!("expected text, got {}", type_name(&v)),
            ));
        };
        text.parse().map(Some).map_err(|why| bad_option(key, why))
    }

    /// Any keyword not taken is a TypeError naming it and the options this call knows.
    pub fn finish(self, known: &[&str]) -> PyResult<()> {
        if let Some((k, _)) = self.dict.iter().next() {
            return Err(PyTypeError::new_err(format!(
                "{}() got an unexpected keyword argument {}; its options: {}",
                self.call,
                k.repr()?,
                known.join(", ")
            )));
        }
        Ok(())
    }
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// The develop options (`develop`, and the develop half of `merge`).
pub const DEVELOP_KEYS: &[&str] = &[
    "demosaic",
    "exposure",
    "bits",
    "bin",
    "remosaic",
    "tone",
    "wb",
    "max_band_rows",
];

/// How to develop, from `demosaic`, `exposure`, `bits`, `bin`, `remosaic`, `tone`, `wb` and
/// `max_band_rows`.
pub fn develop(kw: &Kwargs) -> PyResult<Options> {
    let d = Options::default();
    Ok(Options {
        demosaic: kw.parsed("demosaic")?.unwrap_or(d.demosaic),
        exposure_ev: kw.take("exposure")?.or(d.exposure_ev),
        bits: kw.take("bits")?.unwrap_or(d.bits),
        binning: kw.parsed("bin")?.unwrap_or(d.binning),
        remosaic: kw.take("remosaic")?.unwrap_or(d.remosaic),
        tone: kw.parsed("tone")?.unwrap_or(d.tone),
        white_balance: kw.parsed("wb")?.unwrap_or(d.white_balance),
        max_band_rows: kw.take("max_band_rows")?.or(d.max_band_rows),
    })
}

/// The merge options (besides the develop ones).
pub const MERGE_KEYS: &[&str] = &["reference", "merge", "strength", "frames"];

/// How to merge, from `reference` ("auto" or a frame index), `merge` ("wiener" or "spatial"),
/// `strength`, `frames` and the develop options.
pub fn merge(kw: &Kwargs) -> PyResult<MergeOptions> {
    let d = MergeOptions::default();
    let reference =
        match kw.take::<Bound<PyAny>>("reference")? {
            None => d.reference,
            Some(v)
                if v.cast::<PyString>()
                    .is_ok_and(|s| s.to_string().eq_ignore_ascii_case("auto")) =>
            {
                None
            }
            Some(v) => Some(v.extract::<usize>().map_err(|_| {
                bad_option("reference", "use \"auto\" or a frame index (0, 1, ...)")
            })?),
        };
    Ok(MergeOptions {
        reference,
        method: kw.parsed("merge")?.unwrap_or(d.method),
        strength: kw.take("strength")?.unwrap_or(d.strength),
        frames: kw.take("frames")?.or(d.frames),
        develop: develop(kw)?,
        ..d
    })
}

/// The fusion options.
pub const FUSE_KEYS: &[&str] = &[
    "contrast",
    "saturation",
    "exposedness",
    "bits",
    "align",
    "no_align",
    "opencv_neutral",
];

/// How to fuse, from `contrast`, `saturation`, `exposedness`, `bits`, `align` (or the CLI's
/// `no_align`) and `opencv_neutral`.
pub fn fuse(kw: &Kwargs) -> PyResult<FuseOptions> {
    let d = FuseOptions::default();
    let no_align: Option<bool> = kw.take("no_align")?;
    Ok(FuseOptions {
        contrast: kw.take("contrast")?.unwrap_or(d.contrast),
        saturation: kw.take("saturation")?.unwrap_or(d.saturation),
        exposedness: kw.take("exposedness")?.unwrap_or(d.exposedness),
        bits: kw.take("bits")?.or(d.bits),
        align: kw
            .take("align")?
            .or(no_align.map(|n| !n))
            .unwrap_or(d.align),
        opencv_neutral: kw.take("opencv_neutral")?.unwrap_or(d.opencv_neutral),
    })
}

/// One path (str or os.PathLike) or a sequence of them.
pub fn paths(v: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    if let Ok(p) = v.extract::<PathBuf>() {
        return Ok(vec![p]);
    }
    v.try_iter()
        .and_then(|it| it.map(|p| p?.extract::<PathBuf>()).collect())
        .map_err(|_| {
            PyTypeError::new_err("expected a path (str or os.PathLike) or a list of paths")
        })
}
