//! The one loop: input, the refresh tick and the probe's batches, each
//! turned into a [`Msg`] for [`update`]; then the [`Command`]s it returns
//! are carried out here, where the I/O is. Drawing follows input and
//! refreshes at once, live events at most ten times a second.

use std::io;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use hostscope_core::analysis::why_missing::{Analyzer, Lookup, Observation, ProcessReport};
use hostscope_core::decode;
use hostscope_core::host::HostSample;
use hostscope_core::procfs::{self, DetailOptions, read_detail, send_signal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, interval};

use crate::app::{App, Command, DetailUpdate, Msg, Refresh, Screen, update};
use crate::chains::Chains;
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
    app.chains = Chains::new(options.secrets);
    let mut reader = procfs::Reader::new();
    // Read once before taking the terminal over, so that a /proc that cannot
    // be read is reported on a normal screen.
    let first = read_refresh(&mut reader)?;
    update(&mut app, Msg::Refreshed(Box::new(first)));
    let mut jobs = Jobs {
        reader: Some(reader),
        refreshing: None,
        detailing: None,
        late_ticks: 0,
    };

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
                match jobs.reader.take() {
                    Some(reader) => {
                        jobs.late_ticks = 0;
                        jobs.refreshing = Some(tokio::task::spawn_blocking(move || {
                            let mut reader = reader;
                            let refresh = read_refresh(&mut reader);
                            (reader, refresh)
                        }));
                    }
                    None => {
                        jobs.late_ticks += 1;
                        if jobs.late_ticks == 3 {
                            let notice = "reading /proc is taking long: a process may be stuck in D state (hung NFS, a sick disk)";
                            update(&mut app, Msg::Notice(notice.to_owned()));
                            draw_now = true;
                        }
                    }
                }
                if app.screen == Screen::Detail {
                    jobs.read_focus(&app);
                }
                continue;
            }
            done = join(&mut jobs.refreshing) => {
                jobs.refreshing = None;
                let (reader, refresh) = done.map_err(|e| Error::Terminal(io::Error::other(e)))?;
                jobs.reader = Some(reader);
                draw_now = true;
                Msg::Refreshed(Box::new(refresh?))
            }
            done = join(&mut jobs.detailing) => {
                jobs.detailing = None;
                draw_now = true;
                Msg::Detail(Box::new(done.map_err(|e| Error::Terminal(io::Error::other(e)))?))
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
                    let probe = &app.probe;
                    let losses = (probe.lost, probe.truncated, probe.unreadable, probe.malformed);
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
        if run_commands(&mut app, commands, &mut link, &mut jobs) {
            return Ok(());
        }
        draw_now |= !live;
    }
}

fn read_refresh(reader: &mut procfs::Reader) -> Result<Refresh, procfs::Error> {
    Ok(Refresh {
        snapshot: reader.snapshot()?,
        host: HostSample::read(),
    })
}

/// Reads of /proc run on blocking threads: reading the command line or
/// environment of a process stuck in D state (hung NFS, a sick disk; the
/// very outage being debugged) blocks for as long as it is stuck, and the
/// UI must still answer keys and signals meanwhile.
struct Jobs {
    /// Home between refreshes; with the refresh job while it runs.
    reader: Option<procfs::Reader>,
    refreshing: Option<JoinHandle<(procfs::Reader, Result<Refresh, procfs::Error>)>>,
    detailing: Option<JoinHandle<DetailUpdate>>,
    /// Refresh ticks missed because the last read has not finished.
    late_ticks: u32,
}

impl Jobs {
    /// Reads the focused process again (unless a read of it is running),
    /// and classifies its recent lookups.
    fn read_focus(&mut self, app: &App) {
        if self.detailing.is_some() {
            return;
        }
        let Some(focus) = app.focus.as_ref().filter(|f| !f.gone) else {
            return;
        };
        let pid = focus.pid;
        let lookups: Vec<Lookup> = app.failures.lookups(pid).cloned().collect();
        let options = DetailOptions {
            environment: app.root,
        };
        self.detailing = Some(tokio::task::spawn_blocking(move || DetailUpdate {
            pid,
            detail: read_detail(pid, options).ok(),
            report: classify(pid, lookups),
        }));
    }
}

/// Waits for the job in `slot`; never completes when there is none.
async fn join<T>(slot: &mut Option<JoinHandle<T>>) -> Result<T, tokio::task::JoinError> {
    match slot {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
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
        delivered: batch.delivered,
        losses: batch.losses,
        malformed: batch.malformed,
        ..LiveBatch::default()
    };
    for event in batch.events {
        converter.convert(event, &mut live);
    }
    live
}

/// Carries out `commands`; true when one of them is to quit.
fn run_commands(
    app: &mut App,
    commands: Vec<Command>,
    link: &mut Option<ProbeLink>,
    jobs: &mut Jobs,
) -> bool {
    for command in commands {
        match command {
            Command::Quit => return true,
            Command::Probe(control) => {
                if let Some(link) = link {
                    // A closed channel shows up as the end of the batches.
                    let _ = link.control.send(control);
                }
            }
            Command::ReadDetail => jobs.read_focus(app),
            Command::Signal {
                pid,
                start_ticks,
                signal,
            } => {
                let name =
                    decode::signal_name(signal).map_or_else(|| signal.to_string(), str::to_owned);
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
                if run_commands(app, more, link, jobs) {
                    return true;
                }
            }
        }
    }
    false
}

/// The why-missing report of `pid`'s recent lookups (it stats the files it
/// names, hence here and not in `update`).
fn classify(pid: u32, lookups: Vec<Lookup>) -> Option<ProcessReport> {
    if lookups.is_empty() {
        return None;
    }
    let mut analyzer = Analyzer::new(None);
    for lookup in lookups {
        analyzer.observe(Observation::Lookup(lookup));
    }
    analyzer
        .report()
        .processes
        .into_iter()
        .find(|p| p.pid == pid)
}
