//! Folding one process's failed lookups into searches.
//!
//! A healthy program misses many files on purpose: ld.so tries each library
//! directory in turn, a shell tries each `$PATH` entry, Python tries each
//! module suffix. Such a *search* looks for one name (its [`stem`]) in
//! several places and ends at the first success. Only a search that never
//! ended is worth reporting, so misses are grouped by stem as they arrive,
//! and a success with that stem closes the group.
//!
//! This runs once per lookup, so repeats of an attempt are found by borrowed
//! key and counted in place, without allocating.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::{Attempt, Lookup};

/// Distinct attempts kept per process. A process that keeps probing new
/// names (a scanner, a retry loop over generated names) would otherwise grow
/// without bound; past this, new attempts are counted and dropped.
pub(crate) const MAX_ATTEMPTS: usize = 10_000;

/// Attempts a search compares one by one before it indexes them by place:
/// most searches have a handful, and a scan beats hashing there.
const INDEX_FROM: usize = 32;

/// The name a lookup is looking for: the final path component up to its
/// first `.`, not counting a leading one (`libfoo.so.1` → `libfoo`,
/// `.bashrc` → `.bashrc`). Suffix probing (`foo.abi3.so`, `foo.py`) and the
/// same name in other directories share it.
pub(crate) fn stem(place: &[u8]) -> &[u8] {
    let name = final_component(place);
    let skip = usize::from(name.first() == Some(&b'.'));
    let end = name[skip..]
        .iter()
        .position(|&b| b == b'.')
        .map_or(name.len(), |i| i + skip);
    &name[..end]
}

/// The last component of `place`, ignoring trailing slashes.
pub(crate) fn final_component(place: &[u8]) -> &[u8] {
    let trimmed = match place.iter().rposition(|&b| b != b'/') {
        Some(last) => &place[..=last],
        None => &[],
    };
    let start = trimmed
        .iter()
        .rposition(|&b| b == b'/')
        .map_or(0, |i| i + 1);
    &trimmed[start..]
}

/// Where a lookup looked: its resolved path when known, else the path as
/// passed.
pub(crate) fn place_of<'a>(path: &'a [u8], resolved: Option<&'a Path>) -> &'a [u8] {
    resolved.map_or(path, |r| r.as_os_str().as_bytes())
}

/// The searches of one process.
#[derive(Debug, Default)]
pub(crate) struct Searches {
    /// Searches still waiting for a success, by stem.
    open: HashMap<Box<[u8]>, Group>,
    /// Searches a success closed, in the order they closed.
    done: Vec<Closed>,
    /// Indexes into `done` by stem, to fold a search that repeats one
    /// already closed (a daemon re-running the same `$PATH` search).
    done_by_key: HashMap<Box<[u8]>, Vec<usize>>,
    /// Attempts held in `open` and `done`.
    stored: usize,
    /// Failed lookups not kept because [`MAX_ATTEMPTS`] was reached.
    pub(crate) dropped: u64,
    /// The last miss, to tell which search a success without a path (an
    /// execve that replaced the image the path was in) ends.
    last_miss: Option<LastMiss>,
    /// A search closed by such a success, whose found path the exec record
    /// may still name.
    unnamed: Option<usize>,
    /// Each thread's last miss: the attempt the probe's repeat counts
    /// belong to.
    by_thread: HashMap<u32, ThreadMiss>,
}

#[derive(Debug)]
struct ThreadMiss {
    key: Vec<u8>,
    place: Vec<u8>,
    syscall: &'static str,
    errno: i32,
}

/// Misses of one stem, in the order of their first attempt.
#[derive(Debug, Default)]
struct Group {
    attempts: Vec<Attempt>,
    /// Attempt indexes by place, filled once the group has [`INDEX_FROM`]
    /// attempts.
    index: HashMap<Box<[u8]>, Vec<u32>>,
}

