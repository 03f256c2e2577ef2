//! Whole-call decoding, checked against the exact lines strace prints.

use serde_json::{Value, json};

use super::*;
use crate::escape;
use crate::model::{Arch, Captured};

const X: Arch = Arch::X86_64;
/// A plausible user-space pointer.
const P: u64 = 0x7ffc_0000;
const AT_FDCWD: u64 = libc::AT_FDCWD as u64;

fn event(arch: Arch, name: &str, args: [u64; 6], ret: Option<i64>) -> SyscallEvent {
    let nr = sysno::number(arch, name).unwrap_or_else(|| panic!("no {arch:?} syscall {name}"));
    SyscallEvent {
        ts_ns: 0,
        pid: 100,
        tid: 100,
        comm: b"test".into(),
        arch,
        nr,
        args,
        ret,
        duration_ns: Some(0),
        captures: Vec::new(),
        argv_truncated: false,
        uid: 0,
        gid: 0,
    }
}

fn call(name: &str, args: [u64; 6], ret: i64) -> SyscallEvent {
    event(X, name, args, Some(ret))
}

fn with(mut ev: SyscallEvent, captures: Vec<Captured>) -> SyscallEvent {
    ev.captures = captures;
    ev
}

fn cap(arg: u8, bytes: &[u8]) -> Captured {
    Captured {
        arg,
        index: 0,
        bytes: bytes.to_vec(),
        truncated: false,
        fault: false,
    }
}

fn cut(arg: u8, bytes: &[u8]) -> Captured {
    Captured {
        truncated: true,
        ..cap(arg, bytes)
    }
}

fn fault(arg: u8) -> Captured {
    Captured {
        fault: true,
        ..cap(arg, b"")
    }
}

fn argv_items(arg: u8, items: &[&[u8]]) -> Vec<Captured> {
    items
        .iter()
        .enumerate()
        .map(|(i, b)| Captured {
            index: i as u16,
            ..cap(arg, b)
        })
        .collect()
}

fn ints(a: i32, b: i32) -> Vec<u8> {
    [a.to_ne_bytes(), b.to_ne_bytes()].concat()
}

fn inet(port: u16, addr: [u8; 4]) -> Vec<u8> {
    let mut b = (libc::AF_INET as u16).to_ne_bytes().to_vec();
    b.extend(port.to_be_bytes());
    b.extend(addr);
    b.extend([0; 8]);
    b
}

/// An argument's JSON value, as the JSON output serializes it.
fn json(arg: &Arg<'_>) -> Value {
    serde_json::to_value(arg).expect("arguments serialize")
}

fn line(ev: &SyscallEvent) -> String {
    decode(ev).to_string()
}

fn check(cases: Vec<(SyscallEvent, &str)>) {
    for (ev, want) in cases {
        assert_eq!(line(&ev), want, "{ev:?}");
    }
}

