//! Taking the terminal over and giving it back. Whatever ends the UI (the
//! user, a signal, an error, a panic), the terminal is restored: raw mode
//! off, the main screen back, the cursor shown.

use std::io::{self, Write};
use std::sync::Once;

use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

/// Restores the terminal when dropped.
#[derive(Debug)]
pub(crate) struct Guard(());

/// Raw mode, the alternate screen, no cursor; and a panic hook that
/// restores them before the panic message is printed, so the message is
/// readable and the shell usable.
pub(crate) fn enter() -> io::Result<Guard> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
    enable_raw_mode()?;
    let guard = Guard(());
    execute!(io::stdout(), EnterAlternateScreen, Hide)?;
    Ok(guard)
}

fn restore() {
    // Best effort: on the way out there is no one left to report to.
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    let _ = execute!(out, LeaveAlternateScreen, Show);
    let _ = out.flush();
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}
