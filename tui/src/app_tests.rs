//! `update`, message by message.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::view::fixture;

fn key(app: &mut App, code: KeyCode) -> Vec<Command> {
    update(app, Msg::Key(KeyEvent::from(code)))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn shown(app: &App) -> Vec<u32> {
    app.lines
        .iter()
        .filter_map(|l| match l {
            Line::Process { index, .. } => Some(app.rows[*index].pid),
            Line::Group { .. } => None,
        })
        .collect()
}

fn show(focus: Option<u32>, everything: bool) -> Command {
    Command::Probe(ProbeControl::ShowInFull {
        focus,
        everything,
        sockets: false,
    })
}

#[test]
fn a_refresh_makes_rows_with_cpu_since_the_last_one_and_error_rates() {
    let app = fixture::app();
    let row = |pid| app.rows.iter().find(|r| r.pid == pid).expect("row");
    // 2 s between snapshots; nginx went from 100 to 200 ticks at 100 Hz.
    assert_eq!(row(30).cpu, Some(50.0));
    assert_eq!(row(66).cpu, Some(100.0));
    // Six failures over the 2 s interval.
    assert_eq!(row(66).errors, Some(3.0));
    assert_eq!(row(1).errors, Some(0.0));
    assert_eq!(
        row(66).command,
        "./evil\\33]0;pwned\\7 \\u{202e}txt.exe \\377\\376"
    );
    assert_eq!(app.host_cpu, vec![25.0, 12.5]);
    assert_eq!(app.probe.rate, 1234.0 / 2.0);
    assert_eq!(shown(&app), [40, 66, 30, 1, 2], "busiest first");
}

#[test]
fn the_cursor_stays_on_its_process_when_the_order_changes() {
    let mut app = fixture::app();
    key(&mut app, KeyCode::Down);
    assert_eq!(app.selected_pid, Some(66));
    key(&mut app, KeyCode::Char('N'));
    assert_eq!(shown(&app), [1, 2, 30, 40, 66]);
    assert_eq!(app.selected_row().map(|r| r.pid), Some(66));
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.selected_pid, Some(66), "clamped at the end");
    key(&mut app, KeyCode::Home);
    assert_eq!(app.selected_pid, None, "at the top it follows no process");
    key(&mut app, KeyCode::Char('P'));
    assert_eq!(app.selected_row().map(|r| r.pid), Some(40), "the top line");
}

#[test]
fn sort_keys_choose_a_column_and_repeat_to_invert() {
    let mut app = fixture::app();
    key(&mut app, KeyCode::Char('N'));
    assert_eq!(
        (app.arrangement.sort, app.arrangement.descending),
        (Column::Pid, false)
    );
    key(&mut app, KeyCode::Char('N'));
    assert_eq!(shown(&app), [66, 40, 30, 2, 1]);
    key(&mut app, KeyCode::Char('I'));
    assert_eq!(shown(&app), [1, 2, 30, 40, 66]);
    key(&mut app, KeyCode::Char('M'));
    assert_eq!(
        (app.arrangement.sort, app.arrangement.descending),
        (Column::Mem, true)
    );
    key(&mut app, KeyCode::Char('>'));
    assert_eq!(app.arrangement.sort, Column::State);
    key(&mut app, KeyCode::Char('<'));
    assert_eq!(app.arrangement.sort, Column::Mem);
    key(&mut app, KeyCode::Char('E'));
    assert_eq!(shown(&app)[0], 66, "the failing process first");
}

#[test]
fn the_filter_is_typed_live_and_escape_clears_it() {
    let mut app = fixture::app();
    key(&mut app, KeyCode::Char('/'));
    assert_eq!(app.editing, Some(Editing::ProcessFilter));
    typed(&mut app, "dockerq");
    assert!(shown(&app).is_empty(), "q is text while typing, not quit");
    key(&mut app, KeyCode::Backspace);
    assert_eq!(shown(&app), [40]);
    key(&mut app, KeyCode::Enter);
    assert_eq!((app.editing, shown(&app)), (None, vec![40]));
    key(&mut app, KeyCode::Esc);
    assert_eq!(shown(&app).len(), 5);
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "www");
    key(&mut app, KeyCode::Esc);
    assert_eq!((app.editing, shown(&app).len()), (None, 5));
}

