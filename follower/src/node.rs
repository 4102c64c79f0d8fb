//! Wiring: store, sources, quorum intake, accepted heads, unsafe gossip, engine runner, RPC.
//!
//! ```text
//!  store ──load──> AcceptedHeads (served only after loading)
//!  supernode srcs ─┐                                             ┌─> store (heads, evidence)
//!  gossip feed ────┴─> batches ─> Intake ─> offers ─> [verify] ─> AcceptedHeads ─> watch ─┬─> RPC
//!  follow source ─────────────────────────> updates ──────────────┘                      └─> Targets
//!  BlockGossipNode ─> UnsafeQueue ─> EngineRunner (Targets) ─> execution client ─> ElHeads ─> RPC
//! ```
//! Shutdown: one watch flag every task selects on; `FollowerNode::stop` flips it and waits.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::B256;
use opfleet_attest::{AttestationKind, Evidence, PublicKey};
use opfleet_p2p::attest::{AttestGossipConfig, AttestGossipNode, SwarmKey};
use opfleet_p2p::discovery::{DiscoveryConfig, DiscoveryDb};
use opfleet_p2p::{BlockGossipNode, P2pConfig, StaticPeer};
use opfleet_protocol::L2BlockRef;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::{FollowerConfig, HeadsSource};
use crate::engine::runner::{EngineRunner, RecentPayloads};
use crate::engine::{ExecutionLayer, Targets};
use crate::heads::{AcceptedHead, AcceptedHeads, Offer};
use crate::intake::{HeadOffer, Intake};
use crate::rpc::{OutputRootRefusal, RpcState};
use crate::sources::follow::{FollowSource, FollowUpdate};
use crate::sources::gossip::{AttestationFeed, spawn_forwarder};
use crate::sources::supernode::{SupernodeSource, SupernodeTimings, SupernodeUrls};
use crate::sources::{AttestationBatch, now_ms};
use crate::store::{Store, StoreError};
use crate::unsafe_blocks::fetch::{FetchChain, P2pFetcher, PayloadFetcher, SourceFetcher};
use crate::unsafe_blocks::queue::UnsafeQueue;
use crate::unsafe_blocks::serve::ServedPayloads;
use crate::unsafe_blocks::spawn_gossip_intake;

/// Unsafe payloads queued at most.
const QUEUE_CAPACITY: usize = 4096;
/// Inserted payloads kept to serve `payload_by_number` without asking the execution client.
/// Peers ask for blocks they just missed, so two minutes at 2 s blocks covers nearly every
/// request; older ones go to the execution client (`ExecutionLayer::payload_by_number`). A
/// larger cache costs a follower capacity x payload size (1024 payloads of 100 KB would be
/// 100 MB), which a light follower must not spend.
const SERVED_CAPACITY: usize = 64;
/// Output-root refusals kept for `follower_status`.
const MAX_REFUSALS: usize = 64;

/// The node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An RPC listener failed.
    #[error(transparent)]
    Rpc(#[from] crate::rpc::RpcError),
    /// P2P failed to start or is misconfigured.
    #[error("p2p: {0}")]
    P2p(String),
    /// A source could not be set up.
    #[error("source: {0}")]
    Source(String),
}

/// Optional inputs that are not flags: injected by the binary or by tests.
#[derive(Default)]
pub struct Extras {
    /// The private attestation gossip feed, when one runs.
    pub attest_gossip: Option<Arc<dyn AttestationFeed>>,
    /// The Prometheus handle for `/metrics`.
    pub prometheus: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

/// A running follower.
pub struct FollowerNode {
    rpc_addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    p2p: Option<Arc<BlockGossipNode>>,
    state: Arc<RpcState>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    rpc: jsonrpsee::server::ServerHandle,
    store: Store,
    attest_gossip: Option<Arc<AttestGossipNode>>,
}

impl FollowerNode {
    /// The JSON-RPC address.
    pub fn rpc_addr(&self) -> SocketAddr {
        self.rpc_addr
    }

