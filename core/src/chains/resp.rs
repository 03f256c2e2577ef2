//! Redis RESP (versions 2 and 3): commands and their replies, from the
//! payload prefixes the probe captures.
//!
//! Clients pipeline, so one write can carry many commands and one read many
//! replies: where a reply ends is only known by walking every element of
//! it, nested RESP3 maps, sets and attributes included. Bulk strings
//! declare their length, which lets a 100 kB value the probe never captured
//! go by counted rather than seen; only a type line (`$5`, `*3`, `+OK`)
//! that falls past the captured prefix loses the stream. The frame under
//! way is then still reported with what was seen of it (the rest of that
//! syscall most likely finished it, and dropping it would leave its
//! partner unpaired), and the parser waits for a syscall that starts like a
//! command (`*N\r\n$M\r\n`) or a reply. A resync inside a long reply that
//! the server wrote in several pieces can take one of its elements for a
//! reply: replies are then counted one too many. RESP3 pushes answer no
//! command and are not reported; RESP2 pub/sub messages cannot be told
//! from replies.
//!
//! Only a command's name and its first argument (the key) are ever copied
//! out of the payload. `AUTH`'s first argument is not, and `AUTH`, `HELLO
//! … AUTH` and `MIGRATE … AUTH`/`AUTH2` show `****` as their target.

use std::fmt;

use super::{Direction, Frame, Parser, Request, Response, Secrets, Status, Text, text};
use crate::escape::escape_capped;

/// Longest operation shown, in characters.
const OPERATION_CHARS: usize = 32;
/// Longest target (key) shown, in characters after escaping.
const TARGET_CHARS: usize = 128;
/// Longest error message shown, in characters after escaping.
const ERROR_CHARS: usize = 256;
/// What stands for an argument that is never kept.
const MASKED: &str = "****";
/// Bytes of a command name kept: longer is no Redis command.
const NAME_KEEP: usize = 64;
/// Bytes of a key kept: enough for [`TARGET_CHARS`] of 4-byte UTF-8.
const KEY_KEEP: usize = TARGET_CHARS * 4;
/// Bytes of an error kept: enough for [`ERROR_CHARS`] of 4-byte UTF-8.
const ERROR_KEEP: usize = ERROR_CHARS * 4;
/// Bytes of a line kept; the rest is counted, not stored.
const LINE_KEEP: usize = ERROR_KEEP;
/// Longest line believed, in bytes: Redis' own limit for inline commands.
const LINE_MAX: u64 = 64 * 1024;
/// Deepest nesting of aggregates followed.
const DEPTH_MAX: usize = 64;
/// Largest bulk length or element count believed (4 Gi; Redis refuses
/// bulks over 512 MB unless told otherwise).
const COUNT_MAX: i64 = 1 << 32;
/// The first byte of every RESP 2 and 3 value.
const KINDS: &[u8] = b"+-:$*_#,(!=%~>|";
/// Commands that detection accepts in the inline form: what people and
/// health checks type. `GET` and `SET` are left out since `GET / HTTP/1.1`
/// would match.
const INLINE_WORDS: &[&[u8]] = &[
    b"PING", b"INFO", b"QUIT", b"AUTH", b"HELLO", b"ECHO", b"SELECT", b"DBSIZE", b"MONITOR",
    b"CLIENT", b"CONFIG", b"COMMAND",
];
/// Error codes Redis starts its error replies with, for detection.
const ERROR_CODES: &[&[u8]] = &[
    b"ERR",
    b"WRONGTYPE",
    b"NOAUTH",
    b"WRONGPASS",
    b"NOPERM",
    b"MOVED",
    b"ASK",
    b"LOADING",
    b"BUSY",
    b"READONLY",
    b"OOM",
    b"EXECABORT",
    b"NOSCRIPT",
    b"MASTERDOWN",
    b"MISCONF",
    b"NOPROTO",
    b"CROSSSLOT",
    b"TRYAGAIN",
    b"CLUSTERDOWN",
];

/// Whether `first`, the first bytes seen one way on a connection, are Redis.
///
/// `direction` is seen from the connection's client: [`Direction::Out`] for
/// what the client wrote, [`Direction::In`] for what it read (a server-side
/// caller flips it). Commands are recognised by the array-of-bulk-strings
/// framing every client library uses (`*N\r\n$M\r\n`, N ≥ 1), or inline
/// when the first word is one of a few commands typed by hand or by health
/// checks (`PING`, `INFO`, `AUTH`…). A reply alone says little (`+OK` could
/// be many line protocols), so only its most telling shapes count: `+OK`,
/// `+PONG`, an error with a Redis error code (`-ERR `, `-WRONGTYPE `…), an
/// integer, a bulk string whose length fits, or an array or map whose first
/// element starts like a RESP value.
pub fn looks_like(first: &[u8], direction: Direction) -> bool {
    match direction {
        Direction::Out => command_start(first) || inline_start(first),
        Direction::In => reply_start(first),
    }
}

