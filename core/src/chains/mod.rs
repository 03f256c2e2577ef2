//! Requests and call chains across services, from socket syscalls alone.
//!
//! The probe hands over, per socket read or write, the first bytes of the
//! payload and the real size. Per connection and direction a protocol
//! [`Parser`] turns that stream into [`Frame`]s (requests and responses),
//! knowing that past the captured prefix of each syscall it sees only the
//! length: bodies are skipped by count, and a header that runs past what
//! was captured makes the parser say so rather than guess. Secrets are
//! masked here, at parse time, so they are never stored, printed or
//! exported.

pub mod http1;
pub mod json;
pub mod link;
pub mod map;
pub mod origin;
pub mod pg;
pub mod render;
pub mod resp;
pub mod track;

/// A request's short texts (method or command, target, host, ids): inline
/// up to 24 bytes, so that most requests cost no allocation for them.
pub type Text = compact_str::CompactString;

/// `bytes` escaped and cut to at most `max` characters, as
/// [`crate::escape::escape_capped`] does, as a [`Text`]: escaped in a
/// buffer kept from call to call, so only a text too long to be inline
/// allocates.
pub fn text(bytes: &[u8], max: usize) -> Text {
    thread_local! {
        static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    SCRATCH.with_borrow_mut(|scratch| {
        scratch.clear();
        crate::escape::push_escaped_capped(scratch, bytes, max);
        Text::from(scratch.as_str())
    })
}

/// The protocols hostscope understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Http1,
    Redis,
    Postgres,
    /// None we know: the connection is one span, its bytes each way.
    Opaque,
}

/// What the parsers do with the secrets requests carry (secret-looking
/// query and path parameters and URL user info, Redis `AUTH` arguments,
/// SQL literals, the values PostgreSQL echoes in its data errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Secrets {
    /// Masked as they are parsed, so never stored, printed or exported.
    #[default]
    Masked,
    /// Kept (`--show-secrets`).
    Shown,
}

/// Who wrote the bytes, seen from the process that owns the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The process wrote them (send, write).
    Out,
    /// The process read them (recv, read).
    In,
}

/// How a response ended the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// An HTTP status code.
    Http(u16),
    /// A Redis reply that is not an error (`+OK`, an integer, a bulk
    /// string, an array…).
    RedisOk,
    /// A Redis null reply (`$-1`, `*-1`, `_`): the key does not exist.
    RedisNil,
    /// A Redis error reply (`-ERR …`), its first word and message, escaped.
    RedisError(String),
    /// PostgreSQL `CommandComplete` (its tag, e.g. `SELECT 1`).
    PgOk(String),
    /// PostgreSQL `ErrorResponse`: SQLSTATE code and message, escaped.
    PgError { code: String, message: String },
    /// A connection of no protocol we know, which ended.
    Closed,
    /// A connection of no protocol we know, still open when the run ended.
    Open,
}

impl Status {
    /// Whether the request failed (HTTP 5xx; Redis and PostgreSQL errors).
    /// 4xx are the caller's mistake, not a broken hop; a nil reply is an
    /// answer.
    pub fn is_error(&self) -> bool {
        match self {
            Status::Http(code) => *code >= 500,
            Status::RedisError(_) | Status::PgError { .. } => true,
            Status::RedisOk
            | Status::RedisNil
            | Status::PgOk(_)
            | Status::Closed
            | Status::Open => false,
        }
    }
}

/// A request as parsed: what a chain's hop shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// `GET`, `SET`, `QUERY`, `EXECUTE`… (ASCII, upper case).
    pub operation: Text,
    /// The path (query parameters that look secret masked), the key, or the
    /// head of the query (literals masked). Escaped, printable.
    pub target: Text,
    /// HTTP `Host`, when given.
    pub host: Option<Text>,
    /// W3C `traceparent` trace id (32 hex digits), when the request carried
    /// one.
    pub trace_id: Option<Text>,
    /// `X-Request-ID`, when the request carried one (escaped).
    pub request_id: Option<Text>,
    /// Bytes of the request, headers and body.
    pub bytes: u64,
}

/// A response as parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: Status,
    /// Bytes of the response, headers and body.
    pub bytes: u64,
}

