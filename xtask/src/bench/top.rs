//! `cargo xtask bench top`: what a process viewer left open costs the host.
//!
//! A viewer runs for hours on the machine it watches, so its own CPU time
//! and memory are taken from the workloads it is there to show. The bench
//! adds N sleeping processes (a viewer's cost grows with the process count,
//! not with how busy they are), then runs `hostscope top`, `htop` and `btop`
//! side by side, each in its own tmux pane at a 1 s refresh, so all three
//! draw the same processes through the same noise. Each one's CPU time is
//! read from `/proc/PID/stat` after a start-up grace period and again after
//! `--duration`; its peak RSS from `VmHWM` just before it is told to quit.
//! btop, the leanest of the two anchors, is the one ratios are taken to.
//!
//! hostscope's share of that cost, one procfs snapshot, is also timed on its
//! own, per 1,000 processes, so a regression can be told from the drawing.
//!
//! tmux runs on a private socket with no user config, and every tool gets a
//! fresh `XDG_CONFIG_HOME`: the user's tmux and htop/btop settings are
//! neither used nor overwritten.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use hostscope_core::procfs::Reader;

use super::{build_hostscope, cpu_ticks, median, met, mib, ticks_per_second, workspace_root};

/// The tmux socket name (`tmux -L`), private to the bench.
const SOCKET: &str = "hsbench";
/// How long the tools get to start and draw before CPU time is counted:
/// start-up (btop reads its themes, htop its first scan) is not the
/// steady cost being compared.
const STARTUP: Duration = Duration::from_secs(5);
/// How long each tool gets to quit on `q` before the server is killed.
const QUIT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most lines of a pane shown for a tool that failed.
const CAPTURE_LINES: usize = 20;
/// Timed snapshots, after one warm-up; the median is reported.
const SNAPSHOTS: usize = 10;
/// The targets.
const TARGET_RSS_MIB: f64 = 40.0;

/// Options of `bench top`.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long CPU time is counted, after start-up.
    pub duration: Duration,
    /// Sleeping processes added for the run.
    pub processes: usize,
}

impl Options {
    pub fn parse(args: &[&str]) -> Result<Options> {
        let mut options = Options {
            duration: Duration::from_secs(60),
            processes: 1000,
        };
        let mut it = args.iter();
        while let Some(&flag) = it.next() {
            let value = it.next().with_context(|| format!("{flag} needs a value"))?;
            match flag {
                "--duration" => {
                    options.duration =
                        Duration::from_secs(value.parse().context("--duration (seconds)")?);
                }
                "--processes" => options.processes = value.parse().context("--processes")?,
                other => bail!("unknown option {other}"),
            }
        }
        ensure!(
            !options.duration.is_zero(),
            "--duration must be at least 1 second"
        );
        Ok(options)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Hostscope,
    Htop,
    Btop,
}

impl Tool {
    fn label(self) -> &'static str {
        match self {
            Tool::Hostscope => "hostscope top -d 1",
            Tool::Htop => "htop -d 10",
            Tool::Btop => "btop (update_ms = 1000)",
        }
    }

    /// The tmux session it runs in.
    fn session(self) -> &'static str {
        match self {
            Tool::Hostscope => "hostscope",
            Tool::Htop => "htop",
            Tool::Btop => "btop",
        }
    }

    /// Its pane, as a tmux target: `=` for an exact session name, since
    /// tmux otherwise takes prefixes and patterns.
    fn pane(self) -> String {
        format!("={}:", self.session())
    }

    /// The command, at a 1 s refresh. htop's delay is in tenths of a second;
    /// btop has no flag for it, only its config file (see [`write_btop_config`]).
    fn argv(self, hostscope: &Path) -> Vec<String> {
        match self {
            Tool::Hostscope => vec![
                hostscope.display().to_string(),
                "top".into(),
                "-d".into(),
                "1".into(),
            ],
            Tool::Htop => vec!["htop".into(), "-d".into(), "10".into()],
            Tool::Btop => vec!["btop".into()],
        }
    }
}

/// What became of one tool.
#[derive(Debug)]
enum Outcome {
    /// hostscope has no `top` yet (or failed to build): why.
    NotBuilt(String),
    /// It exited, or drew nothing, before counting began: what its pane
    /// showed.
    DidNotStart(String),
    /// It exited while its CPU time was being counted: what its pane showed.
    Exited(String),
    Measured {
        /// CPU time over wall time; 100 is one core busy.
        cpu_percent: f64,
        peak_rss_kib: Option<u64>,
    },
}

/// A running tool's CPU time when counting began.
#[derive(Debug)]
struct Start {
    pid: u32,
    /// utime + stime, in clock ticks.
    ticks: u64,
    at: Instant,
}

