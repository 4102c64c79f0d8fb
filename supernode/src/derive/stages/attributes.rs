//! Payload attributes of a batch: the L1-info deposit, the epoch's user deposits in its first
//! block, the batch's transactions (specs `protocol/derivation.md` "Building individual payload
//! attributes"; the recipe itself is `opfleet_protocol::attributes`).
//!
//! ```text
//! batch.epoch == parent's epoch ─▶ seq = parent seq + 1, no deposits
//! batch.epoch == next L1 block  ─▶ seq = 0, receipts: ConfigUpdate logs ─▶ system config,
//!                                   TransactionDeposited logs ─▶ user deposits
//! header(epoch) ─▶ L1Origin (base fee, blob base fee by L1 blob schedule, mix hash, beacon root)
//! ```
//! The system config here is the L2 chain's (as of the parent block), updated at each new
//! epoch; the traversal's copy follows the L1 cursor and only picks the batcher.

use alloy::eips::eip7840::BlobParams;
use alloy::primitives::B256;
use op_alloy_rpc_types_engine::OpPayloadAttributes;
use opfleet_protocol::attributes::{AttributesError, BlockRecipe, L1Origin};
use opfleet_protocol::batch::SingularBatch;
use opfleet_protocol::config::{RollupConfig, SystemConfig};
use opfleet_protocol::deposit::{UserDepositError, user_deposits};
use opfleet_protocol::{BlockId, L2BlockRef};

use crate::derive::system_config::apply_receipts;
use crate::derive::traits::{L1ChainProvider, ProviderError};

/// The L1 chain's blob fee parameters over time (the L1 fork schedule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1BlobSchedule {
    /// `(activation timestamp, parameters)`, ascending; before the first entry, Cancun.
    forks: Vec<(u64, BlobParams)>,
}

impl L1BlobSchedule {
    /// A schedule from `(activation timestamp, parameters)` entries in any order.
    pub fn new(mut forks: Vec<(u64, BlobParams)>) -> Self {
        forks.sort_by_key(|(t, _)| *t);
        Self { forks }
    }

    /// Prague from `prague_time` on, Cancun before (Ethereum mainnet and Sepolia until Osaka).
    pub fn prague_at(prague_time: u64) -> Self {
        Self::new(vec![(prague_time, BlobParams::prague())])
    }

    /// Ethereum mainnet: Cancun, Prague, Osaka, BPO1, BPO2 (go-ethereum `params/config.go`).
    pub fn mainnet() -> Self {
        Self::new(vec![
            (1_710_338_135, BlobParams::cancun()),
            (1_746_612_311, BlobParams::prague()),
            (1_764_798_551, BlobParams::osaka()),
            (1_765_290_071, BlobParams::bpo1()),
            (1_767_747_671, BlobParams::bpo2()),
        ])
    }

    /// Sepolia: Cancun, Prague, Osaka, BPO1, BPO2 (go-ethereum `params/config.go`).
    pub fn sepolia() -> Self {
        Self::new(vec![
            (1_706_655_072, BlobParams::cancun()),
            (1_741_159_776, BlobParams::prague()),
            (1_760_427_360, BlobParams::osaka()),
            (1_761_017_184, BlobParams::bpo1()),
            (1_761_607_008, BlobParams::bpo2()),
        ])
    }

    /// The schedule of a known L1 chain (1 mainnet, 11155111 Sepolia).
    pub fn for_l1_chain(chain_id: opfleet_protocol::ChainId) -> Option<Self> {
        match chain_id.get() {
            1 => Some(Self::mainnet()),
            11_155_111 => Some(Self::sepolia()),
            _ => None,
        }
    }

    /// The parameters at L1 time `ts`.
    pub fn at(&self, ts: u64) -> BlobParams {
        self.forks
            .iter()
            .rev()
            .find(|(t, _)| *t <= ts)
            .map_or_else(BlobParams::cancun, |(_, p)| *p)
    }
}

