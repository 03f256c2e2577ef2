//! `hostscope trace`: strace-style syscall tracing through the eBPF probe.
//!
//! Source: the probe (a command we start, pids, or the host). Analyses: the
//! enricher (decoding, path resolution) and the `-c` summary. Sink: text or
//! JSON Lines on stdout or `-o FILE`, and the loss report on stderr.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use hostscope_core::analysis::summary::Summary;
use hostscope_core::decode::{self, expr::SyscallSet};
use hostscope_core::enrich::Enricher;
use hostscope_core::model::{Arch, Event, Losses};
use hostscope_core::output::{json, text};
use hostscope_ebpf::{Deliver, ProbeConfig, SyscallRule};

use crate::args::TraceArgs;
use crate::cmd::UsageError;
use crate::session::{self, Consumer, Target};

/// Syscalls the probe always reports, failed or not, shown or not: path
/// resolution needs them (they change a process's cwd).
const STATE_SYSCALLS: &[&str] = &["chdir", "fchdir"];

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
        let target = Target::from_flags(&args.command, &args.pids, args.follow, args.all)?;
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
            scope: self.target.scope(),
            rules,
            data_bytes: self.data_bytes,
            ring_kib: self.ring_kib,
            timed: true,
            lookup_errnos: &[],
            exec_records: false,
            live: false,
            oom_records: false,
            fold_repeats: false,
            socket_payload: None,
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
        socket_io: None,
    }
}

pub fn run(args: &TraceArgs) -> anyhow::Result<ExitCode> {
    let plan = Plan::from_args(args)?;
    session::block_on(&plan.target, |program| trace(&plan, program))
}

async fn trace(plan: &Plan, program: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let writer: Box<dyn Write> = match &plan.output {
        Some(path) => Box::new(session::create_output(path)?),
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
    let finished =
        match session::run(&plan.target, program, &plan.probe_config(), &mut sink, None).await? {
            Ok(finished) => finished,
            Err(code) => return Ok(code),
        };
    // The loss report is printed whatever happened to the output (a reader
    // that went away, a full disk): it goes to stderr, and is the one thing
    // that says whether the trace is complete.
    let output = finished
        .stopped
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e:#}"))
        .and_then(|_| Ok(sink.finish(finished.delivered, finished.losses)?));
    report_losses(sink.events, finished.losses, finished.malformed);
    output?;
    Ok(finished.exit_code())
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

impl Consumer for Sink {
    fn flush(&mut self) -> io::Result<()> {
        if self.interactive {
            self.out.flush()?;
        }
        Ok(())
    }

    fn watch(&mut self, pid: u32) {
        self.enricher.watch(pid);
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
            Event::Exec(_)
            | Event::Oom(_)
            | Event::Repeat(_)
            | Event::Socket(_)
            | Event::SocketClosed(_)
            | Event::SocketOpened(_) => {}
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
}

impl Sink {
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
