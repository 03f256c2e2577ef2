//! `cargo xtask bench why-missing`: what watching for missing files costs.
//!
//! Two workloads, each timed by its own loop (start-up is not counted):
//! - N failed openat calls, untraced and under `why-missing -p`: every call
//!   is an event the analysis must see;
//! - N successful stat calls, untraced and while `why-missing --all` watches
//!   the whole host: the calls the probe must pass over almost for free.
//!
//! Each workload also runs under a program that does nothing on sys_exit
//! (the tracepoint why-missing uses): the floor no syscall tracer can go
//! below. Rounds outside, setups inside; each run is compared with the
//! untraced run of the same workload and round.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use super::tracer::{Ready, Tracer};
use super::workload::{FAILED_OPENAT, SUCCESSFUL_STAT, Workload};
use super::{
    Options, PairedRatio, build_ebpf_example, build_hostscope, compile_c, median_run, mib,
    per_round,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    FailedUntraced,
    FailedFloor,
    FailedWatchedPid,
    StatUntraced,
    StatFloor,
    StatWatchedAll,
}

impl Setup {
    fn label(self) -> &'static str {
        match self {
            Setup::FailedUntraced => "failed openat, untraced",
            Setup::FailedFloor => "failed openat, empty program on sys_exit",
            Setup::FailedWatchedPid => "failed openat, why-missing -p",
            Setup::StatUntraced => "successful stat, untraced",
            Setup::StatFloor => "successful stat, empty program on sys_exit",
            Setup::StatWatchedAll => "successful stat, why-missing --all",
        }
    }

    /// The untraced setup this one is compared with.
    fn anchor(self) -> Setup {
        match self {
            Setup::FailedUntraced | Setup::FailedFloor | Setup::FailedWatchedPid => {
                Setup::FailedUntraced
            }
            Setup::StatUntraced | Setup::StatFloor | Setup::StatWatchedAll => Setup::StatUntraced,
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
    let floor = build_ebpf_example("floor")?;
    let failing = compile_c("openat_loop", FAILED_OPENAT)?;
    let stats = compile_c("stat_loop", SUCCESSFUL_STAT)?;
    println!(
        "bench why-missing: {} calls per run, median of {} runs\n",
        options.iterations, options.runs
    );
    let setups = [
        Setup::FailedUntraced,
        Setup::FailedFloor,
        Setup::FailedWatchedPid,
        Setup::StatUntraced,
        Setup::StatFloor,
        Setup::StatWatchedAll,
    ];
    let mut results: Vec<(Setup, Vec<Run>)> = setups.iter().map(|&s| (s, Vec::new())).collect();
    for _ in 0..options.runs {
        for (setup, runs) in &mut results {
            let workload = match setup.anchor() {
                Setup::FailedUntraced => &failing,
                _ => &stats,
            };
            runs.push(measure(
                *setup,
                &hostscope,
                &floor,
                workload,
                options.iterations,
            )?);
        }
    }
    let loops = |wanted: Setup| per_round(&results, wanted, |r| r.loop_ns);
    println!(
        "{:<44} {:>10} {:>20} {:>8} {:>10}",
        "setup", "loop ms", "ratio (quartiles)", "lost", "peak RSS"
    );
    for (setup, runs) in &results {
        let (ns, mid) = median_run(runs, |r| r.loop_ns);
        println!(
            "{:<44} {:>10.1} {:>20} {:>8} {:>10}",
            setup.label(),
            ns / 1e6,
            PairedRatio::of(&loops(*setup), &loops(setup.anchor())),
            mid.lost.map_or("-".to_owned(), |l| l.to_string()),
            mib(mid.peak_rss_kib),
        );
    }
    println!(
        "\nover the empty program of the same round: why-missing -p {}, --all {}",
        PairedRatio::of(&loops(Setup::FailedWatchedPid), &loops(Setup::FailedFloor)),
        PairedRatio::of(&loops(Setup::StatWatchedAll), &loops(Setup::StatFloor)),
    );
    println!(
        "(ratios: each run over the untraced run of its round; lost: events_lost from \
         why-missing's JSON verdict)"
    );
    Ok(())
}

fn measure(setup: Setup, hostscope: &Path, floor: &Path, workload: &Path, n: u64) -> Result<Run> {
    let target = Workload::start(workload, n)?;
    let pid = target.pid().to_string();
    let report = std::env::temp_dir().join(format!("hs-bench-why-missing-{}", std::process::id()));
    let report_arg = report.to_str().expect("a UTF-8 temp dir");
    let watcher = match setup {
        Setup::FailedUntraced | Setup::StatUntraced => None,
        Setup::FailedFloor | Setup::StatFloor => {
            let floor = Tracer::start(
                Command::new(floor).args([pid.as_str(), "--exit-only"]),
                Ready::Stderr("attached"),
            )?;
            let run = Run {
                loop_ns: target.run()?,
                ..Run::default()
            };
            floor.finish(false)?;
            return Ok(run);
        }
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
