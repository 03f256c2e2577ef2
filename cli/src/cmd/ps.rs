//! `hostscope ps`: one snapshot of `/proc`, shown as an aligned table, as a
//! tree of processes under their parents, or as JSON Lines.
//!
//! Source (`hostscope_core::procfs`) → plan (sort, tree) → sink (text or
//! JSON). Everything a process wrote about itself (comm, argv) is escaped on
//! its way to the terminal; JSON carries the exact bytes.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use hostscope_core::escape::{escape, json_bytes, push_escaped};
use hostscope_core::procfs::{self, ProcessInfo, Snapshot};
use serde::Serialize;

use crate::args::PsArgs;
use crate::cmd::UsageError;

pub fn run(args: &PsArgs) -> anyhow::Result<ExitCode> {
    let sort = Sort::parse(&args.sort)?;
    let snapshot = procfs::snapshot()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let rows: Vec<Row> = snapshot
        .processes
        .iter()
        .map(|p| Row::new(&snapshot, p, now))
        .collect();
    let order = if args.tree {
        tree_order(&rows, sort, glyphs())
    } else {
        sorted_order(&rows, sort)
    };

    let mut out = BufWriter::new(io::stdout().lock());
    if args.json {
        write_json(&mut out, &rows, &order)?;
    } else {
        write_table(&mut out, &rows, &order, terminal_width())?;
    }
    out.flush()?;
    match snapshot.skipped {
        0 => {}
        1 => eprintln!("hostscope: 1 process exited while /proc was read and is not shown"),
        n => eprintln!("hostscope: {n} processes exited while /proc was read and are not shown"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The columns `--sort` accepts, by name, in display order.
const COLUMNS: [(&str, Column); 10] = [
    ("pid", Column::Pid),
    ("ppid", Column::Ppid),
    ("user", Column::User),
    ("state", Column::State),
    ("cpu", Column::Cpu),
    ("rss", Column::Rss),
    ("threads", Column::Threads),
    ("start", Column::Start),
    ("container", Column::Container),
    ("command", Column::Command),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Pid,
    Ppid,
    User,
    State,
    Cpu,
    Rss,
    Threads,
    Start,
    Container,
    Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sort {
    column: Column,
    descending: bool,
}

impl Sort {
    /// `rss`, `-rss` (descending) or `+rss`.
    fn parse(spec: &str) -> Result<Sort, UsageError> {
        let (name, descending) = match spec.strip_prefix('-') {
            Some(name) => (name, true),
            None => (spec.strip_prefix('+').unwrap_or(spec), false),
        };
        let column = COLUMNS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, c)| c)
            .ok_or_else(|| {
                let valid: Vec<&str> = COLUMNS.iter().map(|(n, _)| *n).collect();
                UsageError(format!(
                    "unknown sort column {spec:?}: valid columns are {} (prefix '-' for descending)",
                    valid.join(", ")
                ))
            })?;
        Ok(Sort { column, descending })
    }

    /// Unknown values sort below every known one; equal rows keep pid order
    /// whichever the direction, so output is stable.
    fn compare(self, a: &Row, b: &Row) -> Ordering {
        let (p, q) = (a.process, b.process);
        let primary = match self.column {
            Column::Pid => p.pid.cmp(&q.pid),
            Column::Ppid => p.ppid.cmp(&q.ppid),
            Column::User => a.user.cmp(&b.user),
            Column::State => p.state.cmp(&q.state),
            Column::Cpu => match (a.cpu, b.cpu) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (x, y) => x.is_some().cmp(&y.is_some()),
            },
            Column::Rss => p.rss_bytes.cmp(&q.rss_bytes),
            Column::Threads => p.threads.cmp(&q.threads),
            Column::Start => p.start_ticks.cmp(&q.start_ticks),
            Column::Container => a.container.cmp(&b.container),
            Column::Command => a.command.cmp(&b.command),
        };
        let primary = if self.descending {
            primary.reverse()
        } else {
            primary
        };
        primary.then(p.pid.cmp(&q.pid))
    }
}

/// One process, with the text of its cells worked out once (for sorting
/// and for measuring column widths).
struct Row<'a> {
    process: &'a ProcessInfo,
    /// %CPU over the process's life.
    cpu: Option<f64>,
    user: String,
    start: String,
    container: String,
    command: String,
}

