//! hostscope's model and analyses.
//!
//! Everything here works on plain data: the probe's records arrive already
//! decoded from the kernel ABI (by `hostscope-ebpf`), and outputs are strings
//! and JSON values. Nothing here needs root, so all of it is unit-tested on
//! fixtures.

pub mod analysis;
pub mod chains;
pub mod civil;
pub mod decode;
pub mod enrich;
pub mod escape;
pub mod export;
pub mod host;
pub mod model;
pub mod output;
pub mod procfs;
pub mod resolve;
