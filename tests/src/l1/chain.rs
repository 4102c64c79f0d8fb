//! The canonical L1 chain in memory: block production, the mempool, tags and reorgs.
//!
//! ```text
//!  genesis ... finalized ... safe ... head          (only canonical blocks are kept)
//!                                  \
//! reorg(N):  drop the last N blocks, put their transactions back at the front of the queue,
//!            mine N blocks in the same slots on a new branch, then one more in the next slot.
//! reorg_with(N, DropSubmitted): the same, but what came in through `submit` is forgotten:
//!            [b1: dep, batch#7] [b2: batch#8]   queue: [batch#9]
//!         -> [b1': dep] [b2'] [b3']             queue: []        sent_by(batcher) back to 7
//! ```
//! A reorg never reaches the finalized block. In the default mode transactions of dropped
//! blocks are re-included (batches are not lost) but in blocks with new hashes, so deposits get
//! new source hashes. In [`ReorgMode::DropSubmitted`] the mempool loses the submitted ones, as a
//! real L1's can: their senders must notice and send again (the batcher does).
//! Old blocks and blobs are pruned behind windows that never reach finalized (`retention`).

use std::collections::{HashMap, HashSet, VecDeque};

use alloy::consensus::{Transaction, TxEnvelope, transaction::Recovered};
use alloy::eips::eip4844::{Blob, BlobTransactionSidecar};
use alloy::eips::eip7840::BlobParams;
use alloy::primitives::{Address, B256};
use opfleet_protocol::{ChainId, L1BlockRef};

use super::accounts::{Accounts, SignError};
use super::block::{self, BlockParams, L1Block, L1Tx, NextBlock};
use super::config::{L1Config, TagLag};
use super::contracts;
use super::kzg::{self, KzgError};
use super::retention;
use super::system_config::SystemConfigStorage;

/// The batcher named by the newest `ConfigUpdate` BATCHER log of `system_config` in `blocks`.
fn last_batcher<'a>(
    system_config: Address,
    blocks: impl DoubleEndedIterator<Item = &'a L1Block>,
) -> Option<Address> {
    blocks
        .rev()
        .flat_map(|b| b.txs.iter().rev())
        .flat_map(|m| m.receipt.logs().iter().rev())
        .filter(|log| log.address == system_config)
        .find_map(contracts::batcher_from_log)
}

/// Why a transaction was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The transaction is pending or mined already.
    #[error("transaction {0} is already known")]
    AlreadyKnown(B256),
    /// The signature does not recover to a sender.
    #[error("transaction {hash}: cannot recover the sender: {reason}")]
    BadSignature {
        /// Transaction hash.
        hash: B256,
        /// What recovery said.
        reason: String,
    },
    /// The nonce is past the sender's next one: no block could include it before the gap is
    /// filled (a sender whose transactions a reorg lost must send those again first).
    #[error("transaction {hash}: nonce {nonce} leaves a gap, the sender's next nonce is {next}")]
    NonceGap {
        /// Transaction hash.
        hash: B256,
        /// The transaction's nonce.
        nonce: u64,
        /// The sender's next nonce (its canonical and queued transactions).
        next: u64,
    },
    /// The transaction is for another chain.
    #[error("transaction {hash} is for chain {got:?}, this L1 is chain {expected}")]
    WrongChain {
        /// Transaction hash.
        hash: B256,
        /// This L1's chain id.
        expected: u64,
        /// The transaction's chain id (`None`: pre-EIP-155 legacy).
        got: Option<u64>,
    },
    /// The gas limit exceeds what a block holds.
    #[error("transaction {hash}: gas limit {gas_limit} exceeds the block gas limit {block_limit}")]
    GasLimit {
        /// Transaction hash.
        hash: B256,
        /// The transaction's gas limit.
        gas_limit: u64,
        /// The block gas limit.
        block_limit: u64,
    },
    /// A type-3 transaction without blobs, or with more than a block holds.
    #[error("transaction {hash} lists {count} blob hashes; 1 to {max} are allowed")]
    BlobCount {
        /// Transaction hash.
        hash: B256,
        /// Versioned hashes listed.
        count: usize,
        /// Blobs per block.
        max: u64,
    },
    /// Blobs were given for a transaction that is not type 3.
    #[error("transaction {0} is not a blob transaction but came with blobs")]
    UnexpectedBlobs(B256),
    /// A type-3 transaction came without its blobs.
    #[error("blob transaction {0} came without a sidecar")]
    MissingSidecar(B256),
    /// The blobs do not match the versioned hashes.
    #[error(
        "blob transaction {hash}: blob {index} commits to versioned hash {computed}, the transaction lists {listed:?}"
    )]
    BlobMismatch {
        /// Transaction hash.
        hash: B256,
        /// Blob position.
        index: usize,
        /// Hash of the commitment computed from the blob.
        computed: B256,
        /// Hash the transaction lists at that position (`None`: more blobs than hashes).
        listed: Option<B256>,
    },
    /// The transaction lists more versioned hashes than blobs were given.
    #[error("blob transaction {hash} lists {listed} versioned hashes but carries {given} blobs")]
    TooFewBlobs {
        /// Transaction hash.
        hash: B256,
        /// Hashes listed.
        listed: usize,
        /// Blobs given.
        given: usize,
    },
    /// c-kzg rejected a blob.
    #[error("blob transaction {hash}: {source}")]
    Kzg {
        /// Transaction hash.
        hash: B256,
        /// The KZG error.
        source: KzgError,
    },
}

