//! Turning the paths a process passed to syscalls into absolute paths.
//!
//! A relative path means nothing without the process's working directory, or
//! the directory behind the `dirfd` it passed, *at the time of the call*.
//! Reading /proc later is wrong (the process may have moved, closed the fd,
//! or exited), so we replay what the trace shows: chdir/fchdir, the fds that
//! opens return, dup, close, and fork, which copies both. What the trace
//! cannot show (the state from before we attached) is read from /proc once,
//! the first time a process needs it.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// `AT_FDCWD` as the kernel sees it in an `int` argument.
const AT_FDCWD: i32 = -100;

/// The working directory and directory fds of each process we have seen.
#[derive(Debug)]
pub struct Resolver {
    procs: HashMap<u32, ProcPaths>,
    proc_root: PathBuf,
    /// Keep a table of each process's fds. Only right when the trace shows
    /// every open, dup and close: a consumer that sees only some of them
    /// (failures host-wide) reads each fd from /proc when it needs it.
    track_fds: bool,
}

#[derive(Debug, Default, Clone)]
struct ProcPaths {
    cwd: Option<PathBuf>,
    fds: HashMap<i32, PathBuf>,
}

/// One syscall's effect on a process's path state, in the decoder's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathEffect {
    /// The working directory became this (already absolute) path.
    Chdir(PathBuf),
    /// The working directory became the directory open at this fd.
    Fchdir(i32),
    /// This fd now refers to this (absolute) path.
    Opened(i32, PathBuf),
    /// `to` is now a copy of `from`.
    Dup {
        from: i32,
        to: i32,
    },
    Closed(i32),
    /// A new process `child` started with a copy of this one's state.
    Forked {
        child: u32,
    },
    /// The process ended.
    Exited,
}

impl Default for Resolver {
    fn default() -> Self {
        Self::new()
    }
}

impl Resolver {
    /// A resolver that reads missing state from the real /proc.
    pub fn new() -> Self {
        Self::with_proc_root("/proc")
    }

    /// Reads `pid`'s working directory now, while the process is known to be
    /// alive: a short-lived process may be gone by the time its first
    /// relative path is resolved.
    pub fn remember_cwd(&mut self, pid: u32) {
        self.cwd(pid);
    }

    /// A resolver that reads missing state from `root` (tests use a fake).
    pub fn with_proc_root(root: impl Into<PathBuf>) -> Self {
        Resolver {
            procs: HashMap::new(),
            proc_root: root.into(),
            track_fds: true,
        }
    }

    /// A resolver for a trace that shows every chdir but not every open,
    /// dup and close: directory fds are read from /proc each time one is
    /// needed, never remembered, since a close the trace did not show would
    /// leave a stale one.
    pub fn without_fd_tracking() -> Self {
        Resolver {
            track_fds: false,
            ..Self::new()
        }
    }

    /// The absolute form of `path`, passed by `pid` with `dirfd` (`None` for
    /// syscalls without one, which use the working directory). `None` when
    /// the base directory is unknown (the process is gone and the trace never
    /// showed it).
    pub fn resolve(&mut self, pid: u32, dirfd: Option<i32>, path: &[u8]) -> Option<PathBuf> {
        let path = Path::new(OsStr::from_bytes(path));
        if path.is_absolute() {
            return Some(normalize(path));
        }
        let base = match dirfd {
            None | Some(AT_FDCWD) => self.cwd(pid)?,
            Some(fd) => self.fd_path(pid, fd)?,
        };
        Some(normalize(&base.join(path)))
    }

    /// Records what a completed syscall changed.
    pub fn apply(&mut self, pid: u32, effect: PathEffect) {
        match effect {
            PathEffect::Chdir(dir) => self.entry(pid).cwd = Some(dir),
            PathEffect::Fchdir(fd) => {
                let dir = self.fd_path(pid, fd);
                self.entry(pid).cwd = dir;
            }
            PathEffect::Opened(fd, path) => {
                if self.track_fds {
                    self.entry(pid).fds.insert(fd, path);
                }
            }
            PathEffect::Dup { from, to } => {
                if !self.track_fds {
                    return;
                }
                if let Some(path) = self.fd_path(pid, from) {
                    self.entry(pid).fds.insert(to, path);
                }
            }
            PathEffect::Closed(fd) => {
                self.entry(pid).fds.remove(&fd);
            }
            PathEffect::Forked { child } => {
                let mut state = self.entry(pid).clone();
                if state.cwd.is_none() {
                    state.cwd = self.cwd(pid);
                }
                self.procs.insert(child, state);
            }
            PathEffect::Exited => {
                self.procs.remove(&pid);
            }
        }
    }

    /// How many processes we hold state for.
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    /// Whether we hold state for no process.
    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    fn entry(&mut self, pid: u32) -> &mut ProcPaths {
        self.procs.entry(pid).or_default()
    }

    fn cwd(&mut self, pid: u32) -> Option<PathBuf> {
        if let Some(cwd) = self.procs.get(&pid).and_then(|p| p.cwd.clone()) {
            return Some(cwd);
        }
        let cwd = std::fs::read_link(self.proc_root.join(pid.to_string()).join("cwd")).ok()?;
        self.entry(pid).cwd = Some(cwd.clone());
        Some(cwd)
    }

