//! The process table: rows made from two procfs snapshots and the failure
//! rates, then sorted, filtered, shown as a tree or grouped by container or
//! unit. Every process-supplied string is escaped once, when the row is
//! made.

use std::cmp::Ordering;
use std::collections::HashMap;

use hostscope_core::procfs::{ProcessInfo, Snapshot};

use crate::text;

/// One process, as the table shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub pid: u32,
    pub ppid: u32,
    /// With `pid`, identifies the process across refreshes (pids are
    /// reused).
    pub start_ticks: Option<u64>,
    pub user: String,
    /// %CPU over the last interval (100 = one core); `None` before the
    /// second snapshot.
    pub cpu: Option<f64>,
    pub rss: Option<u64>,
    /// RSS as a share of the machine's memory, in percent.
    pub mem: Option<f64>,
    pub state: char,
    pub threads: Option<u32>,
    /// Container, pod or unit; empty when none.
    pub origin: String,
    /// Failed syscalls per second; `None` without the probe.
    pub errors: Option<f64>,
    /// The command line, escaped.
    pub command: String,
    /// The name the kernel knows it by, escaped.
    pub comm: String,
    pub kernel_thread: bool,
}

impl Row {
    /// Makes the row of `p`; `prev` gives %CPU, `total_memory` %MEM.
    pub fn new(
        p: &ProcessInfo,
        now: &Snapshot,
        prev: Option<&Snapshot>,
        total_memory: Option<u64>,
        errors: Option<f64>,
    ) -> Row {
        let user = match (&p.user, p.uid) {
            (Some(name), _) => text::clean(name.as_bytes()),
            (None, Some(uid)) => uid.to_string(),
            (None, None) => "-".to_owned(),
        };
        Row {
            pid: p.pid,
            ppid: p.ppid.unwrap_or(0),
            start_ticks: p.start_ticks,
            user,
            cpu: prev.and_then(|prev| now.cpu_percent_since(prev, p.pid)),
            rss: p.rss_bytes,
            mem: match (p.rss_bytes, total_memory) {
                (Some(rss), Some(total)) if total > 0 => Some(rss as f64 / total as f64 * 100.0),
                _ => None,
            },
            state: p.state.unwrap_or('?'),
            threads: p.threads,
            origin: p
                .origin
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            errors,
            command: text::command(p.cmdline.as_deref(), p.comm.as_deref()),
            comm: text::clean(p.comm.as_deref().unwrap_or(b"?")),
            kernel_thread: p.kernel_thread,
        }
    }
}

/// The columns, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Pid,
    User,
    Cpu,
    Mem,
    State,
    Threads,
    Origin,
    Errors,
    Command,
}

impl Column {
    pub const ALL: [Column; 9] = [
        Column::Pid,
        Column::User,
        Column::Cpu,
        Column::Mem,
        Column::State,
        Column::Threads,
        Column::Origin,
        Column::Errors,
        Column::Command,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Pid => "PID",
            Column::User => "USER",
            Column::Cpu => "%CPU",
            Column::Mem => "RSS  %MEM",
            Column::State => "S",
            Column::Threads => "THR",
            Column::Origin => "CONTAINER/UNIT",
            Column::Errors => "ERR/s",
            Column::Command => "COMMAND",
        }
    }

    /// Whether a fresh sort on this column starts with the largest values
    /// (the busiest processes), as top does for numbers.
    pub fn descending_first(self) -> bool {
        matches!(
            self,
            Column::Cpu | Column::Mem | Column::Threads | Column::Errors
        )
    }

    pub fn next(self) -> Column {
        let i = Column::ALL.iter().position(|&c| c == self).unwrap_or(0);
        Column::ALL[(i + 1) % Column::ALL.len()]
    }

    pub fn prev(self) -> Column {
        let i = Column::ALL.iter().position(|&c| c == self).unwrap_or(0);
        Column::ALL[(i + Column::ALL.len() - 1) % Column::ALL.len()]
    }
}

/// How rows are arranged.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrangement {
    pub sort: Column,
    pub descending: bool,
    /// Case-insensitive text matched against command, user and origin.
    pub filter: String,
    pub tree: bool,
    pub group: bool,
}

