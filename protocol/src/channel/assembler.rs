//! Holocene channel assembly: one channel at a time, frames strictly in order.
//!
//! ```text
//! frame #0 of X ─► open X (an unfinished channel is discarded: Replaced)
//! frame #n of X ─► appended if X is open and n is the next number, else dropped
//! frame is_last ─► X is ready: its bytes are handed out, nothing stays open
//! every frame   ─► first: open channel timed out (current > open + timeout)? discard it
//!                  after:  size (data + 200 per frame) > max_rlp_bytes_per_channel? discard it
//! ```
//! Since Holocene the frame queue drops frames that break the per-channel order and the channel
//! assembler replaces the channel bank (OP specs, `holocene/derivation.md`; op-node
//! `frame_queue.go` pruning and `channel_assembler.go`). Feeding frames one by one to this state
//! machine, one transaction at a time through [`HoloceneAssembler::ingest_tx`], drops exactly the
//! frames those two stages drop.

use super::{Channel, ChannelError, frame_queue::prune_tx_frames};
use crate::block::BlockId;
use crate::frame::{ChannelId, Frame};

/// Limits in force at the current L1 origin; both change at forks (Granite, Fjord).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelLimits {
    /// Channel timeout in L1 blocks.
    pub channel_timeout: u64,
    /// Fjord `MAX_RLP_BYTES_PER_CHANNEL`, also the cap on a channel's size.
    pub max_rlp_bytes_per_channel: u64,
}

/// A complete channel's bytes, still compressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadyChannel {
    /// Channel id.
    pub id: ChannelId,
    /// L1 block that held frame 0.
    pub open_l1: BlockId,
    /// L1 block that held the closing frame.
    pub close_l1: BlockId,
    /// The concatenated frame data.
    pub data: Vec<u8>,
}

/// Why an open channel was thrown away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscardReason {
    /// Not closed within the channel timeout.
    TimedOut,
    /// A frame 0 started another channel before this one closed.
    Replaced,
    /// Its size went over `max_rlp_bytes_per_channel`.
    Oversized,
}

/// An open channel that was thrown away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscardedChannel {
    /// Channel id.
    pub id: ChannelId,
    /// Frames it held.
    pub frames: usize,
    /// Why it was discarded.
    pub reason: DiscardReason,
}

/// Why a frame was dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameDropReason {
    /// A non-first frame while no channel is open.
    NoOpenChannel,
    /// The open channel rejected it (other channel, out of order, duplicate, past the end).
    Rejected(ChannelError),
}

/// What became of an ingested frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameFate {
    /// Added to the open channel, which is not complete yet.
    Buffered,
    /// Completed its channel.
    Completed(ReadyChannel),
    /// Dropped.
    Dropped(FrameDropReason),
    /// Added, then its channel went over the size limit and was discarded with it.
    DiscardedWithChannel,
}

/// Result of [`HoloceneAssembler::ingest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingested {
    /// The frame's fate.
    pub frame: FrameFate,
    /// A channel discarded on the way (timeout, replacement or size).
    pub discarded: Option<DiscardedChannel>,
}

/// Result of [`HoloceneAssembler::ingest_tx`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxIngested {
    /// Frames the transaction-level pruning dropped.
    pub pruned: usize,
    /// What became of the other frames, in order.
    pub results: Vec<Ingested>,
}

/// Assembles channels from frames under Holocene rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HoloceneAssembler {
    channel: Option<Channel>,
}

impl HoloceneAssembler {
    /// An assembler with no open channel.
    pub fn new() -> Self {
        Self::default()
    }

    /// The open channel, if any.
    pub fn open_channel(&self) -> Option<&Channel> {
        self.channel.as_ref()
    }

    /// Forgets the open channel (pipeline reset).
    pub fn reset(&mut self) {
        self.channel = None;
    }

    /// Discards the open channel if it is timed out at L1 block `current_l1_number`.
    pub fn check_timeout(
        &mut self,
        current_l1_number: u64,
        limits: ChannelLimits,
    ) -> Option<DiscardedChannel> {
        let timed_out = self
            .channel
            .as_ref()
            .is_some_and(|c| c.is_timed_out(current_l1_number, limits.channel_timeout));
        if timed_out {
            self.discard(DiscardReason::TimedOut)
        } else {
            None
        }
    }

