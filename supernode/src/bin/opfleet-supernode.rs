//! The `opfleet-supernode` binary: parses arguments and hands over to `opfleet_supernode::cli`.

use clap::Parser;
use opfleet_supernode::cli::Cli;

fn main() -> anyhow::Result<()> {
    Cli::parse().command.run(&mut std::io::stdout().lock())
}
