//! The probe, loaded for real, tracing this test process itself. Needs root
//! (CI runs as root): without it these tests fail, they do not skip.

use std::ffi::CString;

use hostscope_core::model::{Capture, Event};
use hostscope_ebpf::{Deliver, Probe, ProbeConfig, Scope, SyscallRule};

fn openat_rule(failed_only: bool) -> SyscallRule {
    SyscallRule {
        nr: libc::SYS_openat as u32,
        captures: [
            Capture::None,
            Capture::Str,
            Capture::None,
            Capture::None,
            Capture::None,
            Capture::None,
        ],
        at_entry: false,
        noreturn: false,
        deliver: if failed_only {
            Deliver::Failed
        } else {
            Deliver::All
        },
        replaces_image: false,
        socket_io: None,
    }
}

/// A probe tracing the pids it is given, timed, with `rules`; the tests
/// change only what they are about.
fn config(rules: Vec<SyscallRule>) -> ProbeConfig {
    ProbeConfig {
        scope: Scope::Pids,
        rules,
        data_bytes: 32,
        ring_kib: 1024,
        timed: true,
        lookup_errnos: &[],
        exec_records: false,
        live: false,
        oom_records: false,
        fold_repeats: false,
        socket_payload: None,
    }
}

fn open_missing(path: &str) {
    let c = CString::new(path).unwrap();
    // SAFETY: a valid NUL-terminated path; the result is only checked.
    let fd = unsafe { libc::openat(libc::AT_FDCWD, c.as_ptr(), libc::O_RDONLY) };
    assert_eq!(fd, -1, "{path} should not exist");
}

fn collect(stream: &mut hostscope_ebpf::EventStream) -> Vec<Event> {
    let mut events = Vec::new();
    stream.drain(|e| events.push(e));
    events
}