    /// Takes all frames of one batcher transaction included in L1 block `l1`: prunes them with
    /// [`prune_tx_frames`], then ingests the rest in order.
    pub fn ingest_tx(
        &mut self,
        frames: Vec<Frame>,
        l1: BlockId,
        limits: ChannelLimits,
    ) -> TxIngested {
        let total = frames.len();
        let kept = prune_tx_frames(frames);
        let pruned = total - kept.len();
        let results = kept
            .into_iter()
            .map(|frame| self.ingest(frame, l1, limits))
            .collect();
        TxIngested { pruned, results }
    }

    /// Takes one frame included in L1 block `l1` (the current origin). Frames of a transaction
    /// must first go through [`prune_tx_frames`]; [`Self::ingest_tx`] does both.
    pub fn ingest(&mut self, frame: Frame, l1: BlockId, limits: ChannelLimits) -> Ingested {
        let mut discarded = self.check_timeout(l1.number, limits);
        if frame.frame_number == 0 {
            if self.channel.is_some() {
                discarded = self.discard(DiscardReason::Replaced).or(discarded);
            }
            self.channel = Some(Channel::new(frame.channel_id, l1, true));
        }
        let Some(channel) = self.channel.as_mut() else {
            return Ingested {
                frame: FrameFate::Dropped(FrameDropReason::NoOpenChannel),
                discarded,
            };
        };
        if let Err(err) = channel.add_frame(frame, l1) {
            return Ingested {
                frame: FrameFate::Dropped(FrameDropReason::Rejected(err)),
                discarded,
            };
        }
        let too_big = u64::try_from(channel.size())
            .map_or(true, |size| size > limits.max_rlp_bytes_per_channel);
        if too_big {
            return Ingested {
                frame: FrameFate::DiscardedWithChannel,
                discarded: self.discard(DiscardReason::Oversized),
            };
        }
        let fate = match self.channel.take_if(|c| c.is_ready()) {
            Some(ready) => FrameFate::Completed(ReadyChannel {
                id: ready.id(),
                open_l1: ready.open_l1(),
                close_l1: ready.last_l1(),
                // In-order frames up to the closing one: `data` is always present here.
                data: ready.data().unwrap_or_default(),
            }),
            None => FrameFate::Buffered,
        };
        Ingested {
            frame: fate,
            discarded,
        }
    }

