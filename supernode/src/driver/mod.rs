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
//!
//! Wiring one chain (what `run` does per chain):
//! ```text
//! let rollup = Arc::new(rollup_config);
//! let el = EngineExecutionLayer::new(
//!     EngineClient::new(&engine_url, jwt)?, L2Client::new(&l2_rpc_url, &rollup)?, rollup.clone());
//! let driver = ChainDriver::new(
//!     DriverConfig { rollup, blob_schedule: L1BlobSchedule::new(l1_blob_forks), anchor: None,
//!                    idle_interval: Duration::from_secs(1) },
//!     l1 /* Arc<dyn L1ChainProvider> */, beacon /* Arc<dyn BlobProvider> */, Arc::new(el)).await?;
//! let heads: watch::Receiver<ChainHeads> = driver.subscribe();
//! tokio::spawn(driver.run(stop_rx));
//! ```

pub mod chain;
pub mod consolidate;
pub mod el;
pub mod engine_el;

pub use chain::{ChainDriver, DriverConfig, DriverError, Step};
pub use consolidate::{
    ExecutedBlock, Mismatch, check_attributes_match, l2_block_ref, system_config_of,
};
pub use el::{ElError, ExecutionLayer, InsertOutcome, L2Tag};
pub use engine_el::EngineExecutionLayer;
