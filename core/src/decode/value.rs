//! One argument value at a time: what the decoder found, kept as typed
//! facts that borrow the event, and rendered only when an output asks, as
//! strace prints it or as the JSON value it stands for. Decoding a call
//! therefore allocates nothing, and an output pays only for its own form.
//!
//! JSON conventions, shared by every decoder: integers are numbers;
//! pointers are `"0x…"` strings (or `null` for NULL), since they are
//! identities rather than quantities and can exceed what JSON numbers hold
//! exactly; flag sets are arrays of names; process-supplied bytes go through
//! [`JsonBytes`]; anything the probe copied only in part is wrapped as
//! `{"value": …, "truncated": true}`; memory the probe could not read is
//! `{"ptr": "0x…", "unreadable": true}`. Objects list their keys in
//! alphabetical order, as `serde_json::Value` did when it built them.

use std::fmt::Write;
use std::slice;

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::consts::{self, Named, TypedFlags};
use super::sockaddr::SockAddr;
use crate::escape::{JsonBytes, push_escaped};
use crate::model::SyscallEvent;

/// One decoded argument. It borrows from the event it was decoded from and
/// renders on demand: as strace text with [`Arg::write_text`], as its JSON
/// value through `Serialize`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arg<'e>(Repr<'e>);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Repr<'e> {
    Int(i64),
    Uint(u64),
    /// A number that reads best in hex (ioctl requests, offsets), and a
    /// pointer that is not NULL.
    Hex(u64),
    Null,
    /// A name standing alone: `AT_FDCWD`, an enumeration's value, a signal.
    Name(&'static str),
    /// Permission bits in C's `%#03o`.
    Mode(u64),
    /// Flags named by `table`; `0` when none is set.
    Flags(u64, &'static [Named]),
    /// A flag set with nothing in it, which has a name of its own (`F_OK`,
    /// `PROT_NONE`).
    EmptySet(&'static str),
    Typed(u64, &'static TypedFlags),
    /// clone's flag word: flags, then the exit signal in its low byte.
    CloneFlags(u64),
    /// A pointer shown as `label=…`, as strace labels clone's arguments.
    LabelledPtr(&'static str, u64),
    Data {
        bytes: &'e [u8],
        truncated: bool,
    },
    Unreadable(u64),
    /// The first `count` elements of argument `arg`'s argv.
    Argv {
        event: &'e SyscallEvent,
        arg: u8,
        count: usize,
        truncated: bool,
    },
    FdPair(i32, i32),
    OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    },
    /// mknod's mode: file type and permissions.
    FileMode(u64),
    Dev {
        major: u64,
        minor: u64,
    },
    WaitStatus(i32),
    SockAddr(SockAddr<'e>),
    /// An integer the kernel wrote back through a pointer: `[16]`.
    Filled(u64),
}

/// The most arguments a syscall takes.
const MAX_ARGS: usize = 6;

/// A call's arguments, in order, held inline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Args<'e> {
    items: [Arg<'e>; MAX_ARGS],
    len: usize,
}

impl<'e> Args<'e> {
    pub(super) fn new() -> Self {
        Args {
            items: [Arg(Repr::Null); MAX_ARGS],
            len: 0,
        }
    }

    /// Appends `arg`; a decoder that shows more than [`MAX_ARGS`] arguments
    /// is a bug, which `every_syscall_decodes_anything` would catch.
    pub(super) fn push(&mut self, arg: Arg<'e>) {
        self.items[self.len] = arg;
        self.len += 1;
    }

    pub(super) fn as_slice(&self) -> &[Arg<'e>] {
        &self.items[..self.len]
    }
}

impl<'e> Extend<Arg<'e>> for Args<'e> {
    fn extend<I: IntoIterator<Item = Arg<'e>>>(&mut self, args: I) {
        for arg in args {
            self.push(arg);
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

pub(super) fn int<'e>(v: i64) -> Arg<'e> {
    Arg(Repr::Int(v))
}

pub(super) fn uint<'e>(v: u64) -> Arg<'e> {
    Arg(Repr::Uint(v))
}

/// A C `int` argument (file descriptors, pids, counts).
pub(super) fn c_int<'e>(raw: u64) -> Arg<'e> {
    int(i64::from(int32(raw)))
}

/// A 64-bit signed argument (`off_t`, `loff_t`).
pub(super) fn long<'e>(raw: u64) -> Arg<'e> {
    int(raw as i64)
}

pub(super) fn hex<'e>(raw: u64) -> Arg<'e> {
    Arg(Repr::Hex(raw))
}

pub(super) fn ptr<'e>(raw: u64) -> Arg<'e> {
    if raw == 0 { Arg(Repr::Null) } else { hex(raw) }
}

/// A pointer shown as `label=…`.
pub(super) fn labelled_ptr<'e>(label: &'static str, raw: u64) -> Arg<'e> {
    Arg(Repr::LabelledPtr(label, raw))
}

pub(super) fn name<'e>(name: &'static str) -> Arg<'e> {
    Arg(Repr::Name(name))
}

/// An argument we know nothing about: small values are probably counts or
/// descriptors and read best in decimal, large ones are probably pointers or
/// flag words and read best in hex.
pub(super) fn raw<'e>(raw: u64) -> Arg<'e> {
    const SMALL: u64 = 0xffff;
    let signed = raw as i64;
    if raw <= SMALL || (-(SMALL as i64)..0).contains(&signed) {
        int(signed)
    } else {
        hex(raw)
    }
}

/// The directory fd of an `*at` syscall.
pub(super) fn dirfd<'e>(raw: u64) -> Arg<'e> {
    match int32(raw) {
        consts::k::AT_FDCWD => name("AT_FDCWD"),
        fd => int(i64::from(fd)),
    }
}

/// Permission bits in C's `%#03o`: `0644`, `000`.
pub(super) fn mode<'e>(raw: u64) -> Arg<'e> {
    Arg(Repr::Mode(uint32(raw)))
}

/// A uid or gid, where `-1` means "leave unchanged".
pub(super) fn id<'e>(raw: u64) -> Arg<'e> {
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
pub(super) fn xval<'e>(value: u64, table: &[Named]) -> Arg<'e> {
    match lookup(value, table) {
        Some(n) => name(n),
        None => int(value as i64),
    }
}

/// `A|B|0x100`, or `0` for no flags.
pub(super) fn flags<'e>(value: u64, table: &'static [Named]) -> Arg<'e> {
    Arg(Repr::Flags(value, table))
}

