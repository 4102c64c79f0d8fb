//! The `opfleet-supernode` binary: parses arguments and hands over to `opfleet_supernode::cli`.

use opfleet_supernode::cli::Cli;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse_args(std::env::args_os()).unwrap_or_else(|e| e.exit());
    cli.command.run(&mut std::io::stdout().lock())
}
