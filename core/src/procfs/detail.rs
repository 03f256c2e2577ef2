//! Everything the process-detail screen of `hostscope top` shows about one
//! process.
//!
//! A [`Snapshot`](super::Snapshot) reads four small files of every process.
//! The detail screen shows one process, refreshed every second, and wants far
//! more: its executable, directories, ids, limits, open files and sockets,
//! environment and children. Reading all that for thousands of processes
//! would be waste, so it is read here, on demand, for one pid.
//!
//! As in a snapshot, whatever may not be read is unknown (`None`), never an
//! error: most of these files need ptrace-read access (root, or the
//! process's owner). The one error is the process being gone. Every file is
//! read through one handle on `/proc/PID`, so if the process exits and its pid
//! is reused while it is read, the reads fail instead of describing the
//! newcomer.

use std::ffi::{CStr, CString, OsString};
use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::OpenOptionsExt;

use super::cgroup::{Origin, origin_from_cgroup};
use super::parse::{parse_stat, split_cmdline};
use super::sockets::{Socket, describe, socket_inode};
use super::users::Users;

/// What to read beyond the always-read facts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DetailOptions {
    /// Read the environment. It often holds credentials (masked, see
    /// [`EnvVar`]); the TUI asks for it only when running as root.
    pub environment: bool,
}

/// A real and an effective user or group id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    pub real: u32,
    pub effective: u32,
}

/// One process in detail, as far as it could be read.
///
/// `None` (or an empty `Vec`) means unknown: not readable for this user,
/// malformed, or the process exited while it was read. Byte fields hold
/// exactly what the process or its owner set, which may be anything: escape
/// them before showing them.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    /// Process (thread group) id.
    pub pid: u32,
    /// When the process started, in clock ticks after boot (field 22 of
    /// `/proc/PID/stat`). With `pid` it tells the process apart from a later
    /// one given the same pid; [`send_signal`](super::send_signal) takes it.
    pub start_ticks: Option<u64>,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time: Option<u64>,
    /// Scheduler state, as in [`ProcessInfo::state`](super::ProcessInfo::state).
    pub state: Option<char>,
    /// Number of threads.
    pub threads: Option<u32>,
    /// Resident set size, in bytes.
    pub rss_bytes: Option<u64>,
    /// The arguments, raw; empty for kernel threads and zombies.
    pub cmdline: Option<Vec<Vec<u8>>>,
    /// The executable's path, raw, with the kernel's ` (deleted)` suffix if
    /// it was removed or replaced since it was started.
    pub exe: Option<Vec<u8>>,
    /// The working directory, raw (` (deleted)` suffix possible).
    pub cwd: Option<Vec<u8>>,
    /// The root directory, raw: `/` unless the process is chrooted or in
    /// another mount namespace.
    pub root: Option<Vec<u8>>,
    /// User ids, from the `Uid:` line of `/proc/PID/status`.
    pub uids: Option<Ids>,
    /// Group ids, from the `Gid:` line of `/proc/PID/status`.
    pub gids: Option<Ids>,
    /// The name of the real uid in the passwd database.
    pub user: Option<String>,
    /// The cgroup v2 path (the `0::` line of `/proc/PID/cgroup`), raw;
    /// `None` on a host with cgroup v1 only.
    pub cgroup: Option<Vec<u8>>,
    /// The container, pod or systemd unit the process runs in.
    pub origin: Option<Origin>,
    /// Resource limits, in the kernel's order.
    pub limits: Option<Vec<Limit>>,
    /// Open file descriptors, by fd.
    pub files: Option<Vec<OpenFile>>,
    /// The sockets among `files`, by fd, with what they are bound and
    /// connected to in the process's network namespace.
    pub sockets: Vec<Socket>,
    /// The environment as it was at `exec` (later `setenv` calls do not show),
    /// in its order; only read when [`DetailOptions::environment`] asks.
    pub environment: Option<Vec<EnvVar>>,
    /// Pids of the direct children of every thread, sorted. Empty when
    /// unknown (the kernel lacks `CONFIG_PROC_CHILDREN`, or not readable).
    pub children: Vec<u32>,
}

