//! The why-missing report: a short text for people, JSON Lines for
//! programs.
//!
//! The text puts the verdict first and keeps the rest to a screen: one
//! line per name never found (however many places it was looked for), a
//! run of names missing from one directory as one line, and the searches
//! that succeeded as a count unless asked for. The JSON keeps every entry
//! as its own record, with the exact bytes. Every byte a process supplied
//! goes through [`crate::escape`].

use std::fmt::Write;

use serde::Serialize;

use super::search::final_component;
use super::{Attempt, Culprit, Denied, Missing, ProcessReport, Report, Search, Verdict};
use crate::decode::{self, errno};
use crate::escape::{JsonBytes, escape, quoted};
use crate::model::ProcessExit;

/// Columns the text keeps to where it can.
const WIDTH: usize = 120;

/// Fewest consecutive one-place names of one directory shown as one line.
const GROUP_FROM: usize = 3;

/// The text report: the verdict first, then what was missing, what was
/// denied and how many searches were collapsed (each of them with
/// `verbose`). ANSI colour only with `color`. Ends with a newline.
pub fn render_text(report: &Report, verbose: bool, color: bool) -> String {
    let style = Style(color);
    let mut out = String::new();
    for verdict in &report.verdicts {
        verdict_lines(&mut out, verdict, style);
    }
    if report.forgotten > 0 {
        let _ = writeln!(
            out,
            "({} processes that exited cleanly with nothing missing were forgotten to bound memory; their searches are not counted)",
            report.forgotten
        );
    }
    if report.events_lost > 0 {
        let warning = format!(
            "warning: {} events were lost: the verdict may be incomplete",
            report.events_lost
        );
        let _ = writeln!(out, "{}", style.paint(YELLOW, &warning));
    }
    let shown: Vec<&ProcessReport> = report
        .processes
        .iter()
        .filter(|p| {
            !(p.missing.is_empty() && p.denied.is_empty() && p.searches.is_empty())
                || p.dropped_lookups + p.dropped_stderr_bytes > 0
        })
        .collect();
    if report.root.is_none() && shown.len() > 1 {
        for p in shown {
            let title = format!("{} ({}):", label(&p.comm, p.pid), status(p.exit.as_ref()));
            let _ = writeln!(out, "{}", style.paint(BOLD, &title));
            sections(&mut out, &[p], "  ", false, verbose, style);
        }
    } else {
        sections(&mut out, &shown, "", shown.len() > 1, verbose, style);
    }
    out
}

const BOLD: &str = "1";
const RED: &str = "31";
const YELLOW: &str = "33";

#[derive(Debug, Clone, Copy)]
struct Style(bool);

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// `comm[pid]`, escaped.
fn label(comm: &[u8], pid: u32) -> String {
    format!("{}[{pid}]", escape(comm))
}

/// `exit 1`, `killed by SIGSEGV (core dumped)`, or `running`.
fn status(exit: Option<&ProcessExit>) -> String {
    let Some(exit) = exit else {
        return "running".to_owned();
    };
    match exit.signal() {
        Some(sig) => format!(
            "killed by {}{}",
            signal(sig),
            if exit.wait_status & 0x80 != 0 {
                " (core dumped)"
            } else {
                ""
            }
        ),
        None => format!("exit {}", exit.code().unwrap_or(0)),
    }
}

fn signal(sig: i32) -> String {
    decode::signal_name(sig).map_or_else(|| sig.to_string(), str::to_owned)
}

fn errno_name(e: i32) -> String {
    errno::name(e).map_or_else(|| format!("errno {e}"), str::to_owned)
}

/// ` ×3` for a count above 1.
fn times(count: u64) -> String {
    if count > 1 {
        format!(" ×{count}")
    } else {
        String::new()
    }
}

