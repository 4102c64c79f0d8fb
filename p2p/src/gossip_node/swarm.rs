//! The swarm side both event loops share: the joined topics, the listen addresses, score bans,
//! static-peer redials and the connection events that feed them.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

use libp2p::futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, TopicHash};
use libp2p::swarm::{NetworkBehaviour, Swarm, SwarmEvent};
use libp2p::{Multiaddr, PeerId};
use tokio::time::{Interval, MissedTickBehavior};

use crate::blocks::config::StaticPeer;
use crate::gossip_node::command::CommonCommand;
use crate::peers::{BanList, dial_static_peers};

/// How long [`GossipSwarm::listen`] waits for the listener to report its address.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// How often peer scores are compared with the ban threshold.
const SCORE_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Shortest static-peer redial interval, whatever the configuration says.
const MIN_REDIAL_INTERVAL: Duration = Duration::from_millis(100);

/// A composed behaviour that contains gossipsub.
pub(crate) trait HasGossipsub: NetworkBehaviour {
    /// Its gossipsub behaviour.
    fn gossipsub(&self) -> &gossipsub::Behaviour;
    /// Its gossipsub behaviour, mutably.
    fn gossipsub_mut(&mut self) -> &mut gossipsub::Behaviour;
}

/// A gossipsub swarm with the topics it joined (named by `K`), its listen addresses and its
/// bans.
pub(crate) struct GossipSwarm<B: NetworkBehaviour, K> {
    /// The swarm, for what only one node does with it.
    pub(crate) swarm: Swarm<B>,
    topics: HashMap<K, TopicHash>,
    listen_addrs: Vec<Multiaddr>,
    bans: BanList,
    /// Which node this is, in logs ("block", "attestation").
    label: &'static str,
}

impl<B: HasGossipsub, K: Eq + Hash> GossipSwarm<B, K> {
    /// Wraps `swarm`, which has joined no topic and listens nowhere yet.
    pub(crate) fn new(swarm: Swarm<B>, bans: BanList, label: &'static str) -> Self {
        Self {
            swarm,
            topics: HashMap::new(),
            listen_addrs: Vec::new(),
            bans,
            label,
        }
    }

    /// Joins the gossipsub topic `topic`, known from now on by `key`; `Err` holds gossipsub's
    /// reason.
    pub(crate) fn subscribe(&mut self, key: K, topic: &str) -> Result<(), String> {
        let ident = IdentTopic::new(topic);
        self.swarm
            .behaviour_mut()
            .gossipsub_mut()
            .subscribe(&ident)
            .map_err(|e| e.to_string())?;
        self.topics.insert(key, ident.hash());
        Ok(())
    }

    /// Listens on `addr` and waits for the listener's first address; `Err` says why not.
    pub(crate) async fn listen(&mut self, addr: Multiaddr) -> Result<Multiaddr, String> {
        self.swarm.listen_on(addr).map_err(|e| e.to_string())?;
        let swarm = &mut self.swarm;
        let first = tokio::time::timeout(LISTEN_TIMEOUT, async {
            loop {
                match swarm.select_next_some().await {
                    SwarmEvent::NewListenAddr { address, .. } => return Ok(address),
                    SwarmEvent::ListenerError { error, .. } => return Err(error.to_string()),
                    SwarmEvent::ListenerClosed { reason, .. } => {
                        return Err(format!("listener closed: {reason:?}"));
                    }
                    _ => {}
                }
            }
        })
        .await
        .map_err(|_| format!("no listen address within {LISTEN_TIMEOUT:?}"))??;
        self.listen_addrs.push(first.clone());
        Ok(first)
    }

    /// The hash of the topic joined as `key`.
    pub(crate) fn topic_hash(&self, key: &K) -> Option<TopicHash> {
        self.topics.get(key).cloned()
    }

    /// The peers in this node's mesh for the topic joined as `key`.
    pub(crate) fn mesh_peers(&self, key: &K) -> Vec<PeerId> {
        match self.topics.get(key) {
            Some(hash) => self.gossipsub().mesh_peers(hash).copied().collect(),
            None => Vec::new(),
        }
    }

    /// Whether `peer` is banned now.
    pub(crate) fn is_banned(&self, peer: &PeerId) -> bool {
        self.bans.is_banned(peer)
    }

