//! From spans to chains. A request seen from both ends (the client's span
//! and the server's) is one hop; a hop's children are the requests its
//! server made while serving it. Every link says how it was found:
//! exactly (the same connection from both ends; a propagated
//! `traceparent` or `X-Request-ID`) or inferred (the same thread, between
//! reading the request and answering it). Where a thread served several
//! requests at once (an event loop) nothing is inferred: a request is shown
//! unlinked rather than linked wrongly.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::Protocol;
use super::track::{Role, Span};

/// How a hop was tied to its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// The child request carried the parent's trace id or request id.
    Header,
    /// The child was made on the thread serving the parent, while it did.
    Thread,
}

/// One request: its client's view, its server's view, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub client: Option<Span>,
    pub server: Option<Span>,
    /// How this hop is tied to its parent, if it has one.
    pub link: Option<LinkKind>,
    pub children: Vec<Hop>,
}

impl Hop {
    /// Every span of this hop and of those under it.
    pub fn spans(&self) -> impl Iterator<Item = &Span> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            let hop = stack.pop()?;
            stack.extend(hop.children.iter());
            Some(hop)
        })
        .flat_map(|hop| hop.client.iter().chain(hop.server.iter()))
    }

    /// Gives this hop's spans, and those under it, back to `out`.
    pub fn into_spans(self, out: &mut Vec<Span>) {
        out.extend(self.client);
        out.extend(self.server);
        for child in self.children {
            child.into_spans(out);
        }
    }

    /// The view to show: the server's when seen (its process and port are
    /// the service), else the client's.
    pub fn main(&self) -> &Span {
        self.server
            .as_ref()
            .or(self.client.as_ref())
            .expect("a hop has at least one side")
    }

    /// Its duration as the client saw it when known (it includes the
    /// network), else as the server did.
    pub fn duration_ns(&self) -> u64 {
        self.client
            .as_ref()
            .or(self.server.as_ref())
            .map_or(0, Span::duration_ns)
    }

    /// Its latency: its duration, except for a connection-level hop (a
    /// connection of no protocol we know), whose duration is how long the
    /// connection lived, no latency at all.
    pub fn latency_ns(&self) -> Option<u64> {
        (self.main().protocol != Protocol::Opaque).then(|| self.duration_ns())
    }

    pub fn failed(&self) -> bool {
        self.main().status.as_ref().is_some_and(|s| s.is_error())
    }

    /// It found nothing (a Redis nil, an HTTP 404): an answer, but under a
    /// failing parent the likely cause (the expired cache entry).
    pub fn missed(&self) -> bool {
        matches!(
            self.main().status,
            Some(super::Status::RedisNil) | Some(super::Status::Http(404))
        )
    }

    /// Time not spent waiting for its children.
    pub fn self_ns(&self) -> u64 {
        let children: u64 = self.children.iter().map(Hop::duration_ns).sum();
        self.duration_ns().saturating_sub(children)
    }

    /// Whether this hop or one under it failed.
    pub fn chain_failed(&self) -> bool {
        self.failed() || self.children.iter().any(Hop::chain_failed)
    }

    /// Hops under this one, itself included.
    pub fn hop_count(&self) -> usize {
        1 + self.children.iter().map(Hop::hop_count).sum::<usize>()
    }

    /// The service's listening port: the server's own port when it was
    /// seen, else the port its client called; `None` over a unix socket.
    pub fn port(&self) -> Option<u16> {
        let main = self.main();
        match main.role {
            Role::Server => main.local,
            Role::Client => main.remote,
        }
        .map(|a| a.port())
    }
}

/// Whether client span `c` and server span `s` are the same request.
fn same_request(c: &Span, s: &Span) -> bool {
    // One end may have recognised a protocol the other did not (a capture
    // cut short): a connection-level span is not the other's first request.
    if c.index != s.index || c.protocol != s.protocol {
        return false;
    }
    match (c.local, c.remote, s.local, s.remote) {
        (Some(cl), Some(cr), Some(sl), Some(sr)) => cl == sr && cr == sl,
        _ => c.peer != 0 && (c.peer == s.conn || s.peer == c.conn),
    }
}

/// How a server view is found from its client view.
#[derive(Debug, PartialEq, Eq, Hash)]
enum EndKey {
    /// TCP: the request's position, then the server's local and remote
    /// addresses (the client's remote and local).
    Tcp(u64, SocketAddr, SocketAddr),
    /// Unix: the request's position and one end's socket id.
    Unix(u64, u64),
}

