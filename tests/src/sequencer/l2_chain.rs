//! The sequencer's own chain read back from its execution client, for a restart (resume at the
//! EL head) and for a rewind after an L1 reorg (walk parents until the L1 origin is canonical).
//!
//! ```text
//!  eth_getBlockBy{Number,Hash}(id, true) ─▶ header ─┬─▶ hash, number, parent, timestamp
//!                                                  └─▶ tx 0: L1-info deposit ─▶ origin, seq number,
//!                                                       batcher, fee scalars    (+ header gas limit)
//!  genesis (no L1-info deposit) ─▶ the rollup config's genesis ref and system config
//! ```
//! The system config is rebuilt the way op-node's `PayloadToSystemConfig` does for the values the
//! L1-info deposit and the header carry; the EIP-1559 parameters and the minimum base fee are
//! kept from genesis (the devnet L1 only ever updates the batcher).

use alloy::eips::{BlockId, BlockNumberOrTag};
use alloy::primitives::{Address, B256};
use op_alloy_consensus::OpTxEnvelope;
use opfleet_protocol::L2BlockRef;
use opfleet_protocol::config::{RollupConfig, SystemConfig};
use opfleet_protocol::l1_info::{
    DEFAULT_DA_FOOTPRINT_GAS_SCALAR, L1BlockInfo, L1InfoError, L1InfoForkFields,
};

use super::rollup::ecotone_scalar;
use opfleet_engine::{EngineClient, RpcError};

/// Why a block of the chain could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum L2ChainError {
    /// The call failed.
    #[error("reading L2 block {block}: {source}")]
    Call {
        /// The block asked for.
        block: String,
        /// The client's error.
        source: RpcError,
    },
    /// A block above genesis without an L1-info deposit first.
    #[error("L2 block {number} ({hash}): first transaction is not the L1-info deposit")]
    NoL1Info {
        /// Block number.
        number: u64,
        /// Block hash.
        hash: B256,
    },
    /// The L1-info deposit does not decode.
    #[error("L2 block {number} ({hash}): L1-info deposit: {source}")]
    L1Info {
        /// Block number.
        number: u64,
        /// Block hash.
        hash: B256,
        /// The decoder's error.
        source: L1InfoError,
    },
}

/// A block of the chain as the sequencer resumes from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainBlock {
    /// The block as a rollup node sees it.
    pub block_ref: L2BlockRef,
    /// The system config in force for the block's epoch.
    pub system_config: SystemConfig,
}

type RpcBlock = alloy::rpc::types::Block<op_alloy_rpc_types::Transaction>;

/// Reads block `id` from the execution client (`None`: unknown to it).
pub async fn read_block(
    engine: &EngineClient,
    rollup: &RollupConfig,
    id: BlockId,
) -> Result<Option<ChainBlock>, L2ChainError> {
    let result: Result<Option<RpcBlock>, _> = match id {
        BlockId::Hash(h) => {
            engine
                .transport()
                .call("eth_getBlockByHash", (h.block_hash, true))
                .await
        }
        BlockId::Number(tag) => {
            engine
                .transport()
                .call("eth_getBlockByNumber", (tag, true))
                .await
        }
    };
    let block = result.map_err(|source| L2ChainError::Call {
        block: id.to_string(),
        source,
    })?;
    block.map(|b| chain_block(rollup, b)).transpose()
}

/// Hash of the canonical block `number` (`None`: the chain is shorter).
pub async fn hash_at(engine: &EngineClient, number: u64) -> Result<Option<B256>, L2ChainError> {
    #[derive(serde::Deserialize)]
    struct Hash {
        hash: B256,
    }
    let tag = BlockNumberOrTag::Number(number);
    let block: Option<Hash> = engine
        .transport()
        .call("eth_getBlockByNumber", (tag, false))
        .await
        .map_err(|source| L2ChainError::Call {
            block: tag.to_string(),
            source,
        })?;
    Ok(block.map(|b| b.hash))
}

/// The transaction count of `address` after block `hash`.
pub async fn nonce_at(
    engine: &EngineClient,
    address: Address,
    hash: B256,
) -> Result<u64, L2ChainError> {
    let count: alloy::primitives::U64 = engine
        .transport()
        .call("eth_getTransactionCount", (address, hash))
        .await
        .map_err(|source| L2ChainError::Call {
            block: hash.to_string(),
            source,
        })?;
    Ok(count.to())
}

fn chain_block(rollup: &RollupConfig, block: RpcBlock) -> Result<ChainBlock, L2ChainError> {
    let g = &rollup.genesis;
    let hash = block.header.hash;
    let header = &block.header.inner;
    if hash == g.l2.hash {
        return Ok(ChainBlock {
            block_ref: L2BlockRef {
                hash,
                number: g.l2.number,
                parent_hash: header.parent_hash,
                timestamp: g.l2_time,
                l1_origin: g.l1,
                sequence_number: 0,
            },
            system_config: g.system_config,
        });
    }
    let number = header.number;
    let first = block
        .transactions
        .into_transactions()
        .next()
        .map(|tx| tx.inner.inner.into_inner());
    let info = match first {
        Some(OpTxEnvelope::Deposit(d)) => {
            L1BlockInfo::from_deposit_tx(d.inner()).map_err(|source| L2ChainError::L1Info {
                number,
                hash,
                source,
            })?
        }
        _ => return Err(L2ChainError::NoL1Info { number, hash }),
    };
    Ok(ChainBlock {
        block_ref: L2BlockRef {
            hash,
            number,
            parent_hash: header.parent_hash,
            timestamp: header.timestamp,
            l1_origin: info.l1_origin(),
            sequence_number: info.sequence_number,
        },
        system_config: system_config_of(&g.system_config, &info, header.gas_limit),
    })
}

