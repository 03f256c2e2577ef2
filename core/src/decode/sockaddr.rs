//! `struct sockaddr` as strace prints it, so that a connect or bind line
//! says where to without a trip to the man pages.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Value, json};

use super::Arg;
use super::consts;
use super::value::{lookup, partial};
use crate::escape::{json_bytes, quoted};

/// `sa_family_t` is two bytes, in host order, at the start of every sockaddr.
const FAMILY_LEN: usize = 2;

/// The sockaddr in `bytes` (as many bytes as the address length says, or as
/// the probe copied), or `None` when there is not even a family to show.
/// `truncated` says the probe copied less than the address length.
pub(super) fn render(bytes: &[u8], truncated: bool) -> Option<Arg> {
    let family = u16::from_ne_bytes(bytes.get(..FAMILY_LEN)?.try_into().ok()?);
    let family = u64::from(family);
    let name = lookup(family, consts::ADDRESS_FAMILIES);
    let family_text = name.map_or_else(|| family.to_string(), str::to_owned);
    let family_json = name.map_or_else(|| json!(family), |n| json!(n));

    let fields = match family {
        _ if bytes.len() == FAMILY_LEN => Some((String::new(), json!({}))),
        consts::AF_INET => inet(bytes),
        consts::AF_INET6 => inet6(bytes),
        consts::AF_UNIX => Some(unix(&bytes[FAMILY_LEN..], truncated)),
        consts::AF_NETLINK => netlink(bytes),
        _ => None,
    };
    let (text, mut json) = fields.unwrap_or_else(|| raw(&bytes[FAMILY_LEN..], truncated));
    let sep = if text.is_empty() { "" } else { ", " };
    json["family"] = family_json;
    Some(Arg::new(
        format!("{{sa_family={family_text}{sep}{text}}}"),
        json,
    ))
}

fn inet(b: &[u8]) -> Option<(String, Value)> {
    let port = u16::from_be_bytes(b.get(2..4)?.try_into().ok()?);
    let addr = Ipv4Addr::from(<[u8; 4]>::try_from(b.get(4..8)?).ok()?);
    Some((
        format!("sin_port=htons({port}), sin_addr=inet_addr(\"{addr}\")"),
        json!({ "addr": addr.to_string(), "port": port }),
    ))
}

fn inet6(b: &[u8]) -> Option<(String, Value)> {
    let port = u16::from_be_bytes(b.get(2..4)?.try_into().ok()?);
    let flowinfo = u32::from_be_bytes(b.get(4..8)?.try_into().ok()?);
    let addr = Ipv6Addr::from(<[u8; 16]>::try_from(b.get(8..24)?).ok()?);
    let mut text = format!(
        "sin6_port=htons({port}), sin6_flowinfo=htonl({flowinfo}), \
         inet_pton(AF_INET6, \"{addr}\", &sin6_addr)"
    );
    let mut json = json!({ "addr": addr.to_string(), "port": port, "flowinfo": flowinfo });
    // Older callers pass the 24-byte RFC 2133 struct without a scope id.
    if let Some(scope) = b.get(24..28) {
        let scope = u32::from_ne_bytes(scope.try_into().ok()?);
        text.push_str(&format!(", sin6_scope_id={scope}"));
        json["scope_id"] = json!(scope);
    }
    Some((text, json))
}

/// A path socket's name ends at its first NUL; an abstract one (leading NUL)
/// is every byte of the address, NULs included, and strace marks it with `@`.
fn unix(path: &[u8], truncated: bool) -> (String, Value) {
    let (shown, is_abstract, truncated) = match path.split_first() {
        Some((0, rest)) => (rest, true, truncated),
        _ => match path.iter().position(|&b| b == 0) {
            Some(end) => (&path[..end], false, false),
            None => (path, false, truncated),
        },
    };
    let mut text = format!(
        "sun_path={}{}",
        if is_abstract { "@" } else { "" },
        quoted(shown)
    );
    if truncated {
        text.push_str("...");
    }
    let mut json = json!({ "path": partial(json_bytes(shown), truncated) });
    if is_abstract {
        json["abstract"] = json!(true);
    }
    (text, json)
}

fn netlink(b: &[u8]) -> Option<(String, Value)> {
    let pid = u32::from_ne_bytes(b.get(4..8)?.try_into().ok()?);
    let groups = u32::from_ne_bytes(b.get(8..12)?.try_into().ok()?);
    Some((
        format!("nl_pid={pid}, nl_groups={groups:08x}"),
        json!({ "pid": pid, "groups": groups }),
    ))
}

/// Families we do not decode, and addresses too short for their family.
fn raw(data: &[u8], truncated: bool) -> (String, Value) {
    let mut text = format!("sa_data={}", quoted(data));
    if truncated {
        text.push_str("...");
    }
    (
        text,
        json!({ "data": partial(json_bytes(data), truncated) }),
    )
}

#[cfg(test)]
mod tests {
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

    fn render_ok(bytes: &[u8], truncated: bool) -> Arg {
        render(bytes, truncated).expect("has a family")
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
            assert_eq!(render_ok(bytes, *truncated).text, *want, "{bytes:?}");
        }
        assert!(render(&[2], false).is_none());
    }

    #[test]
    fn json_is_structured() {
        assert_eq!(
            render_ok(&inet_bytes(80, [127, 0, 0, 1]), false).json,
            json!({"family": "AF_INET", "addr": "127.0.0.1", "port": 80})
        );
        assert_eq!(
            render_ok(&inet6_bytes(443, Ipv6Addr::LOCALHOST, Some(2)), false).json,
            json!({"family": "AF_INET6", "addr": "::1", "port": 443, "flowinfo": 0, "scope_id": 2})
        );
        assert_eq!(
            render_ok(&unix_bytes(b"\0sock\xff"), false).json,
            json!({"family": "AF_UNIX", "path": {"hex": "736f636bff"}, "abstract": true})
        );
        assert_eq!(
            render_ok(&unix_bytes(b"/tmp/s"), true).json,
            json!({"family": "AF_UNIX", "path": {"value": "/tmp/s", "truncated": true}})
        );
    }
}