/// The verdict's line, and for a failure the evidence under it.
fn verdict_lines(out: &mut String, verdict: &Verdict, style: Style) {
    let (line, said) = match verdict {
        Verdict::Succeeded { exit } => (
            format!(
                "nothing missing that mattered ({} exited with 0)",
                label(&exit.comm, exit.pid)
            ),
            None,
        ),
        Verdict::Unfinished { pid, comm } => (
            format!(
                "nothing missing that mattered so far ({} had not exited)",
                label(comm, *pid)
            ),
            None,
        ),
        Verdict::NoFailure { failed: 0 } => (
            "nothing missing that mattered (no watched process failed)".to_owned(),
            None,
        ),
        Verdict::NoFailure { failed } => (
            format!(
                "no failed lookup explains why {failed} watched process{} failed",
                if *failed == 1 { "" } else { "es" }
            ),
            None,
        ),
        Verdict::Explained {
            exit,
            culprit,
            evidence,
        } => {
            let attempt = culprit.attempt();
            let mut line = format!(
                "{} failed ({}) after {} {}: {}{}",
                label(&exit.comm, exit.pid),
                status(Some(exit)),
                attempt.syscall,
                style.paint(RED, &escape(attempt.place())),
                errno_name(attempt.errno),
                times(culprit.count()),
            );
            if let Some(cause) = culprit.cause() {
                let _ = write!(line, ": {}", cause.describe());
            }
            (line, Some((exit, evidence)))
        }
        Verdict::Unexplained { exit, evidence } => (
            format!(
                "{} failed ({}); no failed lookup explains the failure",
                label(&exit.comm, exit.pid),
                status(Some(exit))
            ),
            Some((exit, evidence)),
        ),
    };
    let _ = writeln!(out, "{} {line}", style.paint(BOLD, "verdict:"));
    if let Some((exit, evidence)) = said
        && !evidence.is_empty()
    {
        let _ = writeln!(
            out,
            "  {} said: {}",
            label(&exit.comm, exit.pid),
            quoted(evidence)
        );
    }
}

/// The missing, denied and search sections for `procs`, each line led by
/// `indent`; `show_pid` names the process on each line.
fn sections(
    out: &mut String,
    procs: &[&ProcessReport],
    indent: &str,
    show_pid: bool,
    verbose: bool,
    style: Style,
) {
    let by_pid = |pid: u32, comm: &[u8]| {
        if show_pid {
            format!(" in {}", label(comm, pid))
        } else {
            String::new()
        }
    };
    let mut missing: Vec<&Missing> = procs.iter().flat_map(|p| &p.missing).collect();
    missing.sort_by_key(|m| m.first_ts);
    if !missing.is_empty() {
        let _ = writeln!(out, "{indent}{}", style.paint(YELLOW, "missing:"));
        let mut i = 0;
        while i < missing.len() {
            let run = same_directory_run(&missing[i..]);
            if run >= GROUP_FROM {
                let m = missing[i];
                let dir = directory(&m.places[0]);
                let names: Vec<String> = missing[i..i + run]
                    .iter()
                    .map(|m| escape(final_component(&m.places[0])))
                    .collect();
                let head = format!(
                    "{indent}  {run} names in {}{}: ",
                    escape(dir),
                    by_pid(m.pid, &m.comm)
                );
                let _ = writeln!(
                    out,
                    "{head}{}",
                    elide(&names, WIDTH.saturating_sub(width(&head)), ", ")
                );
                i += run;
            } else {
                let m = missing[i];
                let _ = writeln!(out, "{}", missing_line(indent, m, &by_pid(m.pid, &m.comm)));
                i += 1;
            }
        }
    }
    let mut denied: Vec<&Denied> = procs.iter().flat_map(|p| &p.denied).collect();
    denied.sort_by_key(|d| d.attempt.first_ts);
    if !denied.is_empty() {
        let _ = writeln!(out, "{indent}{}", style.paint(RED, "denied:"));
        for d in denied {
            let a = &d.attempt;
            let _ = writeln!(
                out,
                "{indent}  {} ({} {}{}){}: {}",
                escape(a.place()),
                a.syscall,
                errno_name(a.errno),
                times(a.count),
                by_pid(d.pid, &d.comm),
                d.denial.describe(a.uid, a.gid)
            );
        }
    }
    let searches: Vec<&Search> = procs.iter().flat_map(|p| &p.searches).collect();
    if let (Some(low), Some(high)) = (
        searches.iter().map(|s| s.k).min(),
        searches.iter().map(|s| s.k).max(),
    ) {
        let at = if low == high {
            format!("{low}")
        } else {
            format!("{low} to {high}")
        };
        let _ = writeln!(
            out,
            "{indent}{} searches collapsed (found at candidate {at})",
            searches.len()
        );
        if verbose {
            for s in searches {
                let found = s
                    .found
                    .as_deref()
                    .map_or_else(|| "(name not seen)".to_owned(), escape);
                let runs = if s.runs > 1 {
                    format!(", {} runs", s.runs)
                } else {
                    String::new()
                };
                let head = format!(
                    "{indent}  found {found} at candidate {} of {}{runs}{} (missed: ",
                    s.k,
                    s.n,
                    by_pid(s.pid, &s.comm)
                );
                let items = place_items(&s.places);
                let room = WIDTH.saturating_sub(width(&head) + 1);
                let _ = writeln!(out, "{head}{})", list(&items, room));
            }
        }
    }
    for p in procs {
        if p.dropped_lookups > 0 {
            let _ = writeln!(
                out,
                "{indent}note: {} made more distinct failed lookups than are kept; {} not shown",
                label(&p.comm, p.pid),
                p.dropped_lookups
            );
        }
        if p.dropped_stderr_bytes > 0 {
            let _ = writeln!(
                out,
                "{indent}note: {} wrote more to stderr than is kept; its oldest {} bytes not seen",
                label(&p.comm, p.pid),
                p.dropped_stderr_bytes
            );
        }
    }
}

