//! `hostscope chains` end to end: three real HTTP services (Python's
//! threading HTTP server, on loopback) call each other; the last one does
//! not find what it is asked for, and the failure climbs back up. The
//! chain, the status per hop, the links and the culprit must come out.

use std::process::{Command, Stdio};
use std::time::Duration;

use hostscope_tests::running::{Finished, Running};
use hostscope_tests::{Services, THREE_SERVICES_PY, TempDir, free_port, hostscope, wait_listening};

#[test]
fn a_failure_three_services_deep_is_one_chain_with_the_culprit_marked() {
    three_services_deep(false);
}

/// Kernels before 6.3 have no socket tracepoints: there the probe finds
/// each read's and write's socket from its fd at sys_exit. This kernel has
/// them, so the test asks for that path.
#[test]
fn without_socket_tracepoints_the_same_chain_comes_from_the_syscalls() {
    three_services_deep(true);
}

fn three_services_deep(from_syscalls: bool) {
    let dir = TempDir::new("hs-chains");
    let script = dir.path().join("service.py");
    std::fs::write(&script, THREE_SERVICES_PY).expect("write the service");
    let (front, pay, cache) = (free_port(), free_port(), free_port());
    let start = |args: &[String]| {
        Command::new("python3")
            .arg(&script)
            .args(args)
            .stdin(Stdio::null())
            .spawn()
            .expect("start a service")
    };
    let services = Services(vec![
        start(&[
            "front".into(),
            front.to_string(),
            format!("http://127.0.0.1:{pay}"),
        ]),
        start(&[
            "pay".into(),
            pay.to_string(),
            format!("http://127.0.0.1:{cache}"),
        ]),
        start(&["cache".into(), cache.to_string()]),
    ]);
    for port in [front, pay, cache] {
        wait_listening(port);
    }
    // The pay service runs in a unit of its own: a cgroup named like one,
    // which is all a process's origin is read from.
    let unit = format!(
        "hs-e2e-{}-{}.service",
        std::process::id(),
        u8::from(from_syscalls)
    );
    let _unit = CgroupUnit::enter(&unit, services.0[1].id());
    let mut args = vec!["chains".to_owned(), "--duration".into(), "4s".into()];
    for child in &services.0 {
        args.push("-p".into());
        args.push(child.id().to_string());
    }
    let mut watcher = hostscope();
    if from_syscalls {
        watcher.env("HOSTSCOPE_SOCKETS_FROM_SYSCALLS", "1");
    }
    let watcher = Running::attached(watcher.args(&args), services.0.len());
    let client = Command::new("python3")
        .args([
            "-c",
            &format!(
                "import urllib.request, urllib.error\n\
                 try:\n    urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:{front}/checkout', headers={{'X-Request-ID': 'hs-e2e-1'}}), timeout=5)\n\
                 except urllib.error.HTTPError as e:\n    print(e.code)"
            ),
        ])
        .output()
        .expect("run the client");
    assert_eq!(String::from_utf8_lossy(&client.stdout).trim(), "502");
    let Finished {
        status,
        stdout,
        stderr,
    } = watcher.finish(Duration::from_secs(30));
    assert!(status.success(), "{stderr}");
    let chain: Vec<&str> = stdout
        .split("\n\n")
        .find(|c| c.contains("/checkout"))
        .unwrap_or_else(|| panic!("no chain for /checkout:\n{stdout}\n{stderr}"))
        .lines()
        .collect();
    assert_eq!(chain.len(), 3, "three hops:\n{stdout}");
    assert!(
        chain[0].starts_with("GET /checkout  python3[")
            && chain[0].contains(&format!(":{front}  502  ")),
        "{}",
        chain[0]
    );
    assert!(
        chain[1].starts_with("└─ POST /pay  python3[")
            && chain[1].contains(&format!("] ({unit}) :{pay}  500  ")),
        "the service, with its unit: {}",
        chain[1]
    );
    assert!(
        chain[2].starts_with("   └─ GET /session/42  python3[")
            && chain[2].contains(&format!(":{cache}  404  "))
            && chain[2].ends_with("<- culprit"),
        "{}",
        chain[2]
    );
    assert!(stderr.contains("requests never answered"), "{stderr}");
}

