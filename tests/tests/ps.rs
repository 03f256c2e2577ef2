//! `hostscope ps` end to end: the real binary reading the real `/proc`, with
//! a child of this test as the process to find. The child's name and argv
//! hold a terminal escape and a newline, as a hostile process's would.
//!
//! The binary is the one `cargo test --workspace` (or `cargo build
//! --workspace --bins`, as scripts/test does first) leaves in target/.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use hostscope_tests::{TempDir, hostscope, hostscope_path, json_lines};
use serde::Deserialize;
use serde_json::Value;

/// The script's file name, which the kernel makes its comm: an escape
/// sequence that would turn a terminal red, and a newline that would forge a
/// line of output. 12 bytes, under comm's 15.
const HOSTILE: &str = "hs\u{1b}[31mevil\n";
/// How `escape` shows [`HOSTILE`].
const HOSTILE_ESCAPED: &str = "hs\\33[31mevil\\n";

/// A shell started through a symlink with a hostile name (the kernel names
/// a process after the path it was exec'd by), blocked on reading a pipe
/// this test holds; killed and reaped when dropped.
///
/// A symlink to /bin/sh rather than a script of our own: exec'ing a file
/// this process just wrote races with other test threads' forks, which hold
/// it open for writing until they exec (ETXTBSY).
struct Hostile {
    child: Child,
    path: PathBuf,
    _dir: TempDir,
}

impl Hostile {
    fn start() -> Self {
        let dir = TempDir::new("hs-ps");
        let path = dir.path().join(HOSTILE);
        std::os::unix::fs::symlink("/bin/sh", &path).expect("symlink /bin/sh");
        let child = Command::new(&path)
            .args(["-c", "read line"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {path:?}: {e}"));
        Hostile {
            child,
            path,
            _dir: dir,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How the text table shows its command line.
    fn command_escaped(&self) -> String {
        let dir = self.path.parent().expect("in a dir").display();
        format!("{dir}/{HOSTILE_ESCAPED} -c read line")
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ps(args: &[&str]) -> Output {
    let out = hostscope()
        .arg("ps")
        .args(args)
        .output()
        .expect("run hostscope ps");
    assert_ok(&out, args);
    out
}

/// Success, and nothing on stderr but the count of processes that exited
/// while /proc was read (which a busy host may well have).
fn assert_ok(out: &Output, args: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "hostscope ps {args:?} failed: {err}");
    assert!(
        err.lines()
            .all(|l| l.contains("exited while /proc was read")),
        "unexpected stderr from hostscope ps {args:?}: {err}"
    );
}

fn text(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("text output is UTF-8 (escaped)")
}

fn assert_header(text: &str) {
    let header = text.lines().next().expect("a header");
    let columns: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        columns,
        [
            "PID",
            "PPID",
            "USER",
            "STATE",
            "%CPU",
            "RSS",
            "THREADS",
            "START",
            "CONTAINER/UNIT",
            "COMMAND"
        ]
    );
}

/// The line of the table for `pid` (its first column).
fn line_of(text: &str, pid: u32) -> &str {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(&pid.to_string()))
        .unwrap_or_else(|| panic!("no line for pid {pid} in:\n{text}"))
}

#[test]
fn hostile_names_are_escaped_in_the_table() {
    let hostile = Hostile::start();
    let out = ps(&[]);
    assert!(!out.stdout.contains(&0x1b), "a raw ESC reached the output");
    let text = text(&out);
    assert_header(&text);
    let line = line_of(&text, hostile.pid());
    assert!(
        line.ends_with(&hostile.command_escaped()),
        "{line}\nexpected it to end with {}",
        hostile.command_escaped()
    );
    // The newline in the name did not start a line of its own: every line
    // is a row that begins with a pid.
    assert_eq!(
        text.matches(&hostile.command_escaped()).count(),
        1,
        "{text}"
    );
    for row in text.lines().skip(1) {
        let first = row.split_whitespace().next().unwrap_or_default();
        assert!(first.parse::<u32>().is_ok(), "forged line {row:?}");
    }
}

/// The fields of a process record, pinned: a new or renamed field fails here
/// first.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "deserialized to pin the schema, read through the Value"
)]
struct ProcessRecord {
    r#type: String,
    pid: u32,
    ppid: Option<u32>,
    user: Option<String>,
    uid: Option<u32>,
    state: Option<String>,
    cpu_percent: Option<f64>,
    rss_bytes: Option<u64>,
    threads: Option<u32>,
    start_time: Option<u64>,
    container: Option<String>,
    kernel_thread: bool,
    comm: Option<Value>,
    cmdline: Option<Vec<Value>>,
}

const FIELDS: [&str; 14] = [
    "type",
    "pid",
    "ppid",
    "user",
    "uid",
    "state",
    "cpu_percent",
    "rss_bytes",
    "threads",
    "start_time",
    "container",
    "kernel_thread",
    "comm",
    "cmdline",
];

fn records(out: &Output) -> Vec<Value> {
    let records = json_lines(&out.stdout);
    assert!(!records.is_empty(), "no records");
    for record in &records {
        serde_json::from_value::<ProcessRecord>(record.clone())
            .unwrap_or_else(|e| panic!("{record} does not match the schema: {e}"));
        // Absent and null are different promises: every field is always there.
        let keys: BTreeSet<&str> = record
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, BTreeSet::from(FIELDS), "{record}");
        assert_eq!(record["type"], "process", "{record}");
    }
    records
}

