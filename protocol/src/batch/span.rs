//! Span batches (batch type 1): a run of consecutive L2 blocks in one batch.
//!
//! ```text
//! prefix  = rel_timestamp (uvarint) ++ l1_origin_num (uvarint)
//!           ++ parent_check [20] ++ l1_origin_check [20]
//! payload = block_count (uvarint) ++ origin_bits (bitlist, block_count bits)
//!           ++ block_tx_counts (uvarint each) ++ txs (see span_txs)
//!
//! RawSpanBatch --to_span_batch(ctx)--> SpanBatch --to_singular_batches--> [SingularBatch]
//!              <----to_raw(ctx)-------
//! ```
//! [`RawSpanBatch`] is the wire form (relative timestamp, origin bits, transactions split into
//! columns). [`SpanBatch`] is the derived form: absolute timestamp and L1 origin number per block,
//! and full signed transactions. Converting needs the chain's [`SpanBatchContext`].

use alloy::primitives::{B256, Bytes, FixedBytes};

use super::cursor::{Cursor, write_uvarint};
use super::errors::{BatchDecodeError, SpanBatchError};
use super::span_txs::{SpanTx, decode_txs, encode_txs};
use super::{MAX_SPAN_BATCH_ELEMENT_COUNT, SingularBatch};
use crate::{ChainId, L1BlockRef};

/// A span batch as it is on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSpanBatch {
    /// First block's timestamp minus the L2 genesis timestamp.
    pub rel_timestamp: u64,
    /// L1 origin number of the last block.
    pub l1_origin_num: u64,
    /// First 20 bytes of the first block's parent hash.
    pub parent_check: FixedBytes<20>,
    /// First 20 bytes of the last block's L1 origin hash.
    pub l1_origin_check: FixedBytes<20>,
    /// Per block: whether its L1 origin differs from the previous block's (for the first block:
    /// from its parent's).
    pub origin_bits: Vec<bool>,
    /// Per block: its number of transactions.
    pub block_tx_counts: Vec<u64>,
    /// All transactions of the span, in block order.
    pub txs: Vec<SpanTx>,
}

/// What converting a span batch between raw and derived form needs to know about the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanBatchContext {
    /// L2 genesis timestamp, seconds.
    pub genesis_timestamp: u64,
    /// L2 block time, seconds.
    pub block_time: u64,
    /// L2 chain id (signs every transaction; not on the wire).
    pub chain_id: ChainId,
}

fn check_count(field: &'static str, offset: usize, value: u64) -> Result<u64, BatchDecodeError> {
    if value > MAX_SPAN_BATCH_ELEMENT_COUNT {
        return Err(BatchDecodeError::TooManyElements {
            field,
            offset,
            value,
            limit: MAX_SPAN_BATCH_ELEMENT_COUNT,
        });
    }
    Ok(value)
}

impl RawSpanBatch {
    /// Number of blocks in the span.
    pub fn block_count(&self) -> usize {
        self.origin_bits.len()
    }

    /// Number of transactions in the span.
    pub fn tx_count(&self) -> usize {
        self.txs.len()
    }

    /// Decodes a span batch payload (without the batch type byte). Bytes after the batch are
    /// ignored, as op-node does.
    pub fn decode(data: &[u8]) -> Result<Self, BatchDecodeError> {
        let mut c = Cursor::new(data);
        let rel_timestamp = c.read_uvarint("rel_timestamp")?;
        let l1_origin_num = c.read_uvarint("l1_origin_num")?;
        let parent_check = FixedBytes(c.read_array::<20>("parent_check")?);
        let l1_origin_check = FixedBytes(c.read_array::<20>("l1_origin_check")?);

        let offset = c.offset();
        let block_count = check_count("block_count", offset, c.read_uvarint("block_count")?)?;
        if block_count == 0 {
            return Err(BatchDecodeError::EmptySpanBatch { offset });
        }
        // block_count <= 10^7 fits usize on every supported target.
        let block_count = block_count as usize;
        let origin_bits = super::bits::read_bitlist(&mut c, block_count, "origin_bits")?;

        let mut block_tx_counts = Vec::with_capacity(block_count.min(c.remaining()));
        let mut total: u64 = 0;
        for _ in 0..block_count {
            let offset = c.offset();
            let n = check_count(
                "block_tx_counts",
                offset,
                c.read_uvarint("block_tx_counts")?,
            )?;
            total = check_count("total tx count", offset, total.saturating_add(n))?;
            block_tx_counts.push(n);
        }
        let txs = decode_txs(&mut c, total as usize)?;
        Ok(Self {
            rel_timestamp,
            l1_origin_num,
            parent_check,
            l1_origin_check,
            origin_bits,
            block_tx_counts,
            txs,
        })
    }

