//! Snapshots of every process on the host, read from `/proc`.
//!
//! `hostscope ps` prints one snapshot, the TUI takes one every second and
//! turns two into %CPU, and trace output is enriched from them. All of them
//! need the same few facts about thousands of processes, read fast and
//! without root. So this module reads exactly four small files per process
//! (`stat`, `status`, `cmdline`, `cgroup`), reuses one buffer for all of them,
//! resolves each user name once, and treats whatever it may not read as
//! unknown (`None`) rather than as an error. Processes come and go while
//! `/proc` is read: those that exit mid-read are left out and counted.

mod cgroup;
mod detail;
mod parse;
mod signal;
mod sockets;
mod users;

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::Arc;
use std::time::Duration;

use ::procfs::process::Process;
use ::procfs::{CurrentSI, KernelStats, ProcError};

pub use self::cgroup::{Origin, Runtime, origin_from_cgroup};
pub use self::detail::{
    Detail, DetailError, DetailOptions, EnvVar, Ids, Limit, OpenFile, read_detail,
};
use self::parse::{effective_uid, parse_stat, split_cmdline};
pub use self::signal::{SIGNALS, SignalError, send_signal};
pub use self::sockets::{Socket, SocketKind};
use self::users::Users;

/// What went wrong reading `/proc` as a whole (one process going wrong is
/// never an error: its fields are `None`, or it is counted as skipped).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `/proc` could not be listed.
    #[error("cannot list the processes in /proc (is procfs mounted there?)")]
    ListProc(#[source] ProcError),
    /// The kernel's since-boot clock could not be read.
    #[error("cannot read CLOCK_BOOTTIME (hostscope needs Linux 2.6.39 or later)")]
    Clock(#[source] io::Error),
}

/// One process, as far as it could be read.
///
/// `None` means unknown: the file was unreadable for this user (`hidepid`
/// mounts, LSMs) or malformed. Byte fields hold exactly what the process set,
/// which may be anything: escape them before showing them.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessInfo {
    /// Process (thread group) id.
    pub pid: u32,
    /// The parent's pid; 0 for processes the kernel started (init,
    /// kthreadd) and for those whose parent is outside our pid namespace.
    pub ppid: Option<u32>,
    /// Effective user id.
    pub uid: Option<u32>,
    /// The name of `uid` in the passwd database; `None` when `uid` is unknown
    /// or has no name.
    pub user: Option<Arc<str>>,
    /// Scheduler state, as in `/proc/PID/stat`: `R` running, `S` sleeping,
    /// `D` uninterruptible, `Z` zombie, `T` stopped, `t` traced, `I` idle
    /// kernel thread, `X` dead.
    pub state: Option<char>,
    /// CPU time spent in user and kernel mode, in clock ticks
    /// ([`Snapshot::ticks_per_second`] per second).
    pub cpu_ticks: Option<u64>,
    /// When the process started, in clock ticks after boot. With `pid` it
    /// identifies a process across snapshots, since pids are reused.
    pub start_ticks: Option<u64>,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time: Option<u64>,
    /// Resident set size, in bytes.
    pub rss_bytes: Option<u64>,
    /// Number of threads.
    pub threads: Option<u32>,
    /// The kernel's name for the process (at most 15 bytes), raw.
    pub comm: Option<Vec<u8>>,
    /// The arguments, raw; empty for kernel threads and zombies.
    pub cmdline: Option<Vec<Vec<u8>>>,
    /// The container, pod or systemd unit the process runs in; `None` when
    /// its cgroup names none, or is unreadable.
    pub origin: Option<Origin>,
    /// A kernel thread (`PF_KTHREAD`); `false` when `stat` was unreadable.
    pub kernel_thread: bool,
}

impl ProcessInfo {
    /// A zombie: exited, but not yet waited for by its parent.
    pub fn is_zombie(&self) -> bool {
        self.state == Some('Z')
    }
}