/// How many entries from the start of `missing` are one-place names of
/// the same process in the same directory.
fn same_directory_run(missing: &[&Missing]) -> usize {
    let Some(first) = missing.first() else {
        return 0;
    };
    let one_place = |m: &Missing| m.places.len() == 1;
    if !one_place(first) || directory(&first.places[0]).is_empty() {
        return 0;
    }
    let dir = directory(&first.places[0]);
    missing
        .iter()
        .take_while(|m| m.pid == first.pid && one_place(m) && directory(&m.places[0]) == dir)
        .count()
}

/// `place` up to and including its last `/` (empty for a bare name).
fn directory(place: &[u8]) -> &[u8] {
    let name = final_component(place);
    let name_at = name.as_ptr() as usize - place.as_ptr() as usize;
    &place[..name_at]
}

/// One missing entry: `/etc/x.conf (openat ENOENT)`, or for several
/// places `libc.mo in 3 places (openat ENOENT ×3): /a/, /b/, /c/`.
fn missing_line(indent: &str, m: &Missing, by_pid: &str) -> String {
    let last = m.last();
    let what = format!(
        "{} {}{}",
        last.syscall,
        errno_name(last.errno),
        times(m.count)
    );
    let cause = m.cause.as_ref().map(|c| c.describe());
    if let [place] = m.places.as_slice() {
        let mut line = format!("{indent}  {} ({what}){by_pid}", escape(place));
        if let Some(cause) = cause {
            let _ = write!(line, ": {cause}");
        }
        return line;
    }
    let name = common_name(&m.places).map_or_else(|| escape(&m.key), escape);
    let what = match cause {
        Some(cause) => format!("{what}; {cause}"),
        None => what,
    };
    let head = format!(
        "{indent}  {name} in {} places ({what}){by_pid}: ",
        m.places.len()
    );
    let items = place_items(&m.places);
    format!("{head}{}", list(&items, WIDTH.saturating_sub(width(&head))))
}

/// The final component all `places` share, if they do.
fn common_name(places: &[Vec<u8>]) -> Option<&[u8]> {
    let first = final_component(places.first()?);
    places
        .iter()
        .all(|p| final_component(p) == first)
        .then_some(first)
}

/// `places`, escaped, as short as they can be told apart: their
/// directories when they share a name, else the whole paths.
fn place_items(places: &[Vec<u8>]) -> Vec<String> {
    let by_directory = common_name(places).is_some() && places.len() > 1;
    places
        .iter()
        .map(|p| {
            let dir = directory(p);
            if by_directory && !dir.is_empty() {
                escape(dir)
            } else {
                escape(p)
            }
        })
        .collect()
}

fn width(text: &str) -> usize {
    text.chars().count()
}

/// `items` in about `room` columns: joined with `, ` when they fit, else
/// factored as `/usr/share/locale/{C.UTF-8,C.utf8,C}/LC_MESSAGES/` when
/// they share a leading or trailing directory, else cut short.
fn list(items: &[String], room: usize) -> String {
    let plain = items.join(", ");
    if width(&plain) <= room {
        return plain;
    }
    let Some((prefix, suffix)) = shared_ends(items) else {
        return elide(items, room, ", ");
    };
    let middles: Vec<String> = items
        .iter()
        .map(|i| i[prefix.len()..i.len() - suffix.len()].to_owned())
        .collect();
    let room = room.saturating_sub(width(prefix) + width(suffix) + 2);
    format!("{prefix}{{{}}}{suffix}", elide(&middles, room, ","))
}