#[tokio::test(flavor = "current_thread")]
async fn sees_its_own_failed_openat_with_the_path() {
    let config = config(vec![openat_rule(true)]);
    let mut probe = Probe::load(&config).expect("load the probe (run as root)");
    let mut stream = probe.events().unwrap();
    probe.trace_pid(std::process::id(), false).unwrap();
    let path = format!("/nonexistent/hostscope-probe-test-{}", std::process::id());
    for _ in 0..3 {
        open_missing(&path);
    }
    let seen: Vec<_> = collect(&mut stream)
        .into_iter()
        .filter_map(|e| match e {
            Event::Syscall(s) if s.capture(1).is_some_and(|c| c.bytes == path.as_bytes()) => {
                Some(s)
            }
            _ => None,
        })
        .collect();
    assert_eq!(seen.len(), 3, "three failed openat calls");
    for s in &seen {
        assert_eq!(s.ret, Some(-i64::from(libc::ENOENT)));
        assert_eq!(s.pid, std::process::id());
        assert!(s.duration_ns.is_some_and(|d| d > 0));
    }
    assert_eq!(probe.losses().unwrap().events_lost(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn a_fork_is_delivered_before_anything_the_child_does() {
    let config = config(vec![openat_rule(true)]);
    let mut probe = Probe::load(&config).expect("load the probe (run as root)");
    let mut stream = probe.events().unwrap();
    probe.trace_pid(std::process::id(), true).unwrap();
    let path = CString::new(format!(
        "/nonexistent/hostscope-fork-{}",
        std::process::id()
    ))
    .unwrap();
    let mut children = Vec::new();
    // Many forks: the child's first syscall overtaking the parent's news of
    // it is a race, so one fork would rarely show it.
    for _ in 0..50 {
        // SAFETY: the child only makes async-signal-safe calls, then _exits.
        match unsafe { libc::fork() } {
            0 => unsafe {
                libc::openat(libc::AT_FDCWD, path.as_ptr(), libc::O_RDONLY);
                libc::_exit(0);
            },
            -1 => panic!("fork: {}", std::io::Error::last_os_error()),
            child => children.push(child as u32),
        }
    }
    for &child in &children {
        // SAFETY: waiting for our own child; the status is not needed.
        unsafe { libc::waitpid(child as i32, std::ptr::null_mut(), 0) };
    }
    let events = collect(&mut stream);
    for &child in &children {
        let fork = events
            .iter()
            .position(|e| matches!(e, Event::Fork(f) if f.child == child))
            .unwrap_or_else(|| panic!("no fork record for child {child}"));
        assert!(
            matches!(&events[fork], Event::Fork(f) if f.parent == std::process::id()),
            "the fork names its parent"
        );
        let first_call = events
            .iter()
            .position(|e| matches!(e, Event::Syscall(s) if s.pid == child))
            .unwrap_or_else(|| panic!("child {child}'s openat was not seen"));
        assert!(
            fork < first_call,
            "child {child}: its openat came before its fork"
        );
    }
    assert_eq!(probe.losses().unwrap().events_lost(), 0);
}

/// The why-missing setup: no entry program, failed lookups with chosen
/// errnos plus the success that ends a search, writes to fd 2 only, and exec
/// records.
#[tokio::test(flavor = "current_thread")]
async fn exit_only_lookups_send_failures_and_the_success_after_one() {
    let mut write_captures = [Capture::None; 6];
    write_captures[1] = Capture::BufIn { len_arg: 2 };
    let mut lookup = openat_rule(false);
    lookup.deliver = Deliver::Lookup;
    let config = ProbeConfig {
        data_bytes: 64,
        timed: false,
        lookup_errnos: &[libc::ENOENT],
        exec_records: true,
        ..config(vec![
            lookup,
            SyscallRule {
                nr: libc::SYS_write as u32,
                captures: write_captures,
                at_entry: false,
                noreturn: false,
                deliver: Deliver::Stderr,
                replaces_image: false,
                socket_io: None,
            },
        ])
    };
    let mut probe = Probe::load(&config).expect("load the probe (run as root)");
    let mut stream = probe.events().unwrap();
    let me = std::process::id();
    probe.trace_pid(me, true).unwrap();

    let dir = std::env::temp_dir().join(format!("hs-exit-only-{me}"));
    std::fs::create_dir_all(&dir).unwrap();
    let present = dir.join("present");
    std::fs::write(&present, "x").unwrap();
    let missing = dir.join("missing");
    let open = |path: &std::path::Path, flags: i32| {
        let c = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid path; the fd, if any, is closed right away.
        let fd = unsafe { libc::openat(libc::AT_FDCWD, c.as_ptr(), flags, 0o600) };
        if fd >= 0 {
            // SAFETY: our own fd.
            unsafe { libc::close(fd) };
        }
    };
    open(&present, libc::O_RDONLY); // a success after no failure: not sent
    open(&missing, libc::O_RDONLY); // ENOENT: sent
    open(&present, libc::O_RDONLY); // ends the search: sent
    open(&present, libc::O_RDONLY); // not sent
    open(&present, libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY); // EEXIST: not asked for
    // SAFETY: zero-byte writes to our own fds.
    unsafe {
        libc::write(1, c"".as_ptr().cast(), 0);
        libc::write(2, c"".as_ptr().cast(), 0);
    }
    let child = std::process::Command::new("/bin/true").status().unwrap();
    assert!(child.success());
    std::fs::remove_dir_all(&dir).unwrap();

    let events = collect(&mut stream);
    let opens: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Syscall(s) if s.pid == me && s.nr == libc::SYS_openat as u32 => {
                let path = s.capture(1)?.bytes.clone();
                path.starts_with(dir.as_os_str().as_encoded_bytes())
                    .then(|| (String::from_utf8(path).unwrap(), s.ret, s.duration_ns))
            }
            _ => None,
        })
        .collect();
    let shown = |p: &std::path::Path| p.display().to_string();
    assert_eq!(
        opens,
        [
            (shown(&missing), Some(-i64::from(libc::ENOENT)), None),
            (shown(&present), opens.get(1).and_then(|o| o.1), None),
        ],
        "the failure and the one success after it, untimed"
    );
    assert!(opens[1].1.is_some_and(|fd| fd >= 0));
    let writes: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Syscall(s) if s.pid == me && s.nr == libc::SYS_write as u32 => Some(s.args[0]),
            _ => None,
        })
        .collect();
    assert!(
        !writes.is_empty() && writes.iter().all(|&fd| fd == 2),
        "only writes to fd 2: {writes:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Exec(x) if x.filename == b"/bin/true")),
        "an exec record for the child"
    );
    assert_eq!(probe.losses().unwrap().events_lost(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn live_mode_sends_the_focused_process_in_full_and_only_failures_of_others() {
    let config = ProbeConfig {
        timed: false,
        live: true,
        ..config(vec![openat_rule(true)])
    };
    let mut probe = Probe::load(&config).expect("load the probe (run as root)");
    let mut stream = probe.events().unwrap();
    let me = std::process::id();
    probe.trace_pid(me, false).unwrap();
    let present = CString::new("/proc/self/status").unwrap();
    let open_present = || {
        // SAFETY: a valid path; the fd is closed right away.
        unsafe {
            let fd = libc::openat(libc::AT_FDCWD, present.as_ptr(), libc::O_RDONLY);
            assert!(fd >= 0, "open /proc/self/status");
            libc::close(fd);
        }
    };
    // This thread's only: another test loading its probe meanwhile opens
    // the same file (Probe::load reads its capabilities there).
    let this_thread = gettid() as u32;
    let opens_of_present = |events: &[Event]| {
        events
            .iter()
            .filter(|e| matches!(e, Event::Syscall(s) if s.tid == this_thread && s.ret.is_some_and(|r| r >= 0) && s.capture(1).is_some_and(|c| c.bytes == b"/proc/self/status")))
            .count()
    };

    open_present();
    open_missing("/nonexistent/hostscope-live-1");
    let events = collect(&mut stream);
    assert_eq!(
        opens_of_present(&events),
        0,
        "a success is not sent by default"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Syscall(s) if s.ret == Some(-i64::from(libc::ENOENT)))),
        "the failure is sent"
    );

    probe.show_in_full(Some(me), false, false).unwrap();
    open_present();
    open_present();
    assert_eq!(
        opens_of_present(&collect(&mut stream)),
        2,
        "the focused process in full"
    );

    probe.show_in_full(Some(me + 1), false, false).unwrap();
    open_present();
    assert_eq!(opens_of_present(&collect(&mut stream)), 0, "another focus");

    probe.show_in_full(None, true, false).unwrap();
    open_present();
    assert_eq!(
        opens_of_present(&collect(&mut stream)),
        1,
        "everything in full"
    );

    probe.show_in_full(None, false, false).unwrap();
    open_present();
    assert_eq!(
        opens_of_present(&collect(&mut stream)),
        0,
        "back to failures only"
    );
    assert_eq!(probe.losses().unwrap().events_lost(), 0);
}

