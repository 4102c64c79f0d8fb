//! Execution-layer JSON-RPC over HTTP: one POST per call, `null` results kept apart from errors.
//!
//! ```text
//!  call(method, params) ──POST {"jsonrpc":"2.0","id":n,"method","params"}──▶ L1 node
//!        ◀── {"result": T | null} → Ok(Some(T) | None)
//!        ◀── {"error": {code, message}} / HTTP status / transport failure → RpcError
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use super::retry::Retryable;
use crate::derive::traits::ProviderError;

/// JSON-RPC codes that say the request itself is wrong for this node: retrying cannot help.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

/// Why a JSON-RPC call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// No answer: connection refused or reset, timeout, body cut short.
    #[error("{method}: transport error: {reason}")]
    Transport {
        /// The JSON-RPC method.
        method: &'static str,
        /// What the HTTP client said.
        reason: String,
    },
    /// An HTTP status other than 200.
    #[error("{method}: HTTP status {status}: {body}")]
    Status {
        /// The JSON-RPC method.
        method: &'static str,
        /// The status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// A JSON-RPC error object.
    #[error("{method}: JSON-RPC error {code}: {message}")]
    Rpc {
        /// The JSON-RPC method.
        method: &'static str,
        /// The error code.
        code: i64,
        /// The error message.
        message: String,
    },
    /// A 200 answer that is not a JSON-RPC response, or whose result has the wrong shape.
    #[error("{method}: malformed response: {reason}")]
    Decode {
        /// The JSON-RPC method.
        method: &'static str,
        /// What is wrong, with serde's line and column.
        reason: String,
    },
}

impl RpcError {
    fn refused_request(&self) -> bool {
        matches!(self, Self::Rpc { code, .. }
            if matches!(*code, PARSE_ERROR | INVALID_REQUEST | METHOD_NOT_FOUND | INVALID_PARAMS))
    }
}

impl Retryable for RpcError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Status { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            Self::Rpc { .. } => !self.refused_request(),
            Self::Decode { .. } => false,
        }
    }
}

impl From<RpcError> for ProviderError {
    /// Malformed answers and requests the node refuses as malformed stop derivation (`Invalid`):
    /// the node cannot serve what derivation needs. Everything else may pass (`Temporary`).
    fn from(e: RpcError) -> Self {
        match &e {
            RpcError::Decode { .. } => Self::Invalid(e.to_string()),
            RpcError::Rpc { .. } if e.refused_request() => Self::Invalid(e.to_string()),
            _ => Self::Temporary(e.to_string()),
        }
    }
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    result: Option<Box<RawValue>>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

#[derive(Deserialize)]
struct ErrorObject {
    code: i64,
    #[serde(default)]
    message: String,
}

/// At most this much of an error body goes into an error message.
const BODY_EXCERPT: usize = 200;

fn excerpt(body: &[u8]) -> String {
    let cut = body.len().min(BODY_EXCERPT);
    String::from_utf8_lossy(body.get(..cut).unwrap_or_default()).into_owned()
}

/// Decodes a JSON-RPC response body: `Ok(None)` for a `null` (or absent) result.
pub fn decode_response<T: DeserializeOwned>(
    method: &'static str,
    body: &[u8],
) -> Result<Option<T>, RpcError> {
    let decode = |e: serde_json::Error| RpcError::Decode {
        method,
        reason: e.to_string(),
    };
    let resp: Response = serde_json::from_slice(body).map_err(decode)?;
    if let Some(err) = resp.error {
        return Err(RpcError::Rpc {
            method,
            code: err.code,
            message: err.message,
        });
    }
    match resp.result {
        None => Ok(None),
        Some(raw) => serde_json::from_str(raw.get()).map(Some).map_err(decode),
    }
}

/// A JSON-RPC client for one endpoint.
#[derive(Debug)]
pub struct RpcTransport {
    http: reqwest::Client,
    url: reqwest::Url,
    next_id: AtomicU64,
}

impl RpcTransport {
    /// A client for `url` over a shared HTTP client.
    pub fn new(http: reqwest::Client, url: reqwest::Url) -> Self {
        Self {
            http,
            url,
            next_id: AtomicU64::new(1),
        }
    }

    /// Calls `method` once; `Ok(None)` when the node answers `null`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        params: Value,
    ) -> Result<Option<T>, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body =
            serde_json::json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        let transport = |e: reqwest::Error| RpcError::Transport {
            method,
            reason: e.to_string(),
        };
        let resp = self
            .http
            .post(self.url.clone())
            .json(&body)
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(transport)?;
        if status != 200 {
            return Err(RpcError::Status {
                method,
                status,
                body: excerpt(&bytes),
            });
        }
        decode_response(method, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_nulls_and_errors() {
        let ok: Option<u64> =
            decode_response("m", br#"{"jsonrpc":"2.0","id":1,"result":7}"#).unwrap();
        assert_eq!(ok, Some(7));
        let null: Option<u64> =
            decode_response("m", br#"{"jsonrpc":"2.0","id":1,"result":null}"#).unwrap();
        assert_eq!(null, None);
        let err = decode_response::<u64>(
            "eth_getBlockReceipts",
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no such method"}}"#,
        )
        .unwrap_err();
        assert!(!err.is_retryable());
        assert!(matches!(
            ProviderError::from(err.clone()),
            ProviderError::Invalid(_)
        ));
        assert!(err.to_string().contains("eth_getBlockReceipts"), "{err}");
        let busy = decode_response::<u64>(
            "m",
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"limit exceeded"}}"#,
        )
        .unwrap_err();
        assert!(busy.is_retryable());
        assert!(matches!(
            ProviderError::from(busy),
            ProviderError::Temporary(_)
        ));
        let shape = decode_response::<u64>("m", br#"{"result":"seven"}"#).unwrap_err();
        assert!(matches!(shape, RpcError::Decode { .. }));
        assert!(matches!(
            ProviderError::from(shape),
            ProviderError::Invalid(_)
        ));
    }

    #[test]
    fn statuses_classify() {
        let status = |status| RpcError::Status {
            method: "m",
            status,
            body: String::new(),
        };
        assert!(status(429).is_retryable());
        assert!(status(503).is_retryable());
        assert!(!status(401).is_retryable());
        assert!(matches!(
            ProviderError::from(status(401)),
            ProviderError::Temporary(_)
        ));
    }

    proptest::proptest! {
        /// Arbitrary bodies never panic the decoder.
        #[test]
        fn decoder_never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = decode_response::<Value>("m", &body);
        }
    }
}
