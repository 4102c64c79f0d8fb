//! Deterministic block building without an EVM.
//!
//! ```text
//!  parent SimBlock ─┐
//!  BlockInputs ─────┼─▶ execute(txs) ─▶ receipts, gas, DA footprint, roots ─▶ Header ─▶ hash
//!  (attributes or   │                                                    keccak256(rlp(header))
//!   a payload)  ────┘
//! ```
//!
//! What is simulated, and the rules that replace execution (all deterministic):
//! - Transactions are exactly the given ones, in order; deposits must come first.
//! - Gas used per tx = 21000 + 16 per non-zero and 4 per zero calldata byte, capped at the tx's
//!   gas limit; their sum must fit the block gas limit.
//! - Status 1 and no logs, except calldata starting with [`SIM_LOG_MAGIC`](super::logs) emits the
//!   logs it encodes (status 0 and no logs when that encoding is malformed).
//! - Nonces: a deposit's receipt carries its sender's nonce counter (Canyon receipt version 1),
//!   which then increments; a user tx sets its sender's counter to `tx.nonce + 1`.
//! - The L2ToL1MessagePasser (0x4200…0016) storage root starts at the empty trie root and becomes
//!   `keccak256(root ‖ tx_hash)` for each successful tx sent to it. It is the Isthmus header's
//!   `withdrawalsRoot` and `eth_getProof`'s `storageHash`.
//! - State root: the root of a real account trie over the simulated accounts (see
//!   [`state`](super::state)); a history account binds `keccak256(parent.stateRoot ‖ tx_hash…)`.
//!
//! Real: transactions root, receipts root (OP receipt encoding), logs bloom, EIP-1559 base fee
//! (Holocene parameters from the parent's extra data; Jovian min base fee and
//! `max(gasUsed, blobGasUsed)`), Jovian DA footprint, and every header field per fork.

use std::{collections::BTreeMap, sync::Arc};

use alloy::{
    consensus::{
        Block, BlockBody, EMPTY_OMMER_ROOT_HASH, EMPTY_ROOT_HASH, Header, Receipt,
        ReceiptWithBloom, Transaction as _,
        proofs::{calculate_receipt_root, calculate_transaction_root},
        transaction::SignerRecoverable,
    },
    eips::{eip2718::Decodable2718, eip4895::Withdrawals, eip7685::EMPTY_REQUESTS_HASH},
    primitives::{Address, B64, B256, Bloom, Bytes, U256, address, keccak256},
};
use op_alloy_consensus::{
    OpDepositReceipt, OpReceipt, OpTxEnvelope, decode_holocene_extra_data, decode_jovian_extra_data,
};
use op_alloy_rpc_types_engine::OpPayloadAttributes;
use opfleet_protocol::{
    BlockId, L2BlockRef,
    l1_info::{DEFAULT_DA_FOOTPRINT_GAS_SCALAR, L1BlockInfo, L1InfoForkFields},
};

use super::{
    fees::{encode_extra_data, next_base_fee},
    flz::da_usage_estimate,
    logs::decode_sim_logs,
    spec::{ChainSpec, Fork},
    state::SimState,
};

/// The L2ToL1MessagePasser predeploy, whose storage root output roots commit to.
pub const MESSAGE_PASSER: Address = address!("0x4200000000000000000000000000000000000016");

/// Canyon deposit receipt version.
const DEPOSIT_RECEIPT_VERSION: u64 = 1;

