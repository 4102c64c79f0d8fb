//! The block gossip node: a libp2p swarm owned by one tokio task, driven through a handle.
//!
//! ```text
//!   BlockGossipNode (handle) ──Command──► event loop ──► Swarm<GossipBehaviour>
//!        ▲  blocks(): broadcast ◄── GossipBlock ◄── gossipsub message ─► validate ─► Accept
//!        │                                                               └─► Ignore / Reject
//!        └── oneshot replies (publish, peers, scores, payload_by_number)    (Reject lowers the
//!                                                                            sender's score)
//!   every second: ban peers below the ban threshold; every redial interval: dial static peers
//!   discovery (optional): DiscoveredPeer ──► known peers ──► dialled while below the peer goal
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::primitives::Address;
use libp2p::futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance};
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::{Multiaddr, PeerId, noise, tcp, yamux};
use op_alloy_rpc_types_engine::{OpExecutionPayloadEnvelope, OpNetworkPayloadEnvelope};
use opfleet_protocol::p2p::req_resp::{check_served_block, decode_response};
use opfleet_protocol::p2p::seen::DEFAULT_SEEN_HEIGHTS;
use opfleet_protocol::p2p::{
    BlockTopicVersion, GossipTopic, GossipValidationContext, GossipVerdict,
    PayloadByNumberResponse, RejectReason, ReqRespError, ResultCode, SeenBlocks,
    decode_block_message, recover_signer, validate_block,
};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use crate::blocks::behaviour::{BehaviourError, GossipBehaviour, GossipBehaviourEvent};
use crate::blocks::config::P2pConfig;
use crate::blocks::rate_limit::ServeLimits;
use crate::blocks::rate_limit::{Admission, ServeThrottle};
use crate::blocks::req_resp::{PayloadStore, RawResponse, answer, refused};
use crate::discovery::{DiscoveredPeer, Discovery, DiscoveryError, Enr};
use crate::gossip_node::{CommonCommand, GossipSwarm, NodeCommand, NodeHandle, PeerTicks, Reply};
use crate::peers::BanList;
pub use crate::peers::BannedPeer;

/// Discovered peers handed over from the DHT walk and not yet taken by the event loop.
const DISCOVERED_CHANNEL: usize = 64;

/// Most discovered peers remembered for dialling.
const MAX_DISCOVERED: usize = 1024;

/// Most second-tier `payload_by_number` lookups (the store's slow path) in flight at once;
/// beyond that a request is answered like a rate-limited one.
const MAX_LOOKUPS: usize = 16;

/// How long a second-tier lookup may take before the request is answered "not found".
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// A block accepted from gossip.
#[derive(Debug, Clone)]
pub struct GossipBlock {
    /// The signed block as received.
    pub envelope: OpNetworkPayloadEnvelope,
    /// The address that signed it (the unsafe block signer, as validation checked).
    pub signer: Address,
    /// The peer that relayed it to us.
    pub from_peer: PeerId,
    /// The topic version it arrived on.
    pub version: BlockTopicVersion,
}

/// The node cannot start or has stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The behaviours could not be built.
    #[error(transparent)]
    Behaviour(#[from] BehaviourError),
    /// The transport could not be built.
    #[error("transport: {0}")]
    Transport(String),
    /// Listening on the configured address failed.
    #[error("listen on {addr}: {reason}")]
    Listen {
        /// The configured address.
        addr: Multiaddr,
        /// Why it failed.
        reason: String,
    },
    /// Discovery could not start.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// gossipsub refused a subscription.
    #[error("subscribe to {topic}: {reason}")]
    Subscribe {
        /// The topic.
        topic: String,
        /// Why.
        reason: String,
    },
    /// The event loop is gone (stopped or crashed).
    #[error("the p2p node has stopped")]
    Stopped,
}

