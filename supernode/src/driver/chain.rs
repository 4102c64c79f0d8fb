//! One chain's driver: pipeline in, execution client out, heads published.
//!
//! ```text
//! start: anchor = configured block or the EL's safe head ─▶ pipeline reset there
//! step:  next attributes on the pending safe block
//!          ├ EL block at that height matches ─▶ consolidate (forkchoice: safe moves)
//!          ├ else ─▶ insert (the EL drops its unsafe blocks above the parent)
//!          │        └ invalid payload ─▶ Holocene: deposits-only block, channel flushed
//!          ├ none (L1 exhausted) ─▶ finality, publish, Idle
//!          └ L1 reorg ─▶ rewind to the newest safe block whose derived-from L1 block is still
//!                        canonical (or, without history, whose L1 origin is), reset, go on
//! ```
//! The safe head moves at the end of each span batch (singular batches are spans of one);
//! blocks in between are the pending safe head. Finalized is the newest safe block derived
//! from a finalized L1 block, and never moves back.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::B256;
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::{BlockId, ChainId, L1BlockRef, L2BlockRef, SyncStatus};
use tokio::sync::watch;

use super::consolidate::{
    BlockReadError, ExecutedBlock, check_attributes_match, l2_block_ref, system_config_of,
};
use super::el::{ElError, ExecutionLayer, InsertOutcome, L2Tag};
use crate::derive::pipeline::{
    DerivedAttributes, L2SafeSource, Pipeline, PipelineConfig, PipelineError,
};
use crate::derive::stages::attributes::L1BlobSchedule;
use crate::derive::traits::{BlobProvider, L1ChainProvider, L1Tag, ProviderError};
use crate::heads::{ChainHeads, SafeRewind};

/// Most safe blocks remembered with the L1 block they were derived from (for rewinds and
/// finality). The history is trimmed to start at the finalized block, so this cap only bites
/// while L1 finality stalls.
const SAFE_HISTORY: usize = 100_000;

/// Static inputs of a chain driver.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// The chain's rollup config.
    pub rollup: Arc<RollupConfig>,
    /// The L1 blob fee schedule.
    pub blob_schedule: L1BlobSchedule,
    /// Start here instead of the execution client's safe head (must be in the EL).
    pub anchor: Option<u64>,
    /// Pause between steps when L1 has nothing new.
    pub idle_interval: Duration,
}