/// Why attributes could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributesStageError {
    /// An L1 read failed.
    #[error("attributes: {0}")]
    Provider(#[from] ProviderError),
    /// The epoch block is not what the parent or the batch says: L1 changed under us.
    #[error("attributes: epoch {number} block {hash} does not continue parent origin {parent:?}")]
    EpochMismatch {
        /// Epoch number.
        number: u64,
        /// Epoch hash.
        hash: B256,
        /// The parent's L1 origin.
        parent: BlockId,
    },
    /// A deposit log of the epoch block is malformed.
    #[error("attributes: deposits of L1 block {block}: {source}")]
    Deposits {
        /// The epoch block.
        block: B256,
        /// The bad log.
        source: UserDepositError,
    },
    /// The recipe refused (pre-Ecotone form, bad scalar, upgrade block).
    #[error("attributes: {0}")]
    Recipe(#[from] AttributesError),
}

/// Attributes of one block, with what the driver needs to know about them.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltAttributes {
    /// The Engine API attributes.
    pub attributes: OpPayloadAttributes,
    /// The block's L1 origin.
    pub l1_origin: BlockId,
    /// Position in the epoch.
    pub sequence_number: u64,
    /// The L2 system config after this block.
    pub system_config: SystemConfig,
}

/// Builds the attributes of `batch` on `parent`, whose L2 system config is `sys`.
pub async fn build_attributes(
    l1: &dyn L1ChainProvider,
    rollup: &RollupConfig,
    blob_schedule: &L1BlobSchedule,
    sys: &SystemConfig,
    parent: &L2BlockRef,
    batch: &SingularBatch,
    deposits_only: bool,
) -> Result<BuiltAttributes, AttributesStageError> {
    let header = l1.header_by_hash(batch.epoch_hash).await?;
    let new_epoch = batch.epoch_num != parent.l1_origin.number;
    let continues = if new_epoch {
        header.number == batch.epoch_num && header.parent_hash == parent.l1_origin.hash
    } else {
        header.hash() == parent.l1_origin.hash
    };
    if !continues {
        return Err(AttributesStageError::EpochMismatch {
            number: batch.epoch_num,
            hash: batch.epoch_hash,
            parent: parent.l1_origin,
        });
    }
    let mut sys = *sys;
    let mut deposits = Vec::new();
    if new_epoch {
        let receipts = l1.receipts_by_hash(header.hash()).await?;
        apply_receipts(&mut sys, &receipts, rollup, header.timestamp);
        let mut logs = Vec::new();
        let mut index = 0u64;
        for r in receipts.iter() {
            for log in r.logs() {
                if r.status() {
                    logs.push((index, log));
                }
                index += 1;
            }
        }
        deposits = user_deposits(rollup.deposit_contract_address, header.hash(), logs).map_err(
            |source| AttributesStageError::Deposits {
                block: header.hash(),
                source,
            },
        )?;
    }
    let blob_params = if rollup
        .hardforks
        .pectra_blob_schedule_time
        .is_some_and(|t| header.timestamp < t)
    {
        // The Pectra blob schedule fix: until it activates the chain priced blobs as Cancun.
        BlobParams::cancun()
    } else {
        blob_schedule.at(header.timestamp)
    };
    let origin = L1Origin::from_header(header.hash(), header.inner(), &blob_params);
    let sequence_number = if new_epoch {
        0
    } else {
        parent.sequence_number.saturating_add(1)
    };
    let recipe = BlockRecipe {
        rollup,
        system_config: &sys,
        origin: &origin,
        sequence_number,
        timestamp: batch.timestamp,
        deposits: &deposits,
        user_txs: if deposits_only {
            Vec::new()
        } else {
            batch.transactions.clone()
        },
    };
    Ok(BuiltAttributes {
        attributes: recipe.attributes()?,
        l1_origin: origin.block.id(),
        sequence_number,
        system_config: sys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_picks_the_latest_fork_at_a_time() {
        let m = L1BlobSchedule::mainnet();
        assert_eq!(m.at(0), BlobParams::cancun());
        assert_eq!(m.at(1_746_612_310), BlobParams::cancun());
        assert_eq!(m.at(1_746_612_311), BlobParams::prague());
        assert_eq!(m.at(1_765_290_071).update_fraction, 8_346_193);
        assert_eq!(m.at(u64::MAX).update_fraction, 11_684_671);
        assert_eq!(
            L1BlobSchedule::for_l1_chain(opfleet_protocol::ChainId(11_155_111)),
            Some(L1BlobSchedule::sepolia())
        );
        assert_eq!(
            L1BlobSchedule::for_l1_chain(opfleet_protocol::ChainId(900)),
            None
        );
        assert_eq!(L1BlobSchedule::prague_at(10).at(9), BlobParams::cancun());
    }
}
