//! Holocene frame-queue pruning of the frames of one batcher transaction.
//!
//! Looking at each pair of neighbouring frames `(current, next)`:
//! ```text
//! same channel, current is_last            -> drop next   (nothing follows a closing frame)
//! same channel, next != current + 1        -> drop next   (frames arrive in order)
//! other channel, next is #0, current open  -> drop current, look back again (unclosed channel)
//! other channel, next is not #0            -> drop next   (a channel starts with frame 0)
//! ```
//! op-node buffers one transaction's frames at a time and prunes them with these rules before the
//! channel assembler sees them (OP specs, `holocene/derivation.md`; op-node `frame_queue.go`).

use crate::frame::Frame;

/// Applies the Holocene pruning rules to the frames of one transaction.
pub fn prune_tx_frames(mut frames: Vec<Frame>) -> Vec<Frame> {
    let mut i = 0;
    while i + 1 < frames.len() {
        let (current, next) = (&frames[i], &frames[i + 1]);
        if current.channel_id == next.channel_id {
            // op-node compares in u16 arithmetic: 65535 is followed by 0. Kept for equivalence;
            // the assembler still refuses frame 0 of a channel holding 65536 frames.
            if current.is_last || next.frame_number != current.frame_number.wrapping_add(1) {
                frames.remove(i + 1);
                continue;
            }
        } else if next.frame_number == 0 && !current.is_last {
            frames.remove(i);
            // The frame before may belong to the same unclosed channel: check it again.
            i = i.saturating_sub(1);
            continue;
        } else if next.frame_number != 0 {
            frames.remove(i + 1);
            continue;
        }
        i += 1;
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::ChannelId;
    use proptest::prelude::*;

    fn f(ch: u8, n: u16, last: bool) -> Frame {
        Frame {
            channel_id: ChannelId([ch; 16]),
            frame_number: n,
            data: vec![],
            is_last: last,
        }
    }

    #[test]
    fn rules() {
        // Frame after the closing frame, and a restart of the same id inside one transaction.
        let got = prune_tx_frames(vec![
            f(1, 0, false),
            f(1, 1, true),
            f(1, 2, false),
            f(1, 0, true),
        ]);
        assert_eq!(got, vec![f(1, 0, false), f(1, 1, true)]);
        // Gap.
        let got = prune_tx_frames(vec![f(1, 0, false), f(1, 2, true)]);
        assert_eq!(got, vec![f(1, 0, false)]);
        // Unclosed channel followed by a new channel: all of it goes.
        let got = prune_tx_frames(vec![f(1, 3, false), f(1, 4, false), f(2, 0, true)]);
        assert_eq!(got, vec![f(2, 0, true)]);
        // A new channel must start at frame 0.
        let got = prune_tx_frames(vec![f(1, 0, true), f(2, 1, true), f(3, 0, true)]);
        assert_eq!(got, vec![f(1, 0, true), f(3, 0, true)]);
        // u16 wrap-around, as op-node computes it.
        let got = prune_tx_frames(vec![f(1, 65535, false), f(1, 0, false)]);
        assert_eq!(got.len(), 2);
        // The first frame is left to the assembler.
        let got = prune_tx_frames(vec![f(1, 5, false), f(1, 6, true)]);
        assert_eq!(got, vec![f(1, 5, false), f(1, 6, true)]);
    }

    proptest! {
        #[test]
        fn output_is_ordered(frames in proptest::collection::vec((0u8..3, 0u16..4, any::<bool>()), 0..12)) {
            let frames: Vec<Frame> = frames.into_iter().map(|(c, n, l)| f(c, n, l)).collect();
            let out = prune_tx_frames(frames);
            for pair in out.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                if a.channel_id == b.channel_id {
                    prop_assert!(!a.is_last && b.frame_number == a.frame_number + 1);
                } else {
                    prop_assert!(a.is_last && b.frame_number == 0);
                }
            }
        }
    }
}
