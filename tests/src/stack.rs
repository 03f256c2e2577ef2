//! The services the chains and export tests watch, on loopback: nginx (a
//! reverse proxy, an event loop) -> a Python service on the standard
//! library's threading HTTP server -> redis-server (two pipelined
//! commands) and another Python service -> PostgreSQL. The session key in
//! Redis has expired, so the service answers 503 and nginx 502, and the
//! client sends secrets that must appear nowhere.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// What `hs-secret` stands in front of in every secret the client sends.
pub const SECRET: &str = "hs-secret";

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

/// The client: `PORT N`, N requests on one keep-alive connection, each
/// with an `Authorization` header and a cookie. Prints each status and the
/// local port it went out on.
const CLIENT: &str = r#"
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
for _ in range(int(sys.argv[2])):
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

/// A server the test started, stopped (gently, then not) when dropped.
pub struct Server {
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

    pub fn pid(&self) -> u32 {
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

fn wait_serving(server: &mut Server, port: u16, dir: &Path) {
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

/// Every service up, the session expired; stopped when dropped (nginx
/// first, as the fields are dropped in order).
pub struct Stack {
    pub nginx: Server,
    pub app: Server,
    pub orders: Server,
    pub postgres: Server,
    pub redis: Server,
    pub nginx_port: u16,
    pub app_port: u16,
    pub orders_port: u16,
    pub pg_port: u16,
    pub redis_port: u16,
    /// nginx's one worker, which serves the requests.
    pub worker: u32,
    service_log: PathBuf,
}

impl Stack {
    /// Starts everything in `dir` and waits until each one answers.
    pub fn start(dir: &Path) -> Stack {
        let d = dir;
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
        wait_serving(&mut redis_server, redis_port, d);
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
        wait_serving(&mut orders, orders_port, d);
        wait_serving(&mut app, app_port, d);

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
        wait_serving(&mut nginx, nginx_port, d);
        // The master listens before it forks its worker: wait for the fork.
        let deadline = Instant::now() + Duration::from_secs(10);
        let workers = loop {
            let workers = children(nginx.pid());
            if !workers.is_empty() || Instant::now() > deadline {
                break workers;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(workers.len(), 1, "one nginx worker: {workers:?}");
        Stack {
            nginx,
            app,
            orders,
            postgres,
            redis: redis_server,
            nginx_port,
            app_port,
            orders_port,
            pg_port,
            redis_port,
            worker: workers[0],
            service_log,
        }
    }

    /// `requests` checkouts through nginx on one keep-alive connection,
    /// each with the secrets; prints `STATUS LOCAL_PORT` per request.
    pub fn client(&self, requests: usize) -> Output {
        Command::new("python3")
            .args(["-c", CLIENT])
            .arg(self.nginx_port.to_string())
            .arg(requests.to_string())
            .output()
            .expect("run the client")
    }

    /// What the services logged so far, a line per request:
    /// `checkout peer=… rid=… secrets=… session=… orders=…` and
    /// `orders peer=… rid=… backend=… tag=… rows=…`.
    pub fn service_log(&self) -> String {
        std::fs::read_to_string(&self.service_log).unwrap_or_default()
    }
}
