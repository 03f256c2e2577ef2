//! HTTP/1.x requests and responses, from the captured prefixes of socket
//! syscalls.
//!
//! A hop in a chain needs the method, the target, the status and the
//! headers that propagate a request's identity (`traceparent`,
//! `X-Request-ID`). HTTP/1.x frames its messages with a text header and a
//! body whose length the header gives, so the parser reads each header in
//! full and then skips the body by count, through bytes the probe never
//! captured. When a header, or a chunk size, falls in those bytes, the
//! message boundary is unknowable: the parser says it is lost and waits for
//! a syscall that starts a message, rather than guess.
//!
//! Privacy is decided here: the target's secret-looking parameters are
//! masked before anything is built from it, and no header value is kept
//! except the few read below (never `Authorization`, `Cookie` or
//! `Set-Cookie`).

use std::fmt;

use super::{Direction, Frame, Parser, Request, Response, Secrets, Status, Text, text};

/// Most bytes of a header block kept while waiting for its end; a longer
/// header is given up on (16 KiB, as many servers limit it).
const MAX_HEAD: usize = 16 * 1024;
/// Most bytes of a chunk-size line, extensions included.
const MAX_CHUNK_LINE: usize = 1024;
/// Most characters of a request's target, after escaping.
const MAX_TARGET: usize = 256;
/// Most characters of a `Host` value, after escaping.
const MAX_HOST: usize = 256;
/// Most characters of an `X-Request-ID` value, after escaping.
const MAX_REQUEST_ID: usize = 128;
/// Most bytes of a method name.
const MAX_METHOD: usize = 20;
/// Target bytes that must show, when the capture ends inside the target,
/// for a request line to count as one: a long URL cut at the capture limit
/// is still a request, a few bytes after `GET ` are not proof.
const LONG_TARGET: usize = 64;
/// The methods detection trusts (RFC 9110 §9 and PATCH).
const METHODS: [&[u8]; 9] = [
    b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"CONNECT", b"OPTIONS", b"TRACE", b"PATCH",
];
/// Parameter names containing one of these (lower case) have their value
/// masked. Wider than the usual list on purpose (`sig` for Azure and S3
/// signatures, `pwd`, `jwt`): a masked harmless value costs little.
const SECRET_WORDS: [&[u8]; 10] = [
    b"token",
    b"secret",
    b"pass",
    b"pwd",
    b"key",
    b"auth",
    b"session",
    b"sig",
    b"credential",
    b"jwt",
];
/// What a masked value is replaced with.
const MASK: &[u8] = b"****";

/// Whether `first` (the first captured bytes of a connection's first
/// message in a direction) looks like HTTP/1.x: a request line
/// `METHOD SP target SP HTTP/1.[01]` with a known method, or a status line
/// `HTTP/1.[01] NNN`. A prefix that could still become one (`GE`) is not
/// enough. When the capture ends inside the target, at least 64 bytes of
/// it must show.
///
/// Both lines are accepted whatever the direction: a process writes
/// requests as a client and responses as a server, so `Out` and `In` can
/// each carry either.
pub fn looks_like(first: &[u8], _direction: Direction) -> bool {
    is_request_line(first) || is_status_line(first)
}

/// One direction of an HTTP/1.x connection: requests (a client's writes, a
/// server's reads) or responses.
///
/// A frame is emitted as soon as its header block is complete (latency is
/// measured to the first byte of a response); its body is then skipped
/// before the next message is read. A frame's `bytes` is its header plus
/// its `Content-Length`; for a chunked or close-delimited body, whose size
/// the header does not give, it is the header plus the body bytes that came
/// in the same syscall.
///
/// Interim responses (1xx other than `101`) are skipped: the final response
/// that follows answers the same request. A response without a length that
/// is not chunked runs to the end of the connection (HTTP/1.0 style);
/// should a later syscall start with a status line anyway, it is read as a
/// new response. After `101 Switching Protocols`, a `CONNECT` request or a
/// request asking for an `Upgrade`, the bytes are another protocol: they
/// are ignored (without being lost) until a syscall starts with an HTTP
/// message again.
pub struct Http1 {
    carries_requests: bool,
    state: State,
    /// A header block split over syscalls, or a chunk-size line. May hold
    /// secrets until the block is complete, hence the hand-written `Debug`.
    buf: Vec<u8>,
    /// Final responses still to come that answer a HEAD request.
    head_responses: u32,
    secrets: Secrets,
}

/// Where the parser is in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between messages or inside a header block (in `buf`).
    Head,
    /// Inside a body of known length; bytes still to skip.
    Body { remaining: u64 },
    /// Reading a chunk-size line (in `buf`).
    ChunkSize,
    /// Inside a chunk; bytes still to skip, its closing CRLF included.
    ChunkData { remaining: u64 },
    /// In the trailer section after the last chunk: bytes of the current
    /// line (CR excluded), and of the whole section so far.
    Trailer { line: usize, total: usize },
    /// A body delimited by the end of the connection.
    UntilClose,
    /// Another protocol took over the connection.
    Tunnel,
    /// Track was lost: nothing is trusted until a syscall starts a message.
    Lost,
}

impl fmt::Debug for Http1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Buffered header bytes can hold a cookie or a token: count only.
        f.debug_struct("Http1")
            .field("carries_requests", &self.carries_requests)
            .field("state", &self.state)
            .field("buffered", &self.buf.len())
            .field("head_responses", &self.head_responses)
            .finish()
    }
}

