//! Giving up capabilities. `hostscope export` runs for weeks as a service:
//! once its programs are loaded it keeps only what it still uses, so a bug
//! in it cannot be turned into more than that.

use std::io;

/// Reading any file's metadata and contents (why-missing's inspection).
pub const CAP_DAC_READ_SEARCH: u32 = 2;
/// Reading other users' /proc/PID/cwd and fd links (path resolution).
pub const CAP_SYS_PTRACE: u32 = 19;
/// The bpf() syscall itself, to read the probe's counters.
pub const CAP_BPF: u32 = 39;

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit capability sets in two words.
const VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The highest capability number the running kernel knows.
fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(63)
}

/// Drops every capability but `keep` from this process's bounding,
/// permitted, effective and inheritable sets (and so from any program it
/// starts). Those in `keep` it does not hold stay absent.
pub fn keep_only(keep: &[u32]) -> io::Result<()> {
    for cap in 0..=last_cap() {
        if !keep.contains(&cap) {
            // SAFETY: prctl with integer arguments only.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            match io::Error::last_os_error().raw_os_error() {
                _ if r == 0 => {}
                // A number this kernel does not know: nothing to drop.
                Some(libc::EINVAL) => {}
                // No CAP_SETPCAP: whoever started us (systemd, with its
                // CapabilityBoundingSet) has already bounded the set, and
                // what is dropped below cannot be regained.
                Some(libc::EPERM) => break,
                _ => return Err(io::Error::last_os_error()),
            }
        }
    }
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget writes two Data structs for version 3, as given.
    if unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut mask = [0u32; 2];
    for &cap in keep {
        mask[(cap / 32) as usize] |= 1 << (cap % 32);
    }
    for (word, mask) in data.iter_mut().zip(mask) {
        word.permitted &= mask;
        word.effective &= mask;
        word.inheritable = 0;
    }
    // SAFETY: capset reads two Data structs for version 3, as given.
    if unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The effective set of process `pid`, from /proc.
    fn cap_eff(pid: u32) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .expect("CapEff line");
        u64::from_str_radix(line.trim(), 16).expect("hex")
    }

    #[test]
    fn a_child_keeps_only_what_it_was_told_to() {
        // In a child, so the test process keeps its capabilities.
        // SAFETY: the child only calls async-signal-safe functions and the
        // capability syscalls, then _exits.
        match unsafe { libc::fork() } {
            0 => {
                let ok = keep_only(&[CAP_BPF, CAP_SYS_PTRACE]).is_ok();
                // Wait to be inspected.
                unsafe {
                    libc::sleep(if ok { 2 } else { 0 });
                    libc::_exit(i32::from(!ok))
                };
            }
            -1 => panic!("fork: {}", io::Error::last_os_error()),
            child => {
                std::thread::sleep(std::time::Duration::from_millis(500));
                let eff = cap_eff(child as u32);
                let mut status = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(child, &mut status, 0) };
                assert_eq!(status, 0, "keep_only failed in the child");
                let mine = cap_eff(std::process::id());
                let wanted = (1u64 << CAP_BPF) | (1u64 << CAP_SYS_PTRACE);
                assert_eq!(eff, mine & wanted, "CapEff {eff:#x}");
            }
        }
    }
}