fn record_of(records: &[Value], pid: u32) -> &Value {
    records
        .iter()
        .find(|r| r["pid"] == pid)
        .unwrap_or_else(|| panic!("no record for pid {pid}"))
}

#[test]
fn json_lines_carry_the_exact_bytes() {
    let hostile = Hostile::start();
    let out = ps(&["--json"]);
    let records = records(&out);
    let record = record_of(&records, hostile.pid());
    assert_eq!(record["comm"], HOSTILE, "{record}");
    let path = hostile.path.to_str().expect("a UTF-8 temp path");
    assert_eq!(
        record["cmdline"],
        serde_json::json!([path, "-c", "read line"]),
        "{record}"
    );
    assert_eq!(record["ppid"], std::process::id(), "{record}");
    assert_eq!(record["kernel_thread"], false, "{record}");
    assert_eq!(record["threads"], 1, "{record}");
    // SAFETY: geteuid has no preconditions.
    assert_eq!(record["uid"], unsafe { libc::geteuid() }, "{record}");
    assert!(record["user"].is_string(), "{record}");
    assert!(
        record["rss_bytes"].as_u64().is_some_and(|b| b > 0),
        "{record}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let start = record["start_time"].as_u64().expect("a start time");
    assert!(start.abs_diff(now) < 120, "started {start}, now {now}");

    for kthread in records.iter().filter(|r| r["kernel_thread"] == true) {
        assert_eq!(kthread["cmdline"], serde_json::json!([]), "{kthread}");
    }
}

/// The tree prefix of a line: what stands in the COMMAND column before the
/// command itself, counted in characters.
fn tree_depth(line: &str, command_at: usize) -> usize {
    line.chars()
        .skip(command_at)
        .take_while(|c| "│├└─|`- ".contains(*c))
        .count()
}

fn assert_child_under_parent(text: &str, parent: u32, child: u32, glyphs: [&str; 2]) {
    let header = text.lines().next().expect("a header");
    let command_at = header[..header.find("COMMAND").expect("a COMMAND column")]
        .chars()
        .count();
    let lines: Vec<&str> = text.lines().collect();
    let position = |pid: u32| {
        lines
            .iter()
            .position(|l| l.split_whitespace().next() == Some(&pid.to_string()))
            .unwrap_or_else(|| panic!("no line for pid {pid} in:\n{text}"))
    };
    let (p, c) = (position(parent), position(child));
    assert!(
        p < c,
        "child {child} shown before its parent {parent}:\n{text}"
    );
    let depth = tree_depth(lines[p], command_at);
    for line in &lines[p + 1..c] {
        assert!(
            tree_depth(line, command_at) > depth,
            "{line:?} between parent and child is not a descendant:\n{text}"
        );
    }
    assert_eq!(tree_depth(lines[c], command_at), depth + 3, "{}", lines[c]);
    let child_command: String = lines[c].chars().skip(command_at + depth).collect();
    assert!(
        glyphs.iter().any(|g| child_command.starts_with(g)),
        "{child_command:?} starts with none of {glyphs:?}"
    );
}

#[test]
fn tree_shows_the_child_under_its_parent() {
    let hostile = Hostile::start();
    let me = std::process::id();

    let out = hostscope()
        .env("LC_ALL", "C.UTF-8")
        .args(["ps", "--tree"])
        .output()
        .expect("run hostscope ps --tree");
    assert_ok(&out, &["--tree"]);
    assert_child_under_parent(&text(&out), me, hostile.pid(), ["├─ ", "└─ "]);

    let out = hostscope()
        .env("LC_ALL", "C")
        .args(["ps", "--tree"])
        .output()
        .expect("run hostscope ps --tree");
    assert_ok(&out, &["--tree"]);
    let ascii = text(&out);
    assert!(ascii.is_ascii(), "LC_ALL=C gives ASCII glyphs");
    assert_child_under_parent(&ascii, me, hostile.pid(), ["|- ", "`- "]);
}

#[test]
fn sorts_descending_with_a_minus() {
    let out = ps(&["--json", "--sort", "-rss"]);
    let rss: Vec<Option<u64>> = records(&out)
        .iter()
        .map(|r| r["rss_bytes"].as_u64())
        .collect();
    // Unknown (null) sorts lowest, so last when descending.
    assert!(
        rss.windows(2).all(|w| w[0] >= w[1]),
        "not descending: {rss:?}"
    );

    assert_header(&text(&ps(&["--sort", "-rss"])));

    let out = ps(&["--json", "--sort", "start"]);
    let starts: Vec<Option<u64>> = records(&out)
        .iter()
        .map(|r| r["start_time"].as_u64())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] <= w[1]),
        "not ascending: {starts:?}"
    );
}