impl<'a> Row<'a> {
    fn new(snapshot: &Snapshot, process: &'a ProcessInfo, now: u64) -> Self {
        let user = match (&process.user, process.uid) {
            (Some(name), _) => escape(name.as_bytes()),
            (None, Some(uid)) => uid.to_string(),
            (None, None) => "-".to_owned(),
        };
        Row {
            process,
            cpu: snapshot.lifetime_cpu_percent(process),
            user,
            start: process
                .start_time
                .and_then(|start| start_text(start, now))
                .unwrap_or_else(|| "-".to_owned()),
            container: process
                .origin
                .as_ref()
                .map_or_else(|| "-".to_owned(), ToString::to_string),
            command: command_text(process),
        }
    }

    /// The cells before COMMAND, as [`HEADERS`] names them.
    fn cells(&self) -> [String; 9] {
        let p = self.process;
        [
            p.pid.to_string(),
            or_dash(p.ppid),
            self.user.clone(),
            or_dash(p.state),
            self.cpu
                .map_or_else(|| "-".to_owned(), |c| format!("{c:.1}")),
            p.rss_bytes.map_or_else(|| "-".to_owned(), human_bytes),
            or_dash(p.threads),
            self.start.clone(),
            self.container.clone(),
        ]
    }
}

fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// The command line, escaped, arguments joined by spaces as `ps` does. With
/// no arguments to show (kernel threads, zombies) it is `[comm]`, as in `ps`.
fn command_text(process: &ProcessInfo) -> String {
    if let Some(args) = process.cmdline.as_ref().filter(|a| !a.is_empty()) {
        let mut text = String::new();
        for (i, arg) in args.iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            push_escaped(&mut text, arg);
        }
        return text;
    }
    match &process.comm {
        Some(comm) if process.is_zombie() => format!("[{}] <defunct>", escape(comm)),
        Some(comm) => format!("[{}]", escape(comm)),
        None => "-".to_owned(),
    }
}

/// Bytes in binary units, with one decimal below 10: `0`, `512B`, `4.0K`,
/// `12M`, `1.5G`.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    if bytes == 0 {
        return "0".to_owned();
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else if value < 9.95 {
        format!("{value:.1}{}", UNITS[unit])
    } else {
        format!("{value:.0}{}", UNITS[unit])
    }
}

/// A start time as `ps` shows it, in local time: `HH:MM` within the last
/// day, `MonDD` within the year, else the year.
fn start_text(start: u64, now: u64) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let then = local_time(start)?;
    if now.saturating_sub(start) < 24 * 60 * 60 {
        return Some(format!("{:02}:{:02}", then.tm_hour, then.tm_min));
    }
    let year = local_time(now)?.tm_year;
    if then.tm_year == year {
        let month = MONTHS.get(usize::try_from(then.tm_mon).ok()?)?;
        Some(format!("{month}{:02}", then.tm_mday))
    } else {
        Some((i64::from(then.tm_year) + 1900).to_string())
    }
}

fn local_time(unix: u64) -> Option<libc::tm> {
    let time = libc::time_t::try_from(unix).ok()?;
    // SAFETY: all-zero is a valid `tm` (integers and a null zone pointer).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is the
    // thread-safe variant and keeps no reference to either.
    let converted = unsafe { libc::localtime_r(&time, &mut tm) };
    (!converted.is_null()).then_some(tm)
}

/// Row indices in display order, each with the tree prefix of its command.
type Order = Vec<(usize, String)>;

fn sorted_order(rows: &[Row], sort: Sort) -> Order {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| sort.compare(&rows[a], &rows[b]));
    order.into_iter().map(|i| (i, String::new())).collect()
}

/// The strings a tree is drawn with.
struct Glyphs {
    branch: &'static str,
    last: &'static str,
    pipe: &'static str,
    blank: &'static str,
}

const UNICODE: Glyphs = Glyphs {
    branch: "├─ ",
    last: "└─ ",
    pipe: "│  ",
    blank: "   ",
};

const ASCII: Glyphs = Glyphs {
    branch: "|- ",
    last: "`- ",
    pipe: "|  ",
    blank: "   ",
};

