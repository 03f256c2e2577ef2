//! The probe's live events, as the views need them: every failure counted
//! by process and grouped by (process, syscall, errno, path) with rates,
//! each process's recent path lookups kept for the why-missing
//! classification, and strace-style lines for the syscall streams.
//!
//! [`Converter`] runs in the event loop (it reads `/proc` to resolve
//! relative paths); [`Failures`] and [`Stream`] are plain state that
//! [`crate::app::update`] changes.

use std::collections::{HashMap, VecDeque};

use hostscope_core::analysis::why_missing::{self, Lookup, Observation};
use hostscope_core::enrich::Enricher;
use hostscope_core::model::{
    Comm, Event, Losses, SocketCall, SocketClose, SocketOpen, SyscallEvent,
};
use hostscope_core::output::text;

/// One syscall the probe delivered, ready for the views.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRecord {
    /// Monotonic time of the call, in nanoseconds.
    pub ts_ns: u64,
    pub pid: u32,
    /// The process's name (raw: escape before display).
    pub comm: Comm,
    pub syscall: &'static str,
    /// Set when the call failed.
    pub errno: Option<i32>,
    /// The path the call named, resolved when possible (raw).
    pub path: Option<Vec<u8>>,
    /// The strace-style line, already escaped.
    pub line: String,
    /// The call as a why-missing lookup, when it is one.
    pub lookup: Option<Lookup>,
}

/// What a batch of events says, for [`crate::app::Msg::Live`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveBatch {
    pub records: Vec<LiveRecord>,
    /// Processes that exited, by pid.
    pub exited: Vec<u32>,
    pub delivered: u64,
    /// The probe's loss counters since it was loaded.
    pub losses: Losses,
    /// Records that did not decode (a probe/decoder mismatch: a bug).
    pub malformed: u64,
    /// Socket calls and connection ends, in order, for the Chains screen.
    pub sockets: Vec<SocketNews>,
}

/// What the Chains screen is told about sockets.
#[derive(Debug, Clone, PartialEq)]
pub enum SocketNews {
    Call(SocketCall),
    Closed(SocketClose),
    Opened(SocketOpen),
}

/// Turns probe events into [`LiveRecord`]s, keeping the per-process path
/// state that resolution needs.
#[derive(Debug)]
pub struct Converter {
    enricher: Enricher,
    line: String,
}

impl Default for Converter {
    fn default() -> Self {
        Converter {
            // The probe shows every chdir but only some opens and closes.
            enricher: Enricher::partial(),
            line: String::new(),
        }
    }
}

impl Converter {
    /// Converts one event into `batch`.
    pub fn convert(&mut self, event: Event, batch: &mut LiveBatch) {
        let (records, exited) = (&mut batch.records, &mut batch.exited);
        match event {
            Event::Socket(call) => batch.sockets.push(SocketNews::Call(call)),
            Event::SocketClosed(close) => batch.sockets.push(SocketNews::Closed(close)),
            Event::SocketOpened(open) => batch.sockets.push(SocketNews::Opened(open)),
            Event::Syscall(ev) => records.push(self.syscall(&ev)),
            Event::Fork(fork) => self.enricher.forked(&fork),
            // Not asked for.
            Event::Exec(_) | Event::Oom(_) | Event::Repeat(_) => {}
            Event::Exit(exit) => {
                self.enricher.exited(&exit);
                exited.push(exit.pid);
            }
        }
    }

    fn syscall(&mut self, ev: &SyscallEvent) -> LiveRecord {
        let call = self.enricher.call(ev);
        self.line.clear();
        text::push_syscall_line(&mut self.line, &call);
        let path = call.path.as_ref().map(|p| match &p.resolved {
            Some(resolved) => resolved.as_os_str().as_encoded_bytes().to_vec(),
            None => p.path.to_vec(),
        });
        let name = hostscope_core::decode::sysno::name(ev.arch, ev.nr);
        let path_ref = call.path.clone();
        let line = self.line.clone();
        drop(call);
        let lookup = name
            .and_then(|name| why_missing::observation(&mut self.enricher, ev, name, path_ref))
            .and_then(|o| match o {
                Observation::Lookup(lookup) => Some(lookup),
                _ => None,
            });
        LiveRecord {
            ts_ns: ev.ts_ns,
            pid: ev.pid,
            comm: ev.comm,
            syscall: name.unwrap_or("?"),
            errno: ev.errno(),
            path,
            line,
            lookup,
        }
    }
}

/// Failed calls grouped by process, syscall, errno and path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupKey {
    pub pid: u32,
    /// How many processes with this pid exited before this one: a reused
    /// pid never inherits another process's failures.
    pub epoch: u32,
    pub syscall: &'static str,
    pub errno: i32,
    pub path: Option<Vec<u8>>,
}

