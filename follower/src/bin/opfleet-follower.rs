//! The `opfleet-follower` binary: parses arguments and hands over to `opfleet_follower::cli`.

use clap::Parser;
use opfleet_follower::cli::Cli;

fn main() -> anyhow::Result<()> {
    Cli::parse().command.run(&mut std::io::stdout().lock())
}
