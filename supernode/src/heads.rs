//! What a chain container has reached: published by the derivation driver after each step and
//! read by everything that serves, signs or stores heads.
//!
//! ```text
//!   derive driver ──watch<ChainHeads>──▶ SafeDB, signer/publisher, RPC (/<chainid>/, root)
//! ```

use opfleet_protocol::{BlockId, ChainId, SyncStatus};

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
}
