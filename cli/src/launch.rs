//! Starting a command so that it is traced from its very first syscall.
//!
//! The child is forked, then waits on a pipe until the parent has put its pid
//! into the probe's map; only then does it exec. std's `Command` cannot do
//! this: `spawn` returns only after the exec, too late. Between fork and exec
//! the child only calls async-signal-safe functions (read, execve, write,
//! _exit) on memory prepared before the fork.

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// A forked child waiting for [`Launched::release`] before it execs.
#[derive(Debug)]
pub struct Launched {
    pub pid: u32,
    go: Option<OwnedFd>,
    exec_error: OwnedFd,
}

/// The command could not be found or run, with the status a shell would
/// exit with (127 not found, 126 not executable).
#[derive(Debug, thiserror::Error)]
#[error("{program}: {why}")]
pub struct CommandError {
    pub program: String,
    pub why: String,
    pub status: u8,
}

/// Finds `program` like a shell does: as given if it has a `/`, else in
/// `$PATH`.
pub fn find_program(program: &OsStr) -> Result<PathBuf, CommandError> {
    let display = program.to_string_lossy().into_owned();
    let not_found = |why: &str, status| CommandError {
        program: display.clone(),
        why: why.to_owned(),
        status,
    };
    if program.as_bytes().contains(&b'/') {
        let path = PathBuf::from(program);
        return match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => Err(not_found("is a directory", 126)),
            Ok(_) => Ok(path),
            Err(_) => Err(not_found("No such file or directory", 127)),
        };
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&search)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| not_found("command not found", 127))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Forks a child that will run `argv` (argv[0] at `program`) once released.
pub fn fork_waiting(program: &Path, argv: &[OsString]) -> anyhow::Result<Launched> {
    let path = cstring(program.as_os_str())?;
    let args: Vec<CString> = argv.iter().map(|a| cstring(a)).collect::<Result<_, _>>()?;
    let mut arg_ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    arg_ptrs.push(std::ptr::null());

    let (go_read, go_write) = pipe()?;
    let (err_read, err_write) = pipe()?;
    // SAFETY: fork is safe to call; in the child we only use async-signal-
    // safe calls on memory allocated before the fork, then exec or _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error()).context("could not fork");
    }
    if pid == 0 {
        // SAFETY: see above; environ is the process's environment block.
        unsafe {
            libc::close(go_write.as_raw_fd());
            libc::close(err_read.as_raw_fd());
            let mut byte = 0u8;
            // EOF without the byte: hostscope died before tracing us, and
            // running untraced is not what the user asked for.
            if libc::read(go_read.as_raw_fd(), (&raw mut byte).cast(), 1) != 1 {
                libc::_exit(1);
            }
            libc::execve(path.as_ptr(), arg_ptrs.as_ptr(), environ);
            let errno = *libc::__errno_location();
            libc::write(
                err_write.as_raw_fd(),
                (&raw const errno).cast(),
                size_of::<i32>(),
            );
            libc::_exit(if errno == libc::ENOENT { 127 } else { 126 });
        }
    }
    drop(go_read);
    drop(err_write);
    Ok(Launched {
        pid: pid as u32,
        go: Some(go_write),
        exec_error: err_read,
    })
}

impl Launched {
    /// Lets the child exec, and reports whether the exec failed.
    pub fn release(&mut self, program: &Path) -> Result<(), CommandError> {
        if let Some(go) = self.go.take() {
            let byte = 1u8;
            // SAFETY: writes one byte we own to a pipe we own.
            unsafe { libc::write(go.as_raw_fd(), (&raw const byte).cast(), 1) };
        }
        let mut errno = 0i32;
        // SAFETY: reads at most 4 bytes into an i32 we own. The pipe is
        // CLOEXEC: a successful exec closes it and we read 0 bytes.
        let n = unsafe {
            libc::read(
                self.exec_error.as_raw_fd(),
                (&raw mut errno).cast(),
                size_of::<i32>(),
            )
        };
        if n == size_of::<i32>() as isize {
            return Err(CommandError {
                program: program.display().to_string(),
                why: std::io::Error::from_raw_os_error(errno).to_string(),
                status: if errno == libc::ENOENT { 127 } else { 126 },
            });
        }
        Ok(())
    }
}

unsafe extern "C" {
    static environ: *const *const libc::c_char;
}

fn cstring(s: &OsStr) -> anyhow::Result<CString> {
    CString::new(s.as_bytes()).with_context(|| format!("{s:?} contains a NUL byte"))
}

fn pipe() -> anyhow::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fds that we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        bail!(
            "could not create a pipe: {}",
            std::io::Error::last_os_error()
        );
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}
