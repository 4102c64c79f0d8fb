//! `opfleet-devnet`: starts the local world (see `opfleet_tests::devnet`), prints one line per
//! endpoint and a progress line every few seconds, and stops cleanly on Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use opfleet_protocol::ChainId;
use opfleet_protocol::compression::{Compression, DEFAULT_BROTLI_LEVEL};
use opfleet_tests::batcher::DataAvailability;
use opfleet_tests::devnet::config::default_ports;
use opfleet_tests::devnet::{Devnet, DevnetConfig, FaultPlan, Ports};
use opfleet_tests::l1::ReorgMode;
use opfleet_tests::sequencer::DevnetFork;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Fork {
    Isthmus,
    Jovian,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Da {
    Blobs,
    Calldata,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Compressor {
    Zlib,
    Brotli,
}

/// A local OP Stack interop devnet: a simulated L1 with a beacon blob API; per L2 chain a
/// simulated execution client, a sequencer gossiping signed blocks over libp2p and a batcher;
/// a pool of supernodes deriving every chain and signing its heads; and followers taking
/// those heads from a quorum of the pool.
#[derive(Debug, Parser)]
#[command(name = "opfleet-devnet", version)]
struct Cli {
    /// Number of L2 chains (ids 901, 902, ...); ignored when --chain-ids is given.
    #[arg(long, env = "OPFLEET_CHAINS", default_value_t = 2)]
    chains: usize,
    /// L2 chain ids, comma-separated (all in one interop dependency set).
    #[arg(long = "chain-ids", env = "OPFLEET_CHAIN_IDS", value_delimiter = ',')]
    chain_ids: Vec<ChainId>,
    /// Seconds per L1 block.
    #[arg(
        long = "l1.block-time",
        env = "OPFLEET_L1_BLOCK_TIME",
        default_value_t = 2
    )]
    l1_block_time: u64,
    /// Seconds per L2 block.
    #[arg(
        long = "l2.block-time",
        env = "OPFLEET_L2_BLOCK_TIME",
        default_value_t = 2
    )]
    l2_block_time: u64,
    /// L1 blocks whose blobs the beacon API keeps (older ones are pruned; 0 keeps all).
    #[arg(long = "l1.blob-retention", env = "OPFLEET_L1_BLOB_RETENTION", default_value_t = opfleet_tests::devnet::config::DEFAULT_BLOB_RETENTION)]
    l1_blob_retention: u64,
    /// Newest fork, active from genesis.
    #[arg(long, env = "OPFLEET_FORK", value_enum, default_value_t = Fork::Isthmus)]
    fork: Fork,
    /// Where batches go.
    #[arg(long, env = "OPFLEET_DA", value_enum, default_value_t = Da::Blobs)]
    da: Da,
    /// Channel compression.
    #[arg(long, env = "OPFLEET_COMPRESSION", value_enum, default_value_t = Compressor::Zlib)]
    compression: Compressor,
    /// No executing messages between the chains.
    #[arg(long = "no-interop", env = "OPFLEET_NO_INTEROP")]
    no_interop: bool,
    /// Output directory (rollup.json and JWT secret per chain, endpoints.json); defaults to the
    /// endpoints file's directory when --endpoints-file is given, else ./opfleet-devnet.
    #[arg(long = "out-dir", env = "OPFLEET_OUT_DIR")]
    out_dir: Option<PathBuf>,
    /// Also write every endpoint as JSON here.
    #[arg(long = "endpoints-file", env = "OPFLEET_ENDPOINTS_FILE")]
    endpoints_file: Option<PathBuf>,
    /// Interface to listen on.
    #[arg(long, env = "OPFLEET_HOST", default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// L1 JSON-RPC port (0: any free port).
    #[arg(long = "l1.port", env = "OPFLEET_L1_PORT", default_value_t = default_ports::L1_RPC)]
    l1_port: u16,
    /// L1 beacon API port (0: any free port).
    #[arg(long = "beacon.port", env = "OPFLEET_BEACON_PORT", default_value_t = default_ports::BEACON)]
    beacon_port: u16,
    /// Admin JSON-RPC port (0: any free port).
    #[arg(long = "admin.port", env = "OPFLEET_ADMIN_PORT", default_value_t = default_ports::ADMIN)]
    admin_port: u16,
    /// Engine API port of the first chain, +1 per further chain (0: free ports).
    #[arg(long = "el.engine-port", env = "OPFLEET_EL_ENGINE_PORT", default_value_t = default_ports::EL_ENGINE)]
    el_engine_port: u16,
    /// eth RPC port of the first chain's execution client, +1 per further chain (0: free ports).
    #[arg(long = "el.rpc-port", env = "OPFLEET_EL_RPC_PORT", default_value_t = default_ports::EL_RPC)]
    el_rpc_port: u16,
    /// libp2p port of the first chain's sequencer, +1 per further chain (0: free ports).
    #[arg(long = "p2p.port", env = "OPFLEET_P2P_PORT", default_value_t = default_ports::P2P)]
    p2p_port: u16,
    /// RPC port of the first supernode, +1 per further supernode (0: free ports).
    #[arg(long = "supernode.rpc-port", env = "OPFLEET_SUPERNODE_RPC_PORT", default_value_t = default_ports::SUPERNODE_RPC)]
    supernode_rpc_port: u16,
    /// RPC port of the first follower, +1 per further follower (0: free ports).
    #[arg(long = "follower.rpc-port", env = "OPFLEET_FOLLOWER_RPC_PORT", default_value_t = default_ports::FOLLOWER_RPC)]
    follower_rpc_port: u16,
    /// Supernodes in the pool (each derives every chain into its own execution clients).
    #[arg(long, env = "OPFLEET_SUPERNODES", default_value_t = 3)]
    supernodes: usize,
    /// Followers (follower i follows chain i mod the number of chains).
    #[arg(long, env = "OPFLEET_FOLLOWERS", default_value_t = 4)]
    followers: usize,
    /// Pool members that must attest a head before a follower takes it.
    #[arg(
        long = "follower.threshold",
        env = "OPFLEET_FOLLOWER_THRESHOLD",
        default_value_t = 2
    )]
    follower_threshold: usize,
    /// Every port free-picked (overrides the port flags).
    #[arg(long = "ephemeral-ports", env = "OPFLEET_EPHEMERAL_PORTS")]
    ephemeral_ports: bool,
    /// Seconds between progress lines (0: none).
    #[arg(
        long = "progress-interval",
        env = "OPFLEET_PROGRESS_INTERVAL",
        default_value_t = 10
    )]
    progress_interval: u64,
    /// Seconds after start at which the --fault.* faults are applied.
    #[arg(long = "fault.at", env = "OPFLEET_FAULT_AT", default_value_t = 30)]
    fault_at: u64,
    /// Reorg this many L1 blocks away.
    #[arg(long = "fault.l1-reorg", env = "OPFLEET_FAULT_L1_REORG")]
    fault_l1_reorg: Option<u64>,
    /// The L1 reorg loses the submitted transactions of the dropped blocks (the batchers must
    /// post again) instead of re-including them.
    #[arg(
        long = "fault.l1-reorg-drop-txs",
        env = "OPFLEET_FAULT_L1_REORG_DROP_TXS"
    )]
    fault_l1_reorg_drop_txs: bool,
    /// Chains whose next block executes a message for a log that does not exist.
    #[arg(
        long = "fault.invalid-message",
        env = "OPFLEET_FAULT_INVALID_MESSAGE",
        value_delimiter = ','
    )]
    fault_invalid_message: Vec<ChainId>,
    /// Chains whose sequencer signs two different blocks at one height.
    #[arg(
        long = "fault.equivocate",
        env = "OPFLEET_FAULT_EQUIVOCATE",
        value_delimiter = ','
    )]
    fault_equivocate: Vec<ChainId>,
    /// Chains whose batcher stops.
    #[arg(
        long = "fault.batcher-stop",
        env = "OPFLEET_FAULT_BATCHER_STOP",
        value_delimiter = ','
    )]
    fault_batcher_stop: Vec<ChainId>,
    /// Stopped batchers resume after this many seconds (never when absent).
    #[arg(
        long = "fault.batcher-resume-after",
        env = "OPFLEET_FAULT_BATCHER_RESUME_AFTER"
    )]
    fault_batcher_resume_after: Option<u64>,
    /// Fleet nodes to kill (e.g. sequencer-901, batcher-902, supernode-0, follower-1).
    #[arg(long = "fault.kill", env = "OPFLEET_FAULT_KILL", value_delimiter = ',')]
    fault_kill: Vec<String>,
    /// Killed nodes restart after this many seconds (never when absent).
    #[arg(long = "fault.restart-after", env = "OPFLEET_FAULT_RESTART_AFTER")]
    fault_restart_after: Option<u64>,
}