/// One resource limit, from `/proc/PID/limits`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The kernel's name for it: `Max open files`, `Max stack size`.
    pub name: String,
    /// The soft limit, in `unit`; `None` is unlimited.
    pub soft: Option<u64>,
    /// The hard limit, in `unit`; `None` is unlimited.
    pub hard: Option<u64>,
    /// `bytes`, `seconds`, `us`, `files`, `processes`…; `None` for limits
    /// without one (nice and realtime priority).
    pub unit: Option<String>,
}

/// An open file descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFile {
    pub fd: i32,
    /// What `/proc/PID/fd/FD` links to, raw: a path (` (deleted)` suffix
    /// possible), `socket:[INODE]`, `pipe:[INODE]`, `anon_inode:[eventfd]`…
    pub target: Vec<u8>,
}

/// One environment variable.
///
/// A secret-looking one has its value replaced by `****` before it is kept:
/// any whose name contains PASS, SECRET, TOKEN, KEY, CREDENTIAL, AUTH,
/// PRIVATE, SESSION, COOKIE, SIGNATURE or SALT (any case). In any other, the
/// userinfo of URLs (`postgres://app:s3cret@db/x`) is masked: the password
/// (`postgres://app:****@db/x`), or the whole userinfo when it has no
/// password, since that is where a token goes (`https://****@github.com`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// The name, raw.
    pub name: Vec<u8>,
    /// The value, raw, masked or in part masked.
    pub value: Vec<u8>,
    /// Whether any of the value was masked.
    pub masked: bool,
}

/// Why a process could not be described at all.
#[derive(Debug, thiserror::Error)]
pub enum DetailError {
    /// `/proc/PID` does not exist: the process has exited (or is hidden from
    /// us by a `hidepid` mount).
    #[error("process {pid} no longer exists")]
    Gone { pid: u32 },
    /// `/proc/PID` exists but could not be opened.
    #[error("cannot open /proc/{pid} (is procfs mounted on /proc?)")]
    Proc {
        pid: u32,
        #[source]
        source: io::Error,
    },
}

/// Reads what there is to know about process `pid`.
///
/// Costs about a dozen small reads, plus one readlink per open fd, one read
/// per thread (its children) and, if the process has sockets, up to five
/// network tables of its namespace.
pub fn read_detail(pid: u32, options: DetailOptions) -> Result<Detail, DetailError> {
    let dir = open_proc(pid).map_err(|source| {
        if is_gone(&source) {
            DetailError::Gone { pid }
        } else {
            DetailError::Proc { pid, source }
        }
    })?;
    let dir = dir.as_fd();
    // The process may have been reaped since its directory was opened: its
    // files then fail as gone, and this first read tells.
    let stat = match read_at(dir, c"stat") {
        Ok(text) => parse_stat(&text),
        Err(err) if is_gone(&err) => return Err(DetailError::Gone { pid }),
        Err(_) => None,
    };
    let status = read_at(dir, c"status").ok();
    let uids = status.as_deref().and_then(|s| ids(s, b"Uid:"));
    let gids = status.as_deref().and_then(|s| ids(s, b"Gid:"));
    let cgroup = read_at(dir, c"cgroup").ok();
    let files = open_files(dir);
    let sockets = files
        .as_deref()
        .map_or_else(Vec::new, |files| sockets_of(dir, files));
    let start_ticks = stat.as_ref().map(|s| s.start_ticks);
    Ok(Detail {
        pid,
        start_ticks,
        start_time: start_ticks
            .zip(::procfs::boot_time_secs().ok())
            .map(|(ticks, boot)| boot + ticks / ::procfs::ticks_per_second()),
        state: stat.as_ref().map(|s| s.state),
        threads: stat.as_ref().map(|s| s.threads),
        rss_bytes: stat.as_ref().map(|s| s.rss_pages * ::procfs::page_size()),
        cmdline: read_at(dir, c"cmdline").ok().map(|raw| split_cmdline(&raw)),
        exe: readlink_at(dir, c"exe").ok(),
        cwd: readlink_at(dir, c"cwd").ok(),
        root: readlink_at(dir, c"root").ok(),
        uids,
        gids,
        user: uids
            .and_then(|ids| Users::default().name(ids.real))
            .map(|name| name.to_string()),
        origin: cgroup.as_deref().and_then(origin_from_cgroup),
        cgroup: cgroup.as_deref().and_then(cgroup_v2_path),
        limits: read_at(dir, c"limits")
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .map(|text| parse_limits(&text)),
        files,
        sockets,
        environment: if options.environment {
            read_at(dir, c"environ").ok().map(parse_environ)
        } else {
            None
        },
        children: children(dir),
    })
}

