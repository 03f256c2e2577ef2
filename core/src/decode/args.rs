//! Per-syscall argument decoders: the syscalls worth reading in detail.
//! Everything else goes through the generic decoder in the parent module.

use super::consts::{self, k};
use super::sockaddr;
use super::spec::OPEN_HOW_SIZE;
use super::value::{
    Arg, Args, argv, buffer, c_int, clone_flags, dev, dirfd, fd_pair, file_mode, filled, flags,
    flags_or, hex, id, int32, labelled_ptr, long, mode, open_flags, open_how, out_buffer, ptr, raw,
    read_i32, read_u64, signal, socket_address, string, success, typed_flags, uint, uint32,
    unreadable, wait_status, xval,
};
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

/// Appends the decoded arguments of `name` to `out` and says how its return
/// value reads, or returns `None`, appending nothing, when `name` has no
/// decoder of its own.
pub(super) fn decode<'e>(name: &str, ev: &'e SyscallEvent, out: &mut Args<'e>) -> Option<Ret> {
    let a = ev.args;
    let s = |i| string(ev, i);
    let fd = |i: usize| c_int(a[i]);
    let at_flags = |i: usize| flags(uint32(a[i]), consts::AT_FLAGS);
    match name {
        "open" => open(ev, 0, out),
        "openat" => {
            out.push(dirfd(a[0]));
            open(ev, 1, out);
        }
        "openat2" => out.extend([dirfd(a[0]), s(1), open_how_arg(ev, 2), uint(a[3])]),
        "creat" => out.extend([s(0), mode(a[1])]),
        "stat" | "lstat" | "statfs" | "utime" | "utimes" => out.extend([s(0), ptr(a[1])]),
        "fstat" | "fstatfs" => out.extend([fd(0), ptr(a[1])]),
        "newfstatat" => out.extend([dirfd(a[0]), s(1), ptr(a[2]), at_flags(3)]),
        "statx" => out.extend([
            dirfd(a[0]),
            s(1),
            statx_flags(a[2]),
            flags(uint32(a[3]), consts::STATX_MASK),
            ptr(a[4]),
        ]),
        "access" => out.extend([s(0), access_mode(a[1])]),
        "faccessat" => out.extend([dirfd(a[0]), s(1), access_mode(a[2])]),
        "faccessat2" => out.extend([
            dirfd(a[0]),
            s(1),
            access_mode(a[2]),
            flags(uint32(a[3]), consts::FACCESSAT_FLAGS),
        ]),
        "readlink" => out.extend([s(0), out_buffer(ev, 1), uint(a[2])]),
        "readlinkat" => out.extend([dirfd(a[0]), s(1), out_buffer(ev, 2), uint(a[3])]),
        "getcwd" => out.extend([getcwd_buffer(ev), uint(a[1])]),
        "execve" => out.extend([s(0), argv(ev, 1), ptr(a[2])]),
        "execveat" => out.extend([dirfd(a[0]), s(1), argv(ev, 2), ptr(a[3]), at_flags(4)]),
        "chdir" | "chroot" | "rmdir" | "unlink" | "acct" | "swapoff" | "uselib" => out.push(s(0)),
        "fchdir" | "close" | "dup" | "fsync" | "fdatasync" | "syncfs" => out.push(fd(0)),
        "mkdir" | "chmod" => out.extend([s(0), mode(a[1])]),
        "fchmod" => out.extend([fd(0), mode(a[1])]),
        "mkdirat" | "fchmodat" => out.extend([dirfd(a[0]), s(1), mode(a[2])]),
        "fchmodat2" => out.extend([dirfd(a[0]), s(1), mode(a[2]), at_flags(3)]),
        "mknod" => {
            out.push(s(0));
            mknod(a[1], a[2], out);
        }
        "mknodat" => {
            out.extend([dirfd(a[0]), s(1)]);
            mknod(a[2], a[3], out);
        }
        "unlinkat" => out.extend([
            dirfd(a[0]),
            s(1),
            flags(uint32(a[2]), consts::UNLINKAT_FLAGS),
        ]),
        "rename" | "link" | "symlink" | "pivot_root" => out.extend([s(0), s(1)]),
        "renameat" => out.extend([dirfd(a[0]), s(1), dirfd(a[2]), s(3)]),
        "renameat2" => out.extend([
            dirfd(a[0]),
            s(1),
            dirfd(a[2]),
            s(3),
            flags(uint32(a[4]), consts::RENAME_FLAGS),
        ]),
        "linkat" => out.extend([dirfd(a[0]), s(1), dirfd(a[2]), s(3), at_flags(4)]),
        "symlinkat" => out.extend([s(0), dirfd(a[1]), s(2)]),
        "truncate" => out.extend([s(0), long(a[1])]),
        "ftruncate" => out.extend([fd(0), long(a[1])]),
        "chown" | "lchown" => out.extend([s(0), id(a[1]), id(a[2])]),
        "fchown" => out.extend([fd(0), id(a[1]), id(a[2])]),
        "fchownat" => out.extend([dirfd(a[0]), s(1), id(a[2]), id(a[3]), at_flags(4)]),
        "utimensat" => out.extend([dirfd(a[0]), s(1), ptr(a[2]), at_flags(3)]),
        "inotify_add_watch" => out.extend([fd(0), s(1), flags(uint32(a[2]), consts::INOTIFY_MASK)]),

        "read" => out.extend([fd(0), out_buffer(ev, 1), uint(a[2])]),
        "write" => out.extend([fd(0), buffer(ev, 1, a[2]), uint(a[2])]),
        "pread64" => out.extend([fd(0), out_buffer(ev, 1), uint(a[2]), long(a[3])]),
        "pwrite64" => out.extend([fd(0), buffer(ev, 1, a[2]), uint(a[2]), long(a[3])]),
        "readv" | "writev" => out.extend([fd(0), ptr(a[1]), c_int(a[2])]),
        "dup2" => out.extend([fd(0), fd(1)]),
        "dup3" => out.extend([fd(0), fd(1), flags(uint32(a[2]), consts::OPEN_FLAGS)]),
        "pipe" => out.push(fd_pair(ev, 0)),
        "pipe2" => out.extend([fd_pair(ev, 0), flags(uint32(a[1]), consts::OPEN_FLAGS)]),
        "fcntl" => return Some(fcntl(ev, out)),
        "lseek" => out.extend([fd(0), long(a[1]), xval(uint32(a[2]), consts::SEEK_WHENCE)]),
        "ioctl" => out.extend([fd(0), hex(uint32(a[1])), raw(a[2])]),
        "mmap" => {
            out.extend([
                ptr(a[0]),
                uint(a[1]),
                prot(a[2]),
                typed_flags(uint32(a[3]), &consts::MMAP),
                fd(4),
                hex(a[5]),
            ]);
            return Some(Ret::Hex);
        }
        "mprotect" => out.extend([ptr(a[0]), uint(a[1]), prot(a[2])]),
        "munmap" => out.extend([ptr(a[0]), uint(a[1])]),
        "brk" => {
            out.push(ptr(a[0]));
            return Some(Ret::Hex);
        }

        "clone" => clone(ev, out),
        "clone3" => out.extend([ptr(a[0]), uint(a[1])]),
        "fork" | "vfork" => {}
        "exit" | "exit_group" => out.push(c_int(a[0])),
        "wait4" => out.extend([
            c_int(a[0]),
            wait_status_arg(ev, 1),
            flags(uint32(a[2]), consts::WAIT_OPTIONS),
            ptr(a[3]),
        ]),
        "kill" | "tkill" => out.extend([c_int(a[0]), signal(a[1])]),
        "tgkill" => out.extend([c_int(a[0]), c_int(a[1]), signal(a[2])]),

        "socket" => out.extend([family(a[0]), socket_type(a[1]), protocol(a[0], a[2])]),
        "socketpair" => out.extend([
            family(a[0]),
            socket_type(a[1]),
            protocol(a[0], a[2]),
            fd_pair(ev, 3),
        ]),
        "connect" | "bind" => out.extend([fd(0), sockaddr_in(ev, 1, a[2]), uint(uint32(a[2]))]),
        "accept" | "getsockname" | "getpeername" => {
            out.extend([fd(0), sockaddr_out(ev, 1), socklen_out(ev, 2, 1)])
        }
        "accept4" => out.extend([
            fd(0),
            sockaddr_out(ev, 1),
            socklen_out(ev, 2, 1),
            flags(uint32(a[3]), consts::SOCK_FLAGS),
        ]),
        "listen" => out.extend([fd(0), c_int(a[1])]),
        "sendto" => out.extend([
            fd(0),
            buffer(ev, 1, a[2]),
            uint(a[2]),
            msg_flags(a[3]),
            sockaddr_in(ev, 4, a[5]),
            uint(uint32(a[5])),
        ]),
        "recvfrom" => out.extend([
            fd(0),
            out_buffer(ev, 1),
            uint(a[2]),
            msg_flags(a[3]),
            sockaddr_out(ev, 4),
            socklen_out(ev, 5, 4),
        ]),
        "sendmsg" | "recvmsg" => out.extend([fd(0), ptr(a[1]), msg_flags(a[2])]),
        "shutdown" => out.extend([fd(0), xval(uint32(a[1]), consts::SHUTDOWN_HOW)]),
        "setsockopt" | "getsockopt" => {
            let level = uint32(a[1]);
            let last = if name == "setsockopt" {
                uint(uint32(a[4]))
            } else {
                ptr(a[4])
            };
            out.extend([
                fd(0),
                xval(level, consts::SOCKOPT_LEVELS),
                xval(uint32(a[2]), sockopt_names(level)),
                ptr(a[3]),
                last,
            ])
        }
        _ => return None,
    }
    Some(Ret::Decimal)
}

