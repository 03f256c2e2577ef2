//! The wire forms of an exported record: RFC 5424 for syslog servers, RFC
//! 3164 for the local `/dev/log` socket, and the systemd journal's native
//! protocol.
//!
//! This is where bytes written by other processes (comm, paths, messages)
//! meet a log line, so this is where a record is kept from forging another:
//! in the text forms every process-supplied byte goes through
//! [`crate::escape`], which leaves no CR, LF or other control character and
//! always yields valid UTF-8. RFC 5424 wants its PARAM-VALUEs and MSG-UTF8
//! in UTF-8 (sections 6.3.3 and 6.4); invalid bytes therefore travel as
//! octal escapes (`\377`), never raw and never replaced by U+FFFD, so no
//! byte is lost either. The journal is binary-safe and gets the exact bytes.
//!
//! # Facility and severity
//!
//! A [`Record`]'s severity and facility already carry RFC 5424's numbers
//! (section 6.2.1): PRI is `facility * 8 + severity`, so `daemon.err` is
//! `<27>`. The journal gets the same numbers as `PRIORITY` and
//! `SYSLOG_FACILITY`. A facility above 23 (`local7`) does not exist and
//! would make PRI name another facility or leave its range; such a record
//! goes out as `user` (1), the facility syslog(3) assumes when none is
//! given.
//!
//! # RFC 5424 structured data
//!
//! Three SD-ELEMENTs, in this order:
//! - `[meta sequenceId="N"]`, registered by RFC 5424 (section 7.3.1), so a
//!   receiver can spot gaps. The RFC keeps sequenceId within 1 to
//!   2147483647 and restarts it at 1 past the top; [`sequence_id`] maps our
//!   64-bit counter onto that cycle.
//! - `[origin software="hostscope" swVersion="…"]`, registered by RFC 5424
//!   (section 7.2).
//! - `[hostscope@32473 …]`, the record's own fields. Names of our own have
//!   to take the `name@<private enterprise number>` form (section 6.3.2).
//!   32473 is the number IANA reserves for documentation (RFC 5612): it
//!   belongs to no one, so using it claims nothing that is someone else's.
//!   For the same reason it is not unique to us; a deployment that wants
//!   SD-IDs nobody else can emit should register its own PEN with IANA and
//!   change [`SD_ID`].
//!
//! A PARAM-VALUE is written in two layers, each undone by one rule: the raw
//! bytes are escaped by [`crate::escape::push_escaped`], then every `"`,
//! `\` and `]` of that text gets a backslash in front, as section 6.3.3
//! requires. A receiver that undoes section 6.3.3 (`\"`, `\\` and `\]`
//! become `"`, `\` and `]`) gets the strace-style text back exactly, and
//! that text names the raw bytes unambiguously. The second layer is not
//! optional even though the first already writes `\\` and `\"`: without it
//! a receiver would read the `\\` of a real backslash as one backslash, and
//! a path holding a backslash and an `n` would read the same as one holding
//! a newline.
//!
//! # Truncation
//!
//! UDP carries messages of at most 2048 bytes here. [`truncate`] cuts a
//! message to fit without breaking its form: in the MSG when the header
//! and structured data fit, else inside a PARAM-VALUE, which it closes (the
//! rest of the structured data and the MSG are dropped). Cuts never split a
//! UTF-8 character or an escape; what was cut ends with
//! [`TRUNCATION_MARKER`].
//!
//! # The journal
//!
//! `KEY=value\n` per field, and the binary form (`KEY\n`, the length as a
//! 64-bit little-endian number, the bytes, `\n`) where the value needs it.
//! The protocol requires the binary form only for values holding a newline
//! and allows it for any value. We also use it for values that are not
//! valid UTF-8 or hold another control character (TAB aside): the same rule
//! the journal's own export format follows, so a datagram seen in `strace`
//! shows every text field as text and no field can pose as two lines.

use crate::civil::Civil;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use super::record::{Origin, Record};
use crate::escape::{escape, quoted};

/// Which wire form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// BSD syslog as glibc's syslog(3) writes it to `/dev/log`.
    Rfc3164,
    /// The syslog protocol with structured data.
    Rfc5424,
    /// The systemd journal's native protocol.
    Journald,
}

impl FromStr for Format {
    type Err = String;

    /// Parses a `--format` value: `rfc3164` or `rfc5424`. The journal's
    /// form is not among them: it comes with the `journald` destination.
    fn from_str(s: &str) -> Result<Format, String> {
        if s.eq_ignore_ascii_case("rfc3164") {
            Ok(Format::Rfc3164)
        } else if s.eq_ignore_ascii_case("rfc5424") {
            Ok(Format::Rfc5424)
        } else {
            Err(format!(
                "--format: unknown format {}: expected rfc3164 or rfc5424 \
                 (the journal's native format comes with --to journald)",
                quoted(s.as_bytes())
            ))
        }
    }
}

/// The SD-ID of hostscope's own fields in RFC 5424 (see the module docs
/// for why this enterprise number).
pub const SD_ID: &str = "hostscope@32473";

/// What ends a truncated message (or PARAM-VALUE).
pub const TRUNCATION_MARKER: &str = "...[truncated]";

/// The largest RFC 5424 sequenceId (section 7.3.1); the next one is 1.
pub const SEQUENCE_ID_MAX: u32 = 2_147_483_647;

// Header limits of RFC 5424 (section 6), in characters (all ASCII).
const HOSTNAME_MAX: usize = 255;
const APP_NAME_MAX: usize = 48;
const MSGID_MAX: usize = 32;
/// SD-NAME (SD-ID and PARAM-NAME), section 6.3.
const SD_NAME_MAX: usize = 32;
/// RFC 3164 section 4.1.3 keeps the TAG (our app name) within 32.
const TAG_MAX: usize = 32;
/// The journal refuses longer field names.
const JOURNAL_KEY_MAX: usize = 64;

