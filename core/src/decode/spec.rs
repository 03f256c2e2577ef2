//! What each syscall's arguments mean, by syscall name.
//!
//! This is the contract between the decoder and the probe: the probe copies
//! the user memory [`captures`] asks for, and nothing else, and the decoder
//! relies on exactly those copies. Keying by name rather than number keeps one
//! table for every architecture: aarch64 simply never asks about `open`.

use std::ops::{BitOr, BitOrAssign};

use super::strace_tables;
use crate::model::Capture;

/// How the probe must copy each of syscall `name`'s six arguments.
///
/// Every argument listed by [`path_args`] is a [`Capture::Str`]; so are other
/// names a process hands in (symlink targets, xattr names, `mount`'s source
/// and filesystem type, `memfd_create`'s name).
pub fn captures(name: &str) -> [Capture; 6] {
    use Capture::{Argv, BufIn, BufOut, FdPair, IntOut, SockAddrIn, SockAddrOut, Str, Struct};

    let mut c = [Capture::None; 6];
    for p in path_args(name) {
        c[usize::from(p.path_arg)] = Str;
    }
    match name {
        "execve" => c[1] = Argv,
        "execveat" => c[2] = Argv,
        "symlink" | "symlinkat" | "memfd_create" => c[0] = Str,
        "setxattr" | "lsetxattr" | "fsetxattr" | "getxattr" | "lgetxattr" | "fgetxattr"
        | "removexattr" | "lremovexattr" | "fremovexattr" => c[1] = Str,
        "mount" => {
            c[0] = Str;
            c[2] = Str;
        }
        "openat2" => {
            c[2] = Struct {
                size: OPEN_HOW_SIZE,
            }
        }
        "read" | "pread64" => c[1] = BufOut,
        "readlink" => c[1] = BufOut,
        "readlinkat" => c[2] = BufOut,
        "getcwd" => c[0] = BufOut,
        "write" | "pwrite64" => c[1] = BufIn { len_arg: 2 },
        "sendto" => {
            c[1] = BufIn { len_arg: 2 };
            c[4] = SockAddrIn { len_arg: 5 };
        }
        "recvfrom" => {
            c[1] = BufOut;
            c[4] = SockAddrOut { len_ptr_arg: 5 };
        }
        "connect" | "bind" => c[1] = SockAddrIn { len_arg: 2 },
        "accept" | "accept4" | "getsockname" | "getpeername" => {
            c[1] = SockAddrOut { len_ptr_arg: 2 };
        }
        "pipe" | "pipe2" => c[0] = FdPair,
        "socketpair" => c[3] = FdPair,
        "wait4" => c[1] = IntOut,
        _ => {}
    }
    c
}

/// Size in bytes of the `struct open_how` that openat2 reads (flags, mode,
/// resolve: three `u64`s).
pub(super) const OPEN_HOW_SIZE: u8 = 24;

/// Whether syscall `name` never returns to its caller, so that the probe
/// sees its entry but no exit and must report it at entry (with no return
/// value).
pub fn never_returns(name: &str) -> bool {
    matches!(name, "exit" | "exit_group")
}

/// Whether the probe must copy syscall `name`'s memory at entry rather than
/// exit: a successful `execve` replaces the memory its arguments were in.
pub fn captured_at_entry(name: &str) -> bool {
    matches!(name, "execve" | "execveat")
}

/// One argument that names a filesystem path the kernel looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PathArg {
    /// Index of the argument holding the path string.
    pub path_arg: u8,
    /// Index of the directory fd argument a relative path is resolved
    /// against (`AT_FDCWD` meaning the cwd); `None` for the cwd always.
    pub dirfd_arg: Option<u8>,
}

const fn cwd(path_arg: u8) -> PathArg {
    PathArg {
        path_arg,
        dirfd_arg: None,
    }
}

const fn at(path_arg: u8, dirfd_arg: u8) -> PathArg {
    PathArg {
        path_arg,
        dirfd_arg: Some(dirfd_arg),
    }
}

