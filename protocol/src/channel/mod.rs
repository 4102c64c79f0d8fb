//! Channels: frames collected by number until the closing frame, then read as one byte string.
//!
//! ```text
//! frames  #0 ──── #1 ──── #2 (is_last)      collected in any order, duplicates ignored
//! data    data#0 ++ data#1 ++ data#2        ready once closed and contiguous from #0
//! ```
//! The size used for resource limits counts each frame's data plus [`CHANNEL_FRAME_OVERHEAD`]
//! (OP specs, `derivation.md` "Channel Bank"/"Pruning").

pub mod assembler;
pub mod frame_queue;

pub use assembler::{ChannelLimits, DiscardReason, DiscardedChannel, FrameDropReason, FrameFate};
pub use assembler::{HoloceneAssembler, Ingested, ReadyChannel, TxIngested};
pub use frame_queue::prune_tx_frames;

use crate::block::BlockId;
use crate::frame::{ChannelId, Frame};
use std::collections::BTreeMap;

/// Per-frame overhead added to frame data when measuring a channel's size.
pub const CHANNEL_FRAME_OVERHEAD: usize = 200;

/// Why a frame was not added to a channel.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// The frame names another channel.
    #[error("frame of channel {frame} offered to channel {channel}")]
    WrongChannel {
        /// This channel.
        channel: ChannelId,
        /// The frame's channel.
        frame: ChannelId,
    },
    /// A second closing frame.
    #[error("channel {channel} is already closed at frame {end}")]
    AlreadyClosed {
        /// This channel.
        channel: ChannelId,
        /// Number of the closing frame.
        end: u16,
    },
    /// A frame number already present.
    #[error("channel {channel} already has frame {number}")]
    Duplicate {
        /// This channel.
        channel: ChannelId,
        /// The repeated number.
        number: u16,
    },
    /// A frame past the closing frame.
    #[error("frame {number} is past the closing frame {end} of channel {channel}")]
    PastEnd {
        /// This channel.
        channel: ChannelId,
        /// The frame's number.
        number: u16,
        /// Number of the closing frame.
        end: u16,
    },
    /// Holocene: frames must come in order.
    #[error("channel {channel} expects frame {expected}, got {got}")]
    OutOfOrder {
        /// This channel.
        channel: ChannelId,
        /// The next number the channel accepts.
        expected: usize,
        /// The frame's number.
        got: u16,
    },
}

/// A channel being assembled from its frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    id: ChannelId,
    open_l1: BlockId,
    last_l1: BlockId,
    in_order: bool,
    end: Option<u16>,
    frames: BTreeMap<u16, Frame>,
    size: usize,
}

impl Channel {
    /// An empty channel opened at L1 block `open_l1`; `in_order` demands frames 0, 1, 2... (Holocene).
    pub fn new(id: ChannelId, open_l1: BlockId, in_order: bool) -> Self {
        Self {
            id,
            open_l1,
            last_l1: open_l1,
            in_order,
            end: None,
            frames: BTreeMap::new(),
            size: 0,
        }
    }

    /// The channel's id.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    /// L1 block in which the channel's first seen frame was included.
    pub fn open_l1(&self) -> BlockId {
        self.open_l1
    }

    /// L1 block in which the latest accepted frame was included.
    pub fn last_l1(&self) -> BlockId {
        self.last_l1
    }

    /// Number of frames held.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// Size for limits: frame data plus [`CHANNEL_FRAME_OVERHEAD`] per frame.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether the closing frame has been seen.
    pub fn is_closed(&self) -> bool {
        self.end.is_some()
    }

    /// Whether the channel is timed out at L1 block `current_l1_number`.
    pub fn is_timed_out(&self, current_l1_number: u64, channel_timeout: u64) -> bool {
        current_l1_number > self.open_l1.number.saturating_add(channel_timeout)
    }

    /// Adds a frame included in L1 block `l1`; a rejected frame leaves the channel unchanged.
    pub fn add_frame(&mut self, frame: Frame, l1: BlockId) -> Result<(), ChannelError> {
        let channel = self.id;
        if frame.channel_id != channel {
            return Err(ChannelError::WrongChannel {
                channel,
                frame: frame.channel_id,
            });
        }
        if let Some(end) = self.end
            && frame.is_last
        {
            return Err(ChannelError::AlreadyClosed { channel, end });
        }
        if self.frames.contains_key(&frame.frame_number) {
            return Err(ChannelError::Duplicate {
                channel,
                number: frame.frame_number,
            });
        }
        if let Some(end) = self.end
            && frame.frame_number >= end
        {
            return Err(ChannelError::PastEnd {
                channel,
                number: frame.frame_number,
                end,
            });
        }
        if self.in_order && usize::from(frame.frame_number) != self.frames.len() {
            return Err(ChannelError::OutOfOrder {
                channel,
                expected: self.frames.len(),
                got: frame.frame_number,
            });
        }
        if frame.is_last {
            let end = frame.frame_number;
            self.end = Some(end);
            // Frames beyond the closing one can never be read: free them now.
            let beyond = self.frames.split_off(&end);
            self.size -= beyond.values().map(frame_size).sum::<usize>();
        }
        self.size += frame_size(&frame);
        self.last_l1 = l1;
        self.frames.insert(frame.frame_number, frame);
        Ok(())
    }

