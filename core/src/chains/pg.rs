//! PostgreSQL's frontend/backend protocol (version 3): queries and their
//! outcomes, from the payload prefixes the probe captures.
//!
//! A client's stream opens with an untyped startup message (or an
//! SSLRequest, GSSENCRequest or CancelRequest), then carries typed messages:
//! `Q` for a simple query, `P`/`B`/`D`/`E` for the extended protocol, whose
//! cycle ends at `S` (Sync). The server ends its answer to each `Q` and each
//! `S` with `Z` (ReadyForQuery). Pairing rests on that: one request per `Q`
//! (and per `F` function call) and per Sync cycle, one response per `Z`.
//! A Sync cycle usually holds one Execute; when it holds several (a JDBC or
//! pgx batch), one request stands for all of them, named after the first,
//! because the server skips every Execute after a failed one up to the Sync
//! and answers them with nothing: counting one reply per Execute would pair
//! every later request on the connection with the wrong reply. A Sync cycle
//! without Execute is a `PREPARE`, an empty one a `SYNC`. The response
//! carries the first `E` (ErrorResponse) of its cycle, or else the tag of its
//! last `C` (CommandComplete; a multi-statement query yields one per
//! statement), or else an empty tag (a cycle that ran nothing, or a reply
//! whose end was not captured). The `Z` that closes the startup and
//! authentication exchange answers no request.
//!
//! Message bodies are skipped by their declared length, so a long DataRow
//! the probe captured 512 bytes of goes by counted. A message header past
//! the captured prefix loses the stream: the frame under way is still
//! reported with what was seen of it (the uncaptured rest of the syscall
//! most likely finished it: clients write a whole cycle at once and the
//! server flushes at `Z`), and the parser waits for a syscall whose first
//! bytes are a header of the right direction with a plausible length, and
//! whose captured messages all parse. A server syscall that starts with
//! DataRow or CopyData is the middle of a reply and does not resync, and a
//! `Z` just after a resync closes the reply already reported. That is a
//! guess: a reply that the server wrote in pieces can still resync on a
//! piece that starts exactly at its `C`, and report one reply too many.
//!
//! Privacy: string, escape-string, bit-string, dollar-quoted and numeric
//! literals become `?` before a query is kept; Bind parameters and password
//! messages are never copied out of the payload.

use std::fmt;

use super::{Direction, Frame, Parser, Request, Response, Secrets, Status};
use crate::escape::escape_capped;

/// Longest query head shown, in characters after escaping.
const TARGET_CHARS: usize = 160;
/// Longest CommandComplete tag shown, in characters.
const TAG_CHARS: usize = 64;
/// Longest SQLSTATE shown (they are 5 characters).
const CODE_CHARS: usize = 16;
/// Longest error message shown, in characters after escaping.
const MESSAGE_CHARS: usize = 256;
/// Bytes of SQL kept to build a target: literals longer than that end up
/// masked whole anyway.
const QUERY_KEEP: usize = 4096;
/// Bytes of masked SQL built: enough for [`TARGET_CHARS`] of 4-byte UTF-8.
const MASKED_KEEP: usize = TARGET_CHARS * 4;
/// Bytes of a statement or portal name kept (PostgreSQL's NAMEDATALEN).
const NAME_KEEP: usize = 64;
/// Bytes of an ErrorResponse kept: its code and message come first.
const ERROR_KEEP: usize = 2048;
/// Longest message PostgreSQL accepts, in bytes (1 GiB).
const MESSAGE_MAX: u32 = 1 << 30;
/// Longest message that may start a resync, in bytes: four ASCII bytes read
/// as a length are more than this.
const RESYNC_MAX: u32 = 1 << 24;
/// Longest startup message PostgreSQL accepts, in bytes.
const STARTUP_MAX: u32 = 10_000;
/// Prepared statements remembered per connection (oldest forgotten first).
const STATEMENTS_MAX: usize = 64;
/// Portals remembered per connection.
const PORTALS_MAX: usize = 16;
const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;

