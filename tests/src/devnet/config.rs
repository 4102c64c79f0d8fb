//! What a devnet is made of: its chains, forks, data availability, timing, ports and the faults
//! planned at start.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::{Address, B256, keccak256};
use opfleet_protocol::ChainId;
use opfleet_protocol::compression::Compression;

use crate::batcher::DataAvailability;
use crate::sequencer::{DevnetFork, TxGenConfig};

/// Fixed default ports, so an operator can point op-node or kona-node at a devnet without
/// reading the endpoints file. Per-chain ports add the chain's index (0, 1, ...).
pub mod default_ports {
    /// L1 execution JSON-RPC.
    pub const L1_RPC: u16 = 8545;
    /// L1 beacon API.
    pub const BEACON: u16 = 5052;
    /// Admin (fault) JSON-RPC.
    pub const ADMIN: u16 = 9645;
    /// First chain's execution client Engine API.
    pub const EL_ENGINE: u16 = 8551;
    /// First chain's execution client open RPC.
    pub const EL_RPC: u16 = 9545;
    /// First chain's sequencer libp2p listener.
    pub const P2P: u16 = 9222;
    /// First supernode's JSON-RPC (HTTP and WebSocket); supernode `i` uses `+ i`.
    pub const SUPERNODE_RPC: u16 = 9560;
    /// First follower's JSON-RPC; follower `i` uses `+ i`.
    pub const FOLLOWER_RPC: u16 = 9580;
}

/// Where the devnet listens. Port 0 picks a free port; per-chain bases of 0 make every chain's
/// port free-picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    /// Interface every listener binds to.
    pub host: IpAddr,
    /// L1 execution JSON-RPC.
    pub l1_rpc: u16,
    /// L1 beacon API.
    pub beacon: u16,
    /// Admin JSON-RPC.
    pub admin: u16,
    /// Engine API port of the first chain; chain `i` uses `el_engine + i`.
    pub el_engine: u16,
    /// Open RPC port of the first chain; chain `i` uses `el_rpc + i`.
    pub el_rpc: u16,
    /// Sequencer libp2p port of the first chain; chain `i` uses `p2p + i`.
    pub p2p: u16,
    /// RPC port of the first supernode of the pool; supernode `i` uses `supernode_rpc + i`.
    pub supernode_rpc: u16,
    /// RPC port of the first follower; follower `i` uses `follower_rpc + i`.
    pub follower_rpc: u16,
}

impl Ports {
    /// The fixed defaults (see [`default_ports`]) on 127.0.0.1.
    pub fn fixed() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            l1_rpc: default_ports::L1_RPC,
            beacon: default_ports::BEACON,
            admin: default_ports::ADMIN,
            el_engine: default_ports::EL_ENGINE,
            el_rpc: default_ports::EL_RPC,
            p2p: default_ports::P2P,
            supernode_rpc: default_ports::SUPERNODE_RPC,
            follower_rpc: default_ports::FOLLOWER_RPC,
        }
    }

    /// Every port free-picked on 127.0.0.1 (tests run many devnets side by side).
    pub fn ephemeral() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            l1_rpc: 0,
            beacon: 0,
            admin: 0,
            el_engine: 0,
            el_rpc: 0,
            p2p: 0,
            supernode_rpc: 0,
            follower_rpc: 0,
        }
    }

    /// `host:port`.
    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.host, port)
    }

    /// `host:(base + index)`, or a free port when `base` is 0.
    pub fn chain_addr(&self, base: u16, index: usize) -> Result<SocketAddr, ConfigError> {
        if base == 0 {
            return Ok(self.addr(0));
        }
        u16::try_from(index)
            .ok()
            .and_then(|i| base.checked_add(i))
            .map(|p| self.addr(p))
            .ok_or(ConfigError::PortOverflow { base, index })
    }
}

