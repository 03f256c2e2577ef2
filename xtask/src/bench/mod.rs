//! Benchmarks of hostscope against the tools people use instead.

pub mod chains;
mod cost;
pub mod decode;
pub mod export;
pub mod top;
pub mod trace;
mod tracer;
pub mod why_missing;
mod workload;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

/// Options shared by the benchmarks.
#[derive(Debug, Clone)]
pub struct Options {
    /// Runs per setup; the median is reported.
    pub runs: usize,
    /// Syscalls per workload run.
    pub iterations: u64,
}

impl Options {
    pub fn parse(args: &[&str]) -> Result<Options> {
        let mut options = Options {
            runs: 3,
            iterations: 1_000_000,
        };
        let mut it = args.iter();
        while let Some(&flag) = it.next() {
            let value = it.next().with_context(|| format!("{flag} needs a value"))?;
            match flag {
                "--runs" => options.runs = value.parse().context("--runs")?,
                "--iterations" => options.iterations = value.parse().context("--iterations")?,
                other => bail!("unknown option {other}"),
            }
        }
        ensure!(options.runs >= 1, "--runs must be at least 1");
        Ok(options)
    }
}

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// Builds the release binary and returns its path.
pub fn build_hostscope() -> Result<PathBuf> {
    let root = workspace_root();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", "hostscope"])
        .current_dir(&root)
        .status()
        .context("run cargo build")?;
    ensure!(status.success(), "cargo build --release failed");
    Ok(root.join("target/release/hostscope"))
}

/// Builds one of `ebpf/examples`: `drain` (the probe with a reader that
/// drains events without decoding them, to tell the kernel side's cost from
/// the rest) or `floor` (programs that do nothing, on the same tracepoints:
/// what any syscall tracer costs before it does any work).
pub fn build_ebpf_example(name: &str) -> Result<PathBuf> {
    let root = workspace_root();
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "-p",
            "hostscope-ebpf",
            "--example",
            name,
        ])
        .current_dir(&root)
        .status()
        .context("run cargo build")?;
    ensure!(
        status.success(),
        "cargo build --release --example {name} failed"
    );
    Ok(root.join("target/release/examples").join(name))
}

/// Compiles a C workload into the target directory.
pub fn compile_c(name: &str, source: &str) -> Result<PathBuf> {
    let dir = workspace_root().join("target/xtask");
    std::fs::create_dir_all(&dir)?;
    let src = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    std::fs::write(&src, source)?;
    let status = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .context("run cc")?;
    ensure!(status.success(), "cc failed on {}", src.display());
    Ok(exe)
}

/// The median loop time of `runs`, and the run closest to it (whose other
/// figures, losses and RSS, are the ones reported).
pub fn median_run<T>(runs: &[T], loop_ns: impl Fn(&T) -> f64) -> (f64, &T) {
    let ns = median(&mut runs.iter().map(&loop_ns).collect::<Vec<_>>());
    let mid = runs
        .iter()
        .min_by(|a, b| (loop_ns(a) - ns).abs().total_cmp(&(loop_ns(b) - ns).abs()))
        .expect("at least one run");
    (ns, mid)
}

/// The values `of` each run of `wanted`, in round order.
pub fn per_round<S: PartialEq, R>(
    results: &[(S, Vec<R>)],
    wanted: S,
    of: impl Fn(&R) -> f64,
) -> Vec<f64> {
    results
        .iter()
        .find(|(s, _)| *s == wanted)
        .map(|(_, runs)| runs.iter().map(of).collect())
        .expect("every setup is measured")
}

/// Each run's ratio to the anchor run of the same round, as a median and
/// quartiles. This machine's speed drifts by tens of percent within seconds;
/// a ratio of two medians taken minutes apart carries that drift, a ratio
/// within a round mostly cancels it, and the quartiles show what is left.
#[derive(Debug, Clone, Copy)]
pub struct PairedRatio {
    pub median: f64,
    pub low: f64,
    pub high: f64,
}

impl PairedRatio {
    pub fn of(values: &[f64], anchors: &[f64]) -> PairedRatio {
        let mut ratios: Vec<f64> = values.iter().zip(anchors).map(|(v, a)| v / a).collect();
        let median = median(&mut ratios);
        let n = ratios.len();
        PairedRatio {
            median,
            low: ratios[n / 4],
            high: ratios[(3 * n / 4).min(n - 1)],
        }
    }
}

impl std::fmt::Display for PairedRatio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = format!("{:.2}x ({:.2}-{:.2})", self.median, self.low, self.high);
        f.pad(&text)
    }
}

/// A peak RSS for a table: `12.3 MiB`, or `-`.
pub fn mib(kib: Option<u64>) -> String {
    kib.map_or("-".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

/// The median of `values` (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// utime + stime of `pid`, all its threads, in clock ticks (fields 14 and
/// 15 of `/proc/PID/stat`).
pub fn cpu_ticks(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
    // comm may hold spaces and parentheses; after its last `)` comes field 3.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .with_context(|| format!("no `)` in {path}"))?
        .1
        .split_whitespace()
        .collect();
    let field = |n: usize| -> Result<u64> {
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .with_context(|| format!("field {n} of {path}: {stat:?}"))
    };
    Ok(field(14)? + field(15)?)
}

/// Clock ticks per second (`USER_HZ`), the unit of [`cpu_ticks`].
pub fn ticks_per_second() -> Result<f64> {
    // SAFETY: sysconf reads a constant and has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    ensure!(hz > 0, "sysconf(_SC_CLK_TCK) failed");
    Ok(hz as f64)
}

/// The file's text, or nothing when it cannot be read.
pub fn read_or_empty(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// A target's verdict, for the tables.
pub fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "missed" }
}

/// SIGTERM, then SIGKILL if it has not exited within `timeout`; reaped
/// either way. Whether SIGTERM was enough.
pub fn terminate(child: &mut std::process::Child, timeout: std::time::Duration) -> bool {
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(_)) => return true,
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(50)),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}