/// `swVersion` of the `origin` element.
const VERSION: &str = env!("CARGO_PKG_VERSION");
// RFC 5424 section 7.2.3 caps swVersion at 32 characters; a semver string
// holds none of `"`, `\` or `]`, so it is written without escaping.
const _: () = assert!(VERSION.len() <= 32);

/// Appends one record in `format` to `out` (no framing: no trailing newline
/// for 3164/5424 — the transport frames). `sequence` counts records from 1;
/// RFC 3164 has no place for it.
pub fn encode(format: Format, origin: &Origin, record: &Record, sequence: u64, out: &mut Vec<u8>) {
    match format {
        Format::Rfc3164 => rfc3164(origin, record, out),
        Format::Rfc5424 => rfc5424(origin, record, sequence, out),
        Format::Journald => journald(origin, record, sequence, out),
    }
}

/// The RFC 5424 sequenceId of the `sequence`-th record: the number in
/// 1..=[`SEQUENCE_ID_MAX`] equal to `sequence` modulo that maximum, so ids
/// climb to the maximum and restart at 1, as section 7.3.1 asks (and 0,
/// should a caller count from it, is the maximum: the id before 1).
pub fn sequence_id(sequence: u64) -> u32 {
    match sequence % u64::from(SEQUENCE_ID_MAX) {
        0 => SEQUENCE_ID_MAX,
        // Below SEQUENCE_ID_MAX, hence within u32.
        id => id as u32,
    }
}

/// Appends `record` as an RFC 5424 message:
/// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD...] MSG`, the time
/// in UTC to the microsecond.
pub fn rfc5424(origin: &Origin, record: &Record, sequence: u64, out: &mut Vec<u8>) {
    out.push(b'<');
    push_num(out, pri(record));
    out.extend_from_slice(b">1 ");
    push_timestamp(out, record.time);
    out.push(b' ');
    push_token(out, &origin.hostname, HOSTNAME_MAX, b"");
    out.push(b' ');
    push_token(out, origin.app_name, APP_NAME_MAX, b"");
    out.push(b' ');
    push_num(out, origin.procid);
    out.push(b' ');
    push_token(out, record.msgid, MSGID_MAX, b"");
    out.push(b' ');

    out.extend_from_slice(b"[meta sequenceId=\"");
    push_num(out, sequence_id(sequence));
    out.extend_from_slice(b"\"][origin software=\"hostscope\" swVersion=\"");
    out.extend_from_slice(VERSION.as_bytes());
    out.extend_from_slice(b"\"]");
    if !record.fields.is_empty() {
        out.push(b'[');
        out.extend_from_slice(SD_ID.as_bytes());
        for (name, value) in &record.fields {
            out.push(b' ');
            push_token(out, name, SD_NAME_MAX, b"=]\"");
            out.extend_from_slice(b"=\"");
            push_param_value(out, value);
            out.push(b'"');
        }
        out.push(b']');
    }

    // MSG-ANY, not MSG-UTF8: the latter starts with a BOM, and receivers
    // such as rsyslog keep that BOM in the text they store and forward. The
    // escaped text is UTF-8 all the same, and since the escaping turns a
    // U+FEFF into `\u{feff}`, it cannot start with a BOM of its own.
    if !record.message.is_empty() {
        out.push(b' ');
        out.extend_from_slice(escape(&record.message).as_bytes());
    }
}

/// Appends `record` as glibc's syslog(3) writes it to `/dev/log`:
/// `<PRI>Mmm dd hh:mm:ss APP[PID]: MSG`, in local time, with no HOSTNAME
/// (the local daemon adds it). MSG is the escaped message followed by
/// ` name=value` per field, each value escaped and quoted when it holds a
/// space or is empty.
pub fn rfc3164(origin: &Origin, record: &Record, out: &mut Vec<u8>) {
    let (secs, _) = unix_time(record.time);
    rfc3164_at(origin, record, secs.saturating_add(local_offset(secs)), out);
}

