//! `struct sockaddr` as strace prints it, so that a connect or bind line
//! says where to without a trip to the man pages.

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::consts;
use super::value::{Partial, lookup, push_data, push_uint};
use crate::escape::JsonBytes;

/// `sa_family_t` is two bytes, in host order, at the start of every sockaddr.
const FAMILY_LEN: usize = 2;

/// A `struct sockaddr` as the probe copied it, decoded when it is shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct SockAddr<'e> {
    bytes: &'e [u8],
    truncated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Body<'e> {
    /// Nothing after the family.
    Empty,
    Inet {
        port: u16,
        addr: Ipv4Addr,
    },
    Inet6 {
        port: u16,
        flowinfo: u32,
        addr: Ipv6Addr,
        /// Older callers pass the 24-byte RFC 2133 struct without one.
        scope: Option<u32>,
    },
    /// A path socket's name ends at its first NUL; an abstract one (leading
    /// NUL) is every byte of the address, NULs included, and strace marks
    /// it with `@`.
    Unix {
        path: &'e [u8],
        is_abstract: bool,
        truncated: bool,
    },
    Netlink {
        pid: u32,
        groups: u32,
    },
    /// Families we do not decode, and addresses too short for their family.
    Raw {
        data: &'e [u8],
        truncated: bool,
    },
}

/// The sockaddr in `bytes` (as many bytes as the address length says, or as
/// the probe copied), or `None` when there is not even a family to show.
/// `truncated` says the probe copied less than the address length.
pub(super) fn parse(bytes: &[u8], truncated: bool) -> Option<SockAddr<'_>> {
    (bytes.len() >= FAMILY_LEN).then_some(SockAddr { bytes, truncated })
}

/// The family and what follows it; [`parse`] made sure the family is there.
fn decode(bytes: &[u8], truncated: bool) -> (u64, Body<'_>) {
    let family = u64::from(u16::from_ne_bytes([bytes[0], bytes[1]]));
    let body = match family {
        _ if bytes.len() == FAMILY_LEN => Some(Body::Empty),
        consts::AF_INET => inet(bytes),
        consts::AF_INET6 => inet6(bytes),
        consts::AF_UNIX => Some(unix(&bytes[FAMILY_LEN..], truncated)),
        consts::AF_NETLINK => netlink(bytes),
        _ => None,
    };
    let body = body.unwrap_or(Body::Raw {
        data: &bytes[FAMILY_LEN..],
        truncated,
    });
    (family, body)
}

fn inet(b: &[u8]) -> Option<Body<'_>> {
    Some(Body::Inet {
        port: u16::from_be_bytes(b.get(2..4)?.try_into().ok()?),
        addr: Ipv4Addr::from(<[u8; 4]>::try_from(b.get(4..8)?).ok()?),
    })
}

fn inet6(b: &[u8]) -> Option<Body<'_>> {
    let scope = match b.get(24..28) {
        Some(scope) => Some(u32::from_ne_bytes(scope.try_into().ok()?)),
        None => None,
    };
    Some(Body::Inet6 {
        port: u16::from_be_bytes(b.get(2..4)?.try_into().ok()?),
        flowinfo: u32::from_be_bytes(b.get(4..8)?.try_into().ok()?),
        addr: Ipv6Addr::from(<[u8; 16]>::try_from(b.get(8..24)?).ok()?),
        scope,
    })
}

fn unix(path: &[u8], truncated: bool) -> Body<'_> {
    let (path, is_abstract, truncated) = match path.split_first() {
        Some((0, rest)) => (rest, true, truncated),
        _ => match path.iter().position(|&b| b == 0) {
            Some(end) => (&path[..end], false, false),
            None => (path, false, truncated),
        },
    };
    Body::Unix {
        path,
        is_abstract,
        truncated,
    }
}

fn netlink(b: &[u8]) -> Option<Body<'_>> {
    Some(Body::Netlink {
        pid: u32::from_ne_bytes(b.get(4..8)?.try_into().ok()?),
        groups: u32::from_ne_bytes(b.get(8..12)?.try_into().ok()?),
    })
}

