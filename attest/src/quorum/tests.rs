//! Scenario tests and random-interleaving property tests of the quorum tracker.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use alloy::primitives::B256;
use opfleet_protocol::{BlockId, ChainId, L2BlockRef};
use proptest::prelude::*;

use super::*;
use crate::keys::SigningKey;

const CHAIN: ChainId = ChainId(10);
const NOW: u64 = 1_000_000;

fn key(i: u8) -> SigningKey {
    SigningKey::from_bytes(&[i + 1; 32])
}

fn pk(i: u8) -> PublicKey {
    PublicKey::of(&key(i))
}

fn block(number: u64, variant: u8) -> L2BlockRef {
    L2BlockRef {
        hash: hash(number, variant),
        number,
        parent_hash: B256::repeat_byte(number as u8),
        timestamp: 1000 + number * 2,
        l1_origin: BlockId {
            hash: B256::repeat_byte(0xee),
            number: 50,
        },
        sequence_number: number,
    }
}

fn hash(number: u64, variant: u8) -> B256 {
    let mut b = [0u8; 32];
    b[0] = number as u8 + 1;
    b[31] = variant;
    B256::from(b)
}

fn view(d: u8) -> BlockId {
    BlockId {
        hash: B256::repeat_byte(0xd0 + d),
        number: 100 + u64::from(d),
    }
}

#[derive(Clone, Copy, Debug)]
struct Spec {
    signer: u8,
    kind: AttestationKind,
    number: u64,
    variant: u8,
    derived: u8,
    issued: u64,
}

fn att(s: Spec) -> Attestation {
    let b = block(s.number, s.variant);
    Attestation {
        kind: s.kind,
        chain_id: CHAIN,
        block: b,
        derived_from: view(s.derived),
        output_root: B256::repeat_byte(0x40 + s.variant),
        issued_at_ms: s.issued,
    }
}

fn signed(s: Spec) -> SignedAttestation {
    SignedAttestation::sign(att(s), &key(s.signer))
}

fn safe(signer: u8, number: u64, variant: u8, derived: u8, issued: u64) -> SignedAttestation {
    signed(Spec {
        signer,
        kind: AttestationKind::Safe,
        number,
        variant,
        derived,
        issued,
    })
}

fn fin(signer: u8, number: u64, variant: u8, issued: u64) -> SignedAttestation {
    signed(Spec {
        signer,
        kind: AttestationKind::Finalized,
        number,
        variant,
        derived: 0,
        issued,
    })
}

fn tracker(n: u8, k: usize) -> QuorumTracker {
    QuorumTracker::new(
        TrustPolicy::new((0..n).map(pk), k).unwrap(),
        TrackerConfig::default(),
    )
}

fn safe_head(t: &QuorumTracker) -> Option<(u64, u8)> {
    t.head(CHAIN, AttestationKind::Safe)
        .map(|h| (h.block.number, h.block.hash.0[31]))
}

fn one(t: &mut QuorumTracker, s: SignedAttestation) -> Result<Outcome, Rejection> {
    t.ingest(&[s], NOW).results.remove(0)
}

#[test]
fn head_needs_k_identical_attestations() {
    let mut t = tracker(3, 2);
    assert_eq!(one(&mut t, safe(0, 5, 0, 0, 10)), Ok(Outcome::Counted));
    assert_eq!(safe_head(&t), None);
    // Same block, different output root: not identical.
    let mut other_root = att(Spec {
        signer: 1,
        kind: AttestationKind::Safe,
        number: 5,
        variant: 0,
        derived: 0,
        issued: 10,
    });
    other_root.output_root = B256::repeat_byte(1);
    one(&mut t, SignedAttestation::sign(other_root, &key(1))).unwrap();
    assert_eq!(safe_head(&t), None);
    // A different L1 view but the same claim is identical for quorum purposes.
    let r = t.ingest(&[safe(2, 5, 0, 1, 11)], NOW);
    assert_eq!(safe_head(&t), Some((5, 0)));
    assert_eq!(r.head_changes.len(), 1);
    assert_eq!(r.head_changes[0].previous, None);
    assert_eq!(t.head(CHAIN, AttestationKind::Safe).unwrap().signers, 2);
    assert_eq!(t.head(CHAIN, AttestationKind::Finalized), None);
    assert_eq!(t.signers_seen(), (0..3).map(pk).collect());
    assert_eq!(t.heads().count(), 1);
}