/// [`rfc3164`] with the time already in local seconds since the epoch.
fn rfc3164_at(origin: &Origin, record: &Record, local_secs: i64, out: &mut Vec<u8>) {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let t = Civil::from_unix(local_secs);
    out.push(b'<');
    push_num(out, pri(record));
    out.push(b'>');
    out.extend_from_slice(MONTHS[t.month as usize - 1]);
    // syslog(3)'s `%e`: the day padded with a space.
    out.push(b' ');
    if t.day < 10 {
        out.push(b' ');
    }
    push_num(out, t.day);
    out.push(b' ');
    push_clock(out, &t);
    out.push(b' ');
    // Readers of this form end the tag at `[` or `:`.
    push_token(out, origin.app_name, TAG_MAX, b"[]:");
    out.push(b'[');
    push_num(out, origin.procid);
    out.extend_from_slice(b"]: ");

    let msg_start = out.len();
    out.extend_from_slice(escape(&record.message).as_bytes());
    for (name, value) in &record.fields {
        if out.len() > msg_start {
            out.push(b' ');
        }
        push_token(out, name, SD_NAME_MAX, b"=]\"");
        out.push(b'=');
        let value = escape(value);
        // The escaping turns every `"` into `\"`, so quotes added here
        // cannot be closed early by the value.
        if value.is_empty() || value.contains(' ') {
            out.push(b'"');
            out.extend_from_slice(value.as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(value.as_bytes());
        }
    }
}

/// Appends `record` as one entry of the journal's native protocol:
/// `MESSAGE` (escaped, as it is shown to people), `PRIORITY`,
/// `SYSLOG_FACILITY`, `SYSLOG_IDENTIFIER`, `SYSLOG_PID`, `HOSTSCOPE_MSGID`,
/// `HOSTSCOPE_SEQUENCE` (the counter itself: the journal needs no wrap),
/// `HOSTSCOPE_REALTIME_TIMESTAMP` (when the event happened, in
/// microseconds since the epoch like the journal's own timestamps, which
/// say when the entry arrived: a record held for a window, or sent after a
/// reconnect, arrives later), then each field as `HOSTSCOPE_<NAME>` with
/// its exact raw bytes.
pub fn journald(origin: &Origin, record: &Record, sequence: u64, out: &mut Vec<u8>) {
    let mut num = itoa::Buffer::new();
    push_journal_field(out, b"MESSAGE", escape(&record.message).as_bytes());
    push_journal_field(
        out,
        b"PRIORITY",
        num.format(record.severity as u8).as_bytes(),
    );
    push_journal_field(
        out,
        b"SYSLOG_FACILITY",
        num.format(facility(record)).as_bytes(),
    );
    push_journal_field(out, b"SYSLOG_IDENTIFIER", origin.app_name.as_bytes());
    push_journal_field(out, b"SYSLOG_PID", num.format(origin.procid).as_bytes());
    push_journal_field(out, b"HOSTSCOPE_MSGID", record.msgid.as_bytes());
    push_journal_field(out, b"HOSTSCOPE_SEQUENCE", num.format(sequence).as_bytes());
    let usec = record
        .time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    push_journal_field(
        out,
        b"HOSTSCOPE_REALTIME_TIMESTAMP",
        num.format(usec).as_bytes(),
    );
    for (name, value) in &record.fields {
        push_journal_field(out, &journal_key(name), value);
    }
}

/// RFC 6587 octet counting: "LEN SP MSG", LEN in bytes.
pub fn octet_counted(message: &[u8], out: &mut Vec<u8>) {
    push_num(out, message.len());
    out.push(b' ');
    out.extend_from_slice(message);
}

/// Cuts an encoded RFC 5424/3164 message to at most `limit` bytes, on a
/// UTF-8 boundary, ending it with [`TRUNCATION_MARKER`]; no-op when it
/// fits. (UDP: limit 2048.) An RFC 5424 message stays well-formed (see the
/// module docs) unless `limit` cannot hold its header and first elements;
/// below the marker's own length, the message becomes as much of the
/// marker as fits.
pub fn truncate(message: &mut Vec<u8>, limit: usize) {
    if message.len() <= limit {
        return;
    }
    let cut = match structured_data_start(message) {
        Some(start) => cut_rfc5424(message, start, limit).or_else(|| cut_text(message, limit)),
        None => cut_text(message, limit),
    };
    match cut {
        Some((at, closing)) => {
            message.truncate(at);
            message.extend_from_slice(closing);
        }
        None => {
            message.clear();
            let marker = TRUNCATION_MARKER.as_bytes();
            message.extend_from_slice(&marker[..limit.min(marker.len())]);
        }
    }
}

/// What ends a message cut in its text.
const CLOSE_TEXT: &[u8] = TRUNCATION_MARKER.as_bytes();
/// What ends a message cut inside a PARAM-VALUE: the marker, its `]`
/// escaped as section 6.3.3 requires, then the value and element closed.
const CLOSE_VALUE: &[u8] = b"...[truncated\\]\"]";
/// What ends a message cut right after a PARAM-VALUE.
const CLOSE_PARAM: &[u8] = b"] ...[truncated]";
/// What ends a message cut after a whole SD-ELEMENT (or the NILVALUE).
const CLOSE_ELEMENT: &[u8] = b" ...[truncated]";

/// Where the structured data of an RFC 5424 message starts, or `None` when
/// `message` is not one.
fn structured_data_start(message: &[u8]) -> Option<usize> {
    let rest = message.strip_prefix(b"<")?;
    let pri_len = rest.iter().position(|&b| b == b'>')?;
    if !(1..=3).contains(&pri_len) || !rest[..pri_len].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut at = 1 + pri_len + 1;
    if !message[at..].starts_with(b"1 ") {
        return None;
    }
    // VERSION and the five header fields after it hold no spaces.
    for _ in 0..6 {
        at += message[at..].iter().position(|&b| b == b' ')? + 1;
    }
    Some(at)
}

/// Where an RFC 5424 message that is longer than `limit` must be cut
/// (at or after `start`, its structured data) and what closes it there.
fn cut_rfc5424(message: &[u8], start: usize, limit: usize) -> Option<(usize, &'static [u8])> {
    #[derive(Clone, Copy, PartialEq)]
    enum Place {
        /// Between SD-ELEMENTs, or before the first.
        Between,
        /// In an SD-ELEMENT, outside a PARAM-VALUE.
        Element,
        Value,
        /// Right after a backslash in a PARAM-VALUE.
        ValueEscape,
        AfterValue,
        Msg,
    }
    let mut place = Place::Between;
    let mut text = Escape::Plain;
    let mut best = None;
    // The message is longer than `limit`, so every index here is in it.
    for at in start..=limit {
        let b = message[at];
        let closing = match place {
            Place::Value => {
                // Cutting before `\]` is cutting before the `]` it stands for.
                let stands_for = if b == b'\\' {
                    message.get(at + 1).copied()
                } else {
                    Some(b)
                };
                stands_for
                    .is_some_and(|c| text.can_cut_before(c))
                    .then_some(CLOSE_VALUE)
            }
            Place::AfterValue => Some(CLOSE_PARAM),
            // An empty SD is no SD: the first element must stay.
            Place::Between if at > start => Some(CLOSE_ELEMENT),
            Place::Msg => text.can_cut_before(b).then_some(CLOSE_TEXT),
            _ => None,
        };
        if let Some(closing) = closing
            && at + closing.len() <= limit
        {
            best = Some((at, closing));
        }
        place = match (place, b) {
            (Place::Between, b'-') if at == start => Place::Between,
            (Place::Between, b'[') => Place::Element,
            (Place::Between, b' ') => {
                text = Escape::Plain;
                Place::Msg
            }
            (Place::Element, b'"') => {
                text = Escape::Plain;
                Place::Value
            }
            (Place::Element, b']') | (Place::AfterValue, b']') => Place::Between,
            (Place::Element, _) | (Place::AfterValue, b' ') => Place::Element,
            (Place::Value, b'\\') => Place::ValueEscape,
            (Place::Value, b'"') => Place::AfterValue,
            (Place::Value | Place::ValueEscape, b) => {
                text = text.next(b);
                Place::Value
            }
            (Place::Msg, b) => {
                text = text.next(b);
                Place::Msg
            }
            // Not the form `rfc5424` writes: no cut further on is safe.
            _ => break,
        };
    }
    best
}

/// Where a message that is longer than `limit` can be cut anywhere, as
/// plain escaped text, to end with the marker.
fn cut_text(message: &[u8], limit: usize) -> Option<(usize, &'static [u8])> {
    let mut text = Escape::Plain;
    let mut best = None;
    for (at, &b) in message.iter().enumerate() {
        if at + CLOSE_TEXT.len() > limit {
            break;
        }
        if text.can_cut_before(b) {
            best = Some((at, CLOSE_TEXT));
        }
        text = text.next(b);
    }
    best
}

/// Where escaped text stands, as [`crate::escape`] writes it: so that a
/// cut never leaves half an escape, which would read as another byte.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Escape {
    Plain,
    Backslash,
    /// In `\u{…}`.
    Unicode,
    /// After this many octal digits.
    Octal(u8),
}

