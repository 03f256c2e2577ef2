//! Which container, Kubernetes pod or systemd unit a process belongs to.
//!
//! Container runtimes and systemd record where they put a process in one
//! place only: its cgroup path, in `/proc/PID/cgroup`. Each runtime names its
//! cgroups its own way, under either cgroup driver (systemd or cgroupfs) and
//! either cgroup version, so this module knows those naming schemes and
//! nothing else. It is pure (text in, [`Origin`] out) so that every scheme is
//! pinned by a fixture test.

use std::fmt;

/// Where a process runs, as its cgroup path tells it.
///
/// `Display` gives the short form `hostscope ps` shows: `docker:0123456789ab`,
/// `k8s:pod1a2b3c4d/0123456789ab`, `nginx.service`, `user@1000:foo.service`.
/// Every string in here was checked against the runtime's or systemd's
/// alphabet, so none of it needs escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A container started by a runtime outside Kubernetes.
    Container {
        runtime: Runtime,
        /// The full container id, 64 hex digits.
        id: String,
    },
    /// A container of a Kubernetes pod, or the pod's own cgroup.
    Pod {
        /// The pod's UID, as the API server shows it (dashes, not the
        /// underscores of systemd slice names).
        uid: String,
        /// The full container id, 64 hex digits; `None` for a process in the
        /// pod's cgroup but in no container's.
        container_id: Option<String>,
    },
    /// A unit of the system's service manager: `nginx.service`,
    /// `session-3.scope`, `init.scope`.
    Unit(String),
    /// A unit of a user's service manager (`user@UID.service`).
    UserUnit {
        /// The user whose manager runs the unit.
        uid: u32,
        /// The unit's name: `foo.service`, `app-gnome-x-123.scope`.
        name: String,
    },
}

/// The container runtime that named a container's cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Runtime {
    Docker,
    Containerd,
    CriO,
    Podman,
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Runtime::Docker => "docker",
            Runtime::Containerd => "containerd",
            Runtime::CriO => "crio",
            Runtime::Podman => "podman",
        })
    }
}

/// Container ids are shown cut to 12 digits, as `docker ps` does.
const SHORT_ID: usize = 12;
/// Pod UIDs are shown cut to their first group (8 hex digits).
const SHORT_UID: usize = 8;

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Container { runtime, id } => write!(f, "{runtime}:{}", short(id, SHORT_ID)),
            Origin::Pod { uid, container_id } => {
                write!(f, "k8s:pod{}", short(uid, SHORT_UID))?;
                match container_id {
                    Some(id) => write!(f, "/{}", short(id, SHORT_ID)),
                    None => Ok(()),
                }
            }
            Origin::Unit(name) => f.write_str(name),
            Origin::UserUnit { uid, name } => write!(f, "user@{uid}:{name}"),
        }
    }
}

/// `s` is ASCII (checked when parsed), so any byte index is a char boundary.
fn short(s: &str, len: usize) -> &str {
    &s[..s.len().min(len)]
}

