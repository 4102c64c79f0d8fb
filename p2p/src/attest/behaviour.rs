//! The libp2p behaviours of an attestation gossip node, and its private transport.
//!
//! ```text
//!   transport: TCP ─► pnet (XSalsa20, pre-shared key) ─► multistream ─► noise ─► yamux
//!   AttestBehaviour ─┬─ gossipsub  /opfleet/<chain>/attest/1, sha256 ids, validated, scored
//!                    ├─ identify
//!                    └─ ping
//! ```

use std::time::Duration;

use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::Boxed;
use libp2p::core::upgrade;
use libp2p::gossipsub::{self, MessageAuthenticity, ValidationMode};
use libp2p::identity::Keypair;
use libp2p::pnet::PnetConfig;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{PeerId, Transport, identify, noise, ping, tcp, yamux};
use opfleet_attest::signed::WIRE_LEN;
use opfleet_protocol::p2p::OP_NODE_GOSSIPSUB;
use sha2::{Digest, Sha256};

use crate::attest::config::AttestGossipConfig;
use crate::attest::scoring::attest_peer_score_params;
use crate::attest::topic::AttestTopic;
use crate::blocks::scoring::peer_score_thresholds;
use crate::gossip_node::HasGossipsub;

/// identify's protocol version string for attestation nodes.
pub const ATTEST_IDENTIFY_PROTOCOL: &str = "/opfleet/attest/1.0.0";

/// Largest gossipsub frame accepted: room for a batch of attestations plus control messages.
pub const ATTEST_MAX_TRANSMIT_SIZE: usize = 64 * WIRE_LEN + 16 * 1024;

/// How long a connection may take to finish all its handshakes.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

/// The behaviours of an attestation gossip node.
#[derive(NetworkBehaviour)]
pub struct AttestBehaviour {
    /// Attestation gossip.
    pub gossipsub: gossipsub::Behaviour,
    /// Peer identification.
    pub identify: identify::Behaviour,
    /// Liveness pings.
    pub ping: ping::Behaviour,
}

/// A behaviour or transport that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// gossipsub rejected its configuration or scoring parameters.
    #[error("gossipsub: {0}")]
    Gossipsub(String),
    /// The noise handshake cannot be set up with this identity.
    #[error("noise: {0}")]
    Noise(String),
}

/// The message id: sha256 of the message bytes. The bytes carry the chain id, so equal bytes
/// are the same attestation wherever they travel; duplicates relayed by several peers collapse.
pub fn message_id(data: &[u8]) -> gossipsub::MessageId {
    gossipsub::MessageId::from(Sha256::digest(data).to_vec())
}

/// gossipsub with unsigned messages (the attestations carry their own Ed25519 signatures),
/// content-addressed ids, validation before forwarding, and op-node's mesh parameters.
fn gossipsub(config: &AttestGossipConfig) -> Result<gossipsub::Behaviour, BuildError> {
    let p = OP_NODE_GOSSIPSUB;
    let gossip_config = gossipsub::ConfigBuilder::default()
        .mesh_n(p.mesh_n)
        .mesh_n_low(p.mesh_n_low)
        .mesh_n_high(p.mesh_n_high)
        .gossip_lazy(p.gossip_lazy)
        .heartbeat_interval(p.heartbeat_interval)
        .fanout_ttl(p.fanout_ttl)
        .history_length(p.history_length)
        .history_gossip(p.history_gossip)
        .duplicate_cache_time(p.seen_ttl)
        .max_transmit_size(ATTEST_MAX_TRANSMIT_SIZE)
        .connection_handler_queue_len(p.peer_outbound_queue)
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| message_id(&m.data))
        .build()
        .map_err(|e| BuildError::Gossipsub(e.to_string()))?;
    let mut behaviour = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gossip_config)
        .map_err(|e| BuildError::Gossipsub(e.to_string()))?;
    let topics = config
        .chains
        .iter()
        .map(|c| gossipsub::IdentTopic::new(AttestTopic::new(*c).to_string()).hash());
    behaviour
        .with_peer_score(
            attest_peer_score_params(topics, config.ip_colocation_whitelist.clone()),
            peer_score_thresholds(),
        )
        .map_err(BuildError::Gossipsub)?;
    Ok(behaviour)
}

impl AttestBehaviour {
    /// Builds the behaviours for `config`.
    pub fn new(config: &AttestGossipConfig) -> Result<Self, BuildError> {
        Ok(Self {
            gossipsub: gossipsub(config)?,
            identify: identify::Behaviour::new(identify::Config::new(
                ATTEST_IDENTIFY_PROTOCOL.to_owned(),
                config.identity.public(),
            )),
            ping: ping::Behaviour::new(ping::Config::new().with_interval(Duration::from_secs(15))),
        })
    }
}

/// TCP wrapped in the pre-shared-key cipher before anything else is said: without the key, a
/// peer's multistream-select bytes decrypt to noise and the connection fails.
pub fn private_transport(
    identity: &Keypair,
    psk: libp2p::pnet::PreSharedKey,
) -> Result<Boxed<(PeerId, StreamMuxerBox)>, BuildError> {
    let noise = noise::Config::new(identity).map_err(|e| BuildError::Noise(e.to_string()))?;
    Ok(
        tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
            .and_then(move |socket, _| PnetConfig::new(psk).handshake(socket))
            .upgrade(upgrade::Version::V1Lazy)
            .authenticate(noise)
            .multiplex(yamux::Config::default())
            .timeout(HANDSHAKE_TIMEOUT)
            .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)))
            .boxed(),
    )
}

impl HasGossipsub for AttestBehaviour {
    fn gossipsub(&self) -> &gossipsub::Behaviour {
        &self.gossipsub
    }

    fn gossipsub_mut(&mut self) -> &mut gossipsub::Behaviour {
        &mut self.gossipsub
    }
}
