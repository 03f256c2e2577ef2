//! Failed and slow requests, and the chains behind them, as records.
//!
//! Spans complete one at a time, but a chain can be linked only once its
//! hops are all in: a request's parent completes after it, and the two
//! ends of one request (the client's span and the server's) arrive a poll
//! or a CPU apart, in either order. So spans are held across a window
//! close. At each close everything held is linked; a chain none of whose
//! spans arrived in the window being closed has been complete for a whole
//! window and goes out, then is forgotten; the others are held, whole, for
//! the next close. A chain that straddles a window boundary thus goes out
//! once and complete. The limit: a request whose sub-requests ended more
//! than a window before it goes out without them (they went out already,
//! as chains of their own).
//!
//! Both ends of a request are one [`Hop`], so a request seen by its client
//! and its server is one record, the server's view: its process and port
//! are the service.
//!
//! Targets, statuses and process names go into the records as the parsers
//! left them (secrets already masked at capture); the formats escape them.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use super::record::{Record, Severity};
use super::storm::Measure;
use crate::chains::Protocol;
use crate::chains::link::{self, Hop, culprit_hop};
use crate::chains::map::protocol_name;
use crate::chains::origin::Origins;
use crate::chains::render::{duration_text, status_text};
use crate::chains::track::{Role, Span, Tracker};
use crate::model::{SocketCall, SocketClose, SocketOpen};

/// The durations of request and chain records: repeats of a request differ
/// in them without being different events.
pub const DURATIONS: &[Measure] = &[
    Measure {
        field: "duration_us",
        max: "duration_max_us",
        avg: "duration_avg_us",
    },
    Measure {
        field: "root_duration_us",
        max: "root_duration_max_us",
        avg: "root_duration_avg_us",
    },
    Measure {
        field: "culprit_duration_us",
        max: "culprit_duration_max_us",
        avg: "culprit_duration_avg_us",
    },
];

/// The names of one hop's fields in a record.
struct Names {
    pid: &'static str,
    comm: &'static str,
    protocol: &'static str,
    operation: &'static str,
    target: &'static str,
    status: &'static str,
    duration_us: &'static str,
    port: &'static str,
    origin: &'static str,
}

const REQUEST: Names = Names {
    pid: "pid",
    comm: "comm",
    protocol: "protocol",
    operation: "operation",
    target: "target",
    status: "status",
    duration_us: "duration_us",
    port: "port",
    origin: "origin",
};

const ROOT: Names = Names {
    pid: "root_pid",
    comm: "root_comm",
    protocol: "root_protocol",
    operation: "root_operation",
    target: "root_target",
    status: "root_status",
    duration_us: "root_duration_us",
    port: "root_port",
    origin: "root_origin",
};

const CULPRIT: Names = Names {
    pid: "culprit_pid",
    comm: "culprit_comm",
    protocol: "culprit_protocol",
    operation: "culprit_operation",
    target: "culprit_target",
    status: "culprit_status",
    duration_us: "culprit_duration_us",
    port: "culprit_port",
    origin: "culprit_origin",
};

/// Socket calls in, `request` and `chain` records out, one window at a
/// time.
#[derive(Debug)]
pub struct Requests {
    requests: bool,
    chains: bool,
    slow_ns: u64,
    max_spans: usize,
    tracker: Tracker,
    /// Each process's container or unit, read while it runs.
    origins: Origins,
    /// Spans of the chains that were still growing at the last close.
    held: Vec<Span>,
    /// Spans completed since the last close.
    fresh: Vec<Span>,
    /// Spans not kept since [`Requests::take_dropped`] last asked.
    dropped: u64,
}

impl Requests {
    /// Spans kept per window (a few hundred bytes each); past it they are
    /// counted, not kept, so a flood of requests cannot take the host's
    /// memory.
    pub const MAX_SPANS: usize = 200_000;

    /// Makes `request` records when `requests`, `chain` records when
    /// `chains`; anything at least `slow` long is slow. At most `max_spans`
    /// spans are kept per window.
    pub fn new(requests: bool, chains: bool, slow: Duration, max_spans: usize) -> Requests {
        Requests {
            requests,
            chains,
            slow_ns: u64::try_from(slow.as_nanos()).unwrap_or(u64::MAX),
            max_spans,
            tracker: Tracker::default(),
            origins: Origins::default(),
            held: Vec::new(),
            fresh: Vec::new(),
            dropped: 0,
        }
    }