/// Why a block could not be built or imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A transaction is not a valid EIP-2718 OP transaction.
    #[error("transaction {index} does not decode: {reason}")]
    TxDecode {
        /// Position in the block.
        index: usize,
        /// The decoder's message.
        reason: String,
    },
    /// A deposit follows a user transaction.
    #[error("deposit transaction {index} follows a non-deposit transaction")]
    DepositAfterUserTx {
        /// Position in the block.
        index: usize,
    },
    /// A user transaction's signature does not recover.
    #[error("transaction {index}: sender does not recover: {reason}")]
    Sender {
        /// Position in the block.
        index: usize,
        /// The recovery error.
        reason: String,
    },
    /// Total gas used is over the block gas limit.
    #[error("gas used {used} exceeds the block gas limit {limit} at transaction {index}")]
    GasLimit {
        /// Position of the first transaction over the limit.
        index: usize,
        /// Cumulative gas used there.
        used: u64,
        /// The block gas limit.
        limit: u64,
    },
    /// Jovian DA footprint over the block gas limit.
    #[error("DA footprint {footprint} exceeds the block gas limit {limit}")]
    DaFootprint {
        /// The block's DA footprint.
        footprint: u64,
        /// The block gas limit.
        limit: u64,
    },
    /// The timestamp does not advance.
    #[error("timestamp {timestamp} is not after the parent's {parent}")]
    Timestamp {
        /// The block's timestamp.
        timestamp: u64,
        /// The parent's timestamp.
        parent: u64,
    },
    /// A required attribute is missing.
    #[error("payload attributes lack {0}")]
    Missing(&'static str),
    /// Withdrawals must be empty on L2.
    #[error("withdrawals must be empty, got {0}")]
    Withdrawals(usize),
    /// `minBaseFee` must be present exactly from Jovian.
    #[error("minBaseFee must be {} under {fork:?}", if *.fork >= Fork::Jovian { "set" } else { "absent" })]
    MinBaseFee {
        /// The fork at the block's timestamp.
        fork: Fork,
    },
    /// EIP-1559 parameters that cannot be used.
    #[error("EIP-1559 parameters: {0}")]
    Eip1559(String),
}

/// The inputs that, with the parent, decide a block completely.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockInputs {
    /// Block timestamp.
    pub timestamp: u64,
    /// Fee recipient (header beneficiary).
    pub fee_recipient: Address,
    /// prevRandao (header mix hash).
    pub prev_randao: B256,
    /// Block gas limit.
    pub gas_limit: u64,
    /// EIP-1559 parameters as the 8-byte Holocene encoding (zero: chain defaults).
    pub eip1559_params: B64,
    /// Jovian minimum base fee.
    pub min_base_fee: Option<u64>,
    /// Parent beacon block root.
    pub parent_beacon_block_root: B256,
    /// EIP-2718 encoded transactions.
    pub transactions: Vec<Bytes>,
}

impl BlockInputs {
    /// Reads and checks Engine API payload attributes (Holocene and later rules).
    pub fn from_attributes(attrs: &OpPayloadAttributes) -> Result<Self, BuildError> {
        let p = &attrs.payload_attributes;
        match &p.withdrawals {
            None => return Err(BuildError::Missing("withdrawals")),
            Some(w) if !w.is_empty() => return Err(BuildError::Withdrawals(w.len())),
            Some(_) => {}
        }
        Ok(Self {
            timestamp: p.timestamp,
            fee_recipient: p.suggested_fee_recipient,
            prev_randao: p.prev_randao,
            gas_limit: attrs.gas_limit.ok_or(BuildError::Missing("gasLimit"))?,
            eip1559_params: attrs
                .eip_1559_params
                .ok_or(BuildError::Missing("eip1559Params"))?,
            min_base_fee: attrs.min_base_fee,
            parent_beacon_block_root: p
                .parent_beacon_block_root
                .ok_or(BuildError::Missing("parentBeaconBlockRoot"))?,
            transactions: attrs.transactions.clone().unwrap_or_default(),
        })
    }

