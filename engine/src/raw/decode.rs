//! Guarded decoding: file → Frame. (stub, being written)
use std::path::Path;

use super::Frame;
use crate::error::{Error, Result};

pub(crate) fn decode_file(path: &Path) -> Result<Frame> {
    Err(Error::decode(path, "not implemented yet"))
}
