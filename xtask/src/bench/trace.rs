//! `cargo xtask bench trace`: the cost of tracing a syscall-heavy process.
//!
//! The workload makes N failed openat calls in a loop and times the loop
//! itself (so tracer start-up is not counted). It runs untraced, under
//! `hostscope trace -p`, under `strace -f -e trace=openat`, and under a
//! bpftrace counter; and untraced again while hostscope traces another
//! process, to show what non-targets pay. Each setup runs `runs` times and
//! the median is reported as a ratio to the untraced median.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::{Options, build_drain_example, build_hostscope, compile_c, median};

pub(super) const WORKLOAD: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
/* Waits for a byte on stdin (the tracer is attached by then), runs argv[1]
 * failed openat calls and prints the loop's duration in nanoseconds. */
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    char go;
    if (read(0, &go, 1) != 1) return 2;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) openat(AT_FDCWD, "/nonexistent/hostscope-bench", O_RDONLY);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
    return 0;
}
"#;

/// One measured run.
#[derive(Debug, Default, Clone)]
struct Run {
    loop_ns: f64,
    events: Option<u64>,
    lost: Option<u64>,
    peak_rss_kib: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    Untraced,
    Hostscope,
    ProbeOnly,
    Strace,
    Bpftrace,
    Bystander,
}

impl Setup {
    fn label(self) -> &'static str {
        match self {
            Setup::Untraced => "untraced",
            Setup::Hostscope => "hostscope trace -p",
            Setup::ProbeOnly => "probe only (events not formatted)",
            Setup::Strace => "strace -f -e trace=openat",
            Setup::Bpftrace => "bpftrace counter",
            Setup::Bystander => "untraced, hostscope tracing another pid",
        }
    }
}

pub fn run(options: &Options) -> Result<()> {
    let hostscope = build_hostscope()?;
    let drain = build_drain_example()?;
    let workload = compile_c("openat_loop", WORKLOAD)?;
    let _tracefs = TracefsForBpftrace::mount()?;
    println!(
        "bench trace: {} failed openat calls per run, median of {} runs\n",
        options.iterations, options.runs
    );
    let setups = [
        Setup::Untraced,
        Setup::Hostscope,
        Setup::ProbeOnly,
        Setup::Strace,
        Setup::Bpftrace,
        Setup::Bystander,
    ];
    let tools = Tools {
        hostscope: &hostscope,
        drain: &drain,
        workload: &workload,
    };
    // Rounds outside, setups inside: on a noisy machine every setup then
    // sees the same stretches of noise, and the ratios stay comparable.
    let mut results: Vec<(Setup, Vec<Run>)> = setups.iter().map(|&s| (s, Vec::new())).collect();
    for _ in 0..options.runs {
        for (setup, runs) in &mut results {
            runs.push(measure(*setup, &tools, options.iterations)?);
        }
    }
    print_table(&results, options.iterations);
    Ok(())
}

fn print_table(results: &[(Setup, Vec<Run>)], iterations: u64) {
    let base = median(&mut results[0].1.iter().map(|r| r.loop_ns).collect::<Vec<_>>());
    println!(
        "{:<42} {:>10} {:>8} {:>12} {:>10} {:>12}",
        "setup", "loop ms", "ratio", "events/s", "lost", "peak RSS"
    );
    for (setup, runs) in results {
        let ns = median(&mut runs.iter().map(|r| r.loop_ns).collect::<Vec<_>>());
        let mid = runs
            .iter()
            .min_by(|a, b| (a.loop_ns - ns).abs().total_cmp(&(b.loop_ns - ns).abs()))
            .expect("at least one run");
        let events_per_s = mid.events.map_or("-".to_owned(), |e| {
            format!("{:.0}k", e as f64 / (ns / 1e9) / 1e3)
        });
        let lost = mid.lost.map_or("-".to_owned(), |l| l.to_string());
        let rss = mid
            .peak_rss_kib
            .map_or("-".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
        println!(
            "{:<42} {:>10.1} {:>7.2}x {:>12} {:>10} {:>12}",
            setup.label(),
            ns / 1e6,
            ns / base,
            events_per_s,
            lost,
            rss
        );
    }
    println!(
        "\n(events/s and lost: hostscope's own count of delivered and lost events; {iterations} calls per run)"
    );
}

struct Tools<'a> {
    hostscope: &'a Path,
    drain: &'a Path,
    workload: &'a Path,
}

