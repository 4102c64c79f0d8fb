//! The follower's quorum tracker: signed attestations in (any source, any order, duplicates
//! included), k-of-n heads out, per chain and kind.
//!
//! ```text
//! signed attestations ─> trusted? fresh? ─> batch verify ─> per (chain, kind) lane:
//!                          │ no             │ bad             signer's live votes (one per height)
//!                          v                v                 tally: height -> claim -> signers
//!                       Rejection (typed, counted)            head: highest claim with >= k
//! ```
//! Rules, per lane:
//! - A claim is the attested block (every `L2BlockRef` field) and output root; k distinct
//!   counted signers with a live vote for the same claim at a height make a quorum there.
//! - Supersession: attestation b of a signer supersedes its attestation a when b is newer and
//!   `b.number <= a.number`. Newer = larger `(issued_at_ms, derived_from.number, canonical
//!   bytes)`; the tail only breaks exact ties so that the order is total. Superseded votes stop
//!   counting, and one arriving after its superseder never counts. So a signer's live votes rise
//!   in both height and age, with at most one per height.
//! - Finalized only moves to a higher quorum claim.
//! - Safe moves up to the highest quorum claim. It keeps its claim while that claim keeps k
//!   votes, and also, when it lost them, until a quorum has moved back: k counted signers that
//!   vote for one lower (or same-height) claim R and each withdrew a vote above R's height (or
//!   a different claim at R's height). Then safe moves to the highest such R. A signer that
//!   merely lags behind never pulls safe back.
//! - Equivocation (see `evidence`) excludes the signer from every tally until `clear`.
//!
//! Memory: per lane and signer at most `window` heights, each with one live vote and up to
//! `MAX_VIEWS_PER_HEIGHT` first-seen attestations (one per distinct `derived_from`, kept to
//! catch equivocation); at most `max_chains` chains (two lanes each); one evidence per signer.
//! A signer exceeding its window loses its lowest heights; an attestation below them is taken
//! only when it is newer than all the signer's live votes (a deep rewind), else it is
//! `OutsideWindow`.
//! Heights expire too: from the bottom, a height whose attestations were all issued more than
//! `max_age_ms` ago goes, except the one holding the signer's newest live vote. Nothing an
//! expired height could decide can still arrive (anything as old is `TooOld`, and newer
//! attestations are never superseded by older ones), and keeping the newest vote keeps both a
//! stalled head's votes and the rewind marker a later withdrawal sets. So a lane holds about
//! `max_age_ms` of attestations, not `window` heights, when attestations come slower than
//! `window` per `max_age_ms`.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::B256;
use opfleet_protocol::{ChainId, L2BlockRef};
use serde::Serialize;

use crate::attestation::{Attestation, AttestationKind};
use crate::batch_verify::verify_batch_with;
use crate::evidence::{Evidence, conflicts, same_claim};
use crate::keys::PublicKey;
use crate::policy::TrustPolicy;
use crate::signed::{SignedAttestation, VerifyError, WireError};

/// First-seen attestations kept per signer and height (one per distinct `derived_from`).
pub const MAX_VIEWS_PER_HEIGHT: usize = 4;

/// Tracker limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackerConfig {
    /// Heights kept per lane and signer.
    pub window: usize,
    /// Attestations issued longer ago than this are rejected, and heights whose attestations
    /// are all this old are forgotten (each signer's newest vote excepted).
    pub max_age_ms: u64,
    /// Attestations issued further in the future than this (clock skew) are rejected: a far
    /// future `issued_at` would otherwise supersede everything its signer says later.
    pub max_future_ms: u64,
    /// Distinct chains tracked; attestations for further chains are rejected.
    pub max_chains: usize,
}

impl Default for TrackerConfig {
    /// 1024 heights (34 minutes of 2-second blocks), 30 minutes maximum age, 30 seconds of
    /// clock skew, 64 chains.
    fn default() -> Self {
        Self {
            window: 1024,
            max_age_ms: 30 * 60 * 1000,
            max_future_ms: 30 * 1000,
            max_chains: 64,
        }
    }
}

