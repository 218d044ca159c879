//! Images as numpy arrays: (height, width, 3), uint16 for 16-bit images, uint8 for 8-bit ones.

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use burstpipe::Image;

/// The image's pixels as a new (H, W, 3) array (16-bit data moves without a copy).
pub fn to_array<'py>(py: Python<'py>, image: Image) -> PyResult<Bound<'py, PyAny>> {
    let shape = [image.height as usize, image.width as usize, 3];
    let array = if image.bits == 8 {
        let bytes: Vec<u8> = image.data.iter().map(|&v| v.min(255) as u8).collect();
        PyArray1::from_vec(py, bytes).reshape(shape)?.into_any()
    } else {
        PyArray1::from_vec(py, image.data)
            .reshape(shape)?
            .into_any()
    };
    Ok(array)
}

/// A finished photo from an (H, W, 3) uint8 or uint16 array (sRGB-encoded; 8 or 16 bits).
pub fn from_array(v: &Bound<'_, PyAny>, what: &str) -> PyResult<Image> {
    let (bits, shape, data) = if let Ok(a) = v.extract::<PyReadonlyArray3<u8>>() {
        (
            8,
            a.shape().to_vec(),
            a.as_array().iter().map(|&x| x as u16).collect(),
        )
    } else if let Ok(a) = v.extract::<PyReadonlyArray3<u16>>() {
        (
            16,
            a.shape().to_vec(),
            a.as_array().iter().copied().collect::<Vec<u16>>(),
        )
    } else {
        return Err(PyTypeError::new_err(format!(
            "{what}: expected a path or an (H, W, 3) uint8 or uint16 numpy array"
        )));
    };
    if shape[2] != 3 {
        return Err(PyValueError::new_err(format!(
            "{what}: an image array must be (H, W, 3) RGB, got shape {shape:?}"
        )));
    }
    let side = |n: usize| {
        u32::try_from(n)
            .map_err(|_| PyValueError::new_err(format!("{what}: {n} pixels is too large a side")))
    };
    Ok(Image {
        width: side(shape[1])?,
        height: side(shape[0])?,
        bits,
        data,
        exif: Default::default(),
    })
}
