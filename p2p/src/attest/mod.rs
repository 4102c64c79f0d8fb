//! The fleet's private attestation gossip: signed attestations over gossipsub on a libp2p
//! private network, so fleet traffic never reaches the public mesh.
//!
//! ```text
//!   swarm_key  go-libp2p swarm.key: the pre-shared key every fleet member holds
//!   topic ──── /opfleet/<chainId>/attest/1
//!   validate ─ decode + strict verify: Accept / Ignore / Reject (pure)
//!   scoring ── op-node's penalties on the attestation topics
//!   config ─── AttestGossipConfig
//!   behaviour  gossipsub + identify + ping, and the pnet transport
//!   node ───── AttestGossipNode: the swarm's event loop and its handle
//! ```

pub mod behaviour;
pub mod config;
pub mod node;
pub mod scoring;
pub mod swarm_key;
pub mod topic;
pub mod validate;

pub use config::AttestGossipConfig;
pub use node::{AttestGossipNode, AttestNodeError, AttestPublishError};
pub use swarm_key::{SwarmKey, SwarmKeyError, SwarmKeyFormatError};
pub use topic::AttestTopic;
pub use validate::{IgnoreReason, RejectReason, Verdict};
