//! A look at the filesystem when the report is made, for the two failures
//! whose errno alone misleads: EACCES/EPERM (which directory or mode said
//! no?) and an execve ENOENT on a file that is right there (its `#!`
//! interpreter or its ELF dynamic loader is what is missing).
//!
//! This runs once per report, after the traced processes are gone; the
//! files are usually still as they were, and where they are not (removed
//! since) the explanation says so rather than guessing.

use std::ffi::OsStr;
use std::fmt::Write;
use std::fs::{self, File};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::escape::escape;

/// Read permission, as in a mode's `r` bit of any class.
pub const READ: u8 = 4;
/// Write permission.
pub const WRITE: u8 = 2;
/// Execute permission (search, for a directory).
pub const EXEC: u8 = 1;

/// Why an execve said ENOENT for a file that exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The script's `#!` line names an interpreter that does not exist. A
    /// trailing `\r` is part of the name, as the kernel reads it: the
    /// script was saved with CRLF line ends.
    Interpreter { interpreter: Vec<u8> },
    /// The ELF file's `PT_INTERP` names a dynamic loader that does not
    /// exist (a binary built for another libc or distribution). `via` is
    /// the `#!` interpreter it belongs to, when the file run was a script.
    Loader {
        loader: Vec<u8>,
        via: Option<Vec<u8>>,
    },
}

impl Cause {
    /// One line for people, every byte from the file escaped.
    pub fn describe(&self) -> String {
        match self {
            Cause::Interpreter { interpreter } => {
                format!("interpreter {} not found", escape(interpreter))
            }
            Cause::Loader { loader, via: None } => {
                format!(
                    "ELF interpreter (dynamic loader) {} not found",
                    escape(loader)
                )
            }
            Cause::Loader {
                loader,
                via: Some(via),
            } => format!(
                "ELF interpreter (dynamic loader) {} of interpreter {} not found",
                escape(loader),
                escape(via)
            ),
        }
    }

    /// The paths an error message about this could name.
    pub(crate) fn paths(&self) -> impl Iterator<Item = &[u8]> {
        let (first, second) = match self {
            Cause::Interpreter { interpreter } => (interpreter, None),
            Cause::Loader { loader, via } => (loader, via.as_ref()),
        };
        std::iter::once(first.as_slice()).chain(second.map(Vec::as_slice))
    }
}

/// What stood in the way of a lookup that was denied (EACCES, EPERM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// A directory on the way that the process may not search: its class
    /// lacks `x` there.
    Directory(Inode),
    /// The file itself. Which access was asked is unknown (open flags are
    /// not traced), so [`Inode::lacks`] lists every bit its class lacks;
    /// when it lacks none, the mode bits are not what said no.
    File(Inode),
    /// `missing` (the path or a directory on the way) does not exist any
    /// more.
    Gone { missing: PathBuf },
    /// Nothing to look at: the reason, for people.
    Unknown { reason: &'static str },
}

/// An inode's owner and permission bits, and what they deny a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inode {
    pub path: PathBuf,
    pub owner_uid: u32,
    pub owner_gid: u32,
    /// From `/etc/passwd`, when it has the uid.
    pub owner_name: Option<String>,
    /// From `/etc/group`, when it has the gid.
    pub group_name: Option<String>,
    /// Permission bits, `st_mode & 0o7777`.
    pub mode: u32,
    /// Which of the mode's classes applies to the process.
    pub class: Class,
    /// Bits ([`READ`], [`WRITE`], [`EXEC`]) the process's class lacks.
    pub lacks: u8,
}

/// Whose permission bits apply to a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// uid 0, which the mode bits do not stop (except from executing a file
    /// without any `x` bit).
    Root,
    Owner,
    Group,
    Other,
}

impl Class {
    fn label(self) -> &'static str {
        match self {
            Class::Root => "root",
            Class::Owner => "owner",
            Class::Group => "group",
            Class::Other => "others",
        }
    }
}

