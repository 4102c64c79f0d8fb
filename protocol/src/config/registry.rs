//! superchain-registry chain configs (`superchain/configs/<superchain>/<chain>.toml`) into a
//! [`RollupConfig`], the way op-node's `LoadOPStackRollupConfig` builds one.
//!
//! ```text
//! <chain>.toml                                  RollupConfig
//! chain_id                                 ->   l2_chain_id
//! batch_inbox_addr                         ->   batch_inbox_address
//! block_time                               ->   block_time                  (required)
//! seq_window_size, max_sequencer_drift     ->   same                        (default 3600, 600)
//! [hardforks] *_time, keep_karst_upgrade_gas -> hardforks, keep_karst_upgrade_gas
//! [optimism] eip1559_*                     ->   chain_op_config
//! [alt_da]                                 ->   alt_da
//! [genesis] l1, l2, l2_time, system_config ->   genesis
//! [addresses] OptimismPortalProxy          ->   deposit_contract_address    (required)
//! [addresses] SystemConfigProxy            ->   l1_system_config_address    (required)
//! (not in the chain file)                  ->   regolith_time 0, channel_timeout 300,
//!                                               l1_chain_id and protocol_versions_address
//!                                               from the superchain (superchain.toml)
//! ```
//!
//! Registry chain files spell out every hardfork time, so no superchain-wide default is
//! inherited here.

use alloy::primitives::{Address, B256};
use serde::Deserialize;

use super::hardfork::HardForkTimes;
use super::params::{
    REGISTRY_CHANNEL_TIMEOUT_BEDROCK, REGISTRY_DEFAULT_MAX_SEQUENCER_DRIFT,
    REGISTRY_DEFAULT_SEQ_WINDOW_SIZE,
};
use super::rollup::{
    AltDaConfig, ChainOpConfig, ConfigCheckError, DaCommitmentType, Genesis, RollupConfig,
    SystemConfig,
};
use crate::{BlockId, ChainId};

/// What a chain inherits from its superchain (`superchain/configs/<superchain>/superchain.toml`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Superchain {
    /// Superchain name, e.g. `sepolia`.
    pub name: String,
    /// Chain id of the L1 the superchain settles on.
    pub l1_chain_id: ChainId,
    /// L1 `ProtocolVersions` contract, if the superchain has one.
    pub protocol_versions_address: Option<Address>,
    /// L1 `SuperchainConfig` contract, if the superchain has one.
    pub superchain_config_address: Option<Address>,
}

/// A superchain-registry file that could not be turned into a rollup config.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Not TOML, or a key has the wrong type or is missing.
    #[error("registry TOML does not parse: {0}")]
    Toml(#[from] toml::de::Error),
    /// A superchain name whose L1 is not known without its superchain.toml.
    #[error(
        "unknown superchain {0:?}: known without superchain.toml are mainnet, sepolia, sepolia-dev-0"
    )]
    UnknownSuperchain(String),
    /// A contract address op-node needs is absent from `[addresses]`.
    #[error("chain {chain_id}: [addresses].{field} is missing")]
    MissingAddress {
        /// The chain's id.
        chain_id: ChainId,
        /// The TOML key.
        field: &'static str,
    },
    /// The resulting config breaks a rule of op-node's `Config.Check`.
    #[error("chain {chain_id}: {source}")]
    Invalid {
        /// The chain's id.
        chain_id: ChainId,
        /// The broken rule.
        source: ConfigCheckError,
    },
}

impl Superchain {
    /// Parses a registry `superchain.toml`.
    pub fn from_toml(toml: &str) -> Result<Self, RegistryError> {
        let raw: SuperchainToml = toml::from_str(toml)?;
        Ok(Self {
            name: raw.name,
            l1_chain_id: ChainId(raw.l1.chain_id),
            protocol_versions_address: raw.protocol_versions_addr,
            superchain_config_address: raw.superchain_config_addr,
        })
    }

    /// The superchain by registry name with only its L1 chain id known (the registry's
    /// `GetSuperchainChainId`: mainnet -> 1, sepolia and sepolia-dev-0 -> 11155111).
    pub fn by_name(name: &str) -> Result<Self, RegistryError> {
        let l1 = match name {
            "mainnet" => 1,
            "sepolia" | "sepolia-dev-0" => 11_155_111,
            _ => return Err(RegistryError::UnknownSuperchain(name.to_string())),
        };
        Ok(Self {
            name: name.to_string(),
            l1_chain_id: ChainId(l1),
            protocol_versions_address: None,
            superchain_config_address: None,
        })
    }
}

