//! Analyses over the event stream.

pub mod summary;
