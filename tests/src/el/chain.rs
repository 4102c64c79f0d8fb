//! The block store and fork choice, in memory, pruned behind a window.
//!
//! ```text
//! blocks: hash -> SimBlock                 (every kept block, any branch)
//! numbers: number -> hashes                (the same blocks by height, for pruning)
//! canonical: [floor, .., head] (+ genesis) (hashes by number, rebuilt on reorg)
//! head ≥ safe ≥ finalized                  (all on the canonical chain)
//! floor = min(finalized, head - window)    blocks below it (but genesis) are dropped
//! ```
//! What is kept and why: every block at or above the finalized block (forkchoice never moves
//! finalized back, and a consensus client may reorg anything above it, so those blocks and
//! their branches must stay), plus the last `window` blocks below the head even when finalized
//! is close to the head, so that readers of recent history (output roots at the safe head,
//! `payload_by_number` for followers catching up, the batcher restarting from safe) find it;
//! genesis is kept because rollup configs anchor on it. Older blocks answer as on a node whose
//! history and state expired (op-geth with history expiry and path-based state pruning):
//! `eth_getBlockBy*`, receipts and transactions are null, `eth_getProof` fails like a missing
//! state, `newPayload` whose parent is pruned is SYNCING and `forkchoiceUpdated` to a pruned
//! head is SYNCING (the client cannot tell it from a block it never had).

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Arc,
};

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

/// Default pruning window: blocks kept below the head even when finalized is closer: ten
/// minutes of 2 s blocks, about 2.2 MiB at the devnet's ~7.4 KiB per block (a default devnet
/// runs about a dozen of these clients; see the module documentation).
pub const DEFAULT_BLOCK_WINDOW: u64 = 300;

/// Blocks by hash, the canonical chain, and the three fork-choice pointers.
#[derive(Debug)]
pub struct Chain {
    blocks: HashMap<B256, Arc<SimBlock>>,
    numbers: BTreeMap<u64, Vec<B256>>,
    genesis: B256,
    /// Canonical hashes from number `base` on.
    canonical: VecDeque<B256>,
    base: u64,
    tx_index: HashMap<B256, (B256, usize)>,
    head: B256,
    safe: B256,
    finalized: B256,
    window: Option<u64>,
}

impl Chain {
    /// A chain holding only `genesis`, which is head, safe and finalized; it keeps every block.
    pub fn new(genesis: SimBlock) -> Self {
        let hash = genesis.hash;
        let number = genesis.number();
        let mut blocks = HashMap::new();
        blocks.insert(hash, Arc::new(genesis));
        Self {
            blocks,
            numbers: BTreeMap::from([(number, vec![hash])]),
            genesis: hash,
            canonical: VecDeque::from([hash]),
            base: number,
            tx_index: HashMap::new(),
            head: hash,
            safe: hash,
            finalized: hash,
            window: None,
        }
    }

    /// Prunes below `min(finalized, head - window)` from now on (`None`: keeps everything).
    pub fn with_window(mut self, window: Option<u64>) -> Self {
        self.window = window;
        self.prune();
        self
    }

    /// Blocks held (any branch, genesis included).
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// Whether no block is held (never: genesis always is).
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// The lowest block number kept besides genesis.
    pub fn floor(&self) -> u64 {
        self.base
    }

    /// A known block by hash, canonical or not.
    pub fn get(&self, hash: &B256) -> Option<Arc<SimBlock>> {
        self.blocks.get(hash).cloned()
    }

    /// The canonical block at `number`.
    pub fn canonical(&self, number: u64) -> Option<Arc<SimBlock>> {
        self.canonical_hash(number).and_then(|h| self.get(&h))
    }

    fn canonical_hash(&self, number: u64) -> Option<B256> {
        if let Some(i) = number
            .checked_sub(self.base)
            .and_then(|i| usize::try_from(i).ok())
        {
            return self.canonical.get(i).copied();
        }
        let genesis = self.blocks.get(&self.genesis)?;
        (genesis.number() == number).then_some(self.genesis)
    }

    /// Whether `block` is on the canonical chain.
    pub fn is_canonical(&self, block: &SimBlock) -> bool {
        self.canonical_hash(block.number()) == Some(block.hash)
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
        self.get_known(self.genesis)
    }

    fn get_known(&self, hash: B256) -> Arc<SimBlock> {
        // Pointers only ever name stored blocks: pruning stays below finalized and genesis.
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
        if let std::collections::hash_map::Entry::Vacant(e) = self.blocks.entry(block.hash) {
            e.insert(block.clone());
            self.numbers
                .entry(block.number())
                .or_default()
                .push(block.hash);
        }
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
        self.prune();
        Ok(())
    }

