//! Compiles the C eBPF programs in `bpf/` with clang, for the target's
//! architecture, into OUT_DIR, where `src/loader.rs` embeds them.
//!
//! clang is found as `$CLANG`, else `clang-19`, else `clang`. Without it the
//! build fails with the command that installs it: an empty object would only
//! fail later, at load time, with a worse message.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const PROGRAMS: &[&str] = &["syscalls", "floor"];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let src = Path::new("bpf");
    println!("cargo:rerun-if-env-changed=CLANG");
    for entry in std::fs::read_dir(src).expect("ebpf/bpf exists") {
        println!(
            "cargo:rerun-if-changed={}",
            entry.expect("readable dir").path().display()
        );
    }

    let arch = match env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("x86_64") => "x86",
        Ok("aarch64") => "arm64",
        other => panic!("hostscope's probe supports x86_64 and aarch64, not {other:?}"),
    };
    let clang = find_clang();
    for name in PROGRAMS {
        let input = src.join(format!("{name}.bpf.c"));
        let output = out.join(format!("{name}.bpf.o"));
        let status = Command::new(&clang)
            .args(["-target", "bpf", "-O2", "-g", "-Wall", "-Werror"])
            .arg(format!("-D__TARGET_ARCH_{arch}"))
            .arg("-c")
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .status()
            .unwrap_or_else(|e| panic!("could not run {clang}: {e}"));
        assert!(
            status.success(),
            "{clang} failed to compile {}",
            input.display()
        );
    }
}

fn find_clang() -> String {
    if let Some(clang) = env::var_os("CLANG") {
        return clang.into_string().expect("$CLANG is UTF-8");
    }
    for candidate in ["clang-19", "clang"] {
        let found = Command::new(candidate)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if found {
            return candidate.to_owned();
        }
    }
    panic!(
        "\n\nhostscope's eBPF programs are compiled with clang, which was not found.\n\
         Install it with:\n\n    sudo apt-get install -y clang-19\n\n\
         or point $CLANG at a clang that targets BPF.\n"
    );
}
