//! `hostscope chains` against real servers on loopback: nginx (a reverse
//! proxy, an event loop) -> a Python service on the standard library's
//! threading HTTP server -> redis-server (two pipelined commands) and
//! another Python service -> PostgreSQL. The session key in Redis has
//! expired, so the service answers 503 and nginx 502: every hop, its status,
//! its link and the culprit must come out, keep-alive connections carrying
//! several requests must not mix them up, and the secrets the client sends
//! must appear nowhere.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hostscope_tests::{TempDir, free_port, hostscope};

/// What `hs-secret` stands in front of in every secret the client sends.
const SECRET: &str = "hs-secret";

/// The PostgreSQL query the orders service runs; its literal must be masked.
const ORDERS_SQL: &str = "SELECT count(*) FROM pg_class WHERE relname = 'x'";

/// Both Python services, and a one-shot PostgreSQL check (`pgcheck`), with
/// a minimal PostgreSQL wire-protocol client: python3's standard library
/// has none, and redis-py is not installed either.
///
/// `app PORT REDIS ORDERS LOG`: `GET /checkout` sends `GET session:42` and
/// `PING` pipelined on one Redis connection, calls `GET /orders`
/// propagating `X-Request-ID`, and answers 503 when the session is nil.
/// Its Redis and orders connections are kept per thread, so a keep-alive
/// connection from nginx reuses them. `orders PORT PG LOG`: `GET /orders`
/// runs [`ORDERS_SQL`] on a fresh connection and answers 200.
const SERVICES: &str = r#"
import http.client, socket, struct, sys, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

SQL = sys.argv[-1]
local = threading.local()
log_lock = threading.Lock()

def pg_query(port, sql):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        f = s.makefile("rb")
        def message():
            head = f.read(5)
            if len(head) < 5:
                raise EOFError("postgres closed the connection")
            (size,) = struct.unpack("!i", head[1:])
            return head[:1], f.read(size - 4)
        params = b"user\0postgres\0database\0postgres\0\0"
        s.sendall(struct.pack("!ii", 8 + len(params), 3 << 16) + params)
        backend = None
        while True:
            kind, body = message()
            if kind == b"R" and struct.unpack("!i", body[:4])[0] != 0:
                raise RuntimeError("postgres asks for authentication %d" % struct.unpack("!i", body[:4]))
            if kind == b"E":
                raise RuntimeError(body.replace(b"\0", b" ").decode(errors="replace"))
            if kind == b"K":
                (backend,) = struct.unpack("!i", body[:4])
            if kind == b"Z":
                break
        query = sql.encode() + b"\0"
        s.sendall(b"Q" + struct.pack("!i", 4 + len(query)) + query)
        tag, rows, error = None, [], None
        while True:
            kind, body = message()
            if kind == b"D":
                (columns,) = struct.unpack("!h", body[:2])
                at, row = 2, []
                for _ in range(columns):
                    (size,) = struct.unpack("!i", body[at:at + 4])
                    at += 4
                    row.append(None if size < 0 else body[at:at + size].decode())
                    at += max(size, 0)
                rows.append(row)
            elif kind == b"C":
                tag = body.rstrip(b"\0").decode()
            elif kind == b"E":
                error = body.replace(b"\0", b" ").decode(errors="replace")
            elif kind == b"Z":
                break
        s.sendall(b"X" + struct.pack("!i", 4))
        if error is not None:
            raise RuntimeError(error)
        return tag, rows, backend

def log(path, line):
    with log_lock, open(path, "a") as f:
        f.write(line + "\n")

def redis_session(port):
    s = getattr(local, "redis", None)
    if s is None:
        s = local.redis = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"*2\r\n$3\r\nGET\r\n$10\r\nsession:42\r\n*1\r\n$4\r\nPING\r\n")
    buf = b""
    while not buf.endswith(b"+PONG\r\n"):
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError("redis closed the connection")
        buf += chunk
    head, rest = buf.split(b"\r\n", 1)
    if head == b"$-1" and rest == b"+PONG\r\n":
        return None
    if head.startswith(b"$") and rest[int(head[1:]) + 2:] == b"+PONG\r\n":
        return rest[:int(head[1:])]
    raise RuntimeError("unexpected redis replies %r" % buf)

