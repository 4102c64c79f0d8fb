//! Attester mode: sign the heads of a trusted op-node instead of deriving.
//!
//! ```text
//!   every 2 x block time:
//!     optimism_syncStatus (followed op-node) ─▶ normalize ─▶ follow checks
//!          (order; L1 origins and current_l1 on OUR canonical L1) ─▶ ChainHeads ─▶ watch
//!   watch<ChainHeads> ─▶ ChainPublisher (same gate, store, signing and publishing as `run`)
//!   output roots for signing: optimism_outputAtBlock of the followed op-node (checked)
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use opfleet_protocol::{ChainId, check_follow_status, follow_l1_numbers};
use tokio::sync::watch;

pub mod client;
pub mod follow;
pub mod service;

pub use client::{CanonicalL1, L1Rpc, OpNodeClient};

use crate::heads::ChainHeads;
use crate::metrics::{ErrorStage, Metrics};
use crate::node::SourceError;

/// Why one poll produced no heads.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The op-node or L1 could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The status names an L1 block our L1 does not have yet.
    #[error("L1 block #{0} named by the followed status is not on our L1 yet")]
    L1Behind(u64),
    /// The status fails op-node's follow checks.
    #[error("followed status rejected: {0}")]
    Check(#[from] opfleet_protocol::FollowCheckError),
}

/// Polls one followed op-node and publishes its checked heads.
pub struct Follower {
    chain_id: ChainId,
    op_node: OpNodeClient,
    l1: Arc<dyn CanonicalL1>,
    interval: Duration,
    metrics: Metrics,
    heads: watch::Sender<ChainHeads>,
    last: Option<ChainHeads>,
}

impl Follower {
    /// A follower polling every `interval` (op-node's block time x 2 in `attest`).
    pub fn new(
        chain_id: ChainId,
        op_node: OpNodeClient,
        l1: Arc<dyn CanonicalL1>,
        interval: Duration,
        metrics: Metrics,
    ) -> Self {
        let (heads, _) = watch::channel(ChainHeads {
            chain_id,
            ..Default::default()
        });
        Self {
            chain_id,
            op_node,
            l1,
            interval,
            metrics,
            heads,
            last: None,
        }
    }

    /// The checked heads (the publisher's input).
    pub fn subscribe(&self) -> watch::Receiver<ChainHeads> {
        self.heads.subscribe()
    }

    /// One poll: read, check, and publish the heads if they changed.
    pub async fn poll(&mut self) -> Result<ChainHeads, PollError> {
        let status = follow::normalize(self.op_node.sync_status().await?);
        opfleet_protocol::check_follow_order(&status)?;
        let mut canonical = BTreeMap::new();
        for n in follow_l1_numbers(&status) {
            let r = self
                .l1
                .block_ref_by_number(n)
                .await?
                .ok_or(PollError::L1Behind(n))?;
            canonical.insert(n, r);
        }
        check_follow_status(&status, &canonical)?;
        let heads = follow::heads_from_status(self.chain_id, status, self.last.as_ref());
        self.last = Some(heads);
        self.heads.send_if_modified(|h| {
            let changed = *h != heads;
            *h = heads;
            changed
        });
        Ok(heads)
    }

    /// Polls until `stop` turns true (or its sender is dropped).
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                r = stop.changed() => if r.is_err() || *stop.borrow() { return },
            }
            if let Err(e) = self.poll().await {
                let stage = match e {
                    PollError::Check(_) => ErrorStage::Check,
                    _ => ErrorStage::Poll,
                };
                self.metrics.error(self.chain_id, stage);
                tracing::warn!(chain = %self.chain_id, error = %e, "followed status not adopted");
            }
        }
    }
}

/// Twice the block time: safe heads move at most once per L1 block, so this follows closely
/// enough while halving the load on the followed node.
pub fn poll_interval(block_time: u64) -> Duration {
    Duration::from_secs(block_time.saturating_mul(2).max(1))
}