/// One group of failures.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub comm: Comm,
    /// Failures since the group was first seen.
    pub count: u64,
    /// Failures per second over the last refresh interval.
    pub rate: f64,
    /// Failures since the last refresh.
    pending: u64,
    pub first_ns: u64,
    pub last_ns: u64,
    /// The process has exited.
    pub exited: bool,
}

/// Every failure the probe reported, counted and grouped; bounded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Failures {
    groups: HashMap<GroupKey, Group>,
    /// Failures per process since the last refresh.
    pending: HashMap<u32, u64>,
    /// Failures per second per process over the last refresh interval.
    rates: HashMap<u32, f64>,
    /// Recent path lookups per process, oldest first.
    lookups: HashMap<u32, VecDeque<Lookup>>,
    /// Lookups held, all processes together.
    lookups_held: usize,
    /// The epoch of each pid that has exited with failures on record.
    epochs: HashMap<u32, u32>,
    /// Groups forgotten to stay within [`Failures::MAX_GROUPS`].
    pub forgotten: u64,
    /// Failures seen since start.
    pub total: u64,
}

impl Failures {
    /// Groups kept; past it, the least recently seen are forgotten.
    pub const MAX_GROUPS: usize = 4096;
    /// Lookups kept per process for the classification.
    pub const LOOKUPS_PER_PROCESS: usize = 512;
    /// Lookups kept, all processes together (a few MiB at most); past it,
    /// the processes that looked up nothing for longest are forgotten.
    pub const MAX_LOOKUPS: usize = 32_768;

    /// The epoch of the process that has pid `pid` now (see
    /// [`GroupKey::epoch`]).
    pub fn epoch(&self, pid: u32) -> u32 {
        self.epochs.get(&pid).copied().unwrap_or(0)
    }

    /// Counts `record` if it failed, and keeps it if it is a lookup.
    pub fn observe(&mut self, record: &LiveRecord) {
        if let Some(lookup) = &record.lookup {
            while self.lookups_held >= Self::MAX_LOOKUPS {
                self.forget_oldest_lookups();
            }
            let kept = self.lookups.entry(record.pid).or_default();
            if kept.len() == Self::LOOKUPS_PER_PROCESS {
                kept.pop_front();
                self.lookups_held -= 1;
            }
            kept.push_back(lookup.clone());
            self.lookups_held += 1;
        }
        let Some(errno) = record.errno else { return };
        self.total += 1;
        *self.pending.entry(record.pid).or_default() += 1;
        let key = GroupKey {
            epoch: self.epoch(record.pid),
            pid: record.pid,
            syscall: record.syscall,
            errno,
            path: record.path.clone(),
        };
        if !self.groups.contains_key(&key) && self.groups.len() >= Self::MAX_GROUPS {
            self.forget_oldest_groups();
        }
        let group = self.groups.entry(key).or_insert_with(|| Group {
            comm: record.comm,
            count: 0,
            rate: 0.0,
            pending: 0,
            first_ns: record.ts_ns,
            last_ns: record.ts_ns,
            exited: false,
        });
        group.count += 1;
        group.pending += 1;
        group.last_ns = group.last_ns.max(record.ts_ns);
    }

    /// Turns the counts since the last refresh into rates over `elapsed`
    /// seconds.
    pub fn refresh(&mut self, elapsed: f64) {
        let per_second = |n: u64| {
            if elapsed > 0.0 {
                n as f64 / elapsed
            } else {
                0.0
            }
        };
        self.rates = self
            .pending
            .drain()
            .map(|(pid, n)| (pid, per_second(n)))
            .collect();
        for group in self.groups.values_mut() {
            group.rate = per_second(group.pending);
            group.pending = 0;
        }
    }

    /// Failures per second of process `pid` over the last interval.
    pub fn rate(&self, pid: u32) -> f64 {
        self.rates.get(&pid).copied().unwrap_or(0.0)
    }

    /// Every group, most active first (rate, then count, then recency).
    pub fn ranked(&self) -> Vec<(&GroupKey, &Group)> {
        let mut all: Vec<_> = self.groups.iter().collect();
        all.sort_by(|a, b| {
            b.1.rate
                .total_cmp(&a.1.rate)
                .then(b.1.count.cmp(&a.1.count))
                .then(b.1.last_ns.cmp(&a.1.last_ns))
                .then(a.0.pid.cmp(&b.0.pid))
                .then(a.0.path.cmp(&b.0.path))
        });
        all
    }

    /// The groups of process `pid` in `epoch`, most frequent first.
    pub fn of(&self, pid: u32, epoch: u32) -> Vec<(&GroupKey, &Group)> {
        let mut mine: Vec<_> = self
            .groups
            .iter()
            .filter(|(k, _)| k.pid == pid && k.epoch == epoch)
            .collect();
        mine.sort_by(|a, b| {
            b.1.count
                .cmp(&a.1.count)
                .then(b.1.last_ns.cmp(&a.1.last_ns))
                .then(a.0.path.cmp(&b.0.path))
        });
        mine
    }