impl Cli {
    fn config(self) -> DevnetConfig {
        let chain_ids = if self.chain_ids.is_empty() {
            DevnetConfig::numbered_chains(self.chains)
        } else {
            self.chain_ids
        };
        let ports = if self.ephemeral_ports {
            Ports {
                host: self.host,
                ..Ports::ephemeral()
            }
        } else {
            Ports {
                host: self.host,
                l1_rpc: self.l1_port,
                beacon: self.beacon_port,
                admin: self.admin_port,
                el_engine: self.el_engine_port,
                el_rpc: self.el_rpc_port,
                p2p: self.p2p_port,
                supernode_rpc: self.supernode_rpc_port,
                follower_rpc: self.follower_rpc_port,
            }
        };
        let out_dir = self.out_dir.unwrap_or_else(|| {
            self.endpoints_file
                .as_deref()
                .and_then(|f| f.parent())
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("opfleet-devnet"), PathBuf::from)
        });
        let defaults = DevnetConfig::new();
        DevnetConfig {
            chain_ids,
            fork: match self.fork {
                Fork::Isthmus => DevnetFork::Isthmus,
                Fork::Jovian => DevnetFork::Jovian,
            },
            interop: !self.no_interop,
            da: match self.da {
                Da::Blobs => DataAvailability::Blobs,
                Da::Calldata => DataAvailability::calldata(),
            },
            compression: match self.compression {
                Compressor::Zlib => Compression::Zlib,
                Compressor::Brotli => Compression::Brotli {
                    level: DEFAULT_BROTLI_LEVEL,
                },
            },
            l1_block_time: self.l1_block_time,
            l1_blob_retention: (self.l1_blob_retention > 0).then_some(self.l1_blob_retention),
            l2_block_time: self.l2_block_time,
            out_dir,
            endpoints_file: self.endpoints_file,
            ports,
            faults: FaultPlan {
                at: Duration::from_secs(self.fault_at),
                l1_reorg_depth: self.fault_l1_reorg,
                l1_reorg_mode: if self.fault_l1_reorg_drop_txs {
                    ReorgMode::DropSubmitted
                } else {
                    ReorgMode::Requeue
                },
                invalid_executing_message: self.fault_invalid_message,
                equivocate: self.fault_equivocate,
                batcher_stop: self.fault_batcher_stop,
                batcher_resume_after: self.fault_batcher_resume_after.map(Duration::from_secs),
                kill: self.fault_kill,
                restart_after: self.fault_restart_after.map(Duration::from_secs),
            },
            supernodes: self.supernodes,
            followers: self.followers,
            follower_threshold: self.follower_threshold,
            ..defaults
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "no SIGTERM handler; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let progress = Duration::from_secs(cli.progress_interval);
    let config = cli.config();
    // Two worker threads are plenty for this load and keep the footprint small.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("opfleet-devnet: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(config, progress))
}

async fn run(config: DevnetConfig, progress: Duration) -> ExitCode {
    let devnet = match Devnet::start(config).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("opfleet-devnet: {e}");
            return ExitCode::FAILURE;
        }
    };
    for line in devnet.endpoints().lines() {
        println!("{line}");
    }
    tracing::info!("devnet running; Ctrl-C stops it");
    let stop = shutdown_signal();
    tokio::pin!(stop);
    let mut ticker = (!progress.is_zero()).then(|| tokio::time::interval(progress));
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = async {
                match ticker.as_mut() {
                    Some(t) => { t.tick().await; }
                    None => std::future::pending::<()>().await,
                }
            } => {
                tracing::info!("{}", devnet.status());
            }
        }
    }
    tracing::info!("stopping");
    match tokio::time::timeout(Duration::from_secs(10), devnet.stop()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => {
            eprintln!("opfleet-devnet: components did not stop within 10 s");
            ExitCode::FAILURE
        }
    }
}