const CWD_0: &[PathArg] = &[cwd(0)];
const CWD_0_1: &[PathArg] = &[cwd(0), cwd(1)];
const CWD_1: &[PathArg] = &[cwd(1)];
const AT_1: &[PathArg] = &[at(1, 0)];
const AT_1_3: &[PathArg] = &[at(1, 0), at(3, 2)];
const AT_2: &[PathArg] = &[at(2, 1)];
const AT_4: &[PathArg] = &[at(4, 3)];

/// The arguments of syscall `name` that are paths the kernel resolves, in
/// argument order; empty for syscalls that take none.
///
/// A symlink's target (symlink's arg 0) is not here: the kernel stores it
/// without looking it up. Only mount's target is: its source is often not a
/// path at all (`"proc"`, `"tmpfs"`).
pub fn path_args(name: &str) -> &'static [PathArg] {
    match name {
        "open" | "creat" | "stat" | "lstat" | "statfs" | "access" | "readlink" | "execve"
        | "chdir" | "chroot" | "mkdir" | "mknod" | "rmdir" | "unlink" | "truncate" | "chmod"
        | "chown" | "lchown" | "utime" | "utimes" | "setxattr" | "lsetxattr" | "getxattr"
        | "lgetxattr" | "listxattr" | "llistxattr" | "removexattr" | "lremovexattr" | "umount2"
        | "swapon" | "swapoff" | "acct" | "uselib" => CWD_0,
        "rename" | "link" | "pivot_root" => CWD_0_1,
        "symlink" | "inotify_add_watch" | "mount" | "quotactl" => CWD_1,
        "openat" | "openat2" | "newfstatat" | "statx" | "faccessat" | "faccessat2"
        | "readlinkat" | "execveat" | "mkdirat" | "mknodat" | "unlinkat" | "fchmodat"
        | "fchmodat2" | "fchownat" | "futimesat" | "utimensat" | "name_to_handle_at"
        | "open_tree" | "open_tree_attr" | "fspick" | "mount_setattr" | "setxattrat"
        | "getxattrat" | "listxattrat" | "removexattrat" | "file_getattr" | "file_setattr" => AT_1,
        "renameat" | "renameat2" | "linkat" | "move_mount" => AT_1_3,
        "symlinkat" => AT_2,
        "fanotify_mark" => AT_4,
        _ => &[],
    }
}

/// strace's syscall classes, as a small set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Classes(u8);

impl Classes {
    /// Takes a file name (`%file`).
    pub const FILE: Self = Self(1);
    /// Takes or returns a file descriptor (`%desc`).
    pub const DESC: Self = Self(1 << 1);
    /// Process lifecycle: fork, clone, exec, exit, wait, kill (`%process`).
    pub const PROCESS: Self = Self(1 << 2);
    /// Network related (`%network`, alias `%net`).
    pub const NETWORK: Self = Self(1 << 3);