    /// The node's gossipsub behaviour.
    pub(crate) fn gossipsub(&self) -> &gossipsub::Behaviour {
        self.swarm.behaviour().gossipsub()
    }

    /// The node's gossipsub behaviour, mutably.
    pub(crate) fn gossipsub_mut(&mut self) -> &mut gossipsub::Behaviour {
        self.swarm.behaviour_mut().gossipsub_mut()
    }

    /// Tells gossipsub what validation made of message `id` from `from`, so it forwards,
    /// drops or penalises.
    pub(crate) fn report(
        &mut self,
        id: &gossipsub::MessageId,
        from: &PeerId,
        acceptance: MessageAcceptance,
    ) {
        self.gossipsub_mut()
            .report_message_validation_result(id, from, acceptance);
    }

    /// Answers a common command (`Stop` is the event loop's to act on).
    pub(crate) fn answer(&mut self, command: CommonCommand<K>) {
        match command {
            CommonCommand::Peers(reply) => {
                let _ = reply.send(self.swarm.connected_peers().copied().collect());
            }
            CommonCommand::TopicPeers(key, reply) => {
                let _ = reply.send(self.topic_peers(&key));
            }
            CommonCommand::PeerScore(peer, reply) => {
                let _ = reply.send(self.gossipsub().peer_score(&peer));
            }
            CommonCommand::Banned(reply) => {
                let _ = reply.send(self.bans.banned());
            }
            CommonCommand::ListenAddrs(reply) => {
                let _ = reply.send(self.listen_addrs.clone());
            }
            CommonCommand::Stop => {}
        }
    }

    fn topic_peers(&self, key: &K) -> Vec<PeerId> {
        match self.topics.get(key) {
            Some(hash) => self
                .gossipsub()
                .all_peers()
                .filter(|(_, topics)| topics.contains(&hash))
                .map(|(peer, _)| *peer)
                .collect(),
            None => Vec::new(),
        }
    }

    /// Does what a peer-bookkeeping tick calls for; `static_peers` are the ones to redial.
    pub(crate) fn on_tick(&mut self, tick: PeerTick, static_peers: &[StaticPeer]) {
        match tick {
            PeerTick::CheckScores => self.bans.enforce(&mut self.swarm, B::gossipsub_mut),
            PeerTick::Redial => dial_static_peers(&mut self.swarm, static_peers, &self.bans),
        }
    }

    /// Keeps the listen addresses current, drops connections from banned peers and logs
    /// connections; the node handles its behaviours' events before handing the rest here.
    pub(crate) fn on_swarm_event<E>(&mut self, event: SwarmEvent<E>) {
        let node = self.label;
        match event {
            SwarmEvent::NewListenAddr { address, .. } if !self.listen_addrs.contains(&address) => {
                self.listen_addrs.push(address);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listen_addrs.retain(|a| a != &address);
            }
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                if self.bans.is_banned(&peer_id) {
                    tracing::debug!(node, peer = %peer_id, "dropping connection from banned peer");
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                } else {
                    tracing::debug!(node, peer = %peer_id, "peer connected");
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                tracing::debug!(node, peer = %peer_id, "peer disconnected");
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(node, peer = ?peer_id, %error, "dial failed");
            }
            _ => {}
        }
    }
}

/// Which peer-bookkeeping job is due.
pub(crate) enum PeerTick {
    /// Ban peers whose score fell below the threshold, lift expired bans.
    CheckScores,
    /// Dial the static peers that are not connected.
    Redial,
}

/// The clocks of peer bookkeeping: score checks every second, redials every redial interval.
pub(crate) struct PeerTicks {
    score_check: Interval,
    redial: Interval,
}

impl PeerTicks {
    /// Clocks that redial static peers every `redial_interval` (at least 100 ms).
    pub(crate) fn new(redial_interval: Duration) -> Self {
        let mut score_check = tokio::time::interval(SCORE_CHECK_INTERVAL);
        score_check.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut redial = tokio::time::interval(redial_interval.max(MIN_REDIAL_INTERVAL));
        redial.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self {
            score_check,
            redial,
        }
    }

    /// Waits for the next due job. Cancel-safe: a tick not taken stays due.
    pub(crate) async fn next(&mut self) -> PeerTick {
        tokio::select! {
            _ = self.score_check.tick() => PeerTick::CheckScores,
            _ = self.redial.tick() => PeerTick::Redial,
        }
    }
}