/// Classifies the text of `/proc/PID/cgroup`, cgroup v1 (one line per
/// hierarchy), v2 (`0::/path`) or hybrid.
///
/// Lines disagree only in how much they know (a v1 controller may keep a
/// process at `/` while `name=systemd` has its unit), so the most specific
/// answer wins: a pod over a container over a unit. `None` when no line names
/// any (the root cgroup, kernel threads, a private cgroup namespace).
pub fn origin_from_cgroup(text: &[u8]) -> Option<Origin> {
    let mut best: Option<Origin> = None;
    for line in text.split(|&b| b == b'\n') {
        // `ID:controllers:path`; the path itself may hold colons.
        let mut fields = line.splitn(3, |&b| b == b':');
        let (Some(_), Some(_), Some(path)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if let Some(origin) = origin_from_path(path)
            && best.as_ref().is_none_or(|b| rank(&origin) > rank(b))
        {
            best = Some(origin);
        }
    }
    best
}

fn rank(origin: &Origin) -> u8 {
    match origin {
        Origin::Pod { .. } => 3,
        Origin::Container { .. } => 2,
        Origin::Unit(_) | Origin::UserUnit { .. } => 1,
    }
}

fn origin_from_path(path: &[u8]) -> Option<Origin> {
    let parts: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    pod(&parts)
        .or_else(|| container(&parts))
        .or_else(|| unit(&parts))
}

/// Kubernetes pods, under either kubelet cgroup driver:
/// `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope`
/// or `/kubepods/burstable/pod<uid>/<id>`. The `kubepods` component may sit
/// deeper (kind and other nested clusters).
fn pod(parts: &[&[u8]]) -> Option<Origin> {
    let kubepods = parts.iter().position(|c| contains(c, b"kubepods"))?;
    let (at, uid) = parts
        .iter()
        .enumerate()
        .skip(kubepods)
        .find_map(|(i, c)| pod_uid(c).map(|uid| (i, uid)))?;
    let container_id = parts
        .get(at + 1)
        .and_then(|c| container_scope(c).map(|(_, id)| id).or_else(|| hex_id(c)));
    Some(Origin::Pod { uid, container_id })
}

/// `kubepods-besteffort-pod1a2b_…_9f.slice` (systemd driver) or
/// `pod1a2b-…-9f` (cgroupfs driver).
fn pod_uid(component: &[u8]) -> Option<String> {
    let name = match component.strip_suffix(b".slice") {
        Some(slice) => slice.rsplit(|&b| b == b'-').next()?,
        None => component,
    };
    let uid = name.strip_prefix(b"pod")?;
    let valid = (8..=64).contains(&uid.len())
        && uid
            .iter()
            .all(|&b| b.is_ascii_hexdigit() || b == b'-' || b == b'_');
    valid.then(|| {
        // systemd slice names cannot hold '-' inside a level, so the kubelet
        // writes the UID's dashes as underscores there.
        uid.iter()
            .map(|&b| if b == b'_' { '-' } else { char::from(b) })
            .collect()
    })
}

/// Containers outside Kubernetes. The innermost match wins, so a container
/// nested in another (docker-in-docker) is reported as itself.
fn container(parts: &[&[u8]]) -> Option<Origin> {
    (0..parts.len()).rev().find_map(|i| {
        let (runtime, id) = container_scope(parts[i]).or_else(|| {
            // cgroupfs driver: `/docker/<id>`.
            let parent = *parts.get(i.checked_sub(1)?)?;
            (parent == b"docker")
                .then_some(Runtime::Docker)
                .zip(hex_id(parts[i]))
        })?;
        Some(Origin::Container { runtime, id })
    })
}

/// The scopes the runtimes create through systemd, and podman's cgroupfs
/// `libpod-<id>`. Conmon's own `libpod-conmon-<id>.scope` is not the
/// container, and the hex check turns it away.
fn container_scope(component: &[u8]) -> Option<(Runtime, String)> {
    const PREFIXES: [(&[u8], Runtime); 4] = [
        (b"docker-", Runtime::Docker),
        (b"cri-containerd-", Runtime::Containerd),
        (b"crio-", Runtime::CriO),
        (b"libpod-", Runtime::Podman),
    ];
    let name = component.strip_suffix(b".scope").unwrap_or(component);
    PREFIXES.iter().find_map(|&(prefix, runtime)| {
        let id = hex_id(name.strip_prefix(prefix)?)?;
        Some((runtime, id))
    })
}

/// A full container id: exactly 64 hex digits, so that names that merely
/// start like one (`docker-compose@x.service`) are not taken for one.
fn hex_id(component: &[u8]) -> Option<String> {
    let valid = component.len() == 64 && component.iter().all(u8::is_ascii_hexdigit);
    valid.then(|| component.iter().map(|&b| char::from(b)).collect())
}

/// systemd units, as systemd itself reads them from a path: slices nest,
/// the first other unit is the process's unit, and anything below it is that
/// unit's own (delegated) business. Inside `user@UID.service` the same rule
/// finds the user manager's unit.
fn unit(parts: &[&[u8]]) -> Option<Origin> {
    let (at, name) = first_unit(parts)?;
    let Some(uid) = user_manager(&name) else {
        return Some(Origin::Unit(name));
    };
    match first_unit(&parts[at + 1..]) {
        Some((_, name)) => Some(Origin::UserUnit { uid, name }),
        None => Some(Origin::Unit(name)),
    }
}

fn first_unit(parts: &[&[u8]]) -> Option<(usize, String)> {
    let at = parts.iter().position(|c| !c.ends_with(b".slice"))?;
    let component = parts[at];
    const TYPES: [&[u8]; 5] = [b".service", b".scope", b".socket", b".mount", b".swap"];
    let typed = TYPES.iter().any(|t| component.ends_with(t));
    // systemd's unit-name alphabet; a delegated subtree may hold any bytes,
    // and those are not a unit.
    let valid = typed
        && component.len() <= 255
        && component
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b));
    valid.then(|| (at, component.iter().map(|&b| char::from(b)).collect()))
}