#[test]
fn the_detail_asks_for_its_process_in_full_and_back_stops_it() {
    let mut app = fixture::app();
    let commands = key(&mut app, KeyCode::Enter);
    assert_eq!(app.screen, Screen::Detail);
    let pid = app.focus.as_ref().map(|f| f.pid).expect("focused");
    assert_eq!(pid, 40);
    assert_eq!(commands, [Command::ReadDetail, show(Some(40), false)]);
    assert!(key(&mut app, KeyCode::Tab).is_empty());
    assert_eq!(app.focus.as_ref().map(|f| f.pane), Some(Pane::Sockets));
    assert_eq!(key(&mut app, KeyCode::Esc), [show(None, false)]);
    assert_eq!(app.screen, Screen::Processes);
}

#[test]
fn the_syscalls_screen_asks_for_everything_only_while_open() {
    let mut app = fixture::app();
    assert_eq!(key(&mut app, KeyCode::Char('3')), [show(None, true)]);
    assert!(key(&mut app, KeyCode::Char('p')).is_empty());
    assert!(app.stream.paused());
    assert_eq!(key(&mut app, KeyCode::Char('2')), [show(None, false)]);
}

#[test]
fn without_the_probe_nothing_is_asked_of_it_and_errors_are_unknown() {
    let mut app = App::new(Some("not root".into()), false, true);
    update(
        &mut app,
        Msg::Refreshed(Box::new(Refresh {
            snapshot: fixture::snapshot(1000, 100),
            host: Default::default(),
        })),
    );
    assert!(app.rows.iter().all(|r| r.errors.is_none()));
    assert_eq!(key(&mut app, KeyCode::Enter), [Command::ReadDetail]);
    assert!(key(&mut app, KeyCode::Char('3')).is_empty());
}

#[test]
fn a_signal_is_chosen_confirmed_and_names_the_process_start() {
    let mut app = fixture::app();
    key(&mut app, KeyCode::Char('k'));
    assert!(matches!(
        app.overlay,
        Some(Overlay::Signal {
            pid: 40,
            start_ticks: 4000,
            choice: 0,
            ..
        })
    ));
    assert!(
        key(&mut app, KeyCode::Char('q')).is_empty(),
        "q cancels, it does not quit"
    );
    assert_eq!(app.overlay, None);
    key(&mut app, KeyCode::Char('k'));
    key(&mut app, KeyCode::Down);
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        [Command::Signal {
            pid: 40,
            start_ticks: 4000,
            signal: libc::SIGKILL
        }]
    );
    update(
        &mut app,
        Msg::Signalled(Ok("sent SIGKILL to pid 40".into())),
    );
    assert_eq!(app.message.as_deref(), Some("sent SIGKILL to pid 40"));
    key(&mut app, KeyCode::Char('k'));
    key(&mut app, KeyCode::Char('4'));
    assert!(matches!(
        app.overlay,
        Some(Overlay::Signal { choice: 3, .. })
    ));
}

#[test]
fn the_focused_stream_gets_only_its_process_and_an_exit_ends_the_focus() {
    let mut app = fixture::detail_app();
    let focus = app.focus.as_ref().expect("focused");
    assert_eq!((focus.pid, focus.stream.len()), (30, 2));
    assert_eq!(app.stream.len(), 9, "the host stream has everyone's");
    assert!(focus.detail.is_some());
    let commands = update(
        &mut app,
        Msg::Live(LiveBatch {
            exited: vec![30],
            ..LiveBatch::default()
        }),
    );
    assert!(app.focus.as_ref().is_some_and(|f| f.gone));
    assert_eq!(commands, [show(None, false)], "the probe stops sending it");
}

#[test]
fn a_reused_pid_is_not_taken_for_the_focused_process() {
    let mut app = fixture::detail_app();
    let mut other = fixture::nginx_detail();
    other.start_ticks = Some(999_999);
    update(
        &mut app,
        Msg::Detail(Box::new(DetailUpdate {
            pid: 30,
            detail: Some(other),
            report: None,
        })),
    );
    let focus = app.focus.as_ref().expect("focused");
    assert!(focus.gone);
    assert_eq!(
        focus.detail.as_ref().and_then(|d| d.start_ticks),
        Some(3000)
    );
}

