//! Per-chain derivation from L1 (Holocene and later rules).
//!
//! ```text
//!   traits ─────── the I/O seams: L1 chain data and blobs (implemented by `crate::l1`)
//!   system_config ─ ConfigUpdate logs ─▶ SystemConfig
//!   stages/ ────── L1 traversal ─▶ data ─▶ frames/channels ─▶ batches ─▶ attributes
//!   pipeline ───── the stages pulled together: next(parent) ─▶ DerivedAttributes, reset
//! ```

pub mod pipeline;
pub mod stages;
pub mod system_config;
pub mod traits;

#[cfg(test)]
pub(crate) mod test_utils;

pub use pipeline::{DerivedAttributes, L2SafeSource, Pipeline, PipelineConfig, PipelineError};
pub use stages::attributes::L1BlobSchedule;