/// What a head is: the block and its output root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    /// The attested block.
    pub block: L2BlockRefKey,
    /// Its output root.
    pub output_root: B256,
}

/// An `L2BlockRef` with a total order (by number, then hash), so claims can be sorted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct L2BlockRefKey(pub L2BlockRef);

impl Ord for L2BlockRefKey {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        let key = |b: &L2BlockRef| {
            (
                b.number,
                b.hash,
                b.parent_hash,
                b.timestamp,
                b.l1_origin.number,
                b.l1_origin.hash,
                b.sequence_number,
            )
        };
        key(&self.0).cmp(&key(&other.0))
    }
}

impl PartialOrd for L2BlockRefKey {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Claim {
    /// The claim an attestation makes.
    pub const fn of(a: &Attestation) -> Self {
        Self {
            block: L2BlockRefKey(a.block),
            output_root: a.output_root,
        }
    }

    /// The block's height.
    pub const fn number(&self) -> u64 {
        self.block.0.number
    }
}

/// A quorum head: the claim and how many counted signers vote for it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuorumHead {
    /// The block.
    pub block: L2BlockRef,
    /// Its output root.
    pub output_root: B256,
    /// Counted signers with a live vote for it now (below k after it lost quorum and is kept
    /// until a quorum moves back).
    pub signers: usize,
}

/// A head that changed during an ingest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadChange {
    /// The chain.
    pub chain_id: ChainId,
    /// Safe or finalized.
    pub kind: AttestationKind,
    /// The head before, if there was one.
    pub previous: Option<Claim>,
    /// The head now.
    pub current: Claim,
}

/// Why an attestation was refused before it reached a lane.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Wire bytes that do not decode.
    #[error("malformed: {0}")]
    Malformed(#[from] WireError),
    /// Not in the trust policy.
    #[error("signer {0} is not trusted")]
    UnknownSigner(PublicKey),
    /// Strict verification failed.
    #[error("bad signature: {0}")]
    BadSignature(VerifyError),
    /// Issued longer ago than the configured maximum age.
    #[error("issued {age_ms} ms ago, more than the maximum age of {max_age_ms} ms")]
    TooOld {
        /// How old.
        age_ms: u64,
        /// The limit.
        max_age_ms: u64,
    },
    /// Issued in the future beyond the allowed clock skew.
    #[error("issued {ahead_ms} ms in the future, more than the allowed skew of {max_future_ms} ms")]
    FromTheFuture {
        /// How far ahead.
        ahead_ms: u64,
        /// The limit.
        max_future_ms: u64,
    },
    /// A new chain beyond `max_chains`.
    #[error("chain {chain_id} would exceed the limit of {max_chains} tracked chains")]
    TooManyChains {
        /// The chain.
        chain_id: ChainId,
        /// The limit.
        max_chains: usize,
    },
}

/// What happened to an accepted (trusted, fresh, verified) attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Now a live, counted vote.
    Counted,
    /// A live vote, but its signer is excluded for equivocation: not counted.
    Held,
    /// Already known; nothing changed.
    Duplicate,
    /// A newer attestation of the same signer at the same or a lower height exists.
    Superseded,
    /// Below the signer's retained window and not a rewind.
    OutsideWindow,
    /// The signer equivocated; it is excluded from now on.
    Equivocation(Box<Evidence>),
}

/// Counters of every outcome and rejection, so nothing is dropped silently.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// `Outcome::Counted`.
    pub counted: u64,
    /// `Outcome::Held`.
    pub held: u64,
    /// `Outcome::Duplicate`.
    pub duplicates: u64,
    /// `Outcome::Superseded`.
    pub superseded: u64,
    /// `Outcome::OutsideWindow`.
    pub outside_window: u64,
    /// `Outcome::Equivocation`.
    pub equivocations: u64,
    /// `Rejection::Malformed`.
    pub malformed: u64,
    /// `Rejection::UnknownSigner`.
    pub unknown_signer: u64,
    /// `Rejection::BadSignature`.
    pub bad_signature: u64,
    /// `Rejection::TooOld`.
    pub too_old: u64,
    /// `Rejection::FromTheFuture`.
    pub from_the_future: u64,
    /// `Rejection::TooManyChains`.
    pub too_many_chains: u64,
}