#[test]
fn unknown_sort_column_is_a_usage_error() {
    let out = hostscope()
        .args(["ps", "--sort", "bogus"])
        .output()
        .expect("run hostscope ps");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"bogus\""), "quotes the bad value: {err}");
    assert!(
        err.contains("pid, ppid, user, state, cpu, rss, threads, start, container, command"),
        "lists the valid columns: {err}"
    );
}

/// As root, drops to nobody with setpriv; as anyone else, already is
/// unprivileged.
fn unprivileged(args: &[&str]) -> Output {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mut command = if root {
        let mut setpriv = Command::new("setpriv");
        setpriv
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(hostscope_path());
        setpriv
    } else {
        hostscope()
    };
    let out = command
        .arg("ps")
        .args(args)
        .output()
        .expect("run setpriv (util-linux)");
    assert_ok(&out, args);
    out
}

#[test]
fn works_without_root() {
    let hostile = Hostile::start();
    let text = text(&unprivileged(&[]));
    let line = line_of(&text, hostile.pid());
    assert!(line.ends_with(&hostile.command_escaped()), "{line}");

    let out = unprivileged(&["--json", "--tree"]);
    let records = records(&out);
    assert_eq!(record_of(&records, hostile.pid())["comm"], HOSTILE);
    assert_eq!(record_of(&records, 1)["ppid"], 0);
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = hostscope()
        .args(["ps", "--tree"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run hostscope ps");
    assert_ok(&out, &["--tree"]);
}

#[test]
fn lines_are_cut_only_on_a_terminal() {
    let piped = hostscope()
        .env("COLUMNS", "50")
        .arg("ps")
        .output()
        .expect("run hostscope ps");
    assert_ok(&piped, &[]);
    assert!(
        text(&piped).lines().any(|l| l.chars().count() > 50),
        "a pipe gets whole lines"
    );

    // script(1) gives hostscope a terminal to write to.
    let command = format!(
        "{} ps",
        shell_quote(hostscope_path().as_os_str().as_bytes())
    );
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("COLUMNS", "50")
        .stdin(Stdio::null())
        .output()
        .expect("run script (util-linux)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.contains("exited while /proc was read"))
        .collect();
    assert!(lines.len() > 1, "{text}");
    assert!(
        lines.iter().all(|l| l.chars().count() <= 50),
        "a terminal gets lines cut to COLUMNS:\n{text}"
    );
}

fn shell_quote(bytes: &[u8]) -> String {
    format!(
        "'{}'",
        String::from_utf8_lossy(bytes).replace('\'', "'\\''")
    )
}
