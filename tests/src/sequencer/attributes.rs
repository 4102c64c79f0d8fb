//! Payload attributes of one sequenced L2 block (specs `protocol/derivation.md` "Building
//! individual payload attributes", op-node `attributes.go` `PreparePayloadAttributes`).
//!
//! ```text
//! transactions = [ L1-info deposit (form by fork, sequence number),
//!                  user deposits of the origin (new epoch only, L1 log order),
//!                  user transactions ]
//! timestamp = parent + block time      prevRandao = origin mix hash
//! feeRecipient = 0x42…11 (SequencerFeeVault)   parentBeaconBlockRoot = origin's (or zero)
//! gasLimit = system config            noTxPool = true     withdrawals = []
//! eip1559Params = system config (Holocene)     minBaseFee = system config (Jovian)
//! ```

use alloy::primitives::{Address, B256, Bytes, address};
use alloy::rpc::types::engine::PayloadAttributes;
use op_alloy_consensus::TxDeposit;
use op_alloy_rpc_types_engine::OpPayloadAttributes;
use opfleet_protocol::config::{RollupConfig, SystemConfig};
use opfleet_protocol::l1_info::{
    L1BlockInfo, L1InfoError, L1InfoForkSchedule, L1InfoOrigin, L1InfoSystemParams,
};

use alloy::eips::eip2718::Encodable2718;

use super::l1_client::L1Origin;
use super::rollup::decode_ecotone_scalar;

/// The SequencerFeeVault predeploy: every block's suggested fee recipient.
pub const SEQUENCER_FEE_VAULT: Address = address!("0x4200000000000000000000000000000000000011");

/// Why attributes could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributesError {
    /// The L1-info form at the timestamp is unknown (pre-Ecotone).
    #[error("L1-info form: {0}")]
    L1Info(#[from] L1InfoError),
    /// The system config scalar is not in the Ecotone form.
    #[error("system config scalar {0} is not an Ecotone (version 1) scalar")]
    Scalar(B256),
}

/// The L1-info system values of a system config (Ecotone scalar form).
pub fn l1_info_params(sys: &SystemConfig) -> Result<L1InfoSystemParams, AttributesError> {
    let (base_fee_scalar, blob_base_fee_scalar) =
        decode_ecotone_scalar(&sys.scalar).ok_or(AttributesError::Scalar(sys.scalar))?;
    // Operator fee params: scalar in bytes 20..24, constant in bytes 24..32 (Isthmus spec).
    let op = sys.operator_fee_params.unwrap_or_default();
    let mut scalar = [0u8; 4];
    scalar.copy_from_slice(&op.0[20..24]);
    let mut constant = [0u8; 8];
    constant.copy_from_slice(&op.0[24..32]);
    Ok(L1InfoSystemParams {
        batcher: sys.batcher_address,
        base_fee_scalar,
        blob_base_fee_scalar,
        operator_fee_scalar: u32::from_be_bytes(scalar),
        operator_fee_constant: u64::from_be_bytes(constant),
        da_footprint_gas_scalar: sys.da_footprint_gas_scalar.unwrap_or(0),
    })
}

/// Everything one block's attributes are made of.
#[derive(Clone, Debug)]
pub struct BlockRecipe<'a> {
    /// The rollup configuration.
    pub rollup: &'a RollupConfig,
    /// The system config as of the origin.
    pub system_config: &'a SystemConfig,
    /// The L1 origin.
    pub origin: &'a L1Origin,
    /// Position of the block in its epoch.
    pub sequence_number: u64,
    /// Block timestamp.
    pub timestamp: u64,
    /// User deposits (only in the first block of an epoch).
    pub deposits: &'a [TxDeposit],
    /// EIP-2718 user transactions.
    pub user_txs: Vec<Bytes>,
}

