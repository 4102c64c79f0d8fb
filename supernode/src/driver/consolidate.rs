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

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Address, B64};
    use alloy::rpc::types::engine::PayloadAttributes;
    use opfleet_protocol::config::{ChainOpConfig, HardForkTimes};
    use opfleet_protocol::l1_info::{L1InfoFork, L1InfoOrigin, L1InfoSystemParams};

    fn rollup(jovian: bool) -> RollupConfig {
        RollupConfig {
            block_time: 2,
            hardforks: HardForkTimes {
                holocene_time: Some(0),
                isthmus_time: Some(0),
                jovian_time: jovian.then_some(0),
                ..Default::default()
            },
            chain_op_config: Some(ChainOpConfig {
                eip1559_elasticity: 6,
                eip1559_denominator: 50,
                eip1559_denominator_canyon: Some(250),
            }),
            ..Default::default()
        }
    }

    fn info_tx() -> Bytes {
        let params = L1InfoSystemParams {
            batcher: Address::repeat_byte(0xba),
            base_fee_scalar: 7,
            blob_base_fee_scalar: 9,
            operator_fee_scalar: 3,
            operator_fee_constant: 4,
            da_footprint_gas_scalar: 0,
        };
        let origin = L1InfoOrigin {
            number: 12,
            timestamp: 100,
            hash: B256::repeat_byte(0x12),
            ..Default::default()
        };
        L1BlockInfo::new(L1InfoFork::Isthmus, &origin, 2, &params).encoded_deposit_tx()
    }

    fn attrs() -> OpPayloadAttributes {
        OpPayloadAttributes {
            payload_attributes: PayloadAttributes {
                timestamp: 10,
                prev_randao: B256::repeat_byte(1),
                suggested_fee_recipient: Address::repeat_byte(0x11),
                withdrawals: Some(Vec::new()),
                parent_beacon_block_root: Some(B256::repeat_byte(2)),
                slot_number: None,
                target_gas_limit: None,
            },
            transactions: Some(vec![info_tx(), Bytes::from_static(&[2, 0xc0])]),
            no_tx_pool: Some(true),
            gas_limit: Some(30_000_000),
            eip_1559_params: Some(B64::new([0, 0, 0, 250, 0, 0, 0, 6])),
            min_base_fee: None,
        }
    }

    fn block() -> ExecutedBlock {
        let header = Header {
            parent_hash: B256::repeat_byte(9),
            number: 5,
            timestamp: 10,
            mix_hash: B256::repeat_byte(1),
            beneficiary: Address::repeat_byte(0x11),
            parent_beacon_block_root: Some(B256::repeat_byte(2)),
            gas_limit: 30_000_000,
            extra_data: Bytes::from_static(&[0, 0, 0, 0, 250, 0, 0, 0, 6]),
            ..Default::default()
        };
        ExecutedBlock {
            hash: B256::repeat_byte(5),
            header,
            transactions: vec![info_tx(), Bytes::from_static(&[2, 0xc0])],
            withdrawals: Some(Vec::new()),
        }
    }

    #[test]
    fn matching_block_and_each_mismatch() {
        let r = rollup(false);
        let parent = B256::repeat_byte(9);
        assert_eq!(
            check_attributes_match(&r, parent, &attrs(), &block()),
            Ok(())
        );
        let check = |f: &dyn Fn(&mut ExecutedBlock)| {
            let mut b = block();
            f(&mut b);
            check_attributes_match(&r, parent, &attrs(), &b)
        };
        assert!(matches!(
            check(&|b| b.header.parent_hash = B256::ZERO),
            Err(Mismatch::ParentHash { .. })
        ));
        assert!(matches!(
            check(&|b| b.header.timestamp = 12),
            Err(Mismatch::Timestamp { .. })
        ));
        assert!(matches!(
            check(&|b| {
                b.transactions.pop();
            }),
            Err(Mismatch::TransactionCount { .. })
        ));
        assert_eq!(
            check(&|b| b.transactions[1] = Bytes::from_static(&[2, 0xc1])),
            Err(Mismatch::Transaction(1))
        );
        assert!(matches!(
            check(&|b| b.header.gas_limit = 1),
            Err(Mismatch::GasLimit { .. })
        ));
        assert_eq!(
            check(&|b| b.header.beneficiary = Address::ZERO),
            Err(Mismatch::FeeRecipient)
        );
        assert_eq!(
            check(&|b| b.header.mix_hash = B256::ZERO),
            Err(Mismatch::PrevRandao)
        );
        assert!(matches!(
            check(&|b| b.header.parent_beacon_block_root = None),
            Err(Mismatch::ParentBeaconRoot { .. })
        ));
        assert_eq!(
            check(&|b| b.withdrawals = Some(vec![Withdrawal::default()])),
            Err(Mismatch::Withdrawals)
        );
        assert!(matches!(
            check(&|b| b.header.extra_data = Bytes::from_static(&[0; 9])),
            Err(Mismatch::Eip1559Params { .. })
        ));
    }

    #[test]
    fn zero_params_mean_canyon_defaults_and_jovian_min_base_fee() {
        let parent = B256::repeat_byte(9);
        let mut a = attrs();
        a.eip_1559_params = Some(B64::ZERO);
        assert_eq!(
            check_attributes_match(&rollup(false), parent, &a, &block()),
            Ok(())
        );
        let r = rollup(true);
        a.min_base_fee = Some(1000);
        let mut b = block();
        let mut extra = vec![1u8, 0, 0, 0, 250, 0, 0, 0, 6];
        extra.extend_from_slice(&1000u64.to_be_bytes());
        b.header.extra_data = extra.into();
        assert_eq!(check_attributes_match(&r, parent, &a, &b), Ok(()));
        a.min_base_fee = Some(999);
        assert!(matches!(
            check_attributes_match(&r, parent, &a, &b),
            Err(Mismatch::MinBaseFee { .. })
        ));
    }

    #[test]
    fn block_ref_and_system_config_come_from_the_block() {
        let r = rollup(false);
        let b = block();
        let br = l2_block_ref(&r, &b).unwrap();
        assert_eq!(
            br.l1_origin,
            BlockId {
                hash: B256::repeat_byte(0x12),
                number: 12
            }
        );
        assert_eq!(br.sequence_number, 2);
        let sys = system_config_of(&r, &b).unwrap();
        assert_eq!(sys.batcher_address, Address::repeat_byte(0xba));
        assert_eq!(
            opfleet_protocol::attributes::decode_scalar(&sys.scalar),
            Ok((7, 9))
        );
        assert_eq!(sys.gas_limit, 30_000_000);
        assert_eq!(
            sys.eip1559_params,
            Some(B64::new([0, 0, 0, 250, 0, 0, 0, 6]))
        );
        let op = sys.operator_fee_params.unwrap();
        assert_eq!(&op.0[20..24], &3u32.to_be_bytes());
        assert_eq!(&op.0[24..32], &4u64.to_be_bytes());
        let mut no_info = b.clone();
        no_info.transactions = vec![Bytes::from_static(&[2, 0xc0])];
        assert!(l2_block_ref(&r, &no_info).is_err());
        // Genesis maps to the rollup's genesis anchor.
        let mut genesis = b;
        genesis.header.number = 0;
        genesis.transactions.clear();
        assert_eq!(l2_block_ref(&r, &genesis).unwrap().l1_origin, r.genesis.l1);
        assert_eq!(
            system_config_of(&r, &genesis).unwrap(),
            r.genesis.system_config
        );
    }
}
