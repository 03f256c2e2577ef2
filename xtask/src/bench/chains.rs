//! `cargo xtask bench chains`: what `hostscope chains --all` costs the
//! services it watches.
//!
//! chains copies the first bytes of every socket read and write on the
//! host, so its cost lands on the hottest path of every server, and the
//! figure that matters is how much throughput and tail latency a proxy
//! loses while it runs. The workload is the issue's nginx chain: an nginx
//! of the bench's own (foreground, config, pid file, logs and temp paths
//! in a scratch directory, never the host's) as a reverse proxy on a free
//! loopback port, with an upstream keep-alive pool to a second server block
//! of the same nginx that answers `200 ok`. Both hops are nginx, so the
//! measurement is about the probe rather than a slow backend (a Python
//! backend tops out well below what the probe has to keep up with). wrk
//! drives it, with `--latency` for the p99.
//!
//! Each round runs wrk untraced (the anchor), then again with
//! `hostscope chains --all` started first and attached, its `--duration`
//! covering wrk's run plus a margin. Untraced first, traced second, in
//! every round, so that both see the same stretches of the machine's
//! noise; a short untimed wrk run warms nginx before the first round. The
//! median requests/s and the median p99 of each setup are reported, with
//! hostscope's own figures from the traced run closest to its median.
//!
//! hostscope prints no count of the records it read, so its rate is given
//! as chains linked per second of wrk's run, from its summary line, with
//! losses from the same line ("events lost" appears only when nonzero).
//! Its chains on stdout are read back and counted by hop: every request
//! wrk completed should be one hop at the proxy's port (wrk -> nginx) and
//! one at the backend's (nginx -> nginx), which says how many requests the
//! chains are missing or split into two. chains links its spans after
//! `--duration` ends, and the next round waits for it to exit (a linker
//! busy on a core would slow the next untraced run), so that time is shown
//! too, and bounded by `--finish-timeout`. chains keeps a bounded number
//! of requests per run and says how many it did not keep; that count is
//! shown with the losses.
//!
//! A ratio of timed runs moves by tens of percent from round to round on a
//! noisy machine, so the bench also says where the time goes, from
//! counters: the machine's busy CPU time per request in the untraced
//! rounds (what a request costs the workload), and in one more traced run
//! with the kernel's BPF run-time statistics on (too costly for a timed
//! run) the time hostscope's kernel programs and hostscope itself spent
//! per request; and nginx's worker's CPU time per request in both. With
//! every CPU busy, throughput goes as the workload's cost over the
//! workload's plus hostscope's; with time to spare, nginx's one worker
//! (both server blocks, most of a request's socket calls) sets the pace,
//! and its cost per request untraced over traced bounds the ratio.
//!
//! The binary is copied into the scratch directory before the first round:
//! a rebuild of `target/release/hostscope` while the bench runs (it takes
//! minutes) would otherwise measure two builds in one table.
//!
//! Every process the bench starts is stopped when it returns, on error
//! too, and the scratch directory removed. Another `hostscope` probing
//! the host at the same time slows both setups; the bench names any it
//! finds.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use super::{
    build_hostscope, cost, cpu_ticks, median, median_run, met, read_or_empty, terminate,
    ticks_per_second, workspace_root,
};

/// wrk's threads (fewer if there are fewer connections).
const WRK_THREADS: u32 = 2;
/// How long past wrk's run hostscope's `--duration` reaches, so that it is
/// still attached when wrk's last responses arrive.
const MARGIN: Duration = Duration::from_secs(5);
/// The untimed wrk run that warms nginx before the first round.
const WARM_UP: Duration = Duration::from_secs(2);
/// How long nginx and hostscope get to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a process gets to exit on SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// The issue's target: throughput traced over untraced.
const TARGET_RATIO: f64 = 0.95;

/// Options of `bench chains`.
#[derive(Debug, Clone)]
pub struct Options {
    /// wrk's `-d`.
    pub duration: Duration,
    /// wrk's `-c`.
    pub connections: u32,
    /// Rounds; the median is reported.
    pub runs: usize,
    /// The longest wait for hostscope to print its chains once its
    /// `--duration` has ended.
    pub finish_timeout: Duration,
    /// A hostscope binary to measure instead of the workspace's release
    /// build.
    pub hostscope: Option<PathBuf>,
}

