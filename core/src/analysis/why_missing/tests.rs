//! Scenarios in the shapes real programs produce them (as strace shows
//! them on Debian x86_64), from observations to the rendered report.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use serde_json::Value;

use super::inspect::tests::{TempDir, patched_true};
use super::render::{json_records, render_text};
use super::*;

const ENOENT: i32 = libc::ENOENT;
const EACCES: i32 = libc::EACCES;

/// Observations with a clock that ticks a microsecond per event.
struct Script {
    observations: Vec<Observation>,
    ts: u64,
}

impl Script {
    fn new() -> Script {
        Script {
            observations: Vec::new(),
            ts: 1_700_000_000_000_000_000,
        }
    }

    fn tick(&mut self) -> u64 {
        self.ts += 1_000;
        self.ts
    }

    fn lookup(
        &mut self,
        pid: u32,
        comm: &str,
        syscall: &'static str,
        errno: Option<i32>,
        path: &[u8],
    ) {
        let ts_ns = self.tick();
        self.observations.push(Observation::Lookup(Lookup {
            ts_ns,
            pid,
            tid: pid,
            comm: comm.as_bytes().into(),
            syscall,
            errno,
            path: path.to_vec(),
            resolved: path
                .starts_with(b"/")
                .then(|| PathBuf::from(std::ffi::OsStr::from_bytes(path))),
            uid: 1000,
            gid: 1000,
        }));
    }

    fn miss(&mut self, pid: u32, syscall: &'static str, path: &str) -> &mut Self {
        self.lookup(pid, "prog", syscall, Some(ENOENT), path.as_bytes());
        self
    }

    fn found(&mut self, pid: u32, syscall: &'static str, path: &str) -> &mut Self {
        self.lookup(pid, "prog", syscall, None, path.as_bytes());
        self
    }

    /// The probe's count of `count` more identical misses by thread `pid`.
    fn repeat(&mut self, pid: u32, count: u64) -> &mut Self {
        let ts_ns = self.tick();
        self.observations.push(Observation::Repeat {
            ts_ns,
            pid,
            tid: pid,
            count,
        });
        self
    }

    fn stderr(&mut self, pid: u32, bytes: &[u8]) -> &mut Self {
        let ts_ns = self.tick();
        self.observations.push(Observation::Stderr {
            ts_ns,
            pid,
            bytes: bytes.to_vec(),
        });
        self
    }

    fn fork(&mut self, parent: u32, child: u32) -> &mut Self {
        let ts_ns = self.tick();
        self.observations.push(Observation::Fork {
            ts_ns,
            parent,
            child,
        });
        self
    }

    fn exec(&mut self, pid: u32, filename: &str) -> &mut Self {
        let ts_ns = self.tick();
        self.observations.push(Observation::Exec {
            ts_ns,
            pid,
            filename: filename.as_bytes().to_vec(),
        });
        self
    }

    fn exit(&mut self, pid: u32, comm: &str, wait_status: i32) -> &mut Self {
        let ts_ns = self.tick();
        self.observations.push(Observation::Exit {
            ts_ns,
            pid,
            comm: comm.as_bytes().into(),
            wait_status,
        });
        self
    }

    fn report(&self, root: Option<u32>) -> Report {
        let mut analyzer = Analyzer::new(root);
        for obs in &self.observations {
            analyzer.observe(obs.clone());
        }
        analyzer.report()
    }
}

fn text(s: &str) -> String {
    s.to_owned()
}