/// The class of a process with real `uid`/`gid` on an inode owned by
/// `owner`/`group`. Supplementary groups are not traced, so a process that
/// has the group only as a supplementary one is put among the others.
pub(crate) fn class_of(uid: u32, gid: u32, owner: u32, group: u32) -> Class {
    if uid == 0 {
        Class::Root
    } else if uid == owner {
        Class::Owner
    } else if gid == group {
        Class::Group
    } else {
        Class::Other
    }
}

/// The permission bits a process of `class` lacks on an inode of `mode`.
/// `exec` says the lookup was an exec, the only access root can be refused
/// by the mode (a file with no `x` bit at all).
pub(crate) fn lacking(class: Class, mode: u32, is_dir: bool, exec: bool) -> u8 {
    let granted = match class {
        Class::Root => {
            let no_exec = exec && !is_dir && mode & 0o111 == 0;
            return if no_exec { EXEC } else { 0 };
        }
        Class::Owner => mode >> 6,
        Class::Group => mode >> 3,
        Class::Other => mode,
    };
    !(granted as u8) & 7
}

/// `rwx` letters for `bits`, `-` for none.
pub(crate) fn letters(bits: u8) -> String {
    let s: String = [(READ, 'r'), (WRITE, 'w'), (EXEC, 'x')]
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|&(_, c)| c)
        .collect();
    if s.is_empty() { "-".to_owned() } else { s }
}

/// User and group names from `/etc/passwd` and `/etc/group`, each file read
/// once per report and only if a denial needs it. Not NSS: a name only LDAP
/// knows stays a number, which is still the truth.
#[derive(Debug, Default)]
pub(crate) struct Names {
    passwd: Option<String>,
    group: Option<String>,
}

impl Names {
    fn user(&mut self, uid: u32) -> Option<String> {
        let db = self
            .passwd
            .get_or_insert_with(|| fs::read_to_string("/etc/passwd").unwrap_or_default());
        name_in(db, uid)
    }

    fn group(&mut self, gid: u32) -> Option<String> {
        let db = self
            .group
            .get_or_insert_with(|| fs::read_to_string("/etc/group").unwrap_or_default());
        name_in(db, gid)
    }
}

/// The name of `id` in a passwd- or group-format file (`name:x:id:…`).
fn name_in(db: &str, id: u32) -> Option<String> {
    db.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        fields.next()?;
        let this: u32 = fields.next()?.parse().ok()?;
        (this == id && !name.is_empty()).then(|| name.to_owned())
    })
}

/// Walks `path` from `/` as a process of `uid`/`gid` would: the first
/// directory it may not search is the denier, else the file's own mode.
pub(crate) fn explain_denied(
    path: Option<&Path>,
    uid: u32,
    gid: u32,
    exec: bool,
    names: &mut Names,
) -> Denial {
    let Some(path) = path.filter(|p| p.is_absolute()) else {
        return Denial::Unknown {
            reason: "the path is relative and the directory it was relative to is unknown",
        };
    };
    let mut dirs: Vec<&Path> = path.ancestors().skip(1).collect();
    dirs.reverse();
    for dir in dirs {
        let meta = match fs::metadata(dir) {
            Ok(meta) => meta,
            Err(e) => return gone_or_unknown(dir, &e),
        };
        if !meta.is_dir() {
            return Denial::Unknown {
                reason: "a component of the path is not a directory now",
            };
        }
        let inode = inode(dir, &meta, uid, gid, false, names);
        if inode.lacks & EXEC != 0 {
            return Denial::Directory(inode);
        }
    }
    match fs::metadata(path) {
        Ok(meta) => Denial::File(inode(path, &meta, uid, gid, exec, names)),
        Err(e) => gone_or_unknown(path, &e),
    }
}

