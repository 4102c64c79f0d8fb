//! A simulated OP Stack L2 execution client for the devnet.
//!
//! It speaks the real Engine API (JWT, V3/V4 payloads) and the eth namespace a consensus client
//! reads, and it produces real block hashes (keccak256 of the RLP header) with real
//! transaction/receipt roots. It does NOT run the EVM: see [`builder`] for the deterministic rules
//! that stand in for execution (gas, logs, nonces, state and message-passer roots). Two instances
//! given the same attributes build the same block.
//!
//! ```text
//!   consensus client ──JWT──▶ engine listener ─┐
//!   tools / tests ──────────▶ rpc listener ────┴─▶ EngineState { Chain (in memory, pruned
//!                                                               behind a window), built payloads }
//! ```

pub mod builder;
pub mod chain;
pub mod engine;
pub mod eth;
pub mod fees;
pub mod fixtures;
pub mod flz;
pub mod jwt;
pub mod logs;
pub mod server;
pub mod spec;
pub mod state;
pub mod sync;

pub use builder::{MESSAGE_PASSER, SimBlock};
pub use jwt::JwtSecret;
pub use logs::{SIM_LOG_MAGIC, encode_sim_logs};
pub use server::{SimEl, SimElConfig, SimElHandle, SimElOptions, SpawnError};
pub use spec::{ChainSpec, Fork, ForkSchedule, GenesisConfig};
