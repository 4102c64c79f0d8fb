//! One chain's derivation pipeline: pulls L1 data through the stages until it has the payload
//! attributes of the next block on the given parent, or runs out of L1.
//!
//! ```text
//! next(parent) loop:
//!   batch stage ─ batch ───────────────────────────────▶ attributes ─▶ DerivedAttributes
//!       │ need data
//!       ├─ ready channel queued? ─▶ channel reader
//!       ├─ batcher data left at origin? ─▶ frame queue ─▶ ready channels
//!       ├─ sequencing window expired? ─▶ empty batch ─▶ attributes
//!       └─ L1 traversal: next block (reorg? ─▶ error, the driver resets) │ at head ─▶ None
//! ```
//! Reset (specs `protocol/derivation.md` "Resetting the Pipeline"): start the L1 cursor a
//! channel timeout before the safe head's L1 origin, so channels open at that point are read
//! again, with the safe head's system config; batches read before the cursor passes the safe
//! head's origin are all past and are drained.

use std::collections::VecDeque;
use std::sync::Arc;

use op_alloy_rpc_types_engine::OpPayloadAttributes;
use opfleet_protocol::batch::SingularBatch;
use opfleet_protocol::channel::{ChannelLimits, ReadyChannel};
use opfleet_protocol::config::{RollupConfig, SystemConfig};
use opfleet_protocol::{BlockId, L1BlockRef, L2BlockRef};

use super::stages::attributes::{
    AttributesStageError, BuiltAttributes, L1BlobSchedule, build_attributes,
};
use super::stages::batch_stage::{BatchStage, BatchStats, BatchStep, KnownL2};
use super::stages::channel_reader::ChannelReader;
use super::stages::data_source::{BatcherData, DataSourceError, batcher_data};
use super::stages::frame_queue::FrameQueue;
use super::stages::l1_traversal::{Advance, L1Traversal, TraversalError};
use super::traits::{BlobProvider, L1ChainProvider, ProviderError};

/// Safe L2 blocks by number, for span batches that overlap the safe chain.
#[async_trait::async_trait]
pub trait L2SafeSource: Send + Sync {
    /// The canonical L2 block at `number`, if the execution client has it.
    async fn l2_block_ref(&self, number: u64) -> Result<Option<L2BlockRef>, ProviderError>;
}

/// Why the pipeline stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// L1 traversal failed or saw a reorg.
    #[error(transparent)]
    Traversal(#[from] TraversalError),
    /// Batcher data could not be read.
    #[error(transparent)]
    DataSource(#[from] DataSourceError),
    /// Attributes could not be built.
    #[error(transparent)]
    Attributes(#[from] AttributesStageError),
    /// An L2 read failed.
    #[error("safe L2 block {number}: {source}")]
    L2 {
        /// The block asked for.
        number: u64,
        /// The read error.
        source: ProviderError,
    },
    /// The execution client lacks a safe block a span batch builds on.
    #[error("safe L2 block {0} is missing from the execution client")]
    L2Missing(u64),
    /// The reset anchor's L1 origin is not canonical.
    #[error("reset: L1 origin {0:?} of the safe head is not canonical")]
    AnchorNotCanonical(BlockId),
    /// The reset start block is missing from L1.
    #[error("reset: L1 block {0} not found")]
    MissingL1(u64),
    /// The anchor is before Holocene: the pre-Holocene channel bank and batch queue rules are
    /// not implemented, so derivation refuses to start there rather than derive differently.
    #[error("reset: safe head at {timestamp} is before Holocene; start from a Holocene block")]
    PreHolocene {
        /// The anchor's L2 timestamp.
        timestamp: u64,
    },
}

impl PipelineError {
    /// Whether the error says L1 changed under the pipeline: the driver must reset.
    pub fn needs_reset(&self) -> bool {
        matches!(
            self,
            Self::Traversal(TraversalError::Reorg { .. })
                | Self::Attributes(AttributesStageError::EpochMismatch { .. })
                | Self::AnchorNotCanonical(_)
                | Self::Traversal(TraversalError::Provider(ProviderError::NotFound(_)))
                | Self::DataSource(DataSourceError::Provider {
                    source: ProviderError::NotFound(_),
                    ..
                })
                | Self::Attributes(AttributesStageError::Provider(ProviderError::NotFound(_)))
        )
    }

    /// Whether retrying later may succeed without a reset.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            Self::Traversal(TraversalError::Provider(ProviderError::Temporary(_)))
                | Self::DataSource(DataSourceError::Provider {
                    source: ProviderError::Temporary(_),
                    ..
                })
                | Self::Attributes(AttributesStageError::Provider(ProviderError::Temporary(_)))
                | Self::L2 {
                    source: ProviderError::Temporary(_),
                    ..
                }
        )
    }
}