#[test]
fn duplicates_never_count_twice() {
    let mut t = tracker(3, 2);
    let a = safe(0, 5, 0, 0, 10);
    assert_eq!(one(&mut t, a), Ok(Outcome::Counted));
    let r = t.ingest(&[a, a, a], NOW);
    assert!(r.results.iter().all(|r| *r == Ok(Outcome::Duplicate)));
    assert_eq!(safe_head(&t), None);
    assert_eq!(t.stats().duplicates, 3);
    // A re-attestation of the same claim later is not a second vote either.
    one(&mut t, safe(0, 5, 0, 0, 20)).unwrap();
    assert_eq!(safe_head(&t), None);
}

#[test]
fn safe_moves_back_only_when_a_quorum_moved_back() {
    let mut t = tracker(3, 2);
    for s in 0..3 {
        for n in 1..=10 {
            one(&mut t, safe(s, n, 0, 0, n * 10)).unwrap();
        }
    }
    assert_eq!(safe_head(&t), Some((10, 0)));
    // Signer 0 rewinds to 7' after an L1 reorg (new view, newer): not equivocation.
    assert_eq!(one(&mut t, safe(0, 7, 1, 1, 200)), Ok(Outcome::Counted));
    assert_eq!(safe_head(&t), Some((10, 0)));
    // Signer 1 too: two signers moved back, the head follows.
    let r = t.ingest(&[safe(1, 7, 1, 1, 201)], NOW);
    assert_eq!(safe_head(&t), Some((7, 1)));
    assert_eq!(r.head_changes.len(), 1);
    // Then they advance on the new branch.
    one(&mut t, safe(0, 8, 1, 1, 210)).unwrap();
    one(&mut t, safe(1, 8, 1, 1, 211)).unwrap();
    assert_eq!(safe_head(&t), Some((8, 1)));
}

#[test]
fn one_rewinding_signer_does_not_pull_safe_back_even_without_quorum() {
    let mut t = tracker(3, 3);
    for s in 0..3 {
        for n in 1..=10 {
            one(&mut t, safe(s, n, 0, 0, n * 10)).unwrap();
        }
    }
    one(&mut t, safe(0, 7, 1, 1, 200)).unwrap();
    // 10 lost its quorum, 1..=6 still have three votes, but only one signer moved back.
    assert_eq!(safe_head(&t), Some((10, 0)));
    assert_eq!(t.head(CHAIN, AttestationKind::Safe).unwrap().signers, 2);
    one(&mut t, safe(1, 7, 1, 1, 201)).unwrap();
    assert_eq!(safe_head(&t), Some((10, 0)));
    one(&mut t, safe(2, 7, 1, 1, 202)).unwrap();
    assert_eq!(safe_head(&t), Some((7, 1)));
}

#[test]
fn lagging_signers_do_not_count_as_moving_back() {
    let mut t = tracker(4, 2);
    for s in 0..2 {
        for n in 1..=10 {
            one(&mut t, safe(s, n, 0, 0, n * 10)).unwrap();
        }
    }
    for s in 2..4 {
        for n in 1..=5 {
            one(&mut t, safe(s, n, 0, 0, n * 10)).unwrap();
        }
    }
    one(&mut t, safe(0, 7, 1, 1, 200)).unwrap();
    // Heights 1..=5 have quorum from the laggards, but they never withdrew anything.
    assert_eq!(safe_head(&t), Some((10, 0)));
}