/// Whether `first`, the first bytes seen one way on a connection, are
/// PostgreSQL.
///
/// `direction` is seen from the connection's client: [`Direction::Out`] for
/// what the client wrote, [`Direction::In`] for what it read (a server-side
/// caller flips it). From the client: a startup message (protocol 3, its
/// parameters starting with a name) or an SSLRequest, GSSENCRequest or
/// CancelRequest, each with its exact length; for connections already open,
/// a `Q` or `P` message whose SQL starts like SQL. From the server: an
/// authentication request with a known method, an ErrorResponse starting
/// with a known field, a ParameterStatus, a ReadyForQuery with a valid
/// transaction state, a CommandComplete with an upper-case tag, or a
/// ParseComplete followed by another message. A lone `S`/`N` (the answer to
/// an SSLRequest) is too short to tell.
pub fn looks_like(first: &[u8], direction: Direction) -> bool {
    match direction {
        Direction::Out => startup_start(first) || query_start(first),
        Direction::In => reply_start(first),
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

fn startup_start(b: &[u8]) -> bool {
    let (Some(length), Some(code)) = (be32(b, 0), be32(b, 4)) else {
        return false;
    };
    match code {
        SSL_REQUEST | GSSENC_REQUEST => length == 8,
        CANCEL_REQUEST => length == 16,
        _ if code >> 16 == 3 && (9..=STARTUP_MAX).contains(&length) => {
            let end = (length as usize).min(b.len());
            let parameters = &b[8..end];
            let named = parameters
                .first()
                .is_none_or(|c| c.is_ascii_lowercase() || *c == b'_' || *c == 0);
            let ended = b.len() < length as usize || parameters.last() == Some(&0);
            named && ended
        }
        _ => false,
    }
}

fn query_start(b: &[u8]) -> bool {
    let (Some(&kind), Some(length)) = (b.first(), be32(b, 1)) else {
        return false;
    };
    if !matches!(kind, b'Q' | b'P')
        || !bounds(kind, true).is_some_and(|(min, _)| (min..=RESYNC_MAX).contains(&length))
    {
        return false;
    }
    let body = &b[5..(length as usize + 1).min(b.len())];
    let sql = if kind == b'P' {
        let (name, rest) = split_cstring(body);
        if !name.iter().all(u8::is_ascii_graphic) {
            return false;
        }
        rest
    } else {
        body
    };
    let head = cstring(sql);
    let head = &head[..head.len().min(16)];
    head.first()
        .is_some_and(|c| c.is_ascii_alphabetic() || c.is_ascii_whitespace() || b"(/-".contains(c))
        && head
            .iter()
            .all(|c| c.is_ascii_graphic() || c.is_ascii_whitespace())
}

fn reply_start(b: &[u8]) -> bool {
    let (Some(&kind), Some(length)) = (b.first(), be32(b, 1)) else {
        return false;
    };
    let after = b.get(5);
    match kind {
        b'R' => {
            (8..=1024).contains(&length)
                && be32(b, 5).is_some_and(|method| matches!(method, 0 | 2 | 3 | 5 | 7..=12))
        }
        b'E' => (6..=RESYNC_MAX).contains(&length) && after.is_some_and(|f| b"SVCM".contains(f)),
        b'S' => (6..=1024).contains(&length) && after.is_some_and(u8::is_ascii_alphabetic),
        b'Z' => length == 5 && after.is_some_and(|s| b"ITE".contains(s)),
        b'C' => (6..=1024).contains(&length) && after.is_some_and(u8::is_ascii_uppercase),
        b'1' => length == 4 && after.is_none_or(|next| bounds(*next, false).is_some()),
        _ => false,
    }
}

/// The shortest and longest `length` field a message of type `kind` can
/// have, or `None` if no such message goes that way.
fn bounds(kind: u8, requests: bool) -> Option<(u32, u32)> {
    let any = MESSAGE_MAX;
    Some(if requests {
        match kind {
            b'S' | b'H' | b'X' | b'c' => (4, 4),
            b'Q' | b'f' => (5, any),
            b'P' => (8, any),
            b'B' => (12, any),
            b'E' => (9, any),
            b'D' | b'C' => (6, any),
            b'F' => (14, any),
            b'p' | b'd' => (4, any),
            _ => return None,
        }
    } else {
        match kind {
            b'Z' => (5, 5),
            b'1' | b'2' | b'3' | b'n' | b'I' | b'c' | b's' => (4, 4),
            b'R' | b'V' => (8, any),
            b'K' => (12, 264),
            b'S' | b'T' | b'D' | b't' => (6, any),
            b'C' | b'E' | b'N' => (5, any),
            b'G' | b'H' | b'W' => (7, any),
            b'd' => (4, any),
            b'A' => (10, any),
            b'v' => (12, any),
            _ => return None,
        }
    })
}

/// The bytes before the first NUL (all of them if there is none).
fn cstring(b: &[u8]) -> &[u8] {
    split_cstring(b).0
}

/// The bytes before the first NUL, and those after it.
fn split_cstring(b: &[u8]) -> (&[u8], &[u8]) {
    match b.iter().position(|&c| c == 0) {
        Some(end) => (&b[..end], &b[end + 1..]),
        None => (b, &[]),
    }
}

/// The head of a SQL text as a target: every literal replaced by `?`,
/// comments dropped, blanks collapsed, escaped and capped.
///
/// Strings follow `standard_conforming_strings` (on since PostgreSQL 9.1):
/// a backslash escapes only in `E'…'`. `$1` placeholders, identifiers
/// (`t1`, `"My Table"`) and keywords stay. A literal cut short by the end of
/// what was kept is masked to the end.
fn mask_sql(sql: &[u8]) -> String {
    let mut out = Vec::new();
    let mut blank = false;
    let mut at = 0;
    while at < sql.len() && out.len() < MASKED_KEEP {
        let c = sql[at];
        let next = sql.get(at + 1).copied();
        if c.is_ascii_whitespace() {
            blank = true;
            at += 1;
            continue;
        }
        if c == b'-' && next == Some(b'-') {
            at = sql[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(sql.len(), |end| at + end);
            blank = true;
            continue;
        }
        if c == b'/' && next == Some(b'*') {
            at = comment_end(sql, at);
            blank = true;
            continue;
        }
        if blank && !out.is_empty() {
            out.push(b' ');
        }
        blank = false;
        at = match c {
            b'\'' => {
                out.push(b'?');
                quoted_end(sql, at + 1, false)
            }
            b'"' => {
                let end = identifier_end(sql, at + 1);
                out.extend_from_slice(&sql[at..end]);
                end
            }
            b'$' => dollar(sql, at, &mut out),
            b'0'..=b'9' => {
                out.push(b'?');
                number_end(sql, at)
            }
            b'.' if next.is_some_and(|d| d.is_ascii_digit()) => {
                out.push(b'?');
                number_end(sql, at)
            }
            _ if is_word_start(c) => {
                let end = at + sql[at..].iter().take_while(|&&b| is_word(b)).count();
                let word = &sql[at..end];
                match (word, sql.get(end), sql.get(end + 1)) {
                    // E'…' (backslash escapes), B'…' and X'…' (bits), N'…'.
                    ([prefix], Some(b'\''), _) if b"EeBbXxNn".contains(prefix) => {
                        out.push(b'?');
                        quoted_end(sql, end + 1, prefix.eq_ignore_ascii_case(&b'e'))
                    }
                    // U&'…': Unicode escapes, same quoting as plain strings.
                    ([b'U' | b'u'], Some(b'&'), Some(b'\'')) => {
                        out.push(b'?');
                        quoted_end(sql, end + 2, false)
                    }
                    _ => {
                        out.extend_from_slice(word);
                        end
                    }
                }
            }
            _ => {
                out.push(c);
                at + 1
            }
        };
    }
    escape_capped(&out, TARGET_CHARS)
}

fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

/// Identifier characters, `$` included (PostgreSQL allows `a$b`), so that
/// digits inside a name are not taken for numbers.
fn is_word(b: u8) -> bool {
    is_word_start(b) || b.is_ascii_digit() || b == b'$'
}

/// Where a quoted string whose body starts at `at` ends (after its closing
/// quote); `''` is a quote inside, and so is `\'` when `backslash`.
fn quoted_end(sql: &[u8], mut at: usize, backslash: bool) -> usize {
    while let Some(&c) = sql.get(at) {
        match c {
            b'\\' if backslash => at += 2,
            b'\'' if sql.get(at + 1) == Some(&b'\'') => at += 2,
            b'\'' => return at + 1,
            _ => at += 1,
        }
    }
    sql.len()
}

/// Where a quoted identifier whose body starts at `at` ends.
fn identifier_end(sql: &[u8], mut at: usize) -> usize {
    while let Some(&c) = sql.get(at) {
        match c {
            b'"' if sql.get(at + 1) == Some(&b'"') => at += 2,
            b'"' => return at + 1,
            _ => at += 1,
        }
    }
    sql.len()
}

/// Where a `/* … */` comment starting at `at` ends; they nest.
fn comment_end(sql: &[u8], mut at: usize) -> usize {
    let mut depth = 0usize;
    while at < sql.len() {
        match (sql[at], sql.get(at + 1)) {
            (b'/', Some(b'*')) => {
                depth += 1;
                at += 2;
            }
            (b'*', Some(b'/')) => {
                depth -= 1;
                at += 2;
                if depth == 0 {
                    return at;
                }
            }
            _ => at += 1,
        }
    }
    sql.len()
}

/// Where a number starting at `at` ends: digits, `_` separators, a point,
/// an exponent with its sign, `0x`/`0o`/`0b` prefixes. Letters glued to it
/// go with it, masked too.
fn number_end(sql: &[u8], mut at: usize) -> usize {
    while let Some(&c) = sql.get(at) {
        let exponent_sign = matches!(c, b'+' | b'-')
            && matches!(sql.get(at.wrapping_sub(1)), Some(b'e' | b'E'))
            && sql.get(at + 1).is_some_and(u8::is_ascii_digit);
        if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || exponent_sign) {
            break;
        }
        at += 1;
    }
    at
}

/// A `$` at `at`: a `$1` placeholder (kept), a `$tag$…$tag$` string
/// (masked), or a lone `$`. Returns where it ends.
fn dollar(sql: &[u8], at: usize, out: &mut Vec<u8>) -> usize {
    let rest = &sql[at + 1..];
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 {
        out.extend_from_slice(&sql[at..at + 1 + digits]);
        return at + 1 + digits;
    }
    let tag = rest
        .iter()
        .take_while(|&&b| is_word_start(b) || b.is_ascii_digit())
        .count();
    if rest.get(tag) != Some(&b'$') {
        out.push(b'$');
        return at + 1;
    }
    let delimiter = &sql[at..at + tag + 2];
    let body = at + delimiter.len();
    out.push(b'?');
    sql[body..]
        .windows(delimiter.len())
        .position(|w| w == delimiter)
        .map_or(sql.len(), |end| body + end + delimiter.len())
}

/// Why reading stopped before the end of a syscall.
enum Stop {
    /// A message header fell past the captured prefix.
    Uncaptured,
    /// The bytes are not this protocol.
    Garbage,
}

/// One syscall's payload: the captured prefix, then `gap` bytes known only
/// by count.
struct Feed<'a> {
    captured: &'a [u8],
    gap: u64,
}

impl Feed<'_> {
    fn advance(&mut self, n: usize) {
        self.captured = self.captured.get(n..).unwrap_or_default();
    }
}

