//! Analyses over the event stream.

pub mod summary;
pub mod why_missing;
