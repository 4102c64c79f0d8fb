//! The op-node-compatible follow source (`--l2.follow.source`): poll `optimism_syncStatus` of
//! any op-node, kona-node or supernode chain prefix every 2 x block time, check it as op-node
//! does, and hand on its safe and finalized heads.
//!
//! ```text
//!   tick ─> optimism_syncStatus ─> check_follow_order ─> [--l1: canonical L1 origins] ─> FollowUpdate
//!                                        │ fail                     │ fail
//!                                        └──────────── dropped, counted, logged ─┘
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alloy::primitives::{B256, U64};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use opfleet_protocol::{
    L1BlockRef, L2BlockRef, SyncStatus, check_follow_l1, check_follow_order, follow_l1_numbers,
};
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

/// A checked upstream status, reduced to what the follower adopts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowUpdate {
    /// Upstream `safe_l2`.
    pub safe: L2BlockRef,
    /// Upstream `finalized_l2`.
    pub finalized: L2BlockRef,
    /// The upstream moved its safe head back (or to another block at the same height).
    pub rewind: bool,
}

/// Why one poll produced nothing.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The upstream did not answer.
    #[error("optimism_syncStatus from {url}: {reason}")]
    Upstream {
        /// The upstream.
        url: String,
        /// The transport or RPC error.
        reason: String,
    },
    /// The L1 RPC did not answer.
    #[error("L1 block #{number} from {url}: {reason}")]
    L1 {
        /// The L1 RPC.
        url: String,
        /// The block asked for.
        number: u64,
        /// Why.
        reason: String,
    },
    /// The status failed op-node's checks.
    #[error("upstream status refused: {0}")]
    Check(#[from] opfleet_protocol::FollowCheckError),
}

/// Decides the update for a status that passed the checks, given the previous one adopted.
pub fn update_from(status: &SyncStatus, previous: Option<&FollowUpdate>) -> FollowUpdate {
    let rewind = previous.is_some_and(|p| {
        p.safe.number > status.safe_l2.number
            || (p.safe.number == status.safe_l2.number && p.safe.hash != status.safe_l2.hash)
    });
    FollowUpdate {
        safe: status.safe_l2,
        finalized: status.finalized_l2,
        rewind,
    }
}

/// Counters of the follow source.
#[derive(Debug, Default)]
pub struct FollowHealth {
    /// Statuses adopted.
    pub adopted: AtomicU64,
    /// Statuses refused by the checks.
    pub refused: AtomicU64,
    /// Failed polls.
    pub errors: AtomicU64,
    /// Last adopted, ms since the epoch.
    pub last_ok_ms: AtomicU64,
}

/// Polls the upstream until shutdown.
pub struct FollowSource {
    upstream: HttpClient,
    upstream_url: String,
    l1: Option<(HttpClient, String)>,
    interval: Duration,
    /// Counters.
    pub health: Arc<FollowHealth>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EthBlockHeader {
    hash: B256,
    number: U64,
    parent_hash: B256,
    timestamp: U64,
}

impl FollowSource {
    /// A poller of `url` every `interval` (op-node: 2 x block time), checking L1 origins on `l1`.
    pub fn new(url: &str, l1: Option<&str>, interval: Duration) -> Result<Self, FollowError> {
        let build = |u: &str| {
            HttpClientBuilder::default()
                .request_timeout(Duration::from_secs(10))
                .build(u)
                .map_err(|e| FollowError::Upstream {
                    url: u.to_string(),
                    reason: e.to_string(),
                })
        };
        let l1 = match l1 {
            Some(u) => Some((build(u)?, u.to_string())),
            None => None,
        };
        Ok(Self {
            upstream: build(url)?,
            upstream_url: url.to_string(),
            l1,
            interval,
            health: Arc::new(FollowHealth::default()),
        })
    }

    /// One poll: the upstream status if it passes the checks.
    pub async fn poll_once(&self) -> Result<SyncStatus, FollowError> {
        let status: SyncStatus = self
            .upstream
            .request("optimism_syncStatus", rpc_params![])
            .await
            .map_err(|e| FollowError::Upstream {
                url: self.upstream_url.clone(),
                reason: e.to_string(),
            })?;
        check_follow_order(&status)?;
        if let Some((l1, url)) = &self.l1 {
            let mut canonical = BTreeMap::new();
            for number in follow_l1_numbers(&status) {
                let err = |reason: String| FollowError::L1 {
                    url: url.clone(),
                    number,
                    reason,
                };
                let header: Option<EthBlockHeader> = l1
                    .request(
                        "eth_getBlockByNumber",
                        rpc_params![format!("0x{number:x}"), false],
                    )
                    .await
                    .map_err(|e| err(e.to_string()))?;
                if let Some(h) = header {
                    canonical.insert(
                        number,
                        L1BlockRef {
                            hash: h.hash,
                            number: h.number.to(),
                            parent_hash: h.parent_hash,
                            timestamp: h.timestamp.to(),
                        },
                    );
                }
            }
            check_follow_l1(&status, &canonical)?;
        }
        Ok(status)
    }

    /// Polls until shutdown, sending each adopted update.
    pub async fn run(self, sink: mpsc::Sender<FollowUpdate>, mut shutdown: watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut previous: Option<FollowUpdate> = None;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = shutdown.changed() => return,
            }
            match self.poll_once().await {
                Ok(status) => {
                    let update = update_from(&status, previous.as_ref());
                    self.health.adopted.fetch_add(1, Ordering::Relaxed);
                    self.health
                        .last_ok_ms
                        .store(crate::sources::now_ms(), Ordering::Relaxed);
                    if previous != Some(update) && sink.send(update).await.is_err() {
                        return;
                    }
                    previous = Some(FollowUpdate {
                        rewind: false,
                        ..update
                    });
                }
                Err(FollowError::Check(e)) => {
                    self.health.refused.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(url = %self.upstream_url, error = %e, "follow source status refused");
                }
                Err(e) => {
                    self.health.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "follow source poll failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::tests::block;

    fn status(safe: L2BlockRef, fin: L2BlockRef) -> SyncStatus {
        SyncStatus {
            safe_l2: safe,
            local_safe_l2: safe,
            finalized_l2: fin,
            ..SyncStatus::default()
        }
    }

    #[test]
    fn a_lower_or_different_safe_is_a_rewind() {
        let first = update_from(&status(block(10, 1), block(5, 1)), None);
        assert!(!first.rewind);
        assert!(!update_from(&status(block(11, 1), block(5, 1)), Some(&first)).rewind);
        assert!(update_from(&status(block(9, 1), block(5, 1)), Some(&first)).rewind);
        assert!(update_from(&status(block(10, 2), block(5, 1)), Some(&first)).rewind);
    }
}