/// `*N\r\n$M\r\n` with N ≥ 1: how client libraries frame a command.
fn command_start(b: &[u8]) -> bool {
    number_line(b, b'*')
        .is_some_and(|(n, rest)| n >= 1 && number_line(rest, b'$').is_some_and(|(len, _)| len >= 0))
}

/// A line of printable ASCII that starts with a command from
/// [`INLINE_WORDS`].
fn inline_start(b: &[u8]) -> bool {
    let Some(end) = b.iter().take(LINE_KEEP).position(|&c| c == b'\n') else {
        return false;
    };
    let line = b[..end].strip_suffix(b"\r").unwrap_or(&b[..end]);
    let word = line.split(|&c| c == b' ').next().unwrap_or_default();
    line.iter().all(|c| (b' '..=b'~').contains(c))
        && INLINE_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word))
}

fn reply_start(b: &[u8]) -> bool {
    match b.first() {
        Some(b'+') => b.starts_with(b"+OK\r\n") || b.starts_with(b"+PONG\r\n"),
        Some(b'-') => ERROR_CODES
            .iter()
            .any(|code| b[1..].starts_with(code) && b.get(1 + code.len()) == Some(&b' ')),
        Some(b':') => number_line(b, b':').is_some(),
        Some(b'$') => number_line(b, b'$').is_some_and(|(n, rest)| {
            n == -1
                || usize::try_from(n).is_ok_and(|n| {
                    rest.get(n..n.saturating_add(2))
                        .is_none_or(|crlf| crlf == b"\r\n")
                })
        }),
        Some(kind @ (b'*' | b'%')) => number_line(b, *kind).is_some_and(|(n, rest)| match n {
            -1 => *kind == b'*' && rest.is_empty(),
            0 => rest.is_empty(),
            _ => rest.first().is_some_and(|c| KINDS.contains(c)),
        }),
        _ => false,
    }
}

/// `<kind><integer>\r\n` at the start of `b`: the integer, and what follows.
fn number_line(b: &[u8], kind: u8) -> Option<(i64, &[u8])> {
    let rest = b.strip_prefix(&[kind])?;
    let end = rest.iter().take(21).position(|&c| c == b'\r')?;
    let after = rest[end..].strip_prefix(b"\r\n")?;
    Some((parse_int(&rest[..end])?, after))
}

/// A RESP integer: an optional sign and up to 18 digits (all that `i64`
/// surely holds; nothing in RESP framing needs more).
fn parse_int(b: &[u8]) -> Option<i64> {
    let (negative, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits
        .iter()
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Some(if negative { -value } else { value })
}

/// A length or count from the wire, when RESP allows it and it is believable.
fn count(n: i64) -> Result<u64, Stop> {
    if (0..=COUNT_MAX).contains(&n) {
        u64::try_from(n).map_err(|_| Stop::Garbage)
    } else {
        Err(Stop::Garbage)
    }
}

/// Why reading stopped before the end of a syscall.
enum Stop {
    /// A type line fell past the captured prefix.
    Uncaptured,
    /// The bytes are not RESP.
    Garbage,
}

/// One syscall's payload: the captured prefix, then `gap` bytes known only
/// by count.
struct Feed<'a> {
    captured: &'a [u8],
    gap: u64,
}

impl<'a> Feed<'a> {
    fn new(captured: &'a [u8], len: u64) -> Feed<'a> {
        let gap = len.saturating_sub(captured.len() as u64);
        Feed { captured, gap }
    }

    fn advance(&mut self, n: usize) {
        self.captured = self.captured.get(n..).unwrap_or_default();
    }
}

/// A line being read, possibly across syscalls (all of them captured
/// whole, or the line would be lost).
#[derive(Default)]
struct Line {
    /// Its first [`LINE_KEEP`] bytes.
    kept: Vec<u8>,
    /// Its length so far, `\n` excluded.
    len: u64,
    last: Option<u8>,
}

impl Line {
    fn push(&mut self, chunk: &[u8]) {
        let room = LINE_KEEP.saturating_sub(self.kept.len()).min(chunk.len());
        self.kept.extend_from_slice(&chunk[..room]);
        self.len = self.len.saturating_add(chunk.len() as u64);
        if let Some(&b) = chunk.last() {
            self.last = Some(b);
        }
    }

    fn ends_with_cr(&self) -> bool {
        self.last == Some(b'\r')
    }

    /// The line without its `\r`.
    fn text(&self) -> &[u8] {
        match self.kept.split_last() {
            Some((b'\r', text)) if self.kept.len() as u64 == self.len => text,
            _ => &self.kept,
        }
    }
}

// An inline `AUTH` line can sit here between two syscalls: show its size only.
impl fmt::Debug for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Line").field("len", &self.len).finish()
    }
}

/// What a bulk string is to the frame being read, which says how much of it
/// to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Skip,
    Name,
    Key,
    /// An argument of `HELLO` or `MIGRATE` that may be the word `AUTH`.
    AuthWord,
    /// A RESP3 blob error that is the reply itself.
    Error,
}

