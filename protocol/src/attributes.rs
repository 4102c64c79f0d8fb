//! Payload attributes of one L2 block (specs `protocol/derivation.md` "Building individual
//! payload attributes", op-node `attributes.go` `PreparePayloadAttributes`). Shared by the devnet
//! sequencer, which builds blocks, and derivation, which rebuilds them from batches.
//!
//! ```text
//! transactions = [ L1-info deposit (form by fork, sequence number),
//!                  user deposits of the origin (new epoch only, L1 log order),
//!                  user transactions ]
//! timestamp = parent + block time      prevRandao = origin mix hash
//! feeRecipient = 0x42…11 (SequencerFeeVault)   parentBeaconBlockRoot = origin's (or zero)
//! gasLimit = system config            noTxPool = true     withdrawals = [] (Canyon)
//! eip1559Params = system config (Holocene)     minBaseFee = system config (Jovian)
//! ```
//! Upgrade deposit transactions (network upgrade transactions of a fork's activation block) are
//! not built here: [`BlockRecipe::attributes`] refuses a block that would need them.

use alloy::eips::eip2718::Encodable2718;
use alloy::eips::eip7840::BlobParams;
use alloy::primitives::{Address, B256, Bytes, U256, address};
use alloy::rpc::types::engine::PayloadAttributes;
use op_alloy_consensus::TxDeposit;
use op_alloy_rpc_types_engine::OpPayloadAttributes;

use crate::L1BlockRef;
use crate::config::{Hardfork, RollupConfig, SystemConfig};
use crate::l1_info::{
    L1BlockInfo, L1InfoError, L1InfoForkSchedule, L1InfoOrigin, L1InfoSystemParams,
};

/// The SequencerFeeVault predeploy: every block's suggested fee recipient.
pub const SEQUENCER_FEE_VAULT: Address = address!("0x4200000000000000000000000000000000000011");

/// Forks whose activation block (after genesis) carries network upgrade deposit transactions.
pub const FORKS_WITH_UPGRADE_TXS: [Hardfork; 6] = [
    Hardfork::Ecotone,
    Hardfork::Fjord,
    Hardfork::Isthmus,
    Hardfork::Jovian,
    Hardfork::Karst,
    Hardfork::Interop,
];

/// Why attributes could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributesError {
    /// The L1-info form at the timestamp is unknown (pre-Ecotone).
    #[error("L1-info form: {0}")]
    L1Info(#[from] L1InfoError),
    /// The system config scalar has an unknown version byte.
    #[error("system config scalar {0} has unknown version byte (want 0 or 1)")]
    Scalar(B256),
    /// The block activates a fork whose upgrade transactions opfleet does not build.
    #[error(
        "L2 block at {timestamp} is the {fork:?} activation block: its network upgrade \
         transactions are not implemented"
    )]
    UpgradeTxsUnsupported {
        /// The fork.
        fork: Hardfork,
        /// The block's timestamp.
        timestamp: u64,
    },
}

/// The `(base fee scalar, blob base fee scalar)` a system config `scalar` word means for the
/// L1-info transaction (op-node `SystemConfig.EcotoneScalars`).
///
/// ```text
/// version 0: 0x00 | 27 zero bytes | base fee scalar u32       (blob scalar 0)
/// version 1: 0x01 | 23 zero bytes | blob scalar u32 | base fee scalar u32
/// ```
/// A version-0 word with non-zero padding means a base fee scalar of `u32::MAX`.
pub fn decode_scalar(scalar: &B256) -> Result<(u32, u32), AttributesError> {
    let word = |at: usize| {
        let mut b = [0u8; 4];
        b.copy_from_slice(&scalar.0[at..at + 4]);
        u32::from_be_bytes(b)
    };
    match scalar.0[0] {
        0 if scalar.0[1..28].iter().any(|&b| b != 0) => Ok((u32::MAX, 0)),
        0 => Ok((word(28), 0)),
        1 => Ok((word(28), word(24))),
        _ => Err(AttributesError::Scalar(*scalar)),
    }
}

