//! Drawing the state. Pure: every function here reads the [`App`] and
//! writes cells, no I/O, no clock, so a view renders the same on a
//! `TestBackend` as on a terminal.

mod chains;
mod detail;
mod errors;
mod header;
mod help;
mod processes;
mod syscalls;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{App, Editing, Overlay, Screen};

/// Draws the whole screen.
pub fn render(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let header_height = header::height(app, area.width);
    let [header_area, tabs_area, body, status] = Layout::vertical([
        Constraint::Length(header_height),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    header::render(frame, header_area, app);
    tabs(frame, tabs_area, app);
    match app.screen {
        Screen::Processes => processes::render(frame, body, app),
        Screen::Detail => detail::render(frame, body, app),
        Screen::Errors => errors::render(frame, body, app),
        Screen::Syscalls => syscalls::render(frame, body, app),
        Screen::Chains => chains::render(frame, body, app),
    }
    status_line(frame, status, app);
    match &app.overlay {
        Some(Overlay::Help) => help::render(frame, area, app),
        Some(overlay @ Overlay::Signal { .. }) => help::render_signal(frame, area, app, overlay),
        None => {}
    }
}

/// Styles that degrade: with colour off (`NO_COLOR`) only bold and reverse
/// remain, and the colours used are the 16 every terminal has.
pub(crate) struct Theme {
    color: bool,
}

impl Theme {
    pub(crate) fn of(app: &App) -> Theme {
        Theme { color: app.color }
    }

    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub(crate) fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub(crate) fn heading(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Green)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub(crate) fn selected(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Cyan)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub(crate) fn bad(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub(crate) fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }

    pub(crate) fn good(&self) -> Style {
        self.fg(Color::Green)
    }

    pub(crate) fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    pub(crate) fn key(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Cyan)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }
}

fn tabs(frame: &mut Frame, area: Rect, app: &App) {
    let theme = Theme::of(app);
    let mut spans = Vec::new();
    for (screen, key, name) in Screen::TABS {
        let style = if app.screen == screen {
            theme.selected()
        } else {
            Style::new()
        };
        spans.push(Span::styled(format!(" {key} {name} "), style));
        spans.push(Span::raw(" "));
    }
    if let Some(focus) = &app.focus {
        let style = if app.screen == Screen::Detail {
            theme.selected()
        } else {
            theme.dim()
        };
        spans.push(Span::styled(format!(" ⏎ pid {} ", focus.pid), style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn status_line(frame: &mut Frame, area: Rect, app: &App) {
    let theme = Theme::of(app);
    let line = match app.editing {
        Some(editing) => {
            let (label, text) = match editing {
                Editing::ProcessFilter => ("Filter: ", &app.arrangement.filter),
                Editing::StreamFilter => ("Filter: ", &app.stream_filter),
            };
            Line::from(vec![
                Span::styled(label, theme.key()),
                Span::raw(format!(" {}▏", crate::text::clean(text.as_bytes()))),
                Span::styled("  Enter done  Esc clear", theme.dim()),
            ])
        }
        None => {
            let keys: &[(&str, &str)] = match app.screen {
                Screen::Processes => &[
                    ("?", "Help"),
                    ("/", "Filter"),
                    ("⏎", "Detail"),
                    ("<>", "Sort"),
                    ("t", "Tree"),
                    ("g", "Group"),
                    ("k", "Signal"),
                    ("q", "Quit"),
                ],
                Screen::Detail => &[
                    ("?", "Help"),
                    ("Esc", "Back"),
                    ("Tab", "Pane"),
                    ("p", "Pause"),
                    ("↑↓", "Scroll"),
                    ("k", "Signal"),
                    ("q", "Quit"),
                ],
                Screen::Errors => &[
                    ("?", "Help"),
                    ("↑↓", "Select"),
                    ("⏎", "Detail"),
                    ("q", "Quit"),
                ],
                Screen::Chains => &[
                    ("?", "Help"),
                    ("↑↓", "Select"),
                    ("Tab", "Tree"),
                    ("r l s", "Order"),
                    ("⏎", "Process"),
                    ("q", "Quit"),
                ],
                Screen::Syscalls => &[
                    ("?", "Help"),
                    ("/", "Filter"),
                    ("p", "Pause"),
                    ("↑↓", "Scroll"),
                    ("q", "Quit"),
                ],
            };
            let mut spans = Vec::new();
            for (key, what) in keys {
                spans.push(Span::styled(*key, theme.key()));
                spans.push(Span::raw(format!("{what} ")));
            }
            if let Some(message) = &app.message {
                spans.push(Span::styled(format!(" {message}"), theme.warn()));
            }
            Line::from(spans)
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// Cuts `s` to at most `width` terminal columns (wide characters count
/// two), marking the cut with `…`.
pub(crate) fn fit(s: &str, width: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if s.width() <= width {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
pub(crate) mod fixture;

#[cfg(test)]
mod tests;