fn measure(setup: Setup, tools: &Tools<'_>, n: u64) -> Result<Run> {
    let hostscope = tools.hostscope;
    let mut target = Command::new(tools.workload)
        .arg(n.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("start the workload")?;
    let pid = target.id().to_string();
    let mut bystander = None;
    let tracer = match setup {
        Setup::Untraced => None,
        Setup::Hostscope => Some(Tracer::start(
            Command::new(hostscope).args(["trace", "-o", "/dev/null", "-p", &pid]),
            Ready::Stderr("attached"),
        )?),
        Setup::ProbeOnly => Some(Tracer::start(
            Command::new(tools.drain).arg(&pid),
            Ready::Stderr("attached"),
        )?),
        Setup::Strace => Some(Tracer::start(
            Command::new("strace").args([
                "-f",
                "-e",
                "trace=openat",
                "-o",
                "/dev/null",
                "-p",
                &pid,
            ]),
            Ready::Stderr("attached"),
        )?),
        Setup::Bpftrace => Some(Tracer::start(
            Command::new("bpftrace").args([
                "-e",
                &format!(
                    "tracepoint:syscalls:sys_enter_openat /pid == {pid}/ {{ @calls = count(); }}"
                ),
            ]),
            Ready::Stdout("Attaching"),
        )?),
        Setup::Bystander => {
            let sleeper = Command::new("sleep").arg("600").spawn()?;
            let t = Tracer::start(
                Command::new(hostscope).args([
                    "trace",
                    "-o",
                    "/dev/null",
                    "-p",
                    &sleeper.id().to_string(),
                ]),
                Ready::Stderr("attached"),
            )?;
            bystander = Some(sleeper);
            Some(t)
        }
    };

    target.stdin.take().expect("piped").write_all(b"g")?;
    let mut out = String::new();
    target
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut out)?;
    target.wait()?;
    let loop_ns: f64 = out
        .trim()
        .parse()
        .with_context(|| format!("workload printed {out:?}"))?;

    let mut run = Run {
        loop_ns,
        ..Run::default()
    };
    if let Some(mut sleeper) = bystander {
        sleeper.kill()?;
        sleeper.wait()?;
    }
    if let Some(tracer) = tracer {
        let finished = tracer.finish(setup == Setup::Bpftrace)?;
        if matches!(setup, Setup::Hostscope | Setup::Bystander) {
            run.peak_rss_kib = Some(finished.peak_rss_kib);
            let (events, lost) = parse_loss_line(&finished.stderr).with_context(|| {
                format!("no loss report from hostscope in {:?}", finished.stderr)
            })?;
            if setup == Setup::Hostscope {
                run.events = Some(events);
                run.lost = Some(lost);
            }
        }
    }
    Ok(run)
}

/// `hostscope: 1000000 events, none lost` → (1000000, 0).
fn parse_loss_line(stderr: &str) -> Option<(u64, u64)> {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("hostscope: ") && l.contains(" events"))?;
    let events = line
        .strip_prefix("hostscope: ")?
        .split(' ')
        .next()?
        .parse()
        .ok()?;
    let lost = match line.split("LOST ").nth(1) {
        Some(rest) => rest.split(':').next()?.parse().ok()?,
        None => 0,
    };
    Some((events, lost))
}

pub(super) enum Ready {
    Stdout(&'static str),
    Stderr(&'static str),
}

pub(super) struct Tracer {
    child: Child,
    stderr: mpsc::Receiver<String>,
}

pub(super) struct Finished {
    pub stderr: String,
    pub peak_rss_kib: u64,
}

impl Tracer {
    /// Starts a tracer and waits until it says it is attached.
    pub(super) fn start(cmd: &mut Command, ready: Ready) -> Result<Tracer> {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("start {cmd:?}"))?;
        let (ready_tx, ready_rx) = mpsc::channel();
        let (err_tx, err_rx) = mpsc::channel();
        let (marker, on_stderr) = match ready {
            Ready::Stdout(m) => (m, false),
            Ready::Stderr(m) => (m, true),
        };
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let tx = ready_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !on_stderr && line.contains(marker) {
                    let _ = tx.send(());
                }
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if on_stderr && line.contains(marker) {
                    let _ = ready_tx.send(());
                }
                let _ = err_tx.send(line);
            }
        });
        if ready_rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = child.kill();
            let lines: Vec<String> = err_rx.try_iter().collect();
            bail!("{cmd:?} did not attach: {}", lines.join("\n"));
        }
        Ok(Tracer {
            child,
            stderr: err_rx,
        })
    }

    /// Waits for the tracer to exit (after SIGINT if `interrupt`), with its
    /// stderr and peak RSS.
    pub(super) fn finish(self, interrupt: bool) -> Result<Finished> {
        let pid = self.child.id() as libc::pid_t;
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            if interrupt {
                // bpftrace says it is attaching before it handles SIGINT, so
                // an early SIGINT can go unheard: repeat it until it exits.
                // SAFETY: signals our own child.
                unsafe { libc::kill(pid, libc::SIGINT) };
            }
            let flags = if interrupt { libc::WNOHANG } else { 0 };
            // SAFETY: waits for our own child.
            match unsafe { libc::wait4(pid, &mut status, flags, &mut usage) } {
                n if n < 0 => bail!("wait4: {}", std::io::Error::last_os_error()),
                0 => std::thread::sleep(Duration::from_millis(500)),
                _ => break,
            }
        }
        // The stderr reader ends when the pipe closes, after exit.
        let mut lines = Vec::new();
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(5)) {
            lines.push(line);
        }
        Ok(Finished {
            stderr: lines.join("\n"),
            peak_rss_kib: usage.ru_maxrss as u64,
        })
    }
}

/// bpftrace finds tracepoints through tracefs, which these machines may not
/// mount. Mounted for the benchmark only, and unmounted after.
struct TracefsForBpftrace {
    mounted: Option<PathBuf>,
}

impl TracefsForBpftrace {
    fn mount() -> Result<Self> {
        let path = PathBuf::from("/sys/kernel/tracing");
        if path.join("events").exists() {
            return Ok(TracefsForBpftrace { mounted: None });
        }
        let status = Command::new("mount")
            .args(["-t", "tracefs", "nodev"])
            .arg(&path)
            .status()?;
        if !status.success() {
            bail!("could not mount tracefs at {} for bpftrace", path.display());
        }
        Ok(TracefsForBpftrace {
            mounted: Some(path),
        })
    }
}

impl Drop for TracefsForBpftrace {
    fn drop(&mut self) {
        if let Some(path) = &self.mounted {
            let _ = Command::new("umount").arg(path).status();
        }
    }
}
