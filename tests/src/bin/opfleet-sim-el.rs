//! `opfleet-sim-el`: one more simulated execution client for a running devnet chain, for an
//! outside consensus client (op-node, kona-node) to drive: same chain rules and genesis as the
//! devnet's own instance, taken from the chain's `rollup.json`.
//!
//! ```text
//!  rollup-<id>.json ─▶ chain id, L2 genesis time, gas limit, Isthmus/Jovian times ─▶ ChainSpec
//!  jwt-<id>.hex ─────▶ Engine API secret
//!  genesis hash of the spec == rollup.json genesis.l2.hash, or exit 1
//!  --sync-from URL ──▶ blocks it is told of but lacks are fetched from that execution client
//!                      (EL sync, `el::sync`), so a consensus client joining late sees VALID
//! ```

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use opfleet_protocol::config::RollupConfig;
use opfleet_tests::el::sync::SyncPeer;
use opfleet_tests::el::{
    ChainSpec, ForkSchedule, GenesisConfig, JwtSecret, SimEl, SimElConfig, SimElOptions,
};

/// A simulated OP Stack execution client for one devnet chain.
#[derive(Debug, Parser)]
#[command(name = "opfleet-sim-el", version)]
struct Cli {
    /// The chain's op-node rollup.json (as the devnet writes it).
    #[arg(long)]
    rollup: PathBuf,
    /// File with the Engine API JWT secret (hex).
    #[arg(long = "jwt-secret")]
    jwt_secret: PathBuf,
    /// Interface to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Engine API port (authenticated; also serves eth).
    #[arg(long = "engine-port")]
    engine_port: u16,
    /// Open eth JSON-RPC port.
    #[arg(long = "rpc-port")]
    rpc_port: u16,
    /// JSON-RPC URL of an execution client of the same chain (e.g. the devnet's `el_rpc`) to
    /// fetch missing blocks from (EL sync).
    #[arg(long = "sync-from")]
    sync_from: Option<String>,
    /// Blocks kept below the head when finalized is closer; 0 keeps every block.
    #[arg(long = "block-window", default_value_t = opfleet_tests::el::chain::DEFAULT_BLOCK_WINDOW)]
    block_window: u64,
}

/// The simulated chain spec a devnet chain's rollup configuration describes.
fn chain_spec(rollup: &RollupConfig) -> ChainSpec {
    let mut genesis = GenesisConfig::new(rollup.l2_chain_id, rollup.genesis.l2_time);
    genesis.gas_limit = rollup.genesis.system_config.gas_limit;
    let forks = ForkSchedule {
        isthmus_time: rollup.hardforks.isthmus_time,
        jovian_time: rollup.hardforks.jovian_time,
    };
    ChainSpec::new(rollup.l2_chain_id, genesis, forks)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("opfleet-sim-el: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("opfleet-sim-el: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let read =
        |p: &PathBuf| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let rollup = RollupConfig::from_rollup_json(&read(&cli.rollup)?)
        .map_err(|e| format!("{}: {e}", cli.rollup.display()))?;
    let jwt = JwtSecret::from_hex(&read(&cli.jwt_secret)?)
        .map_err(|e| format!("{}: {e}", cli.jwt_secret.display()))?;
    let options = SimElOptions {
        block_window: (cli.block_window > 0).then_some(cli.block_window),
        sync_from: cli.sync_from.clone().map(SyncPeer::Rpc),
    };
    let el = SimEl::spawn_with(
        SimElConfig {
            spec: chain_spec(&rollup),
            jwt_secret: jwt,
            engine_addr: SocketAddr::new(cli.host, cli.engine_port),
            rpc_addr: SocketAddr::new(cli.host, cli.rpc_port),
        },
        options,
    )
    .await
    .map_err(|e| format!("starting the execution client: {e}"))?;
    let genesis = el.genesis();
    if genesis.hash != rollup.genesis.l2.hash {
        el.stop().await;
        return Err(format!(
            "genesis {} of the simulated spec is not the rollup's L2 genesis {}",
            genesis.hash, rollup.genesis.l2.hash
        ));
    }
    println!("engine {}", el.engine_url());
    println!("rpc {}", el.rpc_url());
    tracing::info!(chain = %rollup.l2_chain_id, genesis = %genesis.hash, "simulated execution client running");
    let _ = tokio::signal::ctrl_c().await;
    el.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use opfleet_protocol::ChainId;
    use opfleet_tests::sequencer::{DevnetChainConfig, DevnetFork, RollupAnchor};

    #[tokio::test]
    async fn spec_from_rollup_json_has_the_devnet_genesis() {
        for fork in [DevnetFork::Isthmus, DevnetFork::Jovian] {
            let config = DevnetChainConfig {
                fork,
                ..DevnetChainConfig::devnet(ChainId(902))
            };
            let spec = config.chain_spec(1_700_000_000);
            let el = SimEl::spawn(SimElConfig::local(spec, JwtSecret::new([1; 32])))
                .await
                .unwrap();
            let l1 = opfleet_tests::l1::L1::spawn(opfleet_tests::l1::L1Config::devnet().manual())
                .await
                .unwrap();
            let rollup = config.rollup_config(&RollupAnchor::new(&l1, l1.genesis(), &el.genesis()));
            let back = RollupConfig::from_rollup_json(&rollup.to_rollup_json().unwrap()).unwrap();
            assert_eq!(chain_spec(&back), spec, "{fork:?}");
            el.stop().await;
            l1.stop().await;
        }
    }
}
