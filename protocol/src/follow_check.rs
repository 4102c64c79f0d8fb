//! The checks op-node's light-CL follow mode (`--l2.follow.source`) applies to an upstream
//! `optimism_syncStatus` before adopting its safe and finalized heads
//! (op-node `rollup/driver`: `fetchFollowUpstream` and the follow-upstream event handling).
//!
//! ```text
//! 1. order:   finalized_l2 <= safe_l2 <= local_safe_l2        (block numbers)
//! 2. L1 view: local_safe_l2.l1origin, safe_l2.l1origin, finalized_l2.l1origin
//!             and current_l1 (unless zero) are blocks of OUR canonical L1 chain
//! ```
//! Step 1 needs nothing but the status; step 2 needs the canonical L1 refs at the numbers
//! [`follow_l1_numbers`] lists, fetched by the caller. A status failing either step is dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use alloy::primitives::B256;

use crate::{L1BlockRef, SyncStatus};

/// Which upstream value an L1 check concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FollowRef {
    /// The L1 origin of `local_safe_l2`.
    LocalSafeOrigin,
    /// The L1 origin of `safe_l2`.
    SafeOrigin,
    /// The L1 origin of `finalized_l2`.
    FinalizedOrigin,
    /// `current_l1` itself.
    CurrentL1,
}

impl fmt::Display for FollowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::LocalSafeOrigin => "local_safe_l2.l1origin",
            Self::SafeOrigin => "safe_l2.l1origin",
            Self::FinalizedOrigin => "finalized_l2.l1origin",
            Self::CurrentL1 => "current_l1",
        })
    }
}

/// Why an upstream sync status is not adopted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FollowCheckError {
    /// The cross-safe head is above the local-safe head it must be derived from.
    #[error("upstream safe_l2 #{safe} is ahead of local_safe_l2 #{local_safe}")]
    SafeAheadOfLocalSafe {
        /// `safe_l2.number`.
        safe: u64,
        /// `local_safe_l2.number`.
        local_safe: u64,
    },
    /// The finalized head is above the safe head.
    #[error("upstream finalized_l2 #{finalized} is ahead of safe_l2 #{safe}")]
    FinalizedAheadOfSafe {
        /// `finalized_l2.number`.
        finalized: u64,
        /// `safe_l2.number`.
        safe: u64,
    },
    /// The caller did not supply the canonical L1 block needed for a check.
    #[error("no canonical L1 block #{number} supplied to check upstream {which}")]
    MissingCanonicalL1 {
        /// The value being checked.
        which: FollowRef,
        /// The L1 block number that was needed.
        number: u64,
    },
    /// The upstream names an L1 block that is not on our canonical L1 chain.
    #[error(
        "upstream {which} is L1 block #{number} {upstream}, but canonical L1 #{number} is {canonical}"
    )]
    NotCanonical {
        /// The value being checked.
        which: FollowRef,
        /// L1 block number.
        number: u64,
        /// Hash the upstream reported.
        upstream: B256,
        /// Hash of our canonical L1 block at that number.
        canonical: B256,
    },
}

/// Step 1: the head ordering op-node requires, in op-node's order of checks.
pub fn check_follow_order(status: &SyncStatus) -> Result<(), FollowCheckError> {
    if status.safe_l2.number > status.local_safe_l2.number {
        return Err(FollowCheckError::SafeAheadOfLocalSafe {
            safe: status.safe_l2.number,
            local_safe: status.local_safe_l2.number,
        });
    }
    if status.finalized_l2.number > status.safe_l2.number {
        return Err(FollowCheckError::FinalizedAheadOfSafe {
            finalized: status.finalized_l2.number,
            safe: status.safe_l2.number,
        });
    }
    Ok(())
}

