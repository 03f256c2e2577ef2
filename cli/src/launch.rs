//! Starting a command so that it is traced from its very first syscall.
//!
//! The child is forked and stops itself with SIGSTOP; the parent puts its pid
//! into the probe's map and lets it continue, and only then does it exec.
//! Stopping (rather than blocking in a read) means the child is in no syscall
//! when tracing starts, so the trace begins cleanly at its execve with no
//! half-seen syscall. std's `Command` cannot do this: `spawn` returns only
//! after the exec, too late. Between fork and exec the child only calls
//! async-signal-safe functions (raise, execve, write, _exit) on memory
//! prepared before the fork.

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// A forked child, stopped until [`Launched::release`], then exec'ing.
#[derive(Debug)]
pub struct Launched {
    pub pid: u32,
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

/// Forks a child that will run `argv` (argv[0] at `program`) once released,
/// and waits until it has stopped.
pub fn fork_waiting(program: &Path, argv: &[OsString]) -> anyhow::Result<Launched> {
    let path = cstring(program.as_os_str())?;
    let args: Vec<CString> = argv.iter().map(|a| cstring(a)).collect::<Result<_, _>>()?;
    let mut arg_ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    arg_ptrs.push(std::ptr::null());

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
            libc::close(err_read.as_raw_fd());
            libc::raise(libc::SIGSTOP);
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
    drop(err_write);
    let mut status = 0;
    // SAFETY: waits for our own child; status is an int we own.
    let waited = unsafe { libc::waitpid(pid, &mut status, libc::WUNTRACED) };
    if waited != pid || !libc::WIFSTOPPED(status) {
        bail!("the command's process ended before it could be traced (wait status {status:#x})");
    }
    Ok(Launched {
        pid: pid as u32,
        exec_error: err_read,
    })
}

impl Launched {
    /// Lets the child exec, and reports whether the exec failed.
    pub fn release(&mut self, program: &Path) -> Result<(), CommandError> {
        // SAFETY: signals our own stopped child.
        unsafe { libc::kill(self.pid as i32, libc::SIGCONT) };
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