    /// The set with no class in it.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Whether every class in `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no class is in the set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for Classes {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for Classes {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

/// The strace classes syscall `name` belongs to (empty for most, and for
/// names that are not syscalls).
pub fn classes(name: &str) -> Classes {
    let mut c = Classes::empty();
    for (member, class) in [
        (strace_tables::is_file(name), Classes::FILE),
        (strace_tables::is_desc(name), Classes::DESC),
        (strace_tables::is_process(name), Classes::PROCESS),
        (strace_tables::is_network(name), Classes::NETWORK),
    ] {
        if member {
            c |= class;
        }
    }
    c
}

/// How many arguments syscall `name` takes, as strace prints it; 6 for names
/// it does not know.
pub fn arg_count(name: &str) -> usize {
    strace_tables::arg_count(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::sysno;
    use crate::model::Arch;

    #[test]
    fn captures_per_syscall() {
        use Capture::*;
        let n = Capture::None;
        let cases: &[(&str, [Capture; 6])] = &[
            ("openat", [n, Str, n, n, n, n]),
            ("openat2", [n, Str, Struct { size: 24 }, n, n, n]),
            ("execve", [Str, Argv, n, n, n, n]),
            ("execveat", [n, Str, Argv, n, n, n]),
            ("read", [n, BufOut, n, n, n, n]),
            ("write", [n, BufIn { len_arg: 2 }, n, n, n, n]),
            (
                "sendto",
                [n, BufIn { len_arg: 2 }, n, n, SockAddrIn { len_arg: 5 }, n],
            ),
            (
                "recvfrom",
                [n, BufOut, n, n, SockAddrOut { len_ptr_arg: 5 }, n],
            ),
            ("connect", [n, SockAddrIn { len_arg: 2 }, n, n, n, n]),
            ("accept4", [n, SockAddrOut { len_ptr_arg: 2 }, n, n, n, n]),
            ("pipe2", [FdPair, n, n, n, n, n]),
            ("socketpair", [n, n, n, FdPair, n, n]),
            ("wait4", [n, IntOut, n, n, n, n]),
            ("readlinkat", [n, Str, BufOut, n, n, n]),
            ("renameat2", [n, Str, n, Str, n, n]),
            ("symlink", [Str, Str, n, n, n, n]),
            ("getpid", [n; 6]),
        ];
        for (name, want) in cases {
            assert_eq!(&captures(name), want, "{name}");
        }
        assert!(captured_at_entry("execve") && !captured_at_entry("openat"));
        assert!(never_returns("exit_group") && !never_returns("execve"));
    }

    #[test]
    fn path_args_know_dirfds_and_skip_symlink_targets() {
        assert_eq!(path_args("open"), &[cwd(0)]);
        assert_eq!(path_args("openat"), &[at(1, 0)]);
        assert_eq!(path_args("renameat2"), &[at(1, 0), at(3, 2)]);
        assert_eq!(path_args("symlink"), &[cwd(1)]);
        assert_eq!(path_args("symlinkat"), &[at(2, 1)]);
        assert_eq!(path_args("inotify_add_watch"), &[cwd(1)]);
        assert_eq!(path_args("read"), &[]);
    }

    #[test]
    fn every_path_is_a_file_syscall_and_within_its_arguments() {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            for (_, name) in sysno::all(arch) {
                for p in path_args(name) {
                    assert!(classes(name).contains(Classes::FILE), "{name} not %file");
                    assert!(usize::from(p.path_arg) < arg_count(name), "{name}");
                    if let Some(d) = p.dirfd_arg {
                        assert!(classes(name).contains(Classes::DESC), "{name} not %desc");
                        assert!(usize::from(d) < arg_count(name), "{name}");
                    }
                }
            }
        }
    }

    #[test]
    fn classes_match_strace() {
        let cases = [
            ("openat", Classes::FILE | Classes::DESC),
            ("open", Classes::FILE | Classes::DESC),
            ("stat", Classes::FILE),
            ("read", Classes::DESC),
            ("execve", Classes::FILE | Classes::PROCESS),
            ("execveat", Classes::FILE | Classes::DESC | Classes::PROCESS),
            ("clone", Classes::PROCESS),
            ("kill", Classes::PROCESS),
            ("connect", Classes::NETWORK),
            ("sendfile", Classes::DESC | Classes::NETWORK),
            ("getpid", Classes::empty()),
            ("mmap", Classes::DESC),
            ("not_a_syscall", Classes::empty()),
        ];
        for (name, want) in cases {
            assert_eq!(classes(name), want, "{name}");
        }
        assert!(classes("getpid").is_empty());
    }

    #[test]
    fn arg_counts() {
        let cases = [
            ("getpid", 0),
            ("close", 1),
            ("openat", 4),
            ("clone", 5),
            ("mmap", 6),
        ];
        for (name, n) in cases {
            assert_eq!(arg_count(name), n, "{name}");
        }
        assert_eq!(arg_count("syscall_999"), 6);
    }
}
