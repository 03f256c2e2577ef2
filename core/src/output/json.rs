//! JSON Lines records. Every record has a `type`; names are snake_case;
//! process-supplied bytes are strings when valid UTF-8, else `{"hex": …}`
//! (see [`crate::escape::json_bytes`]). The schema is pinned by a test in
//! `tests/tests/trace_json.rs`: change both together.

use serde::Serialize;
use serde_json::Value;

use crate::decode::{self, Arg};
use crate::enrich::Call;
use crate::escape::{JsonBytes, json_bytes};
use crate::model::{Losses, ProcessExit};

/// `{"type":"syscall", …}`: one completed syscall.
#[derive(Debug, Serialize)]
pub struct SyscallRecord<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Unix time of the syscall's entry, in nanoseconds.
    pub ts_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub comm: JsonBytes<'a>,
    pub syscall: &'a str,
    /// Decoded arguments, one value per argument.
    pub args: &'a [Arg<'a>],
    /// Raw return value; null for syscalls that do not return.
    pub ret: Option<i64>,
    /// Errno name of a failed call ("ENOENT"), else null.
    pub errno: Option<&'static str>,
    pub duration_ns: Option<u64>,
    /// The first path argument as passed, when the syscall names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<JsonBytes<'a>>,
    /// That path made absolute with the cwd or dirfd at the time; null when
    /// they are unknown, or when the [`Enricher`](crate::enrich::Enricher)
    /// does not resolve paths.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Option<JsonBytes<'a>>>,
}

impl<'a> From<&'a Call<'a>> for SyscallRecord<'a> {
    fn from(call: &'a Call<'a>) -> Self {
        let e = call.event;
        let path = call.path.as_ref();
        SyscallRecord {
            kind: "syscall",
            ts_ns: e.ts_ns,
            pid: e.pid,
            tid: e.tid,
            comm: JsonBytes(&e.comm),
            syscall: &call.decoded.name,
            args: call.decoded.args(),
            ret: e.ret,
            errno: call.decoded.errno,
            duration_ns: e.duration_ns,
            path: path.map(|p| JsonBytes(p.path)),
            resolved: path.map(|p| {
                p.resolved
                    .as_ref()
                    .map(|r| JsonBytes(r.as_os_str().as_encoded_bytes()))
            }),
        }
    }
}

/// `{"type":"exit", …}`: a process ended.
#[derive(Debug, Serialize)]
pub struct ExitRecord {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub ts_ns: u64,
    pub pid: u32,
    pub comm: Value,
    /// Exit code, null when killed by a signal.
    pub code: Option<i32>,
    /// Name of the signal that killed it ("SIGKILL"), else null.
    pub signal: Option<String>,
}

impl From<&ProcessExit> for ExitRecord {
    fn from(exit: &ProcessExit) -> Self {
        ExitRecord {
            kind: "exit",
            ts_ns: exit.ts_ns,
            pid: exit.pid,
            comm: json_bytes(&exit.comm),
            code: exit.code(),
            signal: exit
                .signal()
                .map(|s| decode::signal_name(s).map_or_else(|| s.to_string(), str::to_owned)),
        }
    }
}

/// `{"type":"lost", …}`: what the probe could not deliver, cumulative.
#[derive(Debug, Serialize)]
pub struct LostRecord {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Events delivered so far.
    pub delivered: u64,
    #[serde(flatten)]
    pub losses: Losses,
}

impl LostRecord {
    pub fn new(delivered: u64, losses: Losses) -> Self {
        LostRecord {
            kind: "lost",
            delivered,
            losses,
        }
    }
}
