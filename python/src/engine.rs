//! `burstpipe.Engine`: one GPU device with its compiled kernels, kept between calls.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use burstpipe::files::{burst_files, exposure_files};
use burstpipe::{Backend, Burst, EngineOptions, Frame, Image};

use crate::errors::{bad_option, to_py};
use crate::options::{self, Kwargs, DEVELOP_KEYS, FUSE_KEYS, MERGE_KEYS};
use crate::progress::detached;
use crate::{arrays, info};

/// A GPU device ready to run burstpipe's kernels. Pipelines are compiled once per engine, so
/// keep one and reuse it; an engine may be shared between threads (calls release the GIL).
///
/// Engine(backend="auto", adapter=None): `backend` is "auto", "vulkan", "metal", "dx12" or
/// "gl"; `adapter` an index from `burstpipe.devices()` (default: the best adapter).
#[pyclass(module = "burstpipe", frozen)]
pub struct Engine {
    inner: Arc<burstpipe::Engine>,
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (backend = None, adapter = None))]
    fn new(py: Python<'_>, backend: Option<&str>, adapter: Option<usize>) -> PyResult<Engine> {
        let options = EngineOptions {
            backend: parse_backend(backend)?,
            adapter,
        };
        let inner = py
            .detach(|| burstpipe::Engine::new(&options))
            .map_err(to_py)?;
        Ok(Engine {
            inner: Arc::new(inner),
        })
    }

    /// The adapter this engine runs on, as a dict (see `burstpipe.devices()`).
    #[getter]
    fn adapter<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        info::adapter_dict(py, self.inner.adapter())
    }

    fn __repr__(&self) -> String {
        let a = self.inner.adapter();
        format!("Engine({} on {})", a.name, a.backend)
    }

    /// develop(path, *, demosaic="rcd", exposure=None, bits=16, bin="off", remosaic=False,
    /// tone="fusion", wb="as-shot", max_band_rows=None, progress=None) -> numpy.ndarray
    ///
    /// Develop one raw file (DNG or a camera raw) into a finished, upright photo: an (H, W, 3)
    /// array, uint16 (bits=16, the default) or uint8 (bits=8), sRGB-encoded (linear light with
    /// tone="linear"). The options are the CLI's `develop` flags.
    #[pyo3(signature = (path, **options))]
    fn develop<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let engine = &self.inner;
        let call = Call::new(py, "develop", options, DEVELOP_KEYS, options::develop)?;
        call.run(|develop, p| {
            let frame = Frame::open(&path)?;
            engine.develop_with_progress(&frame, develop, p)
        })
    }

    /// merge(paths, *, reference="auto", merge="wiener", strength=1.0, frames=None, <develop
    /// options>, progress=None) -> numpy.ndarray
    ///
    /// Align and merge a raw burst (a folder, taken in name order, or a list of files in
    /// capture order), then develop it like `develop`. Ctrl-C (KeyboardInterrupt) stops it at
    /// the next step and leaves the engine usable.
    #[pyo3(signature = (paths, **options))]
    fn merge<'py>(
        &self,
        py: Python<'py>,
        paths: &Bound<'py, PyAny>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let paths = options::paths(paths)?;
        let engine = &self.inner;
        let keys = [MERGE_KEYS, DEVELOP_KEYS].concat();
        let call = Call::new(py, "merge", options, &keys, options::merge)?;
        call.run(|merge, p| {
            let mut files = burst_files(&paths)?;
            if let Some(k) = merge.frames {
                files.truncate(k.max(1));
            }
            let burst = Burst::open(&files)?;
            engine.merge_with_progress(&burst, merge, p)
        })
    }

    /// fuse(exposures, *, contrast=1.0, saturation=1.0, exposedness=1.0, bits=None, align=True,
    /// opencv_neutral=False, progress=None) -> numpy.ndarray
    ///
    /// Fuse a bracket of exposures (Mertens exposure fusion) into one photo. `exposures` is a
    /// list of (H, W, 3) uint8/uint16 sRGB arrays, or of paths (JPEG, PNG, TIFF or raw files —
    /// raw ones developed at 0 EV with the plain curve, as the CLI does — or folders of them),
    /// or one folder. The result has the deepest input's bits unless `bits` says otherwise.
    #[pyo3(signature = (exposures, **options))]
    fn fuse<'py>(
        &self,
        py: Python<'py>,
        exposures: &Bound<'py, PyAny>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let exposures = exposure_list(exposures)?;
        let engine = &self.inner;
        let call = Call::new(py, "fuse", options, FUSE_KEYS, options::fuse)?;
        call.run(|fuse, p| {
            // Files only: the CLI's route (decoded side by side, errors naming the file).
            if let Some(paths) = exposures
                .iter()
                .map(Exposure::path)
                .collect::<Option<Vec<_>>>()
            {
                return engine.fuse_files_with_progress(&paths, fuse, p);
            }
            let mut images = Vec::with_capacity(exposures.len());
            for e in exposures {
                match e {
                    Exposure::Image(i) => images.push(i),
                    Exposure::Path(path) => {
                        for f in exposure_files(&[path])? {
                            images.push(engine.open_exposure(&f)?);
                        }
                    }
                }
            }
            check_bracket(&images)?;
            engine.fuse_with_progress(&images, fuse, p)
        })
    }
}