fn places_of(places: &[Vec<u8>]) -> Vec<String> {
    places
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

fn only_process(report: &Report) -> &ProcessReport {
    let with_lookups: Vec<&ProcessReport> = report
        .processes
        .iter()
        .filter(|p| !(p.missing.is_empty() && p.searches.is_empty() && p.denied.is_empty()))
        .collect();
    assert_eq!(with_lookups.len(), 1, "expected one process: {report:#?}");
    with_lookups[0]
}

fn records(report: &Report) -> Vec<Value> {
    json_records(report)
        .iter()
        .map(|r| serde_json::to_value(r).expect("records serialize"))
        .collect()
}

/// What a search scenario should come to.
enum Expect {
    /// One search, found at candidate `k` of `k` after missing `places`.
    Found { k: usize, places: Vec<String> },
    /// One missing entry over `places`.
    Missing { places: Vec<String> },
}

#[test]
fn searches_collapse() {
    let hwcaps: Vec<String> = [
        "/opt/app/lib/glibc-hwcaps/x86-64-v4/",
        "/opt/app/lib/glibc-hwcaps/x86-64-v3/",
        "/opt/app/lib/glibc-hwcaps/x86-64-v2/",
        "/opt/app/lib/",
        "/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/",
        "/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v2/",
    ]
    .iter()
    .map(|d| format!("{d}libfoo.so.1"))
    .collect();
    let path_dirs = ["/usr/local/sbin/x", "/usr/local/bin/x", "/usr/sbin/x"].map(text);
    let python = [
        "/srv/app/pkg/__init__.cpython-311-x86_64-linux-gnu.so",
        "/srv/app/pkg/__init__.abi3.so",
        "/srv/app/pkg/__init__.so",
    ]
    .map(text);
    let pyc = ["/srv/app/__pycache__/foo.cpython-311.pyc"].map(text);
    let locale = ["/usr/lib/locale/C.UTF-8/LC_CTYPE"].map(text);

    type Steps = Box<dyn Fn(&mut Script)>;
    let misses = |syscall: &'static str, places: Vec<String>| -> Steps {
        Box::new(move |s: &mut Script| {
            for p in &places {
                s.miss(7, syscall, p);
            }
        })
    };
    let then = |first: Steps, second: Steps| -> Steps {
        Box::new(move |s: &mut Script| {
            first(s);
            second(s);
        })
    };
    let found = |syscall: &'static str, path: &'static str| -> Steps {
        Box::new(move |s: &mut Script| {
            s.found(7, syscall, path);
        })
    };
    let cases: Vec<(&str, Steps, Expect)> = vec![
        (
            "ld.so through hwcaps dirs, found",
            then(
                misses("openat", hwcaps.clone()),
                found("openat", "/lib/x86_64-linux-gnu/libfoo.so.1"),
            ),
            Expect::Found {
                k: 7,
                places: hwcaps.clone(),
            },
        ),
        (
            "ld.so through hwcaps dirs, never found",
            misses("openat", hwcaps.clone()),
            Expect::Missing {
                places: hwcaps.clone(),
            },
        ),
        (
            "the same misses again are the same places",
            then(
                misses("openat", hwcaps.clone()),
                misses("openat", hwcaps.clone()),
            ),
            Expect::Missing {
                places: hwcaps.clone(),
            },
        ),
        (
            "$PATH search ended by the exec record",
            then(
                misses("execve", path_dirs.to_vec()),
                Box::new(|s: &mut Script| {
                    s.exec(7, "/usr/bin/x");
                }),
            ),
            Expect::Found {
                k: 4,
                places: path_dirs.to_vec(),
            },
        ),
        (
            "$PATH search ended by a path-less execve success",
            then(misses("execve", path_dirs.to_vec()), found("execve", "")),
            Expect::Found {
                k: 4,
                places: path_dirs.to_vec(),
            },
        ),
        (
            "$PATH search ended by both, in either order",
            then(
                misses("execve", path_dirs.to_vec()),
                Box::new(|s: &mut Script| {
                    s.found(7, "execve", "").exec(7, "/usr/bin/x");
                }),
            ),
            Expect::Found {
                k: 4,
                places: path_dirs.to_vec(),
            },
        ),
        (
            "Python extension suffixes, then the source",
            then(
                misses("openat", python.to_vec()),
                found("newfstatat", "/srv/app/pkg/__init__.py"),
            ),
            Expect::Found {
                k: 4,
                places: python.to_vec(),
            },
        ),
        (
            "a stale bytecode cache, then the source",
            then(
                misses("openat", pyc.to_vec()),
                found("openat", "/srv/app/foo.py"),
            ),
            Expect::Found {
                k: 2,
                places: pyc.to_vec(),
            },
        ),
        (
            "locale C.UTF-8 missing, C.utf8 there",
            then(
                misses("openat", locale.to_vec()),
                found("openat", "/usr/lib/locale/C.utf8/LC_CTYPE"),
            ),
            Expect::Found {
                k: 2,
                places: locale.to_vec(),
            },
        ),
    ];
    for (name, steps, expect) in cases {
        let mut script = Script::new();
        steps(&mut script);
        let report = script.report(None);
        let p = only_process(&report);
        match expect {
            Expect::Found { k, places } => {
                assert!(
                    p.missing.is_empty(),
                    "{name}: left missing {:#?}",
                    p.missing
                );
                assert_eq!(p.searches.len(), 1, "{name}: {:#?}", p.searches);
                let s = &p.searches[0];
                assert_eq!((s.k, s.n), (k, k), "{name}");
                assert_eq!(places_of(&s.places), places, "{name}");
            }
            Expect::Missing { places } => {
                assert!(p.searches.is_empty(), "{name}: {:#?}", p.searches);
                assert_eq!(p.missing.len(), 1, "{name}: {:#?}", p.missing);
                assert_eq!(places_of(&p.missing[0].places), places, "{name}");
            }
        }
    }
}

#[test]
fn a_repeated_search_counts_every_try() {
    let mut s = Script::new();
    for p in ["/a/libz.so.1", "/b/libz.so.1"] {
        s.miss(7, "openat", p);
    }
    for p in ["/a/libz.so.1", "/b/libz.so.1"] {
        s.miss(7, "openat", p);
    }
    let report = s.report(None);
    let m = &only_process(&report).missing[0];
    assert_eq!((m.places.len(), m.count), (2, 4));
    assert!(
        render_text(&report, false, false)
            .contains("libz.so.1 in 2 places (openat ENOENT ×4): /a/, /b/"),
        "{}",
        render_text(&report, false, false)
    );
}