/// A handle on `/proc/PID` that reads nothing by itself (`O_PATH`).
fn open_proc(pid: u32) -> io::Result<OwnedFd> {
    let dir = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(format!("/proc/{pid}"))?;
    Ok(dir.into())
}

/// ENOENT from a path under `/proc/PID`, or ESRCH from reading a file of a
/// process that has exited meanwhile.
fn is_gone(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound || err.raw_os_error() == Some(libc::ESRCH)
}

fn open_at(dir: BorrowedFd<'_>, path: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: `dir` is open and `path` NUL-terminated for the whole call.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), path.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: openat returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn read_at(dir: BorrowedFd<'_>, path: &CStr) -> io::Result<Vec<u8>> {
    let mut file = File::from(open_at(dir, path, libc::O_RDONLY)?);
    let mut buf = Vec::new();
    file.read_to_end(&mut buf)?;
    Ok(buf)
}

/// The target of the symlink `path`, all of it.
fn readlink_at(dir: BorrowedFd<'_>, path: &CStr) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: `dir` is open, `path` NUL-terminated and `buf` writable
        // for `buf.len()` bytes for the whole call.
        let len = unsafe {
            libc::readlinkat(
                dir.as_raw_fd(),
                path.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        let len = usize::try_from(len).map_err(|_| io::Error::last_os_error())?;
        // readlink truncates silently: only a target shorter than the buffer
        // is known to be whole. The kernel's are at most a page or so.
        if len < buf.len() {
            buf.truncate(len);
            return Ok(buf);
        }
        buf.resize(buf.len() * 2, 0);
    }
}

/// The names in directory `dir`.
fn list(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    // std lists directories by path only. This path reopens the handle, so
    // the listing is still of the process the handle was opened on, and is
    // checked for permission as the handle's own path would be.
    std::fs::read_dir(format!("/proc/thread-self/fd/{}", dir.as_raw_fd()))?
        .map(|entry| entry.map(|e| e.file_name()))
        .collect()
}

/// The real and effective ids of a `Uid:` or `Gid:` line of
/// `/proc/PID/status`: `Uid:\treal\teffective\tsaved\tfs`.
fn ids(status: &[u8], key: &[u8]) -> Option<Ids> {
    let line = status
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(key))?;
    let mut ids = line
        .split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
        .map(|id| std::str::from_utf8(id).ok()?.parse().ok());
    Some(Ids {
        real: ids.next()??,
        effective: ids.next()??,
    })
}

/// The path of the `0::` (cgroup v2) line of `/proc/PID/cgroup`.
fn cgroup_v2_path(text: &[u8]) -> Option<Vec<u8>> {
    text.split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"0::"))
        .map(<[u8]>::to_vec)
}

/// Parses the text of `/proc/PID/limits`: a header, then one line per limit
/// of name, soft, hard and (for most) unit, in columns padded with spaces.
/// The name has spaces of its own, so a line is read from its end. A
/// malformed line is left out.
fn parse_limits(text: &str) -> Vec<Limit> {
    // The header (`Limit  Soft Limit  Hard Limit  Units`) fails as a limit.
    text.lines().filter_map(limit).collect()
}