fn server_keys(s: &Span) -> Vec<EndKey> {
    match (s.local, s.remote) {
        (Some(local), Some(remote)) => vec![EndKey::Tcp(s.index, local, remote)],
        _ => [s.conn, s.peer]
            .into_iter()
            .filter(|&id| id != 0)
            .map(|id| EndKey::Unix(s.index, id))
            .collect(),
    }
}

fn client_keys(c: &Span) -> Vec<EndKey> {
    match (c.local, c.remote) {
        (Some(local), Some(remote)) => vec![EndKey::Tcp(c.index, remote, local)],
        _ => [c.peer, c.conn]
            .into_iter()
            .filter(|&id| id != 0)
            .map(|id| EndKey::Unix(c.index, id))
            .collect(),
    }
}

/// For a consumer that links as it goes: builds the chains of `spans` and
/// returns those `settled` says are done; the spans of the others are put
/// back in `spans`, to be linked again with those still to come.
pub fn settle(spans: &mut Vec<Span>, settled: impl Fn(&Hop) -> bool) -> Vec<Hop> {
    let mut done = Vec::new();
    for root in chains(std::mem::take(spans)) {
        if settled(&root) {
            done.push(root);
        } else {
            root.into_spans(spans);
        }
    }
    done
}

/// Builds the chains of `spans`: the hops no other hop is parent of, each
/// with its descendants.
pub fn chains(spans: Vec<Span>) -> Vec<Hop> {
    let (clients, servers): (Vec<Span>, Vec<Span>) =
        spans.into_iter().partition(|s| s.role == Role::Client);
    // Pair both views of each request: TCP by the 4-tuple seen from both
    // ends, unix sockets by their peer, and the request's position on the
    // connection. Indexed, since a busy host has many thousands.
    let mut hops: Vec<Hop> = Vec::new();
    let mut server_hop: Vec<Option<usize>> = vec![None; servers.len()];
    let mut by_end: HashMap<EndKey, Vec<usize>> = HashMap::new();
    for (i, s) in servers.iter().enumerate() {
        for key in server_keys(s) {
            by_end.entry(key).or_default().push(i);
        }
    }
    let mut client_hops = Vec::new();
    for c in clients {
        let matched = client_keys(&c).into_iter().find_map(|key| {
            by_end
                .get(&key)?
                .iter()
                .copied()
                .find(|&i| server_hop[i].is_none() && same_request(&c, &servers[i]))
        });
        let hop = hops.len();
        hops.push(Hop {
            client: Some(c),
            server: None,
            link: None,
            children: Vec::new(),
        });
        if let Some(i) = matched {
            server_hop[i] = Some(hop);
        }
        client_hops.push(hop);
    }
    for (i, s) in servers.into_iter().enumerate() {
        match server_hop[i] {
            Some(hop) => hops[hop].server = Some(s),
            None => {
                server_hop[i] = Some(hops.len());
                hops.push(Hop {
                    client: None,
                    server: Some(s),
                    link: None,
                    children: Vec::new(),
                });
            }
        }
    }
    // Each hop's parent: the hop whose server made its client request.
    // Server views indexed by thread (in time order) and by propagated id.
    let mut by_thread: HashMap<(u32, u32), Vec<usize>> = HashMap::new();
    let mut by_id: HashMap<(u32, &str), Vec<usize>> = HashMap::new();
    for (i, hop) in hops.iter().enumerate() {
        // A connection of no known protocol is not a request a thread
        // serves: it would cover everything its thread did while it lived.
        if let Some(s) = hop
            .server
            .as_ref()
            .filter(|s| s.protocol != Protocol::Opaque)
        {
            by_thread.entry((s.pid, s.tid)).or_default().push(i);
            for id in [&s.request.trace_id, &s.request.request_id]
                .into_iter()
                .flatten()
            {
                by_id.entry((s.pid, id.as_str())).or_default().push(i);
            }
        }
    }
    let start_of = |i: usize| hops[i].server.as_ref().map_or(0, |s| s.start_ns);
    for list in by_thread.values_mut() {
        list.sort_by_key(|&i| start_of(i));
    }
    let covers = |i: usize, c: &Span| {
        hops[i]
            .server
            .as_ref()
            .is_some_and(|s| s.start_ns <= c.start_ns && c.start_ns <= s.end_ns)
    };
    let mut parent: Vec<Option<(usize, LinkKind)>> = vec![None; hops.len()];
    for &h in &client_hops {
        let c = hops[h].client.as_ref().expect("a client hop");
        if c.protocol == Protocol::Opaque {
            // Nor is it a request made while serving one: a pooled
            // connection outlives the request that opened it.
            continue;
        }
        let header = [&c.request.trace_id, &c.request.request_id]
            .into_iter()
            .flatten()
            .find_map(|id| {
                by_id
                    .get(&(c.pid, id.as_str()))?
                    .iter()
                    .copied()
                    .find(|&i| i != h && covers(i, c))
            });
        // On the client's thread: the server views that began before it,
        // latest first, that were still in flight. Two or more in flight
        // is an event loop: nothing is inferred.
        let on_thread = by_thread.get(&(c.pid, c.tid)).map(|list| {
            let before = list.partition_point(|&i| start_of(i) <= c.start_ns);
            list[..before]
                .iter()
                .rev()
                .take(256)
                .copied()
                .filter(|&i| i != h && covers(i, c))
                .take(2)
                .collect::<Vec<usize>>()
        });
        parent[h] = match (header, on_thread.as_deref()) {
            (Some(i), _) => Some((i, LinkKind::Header)),
            // One request in flight on that thread: thread-per-request.
            (None, Some([only])) => Some((*only, LinkKind::Thread)),
            _ => None,
        };
    }
    // Assemble the trees, children in time order, deepest first.
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); hops.len()];
    let mut roots = Vec::new();
    for (i, p) in parent.iter().enumerate() {
        match p {
            Some((p, kind)) => {
                hops[i].link = Some(*kind);
                children[*p].push(i);
            }
            None => roots.push(i),
        }
    }
    // Sorted as indexes, not as hops: a hop holds two spans, hundreds of
    // bytes that a sort of a busy host's chains would move many times.
    let start = |i: usize| hops[i].main().start_ns;
    for kids in &mut children {
        kids.sort_by_key(|&k| start(k));
    }
    roots.sort_by_key(|&r| start(r));
    let mut slots: Vec<Option<Hop>> = hops.into_iter().map(Some).collect();
    fn build(i: usize, slots: &mut [Option<Hop>], children: &[Vec<usize>]) -> Hop {
        let mut hop = slots[i].take().expect("each hop is placed once");
        hop.children = children[i]
            .iter()
            .map(|&k| build(k, slots, children))
            .collect();
        hop
    }
    roots
        .into_iter()
        .map(|r| build(r, &mut slots, &children))
        .collect()
}