impl Stats {
    fn record(&mut self, r: &Result<Outcome, Rejection>) {
        let c = match r {
            Ok(Outcome::Counted) => &mut self.counted,
            Ok(Outcome::Held) => &mut self.held,
            Ok(Outcome::Duplicate) => &mut self.duplicates,
            Ok(Outcome::Superseded) => &mut self.superseded,
            Ok(Outcome::OutsideWindow) => &mut self.outside_window,
            Ok(Outcome::Equivocation(_)) => &mut self.equivocations,
            Err(Rejection::Malformed(_)) => &mut self.malformed,
            Err(Rejection::UnknownSigner(_)) => &mut self.unknown_signer,
            Err(Rejection::BadSignature(_)) => &mut self.bad_signature,
            Err(Rejection::TooOld { .. }) => &mut self.too_old,
            Err(Rejection::FromTheFuture { .. }) => &mut self.from_the_future,
            Err(Rejection::TooManyChains { .. }) => &mut self.too_many_chains,
        };
        *c += 1;
    }
}

/// The result of one ingest call.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    /// One result per input, in input order.
    pub results: Vec<Result<Outcome, Rejection>>,
    /// Heads that changed, in the order they changed.
    pub head_changes: Vec<HeadChange>,
}

/// One signer's state at one height of a lane.
#[derive(Debug, Default)]
struct SignerHeight {
    live: Option<Attestation>,
    views: Vec<SignedAttestation>,
}

/// One signer's state in a lane.
#[derive(Debug, Default)]
struct SignerLane {
    heights: BTreeMap<u64, SignerHeight>,
    /// Highest height at which this signer withdrew a vote (its rewind marker).
    withdrawn_max: Option<u64>,
}

impl SignerLane {
    /// The live vote with the greatest height at or below `h`.
    fn live_at_or_below(&self, h: u64) -> Option<&Attestation> {
        self.heights
            .range(..=h)
            .rev()
            .find_map(|(_, sh)| sh.live.as_ref())
    }

    /// The signer's newest live vote (live votes rise with height).
    fn newest_live(&self) -> Option<&Attestation> {
        self.heights.values().rev().find_map(|sh| sh.live.as_ref())
    }

    /// Drops the lowest heights whose attestations were all issued before `cutoff_ms`, never
    /// the newest live vote's; returns the live votes dropped.
    fn expire(&mut self, cutoff_ms: u64) -> Vec<Claim> {
        let keep = self.newest_live().map(|a| a.block.number);
        let mut dropped = Vec::new();
        while let Some(lowest) = self.heights.first_entry() {
            if Some(*lowest.key()) == keep || lowest.get().last_issued_ms() >= cutoff_ms {
                break;
            }
            if let Some(old) = lowest.remove().live {
                dropped.push(Claim::of(&old));
            }
        }
        dropped
    }
}

impl SignerHeight {
    /// When the newest attestation kept at this height was issued.
    fn last_issued_ms(&self) -> u64 {
        self.live
            .iter()
            .map(|a| a.issued_at_ms)
            .chain(self.views.iter().map(|v| v.attestation.issued_at_ms))
            .max()
            .unwrap_or(0)
    }
}

/// Votes per claim at one height.
type HeightTally = Vec<(Claim, BTreeSet<PublicKey>)>;

/// State of one (chain, kind).
#[derive(Debug, Default)]
struct Lane {
    signers: BTreeMap<PublicKey, SignerLane>,
    tally: BTreeMap<u64, HeightTally>,
    /// Heights where some claim has at least k votes.
    quorum: BTreeSet<u64>,
    head: Option<Claim>,
}

