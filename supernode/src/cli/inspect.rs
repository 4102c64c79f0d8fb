//! `opfleet-supernode inspect`: decode batcher transactions and blobs into frames, channels and
//! batches, printed as JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use opfleet_protocol::batcher_data::decode_hex_or_raw;
use opfleet_protocol::config::builtin;

use crate::inspect::{Input, InputKind, inspect};

/// `inspect` arguments.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// What to inspect.
    #[command(subcommand)]
    pub what: InspectCommand,
}

/// What `inspect` reads.
#[derive(Debug, Subcommand)]
pub enum InspectCommand {
    /// Raw signed L1 transactions (any type) or bare calldata, as raw bytes or hex. Several files
    /// are read in order, so a channel spread over transactions is assembled.
    BatcherTx(InspectFiles),
    /// OP blobs (131,072 bytes, raw or hex), in order.
    Blob(InspectFiles),
}

/// Files and the optional chain.
#[derive(Debug, Args)]
pub struct InspectFiles {
    /// Input files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Chain (superchain-registry name such as op-sepolia, or chain id) whose genesis gives
    /// absolute timestamps and L2 block numbers.
    #[arg(long, env = "OPFLEET_CHAIN", value_name = "NAME")]
    pub chain: Option<String>,
}

/// Runs `inspect`: prints the report, then fails if any channel failed to decode.
pub fn run(args: &InspectArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let (kind, files) = match &args.what {
        InspectCommand::BatcherTx(f) => (InputKind::BatcherTx, f),
        InspectCommand::Blob(f) => (InputKind::Blob, f),
    };
    let chain = files
        .chain
        .as_deref()
        .map(builtin::rollup_config)
        .transpose()
        .context("--chain")?;
    let inputs = files
        .files
        .iter()
        .map(|path| {
            let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            Ok(Input {
                name: path.display().to_string(),
                bytes: decode_hex_or_raw(&raw),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let report = inspect(kind, &inputs, chain.as_ref())?;
    serde_json::to_writer_pretty(&mut *out, &report).context("writing the report")?;
    writeln!(out)?;
    if let Some(error) = report.first_error() {
        anyhow::bail!("{error}");
    }
    Ok(())
}
