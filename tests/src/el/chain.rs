//! The block store and fork choice. In memory and unbounded: a devnet runs for minutes, so every
//! block ever imported (canonical or not) is kept.
//!
//! ```text
//! blocks: hash -> SimBlock           (every known block, any branch)
//! canonical: [genesis, 1, 2, ..head] (hashes by number, rebuilt on reorg)
//! head ≥ safe ≥ finalized            (all on the canonical chain)
//! ```

use std::{collections::HashMap, sync::Arc};

use alloy::primitives::B256;

use super::builder::SimBlock;

/// Why a fork-choice update or insertion was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The parent of an inserted block is unknown.
    #[error("parent {parent} of block {hash} is unknown")]
    UnknownParent {
        /// The block.
        hash: B256,
        /// Its missing parent.
        parent: B256,
    },
    /// A hash named in a fork-choice update is unknown.
    #[error("{role} block {hash} is unknown")]
    Unknown {
        /// `head`, `safe` or `finalized`.
        role: &'static str,
        /// The hash.
        hash: B256,
    },
    /// Safe or finalized is not an ancestor of the head.
    #[error("{role} block {hash} is not on the chain of head {head}")]
    NotAncestor {
        /// `safe` or `finalized`.
        role: &'static str,
        /// The hash.
        hash: B256,
        /// The requested head.
        head: B256,
    },
}

/// Blocks by hash, the canonical chain, and the three fork-choice pointers.
#[derive(Debug)]
pub struct Chain {
    blocks: HashMap<B256, Arc<SimBlock>>,
    canonical: Vec<B256>,
    tx_index: HashMap<B256, (B256, usize)>,
    head: B256,
    safe: B256,
    finalized: B256,
}

impl Chain {
    /// A chain holding only `genesis`, which is head, safe and finalized.
    pub fn new(genesis: SimBlock) -> Self {
        let hash = genesis.hash;
        let mut blocks = HashMap::new();
        blocks.insert(hash, Arc::new(genesis));
        Self {
            blocks,
            canonical: vec![hash],
            tx_index: HashMap::new(),
            head: hash,
            safe: hash,
            finalized: hash,
        }
    }

    /// A known block by hash, canonical or not.
    pub fn get(&self, hash: &B256) -> Option<Arc<SimBlock>> {
        self.blocks.get(hash).cloned()
    }

    /// The canonical block at `number`.
    pub fn canonical(&self, number: u64) -> Option<Arc<SimBlock>> {
        let index = usize::try_from(number).ok()?;
        self.canonical.get(index).and_then(|h| self.get(h))
    }

    /// Whether `block` is on the canonical chain.
    pub fn is_canonical(&self, block: &SimBlock) -> bool {
        usize::try_from(block.number())
            .ok()
            .and_then(|i| self.canonical.get(i))
            .is_some_and(|h| *h == block.hash)
    }

    /// The head block.
    pub fn head(&self) -> Arc<SimBlock> {
        self.get_known(self.head)
    }

    /// The safe block.
    pub fn safe(&self) -> Arc<SimBlock> {
        self.get_known(self.safe)
    }

    /// The finalized block.
    pub fn finalized(&self) -> Arc<SimBlock> {
        self.get_known(self.finalized)
    }

    /// The genesis block.
    pub fn genesis(&self) -> Arc<SimBlock> {
        self.canonical
            .first()
            .copied()
            .map(|h| self.get_known(h))
            .unwrap_or_else(|| self.head())
    }

    fn get_known(&self, hash: B256) -> Arc<SimBlock> {
        // Pointers only ever name stored blocks and nothing is removed.
        self.blocks
            .get(&hash)
            .cloned()
            .unwrap_or_else(|| unreachable!("pointer to unknown block"))
    }

    /// A canonical transaction: its block and index.
    pub fn transaction(&self, tx_hash: &B256) -> Option<(Arc<SimBlock>, usize)> {
        let (block_hash, index) = self.tx_index.get(tx_hash)?;
        let block = self.get(block_hash)?;
        self.is_canonical(&block).then_some((block, *index))
    }

