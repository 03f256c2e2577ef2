//! `hostscope chains --json`: chains as JSON Lines, for scripts and
//! dashboards. The schema is pinned by `tests/tests/chains_json.rs`:
//! change both together.
//!
//! Every record has a `type`. Process names are strings when valid UTF-8,
//! else `{"hex": …}` (see [`crate::escape::json_bytes`]); targets, ids and
//! statuses are the escaped text the parsers produced. Times are Unix
//! nanoseconds, durations nanoseconds.
//!
//! - `request`, one per hop (a request as one or both ends saw it), a
//!   parent before its children: `span_id` (the server end's span when it
//!   was seen, else the client's), `parent_id` (the parent hop's `span_id`,
//!   or null for a chain's root), `link` (how the hop is tied to its parent:
//!   `"header"`, a propagated `traceparent` or `X-Request-ID`, exact;
//!   `"thread"`, made on the thread serving the parent while it did,
//!   inferred; null for a root), `ends` (`"both"` when the client's and the
//!   server's views were paired by their connection, an exact link between
//!   two processes; `"client"` or `"server"` when only that end was
//!   watched), `protocol` (`"http"`, `"redis"`, `"postgres"`, or `"other"`
//!   for a connection-level hop: operation `"CONN"`, empty target),
//!   `operation`, `target`, `host` (HTTP `Host` or null), `status` (a
//!   number for HTTP; for Redis `"OK"`, `"(nil)"` or the error reply; for
//!   PostgreSQL the command tag or `"ERROR <sqlstate> <message>"`;
//!   `"closed"` or `"open"` for a connection-level hop; null without a
//!   response), `error` (a 5xx, or a Redis or PostgreSQL error), `start_ns`
//!   and `duration_ns` (as the client saw it when watched, else the server;
//!   `duration_ns` null without a response), `request_bytes`,
//!   `response_bytes` (null without a response), `client` and `server`
//!   (`{pid, tid, comm, addr, origin}`: that end's own address or null over
//!   a unix socket, its process's container, pod or systemd unit as `ps`
//!   shows it or null; null when that end was not watched), `trace_id`,
//!   `request_id`
//!   (null when not carried).
//! - `chain`, after its requests: `root_id`, `hops` (count), `duration_ns`
//!   (the root's), `failed` (some hop failed), `culprit_id` (the `span_id`
//!   of the hop to blame: the deepest failure, or the most self time; null
//!   for a lone hop that did not fail).
//! - `edge`, with `--map`: `caller` (`{pid, comm, origin}`, null when not
//!   watched), `callee` (likewise), `port` (the callee's listening port),
//!   `protocol`, `requests`, `errors`, `unanswered`, `rate_per_s`,
//!   `error_pct` (0 to 100), `p50_ns`, `p99_ns` (null when none answered).
//! - `summary`, last: `chains` (chain records written, or chains folded
//!   into the map), `unanswered` (requests never answered), `events_lost`.

use std::io::{self, Write};

use serde::Serialize;

use super::Status;
use super::link::{Hop, LinkKind, culprit, culprit_hop};
use super::map::{self, Edge};
use super::track::Span;
use crate::escape::JsonBytes;

/// `{"type":"request", …}`: one hop.
#[derive(Debug, Serialize)]
pub struct RequestRecord<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub span_id: u64,
    pub parent_id: Option<u64>,
    /// `"header"` or `"thread"`; null for a root.
    pub link: Option<&'static str>,
    /// `"both"`, `"client"` or `"server"`.
    pub ends: &'static str,
    pub protocol: &'static str,
    pub operation: &'a str,
    pub target: &'a str,
    pub host: Option<&'a str>,
    pub status: Option<StatusValue>,
    pub error: bool,
    /// Unix time of the request, in nanoseconds.
    pub start_ns: u64,
    /// Null without a response.
    pub duration_ns: Option<u64>,
    pub request_bytes: u64,
    /// Null without a response.
    pub response_bytes: Option<u64>,
    pub client: Option<EndRecord<'a>>,
    pub server: Option<EndRecord<'a>>,
    pub trace_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

/// A status as JSON: HTTP codes stay numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum StatusValue {
    Code(u16),
    Text(String),
}

