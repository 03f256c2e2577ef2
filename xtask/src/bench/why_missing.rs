//! `cargo xtask bench why-missing`: what watching for missing files costs.
//!
//! Two workloads, each timed by its own loop (start-up is not counted):
//! - N failed openat calls, untraced and under `why-missing -p`: every call
//!   is an event the analysis must see;
//! - N successful stat calls, untraced and while `why-missing --all` watches
//!   the whole host: the calls the probe must pass over almost for free.
//!
//! Rounds outside, setups inside, medians reported as ratios to the
//! untraced median of the same workload.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use super::trace::{Ready, Tracer, WORKLOAD};
use super::{Options, build_hostscope, compile_c, median};

const STAT_WORKLOAD: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
/* Waits for a byte on stdin, runs argv[1] successful stat calls and prints
 * the loop's duration in nanoseconds. */
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    char go;
    if (read(0, &go, 1) != 1) return 2;
    struct stat st;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) stat("/etc/hostname", &st);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
    return 0;
}
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    FailedUntraced,
    FailedWatchedPid,
    StatUntraced,
    StatWatchedAll,
}

impl Setup {
    fn label(self) -> &'static str {
        match self {
            Setup::FailedUntraced => "failed openat, untraced",
            Setup::FailedWatchedPid => "failed openat, why-missing -p",
            Setup::StatUntraced => "successful stat, untraced",
            Setup::StatWatchedAll => "successful stat, why-missing --all",
        }
    }

    /// The untraced setup this one is compared with.
    fn anchor(self) -> Setup {
        match self {
            Setup::FailedUntraced | Setup::FailedWatchedPid => Setup::FailedUntraced,
            Setup::StatUntraced | Setup::StatWatchedAll => Setup::StatUntraced,
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Run {
    loop_ns: f64,
    lost: Option<u64>,
    peak_rss_kib: Option<u64>,
}

pub fn run(options: &Options) -> Result<()> {
    let hostscope = build_hostscope()?;
    let failing = compile_c("openat_loop", WORKLOAD)?;
    let stats = compile_c("stat_loop", STAT_WORKLOAD)?;
    println!(
        "bench why-missing: {} calls per run, median of {} runs\n",
        options.iterations, options.runs
    );
    let setups = [
        Setup::FailedUntraced,
        Setup::FailedWatchedPid,
        Setup::StatUntraced,
        Setup::StatWatchedAll,
    ];
    let mut results: Vec<(Setup, Vec<Run>)> = setups.iter().map(|&s| (s, Vec::new())).collect();
    for _ in 0..options.runs {
        for (setup, runs) in &mut results {
            let workload = match setup.anchor() {
                Setup::FailedUntraced => &failing,
                _ => &stats,
            };
            runs.push(measure(*setup, &hostscope, workload, options.iterations)?);
        }
    }
    let medians: Vec<(Setup, f64)> = results
        .iter()
        .map(|(s, runs)| {
            (
                *s,
                median(&mut runs.iter().map(|r| r.loop_ns).collect::<Vec<_>>()),
            )
        })
        .collect();
    let anchor_of = |setup: Setup| {
        medians
            .iter()
            .find(|(s, _)| *s == setup.anchor())
            .map(|&(_, ns)| ns)
            .expect("every anchor is measured")
    };
    println!(
        "{:<40} {:>10} {:>8} {:>10} {:>12}",
        "setup", "loop ms", "ratio", "lost", "peak RSS"
    );
    for ((setup, runs), &(_, ns)) in results.iter().zip(&medians) {
        let mid = runs
            .iter()
            .min_by(|a, b| (a.loop_ns - ns).abs().total_cmp(&(b.loop_ns - ns).abs()))
            .expect("at least one run");
        println!(
            "{:<40} {:>10.1} {:>7.2}x {:>10} {:>12}",
            setup.label(),
            ns / 1e6,
            ns / anchor_of(*setup),
            mid.lost.map_or("-".to_owned(), |l| l.to_string()),
            mid.peak_rss_kib
                .map_or("-".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        );
    }
    println!("\n(lost: events_lost from why-missing's JSON verdict)");
    Ok(())
}

fn measure(setup: Setup, hostscope: &Path, workload: &Path, n: u64) -> Result<Run> {
    let mut target = Command::new(workload)
        .arg(n.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("start the workload")?;
    let pid = target.id().to_string();
    let report = std::env::temp_dir().join(format!("hs-bench-why-missing-{}", std::process::id()));
    let report_arg = report.to_str().expect("a UTF-8 temp dir");
    let watcher = match setup {
        Setup::FailedUntraced | Setup::StatUntraced => None,
        Setup::FailedWatchedPid => Some(Tracer::start(
            Command::new(hostscope).args(["why-missing", "--json", "-o", report_arg, "-p", &pid]),
            Ready::Stderr("attached"),
        )?),
        Setup::StatWatchedAll => Some(Tracer::start(
            Command::new(hostscope).args(["why-missing", "--json", "-o", report_arg, "--all"]),
            Ready::Stderr("attached"),
        )?),
    };
    target.stdin.take().expect("piped").write_all(b"g")?;
    let mut out = String::new();
    target
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut out)?;
    target.wait()?;
    let mut run = Run {
        loop_ns: out
            .trim()
            .parse()
            .with_context(|| format!("workload printed {out:?}"))?,
        ..Run::default()
    };
    if let Some(watcher) = watcher {
        // -p ends with its target; --all runs until interrupted.
        let finished = watcher.finish(setup == Setup::StatWatchedAll)?;
        run.peak_rss_kib = Some(finished.peak_rss_kib);
        let json = std::fs::read_to_string(&report)
            .with_context(|| format!("no report from why-missing: {}", finished.stderr))?;
        let _ = std::fs::remove_file(&report);
        run.lost = json
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["type"] == "verdict")
            .and_then(|v| v["events_lost"].as_u64());
    }
    Ok(run)
}
