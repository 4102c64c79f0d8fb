//! opfleet P2P: the libp2p side of the fleet, shared by the follower (subscribes), the supernode
//! (publishes attestations) and the devnet's sequencers (publish blocks).
//!
//! ```text
//!   blocks ── op-node compatible unsafe-block gossip + payload_by_number req/resp
//!   attest ── the fleet's private attestation gossip (pre-shared-key network)
//!   discovery  discv5 with op-node's `opstack` ENR entry, for block gossip
//!   peers ─── score bans and static-peer redials, shared by both
//! ```

pub mod attest;
pub mod blocks;
pub mod discovery;
pub mod peers;

pub use blocks::{
    BannedPeer, BlockGossipNode, GossipBlock, NoPayloads, NodeError, P2pConfig, PayloadStore,
    PublishError, RequestError, ServeLimits, StaticPeer, generate_identity, identity_from_hex,
};
