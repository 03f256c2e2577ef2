//! One module per command: each turns parsed arguments into a plan, runs it
//! from source to sink, and returns the process exit code.

pub mod chains;
pub mod export;
pub mod generate;
pub mod ps;
pub mod top;
pub mod trace;
pub mod why_missing;

/// A request that cannot be carried out as asked (a bad expression, a pid
/// that does not exist): exits with status 2, like a usage error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit status for an error that ended a command.
pub fn exit_code_of(err: &anyhow::Error) -> u8 {
    if err.chain().any(|c| c.is::<UsageError>()) {
        2
    } else {
        1
    }
}
