//! burstpipe's errors as Python exceptions: missing files are `FileNotFoundError` (other I/O
//! failures `OSError`), bad parameters `ValueError`, everything else a `burstpipe.Error` subclass
//! named for its category. Each exception carries the file it is about in `.path` (or `None`).

use pyo3::create_exception;
use pyo3::exceptions::{
    PyException, PyFileNotFoundError, PyOSError, PyPermissionError, PyValueError,
};
use pyo3::prelude::*;

use burstpipe::Error;

create_exception!(
    burstpipe,
    BurstpipeError,
    PyException,
    "Base class of burstpipe's own errors."
);
create_exception!(burstpipe, DecodeError, BurstpipeError, "The file is not a raw or image file burstpipe can read, or it is corrupt or truncated (also: a finished photo given where a raw file is needed).");
create_exception!(
    burstpipe,
    UnsupportedError,
    BurstpipeError,
    "The file is valid but uses a layout burstpipe does not support."
);
create_exception!(burstpipe, LimitsError, DecodeError, "The file exceeds a safety limit (absurd dimensions, levels out of range): most likely corrupt.");
create_exception!(
    burstpipe,
    BurstMismatchError,
    BurstpipeError,
    "A frame of a burst does not match the others (size, CFA or camera)."
);
create_exception!(
    burstpipe,
    EncodeError,
    BurstpipeError,
    "An output file could not be encoded."
);
create_exception!(burstpipe, GpuError, BurstpipeError, "A GPU failure.");
create_exception!(
    burstpipe,
    NoAdapterError,
    GpuError,
    "No GPU adapter matches the request."
);
create_exception!(
    burstpipe,
    OutOfMemoryError,
    GpuError,
    "The GPU ran out of memory."
);
create_exception!(
    burstpipe,
    DeviceLostError,
    GpuError,
    "The GPU device was lost."
);
create_exception!(
    burstpipe,
    CancelledError,
    BurstpipeError,
    "The work was cancelled by its progress callback (which returned False)."
);

/// Add the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<BurstpipeError>())?;
    m.add("DecodeError", py.get_type::<DecodeError>())?;
    m.add("UnsupportedError", py.get_type::<UnsupportedError>())?;
    m.add("LimitsError", py.get_type::<LimitsError>())?;
    m.add("BurstMismatchError", py.get_type::<BurstMismatchError>())?;
    m.add("EncodeError", py.get_type::<EncodeError>())?;
    m.add("GpuError", py.get_type::<GpuError>())?;
    m.add("NoAdapterError", py.get_type::<NoAdapterError>())?;
    m.add("OutOfMemoryError", py.get_type::<OutOfMemoryError>())?;
    m.add("DeviceLostError", py.get_type::<DeviceLostError>())?;
    m.add("CancelledError", py.get_type::<CancelledError>())?;
    Ok(())
}

/// The Python exception for a library error.
pub fn to_py(e: Error) -> PyErr {
    let message = e.to_string();
    let (err, path) = match &e {
        Error::Io { path, source } => {
            // (errno, message, filename): Python prints "[Errno 2] ...: 'path'" and sets .filename.
            let args = (
                source.raw_os_error().unwrap_or(0),
                source.to_string(),
                path.to_string_lossy().into_owned(),
            );
            let err = match source.kind() {
                std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(args),
                std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(args),
                _ => PyOSError::new_err(args),
            };
            (err, Some(path))
        }
        Error::Decode { path, .. } | Error::NotRaw { path, .. } => {
            (DecodeError::new_err(message), Some(path))
        }
        Error::Unsupported { path, .. } => (UnsupportedError::new_err(message), Some(path)),
        Error::Limits { path, .. } => (LimitsError::new_err(message), Some(path)),
        Error::BurstMismatch { path, .. } => (BurstMismatchError::new_err(message), Some(path)),
        Error::Encode { path, .. } => (EncodeError::new_err(message), Some(path)),
        Error::InvalidInput(_) => (PyValueError::new_err(message), None),
        Error::File { path, .. } => (PyValueError::new_err(message), Some(path)),
        Error::NoAdapter { .. } => (NoAdapterError::new_err(message), None),
        Error::OutOfMemory { .. } => (OutOfMemoryError::new_err(message), None),
        Error::DeviceLost(_) => (DeviceLostError::new_err(message), None),
        Error::Gpu { .. } => (GpuError::new_err(message), None),
        Error::Cancelled => (CancelledError::new_err(message), None),
        _ => (BurstpipeError::new_err(message), None),
    };
    if let Some(path) = path {
        // OSError already has .filename; our own errors get .path (best effort: never masks `err`).
        Python::attach(|py| {
            let _ = err
                .value(py)
                .setattr("path", path.to_string_lossy().into_owned());
        });
    }
    err
}

/// A `ValueError` for option `name`.
pub fn bad_option(name: &str, why: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("{name}: {why}"))
}
