//! The devnet sequencer: picks L1 origins, builds payload attributes, drives a simulated (or
//! real) execution client over the Engine API and publishes signed unsafe blocks.
//!
//! ```text
//!   L1 JSON-RPC ─▶ l1_client ─▶ origin (selection) ─┐
//!   txgen (transfers, interop) ◀─ feed (shared) ────┼─▶ attributes ─▶ opfleet-engine ─▶ EL
//!                                                   │                    (JWT, V3/V4)
//!   driver::Sequencer::step / run ──────────────────┘
//!        └─▶ broadcast<SequencedBlock> (signed gossip) + PayloadStore (payload_by_number)
//!   l2_chain: own blocks read back from the EL (restart, rewind after an L1 reorg)
//!   rollup: DevnetChainConfig ─▶ RollupConfig ─▶ rollup.json
//! ```
//! The libp2p transport is not here: it takes the gossip bytes from the broadcast.

pub mod attributes;
pub mod driver;
pub mod feed;
pub mod l1_client;
pub mod l2_chain;
pub mod origin;
pub mod rollup;
pub mod txgen;

pub use driver::{
    DEFAULT_PAYLOAD_WINDOW, Equivocation, PayloadStore, SequencedBlock, Sequencer, SequencerConfig,
    SequencerControls, SequencerError, SequencerHandle,
};
pub use feed::{InitiatingLog, InteropFeed};
pub use rollup::{DevnetChainConfig, DevnetFork, RollupAnchor};
pub use txgen::{TxGenConfig, dev_key};
