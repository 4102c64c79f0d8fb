//! The Holocene batch stage: the next singular batch on top of the parent L2 block, from
//! singular batches, span batches (checked by prefix, then block by block) or, when the
//! sequencing window of the epoch has passed, an empty batch (specs `holocene/derivation.md`
//! "Batch Queue", `span-batches.md`, `protocol/derivation.md` "Batch Queue").
//!
//! ```text
//! origin ≤ parent's L1 origin ─▶ drain batches (they can only be past)
//! next from the span in hand ─▶ else next batch of the channel:
//!    singular ─────────────────────────────┐
//!    span ─prefix check─ accept ─▶ singular batches (parent hash filled block by block)
//!                      └ past: skip │ drop: flush channel
//!                                   ▼
//!                 check_singular_batch: accept ─▶ out │ past: skip │ drop: flush channel
//! no batch, window expired ─▶ empty batch (same epoch until the next L1 block's time)
//! ```

use std::collections::{BTreeMap, VecDeque};

use alloy::primitives::Bytes;
use opfleet_protocol::batch::{
    Batch, BatchValidationParams, BatchValidity, SafeChain, SingularBatch, SpanBatchContext,
    check_singular_batch, check_span_batch_prefix,
};
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::{L1BlockRef, L2BlockRef};

use super::channel_reader::ChannelReader;

/// The checks' parameters from a rollup config.
pub fn validation_params(rollup: &RollupConfig) -> BatchValidationParams {
    let h = &rollup.hardforks;
    BatchValidationParams {
        block_time: rollup.block_time,
        seq_window_size: rollup.seq_window_size,
        max_sequencer_drift: rollup.max_sequencer_drift_bedrock,
        delta_time: h.delta_time,
        fjord_time: h.fjord_time,
        holocene_time: h.holocene_time,
        isthmus_time: h.isthmus_time,
        jovian_time: h.jovian_time,
        interop_time: h.interop_time,
    }
}

/// Safe L2 blocks the stage was told about, for span batches that overlap the safe chain.
#[derive(Debug, Clone, Default)]
pub struct KnownL2 {
    refs: BTreeMap<u64, L2BlockRef>,
}

impl KnownL2 {
    /// Most blocks kept.
    const CAP: usize = 4096;

    /// Remembers a safe block (dropping the oldest past the cap).
    pub fn insert(&mut self, block: L2BlockRef) {
        self.refs.insert(block.number, block);
        while self.refs.len() > Self::CAP {
            self.refs.pop_first();
        }
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.refs.clear();
    }
}

impl SafeChain for KnownL2 {
    fn l2_block_ref(&self, number: u64) -> Option<L2BlockRef> {
        self.refs.get(&number).copied()
    }

    fn l2_block_transactions(&self, _number: u64) -> Option<Vec<Bytes>> {
        // Only the pre-Holocene full span check reads transactions; Holocene never does.
        None
    }
}

/// What the stage needs or produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchStep {
    /// The next batch; `last_in_span` is false while more blocks of its span follow.
    Batch {
        /// The batch, its parent hash set.
        batch: SingularBatch,
        /// Whether it ends its span (always true for singular batches).
        last_in_span: bool,
    },
    /// The channel reader is empty: feed more data (or try an empty batch).
    NeedData,
    /// A span batch overlaps the safe chain: the safe block at this number is needed.
    NeedL2(u64),
}

/// What happened to the batches looked at (for logs and metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Batches dropped as invalid (each flushes its channel).
    pub dropped: u64,
    /// Batches skipped as past.
    pub past: u64,
    /// Batches drained while the origin was behind the parent's.
    pub drained: u64,
}

/// The Holocene batch stage.
#[derive(Debug, Clone)]
pub struct BatchStage {
    params: BatchValidationParams,
    span_ctx: SpanBatchContext,
    origin: Option<L1BlockRef>,
    l1_blocks: Vec<L1BlockRef>,
    next_span: VecDeque<SingularBatch>,
    stats: BatchStats,
}

impl BatchStage {
    /// A stage reset to L1 block `origin`.
    pub fn new(rollup: &RollupConfig, origin: L1BlockRef) -> Self {
        Self {
            params: validation_params(rollup),
            span_ctx: SpanBatchContext {
                genesis_timestamp: rollup.genesis.l2_time,
                block_time: rollup.block_time,
                chain_id: rollup.l2_chain_id,
            },
            origin: Some(origin),
            l1_blocks: vec![origin],
            next_span: VecDeque::new(),
            stats: BatchStats::default(),
        }
    }

