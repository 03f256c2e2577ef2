//! `cargo xtask bench decode`: the user-space cost of turning one syscall
//! event into an output line, without the probe.
//!
//! The consumer's CPU time is taken from the traced process on small hosts,
//! so it is worth watching per event. Synthetic events (a failed openat, a
//! read with data, an execve with argv, an inet connect) go through the
//! same steps as `hostscope trace`'s sink: enrich, then render as text or as
//! a JSON Lines record into a buffer that is reused, as the sink's is. Then
//! the cost of `hostscope chains`' tracking per socket call: pairing the
//! requests and responses of a keep-alive HTTP connection seen from both
//! ends.
//! Figures are the median of `runs` runs of `iterations` events each, with
//! the heap allocations counted by a wrapper around the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use std::net::SocketAddr;

use hostscope_core::chains::track::Tracker;
use hostscope_core::decode::sysno;
use hostscope_core::enrich::Enricher;
use hostscope_core::model::{Arch, Captured, SocketCall, SocketInfo, SyscallEvent};
use hostscope_core::output::{json, text};

use super::{Options, median, workspace_root};

/// Counts every allocation (and reallocation) the process makes.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator, which is `System`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which is `System`'s.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A process that does not exist: relative paths would stay unresolved and
/// nothing is read from /proc, as for a process that has gone.
const PID: u32 = 4_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

/// One measured setup: nanoseconds and allocations per event.
#[derive(Debug, Clone, Copy)]
struct Figures {
    ns: f64,
    allocations: f64,
}

/// Prints nanoseconds and allocations per event for each event and output.
pub fn run(options: &Options) -> Result<()> {
    if cfg!(debug_assertions) {
        // Unoptimized figures say nothing: measure a release build instead.
        let status = Command::new(env!("CARGO"))
            .args(["run", "--quiet", "--release", "--package", "xtask", "--"])
            .args(["bench", "decode"])
            .args(["--runs", &options.runs.to_string()])
            .args(["--iterations", &options.iterations.to_string()])
            .current_dir(workspace_root())
            .status()
            .context("run cargo run --release")?;
        ensure!(
            status.success(),
            "the release build of the benchmark failed"
        );
        return Ok(());
    }
    println!(
        "bench decode: {} events per run, median of {} runs\n",
        options.iterations, options.runs
    );
    println!(
        "{:<34} {:>10} {:>12}",
        "event, output", "ns/event", "allocs/event"
    );
    for (label, event) in events() {
        for format in [Format::Text, Format::Json] {
            let runs: Vec<Figures> = (0..options.runs)
                .map(|_| measure(&event, format, options.iterations))
                .collect();
            let ns = median(&mut runs.iter().map(|f| f.ns).collect::<Vec<_>>());
            let allocations = median(&mut runs.iter().map(|f| f.allocations).collect::<Vec<_>>());
            let name = match format {
                Format::Text => "text",
                Format::Json => "JSON",
            };
            println!(
                "{:<34} {:>10.0} {:>12.2}",
                format!("{label}, {name}"),
                ns,
                allocations
            );
        }
    }
    println!();
    let runs: Vec<Figures> = (0..options.runs)
        .map(|_| measure_tracking(options.iterations))
        .collect();
    let ns = median(&mut runs.iter().map(|f| f.ns).collect::<Vec<_>>());
    let allocations = median(&mut runs.iter().map(|f| f.allocations).collect::<Vec<_>>());
    println!(
        "{:<34} {:>10.0} {:>12.2}",
        "socket call, chains tracking", ns, allocations
    );
    Ok(())
}

