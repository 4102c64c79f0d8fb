//! opfleet P2P: the libp2p side of the fleet, shared by the follower (subscribes), the supernode
//! (publishes attestations) and the devnet's sequencers (publish blocks).
//!
//! ```text
//!   blocks ── op-node compatible unsafe-block gossip + payload_by_number req/resp
//!   attest ── the fleet's private attestation gossip (pre-shared-key network)
//!   discovery  discv5 with op-node's `opstack` ENR entry, for block gossip
//!   peers ─── score bans and static-peer redials, shared by both
//!   gossip_node  the handle/event-loop plumbing both nodes share (crate-private)
//!   identity ─ node keys persisted in op-node's `--p2p.priv.path` file format
//! ```

pub mod attest;
pub mod blocks;
pub mod discovery;
mod gossip_node;
pub mod identity;
pub mod peers;

pub use blocks::{
    BannedPeer, BlockGossipNode, GossipBlock, NoPayloads, NodeError, P2pConfig, PayloadStore,
    PublishError, RequestError, ServeLimits, StaticPeer, generate_identity, identity_from_hex,
};
pub use identity::{
    DEFAULT_ATTEST_GOSSIP_KEY_FILE, DEFAULT_BLOCK_GOSSIP_KEY_FILE, IdentityFileError,
    load_or_create_identity, write_identity,
};
