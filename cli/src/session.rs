//! One run of the probe over a target, shared by the commands that watch
//! processes (trace, why-missing): start or attach to the target, feed every
//! event to a [`Consumer`] until the target exits, a signal arrives or time
//! is up, then detach and say what was lost.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use hostscope_core::model::{Event, Losses};
use hostscope_ebpf::{EventStream, Probe, ProbeConfig};
use tokio::io::unix::AsyncFd;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::cmd::UsageError;
use crate::launch;

/// What to watch, validated.
#[derive(Debug)]
pub enum Target {
    Command(Vec<OsString>),
    Pids { pids: Vec<u32>, follow: bool },
    All,
}

impl Target {
    /// The one target the flags name: a command after `--`, `-p` pids, or
    /// `--all`.
    pub fn from_flags(
        command: &[OsString],
        pids: &[i32],
        follow: bool,
        all: bool,
    ) -> Result<Target, UsageError> {
        match (command.is_empty(), pids.is_empty(), all) {
            (false, true, false) => Ok(Target::Command(command.to_vec())),
            (true, false, false) => Ok(Target::Pids {
                pids: pids
                    .iter()
                    .map(|&p| thread_group_of(p))
                    .collect::<Result<_, _>>()?,
                follow,
            }),
            (true, true, true) => Ok(Target::All),
            (true, true, false) => Err(UsageError(
                "nothing to watch: give a command after --, -p PID, or --all".into(),
            )),
            _ => Err(UsageError(
                "give only one of: a command after --, -p PID, --all".into(),
            )),
        }
    }

    pub fn scope(&self) -> hostscope_ebpf::Scope {
        match self {
            Target::All => hostscope_ebpf::Scope::All,
            _ => hostscope_ebpf::Scope::Pids,
        }
    }
}

/// Where events go. Called from the event loop: it should not block.
pub trait Consumer {
    fn event(&mut self, event: Event) -> io::Result<()>;

    /// After each batch of events.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// The probe's loss counters changed (checked about once a second).
    fn losses_changed(&mut self, _delivered: u64, _losses: Losses) -> io::Result<()> {
        Ok(())
    }