impl Escape {
    /// Whether the text can end before byte `b`: not inside a UTF-8
    /// character nor inside an escape.
    fn can_cut_before(self, b: u8) -> bool {
        let char_boundary = b & 0xc0 != 0x80;
        char_boundary
            && match self {
                Escape::Plain => true,
                // An octal escape before a digit always has three digits.
                Escape::Octal(n) => n == 3 || !b.is_ascii_digit(),
                Escape::Backslash | Escape::Unicode => false,
            }
    }

    /// The state after byte `b`.
    fn next(self, b: u8) -> Escape {
        match (self, b) {
            (Escape::Backslash, b'u') => Escape::Unicode,
            (Escape::Backslash, b) if b.is_ascii_digit() => Escape::Octal(1),
            (Escape::Unicode, b'}') | (Escape::Backslash, _) => Escape::Plain,
            (Escape::Unicode, _) => Escape::Unicode,
            (Escape::Octal(n), b) if n < 3 && b.is_ascii_digit() => Escape::Octal(n + 1),
            (Escape::Plain | Escape::Octal(_), b'\\') => Escape::Backslash,
            (Escape::Plain | Escape::Octal(_), _) => Escape::Plain,
        }
    }
}

/// The facility a record goes out under (see the module docs).
fn facility(record: &Record) -> u8 {
    match record.facility.0 {
        f @ 0..=23 => f,
        _ => 1,
    }
}

/// RFC 5424's PRI: at most 23 * 8 + 7 = 191.
fn pri(record: &Record) -> u8 {
    facility(record) * 8 + record.severity as u8
}

fn push_num(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// `n` in decimal, zero-padded to `width` digits.
fn push_padded(out: &mut Vec<u8>, n: u32, width: usize) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(n);
    out.resize(out.len() + width.saturating_sub(digits.len()), b'0');
    out.extend_from_slice(digits.as_bytes());
}

/// Appends `text` as a header token: printable ASCII (33 to 126) other than
/// `forbidden`, each other character replaced by `_`, at most `max`
/// characters, and `-` (RFC 5424's NILVALUE) when empty.
fn push_token(out: &mut Vec<u8>, text: &str, max: usize, forbidden: &[u8]) {
    let start = out.len();
    out.extend(text.chars().take(max).map(|c| match u8::try_from(c) {
        Ok(b) if b.is_ascii_graphic() && !forbidden.contains(&b) => b,
        _ => b'_',
    }));
    if out.len() == start {
        out.push(b'-');
    }
}