impl From<&Status> for StatusValue {
    fn from(status: &Status) -> Self {
        match status {
            Status::Http(code) => StatusValue::Code(*code),
            Status::RedisOk => StatusValue::Text("OK".to_owned()),
            Status::RedisNil => StatusValue::Text("(nil)".to_owned()),
            Status::RedisError(message) => StatusValue::Text(message.clone()),
            Status::PgOk(tag) => StatusValue::Text(tag.clone()),
            Status::PgError { code, message } => {
                StatusValue::Text(format!("ERROR {code} {message}"))
            }
            Status::Closed => StatusValue::Text("closed".to_owned()),
            Status::Open => StatusValue::Text("open".to_owned()),
        }
    }
}

/// One end of a hop: the process that sent or answered the request.
#[derive(Debug, Serialize)]
pub struct EndRecord<'a> {
    pub pid: u32,
    /// The thread that wrote (client) or read (server) the request.
    pub tid: u32,
    pub comm: JsonBytes<'a>,
    /// This end's own address (`127.0.0.1:8080`); null over a unix socket.
    pub addr: Option<String>,
    /// The container, pod or unit its process runs in (`docker:0123456789ab`,
    /// `nginx.service`); null when unknown.
    pub origin: Option<String>,
}

impl<'a> From<&'a Span> for EndRecord<'a> {
    fn from(span: &'a Span) -> Self {
        EndRecord {
            pid: span.pid,
            tid: span.tid,
            comm: JsonBytes(&span.comm),
            addr: span.local.map(|a| a.to_string()),
            origin: span.origin.as_ref().map(ToString::to_string),
        }
    }
}

/// The end whose clock a hop is timed by: the client's when watched (it
/// includes the network), as [`Hop::duration_ns`] does.
fn timed(hop: &Hop) -> &Span {
    hop.client
        .as_ref()
        .or(hop.server.as_ref())
        .expect("a hop has at least one side")
}

fn duration(hop: &Hop) -> Option<u64> {
    timed(hop).status.is_some().then(|| hop.duration_ns())
}

impl<'a> RequestRecord<'a> {
    /// `hop`'s record, under the hop whose `span_id` is `parent_id`.
    pub fn new(hop: &'a Hop, parent_id: Option<u64>) -> Self {
        let main = hop.main();
        let request = &main.request;
        RequestRecord {
            kind: "request",
            span_id: main.id,
            parent_id,
            link: parent_id.and(hop.link).map(|link| match link {
                LinkKind::Header => "header",
                LinkKind::Thread => "thread",
            }),
            ends: match (&hop.client, &hop.server) {
                (Some(_), Some(_)) => "both",
                (Some(_), None) => "client",
                (None, _) => "server",
            },
            protocol: map::protocol_name(main.protocol),
            operation: &request.operation,
            target: &request.target,
            host: request.host.as_deref(),
            status: main.status.as_ref().map(StatusValue::from),
            error: hop.failed(),
            start_ns: timed(hop).start_ns,
            duration_ns: duration(hop),
            request_bytes: request.bytes,
            response_bytes: main.status.as_ref().map(|_| main.response_bytes),
            client: hop.client.as_ref().map(EndRecord::from),
            server: hop.server.as_ref().map(EndRecord::from),
            trace_id: request.trace_id.as_deref(),
            request_id: request.request_id.as_deref(),
        }
    }
}

/// `{"type":"chain", …}`: one chain, after its requests.
#[derive(Debug, Serialize)]
pub struct ChainRecord {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub root_id: u64,
    /// Hops in the chain, the root included.
    pub hops: u64,
    /// The root's, in nanoseconds; null without a response.
    pub duration_ns: Option<u64>,
    /// Whether some hop of the chain failed.
    pub failed: bool,
    /// The `span_id` of the hop to blame; null for a lone hop that did not
    /// fail (nothing to blame, as the trees show it).
    pub culprit_id: Option<u64>,
}