/// The hop to blame in `root`'s chain: in a failing chain the deepest
/// failing hop, or a hop that found nothing right under a failing one;
/// else the hop with the largest self time. Returned as the path of child
/// indexes from the root.
pub fn culprit(root: &Hop) -> Vec<usize> {
    fn deepest_failure(
        hop: &Hop,
        parent_failed: bool,
        path: &mut Vec<usize>,
        best: &mut Option<Vec<usize>>,
    ) {
        let suspect = hop.failed() || (parent_failed && hop.missed());
        if suspect && best.as_ref().is_none_or(|b| path.len() >= b.len()) {
            *best = Some(path.clone());
        }
        for (i, child) in hop.children.iter().enumerate() {
            path.push(i);
            deepest_failure(child, hop.failed(), path, best);
            path.pop();
        }
    }
    fn slowest(hop: &Hop, path: &mut Vec<usize>, best: &mut (u64, Vec<usize>)) {
        if hop.self_ns() >= best.0 {
            *best = (hop.self_ns(), path.clone());
        }
        for (i, child) in hop.children.iter().enumerate() {
            path.push(i);
            slowest(child, path, best);
            path.pop();
        }
    }
    let mut failure = None;
    deepest_failure(root, false, &mut Vec::new(), &mut failure);
    if let Some(path) = failure {
        return path;
    }
    let mut best = (0, Vec::new());
    slowest(root, &mut Vec::new(), &mut best);
    best.1
}

/// The hop [`culprit`] names in `root`'s chain.
pub fn culprit_hop(root: &Hop) -> &Hop {
    culprit(root).iter().fold(root, |hop, &i| &hop.children[i])
}

#[cfg(test)]
mod tests {
    use super::super::render::render_chain;
    use super::super::socket_call;
    use super::super::track::Tracker;
    use super::*;
    use crate::model::{Arch, SocketCall, SocketInfo};

    struct Net {
        tracker: Tracker,
        spans: Vec<Span>,
    }

