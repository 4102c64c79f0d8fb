//! Verifying many signed attestations at once with the verdicts of strict verification.
//!
//! dalek's `verify_batch` checks one random linear combination of the cofactorless equations
//! `[S]B = R + [k]A`. It is not `verify_strict`: it does not refuse a small-order R or A, and it
//! decompresses R, so a non-canonical R encoding would pass. We keep strict verdicts by routing
//! every item that could tell the two apart to `verify_strict`, one by one:
//!
//! ```text
//! item ──> S canonical (s < l)?  R's y canonical (< p)?  R not small order (y table)?
//!          signer key torsion-free (checked once per distinct key)?
//!      yes ──> batch ──ok──> all valid
//!                    └─fail─> verify_strict each (finds the bad ones)
//!      no  ──> verify_strict alone
//! ```
//! What remains: a signature whose R has a small-order component but is not itself small order
//! fails `verify_strict` always, yet passes the batch equation when the batch's random 128-bit
//! weight for it kills that component (probability at most 1/2). Only the holder of the signing
//! key can make such an R (an RFC 8032 signer never does: R = [r]B), so the worst it buys a
//! trusted signer is that some followers count one of its own votes and others do not.
//! `SignedAttestation::verify` (single, used by the verifier tool) has no such gap.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signature, VerifyingKey};

use crate::keys::PublicKey;
use crate::signed::{SignedAttestation, VerifyError, signer_key};

/// A signer key decoded once, with whether its items may go through the batch equation.
#[derive(Clone, Copy, Debug)]
pub struct PreparedKey {
    /// The decoded key.
    pub key: VerifyingKey,
    /// Torsion-free keys give the batch equation the same verdicts as the strict one.
    pub batchable: bool,
}

impl PreparedKey {
    /// Decodes and classifies a signer key (one scalar multiplication: do it once per key).
    pub fn new(pk: &PublicKey) -> Result<Self, VerifyError> {
        let key = signer_key(pk)?;
        Ok(Self {
            key,
            batchable: key.to_edwards().is_torsion_free(),
        })
    }
}

/// Verifies each item with strict semantics, using one batch equation for the common case.
/// The verdicts are in input order.
pub fn verify_batch(items: &[SignedAttestation]) -> Vec<Result<(), VerifyError>> {
    let mut keys: BTreeMap<PublicKey, Result<PreparedKey, VerifyError>> = BTreeMap::new();
    for item in items {
        keys.entry(item.signer)
            .or_insert_with(|| PreparedKey::new(&item.signer));
    }
    verify_batch_with(items, |pk| {
        keys.get(pk)
            .copied()
            .unwrap_or(Err(VerifyError::InvalidPublicKey))
    })
}

/// As `verify_batch`, with signer keys prepared by the caller (a trust policy keeps them).
pub fn verify_batch_with(
    items: &[SignedAttestation],
    key_of: impl Fn(&PublicKey) -> Result<PreparedKey, VerifyError>,
) -> Vec<Result<(), VerifyError>> {
    let mut verdicts: Vec<Result<(), VerifyError>> = Vec::with_capacity(items.len());
    let mut batch_idx = Vec::with_capacity(items.len());
    let mut batch_keys = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let verdict = match key_of(&item.signer) {
            Err(e) => Err(e),
            Ok(pk) if pk.batchable && batch_safe(&item.signature) => {
                batch_idx.push(i);
                batch_keys.push(pk.key);
                Ok(())
            }
            Ok(pk) => item.verify_with(&pk.key),
        };
        verdicts.push(verdict);
    }
    if batch_idx.is_empty() {
        return verdicts;
    }
    let messages: Vec<_> = batch_idx
        .iter()
        .map(|&i| items[i].attestation.signing_message())
        .collect();
    let message_refs: Vec<&[u8]> = messages.iter().map(|m| m.as_slice()).collect();
    let signatures: Vec<Signature> = batch_idx.iter().map(|&i| items[i].signature).collect();
    if ed25519_dalek::verify_batch(&message_refs, &signatures, &batch_keys).is_err() {
        for (&i, key) in batch_idx.iter().zip(&batch_keys) {
            verdicts[i] = items[i].verify_with(key);
        }
    }
    verdicts
}

/// Whether the batch equation gives this signature the same verdict as `verify_strict`
/// (given a torsion-free signer key).
fn batch_safe(sig: &Signature) -> bool {
    let s_canonical = bool::from(Scalar::from_canonical_bytes(*sig.s_bytes()).is_some());
    let r = sig.r_bytes();
    s_canonical && y_is_canonical(r) && !is_small_order_encoding(r)
}

/// Whether the encoded y (little-endian, top bit is x's sign) is below p = 2^255 - 19.
fn y_is_canonical(enc: &[u8; 32]) -> bool {
    // y >= p only when bits 255..5 are all ones and the low byte is >= 0xed.
    let top_ones = enc[31] & 0x7f == 0x7f && enc[1..31].iter().all(|b| *b == 0xff);
    !(top_ones && enc[0] >= 0xed)
}

/// Whether a point encoding with canonical y decodes to a point of small order. Small-order
/// points are exactly the 8-torsion; a y value fixes a point up to the sign of x, and the
/// torsion group is closed under negation, so comparing y with the torsion points' y suffices.
fn is_small_order_encoding(enc: &[u8; 32]) -> bool {
    let mut y = *enc;
    y[31] &= 0x7f;
    TORSION_Y.contains(&y)
}

