//! `hostscope why-missing`: which files a program looked for and did not
//! find, and which of those made it fail.
//!
//! Source: the probe in its cheapest mode (no entry program; failed path
//! lookups, the success that ends a search, writes to stderr, forks, execs
//! and exits). Analyses: the enricher (cwd and dirfd resolution) and
//! [`why_missing::Analyzer`]. Sink: the report on stderr (or `-o FILE`) at
//! the end, as text or JSON Lines.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use hostscope_core::analysis::why_missing::{self, Analyzer, Observation};
use hostscope_core::decode::{self, spec};
use hostscope_core::enrich::Enricher;
use hostscope_core::model::{Arch, Event, SyscallEvent};
use hostscope_ebpf::{Deliver, ProbeConfig, SyscallRule};

use crate::args::WhyMissingArgs;
use crate::cmd::UsageError;
use crate::session::{self, Consumer, Target};

/// The errnos of a lookup that did not find, or was not allowed to open,
/// what it named. Others (EEXIST, EBADF, …) are not about a missing file.
pub(crate) const LOOKUP_ERRNOS: &[i32] = &[
    libc::ENOENT,
    libc::ENOTDIR,
    libc::EACCES,
    libc::EPERM,
    libc::ELOOP,
    libc::ENAMETOOLONG,
];

/// Bytes of each write to stderr kept as evidence.
const STDERR_BYTES: u32 = 256;

#[derive(Debug)]
struct Plan {
    target: Target,
    duration: Option<Duration>,
    json: bool,
    verbose: bool,
    output: Option<PathBuf>,
    ring_kib: u32,
}

impl Plan {
    fn from_args(args: &WhyMissingArgs) -> Result<Plan, UsageError> {
        // Children are always followed: a missing file is as often the
        // business of a child (a shell's command, a helper) as of the parent.
        let target = Target::from_flags(&args.command, &args.pids, true, args.all)?;
        if args.duration.is_some() && matches!(target, Target::Command(_)) {
            return Err(UsageError(
                "--duration is for -p and --all; a command is watched until it exits".into(),
            ));
        }
        Ok(Plan {
            target,
            duration: args.duration,
            json: args.json,
            verbose: args.verbose,
            output: args.output.clone(),
            ring_kib: args.ring_kib,
        })
    }

    fn probe_config(&self) -> ProbeConfig {
        let arch = Arch::native();
        let rules = decode::sysno::all(arch)
            .filter_map(|(nr, name)| rule(nr, name))
            .collect();
        ProbeConfig {
            scope: self.target.scope(),
            rules,
            data_bytes: STDERR_BYTES,
            ring_kib: self.ring_kib,
            timed: false,
            lookup_errnos: LOOKUP_ERRNOS,
            exec_records: true,
            live: false,
            oom_records: false,
            fold_repeats: true,
            socket_payload: None,
        }
    }
}

/// What the probe sends for syscall `name`: its path arguments only, never
/// the rest (argv, buffers), to copy as little as possible.
pub(crate) fn rule(nr: u32, name: &str) -> Option<SyscallRule> {
    let mut captures = [hostscope_core::model::Capture::None; 6];
    let deliver = match name {
        // The cwd must be followed to resolve relative paths, so every
        // chdir is sent, failed or not.
        "chdir" | "fchdir" => Deliver::All,
        "connect" | "bind" => {
            captures = spec::captures(name);
            Deliver::Lookup
        }
        "write" => {
            captures = spec::captures(name);
            Deliver::Stderr
        }
        _ if !spec::path_args(name).is_empty() => Deliver::Lookup,
        _ => return None,
    };
    for arg in spec::path_args(name) {
        captures[usize::from(arg.path_arg)] = hostscope_core::model::Capture::Str;
    }
    Some(SyscallRule {
        nr,
        captures,
        at_entry: false,
        noreturn: false,
        deliver,
        replaces_image: matches!(name, "execve" | "execveat"),
        socket_io: None,
    })
}

