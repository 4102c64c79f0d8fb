//! Beacon-node REST reads: the slot clock and the two blob endpoints, parsed but not yet trusted
//! (`blobs` checks what comes out of here).
//!
//! ```text
//!  GET /eth/v1/beacon/genesis    data.genesis_time        ┐ once: slot = (timestamp - genesis_time)
//!  GET /eth/v1/config/spec       data.SECONDS_PER_SLOT    ┘       / SECONDS_PER_SLOT
//!  GET /eth/v1/beacon/blob_sidecars/{slot}?indices=i&indices=j   [{index, blob, kzg_commitment, kzg_proof, ..}]
//!  GET /eth/v1/beacon/blobs/{slot}?versioned_hashes=0x01..        [blob, ..]   (block order)
//! ```
//! Integers are decimal strings in beacon JSON. Blobs are parsed from hex straight onto the heap:
//! a 128 KiB array must never pass through the stack of a tokio worker.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::retry::Retryable;
use crate::derive::traits::ProviderError;
use alloy::primitives::{B256, hex};
use opfleet_protocol::blob::Blob;

/// Why a beacon request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BeaconError {
    /// No answer: connection refused or reset, timeout, body cut short.
    #[error("beacon {path}: transport error: {reason}")]
    Transport {
        /// The request path.
        path: String,
        /// What the HTTP client said.
        reason: String,
    },
    /// An HTTP status other than 200.
    #[error("beacon {path}: HTTP status {status}: {body}")]
    Status {
        /// The request path.
        path: String,
        /// The status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// A 200 answer of the wrong shape.
    #[error("beacon {path}: malformed response: {reason}")]
    Decode {
        /// The request path.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl BeaconError {
    /// Whether the node says it does not have it (404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Status { status: 404, .. })
    }
}

impl Retryable for BeaconError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Status { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            Self::Decode { .. } => false,
        }
    }
}

impl From<BeaconError> for ProviderError {
    fn from(e: BeaconError) -> Self {
        match &e {
            BeaconError::Decode { .. } => Self::Invalid(e.to_string()),
            _ if e.is_not_found() => Self::NotFound(e.to_string()),
            _ => Self::Temporary(e.to_string()),
        }
    }
}

/// `{"data": ...}`, the wrapper of every beacon answer.
#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

/// A beacon integer: a decimal string (as specified) or a bare number (as some nodes send).
#[derive(Deserialize)]
#[serde(untagged)]
enum Quoted {
    Text(String),
    Number(u64),
}

impl Quoted {
    fn get(&self, field: &str) -> Result<u64, String> {
        match self {
            Self::Number(n) => Ok(*n),
            Self::Text(s) => s
                .parse()
                .map_err(|_| format!("{field}: {s:?} is not a decimal u64")),
        }
    }
}

#[derive(Deserialize)]
struct GenesisData {
    genesis_time: Quoted,
}

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct SpecData {
    seconds_per_slot: Quoted,
}

#[derive(Deserialize)]
struct SidecarJson {
    index: Quoted,
    blob: String,
    kzg_commitment: String,
    kzg_proof: String,
}

/// One blob sidecar as served: nothing checked yet but its shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawSidecar {
    /// Index of the blob in its block.
    pub index: u64,
    /// The blob.
    pub blob: Blob,
    /// The KZG commitment.
    pub commitment: [u8; 48],
    /// The KZG proof.
    pub proof: [u8; 48],
}

/// Maps L1 timestamps to beacon slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotClock {
    /// Beacon genesis time, Unix seconds.
    pub genesis_time: u64,
    /// Seconds per slot (never zero).
    pub seconds_per_slot: u64,
}

impl SlotClock {
    /// The slot of the L1 block with this timestamp; `None` before genesis.
    pub fn slot(&self, timestamp: u64) -> Option<u64> {
        timestamp
            .checked_sub(self.genesis_time)?
            .checked_div(self.seconds_per_slot)
    }
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice::<Data<T>>(body)
        .map(|d| d.data)
        .map_err(|e| e.to_string())
}

/// Parses `/eth/v1/beacon/genesis` and `/eth/v1/config/spec` answers into a slot clock.
pub fn parse_slot_clock(genesis: &[u8], spec: &[u8]) -> Result<SlotClock, String> {
    let genesis_time = decode::<GenesisData>(genesis)?
        .genesis_time
        .get("genesis_time")?;
    let seconds_per_slot = decode::<SpecData>(spec)?
        .seconds_per_slot
        .get("SECONDS_PER_SLOT")?;
    if seconds_per_slot == 0 {
        return Err("SECONDS_PER_SLOT is 0".into());
    }
    Ok(SlotClock {
        genesis_time,
        seconds_per_slot,
    })
}

