//! The engine driver's decisions, pure: from what the execution client has, what the quorum
//! (or follow source) accepted and which unsafe payloads are queued, the next Engine API step.
//!
//! ```text
//!   accepted safe S ──┐
//!   EL head/safe/fin ─┼─> next_step ─> Reorg{S}            EL has another block at S.number
//!   EL hash at S.num ─┤               Insert(payload)      queued payload extends the EL head
//!   queue (lowest) ───┘               Fetch(n)             gap: EL head + 1 is missing
//!                                     Discard(payload)     queued payload on another fork
//!                                     Forkchoice{h,s,f}    labels differ from the targets
//!                                     Idle
//! ```
//! Priority: the attested chain first (a reorg beats any unsafe progress), then unsafe
//! progress, then labels. The runner executes one step, refreshes the inputs and asks again.

use alloy::primitives::B256;
use opfleet_protocol::{BlockId, L2BlockRef};

/// What the driver needs to know about a queued payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadInfo {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Parent hash.
    pub parent_hash: B256,
}

/// The execution client's view, refreshed before every decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElView {
    /// Its canonical head.
    pub head: L2BlockRef,
    /// Its safe label.
    pub safe: BlockId,
    /// Its finalized label.
    pub finalized: BlockId,
    /// Its canonical block hash at the accepted safe head's number (`None`: above its head).
    pub at_safe: Option<B256>,
    /// Its canonical block hash at the accepted finalized head's number.
    pub at_finalized: Option<B256>,
}

/// The heads to drive the execution client to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Targets {
    /// Accepted safe head.
    pub safe: Option<L2BlockRef>,
    /// Accepted finalized head.
    pub finalized: Option<L2BlockRef>,
    /// A height to sync up to without labelling it (a head awaiting its output-root check).
    pub sync_to: Option<u64>,
}

/// The forkchoice to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forkchoice {
    /// Head block hash.
    pub head: B256,
    /// Safe block hash.
    pub safe: B256,
    /// Finalized block hash.
    pub finalized: B256,
}

/// The next thing to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The execution client's canonical block at the accepted safe height is another block:
    /// make the attested block canonical (fetch it and its missing ancestors, insert, update
    /// the forkchoice).
    Reorg {
        /// The attested block.
        target: L2BlockRef,
    },
    /// Insert the queued payload (it extends the execution client's head), then move the head.
    Insert(PayloadInfo),
    /// The queued payload at the next height does not extend the head (another fork of the
    /// unsafe chain): drop it; the attested chain settles which fork stays.
    Discard(PayloadInfo),
    /// Payload `number` is needed and not queued: fetch it (P2P first, then the source).
    Fetch {
        /// The missing block number.
        number: u64,
    },
    /// Only the labels (or head) differ.
    Forkchoice(Forkchoice),
    /// Everything is where it should be.
    Idle,
}

/// Decides the next step. `queue_lowest` is the lowest queued payload above the EL head.
pub fn next_step(el: &ElView, targets: &Targets, queue_lowest: Option<PayloadInfo>) -> Step {
    // 1. The attested chain wins: another block at the safe height is reorged away.
    if let Some(s) = targets.safe
        && s.number <= el.head.number
        && el.at_safe != Some(s.hash)
    {
        return Step::Reorg { target: s };
    }
    // 2. Unsafe progress (and catching up to an attested head above the EL head).
    let next = el.head.number + 1;
    match queue_lowest {
        Some(p) if p.number == next && p.parent_hash == el.head.hash => return Step::Insert(p),
        Some(p) if p.number > next => return Step::Fetch { number: next },
        Some(p) if p.number == next => return Step::Discard(p),
        Some(_) => {}
        None => {
            let wanted = targets.safe.map(|s| s.number).max(targets.sync_to);
            if wanted.is_some_and(|n| n > el.head.number) {
                return Step::Fetch { number: next };
            }
        }
    }
    // 3. Labels: only canonical blocks can be labelled; otherwise keep the EL's own.
    let safe = match targets.safe {
        Some(s) if el.at_safe == Some(s.hash) => s.hash,
        _ => el.safe.hash,
    };
    let finalized = match targets.finalized {
        Some(f) if el.at_finalized == Some(f.hash) => f.hash,
        _ => el.finalized.hash,
    };
    if safe != el.safe.hash || finalized != el.finalized.hash {
        return Step::Forkchoice(Forkchoice {
            head: el.head.hash,
            safe,
            finalized,
        });
    }
    Step::Idle
}

/// The forkchoice after inserting `inserted` as the new head: keep the labels the EL has,
/// except that a label may not point above the head.
pub fn forkchoice_after_insert(el: &ElView, inserted: &PayloadInfo) -> Forkchoice {
    Forkchoice {
        head: inserted.hash,
        safe: el.safe.hash,
        finalized: el.finalized.hash,
    }
}

/// The forkchoice that makes the attested `target` the head, safe at it and finalized kept
/// (the accepted finalized head is never above the accepted safe head).
pub fn forkchoice_for_reorg(el: &ElView, targets: &Targets, target: &L2BlockRef) -> Forkchoice {
    let finalized = match targets.finalized {
        Some(f) if f.number <= target.number && el.at_finalized == Some(f.hash) => f.hash,
        _ => el.finalized.hash,
    };
    Forkchoice {
        head: target.hash,
        safe: target.hash,
        finalized,
    }
}