/// The attributes of the next block and where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivedAttributes {
    /// The Engine API attributes.
    pub attributes: OpPayloadAttributes,
    /// The block they build on.
    pub parent: L2BlockRef,
    /// The block's L1 origin.
    pub l1_origin: BlockId,
    /// Position in the epoch.
    pub sequence_number: u64,
    /// The L1 block the pipeline was at when it derived them.
    pub derived_from: L1BlockRef,
    /// Whether the block ends its span batch (the safe head moves only then).
    pub last_in_span: bool,
    /// The batch (an empty one when the sequencing window expired).
    pub batch: SingularBatch,
    /// The L2 system config after the block.
    pub system_config: SystemConfig,
}

/// Static inputs of a pipeline.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// The chain's rollup config.
    pub rollup: Arc<RollupConfig>,
    /// The L1 blob fee schedule (for the L1-info blob base fee).
    pub blob_schedule: L1BlobSchedule,
}

/// The derivation pipeline of one chain.
pub struct Pipeline {
    config: PipelineConfig,
    l1: Arc<dyn L1ChainProvider>,
    blobs: Arc<dyn BlobProvider>,
    traversal: L1Traversal,
    data: VecDeque<BatcherData>,
    data_loaded: bool,
    frames: FrameQueue,
    ready: VecDeque<ReadyChannel>,
    reader: ChannelReader,
    batches: BatchStage,
    known: KnownL2,
    l2_system_config: SystemConfig,
    /// A batch whose attributes failed to build (an L1 read error): built again first.
    retry: Option<(SingularBatch, bool)>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("origin", &self.traversal.origin())
            .field("data_loaded", &self.data_loaded)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// A pipeline reset to `safe_head`, whose L2 system config is `system_config`.
    pub async fn new(
        config: PipelineConfig,
        l1: Arc<dyn L1ChainProvider>,
        blobs: Arc<dyn BlobProvider>,
        safe_head: L2BlockRef,
        system_config: SystemConfig,
    ) -> Result<Self, PipelineError> {
        let start = reset_start(l1.as_ref(), &config.rollup, &safe_head).await?;
        Ok(Self {
            traversal: L1Traversal::new(start, system_config),
            batches: BatchStage::new(&config.rollup, start),
            config,
            l1,
            blobs,
            data: VecDeque::new(),
            data_loaded: false,
            frames: FrameQueue::new(),
            ready: VecDeque::new(),
            reader: ChannelReader::new(),
            known: known_with(safe_head),
            l2_system_config: system_config,
            retry: None,
        })
    }

    /// Resets to `safe_head` (after an L1 reorg or a restart).
    pub async fn reset(
        &mut self,
        safe_head: L2BlockRef,
        system_config: SystemConfig,
    ) -> Result<(), PipelineError> {
        let start = reset_start(self.l1.as_ref(), &self.config.rollup, &safe_head).await?;
        self.traversal = L1Traversal::new(start, system_config);
        self.batches = BatchStage::new(&self.config.rollup, start);
        self.data.clear();
        self.data_loaded = false;
        self.frames.reset();
        self.ready.clear();
        self.reader.flush();
        self.known = known_with(safe_head);
        self.l2_system_config = system_config;
        self.retry = None;
        Ok(())
    }

    /// The L1 block the pipeline has reached.
    pub fn origin(&self) -> L1BlockRef {
        self.traversal.origin()
    }

    /// Counters of the batch stage.
    pub fn batch_stats(&self) -> BatchStats {
        self.batches.stats()
    }

    /// The attributes of the next block on `parent`, or `None` when L1 has no more data yet.
    pub async fn next(
        &mut self,
        parent: &L2BlockRef,
        l2: &dyn L2SafeSource,
    ) -> Result<Option<DerivedAttributes>, PipelineError> {
        self.known.insert(*parent);
        if let Some((batch, last_in_span)) = self.retry.take() {
            return self
                .derive_kept(parent, batch, last_in_span)
                .await
                .map(Some);
        }
        loop {
            let origin = self.traversal.origin();
            self.batches.update_origins(parent, origin);
            if !self.data_loaded {
                let data = batcher_data(
                    self.l1.as_ref(),
                    self.blobs.as_ref(),
                    &origin,
                    self.config.rollup.batch_inbox_address,
                    self.traversal.system_config().batcher_address,
                )
                .await?;
                self.data = data.into();
                self.data_loaded = true;
                self.frames.check_timeout(origin.number, self.limits());
            }
            let dropped_before = self.batches.stats().dropped;
            let step = self
                .batches
                .next_batch(parent, &mut self.reader, &self.known);
            if self.batches.stats().dropped > dropped_before {
                tracing::warn!(
                    chain = %self.config.rollup.l2_chain_id,
                    origin = origin.number,
                    parent = parent.number,
                    "invalid batch dropped"
                );
            }
            match step {
                BatchStep::Batch {
                    batch,
                    last_in_span,
                } => {
                    return self
                        .derive_kept(parent, batch, last_in_span)
                        .await
                        .map(Some);
                }
                BatchStep::NeedL2(number) => {
                    let block = l2
                        .l2_block_ref(number)
                        .await
                        .map_err(|source| PipelineError::L2 { number, source })?
                        .ok_or(PipelineError::L2Missing(number))?;
                    self.known.insert(block);
                }
                BatchStep::NeedData => {
                    if let Some(channel) = self.ready.pop_front() {
                        let r = &self.config.rollup;
                        self.reader.load(
                            &channel,
                            r.max_rlp_bytes_per_channel(origin.timestamp),
                            r.is_fjord_active(origin.timestamp),
                        );
                        continue;
                    }
                    if let Some(item) = self.data.pop_front() {
                        let ingest = self.frames.ingest(&item.data, origin.id(), self.limits());
                        if ingest.invalid || ingest.dropped_frames > 0 {
                            tracing::debug!(
                                chain = %self.config.rollup.l2_chain_id,
                                origin = origin.number,
                                tx_index = item.tx_index,
                                invalid = ingest.invalid,
                                dropped_frames = ingest.dropped_frames,
                                "batcher data not fully used"
                            );
                        }
                        self.ready.extend(ingest.ready);
                        continue;
                    }
                    if let Some(empty) = self.batches.next_empty_batch(parent) {
                        return self.derive_kept(parent, empty, true).await.map(Some);
                    }
                    match self
                        .traversal
                        .advance(self.l1.as_ref(), &self.config.rollup)
                        .await?
                    {
                        Advance::Moved { .. } => self.data_loaded = false,
                        Advance::AtHead => return Ok(None),
                    }
                }
            }
        }
    }