#[test]
fn twelve_locale_names_missing_from_one_directory_are_one_line() {
    let names = [
        "LC_IDENTIFICATION",
        "LC_MEASUREMENT",
        "LC_TELEPHONE",
        "LC_ADDRESS",
        "LC_NAME",
        "LC_PAPER",
        "LC_MESSAGES",
        "LC_MONETARY",
        "LC_COLLATE",
        "LC_TIME",
        "LC_NUMERIC",
        "LC_CTYPE",
    ];
    let mut s = Script::new();
    for name in names {
        s.miss(7, "openat", &format!("/usr/lib/locale/C.UTF-8/{name}"));
    }
    let report = s.report(None);
    let p = only_process(&report);
    assert_eq!(p.missing.len(), 12, "one entry per name");
    let text = render_text(&report, false, false);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("/usr/lib/locale"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].starts_with(
            "  12 names in /usr/lib/locale/C.UTF-8/: LC_IDENTIFICATION, LC_MEASUREMENT, "
        ),
        "{text}"
    );
    assert!(lines[0].contains("more"), "{text}");
    assert!(lines[0].chars().count() <= 120, "{text}");
    let missing: Vec<Value> = records(&report)
        .into_iter()
        .filter(|r| r["type"] == "missing")
        .collect();
    assert_eq!(missing.len(), 12);
}

/// `cat /etc/nosuch.conf` with LANG=C.UTF-8, as glibc's ld.so, setlocale
/// and error() do it.
fn cat_script() -> Script {
    let mut s = Script::new();
    let cat = 4242;
    s.lookup(cat, "cat", "access", Some(ENOENT), b"/etc/ld.so.preload");
    s.lookup(cat, "cat", "openat", None, b"/etc/ld.so.cache");
    s.lookup(
        cat,
        "cat",
        "openat",
        Some(ENOENT),
        b"/usr/lib/locale/locale-archive",
    );
    s.lookup(
        cat,
        "cat",
        "openat",
        Some(ENOENT),
        b"/usr/lib/locale/C.UTF-8/LC_CTYPE",
    );
    s.lookup(
        cat,
        "cat",
        "openat",
        None,
        b"/usr/lib/locale/C.utf8/LC_CTYPE",
    );
    s.lookup(cat, "cat", "openat", Some(ENOENT), b"/etc/nosuch.conf");
    s.stderr(cat, b"cat: ").stderr(cat, b"/etc/nosuch.conf");
    for dir in ["C.UTF-8", "C.utf8", "C"] {
        let path = format!("/usr/share/locale/{dir}/LC_MESSAGES/libc.mo");
        s.lookup(cat, "cat", "openat", Some(ENOENT), path.as_bytes());
    }
    s.stderr(cat, b": No such file or directory")
        .stderr(cat, b"\n")
        .exit(cat, "cat", 1 << 8);
    s
}

#[test]
fn cat_of_a_missing_file_blames_the_file_it_named() {
    let report = cat_script().report(Some(4242));
    let [
        Verdict::Explained {
            exit,
            culprit,
            evidence,
        },
    ] = report.verdicts.as_slice()
    else {
        panic!("expected one explained verdict: {:#?}", report.verdicts);
    };
    assert_eq!(exit.code(), Some(1));
    assert_eq!(culprit.attempt().path, b"/etc/nosuch.conf");
    assert_eq!(
        evidence.as_slice(),
        b"cat: /etc/nosuch.conf: No such file or directory\n"
    );
    let text = render_text(&report, false, false);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "verdict: cat[4242] failed (exit 1) after openat /etc/nosuch.conf: ENOENT",
            "  cat[4242] said: \"cat: /etc/nosuch.conf: No such file or directory\\n\"",
        ],
        "{text}"
    );
    assert!(
        text.contains(
            "  libc.mo in 3 places (openat ENOENT ×3): /usr/share/locale/{C.UTF-8,C.utf8,C}/LC_MESSAGES/\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("2 searches collapsed (found at candidate 2)"),
        "{text}"
    );
    let verbose = render_text(&report, true, false);
    assert!(
        verbose.contains(
            "  found /usr/lib/locale/C.utf8/LC_CTYPE at candidate 2 of 2 (missed: \
             /usr/lib/locale/C.UTF-8/LC_CTYPE)"
        ),
        "{verbose}"
    );
    let coloured = render_text(&report, false, true);
    assert!(
        coloured.contains("\x1b[31m/etc/nosuch.conf\x1b[0m"),
        "{coloured}"
    );
    assert!(!text.contains('\x1b'), "colour without asking: {text}");

    let json = records(&report);
    let verdict = json.last().expect("records");
    assert_eq!(verdict["type"], "verdict");
    assert_eq!(verdict["failed"], true);
    assert_eq!(verdict["pid"], 4242);
    assert_eq!(verdict["comm"], "cat");
    assert_eq!(verdict["exit_code"], 1);
    assert_eq!(verdict["signal"], Value::Null);
    assert_eq!(verdict["culprit"]["path"], "/etc/nosuch.conf");
    assert_eq!(verdict["culprit"]["errno"], "ENOENT");
    assert_eq!(verdict["culprit"]["syscall"], "openat");
    assert_eq!(
        verdict["evidence"],
        "cat: /etc/nosuch.conf: No such file or directory\n"
    );
    let libc_mo = json
        .iter()
        .find(|r| r["type"] == "missing" && r["places"].as_array().is_some_and(|p| p.len() == 3))
        .expect("the libc.mo record");
    assert_eq!(libc_mo["count"], 3);
    assert_eq!(libc_mo["path"], "/usr/share/locale/C/LC_MESSAGES/libc.mo");
}

