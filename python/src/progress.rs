//! Running engine work with the GIL released, a progress callback, and cancellation.
//!
//! The work runs detached from the interpreter, so other Python threads run meanwhile. After each
//! step the engine calls our hook, which takes the GIL back briefly: it checks for signals (Ctrl-C
//! raises KeyboardInterrupt there) and calls the user's `progress(done, total, stage)`. An
//! exception from either, or `False` returned, cancels the work through the engine's own
//! mechanism (it stops at that step boundary with nothing left running on the GPU, and the engine
//! stays usable); the exception is then re-raised, or `CancelledError` for `False`.

use std::ops::ControlFlow;

use pyo3::prelude::*;

use crate::errors::to_py;

/// Run `work` without the GIL, giving it the progress hook.
pub fn detached<T: Send>(
    py: Python<'_>,
    progress: Option<Py<PyAny>>,
    work: impl FnOnce(&mut burstpipe::Progress<'_>) -> burstpipe::Result<T> + Send,
) -> PyResult<T> {
    let mut raised: Option<PyErr> = None;
    let result = py.detach(|| {
        let mut hook = |done: usize, total: usize, stage: &str| {
            Python::attach(|py| match step(py, progress.as_ref(), done, total, stage) {
                Ok(true) => ControlFlow::Continue(()),
                Ok(false) => ControlFlow::Break(()),
                Err(e) => {
                    raised = Some(e);
                    ControlFlow::Break(())
                }
            })
        };
        work(&mut hook)
    });
    match (result, raised) {
        (Ok(v), _) => Ok(v),
        (Err(burstpipe::Error::Cancelled), Some(e)) => Err(e),
        (Err(e), _) => Err(to_py(e)),
    }
}

/// One step: pending signals, then the callback; `Ok(false)` when the callback returned False.
fn step(
    py: Python<'_>,
    progress: Option<&Py<PyAny>>,
    done: usize,
    total: usize,
    stage: &str,
) -> PyResult<bool> {
    py.check_signals()?;
    let Some(callback) = progress else {
        return Ok(true);
    };
    let answer = callback.call1(py, (done, total, stage))?;
    Ok(!answer
        .bind(py)
        .is(pyo3::types::PyBool::new(py, false).as_any()))
}
