//! The workloads the benchmarks time: C loops that wait for a byte on stdin
//! (so that a tool can attach first), run N syscalls and print how long the
//! loop took, so that start-up is never counted.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};

/// N failed openat calls: every one an event a tracer must deliver.
pub const FAILED_OPENAT: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    char go;
    if (read(0, &go, 1) != 1) return 2;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) openat(AT_FDCWD, "/nonexistent/hostscope-bench", O_RDONLY);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
    return 0;
}
"#;

/// N successful stat calls: every one a call a tracer must pass over.
pub const SUCCESSFUL_STAT: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    char go;
    if (read(0, &go, 1) != 1) return 2;
    struct stat st;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) stat("/etc/hostname", &st);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
    return 0;
}
"#;

/// A started workload, waiting for its go.
pub struct Workload(Child);

impl Workload {
    /// Starts `exe` for `n` calls; it waits until [`run`](Self::run).
    pub fn start(exe: &Path, n: u64) -> Result<Workload> {
        Command::new(exe)
            .arg(n.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map(Workload)
            .context("start the workload")
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Lets it go and returns how long its loop took, in nanoseconds.
    pub fn run(mut self) -> Result<f64> {
        self.0.stdin.take().expect("piped").write_all(b"g")?;
        let mut out = String::new();
        self.0
            .stdout
            .take()
            .expect("piped")
            .read_to_string(&mut out)?;
        self.0.wait()?;
        out.trim()
            .parse()
            .with_context(|| format!("workload printed {out:?}"))
    }
}
