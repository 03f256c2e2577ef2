//! All of the UI's state, and the one function that changes it.
//!
//! [`update`] takes one [`Msg`] (a key, a refresh, a batch of live events)
//! and returns the [`Command`]s the event loop must carry out (quit, tell
//! the probe what to show in full, send a signal). It does no I/O, so every
//! key and every refresh is tested here, message by message.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use hostscope_core::analysis::why_missing::ProcessReport;
use hostscope_core::host::HostSample;
use hostscope_core::procfs::{Detail, SIGNALS, Snapshot};

use crate::chains::{self, Chains};
use crate::feed::ProbeControl;
use crate::live::{Failures, GroupKey, LiveBatch, SocketNews, Stream};
use crate::table::{self, Arrangement, Column, Line, Row};
use crate::text;

/// The screens, in the order of their number keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Processes,
    Errors,
    Syscalls,
    Chains,
    Detail,
}

impl Screen {
    /// The tabs, with their keys; Detail is reached with Enter.
    pub const TABS: [(Screen, char, &'static str); 4] = [
        (Screen::Processes, '1', "Processes"),
        (Screen::Errors, '2', "Errors"),
        (Screen::Syscalls, '3', "Syscalls"),
        (Screen::Chains, '4', "Chains"),
    ];
}

/// What the detail view shows beside the failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Files,
    Sockets,
    Environment,
    Limits,
}

impl Pane {
    pub const ALL: [Pane; 4] = [Pane::Files, Pane::Sockets, Pane::Environment, Pane::Limits];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Files => "Files",
            Pane::Sockets => "Sockets",
            Pane::Environment => "Environment",
            Pane::Limits => "Limits",
        }
    }

    fn next(self) -> Pane {
        let i = Pane::ALL.iter().position(|&p| p == self).unwrap_or(0);
        Pane::ALL[(i + 1) % Pane::ALL.len()]
    }
}

/// A box over the screen that takes the keys until it closes.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help,
    /// Choosing a signal for a process, then confirming.
    Signal {
        pid: u32,
        start_ticks: u64,
        command: String,
        /// Index into [`SIGNALS`].
        choice: usize,
    },
}

/// Which text field the keys are typed into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Editing {
    ProcessFilter,
    StreamFilter,
}

/// The process in the detail view.
#[derive(Debug, Clone, PartialEq)]
pub struct Focus {
    pub pid: u32,
    /// Which process of that pid, for its failures (see
    /// [`GroupKey::epoch`]).
    pub epoch: u32,
    /// Its start time: a pid that comes back with another one is another
    /// process.
    pub start_ticks: Option<u64>,
    /// The name it had in the table, escaped.
    pub command: String,
    pub detail: Option<Box<Detail>>,
    /// It exited (or its pid now names another process).
    pub gone: bool,
    /// Its recent lookups, classified like `why-missing`.
    pub report: Option<Box<ProcessReport>>,
    pub pane: Pane,
    /// First line shown in the pane.
    pub pane_scroll: usize,
    /// Its calls, in full, since it was opened.
    pub stream: Stream,
}

/// The probe as the header shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbeStatus {
    /// Why it is not attached; `None` when it is.
    pub unavailable: Option<String>,
    pub delivered: u64,
    /// Records per second over the last interval.
    pub rate: f64,
    delivered_at_refresh: u64,
    /// Events lost since start (ring buffer full, tables full).
    pub lost: u64,
    /// Strings cut at the probe's limit.
    pub truncated: u64,
    /// Arguments whose memory could not be read.
    pub unreadable: u64,
    /// Records that did not decode.
    pub malformed: u64,
}

