//! The sending side of a node: its command channel and its event-loop task.

use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::gossip_node::command::{CommonCommand, NodeCommand, Reply};
use crate::peers::BannedPeer;

/// Asks a node's event loop through its command channel. Dropping it aborts the loop.
pub(crate) struct NodeHandle<C> {
    commands: mpsc::Sender<C>,
    task: JoinHandle<()>,
}

impl<C: NodeCommand> NodeHandle<C> {
    /// A handle on the loop `task` that reads `commands`.
    pub(crate) fn new(commands: mpsc::Sender<C>, task: JoinHandle<()>) -> Self {
        Self { commands, task }
    }

    /// Sends the command `make` builds around a reply channel, and waits for the answer.
    pub(crate) async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> C) -> Result<T, C::Error> {
        let (reply, answer) = oneshot::channel();
        self.send(make(reply)).await?;
        answer.await.map_err(|_| C::stopped())
    }

    /// Sends a command that has no answer.
    pub(crate) async fn send(&self, command: C) -> Result<(), C::Error> {
        self.commands.send(command).await.map_err(|_| C::stopped())
    }

    async fn ask_common<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> CommonCommand<C::TopicKey>,
    ) -> Result<T, C::Error> {
        self.ask(|reply| C::common(make(reply))).await
    }

    /// The peers connected now.
    pub(crate) async fn peers(&self) -> Result<Vec<PeerId>, C::Error> {
        self.ask_common(CommonCommand::Peers).await
    }

    /// The peers known to have joined the topic of `key`.
    pub(crate) async fn topic_peers(&self, key: C::TopicKey) -> Result<Vec<PeerId>, C::Error> {
        self.ask_common(|reply| CommonCommand::TopicPeers(key, reply))
            .await
    }

    /// gossipsub's current score of `peer`.
    pub(crate) async fn peer_score(&self, peer: PeerId) -> Result<Option<f64>, C::Error> {
        self.ask_common(|reply| CommonCommand::PeerScore(peer, reply))
            .await
    }

    /// The peers banned now.
    pub(crate) async fn banned_peers(&self) -> Result<Vec<BannedPeer>, C::Error> {
        self.ask_common(CommonCommand::Banned).await
    }

    /// The addresses the node listens on.
    pub(crate) async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, C::Error> {
        self.ask_common(CommonCommand::ListenAddrs).await
    }

    /// Stops the event loop and waits for it to end.
    pub(crate) async fn stop(mut self) {
        let _ = self.commands.send(C::common(CommonCommand::Stop)).await;
        let _ = (&mut self.task).await;
    }
}

impl<C> Drop for NodeHandle<C> {
    fn drop(&mut self) {
        self.task.abort();
    }
}