/// Where a stream is in the protocol's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing read yet: the stream may start at the connection's start or
    /// in its middle.
    Start,
    /// Client, before its startup message: messages have no type byte.
    Startup,
    Typed,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Startup { code: u32 },
    Typed(u8),
}

/// A message body being read.
struct Body {
    kind: Kind,
    /// Bytes of the body still to come.
    left: u64,
    /// Bytes of the whole message, header included.
    size: u64,
    /// How many of its first bytes to keep, and after how many NULs to stop
    /// (0: no such stop): a Bind is kept up to its statement name, never
    /// into its parameters.
    keep: usize,
    nuls: u8,
    kept: Vec<u8>,
    seen_nuls: u8,
    /// Whether every byte so far was captured, so that `kept` is its start.
    whole: bool,
}

impl Body {
    fn new(kind: Kind, left: u64, size: u64, requests: bool) -> Body {
        let (keep, nuls) = match (kind, requests) {
            (Kind::Typed(b'Q'), true) => (QUERY_KEEP, 1),
            (Kind::Typed(b'P'), true) => (NAME_KEEP + QUERY_KEEP, 2),
            (Kind::Typed(b'B'), true) => (2 * NAME_KEEP, 2),
            (Kind::Typed(b'E'), true) => (NAME_KEEP, 1),
            (Kind::Typed(b'C'), false) => (TAG_CHARS * 4, 1),
            (Kind::Typed(b'E'), false) => (ERROR_KEEP, 0),
            _ => (0, 0),
        };
        Body {
            kind,
            left,
            size,
            keep,
            nuls,
            kept: Vec::new(),
            seen_nuls: 0,
            whole: true,
        }
    }

    /// Reads what it can of `feed`; true once the body is through.
    fn read(&mut self, feed: &mut Feed<'_>) -> bool {
        let take = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(feed.captured.len());
        if self.whole {
            for &b in &feed.captured[..take] {
                if self.kept.len() >= self.keep || self.nuls > 0 && self.seen_nuls >= self.nuls {
                    break;
                }
                self.kept.push(b);
                self.seen_nuls += u8::from(b == 0);
            }
        }
        feed.advance(take);
        self.left -= take as u64;
        if self.left > 0 && feed.captured.is_empty() && feed.gap > 0 {
            let skipped = self.left.min(feed.gap);
            self.left -= skipped;
            feed.gap -= skipped;
            self.whole = false;
        }
        self.left == 0
    }
}

// A query with its literals, or a Bind's names, can sit here between two
// syscalls: show sizes only.
impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Body")
            .field("kind", &self.kind)
            .field("left", &self.left)
            .field("kept", &self.kept.len())
            .finish()
    }
}

/// An extended-query cycle being read (client): from its first message to
/// its Sync.
#[derive(Debug, Default)]
struct Cycle {
    executes: u32,
    /// Whether it had a Parse or a Bind.
    prepared: bool,
    /// The masked text of its first Parse.
    parsed: Option<String>,
    /// The masked text of the statement its first Execute ran, when known.
    executed: Option<String>,
    bytes: u64,
}

impl Cycle {
    /// Its request. A cycle cut short by uncaptured bytes that had a Parse
    /// or a Bind most likely had its Execute there too.
    fn into_request(self, cut: bool) -> Request {
        let operation = if self.executes > 0 || cut && self.prepared {
            "EXECUTE"
        } else if self.parsed.is_some() {
            "PREPARE"
        } else {
            "SYNC"
        };
        request(
            operation,
            self.executed.or(self.parsed).unwrap_or_default(),
            self.bytes,
        )
    }
}

fn request(operation: &str, target: String, bytes: u64) -> Request {
    Request {
        operation: operation.into(),
        target: target.into(),
        bytes,
        ..Request::default()
    }
}

/// A reply being read (server): the messages up to a ReadyForQuery.
#[derive(Debug, Default)]
struct Reply {
    error: Option<Status>,
    tag: Option<String>,
    /// Whether it is the startup exchange (it had an Authentication
    /// message), which answers no request.
    auth: bool,
    /// Whether it had anything that answers a request (not only
    /// ParameterStatus, notices and notifications, which come unasked).
    answered: bool,
    bytes: u64,
}