/// A search that ended in a success.
#[derive(Debug)]
pub(crate) struct Closed {
    pub(crate) key: Box<[u8]>,
    pub(crate) attempts: Vec<Attempt>,
    /// Where it was found; `None` when the success did not say (an execve
    /// whose exec record never came).
    pub(crate) found: Option<Vec<u8>>,
    /// How many times this same search (same misses, same success) ran.
    pub(crate) runs: u64,
}

#[derive(Debug)]
struct LastMiss {
    tid: u32,
    syscall: &'static str,
    key: Vec<u8>,
}

impl Group {
    fn find(&self, place: &[u8], syscall: &str, errno: i32) -> Option<usize> {
        let same = |a: &Attempt| a.errno == errno && a.syscall == syscall;
        if self.index.is_empty() {
            self.attempts
                .iter()
                .position(|a| a.place() == place && same(a))
        } else {
            let ids = self.index.get(place)?;
            ids.iter()
                .map(|&i| i as usize)
                .find(|&i| same(&self.attempts[i]))
        }
    }

    fn push(&mut self, attempt: Attempt) {
        self.attempts.push(attempt);
        if self.attempts.len() == INDEX_FROM {
            for (i, a) in self.attempts.iter().enumerate() {
                self.index
                    .entry(a.place().into())
                    .or_default()
                    .push(i as u32);
            }
        } else if self.attempts.len() > INDEX_FROM {
            let i = self.attempts.len() - 1;
            let place = self.attempts[i].place();
            match self.index.get_mut(place) {
                Some(ids) => ids.push(i as u32),
                None => {
                    self.index.insert(place.into(), vec![i as u32]);
                }
            }
        }
    }
}

impl Searches {
    /// Counts a failed lookup (`errno` is one that means "not found" or
    /// "not allowed").
    pub(crate) fn miss(&mut self, lookup: Lookup, errno: i32) {
        let place = place_of(&lookup.path, lookup.resolved.as_deref());
        let key = stem(place);
        self.note_miss(lookup.tid, lookup.syscall, key);
        let last = self
            .by_thread
            .entry(lookup.tid)
            .or_insert_with(|| ThreadMiss {
                key: Vec::new(),
                place: Vec::new(),
                syscall: lookup.syscall,
                errno,
            });
        (last.syscall, last.errno) = (lookup.syscall, errno);
        if last.place != place {
            last.place.clear();
            last.place.extend_from_slice(place);
            last.key.clear();
            last.key.extend_from_slice(key);
        }
        if let Some(group) = self.open.get_mut(key)
            && let Some(i) = group.find(place, lookup.syscall, errno)
        {
            group.attempts[i].repeat(lookup.ts_ns, lookup.uid, lookup.gid);
            return;
        }
        if self.stored >= MAX_ATTEMPTS {
            self.dropped += 1;
            return;
        }
        self.stored += 1;
        let key: Box<[u8]> = key.into();
        let attempt = Attempt::first(lookup, errno);
        self.open.entry(key).or_default().push(attempt);
    }

    /// `count` more misses, identical to thread `tid`'s last one (the probe
    /// counted them instead of sending each), the latest at `ts_ns`.
    pub(crate) fn repeat(&mut self, tid: u32, count: u64, ts_ns: u64) {
        let attempt = self.by_thread.get(&tid).and_then(|m| {
            let group = self.open.get_mut(&*m.key)?;
            let i = group.find(&m.place, m.syscall, m.errno)?;
            group.attempts.get_mut(i)
        });
        match attempt {
            Some(attempt) => attempt.repeat_n(count, ts_ns),
            // Its attempt was not kept (past the cap): counted as such.
            None => self.dropped += count,
        }
    }

    /// A failed lookup that is not a miss breaks the thread's sequence: a
    /// success after it is not the end of the miss before.
    pub(crate) fn other_failure(&mut self, tid: u32) {
        if self.last_miss.as_ref().is_some_and(|m| m.tid == tid) {
            self.last_miss = None;
        }
    }

