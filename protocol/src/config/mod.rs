//! Rollup configuration: loading, fork activation, and the per-fork parameters derivation reads.
//!
//! ```text
//!  chainList.json --ChainList::find("op-sepolia")--> ChainListEntry "sepolia/op"
//!                                                      | caller reads superchain/configs/sepolia/op.toml
//!                                                      v
//!  registry chain TOML --RegistryChain::from_toml--+
//!                                                   +--> RegistryChain --to_rollup_config(&Superchain)--+
//!  kona registry JSON --RegistryJson::from_json----+         (L1 chain id, ProtocolVersions)            |
//!                                                                                                      v
//!  op-node rollup.json --RollupConfig::from_rollup_json--------------------------------------->  RollupConfig
//!                                                                                                      |
//!    is_<fork>_active(ts), is_<fork>_activation_block(ts), active_fork(ts),  <--------------------------+
//!    channel_timeout(l1_ts), max_sequencer_drift(l1_origin_ts), max_rlp_bytes_per_channel(ts), ...
//! ```
//!
//! No I/O: callers read the files and pass their text.

pub mod builtin;
pub mod chain_list;
pub mod hardfork;
pub mod params;
pub mod registry;
pub mod registry_json;
pub mod rollup;

pub use chain_list::{ChainList, ChainListEntry, ChainListError};
pub use hardfork::{HardForkTimes, Hardfork, HardforkOrderError};
pub use registry::{RegistryChain, RegistryError, Superchain};
pub use registry_json::{RegistryJson, RegistryJsonChain, RegistryJsonError};
pub use rollup::{
    AltDaConfig, ChainOpConfig, ConfigCheckError, DaCommitmentType, Genesis, RollupConfig,
    RollupConfigError, SystemConfig,
};