impl Reply {
    fn into_response(self, extra: u64) -> Response {
        let status = self
            .error
            .or(self.tag.map(Status::PgOk))
            .unwrap_or(Status::PgOk(String::new()));
        Response {
            status,
            bytes: self.bytes.saturating_add(extra),
        }
    }
}

/// The status of an ErrorResponse: its `C` (SQLSTATE) and `M` (message)
/// fields. A data exception (SQLSTATE class 22: invalid input syntax, a
/// value out of range, too long…) quotes the value it refused, which is a
/// literal of the query: masked like the query's own. Other classes quote
/// names (relations, constraints), kept.
fn error_status(body: &[u8], secrets: Secrets) -> Status {
    let (mut code, mut message): (&[u8], &[u8]) = (b"", b"");
    let mut rest = body;
    while let Some((&field, tail)) = rest.split_first() {
        if field == 0 {
            break;
        }
        let (value, after) = split_cstring(tail);
        match field {
            b'C' => code = value,
            b'M' => message = value,
            _ => {}
        }
        rest = after;
    }
    let masked;
    let message = if secrets == Secrets::Masked && code.starts_with(b"22") {
        masked = mask_quoted(message);
        masked.as_slice()
    } else {
        message
    };
    Status::PgError {
        code: escape_capped(code, CODE_CHARS),
        message: escape_capped(message, MESSAGE_CHARS),
    }
}

/// `text` with what stands between double quotes replaced by `****`.
fn mask_quoted(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut parts = text.split(|&b| b == b'"');
    if let Some(first) = parts.next() {
        out.extend_from_slice(first);
    }
    for (i, part) in parts.enumerate() {
        out.push(b'"');
        if i % 2 == 0 {
            out.extend_from_slice(b"****");
        } else {
            out.extend_from_slice(part);
        }
    }
    out
}

/// One direction of a PostgreSQL connection: the client's queries or the
/// server's replies, as [`Frame`]s.
#[derive(Debug)]
pub struct Pg {
    requests: bool,
    lost: bool,
    phase: Phase,
    /// A header being read, possibly across syscalls: 5 bytes (type and
    /// length), 8 for a startup message (length and code).
    header: [u8; 8],
    have: usize,
    body: Option<Body>,
    /// Prepared statements by name (client): their masked text.
    statements: Vec<(Vec<u8>, String)>,
    /// Portals by name (client): the masked text of their statement.
    portals: Vec<(Vec<u8>, Option<String>)>,
    cycle: Option<Cycle>,
    reply: Option<Reply>,
    /// Whether a ReadyForQuery read first closes a reply already reported
    /// (server, right after a resync).
    orphan_ready: bool,
    secrets: Secrets,
}

impl Pg {
    /// A parser for the client's messages when `carries_requests`, for the
    /// server's otherwise.
    pub fn new(carries_requests: bool) -> Pg {
        Pg {
            requests: carries_requests,
            lost: false,
            phase: Phase::Start,
            header: [0; 8],
            have: 0,
            body: None,
            statements: Vec::new(),
            portals: Vec::new(),
            cycle: None,
            reply: None,
            orphan_ready: false,
            secrets: Secrets::Masked,
        }
    }

    /// The same parser, masking secrets or not.
    pub fn with_secrets(mut self, secrets: Secrets) -> Pg {
        self.secrets = secrets;
        self
    }

    /// A statement's text as a target: its literals masked, unless asked.
    fn sql(&self, sql: &[u8]) -> String {
        match self.secrets {
            Secrets::Masked => mask_sql(sql),
            Secrets::Shown => escape_capped(sql, TARGET_CHARS),
        }
    }

    fn run(&mut self, feed: &mut Feed<'_>, frames: &mut Vec<Frame>) -> Result<(), Stop> {
        loop {
            if let Some(mut body) = self.body.take() {
                if !body.read(feed) {
                    self.body = Some(body);
                    return Ok(());
                }
                self.message(body, frames);
                continue;
            }
            if self.phase == Phase::Start
                && let Some(&first) = feed.captured.first()
            {
                // Typed messages start with a letter; a startup message with
                // the high byte of a length under 10,000.
                self.phase = if self.requests && first == 0 {
                    Phase::Startup
                } else {
                    Phase::Typed
                };
            }
            let need = if self.phase == Phase::Startup { 8 } else { 5 };
            let take = (need - self.have).min(feed.captured.len());
            self.header[self.have..self.have + take].copy_from_slice(&feed.captured[..take]);
            self.have += take;
            feed.advance(take);
            if self.have < need {
                return if feed.gap > 0 {
                    Err(Stop::Uncaptured)
                } else {
                    Ok(())
                };
            }
            self.have = 0;
            self.body = Some(self.header_body()?);
        }
    }

    /// The body announced by a complete header.
    fn header_body(&mut self) -> Result<Body, Stop> {
        let [a, b, c, d, e, f, g, h] = self.header;
        if self.phase == Phase::Startup {
            let length = u32::from_be_bytes([a, b, c, d]);
            let code = u32::from_be_bytes([e, f, g, h]);
            let valid = match code {
                SSL_REQUEST | GSSENC_REQUEST => length == 8,
                CANCEL_REQUEST => length == 16,
                _ => code >> 16 == 3 && (9..=STARTUP_MAX).contains(&length),
            };
            if !valid {
                return Err(Stop::Garbage);
            }
            let kind = Kind::Startup { code };
            return Ok(Body::new(
                kind,
                u64::from(length - 8),
                u64::from(length),
                true,
            ));
        }
        let length = u32::from_be_bytes([b, c, d, e]);
        match bounds(a, self.requests) {
            Some((min, max)) if (min..=max).contains(&length) => Ok(Body::new(
                Kind::Typed(a),
                u64::from(length - 4),
                u64::from(length) + 1,
                self.requests,
            )),
            _ => Err(Stop::Garbage),
        }
    }

    fn message(&mut self, body: Body, frames: &mut Vec<Frame>) {
        match body.kind {
            Kind::Startup { code } => {
                // After an SSLRequest or GSSENCRequest refused with `N`, the
                // client sends its startup message next.
                if code != SSL_REQUEST && code != GSSENC_REQUEST {
                    self.phase = Phase::Typed;
                }
            }
            Kind::Typed(kind) if self.requests => self.client_message(kind, &body, frames),
            Kind::Typed(kind) => self.server_message(kind, &body, frames),
        }
    }

