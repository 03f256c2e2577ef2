//! strace as the oracle: real programs are run once under
//! `strace -f -e trace=%file` and once under `hostscope trace --json -e
//! trace=%file`, and every thread's file syscalls — name, first path
//! argument, return value — must be the same in both, in the same order.
//!
//! How threads are matched: pids differ between the two runs, and the order
//! in which processes first show up depends on scheduling (after a fork,
//! parent or child may make the next file syscall first). So each run is
//! reduced to a multiset of per-thread call sequences, and the two multisets
//! must be equal: every strace thread must have a hostscope thread with the
//! identical sequence, one to one. The sequence itself is what identifies a
//! thread. On a mismatch, the leftover threads are paired by the longest
//! common subsequence of their calls and shown side by side.
//!
//! Threads, not processes: strace's `-f` prefix is the thread id, so
//! hostscope records are grouped by `tid` too. For a single-threaded process
//! that is its pid.
//!
//! What both runs share so that the programs see the same files: the same
//! cwd (a scratch dir), the same environment (inherited, plus
//! PYTHONDONTWRITEBYTECODE and PYTHONHASHSEED pinned, so that python neither
//! writes `.pyc` files in the first run that the second would then read, nor
//! orders anything by a random hash seed; and without cargo's
//! LD_LIBRARY_PATH, whose dozens of failed library lookups per exec would
//! only make the traces long), stdin from /dev/null, stdout to
//! /dev/null and stderr to a pipe. The traces go to files outside the cwd.
//!
//! Differences that turned out not to be differences (checked, no handling
//! needed):
//! - Both tools resolve the command through `$PATH` themselves and exec it
//!   once, so both traces start with one successful `execve` of the full
//!   path; neither shows its own work before that exec (strace's child
//!   stops itself before the exec, hostscope's child raises SIGSTOP and is
//!   only traced from the exec on).
//! - hostscope always traces chdir/fchdir for path resolution (and learns
//!   of forks from the scheduler), but shows only the `-e` selection: under
//!   `trace=%file` only chdir of those, which strace's `%file` also has.
//! - Signals (`--- SIG…`) and exits (`+++ …`) are not syscalls: strace's
//!   lines for them are skipped, and so are hostscope's `exit` records.
//! - `getcwd` is in both tools' `%file` class but names no path (its string
//!   is the output buffer): no path on either side.
//! - A call interrupted by a signal is `= ? ERESTARTSYS (…)` in strace and
//!   `"ret":-512,"errno":"ERESTARTSYS"` in hostscope: both read as the errno
//!   ERESTARTSYS, followed by the restarted call in both.
//! - strace shortens strings to `-s` bytes, but never path arguments (it
//!   prints those up to PATH_MAX), so no `-s` is needed.
//!
//! The one real difference, handled explicitly by
//! [`killed_calls_never_return`]: a call cut short by SIGKILL, which strace
//! cannot see return and hostscope can.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use hostscope_tests::{TempDir, compile_c, hostscope, json_lines, record_type};
use serde_json::Value;

/// What a syscall returned, in the terms both tools share.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ret {
    Value(i64),
    /// A failure, by errno name ("ENOENT").
    Errno(String),
    /// The call never returned: strace's `= ?`, hostscope's `"ret":null`.
    Never,
}

/// One file syscall as both tools can report it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Call {
    name: String,
    /// The first path argument's bytes, exactly as passed; `None` when the
    /// syscall names no path or the pointer was NULL.
    path: Option<Vec<u8>>,
    ret: Ret,
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        if let Some(path) = &self.path {
            write!(f, "\"{}\"", path.escape_ascii())?;
        }
        match &self.ret {
            Ret::Value(v) => write!(f, ") = {v}"),
            Ret::Errno(e) => write!(f, ") = -1 {e}"),
            Ret::Never => write!(f, ") = ?"),
        }
    }
}

/// One thread's file syscalls, in order; the ids are only for messages
/// (and, for hostscope, for finding the threads of killed processes).
#[derive(Debug)]
struct Task {
    tid: u32,
    /// The thread's process; strace's output does not say, so 0 there.
    pid: u64,
    calls: Vec<Call>,
}

/// Appends `call` to thread `tid`'s sequence, creating it on first use.
fn push(tasks: &mut Vec<Task>, index: &mut HashMap<u32, usize>, tid: u32, call: Call) {
    let k = *index.entry(tid).or_insert_with(|| {
        tasks.push(Task {
            tid,
            pid: 0,
            calls: Vec::new(),
        });
        tasks.len() - 1
    });
    tasks[k].calls.push(call);
}

// ---------------------------------------------------------------------------
// strace's text output

