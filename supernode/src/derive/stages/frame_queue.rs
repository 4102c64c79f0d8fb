//! Frames of batcher data into channels, Holocene rules: one transaction's frames pruned
//! together, one open channel at a time, frames in order (specs `holocene/derivation.md`
//! "Frame Queue", "Channel Bank"). The state machine is `opfleet_protocol::channel`'s
//! [`HoloceneAssembler`]; this stage feeds it and keeps the channel timeout moving.
//!
//! ```text
//! batcher data ─parse_frames─▶ frames (all or none) ─ingest_tx─▶ ready channel? ─▶ reader
//! ```

use opfleet_protocol::BlockId;
use opfleet_protocol::batcher_data::parse_frames;
use opfleet_protocol::channel::{ChannelLimits, FrameFate, HoloceneAssembler, ReadyChannel};

/// What the stage did with one piece of batcher data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ingest {
    /// Channels completed by it.
    pub ready: Vec<ReadyChannel>,
    /// Whether the data held no valid frames (and was dropped as a whole).
    pub invalid: bool,
    /// Frames dropped by the Holocene rules or discarded with their channel.
    pub dropped_frames: usize,
    /// Open channels discarded (timeout, replacement, size).
    pub discarded_channels: usize,
}

/// The frame queue and channel assembler.
#[derive(Debug, Clone, Default)]
pub struct FrameQueue {
    assembler: HoloceneAssembler,
}

impl FrameQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the open channel (pipeline reset).
    pub fn reset(&mut self) {
        self.assembler.reset();
    }

    /// Discards the open channel if it timed out at L1 block `l1_number`; whether it did.
    pub fn check_timeout(&mut self, l1_number: u64, limits: ChannelLimits) -> bool {
        self.assembler.check_timeout(l1_number, limits).is_some()
    }

    /// Takes the data of one batcher transaction (or blob) included in L1 block `l1`.
    pub fn ingest(&mut self, data: &[u8], l1: BlockId, limits: ChannelLimits) -> Ingest {
        let Ok(frames) = parse_frames(data) else {
            return Ingest {
                invalid: true,
                ..Ingest::default()
            };
        };
        let result = self.assembler.ingest_tx(frames, l1, limits);
        let mut out = Ingest {
            dropped_frames: result.pruned,
            ..Ingest::default()
        };
        for r in result.results {
            out.discarded_channels += usize::from(r.discarded.is_some());
            match r.frame {
                FrameFate::Completed(ready) => out.ready.push(ready),
                FrameFate::Buffered => {}
                FrameFate::Dropped(_) | FrameFate::DiscardedWithChannel => {
                    out.dropped_frames += 1;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opfleet_protocol::batcher_data::encode_frames;
    use opfleet_protocol::frame::{ChannelId, Frame};

    const LIMITS: ChannelLimits = ChannelLimits {
        channel_timeout: 5,
        max_rlp_bytes_per_channel: 1_000_000,
    };

    fn frame(n: u16, last: bool) -> Frame {
        Frame {
            channel_id: ChannelId([1; 16]),
            frame_number: n,
            data: vec![n as u8; 4],
            is_last: last,
        }
    }

    fn l1(n: u64) -> BlockId {
        BlockId {
            hash: alloy::primitives::B256::with_last_byte(n as u8),
            number: n,
        }
    }

    #[test]
    fn channel_across_transactions_and_bad_data() {
        let mut q = FrameQueue::new();
        assert!(q.ingest(&[0x00, 0x01], l1(1), LIMITS).invalid);
        let a = q.ingest(&encode_frames(&[frame(0, false)]).unwrap(), l1(1), LIMITS);
        assert_eq!(a, Ingest::default());
        // Out of order: dropped.
        let b = q.ingest(&encode_frames(&[frame(2, true)]).unwrap(), l1(2), LIMITS);
        assert_eq!(b.dropped_frames, 1);
        let c = q.ingest(&encode_frames(&[frame(1, true)]).unwrap(), l1(2), LIMITS);
        assert_eq!(c.ready.len(), 1);
        assert_eq!(c.ready[0].data, [vec![0u8; 4], vec![1u8; 4]].concat());
        assert_eq!(c.ready[0].open_l1.number, 1);
    }

    #[test]
    fn timeout_discards_the_open_channel() {
        let mut q = FrameQueue::new();
        q.ingest(&encode_frames(&[frame(0, false)]).unwrap(), l1(1), LIMITS);
        assert!(!q.check_timeout(6, LIMITS));
        assert!(q.check_timeout(7, LIMITS));
        let late = q.ingest(&encode_frames(&[frame(1, true)]).unwrap(), l1(7), LIMITS);
        assert!(late.ready.is_empty());
    }
}

#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_data_never_panics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8)) {
            let mut q = FrameQueue::new();
            let limits = ChannelLimits { channel_timeout: 3, max_rlp_bytes_per_channel: 1000 };
            for (i, c) in chunks.iter().enumerate() {
                let _ = q.ingest(c, BlockId { hash: Default::default(), number: i as u64 }, limits);
            }
        }
    }
}
