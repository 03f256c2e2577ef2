//! `why-missing`: which files a command looked for and did not find, and
//! which of those made it fail.
//!
//! A program that fails for want of a file seldom says which lookup
//! mattered, and strace drowns it: ld.so, `$PATH` search, Python's imports
//! and locale loading miss dozens of files on every healthy run. So misses
//! are folded into the *searches* they belong to (same process, same name
//! stem), searches that ended in a success are set aside, and what is left
//! is weighed against what the failing process wrote to stderr before it
//! exited.
//!
//! [`Analyzer::observe`] runs for every event of a busy host: it folds
//! repeats of an attempt in place without allocating, and bounds what it
//! keeps per process. Everything costly (reading the filesystem, choosing
//! the culprit) waits for [`Analyzer::report`].

mod inspect;
mod observe;
pub mod render;
mod search;
mod verdict;

use std::collections::{HashMap, VecDeque};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use self::inspect::Names;
pub use self::inspect::{Cause, Class, Denial, EXEC, Inode, READ, WRITE};
pub use self::observe::observation;
use self::search::{Closed, Searches, places};
use crate::model::{Comm, ProcessExit};

/// A path lookup a process made: a syscall that names a path (open family,
/// stat family, access family, execve/execveat, readlink, chdir,
/// mkdir/unlink/rename, inotify_add_watch, connect/bind on AF_UNIX).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// Unix time of the syscall, in nanoseconds.
    pub ts_ns: u64,
    pub pid: u32,
    pub tid: u32,
    /// The thread's name, raw bytes (hostile: escape before printing).
    pub comm: Comm,
    /// The syscall's name: `"openat"`, `"newfstatat"`, `"execve"`, …
    pub syscall: &'static str,
    /// `None`: it succeeded.
    pub errno: Option<i32>,
    /// The path as passed (hostile bytes). Empty for a successful execve,
    /// whose path left with the old image.
    pub path: Vec<u8>,
    /// The path made absolute, when the cwd or dirfd was known.
    pub resolved: Option<PathBuf>,
    /// The process's real uid at the time.
    pub uid: u32,
    /// The process's real gid at the time.
    pub gid: u32,
}

/// What the analyzer is told, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    Lookup(Lookup),
    /// Thread `tid` repeated its last failed lookup `count` more times,
    /// the latest at `ts_ns` (the probe counts identical repeats instead
    /// of sending each).
    Repeat {
        ts_ns: u64,
        pid: u32,
        tid: u32,
        count: u64,
    },
    /// Bytes a process wrote to fd 2 (the first bytes of each write only,
    /// maybe truncated). `ts_ns` is unix time in nanoseconds, as for every
    /// observation.
    Stderr {
        ts_ns: u64,
        pid: u32,
        bytes: Vec<u8>,
    },
    Fork {
        ts_ns: u64,
        parent: u32,
        child: u32,
    },
    /// A successful exec; the filename as the kernel saw it.
    Exec {
        ts_ns: u64,
        pid: u32,
        filename: Vec<u8>,
    },
    /// `wait_status` as waitpid reports it (code << 8 | signal). A `ts_ns`
    /// of 0 means "some time after everything seen" (a status from waitpid
    /// when the probe's exit record was lost); an empty `comm` keeps the
    /// name already known.
    Exit {
        ts_ns: u64,
        pid: u32,
        comm: Comm,
        wait_status: i32,
    },
}

/// The errnos that say a lookup did not find, or may not reach, what it
/// named. Other failures (EEXIST, EBADF, …) are not about a missing file.
const MISS_ERRNOS: [i32; 6] = [
    libc::ENOENT,
    libc::ENOTDIR,
    libc::EACCES,
    libc::EPERM,
    libc::ELOOP,
    libc::ENAMETOOLONG,
];

/// Bytes of stderr kept per process: the newest, which is where a program
/// says why it gives up.
const STDERR_BYTES: usize = 4096;