/// Parses `strace -f -o FILE` output into per-thread call sequences.
///
/// A syscall that blocks while another thread prints is split into
/// `NAME(args <unfinished ...>` and, later, `<... NAME resumed>rest`; the
/// two halves are joined. A thread has at most one syscall in flight, so
/// the joined call belongs where its thread's sequence stands at the resume.
/// An execve made by a thread other than the leader starts under the
/// thread's id and is resumed under the leader's (the kernel gives the
/// exec'ing thread the leader's id); it and everything after it belong to
/// the leader's id, as in hostscope, where the exit of that execve and the
/// new program's calls carry the leader's id too.
fn parse_strace(text: &str) -> Vec<Task> {
    let mut tasks = Vec::new();
    let mut index = HashMap::new();
    let mut unfinished: HashMap<u32, String> = HashMap::new();
    for line in text.lines() {
        let (tid, rest) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("strace line without a pid: {line:?}"));
        let tid: u32 = tid
            .parse()
            .unwrap_or_else(|e| panic!("strace line with a bad pid ({e}): {line:?}"));
        let rest = rest.trim_start();
        if rest.starts_with("+++ ") || rest.starts_with("--- ") {
            continue;
        }
        let whole = if let Some(resumed) = rest.strip_prefix("<... ") {
            let (name, tail) = resumed
                .split_once(" resumed>")
                .unwrap_or_else(|| panic!("bad strace resume line: {line:?}"));
            let head = unfinished
                .remove(&tid)
                .unwrap_or_else(|| panic!("strace resumed a call it never started: {line:?}"));
            assert!(
                head.starts_with(&format!("{name}(")),
                "strace resumed {name} but {tid} had started {head:?}"
            );
            format!("{head}{tail}")
        } else if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            unfinished.insert(tid, head.to_owned());
            continue;
        } else if let Some((head, leader)) = pid_changed(rest) {
            // execve in a thread other than the leader: the thread takes
            // the leader's id, and strace resumes the call under it.
            unfinished.insert(leader, head.to_owned());
            continue;
        } else {
            rest.to_owned()
        };
        push(&mut tasks, &mut index, tid, parse_strace_call(&whole));
    }
    // A call still unfinished when its thread died never returned; it was
    // that thread's last.
    let mut left: Vec<_> = unfinished.into_iter().collect();
    left.sort();
    for (tid, head) in left {
        let mut call = parse_strace_call(&head);
        call.ret = Ret::Never;
        push(&mut tasks, &mut index, tid, call);
    }
    tasks
}

/// `execve(…) <pid changed to LEADER ...>`: the call's text so far and the
/// id the thread continues under.
fn pid_changed(rest: &str) -> Option<(&str, u32)> {
    let (head, tail) = rest.rsplit_once(" <pid changed to ")?;
    let leader = tail.strip_suffix(" ...>")?;
    Some((
        head,
        leader
            .parse()
            .unwrap_or_else(|e| panic!("bad strace pid change ({e}): {rest:?}")),
    ))
}

/// Parses `name(arg, arg, …) = ret …` (the part after the pid).
fn parse_strace_call(text: &str) -> Call {
    let open = text
        .find('(')
        .unwrap_or_else(|| panic!("strace line is not a syscall: {text:?}"));
    let name = &text[..open];
    let (args, rest) = split_strace_args(&text[open + 1..]);
    // strace pads short calls so that `=` lines up: `chdir("/usr")   = 0`.
    let ret = match rest.trim_start().strip_prefix('=') {
        Some(ret) => parse_strace_ret(ret),
        None => Ret::Never,
    };
    let path = path_arg_index(name)
        .and_then(|i| args.get(i))
        .and_then(|arg| unquote_strace(arg));
    Call {
        name: name.to_owned(),
        path,
        ret,
    }
}

/// Splits strace's argument list at its top-level commas, skipping over
/// quoted strings, `/* comments */` and nested `{…}`, `[…]`, `(…)`.
/// Returns the arguments and what follows the closing parenthesis (empty if
/// there is none: a call cut short).
fn split_strace_args(s: &str) -> (Vec<&str>, &str) {
    let b = s.as_bytes();
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = s[i..].find("*/").map_or(b.len(), |k| i + k + 1);
                i = end;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' if depth == 0 => {
                let last = s[start..i].trim();
                if !last.is_empty() {
                    args.push(last);
                }
                return (args, &s[i + 1..]);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                args.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let last = s[start..].trim();
    if !last.is_empty() {
        args.push(last);
    }
    (args, "")
}

