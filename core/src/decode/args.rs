//! Per-syscall argument decoders: the syscalls worth reading in detail.
//! Everything else goes through the generic decoder in the parent module.

use std::borrow::Cow;

use serde_json::json;

use super::consts::{self, k};
use super::sockaddr;
use super::spec::OPEN_HOW_SIZE;
use super::value::{
    argv, buffer, c_int, dirfd, fd_pair, flag_names, flags, hex, id, int32, join_flags, long,
    lookup, mode, open_flags, out_buffer, ptr, raw, read_i32, read_u64, signal, string, success,
    typed_flags, uint, uint32, unreadable, xval,
};
use super::{Arg, signal_name};
use crate::model::{Arch, SyscallEvent};

/// How the return value reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ret {
    Decimal,
    /// Addresses (`mmap`, `brk`).
    Hex,
    /// `fcntl(F_GETFD)`: hex, with the flags spelled out.
    FdFlags,
    /// `fcntl(F_GETFL)`: hex, with the file status flags spelled out.
    FileFlags,
}

/// The decoded arguments of `name`, or `None` when `name` has no decoder of
/// its own.
pub(super) fn decode(name: &str, ev: &SyscallEvent) -> Option<(Vec<Arg>, Ret)> {
    let a = ev.args;
    let s = |i| string(ev, i);
    let fd = |i: usize| c_int(a[i]);
    let at_flags = |i: usize| flags(uint32(a[i]), consts::AT_FLAGS);
    let args = match name {
        "open" => open(ev, 0),
        "openat" => [vec![dirfd(a[0])], open(ev, 1)].concat(),
        "openat2" => vec![dirfd(a[0]), s(1), open_how(ev, 2), uint(a[3])],
        "creat" => vec![s(0), mode(a[1])],
        "stat" | "lstat" | "statfs" | "utime" | "utimes" => vec![s(0), ptr(a[1])],
        "fstat" | "fstatfs" => vec![fd(0), ptr(a[1])],
        "newfstatat" => vec![dirfd(a[0]), s(1), ptr(a[2]), at_flags(3)],
        "statx" => vec![
            dirfd(a[0]),
            s(1),
            statx_flags(a[2]),
            flags(uint32(a[3]), consts::STATX_MASK),
            ptr(a[4]),
        ],
        "access" => vec![s(0), access_mode(a[1])],
        "faccessat" => vec![dirfd(a[0]), s(1), access_mode(a[2])],
        "faccessat2" => vec![
            dirfd(a[0]),
            s(1),
            access_mode(a[2]),
            flags(uint32(a[3]), consts::FACCESSAT_FLAGS),
        ],
        "readlink" => vec![s(0), out_buffer(ev, 1), uint(a[2])],
        "readlinkat" => vec![dirfd(a[0]), s(1), out_buffer(ev, 2), uint(a[3])],
        "getcwd" => vec![getcwd_buffer(ev), uint(a[1])],
        "execve" => vec![s(0), argv(ev, 1), ptr(a[2])],
        "execveat" => vec![dirfd(a[0]), s(1), argv(ev, 2), ptr(a[3]), at_flags(4)],
        "chdir" | "chroot" | "rmdir" | "unlink" | "acct" | "swapoff" | "uselib" => vec![s(0)],
        "fchdir" | "close" | "dup" | "fsync" | "fdatasync" | "syncfs" => vec![fd(0)],
        "mkdir" | "chmod" => vec![s(0), mode(a[1])],
        "fchmod" => vec![fd(0), mode(a[1])],
        "mkdirat" | "fchmodat" => vec![dirfd(a[0]), s(1), mode(a[2])],
        "fchmodat2" => vec![dirfd(a[0]), s(1), mode(a[2]), at_flags(3)],
        "mknod" => [vec![s(0)], mknod(a[1], a[2])].concat(),
        "mknodat" => [vec![dirfd(a[0]), s(1)], mknod(a[2], a[3])].concat(),
        "unlinkat" => vec![
            dirfd(a[0]),
            s(1),
            flags(uint32(a[2]), consts::UNLINKAT_FLAGS),
        ],
        "rename" | "link" | "symlink" | "pivot_root" => vec![s(0), s(1)],
        "renameat" => vec![dirfd(a[0]), s(1), dirfd(a[2]), s(3)],
        "renameat2" => vec![
            dirfd(a[0]),
            s(1),
            dirfd(a[2]),
            s(3),
            flags(uint32(a[4]), consts::RENAME_FLAGS),
        ],
        "linkat" => vec![dirfd(a[0]), s(1), dirfd(a[2]), s(3), at_flags(4)],
        "symlinkat" => vec![s(0), dirfd(a[1]), s(2)],
        "truncate" => vec![s(0), long(a[1])],
        "ftruncate" => vec![fd(0), long(a[1])],
        "chown" | "lchown" => vec![s(0), id(a[1]), id(a[2])],
        "fchown" => vec![fd(0), id(a[1]), id(a[2])],
        "fchownat" => vec![dirfd(a[0]), s(1), id(a[2]), id(a[3]), at_flags(4)],
        "utimensat" => vec![dirfd(a[0]), s(1), ptr(a[2]), at_flags(3)],
        "inotify_add_watch" => vec![fd(0), s(1), flags(uint32(a[2]), consts::INOTIFY_MASK)],

        "read" => vec![fd(0), out_buffer(ev, 1), uint(a[2])],
        "write" => vec![fd(0), buffer(ev, 1, a[2]), uint(a[2])],
        "pread64" => vec![fd(0), out_buffer(ev, 1), uint(a[2]), long(a[3])],
        "pwrite64" => vec![fd(0), buffer(ev, 1, a[2]), uint(a[2]), long(a[3])],
        "readv" | "writev" => vec![fd(0), ptr(a[1]), c_int(a[2])],
        "dup2" => vec![fd(0), fd(1)],
        "dup3" => vec![fd(0), fd(1), flags(uint32(a[2]), consts::OPEN_FLAGS)],
        "pipe" => vec![fd_pair(ev, 0)],
        "pipe2" => vec![fd_pair(ev, 0), flags(uint32(a[1]), consts::OPEN_FLAGS)],
        "fcntl" => return Some(fcntl(ev)),
        "lseek" => vec![fd(0), long(a[1]), xval(uint32(a[2]), consts::SEEK_WHENCE)],
        "ioctl" => vec![fd(0), hex(uint32(a[1])), raw(a[2])],
        "mmap" => {
            let args = vec![
                ptr(a[0]),
                uint(a[1]),
                prot(a[2]),
                typed_flags(
                    uint32(a[3]),
                    consts::MAP_TYPE_MASK,
                    consts::MAP_TYPES,
                    consts::MAP_FLAGS,
                ),
                fd(4),
                hex(a[5]),
            ];
            return Some((args, Ret::Hex));
        }
        "mprotect" => vec![ptr(a[0]), uint(a[1]), prot(a[2])],
        "munmap" => vec![ptr(a[0]), uint(a[1])],
        "brk" => return Some((vec![ptr(a[0])], Ret::Hex)),

        "clone" => clone(ev),
        "clone3" => vec![ptr(a[0]), uint(a[1])],
        "fork" | "vfork" => Vec::new(),
        "exit" | "exit_group" => vec![c_int(a[0])],
        "wait4" => vec![
            c_int(a[0]),
            wait_status(ev, 1),
            flags(uint32(a[2]), consts::WAIT_OPTIONS),
            ptr(a[3]),
        ],
        "kill" | "tkill" => vec![c_int(a[0]), signal(a[1])],
        "tgkill" => vec![c_int(a[0]), c_int(a[1]), signal(a[2])],

        "socket" => vec![family(a[0]), socket_type(a[1]), protocol(a[0], a[2])],
        "socketpair" => vec![
            family(a[0]),
            socket_type(a[1]),
            protocol(a[0], a[2]),
            fd_pair(ev, 3),
        ],
        "connect" | "bind" => vec![fd(0), sockaddr_in(ev, 1, a[2]), uint(uint32(a[2]))],
        "accept" | "getsockname" | "getpeername" => {
            vec![fd(0), sockaddr_out(ev, 1), socklen_out(ev, 2, 1)]
        }
        "accept4" => vec![
            fd(0),
            sockaddr_out(ev, 1),
            socklen_out(ev, 2, 1),
            flags(uint32(a[3]), consts::SOCK_FLAGS),
        ],
        "listen" => vec![fd(0), c_int(a[1])],
        "sendto" => vec![
            fd(0),
            buffer(ev, 1, a[2]),
            uint(a[2]),
            msg_flags(a[3]),
            sockaddr_in(ev, 4, a[5]),
            uint(uint32(a[5])),
        ],
        "recvfrom" => vec![
            fd(0),
            out_buffer(ev, 1),
            uint(a[2]),
            msg_flags(a[3]),
            sockaddr_out(ev, 4),
            socklen_out(ev, 5, 4),
        ],
        "sendmsg" | "recvmsg" => vec![fd(0), ptr(a[1]), msg_flags(a[2])],
        "shutdown" => vec![fd(0), xval(uint32(a[1]), consts::SHUTDOWN_HOW)],
        "setsockopt" | "getsockopt" => {
            let level = uint32(a[1]);
            let last = if name == "setsockopt" {
                uint(uint32(a[4]))
            } else {
                ptr(a[4])
            };
            vec![
                fd(0),
                xval(level, consts::SOCKOPT_LEVELS),
                xval(uint32(a[2]), sockopt_names(level)),
                ptr(a[3]),
                last,
            ]
        }
        _ => return None,
    };
    Some((args, Ret::Decimal))
}

