//! strace's `-e trace=` expressions, so that users can say which syscalls
//! to show in the words they already know.
//!
//! Supported: `trace=LIST` (also `t=LIST`, or a bare `LIST`), where LIST is
//! `all`, `none`, or comma-separated syscall names, syscall numbers and the
//! classes `%file`, `%desc`, `%process`, `%network` (alias `%net`), the
//! latter also without `%` as older strace releases spelled them. A leading
//! `!` negates the whole set (each further `!` negates again), and a `?`
//! before an item makes it optional: it is skipped where it does not exist
//! rather than rejected. Other qualifiers (`signal=`, `read=`…), other
//! classes and regular expressions are rejected with an error that names
//! them.

use crate::decode::spec::{self, Classes};
use crate::decode::sysno;
use crate::model::Arch;

/// Syscall numbers at or above this are not syscalls on x86_64 or aarch64
/// (x86_64's x32 calls have bit 30 set, and we do not trace them).
pub const MAX_NR: u32 = 1024;

const WORDS: usize = (MAX_NR / 64) as usize;

/// A set of syscall numbers of one architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallSet {
    arch: Arch,
    bits: [u64; WORDS],
}

impl SyscallSet {
    /// Every syscall number below [`MAX_NR`], including numbers newer than
    /// hostscope's syscall table, as strace's `all` does.
    pub fn all(arch: Arch) -> Self {
        Self {
            arch,
            bits: [u64::MAX; WORDS],
        }
    }

    /// No syscall at all.
    pub fn none(arch: Arch) -> Self {
        Self {
            arch,
            bits: [0; WORDS],
        }
    }

    /// The architecture whose numbering the set is in.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// Whether syscall `nr` is in the set.
    pub fn contains(&self, nr: u32) -> bool {
        nr < MAX_NR && self.bits[(nr / 64) as usize] & (1 << (nr % 64)) != 0
    }

    /// The numbers in the set, in increasing order (named or not: see
    /// [`SyscallSet::all`]).
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..MAX_NR).filter(|&nr| self.contains(nr))
    }

    fn insert(&mut self, nr: u32) {
        if nr < MAX_NR {
            self.bits[(nr / 64) as usize] |= 1 << (nr % 64);
        }
    }

    fn invert(&mut self) {
        for word in &mut self.bits {
            *word = !*word;
        }
    }
}

/// Why a `-e` expression was rejected. Each message quotes the offending
/// token and the whole expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// A name that is a syscall on neither architecture.
    #[error("invalid syscall name {name:?} in {expr:?}")]
    UnknownSyscall { name: String, expr: String },
    /// A syscall of the other architecture (aarch64 has no `open`).
    #[error(
        "syscall {name:?} in {expr:?} does not exist on {arch}; write \"?{name}\" to skip it where it is missing"
    )]
    NotOnArch {
        name: String,
        arch: &'static str,
        expr: String,
    },
    /// A number at or above [`MAX_NR`], or not a number at all.
    #[error("invalid syscall number {number:?} in {expr:?} (syscall numbers are below {MAX_NR})")]
    BadNumber { number: String, expr: String },
    /// A `%class` other than the four hostscope knows.
    #[error(
        "unsupported syscall class {class:?} in {expr:?} (supported: %file, %desc, %process, %network, %net)"
    )]
    UnknownClass { class: String, expr: String },
    /// A qualifier other than `trace=` (`signal=`, `read=`…).
    #[error("unsupported qualifier {qualifier:?} in {expr:?} (only trace= is supported)")]
    UnknownQualifier { qualifier: String, expr: String },
    /// A `/regex` item.
    #[error("regular expression {pattern:?} in {expr:?} is not supported; list syscall names")]
    Regex { pattern: String, expr: String },
    /// Nothing between `trace=` and the end but commas and `!`.
    #[error("no syscalls listed in {expr:?}")]
    Empty { expr: String },
}

