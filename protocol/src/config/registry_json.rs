//! The whole superchain registry as one JSON document, the shape kona ships as
//! `crates/protocol/registry/etc/configs.json`: per superchain its L1 and contracts, per chain
//! the registry chain config with JSON spellings.
//!
//! ```text
//! { "superchains": [ { "name": "sepolia",
//!                      "config": { "l1": {"chain_id"}, "protocol_versions_addr",
//!                                  "superchain_config_addr", ... },
//!                      "chains": [ { "Name", "l2_chain_id", "batch_inbox_address", "block_time",
//!                                    "seq_window_size", "max_sequencer_drift",
//!                                    "hardfork_configuration": {canyon_time, ...},
//!                                    "optimism": {eip1559Elasticity, ...} | null,
//!                                    "alt_da": {da_challenge_address, ...} | null,
//!                                    "genesis": {l1, l2, l2_time, system_config: {batcherAddr,
//!                                                overhead, scalar, gasLimit, ...}},
//!                                    "Addresses": {OptimismPortalProxy, SystemConfigProxy, ...} },
//!                                  ... ] }, ... ] }
//! ```
//!
//! Each chain becomes a [`RegistryChain`] and then a [`RollupConfig`] through the same code as the
//! chain TOML files, so the two formats cross-check each other.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B64, B256};
use serde::Deserialize;

use super::registry::{RegistryChain, RegistryError, Superchain};
use super::rollup::{
    AltDaConfig, ChainOpConfig, DaCommitmentType, Genesis, RollupConfig, SystemConfig,
};
use crate::{BlockId, ChainId};

/// One chain of the registry JSON with its superchain and rollup config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryJsonChain {
    /// The superchain's name, e.g. `mainnet`.
    pub superchain: String,
    /// The chain's display name.
    pub name: String,
    /// The chain's rollup config.
    pub config: RollupConfig,
}

/// Every chain of a registry JSON, by L2 chain id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryJson {
    superchains: Vec<Superchain>,
    chains: BTreeMap<ChainId, RegistryJsonChain>,
}

/// A registry JSON that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RegistryJsonError {
    /// Not JSON, or a field has the wrong type or is missing.
    #[error("registry JSON does not parse: {0}")]
    Json(#[from] serde_json::Error),
    /// A chain's values cannot form a rollup config.
    #[error("superchain {superchain:?}, chain #{index} ({name:?}): {source}")]
    Chain {
        /// Superchain name.
        superchain: String,
        /// Position of the chain in the superchain's `chains` list.
        index: usize,
        /// The chain's `Name`.
        name: String,
        /// What is wrong.
        source: Box<RegistryError>,
    },
    /// Two chains share an L2 chain id.
    #[error("chain id {chain_id} appears twice: in superchain {first:?} and {second:?}")]
    DuplicateChainId {
        /// The repeated id.
        chain_id: ChainId,
        /// Superchain of the first occurrence.
        first: String,
        /// Superchain of the second occurrence.
        second: String,
    },
    /// A value is out of range for its protocol field.
    #[error(
        "superchain {superchain:?}, chain #{index} ({name:?}): {field} = {value} does not fit in {bits} bits"
    )]
    OutOfRange {
        /// Superchain name.
        superchain: String,
        /// Position of the chain in the superchain's `chains` list.
        index: usize,
        /// The chain's `Name`.
        name: String,
        /// JSON field name.
        field: &'static str,
        /// The value found.
        value: u64,
        /// Width of the protocol field.
        bits: u32,
    },
}

impl RegistryJson {
    /// Parses the registry JSON and builds every chain's rollup config.
    pub fn from_json(json: &str) -> Result<Self, RegistryJsonError> {
        let raw: RawRegistry = serde_json::from_str(json)?;
        let mut out = Self::default();
        for sc in raw.superchains {
            let superchain = Superchain {
                name: sc.name.clone(),
                l1_chain_id: ChainId(sc.config.l1.chain_id),
                protocol_versions_address: sc.config.protocol_versions_addr,
                superchain_config_address: sc.config.superchain_config_addr,
            };
            for (index, chain) in sc.chains.into_iter().enumerate() {
                let name = chain.name.clone();
                let at = |source| RegistryJsonError::Chain {
                    superchain: sc.name.clone(),
                    index,
                    name: name.clone(),
                    source: Box::new(source),
                };
                let registry_chain =
                    chain
                        .into_registry_chain()
                        .map_err(|(field, value, bits)| RegistryJsonError::OutOfRange {
                            superchain: sc.name.clone(),
                            index,
                            name: name.clone(),
                            field,
                            value,
                            bits,
                        })?;
                let config = registry_chain.to_rollup_config(&superchain).map_err(at)?;
                let entry = RegistryJsonChain {
                    superchain: sc.name.clone(),
                    name: name.clone(),
                    config,
                };
                if let Some(prev) = out.chains.insert(registry_chain.chain_id, entry) {
                    return Err(RegistryJsonError::DuplicateChainId {
                        chain_id: registry_chain.chain_id,
                        first: prev.superchain,
                        second: sc.name.clone(),
                    });
                }
            }
            out.superchains.push(superchain);
        }
        Ok(out)
    }