/// `0`, `3`, `0x7f…`, `-1 ENOENT (No such file or directory)`, `?`.
fn parse_strace_ret(s: &str) -> Ret {
    let mut words = s.split_whitespace();
    let first = words.next().unwrap_or("?");
    if first == "?" {
        // `= ? ERESTARTSYS (To be restarted if SA_RESTART is set)`: the
        // call was interrupted by a signal and will be made again.
        return match words.next() {
            Some(errno) if errno.starts_with("ERESTART") => Ret::Errno(errno.to_owned()),
            _ => Ret::Never,
        };
    }
    if first == "-1"
        && let Some(errno) = words.next().filter(|w| w.starts_with('E'))
    {
        return Ret::Errno(errno.to_owned());
    }
    let value = match first.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16),
        None => first.parse(),
    };
    Ret::Value(value.unwrap_or_else(|e| panic!("bad strace return value {s:?}: {e}")))
}

/// The bytes of a strace string literal: `"…"`, possibly followed by `...`
/// when strace cut it. strace escapes `\t \n \v \f \r \\ \"`, writes other
/// unprintable bytes in octal (`\377`), or in hex (`\xff`) under `-x`.
/// `None` for anything that is not a string (NULL, an unreadable address).
fn unquote_strace(arg: &str) -> Option<Vec<u8>> {
    let b = arg.as_bytes();
    if b.first() != Some(&b'"') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 1;
    loop {
        let c = *b
            .get(i)
            .unwrap_or_else(|| panic!("unterminated strace string {arg:?}"));
        i += 1;
        match c {
            b'"' => return Some(out),
            b'\\' => {
                let e = b[i];
                i += 1;
                match e {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'v' => out.push(0x0b),
                    b'f' => out.push(0x0c),
                    b'x' => {
                        let hex = std::str::from_utf8(&b[i..i + 2]).expect("ASCII");
                        out.push(u8::from_str_radix(hex, 16).unwrap_or_else(|e| {
                            panic!("bad \\x escape in strace string {arg:?}: {e}")
                        }));
                        i += 2;
                    }
                    b'0'..=b'7' => {
                        let mut v = u32::from(e - b'0');
                        for _ in 0..2 {
                            match b.get(i) {
                                Some(&d @ b'0'..=b'7') => {
                                    v = v * 8 + u32::from(d - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push(u8::try_from(v).unwrap_or_else(|_| {
                            panic!("octal escape over 255 in strace string {arg:?}")
                        }));
                    }
                    other => out.push(other),
                }
            }
            other => out.push(other),
        }
    }
}

/// Which argument is "the first path argument": the first one the kernel
/// looks up as a path. For `*at` syscalls that is the one after the dirfd;
/// for execve the filename. symlink's target is not looked up (it is stored
/// as is), so for symlink/symlinkat it is the link's own path, as hostscope
/// documents. `getcwd` and `fsconfig` are in strace's `%file` class but
/// take no path to look up.
fn path_arg_index(name: &str) -> Option<usize> {
    match name {
        "getcwd" | "fsconfig" => None,
        "openat" | "openat2" | "newfstatat" | "fstatat64" | "statx" | "faccessat"
        | "faccessat2" | "readlinkat" | "execveat" | "mkdirat" | "mknodat" | "unlinkat"
        | "fchmodat" | "fchmodat2" | "fchownat" | "futimesat" | "utimensat"
        | "name_to_handle_at" | "open_tree" | "fspick" | "mount_setattr" | "renameat"
        | "renameat2" | "linkat" | "move_mount" | "symlink" | "inotify_add_watch" | "mount"
        | "quotactl" => Some(1),
        "symlinkat" => Some(2),
        "fanotify_mark" => Some(4),
        _ => Some(0),
    }
}

// ---------------------------------------------------------------------------
// hostscope's JSON Lines output

fn parse_hostscope(records: &[Value]) -> Vec<Task> {
    let mut tasks = Vec::new();
    let mut index = HashMap::new();
    for r in records.iter().filter(|r| record_type(r) == "syscall") {
        let tid = r["tid"].as_u64().expect("a tid") as u32;
        let name = r["syscall"].as_str().expect("a syscall name").to_owned();
        let path = r.get("path").map(|p| match p {
            Value::String(s) => s.clone().into_bytes(),
            _ => {
                let hex = p["hex"]
                    .as_str()
                    .unwrap_or_else(|| panic!("path is a string or {{\"hex\": …}}: {r}"));
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex path"))
                    .collect()
            }
        });
        let ret = match (r["ret"].as_i64(), r["errno"].as_str()) {
            (None, _) => Ret::Never,
            (Some(_), Some(errno)) => Ret::Errno(errno.to_owned()),
            (Some(v), None) => Ret::Value(v),
        };
        push(&mut tasks, &mut index, tid, Call { name, path, ret });
        tasks[index[&tid]].pid = r["pid"].as_u64().expect("a pid");
    }
    tasks
}

// ---------------------------------------------------------------------------
// Running both

/// Both traces of one program.
struct Traces {
    strace: Vec<Task>,
    hostscope: Vec<Task>,
}

fn program(tool: &mut Command, cwd: &Path) {
    tool.current_dir(cwd)
        .env_remove("LD_LIBRARY_PATH")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONHASHSEED", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
}

fn checked(tool: &str, mut cmd: Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("could not run {tool} (it must be installed): {e}"));
    assert!(
        out.status.code().is_some(),
        "{tool} was killed: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `argv` in `cwd` under strace, then under hostscope, and checks that
/// both ran it to the same exit status with nothing lost.
fn trace_both(cwd: &Path, argv: &[&str]) -> Traces {
    let out_dir = TempDir::new("hs-oracle-out");
    let strace_file = out_dir.path().join("strace.txt");
    let hostscope_file = out_dir.path().join("hostscope.jsonl");

    let mut cmd = Command::new("strace");
    program(&mut cmd, cwd);
    cmd.args(["-f", "-qq", "-e", "trace=%file", "-o"])
        .arg(&strace_file)
        .arg("--")
        .args(argv);
    let st = checked("strace", cmd);

    let mut cmd = hostscope();
    program(&mut cmd, cwd);
    cmd.args(["trace", "--json", "-e", "trace=%file", "-o"])
        .arg(&hostscope_file)
        .arg("--")
        .args(argv);
    let hs = checked("hostscope", cmd);

    let strace_text = std::fs::read_to_string(&strace_file)
        .unwrap_or_else(|e| panic!("strace wrote no {}: {e}", strace_file.display()));
    let hostscope_bytes = std::fs::read(&hostscope_file)
        .unwrap_or_else(|e| panic!("hostscope wrote no {}: {e}", hostscope_file.display()));
    assert_eq!(
        st.status.code(),
        hs.status.code(),
        "{argv:?} exits the same under both tools\nstrace stderr:\n{}\nhostscope stderr:\n{}",
        String::from_utf8_lossy(&st.stderr),
        String::from_utf8_lossy(&hs.stderr),
    );
    let records = json_lines(&hostscope_bytes);
    let lost = records
        .iter()
        .rev()
        .find(|r| record_type(r) == "lost")
        .unwrap_or_else(|| panic!("hostscope ends with a lost record: {records:#?}"));
    // A lost record would make any comparison unfair. Shortened strings
    // are not checked here: a shortened path shows up in the comparison,
    // and a shortened argv (execve's, past the -s limit) does not matter.
    for field in ["ring_full", "unmatched_exit", "table_full"] {
        assert_eq!(
            lost[field], 0,
            "{}: hostscope lost records, so no comparison is fair: {lost}",
            argv[0]
        );
    }
    let mut hostscope = parse_hostscope(&records);
    killed_calls_never_return(&mut hostscope, &records);
    Traces {
        strace: parse_strace(&strace_text),
        hostscope,
    }
}

/// The one known difference that needs handling: a thread killed by
/// SIGKILL while blocked in a syscall. The kernel still takes that
/// syscall's exit path (the wait is interrupted, the call returns a restart
/// code such as ERESTARTSYS to a task about to die), so the probe sees the
/// exit and hostscope reports the restart code; ptrace reports no
/// syscall-exit stop to a tracer for a task killed by SIGKILL, so strace
/// prints `= ?`. Restart codes never reach user space, so a trailing one in
/// a process that died of SIGKILL can only be such a cut call: only that
/// case is rewritten to "never returned", to match strace.
fn killed_calls_never_return(tasks: &mut [Task], records: &[Value]) {
    let killed: Vec<u64> = records
        .iter()
        .filter(|r| record_type(r) == "exit" && r["signal"] == "SIGKILL")
        .filter_map(|r| r["pid"].as_u64())
        .collect();
    for task in tasks.iter_mut().filter(|t| killed.contains(&t.pid)) {
        if let Some(last) = task.calls.last_mut()
            && matches!(&last.ret, Ret::Errno(e) if e.starts_with("ERESTART"))
        {
            last.ret = Ret::Never;
        }
    }
}

// ---------------------------------------------------------------------------
// Comparing

/// One row of a side-by-side diff.
enum Row<'a> {
    Same(&'a Call),
    StraceOnly(&'a Call),
    HostscopeOnly(&'a Call),
    Changed(&'a Call, &'a Call),
}

/// The longest common subsequence of `s` and `h`, as diff rows; a run of
/// removals next to a run of additions is shown as changed rows.
fn diff<'a>(s: &'a [Call], h: &'a [Call]) -> Vec<Row<'a>> {
    let pre = s.iter().zip(h).take_while(|(a, b)| a == b).count();
    let suf = s[pre..]
        .iter()
        .rev()
        .zip(h[pre..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (sm, hm) = (&s[pre..s.len() - suf], &h[pre..h.len() - suf]);
    let w = hm.len() + 1;
    let mut t = vec![0u32; (sm.len() + 1) * w];
    for i in (0..sm.len()).rev() {
        for j in (0..hm.len()).rev() {
            t[i * w + j] = if sm[i] == hm[j] {
                t[(i + 1) * w + j + 1] + 1
            } else {
                t[(i + 1) * w + j].max(t[i * w + j + 1])
            };
        }
    }
    let mut rows: Vec<Row<'a>> = s[..pre].iter().map(Row::Same).collect();
    let (mut only_s, mut only_h) = (Vec::new(), Vec::new());
    let flush =
        |rows: &mut Vec<Row<'a>>, only_s: &mut Vec<&'a Call>, only_h: &mut Vec<&'a Call>| {
            let n = only_s.len().max(only_h.len());
            for k in 0..n {
                rows.push(match (only_s.get(k), only_h.get(k)) {
                    (Some(a), Some(b)) => Row::Changed(a, b),
                    (Some(a), None) => Row::StraceOnly(a),
                    (None, Some(b)) => Row::HostscopeOnly(b),
                    (None, None) => unreachable!(),
                });
            }
            only_s.clear();
            only_h.clear();
        };
    let (mut i, mut j) = (0, 0);
    while i < sm.len() || j < hm.len() {
        if i < sm.len() && j < hm.len() && sm[i] == hm[j] {
            flush(&mut rows, &mut only_s, &mut only_h);
            rows.push(Row::Same(&sm[i]));
            i += 1;
            j += 1;
        } else if j == hm.len() || (i < sm.len() && t[(i + 1) * w + j] >= t[i * w + j + 1]) {
            only_s.push(&sm[i]);
            i += 1;
        } else {
            only_h.push(&hm[j]);
            j += 1;
        }
    }
    flush(&mut rows, &mut only_s, &mut only_h);
    rows.extend(s[s.len() - suf..].iter().map(Row::Same));
    rows
}

/// How alike two threads' sequences are, for pairing leftovers in a
/// message: calls in common, then calls that differ only in their return
/// value. Zero for both means they have nothing to do with each other.
fn likeness(s: &[Call], h: &[Call]) -> (usize, usize) {
    let rows = diff(s, h);
    let same = rows.iter().filter(|r| matches!(r, Row::Same(_))).count();
    let near = rows
        .iter()
        .filter(|r| matches!(r, Row::Changed(a, b) if a.name == b.name && a.path == b.path))
        .count();
    (same, near)
}

/// Writes `rows` as two columns (strace | hostscope), keeping only a few
/// identical rows around each difference.
fn render(rows: &[Row<'_>], out: &mut String) {
    const CONTEXT: usize = 3;
    let differs: Vec<bool> = rows.iter().map(|r| !matches!(r, Row::Same(_))).collect();
    let cells: Vec<(char, String, String)> = rows
        .iter()
        .map(|r| match r {
            Row::Same(c) => (' ', c.to_string(), c.to_string()),
            Row::StraceOnly(c) => ('<', c.to_string(), String::new()),
            Row::HostscopeOnly(c) => ('>', String::new(), c.to_string()),
            Row::Changed(a, b) => ('!', a.to_string(), b.to_string()),
        })
        .collect();
    let width = cells
        .iter()
        .map(|(_, l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        .min(90);
    let mut skipped = 0;
    for (i, (mark, left, right)) in cells.iter().enumerate() {
        let lo = i.saturating_sub(CONTEXT);
        let hi = (i + CONTEXT + 1).min(rows.len());
        if !differs[lo..hi].contains(&true) {
            skipped += 1;
            continue;
        }
        if skipped > 0 {
            let _ = writeln!(out, "    … {skipped} identical calls …");
            skipped = 0;
        }
        let _ = writeln!(out, "  {mark} {left:<width$} | {right}");
    }
    if skipped > 0 {
        let _ = writeln!(out, "    … {skipped} identical calls …");
    }
}

/// Panics, showing the differing threads side by side, unless every strace
/// thread has a hostscope thread with the identical call sequence (one to
/// one; see the module docs for why the sequences, not the pids, match them
/// up).
fn assert_same_file_syscalls(what: &str, traces: &Traces) {
    let mut left_h: Vec<&Task> = traces.hostscope.iter().collect();
    let mut left_s: Vec<&Task> = Vec::new();
    for s in &traces.strace {
        match left_h.iter().position(|h| h.calls == s.calls) {
            Some(k) => {
                left_h.remove(k);
            }
            None => left_s.push(s),
        }
    }
    let calls = |tasks: &[Task]| tasks.iter().map(|t| t.calls.len()).sum::<usize>();
    if left_s.is_empty() && left_h.is_empty() {
        eprintln!(
            "{what}: {} threads, {} file syscalls, identical under strace and hostscope",
            traces.strace.len(),
            calls(&traces.strace)
        );
        return;
    }
    let mut msg = format!(
        "{what}: file syscalls differ between strace ({} threads, {} calls) and hostscope \
         ({} threads, {} calls); {} strace and {} hostscope threads have no identical \
         counterpart.\nColumns: strace | hostscope. `<` only strace saw it, `>` only \
         hostscope, `!` both, differently.\n",
        traces.strace.len(),
        calls(&traces.strace),
        traces.hostscope.len(),
        calls(&traces.hostscope),
        left_s.len(),
        left_h.len(),
    );
    for s in left_s {
        let best = left_h
            .iter()
            .enumerate()
            .map(|(k, h)| (likeness(&s.calls, &h.calls), k))
            .max()
            .filter(|&(alike, _)| alike != (0, 0));
        match best {
            Some((_, k)) => {
                let h = left_h.remove(k);
                let _ = writeln!(
                    msg,
                    "\nstrace thread {} ({} calls) vs hostscope thread {} ({} calls):",
                    s.tid,
                    s.calls.len(),
                    h.tid,
                    h.calls.len()
                );
                render(&diff(&s.calls, &h.calls), &mut msg);
            }
            None => {
                let _ = writeln!(
                    msg,
                    "\nstrace thread {} ({} calls) has no hostscope counterpart:",
                    s.tid,
                    s.calls.len()
                );
                render(&diff(&s.calls, &[]), &mut msg);
            }
        }
    }
    for h in left_h {
        let _ = writeln!(
            msg,
            "\nhostscope thread {} ({} calls) has no strace counterpart:",
            h.tid,
            h.calls.len()
        );
        render(&diff(&[], &h.calls), &mut msg);
    }
    panic!("{msg}");
}

/// Checks that the oracle itself saw `call` somewhere, so that a test
/// cannot pass by comparing two empty or trivial traces.
fn assert_strace_saw(traces: &Traces, name: &str, path: impl AsRef<[u8]>, ret: &Ret) {
    let want = Call {
        name: name.to_owned(),
        path: Some(path.as_ref().to_vec()),
        ret: ret.clone(),
    };
    assert!(
        traces.strace.iter().any(|t| t.calls.contains(&want)),
        "strace never saw {want}; the workload did not run as intended:\n{}",
        show(&traces.strace)
    );
}

/// Every thread's calls, one a line, for messages.
fn show(tasks: &[Task]) -> String {
    let mut out = String::new();
    for t in tasks {
        let _ = writeln!(out, "thread {}:", t.tid);
        for c in &t.calls {
            let _ = writeln!(out, "  {c}");
        }
    }
    out
}

fn enoent() -> Ret {
    Ret::Errno("ENOENT".to_owned())
}

// ---------------------------------------------------------------------------
// The programs

#[test]
fn ls_la_etc() {
    let cwd = TempDir::new("hs-oracle-ls");
    let traces = trace_both(cwd.path(), &["ls", "-la", "/etc"]);
    assert_strace_saw(&traces, "openat", "/etc", &Ret::Value(3));
    assert_same_file_syscalls("ls -la /etc", &traces);
}

#[test]
fn python_import_json() {
    let cwd = TempDir::new("hs-oracle-py");
    let traces = trace_both(cwd.path(), &["python3", "-B", "-c", "import json"]);
    assert!(
        traces.strace.iter().any(|t| t.calls.iter().any(|c| c
            .path
            .as_ref()
            .is_some_and(|p| p.ends_with(b"/json/__init__.py")))),
        "python under strace never looked at json/__init__.py:\n{}",
        show(&traces.strace)
    );
    assert_same_file_syscalls("python3 -B -c 'import json'", &traces);
}

/// A shell script that opens present and missing files itself (builtins,
/// redirections) and through children (cat, ls, a pipeline), relative to
/// its cwd and after a cd.
#[test]
fn shell_script_with_present_and_missing_files() {
    let cwd = TempDir::new("hs-oracle-sh");
    let dir = cwd.path();
    std::fs::write(dir.join("present.txt"), "hello\n").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/inner.txt"), "inner\n").unwrap();
    let script = dir.join("script.sh");
    std::fs::write(
        &script,
        r#"cat present.txt missing.txt > /dev/null 2>&1
test -e present.txt && test -e missing.txt
[ -r present.txt ]
read line < present.txt
{ read line < missing.txt; } 2>/dev/null
ls sub missing-dir > /dev/null 2>&1
cat sub/inner.txt | cat > /dev/null
cd sub && cat inner.txt ../present.txt ./missing.txt > /dev/null 2>&1
test -d ../sub
exit 0
"#,
    )
    .unwrap();
    let script = script.to_str().expect("temp paths are UTF-8");
    let traces = trace_both(dir, &["sh", script]);
    assert_strace_saw(&traces, "openat", script, &Ret::Value(3));
    assert_strace_saw(&traces, "openat", "missing.txt", &enoent());
    assert_strace_saw(&traces, "openat", "./missing.txt", &enoent());
    // dash's cd hands chdir the absolute path it computed.
    let sub = dir.join("sub");
    let sub = sub.to_str().expect("temp paths are UTF-8");
    assert_strace_saw(&traces, "chdir", sub, &Ret::Value(0));
    assert_same_file_syscalls("sh script.sh", &traces);
}

/// A static C program (so no dynamic loader) that forks twice, execs (once
/// in vain), spawns with vfork semantics, starts a thread, changes its cwd,
/// and opens a path that is not UTF-8 and needs every kind of strace escape.
#[test]
fn forking_program() {
    let cwd = TempDir::new("hs-oracle-fork");
    let exe = compile_c(
        cwd.path(),
        "forker",
        r#"
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void touch(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd >= 0) close(fd);
}

static void *thread_main(void *arg) {
    touch("/etc/hostname");
    touch("/nonexistent/hs-oracle-thread");
    return arg;
}

int main(void) {
    struct stat st;
    touch("/etc/passwd");
    touch("/nonexistent/hs-oracle-\xff\x01 \"q\" \\ \t\n\r\v\f");
    pid_t child = fork();
    if (child == 0) {
        touch("/nonexistent/hs-oracle-child");
        stat("/etc", &st);
        pid_t grandchild = fork();
        if (grandchild == 0) {
            access("/etc/hosts", R_OK);
            chdir("/usr");
            touch("share/hs-oracle-relative");
            _exit(0);
        }
        waitpid(grandchild, 0, 0);
        char *argv[] = {"true", 0};
        execve("/nonexistent/hs-oracle-exec", argv, environ);
        execve("/bin/true", argv, environ);
        _exit(127);
    }
    pthread_t thread;
    pthread_create(&thread, 0, thread_main, 0);
    pthread_join(thread, 0);
    waitpid(child, 0, 0);
    char *argv[] = {"true", 0};
    pid_t spawned;
    posix_spawn(&spawned, "/bin/true", 0, 0, argv, environ);
    waitpid(spawned, 0, 0);
    touch("/nonexistent/hs-oracle-parent-after");
    return 0;
}
"#,
    );
    let exe = exe.to_str().expect("temp paths are UTF-8");
    let traces = trace_both(cwd.path(), &[exe]);
    assert_strace_saw(&traces, "execve", "/nonexistent/hs-oracle-exec", &enoent());
    assert_strace_saw(&traces, "openat", "share/hs-oracle-relative", &enoent());
    assert_strace_saw(
        &traces,
        "openat",
        "/nonexistent/hs-oracle-thread",
        &enoent(),
    );
    assert_strace_saw(
        &traces,
        "openat",
        b"/nonexistent/hs-oracle-\xff\x01 \"q\" \\ \t\n\r\x0b\x0c",
        &enoent(),
    );
    assert!(
        traces.strace.len() >= 5,
        "main, thread, child, grandchild, spawned:\n{}",
        show(&traces.strace)
    );
    assert_same_file_syscalls("forker", &traces);
}

/// execve from a thread that is not the leader: the kernel kills the
/// other threads and gives the exec'ing thread the leader's id, so the
/// execve starts under one tid and returns under another. The leader
/// makes its own file syscalls before it starts the thread, so that the
/// exec cannot cut them off and both runs see the same.
#[test]
fn execve_from_a_thread() {
    let cwd = TempDir::new("hs-oracle-thread-exec");
    let exe = compile_c(
        cwd.path(),
        "thread-exec",
        r#"
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

extern char **environ;

static void *run(void *arg) {
    open("/nonexistent/hs-oracle-before-exec", O_RDONLY);
    char *argv[] = {"cat", "/nonexistent/hs-oracle-after-exec", 0};
    execve("/bin/cat", argv, environ);
    return arg;
}

int main(void) {
    open("/nonexistent/hs-oracle-leader", O_RDONLY);
    pthread_t thread;
    pthread_create(&thread, 0, run, 0);
    for (;;)
        pause();
}
"#,
    );
    let exe = exe.to_str().expect("temp paths are UTF-8");
    let traces = trace_both(cwd.path(), &[exe]);
    assert_strace_saw(&traces, "execve", "/bin/cat", &Ret::Value(0));
    assert_strace_saw(
        &traces,
        "openat",
        "/nonexistent/hs-oracle-after-exec",
        &enoent(),
    );
    assert_same_file_syscalls("thread-exec", &traces);
}

/// Calls cut short: one interrupted by a signal and restarted (SA_RESTART),
/// one in a process killed by SIGKILL while it blocks. Both block opening a
/// FIFO that has no writer yet.
#[test]
fn interrupted_and_killed_calls() {
    let cwd = TempDir::new("hs-oracle-sig");
    let exe = compile_c(
        cwd.path(),
        "interrupted",
        r#"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_alarm(int sig) { (void)sig; }

int main(void) {
    mkfifo("fifo-a", 0600);
    mkfifo("fifo-b", 0600);
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, 0);
    pid_t writer = fork();
    if (writer == 0) {
        usleep(1500000);
        close(open("fifo-a", O_WRONLY));
        _exit(0);
    }
    pid_t victim = fork();
    if (victim == 0) {
        open("fifo-b", O_RDONLY);
        _exit(0);
    }
    /* Interrupts the open below 0.3 s in; the writer releases it at 1.5 s,
     * by which time the victim blocks too, even under strace on a busy
     * machine. */
    struct itimerval timer = {{0, 0}, {0, 300000}};
    setitimer(ITIMER_REAL, &timer, 0);
    close(open("fifo-a", O_RDONLY));
    waitpid(writer, 0, 0);
    kill(victim, SIGKILL);
    waitpid(victim, 0, 0);
    /* Removed so that the second run starts from the same state. */
    unlink("fifo-a");
    unlink("fifo-b");
    return 0;
}
"#,
    );
    let exe = exe.to_str().expect("temp paths are UTF-8");
    let traces = trace_both(cwd.path(), &[exe]);
    assert_strace_saw(
        &traces,
        "openat",
        "fifo-a",
        &Ret::Errno("ERESTARTSYS".to_owned()),
    );
    assert_strace_saw(&traces, "openat", "fifo-b", &Ret::Never);
    assert_same_file_syscalls("interrupted", &traces);
}

#[test]
fn strace_parser_handles_splits_escapes_and_padding() {
    let text = r#"100   execve("/usr/bin/sh", ["sh", "-c", "x, y) = 1"], 0x7ffd /* 35 vars */) = 0
100   openat(AT_FDCWD, "/a\"b\\c\n\377\x01,", O_RDONLY <unfinished ...>
101   newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=1, ...}, AT_EMPTY_PATH) = 0
100   <... openat resumed>) = -1 ENOENT (No such file or directory)
100   chdir("/usr")                     = 0
101   --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED} ---
101   utimensat(AT_FDCWD, NULL, NULL, 0) = 0
101   getcwd("/tmp", 4096)              = 5
101   openat(AT_FDCWD, "fifo", O_RDONLY) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)
102   execve("/x", ["x"], 0x1 /* 1 var */ <unfinished ...>
101   +++ exited with 0 +++
104   execve("/bin/cat", ["cat"], 0x7ffc /* 35 vars */ <pid changed to 103 ...>
103   +++ superseded by execve in pid 104 +++
103   <... execve resumed>)             = 0
"#;
    let tasks = parse_strace(text);
    let show: Vec<(u32, Vec<String>)> = tasks
        .iter()
        .map(|t| (t.tid, t.calls.iter().map(ToString::to_string).collect()))
        .collect();
    let want = |tid, calls: &[&str]| (tid, calls.iter().map(|c| (*c).to_owned()).collect());
    assert_eq!(
        show,
        vec![
            want(
                100,
                &[
                    r#"execve("/usr/bin/sh") = 0"#,
                    r#"openat("/a\"b\\c\n\xff\x01,") = -1 ENOENT"#,
                    r#"chdir("/usr") = 0"#,
                ]
            ),
            want(
                101,
                &[
                    r#"newfstatat("") = 0"#,
                    "utimensat() = 0",
                    "getcwd() = 5",
                    r#"openat("fifo") = -1 ERESTARTSYS"#,
                ]
            ),
            want(103, &[r#"execve("/bin/cat") = 0"#]),
            want(102, &[r#"execve("/x") = ?"#]),
        ]
    );
}