/// One distinct attempt: the repeats of a lookup by the same process, with
/// the same syscall, errno and place, folded together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub syscall: &'static str,
    pub errno: i32,
    /// The path as passed, at the first attempt.
    pub path: Vec<u8>,
    pub resolved: Option<PathBuf>,
    /// The thread's name at the first attempt.
    pub comm: Comm,
    pub tid: u32,
    /// The process's real uid at the latest attempt.
    pub uid: u32,
    /// The process's real gid at the latest attempt.
    pub gid: u32,
    /// How many times it was tried.
    pub count: u64,
    /// Unix time of the first try, in nanoseconds.
    pub first_ts: u64,
    /// Unix time of the latest try, in nanoseconds.
    pub last_ts: u64,
}

impl Attempt {
    fn first(lookup: Lookup, errno: i32) -> Attempt {
        Attempt {
            syscall: lookup.syscall,
            errno,
            path: lookup.path,
            resolved: lookup.resolved,
            comm: lookup.comm,
            tid: lookup.tid,
            uid: lookup.uid,
            gid: lookup.gid,
            count: 1,
            first_ts: lookup.ts_ns,
            last_ts: lookup.ts_ns,
        }
    }

    /// `n` more of the same, the latest at `ts_ns`.
    fn repeat_n(&mut self, n: u64, ts_ns: u64) {
        self.count += n;
        self.last_ts = self.last_ts.max(ts_ns);
    }

    fn repeat(&mut self, ts_ns: u64, uid: u32, gid: u32) {
        self.count += 1;
        self.first_ts = self.first_ts.min(ts_ns);
        self.last_ts = self.last_ts.max(ts_ns);
        self.uid = uid;
        self.gid = gid;
    }

    /// Where it looked: the resolved path when known, else the path as
    /// passed.
    pub fn place(&self) -> &[u8] {
        search::place_of(&self.path, self.resolved.as_deref())
    }

    /// EACCES or EPERM: it was not allowed, rather than not found.
    pub fn is_denied(&self) -> bool {
        matches!(self.errno, libc::EACCES | libc::EPERM)
    }

    fn is_exec(&self) -> bool {
        matches!(self.syscall, "execve" | "execveat")
    }

    /// The absolute path to look at now, if there is one.
    fn fs_path(&self) -> Option<&Path> {
        let path = Path::new(std::ffi::OsStr::from_bytes(self.place()));
        path.is_absolute().then_some(path)
    }
}

/// Everything [`Analyzer::report`] found, for [`render`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The pid of the command hostscope started, if it did.
    pub root: Option<u32>,
    /// Every process seen, in the order it was first seen.
    pub processes: Vec<ProcessReport>,
    /// What failed and why: exactly one with a root; without, one per
    /// failed process that a lookup explains, or one saying none did.
    pub verdicts: Vec<Verdict>,
    /// Events the probe lost (set by the caller): when not 0, the verdict
    /// may be missing its culprit.
    pub events_lost: u64,
    /// Processes that exited with nothing missing or denied and were
    /// forgotten to keep memory bounded over a long `--all` run (their
    /// collapsed searches are no longer listed).
    pub forgotten: u64,
}

/// One process's misses, denials and searches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessReport {
    pub pid: u32,
    /// Its name at exit, else at its latest lookup (raw bytes).
    pub comm: Comm,
    /// The process that forked it, when that was seen.
    pub parent: Option<u32>,
    /// The file of its latest exec.
    pub exec: Option<Vec<u8>>,
    pub exit: Option<ProcessExit>,
    /// Searches no success ended, in the order they began.
    pub missing: Vec<Missing>,
    /// Denied attempts of searches no success ended, in order.
    pub denied: Vec<Denied>,
    /// Searches a success ended, in the order they ended.
    pub searches: Vec<Search>,
    /// Failed lookups not kept: the process had more distinct attempts than
    /// hostscope keeps per process.
    pub dropped_lookups: u64,
    /// Bytes of stderr not kept (the oldest).
    pub dropped_stderr_bytes: u64,
}

