//! `hostscope top`: the terminal UI. This module sets up its two sources:
//! procfs (read by the UI itself) and the probe, loaded here in its live
//! mode (every failure of every process, and every call of the process or
//! processes the UI asks for), drained into batches for the UI. Without
//! root the UI runs on procfs alone and says why.

use hostscope_core::chains::Secrets;
use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use hostscope_core::decode::{self, spec};
use hostscope_core::model::Arch;
use hostscope_ebpf::{Deliver, EventStream, Probe, ProbeConfig, Scope, SyscallRule};
use hostscope_tui::{Options, ProbeBatch, ProbeControl, ProbeLink, ProbeSource};
use tokio::sync::mpsc;

use crate::args::TopArgs;
use crate::cmd::UsageError;

/// Every errno counts for a path lookup here: the UI shows every failure.
/// (The probe reads 63 as "63 and up".)
const ALL_ERRNOS: [i32; 63] = {
    let mut all = [0; 63];
    let mut i = 0;
    while i < 63 {
        all[i] = i as i32 + 1;
        i += 1;
    }
    all
};

/// Small: failures are few, and the full streams are for reading by a
/// person, who would rather see a loss counted than wait on a backlog.
const RING_KIB: u32 = 2048;

/// How often the ring is drained when the probe has not woken us: four
/// times a second keeps a live stream live for a reader, and each drain is
/// a wakeup of its own (measured: at ten a second they were a tenth of
/// top's CPU on an idle host).
const DRAIN_INTERVAL: Duration = Duration::from_millis(250);

pub fn run(args: &TopArgs) -> anyhow::Result<ExitCode> {
    if !(0.1..=3600.0).contains(&args.delay) {
        return Err(UsageError(format!(
            "-d {}: the delay is in seconds, from 0.1 to 3600",
            args.delay
        ))
        .into());
    }
    // Keys are read from the controlling terminal even when stdin is
    // redirected; only the screen must be one.
    if !io::stdout().is_terminal() {
        bail!(
            "hostscope top draws on a terminal, and stdout is not one \
             (for a list to pipe or save, use `hostscope ps`)"
        );
    }
    let options = Options {
        refresh: Duration::from_secs_f64(args.delay),
        color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        secrets: if args.show_secrets {
            Secrets::Shown
        } else {
            Secrets::Masked
        },
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the event loop")?;
    let ended = runtime.block_on(async {
        let probe = if args.no_probe {
            Err("--no-probe".to_owned())
        } else {
            Probe::load(&probe_config()).map_err(short_reason)
        };
        match probe {
            Ok(probe) => {
                let (batches_tx, batches) = mpsc::channel(64);
                let (control, control_rx) = mpsc::unbounded_channel();
                let link = ProbeLink { batches, control };
                let ui = hostscope_tui::run(options, ProbeSource::Attached(link));
                tokio::pin!(ui);
                tokio::select! {
                    ended = &mut ui => ended?,
                    // The pump ends only when the probe failed (it told the
                    // UI why) or the UI is gone: wait for the UI either way.
                    () = pump(probe, batches_tx, control_rx) => ui.await?,
                }
            }
            Err(reason) => hostscope_tui::run(options, ProbeSource::Unavailable(reason)).await?,
        }
        Ok(ExitCode::SUCCESS)
    });
    // A read of /proc stuck on a process in D state must not keep us from
    // exiting (dropping the runtime would wait for it).
    runtime.shutdown_timeout(Duration::from_millis(100));
    ended
}

/// Why the probe is off, in a few words for the header (the views that
/// need it add what to run); other errors keep their causes, for a report.
fn short_reason(err: hostscope_ebpf::ProbeError) -> String {
    if let hostscope_ebpf::ProbeError::MissingPrivileges { missing } = &err {
        return format!("not root: missing {missing}");
    }
    // anyhow's alternate form is the error and its causes on one line.
    format!("{:#}", anyhow::Error::from(err))
}

fn probe_config() -> ProbeConfig {
    let arch = Arch::native();
    let rules = decode::sysno::all(arch)
        .map(|(nr, name)| SyscallRule {
            nr,
            captures: spec::captures(name),
            // No entry program in this mode: what is gone at exit (execve's
            // argv) is not shown.
            at_entry: false,
            noreturn: false,
            deliver: match name {
                // Every chdir, to resolve relative paths against the right
                // directory (they are rare).
                "chdir" | "fchdir" => Deliver::All,
                _ if spec::path_args(name).is_empty() => Deliver::Failed,
                _ => Deliver::Lookup,
            },
            replaces_image: matches!(name, "execve" | "execveat"),
            // Read only while the Chains screen is open; else the rule
            // above applies.
            socket_io: crate::cmd::chains::socket_io(name),
        })
        .collect();
    ProbeConfig {
        scope: Scope::All,
        rules,
        data_bytes: 32,
        ring_kib: RING_KIB,
        timed: false,
        lookup_errnos: &ALL_ERRNOS,
        exec_records: false,
        live: true,
        oom_records: false,
        fold_repeats: false,
        socket_payload: Some(crate::cmd::chains::DEFAULT_PAYLOAD),
    }
}

/// Drains the probe into batches for the UI and applies what it asks. On
/// an error it sends the UI a last batch saying why, and returns.
async fn pump(
    probe: Probe,
    batches: mpsc::Sender<ProbeBatch>,
    control: mpsc::UnboundedReceiver<ProbeControl>,
) {
    if let Err(err) = drain(probe, &batches, control).await {
        let stopped = ProbeBatch {
            stopped: Some(format!("the probe failed: {err:#}")),
            ..ProbeBatch::default()
        };
        let _ = batches.send(stopped).await;
    }
}

async fn drain(
    mut probe: Probe,
    batches: &mpsc::Sender<ProbeBatch>,
    mut control: mpsc::UnboundedReceiver<ProbeControl>,
) -> anyhow::Result<()> {
    let mut stream: EventStream = probe.events()?;
    let mut tick = tokio::time::interval(DRAIN_INTERVAL);
    let mut last_lost = u64::MAX;
    let mut idle_ticks = 0u32;
    loop {
        tokio::select! {
            woken = stream.readable() => woken?,
            _ = tick.tick() => idle_ticks += 1,
            asked = control.recv() => match asked {
                Some(ProbeControl::ShowInFull { focus, everything, sockets }) => {
                    probe.show_in_full(focus, everything, sockets)?;
                    continue;
                }
                None => return Ok(()),
            },
        }
        let mut events = Vec::new();
        stream.drain(|event| events.push(event));
        // With nothing new, the counters are read once a second: a full
        // ring still shows within that second.
        if events.is_empty() && idle_ticks < 4 {
            continue;
        }
        idle_ticks = 0;
        let losses = probe.losses()?;
        let lost = losses.events_lost() + losses.truncated + losses.unreadable + stream.malformed();
        if events.is_empty() && lost == last_lost {
            continue;
        }
        last_lost = lost;
        let batch = ProbeBatch {
            events,
            delivered: probe.delivered()?,
            losses,
            malformed: stream.malformed(),
            stopped: None,
        };
        // Waiting here when the UI is behind lets the ring fill, and the
        // probe count what it then drops: slow, but never silent.
        if batches.send(batch).await.is_err() {
            return Ok(());
        }
    }
}
