//! One channel being filled with L2 blocks, and its frames once it closes.
//!
//! ```text
//! blocks ──try_add──▶ [b1 b2 b3 ...]  ── full (compressed size ≥ target frames × frame size)
//!                                     ── or open for max_duration L1 blocks
//!                                          │ finish
//!                                          ▼
//!   span:     rlp(0x01 ++ span(b1..bn))          ┐ compress ┐ split ┐ frames #0 .. #k (last
//!   singular: rlp(0x00 ++ b1) ++ rlp(0x00 ++ b2)  ┘          ┘       ┘ one closes the channel)
//! ```
//! Like op-batcher's shadow compressor, fullness is measured on the real compressed bytes: a
//! block that would push the channel past its target is refused and opens the next channel,
//! except as a channel's first block (a block larger than a channel still has to be posted).

use alloy::primitives::Bytes;
use opfleet_protocol::L2BlockRef;
use opfleet_protocol::batch::{Batch, SingularBatch, SpanBatch, SpanBatchContext, SpanBatchError};
use opfleet_protocol::compression::{CompressError, Compression, compress};
use opfleet_protocol::frame::{ChannelId, Frame, SplitError, split_channel};

/// Which batch type a channel carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BatchKind {
    /// One span batch per channel (op-batcher's default since Delta).
    #[default]
    Span,
    /// One singular batch per L2 block.
    Singular,
}

/// One L2 block as the batcher posts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchedBlock {
    /// The block as a rollup node refers to it (hash, parent, L1 origin, sequence number).
    pub block: L2BlockRef,
    /// Its batch: parent hash, epoch, timestamp and the non-deposit transactions.
    pub batch: SingularBatch,
}

impl BatchedBlock {
    /// Builds the batch of a block from its reference and its sequencer transactions.
    pub fn new(block: L2BlockRef, transactions: Vec<Bytes>) -> Self {
        let batch = SingularBatch {
            parent_hash: block.parent_hash,
            epoch_num: block.l1_origin.number,
            epoch_hash: block.l1_origin.hash,
            timestamp: block.timestamp,
            transactions,
        };
        Self { block, batch }
    }
}

/// How channels are shaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelSettings {
    /// Batch type.
    pub kind: BatchKind,
    /// Compression of the channel bytes.
    pub compression: Compression,
    /// Chain values span batches are encoded against.
    pub span_context: SpanBatchContext,
    /// Most channel bytes one frame carries.
    pub max_frame_data: usize,
    /// Frames a full channel fills (one L1 transaction's worth for blobs).
    pub target_frames: usize,
    /// L1 blocks a channel stays open at most before it is closed with what it has.
    pub max_duration: u64,
}

impl ChannelSettings {
    /// Compressed bytes at which the channel counts as full.
    pub fn capacity(&self) -> usize {
        self.max_frame_data
            .saturating_mul(self.target_frames.max(1))
    }
}

/// Why a channel could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum ChannelBuildError {
    /// The blocks do not form a span batch (timestamp gap, skipped L1 origin, foreign tx...).
    #[error("channel {channel}: span batch of L2 blocks {first}..={last}: {source}")]
    Span {
        /// The channel.
        channel: ChannelId,
        /// First L2 block number.
        first: u64,
        /// Last L2 block number.
        last: u64,
        /// What the span batch code refused.
        source: SpanBatchError,
    },
    /// Compression failed.
    #[error("channel {channel}: {source}")]
    Compress {
        /// The channel.
        channel: ChannelId,
        /// The compressor's error.
        source: CompressError,
    },
    /// The compressed channel does not split into frames.
    #[error("channel {channel}: {source}")]
    Split {
        /// The channel.
        channel: ChannelId,
        /// The splitter's error.
        source: SplitError,
    },
}

/// Whether a block went into the channel.
#[derive(Debug, PartialEq, Eq)]
pub enum AddOutcome {
    /// The block is in the channel.
    Added,
    /// The channel is full without it: close this channel and start the next with the block.
    Full(Box<BatchedBlock>),
}

/// A closed channel: its frames in order and the blocks they carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosedChannel {
    /// The channel id.
    pub id: ChannelId,
    /// Frames, numbered from 0, the last one closing the channel.
    pub frames: Vec<Frame>,
    /// The blocks, in order.
    pub blocks: Vec<BatchedBlock>,
}

/// A channel being filled.
#[derive(Debug)]
pub struct ChannelBuilder {
    id: ChannelId,
    opened_at_l1: u64,
    settings: ChannelSettings,
    blocks: Vec<BatchedBlock>,
}

