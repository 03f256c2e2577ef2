//! `hostscope chains`: the call chains of requests across the services on
//! this host, from their socket syscalls alone.
//!
//! Source: the probe's socket records (which socket, and the first bytes
//! of each read and write). Analyses: the tracker (connections, protocol
//! detection, request/response pairing) and the linker (hops and chains,
//! the culprit). Sink, on stdout at the end: the chains as trees, or the
//! service map folded from them; as text or as JSON Lines.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use hostscope_core::chains::json::{self, EdgeRecord, SummaryRecord};
use hostscope_core::chains::link::{self, Hop};
use hostscope_core::chains::origin::Origins;
use hostscope_core::chains::track::{Span, Tracker};
use hostscope_core::chains::{Secrets, map, render};
use hostscope_core::decode;
use hostscope_core::model::{Arch, Event};
use hostscope_ebpf::{ProbeConfig, SocketIo, SyscallRule};

use crate::args::ChainsArgs;
use crate::cmd::UsageError;
use crate::session::{self, Consumer, Target};

/// Where the payload of socket syscall `name` is; `None` for a syscall
/// that moves no request bytes.
pub(crate) fn socket_io(name: &str) -> Option<SocketIo> {
    SOCKET_CALLS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, io)| io)
}

/// The probe rules that send socket records: every socket syscall that
/// moves request bytes or opens a connection, as the tracker needs them.
pub(crate) fn socket_rules() -> Vec<SyscallRule> {
    let arch = Arch::native();
    SOCKET_CALLS
        .iter()
        .filter_map(|&(name, io)| Some(SyscallRule::socket(decode::sysno::number(arch, name)?, io)))
        .collect()
}

/// Bytes of each socket read or write copied by default: a request line
/// and its headers, mostly.
pub(crate) const DEFAULT_PAYLOAD: u32 = 512;

/// Requests kept for the chains of one run (a few hundred MiB at most):
/// a busy host watched for long would otherwise hold every request.
const MAX_SPANS: usize = 500_000;

/// The socket syscalls, and where each one's payload is.
const SOCKET_CALLS: &[(&str, SocketIo)] = &[
    ("connect", SocketIo::Connect),
    ("accept", SocketIo::Accept),
    ("accept4", SocketIo::Accept),
    ("read", SocketIo::Buf),
    ("write", SocketIo::Buf),
    ("recvfrom", SocketIo::Buf),
    ("sendto", SocketIo::Buf),
    ("readv", SocketIo::Iov),
    ("writev", SocketIo::Iov),
    ("recvmsg", SocketIo::Msg),
    ("sendmsg", SocketIo::Msg),
];

#[derive(Debug)]
struct Plan {
    target: Target,
    duration: Option<Duration>,
    slow: Option<Duration>,
    errors: bool,
    map: bool,
    json: bool,
    payload: u32,
    ring_kib: u32,
    secrets: Secrets,
}

impl Plan {
    fn from_args(args: &ChainsArgs) -> Result<Plan, UsageError> {
        let target = Target::from_flags(&args.command, &args.pids, true, args.all)?;
        if !(16..=4096).contains(&args.payload) {
            return Err(UsageError(format!(
                "--payload {}: give 16 to 4096 bytes",
                args.payload
            )));
        }
        Ok(Plan {
            target,
            duration: args.duration,
            slow: args.slow,
            errors: args.errors,
            map: args.map,
            json: args.json,
            payload: args.payload,
            ring_kib: args.ring_kib,
            secrets: if args.show_secrets {
                Secrets::Shown
            } else {
                Secrets::Masked
            },
        })
    }

    fn probe_config(&self) -> ProbeConfig {
        ProbeConfig {
            scope: self.target.scope(),
            rules: socket_rules(),
            data_bytes: 0,
            ring_kib: self.ring_kib,
            timed: false,
            lookup_errnos: &[],
            exec_records: false,
            live: false,
            oom_records: false,
            fold_repeats: false,
            socket_payload: Some(self.payload),
        }
    }

    fn keep(&self, hop: &Hop) -> bool {
        (!self.errors || hop.chain_failed())
            && self.slow.is_none_or(|slow| {
                hop.latency_ns()
                    .is_some_and(|ns| ns >= slow.as_nanos() as u64)
            })
    }
}

pub fn run(args: &ChainsArgs) -> anyhow::Result<ExitCode> {
    let plan = Plan::from_args(args)?;
    session::block_on(&plan.target, |program| watch(&plan, program))
}

async fn watch(plan: &Plan, program: Option<std::path::PathBuf>) -> anyhow::Result<ExitCode> {
    let mut collector = Collector {
        tracker: Tracker::new(plan.secrets),
        ..Collector::default()
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
    let watched = collector.since.map_or(Duration::ZERO, |t| t.elapsed());
    let mut spans = collector.spans;
    spans.extend(collector.tracker.unfinished());
    let chains = link::chains(spans);
    let kept: Vec<&Hop> = chains.iter().filter(|c| plan.keep(c)).collect();
    let lost = finished.losses.events_lost();
    let unanswered = collector.tracker.unanswered;
    let mut out = io::stdout().lock();
    if plan.map {
        let edges = map::edges(kept.iter().copied(), watched);
        if plan.json {
            for edge in &edges {
                json::write_record(&mut out, &EdgeRecord::from(edge))?;
            }
        } else {
            out.write_all(map::render_map(&edges).as_bytes())?;
        }
    } else {
        for chain in &kept {
            if plan.json {
                json::write_chain(&mut out, chain)?;
            } else {
                out.write_all(render::render_chain(chain).as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
    }
    if plan.json {
        let summary = SummaryRecord::new(kept.len() as u64, unanswered, lost);
        json::write_record(&mut out, &summary)?;
    }
    out.flush()?;
    eprintln!(
        "hostscope: {} of {} chains {}; {unanswered} requests never answered{}{}",
        kept.len(),
        chains.len(),
        if plan.map { "mapped" } else { "shown" },
        if lost > 0 {
            format!("; {lost} events lost: chains may be incomplete")
        } else {
            String::new()
        },
        if collector.dropped > 0 {
            format!(
                "; {} requests past the first {MAX_SPANS} not kept (watch for less time)",
                collector.dropped
            )
        } else {
            String::new()
        }
    );
    let code = finished.exit_code();
    finished.stopped?;
    Ok(code)
}

impl Collector {
    fn keep(&mut self, mut span: Span) {
        if self.spans.len() < MAX_SPANS {
            self.origins.fill(&mut span);
            self.spans.push(span);
        } else {
            self.dropped += 1;
        }
    }
}

#[derive(Debug, Default)]
struct Collector {
    tracker: Tracker,
    /// Each process's container or unit, read while it runs.
    origins: Origins,
    spans: Vec<Span>,
    /// Spans not kept past [`MAX_SPANS`].
    dropped: u64,
    /// When the probe was attached: the start of the watch, for the map's
    /// rates.
    since: Option<Instant>,
}

impl Consumer for Collector {
    fn event(&mut self, event: Event) -> io::Result<()> {
        match event {
            Event::Socket(call) => {
                for span in self.tracker.observe(&call) {
                    self.keep(span);
                }
            }
            Event::SocketClosed(close) => {
                for span in self.tracker.closed(&close) {
                    self.keep(span);
                }
            }
            Event::SocketOpened(open) => self.tracker.opened(&open),
            _ => {}
        }
        Ok(())
    }

    fn attached(&mut self) -> io::Result<()> {
        self.since = Some(Instant::now());
        Ok(())
    }
}
