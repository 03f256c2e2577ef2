//! Helpers shared by the end-to-end tests: finding the binary, building small
//! C workloads, reading JSON Lines output, a hostscope waited for until it is
//! attached ([`running`]), and the services that the chains and export tests
//! watch ([`stack`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

pub mod running;
pub mod stack;

/// The `hostscope` binary built by cargo for this workspace.
pub fn hostscope() -> Command {
    Command::new(hostscope_path())
}

pub fn hostscope_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("hostscope")
}

/// A name no other test or run uses: for paths and process names that a test
/// looks for in host-wide output.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A scratch directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let dir = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&dir).expect("create a temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Compiles a C program (statically, so that no dynamic loader adds syscalls
/// of its own) and returns the executable's path inside `dir`.
pub fn compile_c(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    std::fs::write(&src, source).expect("write the C source");
    let out = Command::new("cc")
        .args(["-O2", "-static", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("run cc (gcc and libc6-dev are needed)");
    assert!(
        out.status.success(),
        "cc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Parses JSON Lines, panicking with the line on error.
pub fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(bytes.to_vec())
        .expect("JSON output is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The `type` field of a JSON record.
pub fn record_type(v: &serde_json::Value) -> &str {
    v["type"].as_str().expect("every record has a type")
}

/// front (/checkout) -> pay (/pay) -> cache (/session/42, 404): pay
/// answers 500, front 502. Each call propagates X-Request-ID.
pub const THREE_SERVICES_PY: &str = r#"
import sys, urllib.request, urllib.error
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
role, port = sys.argv[1], int(sys.argv[2])
upstream = sys.argv[3] if len(sys.argv) > 3 else None
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def answer(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def call(self, method, path):
        rid = self.headers.get("X-Request-ID", "none")
        req = urllib.request.Request(upstream + path, method=method, data=b"" if method == "POST" else None,
                                     headers={"X-Request-ID": rid})
        try:
            return urllib.request.urlopen(req, timeout=5).status
        except urllib.error.HTTPError as e:
            return e.code
    def do_GET(self):
        if role == "front":
            self.answer(502 if self.call("POST", "/pay") >= 500 else 200)
        elif role == "cache":
            self.answer(404)
    def do_POST(self):
        if role == "pay":
            self.answer(500 if self.call("GET", "/session/42") == 404 else 200)
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
"#;

/// A loopback TCP port that is free now and was never handed out before in
/// this process. Tests run in parallel threads, and the kernel may give two
/// of them the same free port before either has bound it. Seen in CI: two
/// chains tests, each with its own services, ended up sharing one front.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        if given.insert(port) {
            return port;
        }
    }
}

/// Waits until something accepts TCP connections on loopback `port`.
pub fn wait_listening(port: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "port {port} never listened"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Child processes killed and reaped when dropped, even when a test fails.
pub struct Services(pub Vec<std::process::Child>);

impl Drop for Services {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
