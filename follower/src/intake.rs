//! Attestations from every source go through one quorum tracker for the followed chain.
//!
//! ```text
//! ws push / poll / gossip ──> Intake::ingest ──> QuorumTracker (trust policy, k-of-n)
//!                                  │                 │
//!                                  │                 ├─> head changes ─> HeadOffer (safe/finalized)
//!                                  │                 └─> equivocation ─> Evidence (persisted)
//!                                  └─ signers excluded by stored evidence are dropped first
//! ```
//! The tracker does not know the follower restarted; evidence loaded from the store keeps an
//! equivocating signer out across restarts.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::B256;
use opfleet_attest::{
    AttestationKind, Evidence, HeadChange, Outcome, PublicKey, QuorumTracker, SignedAttestation,
    TrackerConfig, TrustPolicy,
};
use opfleet_protocol::ChainId;
use serde::Serialize;

use crate::heads::AcceptedHead;

/// A head the quorum now holds, to be offered to the accepted heads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeadOffer {
    /// Safe or finalized.
    pub kind: AttestationKind,
    /// The block and output root.
    pub head: AcceptedHead,
    /// The tracker saw a quorum move back (its previous head was at or above this one).
    pub rewind: bool,
    /// Signers whose live attestation names exactly this claim, as far as this intake saw.
    pub signers: Vec<PublicKey>,
}

/// What one ingest produced.
#[derive(Clone, Debug, Default)]
pub struct IntakeReport {
    /// Heads of the followed chain that moved, in order.
    pub offers: Vec<HeadOffer>,
    /// New equivocation evidence.
    pub evidence: Vec<Evidence>,
    /// Attestations dropped before the tracker (other chain, excluded signer).
    pub dropped: usize,
    /// Attestations the tracker rejected (untrusted, bad signature, stale...).
    pub rejected: usize,
}

/// Per-head quorum details for `follower_status`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuorumView {
    /// The quorum head and its live vote count.
    pub head: opfleet_attest::QuorumHead,
    /// Who attested it (as seen by this intake).
    pub signers: Vec<PublicKey>,
}

/// The quorum tracker of one chain, with the bookkeeping the follower reports.
pub struct Intake {
    chain_id: ChainId,
    tracker: QuorumTracker,
    excluded: BTreeSet<PublicKey>,
    evidence: Vec<Evidence>,
    /// Who attested which block hash, per kind; bounded to the most recent heights.
    voters: BTreeMap<(AttestationKind, u64, B256), BTreeSet<PublicKey>>,
}

/// Heights of voter bookkeeping kept per kind.
const VOTER_HEIGHTS: usize = 256;

impl Intake {
    /// An intake for `chain_id` under `policy`, with evidence already known (from the store).
    pub fn new(chain_id: ChainId, policy: TrustPolicy, known_evidence: Vec<Evidence>) -> Self {
        let excluded = known_evidence.iter().map(Evidence::signer).collect();
        Self {
            chain_id,
            tracker: QuorumTracker::new(policy, TrackerConfig::default()),
            excluded,
            evidence: known_evidence,
            voters: BTreeMap::new(),
        }
    }

    /// The trust policy.
    pub fn policy(&self) -> &TrustPolicy {
        self.tracker.policy()
    }

    /// Tracker counters.
    pub fn stats(&self) -> opfleet_attest::quorum::Stats {
        *self.tracker.stats()
    }

    /// Every evidence known (stored and new).
    pub fn evidence(&self) -> &[Evidence] {
        &self.evidence
    }

    /// Trusted signers seen so far.
    pub fn signers_seen(&self) -> BTreeSet<PublicKey> {
        self.tracker.signers_seen()
    }

    /// Signers excluded for equivocation.
    pub fn excluded(&self) -> &BTreeSet<PublicKey> {
        &self.excluded
    }

    /// The quorum's current head of `kind` with its voters.
    pub fn quorum(&self, kind: AttestationKind) -> Option<QuorumView> {
        let head = self.tracker.head(self.chain_id, kind)?;
        Some(QuorumView {
            signers: self.voters_of(kind, head.block.number, head.block.hash),
            head,
        })
    }

