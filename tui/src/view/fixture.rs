//! A fixed host for view snapshots and update tests: a few processes (one
//! with a hostile name, one in a container, a kernel thread), two
//! refreshes, failures and a syscall stream. Built through `update`, as the
//! event loop would.

use std::sync::Arc;
use std::time::Duration;

use hostscope_core::host::{CpuTicks, HostSample, Memory};
use hostscope_core::procfs::{
    Detail, EnvVar, Ids, Limit, OpenFile, Origin, ProcessInfo, Snapshot, Socket, SocketKind,
};

use crate::app::{App, DetailUpdate, Msg, Refresh, update};
use crate::live::{LiveBatch, LiveRecord, SocketNews};

pub(crate) const BOOT: u64 = 1_795_900_000;

fn process(
    pid: u32,
    ppid: u32,
    user: &str,
    cpu_ticks: u64,
    comm: &[u8],
    cmdline: &[&[u8]],
) -> ProcessInfo {
    ProcessInfo {
        pid,
        ppid: Some(ppid),
        uid: Some(if user == "root" { 0 } else { 1000 }),
        user: Some(Arc::from(user)),
        state: Some('S'),
        cpu_ticks: Some(cpu_ticks),
        start_ticks: Some(u64::from(pid) * 100),
        start_time: Some(BOOT + u64::from(pid)),
        rss_bytes: Some(u64::from(pid) * 1024 * 1024),
        threads: Some(1),
        comm: Some(comm.to_vec()),
        cmdline: Some(cmdline.iter().map(|a| a.to_vec()).collect()),
        origin: None,
        kernel_thread: false,
    }
}

pub(crate) fn snapshot(at_secs: u64, busy: u64) -> Snapshot {
    let mut kthread = process(2, 0, "root", 0, b"kthreadd", &[]);
    kthread.kernel_thread = true;
    let mut redis = process(
        40,
        1,
        "redis",
        3 * busy,
        b"redis-server",
        &[b"redis-server", b"127.0.0.1:6379"],
    );
    redis.origin = Some(Origin::Container {
        runtime: hostscope_core::procfs::Runtime::Docker,
        id: "0123456789abcdef".repeat(4),
    });
    let mut nginx = process(
        30,
        1,
        "www-data",
        busy,
        b"nginx",
        &[b"nginx: worker process"],
    );
    nginx.origin = Some(Origin::Unit("nginx.service".into()));
    Snapshot {
        processes: vec![
            process(1, 0, "root", 10, b"systemd", &[b"/sbin/init"]),
            kthread,
            nginx,
            redis,
            process(
                66,
                1,
                "app",
                2 * busy,
                b"evil\x1b[2J\n",
                &[
                    b"./evil\x1b]0;pwned\x07",
                    "\u{202e}txt.exe".as_bytes(),
                    b"\xff\xfe",
                ],
            ),
        ],
        skipped: 0,
        taken_at: Duration::from_secs(at_secs),
        ticks_per_second: 100,
        boot_time: Some(BOOT),
    }
}

fn host(busy: u64) -> HostSample {
    HostSample {
        hostname: b"web-1".to_vec(),
        uptime: Some(Duration::from_secs(3 * 86_400 + 7200)),
        load: Some([0.52, 0.4, 0.33]),
        cpus: vec![
            CpuTicks {
                busy,
                total: busy * 4,
            },
            CpuTicks {
                busy: busy / 2,
                total: busy * 4,
            },
        ],
        memory: Some(Memory {
            total: 8 << 30,
            available: 5 << 30,
            swap_total: 1 << 30,
            swap_free: 1 << 30,
        }),
    }
}

pub(crate) fn failure(pid: u32, comm: &str, path: &str, errno: i32, ts_ns: u64) -> LiveRecord {
    let name = hostscope_core::decode::errno::name(errno).unwrap_or("?");
    LiveRecord {
        ts_ns,
        pid,
        comm: comm.as_bytes().into(),
        syscall: "openat",
        errno: Some(errno),
        path: Some(path.as_bytes().to_vec()),
        line: format!("[pid {pid:>5}] openat(AT_FDCWD, \"{path}\", O_RDONLY) = -1 {name}"),
        lookup: None,
    }
}

/// The app after two refreshes and some failures: on the Processes screen.
pub(crate) fn app() -> App {
    let mut app = App::new(None, true, true);
    update(
        &mut app,
        Msg::Refreshed(Box::new(Refresh {
            snapshot: snapshot(1000, 100),
            host: host(1000),
        })),
    );
    let mut records = Vec::new();
    for i in 0..6 {
        records.push(failure(66, "evil", "/etc/evil.conf", libc::ENOENT, i));
    }
    records.push(failure(30, "nginx", "/var/www/secret", libc::EACCES, 10));
    update(
        &mut app,
        Msg::Live(LiveBatch {
            records,
            exited: Vec::new(),
            delivered: 1234,
            losses: Default::default(),
            malformed: 0,
            sockets: Vec::new(),
        }),
    );
    update(
        &mut app,
        Msg::Refreshed(Box::new(Refresh {
            snapshot: snapshot(1002, 200),
            host: host(1200),
        })),
    );
    app
}