#[test]
fn finalized_never_goes_back() {
    let mut t = tracker(2, 2);
    for s in 0..2 {
        one(&mut t, fin(s, 10, 0, 10)).unwrap();
    }
    assert_eq!(
        t.head(CHAIN, AttestationKind::Finalized)
            .unwrap()
            .block
            .number,
        10
    );
    for s in 0..2 {
        one(&mut t, fin(s, 8, 1, 20)).unwrap();
    }
    assert_eq!(
        t.head(CHAIN, AttestationKind::Finalized).unwrap().block,
        block(10, 0)
    );
    for s in 0..2 {
        one(&mut t, fin(s, 11, 0, 30)).unwrap();
    }
    assert_eq!(
        t.head(CHAIN, AttestationKind::Finalized)
            .unwrap()
            .block
            .number,
        11
    );
}

#[test]
fn late_older_attestations_are_superseded() {
    let mut t = tracker(2, 2);
    // Signer 0's rewind to 7' arrives before its older attestation of 9.
    one(&mut t, safe(0, 7, 1, 1, 200)).unwrap();
    assert_eq!(one(&mut t, safe(0, 9, 0, 0, 90)), Ok(Outcome::Superseded));
    one(&mut t, safe(1, 9, 0, 0, 90)).unwrap();
    assert_eq!(safe_head(&t), None);
    one(&mut t, safe(1, 7, 1, 1, 201)).unwrap();
    assert_eq!(safe_head(&t), Some((7, 1)));
    assert_eq!(t.stats().superseded, 1);
}

#[test]
fn equivocation_is_caught_excluded_and_cleared() {
    let mut t = tracker(3, 2);
    one(&mut t, safe(0, 5, 0, 0, 10)).unwrap();
    one(&mut t, safe(1, 5, 0, 0, 10)).unwrap();
    assert_eq!(safe_head(&t), Some((5, 0)));
    one(&mut t, safe(0, 6, 0, 0, 20)).unwrap();
    one(&mut t, safe(2, 6, 0, 0, 20)).unwrap();
    assert_eq!(safe_head(&t), Some((6, 0)));
    // Signer 0 attests another block at 6 from the same L1 view.
    let second = safe(0, 6, 1, 0, 25);
    let r = t.ingest(&[second], NOW);
    let Ok(Outcome::Equivocation(ev)) = &r.results[0] else {
        panic!("expected evidence, got {:?}", r.results[0]);
    };
    assert_eq!(ev.first, safe(0, 6, 0, 0, 20));
    assert_eq!(ev.second, second);
    assert_eq!(ev.check(), Ok(()));
    assert!(t.is_excluded(&pk(0)));
    assert_eq!(t.evidence().count(), 1);
    // Safe keeps its claim (nobody moved back), but it is now down to one vote.
    assert_eq!(safe_head(&t), Some((6, 0)));
    assert_eq!(t.head(CHAIN, AttestationKind::Safe).unwrap().signers, 1);
    // Its further attestations are held, not counted.
    assert_eq!(one(&mut t, safe(0, 7, 0, 0, 30)), Ok(Outcome::Held));
    one(&mut t, safe(1, 7, 0, 0, 30)).unwrap();
    assert_eq!(safe_head(&t), Some((6, 0)));
    let (cleared, changes) = t.clear(&pk(0));
    assert_eq!(cleared.map(|e| e.second), Some(second));
    assert_eq!(safe_head(&t), Some((7, 0)));
    assert_eq!(changes.len(), 1);
    assert!(!t.is_excluded(&pk(0)));
    assert_eq!(t.clear(&pk(0)).0, None);
}

#[test]
fn equivocation_is_caught_even_when_the_second_is_superseded() {
    let mut t = tracker(2, 1);
    one(&mut t, safe(0, 6, 0, 0, 20)).unwrap();
    one(&mut t, safe(0, 3, 1, 1, 40)).unwrap();
    assert!(matches!(
        one(&mut t, safe(0, 6, 1, 0, 10)),
        Ok(Outcome::Equivocation(_))
    ));
}

