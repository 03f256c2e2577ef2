//! Errors: failed syscalls across the host, grouped by process, syscall,
//! errno and path, busiest first. The first place to look in an outage.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use super::processes::first_shown;
use super::{Theme, fit};
use crate::app::App;
use crate::text;

/// What a view that needs the probe says without it.
pub(super) fn probe_missing(frame: &mut Frame, area: Rect, app: &App, what: &str) -> bool {
    let Some(reason) = &app.probe.unavailable else {
        return false;
    };
    let theme = Theme::of(app);
    let text = format!(
        "{what} comes from hostscope's eBPF probe, which is not attached: {reason}.\n\n\
         Run `sudo hostscope top` (root, or CAP_BPF and CAP_PERFMON) to see it. \
         The Processes screen works without it."
    );
    frame.render_widget(
        Paragraph::new(text)
            .style(theme.warn())
            .wrap(Wrap { trim: true }),
        area,
    );
    true
}

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    if probe_missing(frame, area, app, "This list of failing syscalls") {
        return;
    }
    let theme = Theme::of(app);
    let groups = app.failures.ranked();
    if groups.is_empty() {
        frame.render_widget(
            Paragraph::new("no failed syscall seen yet").style(theme.dim()),
            area,
        );
        return;
    }
    let height = usize::from(area.height.saturating_sub(1));
    let selected = crate::app::error_cursor(app, &groups);
    let first = first_shown(selected, height);
    let path_width = usize::from(area.width.saturating_sub(62)).max(10);
    let header = Row::new([
        "ERR/s", "COUNT", "PID", "COMMAND", "SYSCALL", "ERRNO", "PATH",
    ])
    .style(theme.heading());
    let rows = groups
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, (key, group))| {
            let errno = hostscope_core::decode::errno::name(key.errno)
                .map_or_else(|| key.errno.to_string(), str::to_owned);
            let path = key.path.as_deref().map(text::clean).unwrap_or_default();
            let row = Row::new(vec![
                Cell::from(Span::styled(
                    text::rate(group.rate),
                    if group.rate > 0.0 {
                        theme.bad()
                    } else {
                        theme.dim()
                    },
                )),
                Cell::from(group.count.to_string()),
                Cell::from(key.pid.to_string()),
                Cell::from(if group.exited {
                    Span::styled(
                        fit(&format!("{} (exited)", text::clean(&group.comm)), 15),
                        theme.dim(),
                    )
                } else {
                    Span::raw(fit(&text::clean(&group.comm), 15))
                }),
                Cell::from(key.syscall),
                Cell::from(errno),
                Cell::from(fit(&path, path_width)),
            ]);
            if i == selected {
                row.style(theme.selected())
            } else {
                row
            }
        });
    let widths = [
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(15),
        Constraint::Length(12),
        Constraint::Length(9),
        Constraint::Fill(1),
    ];
    frame.render_widget(Table::new(rows, widths).header(header), area);
    if app.failures.forgotten > 0 {
        let note = format!(
            " {} older groups forgotten to stay within {} ",
            app.failures.forgotten,
            crate::live::Failures::MAX_GROUPS
        );
        let w = (note.chars().count() as u16).min(area.width);
        let corner = Rect::new(area.right() - w, area.y, w, 1);
        frame.render_widget(Paragraph::new(Span::styled(note, theme.warn())), corner);
    }
}