    /// Encodes the span batch payload (without the batch type byte).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), SpanBatchError> {
        self.check_shape()?;
        write_uvarint(out, self.rel_timestamp);
        write_uvarint(out, self.l1_origin_num);
        out.extend_from_slice(self.parent_check.as_slice());
        out.extend_from_slice(self.l1_origin_check.as_slice());
        write_uvarint(out, self.origin_bits.len() as u64);
        super::bits::write_bitlist(out, &self.origin_bits);
        for n in &self.block_tx_counts {
            write_uvarint(out, *n);
        }
        encode_txs(&self.txs, out);
        Ok(())
    }

    /// Checks the counts agree with each other and with the limits.
    fn check_shape(&self) -> Result<(), SpanBatchError> {
        let blocks = self.origin_bits.len();
        if blocks == 0 {
            return Err(SpanBatchError::Empty);
        }
        if blocks != self.block_tx_counts.len() {
            return Err(SpanBatchError::BlockCountMismatch {
                origin_bits: blocks,
                tx_counts: self.block_tx_counts.len(),
            });
        }
        let limit = MAX_SPAN_BATCH_ELEMENT_COUNT;
        if blocks as u64 > limit {
            return Err(SpanBatchError::TooManyElements {
                what: "blocks",
                value: blocks as u64,
                limit,
            });
        }
        let declared = self
            .block_tx_counts
            .iter()
            .fold(0u64, |a, n| a.saturating_add(*n));
        if declared > limit {
            return Err(SpanBatchError::TooManyElements {
                what: "transactions",
                value: declared,
                limit,
            });
        }
        if declared != self.txs.len() as u64 {
            return Err(SpanBatchError::TxCountMismatch {
                declared,
                actual: self.txs.len(),
            });
        }
        Ok(())
    }

    /// The derived form: absolute timestamps, L1 origin numbers and full transactions.
    pub fn to_span_batch(&self, ctx: &SpanBatchContext) -> Result<SpanBatch, SpanBatchError> {
        self.check_shape()?;
        let changes = self.origin_bits.iter().filter(|b| **b).count() as u64;
        let first_bit = self.origin_bits.first().copied().unwrap_or(false);
        // Block 0's origin is the last origin minus the changes made by blocks 1..n.
        let mut epoch = self
            .l1_origin_num
            .checked_sub(changes - u64::from(first_bit))
            .ok_or(SpanBatchError::EpochUnderflow {
                l1_origin_num: self.l1_origin_num,
                changes,
            })?;
        let mut timestamp = ctx
            .genesis_timestamp
            .checked_add(self.rel_timestamp)
            .ok_or(SpanBatchError::TimestampOverflow { block: 0 })?;
        let mut txs = self.txs.iter().enumerate();
        let mut blocks = Vec::with_capacity(self.origin_bits.len());
        for (i, (changed, count)) in self
            .origin_bits
            .iter()
            .zip(&self.block_tx_counts)
            .enumerate()
        {
            if i > 0 {
                timestamp = timestamp
                    .checked_add(ctx.block_time)
                    .ok_or(SpanBatchError::TimestampOverflow { block: i })?;
                if *changed {
                    epoch += 1;
                }
            }
            let mut transactions = Vec::with_capacity(*count as usize);
            for (index, tx) in txs.by_ref().take(*count as usize) {
                transactions.push(tx.to_full_tx(ctx.chain_id, index)?);
            }
            blocks.push(SpanBatchElement {
                timestamp,
                epoch_num: epoch,
                transactions,
            });
        }
        Ok(SpanBatch {
            parent_check: self.parent_check,
            l1_origin_check: self.l1_origin_check,
            first_origin_changed: first_bit,
            blocks,
        })
    }
}

/// One L2 block of a span batch, in derived form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanBatchElement {
    /// L2 block timestamp, seconds.
    pub timestamp: u64,
    /// L1 origin (epoch) number.
    pub epoch_num: u64,
    /// Full signed EIP-2718 transactions.
    pub transactions: Vec<Bytes>,
}

/// A span batch in derived form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanBatch {
    /// First 20 bytes of the first block's parent hash.
    pub parent_check: FixedBytes<20>,
    /// First 20 bytes of the last block's L1 origin hash.
    pub l1_origin_check: FixedBytes<20>,
    /// Whether the first block starts a new epoch relative to its parent (`origin_bits[0]`).
    pub first_origin_changed: bool,
    /// The blocks, in order (never empty when built by [`RawSpanBatch::to_span_batch`]).
    pub blocks: Vec<SpanBatchElement>,
}

impl SpanBatch {
    /// A span of consecutive singular batches (the batcher's side). `first_origin_changed` says
    /// whether the first block starts an epoch (its sequence number is 0).
    pub fn from_singular_batches(
        batches: &[SingularBatch],
        first_origin_changed: bool,
    ) -> Result<Self, SpanBatchError> {
        let first = batches.first().ok_or(SpanBatchError::Empty)?;
        let last = batches.last().ok_or(SpanBatchError::Empty)?;
        Ok(Self {
            parent_check: FixedBytes::from_slice(&first.parent_hash[..20]),
            l1_origin_check: FixedBytes::from_slice(&last.epoch_hash[..20]),
            first_origin_changed,
            blocks: batches
                .iter()
                .map(|b| SpanBatchElement {
                    timestamp: b.timestamp,
                    epoch_num: b.epoch_num,
                    transactions: b.transactions.clone(),
                })
                .collect(),
        })
    }

