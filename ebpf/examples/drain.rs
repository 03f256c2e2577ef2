//! Loads the probe for one pid and only drains the ring: the kernel side's
//! cost without any decoding or output.
use hostscope_core::model::Capture;
use hostscope_ebpf::{EventStream, Probe, ProbeConfig, Scope, SyscallRule};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let pid: u32 = std::env::args().nth(1).unwrap().parse().unwrap();
    let mut captures = [Capture::None; 6];
    captures[1] = Capture::Str;
    let config = ProbeConfig {
        scope: Scope::Pids,
        rules: vec![SyscallRule {
            nr: 257,
            captures,
            at_entry: false,
            noreturn: false,
            failed_only: false,
        }],
        data_bytes: 32,
        ring_kib: 16384,
    };
    let mut probe = Probe::load(&config).unwrap();
    let mut stream = probe.events().unwrap();
    probe.trace_pid(pid, false).unwrap();
    eprintln!("attached");
    let mut n = 0u64;
    let mut tick = tokio::time::interval(EventStream::POLL_INTERVAL);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        tokio::select! {
            _ = stream.readable() => {}
            _ = tick.tick() => {}
        }
        n += stream.drain(|_| {}) as u64;
    }
    n += stream.drain(|_| {}) as u64;
    eprintln!("drained {n} {:?}", probe.losses().unwrap());
}
