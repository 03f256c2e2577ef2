//! `drain PID`: loads the probe for openat of one process and drains its
//! records (parsed, then dropped: no strace decoding, no output). `cargo
//! xtask bench trace` runs it to tell the kernel side's cost from the cost of
//! decoding and printing.

use hostscope_core::model::Capture;
use hostscope_ebpf::{Deliver, EventStream, Probe, ProbeConfig, Scope, SyscallRule};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let pid: u32 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("usage: drain PID");
    let mut captures = [Capture::None; 6];
    captures[1] = Capture::Str;
    let config = ProbeConfig {
        scope: Scope::Pids,
        rules: vec![SyscallRule {
            nr: libc::SYS_openat as u32,
            captures,
            at_entry: false,
            noreturn: false,
            deliver: Deliver::All,
            replaces_image: false,
            socket_io: None,
        }],
        data_bytes: 32,
        ring_kib: 4096,
        timed: true,
        lookup_errnos: &[],
        exec_records: false,
        live: false,
        oom_records: false,
        fold_repeats: false,
        socket_payload: None,
    };
    let mut probe = Probe::load(&config).expect("load the probe (as root)");
    let mut stream = probe.events().expect("open the ring buffer");
    probe.trace_pid(pid, false).expect("trace the pid");
    eprintln!("attached to {pid}");
    let mut records = 0;
    let mut tick = tokio::time::interval(EventStream::POLL_INTERVAL);
    let proc_dir = format!("/proc/{pid}");
    while std::path::Path::new(&proc_dir).exists() {
        tokio::select! {
            r = stream.readable() => r.expect("poll the ring buffer"),
            _ = tick.tick() => {}
        }
        records += stream.drain(|_| {});
    }
    records += stream.drain(|_| {});
    eprintln!(
        "drained {records} records; {:?}",
        probe.losses().expect("read the counters")
    );
}