fn hex_blob(what: &str, text: &str) -> Result<Blob, String> {
    let bytes = hex::decode(text).map_err(|e| format!("{what}: blob hex: {e}"))?;
    Blob::try_from(bytes.as_slice()).map_err(|e| format!("{what}: {e}"))
}

fn hex48(what: &str, text: &str) -> Result<[u8; 48], String> {
    let bytes = hex::decode(text).map_err(|e| format!("{what}: hex: {e}"))?;
    <[u8; 48]>::try_from(bytes.as_slice())
        .map_err(|_| format!("{what}: {} bytes, expected 48", bytes.len()))
}

/// Parses a `/blob_sidecars/` answer.
pub fn parse_sidecars(body: &[u8]) -> Result<Vec<RawSidecar>, String> {
    decode::<Vec<SidecarJson>>(body)?
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            Ok(RawSidecar {
                index: s.index.get(&format!("data[{i}].index"))?,
                blob: hex_blob(&format!("data[{i}].blob"), &s.blob)?,
                commitment: hex48(&format!("data[{i}].kzg_commitment"), &s.kzg_commitment)?,
                proof: hex48(&format!("data[{i}].kzg_proof"), &s.kzg_proof)?,
            })
        })
        .collect()
}

/// Parses a `/blobs/` answer.
pub fn parse_blobs(body: &[u8]) -> Result<Vec<Blob>, String> {
    decode::<Vec<String>>(body)?
        .iter()
        .enumerate()
        .map(|(i, b)| hex_blob(&format!("data[{i}]"), b))
        .collect()
}

/// At most this much of an error body goes into an error message.
const BODY_EXCERPT: usize = 200;

/// A beacon REST client for one node.
#[derive(Debug)]
pub struct BeaconTransport {
    http: reqwest::Client,
    base: reqwest::Url,
}

impl BeaconTransport {
    /// A client for the node at `base` over a shared HTTP client.
    pub fn new(http: reqwest::Client, base: reqwest::Url) -> Self {
        Self { http, base }
    }