impl ChannelBuilder {
    /// An empty channel opened while the L1 head is `opened_at_l1`.
    pub fn new(id: ChannelId, opened_at_l1: u64, settings: ChannelSettings) -> Self {
        Self {
            id,
            opened_at_l1,
            settings,
            blocks: Vec::new(),
        }
    }

    /// The channel id.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    /// The blocks added so far.
    pub fn blocks(&self) -> &[BatchedBlock] {
        &self.blocks
    }

    /// Gives back the blocks (the channel is dropped, e.g. to re-batch them).
    pub fn into_blocks(self) -> Vec<BatchedBlock> {
        self.blocks
    }

    /// Whether the channel has been open for its maximum duration at L1 head `l1_head`.
    pub fn is_timed_out(&self, l1_head: u64) -> bool {
        l1_head >= self.opened_at_l1.saturating_add(self.settings.max_duration)
    }

    /// Adds `block` unless the channel would exceed its capacity with it. On an error (the block
    /// does not extend the span) the channel is left as it was.
    pub fn try_add(&mut self, block: BatchedBlock) -> Result<AddOutcome, ChannelBuildError> {
        self.blocks.push(block);
        let fits = if self.blocks.len() == 1 {
            // A channel's first block always goes in, whatever its size.
            self.encode_batches().map(|_| true)
        } else {
            self.fits()
        };
        match (fits, self.blocks.pop()) {
            (Ok(true), Some(added)) => {
                self.blocks.push(added);
                Ok(AddOutcome::Added)
            }
            (Ok(false), Some(refused)) => Ok(AddOutcome::Full(Box::new(refused))),
            (Err(e), _) => Err(e),
            (Ok(_), None) => Ok(AddOutcome::Added),
        }
    }

    /// Whether the blocks, the last one included, fit the channel's capacity compressed.
    fn fits(&self) -> Result<bool, ChannelBuildError> {
        let capacity = self.settings.capacity();
        let raw = self.encode_batches()?;
        // Compression never grows data by more than a small framing overhead, so a channel
        // whose raw bytes fit with room for that overhead fits compressed too.
        let overhead = raw.len() / 100 + 64;
        if raw.len().saturating_add(overhead) <= capacity {
            return Ok(true);
        }
        Ok(self.compress(&raw)?.len() <= capacity)
    }

    /// Closes the channel: encodes, compresses and frames it.
    pub fn finish(self) -> Result<ClosedChannel, ChannelBuildError> {
        let raw = self.encode_batches()?;
        let compressed = self.compress(&raw)?;
        let frames = split_channel(self.id, &compressed, self.settings.max_frame_data).map_err(
            |source| ChannelBuildError::Split {
                channel: self.id,
                source,
            },
        )?;
        Ok(ClosedChannel {
            id: self.id,
            frames,
            blocks: self.blocks,
        })
    }

    fn compress(&self, raw: &[u8]) -> Result<Vec<u8>, ChannelBuildError> {
        compress(raw, self.settings.compression).map_err(|source| ChannelBuildError::Compress {
            channel: self.id,
            source,
        })
    }

