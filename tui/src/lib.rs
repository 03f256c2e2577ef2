//! `hostscope top`: one screen for debugging an outage live. What runs and
//! what it uses (procfs snapshots), what each process has open, and what is
//! failing right now and why (the probe's live events, classified like
//! `why-missing`).
//!
//! The shape is Elm's: [`app::App`] is all the state, changed only by
//! [`app::update`] with one [`app::Msg`] at a time, which answers with the
//! [`app::Command`]s (I/O) the event loop runs; [`view::render`] draws the
//! state and does no I/O. The event loop owns the terminal, the input, the
//! refresh tick and the probe's batches. The probe itself (aya) stays in the
//! binary: this crate sees only decoded events through a channel, so all of
//! it runs and is tested without root.

pub mod app;
pub mod chains;
mod event_loop;
pub mod feed;
pub mod live;
pub mod table;
mod terminal;
pub mod text;
pub mod view;

use std::time::Duration;

pub use self::feed::{ProbeBatch, ProbeControl, ProbeLink, ProbeSource};

/// How `hostscope top` was asked to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time between two procfs snapshots.
    pub refresh: Duration,
    /// Use colour (off for `NO_COLOR`).
    pub color: bool,
    /// Whether the Chains screen masks secrets.
    pub secrets: hostscope_core::chains::Secrets,
}

/// What can end the UI other than the user quitting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The terminal could not be set up, drawn on or read from.
    #[error("terminal: {0} (hostscope top needs an interactive terminal; is stdout a tty?)")]
    Terminal(#[source] std::io::Error),
    /// The signals that end the UI could not be watched.
    #[error("cannot watch SIGTERM, SIGHUP and SIGINT")]
    Signals(#[source] std::io::Error),
    /// `/proc` could not be read at all.
    #[error(transparent)]
    Proc(#[from] hostscope_core::procfs::Error),
}

/// Runs the UI until the user quits or a SIGTERM/SIGHUP/SIGINT arrives. The
/// terminal is restored on every way out, panics included.
pub async fn run(options: Options, probe: ProbeSource) -> Result<(), Error> {
    event_loop::run(options, probe).await
}
