//! Building one L1 block: real header, transactions, receipts, roots and bloom; no EVM.
//!
//! ```text
//! parent header ──► base fee (EIP-1559), excess blob gas (EIP-4844, Prague schedule)
//! queued L1Tx ... ──► fit by gas limit and blob count ──► receipts (status 1, deterministic gas)
//!        │                                                  │
//!        └─► transactions_root             receipts_root ◄──┴──► logs_bloom
//! header { ..., withdrawals_root = root([]), parent_beacon_block_root, requests_hash = sha256("") }
//! hash = keccak256(rlp(header))
//! ```
//! Gas is not executed but computed: intrinsic gas (21000, +32000 for creation, calldata
//! 4/16 per byte, access lists, authorizations) plus what the logs would cost (375 + 375 per
//! topic + 8 per data byte), raised to the EIP-7623 calldata floor, capped at the gas limit.
//! Every receipt has status 1. There is no state: `state_root` chains a hash of the parent's
//! state root and the transactions root, so it changes like a real one but proves nothing.
//! Blob gas follows the Prague schedule (EIP-7691: target 6, max 9 blobs, update fraction
//! 5007716) without Osaka's EIP-7918 reserve price.

use std::collections::VecDeque;

use alloy::consensus::proofs::{calculate_receipt_root, calculate_transaction_root};
use alloy::consensus::{
    EMPTY_OMMER_ROOT_HASH, Eip658Value, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom,
    Transaction, TxEnvelope, transaction::Recovered,
};
use alloy::eips::eip1559::{BaseFeeParams, calc_next_block_base_fee};
use alloy::eips::eip4844::DATA_GAS_PER_BLOB;
use alloy::eips::eip7685::EMPTY_REQUESTS_HASH;
use alloy::eips::eip7840::BlobParams;
use alloy::primitives::{Address, B64, B256, Bloom, Bytes, Log, U256, keccak256};
use alloy::rlp::Encodable;
use alloy::rpc::types::beacon::header::BeaconBlockHeader;
use opfleet_protocol::L1BlockRef;

use super::beacon_block;
use super::kzg::CommittedBlob;

/// Base fee of the genesis block: 1 gwei.
pub const GENESIS_BASE_FEE: u64 = 1_000_000_000;

/// What goes into the extra-data field of every block (at most 32 bytes, as post-merge requires).
const EXTRA_DATA: &[u8] = b"opfleet devnet L1";

/// A transaction waiting for, or included in, a block: the signed transaction, its blobs, and
/// the logs the (simulated) contract it calls emits.
#[derive(Clone, Debug)]
pub struct L1Tx {
    /// The signed transaction with its sender. A type-3 transaction is held without sidecar.
    pub tx: Recovered<TxEnvelope>,
    /// Committed blobs, in the order of the transaction's versioned hashes.
    pub blobs: Vec<CommittedBlob>,
    /// Logs of the receipt, as the called contract would emit them.
    pub logs: Vec<Log>,
}

impl L1Tx {
    /// The transaction hash.
    pub fn hash(&self) -> B256 {
        *self.tx.inner().tx_hash()
    }
}

/// A transaction as mined in a block.
#[derive(Clone, Debug)]
pub struct MinedTx {
    /// The transaction, its blobs and logs.
    pub tx: L1Tx,
    /// Its receipt (logs without block metadata).
    pub receipt: ReceiptEnvelope,
    /// Gas this transaction used.
    pub gas_used: u64,
    /// Price paid per gas.
    pub effective_gas_price: u128,
    /// Block-wide index of the receipt's first log.
    pub first_log_index: u64,
}

/// An L1 block with everything the RPC and beacon API serve about it.
#[derive(Clone, Debug)]
pub struct L1Block {
    /// The execution header.
    pub header: Header,
    /// `keccak256(rlp(header))`.
    pub hash: B256,
    /// Transactions with their receipts, in block order.
    pub txs: Vec<MinedTx>,
    /// The beacon block header of this block's slot.
    pub beacon: BeaconBlockHeader,
    /// `hash_tree_root(beacon)`.
    pub beacon_root: B256,
    /// Size of the RLP-encoded block, as `eth_getBlockBy*` reports it.
    pub size: u64,
}

impl L1Block {
    /// The block as op-node refers to it.
    pub fn block_ref(&self) -> L1BlockRef {
        L1BlockRef {
            hash: self.hash,
            number: self.header.number,
            parent_hash: self.header.parent_hash,
            timestamp: self.header.timestamp,
        }
    }

