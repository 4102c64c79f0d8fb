//! Supernodes of the devnet, in-process, started through the supernode's own library entry
//! points (`node::derivation::start` for `run`, `attester::service::start` for `attest`) with a
//! configuration resolved by the supernode's own `config::resolve`, as its binary does.
//!
//! ```text
//!  SupernodeSpec ─▶ FleetSupernode::start
//!     data dir out_dir/<name>/: signer.key (ed25519), p2p.key (gossip identity), SQLite
//!     derive: one own SimEl per chain ◀─ Engine API ── derivation (L1 + beacon of the world)
//!     attest: polls an op-node-shaped URL per chain (optimism_syncStatus), no EL
//!     RPC http://host:port (root attest_*, /<chainid>/), gossip on the fleet's swarm.key
//!  kill: Node::abort (as a crash), gossip node stopped; data dir and ELs kept
//!  restart: same config (same RPC port, gossip port and identity), same ELs
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;
use opfleet_attest::{PublicKey, SigningKey};
use opfleet_protocol::ChainId;
use opfleet_supernode::attester::{CanonicalL1, L1Rpc};
use opfleet_supernode::config::{self as sn_config, AttestP2p, Endpoints, FileConfig, Mode};
use opfleet_supernode::node::service::Node;
use opfleet_supernode::publish::{AttestSink, gossip};

use super::config::keys;
use super::context::{FleetContext, FleetStartError, write_secret};
use super::fleet::{FleetError, FleetNode, NodeKind};
use super::lifecycle::Lifecycle;
use crate::el::SimElHandle;

/// `--l1.cache-bytes` of each in-process supernode (see where it is set).
pub const DEVNET_L1_CACHE_BYTES: usize = 4 * 1024 * 1024;
/// `--l1.cache-entries` of each in-process supernode: headers, transaction and receipt lists
/// and blobs of about 128 L1 blocks.
pub const DEVNET_L1_CACHE_ENTRIES: usize = 512;

/// How a supernode makes its heads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SupernodeMode {
    /// `opfleet-supernode run`: derive every chain of the spec from the world's L1 and beacon,
    /// each into an execution client of its own.
    Derive,
    /// `opfleet-supernode attest`: sign what an op-node-shaped CL reports, per chain
    /// (`--l2.<chainid>.follow URL`). With the sequencer's op-node (or a supernode's
    /// `/<chainid>/` prefix) as the URL and a key the followers trust alone (threshold 1), this
    /// is the sequencer-attested following mode.
    Attest {
        /// The URL followed per chain.
        follow: BTreeMap<ChainId, String>,
    },
}

/// What a test asks of a supernode.
#[derive(Clone, Debug)]
pub struct SupernodeSpec {
    /// Name in the fleet registry (`supernode-<n>` when `None`).
    pub name: Option<String>,
    /// The ed25519 attestation signing key seed.
    pub signer: [u8; 32],
    /// The chains (derive mode; empty: every chain of the world). Attest mode signs the chains
    /// of its `follow` map.
    pub chains: Vec<ChainId>,
    /// Derive or attest.
    pub mode: SupernodeMode,
    /// Publish on the fleet's private attestation gossip.
    pub attest_gossip: bool,
    /// Whether it joins the pool: the world's default follower specs use the pool's URLs,
    /// keys and gossip addresses.
    pub join_pool: bool,
}

impl SupernodeSpec {
    /// A deriving supernode of every chain, publishing on gossip, outside the pool.
    pub fn deriving(signer: [u8; 32]) -> Self {
        Self {
            name: None,
            signer,
            chains: Vec::new(),
            mode: SupernodeMode::Derive,
            attest_gossip: true,
            join_pool: false,
        }
    }

    /// An attester of one chain following `url` (`attest --follow URL`), publishing on gossip,
    /// outside the pool.
    pub fn attester(signer: [u8; 32], chain: ChainId, url: impl Into<String>) -> Self {
        Self {
            name: None,
            signer,
            chains: vec![chain],
            mode: SupernodeMode::Attest {
                follow: BTreeMap::from([(chain, url.into())]),
            },
            attest_gossip: true,
            join_pool: false,
        }
    }