impl Default for Arrangement {
    fn default() -> Self {
        Arrangement {
            sort: Column::Cpu,
            descending: true,
            filter: String::new(),
            tree: false,
            group: false,
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// `rows[index]`, indented `depth` levels in a tree.
    Process { index: usize, depth: usize },
    /// The heading of a group (grouped view).
    Group {
        origin: String,
        processes: usize,
        cpu: f64,
        rss: u64,
    },
}

fn compare(a: &Row, b: &Row, column: Column) -> Ordering {
    let num = |x: Option<f64>, y: Option<f64>| x.unwrap_or(-1.0).total_cmp(&y.unwrap_or(-1.0));
    match column {
        Column::Pid => a.pid.cmp(&b.pid),
        Column::User => a.user.cmp(&b.user),
        Column::Cpu => num(a.cpu, b.cpu),
        Column::Mem => a.rss.cmp(&b.rss),
        Column::State => a.state.cmp(&b.state),
        Column::Threads => a.threads.cmp(&b.threads),
        Column::Origin => a.origin.cmp(&b.origin),
        Column::Errors => num(a.errors, b.errors),
        Column::Command => a.command.cmp(&b.command),
    }
}

fn matches(row: &Row, needle: &str) -> bool {
    needle.is_empty()
        || [&row.command, &row.user, &row.origin, &row.comm]
            .iter()
            .any(|field| field.to_lowercase().contains(needle))
        || row.pid.to_string() == needle
}

/// The lines to show for `rows` arranged by `how`.
pub fn arrange(rows: &[Row], how: &Arrangement) -> Vec<Line> {
    let needle = how.filter.to_lowercase();
    let mut order: Vec<usize> = (0..rows.len())
        .filter(|&i| matches(&rows[i], &needle))
        .collect();
    order.sort_by(|&a, &b| {
        let o = compare(&rows[a], &rows[b], how.sort);
        let o = if how.descending { o.reverse() } else { o };
        o.then(rows[a].pid.cmp(&rows[b].pid))
    });
    if how.group {
        return grouped(rows, &order, how.tree);
    }
    if how.tree {
        return tree(rows, &order);
    }
    order
        .into_iter()
        .map(|index| Line::Process { index, depth: 0 })
        .collect()
}

/// Depth-first from the processes whose parent is not shown, children in
/// sort order.
fn tree(rows: &[Row], order: &[usize]) -> Vec<Line> {
    let shown: HashMap<u32, usize> = order.iter().map(|&i| (rows[i].pid, i)).collect();
    let mut children: HashMap<u32, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for &i in order {
        let ppid = rows[i].ppid;
        if ppid != rows[i].pid && shown.contains_key(&ppid) {
            children.entry(ppid).or_default().push(i);
        } else {
            roots.push(i);
        }
    }
    let mut lines = Vec::with_capacity(order.len());
    let mut stack: Vec<(usize, usize)> = roots.into_iter().rev().map(|i| (i, 0)).collect();
    while let Some((index, depth)) = stack.pop() {
        lines.push(Line::Process { index, depth });
        if let Some(kids) = children.get(&rows[index].pid) {
            stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
        }
    }
    lines
}

/// Groups by origin (processes in none last, under "host"), busiest group
/// first; each group keeps the sort order, or a tree.
fn grouped(rows: &[Row], order: &[usize], as_tree: bool) -> Vec<Line> {
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for &i in order {
        let origin = rows[i].origin.as_str();
        let slot = *at.entry(origin).or_insert_with(|| {
            groups.push((origin.to_owned(), Vec::new()));
            groups.len() - 1
        });
        groups[slot].1.push(i);
    }
    let cpu = |members: &[usize]| members.iter().filter_map(|&i| rows[i].cpu).sum::<f64>();
    groups.sort_by(|a, b| {
        a.0.is_empty()
            .cmp(&b.0.is_empty())
            .then(cpu(&b.1).total_cmp(&cpu(&a.1)))
            .then(a.0.cmp(&b.0))
    });
    let mut lines = Vec::with_capacity(order.len() + groups.len());
    for (origin, members) in groups {
        lines.push(Line::Group {
            origin: if origin.is_empty() {
                "host".to_owned()
            } else {
                origin
            },
            processes: members.len(),
            cpu: cpu(&members),
            rss: members.iter().filter_map(|&i| rows[i].rss).sum(),
        });
        if as_tree {
            lines.extend(tree(rows, &members));
        } else {
            lines.extend(
                members
                    .into_iter()
                    .map(|index| Line::Process { index, depth: 0 }),
            );
        }
    }
    lines
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn row(pid: u32, ppid: u32, cpu: f64, command: &str, origin: &str) -> Row {
        Row {
            pid,
            ppid,
            start_ticks: Some(u64::from(pid) * 10),
            user: if pid == 1 { "root" } else { "app" }.to_owned(),
            cpu: Some(cpu),
            rss: Some(u64::from(pid) << 20),
            mem: Some(1.0),
            state: 'S',
            threads: Some(1),
            origin: origin.to_owned(),
            errors: Some(0.0),
            command: command.to_owned(),
            comm: command.split(' ').next().unwrap_or("").to_owned(),
            kernel_thread: false,
        }
    }

    fn pids(rows: &[Row], lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| match l {
                Line::Process { index, depth } => {
                    format!("{}{}", " ".repeat(*depth), rows[*index].pid)
                }
                Line::Group {
                    origin, processes, ..
                } => format!("[{origin} {processes}]"),
            })
            .collect()
    }

    fn sample() -> Vec<Row> {
        vec![
            row(1, 0, 0.5, "/sbin/init", "init.scope"),
            row(10, 1, 20.0, "nginx: master", "nginx.service"),
            row(11, 10, 30.0, "nginx: worker", "nginx.service"),
            row(20, 1, 5.0, "redis-server *:6379", "docker:0123456789ab"),
            row(30, 1, 1.0, "bash", ""),
        ]
    }

    #[test]
    fn sorts_by_any_column_either_way() {
        let rows = sample();
        let mut how = Arrangement::default();
        assert_eq!(
            pids(&rows, &arrange(&rows, &how)),
            ["11", "10", "20", "30", "1"]
        );
        how.sort = Column::Pid;
        how.descending = false;
        assert_eq!(
            pids(&rows, &arrange(&rows, &how)),
            ["1", "10", "11", "20", "30"]
        );
        how.sort = Column::Command;
        assert_eq!(
            pids(&rows, &arrange(&rows, &how)),
            ["1", "30", "10", "11", "20"]
        );
    }

    #[test]
    fn filters_on_command_user_origin_or_pid() {
        let rows = sample();
        let mut how = Arrangement {
            filter: "NGINX".into(),
            ..Arrangement::default()
        };
        assert_eq!(pids(&rows, &arrange(&rows, &how)), ["11", "10"]);
        how.filter = "docker".into();
        assert_eq!(pids(&rows, &arrange(&rows, &how)), ["20"]);
        how.filter = "root".into();
        assert_eq!(pids(&rows, &arrange(&rows, &how)), ["1"]);
        how.filter = "30".into();
        assert_eq!(pids(&rows, &arrange(&rows, &how)), ["30"]);
    }

    #[test]
    fn a_tree_nests_children_under_parents_in_sort_order() {
        let rows = sample();
        let how = Arrangement {
            tree: true,
            ..Arrangement::default()
        };
        assert_eq!(
            pids(&rows, &arrange(&rows, &how)),
            ["1", " 10", "  11", " 20", " 30"]
        );
        // A filtered-out parent makes its children roots.
        let how = Arrangement {
            tree: true,
            filter: "worker".into(),
            ..Arrangement::default()
        };
        assert_eq!(pids(&rows, &arrange(&rows, &how)), ["11"]);
    }

    #[test]
    fn groups_by_origin_busiest_first_with_the_host_last() {
        let rows = sample();
        let how = Arrangement {
            group: true,
            ..Arrangement::default()
        };
        assert_eq!(
            pids(&rows, &arrange(&rows, &how)),
            [
                "[nginx.service 2]",
                "11",
                "10",
                "[docker:0123456789ab 1]",
                "20",
                "[init.scope 1]",
                "1",
                "[host 1]",
                "30"
            ]
        );
    }
}
