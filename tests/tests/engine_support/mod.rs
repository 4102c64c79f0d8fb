//! Shared by the tests that drive a simulated execution client's Engine API over real HTTP with
//! real JWTs, as a consensus client does.
//!
//! ```text
//!  engine(el, secret) ── Authorization: Bearer <JWT now> ──▶ el :8551
//!    forkchoice_updated(head, safe, attrs) ─▶ payload id ─▶ get_payload ─▶ new_payload
//! ```

#![allow(dead_code)]

use alloy::primitives::{B256, Bytes};
use alloy::rpc::types::engine::{ForkchoiceState, ForkchoiceUpdated, PayloadId, PayloadStatus};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use op_alloy_rpc_types_engine::{OpExecutionPayloadEnvelopeV4, OpPayloadAttributes};
use opfleet_tests::el::jwt::unix_now;
use opfleet_tests::el::{JwtSecret, SimElHandle};

/// A JSON-RPC client of `url`, with `Authorization: Bearer <token>` when given one.
pub fn client(url: String, token: Option<String>) -> HttpClient {
    let mut headers = http::HeaderMap::new();
    if let Some(token) = token {
        headers.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
    }
    HttpClientBuilder::default()
        .set_headers(headers)
        .build(url)
        .unwrap()
}

/// A client of `el`'s Engine API with a JWT signed by `secret` now.
pub fn engine(el: &SimElHandle, secret: &JwtSecret) -> HttpClient {
    client(el.engine_url(), Some(secret.sign(unix_now())))
}

/// `engine_forkchoiceUpdatedV3` to `head` and `safe` (finalized zero), building on `head`
/// with `attrs` if given.
pub async fn forkchoice_updated(
    c: &HttpClient,
    head: B256,
    safe: B256,
    attrs: Option<OpPayloadAttributes>,
) -> ForkchoiceUpdated {
    let state = ForkchoiceState {
        head_block_hash: head,
        safe_block_hash: safe,
        finalized_block_hash: B256::ZERO,
    };
    c.request("engine_forkchoiceUpdatedV3", rpc_params![state, attrs])
        .await
        .unwrap()
}

/// `engine_getPayloadV4` of a payload being built.
pub async fn get_payload(c: &HttpClient, id: PayloadId) -> OpExecutionPayloadEnvelopeV4 {
    c.request("engine_getPayloadV4", rpc_params![id])
        .await
        .unwrap()
}

/// `engine_newPayloadV4` of `env` (no blob hashes, no execution requests).
pub async fn new_payload(c: &HttpClient, env: &OpExecutionPayloadEnvelopeV4) -> PayloadStatus {
    c.request(
        "engine_newPayloadV4",
        rpc_params![
            &env.execution_payload,
            Vec::<B256>::new(),
            env.parent_beacon_block_root,
            Vec::<Bytes>::new()
        ],
    )
    .await
    .unwrap()
}

/// The block hash of a V4 envelope.
pub fn block_hash(env: &OpExecutionPayloadEnvelopeV4) -> B256 {
    env.execution_payload
        .payload_inner
        .payload_inner
        .payload_inner
        .block_hash
}
