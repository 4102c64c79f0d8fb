//! The attestation gossip node: a libp2p swarm on the fleet's private network, owned by one
//! tokio task and driven through a handle.
//!
//! ```text
//!   AttestGossipNode ──Command──► event loop ──► Swarm<AttestBehaviour> (pnet transport)
//!     subscribe(): broadcast ◄── SignedAttestation ◄── Accept ◄─ validate ◄── gossipsub message
//!                                                     Ignore / Reject (sender scored down)
//!   every second: ban peers below the ban threshold; every redial interval: dial static peers
//! ```

use std::collections::HashSet;
use std::time::Duration;

use libp2p::futures::StreamExt;
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::swarm::{Swarm, SwarmEvent};
use libp2p::{Multiaddr, PeerId};
use opfleet_attest::{SignedAttestation, VerifyError};
use opfleet_protocol::ChainId;
use tokio::sync::{broadcast, mpsc};

use crate::attest::behaviour::{
    AttestBehaviour, AttestBehaviourEvent, BuildError, private_transport,
};
use crate::attest::config::AttestGossipConfig;
use crate::attest::topic::AttestTopic;
use crate::attest::validate::{Verdict, validate};
use crate::gossip_node::{CommonCommand, GossipSwarm, NodeCommand, NodeHandle, PeerTicks, Reply};
use crate::peers::{BanList, BannedPeer};

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

enum Command {
    /// Topics are joined per chain.
    Common(CommonCommand<ChainId>),
    Publish {
        topic: AttestTopic,
        data: Vec<u8>,
        reply: Reply<Result<(), AttestPublishError>>,
    },
}

impl NodeCommand for Command {
    type TopicKey = ChainId;
    type Error = AttestNodeError;

    fn common(command: CommonCommand<ChainId>) -> Self {
        Self::Common(command)
    }

    fn stopped() -> AttestNodeError {
        AttestNodeError::Stopped
    }
}

/// Handle to a running attestation gossip node. Dropping it stops the node.
pub struct AttestGossipNode {
    handle: NodeHandle<Command>,
    attestations: broadcast::Sender<SignedAttestation>,
    local_peer_id: PeerId,
    chains: HashSet<ChainId>,
}

impl AttestGossipNode {
    /// Starts a node: listens, joins the attestation topic of every configured chain, dials
    /// the static peers. Returns once the listener is up, so [`Self::listen_addrs`] is known.
    pub async fn spawn(config: AttestGossipConfig) -> Result<Self, AttestNodeError> {
        let local_peer_id = config.identity.public().to_peer_id();
        let behaviour = AttestBehaviour::new(&config)?;
        let transport = private_transport(&config.identity, config.swarm_key.psk())?;
        let swarm = Swarm::new(
            transport,
            behaviour,
            local_peer_id,
            libp2p::swarm::Config::with_tokio_executor()
                .with_idle_connection_timeout(Duration::from_secs(60)),
        );
        let bans = BanList::new(config.ban_threshold, config.ban_duration);
        let mut net = GossipSwarm::new(swarm, bans, "attestation");

        let chains: HashSet<ChainId> = config.chains.iter().copied().collect();
        for chain in &chains {
            let topic = AttestTopic::new(*chain);
            net.subscribe(*chain, &topic.to_string())
                .map_err(|reason| AttestNodeError::Subscribe { topic, reason })?;
        }

        let first_addr = net
            .listen(config.listen_addr.clone())
            .await
            .map_err(|reason| AttestNodeError::Listen {
                addr: config.listen_addr.clone(),
                reason,
            })?;
        tracing::info!(
            peer_id = %local_peer_id,
            addr = %first_addr,
            swarm_key = %config.swarm_key.fingerprint(),
            "attestation gossip node listening"
        );

        let (commands, command_rx) = mpsc::channel(64);
        let (attestations, _) = broadcast::channel(config.channel_capacity.max(1));
        let event_loop = EventLoop {
            net,
            chains: chains.clone(),
            attestations: attestations.clone(),
            config,
        };
        let task = tokio::spawn(event_loop.run(command_rx));
        Ok(Self {
            handle: NodeHandle::new(commands, task),
            attestations,
            local_peer_id,
            chains,
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
        self.handle
            .ask(|reply| Command::Publish {
                topic: AttestTopic::new(chain),
                data,
                reply,
            })
            .await?
    }

    /// The peers connected now.
    pub async fn peers(&self) -> Result<Vec<PeerId>, AttestNodeError> {
        self.handle.peers().await
    }

    /// The peers known to have joined the attestation topic of `chain`.
    pub async fn topic_peers(&self, chain: ChainId) -> Result<Vec<PeerId>, AttestNodeError> {
        self.handle.topic_peers(chain).await
    }

    /// gossipsub's current score of `peer` (kept for a while after it disconnects).
    pub async fn peer_score(&self, peer: PeerId) -> Result<Option<f64>, AttestNodeError> {
        self.handle.peer_score(peer).await
    }

    /// The peers banned now, with the score that got them banned.
    pub async fn banned_peers(&self) -> Result<Vec<BannedPeer>, AttestNodeError> {
        self.handle.banned_peers().await
    }

    /// The addresses the node listens on.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, AttestNodeError> {
        self.handle.listen_addrs().await
    }

    /// Stops the node and waits for its event loop to end.
    pub async fn shutdown(self) {
        self.handle.stop().await;
    }
}

struct EventLoop {
    config: AttestGossipConfig,
    net: GossipSwarm<AttestBehaviour, ChainId>,
    chains: HashSet<ChainId>,
    attestations: broadcast::Sender<SignedAttestation>,
}

impl EventLoop {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut ticks = PeerTicks::new(self.config.redial_interval);
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Common(CommonCommand::Stop)) | None => break,
                    Some(command) => self.on_command(command),
                },
                event = self.net.swarm.select_next_some() => self.on_swarm_event(event),
                tick = ticks.next() => self.net.on_tick(tick, &self.config.static_peers),
            }
        }
        tracing::info!("attestation gossip node stopped");
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Common(command) => self.net.answer(command),
            Command::Publish { topic, data, reply } => {
                let _ = reply.send(self.publish(topic, data));
            }
        }
    }

    fn publish(&mut self, topic: AttestTopic, data: Vec<u8>) -> Result<(), AttestPublishError> {
        let hash = self
            .net
            .topic_hash(&topic.chain_id)
            .ok_or(AttestPublishError::ChainNotFollowed(topic.chain_id))?;
        match self.net.gossipsub_mut().publish(hash, data) {
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
            SwarmEvent::IncomingConnectionError { error, .. } => {
                // A wrong pre-shared key shows up here: the handshake decrypts to garbage.
                tracing::debug!(%error, "attestation inbound connection failed");
            }
            other => self.net.on_swarm_event(other),
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
        self.net.report(&id, &from, acceptance);
    }
}
