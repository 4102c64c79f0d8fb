//! The unsafe-block gossip message: snappy block compression around a signature and a payload.
//!
//! ```text
//!   message = snappy_block( signature[65] | payload )                  V1, V2
//!   message = snappy_block( signature[65] | parent_beacon_root[32] | payload )   V3, V4
//!   payload = SSZ ExecutionPayload of the topic's version (V4: with the L2 withdrawals root)
//! ```
//!
//! Encoding is op-alloy's `OpNetworkPayloadEnvelope::encode_v1..v4`. Decoding reads the same
//! layout into the same types (op-alloy's SSZ payloads and `PayloadHash`) but adds what op-node
//! checks and op-alloy's `decode_v*` do not:
//! - the size gate: snappy announces the decompressed length in its header, so a message above
//!   10 MiB is refused on that number alone, before anything is allocated for it;
//! - a strict y-parity: op-node (geth's `SigToPub`) rejects a last signature byte other than 0
//!   or 1, while alloy also reads 27/28. Accepting those would let anyone re-encode a valid block
//!   into a second message that we relay and op-node peers penalize us for.

use alloy::primitives::{B256, Signature};
use alloy::rpc::types::engine::{ExecutionPayloadV1, ExecutionPayloadV2, ExecutionPayloadV3};
use op_alloy_rpc_types_engine::{
    OpExecutionPayload, OpExecutionPayloadV4, OpNetworkPayloadEnvelope, PayloadHash,
};
use ssz::Decode;

use crate::p2p::errors::EnvelopeError;
use crate::p2p::topic::BlockTopicVersion;

/// op-node's `maxGossipSize`: 10 MiB, the limit for a decompressed message (and a gossip frame).
pub const MAX_GOSSIP_SIZE: usize = 10 * (1 << 20);

/// op-node's `minGossipSize`: a signature and at least one payload byte.
pub const MIN_GOSSIP_SIZE: usize = 66;

/// Length of the secp256k1 signature in front of every message: `r | s | y_parity`.
pub const SIGNATURE_LEN: usize = 65;

/// Smallest decompressed message for a topic version (V3+ also carry the 32-byte root).
pub const fn min_message_len(version: BlockTopicVersion) -> usize {
    if version.has_parent_beacon_block_root() {
        SIGNATURE_LEN + 32 + 1
    } else {
        MIN_GOSSIP_SIZE
    }
}

/// The decompressed length a snappy block announces, checked against [`MAX_GOSSIP_SIZE`].
///
/// Reads only the length varint at the start of `data`; nothing is decompressed or allocated.
pub fn checked_decompressed_len(data: &[u8]) -> Result<usize, EnvelopeError> {
    let announced =
        snap::raw::decompress_len(data).map_err(|e| EnvelopeError::SnappyHeader(e.to_string()))?;
    if announced > MAX_GOSSIP_SIZE {
        return Err(EnvelopeError::TooLarge {
            announced,
            limit: MAX_GOSSIP_SIZE,
        });
    }
    Ok(announced)
}

/// The topic version a payload variant belongs to.
pub const fn payload_version(payload: &OpExecutionPayload) -> BlockTopicVersion {
    match payload {
        OpExecutionPayload::V1(_) => BlockTopicVersion::V1,
        OpExecutionPayload::V2(_) => BlockTopicVersion::V2,
        OpExecutionPayload::V3(_) => BlockTopicVersion::V3,
        OpExecutionPayload::V4(_) => BlockTopicVersion::V4,
    }
}

/// Decodes a gossip message received on a topic of `version`.
///
/// Checks the announced size first (op-node rejects above 10 MiB and below its minimum), then
/// decompresses once and reads the message with [`decode_decompressed`].
pub fn decode_block_message(
    data: &[u8],
    version: BlockTopicVersion,
) -> Result<OpNetworkPayloadEnvelope, EnvelopeError> {
    let announced = checked_decompressed_len(data)?;
    let minimum = min_message_len(version);
    if announced < minimum {
        return Err(EnvelopeError::TooSmall { announced, minimum });
    }
    let plain = snap::raw::Decoder::new()
        .decompress_vec(data)
        .map_err(|e| EnvelopeError::Snappy(e.to_string()))?;
    decode_decompressed(&plain, version)
}

