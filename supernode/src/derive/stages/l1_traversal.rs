//! L1 traversal: the pipeline's L1 cursor, one block at a time, with the system config as of
//! that block (specs `protocol/derivation.md` "L1 Traversal").
//!
//! ```text
//! origin N ──advance──▶ block N+1 by number ── parent_hash == hash(N)? ──no──▶ Reorg
//!                                      │yes
//!                                      ▼
//!                     receipts(N+1): ConfigUpdate logs ─▶ system config ─▶ origin = N+1
//! ```

use opfleet_protocol::L1BlockRef;
use opfleet_protocol::config::{RollupConfig, SystemConfig};

use crate::derive::system_config::{SkippedUpdate, apply_receipts};
use crate::derive::traits::{L1ChainProvider, ProviderError};

/// Why traversal could not advance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraversalError {
    /// The L1 read failed.
    #[error("L1 traversal: {0}")]
    Provider(#[from] ProviderError),
    /// The next canonical block does not build on the current origin: L1 reorged.
    #[error("L1 reorg: block {number} has parent {got}, but the origin there is {expected}")]
    Reorg {
        /// Number of the next block.
        number: u64,
        /// Hash of the current origin.
        expected: alloy::primitives::B256,
        /// The next block's parent hash.
        got: alloy::primitives::B256,
    },
}

/// What one successful [`L1Traversal::advance`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advance {
    /// The origin moved to this block.
    Moved {
        /// The new origin.
        origin: L1BlockRef,
        /// Malformed `ConfigUpdate` logs of the block, skipped.
        skipped: Vec<SkippedUpdate>,
    },
    /// No next block yet: the origin is the L1 head.
    AtHead,
}

/// The L1 cursor of one chain's pipeline.
#[derive(Debug, Clone)]
pub struct L1Traversal {
    origin: L1BlockRef,
    system_config: SystemConfig,
}

impl L1Traversal {
    /// A cursor at `origin`, whose system config (after its own updates) is `system_config`.
    pub fn new(origin: L1BlockRef, system_config: SystemConfig) -> Self {
        Self {
            origin,
            system_config,
        }
    }

    /// The current origin.
    pub fn origin(&self) -> L1BlockRef {
        self.origin
    }

    /// The L1 system config as of the origin (the batcher derivation reads frames from).
    pub fn system_config(&self) -> &SystemConfig {
        &self.system_config
    }

    /// Moves to the next canonical L1 block, checking it builds on the origin and applying its
    /// system config updates.
    pub async fn advance(
        &mut self,
        l1: &dyn L1ChainProvider,
        rollup: &RollupConfig,
    ) -> Result<Advance, TraversalError> {
        let number = self.origin.number.saturating_add(1);
        let Some(next) = l1.block_ref_by_number(number).await? else {
            return Ok(Advance::AtHead);
        };
        if next.parent_hash != self.origin.hash {
            return Err(TraversalError::Reorg {
                number,
                expected: self.origin.hash,
                got: next.parent_hash,
            });
        }
        let receipts = l1.receipts_by_hash(next.hash).await?;
        let skipped = apply_receipts(&mut self.system_config, &receipts, rollup, next.timestamp);
        self.origin = next;
        Ok(Advance::Moved {
            origin: next,
            skipped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::test_utils::{FakeL1, l1_ref};

    #[tokio::test]
    async fn advances_until_the_head_and_detects_reorgs() {
        let l1 = FakeL1::with_chain(4);
        let rollup = RollupConfig::default();
        let mut t = L1Traversal::new(l1.block(0), SystemConfig::default());
        for n in 1..4 {
            match t.advance(&l1, &rollup).await.unwrap() {
                Advance::Moved { origin, .. } => assert_eq!(origin.number, n),
                other => panic!("expected a move, got {other:?}"),
            }
        }
        assert_eq!(t.advance(&l1, &rollup).await.unwrap(), Advance::AtHead);
        // A cursor on a block that is no longer canonical sees the reorg at the next block.
        let mut stale = L1Traversal::new(l1_ref(2, 0x77), SystemConfig::default());
        assert!(matches!(
            stale.advance(&l1, &rollup).await,
            Err(TraversalError::Reorg { number: 3, .. })
        ));
        assert_eq!(stale.origin().number, 2);
    }
}