fn gone_or_unknown(path: &Path, e: &io::Error) -> Denial {
    if is_missing(e) {
        Denial::Gone {
            missing: path.to_owned(),
        }
    } else {
        Denial::Unknown {
            reason: "hostscope itself may not look at the path",
        }
    }
}

fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

fn inode(
    path: &Path,
    meta: &fs::Metadata,
    uid: u32,
    gid: u32,
    exec: bool,
    names: &mut Names,
) -> Inode {
    let class = class_of(uid, gid, meta.uid(), meta.gid());
    let mode = meta.mode() & 0o7777;
    Inode {
        path: path.to_owned(),
        owner_uid: meta.uid(),
        owner_gid: meta.gid(),
        owner_name: names.user(meta.uid()),
        group_name: names.group(meta.gid()),
        mode,
        class,
        lacks: lacking(class, mode, meta.is_dir(), exec),
    }
}

impl Denial {
    /// One line for people, path bytes escaped. `uid`/`gid` are the
    /// process's. The denied path itself is not repeated.
    pub fn describe(&self, uid: u32, gid: u32) -> String {
        match self {
            Denial::Directory(dir) => format!(
                "directory {} ({}) may not be searched by uid {uid} gid {gid} ({} lack x)",
                escape(dir.path.as_os_str().as_bytes()),
                dir.owner_and_mode(),
                dir.class.label(),
            ),
            Denial::File(file) if file.lacks == 0 => format!(
                "{}: the mode allows uid {uid} gid {gid} ({}) everything, so an ACL, an LSM \
                 (SELinux, AppArmor), a file attribute or a mount option said no",
                file.owner_and_mode(),
                file.class.label(),
            ),
            Denial::File(file) => format!(
                "{}: uid {uid} gid {gid} ({}) lacks {}",
                file.owner_and_mode(),
                file.class.label(),
                letters(file.lacks),
            ),
            Denial::Gone { missing } => format!(
                "{} no longer exists",
                escape(missing.as_os_str().as_bytes())
            ),
            Denial::Unknown { reason } => (*reason).to_owned(),
        }
    }

    /// The inode that said no, when the mode bits did.
    pub fn inode(&self) -> Option<&Inode> {
        match self {
            Denial::Directory(inode) | Denial::File(inode) => Some(inode),
            Denial::Gone { .. } | Denial::Unknown { .. } => None,
        }
    }
}

impl Inode {
    /// `owner root(0), group shadow(42), mode 0640`.
    fn owner_and_mode(&self) -> String {
        let mut out = String::new();
        let named = |out: &mut String, name: &Option<String>, id: u32| match name {
            Some(name) => {
                let _ = write!(out, "{}({id})", escape(name.as_bytes()));
            }
            None => {
                let _ = write!(out, "{id}");
            }
        };
        out.push_str("owner ");
        named(&mut out, &self.owner_name, self.owner_uid);
        out.push_str(", group ");
        named(&mut out, &self.group_name, self.owner_gid);
        let _ = write!(out, ", mode {:04o}", self.mode);
        out
    }
}

/// Why an execve of `path`, an existing regular file, said ENOENT: its
/// `#!` interpreter or its ELF loader is missing. `None` when neither is
/// (the file may have appeared since).
pub(crate) fn exec_cause(path: &Path) -> Option<Cause> {
    cause_at(path, 0)
}

/// How deep a missing loader is looked for behind `#!` interpreters (the
/// kernel itself follows at most four).
const MAX_DEPTH: u8 = 4;