    fn client_message(&mut self, kind: u8, body: &Body, frames: &mut Vec<Frame>) {
        let kept = body.kept.as_slice();
        match kind {
            b'Q' => frames.push(Frame::Request(request(
                "QUERY",
                self.sql(cstring(kept)),
                body.size,
            ))),
            // FunctionCall (large objects): answered by a ReadyForQuery too.
            b'F' => frames.push(Frame::Request(request(
                "FUNCTION",
                String::new(),
                body.size,
            ))),
            b'S' => {
                let mut cycle = self.cycle.take().unwrap_or_default();
                cycle.bytes = cycle.bytes.saturating_add(body.size);
                frames.push(Frame::Request(cycle.into_request(false)));
            }
            b'P' => {
                let (name, rest) = split_cstring(kept);
                let text = self.sql(cstring(rest));
                remember(&mut self.statements, STATEMENTS_MAX, name, text.clone());
                let cycle = self.cycle(body);
                cycle.prepared = true;
                cycle.parsed.get_or_insert(text);
            }
            b'B' => {
                let (portal, rest) = split_cstring(kept);
                let text = lookup(&self.statements, cstring(rest)).cloned();
                remember(&mut self.portals, PORTALS_MAX, portal, text);
                self.cycle(body).prepared = true;
            }
            b'E' => {
                let text = lookup(&self.portals, cstring(kept)).cloned().flatten();
                let cycle = self.cycle(body);
                cycle.executes = cycle.executes.saturating_add(1);
                if cycle.executed.is_none() {
                    cycle.executed = text;
                }
            }
            b'D' | b'C' | b'H' => {
                self.cycle(body);
            }
            // Terminate, password and SASL messages (never kept), COPY data.
            _ => {}
        }
    }

    /// The cycle under way, with `body`'s message counted in.
    fn cycle(&mut self, body: &Body) -> &mut Cycle {
        let cycle = self.cycle.get_or_insert_with(Cycle::default);
        cycle.bytes = cycle.bytes.saturating_add(body.size);
        cycle
    }

    fn server_message(&mut self, kind: u8, body: &Body, frames: &mut Vec<Frame>) {
        let orphan = std::mem::take(&mut self.orphan_ready);
        let reply = self.reply.get_or_insert_with(Reply::default);
        reply.bytes = reply.bytes.saturating_add(body.size);
        match kind {
            b'R' => reply.auth = true,
            b'C' => {
                if reply.error.is_none() {
                    reply.tag = Some(escape_capped(cstring(&body.kept), TAG_CHARS));
                }
                reply.answered = true;
            }
            b'E' => {
                if reply.error.is_none() {
                    reply.error = Some(error_status(&body.kept, self.secrets));
                }
                reply.answered = true;
            }
            b'Z' => {
                if let Some(reply) = self.reply.take()
                    && !reply.auth
                    && !orphan
                {
                    frames.push(Frame::Response(reply.into_response(0)));
                }
            }
            // Unasked: ParameterStatus, notices, notifications, the
            // cancellation key, protocol negotiation.
            b'S' | b'N' | b'A' | b'K' | b'v' => {}
            _ => reply.answered = true,
        }
    }

    /// Whether a syscall may start a frame, for resyncing: a header of this
    /// direction with a plausible length, that is not the middle of a COPY
    /// or of a reply's rows.
    fn resumes_at(&self, captured: &[u8]) -> bool {
        let (Some(&kind), Some(length)) = (captured.first(), be32(captured, 1)) else {
            return false;
        };
        let continuation: &[u8] = if self.requests { b"dcfp" } else { b"Ddcs" };
        !continuation.contains(&kind)
            && bounds(kind, self.requests)
                .is_some_and(|(min, max)| (min..=max.min(RESYNC_MAX)).contains(&length))
    }

    fn settle(&mut self, outcome: Result<(), Stop>, gap: u64, frames: &mut Vec<Frame>) {
        let Err(stop) = outcome else {
            return;
        };
        if let Stop::Uncaptured = stop {
            if let Some(cycle) = self.cycle.take() {
                let mut request = cycle.into_request(true);
                request.bytes = request.bytes.saturating_add(gap);
                frames.push(Frame::Request(request));
            }
            if let Some(reply) = self.reply.take()
                && reply.answered
                && !reply.auth
            {
                frames.push(Frame::Response(reply.into_response(gap)));
            }
        }
        self.restart();
        self.lost = true;
    }

    /// Forgets the stream's position, keeping the prepared statements (their
    /// names stay valid on the connection).
    fn restart(&mut self) {
        *self = Pg {
            phase: Phase::Typed,
            statements: std::mem::take(&mut self.statements),
            portals: std::mem::take(&mut self.portals),
            ..Pg::new(self.requests)
        };
    }

    /// Bytes held between syscalls.
    #[cfg(test)]
    fn buffered(&self) -> usize {
        let names = |n: &Vec<u8>| n.capacity();
        self.body.as_ref().map_or(0, |b| b.kept.capacity())
            + self
                .statements
                .iter()
                .map(|(n, t)| names(n) + t.capacity())
                .sum::<usize>()
            + self
                .portals
                .iter()
                .map(|(n, t)| names(n) + t.as_ref().map_or(0, String::capacity))
                .sum::<usize>()
    }
}

/// Sets `name` in a small map, forgetting its oldest entry when full.
fn remember<T>(map: &mut Vec<(Vec<u8>, T)>, max: usize, name: &[u8], value: T) {
    map.retain(|(n, _)| n != name);
    if map.len() >= max {
        map.remove(0);
    }
    map.push((name.to_vec(), value));
}

fn lookup<'a, T>(map: &'a [(Vec<u8>, T)], name: &[u8]) -> Option<&'a T> {
    map.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

impl Parser for Pg {
    fn feed_into(&mut self, captured: &[u8], len: u64, frames: &mut Vec<Frame>) {
        let len = len.max(captured.len() as u64);
        if !self.requests
            && self.phase == Phase::Start
            && len == 1
            && let [answer @ (b'S' | b'N' | b'G')] = captured
        {
            // The one-byte answer to an SSLRequest or GSSENCRequest. After a
            // yes, the stream is encrypted: nothing more to read.
            self.lost = *answer != b'N';
            return;
        }
        let resyncing = self.lost;
        if resyncing {
            if !self.resumes_at(captured) {
                return;
            }
            self.restart();
            self.orphan_ready = !self.requests;
        }
        let mut feed = Feed {
            captured,
            gap: len - captured.len() as u64,
        };
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

    /// A typed message: its type, its length (itself included), its body.
    fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
        let length = u32::try_from(body.len() + 4).expect("test messages are small");
        [&[kind], length.to_be_bytes().as_slice(), body].concat()
    }

    fn request(operation: &str, target: &str, bytes: usize) -> Frame {
        Frame::Request(super::request(operation, target.to_owned(), bytes as u64))
    }

