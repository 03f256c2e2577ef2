//! The help box (`?`) and the signal picker (`k`).

use hostscope_core::procfs::SIGNALS;
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{Theme, fit};
use crate::app::{App, Overlay};

/// Every key, by screen.
pub const KEYS: &[(&str, &str)] = &[
    ("Everywhere", ""),
    ("1 2 3 4", "Processes, Errors, Syscalls, Chains screens"),
    ("? F1", "this help (any key closes it)"),
    ("q F10 ^C", "quit"),
    ("Processes", ""),
    ("↑ ↓ PgUp PgDn Home End", "move"),
    ("Enter", "detail of the process"),
    (
        "/ F3",
        "filter by command, user, container or pid (Esc clears)",
    ),
    ("< > F6", "sort by the previous/next column"),
    ("P M N E U", "sort by %CPU, memory, pid, errors, user"),
    ("I", "invert the sort"),
    ("t F5", "tree"),
    ("g", "group by container/unit"),
    ("k F9", "send a signal (asks first)"),
    ("Detail", ""),
    ("Esc ←", "back"),
    ("Tab", "files, sockets, environment, limits"),
    ("[ ]", "scroll that pane"),
    ("p Space", "pause/resume the syscall stream"),
    ("↑ ↓ PgUp PgDn End", "scroll the stream (End: follow)"),
    ("Errors", ""),
    ("↑ ↓ Enter", "select a failure, open its process"),
    ("Chains", ""),
    ("↑ ↓ Tab", "select a chain; Tab: select a hop in its tree"),
    ("r l s", "newest, slowest or failing first"),
    (
        "Enter",
        "the hop's process (the chain's root from the list)",
    ),
    ("Syscalls", ""),
    ("/ p ↑ ↓", "filter, pause, scroll"),
];

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = Theme::of(app);
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(keys, what)| {
            if what.is_empty() {
                Line::styled(*keys, theme.title())
            } else {
                Line::from(vec![
                    Span::styled(format!("  {keys:<24}"), theme.key()),
                    Span::raw(format!(" {what}")),
                ])
            }
        })
        .collect();
    let box_area = centered(area, 90, lines.len() as u16 + 2);
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::new()
                .borders(Borders::ALL)
                .title(" hostscope top: keys "),
        ),
        box_area,
    );
}

pub(super) fn render_signal(frame: &mut Frame, area: Rect, app: &App, overlay: &Overlay) {
    let Overlay::Signal {
        pid,
        command,
        choice,
        ..
    } = overlay
    else {
        return;
    };
    let theme = Theme::of(app);
    let mut lines = vec![
        Line::raw(format!("Send a signal to pid {pid}?")),
        Line::styled(fit(command, 50), theme.dim()),
        Line::raw(""),
    ];
    for (i, (number, name)) in SIGNALS.iter().enumerate() {
        let text = format!(" {} SIG{name} ({number}) ", i + 1);
        lines.push(if i == *choice {
            Line::styled(text, theme.selected())
        } else {
            Line::raw(text)
        });
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Enter send   Esc cancel", theme.dim()));
    let box_area = centered(area, 56, lines.len() as u16 + 2);
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines).block(Block::new().borders(Borders::ALL).title(" Signal ")),
        box_area,
    );
}
