//! Which block hashes were already accepted at each height, with bounded memory.
//!
//! ```text
//!   height ─► [hash, hash, ...]      at most MAX_BLOCKS_PER_HEIGHT + 1 hashes per height
//!   at most `capacity` heights       the lowest height is dropped first
//! ```
//!
//! op-node keeps the same record in an LRU of 1000 heights. Dropping the lowest height instead
//! of the least recently used one gives the same result for a chain that moves forward, and the
//! gossip time window makes any dropped height too old to be accepted again.

use std::collections::BTreeMap;

use alloy::primitives::B256;

/// op-node's block-height LRU size.
pub const DEFAULT_SEEN_HEIGHTS: usize = 1000;

/// op-node rejects a block when more than this many different blocks were seen at its height.
pub const MAX_BLOCKS_PER_HEIGHT: usize = 5;

/// What the tracker knows about a block before it is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeenStatus {
    /// Not seen, and the height still has room.
    Fresh,
    /// This exact block was already accepted.
    Duplicate,
    /// More than [`MAX_BLOCKS_PER_HEIGHT`] different blocks were already seen at this height.
    HeightFull {
        /// How many different blocks were seen at the height.
        seen: usize,
    },
}

/// Seen block hashes per height, bounded to a number of heights.
#[derive(Debug, Clone)]
pub struct SeenBlocks {
    by_height: BTreeMap<u64, Vec<B256>>,
    capacity: usize,
}

impl Default for SeenBlocks {
    fn default() -> Self {
        Self::new(DEFAULT_SEEN_HEIGHTS)
    }
}

impl SeenBlocks {
    /// A tracker that remembers at most `capacity` heights (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            by_height: BTreeMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// The status of block `hash` at `height`, in op-node's order: the per-height limit is
    /// checked before duplication, so even a duplicate at a full height is reported as full.
    pub fn status(&self, height: u64, hash: B256) -> SeenStatus {
        let Some(hashes) = self.by_height.get(&height) else {
            return SeenStatus::Fresh;
        };
        if hashes.len() > MAX_BLOCKS_PER_HEIGHT {
            SeenStatus::HeightFull { seen: hashes.len() }
        } else if hashes.contains(&hash) {
            SeenStatus::Duplicate
        } else {
            SeenStatus::Fresh
        }
    }

    /// Records block `hash` at `height`, dropping the lowest heights beyond the capacity.
    pub fn mark(&mut self, height: u64, hash: B256) {
        let hashes = self.by_height.entry(height).or_default();
        // Bounded even if a caller marks without checking the status first.
        if hashes.len() <= MAX_BLOCKS_PER_HEIGHT && !hashes.contains(&hash) {
            hashes.push(hash);
        }
        while self.by_height.len() > self.capacity {
            self.by_height.pop_first();
        }
    }

    /// Forgets every height below `height` (e.g. below the finalized head).
    pub fn prune_below(&mut self, height: u64) {
        self.by_height = self.by_height.split_off(&height);
    }

    /// Number of heights remembered.
    pub fn heights(&self) -> usize {
        self.by_height.len()
    }

    /// Number of different blocks seen at `height`.
    pub fn count_at(&self, height: u64) -> usize {
        self.by_height.get(&height).map_or(0, Vec::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(n: u8) -> B256 {
        B256::repeat_byte(n)
    }

    #[test]
    fn duplicate_then_height_full_like_op_node() {
        let mut seen = SeenBlocks::default();
        assert_eq!(seen.status(7, h(1)), SeenStatus::Fresh);
        seen.mark(7, h(1));
        assert_eq!(seen.status(7, h(1)), SeenStatus::Duplicate);
        // op-node's check is `count > 5` before marking: blocks 2..=6 are still accepted.
        for n in 2..=6 {
            assert_eq!(seen.status(7, h(n)), SeenStatus::Fresh, "block {n}");
            seen.mark(7, h(n));
        }
        assert_eq!(seen.status(7, h(7)), SeenStatus::HeightFull { seen: 6 });
        assert_eq!(seen.status(7, h(1)), SeenStatus::HeightFull { seen: 6 });
        // Other heights are unaffected.
        assert_eq!(seen.status(8, h(7)), SeenStatus::Fresh);
    }

    #[test]
    fn capacity_drops_lowest_heights() {
        let mut seen = SeenBlocks::new(3);
        for height in 10..15 {
            seen.mark(height, h(1));
        }
        assert_eq!(seen.heights(), 3);
        assert_eq!(seen.count_at(11), 0);
        assert_eq!(seen.count_at(12), 1);
        assert_eq!(seen.count_at(14), 1);
    }

    #[test]
    fn prune_below_forgets_old_heights() {
        let mut seen = SeenBlocks::default();
        for height in 0..10 {
            seen.mark(height, h(1));
        }
        seen.prune_below(6);
        assert_eq!(seen.heights(), 4);
        assert_eq!(seen.count_at(5), 0);
        assert_eq!(seen.count_at(6), 1);
    }

    proptest! {
        #[test]
        fn memory_stays_bounded(marks in proptest::collection::vec((0u64..50, any::<u8>()), 0..500)) {
            let mut seen = SeenBlocks::new(8);
            for (height, n) in marks {
                seen.mark(height, h(n));
                prop_assert!(seen.heights() <= 8);
                prop_assert!(seen.count_at(height) <= MAX_BLOCKS_PER_HEIGHT + 1);
            }
        }
    }
}