/// Flags whose empty set has a name of its own (`F_OK`, `PROT_NONE`).
pub(super) fn flags_or<'e>(value: u64, table: &'static [Named], empty: &'static str) -> Arg<'e> {
    if value == 0 {
        Arg(Repr::EmptySet(empty))
    } else {
        flags(value, table)
    }
}

/// A flag word whose low bits are an enumeration (`O_RDONLY`, `SOCK_STREAM`,
/// `MAP_PRIVATE`) and whose other bits are flags.
pub(super) fn typed_flags<'e>(value: u64, spec: &'static TypedFlags) -> Arg<'e> {
    Arg(Repr::Typed(value, spec))
}

/// `open`'s flags: the access mode always shows, even `O_RDONLY` (0).
pub(super) fn open_flags<'e>(value: u64) -> Arg<'e> {
    typed_flags(value, &consts::OPEN)
}

/// clone's flag word, labelled `flags=`.
pub(super) fn clone_flags<'e>(value: u64) -> Arg<'e> {
    Arg(Repr::CloneFlags(value))
}

pub(super) fn signal<'e>(raw: u64) -> Arg<'e> {
    match super::signal_name(int32(raw)) {
        Some(n) => name(n),
        None => c_int(raw),
    }
}

/// Process-supplied bytes: quoted and escaped, with `...` after the closing
/// quote when there was more than the probe copied.
pub(super) fn data(bytes: &[u8], truncated: bool) -> Arg<'_> {
    Arg(Repr::Data { bytes, truncated })
}

/// A pointer whose memory the probe tried and failed to read.
pub(super) fn unreadable<'e>(raw: u64) -> Arg<'e> {
    Arg(Repr::Unreadable(raw))
}

/// A NUL-terminated string argument (paths, names).
pub(super) fn string(ev: &SyscallEvent, arg: usize) -> Arg<'_> {
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
pub(super) fn buffer(ev: &SyscallEvent, arg: usize, len: u64) -> Arg<'_> {
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
pub(super) fn out_buffer(ev: &SyscallEvent, arg: usize) -> Arg<'_> {
    match success(ev) {
        Some(len) => buffer(ev, arg, len),
        None => ptr(ev.args[arg]),
    }
}

