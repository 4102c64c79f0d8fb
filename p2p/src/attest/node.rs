//! The attestation gossip node: a libp2p swarm on the fleet's private network, owned by one
//! tokio task and driven through a handle.
//!
//! ```text
//!   AttestGossipNode ──Command──► event loop ──► Swarm<AttestBehaviour> (pnet transport)
//!     subscribe(): broadcast ◄── SignedAttestation ◄── Accept ◄─ validate ◄── gossipsub message
//!                                                     Ignore / Reject (sender scored down)
//!   every second: ban peers below the ban threshold; every redial interval: dial static peers
//! ```

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use libp2p::futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, TopicHash};
use libp2p::swarm::{Swarm, SwarmEvent};
use libp2p::{Multiaddr, PeerId};
use opfleet_attest::{SignedAttestation, VerifyError};
use opfleet_protocol::ChainId;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::attest::behaviour::{
    AttestBehaviour, AttestBehaviourEvent, BuildError, private_transport,
};
use crate::attest::config::AttestGossipConfig;
use crate::attest::topic::AttestTopic;
use crate::attest::validate::{Verdict, validate};
use crate::peers::{BanList, BannedPeer, dial_static_peers};

/// How long [`AttestGossipNode::spawn`] waits for the listener to report its address.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// How often peer scores are compared with the ban threshold.
const SCORE_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The node cannot start or has stopped.
#[derive(Debug, thiserror::Error)]
pub enum AttestNodeError {
    /// The behaviours or the transport could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// Listening on the configured address failed.
    #[error("listen on {addr}: {reason}")]
    Listen {
        /// The configured address.
        addr: Multiaddr,
        /// Why it failed.
        reason: String,
    },
    /// gossipsub refused a subscription.
    #[error("subscribe to {topic}: {reason}")]
    Subscribe {
        /// The topic.
        topic: AttestTopic,
        /// Why.
        reason: String,
    },
    /// The event loop is gone (stopped or crashed).
    #[error("the attestation gossip node has stopped")]
    Stopped,
}

