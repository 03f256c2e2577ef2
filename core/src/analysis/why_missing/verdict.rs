//! Choosing the lookup that explains a failure.
//!
//! A failed process usually missed several things, most of them harmless.
//! The best witness is the process itself: a program that gives up for
//! want of a file nearly always names it on stderr, so an entry the
//! process *mentioned* after its last attempt wins. Failing that, a name
//! looked for in one place only is the likelier culprit: a search over
//! several places that never succeeded (`libc.mo` under three locale
//! directories) is more often a fallback the program does without.
//!
//! Unless mentioned, a miss after which the process went on to find other
//! things (a collapsed search ended between the miss and the moment it gave
//! up) is not a culprit: the process did without it. That is what keeps an
//! interpreter's start-up probes (`python311.zip`, `pyvenv.cfg`) from being
//! blamed for a failure no lookup explains, such as a Python module that
//! exists nowhere (CPython looks names up in directory listings, so that
//! miss is never a syscall).

use super::search::final_component;
use super::{Attempt, Cause, Culprit, Denied, Joined, Missing, Proc, ProcessReport, Verdict};

/// Bytes of stderr shown as evidence: a line or two.
pub(crate) const EVIDENCE_BYTES: usize = 200;

/// Shortest name that counts as mentioned: shorter ones (`sh`, `x`) turn
/// up in any message.
const MIN_MENTION: usize = 3;

/// The verdicts for the processes in `procs` (whose reports are
/// `reports`, index for index). With a `root` (the index of the command
/// hostscope started) there is exactly one.
pub(super) fn decide(
    root: Option<usize>,
    procs: &[Proc],
    reports: &[ProcessReport],
) -> Vec<Verdict> {
    match root {
        Some(root) => vec![rooted(root, procs, reports)],
        None => unrooted(procs, reports),
    }
}

fn failed(proc: &Proc) -> bool {
    proc.exit.as_ref().is_some_and(|e| e.wait_status != 0)
}

/// Failed processes among `candidates`, the first to exit first.
fn failures(procs: &[Proc], candidates: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut failures: Vec<usize> = candidates.filter(|&i| failed(&procs[i])).collect();
    failures.sort_by_key(|&i| procs[i].exit_ts());
    failures
}

/// The first process of the command's tree to fail with a culprit: what
/// failed first is the cause, and its parents failed because it did.
fn rooted(root: usize, procs: &[Proc], reports: &[ProcessReport]) -> Verdict {
    let top = &procs[root];
    if let Some(exit) = &top.exit
        && exit.wait_status == 0
    {
        return Verdict::Succeeded { exit: exit.clone() };
    }
    let tree = (0..procs.len()).filter(|&i| descends(procs, i, root));
    for i in failures(procs, tree) {
        if let Some(verdict) = explain(&procs[i], &reports[i]) {
            return verdict;
        }
    }
    match &top.exit {
        Some(exit) => Verdict::Unexplained {
            exit: exit.clone(),
            evidence: tail(&top.stderr.joined().text).to_vec(),
        },
        None => Verdict::Unfinished {
            pid: top.pid,
            comm: top.comm,
        },
    }
}

fn unrooted(procs: &[Proc], reports: &[ProcessReport]) -> Vec<Verdict> {
    let failures = failures(procs, 0..procs.len());
    let verdicts: Vec<Verdict> = failures
        .iter()
        .filter_map(|&i| explain(&procs[i], &reports[i]))
        .collect();
    if verdicts.is_empty() {
        vec![Verdict::NoFailure {
            failed: failures.len(),
        }]
    } else {
        verdicts
    }
}

/// Whether process `i` is `root` or one of its descendants.
fn descends(procs: &[Proc], mut i: usize, root: usize) -> bool {
    // Parent links only point to earlier instances, but a bound costs
    // nothing and rules out a loop.
    for _ in 0..=procs.len() {
        if i == root {
            return true;
        }
        match procs[i].parent {
            Some(parent) => i = parent,
            None => return false,
        }
    }
    false
}

fn explain(proc: &Proc, report: &ProcessReport) -> Option<Verdict> {
    let exit = proc.exit.as_ref()?;
    let stderr = proc.stderr.joined();
    let culprit = culprit(report, proc.exit_ts()?, &stderr)?;
    let evidence = head(stderr.since(culprit.last_ts()));
    Some(Verdict::Explained {
        exit: exit.clone(),
        culprit: Box::new(culprit),
        evidence: evidence.to_vec(),
    })
}

