//! What to sign for adopted heads, given what was signed last.
//!
//! ```text
//!   safe       sign when safe_l2 or its derived_from differs from the last safe attestation
//!              (a new head, a re-derivation from another L1 block, or a rewind)
//!   finalized  sign when finalized_l2 is above the last finalized attestation
//!              (never one below or beside it: finalized does not move back)
//!   nothing is signed for a head that is still the zero block (derivation not started)
//! ```

use alloy::primitives::B256;
use opfleet_attest::{Attestation, AttestationKind};
use opfleet_protocol::{BlockId, L2BlockRef};

use crate::heads::ChainHeads;

/// One attestation to make: everything but the output root and the signing time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// Safe or finalized.
    pub kind: AttestationKind,
    /// The attested block.
    pub block: L2BlockRef,
    /// The L1 block it was derived from.
    pub derived_from: BlockId,
}

/// The claims `heads` call for, safe first.
pub fn plan(
    last_safe: Option<&Attestation>,
    last_finalized: Option<&Attestation>,
    heads: &ChainHeads,
) -> Vec<Claim> {
    let mut claims = Vec::with_capacity(2);
    let safe = heads.status.safe_l2;
    if safe.hash != B256::ZERO
        && last_safe.is_none_or(|a| a.block != safe || a.derived_from != heads.safe_derived_from)
    {
        claims.push(Claim {
            kind: AttestationKind::Safe,
            block: safe,
            derived_from: heads.safe_derived_from,
        });
    }
    let fin = heads.status.finalized_l2;
    if fin.hash != B256::ZERO && last_finalized.is_none_or(|a| fin.number > a.block.number) {
        claims.push(Claim {
            kind: AttestationKind::Finalized,
            block: fin,
            derived_from: heads.finalized_derived_from,
        });
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::gate::tests::{block, heads};

    fn att(kind: AttestationKind, block: L2BlockRef, derived_from: u64) -> Attestation {
        Attestation {
            kind,
            chain_id: opfleet_protocol::ChainId(10),
            block,
            derived_from: BlockId {
                hash: B256::ZERO,
                number: derived_from,
            },
            output_root: B256::ZERO,
            issued_at_ms: 0,
        }
    }

    #[test]
    fn first_heads_sign_both() {
        let h = heads(10, 4);
        let kinds: Vec<_> = plan(None, None, &h).iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            vec![AttestationKind::Safe, AttestationKind::Finalized]
        );
        let c = plan(None, None, &h)[0];
        assert_eq!(c.block, h.status.safe_l2);
        assert_eq!(c.derived_from, h.safe_derived_from);
    }

    #[test]
    fn zero_heads_sign_nothing() {
        assert!(plan(None, None, &ChainHeads::default()).is_empty());
    }

    #[test]
    fn unchanged_heads_sign_nothing() {
        let h = heads(10, 4);
        let s = att(AttestationKind::Safe, h.status.safe_l2, 5);
        let f = att(AttestationKind::Finalized, h.status.finalized_l2, 2);
        assert!(plan(Some(&s), Some(&f), &h).is_empty());
    }

    #[test]
    fn safe_resigned_on_new_derived_from_or_rewind() {
        let h = heads(10, 4);
        let f = att(AttestationKind::Finalized, h.status.finalized_l2, 2);
        let moved = att(AttestationKind::Safe, h.status.safe_l2, 6);
        assert_eq!(plan(Some(&moved), Some(&f), &h).len(), 1);
        let higher = att(AttestationKind::Safe, block(12, 0xaa), 5);
        let c = plan(Some(&higher), Some(&f), &h);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].block.number, 10);
    }

    #[test]
    fn finalized_only_forward() {
        let h = heads(10, 4);
        let s = att(AttestationKind::Safe, h.status.safe_l2, 5);
        let above = att(AttestationKind::Finalized, block(6, 0xaa), 3);
        assert!(plan(Some(&s), Some(&above), &h).is_empty());
        let other_same_height = att(AttestationKind::Finalized, block(4, 0xbb), 2);
        assert!(plan(Some(&s), Some(&other_same_height), &h).is_empty());
        let below = att(AttestationKind::Finalized, block(3, 0xaa), 1);
        assert_eq!(
            plan(Some(&s), Some(&below), &h)[0].kind,
            AttestationKind::Finalized
        );
    }
}
