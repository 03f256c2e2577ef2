//! From socket calls to spans: each connection is tracked from its first
//! call (connect, accept, or a read or write seen mid-stream), its
//! protocol detected from the first bytes either way, and its requests
//! paired with their responses in order (HTTP/1.x, RESP and PostgreSQL
//! answer in the order they were asked, pipelined or not).

use std::collections::VecDeque;
use std::collections::hash_map::Entry;
use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use super::{Frame, Parser, Protocol, Request, Secrets, Status, Text, detect, parser};
use crate::model::{Arch, Comm, SocketCall, SocketClose, SocketOpen};
use crate::procfs::Origin;
use std::sync::Arc;

/// Which end of its connection a process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// It sent the requests.
    Client,
    /// It answered them.
    Server,
}

/// One request and its response, seen from one end of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Unique among the spans of a run.
    pub id: u64,
    /// The kernel's socket (see [`crate::model::SocketInfo::id`]).
    pub conn: u64,
    /// The unix socket at the other end, when this is one.
    pub peer: u64,
    pub pid: u32,
    /// The thread that wrote (client) or read (server) the request.
    pub tid: u32,
    /// Raw bytes.
    pub comm: Comm,
    /// The container, pod or systemd unit the process runs in, when known:
    /// filled by the consumer from /proc (see [`super::origin`]), not by
    /// the tracker.
    pub origin: Option<Arc<Origin>>,
    pub role: Role,
    pub protocol: Protocol,
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
    /// The request's position on its connection, from 0: with the
    /// connection's two ends, it names the same request on both sides.
    pub index: u64,
    pub request: Request,
    /// `None` when the connection ended (or the run did) before the
    /// response.
    pub status: Option<Status>,
    pub response_bytes: u64,
    /// Unix times, in nanoseconds: the request's write or read, and the
    /// response's.
    pub start_ns: u64,
    pub end_ns: u64,
}

impl Span {
    /// How long it took, in nanoseconds (0 without a response).
    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }
}

/// A request waiting for its response.
#[derive(Debug)]
struct Pending {
    request: Request,
    /// The process and thread that wrote (client) or read (server) it:
    /// with a forking server (PostgreSQL, Apache) not the one that
    /// accepted the connection.
    pid: u32,
    comm: Comm,
    tid: u32,
    at: u64,
    index: u64,
}

#[derive(Debug)]
struct Conn {
    role: Option<Role>,
    protocol: Option<Protocol>,
    /// Parsers of what this process wrote and what it read.
    out: Option<Box<dyn Parser>>,
    inbound: Option<Box<dyn Parser>>,
    pending: VecDeque<Pending>,
    requests: u64,
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
    peer: u64,
    /// When connect or accept made it, if seen.
    opened_ns: Option<u64>,
    /// When the kernel closed it (TCP), if it did.
    closed_ns: Option<u64>,
    /// Nothing recognisable: bytes are counted, not parsed, and the
    /// connection becomes one span when it ends.
    opaque: Option<Opaque>,
}

/// The traffic of a connection whose bytes are no protocol we know.
#[derive(Debug)]
struct Opaque {
    /// The process that moved its first bytes.
    pid: u32,
    tid: u32,
    comm: Comm,
    first_ns: u64,
    last_ns: u64,
    written: u64,
    read: u64,
}

/// What the tracker calls each syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Connect,
    Accept,
    Write,
    Read,
    Other,
}

fn call_by_name(name: &str) -> Call {
    match name {
        "connect" => Call::Connect,
        "accept" | "accept4" => Call::Accept,
        "write" | "writev" | "sendto" | "sendmsg" | "sendmmsg" => Call::Write,
        "read" | "readv" | "recvfrom" | "recvmsg" | "recvmmsg" => Call::Read,
        _ => Call::Other,
    }
}

/// What `nr` is on `arch`, from a table built once per architecture: this
/// runs for every socket call, and naming the syscall each time to match
/// the name costs more than the rest of the call's tracking.
fn call_of(arch: Arch, nr: u32) -> Call {
    use std::sync::OnceLock;
    static TABLES: [OnceLock<Vec<Call>>; 2] = [OnceLock::new(), OnceLock::new()];
    let index = match arch {
        Arch::X86_64 => 0,
        Arch::Aarch64 => 1,
    };
    let table = TABLES[index].get_or_init(|| {
        let mut table = Vec::new();
        for (nr, name) in crate::decode::sysno::all(arch) {
            let nr = nr as usize;
            if table.len() <= nr {
                table.resize(nr + 1, Call::Other);
            }
            table[nr] = call_by_name(name);
        }
        table
    });
    table.get(nr as usize).copied().unwrap_or(Call::Other)
}