impl From<&Hop> for ChainRecord {
    fn from(root: &Hop) -> Self {
        let path = culprit(root);
        let blamed = culprit_hop(root);
        // As the trees mark it: a lone hop that did not fail is no culprit.
        let blame = !path.is_empty() || root.failed() || !root.children.is_empty();
        ChainRecord {
            kind: "chain",
            root_id: root.main().id,
            hops: root.hop_count() as u64,
            duration_ns: duration(root),
            failed: root.chain_failed(),
            culprit_id: blame.then(|| blamed.main().id),
        }
    }
}

/// `{"type":"edge", …}`: one edge of the service map.
#[derive(Debug, Serialize)]
pub struct EdgeRecord<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub caller: Option<ProcessRecord<'a>>,
    pub callee: Option<ProcessRecord<'a>>,
    /// The callee's listening port; null over a unix socket.
    pub port: Option<u16>,
    pub protocol: &'static str,
    pub requests: u64,
    pub errors: u64,
    pub unanswered: u64,
    /// Requests per second over the watch.
    pub rate_per_s: f64,
    /// 0 to 100.
    pub error_pct: f64,
    /// Nanoseconds; null when no request was answered.
    pub p50_ns: Option<u64>,
    pub p99_ns: Option<u64>,
}

/// A process at one end of an edge.
#[derive(Debug, Serialize)]
pub struct ProcessRecord<'a> {
    pub pid: u32,
    pub comm: JsonBytes<'a>,
    /// As in a request's ends.
    pub origin: Option<String>,
}

impl<'a> From<&'a map::Process> for ProcessRecord<'a> {
    fn from(p: &'a map::Process) -> Self {
        ProcessRecord {
            pid: p.pid,
            comm: JsonBytes(&p.comm),
            origin: p.origin.as_ref().map(ToString::to_string),
        }
    }
}

impl<'a> From<&'a Edge> for EdgeRecord<'a> {
    fn from(e: &'a Edge) -> Self {
        EdgeRecord {
            kind: "edge",
            caller: e.caller.as_ref().map(ProcessRecord::from),
            callee: e.callee.as_ref().map(ProcessRecord::from),
            port: e.port,
            protocol: map::protocol_name(e.protocol),
            requests: e.requests,
            errors: e.errors,
            unanswered: e.unanswered,
            rate_per_s: e.rate_per_s,
            error_pct: e.error_pct,
            p50_ns: e.p50_ns,
            p99_ns: e.p99_ns,
        }
    }
}

/// `{"type":"summary", …}`: the last record of a run.
#[derive(Debug, Serialize)]
pub struct SummaryRecord {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Chain records written (with `--map`, chains folded into the map).
    pub chains: u64,
    /// Requests whose connection closed, or the run ended, unanswered.
    pub unanswered: u64,
    pub events_lost: u64,
}

impl SummaryRecord {
    pub fn new(chains: u64, unanswered: u64, events_lost: u64) -> Self {
        SummaryRecord {
            kind: "summary",
            chains,
            unanswered,
            events_lost,
        }
    }
}

/// Writes `record` as one JSON line.
pub fn write_record(out: &mut impl Write, record: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, record)?;
    out.write_all(b"\n")
}