/// Box-drawing characters only where the locale says the terminal takes
/// UTF-8, as `pstree` decides.
fn glyphs() -> &'static Glyphs {
    // The first of these that is set decides, as in setlocale(3).
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_default()
        .to_ascii_lowercase();
    if locale.contains("utf-8") || locale.contains("utf8") {
        &UNICODE
    } else {
        &ASCII
    }
}

/// Depth-first, children under their parent, siblings in `sort` order.
/// Roots are processes whose parent is not in the snapshot (pid 0, another
/// pid namespace, or exited meanwhile).
fn tree_order(rows: &[Row], sort: Sort, glyphs: &Glyphs) -> Order {
    let index: HashMap<u32, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.process.pid, i))
        .collect();
    let mut children = vec![Vec::new(); rows.len()];
    let mut roots = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        match row.process.ppid.and_then(|ppid| index.get(&ppid)) {
            Some(&parent) if parent != i => children[parent].push(i),
            _ => roots.push(i),
        }
    }
    let by_sort = |a: &usize, b: &usize| sort.compare(&rows[*a], &rows[*b]);
    roots.sort_by(by_sort);
    for siblings in &mut children {
        siblings.sort_by(by_sort);
    }

    let mut order = Vec::with_capacity(rows.len());
    let mut visited = vec![false; rows.len()];
    for &root in &roots {
        walk(root, &children, glyphs, &mut visited, &mut order);
    }
    // A parent loop is reachable from no root; it can only come from pids
    // reused while /proc was read, but its processes are still shown.
    for i in 0..rows.len() {
        if !visited[i] {
            walk(i, &children, glyphs, &mut visited, &mut order);
        }
    }
    order
}

/// Appends `root`'s subtree to `order`. Iterative, as a process chain can be
/// deeper than the stack allows recursion.
fn walk(
    root: usize,
    children: &[Vec<usize>],
    glyphs: &Glyphs,
    visited: &mut [bool],
    order: &mut Order,
) {
    // (row, depth, last among its siblings)
    let mut stack = vec![(root, 0, true)];
    // For each depth on the current path: whether that ancestor has siblings
    // still to come, which draws a line down past its subtree.
    let mut open: Vec<bool> = Vec::new();
    while let Some((i, depth, last)) = stack.pop() {
        if std::mem::replace(&mut visited[i], true) {
            continue;
        }
        open.truncate(depth);
        let mut prefix = String::new();
        if depth > 0 {
            for &more in &open[1..] {
                prefix.push_str(if more { glyphs.pipe } else { glyphs.blank });
            }
            prefix.push_str(if last { glyphs.last } else { glyphs.branch });
        }
        open.push(!last);
        order.push((i, prefix));
        let kids = &children[i];
        for (k, &kid) in kids.iter().enumerate().rev() {
            stack.push((kid, depth + 1, k + 1 == kids.len()));
        }
    }
}

const HEADERS: [&str; 9] = [
    "PID",
    "PPID",
    "USER",
    "STATE",
    "%CPU",
    "RSS",
    "THREADS",
    "START",
    "CONTAINER/UNIT",
];
/// Numbers align right, text left.
const RIGHT_ALIGNED: [bool; 9] = [true, true, false, false, true, true, true, false, false];

