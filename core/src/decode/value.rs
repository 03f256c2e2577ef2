//! One argument value at a time, rendered as strace prints it and as the
//! JSON value it stands for.
//!
//! JSON conventions, shared by every decoder: integers are numbers;
//! pointers are `"0x…"` strings (or `null` for NULL), since they are
//! identities rather than quantities and can exceed what JSON numbers hold
//! exactly; flag sets are arrays of names; process-supplied bytes go through
//! [`json_bytes`]; anything the probe copied only in part is wrapped as
//! `{"value": …, "truncated": true}`; memory the probe could not read is
//! `{"ptr": "0x…", "unreadable": true}`.

use std::borrow::Cow;

use serde_json::{Value, json};

use super::Arg;
use super::consts::{self, Named};
use crate::escape::{json_bytes, quoted};
use crate::model::SyscallEvent;

impl Arg {
    pub(super) fn new(text: impl Into<String>, json: impl Into<Value>) -> Self {
        Self {
            text: text.into(),
            json: json.into(),
        }
    }

    /// The same value shown as `name=value`, as strace labels clone's
    /// arguments.
    pub(super) fn labelled(self, name: &str) -> Self {
        Self {
            text: format!("{name}={}", self.text),
            json: self.json,
        }
    }
}

/// A C `int` argument: the kernel reads only the register's low 32 bits.
pub(super) fn int32(raw: u64) -> i32 {
    raw as u32 as i32
}

/// A C `unsigned int` (or `socklen_t`, `mode_t`…) argument.
pub(super) fn uint32(raw: u64) -> u64 {
    u64::from(raw as u32)
}

pub(super) fn int(v: i64) -> Arg {
    Arg::new(v.to_string(), v)
}

pub(super) fn uint(v: u64) -> Arg {
    Arg::new(v.to_string(), v)
}

/// A C `int` argument (file descriptors, pids, counts).
pub(super) fn c_int(raw: u64) -> Arg {
    int(i64::from(int32(raw)))
}

/// A 64-bit signed argument (`off_t`, `loff_t`).
pub(super) fn long(raw: u64) -> Arg {
    int(raw as i64)
}

pub(super) fn hex_text(v: u64) -> String {
    if v == 0 {
        "0".to_owned()
    } else {
        format!("{v:#x}")
    }
}

pub(super) fn hex(raw: u64) -> Arg {
    let text = hex_text(raw);
    Arg::new(text.clone(), text)
}

pub(super) fn ptr(raw: u64) -> Arg {
    if raw == 0 {
        Arg::new("NULL", Value::Null)
    } else {
        hex(raw)
    }
}

/// An argument we know nothing about: small values are probably counts or
/// descriptors and read best in decimal, large ones are probably pointers or
/// flag words and read best in hex.
pub(super) fn raw(raw: u64) -> Arg {
    const SMALL: u64 = 0xffff;
    let signed = raw as i64;
    if raw <= SMALL || (-(SMALL as i64)..0).contains(&signed) {
        int(signed)
    } else {
        hex(raw)
    }
}

/// The directory fd of an `*at` syscall.
pub(super) fn dirfd(raw: u64) -> Arg {
    match int32(raw) {
        consts::k::AT_FDCWD => Arg::new("AT_FDCWD", "AT_FDCWD"),
        fd => int(i64::from(fd)),
    }
}

/// Permission bits in C's `%#03o`: `0644`, `000`.
pub(super) fn mode(raw: u64) -> Arg {
    let m = uint32(raw);
    Arg::new(octal(m), m)
}

fn octal(m: u64) -> String {
    let digits = if m == 0 {
        "0".to_owned()
    } else {
        format!("0{m:o}")
    };
    format!("{digits:0>3}")
}

/// A uid or gid, where `-1` means "leave unchanged".
pub(super) fn id(raw: u64) -> Arg {
    match uint32(raw) {
        0xffff_ffff => int(-1),
        v => uint(v),
    }
}

/// The exact name of `value` in `table`.
pub(super) fn lookup(value: u64, table: &[Named]) -> Option<&'static str> {
    table.iter().find(|(v, _)| *v == value).map(|(_, n)| *n)
}

/// An enumeration: the name, or the number when it has none.
pub(super) fn xval(value: u64, table: &[Named]) -> Arg {
    match lookup(value, table) {
        Some(name) => Arg::new(name, name),
        None => int(value as i64),
    }
}

/// The names of the flags set in `value`, first match first (so multi-bit
/// flags listed before their parts win), then any unnamed bits in hex.
pub(super) fn flag_names(mut value: u64, table: &[Named]) -> Vec<Cow<'static, str>> {
    let mut names = Vec::new();
    for &(bits, name) in table {
        if bits != 0 && value & bits == bits {
            names.push(Cow::Borrowed(name));
            value &= !bits;
        }
    }
    if value != 0 {
        names.push(Cow::Owned(hex_text(value)));
    }
    names
}

/// `A|B|0x100`, or `0` for no flags.
pub(super) fn join_flags(names: Vec<Cow<'static, str>>) -> Arg {
    let text = if names.is_empty() {
        "0".to_owned()
    } else {
        names.join("|")
    };
    Arg::new(
        text,
        names.into_iter().map(Cow::into_owned).collect::<Vec<_>>(),
    )
}