fn cause_at(path: &Path, depth: u8) -> Option<Cause> {
    let file = File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    // The kernel reads this much to find the `#!` line, and no more.
    let mut head = [0u8; 256];
    let n = read_up_to(&file, &mut head);
    let head = &head[..n];
    if let Some(interpreter) = shebang(head) {
        let interp_path = Path::new(OsStr::from_bytes(interpreter));
        // A relative interpreter is relative to the process's cwd, which
        // is gone by now.
        if !interp_path.is_absolute() {
            return None;
        }
        if missing(interp_path) {
            return Some(Cause::Interpreter {
                interpreter: interpreter.to_vec(),
            });
        }
        if depth >= MAX_DEPTH {
            return None;
        }
        return match cause_at(interp_path, depth + 1)? {
            Cause::Loader { loader, via: None } => Some(Cause::Loader {
                loader,
                via: Some(interpreter.to_vec()),
            }),
            _ => None,
        };
    }
    let loader = elf_interp(|buf, offset| file.read_exact_at(buf, offset))?;
    let loader_path = Path::new(OsStr::from_bytes(&loader));
    (loader_path.is_absolute() && missing(loader_path))
        .then_some(Cause::Loader { loader, via: None })
}

fn missing(path: &Path) -> bool {
    fs::metadata(path).is_err_and(|e| is_missing(&e))
}

fn read_up_to(file: &File, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], n as u64) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

/// The interpreter a `#!` line names: the first blank-separated word after
/// `#!`. Only blanks separate, as for the kernel, so a `\r` stays in it.
pub(crate) fn shebang(head: &[u8]) -> Option<&[u8]> {
    let rest = head.strip_prefix(b"#!")?;
    let line = &rest[..rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len())];
    let start = line.iter().position(|&b| b != b' ' && b != b'\t')?;
    let word = &line[start..];
    let end = word
        .iter()
        .position(|&b| matches!(b, b' ' | b'\t' | 0))
        .unwrap_or(word.len());
    (end > 0).then_some(&word[..end])
}

/// `PT_INTERP`, from `<elf.h>`.
const PT_INTERP: u64 = 3;
/// Longest interpreter path read: the kernel refuses longer ones.
const PATH_MAX: u64 = 4096;

/// The `PT_INTERP` path of an ELF file (32- or 64-bit, either byte order),
/// read through `read_at(buf, offset)`, which fills `buf` or fails. `None`
/// for anything else, and for static binaries.
pub(crate) fn elf_interp(read_at: impl Fn(&mut [u8], u64) -> io::Result<()>) -> Option<Vec<u8>> {
    let mut header = [0u8; 64];
    // The 32-bit header is 52 bytes; a file that short is no 64-bit ELF.
    read_at(&mut header[..52], 0).ok()?;
    if header[..4] != *b"\x7fELF" {
        return None;
    }
    let wide = match header[4] {
        1 => false,
        2 => true,
        _ => return None,
    };
    let big = match header[5] {
        1 => false,
        2 => true,
        _ => return None,
    };
    if wide {
        read_at(&mut header, 0).ok()?;
    }
    let num = |bytes: &[u8]| -> u64 {
        let digits = |n: u64, &b: &u8| n << 8 | u64::from(b);
        if big {
            bytes.iter().fold(0, digits)
        } else {
            bytes.iter().rev().fold(0, digits)
        }
    };
    let (phoff, entsize, count, need) = if wide {
        let h = &header;
        (
            num(&h[0x20..0x28]),
            num(&h[0x36..0x38]),
            num(&h[0x38..0x3a]),
            56,
        )
    } else {
        let h = &header;
        (
            num(&h[0x1c..0x20]),
            num(&h[0x2a..0x2c]),
            num(&h[0x2c..0x2e]),
            32,
        )
    };
    if entsize < need as u64 {
        return None;
    }
    let mut entry = [0u8; 56];
    let entry = &mut entry[..need];
    for i in 0..count {
        read_at(entry, phoff.checked_add(i.checked_mul(entsize)?)?).ok()?;
        if num(&entry[..4]) != PT_INTERP {
            continue;
        }
        let (offset, size) = if wide {
            (num(&entry[8..16]), num(&entry[32..40]))
        } else {
            (num(&entry[4..8]), num(&entry[16..20]))
        };
        let mut interp = vec![0u8; usize::try_from(size.min(PATH_MAX)).ok()?];
        read_at(&mut interp, offset).ok()?;
        let end = interp.iter().position(|&b| b == 0).unwrap_or(interp.len());
        interp.truncate(end);
        return Some(interp);
    }
    None
}

