//! The chains' own fleet nodes: a sequencer with its libp2p block gossip node, and a batcher.
//!
//! ```text
//!  SequencerNode: Sequencer::run ─broadcast<SequencedBlock>─▶ publisher ─▶ BlockGossipNode
//!                 PayloadStore (filled by the sequencer) ◀── payload_by_number ──┘
//!     kill: stop the sequencer after its block in progress, stop the P2P node (peers see it go)
//!     restart: same sequencer state, same identity and port; it catches up with the clock
//!  BatcherNode:   Batcher (pause/resume keep state; kill/restart start again from the L2
//!                 safe head, as op-batcher does)
//! ```

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use alloy::primitives::Address;
use libp2p::Multiaddr;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use op_alloy_rpc_types_engine::OpExecutionPayloadEnvelope;
use opfleet_p2p::discovery::{DiscoveryConfig, Enr};
use opfleet_p2p::{BlockGossipNode, NodeError, P2pConfig};
use opfleet_protocol::ChainId;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::fleet::{FleetError, FleetNode, NodeKind};
use crate::batcher::{Batcher, BatcherConfig, BatcherError, BatcherHandle, BatcherStatus, L1Sink};
use crate::sequencer::{
    PayloadStore, SequencedBlock, Sequencer, SequencerControls, SequencerHandle,
};

/// Serves `payload_by_number` from the sequencer's store.
struct StoreAdapter(PayloadStore);

