//! Chains: recent requests across the services on the host, each as the
//! chain of hops it caused, the culprit marked. The list above, the
//! selected chain's tree below; Enter opens a hop's process.

use hostscope_core::chains::link::{LinkKind, culprit_hop};
use hostscope_core::chains::render::{duration_text, hop_line, status_text};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::errors::probe_missing;
use super::processes::first_shown;
use super::{Theme, fit};
use crate::app::App;
use crate::chains::{Order, Pane};

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    if probe_missing(frame, area, app, "The request chains") {
        return;
    }
    let theme = Theme::of(app);
    let c = &app.chains;
    if c.roots.is_empty() {
        let text = format!(
            "no request seen yet ({} socket calls so far): HTTP/1.x, Redis and PostgreSQL \
             requests between processes on this host show here as they complete",
            c.calls
        );
        frame.render_widget(Paragraph::new(text).style(theme.dim()), area);
        return;
    }
    let [list, tree] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let order = match c.order {
        Order::Recent => "newest first",
        Order::Latency => "slowest first",
        Order::Status => "failing first",
    };
    let height = usize::from(list.height.saturating_sub(2));
    let first = first_shown(c.selected, height);
    // What the two text columns share (Fill(3) and Fill(2)).
    let rest = usize::from(list.width).saturating_sub(9 + 14 + 4 + 4);
    let (request_width, culprit_width) = (rest * 3 / 5, rest * 2 / 5);
    let header = Row::new(["TIME", "STATUS", "HOPS", "REQUEST", "CULPRIT"]).style(theme.heading());
    let rows = c
        .roots
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, root)| {
            let span = root.main();
            let blamed = culprit_hop(root);
            let style = if root.chain_failed() {
                theme.bad()
            } else {
                ratatui::style::Style::new()
            };
            let row = Row::new(vec![
                Cell::from(duration_text(root.duration_ns())),
                Cell::from(status_text(span.status.as_ref())),
                Cell::from(root.hop_count().to_string()),
                Cell::from(fit(&hop_line(root), request_width)),
                Cell::from(fit(&hop_line(blamed), culprit_width)),
            ])
            .style(style);
            if i == c.selected && c.pane == Pane::List {
                row.style(theme.selected())
            } else {
                row
            }
        });
    let widths = [
        Constraint::Length(9),
        Constraint::Length(14),
        Constraint::Length(4),
        Constraint::Fill(3),
        Constraint::Fill(2),
    ];
    let title = Line::from(vec![
        Span::styled(format!(" {} chains ", c.roots.len()), theme.title()),
        Span::styled(
            format!("{order}  (r l s: order, Tab: the tree) "),
            theme.dim(),
        ),
    ]);
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(Block::new().borders(Borders::TOP).title(title)),
        list,
    );

    let Some(root) = c.roots.get(c.selected) else {
        return;
    };
    let blamed = culprit_hop(root);
    let mut lines = Vec::new();
    for (i, (depth, hop)) in c.hops().into_iter().enumerate() {
        let mut text = String::new();
        if depth > 0 {
            text.push_str(&"   ".repeat(depth - 1));
            text.push_str(match hop.link {
                Some(LinkKind::Thread) => "└┄ ",
                _ => "└─ ",
            });
        }
        text.push_str(&hop_line(hop));
        let is_culprit = std::ptr::eq(hop, blamed);
        if is_culprit {
            text.push_str("  <- culprit");
        }
        let style = if i == c.hop && c.pane == Pane::Tree {
            theme.selected()
        } else if is_culprit {
            theme.bad()
        } else {
            ratatui::style::Style::new()
        };
        lines.push(Line::styled(fit(&text, usize::from(tree.width)), style));
    }
    let title = Span::styled(
        " Chain (└─ exact, └┄ inferred; Enter: the process) ",
        theme.title(),
    );
    frame.render_widget(
        Paragraph::new(lines).block(Block::new().borders(Borders::TOP).title(title)),
        tree,
    );
}