pub fn run(options: &Options) -> Result<()> {
    if cfg!(debug_assertions) {
        // An unoptimized snapshot says nothing: measure a release build.
        let status = Command::new(env!("CARGO"))
            .args(["run", "--quiet", "--release", "--package", "xtask", "--"])
            .args(["bench", "top"])
            .args(["--duration", &options.duration.as_secs().to_string()])
            .args(["--processes", &options.processes.to_string()])
            .current_dir(workspace_root())
            .status()
            .context("run cargo run --release")?;
        ensure!(
            status.success(),
            "the release build of the benchmark failed"
        );
        return Ok(());
    }
    let hostscope = hostscope_with_top();
    let sleepers = Sleepers::spawn(options.processes)?;
    let total = count_processes()?;
    println!(
        "bench top: {} sleeping processes added ({total} in /proc), 1 s refresh, \
         CPU counted over {} s after {} s of start-up, tools side by side in tmux\n",
        sleepers.0.len(),
        options.duration.as_secs(),
        STARTUP.as_secs()
    );

    // Timed before the tools start, so that neither disturbs the other.
    let (snapshot_ms, snapshot_count) = time_snapshots()?;
    println!(
        "snapshot: {snapshot_ms:.2} ms for {snapshot_count} processes = {:.2} ms per 1,000 \
         (hostscope_core::procfs::Reader, median of {SNAPSHOTS})\n",
        snapshot_ms / snapshot_count as f64 * 1000.0
    );

    let tmux = Tmux::new()?;
    let tools = [Tool::Hostscope, Tool::Htop, Tool::Btop];
    let mut pids: Vec<(Tool, Result<u32, Outcome>)> = Vec::new();
    for tool in tools {
        let pid = match (tool, hostscope.as_deref()) {
            (Tool::Hostscope, Err(why)) => Err(Outcome::NotBuilt(why.to_owned())),
            (_, path) => tmux
                .start(tool, &tool.argv(path.unwrap_or(Path::new("hostscope"))))
                .map_err(|e| Outcome::DidNotStart(format!("{e:#}"))),
        };
        pids.push((tool, pid));
    }
    let started: Vec<Tool> = pids
        .iter()
        .filter(|(_, pid)| pid.is_ok())
        .map(|&(tool, _)| tool)
        .collect();
    std::thread::sleep(STARTUP);

    // Started, drawn, and still running: only those are measured.
    let mut first: Vec<(Tool, Result<Start, Outcome>)> = Vec::new();
    for (tool, pid) in pids {
        let sample = pid.and_then(|pid| {
            tmux.check_drawn(tool)?;
            let ticks = cpu_ticks(pid).map_err(|e| tmux.did_not_start(tool, &e))?;
            Ok(Start {
                pid,
                ticks,
                at: Instant::now(),
            })
        });
        first.push((tool, sample));
    }
    std::thread::sleep(options.duration);
    let hz = ticks_per_second()?;
    let mut outcomes: Vec<(Tool, Outcome)> = Vec::new();
    for (tool, sample) in first {
        let outcome = match sample {
            Err(outcome) => outcome,
            Ok(start) => match cpu_ticks(start.pid) {
                Err(e) => Outcome::Exited(format!("{e:#}\n{}", tmux.capture(tool))),
                Ok(after) => Outcome::Measured {
                    cpu_percent: after.saturating_sub(start.ticks) as f64
                        / hz
                        / start.at.elapsed().as_secs_f64()
                        * 100.0,
                    peak_rss_kib: peak_rss_kib(start.pid),
                },
            },
        };
        outcomes.push((tool, outcome));
    }
    tmux.quit_all(&started);
    drop(tmux);
    drop(sleepers);

    print_table(&outcomes, snapshot_ms);
    Ok(())
}

