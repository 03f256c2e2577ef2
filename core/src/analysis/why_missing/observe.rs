//! From a probe event to what the analyzer is told: one place decides which
//! syscalls are lookups and which path each one names, for every consumer
//! (`why-missing`, the TUI's detail view).

use std::path::PathBuf;

use super::{Lookup, Observation};
use crate::enrich::{Enricher, PathRef};
use crate::model::SyscallEvent;

/// The observation syscall `ev` (named `name`, with the path the enricher
/// found for it) makes, if any: a lookup, or bytes written to stderr.
/// Needs the enricher to resolve unix-socket paths, which are not path
/// arguments.
pub fn observation(
    enricher: &mut Enricher,
    ev: &SyscallEvent,
    name: &'static str,
    path: Option<PathRef<'_>>,
) -> Option<Observation> {
    match name {
        "write" => ev.capture(1).map(|c| Observation::Stderr {
            ts_ns: ev.ts_ns,
            pid: ev.pid,
            bytes: c.bytes.clone(),
        }),
        "connect" | "bind" => unix_socket_path(ev).map(|path| {
            let resolved = enricher.resolve(ev.pid, None, &path);
            lookup(ev, name, path, resolved)
        }),
        "fchdir" => None,
        _ => match path {
            Some(p) if !p.path.is_empty() => Some(lookup(ev, name, p.path.to_vec(), p.resolved)),
            // A successful exec has no path left to read: the exec record
            // names the file.
            _ if ev.errno().is_none() && matches!(name, "execve" | "execveat") => {
                Some(lookup(ev, name, Vec::new(), None))
            }
            _ => None,
        },
    }
}

fn lookup(
    ev: &SyscallEvent,
    name: &'static str,
    path: Vec<u8>,
    resolved: Option<PathBuf>,
) -> Observation {
    Observation::Lookup(Lookup {
        ts_ns: ev.ts_ns,
        pid: ev.pid,
        tid: ev.tid,
        comm: ev.comm,
        syscall: name,
        errno: ev.errno(),
        path,
        resolved,
        uid: ev.uid,
        gid: ev.gid,
    })
}

/// The filesystem path of an AF_UNIX address (abstract addresses, which
/// start with a NUL, name no file).
fn unix_socket_path(ev: &SyscallEvent) -> Option<Vec<u8>> {
    let addr = &ev.capture(1)?.bytes;
    let family = u16::from_ne_bytes([*addr.first()?, *addr.get(1)?]);
    if i32::from(family) != libc::AF_UNIX {
        return None;
    }
    let path = &addr[2..];
    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
    (end > 0).then(|| path[..end].to_vec())
}
