//! Pins the JSON Lines schema of `hostscope chains --json` and
//! `hostscope chains --map --json`: every record of a real run must
//! deserialize into these structs, which reject unknown fields, and carry
//! exactly the keys listed for its type (so an optional field cannot go
//! missing either). A field added, renamed or retyped fails here first;
//! change `core/src/chains/json.rs`'s schema doc and the README with it.
//!
//! The run is the scenario of `tests/tests/chains.rs`: three Python
//! services, the last one does not find the session, the failure climbs
//! back up.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use hostscope_tests::running::Running;
use hostscope_tests::{
    Services, THREE_SERVICES_PY, TempDir, free_port, hostscope, json_lines, record_type,
    wait_listening,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields exist to pin the schema")]
struct Request {
    r#type: String,
    span_id: u64,
    parent_id: Option<u64>,
    link: Option<String>,
    ends: String,
    protocol: String,
    operation: String,
    target: String,
    host: Option<String>,
    /// A number for HTTP, a string for the other protocols.
    status: Option<Value>,
    error: bool,
    start_ns: u64,
    duration_ns: Option<u64>,
    request_bytes: u64,
    response_bytes: Option<u64>,
    client: Option<End>,
    server: Option<End>,
    trace_id: Option<String>,
    request_id: Option<String>,
}

const REQUEST_KEYS: &[&str] = &[
    "type",
    "span_id",
    "parent_id",
    "link",
    "ends",
    "protocol",
    "operation",
    "target",
    "host",
    "status",
    "error",
    "start_ns",
    "duration_ns",
    "request_bytes",
    "response_bytes",
    "client",
    "server",
    "trace_id",
    "request_id",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields exist to pin the schema")]
struct End {
    pid: u32,
    tid: u32,
    /// A string, or `{"hex": …}` when not UTF-8.
    comm: Value,
    addr: Option<String>,
    /// `docker:0123456789ab`, `nginx.service`…; null when unknown.
    origin: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields exist to pin the schema")]
struct Chain {
    r#type: String,
    root_id: u64,
    hops: u64,
    duration_ns: Option<u64>,
    failed: bool,
    culprit_id: Option<u64>,
}

const CHAIN_KEYS: &[&str] = &[
    "type",
    "root_id",
    "hops",
    "duration_ns",
    "failed",
    "culprit_id",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields exist to pin the schema")]
struct Edge {
    r#type: String,
    caller: Option<Process>,
    callee: Option<Process>,
    port: Option<u16>,
    protocol: String,
    requests: u64,
    errors: u64,
    unanswered: u64,
    rate_per_s: f64,
    error_pct: f64,
    p50_ns: Option<u64>,
    p99_ns: Option<u64>,
}

const EDGE_KEYS: &[&str] = &[
    "type",
    "caller",
    "callee",
    "port",
    "protocol",
    "requests",
    "errors",
    "unanswered",
    "rate_per_s",
    "error_pct",
    "p50_ns",
    "p99_ns",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Process {
    pid: u32,
    comm: Value,
    /// Pinned by `End`'s; the services run in no unit here.
    #[expect(dead_code, reason = "the field exists to pin the schema")]
    origin: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields exist to pin the schema")]
struct Summary {
    r#type: String,
    chains: u64,
    unanswered: u64,
    events_lost: u64,
}

const SUMMARY_KEYS: &[&str] = &["type", "chains", "unanswered", "events_lost"];

/// `record` as a `T`, with exactly `keys`.
fn parse<T: DeserializeOwned>(record: &Value, keys: &[&str]) -> T {
    let line = record.to_string();
    let have: BTreeSet<&str> = record
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {line}"))
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(have, keys.iter().copied().collect(), "keys of {line}");
    serde_json::from_value(record.clone()).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// What a run saw: the three services' ports and pids, and the records.
struct Run {
    ports: [u16; 3],
    pids: [u32; 3],
    records: Vec<Value>,
}

/// Starts front, pay and cache, watches them with `hostscope chains
/// --duration 4s` and `flags`, and sends one /checkout through them.
fn run(flags: &[&str]) -> Run {
    let dir = TempDir::new("hs-chains-json");
    let script = dir.path().join("service.py");
    std::fs::write(&script, THREE_SERVICES_PY).expect("write the service");
    let ports = [free_port(), free_port(), free_port()];
    let [front, pay, cache] = ports;
    let start = |args: &[String]| {
        Command::new("python3")
            .arg(&script)
            .args(args)
            .stdin(Stdio::null())
            .spawn()
            .expect("start a service (python3 is needed)")
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
    for port in ports {
        wait_listening(port);
    }
    let pids = [0, 1, 2].map(|i| services.0[i].id());
    let mut args = vec!["chains".to_owned(), "--duration".into(), "4s".into()];
    args.extend(flags.iter().map(|f| f.to_string()));
    for pid in pids {
        args.push("-p".into());
        args.push(pid.to_string());
    }
    let watcher = Running::attached(hostscope().args(&args), pids.len());
    let client = Command::new("python3")
        .args([
            "-c",
            &format!(
                "import urllib.request, urllib.error\n\
                 try:\n    urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:{front}/checkout', headers={{'X-Request-ID': 'hs-e2e-json'}}), timeout=5)\n\
                 except urllib.error.HTTPError as e:\n    print(e.code)"
            ),
        ])
        .output()
        .expect("run the client");
    assert_eq!(String::from_utf8_lossy(&client.stdout).trim(), "502");
    let out = watcher.finish(Duration::from_secs(30));
    let stderr = out.stderr;
    assert!(out.status.success(), "{stderr}");
    assert!(
        !out.stdout.is_empty(),
        "nothing on stdout; stderr:\n{stderr}"
    );
    Run {
        ports,
        pids,
        records: json_lines(out.stdout.as_bytes()),
    }
}

/// Checks the summary is the last record and is alone of its type.
fn summary(records: &[Value]) -> Summary {
    let last = records.last().expect("at least the summary");
    assert_eq!(record_type(last), "summary", "the summary comes last");
    assert_eq!(
        records
            .iter()
            .filter(|r| record_type(r) == "summary")
            .count(),
        1
    );
    parse(last, SUMMARY_KEYS)
}

#[test]
fn every_request_and_chain_record_matches_the_schema() {
    let Run {
        ports: [front, pay, cache],
        pids,
        records,
    } = run(&["--json"]);
    let mut requests = Vec::new();
    let mut chains = Vec::new();
    for r in &records {
        match record_type(r) {
            "request" => requests.push(parse::<Request>(r, REQUEST_KEYS)),
            "chain" => chains.push(parse::<Chain>(r, CHAIN_KEYS)),
            "summary" => {}
            other => panic!("unknown record type {other}: {r}"),
        }
    }
    let summary = summary(&records);
    assert_eq!(summary.chains, chains.len() as u64);
    let dump = || {
        records
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };

    let hop = |target: &str| {
        requests
            .iter()
            .find(|r| r.target == target)
            .unwrap_or_else(|| panic!("no request for {target}:\n{}", dump()))
    };
    let (checkout, pay_hop, session) = (hop("/checkout"), hop("/pay"), hop("/session/42"));
    // (hop, operation, status, parent, link, ends, server pid and port)
    let want = [
        (checkout, "GET", 502, None, None, "server", pids[0], front),
        (
            pay_hop,
            "POST",
            500,
            Some(checkout.span_id),
            Some("header"),
            "both",
            pids[1],
            pay,
        ),
        (
            session,
            "GET",
            404,
            Some(pay_hop.span_id),
            Some("header"),
            "both",
            pids[2],
            cache,
        ),
    ];
    for (r, operation, status, parent, link, ends, pid, port) in want {
        let what = format!("{} {}:\n{}", r.operation, r.target, dump());
        assert_eq!(r.operation, operation, "{what}");
        assert_eq!(r.protocol, "http", "{what}");
        assert_eq!(r.status, Some(Value::from(status)), "{what}");
        assert_eq!(r.error, status >= 500, "{what}");
        assert_eq!(r.parent_id, parent, "{what}");
        assert_eq!(r.link.as_deref(), link, "{what}");
        assert_eq!(r.ends, ends, "{what}");
        assert_eq!(r.request_id.as_deref(), Some("hs-e2e-json"), "{what}");
        assert!(r.duration_ns.is_some_and(|d| d > 0), "{what}");
        assert!(r.response_bytes.is_some_and(|b| b > 0), "{what}");
        let server = r.server.as_ref().expect("the server end was watched");
        assert_eq!(server.pid, pid, "{what}");
        assert_eq!(server.comm, "python3", "{what}");
        assert_eq!(
            server.addr.as_deref(),
            Some(format!("127.0.0.1:{port}").as_str()),
            "{what}"
        );
    }
    // The calls between services were seen from both ends: the caller is
    // the service above.
    assert_eq!(pay_hop.client.as_ref().map(|c| c.pid), Some(pids[0]));
    assert_eq!(session.client.as_ref().map(|c| c.pid), Some(pids[1]));
    assert!(
        checkout.client.is_none(),
        "the test's client is not watched"
    );

    let chain = chains
        .iter()
        .find(|c| c.root_id == checkout.span_id)
        .unwrap_or_else(|| panic!("no chain for /checkout:\n{}", dump()));
    assert_eq!(chain.hops, 3);
    assert!(chain.failed);
    assert_eq!(chain.duration_ns, checkout.duration_ns);
    assert_eq!(
        chain.culprit_id,
        Some(session.span_id),
        "the cache that did not find the session"
    );
    // Every parent is written before its children, in the same chain.
    let mut seen = BTreeSet::new();
    for r in &requests {
        if let Some(parent) = r.parent_id {
            assert!(seen.contains(&parent), "parent first: {}", dump());
        }
        seen.insert(r.span_id);
    }
}

#[test]
fn every_edge_record_of_the_map_matches_the_schema() {
    let Run {
        ports: [front, pay, cache],
        pids,
        records,
    } = run(&["--map", "--json"]);
    let mut edges = Vec::new();
    for r in &records {
        match record_type(r) {
            "edge" => edges.push(parse::<Edge>(r, EDGE_KEYS)),
            "summary" => {}
            other => panic!("unknown record type {other} in the map: {r}"),
        }
    }
    let summary = summary(&records);
    assert!(summary.chains >= 1, "{summary:?}");
    let dump = || {
        records
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    // (caller pid, callee pid, port, errors)
    let want = [
        (None, pids[0], front, 1),
        (Some(pids[0]), pids[1], pay, 1),
        (Some(pids[1]), pids[2], cache, 0),
    ];
    for (caller, callee, port, errors) in want {
        let edge = edges
            .iter()
            .find(|e| e.port == Some(port))
            .unwrap_or_else(|| panic!("no edge to :{port}:\n{}", dump()));
        let what = format!(":{port}:\n{}", dump());
        assert_eq!(edge.caller.as_ref().map(|p| p.pid), caller, "{what}");
        let to = edge.callee.as_ref().expect("the callee was watched");
        assert_eq!(
            (to.pid, &to.comm),
            (callee, &Value::from("python3")),
            "{what}"
        );
        if let Some(from) = &edge.caller {
            assert_eq!(from.comm, "python3", "{what}");
        }
        assert_eq!(edge.protocol, "http", "{what}");
        assert_eq!(
            (edge.requests, edge.errors, edge.unanswered),
            (1, errors, 0),
            "{what}"
        );
        assert_eq!(edge.error_pct, 100.0 * errors as f64, "{what}");
        assert!(
            edge.rate_per_s > 0.1 && edge.rate_per_s < 1.0,
            "one request in about 4 s: {what}"
        );
        assert!(
            edge.p50_ns.is_some_and(|p50| p50 > 0) && edge.p50_ns == edge.p99_ns,
            "one request, one latency: {what}"
        );
    }
}
