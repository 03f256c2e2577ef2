//! Named values for the flags and enumerations syscalls take, in the order
//! strace prints them.
//!
//! Values come from `libc`, which has the right ones for the architecture we
//! are built for; the kernel only ever hands us events in that architecture's
//! ABI (see [`crate::model::Arch::native`]). [`k`] fills the few gaps and the
//! one place where glibc's userland value is not the kernel's.

/// A value and the name strace prints for it.
pub(super) type Named = (u64, &'static str);

/// A flag word whose low bits are an enumeration and whose other bits are
/// flags: `O_RDONLY|O_CLOEXEC`, `SOCK_STREAM|SOCK_CLOEXEC`.
#[derive(Debug, PartialEq)]
pub(super) struct TypedFlags {
    /// The enumeration's bits.
    pub mask: u64,
    /// The enumeration's names; its value shows even when it is 0.
    pub types: &'static [Named],
    /// The flags in the other bits.
    pub flags: &'static [Named],
}

/// `libc`, plus the kernel values `libc` lacks or defines for userland only.
/// Items defined here shadow the glob import.
pub(super) mod k {
    pub use libc::*;

    /// glibc defines `O_LARGEFILE` as 0 on 64-bit targets (userland never
    /// needs to pass it), but the kernel sets the real bit in every 64-bit
    /// file's flags, so `fcntl(F_GETFL)` returns it.
    #[cfg(target_arch = "aarch64")]
    pub const O_LARGEFILE: c_int = 0o400000;
    /// See the aarch64 definition.
    #[cfg(not(target_arch = "aarch64"))]
    pub const O_LARGEFILE: c_int = 0o100000;
    /// strace's name for `O_ASYNC`.
    pub const FASYNC: c_int = O_ASYNC;
    pub const AT_EACCESS: c_int = 0x200;
    pub const SOCK_DCCP: c_int = 6;
    pub const SOCK_PACKET: c_int = 10;
    pub const MSG_PROBE: c_int = 0x10;
    pub const MSG_BATCH: c_int = 0x40000;
    pub const F_SETSIG: c_int = 10;
    pub const F_GETSIG: c_int = 11;
    pub const F_SETOWN_EX: c_int = 15;
    pub const F_GETOWN_EX: c_int = 16;
    pub const MAP_FIXED_NOREPLACE: c_int = 0x100000;
    pub const SHUT_RD: c_int = 0;
    pub const SHUT_WR: c_int = 1;
    pub const SHUT_RDWR: c_int = 2;
}

/// Builds a `&[Named]` from constant names, each cast through the C type the
/// kernel reads the argument as, so that a negative `c_int` such as `__WCLONE`
/// becomes its 32-bit pattern rather than a sign-extended 64-bit one.
macro_rules! named {
    ($ty:ty; $($name:ident),+ $(,)?) => {
        &[$((k::$name as $ty as u64, stringify!($name))),+]
    };
}

/// `open`'s access mode, the low two bits of its flags.
pub(super) const OPEN_ACCESS: &[Named] = named!(u32; O_RDONLY, O_WRONLY, O_RDWR);
/// The rest of `open`'s flags. Multi-bit flags come before their parts
/// (`O_SYNC` contains `O_DSYNC`, `O_TMPFILE` contains `O_DIRECTORY`).
pub(super) const OPEN_FLAGS: &[Named] = named!(u32;
    O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND, O_NONBLOCK, O_SYNC, O_DSYNC,
    O_DIRECT, O_LARGEFILE, O_NOFOLLOW, O_NOATIME, O_CLOEXEC, O_PATH, O_TMPFILE,
    O_DIRECTORY, FASYNC,
);
/// `open`'s flags: the access mode always shows, even `O_RDONLY` (0).
pub(super) static OPEN: TypedFlags = TypedFlags {
    mask: 0b11,
    types: OPEN_ACCESS,
    flags: OPEN_FLAGS,
};
pub(super) const ACCESS_MODES: &[Named] = named!(u32; R_OK, W_OK, X_OK);
pub(super) const AT_FLAGS: &[Named] = named!(u32;
    AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_NO_AUTOMOUNT, AT_EMPTY_PATH,
    AT_RECURSIVE,
);
pub(super) const UNLINKAT_FLAGS: &[Named] = named!(u32; AT_REMOVEDIR);
pub(super) const FACCESSAT_FLAGS: &[Named] =
    named!(u32; AT_SYMLINK_NOFOLLOW, AT_EACCESS, AT_EMPTY_PATH);
pub(super) const STATX_SYNC_TYPE: u64 = k::AT_STATX_SYNC_TYPE as u64;
pub(super) const STATX_SYNC: &[Named] =
    named!(u32; AT_STATX_SYNC_AS_STAT, AT_STATX_FORCE_SYNC, AT_STATX_DONT_SYNC);
/// statx's flags: the sync type (whose default, 0, still shows) then `AT_*`.
pub(super) static STATX: TypedFlags = TypedFlags {
    mask: STATX_SYNC_TYPE,
    types: STATX_SYNC,
    flags: AT_FLAGS,
};
pub(super) const STATX_MASK: &[Named] = named!(u32;
    STATX_ALL, STATX_BASIC_STATS, STATX_TYPE, STATX_MODE, STATX_NLINK, STATX_UID, STATX_GID,
    STATX_ATIME, STATX_MTIME, STATX_CTIME, STATX_INO, STATX_SIZE, STATX_BLOCKS, STATX_BTIME,
    STATX_MNT_ID, STATX_DIOALIGN, STATX_MNT_ID_UNIQUE, STATX_SUBVOL, STATX_WRITE_ATOMIC,
);
pub(super) const RENAME_FLAGS: &[Named] =
    named!(u32; RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT);
pub(super) const RESOLVE_FLAGS: &[Named] = named!(u64;
    RESOLVE_NO_XDEV, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, RESOLVE_BENEATH,
    RESOLVE_IN_ROOT, RESOLVE_CACHED,
);
pub(super) const FILE_TYPES: &[Named] =
    named!(u32; S_IFREG, S_IFSOCK, S_IFLNK, S_IFBLK, S_IFDIR, S_IFCHR, S_IFIFO);
pub(super) const FILE_TYPE_MASK: u64 = k::S_IFMT as u64;
pub(super) const IS_CHR: u64 = k::S_IFCHR as u64;
pub(super) const IS_BLK: u64 = k::S_IFBLK as u64;
/// `open` flags that make the kernel read the mode argument: `O_CREAT`, and
/// `O_TMPFILE` without the `O_DIRECTORY` bit it includes.
pub(super) const O_CREAT_OR_TMPFILE: u64 = (k::O_CREAT | (k::O_TMPFILE & !k::O_DIRECTORY)) as u64;

pub(super) const FD_FLAGS: &[Named] = named!(u32; FD_CLOEXEC);
pub(super) const FCNTL_CMDS: &[Named] = named!(u32;
    F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK, F_SETLK, F_SETLKW, F_SETOWN,
    F_GETOWN, F_SETSIG, F_GETSIG, F_SETOWN_EX, F_GETOWN_EX, F_OFD_GETLK, F_OFD_SETLK,
    F_OFD_SETLKW, F_SETLEASE, F_GETLEASE, F_NOTIFY, F_CANCELLK, F_DUPFD_CLOEXEC, F_SETPIPE_SZ,
    F_GETPIPE_SZ, F_ADD_SEALS, F_GET_SEALS,
);
pub(super) const LEASES: &[Named] = named!(u32; F_RDLCK, F_WRLCK, F_UNLCK);
pub(super) const SEALS: &[Named] = named!(u32;
    F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE,
);
pub(super) const SEEK_WHENCE: &[Named] =
    named!(u32; SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE);

pub(super) const PROT_FLAGS: &[Named] =
    named!(u32; PROT_READ, PROT_WRITE, PROT_EXEC, PROT_GROWSDOWN, PROT_GROWSUP);
/// `mmap`'s sharing type, the low four bits of its flags.
pub(super) const MAP_TYPES: &[Named] = named!(u32; MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE);
pub(super) const MAP_TYPE_MASK: u64 = 0xf;
pub(super) const MAP_FLAGS: &[Named] = named!(u32;
    MAP_FIXED, MAP_ANONYMOUS, MAP_NORESERVE, MAP_POPULATE, MAP_NONBLOCK, MAP_GROWSDOWN,
    MAP_DENYWRITE, MAP_EXECUTABLE, MAP_LOCKED, MAP_STACK, MAP_HUGETLB, MAP_SYNC,
    MAP_FIXED_NOREPLACE,
);
/// `mmap`'s flags: the sharing type, then the other flags.
pub(super) static MMAP: TypedFlags = TypedFlags {
    mask: MAP_TYPE_MASK,
    types: MAP_TYPES,
    flags: MAP_FLAGS,
};

pub(super) const INOTIFY_MASK: &[Named] = named!(u32;
    IN_ACCESS, IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE, IN_CLOSE_NOWRITE, IN_OPEN, IN_MOVED_FROM,
    IN_MOVED_TO, IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_MOVE_SELF, IN_UNMOUNT, IN_Q_OVERFLOW,
    IN_IGNORED, IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK, IN_MASK_CREATE, IN_MASK_ADD,
    IN_ISDIR, IN_ONESHOT,
);

/// `clone`'s flags without the exit signal in the low byte.
pub(super) const CLONE_FLAGS: &[Named] = named!(u32;
    CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND, CLONE_PIDFD, CLONE_PTRACE, CLONE_VFORK,
    CLONE_PARENT, CLONE_THREAD, CLONE_NEWNS, CLONE_SYSVSEM, CLONE_SETTLS, CLONE_PARENT_SETTID,
    CLONE_CHILD_CLEARTID, CLONE_UNTRACED, CLONE_CHILD_SETTID, CLONE_NEWCGROUP, CLONE_NEWUTS,
    CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_IO,
);
/// The exit signal's byte of `clone`'s flags.
pub(super) const CLONE_SIGNAL_MASK: u64 = 0xff;
pub(super) const CLONE_PARENT_SETTID: u64 = k::CLONE_PARENT_SETTID as u64;
pub(super) const CLONE_SETTLS: u64 = k::CLONE_SETTLS as u64;
pub(super) const CLONE_CHILD_TID: u64 = (k::CLONE_CHILD_SETTID | k::CLONE_CHILD_CLEARTID) as u64;
pub(super) const WAIT_OPTIONS: &[Named] = named!(u32;
    WNOHANG, WUNTRACED, WEXITED, WCONTINUED, WNOWAIT, __WCLONE, __WALL, __WNOTHREAD,
);
pub(super) const SIGNALS: &[Named] = named!(u32;
    SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1,
    SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP,
    SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR,
    SIGSYS,
);
/// The kernel's first real-time signal.
pub(super) const SIGRT_BASE: u64 = 32;
/// strace's names for the real-time signals, from [`SIGRT_BASE`] to the
/// kernel's last signal, 64.
pub(super) const SIGRT_NAMES: [&str; 33] = [
    "SIGRTMIN", "SIGRT_1", "SIGRT_2", "SIGRT_3", "SIGRT_4", "SIGRT_5", "SIGRT_6", "SIGRT_7",
    "SIGRT_8", "SIGRT_9", "SIGRT_10", "SIGRT_11", "SIGRT_12", "SIGRT_13", "SIGRT_14", "SIGRT_15",
    "SIGRT_16", "SIGRT_17", "SIGRT_18", "SIGRT_19", "SIGRT_20", "SIGRT_21", "SIGRT_22", "SIGRT_23",
    "SIGRT_24", "SIGRT_25", "SIGRT_26", "SIGRT_27", "SIGRT_28", "SIGRT_29", "SIGRT_30", "SIGRT_31",
    "SIGRT_32",
];

pub(super) const ADDRESS_FAMILIES: &[Named] = named!(u32;
    AF_UNSPEC, AF_UNIX, AF_INET, AF_AX25, AF_IPX, AF_APPLETALK, AF_NETROM, AF_BRIDGE,
    AF_ATMPVC, AF_X25, AF_INET6, AF_ROSE, AF_DECnet, AF_NETBEUI, AF_SECURITY, AF_KEY,
    AF_NETLINK, AF_PACKET, AF_ASH, AF_ECONET, AF_ATMSVC, AF_RDS, AF_SNA, AF_IRDA, AF_PPPOX,
    AF_WANPIPE, AF_LLC, AF_IB, AF_MPLS, AF_CAN, AF_TIPC, AF_BLUETOOTH, AF_IUCV, AF_RXRPC,
    AF_ISDN, AF_PHONET, AF_IEEE802154, AF_CAIF, AF_ALG, AF_NFC, AF_VSOCK, AF_XDP,
);
pub(super) const AF_UNIX: u64 = k::AF_UNIX as u64;
pub(super) const AF_INET: u64 = k::AF_INET as u64;
pub(super) const AF_INET6: u64 = k::AF_INET6 as u64;
pub(super) const AF_NETLINK: u64 = k::AF_NETLINK as u64;
pub(super) const SOCK_TYPES: &[Named] = named!(u32;
    SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_RDM, SOCK_SEQPACKET, SOCK_DCCP, SOCK_PACKET,
);
/// The socket type's bits of `socket`'s type argument; the rest are flags.
pub(super) const SOCK_TYPE_MASK: u64 = 0xf;
pub(super) const SOCK_FLAGS: &[Named] = named!(u32; SOCK_CLOEXEC, SOCK_NONBLOCK);
/// `socket`'s type argument: the socket type, then its flags.
pub(super) static SOCKET: TypedFlags = TypedFlags {
    mask: SOCK_TYPE_MASK,
    types: SOCK_TYPES,
    flags: SOCK_FLAGS,
};
pub(super) const IP_PROTOCOLS: &[Named] = named!(u32;
    IPPROTO_IP, IPPROTO_ICMP, IPPROTO_IGMP, IPPROTO_IPIP, IPPROTO_TCP, IPPROTO_EGP,
    IPPROTO_PUP, IPPROTO_UDP, IPPROTO_IDP, IPPROTO_TP, IPPROTO_DCCP, IPPROTO_IPV6,
    IPPROTO_RSVP, IPPROTO_GRE, IPPROTO_ESP, IPPROTO_AH, IPPROTO_ICMPV6, IPPROTO_MTP,
    IPPROTO_BEETPH, IPPROTO_ENCAP, IPPROTO_PIM, IPPROTO_COMP, IPPROTO_SCTP, IPPROTO_UDPLITE,
    IPPROTO_MPLS, IPPROTO_RAW, IPPROTO_MPTCP,
);
pub(super) const NETLINK_PROTOCOLS: &[Named] = named!(u32;
    NETLINK_ROUTE, NETLINK_UNUSED, NETLINK_USERSOCK, NETLINK_FIREWALL, NETLINK_SOCK_DIAG,
    NETLINK_NFLOG, NETLINK_XFRM, NETLINK_SELINUX, NETLINK_ISCSI, NETLINK_AUDIT,
    NETLINK_FIB_LOOKUP, NETLINK_CONNECTOR, NETLINK_NETFILTER, NETLINK_IP6_FW,
    NETLINK_DNRTMSG, NETLINK_KOBJECT_UEVENT, NETLINK_GENERIC, NETLINK_SCSITRANSPORT,
    NETLINK_ECRYPTFS, NETLINK_RDMA, NETLINK_CRYPTO,
);
pub(super) const MSG_FLAGS: &[Named] = named!(u32;
    MSG_OOB, MSG_PEEK, MSG_DONTROUTE, MSG_CTRUNC, MSG_PROBE, MSG_TRUNC, MSG_DONTWAIT, MSG_EOR,
    MSG_WAITALL, MSG_FIN, MSG_SYN, MSG_CONFIRM, MSG_RST, MSG_ERRQUEUE, MSG_NOSIGNAL, MSG_MORE,
    MSG_WAITFORONE, MSG_BATCH, MSG_ZEROCOPY, MSG_FASTOPEN, MSG_CMSG_CLOEXEC,
);
pub(super) const SHUTDOWN_HOW: &[Named] = named!(u32; SHUT_RD, SHUT_WR, SHUT_RDWR);
pub(super) const SOCKOPT_LEVELS: &[Named] = named!(u32;
    SOL_IP, SOL_SOCKET, SOL_TCP, SOL_UDP, SOL_IPV6, SOL_ICMPV6, SOL_RAW, SOL_PACKET, SOL_NETLINK,
    SOL_ALG, SOL_TLS,
);
pub(super) const SOL_SOCKET: u64 = k::SOL_SOCKET as u64;
pub(super) const SOL_IP: u64 = k::SOL_IP as u64;
pub(super) const SOL_TCP: u64 = k::SOL_TCP as u64;
pub(super) const SOL_IPV6: u64 = k::SOL_IPV6 as u64;
pub(super) const SOCKET_OPTIONS: &[Named] = named!(u32;
    SO_DEBUG, SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_DONTROUTE, SO_BROADCAST, SO_SNDBUF,
    SO_RCVBUF, SO_KEEPALIVE, SO_OOBINLINE, SO_NO_CHECK, SO_PRIORITY, SO_LINGER, SO_BSDCOMPAT,
    SO_REUSEPORT, SO_PASSCRED, SO_PEERCRED, SO_RCVLOWAT, SO_SNDLOWAT, SO_RCVTIMEO,
    SO_SNDTIMEO, SO_BINDTODEVICE, SO_ATTACH_FILTER, SO_DETACH_FILTER, SO_PEERNAME,
    SO_TIMESTAMP, SO_ACCEPTCONN, SO_PEERSEC, SO_SNDBUFFORCE, SO_RCVBUFFORCE, SO_PASSSEC,
    SO_MARK, SO_PROTOCOL, SO_DOMAIN, SO_RXQ_OVFL, SO_PEEK_OFF, SO_BUSY_POLL,
    SO_INCOMING_CPU, SO_ZEROCOPY, SO_TXTIME, SO_BINDTOIFINDEX, SO_PEERGROUPS,
);
pub(super) const TCP_OPTIONS: &[Named] = named!(u32;
    TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_SYNCNT,
    TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_WINDOW_CLAMP, TCP_INFO, TCP_QUICKACK, TCP_CONGESTION,
    TCP_MD5SIG, TCP_USER_TIMEOUT, TCP_FASTOPEN, TCP_NOTSENT_LOWAT, TCP_FASTOPEN_CONNECT,
    TCP_ULP,
);
pub(super) const IP_OPTIONS: &[Named] = named!(u32;
    IP_TOS, IP_TTL, IP_HDRINCL, IP_OPTIONS, IP_RECVOPTS, IP_RETOPTS, IP_PKTINFO,
    IP_MTU_DISCOVER, IP_RECVERR, IP_RECVTTL, IP_RECVTOS, IP_MTU, IP_FREEBIND, IP_TRANSPARENT,
    IP_MINTTL, IP_BIND_ADDRESS_NO_PORT, IP_MULTICAST_IF, IP_MULTICAST_TTL, IP_MULTICAST_LOOP,
    IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP,
);
pub(super) const IPV6_OPTIONS: &[Named] = named!(u32;
    IPV6_ADDRFORM, IPV6_UNICAST_HOPS, IPV6_MULTICAST_IF, IPV6_MULTICAST_HOPS,
    IPV6_MULTICAST_LOOP, IPV6_ADD_MEMBERSHIP, IPV6_DROP_MEMBERSHIP, IPV6_MTU_DISCOVER,
    IPV6_MTU, IPV6_RECVERR, IPV6_V6ONLY, IPV6_RECVPKTINFO, IPV6_PKTINFO, IPV6_TCLASS,
    IPV6_RECVTCLASS, IPV6_FREEBIND,
);
