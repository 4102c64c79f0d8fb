//! JSON-RPC reads of a followed op-node (or any op-node-shaped CL) and of the L1 execution
//! client used to check it.

use alloy::primitives::B256;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use opfleet_protocol::output_root::OutputV0;
use opfleet_protocol::{L1BlockRef, OutputResponse, SyncStatus};
use serde::Deserialize;

use crate::node::{OutputAtBlock, OutputRootSource, SourceError};

fn transport(url: &str, e: impl std::fmt::Display) -> SourceError {
    SourceError::Unavailable(format!("{url}: {e}"))
}

fn client(url: &str) -> Result<HttpClient, SourceError> {
    HttpClientBuilder::default()
        .request_timeout(std::time::Duration::from_secs(10))
        .build(url)
        .map_err(|e| SourceError::Invalid(format!("{url}: {e}")))
}

/// Does `e` say the server does not have the thing asked for (rather than failing)?
fn is_not_found(e: &jsonrpsee::core::client::Error) -> bool {
    matches!(e, jsonrpsee::core::client::Error::Call(obj)
        if obj.message().to_ascii_lowercase().contains("not found"))
}

/// A followed op-node.
#[derive(Clone, Debug)]
pub struct OpNodeClient {
    url: String,
    rpc: HttpClient,
}

impl OpNodeClient {
    /// A client of the op-node at `url`.
    pub fn new(url: &str) -> Result<Self, SourceError> {
        Ok(Self {
            url: url.to_string(),
            rpc: client(url)?,
        })
    }

    /// `optimism_syncStatus`.
    pub async fn sync_status(&self) -> Result<SyncStatus, SourceError> {
        self.rpc
            .request("optimism_syncStatus", rpc_params![])
            .await
            .map_err(|e| transport(&self.url, e))
    }

    /// `optimism_outputAtBlock`, checked: version 0 and the root is the hash of its preimage.
    pub async fn output_at(&self, number: u64) -> Result<Option<OutputAtBlock>, SourceError> {
        let r: OutputResponse = match self
            .rpc
            .request(
                "optimism_outputAtBlock",
                rpc_params![format!("{number:#x}")],
            )
            .await
        {
            Ok(r) => r,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(transport(&self.url, e)),
        };
        check_output(&r, number)?;
        Ok(Some(OutputAtBlock {
            block: r.block_ref,
            output_root: r.output_root,
            state_root: r.state_root,
            message_passer_storage_root: r.withdrawal_storage_root,
        }))
    }
}

/// The checks a followed output must pass before we sign over it.
pub fn check_output(r: &OutputResponse, number: u64) -> Result<(), SourceError> {
    if r.version != B256::ZERO {
        return Err(SourceError::Invalid(format!(
            "output of block #{number}: version {} (only v0 is defined)",
            r.version
        )));
    }
    if r.block_ref.number != number {
        return Err(SourceError::Invalid(format!(
            "asked for the output of block #{number}, got block #{}",
            r.block_ref.number
        )));
    }
    let want = OutputV0 {
        state_root: r.state_root,
        message_passer_storage_root: r.withdrawal_storage_root,
        block_hash: r.block_ref.hash,
    }
    .output_root();
    if want != r.output_root {
        return Err(SourceError::Invalid(format!(
            "output of block #{number}: outputRoot {} is not the hash of its preimage ({want})",
            r.output_root
        )));
    }
    Ok(())
}

#[async_trait::async_trait]
impl OutputRootSource for OpNodeClient {
    async fn output_at_block(&self, number: u64) -> Result<Option<OutputAtBlock>, SourceError> {
        self.output_at(number).await
    }
}

/// Canonical L1 blocks by number, to check a followed status against our own L1 view.
#[async_trait::async_trait]
pub trait CanonicalL1: Send + Sync {
    /// The canonical block at `number`; `None` above the head.
    async fn block_ref_by_number(&self, number: u64) -> Result<Option<L1BlockRef>, SourceError>;
}

/// An L1 execution client over eth JSON-RPC.
#[derive(Clone, Debug)]
pub struct L1Rpc {
    url: String,
    rpc: HttpClient,
}

/// The header fields of `eth_getBlockByNumber` an [`L1BlockRef`] needs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcHeader {
    hash: B256,
    #[serde(with = "alloy::serde::quantity")]
    number: u64,
    parent_hash: B256,
    #[serde(with = "alloy::serde::quantity")]
    timestamp: u64,
}

impl L1Rpc {
    /// A client of the L1 execution client at `url`.
    pub fn new(url: &str) -> Result<Self, SourceError> {
        Ok(Self {
            url: url.to_string(),
            rpc: client(url)?,
        })
    }
}

#[async_trait::async_trait]
impl CanonicalL1 for L1Rpc {
    async fn block_ref_by_number(&self, number: u64) -> Result<Option<L1BlockRef>, SourceError> {
        let h: Option<RpcHeader> = self
            .rpc
            .request(
                "eth_getBlockByNumber",
                rpc_params![format!("{number:#x}"), false],
            )
            .await
            .map_err(|e| transport(&self.url, e))?;
        match h {
            None => Ok(None),
            Some(h) if h.number != number => Err(SourceError::Invalid(format!(
                "{}: asked for L1 block #{number}, got #{}",
                self.url, h.number
            ))),
            Some(h) => Ok(Some(L1BlockRef {
                hash: h.hash,
                number: h.number,
                parent_hash: h.parent_hash,
                timestamp: h.timestamp,
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_must_hash_to_their_root() {
        let mut r = OutputResponse {
            state_root: B256::repeat_byte(1),
            withdrawal_storage_root: B256::repeat_byte(2),
            ..Default::default()
        };
        r.block_ref.number = 7;
        r.block_ref.hash = B256::repeat_byte(3);
        r.output_root = OutputV0 {
            state_root: r.state_root,
            message_passer_storage_root: r.withdrawal_storage_root,
            block_hash: r.block_ref.hash,
        }
        .output_root();
        check_output(&r, 7).unwrap();
        assert!(check_output(&r, 8).unwrap_err().to_string().contains("#8"));
        let mut bad = r;
        bad.output_root = B256::repeat_byte(9);
        assert!(
            check_output(&bad, 7)
                .unwrap_err()
                .to_string()
                .contains("preimage")
        );
        let mut v1 = r;
        v1.version = B256::repeat_byte(1);
        assert!(
            check_output(&v1, 7)
                .unwrap_err()
                .to_string()
                .contains("version")
        );
    }
}