    fn ok(tag: &str, bytes: usize) -> Frame {
        Frame::Response(Response {
            status: Status::PgOk(tag.to_owned()),
            bytes: bytes as u64,
        })
    }

    /// Feeds `stream` whole, then again in every chunk size up to 16 (all
    /// captured), and checks that the frames do not depend on the cut.
    fn parse(requests: bool, stream: &[u8]) -> Vec<Frame> {
        let mut parser = Pg::new(requests);
        let frames = parser.feed(stream, stream.len() as u64);
        assert!(!parser.lost(), "lost on {:?}", escape(stream));
        for size in 1..=16 {
            let mut parser = Pg::new(requests);
            let cut: Vec<Frame> = stream
                .chunks(size)
                .flat_map(|chunk| parser.feed(chunk, chunk.len() as u64))
                .collect();
            assert_eq!(cut, frames, "fed in chunks of {size}");
        }
        frames
    }

    /// StartupMessage, protocol 3.0, user `app`, database `shop`.
    const STARTUP: &[u8] =
        b"\x00\x00\x00\x20\x00\x03\x00\x00user\x00app\x00database\x00shop\x00\x00";
    const SSL: &[u8] = b"\x00\x00\x00\x08\x04\xd2\x16\x2f";
    const AUTH_OK: &[u8] = b"R\x00\x00\x00\x08\x00\x00\x00\x00";
    const READY: &[u8] = b"Z\x00\x00\x00\x05I";

    fn row_description() -> Vec<u8> {
        // One int4 column named `?column?`, text format.
        msg(
            b'T',
            b"\x00\x01?column?\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x17\x00\x04\xff\xff\xff\xff\x00\x00",
        )
    }

    fn parse_message(name: &str, sql: &str) -> Vec<u8> {
        msg(
            b'P',
            &[name.as_bytes(), b"\0", sql.as_bytes(), b"\0\x00\x00"].concat(),
        )
    }

    fn bind(portal: &str, statement: &str, parameter: &[u8]) -> Vec<u8> {
        let length = u32::try_from(parameter.len()).expect("small").to_be_bytes();
        let body = [
            portal.as_bytes(),
            b"\0",
            statement.as_bytes(),
            b"\0\x00\x00\x00\x01",
            &length,
            parameter,
            b"\x00\x00",
        ]
        .concat();
        msg(b'B', &body)
    }

    fn execute(portal: &str) -> Vec<u8> {
        msg(b'E', &[portal.as_bytes(), b"\0\x00\x00\x00\x00"].concat())
    }

    fn sync() -> Vec<u8> {
        msg(b'S', b"")
    }

    fn error(code: &str, message: &str) -> Vec<u8> {
        let body = format!(
            "SERROR\0VERROR\0C{code}\0M{message}\0P15\0Fparse_relation.c\0L1449\0RparserOpenTable\0\0"
        );
        msg(b'E', body.as_bytes())
    }