/// Faults applied once, `at` after the world started (the same actions as the admin API).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// Delay after start.
    pub at: Duration,
    /// Reorg this many L1 blocks away.
    pub l1_reorg_depth: Option<u64>,
    /// What the reorg does with the dropped blocks' transactions.
    pub l1_reorg_mode: crate::l1::ReorgMode,
    /// Chains whose next block executes a message for a log that does not exist.
    pub invalid_executing_message: Vec<ChainId>,
    /// Chains whose sequencer signs two different blocks at the next height.
    pub equivocate: Vec<ChainId>,
    /// Chains whose batcher stops.
    pub batcher_stop: Vec<ChainId>,
    /// Stopped batchers resume this long after they stopped (never when `None`).
    pub batcher_resume_after: Option<Duration>,
    /// Fleet nodes killed.
    pub kill: Vec<String>,
    /// Killed nodes restart this long after they were killed (never when `None`).
    pub restart_after: Option<Duration>,
}

impl FaultPlan {
    /// Whether the plan does anything.
    pub fn is_empty(&self) -> bool {
        self.l1_reorg_depth.is_none()
            && self.invalid_executing_message.is_empty()
            && self.equivocate.is_empty()
            && self.batcher_stop.is_empty()
            && self.kill.is_empty()
    }
}

/// Everything [`super::Devnet::start`] needs.
#[derive(Clone, Debug)]
pub struct DevnetConfig {
    /// L2 chains, all in one interop dependency set.
    pub chain_ids: Vec<ChainId>,
    /// Newest fork of every chain, active from genesis.
    pub fork: DevnetFork,
    /// Whether the chains run interop (executing messages between them).
    pub interop: bool,
    /// Blobs or calldata.
    pub da: DataAvailability,
    /// Channel compression.
    pub compression: Compression,
    /// Seconds per L1 block.
    pub l1_block_time: u64,
    /// Seconds per L2 block.
    pub l2_block_time: u64,
    /// L1 blocks whose blobs the beacon API keeps serving (older finalized ones are pruned, as
    /// beacon nodes do after their retention window); `None` keeps every blob. Bounds memory:
    /// a blob is 128 KiB however little it carries.
    pub l1_blob_retention: Option<u64>,
    /// L1 blocks the sequencer's next origin stays below the L1 head (op-node's
    /// `--sequencer.l1-confs`, 4 by default): reorgs up to this depth never touch an origin.
    pub sequencer_l1_confs: u64,
    /// User traffic per L2 block.
    pub txgen: TxGenConfig,
    /// Where rollup.json, JWT secrets and (by default) the endpoints file go.
    pub out_dir: PathBuf,
    /// Where the endpoints JSON is written (`None`: not written).
    pub endpoints_file: Option<PathBuf>,
    /// Listen addresses.
    pub ports: Ports,
    /// Faults applied after start.
    pub faults: FaultPlan,
    /// Supernodes of the pool started with the world (each derives every chain).
    pub supernodes: usize,
    /// Followers started with the world; follower `i` follows chain `i % chains`.
    pub followers: usize,
    /// How many pool members must attest a head before the world's followers take it.
    pub follower_threshold: usize,
}

/// Why a configuration is unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// No chains.
    #[error("a devnet needs at least one L2 chain")]
    NoChains,
    /// Two chains share an id.
    #[error("chain id {0} is listed twice")]
    DuplicateChain(ChainId),
    /// A chain id equals the L1's.
    #[error("chain id {0} is the L1's chain id")]
    L1ChainId(ChainId),
    /// A block time of zero.
    #[error("{0} block time must be at least 1 s")]
    ZeroBlockTime(&'static str),
    /// Followers need more signatures than the pool has members.
    #[error("follower threshold {threshold} is not within 1..={supernodes} (the pool's size)")]
    FollowerThreshold {
        /// The threshold.
        threshold: usize,
        /// Pool members.
        supernodes: usize,
    },
    /// A per-chain port does not fit in 16 bits.
    #[error("port {base} + chain index {index} is past 65535")]
    PortOverflow {
        /// Base port.
        base: u16,
        /// Chain index.
        index: usize,
    },
}

/// Default blob retention in L1 blocks (see `crate::l1::retention`).
pub const DEFAULT_BLOB_RETENTION: u64 = crate::l1::retention::DEFAULT_BLOB_RETENTION;