    /// Drops every block below `min(finalized, head - window)` but genesis, on any branch.
    fn prune(&mut self) {
        let Some(window) = self.window else { return };
        let finalized = self.finalized().number();
        let floor = self.head().number().saturating_sub(window).min(finalized);
        if floor <= self.base {
            return;
        }
        let kept = self.numbers.split_off(&floor);
        let dropped = std::mem::replace(&mut self.numbers, kept);
        for hash in dropped.into_values().flatten() {
            if hash == self.genesis {
                let number = self.blocks.get(&hash).map_or(0, |b| b.number());
                self.numbers.entry(number).or_default().push(hash);
                continue;
            }
            if let Some(block) = self.blocks.remove(&hash) {
                for tx in &block.tx_hashes {
                    if self.tx_index.get(tx).is_some_and(|(b, _)| *b == hash) {
                        self.tx_index.remove(tx);
                    }
                }
            }
        }
        while self.base < floor && self.canonical.len() > 1 {
            self.canonical.pop_front();
            self.base += 1;
        }
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
        let keep = cur
            .number()
            .saturating_sub(self.base)
            .saturating_add(1)
            .try_into()
            .unwrap_or(usize::MAX);
        self.canonical.truncate(keep);
        for block in branch.into_iter().rev() {
            for (i, tx) in block.tx_hashes.iter().enumerate() {
                self.tx_index.insert(*tx, (block.hash, i));
            }
            self.canonical.push_back(block.hash);
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

    /// Extends `tip` by `n` blocks of branch `salt`, making each the head with finalized
    /// trailing by `lag`; returns the new blocks.
    fn grow(chain: &mut Chain, tip: &SimBlock, n: usize, salt: u8, lag: usize) -> Vec<SimBlock> {
        let mut out: Vec<SimBlock> = Vec::new();
        let mut parent = tip.clone();
        for _ in 0..n {
            let b = child(&parent, salt);
            chain.insert(b.clone()).unwrap();
            out.push(b.clone());
            let fin = out
                .len()
                .checked_sub(lag + 1)
                .and_then(|i| out.get(i))
                .map_or(B256::ZERO, |f| f.hash);
            chain.set_forkchoice(b.hash, fin, fin).unwrap();
            parent = b;
        }
        out
    }

    #[test]
    fn pruning_keeps_the_window_finalized_and_genesis() {
        let genesis = SimBlock::genesis(&spec()).unwrap();
        let mut chain = Chain::new(genesis.clone()).with_window(Some(10));
        let main = grow(&mut chain, &genesis, 30, 1, 5);
        // A side branch forking above finalized stays until it falls below the floor.
        let side = grow(&mut chain, &main[26], 1, 2, 0);
        chain
            .set_forkchoice(main[29].hash, main[24].hash, main[24].hash)
            .unwrap();
        assert!(chain.get(&side[0].hash).is_some());
        let more = grow(&mut chain, &main[29], 170, 1, 5);
        let head = more.last().unwrap();
        assert_eq!(head.number(), 200);
        // Window 10 below head 200 -> floor 190; genesis is kept on top.
        assert_eq!(chain.floor(), 190);
        assert!(chain.len() <= 12, "{}", chain.len());
        assert_eq!(chain.canonical(0).unwrap().hash, genesis.hash);
        assert_eq!(chain.genesis().hash, genesis.hash);
        assert!(chain.canonical(189).is_none());
        assert!(chain.get(&side[0].hash).is_none());
        for n in 190..=200 {
            assert!(chain.canonical(n).is_some(), "{n}");
        }
        assert_eq!(chain.finalized().number(), 195);
        // A reorg anywhere above finalized still works.
        let fork_at = chain.canonical(196).unwrap();
        let branch = child(&fork_at, 3);
        chain.insert(branch.clone()).unwrap();
        chain
            .set_forkchoice(branch.hash, B256::ZERO, B256::ZERO)
            .unwrap();
        assert_eq!(chain.head().hash, branch.hash);
        assert!(chain.canonical(198).is_none());
        // A block whose parent was pruned cannot be inserted (SYNCING to the Engine API).
        let orphan = child(&main[10], 4);
        assert!(matches!(
            chain.insert(orphan),
            Err(ChainError::UnknownParent { .. })
        ));
    }

    #[test]
    fn pruning_never_reaches_finalized() {
        let genesis = SimBlock::genesis(&spec()).unwrap();
        let mut chain = Chain::new(genesis.clone()).with_window(Some(10));
        // Finalized trails by 60: the floor is the finalized block, not head - 10.
        grow(&mut chain, &genesis, 100, 1, 60);
        assert_eq!(chain.finalized().number(), 40);
        assert_eq!(chain.floor(), 40);
        assert_eq!(chain.len(), 62);
        // Finalized never set: nothing but nothing is pruned.
        let mut stuck = Chain::new(genesis.clone()).with_window(Some(10));
        grow(&mut stuck, &genesis, 50, 1, usize::MAX - 1);
        assert_eq!(stuck.len(), 51);
        assert_eq!(stuck.floor(), 0);
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
