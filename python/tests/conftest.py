"""Shared fixtures: the repository's data, the CLI to compare with, and a synthetic raw burst."""

import os
import struct
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

import burstpipe

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "assets"


def shared_data(rel):
    """A file of the shared test data (``../shared/data`` beside the repository, or under
    ``$BURSTPIPE_SHARED``); missing data fails the test (it never skips)."""
    root = Path(os.environ.get("BURSTPIPE_SHARED", REPO.parent / "shared"))
    path = root / "data" / rel
    assert path.exists(), f"{path}: shared test data missing (see the repository README)"
    return path


@pytest.fixture(scope="session")
def cli():
    """Run the `burstpipe` CLI built by cargo (``$BURSTPIPE_CLI``, else target/debug/burstpipe)."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    exe = Path(os.environ.get("BURSTPIPE_CLI", target / "debug" / "burstpipe"))
    assert exe.exists(), f"{exe}: build the CLI first (cargo build -p burstpipe-cli)"

    def run(*args):
        done = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True)
        assert done.returncode == 0, f"burstpipe {' '.join(map(str, args))}: {done.stderr}"
        return done

    return run


def read_png(path):
    """An RGB PNG as an (H, W, 3) array of its stored depth (OpenCV, not burstpipe, reads it)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert bgr is not None, f"{path}: unreadable"
    return np.ascontiguousarray(bgr[..., ::-1])


@pytest.fixture(scope="session")
def engine():
    """The shared default engine (one per test session, as in a script)."""
    return burstpipe.default_engine()


def write_dng(path, mosaic, black=256, white=4095, make="burstpipe", model="synthetic"):
    """A minimal uncompressed RGGB DNG 1.4 (one strip, 16-bit samples, identity colour matrix)."""
    h, w = mosaic.shape
    data = mosaic.astype("<u2").tobytes()
    entries = []  # (tag, type, count, payload bytes)

    def tag(t, typ, values):
        fmt = {1: "B", 2: "s", 3: "H", 4: "I", 5: "II", 10: "ii"}[typ]
        if typ == 2:
            payload, count = values.encode() + b"\0", len(values) + 1
        else:
            flat = [x for v in values for x in (v if isinstance(v, tuple) else (v,))]
            payload, count = struct.pack("<" + fmt[0] * len(flat), *flat), len(values)
        entries.append((t, typ, count, payload))

    tag(254, 4, [0])
    tag(256, 4, [w])
    tag(257, 4, [h])
    tag(258, 3, [16])
    tag(259, 3, [1])
    tag(262, 3, [32803])
    tag(271, 2, make)
    tag(272, 2, model)
    tag(273, 4, [0])  # strip offset, patched below
    tag(274, 3, [1])
    tag(277, 3, [1])
    tag(278, 4, [h])
    tag(279, 4, [len(data)])
    tag(284, 3, [1])
    tag(33421, 3, [2, 2])
    tag(33422, 1, [0, 1, 1, 2])
    tag(50706, 1, [1, 4, 0, 0])
    tag(50708, 2, f"{make} {model}")
    tag(50714, 4, [black])
    tag(50717, 4, [white])
    tag(50721, 10, [(1, 1), (0, 1), (0, 1), (0, 1), (1, 1), (0, 1), (0, 1), (0, 1), (1, 1)])
    tag(50728, 5, [(1, 1), (1, 1), (1, 1)])
    tag(50778, 3, [21])

    ifd_size = 2 + 12 * len(entries) + 4
    extra_at = 8 + ifd_size
    extra = b""
    ifd = struct.pack("<H", len(entries))
    strip_at = None
    for t, typ, count, payload in entries:
        if len(payload) <= 4:
            ifd += struct.pack("<HHI", t, typ, count) + payload.ljust(4, b"\0")
        else:
            ifd += struct.pack("<HHII", t, typ, count, extra_at + len(extra))
            extra += payload + (b"\0" if len(payload) % 2 else b"")
    ifd += struct.pack("<I", 0)
    strip_at = extra_at + len(extra)
    # Patch StripOffsets (tag 273) with where the pixels start.
    i = [e[0] for e in entries].index(273)
    at = 2 + 12 * i + 8
    ifd = ifd[:at] + struct.pack("<I", strip_at) + ifd[at + 4:]
    Path(path).write_bytes(b"II*\0" + struct.pack("<I", 8) + ifd + extra + data)


@pytest.fixture(scope="session")
def synthetic_burst(tmp_path_factory):
    """Four 12-bit RGGB frames of a Kodak photo (kodim23), each shifted by a few pixels (hand
    shake) with its own shot and read noise, as DNG files in a folder, in capture order."""
    rgb = read_png(ASSETS / "kodak" / "kodim23.png").astype(np.float64) / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    rng = np.random.default_rng(23)
    folder = tmp_path_factory.mktemp("burst")
    h, w = 192, 256
    for i, (dx, dy) in enumerate([(0, 0), (3, 1), (-2, 2), (1, -3)]):
        y0, x0 = 100 + dy, 200 + dx
        crop = linear[y0:y0 + h, x0:x0 + w]
        mosaic = np.empty((h, w))
        mosaic[0::2, 0::2] = crop[0::2, 0::2, 0]
        mosaic[0::2, 1::2] = crop[0::2, 1::2, 1]
        mosaic[1::2, 0::2] = crop[1::2, 0::2, 1]
        mosaic[1::2, 1::2] = crop[1::2, 1::2, 2]
        signal = mosaic * (4095 - 256) * 0.8
        noisy = signal + rng.normal(0, 1, signal.shape) * np.sqrt(2.0 * signal + 16.0)
        raw = np.clip(np.round(noisy + 256), 0, 4095).astype(np.uint16)
        write_dng(folder / f"frame{i:02}.dng", raw)
    return folder