#[test]
fn rejections_are_typed_and_counted() {
    let mut t = QuorumTracker::new(
        TrustPolicy::new([pk(0), pk(1)], 1).unwrap(),
        TrackerConfig {
            max_age_ms: 1000,
            max_future_ms: 100,
            max_chains: 1,
            ..TrackerConfig::default()
        },
    );
    let stranger = safe(5, 1, 0, 0, NOW);
    let mut tampered = safe(0, 1, 0, 0, NOW);
    tampered.attestation.block.timestamp += 1;
    let old = safe(0, 1, 0, 0, NOW - 1001);
    let just_in_time = safe(1, 1, 0, 0, NOW - 1000);
    let future = safe(0, 1, 0, 0, NOW + 101);
    let mut other_chain = att(Spec {
        signer: 0,
        kind: AttestationKind::Safe,
        number: 1,
        variant: 0,
        derived: 0,
        issued: NOW,
    });
    other_chain.chain_id = ChainId(11);
    let other_chain = SignedAttestation::sign(other_chain, &key(0));
    let r = t.ingest(
        &[stranger, tampered, old, future, just_in_time, other_chain],
        NOW,
    );
    assert_eq!(r.results[0], Err(Rejection::UnknownSigner(pk(5))));
    assert_eq!(
        r.results[1],
        Err(Rejection::BadSignature(VerifyError::BadSignature))
    );
    assert_eq!(
        r.results[2],
        Err(Rejection::TooOld {
            age_ms: 1001,
            max_age_ms: 1000
        })
    );
    assert_eq!(
        r.results[3],
        Err(Rejection::FromTheFuture {
            ahead_ms: 101,
            max_future_ms: 100
        })
    );
    assert_eq!(r.results[4], Ok(Outcome::Counted));
    assert_eq!(
        r.results[5],
        Err(Rejection::TooManyChains {
            chain_id: ChainId(11),
            max_chains: 1
        })
    );
    let s = t.stats();
    assert_eq!(
        (
            s.unknown_signer,
            s.bad_signature,
            s.too_old,
            s.from_the_future,
            s.too_many_chains,
            s.counted
        ),
        (1, 1, 1, 1, 1, 1)
    );
    let malformed = t.ingest_wire(&[&[0u8; 3], &safe(1, 2, 0, 0, NOW).to_wire()], NOW);
    assert!(matches!(malformed.results[0], Err(Rejection::Malformed(_))));
    assert_eq!(malformed.results[1], Ok(Outcome::Counted));
    assert_eq!(t.stats().malformed, 1);
}

#[test]
fn memory_is_bounded_by_the_window() {
    let mut t = QuorumTracker::new(
        TrustPolicy::new([pk(0)], 1).unwrap(),
        TrackerConfig {
            window: 4,
            ..TrackerConfig::default()
        },
    );
    for n in 1..=10 {
        one(&mut t, safe(0, n, 0, 0, n * 10)).unwrap();
    }
    let lane = &t.lanes[&(CHAIN, AttestationKind::Safe)];
    assert_eq!(lane.signers[&pk(0)].heights.len(), 4);
    assert!(lane.tally.len() <= 4);
    assert_eq!(safe_head(&t), Some((10, 0)));
    // Below the window and older: ignored, counted as such.
    assert_eq!(
        one(&mut t, safe(0, 2, 0, 0, 20)),
        Ok(Outcome::OutsideWindow)
    );
    // Below the window but newer than everything: a deep rewind, taken.
    assert_eq!(one(&mut t, safe(0, 2, 1, 1, 500)), Ok(Outcome::Counted));
    assert_eq!(safe_head(&t), Some((2, 1)));
    let lane = &t.lanes[&(CHAIN, AttestationKind::Safe)];
    assert!(lane.signers[&pk(0)].heights.len() <= 4);
}

fn aging_tracker(n: u8, k: usize, max_age_ms: u64) -> QuorumTracker {
    QuorumTracker::new(
        TrustPolicy::new((0..n).map(pk), k).unwrap(),
        TrackerConfig {
            max_age_ms,
            ..TrackerConfig::default()
        },
    )
}

