//! Node configuration: chain, listen address, static peers, identity keys and the limits that
//! decide when a peer is banned.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use alloy::primitives::Address;
use libp2p::identity::{Keypair, secp256k1};
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use opfleet_protocol::ChainId;

use crate::blocks::rate_limit::ServeLimits;
use crate::discovery::DiscoveryConfig;

/// op-node's default `--p2p.ban.threshold`: a peer scoring below this is disconnected and banned.
pub const DEFAULT_BAN_THRESHOLD: f64 = -100.0;

/// op-node's default `--p2p.ban.duration`.
pub const DEFAULT_BAN_DURATION: Duration = Duration::from_secs(60 * 60);

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The identity key is not 32 bytes of hex.
    #[error("p2p identity key: {0}")]
    KeyHex(String),
    /// The 32 bytes are not a valid secp256k1 secret key (zero or above the curve order).
    #[error("p2p identity key: not a valid secp256k1 secret key: {0}")]
    KeyValue(String),
    /// A static peer address without the `/p2p/<peer id>` component that identifies the peer.
    #[error("static peer {0}: the address must end in /p2p/<peer id>")]
    StaticPeerWithoutId(Multiaddr),
}

/// A peer the node keeps a connection to, redialled whenever it drops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticPeer {
    /// The peer's identity, taken from the address's `/p2p/` component.
    pub peer_id: PeerId,
    /// The full address, `/p2p/` component included.
    pub addr: Multiaddr,
}

impl StaticPeer {
    /// Reads a static peer from a multiaddr ending in `/p2p/<peer id>` (op-node's `--p2p.static`).
    pub fn from_multiaddr(addr: Multiaddr) -> Result<Self, ConfigError> {
        match addr.iter().last() {
            Some(Protocol::P2p(peer_id)) => Ok(Self { peer_id, addr }),
            _ => Err(ConfigError::StaticPeerWithoutId(addr)),
        }
    }
}

/// Everything a [`crate::blocks::BlockGossipNode`] needs besides its identity and payload store.
#[derive(Debug, Clone)]
pub struct P2pConfig {
    /// The chain whose block topics the node joins; part of the signed digest and topic names.
    pub chain_id: ChainId,
    /// Where to listen, e.g. `/ip4/0.0.0.0/tcp/9222` (port 0 picks a free one).
    pub listen_addr: Multiaddr,
    /// Peers dialled at start and redialled on disconnect.
    pub static_peers: Vec<StaticPeer>,
    /// The unsafe block signer; the zero address makes every block IGNOREd.
    pub unsafe_block_signer: Address,
    /// L2 block time: the slot length gossipsub's score decay is tuned to.
    pub block_time: Duration,
    /// Jovian activation timestamp, if scheduled (changes the blob-gas-used rule).
    pub jovian_time: Option<u64>,
    /// How often disconnected static peers are redialled.
    pub redial_interval: Duration,
    /// How long a `payload_by_number` request may take before it fails.
    pub request_timeout: Duration,
    /// Score below which a peer is disconnected and banned.
    pub ban_threshold: f64,
    /// How long a ban lasts.
    pub ban_duration: Duration,
    /// IPs exempt from the IP-colocation penalty (a devnet runs every node on 127.0.0.1).
    pub ip_colocation_whitelist: HashSet<IpAddr>,
    /// Capacity of the accepted-blocks broadcast; slower receivers miss the oldest blocks.
    pub block_channel_capacity: usize,
    /// discv5 peer discovery; `None` (the default) runs on static peers alone.
    pub discovery: Option<DiscoveryConfig>,
    /// Rate limits on serving `payload_by_number` (op-node's by default). Throttle waits are
    /// capped one second below `request_timeout`, after which the stream would time out anyway.
    pub serve_limits: ServeLimits,
}

impl P2pConfig {
    /// A configuration with op-node's defaults for `chain_id`, no static peers.
    pub fn new(chain_id: ChainId, listen_addr: Multiaddr, unsafe_block_signer: Address) -> Self {
        Self {
            chain_id,
            listen_addr,
            static_peers: Vec::new(),
            unsafe_block_signer,
            block_time: Duration::from_secs(2),
            jovian_time: None,
            redial_interval: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            ban_threshold: DEFAULT_BAN_THRESHOLD,
            ban_duration: DEFAULT_BAN_DURATION,
            ip_colocation_whitelist: HashSet::new(),
            block_channel_capacity: 256,
            discovery: None,
            serve_limits: ServeLimits::default(),
        }
    }
}

/// A fresh secp256k1 node identity (op-node peers use secp256k1 keys).
pub fn generate_identity() -> Keypair {
    Keypair::from(secp256k1::Keypair::generate())
}

/// A secp256k1 node identity from its 32-byte secret key in hex (op-node's `--p2p.priv.raw`).
pub fn identity_from_hex(hex_key: &str) -> Result<Keypair, ConfigError> {
    let trimmed = hex_key.trim();
    let trimmed = trimmed.strip_prefix("0x").unwrap_or(trimmed);
    let bytes: [u8; 32] = alloy::hex::decode(trimmed)
        .map_err(|e| ConfigError::KeyHex(e.to_string()))?
        .try_into()
        .map_err(|v: Vec<u8>| ConfigError::KeyHex(format!("{} bytes, expected 32", v.len())))?;
    let secret = secp256k1::SecretKey::try_from_bytes(bytes)
        .map_err(|e| ConfigError::KeyValue(e.to_string()))?;
    Ok(Keypair::from(secp256k1::Keypair::from(secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_identity_is_deterministic_and_checked() {
        let key = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
        let a = identity_from_hex(key).unwrap();
        let b = identity_from_hex(key.trim_start_matches("0x")).unwrap();
        assert_eq!(a.public().to_peer_id(), b.public().to_peer_id());
        assert!(a.clone().try_into_secp256k1().is_ok());
        assert!(matches!(
            identity_from_hex("zz"),
            Err(ConfigError::KeyHex(_))
        ));
        assert!(matches!(
            identity_from_hex("0x0102"),
            Err(ConfigError::KeyHex(_))
        ));
        assert!(matches!(
            identity_from_hex(&"00".repeat(32)),
            Err(ConfigError::KeyValue(_))
        ));
        assert!(matches!(
            identity_from_hex(&"ff".repeat(32)),
            Err(ConfigError::KeyValue(_))
        ));
    }

    #[test]
    fn static_peer_needs_a_peer_id() {
        let id = generate_identity().public().to_peer_id();
        let with: Multiaddr = format!("/ip4/127.0.0.1/tcp/9222/p2p/{id}").parse().unwrap();
        assert_eq!(StaticPeer::from_multiaddr(with).unwrap().peer_id, id);
        let without: Multiaddr = "/ip4/127.0.0.1/tcp/9222".parse().unwrap();
        assert!(matches!(
            StaticPeer::from_multiaddr(without),
            Err(ConfigError::StaticPeerWithoutId(_))
        ));
    }
}
