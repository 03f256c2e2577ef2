//! What a process's sockets are bound and connected to.
//!
//! A socket's fd link says only `socket:[INODE]`. Its addresses and state are
//! in the tables of the process's network namespace,
//! `/proc/PID/net/{tcp,tcp6,udp,udp6,unix}`: one line per socket of the whole
//! namespace, keyed by that inode. A busy server's tables run to tens of
//! thousands of lines, so each table is read at most once per call and only
//! while some socket is still unexplained, and only the lines of wanted
//! inodes are decoded. The parsers are pure, so each table's format is pinned
//! by a captured line.

use std::collections::HashMap;
use std::ffi::CStr;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Which table a socket was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketKind {
    Tcp,
    Tcp6,
    Udp,
    Udp6,
    Unix,
    /// In none of the tables read: netlink, packet, raw, a socket of another
    /// network namespace, or a table we may not read.
    Other,
}

impl fmt::Display for SocketKind {
    /// The lower-case name, as `ss` shows it in its `Netid` column.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SocketKind::Tcp => "tcp",
            SocketKind::Tcp6 => "tcp6",
            SocketKind::Udp => "udp",
            SocketKind::Udp6 => "udp6",
            SocketKind::Unix => "unix",
            SocketKind::Other => "other",
        })
    }
}

/// One open socket of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    /// The file descriptor it is open on (a socket open on several fds is
    /// listed once per fd).
    pub fd: i32,
    pub kind: SocketKind,
    /// The local address: `127.0.0.1:8080`, `[::1]:6379`,
    /// `[::ffff:10.0.0.1]:443` for an IPv4 peer of a dual-stack socket. For a
    /// unix socket its path, `@name` when abstract, empty when unbound; the
    /// path is whatever the process chose (made valid UTF-8 lossily), so
    /// escape it before showing it. Empty for [`SocketKind::Other`].
    pub local: String,
    /// The peer's address, `0.0.0.0:0` or `[::]:0` when there is none. Empty
    /// for unix sockets (their table does not name the peer) and for
    /// [`SocketKind::Other`].
    pub remote: String,
    /// TCP: the kernel's state names, `ESTABLISHED` to `CLOSING`. UDP:
    /// `ESTABLISHED` when connected, `UNCONN` when not (as `ss` says). Unix:
    /// `LISTEN`, `UNCONNECTED`, `CONNECTING`, `CONNECTED` or `DISCONNECTING`.
    /// `UNKNOWN` for a number this code does not know, empty for
    /// [`SocketKind::Other`].
    pub state: &'static str,
}

/// The tables, relative to `/proc/PID`, in the order they are searched, and
/// what they list. TCP first: it is what a detail screen is usually about.
const TABLES: [(&CStr, SocketKind); 5] = [
    (c"net/tcp", SocketKind::Tcp),
    (c"net/tcp6", SocketKind::Tcp6),
    (c"net/udp", SocketKind::Udp),
    (c"net/udp6", SocketKind::Udp6),
    (c"net/unix", SocketKind::Unix),
];

