//! The `payload_by_number` request/response protocol (alt-sync of unsafe blocks), as pure
//! encoders and decoders of the bytes written to and read from one libp2p stream.
//!
//! ```text
//!   request  = block_number u64 LE                                  (exactly 8 bytes)
//!   response = result u8                                            (0 success, 1 not found,
//!              [ version u32 LE | snappy_framed(body) ]  if result = 0   2 invalid, 3+ error)
//!   body     = version 0: SSZ ExecutionPayload (V1 before Canyon, V2 from Canyon)
//!              version 1: parent_beacon_root[32] | SSZ ExecutionPayloadV3   (Ecotone)
//!              version 2: parent_beacon_root[32] | SSZ Isthmus payload      (Isthmus)
//! ```
//!
//! Unlike gossip, the body uses snappy *framing*. Raw responses and their decompressed bodies
//! are both capped at 10 MiB, as op-node caps its stream readers.

use std::io::{Read, Write};

use alloy::primitives::B256;
use op_alloy_rpc_types_engine::OpExecutionPayloadEnvelope;
use ssz::Encode;

use crate::ChainId;
use crate::p2p::envelope::{MAX_GOSSIP_SIZE, decode_payload_ssz, payload_version};
use crate::p2p::errors::ReqRespError;
use crate::p2p::topic::BlockTopicVersion;

/// Limit for a raw response and for its decompressed body (op-node reads at most `maxGossipSize`).
pub const MAX_RESPONSE_SIZE: usize = MAX_GOSSIP_SIZE;

/// Response version of a pre-Ecotone payload without envelope.
pub const RESPONSE_VERSION_PAYLOAD: u32 = 0;
/// Response version of an Ecotone envelope (parent beacon block root + V3 payload).
pub const RESPONSE_VERSION_ECOTONE_ENVELOPE: u32 = 1;
/// Response version of an Isthmus envelope (parent beacon block root + V4 payload), per the spec.
pub const RESPONSE_VERSION_ISTHMUS_ENVELOPE: u32 = 2;

/// The protocol id op-node registers: `/opstack/req/payload_by_number/<chainId>/0`.
///
/// op-node's `PayloadByNumberProtocolID` has no trailing slash; the spec text (and kona) end the
/// id with `/`. Protocol negotiation compares ids exactly, so op-node's form is the one to dial.
pub fn payload_by_number_protocol_id(chain_id: ChainId) -> String {
    format!("/opstack/req/payload_by_number/{}/0", chain_id.get())
}

/// The spec's (and kona's) spelling of the protocol id, with the trailing `/`; worth accepting too.
pub fn payload_by_number_protocol_id_spec(chain_id: ChainId) -> String {
    format!("/opstack/req/payload_by_number/{}/0/", chain_id.get())
}

/// The request for block `number`.
pub fn encode_request(number: u64) -> [u8; 8] {
    number.to_le_bytes()
}

/// The block number asked for by a request.
pub fn decode_request(bytes: &[u8]) -> Result<u64, ReqRespError> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| ReqRespError::RequestLength(bytes.len()))?;
    Ok(u64::from_le_bytes(array))
}

/// The result byte at the start of every response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultCode {
    /// `0`: a version and payload follow.
    Success,
    /// `1`: valid request, payload unavailable.
    NotFound,
    /// `2`: invalid request.
    InvalidRequest,
    /// `3` and above: any other error (`>= 128` reserved).
    Other(u8),
}

impl From<u8> for ResultCode {
    fn from(byte: u8) -> Self {
        match byte {
            0 => Self::Success,
            1 => Self::NotFound,
            2 => Self::InvalidRequest,
            other => Self::Other(other),
        }
    }
}

impl From<ResultCode> for u8 {
    fn from(code: ResultCode) -> Self {
        match code {
            ResultCode::Success => 0,
            ResultCode::NotFound => 1,
            ResultCode::InvalidRequest => 2,
            ResultCode::Other(other) => other,
        }
    }
}

/// A decoded response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadByNumberResponse {
    /// The block (with its parent beacon block root from Ecotone on).
    Payload(Box<OpExecutionPayloadEnvelope>),
    /// The peer answered with an error code; the requester treats it like no answer.
    Failure(ResultCode),
}