/// The whole state of the UI.
#[derive(Debug)]
pub struct App {
    pub screen: Screen,
    pub overlay: Option<Overlay>,
    pub editing: Option<Editing>,
    pub host: Option<HostSample>,
    /// Per-core use over the last interval, in percent.
    pub host_cpu: Vec<f64>,
    /// The last snapshot (the next one's %CPU is measured against it).
    pub snapshot: Option<Snapshot>,
    pub rows: Vec<Row>,
    pub arrangement: Arrangement,
    /// `rows` as arranged: what the table shows.
    pub lines: Vec<Line>,
    /// Index into `lines`.
    pub selected: usize,
    /// The process the cursor follows across refreshes and re-sorts, once
    /// the user has moved it; until then the cursor stays on the top line.
    pub selected_pid: Option<u32>,
    pub failures: Failures,
    /// The group under the Errors screen's cursor (the list is re-ranked as
    /// failures come in: the cursor stays on its group); `None`: the top.
    pub error_selected: Option<GroupKey>,
    /// Every call the probe delivered, host-wide (the Syscalls screen).
    pub stream: Stream,
    pub stream_filter: String,
    pub focus: Option<Focus>,
    /// Requests and their chains, from socket calls (the Chains screen).
    pub chains: Chains,
    pub probe: ProbeStatus,
    /// What the probe was last told to show in full.
    probe_sent: ProbeControl,
    /// The last thing that happened, for the status line.
    pub message: Option<String>,
    /// Running as root: the environment is shown, signals reach anyone.
    pub root: bool,
    pub color: bool,
}

/// What happened.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// A new procfs snapshot and host sample.
    Refreshed(Box<Refresh>),
    /// The focused process, read again.
    Detail(Box<DetailUpdate>),
    /// Events from the probe.
    Live(LiveBatch),
    /// The outcome of a [`Command::Signal`], for the status line.
    Signalled(Result<String, String>),
    /// The probe stopped sending, for this reason.
    ProbeStopped(String),
    /// Something the user should know, for the status line.
    Notice(String),
}

#[derive(Debug, Clone)]
pub struct Refresh {
    pub snapshot: Snapshot,
    pub host: HostSample,
}

#[derive(Debug, Clone)]
pub struct DetailUpdate {
    pub pid: u32,
    /// `None`: the process is gone.
    pub detail: Option<Detail>,
    pub report: Option<ProcessReport>,
}

/// What the event loop must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Quit,
    Probe(ProbeControl),
    /// Read the focused process now rather than at the next refresh.
    ReadDetail,
    /// Send `signal` to `pid` if it is still the process that started at
    /// `start_ticks`.
    Signal {
        pid: u32,
        start_ticks: u64,
        signal: i32,
    },
}

impl App {
    pub fn new(probe_unavailable: Option<String>, root: bool, color: bool) -> App {
        App {
            screen: Screen::Processes,
            overlay: None,
            editing: None,
            host: None,
            host_cpu: Vec::new(),
            snapshot: None,
            rows: Vec::new(),
            arrangement: Arrangement::default(),
            lines: Vec::new(),
            selected: 0,
            selected_pid: None,
            failures: Failures::default(),
            error_selected: None,
            stream: Stream::default(),
            stream_filter: String::new(),
            focus: None,
            chains: Chains::default(),
            probe: ProbeStatus {
                unavailable: probe_unavailable,
                ..ProbeStatus::default()
            },
            probe_sent: ProbeControl::ShowInFull {
                focus: None,
                everything: false,
                sockets: false,
            },
            message: None,
            root,
            color,
        }
    }

    /// The row under the cursor.
    pub fn selected_row(&self) -> Option<&Row> {
        match self.lines.get(self.selected)? {
            Line::Process { index, .. } => self.rows.get(*index),
            Line::Group { .. } => None,
        }
    }

    fn probe_wish(&self) -> ProbeControl {
        ProbeControl::ShowInFull {
            focus: match (self.screen, &self.focus) {
                (Screen::Detail, Some(focus)) if !focus.gone => Some(focus.pid),
                _ => None,
            },
            everything: self.screen == Screen::Syscalls,
            sockets: self.screen == Screen::Chains,
        }
    }

    fn rearrange(&mut self) {
        self.lines = table::arrange(&self.rows, &self.arrangement);
        // Keep the cursor on the same process when it is still shown.
        let at = self.selected_pid.and_then(|pid| {
            self.lines.iter().position(
                |l| matches!(l, Line::Process { index, .. } if self.rows[*index].pid == pid),
            )
        });
        self.selected = at.unwrap_or(self.selected.min(self.lines.len().saturating_sub(1)));
    }

    fn move_cursor(&mut self, by: isize) {
        let last = self.lines.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(by).min(last);
        // Back at the top, the cursor stays there (on whatever is busiest).
        self.selected_pid = if self.selected == 0 {
            None
        } else {
            self.selected_row().map(|r| r.pid)
        };
    }