/// An attestation that was not published.
#[derive(Debug, thiserror::Error)]
pub enum AttestPublishError {
    /// The node does not follow the attestation's chain (its topic is not joined).
    #[error("chain {0} is not configured on this attestation gossip node")]
    ChainNotFollowed(ChainId),
    /// The attestation does not verify: peers would reject it and penalise this node.
    #[error("refusing to publish an attestation that does not verify: {0}")]
    Invalid(#[from] VerifyError),
    /// No peer is subscribed to the topic yet; nothing was sent.
    #[error("publish on {0}: no peer subscribed to the topic")]
    NoPeers(AttestTopic),
    /// gossipsub refused it (the same bytes were seen recently, queues full...).
    #[error("publish on {topic}: {reason}")]
    Gossipsub {
        /// The topic.
        topic: AttestTopic,
        /// gossipsub's reason.
        reason: String,
    },
    /// The event loop is gone.
    #[error(transparent)]
    Node(#[from] AttestNodeError),
}

type Reply<T> = oneshot::Sender<T>;

enum Command {
    Publish {
        topic: AttestTopic,
        data: Vec<u8>,
        reply: Reply<Result<(), AttestPublishError>>,
    },
    Peers(Reply<Vec<PeerId>>),
    TopicPeers(ChainId, Reply<Vec<PeerId>>),
    PeerScore(PeerId, Reply<Option<f64>>),
    Banned(Reply<Vec<BannedPeer>>),
    ListenAddrs(Reply<Vec<Multiaddr>>),
    Stop,
}

/// Handle to a running attestation gossip node. Dropping it stops the node.
pub struct AttestGossipNode {
    commands: mpsc::Sender<Command>,
    attestations: broadcast::Sender<SignedAttestation>,
    local_peer_id: PeerId,
    chains: HashSet<ChainId>,
    task: JoinHandle<()>,
}

impl AttestGossipNode {
    /// Starts a node: listens, joins the attestation topic of every configured chain, dials
    /// the static peers. Returns once the listener is up, so [`Self::listen_addrs`] is known.
    pub async fn spawn(config: AttestGossipConfig) -> Result<Self, AttestNodeError> {
        let local_peer_id = config.identity.public().to_peer_id();
        let behaviour = AttestBehaviour::new(&config)?;
        let transport = private_transport(&config.identity, config.swarm_key.psk())?;
        let mut swarm = Swarm::new(
            transport,
            behaviour,
            local_peer_id,
            libp2p::swarm::Config::with_tokio_executor()
                .with_idle_connection_timeout(Duration::from_secs(60)),
        );

        let chains: HashSet<ChainId> = config.chains.iter().copied().collect();
        let mut topics = HashMap::new();
        for chain in &chains {
            let topic = AttestTopic::new(*chain);
            let ident = IdentTopic::new(topic.to_string());
            swarm
                .behaviour_mut()
                .gossipsub
                .subscribe(&ident)
                .map_err(|e| AttestNodeError::Subscribe {
                    topic,
                    reason: e.to_string(),
                })?;
            topics.insert(*chain, ident.hash());
        }

        let listen = |reason: String| AttestNodeError::Listen {
            addr: config.listen_addr.clone(),
            reason,
        };
        swarm
            .listen_on(config.listen_addr.clone())
            .map_err(|e| listen(e.to_string()))?;
        let first_addr = tokio::time::timeout(LISTEN_TIMEOUT, async {
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
        .map_err(|_| listen(format!("no listen address within {LISTEN_TIMEOUT:?}")))?
        .map_err(listen)?;
        tracing::info!(
            peer_id = %local_peer_id,
            addr = %first_addr,
            swarm_key = %config.swarm_key.fingerprint(),
            "attestation gossip node listening"
        );

        let (commands, command_rx) = mpsc::channel(64);
        let (attestations, _) = broadcast::channel(config.channel_capacity.max(1));
        let event_loop = EventLoop {
            listen_addrs: vec![first_addr],
            swarm,
            topics,
            chains: chains.clone(),
            attestations: attestations.clone(),
            bans: BanList::new(config.ban_threshold, config.ban_duration),
            config,
        };
        let task = tokio::spawn(event_loop.run(command_rx));
        Ok(Self {
            commands,
            attestations,
            local_peer_id,
            chains,
            task,
        })
    }

    /// This node's peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// A receiver of every attestation accepted from gossip from now on: decoded and strictly
    /// verified, signer not judged (trust is the caller's policy). A receiver that falls more
    /// than the channel capacity behind gets `Lagged` and misses the oldest.
    pub fn subscribe(&self) -> broadcast::Receiver<SignedAttestation> {
        self.attestations.subscribe()
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, AttestNodeError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| AttestNodeError::Stopped)?;
        answer.await.map_err(|_| AttestNodeError::Stopped)
    }

    /// Verifies `attestation` and publishes its wire form on its chain's topic.
    ///
    /// Not delivered to this node's own [`Self::subscribe`]rs. Fails with
    /// [`AttestPublishError::NoPeers`] while no peer has joined the topic.
    pub async fn publish(&self, attestation: &SignedAttestation) -> Result<(), AttestPublishError> {
        let chain = attestation.attestation.chain_id;
        if !self.chains.contains(&chain) {
            return Err(AttestPublishError::ChainNotFollowed(chain));
        }
        attestation.verify()?;
        self.publish_raw(chain, attestation.to_wire().to_vec())
            .await
    }

    /// Publishes `data` unchecked on the attestation topic of `chain` (tools and tests: peers
    /// reject and penalise anything that is not a valid attestation of that chain).
    pub async fn publish_raw(
        &self,
        chain: ChainId,
        data: Vec<u8>,
    ) -> Result<(), AttestPublishError> {
        self.ask(|reply| Command::Publish {
            topic: AttestTopic::new(chain),
            data,
            reply,
        })
        .await?
    }

    /// The peers connected now.
    pub async fn peers(&self) -> Result<Vec<PeerId>, AttestNodeError> {
        self.ask(Command::Peers).await
    }

    /// The peers known to have joined the attestation topic of `chain`.
    pub async fn topic_peers(&self, chain: ChainId) -> Result<Vec<PeerId>, AttestNodeError> {
        self.ask(|reply| Command::TopicPeers(chain, reply)).await
    }

    /// gossipsub's current score of `peer` (kept for a while after it disconnects).
    pub async fn peer_score(&self, peer: PeerId) -> Result<Option<f64>, AttestNodeError> {
        self.ask(|reply| Command::PeerScore(peer, reply)).await
    }

    /// The peers banned now, with the score that got them banned.
    pub async fn banned_peers(&self) -> Result<Vec<BannedPeer>, AttestNodeError> {
        self.ask(Command::Banned).await
    }

    /// The addresses the node listens on.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, AttestNodeError> {
        self.ask(Command::ListenAddrs).await
    }

    /// Stops the node and waits for its event loop to end.
    pub async fn shutdown(mut self) {
        let _ = self.commands.send(Command::Stop).await;
        let _ = (&mut self.task).await;
    }
}

impl Drop for AttestGossipNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct EventLoop {
    config: AttestGossipConfig,
    listen_addrs: Vec<Multiaddr>,
    swarm: Swarm<AttestBehaviour>,
    topics: HashMap<ChainId, TopicHash>,
    chains: HashSet<ChainId>,
    attestations: broadcast::Sender<SignedAttestation>,
    bans: BanList,
}

impl EventLoop {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut score_check = tokio::time::interval(SCORE_CHECK_INTERVAL);
        score_check.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut redial =
            tokio::time::interval(self.config.redial_interval.max(Duration::from_millis(100)));
        redial.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Stop) | None => break,
                    Some(command) => self.on_command(command),
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                _ = score_check.tick() => {
                    self.bans.enforce(&mut self.swarm, |b| &mut b.gossipsub);
                }
                _ = redial.tick() => {
                    dial_static_peers(&mut self.swarm, &self.config.static_peers, &self.bans);
                }
            }
        }
        tracing::info!("attestation gossip node stopped");
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { topic, data, reply } => {
                let _ = reply.send(self.publish(topic, data));
            }
            Command::Peers(reply) => {
                let _ = reply.send(self.swarm.connected_peers().copied().collect());
            }
            Command::TopicPeers(chain, reply) => {
                let peers = match self.topics.get(&chain) {
                    Some(hash) => self
                        .swarm
                        .behaviour()
                        .gossipsub
                        .all_peers()
                        .filter(|(_, topics)| topics.contains(&hash))
                        .map(|(peer, _)| *peer)
                        .collect(),
                    None => Vec::new(),
                };
                let _ = reply.send(peers);
            }
            Command::PeerScore(peer, reply) => {
                let _ = reply.send(self.swarm.behaviour().gossipsub.peer_score(&peer));
            }
            Command::Banned(reply) => {
                let _ = reply.send(self.bans.banned());
            }
            Command::ListenAddrs(reply) => {
                let _ = reply.send(self.listen_addrs.clone());
            }
            Command::Stop => {}
        }
    }

    fn publish(&mut self, topic: AttestTopic, data: Vec<u8>) -> Result<(), AttestPublishError> {
        let hash = self
            .topics
            .get(&topic.chain_id)
            .cloned()
            .ok_or(AttestPublishError::ChainNotFollowed(topic.chain_id))?;
        match self.swarm.behaviour_mut().gossipsub.publish(hash, data) {
            Ok(_) => Ok(()),
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {
                Err(AttestPublishError::NoPeers(topic))
            }
            Err(e) => Err(AttestPublishError::Gossipsub {
                topic,
                reason: e.to_string(),
            }),
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<AttestBehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(AttestBehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_gossip(propagation_source, message_id, message),
            SwarmEvent::NewListenAddr { address, .. } if !self.listen_addrs.contains(&address) => {
                self.listen_addrs.push(address);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listen_addrs.retain(|a| a != &address);
            }
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                if self.bans.is_banned(&peer_id) {
                    tracing::debug!(peer = %peer_id, "dropping connection from banned peer");
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                } else {
                    tracing::debug!(peer = %peer_id, "attestation peer connected");
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                tracing::debug!(peer = %peer_id, "attestation peer disconnected");
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, %error, "attestation dial failed");
            }
            SwarmEvent::IncomingConnectionError { error, .. } => {
                // A wrong pre-shared key shows up here: the handshake decrypts to garbage.
                tracing::debug!(%error, "attestation inbound connection failed");
            }
            _ => {}
        }
    }

    /// Validates a gossip message, delivers it if valid, and reports the verdict to gossipsub.
    fn on_gossip(&mut self, from: PeerId, id: gossipsub::MessageId, message: gossipsub::Message) {
        let acceptance = match validate(message.topic.as_str(), &message.data, &self.chains) {
            Verdict::Accept(attestation) => {
                // No receiver is not an error: the node still relays for the mesh.
                let _ = self.attestations.send(*attestation);
                MessageAcceptance::Accept
            }
            Verdict::Reject(reason) => {
                tracing::warn!(peer = %from, topic = %message.topic, %reason, "rejecting attestation");
                MessageAcceptance::Reject
            }
            Verdict::Ignore(reason) => {
                tracing::debug!(peer = %from, topic = %message.topic, %reason, "ignoring attestation");
                MessageAcceptance::Ignore
            }
        };
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&id, &from, acceptance);
    }
}