def call_orders(port, rid):
    c = getattr(local, "orders", None)
    if c is None:
        c = local.orders = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/orders", headers={"X-Request-ID": rid})
    r = c.getresponse()
    r.read()
    return r.status

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def answer(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def do_GET(self):
        role, port = sys.argv[1], int(sys.argv[2])
        if role == "app" and self.path == "/checkout":
            redis, orders, path = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
            rid = self.headers.get("X-Request-ID", "")
            secrets = "Authorization" in self.headers and "Cookie" in self.headers
            session = redis_session(redis)
            status = call_orders(orders, rid)
            log(path, "checkout peer=%d rid=%s secrets=%s session=%s orders=%d" % (
                self.client_address[1], rid, secrets, "nil" if session is None else "set", status))
            self.answer(503 if session is None else 200 if status == 200 else 500)
        elif role == "orders" and self.path == "/orders":
            pg, path = int(sys.argv[3]), sys.argv[4]
            tag, rows, backend = pg_query(pg, SQL)
            log(path, "orders peer=%d rid=%s backend=%d tag=%s rows=%s" % (
                self.client_address[1], self.headers.get("X-Request-ID", ""), backend, tag, rows))
            self.answer(200 if tag == "SELECT 1" and rows == [["0"]] else 500)
        else:
            self.answer(404)

if sys.argv[1] == "pgcheck":
    tag, rows, _ = pg_query(int(sys.argv[2]), SQL)
    sys.exit(0 if tag == "SELECT 1" else 1)
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), H).serve_forever()
"#;

/// The client: three requests on one keep-alive connection, each with an
/// `Authorization` header and a cookie. Prints each status and the local
/// port it went out on.
const CLIENT: &str = r#"
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
for _ in range(3):
    c.request("GET", "/checkout", headers={
        "Authorization": "Bearer hs-secret-XYZ",
        "Cookie": "session=hs-secret-COOKIE",
    })
    port = c.sock.getsockname()[1]
    r = c.getresponse()
    r.read()
    print(r.status, port)
"#;

const NGINX_CONF: &str = r#"
user root;
worker_processes 1;
pid DIR/nginx.pid;
error_log DIR/nginx-error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path DIR/nginx-body;
    proxy_temp_path DIR/nginx-proxy;
    fastcgi_temp_path DIR/nginx-fastcgi;
    uwsgi_temp_path DIR/nginx-uwsgi;
    scgi_temp_path DIR/nginx-scgi;
    upstream app {
        server 127.0.0.1:APP;
        keepalive 4;
    }
    server {
        listen 127.0.0.1:PORT;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Request-ID $request_id;
            proxy_intercept_errors on;
            error_page 503 = @unavailable;
        }
        location @unavailable {
            return 502;
        }
    }
}
"#;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// `hostscope chains`, killed if the test fails before it ends.
struct Watcher(Child);

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A server the test started, stopped (gently, then not) when dropped.
struct Server {
    name: &'static str,
    child: Child,
    /// The signal that shuts it down cleanly, its children included (an
    /// nginx worker or a PostgreSQL backend outlives a killed parent).
    stop: i32,
}

