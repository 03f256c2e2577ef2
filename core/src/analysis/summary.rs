//! `-c`: calls, errors and time per syscall, like `strace -c`.

use std::collections::HashMap;
use std::fmt::Write;

/// Totals per syscall name.
#[derive(Debug, Default)]
pub struct Summary {
    rows: HashMap<String, Row>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Row {
    calls: u64,
    errors: u64,
    time_ns: u64,
}

impl Summary {
    /// Counts one call of `name` that took `duration_ns`.
    pub fn add(&mut self, name: &str, failed: bool, duration_ns: u64) {
        let row = match self.rows.get_mut(name) {
            Some(row) => row,
            None => self.rows.entry(name.to_owned()).or_default(),
        };
        row.calls += 1;
        row.errors += u64::from(failed);
        row.time_ns += duration_ns;
    }

    /// The table, most time first, with a total line, in strace's columns.
    pub fn render(&self) -> String {
        let mut rows: Vec<(&String, &Row)> = self.rows.iter().collect();
        rows.sort_by(|a, b| {
            b.1.time_ns
                .cmp(&a.1.time_ns)
                .then(b.1.calls.cmp(&a.1.calls))
                .then(a.0.cmp(b.0))
        });
        let total = rows.iter().fold(Row::default(), |t, (_, r)| Row {
            calls: t.calls + r.calls,
            errors: t.errors + r.errors,
            time_ns: t.time_ns + r.time_ns,
        });
        let mut out = String::new();
        let rule = "------ ----------- ----------- --------- --------- ----------------";
        let _ = writeln!(
            out,
            "% time     seconds  usecs/call     calls    errors syscall"
        );
        let _ = writeln!(out, "{rule}");
        let line = |out: &mut String, name: &str, r: &Row| {
            let pct = if total.time_ns == 0 {
                0.0
            } else {
                100.0 * r.time_ns as f64 / total.time_ns as f64
            };
            let per_call = r.time_ns.checked_div(r.calls).unwrap_or(0) / 1000;
            let errors = if r.errors == 0 {
                String::new()
            } else {
                r.errors.to_string()
            };
            let _ = writeln!(
                out,
                "{pct:6.2} {:>11.6} {per_call:>11} {:>9} {errors:>9} {name}",
                r.time_ns as f64 / 1e9,
                r.calls,
            );
        };
        for (name, row) in &rows {
            line(&mut out, name, row);
        }
        let _ = writeln!(out, "{rule}");
        line(&mut out, "total", &total);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_sorts_by_time_and_totals() {
        let mut s = Summary::default();
        s.add("openat", true, 3_000);
        s.add("openat", false, 1_000);
        s.add("read", false, 10_000);
        let table = s.render();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "% time     seconds  usecs/call     calls    errors syscall"
        );
        assert_eq!(
            lines[2],
            " 71.43    0.000010          10         1           read"
        );
        assert_eq!(
            lines[3],
            " 28.57    0.000004           2         2         1 openat"
        );
        assert_eq!(
            lines[5],
            "100.00    0.000014           4         3         1 total"
        );
    }
}
