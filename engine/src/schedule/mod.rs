//! Scheduling pixel work on a device (bands sized from its binding limits, one submission per
//! band) and batches of bursts over devices (decode, GPU and encode overlapped).

pub(crate) mod bands;
pub(crate) mod batch;
pub(crate) mod bracket;
pub(crate) mod develop;
pub(crate) mod fuse;
pub(crate) mod merge;
pub(crate) mod merge_bands;
pub(crate) mod motion_model;
pub(crate) mod noise;
pub(crate) mod opcodes;
pub(crate) mod prepare;
pub(crate) mod white_balance;