    /// The public key of its signer.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::of(&SigningKey::from_bytes(&self.signer))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Running {
    node: Node,
    gossip: Option<Arc<gossip::GossipSink>>,
}

/// A supernode of the devnet (a `FleetNode` of kind `Supernode`).
pub struct FleetSupernode {
    name: String,
    mode: Mode,
    chains: Vec<ChainId>,
    signer: PublicKey,
    key_file: PathBuf,
    data_dir: PathBuf,
    in_pool: bool,
    config: Mutex<sn_config::NodeConfig>,
    els: Mutex<Vec<(ChainId, Arc<SimElHandle>)>>,
    gossip_addr: Mutex<Option<Multiaddr>>,
    rpc_addr: Mutex<SocketAddr>,
    state: Lifecycle<Running>,
}

impl FleetSupernode {
    /// Builds the node's files, execution clients and configuration, and starts it with its
    /// RPC on `rpc_addr` (port 0: a free one, kept for restarts).
    pub async fn start(
        ctx: &FleetContext,
        name: String,
        spec: &SupernodeSpec,
        rpc_addr: SocketAddr,
    ) -> Result<Arc<Self>, FleetStartError> {
        let spec_err = |reason: String| FleetStartError::Spec {
            node: name.clone(),
            reason,
        };
        let (mode, chains) = match &spec.mode {
            SupernodeMode::Derive if spec.chains.is_empty() => (Mode::Derive, ctx.chain_ids()),
            SupernodeMode::Derive => (Mode::Derive, spec.chains.clone()),
            SupernodeMode::Attest { follow } if follow.is_empty() => {
                return Err(spec_err("attest mode needs a URL to follow".into()));
            }
            SupernodeMode::Attest { follow } => (Mode::Attest, follow.keys().copied().collect()),
        };
        let data_dir = ctx.data_dir(&name)?;
        let key = SigningKey::from_bytes(&spec.signer);
        let key_file = data_dir.join("signer.key");
        opfleet_attest::keys::save_secret_key(&key_file, &key).map_err(|e| {
            FleetStartError::Io {
                node: name.clone(),
                path: key_file.clone(),
                reason: e.to_string(),
            }
        })?;
        let p2p_key = data_dir.join("p2p.key");
        write_secret(&name, &p2p_key, &format!("{}\n", keys::node_p2p(&name)))?;

        let mut els = Vec::new();
        let mut endpoints = BTreeMap::new();
        let mut rollup_configs = Vec::new();
        for &id in &chains {
            let chain = ctx.chain(id)?;
            rollup_configs.push(chain.rollup_file.clone());
            let mut e = Endpoints::default();
            match &spec.mode {
                SupernodeMode::Derive => {
                    let el = ctx.spawn_el(&name, chain).await?;
                    e.engine = Some(el.engine_url());
                    e.rpc = Some(el.rpc_url());
                    e.jwt_secret = Some(chain.jwt_file.clone());
                    els.push((id, Arc::new(el)));
                }
                SupernodeMode::Attest { follow } => {
                    e.follow = follow.get(&id).cloned();
                }
            }
            endpoints.insert(id, e);
        }
        let overrides = sn_config::Overrides {
            rollup_configs,
            chain_endpoints: endpoints,
            l1: Some(ctx.l1_rpc.clone()),
            l1_beacon: (mode == Mode::Derive).then(|| ctx.beacon.clone()),
            // The devnet L1 runs Prague from genesis (chain 900 has no built-in schedule).
            l1_prague_time: Some(0),
            // The production default (256 MiB) is sized for a real L1 with many chains' blobs;
            // here three supernodes share one process and the devnet posts about one 128 KiB
            // blob per L1 block, which derivation reads once, right after it lands. 4 MiB
            // (32 blobs, about a minute of L1 at 2 s) covers a shallow reorg's re-reads; a
            // deeper reset reads the beacon API again, which keeps 200 L1 blocks of blobs.
            // The fleet's caches stay at 12 MiB instead of up to 768 MiB (the devnet's memory
            // budget is 300 MB for everything).
            l1_cache_entries: Some(DEVNET_L1_CACHE_ENTRIES),
            l1_cache_bytes: Some(DEVNET_L1_CACHE_BYTES),
            data_dir: Some(data_dir.clone()),
            signer_key: Some(key_file.clone()),
            rpc_addr: Some(rpc_addr.ip()),
            rpc_port: Some(rpc_addr.port()),
            p2p_attest: if spec.attest_gossip {
                AttestP2p {
                    listen: Some(ctx.tcp_multiaddr(0)),
                    psk: Some(ctx.swarm_key.clone()),
                    static_peers: Vec::new(),
                    priv_path: Some(p2p_key),
                }
            } else {
                AttestP2p::default()
            },
            ..Default::default()
        };
        let config = sn_config::resolve(FileConfig::default(), overrides, mode).map_err(|e| {
            FleetStartError::Config {
                node: name.clone(),
                reason: e.to_string(),
            }
        })?;
        let node = Arc::new(Self {
            signer: PublicKey::of(&key),
            name,
            mode,
            chains,
            key_file,
            data_dir,
            in_pool: spec.join_pool,
            config: Mutex::new(config),
            els: Mutex::new(els),
            gossip_addr: Mutex::new(None),
            rpc_addr: Mutex::new(rpc_addr),
            state: Lifecycle::new(),
        });
        node.state.start(&node.name, node.launch()).await?;
        Ok(node)
    }

