//! Set-up shared by the gossip node tests: bounded waits, and what every test asks of a node
//! (its dial address, its topic peers, its bans) whichever node it is.
//!
//! ```text
//!   GossipNode ─┬─ AttestGossipNode  (topics named by ChainId)
//!               └─ BlockGossipNode   (topics named by BlockTopicVersion)
//!   static_peer / wait_topic_peers / wait_connected / wait_banned_for_score: over GossipNode
//! ```

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use opfleet_p2p::attest::AttestGossipNode;
use opfleet_p2p::{BannedPeer, BlockGossipNode, StaticPeer};
use opfleet_protocol::ChainId;
use opfleet_protocol::p2p::BlockTopicVersion;
use tokio::sync::broadcast::Receiver;

/// How long one test may run by default.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A listen address on the loopback interface with a free port.
pub fn localhost() -> Multiaddr {
    "/ip4/127.0.0.1/tcp/0".parse().unwrap()
}

/// Runs `test`, failing it when it takes longer than [`TEST_TIMEOUT`].
pub async fn bounded<F: Future<Output = ()>>(test: F) {
    bounded_by(TEST_TIMEOUT, test).await;
}

/// Runs `test`, failing it when it takes longer than `limit`.
pub async fn bounded_by<F: Future<Output = ()>>(limit: Duration, test: F) {
    tokio::time::timeout(limit, test)
        .await
        .expect("test timed out");
}

/// Polls `check` every 50 ms until it holds; panics after 20 s.
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    eventually_within(
        what,
        Duration::from_secs(20),
        Duration::from_millis(50),
        check,
    )
    .await;
}

/// Polls `check` every `poll` until it holds; panics after `limit`.
pub async fn eventually_within<F, Fut>(what: &str, limit: Duration, poll: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(poll).await;
    }
}

/// The next item on `rx`; panics when none comes within 10 s.
pub async fn next<T: Clone>(rx: &mut Receiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("nothing received within 10 s")
        .expect("channel closed")
}

/// What the shared helpers ask of a gossip node (panicking when it has stopped).
pub trait GossipNode {
    /// What names one of its topics.
    type Topic: Copy;

    /// Its peer id.
    fn peer_id(&self) -> PeerId;
    /// The addresses it listens on.
    async fn listening(&self) -> Vec<Multiaddr>;
    /// The peers connected now.
    async fn connected(&self) -> Vec<PeerId>;
    /// The peers known on `topic`.
    async fn on_topic(&self, topic: Self::Topic) -> Vec<PeerId>;
    /// Its gossipsub score of `peer`.
    async fn score(&self, peer: PeerId) -> Option<f64>;
    /// The peers it banned.
    async fn banned(&self) -> Vec<BannedPeer>;
}

/// Both nodes spell these queries the same way; only the topic key differs.
macro_rules! impl_gossip_node {
    ($node:ty, $topic:ty) => {
        impl GossipNode for $node {
            type Topic = $topic;

            fn peer_id(&self) -> PeerId {
                self.local_peer_id()
            }
            async fn listening(&self) -> Vec<Multiaddr> {
                self.listen_addrs().await.unwrap()
            }
            async fn connected(&self) -> Vec<PeerId> {
                self.peers().await.unwrap()
            }
            async fn on_topic(&self, topic: $topic) -> Vec<PeerId> {
                self.topic_peers(topic).await.unwrap()
            }
            async fn score(&self, peer: PeerId) -> Option<f64> {
                self.peer_score(peer).await.unwrap()
            }
            async fn banned(&self) -> Vec<BannedPeer> {
                self.banned_peers().await.unwrap()
            }
        }
    };
}

impl_gossip_node!(AttestGossipNode, ChainId);
impl_gossip_node!(BlockGossipNode, BlockTopicVersion);

/// `node` as a static peer for others to dial: its first listen address and its peer id.
pub async fn static_peer(node: &impl GossipNode) -> StaticPeer {
    let addr = node.listening().await[0]
        .clone()
        .with(Protocol::P2p(node.peer_id()));
    StaticPeer::from_multiaddr(addr).unwrap()
}

/// Waits until `node` knows every one of `peers` on `topic`.
pub async fn wait_topic_peers<N: GossipNode>(node: &N, topic: N::Topic, peers: &[PeerId]) {
    eventually("topic peers", || async {
        let have = node.on_topic(topic).await;
        peers.iter().all(|p| have.contains(p))
    })
    .await;
}

/// Waits until `node` is connected to `peer`.
pub async fn wait_connected(node: &impl GossipNode, peer: PeerId) {
    eventually("connected", || async {
        node.connected().await.contains(&peer)
    })
    .await;
}

/// Waits until `a` and `b` know each other on `topic`, and checks each starts with a
/// non-negative score at the other.
pub async fn wait_mutual_topic_peers<N: GossipNode>(a: &N, b: &N, topic: N::Topic) {
    wait_topic_peers(a, topic, &[b.peer_id()]).await;
    wait_topic_peers(b, topic, &[a.peer_id()]).await;
    assert!(b.score(a.peer_id()).await.unwrap() >= 0.0);
}

/// Waits until `node` bans `peer` for its score, then checks the score that got it banned and
/// that `node` does not redial it (even as a static peer) while it is banned.
pub async fn wait_banned_for_score(node: &impl GossipNode, peer: PeerId) {
    eventually("peer banned", || async {
        node.banned().await.iter().any(|p| p.peer_id == peer)
    })
    .await;
    let banned = node.banned().await;
    assert!(banned.iter().all(|p| p.score < -100.0), "{banned:?}");
    assert!(node.score(peer).await.unwrap() < -100.0);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!node.connected().await.contains(&peer));
}