/// What a parser recognised in a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Request(Request),
    Response(Response),
}

/// Turns one direction of one connection into frames.
///
/// `feed` is called once per syscall, in order, with the bytes the probe
/// captured (a prefix of the payload) and the payload's real length
/// (`len >= captured.len()`). A parser keeps what it needs across calls
/// (a header split over two reads; a body still to skip).
pub trait Parser: std::fmt::Debug + Send {
    /// Appends the frames completed by these bytes, in order, to `frames`,
    /// which the caller hands in empty: a buffer reused across calls, since
    /// this runs for every socket call of the host.
    fn feed_into(&mut self, captured: &[u8], len: u64, frames: &mut Vec<Frame>);
    /// The frames completed by these bytes, in order.
    #[cfg(test)]
    fn feed(&mut self, captured: &[u8], len: u64) -> Vec<Frame> {
        let mut frames = Vec::new();
        self.feed_into(captured, len, &mut frames);
        frames
    }
    /// Whether the parser lost track of the stream (bytes it needed were
    /// not captured, or did not parse): what follows is not trusted until
    /// it finds a frame start again.
    fn lost(&self) -> bool;
    /// The request that the next response on this connection answers,
    /// for a response parser whose framing depends on it (an HTTP response
    /// to HEAD has no body, whatever its Content-Length says). Called in
    /// order, once per request.
    fn answering(&mut self, _request: &Request) {}
}

/// What the first captured bytes of a connection's first message (in
/// either direction) are: the protocol, and whether they are a request
/// (written by the client) or a response. `None` for anything else, which
/// becomes a connection-level span.
pub fn detect(first: &[u8]) -> Option<(Protocol, bool)> {
    if http1::looks_like(first, Direction::Out) {
        return Some((Protocol::Http1, !first.starts_with(b"HTTP/")));
    }
    // The RESP and PostgreSQL detectors take the direction as the client
    // sees it: `Out` for what it writes (requests).
    for (protocol, looks_like) in [
        (
            Protocol::Redis,
            resp::looks_like as fn(&[u8], Direction) -> bool,
        ),
        (Protocol::Postgres, pg::looks_like),
    ] {
        if looks_like(first, Direction::Out) {
            return Some((protocol, true));
        }
        if looks_like(first, Direction::In) {
            return Some((protocol, false));
        }
    }
    None
}

/// A parser for `protocol`, for the direction of a connection that
/// carries requests (client to server) when `carries_requests`, else
/// responses; none for bytes of no protocol we know.
pub fn parser(
    protocol: Protocol,
    carries_requests: bool,
    secrets: Secrets,
) -> Option<Box<dyn Parser>> {
    match protocol {
        Protocol::Http1 => Some(Box::new(
            http1::Http1::new(carries_requests).with_secrets(secrets),
        )),
        Protocol::Redis => Some(Box::new(
            resp::Resp::new(carries_requests).with_secrets(secrets),
        )),
        Protocol::Postgres => Some(Box::new(
            pg::Pg::new(carries_requests).with_secrets(secrets),
        )),
        Protocol::Opaque => None,
    }
}

