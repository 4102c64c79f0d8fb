//! Ready-made transactions and payload attributes for tests and the devnet: an L1-info deposit,
//! user deposits, test-signed user transactions and attributes that follow the fork rules.

use alloy::{
    consensus::{SignableTransaction, TxEip1559},
    eips::eip2718::Encodable2718,
    primitives::{Address, B64, B256, Bytes, Signature, TxKind, U256},
    rpc::types::engine::PayloadAttributes,
};
use op_alloy_consensus::{OpTxEnvelope, TxDeposit, UserDepositSource};
use op_alloy_rpc_types_engine::OpPayloadAttributes;
use opfleet_protocol::l1_info::{L1BlockInfo, L1InfoFork, L1InfoOrigin, L1InfoSystemParams};

use super::spec::Fork;

/// The EIP-2718 L1-info deposit for an L2 block in `fork`, with a fixed L1 origin at `l1_number`.
pub fn l1_info_tx(fork: Fork, l1_number: u64, sequence_number: u64, da_scalar: u16) -> Bytes {
    let form = match fork {
        Fork::Holocene => L1InfoFork::Ecotone,
        Fork::Isthmus => L1InfoFork::Isthmus,
        Fork::Jovian => L1InfoFork::Jovian,
    };
    let origin = L1InfoOrigin {
        number: l1_number,
        timestamp: 1_000 + 12 * l1_number,
        hash: B256::left_padding_from(&l1_number.to_be_bytes()),
        base_fee: U256::from(7),
        blob_base_fee: U256::from(1),
    };
    let params = L1InfoSystemParams {
        da_footprint_gas_scalar: da_scalar,
        ..Default::default()
    };
    L1BlockInfo::new(form, &origin, sequence_number, &params).encoded_deposit_tx()
}

/// A user deposit to `to` with `input`, its source keyed by `(l1_block_hash, log_index)`.
pub fn user_deposit(
    l1_block_hash: B256,
    log_index: u64,
    from: Address,
    to: Address,
    input: Bytes,
) -> Bytes {
    TxDeposit {
        source_hash: UserDepositSource::new(l1_block_hash, log_index).source_hash(),
        from,
        to: TxKind::Call(to),
        mint: 0,
        value: U256::ZERO,
        gas_limit: 200_000,
        is_system_transaction: false,
        input,
    }
    .encoded_2718()
    .into()
}

/// An EIP-1559 transaction carrying a fixed valid-curve test signature: it recovers to some
/// sender, which is all the simulated client needs (it checks no balances or signers' keys).
pub fn test_signed_tx(chain_id: u64, nonce: u64, to: Address, input: Bytes) -> Bytes {
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 1_000_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000,
        to: TxKind::Call(to),
        value: U256::ZERO,
        access_list: Default::default(),
        input,
    };
    OpTxEnvelope::Eip1559(tx.into_signed(Signature::test_signature()))
        .encoded_2718()
        .into()
}

/// Attributes for a block at `timestamp` under `fork`, with chain-default EIP-1559 parameters.
pub fn attributes(fork: Fork, timestamp: u64, transactions: Vec<Bytes>) -> OpPayloadAttributes {
    OpPayloadAttributes {
        payload_attributes: PayloadAttributes {
            timestamp,
            prev_randao: B256::with_last_byte(7),
            suggested_fee_recipient: Address::with_last_byte(0x11),
            withdrawals: Some(Vec::new()),
            parent_beacon_block_root: Some(B256::with_last_byte(9)),
            slot_number: None,
            target_gas_limit: None,
        },
        transactions: Some(transactions),
        no_tx_pool: Some(true),
        gas_limit: Some(30_000_000),
        eip_1559_params: Some(B64::ZERO),
        min_base_fee: fork.is_jovian().then_some(1_000),
    }
}
