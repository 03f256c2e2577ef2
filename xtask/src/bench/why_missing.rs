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

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use super::tracer::{Ready, Tracer};
use super::workload::{FAILED_OPENAT, SUCCESSFUL_STAT, Workload};
use super::{Options, build_hostscope, compile_c, median_run, mib};

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
    let failing = compile_c("openat_loop", FAILED_OPENAT)?;
    let stats = compile_c("stat_loop", SUCCESSFUL_STAT)?;
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
    let medians: Vec<(Setup, f64, &Run)> = results
        .iter()
        .map(|(s, runs)| {
            let (ns, mid) = median_run(runs, |r| r.loop_ns);
            (*s, ns, mid)
        })
        .collect();
    let anchor_of = |setup: Setup| {
        medians
            .iter()
            .find(|(s, _, _)| *s == setup.anchor())
            .map(|&(_, ns, _)| ns)
            .expect("every anchor is measured")
    };
    println!(
        "{:<40} {:>10} {:>8} {:>10} {:>12}",
        "setup", "loop ms", "ratio", "lost", "peak RSS"
    );
    for &(setup, ns, mid) in &medians {
        println!(
            "{:<40} {:>10.1} {:>7.2}x {:>10} {:>12}",
            setup.label(),
            ns / 1e6,
            ns / anchor_of(setup),
            mid.lost.map_or("-".to_owned(), |l| l.to_string()),
            mib(mid.peak_rss_kib),
        );
    }
    println!("\n(lost: events_lost from why-missing's JSON verdict)");
    Ok(())
}

fn measure(setup: Setup, hostscope: &Path, workload: &Path, n: u64) -> Result<Run> {
    let target = Workload::start(workload, n)?;
    let pid = target.pid().to_string();
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
    let mut run = Run {
        loop_ns: target.run()?,
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