/// The counts of thread `tid`'s repeat records, in order.
fn repeats_of(events: &[Event], tid: u32) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Repeat(r) if r.tid == tid => Some(r.count),
            _ => None,
        })
        .collect()
}

/// How many of thread `tid`'s records are a call on `path`.
fn sent_on(events: &[Event], tid: u32, path: &str) -> usize {
    events
        .iter()
        .filter(|e| {
            matches!(e, Event::Syscall(s) if s.tid == tid
            && s.capture(1).is_some_and(|c| c.bytes == path.as_bytes()))
        })
        .count()
}

/// An exit-only probe for failed openat calls that folds repeats.
fn folding_probe() -> (Probe, hostscope_ebpf::EventStream) {
    let mut rule = openat_rule(true);
    rule.deliver = Deliver::Lookup;
    let config = ProbeConfig {
        timed: false,
        lookup_errnos: &[libc::ENOENT],
        fold_repeats: true,
        ..config(vec![rule])
    };
    let mut probe = Probe::load(&config).expect("load the probe (run as root)");
    let stream = probe.events().unwrap();
    (probe, stream)
}

#[tokio::test(flavor = "current_thread")]
async fn identical_failed_lookups_are_counted_not_sent() {
    let (mut probe, mut stream) = folding_probe();
    let me = std::process::id();
    // Other tests of this process fold too (each with its own probe).
    let this_thread = gettid() as u32;
    probe.trace_pid(me, false).unwrap();
    let a = format!("/nonexistent/hostscope-fold-a-{me}");
    let b = format!("/nonexistent/hostscope-fold-b-{me}");
    for _ in 0..1000 {
        open_missing(&a);
    }
    open_missing(&b);
    open_missing(&b);
    let events = collect(&mut stream);
    let opens: Vec<&[u8]> = events
        .iter()
        .filter_map(|e| match e {
            Event::Syscall(s) if s.pid == me => s.capture(1).map(|c| c.bytes.as_slice()),
            _ => None,
        })
        .filter(|p| p.starts_with(b"/nonexistent/hostscope-fold-"))
        .collect();
    assert_eq!(
        opens,
        [a.as_bytes(), b.as_bytes()],
        "one record per distinct miss"
    );
    assert_eq!(
        repeats_of(&events, this_thread),
        [999],
        "a's repeats, reported before b's record"
    );
    // The repeat of b is still counted in the kernel: read when stopping.
    let pending = stream.pending_repeats(&probe).unwrap();
    assert!(
        pending
            .iter()
            .any(|e| matches!(e, Event::Repeat(r) if r.tid == this_thread && r.count == 1)),
        "{pending:?}"
    );
    assert_eq!(probe.losses().unwrap().events_lost(), 0);
}