    /// First block's timestamp (`span_start.timestamp`), or `None` for an empty span.
    pub fn start_timestamp(&self) -> Option<u64> {
        self.blocks.first().map(|b| b.timestamp)
    }

    /// Last block's timestamp (`span_end.timestamp`), or `None` for an empty span.
    pub fn end_timestamp(&self) -> Option<u64> {
        self.blocks.last().map(|b| b.timestamp)
    }

    /// First block's L1 origin number (the spec's `start_epoch_num`).
    pub fn start_epoch_num(&self) -> Option<u64> {
        self.blocks.first().map(|b| b.epoch_num)
    }

    /// Last block's L1 origin number (`l1_origin_num`).
    pub fn end_epoch_num(&self) -> Option<u64> {
        self.blocks.last().map(|b| b.epoch_num)
    }

    /// Number of transactions over all blocks.
    pub fn tx_count(&self) -> usize {
        self.blocks.iter().map(|b| b.transactions.len()).sum()
    }

    /// Whether `hash` starts with the parent check.
    pub fn check_parent_hash(&self, hash: B256) -> bool {
        hash[..20] == self.parent_check[..]
    }

    /// Whether `hash` starts with the L1 origin check.
    pub fn check_origin_hash(&self, hash: B256) -> bool {
        hash[..20] == self.l1_origin_check[..]
    }

    /// The singular batches of the blocks after `safe_head_timestamp`, with epoch hashes taken
    /// from `l1_origins`. Their `parent_hash` is left zero: only the block each one builds on
    /// knows it, so the batch queue fills it in.
    pub fn to_singular_batches(
        &self,
        l1_origins: &[L1BlockRef],
        safe_head_timestamp: u64,
    ) -> Result<Vec<SingularBatch>, SpanBatchError> {
        let mut out = Vec::new();
        let mut origin_idx = 0;
        for (block, element) in self.blocks.iter().enumerate() {
            if element.timestamp <= safe_head_timestamp {
                continue;
            }
            let found = l1_origins
                .iter()
                .enumerate()
                .skip(origin_idx)
                .find(|(_, o)| o.number == element.epoch_num)
                .ok_or(SpanBatchError::UnknownOrigin {
                    block,
                    epoch_num: element.epoch_num,
                })?;
            origin_idx = found.0;
            out.push(SingularBatch {
                parent_hash: B256::ZERO,
                epoch_num: element.epoch_num,
                epoch_hash: found.1.hash,
                timestamp: element.timestamp,
                transactions: element.transactions.clone(),
            });
        }
        Ok(out)
    }

    /// The wire form. Fails if timestamps are not spaced by the block time, origins skip an L1
    /// block, or a transaction is not of the chain.
    pub fn to_raw(&self, ctx: &SpanBatchContext) -> Result<RawSpanBatch, SpanBatchError> {
        let first = self.blocks.first().ok_or(SpanBatchError::Empty)?;
        let last = self.blocks.last().ok_or(SpanBatchError::Empty)?;
        let rel_timestamp = first.timestamp.checked_sub(ctx.genesis_timestamp).ok_or(
            SpanBatchError::BeforeGenesis {
                timestamp: first.timestamp,
                genesis: ctx.genesis_timestamp,
            },
        )?;
        let mut origin_bits = Vec::with_capacity(self.blocks.len());
        let mut block_tx_counts = Vec::with_capacity(self.blocks.len());
        let mut txs = Vec::new();
        let mut prev: Option<&SpanBatchElement> = None;
        for (block, element) in self.blocks.iter().enumerate() {
            let changed = match prev {
                None => self.first_origin_changed,
                Some(p) => {
                    let expected = p
                        .timestamp
                        .checked_add(ctx.block_time)
                        .ok_or(SpanBatchError::TimestampOverflow { block })?;
                    if element.timestamp != expected {
                        return Err(SpanBatchError::TimestampGap {
                            block,
                            expected,
                            actual: element.timestamp,
                        });
                    }
                    if element.epoch_num != p.epoch_num
                        && Some(element.epoch_num) != p.epoch_num.checked_add(1)
                    {
                        return Err(SpanBatchError::OriginJump {
                            block,
                            previous: p.epoch_num,
                            actual: element.epoch_num,
                        });
                    }
                    element.epoch_num != p.epoch_num
                }
            };
            origin_bits.push(changed);
            block_tx_counts.push(element.transactions.len() as u64);
            for (index, tx) in element.transactions.iter().enumerate() {
                txs.push(SpanTx::from_full_tx(tx, ctx.chain_id, block, index)?);
            }
            prev = Some(element);
        }
        let raw = RawSpanBatch {
            rel_timestamp,
            l1_origin_num: last.epoch_num,
            parent_check: self.parent_check,
            l1_origin_check: self.l1_origin_check,
            origin_bits,
            block_tx_counts,
            txs,
        };
        raw.check_shape()?;
        Ok(raw)
    }
}
