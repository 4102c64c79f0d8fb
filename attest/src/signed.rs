//! A signed attestation: its 314-byte wire form, its JSON form, signing and strict verification.
//!
//! ```text
//! wire:  canonical attestation [218] | signer public key [32] | signature [64]   = 314 bytes
//! JSON:  {"version":1,"kind":"safe","chainId":"11155420","block":<L2BlockRef>,
//!         "derivedFrom":{"hash","number"},"outputRoot","issuedAt","signer","signature"}
//! ```
//! The signature is pure Ed25519 (RFC 8032) over `Attestation::signing_message`. Verification
//! is dalek's `verify_strict`: canonical S, R and A not of small order, cofactorless equation.

use alloy::primitives::{B256, B512};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use opfleet_protocol::{BlockId, ChainId, L2BlockRef};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::attestation::{
    ATTESTATION_VERSION, Attestation, AttestationKind, CANONICAL_LEN, DecodeError,
};
use crate::keys::PublicKey;

/// Length of the wire form: canonical bytes, public key, signature.
pub const WIRE_LEN: usize = CANONICAL_LEN + 32 + 64;

/// An attestation with its signer's public key and Ed25519 signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignedAttestation {
    /// What is attested.
    pub attestation: Attestation,
    /// Who claims to have signed it.
    pub signer: PublicKey,
    /// Ed25519 signature over `attestation.signing_message()`.
    pub signature: Signature,
}

/// Wire bytes that are not a signed attestation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Not exactly 314 bytes.
    #[error("signed attestation must be exactly {WIRE_LEN} bytes, got {0}")]
    WrongLength(usize),
    /// The first 218 bytes are not a canonical attestation.
    #[error("signed attestation, bytes 0..218: {0}")]
    Attestation(#[from] DecodeError),
}

/// Why a signed attestation does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum VerifyError {
    /// The signer bytes do not decode to a curve point.
    #[error("signer public key is not a valid ed25519 point")]
    InvalidPublicKey,
    /// The signer key has small order: strict verification accepts nothing from it.
    #[error("signer public key has small order (a weak key)")]
    WeakPublicKey,
    /// Strict Ed25519 verification failed.
    #[error("signature does not verify under strict Ed25519 (RFC 8032) verification")]
    BadSignature,
}

impl SignedAttestation {
    /// Signs `attestation` with `key`.
    pub fn sign(attestation: Attestation, key: &SigningKey) -> Self {
        Self {
            attestation,
            signer: PublicKey::of(key),
            signature: key.sign(&attestation.signing_message()),
        }
    }

    /// The 314-byte wire form.
    pub fn to_wire(&self) -> [u8; WIRE_LEN] {
        let mut out = [0u8; WIRE_LEN];
        let (canonical, rest) = out.split_at_mut(CANONICAL_LEN);
        canonical.copy_from_slice(&self.attestation.to_canonical_bytes());
        let (signer, signature) = rest.split_at_mut(32);
        signer.copy_from_slice(self.signer.as_bytes());
        signature.copy_from_slice(&self.signature.to_bytes());
        out
    }

    /// Decodes the wire form; does not verify the signature.
    pub fn from_wire(bytes: &[u8]) -> Result<Self, WireError> {
        let buf: &[u8; WIRE_LEN] = bytes
            .try_into()
            .map_err(|_| WireError::WrongLength(bytes.len()))?;
        let (canonical, rest) = buf.split_at(CANONICAL_LEN);
        let (signer, signature) = rest.split_at(32);
        let attestation = Attestation::from_canonical_bytes(canonical)?;
        let mut pk = [0u8; 32];
        pk.copy_from_slice(signer);
        let mut sig = [0u8; 64];
        sig.copy_from_slice(signature);
        Ok(Self {
            attestation,
            signer: PublicKey(pk),
            signature: Signature::from_bytes(&sig),
        })
    }

    /// Strict verification against the embedded signer key.
    pub fn verify(&self) -> Result<(), VerifyError> {
        let key = signer_key(&self.signer)?;
        self.verify_with(&key)
    }

    /// Strict verification against an already decoded key (which must be `self.signer`).
    pub fn verify_with(&self, key: &VerifyingKey) -> Result<(), VerifyError> {
        key.verify_strict(&self.attestation.signing_message(), &self.signature)
            .map_err(|_| VerifyError::BadSignature)
    }
}

