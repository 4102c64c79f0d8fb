//! Starting a node in attester mode: one [`Follower`] per chain feeding the usual publisher.

use std::sync::Arc;

use opfleet_attest::SigningKey;

use super::{CanonicalL1, Follower, OpNodeClient, poll_interval};
use crate::config::NodeConfig;
use crate::node::service::{Node, StartError};
use crate::node::{ChainSetup, OutputRootSource};
use crate::publish::AttestSink;

/// Starts an attester for every chain of `config` (each must have a `follow` URL).
pub async fn start(
    config: &NodeConfig,
    key: SigningKey,
    l1: Arc<dyn CanonicalL1>,
    sink: Option<Arc<dyn AttestSink>>,
) -> Result<Node, StartError> {
    let mut clients = Vec::new();
    let mut setups = Vec::new();
    for c in &config.chains {
        let chain = c.chain_id();
        let url = c
            .endpoints
            .follow
            .as_deref()
            .ok_or_else(|| StartError::Chain {
                chain,
                reason: "no op-node to follow (--l2.<chainid>.follow)".into(),
            })?;
        let op_node = OpNodeClient::new(url).map_err(|e| StartError::Chain {
            chain,
            reason: e.to_string(),
        })?;
        setups.push(ChainSetup {
            rollup: c.rollup.clone(),
            outputs: Arc::new(op_node.clone()) as Arc<dyn OutputRootSource>,
            payloads: None,
        });
        clients.push((chain, c.rollup.block_time, op_node));
    }
    let mut node = Node::start(config, setups, key, sink).await?;
    for (chain, block_time, op_node) in clients {
        let follower = Follower::new(
            chain,
            op_node,
            l1.clone(),
            poll_interval(block_time),
            node.state().metrics().clone(),
        );
        node.attach(follower.subscribe());
        let stop = node.stop_signal();
        node.spawn(follower.run(stop));
    }
    Ok(node)
}