fn limit(line: &str) -> Option<Limit> {
    let mut words: Vec<&str> = line.split_ascii_whitespace().collect();
    let unit = match words.last() {
        Some(&last) if limit_value(last).is_none() => words.pop(),
        _ => None,
    };
    let hard = limit_value(words.pop()?)?;
    let soft = limit_value(words.pop()?)?;
    if words.is_empty() {
        return None;
    }
    Some(Limit {
        name: words.join(" "),
        soft,
        hard,
        unit: unit.map(str::to_owned),
    })
}

/// `Some(None)` for `unlimited`, `Some(Some(n))` for a number, `None` for
/// anything else.
fn limit_value(word: &str) -> Option<Option<u64>> {
    if word == "unlimited" {
        Some(None)
    } else {
        word.parse().ok().map(Some)
    }
}

/// The open fds of the process, by fd; `None` if they may not be listed
/// (another user's process, without root).
fn open_files(dir: BorrowedFd<'_>) -> Option<Vec<OpenFile>> {
    let fd_dir = open_at(dir, c"fd", libc::O_PATH | libc::O_DIRECTORY).ok()?;
    let mut files = Vec::new();
    for name in list(fd_dir.as_fd()).ok()? {
        let Ok(name) = CString::new(name.into_vec()) else {
            continue;
        };
        let Some(fd) = name.to_str().ok().and_then(|n| n.parse().ok()) else {
            continue;
        };
        match readlink_at(fd_dir.as_fd(), &name) {
            Ok(target) => files.push(OpenFile { fd, target }),
            // Closed since the listing: left out.
            Err(err) if is_gone(&err) => {}
            // The directory could be listed but not its links (the ptrace
            // check can deny even root): the files are unknown, not none.
            Err(_) => return None,
        }
    }
    files.sort_unstable_by_key(|f| f.fd);
    Some(files)
}

/// The sockets among `files`, described from the tables of the process's
/// own network namespace (`/proc/PID/net`, not `/proc/net`, which is ours).
fn sockets_of(dir: BorrowedFd<'_>, files: &[OpenFile]) -> Vec<Socket> {
    let fds: Vec<(i32, u64)> = files
        .iter()
        .filter_map(|f| Some((f.fd, socket_inode(&f.target)?)))
        .collect();
    describe(&fds, |table| {
        let raw = read_at(dir, table).ok()?;
        // Only unix socket paths can be other than ASCII.
        Some(
            String::from_utf8(raw)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        )
    })
}

/// Replaces a masked value.
const MASK: &[u8] = b"****";

/// Parts of names that mark a variable as secret. `PASS` also covers
/// `PASSWORD` and `PASSWD`.
const SECRET_WORDS: [&[u8]; 11] = [
    b"PASS",
    b"SECRET",
    b"TOKEN",
    b"KEY",
    b"CREDENTIAL",
    b"AUTH",
    b"PRIVATE",
    b"SESSION",
    b"COOKIE",
    b"SIGNATURE",
    b"SALT",
];

/// The variables in the text of `/proc/PID/environ` (`NAME=value`, each
/// NUL-terminated), secrets masked. The text is wiped before it is freed.
fn parse_environ(mut raw: Vec<u8>) -> Vec<EnvVar> {
    let vars = raw
        .split(|&b| b == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| match entry.iter().position(|&b| b == b'=') {
            Some(eq) => env_var(&entry[..eq], &entry[eq + 1..]),
            // Not a variable, but the process put it there: show it.
            None => env_var(entry, b""),
        })
        .collect();
    // Best effort only: copies left by the buffer's growth while it was read
    // are out of reach. black_box keeps the wipe from being optimised away.
    raw.fill(0);
    black_box(&raw);
    vars
}

