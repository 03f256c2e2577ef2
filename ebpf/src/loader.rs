//! Loading the probe into the kernel, configuring it, and reading its
//! counters. The programs and maps live as long as the [`Probe`]: dropping it
//! (or the process dying, even by SIGKILL) closes their file descriptors and
//! the kernel unloads them, since nothing is pinned.

use aya::maps::{Array, HashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::BtfTracePoint;
use aya::{Btf, Ebpf, EbpfLoader};
use aya_obj::btf::BtfKind;
use hostscope_core::model::{Capture, LookupRepeat, Losses};

use crate::ProbeError;
use crate::abi::{self, LastLookup, Live, Spec};
use crate::stream::EventStream;

static SYSCALLS_OBJ: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/syscalls.bpf.o"));

/// Which processes the probe reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only processes added with [`Probe::trace_pid`] (and, when followed,
    /// their children).
    Pids,
    /// Every process on the host but this one.
    All,
}

/// What the probe does for one syscall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallRule {
    /// The syscall's number in the native architecture's numbering.
    pub nr: u32,
    /// What to copy for each argument.
    pub captures: [Capture; 6],
    /// Copy at entry rather than exit (the memory is gone at exit: execve).
    pub at_entry: bool,
    /// The syscall never returns (exit, exit_group): report it at entry.
    pub noreturn: bool,
    /// Which calls to deliver.
    pub deliver: Deliver,
    /// A success replaces the caller's memory (execve): copy nothing then.
    pub replaces_image: bool,
    /// With [`ProbeConfig::socket_payload`], on a stream socket: an
    /// [`Event::Socket`](hostscope_core::model::Event::Socket) record,
    /// the payload found as this says, instead of the rules above.
    pub socket_io: Option<SocketIo>,
}

impl SyscallRule {
    /// The rule for socket syscall `nr`: a socket record on a stream
    /// socket, its payload where `io` says, and nothing else.
    pub fn socket(nr: u32, io: SocketIo) -> SyscallRule {
        SyscallRule {
            nr,
            captures: [Capture::None; 6],
            at_entry: false,
            noreturn: false,
            deliver: Deliver::All,
            replaces_image: false,
            socket_io: Some(io),
        }
    }
}

/// Where a socket syscall's payload is, for [`SyscallRule::socket_io`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketIo {
    /// Argument 1 is the buffer: read, write, sendto, recvfrom.
    Buf,
    /// Argument 1 is a `struct iovec *`: readv, writev (the first
    /// element's bytes).
    Iov,
    /// Argument 1 is a `struct msghdr *`: sendmsg, recvmsg.
    Msg,
    /// No payload, and failures count: connect.
    Connect,
    /// The socket is the returned fd: accept, accept4.
    Accept,
}

/// Which calls of a syscall the probe delivers; the others cost it nothing
/// beyond the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deliver {
    All,
    /// Failures only (return value -4095..=-1).
    Failed,
    /// A path lookup: failures whose errno is in
    /// [`ProbeConfig::lookup_errnos`], and a success only when the same
    /// thread's previous lookup failed (the end of a search).
    Lookup,
    /// Only calls whose first argument is fd 2 (writes to stderr).
    Stderr,
}

/// How to set the probe up.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    pub scope: Scope,
    /// The syscalls to report; all others cost one map lookup.
    pub rules: Vec<SyscallRule>,
    /// Bytes of read/write data copied per call (strace's -s), at most 4096.
    pub data_bytes: u32,
    /// Ring buffer size in KiB: a power of two, at least 4.
    pub ring_kib: u32,
    /// Time every call (a program at syscall entry too). Without it the
    /// probe runs only at exit, at about half the cost, and events have no
    /// duration.
    pub timed: bool,
    /// Errnos (each below 64) for which [`Deliver::Lookup`] sends a failure;
    /// 63 stands for every errno from 63 up.
    pub lookup_errnos: &'static [i32],
    /// Send an [`Event::Exec`](hostscope_core::model::Event::Exec) for every
    /// successful exec of a traced process.
    pub exec_records: bool,
    /// Count a thread's identical failed lookups instead of sending each:
    /// one [`Event::Repeat`](hostscope_core::model::Event::Repeat) with the
    /// count follows (see [`Probe::pending_repeats`] for those still
    /// counted at the end). Only without `timed`.
    pub fold_repeats: bool,
    /// Send an [`Event::Oom`](hostscope_core::model::Event::Oom) when the
    /// OOM killer chooses a process (Linux >= 6.8; see
    /// [`Probe::oom_unavailable`]).
    pub oom_records: bool,
    /// Send socket records ([`SyscallRule::socket_io`]) with this many
    /// bytes of payload (at most 4096); `None`: no socket records. Only
    /// without `timed`.
    pub socket_payload: Option<u32>,
    /// Let [`Probe::show_in_full`] ask for every call of one process, or of
    /// all of them, whatever the rules say. Only without `timed`.
    pub live: bool,
}