/// Why the driver stopped or a step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// The pipeline failed.
    #[error("derivation: {0}")]
    Pipeline(#[from] PipelineError),
    /// The execution client failed.
    #[error("execution client: {0}")]
    El(#[from] ElError),
    /// An L1 read failed.
    #[error("L1: {0}")]
    L1(#[from] ProviderError),
    /// A block of the execution client cannot be read as a block of the chain.
    #[error("L2 block: {0}")]
    Block(#[from] BlockReadError),
    /// The execution client lacks a block the driver needs.
    #[error("execution client has no block {0}")]
    MissingBlock(String),
    /// Even the deposits-only block was rejected: the chain cannot go on.
    #[error("deposits-only block on {parent} rejected: {reason}")]
    DepositsOnlyRejected {
        /// The parent.
        parent: B256,
        /// The EL's reason.
        reason: String,
    },
    /// No safe block back to genesis has a canonical L1 origin.
    #[error("no safe block with a canonical L1 origin to rewind to")]
    NoRewindTarget,
}

impl DriverError {
    /// Whether waiting and retrying may help.
    pub fn is_temporary(&self) -> bool {
        match self {
            Self::Pipeline(e) => e.is_temporary(),
            Self::El(ElError::Temporary(_)) | Self::L1(ProviderError::Temporary(_)) => true,
            _ => false,
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A block the EL had was confirmed as derived.
    Consolidated(L2BlockRef),
    /// A derived block was built and inserted.
    Inserted(L2BlockRef),
    /// The payload was invalid; a deposits-only block took its place.
    ReplacedWithDepositsOnly(L2BlockRef),
    /// L1 reorged: the driver rewound its safe head here.
    Rewound(L2BlockRef),
    /// Nothing to derive until L1 moves.
    Idle,
}

/// A safe block and the L1 block it was derived from (`None` for the start anchor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SafeEntry {
    block: L2BlockRef,
    derived_from: Option<L1BlockRef>,
}

/// The derivation driver of one chain.
pub struct ChainDriver {
    config: DriverConfig,
    chain_id: ChainId,
    l1: Arc<dyn L1ChainProvider>,
    el: Arc<dyn ExecutionLayer>,
    pipeline: Pipeline,
    pending_safe: L2BlockRef,
    history: VecDeque<SafeEntry>,
    finalized: L2BlockRef,
    finalized_derived_from: BlockId,
    /// The latest rewind after an L1 reorg (published with the heads).
    last_rewind: Option<SafeRewind>,
    unsafe_head: L2BlockRef,
    heads: watch::Sender<ChainHeads>,
    /// Attributes taken from the pipeline but not applied yet (the EL failed): applied first.
    pending: Option<DerivedAttributes>,
}

impl std::fmt::Debug for ChainDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainDriver")
            .field("chain_id", &self.chain_id)
            .field("pending_safe", &self.pending_safe)
            .field("finalized", &self.finalized)
            .finish_non_exhaustive()
    }
}

/// The pipeline's view of safe L2 blocks, read from the execution client.
struct ElBlocks<'a> {
    el: &'a dyn ExecutionLayer,
    rollup: &'a RollupConfig,
}

#[async_trait::async_trait]
impl L2SafeSource for ElBlocks<'_> {
    async fn l2_block_ref(&self, number: u64) -> Result<Option<L2BlockRef>, ProviderError> {
        let block = self.el.block_by_number(number).await.map_err(|e| match e {
            ElError::Temporary(m) => ProviderError::Temporary(m),
            ElError::Invalid(m) => ProviderError::Invalid(m),
        })?;
        block
            .map(|b| l2_block_ref(self.rollup, &b))
            .transpose()
            .map_err(|e| ProviderError::Invalid(e.to_string()))
    }
}

impl ChainDriver {
    /// A driver for the chain of `config.rollup`, anchored at the configured block or the
    /// EL's safe head (walked back to a block whose L1 origin is canonical).
    pub async fn new(
        config: DriverConfig,
        l1: Arc<dyn L1ChainProvider>,
        blobs: Arc<dyn BlobProvider>,
        el: Arc<dyn ExecutionLayer>,
    ) -> Result<Self, DriverError> {
        let rollup = config.rollup.clone();
        let start = match config.anchor {
            Some(n) => el.block_by_number(n).await?,
            None => el.block_by_tag(L2Tag::Safe).await?,
        }
        .ok_or_else(|| DriverError::MissingBlock(format!("{:?}", config.anchor)))?;
        let anchor = canonical_anchor(l1.as_ref(), el.as_ref(), &rollup, start).await?;
        let anchor_ref = l2_block_ref(&rollup, &anchor)?;
        let sys = system_config_of(&rollup, &anchor)?;
        let pipeline = Pipeline::new(
            PipelineConfig {
                rollup: rollup.clone(),
                blob_schedule: config.blob_schedule.clone(),
            },
            l1.clone(),
            blobs,
            anchor_ref,
            sys,
        )
        .await?;
        let finalized = match el.block_by_tag(L2Tag::Finalized).await? {
            Some(b) if b.header.number <= anchor_ref.number => l2_block_ref(&rollup, &b)?,
            _ => {
                let genesis = el
                    .block_by_number(rollup.genesis.l2.number)
                    .await?
                    .ok_or_else(|| DriverError::MissingBlock("L2 genesis".into()))?;
                l2_block_ref(&rollup, &genesis)?
            }
        };
        let unsafe_head = match el.block_by_tag(L2Tag::Latest).await? {
            Some(b) => l2_block_ref(&rollup, &b)?,
            None => anchor_ref,
        };
        let chain_id = rollup.l2_chain_id;
        let (heads, _) = watch::channel(ChainHeads {
            chain_id,
            ..ChainHeads::default()
        });
        let mut driver = Self {
            config,
            chain_id,
            l1,
            el,
            pipeline,
            pending_safe: anchor_ref,
            history: VecDeque::from([SafeEntry {
                block: anchor_ref,
                derived_from: None,
            }]),
            finalized,
            finalized_derived_from: BlockId::default(),
            last_rewind: None,
            unsafe_head,
            heads,
            pending: None,
        };
        driver.publish().await?;
        Ok(driver)
    }