/// The response version that carries a block of `version`.
pub const fn response_version_for(version: BlockTopicVersion) -> u32 {
    match version {
        BlockTopicVersion::V1 | BlockTopicVersion::V2 => RESPONSE_VERSION_PAYLOAD,
        BlockTopicVersion::V3 => RESPONSE_VERSION_ECOTONE_ENVELOPE,
        BlockTopicVersion::V4 => RESPONSE_VERSION_ISTHMUS_ENVELOPE,
    }
}

/// An error response: only the result byte; `None` for a code that reads as success (0).
pub fn encode_failure(code: ResultCode) -> Option<[u8; 1]> {
    let byte = u8::from(code);
    (byte != 0).then_some([byte])
}

/// A success response serving `envelope`.
pub fn encode_success(envelope: &OpExecutionPayloadEnvelope) -> Result<Vec<u8>, ReqRespError> {
    let block_version = payload_version(&envelope.execution_payload);
    let body = encode_payload_body(envelope, block_version)?;

    let mut out = Vec::with_capacity(5 + body.len() / 2);
    out.push(u8::from(ResultCode::Success));
    out.extend_from_slice(&response_version_for(block_version).to_le_bytes());
    let mut encoder = snap::write::FrameEncoder::new(out);
    encoder
        .write_all(&body)
        .map_err(|e| ReqRespError::Compress(e.to_string()))?;
    let out = encoder
        .into_inner()
        .map_err(|e| ReqRespError::Compress(e.to_string()))?;
    if out.len() > MAX_RESPONSE_SIZE {
        return Err(ReqRespError::TooLarge {
            len: out.len(),
            limit: MAX_RESPONSE_SIZE,
        });
    }
    Ok(out)
}

/// Encodes the uncompressed payload_by_number success body of a block of topic `version`:
/// `[parent_beacon_block_root |] SSZ payload`, the exact inverse of [`decode_payload_body`].
///
/// Refuses what the decoder could not give back: a payload variant of another version, a V3/V4
/// block without its parent beacon block root, or a V1/V2 block with one (it would be lost).
pub fn encode_payload_body(
    envelope: &OpExecutionPayloadEnvelope,
    version: BlockTopicVersion,
) -> Result<Vec<u8>, ReqRespError> {
    let payload = payload_version(&envelope.execution_payload);
    if payload != version {
        return Err(ReqRespError::EncodeWrongVersion { payload, version });
    }
    let mut body = Vec::with_capacity(32 + envelope.execution_payload.ssz_bytes_len());
    match (
        version.has_parent_beacon_block_root(),
        envelope.parent_beacon_block_root,
    ) {
        (true, Some(root)) => body.extend_from_slice(root.as_slice()),
        (true, None) => return Err(ReqRespError::EncodeMissingParentBeaconBlockRoot(version)),
        (false, Some(_)) => {
            return Err(ReqRespError::EncodeUnexpectedParentBeaconBlockRoot(version));
        }
        (false, None) => {}
    }
    // The same SSZ container codec the gossip messages use (op-alloy's payload types).
    envelope.execution_payload.ssz_append(&mut body);
    Ok(body)
}

/// Decodes a response to a request for a block of `expected` version (from the fork active at
/// the requested block's timestamp, as op-node derives it).
pub fn decode_response(
    bytes: &[u8],
    expected: BlockTopicVersion,
) -> Result<PayloadByNumberResponse, ReqRespError> {
    if bytes.len() > MAX_RESPONSE_SIZE {
        return Err(ReqRespError::TooLarge {
            len: bytes.len(),
            limit: MAX_RESPONSE_SIZE,
        });
    }
    let (&code, rest) = bytes.split_first().ok_or(ReqRespError::Empty)?;
    let code = ResultCode::from(code);
    if code != ResultCode::Success {
        return Ok(PayloadByNumberResponse::Failure(code));
    }
    let (version, compressed) = rest
        .split_first_chunk::<4>()
        .ok_or(ReqRespError::MissingVersion(bytes.len()))?;
    let version = u32::from_le_bytes(*version);
    check_version(version, expected)?;

    let mut body = Vec::new();
    snap::read::FrameDecoder::new(compressed)
        .take(MAX_RESPONSE_SIZE as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| ReqRespError::Snappy(e.to_string()))?;
    if body.len() > MAX_RESPONSE_SIZE {
        return Err(ReqRespError::DecompressedTooLarge {
            limit: MAX_RESPONSE_SIZE,
        });
    }
    decode_payload_body(&body, expected).map(|e| PayloadByNumberResponse::Payload(Box::new(e)))
}

