//! Followers of the devnet, in-process, started through the follower's library entry point
//! (`FollowerNode::start` with an `EngineLayer` over its own execution client's Engine API and
//! eth RPC), with the `FollowerConfig` its `run` command would build from the same flags.
//!
//! ```text
//!  FollowerSpec ─▶ FleetFollower::start
//!     own SimEl of the chain ◀─ Engine API (JWT) ── FollowerNode ── RPC http://host:port
//!     unsafe blocks: block gossip, static peer = the chain's sequencer, or discv5 from
//!                    the spec's bootnodes (no static peer)
//!     safe/finalized: supernode URLs (ws push + poll) and/or the fleet's attestation gossip,
//!                     counted against trust keys + threshold; or --l2.follow.source URL
//!  kill: FollowerNode::abort (as a crash); data dir and EL kept
//!  restart: same config (same RPC, P2P and gossip ports, same P2P identity), same EL
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use libp2p::Multiaddr;
use opfleet_attest::PublicKey;
use opfleet_follower::config::{
    AttestGossipSettings, AttestedSources, FollowerConfig, HeadsSource, P2pSettings, check_url,
    trust_policy,
};
use opfleet_follower::engine::el_client::EngineLayer;
use opfleet_follower::heads::AcceptedHeads;
use opfleet_follower::node::{Extras, FollowerNode};
use opfleet_follower::rpc::{FollowerStatus, RpcState};
use opfleet_protocol::{ChainId, SyncStatus};
use tokio::sync::watch;

use super::config::keys;
use super::context::{FleetContext, FleetStartError};
use super::fleet::{FleetError, FleetNode, NodeKind};
use super::lifecycle::Lifecycle;
use crate::el::SimElHandle;

/// How often a follower polls `attest_latest` while a push subscription is down.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// `/healthz` bound on the safe head's age (the devnet's followers serve no `/healthz`).
const MAX_SAFE_AGE: Duration = Duration::from_secs(600);

/// What a test asks of a follower.
#[derive(Clone, Debug)]
pub struct FollowerSpec {
    /// Name in the fleet registry (`follower-<n>` when `None`).
    pub name: Option<String>,
    /// The chain followed.
    pub chain: ChainId,
    /// Supernode root URLs (`ws://` subscribes and polls, `http://` polls); any subset of the
    /// world's supernodes, or none.
    pub supernode_urls: Vec<String>,
    /// Join the fleet's private attestation gossip, dialling `gossip_peers`.
    pub attest_gossip: bool,
    /// Gossip peers to dial (multiaddrs with `/p2p/<peer id>`).
    pub gossip_peers: Vec<String>,
    /// Trusted attestation signers.
    pub trust_keys: Vec<PublicKey>,
    /// Distinct trusted signers needed for a head.
    pub threshold: usize,
    /// `--l2.follow.source URL`: follow an op-node-shaped `optimism_syncStatus` instead of
    /// attestations (the other attestation fields must then be empty).
    pub follow_source: Option<String>,
    /// `--verify.output-root`.
    pub verify_output_root: bool,
    /// Take unsafe blocks from the chain's block gossip (the sequencer as static peer).
    /// Without it the execution client only gets the blocks the follower fetches from its
    /// sources' `opfleet_payloadByNumber`.
    pub unsafe_gossip: bool,
    /// discv5 bootnodes (ENRs, e.g. the chain's `sequencer_enr`) for the block gossip: when any
    /// are given, the follower finds its peers by discovery and has no static peer.
    pub p2p_bootnodes: Vec<String>,
}

impl FollowerSpec {
    /// A follower of `chain` trusting `keys` with `threshold`, with no source yet.
    pub fn attested(chain: ChainId, trust_keys: Vec<PublicKey>, threshold: usize) -> Self {
        Self {
            name: None,
            chain,
            supernode_urls: Vec::new(),
            attest_gossip: false,
            gossip_peers: Vec::new(),
            trust_keys,
            threshold,
            follow_source: None,
            verify_output_root: false,
            unsafe_gossip: true,
            p2p_bootnodes: Vec::new(),
        }
    }