/// `open`'s path, flags, and the mode when the flags make the kernel read it.
fn open<'e>(ev: &'e SyscallEvent, first: usize, out: &mut Args<'e>) {
    let flags = uint32(ev.args[first + 1]);
    out.extend([string(ev, first), open_flags(flags)]);
    if flags & consts::O_CREAT_OR_TMPFILE != 0 {
        out.push(mode(ev.args[first + 2]));
    }
}

/// openat2's `struct open_how { u64 flags, mode, resolve; }`.
fn open_how_arg(ev: &SyscallEvent, arg: usize) -> Arg<'_> {
    let p = ev.args[arg];
    let size = ev.args[arg + 1];
    match ev.capture(arg as u8) {
        _ if p == 0 || size < u64::from(OPEN_HOW_SIZE) => ptr(p),
        Some(c) if c.fault => unreadable(p),
        Some(c) => match (
            read_u64(&c.bytes, 0),
            read_u64(&c.bytes, 8),
            read_u64(&c.bytes, 16),
        ) {
            (Some(flags_v), Some(mode_v), Some(resolve_v)) => open_how(flags_v, mode_v, resolve_v),
            _ => ptr(p),
        },
        None => ptr(p),
    }
}

fn access_mode<'e>(raw: u64) -> Arg<'e> {
    flags_or(uint32(raw), consts::ACCESS_MODES, "F_OK")
}

