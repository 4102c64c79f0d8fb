//! L1 origin selection for the next L2 block (op-node `L1OriginSelector.FindL1Origin`,
//! specs `protocol/derivation.md` "L2 chain derivation" and the sequencer drift rules).
//!
//! ```text
//!  next L1 block known (past the confirmation depth) and next.time <= L2 time ─▶ advance
//!  else L2 time <= current.time + max drift ────────────────────────────────────▶ keep
//!  else (past the drift) next known and next.time <= L2 time ───────────────────▶ advance
//!  else past the drift, next ahead of the L2 time ──▶ keep, block must carry no user txs
//!  else past the drift, no next L1 block ───────────▶ error: cannot build
//! ```
//! The origin only ever moves one L1 block at a time and is never ahead of the L2 block's
//! timestamp.

use opfleet_protocol::L1BlockRef;

/// Why no origin could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    /// The L2 block would be more than the max drift past its origin and the next L1 block is
    /// not available yet.
    #[error(
        "L2 block at {l2_time} is past the max sequencer drift ({max_drift}s) of origin {origin_number} \
         at {origin_time}, and the next L1 block is not known yet"
    )]
    DriftExceeded {
        /// The new L2 block's timestamp.
        l2_time: u64,
        /// Current origin number.
        origin_number: u64,
        /// Current origin timestamp.
        origin_time: u64,
        /// The max drift that applies.
        max_drift: u64,
    },
    /// The next L1 block does not build on the current origin: the L1 reorganised under us.
    #[error("L1 block {next_number} has parent {parent}, not the current origin {origin}")]
    NotChild {
        /// Number of the next L1 block.
        next_number: u64,
        /// Its parent hash.
        parent: alloy::primitives::B256,
        /// The current origin's hash.
        origin: alloy::primitives::B256,
    },
}

/// The origin of the next L2 block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OriginDecision {
    /// The chosen L1 origin.
    pub origin: L1BlockRef,
    /// Whether it starts a new epoch (sequence number 0, the origin's deposits included).
    pub new_epoch: bool,
    /// Whether the block is past the max sequencer drift: it must carry no user transactions.
    pub past_drift: bool,
}

/// Chooses the origin of the L2 block at `l2_time`, whose parent has origin `current`.
///
/// `next` is the L1 block after `current` if the sequencer may use it (it exists and is at
/// least the confirmation depth below the L1 head); `max_drift` is
/// `RollupConfig::max_sequencer_drift(current.timestamp)`.
pub fn select_origin(
    current: &L1BlockRef,
    next: Option<&L1BlockRef>,
    l2_time: u64,
    max_drift: u64,
) -> Result<OriginDecision, OriginError> {
    if let Some(n) = next
        && n.parent_hash != current.hash
    {
        return Err(OriginError::NotChild {
            next_number: n.number,
            parent: n.parent_hash,
            origin: current.hash,
        });
    }
    let past_drift = l2_time.saturating_sub(current.timestamp) > max_drift;
    let advance = |n: &L1BlockRef| OriginDecision {
        origin: *n,
        new_epoch: true,
        // The next origin resets the drift: it is at most l2_time.
        past_drift: false,
    };
    match next {
        Some(n) if n.timestamp <= l2_time => Ok(advance(n)),
        Some(_) | None if !past_drift => Ok(OriginDecision {
            origin: *current,
            new_epoch: false,
            past_drift: false,
        }),
        Some(_) => Ok(OriginDecision {
            origin: *current,
            new_epoch: false,
            past_drift: true,
        }),
        None => Err(OriginError::DriftExceeded {
            l2_time,
            origin_number: current.number,
            origin_time: current.timestamp,
            max_drift,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::B256;
    use proptest::prelude::*;

    fn block(number: u64, timestamp: u64) -> L1BlockRef {
        L1BlockRef {
            hash: B256::with_last_byte(number as u8),
            number,
            parent_hash: B256::with_last_byte(number.wrapping_sub(1) as u8),
            timestamp,
        }
    }

    #[test]
    fn keeps_until_the_next_block_is_not_in_the_future() {
        let (cur, next) = (block(1, 100), block(2, 112));
        let keep = select_origin(&cur, Some(&next), 110, 1800).unwrap();
        assert_eq!((keep.origin, keep.new_epoch), (cur, false));
        let adv = select_origin(&cur, Some(&next), 112, 1800).unwrap();
        assert_eq!((adv.origin, adv.new_epoch), (next, true));
    }

    #[test]
    fn past_drift_without_next_is_an_error_and_with_a_future_next_keeps_empty() {
        let cur = block(1, 100);
        assert!(matches!(
            select_origin(&cur, None, 1901, 1800),
            Err(OriginError::DriftExceeded { .. })
        ));
        assert!(!select_origin(&cur, None, 1900, 1800).unwrap().past_drift);
        let next = block(2, 2000);
        let d = select_origin(&cur, Some(&next), 1901, 1800).unwrap();
        assert_eq!((d.origin, d.past_drift), (cur, true));
    }

    #[test]
    fn next_must_be_a_child() {
        let cur = block(1, 100);
        let mut next = block(2, 102);
        next.parent_hash = B256::repeat_byte(0xee);
        assert!(matches!(
            select_origin(&cur, Some(&next), 102, 1800),
            Err(OriginError::NotChild { .. })
        ));
    }

    proptest! {
        #[test]
        fn origin_never_ahead_of_l2_time(
            cur_t in 0u64..10_000, gap in 1u64..100, dt in 0u64..4_000, has_next: bool,
        ) {
            let cur = block(5, cur_t);
            let next = block(6, cur_t + gap);
            let l2_time = cur_t + dt;
            match select_origin(&cur, has_next.then_some(&next), l2_time, 1800) {
                Ok(d) => {
                    prop_assert!(d.origin.timestamp <= l2_time);
                    prop_assert!(d.origin.number == 5 || d.origin.number == 6);
                    prop_assert_eq!(d.new_epoch, d.origin.number == 6);
                    if d.past_drift {
                        prop_assert!(l2_time > cur_t + 1800);
                    }
                }
                Err(_) => prop_assert!(!has_next && dt > 1800),
            }
        }
    }
}