    fn fd_path(&mut self, pid: u32, fd: i32) -> Option<PathBuf> {
        if let Some(path) = self.procs.get(&pid).and_then(|p| p.fds.get(&fd)) {
            return Some(path.clone());
        }
        let link = self
            .proc_root
            .join(pid.to_string())
            .join("fd")
            .join(fd.to_string());
        let path = std::fs::read_link(link).ok().filter(|p| p.is_absolute())?;
        if self.track_fds {
            self.entry(pid).fds.insert(fd, path.clone());
        }
        Some(path)
    }
}

/// Removes `.` and folds `..` lexically. The kernel follows symlinks before
/// `..`, so this can differ from the kernel's view for paths through
/// symlinked directories; it never touches the filesystem, which may have
/// changed since the call.
fn normalize(path: &Path) -> PathBuf {
    if is_normal(path.as_os_str().as_bytes()) {
        return path.to_path_buf();
    }
    // Normalizing only ever shortens: one allocation is enough.
    let mut out = PathBuf::with_capacity(path.as_os_str().len().max(1));
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push("/");
    }
    out
}

/// Whether an absolute path is already in normal form: no empty, `.` or
/// `..` components and no trailing slash. Most paths programs pass are, and
/// checking the bytes is much cheaper than rebuilding them.
fn is_normal(bytes: &[u8]) -> bool {
    if bytes == b"/" {
        return true;
    }
    bytes.first() == Some(&b'/')
        && bytes[1..]
            .split(|&b| b == b'/')
            .all(|c| !c.is_empty() && c != b"." && c != b"..")
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    use super::*;

    fn resolver() -> Resolver {
        // A proc root that does not exist: nothing is read from the host.
        let mut r = Resolver::with_proc_root("/nonexistent-proc");
        r.apply(1, PathEffect::Chdir("/home/app".into()));
        r
    }

    #[test]
    fn absolute_paths_are_kept_and_normalized() {
        let mut r = resolver();
        assert_eq!(
            r.resolve(1, None, b"/etc/./x/../hosts"),
            Some("/etc/hosts".into())
        );
        assert_eq!(
            r.resolve(99, Some(7), b"/etc/hosts"),
            Some("/etc/hosts".into())
        );
    }

    #[test]
    fn normal_form_is_recognised_without_rebuilding() {
        for (path, normal) in [
            ("/", true),
            ("/etc/hosts", true),
            ("/etc/.hidden", true),
            ("/etc/../x", false),
            ("/etc/./x", false),
            ("/etc//x", false),
            ("/etc/", false),
            ("etc/x", false),
        ] {
            assert_eq!(is_normal(path.as_bytes()), normal, "{path}");
            if normal {
                assert_eq!(normalize(Path::new(path)), Path::new(path));
            }
        }
        assert_eq!(normalize(Path::new("/etc//x/")), Path::new("/etc/x"));
    }

    #[test]
    fn relative_paths_use_the_cwd_at_the_time() {
        let mut r = resolver();
        assert_eq!(
            r.resolve(1, None, b"conf/app.toml"),
            Some("/home/app/conf/app.toml".into())
        );
        r.apply(1, PathEffect::Chdir("/srv".into()));
        assert_eq!(r.resolve(1, Some(AT_FDCWD), b"../x"), Some("/x".into()));
    }

    #[test]
    fn dirfds_follow_open_dup_and_close() {
        let mut r = resolver();
        r.apply(1, PathEffect::Opened(5, "/var/lib".into()));
        assert_eq!(r.resolve(1, Some(5), b"db"), Some("/var/lib/db".into()));
        r.apply(1, PathEffect::Dup { from: 5, to: 9 });
        r.apply(1, PathEffect::Closed(5));
        assert_eq!(r.resolve(1, Some(9), b"db"), Some("/var/lib/db".into()));
        assert_eq!(r.resolve(1, Some(5), b"db"), None);
        r.apply(1, PathEffect::Fchdir(9));
        assert_eq!(r.resolve(1, None, b"x"), Some("/var/lib/x".into()));
    }

    #[test]
    fn children_inherit_and_exits_forget() {
        let mut r = resolver();
        r.apply(1, PathEffect::Opened(3, "/tmp".into()));
        r.apply(1, PathEffect::Forked { child: 2 });
        r.apply(1, PathEffect::Chdir("/".into()));
        assert_eq!(r.resolve(2, None, b"a"), Some("/home/app/a".into()));
        assert_eq!(r.resolve(2, Some(3), b"b"), Some("/tmp/b".into()));
        r.apply(2, PathEffect::Exited);
        assert_eq!(r.resolve(2, None, b"a"), None);
    }

    #[test]
    fn unknown_state_comes_from_proc() {
        let mut r = Resolver::new();
        let me = std::process::id();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(r.resolve(me, None, b"x"), Some(cwd.join("x")));
    }

    #[test]
    fn without_fd_tracking_an_fd_is_read_from_proc_every_time() {
        let dir = std::fs::File::open("/tmp").expect("open /tmp");
        let fd = dir.as_raw_fd();
        let me = std::process::id();
        let mut resolver = Resolver::without_fd_tracking();
        // An open the trace showed, then a close it did not: a tracking
        // resolver would believe the fd still names /etc.
        resolver.apply(me, PathEffect::Opened(fd, PathBuf::from("/etc")));
        assert_eq!(
            resolver.resolve(me, Some(fd), b"x"),
            Some(PathBuf::from("/tmp/x"))
        );
    }
}
