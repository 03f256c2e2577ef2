//! strace-style text: one line per syscall, every process-supplied byte
//! escaped (see [`crate::escape`]).

use crate::decode;
use crate::enrich::Call;
use crate::model::ProcessExit;

/// Appends `[pid  1234] openat(AT_FDCWD, "/x", O_RDONLY) = -1 ENOENT (No such file or directory) <0.000011>`
/// to `out`, without a newline. The pid shown is the thread's, as `strace -f`
/// does. Appending lets a sink reuse one buffer for every line.
pub fn push_syscall_line(out: &mut String, call: &Call<'_>) {
    out.push_str("[pid ");
    let mut tid = itoa::Buffer::new();
    let tid = tid.format(call.event.tid);
    for _ in tid.len()..5 {
        out.push(' ');
    }
    out.push_str(tid);
    out.push_str("] ");
    call.decoded.write_text(out);
    if let (Some(_), Some(d)) = (call.event.ret, call.event.duration_ns) {
        let micros = (d % 1_000_000_000) / 1000;
        let mut digits = itoa::Buffer::new();
        out.push_str(" <");
        out.push_str(digits.format(d / 1_000_000_000));
        out.push('.');
        let micros = digits.format(micros);
        for _ in micros.len()..6 {
            out.push('0');
        }
        out.push_str(micros);
        out.push('>');
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::sysno;
    use crate::enrich::Enricher;
    use crate::model::{Arch, SyscallEvent};

    fn line(tid: u32, ret: Option<i64>, duration_ns: u64) -> String {
        let arch = Arch::native();
        let ev = SyscallEvent {
            ts_ns: 0,
            pid: tid,
            tid,
            comm: b"test".into(),
            arch,
            nr: sysno::number(arch, "close").expect("a syscall"),
            args: [3, 0, 0, 0, 0, 0],
            ret,
            duration_ns: Some(duration_ns),
            captures: Vec::new(),
            argv_truncated: false,
            uid: 0,
            gid: 0,
        };
        let mut out = String::from("kept|");
        push_syscall_line(&mut out, &Enricher::new(false).call(&ev));
        out
    }

    #[test]
    fn lines_pad_the_pid_and_show_the_duration_in_microseconds() {
        assert_eq!(
            line(42, Some(0), 11_999),
            "kept|[pid    42] close(3) = 0 <0.000011>"
        );
        assert_eq!(
            line(1_234_567, Some(-9), 2_500_000_000),
            "kept|[pid 1234567] close(3) = -1 EBADF (Bad file descriptor) <2.500000>"
        );
        assert_eq!(line(7, None, 0), "kept|[pid     7] close(3) = ?");
    }
}