/// A registry chain's consensus-relevant settings, independent of the file format they came
/// from (chain TOML or kona's registry JSON).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryChain {
    /// Display name, e.g. `OP Sepolia Testnet`.
    pub name: String,
    /// L2 chain id.
    pub chain_id: ChainId,
    /// L1 batch inbox.
    pub batch_inbox_address: Address,
    /// Seconds per L2 block.
    pub block_time: u64,
    /// Sequencing window, in L1 blocks.
    pub seq_window_size: u64,
    /// Pre-Fjord max sequencer drift, in seconds.
    pub max_sequencer_drift: u64,
    /// Hardfork activation times (Regolith is implied at genesis).
    pub hardforks: HardForkTimes,
    /// Registry `keep_karst_upgrade_gas`.
    pub keep_karst_upgrade_gas: bool,
    /// EIP-1559 parameters.
    pub optimism: Option<ChainOpConfig>,
    /// Alt-DA settings.
    pub alt_da: Option<AltDaConfig>,
    /// Genesis anchor.
    pub genesis: Genesis,
    /// `OptimismPortalProxy`.
    pub optimism_portal: Option<Address>,
    /// `SystemConfigProxy`.
    pub system_config_proxy: Option<Address>,
}

impl RegistryChain {
    /// Parses a registry chain TOML.
    pub fn from_toml(toml: &str) -> Result<Self, RegistryError> {
        let raw: ChainToml = toml::from_str(toml)?;
        let g = raw.genesis;
        let sc = g.system_config;
        let hf = raw.hardforks;
        Ok(Self {
            name: raw.name,
            chain_id: ChainId(raw.chain_id),
            batch_inbox_address: raw.batch_inbox_addr,
            block_time: raw.block_time,
            seq_window_size: raw
                .seq_window_size
                .unwrap_or(REGISTRY_DEFAULT_SEQ_WINDOW_SIZE),
            max_sequencer_drift: raw
                .max_sequencer_drift
                .unwrap_or(REGISTRY_DEFAULT_MAX_SEQUENCER_DRIFT),
            hardforks: hf.times(),
            keep_karst_upgrade_gas: hf.keep_karst_upgrade_gas,
            optimism: raw.optimism.map(|o| ChainOpConfig {
                eip1559_elasticity: o.eip1559_elasticity,
                eip1559_denominator: o.eip1559_denominator,
                eip1559_denominator_canyon: o.eip1559_denominator_canyon,
            }),
            alt_da: raw.alt_da.map(|a| AltDaConfig {
                da_challenge_address: a.da_challenge_contract_address,
                da_commitment_type: a.da_commitment_type,
                da_challenge_window: a.da_challenge_window,
                da_resolve_window: a.da_resolve_window,
            }),
            genesis: Genesis {
                l1: g.l1,
                l2: g.l2,
                l2_time: g.l2_time,
                system_config: SystemConfig {
                    batcher_address: sc.batcher_address,
                    overhead: sc.overhead,
                    scalar: sc.scalar,
                    gas_limit: sc.gas_limit,
                    ..SystemConfig::default()
                },
            },
            optimism_portal: raw.addresses.optimism_portal_proxy,
            system_config_proxy: raw.addresses.system_config_proxy,
        })
    }

    /// The rollup config op-node derives for this chain within `superchain`, checked.
    pub fn to_rollup_config(&self, superchain: &Superchain) -> Result<RollupConfig, RegistryError> {
        let chain_id = self.chain_id;
        let missing = |field| RegistryError::MissingAddress { chain_id, field };
        let config = RollupConfig {
            genesis: self.genesis,
            block_time: self.block_time,
            max_sequencer_drift_bedrock: self.max_sequencer_drift,
            seq_window_size: self.seq_window_size,
            channel_timeout_bedrock: REGISTRY_CHANNEL_TIMEOUT_BEDROCK,
            l1_chain_id: superchain.l1_chain_id,
            l2_chain_id: chain_id,
            // op-node: every registry chain has Regolith from genesis.
            hardforks: HardForkTimes {
                regolith_time: Some(0),
                ..self.hardforks
            },
            keep_karst_upgrade_gas: self.keep_karst_upgrade_gas,
            batch_inbox_address: self.batch_inbox_address,
            deposit_contract_address: self
                .optimism_portal
                .ok_or_else(|| missing("OptimismPortalProxy"))?,
            l1_system_config_address: self
                .system_config_proxy
                .ok_or_else(|| missing("SystemConfigProxy"))?,
            protocol_versions_address: superchain.protocol_versions_address.unwrap_or_default(),
            alt_da: self.alt_da,
            chain_op_config: self.optimism,
        };
        config
            .check()
            .map_err(|source| RegistryError::Invalid { chain_id, source })?;
        Ok(config)
    }
}

