//! The op-node-shaped endpoint of one chain, served under `/<chainid>/`.
//!
//! ```text
//!   optimism_syncStatus                 the served SyncStatus
//!   optimism_outputAtBlock(n)           OutputResponse of canonical block n (with syncStatus)
//!   optimism_rollupConfig               rollup.json
//!   optimism_version                    this build's version
//!   optimism_safeHeadAtL1Block(n)       SafeDB: safe head at the highest L1 block <= n
//!   opfleet_payloadByNumber(n)          {version, payload: req/resp body} | null  (with an EL)
//! ```

use std::sync::Arc;

use alloy::primitives::Bytes;
use jsonrpsee::RpcModule;
use jsonrpsee::core::RegisterMethodError;
use jsonrpsee::types::ErrorObjectOwned;
use opfleet_engine::PayloadForGossip;
use opfleet_protocol::p2p::ReqRespError;
use opfleet_protocol::p2p::req_resp::encode_payload_body;
use opfleet_protocol::{ChainId, OutputResponse, SafeHeadResponse, SyncStatus};
use serde::Serialize;

use super::params::{BACKEND, NOT_FOUND, err, positional, quantity, required};
use super::superroot::output_response;
use crate::node::{ChainState, NodeState};

/// This build's version string as `optimism_version` reports it.
pub const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"), "-opfleet");

/// `opfleet_payloadByNumber`'s answer (C2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PayloadByNumber {
    /// Gossip topic version, 1..=4 (the topic name's index + 1).
    pub version: u8,
    /// The payload_by_number answer body of that version: `[parent beacon root |] SSZ payload`.
    pub payload: Bytes,
}

impl PayloadByNumber {
    /// The answer carrying `block`, encoded as a payload_by_number answer body.
    pub fn encode(block: &PayloadForGossip) -> Result<Self, ReqRespError> {
        Ok(Self {
            version: block.version.topic_index() + 1,
            payload: encode_payload_body(&block.envelope, block.version)?.into(),
        })
    }
}

struct Ctx {
    node: Arc<NodeState>,
    chain: ChainId,
}

impl Ctx {
    fn chain(&self) -> Result<&ChainState, ErrorObjectOwned> {
        self.node
            .chain(self.chain)
            .ok_or_else(|| err(NOT_FOUND, format!("unknown chain {}", self.chain)))
    }

    fn status(&self) -> Result<SyncStatus, ErrorObjectOwned> {
        self.chain()?
            .served()
            .map(|h| h.status)
            .ok_or_else(|| err(NOT_FOUND, format!("chain {}: not synced yet", self.chain)))
    }
}

/// The module of `chain`.
pub fn module(node: Arc<NodeState>, chain: ChainId) -> Result<RpcModule<()>, RegisterMethodError> {
    let mut m = RpcModule::new(());
    let ctx = Arc::new(Ctx { node, chain });
    let has_payloads = ctx.chain().is_ok_and(|c| c.payloads.is_some());

    let c = ctx.clone();
    m.register_method("optimism_syncStatus", move |_, _, _| c.status())?;

    let c = ctx.clone();
    m.register_async_method("optimism_outputAtBlock", move |p, _, _| {
        let c = c.clone();
        async move {
            let args = positional(&p)?;
            let n = quantity(required(&args, 0, "blockNumber")?, "blockNumber")?;
            let status = c.status()?;
            let output = c
                .chain()?
                .outputs
                .output_at_block(n)
                .await
                .map_err(|e| err(BACKEND, format!("output at block #{n}: {e}")))?
                .ok_or_else(|| err(NOT_FOUND, format!("block #{n} not found")))?;
            Ok::<OutputResponse, ErrorObjectOwned>(OutputResponse {
                sync_status: Some(status),
                ..output_response(&output)
            })
        }
    })?;

    let c = ctx.clone();
    m.register_method("optimism_rollupConfig", move |_, _, _| {
        Ok::<_, ErrorObjectOwned>(c.chain()?.rollup.clone())
    })?;

    m.register_method("optimism_version", |_, _, _| VERSION)?;

    let c = ctx.clone();
    m.register_async_method("optimism_safeHeadAtL1Block", move |p, _, _| {
        let c = c.clone();
        async move {
            let args = positional(&p)?;
            let n = quantity(required(&args, 0, "l1BlockNumber")?, "l1BlockNumber")?;
            c.node
                .store()
                .safe_head_at_l1(c.chain, n)
                .await
                .map_err(|e| err(BACKEND, e.to_string()))?
                .ok_or_else(|| {
                    err(
                        NOT_FOUND,
                        format!("no safe head recorded at or before L1 block #{n}"),
                    )
                })
                .map(|r: SafeHeadResponse| r)
        }
    })?;

    if has_payloads {
        let c = ctx.clone();
        m.register_async_method("opfleet_payloadByNumber", move |p, _, _| {
            let c = c.clone();
            async move {
                let args = positional(&p)?;
                let n = quantity(required(&args, 0, "blockNumber")?, "blockNumber")?;
                let Some(source) = c.chain()?.payloads.clone() else {
                    return Ok(None);
                };
                // Any block the execution client has, unsafe ones included: see `ElPayloads`.
                let block = source
                    .payload_by_number(n)
                    .await
                    .map_err(|e| err(BACKEND, format!("payload of block #{n}: {e}")))?;
                block
                    .map(|b| PayloadByNumber::encode(&b))
                    .transpose()
                    .map_err(|e| err(BACKEND, format!("payload of block #{n}: {e}")))
            }
        })?;
    }
    Ok(m)
}