#[cfg(test)]
pub(super) mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn permission_table() {
        /// (uid, gid, owner, group, mode, is_dir, exec, lacks)
        type Case = (u32, u32, u32, u32, u32, bool, bool, u8);
        let cases: [Case; 12] = [
            // A 0700 directory of root: others may not search it.
            (1000, 1000, 0, 0, 0o700, true, false, 7),
            // Root searches any directory, reads and writes any file.
            (0, 0, 1000, 1000, 0o000, true, false, 0),
            (0, 0, 1000, 1000, 0o000, false, false, 0),
            // Root may not execute a file without any x bit, but may with one.
            (0, 0, 1000, 1000, 0o644, false, true, EXEC),
            (0, 0, 1000, 1000, 0o744, false, true, 0),
            // The owner's bits apply to the owner even when others have more.
            (1000, 1000, 1000, 1000, 0o077, false, false, 7),
            // Group bits for a group member who is not the owner.
            (1001, 42, 0, 42, 0o640, false, false, WRITE | EXEC),
            // Others.
            (65534, 65534, 0, 42, 0o640, false, false, 7),
            (65534, 65534, 0, 0, 0o755, true, false, WRITE),
            (65534, 65534, 0, 0, 0o711, true, false, READ | WRITE),
            // Set-id and sticky bits are not permissions.
            (65534, 65534, 0, 0, 0o1777, true, false, 0),
            (1000, 1000, 1000, 0, 0o4600, false, true, EXEC),
        ];
        for (uid, gid, owner, group, mode, is_dir, exec, want) in cases {
            let class = class_of(uid, gid, owner, group);
            assert_eq!(
                lacking(class, mode, is_dir, exec),
                want,
                "uid {uid} gid {gid} on {owner}:{group} {mode:o} dir={is_dir} exec={exec} ({class:?})"
            );
        }
    }

    #[test]
    fn letters_and_names() {
        assert_eq!(letters(7), "rwx");
        assert_eq!(letters(READ | EXEC), "rx");
        assert_eq!(letters(0), "-");
        let db = "root:x:0:0:root:/root:/bin/bash\n\nbad line\nnobody:x:65534:65534::/:/x\n";
        assert_eq!(name_in(db, 0).as_deref(), Some("root"));
        assert_eq!(name_in(db, 65534).as_deref(), Some("nobody"));
        assert_eq!(name_in(db, 7), None);
    }

    #[test]
    fn shebang_lines() {
        let cases: [(&[u8], Option<&[u8]>); 7] = [
            (b"#!/bin/sh\n", Some(b"/bin/sh")),
            (b"#! /usr/bin/env python3\n", Some(b"/usr/bin/env")),
            (b"#!/bin/sh\r\necho hi\r\n", Some(b"/bin/sh\r")),
            (b"#!\t/bin/bash -e\n", Some(b"/bin/bash")),
            (b"#!\n", None),
            (b"#!/bin/sh", Some(b"/bin/sh")),
            (b"\x7fELF", None),
        ];
        for (head, want) in cases {
            assert_eq!(shebang(head), want, "{:?}", String::from_utf8_lossy(head));
        }
    }

    /// A minimal ELF image: a header, one PT_LOAD and one PT_INTERP
    /// program header, and the interpreter string.
    fn synthetic_elf(wide: bool, big: bool, interp: &[u8]) -> Vec<u8> {
        let put = |out: &mut Vec<u8>, at: usize, value: u64, len: usize| {
            let bytes = value.to_be_bytes();
            let mut field = bytes[8 - len..].to_vec();
            if !big {
                field.reverse();
            }
            out[at..at + len].copy_from_slice(&field);
        };
        let (header, entsize) = if wide { (64, 56) } else { (52, 32) };
        let phoff = header;
        let interp_at = phoff + 2 * entsize;
        let mut out = vec![0u8; interp_at + interp.len() + 1];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = if wide { 2 } else { 1 };
        out[5] = if big { 2 } else { 1 };
        if wide {
            put(&mut out, 0x20, phoff as u64, 8);
            put(&mut out, 0x36, entsize as u64, 2);
            put(&mut out, 0x38, 2, 2);
        } else {
            put(&mut out, 0x1c, phoff as u64, 4);
            put(&mut out, 0x2a, entsize as u64, 2);
            put(&mut out, 0x2c, 2, 2);
        }
        put(&mut out, phoff, 1, 4); // PT_LOAD
        let second = phoff + entsize;
        put(&mut out, second, PT_INTERP, 4);
        let size = interp.len() as u64 + 1;
        if wide {
            put(&mut out, second + 8, interp_at as u64, 8);
            put(&mut out, second + 32, size, 8);
        } else {
            put(&mut out, second + 4, interp_at as u64, 4);
            put(&mut out, second + 16, size, 4);
        }
        out[interp_at..interp_at + interp.len()].copy_from_slice(interp);
        out
    }

    fn interp_of(image: &[u8]) -> Option<Vec<u8>> {
        elf_interp(|buf, offset| {
            let start = usize::try_from(offset).expect("small offset");
            let src = image
                .get(start..start + buf.len())
                .ok_or(io::ErrorKind::UnexpectedEof)?;
            buf.copy_from_slice(src);
            Ok(())
        })
    }

    #[test]
    fn elf_interpreters_of_every_class_and_byte_order() {
        for wide in [false, true] {
            for big in [false, true] {
                let image = synthetic_elf(wide, big, b"/lib/ld-musl-armhf.so.1");
                assert_eq!(
                    interp_of(&image).as_deref(),
                    Some(&b"/lib/ld-musl-armhf.so.1"[..]),
                    "wide={wide} big={big}"
                );
            }
        }
        assert_eq!(interp_of(b"#!/bin/sh\n"), None);
        assert_eq!(interp_of(b"\x7fELF\x02\x01"), None, "truncated header");
    }

    #[test]
    fn the_real_elf_loader_of_this_test_binary() {
        let exe = std::env::current_exe().expect("the test binary's path");
        let file = File::open(&exe).expect("the test binary opens");
        let interp = elf_interp(|buf, offset| file.read_exact_at(buf, offset))
            .expect("test binaries are dynamically linked");
        assert!(
            interp.starts_with(b"/") && interp.windows(3).any(|w| w == b"ld-"),
            "unexpected loader {:?}",
            String::from_utf8_lossy(&interp)
        );
    }

    #[test]
    fn a_file_without_permission_is_explained_for_a_stranger() {
        let dir = TempDir::new("denied");
        let file = dir.path.join("secret");
        fs::write(&file, "x").expect("write the file");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o000)).expect("chmod 000");
        let mut names = Names::default();
        // 65534 (nobody) owns nothing here, whoever runs the test.
        let denial = explain_denied(Some(&file), 65534, 65534, false, &mut names);
        let Denial::File(inode) = &denial else {
            panic!("expected the file to be the denier, got {denial:?}");
        };
        assert_eq!((inode.mode, inode.class, inode.lacks), (0, Class::Other, 7));
        let text = denial.describe(65534, 65534);
        assert!(text.contains("mode 0000"), "{text}");
        assert!(
            text.contains("uid 65534 gid 65534 (others) lacks rwx"),
            "{text}"
        );

        let locked = dir.path.join("locked");
        fs::create_dir(&locked).expect("mkdir");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o700)).expect("chmod 700");
        let inside = locked.join("file");
        let denial = explain_denied(Some(&inside), 65534, 65534, false, &mut names);
        let Denial::Directory(inode) = &denial else {
            panic!("expected the 0700 directory to be the denier, got {denial:?}");
        };
        assert_eq!(inode.path, locked);
        assert_eq!(inode.mode, 0o700);
        assert!(
            denial.describe(65534, 65534).contains("(others lack x)"),
            "{}",
            denial.describe(65534, 65534)
        );

        let gone = dir.path.join("gone/file");
        assert_eq!(
            explain_denied(Some(&gone), 65534, 65534, false, &mut names),
            Denial::Gone {
                missing: dir.path.join("gone")
            }
        );
        assert!(matches!(
            explain_denied(Some(Path::new("rel/x")), 0, 0, false, &mut names),
            Denial::Unknown { .. }
        ));
    }

    #[test]
    fn missing_interpreters_and_loaders() {
        let dir = TempDir::new("exec");
        let script = |name: &str, text: &[u8]| {
            let path = dir.path.join(name);
            fs::write(&path, text).expect("write the script");
            path
        };
        let cases: [(&str, &[u8], Option<Cause>); 4] = [
            (
                "missing",
                b"#!/no/such/interpreter -x\n",
                Some(Cause::Interpreter {
                    interpreter: b"/no/such/interpreter".to_vec(),
                }),
            ),
            (
                "crlf",
                b"#!/bin/sh\r\necho hi\r\n",
                Some(Cause::Interpreter {
                    interpreter: b"/bin/sh\r".to_vec(),
                }),
            ),
            ("fine", b"#!/bin/sh\necho hi\n", None),
            ("relative", b"#!python\n", None),
        ];
        for (name, text, want) in cases {
            assert_eq!(exec_cause(&script(name, text)), want, "script {name}");
        }
        let elf = patched_true(&dir.path.join("true"));
        let Some(Cause::Loader { loader, via: None }) = exec_cause(&elf) else {
            panic!("expected a missing loader for {}", elf.display());
        };
        assert!(loader.starts_with(b"/no/such/"), "{loader:?}");
        let via = script("via", format!("#!{}\n", elf.display()).as_bytes());
        assert!(
            matches!(exec_cause(&via), Some(Cause::Loader { via: Some(_), .. })),
            "a script whose interpreter lacks its loader"
        );
        assert_eq!(exec_cause(Path::new("/bin/true")), None);
        assert_eq!(exec_cause(&dir.path.join("absent")), None);
    }

    /// Copies `/bin/true` to `to` with its PT_INTERP pointed at a loader of
    /// the same length that does not exist.
    pub(crate) fn patched_true(to: &Path) -> PathBuf {
        let mut image = fs::read("/bin/true").expect("/bin/true is readable");
        let loader = interp_of(&image).expect("/bin/true is dynamically linked");
        assert!(
            loader.len() > 10,
            "loader path {loader:?} too short to patch"
        );
        let at = image
            .windows(loader.len())
            .position(|w| w == loader)
            .expect("the loader string is in the image");
        let mut fake = b"/no/such/".to_vec();
        fake.resize(loader.len(), b'x');
        image[at..at + loader.len()].copy_from_slice(&fake);
        fs::write(to, &image).expect("write the patched copy");
        fs::set_permissions(to, fs::Permissions::from_mode(0o755)).expect("chmod 755");
        to.to_owned()
    }

    /// A directory under the system temp dir, removed (with write bits
    /// restored) when dropped.
    pub(crate) struct TempDir {
        pub(crate) path: PathBuf,
    }

    impl TempDir {
        pub(crate) fn new(tag: &str) -> TempDir {
            use std::sync::atomic::{AtomicU32, Ordering};
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "hostscope-why-missing-{tag}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            fs::create_dir(&path).expect("create a temp dir");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod 755");
            TempDir { path }
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            if let Ok(entries) = fs::read_dir(&self.path) {
                for entry in entries.flatten() {
                    let _ = fs::set_permissions(entry.path(), fs::Permissions::from_mode(0o700));
                }
            }
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}