/// The L1 values step 2 checks, as (what, number, upstream hash); a zero `current_l1` means
/// "not available" upstream and is skipped, as op-node does.
fn follow_l1_claims(status: &SyncStatus) -> Vec<(FollowRef, u64, B256)> {
    let mut claims = vec![
        (
            FollowRef::LocalSafeOrigin,
            status.local_safe_l2.l1_origin.number,
            status.local_safe_l2.l1_origin.hash,
        ),
        (
            FollowRef::SafeOrigin,
            status.safe_l2.l1_origin.number,
            status.safe_l2.l1_origin.hash,
        ),
        (
            FollowRef::FinalizedOrigin,
            status.finalized_l2.l1_origin.number,
            status.finalized_l2.l1_origin.hash,
        ),
    ];
    if status.current_l1 != L1BlockRef::default() {
        claims.push((
            FollowRef::CurrentL1,
            status.current_l1.number,
            status.current_l1.hash,
        ));
    }
    claims
}

/// The canonical L1 block numbers the caller must look up for step 2 (deduplicated).
pub fn follow_l1_numbers(status: &SyncStatus) -> BTreeSet<u64> {
    follow_l1_claims(status)
        .into_iter()
        .map(|(_, number, _)| number)
        .collect()
}

/// Step 2: every L1 block the upstream names must match our canonical L1 chain.
/// `canonical` maps L1 block number to our canonical ref at that number.
pub fn check_follow_l1(
    status: &SyncStatus,
    canonical: &BTreeMap<u64, L1BlockRef>,
) -> Result<(), FollowCheckError> {
    for (which, number, upstream) in follow_l1_claims(status) {
        let ours = canonical
            .get(&number)
            .ok_or(FollowCheckError::MissingCanonicalL1 { which, number })?;
        if ours.hash != upstream {
            return Err(FollowCheckError::NotCanonical {
                which,
                number,
                upstream,
                canonical: ours.hash,
            });
        }
    }
    Ok(())
}

