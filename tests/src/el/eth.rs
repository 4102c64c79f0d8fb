//! The eth namespace a consensus client reads, as JSON-RPC response values.
//!
//! `eth_getProof` proves accounts of the simulated state trie: the L2ToL1MessagePasser's
//! `storageHash` is the message-passer root, and the proof verifies against the state root.

use std::sync::Arc;

use alloy::{
    consensus::{EMPTY_ROOT_HASH, Transaction as _, TxReceipt, constants::KECCAK_EMPTY},
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, U256},
    rlp::Encodable,
    rpc::types::{
        Block as RpcBlock, BlockTransactions, EIP1186AccountProofResponse, EIP1186StorageProof,
        Header as RpcHeader, Log as RpcLog, TransactionReceipt,
    },
    serde::JsonStorageKey,
    trie::TrieAccount,
};
use op_alloy_consensus::{OpReceipt, OpTxEnvelope};
use op_alloy_rpc_types::{
    L1BlockInfo as RpcL1BlockInfo, OpTransactionReceipt, Transaction as OpRpcTransaction,
};

use super::{builder::SimBlock, chain::Chain};

/// An OP block as `eth_getBlockBy*` returns it.
pub type OpRpcBlock = RpcBlock<OpRpcTransaction, RpcHeader>;

/// The canonical block a number or tag names (`pending` is the head: nothing is pending).
pub fn by_number(chain: &Chain, tag: BlockNumberOrTag) -> Option<Arc<SimBlock>> {
    match tag {
        BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => Some(chain.head()),
        BlockNumberOrTag::Safe => Some(chain.safe()),
        BlockNumberOrTag::Finalized => Some(chain.finalized()),
        BlockNumberOrTag::Earliest => Some(chain.genesis()),
        BlockNumberOrTag::Number(n) => chain.canonical(n),
    }
}

/// The block a block id names: by hash any known block, by number the canonical one.
pub fn by_id(chain: &Chain, id: BlockId) -> Option<Arc<SimBlock>> {
    match id {
        BlockId::Hash(h) => {
            let block = chain.get(&h.block_hash)?;
            (!h.require_canonical.unwrap_or(false) || chain.is_canonical(&block)).then_some(block)
        }
        BlockId::Number(tag) => by_number(chain, tag),
    }
}

/// The RPC form of one transaction of a block.
pub fn transaction(block: &SimBlock, index: usize) -> Option<OpRpcTransaction> {
    let tx = block.block.body.transactions.get(index)?.clone();
    let sender = *block.senders.get(index)?;
    let base_fee = block.header().base_fee_per_gas;
    let (deposit_nonce, deposit_receipt_version) = match block.receipts.get(index)?.receipt {
        OpReceipt::Deposit(ref d) => (d.deposit_nonce, d.deposit_receipt_version),
        _ => (None, None),
    };
    let effective_gas_price = match tx {
        OpTxEnvelope::Deposit(_) => 0,
        ref other => other.effective_gas_price(base_fee),
    };
    Some(OpRpcTransaction {
        inner: alloy::rpc::types::Transaction {
            inner: alloy::consensus::transaction::Recovered::new_unchecked(tx, sender),
            block_hash: Some(block.hash),
            block_number: Some(block.number()),
            transaction_index: Some(index as u64),
            effective_gas_price: Some(effective_gas_price),
            block_timestamp: Some(block.header().timestamp),
        },
        deposit_nonce,
        deposit_receipt_version,
    })
}

/// The RPC form of a block, with full transactions or their hashes.
pub fn block(block: &SimBlock, full: bool) -> OpRpcBlock {
    let transactions = if full {
        BlockTransactions::Full(
            (0..block.tx_hashes.len())
                .filter_map(|i| transaction(block, i))
                .collect(),
        )
    } else {
        BlockTransactions::Hashes(block.tx_hashes.clone())
    };
    RpcBlock {
        header: RpcHeader {
            hash: block.hash,
            inner: block.header().clone(),
            total_difficulty: Some(U256::ZERO),
            size: Some(U256::from(block.block.length())),
        },
        uncles: Vec::new(),
        transactions,
        withdrawals: block.block.body.withdrawals.clone(),
    }
}

/// The RPC receipt of one transaction of a block.
pub fn receipt(block: &SimBlock, index: usize) -> Option<OpTransactionReceipt> {
    let with_bloom = block.receipts.get(index)?;
    let tx = block.block.body.transactions.get(index)?;
    let tx_hash = *block.tx_hashes.get(index)?;
    let first_log_index: usize = block
        .receipts
        .iter()
        .take(index)
        .map(|r| r.receipt.logs().len())
        .sum();
    let mut next_log_index = first_log_index as u64;
    let typed: OpReceipt<RpcLog> = with_bloom.receipt.clone().map_logs(|inner| {
        let log = RpcLog {
            inner,
            block_hash: Some(block.hash),
            block_number: Some(block.number()),
            block_timestamp: Some(block.header().timestamp),
            transaction_hash: Some(tx_hash),
            transaction_index: Some(index as u64),
            log_index: Some(next_log_index),
            removed: false,
        };
        next_log_index += 1;
        log
    });
    let effective_gas_price = match tx {
        OpTxEnvelope::Deposit(_) => 0,
        other => other.effective_gas_price(block.header().base_fee_per_gas),
    };
    Some(OpTransactionReceipt {
        inner: TransactionReceipt {
            inner: alloy::consensus::ReceiptWithBloom {
                receipt: typed,
                logs_bloom: with_bloom.logs_bloom,
            },
            transaction_hash: tx_hash,
            transaction_index: Some(index as u64),
            block_hash: Some(block.hash),
            block_number: Some(block.number()),
            gas_used: block.tx_gas_used.get(index).copied().unwrap_or(0),
            effective_gas_price,
            blob_gas_used: None,
            blob_gas_price: None,
            from: *block.senders.get(index)?,
            to: tx.to(),
            contract_address: None,
        },
        l1_block_info: RpcL1BlockInfo::default(),
        op_gas_refund: None,
    })
}

/// All receipts of a block.
pub fn block_receipts(block: &SimBlock) -> Vec<OpTransactionReceipt> {
    (0..block.receipts.len())
        .filter_map(|i| receipt(block, i))
        .collect()
}

/// The `eth_getProof` answer: a real account proof against the header's state root (see
/// [`SimState`](super::state::SimState)); storage-slot values are reported as zero with empty
/// proofs, since the simulated storage roots are commitments, not tries.
pub fn account_proof(
    block: &SimBlock,
    address: Address,
    keys: Vec<JsonStorageKey>,
) -> EIP1186AccountProofResponse {
    let state = block.state();
    let (_, account_proof) = state.root_and_proof(Some(address));
    let account = state.account(&address).copied().unwrap_or(TrieAccount {
        nonce: 0,
        balance: U256::ZERO,
        storage_root: EMPTY_ROOT_HASH,
        code_hash: KECCAK_EMPTY,
    });
    EIP1186AccountProofResponse {
        address,
        balance: account.balance,
        code_hash: account.code_hash,
        nonce: account.nonce,
        storage_hash: account.storage_root,
        account_proof,
        storage_proof: keys
            .into_iter()
            .map(|key| EIP1186StorageProof {
                key,
                value: U256::ZERO,
                proof: Vec::new(),
            })
            .collect(),
    }
}