pub(super) fn flags(value: u64, table: &[Named]) -> Arg {
    join_flags(flag_names(value, table))
}

/// A flag word whose low bits are an enumeration (`O_RDONLY`, `SOCK_STREAM`,
/// `MAP_PRIVATE`) and whose other bits are flags.
pub(super) fn typed_flags(value: u64, mask: u64, types: &[Named], table: &[Named]) -> Arg {
    let kind = value & mask;
    let mut names = vec![match lookup(kind, types) {
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(hex_text(kind)),
    }];
    names.extend(flag_names(value & !mask, table));
    join_flags(names)
}

/// `open`'s flags: the access mode always shows, even `O_RDONLY` (0).
pub(super) fn open_flags(value: u64) -> Arg {
    typed_flags(value, 0b11, consts::OPEN_ACCESS, consts::OPEN_FLAGS)
}

pub(super) fn signal(raw: u64) -> Arg {
    match super::signal_name(int32(raw)) {
        Some(name) => Arg::new(name, name),
        None => c_int(raw),
    }
}

/// Wraps `value` as only part of the real thing when `truncated`.
pub(super) fn partial(value: Value, truncated: bool) -> Value {
    if truncated {
        json!({ "value": value, "truncated": true })
    } else {
        value
    }
}

/// Process-supplied bytes: quoted and escaped, with `...` after the closing
/// quote when there was more than the probe copied.
pub(super) fn data(bytes: &[u8], truncated: bool) -> Arg {
    let mut text = quoted(bytes);
    if truncated {
        text.push_str("...");
    }
    Arg::new(text, partial(json_bytes(bytes), truncated))
}

/// A pointer whose memory the probe tried and failed to read.
pub(super) fn unreadable(raw: u64) -> Arg {
    let text = hex_text(raw);
    Arg::new(text.clone(), json!({ "ptr": text, "unreadable": true }))
}

/// A NUL-terminated string argument (paths, names).
pub(super) fn string(ev: &SyscallEvent, arg: usize) -> Arg {
    let p = ev.args[arg];
    if p == 0 {
        return ptr(p);
    }
    match ev.capture(arg as u8) {
        Some(c) if !c.fault => data(&c.bytes, c.truncated),
        Some(_) => unreadable(p),
        None => ptr(p),
    }
}

/// A data buffer of which `len` bytes matter (the length argument for data
/// handed in, the return value for data handed out).
pub(super) fn buffer(ev: &SyscallEvent, arg: usize, len: u64) -> Arg {
    let p = ev.args[arg];
    match ev.capture(arg as u8) {
        Some(c) if !c.fault => {
            let shown = c
                .bytes
                .len()
                .min(usize::try_from(len).unwrap_or(usize::MAX));
            data(&c.bytes[..shown], c.truncated || (shown as u64) < len)
        }
        Some(_) if p != 0 => unreadable(p),
        _ => ptr(p),
    }
}

/// The value the syscall returned, when it succeeded.
pub(super) fn success(ev: &SyscallEvent) -> Option<u64> {
    ev.ret.filter(|&r| r >= 0).map(|r| r as u64)
}

/// A buffer the kernel fills; only meaningful once the syscall succeeded,
/// otherwise strace shows the pointer.
pub(super) fn out_buffer(ev: &SyscallEvent, arg: usize) -> Arg {
    match success(ev) {
        Some(len) => buffer(ev, arg, len),
        None => ptr(ev.args[arg]),
    }
}

/// An argv-style array: `["ls", "-la"]`, with `...` inside the brackets when
/// the probe stopped early (too many elements, or one it could not read).
pub(super) fn argv(ev: &SyscallEvent, arg: usize) -> Arg {
    let p = ev.args[arg];
    if p == 0 {
        return ptr(p);
    }
    let items: Vec<_> = ev.argv(arg as u8).collect();
    match items.first() {
        None => return ptr(p),
        Some(first) if first.fault => return unreadable(p),
        Some(_) => {}
    }
    let mut truncated = ev.argv_truncated;
    let mut texts = Vec::with_capacity(items.len());
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        if item.fault {
            truncated = true;
            break;
        }
        let a = data(&item.bytes, item.truncated);
        texts.push(a.text);
        values.push(a.json);
    }
    if truncated {
        texts.push("...".to_owned());
    }
    Arg::new(
        format!("[{}]", texts.join(", ")),
        partial(Value::Array(values), truncated),
    )
}

/// Two descriptors the kernel filled (`pipe`, `socketpair`): `[3, 4]`.
pub(super) fn fd_pair(ev: &SyscallEvent, arg: usize) -> Arg {
    let p = ev.args[arg];
    if p == 0 || success(ev).is_none() {
        return ptr(p);
    }
    match ev.capture(arg as u8) {
        Some(c) if c.fault => unreadable(p),
        Some(c) => match (read_i32(&c.bytes, 0), read_i32(&c.bytes, 4)) {
            (Some(a), Some(b)) => Arg::new(format!("[{a}, {b}]"), json!([a, b])),
            _ => ptr(p),
        },
        None => ptr(p),
    }
}

/// The host-order `i32` at byte `at` of a copied struct, if it was copied.
pub(super) fn read_i32(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The host-order `u64` at byte `at` of a copied struct, if it was copied.
pub(super) fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}