impl Lane {
    fn add_vote(&mut self, claim: Claim, signer: PublicKey, k: usize) {
        let h = claim.number();
        let at = self.tally.entry(h).or_default();
        let idx = match at.iter().position(|(c, _)| *c == claim) {
            Some(i) => i,
            None => {
                at.push((claim, BTreeSet::new()));
                at.len() - 1
            }
        };
        if let Some((_, voters)) = at.get_mut(idx) {
            voters.insert(signer);
            if voters.len() >= k {
                self.quorum.insert(h);
            }
        }
    }

    fn remove_vote(&mut self, claim: Claim, signer: &PublicKey, k: usize) {
        let h = claim.number();
        let Some(at) = self.tally.get_mut(&h) else {
            return;
        };
        if let Some((_, voters)) = at.iter_mut().find(|(c, _)| *c == claim) {
            voters.remove(signer);
        }
        at.retain(|(_, v)| !v.is_empty());
        if !at.iter().any(|(_, v)| v.len() >= k) {
            self.quorum.remove(&h);
        }
        if at.is_empty() {
            self.tally.remove(&h);
        }
    }

    fn voters(&self, claim: &Claim) -> Option<&BTreeSet<PublicKey>> {
        self.tally
            .get(&claim.number())?
            .iter()
            .find(|(c, _)| c == claim)
            .map(|(_, v)| v)
    }

    fn votes(&self, claim: &Claim) -> usize {
        self.voters(claim).map_or(0, BTreeSet::len)
    }

    /// Claims at `h` with at least k votes, the current head first, then by most votes.
    fn quorum_claims_at(&self, h: u64, k: usize) -> Vec<Claim> {
        let mut claims: Vec<(Claim, usize)> = self
            .tally
            .get(&h)
            .into_iter()
            .flatten()
            .filter(|(_, v)| v.len() >= k)
            .map(|(c, v)| (*c, v.len()))
            .collect();
        let head = self.head;
        claims.sort_by(|(a, na), (b, nb)| {
            (Some(*b) == head)
                .cmp(&(Some(*a) == head))
                .then(nb.cmp(na))
                .then(a.cmp(b))
        });
        claims.into_iter().map(|(c, _)| c).collect()
    }

    /// Recomputes the head after votes changed; returns the previous head if it changed.
    fn evaluate(&mut self, kind: AttestationKind, k: usize) -> Option<Option<Claim>> {
        let prev = self.head;
        let best = self
            .quorum
            .iter()
            .next_back()
            .and_then(|h| self.quorum_claims_at(*h, k).into_iter().next());
        let next = match (prev, best) {
            (None, best) => best,
            (Some(p), Some(b)) if b.number() > p.number() => Some(b),
            (Some(p), _) if kind == AttestationKind::Finalized || self.votes(&p) >= k => Some(p),
            // Once a quorum has moved back, the head is the highest claim a quorum holds, which
            // may be above where the retreating signers went: the same rule a later
            // re-evaluation would apply, so the head never depends on evaluation order.
            (Some(p), best) => match self.moved_back_to(&p, k) {
                Some(m) => Some(best.filter(|b| b.number() > m.number()).unwrap_or(m)),
                None => Some(p),
            },
        };
        self.head = next;
        (next != prev).then_some(prev)
    }

    /// The highest claim at or below the lost head that k signers moved back to.
    fn moved_back_to(&self, lost: &Claim, k: usize) -> Option<Claim> {
        self.quorum.range(..=lost.number()).rev().find_map(|&h| {
            self.quorum_claims_at(h, k).into_iter().find(|c| {
                let retreated = self.voters(c).map_or(0, |voters| {
                    voters
                        .iter()
                        .filter(|s| {
                            self.signers
                                .get(s)
                                .and_then(|sl| sl.withdrawn_max)
                                .is_some_and(|w| w >= h)
                        })
                        .count()
                });
                retreated >= k
            })
        })
    }
}

