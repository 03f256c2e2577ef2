//! What the binary hands the UI from the probe, and what the UI asks of it.
//! Channels keep aya out of this crate: the binary drains the ring buffer
//! and sends decoded events here in batches.

use hostscope_core::model::{Event, Losses};
use tokio::sync::mpsc;

/// Events drained from the probe in one go, with its counters at that time.
#[derive(Debug, Default)]
pub struct ProbeBatch {
    pub events: Vec<Event>,
    /// Records the probe has sent since it was loaded.
    pub delivered: u64,
    /// Every loss since it was loaded.
    pub losses: Losses,
    /// Records that did not decode (a probe/decoder mismatch: a bug).
    pub malformed: u64,
    /// The probe failed and sends nothing more, for this reason.
    pub stopped: Option<String>,
}

/// What the UI asks of the probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeControl {
    /// Send every call of `focus` (the process in the detail view), or of
    /// every process (`everything`: the syscall stream view), besides the
    /// failures of all processes that are always sent.
    ShowInFull {
        focus: Option<u32>,
        everything: bool,
        /// Socket calls too (the Chains screen).
        sockets: bool,
    },
}

/// The two ends of an attached probe.
#[derive(Debug)]
pub struct ProbeLink {
    pub batches: mpsc::Receiver<ProbeBatch>,
    pub control: mpsc::UnboundedSender<ProbeControl>,
}

/// The probe, or why there is none.
#[derive(Debug)]
pub enum ProbeSource {
    Attached(ProbeLink),
    /// Not attached; the text says why and what to do (shown in the views
    /// that would need it).
    Unavailable(String),
}
