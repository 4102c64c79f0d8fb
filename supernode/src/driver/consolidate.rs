//! Does a block the execution client already has equal what the attributes would build?
//! (op-node `AttributesMatchBlock`, specs `protocol/derivation.md` "Engine Queue",
//! `holocene/exec-engine.md` and `jovian/exec-engine.md` for `extraData`.) And the two facts a
//! driver reads back from a block: its [`L2BlockRef`] and the system config it was built with.
//!
//! ```text
//! compared: parent hash, timestamp, transactions (bytes, in order), gas limit, fee recipient,
//!           prevRandao (mixHash), parent beacon root, withdrawals (empty list since Canyon)
//! extraData Holocene: 0x00 | denominator u32 | elasticity u32                 (9 bytes)
//!           Jovian:   0x01 | denominator u32 | elasticity u32 | minBaseFee u64 (17 bytes)
//!   zero eip1559Params in the attributes mean the chain's Canyon defaults
//! ```

use alloy::consensus::Header;
use alloy::eips::eip2718::Decodable2718;
use alloy::eips::eip4895::Withdrawal;
use alloy::primitives::{B64, B256, Bytes};
use op_alloy_consensus::OpTxEnvelope;
use op_alloy_rpc_types_engine::OpPayloadAttributes;
use opfleet_protocol::config::{RollupConfig, SystemConfig};
use opfleet_protocol::l1_info::{L1BlockInfo, L1InfoForkFields};
use opfleet_protocol::{BlockId, L2BlockRef};

/// A block of the execution client: header, hash and EIP-2718 transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutedBlock {
    /// Block hash.
    pub hash: B256,
    /// The header.
    pub header: Header,
    /// EIP-2718 encoded transactions, in order.
    pub transactions: Vec<Bytes>,
    /// Withdrawals, if the block has the field.
    pub withdrawals: Option<Vec<Withdrawal>>,
}

/// The first difference between attributes and a block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// The block builds on another parent.
    #[error("parent hash {block}, attributes build on {attributes}")]
    ParentHash {
        /// Block's parent.
        block: B256,
        /// Attributes' parent.
        attributes: B256,
    },
    /// Timestamps differ.
    #[error("timestamp {block}, attributes {attributes}")]
    Timestamp {
        /// Block's.
        block: u64,
        /// Attributes'.
        attributes: u64,
    },
    /// Transaction counts differ.
    #[error("{block} transactions, attributes {attributes}")]
    TransactionCount {
        /// Block's.
        block: usize,
        /// Attributes'.
        attributes: usize,
    },
    /// A transaction differs.
    #[error("transaction {0} differs")]
    Transaction(usize),
    /// Gas limits differ (or the attributes have none).
    #[error("gas limit {block}, attributes {attributes:?}")]
    GasLimit {
        /// Block's.
        block: u64,
        /// Attributes'.
        attributes: Option<u64>,
    },
    /// Fee recipients differ.
    #[error("fee recipient differs")]
    FeeRecipient,
    /// prevRandao differs from the block's mix hash.
    #[error("prevRandao differs")]
    PrevRandao,
    /// Parent beacon block roots differ.
    #[error("parent beacon block root {block:?}, attributes {attributes:?}")]
    ParentBeaconRoot {
        /// Block's.
        block: Option<B256>,
        /// Attributes'.
        attributes: Option<B256>,
    },
    /// Withdrawals differ.
    #[error("withdrawals differ")]
    Withdrawals,
    /// The Holocene EIP-1559 parameters in extraData differ.
    #[error("extraData {extra_data} does not carry eip1559Params {attributes:?}")]
    Eip1559Params {
        /// The block's extraData.
        extra_data: Bytes,
        /// Attributes'.
        attributes: Option<B64>,
    },
    /// The Jovian minimum base fee in extraData differs.
    #[error("extraData {extra_data} does not carry minBaseFee {attributes:?}")]
    MinBaseFee {
        /// The block's extraData.
        extra_data: Bytes,
        /// Attributes'.
        attributes: Option<u64>,
    },
}

