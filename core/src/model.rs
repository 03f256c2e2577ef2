//! The events hostscope sees, independent of how the kernel delivered them.

use std::ops::Deref;

use serde::Serialize;

/// A thread's name as the kernel keeps it: at most 16 bytes, raw
/// (hostile: escape before printing). Inline, so that an event carries it
/// without an allocation: every record of the probe has one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Comm {
    bytes: [u8; Comm::MAX],
    len: u8,
}

impl Comm {
    /// The kernel's TASK_COMM_LEN, NUL included (a name is one byte less).
    pub const MAX: usize = 16;

    /// The first [`Comm::MAX`] bytes of `raw`.
    pub fn new(raw: &[u8]) -> Comm {
        let len = raw.len().min(Comm::MAX);
        let mut bytes = [0; Comm::MAX];
        bytes[..len].copy_from_slice(&raw[..len]);
        Comm {
            bytes,
            len: len as u8,
        }
    }
}

impl Deref for Comm {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for Comm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.deref().escape_ascii().to_string())
    }
}

impl From<&[u8]> for Comm {
    fn from(raw: &[u8]) -> Comm {
        Comm::new(raw)
    }
}

impl<const N: usize> From<&[u8; N]> for Comm {
    fn from(raw: &[u8; N]) -> Comm {
        Comm::new(raw)
    }
}

impl From<Comm> for Vec<u8> {
    fn from(comm: Comm) -> Vec<u8> {
        comm.to_vec()
    }
}

impl PartialEq<[u8]> for Comm {
    fn eq(&self, other: &[u8]) -> bool {
        **self == *other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Comm {
    fn eq(&self, other: &&[u8; N]) -> bool {
        **self == other[..]
    }
}

/// The instruction set whose syscall numbering an event uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture hostscope was compiled for, which is the one the
    /// kernel's `sys_enter` numbers are in (we do not trace compat syscalls).
    pub const fn native() -> Self {
        #[cfg(target_arch = "aarch64")]
        {
            Arch::Aarch64
        }
        #[cfg(not(target_arch = "aarch64"))]
        {
            Arch::X86_64
        }
    }
}

/// How the probe copies one syscall argument's user memory.
///
/// This is the contract between the decoder (which says what it needs per
/// syscall) and the probe (which copies exactly that, and nothing else).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capture {
    /// Nothing copied: the argument is a plain integer.
    None,
    /// A NUL-terminated string at the pointer (paths, names).
    Str,
    /// Bytes the process hands to the kernel; the length is argument `len_arg`
    /// (write, send, pwrite64). Capped by the probe's buffer size.
    BufIn { len_arg: u8 },
    /// Bytes the kernel filled; the length is the return value (read, recv).
    BufOut,
    /// A `struct sockaddr` given to the kernel, of length argument `len_arg`.
    SockAddrIn { len_arg: u8 },
    /// A `struct sockaddr` the kernel filled; its length is the `socklen_t`
    /// that argument `len_ptr_arg` points to after the call.
    SockAddrOut { len_ptr_arg: u8 },
    /// Two `int`s filled on success (pipe, pipe2, socketpair).
    FdPair,
    /// One `int` filled by the kernel (wait4's status).
    IntOut,
    /// A fixed-size struct, `size` bytes (openat2's `open_how`).
    Struct { size: u8 },
    /// A NULL-terminated array of string pointers (execve's argv).
    Argv,
}

/// What one captured argument held, as copied from the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// Index of the syscall argument (0..6) the bytes belong to.
    pub arg: u8,
    /// For [`Capture::Argv`], the element's position in the array; else 0.
    pub index: u16,
    /// The bytes as the process had them, without a trailing NUL.
    pub bytes: Vec<u8>,
    /// The copy stopped at the probe's size limit: the real value is longer.
    pub truncated: bool,
    /// The process's memory could not be read (bad pointer, page not present).
    pub fault: bool,
}