    /// The block in consensus form: `rlp([header, txs, ommers = [], withdrawals = []])`.
    pub fn consensus_block(&self) -> alloy::consensus::Block<TxEnvelope> {
        alloy::consensus::Block::new(
            self.header.clone(),
            alloy::consensus::BlockBody {
                transactions: self.txs.iter().map(|m| m.tx.tx.inner().clone()).collect(),
                ommers: Vec::new(),
                withdrawals: Some(Default::default()),
            },
        )
    }

    /// Blob price of this block (wei per blob gas).
    pub fn blob_gas_price(&self) -> u128 {
        BlobParams::prague().calc_blob_fee(self.header.excess_blob_gas.unwrap_or_default())
    }

    /// All blobs of the block, in the order of its type-3 transactions and their hashes.
    pub fn blobs(&self) -> impl Iterator<Item = &CommittedBlob> {
        self.txs.iter().flat_map(|m| m.tx.blobs.iter())
    }
}

/// Fixed parameters of every block.
#[derive(Clone, Copy, Debug)]
pub struct BlockParams {
    /// Gas limit of every block.
    pub gas_limit: u64,
    /// Fee recipient.
    pub beneficiary: Address,
    /// Whether blocks carry the Prague `requests_hash` field.
    pub prague: bool,
    /// Beacon genesis time (the genesis block's timestamp).
    pub genesis_time: u64,
    /// Seconds per slot (= block time).
    pub seconds_per_slot: u64,
}

/// What differs between sibling blocks at one height.
#[derive(Clone, Copy, Debug)]
pub struct NextBlock {
    /// Block timestamp.
    pub timestamp: u64,
    /// Fork branch counter: blocks of a new branch get a new `prev_randao`, so a new hash.
    pub branch: u64,
}

/// The genesis block: no transactions, base fee 1 gwei.
pub fn genesis(params: &BlockParams) -> L1Block {
    let header = Header {
        parent_hash: B256::ZERO,
        state_root: keccak256(b"opfleet devnet L1 genesis state"),
        ..empty_header(
            params,
            0,
            params.genesis_time,
            GENESIS_BASE_FEE,
            0,
            B256::ZERO,
        )
    };
    seal(params, header, Vec::new(), B256::ZERO)
}

/// Builds the child of `parent`, taking transactions from the front of `queue` while they fit.
///
/// Transactions are taken in order; the first one that does not fit (gas or blobs) stops the
/// block, so queue order is inclusion order.
pub fn build(
    parent: &L1Block,
    params: &BlockParams,
    next: NextBlock,
    queue: &mut VecDeque<L1Tx>,
) -> L1Block {
    let blob_params = BlobParams::prague();
    let parent_header = &parent.header;
    let base_fee = calc_next_block_base_fee(
        parent_header.gas_used,
        parent_header.gas_limit,
        parent_header.base_fee_per_gas.unwrap_or(GENESIS_BASE_FEE),
        BaseFeeParams::ethereum(),
    );
    let excess_blob_gas = (parent_header.excess_blob_gas.unwrap_or_default()
        + parent_header.blob_gas_used.unwrap_or_default())
    .saturating_sub(blob_params.target_blob_gas_per_block());

    let mut gas_left = params.gas_limit;
    let mut blobs_left = blob_params.max_blob_count;
    let mut cumulative = 0u64;
    let mut log_index = 0u64;
    let mut blob_gas_used = 0u64;
    let mut txs = Vec::new();
    while let Some(candidate) = queue.front() {
        let blob_count = candidate.blobs.len() as u64;
        if candidate.tx.gas_limit() > gas_left || blob_count > blobs_left {
            break;
        }
        let Some(l1tx) = queue.pop_front() else { break };
        let gas_used = gas_used(&l1tx, params.prague);
        gas_left -= l1tx.tx.gas_limit().min(gas_left);
        blobs_left -= blob_count;
        blob_gas_used += blob_count * DATA_GAS_PER_BLOB;
        cumulative += gas_used;
        let receipt = ReceiptEnvelope::from_typed(
            l1tx.tx.inner().tx_type(),
            ReceiptWithBloom::from(Receipt {
                status: Eip658Value::Eip658(true),
                cumulative_gas_used: cumulative,
                logs: l1tx.logs.clone(),
            }),
        );
        let n_logs = l1tx.logs.len() as u64;
        txs.push(MinedTx {
            effective_gas_price: l1tx.tx.inner().effective_gas_price(Some(base_fee)),
            tx: l1tx,
            receipt,
            gas_used,
            first_log_index: log_index,
        });
        log_index += n_logs;
    }

    let number = parent_header.number + 1;
    let transactions_root = calculate_transaction_root(
        &txs.iter()
            .map(|m| m.tx.tx.inner().clone())
            .collect::<Vec<_>>(),
    );
    let receipts: Vec<ReceiptEnvelope> = txs.iter().map(|m| m.receipt.clone()).collect();
    let mut logs_bloom = Bloom::ZERO;
    for r in &receipts {
        logs_bloom |= *r.logs_bloom();
    }
    let mut header = Header {
        parent_hash: parent.hash,
        transactions_root,
        receipts_root: calculate_receipt_root(&receipts),
        logs_bloom,
        gas_used: cumulative,
        blob_gas_used: Some(blob_gas_used),
        mix_hash: keccak256(
            [
                b"opfleet randao".as_slice(),
                &next.branch.to_be_bytes(),
                &number.to_be_bytes(),
            ]
            .concat(),
        ),
        ..empty_header(
            params,
            number,
            next.timestamp,
            base_fee,
            excess_blob_gas,
            parent.beacon_root,
        )
    };
    header.state_root = keccak256([parent_header.state_root, transactions_root].concat());
    seal(params, header, txs, parent.beacon_root)
}