/// Reads an already decompressed message: `signature | [parent_beacon_root |] SSZ payload`.
///
/// The payload hash in the result covers exactly the bytes after the signature: the bytes the
/// unsafe block signer signed.
pub fn decode_decompressed(
    plain: &[u8],
    version: BlockTopicVersion,
) -> Result<OpNetworkPayloadEnvelope, EnvelopeError> {
    let minimum = min_message_len(version);
    let (signature, signed) = plain
        .split_first_chunk::<SIGNATURE_LEN>()
        .filter(|_| plain.len() >= minimum)
        .ok_or(EnvelopeError::TooSmall {
            announced: plain.len(),
            minimum,
        })?;
    let y_parity = signature[SIGNATURE_LEN - 1];
    if y_parity > 1 {
        return Err(EnvelopeError::YParity(y_parity));
    }
    let signature =
        Signature::from_raw_array(signature).map_err(|_| EnvelopeError::YParity(y_parity))?;

    let (parent_beacon_block_root, ssz, offset) = if version.has_parent_beacon_block_root() {
        let (root, ssz) = signed
            .split_first_chunk::<32>()
            .ok_or(EnvelopeError::TooSmall {
                announced: plain.len(),
                minimum,
            })?;
        (Some(B256::from(*root)), ssz, SIGNATURE_LEN + 32)
    } else {
        (None, signed, SIGNATURE_LEN)
    };
    let ssz_err = |e: ssz::DecodeError| EnvelopeError::Ssz {
        version,
        offset,
        reason: format!("{e:?}"),
    };
    let payload = decode_payload_ssz(version, ssz).map_err(ssz_err)?;
    Ok(OpNetworkPayloadEnvelope {
        payload,
        signature,
        payload_hash: PayloadHash::from(signed),
        parent_beacon_block_root,
    })
}

/// Decodes the SSZ execution payload of a topic version (gossip and req/resp share it).
pub(crate) fn decode_payload_ssz(
    version: BlockTopicVersion,
    ssz: &[u8],
) -> Result<OpExecutionPayload, ssz::DecodeError> {
    Ok(match version {
        BlockTopicVersion::V1 => OpExecutionPayload::V1(ExecutionPayloadV1::from_ssz_bytes(ssz)?),
        BlockTopicVersion::V2 => OpExecutionPayload::V2(ExecutionPayloadV2::from_ssz_bytes(ssz)?),
        BlockTopicVersion::V3 => OpExecutionPayload::V3(ExecutionPayloadV3::from_ssz_bytes(ssz)?),
        BlockTopicVersion::V4 => OpExecutionPayload::V4(OpExecutionPayloadV4::from_ssz_bytes(ssz)?),
    })
}