    /// The `/metrics` + `/healthz` address.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The block gossip node, when P2P runs.
    pub fn p2p(&self) -> Option<&Arc<BlockGossipNode>> {
        self.p2p.as_ref()
    }

    /// The state the RPC serves (for in-process callers).
    pub fn state(&self) -> &Arc<RpcState> {
        &self.state
    }

    /// Starts every part. Stored heads are loaded before any listener opens.
    pub async fn start(
        config: FollowerConfig,
        el: Arc<dyn ExecutionLayer>,
        extras: Extras,
    ) -> Result<Self, NodeError> {
        let chain_id = config.rollup.l2_chain_id;
        let store = Store::open(&config.data_dir).await?;
        let stored = store.load_heads().await?;
        let evidence = store.load_evidence().await?;
        tracing::info!(
            safe = ?stored.safe.map(|h| h.block.number),
            finalized = ?stored.finalized.map(|h| h.block.number),
            evidence = evidence.len(),
            "loaded stored heads"
        );
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (heads_tx, heads_rx) = watch::channel(stored);
        let (targets_tx, targets_rx) = watch::channel(targets_of(&stored, None));
        let mut tasks = Vec::new();

        // Unsafe blocks.
        let queue = Arc::new(Mutex::new(UnsafeQueue::new(QUEUE_CAPACITY)));
        let served = Arc::new(RecentPayloads::new(SERVED_CAPACITY));
        let wake = Arc::new(Notify::new());
        let p2p = match &config.p2p {
            Some(p) => {
                let store = ServedPayloads::new(served.clone(), el.clone());
                let node = start_p2p(&config, p, Arc::new(store)).await?;
                tasks.push(spawn_gossip_intake(
                    node.blocks(),
                    queue.clone(),
                    wake.clone(),
                    shutdown_rx.clone(),
                ));
                Some(node)
            }
            None => None,
        };
        let mut fetchers: Vec<Arc<dyn PayloadFetcher>> = Vec::new();
        if let Some(node) = &p2p {
            fetchers.push(Arc::new(P2pFetcher {
                node: node.clone(),
                rollup: config.rollup.clone(),
            }));
        }

        // Heads sources.
        let refusals = Arc::new(Mutex::new(Vec::new()));
        let mut sources = Vec::new();
        let mut intake = None;
        let mut follow = None;
        let mut attest_gossip = None;
        let heads_ctx = HeadsCtx {
            store: store.clone(),
            heads: heads_tx,
            targets: targets_tx,
            el: el.clone(),
            verify: config.verify_output_root,
            refusals: refusals.clone(),
        };
        match &config.heads {
            HeadsSource::Attested(a) => {
                let shared = Arc::new(Mutex::new(Intake::new(
                    chain_id,
                    a.policy.clone(),
                    evidence,
                )));
                let (tx, rx) = mpsc::channel(1024);
                let timings = SupernodeTimings {
                    poll_interval: a.poll_interval,
                    ..SupernodeTimings::default()
                };
                for url in &a.urls {
                    let src = SupernodeSource::spawn(
                        url.clone(),
                        chain_id,
                        timings,
                        tx.clone(),
                        shutdown_rx.clone(),
                    );
                    sources.push((src.url.clone(), src.health.clone()));
                    let prefix = SupernodeUrls::from_url(url).chain_prefix(chain_id);
                    let f = SourceFetcher::new(&prefix)
                        .map_err(|e| NodeError::Source(e.to_string()))?;
                    fetchers.push(Arc::new(f));
                }
                if let Some(g) = &a.gossip {
                    let node = start_attest_gossip(chain_id, g, &config.data_dir).await?;
                    tasks.push(spawn_forwarder(
                        node.as_ref(),
                        tx.clone(),
                        shutdown_rx.clone(),
                    ));
                    attest_gossip = Some(node);
                }
                if let Some(feed) = &extras.attest_gossip {
                    tasks.push(spawn_forwarder(
                        feed.as_ref(),
                        tx.clone(),
                        shutdown_rx.clone(),
                    ));
                }
                drop(tx);
                tasks.push(tokio::spawn(attested_heads_task(
                    rx,
                    shared.clone(),
                    heads_ctx,
                    shutdown_rx.clone(),
                )));
                intake = Some(shared);
            }
            HeadsSource::FollowSource { url, l1 } => {
                let interval = Duration::from_secs(2 * config.rollup.block_time.max(1));
                let src = FollowSource::new(url, l1.as_deref(), interval)
                    .map_err(|e| NodeError::Source(e.to_string()))?;
                follow = Some((url.clone(), src.health.clone()));
                let f = SourceFetcher::new(url).map_err(|e| NodeError::Source(e.to_string()))?;
                fetchers.push(Arc::new(f));
                let (tx, rx) = mpsc::channel(64);
                tasks.push(tokio::spawn(src.run(tx, shutdown_rx.clone())));
                tasks.push(tokio::spawn(follow_heads_task(
                    rx,
                    heads_ctx,
                    shutdown_rx.clone(),
                )));
            }
        }

        // Engine.
        let (runner, el_heads) =
            EngineRunner::new(el, queue, FetchChain::new(fetchers), served, wake);
        tasks.push(tokio::spawn(runner.run(targets_rx, shutdown_rx.clone())));

        // RPC last: nothing is served before the stored heads are in place.
        let state = Arc::new(RpcState {
            chain_id,
            heads: heads_rx,
            el_heads,
            intake,
            sources,
            follow,
            refusals,
            max_safe_age: config.healthz_max_safe_age,
        });
        let (rpc_addr, rpc) = crate::rpc::serve_rpc(config.rpc_addr, state.clone()).await?;
        let metrics_addr = match config.metrics_addr {
            Some(addr) => {
                let handle = extras.prometheus.unwrap_or_else(crate::metrics::prometheus);
                Some(
                    crate::rpc::serve_http(addr, state.clone(), handle, shutdown_rx.clone())
                        .await?,
                )
            }
            None => None,
        };
        tracing::info!(%rpc_addr, ?metrics_addr, chain = %chain_id, "follower started");
        Ok(Self {
            rpc_addr,
            metrics_addr,
            p2p,
            state,
            shutdown,
            tasks,
            rpc,
            store,
            attest_gossip,
        })
    }

