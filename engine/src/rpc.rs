//! JSON-RPC 2.0 over HTTP POST, with an optional fresh Engine API token on every request.
//!
//! ```text
//!  call(method, params) ─POST {"jsonrpc":"2.0","id":n,"method","params"}─▶ url
//!                        [Authorization: Bearer <HS256 token, iat = now>]
//!  HTTP 401/403 ─▶ Unauthorized      other non-2xx ─▶ Http       no answer ─▶ Transport
//!  {"error":{code,message}} ─▶ Rpc   {"result":..} not the expected type ─▶ Decode
//! ```
//! Errors keep the three cases a caller acts on apart: the endpoint is unreachable or refuses us
//! (retry, alert), the endpoint answered with an error, or the answer is malformed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::jwt::JwtSecret;

/// How long a call may take, connection included, before it fails as a transport error: a hung
/// execution client must not stall a driver forever.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// How much of an unexpected HTTP body an error keeps.
const BODY_EXCERPT: usize = 200;

/// Why a JSON-RPC call failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The URL is not an absolute http(s) URL.
    #[error("invalid RPC URL {url:?}: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The parameters could not be written as JSON.
    #[error("{method}: parameters do not serialize: {reason}")]
    Params {
        /// The method called.
        method: String,
        /// The serializer's message.
        reason: String,
    },
    /// No HTTP answer: connection refused, timeout, broken connection.
    #[error("{method} to {url}: transport: {reason}")]
    Transport {
        /// The method called.
        method: String,
        /// The endpoint.
        url: String,
        /// The HTTP client's message.
        reason: String,
    },
    /// The endpoint rejected our credentials (HTTP 401 or 403): wrong or missing JWT secret.
    #[error("{method} to {url}: unauthorized (HTTP {status}): {body}")]
    Unauthorized {
        /// The method called.
        method: String,
        /// The endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// Another non-success HTTP status.
    #[error("{method} to {url}: HTTP {status}: {body}")]
    Http {
        /// The method called.
        method: String,
        /// The endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The server answered with a JSON-RPC error object.
    #[error("{method}: JSON-RPC error {code}: {message}")]
    Rpc {
        /// The method called.
        method: String,
        /// The error code.
        code: i64,
        /// The error message.
        message: String,
        /// The error's `data` member, if any.
        data: Option<serde_json::Value>,
    },
    /// The answer is not a JSON-RPC response carrying the expected result type.
    #[error("{method}: malformed answer: {reason}")]
    Decode {
        /// The method called.
        method: String,
        /// What is wrong.
        reason: String,
    },
}

impl RpcError {
    /// The endpoint could not be reached or refused the request at the HTTP level.
    pub const fn is_transport(&self) -> bool {
        matches!(
            self,
            Self::Transport { .. } | Self::Http { .. } | Self::Unauthorized { .. }
        )
    }

    /// The endpoint rejected our JWT.
    pub const fn is_unauthorized(&self) -> bool {
        matches!(self, Self::Unauthorized { .. })
    }
}

#[derive(Serialize)]
struct Request<'a> {
    jsonrpc: &'static str,
    id: u64,
    method: &'a str,
    params: serde_json::Value,
}

#[derive(serde::Deserialize)]
struct ErrorObject {
    code: i64,
    message: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

#[derive(serde::Deserialize)]
struct Response {
    #[serde(default)]
    result: serde_json::Value,
    #[serde(default)]
    error: Option<ErrorObject>,
}

/// A JSON-RPC endpoint, optionally authenticated with an Engine API JWT.
#[derive(Debug)]
pub struct RpcTransport {
    url: String,
    http: reqwest::Client,
    secret: Option<JwtSecret>,
    next_id: AtomicU64,
}

impl RpcTransport {
    /// An endpoint at `url`; with `secret`, every request carries a fresh bearer token.
    pub fn new(url: &str, secret: Option<JwtSecret>) -> Result<Self, RpcError> {
        let bad = |reason: String| RpcError::Url {
            url: url.to_string(),
            reason,
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad(format!(
                "scheme {:?} is not http or https",
                parsed.scheme()
            )));
        }
        Ok(Self {
            url: url.to_string(),
            http: http_client(url, DEFAULT_TIMEOUT)?,
            secret,
            next_id: AtomicU64::new(1),
        })
    }