/// Whether `a` is newer than `b` (same signer), by the total order documented above.
fn newer(a: &Attestation, b: &Attestation) -> bool {
    (a.issued_at_ms, a.derived_from.number)
        .cmp(&(b.issued_at_ms, b.derived_from.number))
        .then_with(|| a.to_canonical_bytes().cmp(&b.to_canonical_bytes()))
        .is_gt()
}

/// k-of-n quorum heads per chain and kind, from signed attestations in any order.
#[derive(Debug)]
pub struct QuorumTracker {
    policy: TrustPolicy,
    config: TrackerConfig,
    lanes: BTreeMap<(ChainId, AttestationKind), Lane>,
    excluded: BTreeMap<PublicKey, Evidence>,
    stats: Stats,
}

impl QuorumTracker {
    /// An empty tracker.
    pub fn new(policy: TrustPolicy, config: TrackerConfig) -> Self {
        Self {
            policy,
            config,
            lanes: BTreeMap::new(),
            excluded: BTreeMap::new(),
            stats: Stats::default(),
        }
    }

    /// The trust policy.
    pub const fn policy(&self) -> &TrustPolicy {
        &self.policy
    }

    /// Counters of all outcomes and rejections so far.
    pub const fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Decodes wire-form attestations, then ingests them as `ingest` does.
    pub fn ingest_wire(&mut self, wires: &[&[u8]], now_ms: u64) -> IngestReport {
        let items = wires
            .iter()
            .map(|w| SignedAttestation::from_wire(w).map_err(Rejection::Malformed))
            .collect();
        self.ingest_results(items, now_ms)
    }

    /// Ingests signed attestations: trust and age checks, one batch verification, then votes
    /// in input order. `now_ms` is the caller's clock (milliseconds since the Unix epoch).
    pub fn ingest(&mut self, items: &[SignedAttestation], now_ms: u64) -> IngestReport {
        self.ingest_results(items.iter().copied().map(Ok).collect(), now_ms)
    }