    /// Stops every task, the listeners and P2P, and closes the store.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.rpc.stop();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        Self::release(self.p2p, self.attest_gossip, self.store).await;
    }

    /// Stops the node as a crash would (an embedder's kill): every task is aborted wherever it
    /// is, then the listeners and P2P stop and the store closes, with nothing flushed first.
    pub async fn abort(self) {
        for t in &self.tasks {
            t.abort();
        }
        let _ = self.rpc.stop();
        for t in self.tasks {
            let _ = t.await;
        }
        let _ = self.shutdown.send(true);
        self.rpc.stopped().await;
        Self::release(self.p2p, self.attest_gossip, self.store).await;
    }

    async fn release(
        p2p: Option<Arc<BlockGossipNode>>,
        attest_gossip: Option<Arc<AttestGossipNode>>,
        store: Store,
    ) {
        if let Some(p2p) = p2p
            && let Ok(node) = Arc::try_unwrap(p2p)
        {
            node.stop().await;
        }
        if let Some(g) = attest_gossip
            && let Ok(node) = Arc::try_unwrap(g)
        {
            node.shutdown().await;
        }
        store.close().await;
    }

    /// The attestation gossip node, when one runs.
    pub fn attest_gossip(&self) -> Option<&Arc<AttestGossipNode>> {
        self.attest_gossip.as_ref()
    }
}