#[test]
fn without_a_mention_a_one_place_miss_beats_a_fallback_search() {
    let mut s = Script::new();
    s.miss(50, "openat", "/etc/myapp/config.toml");
    for dir in ["C.UTF-8", "C.utf8", "C"] {
        s.miss(
            50,
            "openat",
            &format!("/usr/share/locale/{dir}/LC_MESSAGES/libc.mo"),
        );
    }
    s.stderr(50, b"error: cannot start\n")
        .exit(50, "myapp", 1 << 8);
    let report = s.report(Some(50));
    let Verdict::Explained {
        culprit, evidence, ..
    } = &report.verdicts[0]
    else {
        panic!("expected a culprit: {:#?}", report.verdicts);
    };
    assert_eq!(culprit.attempt().path, b"/etc/myapp/config.toml");
    assert_eq!(evidence.as_slice(), b"error: cannot start\n");
}

#[test]
fn a_miss_the_process_got_past_is_not_the_culprit() {
    // CPython at start-up: probes it does without, then imports that work
    // (each a collapsed search), then a module that exists nowhere, which
    // no lookup shows.
    let mut s = Script::new();
    s.miss(60, "openat", "/usr/bin/pybuilddir.txt").miss(
        60,
        "newfstatat",
        "/usr/lib/python311.zip",
    );
    for suffix in ["cpython-311-x86_64-linux-gnu.so", "abi3.so", "so"] {
        s.miss(
            60,
            "newfstatat",
            &format!("/usr/lib/python3.11/json/__init__.{suffix}"),
        );
    }
    s.found(60, "newfstatat", "/usr/lib/python3.11/json/__init__.py")
        .stderr(60, b"ModuleNotFoundError: No module named 'nosuch'\n")
        .exit(60, "python3", 1 << 8);
    let report = s.report(Some(60));
    assert!(
        matches!(report.verdicts[0], Verdict::Unexplained { .. }),
        "{:#?}",
        report.verdicts
    );

    // The same misses with nothing found after them: the last one stands.
    let mut s = Script::new();
    s.miss(61, "openat", "/usr/bin/pybuilddir.txt")
        .miss(61, "newfstatat", "/opt/app/lib")
        .stderr(61, b"ModuleNotFoundError: No module named 'app'\n")
        .exit(61, "python3", 1 << 8);
    let report = s.report(Some(61));
    let Verdict::Explained { culprit, .. } = &report.verdicts[0] else {
        panic!("expected a culprit: {:#?}", report.verdicts);
    };
    assert_eq!(culprit.attempt().path, b"/opt/app/lib");
}

#[test]
fn the_first_failing_descendant_is_the_culprit() {
    let mut s = Script::new();
    s.lookup(100, "sh", "access", Some(ENOENT), b"/etc/ld.so.preload");
    s.fork(100, 101);
    s.lookup(101, "sh", "execve", Some(ENOENT), b"/opt/x");
    s.stderr(101, b"sh: 1: /opt/x: not found\n")
        .exit(101, "sh", 127 << 8)
        .exit(100, "sh", 127 << 8);
    let report = s.report(Some(100));
    let Verdict::Explained { exit, culprit, .. } = &report.verdicts[0] else {
        panic!("expected a culprit: {:#?}", report.verdicts);
    };
    assert_eq!((exit.pid, exit.code()), (101, Some(127)));
    assert_eq!(culprit.attempt().path, b"/opt/x");
    let child = report
        .processes
        .iter()
        .find(|p| p.pid == 101)
        .expect("the child");
    assert_eq!(child.parent, Some(100));
    let text = render_text(&report, false, false);
    assert!(
        text.starts_with("verdict: sh[101] failed (exit 127) after execve /opt/x: ENOENT\n"),
        "{text}"
    );
    // Two processes: each entry names its own.
    assert!(
        text.contains("  /opt/x (execve ENOENT) in sh[101]"),
        "{text}"
    );
}

