//! Making text that came from a process safe to show.
//!
//! Process names, paths, argv and payloads are written by whoever runs the
//! process: they can hold terminal escape sequences, newlines that forge
//! output lines, invalid UTF-8 and bidi overrides that reorder what a reader
//! sees. Every byte of such text goes through this module before it reaches a
//! terminal, a file or a log line. JSON keeps the exact bytes instead (see
//! [`json_bytes`]).

use std::fmt::{self, Write};

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Escapes `bytes` strace-style for a terminal: printable text stays, `\n`,
/// `\t`, `\r`, `\\` and `"` are backslash-escaped, other control bytes and
/// invalid UTF-8 become octal (`\33`, `\377`), and invisible or reordering
/// characters (C1 controls, bidi overrides, zero-width marks) become `\u{…}`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    push_escaped(&mut out, bytes);
    out
}

/// Like [`escape`], wrapped in double quotes, as strace prints strings.
pub fn quoted(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    push_escaped(&mut out, bytes);
    out.push('"');
    out
}

/// Appends the escaped form of `bytes` to `out`.
pub fn push_escaped(out: &mut String, bytes: &[u8]) {
    // Most of what processes pass is valid UTF-8, which std checks fastest
    // in one go; only the rest is taken apart chunk by chunk.
    if let Ok(text) = std::str::from_utf8(bytes) {
        push_escaped_str(out, text);
        return;
    }
    for chunk in bytes.utf8_chunks() {
        push_escaped_str(out, chunk.valid());
        // Bytes >= 0x80 always take three octal digits, so no lookahead.
        for &b in chunk.invalid() {
            push_octal(out, b, false);
        }
    }
}

fn push_escaped_str(out: &mut String, mut rest: &str) {
    while !rest.is_empty() {
        // Most of it is plain ASCII: copy that in runs rather than a
        // character at a time.
        let plain = rest
            .bytes()
            .position(|b| !is_plain(b))
            .unwrap_or(rest.len());
        out.push_str(&rest[..plain]);
        let mut chars = rest[plain..].chars();
        let Some(c) = chars.next() else { break };
        rest = chars.as_str();
        // An octal escape followed by a digit would read as a longer
        // escape; strace switches to three digits there, and so do we. A
        // character that ends a valid chunk is followed by invalid bytes,
        // never by a digit.
        let next_is_digit = rest.as_bytes().first().is_some_and(u8::is_ascii_digit);
        push_char(out, c, next_is_digit);
    }
}

/// Printable ASCII that stands for itself in strace's quoting.
fn is_plain(b: u8) -> bool {
    matches!(b, b' '..=b'~') && b != b'"' && b != b'\\'
}

fn push_char(out: &mut String, c: char, next_is_digit: bool) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        '\x0b' => out.push_str("\\v"),
        '\x0c' => out.push_str("\\f"),
        c if (c as u32) < 0x20 || c == '\x7f' => push_octal(out, c as u8, next_is_digit),
        c if is_invisible(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

fn push_octal(out: &mut String, b: u8, next_is_digit: bool) {
    out.push('\\');
    if next_is_digit || b >= 0o100 {
        out.push(char::from(b'0' + (b >> 6)));
    }
    if next_is_digit || b >= 0o10 {
        out.push(char::from(b'0' + ((b >> 3) & 7)));
    }
    out.push(char::from(b'0' + (b & 7)));
}

/// Characters that are valid UTF-8 but must not reach a terminal raw: C1
/// controls (some terminals act on them), and format characters that hide
/// text or reorder it (bidi embeddings, overrides and isolates, zero-width
/// marks, the BOM, the line and paragraph separators).
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x80..=0x9f
        | 0x00ad
        | 0x061c
        | 0x180e
        | 0x200b..=0x200f
        | 0x2028..=0x202e
        | 0x2060..=0x2069
        | 0xfeff
        | 0xfff9..=0xfffb)
}

/// The JSON form of process-supplied bytes: a string when they are valid
/// UTF-8 (serde escapes control characters, so the JSON stays valid), else
/// `{"hex": "…"}` so that no byte is lost or guessed.
pub fn json_bytes(bytes: &[u8]) -> serde_json::Value {
    serde_json::to_value(JsonBytes(bytes)).expect("strings and string-keyed maps convert")
}

/// Process-supplied bytes, serialized as [`json_bytes`] describes without
/// building a [`serde_json::Value`] first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonBytes<'a>(pub &'a [u8]);

