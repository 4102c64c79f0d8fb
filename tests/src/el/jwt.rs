//! Engine API authentication: HS256 JWTs with an `iat` claim within 60 seconds of now.
//!
//! ```text
//! Authorization: Bearer base64url(header) . base64url(claims) . base64url(HMAC-SHA256(secret, h.c))
//!                          {"alg":"HS256"}    {"iat":<unix secs>}
//! ```
//! The check is a pure function ([`JwtSecret::validate`]); [`JwtAuthLayer`] wraps it as a tower
//! HTTP middleware that answers 401 before the JSON-RPC server sees the request.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::{SystemTime, UNIX_EPOCH},
};

use alloy::primitives::hex;
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// How far `iat` may be from the server clock, either way (Engine API authentication spec).
pub const IAT_WINDOW_SECS: u64 = 60;

/// Why a secret or a token was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// The secret is not 32 bytes of hex.
    #[error("JWT secret must be 32 bytes of hex (64 characters, optional 0x), got {0} characters")]
    SecretLength(usize),
    /// The secret has non-hex characters.
    #[error("JWT secret is not hex: {0}")]
    SecretHex(String),
    /// No `Authorization: Bearer` header.
    #[error("missing Authorization: Bearer header")]
    MissingToken,
    /// The token does not have three dot-separated parts.
    #[error("token has {0} dot-separated parts, expected 3")]
    Parts(usize),
    /// A part is not base64url.
    #[error("token part {part} is not base64url")]
    Base64 {
        /// Which part (0 header, 1 claims, 2 signature).
        part: usize,
    },
    /// The header or claims are not the expected JSON.
    #[error("token {part} is not valid JSON: {reason}")]
    Json {
        /// `header` or `claims`.
        part: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// The header names another algorithm.
    #[error("token algorithm is {0}, expected HS256")]
    Algorithm(String),
    /// The signature does not match.
    #[error("token signature does not match the secret")]
    Signature,
    /// `iat` is outside the window.
    #[error("token iat {iat} is more than {IAT_WINDOW_SECS}s away from now ({now})")]
    Stale {
        /// The token's issued-at time.
        iat: u64,
        /// The server's clock.
        now: u64,
    },
}

#[derive(Serialize, Deserialize)]
struct JwtHeader {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct JwtClaims {
    iat: u64,
}

/// A 32-byte HS256 secret shared by the consensus and execution clients.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtSecret([u8; 32]);

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtSecret(..)")
    }
}

