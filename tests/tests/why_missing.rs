//! `hostscope why-missing` end to end: real programs (C, a shell, python3,
//! the dynamic loader), real files, the probe loaded for real. Each test
//! reads the JSON Lines report from `-o FILE`, so the command's own stderr
//! stays its own.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use hostscope_tests::running::Running;
use hostscope_tests::{TempDir, compile_c, hostscope, json_lines, record_type, unique};
use serde_json::Value;

/// Runs `why-missing --json -o REPORT <extra…> -- argv…` and returns the
/// command's output and the report's records.
fn why_missing(dir: &Path, extra: &[&str], argv: &[&str]) -> (Output, Vec<Value>) {
    let report = dir.join(unique("report"));
    let out = hostscope()
        .args(["why-missing", "--json", "-o"])
        .arg(&report)
        .args(extra)
        .arg("--")
        .args(argv)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run hostscope");
    let records = json_lines(&std::fs::read(&report).unwrap_or_else(|e| {
        panic!(
            "no report ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    }));
    (out, records)
}

fn of_type<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| record_type(r) == kind).collect()
}

fn verdict(records: &[Value]) -> &Value {
    let verdicts = of_type(records, "verdict");
    assert_eq!(verdicts.len(), 1, "one verdict for a command: {records:#?}");
    verdicts[0]
}

/// The missing records whose resolved path or one of whose places is `path`.
fn missing_at<'a>(records: &'a [Value], path: &str) -> Vec<&'a Value> {
    of_type(records, "missing")
        .into_iter()
        .filter(|r| {
            r["resolved"] == path
                || r["places"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|x| x == path))
        })
        .collect()
}

fn culprit_resolved(v: &Value) -> &str {
    v["culprit"]["resolved"]
        .as_str()
        .unwrap_or_else(|| panic!("the verdict names a culprit: {v:#}"))
}

#[test]
fn a_missing_config_file_is_the_verdict_and_the_status_passes_through() {
    let dir = TempDir::new("hs-wm-config");
    let app = compile_c(
        dir.path(),
        "app",
        r#"
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    FILE *f = fopen("conf/app.toml", "r");
    if (!f) { fputs("app: cannot start without its configuration\n", stderr); return 3; }
    return 0;
}
"#,
    );
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    let (out, records) = why_missing(dir.path(), &[], &[app.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "the command's status");
    let v = verdict(&records);
    assert_eq!(v["failed"], true);
    assert_eq!(v["exit_code"], 3);
    let config = dir.path().join("conf/app.toml");
    assert_eq!(culprit_resolved(v), config.to_str().unwrap(), "{v:#}");
    assert_eq!(v["culprit"]["errno"], "ENOENT");
    assert!(
        v["evidence"]
            .as_str()
            .is_some_and(|e| e.contains("cannot start")),
        "the stderr that followed is the evidence: {v:#}"
    );
    assert_eq!(missing_at(&records, config.to_str().unwrap()).len(), 1);
}

