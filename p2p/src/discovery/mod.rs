//! Peer discovery for block gossip: op-node's discv5 with the `opstack` ENR entry.
//!
//! ```text
//!   opstack ── the ENR entry naming a node's chain (pure encoding)
//!   db      ── the discovery DB: learnt records kept across restarts (bounded text file)
//!   service ── discv5, bootnodes, the DHT walk, records to dialable peers
//! ```

pub mod db;
pub mod opstack;
pub mod service;

pub use db::{
    DEFAULT_DISCOVERY_DB, DiscoveryDb, KnownNodes, MAX_STORED_RECORDS, MEMORY_DISCOVERY_DB,
};
pub use opstack::{OPSTACK_ENR_KEY, OpStackEnr, OpStackEnrError};
pub use service::{
    DEFAULT_PERSIST_INTERVAL, DiscoveredPeer, Discovery, DiscoveryConfig, DiscoveryError,
    enr_matches_chain, enr_to_peer, opstack_entry, parse_bootnode,
};

/// A discv5 node record (secp256k1 or ed25519 signed).
pub use discv5::Enr;