impl Http1 {
    /// A parser for one direction: `carries_requests` when it carries
    /// requests (request lines), false when it carries responses.
    pub fn new(carries_requests: bool) -> Http1 {
        Http1 {
            carries_requests,
            state: State::Head,
            buf: Vec::new(),
            head_responses: 0,
            secrets: Secrets::Masked,
        }
    }

    /// The same parser, masking secrets or not.
    pub fn with_secrets(mut self, secrets: Secrets) -> Http1 {
        self.secrets = secrets;
        self
    }

    /// Tells a response parser that one more response answers a HEAD
    /// request, so it has no body whatever its `Content-Length` says (RFC
    /// 9110 §9.3.2); without this, such a response makes the parser skip
    /// the next response's bytes as a body.
    ///
    /// Each call applies to the next final response that starts after the
    /// ones already begun. Call it when the HEAD request is seen, before
    /// the bytes of its response are fed; if the HEAD was pipelined behind
    /// requests still unanswered, call it once their responses are in. It
    /// has no effect on a request parser.
    pub fn next_is_head_response(&mut self) {
        self.head_responses = self.head_responses.saturating_add(1);
    }

    fn lose(&mut self) {
        self.state = State::Lost;
        self.buf = Vec::new();
    }

    /// Reads header bytes; returns how many of `bytes` were used.
    fn head(&mut self, bytes: &[u8], out: &mut Out<'_>) -> usize {
        if self.buf.is_empty() {
            // Blank lines before a message belong to none (RFC 9112 §2.2).
            let blank = bytes
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            if blank > 0 {
                return blank;
            }
            // The usual case, a whole header in one syscall, is parsed in
            // place without copying.
            let window = &bytes[..bytes.len().min(MAX_HEAD)];
            if let Some(end) = header_end(window, 0) {
                self.message(&window[..end], out);
                return end;
            }
            if window.len() == MAX_HEAD || !could_start(window, self.carries_requests) {
                self.lose();
                return bytes.len();
            }
            self.buf.extend_from_slice(window);
            return window.len();
        }
        let old = self.buf.len();
        let take = bytes.len().min(MAX_HEAD - old);
        self.buf.extend_from_slice(&bytes[..take]);
        // The blank line may have begun in the bytes already buffered.
        if let Some(end) = header_end(&self.buf, old.saturating_sub(2)) {
            let block = std::mem::take(&mut self.buf);
            self.message(&block[..end], out);
            return end.saturating_sub(old);
        }
        if self.buf.len() == MAX_HEAD || !could_start(&self.buf, self.carries_requests) {
            self.lose();
            return bytes.len();
        }
        take
    }

    /// Handles a complete header block: emits its frame, sets up its body.
    fn message(&mut self, block: &[u8], out: &mut Out<'_>) {
        let parsed = if self.carries_requests {
            parse_request(block, self.secrets)
        } else {
            parse_response(block, self.head_responses > 0)
        };
        let Some(Message { frame, body }) = parsed else {
            self.lose();
            return;
        };
        out.open = None;
        if let Some(mut frame) = frame {
            if !self.carries_requests {
                self.head_responses = self.head_responses.saturating_sub(1);
            }
            let header = block.len() as u64;
            let bytes = match body {
                Body::Length(n) => header.saturating_add(n),
                _ => header,
            };
            match &mut frame {
                Frame::Request(r) => r.bytes = bytes,
                Frame::Response(r) => r.bytes = bytes,
            }
            out.frames.push(frame);
            if matches!(body, Body::Chunked | Body::UntilClose) {
                out.open = Some(out.frames.len() - 1);
            }
        }
        self.state = match body {
            Body::None | Body::Length(0) => State::Head,
            Body::Length(remaining) => State::Body { remaining },
            Body::Chunked => State::ChunkSize,
            Body::UntilClose => State::UntilClose,
            Body::Tunnel => State::Tunnel,
        };
    }

    /// Reads a chunk-size line; returns how many of `bytes` were used.
    fn chunk_size(&mut self, bytes: &[u8], out: &mut Out<'_>) -> usize {
        let (line, complete) = match bytes.iter().position(|&b| b == b'\n') {
            Some(nl) => (&bytes[..=nl], true),
            None => (bytes, false),
        };
        out.count(line.len() as u64);
        if self.buf.len() + line.len() > MAX_CHUNK_LINE {
            self.lose();
            return bytes.len();
        }
        self.buf.extend_from_slice(line);
        if complete {
            let size = parse_chunk_size(&self.buf);
            self.buf.clear();
            // The chunk's data is followed by CRLF, skipped with it.
            match size {
                Some(0) => self.state = State::Trailer { line: 0, total: 0 },
                Some(n) => match n.checked_add(2) {
                    Some(remaining) => self.state = State::ChunkData { remaining },
                    None => self.lose(),
                },
                None => self.lose(),
            }
        }
        line.len()
    }