#[test]
fn file_syscalls() {
    let cloexec = libc::O_CLOEXEC as u64;
    check(vec![
        (
            with(
                call("openat", [AT_FDCWD, P, cloexec, 0, 0, 0], -2),
                vec![cap(1, b"/etc/x")],
            ),
            r#"openat(AT_FDCWD, "/etc/x", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)"#,
        ),
        (
            with(
                call(
                    "openat",
                    [
                        AT_FDCWD,
                        P,
                        (libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC) as u64,
                        0o644,
                        0,
                        0,
                    ],
                    3,
                ),
                vec![cap(1, b"out.txt")],
            ),
            r#"openat(AT_FDCWD, "out.txt", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) = 3"#,
        ),
        (
            with(
                call(
                    "open",
                    [P, (libc::O_RDWR | libc::O_APPEND) as u64, 0, 0, 0, 0],
                    4,
                ),
                vec![cut(0, b"/very/long")],
            ),
            r#"open("/very/long"..., O_RDWR|O_APPEND) = 4"#,
        ),
        (
            with(call("openat", [3, 0x1000, 0, 0, 0, 0], -14), vec![fault(1)]),
            "openat(3, 0x1000, O_RDONLY) = -1 EFAULT (Bad address)",
        ),
        (
            with(
                call("openat2", [AT_FDCWD, P, P + 64, 24, 0, 0], 3),
                vec![
                    cap(1, b"/x"),
                    cap(
                        2,
                        &[
                            cloexec.to_ne_bytes(),
                            0u64.to_ne_bytes(),
                            4u64.to_ne_bytes(),
                        ]
                        .concat(),
                    ),
                ],
            ),
            r#"openat2(AT_FDCWD, "/x", {flags=O_RDONLY|O_CLOEXEC, resolve=RESOLVE_NO_SYMLINKS}, 24) = 3"#,
        ),
        (
            with(
                call("openat2", [AT_FDCWD, P, P + 64, 24, 0, 0], 3),
                vec![
                    cap(1, b"/new"),
                    cap(
                        2,
                        &[
                            ((libc::O_WRONLY | libc::O_CREAT) as u64).to_ne_bytes(),
                            0o640u64.to_ne_bytes(),
                            0u64.to_ne_bytes(),
                        ]
                        .concat(),
                    ),
                ],
            ),
            r#"openat2(AT_FDCWD, "/new", {flags=O_WRONLY|O_CREAT, mode=0640, resolve=0}, 24) = 3"#,
        ),
        (
            with(
                call("openat2", [AT_FDCWD, P, P + 64, 24, 0, 0], -14),
                vec![cap(1, b"/x"), fault(2)],
            ),
            r#"openat2(AT_FDCWD, "/x", 0x7ffc0040, 24) = -1 EFAULT (Bad address)"#,
        ),
        (
            with(call("creat", [P, 0o600, 0, 0, 0, 0], 5), vec![cap(0, b"f")]),
            r#"creat("f", 0600) = 5"#,
        ),
        (
            with(
                call(
                    "newfstatat",
                    [3, P, P + 8, libc::AT_EMPTY_PATH as u64, 0, 0],
                    0,
                ),
                vec![cap(1, b"")],
            ),
            r#"newfstatat(3, "", 0x7ffc0008, AT_EMPTY_PATH) = 0"#,
        ),
        (
            with(
                call(
                    "statx",
                    [
                        AT_FDCWD,
                        P,
                        libc::AT_SYMLINK_NOFOLLOW as u64,
                        0x7ff,
                        P + 8,
                        0,
                    ],
                    0,
                ),
                vec![cap(1, b"/etc")],
            ),
            r#"statx(AT_FDCWD, "/etc", AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, 0x7ffc0008) = 0"#,
        ),
        (
            with(call("stat", [P, P + 8, 0, 0, 0, 0], 0), vec![cap(0, b"/")]),
            r#"stat("/", 0x7ffc0008) = 0"#,
        ),
        (
            with(
                call("access", [P, libc::R_OK as u64, 0, 0, 0, 0], -2),
                vec![cap(0, b"/etc/ld.so.preload")],
            ),
            r#"access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory)"#,
        ),
        (
            with(
                call(
                    "faccessat2",
                    [AT_FDCWD, P, (libc::W_OK | libc::X_OK) as u64, 0x200, 0, 0],
                    -13,
                ),
                vec![cap(1, b"/x")],
            ),
            r#"faccessat2(AT_FDCWD, "/x", W_OK|X_OK, AT_EACCESS) = -1 EACCES (Permission denied)"#,
        ),
        (
            with(
                call("faccessat", [AT_FDCWD, P, 0, 0, 0, 0], 0),
                vec![cap(1, b"/")],
            ),
            r#"faccessat(AT_FDCWD, "/", F_OK) = 0"#,
        ),
        (
            with(
                call("readlink", [P, P + 64, 4096, 0, 0, 0], 11),
                vec![cap(0, b"/proc/self/exe"), cap(1, b"/usr/bin/ls")],
            ),
            r#"readlink("/proc/self/exe", "/usr/bin/ls", 4096) = 11"#,
        ),
        (
            with(
                call("readlinkat", [AT_FDCWD, P, P + 64, 64, 0, 0], -22),
                vec![cap(1, b"/etc/passwd")],
            ),
            r#"readlinkat(AT_FDCWD, "/etc/passwd", 0x7ffc0040, 64) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            with(
                call("getcwd", [P, 4096, 0, 0, 0, 0], 8),
                vec![cap(0, b"/home/u\0")],
            ),
            r#"getcwd("/home/u", 4096) = 8"#,
        ),
        (
            with(call("chdir", [P, 0, 0, 0, 0, 0], 0), vec![cap(0, b"/tmp")]),
            r#"chdir("/tmp") = 0"#,
        ),
        (
            with(
                call("mkdir", [P, 0o755, 0, 0, 0, 0], -17),
                vec![cap(0, b"/tmp/d")],
            ),
            r#"mkdir("/tmp/d", 0755) = -1 EEXIST (File exists)"#,
        ),
        (
            with(
                call("mkdirat", [3, P, 0o700, 0, 0, 0], 0),
                vec![cap(1, b"d")],
            ),
            r#"mkdirat(3, "d", 0700) = 0"#,
        ),
        (
            with(
                call(
                    "unlinkat",
                    [AT_FDCWD, P, libc::AT_REMOVEDIR as u64, 0, 0, 0],
                    0,
                ),
                vec![cap(1, b"d")],
            ),
            r#"unlinkat(AT_FDCWD, "d", AT_REMOVEDIR) = 0"#,
        ),
        (
            with(call("unlink", [P, 0, 0, 0, 0, 0], 0), vec![cap(0, b"f")]),
            r#"unlink("f") = 0"#,
        ),
        (
            with(
                call("renameat2", [AT_FDCWD, P, AT_FDCWD, P + 8, 1, 0], 0),
                vec![cap(1, b"a"), cap(3, b"b")],
            ),
            r#"renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE) = 0"#,
        ),
        (
            with(
                call("rename", [P, P + 8, 0, 0, 0, 0], 0),
                vec![cap(0, b"a"), cap(1, b"b")],
            ),
            r#"rename("a", "b") = 0"#,
        ),
        (
            with(
                call(
                    "linkat",
                    [AT_FDCWD, P, 4, P + 8, libc::AT_SYMLINK_FOLLOW as u64, 0],
                    0,
                ),
                vec![cap(1, b"a"), cap(3, b"b")],
            ),
            r#"linkat(AT_FDCWD, "a", 4, "b", AT_SYMLINK_FOLLOW) = 0"#,
        ),
        (
            with(
                call("symlink", [P, P + 8, 0, 0, 0, 0], 0),
                vec![cap(0, b"target"), cap(1, b"/tmp/link")],
            ),
            r#"symlink("target", "/tmp/link") = 0"#,
        ),
        (
            with(
                call("symlinkat", [P, AT_FDCWD, P + 8, 0, 0, 0], 0),
                vec![cap(0, b"t"), cap(2, b"l")],
            ),
            r#"symlinkat("t", AT_FDCWD, "l") = 0"#,
        ),
        (
            with(
                call("truncate", [P, 100, 0, 0, 0, 0], 0),
                vec![cap(0, b"f")],
            ),
            r#"truncate("f", 100) = 0"#,
        ),
        (
            with(
                call("chmod", [P, 0o4755, 0, 0, 0, 0], 0),
                vec![cap(0, b"f")],
            ),
            r#"chmod("f", 04755) = 0"#,
        ),
        (
            with(
                call("fchmodat", [AT_FDCWD, P, 0, 0, 0, 0], 0),
                vec![cap(1, b"f")],
            ),
            r#"fchmodat(AT_FDCWD, "f", 000) = 0"#,
        ),
        (
            with(
                call(
                    "fchownat",
                    [
                        AT_FDCWD,
                        P,
                        u64::MAX,
                        1000,
                        libc::AT_SYMLINK_NOFOLLOW as u64,
                        0,
                    ],
                    0,
                ),
                vec![cap(1, b"f")],
            ),
            r#"fchownat(AT_FDCWD, "f", -1, 1000, AT_SYMLINK_NOFOLLOW) = 0"#,
        ),
        (
            with(call("lchown", [P, 0, 0, 0, 0, 0], -1), vec![cap(0, b"f")]),
            r#"lchown("f", 0, 0) = -1 EPERM (Operation not permitted)"#,
        ),
        (
            with(
                call(
                    "mknodat",
                    [AT_FDCWD, P, (libc::S_IFCHR | 0o600) as u64, 0x103, 0, 0],
                    0,
                ),
                vec![cap(1, b"null")],
            ),
            r#"mknodat(AT_FDCWD, "null", S_IFCHR|0600, makedev(0x1, 0x3)) = 0"#,
        ),
        (
            with(
                call(
                    "inotify_add_watch",
                    [3, P, (libc::IN_MODIFY | libc::IN_CREATE) as u64, 0, 0, 0],
                    1,
                ),
                vec![cap(1, b"/etc")],
            ),
            r#"inotify_add_watch(3, "/etc", IN_MODIFY|IN_CREATE) = 1"#,
        ),
    ]);
}

