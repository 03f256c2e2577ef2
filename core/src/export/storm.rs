//! Storms folded into one record per window. A crash-looping service or a
//! program retrying a missing file a thousand times a second must cost the
//! log one line per window ("... x1000 in 10 s"), not a thousand; and the
//! first occurrence must still arrive at once, since it is the news.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::record::Record;

/// What makes two records repeats of each other: the kind and every field
/// but those named in [`Storms::new`]'s `ignore` (a crash loop restarts
/// under a new pid each time) and the [`Measure`]d ones.
type Key = (&'static str, Vec<(&'static str, Vec<u8>)>);

/// A number that differs between repeats without making them different
/// events (a request's duration): the summary gives its maximum and mean
/// over the window, under the names given here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    /// The field measured, a decimal integer.
    pub field: &'static str,
    /// The summary's field for the largest value.
    pub max: &'static str,
    /// The summary's field for the mean, rounded down.
    pub avg: &'static str,
}

/// One measure's values in one window.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    max: u64,
    sum: u128,
    n: u64,
}

#[derive(Debug)]
struct Open {
    /// The latest repeat (its fields, pid included, are the newest).
    latest: Option<Record>,
    /// Occurrences in the window, the first included.
    count: u64,
    opened: Instant,
    /// Per [`Storms::measuring`] entry, the first occurrence included.
    tallies: Vec<Tally>,
}

/// Folds repeats of a record within `window` of its first occurrence.
#[derive(Debug)]
pub struct Storms {
    window: Duration,
    ignore: &'static [&'static str],
    measures: &'static [Measure],
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
            measures: &[],
            open: HashMap::new(),
        }
    }

    /// Fields that do not make records different either, and whose
    /// maximum and mean the summary reports.
    pub fn measuring(mut self, measures: &'static [Measure]) -> Storms {
        self.measures = measures;
        self
    }

    fn key(&self, record: &Record) -> Key {
        let fields = record
            .fields
            .iter()
            .filter(|(name, _)| {
                !self.ignore.contains(name) && !self.measures.iter().any(|m| m.field == *name)
            })
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
            tally(self.measures, &record, &mut open.tallies);
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
        let mut tallies = vec![Tally::default(); self.measures.len()];
        tally(self.measures, &record, &mut tallies);
        self.open.insert(
            key,
            Open {
                latest: None,
                count: 1,
                opened: now,
                tallies,
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
        for (measure, tally) in self.measures.iter().zip(&open.tallies) {
            if tally.n > 0 {
                let avg = tally.sum / u128::from(tally.n);
                summary
                    .fields
                    .push((measure.max, tally.max.to_string().into_bytes()));
                summary
                    .fields
                    .push((measure.avg, avg.to_string().into_bytes()));
            }
        }
        Some(summary)
    }
}

/// Adds `record`'s values of `measures` to `tallies`; a value that is
/// missing or not a number counts for nothing.
fn tally(measures: &[Measure], record: &Record, tallies: &mut [Tally]) {
    for (measure, tally) in measures.iter().zip(tallies) {
        let value = record
            .get(measure.field)
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(value) = value {
            tally.max = tally.max.max(value);
            tally.sum += u128::from(value);
            tally.n += 1;
        }
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

    #[test]
    fn measured_fields_fold_and_the_summary_gives_their_max_and_mean() {
        const DURATION: &[Measure] = &[Measure {
            field: "duration_us",
            max: "duration_max_us",
            avg: "duration_avg_us",
        }];
        let request = |pid: u32, target: &str, us: u64| {
            Record::new(
                SystemTime::UNIX_EPOCH,
                Severity::Warning,
                "request",
                format!("GET {target} -> 500 in {us} us at app[{pid}]"),
            )
            .field("pid", pid.to_string())
            .field("target", target)
            .field("duration_us", us.to_string())
        };
        let t0 = Instant::now();
        let mut storms = Storms::new(Duration::from_secs(10), &["pid"]).measuring(DURATION);
        assert_eq!(storms.offer(request(1, "/pay", 100), t0).len(), 1);
        assert!(storms.offer(request(2, "/pay", 400), t0).is_empty());
        assert!(storms.offer(request(1, "/pay", 250), t0).is_empty());
        assert_eq!(
            storms.offer(request(1, "/other", 100), t0).len(),
            1,
            "another target is another request"
        );
        let summaries = storms.due(t0 + Duration::from_secs(10));
        assert_eq!(summaries.len(), 1, "{summaries:?}");
        let s = &summaries[0];
        assert_eq!(s.get("count"), Some(&b"3"[..]));
        assert_eq!(s.get("duration_max_us"), Some(&b"400"[..]));
        assert_eq!(s.get("duration_avg_us"), Some(&b"250"[..]));
        assert_eq!(s.get("duration_us"), Some(&b"250"[..]), "the latest's own");
    }
}