/// A name looked for and never found: one entry per search, however many
/// places it tried and however often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub pid: u32,
    /// The name of the thread that tried last.
    pub comm: Comm,
    /// The stem the places share: the final component up to its first
    /// `.`, a leading `.` aside (`libfoo.so.1` → `libfoo`).
    pub key: Vec<u8>,
    /// The distinct attempts, in the order first tried.
    pub attempts: Vec<Attempt>,
    /// The distinct places tried, in order.
    pub places: Vec<Vec<u8>>,
    /// Tries, all places together.
    pub count: u64,
    /// Unix time of the first try, in nanoseconds.
    pub first_ts: u64,
    /// Unix time of the latest try, in nanoseconds.
    pub last_ts: u64,
    /// Why an execve said ENOENT for a file that exists.
    pub cause: Option<Cause>,
}

impl Missing {
    /// The attempt tried last: the one that stands for the entry.
    pub fn last(&self) -> &Attempt {
        latest(&self.attempts)
    }
}

/// A lookup that was not allowed, and what said no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub pid: u32,
    pub comm: Comm,
    pub attempt: Attempt,
    pub denial: Denial,
}

/// A search that ended in a success: found at candidate `k` of `n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub pid: u32,
    pub comm: Comm,
    pub key: Vec<u8>,
    /// Where it was found; `None` when the success did not name it.
    pub found: Option<Vec<u8>>,
    /// The success's place among the distinct places tried, from 1.
    pub k: usize,
    /// Candidates tried, the success included (equal to `k`: a search
    /// stops at its success).
    pub n: usize,
    /// The distinct places missed before, in order.
    pub places: Vec<Vec<u8>>,
    pub attempts: Vec<Attempt>,
    /// Misses, all places and runs together.
    pub count: u64,
    /// Unix time of the first miss, in nanoseconds.
    pub first_ts: u64,
    /// Unix time of the latest miss, in nanoseconds.
    pub last_ts: u64,
    /// How many times the same search (same misses, same success) ran.
    pub runs: u64,
}

impl Search {
    /// The miss tried last.
    pub fn last(&self) -> &Attempt {
        latest(&self.attempts)
    }
}

/// What failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The command exited 0: whatever it missed, it coped.
    Succeeded { exit: ProcessExit },
    /// The command had not exited when the report was made, and nothing
    /// under it failed after a failed lookup.
    Unfinished { pid: u32, comm: Comm },
    /// No command was started, and no watched process failed after a
    /// failed lookup; `failed` of them failed otherwise.
    NoFailure { failed: usize },
    /// `exit` is the failing process's; `culprit` the lookup that explains
    /// it; `evidence` the start of what the process wrote to stderr after
    /// it.
    Explained {
        exit: ProcessExit,
        culprit: Box<Culprit>,
        evidence: Vec<u8>,
    },
    /// The command failed and no failed lookup explains it (a missing
    /// Python module, say: CPython lists directories instead of looking
    /// files up); `evidence` is the end of its stderr.
    Unexplained {
        exit: ProcessExit,
        evidence: Vec<u8>,
    },
}

/// The entry a verdict blames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Culprit {
    Missing(Missing),
    Denied(Denied),
}

impl Culprit {
    /// The attempt that stands for it.
    pub fn attempt(&self) -> &Attempt {
        match self {
            Culprit::Missing(m) => m.last(),
            Culprit::Denied(d) => &d.attempt,
        }
    }

    pub fn cause(&self) -> Option<&Cause> {
        match self {
            Culprit::Missing(m) => m.cause.as_ref(),
            Culprit::Denied(_) => None,
        }
    }

    /// Tries, all places together.
    pub fn count(&self) -> u64 {
        match self {
            Culprit::Missing(m) => m.count,
            Culprit::Denied(d) => d.attempt.count,
        }
    }

    /// Unix time of the latest try, in nanoseconds.
    pub fn last_ts(&self) -> u64 {
        match self {
            Culprit::Missing(m) => m.last_ts,
            Culprit::Denied(d) => d.attempt.last_ts,
        }
    }
}

fn latest(attempts: &[Attempt]) -> &Attempt {
    // Among equal times, the one tried later in order.
    attempts
        .iter()
        .max_by_key(|a| a.last_ts)
        .expect("an entry has at least one attempt")
}