    /// The chain's heads, updated after every change.
    pub fn subscribe(&self) -> watch::Receiver<ChainHeads> {
        self.heads.subscribe()
    }

    /// The safe head.
    pub fn safe_head(&self) -> L2BlockRef {
        self.safe_entry().block
    }

    fn safe_entry(&self) -> SafeEntry {
        self.history.back().copied().unwrap_or(SafeEntry {
            block: self.pending_safe,
            derived_from: None,
        })
    }

    /// Derives at most one block (or rewinds after an L1 reorg).
    pub async fn step(&mut self) -> Result<Step, DriverError> {
        let rollup = self.config.rollup.clone();
        let source = ElBlocks {
            el: self.el.as_ref(),
            rollup: &rollup,
        };
        let next = match self.pending.take() {
            Some(d) => Ok(Some(d)),
            None => self.pipeline.next(&self.pending_safe, &source).await,
        };
        let derived = match next {
            Ok(Some(d)) => d,
            Ok(None) => {
                // At the L1 head, traversal cannot see a reorg that shortened or replaced the
                // chain under its cursor until a block arrives on top: check directly.
                if !self.is_canonical(self.pipeline.origin().id()).await? {
                    let to = self.rewind().await?;
                    self.publish().await?;
                    return Ok(Step::Rewound(to));
                }
                self.update_finality().await?;
                self.publish().await?;
                return Ok(Step::Idle);
            }
            Err(e) if e.needs_reset() => {
                let to = self.rewind().await?;
                self.publish().await?;
                return Ok(Step::Rewound(to));
            }
            Err(e) => return Err(e.into()),
        };
        let step = match self.apply(derived.clone()).await {
            Ok(step) => step,
            Err(e) => {
                self.pending = Some(derived);
                return Err(e);
            }
        };
        self.update_finality().await?;
        self.publish().await?;
        Ok(step)
    }