#[test]
fn a_successful_command_has_nothing_that_mattered() {
    let dir = TempDir::new("hs-wm-ok");
    let (out, records) = why_missing(
        dir.path(),
        &[],
        &["sh", "-c", "ls /nonexistent-hs-ok; true"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v = verdict(&records);
    assert_eq!(v["failed"], false, "{v:#}");
    assert!(v["culprit"].is_null());
    assert_eq!(
        missing_at(&records, "/nonexistent-hs-ok").len(),
        1,
        "the miss is still listed"
    );
}

#[test]
fn python_imports_collapse_and_the_missing_module_dir_is_the_verdict() {
    let dir = TempDir::new("hs-wm-py");
    let lib = dir.path().join("applib");
    std::fs::write(
        dir.path().join("main.py"),
        format!(
            "import json, csv, email.parser\nimport sys\nsys.path.insert(0, {:?})\nimport appmodule\n",
            lib.to_str().unwrap()
        ),
    )
    .unwrap();
    let (out, records) = why_missing(
        dir.path(),
        &[],
        &[
            "env",
            "PYTHONDONTWRITEBYTECODE=1",
            "/usr/bin/python3",
            "main.py",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let searches = of_type(&records, "search");
    for module in ["json", "email"] {
        assert!(
            searches.iter().any(|s| s["found"]
                .as_str()
                .is_some_and(|f| f.contains(&format!("/{module}/__init__.py")))),
            "importing {module} is one collapsed search: {searches:#?}"
        );
    }
    let v = verdict(&records);
    assert_eq!(culprit_resolved(v), lib.to_str().unwrap(), "{v:#}");
    assert!(
        v["evidence"]
            .as_str()
            .is_some_and(|e| e.contains("appmodule")),
        "{v:#}"
    );
}

#[test]
fn a_python_module_that_is_nowhere_does_not_blame_a_startup_file() {
    // CPython lists directories and looks names up in the listing: a module
    // that exists nowhere is never a failed lookup. The verdict must then
    // say so, with the program's own words, rather than blame one of the
    // files the interpreter probed (and did without) at startup.
    let dir = TempDir::new("hs-wm-py-none");
    std::fs::write(
        dir.path().join("main.py"),
        "import json\nimport nosuchmodule\n",
    )
    .unwrap();
    let (out, records) = why_missing(
        dir.path(),
        &[],
        &[
            "env",
            "PYTHONDONTWRITEBYTECODE=1",
            "/usr/bin/python3",
            "main.py",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let v = verdict(&records);
    assert_eq!(v["failed"], true);
    assert!(v["culprit"].is_null(), "no lookup explains it: {v:#}");
    assert!(
        v["evidence"]
            .as_str()
            .is_some_and(|e| e.contains("nosuchmodule")),
        "{v:#}"
    );
}

#[test]
fn an_unreachable_shared_library_is_missing_and_the_loader_search_collapses() {
    // Two libraries along one rpath of two directories: libhsok is found in
    // the second (a loader search that collapses), libhsdemo is then moved
    // away (missing everywhere).
    let dir = TempDir::new("hs-wm-lib");
    let (gone_dir, ok_dir) = (dir.path().join("lib"), dir.path().join("libok"));
    std::fs::create_dir(&gone_dir).unwrap();
    std::fs::create_dir(&ok_dir).unwrap();
    std::fs::write(
        dir.path().join("hsdemo.c"),
        "int hsdemo(void) { return 7; }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("hsok.c"), "int hsok(void) { return 0; }\n").unwrap();
    std::fs::write(
        dir.path().join("main.c"),
        "int hsok(void);\nint hsdemo(void);\nint main(void) { return hsok() + (hsdemo() == 7 ? 0 : 1); }\n",
    )
    .unwrap();
    let cc = |args: &[&str]| {
        let out = Command::new("cc")
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("run cc");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let lib = gone_dir.join("libhsdemo.so");
    cc(&["-shared", "-fPIC", "-o", lib.to_str().unwrap(), "hsdemo.c"]);
    cc(&["-shared", "-fPIC", "-o", "libok/libhsok.so", "hsok.c"]);
    let rpath = format!("-Wl,-rpath,{}:{}", gone_dir.display(), ok_dir.display());
    cc(&[
        "-o",
        "main",
        "main.c",
        "-Wl,--no-as-needed",
        "-Llibok",
        "-lhsok",
        "-Llib",
        "-lhsdemo",
        &rpath,
    ]);
    let run = |cmd: &mut Command| {
        // Without cargo's LD_LIBRARY_PATH, which the loader would search
        // first, library by library.
        cmd.env_remove("LD_LIBRARY_PATH");
    };
    let mut direct = Command::new(dir.path().join("main"));
    run(&mut direct);
    assert!(
        direct.status().unwrap().success(),
        "the program runs before the move"
    );
    std::fs::rename(&lib, dir.path().join("moved.so")).unwrap();

    let report = dir.path().join("report");
    let mut cmd = hostscope();
    cmd.args(["why-missing", "--json", "-o"])
        .arg(&report)
        .args(["--", "./main"])
        .current_dir(dir.path());
    run(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(127), "the loader's status");
    let records = json_lines(&std::fs::read(&report).unwrap());
    let missing: Vec<_> = of_type(&records, "missing")
        .into_iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("libhsdemo.so"))
        })
        .collect();
    assert_eq!(missing.len(), 1, "one entry for the library: {records:#?}");
    let places = missing[0]["places"].as_array().unwrap();
    assert!(
        places.iter().any(|x| x == lib.to_str().unwrap())
            && places
                .iter()
                .any(|x| x == ok_dir.join("libhsdemo.so").to_str().unwrap()),
        "both rpath directories are places: {:#}",
        missing[0]
    );
    let ok = ok_dir.join("libhsok.so");
    assert!(
        of_type(&records, "search")
            .iter()
            .any(|s| s["found"] == ok.to_str().unwrap() && s["candidate"].as_u64() > Some(1)),
        "libhsok, missed in the first rpath directory, is a collapsed search: {records:#?}"
    );
    let v = verdict(&records);
    assert!(
        culprit_resolved(v).ends_with("libhsdemo.so"),
        "the verdict names the library: {v:#}"
    );
}

#[test]
fn a_command_that_does_not_exist_in_a_script_is_named_with_its_process() {
    let dir = TempDir::new("hs-wm-sh");
    let name = unique("nosuchcmd");
    let (out, records) = why_missing(dir.path(), &[], &["sh", "-c", &format!("{name}; exit $?")]);
    assert_eq!(out.status.code(), Some(127));
    let v = verdict(&records);
    let culprit = v["culprit"]["path"].as_str().unwrap_or_default();
    assert!(culprit.ends_with(&name), "{v:#}");
    // dash looks along $PATH with stat, bash and others with execve.
    assert!(
        ["newfstatat", "stat", "execve"]
            .contains(&v["culprit"]["syscall"].as_str().unwrap_or_default()),
        "{v:#}"
    );
    let entry = of_type(&records, "missing")
        .into_iter()
        .find(|r| r["path"].as_str().is_some_and(|p| p.ends_with(&name)))
        .unwrap_or_else(|| panic!("the command is missing: {records:#?}"));
    assert!(
        entry["places"].as_array().is_some_and(|p| p.len() >= 2),
        "one entry for the whole $PATH search: {entry:#}"
    );
}

#[test]
fn a_script_whose_interpreter_is_missing_names_the_interpreter() {
    let dir = TempDir::new("hs-wm-shebang");
    let script = dir.path().join("run.sh");
    std::fs::write(&script, "#!/nonexistent/hs-interp\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let crlf = dir.path().join("crlf.sh");
    std::fs::write(&crlf, "#!/bin/sh\r\necho hi\r\n").unwrap();
    std::fs::set_permissions(&crlf, std::fs::Permissions::from_mode(0o755)).unwrap();
    for (file, interpreter) in [(&script, "/nonexistent/hs-interp"), (&crlf, "/bin/sh\\r")] {
        let (out, records) = why_missing(
            dir.path(),
            &[],
            &["sh", "-c", &format!("{}", file.display())],
        );
        assert_eq!(out.status.code(), Some(127));
        let v = verdict(&records);
        assert_eq!(culprit_resolved(v), file.to_str().unwrap(), "{v:#}");
        let cause = v["culprit"]["cause"].as_str().unwrap_or_default();
        assert!(
            cause.contains(interpreter),
            "the cause names {interpreter}: {v:#}"
        );
    }
}

#[test]
fn a_file_only_root_may_read_is_denied_with_owner_and_mode() {
    let dir = TempDir::new("hs-wm-denied");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "s").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (out, records) = why_missing(
        dir.path(),
        &[],
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "cat",
            secret.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let denied = of_type(&records, "denied");
    let entry = denied
        .iter()
        .find(|r| r["resolved"] == secret.to_str().unwrap())
        .unwrap_or_else(|| panic!("the secret is denied: {records:#?}"));
    assert_eq!(entry["errno"], "EACCES");
    assert_eq!(entry["uid"], 65534);
    assert_eq!(entry["denied_by"]["path"], secret.to_str().unwrap());
    assert_eq!(entry["denied_by"]["owner_uid"], 0);
    assert_eq!(entry["denied_by"]["mode"], "0600");
    assert_eq!(
        culprit_resolved(verdict(&records)),
        secret.to_str().unwrap()
    );
}

#[test]
fn a_unix_socket_that_is_not_there_is_missing() {
    let dir = TempDir::new("hs-wm-sock");
    let sock = dir.path().join("app.sock");
    let (out, records) = why_missing(
        dir.path(),
        &[],
        &[
            "/usr/bin/python3",
            "-c",
            "import socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])",
            sock.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let entry = missing_at(&records, sock.to_str().unwrap());
    assert_eq!(entry.len(), 1, "{records:#?}");
    assert_eq!(entry[0]["syscall"], "connect");
    assert_eq!(culprit_resolved(verdict(&records)), sock.to_str().unwrap());
}

#[test]
fn a_grandchild_that_fails_is_the_process_named() {
    let dir = TempDir::new("hs-wm-tree");
    let missing = dir.path().join("data.csv");
    let script = format!("sh -c 'cat {}'; exit $?", missing.display());
    let (out, records) = why_missing(dir.path(), &[], &["sh", "-c", &script]);
    assert_eq!(out.status.code(), Some(1));
    let v = verdict(&records);
    assert_eq!(culprit_resolved(v), missing.to_str().unwrap(), "{v:#}");
    // The root sh runs more after the inner one, so it never becomes cat:
    // the name tells the grandchild (pids may wrap between the two).
    assert_eq!(
        v["comm"], "cat",
        "the failing process is the grandchild: {v:#}"
    );
}

#[test]
fn a_relative_path_after_chdir_resolves_against_the_new_cwd() {
    let dir = TempDir::new("hs-wm-chdir");
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let (_, records) = why_missing(
        dir.path(),
        &[],
        &["sh", "-c", "cd sub && cat rel/missing.txt"],
    );
    let expected = sub.join("rel/missing.txt");
    let entry = missing_at(&records, expected.to_str().unwrap());
    assert_eq!(entry.len(), 1, "{records:#?}");
    assert_eq!(entry[0]["path"], "rel/missing.txt");
}

/// A process that fails on a missing file once told to (a line on its
/// stdin, by [`go`]): for -p and --all.
fn late_failure(dir: &Path, missing: &Path) -> std::process::Child {
    Command::new("sh")
        .arg("-c")
        .arg(format!("read _; cat {}; exit 5", missing.display()))
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sh")
}

fn go(target: &mut std::process::Child) {
    use std::io::Write;
    let mut stdin = target.stdin.take().expect("piped");
    stdin.write_all(b"go\n").expect("tell the target to go");
}

#[test]
fn attaching_with_p_reports_what_the_process_missed_after() {
    let dir = TempDir::new("hs-wm-attach");
    let missing = dir.path().join("late.conf");
    let mut target = late_failure(dir.path(), &missing);
    let report = dir.path().join("report");
    let watcher = Running::attached(
        hostscope()
            .args(["why-missing", "--json", "-o"])
            .arg(&report)
            .args(["-p", &target.id().to_string()]),
        1,
    );
    go(&mut target);
    assert_eq!(target.wait().unwrap().code(), Some(5));
    let out = watcher.finish(Duration::from_secs(30));
    assert!(out.status.success(), "{}", out.stderr);
    let records = json_lines(&std::fs::read(&report).unwrap());
    assert_eq!(
        missing_at(&records, missing.to_str().unwrap()).len(),
        1,
        "{records:#?}"
    );
    assert!(
        of_type(&records, "verdict")
            .iter()
            .any(|v| v["culprit"]["resolved"] == missing.to_str().unwrap()),
        "a verdict for the process that failed: {records:#?}"
    );
}

#[test]
fn all_finds_a_failing_process_it_did_not_start() {
    let dir = TempDir::new("hs-wm-all");
    let missing = dir.path().join(unique("host-wide")).with_extension("conf");
    let report = dir.path().join("report");
    let watcher = Running::attached(
        hostscope()
            .args(["why-missing", "--all", "--duration", "4s", "--json", "-o"])
            .arg(&report),
        1,
    );
    let mut target = late_failure(dir.path(), &missing);
    go(&mut target);
    assert_eq!(target.wait().unwrap().code(), Some(5));
    let out = watcher.finish(Duration::from_secs(30));
    assert!(out.status.success(), "{}", out.stderr);
    let records = json_lines(&std::fs::read(&report).unwrap());
    let entry = missing_at(&records, missing.to_str().unwrap());
    assert_eq!(entry.len(), 1, "found among the whole host's misses");
    assert_eq!(entry[0]["comm"], "cat");
    assert!(
        of_type(&records, "verdict")
            .iter()
            .any(|v| v["culprit"]["resolved"] == missing.to_str().unwrap() && v["exit_code"] == 1),
        "a verdict for cat, which failed"
    );
}

#[test]
fn strace_sees_no_failed_lookup_that_the_report_does_not_account_for() {
    let dir = TempDir::new("hs-wm-oracle");
    let script = "cd /etc && ls ./nonexistent-a /nonexistent-b; cat x/../y 2>/dev/null; exit 0";
    let trace = dir.path().join("strace.txt");
    let status = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=%file",
            "-e",
            "status=failed",
            "-o",
        ])
        .arg(&trace)
        .args(["sh", "-c", script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run strace");
    assert!(status.success());
    let oracle: std::collections::BTreeSet<String> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter(|l| {
            [
                "ENOENT",
                "ENOTDIR",
                "EACCES",
                "EPERM",
                "ELOOP",
                "ENAMETOOLONG",
            ]
            .iter()
            .any(|e| l.contains(&format!("= -1 {e} ")))
        })
        .filter_map(|l| Some(l.split('"').nth(1)?.to_owned()))
        .collect();
    assert!(oracle.contains("./nonexistent-a"), "{oracle:?}");

    let (_, records) = why_missing(dir.path(), &["-v"], &["sh", "-c", script]);
    let mut seen = std::collections::BTreeSet::new();
    for r in &records {
        if let Some(p) = r["path"].as_str() {
            seen.insert(p.to_owned());
        }
        for place in r["places"].as_array().into_iter().flatten() {
            if let Some(p) = place.as_str() {
                seen.insert(p.to_owned());
            }
        }
    }
    // strace prints paths as passed; the report's places are resolved. A
    // path counts as seen in either form.
    let unseen: Vec<_> = oracle
        .iter()
        .filter(|p| {
            let resolved = if p.starts_with('/') {
                (*p).clone()
            } else {
                format!("/etc/{}", p.trim_start_matches("./"))
            };
            !seen.contains(*p) && !seen.contains(&resolved)
        })
        .collect();
    assert!(
        unseen.is_empty(),
        "strace saw, hostscope did not: {unseen:?}\n{records:#?}"
    );
}