/// Tracks connections and pairs their requests and responses.
#[derive(Debug, Default)]
pub struct Tracker {
    /// By socket id: kernel addresses, hashed with Fx rather than SipHash
    /// (no one outside the kernel picks them, and this map is looked up
    /// on every socket call of the host).
    conns: FxHashMap<u64, Conn>,
    next_id: u64,
    /// Requests whose connection closed (or the run ended) unanswered.
    pub unanswered: u64,
    /// The parsers' output, reused from call to call.
    frames: Vec<Frame>,
    /// Closed connections waiting out their grace: close time and id, in
    /// the order of the close records.
    closing: VecDeque<(u64, u64)>,
    /// TCP connections established and not yet used, by id: when and
    /// which end, for the first call on them. Every connection of the
    /// host passes here, the targets' or not; its close takes it out.
    opening: FxHashMap<u64, (u64, Role)>,
    secrets: Secrets,
}

impl Tracker {
    /// Connections tracked at once; past it the oldest are forgotten (a
    /// host with more live connections than this is not fully shown).
    pub const MAX_CONNS: usize = 65_536;
    /// How long a closed connection is kept for its last calls.
    pub const CLOSE_GRACE_NS: u64 = 1_000_000_000;

    /// A tracker whose parsers mask secrets, or keep them (`Default`
    /// masks).
    pub fn new(secrets: Secrets) -> Tracker {
        Tracker {
            secrets,
            ..Tracker::default()
        }
    }

    /// Takes one socket call; returns the spans it completed (and those of
    /// connections whose close has waited long enough).
    pub fn observe(&mut self, call: &SocketCall) -> Vec<Span> {
        let mut done = self.sweep(call.ts_ns);
        self.track(call, &mut done);
        done
    }

