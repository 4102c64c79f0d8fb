//! Which heads from derivation the node adopts (serves, stores, signs): finalized never moves
//! back, and after a restart the safe head is held at the stored one until derivation has
//! caught up with it.
//!
//! ```text
//!   live heads ──▶ finalized below served? ── yes ─▶ hold (never regress finalized)
//!                  same finalized number, other hash? ─▶ hold (conflict, needs an operator)
//!                  still warming up and safe below served? ─▶ hold (restart catch-up)
//!                  otherwise ─▶ adopt (and from then on a lower safe is a genuine rewind)
//! ```

use alloy::primitives::B256;

use crate::heads::ChainHeads;

/// Why live heads were not adopted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HoldReason {
    /// Derivation reports a finalized head below one already served.
    #[error("live finalized_l2 #{live} is below the served finalized_l2 #{served}")]
    FinalizedBehind {
        /// Live `finalized_l2.number`.
        live: u64,
        /// Served `finalized_l2.number`.
        served: u64,
    },
    /// Derivation reports another block as finalized at a height already served as finalized.
    #[error("live finalized_l2 #{number} is {live}, but {served} was served as finalized")]
    FinalizedConflict {
        /// The height.
        number: u64,
        /// Live hash.
        live: B256,
        /// Served hash.
        served: B256,
    },
    /// After a restart, derivation has not yet reached the safe head served before it.
    #[error(
        "catching up after restart: live safe_l2 #{live} is below the served safe_l2 #{served}"
    )]
    CatchingUp {
        /// Live `safe_l2.number`.
        live: u64,
        /// Served `safe_l2.number`.
        served: u64,
    },
}

/// The adoption rule for one chain.
#[derive(Clone, Debug)]
pub struct Gate {
    served: Option<ChainHeads>,
    caught_up: bool,
}

impl Gate {
    /// A gate starting from the heads served before a restart (`None` on a fresh data dir).
    pub const fn restored(served: Option<ChainHeads>) -> Self {
        Self {
            caught_up: served.is_none(),
            served,
        }
    }

    /// The heads served now.
    pub const fn served(&self) -> Option<&ChainHeads> {
        self.served.as_ref()
    }

    /// Whether derivation has reached the restored safe head since start.
    pub const fn caught_up(&self) -> bool {
        self.caught_up
    }

    /// Adopts `live` (returning the previously served heads) or says why not.
    pub fn admit(&mut self, live: ChainHeads) -> Result<Option<ChainHeads>, HoldReason> {
        if let Some(served) = &self.served {
            let (lf, sf) = (&live.status.finalized_l2, &served.status.finalized_l2);
            if lf.number < sf.number {
                return Err(HoldReason::FinalizedBehind {
                    live: lf.number,
                    served: sf.number,
                });
            }
            if lf.number == sf.number && lf.hash != sf.hash {
                return Err(HoldReason::FinalizedConflict {
                    number: lf.number,
                    live: lf.hash,
                    served: sf.hash,
                });
            }
            let (ls, ss) = (live.status.safe_l2.number, served.status.safe_l2.number);
            if !self.caught_up && ls < ss {
                return Err(HoldReason::CatchingUp {
                    live: ls,
                    served: ss,
                });
            }
        }
        self.caught_up = true;
        Ok(self.served.replace(live))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use opfleet_protocol::{ChainId, L2BlockRef};

    pub(crate) fn tagged(tag: u8, n: u64) -> B256 {
        let mut h = B256::repeat_byte(tag);
        h.0[31] = n as u8;
        h
    }

    pub(crate) fn block(n: u64, tag: u8) -> L2BlockRef {
        L2BlockRef {
            hash: tagged(tag, n),
            number: n,
            timestamp: 1000 + 2 * n,
            ..Default::default()
        }
    }

    pub(crate) fn heads(safe: u64, finalized: u64) -> ChainHeads {
        let mut h = ChainHeads {
            chain_id: ChainId(10),
            ..Default::default()
        };
        h.status.unsafe_l2 = block(safe + 5, 0xaa);
        h.status.safe_l2 = block(safe, 0xaa);
        h.status.local_safe_l2 = block(safe, 0xaa);
        h.status.finalized_l2 = block(finalized, 0xaa);
        h.safe_derived_from.number = safe / 2;
        h.finalized_derived_from.number = finalized / 2;
        h
    }

    #[test]
    fn fresh_gate_adopts_and_allows_rewinds() {
        let mut g = Gate::restored(None);
        assert!(g.caught_up());
        assert_eq!(g.admit(heads(10, 4)), Ok(None));
        assert_eq!(g.admit(heads(8, 4)).unwrap(), Some(heads(10, 4)));
        assert_eq!(g.served(), Some(&heads(8, 4)));
    }

    #[test]
    fn finalized_never_moves_back_or_changes() {
        let mut g = Gate::restored(None);
        g.admit(heads(10, 6)).unwrap();
        assert_eq!(
            g.admit(heads(12, 5)),
            Err(HoldReason::FinalizedBehind { live: 5, served: 6 })
        );
        let mut other = heads(12, 6);
        other.status.finalized_l2.hash = B256::repeat_byte(1);
        assert!(matches!(
            g.admit(other),
            Err(HoldReason::FinalizedConflict { number: 6, .. })
        ));
        assert_eq!(g.served(), Some(&heads(10, 6)));
    }

    #[test]
    fn restart_holds_until_safe_catches_up() {
        let mut g = Gate::restored(Some(heads(20, 10)));
        assert!(!g.caught_up());
        assert_eq!(
            g.admit(heads(15, 10)),
            Err(HoldReason::CatchingUp {
                live: 15,
                served: 20
            })
        );
        assert_eq!(g.served(), Some(&heads(20, 10)));
        g.admit(heads(20, 10)).unwrap();
        assert!(g.caught_up());
        // Now a lower safe is a genuine rewind.
        g.admit(heads(18, 10)).unwrap();
        assert_eq!(g.served(), Some(&heads(18, 10)));
    }
}