    /// A process is about to be watched: the consumer may read what it
    /// needs from /proc while the process is known to be alive.
    fn watch(&mut self, _pid: u32) {}
    /// The probe is loaded and attached: what only loading needed (some
    /// capabilities) may be given up now.
    fn attached(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Why the event loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    TargetsExited,
    TimeUp,
    Signal(i32),
}

/// How a session ended.
pub struct Finished {
    /// Why it stopped, or the error that ended it (an output that broke).
    pub stopped: anyhow::Result<Stop>,
    /// The command we started, and its wait status.
    pub child: Option<(u32, i32)>,
    pub losses: Losses,
    /// Records the probe sent.
    pub delivered: u64,
    /// Records that could not be decoded.
    pub malformed: u64,
}

impl Finished {
    /// hostscope's own exit status: the command's (as a shell reports it),
    /// else 130 after Ctrl-C, else success.
    pub fn exit_code(&self) -> ExitCode {
        match (self.child, self.stopped.as_ref().ok()) {
            (Some((_, status)), _) => ExitCode::from(exit_status_code(status)),
            (None, Some(Stop::Signal(libc::SIGINT))) => ExitCode::from(130),
            _ => ExitCode::SUCCESS,
        }
    }
}

/// The start every watching command shares: checks privileges, resolves
/// the command's program like a shell would before anything is loaded (a
/// command that cannot run exits as a shell would, with the reason
/// printed), then runs `body` with that program on an event loop.
pub fn block_on<F>(
    target: &Target,
    body: impl FnOnce(Option<PathBuf>) -> F,
) -> anyhow::Result<ExitCode>
where
    F: Future<Output = anyhow::Result<ExitCode>>,
{
    hostscope_ebpf::check_privileges()?;
    let program = match target {
        Target::Command(argv) => match launch::find_program(&argv[0]) {
            Ok(path) => Some(path),
            Err(err) => return Ok(command_failed(&err)),
        },
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the event loop")?;
    runtime.block_on(body(program))
}

/// FILE for `-o FILE`, created (or truncated) now.
pub fn create_output(path: &Path) -> anyhow::Result<File> {
    File::create(path).with_context(|| format!("could not create {}", path.display()))
}

/// Loads the probe, starts or attaches to the target and feeds `consumer`
/// until the target is gone, a stop signal arrives, or `limit` has passed.
/// `Err(code)`: the command could not be started (already reported).
pub async fn run(
    target: &Target,
    program: Option<PathBuf>,
    config: &ProbeConfig,
    consumer: &mut impl Consumer,
    limit: Option<Duration>,
) -> anyhow::Result<Result<Finished, ExitCode>> {
    let mut signals = StopSignals::catch()?;
    let mut probe = Probe::load(config)?;
    let mut stream = probe.events()?;
    consumer.attached()?;

    let mut child = None;
    let mut watched = Vec::new();
    match target {
        Target::Command(argv) => {
            let program = program.expect("resolved before the probe was loaded");
            let mut launched = launch::fork_waiting(&program, argv)?;
            probe.trace_pid(launched.pid, true)?;
            consumer.watch(launched.pid);
            let pidfd = pidfd(launched.pid).context("could not watch the command")?;
            if let Err(err) = launched.release(&program) {
                reap(launched.pid);
                return Ok(Err(command_failed(&err)));
            }
            child = Some(launched.pid);
            watched.push(pidfd);
        }
        Target::Pids { pids, follow } => {
            for &pid in pids {
                probe.trace_pid(pid, *follow)?;
                consumer.watch(pid);
                // A process that is already gone needs no watching.
                if let Ok(fd) = pidfd(pid) {
                    watched.push(fd);
                }
                eprintln!("hostscope: attached to process {pid} ({})", comm_of(pid));
            }
        }
        Target::All => eprintln!("hostscope: attached to every process on the host"),
    }

    let loop_ = EventLoop {
        probe: &probe,
        stream: &mut stream,
        child,
        limit,
    };
    let stopped = loop_.run(&mut signals, consumer, watched).await;
    let stopped = stopped.and_then(|stop| {
        // With the programs detached nothing more comes in: drain to the end.
        probe.stop()?;
        while drain(&mut stream, consumer)? > 0 {}
        for event in stream.pending_repeats(&probe)? {
            consumer.event(event)?;
        }
        consumer.flush()?;
        Ok(stop)
    });
    let losses = probe.losses()?;
    let delivered = probe.delivered()?;
    let malformed = stream.malformed();
    // Detach before waiting for the command: nothing more is needed.
    drop(stream);
    drop(probe);
    Ok(Ok(Finished {
        stopped,
        child: child.map(|pid| (pid, reap(pid))),
        losses,
        delivered,
        malformed,
    }))
}

/// SIGINT, SIGTERM and SIGHUP, caught from before the probe is loaded so
/// that a signal at any moment detaches cleanly and still reports losses.
struct StopSignals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl StopSignals {
    fn catch() -> anyhow::Result<Self> {
        let catch = |kind, name| signal(kind).with_context(|| format!("could not handle {name}"));
        Ok(StopSignals {
            int: catch(SignalKind::interrupt(), "SIGINT")?,
            term: catch(SignalKind::terminate(), "SIGTERM")?,
            hup: catch(SignalKind::hangup(), "SIGHUP")?,
        })
    }
}

struct EventLoop<'a> {
    probe: &'a Probe,
    stream: &'a mut EventStream,
    child: Option<u32>,
    limit: Option<Duration>,
}

impl EventLoop<'_> {
    async fn run(
        self,
        signals: &mut StopSignals,
        consumer: &mut impl Consumer,
        watched: Vec<AsyncFd<OwnedFd>>,
    ) -> anyhow::Result<Stop> {
        let EventLoop {
            probe,
            stream,
            child,
            limit,
        } = self;
        let mut tick = tokio::time::interval(EventStream::POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let has_targets = !watched.is_empty();
        let exited = all_readable(watched);
        tokio::pin!(exited);
        let started = Instant::now();
        let mut last_losses = Losses::default();
        let mut last_check = Instant::now();
        let mut stop = None;
        let mut deadline = None;
        loop {
            tokio::select! {
                r = stream.readable() => {
                    r?;
                    drain(stream, consumer)?;
                }
                _ = tick.tick() => {
                    drain(stream, consumer)?;
                    if last_check.elapsed() >= Duration::from_secs(1) {
                        last_check = Instant::now();
                        let losses = probe.losses()?;
                        if losses != last_losses {
                            consumer.losses_changed(probe.delivered()?, losses)?;
                            last_losses = losses;
                        }
                    }
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Ok(stop.unwrap_or(Stop::TargetsExited));
                    }
                    if limit.is_some_and(|l| started.elapsed() >= l) {
                        return Ok(Stop::TimeUp);
                    }
                }
                () = &mut exited, if has_targets => return Ok(stop.unwrap_or(Stop::TargetsExited)),
                _ = signals.int.recv() => stop = Some(Stop::Signal(libc::SIGINT)),
                _ = signals.term.recv() => stop = Some(Stop::Signal(libc::SIGTERM)),
                _ = signals.hup.recv() => stop = Some(Stop::Signal(libc::SIGHUP)),
            }
            if let Some(Stop::Signal(sig)) = stop {
                match child {
                    // The command gets the signal too (a terminal's Ctrl-C
                    // reaches it anyway); we keep watching until it is gone,
                    // for a while.
                    Some(pid) if deadline.is_none() => {
                        // SAFETY: kill has no memory-safety preconditions.
                        unsafe { libc::kill(pid as i32, sig) };
                        deadline = Some(Instant::now() + Duration::from_secs(2));
                    }
                    Some(_) => {}
                    None => return Ok(Stop::Signal(sig)),
                }
            }
        }
    }
}