impl Role {
    fn keep(self) -> usize {
        match self {
            Role::Skip => 0,
            Role::Name => NAME_KEEP,
            Role::Key => KEY_KEEP,
            Role::AuthWord => "AUTH2".len(),
            Role::Error => ERROR_KEEP,
        }
    }
}

/// A bulk string being read: its payload, then `\r\n`.
struct Bulk {
    payload: u64,
    crlf: u8,
    role: Role,
    kept: Vec<u8>,
    /// Whether every byte so far was captured, so that `kept` is its start.
    whole: bool,
}

impl Bulk {
    fn new(payload: u64, role: Role) -> Bulk {
        Bulk {
            payload,
            crlf: 2,
            role,
            kept: Vec::new(),
            whole: true,
        }
    }

    /// Reads what it can of `feed`, adding to `bytes`; true once through.
    fn read(&mut self, feed: &mut Feed<'_>, bytes: &mut u64) -> Result<bool, Stop> {
        let take = usize::try_from(self.payload)
            .unwrap_or(usize::MAX)
            .min(feed.captured.len());
        if self.whole {
            let room = self.role.keep().saturating_sub(self.kept.len()).min(take);
            self.kept.extend_from_slice(&feed.captured[..room]);
        }
        feed.advance(take);
        self.payload -= take as u64;
        *bytes = bytes.saturating_add(take as u64);
        while self.payload == 0 && self.crlf > 0 {
            let Some(&b) = feed.captured.first() else {
                break;
            };
            if b != if self.crlf == 2 { b'\r' } else { b'\n' } {
                return Err(Stop::Garbage);
            }
            feed.advance(1);
            self.crlf -= 1;
            *bytes = bytes.saturating_add(1);
        }
        if feed.captured.is_empty() && feed.gap > 0 {
            let payload = self.payload.min(feed.gap);
            let crlf = u64::from(self.crlf).min(feed.gap - payload);
            self.whole &= payload == 0;
            self.payload -= payload;
            self.crlf -= crlf as u8;
            feed.gap -= payload + crlf;
            *bytes = bytes.saturating_add(payload + crlf);
        }
        Ok(self.payload == 0 && self.crlf == 0)
    }
}

// A short `HELLO` or `MIGRATE` argument can sit here between two
// syscalls, and it can be a password: show sizes only.
impl fmt::Debug for Bulk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bulk")
            .field("payload", &self.payload)
            .field("role", &self.role)
            .field("kept", &self.kept.len())
            .finish()
    }
}

/// A command being read.
#[derive(Debug, Default)]
struct Command {
    /// Elements still to come.
    left: u64,
    /// Elements read.
    index: u64,
    /// Its name, when captured.
    name: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
    /// Whether it carries credentials after its key (`HELLO … AUTH`).
    secret: bool,
    /// `--show-secrets`: nothing masked.
    shown: bool,
}

impl Command {
    fn is(&self, name: &str) -> bool {
        self.name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
    }

    fn may_carry_auth(&self) -> bool {
        self.is("HELLO") || self.is("MIGRATE")
    }

    /// What the next element, `len` bytes long, is to this command. The
    /// key is kept only once the name is known not to be `AUTH`; other
    /// arguments never are, apart from the few bytes needed to spot an
    /// `AUTH` word.
    fn role(&self, len: u64) -> Role {
        match self.index {
            0 => Role::Name,
            1 if self.name.is_some() && (self.shown || !self.is("AUTH")) => Role::Key,
            2.. if self.may_carry_auth() && (len == 4 || len == 5) => Role::AuthWord,
            _ => Role::Skip,
        }
    }

    fn into_request(self, bytes: u64) -> Request {
        let target = if !self.shown && (self.secret || self.is("AUTH")) {
            Text::const_new(MASKED)
        } else {
            self.key
                .map(|key| text(&key, TARGET_CHARS))
                .unwrap_or_default()
        };
        let operation = match &self.name {
            Some(name) => text(&name.to_ascii_uppercase(), OPERATION_CHARS),
            None => Text::const_new("?"),
        };
        Request {
            operation,
            target,
            bytes,
            ..Request::default()
        }
    }
}

fn is_auth_word(word: &[u8]) -> bool {
    word.eq_ignore_ascii_case(b"AUTH") || word.eq_ignore_ascii_case(b"AUTH2")
}

/// A reply being read.
#[derive(Debug, Default)]
struct Reply {
    /// Set by the header of the reply itself (not of an attribute before it).
    status: Option<Status>,
    /// A RESP3 push: out of band, answers no command.
    push: bool,
}

/// An aggregate open in the reply being read.
#[derive(Debug)]
struct Aggregate {
    /// Elements still to come (keys and values both, for maps).
    left: u64,
    /// A RESP3 attribute: metadata before a value, not a value itself.
    attribute: bool,
}