impl SockAddr<'_> {
    /// strace's `{sa_family=AF_INET, sin_port=htons(80), …}`.
    pub(super) fn write_text(&self, out: &mut String) {
        let (family, body) = decode(self.bytes, self.truncated);
        out.push_str("{sa_family=");
        match lookup(family, consts::ADDRESS_FAMILIES) {
            Some(name) => out.push_str(name),
            None => push_uint(out, family),
        }
        match body {
            Body::Empty => {}
            Body::Inet { port, addr } => {
                let _ = write!(
                    out,
                    ", sin_port=htons({port}), sin_addr=inet_addr(\"{addr}\")"
                );
            }
            Body::Inet6 {
                port,
                flowinfo,
                addr,
                scope,
            } => {
                let _ = write!(
                    out,
                    ", sin6_port=htons({port}), sin6_flowinfo=htonl({flowinfo}), \
                     inet_pton(AF_INET6, \"{addr}\", &sin6_addr)"
                );
                if let Some(scope) = scope {
                    let _ = write!(out, ", sin6_scope_id={scope}");
                }
            }
            Body::Unix {
                path,
                is_abstract,
                truncated,
            } => {
                out.push_str(", sun_path=");
                if is_abstract {
                    out.push('@');
                }
                push_data(out, path, truncated);
            }
            Body::Netlink { pid, groups } => {
                let _ = write!(out, ", nl_pid={pid}, nl_groups={groups:08x}");
            }
            Body::Raw { data, truncated } => {
                out.push_str(", sa_data=");
                push_data(out, data, truncated);
            }
        }
        out.push('}');
    }
}

/// The family as a name, or as a number when it has none.
struct Family(u64);

impl Serialize for Family {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match lookup(self.0, consts::ADDRESS_FAMILIES) {
            Some(name) => s.serialize_str(name),
            None => s.serialize_u64(self.0),
        }
    }
}

impl Serialize for SockAddr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (family, body) = decode(self.bytes, self.truncated);
        let family = Family(family);
        let mut map = s.serialize_map(None)?;
        match body {
            Body::Empty => map.serialize_entry("family", &family)?,
            Body::Inet { port, addr } => {
                map.serialize_entry("addr", &Text(addr))?;
                map.serialize_entry("family", &family)?;
                map.serialize_entry("port", &port)?;
            }
            Body::Inet6 {
                port,
                flowinfo,
                addr,
                scope,
            } => {
                map.serialize_entry("addr", &Text(addr))?;
                map.serialize_entry("family", &family)?;
                map.serialize_entry("flowinfo", &flowinfo)?;
                map.serialize_entry("port", &port)?;
                if let Some(scope) = scope {
                    map.serialize_entry("scope_id", &scope)?;
                }
            }
            Body::Unix {
                path,
                is_abstract,
                truncated,
            } => {
                if is_abstract {
                    map.serialize_entry("abstract", &true)?;
                }
                map.serialize_entry("family", &family)?;
                map.serialize_entry("path", &Partial(JsonBytes(path), truncated))?;
            }
            Body::Netlink { pid, groups } => {
                map.serialize_entry("family", &family)?;
                map.serialize_entry("groups", &groups)?;
                map.serialize_entry("pid", &pid)?;
            }
            Body::Raw { data, truncated } => {
                map.serialize_entry("data", &Partial(JsonBytes(data), truncated))?;
                map.serialize_entry("family", &family)?;
            }
        }
        map.end()
    }
}

/// An address as a JSON string in its usual text form.
struct Text<T>(T);