/// `open`'s path, flags, and the mode when the flags make the kernel read it.
fn open(ev: &SyscallEvent, first: usize) -> Vec<Arg> {
    let flags = uint32(ev.args[first + 1]);
    let mut args = vec![string(ev, first), open_flags(flags)];
    if flags & consts::O_CREAT_OR_TMPFILE != 0 {
        args.push(mode(ev.args[first + 2]));
    }
    args
}

/// openat2's `struct open_how { u64 flags, mode, resolve; }`.
fn open_how(ev: &SyscallEvent, arg: usize) -> Arg {
    let p = ev.args[arg];
    let size = ev.args[arg + 1];
    match ev.capture(arg as u8) {
        _ if p == 0 || size < u64::from(OPEN_HOW_SIZE) => ptr(p),
        Some(c) if c.fault => unreadable(p),
        Some(c) => {
            let fields = (
                read_u64(&c.bytes, 0),
                read_u64(&c.bytes, 8),
                read_u64(&c.bytes, 16),
            );
            let (Some(flags_v), Some(mode_v), Some(resolve_v)) = fields else {
                return ptr(p);
            };
            let flags_a = open_flags(flags_v);
            let resolve_a = flags(resolve_v, consts::RESOLVE_FLAGS);
            let mut text = format!("{{flags={}", flags_a.text);
            if flags_v & consts::O_CREAT_OR_TMPFILE != 0 || mode_v != 0 {
                text.push_str(&format!(", mode={}", mode(mode_v).text));
            }
            text.push_str(&format!(", resolve={}}}", resolve_a.text));
            Arg::new(
                text,
                json!({ "flags": flags_a.json, "mode": mode_v, "resolve": resolve_a.json }),
            )
        }
        None => ptr(p),
    }
}