/// statx's flags: the sync type (whose default, 0, still shows) then `AT_*`.
fn statx_flags<'e>(raw: u64) -> Arg<'e> {
    typed_flags(uint32(raw), &consts::STATX)
}

/// getcwd's buffer; its return value counts the terminating NUL.
fn getcwd_buffer(ev: &SyscallEvent) -> Arg<'_> {
    match success(ev) {
        Some(len) => buffer(ev, 0, len.saturating_sub(1)),
        None => ptr(ev.args[0]),
    }
}

/// mknod's mode (file type and permissions) and, for devices, the device.
fn mknod(mode_raw: u64, dev_raw: u64, out: &mut Args<'_>) {
    let m = uint32(mode_raw);
    let kind = m & consts::FILE_TYPE_MASK;
    out.push(file_mode(m));
    if kind == consts::IS_CHR || kind == consts::IS_BLK {
        // glibc's major()/minor() split of a dev_t.
        let major = ((dev_raw >> 8) & 0xfff) | ((dev_raw >> 32) & !0xfff);
        let minor = (dev_raw & 0xff) | ((dev_raw >> 12) & !0xff);
        out.push(dev(major, minor));
    }
}

fn prot<'e>(raw: u64) -> Arg<'e> {
    flags_or(uint32(raw), consts::PROT_FLAGS, "PROT_NONE")
}

fn fcntl(ev: &SyscallEvent, out: &mut Args<'_>) -> Ret {
    let a = ev.args;
    let cmd = int32(a[1]);
    out.extend([c_int(a[0]), xval(uint32(a[1]), consts::FCNTL_CMDS)]);
    let mut ret = Ret::Decimal;
    match cmd {
        k::F_SETFD => out.push(flags(uint32(a[2]), consts::FD_FLAGS)),
        k::F_SETFL => out.push(open_flags(uint32(a[2]))),
        k::F_DUPFD | k::F_DUPFD_CLOEXEC | k::F_SETPIPE_SZ | k::F_SETOWN => out.push(c_int(a[2])),
        k::F_SETSIG => out.push(signal(a[2])),
        k::F_SETLEASE => out.push(xval(uint32(a[2]), consts::LEASES)),
        k::F_ADD_SEALS => out.push(flags(uint32(a[2]), consts::SEALS)),
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
        | k::F_GETOWN_EX => out.push(ptr(a[2])),
        _ => out.push(hex(a[2])),
    }
    ret
}