/// Tracks `iterations` socket calls of a keep-alive HTTP/1.1 connection
/// seen from both ends, as `hostscope chains` does with every socket
/// record: the client writes a request, the server reads it and writes
/// nginx's response headers, the client reads them.
fn measure_tracking(iterations: u64) -> Figures {
    let request = b"GET /api/v1/items HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n\r\n";
    let response =
        b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 29 Nov 2026 02:00:00 GMT\r\n\
Content-Type: text/plain\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n";
    let arch = Arch::native();
    let client = SocketAddr::from(([127, 0, 0, 1], 40_000));
    let server = SocketAddr::from(([127, 0, 0, 1], 8080));
    let call = |name: &str, pid: u32, sock: u64, local, remote, payload: &[u8]| SocketCall {
        ts_ns: 1_700_000_000_000_000_000,
        pid,
        tid: pid,
        comm: b"bench".into(),
        arch,
        nr: sysno::number(arch, name).expect("a syscall of this architecture"),
        ret: payload.len() as i64,
        socket: SocketInfo {
            id: sock,
            peer: 0,
            local: Some(local),
            remote: Some(remote),
        },
        payload: payload.to_vec(),
    };
    let calls = [
        call("write", PID, 1, client, server, request),
        call("read", PID + 1, 2, server, client, request),
        call("write", PID + 1, 2, server, client, response),
        call("read", PID, 1, client, server, response),
    ];
    let mut tracker = Tracker::default();
    let mut spans = 0usize;
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    let start = Instant::now();
    for i in 0..iterations {
        let call = black_box(&calls[(i % 4) as usize]);
        spans += black_box(tracker.observe(call)).len();
    }
    let elapsed = start.elapsed();
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations;
    black_box(spans);
    Figures {
        ns: elapsed.as_nanos() as f64 / iterations as f64,
        allocations: allocations as f64 / iterations as f64,
    }
}

/// Enriches and renders `event` `iterations` times, as the trace sink does.
fn measure(event: &SyscallEvent, format: Format, iterations: u64) -> Figures {
    // As in `hostscope trace`: only the JSON output shows resolved paths.
    let mut enricher = Enricher::new(format == Format::Json);
    let mut line = String::with_capacity(4096);
    let mut record = Vec::with_capacity(4096);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    let start = Instant::now();
    for _ in 0..iterations {
        let event = black_box(event);
        let call = enricher.call(event);
        match format {
            Format::Text => {
                line.clear();
                text::push_syscall_line(&mut line, &call);
                line.push('\n');
                black_box(&line);
            }
            Format::Json => {
                record.clear();
                serde_json::to_writer(&mut record, &json::SyscallRecord::from(&call))
                    .expect("writing to a Vec cannot fail");
                record.push(b'\n');
                black_box(&record);
            }
        }
    }
    let elapsed = start.elapsed();
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations;
    Figures {
        ns: elapsed.as_nanos() as f64 / iterations as f64,
        allocations: allocations as f64 / iterations as f64,
    }
}

fn events() -> Vec<(&'static str, SyscallEvent)> {
    const P: u64 = 0x7ffc_0000;
    let arch = Arch::native();
    let event = |name: &str, args: [u64; 6], ret: i64, captures: Vec<Captured>| SyscallEvent {
        ts_ns: 1_700_000_000_000_000_000,
        pid: PID,
        tid: PID,
        comm: b"bench".into(),
        arch,
        nr: sysno::number(arch, name).expect("a syscall of this architecture"),
        args,
        ret: Some(ret),
        duration_ns: Some(1_234),
        captures,
        argv_truncated: false,
        uid: 0,
        gid: 0,
    };
    let capture = |arg: u8, index: u16, bytes: &[u8]| Captured {
        arg,
        index,
        bytes: bytes.to_vec(),
        truncated: false,
        fault: false,
    };
    let mut inet = (libc::AF_INET as u16).to_ne_bytes().to_vec();
    inet.extend(443u16.to_be_bytes());
    inet.extend([10, 0, 0, 1]);
    inet.extend([0; 8]);
    let argv = ["ls", "-la", "--color=auto", "/var/log"]
        .iter()
        .enumerate()
        .map(|(i, a)| capture(1, i as u16, a.as_bytes()))
        .chain([capture(0, 0, b"/usr/bin/ls")])
        .collect();
    vec![
        (
            "openat ENOENT, 30-byte path",
            event(
                "openat",
                [libc::AT_FDCWD as u64, P, libc::O_RDONLY as u64, 0, 0, 0],
                -i64::from(libc::ENOENT),
                vec![capture(1, 0, b"/nonexistent/hostscope-bench-x")],
            ),
        ),
        (
            "read, 32 bytes",
            event(
                "read",
                [3, P, 4096, 0, 0, 0],
                32,
                vec![capture(1, 0, b"GET / HTTP/1.1\r\nHost: localhost\r\n")],
            ),
        ),
        (
            "execve, 4-element argv",
            event("execve", [P, P + 64, P + 128, 0, 0, 0], 0, argv),
        ),
        (
            "connect, AF_INET",
            event(
                "connect",
                [3, P, 16, 0, 0, 0],
                -i64::from(libc::EINPROGRESS),
                vec![capture(1, 0, &inet)],
            ),
        ),
    ]
}
