//! `hostscope export`: what hostscope sees, to syslog or the journal, as a
//! service rather than a sidecar.
//!
//! Source: the probe over the whole host in its cheapest mode (exit-only;
//! failed path lookups and the success that ends a search; execs, exits;
//! socket records only when requests or chains are asked for). Analyses:
//! the enricher and, one window at a time, why-missing's classification, so
//! that only misses that no later success explained (missing) and refusals
//! (denied) are exported, with their counts; the chains tracker and linker,
//! for failed and slow requests and chains; storms of anything else folded
//! per window. Sinks: one sender per destination, each with its own queue,
//! reconnection and loss count.

use std::collections::HashSet;
use std::io;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime};

use hostscope_core::analysis::why_missing::{self, Analyzer, Observation, ProcessReport};
use hostscope_core::decode;
use hostscope_core::enrich::Enricher;
use hostscope_core::export::format::{self, Format};
use hostscope_core::export::record::{Origin, Record, Severity};
use hostscope_core::export::requests::{self, Requests};
use hostscope_core::export::storm::Storms;
use hostscope_core::export::transport::{Destination, Encode, Sender, Stats};
use hostscope_core::model::{Arch, Event, Losses, ProcessExec, ProcessExit};
use hostscope_ebpf::{ProbeConfig, SyscallRule};

use crate::args::ExportArgs;
use crate::caps;
use crate::cmd::UsageError;
use crate::cmd::chains::{DEFAULT_PAYLOAD, socket_rules};
use crate::cmd::why_missing::{LOOKUP_ERRNOS, rule};
use crate::session::{self, Consumer, Target};

/// The kinds of events `--events` can name.
const KINDS: [&str; 8] = [
    "exec", "exit", "oom", "missing", "denied", "lost", "request", "chain",
];

/// How long a sender may take to deliver its queue at exit.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a sender reports what it dropped, while it drops.
const REPORT_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Plan {
    destinations: Vec<(Destination, Format)>,
    events: HashSet<&'static str>,
    window: Duration,
    slow: Duration,
    queue: usize,
    ring_kib: u32,
}

impl Plan {
    fn from_args(args: &ExportArgs) -> Result<Plan, UsageError> {
        let forced = args
            .format
            .as_deref()
            .map(Format::from_str)
            .transpose()
            .map_err(UsageError)?;
        let destinations = args
            .to
            .iter()
            .map(|url| {
                let destination =
                    Destination::from_str(url).map_err(|e| UsageError(e.to_string()))?;
                if let Destination::Journald(socket) = &destination
                    && !socket.exists()
                {
                    return Err(UsageError(format!(
                        "--to {url}: the journal is not running here ({} does not exist); \
                         send to unix:///dev/log or a syslog server instead",
                        socket.display()
                    )));
                }
                let format = match (&destination, forced) {
                    (Destination::Journald(_), _) => Format::Journald,
                    (_, Some(format)) => format,
                    (Destination::Unix(_), None) => Format::Rfc3164,
                    (_, None) => Format::Rfc5424,
                };
                Ok((destination, format))
            })
            .collect::<Result<Vec<_>, UsageError>>()?;
        let mut events = HashSet::new();
        for name in &args.events {
            let kind = KINDS.iter().find(|k| **k == name.trim()).ok_or_else(|| {
                UsageError(format!(
                    "--events: unknown event \"{name}\" (known: {})",
                    KINDS.join(", ")
                ))
            })?;
            events.insert(*kind);
        }
        if args.queue == 0 {
            return Err(UsageError("--queue must be at least 1".into()));
        }
        Ok(Plan {
            destinations,
            events,
            window: args.window,
            slow: args.slow,
            queue: args.queue,
            ring_kib: args.ring_kib,
        })
    }

    /// Whether socket calls are watched: for requests and chains only.
    fn sockets(&self) -> bool {
        self.events.contains("request") || self.events.contains("chain")
    }

