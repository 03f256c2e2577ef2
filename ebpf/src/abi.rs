//! Rust mirrors of `bpf/hostscope.h`: the structs and constants that cross
//! the ring buffer and the maps. The assertions at the bottom fail the build
//! if a mirror drifts from the C layout.

pub const MAX_SYSCALLS: u32 = 1024;
pub const NARGS: usize = 6;
/// Threads whose ids are equal modulo this share one slot for counting
/// repeated failed lookups: while one holds it, every lookup of the other is
/// sent in full.
pub const REPEAT_SLOTS: u32 = 16384;

pub const EV_SYSCALL: u32 = 1;
pub const EV_EXEC_ARGS: u32 = 2;
pub const EV_EXIT: u32 = 3;
pub const EV_FORK: u32 = 4;
pub const EV_EXEC: u32 = 5;
pub const EV_OOM: u32 = 6;
pub const EV_REPEAT: u32 = 7;
pub const EV_SOCKIO: u32 = 8;
pub const EV_SOCKCLOSE: u32 = 9;
pub const EV_SOCKOPEN: u32 = 10;

pub const EVF_NORETURN: u16 = 1;
pub const EVF_ARGV_TRUNC: u16 = 2;
pub const EVF_NO_ENTRY: u16 = 4;
pub const EVF_NO_DURATION: u16 = 8;

pub const CAP_NONE: u8 = 0;
pub const CAP_STR: u8 = 1;
pub const CAP_BUF_IN: u8 = 2;
pub const CAP_BUF_OUT: u8 = 3;
pub const CAP_SOCKADDR_IN: u8 = 4;
pub const CAP_SOCKADDR_OUT: u8 = 5;
pub const CAP_FDPAIR: u8 = 6;
pub const CAP_INT_OUT: u8 = 7;
pub const CAP_STRUCT: u8 = 8;
pub const CAP_ARGV: u8 = 9;

pub const SPEC_ENABLED: u16 = 1;
pub const SPEC_FAILED_ONLY: u16 = 2;
pub const SPEC_ENTRY_CAPTURE: u16 = 4;
pub const SPEC_NORETURN: u16 = 8;
pub const SPEC_LOOKUP: u16 = 16;
pub const SPEC_STDERR: u16 = 32;
pub const SPEC_EXEC: u16 = 64;
pub const SPEC_SOCKIO: u16 = 128;

pub const IO_BUF: u8 = 1;
pub const IO_IOV: u8 = 2;
pub const IO_MSG: u8 = 3;
pub const IO_CONNECT: u8 = 4;
pub const IO_ACCEPT: u8 = 5;

pub const CAPF_TRUNCATED: u16 = 1;
pub const CAPF_FAULT: u16 = 2;

pub const STAT_RING_FULL: u32 = 0;
pub const STAT_TRUNCATED: u32 = 1;
pub const STAT_UNREADABLE: u32 = 2;
pub const STAT_UNMATCHED_EXIT: u32 = 3;
pub const STAT_TABLE_FULL: u32 = 4;
pub const STAT_DELIVERED: u32 = 5;

pub const TRACE_FOLLOW: u32 = 1;

/// `struct hs_spec`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spec {
    pub kind: [u8; NARGS],
    pub aux: [u8; NARGS],
    pub flags: u16,
    pub cap_lo: u8,
    pub cap_hi: u8,
}

// SAFETY: plain integers, no padding (checked below), any bit pattern valid.
unsafe impl aya::Pod for Spec {}

/// `struct hs_last_lookup`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LastLookup {
    pub hash: u64,
    pub count: u64,
    pub last_ts: u64,
    /// `tgid << 32 | tid` of the thread holding the slot; 0 when free.
    pub holder: u64,
}

// SAFETY: plain integers, no padding (checked below), any bit pattern valid.
unsafe impl aya::Pod for LastLookup {}

/// `struct hs_sockinfo`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SockInfo {
    pub sk: u64,
    pub peer: u64,
    pub family: u16,
    pub kind: u16,
    pub lport: u16,
    pub rport: u16,
    pub laddr: [u8; 16],
    pub raddr: [u8; 16],
}

/// `struct hs_live`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Live {
    pub focus_tgid: u32,
    pub everything: u32,
    pub sockets: u32,
    pub pad: u32,
}

// SAFETY: plain integers, no padding (checked below), any bit pattern valid.
unsafe impl aya::Pod for Live {}

/// `struct hs_event`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct EventHeader {
    pub kind: u32,
    pub tgid: u32,
    pub tid: u32,
    pub nr: u32,
    pub ts_ns: u64,
    pub dur_ns: u64,
    pub ret: i64,
    pub args: [u64; NARGS],
    pub comm: [u8; 16],
    pub ncap: u16,
    pub flags: u16,
    pub size: u32,
    pub uid: u32,
    pub gid: u32,
}

/// `struct hs_capture`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CaptureHeader {
    pub arg: u8,
    pub kind: u8,
    pub index: u16,
    pub len: u16,
    pub flags: u16,
}

const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<Spec>() == 16);
    assert!(size_of::<Live>() == 16);
    assert!(size_of::<LastLookup>() == 32);
    assert!(size_of::<SockInfo>() == 56);
    assert!(size_of::<EventHeader>() == 120);
    assert!(offset_of!(EventHeader, ts_ns) == 16);
    assert!(offset_of!(EventHeader, ret) == 32);
    assert!(offset_of!(EventHeader, args) == 40);
    assert!(offset_of!(EventHeader, comm) == 88);
    assert!(offset_of!(EventHeader, ncap) == 104);
    assert!(offset_of!(EventHeader, size) == 108);
    assert!(offset_of!(EventHeader, uid) == 112);
    assert!(size_of::<CaptureHeader>() == 8);
};
