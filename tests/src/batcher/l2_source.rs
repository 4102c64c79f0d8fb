//! The L2 chain as op-batcher sees it: full blocks from the execution client's eth JSON-RPC.
//!
//! ```text
//! eth_getBlockByNumber(n, true) ──▶ header + txs ──▶ tx 0: L1-info deposit ──▶ epoch, seq number
//!                                                  └▶ non-deposit txs (EIP-2718) ──▶ batch txs
//! ```

use alloy::eips::eip2718::Encodable2718;
use alloy::primitives::{B256, Bytes};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use op_alloy_consensus::OpTxEnvelope;
use opfleet_protocol::l1_info::{L1BlockInfo, L1InfoError};
use opfleet_protocol::{BlockId, L2BlockRef};
use serde_json::Value;

use super::channel_builder::BatchedBlock;

/// Why an L2 block could not be read.
#[derive(Debug, thiserror::Error)]
pub enum L2SourceError {
    /// The RPC URL is unusable.
    #[error("L2 RPC client for {url}: {reason}")]
    Client {
        /// The URL.
        url: String,
        /// The client's error.
        reason: String,
    },
    /// The call failed.
    #[error("{method}({block}) on the L2 RPC: {reason}")]
    Call {
        /// Method called.
        method: &'static str,
        /// Block asked for.
        block: String,
        /// The transport or JSON-RPC error.
        reason: String,
    },
    /// The response is not a block.
    #[error("L2 block {block}: malformed response: {reason}")]
    Malformed {
        /// Block asked for.
        block: String,
        /// What did not parse.
        reason: String,
    },
    /// A block without an L1-info deposit first.
    #[error("L2 block {number} ({hash}): first transaction is not the L1-info deposit")]
    NoL1Info {
        /// Block number.
        number: u64,
        /// Block hash.
        hash: B256,
    },
    /// The L1-info deposit does not decode.
    #[error("L2 block {number}: L1-info deposit: {source}")]
    L1Info {
        /// Block number.
        number: u64,
        /// The decoder's error.
        source: L1InfoError,
    },
}

/// Reads L2 blocks over HTTP JSON-RPC.
#[derive(Clone, Debug)]
pub struct L2Source {
    client: HttpClient,
}

impl L2Source {
    /// A client of the execution client at `url`.
    pub fn new(url: &str) -> Result<Self, L2SourceError> {
        let client =
            HttpClientBuilder::default()
                .build(url)
                .map_err(|e| L2SourceError::Client {
                    url: url.to_string(),
                    reason: e.to_string(),
                })?;
        Ok(Self { client })
    }

    /// Number of the latest (unsafe) block.
    pub async fn latest_number(&self) -> Result<u64, L2SourceError> {
        let raw: String = self
            .client
            .request("eth_blockNumber", rpc_params![])
            .await
            .map_err(|e| L2SourceError::Call {
                method: "eth_blockNumber",
                block: String::new(),
                reason: e.to_string(),
            })?;
        parse_quantity(&raw).ok_or_else(|| L2SourceError::Malformed {
            block: "latest".into(),
            reason: format!("block number {raw:?} is not a hex quantity"),
        })
    }

    /// The safe head's id (where the batcher restarts after an L2 reorg).
    pub async fn safe_head(&self) -> Result<BlockId, L2SourceError> {
        let header = self.header("safe").await?;
        Ok(BlockId {
            hash: header.hash,
            number: header.inner.number,
        })
    }

    /// Hash of the canonical block `number`, or `None` if the chain is not that long.
    pub async fn hash_at(&self, number: u64) -> Result<Option<B256>, L2SourceError> {
        let tag = format!("{number:#x}");
        let Some(raw) = self.get_block(&tag, false).await? else {
            return Ok(None);
        };
        let header: alloy::rpc::types::Header =
            serde_json::from_value(raw).map_err(|e| L2SourceError::Malformed {
                block: tag.clone(),
                reason: e.to_string(),
            })?;
        Ok(Some(header.hash))
    }

    /// Block `number` with its batch, or `None` if the chain is not that long.
    pub async fn block(&self, number: u64) -> Result<Option<BatchedBlock>, L2SourceError> {
        let tag = format!("{number:#x}");
        let Some(raw) = self.get_block(&tag, true).await? else {
            return Ok(None);
        };
        let malformed = |reason: String| L2SourceError::Malformed {
            block: tag.clone(),
            reason,
        };
        let block: alloy::rpc::types::Block<op_alloy_rpc_types::Transaction> =
            serde_json::from_value(raw).map_err(|e| malformed(e.to_string()))?;
        let hash = block.header.hash;
        let header = &block.header.inner;
        let txs: Vec<OpTxEnvelope> = block
            .transactions
            .into_transactions()
            .map(|tx| tx.inner.inner.into_inner())
            .collect();
        let info = match txs.first() {
            Some(OpTxEnvelope::Deposit(d)) => {
                L1BlockInfo::from_deposit_tx(d.inner()).map_err(|source| L2SourceError::L1Info {
                    number: header.number,
                    source,
                })?
            }
            _ => {
                return Err(L2SourceError::NoL1Info {
                    number: header.number,
                    hash,
                });
            }
        };
        let transactions: Vec<Bytes> = txs
            .iter()
            .filter(|tx| !matches!(tx, OpTxEnvelope::Deposit(_)))
            .map(|tx| tx.encoded_2718().into())
            .collect();
        let block_ref = L2BlockRef {
            hash,
            number: header.number,
            parent_hash: header.parent_hash,
            timestamp: header.timestamp,
            l1_origin: info.l1_origin(),
            sequence_number: info.sequence_number,
        };
        Ok(Some(BatchedBlock::new(block_ref, transactions)))
    }

    async fn header(&self, tag: &str) -> Result<alloy::rpc::types::Header, L2SourceError> {
        let raw = self
            .get_block(tag, false)
            .await?
            .ok_or_else(|| L2SourceError::Malformed {
                block: tag.to_string(),
                reason: "no such block".into(),
            })?;
        serde_json::from_value(raw).map_err(|e| L2SourceError::Malformed {
            block: tag.to_string(),
            reason: e.to_string(),
        })
    }

    async fn get_block(&self, tag: &str, full: bool) -> Result<Option<Value>, L2SourceError> {
        let raw: Value = self
            .client
            .request("eth_getBlockByNumber", rpc_params![tag, full])
            .await
            .map_err(|e| L2SourceError::Call {
                method: "eth_getBlockByNumber",
                block: tag.to_string(),
                reason: e.to_string(),
            })?;
        Ok((!raw.is_null()).then_some(raw))
    }
}

/// Parses a JSON-RPC hex quantity (`0x1a`).
fn parse_quantity(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("0x0"), Some(0));
        assert_eq!(parse_quantity("0x1a"), Some(26));
        assert_eq!(parse_quantity("1a"), None);
        assert_eq!(parse_quantity("0x"), None);
        assert_eq!(parse_quantity("0xzz"), None);
    }
}
