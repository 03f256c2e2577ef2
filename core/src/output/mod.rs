//! The forms events take for their readers: strace-style text and JSON Lines.

pub mod json;
pub mod text;