/// What `read_detail` would give for the nginx worker.
pub(crate) fn nginx_detail() -> Detail {
    Detail {
        pid: 30,
        start_ticks: Some(3000),
        start_time: Some(BOOT + 30),
        state: Some('S'),
        threads: Some(1),
        rss_bytes: Some(30 << 20),
        cmdline: Some(vec![b"nginx: worker process".to_vec()]),
        exe: Some(b"/usr/sbin/nginx".to_vec()),
        cwd: Some(b"/".to_vec()),
        root: Some(b"/".to_vec()),
        uids: Some(Ids {
            real: 33,
            effective: 33,
        }),
        gids: Some(Ids {
            real: 33,
            effective: 33,
        }),
        user: Some("www-data".into()),
        cgroup: Some(b"/system.slice/nginx.service".to_vec()),
        origin: Some(Origin::Unit("nginx.service".into())),
        limits: Some(vec![Limit {
            name: "Max open files".into(),
            soft: Some(1024),
            hard: Some(524_288),
            unit: Some("files".into()),
        }]),
        files: Some(vec![
            OpenFile {
                fd: 0,
                target: b"/dev/null".to_vec(),
            },
            OpenFile {
                fd: 3,
                target: b"/var/log/nginx/access.log".to_vec(),
            },
            OpenFile {
                fd: 6,
                target: b"socket:[4242]".to_vec(),
            },
        ]),
        sockets: vec![Socket {
            fd: 6,
            kind: SocketKind::Tcp,
            local: "127.0.0.1:8080".into(),
            remote: String::new(),
            state: "LISTEN",
        }],
        environment: Some(vec![
            EnvVar {
                name: b"PATH".to_vec(),
                value: b"/usr/bin".to_vec(),
                masked: false,
            },
            EnvVar {
                name: b"DB_PASSWORD".to_vec(),
                value: b"****".to_vec(),
                masked: true,
            },
        ]),
        children: Vec::new(),
    }
}

/// The app with the nginx worker's detail open and a few of its calls.
pub(crate) fn detail_app() -> App {
    let mut app = app();
    let at = app
        .lines
        .iter()
        .position(|l| matches!(l, crate::table::Line::Process { index, .. } if app.rows[*index].pid == 30))
        .expect("nginx is listed");
    app.selected = at;
    app.selected_pid = Some(30);
    update(&mut app, Msg::Key(crossterm::event::KeyCode::Enter.into()));
    update(
        &mut app,
        Msg::Detail(Box::new(DetailUpdate {
            pid: 30,
            detail: Some(nginx_detail()),
            report: None,
        })),
    );
    update(
        &mut app,
        Msg::Live(LiveBatch {
            records: vec![
                failure(30, "nginx", "/var/www/secret", libc::EACCES, 20),
                LiveRecord {
                    errno: None,
                    line: "[pid    30] accept4(6, NULL, NULL, SOCK_CLOEXEC) = 7".into(),
                    syscall: "accept4",
                    path: None,
                    ..failure(30, "nginx", "", 0, 21)
                },
            ],
            exited: Vec::new(),
            delivered: 1300,
            losses: Default::default(),
            malformed: 0,
            sockets: Vec::new(),
        }),
    );
    app
}

/// Socket calls of a request through three services: nginx -> payments
/// -> redis, the key expired (502 <- 500 <- nil).
fn outage_calls() -> Vec<hostscope_core::model::SocketCall> {
    use hostscope_core::model::{Arch, SocketCall, SocketInfo};
    let arch = Arch::native();
    let call = |name: &str,
                pid: u32,
                comm: &str,
                sock: u64,
                local: u16,
                remote: u16,
                at_ms: u64,
                payload: &[u8]| {
        SocketCall {
            ts_ns: 1_795_906_000_000_000_000 + at_ms * 1_000_000,
            pid,
            tid: pid,
            comm: comm.as_bytes().into(),
            arch,
            nr: hostscope_core::decode::sysno::number(arch, name).expect("a syscall"),
            ret: payload.len() as i64,
            socket: SocketInfo {
                id: sock,
                peer: 0,
                local: Some(std::net::SocketAddr::from(([127, 0, 0, 1], local))),
                remote: Some(std::net::SocketAddr::from(([127, 0, 0, 1], remote))),
            },
            payload: payload.to_vec(),
        }
    };
    let get = b"GET /checkout HTTP/1.1\r\nX-Request-ID: r1\r\n\r\n";
    let post = b"POST /pay HTTP/1.1\r\nContent-Length: 0\r\nX-Request-ID: r1\r\n\r\n";
    let key = b"*2\r\n$3\r\nGET\r\n$10\r\nsession:42\r\n";
    let e500 = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
    let e502 = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
    vec![
        call("read", 30, "nginx", 2, 8080, 50000, 0, get),
        call("write", 30, "nginx", 3, 50001, 9000, 1, post),
        call("read", 40, "payments", 4, 9000, 50001, 1, post),
        call("write", 40, "payments", 5, 50002, 6379, 2, key),
        call("read", 77, "redis-server", 6, 6379, 50002, 2, key),
        call("write", 77, "redis-server", 6, 6379, 50002, 2, b"$-1\r\n"),
        call("read", 40, "payments", 5, 50002, 6379, 3, b"$-1\r\n"),
        call("write", 40, "payments", 4, 9000, 50001, 1199, e500),
        call("read", 30, "nginx", 3, 50001, 9000, 1200, e500),
        call("write", 30, "nginx", 2, 8080, 50000, 1203, e502),
    ]
}

/// The app on the Chains screen with one failed chain built.
pub(crate) fn chains_app() -> App {
    let mut app = app();
    update(
        &mut app,
        Msg::Key(crossterm::event::KeyCode::Char('4').into()),
    );
    update(
        &mut app,
        Msg::Live(LiveBatch {
            sockets: outage_calls().into_iter().map(SocketNews::Call).collect(),
            ..LiveBatch::default()
        }),
    );
    update(
        &mut app,
        Msg::Refreshed(Box::new(Refresh {
            snapshot: snapshot(1004, 300),
            host: host(1400),
        })),
    );
    app
}
