//! `cargo xtask bench export`: what shipping the host's events to syslog
//! costs, and what folding storms saves.
//!
//! `hostscope export` runs as a service on the host it watches, so the
//! figures that matter are how many records per second it gets to a real
//! receiver, the CPU time it spends per 10,000 events, and how much it slows
//! the processes that make those events. The receiver is a real rsyslogd,
//! started on a free loopback port in a scratch directory (never the host's
//! own), with imtcp and a `%rawmsg%` template; a fresh one per setup, so
//! that each run's records and rsyslogd's CPU time are its own.
//!
//! Three storms, each timed with no export (the anchor), with aggregation
//! off (`--window 0s`) and with it on (`--window 10s`):
//! - N execs of `/bin/true` from one shell loop (`--events exec`): the
//!   throughput storm, one record per event when folding is off;
//! - M failed opens of the same missing file from one process (`--events
//!   missing`), the C loop of `bench trace`, which times its own loop;
//! - a crash loop, K runs of `sh -c 'exit 1'` (`--events exit`).
//!
//! What aggregation folds differs by kind. Execs, exits and OOM kills go
//! through `Storms`: the first record of a kind with the same fields (the
//! pid aside: a crash loop restarts under a new pid) is sent at once, its
//! repeats within the window become one summary with a count when the
//! window closes; `--window 0s` sends every record. Missing and denied
//! files are folded before that, by why-missing's analyzer, which reports
//! one record per process and path with a count for each window of
//! lookups; `--window 0s` still closes that window every second
//! (`Exporter::flush`), so the miss storm gives a record per second with
//! folding "off", not a record per miss. And an exec record's `comm` is
//! read from /proc when the record is made: most `/bin/true`s are gone by
//! then and have none, so the exec storm folds into two records per window
//! and name (`true` and empty) rather than one.
//!
//! Every export also has `lost` on, so that probe losses (ring buffer full)
//! reach rsyslog as records and are shown, and a 100,000-record queue, so
//! that the sender's drops do not stand in for its speed (they are shown
//! too). Export's CPU time is counted from the moment it says it is
//! attached (loading the probe is a one-off) until rsyslog has stopped
//! receiving, just before SIGTERM; rsyslogd's CPU time over the same
//! stretch is the anchor it is compared with.
//!
//! Rounds outside, setups inside, as in `bench trace`; for each setup the
//! median workload time is reported, with the other figures of the run
//! closest to it.

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use super::workload::{FAILED_OPENAT, Workload};
use super::{
    build_hostscope, compile_c, cpu_ticks, median_run, read_or_empty, terminate, ticks_per_second,
    workspace_root,
};

/// The path the miss storm fails to open (see [`FAILED_OPENAT`]).
const MISSING_PATH: &str = "/nonexistent/hostscope-bench";
/// Records each export may queue before it drops.
const QUEUE: &str = "100000";
/// The window with aggregation on: export's default.
const FOLD_WINDOW: &str = "10s";
/// rsyslog's output is taken as complete when it has not grown for this
/// long: longer than export's 1 s window of lookups.
const QUIET: Duration = Duration::from_secs(2);
/// The longest wait for rsyslog's output to stop growing.
const SETTLE_LIMIT: Duration = Duration::from_secs(120);
/// How long export and rsyslogd get to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long export gets to flush and exit on SIGTERM (it gives its
/// senders 5 s), and rsyslogd to exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Options of `bench export`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Execs of `/bin/true` in the throughput storm.
    pub events: u64,
    /// Failed opens in the miss storm.
    pub misses: u64,
    /// Runs of `sh -c 'exit 1'` in the crash loop.
    pub loops: u64,
    /// Runs per setup; the median is reported.
    pub runs: usize,
}

