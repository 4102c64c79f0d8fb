//! Protocol constants and registry defaults that derivation reads through the rollup config.
//!
//! ```text
//! parameter                   Bedrock        from fork            spec
//! channel timeout (L1 blocks) rollup config  Granite: 50          specs/protocol/granite/derivation.md
//! max sequencer drift (s)     rollup config  Fjord:   1800        specs/protocol/fjord/derivation.md
//! MAX_RLP_BYTES_PER_CHANNEL   10_000_000     Fjord:   100_000_000 specs/protocol/fjord/derivation.md
//! MAX_CHANNEL_BANK_SIZE       100_000_000    Fjord:   1_000_000_000 specs/protocol/fjord/derivation.md
//! ```

/// `CHANNEL_TIMEOUT` once Granite is active, in L1 blocks (specs `protocol/granite/derivation.md`,
/// "Protocol Parameter Changes": pre-Granite default 300, Granite value 50).
pub const CHANNEL_TIMEOUT_GRANITE: u64 = 50;

/// `max_sequencer_drift` once Fjord is active, in seconds (specs `protocol/fjord/derivation.md`,
/// "Constant Maximum Sequencer Drift": the chain parameter becomes the constant 1800).
pub const MAX_SEQUENCER_DRIFT_FJORD: u64 = 1800;

/// `MAX_RLP_BYTES_PER_CHANNEL` before Fjord (specs `protocol/fjord/derivation.md`, parameter table).
pub const MAX_RLP_BYTES_PER_CHANNEL_BEDROCK: u64 = 10_000_000;

/// `MAX_RLP_BYTES_PER_CHANNEL` from Fjord on (specs `protocol/fjord/derivation.md`, parameter table).
pub const MAX_RLP_BYTES_PER_CHANNEL_FJORD: u64 = 100_000_000;

/// `MAX_CHANNEL_BANK_SIZE` before Fjord (specs `protocol/fjord/derivation.md`, parameter table).
pub const MAX_CHANNEL_BANK_SIZE_BEDROCK: u64 = 100_000_000;

/// `MAX_CHANNEL_BANK_SIZE` from Fjord on (specs `protocol/fjord/derivation.md`, parameter table).
pub const MAX_CHANNEL_BANK_SIZE_FJORD: u64 = 1_000_000_000;

/// Pre-Granite channel timeout of registry chains, in L1 blocks. The registry does not carry it;
/// op-node's `LoadOPStackRollupConfig` sets `ChannelTimeoutBedrock: 300` for every registry chain
/// (and the Granite spec names 300 as the pre-Granite default).
pub const REGISTRY_CHANNEL_TIMEOUT_BEDROCK: u64 = 300;

/// Sequencing window (L1 blocks) op-node used for registry chains before the registry carried
/// `seq_window_size` (op-node `rollup/superchain.go`, `SeqWindowSize: 3600`).
pub const REGISTRY_DEFAULT_SEQ_WINDOW_SIZE: u64 = 3600;

/// Max sequencer drift (seconds) op-node used for registry chains before the registry carried
/// `max_sequencer_drift` (op-node `rollup/superchain.go`; the Fjord spec calls 600 the default).
pub const REGISTRY_DEFAULT_MAX_SEQUENCER_DRIFT: u64 = 600;
