//! `hostscope trace`: strace-style syscall tracing through the eBPF probe.
//!
//! Source: the probe (a command we start, pids, or the host). Analyses: the
//! enricher (decoding, path resolution) and the `-c` summary. Sink: text or
//! JSON Lines on stdout or `-o FILE`, and the loss report on stderr.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use hostscope_core::analysis::summary::Summary;
use hostscope_core::decode::{self, expr::SyscallSet};
use hostscope_core::enrich::Enricher;
use hostscope_core::model::{Arch, Event, Losses};
use hostscope_core::output::{json, text};
use hostscope_ebpf::{Deliver, EventStream, Probe, ProbeConfig, Scope, SyscallRule};
use tokio::io::unix::AsyncFd;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::args::TraceArgs;
use crate::cmd::UsageError;
use crate::launch;

/// Syscalls the probe always reports, failed or not, shown or not: path
/// resolution needs them (they change a process's cwd).
const STATE_SYSCALLS: &[&str] = &["chdir", "fchdir"];

/// What to trace, validated.
#[derive(Debug)]
enum Target {
    Command(Vec<OsString>),
    Pids { pids: Vec<u32>, follow: bool },
    All,
}

#[derive(Debug)]
struct Plan {
    target: Target,
    shown: SyscallSet,
    failed_only: bool,
    summary: bool,
    json: bool,
    output: Option<PathBuf>,
    data_bytes: u32,
    ring_kib: u32,
}

impl Plan {
    fn from_args(args: &TraceArgs) -> Result<Plan, UsageError> {
        let arch = Arch::native();
        let target = match (args.command.is_empty(), args.pids.is_empty(), args.all) {
            (false, true, false) => Target::Command(args.command.clone()),
            (true, false, false) => Target::Pids {
                pids: args
                    .pids
                    .iter()
                    .map(|&p| thread_group_of(p))
                    .collect::<Result<_, _>>()?,
                follow: args.follow,
            },
            (true, true, true) => Target::All,
            (true, true, false) => {
                return Err(UsageError(
                    "nothing to trace: give a command after --, -p PID, or --all".into(),
                ));
            }
            _ => {
                return Err(UsageError(
                    "give only one of: a command after --, -p PID, --all".into(),
                ));
            }
        };
        let mut shown = SyscallSet::all(arch);
        for expr in &args.expr {
            shown = decode::expr::parse_trace_expr(expr, arch)
                .map_err(|e| UsageError(format!("bad -e expression: {e}")))?;
        }
        Ok(Plan {
            target,
            shown,
            failed_only: args.failed_only,
            summary: args.summary,
            json: args.json,
            output: args.output.clone(),
            data_bytes: args.string_limit,
            ring_kib: args.ring_kib,
        })
    }

    fn probe_config(&self) -> ProbeConfig {
        let arch = Arch::native();
        let state = STATE_SYSCALLS
            .iter()
            .filter_map(|name| decode::sysno::number(arch, name));
        let mut numbers: Vec<u32> = self.shown.iter().chain(state).collect();
        numbers.sort_unstable();
        numbers.dedup();
        let rules = numbers
            .into_iter()
            .filter_map(|nr| {
                let name = decode::sysno::name(arch, nr)?;
                // State syscalls are needed whether they fail or not; -Z is
                // applied to them in user space.
                let failed_only = self.failed_only && !STATE_SYSCALLS.contains(&name);
                Some(rule(nr, name, failed_only))
            })
            .collect();
        ProbeConfig {
            scope: match self.target {
                Target::All => Scope::All,
                _ => Scope::Pids,
            },
            rules,
            data_bytes: self.data_bytes,
            ring_kib: self.ring_kib,
            timed: true,
            lookup_errnos: &[],
            exec_records: false,
        }
    }
}