/// Every process readable at one moment, and what is needed to compare two
/// snapshots.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The processes, sorted by pid.
    pub processes: Vec<ProcessInfo>,
    /// Processes listed in `/proc` that exited (or could not be opened at
    /// all) before they were read, and so are missing from `processes`.
    pub skipped: usize,
    /// When reading began, as time since boot (`CLOCK_BOOTTIME`: monotonic,
    /// counts suspend, the clock process start times are in).
    pub taken_at: Duration,
    /// Clock ticks per second (`USER_HZ`, usually 100).
    pub ticks_per_second: u64,
    /// When the system booted, in seconds since the Unix epoch.
    pub boot_time: Option<u64>,
}

impl Snapshot {
    /// The process with this pid, if it was read.
    pub fn get(&self, pid: u32) -> Option<&ProcessInfo> {
        self.processes
            .binary_search_by_key(&pid, |p| p.pid)
            .ok()
            .map(|i| &self.processes[i])
    }

    /// %CPU over the process's whole life, as `ps` shows it: CPU time divided
    /// by the time since it started. 100 is one CPU busy all that time.
    pub fn lifetime_cpu_percent(&self, process: &ProcessInfo) -> Option<f64> {
        let hz = self.ticks_per_second as f64;
        let cpu = process.cpu_ticks? as f64 / hz;
        let elapsed = self.taken_at.as_secs_f64() - process.start_ticks? as f64 / hz;
        Some(if elapsed > 0.0 {
            cpu / elapsed * 100.0
        } else {
            0.0
        })
    }

    /// %CPU of process `pid` between `prev` and this snapshot, as `top`
    /// shows it: 100 is one CPU busy the whole interval.
    ///
    /// A process that started after `prev` was taken counts all its CPU
    /// time; one that `prev` did not have for another reason (it was
    /// skipped, or unreadable) gives `None`, as does a pid not in this
    /// snapshot. A pid reused since `prev` is told apart by its start time.
    pub fn cpu_percent_since(&self, prev: &Snapshot, pid: u32) -> Option<f64> {
        let now = self.get(pid)?;
        let elapsed = self.taken_at.checked_sub(prev.taken_at)?.as_secs_f64();
        if elapsed <= 0.0 {
            return None;
        }
        let hz = self.ticks_per_second as f64;
        let ticks = now.cpu_ticks?;
        let start = now.start_ticks?;
        let before = match prev.get(pid) {
            Some(old) if old.start_ticks == Some(start) => old.cpu_ticks?,
            _ if start as f64 / hz >= prev.taken_at.as_secs_f64() => 0,
            _ => return None,
        };
        let cpu = ticks.saturating_sub(before) as f64 / hz;
        Some(cpu / elapsed * 100.0)
    }
}

/// Takes snapshots, keeping what stays the same between them (user names,
/// the read buffer, and per process what seldom changes) so that a caller
/// refreshing every second pays for it once.
///
/// A refresh reads only `/proc/PID/stat` of a process already seen: its
/// command line, cgroup and uid are reused while its start time, name and
/// argv address are unchanged (an exec changes the address), and are read
/// again every [`Reader::RECHECK_SECS`] or so for the rare process that
/// changes them in place (setproctitle, setuid, a cgroup move). This cuts
/// a refresh from five file reads per process to one.
#[derive(Debug)]
pub struct Reader {
    users: Users,
    buf: Vec<u8>,
    path: String,
    ticks_per_second: u64,
    page_size: u64,
    /// How many processes the last snapshot had, to size the next one.
    last_count: usize,
    slow: HashMap<u32, Slow>,
    /// Snapshots taken so far.
    generation: u64,
    /// When the system booted, in seconds since the Unix epoch.
    boot_time: Option<u64>,
}

