//! The header: the host, its CPUs and memory, and the probe's health. A
//! loss is always on screen once there has been one.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Theme;
use crate::app::App;
use crate::text;

/// Rows of CPU gauges at most; more cores are summed up in words.
const MAX_CPU_ROWS: usize = 8;
/// Bar length of one gauge.
const BAR: usize = 10;

/// The label width (`cpu7`, `cpu127`) and the columns of one gauge:
/// `cpu12 [||||||    ] 100%] `.
fn cell(app: &App) -> (usize, usize) {
    let label = 3 + app
        .host_cpu
        .len()
        .saturating_sub(1)
        .max(1)
        .to_string()
        .len();
    (label, label + 2 + BAR + 7)
}

/// Gauges per row and rows of gauges at this width.
fn layout(app: &App, width: u16) -> (usize, usize) {
    let per_row = (usize::from(width) / cell(app).1).max(1);
    (
        per_row,
        app.host_cpu.len().div_ceil(per_row).min(MAX_CPU_ROWS),
    )
}

/// Rows the header needs at this width.
pub(super) fn height(app: &App, width: u16) -> u16 {
    (2 + layout(app, width).1) as u16
}

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = Theme::of(app);
    let mut lines = vec![summary(app, &theme), probe(app, &theme)];
    let (label, _) = cell(app);
    let (per_row, rows) = layout(app, area.width);
    for (row, chunk) in app.host_cpu.chunks(per_row).take(rows).enumerate() {
        let mut spans = Vec::new();
        for (i, &pct) in chunk.iter().enumerate() {
            spans.extend(gauge(
                &format!("cpu{}", row * per_row + i),
                label,
                pct,
                &theme,
            ));
        }
        lines.push(Line::from(spans));
    }
    let shown = per_row * rows;
    if app.host_cpu.len() > shown
        && let Some(last) = lines.last_mut()
    {
        let rest = &app.host_cpu[shown..];
        let mean = rest.iter().sum::<f64>() / rest.len() as f64;
        *last = Line::from(format!(
            "+{} more cores, {mean:.0}% on average (a wider terminal shows them)",
            rest.len()
        ));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn summary(app: &App, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    let Some(host) = &app.host else {
        return Line::from(Span::styled("hostscope top: reading /proc…", theme.title()));
    };
    spans.push(Span::styled(text::clean(&host.hostname), theme.title()));
    if let Some(up) = host.uptime {
        spans.push(Span::raw(format!("  up {}", text::uptime(up.as_secs()))));
    }
    if let Some([one, five, fifteen]) = host.load {
        spans.push(Span::raw(format!("  load {one:.2} {five:.2} {fifteen:.2}")));
    }
    if let Some(snapshot) = &app.snapshot {
        let running = snapshot
            .processes
            .iter()
            .filter(|p| p.state == Some('R'))
            .count();
        let threads: u64 = snapshot
            .processes
            .iter()
            .filter_map(|p| p.threads)
            .map(u64::from)
            .sum();
        spans.push(Span::raw(format!(
            "  tasks {}, {threads} thr, {running} running",
            snapshot.processes.len()
        )));
    }
    if let Some(m) = host.memory {
        spans.push(Span::raw(format!(
            "  mem {}/{}",
            text::bytes(m.total.saturating_sub(m.available)),
            text::bytes(m.total)
        )));
        spans.push(Span::raw(format!(
            "  swap {}/{}",
            text::bytes(m.swap_total.saturating_sub(m.swap_free)),
            text::bytes(m.swap_total)
        )));
    }
    Line::from(spans)
}

fn probe(app: &App, theme: &Theme) -> Line<'static> {
    let p = &app.probe;
    if let Some(reason) = &p.unavailable {
        return Line::from(vec![
            Span::styled("probe: off ", theme.warn()),
            Span::styled(format!("({reason})"), theme.dim()),
        ]);
    }
    let lost_style = if p.lost > 0 {
        theme.bad()
    } else {
        theme.good()
    };
    let mut spans = vec![
        Span::styled("probe: attached", theme.good()),
        Span::raw(format!(
            "  {} events/s  {} failures seen  ",
            text::rate(p.rate),
            app.failures.total
        )),
        Span::styled(format!("lost {}", p.lost), lost_style),
    ];
    if p.lost > 0 {
        spans.push(Span::styled(
            " (views may be incomplete)".to_owned(),
            theme.bad(),
        ));
    }
    if p.truncated > 0 {
        spans.push(Span::styled(
            format!("  truncated {}", p.truncated),
            theme.warn(),
        ));
    }
    Line::from(spans)
}

fn gauge(label: &str, width: usize, pct: f64, theme: &Theme) -> Vec<Span<'static>> {
    let filled = ((pct / 100.0 * BAR as f64).round() as usize).min(BAR);
    let style: Style = if pct >= 90.0 {
        theme.bad()
    } else if pct >= 60.0 {
        theme.warn()
    } else {
        theme.good()
    };
    vec![
        Span::raw(format!("{label:>width$} [")),
        Span::styled("|".repeat(filled), style),
        Span::raw(format!("{}{:>4.0}%] ", " ".repeat(BAR - filled), pct)),
    ]
}
