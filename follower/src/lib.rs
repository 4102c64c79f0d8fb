//! opfleet follower: a light consensus client that follows heads attested by a quorum of
//! supernodes (or an op-node-shaped follow source), takes unsafe blocks from op-node P2P, and
//! drives its own execution client.
//!
//! ```text
//! config     validated settings (from cli::run flags)
//! sources    supernode push/poll, attestation gossip, follow source
//! intake     quorum tracker of the followed chain, evidence
//! heads      accepted safe/finalized and the rules that move them
//! store      SQLite persistence (heads, evidence)
//! unsafe_blocks  gossip queue, gap fetching (P2P, then source)
//! engine     execution-client trait, pure driver decisions, runner
//! rpc        optimism_syncStatus, follower_status, /metrics, /healthz
//! node       wiring and shutdown
//! test_support  fakes for tests of followers (feature `test-support`)
//! ```

pub mod cli;
pub mod config;
pub mod engine;
pub mod heads;
pub mod intake;
pub mod metrics;
pub mod node;
pub mod rpc;
pub mod sources;
pub mod store;
#[cfg(feature = "test-support")]
pub mod test_support;
pub mod unsafe_blocks;
