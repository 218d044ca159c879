"""Type stubs of burstpipe (the native classes live in burstpipe._native)."""

import os
from typing import Callable, List, Literal, Optional, Sequence, Tuple, TypedDict, Union

from typing_extensions import Unpack

import numpy as np
import numpy.typing as npt

__version__: str

_Path = Union[str, "os.PathLike[str]"]
_Image = Union[npt.NDArray[np.uint8], npt.NDArray[np.uint16]]
_Progress = Callable[[int, int, str], Optional[bool]]
"""progress(done, total, stage) after each step; return False to cancel (CancelledError), raise
to abort with that exception."""

_Demosaic = Literal["rcd", "mhc", "bilinear", "markesteijn", "xtrans-bilinear"]
_Tone = Literal["fusion", "curve", "linear"]
_Binning = Union[Literal["off", "2", "3", "superpixel"], int]
_WhiteBalance = Union[Literal["as-shot", "auto", "daylight"], str, Tuple[float, float, float]]

class DevelopOptions(TypedDict, total=False):
    """The CLI's develop flags; left out (or None), the library's default."""
    demosaic: Optional[_Demosaic]
    exposure: Optional[float]
    bits: Optional[Literal[8, 16]]
    bin: Optional[_Binning]
    remosaic: Optional[bool]
    tone: Optional[_Tone]
    wb: Optional[_WhiteBalance]
    max_band_rows: Optional[int]
    progress: Optional[_Progress]

class MergeOptions(DevelopOptions, total=False):
    """The CLI's merge flags, and the develop ones for the merged mosaic."""
    reference: Union[Literal["auto"], int, None]
    merge: Optional[Literal["wiener", "spatial"]]
    strength: Optional[float]
    frames: Optional[int]

class FuseOptions(TypedDict, total=False):
    """The CLI's fuse flags (``align=False`` is ``no_align=True``)."""
    contrast: Optional[float]
    saturation: Optional[float]
    exposedness: Optional[float]
    bits: Optional[Literal[8, 16]]
    align: Optional[bool]
    no_align: Optional[bool]
    opencv_neutral: Optional[bool]
    progress: Optional[_Progress]

class AdapterDict(TypedDict):
    index: int
    name: str
    backend: str
    device_type: str
    driver: str
    max_buffer_size: int
    max_storage_binding: int
    max_texture_2d: int
    max_workgroups_per_dim: int
    timestamp_queries: bool

class ExifDict(TypedDict):
    make: str
    model: str
    exposure_time: Optional[float]
    iso: Optional[int]
    f_number: Optional[float]
    focal_length: Optional[float]
    datetime: Optional[str]

class Error(Exception):
    """Base class of burstpipe's own errors; ``.path`` names the file, where there is one."""
    path: Optional[str]

class DecodeError(Error):
    """Not a raw/image file burstpipe can read, or corrupt/truncated (or a finished photo given
    where a raw file is needed)."""

class LimitsError(DecodeError):
    """The file exceeds a safety limit (absurd dimensions or levels)."""

class UnsupportedError(Error):
    """A valid file in a layout burstpipe does not support."""

class BurstMismatchError(Error):
    """A frame of a burst does not match the others."""

class EncodeError(Error):
    """An output could not be encoded."""

class GpuError(Error):
    """A GPU failure."""

class NoAdapterError(GpuError):
    """No GPU adapter matches the request."""

class OutOfMemoryError(GpuError):
    """The GPU ran out of memory."""

class DeviceLostError(GpuError):
    """The GPU device was lost."""

class CancelledError(Error):
    """The progress callback returned False."""

class RawInfo:
    """A raw file's metadata (``burstpipe.open``); sizes are the active area's, before rotation."""
    path: str
    make: str
    model: str
    width: int
    height: int
    cfa: str
    """"rggb", "bggr", "grbg", "gbrg", "xtrans" or "linear" (LinearRaw DNG)."""
    cfa_block: int
    black_levels: Tuple[float, float, float, float]
    white_level: float
    white_balance: Tuple[float, float, float]
    has_as_shot_white_balance: bool
    orientation: int
    baseline_exposure: float
    noise_profile: Optional[Tuple[float, float]]
    exif: ExifDict

class Engine:
    """A GPU device with its compiled kernels; reuse it. May be shared between threads."""

    def __init__(self, backend: Optional[Literal["auto", "vulkan", "metal", "dx12", "gl"]] = None,
                 adapter: Optional[int] = None) -> None: ...
    @property
    def adapter(self) -> AdapterDict: ...
    def develop(self, path: _Path, **options: Unpack[DevelopOptions]) -> _Image:
        """Develop one raw file into an (H, W, 3) array: uint16 by default, uint8 with bits=8."""
    def merge(self, paths: Union[_Path, Sequence[_Path]], **options: Unpack[MergeOptions]) -> _Image:
        """Align and merge a raw burst (folder or files in capture order), then develop it."""
    def fuse(self, exposures: Union[_Path, Sequence[Union[_Path, _Image]]],
             **options: Unpack[FuseOptions]) -> _Image:
        """Fuse a bracket of exposures (arrays or image/raw paths, or a folder) into one photo."""

def default_engine() -> Engine:
    """The shared engine of the module-level functions (created on first use)."""

def develop(path: _Path, **options: Unpack[DevelopOptions]) -> _Image:
    """Engine.develop on the default engine."""

def merge(paths: Union[_Path, Sequence[_Path]], **options: Unpack[MergeOptions]) -> _Image:
    """Engine.merge on the default engine."""

def fuse(exposures: Union[_Path, Sequence[Union[_Path, _Image]]],
         **options: Unpack[FuseOptions]) -> _Image:
    """Engine.fuse on the default engine."""

def open(path: _Path) -> RawInfo:
    """A raw file's metadata (the file is decoded in full)."""

def devices(backend: str = "auto") -> List[AdapterDict]:
    """Every GPU adapter found for ``backend``, best first."""
