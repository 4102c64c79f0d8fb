//! The per-chain task between derivation and the outside world.
//!
//! ```text
//!  watch<ChainHeads> ─▶ Gate ─adopt─▶ store heads ─▶ SafeDB ─▶ serve (NodeState)
//!                                        │
//!                                        └─▶ plan ─▶ output root ─▶ sign ─▶ verify ─▶ store
//!                                                     (EL / op-node)          ─▶ latest + ws push
//!                                                                             ─▶ gossip
//! ```
//! A claim whose output root cannot be fetched (execution client down, or it holds another
//! block at that height) is retried with backoff, and re-planned on every new heads value.
//! Heads are stored before they are served, and attestations before they are pushed, so a
//! restart never answers with less than was already said.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opfleet_attest::{Attestation, SignedAttestation, SigningKey};
use tokio::sync::watch;

use super::gate::{Gate, HoldReason};
use super::plan::{Claim, plan};
use super::sink::AttestSink;
use crate::heads::ChainHeads;
use crate::metrics::ErrorStage;
use crate::node::state::NodeState;

/// First retry delay after a failed claim; doubled up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(250);
const MAX_RETRY: Duration = Duration::from_secs(8);

/// Why signing a claim failed (retried).
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The output root source failed.
    #[error("output root of block #{number}: {source}")]
    Output {
        /// The block number.
        number: u64,
        /// The source error.
        source: crate::node::sources::SourceError,
    },
    /// The source does not have the block (yet).
    #[error("output root of block #{0}: the execution client does not have it")]
    Missing(u64),
    /// The source has another block at that height.
    #[error("output root of block #{number}: the source has block {found}, derivation says {want}")]
    OtherBlock {
        /// The height.
        number: u64,
        /// Hash from the source.
        found: alloy::primitives::B256,
        /// Hash from derivation.
        want: alloy::primitives::B256,
    },
    /// Our own signature does not verify (a broken key or library): never publish.
    #[error("own attestation does not verify: {0}")]
    Verify(#[from] opfleet_attest::VerifyError),
    /// The database refused the write.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Milliseconds since the Unix epoch by the wall clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The heads at a safe-head rewind not yet acted on (`seen` is the newest acted on, updated)
/// that `live` no longer shows because derivation moved past it again, or `None`.
pub fn missed_rewind(seen: &mut u64, live: &ChainHeads) -> Option<ChainHeads> {
    let rewind = live.last_rewind?;
    if rewind.seq <= *seen {
        return None;
    }
    *seen = rewind.seq;
    let safe = live.status.safe_l2;
    // Still showing (or above the live head): the live heads say it all. Below finalized:
    // never signed, finalized does not go back.
    if rewind.safe.number >= safe.number || rewind.safe.number < live.status.finalized_l2.number {
        return None;
    }
    let mut back = *live;
    back.status.safe_l2 = rewind.safe;
    back.status.local_safe_l2 = rewind.safe;
    back.safe_derived_from = rewind.derived_from;
    Some(back)
}

/// Signs, stores and publishes one chain's heads.
pub struct ChainPublisher {
    state: Arc<NodeState>,
    key: Arc<SigningKey>,
    sink: Option<Arc<dyn AttestSink>>,
    gate: Gate,
    /// The newest safe-head rewind already acted on.
    rewinds_seen: u64,
}

impl ChainPublisher {
    /// A publisher for the chain whose heads `state` restored (or a fresh one).
    pub fn new(
        state: Arc<NodeState>,
        chain: opfleet_protocol::ChainId,
        key: Arc<SigningKey>,
        sink: Option<Arc<dyn AttestSink>>,
    ) -> Self {
        let restored = state.chain(chain).and_then(|c| c.served());
        Self {
            state,
            key,
            sink,
            gate: Gate::restored(restored),
            rewinds_seen: 0,
        }
    }

    /// Runs until the heads sender is dropped.
    pub async fn run(mut self, mut heads: watch::Receiver<ChainHeads>) {
        let mut retry: Option<Duration> = None;
        // The value present at start counts as a change: derivation may already be running.
        heads.mark_changed();
        loop {
            let changed = match retry {
                None => heads.changed().await.is_ok(),
                Some(delay) => tokio::select! {
                    r = heads.changed() => r.is_ok(),
                    () = tokio::time::sleep(delay) => true,
                },
            };
            if !changed {
                return;
            }
            let live = *heads.borrow_and_update();
            if let Some(back) = missed_rewind(&mut self.rewinds_seen, &live) {
                // Signing the lower head first tells followers the safe head went back, even
                // when derivation re-derived past it before this task looked. A failure here
                // only loses that notice; the live heads still get signed.
                let _ = self.step(back).await;
            }
            retry = match self.step(live).await {
                Ok(()) => None,
                Err(()) => Some(retry.map_or(FIRST_RETRY, |d| (d * 2).min(MAX_RETRY))),
            };
        }
    }

    /// Adopts (or holds) `live` and signs what it calls for; `Err` means "retry later".
    pub async fn step(&mut self, live: ChainHeads) -> Result<(), ()> {
        let chain = live.chain_id;
        let metrics = self.state.metrics().clone();
        let same_as_served = self.gate.served() == Some(&live);
        if !same_as_served {
            match self.gate.admit(live) {
                Ok(previous) => {
                    if let Err(e) = self.adopt(previous, &live).await {
                        tracing::error!(%chain, error = %e, "storing adopted heads failed");
                        metrics.error(chain, ErrorStage::Store);
                        return Err(());
                    }
                }
                Err(reason) => {
                    let label = match reason {
                        HoldReason::FinalizedBehind { .. } => "finalized_behind",
                        HoldReason::FinalizedConflict { .. } => "finalized_conflict",
                        HoldReason::CatchingUp { .. } => "catching_up",
                    };
                    tracing::debug!(%chain, %reason, "heads held");
                    metrics.held(chain, label);
                    return Ok(());
                }
            }
        }
        let Some(served) = self.gate.served().copied() else {
            return Ok(());
        };
        let latest = self
            .state
            .chain(chain)
            .map(|c| c.latest())
            .unwrap_or_default();
        let claims = plan(
            latest.safe.as_ref().map(|s| &s.attestation),
            latest.finalized.as_ref().map(|s| &s.attestation),
            &served,
        );
        let mut failed = false;
        for claim in claims {
            if let Err(e) = self.sign_and_publish(chain, claim).await {
                tracing::warn!(%chain, kind = %claim.kind, error = %e, "attestation not signed; will retry");
                let stage = match e {
                    SignError::Store(_) => ErrorStage::Store,
                    _ => ErrorStage::OutputRoot,
                };
                metrics.error(chain, stage);
                failed = true;
            }
        }
        if failed { Err(()) } else { Ok(()) }
    }

    async fn adopt(
        &self,
        previous: Option<ChainHeads>,
        live: &ChainHeads,
    ) -> Result<(), crate::store::StoreError> {
        let store = self.state.store();
        store.save_heads(live).await?;
        let safe_moved = previous.is_none_or(|p| {
            p.status.safe_l2 != live.status.safe_l2 || p.safe_derived_from != live.safe_derived_from
        });
        if safe_moved && live.status.safe_l2.hash != alloy::primitives::B256::ZERO {
            store
                .record_safe_head(live.chain_id, live.status.safe_l2, live.safe_derived_from)
                .await?;
        }
        self.state.set_served(*live);
        Ok(())
    }

    async fn sign_and_publish(
        &self,
        chain: opfleet_protocol::ChainId,
        claim: Claim,
    ) -> Result<SignedAttestation, SignError> {
        let number = claim.block.number;
        let source = self
            .state
            .chain(chain)
            .map(|c| c.outputs.clone())
            .ok_or(SignError::Missing(number))?;
        let output = source
            .output_at_block(number)
            .await
            .map_err(|source| SignError::Output { number, source })?
            .ok_or(SignError::Missing(number))?;
        if output.block.hash != claim.block.hash {
            return Err(SignError::OtherBlock {
                number,
                found: output.block.hash,
                want: claim.block.hash,
            });
        }
        let signed = SignedAttestation::sign(
            Attestation {
                kind: claim.kind,
                chain_id: chain,
                block: claim.block,
                derived_from: claim.derived_from,
                output_root: output.output_root,
                issued_at_ms: now_ms(),
            },
            &self.key,
        );
        signed.verify()?;
        self.state.store().insert_attestation(&signed).await?;
        self.state.record_signed(signed);
        self.state.metrics().signed(chain, claim.kind);
        if let Some(sink) = &self.sink
            && let Err(e) = sink.publish(&signed).await
        {
            // Gossip is best effort: RPC and ws subscribers already have it.
            tracing::warn!(%chain, error = %e, "gossip publish failed");
            self.state.metrics().error(chain, ErrorStage::Gossip);
        }
        tracing::info!(%chain, kind = %claim.kind, number, hash = %claim.block.hash, "attested");
        Ok(signed)
    }
}

#[cfg(test)]
mod rewind_tests {
    use super::missed_rewind;
    use crate::heads::{ChainHeads, SafeRewind};
    use alloy::primitives::B256;
    use opfleet_protocol::{BlockId, L2BlockRef};

    fn block(n: u64) -> L2BlockRef {
        L2BlockRef {
            hash: B256::with_last_byte(u8::try_from(n).unwrap()),
            number: n,
            ..L2BlockRef::default()
        }
    }

    fn live(safe: u64, finalized: u64, rewind: Option<(u64, u64)>) -> ChainHeads {
        let mut h = ChainHeads::default();
        h.status.safe_l2 = block(safe);
        h.status.local_safe_l2 = block(safe);
        h.status.finalized_l2 = block(finalized);
        h.last_rewind = rewind.map(|(seq, to)| SafeRewind {
            seq,
            safe: block(to),
            derived_from: BlockId {
                hash: B256::repeat_byte(7),
                number: to + 1,
            },
        });
        h
    }

    #[test]
    fn a_rewind_passed_by_derivation_is_replayed_once() {
        let mut seen = 0;
        let back = missed_rewind(&mut seen, &live(14, 5, Some((1, 11)))).unwrap();
        assert_eq!(back.status.safe_l2, block(11));
        assert_eq!(back.status.local_safe_l2, block(11));
        assert_eq!(back.safe_derived_from.number, 12);
        assert_eq!(back.status.finalized_l2, block(5));
        assert_eq!(seen, 1);
        assert!(missed_rewind(&mut seen, &live(15, 5, Some((1, 11)))).is_none());
        assert!(missed_rewind(&mut seen, &live(16, 5, Some((2, 13)))).is_some());
    }

    #[test]
    fn a_rewind_still_shown_or_below_finalized_is_not_replayed() {
        let mut seen = 0;
        assert!(missed_rewind(&mut seen, &live(11, 5, Some((1, 11)))).is_none());
        assert_eq!(seen, 1);
        assert!(missed_rewind(&mut seen, &live(14, 12, Some((2, 11)))).is_none());
        assert!(missed_rewind(&mut seen, &live(14, 5, None)).is_none());
    }
}
