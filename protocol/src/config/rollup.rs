//! The rollup configuration in op-node's `rollup.json` shape (`rollup.Config`, `rollup/types.go`).
//!
//! ```text
//! { "genesis": { "l1": {hash, number}, "l2": {hash, number}, "l2_time",
//!                "system_config": { batcherAddr, overhead, scalar, gasLimit,
//!                                   eip1559Params?, operatorFeeParams?, minBaseFee?,
//!                                   daFootprintGasScalar? } },
//!   "block_time", "max_sequencer_drift"?, "seq_window_size", "channel_timeout",
//!   "l1_chain_id", "l2_chain_id",                      <- JSON numbers
//!   "regolith_time"? ... "interop_time"?               <- HardForkTimes, flattened
//!   "batch_inbox_address", "deposit_contract_address", "l1_system_config_address",
//!   "protocol_versions_address",
//!   "alt_da"?: { da_challenge_contract_address, da_commitment_type,
//!                da_challenge_window, da_resolve_window },
//!   "chain_op_config"?: { eip1559Elasticity, eip1559Denominator, eip1559DenominatorCanyon? } }
//! ```
//!
//! Unknown fields are ignored (newer op-node versions add fields). Older files may carry alt-DA
//! settings as `plasma_config`, or as the legacy top-level `use_plasma`,
//! `da_challenge_contract_address`, `da_challenge_window`, `da_resolve_window`; those load into
//! [`RollupConfig::alt_da`] the way op-node's `validatePlasmaConfig` folds them.

use alloy::primitives::{Address, B64, B256};
use serde::{Deserialize, Serialize, Serializer};

use super::hardfork::{HardForkTimes, Hardfork, HardforkOrderError};
use super::params::{
    CHANNEL_TIMEOUT_GRANITE, MAX_CHANNEL_BANK_SIZE_BEDROCK, MAX_CHANNEL_BANK_SIZE_FJORD,
    MAX_RLP_BYTES_PER_CHANNEL_BEDROCK, MAX_RLP_BYTES_PER_CHANNEL_FJORD, MAX_SEQUENCER_DRIFT_FJORD,
};
use crate::{BlockId, ChainId};

/// The L1 `SystemConfig` values at the L2 genesis (`eth.SystemConfig`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SystemConfig {
    /// The account whose transactions to the batch inbox carry batches.
    #[serde(rename = "batcherAddr")]
    pub batcher_address: Address,
    /// L1 fee overhead (pre-Ecotone; zero after).
    pub overhead: B256,
    /// L1 fee scalar; from Ecotone a versioned encoding of the base fee and blob fee scalars.
    pub scalar: B256,
    /// L2 block gas limit.
    #[serde(rename = "gasLimit")]
    pub gas_limit: u64,
    /// Holocene EIP-1559 parameters: denominator (u32 BE) then elasticity (u32 BE).
    #[serde(
        rename = "eip1559Params",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub eip1559_params: Option<B64>,
    /// Isthmus operator fee parameters: `scalar << 64 | constant`.
    #[serde(
        rename = "operatorFeeParams",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub operator_fee_params: Option<B256>,
    /// Jovian minimum base fee, in wei.
    #[serde(
        rename = "minBaseFee",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub min_base_fee: Option<u64>,
    /// Jovian DA footprint gas scalar.
    #[serde(
        rename = "daFootprintGasScalar",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub da_footprint_gas_scalar: Option<u16>,
}

/// Where the rollup starts: the L1 block derivation starts after and the L2 genesis block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Genesis {
    /// The L1 block the rollup starts after (no derived transactions from it).
    pub l1: BlockId,
    /// The L2 genesis block (no transactions, pre-configured state).
    pub l2: BlockId,
    /// Timestamp of the L2 genesis block.
    pub l2_time: u64,
    /// System config at genesis, before any L1 `ConfigUpdate` event.
    pub system_config: SystemConfig,
}

/// The execution layer's EIP-1559 parameters (op-geth `params.OptimismConfig`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChainOpConfig {
    /// EIP-1559 elasticity multiplier.
    #[serde(rename = "eip1559Elasticity")]
    pub eip1559_elasticity: u64,
    /// EIP-1559 base fee change denominator before Canyon.
    #[serde(rename = "eip1559Denominator")]
    pub eip1559_denominator: u64,
    /// EIP-1559 base fee change denominator from Canyon on.
    #[serde(
        rename = "eip1559DenominatorCanyon",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub eip1559_denominator_canyon: Option<u64>,
}