    fn open_detail(&mut self, pid: u32, epoch: u32, start_ticks: Option<u64>, command: String) {
        self.focus = Some(Focus {
            pid,
            epoch,
            start_ticks,
            command,
            detail: None,
            gone: false,
            report: None,
            pane: Pane::Files,
            pane_scroll: 0,
            stream: Stream::default(),
        });
        self.screen = Screen::Detail;
    }

    fn ask_signal(&mut self) {
        let target = match self.screen {
            Screen::Detail => self
                .focus
                .as_ref()
                .filter(|f| !f.gone)
                .and_then(|f| Some((f.pid, f.start_ticks?, f.command.clone()))),
            Screen::Processes => self
                .selected_row()
                .and_then(|r| Some((r.pid, r.start_ticks?, r.command.clone()))),
            _ => None,
        };
        match target {
            Some((pid, start_ticks, command)) => {
                self.overlay = Some(Overlay::Signal {
                    pid,
                    start_ticks,
                    command,
                    choice: 0,
                });
            }
            None => self.message = Some("no process selected to signal".to_owned()),
        }
    }
}

/// Lines a page key moves.
const PAGE: isize = 20;

/// Applies `msg` to `app`; returns what the event loop must do.
pub fn update(app: &mut App, msg: Msg) -> Vec<Command> {
    let mut commands = Vec::new();
    match msg {
        Msg::Key(key) => key_pressed(app, key, &mut commands),
        Msg::Refreshed(refresh) => refreshed(app, *refresh),
        Msg::Detail(update) => detail_read(app, *update),
        Msg::Live(batch) => live(app, batch),
        Msg::Signalled(outcome) => {
            app.message = Some(match outcome {
                Ok(text) | Err(text) => text,
            });
        }
        Msg::ProbeStopped(reason) => app.probe.unavailable = Some(reason),
        Msg::Notice(text) => app.message = Some(text),
    }
    let wish = app.probe_wish();
    if wish != app.probe_sent && app.probe.unavailable.is_none() {
        app.probe_sent = wish;
        commands.push(Command::Probe(wish));
    }
    commands
}

fn refreshed(app: &mut App, Refresh { snapshot, host }: Refresh) {
    let elapsed = app
        .snapshot
        .as_ref()
        .and_then(|prev| snapshot.taken_at.checked_sub(prev.taken_at))
        .map_or(0.0, |d| d.as_secs_f64());
    if let Some(prev) = &app.host {
        app.host_cpu = host.cpu_percent_since(prev);
    }
    app.failures.refresh(elapsed);
    if elapsed > 0.0 {
        app.probe.rate = app
            .probe
            .delivered
            .saturating_sub(app.probe.delivered_at_refresh) as f64
            / elapsed;
    }
    app.probe.delivered_at_refresh = app.probe.delivered;
    let total_memory = host.memory.map(|m| m.total);
    let probed = app.probe.unavailable.is_none();
    app.rows = snapshot
        .processes
        .iter()
        .map(|p| {
            let errors = probed.then(|| app.failures.rate(p.pid));
            Row::new(p, &snapshot, app.snapshot.as_ref(), total_memory, errors)
        })
        .collect();
    app.snapshot = Some(snapshot);
    app.host = Some(host);
    app.rearrange();
    let processes = app.snapshot.as_ref().map_or(&[][..], |s| &s.processes[..]);
    app.chains.rebuild(|pid| {
        // Sorted by pid.
        processes
            .binary_search_by_key(&pid, |p| p.pid)
            .ok()
            .and_then(|i| processes[i].origin.clone())
    });
}

fn detail_read(app: &mut App, update: DetailUpdate) {
    let Some(focus) = app.focus.as_mut().filter(|f| f.pid == update.pid) else {
        return;
    };
    match update.detail {
        Some(detail) if focus.start_ticks.is_none() || detail.start_ticks == focus.start_ticks => {
            focus.start_ticks = detail.start_ticks;
            focus.detail = Some(Box::new(detail));
        }
        // Gone, or the pid was reused: keep what we had, marked.
        _ => focus.gone = true,
    }
    if let Some(report) = update.report {
        focus.report = Some(Box::new(report));
    }
}