/// One direction of a Redis connection: the client's commands or the
/// server's replies, as [`Frame`]s.
#[derive(Debug)]
pub struct Resp {
    requests: bool,
    lost: bool,
    line: Line,
    bulk: Option<Bulk>,
    /// Aggregates open in the reply being read, innermost last.
    open: Vec<Aggregate>,
    command: Option<Command>,
    reply: Option<Reply>,
    /// Bytes of the frame being read so far.
    bytes: u64,
    secrets: Secrets,
}

impl Resp {
    /// A parser for the client's commands when `carries_requests`, for the
    /// server's replies otherwise.
    pub fn new(carries_requests: bool) -> Resp {
        Resp {
            requests: carries_requests,
            lost: false,
            line: Line::default(),
            bulk: None,
            open: Vec::new(),
            command: None,
            reply: None,
            bytes: 0,
            secrets: Secrets::Masked,
        }
    }

    /// The same parser, masking secrets or not.
    pub fn with_secrets(mut self, secrets: Secrets) -> Resp {
        self.secrets = secrets;
        self
    }

    fn run(&mut self, feed: &mut Feed<'_>, frames: &mut Vec<Frame>) -> Result<(), Stop> {
        loop {
            if let Some(mut bulk) = self.bulk.take() {
                if !bulk.read(feed, &mut self.bytes)? {
                    self.bulk = Some(bulk);
                    return Ok(());
                }
                self.bulk_done(bulk, frames);
                continue;
            }
            if feed.captured.is_empty() {
                return if feed.gap > 0 {
                    Err(Stop::Uncaptured)
                } else {
                    Ok(())
                };
            }
            let end = feed.captured.iter().position(|&b| b == b'\n');
            let text = end.unwrap_or(feed.captured.len());
            self.line.push(&feed.captured[..text]);
            let used = end.map_or(text, |end| end + 1);
            feed.advance(used);
            self.bytes = self.bytes.saturating_add(used as u64);
            if self.line.len > LINE_MAX {
                return Err(Stop::Garbage);
            }
            if end.is_some() {
                let line = std::mem::take(&mut self.line);
                if self.requests {
                    self.command_line(&line, frames)?;
                } else if line.ends_with_cr() {
                    self.reply_line(line.text(), frames)?;
                } else {
                    return Err(Stop::Garbage);
                }
            }
        }
    }

    fn command_line(&mut self, line: &Line, frames: &mut Vec<Frame>) -> Result<(), Stop> {
        let text = line.text();
        let Some(command) = &self.command else {
            if let Some(count_text) = text.strip_prefix(b"*") {
                let n = parse_int(count_text).ok_or(Stop::Garbage)?;
                if !line.ends_with_cr() {
                    return Err(Stop::Garbage);
                }
                if n <= 0 {
                    // Redis answers an empty array with nothing at all.
                    self.bytes = 0;
                } else {
                    self.command = Some(Command {
                        left: count(n)?,
                        shown: self.secrets == Secrets::Shown,
                        ..Command::default()
                    });
                }
                return Ok(());
            }
            return self.inline(text, frames);
        };
        let len = text
            .strip_prefix(b"$")
            .and_then(parse_int)
            .ok_or(Stop::Garbage)?;
        if !line.ends_with_cr() {
            return Err(Stop::Garbage);
        }
        let len = count(len)?;
        self.bulk = Some(Bulk::new(len, command.role(len)));
        Ok(())
    }

