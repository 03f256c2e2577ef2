//! Chains as text: one line per hop, indented under its parent, the
//! culprit marked.
//!
//! ```text
//! GET /checkout  nginx[812] :8080  502  1203 ms
//! └─ POST /pay  payments[901] :9000  500  1198 ms
//!    └┄ GET session:42  redis-server[77] :6379  (nil)  0.4 ms  <- culprit
//! ```
//!
//! `└─` is an exact link (the same connection seen from both ends, or a
//! propagated trace id); `└┄` an inferred one (same thread, in time).

use super::link::{Hop, LinkKind, culprit};
use super::{Protocol, Status};
use crate::escape::escape;
use crate::procfs::Origin;

/// The text of a status, as a hop line shows it.
pub fn status_text(status: Option<&Status>) -> String {
    match status {
        None => "(no response)".to_owned(),
        Some(Status::Http(code)) => code.to_string(),
        Some(Status::RedisOk) => "OK".to_owned(),
        Some(Status::RedisNil) => "(nil)".to_owned(),
        Some(Status::RedisError(message)) => message.clone(),
        Some(Status::PgOk(tag)) => tag.clone(),
        Some(Status::PgError { code, .. }) => format!("ERROR {code}"),
        Some(Status::Closed) => "closed".to_owned(),
        Some(Status::Open) => "open".to_owned(),
    }
}

/// A duration for a hop line: `0.4 ms`, `12 ms`, `1.2 s`.
pub fn duration_text(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// One hop's line, without indentation.
pub fn hop_line(hop: &Hop) -> String {
    let span = hop.main();
    let port = hop.port().map(|p| format!(" :{p}")).unwrap_or_default();
    let target = if span.protocol == Protocol::Opaque {
        // A connection-level span: what it carried is its only content.
        format!(
            " {} B out, {} B in",
            span.request.bytes, span.response_bytes
        )
    } else if span.request.target.is_empty() {
        String::new()
    } else {
        format!(" {}", span.request.target)
    };
    format!(
        "{}{target}  {}{port}  {}  {}",
        span.request.operation,
        process_label(&span.comm, span.pid, span.origin.as_deref()),
        status_text(span.status.as_ref()),
        duration_text(hop.duration_ns()),
    )
}

/// A process as chains show it, in a hop and in the map: `comm[pid]`,
/// escaped, then where it runs when known (`nginx[812] (nginx.service)`).
pub fn process_label(comm: &[u8], pid: u32, origin: Option<&Origin>) -> String {
    match origin {
        Some(origin) => format!("{}[{pid}] ({origin})", escape(comm)),
        None => format!("{}[{pid}]", escape(comm)),
    }
}

/// The chain under `root`, one line per hop.
pub fn render_chain(root: &Hop) -> String {
    let blame = culprit(root);
    let mut out = String::new();
    let mut path = Vec::new();
    walk(root, 0, &mut path, &blame, &mut out);
    out
}

fn walk(hop: &Hop, depth: usize, path: &mut Vec<usize>, blame: &[usize], out: &mut String) {
    if depth > 0 {
        out.push_str(&"   ".repeat(depth - 1));
        out.push_str(match hop.link {
            Some(LinkKind::Thread) => "└┄ ",
            _ => "└─ ",
        });
    }
    out.push_str(&hop_line(hop));
    if path.as_slice() == blame && (hop.failed() || !hop.children.is_empty() || depth > 0) {
        out.push_str("  <- culprit");
    }
    out.push('\n');
    for (i, child) in hop.children.iter().enumerate() {
        path.push(i);
        walk(child, depth + 1, path, blame, out);
        path.pop();
    }
}