/// The directories every item starts and ends with, when there is more to
/// them than `/` and every item has something in between.
fn shared_ends(items: &[String]) -> Option<(&str, &str)> {
    let (first, rest) = items.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let first = first.as_str();
    let bytes = first.as_bytes();
    let common = |len: fn(&[u8], &[u8]) -> usize| {
        rest.iter()
            .map(|i| len(bytes, i.as_bytes()))
            .min()
            .unwrap_or(0)
    };
    let head = common(|a, b| a.iter().zip(b).take_while(|(x, y)| x == y).count());
    let tail = common(|a, b| {
        a.iter()
            .rev()
            .zip(b.iter().rev())
            .take_while(|(x, y)| x == y)
            .count()
    });
    // Cut both at a `/`, which is ASCII and so a character boundary.
    let head = bytes[..head]
        .iter()
        .rposition(|&b| b == b'/')
        .map_or(0, |i| i + 1);
    let tail_at = bytes.len() - tail;
    let tail = bytes[tail_at..]
        .iter()
        .position(|&b| b == b'/')
        .map_or(0, |i| tail - i);
    let shortest = items.iter().map(String::len).min().unwrap_or(0);
    if head + tail <= 1 || head + tail >= shortest {
        return None;
    }
    Some((&first[..head], &first[first.len() - tail..]))
}

/// `items` joined with `sep` in about `room` columns, the rest told as
/// `… and N more`. Always shows at least one.
fn elide(items: &[String], room: usize, sep: &str) -> String {
    let all = items.join(sep);
    if width(&all) <= room {
        return all;
    }
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        let rest = items.len() - i;
        let more = if rest > 1 {
            width(&format!("{sep}… and {} more", rest - 1))
        } else {
            0
        };
        if i > 0 && width(&out) + width(sep) + width(item) + more > room {
            let _ = write!(out, "{sep}… and {rest} more");
            return out;
        }
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(item);
    }
    out
}

/// One JSON Lines record of the report (see [`json_records`]).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Record<'a> {
    Missing(MissingRecord<'a>),
    Denied(DeniedRecord<'a>),
    Search(SearchRecord<'a>),
    Verdict(VerdictRecord<'a>),
}

/// What every entry record has: the attempt that stands for the entry
/// (the one tried last) and the entry's totals.
#[derive(Debug, Serialize)]
pub struct Common<'a> {
    pub pid: u32,
    pub comm: JsonBytes<'a>,
    pub syscall: &'a str,
    /// Errno name ("ENOENT"); null for a number without one.
    pub errno: Option<&'static str>,
    /// The path as passed.
    pub path: JsonBytes<'a>,
    /// The path made absolute; null when the cwd or dirfd was unknown.
    pub resolved: Option<JsonBytes<'a>>,
    /// Tries, all places (and runs, for a search) together.
    pub count: u64,
    /// Unix time of the first try, in nanoseconds.
    pub first_ts_ns: u64,
    /// Unix time of the latest try, in nanoseconds.
    pub last_ts_ns: u64,
}

impl<'a> Common<'a> {
    fn new(pid: u32, comm: &'a [u8], a: &'a Attempt, count: u64, first: u64, last: u64) -> Self {
        Common {
            pid,
            comm: JsonBytes(comm),
            syscall: a.syscall,
            errno: errno::name(a.errno),
            path: JsonBytes(&a.path),
            resolved: resolved(a),
            count,
            first_ts_ns: first,
            last_ts_ns: last,
        }
    }
}

fn resolved(a: &Attempt) -> Option<JsonBytes<'_>> {
    a.resolved
        .as_ref()
        .map(|r| JsonBytes(r.as_os_str().as_encoded_bytes()))
}

/// `{"type":"missing", …}`: a name never found, one record per search.
#[derive(Debug, Serialize)]
pub struct MissingRecord<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(flatten)]
    pub common: Common<'a>,
    /// The distinct places tried (resolved, else as passed), in order.
    pub places: Vec<JsonBytes<'a>>,
    /// Why an execve said ENOENT for a file that exists (text, file bytes
    /// escaped); null otherwise.
    pub cause: Option<String>,
}

/// `{"type":"denied", …}`: a lookup that was not allowed.
#[derive(Debug, Serialize)]
pub struct DeniedRecord<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(flatten)]
    pub common: Common<'a>,
    /// The process's real uid.
    pub uid: u32,
    /// The process's real gid.
    pub gid: u32,
    /// The directory or file whose mode said no; null when the path is
    /// gone or could not be looked at.
    pub denied_by: Option<DeniedBy<'a>>,
    /// The explanation as the text report gives it.
    pub explanation: String,
}

