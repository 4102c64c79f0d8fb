//! What the follower answers P2P `payload_by_number` requests with: its recently inserted
//! payloads first, then its own execution client.
//!
//! ```text
//!   request n ─> RecentPayloads (memory, last N inserted)   on the P2P event loop
//!                  └ miss ─> ExecutionLayer::payload_by_number(n)   off the loop; the P2P
//!                            node bounds how many run at once and how long each may take
//! ```
//! The execution client holds every canonical block, so a peer can repair any gap the
//! follower's chain covers, not only the last few blocks.

use std::sync::Arc;

use op_alloy_rpc_types_engine::OpExecutionPayloadEnvelope;
use opfleet_p2p::PayloadStore;
use opfleet_p2p::blocks::PayloadLookup;

use crate::engine::ExecutionLayer;
use crate::engine::runner::RecentPayloads;

/// The follower's `payload_by_number` source: recent cache, then the execution client.
pub struct ServedPayloads {
    recent: Arc<RecentPayloads>,
    el: Arc<dyn ExecutionLayer>,
}

impl ServedPayloads {
    /// Serves from `recent`, then from `el`.
    pub fn new(recent: Arc<RecentPayloads>, el: Arc<dyn ExecutionLayer>) -> Self {
        Self { recent, el }
    }
}

impl PayloadStore for ServedPayloads {
    fn payload_by_number(&self, number: u64) -> Option<OpExecutionPayloadEnvelope> {
        self.recent.payload_by_number(number)
    }

    fn lookup_payload(&self, number: u64) -> Option<PayloadLookup> {
        let el = self.el.clone();
        Some(Box::pin(async move {
            match el.payload_by_number(number).await {
                Ok(found) => {
                    metrics::counter!("follower_payload_served_from_el_total",
                        "result" => if found.is_some() { "found" } else { "missing" })
                    .increment(1);
                    found
                }
                Err(e) => {
                    tracing::debug!(number, error = %e, "payload_by_number: execution client read failed");
                    None
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{BlockAt, ElError, Forkchoice, OwnOutput};
    use crate::unsafe_blocks::queue::tests::env;
    use alloy::primitives::B256;
    use alloy::rpc::types::engine::PayloadStatusEnum;
    use opfleet_protocol::L2BlockRef;

    /// An execution client holding blocks 0..=9 (hash byte = number); block 7 fails to read.
    struct TenBlocks;

    fn h(n: u64) -> B256 {
        B256::repeat_byte(n as u8 + 1)
    }

    #[async_trait::async_trait]
    impl ExecutionLayer for TenBlocks {
        async fn block_ref(&self, _: BlockAt) -> Result<Option<L2BlockRef>, ElError> {
            Ok(None)
        }
        async fn new_payload(
            &self,
            _: &OpExecutionPayloadEnvelope,
        ) -> Result<PayloadStatusEnum, ElError> {
            Ok(PayloadStatusEnum::Syncing)
        }
        async fn forkchoice_updated(&self, _: Forkchoice) -> Result<PayloadStatusEnum, ElError> {
            Ok(PayloadStatusEnum::Syncing)
        }
        async fn output_at(&self, _: u64) -> Result<Option<OwnOutput>, ElError> {
            Ok(None)
        }
        async fn payload_by_number(
            &self,
            number: u64,
        ) -> Result<Option<OpExecutionPayloadEnvelope>, ElError> {
            match number {
                7 => Err(ElError::Transport("down".into())),
                0..=9 => Ok(Some(env(number, h(number), B256::ZERO))),
                _ => Ok(None),
            }
        }
    }

    #[tokio::test]
    async fn recent_payloads_first_then_the_execution_client() {
        let recent = Arc::new(RecentPayloads::new(4));
        // A payload the cache has that differs from the EL's (it wins: first tier).
        recent.insert(env(3, B256::repeat_byte(0xaa), B256::ZERO));
        let served = ServedPayloads::new(recent.clone(), Arc::new(TenBlocks));
        let hash =
            |e: Option<OpExecutionPayloadEnvelope>| e.map(|e| e.execution_payload.block_hash());
        assert_eq!(
            hash(served.payload_by_number(3)),
            Some(B256::repeat_byte(0xaa))
        );
        assert_eq!(served.payload_by_number(5), None, "not in memory");
        let lookup = |n| served.lookup_payload(n).expect("a second tier");
        assert_eq!(hash(lookup(5).await), Some(h(5)));
        assert_eq!(hash(lookup(12).await), None, "the EL lacks it");
        assert_eq!(hash(lookup(7).await), None, "a failed read is not found");
    }

    #[test]
    fn the_cache_is_bounded_and_forgets_an_abandoned_fork() {
        let recent = RecentPayloads::new(3);
        for n in 1..=5 {
            recent.insert(env(n, h(n), h(n - 1)));
        }
        assert_eq!(recent.payload_by_number(2), None, "oldest inserts go first");
        assert!(recent.payload_by_number(3).is_some());
        recent.forget_above(3);
        assert_eq!(recent.payload_by_number(4), None);
        assert_eq!(recent.payload_by_number(5), None);
        assert!(recent.payload_by_number(3).is_some());
        // Room again after forgetting: new inserts do not evict 3 early.
        recent.insert(env(4, h(40), h(3)));
        recent.insert(env(5, h(50), h(40)));
        assert!(recent.payload_by_number(3).is_some());
    }
}