    fn track(&mut self, call: &SocketCall, done: &mut Vec<Span>) {
        let kind = call_of(call.arch, call.nr);
        if kind == Call::Other || call.ret < 0 {
            return;
        }
        if self.conns.len() >= Self::MAX_CONNS && !self.conns.contains_key(&call.socket.id) {
            self.conns.clear();
        }
        let fresh = || Conn {
            role: None,
            protocol: None,
            out: None,
            inbound: None,
            pending: VecDeque::new(),
            requests: 0,
            local: call.socket.local,
            remote: call.socket.remote,
            peer: call.socket.peer,
            opened_ns: None,
            closed_ns: None,
            opaque: None,
        };
        // One lookup: this runs for every socket call of the host.
        let mut new = false;
        let conn = match self.conns.entry(call.socket.id) {
            Entry::Vacant(v) => {
                new = true;
                v.insert(fresh())
            }
            Entry::Occupied(o) => {
                let conn = o.into_mut();
                // The kernel reuses a closed connection's memory, and so its
                // id: a different 4-tuple (or unix peer) under a known id is
                // a new connection, and the old one is over.
                let s = &call.socket;
                if (s.local.is_some() && conn.local != s.local)
                    || (s.remote.is_some() && conn.remote != s.remote)
                    || (conn.peer != 0 && s.peer != 0 && conn.peer != s.peer)
                {
                    new = true;
                    let old = std::mem::replace(conn, fresh());
                    let end = old.closed_ns.unwrap_or(call.ts_ns);
                    done.extend(retire(
                        s.id,
                        &old,
                        end,
                        &mut self.next_id,
                        &mut self.unanswered,
                    ));
                }
                conn
            }
        };
        if new && let Some((ts_ns, role)) = self.opening.remove(&call.socket.id) {
            conn.role = Some(role);
            conn.opened_ns = Some(ts_ns);
        }
        conn.local = conn.local.or(call.socket.local);
        conn.remote = conn.remote.or(call.socket.remote);
        if conn.peer == 0 {
            conn.peer = call.socket.peer;
        }
        match kind {
            Call::Connect => {
                conn.role = Some(Role::Client);
                conn.opened_ns = Some(call.ts_ns);
                return;
            }
            Call::Accept => {
                conn.role = Some(Role::Server);
                conn.opened_ns = Some(call.ts_ns);
                return;
            }
            _ => {}
        }
        let len = call.ret as u64;
        if len == 0 {
            // A read of nothing is the end of the stream; a write of
            // nothing, nothing. A TCP connection is over when the kernel
            // closes it (a half-closed one may still carry bytes the other
            // way); a unix one has no close record, and ends here.
            if kind == Call::Read && conn.local.is_none() {
                done.extend(self.end(call.socket.id, call.ts_ns));
            }
            return;
        }
        if let Some(opaque) = &mut conn.opaque {
            opaque.last_ns = call.ts_ns;
            match kind {
                Call::Write => opaque.written += len,
                _ => opaque.read += len,
            }
            return;
        }
        if conn.protocol.is_none() {
            let Some((protocol, is_request)) = detect(&call.payload) else {
                let (written, read) = match kind {
                    Call::Write => (len, 0),
                    _ => (0, len),
                };
                conn.opaque = Some(Opaque {
                    pid: call.pid,
                    tid: call.tid,
                    comm: call.comm,
                    first_ns: conn.opened_ns.unwrap_or(call.ts_ns),
                    last_ns: call.ts_ns,
                    written,
                    read,
                });
                return;
            };
            conn.protocol = Some(protocol);
            // Whoever writes a request is the client.
            let writes = kind == Call::Write;
            let role = if writes == is_request {
                Role::Client
            } else {
                Role::Server
            };
            conn.role.get_or_insert(role);
            let client = conn.role == Some(Role::Client);
            conn.out = parser(protocol, client, self.secrets);
            conn.inbound = parser(protocol, !client, self.secrets);
        }
        let mut frames = std::mem::take(&mut self.frames);
        frames.clear();
        let parser = match kind {
            Call::Write => conn.out.as_mut(),
            _ => conn.inbound.as_mut(),
        };
        if let Some(parser) = parser {
            parser.feed_into(&call.payload, len, &mut frames);
        }
        for frame in frames.drain(..) {
            match frame {
                Frame::Request(request) => {
                    // The other direction carries its response.
                    let answers = match kind {
                        Call::Write => conn.inbound.as_mut(),
                        _ => conn.out.as_mut(),
                    };
                    if let Some(parser) = answers {
                        parser.answering(&request);
                    }
                    conn.pending.push_back(Pending {
                        request,
                        pid: call.pid,
                        comm: call.comm,
                        tid: call.tid,
                        at: call.ts_ns,
                        index: conn.requests,
                    });
                    conn.requests += 1;
                }
                Frame::Response(response) => {
                    let Some(pending) = conn.pending.pop_front() else {
                        continue;
                    };
                    self.next_id += 1;
                    done.push(Span {
                        id: self.next_id,
                        conn: call.socket.id,
                        peer: conn.peer,
                        pid: pending.pid,
                        tid: pending.tid,
                        comm: pending.comm,
                        origin: None,
                        role: conn.role.unwrap_or(Role::Client),
                        protocol: conn.protocol.unwrap_or(Protocol::Http1),
                        local: conn.local,
                        remote: conn.remote,
                        index: pending.index,
                        request: pending.request,
                        status: Some(response.status),
                        response_bytes: response.bytes,
                        start_ns: pending.at,
                        end_ns: call.ts_ns,
                    });
                }
            }
        }
        self.frames = frames;
    }

    /// Takes the end of a TCP connection. It is forgotten only
    /// [`Tracker::CLOSE_GRACE_NS`] later: the kernel reports the close as
    /// it happens, but the last reads and writes of the connection's
    /// processes reach us at their syscalls' return, which can be later
    /// (a reset while a response is read). Returns the spans of the
    /// connections whose grace has passed.
    pub fn closed(&mut self, close: &SocketClose) -> Vec<Span> {
        self.opening.remove(&close.id);
        if let Some(conn) = self.conns.get_mut(&close.id)
            && conn.closed_ns.is_none()
        {
            conn.closed_ns = Some(close.ts_ns);
            self.closing.push_back((close.ts_ns, close.id));
        }
        self.sweep(close.ts_ns)
    }

    /// Takes the establishment of a TCP connection: who connected and
    /// who accepted, when no connect or accept call says so (the probe
    /// sends reads and writes without them where the kernel allows).
    pub fn opened(&mut self, open: &SocketOpen) {
        if self.opening.len() >= Self::MAX_CONNS {
            self.opening.clear();
        }
        let role = if open.client {
            Role::Client
        } else {
            Role::Server
        };
        self.opening.insert(open.id, (open.ts_ns, role));
    }

