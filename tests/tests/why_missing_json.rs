//! Pins the JSON Lines schema of `hostscope why-missing --json`: every record
//! of a real report must deserialize into these structs, which reject
//! unknown fields and require every field they do not mark optional. A
//! field added, renamed or retyped fails here first; change the README's
//! schema section with it.

use std::os::unix::fs::PermissionsExt;

use serde::Deserialize;
use serde_json::Value;

use hostscope_tests::{TempDir, hostscope, json_lines, record_type};

/// Fields every missing, denied and search record has. `Value` where the
/// bytes came from a process: a string, or `{"hex": …}` when not UTF-8.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields exist to pin the schema")]
struct Missing {
    r#type: String,
    pid: u32,
    comm: Value,
    syscall: String,
    errno: Option<String>,
    path: Value,
    resolved: Option<Value>,
    count: u64,
    first_ts_ns: u64,
    last_ts_ns: u64,
    places: Vec<Value>,
    cause: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields exist to pin the schema")]
struct Denied {
    r#type: String,
    pid: u32,
    comm: Value,
    syscall: String,
    errno: Option<String>,
    path: Value,
    resolved: Option<Value>,
    count: u64,
    first_ts_ns: u64,
    last_ts_ns: u64,
    uid: u32,
    gid: u32,
    denied_by: Option<DeniedBy>,
    explanation: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields exist to pin the schema")]
struct DeniedBy {
    path: Value,
    owner_uid: u32,
    owner_gid: u32,
    mode: String,
    lacks: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields exist to pin the schema")]
struct Search {
    r#type: String,
    pid: u32,
    comm: Value,
    syscall: String,
    errno: Option<String>,
    path: Value,
    resolved: Option<Value>,
    count: u64,
    first_ts_ns: u64,
    last_ts_ns: u64,
    found: Option<Value>,
    candidate: u64,
    candidates: u64,
    places: Vec<Value>,
    runs: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields exist to pin the schema")]
struct Verdict {
    r#type: String,
    failed: bool,
    pid: Option<u32>,
    comm: Option<Value>,
    exit_code: Option<i32>,
    signal: Option<String>,
    culprit: Option<Culprit>,
    evidence: Value,
    events_lost: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields exist to pin the schema")]
struct Culprit {
    syscall: String,
    errno: Option<String>,
    path: Value,
    resolved: Option<Value>,
    cause: Option<String>,
}

#[test]
fn every_record_matches_the_schema() {
    let dir = TempDir::new("hs-wm-json");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    // As nobody: a denied open, misses and the loader's collapsed searches.
    let script = format!("cat {} /nonexistent-hs-json; exit 3", secret.display());
    let out = hostscope()
        .args(["why-missing", "--json", "-o"])
        .arg(dir.path().join("report"))
        .args([
            "--",
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "sh",
            "-c",
            &script,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let records = json_lines(&std::fs::read(dir.path().join("report")).unwrap());
    let mut seen = std::collections::BTreeSet::new();
    for r in &records {
        let line = r.to_string();
        let kind = record_type(r);
        let checked = match kind {
            "missing" => serde_json::from_value::<Missing>(r.clone()).map(drop),
            "denied" => serde_json::from_value::<Denied>(r.clone()).map(drop),
            "search" => serde_json::from_value::<Search>(r.clone()).map(drop),
            "verdict" => serde_json::from_value::<Verdict>(r.clone()).map(drop),
            other => panic!("unknown record type {other}: {line}"),
        };
        checked.unwrap_or_else(|e| panic!("{e}: {line}"));
        seen.insert(kind.to_owned());
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["denied", "missing", "search", "verdict"],
        "this run has every type"
    );
    assert_eq!(
        record_type(records.last().unwrap()),
        "verdict",
        "the verdict comes last"
    );
}