impl Serialize for JsonBytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("hex", &Hex(self.0))?;
                map.end()
            }
        }
    }
}

/// Bytes as lower-case hex digits, two per byte.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `bytes` escaped for display (see [`escape`]) and cut to at most `max`
/// characters, never inside an escape sequence.
pub fn escape_capped(bytes: &[u8], max: usize) -> String {
    let mut text = String::with_capacity(bytes.len().min(max));
    push_escaped_capped(&mut text, bytes, max);
    text
}

/// Appends `bytes` escaped and cut as [`escape_capped`] cuts them.
pub fn push_escaped_capped(out: &mut String, bytes: &[u8], max: usize) {
    let start = out.len();
    push_escaped(out, bytes);
    let text = &out[start..];
    if text.len() <= max {
        return;
    }
    let (mut at, mut chars) = (0, 0);
    while at < text.len() {
        let unit = escape_unit(&text[at..]);
        let unit_chars = text[at..at + unit].chars().count();
        if chars + unit_chars > max {
            break;
        }
        chars += unit_chars;
        at += unit;
    }
    out.truncate(start + at);
}

/// The length in bytes of the character or escape sequence `text` starts
/// with, as [`escape`] writes them: `\n`, `\\`, `\33`, `\u{202e}`…
fn escape_unit(text: &str) -> usize {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some('\\'), Some('u')) => text.find('}').map_or(text.len(), |end| end + 1),
        (Some('\\'), Some('0'..='7')) => {
            1 + text[1..]
                .bytes()
                .take(3)
                .take_while(|b| (b'0'..=b'7').contains(b))
                .count()
        }
        (Some('\\'), Some(next)) => 1 + next.len_utf8(),
        (Some(c), _) => c.len_utf8(),
        (None, _) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(escape(b"/etc/ld.so.cache"), "/etc/ld.so.cache");
        assert_eq!(escape("café ☕".as_bytes()), "café ☕");
    }

    #[test]
    fn control_bytes_are_escaped_like_strace() {
        assert_eq!(escape(b"a\x1b[31mred\nb\tc\r"), "a\\33[31mred\\nb\\tc\\r");
        assert_eq!(quoted(b"say \"hi\"\\"), "\"say \\\"hi\\\"\\\\\"");
        assert_eq!(escape(b"\x00"), "\\0");
        assert_eq!(escape(b"\x7f"), "\\177");
    }

    #[test]
    fn octal_before_a_digit_takes_three_digits() {
        assert_eq!(escape(b"\x1b1"), "\\0331");
        assert_eq!(escape(b"\x01x"), "\\1x");
    }

    #[test]
    fn invalid_utf8_is_octal() {
        assert_eq!(escape(b"/tmp/\xff\xfe.txt"), "/tmp/\\377\\376.txt");
    }

    #[test]
    fn reordering_and_invisible_characters_are_escaped() {
        assert_eq!(
            escape("evil\u{202e}txt.exe".as_bytes()),
            "evil\\u{202e}txt.exe"
        );
        assert_eq!(escape("a\u{200b}b".as_bytes()), "a\\u{200b}b");
        assert_eq!(escape("\u{9b}31m".as_bytes()), "\\u{9b}31m");
    }

    #[test]
    fn escaped_text_has_no_control_bytes() {
        let all: Vec<u8> = (0..=255u8).collect();
        let s = escape(&all);
        assert!(s.chars().all(|c| !c.is_control()), "{s:?}");
    }

    #[test]
    fn json_keeps_the_exact_bytes() {
        assert_eq!(json_bytes(b"a\x1bb"), serde_json::json!("a\u{1b}b"));
        assert_eq!(json_bytes(b"/x\xff"), serde_json::json!({"hex": "2f78ff"}));
        let text = serde_json::to_string(&json_bytes(b"a\nb\x1b")).unwrap();
        assert!(!text.bytes().any(|b| b < 0x20), "{text}");
    }

    #[test]
    fn a_capped_text_is_never_cut_inside_an_escape() {
        assert_eq!(escape_capped(b"ab\x1b1", 3), "ab");
        assert_eq!(escape_capped(b"ab\x1b1", 6), "ab\\033");
        assert_eq!(escape_capped(b"ab\x1b1", 7), "ab\\0331");
        assert_eq!(escape_capped("a\u{202e}b".as_bytes(), 5), "a");
        assert_eq!(escape_capped(b"a\"b", 2), "a");
    }
}
