//! Turns the probe's raw ring-buffer records into [`hostscope_core::model`]
//! events. Raw types end here: nothing past this module sees the C layout.

use std::collections::HashMap;

use hostscope_core::model::{
    Arch, Captured, Comm, Event, LookupRepeat, ProcessExec, ProcessExit, ProcessFork, ProcessOom,
    SocketCall, SocketClose, SocketInfo, SocketOpen, SyscallEvent,
};

use crate::abi::{self, CaptureHeader, EventHeader};

/// A record that does not parse: the probe and this decoder disagree.
#[derive(Debug, thiserror::Error)]
#[error("malformed probe record ({len} bytes): {why}")]
pub struct MalformedRecord {
    pub len: usize,
    pub why: &'static str,
}

/// Stateful decoder: execve's arguments arrive in a record of their own at
/// entry and are joined to the syscall's exit record here.
#[derive(Debug)]
pub struct Decoder {
    /// Added to the probe's CLOCK_MONOTONIC stamps to make Unix time.
    mono_to_unix_ns: i128,
    /// execve arguments by the tid that entered the call.
    exec_args: HashMap<u32, ExecArgs>,
}

#[derive(Debug)]
struct ExecArgs {
    tgid: u32,
    captures: Vec<Captured>,
    argv_truncated: bool,
}

impl Decoder {
    pub fn new() -> Self {
        Decoder {
            mono_to_unix_ns: mono_to_unix_offset(),
            exec_args: HashMap::new(),
        }
    }

    /// Decodes one record. `Ok(None)` for records that only carry state for a
    /// later one (execve's arguments).
    pub fn decode(&mut self, record: &[u8]) -> Result<Option<Event>, MalformedRecord> {
        let malformed = |why| MalformedRecord {
            len: record.len(),
            why,
        };
        let header_len = size_of::<EventHeader>();
        if record.len() < header_len {
            return Err(malformed("shorter than its header"));
        }
        // SAFETY: the length is checked above and EventHeader is plain
        // integers valid for any bit pattern; read_unaligned needs no
        // alignment.
        let h: EventHeader = unsafe { record.as_ptr().cast::<EventHeader>().read_unaligned() };
        let ts_ns = self.unix_ns(h.ts_ns);
        let comm = Comm::new(until_nul(&h.comm));
        match h.kind {
            abi::EV_EXIT => {
                self.exec_args.retain(|_, e| e.tgid != h.tgid);
                Ok(Some(Event::Exit(ProcessExit {
                    ts_ns,
                    pid: h.tgid,
                    comm,
                    wait_status: h.ret as i32,
                })))
            }
            abi::EV_SOCKIO => {
                let mut captures = raw_captures(&record[header_len..], h.ncap);
                let info = captures
                    .next()
                    .transpose()
                    .map_err(malformed)?
                    .and_then(|c| socket_info(c.bytes))
                    .ok_or_else(|| malformed("a socket record without its socket"))?;
                let payload = captures.next().transpose().map_err(malformed)?;
                Ok(Some(Event::Socket(SocketCall {
                    ts_ns,
                    pid: h.tgid,
                    tid: h.tid,
                    comm,
                    arch: Arch::native(),
                    nr: h.nr,
                    ret: h.ret,
                    socket: info,
                    payload: payload.map(|c| c.bytes.to_vec()).unwrap_or_default(),
                })))
            }
            abi::EV_SOCKCLOSE => Ok(Some(Event::SocketClosed(SocketClose {
                ts_ns,
                id: h.args[0],
            }))),
            abi::EV_SOCKOPEN => Ok(Some(Event::SocketOpened(SocketOpen {
                ts_ns,
                id: h.args[0],
                client: h.args[1] != 0,
            }))),
            abi::EV_REPEAT => Ok(Some(Event::Repeat(LookupRepeat {
                ts_ns,
                pid: h.tgid,
                tid: h.tid,
                count: h.ret as u64,
            }))),
            abi::EV_OOM => Ok(Some(Event::Oom(ProcessOom {
                ts_ns,
                pid: h.tgid,
                comm,
                uid: h.uid,
                trigger: h.ret as u32,
            }))),
            abi::EV_FORK => Ok(Some(Event::Fork(ProcessFork {
                ts_ns,
                parent: h.tgid,
                tid: h.tid,
                child: h.ret as u32,
                comm,
            }))),
            abi::EV_EXEC => {
                let captures = parse_captures(&record[header_len..], h.ncap).map_err(malformed)?;
                let file = captures.into_iter().next().filter(|c| !c.fault);
                Ok(Some(Event::Exec(ProcessExec {
                    ts_ns,
                    pid: h.tgid,
                    comm,
                    truncated: file.as_ref().is_some_and(|c| c.truncated),
                    filename: file.map(|c| c.bytes).unwrap_or_default(),
                })))
            }
            abi::EV_EXEC_ARGS => {
                let captures = parse_captures(&record[header_len..], h.ncap).map_err(malformed)?;
                let exec = ExecArgs {
                    tgid: h.tgid,
                    captures,
                    argv_truncated: h.flags & abi::EVF_ARGV_TRUNC != 0,
                };
                self.exec_args.insert(h.tid, exec);
                Ok(None)
            }
            abi::EV_SYSCALL => {
                let mut captures =
                    parse_captures(&record[header_len..], h.ncap).map_err(malformed)?;
                let mut argv_truncated = h.flags & abi::EVF_ARGV_TRUNC != 0;
                if let Some(exec) = self.take_exec_args(&h) {
                    captures.extend(exec.captures);
                    argv_truncated |= exec.argv_truncated;
                }
                let noreturn = h.flags & abi::EVF_NORETURN != 0;
                let untimed = h.flags & (abi::EVF_NO_ENTRY | abi::EVF_NO_DURATION) != 0;
                Ok(Some(Event::Syscall(SyscallEvent {
                    ts_ns,
                    pid: h.tgid,
                    tid: h.tid,
                    comm,
                    arch: Arch::native(),
                    nr: h.nr,
                    args: h.args,
                    ret: (!noreturn).then_some(h.ret),
                    duration_ns: (!noreturn && !untimed).then_some(h.dur_ns),
                    captures,
                    argv_truncated,
                    uid: h.uid,
                    gid: h.gid,
                })))
            }
            _ => Err(malformed("unknown record kind")),
        }
    }

