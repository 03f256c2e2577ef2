//! Pins the JSON Lines schema of `hostscope trace --json`: every record of a
//! real trace must deserialize into these structs, which reject unknown
//! fields. A field added, renamed or retyped fails here first; change the
//! README's schema section with it.

use serde::Deserialize;
use serde_json::Value;

use hostscope_tests::{TempDir, hostscope, json_lines, record_type};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields exist to pin the schema")]
struct Syscall {
    r#type: String,
    ts_ns: u64,
    pid: u32,
    tid: u32,
    comm: Value,
    syscall: String,
    args: Vec<Value>,
    ret: Option<i64>,
    errno: Option<String>,
    duration_ns: Option<u64>,
    path: Option<Value>,
    resolved: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields exist to pin the schema")]
struct Exit {
    r#type: String,
    ts_ns: u64,
    pid: u32,
    comm: Value,
    code: Option<i32>,
    signal: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields exist to pin the schema")]
struct Lost {
    r#type: String,
    delivered: u64,
    ring_full: u64,
    truncated: u64,
    unreadable: u64,
    unmatched_exit: u64,
    table_full: u64,
}

#[test]
fn every_record_matches_the_schema() {
    let dir = TempDir::new("hs-json");
    let present = dir.path().join("present");
    std::fs::write(&present, "x").unwrap();
    let script = format!(
        "cd {} && cat present ./missing >/dev/null 2>&1; exit 4",
        dir.path().display()
    );
    let out = hostscope()
        .args(["trace", "--json", "--", "sh", "-c", &script])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let records = json_lines(&out.stdout);
    let mut seen = std::collections::BTreeSet::new();
    for r in &records {
        let line = r.to_string();
        match record_type(r) {
            "syscall" => {
                let s: Syscall =
                    serde_json::from_value(r.clone()).unwrap_or_else(|e| panic!("{e}: {line}"));
                assert_eq!(s.r#type, "syscall");
                assert_eq!(
                    s.errno.is_some(),
                    s.ret.is_some_and(|r| (-4095..0).contains(&r)),
                    "{line}"
                );
                assert_eq!(
                    r.get("path").is_some(),
                    r.get("resolved").is_some(),
                    "{line}"
                );
                if s.path.is_some() && s.ret == Some(0) && s.syscall != "execve" {
                    assert!(
                        s.resolved.is_some(),
                        "the shell's paths all resolve: {line}"
                    );
                }
            }
            "exit" => {
                serde_json::from_value::<Exit>(r.clone()).unwrap_or_else(|e| panic!("{e}: {line}"));
            }
            "lost" => {
                serde_json::from_value::<Lost>(r.clone()).unwrap_or_else(|e| panic!("{e}: {line}"));
            }
            other => panic!("unknown record type {other}: {line}"),
        }
        seen.insert(record_type(r).to_owned());
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["exit", "lost", "syscall"],
        "a trace with an exit has all three types"
    );

    let missing = records
        .iter()
        .find(|r| r["path"] == "./missing")
        .expect("the failed open of ./missing");
    assert_eq!(missing["syscall"], "openat");
    assert_eq!(missing["errno"], "ENOENT");
    assert_eq!(missing["ret"], -2);
    assert_eq!(
        missing["resolved"],
        dir.path().join("missing").to_str().unwrap(),
        "resolved against the cwd set by cd"
    );
    assert_eq!(missing["args"][0], "AT_FDCWD");
    assert_eq!(missing["args"][1], "./missing");
    let exit = records
        .iter()
        .find(|r| record_type(r) == "exit" && r["code"] == 4);
    assert!(exit.is_some(), "the shell's exit code 4 is recorded");
}