impl Options {
    pub fn parse(args: &[&str]) -> Result<Options> {
        let mut options = Options {
            duration: Duration::from_secs(10),
            connections: 16,
            runs: 3,
            finish_timeout: Duration::from_secs(3600),
            hostscope: None,
        };
        let mut it = args.iter();
        while let Some(&flag) = it.next() {
            let value = it.next().with_context(|| format!("{flag} needs a value"))?;
            match flag {
                "--duration" => {
                    options.duration =
                        Duration::from_secs(value.parse().context("--duration (seconds)")?);
                }
                "--connections" => {
                    options.connections = value.parse().context("--connections")?;
                }
                "--runs" => options.runs = value.parse().context("--runs")?,
                "--finish-timeout" => {
                    options.finish_timeout =
                        Duration::from_secs(value.parse().context("--finish-timeout (seconds)")?);
                }
                "--hostscope" => options.hostscope = Some(PathBuf::from(value)),
                other => bail!("unknown option {other}"),
            }
        }
        ensure!(
            !options.duration.is_zero(),
            "--duration must be at least 1 second"
        );
        ensure!(options.connections >= 1, "--connections must be at least 1");
        ensure!(options.runs >= 1, "--runs must be at least 1");
        Ok(options)
    }
}

/// What wrk reported for one run.
#[derive(Debug, Clone)]
struct WrkRun {
    requests_per_s: f64,
    p99_ms: f64,
    /// Requests completed.
    requests: u64,
    /// Socket errors and non-2xx/3xx responses, as wrk words them.
    errors: Vec<String>,
}

/// One traced run: wrk's figures and hostscope's.
#[derive(Debug)]
struct Traced {
    wrk: WrkRun,
    /// hostscope's CPU time over wrk's run, in % of a core.
    cpu_percent: f64,
    /// hostscope's summary line, parsed; None if it printed none.
    summary: Option<Summary>,
    /// From the end of hostscope's `--duration` to its exit, or None if it
    /// was killed at `--finish-timeout`.
    finish: Option<Duration>,
    /// How it exited, as Rust words it; None if it was killed.
    status: Option<String>,
    hops: Hops,
    /// What hostscope printed on stderr, for a run that went wrong.
    stderr: String,
    /// Other hostscope processes seen while wrk ran.
    foreign: Vec<String>,
}

/// `hostscope: S of T chains shown; U requests never answered[; L events
/// lost: chains may be incomplete][; D requests past the first N not kept
/// (…)]`.
#[derive(Debug, Clone, Copy)]
struct Summary {
    total: u64,
    unanswered: u64,
    lost: u64,
    /// Requests past chains' limit per run, counted but not linked.
    not_kept: u64,
}

/// hostscope's chains, counted by hop.
#[derive(Debug, Default, Clone, Copy)]
struct Hops {
    /// nginx at the proxy's port: wrk's requests seen by the proxy.
    front: u64,
    /// wrk's requests seen from wrk's side only.
    wrk_only: u64,
    /// nginx at the backend's port: the proxy's requests upstream.
    upstream: u64,
    /// The rest of the host's traffic.
    other: u64,
}

