//! `cargo xtask bench trace`: the cost of tracing a syscall-heavy process.
//!
//! The workload makes N failed openat calls in a loop and times the loop
//! itself (so tracer start-up is not counted). It runs untraced, under
//! `hostscope trace -p`, under `strace -f -e trace=openat`, and under a
//! bpftrace counter; under programs that do nothing on sys_enter and
//! sys_exit, the floor of any syscall tracer; and untraced again while
//! hostscope traces another process, to show what non-targets pay. Each setup runs `runs` times and
//! each run is compared with the untraced run of its round.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::tracer::{Ready, Tracer};
use super::workload::{FAILED_OPENAT, Workload};
use super::{
    Options, PairedRatio, build_ebpf_example, build_hostscope, compile_c, median_run, mib,
    per_round,
};

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
    Floor,
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
            Setup::Floor => "empty programs on sys_enter+sys_exit",
            Setup::Bystander => "untraced, hostscope tracing another pid",
        }
    }
}

pub fn run(options: &Options) -> Result<()> {
    let hostscope = build_hostscope()?;
    let drain = build_ebpf_example("drain")?;
    let floor = build_ebpf_example("floor")?;
    let workload = compile_c("openat_loop", FAILED_OPENAT)?;
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
        Setup::Floor,
        Setup::Bystander,
    ];
    let tools = Tools {
        hostscope: &hostscope,
        drain: &drain,
        floor: &floor,
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
    let loops = |wanted: Setup| per_round(results, wanted, |r| r.loop_ns);
    let untraced = loops(Setup::Untraced);
    println!(
        "{:<42} {:>10} {:>20} {:>10} {:>8} {:>10}",
        "setup", "loop ms", "ratio (quartiles)", "events/s", "lost", "peak RSS"
    );
    for (setup, runs) in results {
        let (ns, mid) = median_run(runs, |r| r.loop_ns);
        let events_per_s = mid.events.map_or("-".to_owned(), |e| {
            format!("{:.0}k", e as f64 / (ns / 1e9) / 1e3)
        });
        let lost = mid.lost.map_or("-".to_owned(), |l| l.to_string());
        println!(
            "{:<42} {:>10.1} {:>20} {:>10} {:>8} {:>10}",
            setup.label(),
            ns / 1e6,
            PairedRatio::of(&loops(*setup), &untraced),
            events_per_s,
            lost,
            mib(mid.peak_rss_kib)
        );
    }
    let floor = loops(Setup::Floor);
    println!(
        "\nover the empty programs of the same round: hostscope trace -p {}, \
         untraced while hostscope traces another pid {}",
        PairedRatio::of(&loops(Setup::Hostscope), &floor),
        PairedRatio::of(&loops(Setup::Bystander), &floor),
    );
    println!(
        "(ratios: each run over the untraced run of its round; events/s and lost: \
         hostscope's own count of delivered and lost events; {iterations} calls per run)"
    );
}

struct Tools<'a> {
    hostscope: &'a Path,
    drain: &'a Path,
    floor: &'a Path,
    workload: &'a Path,
}

fn measure(setup: Setup, tools: &Tools<'_>, n: u64) -> Result<Run> {
    let hostscope = tools.hostscope;
    let target = Workload::start(tools.workload, n)?;
    let pid = target.pid().to_string();
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
        Setup::Floor => Some(Tracer::start(
            Command::new(tools.floor).arg(&pid),
            Ready::Stderr("attached"),
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

    let loop_ns = target.run()?;

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
