//! Shared pieces of the follower end-to-end tests: an execution-layer adapter over a devnet
//! simulated execution client; a one-chain world whose sequencer gossips over op-node P2P; the
//! follower configuration over both; the fake supernode pool member serving C2 is the follower
//! crate's (`opfleet_follower::test_support`).
//!
//! ```text
//!  World: L1 (started 30 s ago) ── sequencer 901 on a SimEl ── BlockGossipNode (publisher)
//!         follower_el(): a fresh SimEl of the same genesis for each follower
//!  p2p_follower_config: unsafe blocks from static peers, heads from C2 URLs, over the SimEl
//! ```
//!
//! The adapter sends every Engine API call over HTTP with JWT (the devnet's Engine API client);
//! block refs and output roots come from the simulated client in process; payloads by number
//! come over its eth RPC through `opfleet_engine::L2Client`, as the follower's own
//! `EngineLayer` reads them. Test binaries using this module also declare `sequencer_common`.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{Address, B256};
use op_alloy_rpc_types_engine::OpExecutionPayloadEnvelope;
use opfleet_follower::config::{
    AttestedSources, FollowerConfig, HeadsSource, P2pSettings, trust_policy,
};
use opfleet_follower::engine::el_client::EngineLayer;
use opfleet_follower::node::{Extras, FollowerNode};
pub use opfleet_follower::test_support::{FakeSupernode, attest, eventually, now_ms, pk};
use opfleet_p2p::{BlockGossipNode, NoPayloads, P2pConfig};
use opfleet_protocol::ChainId;
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::output_root::OutputV0;
use opfleet_tests::el::{JwtSecret, SimBlock, SimEl, SimElConfig, SimElHandle};
use opfleet_tests::l1::{L1, L1Config, L1Handle};
use opfleet_tests::sequencer::{DevnetChainConfig, SequencedBlock, Sequencer, TxGenConfig};

use crate::sequencer_common::{Chain, jwt, spawn_chain};

/// The chain of these worlds.
pub const CHAIN: ChainId = ChainId(901);

/// The follower's execution client over the SimEl's Engine API and eth RPC: the follower's own
/// `EngineLayer`, as `opfleet-follower run` builds it.
pub fn sim_el_layer(el: &SimElHandle, jwt: JwtSecret, rollup: &RollupConfig) -> Arc<EngineLayer> {
    let secret = opfleet_engine::JwtSecret::from_hex(&jwt.to_hex()).expect("a valid JWT secret");
    Arc::new(
        EngineLayer::new(&el.engine_url(), &el.rpc_url(), secret, rollup)
            .expect("an execution layer"),
    )
}

/// Output root v0 of a simulated block.
pub fn output_root(b: &SimBlock) -> B256 {
    OutputV0 {
        state_root: b.header().state_root,
        message_passer_storage_root: b.message_passer_root,
        block_hash: b.hash,
    }
    .output_root()
}

/// The sequencer's payloads served over P2P, minus the numbers a test hides.
pub struct SequencerStore {
    store: opfleet_tests::sequencer::PayloadStore,
    /// Block numbers its `payload_by_number` does not serve.
    pub hidden: Mutex<BTreeSet<u64>>,
}

impl opfleet_p2p::PayloadStore for SequencerStore {
    fn payload_by_number(&self, number: u64) -> Option<OpExecutionPayloadEnvelope> {
        if self.hidden.lock().unwrap().contains(&number) {
            return None;
        }
        self.store.payload_by_number(number)
    }
}

/// One chain whose sequencer gossips its blocks over op-node P2P.
pub struct World {
    pub l1: L1Handle,
    pub seq_el: SimElHandle,
    pub seq: Sequencer,
    pub rollup: RollupConfig,
    pub config: DevnetChainConfig,
    pub publisher: BlockGossipNode,
    /// What the publisher serves over `payload_by_number` (when it serves at all).
    pub store: Arc<SequencerStore>,
}

impl World {
    /// Starts the L1, the chain and the sequencer's gossip node; the latter serves
    /// `payload_by_number` from [`Self::store`] if `p2p_serves`, else nothing.
    pub async fn start(p2p_serves: bool) -> Self {
        // Gossip validation drops blocks more than 60 s old: the chain starts 30 s ago.
        let now = now_ms() / 1000;
        let l1 = L1::spawn(L1Config {
            block_time: 6,
            genesis_time: Some(now - 30),
            ..L1Config::devnet().manual()
        })
        .await
        .unwrap();
        for _ in 0..4 {
            l1.mine();
        }
        let config = DevnetChainConfig::devnet(CHAIN);
        let Chain { el: seq_el, seq } =
            spawn_chain(&l1, config, TxGenConfig::default(), None).await;
        let rollup = seq.rollup().clone();
        let store = Arc::new(SequencerStore {
            store: seq.store(),
            hidden: Mutex::default(),
        });
        let mut pc = P2pConfig::new(CHAIN, "/ip4/127.0.0.1/tcp/0".parse().unwrap(), seq.signer());
        pc.ip_colocation_whitelist
            .insert(std::net::IpAddr::from([127, 0, 0, 1]));
        let served: Arc<dyn opfleet_p2p::PayloadStore> = if p2p_serves {
            store.clone()
        } else {
            Arc::new(NoPayloads)
        };
        let publisher = BlockGossipNode::start(pc, opfleet_p2p::generate_identity(), served)
            .await
            .unwrap();
        Self {
            l1,
            seq_el,
            seq,
            rollup,
            config,
            publisher,
            store,
        }
    }