/// Appends process-supplied `raw` as a PARAM-VALUE, by the two-layer rule
/// of the module docs.
fn push_param_value(out: &mut Vec<u8>, raw: &[u8]) {
    for b in escape(raw).bytes() {
        if matches!(b, b'"' | b'\\' | b']') {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// Appends one journal field, in the binary form when the module docs say
/// so.
fn push_journal_field(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    out.extend_from_slice(key);
    let text =
        std::str::from_utf8(value).is_ok_and(|s| !s.chars().any(|c| c.is_control() && c != '\t'));
    if text {
        out.push(b'=');
    } else {
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    }
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// `HOSTSCOPE_<NAME>`: the journal takes A-Z, 0-9 and `_` in field names,
/// at most 64 of them, not starting with `_` (those are the journal's own)
/// or a digit; the prefix sees to the start.
fn journal_key(name: &str) -> Vec<u8> {
    let mut key = b"HOSTSCOPE_".to_vec();
    key.extend(name.bytes().map(|b| {
        let b = b.to_ascii_uppercase();
        if b.is_ascii_uppercase() || b.is_ascii_digit() {
            b
        } else {
            b'_'
        }
    }));
    key.truncate(JOURNAL_KEY_MAX);
    key
}

/// `time` as whole seconds since the epoch (rounded down, also before it)
/// and the microseconds past them.
fn unix_time(time: SystemTime) -> (i64, u32) {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => (
            i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            after.subsec_micros(),
        ),
        Err(before) => {
            let before = before.duration();
            let secs = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            match before.subsec_nanos() {
                0 => (-secs, 0),
                nanos => (-secs - 1, (1_000_000_000 - nanos) / 1000),
            }
        }
    }
}

/// Appends RFC 5424's TIMESTAMP, `2026-11-28T23:01:49.123456Z`, or its
/// NILVALUE for a time whose year has no four digits.
fn push_timestamp(out: &mut Vec<u8>, time: SystemTime) {
    let (secs, micros) = unix_time(time);
    let t = Civil::from_unix(secs);
    let Some(year) = u32::try_from(t.year).ok().filter(|y| *y <= 9999) else {
        out.push(b'-');
        return;
    };
    push_padded(out, year, 4);
    out.push(b'-');
    push_padded(out, t.month, 2);
    out.push(b'-');
    push_padded(out, t.day, 2);
    out.push(b'T');
    push_clock(out, &t);
    out.push(b'.');
    push_padded(out, micros, 6);
    out.push(b'Z');
}

/// `hh:mm:ss`.
fn push_clock(out: &mut Vec<u8>, t: &Civil) {
    push_padded(out, t.hour, 2);
    out.push(b':');
    push_padded(out, t.minute, 2);
    out.push(b':');
    push_padded(out, t.second, 2);
}

/// Seconds east of UTC of the local time zone at `secs`; 0 (UTC) when the
/// C library cannot tell.
fn local_offset(secs: i64) -> i64 {
    // Where time_t has 32 bits, times past 2038 wrap; only the offset is
    // taken from the result, and it changes only with the zone's rules.
    let time = secs as libc::time_t;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::uninit();
    // SAFETY: both pointers are valid for the call, and localtime_r writes
    // only to `tm`. It reads TZ from the environment, which (edition 2024)
    // only unsafe code may change while threads run.
    let filled = unsafe { libc::localtime_r(&time, tm.as_mut_ptr()) };
    if filled.is_null() {
        return 0;
    }
    // SAFETY: localtime_r returned non-null, so it filled `tm`.
    let tm = unsafe { tm.assume_init() };
    #[cfg_attr(
        target_pointer_width = "64",
        expect(
            clippy::useless_conversion,
            reason = "tm_gmtoff is a c_long: i64 here, narrower elsewhere"
        )
    )]
    i64::from(tm.tm_gmtoff)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::export::record::{Facility, Severity};

    /// 2026-11-28T23:01:49.123456Z.
    fn at() -> SystemTime {
        UNIX_EPOCH + Duration::new(1_795_906_909, 123_456_789)
    }

    fn origin() -> Origin {
        Origin {
            hostname: "web-1".into(),
            app_name: "hostscope",
            procid: 4242,
        }
    }

    fn plain() -> Record {
        Record::new(
            at(),
            Severity::Error,
            "missing",
            "ENOENT /etc/x.conf x3 in 10 s by app[123]",
        )
        .field("pid", "123")
        .field("comm", "app")
        .field("path", "/etc/x.conf")
        .field("count", "3")
    }

    /// Every character an attacker would use to end a record early, hide
    /// text or break a parser.
    const HOSTILE_PATH: &[u8] = b"/tmp/a\nb\x1b[31m\"q\"]\\\xff";

    fn hostile() -> Record {
        let mut message = b"ENOENT ".to_vec();
        message.extend_from_slice(HOSTILE_PATH);
        Record::new(at(), Severity::Warning, "missing", message)
            .field("pid", "7")
            .field("path", HOSTILE_PATH)
    }

    fn encoded(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut out);
        out
    }

    /// An RFC 5424 message taken apart by the RFC's grammar, PARAM-VALUEs
    /// unescaped by section 6.3.3, strictly: a backslash before anything
    /// but `"`, `\` or `]` fails the test, since we never write one.
    struct Parsed {
        header: Vec<String>,
        elements: Vec<(String, Vec<(String, String)>)>,
        msg: Option<String>,
    }

    fn parse_5424(message: &[u8]) -> Parsed {
        let text = std::str::from_utf8(message).expect("RFC 5424 output is UTF-8");
        let mut rest = text;
        let mut header = Vec::new();
        for _ in 0..6 {
            let (token, tail) = rest.split_once(' ').expect("six header fields");
            header.push(token.to_owned());
            rest = tail;
        }
        let mut elements = Vec::new();
        if let Some(tail) = rest.strip_prefix('-') {
            rest = tail;
        } else {
            while let Some(tail) = rest.strip_prefix('[') {
                let end = tail.find([' ', ']']).expect("SD-ID ends");
                let id = tail[..end].to_owned();
                rest = &tail[end..];
                let mut params = Vec::new();
                while let Some(tail) = rest.strip_prefix(' ') {
                    let (name, tail) = tail.split_once("=\"").expect("PARAM-NAME=\"");
                    let mut value = String::new();
                    let mut chars = tail.char_indices();
                    let end = loop {
                        match chars.next().expect("PARAM-VALUE ends") {
                            (i, '"') => break i,
                            (_, '\\') => match chars.next() {
                                Some((_, c @ ('"' | '\\' | ']'))) => value.push(c),
                                other => panic!("stray backslash before {other:?} in {text}"),
                            },
                            (_, ']') => panic!("unescaped ] in a PARAM-VALUE of {text}"),
                            (_, c) => value.push(c),
                        }
                    };
                    params.push((name.to_owned(), value));
                    rest = &tail[end + 1..];
                }
                rest = rest.strip_prefix(']').expect("SD-ELEMENT closed");
                elements.push((id, params));
            }
            assert!(!elements.is_empty(), "no structured data in {text}");
        }
        let msg = match rest {
            "" => None,
            _ => Some(rest.strip_prefix(' ').expect("SP before MSG").to_owned()),
        };
        Parsed {
            header,
            elements,
            msg,
        }
    }

    fn param<'a>(parsed: &'a Parsed, id: &str, name: &str) -> &'a str {
        let (_, params) = parsed
            .elements
            .iter()
            .find(|(i, _)| i == id)
            .unwrap_or_else(|| panic!("no element {id}"));
        let (_, value) = params
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no {name} in {id}"));
        value
    }

    /// The fields of a native-protocol datagram, in order.
    fn journal_fields(mut data: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut fields = Vec::new();
        while !data.is_empty() {
            let nl = data.iter().position(|&b| b == b'\n').expect("field ends");
            let line = &data[..nl];
            let (key, value, rest) = match line.iter().position(|&b| b == b'=') {
                Some(eq) => (&line[..eq], line[eq + 1..].to_vec(), &data[nl + 1..]),
                None => {
                    let tail = &data[nl + 1..];
                    let len = u64::from_le_bytes(tail[..8].try_into().expect("8 bytes"));
                    let len = usize::try_from(len).expect("length fits");
                    let value = tail[8..8 + len].to_vec();
                    assert_eq!(tail[8 + len], b'\n', "binary field ends with a newline");
                    (line, value, &tail[9 + len..])
                }
            };
            fields.push((String::from_utf8(key.to_vec()).expect("ASCII key"), value));
            data = rest;
        }
        fields
    }

    #[test]
    fn rfc5424_plain_record() {
        let out = encoded(|out| rfc5424(&origin(), &plain(), 7, out));
        let expected = concat!(
            "<27>1 2026-11-28T23:01:49.123456Z web-1 hostscope 4242 missing ",
            "[meta sequenceId=\"7\"]",
            "[origin software=\"hostscope\" swVersion=\"",
            env!("CARGO_PKG_VERSION"),
            "\"]",
            "[hostscope@32473 pid=\"123\" comm=\"app\" path=\"/etc/x.conf\" count=\"3\"]",
            " ENOENT /etc/x.conf x3 in 10 s by app[123]",
        );
        assert_eq!(String::from_utf8_lossy(&out), expected);
    }

    #[test]
    fn rfc5424_hostile_record_is_one_valid_line() {
        let out = encoded(|out| rfc5424(&origin(), &hostile(), 1, out));
        let expected = concat!(
            "<28>1 2026-11-28T23:01:49.123456Z web-1 hostscope 4242 missing ",
            "[meta sequenceId=\"1\"]",
            "[origin software=\"hostscope\" swVersion=\"",
            env!("CARGO_PKG_VERSION"),
            "\"]",
            r#"[hostscope@32473 pid="7" path="/tmp/a\\nb\\33[31m\\\"q\\\"\]\\\\\\377"]"#,
            r#" ENOENT /tmp/a\nb\33[31m\"q\"]\\\377"#,
        );
        assert_eq!(String::from_utf8_lossy(&out), expected);
        assert!(
            !out.iter().any(|&b| b < 0x20 || b == 0x7f),
            "control byte in {out:?}"
        );
        let parsed = parse_5424(&out);
        assert_eq!(param(&parsed, SD_ID, "path"), escape(HOSTILE_PATH));
        assert_eq!(
            parsed.msg.as_deref(),
            Some(escape(&hostile().message).as_str())
        );
    }

    #[test]
    fn sd_values_round_trip_unambiguously() {
        // Pairs that a single layer of escaping would confuse.
        let values: [&[u8]; 8] = [
            b"a\\nb", b"a\nb", b"\\", b"\"", b"]", b"\\]", b"\\\"", b"\xff",
        ];
        let mut seen = Vec::new();
        for value in values {
            let record = Record::new(at(), Severity::Notice, "exec", "").field("v", value);
            let out = encoded(|out| rfc5424(&origin(), &record, 1, out));
            let parsed = parse_5424(&out);
            let back = param(&parsed, SD_ID, "v").to_owned();
            assert_eq!(back, escape(value), "{value:?}");
            assert!(!seen.contains(&back), "{value:?} reads like another value");
            seen.push(back);
            assert_eq!(parsed.msg, None, "empty message, no MSG");
        }
    }

    #[test]
    fn rfc5424_header_limits_and_sanitizing() {
        let long_host = "h".repeat(300);
        let origin = Origin {
            hostname: long_host,
            app_name: "an-app-name-that-is-much-longer-than-forty-eight-characters",
            procid: 1,
        };
        let record = Record::new(
            at(),
            Severity::Informational,
            "a-msgid-that-is-longer-than-thirty-two",
            "m",
        );
        let out = encoded(|out| rfc5424(&origin, &record, 1, out));
        let parsed = parse_5424(&out);
        assert_eq!(parsed.header[2], "h".repeat(255));
        assert_eq!(
            parsed.header[3],
            "an-app-name-that-is-much-longer-than-forty-eight"
        );
        assert_eq!(parsed.header[5], "a-msgid-that-is-longer-than-thir");

        let origin = Origin {
            hostname: "bad host\u{e9}\n".into(),
            app_name: "",
            procid: 1,
        };
        let record = Record::new(at(), Severity::Informational, "", "m");
        let out = encoded(|out| rfc5424(&origin, &record, 1, out));
        let parsed = parse_5424(&out);
        assert_eq!(parsed.header[2], "bad_host__");
        assert_eq!(parsed.header[3], "-");
        assert_eq!(parsed.header[5], "-");
    }

    #[test]
    fn pri_is_facility_times_eight_plus_severity() {
        let mut record = Record::new(at(), Severity::Error, "x", "m");
        assert_eq!(pri(&record), 27, "daemon.err");
        record.facility = Facility::LOCAL0;
        record.severity = Severity::Debug;
        assert_eq!(pri(&record), 135, "local0.debug");
        record.facility = Facility(23);
        assert_eq!(pri(&record), 191, "local7.debug, the largest");
        record.facility = Facility(200);
        record.severity = Severity::Emergency;
        assert_eq!(pri(&record), 8, "no such facility: user");
    }

    #[test]
    fn timestamps() {
        let stamp = |time| {
            String::from_utf8(encoded(|out| push_timestamp(out, time)))
                .expect("timestamps are ASCII")
        };
        assert_eq!(stamp(at()), "2026-11-28T23:01:49.123456Z");
        assert_eq!(stamp(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            stamp(UNIX_EPOCH + Duration::from_secs(951_825_600)),
            "2000-02-29T12:00:00.000000Z"
        );
        assert_eq!(
            stamp(UNIX_EPOCH - Duration::from_nanos(500)),
            "1969-12-31T23:59:59.999999Z"
        );
        assert_eq!(
            stamp(UNIX_EPOCH + Duration::from_secs(253_402_300_800)),
            "-",
            "year 10000"
        );
    }

    #[test]
    fn rfc3164_plain_record() {
        let out = encoded(|out| rfc3164_at(&origin(), &plain(), 1_795_906_909, out));
        assert_eq!(
            String::from_utf8_lossy(&out),
            "<27>Nov 28 23:01:49 hostscope[4242]: ENOENT /etc/x.conf x3 in 10 s by app[123] \
             pid=123 comm=app path=/etc/x.conf count=3"
        );
        // An hour east of UTC; and syslog(3)'s space-padded day.
        let out = encoded(|out| rfc3164_at(&origin(), &plain(), 1_795_906_909 + 3600, out));
        assert!(out.starts_with(b"<27>Nov 29 00:01:49 "), "{out:?}");
        let out = encoded(|out| rfc3164_at(&origin(), &plain(), 1_772_672_400, out));
        assert!(out.starts_with(b"<27>Mar  5 01:00:00 "), "{out:?}");
    }

    #[test]
    fn rfc3164_hostile_record_is_one_line() {
        let record = hostile().field("comm", "my app").field("empty", "");
        let out = encoded(|out| rfc3164_at(&origin(), &record, 1_795_906_909, out));
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"<28>Nov 28 23:01:49 hostscope[4242]: ENOENT /tmp/a\nb\33[31m\"q\"]\\\377 pid=7 path=/tmp/a\nb\33[31m\"q\"]\\\377 comm="my app" empty="""#
        );
        assert!(std::str::from_utf8(&out).is_ok());
        assert!(
            !out.iter().any(|&b| b < 0x20 || b == 0x7f),
            "control byte in {out:?}"
        );
    }

    #[test]
    fn rfc3164_uses_the_local_clock() {
        let out = encoded(|out| rfc3164(&origin(), &plain(), out));
        assert!(out.starts_with(b"<27>"), "{out:?}");
        assert!(
            out.windows(b" hostscope[4242]: ENOENT".len())
                .any(|w| w == b" hostscope[4242]: ENOENT"),
            "{out:?}"
        );
    }

    #[test]
    fn journald_plain_record() {
        let out = encoded(|out| journald(&origin(), &plain(), 7, out));
        assert_eq!(
            String::from_utf8_lossy(&out),
            "MESSAGE=ENOENT /etc/x.conf x3 in 10 s by app[123]\n\
             PRIORITY=3\n\
             SYSLOG_FACILITY=3\n\
             SYSLOG_IDENTIFIER=hostscope\n\
             SYSLOG_PID=4242\n\
             HOSTSCOPE_MSGID=missing\n\
             HOSTSCOPE_SEQUENCE=7\n\
             HOSTSCOPE_REALTIME_TIMESTAMP=1795906909123456\n\
             HOSTSCOPE_PID=123\n\
             HOSTSCOPE_COMM=app\n\
             HOSTSCOPE_PATH=/etc/x.conf\n\
             HOSTSCOPE_COUNT=3\n"
        );
    }

    #[test]
    fn journald_keeps_exact_bytes_in_binary_form() {
        let record = hostile().field("tab", "a\tb").field("esc", "a\x1bb");
        let out = encoded(|out| journald(&origin(), &record, 3_000_000_000, out));
        let mut expected = concat!(
            r#"MESSAGE=ENOENT /tmp/a\nb\33[31m\"q\"]\\\377"#,
            "\nPRIORITY=4\nSYSLOG_FACILITY=3\nSYSLOG_IDENTIFIER=hostscope\nSYSLOG_PID=4242\n",
            "HOSTSCOPE_MSGID=missing\nHOSTSCOPE_SEQUENCE=3000000000\n",
            "HOSTSCOPE_REALTIME_TIMESTAMP=1795906909123456\nHOSTSCOPE_PID=7\n",
            "HOSTSCOPE_PATH\n\x13\0\0\0\0\0\0\0",
        )
        .as_bytes()
        .to_vec();
        expected.extend_from_slice(HOSTILE_PATH);
        expected
            .extend_from_slice(b"\nHOSTSCOPE_TAB=a\tb\nHOSTSCOPE_ESC\n\x03\0\0\0\0\0\0\0a\x1bb\n");
        assert_eq!(out, expected);

        let fields = journal_fields(&out);
        let path = fields
            .iter()
            .find(|(k, _)| k == "HOSTSCOPE_PATH")
            .expect("path field");
        assert_eq!(path.1, HOSTILE_PATH);
        assert_eq!(fields.len(), 12);
    }

    #[test]
    fn journal_keys_are_valid_names() {
        assert_eq!(journal_key("window_s"), b"HOSTSCOPE_WINDOW_S");
        assert_eq!(journal_key("a-b.c9"), b"HOSTSCOPE_A_B_C9");
        assert_eq!(journal_key(&"x".repeat(80)).len(), 64);
    }

    #[test]
    fn encode_picks_the_form() {
        for (format, expected) in [
            (Format::Rfc3164, &b"<27>"[..]),
            (Format::Rfc5424, b"<27>1 "),
            (Format::Journald, b"MESSAGE="),
        ] {
            let out = encoded(|out| encode(format, &origin(), &plain(), 1, out));
            assert!(out.starts_with(expected), "{format:?}: {out:?}");
        }
    }

    #[test]
    fn format_names() {
        assert_eq!("rfc3164".parse(), Ok(Format::Rfc3164));
        assert_eq!("RFC5424".parse(), Ok(Format::Rfc5424));
        let err = "journald".parse::<Format>().unwrap_err();
        assert!(err.contains("\"journald\""), "{err}");
        assert!(err.contains("rfc3164 or rfc5424"), "{err}");
    }

    #[test]
    fn octet_counting() {
        assert_eq!(encoded(|out| octet_counted(b"abc", out)), b"3 abc");
        assert_eq!(encoded(|out| octet_counted(b"", out)), b"0 ");
    }

    #[test]
    fn sequence_ids_wrap_within_range() {
        let max = u64::from(SEQUENCE_ID_MAX);
        assert_eq!(sequence_id(1), 1);
        assert_eq!(sequence_id(max), SEQUENCE_ID_MAX);
        assert_eq!(sequence_id(max + 1), 1);
        assert_eq!(sequence_id(2 * max + 5), 5);
        assert_eq!(sequence_id(0), SEQUENCE_ID_MAX);
        assert!((1..=SEQUENCE_ID_MAX).contains(&sequence_id(u64::MAX)));
    }

    #[test]
    fn short_messages_are_not_truncated() {
        let mut out = encoded(|out| rfc5424(&origin(), &plain(), 1, out));
        let before = out.clone();
        truncate(&mut out, 2048);
        assert_eq!(out, before);
        truncate(&mut out, before.len());
        assert_eq!(out, before);
    }

    #[test]
    fn long_msg_is_cut_in_the_msg() {
        let message = "é".repeat(3000);
        let record = plain();
        let record = Record {
            message: message.into_bytes(),
            ..record
        };
        let mut out = encoded(|out| rfc5424(&origin(), &record, 1, out));
        truncate(&mut out, 2048);
        assert!(out.len() <= 2048 && out.len() >= 2046, "{}", out.len());
        let parsed = parse_5424(&out);
        assert_eq!(param(&parsed, SD_ID, "path"), "/etc/x.conf");
        let msg = parsed.msg.expect("MSG kept");
        assert!(msg.ends_with(TRUNCATION_MARKER), "{msg}");
        assert!(msg.starts_with("éé"), "{msg}");
    }

    /// The bytes strace-style text stands for; panics on half an escape.
    fn unescape(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                continue;
            }
            let code = match chars
                .next()
                .unwrap_or_else(|| panic!("dangling \\ in {text}"))
            {
                'n' => b'\n',
                't' => b'\t',
                'r' => b'\r',
                'v' => 0x0b,
                'f' => 0x0c,
                '\\' => b'\\',
                '"' => b'"',
                'u' => {
                    assert_eq!(chars.next(), Some('{'), "\\u without {{ in {text}");
                    let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    let c = u32::from_str_radix(&hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or_else(|| panic!("bad \\u{{{hex}}} in {text}"));
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    continue;
                }
                d @ '0'..='7' => {
                    let mut code = d as u8 - b'0';
                    for _ in 0..2 {
                        match chars.peek() {
                            Some(&d @ '0'..='7') => {
                                code = code * 8 + (d as u8 - b'0');
                                chars.next();
                            }
                            _ => break,
                        }
                    }
                    code
                }
                other => panic!("unknown escape \\{other} in {text}"),
            };
            out.push(code);
        }
        out
    }

    #[test]
    fn long_value_is_cut_inside_it_and_closed() {
        let mut path = b"/tmp/".to_vec();
        for _ in 0..1000 {
            path.extend_from_slice("\x1b1\x01x\u{202e}\"]\\".as_bytes());
            path.extend_from_slice(b"\xff\xe2\x98\x95");
        }
        let record = hostile().field("path2", path.clone()).field("after", "x");
        let whole = encoded(|out| rfc5424(&origin(), &record, 9, out));
        let fields_start = whole
            .windows(SD_ID.len())
            .position(|w| w == SD_ID.as_bytes())
            .expect("our element");
        let mut cut_in_value = 0;
        for limit in fields_start + 40..fields_start + 700 {
            let mut out = whole.clone();
            truncate(&mut out, limit);
            assert!(out.len() <= limit, "{limit}: {}", out.len());
            assert!(out.len() + 20 > limit, "{limit}: cut too short");
            let parsed = parse_5424(&out);
            assert_eq!(param(&parsed, "meta", "sequenceId"), "9");
            // What survives of a cut value stands for a prefix of the raw
            // bytes, no escape split, then the marker.
            let (_, params) = &parsed.elements[2];
            let (name, value) = params.last().expect("a parameter");
            if let Some(kept) = value.strip_suffix(TRUNCATION_MARKER) {
                let raw = record.get(name).expect("a field of the record");
                assert!(raw.starts_with(&unescape(kept)), "{limit}: {kept}");
                assert_eq!(parsed.msg, None, "{limit}");
                cut_in_value += 1;
            } else {
                assert_eq!(parsed.msg.as_deref(), Some(TRUNCATION_MARKER), "{limit}");
            }
        }
        assert!(cut_in_value > 600, "{cut_in_value}");
    }

    #[test]
    fn udp_limit_keeps_utf8_and_marks_the_cut() {
        let mut path = Vec::new();
        for _ in 0..2000 {
            path.extend_from_slice("☕\n".as_bytes());
        }
        let record =
            Record::new(at(), Severity::Warning, "missing", path.clone()).field("path", path);
        for format in [Format::Rfc5424, Format::Rfc3164] {
            let mut out = encoded(|out| encode(format, &origin(), &record, 1, out));
            truncate(&mut out, 2048);
            assert!(out.len() <= 2048, "{format:?}: {}", out.len());
            let text = std::str::from_utf8(&out).expect("UTF-8 after the cut");
            assert!(text.contains("...[truncated"), "{format:?}: {text}");
            assert!(!text.ends_with('\\') && !text.contains(r"\...["), "{text}");
            if format == Format::Rfc5424 {
                parse_5424(&out);
            }
        }
    }

    #[test]
    fn tiny_limits_still_hold() {
        let mut out = encoded(|out| rfc5424(&origin(), &plain(), 1, out));
        truncate(&mut out, 20);
        assert!(out.len() <= 20 && out.ends_with(TRUNCATION_MARKER.as_bytes()));
        let mut out = encoded(|out| rfc3164_at(&origin(), &plain(), 0, out));
        truncate(&mut out, 5);
        assert_eq!(out, b"...[t");
    }
}