fn access_mode(raw: u64) -> Arg {
    match uint32(raw) {
        0 => Arg::new("F_OK", json!(["F_OK"])),
        m => flags(m, consts::ACCESS_MODES),
    }
}

/// statx's flags: the sync type (whose default, 0, still shows) then `AT_*`.
fn statx_flags(raw: u64) -> Arg {
    typed_flags(
        uint32(raw),
        consts::STATX_SYNC_TYPE,
        consts::STATX_SYNC,
        consts::AT_FLAGS,
    )
}

/// getcwd's buffer; its return value counts the terminating NUL.
fn getcwd_buffer(ev: &SyscallEvent) -> Arg {
    match success(ev) {
        Some(len) => buffer(ev, 0, len.saturating_sub(1)),
        None => ptr(ev.args[0]),
    }
}

/// mknod's mode (file type and permissions) and, for devices, the device.
fn mknod(mode_raw: u64, dev: u64) -> Vec<Arg> {
    let m = uint32(mode_raw);
    let kind = m & consts::FILE_TYPE_MASK;
    let perms = mode(m & !consts::FILE_TYPE_MASK).text;
    let text = match lookup(kind, consts::FILE_TYPES) {
        Some(name) => format!("{name}|{perms}"),
        None if kind == 0 => perms,
        None => format!("{kind:#o}|{perms}"),
    };
    let mut args = vec![Arg::new(text, m)];
    if kind == consts::IS_CHR || kind == consts::IS_BLK {
        // glibc's major()/minor() split of a dev_t.
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
        let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
        args.push(Arg::new(
            format!("makedev({major:#x}, {minor:#x})"),
            json!({ "major": major, "minor": minor }),
        ));
    }
    args
}