/// Two threads whose ids share a repeats slot: the one holding it folds its
/// repeats, the other's lookups are all sent, and neither count is mixed
/// up; once the holder is gone, the other takes the slot over, and its
/// first miss is sent even though it is the one the holder repeated.
#[tokio::test(flavor = "current_thread")]
async fn threads_sharing_a_repeats_slot_keep_their_counts_apart() {
    use std::sync::{Arc, Mutex, mpsc};
    let (mut probe, mut stream) = folding_probe();
    let me = std::process::id();
    probe.trace_pid(me, false).unwrap();
    let a = format!("/nonexistent/hostscope-slot-a-{me}");
    let b = format!("/nonexistent/hostscope-slot-b-{me}");
    let slot = |tid: libc::pid_t| tid as u32 % hostscope_ebpf::REPEAT_SLOTS;
    let misses = |path: &str| {
        for _ in 0..10 {
            open_missing(path);
        }
    };

    // The ids below 300 are never handed to threads (RESERVED_PIDS): a
    // holder in slot 0..300 could have no other thread to share with when
    // pid_max is 32768.
    let (held_tx, held_rx) = mpsc::channel();
    let (end_tx, end_rx) = mpsc::channel::<()>();
    let end_rx = Arc::new(Mutex::new(end_rx));
    let holder = loop {
        let (tx, rx) = (held_tx.clone(), end_rx.clone());
        let path = a.clone();
        let thread = std::thread::spawn(move || {
            let tid = gettid();
            if slot(tid) < 300 {
                tx.send(None).unwrap();
                return;
            }
            misses(&path);
            tx.send(Some(tid)).unwrap();
            rx.lock().unwrap().recv().unwrap();
        });
        match held_rx.recv().unwrap() {
            Some(tid) => break (thread, tid),
            None => thread.join().unwrap(),
        }
    };
    let (holder, holder_tid) = holder;

    // Thread ids are handed out in turn: within pid_max spawns one shares
    // the holder's slot. It misses b, then, once the holder has ended, a.
    let (found_tx, found_rx) = mpsc::channel();
    let (again_tx, again_rx) = mpsc::channel::<()>();
    let again_rx = Arc::new(Mutex::new(again_rx));
    let mut sharer = None;
    for _ in 0..100_000 {
        let (tx, rx) = (found_tx.clone(), again_rx.clone());
        let (a, b) = (a.clone(), b.clone());
        let thread = std::thread::spawn(move || {
            let tid = gettid();
            if slot(tid) != slot(holder_tid) || tid == holder_tid {
                tx.send(None).unwrap();
                return;
            }
            misses(&b);
            tx.send(Some(tid)).unwrap();
            rx.lock().unwrap().recv().unwrap();
            misses(&a);
        });
        match found_rx.recv().unwrap() {
            Some(tid) => {
                sharer = Some((thread, tid));
                break;
            }
            None => thread.join().unwrap(),
        }
    }
    let (sharer, sharer_tid) = sharer.expect("a thread id sharing the holder's slot");
    end_tx.send(()).unwrap();
    holder.join().unwrap();
    again_tx.send(()).unwrap();
    sharer.join().unwrap();

    let events = collect(&mut stream);
    let sent = |path: &str, tid: libc::pid_t| sent_on(&events, tid as u32, path);
    let repeats = |tid: libc::pid_t| repeats_of(&events, tid as u32);
    assert_eq!(sent(&a, holder_tid), 1, "the holder's first miss is sent");
    assert_eq!(
        repeats(holder_tid),
        [9],
        "and the rest counted, sent at its exit"
    );
    assert_eq!(
        sent(&b, sharer_tid),
        10,
        "the other thread's misses are all sent while the slot is held"
    );
    assert_eq!(
        sent(&a, sharer_tid),
        1,
        "then it holds the slot: its first miss of a is sent"
    );
    assert_eq!(repeats(sharer_tid), [9], "and the rest counted");
    assert_eq!(probe.losses().unwrap().events_lost(), 0);
}