    /// Counters of dropped, past and drained batches.
    pub fn stats(&self) -> BatchStats {
        self.stats
    }

    /// The L1 blocks from the parent's epoch on that the stage knows.
    pub fn l1_blocks(&self) -> &[L1BlockRef] {
        &self.l1_blocks
    }

    /// Follows the traversal origin and prunes L1 blocks older than the parent's epoch.
    pub fn update_origins(&mut self, parent: &L2BlockRef, origin: L1BlockRef) {
        let behind = origin.number < parent.l1_origin.number;
        if self.origin != Some(origin) {
            self.origin = Some(origin);
            if behind {
                self.l1_blocks.clear();
            } else {
                self.l1_blocks.push(origin);
            }
        }
        if let Some(first) = self.l1_blocks.first()
            && parent.l1_origin.number > first.number
            && let Some(i) = self
                .l1_blocks
                .iter()
                .position(|b| b.number == parent.l1_origin.number)
        {
            self.l1_blocks.drain(..i);
        }
    }

    /// The next batch on `parent`, reading `reader`. The caller calls
    /// [`Self::update_origins`] first.
    pub fn next_batch(
        &mut self,
        parent: &L2BlockRef,
        reader: &mut ChannelReader,
        chain: &KnownL2,
    ) -> BatchStep {
        let Some(origin) = self.origin else {
            return BatchStep::NeedData;
        };
        if origin.number <= parent.l1_origin.number {
            // Batches read at or before the parent's origin are all past.
            while reader.next_batch().is_some() {
                self.stats.drained += 1;
            }
            return BatchStep::NeedData;
        }
        loop {
            let next_ts = parent.timestamp.saturating_add(self.params.block_time);
            if let Some(front) = self.next_span.front()
                && front.timestamp != next_ts
            {
                // The parent is not the block the span's previous batch made: forget the span.
                self.next_span.clear();
            }
            let candidate = match self.next_span.pop_front() {
                Some(b) => b,
                None => match reader.next_batch() {
                    None => return BatchStep::NeedData,
                    Some(Batch::Singular(b)) => b,
                    Some(Batch::Span(raw)) => {
                        let Ok(span) = raw.to_span_batch(&self.span_ctx) else {
                            self.stats.dropped += 1;
                            continue;
                        };
                        let check = check_span_batch_prefix(
                            &self.params,
                            &self.l1_blocks,
                            parent,
                            &span,
                            &origin,
                            chain,
                        );
                        match check.validity {
                            BatchValidity::Accept => {}
                            BatchValidity::Past => {
                                self.stats.past += 1;
                                continue;
                            }
                            BatchValidity::Undecided => {
                                if let Some(n) = overlap_parent(&self.params, parent, &span)
                                    && chain.l2_block_ref(n).is_none()
                                {
                                    reader.push_front(Batch::Span(raw));
                                    return BatchStep::NeedL2(n);
                                }
                                self.stats.dropped += 1;
                                continue;
                            }
                            BatchValidity::Drop(_) | BatchValidity::Future => {
                                self.stats.dropped += 1;
                                reader.flush();
                                continue;
                            }
                        }
                        match span.to_singular_batches(&self.l1_blocks, parent.timestamp) {
                            Ok(batches) => self.next_span = batches.into(),
                            Err(_) => {
                                self.stats.dropped += 1;
                                reader.flush();
                                continue;
                            }
                        }
                        match self.next_span.pop_front() {
                            Some(b) => b,
                            None => continue,
                        }
                    }
                },
            };
            let batch = SingularBatch {
                parent_hash: if candidate.parent_hash.is_zero() {
                    parent.hash
                } else {
                    candidate.parent_hash
                },
                ..candidate
            };
            match check_singular_batch(&self.params, &self.l1_blocks, parent, &batch, &origin) {
                BatchValidity::Accept => {
                    return BatchStep::Batch {
                        batch,
                        last_in_span: self.next_span.is_empty(),
                    };
                }
                BatchValidity::Past => self.stats.past += 1,
                // op-node moves on without flushing (cannot happen once the origin is past the
                // parent's: every L1 block the check may need is known).
                BatchValidity::Undecided => self.stats.dropped += 1,
                BatchValidity::Drop(_) | BatchValidity::Future => {
                    self.stats.dropped += 1;
                    self.next_span.clear();
                    reader.flush();
                }
            }
        }
    }