/// The L1-info system values of a system config.
pub fn l1_info_params(sys: &SystemConfig) -> Result<L1InfoSystemParams, AttributesError> {
    let (base_fee_scalar, blob_base_fee_scalar) = decode_scalar(&sys.scalar)?;
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

/// An L1 block as an origin: its reference and the header values the L2 block takes from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L1Origin {
    /// The block reference.
    pub block: L1BlockRef,
    /// L1 base fee.
    pub base_fee: U256,
    /// L1 blob base fee.
    pub blob_base_fee: U256,
    /// Mix hash (becomes the L2 `prevRandao`).
    pub mix_hash: B256,
    /// Parent beacon block root, if the L1 header has one.
    pub parent_beacon_root: Option<B256>,
}

impl L1Origin {
    /// The origin values of an L1 header; the blob base fee follows `blob_params` (the L1 fork's
    /// schedule) and is 1 when the header has no excess blob gas, as op-node sets it.
    pub fn from_header(hash: B256, h: &alloy::consensus::Header, blob_params: &BlobParams) -> Self {
        let blob_base_fee = h
            .excess_blob_gas
            .map(|excess| blob_params.calc_blob_fee(excess))
            .unwrap_or(1);
        Self {
            block: L1BlockRef {
                hash,
                number: h.number,
                parent_hash: h.parent_hash,
                timestamp: h.timestamp,
            },
            base_fee: U256::from(h.base_fee_per_gas.unwrap_or_default()),
            blob_base_fee: U256::from(blob_base_fee),
            mix_hash: h.mix_hash,
            parent_beacon_root: h.parent_beacon_block_root,
        }
    }
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

    /// The Engine API payload attributes. Fails on a fork activation block that needs upgrade
    /// transactions rather than build a block the chain would not have.
    pub fn attributes(&self) -> Result<OpPayloadAttributes, AttributesError> {
        let r = self.rollup;
        let ts = self.timestamp;
        if let Some(fork) = FORKS_WITH_UPGRADE_TXS
            .into_iter()
            .find(|f| r.is_activation_block(*f, ts))
        {
            return Err(AttributesError::UpgradeTxsUnsupported {
                fork,
                timestamp: ts,
            });
        }
        let info = self.l1_info()?;
        let mut txs = Vec::with_capacity(1 + self.deposits.len() + self.user_txs.len());
        txs.push(info.encoded_deposit_tx());
        txs.extend(self.deposits.iter().map(|d| Bytes::from(d.encoded_2718())));
        txs.extend(self.user_txs.iter().cloned());
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
    use crate::config::{Genesis, HardForkTimes};
    use crate::l1_info::L1InfoFork;
    use crate::{BlockId, ChainId};
    use alloy::eips::eip2718::Decodable2718;
    use alloy::primitives::{B64, TxKind};
    use op_alloy_consensus::{OpTxEnvelope, UserDepositSource};
    use proptest::prelude::*;

    fn scalar(version: u8, blob: u32, base: u32) -> B256 {
        let mut out = B256::ZERO;
        out.0[0] = version;
        out.0[24..28].copy_from_slice(&blob.to_be_bytes());
        out.0[28..32].copy_from_slice(&base.to_be_bytes());
        out
    }

    fn rollup(jovian: bool) -> RollupConfig {
        let all = Some(0);
        RollupConfig {
            genesis: Genesis {
                l1: BlockId {
                    hash: B256::repeat_byte(1),
                    number: 0,
                },
                l2: BlockId {
                    hash: B256::repeat_byte(2),
                    number: 0,
                },
                l2_time: 1000,
                system_config: SystemConfig {
                    batcher_address: Address::repeat_byte(6),
                    scalar: scalar(1, 3, 4),
                    gas_limit: 30_000_000,
                    eip1559_params: Some(B64::new([0, 0, 0, 250, 0, 0, 0, 6])),
                    min_base_fee: Some(77),
                    ..Default::default()
                },
            },
            block_time: 2,
            seq_window_size: 10,
            channel_timeout_bedrock: 50,
            l1_chain_id: ChainId(900),
            l2_chain_id: ChainId(901),
            hardforks: HardForkTimes {
                regolith_time: all,
                canyon_time: all,
                delta_time: all,
                ecotone_time: all,
                fjord_time: all,
                granite_time: all,
                holocene_time: all,
                isthmus_time: all,
                jovian_time: jovian.then_some(0),
                ..Default::default()
            },
            batch_inbox_address: Address::repeat_byte(3),
            deposit_contract_address: Address::repeat_byte(4),
            l1_system_config_address: Address::repeat_byte(5),
            ..Default::default()
        }
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

    fn recipe<'a>(
        r: &'a RollupConfig,
        o: &'a L1Origin,
        deposits: &'a [TxDeposit],
    ) -> BlockRecipe<'a> {
        BlockRecipe {
            rollup: r,
            system_config: &r.genesis.system_config,
            origin: o,
            sequence_number: 2,
            timestamp: 1008,
            deposits,
            user_txs: vec![Bytes::from_static(&[0x02, 0xc0])],
        }
    }