pub fn run(args: &WhyMissingArgs) -> anyhow::Result<ExitCode> {
    let plan = Plan::from_args(args)?;
    session::block_on(&plan.target, |program| watch(&plan, program))
}

async fn watch(plan: &Plan, program: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    // Opened first: a report that cannot be written should fail before the
    // command runs, not after.
    let mut out: Box<dyn Write> = match &plan.output {
        Some(path) => Box::new(session::create_output(path)?),
        None => Box::new(io::stderr()),
    };
    let color = plan.output.is_none()
        && io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let root = matches!(plan.target, Target::Command(_));
    let mut collector = Collector {
        enricher: Enricher::new(true),
        analyzer: None,
        root,
    };
    let finished = match session::run(
        &plan.target,
        program,
        &plan.probe_config(),
        &mut collector,
        plan.duration,
    )
    .await?
    {
        Ok(finished) => finished,
        Err(code) => return Ok(code),
    };
    if let Err(err) = &finished.stopped {
        anyhow::bail!("{err:#}");
    }
    let lost = finished.losses.events_lost() + finished.malformed;
    let mut analyzer = collector.analyzer.unwrap_or_else(|| Analyzer::new(None));
    if let Some((pid, status)) = finished.child {
        // The exit record can be missed (lost, or the probe detached first);
        // the status from waitpid is the truth.
        analyzer.observe(Observation::Exit {
            ts_ns: 0,
            pid,
            comm: Default::default(),
            wait_status: status,
        });
    }
    let mut report = analyzer.report();
    report.events_lost = lost;
    if plan.json {
        for record in why_missing::render::json_records(&report) {
            serde_json::to_writer(&mut out, &record)?;
            out.write_all(b"\n")?;
        }
    } else {
        out.write_all(why_missing::render::render_text(&report, plan.verbose, color).as_bytes())?;
    }
    out.flush()?;
    Ok(finished.exit_code())
}

/// Turns probe events into the analyzer's observations.
struct Collector {
    enricher: Enricher,
    /// Created at the first watched pid, which is the root when we started
    /// the command.
    analyzer: Option<Analyzer>,
    root: bool,
}

impl Collector {
    fn analyzer(&mut self) -> &mut Analyzer {
        self.analyzer.get_or_insert_with(|| Analyzer::new(None))
    }

    fn syscall(&mut self, ev: &SyscallEvent) {
        let Some((name, path)) = self.enricher.path_of(ev) else {
            return;
        };
        if let Some(observation) = why_missing::observation(&mut self.enricher, ev, name, path) {
            self.analyzer().observe(observation);
        }
    }
}

impl Consumer for Collector {
    fn watch(&mut self, pid: u32) {
        self.enricher.watch(pid);
        if self.analyzer.is_none() {
            self.analyzer = Some(Analyzer::new(self.root.then_some(pid)));
        }
    }

    fn event(&mut self, event: Event) -> io::Result<()> {
        match event {
            Event::Syscall(ev) => self.syscall(&ev),
            Event::Fork(fork) => {
                self.enricher.forked(&fork);
                self.analyzer().observe(Observation::Fork {
                    ts_ns: fork.ts_ns,
                    parent: fork.parent,
                    child: fork.child,
                });
            }
            Event::Exec(exec) => self.analyzer().observe(Observation::Exec {
                ts_ns: exec.ts_ns,
                pid: exec.pid,
                filename: exec.filename,
            }),
            Event::Exit(exit) => {
                self.enricher.exited(&exit);
                self.analyzer().observe(Observation::Exit {
                    ts_ns: exit.ts_ns,
                    pid: exit.pid,
                    comm: exit.comm,
                    wait_status: exit.wait_status,
                });
            }
            Event::Repeat(repeat) => self.analyzer().observe(Observation::Repeat {
                ts_ns: repeat.ts_ns,
                pid: repeat.pid,
                tid: repeat.tid,
                count: repeat.count,
            }),
            // Not asked for.
            Event::Oom(_) | Event::Socket(_) | Event::SocketClosed(_) | Event::SocketOpened(_) => {}
        }
        Ok(())
    }
}