/// Why a reorg was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReorgError {
    /// Depth 0 changes nothing.
    #[error("a reorg needs a depth of at least 1")]
    ZeroDepth,
    /// The reorg would replace the finalized block or an older one.
    #[error("a reorg of depth {depth} at head {head} would replace finalized block {finalized}")]
    BelowFinalized {
        /// Requested depth.
        depth: u64,
        /// Head number.
        head: u64,
        /// Finalized number.
        finalized: u64,
    },
}

/// What happens to the transactions of the blocks a reorg drops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReorgMode {
    /// All go back to the front of the queue: the new branch's first block re-includes them.
    #[default]
    Requeue,
    /// Transactions that came in through [`L1Chain::submit`] (the batcher's, anyone's sent
    /// over JSON-RPC) are forgotten, and so are their senders' queued ones (on a real L1 the
    /// nonce gap would hold those back). The L1's own deposits and SystemConfig calls are
    /// requeued: their simulated senders do not re-send.
    DropSubmitted,
}

/// What a reorg did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReorgOutcome {
    /// Blocks that were dropped, oldest first.
    pub dropped: Vec<L1BlockRef>,
    /// The new head.
    pub new_head: L1BlockRef,
}

/// Where a mined transaction is.
#[derive(Clone, Copy, Debug)]
pub struct TxLocation {
    /// Block number.
    pub block: u64,
    /// Index in the block.
    pub index: usize,
}

/// The chain, its mempool and the accounts that make deposits.
pub struct L1Chain {
    params: BlockParams,
    chain_id: ChainId,
    block_time: u64,
    tags: TagLag,
    max_deposits: u32,
    /// Genesis, kept when its window has passed.
    genesis: L1Block,
    /// Canonical blocks `base..=head`, contiguous.
    blocks: VecDeque<L1Block>,
    base: u64,
    by_hash: HashMap<B256, u64>,
    tx_locations: HashMap<B256, TxLocation>,
    queue: VecDeque<L1Tx>,
    queued: HashSet<B256>,
    accounts: Accounts,
    system_config: Address,
    branch: u64,
    finalized: u64,
    blob_retention: Option<u64>,
    history_retention: Option<u64>,
    /// Blobs of blocks below this number are pruned already.
    blobs_pruned_below: u64,
    /// The batcher as of the newest pruned block.
    pruned_batcher: Address,
    /// Canonical transactions per sender, pruned blocks included (their next nonce).
    sent: HashMap<Address, u64>,
    /// Each SystemConfig's storage as of the newest pruned block (at first: as deployed).
    system_configs: HashMap<Address, SystemConfigStorage>,
    /// Hashes of the transactions that came in through `submit`, queued or in kept blocks.
    submitted: HashSet<B256>,
}

impl L1Chain {
    /// A chain holding only its genesis block.
    pub fn new(config: &L1Config, genesis_time: u64) -> Self {
        let params = BlockParams {
            gas_limit: config.gas_limit,
            beneficiary: config.beneficiary,
            prague: config.prague,
            genesis_time,
            seconds_per_slot: config.block_time.max(1),
        };
        let genesis = block::genesis(&params);
        let mut chain = Self {
            params,
            chain_id: config.chain_id,
            block_time: config.block_time.max(1),
            tags: config.tags,
            max_deposits: config.deposits.max_per_block,
            genesis: genesis.clone(),
            blocks: VecDeque::new(),
            base: 0,
            by_hash: HashMap::new(),
            tx_locations: HashMap::new(),
            queue: VecDeque::new(),
            queued: HashSet::new(),
            accounts: Accounts::new(
                config.chain_id,
                config.portal,
                config.system_config,
                config.deposits.seed,
            ),
            system_config: config.system_config,
            branch: 0,
            finalized: 0,
            blob_retention: config.blob_retention,
            history_retention: config.history_retention,
            blobs_pruned_below: 0,
            pruned_batcher: config.initial_batcher,
            sent: HashMap::new(),
            system_configs: HashMap::new(),
            submitted: HashSet::new(),
        };
        let default = opfleet_protocol::config::SystemConfig {
            batcher_address: config.initial_batcher,
            overhead: B256::ZERO,
            scalar: B256::ZERO,
            gas_limit: 0,
            eip1559_params: None,
            operator_fee_params: None,
            min_base_fee: None,
            da_footprint_gas_scalar: None,
        };
        let owner = chain.accounts.owner();
        chain.system_configs.insert(
            config.system_config,
            SystemConfigStorage::deployed(&default, owner, Address::ZERO),
        );
        chain.push(genesis);
        chain
    }

