//! The derivation stages, one per file, from L1 blocks to payload attributes.
//!
//! ```text
//! l1_traversal ─▶ data_source ─▶ frame_queue ─▶ channel_reader ─▶ batch_stage ─▶ attributes
//!  (L1 block,      (batcher tx     (Holocene       (decompress,      (Holocene       (L1-info,
//!   reorg check,    calldata,       pruning and     read batches)     checks, spans,  deposits,
//!   sys config)     blobs)          assembly)                         empty batches)  recipe)
//! ```
//! Stages that do I/O take the providers as arguments; the rest are pure state machines.

pub mod attributes;
pub mod batch_stage;
pub mod channel_reader;
pub mod data_source;
pub mod frame_queue;
pub mod l1_traversal;