/// Checks that `block` is what `attributes` build on `parent`.
pub fn check_attributes_match(
    rollup: &RollupConfig,
    parent: B256,
    attributes: &OpPayloadAttributes,
    block: &ExecutedBlock,
) -> Result<(), Mismatch> {
    let h = &block.header;
    let p = &attributes.payload_attributes;
    if h.parent_hash != parent {
        return Err(Mismatch::ParentHash {
            block: h.parent_hash,
            attributes: parent,
        });
    }
    if h.timestamp != p.timestamp {
        return Err(Mismatch::Timestamp {
            block: h.timestamp,
            attributes: p.timestamp,
        });
    }
    let txs = attributes.transactions.as_deref().unwrap_or_default();
    if txs.len() != block.transactions.len() {
        return Err(Mismatch::TransactionCount {
            block: block.transactions.len(),
            attributes: txs.len(),
        });
    }
    if let Some(i) = txs
        .iter()
        .zip(&block.transactions)
        .position(|(a, b)| a != b)
    {
        return Err(Mismatch::Transaction(i));
    }
    if attributes.gas_limit != Some(h.gas_limit) {
        return Err(Mismatch::GasLimit {
            block: h.gas_limit,
            attributes: attributes.gas_limit,
        });
    }
    if h.beneficiary != p.suggested_fee_recipient {
        return Err(Mismatch::FeeRecipient);
    }
    if h.mix_hash != p.prev_randao {
        return Err(Mismatch::PrevRandao);
    }
    if h.parent_beacon_block_root != p.parent_beacon_block_root {
        return Err(Mismatch::ParentBeaconRoot {
            block: h.parent_beacon_block_root,
            attributes: p.parent_beacon_block_root,
        });
    }
    let withdrawals_match = match (&p.withdrawals, &block.withdrawals) {
        (None, None) => true,
        (Some(a), Some(b)) => a == b,
        (Some(a), None) => a.is_empty(),
        (None, Some(_)) => false,
    };
    if !withdrawals_match {
        return Err(Mismatch::Withdrawals);
    }
    if rollup.is_holocene_active(p.timestamp) {
        let expected = match attributes.eip_1559_params {
            Some(params) if params == B64::ZERO => canyon_defaults(rollup),
            other => other,
        };
        // Zero params with unknown Canyon defaults: the block carries whatever the EL chose.
        let skip = attributes.eip_1559_params == Some(B64::ZERO) && expected.is_none();
        if !skip
            && (expected.is_none() || h.extra_data.get(1..9) != expected.as_ref().map(|e| &e.0[..]))
        {
            return Err(Mismatch::Eip1559Params {
                extra_data: h.extra_data.clone(),
                attributes: attributes.eip_1559_params,
            });
        }
    }
    if rollup.is_jovian_active(p.timestamp) {
        let in_block = h
            .extra_data
            .get(9..17)
            .filter(|_| h.extra_data.len() == 17 && h.extra_data.first() == Some(&1))
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes);
        if in_block.is_none() || in_block != attributes.min_base_fee {
            return Err(Mismatch::MinBaseFee {
                extra_data: h.extra_data.clone(),
                attributes: attributes.min_base_fee,
            });
        }
    }
    Ok(())
}

/// The chain's Canyon EIP-1559 parameters as Holocene encodes them, if the config has them.
fn canyon_defaults(rollup: &RollupConfig) -> Option<B64> {
    let op = rollup.chain_op_config?;
    let denominator = u32::try_from(op.eip1559_denominator_canyon?).ok()?;
    let elasticity = u32::try_from(op.eip1559_elasticity).ok()?;
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&denominator.to_be_bytes());
    out[4..].copy_from_slice(&elasticity.to_be_bytes());
    Some(B64::from(out))
}

/// Why a block cannot be read as an L2 block of the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockReadError {
    /// No transactions, or the first is not a deposit.
    #[error("block {0}: first transaction is not a deposit")]
    NoL1Info(u64),
    /// The L1-info deposit does not decode.
    #[error("block {number}: L1-info deposit: {reason}")]
    L1Info {
        /// Block number.
        number: u64,
        /// What is wrong.
        reason: String,
    },
}