/// An argv-style array: `["ls", "-la"]`, with `...` inside the brackets when
/// the probe stopped early (too many elements, or one it could not read).
pub(super) fn argv(ev: &SyscallEvent, arg: usize) -> Arg<'_> {
    let p = ev.args[arg];
    if p == 0 {
        return ptr(p);
    }
    let mut items = ev.argv(arg as u8);
    match items.next() {
        None => return ptr(p),
        Some(first) if first.fault => return unreadable(p),
        Some(_) => {}
    }
    let faulted = items.position(|item| item.fault);
    Arg(Repr::Argv {
        event: ev,
        arg: arg as u8,
        count: faulted.map_or(usize::MAX, |i| i + 1),
        truncated: ev.argv_truncated || faulted.is_some(),
    })
}

/// Two descriptors the kernel filled (`pipe`, `socketpair`): `[3, 4]`.
pub(super) fn fd_pair(ev: &SyscallEvent, arg: usize) -> Arg<'_> {
    let p = ev.args[arg];
    if p == 0 || success(ev).is_none() {
        return ptr(p);
    }
    match ev.capture(arg as u8) {
        Some(c) if c.fault => unreadable(p),
        Some(c) => match (read_i32(&c.bytes, 0), read_i32(&c.bytes, 4)) {
            (Some(a), Some(b)) => Arg(Repr::FdPair(a, b)),
            _ => ptr(p),
        },
        None => ptr(p),
    }
}

/// openat2's `struct open_how`.
pub(super) fn open_how<'e>(flags: u64, mode: u64, resolve: u64) -> Arg<'e> {
    Arg(Repr::OpenHow {
        flags,
        mode,
        resolve,
    })
}

/// mknod's mode (file type and permissions).
pub(super) fn file_mode<'e>(mode: u64) -> Arg<'e> {
    Arg(Repr::FileMode(mode))
}

/// A device number split as glibc's major()/minor() split a dev_t.
pub(super) fn dev<'e>(major: u64, minor: u64) -> Arg<'e> {
    Arg(Repr::Dev { major, minor })
}

/// A wait status: `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`.
pub(super) fn wait_status<'e>(status: i32) -> Arg<'e> {
    Arg(Repr::WaitStatus(status))
}