    fn probe_config(&self) -> ProbeConfig {
        let lookups = self.events.contains("missing") || self.events.contains("denied");
        let arch = Arch::native();
        let mut rules: Vec<SyscallRule> = if lookups {
            decode::sysno::all(arch)
                .filter(|(_, name)| *name != "write")
                .filter_map(|(nr, name)| rule(nr, name))
                .collect()
        } else {
            Vec::new()
        };
        if self.sockets() {
            // A syscall has one rule, and a socket rule would replace
            // connect's lookup rule: a service that cannot find its unix
            // socket would no longer be a `missing` record. The tracker
            // does without connect: whoever writes a connection's first
            // request is its client.
            let looked_up: HashSet<u32> = rules.iter().map(|r| r.nr).collect();
            rules.extend(
                socket_rules()
                    .into_iter()
                    .filter(|r| !looked_up.contains(&r.nr)),
            );
        }
        ProbeConfig {
            scope: hostscope_ebpf::Scope::All,
            rules,
            data_bytes: 0,
            ring_kib: self.ring_kib,
            timed: false,
            lookup_errnos: LOOKUP_ERRNOS,
            exec_records: self.events.contains("exec"),
            live: false,
            oom_records: self.events.contains("oom"),
            fold_repeats: false,
            socket_payload: self.sockets().then_some(DEFAULT_PAYLOAD),
        }
    }
}

pub fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let plan = Plan::from_args(args)?;
    session::block_on(&Target::All, |_| export(&plan))
}

async fn export(plan: &Plan) -> anyhow::Result<ExitCode> {
    let origin = Origin {
        hostname: hostname(),
        app_name: "hostscope",
        procid: std::process::id(),
    };
    let senders = plan
        .destinations
        .iter()
        .map(|(destination, format)| {
            let (format, origin) = (*format, origin.clone());
            let encode: Encode = Box::new(move |record, sequence, out| {
                format::encode(format, &origin, record, sequence, out)
            });
            (
                destination.to_string(),
                Sender::start(destination.clone(), encode, plan.queue, REPORT_EVERY),
            )
        })
        .collect();
    let mut exporter = Exporter::new(plan, senders);
    let finished = match session::run(
        &Target::All,
        None,
        &plan.probe_config(),
        &mut exporter,
        None,
    )
    .await?
    {
        Ok(finished) => finished,
        Err(code) => return Ok(code),
    };
    exporter.losses_changed(finished.delivered, finished.losses)?;
    exporter.finish();
    if exporter.requests_dropped > 0 {
        eprintln!(
            "hostscope: {} requests past the first {} of a window were not kept: they are in no request or chain record",
            exporter.requests_dropped,
            Requests::MAX_SPANS
        );
    }
    for (name, sender) in exporter.senders {
        let Stats {
            sent,
            dropped,
            failed,
            reconnects,
        } = sender.close(CLOSE_TIMEOUT);
        eprintln!(
            "hostscope: {name}: {sent} records sent, {dropped} dropped, {failed} lost to write errors, {reconnects} reconnects"
        );
    }
    finished.stopped?;
    Ok(ExitCode::SUCCESS)
}

/// Turns probe events into records and hands them to every sender.
struct Exporter {
    events: HashSet<&'static str>,
    window: Duration,
    enricher: Enricher,
    /// The lookups of the current window, classified when it closes.
    analyzer: Analyzer,
    window_started: Instant,
    /// Requests and chains, when asked for.
    requests: Option<Requests>,
    /// Spans the requests did not keep, over the whole run.
    requests_dropped: u64,
    storms: Storms,
    senders: Vec<(String, Sender)>,
    /// The probe's counters when last reported.
    reported: Losses,
}

impl Exporter {
    fn new(plan: &Plan, senders: Vec<(String, Sender)>) -> Exporter {
        Exporter {
            events: plan.events.clone(),
            window: plan.window,
            enricher: Enricher::new(true),
            analyzer: Analyzer::new(None),
            window_started: Instant::now(),
            requests: plan.sockets().then(|| {
                Requests::new(
                    plan.events.contains("request"),
                    plan.events.contains("chain"),
                    plan.slow,
                    Requests::MAX_SPANS,
                )
            }),
            requests_dropped: 0,
            // A crash loop restarts under a new pid every time, a forking
            // server answers under many: the pid does not make an exec, an
            // exit or a request a different event, nor does a duration.
            storms: Storms::new(plan.window, &["pid", "root_pid", "culprit_pid"])
                .measuring(requests::DURATIONS),
            senders,
            reported: Losses::default(),
        }
    }