    /// With the origin's data exhausted: an empty batch if the epoch's sequencing window has
    /// expired (op-node `deriveNextEmptyBatch`), else `None` (move to the next L1 block).
    pub fn next_empty_batch(&mut self, parent: &L2BlockRef) -> Option<SingularBatch> {
        let origin = self.origin?;
        let epoch = *self.l1_blocks.first()?;
        let expiry = epoch.number.saturating_add(self.params.seq_window_size);
        if expiry > origin.number {
            return None;
        }
        let next_epoch = *self.l1_blocks.get(1)?;
        let first_of_epoch = epoch.number == parent.l1_origin.number.saturating_add(1);
        let next_ts = parent.timestamp.saturating_add(self.params.block_time);
        if next_ts < next_epoch.timestamp || first_of_epoch {
            return Some(SingularBatch {
                parent_hash: parent.hash,
                epoch_num: epoch.number,
                epoch_hash: epoch.hash,
                timestamp: next_ts,
                transactions: Vec::new(),
            });
        }
        self.l1_blocks.remove(0);
        None
    }

    /// Forgets the span in hand (its next block was not applied).
    pub fn clear_span(&mut self) {
        self.next_span.clear();
    }
}

/// The number of the safe block a span overlapping the safe chain builds on.
fn overlap_parent(
    params: &BatchValidationParams,
    safe: &L2BlockRef,
    span: &opfleet_protocol::batch::SpanBatch,
) -> Option<u64> {
    let first = span.start_timestamp()?;
    if first > safe.timestamp || params.block_time == 0 {
        return None;
    }
    let behind = safe.timestamp - first;
    if !behind.is_multiple_of(params.block_time) {
        return None;
    }
    safe.number.checked_sub(behind / params.block_time + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::B256;
    use opfleet_protocol::BlockId;

    fn l1(n: u64) -> L1BlockRef {
        L1BlockRef {
            hash: B256::with_last_byte(n as u8),
            number: n,
            parent_hash: B256::with_last_byte(n.saturating_sub(1) as u8),
            timestamp: 12 * n,
        }
    }

    fn parent(origin: u64, timestamp: u64) -> L2BlockRef {
        L2BlockRef {
            hash: B256::repeat_byte(0xaa),
            number: 3,
            timestamp,
            l1_origin: BlockId {
                hash: l1(origin).hash,
                number: origin,
            },
            ..Default::default()
        }
    }

    fn rollup(window: u64) -> RollupConfig {
        RollupConfig {
            block_time: 2,
            seq_window_size: window,
            ..Default::default()
        }
    }

    #[test]
    fn origins_follow_the_cursor_and_prune_below_the_parent() {
        let mut s = BatchStage::new(&rollup(4), l1(0));
        let p = parent(2, 30);
        // Behind the parent's origin: nothing is kept.
        s.update_origins(&p, l1(1));
        assert!(s.l1_blocks().is_empty());
        for n in 2..=4 {
            s.update_origins(&p, l1(n));
        }
        assert_eq!(
            s.l1_blocks().iter().map(|b| b.number).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        s.update_origins(&parent(3, 36), l1(4));
        assert_eq!(s.l1_blocks().first().map(|b| b.number), Some(3));
    }

    #[test]
    fn empty_batches_only_after_the_window_and_before_the_next_epoch_time() {
        let mut s = BatchStage::new(&rollup(2), l1(0));
        let p0 = parent(0, 0);
        s.update_origins(&p0, l1(1));
        assert_eq!(
            s.next_empty_batch(&p0),
            None,
            "window of epoch 0 open at block 1"
        );
        s.update_origins(&p0, l1(2));
        let b = s.next_empty_batch(&p0).unwrap();
        assert_eq!((b.epoch_num, b.timestamp, b.parent_hash), (0, 2, p0.hash));
        assert!(b.transactions.is_empty());
        // At the next epoch's time the epoch moves on: first block of epoch 1.
        let p = parent(0, 10);
        assert_eq!(s.next_empty_batch(&p), None);
        // Epoch 1's window closes at block 3; its first block is forced even if late.
        assert_eq!(s.next_empty_batch(&p), None);
        s.update_origins(&p, l1(3));
        let b = s.next_empty_batch(&p).unwrap();
        assert_eq!((b.epoch_num, b.timestamp), (1, 12));
    }

    #[test]
    fn batches_at_or_before_the_parents_origin_are_drained() {
        let mut s = BatchStage::new(&rollup(4), l1(2));
        let p = parent(2, 30);
        let mut reader = ChannelReader::new();
        reader.push_front(Batch::Singular(SingularBatch::default()));
        s.update_origins(&p, l1(2));
        assert_eq!(
            s.next_batch(&p, &mut reader, &KnownL2::default()),
            BatchStep::NeedData
        );
        assert!(reader.is_empty());
        assert_eq!(s.stats().drained, 1);
    }
}