fn env_var(name: &[u8], value: &[u8]) -> EnvVar {
    if is_secret_name(name) {
        return EnvVar {
            name: name.to_vec(),
            value: MASK.to_vec(),
            masked: true,
        };
    }
    let (value, masked) = mask_url_userinfo(value);
    EnvVar {
        name: name.to_vec(),
        value,
        masked,
    }
}

fn is_secret_name(name: &[u8]) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS
        .iter()
        .any(|word| upper.windows(word.len()).any(|part| part == *word))
}

/// `value` with the userinfo of every URL in it masked (see [`EnvVar`]),
/// and whether there was any. A URL's authority runs from `://` to the next
/// `/`, `?`, `#`, space or URL (lists like `redis://:a@h1,redis://:b@h2`);
/// its userinfo up to the last `@` in it, since passwords often hold an
/// unescaped `@`.
fn mask_url_userinfo(value: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(value.len());
    let mut masked = false;
    let mut rest = value;
    while let Some(scheme_end) = rest.windows(3).position(|w| w == b"://") {
        let (head, tail) = rest.split_at(scheme_end + 3);
        out.extend_from_slice(head);
        let mut end = tail
            .iter()
            .position(|&b| matches!(b, b'/' | b'?' | b'#') || b.is_ascii_whitespace())
            .unwrap_or(tail.len());
        // In a list of URLs the `/` that ended this authority may start the
        // next URL's `://`, whose scheme is then no part of it.
        if tail[..end].ends_with(b":") && tail[end..].starts_with(b"//") {
            let scheme = tail[..end - 1]
                .iter()
                .rev()
                .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
                .count();
            end -= 1 + scheme;
        }
        let (authority, after) = tail.split_at(end);
        match authority.iter().rposition(|&b| b == b'@') {
            Some(at) if at > 0 => {
                let userinfo = &authority[..at];
                if let Some(colon) = userinfo.iter().position(|&b| b == b':') {
                    out.extend_from_slice(&userinfo[..=colon]);
                }
                out.extend_from_slice(MASK);
                out.extend_from_slice(&authority[at..]);
                masked = true;
            }
            _ => out.extend_from_slice(authority),
        }
        rest = after;
    }
    out.extend_from_slice(rest);
    (out, masked)
}

/// The pids in `/proc/PID/task/*/children`, sorted, each once.
fn children(dir: BorrowedFd<'_>) -> Vec<u32> {
    let Ok(task) = open_at(dir, c"task", libc::O_PATH | libc::O_DIRECTORY) else {
        return Vec::new();
    };
    let Ok(tids) = list(task.as_fd()) else {
        return Vec::new();
    };
    let mut children: Vec<u32> = tids
        .into_iter()
        .filter_map(|tid| {
            let mut path = tid.into_vec();
            path.extend_from_slice(b"/children");
            // A thread that exits meanwhile has no children to add.
            read_at(task.as_fd(), &CString::new(path).ok()?).ok()
        })
        .flat_map(|text| parse_pids(&text))
        .collect();
    children.sort_unstable();
    children.dedup();
    children
}

