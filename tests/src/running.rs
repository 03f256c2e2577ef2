//! A `hostscope` command running next to a test's workload: started, waited
//! for until it says it is attached (a fixed sleep is a guess that a loaded
//! CI machine eventually loses), and killed if the test fails before it
//! ends, so that its probe does not stay loaded for the tests after it.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a probe may take to load and attach on a busy machine.
const ATTACH_WITHIN: Duration = Duration::from_secs(30);

pub struct Running {
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

/// What a finished command printed, and how it ended.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Running {
    /// Starts `cmd` with stdout and stderr piped, and returns once `times`
    /// lines of its stderr have said "attached" (one per `-p` pid).
    pub fn attached(cmd: &mut Command, times: usize) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
        let (tx, attached) = mpsc::channel();
        let stderr = child.stderr.take().expect("piped");
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("attached") {
                    let _ = tx.send(());
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let mut stdout = child.stdout.take().expect("piped");
        let stdout = std::thread::spawn(move || {
            let mut all = Vec::new();
            let _ = stdout.read_to_end(&mut all);
            String::from_utf8_lossy(&all).into_owned()
        });
        let mut running = Running {
            child,
            stdout: Some(stdout),
            stderr: Some(stderr),
        };
        let deadline = Instant::now() + ATTACH_WITHIN;
        for _ in 0..times {
            let left = deadline.saturating_duration_since(Instant::now());
            if attached.recv_timeout(left).is_err() {
                running.give_up(&format!("{cmd:?} did not attach within {ATTACH_WITHIN:?}"));
            }
        }
        running
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the command to end on its own within `within` (else kills
    /// it and fails the test).
    pub fn finish(mut self, within: Duration) -> Finished {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll the command") {
                break status;
            }
            if Instant::now() > deadline {
                self.give_up(&format!("still running after {within:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let read = |h: Option<JoinHandle<String>>| h.map(|h| h.join().unwrap_or_default());
        Finished {
            status,
            stdout: read(self.stdout.take()).unwrap_or_default(),
            stderr: read(self.stderr.take()).unwrap_or_default(),
        }
    }

    /// Kills the command and fails the test with `why` and what it said.
    fn give_up(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let said = self.stderr.take().map(|h| h.join().unwrap_or_default());
        panic!("{why}: {}", said.unwrap_or_default());
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