    /// Takes one socket call from the probe.
    pub fn observe(&mut self, call: &SocketCall) {
        for span in self.tracker.observe(call) {
            self.keep(span);
        }
    }

    /// Takes the end of a TCP connection (which also frees what the
    /// tracker kept of it).
    pub fn closed(&mut self, close: &SocketClose) {
        for span in self.tracker.closed(close) {
            self.keep(span);
        }
    }

    /// Takes the establishment of a TCP connection.
    pub fn opened(&mut self, open: &SocketOpen) {
        self.tracker.opened(open);
    }

    fn keep(&mut self, mut span: Span) {
        // A connection of no known protocol is no request: how long it
        // lived is not a latency.
        if span.protocol == Protocol::Opaque {
            return;
        }
        if self.fresh.len() < self.max_spans {
            self.origins.fill(&mut span);
            self.fresh.push(span);
        } else {
            self.dropped += 1;
        }
    }

    /// Ends a window: the records of the chains that are complete.
    pub fn close_window(&mut self) -> Vec<Record> {
        let fresh: HashSet<u64> = self.fresh.iter().map(|s| s.id).collect();
        self.link(&fresh)
    }

    /// At exit: the records of every chain held, complete or not (a
    /// request still unanswered is no span yet, and makes none).
    pub fn finish(&mut self) -> Vec<Record> {
        self.link(&HashSet::new())
    }

    /// Spans not kept, past the limit of a window, since the last call.
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }

    /// Links everything held; chains with a span in `fresh` are held
    /// again, the others become records.
    fn link(&mut self, fresh: &HashSet<u64>) -> Vec<Record> {
        self.held.append(&mut self.fresh);
        let done = link::settle(&mut self.held, |root| {
            !root.spans().any(|s| fresh.contains(&s.id))
        });
        let mut out = Vec::new();
        for root in &done {
            self.records(root, &mut out);
        }
        out
    }

    fn slow(&self, hop: &Hop) -> bool {
        hop.duration_ns() >= self.slow_ns
    }

    fn records(&self, root: &Hop, out: &mut Vec<Record>) {
        // A lone request is a chain of nothing: its `request` record says
        // it all.
        if self.chains && root.hop_count() > 1 && (root.chain_failed() || self.slow(root)) {
            out.push(chain_record(root));
        }
        if self.requests {
            self.request_records(root, out);
        }
    }

    fn request_records(&self, hop: &Hop, out: &mut Vec<Record>) {
        if hop.failed() || self.slow(hop) {
            out.push(request_record(hop));
        }
        for child in &hop.children {
            self.request_records(child, out);
        }
    }
}

/// When `hop`'s request ended, as its main view saw it.
fn ended(hop: &Hop) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_nanos(hop.main().end_ns)
}

/// `GET /pay`, or `PING` for a request without a target.
fn push_request(out: &mut Vec<u8>, span: &Span) {
    out.extend_from_slice(span.request.operation.as_bytes());
    if !span.request.target.is_empty() {
        out.push(b' ');
        out.extend_from_slice(span.request.target.as_bytes());
    }
}

/// `payments[901] :9000`, the comm raw.
fn push_service(out: &mut Vec<u8>, hop: &Hop) {
    let span = hop.main();
    out.extend_from_slice(&span.comm);
    out.extend_from_slice(format!("[{}]", span.pid).as_bytes());
    if let Some(port) = hop.port() {
        out.extend_from_slice(format!(" :{port}").as_bytes());
    }
}

/// `hop`'s fields under `names`.
fn with_hop(mut record: Record, names: &Names, hop: &Hop) -> Record {
    let span = hop.main();
    record = record
        .field(names.pid, span.pid.to_string())
        .field(names.comm, span.comm.to_vec())
        .field(names.protocol, protocol_name(span.protocol))
        .field(names.operation, span.request.operation.clone())
        .field(names.target, span.request.target.clone())
        .field(names.status, status_text(span.status.as_ref()))
        .field(names.duration_us, (hop.duration_ns() / 1000).to_string());
    if let Some(origin) = &span.origin {
        record = record.field(names.origin, origin.to_string());
    }
    match hop.port() {
        Some(port) => record.field(names.port, port.to_string()),
        None => record,
    }
}