/// The simulated L1's chain id.
pub const L1_CHAIN_ID: ChainId = ChainId(900);

impl DevnetConfig {
    /// The defaults: chains 901 and 902 in one interop set, Isthmus, blobs, zlib, 2 s L1 and
    /// L2 blocks, a pool of 3 supernodes and 4 followers (threshold 2), fixed ports, output in
    /// `./opfleet-devnet`.
    pub fn new() -> Self {
        Self {
            chain_ids: vec![ChainId(901), ChainId(902)],
            fork: DevnetFork::Isthmus,
            interop: true,
            da: DataAvailability::Blobs,
            compression: Compression::Zlib,
            l1_block_time: 2,
            l2_block_time: 2,
            l1_blob_retention: Some(DEFAULT_BLOB_RETENTION),
            sequencer_l1_confs: 4,
            txgen: TxGenConfig {
                initiating_per_block: 1,
                executing_per_block: 1,
                ..TxGenConfig::default()
            },
            out_dir: PathBuf::from("opfleet-devnet"),
            endpoints_file: None,
            ports: Ports::fixed(),
            faults: FaultPlan::default(),
            supernodes: 3,
            followers: 4,
            follower_threshold: 2,
        }
    }

    /// The defaults with free ports, output in `out_dir`, and no supernode or follower (tests
    /// that want them ask for them: they cost a derivation per chain each).
    pub fn ephemeral(out_dir: PathBuf) -> Self {
        Self {
            out_dir,
            ports: Ports::ephemeral(),
            supernodes: 0,
            followers: 0,
            ..Self::new()
        }
    }

    /// Chains `901, 902, ...`, `n` of them.
    pub fn numbered_chains(n: usize) -> Vec<ChainId> {
        (0..n as u64).map(|i| ChainId(901 + i)).collect()
    }

    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.chain_ids.is_empty() {
            return Err(ConfigError::NoChains);
        }
        for (i, id) in self.chain_ids.iter().enumerate() {
            if self.chain_ids.get(..i).is_some_and(|s| s.contains(id)) {
                return Err(ConfigError::DuplicateChain(*id));
            }
            if *id == L1_CHAIN_ID {
                return Err(ConfigError::L1ChainId(*id));
            }
        }
        if self.l1_block_time == 0 {
            return Err(ConfigError::ZeroBlockTime("L1"));
        }
        if self.l2_block_time == 0 {
            return Err(ConfigError::ZeroBlockTime("L2"));
        }
        let last = self.chain_ids.len() - 1;
        for base in [self.ports.el_engine, self.ports.el_rpc, self.ports.p2p] {
            self.ports.chain_addr(base, last)?;
        }
        if self.followers > 0
            && (self.follower_threshold == 0 || self.follower_threshold > self.supernodes)
        {
            return Err(ConfigError::FollowerThreshold {
                threshold: self.follower_threshold,
                supernodes: self.supernodes,
            });
        }
        if let Some(last) = self.supernodes.checked_sub(1) {
            self.ports.chain_addr(self.ports.supernode_rpc, last)?;
        }
        if let Some(last) = self.followers.checked_sub(1) {
            self.ports.chain_addr(self.ports.follower_rpc, last)?;
        }
        Ok(())
    }
}

impl Default for DevnetConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Deterministic secrets of a devnet, so restarts and operators see the same keys and peer ids.
pub mod keys {
    use super::*;

    fn derive(label: &str, chain: Option<ChainId>) -> B256 {
        let mut seed = b"opfleet devnet ".to_vec();
        seed.extend_from_slice(label.as_bytes());
        if let Some(c) = chain {
            seed.extend_from_slice(&c.get().to_be_bytes());
        }
        keccak256(seed)
    }

    /// The batcher key of every chain (the L1 has one SystemConfig, so one batcher address;
    /// the chains differ by batch inbox).
    pub fn batcher() -> B256 {
        derive("batcher", None)
    }

