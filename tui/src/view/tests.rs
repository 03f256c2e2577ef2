//! Every screen rendered from the fixture on a `TestBackend`, pinned with
//! insta snapshots; and the properties no snapshot shows at a glance: no
//! raw control character reaches a cell, `NO_COLOR` means no colour, any
//! size renders.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

use super::fixture;
use super::render;
use crate::app::{App, Msg, Refresh, update};

fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal.draw(|f| render(f, app)).expect("draw");
    terminal
}

fn key(app: &mut App, code: KeyCode) {
    update(app, Msg::Key(KeyEvent::from(code)));
}

fn assert_clean(buffer: &Buffer) {
    for cell in buffer.content() {
        for c in cell.symbol().chars() {
            assert!(
                !c.is_control()
                    && !('\u{202a}'..='\u{202e}').contains(&c)
                    && !('\u{2066}'..='\u{2069}').contains(&c),
                "a raw {c:?} reached the screen"
            );
        }
    }
}

#[test]
fn processes_screen() {
    let app = fixture::app();
    let terminal = draw(&app, 120, 16);
    assert_clean(terminal.backend().buffer());
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn processes_as_a_tree_grouped_and_filtered() {
    let mut app = fixture::app();
    key(&mut app, KeyCode::Char('t'));
    insta::assert_snapshot!("tree", draw(&app, 120, 14).backend());
    key(&mut app, KeyCode::Char('g'));
    insta::assert_snapshot!("grouped", draw(&app, 120, 18).backend());
    key(&mut app, KeyCode::Char('g'));
    key(&mut app, KeyCode::Char('t'));
    key(&mut app, KeyCode::Char('/'));
    for c in "nginx".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    insta::assert_snapshot!("filtering", draw(&app, 120, 12).backend());
}

#[test]
fn detail_screen() {
    let app = fixture::detail_app();
    let terminal = draw(&app, 120, 34);
    assert_clean(terminal.backend().buffer());
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn detail_panes() {
    let mut app = fixture::detail_app();
    key(&mut app, KeyCode::Tab);
    insta::assert_snapshot!("sockets", draw(&app, 100, 26).backend());
    key(&mut app, KeyCode::Tab);
    insta::assert_snapshot!("environment", draw(&app, 100, 26).backend());
    key(&mut app, KeyCode::Tab);
    insta::assert_snapshot!("limits", draw(&app, 100, 26).backend());
}

#[test]
fn errors_screen() {
    let mut app = fixture::app();
    key(&mut app, KeyCode::Char('2'));
    let terminal = draw(&app, 110, 12);
    assert_clean(terminal.backend().buffer());
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn syscalls_screen_filtered() {
    let mut app = fixture::app();
    key(&mut app, KeyCode::Char('3'));
    key(&mut app, KeyCode::Char('/'));
    for c in "evil".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    let terminal = draw(&app, 110, 12);
    assert_clean(terminal.backend().buffer());
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn help_and_signal_boxes() {
    let mut app = fixture::app();
    key(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!("help", draw(&app, 100, 32).backend());
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('k'));
    key(&mut app, KeyCode::Down);
    insta::assert_snapshot!("signal", draw(&app, 100, 24).backend());
}

#[test]
fn without_the_probe_the_probe_views_say_why_and_what_to_run() {
    let mut app = App::new(Some("not root".into()), false, true);
    update(
        &mut app,
        Msg::Refreshed(Box::new(Refresh {
            snapshot: fixture::snapshot(1000, 100),
            host: Default::default(),
        })),
    );
    insta::assert_snapshot!("no_probe_processes", draw(&app, 100, 10).backend());
    key(&mut app, KeyCode::Char('2'));
    insta::assert_snapshot!("no_probe_errors", draw(&app, 100, 10).backend());
}

#[test]
fn no_color_means_no_colour() {
    let mut app = fixture::detail_app();
    app.color = false;
    for screen in ['1', '2', '3'] {
        key(&mut app, KeyCode::Char(screen));
        let terminal = draw(&app, 120, 30);
        for cell in terminal.backend().buffer().content() {
            assert_eq!(
                (cell.fg, cell.bg),
                (Color::Reset, Color::Reset),
                "screen {screen}"
            );
        }
    }
}

#[test]
fn colours_are_the_sixteen_every_terminal_has() {
    let app = fixture::detail_app();
    for cell in draw(&app, 120, 34).backend().buffer().content() {
        for color in [cell.fg, cell.bg] {
            assert!(
                !matches!(color, Color::Rgb(..) | Color::Indexed(_)),
                "{color:?} needs more than 16 colours"
            );
        }
    }
}

#[test]
fn any_size_renders_even_tiny_ones() {
    let mut app = fixture::detail_app();
    for (w, h) in [(1, 1), (10, 3), (40, 8), (300, 100)] {
        for screen in ['1', '2', '3'] {
            key(&mut app, KeyCode::Char(screen));
            draw(&app, w, h);
        }
        key(&mut app, KeyCode::Char('?'));
        draw(&app, w, h);
        key(&mut app, KeyCode::Esc);
    }
}

#[test]
fn ten_thousand_processes_render_only_what_fits() {
    let mut app = App::new(None, true, true);
    let mut snapshot = fixture::snapshot(1000, 100);
    let template = snapshot.processes[4].clone();
    snapshot.processes = (1..=10_000)
        .map(|pid| hostscope_core::procfs::ProcessInfo {
            pid,
            ..template.clone()
        })
        .collect();
    update(
        &mut app,
        Msg::Refreshed(Box::new(Refresh {
            snapshot,
            host: Default::default(),
        })),
    );
    assert_eq!(app.lines.len(), 10_000);
    key(&mut app, KeyCode::End);
    let terminal = draw(&app, 120, 20);
    assert_clean(terminal.backend().buffer());
    let text = terminal.backend().to_string();
    assert!(
        text.contains("10000"),
        "the last process is on screen:\n{text}"
    );
}

#[test]
fn chains_screen() {
    let mut app = fixture::chains_app();
    let terminal = draw(&app, 120, 20);
    assert_clean(terminal.backend().buffer());
    insta::assert_snapshot!(terminal.backend());
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Down);
    insta::assert_snapshot!("chains_tree_selected", draw(&app, 120, 20).backend());
}
