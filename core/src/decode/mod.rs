//! strace-style decoding of syscalls.
//!
//! People debugging a host already read strace output fluently, so the text
//! we print for a syscall is strace's, down to flag names and quoting; the
//! JSON twin of every argument carries the same facts without the
//! formatting. The submodules hold what the rest of hostscope needs besides
//! the decoder itself: syscall names ([`sysno`]), error names ([`errno`]),
//! what the probe must copy for each syscall ([`spec`]) and strace's
//! `-e trace=` filter language ([`expr`]).
//!
//! Flag values are the ones of the architecture hostscope is built for,
//! which is the only one the kernel hands it events in; an event of another
//! [`Arch`](crate::model::Arch) still gets the right names, and the right
//! numbers for everything that is not a flag.

mod args;
mod consts;
pub mod errno;
pub mod expr;
mod sockaddr;
pub mod spec;
mod strace_tables;
pub mod sysno;
mod value;

use std::borrow::Cow;

use self::args::Ret;
use crate::model::{Capture, SyscallEvent};

/// One syscall, ready to print (see [`format_call`]) or to turn into JSON
/// from each argument's [`Arg::json`].
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The syscall's name, or `syscall_<nr>` for a number hostscope does not
    /// know.
    pub name: Cow<'static, str>,
    /// The arguments strace shows, in order.
    pub args: Vec<Arg>,
    /// What strace prints after `= `: `3`, `0x7f…` for addresses,
    /// `-1 ENOENT (No such file or directory)`, or `?` when the syscall did
    /// not return.
    pub ret: String,
    /// The error name when the syscall failed (`"ENOENT"`).
    pub errno: Option<&'static str>,
}

/// One decoded argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// strace's rendering, with process-supplied bytes escaped: safe to
    /// print to a terminal as is.
    pub text: String,
    /// The decoded value: numbers for integers, `"0x…"` for pointers (`null`
    /// for NULL), arrays of names for flags (`["O_RDONLY", "O_CLOEXEC"]`),
    /// objects for structures (`{"family": "AF_INET", "addr": "127.0.0.1",
    /// "port": 80}`), process-supplied bytes as
    /// [`json_bytes`](crate::escape::json_bytes) gives them. A value the
    /// probe copied only in part is `{"value": …, "truncated": true}`; memory
    /// it could not read is `{"ptr": "0x…", "unreadable": true}`.
    pub json: serde_json::Value,
}

/// Decodes `ev` the way strace would print it.
pub fn decode(ev: &SyscallEvent) -> Decoded {
    let (name, args, ret) = match sysno::name(ev.arch, ev.nr) {
        Some(name) => {
            let (args, ret) = args::decode(name, ev).unwrap_or_else(|| generic(name, ev));
            (Cow::Borrowed(name), args, ret)
        }
        None => {
            let args = ev.args.iter().map(|&a| value::raw(a)).collect();
            (Cow::Owned(format!("syscall_{}", ev.nr)), args, Ret::Decimal)
        }
    };
    Decoded {
        name,
        args,
        ret: ret_text(ev, ret),
        errno: ev.errno().and_then(errno::name),
    }
}

/// The call as strace prints it, without pid or timing:
/// `openat(AT_FDCWD, "/etc/x", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)`.
pub fn format_call(d: &Decoded) -> String {
    let args: Vec<&str> = d.args.iter().map(|a| a.text.as_str()).collect();
    format!("{}({}) = {}", d.name, args.join(", "), d.ret)
}

/// The name strace gives signal `sig` (`"SIGTERM"`, `"SIGRTMIN"`,
/// `"SIGRT_3"`), or `None` for 0 and numbers that are not signals.
pub fn signal_name(sig: i32) -> Option<&'static str> {
    let sig = u64::try_from(sig).ok()?;
    value::lookup(sig, consts::SIGNALS).or_else(|| {
        let rt = sig.checked_sub(consts::SIGRT_BASE)?;
        consts::SIGRT_NAMES.get(usize::try_from(rt).ok()?).copied()
    })
}

/// Syscalls without a decoder of their own: as many arguments as strace
/// shows, strings where the probe copied them, numbers otherwise.
fn generic(name: &str, ev: &SyscallEvent) -> (Vec<Arg>, Ret) {
    let captures = spec::captures(name);
    let args = (0..spec::arg_count(name))
        .map(|i| match captures[i] {
            Capture::Str => value::string(ev, i),
            _ => value::raw(ev.args[i]),
        })
        .collect();
    let ret = match name {
        "mremap" | "shmat" => Ret::Hex,
        _ => Ret::Decimal,
    };
    (args, ret)
}

fn ret_text(ev: &SyscallEvent, style: Ret) -> String {
    let Some(ret) = ev.ret else {
        return "?".to_owned();
    };
    if let Some(e) = ev.errno() {
        let message = errno::message(e).map_or_else(|| format!("Unknown error {e}"), str::to_owned);
        return match errno::name(e) {
            Some(name) if errno::is_restart(e) => format!("? {name} ({message})"),
            Some(name) => format!("-1 {name} ({message})"),
            None => format!("-1 (errno {e})"),
        };
    }
    let bits = ret as u64;
    match style {
        Ret::Decimal => ret.to_string(),
        Ret::Hex => value::hex_text(bits),
        Ret::FdFlags if ret > 0 => format!(
            "{} (flags {})",
            value::hex_text(bits),
            value::flags(bits, consts::FD_FLAGS).text
        ),
        Ret::FdFlags => ret.to_string(),
        Ret::FileFlags => format!(
            "{} (flags {})",
            value::hex_text(bits),
            value::open_flags(bits).text
        ),
    }
}

#[cfg(test)]
mod tests;