/// Writes the chain under `root`: a request per hop, each parent before its
/// children, then the chain record.
pub fn write_chain(out: &mut impl Write, root: &Hop) -> io::Result<()> {
    fn walk(out: &mut impl Write, hop: &Hop, parent_id: Option<u64>) -> io::Result<()> {
        write_record(out, &RequestRecord::new(hop, parent_id))?;
        let id = Some(hop.main().id);
        hop.children
            .iter()
            .try_for_each(|child| walk(out, child, id))
    }
    walk(out, root, None)?;
    write_record(out, &ChainRecord::from(root))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use serde_json::{Value, json};

    use super::super::track::Role;
    use super::super::{Protocol, Request};
    use super::*;

    const MS: u64 = 1_000_000;

    fn addr(port: u16) -> Option<SocketAddr> {
        Some(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    #[expect(clippy::too_many_arguments, reason = "a span has that many parts")]
    fn span(
        id: u64,
        role: Role,
        pid: u32,
        comm: &[u8],
        (from, to): (u16, u16),
        request: Request,
        status: Option<Status>,
        (start_ms, end_ms): (u64, u64),
    ) -> Span {
        let (local, remote) = match role {
            Role::Client => (from, to),
            Role::Server => (to, from),
        };
        Span {
            id,
            conn: id,
            peer: 0,
            pid,
            tid: pid + 1,
            comm: comm.into(),
            origin: None,
            role,
            protocol: if to == 6379 {
                Protocol::Redis
            } else {
                Protocol::Http1
            },
            local: addr(local),
            remote: addr(remote),
            index: 0,
            request,
            response_bytes: if status.is_some() { 38 } else { 0 },
            status,
            start_ns: start_ms * MS,
            end_ns: end_ms * MS,
        }
    }

    fn http(operation: &str, target: &str) -> Request {
        Request {
            operation: operation.into(),
            target: target.into(),
            host: Some("shop".into()),
            trace_id: None,
            request_id: Some("r1".into()),
            bytes: 60,
        }
    }

    /// front (server end only) -> pay (both ends, by request id) -> redis
    /// (both ends, by thread), the key expired.
    fn outage() -> Hop {
        let get = Request {
            operation: "GET".into(),
            target: "session:42".into(),
            bytes: 33,
            ..Request::default()
        };
        let redis = Hop {
            client: Some(span(
                5,
                Role::Client,
                20,
                b"pay",
                (40001, 6379),
                get.clone(),
                Some(Status::RedisNil),
                (2, 3),
            )),
            server: Some(span(
                6,
                Role::Server,
                30,
                b"redis-server",
                (40001, 6379),
                get,
                Some(Status::RedisNil),
                (2, 3),
            )),
            link: Some(LinkKind::Thread),
            children: Vec::new(),
        };
        let pay = Hop {
            client: Some(span(
                3,
                Role::Client,
                10,
                b"front",
                (40000, 9000),
                http("POST", "/pay"),
                Some(Status::Http(500)),
                (1, 1199),
            )),
            server: Some(span(
                4,
                Role::Server,
                20,
                b"pay",
                (40000, 9000),
                http("POST", "/pay"),
                Some(Status::Http(500)),
                (1, 1199),
            )),
            link: Some(LinkKind::Header),
            children: vec![redis],
        };
        Hop {
            client: None,
            server: Some(span(
                2,
                Role::Server,
                10,
                b"front",
                (50000, 8080),
                http("GET", "/checkout"),
                Some(Status::Http(502)),
                (0, 1203),
            )),
            link: None,
            children: vec![pay],
        }
    }

    fn lines(root: &Hop) -> Vec<Value> {
        let mut out = Vec::new();
        write_chain(&mut out, root).expect("writing to memory");
        let text = String::from_utf8(out).expect("JSON is UTF-8");
        assert!(text.ends_with('\n'), "{text}");
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    #[test]
    fn a_chain_is_its_requests_parent_first_then_the_chain() {
        let records = lines(&outage());
        assert_eq!(records.len(), 4);
        assert_eq!(
            records[0],
            json!({
                "type": "request", "span_id": 2, "parent_id": null, "link": null,
                "ends": "server", "protocol": "http", "operation": "GET",
                "target": "/checkout", "host": "shop", "status": 502, "error": true,
                "start_ns": 0, "duration_ns": 1203 * MS, "request_bytes": 60,
                "response_bytes": 38, "client": null,
                "server": {"pid": 10, "tid": 11, "comm": "front", "addr": "127.0.0.1:8080",
                           "origin": null},
                "trace_id": null, "request_id": "r1",
            })
        );
        // (span_id, parent_id, link, ends, status)
        let want = [
            (json!(4), json!(2), json!("header"), "both", json!(500)),
            (json!(6), json!(4), json!("thread"), "both", json!("(nil)")),
        ];
        for (r, (id, parent, link, ends, status)) in records[1..3].iter().zip(want) {
            assert_eq!(
                (
                    &r["span_id"],
                    &r["parent_id"],
                    &r["link"],
                    &r["ends"],
                    &r["status"]
                ),
                (&id, &parent, &link, &json!(ends), &status),
                "{r}"
            );
        }
        let redis = &records[2];
        assert_eq!(redis["protocol"], "redis");
        assert_eq!(redis["error"], false, "a nil reply is an answer");
        assert_eq!(redis["client"]["addr"], "127.0.0.1:40001");
        assert_eq!(redis["server"]["addr"], "127.0.0.1:6379");
        assert_eq!(redis["duration_ns"], MS, "as the client saw it");
        assert_eq!(
            records[3],
            json!({
                "type": "chain", "root_id": 2, "hops": 3, "duration_ns": 1203 * MS,
                "failed": true, "culprit_id": 6,
            })
        );
    }

    #[test]
    fn process_text_keeps_every_byte_and_stays_one_line() {
        let mut root = outage();
        let server = root.server.as_mut().unwrap();
        server.comm = b"fr\xffnt".into();
        server.request.target = "/a\\\"b\\n".into();
        server.request.request_id = Some("x\ny".into());
        let mut out = Vec::new();
        write_chain(&mut out, &root).unwrap();
        assert_eq!(
            out.iter().filter(|&&b| b == b'\n').count(),
            4,
            "one line per record"
        );
        let first = &lines(&root)[0];
        assert_eq!(first["server"]["comm"], json!({"hex": "6672ff6e74"}));
        assert_eq!(first["target"], "/a\\\"b\\n");
        assert_eq!(first["request_id"], "x\ny");
    }

    #[test]
    fn statuses_unanswered_requests_and_lone_hops() {
        let table = [
            (Status::Http(404), json!(404)),
            (Status::RedisOk, json!("OK")),
            (
                Status::RedisError("ERR wrong type".into()),
                json!("ERR wrong type"),
            ),
            (Status::PgOk("SELECT 1".into()), json!("SELECT 1")),
            (
                Status::PgError {
                    code: "42P01".into(),
                    message: "relation \"x\" does not exist".into(),
                },
                json!("ERROR 42P01 relation \"x\" does not exist"),
            ),
        ];
        for (status, want) in table {
            assert_eq!(json!(StatusValue::from(&status)), want);
        }
        // A client end never answered, alone: nothing to blame.
        let lone = Hop {
            client: Some(span(
                9,
                Role::Client,
                40,
                b"cron",
                (40100, 7000),
                http("GET", "/"),
                None,
                (5, 5),
            )),
            server: None,
            link: None,
            children: Vec::new(),
        };
        let records = lines(&lone);
        let r = &records[0];
        assert_eq!(
            (
                &r["ends"],
                &r["status"],
                &r["duration_ns"],
                &r["response_bytes"],
                &r["server"]
            ),
            (
                &json!("client"),
                &Value::Null,
                &Value::Null,
                &Value::Null,
                &Value::Null
            )
        );
        assert_eq!(r["span_id"], 9);
        assert_eq!(
            records[1],
            json!({
                "type": "chain", "root_id": 9, "hops": 1, "duration_ns": null,
                "failed": false, "culprit_id": null,
            })
        );
    }

    #[test]
    fn edges_and_the_summary_have_their_type() {
        let mut root = outage();
        // The service's origin, as /proc gave it.
        if let Some(pay) = root.children[0].server.as_mut() {
            pay.origin = Some(crate::procfs::Origin::Unit("pay.service".into()).into());
        }
        let edges = map::edges([&root], std::time::Duration::from_secs(2));
        let mut out = Vec::new();
        for edge in &edges {
            write_record(&mut out, &EdgeRecord::from(edge)).unwrap();
        }
        write_record(&mut out, &SummaryRecord::new(1, 2, 3)).unwrap();
        let text = String::from_utf8(out).unwrap();
        let records: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            records[1],
            json!({
                "type": "edge", "caller": {"pid": 10, "comm": "front", "origin": null},
                "callee": {"pid": 20, "comm": "pay", "origin": "pay.service"},
                "port": 9000, "protocol": "http",
                "requests": 1, "errors": 1, "unanswered": 0, "rate_per_s": 0.5,
                "error_pct": 100.0, "p50_ns": 1198 * MS, "p99_ns": 1198 * MS,
            })
        );
        assert_eq!(records[0]["caller"], Value::Null, "the outside client");
        assert_eq!(
            records[3],
            json!({"type": "summary", "chains": 1, "unanswered": 2, "events_lost": 3})
        );
    }
}