    /// The unsafe block signer key of `chain`'s sequencer.
    pub fn sequencer(chain: ChainId) -> B256 {
        derive("sequencer", Some(chain))
    }

    /// The libp2p identity secret of `chain`'s sequencer node.
    pub fn p2p_identity(chain: ChainId) -> B256 {
        derive("p2p identity", Some(chain))
    }

    /// The Engine API JWT secret of `chain`'s execution client.
    pub fn jwt(chain: ChainId) -> [u8; 32] {
        derive("jwt", Some(chain)).0
    }

    /// The attestation signing key (ed25519 seed) of the world's supernode `index`.
    pub fn supernode_signer(index: usize) -> [u8; 32] {
        derive(&format!("supernode signer {index}"), None).0
    }

    /// The libp2p identity secret (secp256k1) of the fleet node named `node` (its attestation
    /// gossip or block gossip identity), stable across restarts.
    pub fn node_p2p(node: &str) -> B256 {
        derive(&format!("node p2p {node}"), None)
    }

    /// The fleet's pre-shared key of the private attestation gossip (go-libp2p swarm.key).
    pub fn swarm_key() -> [u8; 32] {
        derive("swarm key", None).0
    }

    /// The batch inbox of `chain`: `0xff` then the chain id in the last 8 bytes.
    pub fn batch_inbox(chain: ChainId) -> Address {
        let mut a = [0u8; 20];
        a[0] = 0xff;
        a[12..].copy_from_slice(&chain.get().to_be_bytes());
        Address::from(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_have_two_distinct_chains() {
        let c = DevnetConfig::new();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.chain_ids, vec![ChainId(901), ChainId(902)]);
        assert!(c.faults.is_empty());
        assert_eq!((c.supernodes, c.followers, c.follower_threshold), (3, 4, 2));
        let e = DevnetConfig::ephemeral(PathBuf::from("x"));
        assert_eq!((e.supernodes, e.followers), (0, 0));
        assert_eq!(e.validate(), Ok(()));
    }

    #[test]
    fn follower_threshold_fits_the_pool() {
        let mut c = DevnetConfig::new();
        c.follower_threshold = 4;
        assert_eq!(
            c.validate(),
            Err(ConfigError::FollowerThreshold {
                threshold: 4,
                supernodes: 3
            })
        );
        c.followers = 0;
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn rejects_bad_chain_sets() {
        let mut c = DevnetConfig::new();
        c.chain_ids = vec![];
        assert_eq!(c.validate(), Err(ConfigError::NoChains));
        c.chain_ids = vec![ChainId(901), ChainId(901)];
        assert_eq!(c.validate(), Err(ConfigError::DuplicateChain(ChainId(901))));
        c.chain_ids = vec![L1_CHAIN_ID];
        assert_eq!(c.validate(), Err(ConfigError::L1ChainId(L1_CHAIN_ID)));
        c.chain_ids = vec![ChainId(1)];
        c.l2_block_time = 0;
        assert_eq!(c.validate(), Err(ConfigError::ZeroBlockTime("L2")));
    }

    #[test]
    fn per_chain_ports_offset_by_index_or_stay_free() {
        let p = Ports::fixed();
        assert_eq!(
            p.chain_addr(p.p2p, 1).unwrap().port(),
            default_ports::P2P + 1
        );
        assert_eq!(Ports::ephemeral().chain_addr(0, 7).unwrap().port(), 0);
        assert_eq!(
            p.chain_addr(65535, 1),
            Err(ConfigError::PortOverflow {
                base: 65535,
                index: 1
            })
        );
    }

    #[test]
    fn keys_differ_per_chain_and_inboxes_carry_the_chain_id() {
        assert_ne!(keys::sequencer(ChainId(901)), keys::sequencer(ChainId(902)));
        assert_ne!(keys::jwt(ChainId(901)), keys::jwt(ChainId(902)));
        let inbox = keys::batch_inbox(ChainId(0x385));
        assert_eq!(
            inbox.to_string().to_lowercase(),
            "0xff00000000000000000000000000000000000385"
        );
    }
}
