//! strace-style decoding of syscalls.
//!
//! People debugging a host already read strace output fluently, so the text
//! we print for a syscall is strace's, down to flag names and quoting; the
//! JSON twin of every argument carries the same facts without the
//! formatting. Decoding allocates nothing, because it runs for every event
//! a busy host produces: an argument is kept as the facts it stands for,
//! borrowing the event's bytes, and each output renders only the form it
//! prints. The submodules hold what the rest of hostscope needs besides the
//! decoder itself: syscall names ([`sysno`]), error names ([`errno`]),
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
use std::fmt;

use self::args::Ret;
pub use self::value::Arg;
use self::value::Args;
use crate::model::{Capture, SyscallEvent};

/// One syscall, decoded: typed arguments that borrow from the event and
/// render on demand, as strace text ([`Decoded::write_text`], or
/// `Display`) or as JSON (each [`Arg`] is `Serialize`).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<'e> {
    /// The syscall's name, or `syscall_<nr>` for a number hostscope does not
    /// know.
    pub name: Cow<'static, str>,
    /// The error name when the syscall failed (`"ENOENT"`).
    pub errno: Option<&'static str>,
    args: Args<'e>,
    ret: Ret,
    event: &'e SyscallEvent,
}

/// Decodes `ev` the way strace would print it.
pub fn decode(ev: &SyscallEvent) -> Decoded<'_> {
    let mut args = Args::new();
    let (name, ret) = match sysno::name(ev.arch, ev.nr) {
        Some(name) => {
            let ret =
                args::decode(name, ev, &mut args).unwrap_or_else(|| generic(name, ev, &mut args));
            (Cow::Borrowed(name), ret)
        }
        None => {
            args.extend(ev.args.iter().map(|&a| value::raw(a)));
            (Cow::Owned(format!("syscall_{}", ev.nr)), Ret::Decimal)
        }
    };
    Decoded {
        name,
        errno: ev.errno().and_then(errno::name),
        args,
        ret,
        event: ev,
    }
}

impl<'e> Decoded<'e> {
    /// The arguments strace shows, in order.
    pub fn args(&self) -> &[Arg<'e>] {
        self.args.as_slice()
    }

    /// Appends the call as strace prints it, without pid or timing:
    /// `openat(AT_FDCWD, "/etc/x", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)`.
    /// Process-supplied bytes are escaped: the text is safe to print to a
    /// terminal as is.
    pub fn write_text(&self, out: &mut String) {
        out.push_str(&self.name);
        out.push('(');
        for (i, arg) in self.args().iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            arg.write_text(out);
        }
        out.push_str(") = ");
        self.write_ret(out);
    }

    /// What strace prints after `= `: `3`, `0x7f…` for addresses,
    /// `-1 ENOENT (No such file or directory)`, or `?` when the syscall did
    /// not return.
    fn write_ret(&self, out: &mut String) {
        let Some(ret) = self.event.ret else {
            out.push('?');
            return;
        };
        if let Some(e) = self.event.errno() {
            let Some(name) = self.errno else {
                out.push_str("-1 (errno ");
                value::push_int(out, e.into());
                out.push(')');
                return;
            };
            out.push_str(if errno::is_restart(e) { "? " } else { "-1 " });
            out.push_str(name);
            out.push_str(" (");
            match errno::message(e) {
                Some(message) => out.push_str(message),
                None => {
                    out.push_str("Unknown error ");
                    value::push_int(out, e.into());
                }
            }
            out.push(')');
            return;
        }
        let bits = ret as u64;
        let flags = match self.ret {
            Ret::FdFlags if ret > 0 => value::flags(bits, consts::FD_FLAGS),
            Ret::FileFlags => value::open_flags(bits),
            Ret::Hex => {
                value::hex(bits).write_text(out);
                return;
            }
            Ret::Decimal | Ret::FdFlags => {
                value::push_int(out, ret);
                return;
            }
        };
        value::hex(bits).write_text(out);
        out.push_str(" (flags ");
        flags.write_text(out);
        out.push(')');
    }
}

impl fmt::Display for Decoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.write_text(&mut text);
        f.write_str(&text)
    }
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
fn generic<'e>(name: &str, ev: &'e SyscallEvent, args: &mut Args<'e>) -> Ret {
    let captures = spec::captures(name);
    args.extend((0..spec::arg_count(name)).map(|i| match captures[i] {
        Capture::Str => value::string(ev, i),
        _ => value::raw(ev.args[i]),
    }));
    match name {
        "mremap" | "shmat" => Ret::Hex,
        _ => Ret::Decimal,
    }
}

#[cfg(test)]
mod tests;
