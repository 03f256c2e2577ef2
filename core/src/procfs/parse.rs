//! Turning the text of per-process `/proc` files into fields.
//!
//! Read by hand rather than through the `procfs` crate's parsers, which
//! lose bytes we must keep (a `comm` or an argument that is not UTF-8) or do
//! far more work than the few fields we need: `stat` is parsed for every
//! process at every refresh of `top`, and the crate's parser (52 fields,
//! allocations) was measured at a tenth of top's CPU.

use ::procfs::process::StatFlags;

/// What `/proc/PID/stat` tells about a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatFields {
    pub(crate) ppid: u32,
    pub(crate) state: char,
    /// utime + stime, in clock ticks.
    pub(crate) cpu_ticks: u64,
    /// Clock ticks after boot.
    pub(crate) start_ticks: u64,
    /// Resident set size, in pages.
    pub(crate) rss_pages: u64,
    pub(crate) threads: u32,
    pub(crate) kernel_thread: bool,
    /// Raw bytes, as the process set them.
    pub(crate) comm: Vec<u8>,
    /// `arg_start` and `arg_end`: they change at every exec, even one that
    /// keeps the name (`bash` running `bash x.sh`).
    pub(crate) args_at: Option<(u64, u64)>,
}

/// Parses the text of `/proc/PID/stat`; `None` if it is malformed.
pub(crate) fn parse_stat(text: &[u8]) -> Option<StatFields> {
    let comm = comm_from_stat(text)?;
    let close = text.iter().rposition(|&b| b == b')')?;
    // Fields after the name, numbered as in proc(5): the state is field 3.
    let mut fields = text.get(close + 2..)?.split(|&b| b == b' ');
    let mut field = |n: usize| -> Option<&[u8]> { fields.nth(n) };
    let state = *field(0)?.first()?; // 3
    let ppid = number(field(0)?)?; // 4
    let flags = number(field(4)?)?; // 9
    let utime = number(field(4)?)?; // 14
    let stime = number(field(0)?)?; // 15
    let threads = number(field(4)?)?; // 20
    let start_ticks = number(field(1)?)?; // 22
    let rss_pages = number(field(1)?)?; // 24
    // Where argv lives in memory: new at every exec (0 when we may not
    // ptrace the process).
    let args_at = field(23).and_then(number).zip(field(0).and_then(number)); // 48, 49
    Some(StatFields {
        ppid: u32::try_from(ppid).ok()?,
        state: char::from(state),
        cpu_ticks: utime.saturating_add(stime),
        start_ticks,
        rss_pages,
        threads: u32::try_from(threads).ok()?,
        kernel_thread: flags & u64::from(StatFlags::PF_KTHREAD.bits()) != 0,
        comm: comm.into(),
        args_at,
    })
}

/// A decimal field of `stat` (none of the ones we read is negative).
fn number(digits: &[u8]) -> Option<u64> {
    std::str::from_utf8(digits).ok()?.trim_end().parse().ok()
}

/// The raw `comm` in the text of `/proc/PID/stat`: between the first `(` and
/// the last `)`, since the name itself may hold parentheses and spaces.
/// (`procfs`'s `Stat` keeps only a lossy UTF-8 copy.)
fn comm_from_stat(stat: &[u8]) -> Option<&[u8]> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    stat.get(open + 1..close)
}

/// The effective uid in the text of `/proc/PID/status`, from its
/// `Uid:\treal\teffective\tsaved\tfs` line.
///
/// `procfs`'s `Status` copies every one of the ~55 lines into a map and fails
/// whole when the `Name:` line is not UTF-8; we need one number.
pub(crate) fn effective_uid(status: &[u8]) -> Option<u32> {
    let line = status
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"Uid:"))?;
    let mut ids = line
        .split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty());
    ids.next()?;
    std::str::from_utf8(ids.next()?).ok()?.parse().ok()
}

