//! Text that came from a process, made safe and made to fit. Everything a
//! process chose (names, argv, paths) goes through [`clean`] before it is
//! put in a cell: control characters, invalid UTF-8 and bidi overrides are
//! escaped, so nothing reaches the terminal raw and nothing reorders a line.

use hostscope_core::escape;

/// `bytes` escaped for display (see [`hostscope_core::escape::escape`]).
pub fn clean(bytes: &[u8]) -> String {
    escape::escape(bytes)
}

/// A command line for display: the arguments escaped and joined by spaces;
/// `[comm]` (as ps shows them) for kernel threads and zombies, which have
/// no arguments.
pub fn command(cmdline: Option<&[Vec<u8>]>, comm: Option<&[u8]>) -> String {
    match cmdline {
        Some(args) if !args.is_empty() => {
            let mut out = String::new();
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                escape::push_escaped(&mut out, arg);
            }
            out
        }
        _ => format!("[{}]", clean(comm.unwrap_or(b"?"))),
    }
}

/// Bytes in binary units, as top shows them: `512K`, `3.4M`, `1.2G`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value >= 100.0 || unit == 0 {
        format!("{value:.0}{}", UNITS[unit])
    } else {
        format!("{value:.1}{}", UNITS[unit])
    }
}

/// A rate for a narrow column: `0`, `3.5`, `42`, `1.2k`, `15k`.
pub fn rate(per_second: f64) -> String {
    if per_second <= 0.0 {
        "0".to_owned()
    } else if per_second < 10.0 {
        format!("{per_second:.1}")
    } else if per_second < 1000.0 {
        format!("{per_second:.0}")
    } else if per_second < 10_000.0 {
        format!("{:.1}k", per_second / 1000.0)
    } else {
        format!("{:.0}k", per_second / 1000.0)
    }
}

/// A duration for the header: `3d 4h`, `5h 12m`, `7m 3s`.
pub fn uptime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else {
        format!("{m}m {s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_escaped_not_passed_through() {
        assert_eq!(clean(b"evil\x1b[2Jname\n"), "evil\\33[2Jname\\n");
        assert_eq!(clean(b"bad\xffutf8"), "bad\\377utf8");
        assert_eq!(clean("rev\u{202e}txt".as_bytes()), "rev\\u{202e}txt");
        assert_eq!(
            command(
                Some(&[b"sh".to_vec(), b"-c".to_vec(), b"a\tb".to_vec()]),
                None
            ),
            "sh -c a\\tb"
        );
        assert_eq!(command(Some(&[]), Some(b"kworker/0:1")), "[kworker/0:1]");
    }

    #[test]
    fn sizes_rates_and_durations_fit_narrow_columns() {
        assert_eq!(bytes(512 * 1024), "512K");
        assert_eq!(bytes(3_565_158), "3.4M");
        assert_eq!(bytes(5 << 30), "5.0G");
        assert_eq!(rate(0.0), "0");
        assert_eq!(rate(3.46), "3.5");
        assert_eq!(rate(1234.0), "1.2k");
        assert_eq!(rate(15_400.0), "15k");
        assert_eq!(uptime(3 * 86_400 + 4 * 3600 + 5), "3d 4h");
        assert_eq!(uptime(423), "7m 3s");
    }
}