    fn send(&self, record: Record) {
        for (_, sender) in &self.senders {
            // A full queue is counted by the sender and reported by it.
            sender.send(record.clone());
        }
    }

    fn offer(&mut self, record: Record, now: Instant) {
        for record in self.storms.offer(record, now) {
            self.send(record);
        }
    }

    fn exec(&mut self, exec: &ProcessExec) {
        let comm = exec.comm;
        let mut message = b"exec ".to_vec();
        message.extend_from_slice(&exec.filename);
        message.extend_from_slice(
            format!(" by {}[{}]", String::from_utf8_lossy(&comm), exec.pid).as_bytes(),
        );
        let record = Record::new(
            unix_time(exec.ts_ns),
            Severity::Informational,
            "exec",
            message,
        )
        .field("pid", exec.pid.to_string())
        .field("comm", comm)
        .field("filename", exec.filename.clone());
        self.offer(record, Instant::now());
    }

    fn exit(&mut self, exit: &ProcessExit) {
        let (severity, how) = match (exit.signal(), exit.code()) {
            (Some(sig), _) => {
                let name = decode::signal_name(sig).map_or_else(|| sig.to_string(), str::to_owned);
                let severity = if matches!(
                    sig,
                    libc::SIGSEGV | libc::SIGABRT | libc::SIGBUS | libc::SIGILL | libc::SIGFPE
                ) {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                (severity, format!("killed by {name}"))
            }
            (None, Some(0)) | (None, None) => (Severity::Informational, "exited with 0".to_owned()),
            (None, Some(code)) => (Severity::Warning, format!("exited with {code}")),
        };
        let mut message = exit.comm.to_vec();
        message.extend_from_slice(format!("[{}] {how}", exit.pid).as_bytes());
        let mut record = Record::new(unix_time(exit.ts_ns), severity, "exit", message)
            .field("pid", exit.pid.to_string())
            .field("comm", exit.comm);
        record = match (exit.signal(), exit.code()) {
            (Some(sig), _) => record.field("signal", sig.to_string()),
            (None, code) => record.field("code", code.unwrap_or(0).to_string()),
        };
        self.offer(record, Instant::now());
    }

    /// Ends the current window: what its lookups found missing or denied
    /// goes out, one record per entry with its count, and so do the
    /// requests and chains complete by now.
    fn close_window(&mut self, now: Instant) {
        self.window_started = now;
        self.close_lookups();
        if let Some(requests) = &mut self.requests {
            for record in requests.close_window() {
                self.offer(record, now);
            }
        }
        self.report_dropped();
    }

    /// At exit: the last window, every request and chain held, and the
    /// storms' summaries.
    fn finish(&mut self) {
        let now = Instant::now();
        self.close_lookups();
        if let Some(requests) = &mut self.requests {
            for record in requests.finish() {
                self.offer(record, now);
            }
        }
        self.report_dropped();
        for record in self.storms.flush() {
            self.send(record);
        }
    }

    fn close_lookups(&mut self) {
        let analyzer = std::mem::replace(&mut self.analyzer, Analyzer::new(None));
        let report = analyzer.report();
        for process in &report.processes {
            for record in lookup_records(process, &self.events, self.window) {
                self.send(record);
            }
        }
    }

    /// Says how many requests were not kept since the last window.
    fn report_dropped(&mut self) {
        let dropped = self.requests.as_mut().map_or(0, Requests::take_dropped);
        self.requests_dropped += dropped;
        if dropped == 0 || !self.events.contains("lost") {
            return;
        }
        let message = format!(
            "hostscope dropped {dropped} requests past the first {} of a window: they are in no request or chain record (a shorter --window keeps more per second)",
            Requests::MAX_SPANS
        );
        let record = Record::new(SystemTime::now(), Severity::Warning, "lost", message)
            .field("requests_dropped", dropped.to_string());
        self.send(record);
    }
}

impl Consumer for Exporter {
    fn event(&mut self, event: Event) -> io::Result<()> {
        match event {
            Event::Syscall(ev) => {
                if let Some((name, path)) = self.enricher.path_of(&ev)
                    && let Some(observation @ Observation::Lookup(_)) =
                        why_missing::observation(&mut self.enricher, &ev, name, path)
                {
                    self.analyzer.observe(observation);
                }
            }
            Event::Fork(fork) => {
                self.enricher.forked(&fork);
                self.analyzer.observe(Observation::Fork {
                    ts_ns: fork.ts_ns,
                    parent: fork.parent,
                    child: fork.child,
                });
            }
            Event::Exec(exec) => {
                if self.events.contains("exec") {
                    self.exec(&exec);
                }
                self.analyzer.observe(Observation::Exec {
                    ts_ns: exec.ts_ns,
                    pid: exec.pid,
                    filename: exec.filename,
                });
            }
            Event::Socket(call) => {
                if let Some(requests) = &mut self.requests {
                    requests.observe(&call);
                }
            }
            Event::SocketClosed(close) => {
                if let Some(requests) = &mut self.requests {
                    requests.closed(&close);
                }
            }
            Event::SocketOpened(open) => {
                if let Some(requests) = &mut self.requests {
                    requests.opened(&open);
                }
            }
            // Not asked for (the analyzer of a window folds repeats itself).
            Event::Repeat(_) => {}
            Event::Oom(oom) => {
                let mut message = oom.comm.to_vec();
                message.extend_from_slice(
                    format!(
                        "[{}] killed by the OOM killer (memory needed by pid {})",
                        oom.pid, oom.trigger
                    )
                    .as_bytes(),
                );
                let record = Record::new(unix_time(oom.ts_ns), Severity::Error, "oom", message)
                    .field("pid", oom.pid.to_string())
                    .field("comm", oom.comm)
                    .field("uid", oom.uid.to_string())
                    .field("trigger", oom.trigger.to_string());
                self.offer(record, Instant::now());
            }
            Event::Exit(exit) => {
                self.enricher.exited(&exit);
                if self.events.contains("exit") {
                    self.exit(&exit);
                }
                self.analyzer.observe(Observation::Exit {
                    ts_ns: exit.ts_ns,
                    pid: exit.pid,
                    comm: exit.comm,
                    wait_status: exit.wait_status,
                });
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        let now = Instant::now();
        // Summaries before a new window's records: a storm opened at the
        // last close then counts that window's repeats alone, and the new
        // window's first occurrence goes out at once.
        for record in self.storms.due(now) {
            self.send(record);
        }
        if now.duration_since(self.window_started) >= self.window.max(Duration::from_secs(1)) {
            self.close_window(now);
        }
        Ok(())
    }

    fn losses_changed(&mut self, _delivered: u64, losses: Losses) -> io::Result<()> {
        let before = self.reported;
        self.reported = losses;
        if !self.events.contains("lost") {
            return Ok(());
        }
        let lost = losses.events_lost().saturating_sub(before.events_lost());
        let truncated = losses.truncated.saturating_sub(before.truncated);
        if lost == 0 && truncated == 0 {
            return Ok(());
        }
        let message = format!(
            "hostscope's probe lost {lost} events (ring buffer full: raise its size, or export fewer kinds) and cut {truncated} strings"
        );
        let record = Record::new(SystemTime::now(), Severity::Warning, "lost", message)
            .field("lost", lost.to_string())
            .field("truncated", truncated.to_string());
        self.send(record);
        Ok(())
    }

    fn attached(&mut self) -> io::Result<()> {
        // Loading needed CAP_BPF, CAP_PERFMON and more; reading the probe's
        // counters, /proc and the files why-missing inspects needs only
        // these.
        caps::keep_only(&[
            caps::CAP_BPF,
            caps::CAP_SYS_PTRACE,
            caps::CAP_DAC_READ_SEARCH,
        ])
    }
}

/// The records of one process's window: missing entries and denials.
fn lookup_records(
    process: &ProcessReport,
    events: &HashSet<&'static str>,
    window: Duration,
) -> Vec<Record> {
    let mut out = Vec::new();
    let secs = window.as_secs_f64();
    let by = |comm: &[u8], pid: u32| format!("{}[{pid}]", String::from_utf8_lossy(comm));
    if events.contains("missing") {
        for m in &process.missing {
            let last = m.last();
            let errno = decode::errno::name(last.errno).unwrap_or("?");
            let mut message = format!("{errno} ").into_bytes();
            message.extend_from_slice(last.place());
            message.extend_from_slice(
                format!("{} by {}", times(m.count, secs), by(&m.comm, m.pid)).as_bytes(),
            );
            if m.places.len() > 1 {
                message.extend_from_slice(
                    format!(" (looked in {} places)", m.places.len()).as_bytes(),
                );
            }
            let mut record =
                Record::new(unix_time(m.last_ts), Severity::Warning, "missing", message)
                    .field("pid", m.pid.to_string())
                    .field("comm", m.comm)
                    .field("syscall", last.syscall)
                    .field("errno", errno)
                    .field("path", last.place().to_vec())
                    .field("count", m.count.to_string())
                    .field("places", m.places.len().to_string());
            if let Some(cause) = &m.cause {
                record = record.field("cause", cause.describe());
            }
            out.push(record);
        }
    }
    if events.contains("denied") {
        for d in &process.denied {
            let a = &d.attempt;
            let errno = decode::errno::name(a.errno).unwrap_or("?");
            let mut message = format!("{errno} ").into_bytes();
            message.extend_from_slice(a.place());
            message.extend_from_slice(
                format!(
                    "{} by {}: {}",
                    times(a.count, secs),
                    by(&d.comm, d.pid),
                    d.denial.describe(a.uid, a.gid)
                )
                .as_bytes(),
            );
            out.push(
                Record::new(unix_time(a.last_ts), Severity::Warning, "denied", message)
                    .field("pid", d.pid.to_string())
                    .field("comm", d.comm)
                    .field("syscall", a.syscall)
                    .field("errno", errno)
                    .field("path", a.place().to_vec())
                    .field("uid", a.uid.to_string())
                    .field("count", a.count.to_string()),
            );
        }
    }
    out
}

/// " x1000 in 10 s" for a repeat, nothing for a single occurrence.
fn times(count: u64, secs: f64) -> String {
    if count > 1 {
        format!(" x{count} in {secs} s")
    } else {
        String::new()
    }
}

fn unix_time(ts_ns: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_nanos(ts_ns)
}

fn hostname() -> String {
    String::from_utf8_lossy(&hostscope_core::host::hostname()).into_owned()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command};

    fn plan(args: &[&str]) -> Plan {
        let cli = Cli::try_parse_from(["hostscope", "export"].iter().chain(args))
            .expect("valid arguments");
        let Command::Export(args) = cli.command else {
            panic!("not export")
        };
        Plan::from_args(&args).expect("a plan")
    }

    fn rule_of<'a>(config: &'a ProbeConfig, name: &str) -> Option<&'a SyscallRule> {
        let nr = decode::sysno::number(Arch::native(), name).expect("a syscall");
        config.rules.iter().find(|r| r.nr == nr)
    }

