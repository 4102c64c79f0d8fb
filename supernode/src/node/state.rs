//! The state every part of a running node shares: per chain, the heads served and the latest
//! signed attestations; node-wide, the store, the attestation broadcast and the metrics.
//!
//! ```text
//!   publisher (per chain) ──set_served / record_signed──▶ NodeState ◀── RPC, status page
//!                                                            │
//!                                                            └─ broadcast ─▶ attest_subscribe
//! ```
//! A `NodeState` only exists after [`NodeState::load`] has read the stored heads and
//! attestations, and the RPC server takes one: nothing can be served before that.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use opfleet_attest::{AttestationKind, PublicKey, SignedAttestation};
use opfleet_protocol::ChainId;
use opfleet_protocol::config::RollupConfig;
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use super::sources::{OutputRootSource, PayloadSource};
use crate::heads::ChainHeads;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// Attestations buffered for slow `attest_subscribe` subscribers before they lag.
const BROADCAST_CAPACITY: usize = 1024;

/// The latest safe and finalized attestation of one chain (`attest_latest`'s answer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LatestAttestations {
    /// Latest signed safe head.
    pub safe: Option<SignedAttestation>,
    /// Latest signed finalized head.
    pub finalized: Option<SignedAttestation>,
}

/// What a chain is built from.
#[derive(Clone)]
pub struct ChainSetup {
    /// The chain's rollup config.
    pub rollup: RollupConfig,
    /// Output roots for signing, `optimism_outputAtBlock` and super roots.
    pub outputs: Arc<dyn OutputRootSource>,
    /// Blocks in gossip form for `opfleet_payloadByNumber`, when an execution client is known.
    pub payloads: Option<Arc<dyn PayloadSource>>,
}

/// One chain's shared state.
pub struct ChainState {
    /// The chain's rollup config.
    pub rollup: RollupConfig,
    /// Output roots of the chain's blocks.
    pub outputs: Arc<dyn OutputRootSource>,
    /// Blocks in gossip form, if available.
    pub payloads: Option<Arc<dyn PayloadSource>>,
    served: watch::Sender<Option<ChainHeads>>,
    latest: Mutex<LatestAttestations>,
}

impl ChainState {
    /// The heads served now (`None` until the chain first reports or was stored).
    pub fn served(&self) -> Option<ChainHeads> {
        *self.served.borrow()
    }

    /// A receiver of every change of the served heads.
    pub fn watch_served(&self) -> watch::Receiver<Option<ChainHeads>> {
        self.served.subscribe()
    }

    /// The latest signed attestations.
    pub fn latest(&self) -> LatestAttestations {
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The node's shared state.
pub struct NodeState {
    chains: BTreeMap<ChainId, ChainState>,
    store: Store,
    attestations: broadcast::Sender<SignedAttestation>,
    signer: PublicKey,
    metrics: Metrics,
    started: Instant,
}

impl NodeState {
    /// Loads the stored heads and latest attestations of every configured chain.
    pub async fn load(
        store: Store,
        chains: Vec<ChainSetup>,
        signer: PublicKey,
        metrics: Metrics,
    ) -> Result<Arc<Self>, StoreError> {
        let mut stored = store.load_heads().await?;
        let mut out = BTreeMap::new();
        for setup in chains {
            let id = setup.rollup.l2_chain_id;
            let latest = LatestAttestations {
                safe: store.latest_attestation(id, AttestationKind::Safe).await?,
                finalized: store
                    .latest_attestation(id, AttestationKind::Finalized)
                    .await?,
            };
            let heads = stored.remove(&id);
            if let Some(h) = &heads {
                metrics.served(h);
            }
            out.insert(
                id,
                ChainState {
                    rollup: setup.rollup,
                    outputs: setup.outputs,
                    payloads: setup.payloads,
                    served: watch::Sender::new(heads),
                    latest: Mutex::new(latest),
                },
            );
        }
        let (attestations, _) = broadcast::channel(BROADCAST_CAPACITY);
        Ok(Arc::new(Self {
            chains: out,
            store,
            attestations,
            signer,
            metrics,
            started: Instant::now(),
        }))
    }

    /// A configured chain.
    pub fn chain(&self, id: ChainId) -> Option<&ChainState> {
        self.chains.get(&id)
    }

    /// Every configured chain, by ascending id.
    pub fn chains(&self) -> impl Iterator<Item = (ChainId, &ChainState)> {
        self.chains.iter().map(|(id, c)| (*id, c))
    }

    /// The database.
    pub const fn store(&self) -> &Store {
        &self.store
    }

    /// This node's attestation signer.
    pub const fn signer(&self) -> PublicKey {
        self.signer
    }

    /// The node's metrics.
    pub const fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Seconds since the state was loaded.
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Publishes newly adopted heads to the RPC and metrics.
    pub fn set_served(&self, heads: ChainHeads) {
        if let Some(c) = self.chains.get(&heads.chain_id) {
            self.metrics.served(&heads);
            c.served.send_replace(Some(heads));
        }
    }

    /// Makes a newly signed attestation the latest of its kind and pushes it to subscribers.
    pub fn record_signed(&self, signed: SignedAttestation) {
        let a = &signed.attestation;
        if let Some(c) = self.chains.get(&a.chain_id) {
            let mut latest = c.latest.lock().unwrap_or_else(PoisonError::into_inner);
            match a.kind {
                AttestationKind::Safe => latest.safe = Some(signed),
                AttestationKind::Finalized => latest.finalized = Some(signed),
            }
            // No subscriber is not an error.
            let _ = self.attestations.send(signed);
        }
    }

    /// A receiver of every attestation signed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SignedAttestation> {
        self.attestations.subscribe()
    }
}