    fn voters_of(&self, kind: AttestationKind, number: u64, hash: B256) -> Vec<PublicKey> {
        self.voters
            .get(&(kind, number, hash))
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Ingests a batch of attestations received at `now_ms`.
    pub fn ingest(&mut self, items: &[SignedAttestation], now_ms: u64) -> IntakeReport {
        let mut report = IntakeReport::default();
        let wanted: Vec<SignedAttestation> = items
            .iter()
            .filter(|s| {
                s.attestation.chain_id == self.chain_id && !self.excluded.contains(&s.signer)
            })
            .copied()
            .collect();
        report.dropped = items.len() - wanted.len();
        if wanted.is_empty() {
            return report;
        }
        let result = self.tracker.ingest(&wanted, now_ms);
        for (item, outcome) in wanted.iter().zip(&result.results) {
            match outcome {
                Ok(Outcome::Counted | Outcome::Held | Outcome::Duplicate) => {
                    let a = &item.attestation;
                    self.voters
                        .entry((a.kind, a.block.number, a.block.hash))
                        .or_default()
                        .insert(item.signer);
                }
                Ok(Outcome::Equivocation(ev)) => {
                    self.excluded.insert(ev.signer());
                    self.evidence.push(**ev);
                    report.evidence.push(**ev);
                }
                Ok(Outcome::Superseded | Outcome::OutsideWindow) => {}
                Err(_) => report.rejected += 1,
            }
        }
        self.prune_voters();
        for change in result.head_changes {
            if change.chain_id == self.chain_id {
                report.offers.push(self.offer(&change));
            }
        }
        report
    }

    fn offer(&self, change: &HeadChange) -> HeadOffer {
        let current = change.current;
        let rewind = change.previous.is_some_and(|p| {
            p.number() > current.number() || (p.number() == current.number() && p != current)
        });
        HeadOffer {
            kind: change.kind,
            head: AcceptedHead {
                block: current.block.0,
                output_root: current.output_root,
            },
            rewind,
            signers: self.voters_of(change.kind, current.number(), current.block.0.hash),
        }
    }

    fn prune_voters(&mut self) {
        for kind in [AttestationKind::Safe, AttestationKind::Finalized] {
            let heights: BTreeSet<u64> = self
                .voters
                .keys()
                .filter(|(k, _, _)| *k == kind)
                .map(|(_, n, _)| *n)
                .collect();
            if heights.len() > VOTER_HEIGHTS {
                let cut = heights
                    .iter()
                    .nth(heights.len() - VOTER_HEIGHTS)
                    .copied()
                    .unwrap_or(0);
                self.voters.retain(|(k, n, _), _| *k != kind || *n >= cut);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use opfleet_attest::{Attestation, SigningKey};
    use opfleet_protocol::{BlockId, L2BlockRef};

    pub(crate) fn key(i: u8) -> SigningKey {
        SigningKey::from_bytes(&[i; 32])
    }

    pub(crate) fn block(n: u64, tag: u8) -> L2BlockRef {
        L2BlockRef {
            hash: B256::with_last_byte(tag).wrapping_add_n(n),
            number: n,
            parent_hash: B256::ZERO,
            timestamp: 1000 + n * 2,
            l1_origin: BlockId::default(),
            sequence_number: 0,
        }
    }

    trait AddN {
        fn wrapping_add_n(self, n: u64) -> B256;
    }
    impl AddN for B256 {
        fn wrapping_add_n(mut self, n: u64) -> B256 {
            self.0[..8].copy_from_slice(&n.to_be_bytes());
            self
        }
    }

    pub(crate) fn signed(
        k: &SigningKey,
        kind: AttestationKind,
        b: L2BlockRef,
        derived: u64,
        at: u64,
    ) -> SignedAttestation {
        SignedAttestation::sign(
            Attestation {
                kind,
                chain_id: ChainId(901),
                block: b,
                derived_from: BlockId {
                    hash: B256::repeat_byte(derived as u8),
                    number: derived,
                },
                output_root: B256::repeat_byte(0x77),
                issued_at_ms: at,
            },
            k,
        )
    }

    fn policy() -> TrustPolicy {
        TrustPolicy::new((1..=3).map(|i| PublicKey::of(&key(i))), 2).unwrap()
    }

    const NOW: u64 = 1_000_000;

    #[test]
    fn two_of_three_make_a_head_and_an_untrusted_signer_does_not_count() {
        let mut intake = Intake::new(ChainId(901), policy(), vec![]);
        let b = block(10, 1);
        let r = intake.ingest(
            &[
                signed(&key(1), AttestationKind::Safe, b, 5, NOW),
                signed(&key(4), AttestationKind::Safe, b, 5, NOW),
            ],
            NOW,
        );
        assert!(r.offers.is_empty());
        assert_eq!(r.rejected, 1);
        let r = intake.ingest(&[signed(&key(2), AttestationKind::Safe, b, 5, NOW)], NOW);
        assert_eq!(r.offers.len(), 1);
        assert_eq!(r.offers[0].head.block, b);
        assert!(!r.offers[0].rewind);
        let mut want = vec![PublicKey::of(&key(1)), PublicKey::of(&key(2))];
        want.sort();
        assert_eq!(r.offers[0].signers, want);
        assert_eq!(
            intake.quorum(AttestationKind::Safe).unwrap().head.signers,
            2
        );
    }

    #[test]
    fn other_chains_are_dropped() {
        let mut intake = Intake::new(ChainId(902), policy(), vec![]);
        let r = intake.ingest(
            &[signed(&key(1), AttestationKind::Safe, block(1, 1), 1, NOW)],
            NOW,
        );
        assert_eq!(r.dropped, 1);
    }

    #[test]
    fn an_equivocator_is_outvoted_and_stays_excluded_after_a_restart() {
        let mut intake = Intake::new(ChainId(901), policy(), vec![]);
        let (good, bad) = (block(10, 1), block(10, 2));
        let r = intake.ingest(
            &[
                signed(&key(1), AttestationKind::Safe, good, 5, NOW),
                signed(&key(3), AttestationKind::Safe, bad, 5, NOW),
                signed(&key(3), AttestationKind::Safe, good, 5, NOW + 1),
            ],
            NOW + 1,
        );
        assert_eq!(r.evidence.len(), 1);
        assert_eq!(r.evidence[0].signer(), PublicKey::of(&key(3)));
        assert!(
            r.offers.is_empty(),
            "the equivocator must not complete a quorum"
        );
        let r = intake.ingest(
            &[signed(&key(2), AttestationKind::Safe, good, 5, NOW)],
            NOW + 2,
        );
        assert_eq!(r.offers.len(), 1);
        assert_eq!(r.offers[0].head.block, good);

        // A new intake with the stored evidence drops the equivocator up front.
        let mut restarted = Intake::new(ChainId(901), policy(), intake.evidence().to_vec());
        let r = restarted.ingest(
            &[signed(&key(3), AttestationKind::Safe, block(11, 1), 6, NOW)],
            NOW,
        );
        assert_eq!(r.dropped, 1);
    }

    #[test]
    fn a_quorum_moving_back_is_offered_as_a_rewind() {
        let mut intake = Intake::new(ChainId(901), policy(), vec![]);
        let (b10, b9) = (block(10, 1), block(9, 2));
        intake.ingest(
            &[
                signed(&key(1), AttestationKind::Safe, b10, 5, NOW),
                signed(&key(2), AttestationKind::Safe, b10, 5, NOW),
            ],
            NOW,
        );
        let r = intake.ingest(
            &[
                signed(&key(1), AttestationKind::Safe, b9, 6, NOW + 10),
                signed(&key(2), AttestationKind::Safe, b9, 6, NOW + 10),
            ],
            NOW + 10,
        );
        let last = r.offers.last().unwrap();
        assert_eq!(last.head.block, b9);
        assert!(last.rewind);
    }
}