#[test]
fn verdicts_without_a_culprit() {
    // (name, script, root, expected verdict text)
    type Build = fn(&mut Script);
    let cases: [(&str, Build, Option<u32>, &str); 5] = [
        (
            "success",
            |s| {
                s.miss(9, "openat", "/etc/nosuch.conf").exit(9, "ls", 0);
            },
            Some(9),
            "verdict: nothing missing that mattered (ls[9] exited with 0)\n",
        ),
        (
            "a Python import error is no lookup",
            |s| {
                s.found(9, "openat", "/usr/lib/python3.11/os.py");
                s.stderr(9, b"Traceback (most recent call last):\n")
                    .stderr(9, b"ModuleNotFoundError: No module named 'nosuch'\n")
                    .exit(9, "python3", 1 << 8);
            },
            Some(9),
            "verdict: python3[9] failed (exit 1); no failed lookup explains the failure\n  \
             python3[9] said: \"Traceback (most recent call last):\\nModuleNotFoundError: No \
             module named 'nosuch'\\n\"\n",
        ),
        (
            "killed",
            |s| {
                s.exit(9, "crash", 11);
            },
            Some(9),
            "verdict: crash[9] failed (killed by SIGSEGV); no failed lookup explains the failure\n",
        ),
        (
            "still running",
            |s| {
                s.miss(9, "stat", "/run/x.pid");
            },
            Some(9),
            "verdict: nothing missing that mattered so far (prog[9] had not exited)\n",
        ),
        (
            "nothing failed on the host",
            |s| {
                s.miss(9, "stat", "/run/x.pid").exit(9, "daemon", 0);
            },
            None,
            "verdict: nothing missing that mattered (no watched process failed)\n",
        ),
    ];
    for (name, build, root, want) in cases {
        let mut s = Script::new();
        build(&mut s);
        let report = s.report(root);
        let text = render_text(&report, false, false);
        assert!(text.starts_with(want), "{name}:\n{text}");
        let verdict = records(&report).pop().expect("a verdict record");
        assert_eq!(verdict["type"], "verdict", "{name}");
        assert_eq!(verdict["culprit"], Value::Null, "{name}");
    }
}

#[test]
fn the_exit_status_from_waitpid_wins_and_an_unknown_time_sorts_last() {
    let mut s = Script::new();
    s.miss(9, "openat", "/etc/app.conf").exit(9, "app", 0);
    let mut analyzer = Analyzer::new(Some(9));
    for obs in &s.observations {
        analyzer.observe(obs.clone());
    }
    analyzer.observe(Observation::Exit {
        ts_ns: 0,
        pid: 9,
        comm: Default::default(),
        wait_status: 2 << 8,
    });
    let report = analyzer.report();
    let Verdict::Explained { exit, .. } = &report.verdicts[0] else {
        panic!("expected a culprit: {:#?}", report.verdicts);
    };
    assert_eq!((exit.code(), &exit.comm[..]), (Some(2), &b"app"[..]));

    // Only waitpid's status: every lookup is before it.
    let mut analyzer = Analyzer::new(Some(9));
    analyzer.observe(s.observations[0].clone());
    analyzer.observe(Observation::Exit {
        ts_ns: 0,
        pid: 9,
        comm: Default::default(),
        wait_status: 1 << 8,
    });
    assert!(matches!(
        analyzer.report().verdicts[0],
        Verdict::Explained { .. }
    ));
}

#[test]
fn a_million_identical_misses_are_one_entry() {
    let mut analyzer = Analyzer::new(None);
    let lookup = Lookup {
        ts_ns: 1,
        pid: 3,
        tid: 3,
        comm: b"retry".into(),
        syscall: "openat",
        errno: Some(ENOENT),
        path: b"/run/app/socket.lock".to_vec(),
        resolved: Some(PathBuf::from("/run/app/socket.lock")),
        uid: 0,
        gid: 0,
    };
    for i in 0..1_000_000u64 {
        let mut l = lookup.clone();
        l.ts_ns = 1 + i;
        analyzer.observe(Observation::Lookup(l));
    }
    let proc = &analyzer.procs[analyzer.by_pid[&3]];
    assert_eq!(proc.searches.stored(), 1, "attempts kept");
    let report = analyzer.report();
    let m = &only_process(&report).missing;
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].count, 1_000_000);
    assert_eq!((m[0].first_ts, m[0].last_ts), (1, 1_000_000));
    assert!(
        render_text(&report, false, false)
            .contains("/run/app/socket.lock (openat ENOENT ×1000000)")
    );
}

#[test]
fn stderr_keeps_the_newest_bytes_and_says_what_it_dropped() {
    let mut s = Script::new();
    s.miss(5, "openat", "/etc/app.conf");
    for _ in 0..100 {
        s.stderr(5, &[b'w'; 100]);
    }
    s.stderr(5, b"fatal: /etc/app.conf missing\n")
        .exit(5, "app", 1 << 8);
    let report = s.report(Some(5));
    let p = only_process(&report);
    // Whole writes go, oldest first: 60 of the 100-byte ones.
    assert_eq!(p.dropped_stderr_bytes, 6000);
    let text = render_text(&report, false, false);
    assert!(
        text.contains("note: app[5] wrote more to stderr than is kept"),
        "{text}"
    );
    assert!(
        text.starts_with("verdict: app[5] failed (exit 1) after openat /etc/app.conf: ENOENT"),
        "{text}"
    );
}

