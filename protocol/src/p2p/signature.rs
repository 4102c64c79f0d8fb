//! Block signatures: what the unsafe block signer signs, signing it, and recovering the signer.
//!
//! ```text
//!   payload_hash = keccak256(payload)                               V1, V2
//!   payload_hash = keccak256(parent_beacon_root | payload)          V3, V4
//!   signing_hash = keccak256(domain[32] = 0 | chain_id as u256 BE | payload_hash)
//!   signature    = secp256k1(signing_hash) as r | s | y_parity (0 or 1)
//! ```
//!
//! op-alloy computes both hashes (`OpExecutionPayloadEnvelope::payload_hash`,
//! `PayloadHash::signature_message`); this module ties them to our `ChainId` and the signer.

use alloy::primitives::{Address, B256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use op_alloy_rpc_types_engine::{
    OpExecutionPayload, OpExecutionPayloadEnvelope, OpNetworkPayloadEnvelope, PayloadHash,
};

use crate::ChainId;
use crate::p2p::envelope::payload_version;
use crate::p2p::errors::SignatureError;

/// The hash of the signed bytes: the SSZ payload, behind the parent beacon block root from V3 on.
pub fn payload_hash(
    payload: &OpExecutionPayload,
    parent_beacon_block_root: Option<B256>,
) -> PayloadHash {
    OpExecutionPayloadEnvelope {
        parent_beacon_block_root,
        execution_payload: payload.clone(),
    }
    .payload_hash()
}

/// The digest the unsafe block signer signs for `payload_hash` on `chain_id`.
pub fn block_signing_hash(chain_id: ChainId, payload_hash: &PayloadHash) -> B256 {
    payload_hash.signature_message(chain_id.get())
}

/// Signs `payload` for gossip on `chain_id`, giving the envelope ready to encode.
///
/// A V3/V4 payload needs its parent beacon block root: it is part of the signed bytes.
pub fn sign_block(
    signer: &PrivateKeySigner,
    chain_id: ChainId,
    payload: OpExecutionPayload,
    parent_beacon_block_root: Option<B256>,
) -> Result<OpNetworkPayloadEnvelope, SignatureError> {
    let version = payload_version(&payload);
    if version.has_parent_beacon_block_root() != parent_beacon_block_root.is_some() {
        return Err(SignatureError::ParentBeaconBlockRoot(version));
    }
    let hash = payload_hash(&payload, parent_beacon_block_root);
    let signature = signer
        .sign_hash_sync(&block_signing_hash(chain_id, &hash))
        .map_err(|e| SignatureError::Sign(e.to_string()))?;
    Ok(OpNetworkPayloadEnvelope {
        payload,
        signature,
        payload_hash: hash,
        parent_beacon_block_root,
    })
}

/// The address whose key signed `envelope` for `chain_id`.
pub fn recover_signer(
    envelope: &OpNetworkPayloadEnvelope,
    chain_id: ChainId,
) -> Result<Address, SignatureError> {
    envelope
        .signature
        .recover_address_from_prehash(&block_signing_hash(chain_id, &envelope.payload_hash))
        .map_err(|e| SignatureError::Recover(e.to_string()))
}

/// Checks that `envelope` was signed for `chain_id` by `expected`.
pub fn verify_signer(
    envelope: &OpNetworkPayloadEnvelope,
    chain_id: ChainId,
    expected: Address,
) -> Result<(), SignatureError> {
    let recovered = recover_signer(envelope, chain_id)?;
    if recovered != expected {
        return Err(SignatureError::WrongSigner {
            recovered,
            expected,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{b256, keccak256};

    #[test]
    fn signing_hash_is_domain_chain_id_payload_hash() {
        let payload_hash = PayloadHash(keccak256(b"payload"));
        let chain_id = ChainId::from(11_155_420u64);
        let mut preimage = Vec::new();
        preimage.extend_from_slice(&[0u8; 32]);
        preimage.extend_from_slice(&chain_id.to_be_word());
        preimage.extend_from_slice(payload_hash.0.as_slice());
        assert_eq!(
            block_signing_hash(chain_id, &payload_hash),
            keccak256(&preimage)
        );
    }

    /// The known answer from op-alloy's test of `signature_message` (chain 10).
    #[test]
    fn signing_hash_known_answer() {
        let inner = b256!("9999999999999999999999999999999999999999999999999999999999999999");
        let hash = PayloadHash::from(inner.as_slice());
        assert_eq!(
            block_signing_hash(ChainId::from(10u64), &hash),
            b256!("44a0e2b1aba1aae1771eddae1dcd2ad18a8cdac8891517153f03253e49d3f206")
        );
    }

    /// The hash op-node's `BlockSigningHash` gave for a fixed payload (taiko-mono Go fixture).
    #[test]
    fn op_node_signing_hash_known_answer() {
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("testdata/op_node_signing_hash.json")).unwrap();
        let payload = alloy::primitives::hex::decode(fixture["payload"].as_str().unwrap()).unwrap();
        let chain_id: ChainId = fixture["chain_id"].as_str().unwrap().parse().unwrap();
        let expected: B256 = fixture["expected_hash"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            block_signing_hash(chain_id, &PayloadHash::from(payload.as_slice())),
            expected
        );
    }

    /// Build, sign, encode, decode, recover: for every topic version.
    #[test]
    fn round_trip_every_version() {
        use crate::p2p::envelope::{decode_block_message, encode_block_message};
        use crate::p2p::testutil::{SEQUENCER, payload, sequencer_key};
        use crate::p2p::topic::BlockTopicVersion;

        let chain_id = ChainId::from(11_155_420u64);
        for version in BlockTopicVersion::ALL {
            let (payload, root) = payload(version, 1000, 1_700_000_000);
            let signed = sign_block(&sequencer_key(), chain_id, payload.clone(), root).unwrap();
            let bytes = encode_block_message(&signed).unwrap();
            let decoded = decode_block_message(&bytes, version).unwrap();
            assert_eq!(decoded.payload, payload, "{version:?}");
            assert_eq!(decoded.parent_beacon_block_root, root);
            assert_eq!(decoded.payload_hash, signed.payload_hash, "{version:?}");
            assert_eq!(
                recover_signer(&decoded, chain_id).unwrap(),
                SEQUENCER,
                "{version:?}"
            );
            assert_eq!(verify_signer(&decoded, chain_id, SEQUENCER), Ok(()));
            // The chain id is signed over: another chain recovers someone else.
            assert_ne!(
                recover_signer(&decoded, ChainId::from(10u64)).unwrap(),
                SEQUENCER
            );
            // y_parity is written as 0 or 1, as the spec requires.
            let plain = snap::raw::Decoder::new().decompress_vec(&bytes).unwrap();
            assert!(plain[64] <= 1, "{version:?} v byte {}", plain[64]);
        }
    }

    #[test]
    fn sign_requires_root_exactly_from_v3() {
        use crate::p2p::testutil::{BEACON_ROOT, payload, sequencer_key};
        use crate::p2p::topic::BlockTopicVersion;

        let chain_id = ChainId::from(10u64);
        let (v3, _) = payload(BlockTopicVersion::V3, 1, 1);
        assert_eq!(
            sign_block(&sequencer_key(), chain_id, v3, None),
            Err(SignatureError::ParentBeaconBlockRoot(BlockTopicVersion::V3))
        );
        let (v2, _) = payload(BlockTopicVersion::V2, 1, 1);
        assert_eq!(
            sign_block(&sequencer_key(), chain_id, v2, Some(BEACON_ROOT)),
            Err(SignatureError::ParentBeaconBlockRoot(BlockTopicVersion::V2))
        );
    }

    #[test]
    fn wrong_signer_is_reported() {
        use crate::p2p::testutil::{SEQUENCER, payload, sequencer_key};
        use crate::p2p::topic::BlockTopicVersion;

        let chain_id = ChainId::from(10u64);
        let (p, root) = payload(BlockTopicVersion::V4, 5, 5);
        let signed = sign_block(&sequencer_key(), chain_id, p, root).unwrap();
        let other = Address::repeat_byte(0x42);
        assert_eq!(
            verify_signer(&signed, chain_id, other),
            Err(SignatureError::WrongSigner {
                recovered: SEQUENCER,
                expected: other
            })
        );
    }

    proptest::proptest! {
        /// Any payload of any version, on any chain: signed, encoded, decoded, recovered.
        #[test]
        fn sign_encode_decode_recover(
            v in 0u8..4,
            number in proptest::prelude::any::<u64>(),
            timestamp in proptest::prelude::any::<u64>(),
            gas_used in proptest::prelude::any::<u64>(),
            extra in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=32),
            chain in proptest::prelude::any::<u64>(),
        ) {
            use crate::p2p::envelope::{decode_block_message, encode_block_message};
            use crate::p2p::testutil::{SEQUENCER, payload_with, sequencer_key};
            use crate::p2p::topic::BlockTopicVersion;

            let version = BlockTopicVersion::from_topic_index(v).unwrap();
            let chain_id = ChainId::from(chain);
            let (payload, root) = payload_with(version, number, timestamp, |h| {
                h.gas_used = gas_used;
                h.extra_data = extra.into();
            });
            let signed = sign_block(&sequencer_key(), chain_id, payload, root).unwrap();
            let decoded = decode_block_message(&encode_block_message(&signed).unwrap(), version).unwrap();
            proptest::prop_assert_eq!(&decoded, &signed);
            proptest::prop_assert_eq!(recover_signer(&decoded, chain_id).unwrap(), SEQUENCER);
            proptest::prop_assert_eq!(crate::p2p::validation::check_block_hash(&decoded), Ok(()));
        }
    }
}
