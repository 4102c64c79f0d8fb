//! Attestation gossip configuration: identity, pre-shared key, chains, peers, ban limits.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use libp2p::Multiaddr;
use libp2p::identity::Keypair;
use opfleet_protocol::ChainId;

use crate::attest::swarm_key::SwarmKey;
use crate::blocks::config::{DEFAULT_BAN_DURATION, DEFAULT_BAN_THRESHOLD, StaticPeer};

/// Everything an [`crate::attest::AttestGossipNode`] needs.
#[derive(Debug, Clone)]
pub struct AttestGossipConfig {
    /// The node's libp2p identity (any key type; [`crate::generate_identity`] makes secp256k1).
    pub identity: Keypair,
    /// The fleet's pre-shared key: only nodes holding it can connect.
    pub swarm_key: SwarmKey,
    /// The chains whose attestation topics the node joins.
    pub chains: Vec<ChainId>,
    /// Where to listen, e.g. `/ip4/0.0.0.0/tcp/9223` (port 0 picks a free one).
    pub listen_addr: Multiaddr,
    /// Fleet members dialled at start and redialled on disconnect.
    pub static_peers: Vec<StaticPeer>,
    /// How often disconnected static peers are redialled.
    pub redial_interval: Duration,
    /// Score below which a peer is disconnected and banned.
    pub ban_threshold: f64,
    /// How long a ban lasts.
    pub ban_duration: Duration,
    /// IPs exempt from the IP-colocation penalty (a devnet runs every node on 127.0.0.1).
    pub ip_colocation_whitelist: HashSet<IpAddr>,
    /// Capacity of the verified-attestations broadcast; slower receivers miss the oldest.
    pub channel_capacity: usize,
}

impl AttestGossipConfig {
    /// A configuration with the block gossip's ban defaults and no static peers.
    pub fn new(
        identity: Keypair,
        swarm_key: SwarmKey,
        chains: Vec<ChainId>,
        listen_addr: Multiaddr,
    ) -> Self {
        Self {
            identity,
            swarm_key,
            chains,
            listen_addr,
            static_peers: Vec::new(),
            redial_interval: Duration::from_secs(5),
            ban_threshold: DEFAULT_BAN_THRESHOLD,
            ban_duration: DEFAULT_BAN_DURATION,
            ip_colocation_whitelist: HashSet::new(),
            channel_capacity: 1024,
        }
    }
}
