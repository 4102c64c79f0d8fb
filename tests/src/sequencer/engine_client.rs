//! An Engine API client over HTTP with JWT authentication, as a consensus client drives an
//! execution client.
//!
//! ```text
//!  forkchoice_updated(state, attrs?) ─▶ engine_forkchoiceUpdatedV3
//!  get_payload(id, V3|V4) ────────────▶ engine_getPayloadV3|V4 ─▶ OpExecutionPayloadEnvelope
//!  new_payload(envelope) ─────────────▶ engine_newPayloadV3|V4 (by the payload's variant)
//!  eth_* ─────────────────────────────▶ the same listener (op-geth serves eth on authrpc)
//! ```
//! Tokens carry `iat` = now and are reissued well inside the 60 s window the server allows.

use std::sync::Mutex;

use alloy::primitives::{B256, Bytes};
use alloy::rpc::types::engine::{ForkchoiceState, ForkchoiceUpdated, PayloadId, PayloadStatus};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::traits::ToRpcParams;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use op_alloy_rpc_types_engine::{
    OpExecutionPayload, OpExecutionPayloadEnvelope, OpExecutionPayloadEnvelopeV3,
    OpExecutionPayloadEnvelopeV4, OpPayloadAttributes,
};
use serde::de::DeserializeOwned;

use crate::el::JwtSecret;
use crate::el::jwt::unix_now;

/// A token is reissued once it is this old (the server accepts 60 s either way).
const TOKEN_REFRESH_SECS: u64 = 20;

/// Why an Engine API call failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineClientError {
    /// The client could not be built (bad URL or header).
    #[error("Engine API client for {url}: {reason}")]
    Client {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The call failed: transport, JSON-RPC error or unparsable answer.
    #[error("{method}: {reason}")]
    Rpc {
        /// The method.
        method: &'static str,
        /// The client's message.
        reason: String,
    },
    /// A V1/V2 payload: every devnet block is Ecotone or later.
    #[error("cannot submit a pre-Ecotone payload (block {0})")]
    PreEcotonePayload(u64),
    /// A V3/V4 payload without its parent beacon block root.
    #[error("payload {0} lacks its parent beacon block root")]
    MissingParentBeaconRoot(u64),
}

/// The `getPayload` version to call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetPayloadVersion {
    /// Ecotone to Holocene.
    V3,
    /// Isthmus and later.
    V4,
}

struct Authed {
    client: HttpClient,
    issued_at: u64,
}

/// An authenticated Engine API client.
pub struct EngineClient {
    url: String,
    secret: JwtSecret,
    current: Mutex<Option<Authed>>,
}

impl std::fmt::Debug for EngineClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineClient")
            .field("url", &self.url)
            .finish()
    }
}

impl EngineClient {
    /// A client of the Engine API at `url`, signing tokens with `secret`.
    pub fn new(url: impl Into<String>, secret: JwtSecret) -> Self {
        Self {
            url: url.into(),
            secret,
            current: Mutex::new(None),
        }
    }

    /// An HTTP client whose bearer token is fresh.
    fn client(&self) -> Result<HttpClient, EngineClientError> {
        let now = unix_now();
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(a) = current.as_ref()
            && now.saturating_sub(a.issued_at) < TOKEN_REFRESH_SECS
        {
            return Ok(a.client.clone());
        }
        let fail = |reason: String| EngineClientError::Client {
            url: self.url.clone(),
            reason,
        };
        let mut headers = http::HeaderMap::new();
        let value = http::HeaderValue::from_str(&format!("Bearer {}", self.secret.sign(now)))
            .map_err(|e| fail(e.to_string()))?;
        headers.insert(http::header::AUTHORIZATION, value);
        let client = HttpClientBuilder::default()
            .set_headers(headers)
            .build(&self.url)
            .map_err(|e| fail(e.to_string()))?;
        *current = Some(Authed {
            client: client.clone(),
            issued_at: now,
        });
        Ok(client)
    }

    /// Calls `method` on the Engine API listener.
    pub async fn call<R: DeserializeOwned>(
        &self,
        method: &'static str,
        params: impl ToRpcParams + Send,
    ) -> Result<R, EngineClientError> {
        self.client()?
            .request(method, params)
            .await
            .map_err(|e| EngineClientError::Rpc {
                method,
                reason: e.to_string(),
            })
    }

    /// `engine_forkchoiceUpdatedV3`.
    pub async fn forkchoice_updated(
        &self,
        state: ForkchoiceState,
        attrs: Option<&OpPayloadAttributes>,
    ) -> Result<ForkchoiceUpdated, EngineClientError> {
        self.call("engine_forkchoiceUpdatedV3", rpc_params![state, attrs])
            .await
    }

    /// `engine_getPayloadV3/V4`, as the fork-neutral envelope.
    pub async fn get_payload(
        &self,
        id: PayloadId,
        version: GetPayloadVersion,
    ) -> Result<OpExecutionPayloadEnvelope, EngineClientError> {
        Ok(match version {
            GetPayloadVersion::V3 => {
                let e: OpExecutionPayloadEnvelopeV3 =
                    self.call("engine_getPayloadV3", rpc_params![id]).await?;
                OpExecutionPayloadEnvelope {
                    parent_beacon_block_root: Some(e.parent_beacon_block_root),
                    execution_payload: OpExecutionPayload::V3(e.execution_payload),
                }
            }
            GetPayloadVersion::V4 => {
                let e: OpExecutionPayloadEnvelopeV4 =
                    self.call("engine_getPayloadV4", rpc_params![id]).await?;
                OpExecutionPayloadEnvelope {
                    parent_beacon_block_root: Some(e.parent_beacon_block_root),
                    execution_payload: OpExecutionPayload::V4(e.execution_payload),
                }
            }
        })
    }

    /// `engine_newPayloadV3/V4` by the payload's variant (no blobs, no execution requests).
    pub async fn new_payload(
        &self,
        envelope: &OpExecutionPayloadEnvelope,
    ) -> Result<PayloadStatus, EngineClientError> {
        let p = &envelope.execution_payload;
        let root = envelope
            .parent_beacon_block_root
            .ok_or(EngineClientError::MissingParentBeaconRoot(p.block_number()))?;
        match p {
            OpExecutionPayload::V3(v3) => {
                self.call(
                    "engine_newPayloadV3",
                    rpc_params![v3, Vec::<B256>::new(), root],
                )
                .await
            }
            OpExecutionPayload::V4(v4) => {
                self.call(
                    "engine_newPayloadV4",
                    rpc_params![v4, Vec::<B256>::new(), root, Vec::<Bytes>::new()],
                )
                .await
            }
            OpExecutionPayload::V1(_) | OpExecutionPayload::V2(_) => {
                Err(EngineClientError::PreEcotonePayload(p.block_number()))
            }
        }
    }
}
