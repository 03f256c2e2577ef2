//! One syscall event made ready for output: decoded like strace, with its
//! path arguments resolved to absolute paths.

use std::path::PathBuf;

use crate::decode::{self, Decoded};
use crate::model::{ProcessExit, SyscallEvent};
use crate::resolve::{PathEffect, Resolver};

/// A path argument as the process passed it, and as it resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRef {
    /// Index of the syscall argument.
    pub arg: u8,
    /// The bytes passed (hostile: escape before printing).
    pub path: Vec<u8>,
    /// The absolute path, using the cwd and dirfd at the time of the call;
    /// `None` if those are unknown.
    pub resolved: Option<PathBuf>,
}

/// A decoded syscall with its resolved paths.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub event: &'a SyscallEvent,
    pub decoded: Decoded,
    pub paths: Vec<PathRef>,
}

/// Decodes events in order, keeping the per-process path state that
/// resolution needs.
#[derive(Debug, Default)]
pub struct Enricher {
    resolver: Resolver,
}

impl Enricher {
    pub fn new() -> Self {
        Enricher::default()
    }

    /// Decodes `event` and resolves its paths, then records what it changed
    /// (cwd, fds, children) for the events after it.
    pub fn call<'a>(&mut self, event: &'a SyscallEvent) -> Call<'a> {
        let decoded = decode::decode(event);
        let paths = self.paths(event, &decoded.name);
        if let Some(effect) = effect(event, &decoded.name, &paths) {
            self.resolver.apply(event.pid, effect);
        }
        Call {
            event,
            decoded,
            paths,
        }
    }

    /// Forgets an exited process.
    pub fn exited(&mut self, exit: &ProcessExit) {
        self.resolver.apply(exit.pid, PathEffect::Exited);
    }

    fn paths(&mut self, event: &SyscallEvent, name: &str) -> Vec<PathRef> {
        decode::spec::path_args(name)
            .iter()
            .filter_map(|pa| {
                let captured = event.capture(pa.path_arg).filter(|c| !c.fault)?;
                let dirfd = pa.dirfd_arg.map(|i| event.args[usize::from(i)] as i32);
                Some(PathRef {
                    arg: pa.path_arg,
                    path: captured.bytes.clone(),
                    resolved: if captured.truncated {
                        None
                    } else {
                        self.resolver.resolve(event.pid, dirfd, &captured.bytes)
                    },
                })
            })
            .collect()
    }
}

/// What a completed syscall did to the process's cwd and fd table.
fn effect(event: &SyscallEvent, name: &str, paths: &[PathRef]) -> Option<PathEffect> {
    let ret = event.ret.filter(|&r| r >= 0)?;
    let fd = |i: usize| event.args[i] as i32;
    let first_resolved = || paths.first().and_then(|p| p.resolved.clone());
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
        "clone" if event.args[0] & libc::CLONE_THREAD as u64 != 0 => return None,
        "clone" | "clone3" | "fork" | "vfork" if ret > 0 => {
            PathEffect::Forked { child: ret as u32 }
        }
        _ => return None,
    })
}