/// Collects lookups, stderr and process lifetimes; makes the [`Report`].
#[derive(Debug)]
pub struct Analyzer {
    root: Option<u32>,
    /// Every process instance seen; a pid that is reused gets a new one.
    procs: Vec<Proc>,
    /// The current instance of each pid.
    by_pid: HashMap<u32, usize>,
    /// See [`Report::forgotten`].
    forgotten: u64,
    /// Process records at which to forget again: doubled when little could
    /// be forgotten, so that a host of live processes is not rescanned at
    /// every fork.
    compact_at: usize,
}

/// Process records kept before exited ones with nothing to report are
/// forgotten (only without a root: a command's tree is kept whole, since
/// its verdict walks it).
const MAX_PROCS: usize = 20_000;

/// What is known of one process.
#[derive(Debug)]
struct Proc {
    pid: u32,
    parent: Option<usize>,
    comm: Comm,
    exec: Option<Vec<u8>>,
    exit: Option<ProcessExit>,
    stderr: StderrLog,
    searches: Searches,
}

/// The newest [`STDERR_BYTES`] a process wrote to stderr, by write.
#[derive(Debug, Default)]
struct StderrLog {
    chunks: VecDeque<(u64, Vec<u8>)>,
    bytes: usize,
    dropped: u64,
}

impl StderrLog {
    fn push(&mut self, ts_ns: u64, mut bytes: Vec<u8>) {
        if bytes.len() > STDERR_BYTES {
            self.dropped += (bytes.len() - STDERR_BYTES) as u64;
            bytes.truncate(STDERR_BYTES);
        }
        while self.bytes + bytes.len() > STDERR_BYTES {
            let Some((_, old)) = self.chunks.pop_front() else {
                break;
            };
            self.bytes -= old.len();
            self.dropped += old.len() as u64;
        }
        self.bytes += bytes.len();
        self.chunks.push_back((ts_ns, bytes));
    }

    /// Everything kept, as one run of bytes with the offset where each
    /// write starts, so that a message split over writes is still found.
    fn joined(&self) -> Joined {
        let mut text = Vec::with_capacity(self.bytes);
        let mut starts = Vec::with_capacity(self.chunks.len());
        for (ts, bytes) in &self.chunks {
            starts.push((*ts, text.len()));
            text.extend_from_slice(bytes);
        }
        Joined { text, starts }
    }
}

/// A process's stderr, joined (see [`StderrLog::joined`]).
#[derive(Debug)]
struct Joined {
    text: Vec<u8>,
    starts: Vec<(u64, usize)>,
}

impl Joined {
    /// When the first write at or after `ts_ns` was made.
    fn first_write_since(&self, ts_ns: u64) -> Option<u64> {
        self.starts
            .iter()
            .map(|&(ts, _)| ts)
            .find(|&ts| ts >= ts_ns)
    }

    /// What was written at or after `ts_ns`.
    fn since(&self, ts_ns: u64) -> &[u8] {
        let first = self
            .starts
            .iter()
            .find(|(ts, _)| *ts >= ts_ns)
            .map_or(self.text.len(), |&(_, at)| at);
        &self.text[first..]
    }
}

impl Proc {
    fn new(pid: u32, parent: Option<usize>) -> Proc {
        Proc {
            pid,
            parent,
            comm: Comm::default(),
            exec: None,
            exit: None,
            stderr: StderrLog::default(),
            searches: Searches::default(),
        }
    }

    /// When it exited, for ordering; an exit of unknown time (0) sorts
    /// after everything.
    fn exit_ts(&self) -> Option<u64> {
        self.exit
            .as_ref()
            .map(|e| if e.ts_ns == 0 { u64::MAX } else { e.ts_ns })
    }