    /// The recent lookups of `pid`, oldest first.
    pub fn lookups(&self, pid: u32) -> impl Iterator<Item = &Lookup> {
        self.lookups.get(&pid).into_iter().flatten()
    }

    /// Forgets what is per process for an exited one, but keeps its groups
    /// (an outage's evidence outlives the process), marked, until they age
    /// out; the next process with this pid starts a new epoch.
    pub fn exited(&mut self, pid: u32) {
        self.rates.remove(&pid);
        if let Some(kept) = self.lookups.remove(&pid) {
            self.lookups_held -= kept.len();
        }
        let epoch = self.epoch(pid);
        let mut any = false;
        for (key, group) in &mut self.groups {
            if key.pid == pid && key.epoch == epoch {
                group.exited = true;
                any = true;
            }
        }
        if any {
            self.epochs.insert(pid, epoch + 1);
        }
    }

    fn forget_oldest_groups(&mut self) {
        let mut ages: Vec<u64> = self.groups.values().map(|g| g.last_ns).collect();
        let cut = ages.len() / 4;
        let (_, &mut threshold, _) = ages.select_nth_unstable(cut);
        let before = self.groups.len();
        self.groups.retain(|_, g| g.last_ns > threshold);
        self.forgotten += (before - self.groups.len()) as u64;
        // An epoch matters only while a group of that pid is held.
        let groups = &self.groups;
        self.epochs
            .retain(|pid, _| groups.keys().any(|k| k.pid == *pid));
    }

    fn forget_oldest_lookups(&mut self) {
        let oldest = self
            .lookups
            .iter()
            .min_by_key(|(_, l)| l.back().map_or(0, |l| l.ts_ns))
            .map(|(&pid, _)| pid);
        if let Some(kept) = oldest.and_then(|pid| self.lookups.remove(&pid)) {
            self.lookups_held -= kept.len();
        }
    }
}

/// A bounded stream of syscall lines, newest last, that can be paused and
/// scrolled without losing its place as lines keep coming.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {
    /// (sequence number, pid, line).
    lines: VecDeque<(u64, u32, String)>,
    next: u64,
    /// While paused, the newest line shown: what arrives after it waits.
    anchor: Option<u64>,
    /// Shown lines between the bottom of the view and the anchor (or the
    /// newest line), counted among the lines the filter keeps.
    pub scroll: usize,
}

impl Stream {
    /// Lines kept.
    pub const CAPACITY: usize = 5000;