pub fn run(options: &Options) -> Result<()> {
    if cfg!(debug_assertions) {
        // The bench's own bookkeeping runs between wrk runs, but parsing
        // hundreds of thousands of chains unoptimized would stretch the
        // rounds: measure from a release build, as bench top does.
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["run", "--quiet", "--release", "--package", "xtask", "--"])
            .args(["bench", "chains"])
            .args(["--duration", &options.duration.as_secs().to_string()])
            .args(["--connections", &options.connections.to_string()])
            .args(["--runs", &options.runs.to_string()])
            .args([
                "--finish-timeout",
                &options.finish_timeout.as_secs().to_string(),
            ]);
        if let Some(path) = &options.hostscope {
            cmd.arg("--hostscope").arg(path);
        }
        let status = cmd
            .current_dir(workspace_root())
            .status()
            .context("run cargo run --release")?;
        ensure!(
            status.success(),
            "the release build of the benchmark failed"
        );
        return Ok(());
    }
    let built = match &options.hostscope {
        Some(path) => path.clone(),
        None => build_hostscope()?,
    };
    let scratch = Scratch::new()?;
    let hostscope = scratch.0.join("hostscope");
    std::fs::copy(&built, &hostscope)
        .with_context(|| format!("copy {} to {}", built.display(), hostscope.display()))?;
    let nginx = Nginx::start(&scratch.0)?;
    let wrk = Wrk::new(options, nginx.proxy);
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "bench chains: {} against {} (1 worker) on 127.0.0.1:{}, proxying over an upstream \
         keep-alive pool to a server block of the same nginx on :{} (return 200 \"ok\"); \
         traced: hostscope chains --all --duration {}s; {cpus} CPUs, load average {}; \
         untraced then traced in each of {} rounds, medians reported\n",
        wrk.command_line(),
        nginx.version,
        nginx.proxy,
        nginx.backend,
        (options.duration + MARGIN).as_secs(),
        load_average(),
        options.runs
    );
    let foreign = foreign_hostscopes(None);
    if !foreign.is_empty() {
        println!(
            "note: other hostscope processes are running; their probes slow both setups:\n  {}\n",
            foreign.join("\n  ")
        );
    }

    wrk.run(WARM_UP).context("warm-up wrk run")?;
    let mut untraced: Vec<WrkRun> = Vec::new();
    let mut traced: Vec<Traced> = Vec::new();
    // The machine's busy CPU time per request, untraced: what one request
    // costs the workload itself.
    let mut workload_us: Vec<f64> = Vec::new();
    let (mut busy_shares, mut steal_shares) = (Vec::new(), Vec::new());
    // nginx's worker's CPU time per request: the busiest thread.
    let mut nginx_us: Vec<f64> = Vec::new();
    let hz = ticks_per_second()?;
    for round in 1..=options.runs {
        let (before, started) = (cost::machine_cpu_ticks()?, Instant::now());
        let nginx_before = nginx.workers_ticks()?;
        let plain = wrk
            .run(options.duration)
            .with_context(|| format!("round {round}, untraced"))?;
        let nginx_ticks = nginx.workers_ticks()?.saturating_sub(nginx_before);
        nginx_us.push(nginx_ticks as f64 / hz * 1e6 / plain.requests.max(1) as f64);
        let spent = cost::machine_cpu_ticks()?.since(before);
        let available = cpus.max(1) as f64 * started.elapsed().as_secs_f64() * hz;
        workload_us.push(spent.busy as f64 / hz * 1e6 / plain.requests.max(1) as f64);
        busy_shares.push(spent.busy as f64 / available);
        steal_shares.push(spent.steal as f64 / available);
        println!(
            "round {round}: untraced {:.0} req/s, p99 {:.2} ms{}",
            plain.requests_per_s,
            plain.p99_ms,
            errors_note(&plain)
        );
        let dir = scratch.0.join(format!("round-{round}"));
        let run = measure_traced(&hostscope, &wrk, options, &nginx, &dir)
            .with_context(|| format!("round {round}, traced"))?;
        println!(
            "round {round}: traced   {:.0} req/s, p99 {:.2} ms{}; {}",
            run.wrk.requests_per_s,
            run.wrk.p99_ms,
            errors_note(&run.wrk),
            hostscope_note(&run)
        );
        if !run.foreign.is_empty() {
            println!(
                "  note: other hostscope processes ran during this round: {}",
                run.foreign.join("; ")
            );
        }
        if run.summary.is_none() {
            println!(
                "  hostscope exited with {}; its stderr:\n{}",
                run.status.as_deref().unwrap_or("nothing (killed)"),
                indent(&run.stderr)
            );
        }
        untraced.push(plain);
        traced.push(run);
    }
    let accounting = account(
        &hostscope,
        &wrk,
        &nginx,
        options,
        &scratch.0.join("accounting"),
    )
    .context("the accounting run")?;
    drop(nginx);

    println!();
    print_results(options, &untraced, &traced);
    print_costs(
        Workload {
            us: median(&mut workload_us),
            busy: median(&mut busy_shares),
            stolen: median(&mut steal_shares),
            cpus,
            nginx_us: median(&mut nginx_us),
        },
        &accounting,
    );
    Ok(())
}