/// A success ends a thread's run of repeats: the same miss after it is
/// sent again, and counted from there.
#[tokio::test(flavor = "current_thread")]
async fn a_miss_after_a_success_is_sent_again() {
    let (mut probe, mut stream) = folding_probe();
    let me = std::process::id();
    let this_thread = gettid() as u32;
    probe.trace_pid(me, false).unwrap();
    let missing = format!("/nonexistent/hostscope-again-{me}");
    let present = std::env::current_exe().unwrap();
    for _ in 0..3 {
        open_missing(&missing);
    }
    let file = std::fs::File::open(&present).expect("open the test binary");
    drop(file);
    for _ in 0..3 {
        open_missing(&missing);
    }
    let events = collect(&mut stream);
    assert_eq!(
        sent_on(&events, this_thread, &missing),
        2,
        "the first miss of each run"
    );
    assert_eq!(
        repeats_of(&events, this_thread),
        [2],
        "the first run's, sent before the success"
    );
    let pending = stream.pending_repeats(&probe).unwrap();
    assert!(
        pending
            .iter()
            .any(|e| matches!(e, Event::Repeat(r) if r.tid == this_thread && r.count == 2)),
        "the second run's, still counted: {pending:?}"
    );
}

/// A thread other than the leader that execs takes the leader's id: what
/// it counted under its own is sent then, not left in a slot no thread of
/// that id will ever release.
#[tokio::test(flavor = "current_thread")]
async fn a_thread_that_execs_gives_up_its_repeats_slot() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let (mut probe, mut stream) = folding_probe();
    let missing = format!("/nonexistent/hostscope-exec-slot-{}", std::process::id());
    let script = r#"
import os, sys, threading
sys.stdin.readline()
def run():
    for _ in range(10):
        try:
            open(sys.argv[1])
        except FileNotFoundError:
            pass
    print(threading.get_native_id(), flush=True)
    os.execv("/bin/true", ["true"])
threading.Thread(target=run).start()
threading.Event().wait()
"#;
    let mut child = Command::new("python3")
        .args(["-c", script, &missing])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    probe.trace_pid(child.id(), true).unwrap();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let tid: u32 = line.trim().parse().expect("the thread's id");
    assert_ne!(tid, child.id(), "the thread is not the leader");
    assert!(child.wait().unwrap().success());

    assert_eq!(
        repeats_of(&collect(&mut stream), tid),
        [9],
        "sent when the thread exec'd"
    );
    let pending = stream.pending_repeats(&probe).unwrap();
    assert!(
        !pending
            .iter()
            .any(|e| matches!(e, Event::Repeat(r) if r.tid == tid)),
        "{pending:?}"
    );
    assert_eq!(probe.losses().unwrap().events_lost(), 0);
}