/// Whether a response `version` can carry a block of the `expected` topic version.
///
/// op-node's server writes version 1 for every block from Ecotone on, so V4 accepts 1 and 2.
fn check_version(version: u32, expected: BlockTopicVersion) -> Result<(), ReqRespError> {
    let fits = match version {
        RESPONSE_VERSION_PAYLOAD => !expected.has_parent_beacon_block_root(),
        RESPONSE_VERSION_ECOTONE_ENVELOPE => expected.has_parent_beacon_block_root(),
        RESPONSE_VERSION_ISTHMUS_ENVELOPE => expected == BlockTopicVersion::V4,
        unknown => return Err(ReqRespError::UnknownVersion(unknown)),
    };
    if fits {
        Ok(())
    } else {
        Err(ReqRespError::VersionMismatch {
            response: version,
            expected,
        })
    }
}

/// Decodes an uncompressed payload_by_number success body of a topic version:
/// `[parent_beacon_block_root |] SSZ payload`.
pub fn decode_payload_body(
    body: &[u8],
    expected: BlockTopicVersion,
) -> Result<OpExecutionPayloadEnvelope, ReqRespError> {
    let (root, payload_offset) = if expected.has_parent_beacon_block_root() {
        let root = body
            .first_chunk::<32>()
            .ok_or(ReqRespError::MissingParentBeaconBlockRoot(body.len()))?;
        (Some(B256::from(*root)), 32)
    } else {
        (None, 0)
    };
    let ssz = body.get(payload_offset..).unwrap_or_default();
    let ssz_err = |e: ssz::DecodeError| ReqRespError::Ssz {
        offset: payload_offset,
        reason: format!("{e:?}"),
    };
    let execution_payload = decode_payload_ssz(expected, ssz).map_err(ssz_err)?;
    Ok(OpExecutionPayloadEnvelope {
        parent_beacon_block_root: root,
        execution_payload,
    })
}