async fn start_attest_gossip(
    chain_id: opfleet_protocol::ChainId,
    g: &crate::config::AttestGossipSettings,
    data_dir: &std::path::Path,
) -> Result<Arc<AttestGossipNode>, NodeError> {
    let key = SwarmKey::from_file(&g.swarm_key).map_err(|e| NodeError::P2p(e.to_string()))?;
    let listen = g
        .listen
        .parse()
        .map_err(|e| NodeError::P2p(format!("--attest.gossip.listen {}: {e}", g.listen)))?;
    let key_file = g
        .priv_path
        .clone()
        .unwrap_or_else(|| data_dir.join(opfleet_p2p::DEFAULT_ATTEST_GOSSIP_KEY_FILE));
    let identity = opfleet_p2p::load_or_create_identity(&key_file)
        .map_err(|e| NodeError::P2p(format!("attestation gossip identity: {e}")))?;
    let mut config = AttestGossipConfig::new(identity, key, vec![chain_id], listen);
    for s in &g.peers {
        let addr = s
            .parse()
            .map_err(|e| NodeError::P2p(format!("--attest.gossip.peers {s}: {e}")))?;
        config.static_peers.push(
            StaticPeer::from_multiaddr(addr)
                .map_err(|e| NodeError::P2p(format!("--attest.gossip.peers {s}: {e}")))?,
        );
    }
    if g.listen.contains("/ip4/127.0.0.1/") {
        config
            .ip_colocation_whitelist
            .insert(std::net::IpAddr::from([127, 0, 0, 1]));
    }
    let node = AttestGossipNode::spawn(config)
        .await
        .map_err(|e| NodeError::P2p(format!("attestation gossip: {e}")))?;
    Ok(Arc::new(node))
}

async fn start_p2p(
    config: &FollowerConfig,
    p: &crate::config::P2pSettings,
    served: Arc<ServedPayloads>,
) -> Result<Arc<BlockGossipNode>, NodeError> {
    let listen = p
        .listen
        .parse()
        .map_err(|e| NodeError::P2p(format!("--p2p.listen {}: {e}", p.listen)))?;
    let mut pc = P2pConfig::new(config.rollup.l2_chain_id, listen, p.unsafe_block_signer);
    pc.block_time = Duration::from_secs(config.rollup.block_time.max(1));
    pc.jovian_time = config.rollup.hardforks.jovian_time;
    for s in &p.static_peers {
        let addr = s
            .parse()
            .map_err(|e| NodeError::P2p(format!("--p2p.static {s}: {e}")))?;
        let peer = StaticPeer::from_multiaddr(addr)
            .map_err(|e| NodeError::P2p(format!("--p2p.static {s}: {e}")))?;
        pc.static_peers.push(peer);
    }
    if pc.listen_addr.to_string().contains("/ip4/127.0.0.1/") {
        // A local devnet runs every node on one IP; do not penalise colocation there.
        pc.ip_colocation_whitelist
            .insert(std::net::IpAddr::from([127, 0, 0, 1]));
    }
    let identity = match &p.priv_key_hex {
        Some(hex) => opfleet_p2p::identity_from_hex(hex)
            .map_err(|e| NodeError::P2p(format!("--p2p.priv.raw: {e}")))?,
        None => {
            let key_file = p.priv_path.clone().unwrap_or_else(|| {
                config
                    .data_dir
                    .join(opfleet_p2p::DEFAULT_BLOCK_GOSSIP_KEY_FILE)
            });
            opfleet_p2p::load_or_create_identity(&key_file)
                .map_err(|e| NodeError::P2p(format!("block gossip identity: {e}")))?
        }
    };
    pc.discovery = discovery_config(config, p)?;
    let node = BlockGossipNode::start(pc, identity, served)
        .await
        .map_err(|e| NodeError::P2p(e.to_string()))?;
    Ok(Arc::new(node))
}