/// A message that could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// gossipsub refused it (no peers on the topic, a duplicate, too large...).
    #[error("publish on {topic}: {reason}")]
    Gossipsub {
        /// The topic.
        topic: String,
        /// gossipsub's reason.
        reason: String,
    },
    /// The event loop is gone.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// A `payload_by_number` request that did not produce a valid payload.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The peer answered with a failure code (1 = not found, 2 = invalid request).
    #[error("peer answered result code {0:?}")]
    Failed(ResultCode),
    /// The answer could not be decoded, or is not the requested block.
    #[error("bad response: {0}")]
    BadResponse(#[from] ReqRespError),
    /// The stream failed: dial failure, timeout, connection closed, unsupported protocol.
    #[error("request failed: {0}")]
    Outbound(String),
    /// No answer within the request timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The event loop is gone.
    #[error(transparent)]
    Node(#[from] NodeError),
}

enum Command {
    /// Topics are joined per topic version.
    Common(CommonCommand<BlockTopicVersion>),
    Publish {
        data: Vec<u8>,
        version: BlockTopicVersion,
        reply: Reply<Result<(), PublishError>>,
    },
    MeshPeers(BlockTopicVersion, Reply<Vec<PeerId>>),
    Discovered(Reply<Vec<PeerId>>),
    Request {
        peer: PeerId,
        number: u64,
        version: BlockTopicVersion,
        reply: Reply<Result<OpExecutionPayloadEnvelope, RequestError>>,
    },
    SetSigner(Address),
}

impl NodeCommand for Command {
    type TopicKey = BlockTopicVersion;
    type Error = NodeError;

    fn common(command: CommonCommand<BlockTopicVersion>) -> Self {
        Self::Common(command)
    }

    fn stopped() -> NodeError {
        NodeError::Stopped
    }
}

/// Handle to a running block gossip node. Dropping it stops the node.
pub struct BlockGossipNode {
    handle: NodeHandle<Command>,
    blocks: broadcast::Sender<GossipBlock>,
    local_peer_id: PeerId,
    request_timeout: Duration,
    discovery: Option<Discovery>,
}

impl BlockGossipNode {
    /// Starts a node: listens, joins the four block topics of the chain, dials the static peers.
    ///
    /// Returns once the listener is up, so [`Self::listen_addrs`] is known.
    pub async fn start(
        config: P2pConfig,
        identity: Keypair,
        store: Arc<dyn PayloadStore>,
    ) -> Result<Self, NodeError> {
        let local_peer_id = identity.public().to_peer_id();
        let identity_for_discovery = identity.clone();
        let behaviour = GossipBehaviour::new(&identity, &config)?;
        let swarm = libp2p::SwarmBuilder::with_existing_identity(identity)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| NodeError::Transport(e.to_string()))?
            .with_behaviour(|_| behaviour)
            .map_err(|e| NodeError::Transport(e.to_string()))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        let bans = BanList::new(config.ban_threshold, config.ban_duration);
        let mut net = GossipSwarm::new(swarm, bans, "block");

        for topic in GossipTopic::all_for(config.chain_id) {
            let name = topic.to_string();
            net.subscribe(topic.version, &name)
                .map_err(|reason| NodeError::Subscribe {
                    topic: name,
                    reason,
                })?;
        }

        let first_addr = net
            .listen(config.listen_addr.clone())
            .await
            .map_err(|reason| NodeError::Listen {
                addr: config.listen_addr.clone(),
                reason,
            })?;
        tracing::info!(peer_id = %local_peer_id, addr = %first_addr, "p2p node listening");

        let (found_tx, found_rx) = mpsc::channel(DISCOVERED_CHANNEL);
        let discovery = match &config.discovery {
            Some(discovery_config) => {
                let tcp_port = first_addr
                    .iter()
                    .find_map(|p| match p {
                        Protocol::Tcp(port) => Some(port),
                        _ => None,
                    })
                    .unwrap_or(0);
                Some(
                    Discovery::start(
                        discovery_config,
                        config.chain_id,
                        &identity_for_discovery,
                        tcp_port,
                        found_tx,
                    )
                    .await?,
                )
            }
            None => None,
        };

        let (commands, command_rx) = mpsc::channel(64);
        let (blocks, _) = broadcast::channel(config.block_channel_capacity.max(1));
        let request_timeout = config.request_timeout;
        let event_loop = EventLoop {
            signer: config.unsafe_block_signer,
            net,
            seen: SeenBlocks::new(DEFAULT_SEEN_HEIGHTS),
            store,
            blocks: blocks.clone(),
            pending: HashMap::new(),
            found: discovery.is_some().then_some(found_rx),
            throttle: ServeThrottle::new(
                ServeLimits {
                    max_throttle_delay: config.serve_limits.max_throttle_delay.min(
                        config
                            .request_timeout
                            .saturating_sub(Duration::from_secs(1)),
                    ),
                    ..config.serve_limits
                },
                Instant::now(),
            ),
            throttled: JoinSet::new(),
            lookups: JoinSet::new(),
            discovered: HashMap::new(),
            config,
        };
        let task = tokio::spawn(event_loop.run(command_rx));
        Ok(Self {
            handle: NodeHandle::new(commands, task),
            blocks,
            local_peer_id,
            request_timeout,
            discovery,
        })
    }

    /// This node's signed discovery record, when discovery runs (a bootnode for others).
    pub fn local_enr(&self) -> Option<Enr> {
        self.discovery.as_ref().map(Discovery::local_enr)
    }

    /// The discv5 routing table now, all chains included (empty without discovery).
    pub fn discovery_table(&self) -> Vec<Enr> {
        self.discovery
            .as_ref()
            .map(Discovery::table)
            .unwrap_or_default()
    }

    /// The peers discovery found for this chain, dialled or not.
    pub async fn discovered_peers(&self) -> Result<Vec<PeerId>, NodeError> {
        self.handle.ask(Command::Discovered).await
    }

    /// This node's peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// A receiver of every block accepted from gossip from now on (a receiver that falls more
    /// than the channel capacity behind gets `Lagged` and misses the oldest).
    pub fn blocks(&self) -> broadcast::Receiver<GossipBlock> {
        self.blocks.subscribe()
    }

    /// Publishes an encoded block message on the topic of `version`.
    ///
    /// The message is not validated here and not delivered to this node's own [`Self::blocks`];
    /// it fails when no peer is subscribed to the topic yet, or when the same bytes were already
    /// seen (published or received) within the seen-TTL.
    pub async fn publish(
        &self,
        data: Vec<u8>,
        version: BlockTopicVersion,
    ) -> Result<(), PublishError> {
        self.handle
            .ask(|reply| Command::Publish {
                data,
                version,
                reply,
            })
            .await?
    }

    /// The peers connected now.
    pub async fn peers(&self) -> Result<Vec<PeerId>, NodeError> {
        self.handle.peers().await
    }

    /// The peers known to be subscribed to the topic of `version`.
    pub async fn topic_peers(&self, version: BlockTopicVersion) -> Result<Vec<PeerId>, NodeError> {
        self.handle.topic_peers(version).await
    }

    /// The peers in this node's gossipsub mesh for the topic of `version`: the peers it forwards
    /// every block to (the others hear of forwarded blocks through IHAVE gossip).
    pub async fn mesh_peers(&self, version: BlockTopicVersion) -> Result<Vec<PeerId>, NodeError> {
        self.handle
            .ask(|reply| Command::MeshPeers(version, reply))
            .await
    }

    /// gossipsub's current score of `peer` (kept for a while after it disconnects).
    pub async fn peer_score(&self, peer: PeerId) -> Result<Option<f64>, NodeError> {
        self.handle.peer_score(peer).await
    }

    /// The peers banned now, with the score that got them banned.
    pub async fn banned_peers(&self) -> Result<Vec<BannedPeer>, NodeError> {
        self.handle.banned_peers().await
    }

    /// The addresses the node listens on.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NodeError> {
        self.handle.listen_addrs().await
    }

    /// Replaces the unsafe block signer (it changes with L1 system config updates).
    pub async fn set_unsafe_block_signer(&self, signer: Address) -> Result<(), NodeError> {
        self.handle.send(Command::SetSigner(signer)).await
    }

    /// Asks `peer` for block `number`, whose payload has the shape of topic `version`.
    ///
    /// The answer is checked to be block `number` with a correct block hash.
    pub async fn request_payload(
        &self,
        peer: PeerId,
        number: u64,
        version: BlockTopicVersion,
    ) -> Result<OpExecutionPayloadEnvelope, RequestError> {
        // request-response enforces the timeout on the stream; this one also covers the loop.
        let limit = self.request_timeout + Duration::from_secs(1);
        let answer = self.handle.ask(|reply| Command::Request {
            peer,
            number,
            version,
            reply,
        });
        tokio::time::timeout(limit, answer)
            .await
            .map_err(|_| RequestError::Timeout(limit))??
    }

    /// Stops the node and waits for its event loop to end.
    pub async fn stop(self) {
        self.handle.stop().await;
    }
}