    /// Reads trailer lines up to the blank one that ends the message.
    fn trailer(&mut self, bytes: &[u8], mut line: usize, total: usize, out: &mut Out<'_>) -> usize {
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'\n' if line == 0 => {
                    out.count(i as u64 + 1);
                    out.open = None;
                    self.state = State::Head;
                    return i + 1;
                }
                b'\n' => line = 0,
                b'\r' => {}
                _ => line += 1,
            }
        }
        out.count(bytes.len() as u64);
        let total = total.saturating_add(bytes.len());
        if total > MAX_HEAD {
            self.lose();
        } else {
            self.state = State::Trailer { line, total };
        }
        bytes.len()
    }

    /// Accounts for the `unseen` bytes of a syscall past its captured
    /// prefix: only a body can be skipped through them.
    fn skip_unseen(&mut self, unseen: u64, out: &mut Out<'_>) {
        if unseen == 0 {
            return;
        }
        match self.state {
            State::Body { remaining } if unseen <= remaining => {
                self.state = match remaining - unseen {
                    0 => State::Head,
                    remaining => State::Body { remaining },
                };
            }
            State::ChunkData { remaining } if unseen <= remaining => {
                out.count(unseen);
                self.state = match remaining - unseen {
                    0 => State::ChunkSize,
                    remaining => State::ChunkData { remaining },
                };
            }
            State::UntilClose => out.count(unseen),
            State::Tunnel | State::Lost => {}
            // A header, a chunk size or the next message is in bytes nobody
            // saw.
            State::Head
            | State::Body { .. }
            | State::ChunkSize
            | State::ChunkData { .. }
            | State::Trailer { .. } => self.lose(),
        }
    }

    /// Whether `bytes` start a message of the kind this direction carries.
    fn starts_message(&self, bytes: &[u8]) -> bool {
        if self.carries_requests {
            is_request_line(bytes)
        } else {
            is_status_line(bytes)
        }
    }
}

impl Parser for Http1 {
    fn feed_into(&mut self, captured: &[u8], len: u64, frames: &mut Vec<Frame>) {
        let mut out = Out { frames, open: None };
        if matches!(self.state, State::Lost | State::Tunnel | State::UntilClose)
            && self.starts_message(captured)
        {
            self.state = State::Head;
            self.buf = Vec::new();
        }
        let mut rest = captured;
        while !rest.is_empty() {
            let used = match self.state {
                State::Head => self.head(rest, &mut out),
                State::Body { remaining } => {
                    let n = up_to(rest.len(), remaining);
                    self.state = match remaining - n as u64 {
                        0 => State::Head,
                        remaining => State::Body { remaining },
                    };
                    n
                }
                State::ChunkSize => self.chunk_size(rest, &mut out),
                State::ChunkData { remaining } => {
                    let n = up_to(rest.len(), remaining);
                    out.count(n as u64);
                    self.state = match remaining - n as u64 {
                        0 => State::ChunkSize,
                        remaining => State::ChunkData { remaining },
                    };
                    n
                }
                State::Trailer { line, total } => self.trailer(rest, line, total, &mut out),
                State::UntilClose => {
                    out.count(rest.len() as u64);
                    rest.len()
                }
                State::Tunnel | State::Lost => rest.len(),
            };
            rest = &rest[used..];
        }
        // A hostile or buggy caller may claim fewer bytes than it captured.
        self.skip_unseen(len.saturating_sub(captured.len() as u64), &mut out);
    }

    fn lost(&self) -> bool {
        self.state == State::Lost
    }

    fn answering(&mut self, request: &Request) {
        if request.operation == "HEAD" {
            self.next_is_head_response();
        }
    }
}

/// The frames of one `feed`, and which of them still grows by the body
/// bytes read (a chunked or close-delimited body).
struct Out<'f> {
    frames: &'f mut Vec<Frame>,
    open: Option<usize>,
}

impl Out<'_> {
    fn count(&mut self, n: u64) {
        match self.open.and_then(|i| self.frames.get_mut(i)) {
            Some(Frame::Request(r)) => r.bytes = r.bytes.saturating_add(n),
            Some(Frame::Response(r)) => r.bytes = r.bytes.saturating_add(n),
            None => {}
        }
    }
}

/// `available`, or fewer if `remaining` is smaller.
fn up_to(available: usize, remaining: u64) -> usize {
    usize::try_from(remaining).map_or(available, |r| r.min(available))
}

/// How a message's body ends (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy)]
enum Body {
    None,
    Length(u64),
    Chunked,
    UntilClose,
    Tunnel,
}

/// A parsed header block: its frame (none for an interim response) and
/// how its body ends.
struct Message {
    frame: Option<Frame>,
    body: Body,
}

/// The header fields this module reads; every other one is dropped unread.
#[derive(Default)]
struct Fields<'a> {
    content_length: Option<u64>,
    /// Whether the last transfer coding is `chunked`, when there is one.
    chunked: Option<bool>,
    host: Option<&'a [u8]>,
    traceparent: Option<&'a [u8]>,
    request_id: Option<&'a [u8]>,
    upgrade: bool,
}

/// Index just past the blank line that ends the header block in `buf`,
/// looking for it from `from`. A bare LF ends a line too (RFC 9112 §2.2).
fn header_end(buf: &[u8], from: usize) -> Option<usize> {
    let rest = buf.get(from..)?;
    // memchr: this scan and the line split below run on every message a
    // host's servers send or receive.
    memchr::memchr_iter(b'\n', rest).find_map(|off| {
        let nl = from + off;
        match &buf[nl + 1..] {
            [b'\n', ..] => Some(nl + 2),
            [b'\r', b'\n', ..] => Some(nl + 3),
            _ => None,
        }
    })
}

/// The lines of a header block, without their CR.
fn lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(block);
    std::iter::from_fn(move || {
        let text = rest?;
        let line = match memchr::memchr(b'\n', text) {
            Some(nl) => {
                rest = Some(&text[nl + 1..]);
                &text[..nl]
            }
            None => {
                rest = None;
                text
            }
        };
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    })
}