    /// Starts the node from its configuration (as `opfleet-supernode run|attest` does after
    /// resolving it) and pins the ports it got for later restarts.
    async fn launch(&self) -> Result<Running, String> {
        let config = lock(&self.config).clone();
        let key = opfleet_attest::keys::load_secret_key(&config.signer_key)
            .map_err(|e| format!("--signer.key: {e}"))?;
        let gossip = match &config.p2p_attest {
            Some(p2p) => {
                let chains = config.chains.iter().map(|c| c.chain_id()).collect();
                let g = gossip::gossip_config(p2p, chains, &config.data_dir)
                    .map_err(|e| e.to_string())?;
                let sink = gossip::spawn(g).await.map_err(|e| e.to_string())?;
                let addr = sink
                    .0
                    .listen_addrs()
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .next()
                    .ok_or("the attestation gossip node has no listen address")?;
                let port = addr.iter().find_map(|p| match p {
                    Protocol::Tcp(port) => Some(port),
                    _ => None,
                });
                if let Some(port) = port {
                    let mut c = lock(&self.config);
                    if let Some(p) = c.p2p_attest.as_mut() {
                        p.listen = Some(addr.to_string());
                    }
                    tracing::debug!(node = %self.name, port, "attestation gossip port pinned");
                }
                *lock(&self.gossip_addr) = Some(addr.with(Protocol::P2p(sink.0.local_peer_id())));
                Some(Arc::new(sink))
            }
            None => None,
        };
        let sink = gossip.clone().map(|g| g as Arc<dyn AttestSink>);
        let node = match self.mode {
            Mode::Derive => opfleet_supernode::node::derivation::start(&config, key, sink).await,
            Mode::Attest => {
                let l1: Arc<dyn CanonicalL1> =
                    Arc::new(L1Rpc::new(&config.l1).map_err(|e| format!("--l1: {e}"))?);
                opfleet_supernode::attester::service::start(&config, key, l1, sink).await
            }
        }
        .map_err(|e| e.to_string())?;
        let addr = node.rpc_addr();
        *lock(&self.rpc_addr) = addr;
        lock(&self.config).rpc = addr;
        Ok(Running { node, gossip })
    }

    /// `run` or `attest`.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The chains it signs.
    pub fn chain_ids(&self) -> &[ChainId] {
        &self.chains
    }

    /// Its attestation signer.
    pub fn signer(&self) -> PublicKey {
        self.signer
    }

