//! Equivocation evidence: one signer attesting two different blocks for the same chain, kind and
//! number from the same L1 view (same `derived_from`). Derivation is a function of the L1 view,
//! so an honest signer cannot do that; a rewind comes with a different `derived_from` and is not
//! equivocation. Evidence is self-contained: anyone can re-check it from the two signed
//! attestations alone.

use serde::{Deserialize, Serialize};

use crate::attestation::Attestation;
use crate::keys::PublicKey;
use crate::signed::{SignedAttestation, VerifyError};

/// Two signed attestations by one signer that contradict each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The attestation seen first.
    pub first: SignedAttestation,
    /// The contradicting attestation.
    pub second: SignedAttestation,
}

/// Two attestations that do not prove equivocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// Different signers.
    #[error("the attestations have different signers")]
    DifferentSigners,
    /// Not the same chain, kind, number and derived_from.
    #[error("the attestations are not for the same chain, kind, number and derived_from")]
    DifferentSlot,
    /// Same claim: no contradiction.
    #[error("the attestations attest the same block and output root")]
    SameClaim,
    /// A signature does not verify, so the signer did not necessarily make it.
    #[error("the {which} attestation does not verify: {reason}")]
    Unsigned {
        /// "first" or "second".
        which: &'static str,
        /// Why.
        reason: VerifyError,
    },
}

/// Whether `a` and `b` (by one signer) contradict each other.
pub fn conflicts(a: &Attestation, b: &Attestation) -> bool {
    same_slot(a, b) && !same_claim(a, b)
}

/// Same chain, kind, number and L1 view.
fn same_slot(a: &Attestation, b: &Attestation) -> bool {
    a.chain_id == b.chain_id
        && a.kind == b.kind
        && a.block.number == b.block.number
        && a.derived_from == b.derived_from
}

/// Same block (every L2BlockRef field) and output root.
pub(crate) fn same_claim(a: &Attestation, b: &Attestation) -> bool {
    a.block == b.block && a.output_root == b.output_root
}

impl Evidence {
    /// Evidence from two attestations if, unverified, they show equivocation.
    pub fn new(first: SignedAttestation, second: SignedAttestation) -> Result<Self, EvidenceError> {
        if first.signer != second.signer {
            return Err(EvidenceError::DifferentSigners);
        }
        if !same_slot(&first.attestation, &second.attestation) {
            return Err(EvidenceError::DifferentSlot);
        }
        if same_claim(&first.attestation, &second.attestation) {
            return Err(EvidenceError::SameClaim);
        }
        Ok(Self { first, second })
    }

    /// Re-checks everything, signatures included.
    pub fn check(&self) -> Result<(), EvidenceError> {
        Self::new(self.first, self.second)?;
        for (which, s) in [("first", &self.first), ("second", &self.second)] {
            s.verify()
                .map_err(|reason| EvidenceError::Unsigned { which, reason })?;
        }
        Ok(())
    }

    /// The equivocating signer.
    pub const fn signer(&self) -> PublicKey {
        self.first.signer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attestation::tests::sample;
    use crate::keys::SigningKey;
    use alloy::primitives::B256;

    #[test]
    fn detects_and_checks() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let a = sample();
        let mut b = a;
        b.block.hash = B256::repeat_byte(0xaa);
        b.issued_at_ms += 5;
        assert!(conflicts(&a, &b));
        let ev = Evidence::new(
            SignedAttestation::sign(a, &key),
            SignedAttestation::sign(b, &key),
        )
        .unwrap();
        assert_eq!(ev.check(), Ok(()));
        assert_eq!(ev.signer(), PublicKey::of(&key));
        let json = serde_json::to_string(&ev).unwrap();
        assert_eq!(serde_json::from_str::<Evidence>(&json).unwrap(), ev);

        let mut forged = ev;
        forged.second.attestation.output_root = B256::repeat_byte(1);
        assert!(matches!(
            forged.check(),
            Err(EvidenceError::Unsigned {
                which: "second",
                ..
            })
        ));
    }

    #[test]
    fn rewinds_and_repeats_are_not_equivocation() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let a = sample();
        let mut rewind = a;
        rewind.block.hash = B256::repeat_byte(0xaa);
        rewind.derived_from.number += 1;
        assert!(!conflicts(&a, &rewind));
        let mut again = a;
        again.issued_at_ms += 1000;
        assert!(!conflicts(&a, &again));
        let s = |x| SignedAttestation::sign(x, &key);
        assert_eq!(
            Evidence::new(s(a), s(rewind)),
            Err(EvidenceError::DifferentSlot)
        );
        assert_eq!(Evidence::new(s(a), s(again)), Err(EvidenceError::SameClaim));
        let mut b = a;
        b.block.hash = B256::repeat_byte(0xaa);
        let other = SignedAttestation::sign(b, &SigningKey::from_bytes(&[8; 32]));
        assert_eq!(
            Evidence::new(s(a), other),
            Err(EvidenceError::DifferentSigners)
        );
    }
}
