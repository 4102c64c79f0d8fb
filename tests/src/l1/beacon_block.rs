//! The beacon-chain side of an L1 block: its slot and a `BeaconBlockHeader` with a real SSZ
//! `hash_tree_root`.
//!
//! ```text
//! beacon block at slot s                         execution block N (in slot s)
//!   parent_root = root(s-1) --------------------> parent_beacon_block_root (EIP-4788)
//!   body_root   = sha256("opfleet body" | hash(N))   (synthetic: there is no beacon body)
//!   state_root  = sha256("opfleet state" | hash(N))  (synthetic: there is no beacon state)
//! root(s) = hash_tree_root(BeaconBlockHeader{slot, proposer_index, parent_root, state_root, body_root})
//! ```
//! There is no beacon chain behind this: bodies, states and signatures do not exist. Only the
//! header root is computed the real way, so block roots are stable ids that clients can pass back
//! to `/eth/v1/beacon/blob_sidecars/{block_root}`.

use alloy::primitives::B256;
use alloy::rpc::types::beacon::header::BeaconBlockHeader;
use sha2::{Digest, Sha256};

/// The slot of a block with `timestamp` (op-node: `(timestamp - genesis_time) / seconds_per_slot`).
pub fn slot_of(timestamp: u64, genesis_time: u64, seconds_per_slot: u64) -> u64 {
    timestamp.saturating_sub(genesis_time) / seconds_per_slot.max(1)
}

/// The synthetic beacon block header of the execution block `block_hash` in `slot`.
pub fn header_for(slot: u64, parent_root: B256, block_hash: B256) -> BeaconBlockHeader {
    BeaconBlockHeader {
        slot,
        // A fixed-size validator set of 64 taking turns: plausible, never checked.
        proposer_index: slot % 64,
        parent_root,
        state_root: tagged_sha256(b"opfleet state", block_hash),
        body_root: tagged_sha256(b"opfleet body", block_hash),
    }
}

/// SSZ `hash_tree_root` of a `BeaconBlockHeader`: five 32-byte leaves padded to eight, merkleized
/// with SHA-256 (consensus-specs `ssz/simple-serialize.md`).
pub fn hash_tree_root(header: &BeaconBlockHeader) -> B256 {
    let mut leaves = [[0u8; 32]; 8];
    leaves[0][..8].copy_from_slice(&header.slot.to_le_bytes());
    leaves[1][..8].copy_from_slice(&header.proposer_index.to_le_bytes());
    leaves[2] = header.parent_root.0;
    leaves[3] = header.state_root.0;
    leaves[4] = header.body_root.0;
    let mut level: Vec<[u8; 32]> = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| {
                let mut h = Sha256::new();
                h.update(pair[0]);
                h.update(pair[1]);
                h.finalize().into()
            })
            .collect();
    }
    B256::from(level[0])
}

fn tagged_sha256(tag: &[u8], hash: B256) -> B256 {
    let mut h = Sha256::new();
    h.update(tag);
    h.update(hash);
    B256::from(<[u8; 32]>::from(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::b256;

    #[test]
    fn zero_header_root_is_the_depth_3_zero_hash() {
        // zerohashes[3] of the consensus specs: the root of eight zero chunks.
        let zero = BeaconBlockHeader {
            slot: 0,
            proposer_index: 0,
            parent_root: B256::ZERO,
            state_root: B256::ZERO,
            body_root: B256::ZERO,
        };
        assert_eq!(
            hash_tree_root(&zero),
            b256!("c78009fdf07fc56a11f122370658a353aaa542ed63e44c4bc15ff4cd105ab33c")
        );
    }

    #[test]
    fn slot_is_little_endian_in_its_leaf() {
        let mut h = header_for(1, B256::ZERO, B256::ZERO);
        let a = hash_tree_root(&h);
        h.slot = 1 << 56;
        assert_ne!(a, hash_tree_root(&h));
    }

    #[test]
    fn slots_follow_op_node() {
        assert_eq!(slot_of(1000, 1000, 12), 0);
        assert_eq!(slot_of(1023, 1000, 12), 1);
        assert_eq!(slot_of(1024, 1000, 12), 2);
        assert_eq!(slot_of(999, 1000, 12), 0);
    }
}