/// The system config a block was built with, from its L1-info values and gas limit; what
/// neither carries comes from `genesis`.
pub fn system_config_of(
    genesis: &SystemConfig,
    info: &L1BlockInfo,
    gas_limit: u64,
) -> SystemConfig {
    // Where genesis' value builds the same block (absent vs zero or default), keep its spelling.
    let operator_fee = |scalar: u32, constant: u64| {
        let mut word = B256::ZERO;
        word.0[20..24].copy_from_slice(&scalar.to_be_bytes());
        word.0[24..32].copy_from_slice(&constant.to_be_bytes());
        if genesis.operator_fee_params.unwrap_or_default() == word {
            genesis.operator_fee_params
        } else {
            Some(word)
        }
    };
    let da_footprint = |scalar: u16| {
        let effective = match genesis.da_footprint_gas_scalar.unwrap_or(0) {
            0 => DEFAULT_DA_FOOTPRINT_GAS_SCALAR,
            v => v,
        };
        if effective == scalar {
            genesis.da_footprint_gas_scalar
        } else {
            Some(scalar)
        }
    };
    let (operator_fee_params, da_footprint_gas_scalar) = match info.fork_fields {
        L1InfoForkFields::Ecotone => (genesis.operator_fee_params, genesis.da_footprint_gas_scalar),
        L1InfoForkFields::Isthmus {
            operator_fee_scalar,
            operator_fee_constant,
        } => (
            operator_fee(operator_fee_scalar, operator_fee_constant),
            genesis.da_footprint_gas_scalar,
        ),
        L1InfoForkFields::Jovian {
            operator_fee_scalar,
            operator_fee_constant,
            da_footprint_gas_scalar,
        } => (
            operator_fee(operator_fee_scalar, operator_fee_constant),
            da_footprint(da_footprint_gas_scalar),
        ),
    };
    SystemConfig {
        batcher_address: info.batcher,
        scalar: ecotone_scalar(info.base_fee_scalar, info.blob_base_fee_scalar),
        gas_limit,
        operator_fee_params,
        da_footprint_gas_scalar,
        ..*genesis
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequencer::attributes::l1_info_params;
    use alloy::primitives::{B64, U256};
    use opfleet_protocol::l1_info::{L1InfoFork, L1InfoOrigin};
    use proptest::prelude::*;

    fn origin() -> L1InfoOrigin {
        L1InfoOrigin {
            number: 7,
            timestamp: 1_700_000_042,
            hash: B256::repeat_byte(7),
            base_fee: U256::from(1_000_000_000u64),
            blob_base_fee: U256::from(1u64),
        }
    }

    proptest! {
        #[test]
        fn system_config_reads_back_from_the_l1_info(
            batcher: [u8; 20], base in any::<u32>(), blob in any::<u32>(), gas in 1u64..u64::MAX,
            op_scalar in any::<u32>(), op_constant in any::<u64>(), da in 1u16..,
            fork in 0u8..3,
        ) {
            let fork = [L1InfoFork::Ecotone, L1InfoFork::Isthmus, L1InfoFork::Jovian][fork as usize];
            let mut op = B256::ZERO;
            op.0[20..24].copy_from_slice(&op_scalar.to_be_bytes());
            op.0[24..32].copy_from_slice(&op_constant.to_be_bytes());
            let sys = SystemConfig {
                batcher_address: Address::from(batcher),
                overhead: B256::ZERO,
                scalar: ecotone_scalar(base, blob),
                gas_limit: gas,
                eip1559_params: Some(B64::from(0x0000_00fa_0000_0006u64)),
                operator_fee_params: (fork != L1InfoFork::Ecotone).then_some(op),
                min_base_fee: Some(1_000),
                da_footprint_gas_scalar: (fork == L1InfoFork::Jovian).then_some(da),
            };
            let info = L1BlockInfo::new(fork, &origin(), 3, &l1_info_params(&sys).unwrap());
            let back = L1BlockInfo::decode_calldata(&info.encode_calldata()).unwrap();
            // Genesis differs in everything the block carries; the rest must come from it.
            let genesis = SystemConfig {
                batcher_address: Address::ZERO,
                scalar: ecotone_scalar(1, 1),
                gas_limit: 30_000_000,
                ..sys
            };
            prop_assert_eq!(system_config_of(&genesis, &back, gas), sys);
        }
    }

    #[test]
    fn absent_genesis_values_stay_absent() {
        let sys = SystemConfig {
            batcher_address: Address::repeat_byte(1),
            overhead: B256::ZERO,
            scalar: ecotone_scalar(10, 20),
            gas_limit: 60_000_000,
            eip1559_params: None,
            operator_fee_params: None,
            min_base_fee: None,
            da_footprint_gas_scalar: None,
        };
        let info = L1BlockInfo::new(
            L1InfoFork::Jovian,
            &origin(),
            0,
            &l1_info_params(&sys).unwrap(),
        );
        assert_eq!(system_config_of(&sys, &info, 60_000_000), sys);
    }
}