/// What one more traced run cost per request, by part.
struct Accounting {
    requests: u64,
    /// hostscope's kernel programs over wrk's run.
    programs: Vec<cost::ProgramRuns>,
    /// hostscope's own CPU time over wrk's run, in seconds.
    hostscope_s: f64,
    /// nginx's worker's CPU time over wrk's run, in seconds.
    nginx_s: f64,
}

/// What requests cost untraced, per request (medians of the rounds).
struct Workload {
    /// The machine's busy CPU time, in microseconds.
    us: f64,
    /// Shares of the CPUs' time that were busy, and taken by the hypervisor.
    busy: f64,
    stolen: f64,
    cpus: usize,
    /// nginx's worker's CPU time, in microseconds.
    nginx_us: f64,
}

/// A traced run like the rounds', with the kernel's BPF run-time
/// statistics on (so not timed): how long hostscope's programs ran, and
/// hostscope itself, per request.
fn account(
    hostscope: &Path,
    wrk: &Wrk,
    nginx: &Nginx,
    options: &Options,
    dir: &Path,
) -> Result<Accounting> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let _stats = cost::RunTimeStats::enable()?;
    let limit = options.duration + MARGIN;
    let mut chains = Chains::start(hostscope, limit, dir)?;
    let attached = Instant::now();
    let hz = ticks_per_second()?;
    let before = cost::hostscope_programs()?;
    let cpu_start = cpu_ticks(chains.pid())?;
    let nginx_start = nginx.workers_ticks()?;
    let run = wrk.run(options.duration)?;
    let hostscope_s = cpu_ticks(chains.pid())?.saturating_sub(cpu_start) as f64 / hz;
    let nginx_s = nginx.workers_ticks()?.saturating_sub(nginx_start) as f64 / hz;
    let after = cost::hostscope_programs()?;
    chains.wait(attached + limit + options.finish_timeout);
    Ok(Accounting {
        requests: run.requests,
        programs: cost::runs_between(&before, &after),
        hostscope_s,
        nginx_s,
    })
}

/// Where a request's CPU time goes, and the ratio those costs allow.
/// With every CPU busy, throughput goes as the workload's cost per request
/// over that cost plus hostscope's; with CPUs idle, it is bound by the
/// busiest thread, nginx's one worker, whose socket calls pay the probe's
/// cost in line.
fn print_costs(w: Workload, a: &Accounting) {
    let requests = a.requests.max(1) as f64;
    let probe_us = a.programs.iter().map(|p| p.ns).sum::<u64>() as f64 / 1e3 / requests;
    let user_us = a.hostscope_s * 1e6 / requests;
    let nginx_traced_us = a.nginx_s * 1e6 / requests;
    let programs: Vec<String> = a
        .programs
        .iter()
        .map(|p| {
            format!(
                "{} {:.2} runs x {} ns",
                p.name,
                p.runs as f64 / requests,
                p.ns / p.runs.max(1)
            )
        })
        .collect();
    println!();
    println!(
        "per request (one more traced run, with the kernel's BPF run-time statistics on, \
         which add a clock read or two to each program run):"
    );
    println!(
        "  the workload, untraced: {:.1} us of CPU (the {} CPUs {:.0}% busy and {:.0}% taken \
         by the hypervisor, medians of the rounds)",
        w.us,
        w.cpus,
        w.busy * 100.0,
        w.stolen * 100.0
    );
    println!(
        "  hostscope's kernel programs: {probe_us:.2} us ({})",
        programs.join(", ")
    );
    println!("  hostscope itself: {user_us:.2} us");
    println!(
        "  nginx's worker (one thread for both server blocks: the busiest): {:.1} us \
         untraced, {nginx_traced_us:.1} us traced",
        w.nginx_us
    );
    if w.busy + w.stolen >= 0.95 {
        let bound = |extra: f64| w.us / (w.us + extra);
        println!(
            "  with every CPU busy these costs allow at most {:.2}x, and {:.2}x if \
             hostscope's own work cost nothing",
            bound(probe_us + user_us),
            bound(probe_us)
        );
    } else {
        println!(
            "  the CPUs had time to spare, so nginx's worker sets the pace: its cost per \
             request allows at most {:.2}x",
            w.nginx_us / nginx_traced_us.max(f64::MIN_POSITIVE)
        );
    }
}

