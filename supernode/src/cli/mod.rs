//! The `opfleet-supernode` command line. This module only dispatches: each subcommand lives in
//! its own module with its arguments and logic.

use std::io::Write;

use clap::{Parser, Subcommand};

pub mod inspect;
pub mod keygen;

/// `opfleet-supernode` arguments.
#[derive(Debug, Parser)]
#[command(
    name = "opfleet-supernode",
    version,
    about = "opfleet supernode: derives every chain of a dependency set from L1 and signs safe and finalized heads"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate an attestation signing key file and print its public key.
    Keygen(keygen::KeygenArgs),
    /// Decode batcher transactions or blobs into frames, channels and batches (JSON).
    Inspect(inspect::InspectArgs),
}

impl Command {
    /// Runs the subcommand, writing its normal output to `out`.
    pub fn run(self, out: &mut dyn Write) -> anyhow::Result<()> {
        match self {
            Self::Keygen(args) => keygen::run(&args, out),
            Self::Inspect(args) => inspect::run(&args, out),
        }
    }
}
