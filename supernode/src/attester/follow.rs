//! Turning a followed op-node's sync status into [`ChainHeads`].
//!
//! op-node's `SyncStatus` does not say at which L1 block its safe head became safe: `safe_l1`
//! and `finalized_l1` are L1's own safe (justified) and finalized blocks, not derivation
//! positions. What it does say:
//! ```text
//!   current_l1     the L1 block derivation has consumed up to: every safe L2 block was derived
//!                  from L1 data at or before it
//!   finalized_l1   op-node finalizes the newest safe L2 block derived from L1 data at or before
//!                  the finalized L1 block: finalized_l2 was derived from it or before
//! ```
//! So an attester records, for a new safe head, the `current_l1` of the first status showing
//! it (an upper bound of where it became safe, and what op-node's own SafeDB records when the
//! head moves), and for a new finalized head the `finalized_l1` of that status. Both are kept
//! while the head is unchanged, so a moving L1 alone does not cause new attestations.

use alloy::primitives::B256;
use opfleet_protocol::{ChainId, SyncStatus};

use crate::heads::ChainHeads;

/// Fills what an older op-node leaves out: without interop, local-safe is the safe head.
pub fn normalize(mut status: SyncStatus) -> SyncStatus {
    if status.local_safe_l2.hash == B256::ZERO {
        status.local_safe_l2 = status.safe_l2;
    }
    if status.cross_unsafe_l2.hash == B256::ZERO {
        status.cross_unsafe_l2 = status.unsafe_l2;
    }
    status
}

/// The heads for `status`, keeping the derived-from blocks of `previous` for unchanged heads.
pub fn heads_from_status(
    chain_id: ChainId,
    status: SyncStatus,
    previous: Option<&ChainHeads>,
) -> ChainHeads {
    let safe_derived_from = match previous {
        Some(p) if p.status.safe_l2 == status.safe_l2 => p.safe_derived_from,
        _ => status.current_l1.id(),
    };
    let finalized_derived_from = match previous {
        Some(p) if p.status.finalized_l2 == status.finalized_l2 => p.finalized_derived_from,
        _ => status.finalized_l1.id(),
    };
    ChainHeads {
        chain_id,
        status,
        safe_derived_from,
        finalized_derived_from,
        last_rewind: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opfleet_protocol::{L1BlockRef, L2BlockRef};

    fn l1(n: u64) -> L1BlockRef {
        L1BlockRef {
            hash: B256::repeat_byte(n as u8),
            number: n,
            ..Default::default()
        }
    }

    fn l2(n: u64) -> L2BlockRef {
        L2BlockRef {
            hash: B256::repeat_byte(0x80 | n as u8),
            number: n,
            ..Default::default()
        }
    }

    fn status(current: u64, fin_l1: u64, safe: u64, fin: u64) -> SyncStatus {
        SyncStatus {
            current_l1: l1(current),
            finalized_l1: l1(fin_l1),
            safe_l1: l1(current - 1),
            safe_l2: l2(safe),
            finalized_l2: l2(fin),
            unsafe_l2: l2(safe + 3),
            ..Default::default()
        }
    }

    #[test]
    fn derived_from_is_sticky_while_the_head_stays() {
        let c = ChainId(10);
        let a = heads_from_status(c, status(20, 10, 50, 30), None);
        assert_eq!(a.safe_derived_from, l1(20).id());
        assert_eq!(a.finalized_derived_from, l1(10).id());
        // L1 moves, heads do not: derived-from stays.
        let b = heads_from_status(c, status(22, 11, 50, 30), Some(&a));
        assert_eq!(b.safe_derived_from, l1(20).id());
        assert_eq!(b.finalized_derived_from, l1(10).id());
        assert_eq!(b.status.current_l1, l1(22));
        // Safe moves: it was derived by the new current_l1.
        let c2 = heads_from_status(c, status(23, 11, 52, 31), Some(&b));
        assert_eq!(c2.safe_derived_from, l1(23).id());
        assert_eq!(c2.finalized_derived_from, l1(11).id());
    }

    #[test]
    fn normalize_fills_interop_heads() {
        let s = normalize(status(20, 10, 50, 30));
        assert_eq!(s.local_safe_l2, l2(50));
        assert_eq!(s.cross_unsafe_l2, l2(53));
        let mut given = status(20, 10, 50, 30);
        given.local_safe_l2 = l2(51);
        assert_eq!(normalize(given).local_safe_l2, l2(51));
    }
}