/// The inode in an fd link of the form `socket:[INODE]`; `None` for any
/// other link.
pub(crate) fn socket_inode(target: &[u8]) -> Option<u64> {
    let digits = target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Describes the sockets open on `fds` (fd, inode pairs, in the order they
/// are to be listed), looking them up in the tables `read_table` returns.
///
/// `read_table` is given a path relative to `/proc/PID` and returns the
/// table's text, or `None` if it cannot be read; it is called at most once per
/// table, and not at all once every inode has been found.
pub(crate) fn describe(
    fds: &[(i32, u64)],
    mut read_table: impl FnMut(&CStr) -> Option<String>,
) -> Vec<Socket> {
    let mut found: HashMap<u64, Option<Entry>> =
        fds.iter().map(|&(_, inode)| (inode, None)).collect();
    let mut missing = found.len();
    for (path, kind) in TABLES {
        if missing == 0 {
            break;
        }
        let Some(table) = read_table(path) else {
            continue;
        };
        // The first line is the column header.
        for line in table.lines().skip(1) {
            let Some(slot) = line_inode(kind, line).and_then(|inode| found.get_mut(&inode)) else {
                continue;
            };
            if slot.is_none()
                && let Some(entry) = entry(kind, line)
            {
                *slot = Some(entry);
                missing -= 1;
                if missing == 0 {
                    break;
                }
            }
        }
    }
    fds.iter()
        .map(|&(fd, inode)| match found.get(&inode) {
            Some(Some(entry)) => Socket {
                fd,
                kind: entry.kind,
                local: entry.local.clone(),
                remote: entry.remote.clone(),
                state: entry.state,
            },
            _ => Socket {
                fd,
                kind: SocketKind::Other,
                local: String::new(),
                remote: String::new(),
                state: "",
            },
        })
        .collect()
}

/// One decoded line of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    kind: SocketKind,
    local: String,
    remote: String,
    state: &'static str,
}

/// The inode column of a table line, found without decoding the rest.
fn line_inode(kind: SocketKind, line: &str) -> Option<u64> {
    let column = match kind {
        SocketKind::Unix => 6,
        _ => 9,
    };
    line.split_ascii_whitespace().nth(column)?.parse().ok()
}

/// Decodes one line of the table of `kind`; `None` if it is malformed.
fn entry(kind: SocketKind, line: &str) -> Option<Entry> {
    match kind {
        SocketKind::Tcp | SocketKind::Tcp6 | SocketKind::Udp | SocketKind::Udp6 => {
            inet_entry(kind, line)
        }
        SocketKind::Unix => unix_entry(line),
        SocketKind::Other => None,
    }
}

/// A line of `tcp`, `tcp6`, `udp` or `udp6`:
/// `sl local_address rem_address st ... inode ...`.
fn inet_entry(kind: SocketKind, line: &str) -> Option<Entry> {
    let mut fields = line.split_ascii_whitespace().skip(1);
    let v6 = matches!(kind, SocketKind::Tcp6 | SocketKind::Udp6);
    let local = inet_address(fields.next()?, v6)?;
    let remote = inet_address(fields.next()?, v6)?;
    let state = u8::from_str_radix(fields.next()?, 16).ok()?;
    let state = match kind {
        SocketKind::Udp | SocketKind::Udp6 => udp_state(state),
        _ => tcp_state(state),
    };
    Some(Entry {
        kind,
        local,
        remote,
        state,
    })
}

/// `ADDRESS:PORT` as the kernel prints it, both in hex; the port is a plain
/// number, the address is in 32-bit words (see [`word`]).
fn inet_address(text: &str, v6: bool) -> Option<String> {
    let (address, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip: IpAddr = if v6 {
        let mut bytes = [0u8; 16];
        if address.len() != 32 {
            return None;
        }
        for (i, out) in bytes.chunks_exact_mut(4).enumerate() {
            out.copy_from_slice(&word(address.get(i * 8..i * 8 + 8)?)?.to_ne_bytes());
        }
        Ipv6Addr::from(bytes).into()
    } else {
        Ipv4Addr::from(word(address)?.to_ne_bytes()).into()
    };
    Some(SocketAddr::new(ip, port).to_string())
}

/// One 32-bit word of an address. The kernel prints each word of the
/// address, which is in network byte order in memory, as a host-order
/// number, so the number's native-endian bytes are the address's bytes
/// again (on any host: `0100007F` is 127.0.0.1 on little-endian ones).
fn word(hex: &str) -> Option<u32> {
    // from_str_radix would also take a sign.
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

/// The names of `include/net/tcp_states.h`.
fn tcp_state(state: u8) -> &'static str {
    match state {
        0x01 => "ESTABLISHED",
        0x02 => "SYN_SENT",
        0x03 => "SYN_RECV",
        0x04 => "FIN_WAIT1",
        0x05 => "FIN_WAIT2",
        0x06 => "TIME_WAIT",
        0x07 => "CLOSE",
        0x08 => "CLOSE_WAIT",
        0x09 => "LAST_ACK",
        0x0A => "LISTEN",
        0x0B => "CLOSING",
        0x0C => "NEW_SYN_RECV",
        0x0D => "BOUND_INACTIVE",
        _ => "UNKNOWN",
    }
}

/// UDP reuses the TCP numbers, but an unconnected socket's `CLOSE` would read
/// as dead when it is the normal state of a server's socket.
fn udp_state(state: u8) -> &'static str {
    match state {
        0x07 => "UNCONN",
        other => tcp_state(other),
    }
}

/// `__SO_ACCEPTCON`: `listen()` was called on the socket. Its St column still
/// says unconnected.
const UNIX_ACCEPTCON: u32 = 0x0001_0000;

/// A line of `unix`: `Num RefCount Protocol Flags Type St Inode [Path]`,
/// the path being the rest of the line after one space (it may itself hold
/// spaces).
fn unix_entry(line: &str) -> Option<Entry> {
    let ([_, _, _, flags, _, st, _inode], rest) = fields::<7>(line)?;
    let flags = u32::from_str_radix(flags, 16).ok()?;
    let st = u8::from_str_radix(st, 16).ok()?;
    let state = if flags & UNIX_ACCEPTCON != 0 {
        "LISTEN"
    } else {
        match st {
            1 => "UNCONNECTED",
            2 => "CONNECTING",
            3 => "CONNECTED",
            4 => "DISCONNECTING",
            _ => "UNKNOWN",
        }
    };
    Some(Entry {
        kind: SocketKind::Unix,
        local: rest.strip_prefix(' ').unwrap_or(rest).to_owned(),
        remote: String::new(),
        state,
    })
}

/// The first `N` space-separated fields of `line`, and the rest of it from
/// the space after the last of them.
fn fields<const N: usize>(line: &str) -> Option<([&str; N], &str)> {
    let mut out = [""; N];
    let mut rest = line;
    for field in &mut out {
        let start = rest.trim_start_matches(' ');
        let end = start.find(' ').unwrap_or(start.len());
        if end == 0 {
            return None;
        }
        (*field, rest) = start.split_at(end);
    }
    Some((out, rest))
}

#[cfg(test)]
mod tests {
    //! The fixture lines were captured on x86_64 (little-endian, as every
    //! target of hostscope is) from loopback sockets of a test program.

    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     \n   1: 0100007F:A311 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 229247 1 000000002d888e29 100 0 0 10 0                    \n   3: 0100007F:A311 0100007F:AC5C 01 00000000:00000000 00:00000000 00000000     0        0 229249 1 0000000012f7e4fe 20 0 0 10 -1                    \n   4: 0100007F:AC5C 0100007F:A311 01 00000000:00000000 00:00000000 00000000     0        0 229248 2 000000005304ba2e 20 0 0 10 -1                    \n";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000000000000000000001000000:92DF 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 229250 1 00000000fc38e988 100 0 0 10 0\n   2: 00000000000000000000000001000000:B466 00000000000000000000000001000000:92DF 01 00000000:00000000 00:00000000 00000000     0        0 229251 2 00000000003da686 20 0 0 10 -1\n";
    const UDP: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            \n 5199: 0100007F:92DF 0100007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 229253 2 0000000029c41f29 0        \n";
    const UDP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n 7782: 00000000000000000000000001000000:DCF6 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 229254 2 00000000f98aa342 0\n";
    const UNIX: &str = "Num       RefCount Protocol Flags    Type St Inode Path\n00000000eb6c26c3: 00000003 00000000 00000000 0001 03 229261 /tmp/hs-detail-test.sock\n0000000007c21c3f: 00000003 00000000 00000000 0001 03 229259\n00000000f3005254: 00000002 00000000 00010000 0001 01 229256 /tmp/hs-detail-test.sock\n000000007884a797: 00000002 00000000 00010000 0001 01 229257 @hs-abstract\n000000007402975f: 00000003 00000000 00000000 0001 03  1058\n";

    fn line(table: &str, n: usize) -> &str {
        table.lines().nth(n).expect("fixture has the line")
    }

    fn decoded(kind: SocketKind, local: &str, remote: &str, state: &'static str) -> Entry {
        Entry {
            kind,
            local: local.to_owned(),
            remote: remote.to_owned(),
            state,
        }
    }

    #[test]
    fn tcp_listening_and_connected() {
        let listen = line(TCP, 1);
        assert_eq!(line_inode(SocketKind::Tcp, listen), Some(229247));
        assert_eq!(
            entry(SocketKind::Tcp, listen),
            Some(decoded(
                SocketKind::Tcp,
                "127.0.0.1:41745",
                "0.0.0.0:0",
                "LISTEN"
            ))
        );
        assert_eq!(
            entry(SocketKind::Tcp, line(TCP, 3)),
            Some(decoded(
                SocketKind::Tcp,
                "127.0.0.1:44124",
                "127.0.0.1:41745",
                "ESTABLISHED"
            ))
        );
    }

    #[test]
    fn tcp6_loopback() {
        assert_eq!(
            entry(SocketKind::Tcp6, line(TCP6, 1)),
            Some(decoded(SocketKind::Tcp6, "[::1]:37599", "[::]:0", "LISTEN"))
        );
        assert_eq!(
            entry(SocketKind::Tcp6, line(TCP6, 2)),
            Some(decoded(
                SocketKind::Tcp6,
                "[::1]:46182",
                "[::1]:37599",
                "ESTABLISHED"
            ))
        );
    }

    #[test]
    fn ipv6_words_are_host_order_each() {
        // 2001:db8::1 and ::ffff:127.0.0.1, word by word as the kernel
        // prints them on a little-endian host.
        assert_eq!(
            inet_address("B80D0120000000000000000001000000:1F90", true).as_deref(),
            Some("[2001:db8::1]:8080")
        );
        assert_eq!(
            inet_address("0000000000000000FFFF00000100007F:01BB", true).as_deref(),
            Some("[::ffff:127.0.0.1]:443")
        );
        assert_eq!(
            inet_address("0A00A8C0:0016", false).as_deref(),
            Some("192.168.0.10:22")
        );
    }

    #[test]
    fn malformed_addresses() {
        assert_eq!(inet_address("0100007F", false), None);
        assert_eq!(inet_address("0100007:0050", false), None);
        assert_eq!(inet_address("+100007F:0050", false), None);
        assert_eq!(inet_address("0100007F:10000", false), None);
        assert_eq!(inet_address("0100007F:0050", true), None);
        assert_eq!(
            inet_address("é0000000000000000000000000000000:0050", true),
            None
        );
        assert_eq!(entry(SocketKind::Tcp, "   1: 0100007F:A311"), None);
        assert_eq!(entry(SocketKind::Other, line(TCP, 1)), None);
    }

    #[test]
    fn udp_connected_and_unconnected() {
        assert_eq!(
            entry(SocketKind::Udp, line(UDP, 1)),
            Some(decoded(
                SocketKind::Udp,
                "127.0.0.1:37599",
                "127.0.0.1:53",
                "ESTABLISHED"
            ))
        );
        assert_eq!(line_inode(SocketKind::Udp6, line(UDP6, 1)), Some(229254));
        assert_eq!(
            entry(SocketKind::Udp6, line(UDP6, 1)),
            Some(decoded(SocketKind::Udp6, "[::1]:56566", "[::]:0", "UNCONN"))
        );
    }

    #[test]
    fn unix_paths_and_states() {
        assert_eq!(line_inode(SocketKind::Unix, line(UNIX, 3)), Some(229256));
        assert_eq!(
            entry(SocketKind::Unix, line(UNIX, 3)),
            Some(decoded(
                SocketKind::Unix,
                "/tmp/hs-detail-test.sock",
                "",
                "LISTEN"
            ))
        );
        assert_eq!(
            entry(SocketKind::Unix, line(UNIX, 1)),
            Some(decoded(
                SocketKind::Unix,
                "/tmp/hs-detail-test.sock",
                "",
                "CONNECTED"
            ))
        );
        assert_eq!(
            entry(SocketKind::Unix, line(UNIX, 4)),
            Some(decoded(SocketKind::Unix, "@hs-abstract", "", "LISTEN"))
        );
        // Unbound; the inode is padded to five columns.
        assert_eq!(line_inode(SocketKind::Unix, line(UNIX, 5)), Some(1058));
        assert_eq!(
            entry(SocketKind::Unix, line(UNIX, 5)),
            Some(decoded(SocketKind::Unix, "", "", "CONNECTED"))
        );
    }

    #[test]
    fn unix_path_keeps_its_spaces() {
        let spaced = "0000000021b6937a: 00000002 00000000 00000000 0002 01 4242 /run/my app/ sock ";
        assert_eq!(
            entry(SocketKind::Unix, spaced).map(|e| (e.local, e.state)),
            Some(("/run/my app/ sock ".to_owned(), "UNCONNECTED"))
        );
        assert_eq!(entry(SocketKind::Unix, "0000000021b6937a: 00000002"), None);
    }

    #[test]
    fn socket_links() {
        assert_eq!(socket_inode(b"socket:[229247]"), Some(229247));
        assert_eq!(socket_inode(b"pipe:[229247]"), None);
        assert_eq!(socket_inode(b"/tmp/socket:[1]"), None);
        assert_eq!(socket_inode(b"socket:[]"), None);
        assert_eq!(socket_inode(b"socket:[12"), None);
    }

    #[test]
    fn describe_finds_every_kind_and_reads_only_what_it_needs() {
        let fds = [
            (3, 229247),
            (4, 229251),
            (5, 229253),
            (6, 229254),
            (7, 229257),
            (8, 999_999),
            (9, 229247),
        ];
        let mut read = Vec::new();
        let sockets = describe(&fds, |path| {
            read.push(path.to_owned());
            TABLES
                .iter()
                .zip([TCP, TCP6, UDP, UDP6, UNIX])
                .find(|((p, _), _)| *p == path)
                .map(|(_, text)| text.to_owned())
        });
        assert_eq!(read.len(), 5, "each table read once: {read:?}");
        let brief: Vec<_> = sockets
            .iter()
            .map(|s| (s.fd, s.kind, s.local.as_str(), s.state))
            .collect();
        assert_eq!(
            brief,
            [
                (3, SocketKind::Tcp, "127.0.0.1:41745", "LISTEN"),
                (4, SocketKind::Tcp6, "[::1]:46182", "ESTABLISHED"),
                (5, SocketKind::Udp, "127.0.0.1:37599", "ESTABLISHED"),
                (6, SocketKind::Udp6, "[::1]:56566", "UNCONN"),
                (7, SocketKind::Unix, "@hs-abstract", "LISTEN"),
                (8, SocketKind::Other, "", ""),
                (9, SocketKind::Tcp, "127.0.0.1:41745", "LISTEN"),
            ]
        );
        assert_eq!(sockets[1].remote, "[::1]:37599");
    }

    #[test]
    fn describe_stops_once_all_are_found_and_survives_unreadable_tables() {
        let mut read = Vec::new();
        let sockets = describe(&[(3, 229249)], |path| {
            read.push(path.to_owned());
            (path == c"net/tcp").then(|| TCP.to_owned())
        });
        assert_eq!(read, [c"net/tcp".to_owned()]);
        assert_eq!(sockets[0].remote, "127.0.0.1:44124");

        let sockets = describe(&[(3, 229249)], |_| None);
        assert_eq!(sockets[0].kind, SocketKind::Other);

        let mut called = false;
        assert!(
            describe(&[], |_| {
                called = true;
                None
            })
            .is_empty()
        );
        assert!(!called, "no socket, no table read");
    }
}