/// Space-separated pids, as in a `children` file.
fn parse_pids(text: &[u8]) -> Vec<u32> {
    text.split(|b| b.is_ascii_whitespace())
        .filter_map(|pid| std::str::from_utf8(pid).ok()?.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::os::unix::ffi::OsStrExt;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    use super::*;
    use crate::procfs::SocketKind;

    /// `cat /proc/self/limits` on Linux 6.18.
    const LIMITS: &str = "\
Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max file size             unlimited            unlimited            bytes     
Max data size             unlimited            unlimited            bytes     
Max stack size            8388608              unlimited            bytes     
Max core file size        0                    unlimited            bytes     
Max resident set          unlimited            unlimited            bytes     
Max processes             96365                96365                processes 
Max open files            20000                20000                files     
Max locked memory         8388608              8388608              bytes     
Max address space         unlimited            unlimited            bytes     
Max file locks            unlimited            unlimited            locks     
Max pending signals       96365                96365                signals   
Max msgqueue size         819200               819200               bytes     
Max nice priority         0                    0                    
Max realtime priority     0                    0                    
Max realtime timeout      unlimited            unlimited            us        
";

    fn limit_of(name: &str, soft: Option<u64>, hard: Option<u64>, unit: Option<&str>) -> Limit {
        Limit {
            name: name.to_owned(),
            soft,
            hard,
            unit: unit.map(str::to_owned),
        }
    }

    #[test]
    fn limits_of_a_real_process() {
        let limits = parse_limits(LIMITS);
        assert_eq!(limits.len(), 16, "{limits:#?}");
        assert_eq!(
            limits[0],
            limit_of("Max cpu time", None, None, Some("seconds"))
        );
        assert_eq!(
            limits[3],
            limit_of("Max stack size", Some(8_388_608), None, Some("bytes"))
        );
        assert_eq!(
            limits[7],
            limit_of("Max open files", Some(20_000), Some(20_000), Some("files"))
        );
        assert_eq!(
            limits[13],
            limit_of("Max nice priority", Some(0), Some(0), None)
        );
        assert_eq!(
            limits[15],
            limit_of("Max realtime timeout", None, None, Some("us"))
        );
    }

    #[test]
    fn limits_malformed_lines_are_left_out() {
        let text = "Max open files  1024  x  files\nMax open files\n\n42 42\nMax files 18446744073709551615 unlimited\n";
        assert_eq!(
            parse_limits(text),
            [limit_of("Max files", Some(u64::MAX), None, None)]
        );
    }

    #[test]
    fn ids_real_and_effective() {
        let status = b"Name:\tsudo\nUid:\t1000\t0\t0\t0\nGid:\t100\t27\t27\t27\n";
        assert_eq!(
            ids(status, b"Uid:"),
            Some(Ids {
                real: 1000,
                effective: 0
            })
        );
        assert_eq!(
            ids(status, b"Gid:"),
            Some(Ids {
                real: 100,
                effective: 27
            })
        );
        assert_eq!(ids(b"Uid:\t1000\n", b"Uid:"), None);
        assert_eq!(ids(b"Uid:\tx\t0\n", b"Uid:"), None);
        assert_eq!(ids(b"Name:\tx\n", b"Gid:"), None);
    }

    #[test]
    fn cgroup_path_is_the_v2_line() {
        let hybrid = b"12:cpu,cpuacct:/docker/abc\n1:name=systemd:/x.service\n0::/system.slice/nginx.service\n";
        assert_eq!(
            cgroup_v2_path(hybrid).as_deref(),
            Some(b"/system.slice/nginx.service".as_slice())
        );
        assert_eq!(cgroup_v2_path(b"0::/\n").as_deref(), Some(b"/".as_slice()));
        assert_eq!(cgroup_v2_path(b"4:memory:/user.slice\n"), None);
    }

    #[test]
    fn children_files() {
        assert_eq!(parse_pids(b"12 7 300 "), [12, 7, 300]);
        assert!(parse_pids(b"").is_empty());
    }

    fn var(name: &str, value: &str) -> EnvVar {
        env_var(name.as_bytes(), value.as_bytes())
    }

    fn shown(var: &EnvVar) -> (&str, bool) {
        (
            std::str::from_utf8(&var.value).expect("UTF-8 fixture"),
            var.masked,
        )
    }

    #[test]
    fn ordinary_variables_are_kept() {
        for (name, value) in [
            ("PATH", "/usr/local/bin:/usr/bin"),
            ("HOME", "/home/app"),
            ("LANG", "C.UTF-8"),
            ("UPSTREAM", "http://example.com/a@b?c=d@e#@f"),
            ("PROXY", "http://proxy:3128"),
        ] {
            assert_eq!(shown(&var(name, value)), (value, false), "{name}");
        }
    }

    #[test]
    fn secret_names_are_masked_whole() {
        for name in [
            "DB_PASSWORD",
            "MYSQL_PWD_PASSWD",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "api_key",
            "Session_Cookie",
            "GIT_ASKPASS",
            "SSH_AUTH_SOCK",
            "JWT_SIGNATURE",
            "PW_SALT",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "TLS_PRIVATE",
        ] {
            let v = var(name, "hunter2 postgres://a:b@c");
            assert_eq!(shown(&v), ("****", true), "{name}");
            assert_eq!(v.name, name.as_bytes());
        }
    }

    #[test]
    fn url_userinfo_is_masked_in_any_variable() {
        for (value, expected) in [
            ("postgres://app:s3cret@db/x", "postgres://app:****@db/x"),
            ("redis://:pw@cache:6379", "redis://:****@cache:6379"),
            (
                "https://ghp_abc@github.com/o/r",
                "https://****@github.com/o/r",
            ),
            ("amqp://u:p@ss@mq", "amqp://u:****@mq"),
            (
                "-Dsrc=jdbc:mysql://u:a@h/d -Ddst=s3://k:s@b",
                "-Dsrc=jdbc:mysql://u:****@h/d -Ddst=s3://k:****@b",
            ),
            (
                "redis://:a@h1,redis://:b@h2",
                "redis://:****@h1,redis://:****@h2",
            ),
        ] {
            assert_eq!(
                shown(&var("DATABASE_URL", value)),
                (expected, true),
                "{value}"
            );
        }
        for odd in ["://", "a://", "a://b://c", "x://:", "://@", "a://b:c"] {
            assert_eq!(shown(&var("ODD", odd)), (odd, false), "{odd}");
        }
    }

    #[test]
    fn environ_entries() {
        let vars = parse_environ(b"A=1\0B=x=y\0\0ODD\0C=\0".to_vec());
        let pairs: Vec<(&[u8], &[u8])> = vars
            .iter()
            .map(|v| (v.name.as_slice(), v.value.as_slice()))
            .collect();
        assert_eq!(
            pairs,
            [
                (b"A".as_slice(), b"1".as_slice()),
                (b"B", b"x=y"),
                (b"ODD", b""),
                (b"C", b""),
            ]
        );
    }

    /// A child that is killed and reaped when the test ends, pass or fail.
    struct Reaped(Child);

    impl Drop for Reaped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn sleeper(command: &mut Command) -> Reaped {
        Reaped(
            command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("cannot start sleep"),
        )
    }

    fn pid_of(child: &Reaped) -> u32 {
        child.0.id()
    }

    #[test]
    fn detail_of_this_process() {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let dir = std::env::temp_dir().join(format!("hostscope-detail-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let unix = std::os::unix::net::UnixListener::bind(&dir).expect("bind unix socket");
        let child = sleeper(Command::new("sleep").arg("30"));
        let detail =
            read_detail(std::process::id(), DetailOptions::default()).expect("this process exists");
        let _ = std::fs::remove_file(&dir);

        let exe = std::env::current_exe().expect("own exe");
        assert_eq!(detail.exe.as_deref(), Some(exe.as_os_str().as_bytes()));
        let cwd = std::env::current_dir().expect("own cwd");
        assert_eq!(detail.cwd.as_deref(), Some(cwd.as_os_str().as_bytes()));
        assert_eq!(detail.root.as_deref(), Some(b"/".as_slice()));
        let args: Vec<Vec<u8>> = std::env::args_os().map(OsStringExt::into_vec).collect();
        assert_eq!(detail.cmdline, Some(args));
        // SAFETY: getuid and geteuid have no preconditions.
        let (uid, euid) = unsafe { (libc::getuid(), libc::geteuid()) };
        assert_eq!(
            detail.uids,
            Some(Ids {
                real: uid,
                effective: euid
            })
        );
        assert!(detail.gids.is_some());
        assert!(detail.user.is_some(), "uid {uid} has a name");
        assert!(detail.state.is_some());
        assert!(detail.threads.is_some_and(|t| t >= 1));
        assert!(detail.rss_bytes.is_some_and(|r| r > 0));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs();
        let start = detail.start_time.expect("start time known");
        assert!(
            start <= now + 1 && now - start < 3600,
            "started at {start}, now {now}"
        );
        assert!(detail.limits.as_ref().is_some_and(|l| l.len() >= 16));
        assert_eq!(detail.environment, None, "not asked for");
        assert!(
            detail.children.contains(&pid_of(&child)),
            "{:?}",
            detail.children
        );

        let files = detail.files.as_ref().expect("own fds are readable");
        assert!(files.windows(2).all(|w| w[0].fd < w[1].fd), "sorted by fd");
        let socket = |fd: i32| {
            detail
                .sockets
                .iter()
                .find(|s| s.fd == fd)
                .unwrap_or_else(|| panic!("fd {fd} in {:#?}", detail.sockets))
        };
        let tcp_socket = socket(tcp.as_raw_fd());
        assert_eq!(tcp_socket.kind, SocketKind::Tcp);
        assert_eq!(
            tcp_socket.local,
            tcp.local_addr().expect("bound").to_string()
        );
        assert_eq!(tcp_socket.state, "LISTEN");
        let unix_socket = socket(unix.as_raw_fd());
        assert_eq!(unix_socket.kind, SocketKind::Unix);
        assert_eq!(unix_socket.local.as_bytes(), dir.as_os_str().as_bytes());
        assert_eq!(unix_socket.state, "LISTEN");
    }

    #[test]
    fn environment_of_a_child_is_masked() {
        let child = sleeper(
            Command::new("sleep")
                .arg("30")
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env("DB_PASSWORD", "hunter2")
                .env("DATABASE_URL", "postgres://app:s3cret@db/x"),
        );
        let detail =
            read_detail(pid_of(&child), DetailOptions { environment: true }).expect("child exists");
        let mut env: Vec<(&[u8], &[u8], bool)> = detail
            .environment
            .as_ref()
            .expect("own child's environment is readable")
            .iter()
            .map(|v| (v.name.as_slice(), v.value.as_slice(), v.masked))
            .collect();
        // Command passes the variables in an order of its own.
        env.sort_unstable();
        assert_eq!(
            env,
            [
                (
                    b"DATABASE_URL".as_slice(),
                    b"postgres://app:****@db/x".as_slice(),
                    true
                ),
                (b"DB_PASSWORD", b"****", true),
                (b"PATH", b"/usr/bin:/bin", false),
            ]
        );
        assert!(detail.sockets.is_empty());
        assert!(detail.children.is_empty());
        let stat = std::fs::read(format!("/proc/{}/stat", pid_of(&child))).expect("child stat");
        assert_eq!(detail.start_ticks, parse_stat(&stat).map(|s| s.start_ticks));
    }

    #[test]
    fn a_zombie_has_little_detail() {
        let child = sleeper(&mut Command::new("true"));
        let pid = pid_of(&child);
        let deadline = Instant::now() + Duration::from_secs(10);
        let detail = loop {
            let detail = read_detail(pid, DetailOptions { environment: true })
                .expect("a zombie is not gone");
            if detail.state == Some('Z') {
                break detail;
            }
            assert!(Instant::now() < deadline, "pid {pid} never became a zombie");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(detail.cmdline, Some(Vec::new()));
        assert_eq!(detail.exe, None);
        assert!(detail.start_ticks.is_some());
        drop(child);
    }

    #[test]
    fn a_reaped_process_is_gone() {
        let mut child = sleeper(Command::new("sleep").arg("30"));
        let pid = pid_of(&child);
        child.0.kill().expect("kill child");
        child.0.wait().expect("reap child");
        assert!(
            matches!(
                read_detail(pid, DetailOptions::default()),
                Err(DetailError::Gone { pid: p }) if p == pid
            ),
            "pid {pid} was reaped"
        );
        assert_eq!(
            read_detail(u32::MAX, DetailOptions::default())
                .map_err(|e| e.to_string())
                .err()
                .as_deref(),
            Some("process 4294967295 no longer exists")
        );
    }
}
