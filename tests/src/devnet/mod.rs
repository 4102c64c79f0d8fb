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
//!   Supernode pool supernode-0..n (own SimEl per chain, derives from L1 + beacon, RPC, signed
//!     attestations over attest_* and the private gossip of out_dir/swarm.key)
//!   Followers follower-0..m (chain i % chains, own SimEl, unsafe blocks from the sequencer's
//!     gossip, safe/finalized from a k-of-n quorum of the pool; tests add more by spec)
//!   Fleet registry: sequencer-<id>, batcher-<id>, supernode-<i>, follower-<i>
//!   admin JSON-RPC :9645 ── faults: L1 reorg, invalid executing message, equivocation,
//!                           batcher stop/resume, node kill/restart; status
//!   out_dir: endpoints.json, rollup-<id>.json, jwt-<id>.hex, swarm.key, <node name>/
//! ```
//! What is simulated is said plainly: the execution clients run no EVM and the L1 has no
//! beacon chain; encodings, hashes, signatures, JWTs, KZG and libp2p are real. Supernodes and
//! followers are the real ones, in-process, started through their library entry points.

pub mod admin;
pub mod config;
pub mod context;
pub mod endpoints;
pub mod fleet;
pub mod followers;
mod lifecycle;
pub mod nodes;
pub mod supernodes;
pub mod world;

pub use config::{DevnetConfig, FaultPlan, Ports};
pub use context::{FleetChain, FleetContext, FleetStartError};
pub use endpoints::{ChainEndpoints, Endpoints, NodeEntry};
pub use fleet::{Fleet, FleetError, FleetNode, NodeKind};
pub use followers::{FleetFollower, FollowerSpec};
pub use supernodes::{FleetSupernode, SupernodeMode, SupernodeSpec};
pub use world::{Devnet, DevnetError, DevnetHandle, FaultError, Status, World};