    /// L1 chain id.
    pub fn chain_id(&self) -> ChainId {
        self.chain_id
    }

    /// Beacon genesis time (= genesis block timestamp).
    pub fn genesis_time(&self) -> u64 {
        self.params.genesis_time
    }

    /// Seconds per block and slot.
    pub fn block_time(&self) -> u64 {
        self.block_time
    }

    /// The tag configuration.
    pub fn tag_lag(&self) -> TagLag {
        self.tags
    }

    /// The head block.
    pub fn head(&self) -> &L1Block {
        // Pruning never reaches finalized and reorgs never drop it, so the deque is never empty.
        self.blocks.back().unwrap_or(&self.genesis)
    }

    /// The safe block.
    pub fn safe(&self) -> &L1Block {
        let (safe, _) = self.tags.tags(self.head().header.number);
        self.by_number(safe.max(self.finalized))
            .unwrap_or_else(|| self.head())
    }

    /// The finalized block (never moves back).
    pub fn finalized(&self) -> &L1Block {
        self.by_number(self.finalized)
            .unwrap_or_else(|| self.head())
    }

    /// A canonical block by number.
    pub fn by_number(&self, number: u64) -> Option<&L1Block> {
        if number == 0 {
            return Some(&self.genesis);
        }
        number
            .checked_sub(self.base)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.blocks.get(i))
    }

    /// The oldest block kept besides genesis (older ones are pruned).
    pub fn oldest_kept(&self) -> u64 {
        self.base
    }

    /// Blocks held in memory, genesis included.
    pub fn blocks_held(&self) -> usize {
        self.blocks.len() + usize::from(self.base > 0)
    }

    /// Blobs held in memory.
    pub fn blobs_held(&self) -> usize {
        self.blocks
            .iter()
            .flat_map(|b| b.txs.iter())
            .map(|m| m.tx.blobs.len())
            .sum()
    }

    /// A canonical block by hash (blocks of abandoned branches are gone).
    pub fn by_hash(&self, hash: &B256) -> Option<&L1Block> {
        self.by_hash.get(hash).and_then(|n| self.by_number(*n))
    }

    /// The canonical block of a beacon slot, if the slot has one.
    pub fn by_slot(&self, slot: u64) -> Option<&L1Block> {
        if slot == self.genesis.beacon.slot {
            return Some(&self.genesis);
        }
        // Slots are increasing along the chain; a binary search finds the slot's block.
        self.blocks
            .binary_search_by_key(&slot, |b| b.beacon.slot)
            .ok()
            .and_then(|i| self.blocks.get(i))
    }

    /// The canonical block with beacon block root `root`.
    pub fn by_beacon_root(&self, root: &B256) -> Option<&L1Block> {
        self.blocks
            .iter()
            .rev()
            .chain(std::iter::once(&self.genesis))
            .find(|b| b.beacon_root == *root)
    }

    /// Where a mined transaction is.
    pub fn tx_location(&self, hash: &B256) -> Option<TxLocation> {
        self.tx_locations.get(hash).copied()
    }

    /// Canonical blocks in `from..=to` (clamped to the head).
    pub fn range(&self, from: u64, to: u64) -> impl Iterator<Item = &L1Block> {
        let head = self.head().header.number;
        let to = to.min(head);
        (from..=to).filter_map(|n| self.by_number(n))
    }

    /// How many canonical transactions `sender` sent (pruned blocks included): its next
    /// nonce.
    pub fn sent_by(&self, sender: Address) -> u64 {
        self.sent.get(&sender).copied().unwrap_or(0)
    }

    /// `sender`'s next nonce counting its queued transactions too (`eth_getTransactionCount`
    /// at `pending`).
    pub fn pending_nonce(&self, sender: Address) -> u64 {
        let queued = self
            .queue
            .iter()
            .filter(|t| t.tx.signer() == sender)
            .count();
        self.sent_by(sender) + queued as u64
    }

    /// Whether transaction `hash` waits in the queue.
    pub fn is_queued(&self, hash: &B256) -> bool {
        self.queued.contains(hash)
    }

    /// The SystemConfig owner account.
    pub fn system_config_owner(&self) -> Address {
        self.accounts.owner()
    }

    /// The batcher as of the head: the last `ConfigUpdate` BATCHER log of the SystemConfig on
    /// the canonical chain, or the batcher as of the pruned blocks (at first the genesis one).
    pub fn batcher(&self) -> Address {
        last_batcher(self.system_config, self.blocks.iter()).unwrap_or(self.pruned_batcher)
    }

    /// Queues a signed transaction; blobs of a type-3 transaction come in `sidecar` or inside
    /// the envelope. Commitments and proofs are recomputed from the blobs with c-kzg.
    pub fn submit(
        &mut self,
        tx: TxEnvelope,
        sidecar: Option<BlobTransactionSidecar>,
    ) -> Result<B256, SubmitError> {
        let hash = *tx.tx_hash();
        if self.queued.contains(&hash) || self.tx_locations.contains_key(&hash) {
            return Err(SubmitError::AlreadyKnown(hash));
        }
        if tx.chain_id() != Some(self.chain_id.get()) {
            return Err(SubmitError::WrongChain {
                hash,
                expected: self.chain_id.get(),
                got: tx.chain_id(),
            });
        }
        if tx.gas_limit() > self.params.gas_limit {
            return Err(SubmitError::GasLimit {
                hash,
                gas_limit: tx.gas_limit(),
                block_limit: self.params.gas_limit,
            });
        }
        let (tx, embedded) = split_sidecar(tx);
        let blobs = match (
            tx.blob_versioned_hashes(),
            sidecar.map(|s| s.blobs).or(embedded),
        ) {
            (None, None) => Vec::new(),
            (None, Some(_)) => return Err(SubmitError::UnexpectedBlobs(hash)),
            (Some(_), None) => return Err(SubmitError::MissingSidecar(hash)),
            (Some(listed), Some(blobs)) => check_blobs(hash, listed, blobs)?,
        };
        let sender = {
            use alloy::consensus::transaction::SignerRecoverable;
            tx.recover_signer().map_err(|e| SubmitError::BadSignature {
                hash,
                reason: e.to_string(),
            })?
        };
        let next = self.pending_nonce(sender);
        if tx.nonce() > next {
            return Err(SubmitError::NonceGap {
                hash,
                nonce: tx.nonce(),
                next,
            });
        }
        self.submitted.insert(hash);
        self.enqueue_back(L1Tx {
            tx: Recovered::new_unchecked(tx, sender),
            blobs,
            logs: Vec::new(),
        });
        Ok(hash)
    }

    /// Queues the owner's `setBatcherHash(batcher)` call; it takes effect in the next block.
    pub fn set_batcher(&mut self, batcher: Address) -> Result<B256, SignError> {
        self.set_batcher_of(self.system_config, batcher)
    }

    /// Queues the owner's `setBatcherHash(batcher)` call on `system_config`.
    pub fn set_batcher_of(
        &mut self,
        system_config: Address,
        batcher: Address,
    ) -> Result<B256, SignError> {
        let tx = self.accounts.set_batcher_of(system_config, batcher)?;
        let hash = tx.hash();
        self.enqueue_back(tx);
        Ok(hash)
    }

    /// Deploys a SystemConfig at `address` with `storage` (replacing any there): it answers
    /// storage reads at every kept block, as if deployed before them.
    pub fn deploy_system_config(&mut self, address: Address, storage: SystemConfigStorage) {
        self.system_configs.insert(address, storage);
    }

    /// The SystemConfigs deployed.
    pub fn system_config_addresses(&self) -> Vec<Address> {
        let mut out: Vec<Address> = self.system_configs.keys().copied().collect();
        out.sort();
        out
    }

    /// The storage of the SystemConfig at `address` as of block `number`: its storage at the
    /// oldest kept block with its later logs applied. `None` for an address that is no
    /// SystemConfig or a pruned or future block.
    pub fn system_config_at(&self, address: &Address, number: u64) -> Option<SystemConfigStorage> {
        let mut storage = self.system_configs.get(address)?.clone();
        if number > self.head().header.number || number < self.base {
            return None;
        }
        for block in self.blocks.iter().take_while(|b| b.header.number <= number) {
            for log in block.txs.iter().flat_map(|m| m.receipt.logs()) {
                if log.address == *address {
                    storage.apply(log);
                }
            }
        }
        Some(storage)
    }

    /// Mines the next block, `block_time` after the head, with new random deposits queued last.
    pub fn mine(&mut self) -> L1BlockRef {
        let timestamp = self.head().header.timestamp + self.block_time;
        self.mine_at(timestamp)
    }

    /// Timestamp the next [`Self::mine`] gives its block.
    pub fn next_timestamp(&self) -> u64 {
        self.head().header.timestamp + self.block_time
    }

    /// Replaces the last `depth` blocks with `depth + 1` blocks of a new branch; their
    /// transactions are re-included ([`ReorgMode::Requeue`]).
    pub fn reorg(&mut self, depth: u64) -> Result<ReorgOutcome, ReorgError> {
        self.reorg_with(depth, ReorgMode::Requeue)
    }

    /// Replaces the last `depth` blocks with `depth + 1` blocks of a new branch, doing with
    /// their transactions what `mode` says.
    pub fn reorg_with(&mut self, depth: u64, mode: ReorgMode) -> Result<ReorgOutcome, ReorgError> {
        let head = self.head().header.number;
        if depth == 0 {
            return Err(ReorgError::ZeroDepth);
        }
        if depth > head.saturating_sub(self.finalized) {
            return Err(ReorgError::BelowFinalized {
                depth,
                head,
                finalized: self.finalized,
            });
        }
        // depth <= head - finalized and finalized >= base, so this stays within the deque.
        let keep = self.blocks.len().saturating_sub(depth as usize);
        let dropped = Vec::from(self.blocks.split_off(keep));
        let mut requeue = Vec::new();
        let mut losers = HashSet::new();
        for b in &dropped {
            self.by_hash.remove(&b.hash);
            for m in &b.txs {
                let hash = m.tx.hash();
                let sender = m.tx.tx.signer();
                self.tx_locations.remove(&hash);
                if let Some(n) = self.sent.get_mut(&sender) {
                    *n = n.saturating_sub(1);
                }
                if mode == ReorgMode::DropSubmitted && self.submitted.remove(&hash) {
                    losers.insert(sender);
                } else {
                    requeue.push(m.tx.clone());
                }
            }
        }
        if !losers.is_empty() {
            let (lost, kept): (VecDeque<L1Tx>, VecDeque<L1Tx>) =
                std::mem::take(&mut self.queue).into_iter().partition(|t| {
                    losers.contains(&t.tx.signer()) && self.submitted.contains(&t.hash())
                });
            for t in &lost {
                self.queued.remove(&t.hash());
                self.submitted.remove(&t.hash());
            }
            self.queue = kept;
            tracing::info!(
                senders = losers.len(),
                queued_lost = lost.len(),
                "L1 reorg: submitted transactions of the dropped blocks are lost"
            );
        }
        for tx in requeue.into_iter().rev() {
            self.queued.insert(tx.hash());
            self.queue.push_front(tx);
        }
        self.branch += 1;
        // The same slots again, on the new branch, then the next slot.
        for b in &dropped {
            self.mine_at(b.header.timestamp);
        }
        self.mine();
        Ok(ReorgOutcome {
            dropped: dropped.iter().map(L1Block::block_ref).collect(),
            new_head: self.head().block_ref(),
        })
    }

    fn mine_at(&mut self, timestamp: u64) -> L1BlockRef {
        // Signing with in-memory keys does not fail; if it did, the block is still mined,
        // only without new deposits.
        match self.accounts.random_deposits(self.max_deposits) {
            Ok(deposits) => {
                for d in deposits {
                    self.enqueue_back(d);
                }
            }
            Err(e) => tracing::warn!(error = %e, "L1 block mined without new deposits"),
        }
        let next = NextBlock {
            timestamp,
            branch: self.branch,
        };
        // Field-wise borrows: the parent is read while the queue is drained.
        let parent = self.blocks.back().unwrap_or(&self.genesis);
        let block = block::build(parent, &self.params, next, &mut self.queue);
        for m in &block.txs {
            self.queued.remove(&m.tx.hash());
        }
        let block_ref = block.block_ref();
        self.push(block);
        block_ref
    }

    fn push(&mut self, block: L1Block) {
        let number = block.header.number;
        self.by_hash.insert(block.hash, number);
        for (index, m) in block.txs.iter().enumerate() {
            *self.sent.entry(m.tx.tx.signer()).or_default() += 1;
            self.tx_locations.insert(
                m.tx.hash(),
                TxLocation {
                    block: number,
                    index,
                },
            );
        }
        self.blocks.push_back(block);
        let (_, finalized) = self.tags.tags(number);
        self.finalized = self.finalized.max(finalized);
        self.prune(number);
    }

    /// Applies both windows at `head` (see `retention`): drops the blobs, then the blocks, that
    /// fell out of them.
    fn prune(&mut self, head: u64) {
        let blobs_from = retention::keep_from(self.blob_retention, head, self.finalized);
        while self.blobs_pruned_below < blobs_from {
            let n = self.blobs_pruned_below;
            if let Some(i) = n
                .checked_sub(self.base)
                .and_then(|i| usize::try_from(i).ok())
                && let Some(block) = self.blocks.get_mut(i)
            {
                for m in &mut block.txs {
                    m.tx.blobs = Vec::new();
                }
            }
            self.blobs_pruned_below += 1;
        }
        let blocks_from = retention::keep_from(self.history_retention, head, self.finalized);
        while self.base < blocks_from && self.blocks.len() > 1 {
            let Some(old) = self.blocks.pop_front() else {
                break;
            };
            if let Some(b) = last_batcher(self.system_config, std::iter::once(&old)) {
                self.pruned_batcher = b;
            }
            for log in old.txs.iter().flat_map(|m| m.receipt.logs()) {
                if let Some(s) = self.system_configs.get_mut(&log.address) {
                    s.apply(log);
                }
            }
            if old.header.number != 0 {
                self.by_hash.remove(&old.hash);
            }
            for m in &old.txs {
                self.tx_locations.remove(&m.tx.hash());
                self.submitted.remove(&m.tx.hash());
            }
            self.base += 1;
        }
    }

    fn enqueue_back(&mut self, tx: L1Tx) {
        self.queued.insert(tx.hash());
        self.queue.push_back(tx);
    }
}

