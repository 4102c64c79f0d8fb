//! EL sync: a simulated execution client that is told of a block it does not have fetches the
//! missing ancestors from a peer execution client and imports them, as op-geth's snap/full sync
//! appears to a consensus client.
//!
//! ```text
//! forkchoiceUpdated(head unknown) ─┐                      SYNCING now
//! newPayload(parent unknown) ──────┴─▶ sync target ──▶ sync task (polls the target)
//!    peer.block_by_hash(target), its parent, ... until a block we have       (newest first)
//!    every fetched header must hash to the hash asked for (else: refused)
//!    import oldest first through newPayload (re-executed: INVALID stops the sync)
//!    then the forkchoice state the consensus client last asked for ─▶ VALID from then on
//! ```
//! The peer is another execution client of the chain: its URL (`eth_getBlockByHash` with full
//! transactions) or, in-process, its shared state. Only blocks still held by the peer can be
//! fetched (see `chain`'s pruning window): a client far behind the peer's window cannot sync,
//! unlike op-geth's snap sync, which needs no history. Blocks are re-executed, not trusted.

use std::sync::Arc;
use std::time::Duration;

use alloy::consensus::Block;
use alloy::primitives::B256;
use alloy::rpc::types::engine::{ExecutionPayloadV3, ForkchoiceState};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use op_alloy_consensus::OpTxEnvelope;
use tokio::task::JoinHandle;

use super::builder::SimBlock;
use super::engine::{EngineError, NewPayload, PayloadVersion, SyncTarget};
use super::eth::OpRpcBlock;
use super::server::{SharedState, lock};

/// At most this many blocks are fetched for one target.
pub const MAX_SYNC_BLOCKS: usize = 100_000;

/// How often the sync task looks for a new target.
const POLL: Duration = Duration::from_millis(100);

/// Where missing blocks come from.
#[derive(Clone, Debug)]
pub enum SyncPeer {
    /// Another execution client's JSON-RPC URL.
    Rpc(String),
    /// Another simulated execution client in this process.
    InProcess(SharedState),
}

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The peer could not be asked.
    #[error("asking the sync peer for block {hash}: {reason}")]
    Transport {
        /// The block asked for.
        hash: B256,
        /// The transport error.
        reason: String,
    },
    /// The peer does not have a block we need.
    #[error("the sync peer does not have block {0}")]
    Missing(B256),
    /// The peer answered with a block whose header hashes to something else.
    #[error("the sync peer answered block {asked} with a header hashing to {got}")]
    WrongHash {
        /// The block asked for.
        asked: B256,
        /// What the header hashes to.
        got: B256,
    },
    /// No known ancestor within [`MAX_SYNC_BLOCKS`].
    #[error("no known ancestor of {0} within {MAX_SYNC_BLOCKS} blocks")]
    TooDeep(B256),
    /// A fetched block failed re-execution.
    #[error("block {hash} from the sync peer is not valid: {reason}")]
    Invalid {
        /// The block.
        hash: B256,
        /// The payload status or Engine API error.
        reason: String,
    },
}

impl SyncPeer {
    /// The peer's block `hash` as a consensus block (`None`: the peer does not have it).
    async fn block(
        &self,
        client: Option<&HttpClient>,
        hash: B256,
    ) -> Result<Option<Block<OpTxEnvelope>>, SyncError> {
        match (self, client) {
            (Self::InProcess(state), _) => Ok(lock(state)
                .chain()
                .get(&hash)
                .map(|b: Arc<SimBlock>| b.block.clone())),
            (Self::Rpc(_), Some(client)) => {
                let block: Option<OpRpcBlock> = client
                    .request("eth_getBlockByHash", rpc_params![hash, true])
                    .await
                    .map_err(|e| SyncError::Transport {
                        hash,
                        reason: e.to_string(),
                    })?;
                Ok(block.map(|b| {
                    b.map_transactions(|t| t.inner.into_inner())
                        .into_consensus()
                }))
            }
            (Self::Rpc(url), None) => Err(SyncError::Transport {
                hash,
                reason: format!("no client for {url}"),
            }),
        }
    }
}