    /// Reads the inputs back from a received block, so it can be rebuilt and compared.
    pub fn from_block(block: &Block<Bytes>, fork: Fork) -> Result<Self, BuildError> {
        let h = &block.header;
        let (elasticity, denominator, min_base_fee) = if fork.is_jovian() {
            let (e, d, m) = decode_jovian_extra_data(&h.extra_data)
                .map_err(|e| BuildError::Eip1559(format!("extraData: {e}")))?;
            (e, d, Some(m))
        } else {
            let (e, d) = decode_holocene_extra_data(&h.extra_data)
                .map_err(|e| BuildError::Eip1559(format!("extraData: {e}")))?;
            (e, d, None)
        };
        let mut params = [0u8; 8];
        params[..4].copy_from_slice(&denominator.to_be_bytes());
        params[4..].copy_from_slice(&elasticity.to_be_bytes());
        Ok(Self {
            timestamp: h.timestamp,
            fee_recipient: h.beneficiary,
            prev_randao: h.mix_hash,
            gas_limit: h.gas_limit,
            eip1559_params: B64::from(params),
            min_base_fee,
            parent_beacon_block_root: h
                .parent_beacon_block_root
                .ok_or(BuildError::Missing("parentBeaconBlockRoot"))?,
            transactions: block.body.transactions.clone(),
        })
    }
}

/// A block the simulated client knows, with everything its RPC serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimBlock {
    /// Header and body.
    pub block: Block<OpTxEnvelope>,
    /// keccak256 of the RLP header.
    pub hash: B256,
    /// The fork the block follows.
    pub fork: Fork,
    /// EIP-2718 encodings of the transactions.
    pub encoded_txs: Vec<Bytes>,
    /// Transaction hashes.
    pub tx_hashes: Vec<B256>,
    /// Transaction senders.
    pub senders: Vec<Address>,
    /// Gas used by each transaction.
    pub tx_gas_used: Vec<u64>,
    /// Receipts, in OP encoding.
    pub receipts: Vec<ReceiptWithBloom<OpReceipt>>,
    /// L2ToL1MessagePasser storage root after this block.
    pub message_passer_root: B256,
    /// Simulated account nonces after this block.
    pub nonces: Arc<BTreeMap<Address, u64>>,
    /// The history commitment in the state (see [`SimState`]).
    pub history: B256,
}

impl SimBlock {
    /// The header.
    pub fn header(&self) -> &Header {
        &self.block.header
    }

    /// The block number.
    pub fn number(&self) -> u64 {
        self.block.header.number
    }

    /// The block's id.
    pub fn id(&self) -> BlockId {
        BlockId {
            hash: self.hash,
            number: self.number(),
        }
    }

    /// The block as a rollup node sees it, from its L1-info deposit; `None` when the first
    /// transaction is not one (genesis, whose L1 origin is in the rollup config instead).
    pub fn l2_block_ref(&self) -> Option<L2BlockRef> {
        let info = match self.block.body.transactions.first()? {
            OpTxEnvelope::Deposit(d) => L1BlockInfo::from_deposit_tx(d).ok()?,
            _ => return None,
        };
        Some(L2BlockRef {
            hash: self.hash,
            number: self.number(),
            parent_hash: self.header().parent_hash,
            timestamp: self.header().timestamp,
            l1_origin: info.l1_origin(),
            sequence_number: info.sequence_number,
        })
    }

    /// The simulated state after this block; its root is the header's state root.
    pub fn state(&self) -> SimState {
        SimState::new(
            &self.nonces,
            self.message_passer_root,
            self.number(),
            self.history,
        )
    }

