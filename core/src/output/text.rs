//! strace-style text: one line per syscall, every process-supplied byte
//! escaped (see [`crate::escape`]).

use std::fmt::Write;

use crate::decode;
use crate::enrich::Call;
use crate::model::ProcessExit;

/// `[pid  1234] openat(AT_FDCWD, "/x", O_RDONLY) = -1 ENOENT (No such file or directory) <0.000011>`.
/// The pid shown is the thread's, as `strace -f` does.
pub fn syscall_line(call: &Call<'_>) -> String {
    let mut line = format!(
        "[pid {:>5}] {}",
        call.event.tid,
        decode::format_call(&call.decoded)
    );
    if call.event.ret.is_some() {
        let d = call.event.duration_ns;
        let _ = write!(
            line,
            " <{}.{:06}>",
            d / 1_000_000_000,
            (d % 1_000_000_000) / 1000
        );
    }
    line
}

/// `[pid  1234] +++ exited with 0 +++`, or `+++ killed by SIGKILL +++`.
pub fn exit_line(exit: &ProcessExit) -> String {
    match exit.signal() {
        Some(sig) => format!(
            "[pid {:>5}] +++ killed by {}{} +++",
            exit.pid,
            decode::signal_name(sig).map_or_else(|| sig.to_string(), str::to_owned),
            if exit.wait_status & 0x80 != 0 {
                " (core dumped)"
            } else {
                ""
            }
        ),
        None => format!(
            "[pid {:>5}] +++ exited with {} +++",
            exit.pid,
            exit.code().unwrap_or(0)
        ),
    }
}
