//! The detail of one process: who and what it is, what it has open, its
//! recent failures classified like `why-missing`, and its live syscalls.

use std::collections::HashMap;

use hostscope_core::analysis::why_missing::ProcessReport;
use hostscope_core::civil::Civil;
use hostscope_core::procfs::Detail;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{Theme, fit};
use crate::app::{App, Focus, Pane};
use crate::text;

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    let Some(focus) = &app.focus else {
        return;
    };
    let theme = Theme::of(app);
    let overview = overview(app, focus, &theme);
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Length(overview.len() as u16 + 1),
        Constraint::Percentage(50),
        Constraint::Min(5),
    ])
    .areas(area);
    let mut title = vec![
        Span::styled(format!(" pid {} ", focus.pid), theme.title()),
        Span::raw(fit(
            &focus.command,
            usize::from(area.width.saturating_sub(30)),
        )),
    ];
    if focus.gone {
        title.push(Span::styled(" (exited) ", theme.bad()));
    }
    frame.render_widget(
        Paragraph::new(overview).block(Block::new().borders(Borders::TOP).title(Line::from(title))),
        top,
    );
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(middle);
    pane(frame, left, app, focus, &theme);
    failures(frame, right, app, focus, &theme);
    stream(frame, bottom, focus, &theme);
}

fn field(name: &str, value: String, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<9}"), theme.title()),
        Span::raw(value),
    ])
}

fn or_dash(bytes: Option<&[u8]>) -> String {
    bytes.map_or_else(|| "-".to_owned(), text::clean)
}

fn overview(app: &App, focus: &Focus, theme: &Theme) -> Vec<Line<'static>> {
    let Some(d) = focus.detail.as_deref() else {
        let text = if focus.gone {
            "exited before it could be read: its failures are below"
        } else {
            "reading /proc…"
        };
        return vec![Line::styled(text, theme.dim())];
    };
    let ids = |ids: Option<hostscope_core::procfs::Ids>| {
        ids.map_or_else(|| "-".to_owned(), |i| format!("{}/{}", i.real, i.effective))
    };
    let mut lines = vec![
        field(
            "command",
            text::command(d.cmdline.as_deref(), None).to_string(),
            theme,
        ),
        field(
            "exe",
            format!(
                "{}   cwd {}",
                or_dash(d.exe.as_deref()),
                or_dash(d.cwd.as_deref())
            ),
            theme,
        ),
        field(
            "user",
            format!(
                "{} (uid {}, gid {})   state {}   threads {}   rss {}",
                d.user
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), |u| text::clean(u.as_bytes())),
                ids(d.uids),
                ids(d.gids),
                d.state.unwrap_or('?'),
                d.threads.map_or_else(|| "-".to_owned(), |t| t.to_string()),
                d.rss_bytes.map_or_else(|| "-".to_owned(), text::bytes),
            ),
            theme,
        ),
        field(
            "cgroup",
            format!(
                "{}{}",
                or_dash(d.cgroup.as_deref()),
                d.origin
                    .as_ref()
                    .map(|o| format!("   ({o})"))
                    .unwrap_or_default()
            ),
            theme,
        ),
        field("started", started(app, d), theme),
    ];
    let children = if d.children.is_empty() {
        "none".to_owned()
    } else {
        d.children
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    };
    lines.push(field("children", children, theme));
    lines
}

/// The start time as a UTC date, and how long ago, from the snapshot's
/// clock (a view reads no clock of its own).
fn started(app: &App, d: &Detail) -> String {
    let Some(start) = d.start_time else {
        return "-".to_owned();
    };
    let date = utc(start);
    let now = app
        .snapshot
        .as_ref()
        .and_then(|s| Some(s.boot_time? + s.taken_at.as_secs()));
    match now {
        Some(now) if now >= start => format!("{date} ({} ago)", text::uptime(now - start)),
        _ => date,
    }
}