/// Hands what the ring holds (up to [`EventStream::MAX_DRAIN`] records) to
/// `consumer`; returns how many records were read.
fn drain(stream: &mut EventStream, consumer: &mut impl Consumer) -> io::Result<usize> {
    let mut result = Ok(());
    let n = stream.drain(|event| {
        if result.is_ok() {
            result = consumer.event(event);
        }
    });
    result?;
    consumer.flush()?;
    Ok(n)
}

/// Completes once every fd is readable (for pidfds: every process exited).
async fn all_readable(fds: Vec<AsyncFd<OwnedFd>>) {
    for fd in &fds {
        let _ = fd.readable().await;
    }
}

fn pidfd(pid: u32) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the fd was just returned to us and is owned by nobody else.
    let owned = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // SAFETY: the AsyncFd owns the OwnedFd, so the fd stays open and the
    // same for its whole life.
    unsafe { AsyncFd::register_with_interest(owned, tokio::io::Interest::READABLE) }
        .map_err(Into::into)
}

/// The process a pid belongs to (a thread id is accepted, like strace -p).
fn thread_group_of(pid: i32) -> Result<u32, UsageError> {
    let missing = || UsageError(format!("-p {pid}: no such process"));
    if pid <= 0 {
        return Err(missing());
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|_| missing())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(missing)
}

/// Says why the command could not run, and exits as a shell would.
fn command_failed(err: &launch::CommandError) -> ExitCode {
    eprintln!(
        "hostscope: {}",
        hostscope_core::escape::escape(err.to_string().as_bytes())
    );
    ExitCode::from(err.status)
}

/// A process's name, escaped for the terminal, or `?` when it is gone.
fn comm_of(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/comm")).map_or_else(
        |_| "?".to_owned(),
        |c| hostscope_core::escape::escape(c.strip_suffix(b"\n").unwrap_or(&c)),
    )
}

/// Waits for our child and returns its wait status.
fn reap(pid: u32) -> i32 {
    let mut status = 0;
    // SAFETY: waits for our own child; status is an int we own.
    unsafe { libc::waitpid(pid as i32, &mut status, 0) };
    status
}

/// A shell's convention: the exit code, or 128 + the signal.
fn exit_status_code(status: i32) -> u8 {
    if libc::WIFSIGNALED(status) {
        (128 + libc::WTERMSIG(status)) as u8
    } else {
        libc::WEXITSTATUS(status) as u8
    }
}