impl opfleet_p2p::PayloadStore for StoreAdapter {
    fn payload_by_number(&self, number: u64) -> Option<OpExecutionPayloadEnvelope> {
        self.0.payload_by_number(number)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

enum SequencerState {
    Running {
        handle: SequencerHandle,
        gossip: Arc<BlockGossipNode>,
        publisher: JoinHandle<()>,
    },
    Stopped(Box<Sequencer>),
    /// The sequencer task panicked: nothing to restart.
    Lost,
}

/// A chain's sequencer and its P2P node, as one fleet node.
pub struct SequencerNode {
    name: String,
    chain_id: ChainId,
    signer: Address,
    controls: SequencerControls,
    store: PayloadStore,
    identity: Keypair,
    p2p: Mutex<P2pConfig>,
    multiaddr: Mutex<Multiaddr>,
    enr: Mutex<Option<Enr>>,
    published: Arc<AtomicU64>,
    state: tokio::sync::Mutex<SequencerState>,
    running: AtomicBool,
}

impl SequencerNode {
    /// Starts the sequencer on its timer and its gossip node; `p2p.listen_addr` may have port 0
    /// (the port picked is kept for restarts). Unless `p2p.discovery` says otherwise, the node
    /// runs discv5 on the listen IP (a free UDP port, kept for restarts), so its ENR serves as
    /// the chain's bootnode.
    pub async fn start(
        sequencer: Sequencer,
        mut p2p: P2pConfig,
        identity: Keypair,
    ) -> Result<Arc<Self>, NodeError> {
        let chain_id = sequencer.chain_id();
        if p2p.discovery.is_none()
            && let Some(ip) = multiaddr_ip(&p2p.listen_addr)
        {
            p2p.discovery = Some(DiscoveryConfig::new(SocketAddr::new(ip, 0), Vec::new()));
        }
        let node = Self {
            name: format!("sequencer-{chain_id}"),
            chain_id,
            signer: sequencer.signer(),
            controls: sequencer.controls(),
            store: sequencer.store(),
            multiaddr: Mutex::new(p2p.listen_addr.clone()),
            enr: Mutex::new(None),
            p2p: Mutex::new(p2p),
            identity,
            published: Arc::default(),
            state: tokio::sync::Mutex::new(SequencerState::Lost),
            running: AtomicBool::new(false),
        };
        let running = node.launch(sequencer).await?;
        *node.state.lock().await = running;
        Ok(Arc::new(node))
    }

    async fn launch(&self, sequencer: Sequencer) -> Result<SequencerState, NodeError> {
        let blocks = sequencer.subscribe();
        let config = lock(&self.p2p).clone();
        let store = Arc::new(StoreAdapter(self.store.clone()));
        let gossip = BlockGossipNode::start(config, self.identity.clone(), store).await?;
        if let Some(addr) = gossip.listen_addrs().await?.into_iter().next() {
            lock(&self.p2p).listen_addr = addr.clone();
            *lock(&self.multiaddr) = addr.with(Protocol::P2p(gossip.local_peer_id()));
        }
        if let Some(enr) = gossip.local_enr() {
            // Same UDP port (and identity) after a restart: the ENR handed out stays valid.
            if let (Some(d), Some(port)) =
                (&mut lock(&self.p2p).discovery, enr.udp4().or(enr.udp6()))
            {
                d.listen_udp.set_port(port);
            }
            *lock(&self.enr) = Some(enr);
        }
        let gossip = Arc::new(gossip);
        let publisher = tokio::spawn(publish(
            self.chain_id,
            blocks,
            gossip.clone(),
            self.published.clone(),
        ));
        let handle = sequencer.run();
        self.running.store(true, Ordering::SeqCst);
        Ok(SequencerState::Running {
            handle,
            gossip,
            publisher,
        })
    }

    /// The chain.
    pub fn chain_id(&self) -> ChainId {
        self.chain_id
    }

    /// The unsafe block signer.
    pub fn signer(&self) -> Address {
        self.signer
    }

    /// Run-time knobs (faults).
    pub fn controls(&self) -> SequencerControls {
        self.controls.clone()
    }

    /// The sequencer's payloads by number.
    pub fn store(&self) -> PayloadStore {
        self.store.clone()
    }

    /// The P2P multiaddr, `/ip4/../tcp/../p2p/<peer id>`.
    pub fn multiaddr(&self) -> Multiaddr {
        lock(&self.multiaddr).clone()
    }

    /// The gossip node's discv5 record (`--p2p.bootnodes` for followers), when discovery runs.
    pub fn enr(&self) -> Option<Enr> {
        lock(&self.enr).clone()
    }

    /// Gossip messages handed to libp2p so far (including ones no peer was there to take).
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }
}

/// Publishes every block the sequencer builds (both blocks of an equivocation too).
async fn publish(
    chain: ChainId,
    mut blocks: broadcast::Receiver<SequencedBlock>,
    gossip: Arc<BlockGossipNode>,
    published: Arc<AtomicU64>,
) {
    loop {
        let block = match blocks.recv().await {
            Ok(b) => b,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(%chain, missed = n, "gossip publisher fell behind");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let number = block.l2_block_ref.number;
        match gossip
            .publish(block.signed_gossip, block.topic_version)
            .await
        {
            Ok(()) => tracing::debug!(%chain, number, "block gossiped"),
            // No peer on the topic is the normal state of a devnet nobody listens to.
            Err(e) => tracing::debug!(%chain, number, error = %e, "block not gossiped"),
        }
        published.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait::async_trait]
impl FleetNode for SequencerNode {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> NodeKind {
        NodeKind::Sequencer
    }

    fn endpoints(&self) -> serde_json::Value {
        serde_json::json!({
            "chain_id": self.chain_id,
            "p2p": self.multiaddr().to_string(),
            "enr": self.enr().map(|e| e.to_base64()),
            "unsafe_block_signer": self.signer,
        })
    }

    fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    async fn kill(&self) -> Result<(), FleetError> {
        let mut state = self.state.lock().await;
        let (handle, gossip, publisher) = match std::mem::replace(&mut *state, SequencerState::Lost)
        {
            SequencerState::Running {
                handle,
                gossip,
                publisher,
            } => (handle, gossip, publisher),
            other => {
                *state = other;
                return Err(FleetError::NotRunning(self.name.clone()));
            }
        };
        self.running.store(false, Ordering::SeqCst);
        publisher.abort();
        let _ = publisher.await;
        match Arc::try_unwrap(gossip) {
            Ok(node) => node.stop().await,
            Err(shared) => drop(shared),
        }
        *state = match handle.stop().await {
            Some(seq) => SequencerState::Stopped(Box::new(seq)),
            None => SequencerState::Lost,
        };
        Ok(())
    }

    async fn restart(&self) -> Result<(), FleetError> {
        let mut state = self.state.lock().await;
        match std::mem::replace(&mut *state, SequencerState::Lost) {
            SequencerState::Stopped(seq) => {
                *state = self.launch(*seq).await.map_err(|e| FleetError::Restart {
                    node: self.name.clone(),
                    reason: e.to_string(),
                })?;
                Ok(())
            }
            running @ SequencerState::Running { .. } => {
                *state = running;
                Err(FleetError::AlreadyRunning(self.name.clone()))
            }
            SequencerState::Lost => Err(FleetError::Restart {
                node: self.name.clone(),
                reason: "the sequencer task panicked; its state is gone".into(),
            }),
        }
    }
}

/// The IP of a `/ip4|ip6/<ip>/...` multiaddr.
fn multiaddr_ip(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    })
}

/// A chain's batcher as a fleet node.
pub struct BatcherNode {
    name: String,
    chain_id: ChainId,
    config: BatcherConfig,
    sink: Arc<dyn L1Sink>,
    address: Address,
    handle: tokio::sync::Mutex<Option<BatcherHandle>>,
    /// Status of the handle (cached so status reads need no async lock).
    current: Mutex<Option<BatcherStatusSource>>,
    /// Transactions sent by batchers before the last restart.
    earlier_txs: AtomicU64,
    running: AtomicBool,
}

/// What the status reads: the live handle's shared status.
type BatcherStatusSource = Arc<dyn Fn() -> BatcherStatus + Send + Sync>;

/// Why a batcher fault could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum BatcherFaultError {
    /// The batcher was killed.
    #[error("batcher of chain {0} is not running (killed)")]
    NotRunning(ChainId),
}