    impl Net {
        #[expect(clippy::too_many_arguments, reason = "socket_call's, passed on")]
        fn call(
            &mut self,
            name: &str,
            pid: u32,
            tid: u32,
            comm: &str,
            sock: u64,
            local: u16,
            remote: u16,
            at_ms: f64,
            payload: &[u8],
        ) {
            let call = socket_call(name, pid, tid, comm, sock, local, remote, at_ms, payload);
            self.spans.extend(self.tracker.observe(&call));
        }
    }

    /// nginx -> payments -> redis, the key expired: 502 <- 500 <- (nil).
    fn outage() -> Vec<Hop> {
        let mut n = Net {
            tracker: Tracker::default(),
            spans: Vec::new(),
        };
        let get = b"GET /checkout HTTP/1.1\r\nHost: shop\r\nX-Request-ID: r1\r\n\r\n";
        let post = b"POST /pay HTTP/1.1\r\nContent-Length: 0\r\nX-Request-ID: r1\r\n\r\n";
        let redis_get = b"*2\r\n$3\r\nGET\r\n$10\r\nsession:42\r\n";
        // curl -> nginx
        n.call("connect", 500, 500, "curl", 1, 50000, 8080, 0.0, b"x");
        n.call("write", 500, 500, "curl", 1, 50000, 8080, 0.0, get);
        n.call("read", 812, 812, "nginx", 2, 8080, 50000, 0.1, get);
        // nginx -> payments (an event loop: linked by the request id)
        n.call("write", 812, 812, "nginx", 3, 50001, 9000, 1.0, post);
        n.call("read", 901, 905, "payments", 4, 9000, 50001, 1.1, post);
        // payments -> redis, on the thread serving the request
        n.call(
            "write", 901, 905, "payments", 5, 50002, 6379, 2.0, redis_get,
        );
        n.call(
            "read",
            77,
            77,
            "redis-server",
            6,
            6379,
            50002,
            2.1,
            redis_get,
        );
        n.call(
            "write",
            77,
            77,
            "redis-server",
            6,
            6379,
            50002,
            2.3,
            b"$-1\r\n",
        );
        n.call(
            "read", 901, 905, "payments", 5, 50002, 6379, 2.5, b"$-1\r\n",
        );
        let e500 = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
        n.call("write", 901, 905, "payments", 4, 9000, 50001, 1199.0, e500);
        n.call("read", 812, 812, "nginx", 3, 50001, 9000, 1200.0, e500);
        let e502 = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
        n.call("write", 812, 812, "nginx", 2, 8080, 50000, 1203.0, e502);
        n.call("read", 500, 500, "curl", 1, 50000, 8080, 1203.1, e502);
        chains(n.spans)
    }

    #[test]
    fn settling_keeps_what_is_done_and_gives_back_the_rest_whole() {
        let root = outage().remove(0);
        let spans: Vec<Span> = root.spans().cloned().collect();
        assert_eq!(spans.len(), 6, "three hops, each seen from both ends");
        let mut held = spans.clone();
        assert!(settle(&mut held, |_| false).is_empty());
        assert_eq!(held.len(), 6, "every span given back");
        let done = settle(&mut held, |_| true);
        assert!(held.is_empty());
        assert_eq!(done, [root], "linked again, the same chain");
    }

    #[test]
    fn a_chain_across_three_services_points_at_the_expired_key() {
        let roots = outage();
        assert_eq!(roots.len(), 1, "{roots:#?}");
        let text = render_chain(&roots[0]);
        assert_eq!(
            text,
            "GET /checkout  nginx[812] :8080  502  1203 ms\n\
             └─ POST /pay  payments[901] :9000  500  1199 ms\n\
             \x20  └┄ GET session:42  redis-server[77] :6379  (nil)  0.5 ms  <- culprit\n"
        );
        let pay = &roots[0].children[0];
        assert_eq!(pay.link, Some(LinkKind::Header));
        assert_eq!(pay.children[0].link, Some(LinkKind::Thread));
        assert!(
            pay.client.is_some() && pay.server.is_some(),
            "both ends of the hop"
        );
    }