#[test]
fn a_denied_open_is_explained_by_the_mode() {
    let dir = TempDir::new("analyzer-denied");
    let secret = dir.path.join("secret.key");
    fs::write(&secret, "k").expect("write the file");
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).expect("chmod 000");
    let mut analyzer = Analyzer::new(None);
    let lookup = |pid: u32, ts_ns: u64| Lookup {
        ts_ns,
        pid,
        tid: pid,
        comm: b"server".into(),
        syscall: "openat",
        errno: Some(EACCES),
        path: b"secret.key".to_vec(),
        resolved: Some(secret.clone()),
        uid: 65534,
        gid: 65534,
    };
    analyzer.observe(Observation::Lookup(lookup(20, 10)));
    analyzer.observe(Observation::Stderr {
        ts_ns: 11,
        pid: 20,
        bytes: b"server: cannot read secret.key: Permission denied\n".to_vec(),
    });
    analyzer.observe(Observation::Exit {
        ts_ns: 12,
        pid: 20,
        comm: b"server".into(),
        wait_status: 1 << 8,
    });
    // Another process on the host, to show the report grouped by process.
    analyzer.observe(Observation::Lookup(Lookup {
        errno: Some(ENOENT),
        path: b"/etc/other.conf".to_vec(),
        resolved: Some(PathBuf::from("/etc/other.conf")),
        ..lookup(21, 13)
    }));
    let report = analyzer.report();
    let server = &report.processes[0];
    assert_eq!(server.denied.len(), 1);
    assert!(server.missing.is_empty());
    let Verdict::Explained { culprit, .. } = &report.verdicts[0] else {
        panic!("expected a culprit: {:#?}", report.verdicts);
    };
    assert!(matches!(**culprit, Culprit::Denied(_)));

    let text = render_text(&report, false, false);
    let secret_text = secret.display().to_string();
    assert!(
        text.starts_with(&format!(
            "verdict: server[20] failed (exit 1) after openat {secret_text}: EACCES\n"
        )),
        "{text}"
    );
    assert!(text.contains("server[20] (exit 1):\n  denied:\n"), "{text}");
    assert!(
        text.contains("server[21] (running):\n  missing:\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("    {secret_text} (openat EACCES): owner ")),
        "{text}"
    );
    assert!(
        text.contains(", mode 0000: uid 65534 gid 65534 (others) lacks rwx"),
        "{text}"
    );

    let json = records(&report);
    let denied = json
        .iter()
        .find(|r| r["type"] == "denied")
        .expect("a denied record");
    assert_eq!(denied["uid"], 65534);
    assert_eq!(denied["path"], "secret.key");
    assert_eq!(denied["resolved"], secret_text.as_str());
    assert_eq!(denied["denied_by"]["path"], secret_text.as_str());
    assert_eq!(denied["denied_by"]["mode"], "0000");
    assert_eq!(denied["denied_by"]["lacks"], "rwx");
    // SAFETY: getuid has no preconditions and cannot fail.
    let me = unsafe { libc::getuid() };
    assert_eq!(denied["denied_by"]["owner_uid"], me);
}

#[test]
fn an_exec_enoent_on_a_file_that_exists_names_what_is_missing() {
    let dir = TempDir::new("analyzer-exec");
    let write = |name: &str, text: &[u8]| {
        let path = dir.path.join(name);
        fs::write(&path, text).expect("write the script");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod 755");
        path
    };
    let cases: [(&str, PathBuf, &str, &str); 3] = [
        (
            "missing interpreter",
            write("run.sh", b"#!/no/such/bash\necho hi\n"),
            "interpreter /no/such/bash not found",
            "interpreter /no/such/bash not found",
        ),
        (
            "CRLF script",
            write("crlf.sh", b"#!/bin/sh\r\necho hi\r\n"),
            "interpreter /bin/sh\\r not found",
            "interpreter /bin/sh\\r not found",
        ),
        (
            "ELF for another loader",
            patched_true(&dir.path.join("true")),
            "ELF interpreter (dynamic loader) /no/such/",
            "ELF interpreter (dynamic loader) /no/such/",
        ),
    ];
    for (name, file, text_cause, json_cause) in cases {
        let file_bytes = file.as_os_str().as_bytes().to_vec();
        let mut s = Script::new();
        s.fork(1, 60);
        s.lookup(60, "sh", "execve", Some(ENOENT), &file_bytes);
        let said: Vec<u8> = [b"sh: 1: ".as_slice(), &file_bytes, b": not found\n"].concat();
        s.stderr(60, &said).exit(60, "sh", 127 << 8);
        let report = s.report(Some(60));
        let Verdict::Explained { culprit, .. } = &report.verdicts[0] else {
            panic!("{name}: expected a culprit: {:#?}", report.verdicts);
        };
        assert!(culprit.cause().is_some(), "{name}: no cause");
        let text = render_text(&report, false, false);
        let first = text.lines().next().expect("a verdict line");
        assert!(
            first.starts_with(&format!(
                "verdict: sh[60] failed (exit 127) after execve {}: ENOENT: {text_cause}",
                file.display()
            )),
            "{name}: {text}"
        );
        assert!(
            text.contains(&format!("(execve ENOENT): {text_cause}")),
            "{name}: {text}"
        );
        let json = records(&report);
        let missing = json
            .iter()
            .find(|r| r["type"] == "missing")
            .expect("a missing record");
        let cause = missing["cause"].as_str().expect("a cause");
        assert!(cause.starts_with(json_cause), "{name}: {cause}");
        let verdict = json.last().expect("the verdict");
        assert_eq!(verdict["culprit"]["cause"], missing["cause"], "{name}");
    }
}