    /// The genesis block of a chain.
    pub fn genesis(spec: &ChainSpec) -> Result<Self, BuildError> {
        let g = &spec.genesis;
        let fork = spec.forks.fork_at(g.timestamp);
        let extra_data = encode_extra_data(fork, B64::ZERO, Some(0), spec.base_fee_params)?;
        let history = g.history_seed;
        let state_root = SimState::new(&BTreeMap::new(), EMPTY_ROOT_HASH, 0, history).root();
        let header = Header {
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            state_root,
            transactions_root: EMPTY_ROOT_HASH,
            receipts_root: EMPTY_ROOT_HASH,
            gas_limit: g.gas_limit,
            timestamp: g.timestamp,
            extra_data,
            base_fee_per_gas: Some(g.base_fee),
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            requests_hash: fork.is_isthmus().then_some(EMPTY_REQUESTS_HASH),
            ..Header::default()
        };
        let hash = header.hash_slow();
        Ok(Self {
            block: Block::new(header, empty_body(Vec::new())),
            hash,
            fork,
            encoded_txs: Vec::new(),
            tx_hashes: Vec::new(),
            senders: Vec::new(),
            tx_gas_used: Vec::new(),
            receipts: Vec::new(),
            message_passer_root: EMPTY_ROOT_HASH,
            nonces: Arc::default(),
            history,
        })
    }
}

fn empty_body(transactions: Vec<OpTxEnvelope>) -> BlockBody<OpTxEnvelope> {
    BlockBody {
        transactions,
        ommers: Vec::new(),
        withdrawals: Some(Withdrawals::default()),
    }
}

/// Intrinsic gas of calldata: 21000 + 16 per non-zero byte + 4 per zero byte.
fn simulated_gas(input: &[u8], gas_limit: u64) -> u64 {
    let zeros = input.iter().filter(|b| **b == 0).count() as u64;
    let non_zeros = input.len() as u64 - zeros;
    (21_000 + 16 * non_zeros + 4 * zeros).min(gas_limit)
}

/// The DA footprint gas scalar of the block's L1-info deposit (Jovian form), else the default.
fn da_footprint_scalar(txs: &[OpTxEnvelope]) -> u64 {
    let scalar = txs
        .first()
        .and_then(|tx| L1BlockInfo::decode_calldata(tx.input()).ok())
        .and_then(|info| match info.fork_fields {
            L1InfoForkFields::Jovian {
                da_footprint_gas_scalar,
                ..
            } => Some(da_footprint_gas_scalar),
            _ => None,
        })
        .filter(|s| *s != 0)
        .unwrap_or(DEFAULT_DA_FOOTPRINT_GAS_SCALAR);
    u64::from(scalar)
}