pub(super) fn socket_address(addr: SockAddr<'_>) -> Arg<'_> {
    Arg(Repr::SockAddr(addr))
}

/// An integer the kernel wrote back through a pointer.
pub(super) fn filled<'e>(value: u64) -> Arg<'e> {
    Arg(Repr::Filled(value))
}

/// The host-order `i32` at byte `at` of a copied struct, if it was copied.
pub(super) fn read_i32(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The host-order `u64` at byte `at` of a copied struct, if it was copied.
pub(super) fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

impl Arg<'_> {
    /// Appends strace's rendering, with process-supplied bytes escaped: safe
    /// to print to a terminal as is.
    pub fn write_text(&self, out: &mut String) {
        match self.0 {
            Repr::Int(v) => push_int(out, v),
            Repr::Uint(v) => push_uint(out, v),
            Repr::Hex(v) | Repr::Unreadable(v) => out.push_str(hex_text(v).as_str()),
            Repr::Null => out.push_str("NULL"),
            Repr::Name(n) | Repr::EmptySet(n) => out.push_str(n),
            Repr::Mode(m) => push_mode(out, m),
            Repr::Flags(value, table) => push_words(out, Words::new(value, table)),
            Repr::Typed(value, spec) => push_words(out, Words::typed(value, spec)),
            Repr::CloneFlags(value) => {
                out.push_str("flags=");
                push_words(out, Words::of_clone(value));
            }
            Repr::LabelledPtr(label, p) => {
                out.push_str(label);
                out.push('=');
                ptr(p).write_text(out);
            }
            Repr::Data { bytes, truncated } => push_data(out, bytes, truncated),
            Repr::Argv {
                event,
                arg,
                count,
                truncated,
            } => {
                out.push('[');
                for (i, item) in event.argv(arg).take(count).enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    push_data(out, &item.bytes, item.truncated);
                }
                if truncated {
                    out.push_str(", ...");
                }
                out.push(']');
            }
            Repr::FdPair(a, b) => {
                out.push('[');
                push_int(out, a.into());
                out.push_str(", ");
                push_int(out, b.into());
                out.push(']');
            }
            Repr::OpenHow {
                flags: f,
                mode: m,
                resolve,
            } => {
                out.push_str("{flags=");
                open_flags(f).write_text(out);
                if f & consts::O_CREAT_OR_TMPFILE != 0 || m != 0 {
                    out.push_str(", mode=");
                    push_mode(out, m);
                }
                out.push_str(", resolve=");
                flags(resolve, consts::RESOLVE_FLAGS).write_text(out);
                out.push('}');
            }
            Repr::FileMode(m) => {
                let kind = m & consts::FILE_TYPE_MASK;
                match lookup(kind, consts::FILE_TYPES) {
                    Some(n) => {
                        out.push_str(n);
                        out.push('|');
                    }
                    None if kind == 0 => {}
                    None => {
                        out.push_str(Digits::new(kind, 3, "0o").as_str());
                        out.push('|');
                    }
                }
                push_mode(out, m & !consts::FILE_TYPE_MASK);
            }
            Repr::Dev { major, minor } => {
                out.push_str("makedev(");
                out.push_str(Digits::new(major, 4, "0x").as_str());
                out.push_str(", ");
                out.push_str(Digits::new(minor, 4, "0x").as_str());
                out.push(')');
            }
            Repr::WaitStatus(s) => push_wait_status(out, s),
            Repr::SockAddr(addr) => addr.write_text(out),
            Repr::Filled(v) => {
                out.push('[');
                push_uint(out, v);
                out.push(']');
            }
        }
    }
}

impl Serialize for Arg<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Repr::Int(v) => s.serialize_i64(v),
            Repr::Uint(v) | Repr::Mode(v) | Repr::FileMode(v) | Repr::Filled(v) => {
                s.serialize_u64(v)
            }
            Repr::Hex(v) => s.serialize_str(hex_text(v).as_str()),
            Repr::Null => s.serialize_unit(),
            Repr::Name(n) => s.serialize_str(n),
            Repr::Flags(value, table) => s.collect_seq(Words::new(value, table)),
            Repr::EmptySet(n) => [n].serialize(s),
            Repr::Typed(value, spec) => s.collect_seq(Words::typed(value, spec)),
            Repr::CloneFlags(value) => s.collect_seq(Words::of_clone(value)),
            Repr::LabelledPtr(_, p) => ptr(p).serialize(s),
            Repr::Data { bytes, truncated } => Partial(JsonBytes(bytes), truncated).serialize(s),
            Repr::Unreadable(p) => {
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("ptr", hex_text(p).as_str())?;
                map.serialize_entry("unreadable", &true)?;
                map.end()
            }
            Repr::Argv {
                event,
                arg,
                count,
                truncated,
            } => Partial(ArgvItems { event, arg, count }, truncated).serialize(s),
            Repr::FdPair(a, b) => [a, b].serialize(s),
            Repr::OpenHow {
                flags: f,
                mode: m,
                resolve,
            } => {
                let mut map = s.serialize_map(Some(3))?;
                map.serialize_entry("flags", &open_flags(f))?;
                map.serialize_entry("mode", &m)?;
                map.serialize_entry("resolve", &flags(resolve, consts::RESOLVE_FLAGS))?;
                map.end()
            }
            Repr::Dev { major, minor } => {
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("major", &major)?;
                map.serialize_entry("minor", &minor)?;
                map.end()
            }
            Repr::WaitStatus(status) => serialize_wait_status(s, status),
            Repr::SockAddr(addr) => addr.serialize(s),
        }
    }
}

/// `value`, wrapped as only part of the real thing when `truncated`.
pub(super) struct Partial<T>(pub(super) T, pub(super) bool);

impl<T: Serialize> Serialize for Partial<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Partial(value, truncated) = self;
        if *truncated {
            let mut map = s.serialize_map(Some(2))?;
            map.serialize_entry("truncated", &true)?;
            map.serialize_entry("value", value)?;
            map.end()
        } else {
            value.serialize(s)
        }
    }
}

