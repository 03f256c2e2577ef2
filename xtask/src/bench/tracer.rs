//! A tool under test (hostscope, strace, bpftrace, …) started next to a
//! workload: waited for until it says it is attached, and reaped with its
//! stderr and peak RSS.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// Where a tool says it is attached, and the words it uses.
pub enum Ready {
    Stdout(&'static str),
    Stderr(&'static str),
}

pub struct Tracer {
    child: Child,
    stderr: mpsc::Receiver<String>,
}

pub struct Finished {
    pub stderr: String,
    pub peak_rss_kib: u64,
}

impl Tracer {
    /// Starts a tracer and waits until it says it is attached.
    pub fn start(cmd: &mut Command, ready: Ready) -> Result<Tracer> {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("start {cmd:?}"))?;
        let (ready_tx, ready_rx) = mpsc::channel();
        let (err_tx, err_rx) = mpsc::channel();
        let (marker, on_stderr) = match ready {
            Ready::Stdout(m) => (m, false),
            Ready::Stderr(m) => (m, true),
        };
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let tx = ready_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !on_stderr && line.contains(marker) {
                    let _ = tx.send(());
                }
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if on_stderr && line.contains(marker) {
                    let _ = ready_tx.send(());
                }
                let _ = err_tx.send(line);
            }
        });
        if ready_rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = child.kill();
            let lines: Vec<String> = err_rx.try_iter().collect();
            bail!("{cmd:?} did not attach: {}", lines.join("\n"));
        }
        Ok(Tracer {
            child,
            stderr: err_rx,
        })
    }

    /// Waits for the tracer to exit (after SIGINT if `interrupt`), with its
    /// stderr and peak RSS.
    pub fn finish(self, interrupt: bool) -> Result<Finished> {
        let pid = self.child.id() as libc::pid_t;
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            if interrupt {
                // bpftrace says it is attaching before it handles SIGINT, so
                // an early SIGINT can go unheard: repeat it until it exits.
                // SAFETY: signals our own child.
                unsafe { libc::kill(pid, libc::SIGINT) };
            }
            let flags = if interrupt { libc::WNOHANG } else { 0 };
            // SAFETY: waits for our own child.
            match unsafe { libc::wait4(pid, &mut status, flags, &mut usage) } {
                n if n < 0 => bail!("wait4: {}", std::io::Error::last_os_error()),
                0 => std::thread::sleep(Duration::from_millis(500)),
                _ => break,
            }
        }
        // The stderr reader ends when the pipe closes, after exit.
        let mut lines = Vec::new();
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(5)) {
            lines.push(line);
        }
        Ok(Finished {
            stderr: lines.join("\n"),
            peak_rss_kib: usage.ru_maxrss as u64,
        })
    }
}