    /// Holocene: the payload of `derived` was invalid. The block becomes deposits-only and the
    /// rest of its channel (and span) is dropped.
    pub async fn deposits_only(
        &mut self,
        derived: &DerivedAttributes,
    ) -> Result<DerivedAttributes, PipelineError> {
        self.reader.flush();
        self.batches.clear_span();
        self.derive(&derived.parent, derived.batch.clone(), true, true)
            .await
    }

    /// Builds the attributes of a batch the stages gave up; on failure the batch is kept for
    /// the next call, so an L1 read error never loses it.
    async fn derive_kept(
        &mut self,
        parent: &L2BlockRef,
        batch: SingularBatch,
        last_in_span: bool,
    ) -> Result<DerivedAttributes, PipelineError> {
        match self
            .derive(parent, batch.clone(), last_in_span, false)
            .await
        {
            Ok(d) => Ok(d),
            Err(e) => {
                self.retry = Some((batch, last_in_span));
                Err(e)
            }
        }
    }

    async fn derive(
        &mut self,
        parent: &L2BlockRef,
        batch: SingularBatch,
        last_in_span: bool,
        deposits_only: bool,
    ) -> Result<DerivedAttributes, PipelineError> {
        let BuiltAttributes {
            attributes,
            l1_origin,
            sequence_number,
            system_config,
        } = build_attributes(
            self.l1.as_ref(),
            &self.config.rollup,
            &self.config.blob_schedule,
            &self.l2_system_config,
            parent,
            &batch,
            deposits_only,
        )
        .await?;
        self.l2_system_config = system_config;
        Ok(DerivedAttributes {
            attributes,
            parent: *parent,
            l1_origin,
            sequence_number,
            derived_from: self.traversal.origin(),
            last_in_span,
            batch,
            system_config,
        })
    }

    fn limits(&self) -> ChannelLimits {
        let ts = self.traversal.origin().timestamp;
        ChannelLimits {
            channel_timeout: self.config.rollup.channel_timeout(ts),
            max_rlp_bytes_per_channel: self.config.rollup.max_rlp_bytes_per_channel(ts),
        }
    }
}

fn known_with(block: L2BlockRef) -> KnownL2 {
    let mut k = KnownL2::default();
    k.insert(block);
    k
}

/// The L1 block a pipeline reset to `safe_head` starts at: a channel timeout before the safe
/// head's L1 origin, not before the rollup's L1 genesis; the origin itself must be canonical.
async fn reset_start(
    l1: &dyn L1ChainProvider,
    rollup: &RollupConfig,
    safe_head: &L2BlockRef,
) -> Result<L1BlockRef, PipelineError> {
    if !rollup.is_holocene_active(safe_head.timestamp) {
        return Err(PipelineError::PreHolocene {
            timestamp: safe_head.timestamp,
        });
    }
    let origin = safe_head.l1_origin;
    let found = l1
        .block_ref_by_number(origin.number)
        .await
        .map_err(TraversalError::from)?;
    let Some(origin_ref) = found.filter(|b| b.hash == origin.hash) else {
        return Err(PipelineError::AnchorNotCanonical(origin));
    };
    let lookback = rollup.channel_timeout(origin_ref.timestamp);
    let start = origin
        .number
        .saturating_sub(lookback)
        .max(rollup.genesis.l1.number);
    if start == origin.number {
        return Ok(origin_ref);
    }
    l1.block_ref_by_number(start)
        .await
        .map_err(TraversalError::from)?
        .ok_or(PipelineError::MissingL1(start))
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
pub(crate) mod tests;