#[test]
fn execve_shows_argv() {
    let exec = |argv: Vec<Captured>, truncated: bool| {
        let mut ev = with(call("execve", [P, P + 64, P + 128, 0, 0, 0], 0), argv);
        ev.captures.push(cap(0, b"/bin/ls"));
        ev.argv_truncated = truncated;
        ev
    };
    let mut faulted = argv_items(1, &[b"ls", b""]);
    faulted[1].fault = true;
    let mut long_arg = argv_items(1, &[b"ls", b"/a/very/long"]);
    long_arg[1].truncated = true;
    check(vec![
        (
            exec(argv_items(1, &[b"ls", b"-la"]), false),
            r#"execve("/bin/ls", ["ls", "-la"], 0x7ffc0080) = 0"#,
        ),
        (
            exec(argv_items(1, &[b"ls", b"-l"]), true),
            r#"execve("/bin/ls", ["ls", "-l", ...], 0x7ffc0080) = 0"#,
        ),
        (
            exec(faulted, false),
            r#"execve("/bin/ls", ["ls", ...], 0x7ffc0080) = 0"#,
        ),
        (
            exec(long_arg, false),
            r#"execve("/bin/ls", ["ls", "/a/very/long"...], 0x7ffc0080) = 0"#,
        ),
        (
            exec(vec![fault(1)], false),
            r#"execve("/bin/ls", 0x7ffc0040, 0x7ffc0080) = 0"#,
        ),
    ]);
    let d_ev = exec(argv_items(1, &[b"ls", b"-la"]), true);
    let d = decode(&d_ev);
    assert_eq!(
        json(&d.args()[1]),
        json!({"value": ["ls", "-la"], "truncated": true})
    );
    assert_eq!(json(&d.args()[2]), json!("0x7ffc0080"));

    let mut at = with(
        call(
            "execveat",
            [3, P, P + 64, 0, libc::AT_EMPTY_PATH as u64, 0],
            -2,
        ),
        argv_items(2, &[b"sh"]),
    );
    at.captures.push(cap(1, b""));
    assert_eq!(
        line(&at),
        r#"execveat(3, "", ["sh"], NULL, AT_EMPTY_PATH) = -1 ENOENT (No such file or directory)"#
    );
}

