//! One syscall event made ready for output: decoded like strace, with its
//! path argument resolved to an absolute path when the output shows it.

use std::path::PathBuf;

use crate::decode::{self, Decoded};
use crate::model::{ProcessExit, ProcessFork, SyscallEvent};
use crate::resolve::{PathEffect, Resolver};

/// A path argument as the process passed it, and as it resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRef<'a> {
    /// Index of the syscall argument.
    pub arg: u8,
    /// The bytes passed (hostile: escape before printing).
    pub path: &'a [u8],
    /// The absolute path, using the cwd and dirfd at the time of the call;
    /// `None` if those are unknown, if the probe copied only part of the
    /// path, or if the [`Enricher`] does not resolve paths.
    pub resolved: Option<PathBuf>,
}

/// A decoded syscall with its first path.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// The event as the probe delivered it.
    pub event: &'a SyscallEvent,
    /// The event decoded; it borrows the event's bytes.
    pub decoded: Decoded<'a>,
    /// The first path argument the probe could read, if the syscall takes
    /// one.
    pub path: Option<PathRef<'a>>,
}

/// Decodes events in order and, when asked to, keeps the per-process path
/// state that resolution needs.
#[derive(Debug)]
pub struct Enricher {
    /// `None` when paths are not resolved: then no state is kept either,
    /// since only resolution reads it.
    resolver: Option<Resolver>,
}

impl Enricher {
    /// An enricher that resolves paths (reading /proc for what the trace
    /// has not shown) when `resolve` is true. Resolution costs allocations
    /// and state per event, so outputs that do not show resolved paths
    /// should not ask for it.
    pub fn new(resolve: bool) -> Self {
        Enricher {
            resolver: resolve.then(Resolver::new),
        }
    }

    /// An enricher for a stream that shows every chdir but only some opens
    /// and closes (failures host-wide, one process in full now and then):
    /// it resolves paths without keeping fd tables that would go stale.
    pub fn partial() -> Self {
        Enricher {
            resolver: Some(Resolver::without_fd_tracking()),
        }
    }

    /// Takes note of a process we are about to trace (its cwd, from /proc),
    /// so that its relative paths resolve even if it exits before we read
    /// its first event.
    pub fn watch(&mut self, pid: u32) {
        if let Some(resolver) = &mut self.resolver {
            resolver.remember_cwd(pid);
        }
    }

    /// Decodes `event` and, when resolving, resolves its path, then records
    /// what it changed (cwd, fds, children) for the events after it.
    pub fn call<'a>(&mut self, event: &'a SyscallEvent) -> Call<'a> {
        let decoded = decode::decode(event);
        let path = self.track(event, &decoded.name);
        Call {
            event,
            decoded,
            path,
        }
    }

    /// `path` as `pid` would resolve it now (relative to `dirfd`, or its cwd
    /// for `None`); `None` when not resolving or the base is unknown. For
    /// paths that are not syscall path arguments (a unix socket's address).
    pub fn resolve(&mut self, pid: u32, dirfd: Option<i32>, path: &[u8]) -> Option<PathBuf> {
        self.resolver.as_mut()?.resolve(pid, dirfd, path)
    }

    /// Gives a new process a copy of its parent's cwd and fds.
    pub fn forked(&mut self, fork: &ProcessFork) {
        if let Some(resolver) = &mut self.resolver {
            resolver.apply(fork.parent, PathEffect::Forked { child: fork.child });
        }
    }

    /// Like [`call`](Self::call) for a consumer that needs the syscall's
    /// name and path but not its decoded arguments, which cost allocations
    /// per event. `None` for a syscall number without a name.
    pub fn path_of<'a>(
        &mut self,
        event: &'a SyscallEvent,
    ) -> Option<(&'static str, Option<PathRef<'a>>)> {
        let name = decode::sysno::name(event.arch, event.nr)?;
        Some((name, self.track(event, name)))
    }

    /// Resolves the path of syscall `name`, then records what the call
    /// changed (cwd, fds) for the events after it.
    fn track<'a>(&mut self, event: &'a SyscallEvent, name: &str) -> Option<PathRef<'a>> {
        let path = self.path(event, name);
        if let Some(resolver) = &mut self.resolver
            && let Some(effect) = effect(event, name, path.as_ref())
        {
            resolver.apply(event.pid, effect);
        }
        path
    }

    /// Forgets an exited process.
    pub fn exited(&mut self, exit: &ProcessExit) {
        if let Some(resolver) = &mut self.resolver {
            resolver.apply(exit.pid, PathEffect::Exited);
        }
    }

    fn path<'a>(&mut self, event: &'a SyscallEvent, name: &str) -> Option<PathRef<'a>> {
        let (arg, captured) = decode::spec::path_args(name).iter().find_map(|pa| {
            let captured = event.capture(pa.path_arg).filter(|c| !c.fault)?;
            Some((pa, captured))
        })?;
        let resolved = match &mut self.resolver {
            Some(resolver) if !captured.truncated => {
                let dirfd = arg.dirfd_arg.map(|i| event.args[usize::from(i)] as i32);
                resolver.resolve(event.pid, dirfd, &captured.bytes)
            }
            _ => None,
        };
        Some(PathRef {
            arg: arg.path_arg,
            path: &captured.bytes,
            resolved,
        })
    }
}

