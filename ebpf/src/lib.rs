//! hostscope's eBPF probe: C programs compiled by `build.rs` and embedded,
//! their loader, and the decoding of the records they send.
//!
//! The probe reports the syscalls of chosen processes (or of the whole host)
//! through a ring buffer. Which syscalls and which of their arguments' memory
//! to copy is decided by [`ProbeConfig`]; everything it could not deliver is
//! counted and available as [`hostscope_core::model::Losses`].

mod abi;
mod decode;
mod error;
mod loader;
mod privileges;
mod stream;

pub use abi::REPEAT_SLOTS;
pub use decode::{Decoder, MalformedRecord};
pub use error::ProbeError;
pub use loader::{Deliver, Probe, ProbeConfig, Scope, SocketIo, SyscallRule};
pub use privileges::check as check_privileges;
pub use stream::EventStream;