#[test]
fn heights_expire_after_the_maximum_age() {
    let mut t = aging_tracker(1, 1, 100);
    for n in 1..=30u64 {
        let r = t.ingest(&[safe(0, n, 0, 0, n * 10)], n * 10);
        assert_eq!(r.results, vec![Ok(Outcome::Counted)]);
    }
    // At 300 ms the cutoff is 200 ms: heights 20..=30 were issued since.
    let lane = &t.lanes[&(CHAIN, AttestationKind::Safe)];
    let kept: Vec<u64> = lane.signers[&pk(0)].heights.keys().copied().collect();
    assert_eq!(kept, (20..=30).collect::<Vec<_>>());
    assert_eq!(lane.tally.len(), 11);
    assert_eq!(safe_head(&t), Some((30, 0)));
}

#[test]
fn a_stalled_head_keeps_its_votes_and_a_later_rewind_still_moves_it_back() {
    let mut t = aging_tracker(3, 2, 100);
    for s in 0..3 {
        t.ingest(&[safe(s, 5, 0, 0, 5), safe(s, 10, 0, 0, 10)], 10);
    }
    assert_eq!(safe_head(&t), Some((10, 0)));
    // Long after: everything but each signer's newest vote expires.
    let r = t.ingest(&[], 1_000);
    assert!(r.head_changes.is_empty());
    let lane = &t.lanes[&(CHAIN, AttestationKind::Safe)];
    for s in 0..3 {
        let kept: Vec<u64> = lane.signers[&pk(s)].heights.keys().copied().collect();
        assert_eq!(kept, vec![10]);
    }
    assert_eq!(t.head(CHAIN, AttestationKind::Safe).unwrap().signers, 3);
    // A replay of an expired attestation is too old to count.
    assert!(matches!(
        one_at(&mut t, safe(0, 5, 0, 0, 5), 1_000),
        Err(Rejection::TooOld { .. })
    ));
    // Two signers rewind below the stalled head: they withdrew their votes at 10, so safe
    // moves back.
    one_at(&mut t, safe(0, 8, 1, 1, 1_000), 1_000).unwrap();
    assert_eq!(safe_head(&t), Some((10, 0)));
    one_at(&mut t, safe(1, 8, 1, 1, 1_000), 1_000).unwrap();
    assert_eq!(safe_head(&t), Some((8, 1)));
}

fn one_at(t: &mut QuorumTracker, s: SignedAttestation, now_ms: u64) -> Result<Outcome, Rejection> {
    t.ingest(&[s], now_ms).results.remove(0)
}

// ---- Random interleavings ----

const SIGNERS: u8 = 4;
const HEIGHTS: u64 = 4;

/// Every attestation the property tests draw from, signed once. Signer 3 also equivocates:
/// its items with `derived = 1 - variant`.
static UNIVERSE: LazyLock<Vec<SignedAttestation>> = LazyLock::new(|| {
    let mut out = Vec::new();
    for signer in 0..SIGNERS {
        for kind in [AttestationKind::Safe, AttestationKind::Finalized] {
            for number in 1..=HEIGHTS {
                for variant in 0..2u8 {
                    for issued in 1..=3u64 {
                        let equivocations: &[u8] = if signer == 3 { &[0, 1] } else { &[0] };
                        for &eq in equivocations {
                            out.push(signed(Spec {
                                signer,
                                kind,
                                number,
                                variant,
                                derived: variant ^ eq,
                                issued: NOW - 100 + issued * 10 + u64::from(eq),
                            }));
                        }
                    }
                }
            }
        }
    }
    out
});

/// Reference model: which ingested attestations are live (not superseded by their signer).
fn live_votes(seen: &[SignedAttestation]) -> Vec<SignedAttestation> {
    seen.iter()
        .filter(|a| {
            !seen.iter().any(|b| {
                b.signer == a.signer
                    && b.attestation.kind == a.attestation.kind
                    && b.attestation.block.number <= a.attestation.block.number
                    && newer(&b.attestation, &a.attestation)
            })
        })
        .copied()
        .collect()
}

fn equivocators(seen: &[SignedAttestation]) -> BTreeSet<PublicKey> {
    let mut out = BTreeSet::new();
    for a in seen {
        for b in seen {
            if a.signer == b.signer && conflicts(&a.attestation, &b.attestation) {
                out.insert(a.signer);
            }
        }
    }
    out
}