    /// Closed, and holding every frame from 0 to the closing one.
    pub fn is_ready(&self) -> bool {
        self.end
            .is_some_and(|end| self.frames.len() == usize::from(end) + 1)
    }

    /// The channel's bytes (still compressed), once it is ready.
    pub fn data(&self) -> Option<Vec<u8>> {
        if !self.is_ready() {
            return None;
        }
        let len = self.frames.values().map(|f| f.data.len()).sum();
        let mut out = Vec::with_capacity(len);
        for frame in self.frames.values() {
            out.extend_from_slice(&frame.data);
        }
        Some(out)
    }
}

fn frame_size(frame: &Frame) -> usize {
    frame.data.len() + CHANNEL_FRAME_OVERHEAD
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: ChannelId = ChannelId([3; 16]);

    fn frame(n: u16, data: &[u8], last: bool) -> Frame {
        Frame {
            channel_id: ID,
            frame_number: n,
            data: data.to_vec(),
            is_last: last,
        }
    }

    fn l1(n: u64) -> BlockId {
        BlockId {
            hash: Default::default(),
            number: n,
        }
    }

    #[test]
    fn out_of_order_allowed_when_not_in_order() {
        let mut ch = Channel::new(ID, l1(1), false);
        ch.add_frame(frame(2, b"c", true), l1(1)).unwrap();
        assert!(ch.is_closed() && !ch.is_ready());
        ch.add_frame(frame(0, b"a", false), l1(2)).unwrap();
        assert_eq!(ch.data(), None);
        ch.add_frame(frame(1, b"b", false), l1(3)).unwrap();
        assert_eq!(ch.data().unwrap(), b"abc");
        assert_eq!(ch.size(), 3 + 3 * CHANNEL_FRAME_OVERHEAD);
        assert_eq!(ch.last_l1(), l1(3));
    }

    #[test]
    fn rejections() {
        let mut ch = Channel::new(ID, l1(1), false);
        ch.add_frame(frame(0, b"a", false), l1(1)).unwrap();
        ch.add_frame(frame(5, b"f", false), l1(1)).unwrap();
        assert!(matches!(
            ch.add_frame(frame(0, b"x", false), l1(1)),
            Err(ChannelError::Duplicate { number: 0, .. })
        ));
        let mut other = frame(1, b"x", false);
        other.channel_id = ChannelId([4; 16]);
        assert!(matches!(
            ch.add_frame(other, l1(1)),
            Err(ChannelError::WrongChannel { .. })
        ));
        // Closing at 2 drops frame 5 and its size.
        ch.add_frame(frame(2, b"c", true), l1(1)).unwrap();
        assert_eq!(ch.frame_count(), 2);
        assert_eq!(ch.size(), 2 + 2 * CHANNEL_FRAME_OVERHEAD);
        assert!(matches!(
            ch.add_frame(frame(3, b"d", false), l1(1)),
            Err(ChannelError::PastEnd {
                number: 3,
                end: 2,
                ..
            })
        ));
        assert!(matches!(
            ch.add_frame(frame(1, b"d", true), l1(1)),
            Err(ChannelError::AlreadyClosed { end: 2, .. })
        ));
        ch.add_frame(frame(1, b"b", false), l1(1)).unwrap();
        assert_eq!(ch.data().unwrap(), b"abc");
    }

    #[test]
    fn in_order_rejects_gaps() {
        let mut ch = Channel::new(ID, l1(1), true);
        assert!(matches!(
            ch.add_frame(frame(1, b"b", false), l1(1)),
            Err(ChannelError::OutOfOrder {
                expected: 0,
                got: 1,
                ..
            })
        ));
        ch.add_frame(frame(0, b"a", false), l1(1)).unwrap();
        ch.add_frame(frame(1, b"b", true), l1(1)).unwrap();
        assert_eq!(ch.data().unwrap(), b"ab");
    }

    #[test]
    fn timeout_is_strictly_greater() {
        let ch = Channel::new(ID, l1(100), true);
        assert!(!ch.is_timed_out(150, 50));
        assert!(ch.is_timed_out(151, 50));
    }

    proptest! {
        #[test]
        fn any_arrival_order_reassembles(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..12),
            seed in any::<u64>(),
        ) {
            let n = chunks.len();
            let mut order: Vec<usize> = (0..n).collect();
            // Deterministic shuffle from the seed.
            let mut s = seed;
            for i in (1..n).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                order.swap(i, (s >> 33) as usize % (i + 1));
            }
            let mut ch = Channel::new(ID, l1(0), false);
            for &i in &order {
                ch.add_frame(frame(i as u16, &chunks[i], i + 1 == n), l1(0)).unwrap();
                // Duplicates change nothing.
                prop_assert!(ch.add_frame(frame(i as u16, b"dup", i + 1 == n), l1(0)).is_err());
            }
            prop_assert_eq!(ch.data().unwrap(), chunks.concat());
            prop_assert_eq!(ch.size(), chunks.iter().map(|c| c.len() + CHANNEL_FRAME_OVERHEAD).sum::<usize>());
        }
    }
}