/// Which payloads of a reorg to insert: walking down from the target, the fetched payloads
/// until one whose parent is the execution client's canonical block. Returns how many of
/// `fetched` (ordered target first, descending) reach a known ancestor, or `None` if none
/// does yet (fetch deeper).
pub fn reorg_connects(
    fetched: &[PayloadInfo],
    canonical_parent: impl Fn(u64) -> Option<B256>,
) -> Option<usize> {
    fetched
        .iter()
        .position(|p| p.number > 0 && canonical_parent(p.number - 1) == Some(p.parent_hash))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u64, fork: u8) -> B256 {
        let mut b = [fork; 32];
        b[..8].copy_from_slice(&n.to_be_bytes());
        B256::from(b)
    }

    fn block(n: u64, fork: u8) -> L2BlockRef {
        L2BlockRef {
            hash: h(n, fork),
            number: n,
            parent_hash: if n == 0 { B256::ZERO } else { h(n - 1, fork) },
            timestamp: n * 2,
            l1_origin: BlockId::default(),
            sequence_number: 0,
        }
    }

    fn info(n: u64, fork: u8) -> PayloadInfo {
        let b = block(n, fork);
        PayloadInfo {
            number: n,
            hash: b.hash,
            parent_hash: b.parent_hash,
        }
    }

    fn el(head: u64, safe: u64, fin: u64, targets: &Targets) -> ElView {
        let at = |t: Option<L2BlockRef>| t.filter(|t| t.number <= head).map(|t| h(t.number, 0));
        ElView {
            head: block(head, 0),
            safe: block(safe, 0).id(),
            finalized: block(fin, 0).id(),
            at_safe: at(targets.safe),
            at_finalized: at(targets.finalized),
        }
    }

    #[test]
    fn a_queued_payload_on_the_head_is_inserted() {
        let t = Targets::default();
        let v = el(5, 0, 0, &t);
        assert_eq!(
            next_step(&v, &t, Some(info(6, 0))),
            Step::Insert(info(6, 0))
        );
        assert_eq!(next_step(&v, &t, None), Step::Idle);
    }

    #[test]
    fn a_gap_is_fetched_and_a_stale_fork_payload_is_not_inserted() {
        let t = Targets::default();
        let v = el(5, 0, 0, &t);
        assert_eq!(
            next_step(&v, &t, Some(info(9, 0))),
            Step::Fetch { number: 6 }
        );
        // Payload 6 of another fork does not extend the head: dropped, not inserted.
        assert_eq!(
            next_step(&v, &t, Some(info(6, 1))),
            Step::Discard(info(6, 1))
        );
    }

    #[test]
    fn labels_follow_the_accepted_heads_when_canonical() {
        let t = Targets {
            safe: Some(block(4, 0)),
            finalized: Some(block(2, 0)),
            ..Targets::default()
        };
        let v = el(5, 1, 0, &t);
        assert_eq!(
            next_step(&v, &t, None),
            Step::Forkchoice(Forkchoice {
                head: h(5, 0),
                safe: h(4, 0),
                finalized: h(2, 0)
            })
        );
        let done = ElView {
            safe: block(4, 0).id(),
            finalized: block(2, 0).id(),
            ..v
        };
        assert_eq!(next_step(&done, &t, None), Step::Idle);
    }

    #[test]
    fn an_attested_head_above_the_el_is_fetched_block_by_block() {
        let t = Targets {
            safe: Some(block(9, 0)),
            ..Targets::default()
        };
        let v = el(5, 0, 0, &t);
        assert_eq!(v.at_safe, None);
        assert_eq!(next_step(&v, &t, None), Step::Fetch { number: 6 });
        assert_eq!(
            next_step(&v, &t, Some(info(6, 0))),
            Step::Insert(info(6, 0))
        );
        // A head awaiting verification is synced to without being labelled.
        let hint = Targets {
            sync_to: Some(7),
            ..Targets::default()
        };
        assert_eq!(next_step(&v, &hint, None), Step::Fetch { number: 6 });
    }

    #[test]
    fn another_block_at_the_attested_height_is_reorged_to_the_attested_one() {
        let attested = block(4, 7);
        let t = Targets {
            safe: Some(attested),
            finalized: Some(block(2, 0)),
            ..Targets::default()
        };
        // The EL has fork 0 at height 4; the attestation names fork 7.
        let v = el(6, 2, 2, &t);
        assert_eq!(v.at_safe, Some(h(4, 0)));
        // The reorg wins over unsafe progress.
        assert_eq!(
            next_step(&v, &t, Some(info(7, 0))),
            Step::Reorg { target: attested }
        );
        assert_eq!(
            forkchoice_for_reorg(&v, &t, &attested),
            Forkchoice {
                head: attested.hash,
                safe: attested.hash,
                finalized: h(2, 0)
            }
        );
    }

    #[test]
    fn a_reorg_connects_where_a_fetched_parent_is_canonical() {
        // EL canonical fork 0 up to 6; attested fork 7 diverged after block 2.
        let canonical = |n: u64| (n <= 6).then(|| h(n, 0));
        let fetched = vec![
            PayloadInfo {
                number: 4,
                hash: h(4, 7),
                parent_hash: h(3, 7),
            },
            PayloadInfo {
                number: 3,
                hash: h(3, 7),
                parent_hash: h(2, 0),
            },
        ];
        assert_eq!(reorg_connects(&fetched, canonical), Some(2));
        assert_eq!(reorg_connects(&fetched[..1], canonical), None);
    }

    #[test]
    fn insert_keeps_the_labels() {
        let t = Targets::default();
        let v = el(5, 3, 1, &t);
        assert_eq!(
            forkchoice_after_insert(&v, &info(6, 0)),
            Forkchoice {
                head: h(6, 0),
                safe: h(3, 0),
                finalized: h(1, 0)
            }
        );
    }
}