/// The release binary, if it builds and has a `top` subcommand; otherwise
/// why not, for the table. Not fatal: htop and btop are still worth
/// measuring while `top` is being written.
fn hostscope_with_top() -> Result<PathBuf, String> {
    let path = build_hostscope().map_err(|e| format!("not built: {e:#}"))?;
    let help = Command::new(&path)
        .args(["top", "--help"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("not built: cannot run {}: {e}", path.display()))?;
    if !help.status.success() {
        let stderr = String::from_utf8_lossy(&help.stderr);
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(format!(
            "not built: `hostscope top --help` failed ({}): {first}",
            help.status
        ));
    }
    Ok(path)
}

fn print_table(outcomes: &[(Tool, Outcome)], snapshot_ms: f64) {
    let btop = outcomes.iter().find_map(|(tool, o)| match o {
        Outcome::Measured { cpu_percent, .. } if *tool == Tool::Btop => Some(*cpu_percent),
        _ => None,
    });
    println!(
        "{:<26} {:>16} {:>9} {:>12}",
        "tool", "CPU % of a core", "vs btop", "peak RSS"
    );
    let mut notes = Vec::new();
    for (tool, outcome) in outcomes {
        match outcome {
            Outcome::Measured {
                cpu_percent,
                peak_rss_kib,
            } => {
                let ratio = btop
                    .filter(|&b| b > 0.0)
                    .map_or("-".to_owned(), |b| format!("{:.2}x", cpu_percent / b));
                println!(
                    "{:<26} {:>15.2}% {:>9} {:>12}",
                    tool.label(),
                    cpu_percent,
                    ratio,
                    mib(*peak_rss_kib)
                );
            }
            Outcome::NotBuilt(why) => {
                println!("{:<26} {:>16}", tool.label(), "not built");
                notes.push(format!("{}: {why}", tool.label()));
            }
            Outcome::DidNotStart(text) => {
                println!("{:<26} {:>16}", tool.label(), "did not start");
                notes.push(format!(
                    "{}: did not start; its pane:\n{text}",
                    tool.label()
                ));
            }
            Outcome::Exited(text) => {
                println!("{:<26} {:>16}", tool.label(), "exited");
                notes.push(format!(
                    "{}: exited during the run; its pane:\n{text}",
                    tool.label()
                ));
            }
        }
    }

    println!();
    let hostscope = outcomes.iter().find_map(|(tool, o)| match o {
        Outcome::Measured {
            cpu_percent,
            peak_rss_kib,
        } if *tool == Tool::Hostscope => Some((*cpu_percent, *peak_rss_kib)),
        _ => None,
    });
    match (hostscope, btop) {
        (Some((cpu, _)), Some(b)) => println!(
            "target: hostscope CPU <= btop's: {} ({cpu:.2}% vs {b:.2}%)",
            met(cpu <= b)
        ),
        _ => println!("target: hostscope CPU <= btop's: not measured"),
    }
    match hostscope.and_then(|(_, rss)| rss) {
        Some(kib) => println!(
            "target: hostscope peak RSS <= {TARGET_RSS_MIB:.0} MiB: {} ({})",
            met(kib as f64 / 1024.0 <= TARGET_RSS_MIB),
            mib(Some(kib))
        ),
        None => println!("target: hostscope peak RSS <= {TARGET_RSS_MIB:.0} MiB: not measured"),
    }
    // What the snapshot alone would cost at a 1 s refresh, taking its wall
    // time as CPU time (the machine is otherwise idle while it is timed).
    let snapshot_percent = snapshot_ms / 1000.0 * 100.0;
    match btop.filter(|&b| b > 0.0) {
        Some(b) => println!(
            "for scale: one snapshot a second alone is {snapshot_percent:.2}% of a core, \
             {:.2}x btop's whole CPU",
            snapshot_percent / b
        ),
        None => {
            println!("for scale: one snapshot a second alone is {snapshot_percent:.2}% of a core")
        }
    }
    for note in notes {
        println!("\n{note}");
    }
}

/// The median time of one snapshot, in ms, and how many processes it read.
/// The warm-up fills the reader's user-name cache and sizes its buffers,
/// as the TUI's first refresh does.
fn time_snapshots() -> Result<(f64, usize)> {
    let mut reader = Reader::new();
    reader.snapshot().context("procfs snapshot")?;
    let mut ms = Vec::with_capacity(SNAPSHOTS);
    let mut count = 0;
    for _ in 0..SNAPSHOTS {
        let start = Instant::now();
        let snapshot = reader.snapshot().context("procfs snapshot")?;
        ms.push(start.elapsed().as_secs_f64() * 1e3);
        count = snapshot.processes.len();
    }
    Ok((median(&mut ms), count))
}

/// The numeric directories in `/proc`: every process in our pid namespace.
fn count_processes() -> Result<usize> {
    Ok(std::fs::read_dir("/proc")
        .context("list /proc")?
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .count())
}

/// `VmHWM` of `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The sleeping processes, killed and reaped when dropped, on error too.
struct Sleepers(Vec<Child>);

impl Sleepers {
    fn spawn(n: usize) -> Result<Sleepers> {
        let mut sleepers = Sleepers(Vec::with_capacity(n));
        for _ in 0..n {
            let child = Command::new("sleep")
                .arg("3600")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .with_context(|| {
                    format!("spawn sleeping process {} of {n}", sleepers.0.len() + 1)
                })?;
            sleepers.0.push(child);
        }
        Ok(sleepers)
    }
}

impl Drop for Sleepers {
    fn drop(&mut self) {
        // All killed first, then all reaped: one at a time would wait for
        // each to die in turn.
        for child in &mut self.0 {
            let _ = child.kill();
        }
        for child in &mut self.0 {
            let _ = child.wait();
        }
    }
}

/// A tmux server on a private socket with an empty config, and a fresh
/// config directory for the tools; both removed when dropped.
struct Tmux {
    dir: PathBuf,
}

impl Tmux {
    fn new() -> Result<Tmux> {
        let dir = workspace_root().join("target/xtask/top");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("xdg"))
            .with_context(|| format!("create {}", dir.display()))?;
        // A pane stays after its command exits, so that a tool that fails
        // at once still shows why.
        std::fs::write(dir.join("tmux.conf"), "set -g remain-on-exit on\n")?;
        write_btop_config(&dir.join("xdg"))?;
        Ok(Tmux { dir })
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-L")
            .arg(SOCKET)
            .arg("-f")
            .arg(self.dir.join("tmux.conf"))
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a tmux command and returns its stdout.
    fn run(&self, args: &[&str]) -> Result<String> {
        let out = self
            .command()
            .args(args)
            .output()
            .with_context(|| format!("run tmux {}", args.join(" ")))?;
        ensure!(
            out.status.success(),
            "tmux {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts `argv` in a detached 200x50 session and returns its pid. With
    /// more than one argument tmux execs the command without a shell, and
    /// `env` execs the tool, so the pane's pid is the tool's.
    fn start(&self, tool: Tool, argv: &[String]) -> Result<u32> {
        let xdg = format!("XDG_CONFIG_HOME={}", self.dir.join("xdg").display());
        let mut args = vec![
            "new-session",
            "-d",
            "-s",
            tool.session(),
            "-x",
            "200",
            "-y",
            "50",
            "env",
            "TERM=xterm-256color",
            &xdg,
        ];
        args.extend(argv.iter().map(String::as_str));
        self.run(&args)?;
        let pid = self.run(&["display", "-p", "-t", &tool.pane(), "#{pane_pid}"])?;
        pid.trim()
            .parse()
            .with_context(|| format!("pane pid of {}: {pid:?}", tool.session()))
    }

    /// What the tool's pane shows, history included (a tool that fails at
    /// once has its message scrolled off when tmux sizes the pane), without
    /// blank lines and cut to the last [`CAPTURE_LINES`].
    fn capture(&self, tool: Tool) -> String {
        self.run(&["capture-pane", "-p", "-S", "-", "-t", &tool.pane()])
            .map(|text| {
                let lines: Vec<&str> = text
                    .lines()
                    .map(str::trim_end)
                    .filter(|l| !l.is_empty())
                    .collect();
                lines[lines.len().saturating_sub(CAPTURE_LINES)..].join("\n")
            })
            .unwrap_or_else(|e| format!("{e:#}"))
    }

    /// Whether the pane's command has exited.
    fn dead(&self, tool: Tool) -> bool {
        self.run(&["display", "-p", "-t", &tool.pane(), "#{pane_dead}"])
            // tmux prints nothing, successfully, for a pane that is gone.
            .map_or(true, |s| s.trim() != "0")
    }

    /// Ok if the tool is still running and has drawn something.
    fn check_drawn(&self, tool: Tool) -> Result<(), Outcome> {
        let text = self.capture(tool);
        if self.dead(tool) || text.is_empty() {
            return Err(Outcome::DidNotStart(if text.is_empty() {
                "(empty)".to_owned()
            } else {
                text
            }));
        }
        Ok(())
    }

    fn did_not_start(&self, tool: Tool, error: &anyhow::Error) -> Outcome {
        Outcome::DidNotStart(format!("{error:#}\n{}", self.capture(tool)))
    }

    /// Sends `q` to every tool and waits a little for them to exit; a tool
    /// that does not quit on `q` is said so, then killed with the server.
    fn quit_all(&self, tools: &[Tool]) {
        for &tool in tools {
            if !self.dead(tool) {
                let _ = self.run(&["send-keys", "-t", &tool.pane(), "q"]);
            }
        }
        let deadline = Instant::now() + QUIT_TIMEOUT;
        while Instant::now() < deadline && !tools.iter().all(|&t| self.dead(t)) {
            std::thread::sleep(Duration::from_millis(100));
        }
        for &tool in tools {
            if !self.dead(tool) {
                println!(
                    "note: {} did not quit on `q` within {} s\n",
                    tool.label(),
                    QUIT_TIMEOUT.as_secs()
                );
            }
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command()
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// btop takes its refresh interval only from `$XDG_CONFIG_HOME/btop/btop.conf`.
/// It reads the keys a config has and defaults the rest, so one line is
/// enough; the header is the one btop 1.2.13 writes, without which it
/// rewrites the file on exit (harmless here, but noisy in a diff).
fn write_btop_config(xdg: &Path) -> Result<()> {
    let dir = xdg.join("btop");
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    std::fs::write(
        dir.join("btop.conf"),
        "#? Config file for btop v. 1.2.13\n\nupdate_ms = 1000\n",
    )
    .with_context(|| format!("write {}", dir.join("btop.conf").display()))
}