/// The loaded, attached probe.
pub struct Probe {
    // Holds the programs and their links: dropping it detaches everything.
    bpf: Ebpf,
    traced: Array<MapData, u64>,
    trace_flags: HashMap<MapData, u32, u32>,
    stats: PerCpuArray<MapData, u64>,
    live: Array<MapData, Live>,
    repeats: Array<MapData, LastLookup>,
    oom_unavailable: Option<String>,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe").finish_non_exhaustive()
    }
}

impl Probe {
    /// Checks privileges, loads and attaches the programs.
    pub fn load(config: &ProbeConfig) -> Result<Self, ProbeError> {
        crate::privileges::check()?;
        let ring_bytes = ring_bytes(config.ring_kib)?;
        let btf = Btf::from_sys_fs().map_err(ProbeError::NoBtf)?;
        let self_tgid = std::process::id();
        let all = u32::from(config.scope == Scope::All);
        let data_bytes = config.data_bytes.min(4096);
        // Wake the reader once a quarter of the ring is queued, counted per
        // CPU; it also polls on a timer, so small bursts are not held back
        // for long.
        let cpus = aya::util::nr_cpus().map_or(1, |n| n.max(1)) as u64;
        let wakeup_bytes = (u64::from(ring_bytes / 4) / cpus).max(1);
        let exit_only = u32::from(!config.timed);
        let pid_words = pid_words();
        let exec_records = u32::from(config.exec_records);
        let live = u32::from(config.live && !config.timed);
        let oom = u32::from(config.oom_records);
        let fold = u32::from(config.fold_repeats && !config.timed);
        let sockio = u32::from(config.socket_payload.is_some() && !config.timed);
        let payload = config.socket_payload.unwrap_or(0).min(4096);
        let sock_tp = u32::from(
            sockio == 1
                && has_socket_tracepoints(&btf)
                && std::env::var_os(SOCKETS_FROM_SYSCALLS).is_none(),
        );
        // With the socket tracepoints, a probe for socket records alone
        // (hostscope chains) needs no syscall tracepoint: the connection's
        // reads and writes come from those, its life from
        // inet_sock_set_state, and no other process's syscalls pay.
        let syscalls_unused =
            sock_tp == 1 && live == 0 && config.rules.iter().all(|rule| rule.socket_io.is_some());
        let lookup_errnos = config
            .lookup_errnos
            .iter()
            .filter(|&&e| (1..64).contains(&e))
            .fold(0u64, |mask, &e| mask | 1 << e);
        let mut bpf = EbpfLoader::new()
            .btf(Some(&btf))
            .override_global("cfg_all", &all, true)
            .override_global("cfg_self_tgid", &self_tgid, true)
            .override_global("cfg_buf_len", &data_bytes, true)
            .override_global("cfg_wakeup_bytes", &wakeup_bytes, true)
            .override_global("cfg_exit_only", &exit_only, true)
            .override_global("cfg_lookup_errnos", &lookup_errnos, true)
            .override_global("cfg_exec_events", &exec_records, true)
            .override_global("cfg_live", &live, true)
            .override_global("cfg_oom_events", &oom, true)
            .override_global("cfg_fold_repeats", &fold, true)
            .override_global("cfg_sockio", &sockio, true)
            .override_global("cfg_payload", &payload, true)
            .override_global("cfg_sock_tp", &sock_tp, true)
            .map_max_entries("events", ring_bytes)
            .map_max_entries("traced", pid_words)
            .map_max_entries("searching", pid_words)
            // aya has no typed API for task storage; only the kernel uses it.
            .allow_unsupported_maps()
            .load(SYSCALLS_OBJ)
            .map_err(ProbeError::Load)?;

        let mut specs: Array<_, Spec> =
            Array::try_from(map(&mut bpf, "specs")?).map_err(map_error("specs"))?;
        for rule in &config.rules {
            if rule.nr < abi::MAX_SYSCALLS {
                specs
                    .set(rule.nr, spec_of(rule), 0)
                    .map_err(map_error("specs"))?;
            }
        }

        let mut oom_unavailable = None;
        for (program, tracepoint) in [
            ("hs_sys_enter", "sys_enter"),
            ("hs_sys_exit", "sys_exit"),
            ("hs_fork", "sched_process_fork"),
            ("hs_exec", "sched_process_exec"),
            ("hs_exit", "sched_process_exit"),
            ("hs_oom", "mark_victim"),
            ("hs_sock_state", "inet_sock_set_state"),
            ("hs_sock_send", "sock_send_length"),
            ("hs_sock_recv", "sock_recv_length"),
        ] {
            let unused = match program {
                "hs_sys_enter" => !config.timed,
                "hs_sys_exit" => syscalls_unused,
                // Also lets go of what a thread kept under the id it had
                // before it exec'd.
                "hs_exec" => exec_records == 0 && fold == 0 && lookup_errnos == 0,
                "hs_oom" => !config.oom_records,
                "hs_sock_state" => config.socket_payload.is_none(),
                "hs_sock_send" | "hs_sock_recv" => sock_tp == 0,
                _ => false,
            };
            if unused {
                continue;
            }
            let attach_err = |source| ProbeError::Attach {
                program,
                tracepoint,
                source,
            };
            let prog: &mut BtfTracePoint = bpf
                .program_mut(program)
                .expect("the object defines every program we attach")
                .try_into()
                .map_err(attach_err)?;
            let attached = prog
                .load(tracepoint, &btf)
                .and_then(|()| prog.attach().map(drop))
                .map_err(attach_err);
            match attached {
                // OOM records need a newer kernel than the rest (the
                // tracepoint names its victim's task since 6.8): without
                // them the probe still runs, and says so.
                Err(err) if program == "hs_oom" => oom_unavailable = Some(error_chain(&err)),
                other => other?,
            }
        }

        let traced = Array::try_from(take(&mut bpf, "traced")?).map_err(map_error("traced"))?;
        let trace_flags =
            HashMap::try_from(take(&mut bpf, "trace_flags")?).map_err(map_error("trace_flags"))?;
        let stats = PerCpuArray::try_from(take(&mut bpf, "stats")?).map_err(map_error("stats"))?;
        let live = Array::try_from(take(&mut bpf, "live")?).map_err(map_error("live"))?;
        let repeats = Array::try_from(take(&mut bpf, "repeats")?).map_err(map_error("repeats"))?;
        Ok(Probe {
            bpf,
            traced,
            trace_flags,
            stats,
            live,
            repeats,
            oom_unavailable,
        })
    }

