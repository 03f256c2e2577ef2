//! The `hostscope` binary: parses the command line, runs one command, prints
//! any error once with its causes, and exits with the command's status.

mod args;
mod caps;
mod cmd;
mod launch;
mod session;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = args::Cli::parse();
    let result = match args.command {
        args::Command::Top(top) => cmd::top::run(&top),
        args::Command::Export(export) => cmd::export::run(&export),
        args::Command::Chains(chains) => cmd::chains::run(&chains),
        args::Command::Ps(ps) => cmd::ps::run(&ps),
        args::Command::Trace(trace) => cmd::trace::run(&trace),
        args::Command::WhyMissing(args) => cmd::why_missing::run(&args),
        args::Command::Generate(args) => cmd::generate::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "hostscope: {err}");
            for cause in err.chain().skip(1) {
                let _ = write!(stderr, ": {cause}");
            }
            let _ = writeln!(stderr);
            ExitCode::from(cmd::exit_code_of(&err))
        }
    }
}

/// A reader that went away (`hostscope ps | head`) is not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