#[test]
fn hostile_bytes_never_reach_the_text_raw() {
    let evil: &[u8] = "/tmp/\x1b[31mred\u{202e}txt.conf\n".as_bytes();
    let mut s = Script::new();
    s.lookup(66, "e\x1b]0;x\x07vil", "openat", Some(ENOENT), evil);
    s.lookup(
        66,
        "e\x1b]0;x\x07vil",
        "openat",
        Some(EACCES),
        b"/root/\x1b[2J",
    );
    s.fork(66, 67);
    s.lookup(67, "k\u{202e}id", "stat", Some(ENOENT), b"\x9b31m.so");
    s.stderr(66, evil)
        .stderr(66, b"\x1b[2J\xff")
        .exit(66, "e\x1b]0;x\x07vil", 1 << 8);
    for root in [Some(66), None] {
        let report = s.report(root);
        for verbose in [false, true] {
            let text = render_text(&report, verbose, true);
            let raw: Vec<char> = text
                .chars()
                .filter(|&c| c != '\n' && c != '\x1b')
                .filter(|&c| c.is_control() || ('\u{200b}'..='\u{206f}').contains(&c))
                .collect();
            assert!(raw.is_empty(), "raw {raw:?} in {text}");
            // Our own colour codes are the only escapes: each is `ESC[<n>m`.
            let escapes = text.matches('\x1b').count();
            let ours = text.matches("\x1b[0m").count() * 2;
            assert_eq!(escapes, ours, "{text}");
            assert!(text.contains("\\33[31mred\\u{202e}txt.conf\\n"), "{text}");
        }
        let json = records(&report);
        let exact = json
            .iter()
            .any(|r| r["path"] == "/tmp/\x1b[31mred\u{202e}txt.conf\n");
        assert!(exact, "JSON lost the exact bytes: {json:#?}");
        let line = serde_json::to_string(&json).expect("serializes");
        assert!(!line.contains('\x1b'), "{line}");
    }
}

#[test]
fn json_records_have_a_fixed_shape() {
    let dir = TempDir::new("schema");
    let locked = dir.path.join("locked");
    fs::create_dir(&locked).expect("mkdir");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o700)).expect("chmod 700");
    let mut s = cat_script();
    let denied = locked.join("f");
    s.lookup(
        4242,
        "cat",
        "openat",
        Some(EACCES),
        denied.as_os_str().as_bytes(),
    );
    // Nudge the denial before the exit, which cat_script already sent.
    let exit = s.observations.remove(s.observations.len() - 2);
    s.observations.push(exit);
    for obs in &mut s.observations {
        if let Observation::Lookup(l) = obs {
            l.uid = 65534;
            l.gid = 65534;
        }
    }
    let report = s.report(Some(4242));
    let common = [
        "type",
        "pid",
        "comm",
        "syscall",
        "errno",
        "path",
        "resolved",
        "count",
        "first_ts_ns",
        "last_ts_ns",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut keys: Vec<&str> = common.iter().chain(extra).copied().collect();
        keys.sort_unstable();
        keys
    };
    let mut seen = Vec::new();
    for record in records(&report) {
        let kind = record["type"].as_str().expect("a type").to_owned();
        let mut keys: Vec<&str> = record
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let want = match kind.as_str() {
            "missing" => with(&["places", "cause"]),
            "denied" => with(&["uid", "gid", "denied_by", "explanation"]),
            "search" => with(&["found", "candidate", "candidates", "places", "runs"]),
            "verdict" => {
                let mut keys = vec![
                    "type",
                    "failed",
                    "pid",
                    "comm",
                    "exit_code",
                    "signal",
                    "culprit",
                    "evidence",
                    "events_lost",
                ];
                keys.sort_unstable();
                keys
            }
            other => panic!("unknown record type {other}"),
        };
        assert_eq!(keys, want, "keys of {kind}");
        if kind == "denied" {
            let mut by: Vec<&str> = record["denied_by"]
                .as_object()
                .expect("denied_by is an object")
                .keys()
                .map(String::as_str)
                .collect();
            by.sort_unstable();
            assert_eq!(by, ["lacks", "mode", "owner_gid", "owner_uid", "path"]);
            assert_eq!(record["denied_by"]["mode"], "0700");
        }
        if kind == "verdict" {
            let mut culprit: Vec<&str> = record["culprit"]
                .as_object()
                .expect("a culprit")
                .keys()
                .map(String::as_str)
                .collect();
            culprit.sort_unstable();
            assert_eq!(culprit, ["cause", "errno", "path", "resolved", "syscall"]);
        }
        seen.push(kind);
    }
    seen.dedup();
    assert_eq!(seen, ["missing", "denied", "search", "verdict"]);
}