/// One traced run: hostscope attached first, then wrk, then hostscope's
/// chains and summary once it exits.
fn measure_traced(
    hostscope: &Path,
    wrk: &Wrk,
    options: &Options,
    nginx: &Nginx,
    dir: &Path,
) -> Result<Traced> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let limit = options.duration + MARGIN;
    let mut chains = Chains::start(hostscope, limit, dir)?;
    let attached = Instant::now();
    let hz = ticks_per_second()?;
    let cpu_start = cpu_ticks(chains.pid())?;
    let wrk_start = Instant::now();
    let run = wrk.run(options.duration)?;
    let cpu_percent = cpu_ticks(chains.pid())?.saturating_sub(cpu_start) as f64
        / hz
        / wrk_start.elapsed().as_secs_f64()
        * 100.0;
    let foreign = foreign_hostscopes(Some(chains.pid()));
    let ended = attached + limit;
    let exited = chains.wait(ended + options.finish_timeout);
    let finish = exited
        .as_ref()
        .map(|(at, _)| at.saturating_duration_since(ended));
    let status = exited.map(|(_, status)| status.to_string());
    let stderr = read_or_empty(&chains.stderr);
    let summary = parse_summary(&stderr);
    let hops = if finish.is_some() {
        count_hops(&chains.stdout, nginx)?
    } else {
        Hops::default()
    };
    Ok(Traced {
        wrk: run,
        cpu_percent,
        summary,
        finish,
        status,
        hops,
        stderr,
        foreign,
    })
}

fn print_results(options: &Options, untraced: &[WrkRun], traced: &[Traced]) {
    let median_of = |mut values: Vec<f64>| median(&mut values);
    let base_rps = median_of(untraced.iter().map(|r| r.requests_per_s).collect());
    let base_p99 = median_of(untraced.iter().map(|r| r.p99_ms).collect());
    let on_rps = median_of(traced.iter().map(|t| t.wrk.requests_per_s).collect());
    let on_p99 = median_of(traced.iter().map(|t| t.wrk.p99_ms).collect());
    println!(
        "{:<28} {:>11} {:>7} {:>9} {:>17}",
        "setup", "requests/s", "ratio", "p99 ms", "p99 change"
    );
    println!(
        "{:<28} {:>11.0} {:>6.2}x {:>9.2} {:>17}",
        "untraced", base_rps, 1.0, base_p99, "-"
    );
    println!(
        "{:<28} {:>11.0} {:>6.2}x {:>9.2} {:>17}",
        "hostscope chains --all",
        on_rps,
        on_rps / base_rps,
        on_p99,
        format!(
            "{:+.2} ms ({:.1}x)",
            on_p99 - base_p99,
            on_p99 / base_p99.max(f64::MIN_POSITIVE)
        )
    );
    println!();
    let ratio = on_rps / base_rps;
    println!(
        "target: throughput traced >= {TARGET_RATIO:.2}x untraced: {} ({ratio:.2}x)",
        met(ratio >= TARGET_RATIO)
    );

    let (_, mid) = median_run(traced, |t| t.wrk.requests_per_s);
    let wrk_s = options.duration.as_secs_f64();
    match mid.summary {
        Some(s) => println!(
            "hostscope (traced run closest to the median): {} chains = {:.0} chains/s over \
             wrk's {wrk_s:.0} s (chains linked per second: hostscope prints no count of the \
             records it read); {} requests never answered; events lost: {}; requests not \
             kept: {}; {:.0}% of a core during wrk; its chains printed {} after its --duration \
             ended",
            s.total,
            s.total as f64 / wrk_s,
            s.unanswered,
            s.lost,
            s.not_kept,
            mid.cpu_percent,
            finish_text(mid.finish),
        ),
        None => println!(
            "hostscope (traced run closest to the median): no summary line ({}); {:.0}% of a \
             core during wrk",
            finish_text(mid.finish),
            mid.cpu_percent
        ),
    }
    if mid.finish.is_some() {
        let h = mid.hops;
        let requests = mid.wrk.requests;
        println!(
            "chains vs wrk: {requests} requests completed, each should be one hop at the proxy \
             (wrk -> nginx) and one at the backend (nginx -> nginx): proxy hops {} ({:+}) of \
             which {} seen from wrk's side only, backend hops {} ({:+}), other hops {} (the \
             rest of the host)",
            h.front + h.wrk_only,
            (h.front + h.wrk_only) as i64 - requests as i64,
            h.wrk_only,
            h.upstream,
            h.upstream as i64 - requests as i64,
            h.other,
        );
    }
    let lost: Vec<String> = traced
        .iter()
        .map(|t| {
            t.summary
                .map_or("-".to_owned(), |s| format!("{}/{}", s.lost, s.not_kept))
        })
        .collect();
    println!(
        "events lost / requests not kept, each round: {}",
        lost.join(", ")
    );
}