/// How alt-DA commitments are formed (op-node `altda.CommitmentType` strings).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DaCommitmentType {
    /// Keccak256 commitments, challengeable on L1.
    #[default]
    KeccakCommitment,
    /// Opaque commitments without an L1 challenge contract.
    GenericCommitment,
}

/// Alt-DA settings (op-node `rollup.AltDAConfig`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AltDaConfig {
    /// L1 `DataAvailabilityChallenge` proxy; zero for generic commitments.
    #[serde(rename = "da_challenge_contract_address", default)]
    pub da_challenge_address: Address,
    /// Commitment type; op-node defaults to Keccak when absent.
    #[serde(default)]
    pub da_commitment_type: DaCommitmentType,
    /// L1 blocks during which a commitment can be challenged.
    pub da_challenge_window: u64,
    /// L1 blocks a challenge has to be resolved in.
    pub da_resolve_window: u64,
}

/// A rollup configuration: everything derivation needs to know about one L2 chain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RollupJson")]
pub struct RollupConfig {
    /// Genesis anchor.
    pub genesis: Genesis,
    /// Seconds per L2 block.
    pub block_time: u64,
    /// Pre-Fjord max sequencer drift in seconds; read it through
    /// [`RollupConfig::max_sequencer_drift`], which applies the Fjord constant.
    #[serde(rename = "max_sequencer_drift", skip_serializing_if = "is_zero")]
    pub max_sequencer_drift_bedrock: u64,
    /// Sequencing window, in L1 blocks.
    pub seq_window_size: u64,
    /// Pre-Granite channel timeout in L1 blocks; read it through
    /// [`RollupConfig::channel_timeout`], which applies the Granite constant.
    #[serde(rename = "channel_timeout")]
    pub channel_timeout_bedrock: u64,
    /// L1 chain id.
    #[serde(serialize_with = "chain_id_as_number")]
    pub l1_chain_id: ChainId,
    /// L2 chain id.
    #[serde(serialize_with = "chain_id_as_number")]
    pub l2_chain_id: ChainId,
    /// Hardfork activation times.
    #[serde(flatten)]
    pub hardforks: HardForkTimes,
    /// Karst modifier from the registry's `keep_karst_upgrade_gas`: keep the one-time upgrade gas
    /// in the gas limit after the Karst activation block.
    #[serde(skip_serializing_if = "is_false")]
    pub keep_karst_upgrade_gas: bool,
    /// L1 address batches are sent to.
    pub batch_inbox_address: Address,
    /// L1 deposit contract (`OptimismPortalProxy`).
    pub deposit_contract_address: Address,
    /// L1 `SystemConfigProxy`.
    pub l1_system_config_address: Address,
    /// L1 `ProtocolVersions` contract; zero when unknown.
    pub protocol_versions_address: Address,
    /// Alt-DA settings; `None` for Ethereum DA.
    #[serde(rename = "alt_da", skip_serializing_if = "Option::is_none")]
    pub alt_da: Option<AltDaConfig>,
    /// EIP-1559 parameters of the execution layer, used to translate zero system-config values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain_op_config: Option<ChainOpConfig>,
}

const fn is_zero(v: &u64) -> bool {
    *v == 0
}

const fn is_false(v: &bool) -> bool {
    !*v
}

/// rollup.json writes chain ids as JSON numbers (Go `*big.Int`), unlike our RPC surfaces.
fn chain_id_as_number<S: Serializer>(id: &ChainId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(id.get())
}