impl Options {
    pub fn parse(args: &[&str]) -> Result<Options> {
        let mut options = Options {
            events: 20_000,
            misses: 100_000,
            loops: 5_000,
            runs: 3,
        };
        let mut it = args.iter();
        while let Some(&flag) = it.next() {
            let value = it.next().with_context(|| format!("{flag} needs a value"))?;
            match flag {
                "--events" => options.events = value.parse().context("--events")?,
                "--misses" => options.misses = value.parse().context("--misses")?,
                "--loops" => options.loops = value.parse().context("--loops")?,
                "--runs" => options.runs = value.parse().context("--runs")?,
                other => bail!("unknown option {other}"),
            }
        }
        ensure!(
            options.events >= 1 && options.misses >= 1 && options.loops >= 1,
            "--events, --misses and --loops must be at least 1"
        );
        ensure!(options.runs >= 1, "--runs must be at least 1");
        Ok(options)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storm {
    Execs,
    Misses,
    CrashLoop,
}

impl Storm {
    fn title(self, options: &Options) -> String {
        match self {
            Storm::Execs => format!(
                "{} execs of /bin/true from one shell loop (--events exec)",
                options.events
            ),
            Storm::Misses => format!(
                "{} failed opens of {MISSING_PATH} from one process (--events missing)",
                options.misses
            ),
            Storm::CrashLoop => format!(
                "crash loop: {} runs of sh -c 'exit 1' (--events exit)",
                options.loops
            ),
        }
    }

    /// How many events the workload makes.
    fn size(self, options: &Options) -> u64 {
        match self {
            Storm::Execs => options.events,
            Storm::Misses => options.misses,
            Storm::CrashLoop => options.loops,
        }
    }

    /// The kind exported, as `--events` and the MSGID name it.
    fn kind(self) -> &'static str {
        match self {
            Storm::Execs => "exec",
            Storm::Misses => "missing",
            Storm::CrashLoop => "exit",
        }
    }

    /// Whether a record is one of the storm's, not of the rest of the host.
    fn matches(self, line: &Line) -> bool {
        line.msgid() == Some(self.kind())
            && match self {
                Storm::Execs => line.param("filename") == Some("/bin/true"),
                Storm::Misses => line.0.contains(MISSING_PATH),
                Storm::CrashLoop => {
                    line.param("comm") == Some("sh") && line.param("code") == Some("1")
                }
            }
    }

    /// Runs the workload and returns how long it took, in nanoseconds.
    fn run(self, options: &Options, openat_loop: &Path) -> Result<f64> {
        match self {
            Storm::Execs => shell_loop("/bin/true", options.events),
            Storm::Misses => Workload::start(openat_loop, options.misses)?.run(),
            Storm::CrashLoop => shell_loop("sh -c 'exit 1'", options.loops),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    NoExport,
    Off,
    On,
}

impl Setup {
    fn label(self) -> String {
        match self {
            Setup::NoExport => "no export".to_owned(),
            Setup::Off => "--window 0s (off)".to_owned(),
            Setup::On => format!("--window {FOLD_WINDOW} (on)"),
        }
    }

    fn window(self) -> Option<&'static str> {
        match self {
            Setup::NoExport => None,
            Setup::Off => Some("0s"),
            Setup::On => Some(FOLD_WINDOW),
        }
    }
}

/// One measured run.
#[derive(Debug)]
struct Run {
    workload_ns: f64,
    /// None for the run without export.
    export: Option<Exported>,
}

/// What an export did in one run.
#[derive(Debug)]
struct Exported {
    /// The storm's records that reached rsyslog.
    records: u64,
    /// The storm's events those records stand for: 1 for a plain record,
    /// its count for a missing record, its count less the first (sent on
    /// its own) for a storm summary.
    accounted: u64,
    /// Events the probe lost, summed from the `lost` records.
    probe_lost: u64,
    /// Export's CPU time from attach to just before SIGTERM.
    cpu_ms: f64,
    /// rsyslogd's over the workload and the delivery of its records.
    rsyslogd_ms: f64,
    /// From export's own report at exit; None if it printed none.
    stats: Option<SenderStats>,
}

/// `N records sent, D dropped, F lost to write errors, R reconnects`.
#[derive(Debug, Clone, Copy)]
struct SenderStats {
    sent: u64,
    dropped: u64,
    failed: u64,
}

pub fn run(options: &Options) -> Result<()> {
    if cfg!(debug_assertions) {
        // Timing the bench's own bookkeeping unoptimized would add noise to
        // the wall times: measure from a release build, as bench top does.
        let status = Command::new(env!("CARGO"))
            .args(["run", "--quiet", "--release", "--package", "xtask", "--"])
            .args(["bench", "export"])
            .args(["--events", &options.events.to_string()])
            .args(["--misses", &options.misses.to_string()])
            .args(["--loops", &options.loops.to_string()])
            .args(["--runs", &options.runs.to_string()])
            .current_dir(workspace_root())
            .status()
            .context("run cargo run --release")?;
        ensure!(
            status.success(),
            "the release build of the benchmark failed"
        );
        return Ok(());
    }
    let hostscope = build_hostscope()?;
    let openat_loop = compile_c("openat_loop", FAILED_OPENAT)?;
    let scratch = Scratch::new()?;
    let hz = ticks_per_second()?;
    println!(
        "bench export: hostscope export over TCP (RFC 5424, octet counting) to a private \
         rsyslogd on 127.0.0.1, --queue {QUEUE}, median of {} runs\n",
        options.runs
    );
    for storm in [Storm::Execs, Storm::Misses, Storm::CrashLoop] {
        println!("{}", storm.title(options));
        let mut results: Vec<(Setup, Vec<Run>)> = [Setup::NoExport, Setup::Off, Setup::On]
            .iter()
            .map(|&s| (s, Vec::new()))
            .collect();
        // Rounds outside, setups inside: every setup sees the same
        // stretches of the machine's noise.
        for round in 0..options.runs {
            for (setup, runs) in &mut results {
                let dir = scratch
                    .0
                    .join(format!("{storm:?}-{setup:?}-{round}").to_lowercase());
                let run = measure(storm, *setup, options, &hostscope, &openat_loop, &dir, hz)
                    .with_context(|| format!("{}, {}", storm.kind(), setup.label()))?;
                runs.push(run);
            }
        }
        let medians: Vec<(Setup, f64, &Run)> = results
            .iter()
            .map(|(setup, runs)| {
                let (ns, mid) = median_run(runs, |r| r.workload_ns);
                (*setup, ns, mid)
            })
            .collect();
        print_table(storm, options, &medians);
    }
    println!(
        "(records: the storm's records at rsyslog; accounted: the events they stand for, \
         counts of folded records included; CPU ms: export's, from attach until rsyslog stopped \
         receiving; ms/10k ev and ms/10k rec: that per 10,000 events of the storm and per \
         10,000 records received; rsyslogd ms: the receiver's CPU over the same stretch; \
         drop/fail: records export dropped from its queue / lost to write errors; probe lost: \
         events the probe's ring buffer lost)"
    );
    Ok(())
}

fn measure(
    storm: Storm,
    setup: Setup,
    options: &Options,
    hostscope: &Path,
    openat_loop: &Path,
    dir: &Path,
    hz: f64,
) -> Result<Run> {
    let mut rsyslog = Rsyslog::start(dir)?;
    let export = match setup.window() {
        None => None,
        Some(window) => Some(Export::start(
            hostscope,
            rsyslog.port,
            &format!("{},lost", storm.kind()),
            window,
            &dir.join("export.stderr"),
        )?),
    };
    let Some(mut export) = export else {
        return Ok(Run {
            workload_ns: storm.run(options, openat_loop)?,
            export: None,
        });
    };
    let export_start = cpu_ticks(export.pid())?;
    let rsyslogd_start = cpu_ticks(rsyslog.pid())?;
    let workload_ns = storm.run(options, openat_loop)?;
    rsyslog.settle()?;
    let export_ticks = cpu_ticks(export.pid())?.saturating_sub(export_start);
    let stderr = export.stop()?;
    // What export flushed at exit (open storm windows) arrives now.
    rsyslog.settle()?;
    let rsyslogd_ticks = cpu_ticks(rsyslog.pid())?.saturating_sub(rsyslogd_start);
    rsyslog.stop();
    let lines = rsyslog.lines()?;

    let mut exported = Exported {
        records: 0,
        accounted: 0,
        probe_lost: 0,
        cpu_ms: export_ticks as f64 / hz * 1e3,
        rsyslogd_ms: rsyslogd_ticks as f64 / hz * 1e3,
        stats: parse_stats(&stderr),
    };
    for line in &lines {
        if storm.matches(line) {
            exported.records += 1;
            let count = line.param("count").and_then(|c| c.parse::<u64>().ok());
            exported.accounted += match (count, line.param("window_s")) {
                (Some(count), Some(_)) => count.saturating_sub(1),
                (Some(count), None) => count,
                (None, _) => 1,
            };
        } else if line.msgid() == Some("lost") {
            exported.probe_lost += line
                .param("lost")
                .and_then(|l| l.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    if exported.stats.is_none() {
        println!("note: export printed no sender report; its stderr:\n{stderr}");
    }
    Ok(Run {
        workload_ns,
        export: Some(exported),
    })
}

fn print_table(storm: Storm, options: &Options, medians: &[(Setup, f64, &Run)]) {
    let size = storm.size(options) as f64;
    let base = medians[0].1;
    println!(
        "{:<22} {:>11} {:>7} {:>8} {:>9} {:>8} {:>9} {:>10} {:>11} {:>11} {:>10}",
        "setup",
        "workload ms",
        "ratio",
        "records",
        "accounted",
        "CPU ms",
        "ms/10k ev",
        "ms/10k rec",
        "rsyslogd ms",
        "drop/fail",
        "probe lost"
    );
    for &(setup, ns, run) in medians {
        print!(
            "{:<22} {:>11.1} {:>6.2}x",
            setup.label(),
            ns / 1e6,
            ns / base
        );
        match &run.export {
            None => println!(),
            Some(e) => {
                let per_record = if e.records == 0 {
                    "-".to_owned()
                } else {
                    format!("{:.1}", e.cpu_ms / e.records as f64 * 1e4)
                };
                let drop_fail = e
                    .stats
                    .map_or("-".to_owned(), |s| format!("{}/{}", s.dropped, s.failed));
                println!(
                    " {:>8} {:>9} {:>8.0} {:>9.1} {:>10} {:>11.0} {:>11} {:>10}",
                    e.records,
                    e.accounted,
                    e.cpu_ms,
                    e.cpu_ms / size * 1e4,
                    per_record,
                    e.rsyslogd_ms,
                    drop_fail,
                    e.probe_lost
                );
            }
        }
    }
    let exported = |setup: Setup| {
        medians
            .iter()
            .find(|(s, _, _)| *s == setup)
            .and_then(|&(_, ns, r)| r.export.as_ref().map(|e| (ns, e)))
    };
    let (Some((off_ns, off)), Some((on_ns, on))) = (exported(Setup::Off), exported(Setup::On))
    else {
        println!();
        return;
    };
    let sent = off
        .stats
        .map_or(String::new(), |s| format!(" ({} sent in all)", s.sent));
    let vs_rsyslogd = if off.rsyslogd_ms > 0.0 {
        format!(", {:.2}x rsyslogd's", off.cpu_ms / off.rsyslogd_ms)
    } else {
        String::new()
    };
    if storm == Storm::Misses {
        // The analyzer's 1 s window folds even with --window 0s: a rate of
        // records would only measure the storm's length.
        println!(
            "off: {} records{sent} for {} misses, folded by the 1 s window of lookups; \
             export CPU {:.1} ms per 10,000 events{vs_rsyslogd}",
            off.records,
            storm.size(options),
            off.cpu_ms / size * 1e4,
        );
    } else {
        println!(
            "off: {:.0} records/s reached rsyslog (records / workload time){sent}; \
             export CPU {:.1} ms per 10,000 events{vs_rsyslogd}",
            off.records as f64 / (off_ns / 1e9),
            off.cpu_ms / size * 1e4,
        );
    }
    let cpu = if off.cpu_ms > 0.0 {
        format!("{:.2}x", on.cpu_ms / off.cpu_ms)
    } else {
        "-".to_owned()
    };
    println!(
        "on vs off: {} records instead of {} ({:.0}x fewer), export CPU {cpu}, workload {:.2}x\n",
        on.records,
        off.records,
        off.records as f64 / on.records.max(1) as f64,
        on_ns / off_ns
    );
}

/// The last sender report: `hostscope: tcp://…: N records sent, D dropped,
/// F lost to write errors, R reconnects`.
fn parse_stats(stderr: &str) -> Option<SenderStats> {
    let line = stderr.lines().rfind(|l| l.contains(" records sent, "))?;
    let (_, counts) = line.rsplit_once(": ")?;
    let mut numbers = counts
        .split(", ")
        .map(|part| part.split(' ').next().and_then(|n| n.parse::<u64>().ok()));
    Some(SenderStats {
        sent: numbers.next()??,
        dropped: numbers.next()??,
        failed: numbers.next()??,
    })
}

/// Runs `body` `n` times from one `sh` loop and returns the wall time, in
/// nanoseconds (the shell's own start is a millisecond against seconds).
fn shell_loop(body: &str, n: u64) -> Result<f64> {
    let script = format!("i=0; while [ $i -lt {n} ]; do {body}; i=$((i+1)); done");
    let start = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("run sh -c {script:?}"))?;
    let ns = start.elapsed().as_secs_f64() * 1e9;
    ensure!(status.success(), "sh -c {script:?} failed: {status}");
    Ok(ns)
}

/// One record as rsyslog's `%rawmsg%` template wrote it:
/// `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD…] MSG`.
#[derive(Debug)]
struct Line(String);

impl Line {
    fn msgid(&self) -> Option<&str> {
        self.0.split(' ').nth(5)
    }

    /// A parameter of the structured data, as written. Only the numbers
    /// and plain names the bench looks for are read, so escapes inside
    /// values need no undoing.
    fn param(&self, name: &str) -> Option<&str> {
        let key = format!(" {name}=\"");
        let start = self.0.find(&key)? + key.len();
        let rest = &self.0[start..];
        Some(&rest[..rest.find('"')?])
    }
}

/// The bench's scratch directory, `target/xtask/export`, removed when
/// dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        let dir = workspace_root().join("target/xtask/export");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An rsyslogd of the bench's own, on a free loopback port, writing every
/// message to `out.log` in its directory; stopped when dropped, on error
/// too.
struct Rsyslog {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Rsyslog {
    fn start(dir: &Path) -> Result<Rsyslog> {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("find a free port for rsyslogd")?
            .port();
        let d = dir.display();
        let conf = format!(
            r#"global(workDirectory="{d}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{port}")
template(name="raw" type="string" string="%rawmsg%\n")
*.* action(type="omfile" file="{d}/out.log" template="raw")
"#
        );
        let conf_path = dir.join("rsyslog.conf");
        std::fs::write(&conf_path, conf)
            .with_context(|| format!("write {}", conf_path.display()))?;
        let stderr = std::fs::File::create(dir.join("rsyslogd.stderr"))?;
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf_path)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .context("start rsyslogd (Debian's rsyslog package)")?;
        let mut rsyslog = Rsyslog {
            dir: dir.to_path_buf(),
            port,
            child: Some(child),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let exited = rsyslog.child.as_mut().and_then(|c| c.try_wait().ok()?);
            if exited.is_some() || Instant::now() > deadline {
                bail!(
                    "rsyslogd did not listen on 127.0.0.1:{port}: {}",
                    read_or_empty(&dir.join("rsyslogd.stderr"))
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(rsyslog)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn out(&self) -> PathBuf {
        self.dir.join("out.log")
    }

    /// Waits until `out.log` has not grown for [`QUIET`].
    fn settle(&self) -> Result<()> {
        let size = || std::fs::metadata(self.out()).map_or(0, |m| m.len());
        let deadline = Instant::now() + SETTLE_LIMIT;
        let mut last = (size(), Instant::now());
        while last.1.elapsed() < QUIET {
            ensure!(
                Instant::now() < deadline,
                "rsyslog was still receiving after {} s",
                SETTLE_LIMIT.as_secs()
            );
            std::thread::sleep(Duration::from_millis(100));
            let now = size();
            if now != last.0 {
                last = (now, Instant::now());
            }
        }
        Ok(())
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child, STOP_TIMEOUT);
        }
    }

    fn lines(&self) -> Result<Vec<Line>> {
        match std::fs::read(self.out()) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes)
                .lines()
                .map(|l| Line(l.to_owned()))
                .collect()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e).with_context(|| format!("read {}", self.out().display())),
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running `hostscope export`, killed when dropped (on error: a clean
/// stop is [`Export::stop`]).
struct Export {
    child: Option<Child>,
    stderr: PathBuf,
}

impl Export {
    /// Starts export towards `port` and waits until it is attached.
    fn start(
        hostscope: &Path,
        port: u16,
        events: &str,
        window: &str,
        stderr: &Path,
    ) -> Result<Export> {
        let file = std::fs::File::create(stderr)
            .with_context(|| format!("create {}", stderr.display()))?;
        let to = format!("tcp://127.0.0.1:{port}");
        let mut cmd = Command::new(hostscope);
        cmd.args(["export", "--to", &to, "--events", events])
            .args(["--window", window, "--queue", QUEUE])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file);
        let child = cmd.spawn().with_context(|| format!("start {cmd:?}"))?;
        let mut export = Export {
            child: Some(child),
            stderr: stderr.to_path_buf(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while !read_or_empty(stderr).contains("attached to every process") {
            let exited = export.child.as_mut().and_then(|c| c.try_wait().ok()?);
            if exited.is_some() || Instant::now() > deadline {
                bail!("{cmd:?} did not attach: {}", read_or_empty(stderr));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(export)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGTERM, as systemd stops it; returns what it printed.
    fn stop(&mut self) -> Result<String> {
        let mut child = self.child.take().context("export already stopped")?;
        let clean = terminate(&mut child, STOP_TIMEOUT);
        let stderr = read_or_empty(&self.stderr);
        ensure!(
            clean,
            "export did not exit within {} s of SIGTERM: {stderr}",
            STOP_TIMEOUT.as_secs()
        );
        Ok(stderr)
    }
}

impl Drop for Export {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