/// A missing or denied entry, as the rules see it.
#[derive(Debug, Clone, Copy)]
enum Entry<'a> {
    Missing(&'a Missing),
    Denied(&'a Denied),
}

impl<'a> Entry<'a> {
    fn attempts(self) -> &'a [Attempt] {
        match self {
            Entry::Missing(m) => &m.attempts,
            Entry::Denied(d) => std::slice::from_ref(&d.attempt),
        }
    }

    fn cause(self) -> Option<&'a Cause> {
        match self {
            Entry::Missing(m) => m.cause.as_ref(),
            Entry::Denied(_) => None,
        }
    }

    fn places(self) -> usize {
        match self {
            Entry::Missing(m) => m.places.len(),
            Entry::Denied(_) => 1,
        }
    }

    fn first_ts(self) -> u64 {
        match self {
            Entry::Missing(m) => m.first_ts,
            Entry::Denied(d) => d.attempt.first_ts,
        }
    }

    fn last_ts(self) -> u64 {
        match self {
            Entry::Missing(m) => m.last_ts,
            Entry::Denied(d) => d.attempt.last_ts,
        }
    }

    /// Whether `text` names it: a path as passed, a resolved path, a final
    /// component, or the interpreter its cause names.
    fn mentioned_in(self, text: &[u8]) -> bool {
        let names = self.attempts().iter().flat_map(|a| {
            let resolved = a
                .resolved
                .as_deref()
                .map(|r| r.as_os_str().as_encoded_bytes());
            [
                Some(a.path.as_slice()),
                resolved,
                Some(final_component(a.place())),
            ]
        });
        let causes = self.cause().into_iter().flat_map(|c| c.paths().map(Some));
        names
            .chain(causes)
            .flatten()
            .any(|name| contains(text, name))
    }

    fn culprit(self) -> Culprit {
        match self {
            Entry::Missing(m) => Culprit::Missing(m.clone()),
            Entry::Denied(d) => Culprit::Denied(d.clone()),
        }
    }
}

fn contains(text: &[u8], name: &[u8]) -> bool {
    name.len() >= MIN_MENTION && text.windows(name.len()).any(|w| w == name)
}

/// The culprit among the process's missing and denied entries that began
/// before it exited (at `exit_ts`): the latest one it mentioned on stderr
/// after trying it; else, among those after which it found nothing else
/// before giving up, the latest looked for in one place, else the latest.
fn culprit(report: &ProcessReport, exit_ts: u64, stderr: &Joined) -> Option<Culprit> {
    let entries: Vec<Entry> = report
        .missing
        .iter()
        .map(Entry::Missing)
        .chain(report.denied.iter().map(Entry::Denied))
        .filter(|e| e.first_ts() < exit_ts)
        .collect();
    let latest = |chosen: &mut dyn Iterator<Item = &Entry<'_>>| -> Option<Culprit> {
        chosen.max_by_key(|e| e.last_ts()).map(|e| e.culprit())
    };
    let mentioned = latest(
        &mut entries
            .iter()
            .filter(|e| e.mentioned_in(stderr.since(e.last_ts()))),
    );
    if mentioned.is_some() {
        return mentioned;
    }
    let gave_up_after: Vec<&Entry> = entries
        .iter()
        .filter(|e| {
            let gave_up = stderr.first_write_since(e.last_ts()).unwrap_or(exit_ts);
            !report
                .searches
                .iter()
                .any(|s| s.found.is_some() && s.last_ts > e.last_ts() && s.last_ts < gave_up)
        })
        .collect();
    latest(&mut gave_up_after.iter().copied().filter(|e| e.places() == 1))
        .or_else(|| latest(&mut gave_up_after.iter().copied()))
}

/// The first [`EVIDENCE_BYTES`] of `text`, not cutting a character.
pub(crate) fn head(text: &[u8]) -> &[u8] {
    if text.len() <= EVIDENCE_BYTES {
        return text;
    }
    let mut end = EVIDENCE_BYTES;
    while end > 0 && text[end] & 0xc0 == 0x80 {
        end -= 1;
    }
    &text[..end]
}

/// The last [`EVIDENCE_BYTES`] of `text`, from a line start when one is
/// in reach: where a program that gives up says why.
pub(crate) fn tail(text: &[u8]) -> &[u8] {
    if text.len() <= EVIDENCE_BYTES {
        return text;
    }
    let window = &text[text.len() - EVIDENCE_BYTES..];
    let body = &window[..window.len() - 1];
    let start = match body.iter().position(|&b| b == b'\n') {
        Some(newline) => newline + 1,
        None => window.iter().position(|&b| b & 0xc0 != 0x80).unwrap_or(0),
    };
    &window[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_cut_at_characters_and_lines() {
        let long = "é".repeat(150);
        let head = head(long.as_bytes());
        assert!(std::str::from_utf8(head).is_ok(), "head cut a character");
        assert_eq!(head.len(), EVIDENCE_BYTES);

        let mut text = "x".repeat(300);
        text.push_str(
            "\nTraceback (most recent call last):\nModuleNotFoundError: No module named 'nosuch'\n",
        );
        assert_eq!(
            tail(text.as_bytes()),
            b"Traceback (most recent call last):\nModuleNotFoundError: No module named 'nosuch'\n"
        );
        assert_eq!(tail(b"short\n"), b"short\n");
        let no_lines = "ü".repeat(150);
        assert!(std::str::from_utf8(tail(no_lines.as_bytes())).is_ok());
    }

    #[test]
    fn mentions_need_three_bytes() {
        assert!(contains(b"cat: /etc/x.conf: No such file", b"x.conf"));
        assert!(!contains(b"sh: 1: x: not found", b"x"));
        assert!(!contains(b"anything", b""));
    }
}