/// The `newPayload` input that carries a fetched block, and the method version for it.
fn payload_of(hash: B256, block: &Block<OpTxEnvelope>, version: PayloadVersion) -> NewPayload {
    let v4 = version == PayloadVersion::V4;
    NewPayload {
        payload: ExecutionPayloadV3::from_block_unchecked(hash, block),
        withdrawals_root: if v4 {
            block.header.withdrawals_root
        } else {
            None
        },
        versioned_hashes: Vec::new(),
        parent_beacon_block_root: block.header.parent_beacon_block_root.unwrap_or_default(),
        execution_requests: v4.then(Vec::new),
    }
}

/// Fetches `target` and its missing ancestors from `peer` and imports them, oldest first;
/// returns how many blocks were imported.
pub async fn sync_to(
    state: &SharedState,
    peer: &SyncPeer,
    client: Option<&HttpClient>,
    target: SyncTarget,
) -> Result<usize, SyncError> {
    let mut fetched: Vec<(B256, Block<OpTxEnvelope>)> = Vec::new();
    let mut cursor = target.hash;
    loop {
        if lock(state).chain().get(&cursor).is_some() {
            break;
        }
        if fetched.len() >= MAX_SYNC_BLOCKS {
            return Err(SyncError::TooDeep(target.hash));
        }
        let block = match peer.block(client, cursor).await? {
            Some(b) => b,
            // A payload the peer has not seen yet: its parent is what we lack.
            None if fetched.is_empty() && target.parent.is_some_and(|p| p != cursor) => {
                cursor = target.parent.unwrap_or(cursor);
                continue;
            }
            None => return Err(SyncError::Missing(cursor)),
        };
        let got = block.header.hash_slow();
        if got != cursor {
            return Err(SyncError::WrongHash { asked: cursor, got });
        }
        let parent = block.header.parent_hash;
        fetched.push((cursor, block));
        cursor = parent;
    }
    let imported = fetched.len();
    for (hash, block) in fetched.into_iter().rev() {
        let mut s = lock(state);
        let version = PayloadVersion::for_fork(s.spec().forks.fork_at(block.header.timestamp));
        let status = s
            .new_payload(payload_of(hash, &block, version), version)
            .map_err(|e: EngineError| SyncError::Invalid {
                hash,
                reason: e.to_string(),
            })?;
        if !status.is_valid() {
            return Err(SyncError::Invalid {
                hash,
                reason: format!("{:?}", status.status),
            });
        }
    }
    Ok(imported)
}

/// The sync task of one client: whenever the engine answered SYNCING, sync to what it was
/// asked for, then apply the forkchoice state last asked for (as op-geth does once its sync
/// reaches the requested head). Stops when the client's state is dropped.
pub fn spawn(state: SharedState, peer: SyncPeer) -> JoinHandle<()> {
    let weak = Arc::downgrade(&state);
    drop(state);
    tokio::spawn(async move {
        let client = match &peer {
            SyncPeer::Rpc(url) => match HttpClientBuilder::default().build(url) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(%url, error = %e, "EL sync peer unusable; sync disabled");
                    return;
                }
            },
            SyncPeer::InProcess(_) => None,
        };
        loop {
            tokio::time::sleep(POLL).await;
            let Some(state) = weak.upgrade() else { return };
            let Some(target) = lock(&state).take_sync_target() else {
                continue;
            };
            match sync_to(&state, &peer, client.as_ref(), target).await {
                Ok(imported) => {
                    let fc: Option<ForkchoiceState> = lock(&state).last_forkchoice();
                    if let Some(fc) = fc
                        && let Err(e) = lock(&state).forkchoice_updated(fc, None)
                    {
                        tracing::debug!(error = %e, "forkchoice after EL sync refused");
                    }
                    tracing::info!(target = %target.hash, imported, "EL sync finished");
                }
                Err(e) => tracing::warn!(target = %target.hash, error = %e, "EL sync failed"),
            }
        }
    })
}
