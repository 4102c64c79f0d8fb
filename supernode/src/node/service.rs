//! Starting and stopping a node: store first, then the RPC (serving restored state), then the
//! per-chain head sources and publishers.
//!
//! ```text
//!   Store::open ─▶ NodeState::load ─▶ RPC (+ metrics listener) ─▶ per chain:
//!                                                              heads source ─watch─▶ ChainPublisher
//! ```
//! The heads source is the derivation driver in `run` and the op-node follower in `attest`;
//! both hand over a `watch::Receiver<ChainHeads>`.

use std::sync::Arc;

use opfleet_attest::{PublicKey, SigningKey};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::state::{ChainSetup, NodeState};
use crate::config::NodeConfig;
use crate::heads::ChainHeads;
use crate::metrics::Metrics;
use crate::publish::{AttestSink, ChainPublisher};
use crate::rpc::{self, RpcError, RpcServer};
use crate::store::{Store, StoreError};

/// Why a node did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database failed to open or load.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A listener failed.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// A heads source failed to start.
    #[error("chain {chain}: {reason}")]
    Chain {
        /// The chain.
        chain: opfleet_protocol::ChainId,
        /// What failed.
        reason: String,
    },
}

/// A node whose state is loaded and whose listeners run, before any heads source starts.
pub struct Node {
    state: Arc<NodeState>,
    key: Arc<SigningKey>,
    sink: Option<Arc<dyn AttestSink>>,
    rpc: RpcServer,
    metrics: Option<RpcServer>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Node {
    /// Opens the store, loads the served state and starts the listeners of `config`.
    pub async fn start(
        config: &NodeConfig,
        chains: Vec<ChainSetup>,
        key: SigningKey,
        sink: Option<Arc<dyn AttestSink>>,
    ) -> Result<Self, StartError> {
        let store = Store::open(&config.data_dir).await?;
        let state = NodeState::load(store, chains, PublicKey::of(&key), Metrics::new()).await?;
        let rpc = rpc::serve(state.clone(), config.rpc).await?;
        let metrics = match config.metrics {
            Some(addr) => Some(rpc::serve_metrics(state.clone(), addr).await?),
            None => None,
        };
        Ok(Self {
            state,
            key: Arc::new(key),
            sink,
            rpc,
            metrics,
            stop: watch::Sender::new(false),
            tasks: Vec::new(),
        })
    }

    /// The shared state.
    pub fn state(&self) -> &Arc<NodeState> {
        &self.state
    }

    /// The RPC listener's address.
    pub const fn rpc_addr(&self) -> std::net::SocketAddr {
        self.rpc.local_addr()
    }

    /// The metrics listener's address, if enabled.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics.as_ref().map(RpcServer::local_addr)
    }

    /// A receiver that turns true when the node stops (for heads sources).
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Signs, stores and publishes the heads of `heads`' chain from now on.
    pub fn attach(&mut self, heads: watch::Receiver<ChainHeads>) {
        let chain = heads.borrow().chain_id;
        let publisher = ChainPublisher::new(
            self.state.clone(),
            chain,
            self.key.clone(),
            self.sink.clone(),
        );
        let mut stop = self.stop.subscribe();
        self.tasks.push(tokio::spawn(async move {
            tokio::select! {
                () = publisher.run(heads) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        }));
    }

    /// Runs a heads source task until the node stops.
    pub fn spawn(&mut self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.tasks.push(tokio::spawn(task));
    }

    /// Stops the node as a crash would (an embedder's kill): every task is aborted wherever it
    /// is, then the listeners stop and the database closes. Nothing is flushed first; what
    /// survives is what was committed, as after a real crash.
    pub async fn abort(self) {
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks {
            let _ = t.await;
        }
        self.rpc.stop().await;
        if let Some(m) = self.metrics {
            m.stop().await;
        }
        self.state.store().close().await;
    }

    /// Stops sources, publishers and listeners, and closes the database.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.rpc.stop().await;
        if let Some(m) = self.metrics {
            m.stop().await;
        }
        self.state.store().close().await;
    }
}
