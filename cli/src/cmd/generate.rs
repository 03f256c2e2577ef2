//! `hostscope generate`: shell completions and man pages, made from the clap
//! definition of the command line so that they cannot drift from it.
//! `cargo xtask dist` runs it to fill the tarball and the .deb.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;
use clap_mangen::Man;

use crate::args::{Cli, Generate, GenerateArgs};

/// The name completions are registered for, whatever the binary was started
/// as (`target/release/hostscope`, a symlink).
const BIN: &str = "hostscope";

pub fn run(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    match &args.what {
        Generate::Completions { shell } => {
            // clap_complete panics when its writer fails; a buffer cannot,
            // and a closed stdout then ends as an ordinary broken pipe.
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), BIN, &mut script);
            let mut out = io::stdout().lock();
            out.write_all(&script)?;
            out.flush()?;
        }
        Generate::Man { dir: None } => {
            let pages = pages();
            let mut out = BufWriter::new(io::stdout().lock());
            render(&pages, 0, &mut out)?;
            out.flush()?;
        }
        Generate::Man { dir: Some(dir) } => {
            let pages = pages();
            let mut out = io::stdout().lock();
            for index in 0..pages.len() {
                let path = write_page(&pages, index, dir)?;
                writeln!(out, "{}", path.display())?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One man page: `hostscope` (section 1) first, then one per visible
/// command and nested command (`hostscope-export`, `hostscope-generate-man`).
struct Page {
    /// The page's name, as in `man 1 NAME`.
    name: String,
    /// The page of the command this one belongs to; none for the first.
    parent: Option<usize>,
    man: Man,
}

fn pages() -> Vec<Page> {
    // `help` is not a command worth a page.
    let mut cli = Cli::command().disable_help_subcommand(true);
    // Building names the subcommands `hostscope-export` and so on.
    cli.build();
    // Every page's footer names the program, not the subcommand.
    let source = format!("hostscope {}", cli.get_version().unwrap_or_default());
    let mut pages = Vec::new();
    collect(&cli, None, &source, &mut pages);
    pages
}

fn collect(cmd: &clap::Command, parent: Option<usize>, source: &str, pages: &mut Vec<Page>) {
    let index = pages.len();
    pages.push(Page {
        name: cmd.get_display_name().unwrap_or(cmd.get_name()).to_owned(),
        parent,
        man: Man::new(cmd.clone())
            .source(source)
            .manual("hostscope manual"),
    });
    for sub in cmd.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        collect(sub, Some(index), source, pages);
    }
}

/// Renders page `index` with a SEE ALSO section, which clap_mangen does not
/// write: the page of the command above it and those of its subcommands.
fn render(pages: &[Page], index: usize, out: &mut dyn Write) -> io::Result<()> {
    pages[index].man.render(out)?;
    let see_also: Vec<&str> = pages[index]
        .parent
        .into_iter()
        .chain((0..pages.len()).filter(|&i| pages[i].parent == Some(index)))
        .map(|i| pages[i].name.as_str())
        .collect();
    if see_also.is_empty() {
        return Ok(());
    }
    writeln!(out, ".SH \"SEE ALSO\"")?;
    for (i, name) in see_also.iter().enumerate() {
        let comma = if i + 1 < see_also.len() { "," } else { "" };
        // A plain '-' may be typeset as a hyphen; names need the minus sign.
        writeln!(out, ".BR {} (1){comma}", name.replace('-', "\\-"))?;
    }
    Ok(())
}

fn write_page(pages: &[Page], index: usize, dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.join(format!("{}.1", pages[index].name));
    let file = File::create(&path).with_context(|| {
        format!(
            "cannot create {} (does the directory exist and may I write there?)",
            path.display()
        )
    })?;
    let mut out = BufWriter::new(file);
    render(pages, index, &mut out)
        .and_then(|()| out.flush())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(pages: &[Page], name: &str) -> String {
        let index = pages
            .iter()
            .position(|p| p.name == name)
            .unwrap_or_else(|| panic!("no page {name}"));
        let mut out = Vec::new();
        render(pages, index, &mut out).expect("rendering into memory cannot fail");
        String::from_utf8(out).expect("roff is UTF-8")
    }

    #[test]
    fn a_page_per_command_and_none_for_help() {
        let pages = pages();
        let names: Vec<&str> = pages.iter().map(|p| p.name.as_str()).collect();
        for name in [
            "hostscope",
            "hostscope-top",
            "hostscope-export",
            "hostscope-ps",
            "hostscope-trace",
            "hostscope-why-missing",
            "hostscope-generate",
        ] {
            assert!(names.contains(&name), "no page {name} in {names:?}");
        }
        assert!(
            !names.iter().any(|n| n.ends_with("-help")),
            "a page for help: {names:?}"
        );
    }

    #[test]
    fn pages_point_at_each_other() {
        let pages = pages();
        let main = rendered(&pages, "hostscope");
        assert!(
            main.starts_with(".ie") || main.contains(".TH hostscope 1"),
            "{main}"
        );
        assert!(main.contains(".BR hostscope\\-export (1),"), "{main}");
        let export = rendered(&pages, "hostscope-export");
        assert!(export.contains("\\-\\-to"), "no --to in:\n{export}");
        assert!(
            export.contains("\"hostscope 0."),
            "footer names the program:\n{export}"
        );
        assert!(
            export.ends_with(".SH \"SEE ALSO\"\n.BR hostscope (1)\n"),
            "{export}"
        );
    }

    #[test]
    fn completions_know_the_commands() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), BIN, &mut script);
            let script = String::from_utf8(script).expect("scripts are UTF-8");
            for word in ["why-missing", "export", "ring-kib"] {
                assert!(script.contains(word), "{shell}: no {word}");
            }
        }
    }
}