    fn report(&self, parent: Option<u32>, names: &mut Names) -> ProcessReport {
        let mut missing = Vec::new();
        let mut denied = Vec::new();
        for (key, attempts) in self.searches.open() {
            let (refused, missed): (Vec<&Attempt>, Vec<&Attempt>) =
                attempts.iter().partition(|a| a.is_denied());
            if !missed.is_empty() {
                missing.push(self.missing(key, &missed));
            }
            for attempt in refused {
                let denial = inspect::explain_denied(
                    attempt.fs_path(),
                    attempt.uid,
                    attempt.gid,
                    attempt.is_exec(),
                    names,
                );
                denied.push(Denied {
                    pid: self.pid,
                    comm: attempt.comm,
                    attempt: attempt.clone(),
                    denial,
                });
            }
        }
        // The open searches come out of a hash map.
        missing.sort_by_key(|m| (m.first_ts, m.last_ts));
        denied.sort_by_key(|d| (d.attempt.first_ts, d.attempt.last_ts));
        ProcessReport {
            pid: self.pid,
            comm: self.comm,
            parent,
            exec: self.exec.clone(),
            exit: self.exit.clone(),
            missing,
            denied,
            searches: self
                .searches
                .closed()
                .iter()
                .map(|c| self.search(c))
                .collect(),
            dropped_lookups: self.searches.dropped,
            dropped_stderr_bytes: self.stderr.dropped,
        }
    }

    fn missing(&self, key: &[u8], attempts: &[&Attempt]) -> Missing {
        let attempts: Vec<Attempt> = attempts.iter().map(|&a| a.clone()).collect();
        let cause = attempts
            .iter()
            .filter(|a| a.is_exec() && a.errno == libc::ENOENT)
            .find_map(|a| inspect::exec_cause(a.fs_path()?));
        let refs: Vec<&Attempt> = attempts.iter().collect();
        Missing {
            pid: self.pid,
            comm: latest(&attempts).comm,
            key: key.to_vec(),
            places: places(&refs),
            count: attempts.iter().map(|a| a.count).sum(),
            first_ts: attempts.iter().map(|a| a.first_ts).min().unwrap_or(0),
            last_ts: attempts.iter().map(|a| a.last_ts).max().unwrap_or(0),
            cause,
            attempts,
        }
    }

    fn search(&self, closed: &Closed) -> Search {
        let refs: Vec<&Attempt> = closed.attempts.iter().collect();
        let places = places(&refs);
        let k = closed
            .found
            .as_ref()
            .and_then(|f| places.iter().position(|p| p == f))
            .unwrap_or(places.len())
            + 1;
        Search {
            pid: self.pid,
            comm: latest(&closed.attempts).comm,
            key: closed.key.to_vec(),
            found: closed.found.clone(),
            k,
            n: k,
            places,
            attempts: closed.attempts.clone(),
            count: closed.attempts.iter().map(|a| a.count).sum(),
            first_ts: closed
                .attempts
                .iter()
                .map(|a| a.first_ts)
                .min()
                .unwrap_or(0),
            last_ts: closed.attempts.iter().map(|a| a.last_ts).max().unwrap_or(0),
            runs: closed.runs,
        }
    }
}

impl Analyzer {
    /// `root` is the pid of the command hostscope started, or `None` when
    /// it watches processes it did not start (`-p`, `--all`).
    pub fn new(root: Option<u32>) -> Self {
        let mut analyzer = Analyzer {
            root,
            procs: Vec::new(),
            by_pid: HashMap::new(),
            forgotten: 0,
            compact_at: MAX_PROCS,
        };
        if let Some(pid) = root {
            analyzer.spawn(pid, None);
        }
        analyzer
    }

