//! Helpers shared by the end-to-end tests: finding the binary, building small
//! C workloads, and reading JSON Lines output.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The `hostscope` binary built by cargo for this workspace.
pub fn hostscope() -> Command {
    Command::new(hostscope_path())
}

pub fn hostscope_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("hostscope")
}

/// A name no other test or run uses: for paths and process names that a test
/// looks for in host-wide output.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A scratch directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let dir = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&dir).expect("create a temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Compiles a C program (statically, so that no dynamic loader adds syscalls
/// of its own) and returns the executable's path inside `dir`.
pub fn compile_c(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    std::fs::write(&src, source).expect("write the C source");
    let out = Command::new("cc")
        .args(["-O2", "-static", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("run cc (gcc and libc6-dev are needed)");
    assert!(
        out.status.success(),
        "cc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Parses JSON Lines, panicking with the line on error.
pub fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(bytes.to_vec())
        .expect("JSON output is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The `type` field of a JSON record.
pub fn record_type(v: &serde_json::Value) -> &str {
    v["type"].as_str().expect("every record has a type")
}