/// One completed syscall of one thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallEvent {
    /// Unix time of the syscall's entry, in nanoseconds.
    pub ts_ns: u64,
    /// Process (thread group) id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// The thread's name at syscall exit, raw bytes (hostile: escape before
    /// printing).
    pub comm: Comm,
    pub arch: Arch,
    /// Syscall number in `arch`'s numbering.
    pub nr: u32,
    /// Raw argument registers.
    pub args: [u64; 6],
    /// Return value; `None` for syscalls that never return (exit, exit_group,
    /// a successful execve's old image aside).
    pub ret: Option<i64>,
    /// Time from entry to exit, in nanoseconds; `None` for syscalls that
    /// never return, and for those that began before tracing did (seen only
    /// at their exit).
    pub duration_ns: Option<u64>,
    /// User memory the probe copied, for the arguments that point to it.
    pub captures: Vec<Captured>,
    /// execve's argv had more elements than the probe copies.
    pub argv_truncated: bool,
    /// The thread's real user and group ids at the call (what decides a
    /// permission denied).
    pub uid: u32,
    pub gid: u32,
}

impl SyscallEvent {
    /// The captured bytes of argument `arg` (the first element for argv).
    pub fn capture(&self, arg: u8) -> Option<&Captured> {
        self.captures.iter().find(|c| c.arg == arg)
    }

    /// The elements of an argv-style argument, in order.
    pub fn argv(&self, arg: u8) -> impl Iterator<Item = &Captured> {
        let of_arg = move |c: &&Captured| c.arg == arg;
        // The probe delivers elements in order; sorting (which allocates)
        // is only for events that were put together otherwise.
        let in_order = self
            .captures
            .iter()
            .filter(of_arg)
            .is_sorted_by_key(|c| c.index);
        let sorted = (!in_order).then(|| {
            let mut items: Vec<&Captured> = self.captures.iter().filter(of_arg).collect();
            items.sort_by_key(|c| c.index);
            items
        });
        let direct = self.captures.iter().filter(move |c| in_order && of_arg(c));
        sorted.into_iter().flatten().chain(direct)
    }

    /// The errno of a failed syscall (a return value in -4095..=-1).
    pub fn errno(&self) -> Option<i32> {
        match self.ret {
            Some(r) if (-4095..0).contains(&r) => Some(-r as i32),
            _ => None,
        }
    }
}

/// A process (thread group) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessExit {
    /// Unix time of the exit, in nanoseconds.
    pub ts_ns: u64,
    pub pid: u32,
    /// The last thread's name, raw bytes.
    pub comm: Comm,
    /// The wait status as `waitpid` would report it (exit code in bits 8..16,
    /// terminating signal in bits 0..7).
    pub wait_status: i32,
}

impl ProcessExit {
    /// The signal that killed the process, if one did.
    pub fn signal(&self) -> Option<i32> {
        let sig = self.wait_status & 0x7f;
        (sig != 0).then_some(sig)
    }

    /// The exit code, if the process exited rather than being killed.
    pub fn code(&self) -> Option<i32> {
        self.signal()
            .is_none()
            .then_some((self.wait_status >> 8) & 0xff)
    }
}

/// A traced process started another process (not a thread).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessFork {
    /// Unix time of the fork, in nanoseconds.
    pub ts_ns: u64,
    /// The process that forked.
    pub parent: u32,
    /// The thread that called fork/clone.
    pub tid: u32,
    /// The new process.
    pub child: u32,
    /// The forking thread's name, raw bytes.
    pub comm: Comm,
}

/// A traced process replaced its program (a successful execve).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessExec {
    /// Unix time of the exec, in nanoseconds.
    pub ts_ns: u64,
    pub pid: u32,
    /// The file now running, as the caller named it (raw bytes).
    pub filename: Vec<u8>,
    /// The process's name after the exec (raw bytes).
    pub comm: Comm,
    /// `filename` was cut at the probe's size limit.
    pub truncated: bool,
}

/// The OOM killer chose a process to kill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessOom {
    /// Unix time, in nanoseconds.
    pub ts_ns: u64,
    /// The victim.
    pub pid: u32,
    /// The victim's name, raw bytes.
    pub comm: Comm,
    /// The victim's uid.
    pub uid: u32,
    /// The process whose allocation set the killer off.
    pub trigger: u32,
}

/// A thread repeated its last failed lookup, identically, `count` more
/// times (the probe counts such repeats instead of sending each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupRepeat {
    /// Unix time of the latest repeat, in nanoseconds.
    pub ts_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub count: u64,
}