    /// Runs until `stop` turns true, pausing when idle and after temporary errors.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) -> Result<(), DriverError> {
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let pause = match self.step().await {
                Ok(Step::Idle) => Some(self.config.idle_interval),
                Ok(_) => None,
                Err(e) if e.is_temporary() => {
                    tracing::warn!(chain = %self.chain_id, error = %e, "derivation step failed, retrying");
                    Some(self.config.idle_interval)
                }
                Err(e) => {
                    tracing::error!(chain = %self.chain_id, error = %e, "derivation step failed");
                    Some(self.config.idle_interval * 4)
                }
            };
            match pause {
                Some(d) => {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = stop.changed() => {}
                    }
                }
                None => tokio::task::yield_now().await,
            }
        }
    }

    async fn apply(&mut self, derived: DerivedAttributes) -> Result<Step, DriverError> {
        let rollup = self.config.rollup.clone();
        let number = derived.parent.number + 1;
        let existing = self.el.block_by_number(number).await?;
        let matched = existing.filter(|b| {
            check_attributes_match(&rollup, derived.parent.hash, &derived.attributes, b).is_ok()
        });
        let (block, step): (ExecutedBlock, fn(L2BlockRef) -> Step) = match matched {
            Some(b) => {
                let safe = if derived.last_in_span {
                    b.hash
                } else {
                    self.safe_head().hash
                };
                let head = self.current_head().await?;
                self.el.forkchoice(head, safe, self.finalized.hash).await?;
                (b, Step::Consolidated)
            }
            None => match self.insert(&derived).await? {
                InsertOutcome::Inserted(b) => (*b, Step::Inserted),
                InsertOutcome::Invalid(reason) => {
                    tracing::warn!(chain = %self.chain_id, %reason, "derived payload invalid, deposits-only block instead");
                    let replacement = self.pipeline.deposits_only(&derived).await?;
                    match self.insert(&replacement).await? {
                        InsertOutcome::Inserted(b) => (*b, Step::ReplacedWithDepositsOnly),
                        InsertOutcome::Invalid(reason) => {
                            return Err(DriverError::DepositsOnlyRejected {
                                parent: derived.parent.hash,
                                reason,
                            });
                        }
                    }
                }
            },
        };
        let block_ref = l2_block_ref(&rollup, &block)?;
        self.pending_safe = block_ref;
        let step = step(block_ref);
        self.unsafe_head = match step {
            // Consolidation leaves the unsafe blocks above in place.
            Step::Consolidated(_) => self.unsafe_head.max_by_number(block_ref),
            // Insertion made the new block the head.
            _ => block_ref,
        };
        if derived.last_in_span {
            self.history.push_back(SafeEntry {
                block: block_ref,
                derived_from: Some(derived.derived_from),
            });
            while self.history.len() > SAFE_HISTORY {
                self.history.pop_front();
            }
        }
        Ok(step)
    }

    async fn insert(&self, derived: &DerivedAttributes) -> Result<InsertOutcome, DriverError> {
        // The new block becomes safe after import: the EL learns it with a second forkchoice.
        let outcome = self
            .el
            .insert(
                derived.parent.hash,
                derived.attributes.clone(),
                self.safe_head().hash,
                self.finalized.hash,
            )
            .await?;
        if let (InsertOutcome::Inserted(b), true) = (&outcome, derived.last_in_span) {
            self.el
                .forkchoice(b.hash, b.hash, self.finalized.hash)
                .await?;
        }
        Ok(outcome)
    }

    /// After an L1 reorg: back to the newest safe block derived from still-canonical L1.
    async fn rewind(&mut self) -> Result<L2BlockRef, DriverError> {
        let rollup = self.config.rollup.clone();
        while let Some(entry) = self.history.back().copied() {
            let from_ok = match entry.derived_from {
                Some(from) => self.is_canonical(from.id()).await?,
                None => true,
            };
            if from_ok && self.is_canonical(entry.block.l1_origin).await? {
                break;
            }
            self.history.pop_back();
        }
        let target = match self.history.back() {
            Some(e) => e.block,
            None => {
                // No history left: walk the EL back to a canonical L1 origin.
                let start = self
                    .el
                    .block_by_number(self.pending_safe.number)
                    .await?
                    .ok_or_else(|| {
                        DriverError::MissingBlock(self.pending_safe.number.to_string())
                    })?;
                let b =
                    canonical_anchor(self.l1.as_ref(), self.el.as_ref(), &rollup, start).await?;
                let r = l2_block_ref(&rollup, &b)?;
                self.history.push_back(SafeEntry {
                    block: r,
                    derived_from: None,
                });
                r
            }
        };
        let block = self
            .el
            .block_by_number(target.number)
            .await?
            .ok_or_else(|| DriverError::MissingBlock(target.number.to_string()))?;
        let sys = system_config_of(&rollup, &block)?;
        self.pipeline.reset(target, sys).await?;
        self.pending_safe = target;
        self.pending = None;
        let head = self.current_head().await?;
        self.el
            .forkchoice(head, target.hash, self.finalized.hash)
            .await?;
        let derived_from = self
            .history
            .back()
            .and_then(|e| e.derived_from)
            .map_or(target.l1_origin, |f| f.id());
        self.last_rewind = Some(SafeRewind {
            seq: self.last_rewind.map_or(1, |r| r.seq + 1),
            safe: target,
            derived_from,
        });
        tracing::info!(chain = %self.chain_id, safe = target.number, "L1 reorg: safe head rewound");
        Ok(target)
    }

    /// The EL's head now: blocks may have arrived (gossip, a sequencer) since the last look,
    /// and a forkchoice update must not move the head back over them.
    async fn current_head(&self) -> Result<B256, DriverError> {
        Ok(self
            .el
            .block_by_tag(L2Tag::Latest)
            .await?
            .map_or(self.unsafe_head.hash, |b| b.hash))
    }

    async fn is_canonical(&self, id: BlockId) -> Result<bool, DriverError> {
        Ok(self
            .l1
            .block_ref_by_number(id.number)
            .await?
            .is_some_and(|b| b.hash == id.hash))
    }

    async fn update_finality(&mut self) -> Result<(), DriverError> {
        let l1_finalized = self.l1.block_ref_by_tag(L1Tag::Finalized).await?;
        let newest = self.history.iter().rev().find(|e| {
            e.derived_from
                .is_some_and(|f| f.number <= l1_finalized.number)
        });
        if let Some(entry) = newest.copied()
            && entry.block.number > self.finalized.number
        {
            self.finalized = entry.block;
            self.finalized_derived_from = entry.derived_from.map(|f| f.id()).unwrap_or_default();
            let head = self.current_head().await?;
            self.el
                .forkchoice(head, self.safe_head().hash, self.finalized.hash)
                .await?;
        }
        // Entries below the newest one at or below finalized serve neither finality (it only
        // moves up) nor rewinds (an L1 reorg stops at L1 finality): without this trim the
        // history would grow by one entry per span until SAFE_HISTORY (~25 MB per chain).
        while self
            .history
            .get(1)
            .is_some_and(|e| e.block.number <= self.finalized.number)
        {
            self.history.pop_front();
        }
        Ok(())
    }

    async fn publish(&mut self) -> Result<(), DriverError> {
        let rollup = self.config.rollup.clone();
        if let Some(b) = self.el.block_by_tag(L2Tag::Latest).await? {
            self.unsafe_head = l2_block_ref(&rollup, &b)?;
        }
        let head_l1 = self.l1.block_ref_by_tag(L1Tag::Latest).await?;
        let safe_l1 = self.l1.block_ref_by_tag(L1Tag::Safe).await?;
        let finalized_l1 = self.l1.block_ref_by_tag(L1Tag::Finalized).await?;
        let safe = self.safe_entry();
        let status = SyncStatus {
            current_l1: self.pipeline.origin(),
            current_l1_finalized: finalized_l1,
            head_l1,
            safe_l1,
            finalized_l1,
            unsafe_l2: self.unsafe_head,
            safe_l2: safe.block,
            finalized_l2: self.finalized,
            pending_safe_l2: self.pending_safe,
            cross_unsafe_l2: self.unsafe_head,
            local_safe_l2: safe.block,
        };
        let heads = ChainHeads {
            chain_id: self.chain_id,
            status,
            safe_derived_from: safe
                .derived_from
                .map(|f| f.id())
                .unwrap_or(safe.block.l1_origin),
            finalized_derived_from: self.finalized_derived_from,
            last_rewind: self.last_rewind,
        };
        self.heads.send_if_modified(|h| {
            let changed = *h != heads;
            *h = heads;
            changed
        });
        Ok(())
    }
}

/// `start`, or the newest block below it whose L1 origin is canonical.
async fn canonical_anchor(
    l1: &dyn L1ChainProvider,
    el: &dyn ExecutionLayer,
    rollup: &RollupConfig,
    start: ExecutedBlock,
) -> Result<ExecutedBlock, DriverError> {
    let mut block = start;
    loop {
        let r = l2_block_ref(rollup, &block)?;
        let canonical = l1
            .block_ref_by_number(r.l1_origin.number)
            .await?
            .is_some_and(|b| b.hash == r.l1_origin.hash);
        if canonical {
            return Ok(block);
        }
        if r.number == rollup.genesis.l2.number {
            return Err(DriverError::NoRewindTarget);
        }
        block = el
            .block_by_number(r.number - 1)
            .await?
            .ok_or_else(|| DriverError::MissingBlock((r.number - 1).to_string()))?;
    }
}

trait MaxByNumber {
    fn max_by_number(self, other: Self) -> Self;
}

impl MaxByNumber for L2BlockRef {
    fn max_by_number(self, other: Self) -> Self {
        if other.number > self.number {
            other
        } else {
            self
        }
    }
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