    /// The chain with L2 chain id `id`.
    pub fn get(&self, id: ChainId) -> Option<&RegistryJsonChain> {
        self.chains.get(&id)
    }

    /// All chains, by ascending chain id.
    pub fn chains(&self) -> impl Iterator<Item = &RegistryJsonChain> {
        self.chains.values()
    }

    /// Number of chains.
    pub fn len(&self) -> usize {
        self.chains.len()
    }

    /// Whether there are no chains.
    pub fn is_empty(&self) -> bool {
        self.chains.is_empty()
    }

    /// The superchain named `name` (e.g. `sepolia`).
    pub fn superchain(&self, name: &str) -> Option<&Superchain> {
        self.superchains.iter().find(|s| s.name == name)
    }
}

#[derive(Deserialize)]
struct RawRegistry {
    superchains: Vec<RawSuperchain>,
}

#[derive(Deserialize)]
struct RawSuperchain {
    name: String,
    config: RawSuperchainConfig,
    chains: Vec<RawChain>,
}

#[derive(Deserialize)]
struct RawSuperchainConfig {
    l1: RawL1,
    #[serde(default)]
    protocol_versions_addr: Option<Address>,
    #[serde(default)]
    superchain_config_addr: Option<Address>,
}

#[derive(Deserialize)]
struct RawL1 {
    chain_id: u64,
}

#[derive(Deserialize)]
struct RawChain {
    #[serde(rename = "Name")]
    name: String,
    l2_chain_id: u64,
    batch_inbox_address: Address,
    block_time: u64,
    seq_window_size: u64,
    max_sequencer_drift: u64,
    hardfork_configuration: super::registry::RegistryHardforks,
    #[serde(default)]
    optimism: Option<RawOptimism>,
    #[serde(default)]
    alt_da: Option<RawAltDa>,
    genesis: RawGenesis,
    #[serde(rename = "Addresses", default)]
    addresses: Option<RawAddresses>,
}

#[derive(Deserialize)]
struct RawOptimism {
    #[serde(rename = "eip1559Elasticity")]
    elasticity: u64,
    #[serde(rename = "eip1559Denominator")]
    denominator: u64,
    #[serde(rename = "eip1559DenominatorCanyon")]
    denominator_canyon: Option<u64>,
}

#[derive(Deserialize)]
struct RawAltDa {
    da_challenge_address: Option<Address>,
    da_challenge_window: u64,
    da_resolve_window: u64,
    #[serde(default)]
    da_commitment_type: DaCommitmentType,
}

#[derive(Deserialize)]
struct RawGenesis {
    l1: BlockId,
    l2: BlockId,
    l2_time: u64,
    system_config: RawSystemConfig,
}

/// kona's genesis system config: the four op-node fields plus the later ones unpacked.
#[derive(Deserialize)]
struct RawSystemConfig {
    #[serde(rename = "batcherAddr")]
    batcher_address: Address,
    overhead: B256,
    scalar: B256,
    #[serde(rename = "gasLimit")]
    gas_limit: u64,
    #[serde(rename = "eip1559Denominator")]
    eip1559_denominator: Option<u64>,
    #[serde(rename = "eip1559Elasticity")]
    eip1559_elasticity: Option<u64>,
    #[serde(rename = "operatorFeeScalar")]
    operator_fee_scalar: Option<u64>,
    #[serde(rename = "operatorFeeConstant")]
    operator_fee_constant: Option<u64>,
    #[serde(rename = "minBaseFee")]
    min_base_fee: Option<u64>,
    #[serde(rename = "daFootprintGasScalar")]
    da_footprint_gas_scalar: Option<u64>,
}

#[derive(Deserialize)]
struct RawAddresses {
    #[serde(rename = "OptimismPortalProxy")]
    optimism_portal_proxy: Option<Address>,
    #[serde(rename = "SystemConfigProxy")]
    system_config_proxy: Option<Address>,
}