/// The discv5 configuration: none with `--p2p.no-discovery`, or when there is nowhere to start
/// from (no bootnode and no discovery DB file).
fn discovery_config(
    config: &FollowerConfig,
    p: &crate::config::P2pSettings,
) -> Result<Option<DiscoveryConfig>, NodeError> {
    let bootnodes = p
        .bootnodes
        .iter()
        .map(|b| {
            opfleet_p2p::discovery::parse_bootnode(b)
                .map_err(|e| NodeError::P2p(format!("--p2p.bootnodes: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let d = &p.discovery;
    if d.disabled {
        tracing::info!("discovery disabled (--p2p.no-discovery)");
        return Ok(None);
    }
    let db = DiscoveryDb::from_flag(d.path.as_deref(), &config.data_dir);
    if bootnodes.is_empty() && !db.exists() {
        tracing::info!("discovery off: no bootnodes and no discovery DB to start from");
        return Ok(None);
    }
    let mut dc = DiscoveryConfig::new(p.discovery_udp, bootnodes);
    dc.advertise_ip = d.advertise_ip;
    dc.advertise_tcp_port = d.advertise_tcp;
    dc.advertise_udp_port = d.advertise_udp;
    dc.db = db;
    Ok(Some(dc))
}

/// Targets for the engine from accepted heads and a head awaiting verification.
fn targets_of(h: &AcceptedHeads, pending: Option<L2BlockRef>) -> Targets {
    Targets {
        safe: h.safe.map(|s| s.block),
        finalized: h.finalized.map(|f| f.block),
        pending,
    }
}

/// What the heads tasks share.
struct HeadsCtx {
    store: Store,
    heads: watch::Sender<AcceptedHeads>,
    targets: watch::Sender<Targets>,
    el: Arc<dyn ExecutionLayer>,
    verify: bool,
    refusals: Arc<Mutex<Vec<OutputRootRefusal>>>,
}

/// What the output-root check says about an offer.
enum Verdict {
    Accept,
    Refuse(B256),
    NotYet,
}

impl HeadsCtx {
    async fn verify(&self, offer: &HeadOffer) -> Verdict {
        if !self.verify {
            return Verdict::Accept;
        }
        match self.el.output_at(offer.head.block.number).await {
            Ok(Some(own)) if own.block.hash == offer.head.block.hash => {
                if own.output_root == offer.head.output_root {
                    Verdict::Accept
                } else {
                    Verdict::Refuse(own.output_root)
                }
            }
            Ok(_) => Verdict::NotYet,
            Err(e) => {
                tracing::warn!(error = %e, "output root check failed; retrying");
                Verdict::NotYet
            }
        }
    }

    fn refuse(&self, offer: &HeadOffer, computed: B256) {
        let signers: Vec<String> = offer.signers.iter().map(PublicKey::to_string).collect();
        tracing::error!(
            kind = offer.kind.as_str(),
            number = offer.head.block.number,
            block = %offer.head.block.hash,
            attested = %offer.head.output_root,
            computed = %computed,
            signers = %signers.join(","),
            "attested output root differs from our execution client's; attestation refused"
        );
        metrics::counter!("follower_output_root_mismatch_total", "kind" => offer.kind.as_str())
            .increment(1);
        let mut r = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        r.push(OutputRootRefusal {
            kind: offer.kind,
            block: offer.head.block,
            attested: offer.head.output_root,
            computed,
            signers: offer.signers.clone(),
        });
        let excess = r.len().saturating_sub(MAX_REFUSALS);
        r.drain(..excess);
    }

    /// Applies one offer; true when the heads moved.
    fn apply(
        &self,
        heads: &mut AcceptedHeads,
        kind: AttestationKind,
        head: AcceptedHead,
        rewind: bool,
    ) -> bool {
        let outcome = match kind {
            AttestationKind::Safe => heads.offer_safe(head, rewind),
            AttestationKind::Finalized => heads.offer_finalized(head),
        };
        match outcome {
            Offer::Applied => true,
            Offer::Unchanged => false,
            Offer::Refused(why) => {
                metrics::counter!("follower_head_refused_total", "kind" => kind.as_str())
                    .increment(1);
                tracing::warn!(kind = kind.as_str(), number = head.block.number, reason = %why, "head not accepted");
                false
            }
        }
    }

    /// Persists, then publishes: a head is never served before it is stored.
    async fn publish(&self, heads: AcceptedHeads, pending: Option<L2BlockRef>) {
        if let Err(e) = self.store.save_heads(&heads, now_ms()).await {
            tracing::error!(error = %e, "cannot persist heads; not serving them");
            return;
        }
        if let Some(s) = heads.safe {
            metrics::gauge!("follower_safe_head").set(s.block.number as f64);
        }
        if let Some(f) = heads.finalized {
            metrics::gauge!("follower_finalized_head").set(f.block.number as f64);
        }
        self.heads.send_replace(heads);
        self.targets.send_replace(targets_of(&heads, pending));
    }

    async fn save_evidence(&self, evidence: &[Evidence]) {
        for ev in evidence {
            tracing::error!(signer = %ev.signer(), "equivocation: signer excluded, evidence stored");
            metrics::counter!("follower_equivocations_total").increment(1);
            if let Err(e) = self.store.save_evidence(ev, now_ms()).await {
                tracing::error!(error = %e, "cannot persist evidence");
            }
        }
    }
}

async fn attested_heads_task(
    mut rx: mpsc::Receiver<AttestationBatch>,
    intake: Arc<Mutex<Intake>>,
    ctx: HeadsCtx,
    mut shutdown: watch::Receiver<bool>,
) {
    // Offers waiting for the execution client to reach them (output-root check), per kind.
    let mut pending: Vec<HeadOffer> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let batch = tokio::select! {
            b = rx.recv() => match b { Some(b) => Some(b), None => return },
            _ = tick.tick() => None,
            _ = shutdown.changed() => return,
        };
        let mut offers = std::mem::take(&mut pending);
        if let Some(batch) = batch {
            let report = intake
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .ingest(&batch.items, now_ms());
            metrics::counter!("follower_attestations_total", "source" => batch.source.clone())
                .increment(batch.items.len() as u64);
            if report.rejected > 0 {
                metrics::counter!("follower_attestations_rejected_total")
                    .increment(report.rejected as u64);
            }
            ctx.save_evidence(&report.evidence).await;
            offers.extend(report.offers);
        }
        if offers.is_empty() {
            continue;
        }
        let mut heads = *ctx.heads.borrow();
        let mut moved = false;
        for offer in offers {
            match ctx.verify(&offer).await {
                Verdict::Accept => {
                    moved |= ctx.apply(&mut heads, offer.kind, offer.head, offer.rewind)
                }
                Verdict::Refuse(computed) => ctx.refuse(&offer, computed),
                Verdict::NotYet => {
                    // Only the newest offer per kind matters.
                    pending.retain(|p| p.kind != offer.kind);
                    pending.push(offer);
                }
            }
        }
        // The engine syncs (or reorgs) to the highest head awaiting its check.
        let waiting = pending
            .iter()
            .map(|p| p.head.block)
            .max_by_key(|b| b.number);
        if moved || waiting != ctx.targets.borrow().pending {
            ctx.publish(heads, waiting).await;
        }
    }
}

async fn follow_heads_task(
    mut rx: mpsc::Receiver<FollowUpdate>,
    ctx: HeadsCtx,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let update = tokio::select! {
            u = rx.recv() => match u { Some(u) => u, None => return },
            _ = shutdown.changed() => return,
        };
        let mut heads = *ctx.heads.borrow();
        let head = |block| AcceptedHead {
            block,
            output_root: B256::ZERO,
        };
        let mut moved = false;
        // A zero finalized (upstream has none yet) is not a head.
        if update.finalized.hash != B256::ZERO {
            moved |= ctx.apply(
                &mut heads,
                AttestationKind::Finalized,
                head(update.finalized),
                false,
            );
        }
        if update.safe.hash != B256::ZERO {
            moved |= ctx.apply(
                &mut heads,
                AttestationKind::Safe,
                head(update.safe),
                update.rewind,
            );
        }
        if moved {
            ctx.publish(heads, None).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    /// A public op-stack bootnode record (chain 901 is not its chain: only parsing matters).
    const BOOTNODE: &str = "enr:-J64QM3nCEvp4MQhkZrjnst7X9pzUL7ikW3jL5VXsHMbqw0PCDxEctBPAOGluJgg4-2xk4WeDRPV60_zl52_9cHSceiGAZFS5fg8gmlkgnY0gmlwhCLxekOHb3BzdGFja4SthQEAiXNlY3AyNTZrMaEDb4HiEkpCzMLwzTAGG6pqwxX-7cAKLI_FzZz8EuycauODdGNwgiQGg3VkcIIkBg";

    fn config(data_dir: &std::path::Path, extra: &[&str]) -> FollowerConfig {
        let rollup = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../protocol/src/config/testdata/base-sepolia-rollup.json"
        );
        let signer = format!("{:#x}", alloy::primitives::Address::repeat_byte(1));
        let dir = data_dir.to_str().unwrap();
        let mut argv = vec![
            "opfleet-follower",
            "run",
            "--rollup-config",
            rollup,
            "--l2",
            "http://127.0.0.1:8551",
            "--l2.jwt-secret",
            "/tmp/jwt.hex",
            "--data-dir",
            dir,
            "--l2.follow.source",
            "http://b",
            "--p2p.listen",
            "/ip4/127.0.0.1/tcp/0",
            "--p2p.unsafe-block-signer",
            &signer,
        ];
        argv.extend_from_slice(extra);
        let Command::Run(args) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("not run");
        };
        args.to_config().unwrap()
    }

    fn discovery(c: &FollowerConfig) -> Option<DiscoveryConfig> {
        discovery_config(c, c.p2p.as_ref().unwrap()).unwrap()
    }

    #[test]
    fn discovery_runs_from_bootnodes_or_a_stored_db() {
        let dir = tempfile::tempdir().unwrap();
        // Nowhere to start from: off, as before the discovery DB existed.
        assert!(discovery(&config(dir.path(), &[])).is_none());
        // Bootnodes: on, with the advertised values and the DB in the data directory.
        let c = config(
            dir.path(),
            &[
                "--p2p.bootnodes",
                BOOTNODE,
                "--p2p.advertise.ip",
                "203.0.113.7",
                "--p2p.advertise.udp",
                "30304",
            ],
        );
        let d = discovery(&c).unwrap();
        assert_eq!(d.bootnodes.len(), 1);
        assert_eq!(
            d.advertise_ip,
            Some(std::net::IpAddr::from([203, 0, 113, 7]))
        );
        assert_eq!(
            (d.advertise_tcp_port, d.advertise_udp_port),
            (None, Some(30304))
        );
        let db_file = dir.path().join("opnode_discovery_db");
        assert_eq!(d.db, DiscoveryDb::File(db_file.clone()));
        // --p2p.no-discovery wins over bootnodes.
        let c = config(
            dir.path(),
            &["--p2p.bootnodes", BOOTNODE, "--p2p.no-discovery"],
        );
        assert!(discovery(&c).is_none());
        // No bootnodes but a stored DB: on, seeded from the DB alone.
        std::fs::write(&db_file, format!("{BOOTNODE}\n")).unwrap();
        let d = discovery(&config(dir.path(), &[])).unwrap();
        assert!(d.bootnodes.is_empty());
        assert_eq!(d.db.load().len(), 1);
        // `memory` keeps nothing, so there is nothing to start from.
        let c = config(dir.path(), &["--p2p.discovery.path", "memory"]);
        assert!(discovery(&c).is_none());
        // A bad bootnode is an error naming the flag.
        let c = config(dir.path(), &["--p2p.bootnodes", "enr:-broken"]);
        let err = discovery_config(&c, c.p2p.as_ref().unwrap()).unwrap_err();
        assert!(err.to_string().contains("--p2p.bootnodes"));
    }
}