/// The L1-info values of a non-genesis block.
fn l1_info(block: &ExecutedBlock) -> Result<L1BlockInfo, BlockReadError> {
    let number = block.header.number;
    let first = block
        .transactions
        .first()
        .ok_or(BlockReadError::NoL1Info(number))?;
    let Ok(OpTxEnvelope::Deposit(tx)) = OpTxEnvelope::decode_2718(&mut first.as_ref()) else {
        return Err(BlockReadError::NoL1Info(number));
    };
    L1BlockInfo::from_deposit_tx(tx.inner()).map_err(|e| BlockReadError::L1Info {
        number,
        reason: e.to_string(),
    })
}

/// The block as an [`L2BlockRef`]; the L2 genesis block maps to the rollup's L1 genesis.
pub fn l2_block_ref(
    rollup: &RollupConfig,
    block: &ExecutedBlock,
) -> Result<L2BlockRef, BlockReadError> {
    let h = &block.header;
    let (l1_origin, sequence_number) = if h.number == rollup.genesis.l2.number {
        (rollup.genesis.l1, 0)
    } else {
        let info = l1_info(block)?;
        (
            BlockId {
                hash: info.block_hash,
                number: info.number,
            },
            info.sequence_number,
        )
    };
    Ok(L2BlockRef {
        hash: block.hash,
        number: h.number,
        parent_hash: h.parent_hash,
        timestamp: h.timestamp,
        l1_origin,
        sequence_number,
    })
}

/// The L2 system config a block was built with (op-node `PayloadToSystemConfig`): L1-info
/// values, the header's gas limit, and extraData's EIP-1559 parameters and minimum base fee.
pub fn system_config_of(
    rollup: &RollupConfig,
    block: &ExecutedBlock,
) -> Result<SystemConfig, BlockReadError> {
    let h = &block.header;
    if h.number == rollup.genesis.l2.number {
        return Ok(rollup.genesis.system_config);
    }
    let info = l1_info(block)?;
    let mut scalar = B256::ZERO;
    scalar.0[0] = 1;
    scalar.0[24..28].copy_from_slice(&info.blob_base_fee_scalar.to_be_bytes());
    scalar.0[28..32].copy_from_slice(&info.base_fee_scalar.to_be_bytes());
    let (operator_fee, da_footprint) = match info.fork_fields {
        L1InfoForkFields::Ecotone => (None, None),
        L1InfoForkFields::Isthmus {
            operator_fee_scalar,
            operator_fee_constant,
        } => (Some((operator_fee_scalar, operator_fee_constant)), None),
        L1InfoForkFields::Jovian {
            operator_fee_scalar,
            operator_fee_constant,
            da_footprint_gas_scalar,
        } => (
            Some((operator_fee_scalar, operator_fee_constant)),
            Some(da_footprint_gas_scalar),
        ),
    };
    let operator_fee_params = operator_fee.map(|(s, c)| {
        let mut w = B256::ZERO;
        w.0[20..24].copy_from_slice(&s.to_be_bytes());
        w.0[24..32].copy_from_slice(&c.to_be_bytes());
        w
    });
    let holocene = rollup.is_holocene_active(h.timestamp);
    let eip1559_params = h
        .extra_data
        .get(1..9)
        .filter(|_| holocene)
        .map(B64::from_slice);
    let min_base_fee = h
        .extra_data
        .get(9..17)
        .filter(|_| rollup.is_jovian_active(h.timestamp))
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes);
    Ok(SystemConfig {
        batcher_address: info.batcher,
        overhead: B256::ZERO,
        scalar,
        gas_limit: h.gas_limit,
        eip1559_params: eip1559_params.or(holocene.then_some(B64::ZERO)),
        operator_fee_params,
        min_base_fee,
        da_footprint_gas_scalar: da_footprint,
    })
}