impl JwtSecret {
    /// Wraps raw secret bytes.
    pub const fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses the content of a `jwt.hex` file: 64 hex characters, optionally `0x`-prefixed,
    /// surrounding whitespace ignored.
    pub fn from_hex(text: &str) -> Result<Self, JwtError> {
        let trimmed = text.trim();
        let digits = trimmed.strip_prefix("0x").unwrap_or(trimmed);
        if digits.len() != 64 {
            return Err(JwtError::SecretLength(digits.len()));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(digits, &mut out).map_err(|e| JwtError::SecretHex(e.to_string()))?;
        Ok(Self(out))
    }

    /// The secret as `0x`-prefixed hex, the `jwt.hex` file format.
    pub fn to_hex(&self) -> String {
        hex::encode_prefixed(self.0)
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail for 32 bytes.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC-SHA256 takes any key length"))
    }

    /// Signs a token with the given issued-at time (what a consensus client sends).
    pub fn sign(&self, iat: u64) -> String {
        let header = JwtHeader {
            alg: "HS256".into(),
            typ: Some("JWT".into()),
        };
        let signing_input = format!("{}.{}", b64_json(&header), b64_json(&JwtClaims { iat }));
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let sig = mac.finalize().into_bytes();
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// Checks a token: HS256, a matching signature, and `iat` within [`IAT_WINDOW_SECS`] of `now`.
    pub fn validate(&self, token: &str, now: u64) -> Result<(), JwtError> {
        let parts: Vec<&str> = token.split('.').collect();
        let [header_b64, claims_b64, sig_b64] = parts.as_slice() else {
            return Err(JwtError::Parts(parts.len()));
        };
        let decode = |part: usize, text: &str| {
            URL_SAFE_NO_PAD
                .decode(text.trim_end_matches('='))
                .map_err(|_| JwtError::Base64 { part })
        };
        let header: JwtHeader =
            serde_json::from_slice(&decode(0, header_b64)?).map_err(|e| JwtError::Json {
                part: "header",
                reason: e.to_string(),
            })?;
        if header.alg != "HS256" {
            return Err(JwtError::Algorithm(header.alg));
        }
        let sig = decode(2, sig_b64)?;
        let mut mac = self.mac();
        mac.update(header_b64.as_bytes());
        mac.update(b".");
        mac.update(claims_b64.as_bytes());
        mac.verify_slice(&sig).map_err(|_| JwtError::Signature)?;
        let claims: JwtClaims =
            serde_json::from_slice(&decode(1, claims_b64)?).map_err(|e| JwtError::Json {
                part: "claims",
                reason: e.to_string(),
            })?;
        if claims.iat.abs_diff(now) > IAT_WINDOW_SECS {
            return Err(JwtError::Stale {
                iat: claims.iat,
                now,
            });
        }
        Ok(())
    }

    /// Checks the value of an `Authorization` header (`Bearer <token>`).
    pub fn validate_header(&self, header: Option<&str>, now: u64) -> Result<(), JwtError> {
        let token = header
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .ok_or(JwtError::MissingToken)?;
        self.validate(token.trim(), now)
    }
}

/// base64url of a value's JSON; these plain structs always serialize.
fn b64_json<T: Serialize>(value: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

/// Seconds since the Unix epoch by the system clock.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Tower layer that rejects requests without a valid token with HTTP 401.
#[derive(Clone, Debug)]
pub struct JwtAuthLayer {
    secret: JwtSecret,
}

impl JwtAuthLayer {
    /// A layer checking tokens against `secret`.
    pub const fn new(secret: JwtSecret) -> Self {
        Self { secret }
    }
}

impl<S> tower::Layer<S> for JwtAuthLayer {
    type Service = JwtAuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        JwtAuthService {
            inner,
            secret: self.secret.clone(),
        }
    }
}

/// The service [`JwtAuthLayer`] produces.
#[derive(Clone, Debug)]
pub struct JwtAuthService<S> {
    inner: S,
    secret: JwtSecret,
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl<S> tower::Service<HttpRequest> for JwtAuthService<S>
where
    S: tower::Service<HttpRequest, Response = HttpResponse<HttpBody>>,
    S::Error: Into<BoxError> + 'static,
    S::Future: Send + 'static,
{
    type Response = HttpResponse<HttpBody>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: HttpRequest) -> Self::Future {
        let header = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        match self.secret.validate_header(header, unix_now()) {
            Ok(()) => {
                let fut = self.inner.call(req);
                Box::pin(async move { fut.await.map_err(Into::into) })
            }
            Err(e) => {
                tracing::debug!(error = %e, "engine API request rejected");
                let mut resp = HttpResponse::new(HttpBody::from(format!("{e}\n")));
                *resp.status_mut() = http::StatusCode::UNAUTHORIZED;
                Box::pin(async move { Ok(resp) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET_HEX: &str = "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";

    fn secret() -> JwtSecret {
        JwtSecret::from_hex(SECRET_HEX).unwrap()
    }

    #[test]
    fn secret_file_forms() {
        let bare = SECRET_HEX.trim_start_matches("0x");
        assert_eq!(JwtSecret::from_hex(&format!("{bare}\n")).unwrap(), secret());
        assert_eq!(secret().to_hex(), SECRET_HEX);
        assert_eq!(
            JwtSecret::from_hex("0xabcd"),
            Err(JwtError::SecretLength(4))
        );
        assert!(matches!(
            JwtSecret::from_hex(&"zz".repeat(32)),
            Err(JwtError::SecretHex(_))
        ));
    }

    #[test]
    fn fresh_token_accepted_within_window() {
        let now = 1_700_000_000;
        for iat in [now - 60, now, now + 60] {
            secret().validate(&secret().sign(iat), now).unwrap();
        }
    }

    #[test]
    fn stale_and_future_tokens_rejected() {
        let now = 1_700_000_000;
        for iat in [now - 61, now + 61] {
            assert_eq!(
                secret().validate(&secret().sign(iat), now),
                Err(JwtError::Stale { iat, now })
            );
        }
    }

    #[test]
    fn wrong_secret_rejected() {
        let other = JwtSecret::new([9u8; 32]);
        assert_eq!(
            secret().validate(&other.sign(100), 100),
            Err(JwtError::Signature)
        );
    }

    #[test]
    fn other_algorithm_rejected() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let claims = URL_SAFE_NO_PAD.encode(br#"{"iat":100}"#);
        assert_eq!(
            secret().validate(&format!("{header}.{claims}."), 100),
            Err(JwtError::Algorithm("none".into()))
        );
    }

    #[test]
    fn header_forms() {
        let token = secret().sign(5);
        secret()
            .validate_header(Some(&format!("Bearer {token}")), 5)
            .unwrap();
        assert_eq!(
            secret().validate_header(None, 5),
            Err(JwtError::MissingToken)
        );
        assert_eq!(
            secret().validate_header(Some(&token), 5),
            Err(JwtError::MissingToken)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_tokens_never_panic(token in ".{0,200}") {
            let _ = secret().validate(&token, 0);
        }

        #[test]
        fn arbitrary_secrets_never_panic(text in ".{0,80}") {
            let _ = JwtSecret::from_hex(&text);
        }

        #[test]
        fn sign_validate_round_trip(key in any::<[u8; 32]>(), iat in 0u64..u64::MAX / 2) {
            let s = JwtSecret::new(key);
            prop_assert_eq!(s.validate(&s.sign(iat), iat), Ok(()));
        }
    }
}