/// A header with the post-merge constants and no transactions.
fn empty_header(
    params: &BlockParams,
    number: u64,
    timestamp: u64,
    base_fee: u64,
    excess_blob_gas: u64,
    parent_beacon_root: B256,
) -> Header {
    Header {
        parent_hash: B256::ZERO,
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: params.beneficiary,
        state_root: B256::ZERO,
        transactions_root: alloy::consensus::EMPTY_ROOT_HASH,
        receipts_root: alloy::consensus::EMPTY_ROOT_HASH,
        logs_bloom: Bloom::ZERO,
        difficulty: U256::ZERO,
        number,
        gas_limit: params.gas_limit,
        gas_used: 0,
        timestamp,
        extra_data: Bytes::from_static(EXTRA_DATA),
        mix_hash: B256::ZERO,
        nonce: B64::ZERO,
        base_fee_per_gas: Some(base_fee),
        // An empty withdrawals list: the beacon chain here has no validators to pay out.
        withdrawals_root: Some(alloy::consensus::EMPTY_ROOT_HASH),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(excess_blob_gas),
        parent_beacon_block_root: Some(parent_beacon_root),
        requests_hash: params.prague.then_some(EMPTY_REQUESTS_HASH),
        block_access_list_hash: None,
        slot_number: None,
    }
}

/// Hashes the header and attaches the beacon header of the block's slot.
fn seal(
    params: &BlockParams,
    header: Header,
    txs: Vec<MinedTx>,
    parent_beacon_root: B256,
) -> L1Block {
    let hash = header.hash_slow();
    let slot = beacon_block::slot_of(
        header.timestamp,
        params.genesis_time,
        params.seconds_per_slot,
    );
    let beacon = beacon_block::header_for(slot, parent_beacon_root, hash);
    let beacon_root = beacon_block::hash_tree_root(&beacon);
    let mut block = L1Block {
        header,
        hash,
        txs,
        beacon,
        beacon_root,
        size: 0,
    };
    block.size = block.consensus_block().length() as u64;
    block
}