/// Both steps, ordering first: the status is adoptable iff this is `Ok`.
pub fn check_follow_status(
    status: &SyncStatus,
    canonical: &BTreeMap<u64, L1BlockRef>,
) -> Result<(), FollowCheckError> {
    check_follow_order(status)?;
    check_follow_l1(status, canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync_status::tests::SYNC_STATUS_JSON;

    fn status() -> SyncStatus {
        serde_json::from_str(SYNC_STATUS_JSON).unwrap()
    }

    /// Canonical L1 refs agreeing with every L1 block the fixture names.
    fn canonical_for(s: &SyncStatus) -> BTreeMap<u64, L1BlockRef> {
        let mut m = BTreeMap::new();
        for origin in [
            s.local_safe_l2.l1_origin,
            s.safe_l2.l1_origin,
            s.finalized_l2.l1_origin,
        ] {
            m.insert(
                origin.number,
                L1BlockRef {
                    hash: origin.hash,
                    number: origin.number,
                    ..Default::default()
                },
            );
        }
        m.insert(s.current_l1.number, s.current_l1);
        m
    }

    #[test]
    fn order_passes_on_consistent_status() {
        assert_eq!(check_follow_order(&status()), Ok(()));
        // Equal heads are fine.
        let mut s = status();
        s.safe_l2 = s.local_safe_l2;
        s.finalized_l2 = s.safe_l2;
        assert_eq!(check_follow_order(&s), Ok(()));
    }

    #[test]
    fn order_rejects_safe_ahead_of_local_safe() {
        let mut s = status();
        s.safe_l2.number = s.local_safe_l2.number + 1;
        assert_eq!(
            check_follow_order(&s),
            Err(FollowCheckError::SafeAheadOfLocalSafe {
                safe: 486,
                local_safe: 485
            })
        );
    }

    #[test]
    fn order_rejects_finalized_ahead_of_safe() {
        let mut s = status();
        s.finalized_l2.number = s.safe_l2.number + 1;
        assert_eq!(
            check_follow_order(&s),
            Err(FollowCheckError::FinalizedAheadOfSafe {
                finalized: 481,
                safe: 480
            })
        );
    }

    #[test]
    fn missing_local_safe_fails_like_op_node() {
        // A pre-interop source omits local_safe_l2: it reads as zero and op-node refuses it.
        let mut v: serde_json::Value = serde_json::from_str(SYNC_STATUS_JSON).unwrap();
        v.as_object_mut().unwrap().remove("local_safe_l2");
        let s: SyncStatus = serde_json::from_value(v).unwrap();
        assert!(matches!(
            check_follow_order(&s),
            Err(FollowCheckError::SafeAheadOfLocalSafe { local_safe: 0, .. })
        ));
    }

    #[test]
    fn l1_numbers_are_the_ones_op_node_fetches() {
        let s = status();
        assert_eq!(
            follow_l1_numbers(&s).into_iter().collect::<Vec<_>>(),
            vec![88, 97, 98, 100]
        );
        let mut no_current = s;
        no_current.current_l1 = L1BlockRef::default();
        assert_eq!(
            follow_l1_numbers(&no_current)
                .into_iter()
                .collect::<Vec<_>>(),
            vec![88, 97, 98]
        );
    }

    #[test]
    fn l1_passes_when_all_canonical() {
        let s = status();
        assert_eq!(check_follow_l1(&s, &canonical_for(&s)), Ok(()));
        assert_eq!(check_follow_status(&s, &canonical_for(&s)), Ok(()));
    }

    #[test]
    fn l1_skips_zero_current_l1() {
        let mut s = status();
        let canonical = canonical_for(&s);
        s.current_l1 = L1BlockRef::default();
        let mut without = canonical.clone();
        without.remove(&100);
        assert_eq!(check_follow_l1(&s, &without), Ok(()));
    }

    #[test]
    fn l1_rejects_each_non_canonical_value() {
        let s = status();
        let cases = [
            (FollowRef::LocalSafeOrigin, s.local_safe_l2.l1_origin.number),
            (FollowRef::SafeOrigin, s.safe_l2.l1_origin.number),
            (FollowRef::FinalizedOrigin, s.finalized_l2.l1_origin.number),
            (FollowRef::CurrentL1, s.current_l1.number),
        ];
        for (which, number) in cases {
            let mut canonical = canonical_for(&s);
            let reorged = B256::repeat_byte(0xee);
            canonical.get_mut(&number).unwrap().hash = reorged;
            match check_follow_l1(&s, &canonical) {
                Err(FollowCheckError::NotCanonical {
                    which: w,
                    number: n,
                    canonical: c,
                    ..
                }) => {
                    assert_eq!((w, n, c), (which, number, reorged));
                }
                other => panic!("{which}: expected NotCanonical, got {other:?}"),
            }
        }
    }

    #[test]
    fn l1_reports_missing_lookup() {
        let s = status();
        let mut canonical = canonical_for(&s);
        canonical.remove(&97);
        assert_eq!(
            check_follow_l1(&s, &canonical),
            Err(FollowCheckError::MissingCanonicalL1 {
                which: FollowRef::SafeOrigin,
                number: 97
            })
        );
    }

    #[test]
    fn status_check_runs_order_before_l1() {
        let mut s = status();
        s.finalized_l2.number = u64::MAX;
        // Empty canonical set would fail step 2, but step 1 fails first.
        assert!(matches!(
            check_follow_status(&s, &BTreeMap::new()),
            Err(FollowCheckError::FinalizedAheadOfSafe { .. })
        ));
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = FollowCheckError::NotCanonical {
            which: FollowRef::SafeOrigin,
            number: 97,
            upstream: B256::repeat_byte(0x16),
            canonical: B256::repeat_byte(0xee),
        };
        let msg = e.to_string();
        assert!(msg.contains("safe_l2.l1origin"), "{msg}");
        assert!(msg.contains("#97"), "{msg}");
    }
}