/// `user@1000.service` → 1000.
fn user_manager(unit: &str) -> Option<u32> {
    unit.strip_prefix("user@")?
        .strip_suffix(".service")?
        .parse()
        .ok()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const POD: &str = "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d";

    fn origin(text: &str) -> Option<Origin> {
        origin_from_cgroup(text.as_bytes())
    }

    fn shown(text: &str) -> String {
        origin(text).map_or_else(|| "-".to_owned(), |o| o.to_string())
    }

    #[test]
    fn docker_under_both_drivers() {
        let systemd = format!("0::/system.slice/docker-{ID}.scope\n");
        let expected = Origin::Container {
            runtime: Runtime::Docker,
            id: ID.to_owned(),
        };
        assert_eq!(origin(&systemd), Some(expected.clone()));
        assert_eq!(shown(&systemd), "docker:0123456789ab");
        assert_eq!(origin(&format!("0::/docker/{ID}\n")), Some(expected));
    }

    #[test]
    fn docker_in_docker_reports_the_inner_container() {
        let inner = "f".repeat(64);
        let text = format!("0::/docker/{ID}/docker/{inner}\n");
        assert_eq!(shown(&text), "docker:ffffffffffff");
    }

    #[test]
    fn containerd_crio_and_podman_scopes() {
        assert_eq!(
            shown(&format!("0::/system.slice/cri-containerd-{ID}.scope\n")),
            "containerd:0123456789ab"
        );
        assert_eq!(
            shown(&format!("0::/system.slice/crio-{ID}.scope\n")),
            "crio:0123456789ab"
        );
        assert_eq!(
            shown(&format!("0::/machine.slice/libpod-{ID}.scope/container\n")),
            "podman:0123456789ab"
        );
        // Rootless podman, under the user's manager.
        let rootless = format!(
            "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope\n"
        );
        assert_eq!(shown(&rootless), "podman:0123456789ab");
        // podman's cgroupfs driver.
        assert_eq!(
            shown(&format!("0::/libpod_parent/libpod-{ID}\n")),
            "podman:0123456789ab"
        );
    }

    #[test]
    fn conmon_is_not_the_container() {
        let text = format!("0::/machine.slice/libpod-conmon-{ID}.scope\n");
        assert_eq!(shown(&text), format!("libpod-conmon-{ID}.scope"));
    }

    #[test]
    fn kubernetes_with_the_systemd_driver() {
        let uid = POD.replace('-', "_");
        let text = format!(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid}.slice/cri-containerd-{ID}.scope\n"
        );
        assert_eq!(
            origin(&text),
            Some(Origin::Pod {
                uid: POD.to_owned(),
                container_id: Some(ID.to_owned()),
            })
        );
        assert_eq!(shown(&text), "k8s:pod1a2b3c4d/0123456789ab");
    }

    #[test]
    fn kubernetes_guaranteed_pod_and_pod_cgroup() {
        let uid = POD.replace('-', "_");
        let guaranteed = format!("0::/kubepods.slice/kubepods-pod{uid}.slice/crio-{ID}.scope\n");
        assert_eq!(shown(&guaranteed), "k8s:pod1a2b3c4d/0123456789ab");
        let pod_only = format!("0::/kubepods.slice/kubepods-pod{uid}.slice\n");
        assert_eq!(shown(&pod_only), "k8s:pod1a2b3c4d");
    }

    #[test]
    fn kubernetes_with_the_cgroupfs_driver_on_v1() {
        let text = format!(
            "12:pids:/kubepods/besteffort/pod{POD}/{ID}\n\
             11:cpuset:/kubepods/besteffort/pod{POD}/{ID}\n\
             1:name=systemd:/kubepods/besteffort/pod{POD}/{ID}\n"
        );
        assert_eq!(shown(&text), "k8s:pod1a2b3c4d/0123456789ab");
    }

    #[test]
    fn kubernetes_nested_in_a_docker_node() {
        // kind: the node is a docker container, the pod lives inside it.
        let uid = POD.replace('-', "_");
        let text = format!(
            "0::/system.slice/docker-{ID}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod{uid}.slice/cri-containerd-{}.scope\n",
            "e".repeat(64)
        );
        assert_eq!(shown(&text), "k8s:pod1a2b3c4d/eeeeeeeeeeee");
    }

    #[test]
    fn system_units() {
        assert_eq!(shown("0::/system.slice/nginx.service\n"), "nginx.service");
        assert_eq!(
            shown("0::/system.slice/system-getty.slice/getty@tty1.service\n"),
            "getty@tty1.service"
        );
        assert_eq!(shown("0::/init.scope\n"), "init.scope");
        // Below a unit is the unit's own delegated subtree.
        assert_eq!(
            shown("0::/system.slice/buildkit.service/worker/run.scope\n"),
            "buildkit.service"
        );
    }

    #[test]
    fn user_sessions_and_user_units() {
        assert_eq!(
            shown("0::/user.slice/user-1000.slice/session-3.scope\n"),
            "session-3.scope"
        );
        assert_eq!(
            origin("0::/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service\n"),
            Some(Origin::UserUnit {
                uid: 1000,
                name: "foo.service".to_owned(),
            })
        );
        assert_eq!(
            shown("0::/user.slice/user-1000.slice/user@1000.service/init.scope\n"),
            "user@1000:init.scope"
        );
        // The manager's own cgroup, with no unit of its below.
        assert_eq!(
            shown("0::/user.slice/user-1000.slice/user@1000.service\n"),
            "user@1000.service"
        );
    }

    #[test]
    fn v1_lines_that_know_less_do_not_win() {
        let text = "12:cpuset:/\n\
                    11:memory:/user.slice/user-1000.slice/session-3.scope\n\
                    1:name=systemd:/user.slice/user-1000.slice/session-3.scope\n\
                    0::/user.slice/user-1000.slice/session-3.scope\n";
        assert_eq!(shown(text), "session-3.scope");
        let container = format!("5:cpu:/system.slice/docker.service\n4:pids:/docker/{ID}\n");
        assert_eq!(shown(&container), "docker:0123456789ab");
    }

    #[test]
    fn nothing_to_name() {
        assert_eq!(origin("0::/\n"), None);
        assert_eq!(origin(""), None);
        assert_eq!(origin("garbage without colons\n"), None);
        assert_eq!(origin("0::/user.slice\n"), None);
        assert_eq!(origin("0::/mygroup/worker\n"), None);
    }

    #[test]
    fn hostile_cgroup_names_are_not_units() {
        // A user may mkdir anything in a subtree delegated to them.
        assert_eq!(origin_from_cgroup(b"0::/evil\x1b[31m.service\n"), None);
        assert_eq!(origin_from_cgroup(b"0::/a\xff.service\n"), None);
        assert_eq!(
            origin_from_cgroup(b"0::/system.slice/x.service/\x1b]0;pwn\x07\n"),
            Some(Origin::Unit("x.service".to_owned()))
        );
    }

    #[test]
    fn short_looking_ids_are_not_containers() {
        assert_eq!(
            shown("0::/system.slice/docker-compose@app.service\n"),
            "docker-compose@app.service"
        );
        assert_eq!(shown("0::/docker/abc123\n"), "-");
    }
}