impl<T: std::fmt::Display> Serialize for Text<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn inet_bytes(port: u16, addr: [u8; 4]) -> Vec<u8> {
        let mut b = (libc::AF_INET as u16).to_ne_bytes().to_vec();
        b.extend(port.to_be_bytes());
        b.extend(addr);
        b.extend([0; 8]);
        b
    }

    fn inet6_bytes(port: u16, addr: Ipv6Addr, scope: Option<u32>) -> Vec<u8> {
        let mut b = (libc::AF_INET6 as u16).to_ne_bytes().to_vec();
        b.extend(port.to_be_bytes());
        b.extend(0u32.to_be_bytes());
        b.extend(addr.octets());
        if let Some(s) = scope {
            b.extend(s.to_ne_bytes());
        }
        b
    }

    fn unix_bytes(path: &[u8]) -> Vec<u8> {
        let mut b = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        b.extend(path);
        b
    }

    fn parse_ok(bytes: &[u8], truncated: bool) -> SockAddr<'_> {
        parse(bytes, truncated).expect("has a family")
    }

    fn text(addr: SockAddr<'_>) -> String {
        let mut text = String::new();
        addr.write_text(&mut text);
        text
    }

    fn json(addr: SockAddr<'_>) -> Value {
        serde_json::to_value(addr).expect("serializes")
    }

    #[test]
    fn text_like_strace() {
        let netlink = {
            let mut b = (libc::AF_NETLINK as u16).to_ne_bytes().to_vec();
            b.extend([0; 2]);
            b.extend(1234u32.to_ne_bytes());
            b.extend(1u32.to_ne_bytes());
            b
        };
        let packet = {
            let mut b = (libc::AF_PACKET as u16).to_ne_bytes().to_vec();
            b.extend([0, 3, 1]);
            b
        };
        let cases: &[(Vec<u8>, bool, &str)] = &[
            (
                inet_bytes(80, [127, 0, 0, 1]),
                false,
                r#"{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}"#,
            ),
            (
                inet6_bytes(443, Ipv6Addr::LOCALHOST, Some(0)),
                false,
                r#"{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}"#,
            ),
            (
                inet6_bytes(53, "::ffff:10.0.0.1".parse().expect("valid"), None),
                false,
                r#"{sa_family=AF_INET6, sin6_port=htons(53), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::ffff:10.0.0.1", &sin6_addr)}"#,
            ),
            (
                unix_bytes(b"/run/x.sock\0\0\0"),
                false,
                r#"{sa_family=AF_UNIX, sun_path="/run/x.sock"}"#,
            ),
            (
                unix_bytes(b"\0name\0x"),
                false,
                r#"{sa_family=AF_UNIX, sun_path=@"name\0x"}"#,
            ),
            (
                unix_bytes(b"/very/long"),
                true,
                r#"{sa_family=AF_UNIX, sun_path="/very/long"...}"#,
            ),
            (unix_bytes(b""), false, "{sa_family=AF_UNIX}"),
            (
                netlink,
                false,
                "{sa_family=AF_NETLINK, nl_pid=1234, nl_groups=00000001}",
            ),
            (packet, false, r#"{sa_family=AF_PACKET, sa_data="\0\3\1"}"#),
            (
                inet_bytes(80, [1, 2, 3, 4])[..6].to_vec(),
                true,
                r#"{sa_family=AF_INET, sa_data="\0P\1\2"...}"#,
            ),
            (vec![200, 0, 1], false, r#"{sa_family=200, sa_data="\1"}"#),
        ];
        for (bytes, truncated, want) in cases {
            assert_eq!(text(parse_ok(bytes, *truncated)), *want, "{bytes:?}");
        }
        assert!(parse(&[2], false).is_none());
    }

    #[test]
    fn json_is_structured() {
        assert_eq!(
            json(parse_ok(&inet_bytes(80, [127, 0, 0, 1]), false)),
            json!({"family": "AF_INET", "addr": "127.0.0.1", "port": 80})
        );
        assert_eq!(
            json(parse_ok(
                &inet6_bytes(443, Ipv6Addr::LOCALHOST, Some(2)),
                false
            )),
            json!({"family": "AF_INET6", "addr": "::1", "port": 443, "flowinfo": 0, "scope_id": 2})
        );
        assert_eq!(
            json(parse_ok(&unix_bytes(b"\0sock\xff"), false)),
            json!({"family": "AF_UNIX", "path": {"hex": "736f636bff"}, "abstract": true})
        );
        assert_eq!(
            json(parse_ok(&unix_bytes(b"/tmp/s"), true)),
            json!({"family": "AF_UNIX", "path": {"value": "/tmp/s", "truncated": true}})
        );
    }
}