    /// A command in the inline form (`PING`, `GET key`): words split on
    /// blanks, as people and health checks send them. Redis would take any
    /// line; a name that is not a word (letters first, then letters, digits
    /// and `._-:|`, as in module commands like `JSON.GET`) means the stream
    /// is not Redis after all.
    fn inline(&mut self, text: &[u8], frames: &mut Vec<Frame>) -> Result<(), Stop> {
        let mut words = text
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|w| !w.is_empty());
        let Some(name) = words.next() else {
            // Redis skips empty lines without a reply.
            self.bytes = 0;
            return Ok(());
        };
        let word = name.first().is_some_and(u8::is_ascii_alphabetic)
            && name
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || b"._-:|".contains(c));
        if !word {
            return Err(Stop::Garbage);
        }
        let mut command = Command {
            name: Some(name.to_vec()),
            shown: self.secrets == Secrets::Shown,
            ..Command::default()
        };
        if command.shown || !command.is("AUTH") {
            command.key = words.next().map(<[u8]>::to_vec);
        }
        command.secret = command.may_carry_auth() && words.any(is_auth_word);
        frames.push(Frame::Request(command.into_request(self.bytes)));
        self.bytes = 0;
        Ok(())
    }

    fn reply_line(&mut self, text: &[u8], frames: &mut Vec<Frame>) -> Result<(), Stop> {
        let (&kind, rest) = text.split_first().ok_or(Stop::Garbage)?;
        // Attributes before the reply are open aggregates: a value read with
        // none open is the reply itself.
        let top = self.open.is_empty();
        let reply = self.reply.get_or_insert_with(Reply::default);
        match kind {
            b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => {
                let valid = match kind {
                    b':' | b'(' => big_int(rest),
                    b'_' => rest.is_empty(),
                    b'#' => rest == b"t" || rest == b"f",
                    b',' => !rest.is_empty(),
                    _ => true,
                };
                if !valid {
                    return Err(Stop::Garbage);
                }
                if top {
                    reply.status = Some(match kind {
                        b'-' => Status::RedisError(escape_capped(rest, ERROR_CHARS)),
                        b'_' => Status::RedisNil,
                        _ => Status::RedisOk,
                    });
                }
                self.value_done(frames);
            }
            b'$' | b'=' | b'!' => {
                let n = parse_int(rest).ok_or(Stop::Garbage)?;
                if n == -1 {
                    if top {
                        reply.status = Some(Status::RedisNil);
                    }
                    self.value_done(frames);
                    return Ok(());
                }
                let len = count(n)?;
                let error = kind == b'!';
                if top {
                    reply.status = Some(if error {
                        Status::RedisError(String::new())
                    } else {
                        Status::RedisOk
                    });
                }
                let role = if top && error {
                    Role::Error
                } else {
                    Role::Skip
                };
                self.bulk = Some(Bulk::new(len, role));
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let n = parse_int(rest).ok_or(Stop::Garbage)?;
                if n == -1 && kind == b'*' {
                    if top {
                        reply.status = Some(Status::RedisNil);
                    }
                    self.value_done(frames);
                    return Ok(());
                }
                let n = count(n)?;
                let left = if matches!(kind, b'%' | b'|') {
                    n * 2
                } else {
                    n
                };
                let attribute = kind == b'|';
                if top && !attribute {
                    reply.status = Some(Status::RedisOk);
                    reply.push = kind == b'>';
                }
                if left > 0 {
                    if self.open.len() >= DEPTH_MAX {
                        return Err(Stop::Garbage);
                    }
                    self.open.push(Aggregate { left, attribute });
                } else if !attribute {
                    self.value_done(frames);
                }
            }
            _ => return Err(Stop::Garbage),
        }
        Ok(())
    }

    fn bulk_done(&mut self, bulk: Bulk, frames: &mut Vec<Frame>) {
        if !self.requests {
            if bulk.role == Role::Error
                && let Some(reply) = &mut self.reply
            {
                reply.status = Some(Status::RedisError(escape_capped(&bulk.kept, ERROR_CHARS)));
            }
            self.value_done(frames);
            return;
        }
        let Some(command) = &mut self.command else {
            return;
        };
        match bulk.role {
            Role::Name if bulk.whole => command.name = Some(bulk.kept),
            Role::Key => command.key = Some(bulk.kept),
            Role::AuthWord if bulk.whole && is_auth_word(&bulk.kept) => command.secret = true,
            _ => {}
        }
        command.index += 1;
        command.left = command.left.saturating_sub(1);
        if command.left == 0
            && let Some(command) = self.command.take()
        {
            frames.push(Frame::Request(command.into_request(self.bytes)));
            self.bytes = 0;
        }
    }

    /// A value is complete: close the aggregates it completes, and report
    /// the reply once it is whole.
    fn value_done(&mut self, frames: &mut Vec<Frame>) {
        while let Some(aggregate) = self.open.last_mut() {
            aggregate.left -= 1;
            if aggregate.left > 0 {
                return;
            }
            let attribute = aggregate.attribute;
            self.open.pop();
            if attribute {
                // Metadata only: the value it describes is still to come.
                return;
            }
        }
        if let Some(Reply {
            status: Some(status),
            push: false,
        }) = self.reply.take()
        {
            frames.push(Frame::Response(Response {
                status,
                bytes: self.bytes,
            }));
        }
        self.bytes = 0;
    }

    /// Whether a syscall may start a frame, for resyncing.
    fn resumes_at(&self, captured: &[u8]) -> bool {
        if self.requests {
            command_start(captured)
        } else {
            captured.first().is_some_and(|b| KINDS.contains(b)) && captured.contains(&b'\n')
        }
    }

    fn settle(&mut self, outcome: Result<(), Stop>, gap: u64, frames: &mut Vec<Frame>) {
        let Err(stop) = outcome else {
            return;
        };
        if let Stop::Uncaptured = stop {
            let bytes = self.bytes.saturating_add(gap);
            if let Some(command) = self.command.take() {
                frames.push(Frame::Request(command.into_request(bytes)));
            }
            if let Some(Reply {
                status: Some(status),
                push: false,
            }) = self.reply.take()
            {
                frames.push(Frame::Response(Response { status, bytes }));
            }
        }
        *self = Resp {
            lost: true,
            ..Resp::new(self.requests)
        };
    }

    /// Bytes held between syscalls.
    #[cfg(test)]
    fn buffered(&self) -> usize {
        self.line.kept.capacity()
            + self.bulk.as_ref().map_or(0, |b| b.kept.capacity())
            + self.open.capacity() * std::mem::size_of::<Aggregate>()
            + self.command.as_ref().map_or(0, |c| {
                c.name.as_ref().map_or(0, Vec::capacity) + c.key.as_ref().map_or(0, Vec::capacity)
            })
    }
}