/// What a completed syscall did to the process's cwd and fd table.
fn effect(event: &SyscallEvent, name: &str, path: Option<&PathRef>) -> Option<PathEffect> {
    let ret = event.ret.filter(|&r| r >= 0)?;
    let fd = |i: usize| event.args[i] as i32;
    let first_resolved = || path.and_then(|p| p.resolved.clone());
    Some(match name {
        "chdir" => PathEffect::Chdir(first_resolved()?),
        "fchdir" => PathEffect::Fchdir(fd(0)),
        "open" | "openat" | "openat2" | "creat" => {
            PathEffect::Opened(ret as i32, first_resolved()?)
        }
        "dup" => PathEffect::Dup {
            from: fd(0),
            to: ret as i32,
        },
        "dup2" | "dup3" => PathEffect::Dup {
            from: fd(0),
            to: fd(1),
        },
        "fcntl" if matches!(event.args[1] as i32, libc::F_DUPFD | libc::F_DUPFD_CLOEXEC) => {
            PathEffect::Dup {
                from: fd(0),
                to: ret as i32,
            }
        }
        "close" => PathEffect::Closed(fd(0)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::sysno;
    use crate::model::{Arch, Captured};

    /// A pid that does not exist: nothing about it is read from /proc.
    const PID: u32 = 4_000_000;

    fn event(name: &str, args: [u64; 6], ret: i64, path: &[u8]) -> SyscallEvent {
        let arch = Arch::native();
        SyscallEvent {
            ts_ns: 0,
            pid: PID,
            tid: PID,
            comm: b"test".into(),
            arch,
            nr: sysno::number(arch, name).expect("a syscall"),
            args,
            ret: Some(ret),
            duration_ns: Some(0),
            captures: vec![Captured {
                arg: crate::decode::spec::path_args(name)[0].path_arg,
                index: 0,
                bytes: path.to_vec(),
                truncated: false,
                fault: false,
            }],
            argv_truncated: false,
            uid: 0,
            gid: 0,
        }
    }

    #[test]
    fn paths_resolve_with_the_state_the_trace_showed() {
        let at_fdcwd = libc::AT_FDCWD as u64;
        let chdir = event("chdir", [1, 0, 0, 0, 0, 0], 0, b"/srv/app");
        let open_dir = event("openat", [at_fdcwd, 1, 0, 0, 0, 0], 5, b"data");
        let open_at = event("openat", [5, 1, 0, 0, 0, 0], -2, b"x/../db");

        let mut enricher = Enricher::new(true);
        for ev in [&chdir, &open_dir] {
            enricher.call(ev);
        }
        let call = enricher.call(&open_at);
        let path = call.path.expect("openat names a path");
        assert_eq!((path.arg, path.path), (1, &b"x/../db"[..]));
        assert_eq!(path.resolved, Some("/srv/app/data/db".into()));
    }

    #[test]
    fn without_resolution_paths_are_as_passed() {
        let chdir = event("chdir", [1, 0, 0, 0, 0, 0], 0, b"/srv/app");
        let open = event(
            "openat",
            [libc::AT_FDCWD as u64, 1, 0, 0, 0, 0],
            3,
            b"/etc/x",
        );
        let mut enricher = Enricher::new(false);
        enricher.call(&chdir);
        let call = enricher.call(&open);
        let path = call.path.expect("openat names a path");
        assert_eq!((path.path, path.resolved), (&b"/etc/x"[..], None));
        assert_eq!(call.decoded.name, "openat");
    }
}