/// What a process seldom changes, as last read.
#[derive(Debug)]
struct Slow {
    start_ticks: u64,
    comm: Vec<u8>,
    args_at: Option<(u64, u64)>,
    uid: Option<u32>,
    cmdline: Option<Vec<Vec<u8>>>,
    origin: Option<Origin>,
    /// The snapshot that last saw the process.
    seen: u64,
    /// When to read it all again, in seconds since boot.
    due: u64,
}

/// What [`Reader::read_all`] read.
struct Everything {
    stat: Option<parse::StatFields>,
    uid: Option<u32>,
    cmdline: Option<Vec<Vec<u8>>>,
    origin: Option<Origin>,
}

impl Default for Reader {
    fn default() -> Self {
        Self::new()
    }
}

/// A process that exited while it was being read.
struct Gone;

impl Reader {
    /// Seconds between two full reads of a process that looks unchanged
    /// (plus up to as many again, by pid, so they do not all fall due in
    /// the same refresh).
    pub const RECHECK_SECS: u64 = 30;

    /// A reader with nothing cached yet; reads nothing until [`Reader::snapshot`].
    pub fn new() -> Self {
        Reader {
            users: Users::default(),
            buf: Vec::with_capacity(4096),
            path: String::with_capacity(32),
            ticks_per_second: ::procfs::ticks_per_second(),
            page_size: ::procfs::page_size(),
            last_count: 0,
            slow: HashMap::new(),
            generation: 0,
            boot_time: None,
        }
    }