    fn discard(&mut self, reason: DiscardReason) -> Option<DiscardedChannel> {
        self.channel.take().map(|c| DiscardedChannel {
            id: c.id(),
            frames: c.frame_count(),
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::CHANNEL_FRAME_OVERHEAD;

    const LIMITS: ChannelLimits = ChannelLimits {
        channel_timeout: 50,
        max_rlp_bytes_per_channel: 100_000_000,
    };

    fn id(b: u8) -> ChannelId {
        ChannelId([b; 16])
    }

    fn frame(ch: u8, n: u16, last: bool) -> Frame {
        Frame {
            channel_id: id(ch),
            frame_number: n,
            data: vec![ch, n as u8],
            is_last: last,
        }
    }

    fn l1(n: u64) -> BlockId {
        BlockId {
            hash: Default::default(),
            number: n,
        }
    }

    /// Feeds frames at one L1 block; returns the completed channels' ids and data.
    fn run(asm: &mut HoloceneAssembler, frames: &[Frame], at: u64) -> Vec<(ChannelId, Vec<u8>)> {
        frames
            .iter()
            .filter_map(|f| match asm.ingest(f.clone(), l1(at), LIMITS).frame {
                FrameFate::Completed(ready) => Some((ready.id, ready.data)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn in_order_channel_completes() {
        let mut asm = HoloceneAssembler::new();
        let out = run(
            &mut asm,
            &[frame(1, 0, false), frame(1, 1, false), frame(1, 2, true)],
            10,
        );
        assert_eq!(out, vec![(id(1), vec![1, 0, 1, 1, 1, 2])]);
        assert!(asm.open_channel().is_none());
    }

    #[test]
    fn frames_after_last_and_gaps_are_dropped() {
        let mut asm = HoloceneAssembler::new();
        let out = run(
            &mut asm,
            &[
                frame(1, 0, false),
                frame(1, 1, false),
                frame(1, 2, true),
                frame(1, 3, false), // after last: dropped
                frame(2, 0, false),
                frame(2, 2, false), // gap: dropped
                frame(2, 1, true),
            ],
            10,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[1], (id(2), vec![2, 0, 2, 1]));

        let mut asm = HoloceneAssembler::new();
        asm.ingest(frame(1, 0, false), l1(1), LIMITS);
        let r = asm.ingest(frame(1, 2, true), l1(1), LIMITS);
        assert!(matches!(
            r.frame,
            FrameFate::Dropped(FrameDropReason::Rejected(ChannelError::OutOfOrder {
                expected: 1,
                got: 2,
                ..
            }))
        ));
    }

    #[test]
    fn frame_zero_replaces_unclosed_channel() {
        let mut asm = HoloceneAssembler::new();
        asm.ingest(frame(1, 0, false), l1(1), LIMITS);
        asm.ingest(frame(1, 1, false), l1(1), LIMITS);
        let r = asm.ingest(frame(2, 0, false), l1(2), LIMITS);
        assert_eq!(r.frame, FrameFate::Buffered);
        assert_eq!(
            r.discarded,
            Some(DiscardedChannel {
                id: id(1),
                frames: 2,
                reason: DiscardReason::Replaced
            })
        );
        // The old channel's next frame no longer fits anywhere.
        let r = asm.ingest(frame(1, 2, true), l1(2), LIMITS);
        assert!(matches!(
            r.frame,
            FrameFate::Dropped(FrameDropReason::Rejected(ChannelError::WrongChannel { .. }))
        ));
        let out = run(&mut asm, &[frame(2, 1, true)], 3);
        assert_eq!(out, vec![(id(2), vec![2, 0, 2, 1])]);
    }

    #[test]
    fn non_first_frame_without_channel_is_dropped() {
        let mut asm = HoloceneAssembler::new();
        let r = asm.ingest(frame(1, 1, true), l1(1), LIMITS);
        assert_eq!(r.frame, FrameFate::Dropped(FrameDropReason::NoOpenChannel));
        // Restarting a channel with the same id is fine: frame 0 opens it anew.
        let out = run(&mut asm, &[frame(1, 0, false), frame(1, 1, true)], 1);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn timeout() {
        let mut asm = HoloceneAssembler::new();
        asm.ingest(frame(1, 0, false), l1(100), LIMITS);
        // open + timeout is still in time.
        assert_eq!(asm.check_timeout(150, LIMITS), None);
        let r = asm.ingest(frame(1, 1, false), l1(150), LIMITS);
        assert_eq!(r.frame, FrameFate::Buffered);
        // One block later the channel is gone and its next frame has nowhere to go.
        let r = asm.ingest(frame(1, 2, true), l1(151), LIMITS);
        assert_eq!(r.frame, FrameFate::Dropped(FrameDropReason::NoOpenChannel));
        assert_eq!(
            r.discarded,
            Some(DiscardedChannel {
                id: id(1),
                frames: 2,
                reason: DiscardReason::TimedOut
            })
        );
    }

    #[test]
    fn size_limit_counts_frame_overhead() {
        let limits = ChannelLimits {
            channel_timeout: 50,
            max_rlp_bytes_per_channel: (2 * (2 + CHANNEL_FRAME_OVERHEAD)) as u64,
        };
        let mut asm = HoloceneAssembler::new();
        // Exactly at the limit: accepted.
        asm.ingest(frame(1, 0, false), l1(1), limits);
        let r = asm.ingest(frame(1, 1, true), l1(1), limits);
        assert!(matches!(r.frame, FrameFate::Completed(_)));
        // One byte over: the channel is discarded.
        asm.ingest(frame(2, 0, false), l1(1), limits);
        let mut big = frame(2, 1, true);
        big.data.push(0);
        let r = asm.ingest(big, l1(1), limits);
        assert_eq!(r.frame, FrameFate::DiscardedWithChannel);
        assert_eq!(
            r.discarded.map(|d| (d.id, d.reason)),
            Some((id(2), DiscardReason::Oversized))
        );
        assert!(asm.open_channel().is_none());
    }

    #[test]
    fn tx_pruning_applies_within_a_transaction() {
        let mut asm = HoloceneAssembler::new();
        // Frame 0 of the same id right after its closing frame, in the same transaction, is
        // pruned; in a later transaction it would open a new channel.
        let r = asm.ingest_tx(vec![frame(1, 0, true), frame(1, 0, false)], l1(1), LIMITS);
        assert_eq!(r.pruned, 1);
        assert!(matches!(r.results[0].frame, FrameFate::Completed(_)));
        assert!(asm.open_channel().is_none());
        let r = asm.ingest_tx(vec![frame(1, 0, false)], l1(1), LIMITS);
        assert_eq!((r.pruned, &r.results[0].frame), (0, &FrameFate::Buffered));
    }

    #[test]
    fn close_l1_and_open_l1() {
        let mut asm = HoloceneAssembler::new();
        asm.ingest(frame(1, 0, false), l1(5), LIMITS);
        let r = asm.ingest(frame(1, 1, true), l1(7), LIMITS);
        let FrameFate::Completed(ready) = r.frame else {
            panic!("channel should complete");
        };
        assert_eq!((ready.open_l1.number, ready.close_l1.number), (5, 7));
    }

    /// Batcher side to derivation side: compress, split, pack frames into transactions carried
    /// in blobs, then decode blobs, parse frames, assemble and decompress.
    fn through_the_pipeline(
        channel: &[u8],
        compression: crate::compression::Compression,
        frame_size: usize,
    ) -> Vec<u8> {
        use crate::batcher_data::{encode_frames, parse_frames};
        use crate::blob::encode_blob;
        use crate::compression::{compress, decompress};
        use crate::frame::split_channel;

        let packed = compress(channel, compression).unwrap();
        let frames = split_channel(id(9), &packed, frame_size).unwrap();
        let mut asm = HoloceneAssembler::new();
        let mut out = None;
        for (block, tx_frames) in frames.chunks(2).enumerate() {
            let blob = encode_blob(&encode_frames(tx_frames).unwrap()).unwrap();
            let parsed = parse_frames(&blob.decode().unwrap()).unwrap();
            let r = asm.ingest_tx(parsed, l1(block as u64), LIMITS);
            assert_eq!(r.pruned, 0);
            for ingested in r.results {
                assert_eq!(ingested.discarded, None);
                if let FrameFate::Completed(ready) = ingested.frame {
                    out = Some(ready.data);
                }
            }
        }
        let data = out.expect("the channel completes");
        assert_eq!(data, packed);
        decompress(&data, LIMITS.max_rlp_bytes_per_channel, true)
            .unwrap()
            .data
    }

    #[test]
    fn vector_channel_through_the_pipeline() {
        use crate::compression::{Compression, decompress};
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/vectors/batches/zlib_channel_span_batch.hex");
        let hex_text = std::fs::read_to_string(path).unwrap();
        let vector = alloy::primitives::hex::decode(hex_text.trim()).unwrap();
        let rlp = decompress(&vector, LIMITS.max_rlp_bytes_per_channel, true)
            .unwrap()
            .data;
        // Two frames of 60,000 bytes per transaction still fit one blob.
        let out = through_the_pipeline(&rlp, Compression::Zlib, 60_000);
        assert_eq!(out, rlp);
    }

    proptest::proptest! {
        // Each case encodes and decodes whole blobs: few cases keep the debug build quick.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
        #[test]
        fn pipeline_round_trip(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000),
            brotli in proptest::prelude::any::<bool>(),
            // At least 50 bytes a frame keeps 3000 bytes within the 50-block channel timeout.
            frame_size in 50usize..400,
        ) {
            use crate::compression::Compression;
            let compression = if brotli { Compression::Brotli { level: 5 } } else { Compression::Zlib };
            proptest::prop_assert_eq!(through_the_pipeline(&data, compression, frame_size), data);
        }
    }
}
