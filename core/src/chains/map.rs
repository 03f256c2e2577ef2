//! The service map: who calls whom over a run, and how well. Chains answer
//! "why did this request fail"; the map answers "which dependency is
//! unhealthy" by folding every hop into one edge per caller process and
//! callee service, with its rate, error share and latency percentiles.
//!
//! A callee is a service (its process and listening port, as the issue
//! defines one); a caller is only its process, since the port it calls
//! from is ephemeral.

use crate::model::Comm;
use crate::procfs::Origin;
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use super::Protocol;
use super::link::Hop;
use super::render::{duration_text, process_label};

/// A watched process at one end of an edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Process {
    pub pid: u32,
    /// Raw bytes, as the kernel reported them.
    pub comm: Comm,
    /// Its container, pod or unit, when known.
    pub origin: Option<Arc<Origin>>,
}

/// The requests one process made to one service, with one protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// The client's process; `None` when only the server end was watched.
    pub caller: Option<Process>,
    /// The server's process; `None` when only the client end was watched.
    pub callee: Option<Process>,
    /// The callee's listening port; `None` over unix sockets.
    pub port: Option<u16>,
    pub protocol: Protocol,
    pub requests: u64,
    /// Requests that failed (see [`super::Status::is_error`]).
    pub errors: u64,
    /// Requests still unanswered when their connection or the run ended.
    pub unanswered: u64,
    /// Requests per second over the whole watch.
    pub rate_per_s: f64,
    /// `errors` as a percentage of `requests`, 0 to 100.
    pub error_pct: f64,
    /// Median latency of the answered requests, in nanoseconds, as the
    /// client saw it when it was watched (else the server). `None` when
    /// none was answered.
    pub p50_ns: Option<u64>,
    /// 99th percentile latency, in nanoseconds, like `p50_ns`.
    pub p99_ns: Option<u64>,
}

impl Edge {
    /// `comm[pid]`, or `(unwatched)`.
    pub fn caller_text(&self) -> String {
        process_text(self.caller.as_ref())
    }

    /// `comm[pid] :port`, `(unwatched) :port`, or without the port over a
    /// unix socket.
    pub fn callee_text(&self) -> String {
        let mut text = process_text(self.callee.as_ref());
        if let Some(port) = self.port {
            let _ = write!(text, " :{port}");
        }
        text
    }
}

fn process_text(process: Option<&Process>) -> String {
    process.map_or_else(
        || "(unwatched)".to_owned(),
        |p| process_label(&p.comm, p.pid, p.origin.as_deref()),
    )
}

/// The protocol as the map and the JSON name it.
pub fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Http1 => "http",
        Protocol::Redis => "redis",
        Protocol::Postgres => "postgres",
        Protocol::Opaque => "other",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    caller: Option<Process>,
    callee: Option<Process>,
    port: Option<u16>,
    protocol: Protocol,
}

#[derive(Debug, Default)]
struct Tally {
    requests: u64,
    errors: u64,
    unanswered: u64,
    latencies: Vec<u64>,
}

/// The edges of every hop under `roots` (the roots included), busiest
/// first; `watched` is how long the run watched, for the rates.
pub fn edges<'a>(roots: impl IntoIterator<Item = &'a Hop>, watched: Duration) -> Vec<Edge> {
    fn visit(hop: &Hop, tallies: &mut HashMap<Key, Tally>) {
        let main = hop.main();
        let port = hop.port();
        let process = |span: &super::track::Span| Process {
            pid: span.pid,
            comm: span.comm,
            origin: span.origin.clone(),
        };
        let key = Key {
            caller: hop.client.as_ref().map(process),
            callee: hop.server.as_ref().map(process),
            port,
            protocol: main.protocol,
        };
        let tally = tallies.entry(key).or_default();
        tally.requests += 1;
        tally.errors += u64::from(hop.failed());
        // The latency is the end that measured it: the client's when seen.
        let timed = hop
            .client
            .as_ref()
            .or(hop.server.as_ref())
            .expect("a hop has at least one side");
        if timed.status.is_none() {
            tally.unanswered += 1;
        } else if let Some(latency) = hop.latency_ns() {
            tally.latencies.push(latency);
        }
        for child in &hop.children {
            visit(child, tallies);
        }
    }
    let mut tallies = HashMap::new();
    for root in roots {
        visit(root, &mut tallies);
    }
    let secs = watched.as_secs_f64();
    let mut out: Vec<Edge> = tallies
        .into_iter()
        .map(|(key, mut tally)| {
            tally.latencies.sort_unstable();
            Edge {
                caller: key.caller,
                callee: key.callee,
                port: key.port,
                protocol: key.protocol,
                requests: tally.requests,
                errors: tally.errors,
                unanswered: tally.unanswered,
                rate_per_s: if secs > 0.0 {
                    tally.requests as f64 / secs
                } else {
                    0.0
                },
                error_pct: 100.0 * tally.errors as f64 / tally.requests as f64,
                p50_ns: percentile(&tally.latencies, 50),
                p99_ns: percentile(&tally.latencies, 99),
            }
        })
        .collect();
    // Busiest first; the names settle ties so that runs compare.
    out.sort_by_cached_key(|e| {
        (
            std::cmp::Reverse(e.requests),
            e.caller_text(),
            e.callee_text(),
            protocol_name(e.protocol),
        )
    });
    out
}