impl BlockRecipe<'_> {
    /// The L1-info values of the block.
    pub fn l1_info(&self) -> Result<L1BlockInfo, AttributesError> {
        let h = &self.rollup.hardforks;
        let schedule = L1InfoForkSchedule {
            block_time: self.rollup.block_time,
            ecotone_time: h.ecotone_time,
            isthmus_time: h.isthmus_time,
            jovian_time: h.jovian_time,
        };
        let form = schedule.form_at(self.timestamp)?;
        let origin = L1InfoOrigin {
            number: self.origin.block.number,
            timestamp: self.origin.block.timestamp,
            hash: self.origin.block.hash,
            base_fee: self.origin.base_fee,
            blob_base_fee: self.origin.blob_base_fee,
        };
        let params = l1_info_params(self.system_config)?;
        Ok(L1BlockInfo::new(
            form,
            &origin,
            self.sequence_number,
            &params,
        ))
    }

    /// The Engine API payload attributes.
    pub fn attributes(&self) -> Result<OpPayloadAttributes, AttributesError> {
        let info = self.l1_info()?;
        let mut txs = Vec::with_capacity(1 + self.deposits.len() + self.user_txs.len());
        txs.push(info.encoded_deposit_tx());
        txs.extend(self.deposits.iter().map(|d| Bytes::from(d.encoded_2718())));
        txs.extend(self.user_txs.iter().cloned());
        let r = self.rollup;
        let ts = self.timestamp;
        Ok(OpPayloadAttributes {
            payload_attributes: PayloadAttributes {
                timestamp: ts,
                prev_randao: self.origin.mix_hash,
                suggested_fee_recipient: SEQUENCER_FEE_VAULT,
                withdrawals: r.is_canyon_active(ts).then(Vec::new),
                parent_beacon_block_root: r
                    .is_ecotone_active(ts)
                    .then(|| self.origin.parent_beacon_root.unwrap_or_default()),
                slot_number: None,
                target_gas_limit: None,
            },
            transactions: Some(txs),
            no_tx_pool: Some(true),
            gas_limit: Some(self.system_config.gas_limit),
            eip_1559_params: r
                .is_holocene_active(ts)
                .then(|| self.system_config.eip1559_params.unwrap_or_default()),
            min_base_fee: r
                .is_jovian_active(ts)
                .then(|| self.system_config.min_base_fee.unwrap_or(0)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequencer::rollup::{DevnetChainConfig, DevnetFork, RollupAnchor};
    use alloy::eips::eip2718::Decodable2718;
    use alloy::primitives::{TxKind, U256};
    use op_alloy_consensus::{OpTxEnvelope, UserDepositSource};
    use opfleet_protocol::l1_info::L1InfoFork;
    use opfleet_protocol::{BlockId, ChainId, L1BlockRef};

    fn rollup(fork: DevnetFork) -> RollupConfig {
        let cfg = DevnetChainConfig {
            fork,
            min_base_fee: 77,
            ..DevnetChainConfig::devnet(ChainId(901))
        };
        cfg.rollup_config(&RollupAnchor {
            l1_chain_id: ChainId(900),
            l1_genesis: BlockId {
                hash: B256::repeat_byte(1),
                number: 0,
            },
            l2_genesis: BlockId {
                hash: B256::repeat_byte(2),
                number: 0,
            },
            l2_time: 1000,
            batch_inbox: Address::repeat_byte(3),
            deposit_contract: Address::repeat_byte(4),
            system_config: Address::repeat_byte(5),
            batcher: Address::repeat_byte(6),
        })
    }

    fn origin() -> L1Origin {
        L1Origin {
            block: L1BlockRef {
                hash: B256::repeat_byte(0xaa),
                number: 3,
                parent_hash: B256::repeat_byte(0xab),
                timestamp: 1006,
            },
            base_fee: U256::from(7),
            blob_base_fee: U256::from(1),
            mix_hash: B256::repeat_byte(0x33),
            parent_beacon_root: Some(B256::repeat_byte(0x44)),
        }
    }

    #[test]
    fn attributes_follow_the_fork_and_order_the_transactions() {
        for (fork, form) in [
            (DevnetFork::Isthmus, L1InfoFork::Isthmus),
            (DevnetFork::Jovian, L1InfoFork::Jovian),
        ] {
            let r = rollup(fork);
            let o = origin();
            let deposit = TxDeposit {
                source_hash: UserDepositSource::new(o.block.hash, 5).source_hash(),
                from: Address::repeat_byte(8),
                to: TxKind::Call(Address::repeat_byte(9)),
                mint: 1,
                value: U256::from(2),
                gas_limit: 100_000,
                is_system_transaction: false,
                input: Bytes::new(),
            };
            let user = Bytes::from_static(&[0x02, 0xc0]);
            let recipe = BlockRecipe {
                rollup: &r,
                system_config: &r.genesis.system_config,
                origin: &o,
                sequence_number: 2,
                timestamp: 1008,
                deposits: std::slice::from_ref(&deposit),
                user_txs: vec![user.clone()],
            };
            let a = recipe.attributes().unwrap();
            let txs = a.transactions.clone().unwrap();
            assert_eq!(txs.len(), 3);
            assert_eq!(txs[2], user);
            let OpTxEnvelope::Deposit(first) = OpTxEnvelope::decode_2718(&mut &txs[0][..]).unwrap()
            else {
                panic!("first tx is not a deposit");
            };
            let info = L1BlockInfo::from_deposit_tx(first.inner()).unwrap();
            assert_eq!(info.fork(), form);
            assert_eq!(info.l1_origin(), o.block.id());
            assert_eq!(info.sequence_number, 2);
            assert_eq!(info.batcher, Address::repeat_byte(6));
            let OpTxEnvelope::Deposit(second) =
                OpTxEnvelope::decode_2718(&mut &txs[1][..]).unwrap()
            else {
                panic!("second tx is not a deposit");
            };
            assert_eq!(second.inner(), &deposit);
            let p = &a.payload_attributes;
            assert_eq!(p.prev_randao, o.mix_hash);
            assert_eq!(p.parent_beacon_block_root, o.parent_beacon_root);
            assert_eq!(p.suggested_fee_recipient, SEQUENCER_FEE_VAULT);
            assert_eq!(p.withdrawals, Some(Vec::new()));
            assert_eq!(a.no_tx_pool, Some(true));
            assert_eq!(a.gas_limit, Some(30_000_000));
            assert_eq!(a.eip_1559_params, r.genesis.system_config.eip1559_params);
            assert_eq!(a.min_base_fee, (fork == DevnetFork::Jovian).then_some(77));
        }
    }

    #[test]
    fn missing_beacon_root_becomes_zero() {
        let r = rollup(DevnetFork::Isthmus);
        let o = L1Origin {
            parent_beacon_root: None,
            ..origin()
        };
        let recipe = BlockRecipe {
            rollup: &r,
            system_config: &r.genesis.system_config,
            origin: &o,
            sequence_number: 0,
            timestamp: 1008,
            deposits: &[],
            user_txs: Vec::new(),
        };
        let a = recipe.attributes().unwrap();
        assert_eq!(
            a.payload_attributes.parent_beacon_block_root,
            Some(B256::ZERO)
        );
    }

    #[test]
    fn non_ecotone_scalar_is_refused() {
        let sys = SystemConfig {
            scalar: B256::with_last_byte(1),
            ..Default::default()
        };
        assert!(matches!(
            l1_info_params(&sys),
            Err(AttributesError::Scalar(_))
        ));
    }
}
