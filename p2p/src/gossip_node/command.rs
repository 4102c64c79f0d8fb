//! The commands every gossip node's event loop answers, whatever else it does.

use libp2p::{Multiaddr, PeerId};
use tokio::sync::oneshot;

use crate::peers::BannedPeer;

/// Where the event loop sends a command's answer.
pub(crate) type Reply<T> = oneshot::Sender<T>;

/// The questions both nodes answer from their swarm; `K` names a topic the node joined
/// (a chain for attestations, a topic version for blocks).
pub(crate) enum CommonCommand<K> {
    /// The peers connected now.
    Peers(Reply<Vec<PeerId>>),
    /// The peers known to have joined the topic of `K`.
    TopicPeers(K, Reply<Vec<PeerId>>),
    /// gossipsub's score of a peer.
    PeerScore(PeerId, Reply<Option<f64>>),
    /// The peers banned now.
    Banned(Reply<Vec<BannedPeer>>),
    /// The addresses the node listens on.
    ListenAddrs(Reply<Vec<Multiaddr>>),
    /// End the event loop.
    Stop,
}

/// A node's own command type: it carries the common commands and says which of the node's
/// errors means "the event loop is gone".
pub(crate) trait NodeCommand: Sized {
    /// What names a joined topic.
    type TopicKey;
    /// The node's start/stop error.
    type Error;

    /// Wraps a common command.
    fn common(command: CommonCommand<Self::TopicKey>) -> Self;

    /// The error for a command the event loop can no longer take or answer.
    fn stopped() -> Self::Error;
}