/// One socket call over loopback TCP, for the tests that feed a tracker:
/// `local` and `remote` are ports on 127.0.0.1, `at_ms` the time, and an
/// empty `payload` an end of stream.
#[cfg(test)]
#[expect(clippy::too_many_arguments, reason = "one per field a test varies")]
pub(crate) fn socket_call(
    name: &str,
    pid: u32,
    tid: u32,
    comm: &str,
    sock: u64,
    local: u16,
    remote: u16,
    at_ms: f64,
    payload: &[u8],
) -> crate::model::SocketCall {
    let arch = crate::model::Arch::native();
    let addr = |port| Some(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    crate::model::SocketCall {
        ts_ns: (at_ms * 1e6) as u64,
        pid,
        tid,
        comm: comm.as_bytes().into(),
        arch,
        nr: crate::decode::sysno::number(arch, name).expect("a syscall"),
        ret: payload.len() as i64,
        socket: crate::model::SocketInfo {
            id: sock,
            peer: 0,
            local: addr(local),
            remote: addr(remote),
        },
        payload: payload.to_vec(),
    }
}

/// Hostile input for the parsers' tests.
#[cfg(test)]
pub(crate) mod fuzz {
    /// xorshift64: the same hostile input on every run.
    pub(crate) struct Rng(pub(crate) u64);

    impl Rng {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        pub(crate) fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    /// One syscall's payload: random bytes, or a slice of one of `samples`
    /// with a few bytes changed; and a length that may claim more bytes
    /// than were captured.
    pub(crate) fn hostile_feed(rng: &mut Rng, samples: &[&[u8]]) -> (Vec<u8>, u64) {
        let mut bytes: Vec<u8> = if rng.below(4) == 0 {
            (0..rng.below(700)).map(|_| rng.next() as u8).collect()
        } else {
            let sample = samples[rng.below(samples.len())];
            let start = rng.below(sample.len());
            let end = start + rng.below(sample.len() - start + 1);
            sample[start..end].to_vec()
        };
        for _ in 0..rng.below(3) {
            if !bytes.is_empty() {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
        }
        let len = bytes.len() as u64
            + match rng.below(4) {
                0 => rng.next() % 200_000,
                1 => rng.next() % 16,
                _ => 0,
            };
        (bytes, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_and_side_come_from_the_bytes_not_the_port() {
        assert_eq!(
            detect(b"GET /checkout HTTP/1.1\r\nHost: a\r\n\r\n"),
            Some((Protocol::Http1, true))
        );
        assert_eq!(
            detect(b"HTTP/1.1 502 Bad Gateway\r\n"),
            Some((Protocol::Http1, false))
        );
        assert_eq!(
            detect(b"*2\r\n$3\r\nGET\r\n$10\r\nsession:42\r\n"),
            Some((Protocol::Redis, true))
        );
        assert_eq!(detect(b"$-1\r\n"), Some((Protocol::Redis, false)));
        // StartupMessage: length, protocol 3.0, key/value pairs, a NUL.
        let params = b"user\0postgres\0database\0shop\0\0";
        let len = (8 + params.len()) as u32;
        let startup = [&len.to_be_bytes()[..], &[0, 3, 0, 0], params].concat();
        assert_eq!(detect(&startup), Some((Protocol::Postgres, true)));
        assert_eq!(detect(b"\x16\x03\x01\x02\x00"), None, "TLS is not parsed");
        assert_eq!(detect(b"SSH-2.0-OpenSSH_9.2\r\n"), None);
    }

    #[test]
    fn a_failed_hop_is_a_server_error_not_a_miss() {
        assert!(Status::Http(502).is_error());
        assert!(!Status::Http(404).is_error());
        assert!(!Status::RedisNil.is_error());
        assert!(Status::RedisError("ERR x".into()).is_error());
    }

    #[test]
    fn secrets_are_masked_unless_shown() {
        fn first_target(protocol: Protocol, secrets: Secrets, bytes: &[u8]) -> String {
            let mut parser = parser(protocol, true, secrets).expect("a parser");
            let frames = parser.feed(bytes, bytes.len() as u64);
            match frames.first() {
                Some(Frame::Request(r)) => r.target.to_string(),
                other => panic!("no request from {protocol:?}: {other:?}"),
            }
        }
        let http = b"GET /s?token=hs-42 HTTP/1.1\r\n\r\n";
        let redis = b"*2\r\n$4\r\nAUTH\r\n$5\r\nhs-42\r\n";
        // A startup message (protocol 3.0, user x), then a simple query.
        let mut sql = b"\x00\x00\x00\x10\x00\x03\x00\x00user\x00x\x00\x00".to_vec();
        sql.extend_from_slice(b"Q\x00\x00\x00\x18SELECT 'hs-42' AS x\x00");
        for (protocol, bytes, masked) in [
            (Protocol::Http1, &http[..], "/s?token=****"),
            (Protocol::Redis, &redis[..], "****"),
            (Protocol::Postgres, &sql[..], "SELECT ? AS x"),
        ] {
            assert_eq!(first_target(protocol, Secrets::Masked, bytes), masked);
            assert!(
                first_target(protocol, Secrets::Shown, bytes).contains("hs-42"),
                "{protocol:?} shows it with --show-secrets"
            );
        }
    }
}