/// `GET /pay -> 500 in 1198 ms at payments[901] :9000`: a warning when it
/// failed, a notice when it was only slow.
fn request_record(hop: &Hop) -> Record {
    let span = hop.main();
    let mut message = Vec::new();
    push_request(&mut message, span);
    message.extend_from_slice(
        format!(
            " -> {} in {} at ",
            status_text(span.status.as_ref()),
            duration_text(hop.duration_ns())
        )
        .as_bytes(),
    );
    push_service(&mut message, hop);
    let severity = if hop.failed() {
        Severity::Warning
    } else {
        Severity::Notice
    };
    let role = match span.role {
        Role::Client => "client",
        Role::Server => "server",
    };
    with_hop(
        Record::new(ended(hop), severity, "request", message),
        &REQUEST,
        hop,
    )
    .field("role", role)
}

/// `GET /checkout at nginx[812] :8080 502 in 1203 ms; culprit GET
/// session:42 at redis-server[77] :6379 (nil)`.
fn chain_record(root: &Hop) -> Record {
    let culprit = culprit_hop(root);
    let mut message = Vec::new();
    push_request(&mut message, root.main());
    message.extend_from_slice(b" at ");
    push_service(&mut message, root);
    message.extend_from_slice(
        format!(
            " {} in {}; culprit ",
            status_text(root.main().status.as_ref()),
            duration_text(root.duration_ns())
        )
        .as_bytes(),
    );
    push_request(&mut message, culprit.main());
    message.extend_from_slice(b" at ");
    push_service(&mut message, culprit);
    message.push(b' ');
    message.extend_from_slice(status_text(culprit.main().status.as_ref()).as_bytes());
    let record = Record::new(ended(root), Severity::Warning, "chain", message);
    let record = with_hop(record, &ROOT, root);
    with_hop(record, &CULPRIT, culprit).field("hops", root.hop_count().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chains::socket_call;

    const CHECKOUT: &[u8] = b"GET /checkout HTTP/1.1\r\nHost: shop\r\n\r\n";
    const SESSION: &[u8] = b"*2\r\n$3\r\nGET\r\n$10\r\nsession:42\r\n";
    const NIL: &[u8] = b"$-1\r\n";
    const E503: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
    const E500: &[u8] = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

    /// A socket call: syscall, pid (its thread too), comm, socket, local
    /// and remote ports, time in ms, bytes.
    type Call<'a> = (&'a str, u32, &'a str, u64, u16, u16, f64, &'a [u8]);

    fn feed(r: &mut Requests, calls: &[Call]) {
        for &(name, pid, comm, sock, local, remote, at_ms, payload) in calls {
            let call = socket_call(name, pid, pid, comm, sock, local, remote, at_ms, payload);
            r.observe(&call);
        }
    }

    fn text(record: &Record, field: &str) -> String {
        String::from_utf8_lossy(record.get(field).unwrap_or(b"<none>")).into_owned()
    }

    fn requests() -> Requests {
        Requests::new(true, true, Duration::from_secs(1), Requests::MAX_SPANS)
    }

    #[test]
    fn a_chain_that_straddles_a_window_boundary_goes_out_whole_and_once() {
        let mut r = requests();
        // The app reads a checkout from a client that is not watched and
        // asks redis for the session, which has expired.
        feed(
            &mut r,
            &[
                ("read", 20, "app", 1, 8000, 50000, 0.0, CHECKOUT),
                ("write", 20, "app", 2, 50001, 6379, 1.0, SESSION),
                ("read", 77, "redis-server", 3, 6379, 50001, 1.1, SESSION),
                ("write", 77, "redis-server", 3, 6379, 50001, 1.2, NIL),
                ("read", 20, "app", 2, 50001, 6379, 1.5, NIL),
            ],
        );
        assert!(
            r.close_window().is_empty(),
            "the redis request, its parent still unanswered"
        );
        feed(&mut r, &[("write", 20, "app", 1, 8000, 50000, 9.0, E503)]);
        assert!(
            r.close_window().is_empty(),
            "the root arrived in the window being closed: held a window more"
        );
        let records = r.close_window();
        let chains: Vec<&Record> = records.iter().filter(|r| r.msgid == "chain").collect();
        assert_eq!(chains.len(), 1, "{records:#?}");
        let chain = chains[0];
        assert_eq!(text(chain, "hops"), "2", "the redis hop is in it");
        assert_eq!(text(chain, "root_target"), "/checkout");
        assert_eq!(text(chain, "root_status"), "503");
        assert_eq!(text(chain, "root_port"), "8000");
        assert_eq!(text(chain, "culprit_comm"), "redis-server");
        assert_eq!(text(chain, "culprit_target"), "session:42");
        assert_eq!(text(chain, "culprit_status"), "(nil)");
        assert_eq!(text(chain, "culprit_port"), "6379");
        assert_eq!(chain.severity, Severity::Warning);
        assert_eq!(
            String::from_utf8_lossy(&chain.message),
            "GET /checkout at app[20] :8000 503 in 9.0 ms; \
             culprit GET session:42 at redis-server[77] :6379 (nil)"
        );
        // The nil is an answer, not a failure: only the 503 is a request
        // record.
        let failed: Vec<String> = records
            .iter()
            .filter(|r| r.msgid == "request")
            .map(|r| text(r, "target"))
            .collect();
        assert_eq!(failed, ["/checkout"]);
        assert!(r.close_window().is_empty(), "nothing goes out twice");
        assert!(r.finish().is_empty());
    }

    #[test]
    fn a_request_seen_from_both_ends_is_one_record_from_the_server() {
        let mut r = requests();
        let post = b"POST /pay HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
        feed(
            &mut r,
            &[
                ("write", 812, "nginx", 1, 50001, 9000, 0.0, post),
                ("read", 901, "payments", 2, 9000, 50001, 0.1, post),
                ("write", 901, "payments", 2, 9000, 50001, 1198.0, E500),
                ("read", 812, "nginx", 1, 50001, 9000, 1198.2, E500),
            ],
        );
        let records = r.finish();
        assert_eq!(records.len(), 1, "{records:#?}");
        let record = &records[0];
        assert_eq!(record.msgid, "request");
        assert_eq!(text(record, "role"), "server");
        assert_eq!(text(record, "comm"), "payments");
        assert_eq!(text(record, "pid"), "901");
        assert_eq!(text(record, "port"), "9000");
        assert_eq!(text(record, "protocol"), "http");
        assert_eq!(text(record, "operation"), "POST");
        assert_eq!(text(record, "status"), "500");
        assert_eq!(
            text(record, "duration_us"),
            "1198200",
            "timed by the client, network included"
        );
        assert_eq!(record.severity, Severity::Warning);
        assert_eq!(
            String::from_utf8_lossy(&record.message),
            "POST /pay -> 500 in 1198 ms at payments[901] :9000"
        );
    }

    #[test]
    fn a_slow_request_is_a_notice_and_a_fast_success_nothing() {
        let mut r = requests();
        let get = b"GET /report HTTP/1.1\r\n\r\n";
        feed(
            &mut r,
            &[
                ("read", 30, "api", 1, 80, 40000, 0.0, get),
                ("write", 30, "api", 1, 80, 40000, 1500.0, OK),
                ("read", 30, "api", 2, 80, 40001, 2000.0, get),
                ("write", 30, "api", 2, 80, 40001, 2001.0, OK),
            ],
        );
        let records = r.finish();
        assert_eq!(records.len(), 1, "a lone request is no chain: {records:#?}");
        assert_eq!(records[0].msgid, "request");
        assert_eq!(records[0].severity, Severity::Notice);
        assert_eq!(text(&records[0], "duration_us"), "1500000");
    }

    #[test]
    fn spans_past_the_limit_are_counted() {
        let mut r = Requests::new(true, false, Duration::from_secs(1), 1);
        let get = b"GET /a HTTP/1.1\r\n\r\n";
        for (sock, port) in [(1, 40001), (2, 40002), (3, 40003)] {
            feed(
                &mut r,
                &[
                    ("read", 30, "api", sock, 80, port, 0.0, get),
                    ("write", 30, "api", sock, 80, port, 1.0, E500),
                ],
            );
        }
        assert_eq!(r.take_dropped(), 2);
        assert_eq!(r.take_dropped(), 0, "counted once");
        assert!(r.close_window().is_empty(), "held a window");
        assert_eq!(r.finish().len(), 1, "the one kept");
    }
}