fn finish_text(finish: Option<Duration>) -> String {
    finish.map_or("not within --finish-timeout; killed".to_owned(), |d| {
        format!("{:.0} s", d.as_secs_f64())
    })
}

fn errors_note(run: &WrkRun) -> String {
    if run.errors.is_empty() {
        String::new()
    } else {
        format!(" ({})", run.errors.join("; "))
    }
}

fn hostscope_note(run: &Traced) -> String {
    let mut note = match run.summary {
        Some(s) => format!(
            "{} chains, {} unanswered, {} events lost, {} requests not kept",
            s.total, s.unanswered, s.lost, s.not_kept
        ),
        None => "no summary line".to_owned(),
    };
    note.push_str(&format!(
        ", hostscope {:.0}% of a core, chains printed {} after --duration",
        run.cpu_percent,
        finish_text(run.finish)
    ));
    note
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last summary line of hostscope's stderr.
fn parse_summary(stderr: &str) -> Option<Summary> {
    let line = stderr.lines().rfind(|l| l.contains(" chains shown; "))?;
    let rest = line.strip_prefix("hostscope: ")?;
    let number = |s: &str| s.split(' ').next().and_then(|n| n.parse::<u64>().ok());
    let (shown, rest) = rest.split_once("; ")?;
    let total = number(shown.split_once(" of ")?.1)?;
    let mut parts = rest.split("; ");
    let unanswered = number(parts.next()?)?;
    let (mut lost, mut not_kept) = (0, 0);
    for part in parts {
        if part.contains(" events lost") {
            lost = number(part)?;
        } else if part.contains(" not kept") {
            not_kept = number(part)?;
        }
    }
    Some(Summary {
        total,
        unanswered,
        lost,
        not_kept,
    })
}

/// Counts the hops of hostscope's chains (one line each, children
/// indented under `└─ ` or `└┄ `) by who answered them. A line reads
/// `OP TARGET  COMM[PID] :PORT  STATUS  DURATION`, the port the server's
/// (or, seen from the client only, the one it called).
fn count_hops(stdout: &Path, nginx: &Nginx) -> Result<Hops> {
    let text = std::fs::read(stdout).with_context(|| format!("read {}", stdout.display()))?;
    let text = String::from_utf8_lossy(&text);
    let proxy = format!(":{}", nginx.proxy);
    let backend = format!(":{}", nginx.backend);
    let mut hops = Hops::default();
    for line in text.lines() {
        let line = line
            .trim_start()
            .trim_start_matches("└─ ")
            .trim_start_matches("└┄ ");
        let Some(who) = line.split("  ").nth(1) else {
            continue;
        };
        let (process, port) = who.rsplit_once(' ').unwrap_or((who, ""));
        let comm = process.rsplit_once('[').map_or(process, |(comm, _)| comm);
        match (comm, port) {
            ("wrk", _) => hops.wrk_only += 1,
            ("nginx", p) if p == proxy => hops.front += 1,
            ("nginx", p) if p == backend => hops.upstream += 1,
            _ => hops.other += 1,
        }
    }
    Ok(hops)
}

/// wrk against the proxy.
struct Wrk {
    connections: u32,
    url: String,
}

impl Wrk {
    fn new(options: &Options, port: u16) -> Wrk {
        Wrk {
            connections: options.connections,
            url: format!("http://127.0.0.1:{port}/"),
        }
    }

    fn threads(&self) -> u32 {
        WRK_THREADS.min(self.connections)
    }

    fn command_line(&self) -> String {
        format!(
            "wrk -t{} -c{} --latency {}",
            self.threads(),
            self.connections,
            self.url
        )
    }

    fn run(&self, duration: Duration) -> Result<WrkRun> {
        let mut cmd = Command::new("wrk");
        cmd.arg(format!("-t{}", self.threads()))
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{}s", duration.as_secs()))
            .arg("--latency")
            .arg(&self.url)
            .stdin(Stdio::null());
        let out = cmd
            .output()
            .with_context(|| format!("run {cmd:?} (Debian's wrk package)"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        ensure!(
            out.status.success(),
            "{cmd:?} failed ({}): {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        parse_wrk(&stdout).with_context(|| format!("wrk's output:\n{stdout}"))
    }
}

/// Requests/sec, the 99% line of `--latency`, the request count and any
/// errors from wrk's report.
fn parse_wrk(text: &str) -> Result<WrkRun> {
    let mut requests_per_s = None;
    let mut p99_ms = None;
    let mut requests = None;
    let mut errors = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            requests_per_s = rest.trim().parse::<f64>().ok();
        } else if let Some(rest) = line.strip_prefix("99%") {
            p99_ms = wrk_ms(rest.trim());
        } else if let Some((n, _)) = line.split_once(" requests in ") {
            requests = n.trim().parse::<u64>().ok();
        } else if line.starts_with("Socket errors:") || line.starts_with("Non-2xx") {
            errors.push(line.to_owned());
        }
    }
    Ok(WrkRun {
        requests_per_s: requests_per_s.context("no Requests/sec line")?,
        p99_ms: p99_ms.context("no 99% latency line")?,
        requests: requests.context("no `N requests in` line")?,
        errors,
    })
}

/// A wrk latency (`670.00us`, `1.23ms`, `1.01s`, `2.00m`) in ms.
fn wrk_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let scale = match unit {
        "us" => 1e-3,
        "ms" => 1.0,
        "s" => 1e3,
        "m" => 60e3,
        "h" => 3600e3,
        _ => return None,
    };
    Some(value * scale)
}

/// The bench's scratch directory, `target/xtask/chains`, removed when
/// dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        let dir = workspace_root().join("target/xtask/chains");
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

/// The bench's nginx: the proxy and the backend it pools connections to,
/// in one foreground master with one worker; stopped when dropped, its
/// workers too, on error as well.
struct Nginx {
    child: Option<Child>,
    proxy: u16,
    backend: u16,
    /// `nginx/1.22.1`.
    version: String,
}

impl Nginx {
    fn start(dir: &Path) -> Result<Nginx> {
        let dir = dir.join("nginx");
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let proxy = free_port()?;
        let backend = free_port()?;
        let d = dir.display();
        // Every path nginx writes is in the directory: it runs as root, and
        // its compiled-in defaults are the host's /var/lib/nginx and
        // /var/log/nginx.
        let conf = format!(
            r#"worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    default_type text/plain;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream backend {{
        server 127.0.0.1:{backend};
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{proxy};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
    server {{
        listen 127.0.0.1:{backend};
        location / {{ return 200 "ok\n"; }}
    }}
}}
"#
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf)
            .with_context(|| format!("write {}", conf_path.display()))?;
        let version = Command::new("nginx")
            .arg("-v")
            .output()
            .context("run nginx -v (Debian's nginx package)")?;
        let version = String::from_utf8_lossy(&version.stderr)
            .trim()
            .trim_start_matches("nginx version: ")
            .to_owned();
        let stderr_path = dir.join("nginx.stderr");
        let stderr = std::fs::File::create(&stderr_path)
            .with_context(|| format!("create {}", stderr_path.display()))?;
        let mut cmd = Command::new("nginx");
        cmd.arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(&dir)
            // The error log before the config is read, the host's otherwise.
            .arg("-e")
            .arg(dir.join("error.log"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let child = cmd.spawn().with_context(|| format!("start {cmd:?}"))?;
        let mut nginx = Nginx {
            child: Some(child),
            proxy,
            backend,
            version,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match get(proxy) {
                Ok(response)
                    if response.starts_with("HTTP/1.1 200") && response.ends_with("ok\n") =>
                {
                    break;
                }
                result => {
                    let exited = nginx.child.as_mut().and_then(|c| c.try_wait().ok()?);
                    if exited.is_some() || Instant::now() > deadline {
                        bail!(
                            "{cmd:?} did not answer 200 ok through 127.0.0.1:{proxy} ({}): {}{}",
                            match result {
                                Ok(response) => format!("answered {response:?}"),
                                Err(e) => format!("{e:#}"),
                            },
                            read_or_empty(&stderr_path),
                            read_or_empty(&dir.join("error.log"))
                        );
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        Ok(nginx)
    }

    /// CPU time nginx's workers have used, in clock ticks.
    fn workers_ticks(&self) -> Result<u64> {
        self.workers().iter().map(|&(pid, _)| cpu_ticks(pid)).sum()
    }

    /// The workers of our master, from `/proc/PID/task/PID/children`,
    /// each with its start time (field 22 of `/proc/PID/stat`), which
    /// tells it from a process given its pid later.
    fn workers(&self) -> Vec<(u32, u64)> {
        let Some(pid) = self.child.as_ref().map(Child::id) else {
            return Vec::new();
        };
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .filter_map(|p| Some((p, start_time(p)?)))
            .collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let workers = self.workers();
        if let Some(mut child) = self.child.take() {
            // SIGTERM is nginx's fast shutdown: the master stops its
            // workers and waits for them. Only a master that had to be
            // killed leaves them running.
            terminate(&mut child, STOP_TIMEOUT);
        }
        for (pid, started) in workers {
            if start_time(pid) == Some(started) {
                // SAFETY: kill(2) on our nginx's worker, still the same
                // process (same start time).
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
        }
    }
}

/// When `pid` started, in clock ticks after boot (field 22 of
/// `/proc/PID/stat`).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may hold spaces and parentheses; after its last `)` comes field 3.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(22 - 3)?
        .parse()
        .ok()
}

/// A free loopback port, as the kernel picks one (free when checked; the
/// window before nginx binds it is short).
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("find a free port on 127.0.0.1")?
        .port())
}

/// One `GET /` to `127.0.0.1:PORT` over HTTP/1.0, the whole response.
fn get(port: u16) -> Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

/// A running `hostscope chains --all`, killed when dropped.
struct Chains {
    child: Option<Child>,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Chains {
    /// Starts it and waits until it says it is attached.
    fn start(hostscope: &Path, limit: Duration, dir: &Path) -> Result<Chains> {
        let stdout = dir.join("chains.stdout");
        let stderr = dir.join("chains.stderr");
        let out = std::fs::File::create(&stdout)
            .with_context(|| format!("create {}", stdout.display()))?;
        let err = std::fs::File::create(&stderr)
            .with_context(|| format!("create {}", stderr.display()))?;
        let mut cmd = Command::new(hostscope);
        cmd.args(["chains", "--all", "--duration"])
            .arg(format!("{}s", limit.as_secs()))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = cmd.spawn().with_context(|| format!("start {cmd:?}"))?;
        let mut chains = Chains {
            child: Some(child),
            stdout,
            stderr,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while !read_or_empty(&chains.stderr).contains("attached") {
            let exited = chains.child.as_mut().and_then(|c| c.try_wait().ok()?);
            if exited.is_some() || Instant::now() > deadline {
                bail!("{cmd:?} did not attach: {}", read_or_empty(&chains.stderr));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(chains)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Waits for it to exit until `deadline`; when it exited and how, or
    /// None if it had to be killed.
    fn wait(&mut self, deadline: Instant) -> Option<(Instant, ExitStatus)> {
        let mut child = self.child.take()?;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some((Instant::now(), status)),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return None;
                }
            }
        }
    }
}

impl Drop for Chains {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Other `hostscope` processes (but `ours`), as `PID: COMMAND LINE`.
fn foreign_hostscopes(ours: Option<u32>) -> Vec<String> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<(u32, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me && Some(pid) != ours)
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "hostscope")
        })
        .map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline)
                .split('\0')
                .filter(|a| !a.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            (pid, cmdline)
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .map(|(pid, cmd)| format!("{pid}: {cmd}"))
        .collect()
}

/// The 1-minute load average, as `/proc/loadavg` gives it.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}