/// Builds the block `inputs` describe on top of `parent`.
pub fn build_block(
    spec: &ChainSpec,
    parent: &SimBlock,
    inputs: &BlockInputs,
) -> Result<SimBlock, BuildError> {
    let parent_header = parent.header();
    if inputs.timestamp <= parent_header.timestamp {
        return Err(BuildError::Timestamp {
            timestamp: inputs.timestamp,
            parent: parent_header.timestamp,
        });
    }
    let fork = spec.forks.fork_at(inputs.timestamp);
    if fork.is_jovian() != inputs.min_base_fee.is_some() {
        return Err(BuildError::MinBaseFee { fork });
    }
    let extra_data = encode_extra_data(
        fork,
        inputs.eip1559_params,
        inputs.min_base_fee,
        spec.base_fee_params,
    )?;
    let base_fee = next_base_fee(parent)?;

    let mut txs = Vec::with_capacity(inputs.transactions.len());
    let mut senders = Vec::with_capacity(inputs.transactions.len());
    let mut tx_hashes = Vec::with_capacity(inputs.transactions.len());
    let mut tx_gas_used = Vec::with_capacity(inputs.transactions.len());
    let mut receipts = Vec::with_capacity(inputs.transactions.len());
    let mut nonces = (*parent.nonces).clone();
    let mut message_passer_root = parent.message_passer_root;
    let mut cumulative_gas = 0u64;
    let mut seen_user_tx = false;
    let mut da_usage = 0u64;

    for (index, raw) in inputs.transactions.iter().enumerate() {
        let tx = OpTxEnvelope::decode_2718_exact(raw).map_err(|e| BuildError::TxDecode {
            index,
            reason: e.to_string(),
        })?;
        let tx_hash = keccak256(raw);
        let sender = match &tx {
            OpTxEnvelope::Deposit(d) => {
                if seen_user_tx {
                    return Err(BuildError::DepositAfterUserTx { index });
                }
                d.from
            }
            other => {
                seen_user_tx = true;
                da_usage = da_usage.saturating_add(da_usage_estimate(raw));
                other.recover_signer().map_err(|e| BuildError::Sender {
                    index,
                    reason: e.to_string(),
                })?
            }
        };
        let gas = simulated_gas(tx.input(), tx.gas_limit());
        cumulative_gas = cumulative_gas.saturating_add(gas);
        if cumulative_gas > inputs.gas_limit {
            return Err(BuildError::GasLimit {
                index,
                used: cumulative_gas,
                limit: inputs.gas_limit,
            });
        }
        let (success, logs) = match decode_sim_logs(tx.input()) {
            Ok(logs) => (true, logs.unwrap_or_default()),
            Err(_) => (false, Vec::new()),
        };
        if success && tx.to() == Some(MESSAGE_PASSER) {
            message_passer_root = keccak256([message_passer_root, tx_hash].concat());
        }
        let counter = nonces.entry(sender).or_insert(0);
        let deposit_nonce = *counter;
        *counter = match &tx {
            OpTxEnvelope::Deposit(_) => counter.saturating_add(1),
            other => (*counter).max(other.nonce().saturating_add(1)),
        };
        let receipt = Receipt {
            status: success.into(),
            cumulative_gas_used: cumulative_gas,
            logs,
        };
        let op_receipt = match &tx {
            OpTxEnvelope::Legacy(_) => OpReceipt::Legacy(receipt),
            OpTxEnvelope::Eip2930(_) => OpReceipt::Eip2930(receipt),
            OpTxEnvelope::Eip1559(_) => OpReceipt::Eip1559(receipt),
            OpTxEnvelope::Eip7702(_) => OpReceipt::Eip7702(receipt),
            OpTxEnvelope::PostExec(_) => OpReceipt::PostExec(receipt),
            OpTxEnvelope::Deposit(_) => OpReceipt::Deposit(OpDepositReceipt {
                inner: receipt,
                deposit_nonce: Some(deposit_nonce),
                deposit_receipt_version: Some(DEPOSIT_RECEIPT_VERSION),
            }),
        };
        receipts.push(ReceiptWithBloom::from(op_receipt));
        txs.push(tx);
        senders.push(sender);
        tx_hashes.push(tx_hash);
        tx_gas_used.push(gas);
    }

    let blob_gas_used = if fork.is_jovian() {
        let footprint = da_usage.saturating_mul(da_footprint_scalar(&txs));
        if footprint > inputs.gas_limit {
            return Err(BuildError::DaFootprint {
                footprint,
                limit: inputs.gas_limit,
            });
        }
        footprint
    } else {
        0
    };
    let mut commitment = Vec::with_capacity(32 + 32 * tx_hashes.len());
    commitment.extend_from_slice(parent_header.state_root.as_slice());
    for h in &tx_hashes {
        commitment.extend_from_slice(h.as_slice());
    }
    let history = keccak256(&commitment);
    let number = parent_header.number.saturating_add(1);
    let state_root = SimState::new(&nonces, message_passer_root, number, history).root();
    let logs_bloom = receipts
        .iter()
        .fold(Bloom::ZERO, |acc, r| acc | r.logs_bloom);

    let header = Header {
        parent_hash: parent.hash,
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: inputs.fee_recipient,
        state_root,
        transactions_root: calculate_transaction_root(&txs),
        receipts_root: calculate_receipt_root(&receipts),
        logs_bloom,
        difficulty: U256::ZERO,
        number,
        gas_limit: inputs.gas_limit,
        gas_used: cumulative_gas,
        timestamp: inputs.timestamp,
        extra_data,
        mix_hash: inputs.prev_randao,
        nonce: B64::ZERO,
        base_fee_per_gas: Some(base_fee),
        withdrawals_root: Some(if fork.is_isthmus() {
            message_passer_root
        } else {
            EMPTY_ROOT_HASH
        }),
        blob_gas_used: Some(blob_gas_used),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(inputs.parent_beacon_block_root),
        requests_hash: fork.is_isthmus().then_some(EMPTY_REQUESTS_HASH),
        ..Header::default()
    };
    let hash = header.hash_slow();
    Ok(SimBlock {
        block: Block::new(header, empty_body(txs)),
        hash,
        fork,
        encoded_txs: inputs.transactions.clone(),
        tx_hashes,
        senders,
        tx_gas_used,
        receipts,
        message_passer_root,
        nonces: Arc::new(nonces),
        history,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::el::{
        fixtures::{attributes, l1_info_tx, test_signed_tx, user_deposit},
        logs::encode_sim_logs,
        spec::{ForkSchedule, GenesisConfig},
    };
    use alloy::{
        consensus::TxReceipt,
        eips::eip2718::Encodable2718,
        primitives::{LogData, address},
    };
    use opfleet_protocol::ChainId;

    const INBOX: Address = address!("0x4200000000000000000000000000000000000022");

    fn spec(forks: ForkSchedule) -> ChainSpec {
        ChainSpec::new(ChainId(901), GenesisConfig::new(ChainId(901), 1_000), forks)
    }

    fn build(spec: &ChainSpec, parent: &SimBlock, txs: Vec<Bytes>) -> SimBlock {
        let fork = spec.forks.fork_at(parent.header().timestamp + 2);
        let attrs = attributes(fork, parent.header().timestamp + 2, txs);
        build_block(spec, parent, &BlockInputs::from_attributes(&attrs).unwrap()).unwrap()
    }

    fn log_tx() -> (Bytes, alloy::primitives::Log) {
        let log = alloy::primitives::Log {
            address: INBOX,
            data: LogData::new_unchecked(vec![B256::repeat_byte(1)], Bytes::from_static(b"hi")),
        };
        (
            test_signed_tx(
                901,
                0,
                INBOX,
                encode_sim_logs(std::slice::from_ref(&log)).unwrap(),
            ),
            log,
        )
    }

    #[test]
    fn genesis_follows_fork_rules() {
        let g = SimBlock::genesis(&spec(ForkSchedule::isthmus())).unwrap();
        assert_eq!(g.hash, g.header().hash_slow());
        assert_eq!(g.header().requests_hash, Some(EMPTY_REQUESTS_HASH));
        assert_eq!(g.header().extra_data.len(), 9);
        let j = SimBlock::genesis(&spec(ForkSchedule::jovian())).unwrap();
        assert_eq!(j.header().extra_data.len(), 17);
        let h = SimBlock::genesis(&spec(ForkSchedule::holocene())).unwrap();
        assert_eq!(h.header().requests_hash, None);
        assert_ne!(g.hash, h.hash);
    }

    #[test]
    fn receipts_logs_and_message_passer() {
        let spec = spec(ForkSchedule::isthmus());
        let genesis = SimBlock::genesis(&spec).unwrap();
        let (logging, log) = log_tx();
        let withdrawal = user_deposit(
            B256::ZERO,
            0,
            Address::repeat_byte(5),
            MESSAGE_PASSER,
            Bytes::new(),
        );
        let txs = vec![l1_info_tx(Fork::Isthmus, 1, 0, 0), withdrawal, logging];
        let b = build(&spec, &genesis, txs);
        assert_eq!(b.receipts.len(), 3);
        assert_eq!(b.receipts[2].receipt.logs(), &[log]);
        assert!(b.receipts.iter().all(|r| r.receipt.status()));
        assert_ne!(b.message_passer_root, EMPTY_ROOT_HASH);
        assert_eq!(b.header().withdrawals_root, Some(b.message_passer_root));
        assert_eq!(
            b.header().gas_used,
            b.receipts[2].receipt.cumulative_gas_used()
        );
        assert_eq!(b.header().logs_bloom, b.receipts[2].logs_bloom);
        match &b.receipts[1].receipt {
            OpReceipt::Deposit(d) => {
                assert_eq!(
                    (d.deposit_nonce, d.deposit_receipt_version),
                    (Some(0), Some(1))
                );
            }
            other => panic!("expected a deposit receipt, got {other:?}"),
        }
        let block_ref = b.l2_block_ref().unwrap();
        assert_eq!(
            (block_ref.l1_origin.number, block_ref.sequence_number),
            (1, 0)
        );
        assert_eq!(block_ref.id(), b.id());
        assert_eq!(genesis.l2_block_ref(), None);
        // A block without a message-passer tx keeps the root.
        let next = build(&spec, &b, vec![l1_info_tx(Fork::Isthmus, 1, 1, 0)]);
        assert_eq!(next.message_passer_root, b.message_passer_root);
        assert_eq!(next.nonces.get(&Address::repeat_byte(5)), Some(&1));
    }

    #[test]
    fn malformed_log_calldata_fails_the_tx() {
        let spec = spec(ForkSchedule::isthmus());
        let genesis = SimBlock::genesis(&spec).unwrap();
        let mut bad = SIM_LOG_PREFIX_FOR_TEST.to_vec();
        bad.push(1);
        let tx = test_signed_tx(901, 0, INBOX, bad.into());
        let b = build(
            &spec,
            &genesis,
            vec![l1_info_tx(Fork::Isthmus, 1, 0, 0), tx],
        );
        assert!(!b.receipts[1].receipt.status());
        assert!(b.receipts[1].receipt.logs().is_empty());
    }

    const SIM_LOG_PREFIX_FOR_TEST: [u8; 8] = crate::el::logs::SIM_LOG_MAGIC;

    #[test]
    fn jovian_da_footprint_and_min_base_fee() {
        let mut spec = spec(ForkSchedule::jovian());
        spec.genesis.base_fee = 2_000;
        let genesis = SimBlock::genesis(&spec).unwrap();
        let (logging, _) = log_tx();
        let b = build(
            &spec,
            &genesis,
            vec![l1_info_tx(Fork::Jovian, 1, 0, 0), logging.clone()],
        );
        let expected = da_usage_estimate(&logging) * u64::from(DEFAULT_DA_FOOTPRINT_GAS_SCALAR);
        assert_eq!(b.header().blob_gas_used, Some(expected));
        let (_, _, min) = decode_jovian_extra_data(&b.header().extra_data).unwrap();
        assert_eq!(min, 1_000);
        // Empty blocks drive the base fee down to the minimum and no further.
        let mut cur = b;
        for _ in 0..400 {
            cur = build(&spec, &cur, vec![]);
        }
        assert_eq!(cur.header().base_fee_per_gas, Some(1_000));
    }

    #[test]
    fn huge_min_base_fee_saturates() {
        let spec = spec(ForkSchedule::jovian());
        let genesis = SimBlock::genesis(&spec).unwrap();
        let big: Vec<u8> = (0..20_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let heavy: Vec<Bytes> = (0..10)
            .map(|n| test_signed_tx(901, n, INBOX, big.clone().into()))
            .collect();
        let mut attrs = attributes(Fork::Jovian, 1_002, vec![]);
        attrs.min_base_fee = Some(u64::MAX);
        let mut cur = genesis;
        // Heavy blocks push the metered gas (DA footprint) over the target each time.
        for (i, txs) in [heavy.clone(), vec![], heavy, vec![]]
            .into_iter()
            .enumerate()
        {
            attrs.payload_attributes.timestamp = 1_002 + 2 * i as u64;
            attrs.transactions = Some(txs);
            let inputs = BlockInputs::from_attributes(&attrs).unwrap();
            cur = build_block(&spec, &cur, &inputs).unwrap();
            if i == 2 {
                assert!(cur.header().blob_gas_used.unwrap() > 30_000_000 / 6);
                assert_eq!(cur.header().base_fee_per_gas, Some(u64::MAX));
            }
        }
        assert_eq!(cur.header().base_fee_per_gas, Some(u64::MAX));
    }

    #[test]
    fn base_fee_follows_eip1559() {
        let spec = spec(ForkSchedule::isthmus());
        let genesis = SimBlock::genesis(&spec).unwrap();
        let b1 = build(&spec, &genesis, vec![]);
        // Empty parent: decrease by 1/250 of the parent base fee (denominator 250).
        assert_eq!(
            b1.header().base_fee_per_gas,
            Some(1_000_000_000 - 1_000_000_000 / 250)
        );
    }

    #[test]
    fn attribute_errors() {
        let spec = spec(ForkSchedule::isthmus());
        let genesis = SimBlock::genesis(&spec).unwrap();
        let mut attrs = attributes(Fork::Isthmus, 1_000, vec![]);
        let inputs = BlockInputs::from_attributes(&attrs).unwrap();
        assert!(matches!(
            build_block(&spec, &genesis, &inputs),
            Err(BuildError::Timestamp { .. })
        ));
        attrs.payload_attributes.timestamp = 1_002;
        attrs.min_base_fee = Some(1);
        let inputs = BlockInputs::from_attributes(&attrs).unwrap();
        assert_eq!(
            build_block(&spec, &genesis, &inputs),
            Err(BuildError::MinBaseFee {
                fork: Fork::Isthmus
            })
        );
        attrs.min_base_fee = None;
        attrs.gas_limit = None;
        assert_eq!(
            BlockInputs::from_attributes(&attrs),
            Err(BuildError::Missing("gasLimit"))
        );
        attrs.gas_limit = Some(30_000_000);
        attrs.eip_1559_params = Some(B64::from([0, 0, 0, 0, 0, 0, 0, 6]));
        let inputs = BlockInputs::from_attributes(&attrs).unwrap();
        assert!(matches!(
            build_block(&spec, &genesis, &inputs),
            Err(BuildError::Eip1559(_))
        ));
        attrs.eip_1559_params = Some(B64::ZERO);
        attrs.transactions = Some(vec![Bytes::from_static(&[0x7e, 0xc0])]);
        let inputs = BlockInputs::from_attributes(&attrs).unwrap();
        assert!(matches!(
            build_block(&spec, &genesis, &inputs),
            Err(BuildError::TxDecode { index: 0, .. })
        ));
        let (user, _) = log_tx();
        attrs.transactions = Some(vec![user, l1_info_tx(Fork::Isthmus, 1, 0, 0)]);
        let inputs = BlockInputs::from_attributes(&attrs).unwrap();
        assert_eq!(
            build_block(&spec, &genesis, &inputs),
            Err(BuildError::DepositAfterUserTx { index: 1 })
        );
    }

    #[test]
    fn rebuild_from_block_is_identical() {
        for forks in [
            ForkSchedule::holocene(),
            ForkSchedule::isthmus(),
            ForkSchedule::jovian(),
        ] {
            let spec = spec(forks);
            let genesis = SimBlock::genesis(&spec).unwrap();
            let fork = forks.fork_at(1_002);
            let (logging, _) = log_tx();
            let b = build(&spec, &genesis, vec![l1_info_tx(fork, 1, 0, 0), logging]);
            let raw = b
                .block
                .clone()
                .map_transactions(|tx| Bytes::from(tx.encoded_2718()));
            let again = build_block(
                &spec,
                &genesis,
                &BlockInputs::from_block(&raw, fork).unwrap(),
            )
            .unwrap();
            assert_eq!(again, b);
        }
    }
}
