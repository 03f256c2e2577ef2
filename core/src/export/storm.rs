//! Storms folded into one record per window. A crash-looping service or a
//! program retrying a missing file a thousand times a second must cost the
//! log one line per window ("... x1000 in 10 s"), not a thousand; and the
//! first occurrence must still arrive at once, since it is the news.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::record::Record;

/// What makes two records repeats of each other: the kind and every field
/// but those named in [`Storms::new`]'s `ignore` (a crash loop restarts
/// under a new pid each time).
type Key = (&'static str, Vec<(&'static str, Vec<u8>)>);

#[derive(Debug)]
struct Open {
    /// The latest repeat (its fields, pid included, are the newest).
    latest: Option<Record>,
    /// Occurrences in the window, the first included.
    count: u64,
    opened: Instant,
}

/// Folds repeats of a record within `window` of its first occurrence.
#[derive(Debug)]
pub struct Storms {
    window: Duration,
    ignore: &'static [&'static str],
    open: HashMap<Key, Open>,
}

impl Storms {
    /// Windows open at once; past it the oldest is closed early (its
    /// summary sent), so memory stays bounded whatever the host does.
    pub const MAX_OPEN: usize = 10_000;

    /// Repeats within `window` are folded (a zero window folds nothing);
    /// fields named in `ignore` do not make records different.
    pub fn new(window: Duration, ignore: &'static [&'static str]) -> Storms {
        Storms {
            window,
            ignore,
            open: HashMap::new(),
        }
    }

    fn key(&self, record: &Record) -> Key {
        let fields = record
            .fields
            .iter()
            .filter(|(name, _)| !self.ignore.contains(name))
            .cloned()
            .collect();
        (record.msgid, fields)
    }

    /// Takes `record`, seen at `now`. Returns what to send now: the record
    /// itself if it is the first of its kind in its window, else nothing
    /// (it is counted); plus the summary of a window closed early to make
    /// room.
    pub fn offer(&mut self, record: Record, now: Instant) -> Vec<Record> {
        if self.window.is_zero() {
            return vec![record];
        }
        let key = self.key(&record);
        if let Some(open) = self.open.get_mut(&key) {
            open.count += 1;
            open.latest = Some(record);
            return Vec::new();
        }
        let mut out = Vec::new();
        if self.open.len() >= Self::MAX_OPEN
            && let Some(oldest) = self
                .open
                .iter()
                .min_by_key(|(_, o)| o.opened)
                .map(|(k, _)| k.clone())
            && let Some(open) = self.open.remove(&oldest)
        {
            out.extend(self.summary(open));
        }
        self.open.insert(
            key,
            Open {
                latest: None,
                count: 1,
                opened: now,
            },
        );
        out.push(record);
        out
    }

    /// Closes the windows that are over at `now`: the summaries of those
    /// that had repeats.
    pub fn due(&mut self, now: Instant) -> Vec<Record> {
        let window = self.window;
        let over: Vec<Key> = self
            .open
            .iter()
            .filter(|(_, o)| now.duration_since(o.opened) >= window)
            .map(|(k, _)| k.clone())
            .collect();
        let mut out = Vec::new();
        for key in over {
            if let Some(open) = self.open.remove(&key) {
                out.extend(self.summary(open));
            }
        }
        out
    }

    /// Closes every window (at exit).
    pub fn flush(&mut self) -> Vec<Record> {
        let all: Vec<Open> = self.open.drain().map(|(_, o)| o).collect();
        all.into_iter().filter_map(|o| self.summary(o)).collect()
    }

    /// The record saying how often the first one happened in its window;
    /// nothing when it happened once (that one was sent).
    fn summary(&self, open: Open) -> Option<Record> {
        let latest = open.latest?;
        let secs = self.window.as_secs_f64();
        let mut message = latest.message.clone();
        message.extend_from_slice(format!(" x{} in {secs} s", open.count).as_bytes());
        let mut summary = Record { message, ..latest };
        summary
            .fields
            .push(("count", open.count.to_string().into_bytes()));
        summary
            .fields
            .push(("window_s", format!("{secs}").into_bytes()));
        Some(summary)
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::export::record::Severity;

    fn missing(pid: u32, path: &str) -> Record {
        Record::new(
            SystemTime::UNIX_EPOCH,
            Severity::Warning,
            "missing",
            format!("ENOENT {path} by app[{pid}]"),
        )
        .field("pid", pid.to_string())
        .field("path", path)
    }

    #[test]
    fn the_first_goes_at_once_and_repeats_become_one_summary() {
        let t0 = Instant::now();
        let mut storms = Storms::new(Duration::from_secs(10), &[]);
        assert_eq!(storms.offer(missing(1, "/etc/x.conf"), t0).len(), 1);
        for i in 1..1000 {
            let at = t0 + Duration::from_millis(i);
            assert!(storms.offer(missing(1, "/etc/x.conf"), at).is_empty());
        }
        assert_eq!(
            storms.offer(missing(2, "/etc/x.conf"), t0).len(),
            1,
            "another pid"
        );
        assert!(storms.due(t0 + Duration::from_secs(9)).is_empty());
        let summaries = storms.due(t0 + Duration::from_secs(10));
        assert_eq!(summaries.len(), 1, "pid 2 happened once: nothing more");
        let s = &summaries[0];
        assert_eq!(s.message, b"ENOENT /etc/x.conf by app[1] x1000 in 10 s");
        assert_eq!(s.get("count"), Some(&b"1000"[..]));
        // The next window starts afresh.
        let later = t0 + Duration::from_secs(11);
        assert_eq!(storms.offer(missing(1, "/etc/x.conf"), later).len(), 1);
    }

    #[test]
    fn ignored_fields_fold_a_crash_loop_across_pids() {
        let t0 = Instant::now();
        let mut storms = Storms::new(Duration::from_secs(10), &["pid"]);
        assert_eq!(storms.offer(missing(1, "/x"), t0).len(), 1);
        assert!(storms.offer(missing(2, "/x"), t0).is_empty());
        assert!(storms.offer(missing(3, "/x"), t0).is_empty());
        let flushed = storms.flush();
        assert_eq!(flushed.len(), 1);
        assert_eq!(flushed[0].get("pid"), Some(&b"3"[..]), "the latest pid");
        assert_eq!(flushed[0].get("count"), Some(&b"3"[..]));
    }

    #[test]
    fn a_zero_window_folds_nothing_and_open_windows_are_bounded() {
        let t0 = Instant::now();
        let mut off = Storms::new(Duration::ZERO, &[]);
        assert_eq!(off.offer(missing(1, "/x"), t0).len(), 1);
        assert_eq!(off.offer(missing(1, "/x"), t0).len(), 1);

        let mut storms = Storms::new(Duration::from_secs(10), &[]);
        storms.offer(missing(1, "/first"), t0);
        storms.offer(missing(1, "/first"), t0);
        for i in 1..Storms::MAX_OPEN {
            storms.offer(missing(1, &format!("/{i}")), t0 + Duration::from_millis(1));
        }
        let out = storms.offer(missing(1, "/one-too-many"), t0 + Duration::from_millis(2));
        assert_eq!(
            out.len(),
            2,
            "the oldest window's summary, then the new record"
        );
        assert_eq!(out[0].get("count"), Some(&b"2"[..]));
        assert_eq!(out[0].get("path"), Some(&b"/first"[..]));
    }
}