fn prot(raw: u64) -> Arg {
    match uint32(raw) {
        0 => Arg::new("PROT_NONE", json!(["PROT_NONE"])),
        p => flags(p, consts::PROT_FLAGS),
    }
}

fn fcntl(ev: &SyscallEvent) -> (Vec<Arg>, Ret) {
    let a = ev.args;
    let cmd = int32(a[1]);
    let mut args = vec![c_int(a[0]), xval(uint32(a[1]), consts::FCNTL_CMDS)];
    let mut ret = Ret::Decimal;
    match cmd {
        k::F_SETFD => args.push(flags(uint32(a[2]), consts::FD_FLAGS)),
        k::F_SETFL => args.push(open_flags(uint32(a[2]))),
        k::F_DUPFD | k::F_DUPFD_CLOEXEC | k::F_SETPIPE_SZ | k::F_SETOWN => args.push(c_int(a[2])),
        k::F_SETSIG => args.push(signal(a[2])),
        k::F_SETLEASE => args.push(xval(uint32(a[2]), consts::LEASES)),
        k::F_ADD_SEALS => args.push(flags(uint32(a[2]), consts::SEALS)),
        k::F_GETFD => ret = Ret::FdFlags,
        k::F_GETFL => ret = Ret::FileFlags,
        k::F_GETOWN | k::F_GETSIG | k::F_GETLEASE | k::F_GET_SEALS | k::F_GETPIPE_SZ => {}
        k::F_GETLK
        | k::F_SETLK
        | k::F_SETLKW
        | k::F_OFD_GETLK
        | k::F_OFD_SETLK
        | k::F_OFD_SETLKW
        | k::F_SETOWN_EX
        | k::F_GETOWN_EX => args.push(ptr(a[2])),
        _ => args.push(hex(a[2])),
    }
    (args, ret)
}

/// clone's arguments, named as strace names them and shown only when the
/// flags make the kernel use them. Their order differs per architecture.
fn clone(ev: &SyscallEvent) -> Vec<Arg> {
    let a = ev.args;
    let (flags_raw, stack, parent_tid) = (a[0], a[1], a[2]);
    let (tls, child_tid) = match ev.arch {
        Arch::X86_64 => (a[4], a[3]),
        Arch::Aarch64 => (a[3], a[4]),
    };
    let flags_v = flags_raw & !consts::CLONE_SIGNAL_MASK;
    let mut names = flag_names(flags_v, consts::CLONE_FLAGS);
    let sig = flags_raw & consts::CLONE_SIGNAL_MASK;
    if sig != 0 {
        names.push(
            signal_name(sig as i32).map_or_else(|| Cow::Owned(sig.to_string()), Cow::Borrowed),
        );
    }
    let mut args = vec![
        ptr(stack).labelled("child_stack"),
        join_flags(names).labelled("flags"),
    ];
    if flags_v & consts::CLONE_PARENT_SETTID != 0 {
        args.push(ptr(parent_tid).labelled("parent_tid"));
    }
    if flags_v & consts::CLONE_SETTLS != 0 {
        args.push(ptr(tls).labelled("tls"));
    }
    if flags_v & consts::CLONE_CHILD_TID != 0 {
        args.push(ptr(child_tid).labelled("child_tidptr"));
    }
    args
}

/// wait4's status: only filled when a child was reaped (ret > 0).
fn wait_status(ev: &SyscallEvent, arg: usize) -> Arg {
    let p = ev.args[arg];
    if p == 0 || !matches!(ev.ret, Some(r) if r > 0) {
        return ptr(p);
    }
    match ev.capture(arg as u8) {
        Some(c) if c.fault => unreadable(p),
        Some(c) => read_i32(&c.bytes, 0).map_or_else(|| ptr(p), status),
        None => ptr(p),
    }
}

