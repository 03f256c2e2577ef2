//! Error names and messages, worded as strace prints them.
//!
//! Names (`ENOENT`) come from the `syscalls` crate. Its descriptions are the
//! kernel's header comments ("Bad file number", "Try again"), which is not what
//! anyone reading strace output expects: strace prints glibc's `strerror`. So
//! [`message`] takes the crate's text only where glibc agrees with it and
//! carries glibc's wording for the rest, plus strace's own wording for the
//! kernel-internal restart codes that a tracer sees at syscall exit.

use syscalls::Errno;

/// The symbolic name of `errno` (`2` → `"ENOENT"`), including the
/// kernel-internal codes above 511 (`"ERESTARTSYS"`).
pub fn name(errno: i32) -> Option<&'static str> {
    Errno::new(errno).name()
}

/// The message strace prints for `errno` (`2` → `"No such file or
/// directory"`): glibc's `strerror` text for 1..=133, strace's wording for the
/// restart codes 512..=516, and `None` for anything else (strace prints
/// "Unknown error N" there).
pub fn message(errno: i32) -> Option<&'static str> {
    if let Some(text) = glibc_override(errno).or_else(|| restart_message(errno)) {
        return Some(text);
    }
    if (1..=133).contains(&errno) {
        Errno::new(errno).description()
    } else {
        None
    }
}

/// Whether `errno` is one of the codes the kernel uses to restart a syscall
/// interrupted by a signal; strace prints `= ?` rather than `= -1` for them,
/// because the process never sees this return.
pub fn is_restart(errno: i32) -> bool {
    restart_message(errno).is_some()
}

fn restart_message(errno: i32) -> Option<&'static str> {
    match errno {
        512 => Some("To be restarted if SA_RESTART is set"),
        513 => Some("To be restarted"),
        514 => Some("To be restarted if no handler"),
        516 => Some("Interrupted by signal"),
        _ => None,
    }
}

/// glibc's text where it differs from the kernel comment the crate carries.
fn glibc_override(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::EIO => "Input/output error",
        libc::EBADF => "Bad file descriptor",
        libc::EAGAIN => "Resource temporarily unavailable",
        libc::ENOMEM => "Cannot allocate memory",
        libc::EXDEV => "Invalid cross-device link",
        libc::ENFILE => "Too many open files in system",
        libc::ENOTTY => "Inappropriate ioctl for device",
        libc::EDOM => "Numerical argument out of domain",
        libc::ERANGE => "Numerical result out of range",
        libc::EDEADLK => "Resource deadlock avoided",
        libc::ENOLCK => "No locks available",
        libc::ENOSYS => "Function not implemented",
        libc::ELOOP => "Too many levels of symbolic links",
        libc::EBADMSG => "Bad message",
        libc::EILSEQ => "Invalid or incomplete multibyte or wide character",
        libc::EOPNOTSUPP => "Operation not supported",
        libc::ENETRESET => "Network dropped connection on reset",
        libc::EDQUOT => "Disk quota exceeded",
        libc::ECANCELED => "Operation canceled",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_errors_read_like_strace() {
        let cases = [
            (1, "EPERM", "Operation not permitted"),
            (2, "ENOENT", "No such file or directory"),
            (9, "EBADF", "Bad file descriptor"),
            (11, "EAGAIN", "Resource temporarily unavailable"),
            (12, "ENOMEM", "Cannot allocate memory"),
            (13, "EACCES", "Permission denied"),
            (17, "EEXIST", "File exists"),
            (25, "ENOTTY", "Inappropriate ioctl for device"),
            (38, "ENOSYS", "Function not implemented"),
            (95, "EOPNOTSUPP", "Operation not supported"),
            (111, "ECONNREFUSED", "Connection refused"),
            (115, "EINPROGRESS", "Operation now in progress"),
        ];
        for (errno, n, text) in cases {
            assert_eq!(name(errno), Some(n), "name of {errno}");
            assert_eq!(message(errno), Some(text), "message of {errno}");
        }
    }

    #[test]
    fn restart_codes_and_unknowns() {
        assert_eq!(name(512), Some("ERESTARTSYS"));
        assert_eq!(message(512), Some("To be restarted if SA_RESTART is set"));
        assert!(is_restart(516) && !is_restart(4));
        assert_eq!(name(524), Some("ENOTSUPP"));
        assert_eq!(message(524), None);
        assert_eq!((name(41), message(41)), (None, None));
        assert_eq!((name(0), name(-2), name(4000)), (None, None, None));
    }

    /// Pins the table to the C library the tests run on, so that an override
    /// that is wrong, or missing, cannot hide.
    #[cfg(target_env = "gnu")]
    #[test]
    fn messages_match_glibc_strerror() {
        for errno in 1..=133 {
            let mut buf = [0u8; 256];
            // SAFETY: `buf` is writable for its full length, which we pass.
            let rc = unsafe { libc::strerror_r(errno, buf.as_mut_ptr().cast(), buf.len()) };
            // EINVAL is glibc saying "no such errno"; it still fills the buffer.
            assert!(rc == 0 || rc == libc::EINVAL, "strerror_r({errno}) = {rc}");
            let text = std::ffi::CStr::from_bytes_until_nul(&buf).expect("NUL-terminated");
            let glibc = text.to_str().expect("ASCII");
            let expected = (rc == 0).then_some(glibc);
            assert_eq!(message(errno), expected, "errno {errno}");
        }
    }
}