    /// The same endpoint with another per-call timeout.
    pub fn with_timeout(self, timeout: Duration) -> Result<Self, RpcError> {
        Ok(Self {
            http: http_client(&self.url, timeout)?,
            ..self
        })
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method` with positional `params` (a tuple or array) and decodes the result as `R`.
    pub async fn call<P: Serialize, R: DeserializeOwned>(
        &self,
        method: &str,
        params: P,
    ) -> Result<R, RpcError> {
        let params = match serde_json::to_value(params) {
            // `()` serializes as null; servers expect an empty positional list.
            Ok(serde_json::Value::Null) => serde_json::Value::Array(Vec::new()),
            Ok(v) => v,
            Err(e) => {
                return Err(RpcError::Params {
                    method: method.to_string(),
                    reason: e.to_string(),
                });
            }
        };
        let request = Request {
            jsonrpc: "2.0",
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            method,
            params,
        };
        let mut builder = self.http.post(&self.url).json(&request);
        if let Some(secret) = &self.secret {
            builder = builder.bearer_auth(secret.token_now());
        }
        let transport = |e: reqwest::Error| RpcError::Transport {
            method: method.to_string(),
            url: self.url.clone(),
            reason: error_chain(&e),
        };
        let response = builder.send().await.map_err(transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            let excerpt = excerpt(&body);
            let (method, url, status) = (method.to_string(), self.url.clone(), status.as_u16());
            return Err(if matches!(status, 401 | 403) {
                RpcError::Unauthorized {
                    method,
                    url,
                    status,
                    body: excerpt,
                }
            } else {
                RpcError::Http {
                    method,
                    url,
                    status,
                    body: excerpt,
                }
            });
        }
        decode_response(method, &body)
    }
}

fn http_client(url: &str, timeout: Duration) -> Result<reqwest::Client, RpcError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| RpcError::Url {
            url: url.to_string(),
            reason: e.to_string(),
        })
}

/// Reads a JSON-RPC response body: the error object if there is one, else the result as `R`.
pub(crate) fn decode_response<R: DeserializeOwned>(
    method: &str,
    body: &[u8],
) -> Result<R, RpcError> {
    let decode = |reason: String| RpcError::Decode {
        method: method.to_string(),
        reason,
    };
    let response: Response = serde_json::from_slice(body)
        .map_err(|e| decode(format!("{e} in body {:?}", excerpt(body))))?;
    if let Some(error) = response.error {
        return Err(RpcError::Rpc {
            method: method.to_string(),
            code: error.code,
            message: error.message,
            data: error.data,
        });
    }
    // A missing result member reads as `null`, which is how some servers write it.
    serde_json::from_value(response.result).map_err(|e| decode(format!("result: {e}")))
}

/// The start of a body as text, for error messages.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    match trimmed.char_indices().nth(BODY_EXCERPT) {
        Some((cut, _)) => format!("{}...", &trimmed[..cut]),
        None => trimmed.to_string(),
    }
}

/// An error with its sources, since reqwest's top-level message omits the cause.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn result_and_null() {
        let n: u64 = decode_response("m", br#"{"jsonrpc":"2.0","id":1,"result":7}"#).unwrap();
        assert_eq!(n, 7);
        let none: Option<u64> =
            decode_response("m", br#"{"jsonrpc":"2.0","id":1,"result":null}"#).unwrap();
        assert_eq!(none, None);
        let none: Option<u64> = decode_response("m", br#"{"jsonrpc":"2.0","id":1}"#).unwrap();
        assert_eq!(none, None);
    }

    #[test]
    fn error_object_wins() {
        let err = decode_response::<u64>(
            "engine_newPayloadV3",
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":-38005,"message":"Unsupported fork","data":"x"}}"#,
        )
        .unwrap_err();
        match err {
            RpcError::Rpc {
                method,
                code,
                message,
                data,
            } => {
                assert_eq!(method, "engine_newPayloadV3");
                assert_eq!(code, -38005);
                assert_eq!(message, "Unsupported fork");
                assert_eq!(data, Some(serde_json::json!("x")));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_result_type_is_decode_error() {
        let err =
            decode_response::<u64>("m", br#"{"jsonrpc":"2.0","id":1,"result":"x"}"#).unwrap_err();
        assert!(matches!(err, RpcError::Decode { .. }), "{err}");
        assert!(!err.is_transport());
        let err = decode_response::<u64>("m", b"<html>").unwrap_err();
        assert!(err.to_string().contains("<html>"), "{err}");
    }

    #[test]
    fn urls_are_checked() {
        assert!(matches!(
            RpcTransport::new("not a url", None),
            Err(RpcError::Url { .. })
        ));
        assert!(matches!(
            RpcTransport::new("ws://127.0.0.1:1", None),
            Err(RpcError::Url { .. })
        ));
        RpcTransport::new("http://127.0.0.1:8551", None).unwrap();
    }

    #[tokio::test]
    async fn unreachable_endpoint_is_transport_error() {
        // Port 1 on loopback refuses connections on any ordinary machine.
        let t = RpcTransport::new("http://127.0.0.1:1", None).unwrap();
        let err = t.call::<_, u64>("eth_blockNumber", ()).await.unwrap_err();
        assert!(err.is_transport(), "{err}");
        assert!(!err.is_unauthorized());
    }

    #[tokio::test]
    async fn a_silent_endpoint_times_out_as_transport_error() {
        // Accepts connections and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        let t = RpcTransport::new(&url, None)
            .unwrap()
            .with_timeout(Duration::from_millis(200))
            .unwrap();
        let started = std::time::Instant::now();
        let err = t.call::<_, u64>("eth_blockNumber", ()).await.unwrap_err();
        assert!(err.is_transport(), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        held.abort();
    }

    #[test]
    fn excerpt_is_bounded_on_char_boundaries() {
        let body = "é".repeat(500);
        let e = excerpt(body.as_bytes());
        assert_eq!(e.chars().count(), BODY_EXCERPT + 3);
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_response::<Option<u64>>("m", &body);
        }
    }
}