fn rule(nr: u32, name: &str, failed_only: bool) -> SyscallRule {
    SyscallRule {
        nr,
        captures: decode::spec::captures(name),
        at_entry: decode::spec::captured_at_entry(name),
        noreturn: decode::spec::never_returns(name),
        deliver: if failed_only {
            Deliver::Failed
        } else {
            Deliver::All
        },
        replaces_image: false,
    }
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

pub fn run(args: &TraceArgs) -> anyhow::Result<ExitCode> {
    let plan = Plan::from_args(args)?;
    hostscope_ebpf::check_privileges()?;
    let program = match &plan.target {
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
    runtime.block_on(trace(plan, program))
}

async fn trace(plan: Plan, program: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let mut signals = StopSignals::catch()?;
    let mut probe = Probe::load(&plan.probe_config())?;
    let mut stream = probe.events()?;
    let writer: Box<dyn Write> = match &plan.output {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("could not create {}", path.display()))?,
        ),
        None => Box::new(io::stdout()),
    };
    let interactive = plan.output.is_none() && io::stdout().is_terminal();
    let mut sink = Sink {
        out: BufWriter::with_capacity(1 << 16, writer),
        interactive,
        json: plan.json,
        failed_only: plan.failed_only,
        shown: plan.shown.clone(),
        summary: plan.summary.then(Summary::default),
        // Only JSON records show resolved paths.
        enricher: Enricher::new(plan.json && !plan.summary),
        line: String::new(),
        events: 0,
    };

    let mut child = None;
    let mut watched = Vec::new();
    match &plan.target {
        Target::Command(argv) => {
            let program = program.expect("resolved before the probe was loaded");
            let mut launched = launch::fork_waiting(&program, argv)?;
            probe.trace_pid(launched.pid, true)?;
            sink.enricher.watch(launched.pid);
            let pidfd = pidfd(launched.pid).context("could not watch the command")?;
            if let Err(err) = launched.release(&program) {
                reap(launched.pid);
                return Ok(command_failed(&err));
            }
            child = Some(launched.pid);
            watched.push(pidfd);
        }
        Target::Pids { pids, follow } => {
            for &pid in pids {
                probe.trace_pid(pid, *follow)?;
                sink.enricher.watch(pid);
                // A process that is already gone needs no watching.
                if let Ok(fd) = pidfd(pid) {
                    watched.push(fd);
                }
                eprintln!("hostscope: attached to process {pid} ({})", comm_of(pid));
            }
        }
        Target::All => eprintln!("hostscope: attached to every process on the host"),
    }

    let stopped = run_loop(
        &mut signals,
        &mut probe,
        &mut stream,
        &mut sink,
        watched,
        child,
    )
    .await;
    // The loss report is printed whatever happened to the output (a reader
    // that went away, a full disk): it goes to stderr, and is the one thing
    // that says whether the trace is complete.
    let output = stopped.and_then(|stop| {
        sink.drain(&mut stream)?;
        Ok(stop)
    });
    let losses = probe.losses()?;
    let delivered = probe.delivered()?;
    let output = output.and_then(|stop| {
        sink.finish(delivered, losses)?;
        Ok(stop)
    });
    report_losses(sink.events, losses, stream.malformed());
    let stopped = output?;
    let status = child.map(reap);

    Ok(match (status, stopped) {
        (Some(status), _) => ExitCode::from(exit_status_code(status)),
        (None, Stop::Signal(sig)) if sig == libc::SIGINT => ExitCode::from(130),
        _ => ExitCode::SUCCESS,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    TargetsExited,
    Signal(i32),
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

async fn run_loop(
    signals: &mut StopSignals,
    probe: &mut Probe,
    stream: &mut EventStream,
    sink: &mut Sink,
    watched: Vec<AsyncFd<OwnedFd>>,
    child: Option<u32>,
) -> anyhow::Result<Stop> {
    let mut tick = tokio::time::interval(EventStream::POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let has_targets = !watched.is_empty();
    let exited = all_readable(watched);
    tokio::pin!(exited);
    let mut last_losses = Losses::default();
    let mut last_check = Instant::now();
    let mut stop = None;
    let mut deadline = None;
    loop {
        tokio::select! {
            r = stream.readable() => {
                r?;
                sink.drain(stream)?;
            }
            _ = tick.tick() => {
                sink.drain(stream)?;
                if last_check.elapsed() >= Duration::from_secs(1) {
                    last_check = Instant::now();
                    let losses = probe.losses()?;
                    if losses != last_losses {
                        sink.losses_changed(probe.delivered()?, losses)?;
                        last_losses = losses;
                    }
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(stop.unwrap_or(Stop::TargetsExited));
                }
            }
            () = &mut exited, if has_targets => return Ok(stop.unwrap_or(Stop::TargetsExited)),
            _ = signals.int.recv() => stop = Some(Stop::Signal(libc::SIGINT)),
            _ = signals.term.recv() => stop = Some(Stop::Signal(libc::SIGTERM)),
            _ = signals.hup.recv() => stop = Some(Stop::Signal(libc::SIGHUP)),
        }
        if let Some(Stop::Signal(sig)) = stop {
            match child {
                // The command gets the signal too (a terminal's Ctrl-C reaches
                // it anyway); we keep tracing until it is gone, for a while.
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

struct Sink {
    out: BufWriter<Box<dyn Write>>,
    interactive: bool,
    json: bool,
    failed_only: bool,
    shown: SyscallSet,
    summary: Option<Summary>,
    enricher: Enricher,
    /// The text line being written, reused so that a line allocates nothing.
    line: String,
    events: u64,
}

impl Sink {
    fn drain(&mut self, stream: &mut EventStream) -> io::Result<()> {
        let mut result = Ok(());
        stream.drain(|event| {
            if result.is_ok() {
                result = self.event(event);
            }
        });
        result?;
        if self.interactive {
            self.out.flush()?;
        }
        Ok(())
    }

    fn event(&mut self, event: Event) -> io::Result<()> {
        match event {
            Event::Syscall(ev) => {
                let call = self.enricher.call(&ev);
                if !self.shown.contains(ev.nr) || (self.failed_only && ev.errno().is_none()) {
                    return Ok(());
                }
                self.events += 1;
                if let Some(summary) = &mut self.summary {
                    summary.add(
                        &call.decoded.name,
                        ev.errno().is_some(),
                        ev.duration_ns.unwrap_or(0),
                    );
                } else if self.json {
                    serde_json::to_writer(&mut self.out, &json::SyscallRecord::from(&call))?;
                    self.out.write_all(b"\n")?;
                } else {
                    self.line.clear();
                    text::push_syscall_line(&mut self.line, &call);
                    self.line.push('\n');
                    self.out.write_all(self.line.as_bytes())?;
                }
            }
            Event::Fork(fork) => self.enricher.forked(&fork),
            // Not asked for: the joined execve record says the same.
            Event::Exec(_) => {}
            Event::Exit(exit) => {
                self.enricher.exited(&exit);
                if self.summary.is_some() {
                    return Ok(());
                }
                if self.json {
                    serde_json::to_writer(&mut self.out, &json::ExitRecord::from(&exit))?;
                    self.out.write_all(b"\n")?;
                } else {
                    writeln!(self.out, "{}", text::exit_line(&exit))?;
                }
            }
        }
        Ok(())
    }

    fn losses_changed(&mut self, delivered: u64, losses: Losses) -> io::Result<()> {
        if self.json {
            serde_json::to_writer(&mut self.out, &json::LostRecord::new(delivered, losses))?;
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn finish(&mut self, delivered: u64, losses: Losses) -> io::Result<()> {
        if let Some(summary) = &self.summary {
            self.out.write_all(summary.render().as_bytes())?;
        } else if self.json {
            serde_json::to_writer(&mut self.out, &json::LostRecord::new(delivered, losses))?;
            self.out.write_all(b"\n")?;
        }
        self.out.flush()
    }
}

/// The loss report, always on stderr, so that a piped or redirected trace
/// can never hide that it is incomplete.
fn report_losses(events: u64, l: Losses, malformed: u64) {
    let mut line = format!("hostscope: {events} events");
    let lost = l.events_lost() + malformed;
    if lost == 0 {
        line.push_str(", none lost");
    } else {
        line.push_str(&format!(
            "; LOST {lost}: ring buffer full {}, no kernel memory for tracing state {}",
            l.ring_full, l.table_full
        ));
        if malformed > 0 {
            line.push_str(&format!(", undecodable {malformed}"));
        }
    }
    if l.truncated + l.unreadable > 0 {
        line.push_str(&format!(
            "; shortened: {} truncated at the size limit, {} unreadable",
            l.truncated, l.unreadable
        ));
    }
    if l.unmatched_exit > 0 {
        line.push_str(&format!(
            "; {} already in progress when tracing began (shown without duration)",
            l.unmatched_exit
        ));
    }
    eprintln!("{line}");
}
