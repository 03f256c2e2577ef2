//! `hostscope export`: what hostscope sees, as syslog or journal records.
//!
//! The pieces, in the order data flows: [`record`] (one thing worth a log
//! line, with its fields), [`requests`] (failed and slow requests and
//! their chains, linked a window at a time), [`storm`] (repeats folded into one record per
//! window), [`format`] (RFC 3164, RFC 5424 and the journal's native
//! protocol, every process-supplied byte escaped) and [`transport`] (unix,
//! UDP, TCP and journald senders that reconnect, queue within bounds and
//! count what they drop).

pub mod format;
pub mod record;
pub mod requests;
pub mod storm;
pub mod transport;