/// The arguments in `/proc/PID/cmdline`: NUL-separated, NUL-terminated.
///
/// Empty arguments inside are kept (`printf '' x`); trailing NULs are not,
/// since programs that rewrite their argv (setproctitle) pad it with them.
/// A trailing empty argument is lost with them, as in `ps`.
pub(crate) fn split_cmdline(raw: &[u8]) -> Vec<Vec<u8>> {
    let end = raw.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    if end == 0 {
        return Vec::new();
    }
    raw[..end].split(|&b| b == 0).map(<[u8]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &[u8] = b"4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 12345 1000000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

    #[test]
    fn stat_of_a_process() {
        let fields = parse_stat(STAT).expect("parses");
        assert_eq!(
            fields,
            StatFields {
                ppid: 1,
                state: 'S',
                cpu_ticks: 10,
                start_ticks: 12345,
                rss_pages: 200,
                threads: 1,
                kernel_thread: false,
                comm: b"a) b (c)".into(),
                args_at: Some((0, 0)),
            }
        );
    }

    #[test]
    fn stat_of_this_process_has_where_its_argv_is() {
        let text = std::fs::read("/proc/self/stat").expect("read our own stat");
        let (start, end) = parse_stat(&text)
            .and_then(|s| s.args_at)
            .expect("fields 48 and 49");
        assert!(start > 0 && end > start, "{start}..{end}");
    }

    #[test]
    fn stat_of_a_kernel_thread() {
        let kthreadd = b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 2 0 0 20 0 1 0 24 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
        let fields = parse_stat(kthreadd).expect("parses");
        assert!(fields.kernel_thread);
        assert_eq!((fields.ppid, fields.cpu_ticks, fields.rss_pages), (0, 2, 0));
    }

    #[test]
    fn stat_of_a_zombie_with_a_hostile_name() {
        let zombie = b"77 (\x1b]0;x\x07\n\xff) Z 76 77 76 0 -1 4227084 0 0 0 0 3 4 0 0 20 0 1 0 999 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
        let fields = parse_stat(zombie).expect("parses");
        assert_eq!(fields.state, 'Z');
        assert_eq!(fields.comm, b"\x1b]0;x\x07\n\xff");
        assert!(!fields.kernel_thread);
    }

    #[test]
    fn stat_malformed() {
        assert_eq!(parse_stat(b""), None);
        assert_eq!(parse_stat(b"1 (x) S 0"), None);
    }

    #[test]
    fn comm_spans_to_the_last_parenthesis() {
        assert_eq!(comm_from_stat(STAT), Some(b"a) b (c)".as_slice()));
        assert_eq!(
            comm_from_stat(b"7 (\x1b[31m\xff\n) R 1"),
            Some(b"\x1b[31m\xff\n".as_slice())
        );
        assert_eq!(comm_from_stat(b"7 () R 1"), Some(b"".as_slice()));
        assert_eq!(comm_from_stat(b"garbage"), None);
        assert_eq!(comm_from_stat(b"7 )x( R"), None);
    }

    #[test]
    fn effective_uid_is_the_second_uid() {
        let status = b"Name:\tsu\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t9\n\
                       Uid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(effective_uid(status), Some(0));
    }

    #[test]
    fn effective_uid_survives_a_hostile_name() {
        let status = b"Name:\tUid:\t7\t7\xff\nUid:\t65534\t65534\t65534\t65534\n";
        // The kernel escapes `\n` in Name:, so a forged line cannot start one.
        assert_eq!(effective_uid(status), Some(65534));
    }

    #[test]
    fn effective_uid_missing_or_malformed() {
        assert_eq!(effective_uid(b"Name:\tx\n"), None);
        assert_eq!(effective_uid(b"Uid:\t1000\n"), None);
        assert_eq!(effective_uid(b"Uid:\t1000\tx\t0\t0\n"), None);
    }

    #[test]
    fn cmdline_keeps_raw_and_empty_arguments() {
        assert_eq!(
            split_cmdline(b"/bin/sh\0-c\0\0echo \xff\0"),
            vec![
                b"/bin/sh".to_vec(),
                b"-c".to_vec(),
                Vec::new(),
                b"echo \xff".to_vec()
            ]
        );
    }

    #[test]
    fn cmdline_padding_and_empty() {
        assert_eq!(
            split_cmdline(b"nginx: worker process\0\0\0\0"),
            vec![b"nginx: worker process".to_vec()]
        );
        assert_eq!(
            split_cmdline(b"no terminator"),
            vec![b"no terminator".to_vec()]
        );
        assert!(split_cmdline(b"").is_empty());
        assert!(split_cmdline(b"\0\0").is_empty());
    }
}
