//! Where a traced run's CPU time goes, from counters rather than from
//! wall-clock ratios: the machine's busy time (/proc/stat), hostscope's own
//! (its /proc/PID/stat) and its kernel programs' (the kernel's BPF run-time
//! statistics). On a noisy machine a ratio of two timed runs moves by tens
//! of percent from one round to the next; these counters say what each
//! part costs per unit of work, and so how far a ratio can go.

use std::os::fd::OwnedFd;

use anyhow::{Context, Result};
use aya::programs::loaded_programs;
use aya::sys::{Stats, enable_stats};

/// The machine's CPU time so far, in clock ticks summed over CPUs.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTicks {
    /// Working: user, nice, system, irq, softirq.
    pub busy: u64,
    /// Taken by the hypervisor for something else while a CPU had work.
    pub steal: u64,
}

impl CpuTicks {
    pub fn since(self, earlier: CpuTicks) -> CpuTicks {
        CpuTicks {
            busy: self.busy.saturating_sub(earlier.busy),
            steal: self.steal.saturating_sub(earlier.steal),
        }
    }
}

pub fn machine_cpu_ticks() -> Result<CpuTicks> {
    let stat = std::fs::read_to_string("/proc/stat").context("read /proc/stat")?;
    let line = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .context("no cpu line in /proc/stat")?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().context("a /proc/stat field"))
        .collect::<Result<_>>()?;
    // user nice system idle iowait irq softirq steal ...
    let at = |i: usize| fields.get(i).copied().unwrap_or(0);
    Ok(CpuTicks {
        busy: at(0) + at(1) + at(2) + at(5) + at(6),
        steal: at(7),
    })
}

/// The kernel's BPF run-time statistics, on while this lives. They add a
/// clock read or two to every program run: turn them on only for a run
/// that is not timed.
pub struct RunTimeStats {
    // Closing it turns the statistics off.
    _on: OwnedFd,
}

impl RunTimeStats {
    pub fn enable() -> Result<RunTimeStats> {
        enable_stats(Stats::RunTime)
            .map(|fd| RunTimeStats { _on: fd })
            .context("turn on the kernel's BPF run-time statistics (BPF_ENABLE_STATS)")
    }
}

/// One of hostscope's kernel programs: how often it ran and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramRuns {
    pub name: String,
    pub runs: u64,
    pub ns: u64,
}

/// hostscope's programs loaded now (named `hs_…`), summed by name.
pub fn hostscope_programs() -> Result<Vec<ProgramRuns>> {
    let mut out: Vec<ProgramRuns> = Vec::new();
    for info in loaded_programs() {
        let info = info.context("read a loaded BPF program's info")?;
        let Some(name) = info.name_as_str().filter(|n| n.starts_with("hs_")) else {
            continue;
        };
        let (runs, ns) = (info.run_count(), info.run_time().as_nanos() as u64);
        match out.iter_mut().find(|p| p.name == name) {
            Some(p) => {
                p.runs += runs;
                p.ns += ns;
            }
            None => out.push(ProgramRuns {
                name: name.to_owned(),
                runs,
                ns,
            }),
        }
    }
    Ok(out)
}

/// What ran between two snapshots, busiest first; programs that did not
/// run are left out.
pub fn runs_between(before: &[ProgramRuns], after: &[ProgramRuns]) -> Vec<ProgramRuns> {
    let mut out: Vec<ProgramRuns> = after
        .iter()
        .map(|a| {
            let b = before.iter().find(|b| b.name == a.name);
            ProgramRuns {
                name: a.name.clone(),
                runs: a.runs - b.map_or(0, |b| b.runs.min(a.runs)),
                ns: a.ns - b.map_or(0, |b| b.ns.min(a.ns)),
            }
        })
        .filter(|p| p.runs > 0)
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.ns));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, runs: u64, ns: u64) -> ProgramRuns {
        ProgramRuns {
            name: name.to_owned(),
            runs,
            ns,
        }
    }

    #[test]
    fn runs_between_subtracts_and_keeps_what_ran() {
        let before = [p("hs_a", 10, 1000), p("hs_b", 5, 500)];
        let after = [p("hs_a", 30, 5000), p("hs_b", 5, 500), p("hs_c", 2, 9000)];
        assert_eq!(
            runs_between(&before, &after),
            [p("hs_c", 2, 9000), p("hs_a", 20, 4000)]
        );
    }
}