#[derive(Debug, Serialize)]
pub struct DeniedBy<'a> {
    pub path: JsonBytes<'a>,
    pub owner_uid: u32,
    pub owner_gid: u32,
    /// Permission bits in octal, `"0700"`.
    pub mode: String,
    /// Which of `r`, `w`, `x` the process's class lacks (`"x"`), `"-"`
    /// for none.
    pub lacks: String,
}

/// `{"type":"search", …}`: a search that ended in a success. The common
/// fields are its last miss.
#[derive(Debug, Serialize)]
pub struct SearchRecord<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(flatten)]
    pub common: Common<'a>,
    /// Where it was found; null when the success did not name it.
    pub found: Option<JsonBytes<'a>>,
    /// The success's place among the candidates, from 1.
    pub candidate: usize,
    /// Candidates tried, the success included.
    pub candidates: usize,
    /// The places missed before, in order.
    pub places: Vec<JsonBytes<'a>>,
    /// How many times the same search ran.
    pub runs: u64,
}

/// `{"type":"verdict", …}`: what failed and why. Always at least one,
/// after every other record.
#[derive(Debug, Serialize)]
pub struct VerdictRecord<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Whether a process failed (exited non-zero or was killed).
    pub failed: bool,
    /// The failing process; null when nothing failed.
    pub pid: Option<u32>,
    pub comm: Option<JsonBytes<'a>>,
    /// Its exit code (0 for a command that succeeded); null when killed or
    /// unknown.
    pub exit_code: Option<i32>,
    /// The signal that killed it ("SIGSEGV"), else null.
    pub signal: Option<String>,
    /// The lookup that explains the failure; null when none does.
    pub culprit: Option<CulpritRecord<'a>>,
    /// What the process wrote to stderr after the culprit (or last, when
    /// there is none); empty when nothing.
    pub evidence: JsonBytes<'a>,
    /// Events the probe lost: when not 0, the verdict may be incomplete.
    pub events_lost: u64,
}

#[derive(Debug, Serialize)]
pub struct CulpritRecord<'a> {
    pub syscall: &'a str,
    pub errno: Option<&'static str>,
    pub path: JsonBytes<'a>,
    pub resolved: Option<JsonBytes<'a>>,
    pub cause: Option<String>,
}

/// The report as JSON Lines records, one per missing, denied and search
/// entry (process by process), then the verdicts.
pub fn json_records(report: &Report) -> Vec<Record<'_>> {
    let mut records = Vec::new();
    for p in &report.processes {
        for m in &p.missing {
            records.push(Record::Missing(MissingRecord {
                kind: "missing",
                common: Common::new(m.pid, &m.comm, m.last(), m.count, m.first_ts, m.last_ts),
                places: m.places.iter().map(|p| JsonBytes(p)).collect(),
                cause: m.cause.as_ref().map(|c| c.describe()),
            }));
        }
        for d in &p.denied {
            let a = &d.attempt;
            records.push(Record::Denied(DeniedRecord {
                kind: "denied",
                common: Common::new(d.pid, &d.comm, a, a.count, a.first_ts, a.last_ts),
                uid: a.uid,
                gid: a.gid,
                denied_by: d.denial.inode().map(|i| DeniedBy {
                    path: JsonBytes(i.path.as_os_str().as_encoded_bytes()),
                    owner_uid: i.owner_uid,
                    owner_gid: i.owner_gid,
                    mode: format!("{:04o}", i.mode),
                    lacks: super::inspect::letters(i.lacks),
                }),
                explanation: d.denial.describe(a.uid, a.gid),
            }));
        }
        for s in &p.searches {
            records.push(Record::Search(SearchRecord {
                kind: "search",
                common: Common::new(s.pid, &s.comm, s.last(), s.count, s.first_ts, s.last_ts),
                found: s.found.as_deref().map(JsonBytes),
                candidate: s.k,
                candidates: s.n,
                places: s.places.iter().map(|p| JsonBytes(p)).collect(),
                runs: s.runs,
            }));
        }
    }
    for v in &report.verdicts {
        records.push(Record::Verdict(verdict_record(v, report.events_lost)));
    }
    records
}

