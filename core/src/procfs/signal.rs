//! Sending a signal to the process the user picked, and never to another.
//!
//! The TUI shows a process, the user picks a signal, and the signal goes out
//! seconds later. Meanwhile the process may have exited and been reaped, and
//! its pid given to a newcomer: `kill(pid)` would hit that one. So the signal
//! goes through a pidfd, which refers to one process for good, after checking
//! that the process it was opened on started when the one the user saw did.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::parse::parse_stat;

/// The signals a picker offers, most used first: number and name (without
/// `SIG`).
pub const SIGNALS: &[(i32, &str)] = &[
    (libc::SIGTERM, "TERM"),
    (libc::SIGKILL, "KILL"),
    (libc::SIGINT, "INT"),
    (libc::SIGHUP, "HUP"),
    (libc::SIGQUIT, "QUIT"),
    (libc::SIGUSR1, "USR1"),
    (libc::SIGUSR2, "USR2"),
    (libc::SIGSTOP, "STOP"),
    (libc::SIGCONT, "CONT"),
];

/// Why a signal was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    /// The process has exited.
    #[error("process {pid} no longer exists; nothing was sent")]
    Gone { pid: u32 },
    /// The process has exited and its pid now belongs to another one.
    #[error(
        "pid {pid} now belongs to another process (the one picked has exited); nothing was sent, refresh and pick again"
    )]
    Reused { pid: u32 },
    /// Not allowed (EPERM).
    #[error("not allowed to signal process {pid}: run as root or as the process's owner")]
    Permission { pid: u32 },
    /// Anything else: pidfds unsupported, an invalid signal number, `pid`
    /// naming a thread rather than a process, `/proc/PID/stat` unreadable.
    #[error("cannot signal process {pid}")]
    Other {
        pid: u32,
        #[source]
        source: io::Error,
    },
}

/// Sends `signal` to process `pid` if it is still the one that started at
/// `start_ticks` (clock ticks after boot, as in
/// [`Detail::start_ticks`](super::Detail::start_ticks)); never to a process
/// that got the pid since.
///
/// Signal 0 sends nothing and only checks that the process is there and may
/// be signalled. Needs Linux 5.3 or later.
pub fn send_signal(pid: u32, start_ticks: u64, signal: i32) -> Result<(), SignalError> {
    let other = |source| SignalError::Other { pid, source };
    // No process can have a pid beyond pid_t.
    let raw_pid = libc::pid_t::try_from(pid).map_err(|_| SignalError::Gone { pid })?;
    let no_flags: libc::c_long = 0;
    // SAFETY: pidfd_open takes two integers and returns a new descriptor or
    // -1; syscall(2) reads every argument as a long.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::c_long::from(raw_pid), no_flags) };
    if fd < 0 {
        let err = io::Error::last_os_error();
        return Err(match err.raw_os_error() {
            Some(libc::ESRCH) => SignalError::Gone { pid },
            Some(libc::ENOSYS) => other(io::Error::new(
                io::ErrorKind::Unsupported,
                "this kernel has no pidfd_open (Linux 5.3 or later is needed)",
            )),
            Some(libc::EINVAL) => other(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a process id (a thread's id, or 0)",
            )),
            _ => other(err),
        });
    }
    let fd = RawFd::try_from(fd).map_err(|_| other(io::Error::other("pidfd out of range")))?;
    // SAFETY: pidfd_open returned a new descriptor that nothing else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(fd) };
    // The pidfd is of whatever process had the pid when it was opened. The
    // one the user saw existed before that (it was shown, with its start
    // time), and a process keeps its pid until it is reaped; so if the
    // process with the pid now is the one the user saw, that is also the one
    // the pidfd refers to. If it exits from here on, the pidfd still refers
    // to it and the send fails with ESRCH, whoever gets the pid.
    if current_start_ticks(pid)? != start_ticks {
        return Err(SignalError::Reused { pid });
    }
    // SAFETY: the pidfd is open for the whole call; a null siginfo and no
    // flags make it behave as kill(2).
    let sent = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            libc::c_long::from(pidfd.as_raw_fd()),
            libc::c_long::from(signal),
            std::ptr::null::<libc::siginfo_t>(),
            no_flags,
        )
    };
    if sent != 0 {
        let err = io::Error::last_os_error();
        return Err(match err.raw_os_error() {
            Some(libc::ESRCH) => SignalError::Gone { pid },
            Some(libc::EPERM) => SignalError::Permission { pid },
            _ => other(err),
        });
    }
    Ok(())
}

/// The start time of whatever process has `pid` now, in clock ticks after
/// boot.
fn current_start_ticks(pid: u32) -> Result<u64, SignalError> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read(&path).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound || source.raw_os_error() == Some(libc::ESRCH) {
            SignalError::Gone { pid }
        } else {
            SignalError::Other { pid, source }
        }
    })?;
    parse_stat(&text)
        .map(|stat| stat.start_ticks)
        .ok_or_else(|| SignalError::Other {
            pid,
            source: io::Error::new(io::ErrorKind::InvalidData, format!("{path} is malformed")),
        })
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Child, Command, Stdio};

    use super::*;

    /// A child that is killed and reaped when the test ends, pass or fail.
    struct Reaped(Child);

    impl Drop for Reaped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn sleep() -> Reaped {
        Reaped(
            Command::new("sleep")
                .arg("30")
                .stdin(Stdio::null())
                .spawn()
                .expect("cannot start sleep"),
        )
    }

    #[test]
    fn term_reaches_the_process() {
        let mut child = sleep();
        let pid = child.0.id();
        let start = current_start_ticks(pid).expect("child's stat is readable");
        send_signal(pid, start, libc::SIGTERM).expect("signal own child");
        let status = child.0.wait().expect("reap child");
        assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    }

    #[test]
    fn another_start_time_is_a_reused_pid_and_nothing_is_sent() {
        let mut child = sleep();
        let pid = child.0.id();
        let start = current_start_ticks(pid).expect("child's stat is readable");
        let err = send_signal(pid, start + 1, libc::SIGKILL).expect_err("start time differs");
        assert!(
            matches!(err, SignalError::Reused { pid: p } if p == pid),
            "{err:?}"
        );
        assert!(err.to_string().contains(&pid.to_string()), "{err}");
        assert!(
            child.0.try_wait().expect("poll child").is_none(),
            "the child was hit"
        );
    }

    #[test]
    fn a_reaped_process_is_gone() {
        let mut child = sleep();
        let pid = child.0.id();
        let start = current_start_ticks(pid).expect("child's stat is readable");
        child.0.kill().expect("kill child");
        child.0.wait().expect("reap child");
        let err = send_signal(pid, start, libc::SIGTERM).expect_err("reaped");
        assert!(
            matches!(err, SignalError::Gone { pid: p } if p == pid),
            "{err:?}"
        );
        assert!(matches!(
            send_signal(u32::MAX, 0, 0),
            Err(SignalError::Gone { .. })
        ));
    }

    #[test]
    fn signal_zero_only_checks() {
        let mut child = sleep();
        let pid = child.0.id();
        let start = current_start_ticks(pid).expect("child's stat is readable");
        send_signal(pid, start, 0).expect("own child may be signalled");
        assert!(child.0.try_wait().expect("poll child").is_none());
    }

    #[test]
    fn the_picker_names_each_signal_as_the_decoder_does() {
        for &(sig, name) in SIGNALS {
            let full = format!("SIG{name}");
            assert_eq!(
                crate::decode::signal_name(sig),
                Some(full.as_str()),
                "signal {sig}"
            );
        }
    }
}
