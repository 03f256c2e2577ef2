//! The process table. Only the rows on screen are built, so 10,000
//! processes cost what 50 do.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line as TextLine, Span};
use ratatui::widgets::{Cell, Paragraph, Row as TableRow, Table};

use super::{Theme, fit};
use crate::app::App;
use crate::table::{Column, Line};
use crate::text;

fn width(column: Column) -> Constraint {
    match column {
        Column::Pid => Constraint::Length(7),
        Column::User => Constraint::Length(9),
        Column::Cpu => Constraint::Length(5),
        Column::Mem => Constraint::Length(11),
        Column::State => Constraint::Length(1),
        Column::Threads => Constraint::Length(4),
        Column::Origin => Constraint::Length(18),
        Column::Errors => Constraint::Length(6),
        Column::Command => Constraint::Fill(1),
    }
}

/// First line shown so that `selected` is on screen, `height` lines tall.
pub(super) fn first_shown(selected: usize, height: usize) -> usize {
    if height == 0 {
        0
    } else {
        selected.saturating_sub(height - 1)
    }
}

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = Theme::of(app);
    if app.lines.is_empty() {
        let text = if app.rows.is_empty() {
            "reading /proc…".to_owned()
        } else {
            format!(
                "no process matches the filter \"{}\" (Esc clears it)",
                text::clean(app.arrangement.filter.as_bytes())
            )
        };
        frame.render_widget(Paragraph::new(text).style(theme.dim()), area);
        return;
    }
    let height = usize::from(area.height.saturating_sub(1));
    let first = first_shown(app.selected, height);
    let how = &app.arrangement;
    let header = TableRow::new(Column::ALL.map(|c| {
        let mark = if c == how.sort {
            if how.descending { "▼" } else { "▲" }
        } else {
            ""
        };
        Cell::from(format!("{}{mark}", c.title()))
    }))
    .style(theme.heading());
    let command_width = usize::from(area.width.saturating_sub(69)).max(10);
    let rows = app
        .lines
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, line)| {
            let row = match line {
                Line::Process { index, depth } => {
                    process_row(app, *index, *depth, command_width, &theme)
                }
                Line::Group {
                    origin,
                    processes,
                    cpu,
                    rss,
                } => TableRow::new(vec![
                    Cell::from(""),
                    Cell::from(""),
                    Cell::from(format!("{cpu:.1}")),
                    Cell::from(text::bytes(*rss)),
                    Cell::from(""),
                    Cell::from(""),
                    Cell::from(fit(origin, 18)),
                    Cell::from(""),
                    Cell::from(format!(
                        "── {processes} process{}",
                        if *processes == 1 { "" } else { "es" }
                    )),
                ])
                .style(theme.title()),
            };
            if i == app.selected {
                row.style(theme.selected())
            } else {
                row
            }
        });
    let table = Table::new(rows, Column::ALL.map(width))
        .header(header)
        .column_spacing(1);
    frame.render_widget(table, area);
    if how.tree || how.group || !how.filter.is_empty() {
        let mut flags = Vec::new();
        if how.tree {
            flags.push("tree".to_owned());
        }
        if how.group {
            flags.push("grouped".to_owned());
        }
        if !how.filter.is_empty() {
            flags.push(format!(
                "filter \"{}\": {} shown",
                how.filter,
                app.lines.len()
            ));
        }
        let label = format!(" {} ", flags.join(", "));
        let w = (label.chars().count() as u16).min(area.width);
        let corner = Rect::new(area.right() - w, area.y, w, 1);
        frame.render_widget(
            Paragraph::new(TextLine::from(Span::styled(
                label,
                theme.heading().add_modifier(Modifier::BOLD),
            ))),
            corner,
        );
    }
}

fn process_row(
    app: &App,
    index: usize,
    depth: usize,
    command_width: usize,
    theme: &Theme,
) -> TableRow<'static> {
    let r = &app.rows[index];
    let dash = || "-".to_owned();
    let errors = match r.errors {
        Some(rate) => text::rate(rate),
        None => dash(),
    };
    let errors_cell = if r.errors.is_some_and(|e| e > 0.0) {
        Cell::from(Span::styled(errors, theme.bad()))
    } else {
        Cell::from(errors)
    };
    let indent = if depth > 0 {
        format!("{}└ ", "  ".repeat(depth - 1))
    } else {
        String::new()
    };
    let command = format!("{indent}{}", r.command);
    let command = if r.kernel_thread {
        Cell::from(Span::styled(fit(&command, command_width), theme.dim()))
    } else {
        Cell::from(fit(&command, command_width))
    };
    TableRow::new(vec![
        Cell::from(r.pid.to_string()),
        Cell::from(fit(&r.user, 9)),
        Cell::from(r.cpu.map_or_else(dash, |c| format!("{c:.1}"))),
        Cell::from(match (r.rss, r.mem) {
            (Some(rss), Some(pct)) => format!("{:>5} {pct:>4.1}", text::bytes(rss)),
            (Some(rss), None) => text::bytes(rss),
            _ => dash(),
        }),
        Cell::from(r.state.to_string()),
        Cell::from(r.threads.map_or_else(dash, |t| t.to_string())),
        Cell::from(fit(&r.origin, 18)),
        errors_cell,
        command,
    ])
}