/// Encodes a signed envelope as a gossip message for the topic of its payload's version.
///
/// Refuses what op-node peers would reject: a V3/V4 payload without its parent beacon block
/// root, or a message that decompresses to more than [`MAX_GOSSIP_SIZE`].
pub fn encode_block_message(envelope: &OpNetworkPayloadEnvelope) -> Result<Vec<u8>, EnvelopeError> {
    let version = payload_version(&envelope.payload);
    // op-alloy unwraps the root for V3/V4; check it here so that cannot panic.
    if version.has_parent_beacon_block_root() && envelope.parent_beacon_block_root.is_none() {
        return Err(EnvelopeError::MissingParentBeaconBlockRoot(version));
    }
    let encoded = match version {
        BlockTopicVersion::V1 => envelope.encode_v1(),
        BlockTopicVersion::V2 => envelope.encode_v2(),
        BlockTopicVersion::V3 => envelope.encode_v3(),
        BlockTopicVersion::V4 => envelope.encode_v4(),
    }
    .map_err(|e| EnvelopeError::Compress(e.to_string()))?;
    checked_decompressed_len(&encoded)?;
    Ok(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::hex;
    use proptest::prelude::*;

    /// A snappy block header (uvarint length) announcing `len` bytes, followed by no data.
    fn header_only(len: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut v = len;
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
        out
    }

    #[test]
    fn oversize_is_refused_from_the_header_alone() {
        // 4 GiB - 1 announced in 5 bytes: decoding must not try to allocate it.
        let bomb = header_only(u32::MAX as u64);
        assert_eq!(
            decode_block_message(&bomb, BlockTopicVersion::V1),
            Err(EnvelopeError::TooLarge {
                announced: u32::MAX as usize,
                limit: MAX_GOSSIP_SIZE
            })
        );
        let just_over = header_only(MAX_GOSSIP_SIZE as u64 + 1);
        assert!(matches!(
            decode_block_message(&just_over, BlockTopicVersion::V4),
            Err(EnvelopeError::TooLarge { .. })
        ));
        // At the limit the header passes; the (missing) body then fails to decompress.
        let at_limit = header_only(MAX_GOSSIP_SIZE as u64);
        assert_eq!(checked_decompressed_len(&at_limit), Ok(MAX_GOSSIP_SIZE));
        assert!(matches!(
            decode_block_message(&at_limit, BlockTopicVersion::V1),
            Err(EnvelopeError::Snappy(_))
        ));
    }

    #[test]
    fn undersize_is_refused() {
        let small = snap::raw::Encoder::new().compress_vec(&[0u8; 65]).unwrap();
        assert_eq!(
            decode_block_message(&small, BlockTopicVersion::V2),
            Err(EnvelopeError::TooSmall {
                announced: 65,
                minimum: 66
            })
        );
        let small_v3 = snap::raw::Encoder::new().compress_vec(&[0u8; 97]).unwrap();
        assert_eq!(
            decode_block_message(&small_v3, BlockTopicVersion::V3),
            Err(EnvelopeError::TooSmall {
                announced: 97,
                minimum: 98
            })
        );
    }

    #[test]
    fn malformed_header_is_refused() {
        // snappy reads an empty input as announcing 0 bytes.
        assert_eq!(
            decode_block_message(&[], BlockTopicVersion::V1),
            Err(EnvelopeError::TooSmall {
                announced: 0,
                minimum: 66
            })
        );
        assert!(matches!(
            decode_block_message(&[0xff; 11], BlockTopicVersion::V1),
            Err(EnvelopeError::SnappyHeader(_))
        ));
    }

    /// Gossip messages from op-alloy's test suite (originally captured for kona): decoding and
    /// re-encoding reproduces them byte for byte, and the timestamps are the known ones.
    #[test]
    fn public_vectors_decode_and_reencode() {
        let cases: [(BlockTopicVersion, &str, u64); 4] = [
            (
                BlockTopicVersion::V1,
                include_str!("testdata/gossip_v1.hex"),
                1725271882,
            ),
            (
                BlockTopicVersion::V2,
                include_str!("testdata/gossip_v2.hex"),
                1708427627,
            ),
            (
                BlockTopicVersion::V3,
                include_str!("testdata/gossip_v3.hex"),
                1708427461,
            ),
            (
                BlockTopicVersion::V4,
                include_str!("testdata/gossip_v4.hex"),
                1741842007,
            ),
        ];
        for (version, hex_text, timestamp) in cases {
            let data = hex::decode(hex_text.trim()).unwrap();
            let envelope = decode_block_message(&data, version).unwrap();
            assert_eq!(envelope.payload.timestamp(), timestamp, "{version:?}");
            assert_eq!(payload_version(&envelope.payload), version);
            assert_eq!(
                encode_block_message(&envelope).unwrap(),
                data,
                "{version:?}"
            );
            // The same bytes on another topic do not decode as a valid message of that version,
            // or decode to a different payload variant that the topic check catches.
            for other in BlockTopicVersion::ALL.into_iter().filter(|v| *v != version) {
                if let Ok(e) = decode_block_message(&data, other) {
                    assert_eq!(payload_version(&e.payload), other);
                }
            }
        }
    }

    /// The same vectors through op-alloy's own decoders give the same envelopes.
    #[test]
    fn decoding_agrees_with_op_alloy() {
        let cases: [(BlockTopicVersion, &str); 4] = [
            (
                BlockTopicVersion::V1,
                include_str!("testdata/gossip_v1.hex"),
            ),
            (
                BlockTopicVersion::V2,
                include_str!("testdata/gossip_v2.hex"),
            ),
            (
                BlockTopicVersion::V3,
                include_str!("testdata/gossip_v3.hex"),
            ),
            (
                BlockTopicVersion::V4,
                include_str!("testdata/gossip_v4.hex"),
            ),
        ];
        for (version, hex_text) in cases {
            let data = hex::decode(hex_text.trim()).unwrap();
            let theirs = match version {
                BlockTopicVersion::V1 => OpNetworkPayloadEnvelope::decode_v1(&data),
                BlockTopicVersion::V2 => OpNetworkPayloadEnvelope::decode_v2(&data),
                BlockTopicVersion::V3 => OpNetworkPayloadEnvelope::decode_v3(&data),
                BlockTopicVersion::V4 => OpNetworkPayloadEnvelope::decode_v4(&data),
            }
            .unwrap();
            assert_eq!(
                decode_block_message(&data, version).unwrap(),
                theirs,
                "{version:?}"
            );
        }
    }

    #[test]
    fn y_parity_must_be_zero_or_one() {
        let data = hex::decode(include_str!("testdata/gossip_v2.hex").trim()).unwrap();
        let mut plain = snap::raw::Decoder::new().decompress_vec(&data).unwrap();
        let parity = plain[64];
        assert!(parity <= 1);
        // Same signature, parity written the Electrum way: op-node rejects it, so do we.
        plain[64] = parity + 27;
        let mutated = snap::raw::Encoder::new().compress_vec(&plain).unwrap();
        assert_eq!(
            decode_block_message(&mutated, BlockTopicVersion::V2),
            Err(EnvelopeError::YParity(parity + 27))
        );
        // op-alloy's decoder would have read it.
        assert!(OpNetworkPayloadEnvelope::decode_v2(&mutated).is_ok());
    }

    #[test]
    fn ssz_errors_name_the_offset() {
        let plain = [0u8; 98];
        let data = snap::raw::Encoder::new().compress_vec(&plain).unwrap();
        assert!(matches!(
            decode_block_message(&data, BlockTopicVersion::V3),
            Err(EnvelopeError::Ssz { offset: 97, .. })
        ));
        assert!(matches!(
            decode_block_message(&data, BlockTopicVersion::V1),
            Err(EnvelopeError::Ssz { offset: 65, .. })
        ));
    }

    #[test]
    fn encode_refuses_v3_without_root() {
        let data = hex::decode(include_str!("testdata/gossip_v3.hex").trim()).unwrap();
        let mut envelope = decode_block_message(&data, BlockTopicVersion::V3).unwrap();
        envelope.parent_beacon_block_root = None;
        assert_eq!(
            encode_block_message(&envelope),
            Err(EnvelopeError::MissingParentBeaconBlockRoot(
                BlockTopicVersion::V3
            ))
        );
    }

    proptest! {
        #[test]
        fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512), v in 0u8..4) {
            let version = BlockTopicVersion::from_topic_index(v).unwrap();
            let _ = decode_block_message(&data, version);
        }

        #[test]
        fn decode_never_panics_on_valid_snappy(raw in proptest::collection::vec(any::<u8>(), 0..1024), v in 0u8..4) {
            let version = BlockTopicVersion::from_topic_index(v).unwrap();
            let data = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
            let _ = decode_block_message(&data, version);
            let _ = decode_decompressed(&raw, version);
        }
    }
}
