//! The devnet chain's rollup configuration, built from the running L1 and the L2 genesis block.
//!
//! ```text
//!  DevnetChainConfig (chain id, forks, windows, scalars) ─┐
//!  RollupAnchor (L1 genesis, L1 contract addresses,       ├─▶ RollupConfig ─▶ rollup.json
//!               L2 genesis hash/number/time, batcher) ────┘        (op-node / kona-node load it)
//! ```
//! Every fork up to Isthmus (or Jovian) is active from genesis, so no block is a fork activation
//! block and no upgrade transactions are ever due. Interop, when enabled, is also active from
//! genesis for the same reason.

use std::path::Path;

use alloy::primitives::{Address, B64, B256};
use opfleet_protocol::config::{ChainOpConfig, Genesis, HardForkTimes, RollupConfig, SystemConfig};
use opfleet_protocol::{BlockId, ChainId, L1BlockRef};

use crate::el::{ChainSpec, ForkSchedule, GenesisConfig, SimBlock};
use crate::l1::L1Handle;

/// The newest fork of a devnet chain, active from genesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevnetFork {
    /// Isthmus (Holocene and everything before it included).
    Isthmus,
    /// Jovian (Isthmus included).
    Jovian,
}

/// The choices that make one devnet L2 chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevnetChainConfig {
    /// L2 chain id.
    pub chain_id: ChainId,
    /// Newest fork, active from genesis.
    pub fork: DevnetFork,
    /// Seconds per L2 block.
    pub block_time: u64,
    /// Sequencing window in L1 blocks.
    pub seq_window_size: u64,
    /// Pre-Fjord max sequencer drift (Fjord makes it the constant 1800 s, but op-node still
    /// requires the field).
    pub max_sequencer_drift: u64,
    /// Pre-Granite channel timeout in L1 blocks (Granite makes it 50).
    pub channel_timeout: u64,
    /// Batcher at genesis; `None` takes the L1's current batcher.
    pub batcher: Option<Address>,
    /// L2 block gas limit.
    pub gas_limit: u64,
    /// Ecotone L1 base fee scalar.
    pub base_fee_scalar: u32,
    /// Ecotone L1 blob base fee scalar.
    pub blob_base_fee_scalar: u32,
    /// Holocene EIP-1559 denominator.
    pub eip1559_denominator: u32,
    /// Holocene EIP-1559 elasticity.
    pub eip1559_elasticity: u32,
    /// Jovian minimum base fee (wei).
    pub min_base_fee: u64,
    /// Jovian DA footprint gas scalar.
    pub da_footprint_gas_scalar: u16,
    /// Whether interop is active (from genesis).
    pub interop: bool,
}

impl DevnetChainConfig {
    /// A fast devnet chain: 2 s blocks, Isthmus, OP Mainnet-like windows and scalars.
    pub fn devnet(chain_id: ChainId) -> Self {
        Self {
            chain_id,
            fork: DevnetFork::Isthmus,
            block_time: 2,
            seq_window_size: 3600,
            max_sequencer_drift: 600,
            channel_timeout: 300,
            batcher: None,
            gas_limit: 30_000_000,
            base_fee_scalar: 1368,
            blob_base_fee_scalar: 810_949,
            eip1559_denominator: 250,
            eip1559_elasticity: 6,
            min_base_fee: 0,
            da_footprint_gas_scalar: 400,
            interop: false,
        }
    }

    /// The fork schedule the simulated execution client follows.
    pub fn fork_schedule(&self) -> ForkSchedule {
        match self.fork {
            DevnetFork::Isthmus => ForkSchedule::isthmus(),
            DevnetFork::Jovian => ForkSchedule::jovian(),
        }
    }

    /// The simulated execution client's chain spec, with the genesis block at `genesis_time`.
    pub fn chain_spec(&self, genesis_time: u64) -> ChainSpec {
        let mut genesis = GenesisConfig::new(self.chain_id, genesis_time);
        genesis.gas_limit = self.gas_limit;
        ChainSpec::new(self.chain_id, genesis, self.fork_schedule())
    }