    /// The uncompressed channel: the concatenated RLP channel entries.
    fn encode_batches(&self) -> Result<Vec<u8>, ChannelBuildError> {
        let span_error = |source| ChannelBuildError::Span {
            channel: self.id,
            first: self.blocks.first().map_or(0, |b| b.block.number),
            last: self.blocks.last().map_or(0, |b| b.block.number),
            source,
        };
        match self.settings.kind {
            BatchKind::Singular => {
                let mut out = Vec::new();
                for b in &self.blocks {
                    let entry = Batch::Singular(b.batch.clone())
                        .encode_channel_entry()
                        .map_err(span_error)?;
                    out.extend_from_slice(&entry);
                }
                Ok(out)
            }
            BatchKind::Span => {
                if self.blocks.is_empty() {
                    return Ok(Vec::new());
                }
                let batches: Vec<SingularBatch> =
                    self.blocks.iter().map(|b| b.batch.clone()).collect();
                // The first block starts an epoch exactly when it is the epoch's first block.
                let first_origin_changed = self
                    .blocks
                    .first()
                    .is_some_and(|b| b.block.sequence_number == 0);
                let span = SpanBatch::from_singular_batches(&batches, first_origin_changed)
                    .map_err(span_error)?;
                let raw = span
                    .to_raw(&self.settings.span_context)
                    .map_err(span_error)?;
                Batch::Span(raw).encode_channel_entry().map_err(span_error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::B256;
    use opfleet_protocol::batch::BatchReader;
    use opfleet_protocol::compression::decompress;
    use opfleet_protocol::{BlockId, ChainId};

    const GENESIS: u64 = 1_000;

    fn settings(
        kind: BatchKind,
        compression: Compression,
        max_frame_data: usize,
    ) -> ChannelSettings {
        ChannelSettings {
            kind,
            compression,
            span_context: SpanBatchContext {
                genesis_timestamp: GENESIS,
                block_time: 2,
                chain_id: ChainId(901),
            },
            max_frame_data,
            target_frames: 1,
            max_duration: 3,
        }
    }

    /// Block `n` on origin `n / 2`, with `txs` test-signed transactions of `size` bytes input.
    fn block(n: u64, txs: usize, size: usize) -> BatchedBlock {
        let origin = n / 2;
        let transactions = (0..txs)
            .map(|i| {
                let input: Vec<u8> = (0..size)
                    .map(|j| (j * 31 + i * 7 + n as usize) as u8)
                    .collect();
                crate::el::fixtures::test_signed_tx(
                    901,
                    n * 100 + i as u64,
                    alloy::primitives::Address::repeat_byte(9),
                    input.into(),
                )
            })
            .collect();
        BatchedBlock::new(
            L2BlockRef {
                hash: B256::with_last_byte(n as u8),
                number: n,
                parent_hash: B256::with_last_byte(n as u8 - 1),
                timestamp: GENESIS + 2 * n,
                l1_origin: BlockId {
                    hash: B256::repeat_byte(origin as u8 + 1),
                    number: origin,
                },
                sequence_number: n % 2,
            },
            transactions,
        )
    }

    fn read_back(closed: &ClosedChannel) -> Vec<Batch> {
        let data: Vec<u8> = closed.frames.iter().flat_map(|f| f.data.clone()).collect();
        let plain = decompress(&data, 10_000_000, true).unwrap().data;
        BatchReader::new(&plain, 10_000_000)
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    }

    #[test]
    fn span_channel_round_trips() {
        let s = settings(BatchKind::Span, Compression::Zlib, 100_000);
        let mut ch = ChannelBuilder::new(ChannelId([1; 16]), 5, s);
        for n in 1..=6 {
            assert_eq!(ch.try_add(block(n, 2, 50)).unwrap(), AddOutcome::Added);
        }
        let closed = ch.finish().unwrap();
        assert_eq!(closed.frames.len(), 1);
        assert!(closed.frames[0].is_last);
        let batches = read_back(&closed);
        let [Batch::Span(raw)] = batches.as_slice() else {
            panic!("one span batch expected: {batches:?}")
        };
        let span = raw.to_span_batch(&s.span_context).unwrap();
        assert!(span.check_parent_hash(closed.blocks[0].batch.parent_hash));
        for (element, b) in span.blocks.iter().zip(&closed.blocks) {
            assert_eq!(element.timestamp, b.batch.timestamp);
            assert_eq!(element.epoch_num, b.batch.epoch_num);
            assert_eq!(element.transactions, b.batch.transactions);
        }
        // Block 1 has sequence number 1: its origin is its parent's.
        assert!(!span.first_origin_changed);
    }

    #[test]
    fn singular_channel_with_brotli_round_trips() {
        let s = settings(
            BatchKind::Singular,
            Compression::Brotli { level: 10 },
            100_000,
        );
        let mut ch = ChannelBuilder::new(ChannelId([2; 16]), 0, s);
        for n in 2..=4 {
            ch.try_add(block(n, 1, 20)).unwrap();
        }
        let closed = ch.finish().unwrap();
        assert_eq!(closed.frames[0].data[0], 0x01, "brotli version byte");
        let batches = read_back(&closed);
        let expected: Vec<Batch> = closed
            .blocks
            .iter()
            .map(|b| Batch::Singular(b.batch.clone()))
            .collect();
        assert_eq!(batches, expected);
    }

    #[test]
    fn full_channel_refuses_the_block_that_overflows_it() {
        // Incompressible-looking inputs: 4 blocks of ~3 kB do not fit 8 kB compressed.
        let s = settings(BatchKind::Span, Compression::Zlib, 8_000);
        let mut ch = ChannelBuilder::new(ChannelId([3; 16]), 0, s);
        let mut refused = None;
        for n in 1..=6 {
            let mut b = block(n, 1, 3_000);
            // Pseudo-random bytes so zlib cannot shrink them much.
            let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let input: Vec<u8> = (0..3_000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            b.batch.transactions = vec![crate::el::fixtures::test_signed_tx(
                901,
                n,
                Default::default(),
                input.into(),
            )];
            if let AddOutcome::Full(b) = ch.try_add(b).unwrap() {
                refused = Some(b.block.number);
                break;
            }
        }
        let refused = refused.expect("the channel fills up");
        assert_eq!(ch.blocks().len() as u64, refused - 1);
        let closed = ch.finish().unwrap();
        let total: usize = closed.frames.iter().map(|f| f.data.len()).sum();
        assert!(total <= s.capacity(), "{total} > {}", s.capacity());
    }

    #[test]
    fn oversized_first_block_is_split_over_frames() {
        let s = settings(BatchKind::Singular, Compression::Zlib, 100);
        let mut ch = ChannelBuilder::new(ChannelId([4; 16]), 0, s);
        assert_eq!(ch.try_add(block(1, 3, 200)).unwrap(), AddOutcome::Added);
        let closed = ch.finish().unwrap();
        assert!(closed.frames.len() > 1);
        assert!(closed.frames.iter().rev().skip(1).all(|f| !f.is_last));
        assert_eq!(read_back(&closed).len(), 1);
    }

    #[test]
    fn duration_counts_l1_blocks_from_opening() {
        let ch = ChannelBuilder::new(
            ChannelId([5; 16]),
            10,
            settings(BatchKind::Span, Compression::Zlib, 100),
        );
        assert!(!ch.is_timed_out(12));
        assert!(ch.is_timed_out(13));
    }

    #[test]
    fn span_gap_is_an_error_naming_the_blocks() {
        let s = settings(BatchKind::Span, Compression::Zlib, 100_000);
        let mut ch = ChannelBuilder::new(ChannelId([6; 16]), 0, s);
        ch.try_add(block(1, 0, 0)).unwrap();
        let err = ch.try_add(block(3, 0, 0)).unwrap_err();
        assert!(err.to_string().contains("L2 blocks 1..=3"), "{err}");
        assert_eq!(ch.blocks().len(), 1);
        assert_eq!(ch.try_add(block(2, 0, 0)).unwrap(), AddOutcome::Added);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// Whatever the blocks, batch kind, compression and frame size, the channels cut from
        /// a run of blocks read back as exactly those blocks, in order.
        #[test]
        fn channels_read_back_as_their_blocks(
            shapes in proptest::collection::vec((0usize..3, 0usize..300), 1..8),
            singular in proptest::bool::ANY,
            brotli in proptest::bool::ANY,
            frame in 40usize..3_000,
        ) {
            let kind = if singular { BatchKind::Singular } else { BatchKind::Span };
            let compression = if brotli { Compression::Brotli { level: 5 } } else { Compression::Zlib };
            let s = settings(kind, compression, frame);
            let blocks: Vec<BatchedBlock> = shapes
                .iter()
                .enumerate()
                .map(|(i, (txs, size))| block(i as u64 + 1, *txs, *size))
                .collect();
            let mut closed = Vec::new();
            let mut ch = ChannelBuilder::new(ChannelId([9; 16]), 0, s);
            for b in blocks.clone() {
                if let AddOutcome::Full(b) = ch.try_add(b).unwrap() {
                    closed.push(ch.finish().unwrap());
                    ch = ChannelBuilder::new(ChannelId([closed.len() as u8; 16]), 0, s);
                    proptest::prop_assert_eq!(ch.try_add(*b).unwrap(), AddOutcome::Added);
                }
            }
            closed.push(ch.finish().unwrap());
            let mut read = Vec::new();
            for c in &closed {
                for batch in read_back(c) {
                    match batch {
                        Batch::Singular(b) => read.push((b.timestamp, b.epoch_num, b.transactions)),
                        Batch::Span(raw) => {
                            let span = raw.to_span_batch(&s.span_context).unwrap();
                            read.extend(
                                span.blocks
                                    .into_iter()
                                    .map(|e| (e.timestamp, e.epoch_num, e.transactions)),
                            );
                        }
                    }
                }
            }
            let expected: Vec<_> = blocks
                .iter()
                .map(|b| (b.batch.timestamp, b.batch.epoch_num, b.batch.transactions.clone()))
                .collect();
            proptest::prop_assert_eq!(read, expected);
        }
    }
}
