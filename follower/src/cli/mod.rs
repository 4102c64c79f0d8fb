//! The `opfleet-follower` command line. This module only dispatches: each subcommand lives in
//! its own module with its arguments and logic.

use std::io::Write;

use clap::{Parser, Subcommand};

pub mod attestation;
pub mod run;

/// `opfleet-follower` arguments.
#[derive(Debug, Parser)]
#[command(
    name = "opfleet-follower",
    version,
    about = "opfleet follower: a light consensus client that follows heads attested by a quorum of supernodes"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Tools for signed attestations.
    Attestation(attestation::AttestationArgs),
    /// Run the follower.
    Run(Box<run::RunArgs>),
}

impl Command {
    /// Runs the subcommand, writing its normal output to `out`.
    pub fn run(self, out: &mut dyn Write) -> anyhow::Result<()> {
        match self {
            Self::Attestation(args) => attestation::run(args, out),
            Self::Run(args) => run::run(*args),
        }
    }
}
