"""burstpipe: GPU burst photography from Python.

Develop raw photos, align and merge raw bursts, and fuse exposure brackets on any GPU (Vulkan,
Metal, DX12, GL through wgpu), with numpy arrays in and out::

    import burstpipe
    rgb = burstpipe.develop("photo.dng")               # (H, W, 3) uint16, sRGB
    night = burstpipe.merge("burst/", bits=8)          # a folder of raw frames
    hdr = burstpipe.fuse([dark, mid, bright])          # arrays or paths
    info = burstpipe.open("photo.dng")                 # camera, size, CFA, levels, WB, EXIF

Options are the CLI's (``demosaic``, ``exposure``, ``bits``, ``bin``, ``remosaic``, ``tone``,
``wb``; for merge ``reference``, ``merge``, ``strength``, ``frames``; for fuse ``contrast``,
``saturation``, ``exposedness``, ``bits``, ``align``/``no_align``, ``opencv_neutral``), and
every call takes ``progress=callable(done, total, stage)``.

The module-level functions share one :class:`Engine`, created on first use on the best adapter.
Create your own ``Engine(backend=..., adapter=...)`` to choose the device. Calls release the GIL
while they work; Ctrl-C (KeyboardInterrupt) stops a long call at its next step and leaves the
engine usable. Errors: ``FileNotFoundError`` for a missing file, ``ValueError`` for a bad option,
and :class:`Error` subclasses (``DecodeError``, ``UnsupportedError``, ``GpuError``, ...) for the
rest, each naming the file (also in ``.path``).
"""

import threading as _threading

from ._native import (  # noqa: F401
    BurstMismatchError,
    CancelledError,
    DecodeError,
    DeviceLostError,
    EncodeError,
    Engine,
    Error,
    GpuError,
    LimitsError,
    NoAdapterError,
    OutOfMemoryError,
    RawInfo,
    UnsupportedError,
    __version__,
    devices,
    open,
)

__all__ = [
    "BurstMismatchError",
    "CancelledError",
    "DecodeError",
    "DeviceLostError",
    "EncodeError",
    "Engine",
    "Error",
    "GpuError",
    "LimitsError",
    "NoAdapterError",
    "OutOfMemoryError",
    "RawInfo",
    "UnsupportedError",
    "default_engine",
    "develop",
    "devices",
    "fuse",
    "merge",
    "open",
]

_default = None
_default_lock = _threading.Lock()


def default_engine():
    """The engine the module-level functions use: created on first use on the best adapter
    (``Engine()``), then kept, so kernels are compiled once per process."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Engine()
        return _default


def develop(path, **options):
    """Develop one raw file into an (H, W, 3) array on the default engine: uint16 (``bits=16``,
    the default) or uint8 (``bits=8``). See :meth:`Engine.develop`."""
    return default_engine().develop(path, **options)


def merge(paths, **options):
    """Align, merge and develop a raw burst (a folder or a list of files) on the default engine.
    See :meth:`Engine.merge`."""
    return default_engine().merge(paths, **options)


def fuse(exposures, **options):
    """Fuse a bracket of exposures (arrays or paths) on the default engine. See
    :meth:`Engine.fuse`."""
    return default_engine().fuse(exposures, **options)
