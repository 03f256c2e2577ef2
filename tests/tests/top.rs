//! `hostscope top` end to end, in tmux, against the real binary with the
//! probe loaded: a process is found by filter, its detail shows the file it
//! holds and the open that fails, it is signalled with `k`, and quitting
//! leaves the terminal as it was.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hostscope_tests::{TempDir, compile_c, hostscope_path, unique};

/// A private tmux server, killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        let tmux = Tmux {
            socket: unique("hs-top"),
        };
        let status = tmux
            .cmd()
            .args([
                "new-session",
                "-d",
                "-s",
                "top",
                "-x",
                "160",
                "-y",
                "48",
                command,
            ])
            .env("TERM", "xterm-256color")
            .status()
            .expect("run tmux (it is in .ci/packages)");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket]);
        cmd
    }

    fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "top"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "top"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    fn resize(&self, width: u16, height: u16) {
        let status = self
            .cmd()
            .args([
                "resize-window",
                "-t",
                "top",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .status()
            .expect("tmux resize-window");
        assert!(status.success());
    }

    fn type_text(&self, text: &str) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "top", "-l", text])
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Waits until the screen shows every one of `needles`; panics with the
    /// screen after `within`.
    fn wait_for(&self, needles: &[&str], within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if needles.iter().all(|n| screen.contains(n)) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {needles:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

/// Holds `held` open and tries to open `missing` every 200 ms, forever.
const WORKLOAD: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror(argv[1]); return 1; }
    for (;;) {
        open(argv[2], O_RDONLY);
        usleep(200000);
    }
}
"#;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_file(path: &Path, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.is_empty()
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn find_inspect_signal_and_quit_leaving_the_terminal_as_it_was() {
    let dir = TempDir::new("hs-top");
    // comm is at most 15 bytes: the name is short, and unique to this run.
    let name = format!("hstop{}", std::process::id() % 100_000);
    let exe = compile_c(dir.path(), &name, WORKLOAD);
    let held = dir.path().join("held-open.txt");
    std::fs::write(&held, "hostscope").expect("write the held file");
    let missing = PathBuf::from(format!("/nonexistent/{}/app.conf", unique("hs")));
    let mut workload = Killed(
        Command::new(&exe)
            .arg(&held)
            .arg(&missing)
            .stdin(Stdio::null())
            .spawn()
            .expect("start the workload"),
    );
    let pid = workload.0.id();

    let before = dir.path().join("stty.before");
    let after = dir.path().join("stty.after");
    let rc = dir.path().join("rc");
    let script = format!(
        "stty -g > {before}; {top} top -d 0.5; echo $? > {rc}; stty -g > {after}; sleep 600",
        before = before.display(),
        after = after.display(),
        rc = rc.display(),
        top = hostscope_path().display(),
    );
    let tmux = Tmux::start(&format!("sh -c '{script}'"));
    tmux.wait_for(
        &["probe: attached", "PID", "COMMAND"],
        Duration::from_secs(30),
    );

    tmux.keys(&["/"]);
    tmux.type_text(&name);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for(
        &[&pid.to_string(), &format!("filter \"{name}\"")],
        Duration::from_secs(10),
    );
    assert!(
        screen.lines().filter(|l| l.contains(&name)).count() >= 1,
        "the filtered table shows the workload:\n{screen}"
    );

    // A smaller window: everything is laid out again, down to the status
    // line on the new last row.
    tmux.resize(100, 30);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let screen = tmux.screen();
        let lines: Vec<&str> = screen.lines().collect();
        if lines.len() == 30 && lines[29].contains("?Help") && screen.contains(&pid.to_string()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not redrawn at 100x30:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    tmux.resize(160, 48);

    tmux.keys(&["Enter"]);
    tmux.wait_for(
        &[
            &format!("pid {pid}"),
            &held.display().to_string(),
            &missing.display().to_string(),
            "Failures (why-missing)",
            // The failures pane: errno, count, syscall, path; then what
            // why-missing makes of it.
            "ENOENT   x",
            "         missing",
        ],
        Duration::from_secs(15),
    );

    tmux.keys(&["k"]);
    tmux.wait_for(&["Send a signal to pid", "SIGTERM"], Duration::from_secs(5));
    tmux.keys(&["Enter"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = workload.0.try_wait().expect("wait for the workload") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the workload was not signalled:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGTERM), "killed by SIGTERM");
    tmux.wait_for(
        &[&format!("sent SIGTERM to pid {pid}")],
        Duration::from_secs(5),
    );

    tmux.keys(&["q"]);
    assert_eq!(
        wait_file(&rc, Duration::from_secs(10)).trim(),
        "0",
        "hostscope top exit status"
    );
    assert_eq!(
        wait_file(&after, Duration::from_secs(5)),
        wait_file(&before, Duration::from_secs(1)),
        "the terminal settings (stty -g) are restored"
    );
    let screen = tmux.screen();
    assert!(
        !screen.contains("PID "),
        "the alternate screen is gone:\n{screen}"
    );
}

/// Without root the process screens work, the probe's say why not, and a
/// SIGTERM restores the terminal like `q` does.
#[test]
fn unprivileged_it_runs_without_the_probe_and_a_sigterm_restores_the_terminal() {
    let dir = TempDir::new("hs-top-term");
    let before = dir.path().join("stty.before");
    let after = dir.path().join("stty.after");
    let rc = dir.path().join("rc");
    let script = format!(
        "stty -g > {before}; setpriv --reuid=65534 --regid=65534 --clear-groups {top} top & echo $! > {pid}; wait; echo $? > {rc}; stty -g > {after}; sleep 600",
        before = before.display(),
        after = after.display(),
        rc = rc.display(),
        pid = dir.path().join("pid").display(),
        top = hostscope_path().display(),
    );
    let tmux = Tmux::start(&format!("sh -c '{script}'"));
    tmux.wait_for(
        &["probe: off (not root: missing CAP_BPF", "PID", "COMMAND"],
        Duration::from_secs(30),
    );
    tmux.keys(&["2"]);
    tmux.wait_for(&["Run `sudo hostscope top`"], Duration::from_secs(5));
    let pid: i32 = wait_file(&dir.path().join("pid"), Duration::from_secs(5))
        .trim()
        .parse()
        .expect("a pid");
    // SAFETY: plain kill(2) on the pid the shell reported.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    assert_eq!(wait_file(&rc, Duration::from_secs(10)).trim(), "0");
    assert_eq!(
        wait_file(&after, Duration::from_secs(5)),
        wait_file(&before, Duration::from_secs(1)),
        "the terminal settings (stty -g) are restored"
    );
}
