//! The Engine API's shared secret and the HS256 tokens a consensus client mints from it
//! (execution-apis `src/engine/authentication.md`).
//!
//! ```text
//! jwt.hex:  [0x]<64 hex chars>            (surrounding whitespace ignored)
//! token:    base64url({"alg":"HS256","typ":"JWT"}) . base64url({"iat":<unix secs>})
//!           . base64url(HMAC-SHA256(secret, <the two parts joined by '.'>))
//! ```
//! The execution client accepts `iat` within 60 s of its clock, so a token is minted per request.
//!
//! alloy's `JwtSecret` needs the `jwt` feature of alloy-rpc-types-engine, which pulls in
//! jsonwebtoken and a crypto backend that are not in our dependency tree; HS256 with one claim is
//! a few lines over the `hmac` and `sha2` crates already pinned.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use alloy::primitives::hex;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Length of the secret in bytes.
pub const JWT_SECRET_LEN: usize = 32;

/// The token header every Engine API client sends.
const HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Why a secret could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// The text is not 64 hex digits after trimming whitespace and an optional `0x`.
    #[error("JWT secret must be 64 hex characters (optional 0x), got {0} characters")]
    Length(usize),
    /// A character is not a hex digit.
    #[error("JWT secret is not hex: {0}")]
    Hex(String),
    /// The secret file could not be read.
    #[error("reading JWT secret file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The secret file's content is not a secret.
    #[error("JWT secret file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with its content.
        source: Box<JwtError>,
    },
    /// The operating system gave no randomness.
    #[error("generating a JWT secret: {0}")]
    Random(String),
}

/// The 32-byte secret an execution client and its consensus client share.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtSecret([u8; JWT_SECRET_LEN]);

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key itself: Debug output ends up in logs.
        f.write_str("JwtSecret(..)")
    }
}

impl JwtSecret {
    /// Wraps raw secret bytes.
    pub const fn new(bytes: [u8; JWT_SECRET_LEN]) -> Self {
        Self(bytes)
    }

    /// Parses the `jwt.hex` form: 64 hex characters, optional `0x`, surrounding whitespace ignored.
    pub fn from_hex(text: &str) -> Result<Self, JwtError> {
        let trimmed = text.trim();
        let digits = trimmed
            .strip_prefix("0x")
            .or_else(|| trimmed.strip_prefix("0X"))
            .unwrap_or(trimmed);
        if digits.len() != 2 * JWT_SECRET_LEN {
            return Err(JwtError::Length(digits.len()));
        }
        let mut out = [0u8; JWT_SECRET_LEN];
        hex::decode_to_slice(digits, &mut out).map_err(|e| JwtError::Hex(e.to_string()))?;
        Ok(Self(out))
    }

