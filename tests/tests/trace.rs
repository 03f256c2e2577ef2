//! `hostscope trace` end to end: the real binary, the probe loaded for real
//! (as root; CI runs as root, and these tests fail rather than skip without
//! it), real programs as targets.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hostscope_tests::{TempDir, compile_c, hostscope, json_lines, record_type, unique};
use serde_json::Value;

fn syscalls(records: &[Value]) -> impl Iterator<Item = &Value> {
    records.iter().filter(|r| record_type(r) == "syscall")
}

#[test]
fn exit_status_is_the_commands() {
    let st = hostscope()
        .args(["trace", "-o", "/dev/null", "--", "sh", "-c", "exit 3"])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(3));
    let st = hostscope()
        .args(["trace", "-o", "/dev/null", "--", "sh", "-c", "kill -9 $$"])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(128 + 9));
}

#[test]
fn command_not_found_exits_127() {
    let out = hostscope()
        .args(["trace", "--", "hostscope-no-such-command"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hostscope-no-such-command: command not found"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2_and_say_why() {
    let out = hostscope()
        .args(["trace", "-p", "999999999"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-p 999999999: no such process"));

    let out = hostscope()
        .args(["trace", "-e", "trace=openat,opn", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("opn"),
        "the message points at the bad token: {err}"
    );
}

#[test]
fn text_output_is_strace_like() {
    let missing = format!("/nonexistent/{}", unique("text"));
    let out = hostscope()
        .args(["trace", "-e", "trace=openat", "--", "cat", &missing])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "cat fails on a missing file");
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains(&missing))
        .unwrap_or_else(|| panic!("no line for {missing} in:\n{text}"));
    let expected = format!(
        "openat(AT_FDCWD, \"{missing}\", O_RDONLY) = -1 ENOENT (No such file or directory) <"
    );
    assert!(line.starts_with("[pid "), "{line}");
    assert!(line.contains(&expected), "{line}\nexpected {expected}");
    assert!(line.ends_with('>'), "{line}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("none lost"), "loss report on stderr: {err}");
}

#[test]
fn follows_forks_and_resolves_relative_paths() {
    let dir = TempDir::new("hs-fork");
    let script = "cd /usr && cat ./share/hostscope-missing-a; (cd lib && cat ../hostscope-missing-b); exit 0";
    let out = hostscope()
        .current_dir(dir.path())
        .args([
            "trace",
            "--json",
            "-Z",
            "-e",
            "trace=%file",
            "--",
            "sh",
            "-c",
            script,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let records = json_lines(&out.stdout);
    let find = |name: &str| {
        syscalls(&records)
            .find(|r| r["path"].as_str().is_some_and(|p| p.ends_with(name)))
            .unwrap_or_else(|| panic!("no record for {name}: {records:#?}"))
            .clone()
    };
    let a = find("hostscope-missing-a");
    let b = find("hostscope-missing-b");
    assert_eq!(a["resolved"], "/usr/share/hostscope-missing-a");
    assert_eq!(b["resolved"], "/usr/hostscope-missing-b");
    assert_eq!(a["errno"], "ENOENT");
    let shell_pid = syscalls(&records).next().unwrap()["pid"].clone();
    assert_ne!(a["pid"], shell_pid, "cat runs in a child of the shell");
    assert_ne!(a["pid"], b["pid"]);
}

#[test]
fn attaches_to_a_running_process() {
    let missing = format!("/nonexistent/{}", unique("attach"));
    let mut target = Command::new("sh")
        .args([
            "-c",
            &format!("while :; do test -e {missing}; sleep 0.05; done"),
        ])
        .spawn()
        .unwrap();
    let mut tracer = hostscope()
        .args(["trace", "-f", "-Z", "-p", &target.id().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = tracer.stdout.take().unwrap();
    let line = first_line_containing(stdout, &missing, Duration::from_secs(10));
    // SAFETY: signals our own child.
    unsafe { libc::kill(tracer.id() as i32, libc::SIGTERM) };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut tracer.stderr.take().unwrap(), &mut stderr).unwrap();
    let status = tracer.wait().unwrap();
    target.kill().unwrap();
    target.wait().unwrap();
    let line = line.expect("the attached shell's failed lookups show");
    assert!(line.contains("ENOENT"), "{line}");
    assert!(status.success(), "SIGTERM detaches cleanly: {status:?}");
    assert!(stderr.contains("attached to process"), "{stderr}");
    assert!(
        stderr.contains("none lost"),
        "a call in progress at attach is shown, not lost: {stderr}"
    );
}

#[test]
fn all_sees_another_process() {
    let missing = format!("/nonexistent/{}", unique("all"));
    let mut tracer = hostscope()
        .args(["trace", "--all", "-Z", "-e", "trace=%file", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = tracer.stdout.take().unwrap();
    let probe = missing.clone();
    let poker = std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            let _ = std::fs::metadata(&probe);
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let line = first_line_containing(stdout, &missing, Duration::from_secs(10));
    tracer.kill().unwrap();
    tracer.wait().unwrap();
    poker.join().unwrap();
    let line = line.expect("a failed stat of another process shows in --all");
    let record: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(record["pid"], std::process::id());
}

#[test]
fn hostile_names_never_reach_the_output_raw() {
    let dir = TempDir::new("hs-hostile");
    let script = r#"
import ctypes, os
libc = ctypes.CDLL(None)
libc.prctl(15, b"hs\x1b[31m\nevil", 0, 0, 0)
try:
    os.stat(b"/nonexistent/\xff\xfe\x1b]0;pwned\x07.txt")
except OSError:
    pass
"#;
    let py = dir.path().join("hostile.py");
    std::fs::write(&py, script).unwrap();
    let text = hostscope()
        .args(["trace", "-Z", "-e", "trace=%file", "--"])
        .arg("python3")
        .arg(&py)
        .output()
        .unwrap();
    assert!(text.status.success());
    let stdout = &text.stdout;
    assert!(!stdout.contains(&0x1b), "no raw ESC in the text output");
    assert!(!stdout.contains(&0x07), "no raw BEL in the text output");
    let shown = String::from_utf8(stdout.clone()).expect("text output is valid UTF-8");
    assert!(
        shown.contains(r#""/nonexistent/\377\376\33]0;pwned\7.txt""#),
        "{shown}"
    );

    let json = hostscope()
        .args(["trace", "--json", "-Z", "-e", "trace=%file", "--"])
        .arg("python3")
        .arg(&py)
        .output()
        .unwrap();
    let records = json_lines(&json.stdout);
    let hit = syscalls(&records)
        .find(|r| r["path"]["hex"].is_string())
        .unwrap_or_else(|| panic!("the invalid-UTF-8 path is kept as hex: {records:#?}"));
    let hex = hit["path"]["hex"].as_str().unwrap();
    assert!(hex.starts_with("2f6e6f6e6578697374656e742ffffe1b"), "{hex}");
    assert_eq!(
        hit["comm"], "hs\u{1b}[31m\nevil",
        "JSON keeps the exact comm"
    );
}

#[test]
fn summary_counts_calls_and_errors() {
    let out = hostscope()
        .args([
            "trace",
            "-c",
            "-e",
            "trace=openat",
            "--",
            "sh",
            "-c",
            "cat /nonexistent/a /nonexistent/b; true",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("% time     seconds  usecs/call     calls    errors syscall"),
        "{text}"
    );
    let openat = text
        .lines()
        .find(|l| l.ends_with(" openat"))
        .expect("an openat row");
    let cols: Vec<&str> = openat.split_whitespace().collect();
    let errors: u32 = cols[4].parse().unwrap();
    assert!(errors >= 2, "the two missing files are errors: {openat}");
}

#[test]
fn losses_are_counted_exactly() {
    const N: u32 = 200_000;
    let dir = TempDir::new("hs-flood");
    let exe = compile_c(
        dir.path(),
        "flood",
        &format!(
            "#include <fcntl.h>\nint main(void) {{ for (int i = 0; i < {N}; i++) openat(AT_FDCWD, \"/nonexistent/hs-flood\", O_RDONLY); return 0; }}\n"
        ),
    );
    let out = hostscope()
        .args([
            "trace",
            "--json",
            "-Z",
            "-e",
            "trace=openat",
            "--ring-kib",
            "4",
            "--",
        ])
        .arg(&exe)
        .output()
        .unwrap();
    assert!(out.status.success());
    let records = json_lines(&out.stdout);
    let delivered = syscalls(&records).count() as u64;
    let lost = records
        .iter()
        .rev()
        .find(|r| record_type(r) == "lost")
        .expect("a final lost record");
    let ring_full = lost["ring_full"].as_u64().unwrap();
    assert!(ring_full > 0, "a 4 KiB ring must overflow under {N} events");
    assert_eq!(lost["unmatched_exit"], 0);
    assert_eq!(lost["table_full"], 0);
    // Every record counts when the ring is full, the process's exit record
    // too: N syscalls and one exit went in, each delivered or counted lost.
    let exits = records.iter().filter(|r| record_type(r) == "exit").count() as u64;
    assert_eq!(
        delivered + exits + ring_full,
        u64::from(N) + 1,
        "delivered {delivered} syscalls and {exits} exit, lost {ring_full}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("LOST {ring_full}")), "{err}");
}

/// Reads lines until one contains `needle`, or the time runs out.
fn first_line_containing(
    out: impl std::io::Read + Send + 'static,
    needle: &str,
    within: Duration,
) -> Option<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let needle = needle.to_owned();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if line.contains(&needle) {
                let _ = tx.send(line);
                break;
            }
        }
    });
    rx.recv_timeout(within).ok()
}

#[test]
fn relative_paths_resolve_against_the_inherited_cwd() {
    let dir = TempDir::new("hs-relative");
    let out = hostscope()
        .current_dir(dir.path())
        .args([
            "trace",
            "--json",
            "-Z",
            "-e",
            "trace=openat",
            "--",
            "cat",
            "relative-file",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let records = json_lines(&out.stdout);
    let hit = syscalls(&records)
        .find(|r| r["path"] == "relative-file")
        .unwrap_or_else(|| panic!("no openat of relative-file: {records:#?}"));
    assert_eq!(
        hit["resolved"],
        dir.path().join("relative-file").to_str().unwrap()
    );
}