    /// Reads every process in `/proc`.
    pub fn snapshot(&mut self) -> Result<Snapshot, Error> {
        let taken_at = since_boot().map_err(Error::Clock)?;
        // The boot time never changes: /proc/stat, long on a big machine,
        // is read once.
        if self.boot_time.is_none() {
            self.boot_time = KernelStats::current().ok().map(|k| k.btime);
        }
        let boot_time = self.boot_time;
        let entries = std::fs::read_dir("/proc").map_err(|e| Error::ListProc(e.into()))?;
        self.generation += 1;
        let mut processes = Vec::with_capacity(self.last_count + self.last_count / 8);
        let mut skipped = 0;
        for entry in entries {
            let Some(pid) = entry
                .ok()
                .and_then(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
            else {
                continue;
            };
            match self.read(pid, boot_time, taken_at.as_secs()) {
                Ok(process) => processes.push(process),
                Err(Gone) => skipped += 1,
            }
        }
        let generation = self.generation;
        self.slow.retain(|_, slow| slow.seen == generation);
        // readdir order on /proc is by pid already; this only guarantees it.
        processes.sort_unstable_by_key(|p| p.pid);
        self.last_count = processes.len();
        Ok(Snapshot {
            processes,
            skipped,
            taken_at,
            ticks_per_second: self.ticks_per_second,
            boot_time,
        })
    }

    /// Reads one process: its `stat` alone when what else we need is cached
    /// and still valid, else everything. `now` is in seconds since boot.
    fn read(&mut self, pid: u32, boot_time: Option<u64>, now: u64) -> Result<ProcessInfo, Gone> {
        use std::fmt::Write as _;
        self.path.clear();
        let _ = write!(self.path, "/proc/{pid}/stat");
        let stat = read_stat(&self.path, &mut self.buf)?
            .then(|| parse_stat(&self.buf))
            .flatten();
        let cached = match (&stat, self.slow.get_mut(&pid)) {
            (Some(s), Some(slow))
                if now < slow.due
                    && slow.start_ticks == s.start_ticks
                    && slow.comm == s.comm
                    && slow.args_at == s.args_at =>
            {
                slow.seen = self.generation;
                Some(Everything {
                    stat,
                    uid: slow.uid,
                    cmdline: slow.cmdline.clone(),
                    origin: slow.origin.clone(),
                })
            }
            _ => None,
        };
        let Everything {
            stat,
            uid,
            cmdline,
            origin,
        } = match cached {
            Some(cached) => cached,
            None => self.read_all(pid, now)?,
        };
        let hz = self.ticks_per_second;
        Ok(ProcessInfo {
            pid,
            ppid: stat.as_ref().map(|s| s.ppid),
            uid,
            user: uid.and_then(|uid| self.users.name(uid)),
            state: stat.as_ref().map(|s| s.state),
            cpu_ticks: stat.as_ref().map(|s| s.cpu_ticks),
            start_ticks: stat.as_ref().map(|s| s.start_ticks),
            start_time: stat
                .as_ref()
                .zip(boot_time)
                .map(|(s, boot)| boot + s.start_ticks / hz),
            rss_bytes: stat.as_ref().map(|s| s.rss_pages * self.page_size),
            threads: stat.as_ref().map(|s| s.threads),
            kernel_thread: stat.as_ref().is_some_and(|s| s.kernel_thread),
            comm: stat.map(|s| s.comm),
            cmdline,
            origin,
        })
    }

    /// Reads every file we use, each relative to the process's directory
    /// handle, so that if the pid is reused meanwhile the reads fail (the
    /// process is gone) rather than mix in the newcomer; and caches what
    /// seldom changes.
    fn read_all(&mut self, pid: u32, now: u64) -> Result<Everything, Gone> {
        let process = Process::new(i32::try_from(pid).map_err(|_| Gone)?).map_err(|_| Gone)?;
        let stat = read_file(&process, "stat", &mut self.buf)?
            .then(|| parse_stat(&self.buf))
            .flatten();
        let uid = read_file(&process, "status", &mut self.buf)?
            .then(|| effective_uid(&self.buf))
            .flatten();
        let cmdline =
            read_file(&process, "cmdline", &mut self.buf)?.then(|| split_cmdline(&self.buf));
        let origin = read_file(&process, "cgroup", &mut self.buf)?
            .then(|| origin_from_cgroup(&self.buf))
            .flatten();
        if let Some(s) = &stat {
            self.slow.insert(
                pid,
                Slow {
                    start_ticks: s.start_ticks,
                    comm: s.comm.clone(),
                    args_at: s.args_at,
                    uid,
                    cmdline: cmdline.clone(),
                    origin: origin.clone(),
                    seen: self.generation,
                    due: now + Self::RECHECK_SECS + u64::from(pid) % Self::RECHECK_SECS,
                },
            );
        }
        Ok(Everything {
            stat,
            uid,
            cmdline,
            origin,
        })
    }
}

/// Reads every process in `/proc` once. A caller taking snapshots
/// repeatedly should keep a [`Reader`] instead.
pub fn snapshot() -> Result<Snapshot, Error> {
    Reader::new().snapshot()
}

/// Reads `/proc/PID/stat` (the file at `path`) into `buf` like
/// [`read_file`]. The kernel writes `stat` whole into the first read that
/// has room for it, so a short first read is the whole file and the read
/// that would return 0 is skipped.
fn read_stat(path: &str, buf: &mut Vec<u8>) -> Result<bool, Gone> {
    match std::fs::File::open(path) {
        Ok(mut file) => {
            buf.resize(4096, 0);
            match file.read(buf) {
                Ok(n) if n < buf.len() => {
                    buf.truncate(n);
                    Ok(true)
                }
                // No stat line is 4 KiB long: whatever this is, it is
                // not one to parse.
                Ok(_) => Ok(false),
                Err(err) if is_gone(&err) => Err(Gone),
                Err(_) => Ok(false),
            }
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Err(Gone),
        Err(_) => Ok(false),
    }
}

fn is_gone(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound || err.raw_os_error() == Some(libc::ESRCH)
}

/// Reads `file` to its end into `buf`. `read_to_end` would first ask for
/// the file's size (statx and lseek, both useless on procfs, where sizes
/// are 0): at a refresh over thousands of processes, those two calls were a
/// third of the reading.
fn read_into(file: &mut std::fs::File, buf: &mut Vec<u8>) -> Result<bool, Gone> {
    buf.clear();
    let mut len = 0;
    loop {
        if buf.len() < len + 4096 {
            buf.resize(len + 4096, 0);
        }
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if is_gone(&err) => {
                buf.truncate(len);
                return Err(Gone);
            }
            Err(_) => {
                buf.truncate(len);
                return Ok(false);
            }
        }
    }
    buf.truncate(len);
    Ok(true)
}

/// Reads `/proc/PID/<name>` into `buf`: `Ok(true)` if read, `Ok(false)` if
/// not readable for us, `Err(Gone)` if the process has exited.
fn read_file(process: &Process, name: &str, buf: &mut Vec<u8>) -> Result<bool, Gone> {
    match process.open_relative(name) {
        Ok(mut file) => read_into(&mut file, buf),
        Err(ProcError::NotFound(_)) => Err(Gone),
        Err(_) => Ok(false),
    }
}

/// Time since boot, suspend included: the clock `/proc/PID/stat` start times
/// are measured on.
fn since_boot() -> io::Result<Duration> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the duration of the call.
    if unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut now) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let secs = u64::try_from(now.tv_sec).map_err(io::Error::other)?;
    let nanos = u32::try_from(now.tv_nsec).map_err(io::Error::other)?;
    Ok(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use std::process::{Child, Command, Stdio};

    use super::*;

    fn process(pid: u32, cpu_ticks: u64, start_ticks: u64) -> ProcessInfo {
        ProcessInfo {
            pid,
            ppid: Some(1),
            uid: Some(0),
            user: None,
            state: Some('R'),
            cpu_ticks: Some(cpu_ticks),
            start_ticks: Some(start_ticks),
            start_time: None,
            rss_bytes: None,
            threads: Some(1),
            comm: None,
            cmdline: None,
            origin: None,
            kernel_thread: false,
        }
    }

    fn at(secs: u64, processes: Vec<ProcessInfo>) -> Snapshot {
        Snapshot {
            processes,
            skipped: 0,
            taken_at: Duration::from_secs(secs),
            ticks_per_second: 100,
            boot_time: Some(1_700_000_000),
        }
    }

    #[test]
    fn cpu_between_snapshots() {
        let prev = at(100, vec![process(10, 500, 1000), process(11, 0, 2000)]);
        let now = at(102, vec![process(10, 650, 1000), process(11, 400, 9_000)]);
        // 150 ticks = 1.5 s of CPU over 2 s.
        assert_eq!(now.cpu_percent_since(&prev, 10), Some(75.0));
        // Pid 11 was reused: the new one started at 90 s, before `prev`, yet
        // `prev` did not have it, so its share of the interval is unknown.
        assert_eq!(now.cpu_percent_since(&prev, 11), None);
        assert_eq!(now.cpu_percent_since(&prev, 12), None);
    }

    #[test]
    fn cpu_of_a_process_started_between_snapshots() {
        let prev = at(100, vec![process(11, 0, 2000)]);
        let now = at(102, vec![process(11, 100, 10_100), process(12, 50, 10_050)]);
        // Both started after `prev` (at 101 s and 100.5 s): all their CPU
        // time is in the interval, the reused pid's included.
        assert_eq!(now.cpu_percent_since(&prev, 11), Some(50.0));
        assert_eq!(now.cpu_percent_since(&prev, 12), Some(25.0));
        // Not after `prev`: no interval to speak of.
        assert_eq!(prev.cpu_percent_since(&now, 11), None);
    }

    #[test]
    fn lifetime_cpu_like_ps() {
        let snapshot = at(1000, vec![process(10, 5000, 90_000)]);
        // 50 s of CPU over the 100 s since it started at 900 s.
        assert_eq!(
            snapshot.lifetime_cpu_percent(&snapshot.processes[0]),
            Some(50.0)
        );
        let just_started = process(11, 0, 100_000);
        assert_eq!(snapshot.lifetime_cpu_percent(&just_started), Some(0.0));
        let unreadable = ProcessInfo {
            cpu_ticks: None,
            ..process(12, 0, 0)
        };
        assert_eq!(snapshot.lifetime_cpu_percent(&unreadable), None);
    }

    /// A child that is killed and reaped when the test ends, pass or fail.
    struct Reaped(Child);

    impl Drop for Reaped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// Starts `program`; its stdin is a pipe that stays open, so a shell's
    /// `read` blocks until the test ends.
    fn spawn(program: &str, args: &[&str]) -> Reaped {
        Reaped(
            Command::new(program)
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {program}: {e}")),
        )
    }

    #[test]
    fn snapshot_sees_a_live_child_exactly() {
        let child = spawn("sh", &["-c", "read x", "", "\u{1b}[31m"]);
        let snapshot = snapshot().expect("/proc is readable");
        let pid = child.0.id();
        let me = snapshot.get(pid).expect("the child is in the snapshot");
        assert_eq!(me.ppid, Some(std::process::id()));
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        assert_eq!(me.uid, Some(euid));
        assert!(me.user.is_some(), "uid {euid} has a name");
        assert_eq!(me.comm.as_deref(), Some(b"sh".as_slice()));
        let args: [&[u8]; 5] = [b"sh", b"-c", b"read x", b"", b"\x1b[31m"];
        assert_eq!(me.cmdline, Some(args.map(<[u8]>::to_vec).to_vec()));
        assert_eq!(me.threads, Some(1));
        assert!(!me.kernel_thread);
        assert!(
            me.rss_bytes.is_some_and(|rss| rss > 0),
            "{:?}",
            me.rss_bytes
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs();
        let start = me.start_time.expect("start time known");
        assert!(start.abs_diff(now) <= 60, "started at {start}, now {now}");
        assert!(
            snapshot.processes.windows(2).all(|w| w[0].pid < w[1].pid),
            "sorted by pid"
        );
    }

    #[test]
    fn zombie_has_no_cmdline() {
        let child = spawn("true", &[]);
        let pid = child.0.id();
        // Not waited for, so it stays a zombie once it exits.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let zombie = loop {
            let snapshot = snapshot().expect("/proc is readable");
            if let Some(p) = snapshot.get(pid).filter(|p| p.is_zombie()) {
                break p.clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "pid {pid} never became a zombie"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(zombie.cmdline, Some(Vec::new()));
        assert_eq!(zombie.comm.as_deref(), Some(b"true".as_slice()));
        drop(child);
    }

    #[test]
    fn a_process_that_exits_while_read_is_gone() {
        let mut child = spawn("sh", &["-c", "read x"]);
        let pid = child.0.id();
        child.0.kill().expect("kill child");
        child.0.wait().expect("reap child");
        let mut reader = Reader::new();
        assert!(
            reader.read(pid, None, 0).is_err(),
            "a reaped process must read as gone"
        );
    }

    #[test]
    fn a_cached_command_line_is_read_again_after_an_exec() {
        let child = spawn("sh", &["-c", "sleep 0.5; exec sleep 30"]);
        let pid = child.0.id();
        let mut reader = Reader::new();
        let first = reader.snapshot().expect("snapshot");
        let before = first.get(pid).expect("the child is listed");
        assert_eq!(before.comm.as_deref(), Some(b"sh".as_slice()));
        // A second snapshot before the exec reuses what it read.
        let again = reader.snapshot().expect("snapshot");
        assert_eq!(again.get(pid).map(|p| &p.cmdline), Some(&before.cmdline));
        std::thread::sleep(Duration::from_millis(900));
        let after = reader.snapshot().expect("snapshot");
        let after = after.get(pid).expect("still listed");
        assert_eq!(after.comm.as_deref(), Some(b"sleep".as_slice()));
        assert_eq!(
            after.cmdline,
            Some(vec![b"sleep".to_vec(), b"30".to_vec()]),
            "the exec changed the name, so the command line was read again"
        );
        drop(child);
    }
}
