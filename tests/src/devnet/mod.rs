//! The devnet: one process running a complete local OP Stack interop world, with its faults.
//!
//! ```text
//!                 L1 (eth JSON-RPC :8545, beacon :5052; auto-mined, random deposits)
//!                  ▲ batch txs (blobs|calldata)          ▲ origins, deposits
//!   chain 901 ─────┼──────────────────────────┐   chain 902 (same shape)
//!   BatcherNode ◀──┘ eth RPC ── SimEl ◀─Engine API (JWT)── SequencerNode ──▶ libp2p gossip
//!                               :9545   :8551            signed blocks, payload_by_number :9222
//!                                                          ▲ InteropFeed (executing messages
//!                                                          ▼ between the chains)
//!   Fleet registry: sequencer-<id>, batcher-<id> (+ supernodes and followers when they exist)
//!   admin JSON-RPC :9645 ── faults: L1 reorg, invalid executing message, equivocation,
//!                           batcher stop/resume, node kill/restart; status
//!   out_dir: endpoints.json, rollup-<id>.json, jwt-<id>.hex
//! ```
//! What is simulated is said plainly: the execution clients run no EVM and the L1 has no
//! beacon chain; encodings, hashes, signatures, JWTs, KZG and libp2p are real. There is no
//! supernode pool or follower yet: the endpoints file lists them empty.

pub mod admin;
pub mod config;
pub mod endpoints;
pub mod fleet;
pub mod nodes;
pub mod world;

pub use config::{DevnetConfig, FaultPlan, Ports};
pub use endpoints::{ChainEndpoints, Endpoints, NodeEntry};
pub use fleet::{Fleet, FleetError, FleetNode, NodeKind};
pub use world::{Devnet, DevnetError, DevnetHandle, FaultError, Status, World};
