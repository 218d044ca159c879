//! Scheduling pixel work on a device: bands sized from its binding limits, one submission per band.

pub(crate) mod bands;
pub(crate) mod bracket;
pub(crate) mod develop;
pub(crate) mod fuse;
pub(crate) mod merge;
