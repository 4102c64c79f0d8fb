//! The `opfleet-supernode` command line. This module only dispatches: each subcommand lives in
//! its own module with its arguments and logic.

use std::io::Write;

use clap::{Parser, Subcommand};

pub mod attest;
pub mod inspect;
pub mod keygen;
pub mod node_args;
pub mod run;

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
    /// Derive every configured chain from L1 and sign, serve and publish its heads.
    Run(Box<run::RunArgs>),
    /// Sign the heads of trusted op-nodes (one per chain) without deriving.
    Attest(Box<attest::AttestArgs>),
}

impl Command {
    /// Runs the subcommand, writing its normal output to `out`.
    pub fn run(self, out: &mut dyn Write) -> anyhow::Result<()> {
        match self {
            Self::Keygen(args) => keygen::run(&args, out),
            Self::Inspect(args) => inspect::run(&args, out),
            Self::Run(args) => run::run(&args, out),
            Self::Attest(args) => attest::run(&args, out),
        }
    }
}

impl Cli {
    /// Parses `args` (program name first), accepting op-node style `--l2.<chainid>.<field>`.
    pub fn parse_args(
        args: impl IntoIterator<Item = std::ffi::OsString>,
    ) -> Result<Self, clap::Error> {
        Self::try_parse_from(node_args::rewrite_chain_flags(args))
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
/// Starts the private attestation gossip when the config asks for it (run and attest alike).
pub(crate) async fn attest_gossip_sink(
    config: &crate::config::NodeConfig,
    out: &mut dyn Write,
) -> anyhow::Result<Option<std::sync::Arc<dyn crate::publish::AttestSink>>> {
    use crate::publish::gossip;
    let Some(p2p) = &config.p2p_attest else {
        return Ok(None);
    };
    let chains = config.chains.iter().map(|c| c.chain_id()).collect();
    let gossip = gossip::spawn(gossip::gossip_config(p2p, chains, &config.data_dir)?).await?;
    writeln!(
        out,
        "attestation gossip peer id {}",
        gossip.0.local_peer_id()
    )?;
    Ok(Some(std::sync::Arc::new(gossip)))
}

pub(crate) fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second init (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Returns on Ctrl-C or SIGTERM.
pub(crate) async fn wait_for_shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}
