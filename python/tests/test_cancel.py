"""Progress and cancellation: a KeyboardInterrupt (Ctrl-C, or raised by the callback) stops a
merge at its next step and the engine keeps working; returning False cancels."""

import signal

import numpy as np
import pytest

import burstpipe


def test_progress_rises_to_the_total(engine, synthetic_burst):
    seen = []
    engine.merge(synthetic_burst, merge="spatial", progress=lambda d, t, s: seen.append((d, t, s)))
    assert len(seen) >= 4
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    assert seen[-1][0] == seen[-1][1]
    assert all(isinstance(s, str) and s for _, _, s in seen)


def test_ctrl_c_stops_a_merge_cleanly_and_the_engine_still_works(engine, synthetic_burst):
    want = engine.merge(synthetic_burst, merge="spatial")
    calls = []

    def interrupt(done, total, stage):
        calls.append(done)
        if len(calls) == 2:
            signal.raise_signal(signal.SIGINT)  # as Ctrl-C does

    # Python raises KeyboardInterrupt on SIGINT only where SIGINT was not ignored when it started;
    # a shell starts background jobs with SIGINT ignored (CI runners may too): install Python's
    # own Ctrl-C handler for this test, as an interactive session has it.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            engine.merge(synthetic_burst, merge="spatial", progress=interrupt)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert len(calls) == 2, "the merge stopped at the step after the signal"
    # Nothing left running; the same engine gives the same result.
    assert np.array_equal(engine.merge(synthetic_burst, merge="spatial"), want)


def test_an_exception_from_the_callback_stops_the_merge(engine, synthetic_burst):
    class Stop(Exception):
        pass

    def fail(done, total, stage):
        raise Stop(stage)

    with pytest.raises(Stop):
        engine.merge(synthetic_burst, progress=fail)
    with pytest.raises(burstpipe.CancelledError):
        engine.merge(synthetic_burst, progress=lambda d, t, s: False)
    assert engine.merge(synthetic_burst, bits=8).dtype == np.uint8