/// The y coordinates (encoded, sign bit cleared) of the eight small-order points, computed once
/// from curve25519-dalek's torsion table rather than typed in.
static TORSION_Y: LazyLock<[[u8; 32]; 8]> = LazyLock::new(|| {
    EIGHT_TORSION.map(|t| {
        let mut y = t.compress().to_bytes();
        y[31] &= 0x7f;
        y
    })
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attestation::tests::{arb_attestation, sample};
    use crate::signed::tests::rfc_test1_key;
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;

    fn signed_many(n: usize) -> Vec<SignedAttestation> {
        let keys: Vec<_> = (0..4u8)
            .map(|i| SigningKey::from_bytes(&[i + 1; 32]))
            .collect();
        (0..n)
            .map(|i| {
                let mut a = sample();
                a.block.number = i as u64;
                SignedAttestation::sign(a, &keys[i % keys.len()])
            })
            .collect()
    }

    #[test]
    fn all_valid_batch_passes() {
        let items = signed_many(37);
        assert!(verify_batch(&items).iter().all(|v| v.is_ok()));
        assert!(verify_batch(&[]).is_empty());
    }

    #[test]
    fn bad_items_are_found_and_others_stay_valid() {
        let mut items = signed_many(20);
        items[3].attestation.issued_at_ms += 1;
        items[11].signature = items[12].signature;
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        items[15].signer = PublicKey(off_curve);
        let v = verify_batch(&items);
        for (i, verdict) in v.iter().enumerate() {
            let expect = items[i].verify();
            assert_eq!(*verdict, expect, "item {i}");
            assert_eq!(verdict.is_err(), [3, 11, 15].contains(&i), "item {i}");
        }
    }

    #[test]
    fn non_canonical_s_goes_to_strict_and_fails() {
        let mut items = signed_many(8);
        let mut sig = items[2].signature.to_bytes();
        // S + l is the same scalar mod l but not canonical.
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for j in 0..32 {
            let sum = u16::from(sig[32 + j]) + u16::from(l[j]) + carry;
            sig[32 + j] = sum as u8;
            carry = sum >> 8;
        }
        items[2].signature = Signature::from_bytes(&sig);
        assert!(!batch_safe(&items[2].signature));
        let v = verify_batch(&items);
        assert_eq!(v[2], Err(VerifyError::BadSignature));
        assert!(v.iter().enumerate().all(|(i, r)| i == 2 || r.is_ok()));
    }

    #[test]
    fn small_order_table_matches_curve_arithmetic() {
        // Every canonical-y encoding of a torsion point, both signs, is caught...
        for t in EIGHT_TORSION.iter() {
            let enc = t.compress().to_bytes();
            assert!(is_small_order_encoding(&enc));
            let mut flipped = enc;
            flipped[31] ^= 0x80;
            assert!(is_small_order_encoding(&flipped));
            if let Some(p) = CompressedEdwardsY(flipped).decompress() {
                assert!(p.is_small_order());
            }
        }
        // ...and ordinary points are not.
        let r = rfc_test1_key().verifying_key().to_bytes();
        assert!(!is_small_order_encoding(&r));
    }

    #[test]
    fn canonical_y_boundary() {
        let mut p = [0xffu8; 32];
        p[31] = 0x7f;
        p[0] = 0xed; // exactly p
        assert!(!y_is_canonical(&p));
        p[0] = 0xec; // p - 1
        assert!(y_is_canonical(&p));
        p[31] = 0xff; // sign bit does not count
        p[0] = 0xee;
        assert!(!y_is_canonical(&p));
        assert!(y_is_canonical(&[0u8; 32]));
    }

    #[test]
    fn small_order_r_is_rejected_like_strict() {
        // A signature with R = identity and S = 0 satisfies the batch equation for any key with
        // k*A = 0 only; strict verification rejects it outright. Either way it must be invalid.
        let mut items = signed_many(4);
        let mut sig = [0u8; 64];
        sig[0] = 1; // R = identity (y = 1)
        items[1].signature = Signature::from_bytes(&sig);
        assert!(!batch_safe(&items[1].signature));
        let v = verify_batch(&items);
        assert_eq!(v[1], Err(VerifyError::BadSignature));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn batch_verdicts_equal_single_verdicts(
            atts in proptest::collection::vec(arb_attestation(), 1..12),
            tamper in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..314, 1u8..=255), 0..4),
        ) {
            let key = rfc_test1_key();
            let other = SigningKey::from_bytes(&[7; 32]);
            let mut wires: Vec<_> = atts
                .iter()
                .enumerate()
                .map(|(i, a)| SignedAttestation::sign(*a, if i % 2 == 0 { &key } else { &other }).to_wire())
                .collect();
            for (idx, byte, xor) in tamper {
                let i = idx.index(wires.len());
                wires[i][byte] ^= xor;
            }
            let items: Vec<_> = wires.iter().filter_map(|w| SignedAttestation::from_wire(w).ok()).collect();
            let batch = verify_batch(&items);
            let single: Vec<_> = items.iter().map(|s| s.verify()).collect();
            prop_assert_eq!(batch, single);
        }

        #[test]
        fn small_order_check_agrees_with_decompression(enc in any::<[u8; 32]>()) {
            if let Some(p) = CompressedEdwardsY(enc).decompress().filter(|_| y_is_canonical(&enc)) {
                prop_assert_eq!(is_small_order_encoding(&enc), p.is_small_order());
            }
        }
    }
}
