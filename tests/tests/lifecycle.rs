//! What hostscope leaves behind and refuses: no kernel program stays loaded
//! after any kind of exit (the probe is never pinned), and without the
//! privileges it says which capability is missing before any bpf() call.
//! In a test binary of its own so that no other test's probe is loaded
//! while it counts programs.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hostscope_tests::hostscope;

/// Our programs currently loaded in the kernel, by name.
fn loaded_probe_programs() -> Vec<String> {
    aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .filter_map(|p| p.name_as_str().map(str::to_owned))
        .filter(|name| name.starts_with("hs_"))
        .collect()
}

fn wait_until_unloaded(what: &str) {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let left = loaded_probe_programs();
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < end, "after {what}, still loaded: {left:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `hostscope trace --all` and waits until its programs are loaded.
fn start_tracing() -> Child {
    let child = hostscope()
        .args(["trace", "--all", "-o", "/dev/null"])
        .stderr(Stdio::null())
        .spawn()
        .expect("start hostscope");
    let end = Instant::now() + Duration::from_secs(20);
    while loaded_probe_programs().len() < 4 {
        assert!(Instant::now() < end, "the probe never loaded");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn no_program_stays_loaded_after_any_exit() {
    wait_until_unloaded("a previous run");

    let st = hostscope()
        .args(["trace", "-o", "/dev/null", "--", "true"])
        .status()
        .unwrap();
    assert!(st.success());
    wait_until_unloaded("a normal exit");

    for (signal, name) in [
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGINT, "SIGINT"),
        (libc::SIGKILL, "SIGKILL"),
    ] {
        let mut child = start_tracing();
        // SAFETY: signals our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        if signal != libc::SIGKILL {
            assert!(
                status.code().is_some(),
                "{name} is handled and hostscope exits on its own: {status:?}"
            );
        }
        wait_until_unloaded(name);
    }
}

#[test]
fn without_privileges_it_names_the_capability() {
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(hostscope_tests::hostscope_path())
        .args(["trace", "--", "true"])
        .output()
        .expect("run setpriv (util-linux)");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CAP_BPF") && err.contains("CAP_PERFMON") && err.contains("root"),
        "{err}"
    );
}