    /// GETs `path` with `query` pairs; returns the body of a 200 answer.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<u8>, BeaconError> {
        let mut url = self.base.clone();
        {
            // Keep a base path prefix (a node behind a proxy at `https://host/beacon/`).
            let prefix = url.path().trim_end_matches('/').to_string();
            url.set_path(&format!("{prefix}{path}"));
        }
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        let transport = |e: reqwest::Error| BeaconError::Transport {
            path: path.to_string(),
            reason: e.to_string(),
        };
        let resp = self
            .http
            .get(url)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(transport)?;
        if status != 200 {
            let cut = bytes.len().min(BODY_EXCERPT);
            return Err(BeaconError::Status {
                path: path.to_string(),
                status,
                body: String::from_utf8_lossy(bytes.get(..cut).unwrap_or_default()).into_owned(),
            });
        }
        Ok(bytes.to_vec())
    }

    /// Genesis time and slot length.
    pub async fn slot_clock(&self) -> Result<SlotClock, BeaconError> {
        let genesis = self.get("/eth/v1/beacon/genesis", &[]).await?;
        let spec = self.get("/eth/v1/config/spec", &[]).await?;
        parse_slot_clock(&genesis, &spec).map_err(|reason| BeaconError::Decode {
            path: "/eth/v1/beacon/genesis + /eth/v1/config/spec".into(),
            reason,
        })
    }

    /// The sidecars of `slot` with these indices.
    pub async fn sidecars(
        &self,
        slot: u64,
        indices: &[u64],
    ) -> Result<Vec<RawSidecar>, BeaconError> {
        let path = format!("/eth/v1/beacon/blob_sidecars/{slot}");
        let query: Vec<(&str, String)> =
            indices.iter().map(|i| ("indices", i.to_string())).collect();
        let body = self.get(&path, &query).await?;
        parse_sidecars(&body).map_err(|reason| BeaconError::Decode { path, reason })
    }

    /// The blobs of `slot` with these versioned hashes (in block order, not request order).
    pub async fn blobs(&self, slot: u64, hashes: &[B256]) -> Result<Vec<Blob>, BeaconError> {
        let path = format!("/eth/v1/beacon/blobs/{slot}");
        let query: Vec<(&str, String)> = hashes
            .iter()
            .map(|h| ("versioned_hashes", h.to_string()))
            .collect();
        let body = self.get(&path, &query).await?;
        parse_blobs(&body).map_err(|reason| BeaconError::Decode { path, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opfleet_protocol::blob::BLOB_SIZE;

    #[test]
    fn slot_clock_from_string_and_number_fields() {
        let clock = parse_slot_clock(
            br#"{"data":{"genesis_time":"1606824023","genesis_validators_root":"0x00"}}"#,
            br#"{"data":{"SECONDS_PER_SLOT":"12","CONFIG_NAME":"mainnet"}}"#,
        )
        .unwrap();
        assert_eq!(
            clock,
            SlotClock {
                genesis_time: 1_606_824_023,
                seconds_per_slot: 12
            }
        );
        assert_eq!(clock.slot(1_606_824_023), Some(0));
        assert_eq!(clock.slot(1_606_824_023 + 25), Some(2));
        assert_eq!(clock.slot(1_606_824_022), None);
        let numeric = parse_slot_clock(
            br#"{"data":{"genesis_time":5}}"#,
            br#"{"data":{"SECONDS_PER_SLOT":2}}"#,
        )
        .unwrap();
        assert_eq!(numeric.slot(9), Some(2));
        let zero = parse_slot_clock(
            br#"{"data":{"genesis_time":"5"}}"#,
            br#"{"data":{"SECONDS_PER_SLOT":"0"}}"#,
        );
        assert!(zero.unwrap_err().contains("SECONDS_PER_SLOT"));
        let bad = parse_slot_clock(br#"{"data":{"genesis_time":"x"}}"#, b"{}").unwrap_err();
        assert!(bad.contains("genesis_time"), "{bad}");
    }

    #[test]
    fn sidecars_and_blobs_parse_from_the_heap() {
        let blob_hex = format!("0x{}", "00".repeat(BLOB_SIZE));
        let c = format!("0x{}", "11".repeat(48));
        let p = format!("0x{}", "22".repeat(48));
        let body = format!(
            r#"{{"data":[{{"index":"3","blob":"{blob_hex}","kzg_commitment":"{c}","kzg_proof":"{p}","signed_block_header":{{}},"kzg_commitment_inclusion_proof":[]}}]}}"#
        );
        let sidecars = parse_sidecars(body.as_bytes()).unwrap();
        assert_eq!(sidecars.len(), 1);
        assert_eq!(sidecars[0].index, 3);
        assert_eq!(sidecars[0].commitment, [0x11; 48]);
        assert_eq!(sidecars[0].proof, [0x22; 48]);
        assert_eq!(sidecars[0].blob, Blob::default());

        let blobs = parse_blobs(format!(r#"{{"data":["{blob_hex}"]}}"#).as_bytes()).unwrap();
        assert_eq!(blobs, vec![Blob::default()]);

        let short = format!(
            r#"{{"data":[{{"index":"0","blob":"0x00","kzg_commitment":"{c}","kzg_proof":"{p}"}}]}}"#
        );
        let err = parse_sidecars(short.as_bytes()).unwrap_err();
        assert!(err.contains("data[0].blob"), "{err}");
        let bad_commitment = format!(
            r#"{{"data":[{{"index":"0","blob":"{blob_hex}","kzg_commitment":"0x11","kzg_proof":"{p}"}}]}}"#
        );
        let err = parse_sidecars(bad_commitment.as_bytes()).unwrap_err();
        assert!(err.contains("data[0].kzg_commitment"), "{err}");
    }

    #[test]
    fn errors_classify() {
        let status = |status| BeaconError::Status {
            path: "/p".into(),
            status,
            body: String::new(),
        };
        assert!(matches!(
            ProviderError::from(status(404)),
            ProviderError::NotFound(_)
        ));
        assert!(matches!(
            ProviderError::from(status(503)),
            ProviderError::Temporary(_)
        ));
        assert!(status(503).is_retryable());
        assert!(!status(404).is_retryable());
        assert!(!status(400).is_retryable());
        let decode = BeaconError::Decode {
            path: "/p".into(),
            reason: "x".into(),
        };
        assert!(matches!(
            ProviderError::from(decode),
            ProviderError::Invalid(_)
        ));
    }

    proptest::proptest! {
        /// Arbitrary bodies never panic the parsers.
        #[test]
        fn parsers_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512), text in ".*") {
            let _ = parse_sidecars(&body);
            let _ = parse_blobs(&body);
            let _ = parse_slot_clock(&body, text.as_bytes());
            let _ = parse_sidecars(text.as_bytes());
        }
    }
}
