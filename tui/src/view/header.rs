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

/// Columns of one core's gauge: `cpu12 [||||||    ] 100%`.
const CPU_CELL: u16 = 22;

fn cpu_rows(app: &App, width: u16) -> usize {
    let per_row = usize::from((width / CPU_CELL).max(1));
    app.host_cpu.len().div_ceil(per_row)
}

/// Rows the header needs at this width.
pub(super) fn height(app: &App, width: u16) -> u16 {
    (2 + cpu_rows(app, width)).min(12) as u16
}

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = Theme::of(app);
    let mut lines = vec![summary(app, &theme), probe(app, &theme)];
    let per_row = usize::from((area.width / CPU_CELL).max(1));
    for (row, chunk) in app.host_cpu.chunks(per_row).enumerate() {
        let mut spans = Vec::new();
        for (i, &pct) in chunk.iter().enumerate() {
            spans.extend(gauge(&format!("cpu{}", row * per_row + i), pct, &theme));
        }
        lines.push(Line::from(spans));
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

fn gauge(label: &str, pct: f64, theme: &Theme) -> Vec<Span<'static>> {
    const BAR: usize = 10;
    let filled = ((pct / 100.0 * BAR as f64).round() as usize).min(BAR);
    let style: Style = if pct >= 90.0 {
        theme.bad()
    } else if pct >= 60.0 {
        theme.warn()
    } else {
        theme.good()
    };
    vec![
        Span::raw(format!("{label:>5} [")),
        Span::styled("|".repeat(filled), style),
        Span::raw(format!("{}{:>4.0}%] ", " ".repeat(BAR - filled), pct)),
    ]
}