#[test]
fn descriptor_syscalls() {
    let pipe_fds = ints(3, 4);
    check(vec![
        (
            with(
                call("read", [3, P, 4096, 0, 0, 0], 4096),
                vec![cut(1, b"hello")],
            ),
            r#"read(3, "hello"..., 4096) = 4096"#,
        ),
        (
            with(
                call("read", [3, P, 4096, 0, 0, 0], 8),
                vec![cap(1, b"hello")],
            ),
            r#"read(3, "hello"..., 4096) = 8"#,
        ),
        (
            with(call("read", [3, P, 4096, 0, 0, 0], 0), vec![cap(1, b"")]),
            r#"read(3, "", 4096) = 0"#,
        ),
        (
            call("read", [3, P, 10, 0, 0, 0], -11),
            "read(3, 0x7ffc0000, 10) = -1 EAGAIN (Resource temporarily unavailable)",
        ),
        (
            call("read", [0, P, 10, 0, 0, 0], -512),
            "read(0, 0x7ffc0000, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)",
        ),
        (
            with(call("write", [1, P, 3, 0, 0, 0], 3), vec![cap(1, b"hi\n")]),
            r#"write(1, "hi\n", 3) = 3"#,
        ),
        (
            with(call("write", [1, P, 3, 0, 0, 0], -32), vec![fault(1)]),
            "write(1, 0x7ffc0000, 3) = -1 EPIPE (Broken pipe)",
        ),
        (
            with(
                call("pread64", [3, P, 832, 64, 0, 0], 832),
                vec![cap(1, b"\x7fELF")],
            ),
            r#"pread64(3, "\177ELF"..., 832, 64) = 832"#,
        ),
        (
            with(
                call("pwrite64", [3, P, 2, 4096, 0, 0], 2),
                vec![cap(1, b"ok")],
            ),
            r#"pwrite64(3, "ok", 2, 4096) = 2"#,
        ),
        (
            call("writev", [2, P, 3, 0, 0, 0], 42),
            "writev(2, 0x7ffc0000, 3) = 42",
        ),
        (call("close", [3, 0, 0, 0, 0, 0], 0), "close(3) = 0"),
        (
            call("close", [99, 0, 0, 0, 0, 0], -9),
            "close(99) = -1 EBADF (Bad file descriptor)",
        ),
        (call("dup2", [3, 1, 0, 0, 0, 0], 1), "dup2(3, 1) = 1"),
        (
            call("dup3", [3, 1, libc::O_CLOEXEC as u64, 0, 0, 0], 1),
            "dup3(3, 1, O_CLOEXEC) = 1",
        ),
        (
            with(
                call("pipe2", [P, libc::O_CLOEXEC as u64, 0, 0, 0, 0], 0),
                vec![cap(0, &pipe_fds)],
            ),
            "pipe2([3, 4], O_CLOEXEC) = 0",
        ),
        (
            with(call("pipe", [P, 0, 0, 0, 0, 0], 0), vec![cap(0, &pipe_fds)]),
            "pipe([3, 4]) = 0",
        ),
        (
            call("pipe2", [P, 0, 0, 0, 0, 0], -24),
            "pipe2(0x7ffc0000, 0) = -1 EMFILE (Too many open files)",
        ),
        (
            call("lseek", [3, 0, libc::SEEK_END as u64, 0, 0, 0], 1234),
            "lseek(3, 0, SEEK_END) = 1234",
        ),
        (
            call(
                "mmap",
                [
                    0,
                    8192,
                    (libc::PROT_READ | libc::PROT_WRITE) as u64,
                    (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64,
                    u64::MAX,
                    0,
                ],
                0x7f12_3456_0000,
            ),
            "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1234560000",
        ),
        (
            call("mprotect", [0x7f12_3456_0000, 4096, 0, 0, 0, 0], 0),
            "mprotect(0x7f1234560000, 4096, PROT_NONE) = 0",
        ),
        (
            call("brk", [0, 0, 0, 0, 0, 0], 0x5555_0000_0000),
            "brk(NULL) = 0x555500000000",
        ),
    ]);
}

#[test]
fn fcntl_commands_and_results() {
    let f = |cmd: i32, arg: u64, ret: i64| call("fcntl", [3, cmd as u64, arg, 0, 0, 0], ret);
    check(vec![
        (
            f(libc::F_GETFD, 0, 1),
            "fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)",
        ),
        (f(libc::F_GETFD, 0, 0), "fcntl(3, F_GETFD) = 0"),
        (
            f(libc::F_SETFD, libc::FD_CLOEXEC as u64, 0),
            "fcntl(3, F_SETFD, FD_CLOEXEC) = 0",
        ),
        (
            f(libc::F_GETFL, 0, (libc::O_RDWR | libc::O_NONBLOCK) as i64),
            "fcntl(3, F_GETFL) = 0x802 (flags O_RDWR|O_NONBLOCK)",
        ),
        (
            f(libc::F_SETFL, (libc::O_RDWR | libc::O_NONBLOCK) as u64, 0),
            "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0",
        ),
        (
            f(libc::F_DUPFD_CLOEXEC, 0, 4),
            "fcntl(3, F_DUPFD_CLOEXEC, 0) = 4",
        ),
        (
            f(libc::F_SETLKW, P, 0),
            "fcntl(3, F_SETLKW, 0x7ffc0000) = 0",
        ),
        (
            f(0x4242, 7, -22),
            "fcntl(3, 16962, 0x7) = -1 EINVAL (Invalid argument)",
        ),
    ]);
}

#[test]
fn process_syscalls() {
    let status = |s: i32| {
        with(
            call("wait4", [u64::MAX, P, 0, 0, 0, 0], 1234),
            vec![cap(1, &s.to_ne_bytes())],
        )
    };
    let clone_flags =
        (libc::CLONE_CHILD_CLEARTID | libc::CLONE_CHILD_SETTID | libc::SIGCHLD) as u64;
    let thread_flags = (libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD
        | libc::CLONE_SYSVSEM
        | libc::CLONE_SETTLS
        | libc::CLONE_PARENT_SETTID
        | libc::CLONE_CHILD_CLEARTID) as u64;
    check(vec![
        (
            status(0),
            "wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 1234",
        ),
        (
            status(3 << 8),
            "wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 1234",
        ),
        (
            status(libc::SIGKILL),
            "wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], 0, NULL) = 1234",
        ),
        (
            status(libc::SIGSEGV | 0x80),
            "wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV && WCOREDUMP(s)}], 0, NULL) = 1234",
        ),
        (
            status((libc::SIGSTOP << 8) | 0x7f),
            "wait4(-1, [{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}], 0, NULL) = 1234",
        ),
        (
            status(0xffff),
            "wait4(-1, [{WIFCONTINUED(s)}], 0, NULL) = 1234",
        ),
        (
            call("wait4", [u64::MAX, P, libc::WNOHANG as u64, 0, 0, 0], 0),
            "wait4(-1, 0x7ffc0000, WNOHANG, NULL) = 0",
        ),
        (
            call("wait4", [u64::MAX, P, 0x4000_0000, 0, 0, 0], -10),
            "wait4(-1, 0x7ffc0000, __WALL, NULL) = -1 ECHILD (No child processes)",
        ),
        (
            call("clone", [clone_flags, 0, 0, 0x7f00_0000_1000, 0, 0], 1235),
            "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f0000001000) = 1235",
        ),
        (
            call(
                "clone",
                [
                    thread_flags,
                    0x7f00_0000_8000,
                    P,
                    P + 16,
                    0x7f00_0000_9000,
                    0,
                ],
                1236,
            ),
            "clone(child_stack=0x7f0000008000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, parent_tid=0x7ffc0000, tls=0x7f0000009000, child_tidptr=0x7ffc0010) = 1236",
        ),
        (
            call("clone", [0, 0, 0, 0, 0, 0], -1),
            "clone(child_stack=NULL, flags=0) = -1 EPERM (Operation not permitted)",
        ),
        (
            call("clone3", [P, 88, 0, 0, 0, 0], 1237),
            "clone3(0x7ffc0000, 88) = 1237",
        ),
        (call("fork", [0; 6], 1238), "fork() = 1238"),
        (event(X, "exit_group", [0; 6], None), "exit_group(0) = ?"),
        (event(X, "exit", [1, 0, 0, 0, 0, 0], None), "exit(1) = ?"),
        (
            call("kill", [1234, libc::SIGTERM as u64, 0, 0, 0, 0], 0),
            "kill(1234, SIGTERM) = 0",
        ),
        (
            call("kill", [u64::MAX, 0, 0, 0, 0, 0], -3),
            "kill(-1, 0) = -1 ESRCH (No such process)",
        ),
        (
            call("tgkill", [10, 11, 34, 0, 0, 0], 0),
            "tgkill(10, 11, SIGRT_2) = 0",
        ),
        (
            call("tkill", [11, 32, 0, 0, 0, 0], 0),
            "tkill(11, SIGRTMIN) = 0",
        ),
    ]);
    assert_eq!(
        json(&decode(&status(libc::SIGKILL)).args()[1]),
        json!({"signal": "SIGKILL", "core_dumped": false})
    );
    assert_eq!(json(&decode(&status(0)).args()[1]), json!({"exit_code": 0}));
}

#[test]
fn network_syscalls() {
    let unix = |path: &[u8]| {
        let mut b = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        b.extend(path);
        b
    };
    let inet6 = {
        let mut b = (libc::AF_INET6 as u16).to_ne_bytes().to_vec();
        b.extend(443u16.to_be_bytes());
        b.extend([0; 4]);
        b.extend(std::net::Ipv6Addr::LOCALHOST.octets());
        b.extend([0; 4]);
        b
    };
    check(vec![
        (
            call(
                "socket",
                [
                    libc::AF_INET as u64,
                    (libc::SOCK_STREAM | libc::SOCK_CLOEXEC) as u64,
                    libc::IPPROTO_TCP as u64,
                    0,
                    0,
                    0,
                ],
                3,
            ),
            "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 3",
        ),
        (
            call(
                "socket",
                [
                    libc::AF_UNIX as u64,
                    (libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK) as u64,
                    0,
                    0,
                    0,
                    0,
                ],
                4,
            ),
            "socket(AF_UNIX, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, 0) = 4",
        ),
        (
            call(
                "socket",
                [libc::AF_NETLINK as u64, libc::SOCK_RAW as u64, 0, 0, 0, 0],
                5,
            ),
            "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) = 5",
        ),
        (
            with(
                call("connect", [3, P, 16, 0, 0, 0], 0),
                vec![cap(1, &inet(80, [127, 0, 0, 1]))],
            ),
            r#"connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, 16) = 0"#,
        ),
        (
            with(
                call("connect", [3, P, 16, 0, 0, 0], -115),
                vec![cap(1, &inet(443, [10, 0, 0, 1]))],
            ),
            r#"connect(3, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("10.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)"#,
        ),
        (
            with(
                call("connect", [3, P, 28, 0, 0, 0], 0),
                vec![cap(1, &inet6)],
            ),
            r#"connect(3, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0"#,
        ),
        (
            with(
                call("connect", [3, P, 14, 0, 0, 0], -2),
                vec![cap(1, &unix(b"/run/x.sock\0"))],
            ),
            r#"connect(3, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 14) = -1 ENOENT (No such file or directory)"#,
        ),
        (
            with(
                call("bind", [3, P, 7, 0, 0, 0], 0),
                vec![cap(1, &unix(b"\0name"))],
            ),
            r#"bind(3, {sa_family=AF_UNIX, sun_path=@"name"}, 7) = 0"#,
        ),
        (
            call("listen", [3, 4096, 0, 0, 0, 0], 0),
            "listen(3, 4096) = 0",
        ),
        (
            with(
                call(
                    "accept4",
                    [3, P, P + 128, libc::SOCK_CLOEXEC as u64, 0, 0],
                    5,
                ),
                vec![cap(1, &inet(51000, [192, 168, 1, 2]))],
            ),
            r#"accept4(3, {sa_family=AF_INET, sin_port=htons(51000), sin_addr=inet_addr("192.168.1.2")}, [16], SOCK_CLOEXEC) = 5"#,
        ),
        (
            call("accept", [3, 0, 0, 0, 0, 0], 6),
            "accept(3, NULL, NULL) = 6",
        ),
        (
            call("accept", [3, P, P + 128, 0, 0, 0], -11),
            "accept(3, 0x7ffc0000, 0x7ffc0080) = -1 EAGAIN (Resource temporarily unavailable)",
        ),
        (
            with(
                call("getsockname", [3, P, P + 128, 0, 0, 0], 0),
                vec![cap(1, &unix(b""))],
            ),
            "getsockname(3, {sa_family=AF_UNIX}, [2]) = 0",
        ),
        (
            with(
                call("sendto", [3, P, 4, libc::MSG_NOSIGNAL as u64, 0, 0], 4),
                vec![cap(1, b"ping")],
            ),
            r#"sendto(3, "ping", 4, MSG_NOSIGNAL, NULL, 0) = 4"#,
        ),
        (
            with(
                call("sendto", [3, P, 2, 0, P + 64, 16], 2),
                vec![cap(1, b"hi"), cap(4, &inet(53, [8, 8, 8, 8]))],
            ),
            r#"sendto(3, "hi", 2, 0, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("8.8.8.8")}, 16) = 2"#,
        ),
        (
            with(
                call(
                    "recvfrom",
                    [3, P, 1500, libc::MSG_DONTWAIT as u64, P + 2048, P + 4096],
                    4,
                ),
                vec![cap(1, b"pong"), cap(4, &inet(53, [1, 1, 1, 1]))],
            ),
            r#"recvfrom(3, "pong", 1500, MSG_DONTWAIT, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("1.1.1.1")}, [16]) = 4"#,
        ),
        (
            call("sendmsg", [3, P, libc::MSG_NOSIGNAL as u64, 0, 0, 0], 10),
            "sendmsg(3, 0x7ffc0000, MSG_NOSIGNAL) = 10",
        ),
        (
            call("recvmsg", [3, P, 0, 0, 0, 0], 0),
            "recvmsg(3, 0x7ffc0000, 0) = 0",
        ),
        (
            call("shutdown", [3, libc::SHUT_WR as u64, 0, 0, 0, 0], 0),
            "shutdown(3, SHUT_WR) = 0",
        ),
        (
            call(
                "setsockopt",
                [
                    3,
                    libc::SOL_SOCKET as u64,
                    libc::SO_REUSEADDR as u64,
                    P,
                    4,
                    0,
                ],
                0,
            ),
            "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, 0x7ffc0000, 4) = 0",
        ),
        (
            call(
                "setsockopt",
                [3, libc::SOL_TCP as u64, libc::TCP_NODELAY as u64, P, 4, 0],
                0,
            ),
            "setsockopt(3, SOL_TCP, TCP_NODELAY, 0x7ffc0000, 4) = 0",
        ),
        (
            call(
                "getsockopt",
                [
                    3,
                    libc::SOL_SOCKET as u64,
                    libc::SO_ERROR as u64,
                    P,
                    P + 8,
                    0,
                ],
                0,
            ),
            "getsockopt(3, SOL_SOCKET, SO_ERROR, 0x7ffc0000, 0x7ffc0008) = 0",
        ),
        (
            with(
                call(
                    "socketpair",
                    [libc::AF_UNIX as u64, libc::SOCK_STREAM as u64, 0, P, 0, 0],
                    0,
                ),
                vec![cap(3, &ints(5, 6))],
            ),
            "socketpair(AF_UNIX, SOCK_STREAM, 0, [5, 6]) = 0",
        ),
    ]);
}

#[test]
fn signal_names() {
    let cases = [
        (9, Some("SIGKILL")),
        (17, Some("SIGCHLD")),
        (31, Some("SIGSYS")),
        (32, Some("SIGRTMIN")),
        (34, Some("SIGRT_2")),
        (64, Some("SIGRT_32")),
        (65, None),
        (0, None),
        (-1, None),
    ];
    for (sig, want) in cases {
        assert_eq!(signal_name(sig), want, "signal {sig}");
    }
}

#[test]
fn json_values() {
    let open_ev = with(
        call("openat", [AT_FDCWD, P, libc::O_CLOEXEC as u64, 0, 0, 0], 3),
        vec![cap(1, b"/etc/x")],
    );
    let open = decode(&open_ev);
    let args: Vec<_> = open.args().iter().map(json).collect();
    assert_eq!(
        args,
        [
            json!("AT_FDCWD"),
            json!("/etc/x"),
            json!(["O_RDONLY", "O_CLOEXEC"])
        ]
    );
    assert_eq!(open.errno, None);

    let connect_ev = with(
        call("connect", [3, P, 16, 0, 0, 0], 0),
        vec![cap(1, &inet(80, [127, 0, 0, 1]))],
    );
    let connect = decode(&connect_ev);
    assert_eq!(
        json(&connect.args()[1]),
        json!({"family": "AF_INET", "addr": "127.0.0.1", "port": 80})
    );
    assert_eq!(json(&connect.args()[2]), json!(16));

    let read_ev = with(
        call("read", [3, P, 4096, 0, 0, 0], 4096),
        vec![cut(1, b"hello")],
    );
    let read = decode(&read_ev);
    assert_eq!(
        json(&read.args()[1]),
        json!({"value": "hello", "truncated": true})
    );

    let failed_ev = with(call("openat", [3, 0x1000, 0, 0, 0, 0], -14), vec![fault(1)]);
    let failed = decode(&failed_ev);
    assert_eq!(
        json(&failed.args()[1]),
        json!({"ptr": "0x1000", "unreadable": true})
    );
    assert_eq!(failed.errno, Some("EFAULT"));

    let mmap_ev = call("mmap", [0, 4096, 1, 2, u64::MAX, 0], 0x7f00_0000_0000);
    let mmap = decode(&mmap_ev);
    assert_eq!(json(&mmap.args()[0]), json!(null));
    assert_eq!(json(&mmap.args()[4]), json!(-1));
    assert!(mmap.to_string().ends_with(") = 0x7f0000000000"), "{mmap}");
}

#[test]
fn hostile_bytes_are_escaped_in_text_and_exact_in_json() {
    let path = b"/tmp/\x1b[2J\nevil\xff\xe2\x80\xae";
    let ev = with(
        call("openat", [AT_FDCWD, P, 0, 0, 0, 0], 3),
        vec![cap(1, path)],
    );
    let d = decode(&ev);
    let text = d.to_string();
    assert_eq!(
        text,
        r#"openat(AT_FDCWD, "/tmp/\33[2J\nevil\377\u{202e}", O_RDONLY) = 3"#
    );
    assert!(!text.chars().any(char::is_control), "{text:?}");
    assert_eq!(json(&d.args()[1]), escape::json_bytes(path));
    assert_eq!(
        json(&d.args()[1]),
        json!({"hex": "2f746d702f1b5b324a0a6576696cffe280ae"})
    );

    let valid = "/tmp/a\u{202e}b\n";
    let ev = with(
        call("unlink", [P, 0, 0, 0, 0, 0], 0),
        vec![cap(0, valid.as_bytes())],
    );
    let d = decode(&ev);
    assert_eq!(d.to_string(), r#"unlink("/tmp/a\u{202e}b\n") = 0"#);
    assert_eq!(json(&d.args()[0]), json!(valid));
}

#[test]
fn unknown_and_undecoded_syscalls_fall_back_to_raw() {
    let unknown = SyscallEvent {
        nr: 999,
        ..call("getpid", [0x7f00_0000_0000, 1, u64::MAX, 0x1_0000, 0, 0], 0)
    };
    let d = decode(&unknown);
    assert_eq!(d.name, "syscall_999");
    assert_eq!(
        d.to_string(),
        "syscall_999(0x7f0000000000, 1, -1, 0x10000, 0, 0) = 0"
    );
    assert_eq!(json(&d.args()[0]), json!("0x7f0000000000"));
    assert_eq!(json(&d.args()[2]), json!(-1));

    check(vec![
        (call("getpid", [5, 6, 7, 8, 9, 10], 1234), "getpid() = 1234"),
        (call("umask", [0o22, 0, 0, 0, 0, 0], 0o22), "umask(18) = 18"),
        (
            with(
                call("setxattr", [P, P + 64, P + 128, 5, 0, 0], 0),
                vec![cap(0, b"/x"), cap(1, b"user.k")],
            ),
            r#"setxattr("/x", "user.k", 0x7ffc0080, 5, 0) = 0"#,
        ),
        (
            call(
                "mremap",
                [0x7f00_0000_0000, 4096, 8192, 1, 0, 0],
                0x7f00_0001_0000,
            ),
            "mremap(0x7f0000000000, 4096, 8192, 1, 0) = 0x7f0000010000",
        ),
        (
            call("nanosleep", [P, 0, 0, 0, 0, 0], -516),
            "nanosleep(0x7ffc0000, 0) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)",
        ),
        (
            call("ioctl", [1, 0x5401, P, 0, 0, 0], -25),
            "ioctl(1, 0x5401, 0x7ffc0000) = -1 ENOTTY (Inappropriate ioctl for device)",
        ),
        (
            call("getpid", [0; 6], -524),
            "getpid() = -1 ENOTSUPP (Unknown error 524)",
        ),
        (call("getpid", [0; 6], -600), "getpid() = -1 (errno 600)"),
    ]);
}

#[test]
fn aarch64_events_decode_by_name() {
    let a = Arch::Aarch64;
    let ev = with(
        event(
            a,
            "openat",
            [AT_FDCWD, P, libc::O_CLOEXEC as u64, 0, 0, 0],
            Some(-2),
        ),
        vec![cap(1, b"/etc/x")],
    );
    assert_eq!(ev.nr, 56);
    assert_eq!(
        line(&ev),
        r#"openat(AT_FDCWD, "/etc/x", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)"#
    );
    let stat = with(
        event(a, "newfstatat", [AT_FDCWD, P, P + 8, 0, 0, 0], Some(0)),
        vec![cap(1, b"/")],
    );
    assert_eq!(stat.nr, 79);
    assert_eq!(
        line(&stat),
        r#"newfstatat(AT_FDCWD, "/", 0x7ffc0008, 0) = 0"#
    );
    // aarch64's clone takes tls before child_tid.
    let flags = (libc::CLONE_SETTLS | libc::CLONE_CHILD_CLEARTID | libc::SIGCHLD) as u64;
    let clone = event(a, "clone", [flags, 0, 0, 0x1000, 0x2000, 0], Some(7));
    assert_eq!(
        line(&clone),
        "clone(child_stack=NULL, flags=CLONE_SETTLS|CLONE_CHILD_CLEARTID|SIGCHLD, tls=0x1000, child_tidptr=0x2000) = 7"
    );
    let x86 = event(X, "clone", [flags, 0, 0, 0x1000, 0x2000, 0], Some(7));
    assert_eq!(
        line(&x86),
        "clone(child_stack=NULL, flags=CLONE_SETTLS|CLONE_CHILD_CLEARTID|SIGCHLD, tls=0x2000, child_tidptr=0x1000) = 7"
    );
}

/// Every capture the spec asks the probe for must be read by a decoder of
/// its own; the generic decoder only shows strings.
#[test]
fn every_capture_has_a_decoder() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        for (nr, name) in sysno::all(arch) {
            let needs_decoder = spec::captures(name)
                .iter()
                .any(|c| !matches!(c, Capture::None | Capture::Str));
            if needs_decoder {
                let ev = SyscallEvent {
                    nr,
                    ..event(arch, name, [0; 6], Some(0))
                };
                assert!(
                    args::decode(name, &ev, &mut Args::new()).is_some(),
                    "{name} has no decoder"
                );
            }
        }
    }
}