fn supporters(
    live: &[SignedAttestation],
    excluded: &BTreeSet<PublicKey>,
    kind: AttestationKind,
    claim: &Claim,
) -> BTreeSet<PublicKey> {
    live.iter()
        .filter(|s| s.attestation.kind == kind && Claim::of(&s.attestation) == *claim)
        .filter(|s| !excluded.contains(&s.signer))
        .map(|s| s.signer)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn quorum_invariants_under_random_interleavings(
        picks in proptest::collection::vec(any::<prop::sample::Index>(), 1..60),
        k in 1usize..=SIGNERS as usize,
        chunk in 1usize..5,
    ) {
        let universe = &*UNIVERSE;
        let order: Vec<SignedAttestation> = picks.iter().map(|i| *i.get(universe)).collect();
        let mut t = tracker(SIGNERS, k);
        let mut seen: Vec<SignedAttestation> = Vec::new();
        let mut finalized_number = 0u64;
        let mut heads: BTreeMap<AttestationKind, Option<Claim>> = BTreeMap::new();
        for batch in order.chunks(chunk) {
            let report = t.ingest(batch, NOW);
            for r in &report.results {
                prop_assert!(r.is_ok(), "unexpected rejection {:?}", r);
            }
            seen.extend_from_slice(batch);
            let live = live_votes(&seen);
            let excluded = equivocators(&seen);
            // Equivocation always caught: exactly the signers with a conflicting pair.
            let tracked: BTreeSet<PublicKey> = (0..SIGNERS).map(pk).filter(|p| t.is_excluded(p)).collect();
            prop_assert_eq!(&tracked, &excluded);
            for e in t.evidence() {
                prop_assert_eq!(e.check(), Ok(()));
            }
            for change in &report.head_changes {
                // No head without k signers: at the end of the batch the new head must still
                // have been attested identically by k signers (live now or superseded later
                // in this batch).
                let attested: BTreeSet<PublicKey> = seen
                    .iter()
                    .filter(|s| s.attestation.kind == change.kind && Claim::of(&s.attestation) == change.current)
                    .map(|s| s.signer)
                    .collect();
                prop_assert!(attested.len() >= k, "head {:?} with {} signers", change.current, attested.len());
            }
            for kind in [AttestationKind::Safe, AttestationKind::Finalized] {
                let head = t.head(CHAIN, kind);
                if let Some(h) = head {
                    let claim = Claim { block: L2BlockRefKey(h.block), output_root: h.output_root };
                    // The tracker's tally equals the reference model's (duplicates, supersession
                    // and exclusion included).
                    let s = supporters(&live, &excluded, kind, &claim);
                    prop_assert_eq!(h.signers, s.len());
                    let prev = heads.get(&kind).copied().flatten();
                    if prev != Some(claim) && chunk == 1 {
                        // One item at a time: a new head has k current supporters.
                        prop_assert!(s.len() >= k, "new {:?} head with {} live supporters", kind, s.len());
                    }
                    if kind == AttestationKind::Finalized {
                        prop_assert!(h.block.number >= finalized_number);
                        finalized_number = h.block.number;
                    }
                    heads.insert(kind, Some(claim));
                } else {
                    prop_assert_eq!(heads.get(&kind).copied().flatten(), None, "a head disappeared");
                }
            }
        }
        // Replaying everything changes nothing: every item is a duplicate or superseded.
        let before: Vec<_> = t.heads().collect();
        let stats = *t.stats();
        let replay = t.ingest(&order, NOW);
        for (r, item) in replay.results.iter().zip(&order) {
            let ok = match r {
                Ok(Outcome::Duplicate | Outcome::Superseded) => true,
                // Evidence is found again, against a signer already excluded.
                Ok(Outcome::Equivocation(_)) => t.is_excluded(&item.signer),
                _ => false,
            };
            prop_assert!(ok, "replay gave {:?}", r);
        }
        prop_assert!(replay.head_changes.is_empty(), "replay changed heads: {:?}", replay.head_changes);
        prop_assert_eq!(before, t.heads().collect::<Vec<_>>());
        prop_assert_eq!(stats.counted, t.stats().counted);
    }
}
