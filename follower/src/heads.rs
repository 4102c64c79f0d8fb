//! The safe and finalized heads the follower has accepted, and the rules that move them.
//!
//! ```text
//! quorum head change / follow-source status ──> AcceptedHeads::offer_* ──> Applied | Kept(why)
//!   finalized: only up (a lower or conflicting claim is refused)
//!   safe:      up; down only on a quorum rewind the tracker itself saw (not after a restart,
//!              where a fresh tracker's first head below the stored one is just catching up),
//!              and never below finalized
//! ```
//! These heads are persisted before they are served, so a restart starts from them.

use alloy::primitives::B256;
use opfleet_protocol::L2BlockRef;
use serde::{Deserialize, Serialize};

/// An accepted head: the block and, when known, its output root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedHead {
    /// The block.
    pub block: L2BlockRef,
    /// Its output root (zero when the source does not say, e.g. a follow source).
    pub output_root: B256,
}

/// The accepted safe and finalized heads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedHeads {
    /// The safe head.
    pub safe: Option<AcceptedHead>,
    /// The finalized head.
    pub finalized: Option<AcceptedHead>,
}

/// What happened to an offered head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// The head moved.
    Applied,
    /// Nothing to do: the same head.
    Unchanged,
    /// Refused, with the reason.
    Refused(Refusal),
}

/// Why an offered head was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Finalized never moves back.
    #[error("finalized would move back from #{current} to #{offered}")]
    FinalizedBackwards {
        /// Accepted finalized number.
        current: u64,
        /// Offered number.
        offered: u64,
    },
    /// A different block at the accepted finalized height.
    #[error("a different block at finalized height #{number}")]
    FinalizedConflict {
        /// The height.
        number: u64,
    },
    /// Safe below the accepted safe head without a quorum rewind (e.g. after a restart).
    #[error("safe #{offered} is not above the accepted safe #{current} and no quorum moved back")]
    SafeBehind {
        /// Accepted safe number.
        current: u64,
        /// Offered number.
        offered: u64,
    },
    /// Safe below finalized.
    #[error("safe #{offered} is below finalized #{finalized}")]
    SafeBelowFinalized {
        /// Accepted finalized number.
        finalized: u64,
        /// Offered number.
        offered: u64,
    },
}

impl AcceptedHeads {
    /// Offers a new finalized head.
    pub fn offer_finalized(&mut self, head: AcceptedHead) -> Offer {
        if let Some(cur) = self.finalized {
            if cur.block == head.block {
                return Offer::Unchanged;
            }
            if head.block.number < cur.block.number {
                return Offer::Refused(Refusal::FinalizedBackwards {
                    current: cur.block.number,
                    offered: head.block.number,
                });
            }
            if head.block.number == cur.block.number {
                return Offer::Refused(Refusal::FinalizedConflict {
                    number: cur.block.number,
                });
            }
        }
        self.finalized = Some(head);
        // Safe is never behind finalized: a finalized block is safe too.
        if self.safe.is_none_or(|s| s.block.number < head.block.number) {
            self.safe = Some(head);
        }
        Offer::Applied
    }

    /// Offers a new safe head. `rewind` says the offer is a quorum moving back that the
    /// offering tracker witnessed (its previous head was above the offer).
    pub fn offer_safe(&mut self, head: AcceptedHead, rewind: bool) -> Offer {
        if let Some(f) = self.finalized
            && head.block.number < f.block.number
        {
            return Offer::Refused(Refusal::SafeBelowFinalized {
                finalized: f.block.number,
                offered: head.block.number,
            });
        }
        if let Some(cur) = self.safe {
            if cur == head {
                return Offer::Unchanged;
            }
            // A different block at the same height is a move back of the chain too.
            if head.block.number <= cur.block.number && !rewind {
                return Offer::Refused(Refusal::SafeBehind {
                    current: cur.block.number,
                    offered: head.block.number,
                });
            }
        }
        self.safe = Some(head);
        Offer::Applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opfleet_protocol::BlockId;

    fn head(n: u64, tag: u8) -> AcceptedHead {
        AcceptedHead {
            block: L2BlockRef {
                hash: B256::repeat_byte(tag),
                number: n,
                parent_hash: B256::ZERO,
                timestamp: n * 2,
                l1_origin: BlockId::default(),
                sequence_number: 0,
            },
            output_root: B256::repeat_byte(tag ^ 0xff),
        }
    }

    #[test]
    fn finalized_only_moves_up() {
        let mut h = AcceptedHeads::default();
        assert_eq!(h.offer_finalized(head(10, 1)), Offer::Applied);
        assert_eq!(h.offer_finalized(head(10, 1)), Offer::Unchanged);
        assert_eq!(
            h.offer_finalized(head(9, 2)),
            Offer::Refused(Refusal::FinalizedBackwards {
                current: 10,
                offered: 9
            })
        );
        assert_eq!(
            h.offer_finalized(head(10, 3)),
            Offer::Refused(Refusal::FinalizedConflict { number: 10 })
        );
        assert_eq!(h.offer_finalized(head(12, 4)), Offer::Applied);
        assert_eq!(h.finalized, Some(head(12, 4)));
        // Finalized pulled safe up with it.
        assert_eq!(h.safe, Some(head(12, 4)));
    }

    #[test]
    fn safe_moves_back_only_on_a_witnessed_rewind_and_never_below_finalized() {
        let mut h = AcceptedHeads::default();
        assert_eq!(h.offer_finalized(head(5, 1)), Offer::Applied);
        assert_eq!(h.offer_safe(head(20, 2), false), Offer::Applied);
        assert!(matches!(
            h.offer_safe(head(18, 3), false),
            Offer::Refused(Refusal::SafeBehind { .. })
        ));
        assert_eq!(h.offer_safe(head(18, 3), true), Offer::Applied);
        assert!(matches!(
            h.offer_safe(head(4, 4), true),
            Offer::Refused(Refusal::SafeBelowFinalized { .. })
        ));
        assert_eq!(h.safe, Some(head(18, 3)));
    }

    #[test]
    fn a_higher_safe_is_taken_and_a_same_height_reorg_needs_a_rewind() {
        let mut h = AcceptedHeads::default();
        assert_eq!(h.offer_safe(head(7, 1), false), Offer::Applied);
        assert_eq!(h.offer_safe(head(8, 2), false), Offer::Applied);
        assert!(matches!(
            h.offer_safe(head(8, 3), false),
            Offer::Refused(Refusal::SafeBehind { .. })
        ));
        // A different block at the same height is a move back of the chain; it is taken
        // when the tracker says a quorum moved (rewind=true from the caller).
        assert_eq!(h.offer_safe(head(8, 3), true), Offer::Applied);
        assert_eq!(h.safe.unwrap().block.hash, B256::repeat_byte(3));
    }
}