/// The fields after the start line; `None` when the framing is ambiguous
/// (an unreadable or conflicting `Content-Length`).
fn fields<'a>(lines: impl Iterator<Item = &'a [u8]>) -> Option<Fields<'a>> {
    let mut f = Fields::default();
    for line in lines {
        if line.is_empty() {
            break;
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let name = &line[..colon];
        let value = line[colon + 1..].trim_ascii();
        // By length first: most fields are none of these, and are passed
        // over after one comparison of lengths.
        let is = |wanted: &[u8]| name.eq_ignore_ascii_case(wanted);
        match name.len() {
            14 if is(b"content-length") => {
                let n = parse_decimal(value)?;
                if f.content_length.is_some_and(|m| m != n) {
                    return None;
                }
                f.content_length = Some(n);
            }
            17 if is(b"transfer-encoding") => {
                let last = value.rsplit(|&b| b == b',').next().unwrap_or(value);
                f.chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            }
            4 if is(b"host") => {
                f.host.get_or_insert(value);
            }
            11 if is(b"traceparent") => {
                f.traceparent.get_or_insert(value);
            }
            12 if is(b"x-request-id") => {
                f.request_id.get_or_insert(value);
            }
            7 if is(b"upgrade") => f.upgrade = true,
            _ => {}
        }
    }
    Some(f)
}

fn parse_request(block: &[u8], secrets: Secrets) -> Option<Message> {
    let mut lines = lines(block);
    let start = lines.next()?;
    let sp = start.iter().position(|&b| b == b' ')?;
    let method = &start[..sp];
    let rest = &start[sp + 1..];
    let last = rest.iter().rposition(|&b| b == b' ')?;
    let (target, version) = (&rest[..last], &rest[last + 1..]);
    let version_ok = matches!(
        version,
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', b'0'..=b'9']
    );
    if !is_method(method) || target.is_empty() || !version_ok {
        return None;
    }
    let f = fields(lines)?;
    let body = match (f.chunked, f.content_length) {
        (Some(true), _) => Body::Chunked,
        // A request whose last coding is not chunked has no length a
        // server could use (RFC 9112 §6.3): it cannot be framed.
        (Some(false), _) => return None,
        (None, Some(n)) if n > 0 => Body::Length(n),
        (None, _) if method == b"CONNECT" || f.upgrade => Body::Tunnel,
        (None, _) => Body::None,
    };
    let request = Request {
        operation: text(method, usize::MAX),
        target: match secrets {
            Secrets::Masked => text(&mask_target(target), MAX_TARGET),
            Secrets::Shown => text(target, MAX_TARGET),
        },
        host: f.host.map(|h| text(h, MAX_HOST)),
        trace_id: f.traceparent.and_then(trace_id),
        request_id: f
            .request_id
            .filter(|v| !v.is_empty())
            .map(|v| text(v, MAX_REQUEST_ID)),
        bytes: 0,
    };
    Some(Message {
        frame: Some(Frame::Request(request)),
        body,
    })
}

fn parse_response(block: &[u8], answers_head: bool) -> Option<Message> {
    let mut lines = lines(block);
    let code = match lines.next()?.strip_prefix(b"HTTP/1.")? {
        [
            b'0'..=b'9',
            b' ',
            h @ b'1'..=b'5',
            t @ b'0'..=b'9',
            u @ b'0'..=b'9',
            rest @ ..,
        ] if rest.first().is_none_or(|&b| b == b' ') => {
            u16::from(h - b'0') * 100 + u16::from(t - b'0') * 10 + u16::from(u - b'0')
        }
        _ => return None,
    };
    let f = fields(lines)?;
    let body = match code {
        101 => Body::Tunnel,
        100..=199 | 204 | 304 => Body::None,
        _ if answers_head => Body::None,
        _ => match (f.chunked, f.content_length) {
            (Some(true), _) => Body::Chunked,
            (Some(false), _) | (None, None) => Body::UntilClose,
            (None, Some(n)) => Body::Length(n),
        },
    };
    let frame = (code >= 200 || code == 101).then_some(Frame::Response(Response {
        status: Status::Http(code),
        bytes: 0,
    }));
    Some(Message { frame, body })
}

/// Digits only (no sign, no space): `u64::from_str` would take `+5`.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let digit = char::from(b).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// The size on a chunk-size line (hex, then optional `;extensions`).
fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let size = line.split(|&b| b == b';').next()?.trim_ascii();
    if size.is_empty() {
        return None;
    }
    size.iter().try_fold(0u64, |n, &b| {
        let digit = char::from(b).to_digit(16)?;
        n.checked_mul(16)?.checked_add(u64::from(digit))
    })
}