fn live(app: &mut App, batch: LiveBatch) {
    app.probe.delivered = batch.delivered;
    app.probe.lost = batch.losses.events_lost();
    app.probe.truncated = batch.losses.truncated;
    app.probe.unreadable = batch.losses.unreadable;
    app.probe.malformed = batch.malformed;
    for record in &batch.records {
        app.failures.observe(record);
        if let Some(focus) = app
            .focus
            .as_mut()
            .filter(|f| f.pid == record.pid && !f.gone)
        {
            focus.stream.push(record.pid, record.line.clone());
        }
        app.stream.push(
            record.pid,
            format!("{:<15} {}", text::clean(&record.comm), record.line),
        );
    }
    for news in &batch.sockets {
        match news {
            SocketNews::Call(call) => app.chains.observe(call),
            SocketNews::Closed(close) => app.chains.closed(close),
            SocketNews::Opened(open) => app.chains.opened(open),
        }
    }
    for pid in batch.exited {
        app.failures.exited(pid);
        if let Some(focus) = app.focus.as_mut().filter(|f| f.pid == pid) {
            focus.gone = true;
        }
    }
}

fn key_pressed(app: &mut App, key: KeyEvent, commands: &mut Vec<Command>) {
    if key.kind == KeyEventKind::Release {
        return;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        commands.push(Command::Quit);
        return;
    }
    if let Some(overlay) = app.overlay.clone() {
        overlay_key(app, overlay, key, commands);
        return;
    }
    if let Some(editing) = app.editing {
        edit_key(app, editing, key);
        return;
    }
    app.message = None;
    match key.code {
        KeyCode::Char('q') | KeyCode::F(10) => {
            commands.push(Command::Quit);
            return;
        }
        KeyCode::Char('?') | KeyCode::F(1) => {
            app.overlay = Some(Overlay::Help);
            return;
        }
        KeyCode::Char(c @ '1'..='9') => {
            if let Some(&(screen, ..)) = Screen::TABS.iter().find(|t| t.1 == c) {
                app.screen = screen;
            }
            return;
        }
        _ => {}
    }
    match app.screen {
        Screen::Processes => processes_key(app, key, commands),
        Screen::Detail => detail_key(app, key),
        Screen::Errors => errors_key(app, key, commands),
        Screen::Syscalls => syscalls_key(app, key),
        Screen::Chains => chains_key(app, key, commands),
    }
}

fn overlay_key(app: &mut App, overlay: Overlay, key: KeyEvent, commands: &mut Vec<Command>) {
    let Overlay::Signal {
        pid,
        start_ticks,
        command,
        choice,
    } = overlay
    else {
        app.overlay = None;
        return;
    };
    let choose = |choice: usize| {
        Some(Overlay::Signal {
            pid,
            start_ticks,
            command: command.clone(),
            choice,
        })
    };
    match key.code {
        KeyCode::Up => app.overlay = choose(choice.saturating_sub(1)),
        KeyCode::Down => app.overlay = choose((choice + 1).min(SIGNALS.len() - 1)),
        KeyCode::Char(c @ '1'..='9') => {
            let i = usize::from(c as u8 - b'1');
            if i < SIGNALS.len() {
                app.overlay = choose(i);
            }
        }
        KeyCode::Enter | KeyCode::Char('y') => {
            app.overlay = None;
            commands.push(Command::Signal {
                pid,
                start_ticks,
                signal: SIGNALS[choice].0,
            });
        }
        KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('q') => {
            app.overlay = None;
            app.message = Some("no signal sent".to_owned());
        }
        _ => {}
    }
}

fn edit_key(app: &mut App, editing: Editing, key: KeyEvent) {
    let field = match editing {
        Editing::ProcessFilter => &mut app.arrangement.filter,
        Editing::StreamFilter => &mut app.stream_filter,
    };
    match key.code {
        KeyCode::Enter => app.editing = None,
        KeyCode::Esc => {
            field.clear();
            app.editing = None;
        }
        KeyCode::Backspace => {
            field.pop();
        }
        KeyCode::Char(c) if !c.is_control() => field.push(c),
        _ => return,
    }
    if editing == Editing::ProcessFilter {
        app.rearrange();
    }
}

