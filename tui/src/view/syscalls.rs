//! Syscalls: the host-wide live stream, strace-style, with a filter. While
//! this screen is open the probe sends every call of every process; the
//! rest of the time only failures, which are what the stream holds from
//! before.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::errors::probe_missing;
use super::{Theme, fit};
use crate::app::App;

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    if probe_missing(frame, area, app, "The live syscall stream") {
        return;
    }
    let theme = Theme::of(app);
    let [top, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let stream = &app.stream;
    let mut state = vec![Span::styled(
        if stream.paused() {
            " PAUSED "
        } else {
            " LIVE "
        },
        if stream.paused() {
            theme.warn()
        } else {
            theme.good()
        },
    )];
    if !app.stream_filter.is_empty() {
        state.push(Span::raw(format!(
            " filter \"{}\"",
            crate::text::clean(app.stream_filter.as_bytes())
        )));
    }
    if stream.scroll > 0 {
        state.push(Span::raw(format!(" {} lines back", stream.scroll)));
    }
    if stream.waiting() > 0 {
        state.push(Span::styled(
            format!(" {} new lines wait (p or End to follow)", stream.waiting()),
            theme.warn(),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(state)), top);
    let needle = app.stream_filter.to_lowercase();
    let lines = stream.window(usize::from(body.height), |_, line| {
        needle.is_empty() || line.to_lowercase().contains(&needle)
    });
    if lines.is_empty() {
        frame.render_widget(
            Paragraph::new("waiting for syscalls…").style(theme.dim()),
            body,
        );
        return;
    }
    let width = usize::from(body.width);
    let text: Vec<Line> = lines
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
    frame.render_widget(Paragraph::new(text), body);
}
