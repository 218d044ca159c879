//! burstpipe: a GPU burst-photography engine (raw decode, align/merge, demosaic, fuse, encode)
//! running every pixel stage as a WGSL compute shader through wgpu.

mod error;
mod raw;

pub use error::{Error, Result};
pub use raw::{Cfa, Exif, Frame};