fn verdict_record(verdict: &Verdict, events_lost: u64) -> VerdictRecord<'_> {
    let mut record = VerdictRecord {
        kind: "verdict",
        failed: false,
        pid: None,
        comm: None,
        exit_code: None,
        signal: None,
        culprit: None,
        evidence: JsonBytes(b""),
        events_lost,
    };
    let (exit, culprit, evidence) = match verdict {
        Verdict::Succeeded { exit } => {
            record.exit_code = exit.code();
            return record;
        }
        Verdict::Unfinished { .. } | Verdict::NoFailure { .. } => return record,
        Verdict::Explained {
            exit,
            culprit,
            evidence,
        } => (exit, Some(&**culprit), evidence),
        Verdict::Unexplained { exit, evidence } => (exit, None, evidence),
    };
    record.failed = true;
    record.pid = Some(exit.pid);
    record.comm = Some(JsonBytes(&exit.comm));
    record.exit_code = exit.code();
    record.signal = exit.signal().map(signal);
    record.evidence = JsonBytes(evidence);
    record.culprit = culprit.map(|c: &Culprit| {
        let a = c.attempt();
        CulpritRecord {
            syscall: a.syscall,
            errno: errno::name(a.errno),
            path: JsonBytes(&a.path),
            resolved: resolved(a),
            cause: c.cause().map(|c| c.describe()),
        }
    });
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn elision_keeps_to_the_room_and_counts_the_rest() {
        let items = strings(&["aaaa", "bbbb", "cccc", "dddd", "eeee"]);
        assert_eq!(elide(&items, 28, ", "), "aaaa, bbbb, cccc, dddd, eeee");
        assert_eq!(elide(&items, 27, ", "), "aaaa, bbbb, … and 3 more");
        assert_eq!(elide(&items, 23, ", "), "aaaa, … and 4 more");
        assert_eq!(
            elide(&items, 0, ", "),
            "aaaa, … and 4 more",
            "one is always shown"
        );
    }

    #[test]
    fn shared_directories_are_factored_out() {
        let cases: [(&[&str], &str); 5] = [
            (
                &[
                    "/usr/share/locale/C.UTF-8/LC_MESSAGES/",
                    "/usr/share/locale/C.utf8/LC_MESSAGES/",
                    "/usr/share/locale/C/LC_MESSAGES/",
                ],
                "/usr/share/locale/{C.UTF-8,C.utf8,C}/LC_MESSAGES/",
            ),
            (&["/srv/a.so", "/srv/a.py"], "/srv/a.so, /srv/a.py"),
            (&["/a/x/", "/b/x/"], "/a/x/, /b/x/"),
            (&["/opt/lib/", "/opt/lib/hw/"], "/opt/lib/, /opt/lib/hw/"),
            (&["/only/one"], "/only/one"),
        ];
        for (items, want) in cases {
            assert_eq!(list(&strings(items), 60), want, "{items:?}");
        }
        assert_eq!(list(&strings(&["/a/x/", "/b/x/"]), 10), "/{a,b}/x/");
        assert_eq!(
            list(&strings(&["/srv/a.so", "/srv/a.py"]), 16),
            "/srv/{a.so,a.py}"
        );
        let many: Vec<String> = (0..40).map(|i| format!("/usr/lib/v{i}/libx.so")).collect();
        let line = list(&many, 60);
        assert!(line.starts_with("/usr/lib/{v0,v1,"), "{line}");
        assert!(
            line.ends_with("more}/libx.so") && line.chars().count() <= 60,
            "{line}"
        );
    }

    #[test]
    fn directories_and_names() {
        assert_eq!(
            directory(b"/usr/lib/locale/C.UTF-8/LC_CTYPE"),
            b"/usr/lib/locale/C.UTF-8/"
        );
        assert_eq!(directory(b"bare"), b"");
        assert_eq!(
            place_items(&[b"/a/libfoo.so.1".to_vec(), b"/b/libfoo.so.1".to_vec()]),
            ["/a/", "/b/"]
        );
        assert_eq!(
            place_items(&[b"/a/x.so".to_vec(), b"/a/x.py".to_vec()]),
            ["/a/x.so", "/a/x.py"]
        );
    }

    #[test]
    fn exit_statuses() {
        let exit = |wait_status| ProcessExit {
            ts_ns: 1,
            pid: 1,
            comm: Default::default(),
            wait_status,
        };
        assert_eq!(status(Some(&exit(1 << 8))), "exit 1");
        assert_eq!(status(Some(&exit(11))), "killed by SIGSEGV");
        assert_eq!(
            status(Some(&exit(11 | 0x80))),
            "killed by SIGSEGV (core dumped)"
        );
        assert_eq!(status(None), "running");
    }
}