    #[test]
    fn socket_capture_is_only_for_requests_and_chains_and_connect_stays_a_lookup() {
        let default = plan(&[]);
        assert_eq!(default.slow, Duration::from_secs(1));
        let default = default.probe_config();
        assert_eq!(default.socket_payload, None, "socket capture is opt-in");
        assert!(default.rules.iter().all(|r| r.socket_io.is_none()));

        let chains = plan(&["--events", "chain", "--slow", "250ms"]);
        assert_eq!(chains.slow, Duration::from_millis(250));
        let config = chains.probe_config();
        assert_eq!(config.socket_payload, Some(DEFAULT_PAYLOAD));
        assert_eq!(config.rules, socket_rules(), "as hostscope chains asks");

        let both = plan(&["--events", "missing,request"]).probe_config();
        let socket = |name| rule_of(&both, name).and_then(|r| r.socket_io);
        assert!(socket("read").is_some() && socket("sendmsg").is_some());
        assert!(
            rule_of(&both, "connect").is_some() && socket("connect").is_none(),
            "a failed connect to a unix socket path is still a lookup"
        );
        let nrs: HashSet<u32> = both.rules.iter().map(|r| r.nr).collect();
        assert_eq!(nrs.len(), both.rules.len(), "one rule per syscall");
    }
}