    #[test]
    fn detection_is_strict() {
        let query = msg(b'Q', b"SELECT 1\0");
        let cases: &[(&[u8], Direction, bool)] = &[
            (STARTUP, Direction::Out, true),
            (SSL, Direction::Out, true),
            (b"\x00\x00\x00\x08\x04\xd2\x16\x30", Direction::Out, true),
            (
                b"\x00\x00\x00\x10\x04\xd2\x16\x2e\x00\x00\x12\x34\xde\xad\xbe\xef",
                Direction::Out,
                true,
            ),
            (&query, Direction::Out, true),
            (b"\x00\x00\x00\x08\x00\x03\x00\x00", Direction::Out, false),
            (
                b"\x00\x00\x00\x20\x00\x02\x00\x00user\x00app\x00",
                Direction::Out,
                false,
            ),
            (b"GET / HTTP/1.1\r\n\r\n", Direction::Out, false),
            (b"*1\r\n$4\r\nPING\r\n", Direction::Out, false),
            (
                b"Q\x00\x00\x00\x0d\x01\x02\x03\x04\x05\x06\x07\x08\x00",
                Direction::Out,
                false,
            ),
            (AUTH_OK, Direction::Out, false),
            (AUTH_OK, Direction::In, true),
            (
                b"R\x00\x00\x00\x0c\x00\x00\x00\x05salt",
                Direction::In,
                true,
            ),
            (
                &error("28P01", "password authentication failed"),
                Direction::In,
                true,
            ),
            (READY, Direction::In, true),
            (b"C\x00\x00\x00\x0dSELECT 1\x00", Direction::In, true),
            (b"1\x00\x00\x00\x042\x00\x00\x00\x04", Direction::In, true),
            (b"R\x00\x00\x00\x08\x00\x00\x00\x63", Direction::In, false),
            (b"Z\x00\x00\x00\x05X", Direction::In, false),
            (b"N", Direction::In, false),
            (b"+OK\r\n", Direction::In, false),
            (b"HTTP/1.1 200 OK\r\n", Direction::In, false),
            (b"", Direction::In, false),
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
    fn startup_then_simple_query() {
        let password = b"p\x00\x00\x00\x0chunter2\x00";
        let query = b"Q\x00\x00\x00\x0dSELECT 1\x00";
        let stream = [STARTUP, password, query].concat();
        let frames = parse(true, &stream);
        assert_eq!(frames, [request("QUERY", "SELECT ?", query.len())]);

        let startup = [
            AUTH_OK,
            &msg(b'S', b"server_version\x0016.2\x00"),
            b"K\x00\x00\x00\x0c\x00\x00\x12\x34\xde\xad\xbe\xef",
            READY,
        ]
        .concat();
        let reply = [
            row_description(),
            msg(b'D', b"\x00\x01\x00\x00\x00\x011"),
            msg(b'C', b"SELECT 1\0"),
            READY.to_vec(),
        ]
        .concat();
        assert_eq!(
            parse(false, &[startup.as_slice(), &reply].concat()),
            [ok("SELECT 1", reply.len())]
        );
    }

    #[test]
    fn ssl_refused_then_startup() {
        let query = msg(b'Q', b"BEGIN\0");
        assert_eq!(
            parse(true, &[SSL, STARTUP, &query].concat()),
            [request("QUERY", "BEGIN", query.len())]
        );
        let mut server = Pg::new(false);
        assert_eq!(server.feed(b"N", 1), []);
        assert_eq!(server.feed(AUTH_OK, AUTH_OK.len() as u64), []);
        assert_eq!(server.feed(READY, READY.len() as u64), []);
        let reply = [msg(b'C', b"BEGIN\0"), READY.to_vec()].concat();
        assert_eq!(
            server.feed(&reply, reply.len() as u64),
            [ok("BEGIN", reply.len())]
        );
        let mut server = Pg::new(false);
        assert_eq!(server.feed(b"S", 1), []);
        assert!(server.lost(), "TLS follows a yes");
    }

    #[test]
    fn errors_carry_sqlstate_and_message() {
        let reply = [
            error("42P01", "relation \"nope\" does not exist"),
            READY.to_vec(),
        ]
        .concat();
        assert_eq!(
            parse(false, &reply),
            [Frame::Response(Response {
                status: Status::PgError {
                    code: "42P01".to_owned(),
                    message: "relation \\\"nope\\\" does not exist".to_owned(),
                },
                bytes: reply.len() as u64,
            })]
        );

        // Several statements in one query: the last tag, or the first error.
        let many = [
            msg(b'C', b"BEGIN\0"),
            msg(b'C', b"INSERT 0 1\0"),
            READY.to_vec(),
        ]
        .concat();
        let failed = [
            msg(b'C', b"BEGIN\0"),
            error(
                "23505",
                "duplicate key value violates unique constraint \"users_pkey\"",
            ),
            error("25P02", "current transaction is aborted"),
            b"Z\x00\x00\x00\x05E".to_vec(),
        ]
        .concat();
        let frames = parse(false, &[many.as_slice(), &failed].concat());
        assert_eq!(frames[0], ok("INSERT 0 1", many.len()));
        let Frame::Response(Response {
            status: Status::PgError { code, .. },
            ..
        }) = &frames[1]
        else {
            panic!("an error expected, got {frames:?}");
        };
        assert_eq!(code, "23505");
    }

    #[test]
    fn extended_query_keeps_the_statement_not_the_parameters() {
        let sql = "SELECT name FROM users WHERE id = $1 AND org = 'acme'";
        let target = "SELECT name FROM users WHERE id = $1 AND org = ?";
        let cycle = [
            parse_message("", sql),
            bind("", "", b"hunter2"),
            msg(b'D', b"P\0"),
            execute(""),
            sync(),
        ]
        .concat();
        // Prepared once by name, then run twice in one batch.
        let prepare = [
            parse_message(
                "s1",
                "UPDATE accounts SET balance = balance - 100 WHERE id = $1",
            ),
            msg(b'D', b"Ss1\0"),
            sync(),
        ]
        .concat();
        let batch = [
            bind("", "s1", b"hunter2"),
            execute(""),
            bind("", "s1", b"4242"),
            execute(""),
            sync(),
        ]
        .concat();
        let update = "UPDATE accounts SET balance = balance - ? WHERE id = $1";
        let mut parser = Pg::new(true);
        let mut frames = Vec::new();
        for part in [&cycle, &prepare, &batch] {
            frames.extend(parser.feed(&part[..part.len() / 2], (part.len() / 2) as u64));
            let state = format!("{parser:?}");
            assert!(
                !state.contains("hunter2") && !state.contains("acme"),
                "{state}"
            );
            frames.extend(parser.feed(
                &part[part.len() / 2..],
                (part.len() - part.len() / 2) as u64,
            ));
        }
        assert_eq!(
            frames,
            [
                request("EXECUTE", target, cycle.len()),
                request("PREPARE", update, prepare.len()),
                request("EXECUTE", update, batch.len()),
            ]
        );
        assert_eq!(
            parse(true, &[cycle.as_slice(), &prepare, &batch].concat()),
            frames
        );

        let executed = [
            msg(b'1', b""),
            msg(b'2', b""),
            row_description(),
            msg(b'D', b"\x00\x01\x00\x00\x00\x03bob"),
            msg(b'C', b"SELECT 1\0"),
            READY.to_vec(),
        ]
        .concat();
        let prepared = [
            msg(b'1', b""),
            msg(b't', b"\x00\x01\x00\x00\x00\x17"),
            msg(b'n', b""),
            READY.to_vec(),
        ]
        .concat();
        let batch_failed = [
            msg(b'2', b""),
            error("23514", "new row violates check constraint"),
            b"Z\x00\x00\x00\x05I".to_vec(),
        ]
        .concat();
        let frames = parse(
            false,
            &[executed.as_slice(), &prepared, &batch_failed].concat(),
        );
        assert_eq!(
            frames[..2],
            [ok("SELECT 1", executed.len()), ok("", prepared.len())]
        );
        assert!(matches!(
            &frames[2..],
            [Frame::Response(Response { status: Status::PgError { code, .. }, .. })] if code == "23514"
        ));
    }

    #[test]
    fn literals_are_masked() {
        let cases = [
            (
                "SELECT * FROM users WHERE email = 'a@b.c' AND id = 42",
                "SELECT * FROM users WHERE email = ? AND id = ?",
            ),
            (
                "SELECT 'it''s', E'a\\'b', $$x$$, $tag$ y $ z $tag$, 3.14, 1e-5, .5, 0x1F, 1_000 FROM t1 WHERE c2 = -42",
                "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? FROM t1 WHERE c2 = -?",
            ),
            (
                "INSERT INTO \"Order Items\" (id, note) VALUES ($1, 'secret')",
                r#"INSERT INTO \"Order Items\" (id, note) VALUES ($1, ?)"#,
            ),
            (
                "  SELECT\n\t*  /* pass='x' /* nested */ */ FROM t -- trailing 'y'\n WHERE a = B'101' AND u = U&'d\\0061t' AND n = N'z'",
                "SELECT * FROM t WHERE a = ? AND u = ? AND n = ?",
            ),
            ("SELECT E'a\\\\', 'b'", "SELECT ?, ?"),
            (
                "SELECT DATE '2024-01-01', interval '1 day'",
                "SELECT DATE ?, interval ?",
            ),
            (
                "SELECT * FROM t WHERE pw = 'hunter2 and more",
                "SELECT * FROM t WHERE pw = ?",
            ),
            ("SELECT $abc$ never closed", "SELECT ?"),
            (
                "SELECT a$1, col_2, $2::int FROM t3",
                "SELECT a$1, col_2, $2::int FROM t3",
            ),
            ("SELECT price * 1.5e+3 FROM x", "SELECT price * ? FROM x"),
            ("SELECT 'a'\n'b'", "SELECT ? ?"),
            ("SELECT 1\x1b[2J", "SELECT ?\\33[?"),
        ];
        for (sql, masked) in cases {
            assert_eq!(mask_sql(sql.as_bytes()), masked, "{sql}");
        }
        let long = format!("SELECT {} FROM t", "column_name, ".repeat(40));
        assert_eq!(mask_sql(long.as_bytes()).chars().count(), TARGET_CHARS);
    }

    #[test]
    fn long_rows_are_skipped_by_length() {
        let row = msg(
            b'D',
            &[b"\x00\x01\x00\x01\x86\x98".as_slice(), &[b'x'; 100_000]].concat(),
        );
        let first = [row_description(), row].concat();
        let second = [msg(b'C', b"SELECT 1\0"), READY.to_vec()].concat();
        let mut parser = Pg::new(false);
        assert_eq!(parser.feed(&first[..512], first.len() as u64), []);
        assert_eq!(
            parser.feed(&second, second.len() as u64),
            [ok("SELECT 1", first.len() + second.len())]
        );
        assert!(!parser.lost());
    }

    #[test]
    fn headers_past_the_capture_lose_then_resync() {
        // A reply whose rows run past the capture: reported at once, with
        // an empty tag, for the whole syscall.
        let rows: Vec<u8> = (0..100)
            .flat_map(|_| msg(b'D', b"\x00\x01\x00\x00\x00\x05hello"))
            .collect();
        let reply = [
            row_description(),
            rows,
            msg(b'C', b"SELECT 100\0"),
            READY.to_vec(),
        ]
        .concat();
        let mut parser = Pg::new(false);
        assert_eq!(
            parser.feed(&reply[..512], reply.len() as u64),
            [ok("", reply.len())]
        );
        assert!(parser.lost());
        // The middle of rows does not resync; a lone ReadyForQuery ends the
        // reply already reported.
        let more_rows = msg(b'D', b"\x00\x01\x00\x00\x00\x05hello");
        assert_eq!(parser.feed(&more_rows, more_rows.len() as u64), []);
        assert!(parser.lost());
        assert_eq!(parser.feed(READY, READY.len() as u64), []);
        assert!(!parser.lost());
        let insert = [msg(b'C', b"INSERT 0 1\0"), READY.to_vec()].concat();
        assert_eq!(
            parser.feed(&insert, insert.len() as u64),
            [ok("INSERT 0 1", insert.len())]
        );

        // A client write whose Parse runs past the capture: the cycle is
        // reported with the head of its statement.
        let sql = format!("SELECT * FROM t WHERE id IN ({}0)", "1, ".repeat(300));
        let write = [
            parse_message("", &sql),
            bind("", "", b"1"),
            execute(""),
            sync(),
        ]
        .concat();
        let mut parser = Pg::new(true);
        let frames = parser.feed(&write[..512], write.len() as u64);
        assert!(parser.lost());
        let [Frame::Request(cycle)] = frames.as_slice() else {
            panic!("one request expected, got {frames:?}");
        };
        assert_eq!(cycle.operation, "EXECUTE");
        assert!(
            cycle
                .target
                .starts_with("SELECT * FROM t WHERE id IN (?, ?, ?"),
            "{}",
            cycle.target
        );
        assert_eq!(cycle.bytes, write.len() as u64);
        let query = msg(b'Q', b"COMMIT\0");
        assert_eq!(
            parser.feed(&query, query.len() as u64),
            [request("QUERY", "COMMIT", query.len())]
        );
    }

    #[test]
    fn garbage_loses_the_stream() {
        let mut parser = Pg::new(true);
        assert_eq!(parser.feed(b"Qxxxxxxxx", 9), []);
        assert!(parser.lost());
        let mut parser = Pg::new(false);
        assert_eq!(parser.feed(b"Z\x00\x00\x00\x09IIII", 9), []);
        assert!(parser.lost());
        // Looks like a start, then is not: nothing of it is reported.
        let bad = [msg(b'C', b"SELECT 1\0"), b"?\x00\x00\x00\x04".to_vec()].concat();
        assert_eq!(parser.feed(&bad, bad.len() as u64), []);
        assert!(parser.lost());
    }

    #[test]
    fn hostile_feeds_neither_panic_nor_grow() {
        let client = [
            STARTUP.to_vec(),
            msg(b'Q', b"SELECT * FROM t WHERE a = 'x' AND b = $$y$$\0"),
            parse_message("s", "SELECT E'\\'' || $1"),
            bind("", "s", b"zz"),
            execute(""),
            sync(),
        ]
        .concat();
        let server = [
            AUTH_OK.to_vec(),
            READY.to_vec(),
            row_description(),
            msg(b'D', b"\x00\x01\x00\x00\x00\x011"),
            msg(b'C', b"SELECT 1\0"),
            error("42P01", "relation \"nope\" does not exist"),
            READY.to_vec(),
        ]
        .concat();
        let samples = [client.as_slice(), &server, SSL];
        let mut rng = super::super::fuzz::Rng(0x2545_f491_4f6c_dd1d);
        let mut parsers = [Pg::new(true), Pg::new(false)];
        for _ in 0..10_000 {
            let (bytes, len) = super::super::fuzz::hostile_feed(&mut rng, &samples);
            for parser in &mut parsers {
                for frame in parser.feed(&bytes, len) {
                    let shown = match frame {
                        Frame::Request(r) => {
                            assert!(r.target.chars().count() <= TARGET_CHARS);
                            r.target.to_string()
                        }
                        Frame::Response(r) => match r.status {
                            Status::PgOk(tag) => tag,
                            Status::PgError { code, message } => {
                                assert!(message.chars().count() <= MESSAGE_CHARS);
                                code + &message
                            }
                            other => panic!("not a PostgreSQL status: {other:?}"),
                        },
                    };
                    assert!(!shown.chars().any(char::is_control), "{shown:?}");
                }
                assert!(parser.buffered() <= 64 * 1024, "{parser:?}");
            }
            let _ = looks_like(&bytes, Direction::Out) || looks_like(&bytes, Direction::In);
        }
    }

    #[test]
    fn a_data_error_s_quoted_value_is_masked_and_a_name_is_not() {
        let status = |code: &str, message: &str, secrets| {
            let body = &error(code, message)[5..];
            error_status(body, secrets)
        };
        let refused = "invalid input syntax for type integer: \"hs-42\"";
        assert_eq!(
            status("22P02", refused, Secrets::Masked),
            Status::PgError {
                code: "22P02".into(),
                message: "invalid input syntax for type integer: \\\"****\\\"".into()
            }
        );
        let Status::PgError { message, .. } = status("22P02", refused, Secrets::Shown) else {
            panic!("an error")
        };
        assert!(message.contains("hs-42"));
        let missing = "relation \"nope\" does not exist";
        let Status::PgError { message, .. } = status("42P01", missing, Secrets::Masked) else {
            panic!("an error")
        };
        assert!(message.contains("nope"), "names are kept: {message}");
    }
}