    /// The Holocene `eip1559Params` encoding: denominator (u32 BE) then elasticity (u32 BE).
    pub fn eip1559_params(&self) -> B64 {
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&self.eip1559_denominator.to_be_bytes());
        out[4..].copy_from_slice(&self.eip1559_elasticity.to_be_bytes());
        B64::from(out)
    }

    /// The system config at genesis.
    pub fn system_config(&self, batcher: Address) -> SystemConfig {
        let jovian = self.fork == DevnetFork::Jovian;
        SystemConfig {
            batcher_address: batcher,
            overhead: B256::ZERO,
            scalar: ecotone_scalar(self.base_fee_scalar, self.blob_base_fee_scalar),
            gas_limit: self.gas_limit,
            eip1559_params: Some(self.eip1559_params()),
            operator_fee_params: Some(B256::ZERO),
            min_base_fee: jovian.then_some(self.min_base_fee),
            da_footprint_gas_scalar: jovian.then_some(self.da_footprint_gas_scalar),
        }
    }

    /// The fork activation times: everything up to the configured fork at 0.
    pub fn hardforks(&self) -> HardForkTimes {
        HardForkTimes {
            regolith_time: Some(0),
            canyon_time: Some(0),
            delta_time: Some(0),
            ecotone_time: Some(0),
            fjord_time: Some(0),
            granite_time: Some(0),
            holocene_time: Some(0),
            pectra_blob_schedule_time: None,
            isthmus_time: Some(0),
            jovian_time: (self.fork == DevnetFork::Jovian).then_some(0),
            karst_time: None,
            lagoon_time: None,
            interop_time: self.interop.then_some(0),
        }
    }

    /// The rollup configuration of this chain at `anchor`.
    pub fn rollup_config(&self, anchor: &RollupAnchor) -> RollupConfig {
        // The execution layer's pre-Canyon denominator is op-geth's default (50); only the
        // Canyon one is ever used here, since Canyon is active from genesis.
        let chain_op_config = ChainOpConfig {
            eip1559_elasticity: u64::from(self.eip1559_elasticity),
            eip1559_denominator: 50,
            eip1559_denominator_canyon: Some(u64::from(self.eip1559_denominator)),
        };
        RollupConfig {
            genesis: Genesis {
                l1: anchor.l1_genesis,
                l2: anchor.l2_genesis,
                l2_time: anchor.l2_time,
                system_config: self.system_config(self.batcher.unwrap_or(anchor.batcher)),
            },
            block_time: self.block_time,
            max_sequencer_drift_bedrock: self.max_sequencer_drift,
            seq_window_size: self.seq_window_size,
            channel_timeout_bedrock: self.channel_timeout,
            l1_chain_id: anchor.l1_chain_id,
            l2_chain_id: self.chain_id,
            hardforks: self.hardforks(),
            keep_karst_upgrade_gas: false,
            batch_inbox_address: anchor.batch_inbox,
            deposit_contract_address: anchor.deposit_contract,
            l1_system_config_address: anchor.system_config,
            protocol_versions_address: Address::ZERO,
            alt_da: None,
            chain_op_config: Some(chain_op_config),
        }
    }
}

/// The Ecotone `scalar` word: version byte 1, then the blob base fee scalar and the base fee
/// scalar in the last 8 bytes (specs `protocol/system-config.md`, "Ecotone scalar").
pub fn ecotone_scalar(base_fee_scalar: u32, blob_base_fee_scalar: u32) -> B256 {
    let mut out = B256::ZERO;
    out.0[0] = 1;
    out.0[24..28].copy_from_slice(&blob_base_fee_scalar.to_be_bytes());
    out.0[28..32].copy_from_slice(&base_fee_scalar.to_be_bytes());
    out
}

/// The `(base fee scalar, blob base fee scalar)` of an Ecotone `scalar` word; `None` for the
/// pre-Ecotone form (version byte 0), which carries a single scalar the L1-info tx cannot name.
pub fn decode_ecotone_scalar(scalar: &B256) -> Option<(u32, u32)> {
    if scalar.0[0] != 1 {
        return None;
    }
    let word = |r: std::ops::Range<usize>| {
        let mut b = [0u8; 4];
        b.copy_from_slice(scalar.get(r).unwrap_or(&[0; 4]));
        u32::from_be_bytes(b)
    };
    Some((word(28..32), word(24..28)))
}