impl Server {
    fn start(name: &'static str, command: &mut Command, stop: i32, dir: &Path) -> Server {
        let log = File::create(dir.join(format!("{name}.log"))).expect("create a server log");
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone a log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Server { name, child, stop }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // SAFETY: plain kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as i32, self.stop) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "{} did not stop on signal {}: killing it",
            self.name, self.stop
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_of(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default()
}

fn wait_listening(server: &mut Server, port: u16, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        let exited = server.child.try_wait().expect("poll a server");
        assert!(
            exited.is_none() && Instant::now() < deadline,
            "{} never listened on port {port} ({exited:?}):\n{}",
            server.name,
            log_of(dir, server.name)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One RESP command, its reply's first line.
fn redis(port: u16, args: &[&str]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to redis");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a read timeout");
    let mut command = format!("*{}\r\n", args.len());
    for arg in args {
        command.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(command.as_bytes()).expect("send to redis");
    let mut reply = String::new();
    BufReader::new(stream)
        .read_line(&mut reply)
        .expect("read redis' reply");
    reply.trim_end().to_owned()
}

/// `pid`'s children, from procfs.
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().expect("a pid"))
        .collect()
}

/// `line` without its trailing duration and culprit mark.
fn head(line: &str) -> &str {
    let line = line.strip_suffix("  <- culprit").unwrap_or(line);
    let end = line
        .rmatch_indices("  ")
        .next()
        .map_or(line.len(), |(at, _)| at);
    &line[..end]
}

#[test]
fn an_expired_redis_key_behind_nginx_is_the_culprit_of_every_502() {
    let dir = TempDir::new("hs-chains-servers");
    let d = dir.path();
    let script = d.join("services.py");
    std::fs::write(&script, SERVICES).expect("write the services");
    let (redis_port, pg_port, orders_port, app_port, nginx_port) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );

    // Redis, with a session that has just expired: the injected fault.
    let mut redis_server = Server::start(
        "redis-server",
        Command::new("redis-server")
            .args(["--port", &redis_port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--dir"])
            .arg(d),
        libc::SIGTERM,
        d,
    );
    wait_listening(&mut redis_server, redis_port, d);
    assert_eq!(
        redis(redis_port, &["SET", "session:42", "alice", "PX", "50"]),
        "+OK"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        redis(redis_port, &["GET", "session:42"]),
        "$-1",
        "the session has expired"
    );

    // PostgreSQL, as the postgres user (initdb and postgres refuse root).
    let pg_dir = d.join("pg");
    std::fs::create_dir(&pg_dir).expect("create the PostgreSQL dir");
    let chown = Command::new("chown")
        .arg("postgres:postgres")
        .arg(&pg_dir)
        .status()
        .expect("run chown");
    assert!(chown.success(), "chown postgres {}", pg_dir.display());
    let as_postgres = |program: &str| {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            .arg(format!("{PG_BIN}/{program}"))
            .env("LC_ALL", "C");
        command
    };
    let initdb = as_postgres("initdb")
        .arg("-D")
        .arg(pg_dir.join("data"))
        .args(["-U", "postgres", "--auth=trust", "--no-sync", "--no-locale"])
        .output()
        .expect("run initdb");
    assert!(
        initdb.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&initdb.stderr)
    );
    let mut postgres = Server::start(
        "postgres",
        as_postgres("postgres")
            .arg("-D")
            .arg(pg_dir.join("data"))
            .arg("-k")
            .arg(&pg_dir)
            .args(["-h", "127.0.0.1", "-p", &pg_port.to_string()])
            .args(["-c", "fsync=off"]),
        libc::SIGINT,
        d,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let check = Command::new("python3")
            .arg(&script)
            .args(["pgcheck", &pg_port.to_string(), ORDERS_SQL])
            .output()
            .expect("run the PostgreSQL check");
        if check.status.success() {
            break;
        }
        let exited = postgres.child.try_wait().expect("poll postgres");
        assert!(
            exited.is_none() && Instant::now() < deadline,
            "PostgreSQL never answered ({exited:?}): {}\n{}",
            String::from_utf8_lossy(&check.stderr),
            log_of(d, "postgres")
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The two Python services.
    let service_log = d.join("services.txt");
    let mut orders = Server::start(
        "orders",
        Command::new("python3")
            .arg(&script)
            .args(["orders", &orders_port.to_string(), &pg_port.to_string()])
            .arg(&service_log)
            .arg(ORDERS_SQL),
        libc::SIGTERM,
        d,
    );
    let mut app = Server::start(
        "app",
        Command::new("python3")
            .arg(&script)
            .args(["app", &app_port.to_string(), &redis_port.to_string()])
            .arg(orders_port.to_string())
            .arg(&service_log)
            .arg(ORDERS_SQL),
        libc::SIGTERM,
        d,
    );
    wait_listening(&mut orders, orders_port, d);
    wait_listening(&mut app, app_port, d);

    // nginx in front.
    let conf = d.join("nginx.conf");
    let text = NGINX_CONF
        .replace("DIR", &d.display().to_string())
        .replace("APP", &app_port.to_string())
        .replace("PORT", &nginx_port.to_string());
    std::fs::write(&conf, text).expect("write nginx.conf");
    let mut nginx = Server::start(
        "nginx",
        Command::new("nginx")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(d)
            .arg("-e")
            .arg(d.join("nginx-error.log"))
            .args(["-g", "daemon off; master_process on;"]),
        libc::SIGTERM,
        d,
    );
    wait_listening(&mut nginx, nginx_port, d);
    let workers = children(nginx.pid());
    assert_eq!(workers.len(), 1, "one nginx worker: {workers:?}");

    let mut watcher = Watcher(
        hostscope()
            .args(["chains", "--all", "--duration", "8s", "--errors"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hostscope chains"),
    );
    let watching = Instant::now();
    let (attached_tx, attached) = mpsc::channel();
    let stderr = watcher.0.stderr.take().expect("hostscope's stderr");
    let stderr_reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.expect("hostscope's stderr is UTF-8");
            if line.contains("attached to every process") {
                let _ = attached_tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let mut stdout = watcher.0.stdout.take().expect("hostscope's stdout");
    let stdout_reader = std::thread::spawn(move || {
        let mut all = String::new();
        stdout
            .read_to_string(&mut all)
            .expect("hostscope's stdout is UTF-8");
        all
    });
    if attached.recv_timeout(Duration::from_secs(20)).is_err() {
        drop(watcher);
        panic!(
            "hostscope never attached:\n{}",
            stderr_reader.join().unwrap_or_default()
        );
    }
    // The probe is loaded before that line; let the ring buffer reader start.
    std::thread::sleep(Duration::from_millis(500));

    let client = Command::new("python3")
        .args(["-c", CLIENT, &nginx_port.to_string()])
        .output()
        .expect("run the client");
    // It stops on its own after --duration; give it ample time to print.
    let status = loop {
        if let Some(status) = watcher.0.try_wait().expect("poll hostscope chains") {
            break status;
        }
        if watching.elapsed() > Duration::from_secs(40) {
            drop(watcher);
            panic!(
                "hostscope chains --duration 8s still ran after 40 s:\n{}",
                stderr_reader.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = stdout_reader.join().expect("read hostscope's stdout");
    let stderr = stderr_reader.join().expect("read hostscope's stderr");
    let answers = String::from_utf8_lossy(&client.stdout);
    let service_log = std::fs::read_to_string(&service_log).unwrap_or_default();
    let context = format!(
        "client: {answers}{}\nservices:\n{service_log}\nhostscope stdout:\n{stdout}\nhostscope stderr:\n{stderr}",
        String::from_utf8_lossy(&client.stderr)
    );

    // The setup did what the chain must show: 502s on one client
    // connection, nginx's request id carried down to orders, the secrets
    // sent all the way to the app.
    let client_ports: Vec<&str> = answers
        .lines()
        .map(|l| {
            l.strip_prefix("502 ")
                .unwrap_or_else(|| panic!("nginx answered {l:?}, not 502\n{context}"))
        })
        .collect();
    assert_eq!(client_ports.len(), 3, "three answers\n{context}");
    assert!(
        client_ports.iter().all(|p| *p == client_ports[0]),
        "one keep-alive client connection\n{context}"
    );
    let checkouts: Vec<&str> = service_log
        .lines()
        .filter(|l| l.starts_with("checkout "))
        .collect();
    assert_eq!(checkouts.len(), 3, "the app served three\n{context}");
    for line in &checkouts {
        assert!(
            line.contains(" secrets=True session=nil orders=200"),
            "{line}\n{context}"
        );
        let rid = line
            .split_once(" rid=")
            .and_then(|(_, r)| r.split(' ').next())
            .expect("a request id");
        assert!(
            rid.len() == 32 && rid.bytes().all(|b| b.is_ascii_hexdigit()),
            "nginx set the id: {line}\n{context}"
        );
        assert!(
            service_log
                .lines()
                .any(|l| l.starts_with("orders ") && l.contains(&format!(" rid={rid} "))),
            "the app propagated {rid}\n{context}"
        );
    }
    let peers: Vec<&str> = checkouts
        .iter()
        .map(|l| l.split(' ').nth(1).expect("a peer"))
        .collect();
    assert!(
        peers.iter().all(|p| *p == peers[0]),
        "nginx kept one upstream connection alive for all three\n{context}"
    );

    assert!(status.success(), "hostscope chains failed\n{context}");
    assert!(
        !stdout.contains(SECRET) && !stderr.contains(SECRET),
        "a secret leaked\n{context}"
    );

    // The PostgreSQL backend (forked by the postmaster for each connection)
    // served each query, in request order.
    let backends: Vec<&str> = service_log
        .lines()
        .filter(|l| l.starts_with("orders "))
        .map(|l| {
            l.split_once(" backend=")
                .and_then(|(_, b)| b.split(' ').next())
                .expect("a backend pid")
        })
        .collect();
    let worker = workers[0];
    let redis_pid = redis_server.pid();
    let root = format!("GET /checkout  nginx[{worker}] :{nginx_port}  502");
    let chains: Vec<Vec<&str>> = stdout
        .split("\n\n")
        .map(|c| c.lines().collect::<Vec<_>>())
        .filter(|c| c.first().is_some_and(|l| head(l) == root))
        .collect();
    assert_eq!(chains.len(), 3, "one chain per request\n{context}");
    for (chain, backend) in chains.iter().zip(&backends) {
        let shown = chain.join("\n");
        let heads: Vec<&str> = chain.iter().map(|l| head(l)).collect();
        // nginx's own request carries no id (nginx makes it up for the
        // upstream request), so its link to the app can only be inferred:
        // one request at a time on its worker thread. The app's threads
        // serve one request each at a time: its calls are inferred too,
        // but for orders, which gets nginx's id.
        let expected = [
            root.clone(),
            format!("└┄ GET /checkout  python3[{}] :{app_port}  503", app.pid()),
            format!("   └┄ GET session:42  redis-server[{redis_pid}] :{redis_port}  (nil)"),
            format!("   └┄ PING  redis-server[{redis_pid}] :{redis_port}  OK"),
            format!(
                "   └─ GET /orders  python3[{}] :{orders_port}  200",
                orders.pid()
            ),
            format!(
                "      └┄ QUERY SELECT count(*) FROM pg_class WHERE relname = ?  \
                 postgres[{backend}] :{pg_port}  SELECT 1"
            ),
        ];
        assert_eq!(heads, expected, "the chain, hop by hop\n{shown}\n{context}");
        let blamed: Vec<usize> = (0..chain.len())
            .filter(|&i| chain[i].ends_with("  <- culprit"))
            .collect();
        assert_eq!(blamed, [2], "the expired key is the culprit\n{shown}");
    }
}