/// A field that does not fit its protocol width: (JSON name, value, bits).
type RangeError = (&'static str, u64, u32);

fn narrow_u32(field: &'static str, v: u64) -> Result<u32, RangeError> {
    u32::try_from(v).map_err(|_| (field, v, 32))
}

impl RawSystemConfig {
    /// Packs kona's unpacked fields into op-node's system config words: `eip1559Params` is
    /// `denominator (u32 BE) | elasticity (u32 BE)` (Holocene `EIP_1559_PARAMS`) and
    /// `operatorFeeParams` is `scalar << 64 | constant` (Isthmus `OPERATOR_FEE_PARAMS`).
    fn into_system_config(self) -> Result<SystemConfig, RangeError> {
        let eip1559_params = match (self.eip1559_denominator, self.eip1559_elasticity) {
            (None, None) => None,
            (d, e) => {
                let d = narrow_u32("eip1559Denominator", d.unwrap_or(0))?;
                let e = narrow_u32("eip1559Elasticity", e.unwrap_or(0))?;
                let mut word = [0u8; 8];
                word[..4].copy_from_slice(&d.to_be_bytes());
                word[4..].copy_from_slice(&e.to_be_bytes());
                Some(B64::from(word))
            }
        };
        let operator_fee_params = match (self.operator_fee_scalar, self.operator_fee_constant) {
            (None, None) => None,
            (s, c) => {
                let s = narrow_u32("operatorFeeScalar", s.unwrap_or(0))?;
                let mut word = [0u8; 32];
                word[20..24].copy_from_slice(&s.to_be_bytes());
                word[24..].copy_from_slice(&c.unwrap_or(0).to_be_bytes());
                Some(B256::from(word))
            }
        };
        let da_footprint_gas_scalar = self
            .da_footprint_gas_scalar
            .map(|v| u16::try_from(v).map_err(|_| ("daFootprintGasScalar", v, 16)))
            .transpose()?;
        Ok(SystemConfig {
            batcher_address: self.batcher_address,
            overhead: self.overhead,
            scalar: self.scalar,
            gas_limit: self.gas_limit,
            eip1559_params,
            operator_fee_params,
            min_base_fee: self.min_base_fee,
            da_footprint_gas_scalar,
        })
    }
}

impl RawChain {
    fn into_registry_chain(self) -> Result<RegistryChain, RangeError> {
        let hf = self.hardfork_configuration;
        let g = self.genesis;
        let addresses = self.addresses;
        Ok(RegistryChain {
            name: self.name,
            chain_id: ChainId(self.l2_chain_id),
            batch_inbox_address: self.batch_inbox_address,
            block_time: self.block_time,
            seq_window_size: self.seq_window_size,
            max_sequencer_drift: self.max_sequencer_drift,
            hardforks: hf.times(),
            keep_karst_upgrade_gas: hf.keep_karst_upgrade_gas,
            optimism: self.optimism.map(|o| ChainOpConfig {
                eip1559_elasticity: o.elasticity,
                eip1559_denominator: o.denominator,
                eip1559_denominator_canyon: o.denominator_canyon,
            }),
            alt_da: self.alt_da.map(|a| AltDaConfig {
                da_challenge_address: a.da_challenge_address.unwrap_or_default(),
                da_commitment_type: a.da_commitment_type,
                da_challenge_window: a.da_challenge_window,
                da_resolve_window: a.da_resolve_window,
            }),
            genesis: Genesis {
                l1: g.l1,
                l2: g.l2,
                l2_time: g.l2_time,
                system_config: g.system_config.into_system_config()?,
            },
            optimism_portal: addresses.as_ref().and_then(|a| a.optimism_portal_proxy),
            system_config_proxy: addresses.as_ref().and_then(|a| a.system_config_proxy),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_unpacked_system_config_fields_as_the_specs_encode_them() {
        let raw = RawSystemConfig {
            batcher_address: Address::repeat_byte(1),
            overhead: B256::ZERO,
            scalar: B256::repeat_byte(2),
            gas_limit: 30_000_000,
            eip1559_denominator: Some(250),
            eip1559_elasticity: Some(6),
            operator_fee_scalar: Some(0x0102_0304),
            operator_fee_constant: Some(0x0a0b_0c0d_0e0f_1011),
            min_base_fee: Some(7),
            da_footprint_gas_scalar: Some(400),
        };
        let sc = raw.into_system_config().unwrap();
        assert_eq!(
            sc.eip1559_params,
            Some(B64::from([0, 0, 0, 250, 0, 0, 0, 6]))
        );
        let mut want = [0u8; 32];
        want[20..24].copy_from_slice(&[1, 2, 3, 4]);
        want[24..].copy_from_slice(&[0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11]);
        assert_eq!(sc.operator_fee_params, Some(B256::from(want)));
        assert_eq!(sc.min_base_fee, Some(7));
        assert_eq!(sc.da_footprint_gas_scalar, Some(400));
    }

    #[test]
    fn out_of_range_fields_are_named() {
        let raw = RawSystemConfig {
            batcher_address: Address::ZERO,
            overhead: B256::ZERO,
            scalar: B256::ZERO,
            gas_limit: 0,
            eip1559_denominator: Some(u64::from(u32::MAX) + 1),
            eip1559_elasticity: None,
            operator_fee_scalar: None,
            operator_fee_constant: None,
            min_base_fee: None,
            da_footprint_gas_scalar: None,
        };
        assert_eq!(
            raw.into_system_config().unwrap_err(),
            ("eip1559Denominator", u64::from(u32::MAX) + 1, 32)
        );
    }
}
