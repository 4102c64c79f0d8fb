//! The fleet registry: every node of the devnet that can be killed and restarted, behind one
//! trait, so supernodes and followers plug in the same way as the chains' own nodes.
//!
//! ```text
//!  Fleet ── name ─▶ Arc<dyn FleetNode> ── kill() / restart() / endpoints() / is_running()
//!           sequencer-901, batcher-901, ... (supernode-N, follower-N when they exist)
//! ```

use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

/// What a fleet node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A chain's sequencer with its P2P node.
    Sequencer,
    /// A chain's batcher.
    Batcher,
    /// A member of the supernode pool.
    Supernode,
    /// A follower (light consensus client).
    Follower,
}

/// Why a kill or restart failed.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// No node has that name.
    #[error("no fleet node named {0:?}")]
    UnknownNode(String),
    /// The node is already stopped.
    #[error("{0} is not running")]
    NotRunning(String),
    /// The node is already running.
    #[error("{0} is already running")]
    AlreadyRunning(String),
    /// The node could not start again.
    #[error("restarting {node}: {reason}")]
    Restart {
        /// The node.
        node: String,
        /// What went wrong.
        reason: String,
    },
    /// A node with that name is registered already.
    #[error("a fleet node named {0:?} is registered already")]
    Duplicate(String),
}

/// A node of the fleet (contract C6).
#[async_trait::async_trait]
pub trait FleetNode: Send + Sync + 'static {
    /// Unique name, e.g. `sequencer-901`.
    fn name(&self) -> &str;
    /// What it is.
    fn kind(&self) -> NodeKind;
    /// Its endpoints as JSON (listed in the endpoints file under its kind).
    fn endpoints(&self) -> serde_json::Value;
    /// Whether it runs now.
    fn is_running(&self) -> bool;
    /// Stops it abruptly (as a crash would), keeping what it persisted.
    async fn kill(&self) -> Result<(), FleetError>;
    /// Starts it again after a kill.
    async fn restart(&self) -> Result<(), FleetError>;
}

/// The registry.
#[derive(Clone, Default)]
pub struct Fleet(Arc<RwLock<Vec<Arc<dyn FleetNode>>>>);

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.nodes().iter().map(|n| n.name().to_string()))
            .finish()
    }
}

impl Fleet {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a node; names are unique.
    pub fn register(&self, node: Arc<dyn FleetNode>) -> Result<(), FleetError> {
        let mut nodes = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if nodes.iter().any(|n| n.name() == node.name()) {
            return Err(FleetError::Duplicate(node.name().to_string()));
        }
        nodes.push(node);
        Ok(())
    }

    /// Every node, in registration order.
    pub fn nodes(&self) -> Vec<Arc<dyn FleetNode>> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The nodes of one kind.
    pub fn of_kind(&self, kind: NodeKind) -> Vec<Arc<dyn FleetNode>> {
        self.nodes()
            .into_iter()
            .filter(|n| n.kind() == kind)
            .collect()
    }

    /// The node named `name`.
    pub fn get(&self, name: &str) -> Result<Arc<dyn FleetNode>, FleetError> {
        self.nodes()
            .into_iter()
            .find(|n| n.name() == name)
            .ok_or_else(|| FleetError::UnknownNode(name.to_string()))
    }

    /// Kills the node named `name`.
    pub async fn kill(&self, name: &str) -> Result<(), FleetError> {
        let node = self.get(name)?;
        node.kill().await?;
        tracing::warn!(node = name, "fleet node killed");
        Ok(())
    }

    /// Restarts the node named `name`.
    pub async fn restart(&self, name: &str) -> Result<(), FleetError> {
        let node = self.get(name)?;
        node.restart().await?;
        tracing::info!(node = name, "fleet node restarted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    struct Toy {
        name: String,
        running: AtomicBool,
    }

    #[async_trait::async_trait]
    impl FleetNode for Toy {
        fn name(&self) -> &str {
            &self.name
        }
        fn kind(&self) -> NodeKind {
            NodeKind::Follower
        }
        fn endpoints(&self) -> serde_json::Value {
            serde_json::json!({ "name": self.name })
        }
        fn is_running(&self) -> bool {
            self.running.load(Ordering::SeqCst)
        }
        async fn kill(&self) -> Result<(), FleetError> {
            if !self.running.swap(false, Ordering::SeqCst) {
                return Err(FleetError::NotRunning(self.name.clone()));
            }
            Ok(())
        }
        async fn restart(&self) -> Result<(), FleetError> {
            if self.running.swap(true, Ordering::SeqCst) {
                return Err(FleetError::AlreadyRunning(self.name.clone()));
            }
            Ok(())
        }
    }

    fn toy(name: &str) -> Arc<dyn FleetNode> {
        Arc::new(Toy {
            name: name.into(),
            running: AtomicBool::new(true),
        })
    }

    #[tokio::test]
    async fn registry_finds_kills_and_restarts_by_name() {
        let fleet = Fleet::new();
        fleet.register(toy("follower-0")).unwrap();
        assert!(matches!(
            fleet.register(toy("follower-0")),
            Err(FleetError::Duplicate(_))
        ));
        assert!(matches!(
            fleet.kill("nope").await,
            Err(FleetError::UnknownNode(_))
        ));
        fleet.kill("follower-0").await.unwrap();
        assert!(!fleet.get("follower-0").unwrap().is_running());
        assert!(matches!(
            fleet.kill("follower-0").await,
            Err(FleetError::NotRunning(_))
        ));
        fleet.restart("follower-0").await.unwrap();
        assert!(fleet.get("follower-0").unwrap().is_running());
        assert_eq!(fleet.of_kind(NodeKind::Follower).len(), 1);
        assert!(fleet.of_kind(NodeKind::Supernode).is_empty());
    }
}