fn gettid() -> libc::pid_t {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

fn socket_rule(name: &str, io: hostscope_ebpf::SocketIo) -> SyscallRule {
    let nr = hostscope_core::decode::sysno::number(hostscope_core::model::Arch::native(), name)
        .expect("a syscall");
    SyscallRule::socket(nr, io)
}

#[tokio::test(flavor = "current_thread")]
async fn socket_calls_carry_the_connection_and_the_payload() {
    use hostscope_ebpf::SocketIo;
    use std::io::{Read, Write};
    let config = ProbeConfig {
        timed: false,
        socket_payload: Some(16),
        ..config(vec![
            socket_rule("connect", SocketIo::Connect),
            socket_rule("accept4", SocketIo::Accept),
            socket_rule("accept", SocketIo::Accept),
            socket_rule("read", SocketIo::Buf),
            socket_rule("write", SocketIo::Buf),
            socket_rule("sendto", SocketIo::Buf),
            socket_rule("recvfrom", SocketIo::Buf),
        ])
    };
    let mut probe = Probe::load(&config).expect("load the probe (run as root)");
    let mut stream = probe.events().unwrap();
    let me = std::process::id();
    probe.trace_pid(me, false).unwrap();

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 64];
        let n = conn.read(&mut buf).unwrap();
        conn.write_all(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
        n
    });
    let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let request = b"GET /hostscope-probe-test HTTP/1.1\r\n\r\n";
    client.write_all(request).unwrap();
    let mut reply = [0u8; 64];
    let got = client.read(&mut reply).unwrap();
    assert_eq!(server.join().unwrap(), request.len());
    assert!(got > 0);
    // A file read is not a socket, nor is a datagram a stream: neither
    // must show up.
    let _ = std::fs::read("/proc/self/stat").unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_port = udp.local_addr().unwrap().port();
    udp.send_to(
        b"GET /not-a-stream HTTP/1.1\r\n\r\n",
        ("127.0.0.1", udp_port),
    )
    .unwrap();
    let mut datagram = [0u8; 64];
    assert!(udp.recv_from(&mut datagram).unwrap().0 > 0);

    let events = collect(&mut stream);
    let calls: Vec<&hostscope_core::model::SocketCall> = events
        .iter()
        .filter_map(|e| match e {
            Event::Socket(s) if s.pid == me => Some(s),
            _ => None,
        })
        .collect();
    let opens: Vec<&hostscope_core::model::SocketOpen> = events
        .iter()
        .filter_map(|e| match e {
            Event::SocketOpened(o) => Some(o),
            _ => None,
        })
        .collect();
    let named = |name: &str| {
        let nr = hostscope_core::decode::sysno::number(hostscope_core::model::Arch::native(), name)
            .unwrap();
        calls.iter().filter(move |c| c.nr == nr)
    };
    let sent = named("write")
        .chain(named("sendto"))
        .find(|c| c.socket.remote.map(|a| a.port()) == Some(port))
        .expect("the client's write");
    assert_eq!(sent.ret, request.len() as i64);
    assert_eq!(sent.payload, &request[..16], "the first 16 bytes");
    let received = named("read")
        .chain(named("recvfrom"))
        .find(|c| c.socket.local.map(|a| a.port()) == Some(port))
        .expect("the server's read");
    assert_eq!(received.payload, &request[..16]);
    // Both ends of one connection: each one's local is the other's remote.
    assert_eq!(received.socket.remote, sent.socket.local);
    assert_ne!(received.socket.id, sent.socket.id);
    // The connection's start, from the kernel's TCP state machine: which
    // end connected and which accepted.
    let opened = |id: u64| {
        opens
            .iter()
            .find(|o| o.id == id)
            .map(|o| o.client)
            .unwrap_or_else(|| panic!("no start for socket {id:#x}: {opens:?}"))
    };
    assert!(opened(sent.socket.id), "the client connected");
    assert!(!opened(received.socket.id), "the server accepted");
    assert!(
        !calls
            .iter()
            .any(|c| c.socket.local.is_some_and(|a| a.port() == udp_port)),
        "no datagram: {calls:?}"
    );
    assert!(
        calls.iter().all(|c| c.socket.local.is_some()),
        "only sockets: {calls:?}"
    );
    assert_eq!(probe.losses().unwrap().events_lost(), 0);
}