/// Checks a served block against the request, as op-node's client does:
/// the block number is the one requested and the block hash matches the block's contents.
pub fn check_served_block(
    envelope: &OpExecutionPayloadEnvelope,
    requested: u64,
) -> Result<(), ReqRespError> {
    let number = envelope.execution_payload.block_number();
    if number != requested {
        return Err(ReqRespError::WrongBlockNumber {
            requested,
            served: number,
        });
    }
    let claimed = envelope.execution_payload.block_hash();
    let computed = crate::p2p::validation::compute_block_hash(
        &envelope.execution_payload,
        envelope.parent_beacon_block_root,
    )
    .map_err(|e| ReqRespError::BlockHash(e.to_string()))?;
    if claimed != computed {
        return Err(ReqRespError::BlockHash(format!(
            "payload claims {claimed}, its header hashes to {computed}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::p2p::testutil::payload;
    use proptest::prelude::*;

    fn envelope(version: BlockTopicVersion, number: u64) -> OpExecutionPayloadEnvelope {
        let (execution_payload, parent_beacon_block_root) = payload(version, number, 1_700_000_000);
        OpExecutionPayloadEnvelope {
            parent_beacon_block_root,
            execution_payload,
        }
    }

    #[test]
    fn protocol_ids() {
        let chain = ChainId::from(11_155_420u64);
        assert_eq!(
            payload_by_number_protocol_id(chain),
            "/opstack/req/payload_by_number/11155420/0"
        );
        assert_eq!(
            payload_by_number_protocol_id_spec(chain),
            "/opstack/req/payload_by_number/11155420/0/"
        );
    }

    #[test]
    fn request_is_u64_le() {
        assert_eq!(
            encode_request(0x0102_0304_0506_0708),
            [8, 7, 6, 5, 4, 3, 2, 1]
        );
        assert_eq!(
            decode_request(&[8, 7, 6, 5, 4, 3, 2, 1]),
            Ok(0x0102_0304_0506_0708)
        );
        assert_eq!(
            decode_request(&[1, 2, 3]),
            Err(ReqRespError::RequestLength(3))
        );
        assert_eq!(decode_request(&[0; 9]), Err(ReqRespError::RequestLength(9)));
    }

    #[test]
    fn success_round_trips_every_version() {
        for version in BlockTopicVersion::ALL {
            let served = envelope(version, 77);
            let bytes = encode_success(&served).unwrap();
            assert_eq!(bytes[0], 0);
            assert_eq!(
                u32::from_le_bytes(bytes[1..5].try_into().unwrap()),
                response_version_for(version)
            );
            // The body is snappy *framed*: the stream identifier chunk comes first.
            assert_eq!(&bytes[5..15], b"\xff\x06\x00\x00sNaPpY");
            let decoded = decode_response(&bytes, version).unwrap();
            assert_eq!(
                decoded,
                PayloadByNumberResponse::Payload(Box::new(served.clone())),
                "{version:?}"
            );
            assert_eq!(check_served_block(&served, 77), Ok(()));
            assert_eq!(
                check_served_block(&served, 78),
                Err(ReqRespError::WrongBlockNumber {
                    requested: 78,
                    served: 77
                })
            );
        }
    }

    #[test]
    fn ecotone_envelope_version_carries_isthmus_blocks() {
        // op-node's server writes version 1 for every block from Ecotone on (it has no Isthmus case).
        let served = envelope(BlockTopicVersion::V4, 5);
        let mut bytes = encode_success(&served).unwrap();
        bytes[1..5].copy_from_slice(&RESPONSE_VERSION_ECOTONE_ENVELOPE.to_le_bytes());
        assert_eq!(
            decode_response(&bytes, BlockTopicVersion::V4).unwrap(),
            PayloadByNumberResponse::Payload(Box::new(served))
        );
    }

    #[test]
    fn version_must_fit_the_expected_block() {
        let bytes = encode_success(&envelope(BlockTopicVersion::V2, 5)).unwrap();
        assert_eq!(
            decode_response(&bytes, BlockTopicVersion::V3),
            Err(ReqRespError::VersionMismatch {
                response: 0,
                expected: BlockTopicVersion::V3
            })
        );
        let mut unknown = bytes.clone();
        unknown[1] = 9;
        assert_eq!(
            decode_response(&unknown, BlockTopicVersion::V2),
            Err(ReqRespError::UnknownVersion(9))
        );
    }

    #[test]
    fn failures_and_truncation() {
        assert_eq!(
            decode_response(&[], BlockTopicVersion::V1),
            Err(ReqRespError::Empty)
        );
        for code in [1u8, 2, 3, 200] {
            assert_eq!(
                decode_response(&[code], BlockTopicVersion::V1),
                Ok(PayloadByNumberResponse::Failure(ResultCode::from(code)))
            );
            assert_eq!(encode_failure(ResultCode::from(code)), Some([code]));
        }
        assert_eq!(encode_failure(ResultCode::Success), None);
        assert_eq!(encode_failure(ResultCode::Other(0)), None);
        assert_eq!(
            decode_response(&[0, 1, 0], BlockTopicVersion::V3),
            Err(ReqRespError::MissingVersion(3))
        );
        assert!(matches!(
            decode_response(&[0, 1, 0, 0, 0, 1, 2, 3], BlockTopicVersion::V3),
            Err(ReqRespError::Snappy(_))
        ));
        // A valid frame stream with a too-short body.
        let mut short = vec![0, 1, 0, 0, 0];
        let mut enc = snap::write::FrameEncoder::new(&mut short);
        enc.write_all(&[0u8; 10]).unwrap();
        drop(enc);
        assert_eq!(
            decode_response(&short, BlockTopicVersion::V3),
            Err(ReqRespError::MissingParentBeaconBlockRoot(10))
        );
    }

    #[test]
    fn decompressed_body_is_capped() {
        // 10 MiB + 1 of zeros compresses to a small frame stream; decoding stops at the cap.
        let mut bytes = vec![0, 0, 0, 0, 0];
        let mut enc = snap::write::FrameEncoder::new(&mut bytes);
        enc.write_all(&vec![0u8; MAX_RESPONSE_SIZE + 1]).unwrap();
        drop(enc);
        assert!(bytes.len() < MAX_RESPONSE_SIZE);
        assert_eq!(
            decode_response(&bytes, BlockTopicVersion::V1),
            Err(ReqRespError::DecompressedTooLarge {
                limit: MAX_RESPONSE_SIZE
            })
        );
        let raw = vec![0u8; MAX_RESPONSE_SIZE + 1];
        assert_eq!(
            decode_response(&raw, BlockTopicVersion::V1),
            Err(ReqRespError::TooLarge {
                len: MAX_RESPONSE_SIZE + 1,
                limit: MAX_RESPONSE_SIZE
            })
        );
    }

    #[test]
    fn served_block_hash_is_checked() {
        let mut served = envelope(BlockTopicVersion::V3, 5);
        served.execution_payload.as_v1_mut().state_root = B256::repeat_byte(0xee);
        assert!(matches!(
            check_served_block(&served, 5),
            Err(ReqRespError::BlockHash(_))
        ));
    }

    /// A gossip message is `signature | body`, with the same body as a payload_by_number answer:
    /// encoding the decoded block of each public gossip vector gives the bytes after the signature.
    #[test]
    fn body_matches_public_gossip_vectors() {
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
            let data = alloy::primitives::hex::decode(hex_text.trim()).unwrap();
            let plain = snap::raw::Decoder::new().decompress_vec(&data).unwrap();
            let gossiped = crate::p2p::decode_block_message(&data, version).unwrap();
            let served = OpExecutionPayloadEnvelope::from(gossiped);
            let body = encode_payload_body(&served, version).unwrap();
            assert_eq!(body, plain[65..], "{version:?}");
            assert_eq!(decode_payload_body(&body, version).unwrap(), served);
        }
    }

    #[test]
    fn body_encoder_refuses_what_the_decoder_cannot_give_back() {
        let v3 = envelope(BlockTopicVersion::V3, 5);
        assert_eq!(
            encode_payload_body(&v3, BlockTopicVersion::V4),
            Err(ReqRespError::EncodeWrongVersion {
                payload: BlockTopicVersion::V3,
                version: BlockTopicVersion::V4
            })
        );
        let mut rootless = v3.clone();
        rootless.parent_beacon_block_root = None;
        assert_eq!(
            encode_payload_body(&rootless, BlockTopicVersion::V3),
            Err(ReqRespError::EncodeMissingParentBeaconBlockRoot(
                BlockTopicVersion::V3
            ))
        );
        let mut rooted = envelope(BlockTopicVersion::V2, 5);
        rooted.parent_beacon_block_root = Some(B256::repeat_byte(9));
        assert_eq!(
            encode_payload_body(&rooted, BlockTopicVersion::V2),
            Err(ReqRespError::EncodeUnexpectedParentBeaconBlockRoot(
                BlockTopicVersion::V2
            ))
        );
        assert_eq!(
            encode_success(&rooted),
            Err(ReqRespError::EncodeUnexpectedParentBeaconBlockRoot(
                BlockTopicVersion::V2
            ))
        );
    }

    /// Payloads of every version with arbitrary field values (the hash need not match: the
    /// body codec carries fields, it does not check them).
    fn arbitrary_envelope() -> impl Strategy<Value = OpExecutionPayloadEnvelope> {
        use alloy::eips::eip4895::Withdrawal;
        use alloy::primitives::{Address, Bloom, Bytes, U256};
        use alloy::rpc::types::engine::{
            ExecutionPayloadV1, ExecutionPayloadV2, ExecutionPayloadV3,
        };
        use op_alloy_rpc_types_engine::{OpExecutionPayload, OpExecutionPayloadV4};
        let b256 = || any::<[u8; 32]>().prop_map(B256::from);
        let v1 = (
            (b256(), any::<[u8; 20]>(), b256(), b256(), b256(), b256()),
            (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
            proptest::collection::vec(any::<u8>(), 0..=32),
            any::<[u8; 32]>(),
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..4),
            any::<[u8; 256]>(),
        )
            .prop_map(
                |(
                    (parent, fee, state, receipts, randao, hash),
                    (n, gl, gu, ts),
                    extra,
                    fee_base,
                    txs,
                    bloom,
                )| {
                    ExecutionPayloadV1 {
                        parent_hash: parent,
                        fee_recipient: Address::from(fee),
                        state_root: state,
                        receipts_root: receipts,
                        logs_bloom: Bloom::from(bloom),
                        prev_randao: randao,
                        block_number: n,
                        gas_limit: gl,
                        gas_used: gu,
                        timestamp: ts,
                        extra_data: Bytes::from(extra),
                        base_fee_per_gas: U256::from_be_bytes(fee_base),
                        block_hash: hash,
                        transactions: txs.into_iter().map(Bytes::from).collect(),
                    }
                },
            );
        let withdrawals = proptest::collection::vec(
            (any::<u64>(), any::<u64>(), any::<[u8; 20]>(), any::<u64>()).prop_map(
                |(index, validator_index, address, amount)| Withdrawal {
                    index,
                    validator_index,
                    address: Address::from(address),
                    amount,
                },
            ),
            0..3,
        );
        (
            v1,
            withdrawals,
            0u8..4,
            b256(),
            b256(),
            any::<u64>(),
            any::<u64>(),
        )
            .prop_map(
                |(
                    v1,
                    withdrawals,
                    index,
                    root,
                    withdrawals_root,
                    blob_gas_used,
                    excess_blob_gas,
                )| {
                    let v2 = ExecutionPayloadV2 {
                        payload_inner: v1.clone(),
                        withdrawals,
                    };
                    let v3 = ExecutionPayloadV3 {
                        payload_inner: v2.clone(),
                        blob_gas_used,
                        excess_blob_gas,
                    };
                    let (execution_payload, parent_beacon_block_root) = match index {
                        0 => (OpExecutionPayload::V1(v1), None),
                        1 => (OpExecutionPayload::V2(v2), None),
                        2 => (OpExecutionPayload::V3(v3), Some(root)),
                        _ => (
                            OpExecutionPayload::V4(OpExecutionPayloadV4 {
                                payload_inner: v3,
                                withdrawals_root,
                            }),
                            Some(root),
                        ),
                    };
                    OpExecutionPayloadEnvelope {
                        parent_beacon_block_root,
                        execution_payload,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn decode_response_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..300), v in 0u8..4, version in 0u32..4) {
            let expected = BlockTopicVersion::from_topic_index(v).unwrap();
            let mut bytes = vec![0u8];
            bytes.extend_from_slice(&version.to_le_bytes());
            bytes.extend_from_slice(&tail);
            let _ = decode_response(&bytes, expected);
            // And with a valid frame stream around arbitrary bodies.
            let mut framed = vec![0u8];
            framed.extend_from_slice(&version.to_le_bytes());
            let mut enc = snap::write::FrameEncoder::new(&mut framed);
            enc.write_all(&tail).unwrap();
            drop(enc);
            let _ = decode_response(&framed, expected);
        }

        #[test]
        fn payload_body_round_trips(served in arbitrary_envelope()) {
            let version = payload_version(&served.execution_payload);
            let body = encode_payload_body(&served, version).unwrap();
            prop_assert_eq!(decode_payload_body(&body, version).unwrap(), served.clone());
            // And through the whole response codec.
            let response = encode_success(&served).unwrap();
            prop_assert_eq!(
                decode_response(&response, version).unwrap(),
                PayloadByNumberResponse::Payload(Box::new(served))
            );
        }

        #[test]
        fn decode_payload_body_never_panics(body in proptest::collection::vec(any::<u8>(), 0..600), v in 0u8..4) {
            let expected = BlockTopicVersion::from_topic_index(v).unwrap();
            let _ = decode_payload_body(&body, expected);
        }

        #[test]
        fn decode_request_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = decode_request(&bytes);
        }
    }
}
