//! Unsafe blocks: op-node P2P gossip (validated by `opfleet_p2p::BlockGossipNode`) into an
//! ordered queue for insertion, and gap repair by number.
//!
//! ```text
//!   BlockGossipNode::blocks() ─> queue (by number) ─> engine runner (Insert / Fetch gaps)
//!                                                        └─ FetchChain: P2P, then source
//!   peers' payload_by_number ─> ServedPayloads: recent inserts, then the execution client
//! ```

use std::sync::{Arc, Mutex};

use op_alloy_rpc_types_engine::OpExecutionPayloadEnvelope;
use opfleet_p2p::GossipBlock;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, broadcast, watch};

pub mod fetch;
pub mod queue;
pub mod serve;

use queue::UnsafeQueue;

/// Forwards accepted gossip blocks into `queue`, waking the engine runner for each.
pub fn spawn_gossip_intake(
    mut blocks: broadcast::Receiver<GossipBlock>,
    queue: Arc<Mutex<UnsafeQueue>>,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let item = tokio::select! {
                item = blocks.recv() => item,
                _ = shutdown.changed() => return,
            };
            match item {
                Ok(block) => {
                    let env = OpExecutionPayloadEnvelope {
                        parent_beacon_block_root: block.envelope.parent_beacon_block_root,
                        execution_payload: block.envelope.payload,
                    };
                    metrics::counter!("follower_gossip_blocks_total").increment(1);
                    let queued = queue.lock().unwrap_or_else(|p| p.into_inner()).insert(env);
                    if queued {
                        wake.notify_one();
                    }
                }
                // Missed blocks are repaired by number when the runner sees the gap.
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "gossip block receiver lagged");
                }
                Err(RecvError::Closed) => return,
            }
        }
    })
}