    /// Whether it is a member of the world's pool.
    pub fn in_pool(&self) -> bool {
        self.in_pool
    }

    /// Its RPC address.
    pub fn rpc_addr(&self) -> SocketAddr {
        *lock(&self.rpc_addr)
    }

    /// `http://` URL of its root RPC (`/<chainid>/` below it for the per-chain prefix).
    pub fn rpc_url(&self) -> String {
        format!("http://{}", self.rpc_addr())
    }

    /// `ws://` URL of its root RPC (`attest_subscribe`).
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.rpc_addr())
    }

    /// `http://host:port/<chainid>/`: the op-node-shaped endpoint of one chain.
    pub fn chain_url(&self, chain: ChainId) -> String {
        format!("http://{}/{chain}/", self.rpc_addr())
    }

    /// Its attestation gossip multiaddr with `/p2p/<peer id>` (`None` without gossip).
    pub fn gossip_addr(&self) -> Option<Multiaddr> {
        lock(&self.gossip_addr).clone()
    }

    /// Its data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// Its signing key file.
    pub fn key_file(&self) -> &std::path::Path {
        &self.key_file
    }

    /// Its execution client of `chain` (derive mode).
    pub fn el(&self, chain: ChainId) -> Option<Arc<SimElHandle>> {
        lock(&self.els)
            .iter()
            .find(|(c, _)| *c == chain)
            .map(|(_, el)| el.clone())
    }

    /// Stops its execution clients (the world's stop; after a kill).
    pub async fn stop_els(&self) {
        let els = std::mem::take(&mut *lock(&self.els));
        for (_, el) in els {
            if let Ok(el) = Arc::try_unwrap(el) {
                el.stop().await;
            }
        }
    }
}

#[async_trait::async_trait]
impl FleetNode for FleetSupernode {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> NodeKind {
        NodeKind::Supernode
    }

    fn endpoints(&self) -> serde_json::Value {
        let els: Vec<_> = lock(&self.els)
            .iter()
            .map(|(chain, el)| {
                serde_json::json!({
                    "chain_id": chain,
                    "el_engine": el.engine_url(),
                    "el_rpc": el.rpc_url(),
                })
            })
            .collect();
        serde_json::json!({
            "name": self.name,
            "mode": match self.mode { Mode::Derive => "run", Mode::Attest => "attest" },
            "rpc": self.rpc_url(),
            "ws": self.ws_url(),
            "chain_ids": self.chains,
            "signer": self.signer,
            "attest_gossip": self.gossip_addr().map(|a| a.to_string()),
            "els": els,
            "data_dir": self.data_dir,
            "pool": self.in_pool,
        })
    }

    fn is_running(&self) -> bool {
        self.state.is_running()
    }

    async fn kill(&self) -> Result<(), FleetError> {
        self.state
            .kill(&self.name, |Running { node, gossip }| async move {
                node.abort().await;
                if let Some(g) = gossip
                    && let Ok(g) = Arc::try_unwrap(g)
                {
                    g.0.shutdown().await;
                }
            })
            .await
    }

    async fn restart(&self) -> Result<(), FleetError> {
        self.state.restart(&self.name, self.launch()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_say_what_they_run() {
        let d = SupernodeSpec::deriving([1; 32]);
        assert_eq!(d.mode, SupernodeMode::Derive);
        assert!(d.chains.is_empty() && d.attest_gossip && !d.join_pool);
        let a = SupernodeSpec::attester([2; 32], ChainId(901), "http://x:9545");
        assert_eq!(a.chains, vec![ChainId(901)]);
        let SupernodeMode::Attest { follow } = &a.mode else {
            panic!("not attest");
        };
        assert_eq!(
            follow.get(&ChainId(901)).map(String::as_str),
            Some("http://x:9545")
        );
        assert_eq!(
            a.public_key(),
            PublicKey::of(&SigningKey::from_bytes(&[2; 32]))
        );
        assert_ne!(a.public_key(), d.public_key());
    }
}
