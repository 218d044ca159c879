"""develop() and open(): the same pixels as the CLI, the CLI's option names, errors as Python
exceptions naming the file."""

import threading
import time

import numpy as np
import pytest

import burstpipe
from conftest import ASSETS, read_png

SAMPLE = ASSETS / "sample.dng"


def test_develop_matches_the_cli_16_bit_png(cli, tmp_path):
    out = tmp_path / "sample.png"
    cli("develop", SAMPLE, "-o", out)
    want = read_png(out)
    got = burstpipe.develop(SAMPLE)
    assert got.dtype == np.uint16 and got.shape == want.shape == (1156, 1734, 3)
    diff = np.abs(got.astype(np.int32) - want.astype(np.int32)).max()
    assert diff <= 64, f"max difference {diff} of 65535"
    # A real photo, not a flat or clipped array.
    assert got.std() > 2000 and 0 < got.mean() < 60000


def test_develop_options_mirror_the_cli(cli, tmp_path, engine):
    out = tmp_path / "sample8.png"
    cli("develop", SAMPLE, "-o", out, "--bits", "8", "--demosaic", "mhc", "--tone", "curve",
        "--exposure", "0.5", "--wb", "daylight", "--bin", "2")
    want = read_png(out)
    got = engine.develop(str(SAMPLE), bits=8, demosaic="mhc", tone="curve", exposure=0.5,
                         wb="daylight", bin=2)
    assert got.dtype == np.uint8 and got.shape == want.shape
    assert np.abs(got.astype(np.int16) - want.astype(np.int16)).max() <= 1


def test_missing_file_is_file_not_found_naming_it(tmp_path):
    missing = tmp_path / "no-such-photo.dng"
    with pytest.raises(FileNotFoundError) as e:
        burstpipe.develop(missing)
    assert "no-such-photo.dng" in str(e.value)
    assert e.value.filename == str(missing)
    with pytest.raises(FileNotFoundError, match="no-such-photo.dng"):
        burstpipe.open(missing)


def test_bad_options_are_value_errors_naming_the_choices():
    with pytest.raises(ValueError, match="demosaic.*'sharp'"):
        burstpipe.develop(SAMPLE, demosaic="sharp")
    with pytest.raises(ValueError, match="bits"):
        burstpipe.develop(SAMPLE, bits=12)
    with pytest.raises(ValueError, match="tone"):
        burstpipe.develop(SAMPLE, tone="filmic")
    with pytest.raises(TypeError, match="'exposre'.*exposure"):
        burstpipe.develop(SAMPLE, exposre=1.0)


def test_corrupt_file_is_a_decode_error_naming_it():
    bad = ASSETS / "bad" / "issue_9324_poc.crw"
    with pytest.raises(burstpipe.Error) as e:
        burstpipe.develop(bad)
    assert isinstance(e.value, (burstpipe.DecodeError, burstpipe.UnsupportedError))
    assert "issue_9324_poc.crw" in str(e.value)
    assert e.value.path == str(bad)
    # A finished photo where a raw file is needed.
    with pytest.raises(burstpipe.DecodeError, match="kodim01.png"):
        burstpipe.develop(ASSETS / "kodak" / "kodim01.png")


def test_open_reads_the_raw_metadata():
    info = burstpipe.open(SAMPLE)
    assert (info.make, info.width, info.height, info.cfa) == ("Canon", 1734, 1156, "rggb")
    assert info.model == "Canon EOS Kiss X4"  # the 550D's Japanese name
    assert info.black_levels == (2056.0,) * 4 and info.white_level == 15000.0
    r, g, b = info.white_balance
    assert g == 1.0 and r > 1 and b > 1
    assert info.exif["make"] == "Canon" and set(info.exif) >= {"iso", "exposure_time", "f_number"}
    assert "Canon" in repr(info)


def test_devices_and_engine_adapter():
    found = burstpipe.devices()
    assert found and found[0]["index"] == 0 and found[0]["name"]
    engine = burstpipe.Engine(adapter=0)
    assert engine.adapter["name"] == found[0]["name"]
    with pytest.raises(ValueError, match="backend"):
        burstpipe.Engine(backend="glide")
    with pytest.raises(ValueError, match="no adapter 99"):
        burstpipe.Engine(adapter=99)


def test_develop_releases_the_gil(engine, synthetic_burst):
    """Another Python thread keeps running while develop works on the GPU."""
    frame = sorted(synthetic_burst.iterdir())[0]
    call = []
    done = threading.Event()

    def work():
        start = time.perf_counter()
        engine.develop(frame, bits=8)
        call.extend([start, time.perf_counter()])
        done.set()

    ticks = []
    t = threading.Thread(target=work)
    t.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
    t.join()
    start, end = call
    # The middle half of the call: holding the GIL, develop would leave this thread no turn there.
    lo, hi = start + (end - start) / 4, end - (end - start) / 4
    inside = sum(lo <= x <= hi for x in ticks)
    assert inside > 1000, f"{inside} loop turns in the middle of a {end - start:.2f} s develop"
