//! The libp2p behaviours of a block gossip node, composed into one.
//!
//! ```text
//!   GossipBehaviour ─┬─ gossipsub      /optimism/<chain>/{0..3}/blocks, op-node params, scoring
//!                    ├─ payload_by_number  request-response, PayloadByNumberCodec
//!                    ├─ identify       listen addresses and protocols, for peers
//!                    └─ ping           keeps idle connections measured and alive
//! ```

use std::time::Duration;

use libp2p::gossipsub::{self, MessageAuthenticity, ValidationMode};
use libp2p::identity::Keypair;
use libp2p::request_response;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{identify, ping};
use opfleet_protocol::p2p::{GossipTopic, OP_NODE_GOSSIPSUB, message_id};

use crate::blocks::config::P2pConfig;
use crate::blocks::req_resp::{PayloadByNumberCodec, protocols};
use crate::blocks::scoring::{peer_score_params, peer_score_thresholds};
use crate::gossip_node::HasGossipsub;

/// identify's protocol version string for opfleet nodes.
pub const IDENTIFY_PROTOCOL: &str = "/opfleet/p2p/1.0.0";

/// The behaviours of a block gossip node.
#[derive(NetworkBehaviour)]
pub struct GossipBehaviour {
    /// Unsafe block gossip.
    pub gossipsub: gossipsub::Behaviour,
    /// `payload_by_number` requests, served and sent.
    pub payload_by_number: request_response::Behaviour<PayloadByNumberCodec>,
    /// Peer identification.
    pub identify: identify::Behaviour,
    /// Liveness pings.
    pub ping: ping::Behaviour,
}

/// A behaviour that cannot be built from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum BehaviourError {
    /// gossipsub rejected its configuration or scoring parameters.
    #[error("gossipsub: {0}")]
    Gossipsub(String),
    /// A protocol id that libp2p does not accept.
    #[error("payload_by_number protocol id: {0}")]
    Protocol(String),
}

/// gossipsub as op-node runs it: unsigned messages (`StrictNoSign`), content-addressed ids,
/// application validation before forwarding, and op-node's mesh and scoring parameters.
fn gossipsub(config: &P2pConfig) -> Result<gossipsub::Behaviour, BehaviourError> {
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
        .max_transmit_size(p.max_transmit_size)
        .connection_handler_queue_len(p.peer_outbound_queue)
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| {
            gossipsub::MessageId::from(message_id(m.topic.as_str(), &m.data).to_vec())
        })
        .build()
        .map_err(|e| BehaviourError::Gossipsub(e.to_string()))?;
    let mut behaviour = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gossip_config)
        .map_err(|e| BehaviourError::Gossipsub(e.to_string()))?;
    let topics = GossipTopic::all_for(config.chain_id)
        .map(|t| gossipsub::IdentTopic::new(t.to_string()).hash());
    behaviour
        .with_peer_score(
            peer_score_params(
                config.block_time,
                topics,
                config.ip_colocation_whitelist.clone(),
            ),
            peer_score_thresholds(),
        )
        .map_err(BehaviourError::Gossipsub)?;
    Ok(behaviour)
}

impl GossipBehaviour {
    /// Builds the behaviours for `config`, identified by `key`.
    pub fn new(key: &Keypair, config: &P2pConfig) -> Result<Self, BehaviourError> {
        let payload_by_number = request_response::Behaviour::with_codec(
            PayloadByNumberCodec,
            protocols(config.chain_id).map_err(BehaviourError::Protocol)?,
            request_response::Config::default().with_request_timeout(config.request_timeout),
        );
        Ok(Self {
            gossipsub: gossipsub(config)?,
            payload_by_number,
            identify: identify::Behaviour::new(identify::Config::new(
                IDENTIFY_PROTOCOL.to_owned(),
                key.public(),
            )),
            ping: ping::Behaviour::new(ping::Config::new().with_interval(Duration::from_secs(15))),
        })
    }
}

impl HasGossipsub for GossipBehaviour {
    fn gossipsub(&self) -> &gossipsub::Behaviour {
        &self.gossipsub
    }

    fn gossipsub_mut(&mut self) -> &mut gossipsub::Behaviour {
        &mut self.gossipsub
    }
}
