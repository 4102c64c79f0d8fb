//! The engine driver's decisions, pure: from what the execution client has, what the quorum
//! (or follow source) accepted and which unsafe payloads are queued, the next Engine API step.
//!
//! ```text
//!   accepted safe S ──┐
//!   pending head P ───┤
//!   EL head/safe/fin ─┼─> next_step ─> ReorgToPending{P}   EL has another block at P.number
//!   EL hash at S, P ──┤               Reorg{S}            EL has another block at S.number
//!   queue (lowest) ───┤               Insert(payload)      queued payload extends the EL head
//!                     ┘               Fetch(n)             gap: EL head + 1 is missing
//!                                     Discard(payload)     queued payload on another fork
//!                                     Forkchoice{h,s,f}    labels differ from the targets
//!                                     Idle
//! ```
//! Priority: the attested chain first (a reorg beats any unsafe progress), then unsafe
//! progress, then labels. The runner executes one step, refreshes the inputs and asks again.
//!
//! A pending head P is one a quorum attested whose output root is not checked yet
//! (`--verify.output-root`): the check needs the block in the execution client, so the EL is
//! reorged to P without labelling it; while P (newer than S) is canonical, S does not pull the
//! EL back. Once checked, P becomes S (or is refused and dropped).

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
    /// Its canonical block hash at the pending head's number.
    pub at_pending: Option<B256>,
}

/// The heads to drive the execution client to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Targets {
    /// Accepted safe head.
    pub safe: Option<L2BlockRef>,
    /// Accepted finalized head.
    pub finalized: Option<L2BlockRef>,
    /// An attested head awaiting its output-root check: synced (or reorged) to, not labelled.
    pub pending: Option<L2BlockRef>,
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
    /// The execution client's canonical block at a pending (not yet verified) attested head's
    /// height is another block: make the pending block canonical without labelling it safe, so
    /// its output root can be checked.
    ReorgToPending {
        /// The attested block awaiting its check.
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
    // 1. The attested chain wins: another block at the attested height is reorged away. A
    //    pending head newer than the safe one goes first; while it is canonical, the older
    //    safe head waits for its check instead of pulling the EL back.
    let pending = targets
        .pending
        .filter(|p| p.number <= el.head.number)
        .filter(|p| targets.safe.is_none_or(|s| p.number > s.number));
    if let Some(p) = pending {
        if el.at_pending != Some(p.hash) {
            return Step::ReorgToPending { target: p };
        }
    } else if let Some(s) = targets.safe
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
            let wanted = targets
                .safe
                .map(|s| s.number)
                .max(targets.pending.map(|p| p.number));
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

/// The forkchoice that makes a pending (unverified) `target` the head without labelling it:
/// the EL's safe label stays if it is at or below `fork_parent` (the canonical block the
/// target's chain leaves from), else it moves down to `fork_parent`; finalized stays (a reorg
/// never goes below it).
pub fn forkchoice_for_pending(
    el: &ElView,
    target: &L2BlockRef,
    fork_parent: BlockId,
) -> Forkchoice {
    let safe = if el.safe.number <= fork_parent.number {
        el.safe.hash
    } else {
        fork_parent.hash
    };
    Forkchoice {
        head: target.hash,
        safe,
        finalized: el.finalized.hash,
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
            at_pending: at(targets.pending),
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
            pending: Some(block(7, 0)),
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
    fn a_pending_head_on_another_fork_is_reorged_to_without_a_label() {
        // The EL has fork 0 up to 8, safe label 5; a quorum attests block 6 of fork 7 whose
        // output root is still unchecked; the accepted safe head is 3.
        let pending = block(6, 7);
        let t = Targets {
            safe: Some(block(3, 0)),
            pending: Some(pending),
            ..Targets::default()
        };
        let v = el(8, 5, 2, &t);
        assert_eq!(v.at_pending, Some(h(6, 0)));
        assert_eq!(
            next_step(&v, &t, Some(info(9, 0))),
            Step::ReorgToPending { target: pending }
        );
        // It left fork 0 after block 4: the safe label (5) moves down to the fork point.
        let fork_parent = block(4, 0).id();
        assert_eq!(
            forkchoice_for_pending(&v, &pending, fork_parent),
            Forkchoice {
                head: pending.hash,
                safe: h(4, 0),
                finalized: h(2, 0)
            }
        );
        // A safe label below the fork point stays.
        let low = el(8, 3, 2, &t);
        assert_eq!(
            forkchoice_for_pending(&low, &pending, fork_parent).safe,
            h(3, 0)
        );
        // Once canonical, nothing else to do for it.
        let done = ElView {
            at_pending: Some(pending.hash),
            ..v
        };
        assert_ne!(
            next_step(&done, &t, None),
            Step::ReorgToPending { target: pending }
        );
    }

    #[test]
    fn a_canonical_pending_head_keeps_an_older_conflicting_safe_head_from_pulling_back() {
        // Accepted safe 4 is on fork 0; the pending head 6 on fork 7 (left after 2) is canonical.
        let pending = block(6, 7);
        let t = Targets {
            safe: Some(block(4, 0)),
            pending: Some(pending),
            ..Targets::default()
        };
        let v = ElView {
            head: pending,
            safe: block(2, 0).id(),
            finalized: block(1, 0).id(),
            at_safe: Some(h(4, 7)),
            at_finalized: None,
            at_pending: Some(pending.hash),
        };
        assert_eq!(next_step(&v, &t, None), Step::Idle);
        // Without the pending head (refused), the safe head reorgs the EL back.
        let refused = Targets { pending: None, ..t };
        assert_eq!(
            next_step(&v, &refused, None),
            Step::Reorg {
                target: block(4, 0)
            }
        );
        // A pending head at or below the safe head is not a reason to wait.
        let older = Targets {
            pending: Some(block(3, 7)),
            ..t
        };
        let v_older = ElView {
            at_pending: Some(h(3, 7)),
            ..v
        };
        assert_eq!(
            next_step(&v_older, &older, None),
            Step::Reorg {
                target: block(4, 0)
            }
        );
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