/// A protocol hostscope does not know (bytes that are no HTTP, RESP or
/// PostgreSQL) is still shown: one span per connection, with the bytes
/// each way, from its connect or accept to its end. The connection ends
/// in the kernel's TCP state machine (the client closes without reading an
/// end of stream), which is what the probe's close record reports.
#[test]
fn a_connection_of_an_unknown_protocol_is_one_span_with_its_bytes_each_way() {
    let script = r#"
import socket, sys, threading, time
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]
def serve():
    conn, _ = srv.accept()
    got = 0
    while got < 300:
        chunk = conn.recv(4096)
        if not chunk:
            break
        got += len(chunk)
    conn.sendall(b"\x00\x02" + b"z" * 998)
    time.sleep(0.5)
    conn.close()
t = threading.Thread(target=serve)
t.start()
c = socket.create_connection(("127.0.0.1", port))
c.sendall(b"\x7fHSOPAQUE" + b"\x01" * 91)
c.sendall(b"\x01" * 200)
left = 1000
while left > 0:
    left -= len(c.recv(4096))
c.close()
t.join()
print(port)
"#;
    let out = hostscope()
        .args(["chains", "--", "python3", "-c", script])
        .output()
        .expect("run hostscope chains");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let port = stdout
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<u16>().ok())
        .unwrap_or_else(|| panic!("the script's port first:\n{stdout}\n{stderr}"));
    // Both ends of the one connection are one hop, shown from the server.
    let hops: Vec<&str> = stdout.lines().filter(|l| l.starts_with("CONN")).collect();
    assert_eq!(
        hops.len(),
        1,
        "one connection-level hop:\n{stdout}\n{stderr}"
    );
    assert!(
        hops[0].starts_with("CONN 1000 B out, 300 B in  python3["),
        "bytes each way, as the server sent and read them: {}",
        hops[0]
    );
    assert!(
        hops[0].contains(&format!(":{port}  closed  ")),
        "the service's port and the end of the connection: {}",
        hops[0]
    );
}

/// A secret in a request's target is masked unless `--show-secrets` asks
/// for it, in the text output as in the JSON.
#[test]
fn a_secret_query_parameter_is_masked_unless_show_secrets() {
    let script = r#"
import http.server, threading, urllib.request
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
urllib.request.urlopen("http://127.0.0.1:%d/q?page=2&token=hs-e2e-s3cret" % srv.server_port).read()
srv.shutdown()
"#;
    let run = |extra: &[&str]| {
        let out = hostscope()
            .arg("chains")
            .args(extra)
            .args(["--", "python3", "-c", script])
            .output()
            .expect("run hostscope chains");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let masked = run(&[]);
    assert!(
        masked.contains("GET /q?page=2&token=****  python3["),
        "masked by default:\n{masked}"
    );
    assert!(!masked.contains("hs-e2e-s3cret"), "{masked}");
    let json = run(&["--json"]);
    assert!(!json.contains("hs-e2e-s3cret"), "{json}");
    let shown = run(&["--show-secrets"]);
    assert!(
        shown.contains("GET /q?page=2&token=hs-e2e-s3cret  python3["),
        "shown when asked:\n{shown}"
    );
}

/// A cgroup (v1, the `pids` controller) named like a systemd unit, with a
/// process moved into it; the process goes back to the root cgroup and the
/// cgroup is removed when dropped.
struct CgroupUnit(std::path::PathBuf);

impl CgroupUnit {
    fn enter(name: &str, pid: u32) -> CgroupUnit {
        let dir = std::path::Path::new("/sys/fs/cgroup/pids").join(name);
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        std::fs::write(dir.join("cgroup.procs"), pid.to_string())
            .unwrap_or_else(|e| panic!("move {pid} into {}: {e}", dir.display()));
        CgroupUnit(dir)
    }
}

impl Drop for CgroupUnit {
    fn drop(&mut self) {
        if let Ok(procs) = std::fs::read_to_string(self.0.join("cgroup.procs")) {
            for pid in procs.lines() {
                let _ = std::fs::write("/sys/fs/cgroup/pids/cgroup.procs", pid);
            }
        }
        let _ = std::fs::remove_dir(&self.0);
    }
}