    #[test]
    fn an_event_loop_serving_two_requests_at_once_links_nothing_by_thread() {
        let mut n = Net {
            tracker: Tracker::default(),
            spans: Vec::new(),
        };
        let a = b"GET /a HTTP/1.1\r\n\r\n";
        let b = b"GET /b HTTP/1.1\r\n\r\n";
        let up = b"GET /up HTTP/1.1\r\n\r\n";
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        n.call("read", 10, 10, "proxy", 1, 80, 40000, 0.0, a);
        n.call("read", 10, 10, "proxy", 2, 80, 40001, 0.1, b);
        n.call("write", 10, 10, "proxy", 3, 40002, 9000, 0.2, up);
        n.call("read", 10, 10, "proxy", 3, 40002, 9000, 0.3, ok);
        n.call("write", 10, 10, "proxy", 1, 80, 40000, 0.4, ok);
        n.call("write", 10, 10, "proxy", 2, 80, 40001, 0.5, ok);
        let roots = chains(n.spans);
        assert_eq!(roots.len(), 3, "shown unlinked: {roots:#?}");
        assert!(roots.iter().all(|r| r.children.is_empty()));
    }

    #[test]
    fn a_connection_of_an_unknown_protocol_is_paired_across_processes_but_never_a_thread_s_child() {
        let mut n = Net {
            tracker: Tracker::default(),
            spans: Vec::new(),
        };
        let get = b"GET /a HTTP/1.1\r\n\r\n";
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        let blob = b"\x00\x01\x02";
        // A thread-per-request server opens a connection of its own kind
        // while serving /a; the other end is another process.
        n.call("read", 10, 11, "app", 1, 80, 40000, 0.0, get);
        n.call("connect", 10, 11, "app", 2, 40001, 7000, 0.1, b"x");
        n.call("write", 10, 11, "app", 2, 40001, 7000, 0.2, blob);
        n.call("accept4", 20, 20, "store", 3, 7000, 40001, 0.2, b"x");
        n.call("read", 20, 20, "store", 3, 7000, 40001, 0.3, blob);
        n.call("write", 10, 11, "app", 1, 80, 40000, 0.4, ok);
        for (id, at) in [(2, 5_000_000), (3, 5_000_100)] {
            n.spans.extend(
                n.tracker
                    .closed(&crate::model::SocketClose { ts_ns: at, id }),
            );
        }
        n.spans.extend(n.tracker.unfinished());
        let roots = chains(n.spans);
        assert_eq!(roots.len(), 2, "{roots:#?}");
        let conn = roots
            .iter()
            .find(|r| r.main().protocol == Protocol::Opaque)
            .expect("the connection's hop");
        assert!(
            conn.client.is_some() && conn.server.is_some(),
            "both ends, one hop: {conn:#?}"
        );
        assert_eq!(conn.main().comm, b"store");
        assert!(
            roots.iter().all(|r| r.children.is_empty()),
            "no thread link"
        );
    }

    #[test]
    fn a_slow_chain_blames_the_hop_with_the_most_self_time() {
        let mut n = Net {
            tracker: Tracker::default(),
            spans: Vec::new(),
        };
        let get = b"GET /slow HTTP/1.1\r\n\r\n";
        let q = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        n.call("read", 20, 21, "api", 1, 80, 40000, 0.0, get);
        n.call("write", 20, 21, "api", 2, 40001, 6379, 1.0, q);
        n.call("read", 20, 21, "api", 2, 40001, 6379, 2.0, b"$1\r\nv\r\n");
        n.call("write", 20, 21, "api", 1, 80, 40000, 900.0, ok);
        let roots = chains(n.spans);
        assert_eq!(roots.len(), 1);
        assert_eq!(
            culprit(&roots[0]),
            Vec::<usize>::new(),
            "api itself took the time"
        );
    }

    #[test]
    fn both_ends_of_a_unix_socket_are_one_hop() {
        let arch = Arch::native();
        let call = |name: &str, pid: u32, sock: u64, peer: u64, payload: &[u8]| SocketCall {
            ts_ns: 1,
            pid,
            tid: pid,
            comm: b"p".into(),
            arch,
            nr: crate::decode::sysno::number(arch, name).expect("a syscall"),
            ret: payload.len() as i64,
            socket: SocketInfo {
                id: sock,
                peer,
                local: None,
                remote: None,
            },
            payload: payload.to_vec(),
        };
        let mut t = Tracker::default();
        let mut spans = Vec::new();
        let req = b"*1\r\n$4\r\nPING\r\n";
        spans.extend(t.observe(&call("write", 1, 10, 20, req)));
        spans.extend(t.observe(&call("read", 2, 20, 10, req)));
        spans.extend(t.observe(&call("write", 2, 20, 10, b"+PONG\r\n")));
        spans.extend(t.observe(&call("read", 1, 10, 20, b"+PONG\r\n")));
        let roots = chains(spans);
        assert_eq!(roots.len(), 1, "{roots:#?}");
        assert!(roots[0].client.is_some() && roots[0].server.is_some());
    }
}