/// The trace id of a W3C `traceparent` value, version `00`:
/// `00-<32 hex>-<16 hex>-<2 hex>`, lower case, ids not all zero.
fn trace_id(value: &[u8]) -> Option<Text> {
    let mut parts = value.split(|&b| b == b'-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let lower_hex = |s: &[u8], len: usize| {
        s.len() == len && s.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let valid = parts.next().is_none()
        && version == b"00"
        && lower_hex(trace, 32)
        && lower_hex(parent, 16)
        && lower_hex(flags, 2)
        && trace.iter().any(|&b| b != b'0')
        && parent.iter().any(|&b| b != b'0');
    valid.then(|| trace.iter().copied().map(char::from).collect())
}

/// `target` with the values of secret-looking parameters replaced by
/// `****`: query parameters, path parameters (`;jsessionid=…`) and the
/// user information of an absolute URL (`http://user:pw@host/`).
fn mask_target(target: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    // A plain path (no query, no path parameters, not an absolute URL with
    // user information) has nothing to mask: most targets, kept as they are.
    if memchr::memchr3(b'?', b';', b'@', target).is_none() {
        return std::borrow::Cow::Borrowed(target);
    }
    let (path, query) = match target.iter().position(|&b| b == b'?') {
        Some(q) => (&target[..q], Some(&target[q + 1..])),
        None => (target, None),
    };
    // In `scheme://authority/path`, the authority is the third segment.
    let authority = is_absolute_form(path).then_some(2);
    let mut out = Vec::with_capacity(target.len());
    for (i, segment) in path.split(|&b| b == b'/').enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        if Some(i) == authority
            && let Some(at) = segment.iter().rposition(|&b| b == b'@')
        {
            out.extend_from_slice(MASK);
            out.extend_from_slice(&segment[at..]);
            continue;
        }
        for (j, piece) in segment.split(|&b| b == b';').enumerate() {
            if j > 0 {
                out.push(b';');
                push_param(&mut out, piece);
            } else {
                out.extend_from_slice(piece);
            }
        }
    }
    if let Some(query) = query {
        out.push(b'?');
        for (i, param) in query.split(|&b| b == b'&').enumerate() {
            if i > 0 {
                out.push(b'&');
            }
            push_param(&mut out, param);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether a target is in absolute form (`scheme://…`, sent to proxies).
fn is_absolute_form(path: &[u8]) -> bool {
    let Some(colon) = path.iter().position(|&b| b == b':') else {
        return false;
    };
    colon > 0
        && path[..colon]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && path[colon + 1..].starts_with(b"//")
}

/// Appends `name=value`, its value masked if the name looks secret.
fn push_param(out: &mut Vec<u8>, param: &[u8]) {
    match param.iter().position(|&b| b == b'=') {
        Some(eq) if looks_secret(&param[..eq]) => {
            out.extend_from_slice(&param[..=eq]);
            out.extend_from_slice(MASK);
        }
        _ => out.extend_from_slice(param),
    }
}

/// Whether a parameter name looks like it names a secret, compared after
/// percent-decoding and in lower case, so `API%5FKey` is caught too.
fn looks_secret(name: &[u8]) -> bool {
    let mut decoded = Vec::with_capacity(name.len());
    let mut i = 0;
    while i < name.len() {
        let hex = |at: usize| name.get(at).and_then(|&b| char::from(b).to_digit(16));
        match (name[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                // Two hex digits make at most 0xff.
                decoded.push(u8::try_from(hi * 16 + lo).unwrap_or(b'%'));
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    decoded.make_ascii_lowercase();
    SECRET_WORDS
        .iter()
        .any(|word| decoded.windows(word.len()).any(|w| w == *word))
}

fn is_method(method: &[u8]) -> bool {
    (1..=MAX_METHOD).contains(&method.len()) && method.iter().all(|&b| is_method_byte(b))
}

/// Bytes of method names in use, standard or extension (`PROPFIND`,
/// `M-SEARCH`).
fn is_method_byte(b: u8) -> bool {
    b.is_ascii_uppercase() || b == b'-' || b == b'_'
}

/// A request line with a known method, as [`looks_like`] describes.
fn is_request_line(bytes: &[u8]) -> bool {
    let Some(sp) = bytes.iter().take(MAX_METHOD + 1).position(|&b| b == b' ') else {
        return false;
    };
    if !METHODS.contains(&&bytes[..sp]) {
        return false;
    }
    let rest = &bytes[sp + 1..];
    let target = rest
        .iter()
        .position(|b| !b.is_ascii_graphic())
        .unwrap_or(rest.len());
    let after = &rest[target..];
    if after.is_empty() {
        return target >= LONG_TARGET;
    }
    target > 0
        && after.starts_with(b" HTTP/1.")
        && matches!(after[8..], [b'0' | b'1', b'\r' | b'\n', ..])
}

/// A status line, as [`looks_like`] describes.
fn is_status_line(bytes: &[u8]) -> bool {
    bytes.starts_with(b"HTTP/1.")
        && matches!(
            bytes[7..],
            [
                b'0' | b'1',
                b' ',
                b'1'..=b'5',
                b'0'..=b'9',
                b'0'..=b'9',
                b' ' | b'\r' | b'\n',
                ..
            ]
        )
}

/// Whether the start of a header block still being read can begin a
/// request line (a method token, then a space) or a status line; a stream
/// of garbage is given up on at once instead of after 16 KiB.
fn could_start(bytes: &[u8], requests: bool) -> bool {
    if requests {
        let head = &bytes[..bytes.len().min(MAX_METHOD + 1)];
        match head.iter().position(|&b| b == b' ') {
            Some(sp) => is_method(&head[..sp]),
            None => head.len() <= MAX_METHOD && head.iter().all(|&b| is_method_byte(b)),
        }
    } else {
        let n = bytes.len().min(b"HTTP/1.".len());
        bytes[..n] == b"HTTP/1."[..n]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escape::escape;

    /// Feeds one syscall whose payload is `payload`, all of it captured.
    fn feed_all(p: &mut Http1, payload: &[u8]) -> Vec<Frame> {
        p.feed(payload, payload.len() as u64)
    }

    /// Feeds one syscall whose payload is `payload`, of which the probe
    /// captured the first `limit` bytes.
    fn feed_capped(p: &mut Http1, payload: &[u8], limit: usize) -> Vec<Frame> {
        p.feed(&payload[..payload.len().min(limit)], payload.len() as u64)
    }

    fn request(frame: &Frame) -> &Request {
        match frame {
            Frame::Request(r) => r,
            Frame::Response(r) => panic!("expected a request, got {r:?}"),
        }
    }

    fn response(frame: &Frame) -> &Response {
        match frame {
            Frame::Response(r) => r,
            Frame::Request(r) => panic!("expected a response, got {r:?}"),
        }
    }

    fn parse_one(head: &str) -> Request {
        let mut p = Http1::new(true);
        let frames = feed_all(&mut p, head.as_bytes());
        assert_eq!(frames.len(), 1, "{head:?} gave {frames:?}");
        request(&frames[0]).clone()
    }

    #[test]
    fn keep_alive_get_then_post_with_uncaptured_body() {
        let mut p = Http1::new(true);
        let get = b"GET /cart HTTP/1.1\r\nHost: shop\r\n\r\n";
        let frames = feed_all(&mut p, get);
        assert_eq!(frames.len(), 1);
        let r = request(&frames[0]);
        assert_eq!(
            (r.operation.as_str(), r.target.as_str(), r.host.as_deref()),
            ("GET", "/cart", Some("shop"))
        );
        assert_eq!(r.bytes, get.len() as u64);

        let head = "POST /pay HTTP/1.1\r\nHost: pay\r\nContent-Length: 2000\r\n\r\n";
        let mut post = head.as_bytes().to_vec();
        post.extend(std::iter::repeat_n(b'x', 2000));
        let frames = feed_capped(&mut p, &post, 512);
        assert_eq!(frames.len(), 1);
        let r = request(&frames[0]);
        assert_eq!((r.operation.as_str(), r.target.as_str()), ("POST", "/pay"));
        assert_eq!(r.bytes, head.len() as u64 + 2000);
        assert!(!p.lost());

        let frames = feed_all(&mut p, get);
        assert_eq!(frames.len(), 1, "the body was not skipped: {p:?}");
        assert_eq!(request(&frames[0]).target, "/cart");
    }

    #[test]
    fn body_split_over_uncaptured_syscalls() {
        let mut p = Http1::new(true);
        let head = b"PUT /blob HTTP/1.1\r\nContent-Length: 5000\r\n\r\n";
        assert_eq!(p.feed(head, head.len() as u64 + 1000).len(), 1);
        assert_eq!(p.feed(&[b'x'; 512], 3000).len(), 0);
        let next = b"xxxxGET / HTTP/1.1\r\n\r\n";
        // 1000 + 3000 + 996 body bytes so far: 4 are left for the next
        // syscall.
        assert_eq!(p.feed(&[b'y'; 512], 996).len(), 0);
        let frames = feed_all(&mut p, next);
        assert_eq!(frames.len(), 1, "{p:?}");
        assert_eq!(request(&frames[0]).operation, "GET");
    }

    #[test]
    fn pipelined_requests_in_one_feed() {
        let mut p = Http1::new(true);
        let payload = b"GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcDELETE /c HTTP/1.1\r\n\r\n";
        let frames = feed_all(&mut p, payload);
        let got: Vec<(&str, &str)> = frames
            .iter()
            .map(request)
            .map(|r| (r.operation.as_str(), r.target.as_str()))
            .collect();
        assert_eq!(got, [("GET", "/a"), ("POST", "/b"), ("DELETE", "/c")]);
        assert_eq!(request(&frames[1]).bytes, 39 + 3);
        assert!(!p.lost());
    }

    #[test]
    fn request_split_mid_header() {
        let mut p = Http1::new(true);
        assert!(feed_all(&mut p, b"GET /split HTTP/1.1\r\nHo").is_empty());
        assert!(feed_all(&mut p, b"st: example.org\r\n\r").is_empty());
        let frames = feed_all(&mut p, b"\nGET /next HTTP/1.1\r\n\r\n");
        assert_eq!(frames.len(), 2, "{frames:?}");
        let r = request(&frames[0]);
        assert_eq!(
            (r.target.as_str(), r.host.as_deref()),
            ("/split", Some("example.org"))
        );
        assert_eq!(r.bytes, 42);
        assert_eq!(request(&frames[1]).target, "/next");
    }

    #[test]
    fn chunked_response_split_across_feeds() {
        let mut p = Http1::new(false);
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
        let first = format!("{head}5\r\nhe");
        let frames = feed_all(&mut p, first.as_bytes());
        assert_eq!(frames.len(), 1);
        let r = response(&frames[0]);
        assert_eq!(r.status, Status::Http(200));
        assert_eq!(
            r.bytes,
            first.len() as u64,
            "header and the body seen so far"
        );
        assert!(feed_all(&mut p, b"llo\r\n1").is_empty());
        let frames = feed_all(
            &mut p,
            b"0\r\n0123456789abcdef\r\n0\r\nX-Checksum: 1\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        );
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(response(&frames[0]).status, Status::Http(204));
        assert!(!p.lost());
    }

    #[test]
    fn chunk_data_skipped_through_uncaptured_bytes() {
        let mut p = Http1::new(false);
        let mut payload = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n".to_vec();
        payload.extend([b'z'; 0x400]);
        payload.extend(b"\r\n");
        assert_eq!(feed_capped(&mut p, &payload, 512).len(), 1);
        assert!(feed_all(&mut p, b"0\r\n\r\n").is_empty());
        let frames = feed_all(&mut p, b"HTTP/1.1 304 Not Modified\r\n\r\n");
        assert_eq!(response(&frames[0]).status, Status::Http(304));
        assert!(!p.lost());

        // This time the next chunk's size line is past the capture.
        let mut payload = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1f4\r\n".to_vec();
        payload.extend([b'z'; 500]);
        payload.extend(b"\r\n10\r\n");
        feed_capped(&mut p, &payload, 512);
        assert!(p.lost());
    }

    #[test]
    fn header_cut_by_capture_is_lost_then_resyncs() {
        let mut p = Http1::new(false);
        let mut payload = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Filler: ".to_vec();
        payload.extend([b'f'; 600]);
        payload.extend(b"\r\n\r\n0123456789");
        assert!(feed_capped(&mut p, &payload, 512).is_empty());
        assert!(p.lost());
        assert!(feed_all(&mut p, b"more of a body we cannot frame").is_empty());
        assert!(p.lost());
        let frames = feed_all(
            &mut p,
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(frames.len(), 1);
        assert_eq!(response(&frames[0]).status, Status::Http(404));
        assert!(!p.lost());
    }

    #[test]
    fn response_bodies_per_status_and_head_hint() {
        let mut p = Http1::new(false);
        let frames = feed_all(
            &mut p,
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\n",
        );
        let codes: Vec<&Status> = frames.iter().map(|f| &response(f).status).collect();
        assert_eq!(codes, [&Status::Http(201), &Status::Http(204)]);

        p.next_is_head_response();
        let frames = feed_all(
            &mut p,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n",
        );
        let codes: Vec<&Status> = frames.iter().map(|f| &response(f).status).collect();
        assert_eq!(codes, [&Status::Http(200), &Status::Http(503)]);
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
        assert_eq!(response(&frames[0]).bytes, head.len() as u64);
    }

    #[test]
    fn close_delimited_response_counts_what_it_saw() {
        let mut p = Http1::new(false);
        let head = b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nhello";
        let frames = p.feed(head, head.len() as u64 + 100);
        assert_eq!(response(&frames[0]).bytes, head.len() as u64 + 100);
        assert!(feed_all(&mut p, b"rest of the body, HTTP/1.1 200 inside").is_empty());
        assert!(!p.lost());
    }

    #[test]
    fn upgrade_hands_the_connection_over() {
        let mut p = Http1::new(false);
        let frames = feed_all(
            &mut p,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
        );
        assert_eq!(response(&frames[0]).status, Status::Http(101));
        assert!(feed_all(&mut p, b"\x82\x7e\x01\x00binary").is_empty());
        assert!(!p.lost());
    }

    #[test]
    fn query_masking() {
        let cases = [
            ("/s?token=abc&x=1", "/s?token=****&x=1"),
            ("/s?page=2", "/s?page=2"),
            ("/pay?user=1&api_key=s3cr3t", "/pay?user=1&api_key=****"),
            ("/a?Password=p&PASSWD=q&x", "/a?Password=****&PASSWD=****&x"),
            (
                "/a?API%5FKEY=v&sessionId=1",
                "/a?API%5FKEY=****&sessionId=****",
            ),
            (
                "/a?X-Amz-Signature=ab&sig=cd",
                "/a?X-Amz-Signature=****&sig=****",
            ),
            ("/a;jsessionid=XYZ/b?q=1", "/a;jsessionid=****/b?q=1"),
            (
                "http://u:pw@proxy.example/x?q",
                "http://****@proxy.example/x?q",
            ),
            ("/a?auth", "/a?auth"),
            ("/a?auth_token=", "/a?auth_token=****"),
        ];
        for (target, want) in cases {
            let r = parse_one(&format!("GET {target} HTTP/1.1\r\n\r\n"));
            assert_eq!(r.target, want, "target {target:?}");
        }
    }

    #[test]
    fn target_is_escaped_and_capped() {
        let r = parse_one("GET /a\x1b[2J?q=\u{202e} HTTP/1.1\r\n\r\n");
        assert_eq!(r.target, "/a\\33[2J?q=\\u{202e}");
        let long = format!("/{}", "a".repeat(1000));
        let r = parse_one(&format!("GET {long} HTTP/1.1\r\n\r\n"));
        assert_eq!(r.target.chars().count(), MAX_TARGET);
    }

    #[test]
    fn traceparent_parsing() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let cases = [
            (format!("00-{id}-00f067aa0ba902b7-01"), Some(id)),
            (format!("  00-{id}-00f067aa0ba902b7-00 "), Some(id)),
            (
                format!("00-{}-00f067aa0ba902b7-01", id.to_uppercase()),
                None,
            ),
            (format!("01-{id}-00f067aa0ba902b7-01"), None),
            (format!("00-{id}-00f067aa0ba902b7-01-extra"), None),
            (format!("00-{}-00f067aa0ba902b7-01", "0".repeat(32)), None),
            (format!("00-{id}-0000000000000000-01"), None),
            (format!("00-{}-00f067aa0ba902b7-01", &id[..31]), None),
            (
                "00-zzf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
                None,
            ),
            (String::new(), None),
        ];
        for (value, want) in cases {
            let r = parse_one(&format!("GET / HTTP/1.1\r\ntraceparent: {value}\r\n\r\n"));
            assert_eq!(r.trace_id.as_deref(), want, "traceparent {value:?}");
        }
    }

    #[test]
    fn request_id_is_escaped_and_capped() {
        let r = parse_one("GET / HTTP/1.1\r\nX-Request-ID: id-1\rInjected: x\r\n\r\n");
        assert_eq!(r.request_id.as_deref(), Some("id-1\\rInjected: x"));
        let r = parse_one("GET / HTTP/1.1\r\nx-request-id: a\x1b]0;pwned\x07\r\nX-Evil: 1\r\n\r\n");
        assert_eq!(r.request_id.as_deref(), Some("a\\33]0;pwned\\7"));
        let r = parse_one(&format!(
            "GET / HTTP/1.1\r\nX-Request-Id: {}\r\n\r\n",
            "r".repeat(500)
        ));
        assert_eq!(r.request_id.map(|s| s.len()), Some(MAX_REQUEST_ID));
        let r = parse_one("GET / HTTP/1.1\r\nX-Request-ID:\r\n\r\n");
        assert_eq!(r.request_id, None);
    }

    #[test]
    fn secrets_are_never_kept() {
        let mut p = Http1::new(true);
        feed_all(
            &mut p,
            b"GET /?password=SECRET1 HTTP/1.1\r\nAuthorization: Bearer SECRET2\r\nCo",
        );
        assert!(!format!("{p:?}").contains("SECRET"), "{p:?}");
        let frames = feed_all(&mut p, b"okie: id=SECRET3\r\n\r\n");
        assert_eq!(frames.len(), 1);
        assert!(!format!("{frames:?}{p:?}").contains("SECRET"), "{frames:?}");
    }

    #[test]
    fn looks_like_cases() {
        let long = format!("GET /{} HTTP/1.1\r\n", "p".repeat(600));
        let cases: [(&[u8], bool); 16] = [
            (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true),
            (b"PATCH /v1/items/7 HTTP/1.0\r\n", true),
            (b"OPTIONS * HTTP/1.1\r\n", true),
            (&long.as_bytes()[..512], true),
            (b"HTTP/1.1 200 OK\r\n", true),
            (b"HTTP/1.0 404\r\n", true),
            (b"GE", false),
            (b"GET ", false),
            (b"GET / HTTP/1.1", false),
            (b"HTTP/1.1 20", false),
            (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", false),
            (b"GET / HTTP/2.0\r\n", false),
            (b"HTTP/2 200\r\n", false),
            (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", false),
            (b"get / HTTP/1.1\r\n", false),
            (b"*3\r\n$3\r\nSET\r\n", false),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                looks_like(bytes, Direction::Out),
                want,
                "{:?}",
                escape(bytes)
            );
            assert_eq!(looks_like(bytes, Direction::In), want);
        }
    }

    #[test]
    fn hostile_framing_is_lost_not_a_panic() {
        let requests: [&[u8]; 7] = [
            b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"\x00\x01\x02garbage\xff\xfe",
        ];
        for bytes in requests {
            let mut p = Http1::new(true);
            feed_all(&mut p, bytes);
            assert!(p.lost(), "{:?} should be lost", escape(bytes));
        }

        // The largest length there is: the frame is kept, the body skipped.
        let mut p = Http1::new(true);
        let frames = feed_all(
            &mut p,
            b"POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n",
        );
        assert_eq!(request(&frames[0]).bytes, u64::MAX);
        assert!(p.feed(b"x", u64::MAX).is_empty());
        assert!(!p.lost());

        let mut huge = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', 1 << 20));
        let mut p = Http1::new(true);
        assert!(feed_all(&mut p, &huge).is_empty());
        assert!(p.lost());
        let mut p = Http1::new(true);
        for piece in huge.chunks(1000) {
            assert!(feed_all(&mut p, piece).is_empty());
        }
        assert!(p.lost());

        // A caller claiming fewer bytes than it captured.
        let mut p = Http1::new(true);
        assert_eq!(p.feed(b"GET / HTTP/1.1\r\n\r\n", 3).len(), 1);
    }

    #[test]
    fn random_bytes_never_panic() {
        const PIECES: [&[u8]; 14] = [
            b"GET /a?token=x HTTP/1.1\r\n",
            b"HTTP/1.1 200 OK\r\n",
            b"HTTP/1.1 101 Switching\r\n",
            b"Content-Length: ",
            b"Transfer-Encoding: chunked\r\n",
            b"traceparent: 00-",
            b"X-Request-ID: ",
            b"\r\n",
            b"\r\n\r\n",
            b"0\r\n",
            b"ffffffffffffffffffff",
            b"12",
            b";ext=1",
            b"\xff\x00\x1b",
        ];
        let mut rng = super::super::fuzz::Rng(0x9e37_79b9_7f4a_7c15);
        let mut parsers = [Http1::new(true), Http1::new(false)];
        let mut frames = 0;
        for round in 0..10_000 {
            if round % 100 == 0 {
                parsers = [Http1::new(true), Http1::new(false)];
            }
            let mut payload = Vec::new();
            for _ in 0..rng.next() % 12 {
                if rng.next().is_multiple_of(3) {
                    payload.extend((0..rng.next() % 40).map(|_| rng.next() as u8));
                } else {
                    payload.extend_from_slice(PIECES[(rng.next() % PIECES.len() as u64) as usize]);
                }
            }
            let len = match rng.next() % 4 {
                0 => payload.len() as u64 + rng.next() % 5000,
                1 => rng.next(),
                _ => payload.len() as u64,
            };
            let p = &mut parsers[(rng.next() % 2) as usize];
            for frame in p.feed(&payload, len) {
                frames += 1;
                let text = match &frame {
                    Frame::Request(r) => format!(
                        "{}{}{:?}{:?}{:?}",
                        r.operation, r.target, r.host, r.trace_id, r.request_id
                    ),
                    Frame::Response(r) => format!("{:?}", r.status),
                };
                assert!(!text.chars().any(char::is_control), "{text:?}");
            }
        }
        // Otherwise the rounds never got past the first bytes.
        assert!(frames > 100, "only {frames} frames parsed");
    }
}