    /// The arguments of the execve this record ends. A thread that is not
    /// the leader and execs successfully returns as the leader, with the
    /// tgid as its tid: then the entry is found by process instead (exec
    /// has killed every other thread, so there is only one).
    fn take_exec_args(&mut self, h: &EventHeader) -> Option<ExecArgs> {
        if let Some(exec) = self.exec_args.remove(&h.tid) {
            return Some(exec);
        }
        if h.tid != h.tgid || h.ret != 0 {
            return None;
        }
        let tid = self
            .exec_args
            .iter()
            .find_map(|(&tid, e)| (e.tgid == h.tgid).then_some(tid))?;
        self.exec_args.remove(&tid)
    }

    /// A probe time (CLOCK_MONOTONIC) as unix time, as records carry it.
    pub fn unix_ns(&self, mono_ns: u64) -> u64 {
        (i128::from(mono_ns) + self.mono_to_unix_ns).max(0) as u64
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

fn parse_captures(rest: &[u8], count: u16) -> Result<Vec<Captured>, &'static str> {
    raw_captures(rest, count)
        .map(|c| {
            let c = c?;
            Ok(Captured {
                arg: c.header.arg,
                index: if c.header.kind == abi::CAP_ARGV {
                    c.header.index
                } else {
                    0
                },
                bytes: c.bytes.to_vec(),
                truncated: c.header.flags & abi::CAPF_TRUNCATED != 0,
                fault: c.header.flags & abi::CAPF_FAULT != 0,
            })
        })
        .collect()
}

/// A capture as it lies in the record, not yet copied out.
struct RawCapture<'a> {
    header: CaptureHeader,
    bytes: &'a [u8],
}

/// The `count` captures that follow a record's header, borrowed: a socket
/// record is read a few hundred thousand times a second, and copying its
/// socket out only to parse it would be waste.
fn raw_captures(
    mut rest: &[u8],
    count: u16,
) -> impl Iterator<Item = Result<RawCapture<'_>, &'static str>> {
    (0..count).map(move |_| {
        let hlen = size_of::<CaptureHeader>();
        if rest.len() < hlen {
            return Err("capture header past the end");
        }
        // SAFETY: length checked; plain integers; unaligned read.
        let header: CaptureHeader =
            unsafe { rest.as_ptr().cast::<CaptureHeader>().read_unaligned() };
        let len = usize::from(header.len);
        let bytes = rest
            .get(hlen..hlen + len)
            .ok_or("capture bytes past the end")?;
        let advance = (hlen + len + 7) & !7;
        rest = rest.get(advance..).unwrap_or(&[]);
        Ok(RawCapture { header, bytes })
    })
}

/// The socket of an HS_EV_SOCKIO record (a `struct hs_sockinfo`).
fn socket_info(bytes: &[u8]) -> Option<SocketInfo> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    if bytes.len() < size_of::<abi::SockInfo>() {
        return None;
    }
    // SAFETY: length checked; plain integers; unaligned read.
    let s: abi::SockInfo = unsafe { bytes.as_ptr().cast::<abi::SockInfo>().read_unaligned() };
    let addr = |raw: [u8; 16]| -> Option<IpAddr> {
        match i32::from(s.family) {
            libc::AF_INET => Some(IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))),
            libc::AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(raw))),
            _ => None,
        }
    };
    Some(SocketInfo {
        id: s.sk,
        peer: s.peer,
        // The kernel keeps the local port in host order, the remote one in
        // network order.
        local: addr(s.laddr).map(|ip| SocketAddr::new(ip, s.lport)),
        remote: addr(s.raddr).map(|ip| SocketAddr::new(ip, u16::from_be(s.rport))),
    })
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

