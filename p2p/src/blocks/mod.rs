//! op-node compatible unsafe-block gossip over libp2p: the network side of the pure rules in
//! `opfleet_protocol::p2p`.
//!
//! ```text
//!   config ── identity, chain, static peers, ban limits
//!   scoring ─ op-node's gossipsub peer/topic score parameters
//!   req_resp  payload_by_number codec and serving (PayloadStore)
//!   rate_limit  op-node's serving limits: per-peer and global token buckets
//!   behaviour gossipsub + request-response + identify + ping
//!   node ──── BlockGossipNode: the swarm's event loop and its handle
//! ```
//!
//! Peers come from static multiaddrs and, when configured, discv5 discovery
//! ([`crate::discovery`]).

pub mod behaviour;
pub mod config;
pub mod node;
pub mod rate_limit;
pub mod req_resp;
pub mod scoring;

pub use config::{P2pConfig, StaticPeer, generate_identity, identity_from_hex};
pub use node::{BannedPeer, BlockGossipNode, GossipBlock, NodeError, PublishError, RequestError};
pub use rate_limit::ServeLimits;
pub use req_resp::{NoPayloads, PayloadLookup, PayloadStore};
