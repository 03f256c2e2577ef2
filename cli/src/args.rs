//! The command line, as clap parses it. Values are validated into plans by the
//! commands themselves (`cmd/*.rs`), which is where bad combinations are told
//! apart with a message that quotes them.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "hostscope",
    version,
    about = "See what every process on this host does: processes, files, sockets, syscalls.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The live terminal UI: processes, what they have open, what fails and
    /// why, syscalls.
    Top(TopArgs),
    /// The call chains of requests across the services on this host (HTTP,
    /// Redis, PostgreSQL), with latency and status per hop and the culprit.
    Chains(ChainsArgs),
    /// Send what hostscope sees (execs, exits, OOM kills, missing and denied
    /// files, losses; failed and slow requests and their chains) to syslog
    /// or the journal, until SIGTERM.
    Export(ExportArgs),
    /// List processes from /proc: CPU, memory, threads, container or unit.
    Ps(PsArgs),
    /// Trace syscalls, like strace, through an eBPF probe.
    Trace(TraceArgs),
    /// Run or watch a program and say which file it looked for and did not
    /// find (or could not open), and which of those made it fail.
    WhyMissing(WhyMissingArgs),
    /// Print a shell completion script or the man pages, for packaging.
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Keys: ? help, / filter, Enter detail, k signal, 1-3 screens, q quit.\nRun as root for the Errors and Syscalls screens (the eBPF probe); the rest works without."
)]
pub struct TopArgs {
    /// Seconds between refreshes of the process list (fractions allowed).
    #[arg(
        short = 'd',
        long = "delay",
        value_name = "SECONDS",
        default_value_t = 1.0
    )]
    pub delay: f64,
    /// Do not load the eBPF probe: processes only, as without root.
    #[arg(long)]
    pub no_probe: bool,
    /// Do not mask secrets in the Chains screen (as `hostscope chains
    /// --show-secrets`).
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Destinations: unix:///dev/log (the default), udp://HOST:PORT, tcp://HOST:PORT, journald.\nExamples:\n  hostscope export\n  hostscope export --to tcp://127.0.0.1:514 --events exec,exit,oom\n  hostscope export --events missing,denied,lost,request,chain --slow 500ms"
)]
pub struct ExportArgs {
    /// Where to send records. Repeatable.
    #[arg(long = "to", value_name = "URL", default_value = "unix:///dev/log")]
    pub to: Vec<String>,
    /// Which events, comma-separated: exec, exit, oom, missing, denied,
    /// lost; and, not by default, request (failed or slow requests) and
    /// chain (the chains of services behind them, with the culprit). These
    /// two copy the start of every socket read and write on the host, which
    /// costs CPU on each one (nginx served 0.75x the requests under the
    /// same capture in `cargo xtask bench chains`).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "exec,exit,oom,missing,denied,lost"
    )]
    pub events: Vec<String>,
    /// Record format; by default RFC 3164 for unix sockets, RFC 5424 for UDP
    /// and TCP, the native protocol for journald.
    #[arg(long, value_name = "rfc3164|rfc5424")]
    pub format: Option<String>,
    /// Repeats of the same event within this window are one record with a
    /// count.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub window: std::time::Duration,
    /// With request or chain: a request or chain at least this long is
    /// exported as slow.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = humantime::parse_duration)]
    pub slow: std::time::Duration,
    /// Records held for each destination while it is slow or down; past it
    /// they are dropped, counted and reported.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub queue: usize,
    /// Size of the probe's ring buffer in KiB (a power of two, at least 4).
    /// Events that do not fit are lost, counted and exported as `lost`.
    #[arg(long, value_name = "KIB", default_value_t = 4096)]
    pub ring_kib: u32,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show processes as a tree under their parents.
    #[arg(long)]
    pub tree: bool,
    /// Sort by this column (pid, ppid, user, state, cpu, rss, threads, start,
    /// container, command); prefix with '-' for descending.
    #[arg(long, default_value = "pid", allow_hyphen_values = true)]
    pub sort: String,
    /// Print JSON Lines, one object per process.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  hostscope trace -- ls /nonexistent\n  hostscope trace -Z -e trace=%file -p 1234\n  hostscope trace --all -c"
)]
pub struct TraceArgs {
    /// Attach to this running process (all its threads). Repeatable.
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pids: Vec<i32>,
    /// With -p, also trace the children the processes start from now on.
    #[arg(short = 'f', long = "follow-forks")]
    pub follow: bool,
    /// Trace every process on the host (but hostscope itself).
    #[arg(long, conflicts_with = "pids")]
    pub all: bool,
    /// Which syscalls to show, strace-style: trace=%file,%process,%network,%desc
    /// or names (trace=openat,close), '!' in front to negate.
    #[arg(short = 'e', value_name = "EXPR")]
    pub expr: Vec<String>,
    /// Show only syscalls that failed.
    #[arg(short = 'Z', long = "failed-only")]
    pub failed_only: bool,
    /// Print a summary table (calls, errors, time per syscall) at exit instead
    /// of each call.
    #[arg(short = 'c', long = "summary")]
    pub summary: bool,
    /// Print JSON Lines instead of strace-style text.
    #[arg(long)]
    pub json: bool,
    /// Write the trace to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// How many bytes of read/write data to show, as strace's -s.
    #[arg(
        short = 's',
        long = "string-limit",
        value_name = "BYTES",
        default_value_t = 32
    )]
    pub string_limit: u32,
    /// Size of the kernel's event ring buffer in KiB (a power of two, at
    /// least 4).
    #[arg(long, value_name = "KIB", default_value_t = 4096)]
    pub ring_kib: u32,
    /// The command to run and trace, with its arguments (after `--`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  hostscope why-missing -- ./app --config app.toml\n  hostscope why-missing -p 1234\n  hostscope why-missing --all --duration 30s --json"
)]
pub struct WhyMissingArgs {
    /// Watch this running process (all its threads, and the children it
    /// starts from now on) until it exits or Ctrl-C. Repeatable.
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pids: Vec<i32>,
    /// Watch every process on the host (but hostscope itself); the report is
    /// grouped by process.
    #[arg(long, conflicts_with = "pids")]
    pub all: bool,
    /// Stop watching after this long (30s, 5m, 1h); Ctrl-C stops earlier.
    #[arg(long, value_name = "TIME", value_parser = humantime::parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Print JSON Lines (records "missing", "denied", "search", "verdict").
    #[arg(long)]
    pub json: bool,
    /// Also list the searches that were collapsed (found after k tries).
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Write the report to FILE instead of standard error.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Size of the kernel's event ring buffer in KiB (a power of two, at
    /// least 4).
    #[arg(long, value_name = "KIB", default_value_t = 4096)]
    pub ring_kib: u32,
    /// The command to run and watch, with its arguments (after `--`). Its
    /// standard input, output and error are its own.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  hostscope chains --all --duration 30s --errors\n  hostscope chains -p 812 --slow 100ms\n  hostscope chains -- ./integration-test.sh\nLinks: └─ exact (the same connection from both ends, or a propagated traceparent/X-Request-ID), └┄ inferred (the same thread, in time)."
)]
pub struct ChainsArgs {
    /// Watch this running process and the children it starts. Repeatable.
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pids: Vec<i32>,
    /// Watch every process on the host (but hostscope itself).
    #[arg(long, conflicts_with = "pids")]
    pub all: bool,
    /// Stop watching after this long (30s, 5m); Ctrl-C stops earlier.
    #[arg(long, value_name = "TIME", value_parser = humantime::parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Only chains at least this slow (end to end).
    #[arg(long, value_name = "TIME", value_parser = humantime::parse_duration)]
    pub slow: Option<std::time::Duration>,
    /// Only chains with a failing hop.
    #[arg(long)]
    pub errors: bool,
    /// Print the service map instead of the chains: one line per caller
    /// and callee, with requests, rate, error % and p50/p99 latency (of the
    /// chains --slow and --errors keep).
    #[arg(long)]
    pub map: bool,
    /// Print JSON Lines instead of text: a request per hop and a chain per
    /// chain (with --map, an edge per edge), then a summary.
    #[arg(long)]
    pub json: bool,
    /// Bytes of each socket read or write to copy (at most 4096).
    #[arg(long, value_name = "BYTES", default_value_t = crate::cmd::chains::DEFAULT_PAYLOAD)]
    pub payload: u32,
    /// Do not mask secrets: secret-looking query and path parameters and
    /// URL user info, Redis AUTH arguments, SQL literals and the values
    /// PostgreSQL's data errors quote are shown as they were sent.
    /// (Authorization and cookie headers are never kept either way.)
    #[arg(long)]
    pub show_secrets: bool,
    /// Size of the kernel's event ring buffer in KiB (a power of two, at
    /// least 4).
    #[arg(long, value_name = "KIB", default_value_t = 8192)]
    pub ring_kib: u32,
    /// The command to run and watch, with its arguments (after `--`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  hostscope generate completions bash > /usr/share/bash-completion/completions/hostscope\n  hostscope generate man | man -l -\n  hostscope generate man --dir /usr/share/man/man1"
)]
pub struct GenerateArgs {
    #[command(subcommand)]
    pub what: Generate,
}

#[derive(Debug, Subcommand)]
pub enum Generate {
    /// Print the completion script for SHELL to standard output.
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page hostscope(1) to standard output, or with --dir
    /// write it and one page per command (hostscope-top.1, ...) there.
    Man {
        /// Write the pages into this directory, which must exist, and print
        /// their paths.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}