impl RollupConfig {
    /// Builds the rollup config of a superchain-registry chain TOML within `superchain`.
    pub fn from_registry_toml(toml: &str, superchain: &Superchain) -> Result<Self, RegistryError> {
        RegistryChain::from_toml(toml)?.to_rollup_config(superchain)
    }
}

#[derive(Deserialize)]
struct SuperchainToml {
    name: String,
    #[serde(default)]
    protocol_versions_addr: Option<Address>,
    #[serde(default)]
    superchain_config_addr: Option<Address>,
    l1: SuperchainL1Toml,
}

#[derive(Deserialize)]
struct SuperchainL1Toml {
    chain_id: u64,
}

#[derive(Deserialize)]
struct ChainToml {
    name: String,
    chain_id: u64,
    batch_inbox_addr: Address,
    block_time: u64,
    seq_window_size: Option<u64>,
    max_sequencer_drift: Option<u64>,
    #[serde(default)]
    hardforks: RegistryHardforks,
    optimism: Option<OptimismToml>,
    alt_da: Option<AltDaToml>,
    genesis: GenesisToml,
    #[serde(default)]
    addresses: AddressesToml,
}

#[derive(Deserialize, Default)]
pub(super) struct RegistryHardforks {
    canyon_time: Option<u64>,
    delta_time: Option<u64>,
    ecotone_time: Option<u64>,
    fjord_time: Option<u64>,
    granite_time: Option<u64>,
    holocene_time: Option<u64>,
    pectra_blob_schedule_time: Option<u64>,
    isthmus_time: Option<u64>,
    jovian_time: Option<u64>,
    karst_time: Option<u64>,
    lagoon_time: Option<u64>,
    interop_time: Option<u64>,
    #[serde(default)]
    pub(super) keep_karst_upgrade_gas: bool,
}

impl RegistryHardforks {
    /// The fork times the file gives; Regolith (always genesis) is set by `to_rollup_config`.
    pub(super) fn times(&self) -> HardForkTimes {
        HardForkTimes {
            regolith_time: None,
            canyon_time: self.canyon_time,
            delta_time: self.delta_time,
            ecotone_time: self.ecotone_time,
            fjord_time: self.fjord_time,
            granite_time: self.granite_time,
            holocene_time: self.holocene_time,
            pectra_blob_schedule_time: self.pectra_blob_schedule_time,
            isthmus_time: self.isthmus_time,
            jovian_time: self.jovian_time,
            karst_time: self.karst_time,
            lagoon_time: self.lagoon_time,
            interop_time: self.interop_time,
        }
    }
}

#[derive(Deserialize)]
struct OptimismToml {
    eip1559_elasticity: u64,
    eip1559_denominator: u64,
    eip1559_denominator_canyon: Option<u64>,
}

#[derive(Deserialize)]
struct AltDaToml {
    da_challenge_contract_address: Address,
    da_challenge_window: u64,
    da_resolve_window: u64,
    #[serde(default)]
    da_commitment_type: DaCommitmentType,
}

#[derive(Deserialize)]
struct GenesisToml {
    l2_time: u64,
    l1: BlockId,
    l2: BlockId,
    system_config: SystemConfigToml,
}

#[derive(Deserialize)]
struct SystemConfigToml {
    #[serde(rename = "batcherAddress")]
    batcher_address: Address,
    overhead: B256,
    scalar: B256,
    #[serde(rename = "gasLimit")]
    gas_limit: u64,
}

#[derive(Deserialize, Default)]
struct AddressesToml {
    #[serde(rename = "OptimismPortalProxy")]
    optimism_portal_proxy: Option<Address>,
    #[serde(rename = "SystemConfigProxy")]
    system_config_proxy: Option<Address>,
}

#[cfg(test)]
mod tests;
