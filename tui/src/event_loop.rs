//! The one loop: input, the refresh tick and the probe's batches, each
//! turned into a [`Msg`] for [`update`]; then the [`Command`]s it returns
//! are carried out here, where the I/O is. Drawing follows input and
//! refreshes at once, live events at most ten times a second.

use std::io;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use hostscope_core::analysis::why_missing::{Analyzer, Observation, ProcessReport};
use hostscope_core::host::HostSample;
use hostscope_core::procfs::{self, DetailOptions, read_detail, send_signal, signal_name};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::{MissedTickBehavior, interval};

use crate::app::{App, Command, DetailUpdate, Msg, Refresh, Screen, update};
use crate::feed::{ProbeBatch, ProbeLink, ProbeSource};
use crate::live::{Converter, LiveBatch};
use crate::{Error, Options, terminal, view};

/// Live events are drawn at most this often.
const FRAME: Duration = Duration::from_millis(100);

pub(crate) async fn run(options: Options, probe: ProbeSource) -> Result<(), Error> {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let (mut link, unavailable) = match probe {
        ProbeSource::Attached(link) => (Some(link), None),
        ProbeSource::Unavailable(reason) => (None, Some(reason)),
    };
    let mut app = App::new(unavailable, root, options.color);
    let mut reader = procfs::Reader::new();
    // Read once before taking the terminal over, so that a /proc that cannot
    // be read is reported on a normal screen.
    let first = read_refresh(&mut reader)?;
    update(&mut app, Msg::Refreshed(Box::new(first)));

    let mut term = signal(SignalKind::terminate()).map_err(Error::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(Error::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(Error::Signals)?;
    let _guard = terminal::enter().map_err(Error::Terminal)?;
    let mut terminal =
        Terminal::new(CrosstermBackend::new(io::stdout())).map_err(Error::Terminal)?;
    let mut input = EventStream::new();
    let mut refresh = interval(options.refresh);
    refresh.set_missed_tick_behavior(MissedTickBehavior::Delay);
    refresh.tick().await;
    let mut frame = interval(FRAME);
    frame.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut converter = Converter::default();
    let mut draw_now = true;
    let mut draw_later = false;

    loop {
        if draw_now {
            terminal
                .draw(|f| view::render(f, &app))
                .map_err(Error::Terminal)?;
            draw_now = false;
            draw_later = false;
        }
        let msg = tokio::select! {
            event = input.next() => match event {
                Some(Ok(TermEvent::Key(key))) => Msg::Key(key),
                Some(Ok(TermEvent::Resize(..))) => {
                    draw_now = true;
                    continue;
                }
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Err(Error::Terminal(err)),
                None => return Ok(()),
            },
            _ = refresh.tick() => {
                let refresh = read_refresh(&mut reader)?;
                let commands = update(&mut app, Msg::Refreshed(Box::new(refresh)));
                if run_commands(&mut app, commands, &mut link) {
                    return Ok(());
                }
                if app.screen == Screen::Detail {
                    let commands = read_focus(&mut app);
                    if run_commands(&mut app, commands, &mut link) {
                        return Ok(());
                    }
                }
                draw_now = true;
                continue;
            }
            batch = next_batch(&mut link) => match batch {
                Some(ProbeBatch { stopped: Some(reason), .. }) => {
                    link = None;
                    Msg::ProbeStopped(reason)
                }
                Some(batch) => {
                    // The process table shows live events only as ERR/s,
                    // which changes at each refresh: no draw for them there,
                    // unless the header's loss counters moved.
                    let losses = (app.probe.lost, app.probe.truncated, app.probe.unreadable, app.probe.malformed);
                    let live = convert(&mut converter, batch);
                    let moved = losses
                        != (
                            live.losses.events_lost(),
                            live.losses.truncated,
                            live.losses.unreadable,
                            live.malformed,
                        );
                    if moved || app.screen != Screen::Processes || app.overlay.is_some() {
                        draw_later = true;
                    }
                    Msg::Live(live)
                }
                None => {
                    link = None;
                    Msg::ProbeStopped("the probe's reader ended".to_owned())
                }
            },
            _ = frame.tick(), if draw_later => {
                draw_now = true;
                continue;
            }
            _ = term.recv() => return Ok(()),
            _ = hup.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
        };
        let live = matches!(msg, Msg::Live(_));
        let commands = update(&mut app, msg);
        if run_commands(&mut app, commands, &mut link) {
            return Ok(());
        }
        draw_now |= !live;
    }
}

fn read_refresh(reader: &mut procfs::Reader) -> Result<Refresh, Error> {
    Ok(Refresh {
        snapshot: reader.snapshot()?,
        host: HostSample::read(),
    })
}

async fn next_batch(link: &mut Option<ProbeLink>) -> Option<ProbeBatch> {
    match link {
        Some(link) => link.batches.recv().await,
        None => std::future::pending().await,
    }
}

fn convert(converter: &mut Converter, batch: ProbeBatch) -> LiveBatch {
    let mut live = LiveBatch {
        records: Vec::with_capacity(batch.events.len()),
        exited: Vec::new(),
        delivered: batch.delivered,
        losses: batch.losses,
        malformed: batch.malformed,
    };
    for event in batch.events {
        converter.convert(event, &mut live.records, &mut live.exited);
    }
    live
}

/// Carries out `commands`; true when one of them is to quit.
fn run_commands(app: &mut App, commands: Vec<Command>, link: &mut Option<ProbeLink>) -> bool {
    for command in commands {
        match command {
            Command::Quit => return true,
            Command::Probe(control) => {
                if let Some(link) = link {
                    // A closed channel shows up as the end of the batches.
                    let _ = link.control.send(control);
                }
            }
            Command::ReadDetail => {
                let more = read_focus(app);
                if run_commands(app, more, link) {
                    return true;
                }
            }
            Command::Signal {
                pid,
                start_ticks,
                signal,
            } => {
                let name =
                    signal_name(signal).map_or_else(|| signal.to_string(), |n| format!("SIG{n}"));
                let outcome = send_signal(pid, start_ticks, signal)
                    .map(|()| format!("sent {name} to pid {pid}"))
                    .map_err(|err| {
                        let mut text = err.to_string();
                        if let Some(cause) = std::error::Error::source(&err) {
                            text.push_str(&format!(": {cause}"));
                        }
                        text
                    });
                let more = update(app, Msg::Signalled(outcome));
                if run_commands(app, more, link) {
                    return true;
                }
            }
        }
    }
    false
}

/// Reads the focused process again, and classifies its recent lookups;
/// returns what `update` asks for in turn (a focus that is gone is no
/// longer sent in full).
#[must_use]
fn read_focus(app: &mut App) -> Vec<Command> {
    let Some(pid) = app.focus.as_ref().filter(|f| !f.gone).map(|f| f.pid) else {
        return Vec::new();
    };
    let detail = read_detail(
        pid,
        DetailOptions {
            environment: app.root,
        },
    )
    .ok();
    let report = classify(app, pid);
    update(
        app,
        Msg::Detail(Box::new(DetailUpdate {
            pid,
            detail,
            report,
        })),
    )
}

/// The why-missing report of `pid`'s recent lookups (it stats the files it
/// names, hence here and not in `update`).
fn classify(app: &App, pid: u32) -> Option<ProcessReport> {
    let mut analyzer = Analyzer::new(None);
    let mut any = false;
    for lookup in app.failures.lookups(pid) {
        analyzer.observe(Observation::Lookup(lookup.clone()));
        any = true;
    }
    if !any {
        return None;
    }
    analyzer
        .report()
        .processes
        .into_iter()
        .find(|p| p.pid == pid)
}