    /// Takes one observation in. Cheap: a repeat of an attempt already
    /// seen is counted in place, without allocating.
    pub fn observe(&mut self, obs: Observation) {
        match obs {
            Observation::Lookup(lookup) => {
                let proc = self.current(lookup.pid, lookup.ts_ns);
                if proc.comm != lookup.comm {
                    proc.comm.clone_from(&lookup.comm);
                }
                match lookup.errno {
                    None => proc.searches.success(&lookup),
                    Some(errno) if MISS_ERRNOS.contains(&errno) => {
                        proc.searches.miss(lookup, errno);
                    }
                    Some(_) => proc.searches.other_failure(lookup.tid),
                }
            }
            Observation::Repeat {
                ts_ns,
                pid,
                tid,
                count,
            } => self.current(pid, ts_ns).searches.repeat(tid, count, ts_ns),
            Observation::Stderr { ts_ns, pid, bytes } => {
                self.current(pid, ts_ns).stderr.push(ts_ns, bytes);
            }
            Observation::Fork {
                ts_ns,
                parent,
                child,
            } => {
                let parent = self.current_index(parent, ts_ns);
                match self.by_pid.get(&child).map(|&i| &mut self.procs[i]) {
                    // Seen before its fork record (which should not
                    // happen, but costs nothing to allow).
                    Some(proc) if proc.exit.is_none() && proc.parent.is_none() => {
                        proc.parent = Some(parent);
                    }
                    _ => {
                        self.spawn(child, Some(parent));
                    }
                }
            }
            Observation::Exec {
                ts_ns,
                pid,
                filename,
            } => {
                let proc = self.current(pid, ts_ns);
                proc.searches.exec(&filename);
                proc.exec = Some(filename);
            }
            Observation::Exit {
                ts_ns,
                pid,
                comm,
                wait_status,
            } => {
                let i = match self.by_pid.get(&pid) {
                    Some(&i) => i,
                    None => self.spawn(pid, None),
                };
                let proc = &mut self.procs[i];
                if !comm.is_empty() {
                    proc.comm.clone_from(&comm);
                }
                match &mut proc.exit {
                    // A second report of the same exit: waitpid's status
                    // is the truth, the first one's time is the better.
                    Some(exit) => exit.wait_status = wait_status,
                    None => {
                        proc.exit = Some(ProcessExit {
                            ts_ns,
                            pid,
                            comm: proc.comm,
                            wait_status,
                        });
                    }
                }
            }
        }
    }

    /// The instance of `pid` that was alive at `ts_ns`: the current one,
    /// unless it had exited by then (the pid was reused).
    fn current_index(&mut self, pid: u32, ts_ns: u64) -> usize {
        match self.by_pid.get(&pid) {
            Some(&i) if self.procs[i].exit_ts().is_none_or(|exit| ts_ns <= exit) => i,
            _ => self.spawn(pid, None),
        }
    }

    fn current(&mut self, pid: u32, ts_ns: u64) -> &mut Proc {
        let i = self.current_index(pid, ts_ns);
        &mut self.procs[i]
    }

    fn spawn(&mut self, pid: u32, parent: Option<usize>) -> usize {
        if self.root.is_none() && self.procs.len() >= self.compact_at {
            self.forget_finished();
            self.compact_at = MAX_PROCS.max(2 * self.procs.len());
        }
        let i = self.procs.len();
        self.procs.push(Proc::new(pid, parent));
        self.by_pid.insert(pid, i);
        i
    }

    /// Drops the processes that exited successfully with nothing missing or
    /// denied,
    /// renumbering the rest. Parent links to a dropped process are cut:
    /// without a root no verdict follows them.
    fn forget_finished(&mut self) {
        let keep: Vec<bool> = self
            .procs
            .iter()
            .map(|p| {
                p.exit.as_ref().is_none_or(|e| e.wait_status != 0)
                    || p.searches.open().next().is_some()
            })
            .collect();
        let mut new_index = vec![None; self.procs.len()];
        let mut next = 0;
        for (i, &k) in keep.iter().enumerate() {
            if k {
                new_index[i] = Some(next);
                next += 1;
            }
        }
        let before = self.procs.len();
        let mut i = 0;
        self.procs.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        for proc in &mut self.procs {
            proc.parent = proc.parent.and_then(|p| new_index[p]);
        }
        self.by_pid.retain(|_, i| match new_index[*i] {
            Some(n) => {
                *i = n;
                true
            }
            None => false,
        });
        self.forgotten += (before - self.procs.len()) as u64;
    }

    /// Looks at the filesystem for denials and exec failures, and chooses
    /// the verdict. Leaves the analyzer as it was: it can be asked again.
    pub fn report(&self) -> Report {
        let mut names = Names::default();
        let processes: Vec<ProcessReport> = self
            .procs
            .iter()
            .map(|p| p.report(p.parent.map(|i| self.procs[i].pid), &mut names))
            .collect();
        let root = self.root.map(|_| 0);
        let verdicts = verdict::decide(root, &self.procs, &processes);
        Report {
            root: self.root,
            processes,
            verdicts,
            events_lost: 0,
            forgotten: self.forgotten,
        }
    }
}

#[cfg(test)]
mod tests;