/// One call's parsed options and progress callback, ready to run.
struct Call<'py, O> {
    py: Python<'py>,
    options: O,
    progress: Option<Py<PyAny>>,
}

impl<'py, O: Sync> Call<'py, O> {
    /// The keywords of `name` (`keys` and `progress`), parsed by `parse`; others are a TypeError.
    fn new(
        py: Python<'py>,
        name: &'static str,
        kwargs: Option<&Bound<'py, PyDict>>,
        keys: &[&str],
        parse: impl FnOnce(&Kwargs) -> PyResult<O>,
    ) -> PyResult<Self> {
        let kw = Kwargs::new(py, name, kwargs)?;
        let progress = kw.take::<Py<PyAny>>("progress")?;
        let options = parse(&kw)?;
        kw.finish(&[keys, &["progress"]].concat())?;
        Ok(Call {
            py,
            options,
            progress,
        })
    }

    /// Run `work` with the GIL released and the progress hook; its image as an array.
    fn run(
        self,
        work: impl FnOnce(&O, &mut burstpipe::Progress<'_>) -> burstpipe::Result<Image> + Send,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = &self.options;
        let image = detached(self.py, self.progress, |p| work(options, p))?;
        arrays::to_array(self.py, image)
    }
}

fn parse_backend(backend: Option<&str>) -> PyResult<Backend> {
    backend
        .map(str::parse)
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(|why| bad_option("backend", why))
}

/// One exposure of a bracket as given: pixels, or a file or folder to open.
enum Exposure {
    Image(Image),
    Path(PathBuf),
}

impl Exposure {
    fn path(&self) -> Option<&PathBuf> {
        match self {
            Exposure::Path(p) => Some(p),
            Exposure::Image(_) => None,
        }
    }
}

/// The exposures: a path (a folder), or a list of paths and arrays, read while holding the GIL.
fn exposure_list(v: &Bound<'_, PyAny>) -> PyResult<Vec<Exposure>> {
    if let Ok(p) = v.extract::<PathBuf>() {
        return Ok(vec![Exposure::Path(p)]);
    }
    if v.cast::<PyList>().is_err() && v.hasattr("shape")? {
        return Err(PyValueError::new_err(
            "exposures: pass a list of arrays (one per exposure), not one array",
        ));
    }
    v.try_iter()?
        .enumerate()
        .map(|(i, e)| {
            let e = e?;
            match e.extract::<PathBuf>() {
                Ok(p) => Ok(Exposure::Path(p)),
                Err(_) => arrays::from_array(&e, &format!("exposure {i}")).map(Exposure::Image),
            }
        })
        .collect()
}

/// A bracket is at least two exposures of one size.
fn check_bracket(images: &[Image]) -> burstpipe::Result<()> {
    if images.len() < 2 {
        return Err(burstpipe::Error::InvalidInput(format!(
            "exposure fusion needs at least two exposures, got {}",
            images.len()
        )));
    }
    let (w, h) = (images[0].width, images[0].height);
    if let Some((i, img)) = images
        .iter()
        .enumerate()
        .find(|(_, i)| (i.width, i.height) != (w, h))
    {
        return Err(burstpipe::Error::InvalidInput(format!(
            "exposure {i} is {}×{}, but exposure 0 is {w}×{h}: a bracket's exposures must have the same size",
            img.width, img.height
        )));
    }
    Ok(())
}