    /// Remembers the thread's last miss, reusing the buffers of the one
    /// before.
    fn note_miss(&mut self, tid: u32, syscall: &'static str, key: &[u8]) {
        match &mut self.last_miss {
            Some(last) => {
                last.tid = tid;
                last.syscall = syscall;
                if last.key != key {
                    last.key.clear();
                    last.key.extend_from_slice(key);
                }
            }
            None => {
                self.last_miss = Some(LastMiss {
                    tid,
                    syscall,
                    key: key.to_vec(),
                })
            }
        }
    }

    /// A successful lookup: it ends the open search of its stem. One without
    /// a path (execve's, whose path left with the old image) ends the search
    /// of the same thread's previous miss, if that was the same syscall.
    pub(crate) fn success(&mut self, lookup: &Lookup) {
        let place = place_of(&lookup.path, lookup.resolved.as_deref());
        if !place.is_empty() {
            let key = stem(place);
            if self.open.contains_key(key) {
                self.close(key, Some(place.to_vec()));
            }
            return;
        }
        let Some(last) = self.last_miss.take_if(|m| {
            m.tid == lookup.tid && m.syscall == lookup.syscall && self.open.contains_key(&*m.key)
        }) else {
            return;
        };
        self.unnamed = self.close(&last.key, None);
    }

    /// A successful exec of `filename`: the end of a `$PATH` search for it,
    /// or the name of the one a path-less success already ended.
    pub(crate) fn exec(&mut self, filename: &[u8]) {
        let key = stem(filename);
        if self.open.contains_key(key) {
            self.close(key, Some(filename.to_vec()));
            return;
        }
        if let Some(i) = self.unnamed.take()
            && let Some(closed) = self.done.get_mut(i)
            && closed.found.is_none()
            && *closed.key == *key
        {
            closed.found = Some(filename.to_vec());
        }
    }

    /// Ends the open search of `key`, if any; returns its index in `done`
    /// unless it was folded into an earlier identical one.
    fn close(&mut self, key: &[u8], found: Option<Vec<u8>>) -> Option<usize> {
        let (key, group) = self.open.remove_entry(key)?;
        let closed = Closed {
            key,
            attempts: group.attempts,
            found,
            runs: 1,
        };
        if closed.found.is_some()
            && let Some(ids) = self.done_by_key.get(&closed.key)
            && let Some(&same) = ids.iter().rev().find(|&&i| self.done[i].same_as(&closed))
        {
            self.stored -= closed.attempts.len();
            self.done[same].fold(closed);
            return None;
        }
        let i = self.done.len();
        self.done_by_key
            .entry(closed.key.clone())
            .or_default()
            .push(i);
        self.done.push(closed);
        Some(i)
    }

    /// Searches never ended by a success, as (stem, attempts in order).
    pub(crate) fn open(&self) -> impl Iterator<Item = (&[u8], &[Attempt])> {
        self.open.iter().map(|(k, g)| (&**k, g.attempts.as_slice()))
    }

    /// Searches a success ended, in the order they ended.
    pub(crate) fn closed(&self) -> &[Closed] {
        &self.done
    }

    /// Attempts held, open and closed.
    #[cfg(test)]
    pub(crate) fn stored(&self) -> usize {
        self.stored
    }
}

impl Closed {
    /// Same misses, in the same order, and the same success.
    fn same_as(&self, other: &Closed) -> bool {
        self.found == other.found
            && self.attempts.len() == other.attempts.len()
            && self.attempts.iter().zip(&other.attempts).all(|(a, b)| {
                a.errno == b.errno && a.syscall == b.syscall && a.place() == b.place()
            })
    }

    fn fold(&mut self, other: Closed) {
        self.runs += other.runs;
        for (a, b) in self.attempts.iter_mut().zip(other.attempts) {
            a.count += b.count;
            a.last_ts = a.last_ts.max(b.last_ts);
            a.uid = b.uid;
            a.gid = b.gid;
        }
    }
}