struct PendingRequest {
    number: u64,
    version: BlockTopicVersion,
    reply: Reply<Result<OpExecutionPayloadEnvelope, RequestError>>,
}

struct EventLoop {
    config: P2pConfig,
    signer: Address,
    net: GossipSwarm<GossipBehaviour, BlockTopicVersion>,
    seen: SeenBlocks,
    store: Arc<dyn PayloadStore>,
    blocks: broadcast::Sender<GossipBlock>,
    pending: HashMap<OutboundRequestId, PendingRequest>,
    found: Option<mpsc::Receiver<DiscoveredPeer>>,
    discovered: HashMap<PeerId, Multiaddr>,
    throttle: ServeThrottle,
    throttled: JoinSet<ThrottledRequest>,
    lookups: JoinSet<LookedUp>,
}

/// A `payload_by_number` request answered by the store's slow path.
struct LookedUp {
    peer: PeerId,
    number: u64,
    channel: request_response::ResponseChannel<RawResponse>,
    found: Option<OpExecutionPayloadEnvelope>,
}

/// A `payload_by_number` request waiting for its rate-limit tokens.
struct ThrottledRequest {
    peer: PeerId,
    number: u64,
    channel: request_response::ResponseChannel<RawResponse>,
}

/// Waits for the next discovered peer; never resolves when discovery is off.
async fn next_found(found: &mut Option<mpsc::Receiver<DiscoveredPeer>>) -> Option<DiscoveredPeer> {
    match found {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl EventLoop {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut ticks = PeerTicks::new(self.config.redial_interval);
        let connect_interval = self
            .config
            .discovery
            .as_ref()
            .map_or(Duration::from_secs(3600), |d| d.interval)
            .max(Duration::from_millis(100));
        let mut connect = tokio::time::interval(connect_interval);
        connect.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Common(CommonCommand::Stop)) | None => break,
                    Some(command) => self.on_command(command),
                },
                event = self.net.swarm.select_next_some() => self.on_swarm_event(event),
                tick = ticks.next() => self.net.on_tick(tick, &self.config.static_peers),
                found = next_found(&mut self.found) => match found {
                    Some(peer) => self.remember(peer),
                    None => self.found = None,
                },
                _ = connect.tick(), if self.found.is_some() => self.dial_discovered(),
                Some(Ok(waited)) = self.throttled.join_next(), if !self.throttled.is_empty() => {
                    self.respond(waited.peer, waited.number, waited.channel);
                }
                Some(Ok(done)) = self.lookups.join_next(), if !self.lookups.is_empty() => {
                    let response = answer(done.number, done.found);
                    self.send_response(done.peer, done.channel, response);
                }
            }
        }
        tracing::info!("p2p node stopped");
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish {
                data,
                version,
                reply,
            } => {
                let _ = reply.send(self.publish(data, version));
            }
            Command::Common(command) => self.net.answer(command),
            Command::MeshPeers(version, reply) => {
                let _ = reply.send(self.net.mesh_peers(&version));
            }
            Command::Discovered(reply) => {
                let _ = reply.send(self.discovered.keys().copied().collect());
            }
            Command::Request {
                peer,
                number,
                version,
                reply,
            } => {
                let id = self
                    .net
                    .swarm
                    .behaviour_mut()
                    .payload_by_number
                    .send_request(&peer, number);
                self.pending.insert(
                    id,
                    PendingRequest {
                        number,
                        version,
                        reply,
                    },
                );
            }
            Command::SetSigner(signer) => self.signer = signer,
        }
    }

    fn publish(&mut self, data: Vec<u8>, version: BlockTopicVersion) -> Result<(), PublishError> {
        let topic = GossipTopic::new(self.config.chain_id, version).to_string();
        let hash = self
            .net
            .topic_hash(&version)
            .unwrap_or_else(|| IdentTopic::new(topic.clone()).hash());
        self.net
            .gossipsub_mut()
            .publish(hash, data)
            .map(|_| ())
            .map_err(|e| PublishError::Gossipsub {
                topic,
                reason: e.to_string(),
            })
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<GossipBehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(GossipBehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_gossip(propagation_source, message_id, message),
            SwarmEvent::Behaviour(GossipBehaviourEvent::PayloadByNumber(event)) => {
                self.on_payload_by_number(event)
            }
            other => self.net.on_swarm_event(other),
        }
    }

    /// Validates a gossip message and reports the verdict to gossipsub.
    fn on_gossip(&mut self, from: PeerId, id: gossipsub::MessageId, message: gossipsub::Message) {
        let version = match message.topic.as_str().parse::<GossipTopic>() {
            Ok(topic) if topic.chain_id == self.config.chain_id => Some(topic.version),
            // Only our chain's topics are subscribed; a message elsewhere is not ours to judge.
            Ok(_) | Err(_) => None,
        };
        let Some(version) = version else {
            self.net.report(&id, &from, MessageAcceptance::Ignore);
            return;
        };
        let acceptance = match self.check_gossip(from, version, &message.data) {
            Ok(block) => {
                // No receiver is not an error: the node still relays for the mesh.
                let _ = self.blocks.send(block);
                MessageAcceptance::Accept
            }
            Err(GossipVerdict::Reject(reason)) => {
                tracing::warn!(peer = %from, topic = %message.topic, %reason, "rejecting gossip");
                MessageAcceptance::Reject
            }
            Err(verdict) => {
                tracing::debug!(peer = %from, topic = %message.topic, ?verdict, "ignoring gossip");
                MessageAcceptance::Ignore
            }
        };
        self.net.report(&id, &from, acceptance);
    }

    /// op-node's rules: decode once to read the timestamp (Jovian activation depends on it),
    /// then `validate_block`, the same path as `validate_message`.
    fn check_gossip(
        &mut self,
        from: PeerId,
        version: BlockTopicVersion,
        data: &[u8],
    ) -> Result<GossipBlock, GossipVerdict> {
        let envelope = decode_block_message(data, version)
            .map_err(|e| GossipVerdict::Reject(RejectReason::Encoding(e)))?;
        let ctx = GossipValidationContext {
            chain_id: self.config.chain_id,
            topic: version,
            now: unix_now(),
            unsafe_block_signer: self.signer,
            jovian_active: self
                .config
                .jovian_time
                .is_some_and(|t| envelope.payload.timestamp() >= t),
        };
        match validate_block(&envelope, &ctx, &mut self.seen) {
            GossipVerdict::Accept => {}
            other => return Err(other),
        }
        let signer = recover_signer(&envelope, self.config.chain_id)
            .map_err(|e| GossipVerdict::Reject(RejectReason::Signature(e)))?;
        Ok(GossipBlock {
            envelope,
            signer,
            from_peer: from,
            version,
        })
    }

    fn on_payload_by_number(
        &mut self,
        event: request_response::Event<u64, crate::blocks::req_resp::RawResponse>,
    ) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => match self.throttle.admit(peer, Instant::now()) {
                Admission::Now => self.respond(peer, request, channel),
                Admission::After(wait) => {
                    tracing::debug!(%peer, number = request, ?wait, "throttling payload_by_number");
                    self.throttled.spawn(async move {
                        tokio::time::sleep(wait).await;
                        ThrottledRequest {
                            peer,
                            number: request,
                            channel,
                        }
                    });
                }
                Admission::Refuse => {
                    tracing::debug!(%peer, number = request, "payload_by_number over the rate limits");
                    self.send_response(peer, channel, refused());
                }
            },
            request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some(pending) = self.pending.remove(&request_id) {
                    let result = decode_payload(&response.0, pending.number, pending.version);
                    let _ = pending.reply.send(result);
                }
            }
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(pending) = self.pending.remove(&request_id) {
                    let _ = pending
                        .reply
                        .send(Err(RequestError::Outbound(error.to_string())));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "payload_by_number inbound failure");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// Answers a request whose rate-limit tokens are covered.
    fn respond(
        &mut self,
        peer: PeerId,
        number: u64,
        channel: request_response::ResponseChannel<RawResponse>,
    ) {
        tracing::debug!(%peer, number, "serving payload_by_number");
        if let Some(found) = self.store.payload_by_number(number) {
            self.send_response(peer, channel, answer(number, Some(found)));
            return;
        }
        let Some(lookup) = self.store.lookup_payload(number) else {
            self.send_response(peer, channel, answer(number, None));
            return;
        };
        if self.lookups.len() >= MAX_LOOKUPS {
            tracing::debug!(%peer, number, "payload_by_number lookups full");
            self.send_response(peer, channel, refused());
            return;
        }
        self.lookups.spawn(async move {
            let found = tokio::time::timeout(LOOKUP_TIMEOUT, lookup)
                .await
                .ok()
                .flatten();
            LookedUp {
                peer,
                number,
                channel,
                found,
            }
        });
    }

    fn send_response(
        &mut self,
        peer: PeerId,
        channel: request_response::ResponseChannel<RawResponse>,
        response: RawResponse,
    ) {
        if self
            .net
            .swarm
            .behaviour_mut()
            .payload_by_number
            .send_response(channel, response)
            .is_err()
        {
            tracing::debug!(%peer, "payload_by_number requester went away");
        }
    }

    /// Keeps a discovered peer's latest address; the book is bounded, a full one drops a
    /// peer that is not connected to make room.
    fn remember(&mut self, peer: DiscoveredPeer) {
        if !self.discovered.contains_key(&peer.peer_id) && self.discovered.len() >= MAX_DISCOVERED {
            let stale = self
                .discovered
                .keys()
                .find(|p| !self.net.swarm.is_connected(p))
                .copied();
            match stale {
                Some(stale) => {
                    self.discovered.remove(&stale);
                }
                None => return,
            }
        }
        let first = self.discovered.insert(peer.peer_id, peer.addr).is_none();
        if first {
            tracing::debug!(peer = %peer.peer_id, "discovered peer");
            self.dial_discovered();
        }
    }

    /// op-node's connection loop: while below the peer goal, dial known discovered peers that
    /// are neither connected nor banned, no more than the goal allows.
    fn dial_discovered(&mut self) {
        let goal = self.config.discovery.as_ref().map_or(0, |d| d.peers_goal);
        let connected = self.net.swarm.connected_peers().count();
        let room = goal.saturating_sub(connected);
        let candidates: Vec<(PeerId, Multiaddr)> = self
            .discovered
            .iter()
            .filter(|(p, _)| !self.net.swarm.is_connected(p) && !self.net.is_banned(p))
            .take(room)
            .map(|(p, a)| (*p, a.clone()))
            .collect();
        for (peer_id, addr) in candidates {
            let opts = DialOpts::peer_id(peer_id)
                .addresses(vec![addr])
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            if let Err(e) = self.net.swarm.dial(opts) {
                tracing::debug!(peer = %peer_id, error = %e, "discovered peer dial not started");
            }
        }
    }
}

/// Decodes a `payload_by_number` answer and checks it is the block asked for.
fn decode_payload(
    bytes: &[u8],
    number: u64,
    version: BlockTopicVersion,
) -> Result<OpExecutionPayloadEnvelope, RequestError> {
    match decode_response(bytes, version)? {
        PayloadByNumberResponse::Failure(code) => Err(RequestError::Failed(code)),
        PayloadByNumberResponse::Payload(envelope) => {
            check_served_block(&envelope, number)?;
            Ok(*envelope)
        }
    }
}
