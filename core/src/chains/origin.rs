//! Which container, pod or systemd unit a span's process runs in: what
//! makes a process a service on a host of containers. Read once per pid
//! from `/proc/PID/cgroup`, while the process still runs (at the first
//! span of it), and kept for the rest of the run.

use std::collections::HashMap;
use std::sync::Arc;

use super::track::Span;
use crate::procfs::{Origin, origin_from_cgroup};

/// Pids already looked up, at most [`Origins::MAX`]. Shared with the
/// spans: every request of a service names the same origin.
#[derive(Debug, Default)]
pub struct Origins {
    known: HashMap<u32, Option<Arc<Origin>>>,
}

impl Origins {
    /// Pids remembered; past it the table starts over (a pid reused by
    /// another service within a run is shown under the first one's origin
    /// until then).
    pub const MAX: usize = 65_536;

    /// Sets `span.origin`, reading it for a pid not seen before.
    pub fn fill(&mut self, span: &mut Span) {
        if self.known.len() >= Self::MAX && !self.known.contains_key(&span.pid) {
            self.known.clear();
        }
        span.origin = self
            .known
            .entry(span.pid)
            .or_insert_with(|| {
                std::fs::read(format!("/proc/{}/cgroup", span.pid))
                    .ok()
                    .and_then(|text| origin_from_cgroup(&text))
                    .map(Arc::new)
            })
            .clone();
    }
}