    /// Ends the connections closed at least a grace period before `now`.
    fn sweep(&mut self, now: u64) -> Vec<Span> {
        let mut done = Vec::new();
        while let Some(&(at, id)) = self.closing.front() {
            if at.saturating_add(Self::CLOSE_GRACE_NS) > now {
                break;
            }
            self.closing.pop_front();
            // Unless the id is another connection's by now.
            if self.conns.get(&id).is_some_and(|c| c.closed_ns == Some(at)) {
                done.extend(self.end(id, at));
            }
        }
        done
    }

    /// Forgets connection `id`, which ended at `ts_ns`: what was asked on it
    /// and not answered stays so.
    fn end(&mut self, id: u64, ts_ns: u64) -> Option<Span> {
        let conn = self.conns.remove(&id)?;
        retire(id, &conn, ts_ns, &mut self.next_id, &mut self.unanswered)
    }

    /// The requests still waiting for a response, as spans without a
    /// status, and the unrecognised connections still open, as spans up to
    /// their last bytes (at the end of a run).
    pub fn unfinished(&mut self) -> Vec<Span> {
        let mut out = Vec::new();
        for (&id, conn) in &mut self.conns {
            if let Some(opaque) = &conn.opaque {
                self.next_id += 1;
                let (status, end) = match conn.closed_ns {
                    Some(closed) => (Status::Closed, closed),
                    None => (Status::Open, opaque.last_ns),
                };
                out.push(connection_span(
                    self.next_id,
                    id,
                    conn,
                    opaque,
                    Some(status),
                    end,
                ));
            }
            for pending in conn.pending.drain(..) {
                self.next_id += 1;
                out.push(Span {
                    id: self.next_id,
                    conn: id,
                    peer: conn.peer,
                    pid: pending.pid,
                    tid: pending.tid,
                    comm: pending.comm,
                    origin: None,
                    role: conn.role.unwrap_or(Role::Client),
                    protocol: conn.protocol.unwrap_or(Protocol::Http1),
                    local: conn.local,
                    remote: conn.remote,
                    index: pending.index,
                    request: pending.request,
                    status: None,
                    response_bytes: 0,
                    start_ns: pending.at,
                    end_ns: pending.at,
                });
            }
        }
        out
    }
}

/// What connection `id`, over at `ts_ns`, leaves: its unanswered requests
/// counted, and its connection-level span if its bytes were no protocol we
/// know. The tracker's counters are passed alone, so that this can run
/// while its connection table is borrowed.
fn retire(
    id: u64,
    conn: &Conn,
    ts_ns: u64,
    next_id: &mut u64,
    unanswered: &mut u64,
) -> Option<Span> {
    *unanswered += conn.pending.len() as u64;
    let opaque = conn.opaque.as_ref()?;
    *next_id += 1;
    Some(connection_span(
        *next_id,
        id,
        conn,
        opaque,
        Some(Status::Closed),
        ts_ns,
    ))
}

