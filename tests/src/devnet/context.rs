//! What every supernode and follower of a world starts from: the L1 and beacon URLs, the chains
//! (rollup.json, JWT file, execution-client spec, sequencer gossip address) and the fleet's
//! swarm key; and why such a node may fail to start.
//!
//! ```text
//!  World ── FleetContext ──▶ FleetSupernode::start(spec)   (own SimEl per chain, own data dir)
//!                       └──▶ FleetFollower::start(spec)    (own SimEl, own data dir)
//!  out_dir/swarm.key   out_dir/<node name>/   (database, key files)
//! ```

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use opfleet_protocol::ChainId;
use opfleet_protocol::config::RollupConfig;

use crate::el::{ChainSpec, JwtSecret, SimEl, SimElConfig, SimElHandle, SimElOptions, SpawnError};

/// Blocks each fleet node's execution client keeps below its head: about two minutes at 2 s
/// (it never prunes at or above finalized either, which trails the head by ~20 s on the
/// devnet). Fleet nodes read near their heads only: derivation's resets and consolidation start
/// at the safe head, a follower reorgs within unfinalized blocks and serves peers the blocks
/// they just missed. The world's sequencer keeps the default (ten minutes) for clients that
/// sync from it. Ten of these run in a default devnet, at ~12 KB per block.
pub const FLEET_EL_BLOCK_WINDOW: u64 = 64;

/// One chain as fleet nodes see it.
#[derive(Clone, Debug)]
pub struct FleetChain {
    /// The rollup configuration.
    pub rollup: RollupConfig,
    /// Its op-node rollup.json.
    pub rollup_file: PathBuf,
    /// The Engine API JWT secret every execution client of the chain uses.
    pub jwt: JwtSecret,
    /// The file holding it.
    pub jwt_file: PathBuf,
    /// What the chain's execution clients are built from (same genesis as the sequencer's).
    pub spec: ChainSpec,
    /// The sequencer's libp2p multiaddr with `/p2p/<peer id>`.
    pub sequencer_p2p: String,
    /// The unsafe block signer.
    pub unsafe_block_signer: Address,
}

impl FleetChain {
    /// The chain id.
    pub fn chain_id(&self) -> ChainId {
        self.rollup.l2_chain_id
    }
}

/// The world as its fleet nodes see it.
#[derive(Clone, Debug)]
pub struct FleetContext {
    /// L1 JSON-RPC URL.
    pub l1_rpc: String,
    /// L1 beacon API URL.
    pub beacon: String,
    /// Where listeners bind.
    pub host: IpAddr,
    /// The devnet's output directory (node data dirs go below it).
    pub out_dir: PathBuf,
    /// The fleet's swarm.key (private attestation gossip).
    pub swarm_key: PathBuf,
    /// The chains.
    pub chains: Vec<FleetChain>,
}

/// Why a supernode or follower did not start.
#[derive(Debug, thiserror::Error)]
pub enum FleetStartError {
    /// No such chain in the world.
    #[error("no chain {0} in this devnet")]
    UnknownChain(ChainId),
    /// The spec contradicts itself or the world.
    #[error("{node}: {reason}")]
    Spec {
        /// The node.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// An execution client did not start.
    #[error("{node}: execution client of chain {chain}: {source}")]
    El {
        /// The node.
        node: String,
        /// The chain.
        chain: ChainId,
        /// Why.
        source: SpawnError,
    },
    /// A file of the node could not be written.
    #[error("{node}: {path}: {reason}")]
    Io {
        /// The node.
        node: String,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The node's configuration was refused by its own resolution (as its binary would).
    #[error("{node}: configuration: {reason}")]
    Config {
        /// The node.
        node: String,
        /// Why.
        reason: String,
    },
    /// The node's library entry point failed.
    #[error("{node}: {reason}")]
    Start {
        /// The node.
        node: String,
        /// Why.
        reason: String,
    },
    /// The registry refused the node.
    #[error(transparent)]
    Fleet(#[from] super::fleet::FleetError),
}

impl FleetContext {
    /// The chain `id`.
    pub fn chain(&self, id: ChainId) -> Result<&FleetChain, FleetStartError> {
        self.chains
            .iter()
            .find(|c| c.chain_id() == id)
            .ok_or(FleetStartError::UnknownChain(id))
    }

    /// Every chain id, ascending as in the world.
    pub fn chain_ids(&self) -> Vec<ChainId> {
        self.chains.iter().map(FleetChain::chain_id).collect()
    }

    /// `host:port`.
    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.host, port)
    }

    /// A libp2p TCP multiaddr on the host.
    pub fn tcp_multiaddr(&self, port: u16) -> String {
        let proto = if self.host.is_ipv4() { "ip4" } else { "ip6" };
        format!("/{proto}/{}/tcp/{port}", self.host)
    }

    /// A fresh data directory for `node` under the output directory (emptied if it exists:
    /// a node name is used once per world).
    pub fn data_dir(&self, node: &str) -> Result<PathBuf, FleetStartError> {
        let dir = self.out_dir.join(node);
        let io = |e: std::io::Error| FleetStartError::Io {
            node: node.to_string(),
            path: dir.clone(),
            reason: e.to_string(),
        };
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io)?;
        }
        std::fs::create_dir_all(&dir).map_err(io)?;
        Ok(std::path::absolute(&dir).unwrap_or(dir))
    }

    /// A simulated execution client of `chain` on free ports, for `node`.
    pub async fn spawn_el(
        &self,
        node: &str,
        chain: &FleetChain,
    ) -> Result<SimElHandle, FleetStartError> {
        SimEl::spawn_with(
            SimElConfig {
                spec: chain.spec,
                jwt_secret: chain.jwt.clone(),
                engine_addr: self.addr(0),
                rpc_addr: self.addr(0),
            },
            SimElOptions {
                block_window: Some(FLEET_EL_BLOCK_WINDOW),
                sync_from: None,
            },
        )
        .await
        .map_err(|source| FleetStartError::El {
            node: node.to_string(),
            chain: chain.chain_id(),
            source,
        })
    }
}

/// Writes `text` to `path` with mode 0600 (it is a secret).
pub fn write_secret(node: &str, path: &Path, text: &str) -> Result<(), FleetStartError> {
    let io = |e: std::io::Error| FleetStartError::Io {
        node: node.to_string(),
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    std::fs::write(path, text).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    Ok(())
}