    /// Detaches every program, so that what the ring holds and what the
    /// maps count stop changing: then a last drain and
    /// [`Probe::pending_repeats`] see every repeat once (a thread ending
    /// meanwhile would otherwise send its count after the drain, or a slot
    /// change hands under the reader). The maps stay readable.
    pub fn stop(&mut self) -> Result<(), ProbeError> {
        for (name, program) in self.bpf.programs_mut() {
            if let aya::programs::Program::BtfTracePoint(program) = program {
                match program.unload() {
                    Ok(()) | Err(aya::programs::ProgramError::NotLoaded) => {}
                    Err(source) => {
                        return Err(ProbeError::Detach {
                            program: name.to_owned(),
                            source,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The repeats still counted in the kernel, not yet sent: read them
    /// after [`Probe::stop`], so that none is lost or counted twice.
    /// `ts_ns` is monotonic here (the decoder makes record times unix
    /// times; these are the caller's to place).
    pub fn pending_repeats(&self) -> Result<Vec<LookupRepeat>, ProbeError> {
        let mut out = Vec::new();
        for last in self.repeats.iter() {
            let last = last.map_err(map_error("repeats"))?;
            if last.holder != 0 && last.count > 0 {
                out.push(LookupRepeat {
                    ts_ns: last.last_ts,
                    pid: (last.holder >> 32) as u32,
                    tid: last.holder as u32,
                    count: last.count,
                });
            }
        }
        Ok(out)
    }

    /// Why OOM records were asked for but cannot be sent (the kernel's
    /// tracepoint is too old, say); `None` when they are sent or were not
    /// asked for.
    pub fn oom_unavailable(&self) -> Option<&str> {
        self.oom_unavailable.as_deref()
    }

    /// With [`ProbeConfig::live`], sends every call of process `focus`, or
    /// with `everything` of every traced process, not only those the rules
    /// ask for. Takes effect at once; without `live` it does nothing.
    /// With `sockets` (and [`ProbeConfig::socket_payload`]), socket
    /// records are sent too; in live mode they are off until asked for.
    pub fn show_in_full(
        &mut self,
        focus: Option<u32>,
        everything: bool,
        sockets: bool,
    ) -> Result<(), ProbeError> {
        let live = Live {
            focus_tgid: focus.unwrap_or(0),
            everything: u32::from(everything),
            sockets: u32::from(sockets),
            pad: 0,
        };
        self.live.set(0, live, 0).map_err(map_error("live"))
    }

    /// Starts tracing process `pid` (all its threads); with `follow`, also
    /// the processes it starts from now on.
    ///
    /// The bit is set by read-modify-write: call this before the process (or
    /// a traced process sharing its 64-pid word) can fork, or accept that a
    /// child forked in that instant may be missed.
    pub fn trace_pid(&mut self, pid: u32, follow: bool) -> Result<(), ProbeError> {
        let flags = if follow { abi::TRACE_FOLLOW } else { 0 };
        self.trace_flags
            .insert(pid, flags, 0)
            .map_err(map_error("trace_flags"))?;
        let word = pid / 64;
        let bits = self.traced.get(&word, 0).map_err(map_error("traced"))?;
        self.traced
            .set(word, bits | (1 << (pid % 64)), 0)
            .map_err(map_error("traced"))
    }

    /// The stream of decoded events. Call once.
    pub fn events(&mut self) -> Result<EventStream, ProbeError> {
        let ring =
            RingBuf::try_from(take(&mut self.bpf, "events")?).map_err(map_error("events"))?;
        EventStream::new(ring)
    }

    /// The losses so far, summed over CPUs.
    pub fn losses(&self) -> Result<Losses, ProbeError> {
        let get = |index| self.stat(index);
        Ok(Losses {
            ring_full: get(abi::STAT_RING_FULL)?,
            truncated: get(abi::STAT_TRUNCATED)?,
            unreadable: get(abi::STAT_UNREADABLE)?,
            unmatched_exit: get(abi::STAT_UNMATCHED_EXIT)?,
            table_full: get(abi::STAT_TABLE_FULL)?,
        })
    }

    /// Records the probe put into the ring buffer so far.
    pub fn delivered(&self) -> Result<u64, ProbeError> {
        self.stat(abi::STAT_DELIVERED)
    }

    /// One counter of the `stats` map, summed over CPUs.
    fn stat(&self, index: u32) -> Result<u64, ProbeError> {
        let per_cpu = self.stats.get(&index, 0).map_err(map_error("stats"))?;
        Ok(per_cpu.iter().sum())
    }
}

fn map_error(name: &'static str) -> impl FnOnce(aya::maps::MapError) -> ProbeError {
    move |source| ProbeError::Map { name, source }
}

fn map<'a>(bpf: &'a mut Ebpf, name: &'static str) -> Result<&'a mut aya::maps::Map, ProbeError> {
    bpf.map_mut(name).ok_or(ProbeError::Map {
        name,
        source: aya::maps::MapError::InvalidName {
            name: name.to_owned(),
        },
    })
}

fn take(bpf: &mut Ebpf, name: &'static str) -> Result<aya::maps::Map, ProbeError> {
    bpf.take_map(name).ok_or(ProbeError::Map {
        name,
        source: aya::maps::MapError::InvalidName {
            name: name.to_owned(),
        },
    })
}

/// Words of the traced-tgid bitmap: one bit per possible pid.
fn pid_words() -> u32 {
    let pid_max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1 << 22);
    pid_max.div_ceil(64).max(1)
}

fn ring_bytes(kib: u32) -> Result<u32, ProbeError> {
    let page_kib = (page_size() / 1024).max(4);
    if kib < page_kib || !kib.is_power_of_two() || kib > (1 << 20) {
        return Err(ProbeError::RingSize { kib });
    }
    Ok(kib * 1024)
}

fn page_size() -> u32 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u32::try_from(size).unwrap_or(4096)
}

fn spec_of(rule: &SyscallRule) -> Spec {
    let mut spec = Spec {
        flags: abi::SPEC_ENABLED,
        ..Spec::default()
    };
    spec.flags |= match rule.deliver {
        Deliver::All => 0,
        Deliver::Failed => abi::SPEC_FAILED_ONLY,
        Deliver::Lookup => abi::SPEC_LOOKUP,
        Deliver::Stderr => abi::SPEC_STDERR,
    };
    if rule.replaces_image {
        spec.flags |= abi::SPEC_EXEC;
    }
    if rule.at_entry {
        spec.flags |= abi::SPEC_ENTRY_CAPTURE;
    }
    if rule.noreturn {
        spec.flags |= abi::SPEC_NORETURN;
    }
    if let Some(io) = rule.socket_io {
        spec.flags |= abi::SPEC_SOCKIO;
        spec.aux[0] = match io {
            SocketIo::Buf => abi::IO_BUF,
            SocketIo::Iov => abi::IO_IOV,
            SocketIo::Msg => abi::IO_MSG,
            SocketIo::Connect => abi::IO_CONNECT,
            SocketIo::Accept => abi::IO_ACCEPT,
        };
        return spec;
    }
    for (i, capture) in rule.captures.iter().enumerate() {
        let (kind, aux) = match *capture {
            Capture::None => (abi::CAP_NONE, 0),
            Capture::Str => (abi::CAP_STR, 0),
            Capture::BufIn { len_arg } => (abi::CAP_BUF_IN, len_arg),
            Capture::BufOut => (abi::CAP_BUF_OUT, 0),
            Capture::SockAddrIn { len_arg } => (abi::CAP_SOCKADDR_IN, len_arg),
            Capture::SockAddrOut { len_ptr_arg } => (abi::CAP_SOCKADDR_OUT, len_ptr_arg),
            Capture::FdPair => (abi::CAP_FDPAIR, 0),
            Capture::IntOut => (abi::CAP_INT_OUT, 0),
            Capture::Struct { size } => (abi::CAP_STRUCT, size),
            Capture::Argv => (abi::CAP_ARGV, 0),
        };
        spec.kind[i] = kind;
        spec.aux[i] = aux;
    }
    let captured = || {
        spec.kind
            .iter()
            .enumerate()
            .filter(|&(_, &k)| k != abi::CAP_NONE)
            .map(|(i, _)| i as u8)
    };
    spec.cap_lo = captured().next().unwrap_or(0);
    spec.cap_hi = captured().next_back().map_or(0, |i| i + 1);
    spec
}

/// An error and its causes, on one line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Set in the environment, makes the probe take socket records from
/// `sys_exit` as on kernels without the socket tracepoints: how the tests
/// run that path on a kernel that has them.
const SOCKETS_FROM_SYSCALLS: &str = "HOSTSCOPE_SOCKETS_FROM_SYSCALLS";

/// Whether the kernel has the `sock_send_length` and `sock_recv_length`
/// tracepoints (Linux >= 6.3), which hand over a read's or write's socket
/// directly; older kernels get socket records from `sys_exit`, which finds
/// the socket from the fd.
fn has_socket_tracepoints(btf: &Btf) -> bool {
    ["btf_trace_sock_send_length", "btf_trace_sock_recv_length"]
        .iter()
        .all(|name| btf.id_by_type_name_kind(name, BtfKind::Typedef).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_size_must_be_a_power_of_two_pages() {
        assert!(ring_bytes(3).is_err());
        assert!(ring_bytes(12).is_err());
        assert_eq!(ring_bytes(16384).unwrap(), 16 << 20);
    }

    #[test]
    fn rules_become_specs() {
        let rule = SyscallRule {
            nr: 257,
            captures: [
                Capture::None,
                Capture::Str,
                Capture::None,
                Capture::None,
                Capture::BufIn { len_arg: 2 },
                Capture::None,
            ],
            at_entry: false,
            noreturn: false,
            deliver: Deliver::Failed,
            replaces_image: false,
            socket_io: None,
        };
        let spec = spec_of(&rule);
        assert_eq!(spec.kind, [0, abi::CAP_STR, 0, 0, abi::CAP_BUF_IN, 0]);
        assert_eq!(spec.aux[4], 2);
        assert_eq!((spec.cap_lo, spec.cap_hi), (1, 5));
        assert_eq!(spec.flags, abi::SPEC_ENABLED | abi::SPEC_FAILED_ONLY);
    }
}
