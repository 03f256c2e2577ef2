//! Reading the ring buffer from tokio. The probe batches its wakeups, so the
//! reader drains both when woken and on a short timer (see
//! [`EventStream::POLL_INTERVAL`]).

use std::time::Duration;

use aya::maps::{MapData, RingBuf};
use hostscope_core::model::Event;
use tokio::io::unix::AsyncFd;

use crate::ProbeError;
use crate::decode::Decoder;

/// Decoded events from the probe's ring buffer.
pub struct EventStream {
    ring: AsyncFd<RingBuf<MapData>>,
    decoder: Decoder,
    malformed: u64,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("malformed", &self.malformed)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    /// How often a reader should call [`EventStream::drain`] even when not
    /// woken: the probe wakes the reader only once a quarter of the ring is
    /// queued.
    pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

    pub(crate) fn new(ring: RingBuf<MapData>) -> Result<Self, ProbeError> {
        // SAFETY: the RingBuf owns its map's fd, which stays open and the
        // same for as long as the AsyncFd owns the RingBuf.
        let ring = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
            .map_err(|e| ProbeError::Poll(e.into()))?;
        Ok(EventStream {
            ring,
            decoder: Decoder::new(),
            malformed: 0,
        })
    }

    /// Waits until the probe wakes us. Must be called from a tokio runtime.
    pub async fn readable(&mut self) -> Result<(), ProbeError> {
        let mut guard = self.ring.readable_mut().await.map_err(ProbeError::Poll)?;
        guard.clear_ready();
        Ok(())
    }

    /// Records read by one [`EventStream::drain`] at most, and the time it
    /// may take (checked every 1,024 records): under a flood the ring never
    /// empties, and a reader that drained until it did would never get back
    /// to its timers and signals (`--duration`, Ctrl-C). What is left is
    /// read at the next call; what no longer fits in the ring meanwhile is
    /// counted as lost by the probe.
    pub const MAX_DRAIN: usize = 65_536;
    pub const MAX_DRAIN_TIME: Duration = Duration::from_millis(50);

    /// Hands the queued events to `sink`, in ring order, within
    /// [`EventStream::MAX_DRAIN`] records and [`EventStream::MAX_DRAIN_TIME`],
    /// and returns how many records were read.
    pub fn drain(&mut self, mut sink: impl FnMut(Event)) -> usize {
        let mut n = 0;
        let started = std::time::Instant::now();
        let ring = self.ring.get_mut();
        while n < Self::MAX_DRAIN
            && (n % 1024 != 1023 || started.elapsed() < Self::MAX_DRAIN_TIME)
            && let Some(item) = ring.next()
        {
            n += 1;
            match self.decoder.decode(&item) {
                Ok(Some(event)) => sink(event),
                Ok(None) => {}
                Err(err) => {
                    self.malformed += 1;
                    log::warn!("{err}");
                }
            }
        }
        n
    }

    /// The repeats `probe` still counts in the kernel, as events (unix
    /// times, like every record): what a consumer must add when it stops.
    pub fn pending_repeats(&self, probe: &crate::Probe) -> Result<Vec<Event>, ProbeError> {
        Ok(probe
            .pending_repeats()?
            .into_iter()
            .map(|mut r| {
                r.ts_ns = self.decoder.unix_ns(r.ts_ns);
                Event::Repeat(r)
            })
            .collect())
    }

    /// Records that did not decode (a probe/decoder mismatch: a bug).
    pub fn malformed(&self) -> u64 {
        self.malformed
    }
}