/// `2026-11-28 23:01:49 UTC` from seconds since the epoch.
fn utc(secs: u64) -> String {
    let t = Civil::from_unix(i64::try_from(secs).unwrap_or(i64::MAX));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

fn pane(frame: &mut Frame, area: Rect, app: &App, focus: &Focus, theme: &Theme) {
    let mut title = Vec::new();
    for p in Pane::ALL {
        let style = if p == focus.pane {
            theme.selected()
        } else {
            theme.dim()
        };
        title.push(Span::styled(format!(" {} ", p.title()), style));
    }
    let block = Block::new()
        .borders(Borders::TOP | Borders::RIGHT)
        .title(Line::from(title));
    let inner_width = usize::from(area.width.saturating_sub(2));
    let lines: Vec<Line> = match focus.detail.as_deref() {
        None if focus.gone => vec![Line::styled("exited", theme.dim())],
        None => vec![Line::styled("reading /proc…", theme.dim())],
        Some(d) => match focus.pane {
            Pane::Files => match &d.files {
                None => vec![Line::styled(
                    "open files unreadable (run as root or as the process's user)",
                    theme.warn(),
                )],
                Some(files) => files
                    .iter()
                    .map(|f| {
                        Line::raw(fit(
                            &format!("{:>4} {}", f.fd, text::clean(&f.target)),
                            inner_width,
                        ))
                    })
                    .collect(),
            },
            Pane::Sockets if d.sockets.is_empty() => vec![Line::styled("no sockets", theme.dim())],
            Pane::Sockets => d
                .sockets
                .iter()
                .map(|s| {
                    let remote = if s.remote.is_empty() {
                        String::new()
                    } else {
                        format!(" -> {}", text::clean(s.remote.as_bytes()))
                    };
                    Line::raw(fit(
                        &format!(
                            "{:>4} {:<5} {}{remote} {}",
                            s.fd,
                            s.kind,
                            text::clean(s.local.as_bytes()),
                            s.state
                        ),
                        inner_width,
                    ))
                })
                .collect(),
            Pane::Environment if !app.root => vec![Line::styled(
                "the environment is shown to root only (run sudo hostscope top)",
                theme.warn(),
            )],
            Pane::Environment => match &d.environment {
                None => vec![Line::styled("environment unreadable", theme.warn())],
                Some(vars) => vars
                    .iter()
                    .map(|v| {
                        let style = if v.masked {
                            theme.dim()
                        } else {
                            ratatui::style::Style::new()
                        };
                        Line::styled(
                            fit(
                                &format!("{}={}", text::clean(&v.name), text::clean(&v.value)),
                                inner_width,
                            ),
                            style,
                        )
                    })
                    .collect(),
            },
            Pane::Limits => match &d.limits {
                None => vec![Line::styled("limits unreadable", theme.warn())],
                Some(limits) => limits
                    .iter()
                    .map(|l| {
                        let v = |x: Option<u64>| {
                            x.map_or_else(|| "unlimited".to_owned(), |x| x.to_string())
                        };
                        Line::raw(fit(
                            &format!(
                                "{:<22} {:>12} {:>12} {}",
                                text::clean(l.name.as_bytes()),
                                v(l.soft),
                                v(l.hard),
                                text::clean(l.unit.as_deref().unwrap_or("").as_bytes())
                            ),
                            inner_width,
                        ))
                    })
                    .collect(),
            },
        },
    };
    let lines: Vec<Line> = lines.into_iter().skip(focus.pane_scroll).collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// What why-missing made of a place: `missing`, `denied`, `search 3/5`.
fn classes(report: &ProcessReport) -> HashMap<Vec<u8>, String> {
    let mut out = HashMap::new();
    for s in &report.searches {
        for place in &s.places {
            out.insert(
                place.clone(),
                format!("search, found at {} of {}", s.k, s.n),
            );
        }
    }
    for m in &report.missing {
        for place in &m.places {
            let class = match &m.cause {
                Some(cause) => format!("missing: {}", cause.describe()),
                None => "missing".to_owned(),
            };
            out.insert(place.clone(), class);
        }
    }
    for d in &report.denied {
        out.insert(
            d.attempt.place().to_vec(),
            format!(
                "denied: {}",
                d.denial.describe(d.attempt.uid, d.attempt.gid)
            ),
        );
    }
    out
}

fn failures(frame: &mut Frame, area: Rect, app: &App, focus: &Focus, theme: &Theme) {
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(" Failures (why-missing) ", theme.title()));
    if app.probe.unavailable.is_some() {
        frame.render_widget(
            Paragraph::new("needs the probe: run sudo hostscope top")
                .style(theme.warn())
                .block(block),
            area,
        );
        return;
    }
    let width = usize::from(area.width);
    let classes = focus.report.as_deref().map(classes).unwrap_or_default();
    let groups = app.failures.of(focus.pid, focus.epoch);
    let mut lines = Vec::new();
    if let Some(report) = focus.report.as_deref()
        && !report.searches.is_empty()
    {
        lines.push(Line::styled(
            format!(
                "{} searches found what they looked for (collapsed)",
                report.searches.len()
            ),
            theme.dim(),
        ));
    }
    if groups.is_empty() {
        lines.push(Line::styled("no failed syscall seen", theme.dim()));
    }
    for (key, group) in groups {
        let errno = hostscope_core::decode::errno::name(key.errno)
            .map_or_else(|| key.errno.to_string(), str::to_owned);
        let path = key.path.as_deref().map(text::clean).unwrap_or_default();
        let class = key.path.as_ref().and_then(|p| classes.get(p));
        let style = match class {
            Some(c) if c.starts_with("search") => theme.dim(),
            Some(_) => theme.bad(),
            None => ratatui::style::Style::new(),
        };
        lines.push(Line::styled(
            fit(
                &format!("{errno:<8} x{:<5} {:<10} {path}", group.count, key.syscall),
                width,
            ),
            style,
        ));
        if let Some(class) = class {
            lines.push(Line::styled(
                fit(&format!("         {class}"), width),
                style,
            ));
        }
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn stream(frame: &mut Frame, area: Rect, focus: &Focus, theme: &Theme) {
    let s = &focus.stream;
    let mut title = vec![Span::styled(" Syscalls ", theme.title())];
    title.push(if s.paused() {
        Span::styled("PAUSED ", theme.warn())
    } else {
        Span::styled("LIVE ", theme.good())
    });
    if s.scroll > 0 {
        title.push(Span::raw(format!("{} back ", s.scroll)));
    }
    if s.waiting() > 0 {
        title.push(Span::styled(
            format!("{} new waiting ", s.waiting()),
            theme.warn(),
        ));
    }
    let block = Block::new().borders(Borders::TOP).title(Line::from(title));
    let height = usize::from(area.height.saturating_sub(1));
    let width = usize::from(area.width);
    let lines: Vec<Line> = s
        .window(height, |_, _| true)
        .into_iter()
        .map(|l| {
            let style = if l.contains(" = -1 ") {
                theme.bad()
            } else {
                ratatui::style::Style::new()
            };
            Line::styled(fit(l, width), style)
        })
        .collect();
    let lines = if lines.is_empty() {
        vec![Line::styled("waiting for its syscalls…", theme.dim())]
    } else {
        lines
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc(1_795_906_909), "2026-11-28 23:01:49 UTC");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}
