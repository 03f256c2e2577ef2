//! `cargo xtask …`: tasks a developer runs by hand. Benchmarks print figures
//! and ratios against anchors measured in the same run; they assert nothing.

mod bench;
mod dist;

use anyhow::{Result, bail};

const USAGE: &str = "usage: cargo xtask bench trace|why-missing|decode [--runs N] [--iterations N]
       cargo xtask bench top [--duration SECS] [--processes N]
       cargo xtask bench export [--events N] [--misses M] [--loops K] [--runs N]
       cargo xtask bench chains [--duration SECS] [--connections N] [--runs N] [--finish-timeout SECS] [--hostscope PATH]
       cargo xtask dist     (target/dist/: release tarball and .deb)";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["bench", "trace", rest @ ..] => bench::trace::run(&bench::Options::parse(rest)?),
        ["bench", "why-missing", rest @ ..] => {
            bench::why_missing::run(&bench::Options::parse(rest)?)
        }
        ["bench", "decode", rest @ ..] => bench::decode::run(&bench::Options::parse(rest)?),
        ["bench", "top", rest @ ..] => bench::top::run(&bench::top::Options::parse(rest)?),
        ["bench", "export", rest @ ..] => bench::export::run(&bench::export::Options::parse(rest)?),
        ["bench", "chains", rest @ ..] => bench::chains::run(&bench::chains::Options::parse(rest)?),
        ["dist"] => dist::run(),
        _ => bail!("{USAGE}"),
    }
}
