//! What a node does with an attestation gossip message, decided before gossipsub may forward it.
//!
//! ```text
//!   topic not /opfleet/<id>/attest/1, or <id> not followed ──► Ignore  (no penalty)
//!   not 314 bytes / not a canonical attestation v1 ──────────► Reject  (sender scored down)
//!   attestation.chain_id != topic chain ─────────────────────► Reject
//!   strict Ed25519 verification fails ───────────────────────► Reject
//!   otherwise ───────────────────────────────────────────────► Accept: deliver and forward
//! ```
//!
//! Whether the signer is trusted is not judged here: that is the subscriber's trust policy.

use std::collections::HashSet;

use opfleet_attest::{SignedAttestation, VerifyError, WireError};
use opfleet_protocol::ChainId;

use crate::attest::topic::{AttestTopic, NotAnAttestTopic};

/// Why a message is dropped without blaming its sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreReason {
    /// The topic is not an attestation topic.
    #[error(transparent)]
    NotAnAttestTopic(#[from] NotAnAttestTopic),
    /// An attestation topic of a chain this node does not follow.
    #[error("chain {0} is not followed by this node")]
    ChainNotFollowed(ChainId),
}

/// Why a message is invalid: its sender is penalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    /// The bytes are not a signed attestation's wire form.
    #[error("malformed: {0}")]
    Wire(#[from] WireError),
    /// A valid attestation published on another chain's topic.
    #[error("attestation of chain {attestation} on the topic of chain {topic}")]
    ChainMismatch {
        /// The chain of the topic.
        topic: ChainId,
        /// The chain inside the attestation.
        attestation: ChainId,
    },
    /// The signature does not verify strictly under the embedded signer key.
    #[error("signature: {0}")]
    Signature(#[from] VerifyError),
}

/// The verdict on one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Valid: deliver and forward.
    Accept(Box<SignedAttestation>),
    /// Drop, no penalty.
    Ignore(IgnoreReason),
    /// Drop and penalise the sender.
    Reject(RejectReason),
}

/// Judges `data` received on `topic` by a node that follows `chains`.
pub fn validate(topic: &str, data: &[u8], chains: &HashSet<ChainId>) -> Verdict {
    let topic = match topic.parse::<AttestTopic>() {
        Ok(t) => t,
        Err(e) => return Verdict::Ignore(e.into()),
    };
    if !chains.contains(&topic.chain_id) {
        return Verdict::Ignore(IgnoreReason::ChainNotFollowed(topic.chain_id));
    }
    let signed = match SignedAttestation::from_wire(data) {
        Ok(s) => s,
        Err(e) => return Verdict::Reject(e.into()),
    };
    if signed.attestation.chain_id != topic.chain_id {
        return Verdict::Reject(RejectReason::ChainMismatch {
            topic: topic.chain_id,
            attestation: signed.attestation.chain_id,
        });
    }
    match signed.verify() {
        Ok(()) => Verdict::Accept(Box::new(signed)),
        Err(e) => Verdict::Reject(e.into()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloy::primitives::B256;
    use opfleet_attest::{Attestation, AttestationKind, SigningKey};
    use opfleet_protocol::{BlockId, L2BlockRef};

    /// A safe attestation of block `number` of `chain`, signed with a fixed test key.
    pub(crate) fn signed(chain: u64, number: u64) -> SignedAttestation {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let attestation = Attestation {
            kind: AttestationKind::Safe,
            chain_id: ChainId::from(chain),
            block: L2BlockRef {
                hash: B256::repeat_byte(1),
                number,
                parent_hash: B256::repeat_byte(2),
                timestamp: 1_700_000_000,
                l1_origin: BlockId {
                    hash: B256::repeat_byte(3),
                    number: 100,
                },
                sequence_number: 0,
            },
            derived_from: BlockId {
                hash: B256::repeat_byte(4),
                number: 101,
            },
            output_root: B256::repeat_byte(5),
            issued_at_ms: 1_700_000_000_000,
        };
        SignedAttestation::sign(attestation, &key)
    }

    fn chains() -> HashSet<ChainId> {
        [ChainId::from(901u64), ChainId::from(902u64)].into()
    }

    #[test]
    fn valid_attestation_is_accepted() {
        let s = signed(901, 5);
        assert_eq!(
            validate("/opfleet/901/attest/1", &s.to_wire(), &chains()),
            Verdict::Accept(Box::new(s))
        );
    }

    #[test]
    fn unfollowed_chain_and_foreign_topics_are_ignored() {
        let s = signed(903, 5);
        assert_eq!(
            validate("/opfleet/903/attest/1", &s.to_wire(), &chains()),
            Verdict::Ignore(IgnoreReason::ChainNotFollowed(ChainId::from(903u64)))
        );
        assert!(matches!(
            validate("/optimism/901/2/blocks", &s.to_wire(), &chains()),
            Verdict::Ignore(IgnoreReason::NotAnAttestTopic(_))
        ));
    }

    #[test]
    fn malformed_misrouted_and_tampered_are_rejected() {
        let topic = "/opfleet/901/attest/1";
        let wire = signed(901, 5).to_wire();
        assert_eq!(
            validate(topic, &wire[..313], &chains()),
            Verdict::Reject(RejectReason::Wire(WireError::WrongLength(313)))
        );
        let mut bad_version = wire;
        bad_version[0] = 2;
        assert!(matches!(
            validate(topic, &bad_version, &chains()),
            Verdict::Reject(RejectReason::Wire(WireError::Attestation(_)))
        ));
        assert_eq!(
            validate(topic, &signed(902, 5).to_wire(), &chains()),
            Verdict::Reject(RejectReason::ChainMismatch {
                topic: ChainId::from(901u64),
                attestation: ChainId::from(902u64),
            })
        );
        // l2_number is at offset 42 (version 1, kind 1, chain 8, hash 32).
        let mut tampered = wire;
        tampered[49] ^= 1;
        assert_eq!(
            validate(topic, &tampered, &chains()),
            Verdict::Reject(RejectReason::Signature(VerifyError::BadSignature))
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_never_accepts_noise(data in proptest::collection::vec(0u8.., 0..400)) {
            let verdict = validate("/opfleet/901/attest/1", &data, &chains());
            proptest::prop_assert!(matches!(verdict, Verdict::Reject(_)));
        }
    }
}