/// Deterministic gas use of a transaction (see the module comment).
fn gas_used(l1tx: &L1Tx, prague: bool) -> u64 {
    let tx = l1tx.tx.inner();
    let input = tx.input();
    let zeros = input.iter().filter(|b| **b == 0).count() as u64;
    let nonzeros = input.len() as u64 - zeros;
    let mut gas = 21_000 + 4 * zeros + 16 * nonzeros;
    if tx.kind().is_create() {
        gas += 32_000 + 2 * input.len().div_ceil(32) as u64;
    }
    if let Some(list) = tx.access_list() {
        for item in list.iter() {
            gas += 2_400 + 1_900 * item.storage_keys.len() as u64;
        }
    }
    gas += 25_000 * tx.authorization_list().map_or(0, |a| a.len() as u64);
    for log in &l1tx.logs {
        gas += 375 + 375 * log.topics().len() as u64 + 8 * log.data.data.len() as u64;
    }
    if prague {
        // EIP-7623: transactions that are mostly calldata pay at least 10 gas per token.
        let floor = 21_000 + 10 * (zeros + 4 * nonzeros);
        gas = gas.max(floor);
    }
    gas.min(tx.gas_limit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::consensus::{SignableTransaction, TxEip1559};
    use alloy::network::TxSignerSync;
    use alloy::primitives::TxKind;
    use alloy::signers::local::PrivateKeySigner;

    fn params() -> BlockParams {
        BlockParams {
            gas_limit: 36_000_000,
            beneficiary: Address::repeat_byte(0xfe),
            prague: true,
            genesis_time: 1_700_000_000,
            seconds_per_slot: 2,
        }
    }

    fn signed(input: &[u8], gas_limit: u64) -> L1Tx {
        let signer = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x42)).unwrap();
        let mut tx = TxEip1559 {
            chain_id: 900,
            nonce: 0,
            gas_limit,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(Address::repeat_byte(0xbb)),
            value: U256::ZERO,
            access_list: Default::default(),
            input: Bytes::copy_from_slice(input),
        };
        let sig = signer.sign_transaction_sync(&mut tx).unwrap();
        L1Tx {
            tx: Recovered::new_unchecked(TxEnvelope::from(tx.into_signed(sig)), signer.address()),
            blobs: Vec::new(),
            logs: Vec::new(),
        }
    }

    #[test]
    fn genesis_has_post_merge_shape() {
        let g = genesis(&params());
        assert_eq!(g.hash, g.header.hash_slow());
        assert_eq!(
            g.header.transactions_root,
            alloy::consensus::EMPTY_ROOT_HASH
        );
        assert_eq!(g.header.requests_hash, Some(EMPTY_REQUESTS_HASH));
        assert_eq!(g.beacon.slot, 0);
    }

    #[test]
    fn child_links_and_roots() {
        let p = params();
        let g = genesis(&p);
        let mut q: VecDeque<L1Tx> = [signed(&[1, 0, 2], 100_000), signed(&[], 21_000)].into();
        let b = build(
            &g,
            &p,
            NextBlock {
                timestamp: p.genesis_time + 2,
                branch: 0,
            },
            &mut q,
        );
        assert!(q.is_empty());
        assert_eq!(b.header.parent_hash, g.hash);
        assert_eq!(b.header.parent_beacon_block_root, Some(g.beacon_root));
        assert_eq!(b.beacon.parent_root, g.beacon_root);
        assert_eq!(b.beacon.slot, 1);
        assert_eq!(b.txs.len(), 2);
        // Standard cost 21000 + 2 * 16 + 4 = 21036 is below the EIP-7623 floor of
        // 21000 + 10 * (1 + 4 * 2) = 21090.
        assert_eq!(b.txs[0].gas_used, 21_090);
        assert_eq!(b.txs[1].gas_used, 21_000);
        assert_eq!(b.header.gas_used, 42_090);
        assert_eq!(b.txs[1].receipt.cumulative_gas_used(), 42_090);
        assert_ne!(
            b.header.transactions_root,
            alloy::consensus::EMPTY_ROOT_HASH
        );
        // Empty parent: base fee drops by 1/8.
        assert_eq!(b.header.base_fee_per_gas, Some(GENESIS_BASE_FEE * 7 / 8));
    }

    #[test]
    fn gas_limit_defers_transactions_in_order() {
        let p = BlockParams {
            gas_limit: 150_000,
            ..params()
        };
        let g = genesis(&p);
        let mut q: VecDeque<L1Tx> = [signed(&[], 100_000), signed(&[], 100_000)].into();
        let b = build(
            &g,
            &p,
            NextBlock {
                timestamp: p.genesis_time + 2,
                branch: 0,
            },
            &mut q,
        );
        assert_eq!(b.txs.len(), 1);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn another_branch_gives_another_hash() {
        let p = params();
        let g = genesis(&p);
        let next = |branch| NextBlock {
            timestamp: p.genesis_time + 2,
            branch,
        };
        let a = build(&g, &p, next(0), &mut VecDeque::new());
        let b = build(&g, &p, next(1), &mut VecDeque::new());
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn calldata_floor_applies_under_prague() {
        let data = vec![0xab; 1000];
        let tx = signed(&data, 1_000_000);
        assert_eq!(gas_used(&tx, false), 21_000 + 16 * 1000);
        assert_eq!(gas_used(&tx, true), 21_000 + 40 * 1000);
    }
}