#[test]
fn quit_from_anywhere_but_a_text_field() {
    let mut app = fixture::app();
    assert_eq!(key(&mut app, KeyCode::Char('q')), [Command::Quit]);
    assert_eq!(key(&mut app, KeyCode::F(10)), [Command::Quit]);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    key(&mut app, KeyCode::Char('/'));
    assert_eq!(update(&mut app, Msg::Key(ctrl_c)), [Command::Quit]);
}

#[test]
fn the_errors_screen_opens_the_detail_of_the_selected_failure() {
    let mut app = fixture::app();
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Down);
    let commands = key(&mut app, KeyCode::Enter);
    assert_eq!(app.focus.as_ref().map(|f| f.pid), Some(30));
    assert_eq!(commands, [Command::ReadDetail, show(Some(30), false)]);
}

#[test]
fn the_errors_cursor_stays_on_its_group_when_the_ranking_changes() {
    let mut app = fixture::app();
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Down);
    let chosen = app.error_selected.clone().expect("a group");
    assert_eq!(chosen.pid, 30);
    // pid 30 fails a lot more: its group moves to the top, and the cursor
    // goes with it.
    let records = (0..20)
        .map(|i| fixture::failure(30, "nginx", "/var/www/secret", libc::EACCES, 100 + i))
        .collect();
    update(
        &mut app,
        Msg::Live(LiveBatch {
            records,
            ..LiveBatch::default()
        }),
    );
    update(
        &mut app,
        Msg::Refreshed(Box::new(Refresh {
            snapshot: fixture::snapshot(1004, 300),
            host: Default::default(),
        })),
    );
    let ranked = app.failures.ranked();
    assert_eq!(ranked[0].0, &chosen);
    assert_eq!(error_cursor(&app, &ranked), 0);
}

#[test]
fn an_exited_process_opened_from_errors_shows_its_failures_and_asks_nothing() {
    let mut app = fixture::app();
    update(
        &mut app,
        Msg::Live(LiveBatch {
            exited: vec![66],
            ..LiveBatch::default()
        }),
    );
    key(&mut app, KeyCode::Char('2'));
    let commands = key(&mut app, KeyCode::Enter);
    let focus = app.focus.as_ref().expect("focused");
    assert_eq!((focus.pid, focus.epoch, focus.gone), (66, 0, true));
    assert_eq!(app.failures.of(66, focus.epoch).len(), 1);
    assert!(
        commands.is_empty(),
        "nothing read, nothing asked of the probe: {commands:?}"
    );
}

#[test]
fn a_probe_that_stops_says_so() {
    let mut app = fixture::app();
    key(&mut app, KeyCode::Char('3'));
    update(&mut app, Msg::ProbeStopped("the probe failed: gone".into()));
    assert_eq!(
        app.probe.unavailable.as_deref(),
        Some("the probe failed: gone")
    );
    assert!(
        key(&mut app, KeyCode::Char('1')).is_empty(),
        "nothing is sent to it"
    );
}

#[test]
fn the_chains_screen_asks_for_socket_calls_and_enter_opens_a_hop_s_process() {
    let mut app = fixture::app();
    assert_eq!(
        key(&mut app, KeyCode::Char('4')),
        [Command::Probe(ProbeControl::ShowInFull {
            focus: None,
            everything: false,
            sockets: true
        })]
    );
    let mut app = fixture::chains_app();
    assert_eq!(app.chains.roots.len(), 1);
    assert_eq!(app.chains.hops().len(), 3);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Down);
    let commands = key(&mut app, KeyCode::Enter);
    assert_eq!(app.screen, Screen::Detail);
    assert_eq!(app.focus.as_ref().map(|f| f.pid), Some(40), "payments' hop");
    assert!(commands.contains(&Command::ReadDetail) || app.focus.as_ref().is_some_and(|f| f.gone));
    assert_eq!(
        commands.last(),
        Some(&Command::Probe(ProbeControl::ShowInFull {
            focus: app.focus.as_ref().filter(|f| !f.gone).map(|f| f.pid),
            everything: false,
            sockets: false
        }))
    );
}
