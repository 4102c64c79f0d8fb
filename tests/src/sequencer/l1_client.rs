//! What the sequencer reads from L1, over its JSON-RPC like a real sequencer does: block
//! headers (origin candidates and the L1-info values) and receipts (deposits and system config
//! updates of a new epoch).
//!
//! ```text
//!  eth_getBlockByNumber(n|latest) ─▶ L1Origin { ref, base fee, blob base fee, mix hash,
//!                                              parent beacon root }
//!  eth_getBlockReceipts(hash) ──────▶ [(block log index, log)] of successful receipts
//! ```

use alloy::eips::BlockNumberOrTag;
use alloy::eips::eip7840::BlobParams;
use alloy::primitives::{B256, Log, U64};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use serde::Deserialize;

/// Why an L1 read failed.
#[derive(Debug, thiserror::Error)]
pub enum L1ClientError {
    /// The URL is unusable.
    #[error("L1 RPC client for {url}: {reason}")]
    Client {
        /// The URL.
        url: String,
        /// The builder's message.
        reason: String,
    },
    /// The request failed or the answer did not parse.
    #[error("L1 RPC {method}: {reason}")]
    Rpc {
        /// The method.
        method: &'static str,
        /// The client's message.
        reason: String,
    },
    /// The head block is missing (the L1 answered `null` for `latest`).
    #[error("L1 has no latest block")]
    NoHead,
    /// A receipt has no log index (the L1 must give mined logs).
    #[error("L1 receipt {receipt} of block {block}: log {position} has no logIndex")]
    MissingLogIndex {
        /// The block hash.
        block: B256,
        /// The receipt's position in the block.
        receipt: usize,
        /// The log's position in the receipt.
        position: usize,
    },
}

pub use opfleet_protocol::attributes::L1Origin;

/// Only what the sequencer needs of an L1 receipt.
#[derive(Deserialize)]
struct ReceiptLogs {
    status: Option<U64>,
    logs: Vec<alloy::rpc::types::Log>,
}

/// A JSON-RPC client of the L1 execution node.
#[derive(Clone, Debug)]
pub struct L1Client {
    http: HttpClient,
}

impl L1Client {
    /// A client of the L1 at `url`.
    pub fn new(url: &str) -> Result<Self, L1ClientError> {
        let http = HttpClientBuilder::default()
            .build(url)
            .map_err(|e| L1ClientError::Client {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Self { http })
    }

    async fn block(&self, tag: BlockNumberOrTag) -> Result<Option<L1Origin>, L1ClientError> {
        let block: Option<alloy::rpc::types::Block> = self
            .http
            .request("eth_getBlockByNumber", rpc_params![tag, false])
            .await
            .map_err(|e| L1ClientError::Rpc {
                method: "eth_getBlockByNumber",
                reason: e.to_string(),
            })?;
        Ok(block
            .map(|b| L1Origin::from_header(b.header.hash, &b.header.inner, &BlobParams::prague())))
    }

    /// The L1 block at `number`, if mined.
    pub async fn by_number(&self, number: u64) -> Result<Option<L1Origin>, L1ClientError> {
        self.block(BlockNumberOrTag::Number(number)).await
    }

    /// The L1 head.
    pub async fn head(&self) -> Result<L1Origin, L1ClientError> {
        self.block(BlockNumberOrTag::Latest)
            .await?
            .ok_or(L1ClientError::NoHead)
    }

    /// The logs of the block's successful receipts with their index in the block.
    pub async fn logs(&self, block: B256) -> Result<Vec<(u64, Log)>, L1ClientError> {
        let receipts: Option<Vec<ReceiptLogs>> = self
            .http
            .request("eth_getBlockReceipts", rpc_params![block])
            .await
            .map_err(|e| L1ClientError::Rpc {
                method: "eth_getBlockReceipts",
                reason: e.to_string(),
            })?;
        let mut out = Vec::new();
        for (receipt, r) in receipts.unwrap_or_default().into_iter().enumerate() {
            // Pre-Byzantium receipts have no status; the devnet L1 is post-merge.
            if r.status.is_some_and(|s| s.is_zero()) {
                continue;
            }
            for (position, log) in r.logs.into_iter().enumerate() {
                let index = log.log_index.ok_or(L1ClientError::MissingLogIndex {
                    block,
                    receipt,
                    position,
                })?;
                out.push((index, log.inner));
            }
        }
        Ok(out)
    }
}
