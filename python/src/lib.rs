//! The native half of the `burstpipe` Python package (`burstpipe._native`): a thin front over the
//! burstpipe library, as the CLI is. Options are the CLI's names, parsed by the library; defaults
//! are the library's; GPU work runs with the GIL released.

mod arrays;
mod engine;
mod errors;
mod info;
mod options;
mod progress;

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use burstpipe::{Backend, Frame};

use crate::errors::{bad_option, to_py};

/// open(path) -> RawInfo
///
/// Read a raw file's metadata (camera, size, CFA, black/white levels, white balance, EXIF). The
/// file is decoded in full, so a file that opens here also develops.
#[pyfunction]
fn open(py: Python<'_>, path: PathBuf) -> PyResult<info::RawInfo> {
    let frame = py.detach(|| Frame::open(&path)).map_err(to_py)?;
    info::RawInfo::of(py, &frame)
}

/// devices(backend="auto") -> list[dict]
///
/// Every GPU adapter found for `backend`, best first, as dicts: index (for `Engine(adapter=...)`),
/// name, backend, device_type, driver, max_buffer_size, max_storage_binding, max_texture_2d,
/// max_workgroups_per_dim, timestamp_queries.
#[pyfunction]
#[pyo3(signature = (backend = "auto"))]
fn devices<'py>(py: Python<'py>, backend: &str) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let backend: Backend = backend.parse().map_err(|why| bad_option("backend", why))?;
    let list = py.detach(|| burstpipe::Engine::adapters(backend));
    list.iter().map(|a| info::adapter_dict(py, a)).collect()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<engine::Engine>()?;
    m.add_class::<info::RawInfo>()?;
    m.add_function(wrap_pyfunction!(open, m)?)?;
    m.add_function(wrap_pyfunction!(devices, m)?)?;
    errors::register(m)?;
    Ok(())
}