/// Parses one strace `-e` expression (`trace=open,%net`, `!%file`, `none`…)
/// into the set of `arch` syscalls it selects.
///
/// With several `-e trace=` options strace lets the last one replace the
/// earlier ones; callers that take several should parse each (to report
/// every error) and use the last.
pub fn parse_trace_expr(expr: &str, arch: Arch) -> Result<SyscallSet, ExprError> {
    let list = match expr.split_once('=') {
        Some(("trace" | "t", list)) => list,
        Some((qualifier, _)) => {
            return Err(ExprError::UnknownQualifier {
                qualifier: qualifier.to_owned(),
                expr: expr.to_owned(),
            });
        }
        None => expr,
    };
    let negations = list.len() - list.trim_start_matches('!').len();
    let list = &list[negations..];

    let mut set = SyscallSet::none(arch);
    match list {
        "none" => {}
        "all" => set.invert(),
        _ => {
            let mut any = false;
            for token in list.split(',').filter(|t| !t.is_empty()) {
                add_token(&mut set, token, expr)?;
                any = true;
            }
            if !any {
                return Err(ExprError::Empty {
                    expr: expr.to_owned(),
                });
            }
        }
    }
    if negations % 2 == 1 {
        set.invert();
    }
    Ok(set)
}

fn add_token(set: &mut SyscallSet, token: &str, expr: &str) -> Result<(), ExprError> {
    let arch = set.arch;
    let optional = token.starts_with('?');
    let item = token.trim_start_matches('?');

    if let Some(pattern) = item.strip_prefix('/') {
        return Err(ExprError::Regex {
            pattern: pattern.to_owned(),
            expr: expr.to_owned(),
        });
    }
    if item.starts_with(|c: char| c.is_ascii_digit()) {
        return match item.parse::<u32>() {
            Ok(nr) if nr < MAX_NR => {
                set.insert(nr);
                Ok(())
            }
            _ => Err(ExprError::BadNumber {
                number: item.to_owned(),
                expr: expr.to_owned(),
            }),
        };
    }
    if let Some(class) = class(item) {
        for (nr, name) in sysno::all(arch) {
            if class.is_none_or(|c| spec::classes(name).contains(c)) {
                set.insert(nr);
            }
        }
        return Ok(());
    }
    if let Some(nr) = sysno::number(arch, item) {
        set.insert(nr);
        return Ok(());
    }
    if optional {
        return Ok(());
    }
    if item.starts_with('%') {
        return Err(ExprError::UnknownClass {
            class: item.to_owned(),
            expr: expr.to_owned(),
        });
    }
    let other = match arch {
        Arch::X86_64 => Arch::Aarch64,
        Arch::Aarch64 => Arch::X86_64,
    };
    if sysno::number(other, item).is_some() {
        return Err(ExprError::NotOnArch {
            name: item.to_owned(),
            arch: arch_name(arch),
            expr: expr.to_owned(),
        });
    }
    Err(ExprError::UnknownSyscall {
        name: item.to_owned(),
        expr: expr.to_owned(),
    })
}

/// A class token: `Some(None)` for `all` (every syscall), `Some(Some(c))` for
/// a class. strace matches class names case-insensitively.
fn class(token: &str) -> Option<Option<Classes>> {
    let lower = token.to_ascii_lowercase();
    Some(Some(match lower.as_str() {
        "all" => return Some(None),
        "%file" | "file" => Classes::FILE,
        "%desc" | "desc" => Classes::DESC,
        "%process" | "process" => Classes::PROCESS,
        "%network" | "%net" | "network" => Classes::NETWORK,
        _ => return None,
    }))
}

fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "x86_64",
        Arch::Aarch64 => "aarch64",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const X: Arch = Arch::X86_64;

    fn nr(name: &str) -> u32 {
        sysno::number(X, name).unwrap_or_else(|| panic!("no x86_64 syscall {name}"))
    }

    fn names(set: &SyscallSet) -> Vec<&'static str> {
        set.iter()
            .filter_map(|n| sysno::name(set.arch(), n))
            .collect()
    }

    #[test]
    fn lists_of_names_and_numbers() {
        let set = parse_trace_expr("trace=openat,close", X).expect("valid");
        assert_eq!(names(&set), ["close", "openat"]);
        let bare = parse_trace_expr("openat,close", X).expect("valid");
        assert_eq!(set, bare);
        let short = parse_trace_expr("t=3,257", X).expect("valid");
        assert_eq!(set, short);
        assert_eq!(
            parse_trace_expr("trace=470", X)
                .expect("valid")
                .iter()
                .collect::<Vec<_>>(),
            [470]
        );
    }

    #[test]
    fn all_none_and_negation() {
        let all = parse_trace_expr("trace=all", X).expect("valid");
        assert!(all.contains(nr("read")) && all.contains(1000) && !all.contains(MAX_NR));
        assert_eq!(all, SyscallSet::all(X));
        assert_eq!(
            parse_trace_expr("none", X).expect("valid").iter().count(),
            0
        );
        assert_eq!(parse_trace_expr("!none", X).expect("valid"), all);
        let not_open = parse_trace_expr("trace=!openat,read", X).expect("valid");
        assert!(!not_open.contains(nr("openat")) && !not_open.contains(nr("read")));
        assert!(not_open.contains(nr("close")));
        let twice = parse_trace_expr("!!openat", X).expect("valid");
        assert_eq!(names(&twice), ["openat"]);
    }

    #[test]
    fn classes_select_like_strace() {
        let file = parse_trace_expr("trace=%file", X).expect("valid");
        assert!(file.contains(nr("openat")) && file.contains(nr("execve")));
        assert!(!file.contains(nr("read")) && !file.contains(nr("fstat")));
        let net = parse_trace_expr("%net", X).expect("valid");
        assert_eq!(net, parse_trace_expr("%network", X).expect("valid"));
        assert_eq!(net, parse_trace_expr("network", X).expect("valid"));
        assert!(net.contains(nr("connect")) && !net.contains(nr("openat")));
        let process = parse_trace_expr("%PROCESS", X).expect("valid");
        let mut want: Vec<_> = [
            "clone",
            "clone3",
            "execve",
            "execveat",
            "exit",
            "exit_group",
            "fork",
            "kill",
            "pidfd_send_signal",
            "rt_sigqueueinfo",
            "rt_tgsigqueueinfo",
            "tgkill",
            "tkill",
            "vfork",
            "wait4",
            "waitid",
        ]
        .into_iter()
        .map(|n| (nr(n), n))
        .collect();
        want.sort_unstable();
        let want: Vec<_> = want.into_iter().map(|(_, n)| n).collect();
        assert_eq!(names(&process), want);
        let mixed = parse_trace_expr("trace=%desc,execve", X).expect("valid");
        assert!(mixed.contains(nr("read")) && mixed.contains(nr("execve")));
    }

    #[test]
    fn optional_names_are_skipped_where_missing() {
        let set = parse_trace_expr("trace=?open,openat", Arch::Aarch64).expect("valid");
        assert_eq!(names(&set), ["openat"]);
        let x = parse_trace_expr("trace=?open,openat", X).expect("valid");
        assert_eq!(names(&x), ["open", "openat"]);
    }

    #[test]
    fn errors_quote_the_bad_token() {
        let cases = [
            (
                "trace=opn,close",
                X,
                r#"invalid syscall name "opn" in "trace=opn,close""#,
            ),
            (
                "trace=open",
                Arch::Aarch64,
                r#"syscall "open" in "trace=open" does not exist on aarch64; write "?open" to skip it where it is missing"#,
            ),
            (
                "trace=%ipc",
                X,
                r#"unsupported syscall class "%ipc" in "trace=%ipc" (supported: %file, %desc, %process, %network, %net)"#,
            ),
            (
                "signal=SIGINT",
                X,
                r#"unsupported qualifier "signal" in "signal=SIGINT" (only trace= is supported)"#,
            ),
            (
                "foo=bar",
                X,
                r#"unsupported qualifier "foo" in "foo=bar" (only trace= is supported)"#,
            ),
            (
                "trace=/^open",
                X,
                r#"regular expression "^open" in "trace=/^open" is not supported; list syscall names"#,
            ),
            (
                "trace=99999",
                X,
                r#"invalid syscall number "99999" in "trace=99999" (syscall numbers are below 1024)"#,
            ),
            ("trace=", X, r#"no syscalls listed in "trace=""#),
            ("trace=!,", X, r#"no syscalls listed in "trace=!,""#),
        ];
        for (expr, arch, want) in cases {
            let err = parse_trace_expr(expr, arch).expect_err(expr);
            assert_eq!(err.to_string(), want, "{expr}");
        }
    }
}
