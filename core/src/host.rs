//! The machine as a whole, for the TUI's header: name, uptime, load, CPU per
//! core, memory and swap. One [`HostSample`] per refresh; two give per-core
//! CPU use. Whatever cannot be read is `None`, never an error.

use std::time::Duration;

use ::procfs::{Current, CurrentSI, KernelStats, LoadAverage, Meminfo, Uptime};

/// One core's CPU time since boot, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTicks {
    /// Ticks spent doing anything but idling or waiting for I/O.
    pub busy: u64,
    /// All ticks, idle included.
    pub total: u64,
}

/// Memory figures in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    pub total: u64,
    /// What new allocations could get without swapping (`MemAvailable`).
    pub available: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

/// The host at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostSample {
    /// The node name (may be anything the administrator set: escape it).
    pub hostname: Vec<u8>,
    pub uptime: Option<Duration>,
    /// Load averages over 1, 5 and 15 minutes.
    pub load: Option<[f32; 3]>,
    /// One entry per online core, in `/proc/stat` order.
    pub cpus: Vec<CpuTicks>,
    pub memory: Option<Memory>,
}

impl HostSample {
    /// Reads `/proc` and `uname`.
    pub fn read() -> HostSample {
        let cpus = KernelStats::current()
            .map(|k| k.cpu_time.iter().map(ticks).collect())
            .unwrap_or_default();
        HostSample {
            hostname: hostname(),
            uptime: Uptime::current().ok().map(|u| u.uptime_duration()),
            load: LoadAverage::current()
                .ok()
                .map(|l| [l.one, l.five, l.fifteen]),
            cpus,
            memory: Meminfo::current().ok().map(|m| Memory {
                total: m.mem_total,
                available: m.mem_available.unwrap_or(m.mem_free),
                swap_total: m.swap_total,
                swap_free: m.swap_free,
            }),
        }
    }

    /// Per-core use between `prev` and this sample, in percent of that core
    /// (0 to 100); empty when the core count changed.
    pub fn cpu_percent_since(&self, prev: &HostSample) -> Vec<f64> {
        if prev.cpus.len() != self.cpus.len() {
            return Vec::new();
        }
        self.cpus
            .iter()
            .zip(&prev.cpus)
            .map(|(now, then)| {
                let total = now.total.saturating_sub(then.total);
                let busy = now.busy.saturating_sub(then.busy);
                if total == 0 {
                    0.0
                } else {
                    (busy as f64 / total as f64 * 100.0).min(100.0)
                }
            })
            .collect()
    }
}

fn ticks(cpu: &::procfs::CpuTime) -> CpuTicks {
    let idle = cpu.idle + cpu.iowait.unwrap_or(0);
    let busy = cpu.user
        + cpu.nice
        + cpu.system
        + cpu.irq.unwrap_or(0)
        + cpu.softirq.unwrap_or(0)
        + cpu.steal.unwrap_or(0);
    CpuTicks {
        busy,
        total: busy + idle,
    }
}

/// This host's node name (`uname`), raw; empty when unknown.
pub fn hostname() -> Vec<u8> {
    // SAFETY: uname fills the struct it is given; all-zero is a valid start.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is a valid, writable utsname.
    if unsafe { libc::uname(&mut name) } != 0 {
        return Vec::new();
    }
    name.nodename
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_core_use_is_busy_ticks_over_all_ticks() {
        let prev = HostSample {
            cpus: vec![
                CpuTicks {
                    busy: 100,
                    total: 1000,
                },
                CpuTicks { busy: 0, total: 0 },
            ],
            ..HostSample::default()
        };
        let now = HostSample {
            cpus: vec![
                CpuTicks {
                    busy: 150,
                    total: 1100,
                },
                CpuTicks { busy: 0, total: 0 },
            ],
            ..HostSample::default()
        };
        assert_eq!(now.cpu_percent_since(&prev), vec![50.0, 0.0]);
        let fewer = HostSample::default();
        assert!(now.cpu_percent_since(&fewer).is_empty());
    }

    #[test]
    fn this_machine_has_a_name_cores_and_memory() {
        let host = HostSample::read();
        assert!(!host.hostname.is_empty());
        assert!(!host.cpus.is_empty());
        assert!(host.memory.is_some_and(|m| m.total > 0));
        assert!(host.uptime.is_some() && host.load.is_some());
    }
}