impl BatcherNode {
    /// Starts the batcher.
    pub async fn start(
        config: BatcherConfig,
        sink: Arc<dyn L1Sink>,
    ) -> Result<Arc<Self>, BatcherError> {
        let chain_id = config.l2_chain_id;
        let handle = Batcher::spawn(config.clone(), sink.clone()).await?;
        let node = Arc::new(Self {
            name: format!("batcher-{chain_id}"),
            chain_id,
            address: handle.address(),
            config,
            sink,
            handle: tokio::sync::Mutex::new(None),
            current: Mutex::new(None),
            earlier_txs: AtomicU64::new(0),
            running: AtomicBool::new(false),
        });
        node.install(handle).await;
        Ok(node)
    }

    async fn install(&self, handle: BatcherHandle) {
        let mut slot = self.handle.lock().await;
        // A reader of the handle's shared status keeps status reads synchronous, without the
        // async lock a kill or pause may hold.
        *lock(&self.current) = Some(Arc::new(handle.status_reader()));
        *slot = Some(handle);
        self.running.store(true, Ordering::SeqCst);
    }

    /// The chain.
    pub fn chain_id(&self) -> ChainId {
        self.chain_id
    }

    /// The batcher address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The live batcher's status (`None` while killed) and transactions sent by earlier runs.
    pub fn status(&self) -> (Option<BatcherStatus>, u64) {
        let reader = lock(&self.current).clone();
        (
            reader.map(|r| r()),
            self.earlier_txs.load(Ordering::Relaxed),
        )
    }

    /// Stops posting (fault "batcher stops"); the batcher keeps its state.
    pub async fn pause(&self) -> Result<(), BatcherFaultError> {
        match &*self.handle.lock().await {
            Some(h) => {
                h.pause();
                tracing::warn!(chain = %self.chain_id, "batcher paused");
                Ok(())
            }
            None => Err(BatcherFaultError::NotRunning(self.chain_id)),
        }
    }

    /// Resumes posting where [`Self::pause`] stopped.
    pub async fn resume(&self) -> Result<(), BatcherFaultError> {
        match &*self.handle.lock().await {
            Some(h) => {
                h.resume();
                tracing::info!(chain = %self.chain_id, "batcher resumed");
                Ok(())
            }
            None => Err(BatcherFaultError::NotRunning(self.chain_id)),
        }
    }
}

#[async_trait::async_trait]
impl FleetNode for BatcherNode {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> NodeKind {
        NodeKind::Batcher
    }

    fn endpoints(&self) -> serde_json::Value {
        serde_json::json!({
            "chain_id": self.chain_id,
            "address": self.address,
            "batch_inbox": self.config.batch_inbox,
        })
    }

    fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    async fn kill(&self) -> Result<(), FleetError> {
        let mut slot = self.handle.lock().await;
        let handle = slot
            .take()
            .ok_or_else(|| FleetError::NotRunning(self.name.clone()))?;
        self.running.store(false, Ordering::SeqCst);
        self.earlier_txs
            .fetch_add(handle.status().txs, Ordering::Relaxed);
        *lock(&self.current) = None;
        handle.stop().await;
        Ok(())
    }

    async fn restart(&self) -> Result<(), FleetError> {
        if self.handle.lock().await.is_some() {
            return Err(FleetError::AlreadyRunning(self.name.clone()));
        }
        let handle = Batcher::spawn(self.config.clone(), self.sink.clone())
            .await
            .map_err(|e| FleetError::Restart {
                node: self.name.clone(),
                reason: e.to_string(),
            })?;
        self.install(handle).await;
        Ok(())
    }
}
