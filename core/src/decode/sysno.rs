//! Syscall names and numbers per architecture.
//!
//! The tables come from the `syscalls` crate, generated from the kernel's own
//! tables, so a new kernel release is one dependency bump away. Two places
//! where the crate's aarch64 table disagrees with the kernel (and strace) are
//! corrected here; see [`name`].

use syscalls::{aarch64, x86_64};

use crate::model::Arch;

/// aarch64 is a 64-bit ABI: the kernel only wires the `*_time64` calls in this
/// range up for 32-bit ABIs, so a 64-bit process calling one gets `ENOSYS`.
const AARCH64_TIME64_ONLY_32BIT: std::ops::RangeInclusive<u32> = 403..=423;

/// The syscall that the generic (aarch64) table calls `__NR3264_fstatat`: the
/// kernel exports it to 64-bit ABIs as `newfstatat`, as x86_64 does, and
/// strace prints that name on both.
const AARCH64_NEWFSTATAT: u32 = 79;

/// The name of syscall `nr` in `arch`'s numbering, as strace prints it
/// (`"openat"`), or `None` for a number that is not a syscall there.
///
/// aarch64 corrections to the crate's table: 79 is `newfstatat` (not
/// `fstatat`), and 403..=423 are not syscalls (they exist on 32-bit ABIs only).
pub fn name(arch: Arch, nr: u32) -> Option<&'static str> {
    match arch {
        Arch::X86_64 => x86_64::Sysno::new(nr as usize).map(|s| s.name()),
        Arch::Aarch64 => {
            if nr == AARCH64_NEWFSTATAT {
                Some("newfstatat")
            } else if AARCH64_TIME64_ONLY_32BIT.contains(&nr) {
                None
            } else {
                aarch64::Sysno::new(nr as usize).map(|s| s.name())
            }
        }
    }
}

/// The number of syscall `name` in `arch`'s numbering, or `None` when `arch`
/// has no such syscall (aarch64 has no `open`, `stat` or `fork`).
pub fn number(arch: Arch, name: &str) -> Option<u32> {
    let nr = match arch {
        Arch::X86_64 => name.parse::<x86_64::Sysno>().ok()?.id(),
        Arch::Aarch64 if name == "newfstatat" => return Some(AARCH64_NEWFSTATAT),
        Arch::Aarch64 => name.parse::<aarch64::Sysno>().ok()?.id(),
    };
    let nr = u32::try_from(nr).ok()?;
    // Round-trip through `name` so that the corrections above apply both ways.
    (self::name(arch, nr) == Some(name)).then_some(nr)
}

/// Every syscall of `arch`, as `(number, name)` in increasing number order.
pub fn all(arch: Arch) -> impl Iterator<Item = (u32, &'static str)> {
    // The crate's own `Sysno::iter` stops before the last syscall, so walk the
    // number range instead.
    let last = match arch {
        Arch::X86_64 => x86_64::Sysno::last().id(),
        Arch::Aarch64 => aarch64::Sysno::last().id(),
    };
    let last = u32::try_from(last).unwrap_or(0);
    (0..=last).filter_map(move |nr| name(arch, nr).map(|n| (nr, n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_64_names_and_numbers() {
        let cases = [
            (0, "read"),
            (2, "open"),
            (59, "execve"),
            (257, "openat"),
            (262, "newfstatat"),
            (435, "clone3"),
        ];
        for (nr, n) in cases {
            assert_eq!(name(Arch::X86_64, nr), Some(n), "x86_64 {nr}");
            assert_eq!(number(Arch::X86_64, n), Some(nr), "x86_64 {n}");
        }
        assert_eq!(name(Arch::X86_64, 9999), None);
        assert_eq!(number(Arch::X86_64, "opn"), None);
    }

    #[test]
    fn aarch64_has_its_own_numbering_and_no_legacy_calls() {
        let cases = [
            (56, "openat"),
            (63, "read"),
            (79, "newfstatat"),
            (220, "clone"),
            (221, "execve"),
            (260, "wait4"),
        ];
        for (nr, n) in cases {
            assert_eq!(name(Arch::Aarch64, nr), Some(n), "aarch64 {nr}");
            assert_eq!(number(Arch::Aarch64, n), Some(nr), "aarch64 {n}");
        }
        for legacy in ["open", "stat", "fork", "pipe", "fstatat", "clock_gettime64"] {
            assert_eq!(
                number(Arch::Aarch64, legacy),
                None,
                "aarch64 has no {legacy}"
            );
        }
        assert_eq!(name(Arch::Aarch64, 403), None);
    }

    #[test]
    fn all_is_complete_and_consistent() {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let list: Vec<_> = all(arch).collect();
            assert!(
                list.len() > 300,
                "{arch:?} has only {} syscalls",
                list.len()
            );
            assert!(
                list.windows(2).all(|w| w[0].0 < w[1].0),
                "{arch:?} not sorted"
            );
            for (nr, n) in &list {
                assert_eq!(number(arch, n), Some(*nr), "{arch:?} {n}");
            }
        }
        // The crate's iterator skips the table's last entry; ours must not.
        let last = x86_64::Sysno::last();
        assert_eq!(
            all(Arch::X86_64).last(),
            Some((last.id() as u32, last.name()))
        );
    }
}