/// The first `count` elements of argument `arg`'s argv, as a JSON array.
struct ArgvItems<'e> {
    event: &'e SyscallEvent,
    arg: u8,
    count: usize,
}

impl Serialize for ArgvItems<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.event
                .argv(self.arg)
                .take(self.count)
                .map(|item| Partial(JsonBytes(&item.bytes), item.truncated)),
        )
    }
}

/// Process-supplied bytes as strace quotes them.
pub(super) fn push_data(out: &mut String, bytes: &[u8], truncated: bool) {
    out.push('"');
    push_escaped(out, bytes);
    out.push('"');
    if truncated {
        out.push_str("...");
    }
}

pub(super) fn push_int(out: &mut String, v: i64) {
    out.push_str(itoa::Buffer::new().format(v));
}

pub(super) fn push_uint(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// `m` as C's `%#03o` prints it: a leading 0, at least three digits.
fn push_mode(out: &mut String, m: u64) {
    if m == 0 {
        out.push_str("000");
    } else {
        let digits = Digits::new(m, 3, "");
        let width = digits.as_str().len() + 1;
        for _ in width..3 {
            out.push('0');
        }
        out.push('0');
        out.push_str(digits.as_str());
    }
}

/// strace's hex for numbers: `0x1f`, but a bare `0` for zero.
fn hex_text(v: u64) -> Digits {
    if v == 0 {
        Digits::new(0, 4, "")
    } else {
        Digits::new(v, 4, "0x")
    }
}

/// A number's digits in a power-of-two base (`bits` per digit), with a
/// prefix, built on the stack.
struct Digits {
    buf: [u8; 24],
    start: usize,
}

impl Digits {
    fn new(mut v: u64, bits: u32, prefix: &str) -> Digits {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0; 24];
        let mut start = buf.len();
        loop {
            start -= 1;
            buf[start] = DIGITS[(v & ((1 << bits) - 1)) as usize];
            v >>= bits;
            if v == 0 {
                break;
            }
        }
        start -= prefix.len();
        buf[start..start + prefix.len()].copy_from_slice(prefix.as_bytes());
        Digits { buf, start }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[self.start..]).expect("digits and prefixes are ASCII")
    }
}

/// One element of a flag set: a name, bits without one (in hex), or clone's
/// exit signal when it has no name (in decimal).
#[derive(Debug, Clone, Copy)]
enum Word {
    Name(&'static str),
    Hex(u64),
    Decimal(u64),
}

impl Word {
    fn write_text(self, out: &mut String) {
        match self {
            Word::Name(n) => out.push_str(n),
            Word::Hex(v) => out.push_str(hex_text(v).as_str()),
            Word::Decimal(v) => push_uint(out, v),
        }
    }
}

impl Serialize for Word {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Word::Name(n) => s.serialize_str(n),
            Word::Hex(v) => s.serialize_str(hex_text(v).as_str()),
            Word::Decimal(v) => s.serialize_str(itoa::Buffer::new().format(v)),
        }
    }
}

/// The names of a flag set: `first` (a typed set's enumeration), then the
/// flags of `value` in table order, first match first (so multi-bit flags
/// listed before their parts win), then any unnamed bits, then `last`
/// (clone's exit signal).
struct Words {
    first: Option<Word>,
    value: u64,
    table: slice::Iter<'static, Named>,
    last: Option<Word>,
}

impl Words {
    fn new(value: u64, table: &'static [Named]) -> Words {
        Words {
            first: None,
            value,
            table: table.iter(),
            last: None,
        }
    }

    fn typed(value: u64, spec: &'static TypedFlags) -> Words {
        let kind = value & spec.mask;
        Words {
            first: Some(lookup(kind, spec.types).map_or(Word::Hex(kind), Word::Name)),
            ..Words::new(value & !spec.mask, spec.flags)
        }
    }

    fn of_clone(raw: u64) -> Words {
        let sig = raw & consts::CLONE_SIGNAL_MASK;
        Words {
            last: (sig != 0)
                .then(|| super::signal_name(sig as i32).map_or(Word::Decimal(sig), Word::Name)),
            ..Words::new(raw & !consts::CLONE_SIGNAL_MASK, consts::CLONE_FLAGS)
        }
    }
}