    /// Stores a block whose parent is known. Does not change the head.
    pub fn insert(&mut self, block: SimBlock) -> Result<Arc<SimBlock>, ChainError> {
        let parent = block.header().parent_hash;
        if !self.blocks.contains_key(&parent) {
            return Err(ChainError::UnknownParent {
                hash: block.hash,
                parent,
            });
        }
        let block = Arc::new(block);
        self.blocks
            .entry(block.hash)
            .or_insert_with(|| block.clone());
        Ok(block)
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors.
    fn is_ancestor(&self, ancestor: &SimBlock, descendant: &SimBlock) -> bool {
        let mut cur = descendant.hash;
        loop {
            let Some(b) = self.blocks.get(&cur) else {
                return false;
            };
            if b.number() < ancestor.number() {
                return false;
            }
            if b.hash == ancestor.hash {
                return true;
            }
            if b.number() == 0 {
                return false;
            }
            cur = b.header().parent_hash;
        }
    }

    /// Applies a fork-choice update; a zero safe or finalized hash leaves that pointer as is.
    /// The head may be on another branch (a reorg); safe and finalized must be its ancestors.
    pub fn set_forkchoice(
        &mut self,
        head: B256,
        safe: B256,
        finalized: B256,
    ) -> Result<(), ChainError> {
        let head_block = self.get(&head).ok_or(ChainError::Unknown {
            role: "head",
            hash: head,
        })?;
        let resolve = |role: &'static str, hash: B256, current: B256| {
            let hash = if hash.is_zero() { current } else { hash };
            let block = self.get(&hash).ok_or(ChainError::Unknown { role, hash })?;
            if !self.is_ancestor(&block, &head_block) {
                return Err(ChainError::NotAncestor { role, hash, head });
            }
            Ok(hash)
        };
        let safe = resolve("safe", safe, self.safe)?;
        let finalized = resolve("finalized", finalized, self.finalized)?;
        self.make_canonical(&head_block);
        self.head = head;
        self.safe = safe;
        self.finalized = finalized;
        Ok(())
    }

    /// Rewrites the canonical index so that it ends at `head`.
    fn make_canonical(&mut self, head: &Arc<SimBlock>) {
        let mut branch = Vec::new();
        let mut cur = head.clone();
        while !self.is_canonical(&cur) {
            branch.push(cur.clone());
            match self.blocks.get(&cur.header().parent_hash) {
                Some(parent) => cur = parent.clone(),
                None => break,
            }
        }
        let keep = usize::try_from(cur.number())
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        self.canonical.truncate(keep);
        for block in branch.into_iter().rev() {
            for (i, tx) in block.tx_hashes.iter().enumerate() {
                self.tx_index.insert(*tx, (block.hash, i));
            }
            self.canonical.push(block.hash);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::el::{
        builder::{BlockInputs, build_block},
        spec::{ChainSpec, ForkSchedule, GenesisConfig},
    };
    use alloy::primitives::{Address, B64};
    use opfleet_protocol::ChainId;

    fn spec() -> ChainSpec {
        ChainSpec::new(
            ChainId(901),
            GenesisConfig::new(ChainId(901), 1000),
            ForkSchedule::isthmus(),
        )
    }

    fn child(parent: &SimBlock, salt: u8) -> SimBlock {
        let inputs = BlockInputs {
            timestamp: parent.header().timestamp + 2,
            fee_recipient: Address::repeat_byte(salt),
            prev_randao: B256::repeat_byte(salt),
            gas_limit: 30_000_000,
            eip1559_params: B64::ZERO,
            min_base_fee: None,
            parent_beacon_block_root: B256::ZERO,
            transactions: vec![],
        };
        build_block(&spec(), parent, &inputs).unwrap()
    }

    #[test]
    fn reorg_switches_canonical_branch() {
        let genesis = SimBlock::genesis(&spec()).unwrap();
        let mut chain = Chain::new(genesis.clone());
        let a1 = child(&genesis, 1);
        let a2 = child(&a1, 1);
        let b1 = child(&genesis, 2);
        for b in [&a1, &a2, &b1] {
            chain.insert(b.clone()).unwrap();
        }
        chain
            .set_forkchoice(a2.hash, a1.hash, genesis.hash)
            .unwrap();
        assert_eq!(chain.canonical(2).unwrap().hash, a2.hash);
        assert_eq!(chain.safe().hash, a1.hash);

        assert_eq!(
            chain.set_forkchoice(b1.hash, a1.hash, genesis.hash),
            Err(ChainError::NotAncestor {
                role: "safe",
                hash: a1.hash,
                head: b1.hash
            })
        );
        chain
            .set_forkchoice(b1.hash, genesis.hash, genesis.hash)
            .unwrap();
        assert_eq!(chain.head().hash, b1.hash);
        assert_eq!(chain.canonical(1).unwrap().hash, b1.hash);
        assert!(chain.canonical(2).is_none());
    }

    #[test]
    fn unknown_parent_and_head() {
        let genesis = SimBlock::genesis(&spec()).unwrap();
        let mut chain = Chain::new(genesis.clone());
        let a1 = child(&genesis, 1);
        let a2 = child(&a1, 1);
        assert!(matches!(
            chain.insert(a2.clone()),
            Err(ChainError::UnknownParent { .. })
        ));
        assert!(matches!(
            chain.set_forkchoice(a2.hash, B256::ZERO, B256::ZERO),
            Err(ChainError::Unknown { role: "head", .. })
        ));
    }
}