/// The table, COMMAND last and unpadded; each line cut to `width`
/// characters when given (stdout is a terminal).
fn write_table(
    out: &mut impl Write,
    rows: &[Row],
    order: &Order,
    width: Option<usize>,
) -> io::Result<()> {
    let cells: Vec<[String; 9]> = order.iter().map(|&(i, _)| rows[i].cells()).collect();
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = String::new();
    push_line(&mut line, &HEADERS, &widths, &["COMMAND"], width);
    out.write_all(line.as_bytes())?;
    for ((i, prefix), row) in order.iter().zip(&cells) {
        line.clear();
        push_line(&mut line, row, &widths, &[prefix, &rows[*i].command], width);
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

fn push_line(
    line: &mut String,
    cells: &[impl AsRef<str>; 9],
    widths: &[usize; 9],
    command: &[&str],
    width: Option<usize>,
) {
    use std::fmt::Write as _;
    for ((cell, &w), right) in cells.iter().zip(widths).zip(RIGHT_ALIGNED) {
        let cell = cell.as_ref();
        // Writing to a String cannot fail.
        let _ = if right {
            write!(line, "{cell:>w$} ")
        } else {
            write!(line, "{cell:<w$} ")
        };
    }
    for part in command {
        line.push_str(part);
    }
    if let Some((cut, _)) = width.and_then(|w| line.char_indices().nth(w)) {
        line.truncate(cut);
    }
    line.push('\n');
}

/// The width to cut lines to: only for a terminal, from `$COLUMNS` like
/// `ps`, else from the terminal itself.
fn terminal_width() -> Option<usize> {
    if !io::stdout().is_terminal() {
        return None;
    }
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    if from_env.is_some() {
        return from_env;
    }
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which is
    // valid for the call.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (rc == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// One JSON Lines record; `null` for anything unknown.
#[derive(Serialize)]
struct Record<'a> {
    r#type: &'static str,
    pid: u32,
    ppid: Option<u32>,
    user: Option<&'a str>,
    uid: Option<u32>,
    state: Option<char>,
    cpu_percent: Option<f64>,
    rss_bytes: Option<u64>,
    threads: Option<u32>,
    /// Unix seconds.
    start_time: Option<u64>,
    container: Option<String>,
    kernel_thread: bool,
    comm: Option<serde_json::Value>,
    cmdline: Option<Vec<serde_json::Value>>,
}

impl<'a> From<&Row<'a>> for Record<'a> {
    fn from(row: &Row<'a>) -> Self {
        let p = row.process;
        Record {
            r#type: "process",
            pid: p.pid,
            ppid: p.ppid,
            user: p.user.as_deref(),
            uid: p.uid,
            state: p.state,
            // Two decimals: more is noise, and keeps 0.30000000000000004 out.
            cpu_percent: row.cpu.map(|c| (c * 100.0).round() / 100.0),
            rss_bytes: p.rss_bytes,
            threads: p.threads,
            start_time: p.start_time,
            container: p.origin.as_ref().map(ToString::to_string),
            kernel_thread: p.kernel_thread,
            comm: p.comm.as_deref().map(json_bytes),
            cmdline: p
                .cmdline
                .as_ref()
                .map(|args| args.iter().map(|a| json_bytes(a)).collect()),
        }
    }
}

fn write_json(out: &mut impl Write, rows: &[Row], order: &Order) -> anyhow::Result<()> {
    let mut line = Vec::new();
    for &(i, _) in order {
        line.clear();
        // Serialized to memory first so that a write error reaches main as
        // the io::Error it is (a closed pipe is not an error there).
        serde_json::to_writer(&mut line, &Record::from(&rows[i]))?;
        line.push(b'\n');
        out.write_all(&line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use hostscope_core::procfs::Origin;

    use super::*;

    fn process(pid: u32, ppid: u32, comm: &str) -> ProcessInfo {
        ProcessInfo {
            pid,
            ppid: Some(ppid),
            uid: Some(0),
            user: Some(Arc::from("root")),
            state: Some('S'),
            cpu_ticks: Some(u64::from(pid)),
            start_ticks: Some(100),
            start_time: Some(1_700_000_001),
            rss_bytes: Some(u64::from(pid) * 1024),
            threads: Some(1),
            comm: Some(comm.as_bytes().to_vec()),
            cmdline: Some(vec![comm.as_bytes().to_vec()]),
            origin: None,
            kernel_thread: false,
        }
    }

    fn snapshot(processes: Vec<ProcessInfo>) -> Snapshot {
        Snapshot {
            processes,
            skipped: 0,
            taken_at: Duration::from_secs(101),
            ticks_per_second: 100,
            boot_time: Some(1_700_000_000),
        }
    }

    fn rows(snapshot: &Snapshot) -> Vec<Row<'_>> {
        snapshot
            .processes
            .iter()
            .map(|p| Row::new(snapshot, p, 1_700_000_101))
            .collect()
    }

    fn table(snapshot: &Snapshot, order: impl Fn(&[Row]) -> Order, width: Option<usize>) -> String {
        let rows = rows(snapshot);
        let mut out = Vec::new();
        write_table(&mut out, &rows, &order(&rows), width).expect("write to memory");
        String::from_utf8(out).expect("UTF-8 table")
    }

    fn commands(text: &str) -> Vec<&str> {
        let at = text.find("COMMAND").expect("header");
        text.lines().skip(1).map(|l| &l[at..]).collect()
    }

    #[test]
    fn sort_specs() {
        assert_eq!(
            Sort::parse("-rss").expect("valid"),
            Sort {
                column: Column::Rss,
                descending: true
            }
        );
        assert_eq!(Sort::parse("+PID").expect("valid").column, Column::Pid);
        let err = Sort::parse("bogus").expect_err("invalid").0;
        assert!(err.contains("\"bogus\""), "{err}");
        assert!(err.contains("pid, ppid, user"), "{err}");
        let hostile = Sort::parse("\u{1b}[31m").expect_err("invalid").0;
        assert!(!hostile.contains('\u{1b}'), "{hostile}");
    }

    #[test]
    fn sorted_descending_with_stable_ties() {
        let mut snap = snapshot(vec![
            process(1, 0, "init"),
            process(2, 0, "b"),
            process(3, 0, "c"),
        ]);
        snap.processes[2].rss_bytes = Some(2048);
        snap.processes[0].rss_bytes = None;
        let sort = Sort::parse("-rss").expect("valid");
        let rows = rows(&snap);
        let pids: Vec<u32> = sorted_order(&rows, sort)
            .iter()
            .map(|&(i, _)| rows[i].process.pid)
            .collect();
        // 2 and 3 tie at 2 KiB: pid order; unknown RSS last.
        assert_eq!(pids, [2, 3, 1]);
    }

    #[test]
    fn tree_draws_children_under_parents() {
        let snap = snapshot(vec![
            process(1, 0, "init"),
            process(2, 0, "kthreadd"),
            process(10, 1, "a"),
            process(11, 1, "b"),
            process(12, 10, "a1"),
            process(13, 10, "a2"),
            process(20, 2, "k"),
            process(99, 98, "orphan"),
        ]);
        let sort = Sort::parse("pid").expect("valid");
        let text = table(&snap, |rows| tree_order(rows, sort, &ASCII), None);
        assert_eq!(
            commands(&text),
            [
                "init", "|- a", "|  |- a1", "|  `- a2", "`- b", "kthreadd", "`- k", "orphan"
            ]
        );
        let unicode = table(&snap, |rows| tree_order(rows, sort, &UNICODE), None);
        assert!(unicode.contains("│  ├─ a1\n"), "{unicode}");
    }

    #[test]
    fn tree_siblings_follow_the_sort() {
        let snap = snapshot(vec![
            process(1, 0, "init"),
            process(10, 1, "small"),
            process(11, 1, "big"),
        ]);
        let sort = Sort::parse("-rss").expect("valid");
        let text = table(&snap, |rows| tree_order(rows, sort, &ASCII), None);
        assert_eq!(commands(&text), ["init", "|- big", "`- small"]);
    }

    #[test]
    fn tree_shows_a_parent_loop() {
        let snap = snapshot(vec![process(5, 6, "x"), process(6, 5, "y")]);
        let sort = Sort::parse("pid").expect("valid");
        let text = table(&snap, |rows| tree_order(rows, sort, &ASCII), None);
        assert_eq!(commands(&text), ["x", "`- y"]);
    }

    #[test]
    fn commands_are_escaped_and_like_ps() {
        let mut hostile = process(7, 1, "x");
        hostile.cmdline = Some(vec![b"evil\x1b[31m\n".to_vec(), b"a b".to_vec()]);
        assert_eq!(command_text(&hostile), "evil\\33[31m\\n a b");
        let mut kthread = process(2, 0, "kthreadd");
        kthread.cmdline = Some(Vec::new());
        kthread.kernel_thread = true;
        assert_eq!(command_text(&kthread), "[kthreadd]");
        let mut zombie = process(8, 1, "z\x1b");
        zombie.cmdline = Some(Vec::new());
        zombie.state = Some('Z');
        assert_eq!(command_text(&zombie), "[z\\33] <defunct>");
        let mut unknown = process(9, 1, "x");
        unknown.comm = None;
        unknown.cmdline = None;
        assert_eq!(command_text(&unknown), "-");
    }

    #[test]
    fn table_aligns_and_marks_unknowns() {
        let mut unreadable = process(300, 1, "u");
        unreadable.ppid = None;
        unreadable.uid = None;
        unreadable.user = None;
        unreadable.state = None;
        unreadable.cpu_ticks = None;
        unreadable.rss_bytes = None;
        unreadable.threads = None;
        unreadable.start_time = None;
        let mut contained = process(4000, 1, "nginx");
        contained.origin = Some(Origin::Unit("nginx.service".to_owned()));
        contained.user = None;
        contained.uid = Some(33);
        let snap = snapshot(vec![process(1, 0, "init"), unreadable, contained]);
        let sort = Sort::parse("pid").expect("valid");
        let text = table(&snap, |rows| sorted_order(rows, sort), None);
        // Within the last day: HH:MM in whatever the local zone is.
        let at = start_text(1_700_000_001, 1_700_000_101).expect("converts");
        assert_eq!(
            text,
            format!(
                " PID PPID USER STATE %CPU  RSS THREADS START CONTAINER/UNIT COMMAND\n\
                 \x20  1    0 root S      0.0 1.0K       1 {at} -              init\n\
                 \x20300    - -    -        -    -       - -     -              u\n\
                 4000    1 33   S     40.0 3.9M       1 {at} nginx.service  nginx\n"
            )
        );
    }

    #[test]
    fn lines_are_cut_to_the_terminal() {
        let mut long = process(1, 0, "x");
        long.cmdline = Some(vec![b"\xe2\x94\x80".repeat(100)]);
        let snap = snapshot(vec![long]);
        let sort = Sort::parse("pid").expect("valid");
        let text = table(&snap, |rows| sorted_order(rows, sort), Some(70));
        assert!(text.lines().all(|l| l.chars().count() <= 70), "{text}");
        assert!(text.lines().nth(1).expect("row").ends_with('─'), "{text}");
    }

    #[test]
    fn cpu_is_over_the_process_life() {
        // 100 ticks of CPU since tick 100 with the snapshot at 101 s: 1 s of
        // CPU over 100 s.
        let mut p = process(100, 1, "x");
        p.cpu_ticks = Some(100);
        let snap = snapshot(vec![p]);
        let rows = rows(&snap);
        assert_eq!(rows[0].cells()[4], "1.0");
    }

    #[test]
    fn json_record_fields() {
        let mut p = process(42, 1, "a\x1bb");
        p.cmdline = Some(vec![b"/x\xff".to_vec()]);
        p.origin = Some(Origin::Unit("foo.service".to_owned()));
        let snap = snapshot(vec![p]);
        let rows = rows(&snap);
        let mut out = Vec::new();
        write_json(
            &mut out,
            &rows,
            &sorted_order(&rows, Sort::parse("pid").expect("valid")),
        )
        .expect("write to memory");
        let value: serde_json::Value = serde_json::from_slice(&out).expect("one JSON line");
        assert_eq!(
            value,
            serde_json::json!({
                "type": "process", "pid": 42, "ppid": 1, "user": "root", "uid": 0,
                "state": "S", "cpu_percent": 0.42, "rss_bytes": 43008, "threads": 1,
                "start_time": 1_700_000_001, "container": "foo.service",
                "kernel_thread": false, "comm": "a\u{1b}b",
                "cmdline": [{"hex": "2f78ff"}]
            })
        );
    }

    #[test]
    fn bytes_are_human() {
        assert_eq!(human_bytes(0), "0");
        assert_eq!(human_bytes(512), "512B");
        assert_eq!(human_bytes(4096), "4.0K");
        assert_eq!(human_bytes(12 * 1024 * 1024 + 1), "12M");
        assert_eq!(human_bytes(1536 * 1024 * 1024), "1.5G");
        assert_eq!(human_bytes(10_230), "10K");
    }

    #[test]
    fn start_times_like_ps() {
        let now = 1_700_000_000;
        let recent = start_text(now - 60, now).expect("converts");
        assert!(
            recent.len() == 5 && recent.as_bytes()[2] == b':',
            "{recent}"
        );
        let old = start_text(now - 3 * 365 * 24 * 60 * 60, now).expect("converts");
        assert!(old.len() == 4 && old.starts_with("20"), "{old}");
    }
}