    /// Reads a `jwt.hex` file; errors name the file.
    pub fn from_file(path: &Path) -> Result<Self, JwtError> {
        let text = std::fs::read_to_string(path).map_err(|source| JwtError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_hex(&text).map_err(|e| JwtError::File {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// A fresh random secret from the operating system's generator.
    pub fn generate() -> Result<Self, JwtError> {
        let mut out = [0u8; JWT_SECRET_LEN];
        getrandom::fill(&mut out).map_err(|e| JwtError::Random(e.to_string()))?;
        Ok(Self(out))
    }

    /// The secret as `0x`-prefixed lowercase hex, the `jwt.hex` file form.
    pub fn to_hex(&self) -> String {
        hex::encode_prefixed(self.0)
    }

    /// The raw secret bytes.
    pub const fn as_bytes(&self) -> &[u8; JWT_SECRET_LEN] {
        &self.0
    }

    /// A token with issued-at time `iat` (Unix seconds).
    pub fn token(&self, iat: u64) -> String {
        sign_hs256(&self.0, HEADER_JSON, &format!(r#"{{"iat":{iat}}}"#))
    }

    /// A token issued now by the system clock.
    pub fn token_now(&self) -> String {
        self.token(unix_now())
    }
}

/// A compact JWS over the given header and claims JSON, signed with HMAC-SHA256 (RFC 7515).
fn sign_hs256(key: &[u8], header_json: &str, claims_json: &str) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header_json),
        URL_SAFE_NO_PAD.encode(claims_json)
    );
    // HMAC takes keys of any length, so construction cannot fail.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 accepts keys of any length"),
    };
    mac.update(signing_input.as_bytes());
    let signature = mac.finalize().into_bytes();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Seconds since the Unix epoch by the system clock (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET_HEX: &str = "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";

    /// RFC 7515 Appendix A.1: the HS256 example JWS, byte for byte (its header and claims JSON
    /// contain CRLFs, which is why the signer takes JSON text rather than values).
    #[test]
    fn rfc7515_appendix_a1() {
        let key = URL_SAFE_NO_PAD
            .decode(
                "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
            )
            .unwrap();
        let header = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
        let claims =
            "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
        assert_eq!(
            sign_hs256(&key, header, claims),
            "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9\
             .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
             .dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
    }

    #[test]
    fn token_carries_hs256_header_and_iat_claim() {
        let token = JwtSecret::from_hex(SECRET_HEX)
            .unwrap()
            .token(1_700_000_000);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
        assert_eq!(claims, serde_json::json!({"iat": 1_700_000_000u64}));
    }

    #[test]
    fn signature_checks_with_an_independent_hmac() {
        let secret = JwtSecret::from_hex(SECRET_HEX).unwrap();
        let token = secret.token(42);
        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(input.as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap())
            .unwrap();
        let other = JwtSecret::new([9; 32]).token(42);
        assert_ne!(other.rsplit_once('.').unwrap().1, sig);
    }

    #[test]
    fn hex_forms() {
        let s = JwtSecret::from_hex(SECRET_HEX).unwrap();
        assert_eq!(s.to_hex(), SECRET_HEX);
        let bare = &SECRET_HEX[2..];
        assert_eq!(JwtSecret::from_hex(&format!("  {bare}\n")).unwrap(), s);
        assert_eq!(
            JwtSecret::from_hex(&format!(
                "\t{}\r\n",
                SECRET_HEX.to_uppercase().replace("0X", "0x")
            ))
            .unwrap(),
            s
        );
        assert!(matches!(
            JwtSecret::from_hex("0xabcd"),
            Err(JwtError::Length(4))
        ));
        assert!(matches!(
            JwtSecret::from_hex(&"zz".repeat(32)),
            Err(JwtError::Hex(_))
        ));
        assert!(matches!(JwtSecret::from_hex(""), Err(JwtError::Length(0))));
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("jwt.hex");
        std::fs::write(&good, format!("{SECRET_HEX}\n")).unwrap();
        assert_eq!(
            JwtSecret::from_file(&good).unwrap(),
            JwtSecret::from_hex(SECRET_HEX).unwrap()
        );

        let bad = dir.path().join("bad.hex");
        std::fs::write(&bad, "0x1234").unwrap();
        let err = JwtSecret::from_file(&bad).unwrap_err();
        assert!(matches!(err, JwtError::File { .. }));
        assert!(err.to_string().contains("bad.hex"), "{err}");

        let missing = dir.path().join("missing.hex");
        let err = JwtSecret::from_file(&missing).unwrap_err();
        assert!(matches!(err, JwtError::Read { .. }));
        assert!(err.to_string().contains("missing.hex"), "{err}");
    }

    #[test]
    fn generated_secrets_differ_and_round_trip() {
        let a = JwtSecret::generate().unwrap();
        let b = JwtSecret::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(JwtSecret::from_hex(&a.to_hex()).unwrap(), a);
    }

    #[test]
    fn debug_hides_the_key() {
        let s = JwtSecret::from_hex(SECRET_HEX).unwrap();
        assert_eq!(format!("{s:?}"), "JwtSecret(..)");
    }

    proptest! {
        #[test]
        fn hex_round_trip(bytes in any::<[u8; 32]>()) {
            let s = JwtSecret::new(bytes);
            prop_assert_eq!(JwtSecret::from_hex(&s.to_hex()).unwrap(), s);
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,100}") {
            let _ = JwtSecret::from_hex(&text);
        }
    }
}
