//! Benchmarks of hostscope against the tools people use instead.

pub mod chains;
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

/// Builds `ebpf/examples/drain`: the probe with a reader that drains events
/// without decoding them, to tell the kernel side's cost from the rest.
pub fn build_drain_example() -> Result<PathBuf> {
    let root = workspace_root();
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "-p",
            "hostscope-ebpf",
            "--example",
            "drain",
        ])
        .current_dir(&root)
        .status()
        .context("run cargo build")?;
    ensure!(
        status.success(),
        "cargo build --release --example drain failed"
    );
    Ok(root.join("target/release/examples/drain"))
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

/// A peak RSS for a table: `12.3 MiB`, or `-`.
pub fn mib(kib: Option<u64>) -> String {
    kib.map_or("-".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

/// The median of `values` (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
