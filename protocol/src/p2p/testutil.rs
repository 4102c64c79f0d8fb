//! Payload builders for the P2P tests: each payload's block hash is the hash of a header
//! written out field by field here, independently of the conversion under test.

use alloy::consensus::constants::EMPTY_WITHDRAWALS;
use alloy::consensus::{EMPTY_OMMER_ROOT_HASH, Header};
use alloy::eips::eip7685::EMPTY_REQUESTS_HASH;
use alloy::primitives::{Address, B64, B256, Bloom, Bytes, U256, address, b256};
use alloy::rpc::types::engine::{ExecutionPayloadV1, ExecutionPayloadV2, ExecutionPayloadV3};
use alloy::signers::local::PrivateKeySigner;
use op_alloy_rpc_types_engine::{OpExecutionPayload, OpExecutionPayloadV4};

use crate::p2p::topic::BlockTopicVersion;

/// A fixed sequencer key (the first anvil/hardhat dev key).
pub fn sequencer_key() -> PrivateKeySigner {
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        .parse()
        .unwrap()
}

/// The address of [`sequencer_key`].
pub const SEQUENCER: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

/// The parent beacon block root used by V3/V4 test payloads.
pub const BEACON_ROOT: B256 =
    b256!("1111111111111111111111111111111111111111111111111111111111111111");

/// The L2 withdrawals root used by V4 test payloads.
pub const L2_WITHDRAWALS_ROOT: B256 =
    b256!("7777777777777777777777777777777777777777777777777777777777777777");

/// A payload of `version` with a correct block hash, and its parent beacon block root (V3+).
pub fn payload(
    version: BlockTopicVersion,
    number: u64,
    timestamp: u64,
) -> (OpExecutionPayload, Option<B256>) {
    payload_with(version, number, timestamp, |_| {})
}

/// Like [`payload`], with the header changed by `tweak` before hashing (fields the payload
/// carries follow the header, so the hash stays consistent).
pub fn payload_with(
    version: BlockTopicVersion,
    number: u64,
    timestamp: u64,
    tweak: impl FnOnce(&mut Header),
) -> (OpExecutionPayload, Option<B256>) {
    let transactions = vec![
        Bytes::from_static(&[0x7e, 0xc0]),
        Bytes::from_static(&[0x02, 0x01, 0x02]),
    ];
    let mut header = Header {
        parent_hash: B256::repeat_byte(0x01),
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: address!("4200000000000000000000000000000000000011"),
        state_root: B256::repeat_byte(0x02),
        transactions_root: alloy::consensus::proofs::ordered_trie_root_encoded(&transactions),
        receipts_root: B256::repeat_byte(0x03),
        logs_bloom: Bloom::ZERO,
        difficulty: U256::ZERO,
        number,
        gas_limit: 30_000_000,
        gas_used: 21_000,
        timestamp,
        extra_data: Bytes::from_static(&[0x01, 0, 0, 0, 0xfa, 0, 0, 0, 6]),
        mix_hash: B256::repeat_byte(0x04),
        nonce: B64::ZERO,
        base_fee_per_gas: Some(1_000_000),
        withdrawals_root: None,
        blob_gas_used: None,
        excess_blob_gas: None,
        parent_beacon_block_root: None,
        requests_hash: None,
        ..Default::default()
    };
    if version.has_withdrawals() {
        header.withdrawals_root = Some(EMPTY_WITHDRAWALS);
    }
    if version.has_blob_properties() {
        header.blob_gas_used = Some(0);
        header.excess_blob_gas = Some(0);
        header.parent_beacon_block_root = Some(BEACON_ROOT);
    }
    if version.has_withdrawals_root() {
        header.withdrawals_root = Some(L2_WITHDRAWALS_ROOT);
        header.requests_hash = Some(EMPTY_REQUESTS_HASH);
    }
    tweak(&mut header);
    let block_hash = header.hash_slow();

    let v1 = ExecutionPayloadV1 {
        parent_hash: header.parent_hash,
        fee_recipient: header.beneficiary,
        state_root: header.state_root,
        receipts_root: header.receipts_root,
        logs_bloom: header.logs_bloom,
        prev_randao: header.mix_hash,
        block_number: header.number,
        gas_limit: header.gas_limit,
        gas_used: header.gas_used,
        timestamp: header.timestamp,
        extra_data: header.extra_data.clone(),
        base_fee_per_gas: U256::from(header.base_fee_per_gas.unwrap_or_default()),
        block_hash,
        transactions,
    };
    let v2 = || ExecutionPayloadV2 {
        payload_inner: v1.clone(),
        withdrawals: Vec::new(),
    };
    let v3 = || ExecutionPayloadV3 {
        payload_inner: v2(),
        blob_gas_used: header.blob_gas_used.unwrap_or_default(),
        excess_blob_gas: header.excess_blob_gas.unwrap_or_default(),
    };
    let payload = match version {
        BlockTopicVersion::V1 => OpExecutionPayload::V1(v1.clone()),
        BlockTopicVersion::V2 => OpExecutionPayload::V2(v2()),
        BlockTopicVersion::V3 => OpExecutionPayload::V3(v3()),
        BlockTopicVersion::V4 => OpExecutionPayload::V4(OpExecutionPayloadV4 {
            payload_inner: v3(),
            withdrawals_root: header.withdrawals_root.unwrap_or_default(),
        }),
    };
    (payload, header.parent_beacon_block_root)
}