/// Decodes a signer key, rejecting points strict verification would never accept.
pub fn signer_key(pk: &PublicKey) -> Result<VerifyingKey, VerifyError> {
    let key = VerifyingKey::from_bytes(pk.as_bytes()).map_err(|_| VerifyError::InvalidPublicKey)?;
    if key.is_weak() {
        return Err(VerifyError::WeakPublicKey);
    }
    Ok(key)
}

/// DESIGN's JSON shape, field for field.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Json {
    version: u8,
    kind: AttestationKind,
    chain_id: ChainId,
    block: L2BlockRef,
    derived_from: BlockId,
    output_root: B256,
    issued_at: u64,
    signer: PublicKey,
    signature: B512,
}

impl Serialize for SignedAttestation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = &self.attestation;
        Json {
            version: ATTESTATION_VERSION,
            kind: a.kind,
            chain_id: a.chain_id,
            block: a.block,
            derived_from: a.derived_from,
            output_root: a.output_root,
            issued_at: a.issued_at_ms,
            signer: self.signer,
            signature: B512::from(self.signature.to_bytes()),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for SignedAttestation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = Json::deserialize(d)?;
        if j.version != ATTESTATION_VERSION {
            return Err(serde::de::Error::custom(format!(
                "unsupported attestation version {} in field \"version\" (expected {ATTESTATION_VERSION})",
                j.version
            )));
        }
        Ok(Self {
            attestation: Attestation {
                kind: j.kind,
                chain_id: j.chain_id,
                block: j.block,
                derived_from: j.derived_from,
                output_root: j.output_root,
                issued_at_ms: j.issued_at,
            },
            signer: j.signer,
            signature: Signature::from_bytes(&j.signature.0),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::attestation::tests::{arb_attestation, sample};
    use alloy::primitives::hex;
    use proptest::prelude::*;

    /// RFC 8032 section 7.1, TEST 1: secret key, public key, and the signature of the empty
    /// message.
    const RFC_SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const RFC_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const RFC_SIG_EMPTY: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    pub(crate) fn rfc_test1_key() -> SigningKey {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(RFC_SECRET, &mut seed).unwrap();
        SigningKey::from_bytes(&seed)
    }

    #[test]
    fn rfc8032_test1_known_answer() {
        let key = rfc_test1_key();
        assert_eq!(hex::encode(key.verifying_key().to_bytes()), RFC_PUBLIC);
        assert_eq!(hex::encode(key.sign(b"").to_bytes()), RFC_SIG_EMPTY);
    }

    #[test]
    fn signs_the_domain_separated_message() {
        let key = rfc_test1_key();
        let s = SignedAttestation::sign(sample(), &key);
        assert_eq!(s.signer.to_string(), format!("0x{RFC_PUBLIC}"));
        // Independently: plain Ed25519 over domain | 0x00 | canonical.
        let mut msg = b"OPFLEET-ATTESTATION-V1".to_vec();
        msg.push(0);
        msg.extend_from_slice(&sample().to_canonical_bytes());
        assert_eq!(s.signature, key.sign(&msg));
        assert!(
            key.verifying_key()
                .verify_strict(&msg, &s.signature)
                .is_ok()
        );
        assert_eq!(s.verify(), Ok(()));
    }

    #[test]
    fn wire_layout_and_round_trip() {
        let key = rfc_test1_key();
        let s = SignedAttestation::sign(sample(), &key);
        let w = s.to_wire();
        assert_eq!(w.len(), 314);
        assert_eq!(&w[..218], &sample().to_canonical_bytes());
        assert_eq!(hex::encode(&w[218..250]), RFC_PUBLIC);
        assert_eq!(&w[250..], &s.signature.to_bytes());
        assert_eq!(SignedAttestation::from_wire(&w), Ok(s));
    }

    #[test]
    fn wire_rejections() {
        let w = SignedAttestation::sign(sample(), &rfc_test1_key()).to_wire();
        assert_eq!(
            SignedAttestation::from_wire(&w[..313]),
            Err(WireError::WrongLength(313))
        );
        let mut v = w;
        v[0] = 2;
        assert_eq!(
            SignedAttestation::from_wire(&v),
            Err(WireError::Attestation(DecodeError::UnsupportedVersion(2)))
        );
        let mut k = w;
        k[1] = 0;
        assert_eq!(
            SignedAttestation::from_wire(&k),
            Err(WireError::Attestation(DecodeError::UnknownKind(0)))
        );
    }

    #[test]
    fn tampering_any_wire_byte_fails() {
        let w = SignedAttestation::sign(sample(), &rfc_test1_key()).to_wire();
        for i in 0..WIRE_LEN {
            for flip in [0x01u8, 0x80] {
                let mut t = w;
                t[i] ^= flip;
                let ok = SignedAttestation::from_wire(&t).is_ok_and(|s| s.verify().is_ok());
                assert!(!ok, "flipping bit {flip:#x} of byte {i} still verifies");
            }
        }
    }

    #[test]
    fn json_matches_design_shape() {
        let s = SignedAttestation::sign(sample(), &rfc_test1_key());
        let v = serde_json::to_value(s).unwrap();
        let obj = v.as_object().unwrap();
        let mut keys: Vec<_> = obj.keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "block",
                "chainId",
                "derivedFrom",
                "issuedAt",
                "kind",
                "outputRoot",
                "signature",
                "signer",
                "version"
            ]
        );
        assert_eq!(v["version"], 1);
        assert_eq!(v["kind"], "safe");
        assert_eq!(v["chainId"], "11155420");
        assert_eq!(v["issuedAt"], 1_700_000_000_123u64);
        assert_eq!(v["block"]["number"], 0x0102_0304_0506_0708u64);
        assert_eq!(v["block"]["l1origin"]["number"], 9);
        assert_eq!(v["block"]["sequenceNumber"], 2);
        assert_eq!(v["derivedFrom"]["number"], 10);
        assert_eq!(v["outputRoot"], format!("0x{}", "55".repeat(32)));
        assert_eq!(v["signer"], format!("0x{RFC_PUBLIC}"));
        assert_eq!(
            v["signature"],
            format!("0x{}", hex::encode(s.signature.to_bytes()))
        );
        let back: SignedAttestation = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn json_rejects_other_versions_and_kinds() {
        let s = SignedAttestation::sign(sample(), &rfc_test1_key());
        let mut v = serde_json::to_value(s).unwrap();
        v["version"] = 2.into();
        let err = serde_json::from_value::<SignedAttestation>(v.clone()).unwrap_err();
        assert!(err.to_string().contains("version 2"), "{err}");
        v["version"] = 1.into();
        v["kind"] = "unsafe".into();
        assert!(serde_json::from_value::<SignedAttestation>(v).is_err());
    }

    #[test]
    fn weak_and_invalid_signer_keys_are_named() {
        let mut s = SignedAttestation::sign(sample(), &rfc_test1_key());
        // The identity point (y = 1) has order 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        s.signer = PublicKey(identity);
        assert_eq!(s.verify(), Err(VerifyError::WeakPublicKey));
        // y = 2 is not the y coordinate of any curve point.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        s.signer = PublicKey(off_curve);
        assert_eq!(s.verify(), Err(VerifyError::InvalidPublicKey));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn signed_round_trips(a in arb_attestation(), seed in any::<[u8; 32]>()) {
            let s = SignedAttestation::sign(a, &SigningKey::from_bytes(&seed));
            prop_assert_eq!(SignedAttestation::from_wire(&s.to_wire()), Ok(s));
            let json = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(serde_json::from_str::<SignedAttestation>(&json).unwrap(), s);
            prop_assert_eq!(s.verify(), Ok(()));
        }

        #[test]
        fn wire_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
            if let Ok(s) = SignedAttestation::from_wire(&bytes) {
                let _ = s.verify();
            }
        }

        #[test]
        fn tampering_a_random_byte_fails(
            a in arb_attestation(),
            seed in any::<[u8; 32]>(),
            idx in 0..WIRE_LEN,
            xor in 1u8..=255,
        ) {
            let mut w = SignedAttestation::sign(a, &SigningKey::from_bytes(&seed)).to_wire();
            w[idx] ^= xor;
            let ok = SignedAttestation::from_wire(&w).is_ok_and(|s| s.verify().is_ok());
            prop_assert!(!ok);
        }
    }
}