/// A rollup.json that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RollupConfigError {
    /// Not JSON, or a field has the wrong type or is missing.
    #[error("rollup.json does not parse: {0}")]
    Json(#[from] serde_json::Error),
    /// Parses, but the values break a rule of op-node's `Config.Check`.
    #[error("rollup config is invalid: {0}")]
    Invalid(#[from] ConfigCheckError),
}

/// A rule of op-node's `rollup.Config.Check` that a config breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigCheckError {
    /// `block_time` is 0.
    #[error("block_time must not be 0")]
    BlockTimeZero,
    /// `channel_timeout` is 0.
    #[error("channel_timeout must be set (at least one L1 block)")]
    ChannelTimeoutZero,
    /// `seq_window_size` is below 2.
    #[error("seq_window_size is {0}, must be at least 2")]
    SeqWindowTooSmall(u64),
    /// `genesis.l1.hash` is zero.
    #[error("genesis.l1.hash must not be zero")]
    MissingGenesisL1Hash,
    /// `genesis.l2.hash` is zero.
    #[error("genesis.l2.hash must not be zero")]
    MissingGenesisL2Hash,
    /// The L1 and L2 genesis hashes are equal.
    #[error("genesis.l1.hash and genesis.l2.hash are both {0}")]
    GenesisHashesSame(B256),
    /// `genesis.l2_time` is 0.
    #[error("genesis.l2_time must not be 0")]
    MissingGenesisL2Time,
    /// `genesis.system_config.batcherAddr` is zero.
    #[error("genesis.system_config.batcherAddr must not be zero")]
    MissingBatcherAddr,
    /// `genesis.system_config.scalar` is zero.
    #[error("genesis.system_config.scalar must not be zero")]
    MissingScalar,
    /// `genesis.system_config.gasLimit` is 0.
    #[error("genesis.system_config.gasLimit must not be 0")]
    MissingGasLimit,
    /// `batch_inbox_address` is zero.
    #[error("batch_inbox_address must not be zero")]
    MissingBatchInbox,
    /// `deposit_contract_address` is zero.
    #[error("deposit_contract_address must not be zero")]
    MissingDepositContract,
    /// A chain id is 0.
    #[error("{field} must not be 0")]
    ChainIdZero {
        /// `l1_chain_id` or `l2_chain_id`.
        field: &'static str,
    },
    /// L1 and L2 share a chain id.
    #[error("l1_chain_id and l2_chain_id are both {0}")]
    ChainIdsSame(ChainId),
    /// Keccak commitments need a challenge contract.
    #[error("alt_da: KeccakCommitment needs a non-zero da_challenge_contract_address")]
    AltDaMissingChallengeContract,
    /// Generic commitments have no challenge contract.
    #[error("alt_da: GenericCommitment must have a zero da_challenge_contract_address")]
    AltDaUnexpectedChallengeContract,
    /// Fork times contradict the fork order.
    #[error("hardfork times: {0}")]
    Hardforks(#[from] HardforkOrderError),
}

impl RollupConfig {
    /// Parses an op-node rollup.json and checks it like op-node's `Config.Check`.
    pub fn from_rollup_json(json: &str) -> Result<Self, RollupConfigError> {
        let config: Self = serde_json::from_str(json)?;
        config.check()?;
        Ok(config)
    }

    /// The config as op-node rollup.json text.
    pub fn to_rollup_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// Checks the rules of op-node's `rollup.Config.Check`.
    pub fn check(&self) -> Result<(), ConfigCheckError> {
        use ConfigCheckError as E;
        let g = &self.genesis;
        if self.block_time == 0 {
            return Err(E::BlockTimeZero);
        }
        if self.channel_timeout_bedrock == 0 {
            return Err(E::ChannelTimeoutZero);
        }
        if self.seq_window_size < 2 {
            return Err(E::SeqWindowTooSmall(self.seq_window_size));
        }
        if g.l1.hash.is_zero() {
            return Err(E::MissingGenesisL1Hash);
        }
        if g.l2.hash.is_zero() {
            return Err(E::MissingGenesisL2Hash);
        }
        if g.l1.hash == g.l2.hash {
            return Err(E::GenesisHashesSame(g.l1.hash));
        }
        if g.l2_time == 0 {
            return Err(E::MissingGenesisL2Time);
        }
        if g.system_config.batcher_address.is_zero() {
            return Err(E::MissingBatcherAddr);
        }
        if g.system_config.scalar.is_zero() {
            return Err(E::MissingScalar);
        }
        if g.system_config.gas_limit == 0 {
            return Err(E::MissingGasLimit);
        }
        if self.batch_inbox_address.is_zero() {
            return Err(E::MissingBatchInbox);
        }
        if self.deposit_contract_address.is_zero() {
            return Err(E::MissingDepositContract);
        }
        if self.l1_chain_id.get() == 0 {
            return Err(E::ChainIdZero {
                field: "l1_chain_id",
            });
        }
        if self.l2_chain_id.get() == 0 {
            return Err(E::ChainIdZero {
                field: "l2_chain_id",
            });
        }
        if self.l1_chain_id == self.l2_chain_id {
            return Err(E::ChainIdsSame(self.l1_chain_id));
        }
        if let Some(alt_da) = &self.alt_da {
            match alt_da.da_commitment_type {
                DaCommitmentType::KeccakCommitment if alt_da.da_challenge_address.is_zero() => {
                    return Err(E::AltDaMissingChallengeContract);
                }
                DaCommitmentType::GenericCommitment if !alt_da.da_challenge_address.is_zero() => {
                    return Err(E::AltDaUnexpectedChallengeContract);
                }
                _ => {}
            }
        }
        self.hardforks.check_order()?;
        Ok(())
    }

    /// The newest fork active at L2 timestamp `ts`.
    pub fn active_fork(&self, ts: u64) -> Hardfork {
        self.hardforks.active_fork(ts)
    }

    /// Whether `fork` is active at L2 timestamp `ts`.
    pub const fn is_active(&self, fork: Hardfork, ts: u64) -> bool {
        self.hardforks.is_active(fork, ts)
    }

    /// Whether the L2 block at `ts` is the first block of `fork`.
    pub const fn is_activation_block(&self, fork: Hardfork, ts: u64) -> bool {
        self.hardforks
            .is_activation_block(fork, ts, self.block_time)
    }

    /// Whether the Pectra blob schedule fix applies to an L1 origin with timestamp
    /// `l1_origin_ts` (specs `protocol/pectra-blob-schedule/derivation.md`).
    pub const fn is_pectra_blob_schedule_active(&self, l1_origin_ts: u64) -> bool {
        match self.hardforks.pectra_blob_schedule_time {
            Some(t) => l1_origin_ts >= t,
            None => false,
        }
    }

    /// Whether alt-DA is configured.
    pub const fn is_alt_da(&self) -> bool {
        self.alt_da.is_some()
    }

    /// Channel timeout in L1 blocks for data read from an L1 block with timestamp `l1_ts`:
    /// the Granite constant once Granite is active, the configured value before
    /// (specs `protocol/granite/derivation.md`).
    pub const fn channel_timeout(&self, l1_ts: u64) -> u64 {
        if self.is_granite_active(l1_ts) {
            CHANNEL_TIMEOUT_GRANITE
        } else {
            self.channel_timeout_bedrock
        }
    }

    /// Max sequencer drift in seconds for an L1 origin with timestamp `l1_origin_ts`: the
    /// constant 1800 once Fjord is active, the configured value before (specs
    /// `protocol/fjord/derivation.md`: "activates with the L1 origin block timestamp").
    pub const fn max_sequencer_drift(&self, l1_origin_ts: u64) -> u64 {
        if self.is_fjord_active(l1_origin_ts) {
            MAX_SEQUENCER_DRIFT_FJORD
        } else {
            self.max_sequencer_drift_bedrock
        }
    }

    /// `MAX_RLP_BYTES_PER_CHANNEL` at timestamp `ts` (specs `protocol/fjord/derivation.md`).
    pub const fn max_rlp_bytes_per_channel(&self, ts: u64) -> u64 {
        if self.is_fjord_active(ts) {
            MAX_RLP_BYTES_PER_CHANNEL_FJORD
        } else {
            MAX_RLP_BYTES_PER_CHANNEL_BEDROCK
        }
    }

    /// `MAX_CHANNEL_BANK_SIZE` at timestamp `ts` (specs `protocol/fjord/derivation.md`).
    pub const fn max_channel_bank_size(&self, ts: u64) -> u64 {
        if self.is_fjord_active(ts) {
            MAX_CHANNEL_BANK_SIZE_FJORD
        } else {
            MAX_CHANNEL_BANK_SIZE_BEDROCK
        }
    }

    /// Timestamp of L2 block `number`; `None` before genesis or past `u64` seconds.
    pub fn timestamp_for_block(&self, number: u64) -> Option<u64> {
        let since_genesis = number.checked_sub(self.genesis.l2.number)?;
        since_genesis
            .checked_mul(self.block_time)?
            .checked_add(self.genesis.l2_time)
    }
}

/// Generates `is_<fork>_active(ts)` and `is_<fork>_activation_block(ts)` for each fork.
macro_rules! fork_queries {
    ($($fork:ident: $active:ident, $first:ident;)*) => {
        impl RollupConfig {
            $(
                #[doc = concat!("Whether ", stringify!($fork), " is active at L2 timestamp `ts`.")]
                pub const fn $active(&self, ts: u64) -> bool {
                    self.hardforks.is_active(Hardfork::$fork, ts)
                }

                #[doc = concat!("Whether the L2 block at `ts` is the first ", stringify!($fork), " block.")]
                pub const fn $first(&self, ts: u64) -> bool {
                    self.hardforks.is_activation_block(Hardfork::$fork, ts, self.block_time)
                }
            )*
        }
    };
}

fork_queries! {
    Regolith: is_regolith_active, is_regolith_activation_block;
    Canyon: is_canyon_active, is_canyon_activation_block;
    Delta: is_delta_active, is_delta_activation_block;
    Ecotone: is_ecotone_active, is_ecotone_activation_block;
    Fjord: is_fjord_active, is_fjord_activation_block;
    Granite: is_granite_active, is_granite_activation_block;
    Holocene: is_holocene_active, is_holocene_activation_block;
    Isthmus: is_isthmus_active, is_isthmus_activation_block;
    Jovian: is_jovian_active, is_jovian_activation_block;
    Karst: is_karst_active, is_karst_activation_block;
    Lagoon: is_lagoon_active, is_lagoon_activation_block;
    Interop: is_interop_active, is_interop_activation_block;
}

/// Everything a rollup.json may carry, including the legacy alt-DA spellings.
#[derive(Deserialize)]
struct RollupJson {
    genesis: Genesis,
    block_time: u64,
    #[serde(default)]
    max_sequencer_drift: u64,
    seq_window_size: u64,
    channel_timeout: u64,
    l1_chain_id: ChainId,
    l2_chain_id: ChainId,
    #[serde(flatten)]
    hardforks: HardForkTimes,
    #[serde(default)]
    keep_karst_upgrade_gas: bool,
    batch_inbox_address: Address,
    deposit_contract_address: Address,
    l1_system_config_address: Address,
    #[serde(default)]
    protocol_versions_address: Address,
    #[serde(default, alias = "plasma_config")]
    alt_da: Option<AltDaConfig>,
    #[serde(default)]
    chain_op_config: Option<ChainOpConfig>,
    #[serde(default)]
    use_plasma: bool,
    #[serde(default, rename = "da_challenge_contract_address")]
    legacy_da_challenge_address: Address,
    #[serde(default, rename = "da_challenge_window")]
    legacy_da_challenge_window: u64,
    #[serde(default, rename = "da_resolve_window")]
    legacy_da_resolve_window: u64,
}

impl TryFrom<RollupJson> for RollupConfig {
    type Error = String;

    fn try_from(j: RollupJson) -> Result<Self, Self::Error> {
        let legacy = AltDaConfig {
            da_challenge_address: j.legacy_da_challenge_address,
            da_commitment_type: DaCommitmentType::KeccakCommitment,
            da_challenge_window: j.legacy_da_challenge_window,
            da_resolve_window: j.legacy_da_resolve_window,
        };
        let alt_da = match (j.alt_da, j.use_plasma) {
            (Some(a), true) if a != legacy => {
                return Err(format!(
                    "legacy alt-DA fields (use_plasma, da_challenge_contract_address, \
                     da_challenge_window, da_resolve_window) = {legacy:?} disagree with alt_da = {a:?}"
                ));
            }
            (Some(a), _) => Some(a),
            (None, true) => Some(legacy),
            (None, false) => None,
        };
        Ok(Self {
            genesis: j.genesis,
            block_time: j.block_time,
            max_sequencer_drift_bedrock: j.max_sequencer_drift,
            seq_window_size: j.seq_window_size,
            channel_timeout_bedrock: j.channel_timeout,
            l1_chain_id: j.l1_chain_id,
            l2_chain_id: j.l2_chain_id,
            hardforks: j.hardforks,
            keep_karst_upgrade_gas: j.keep_karst_upgrade_gas,
            batch_inbox_address: j.batch_inbox_address,
            deposit_contract_address: j.deposit_contract_address,
            l1_system_config_address: j.l1_system_config_address,
            protocol_versions_address: j.protocol_versions_address,
            alt_da,
            chain_op_config: j.chain_op_config,
        })
    }
}

#[cfg(test)]
mod tests;