/// One span for a whole connection whose bytes were no protocol we know:
/// bytes each way and how long it lived. Its role is the one connect or
/// accept showed; for a connection first seen mid-stream, the end with the
/// higher port is taken for the client (an ephemeral port against a
/// service's).
fn connection_span(
    id: u64,
    conn_id: u64,
    conn: &Conn,
    opaque: &Opaque,
    status: Option<Status>,
    end_ns: u64,
) -> Span {
    let guessed = match (conn.local, conn.remote) {
        (Some(local), Some(remote)) if local.port() < remote.port() => Role::Server,
        _ => Role::Client,
    };
    Span {
        id,
        conn: conn_id,
        peer: conn.peer,
        pid: opaque.pid,
        tid: opaque.tid,
        comm: opaque.comm,
        origin: None,
        role: conn.role.unwrap_or(guessed),
        protocol: Protocol::Opaque,
        local: conn.local,
        remote: conn.remote,
        index: 0,
        request: Request {
            operation: Text::const_new("CONN"),
            bytes: opaque.written,
            ..Request::default()
        },
        status,
        response_bytes: opaque.read,
        start_ns: opaque.first_ns,
        end_ns: end_ns.max(opaque.first_ns),
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::model::SocketInfo;

    fn call(name: &str, sock: u64, remote: u16, payload: &[u8]) -> SocketCall {
        let arch = Arch::native();
        SocketCall {
            ts_ns: 1,
            pid: 1,
            tid: 1,
            comm: b"app".into(),
            arch,
            nr: crate::decode::sysno::number(arch, name).expect("a syscall"),
            ret: payload.len() as i64,
            socket: SocketInfo {
                id: sock,
                peer: 0,
                local: Some(SocketAddr::from(([127, 0, 0, 1], 40000))),
                remote: Some(SocketAddr::from(([127, 0, 0, 1], remote))),
            },
            payload: payload.to_vec(),
        }
    }

    #[test]
    fn requests_pair_in_order_and_a_reused_socket_id_starts_afresh() {
        let mut t = Tracker::default();
        let req = b"GET /a HTTP/1.1\r\n\r\n";
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert!(t.observe(&call("write", 7, 80, req)).is_empty());
        assert!(t.observe(&call("write", 7, 80, req)).is_empty());
        let done = t.observe(&call("read", 7, 80, &[&ok[..], &ok[..]].concat()));
        assert_eq!(done.len(), 2, "pipelined: two responses in one read");
        assert_eq!((done[0].index, done[1].index), (0, 1));
        assert_eq!(done[0].role, Role::Client);
        // The same id, another connection: the request left waiting on the
        // old one is not answered by the new one's response.
        assert!(t.observe(&call("write", 7, 80, req)).is_empty());
        assert!(t.observe(&call("write", 7, 81, req)).is_empty());
        assert_eq!(t.unanswered, 1);
        let done = t.observe(&call("read", 7, 81, ok));
        assert_eq!((done.len(), done[0].index), (1, 0));
    }

    #[test]
    fn a_forked_server_s_request_belongs_to_the_child_that_served_it() {
        let mut t = Tracker::default();
        let mut accept = call("accept4", 11, 5432, b"");
        accept.ret = 5;
        accept.pid = 100;
        t.observe(&accept);
        let mut read = call("read", 11, 5432, b"GET /q HTTP/1.1\r\n\r\n");
        (read.pid, read.tid, read.comm) = (200, 200, b"backend".into());
        t.observe(&read);
        let mut write = call(
            "write",
            11,
            5432,
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        );
        (write.pid, write.tid) = (200, 200);
        let done = t.observe(&write);
        assert_eq!(
            (done[0].pid, done[0].tid, done[0].role),
            (200, 200, Role::Server)
        );
        assert_eq!(done[0].comm, b"backend");
    }

    #[test]
    fn a_response_to_head_has_no_body_whatever_its_length_says() {
        let mut t = Tracker::default();
        let head = b"HEAD /big HTTP/1.1\r\n\r\n";
        let get = b"GET /next HTTP/1.1\r\n\r\n";
        t.observe(&call("write", 9, 80, head));
        t.observe(&call("write", 9, 80, get));
        let replies = [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        ]
        .concat();
        let done = t.observe(&call("read", 9, 80, &replies));
        let statuses: Vec<_> = done.iter().map(|s| s.status.clone()).collect();
        assert_eq!(
            statuses,
            [
                Some(super::super::Status::Http(200)),
                Some(super::super::Status::Http(404))
            ],
            "the second response is not taken for the first one's body"
        );
    }

    #[test]
    fn an_unknown_protocol_is_one_span_per_connection_with_its_bytes_and_life() {
        let mut t = Tracker::default();
        let mut connect = call("connect", 5, 9000, b"");
        connect.ts_ns = 1_000;
        assert!(t.observe(&connect).is_empty());
        let mut first = call("write", 5, 9000, b"\x00\x01binary");
        first.ts_ns = 2_000;
        assert!(t.observe(&first).is_empty(), "no request to pair");
        let mut reply = call("read", 5, 9000, &[7; 40]);
        reply.ts_ns = 3_000;
        assert!(t.observe(&reply).is_empty());
        assert!(
            t.closed(&SocketClose {
                ts_ns: 9_000,
                id: 5
            })
            .is_empty(),
            "kept a while"
        );
        let grace = Tracker::CLOSE_GRACE_NS;
        let spans = t.closed(&SocketClose {
            ts_ns: 9_000 + grace,
            id: 99,
        });
        let [span] = spans.as_slice() else {
            panic!("one connection-level span: {spans:#?}")
        };
        assert_eq!(span.protocol, Protocol::Opaque);
        assert_eq!(span.role, Role::Client, "it connected");
        assert_eq!((span.request.bytes, span.response_bytes), (8, 40));
        assert_eq!(
            (span.start_ns, span.end_ns),
            (1_000, 9_000),
            "connect to close"
        );
        assert_eq!(span.status, Some(Status::Closed));
        assert!(
            t.closed(&SocketClose {
                ts_ns: 3 * grace,
                id: 5
            })
            .is_empty(),
            "once"
        );

        // Seen mid-stream and still open at the end: up to its last bytes,
        // the end on the lower port taken for the server.
        let mut mid = call("read", 6, 40001, &[1; 10]);
        mid.socket.local = Some(SocketAddr::from(([127, 0, 0, 1], 6000)));
        mid.ts_ns = 4_000;
        t.observe(&mid);
        mid.ts_ns = 6_000;
        t.observe(&mid);
        let open = t.unfinished();
        assert_eq!(open.len(), 1);
        assert_eq!(
            (open[0].role, open[0].status.clone()),
            (Role::Server, Some(Status::Open))
        );
        assert_eq!((open[0].response_bytes, open[0].duration_ns()), (20, 2_000));
    }

    #[test]
    fn an_established_connection_gives_its_first_call_the_role_and_the_start() {
        let mut t = Tracker::default();
        // The accepting end, which would be taken for the client by its
        // port (40000 against 9000): the kernel's record says otherwise.
        t.opened(&SocketOpen {
            ts_ns: 500,
            id: 5,
            client: false,
        });
        let mut first = call("read", 5, 9000, b"\x00\x01binary");
        first.ts_ns = 2_000;
        t.observe(&first);
        let open = t.unfinished();
        assert_eq!((open[0].role, open[0].start_ns), (Role::Server, 500));

        // A connection closed before any call of a target leaves nothing.
        t.opened(&SocketOpen {
            ts_ns: 600,
            id: 6,
            client: true,
        });
        t.closed(&SocketClose { ts_ns: 700, id: 6 });
        assert!(t.opening.is_empty());
        // Nor is a later connection under that id taken for it.
        let mut later = call("read", 6, 9000, b"\x00\x01binary");
        later.ts_ns = 3_000;
        t.observe(&later);
        let open = t.unfinished();
        let span = open.iter().find(|s| s.conn == 6).expect("the later one");
        assert_eq!(span.start_ns, 3_000);
    }

    #[test]
    fn a_known_protocol_s_connection_end_only_counts_what_it_left_unanswered() {
        let mut t = Tracker::default();
        t.observe(&call("write", 7, 80, b"GET /a HTTP/1.1\r\n\r\n"));
        t.closed(&SocketClose { ts_ns: 5, id: 7 });
        let later = t.closed(&SocketClose {
            ts_ns: 5 + Tracker::CLOSE_GRACE_NS,
            id: 99,
        });
        assert!(later.is_empty());
        assert_eq!(t.unanswered, 1);
        assert!(t.unfinished().is_empty(), "forgotten");
    }

    #[test]
    fn a_response_read_after_the_kernel_closed_the_connection_still_answers() {
        // The server answers and resets the connection: the kernel's close
        // record comes before the client's read of the response returns.
        let mut t = Tracker::default();
        let mut request = call(
            "write",
            8,
            80,
            b"POST /big HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        );
        request.ts_ns = 1_000;
        t.observe(&request);
        t.closed(&SocketClose {
            ts_ns: 2_000,
            id: 8,
        });
        let mut response = call(
            "read",
            8,
            80,
            b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n",
        );
        response.ts_ns = 3_000;
        let done = t.observe(&response);
        assert_eq!(done.len(), 1, "answered");
        assert_eq!(done[0].status, Some(Status::Http(413)));
        assert_eq!(done[0].role, Role::Client);
        assert_eq!(t.unanswered, 0);
    }

    #[test]
    fn a_half_closed_tcp_connection_is_one_connection_until_the_kernel_closes_it() {
        let mut t = Tracker::default();
        t.observe(&call("read", 9, 7000, b"\x00\x01blob"));
        t.observe(&call("read", 9, 7000, b""));
        t.observe(&call("write", 9, 7000, &[3; 10]));
        let open = t.unfinished();
        assert_eq!(open.len(), 1, "{open:#?}");
        assert_eq!((open[0].response_bytes, open[0].request.bytes), (6, 10));
    }
}