/// A stream socket as the probe found it behind an fd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SocketInfo {
    /// The kernel's socket: the same number from every syscall on this
    /// connection, on this host, while it lives.
    pub id: u64,
    /// For a unix socket, the other end's `id` (0 when unconnected).
    pub peer: u64,
    /// This end and the other, for TCP over IPv4 or IPv6; `None` for unix
    /// sockets.
    pub local: Option<std::net::SocketAddr>,
    pub remote: Option<std::net::SocketAddr>,
}

/// A read, write, connect or accept on a stream socket, with the first
/// bytes of what went through it (for request chains).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketCall {
    /// Unix time at the call's return, in nanoseconds.
    pub ts_ns: u64,
    pub pid: u32,
    pub tid: u32,
    /// Raw bytes.
    pub comm: Comm,
    pub arch: Arch,
    pub nr: u32,
    /// Bytes moved; connect's result; accept's new fd.
    pub ret: i64,
    pub socket: SocketInfo,
    /// The payload's first bytes (raw, hostile: escape before display).
    pub payload: Vec<u8>,
}

/// A TCP connection established: its handshake done (seen by the kernel,
/// not in any process's syscall).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketOpen {
    /// Unix time, in nanoseconds.
    pub ts_ns: u64,
    /// The socket, as [`SocketInfo::id`].
    pub id: u64,
    /// Whether this is the end that connected (else it accepted).
    pub client: bool,
}

/// The end of a TCP connection, however it ended (seen by the kernel, not
/// in any process's syscall).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketClose {
    /// Unix time, in nanoseconds.
    pub ts_ns: u64,
    /// The socket, as [`SocketInfo::id`].
    pub id: u64,
}

/// Everything the probe delivers, in the order it was delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Syscall(SyscallEvent),
    /// Delivered before any event of the child, unlike the parent's clone
    /// return, which the child's first syscalls can overtake.
    Fork(ProcessFork),
    /// Only when the probe is asked for exec records.
    Exec(ProcessExec),
    Exit(ProcessExit),
    /// Only when the probe is asked for OOM records.
    Oom(ProcessOom),
    /// Only when the probe is asked to fold repeats; always after the
    /// thread's lookup it repeats, and before its next record.
    Repeat(LookupRepeat),
    /// Only when the probe is asked for socket records.
    Socket(SocketCall),
    /// Only when the probe is asked for socket records; for every TCP
    /// socket of the host, whether or not its process is a target.
    SocketClosed(SocketClose),
    /// Only when the probe is asked for socket records; for every TCP
    /// connection of the host, like [`Event::SocketClosed`].
    SocketOpened(SocketOpen),
}

/// Events the probe could not deliver whole, by cause. Summed over all CPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Losses {
    /// Events dropped because the ring buffer was full.
    pub ring_full: u64,
    /// Strings or buffers cut at the probe's size limit (the event was still
    /// delivered, with the prefix).
    pub truncated: u64,
    /// Arguments whose user memory could not be read (the event was still
    /// delivered, without them).
    pub unreadable: u64,
    /// Syscalls seen only at their exit: they began before the probe was
    /// attached (a process blocked in read at `-p`, say). Delivered, without
    /// a duration; not lost.
    pub unmatched_exit: u64,
    /// Syscalls or children not followed because the kernel could not
    /// allocate their in-flight slot or tracing entry.
    pub table_full: u64,
}

impl Losses {
    /// Events that were lost entirely (not just shortened).
    pub fn events_lost(&self) -> u64 {
        self.ring_full + self.table_full
    }

    /// Whether anything at all was lost or shortened.
    pub fn any(&self) -> bool {
        self.events_lost() + self.truncated + self.unreadable + self.unmatched_exit > 0
    }
}

#[cfg(test)]
mod tests {
    use super::Comm;

    #[test]
    fn a_comm_is_its_bytes_up_to_the_kernel_s_limit() {
        let comm = Comm::new(b"nginx\x1b[31m");
        assert_eq!(&comm[..], b"nginx\x1b[31m");
        assert_eq!(comm, b"nginx\x1b[31m");
        assert_eq!(format!("{comm:?}"), r#""nginx\\x1b[31m""#);
        let long = Comm::new(&[b'x'; 40]);
        assert_eq!(long.len(), Comm::MAX);
        assert!(Comm::default().is_empty());
    }
}