/// The distinct places of `attempts`, in the order they were first tried.
pub(crate) fn places(attempts: &[&Attempt]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for a in attempts {
        if !out.iter().any(|p| p == a.place()) {
            out.push(a.place().to_vec());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn lookup(ts: u64, syscall: &'static str, errno: Option<i32>, path: &str) -> Lookup {
        Lookup {
            ts_ns: ts,
            pid: 10,
            tid: 10,
            comm: b"prog".into(),
            syscall,
            errno,
            path: path.as_bytes().to_vec(),
            resolved: path.starts_with('/').then(|| PathBuf::from(path)),
            uid: 1000,
            gid: 1000,
        }
    }

    #[test]
    fn stems() {
        let cases: [(&[u8], &[u8]); 10] = [
            (b"/home/u/.bashrc", b".bashrc"),
            (b"/lib/libfoo.so.1", b"libfoo"),
            (b"pkg/__init__.cpython-311-x86_64-linux-gnu.so", b"__init__"),
            (b"/usr/lib/locale/C.UTF-8/LC_CTYPE", b"LC_CTYPE"),
            (b"/usr/bin/x", b"x"),
            (b"foo.py", b"foo"),
            (b"/etc/", b"etc"),
            (b"/", b""),
            (b"", b""),
            (b".config.d", b".config"),
        ];
        for (path, want) in cases {
            assert_eq!(
                stem(path),
                want,
                "stem of {:?}",
                String::from_utf8_lossy(path)
            );
        }
    }

    #[test]
    fn a_big_group_finds_its_attempts_through_the_index() {
        let mut s = Searches::default();
        for round in 0..2 {
            for i in 0..100 {
                s.miss(
                    lookup(round * 100 + i, "openat", Some(2), &format!("/d/f.{i}")),
                    2,
                );
            }
        }
        let (_, attempts) = s.open().next().expect("one open search");
        assert_eq!(attempts.len(), 100, "repeats were not folded");
        assert!(
            attempts.iter().all(|a| a.count == 2),
            "every place was tried twice"
        );
        assert_eq!(s.stored(), 100);
    }

    #[test]
    fn a_repeated_search_is_folded_into_the_first() {
        let mut s = Searches::default();
        for round in 0..1000 {
            let ts = round * 10;
            s.miss(lookup(ts, "execve", Some(2), "/usr/local/bin/x"), 2);
            s.miss(lookup(ts + 1, "execve", Some(2), "/usr/bin/x"), 2);
            s.exec(b"/bin/x");
        }
        assert_eq!(s.closed().len(), 1, "each run made a new search");
        assert_eq!(s.closed()[0].runs, 1000);
        assert_eq!(s.closed()[0].attempts[1].count, 1000);
        assert_eq!(s.stored(), 2, "folded attempts were not freed");
    }

    #[test]
    fn attempts_beyond_the_cap_are_counted_not_kept() {
        let mut s = Searches::default();
        for i in 0..MAX_ATTEMPTS + 5 {
            s.miss(lookup(i as u64, "stat", Some(2), &format!("/d/n{i}")), 2);
        }
        assert_eq!(s.stored(), MAX_ATTEMPTS);
        assert_eq!(s.dropped, 5);
    }

    #[test]
    fn a_pathless_success_ends_only_its_threads_previous_miss() {
        let mut s = Searches::default();
        s.miss(lookup(1, "execve", Some(2), "/usr/bin/gone"), 2);
        s.miss(lookup(2, "execve", Some(2), "/usr/local/bin/x"), 2);
        // Another thread's success, then a different syscall's: neither
        // ends the search.
        let mut other = lookup(3, "execve", None, "");
        other.tid = 11;
        s.success(&other);
        s.success(&lookup(4, "openat", None, ""));
        assert_eq!(
            s.closed().len(),
            0,
            "ended by a success that was not its own"
        );
        s.success(&lookup(5, "execve", None, ""));
        assert_eq!(s.closed().len(), 1);
        assert_eq!(&*s.closed()[0].key, b"x");
        assert_eq!(s.closed()[0].found, None);
        s.exec(b"/usr/bin/x");
        assert_eq!(s.closed()[0].found.as_deref(), Some(&b"/usr/bin/x"[..]));
        let open: Vec<&[u8]> = s.open().map(|(k, _)| k).collect();
        assert_eq!(open, [&b"gone"[..]]);
    }
}