/// Separates a network-form type-3 transaction from its sidecar's blobs.
fn split_sidecar(tx: TxEnvelope) -> (TxEnvelope, Option<Vec<Blob>>) {
    use alloy::consensus::{Signed, TxEip4844Variant};
    match tx {
        TxEnvelope::Eip4844(signed) => {
            let (variant, signature, hash) = signed.into_parts();
            match variant {
                TxEip4844Variant::TxEip4844WithSidecar(with) => {
                    let (inner, sidecar) = with.into_parts();
                    let blobs = sidecar.blobs().to_vec();
                    let canonical = TxEip4844Variant::TxEip4844(inner);
                    (
                        TxEnvelope::Eip4844(Signed::new_unchecked(canonical, signature, hash)),
                        Some(blobs),
                    )
                }
                plain => (
                    TxEnvelope::Eip4844(Signed::new_unchecked(plain, signature, hash)),
                    None,
                ),
            }
        }
        other => (other, None),
    }
}

/// Commits to the blobs and checks them against the listed versioned hashes, in order.
fn check_blobs(
    hash: B256,
    listed: &[B256],
    blobs: Vec<Blob>,
) -> Result<Vec<super::kzg::CommittedBlob>, SubmitError> {
    let max = BlobParams::prague().max_blob_count;
    if listed.is_empty() || listed.len() as u64 > max {
        return Err(SubmitError::BlobCount {
            hash,
            count: listed.len(),
            max,
        });
    }
    if blobs.len() < listed.len() {
        return Err(SubmitError::TooFewBlobs {
            hash,
            listed: listed.len(),
            given: blobs.len(),
        });
    }
    let committed = kzg::commit_all(blobs).map_err(|source| SubmitError::Kzg { hash, source })?;
    for (index, c) in committed.iter().enumerate() {
        let want = listed.get(index).copied();
        if want != Some(c.versioned_hash) {
            return Err(SubmitError::BlobMismatch {
                hash,
                index,
                computed: c.versioned_hash,
                listed: want,
            });
        }
    }
    Ok(committed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(max_deposits: u32) -> L1Chain {
        let mut config = L1Config::devnet().manual();
        config.deposits.max_per_block = max_deposits;
        L1Chain::new(&config, 1_700_000_000)
    }

    #[test]
    fn mining_links_blocks_and_tracks_tags() {
        let mut c = chain(2);
        for _ in 0..20 {
            c.mine();
        }
        assert_eq!(c.head().header.number, 20);
        assert_eq!(c.safe().header.number, 16);
        assert_eq!(c.finalized().header.number, 12);
        for n in 1..=20 {
            let b = c.by_number(n).unwrap();
            assert_eq!(b.header.parent_hash, c.by_number(n - 1).unwrap().hash);
            assert_eq!(b.beacon.slot, n);
            assert_eq!(c.by_slot(n).unwrap().hash, b.hash);
            assert_eq!(c.by_beacon_root(&b.beacon_root).unwrap().hash, b.hash);
        }
    }

    #[test]
    fn reorg_replaces_blocks_and_keeps_transactions() {
        let mut c = chain(2);
        for _ in 0..12 {
            c.mine();
        }
        let old: Vec<_> = (11..=12).map(|n| c.by_number(n).unwrap().clone()).collect();
        let old_txs: Vec<B256> = old
            .iter()
            .flat_map(|b| b.txs.iter().map(|m| m.tx.hash()))
            .collect();
        let finalized = c.finalized().block_ref();
        let out = c.reorg(2).unwrap();
        assert_eq!(out.dropped.len(), 2);
        assert_eq!(out.new_head.number, 13);
        // The old finalized block is still canonical; the tag moved on by the one extra block.
        assert_eq!(c.by_number(finalized.number).unwrap().hash, finalized.hash);
        assert_eq!(c.finalized().header.number, finalized.number + 1);
        for b in &old {
            assert!(c.by_hash(&b.hash).is_none());
            let replacement = c.by_number(b.header.number).unwrap();
            assert_ne!(replacement.hash, b.hash);
            assert_eq!(replacement.header.timestamp, b.header.timestamp);
        }
        for h in old_txs {
            let loc = c.tx_location(&h).unwrap();
            assert!((11..=13).contains(&loc.block));
        }
        assert_eq!(
            c.by_number(11).unwrap().header.parent_hash,
            c.by_number(10).unwrap().hash
        );
    }

    /// A transfer from the key `0x5e…` with `nonce`, signed for the devnet L1.
    pub(super) fn user_tx(nonce: u64, salt: u8) -> TxEnvelope {
        use alloy::consensus::{SignableTransaction, TxEip1559};
        use alloy::network::TxSignerSync;
        use alloy::primitives::{Bytes, TxKind, U256};
        let signer =
            alloy::signers::local::PrivateKeySigner::from_bytes(&B256::repeat_byte(0x5e)).unwrap();
        let mut tx = TxEip1559 {
            chain_id: L1Config::devnet().chain_id.get(),
            nonce,
            gas_limit: 30_000,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(Address::repeat_byte(0xbb)),
            value: U256::ZERO,
            access_list: Default::default(),
            input: Bytes::from(vec![salt; 8]),
        };
        let sig = signer.sign_transaction_sync(&mut tx).unwrap();
        TxEnvelope::from(tx.into_signed(sig))
    }

    pub(super) fn user() -> Address {
        alloy::signers::local::PrivateKeySigner::from_bytes(&B256::repeat_byte(0x5e))
            .unwrap()
            .address()
    }

    #[test]
    fn drop_submitted_reorg_forgets_submitted_transactions_and_their_nonces() {
        let mut c = chain(1);
        let owner_tx = c.set_batcher(Address::repeat_byte(0xba)).unwrap();
        for _ in 0..8 {
            c.mine();
        }
        // Nonces 0 and 1 stay canonical; 2 and 3 go into blocks the reorg drops; 4 is queued.
        let kept: Vec<B256> = (0..2)
            .map(|n| c.submit(user_tx(n, 0), None).unwrap())
            .collect();
        c.mine();
        let lost_mined: Vec<B256> = (2..4)
            .map(|n| {
                let h = c.submit(user_tx(n, 0), None).unwrap();
                c.mine();
                h
            })
            .collect();
        let lost_queued = c.submit(user_tx(4, 0), None).unwrap();
        let deposits_dropped: Vec<B256> = (10..=11)
            .flat_map(|n| c.by_number(n).unwrap().txs.iter().map(|m| m.tx.hash()))
            .filter(|h| !lost_mined.contains(h))
            .collect();
        assert_eq!(c.sent_by(user()), 4);
        assert_eq!(c.pending_nonce(user()), 5);

        let out = c.reorg_with(2, ReorgMode::DropSubmitted).unwrap();
        assert_eq!(out.dropped.len(), 2);
        assert_eq!(out.dropped[0].number, 10);
        for h in lost_mined.iter().chain([&lost_queued]) {
            assert!(c.tx_location(h).is_none(), "{h} still mined");
            assert!(!c.is_queued(h), "{h} still queued");
        }
        for h in &kept {
            assert!(c.tx_location(h).unwrap().block <= 9);
        }
        // The L1's own transactions come back on the new branch.
        assert!(c.tx_location(&owner_tx).is_some());
        for h in &deposits_dropped {
            assert!((10..=12).contains(&c.tx_location(h).unwrap().block));
        }
        assert_eq!(c.sent_by(user()), 2);
        assert_eq!(c.pending_nonce(user()), 2);
        let on_chain = c
            .range(0, c.head().header.number)
            .flat_map(|b| b.txs.iter())
            .filter(|m| m.tx.tx.signer() == user())
            .count();
        assert_eq!(on_chain, 2);

        // The sender sends nonce 2 again, the same transaction or a new one: both are accepted
        // (they are new to this L1) and mined.
        let again = c.submit(user_tx(2, 0), None).unwrap();
        assert_eq!(again, lost_mined[0]);
        let other = c.submit(user_tx(3, 9), None).unwrap();
        assert!(matches!(
            c.submit(user_tx(2, 0), None),
            Err(SubmitError::AlreadyKnown(_))
        ));
        assert_eq!(c.pending_nonce(user()), 4);
        assert!(matches!(
            c.submit(user_tx(5, 0), None),
            Err(SubmitError::NonceGap {
                nonce: 5,
                next: 4,
                ..
            })
        ));
        c.mine();
        assert_eq!(c.sent_by(user()), 4);
        assert!(c.tx_location(&again).is_some() && c.tx_location(&other).is_some());
    }

    #[test]
    fn requeue_reorg_keeps_submitted_transactions() {
        let mut c = chain(0);
        for _ in 0..8 {
            c.mine();
        }
        let h = c.submit(user_tx(0, 0), None).unwrap();
        c.mine();
        c.reorg_with(1, ReorgMode::Requeue).unwrap();
        assert_eq!(c.tx_location(&h).unwrap().block, 9);
        assert_eq!(c.sent_by(user()), 1);
    }

    #[test]
    fn mainnet_timing_uses_12s_slots_and_epoch_checkpoints() {
        let mut config = L1Config::mainnet_timing().manual();
        config.deposits.max_per_block = 0;
        let mut c = L1Chain::new(&config, 1_700_000_000);
        for _ in 0..100 {
            c.mine();
        }
        assert_eq!(c.head().header.timestamp, 1_700_000_000 + 1200);
        assert_eq!(c.head().beacon.slot, 100);
        assert_eq!(c.safe().header.number, 64);
        assert_eq!(c.finalized().header.number, 32);
        assert_eq!(
            c.reorg(69),
            Err(ReorgError::BelowFinalized {
                depth: 69,
                head: 100,
                finalized: 32
            })
        );
    }

    #[test]
    fn reorg_never_reaches_finalized() {
        let mut c = chain(0);
        for _ in 0..12 {
            c.mine();
        }
        // finalized = 4: depth 8 would replace it.
        assert_eq!(
            c.reorg(9),
            Err(ReorgError::BelowFinalized {
                depth: 9,
                head: 12,
                finalized: 4
            })
        );
        assert!(c.reorg(8).is_ok());
        assert_eq!(c.reorg(0), Err(ReorgError::ZeroDepth));
    }

    #[test]
    fn set_batcher_is_mined_with_its_log() {
        let mut c = chain(0);
        assert_eq!(c.batcher(), L1Config::devnet().initial_batcher);
        let hash = c.set_batcher(Address::repeat_byte(0xba)).unwrap();
        // Not yet mined: the batcher has not changed.
        assert_eq!(c.batcher(), L1Config::devnet().initial_batcher);
        c.mine();
        assert_eq!(c.batcher(), Address::repeat_byte(0xba));
        let loc = c.tx_location(&hash).unwrap();
        let b = c.by_number(loc.block).unwrap();
        assert_eq!(b.txs[loc.index].receipt.logs().len(), 1);
        assert!(
            c.submit(b.txs[loc.index].tx.tx.inner().clone(), None)
                .is_err()
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Mine,
        Reorg(u64),
        DropReorg(u64),
        Submit(u8),
        SetBatcher(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => Just(Op::Mine),
            1 => (0u64..12).prop_map(Op::Reorg),
            1 => (0u64..12).prop_map(Op::DropReorg),
            2 => any::<u8>().prop_map(Op::Submit),
            1 => any::<u8>().prop_map(Op::SetBatcher),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever happens, the chain stays linked, indexed and final where it said so.
        #[test]
        fn chain_invariants_hold(ops in proptest::collection::vec(op(), 1..40)) {
            let mut config = L1Config::devnet().manual();
            config.deposits.max_per_block = 1;
            let mut c = L1Chain::new(&config, 1_700_000_000);
            let mut finalized: Vec<(u64, B256)> = Vec::new();
            for op in ops {
                match op {
                    Op::Mine => { c.mine(); }
                    Op::Reorg(d) => { let _ = c.reorg(d); }
                    Op::DropReorg(d) => { let _ = c.reorg_with(d, ReorgMode::DropSubmitted); }
                    Op::Submit(salt) => {
                        // The sender sends its next nonce, as a wallet would.
                        let _ = c.submit(tests::user_tx(c.pending_nonce(tests::user()), salt), None);
                    }
                    Op::SetBatcher(b) => { c.set_batcher(Address::repeat_byte(b)).unwrap(); }
                }
                // The sender's canonical transactions are exactly its nonces 0..sent_by.
                let mut nonces: Vec<u64> = c
                    .range(0, c.head().header.number)
                    .flat_map(|b| b.txs.iter())
                    .filter(|m| m.tx.tx.signer() == tests::user())
                    .map(|m| m.tx.tx.inner().nonce())
                    .collect();
                nonces.sort_unstable();
                prop_assert_eq!(nonces, (0..c.sent_by(tests::user())).collect::<Vec<_>>());
                let f = c.finalized();
                finalized.push((f.header.number, f.hash));
                // Every block finalized so far is still canonical.
                for (n, h) in &finalized {
                    prop_assert_eq!(c.by_number(*n).map(|b| b.hash), Some(*h));
                }
                prop_assert!(c.safe().header.number >= c.finalized().header.number);
                prop_assert!(c.head().header.number >= c.safe().header.number);
            }
            let head = c.head().header.number;
            for n in 1..=head {
                let b = c.by_number(n).unwrap();
                let parent = c.by_number(n - 1).unwrap();
                prop_assert_eq!(b.header.parent_hash, parent.hash);
                prop_assert!(b.header.timestamp > parent.header.timestamp);
                prop_assert_eq!(b.hash, b.header.hash_slow());
                prop_assert_eq!(c.by_hash(&b.hash).map(|x| x.header.number), Some(n));
                for (i, m) in b.txs.iter().enumerate() {
                    let loc = c.tx_location(&m.tx.hash()).unwrap();
                    prop_assert_eq!((loc.block, loc.index), (n, i));
                }
            }
        }
    }
}