impl Iterator for Words {
    type Item = Word;

    fn next(&mut self) -> Option<Word> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        if self.value == 0 {
            // Nothing left to name: spare the walk through the table.
            return self.last.take();
        }
        for &(bits, name) in self.table.by_ref() {
            if bits != 0 && self.value & bits == bits {
                self.value &= !bits;
                return Some(Word::Name(name));
            }
        }
        if self.value != 0 {
            return Some(Word::Hex(std::mem::take(&mut self.value)));
        }
        self.last.take()
    }
}

/// `A|B|0x100`, or `0` when there is no word at all.
fn push_words(out: &mut String, words: Words) {
    let mut any = false;
    for word in words {
        if any {
            out.push('|');
        }
        word.write_text(out);
        any = true;
    }
    if !any {
        out.push('0');
    }
}

/// What a wait status says, decoded as the W* macros do.
enum Wait {
    Stopped { sig: i32, high: bool },
    Signaled { sig: i32, core: bool },
    Exited(i32),
    Continued,
    Raw,
}

impl Wait {
    /// The status decoded, and the bits the decoding did not explain.
    fn of(s: i32) -> (Wait, i32) {
        if s & 0xff == 0x7f {
            let sig = (s >> 8) & 0xff;
            let wait = Wait::Stopped {
                sig: sig & 0x7f,
                high: sig & 0x80 != 0,
            };
            (wait, s & !((sig << 8) | 0x7f))
        } else if s & 0x7f != 0 && s & 0x7f != 0x7f {
            let sig = s & 0x7f;
            let wait = Wait::Signaled {
                sig,
                core: s & 0x80 != 0,
            };
            (wait, s & !(sig | 0x80))
        } else if s & 0x7f == 0 {
            let code = (s >> 8) & 0xff;
            (Wait::Exited(code), s & !(code << 8))
        } else if s == 0xffff {
            (Wait::Continued, 0)
        } else {
            (Wait::Raw, 0)
        }
    }
}

/// A signal's name, or its number when it has none.
struct Sig(i32);

impl Sig {
    fn write_text(&self, out: &mut String) {
        match super::signal_name(self.0) {
            Some(n) => out.push_str(n),
            None => push_int(out, self.0.into()),
        }
    }
}

impl Serialize for Sig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match super::signal_name(self.0) {
            Some(n) => s.serialize_str(n),
            None => s.serialize_i32(self.0),
        }
    }
}

fn push_wait_status(out: &mut String, s: i32) {
    let (wait, rest) = Wait::of(s);
    out.push('[');
    match wait {
        Wait::Stopped { sig, high } => {
            out.push_str("{WIFSTOPPED(s) && WSTOPSIG(s) == ");
            Sig(sig).write_text(out);
            if high {
                out.push_str(" | 0x80");
            }
            out.push('}');
        }
        Wait::Signaled { sig, core } => {
            out.push_str("{WIFSIGNALED(s) && WTERMSIG(s) == ");
            Sig(sig).write_text(out);
            if core {
                out.push_str(" && WCOREDUMP(s)");
            }
            out.push('}');
        }
        Wait::Exited(code) => {
            out.push_str("{WIFEXITED(s) && WEXITSTATUS(s) == ");
            push_int(out, code.into());
            out.push('}');
        }
        Wait::Continued => out.push_str("{WIFCONTINUED(s)}"),
        Wait::Raw => {
            let _ = write!(out, "{:#x}", s as u32);
        }
    }
    if rest != 0 {
        let _ = write!(out, " | {:#x}", rest as u32);
    }
    out.push(']');
}

fn serialize_wait_status<S: Serializer>(s: S, status: i32) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(None)?;
    match Wait::of(status).0 {
        Wait::Stopped { sig, .. } => map.serialize_entry("stopped", &Sig(sig))?,
        Wait::Signaled { sig, core } => {
            map.serialize_entry("core_dumped", &core)?;
            map.serialize_entry("signal", &Sig(sig))?;
        }
        Wait::Exited(code) => map.serialize_entry("exit_code", &code)?,
        Wait::Continued => map.serialize_entry("continued", &true)?,
        Wait::Raw => map.serialize_entry("raw", &status)?,
    }
    map.end()
}