    pub fn push(&mut self, pid: u32, line: String) {
        if self.lines.len() == Self::CAPACITY {
            self.lines.pop_front();
        }
        self.lines.push_back((self.next, pid, line));
        self.next += 1;
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn paused(&self) -> bool {
        self.anchor.is_some()
    }

    /// Pauses at the newest line, or resumes following.
    pub fn toggle_pause(&mut self) {
        if self.anchor.is_some() {
            self.follow();
        } else {
            self.anchor = Some(self.next);
        }
    }

    /// Resumes following the newest line.
    pub fn follow(&mut self) {
        self.anchor = None;
        self.scroll = 0;
    }

    /// Scrolls towards older lines by `n` (negative: newer). Scrolling
    /// pauses, as in a pager.
    pub fn scroll_by(&mut self, n: isize) {
        if self.anchor.is_none() {
            self.anchor = Some(self.next);
        }
        self.scroll = self.scroll.saturating_add_signed(n).min(self.lines.len());
    }

    /// The `height` lines that `keep` accepts, ending `scroll` of them
    /// before the anchor (or the newest line), oldest first.
    pub fn window(&self, height: usize, keep: impl Fn(u32, &str) -> bool) -> Vec<&str> {
        let anchor = self.anchor.unwrap_or(u64::MAX);
        let mut out: Vec<&str> = self
            .lines
            .iter()
            .rev()
            .filter(|(seq, pid, line)| *seq < anchor && keep(*pid, line))
            .skip(self.scroll)
            .take(height)
            .map(|(_, _, line)| line.as_str())
            .collect();
        out.reverse();
        out
    }

    /// Lines that arrived since the pause.
    pub fn waiting(&self) -> u64 {
        self.anchor.map_or(0, |a| self.next - a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(pid: u32, path: &str, ts_ns: u64) -> LiveRecord {
        LiveRecord {
            ts_ns,
            pid,
            comm: b"app".into(),
            syscall: "openat",
            errno: Some(libc::ENOENT),
            path: Some(path.as_bytes().to_vec()),
            line: format!("openat(AT_FDCWD, \"{path}\") = -1 ENOENT"),
            lookup: None,
        }
    }

    #[test]
    fn failures_group_by_process_syscall_errno_and_path_with_rates() {
        let mut f = Failures::default();
        for i in 0..10 {
            f.observe(&failure(7, "/etc/app.conf", i));
        }
        f.observe(&failure(7, "/etc/other", 20));
        f.observe(&failure(8, "/etc/app.conf", 30));
        let success = LiveRecord {
            errno: None,
            ..failure(7, "/etc/app.conf", 40)
        };
        f.observe(&success);
        f.refresh(2.0);
        assert_eq!(f.rate(7), 5.5);
        assert_eq!(f.rate(8), 0.5);
        assert_eq!(f.total, 12);
        let ranked = f.ranked();
        assert_eq!(ranked.len(), 3);
        assert_eq!(ranked[0].0.path.as_deref(), Some(&b"/etc/app.conf"[..]));
        assert_eq!(
            (ranked[0].0.pid, ranked[0].1.count, ranked[0].1.rate),
            (7, 10, 5.0)
        );
        assert_eq!(f.of(8, 0).len(), 1);
        f.refresh(1.0);
        assert_eq!(f.rate(7), 0.0);
        assert_eq!(f.ranked()[0].1.count, 10, "counts outlive the interval");
    }

    #[test]
    fn a_reused_pid_does_not_inherit_the_failures_of_the_exited_process() {
        let mut f = Failures::default();
        f.observe(&failure(7, "/etc/app.conf", 1));
        f.exited(7);
        assert_eq!(f.epoch(7), 1);
        assert!(f.of(7, 1).is_empty(), "the new process with pid 7 has none");
        assert_eq!(f.of(7, 0).len(), 1, "the old one's are there by its epoch");
        assert!(f.ranked()[0].1.exited, "the old one's stay, marked");
        f.observe(&failure(7, "/etc/app.conf", 2));
        assert_eq!(f.of(7, 1).len(), 1);
        assert_eq!(f.ranked().len(), 2);
    }

    #[test]
    fn lookups_are_bounded_across_processes() {
        let mut f = Failures::default();
        let lookup = Lookup {
            ts_ns: 0,
            pid: 0,
            tid: 0,
            comm: Default::default(),
            syscall: "openat",
            errno: Some(libc::ENOENT),
            path: b"/x".to_vec(),
            resolved: None,
            uid: 0,
            gid: 0,
        };
        for pid in 0..200u32 {
            for i in 0..300u64 {
                let mut r = failure(pid, "/x", u64::from(pid) * 1000 + i);
                r.lookup = Some(Lookup {
                    pid,
                    ts_ns: r.ts_ns,
                    ..lookup.clone()
                });
                f.observe(&r);
            }
        }
        let held: usize = (0..200).map(|pid| f.lookups(pid).count()).sum();
        assert!(held <= Failures::MAX_LOOKUPS, "{held}");
        assert_eq!(
            f.lookups(199).count(),
            300,
            "the newest process keeps its own"
        );
        assert_eq!(f.lookups(0).count(), 0, "the oldest is forgotten");
    }

    #[test]
    fn the_oldest_groups_are_forgotten_and_counted() {
        let mut f = Failures::default();
        for i in 0..=Failures::MAX_GROUPS as u64 {
            f.observe(&failure(1, &format!("/missing/{i}"), i));
        }
        assert!(f.ranked().len() <= Failures::MAX_GROUPS);
        assert!(f.forgotten > 0);
        assert!(
            f.ranked().iter().any(|(k, _)| k.path.as_deref()
                == Some(format!("/missing/{}", Failures::MAX_GROUPS).as_bytes())),
            "the newest group is kept"
        );
    }

    #[test]
    fn a_paused_stream_keeps_its_window_while_lines_arrive() {
        let mut s = Stream::default();
        for i in 0..10 {
            s.push(1, format!("line {i}"));
        }
        assert_eq!(s.window(2, |_, _| true), ["line 8", "line 9"]);
        s.toggle_pause();
        s.push(2, "line 10".into());
        assert_eq!(s.window(2, |_, _| true), ["line 8", "line 9"]);
        assert_eq!(s.waiting(), 1);
        s.scroll_by(3);
        assert_eq!(s.window(2, |_, _| true), ["line 5", "line 6"]);
        // A filter counts the scroll in the lines it keeps.
        s.scroll = 1;
        assert_eq!(
            s.window(2, |_, l| l.ends_with(['5', '7', '9'])),
            ["line 5", "line 7"]
        );
        s.toggle_pause();
        assert!(!s.paused());
        assert_eq!(s.window(2, |_, _| true), ["line 9", "line 10"]);
        assert_eq!(s.window(2, |pid, _| pid == 1), ["line 8", "line 9"]);
        assert!(s.window(2, |pid, _| pid == 3).is_empty());
        s.scroll_by(1);
        assert!(s.paused(), "scrolling pauses");
    }
}