    fn ingest_results(
        &mut self,
        items: Vec<Result<SignedAttestation, Rejection>>,
        now_ms: u64,
    ) -> IngestReport {
        let mut checked: Vec<Result<SignedAttestation, Rejection>> = items
            .into_iter()
            .map(|r| r.and_then(|s| self.precheck(&s, now_ms).map(|()| s)))
            .collect();
        let (idx, batch): (Vec<usize>, Vec<SignedAttestation>) = checked
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().ok().map(|s| (i, *s)))
            .unzip();
        let verdicts = verify_batch_with(&batch, |pk| {
            self.policy
                .prepared(pk)
                .ok_or(VerifyError::InvalidPublicKey)
        });
        for (i, v) in idx.into_iter().zip(verdicts) {
            if let (Err(e), Some(slot)) = (v, checked.get_mut(i)) {
                *slot = Err(Rejection::BadSignature(e));
            }
        }
        let mut report = IngestReport::default();
        for item in checked {
            let r = item.and_then(|s| self.apply(&s, &mut report.head_changes));
            self.stats.record(&r);
            report.results.push(r);
        }
        self.expire(now_ms, &mut report.head_changes);
        report
    }

    /// Expires heights older than the maximum age in every lane (see the module comment).
    fn expire(&mut self, now_ms: u64, changes: &mut Vec<HeadChange>) {
        let cutoff_ms = now_ms.saturating_sub(self.config.max_age_ms);
        let k = self.policy.threshold();
        for (&key, lane) in self.lanes.iter_mut() {
            let mut dropped: Vec<(PublicKey, Claim)> = Vec::new();
            for (signer, sl) in lane.signers.iter_mut() {
                let claims = sl.expire(cutoff_ms);
                // An excluded signer's votes are not in the tally.
                if !self.excluded.contains_key(signer) {
                    dropped.extend(claims.into_iter().map(|c| (*signer, c)));
                }
            }
            if dropped.is_empty() {
                continue;
            }
            for (signer, claim) in dropped {
                lane.remove_vote(claim, &signer, k);
            }
            Self::evaluate_lane(key, lane, k, changes);
        }
    }

    fn precheck(&self, s: &SignedAttestation, now_ms: u64) -> Result<(), Rejection> {
        if !self.policy.trusts(&s.signer) {
            return Err(Rejection::UnknownSigner(s.signer));
        }
        let issued = s.attestation.issued_at_ms;
        if issued > now_ms {
            let ahead_ms = issued - now_ms;
            if ahead_ms > self.config.max_future_ms {
                return Err(Rejection::FromTheFuture {
                    ahead_ms,
                    max_future_ms: self.config.max_future_ms,
                });
            }
        } else {
            let age_ms = now_ms - issued;
            if age_ms > self.config.max_age_ms {
                return Err(Rejection::TooOld {
                    age_ms,
                    max_age_ms: self.config.max_age_ms,
                });
            }
        }
        Ok(())
    }

    /// Applies one trusted, fresh, verified attestation.
    fn apply(
        &mut self,
        s: &SignedAttestation,
        changes: &mut Vec<HeadChange>,
    ) -> Result<Outcome, Rejection> {
        let a = s.attestation;
        let lane_key = (a.chain_id, a.kind);
        if !self.lanes.contains_key(&lane_key) {
            let chains: BTreeSet<ChainId> = self.lanes.keys().map(|(c, _)| *c).collect();
            if !chains.contains(&a.chain_id) && chains.len() >= self.config.max_chains {
                return Err(Rejection::TooManyChains {
                    chain_id: a.chain_id,
                    max_chains: self.config.max_chains,
                });
            }
        }
        let k = self.policy.threshold();
        let was_counted = !self.excluded.contains_key(&s.signer);
        let window = self.config.window.max(1);
        let lane = self.lanes.entry(lane_key).or_default();
        let sl = lane.signers.entry(s.signer).or_default();
        let h = a.block.number;

        // Duplicates first: the very same attestation never counts twice.
        if let Some(sh) = sl.heights.get(&h)
            && (sh.live == Some(a) || sh.views.iter().any(|v| v.attestation == a))
        {
            return Ok(Outcome::Duplicate);
        }
        let conflict = sl.heights.get(&h).and_then(|sh| {
            sh.views
                .iter()
                .find(|v| conflicts(&v.attestation, &a))
                .copied()
        });

        let lowest = sl.heights.keys().next().copied();
        let below_window = sl.heights.len() >= window && lowest.is_some_and(|l| h < l);
        if below_window && !sl.newest_live().is_some_and(|n| newer(&a, n)) {
            return Ok(Outcome::OutsideWindow);
        }

        let superseded_on_arrival = sl.live_at_or_below(h).is_some_and(|b| newer(b, &a));
        let mut removed: Vec<Claim> = Vec::new();
        if !superseded_on_arrival {
            let mut withdrawn = sl.withdrawn_max;
            for (&height, sh) in sl.heights.range_mut(h..) {
                match sh.live {
                    Some(old) if newer(&a, &old) => {
                        if height > h || !same_claim(&old, &a) {
                            withdrawn = withdrawn.max(Some(height));
                        }
                        removed.push(Claim::of(&old));
                        sh.live = None;
                    }
                    Some(_) => break,
                    None => {}
                }
            }
            sl.withdrawn_max = withdrawn;
        }
        let sh = sl.heights.entry(h).or_default();
        if !superseded_on_arrival {
            sh.live = Some(a);
        }
        if sh.views.len() < MAX_VIEWS_PER_HEIGHT
            && !sh
                .views
                .iter()
                .any(|v| v.attestation.derived_from == a.derived_from)
        {
            sh.views.push(*s);
        }
        // Evict the lowest heights, but never the one just written (a deep rewind's).
        while sl.heights.len() > window {
            let Some(victim) = sl.heights.keys().copied().find(|&x| x != h) else {
                break;
            };
            if let Some(old) = sl.heights.remove(&victim).and_then(|e| e.live) {
                removed.push(Claim::of(&old));
            }
        }
        if was_counted {
            for c in removed {
                lane.remove_vote(c, &s.signer, k);
            }
            // An equivocating attestation never counts, not even for the moment before its
            // signer is excluded.
            if !superseded_on_arrival && conflict.is_none() {
                lane.add_vote(Claim::of(&a), s.signer, k);
            }
        }

        if let Some(first) = conflict {
            let evidence = Evidence { first, second: *s };
            if was_counted {
                self.excluded.insert(s.signer, evidence);
                self.retally(&s.signer, false, changes);
            }
            return Ok(Outcome::Equivocation(Box::new(evidence)));
        }
        Self::evaluate_lane(lane_key, lane, k, changes);
        Ok(match (superseded_on_arrival, was_counted) {
            (true, _) => Outcome::Superseded,
            (false, true) => Outcome::Counted,
            (false, false) => Outcome::Held,
        })
    }

    fn evaluate_lane(
        (chain_id, kind): (ChainId, AttestationKind),
        lane: &mut Lane,
        k: usize,
        changes: &mut Vec<HeadChange>,
    ) {
        if let Some(previous) = lane.evaluate(kind, k)
            && let Some(current) = lane.head
        {
            changes.push(HeadChange {
                chain_id,
                kind,
                previous,
                current,
            });
        }
    }

    /// Adds or removes all live votes of `signer` in every lane, then re-evaluates heads.
    fn retally(&mut self, signer: &PublicKey, add: bool, changes: &mut Vec<HeadChange>) {
        let k = self.policy.threshold();
        for (&key, lane) in self.lanes.iter_mut() {
            let live: Vec<Claim> = lane
                .signers
                .get(signer)
                .into_iter()
                .flat_map(|sl| sl.heights.values())
                .filter_map(|sh| sh.live.as_ref().map(Claim::of))
                .collect();
            for c in live {
                if add {
                    lane.add_vote(c, *signer, k);
                } else {
                    lane.remove_vote(c, signer, k);
                }
            }
            Self::evaluate_lane(key, lane, k, changes);
        }
    }

    /// Counts `signer` again after an operator looked at its evidence; returns that evidence
    /// (None if it was not excluded) and the heads that changed.
    pub fn clear(&mut self, signer: &PublicKey) -> (Option<Evidence>, Vec<HeadChange>) {
        let mut changes = Vec::new();
        let evidence = self.excluded.remove(signer);
        if evidence.is_some() {
            self.retally(signer, true, &mut changes);
        }
        (evidence, changes)
    }

    /// Whether `signer` is excluded for equivocation.
    pub fn is_excluded(&self, signer: &PublicKey) -> bool {
        self.excluded.contains_key(signer)
    }

    /// Trusted signers with at least one accepted attestation in the retained windows.
    pub fn signers_seen(&self) -> BTreeSet<PublicKey> {
        self.lanes
            .values()
            .flat_map(|lane| lane.signers.keys().copied())
            .collect()
    }

    /// Evidence against every excluded signer.
    pub fn evidence(&self) -> impl Iterator<Item = &Evidence> {
        self.excluded.values()
    }

    /// The quorum head of one chain and kind.
    pub fn head(&self, chain_id: ChainId, kind: AttestationKind) -> Option<QuorumHead> {
        let lane = self.lanes.get(&(chain_id, kind))?;
        let claim = lane.head?;
        Some(QuorumHead {
            block: claim.block.0,
            output_root: claim.output_root,
            signers: lane.votes(&claim),
        })
    }

    /// Every quorum head.
    pub fn heads(&self) -> impl Iterator<Item = (ChainId, AttestationKind, QuorumHead)> + '_ {
        self.lanes
            .keys()
            .filter_map(|&(c, kind)| self.head(c, kind).map(|h| (c, kind, h)))
    }
}

#[cfg(test)]
mod tests;
