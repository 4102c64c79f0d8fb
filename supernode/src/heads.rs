//! What a chain container has reached: published by the derivation driver after each step and
//! read by everything that serves, signs or stores heads.
//!
//! ```text
//!   derive driver ──watch<ChainHeads>──▶ SafeDB, signer/publisher, RPC (/<chainid>/, root)
//! ```

use opfleet_protocol::{BlockId, ChainId, L2BlockRef, SyncStatus};

/// One chain's heads, as op-node reports them, plus the L1 blocks the safe and finalized heads
/// were derived from (the `derived_from` of their attestations).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChainHeads {
    /// The chain.
    pub chain_id: ChainId,
    /// op-node's view: L1 cursor and tags, L2 heads.
    pub status: SyncStatus,
    /// The L1 block at which `status.safe_l2` became safe.
    pub safe_derived_from: BlockId,
    /// The finalized L1 block `status.finalized_l2` was derived from (or before).
    pub finalized_derived_from: BlockId,
    /// The latest L1-reorg rewind of the safe head. It stays after derivation moves on, because
    /// a watch keeps only the newest value: a signer that missed the lower head still sees that
    /// the safe head went back, and can say so before signing the new one.
    pub last_rewind: Option<SafeRewind>,
}

/// One rewind of the safe head after an L1 reorg.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SafeRewind {
    /// Rewinds counted since the driver started (1 for the first).
    pub seq: u64,
    /// The safe head it went back to.
    pub safe: L2BlockRef,
    /// The L1 block that safe head was derived from.
    pub derived_from: BlockId,
}
