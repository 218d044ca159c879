//! The one error type of the library. Every variant names what went wrong and, where a file is
//! involved, which file, so a CLI can print it as is.

use std::path::PathBuf;

/// Everything that can go wrong in burstpipe.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not a raw/image file we can read, or it is corrupt or truncated.
    #[error("{path}: cannot decode: {reason}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// Why, in our words.
        reason: String,
    },
    /// The file is valid but uses a layout we do not support (e.g. a non-Bayer CFA).
    #[error("{path}: unsupported: {what}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is unsupported.
        what: String,
    },
    /// A finished photo (JPEG, PNG, TIFF, HEIF, ...) was given where a raw file is needed
    /// (`develop`, `merge`): it has no sensor data left to develop.
    #[error("{path}: this is a {format} image (an already developed photo), not a raw file: develop and merge need the camera's raw files (DNG or a camera raw format); to fuse finished photos of a bracket use `burstpipe fuse`")]
    NotRaw {
        /// The file.
        path: PathBuf,
        /// The format found (e.g. "JPEG").
        format: &'static str,
    },
    /// The input exceeds a safety limit (absurd dimensions, levels out of range).
    #[error("{path}: {what}")]
    Limits {
        /// The file.
        path: PathBuf,
        /// Which limit.
        what: String,
    },
    /// A parameter or a combination of inputs is invalid (empty burst, mismatched frames, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A frame of a burst does not match the others (size, Bayer layout or camera).
    #[error("{path}: does not match the burst: {what}")]
    BurstMismatch {
        /// The frame that differs.
        path: PathBuf,
        /// How it differs.
        what: String,
    },
    /// No GPU adapter matches the request.
    #[error(
        "no GPU adapter found{detail}. Install a GPU driver, or the software Vulkan adapter \
             (Debian/Ubuntu: `apt-get install mesa-vulkan-drivers libvulkan1`), then check with \
             `burstpipe devices`"
    )]
    NoAdapter {
        /// Which backend/adapter was asked for, if any.
        detail: String,
    },
    /// The GPU ran out of memory.
    #[error("the GPU ran out of memory during {stage}: process smaller images, or use a GPU with more memory")]
    OutOfMemory {
        /// Which stage.
        stage: String,
    },
    /// The GPU device was lost (driver reset, removed, crashed).
    #[error(
        "the GPU device was lost ({0}): run it again (a program using the library opens a new Engine); if it repeats, update the GPU driver"
    )]
    DeviceLost(String),
    /// Any other GPU failure (a validation error is a bug in burstpipe: please report it).
    #[error("GPU error during {stage}: {message}")]
    Gpu {
        /// Which stage.
        stage: String,
        /// What wgpu said.
        message: String,
    },
    /// The caller cancelled the work (its progress callback returned `ControlFlow::Break`).
    #[error("cancelled")]
    Cancelled,
    /// An output file could not be encoded.
    #[error("{path}: cannot encode: {reason}")]
    Encode {
        /// The output file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file or folder given cannot be used as it is: an empty folder, an output that cannot be
    /// written, exposures of different sizes.
    #[error("{path}: {what}")]
    File {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong with it, and what to do.
        what: String,
    },
    /// A burst mixes raw frames and finished photos (JPEG, PNG, TIFF): a burst is one or the
    /// other.
    #[error("{path}: {found} in a burst of {expected} ({first} is one): merge raw frames or finished photos, not both")]
    MixedBurst {
        /// The first file of the other kind.
        path: PathBuf,
        /// The burst's first file, which set its kind.
        first: PathBuf,
        /// What the odd file is ("a finished photo (JPEG)", "a raw frame").
        found: String,
        /// What the burst holds ("raw frames", "finished photos").
        expected: &'static str,
    },
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn decode(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Decode {
            path: path.into(),
            reason: reason.into(),
        }
    }
    pub(crate) fn unsupported(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Error::Unsupported {
            path: path.into(),
            what: what.into(),
        }
    }
    pub(crate) fn file(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Error::File {
            path: path.into(),
            what: what.into(),
        }
    }
    pub(crate) fn limits(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Error::Limits {
            path: path.into(),
            what: what.into(),
        }
    }
}