    /// A follower of `chain` in `--l2.follow.source URL` mode.
    pub fn follow_source(chain: ChainId, url: impl Into<String>) -> Self {
        Self {
            follow_source: Some(url.into()),
            ..Self::attested(chain, Vec::new(), 0)
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A follower of the devnet (a `FleetNode` of kind `Follower`).
pub struct FleetFollower {
    name: String,
    spec: FollowerSpec,
    jwt_file: PathBuf,
    data_dir: PathBuf,
    el: Arc<SimElHandle>,
    config: Mutex<FollowerConfig>,
    rpc_state: Mutex<Option<Arc<RpcState>>>,
    p2p_addr: Mutex<Option<Multiaddr>>,
    gossip_addr: Mutex<Option<Multiaddr>>,
    node: Lifecycle<FollowerNode>,
}

impl FleetFollower {
    /// Builds the follower's execution client, data dir and configuration and starts it with
    /// its RPC on `rpc_addr` (port 0: a free one, kept for restarts).
    pub async fn start(
        ctx: &FleetContext,
        name: String,
        spec: FollowerSpec,
        rpc_addr: SocketAddr,
    ) -> Result<Arc<Self>, FleetStartError> {
        let chain = ctx.chain(spec.chain)?;
        let data_dir = ctx.data_dir(&name)?;
        let el = Arc::new(ctx.spawn_el(&name, chain).await?);
        let urls = ElUrls {
            engine: el.engine_url(),
            rpc: el.rpc_url(),
        };
        let config = follower_config(ctx, &name, &spec, urls, data_dir.clone(), rpc_addr)?;
        let node = Arc::new(Self {
            jwt_file: chain.jwt_file.clone(),
            name,
            spec,
            data_dir,
            el,
            config: Mutex::new(config),
            rpc_state: Mutex::new(None),
            p2p_addr: Mutex::new(None),
            gossip_addr: Mutex::new(None),
            node: Lifecycle::new(),
        });
        node.node.start(&node.name, node.launch()).await?;
        Ok(node)
    }

    /// Starts the follower as `opfleet-follower run` does with its configuration, and pins the
    /// ports it got for later restarts.
    async fn launch(&self) -> Result<FollowerNode, String> {
        let config = lock(&self.config).clone();
        let secret = opfleet_engine::JwtSecret::from_file(&self.jwt_file)
            .map_err(|e| format!("--l2.jwt-secret: {e}"))?;
        let el = EngineLayer::new(
            &config.engine_url,
            &config.l2_rpc_url,
            secret,
            &config.rollup,
        )
        .map_err(|e| format!("--l2: {e}"))?;
        let node = FollowerNode::start(config, Arc::new(el), Extras::default())
            .await
            .map_err(|e| e.to_string())?;
        let p2p = match node.p2p() {
            Some(p) => first_listen(
                p.listen_addrs().await.map_err(|e| e.to_string())?,
                p.local_peer_id(),
            ),
            None => None,
        };
        let discovery_port = node
            .p2p()
            .and_then(|p| p.local_enr())
            .and_then(|enr| enr.udp4().or(enr.udp6()));
        let gossip = match node.attest_gossip() {
            Some(g) => first_listen(
                g.listen_addrs().await.map_err(|e| e.to_string())?,
                g.local_peer_id(),
            ),
            None => None,
        };
        {
            let mut c = lock(&self.config);
            c.rpc_addr = node.rpc_addr();
            if let (Some(p), Some((listen, _))) = (c.p2p.as_mut(), &p2p) {
                p.listen = listen.to_string();
            }
            // The same discv5 port after a restart: with the same identity, the record peers
            // hold stays right.
            if let (Some(p), Some(port)) = (c.p2p.as_mut(), discovery_port) {
                p.discovery_udp.set_port(port);
            }
            if let (HeadsSource::Attested(a), Some((listen, _))) = (&mut c.heads, &gossip)
                && let Some(g) = a.gossip.as_mut()
            {
                g.listen = listen.to_string();
            }
        }
        *lock(&self.p2p_addr) = p2p.map(|(_, full)| full);
        *lock(&self.gossip_addr) = gossip.map(|(_, full)| full);
        *lock(&self.rpc_state) = Some(node.state().clone());
        Ok(node)
    }

    /// The chain it follows.
    pub fn chain_id(&self) -> ChainId {
        self.spec.chain
    }

    /// The spec it was started with.
    pub fn spec(&self) -> &FollowerSpec {
        &self.spec
    }

    /// Its own execution client (read its head, safe and finalized blocks).
    pub fn el(&self) -> &Arc<SimElHandle> {
        &self.el
    }

    /// Its RPC address.
    pub fn rpc_addr(&self) -> SocketAddr {
        lock(&self.config).rpc_addr
    }

    /// `http://` URL of its RPC (`optimism_syncStatus`, `follower_status`).
    pub fn rpc_url(&self) -> String {
        format!("http://{}", self.rpc_addr())
    }

    /// Its running block gossip node (peers, discovery table), when it runs one.
    pub async fn block_gossip(&self) -> Option<Arc<opfleet_p2p::BlockGossipNode>> {
        self.node.lock().await.as_ref()?.p2p().cloned()
    }

    /// Its block gossip multiaddr with `/p2p/<peer id>`.
    pub fn p2p_addr(&self) -> Option<Multiaddr> {
        lock(&self.p2p_addr).clone()
    }

    /// Its attestation gossip multiaddr with `/p2p/<peer id>`.
    pub fn gossip_addr(&self) -> Option<Multiaddr> {
        lock(&self.gossip_addr).clone()
    }

    /// Its data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// What its `follower_status` answers now (`None` while killed).
    pub fn follower_status(&self) -> Option<FollowerStatus> {
        self.live_state().map(|s| s.status())
    }

    /// What its `optimism_syncStatus` answers now (`None` while killed).
    pub fn sync_status(&self) -> Option<SyncStatus> {
        self.live_state().map(|s| s.sync_status())
    }

    /// Its accepted safe and finalized heads as they change (`None` while killed; a restart
    /// starts a new channel, so take a new receiver after it). A task waiting on `changed()`
    /// sees moves that last too briefly for polling `sync_status` to catch.
    pub fn accepted_heads(&self) -> Option<watch::Receiver<AcceptedHeads>> {
        self.live_state().map(|s| s.heads.clone())
    }

    fn live_state(&self) -> Option<Arc<RpcState>> {
        if !self.is_running() {
            return None;
        }
        lock(&self.rpc_state).clone()
    }

    /// Stops its execution client (the world's stop, after a kill).
    pub async fn stop_el(self: Arc<Self>) {
        if let Ok(me) = Arc::try_unwrap(self)
            && let Ok(el) = Arc::try_unwrap(me.el)
        {
            el.stop().await;
        }
    }
}

/// The first of a gossip node's listen addresses, bare (to listen on again after a restart)
/// and with `/p2p/<peer>` (to dial).
fn first_listen(addrs: Vec<Multiaddr>, peer: libp2p::PeerId) -> Option<(Multiaddr, Multiaddr)> {
    let a = addrs.into_iter().next()?;
    Some((a.clone(), a.with(libp2p::multiaddr::Protocol::P2p(peer))))
}

/// Where a follower's execution client listens.
struct ElUrls {
    engine: String,
    rpc: String,
}

/// The configuration `opfleet-follower run` would build for `spec` (same checks).
fn follower_config(
    ctx: &FleetContext,
    name: &str,
    spec: &FollowerSpec,
    el: ElUrls,
    data_dir: PathBuf,
    rpc_addr: SocketAddr,
) -> Result<FollowerConfig, FleetStartError> {
    let chain = ctx.chain(spec.chain)?;
    let config_err = |reason: String| FleetStartError::Config {
        node: name.to_string(),
        reason,
    };
    let attested =
        !spec.supernode_urls.is_empty() || spec.attest_gossip || !spec.trust_keys.is_empty();
    let heads = match (&spec.follow_source, attested) {
        (Some(_), true) => {
            return Err(config_err(
                "--l2.follow.source cannot be combined with attestation sources".into(),
            ));
        }
        (Some(url), false) => {
            check_url("--l2.follow.source", url).map_err(|e| config_err(e.to_string()))?;
            HeadsSource::FollowSource {
                url: url.clone(),
                l1: Some(ctx.l1_rpc.clone()),
            }
        }
        (None, _) => {
            for u in &spec.supernode_urls {
                check_url("--attest.source", u).map_err(|e| config_err(e.to_string()))?;
            }
            if spec.supernode_urls.is_empty() && !spec.attest_gossip {
                return Err(config_err(
                    "no source of safe heads: no supernode URL, no gossip, no follow source".into(),
                ));
            }
            let keys: Vec<String> = spec.trust_keys.iter().map(ToString::to_string).collect();
            HeadsSource::Attested(AttestedSources {
                policy: trust_policy(&keys, spec.threshold)
                    .map_err(|e| config_err(e.to_string()))?,
                urls: spec.supernode_urls.clone(),
                gossip: spec.attest_gossip.then(|| AttestGossipSettings {
                    listen: ctx.tcp_multiaddr(0),
                    peers: spec.gossip_peers.clone(),
                    swarm_key: ctx.swarm_key.clone(),
                    priv_path: None,
                }),
                poll_interval: POLL_INTERVAL,
            })
        }
    };
    let p2p = spec.unsafe_gossip.then(|| P2pSettings {
        listen: ctx.tcp_multiaddr(0),
        static_peers: if spec.p2p_bootnodes.is_empty() {
            vec![chain.sequencer_p2p.clone()]
        } else {
            Vec::new()
        },
        bootnodes: spec.p2p_bootnodes.clone(),
        discovery_udp: ctx.addr(0),
        priv_key_hex: Some(keys::node_p2p(name).to_string()),
        priv_path: None,
        unsafe_block_signer: chain.unsafe_block_signer,
        discovery: Default::default(),
    });
    Ok(FollowerConfig {
        rollup: chain.rollup.clone(),
        engine_url: el.engine,
        l2_rpc_url: el.rpc,
        jwt_secret: chain.jwt_file.clone(),
        data_dir,
        heads,
        p2p,
        rpc_addr,
        metrics_addr: None,
        verify_output_root: spec.verify_output_root,
        healthz_max_safe_age: MAX_SAFE_AGE,
    })
}

#[async_trait::async_trait]
impl FleetNode for FleetFollower {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> NodeKind {
        NodeKind::Follower
    }

    fn endpoints(&self) -> serde_json::Value {
        let c = lock(&self.config);
        let (sources, gossip, keys, threshold) = match &c.heads {
            HeadsSource::Attested(a) => (
                a.urls.clone(),
                a.gossip.is_some(),
                self.spec.trust_keys.clone(),
                Some(a.policy.threshold()),
            ),
            HeadsSource::FollowSource { .. } => (Vec::new(), false, Vec::new(), None),
        };
        serde_json::json!({
            "name": self.name,
            "chain_id": self.spec.chain,
            "rpc": format!("http://{}", c.rpc_addr),
            "el_engine": c.engine_url,
            "el_rpc": c.l2_rpc_url,
            "jwt_secret_file": c.jwt_secret,
            "attest_sources": sources,
            "attest_gossip": gossip.then(|| self.gossip_addr().map(|a| a.to_string())).flatten(),
            "trust_keys": keys,
            "trust_threshold": threshold,
            "follow_source": self.spec.follow_source,
            "p2p": self.p2p_addr().map(|a| a.to_string()),
            "verify_output_root": c.verify_output_root,
            "data_dir": self.data_dir,
        })
    }

    fn is_running(&self) -> bool {
        self.node.is_running()
    }

    async fn kill(&self) -> Result<(), FleetError> {
        self.node.kill(&self.name, FollowerNode::abort).await
    }

    async fn restart(&self) -> Result<(), FleetError> {
        self.node.restart(&self.name, self.launch()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devnet::context::FleetChain;
    use crate::el::JwtSecret;
    use crate::sequencer::DevnetChainConfig;
    use opfleet_attest::SigningKey;

    const CHAIN: ChainId = ChainId(901);

    fn ctx() -> FleetContext {
        let mut rollup = opfleet_protocol::config::builtin::rollup_config("op-sepolia").unwrap();
        rollup.l2_chain_id = CHAIN;
        FleetContext {
            l1_rpc: "http://127.0.0.1:8545".into(),
            beacon: "http://127.0.0.1:5052".into(),
            host: [127, 0, 0, 1].into(),
            out_dir: "/tmp/unused".into(),
            swarm_key: "/tmp/unused/swarm.key".into(),
            chains: vec![FleetChain {
                rollup,
                rollup_file: "/tmp/unused/rollup-901.json".into(),
                jwt: JwtSecret::new([1; 32]),
                jwt_file: "/tmp/unused/jwt-901.hex".into(),
                spec: DevnetChainConfig::devnet(CHAIN).chain_spec(0),
                sequencer_p2p: "/ip4/127.0.0.1/tcp/9222/p2p/16Uiu2HAm".into(),
                unsafe_block_signer: alloy::primitives::Address::repeat_byte(5),
            }],
        }
    }

    fn key(i: u8) -> PublicKey {
        PublicKey::of(&SigningKey::from_bytes(&[i; 32]))
    }

    fn build(spec: &FollowerSpec) -> Result<FollowerConfig, FleetStartError> {
        let urls = ElUrls {
            engine: "http://127.0.0.1:1".into(),
            rpc: "http://127.0.0.1:2".into(),
        };
        follower_config(
            &ctx(),
            "follower-x",
            spec,
            urls,
            "/tmp/d".into(),
            "127.0.0.1:0".parse().unwrap(),
        )
    }

    #[test]
    fn attested_spec_builds_the_run_configuration() {
        let mut spec = FollowerSpec::attested(CHAIN, vec![key(1), key(2), key(3)], 2);
        spec.supernode_urls = vec!["ws://127.0.0.1:9560".into()];
        spec.attest_gossip = true;
        spec.gossip_peers = vec!["/ip4/127.0.0.1/tcp/1/p2p/x".into()];
        let c = build(&spec).unwrap();
        let HeadsSource::Attested(a) = &c.heads else {
            panic!("not attested");
        };
        assert_eq!(a.policy.threshold(), 2);
        assert_eq!(a.urls, spec.supernode_urls);
        let g = a.gossip.as_ref().unwrap();
        assert_eq!(g.peers, spec.gossip_peers);
        assert_eq!(g.listen, "/ip4/127.0.0.1/tcp/0");
        let p2p = c.p2p.unwrap();
        assert_eq!(
            p2p.static_peers,
            vec![ctx().chains[0].sequencer_p2p.clone()]
        );
        assert_eq!(
            p2p.priv_key_hex,
            Some(keys::node_p2p("follower-x").to_string())
        );
        assert_eq!(c.engine_url, "http://127.0.0.1:1");
        assert_eq!(c.l2_rpc_url, "http://127.0.0.1:2");
    }

    #[test]
    fn bootnodes_replace_the_static_sequencer_peer() {
        let mut spec = FollowerSpec::attested(CHAIN, vec![key(1)], 1);
        spec.supernode_urls = vec!["ws://127.0.0.1:9560".into()];
        spec.p2p_bootnodes = vec!["enr:-boot".into()];
        let p2p = build(&spec).unwrap().p2p.unwrap();
        assert!(p2p.static_peers.is_empty());
        assert_eq!(p2p.bootnodes, spec.p2p_bootnodes);
        assert_eq!(
            p2p.discovery_udp.ip(),
            std::net::IpAddr::from([127, 0, 0, 1])
        );
    }

    #[test]
    fn follow_source_spec_reads_l1_and_refuses_attestation_inputs() {
        let spec = FollowerSpec::follow_source(CHAIN, "http://127.0.0.1:9560/901/");
        let c = build(&spec).unwrap();
        assert!(matches!(
            c.heads,
            HeadsSource::FollowSource { ref l1, .. } if l1.as_deref() == Some("http://127.0.0.1:8545")
        ));
        let mut mixed = spec;
        mixed.supernode_urls = vec!["http://127.0.0.1:9560".into()];
        assert!(matches!(build(&mixed), Err(FleetStartError::Config { .. })));
    }

    #[test]
    fn bad_specs_are_refused_by_name() {
        let none = FollowerSpec::attested(CHAIN, vec![key(1)], 1);
        let msg = build(&none).unwrap_err().to_string();
        assert!(
            msg.contains("follower-x") && msg.contains("no source"),
            "{msg}"
        );
        let mut high = FollowerSpec::attested(CHAIN, vec![key(1)], 2);
        high.supernode_urls = vec!["http://127.0.0.1:1".into()];
        assert!(matches!(build(&high), Err(FleetStartError::Config { .. })));
        let mut ftp = FollowerSpec::attested(CHAIN, vec![key(1)], 1);
        ftp.supernode_urls = vec!["ftp://x".into()];
        assert!(
            build(&ftp)
                .unwrap_err()
                .to_string()
                .contains("--attest.source")
        );
        let other = FollowerSpec::attested(ChainId(999), vec![key(1)], 1);
        assert!(matches!(
            build(&other),
            Err(FleetStartError::UnknownChain(ChainId(999)))
        ));
    }
}
