//! What the simulated L1 keeps, and for how long.
//!
//! ```text
//!  genesis   ...pruned...  | history window (headers, txs, receipts, logs)          | head
//!  (always kept)           |                              | blob window (sidecars)  |
//!                          ^ min(finalized, head - history)  ^ min(finalized, head - blobs)
//! ```
//! A real L1 node keeps headers forever and a beacon node serves blobs for about 18 days; a
//! devnet that does the same grows without bound (each block is a few KiB, each blob 128 KiB),
//! so both are cut to windows that still cover every reader:
//! - Blobs: [`DEFAULT_BLOB_RETENTION`] blocks, four Granite channel timeouts (50 L1 blocks
//!   each). A rollup node that restarts re-derives from its safe head's L1 origin, at most one
//!   channel timeout back from where a channel could still be open, so a supernode restarted
//!   within a few minutes finds every blob it needs. Pruned blocks answer with no sidecars, as a
//!   beacon node past its retention window does.
//! - Blocks: [`DEFAULT_HISTORY_RETENTION`] blocks, an hour of 2 s blocks (about 8 MiB at the
//!   devnet's ~4.4 KiB per block). Derivation reads L1 from a channel timeout before its safe
//!   head's origin on, and the sequencer's origins stay a few blocks below the head, so an hour
//!   covers every reader, and a node restarted within the hour. (Half of the rollup's 3600-block
//!   sequencing window: the devnet batcher posts within seconds, never near that bound.)
//!   Pruned blocks are unknown to `eth_getBlockBy*` (null), like history expired under
//!   EIP-4444.
//! - Neither window ever reaches the finalized block: reorgs (which never go below finalized)
//!   always find every block and blob they replay. Genesis stays, since rollup configs anchor on
//!   it. The batcher recorded by the last pruned `ConfigUpdate` is kept, so the SystemConfig's
//!   state does not depend on pruned logs.

/// Default blob window in L1 blocks (see the module documentation).
pub const DEFAULT_BLOB_RETENTION: u64 = 200;

/// Default block window in L1 blocks (see the module documentation).
pub const DEFAULT_HISTORY_RETENTION: u64 = 1800;

/// The first block a window of `window` blocks keeps at `head`, never above `finalized`.
pub fn keep_from(window: Option<u64>, head: u64, finalized: u64) -> u64 {
    window.map_or(0, |w| head.saturating_sub(w).min(finalized))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_never_pass_finalized() {
        assert_eq!(keep_from(None, 10_000, 9_000), 0);
        assert_eq!(keep_from(Some(100), 10_000, 9_990), 9_900);
        assert_eq!(keep_from(Some(100), 10_000, 50), 50);
        assert_eq!(keep_from(Some(100), 20, 10), 0);
    }
}