fn sort_by(app: &mut App, column: Column) {
    if app.arrangement.sort == column {
        app.arrangement.descending = !app.arrangement.descending;
    } else {
        app.arrangement.sort = column;
        app.arrangement.descending = column.descending_first();
    }
    app.rearrange();
}

fn processes_key(app: &mut App, key: KeyEvent, commands: &mut Vec<Command>) {
    match key.code {
        KeyCode::Up => app.move_cursor(-1),
        KeyCode::Down => app.move_cursor(1),
        KeyCode::PageUp => app.move_cursor(-PAGE),
        KeyCode::PageDown => app.move_cursor(PAGE),
        KeyCode::Home => app.move_cursor(isize::MIN / 2),
        KeyCode::End => app.move_cursor(isize::MAX / 2),
        KeyCode::Char('/') | KeyCode::F(3) | KeyCode::F(4) => {
            app.editing = Some(Editing::ProcessFilter)
        }
        KeyCode::Esc if !app.arrangement.filter.is_empty() => {
            app.arrangement.filter.clear();
            app.rearrange();
        }
        KeyCode::Char('>') | KeyCode::Char('.') | KeyCode::F(6) => {
            let next = app.arrangement.sort.next();
            sort_by(app, next);
        }
        KeyCode::Char('<') | KeyCode::Char(',') => {
            let prev = app.arrangement.sort.prev();
            sort_by(app, prev);
        }
        KeyCode::Char('P') => sort_by(app, Column::Cpu),
        KeyCode::Char('M') => sort_by(app, Column::Mem),
        KeyCode::Char('N') => sort_by(app, Column::Pid),
        KeyCode::Char('E') => sort_by(app, Column::Errors),
        KeyCode::Char('U') => sort_by(app, Column::User),
        KeyCode::Char('I') => {
            app.arrangement.descending = !app.arrangement.descending;
            app.rearrange();
        }
        KeyCode::Char('t') | KeyCode::F(5) => {
            app.arrangement.tree = !app.arrangement.tree;
            app.rearrange();
        }
        KeyCode::Char('g') => {
            app.arrangement.group = !app.arrangement.group;
            app.rearrange();
        }
        KeyCode::Char('k') | KeyCode::F(9) => app.ask_signal(),
        KeyCode::Enter => {
            if let Some(row) = app.selected_row() {
                let (pid, start, command) = (row.pid, row.start_ticks, row.command.clone());
                let epoch = app.failures.epoch(pid);
                app.open_detail(pid, epoch, start, command);
                commands.push(Command::ReadDetail);
            }
        }
        _ => {}
    }
}

fn detail_key(app: &mut App, key: KeyEvent) {
    let Some(focus) = app.focus.as_mut() else {
        app.screen = Screen::Processes;
        return;
    };
    match key.code {
        KeyCode::Esc | KeyCode::Backspace | KeyCode::Left => app.screen = Screen::Processes,
        KeyCode::Tab => {
            focus.pane = focus.pane.next();
            focus.pane_scroll = 0;
        }
        KeyCode::Char('p') | KeyCode::Char(' ') => focus.stream.toggle_pause(),
        KeyCode::Up => focus.stream.scroll_by(1),
        KeyCode::Down => focus.stream.scroll_by(-1),
        KeyCode::PageUp => focus.stream.scroll_by(PAGE),
        KeyCode::PageDown => focus.stream.scroll_by(-PAGE),
        KeyCode::End => focus.stream.follow(),
        KeyCode::Char('[') => focus.pane_scroll = focus.pane_scroll.saturating_sub(5),
        KeyCode::Char(']') => focus.pane_scroll += 5,
        KeyCode::Char('k') | KeyCode::F(9) => app.ask_signal(),
        _ => {}
    }
}

/// Index of the Errors screen's cursor in `ranked`.
pub fn error_cursor(app: &App, ranked: &[(&GroupKey, &crate::live::Group)]) -> usize {
    app.error_selected
        .as_ref()
        .and_then(|key| ranked.iter().position(|(k, _)| *k == key))
        .unwrap_or(0)
}