/// clone's arguments, named as strace names them and shown only when the
/// flags make the kernel use them. Their order differs per architecture.
fn clone(ev: &SyscallEvent, out: &mut Args<'_>) {
    let a = ev.args;
    let (flags_raw, stack, parent_tid) = (a[0], a[1], a[2]);
    let (tls, child_tid) = match ev.arch {
        Arch::X86_64 => (a[4], a[3]),
        Arch::Aarch64 => (a[3], a[4]),
    };
    let flags_v = flags_raw & !consts::CLONE_SIGNAL_MASK;
    out.extend([labelled_ptr("child_stack", stack), clone_flags(flags_raw)]);
    if flags_v & consts::CLONE_PARENT_SETTID != 0 {
        out.push(labelled_ptr("parent_tid", parent_tid));
    }
    if flags_v & consts::CLONE_SETTLS != 0 {
        out.push(labelled_ptr("tls", tls));
    }
    if flags_v & consts::CLONE_CHILD_TID != 0 {
        out.push(labelled_ptr("child_tidptr", child_tid));
    }
}

/// wait4's status: only filled when a child was reaped (ret > 0).
fn wait_status_arg(ev: &SyscallEvent, arg: usize) -> Arg<'_> {
    let p = ev.args[arg];
    if p == 0 || !matches!(ev.ret, Some(r) if r > 0) {
        return ptr(p);
    }
    match ev.capture(arg as u8) {
        Some(c) if c.fault => unreadable(p),
        Some(c) => read_i32(&c.bytes, 0).map_or_else(|| ptr(p), wait_status),
        None => ptr(p),
    }
}

fn family<'e>(raw: u64) -> Arg<'e> {
    xval(uint32(raw), consts::ADDRESS_FAMILIES)
}

fn socket_type<'e>(raw: u64) -> Arg<'e> {
    typed_flags(uint32(raw), &consts::SOCKET)
}

/// A socket's protocol, whose names depend on the address family.
fn protocol<'e>(family: u64, raw: u64) -> Arg<'e> {
    match uint32(family) {
        consts::AF_INET | consts::AF_INET6 => xval(uint32(raw), consts::IP_PROTOCOLS),
        consts::AF_NETLINK => xval(uint32(raw), consts::NETLINK_PROTOCOLS),
        _ => c_int(raw),
    }
}

fn msg_flags<'e>(raw: u64) -> Arg<'e> {
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
fn sockaddr_in(ev: &SyscallEvent, arg: usize, len: u64) -> Arg<'_> {
    let p = ev.args[arg];
    match ev.capture(arg as u8) {
        _ if p == 0 => ptr(p),
        Some(c) if c.fault => unreadable(p),
        Some(c) => {
            let truncated = c.truncated || (c.bytes.len() as u64) < uint32(len);
            sockaddr::parse(&c.bytes, truncated).map_or_else(|| ptr(p), socket_address)
        }
        None => ptr(p),
    }
}

/// A sockaddr the kernel fills; meaningful only on success.
fn sockaddr_out(ev: &SyscallEvent, arg: usize) -> Arg<'_> {
    let p = ev.args[arg];
    match ev.capture(arg as u8) {
        _ if p == 0 || success(ev).is_none() => ptr(p),
        Some(c) if c.fault => unreadable(p),
        Some(c) => sockaddr::parse(&c.bytes, c.truncated).map_or_else(|| ptr(p), socket_address),
        None => ptr(p),
    }
}

/// The `socklen_t *` beside a filled sockaddr: the probe copied as many
/// address bytes as it says, so a complete copy tells us its value.
fn socklen_out<'e>(ev: &SyscallEvent, arg: usize, addr_arg: usize) -> Arg<'e> {
    let p = ev.args[arg];
    match ev.capture(addr_arg as u8) {
        Some(c) if p != 0 && success(ev).is_some() && !c.fault && !c.truncated => {
            filled(c.bytes.len() as u64)
        }
        _ => ptr(p),
    }
}