/// The nearest-rank `p`th percentile of `sorted` (ascending); `None` when
/// empty.
pub fn percentile(sorted: &[u64], p: u32) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * p as usize).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// The map as a table, one line per edge, under a header.
///
/// ```text
/// CALLER -> CALLEE                   PROTO  REQS  REQ/S  ERR%  P50     P99
/// front[10] -> pay[20] :9000         http   2     0.50   50.0  10 ms   20 ms
/// pay[20] -> redis-server[30] :6379  redis  2     0.50   0.0   1.0 ms  2.0 ms
/// ```
pub fn render_map(edges: &[Edge]) -> String {
    let rows: Vec<[String; 7]> = edges
        .iter()
        .map(|e| {
            [
                format!("{} -> {}", e.caller_text(), e.callee_text()),
                protocol_name(e.protocol).to_owned(),
                e.requests.to_string(),
                format!("{:.2}", e.rate_per_s),
                format!("{:.1}", e.error_pct),
                e.p50_ns.map_or_else(|| "-".to_owned(), duration_text),
                e.p99_ns.map_or_else(|| "-".to_owned(), duration_text),
            ]
        })
        .collect();
    let header = [
        "CALLER -> CALLEE",
        "PROTO",
        "REQS",
        "REQ/S",
        "ERR%",
        "P50",
        "P99",
    ]
    .map(String::from);
    let mut widths = [0; 7];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::super::track::{Role, Span};
    use super::super::{Request, Status};
    use super::*;

    const MS: u64 = 1_000_000;

    fn addr(port: u16) -> Option<SocketAddr> {
        Some(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// One end of a request from port `from` to port `to`, taking `ms`.
    fn span(
        role: Role,
        pid: u32,
        comm: &str,
        (from, to): (u16, u16),
        status: Option<Status>,
        ms: u64,
    ) -> Span {
        let (local, remote) = match role {
            Role::Client => (from, to),
            Role::Server => (to, from),
        };
        Span {
            id: 0,
            conn: 0,
            peer: 0,
            pid,
            tid: pid,
            comm: comm.as_bytes().into(),
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
            request: Request::default(),
            response_bytes: 0,
            start_ns: 1_000 * MS,
            end_ns: 1_000 * MS + if status.is_some() { ms * MS } else { 0 },
            status,
        }
    }

    fn hop(client: Option<Span>, server: Option<Span>, children: Vec<Hop>) -> Hop {
        Hop {
            client,
            server,
            link: None,
            children,
        }
    }

    /// A front calling pay, pay calling redis, run `n` times; the `i`th
    /// call takes `i + 1` ms at each level, every third pay call fails.
    fn traffic(n: u64) -> Vec<Hop> {
        (0..n)
            .map(|i| {
                let ms = i + 1;
                let failed = i % 3 == 0;
                let pay_status = || Some(Status::Http(if failed { 500 } else { 200 }));
                let redis = hop(
                    Some(span(
                        Role::Client,
                        20,
                        "pay",
                        (40001, 6379),
                        Some(Status::RedisNil),
                        ms,
                    )),
                    Some(span(
                        Role::Server,
                        30,
                        "redis-server",
                        (40001, 6379),
                        Some(Status::RedisNil),
                        ms,
                    )),
                    vec![],
                );
                let pay = hop(
                    Some(span(
                        Role::Client,
                        10,
                        "front",
                        (40000, 9000),
                        pay_status(),
                        10 * ms,
                    )),
                    Some(span(
                        Role::Server,
                        20,
                        "pay",
                        (40000, 9000),
                        pay_status(),
                        10 * ms,
                    )),
                    vec![redis],
                );
                // The outside client was not watched: server end only.
                hop(
                    None,
                    Some(span(
                        Role::Server,
                        10,
                        "front",
                        (50000, 8080),
                        Some(Status::Http(200)),
                        100 * ms,
                    )),
                    vec![pay],
                )
            })
            .collect()
    }

    #[test]
    fn the_percentiles_are_nearest_rank() {
        let table: &[(&[u64], u32, Option<u64>)] = &[
            (&[], 50, None),
            (&[7], 50, Some(7)),
            (&[7], 99, Some(7)),
            (&[1, 2], 50, Some(1)),
            (&[1, 2], 99, Some(2)),
            (&[1, 2, 3, 4], 50, Some(2)),
            (&(1..=100).collect::<Vec<_>>(), 99, Some(99)),
            (&(1..=100).collect::<Vec<_>>(), 50, Some(50)),
            (&(1..=1000).collect::<Vec<_>>(), 99, Some(990)),
        ];
        for &(values, p, want) in table {
            assert_eq!(percentile(values, p), want, "p{p} of {values:?}");
        }
    }

    #[test]
    fn every_hop_of_every_chain_is_one_request_on_its_edge() {
        let roots = traffic(6);
        let edges = edges(&roots, Duration::from_secs(2));
        // (caller, callee, requests, errors, p50 ms, p99 ms)
        let want: &[(&str, &str, u64, u64, u64, u64)] = &[
            ("(unwatched)", "front[10] :8080", 6, 0, 300, 600),
            ("front[10]", "pay[20] :9000", 6, 2, 30, 60),
            ("pay[20]", "redis-server[30] :6379", 6, 0, 3, 6),
        ];
        assert_eq!(edges.len(), want.len(), "{edges:#?}");
        for (edge, &(caller, callee, requests, errors, p50, p99)) in edges.iter().zip(want) {
            assert_eq!(edge.caller_text(), caller);
            assert_eq!(edge.callee_text(), callee);
            assert_eq!((edge.requests, edge.errors), (requests, errors), "{callee}");
            assert_eq!(edge.rate_per_s, 3.0, "6 requests in 2 s");
            assert_eq!(edge.p50_ns, Some(p50 * MS), "{callee}");
            assert_eq!(edge.p99_ns, Some(p99 * MS), "{callee}");
        }
        assert!((edges[1].error_pct - 100.0 / 3.0).abs() < 1e-9);
        assert_eq!(edges[2].protocol, Protocol::Redis);
    }

    #[test]
    fn edges_are_sorted_busiest_first_and_unanswered_requests_have_no_latency() {
        let mut roots = traffic(1);
        // Two lone requests to a service whose server end was not watched,
        // one never answered.
        for status in [Some(Status::Http(503)), None] {
            roots.push(hop(
                Some(span(Role::Client, 40, "cron", (40100, 7000), status, 5)),
                None,
                vec![],
            ));
        }
        let all = edges(&roots, Duration::ZERO);
        assert_eq!(all[0].callee_text(), "(unwatched) :7000");
        assert_eq!(all[0].caller_text(), "cron[40]");
        assert_eq!(
            (all[0].requests, all[0].errors, all[0].unanswered),
            (2, 1, 1)
        );
        assert_eq!(all[0].p50_ns, Some(5 * MS), "only the answered one");
        assert_eq!(all[0].rate_per_s, 0.0, "no watch time, no rate");
        assert_eq!(all.len(), 4);

        let lone = edges(&roots[1..2], Duration::from_secs(1));
        let unanswered = edges(&roots[2..], Duration::from_secs(1));
        assert_eq!(lone[0].p99_ns, Some(5 * MS));
        assert_eq!((unanswered[0].p50_ns, unanswered[0].p99_ns), (None, None));
    }

    #[test]
    fn the_table_lines_up_and_escapes_process_names() {
        let mut roots = traffic(2);
        roots.push(hop(
            Some(span(
                Role::Client,
                50,
                "evil\x1b[2J",
                (40200, 9000),
                Some(Status::Http(200)),
                1,
            )),
            Some(span(
                Role::Server,
                20,
                "pay",
                (40200, 9000),
                Some(Status::Http(200)),
                1,
            )),
            vec![],
        ));
        let text = render_map(&edges(&roots, Duration::from_secs(4)));
        assert_eq!(
            text,
            "CALLER -> CALLEE                   PROTO  REQS  REQ/S  ERR%  P50     P99\n\
             (unwatched) -> front[10] :8080     http   2     0.50   0.0   100 ms  200 ms\n\
             front[10] -> pay[20] :9000         http   2     0.50   50.0  10 ms   20 ms\n\
             pay[20] -> redis-server[30] :6379  redis  2     0.50   0.0   1.0 ms  2.0 ms\n\
             evil\\33[2J[50] -> pay[20] :9000    http   1     0.25   0.0   1.0 ms  1.0 ms\n"
        );
    }
}