fn errors_key(app: &mut App, key: KeyEvent, commands: &mut Vec<Command>) {
    let ranked = app.failures.ranked();
    if ranked.is_empty() {
        return;
    }
    let at = error_cursor(app, &ranked);
    let last = ranked.len() - 1;
    let to = match key.code {
        KeyCode::Up => at.saturating_sub(1),
        KeyCode::Down => (at + 1).min(last),
        KeyCode::PageUp => at.saturating_sub(PAGE as usize),
        KeyCode::PageDown => (at + PAGE as usize).min(last),
        KeyCode::Home => 0,
        KeyCode::End => last,
        KeyCode::Enter => {
            let (key, group) = ranked[at];
            let (pid, epoch, exited) = (key.pid, key.epoch, group.exited);
            let row = app.rows.iter().find(|r| r.pid == pid);
            let listed = row.is_some();
            let start = row.and_then(|r| r.start_ticks);
            let command = row.map_or_else(|| text::clean(&group.comm), |r| r.command.clone());
            app.open_detail(pid, epoch, start, command);
            // The process is gone, or is not the one that failed: show the
            // failures, and nothing of whoever holds the pid now.
            if exited || !listed {
                if let Some(focus) = app.focus.as_mut() {
                    focus.gone = true;
                }
            } else {
                commands.push(Command::ReadDetail);
            }
            return;
        }
        _ => return,
    };
    app.error_selected = Some(ranked[to].0.clone());
}

fn chains_key(app: &mut App, key: KeyEvent, commands: &mut Vec<Command>) {
    let c = &mut app.chains;
    let (rows, hops) = (c.roots.len(), c.hops().len());
    let step =
        |at: usize, by: isize, len: usize| at.saturating_add_signed(by).min(len.saturating_sub(1));
    match (key.code, c.pane) {
        (KeyCode::Tab, _) => {
            c.pane = match c.pane {
                chains::Pane::List => chains::Pane::Tree,
                chains::Pane::Tree => chains::Pane::List,
            };
            c.hop = 0;
        }
        (KeyCode::Up, chains::Pane::List) => c.selected = step(c.selected, -1, rows),
        (KeyCode::Down, chains::Pane::List) => c.selected = step(c.selected, 1, rows),
        (KeyCode::PageUp, chains::Pane::List) => c.selected = step(c.selected, -PAGE, rows),
        (KeyCode::PageDown, chains::Pane::List) => c.selected = step(c.selected, PAGE, rows),
        (KeyCode::Up, chains::Pane::Tree) => c.hop = step(c.hop, -1, hops),
        (KeyCode::Down, chains::Pane::Tree) => c.hop = step(c.hop, 1, hops),
        (KeyCode::Char('r'), _) => {
            c.order = chains::Order::Recent;
            c.sort();
        }
        (KeyCode::Char('l'), _) => {
            c.order = chains::Order::Latency;
            c.sort();
        }
        (KeyCode::Char('s'), _) => {
            c.order = chains::Order::Status;
            c.sort();
        }
        (KeyCode::Enter, _) => {
            let index = if c.pane == chains::Pane::Tree {
                c.hop
            } else {
                0
            };
            let Some(pid) = c.hops().get(index).map(|(_, hop)| hop.main().pid) else {
                return;
            };
            let row = app.rows.iter().find(|r| r.pid == pid);
            let listed = row.is_some();
            let start = row.and_then(|r| r.start_ticks);
            let command = row.map_or_else(|| pid.to_string(), |r| r.command.clone());
            let epoch = app.failures.epoch(pid);
            app.open_detail(pid, epoch, start, command);
            if listed {
                commands.push(Command::ReadDetail);
            } else if let Some(focus) = app.focus.as_mut() {
                focus.gone = true;
            }
        }
        _ => {}
    }
}

fn syscalls_key(app: &mut App, key: KeyEvent) {
    let stream = &mut app.stream;
    match key.code {
        KeyCode::Char('/') | KeyCode::F(3) | KeyCode::F(4) => {
            app.editing = Some(Editing::StreamFilter)
        }
        KeyCode::Esc => app.stream_filter.clear(),
        KeyCode::Char('p') | KeyCode::Char(' ') => stream.toggle_pause(),
        KeyCode::Up => stream.scroll_by(1),
        KeyCode::Down => stream.scroll_by(-1),
        KeyCode::PageUp => stream.scroll_by(PAGE),
        KeyCode::PageDown => stream.scroll_by(-PAGE),
        KeyCode::End => stream.follow(),
        _ => {}
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