/// No syscall, whatever its registers and captures, makes the decoder panic
/// or print a control character.
#[test]
fn every_syscall_decodes_anything() {
    let hostile: &[u8] = b"\x1b]0;pwn\x07\n\r\xff\0";
    for arch in [Arch::X86_64, Arch::Aarch64] {
        for (_, name) in sysno::all(arch) {
            for ret in [None, Some(0), Some(5), Some(-2), Some(-512), Some(i64::MAX)] {
                for args in [[0; 6], [u64::MAX; 6], [P, 3, P, 3, P, 3]] {
                    let captures = (0..6)
                        .flat_map(|i| {
                            [
                                cap(i, hostile),
                                Captured {
                                    index: 1,
                                    ..cut(i, hostile)
                                },
                            ]
                        })
                        .collect();
                    let ev = with(event(arch, name, args, ret), captures);
                    let text = decode(&ev).to_string();
                    assert!(!text.chars().any(char::is_control), "{text:?}");
                }
            }
        }
    }
}

/// Arguments serialize themselves, object keys in hand-written order; they
/// must print exactly what a `serde_json::Value` of them (whose keys are
/// sorted) would, which is what the JSON output printed when it built one.
#[test]
fn json_prints_what_a_value_would() {
    let payloads: &[&[u8]] = &[
        b"\x1b]0;pwn\x07\n\r\xff\0",
        b"/etc/passwd",
        &inet(80, [127, 0, 0, 1]),
        &inet(80, [127, 0, 0, 1])[..6],
        &[
            10, 0, 1, 187, 0, 0, 0, 7, 32, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0,
            0,
        ],
        &[1, 0, 0, b'a', 0, b'b'],
        &[16, 0, 0, 0, 210, 4, 0, 0, 1, 0, 0, 0],
        &ints(libc::SIGSEGV | 0x80, 0),
        &ints((libc::SIGSTOP << 8) | 0x7f, 0),
        &ints(3 << 8, 0),
        &ints(0xffff, 0),
        &ints(0x17f, 0),
        &[7; 24],
    ];
    for arch in [Arch::X86_64, Arch::Aarch64] {
        for (_, name) in sysno::all(arch) {
            for payload in payloads {
                for truncated in [false, true] {
                    let captures = (0..6)
                        .flat_map(|i| {
                            [
                                Captured {
                                    truncated,
                                    ..cap(i, payload)
                                },
                                Captured {
                                    index: 1,
                                    ..cut(i, b"-x")
                                },
                            ]
                        })
                        .collect();
                    let args = [P, 0x1_0000_0003, P, 2, P, 28];
                    let ev = with(event(arch, name, args, Some(5)), captures);
                    for arg in decode(&ev).args() {
                        let direct = serde_json::to_string(arg).expect("serializes");
                        let via_value = serde_json::to_string(&json(arg)).expect("serializes");
                        assert_eq!(direct, via_value, "{name}: {ev:?}");
                    }
                }
            }
        }
    }
    let ev = with(
        call("connect", [3, P, 16, 0, 0, 0], 0),
        vec![cap(1, &inet(80, [127, 0, 0, 1]))],
    );
    assert_eq!(
        serde_json::to_string(&decode(&ev).args()[1]).expect("serializes"),
        r#"{"addr":"127.0.0.1","family":"AF_INET","port":80}"#
    );
}