    /// The publisher's address with `/p2p/<peer id>`, a follower's static peer.
    pub async fn publisher_peer(&self) -> String {
        peer_addr(&self.publisher).await
    }

    /// A fresh execution client of the chain's genesis, for a follower.
    pub async fn follower_el(&self) -> Arc<SimElHandle> {
        let el = SimEl::spawn(SimElConfig::local(
            self.config.chain_spec(self.l1.genesis().timestamp),
            jwt(),
        ))
        .await
        .unwrap();
        assert_eq!(el.genesis().hash, self.seq_el.genesis().hash);
        Arc::new(el)
    }

    /// Starts a follower on a fresh execution client and data directory; `config` builds its
    /// configuration from the rollup, that directory and the sequencer's P2P signer.
    pub async fn follower(
        &self,
        config: impl FnOnce(&RollupConfig, &Path, Address) -> FollowerConfig,
    ) -> TestFollower {
        let el = self.follower_el().await;
        let dir = tempfile::tempdir().unwrap();
        let layer = sim_el_layer(&el, jwt(), &self.rollup);
        let config = config(&self.rollup, dir.path(), self.seq.signer());
        let node = FollowerNode::start(config.clone(), layer.clone(), Extras::default())
            .await
            .unwrap();
        TestFollower {
            node,
            el,
            layer,
            config,
            _dir: dir,
        }
    }

    /// Sequences a block and gossips it unless `withhold`.
    pub async fn step(&mut self, withhold: bool) -> SequencedBlock {
        let b = self.seq.step().await.unwrap();
        if !withhold {
            publish(&self.publisher, &b).await;
        }
        b
    }

    /// Stops the gossip node, the chain's execution client and the L1.
    pub async fn stop(self) {
        self.publisher.stop().await;
        self.seq_el.stop().await;
        self.l1.stop().await;
    }
}

/// A follower of a [`World`] on its own execution client and data directory.
pub struct TestFollower {
    pub node: FollowerNode,
    pub el: Arc<SimElHandle>,
    layer: Arc<EngineLayer>,
    config: FollowerConfig,
    _dir: tempfile::TempDir,
}

impl TestFollower {
    /// Stops the node, runs `while_stopped`, and starts it again on the same configuration,
    /// execution client and data directory.
    pub async fn restart(self, while_stopped: impl FnOnce()) -> Self {
        self.node.stop().await;
        while_stopped();
        let node = FollowerNode::start(self.config.clone(), self.layer.clone(), Extras::default())
            .await
            .unwrap();
        Self { node, ..self }
    }

    /// Stops the node, then its execution client.
    pub async fn stop(self) {
        self.node.stop().await;
        stop_el(self.el).await;
    }
}

/// Stops a follower's execution client (once nothing else holds it).
pub async fn stop_el(el: Arc<SimElHandle>) {
    if let Ok(el) = Arc::try_unwrap(el) {
        el.stop().await;
    }
}

/// `node`'s first listen address with `/p2p/<peer id>`.
pub async fn peer_addr(node: &BlockGossipNode) -> String {
    let addr = node.listen_addrs().await.unwrap()[0].clone();
    format!("{addr}/p2p/{}", node.local_peer_id())
}

/// Gossips `b` from `node`.
pub async fn publish(node: &BlockGossipNode, b: &SequencedBlock) {
    // The first publish may precede a subscriber's mesh reaching us: retry briefly.
    for _ in 0..100 {
        if node
            .publish(b.signed_gossip.clone(), b.topic_version)
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not publish block {}", b.l2_block_ref.number);
}

/// A follower on the in-process execution layer: unsafe blocks over P2P through
/// `static_peers` (signed by `signer`), safe and finalized heads from the C2 `urls` trusting
/// pool keys `trusted` with `threshold`, output roots checked if `verify_output_root`.
pub fn p2p_follower_config(
    rollup: &RollupConfig,
    dir: &Path,
    (trusted, threshold): (&[u8], usize),
    urls: Vec<String>,
    static_peers: Vec<String>,
    signer: Address,
    verify_output_root: bool,
) -> FollowerConfig {
    let keys: Vec<String> = trusted.iter().map(|&i| pk(i).to_string()).collect();
    FollowerConfig {
        rollup: rollup.clone(),
        engine_url: "http://in-process".into(),
        l2_rpc_url: "http://in-process".into(),
        jwt_secret: "/in-process".into(),
        data_dir: dir.to_path_buf(),
        heads: HeadsSource::Attested(AttestedSources {
            policy: trust_policy(&keys, threshold).unwrap(),
            urls,
            gossip: None,
            poll_interval: Duration::from_millis(300),
        }),
        p2p: Some(P2pSettings {
            listen: "/ip4/127.0.0.1/tcp/0".into(),
            static_peers,
            bootnodes: vec![],
            discovery_udp: "127.0.0.1:0".parse().unwrap(),
            priv_key_hex: None,
            priv_path: None,
            unsafe_block_signer: signer,
            discovery: Default::default(),
        }),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        metrics_addr: None,
        verify_output_root,
        healthz_max_safe_age: Duration::from_secs(600),
    }
}