/// What the rollup configuration takes from the running L1 and the L2 genesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollupAnchor {
    /// L1 chain id.
    pub l1_chain_id: ChainId,
    /// The L1 block the rollup starts after.
    pub l1_genesis: BlockId,
    /// The L2 genesis block.
    pub l2_genesis: BlockId,
    /// L2 genesis timestamp.
    pub l2_time: u64,
    /// Batch inbox.
    pub batch_inbox: Address,
    /// OptimismPortal (deposit contract).
    pub deposit_contract: Address,
    /// SystemConfig.
    pub system_config: Address,
    /// The L1's batcher, used when the chain config names none.
    pub batcher: Address,
}

impl RollupAnchor {
    /// The anchor of an L2 whose genesis is `l2_genesis`, starting after L1 block `l1_genesis`.
    pub fn new(l1: &L1Handle, l1_genesis: L1BlockRef, l2_genesis: &SimBlock) -> Self {
        Self {
            l1_chain_id: l1.chain_id(),
            l1_genesis: l1_genesis.id(),
            l2_genesis: l2_genesis.id(),
            l2_time: l2_genesis.header().timestamp,
            batch_inbox: l1.batch_inbox(),
            deposit_contract: l1.portal(),
            system_config: l1.system_config(),
            batcher: l1.batcher(),
        }
    }
}

/// Why a rollup.json could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteRollupError {
    /// Serialization failed.
    #[error("serializing rollup.json: {0}")]
    Json(#[from] serde_json::Error),
    /// Writing the file failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Writes `config` as an op-node rollup.json at `path`.
pub fn write_rollup_json(config: &RollupConfig, path: &Path) -> Result<(), WriteRollupError> {
    let json = config.to_rollup_json()?;
    std::fs::write(path, json).map_err(|source| WriteRollupError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn anchor() -> RollupAnchor {
        RollupAnchor {
            l1_chain_id: ChainId(900),
            l1_genesis: BlockId {
                hash: B256::repeat_byte(1),
                number: 0,
            },
            l2_genesis: BlockId {
                hash: B256::repeat_byte(2),
                number: 0,
            },
            l2_time: 1_700_000_000,
            batch_inbox: Address::repeat_byte(3),
            deposit_contract: Address::repeat_byte(4),
            system_config: Address::repeat_byte(5),
            batcher: Address::repeat_byte(6),
        }
    }

    #[test]
    fn rollup_json_round_trips_and_passes_checks() {
        for fork in [DevnetFork::Isthmus, DevnetFork::Jovian] {
            for interop in [false, true] {
                let cfg = DevnetChainConfig {
                    fork,
                    interop,
                    ..DevnetChainConfig::devnet(ChainId(901))
                };
                let rollup = cfg.rollup_config(&anchor());
                let json = rollup.to_rollup_json().unwrap();
                let back = RollupConfig::from_rollup_json(&json).unwrap();
                assert_eq!(back, rollup);
                assert_eq!(back.hardforks.interop_time.is_some(), interop);
                assert_eq!(
                    back.genesis.system_config.min_base_fee.is_some(),
                    fork == DevnetFork::Jovian
                );
            }
        }
    }

    #[test]
    fn explicit_batcher_wins_over_the_l1() {
        let cfg = DevnetChainConfig {
            batcher: Some(Address::repeat_byte(9)),
            ..DevnetChainConfig::devnet(ChainId(901))
        };
        let rollup = cfg.rollup_config(&anchor());
        assert_eq!(
            rollup.genesis.system_config.batcher_address,
            Address::repeat_byte(9)
        );
    }

    proptest! {
        #[test]
        fn ecotone_scalar_round_trips(base in any::<u32>(), blob in any::<u32>()) {
            prop_assert_eq!(decode_ecotone_scalar(&ecotone_scalar(base, blob)), Some((base, blob)));
        }

        #[test]
        fn decode_scalar_never_panics(bytes in any::<[u8; 32]>()) {
            let _ = decode_ecotone_scalar(&B256::from(bytes));
        }
    }
}
