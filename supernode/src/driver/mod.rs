//! The chain driver: runs one chain's derivation pipeline against its execution client and
//! publishes the chain's heads.
//!
//! ```text
//!  Pipeline::next(pending safe) ─▶ attributes ─┬─ EL has a matching block ─▶ consolidate (FCU safe)
//!                                              └─ else ─▶ insert: FCU+attrs, getPayload, newPayload, FCU
//!  L1 reorg (pipeline error) ─▶ rewind to the newest safe block derived from still-canonical L1
//!  L1 finalized ─▶ finalized = newest safe block derived from it or before
//!  every change ─▶ watch<ChainHeads>
//! ```

pub mod chain;
pub mod consolidate;
pub mod el;

pub use chain::{ChainDriver, DriverConfig, DriverError, Step};
pub use consolidate::{
    ExecutedBlock, Mismatch, check_attributes_match, l2_block_ref, system_config_of,
};
pub use el::{ElError, ExecutionLayer, InsertOutcome, L2Tag};