/// A wait status as strace shows it: `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`.
fn status(s: i32) -> Arg {
    let sig_text = |sig: i32| signal_name(sig).map_or_else(|| sig.to_string(), str::to_owned);
    let sig_json = |sig: i32| signal_name(sig).map_or_else(|| json!(sig), |n| json!(n));
    let (text, json, rest) = if s & 0xff == 0x7f {
        let sig = (s >> 8) & 0xff;
        let high = if sig & 0x80 != 0 { " | 0x80" } else { "" };
        (
            format!(
                "{{WIFSTOPPED(s) && WSTOPSIG(s) == {}{high}}}",
                sig_text(sig & 0x7f)
            ),
            json!({ "stopped": sig_json(sig & 0x7f) }),
            s & !((sig << 8) | 0x7f),
        )
    } else if s & 0x7f != 0 && s & 0x7f != 0x7f {
        let sig = s & 0x7f;
        let core = s & 0x80 != 0;
        (
            format!(
                "{{WIFSIGNALED(s) && WTERMSIG(s) == {}{}}}",
                sig_text(sig),
                if core { " && WCOREDUMP(s)" } else { "" }
            ),
            json!({ "signal": sig_json(sig), "core_dumped": core }),
            s & !(sig | 0x80),
        )
    } else if s & 0x7f == 0 {
        let code = (s >> 8) & 0xff;
        (
            format!("{{WIFEXITED(s) && WEXITSTATUS(s) == {code}}}"),
            json!({ "exit_code": code }),
            s & !(code << 8),
        )
    } else if s == 0xffff {
        (
            "{WIFCONTINUED(s)}".to_owned(),
            json!({ "continued": true }),
            0,
        )
    } else {
        let raw = format!("{:#x}", s as u32);
        return Arg::new(format!("[{raw}]"), json!({ "raw": s }));
    };
    let extra = if rest != 0 {
        format!(" | {:#x}", rest as u32)
    } else {
        String::new()
    };
    Arg::new(format!("[{text}{extra}]"), json)
}

fn family(raw: u64) -> Arg {
    xval(uint32(raw), consts::ADDRESS_FAMILIES)
}

fn socket_type(raw: u64) -> Arg {
    typed_flags(
        uint32(raw),
        consts::SOCK_TYPE_MASK,
        consts::SOCK_TYPES,
        consts::SOCK_FLAGS,
    )
}

/// A socket's protocol, whose names depend on the address family.
fn protocol(family: u64, raw: u64) -> Arg {
    match uint32(family) {
        consts::AF_INET | consts::AF_INET6 => xval(uint32(raw), consts::IP_PROTOCOLS),
        consts::AF_NETLINK => xval(uint32(raw), consts::NETLINK_PROTOCOLS),
        _ => c_int(raw),
    }
}

fn msg_flags(raw: u64) -> Arg {
    flags(uint32(raw), consts::MSG_FLAGS)
}

fn sockopt_names(level: u64) -> &'static [consts::Named] {
    match level {
        consts::SOL_SOCKET => consts::SOCKET_OPTIONS,
        consts::SOL_TCP => consts::TCP_OPTIONS,
        consts::SOL_IP => consts::IP_OPTIONS,
        consts::SOL_IPV6 => consts::IPV6_OPTIONS,
        _ => &[],
    }
}

/// A sockaddr of `len` bytes the process hands in.
fn sockaddr_in(ev: &SyscallEvent, arg: usize, len: u64) -> Arg {
    let p = ev.args[arg];
    match ev.capture(arg as u8) {
        _ if p == 0 => ptr(p),
        Some(c) if c.fault => unreadable(p),
        Some(c) => {
            let truncated = c.truncated || (c.bytes.len() as u64) < uint32(len);
            sockaddr::render(&c.bytes, truncated).unwrap_or_else(|| ptr(p))
        }
        None => ptr(p),
    }
}

/// A sockaddr the kernel fills; meaningful only on success.
fn sockaddr_out(ev: &SyscallEvent, arg: usize) -> Arg {
    let p = ev.args[arg];
    match ev.capture(arg as u8) {
        _ if p == 0 || success(ev).is_none() => ptr(p),
        Some(c) if c.fault => unreadable(p),
        Some(c) => sockaddr::render(&c.bytes, c.truncated).unwrap_or_else(|| ptr(p)),
        None => ptr(p),
    }
}

/// The `socklen_t *` beside a filled sockaddr: the probe copied as many
/// address bytes as it says, so a complete copy tells us its value.
fn socklen_out(ev: &SyscallEvent, arg: usize, addr_arg: usize) -> Arg {
    let p = ev.args[arg];
    match ev.capture(addr_arg as u8) {
        Some(c) if p != 0 && success(ev).is_some() && !c.fault && !c.truncated => {
            Arg::new(format!("[{}]", c.bytes.len()), c.bytes.len())
        }
        _ => ptr(p),
    }
}