    #[test]
    fn attributes_follow_the_fork_and_order_the_transactions() {
        for (jovian, form) in [(false, L1InfoFork::Isthmus), (true, L1InfoFork::Jovian)] {
            let r = rollup(jovian);
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
            let deposits = [deposit.clone()];
            let a = recipe(&r, &o, &deposits).attributes().unwrap();
            let txs = a.transactions.clone().unwrap();
            assert_eq!(txs.len(), 3);
            assert_eq!(txs[2], Bytes::from_static(&[0x02, 0xc0]));
            let OpTxEnvelope::Deposit(first) = OpTxEnvelope::decode_2718(&mut &txs[0][..]).unwrap()
            else {
                panic!("first tx is not a deposit");
            };
            let info = L1BlockInfo::from_deposit_tx(first.inner()).unwrap();
            assert_eq!(info.fork(), form);
            assert_eq!(info.l1_origin(), o.block.id());
            assert_eq!(info.sequence_number, 2);
            assert_eq!(info.batcher, Address::repeat_byte(6));
            assert_eq!((info.base_fee_scalar, info.blob_base_fee_scalar), (4, 3));
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
            assert_eq!(a.min_base_fee, jovian.then_some(77));
        }
    }

    #[test]
    fn missing_beacon_root_becomes_zero() {
        let r = rollup(false);
        let o = L1Origin {
            parent_beacon_root: None,
            ..origin()
        };
        let a = recipe(&r, &o, &[]).attributes().unwrap();
        assert_eq!(
            a.payload_attributes.parent_beacon_block_root,
            Some(B256::ZERO)
        );
    }

    #[test]
    fn upgrade_block_is_a_typed_error() {
        let mut r = rollup(false);
        r.hardforks.jovian_time = Some(1008);
        let o = origin();
        assert_eq!(
            recipe(&r, &o, &[]).attributes(),
            Err(AttributesError::UpgradeTxsUnsupported {
                fork: Hardfork::Jovian,
                timestamp: 1008
            })
        );
        // The block after activation builds.
        let mut later = recipe(&r, &o, &[]);
        later.timestamp = 1010;
        assert!(later.attributes().is_ok());
    }

    #[test]
    fn scalar_versions() {
        assert_eq!(decode_scalar(&scalar(1, 3, 4)), Ok((4, 3)));
        assert_eq!(decode_scalar(&scalar(0, 0, 9)), Ok((9, 0)));
        // Version 0 with dirty padding: op-node's MaxUint32 base fee scalar.
        assert_eq!(decode_scalar(&scalar(0, 1, 9)), Ok((u32::MAX, 0)));
        assert!(matches!(
            decode_scalar(&scalar(2, 0, 0)),
            Err(AttributesError::Scalar(_))
        ));
    }

    #[test]
    fn origin_from_header_prices_blobs_by_schedule() {
        let h = alloy::consensus::Header {
            number: 5,
            timestamp: 60,
            excess_blob_gas: Some(10_000_000),
            base_fee_per_gas: Some(9),
            ..Default::default()
        };
        let cancun = L1Origin::from_header(B256::ZERO, &h, &BlobParams::cancun());
        let prague = L1Origin::from_header(B256::ZERO, &h, &BlobParams::prague());
        assert!(cancun.blob_base_fee > prague.blob_base_fee);
        let none = alloy::consensus::Header {
            excess_blob_gas: None,
            ..h
        };
        assert_eq!(
            L1Origin::from_header(B256::ZERO, &none, &BlobParams::prague()).blob_base_fee,
            U256::from(1)
        );
    }

    proptest! {
        #[test]
        fn decode_scalar_never_panics(bytes in any::<[u8; 32]>()) {
            let _ = decode_scalar(&B256::from(bytes));
        }
    }
}