fn mono_to_unix_offset() -> i128 {
    let now = |clock| {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec we own.
        unsafe { libc::clock_gettime(clock, &mut ts) };
        i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
    };
    now(libc::CLOCK_REALTIME) - now(libc::CLOCK_MONOTONIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u32, tid: u32, flags: u16, caps: &[(u8, u8, u16, &[u8], u16)]) -> Vec<u8> {
        let mut h = EventHeader {
            kind,
            tgid: 100,
            tid,
            nr: 257,
            ts_ns: 1_000,
            dur_ns: 50,
            ret: -2,
            args: [0xffff_ff9c, 0x1000, 0, 0, 0, 0],
            comm: *b"app\0\0\0\0\0\0\0\0\0\0\0\0\0",
            ncap: caps.len() as u16,
            flags,
            size: 0,
            uid: 1000,
            gid: 1000,
        };
        let mut body = Vec::new();
        for &(arg, kind, index, bytes, cflags) in caps {
            let c = CaptureHeader {
                arg,
                kind,
                index,
                len: bytes.len() as u16,
                flags: cflags,
            };
            // SAFETY: CaptureHeader is 8 bytes of plain integers.
            let raw: [u8; 8] = unsafe { std::mem::transmute(c) };
            body.extend_from_slice(&raw);
            body.extend_from_slice(bytes);
            while body.len() % 8 != 0 {
                body.push(0);
            }
        }
        h.size = (112 + body.len()) as u32;
        // SAFETY: EventHeader is 112 bytes of plain integers.
        let raw: [u8; 120] = unsafe { std::mem::transmute(h) };
        let mut out = raw.to_vec();
        out.extend(body);
        out
    }

    #[test]
    fn syscall_with_a_path() {
        let rec = record(
            abi::EV_SYSCALL,
            101,
            0,
            &[(1, abi::CAP_STR, 0, b"/etc/x", 0)],
        );
        let Some(Event::Syscall(ev)) = Decoder::new().decode(&rec).unwrap() else {
            panic!("expected a syscall");
        };
        assert_eq!((ev.pid, ev.tid, ev.nr, ev.ret), (100, 101, 257, Some(-2)));
        assert_eq!(ev.comm, b"app");
        assert_eq!(ev.capture(1).unwrap().bytes, b"/etc/x");
        assert_eq!(ev.errno(), Some(2));
    }

    #[test]
    fn exec_arguments_join_their_exit() {
        let mut d = Decoder::new();
        let args = record(
            abi::EV_EXEC_ARGS,
            7,
            abi::EVF_ARGV_TRUNC,
            &[
                (0, abi::CAP_STR, 0, b"/bin/ls", 0),
                (1, abi::CAP_ARGV, 0, b"ls", 0),
                (1, abi::CAP_ARGV, 1, b"-la", abi::CAPF_TRUNCATED),
            ],
        );
        assert!(d.decode(&args).unwrap().is_none());
        let Some(Event::Syscall(ev)) = d.decode(&record(abi::EV_SYSCALL, 7, 0, &[])).unwrap()
        else {
            panic!("expected a syscall");
        };
        let argv: Vec<_> = ev.argv(1).map(|c| c.bytes.clone()).collect();
        assert_eq!(argv, [b"ls".to_vec(), b"-la".to_vec()]);
        assert!(ev.argv_truncated);
        assert!(ev.argv(1).nth(1).unwrap().truncated);
    }

    #[test]
    fn exec_from_a_thread_returns_as_the_leader() {
        let mut d = Decoder::new();
        let args = record(
            abi::EV_EXEC_ARGS,
            101,
            0,
            &[(0, abi::CAP_STR, 0, b"/bin/cat", 0)],
        );
        assert!(d.decode(&args).unwrap().is_none());
        let mut exit = record(abi::EV_SYSCALL, 100, 0, &[]);
        // ret 0: the header's ret field sits at offset 32.
        exit[32..40].copy_from_slice(&0i64.to_ne_bytes());
        let Some(Event::Syscall(ev)) = d.decode(&exit).unwrap() else {
            panic!("expected a syscall");
        };
        assert_eq!(ev.capture(0).unwrap().bytes, b"/bin/cat");
    }

    #[test]
    fn noreturn_has_no_return_value() {
        let rec = record(abi::EV_SYSCALL, 1, abi::EVF_NORETURN, &[]);
        let Some(Event::Syscall(ev)) = Decoder::new().decode(&rec).unwrap() else {
            panic!("expected a syscall");
        };
        assert_eq!(ev.ret, None);
    }

    #[test]
    fn truncated_records_are_errors_not_panics() {
        let rec = record(abi::EV_SYSCALL, 1, 0, &[(1, abi::CAP_STR, 0, b"/etc/x", 0)]);
        for cut in [0, 50, 115, 121] {
            assert!(Decoder::new().decode(&rec[..cut]).is_err(), "cut at {cut}");
        }
    }
}