/// An integer or a RESP3 big number: an optional sign and digits, as many
/// as it likes (nothing is computed with it).
fn big_int(b: &[u8]) -> bool {
    let digits = b.strip_prefix(b"-").or(b.strip_prefix(b"+")).unwrap_or(b);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

impl Parser for Resp {
    fn feed_into(&mut self, captured: &[u8], len: u64, frames: &mut Vec<Frame>) {
        let resyncing = self.lost;
        if resyncing {
            if !self.resumes_at(captured) {
                return;
            }
            *self = Resp::new(self.requests);
        }
        let mut feed = Feed::new(captured, len);
        let outcome = self.run(&mut feed, frames);
        if resyncing && matches!(outcome, Err(Stop::Garbage)) {
            // It only looked like a start: nothing of it is trusted.
            frames.clear();
        }
        self.settle(outcome, feed.gap, frames);
    }

    fn lost(&self) -> bool {
        self.lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escape::escape;

    fn request(operation: &str, target: &str, bytes: usize) -> Frame {
        Frame::Request(Request {
            operation: operation.into(),
            target: target.into(),
            bytes: bytes as u64,
            ..Request::default()
        })
    }

    fn response(status: Status, bytes: usize) -> Frame {
        Frame::Response(Response {
            status,
            bytes: bytes as u64,
        })
    }

    /// Feeds `stream` whole, then again in every chunk size up to 16 (all
    /// captured), and checks that the frames do not depend on the cut.
    fn parse(requests: bool, stream: &[u8]) -> Vec<Frame> {
        let mut parser = Resp::new(requests);
        let frames = parser.feed(stream, stream.len() as u64);
        assert!(!parser.lost(), "lost on {:?}", escape(stream));
        for size in 1..=16 {
            let mut parser = Resp::new(requests);
            let cut: Vec<Frame> = stream
                .chunks(size)
                .flat_map(|chunk| parser.feed(chunk, chunk.len() as u64))
                .collect();
            assert_eq!(cut, frames, "fed in chunks of {size}");
        }
        frames
    }

    #[test]
    fn detection_is_strict() {
        let cases: &[(&[u8], Direction, bool)] = &[
            (b"*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n", Direction::Out, true),
            (b"*1\r\n$4\r\nPING\r\n", Direction::Out, true),
            (b"PING\r\n", Direction::Out, true),
            (b"info replication\r\n", Direction::Out, true),
            (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", Direction::Out, false),
            (b"GET foo\r\n", Direction::Out, false),
            (b"*0\r\n", Direction::Out, false),
            (b"*2\r\nfoo\r\n", Direction::Out, false),
            (b"+OK\r\n", Direction::Out, false),
            (b"\x00\x00\x00\x08\x04\xd2\x16\x2f", Direction::Out, false),
            (b"", Direction::Out, false),
            (b"+OK\r\n", Direction::In, true),
            (b"+PONG\r\n", Direction::In, true),
            (b"-ERR unknown command 'FOO'\r\n", Direction::In, true),
            (
                b"-WRONGTYPE Operation against a key\r\n",
                Direction::In,
                true,
            ),
            (b":1\r\n", Direction::In, true),
            (b"$-1\r\n", Direction::In, true),
            (b"$5\r\nhello\r\n", Direction::In, true),
            (b"$100000\r\nhello", Direction::In, true),
            (b"*2\r\n$1\r\na\r\n$1\r\nb\r\n", Direction::In, true),
            (b"%1\r\n+a\r\n:1\r\n", Direction::In, true),
            (b"$5\r\nhelloXX", Direction::In, false),
            (b"+Hello there\r\n", Direction::In, false),
            (b"-oops\r\n", Direction::In, false),
            (b"*2\r\nxx", Direction::In, false),
            (b"HTTP/1.1 200 OK\r\n", Direction::In, false),
            (b"R\x00\x00\x00\x08\x00\x00\x00\x00", Direction::In, false),
        ];
        for (bytes, direction, expected) in cases {
            assert_eq!(
                looks_like(bytes, *direction),
                *expected,
                "{:?} {direction:?}",
                escape(bytes)
            );
        }
    }

    #[test]
    fn pipelined_commands_and_replies() {
        let get = b"*2\r\n$3\r\nGET\r\n$9\r\nsession:1\r\n".as_slice();
        let set = b"*3\r\n$3\r\nSET\r\n$5\r\ncount\r\n$2\r\n10\r\n".as_slice();
        let missing = b"*2\r\n$3\r\nget\r\n$7\r\nmissing\r\n".as_slice();
        let incr = b"*2\r\n$4\r\nINCR\r\n$4\r\nname\r\n".as_slice();
        let ping = b"PING\r\n\r\n".as_slice();
        assert_eq!(
            parse(true, &[get, set, missing, incr, ping].concat()),
            [
                request("GET", "session:1", get.len()),
                request("SET", "count", set.len()),
                request("GET", "missing", missing.len()),
                request("INCR", "name", incr.len()),
                request("PING", "", "PING\r\n".len()),
            ]
        );

        let value = b"$5\r\nalice\r\n".as_slice();
        let ok = b"+OK\r\n".as_slice();
        let nil = b"$-1\r\n".as_slice();
        let wrong = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        let pong = b"+PONG\r\n".as_slice();
        assert_eq!(
            parse(false, &[value, ok, nil, wrong, pong].concat()),
            [
                response(Status::RedisOk, value.len()),
                response(Status::RedisOk, ok.len()),
                response(Status::RedisNil, nil.len()),
                response(
                    Status::RedisError(
                        "WRONGTYPE Operation against a key holding the wrong kind of value"
                            .to_owned()
                    ),
                    wrong.len()
                ),
                response(Status::RedisOk, pong.len()),
            ]
        );
    }

    #[test]
    fn credentials_are_never_kept() {
        let cases: &[(&[u8], &str)] = &[
            (b"*2\r\n$4\r\nAUTH\r\n$7\r\nhunter2\r\n", "AUTH"),
            (
                b"*3\r\n$4\r\nauth\r\n$5\r\nadmin\r\n$7\r\nhunter2\r\n",
                "AUTH",
            ),
            (b"AUTH hunter2\r\n", "AUTH"),
            (
                b"*5\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$7\r\nhunter2\r\n",
                "HELLO",
            ),
            (b"HELLO 3 AUTH default hunter2\r\n", "HELLO"),
            (
                b"*9\r\n$7\r\nMIGRATE\r\n$8\r\n10.0.0.2\r\n$4\r\n6379\r\n$3\r\nkey\r\n$1\r\n0\r\n\
                  $4\r\n5000\r\n$5\r\nAUTH2\r\n$5\r\nadmin\r\n$7\r\nhunter2\r\n",
                "MIGRATE",
            ),
        ];
        for (stream, operation) in cases {
            assert_eq!(
                parse(true, stream),
                [request(operation, MASKED, stream.len())],
                "{:?}",
                escape(stream)
            );
            // Not between syscalls either, whatever the cut.
            for cut in 1..stream.len() {
                let mut parser = Resp::new(true);
                let mut frames = parser.feed(&stream[..cut], cut as u64);
                let state = format!("{parser:?}");
                frames.extend(parser.feed(&stream[cut..], (stream.len() - cut) as u64));
                let shown = format!("{state}{frames:?}");
                assert!(!shown.contains("hunter2"), "cut at {cut}: {shown}");
            }
        }
    }

    #[test]
    fn large_values_are_skipped_by_length() {
        let reply = [b"$100000\r\n".as_slice(), &[b'x'; 100_000], b"\r\n"].concat();
        let mut parser = Resp::new(false);
        assert_eq!(
            parser.feed(&reply[..512], reply.len() as u64),
            [response(Status::RedisOk, reply.len())]
        );
        assert!(!parser.lost());
        assert_eq!(parser.feed(b"+OK\r\n", 5), [response(Status::RedisOk, 5)]);

        // The same value sent by a client, in three writes of which only
        // the start of each was captured.
        let command = [
            b"*3\r\n$3\r\nSET\r\n$4\r\nblob\r\n$100000\r\n".as_slice(),
            &[b'x'; 100_000],
            b"\r\n",
        ]
        .concat();
        let mut parser = Resp::new(true);
        let (first, rest) = command.split_at(40_000);
        let (second, third) = rest.split_at(40_000);
        assert_eq!(parser.feed(&first[..512], first.len() as u64), []);
        assert_eq!(parser.feed(&second[..512], second.len() as u64), []);
        assert_eq!(
            parser.feed(&third[..512], third.len() as u64),
            [request("SET", "blob", command.len())]
        );
        assert!(!parser.lost());
    }

    #[test]
    fn framing_past_the_capture_loses_then_resyncs() {
        let reply = [
            b"*3\r\n$100000\r\n".as_slice(),
            &[b'x'; 100_000],
            b"\r\n$3\r\nfoo\r\n:7\r\n",
        ]
        .concat();
        let mut parser = Resp::new(false);
        // The reply whose start was seen is still reported, with the whole
        // syscall's size.
        assert_eq!(
            parser.feed(&reply[..512], reply.len() as u64),
            [response(Status::RedisOk, reply.len())]
        );
        assert!(parser.lost());
        assert_eq!(parser.feed(b"lo world\r\n", 10), []);
        assert!(parser.lost());
        assert_eq!(parser.feed(b"$-1\r\n", 5), [response(Status::RedisNil, 5)]);
        assert!(!parser.lost());

        let mut parser = Resp::new(true);
        let get = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        let set = [
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000\r\n".as_slice(),
            &[b'v'; 1000],
            b"\r\n",
        ]
        .concat();
        let command = [set.as_slice(), get].concat();
        // The SET ends past the capture, counted; the GET after it is lost.
        assert_eq!(
            parser.feed(&command[..512], command.len() as u64),
            [request("SET", "k", set.len())]
        );
        assert!(parser.lost());
        assert_eq!(parser.feed(b"xyz\r\n", 5), []);
        assert_eq!(
            parser.feed(get, get.len() as u64),
            [request("GET", "k", get.len())]
        );
    }

    #[test]
    fn resp3_aggregates_are_walked_to_their_end() {
        let map =
            b"%2\r\n+first\r\n:1\r\n+second\r\n*2\r\n:1\r\n%1\r\n$1\r\nk\r\n~2\r\n#t\r\n,1.5\r\n"
                .as_slice();
        let null = b"_\r\n".as_slice();
        let attribute =
            b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n$3\r\nabc\r\n".as_slice();
        let push = b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n".as_slice();
        let blob_error = b"!21\r\nSYNTAX invalid syntax\r\n".as_slice();
        let verbatim = b"=15\r\ntxt:Some string\r\n".as_slice();
        let big = b"(3492890328409238509324850943850943825024385\r\n".as_slice();
        let empty = b"*0\r\n".as_slice();
        let stream = [map, null, attribute, push, blob_error, verbatim, big, empty].concat();
        assert_eq!(
            parse(false, &stream),
            [
                response(Status::RedisOk, map.len()),
                response(Status::RedisNil, null.len()),
                response(Status::RedisOk, attribute.len()),
                response(
                    Status::RedisError("SYNTAX invalid syntax".to_owned()),
                    blob_error.len()
                ),
                response(Status::RedisOk, verbatim.len()),
                response(Status::RedisOk, big.len()),
                response(Status::RedisOk, empty.len()),
            ]
        );
    }

    #[test]
    fn targets_are_escaped_and_capped() {
        let key = [b"\x1b[31m".as_slice(), &[b'k'; 300]].concat();
        let command = [
            format!("*2\r\n$3\r\nDEL\r\n${}\r\n", key.len()).as_bytes(),
            &key,
            b"\r\n",
        ]
        .concat();
        let frames = parse(true, &command);
        let [Frame::Request(request)] = frames.as_slice() else {
            panic!("one request expected, got {frames:?}");
        };
        assert!(request.target.starts_with("\\33[31m"), "{}", request.target);
        assert_eq!(request.target.chars().count(), TARGET_CHARS);
    }

    #[test]
    fn garbage_loses_the_stream() {
        let mut parser = Resp::new(false);
        assert_eq!(parser.feed(b"?what\r\n", 7), []);
        assert!(parser.lost());
        let mut parser = Resp::new(false);
        let deep = b"*1\r\n".repeat(DEPTH_MAX + 1);
        assert_eq!(parser.feed(&deep, deep.len() as u64), []);
        assert!(parser.lost());
        let mut parser = Resp::new(true);
        assert_eq!(parser.feed(b"*1\r\n:1\r\n", 8), []);
        assert!(parser.lost());
        let mut parser = Resp::new(true);
        assert_eq!(parser.feed(b"\x16\x03\x01\x02\x00\n", 6), []);
        assert!(parser.lost());
    }

    #[test]
    fn hostile_feeds_neither_panic_nor_grow() {
        let samples: &[&[u8]] = &[
            b"*2\r\n$3\r\nGET\r\n$9\r\nsession:1\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n10\r\n",
            b"*2\r\n$4\r\nAUTH\r\n$7\r\nhunter2\r\nPING\r\n",
            b"$5\r\nalice\r\n+OK\r\n$-1\r\n-ERR no\r\n:42\r\n*-1\r\n",
            b"%2\r\n+a\r\n*2\r\n:1\r\n~1\r\n#t\r\n+b\r\n|1\r\n+x\r\n:1\r\n_\r\n>2\r\n+m\r\n+c\r\n",
            b"!3\r\nerr\r\n=7\r\ntxt:abc\r\n(123\r\n,1.5\r\n$100000\r\n",
        ];
        let mut rng = super::super::fuzz::Rng(0x9e37_79b9_7f4a_7c15);
        let mut parsers = [Resp::new(true), Resp::new(false)];
        for _ in 0..10_000 {
            let (bytes, len) = super::super::fuzz::hostile_feed(&mut rng, samples);
            for parser in &mut parsers {
                for frame in parser.feed(&bytes, len) {
                    let shown = match &frame {
                        Frame::Request(r) => {
                            assert!(r.operation.chars().count() <= OPERATION_CHARS);
                            assert!(r.target.chars().count() <= TARGET_CHARS);
                            format!("{}{}", r.operation, r.target)
                        }
                        Frame::Response(r) => match &r.status {
                            Status::RedisError(e) => {
                                assert!(e.chars().count() <= ERROR_CHARS);
                                e.clone()
                            }
                            _ => String::new(),
                        },
                    };
                    assert!(!shown.chars().any(char::is_control), "{shown:?}");
                }
                assert!(parser.buffered() <= 64 * 1024, "{parser:?}");
            }
            let _ = looks_like(&bytes, Direction::Out) || looks_like(&bytes, Direction::In);
        }
    }
}