#[test]
fn lost_events_are_owned_up_to() {
    let mut report = cat_script().report(Some(4242));
    report.events_lost = 12;
    let text = render_text(&report, false, false);
    assert!(
        text.contains("warning: 12 events were lost: the verdict may be incomplete"),
        "{text}"
    );
    let verdict = records(&report).pop().expect("a verdict");
    assert_eq!(verdict["events_lost"], 12);
}

#[test]
fn a_reused_pid_is_a_new_process() {
    let mut s = Script::new();
    s.miss(30, "openat", "/etc/first.conf")
        .exit(30, "first", 1 << 8);
    s.miss(30, "openat", "/etc/second.conf")
        .exit(30, "second", 0);
    let report = s.report(None);
    let instances: Vec<&ProcessReport> = report.processes.iter().filter(|p| p.pid == 30).collect();
    assert_eq!(instances.len(), 2, "one process per life of pid 30");
    let [Verdict::Explained { exit, culprit, .. }] = report.verdicts.as_slice() else {
        panic!("expected one verdict: {:#?}", report.verdicts);
    };
    assert_eq!(exit.comm, b"first");
    assert_eq!(culprit.attempt().path, b"/etc/first.conf");
}

#[test]
fn a_long_host_wide_run_forgets_clean_processes_but_not_misses() {
    let mut analyzer = Analyzer::new(None);
    let ts = 1_700_000_000_000_000_000u64;
    let observe = |analyzer: &mut Analyzer, obs: Observation| analyzer.observe(obs);
    let miss = |pid: u32, ts_ns: u64| {
        Observation::Lookup(Lookup {
            ts_ns,
            pid,
            tid: pid,
            comm: b"app".into(),
            syscall: "openat",
            errno: Some(ENOENT),
            path: b"/etc/app/missing.conf".to_vec(),
            resolved: Some(PathBuf::from("/etc/app/missing.conf")),
            uid: 0,
            gid: 0,
        })
    };
    let exit = |pid: u32, ts_ns: u64, wait_status: i32| Observation::Exit {
        ts_ns,
        pid,
        comm: b"app".into(),
        wait_status,
    };
    observe(&mut analyzer, miss(7, ts));
    observe(&mut analyzer, exit(7, ts, 1 << 8));
    for pid in 100..(100 + 3 * MAX_PROCS as u32) {
        observe(&mut analyzer, exit(pid, ts + u64::from(pid), 0));
    }
    assert!(
        analyzer.procs.len() <= MAX_PROCS,
        "{} process records kept",
        analyzer.procs.len()
    );
    let report = analyzer.report();
    assert!(
        report.forgotten >= 2 * MAX_PROCS as u64,
        "{}",
        report.forgotten
    );
    assert!(
        report
            .processes
            .iter()
            .any(|p| p.pid == 7 && p.missing.len() == 1),
        "the process that missed a file is kept"
    );
    assert!(render_text(&report, false, false).contains("forgotten to bound memory"));
}

#[test]
fn repeats_counted_in_the_kernel_add_to_the_thread_s_last_miss() {
    let report = Script::new()
        .miss(7, "openat", "/etc/app.conf")
        .repeat(7, 999_999)
        .miss(7, "openat", "/etc/other.conf")
        .repeat(7, 4)
        .exit(7, "prog", 1 << 8)
        .report(Some(7));
    let p = only_process(&report);
    let count = |path: &str| {
        p.missing
            .iter()
            .find(|m| m.places.iter().any(|pl| pl == path.as_bytes()))
            .map(|m| m.count)
    };
    assert_eq!(count("/etc/app.conf"), Some(1_000_000));
    assert_eq!(count("/etc/other.conf"), Some(5));
    // A repeat for a thread whose miss is unknown is counted as not kept.
    let report = Script::new().repeat(9, 3).exit(9, "prog", 0).report(None);
    let p = report.processes.iter().find(|p| p.pid == 9).expect("pid 9");
    assert_eq!(p.dropped_lookups, 3);
}
