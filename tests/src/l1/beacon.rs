//! The beacon-node REST API subset rollup nodes use to fetch blobs (beacon-APIs, Deneb+).
//!
//! ```text
//! GET /eth/v1/beacon/genesis                      {"data":{"genesis_time":"<L1 genesis ts>",...}}
//! GET /eth/v1/config/spec                         {"data":{"SECONDS_PER_SLOT":"2",...}} (strings)
//! GET /eth/v1/beacon/headers/{block_id}           the slot's beacon block header and root
//! GET /eth/v1/beacon/blob_sidecars/{block_id}?indices=0,2
//! GET /eth/v1/beacon/blobs/{block_id}?versioned_hashes=0x01..&versioned_hashes=0x01..
//! GET /eth/v1/node/version, /eth/v1/node/syncing
//! block_id: head | genesis | finalized | justified | <slot> | 0x<beacon block root>
//! ```
//! Sidecars carry the real blob, KZG commitment and proof. `signed_block_header` holds the
//! synthetic beacon header of the slot (see `beacon_block`) with an all-zero signature, and
//! `kzg_commitment_inclusion_proof` is 17 zero hashes: there is no beacon block body to prove
//! inclusion in. op-node and kona check blobs against the versioned hashes with c-kzg, not these.

use std::net::SocketAddr;

use alloy::eips::eip4844::{Blob, Bytes48};
use alloy::primitives::{B256, Bytes, FixedBytes, keccak256};
use alloy::rpc::types::beacon::genesis::{GenesisData, GenesisResponse};
use alloy::rpc::types::beacon::header::{Header as SignedBeaconHeader, HeaderData};
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::SharedChain;
use super::block::L1Block;
use super::chain::L1Chain;
use super::kzg::CommittedBlob;

/// Depth of the commitment inclusion proof in a Deneb blob sidecar.
const KZG_COMMITMENT_INCLUSION_PROOF_DEPTH: usize = 17;

/// Fork version reported at genesis (an arbitrary devnet value).
const GENESIS_FORK_VERSION: [u8; 4] = [0x10, 0x00, 0x00, 0x38];

/// A running beacon API server.
pub struct BeaconServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// Signals graceful shutdown.
    pub shutdown: oneshot::Sender<()>,
    /// The serving task.
    pub task: JoinHandle<()>,
}

/// Starts the beacon API on `addr`.
pub async fn serve(chain: SharedChain, addr: SocketAddr) -> std::io::Result<BeaconServer> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (shutdown, stopped) = oneshot::channel::<()>();
    let app = router(chain);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "L1 beacon API stopped with an error");
        }
    });
    Ok(BeaconServer {
        addr,
        shutdown,
        task,
    })
}

/// The beacon API routes over the shared chain.
pub fn router(chain: SharedChain) -> Router {
    Router::new()
        .route("/eth/v1/beacon/genesis", get(genesis))
        .route("/eth/v1/config/spec", get(spec))
        .route("/eth/v1/node/version", get(version))
        .route("/eth/v1/node/syncing", get(syncing))
        .route("/eth/v1/beacon/headers/{block_id}", get(header))
        .route(
            "/eth/v1/beacon/blob_sidecars/{block_id}",
            get(blob_sidecars),
        )
        .route("/eth/v1/beacon/blobs/{block_id}", get(blobs))
        .with_state(chain)
}

/// A beacon API error: status and the `{"code","message"}` body beacon nodes send.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn bad_request(message: String) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message,
        }
    }

    fn not_found(message: String) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.status.as_u16(), "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

/// The response wrapper of block-scoped endpoints.
#[derive(Serialize)]
struct Envelope<T> {
    execution_optimistic: bool,
    finalized: bool,
    data: T,
}

/// A blob serialized as `0x` hex through a heap string: alloy's `FixedBytes` serializer formats
/// into a stack buffer of twice the blob size, too much for a 2 MiB thread stack.
struct HexBlob<'a>(&'a Blob);

impl Serialize for HexBlob<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&alloy::primitives::hex::encode_prefixed(self.0.as_slice()))
    }
}

/// One Deneb `BlobSidecar` in beacon-API JSON (integers as decimal strings).
#[derive(Serialize)]
struct SidecarJson<'a> {
    index: String,
    blob: HexBlob<'a>,
    kzg_commitment: Bytes48,
    kzg_proof: Bytes48,
    signed_block_header: &'a SignedBeaconHeader,
    kzg_commitment_inclusion_proof: [B256; KZG_COMMITMENT_INCLUSION_PROOF_DEPTH],
}

/// A parsed `{block_id}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BlockSelector {
    Head,
    Genesis,
    Finalized,
    Justified,
    Slot(u64),
    Root(B256),
}

fn parse_block_id(id: &str) -> Result<BlockSelector, ApiError> {
    match id {
        "head" => Ok(BlockSelector::Head),
        "genesis" => Ok(BlockSelector::Genesis),
        "finalized" => Ok(BlockSelector::Finalized),
        "justified" => Ok(BlockSelector::Justified),
        _ if id.starts_with("0x") => id
            .parse::<B256>()
            .map(BlockSelector::Root)
            .map_err(|_| ApiError::bad_request(format!("invalid block root {id:?}"))),
        _ => id
            .parse::<u64>()
            .map(BlockSelector::Slot)
            .map_err(|_| ApiError::bad_request(format!("invalid block id {id:?}"))),
    }
}

fn select<'a>(chain: &'a L1Chain, id: &str) -> Result<&'a L1Block, ApiError> {
    let selector = parse_block_id(id)?;
    let block = match selector {
        BlockSelector::Head => Some(chain.head()),
        BlockSelector::Genesis => chain.by_number(0),
        BlockSelector::Finalized => Some(chain.finalized()),
        BlockSelector::Justified => Some(chain.safe()),
        BlockSelector::Slot(slot) => chain.by_slot(slot),
        BlockSelector::Root(root) => chain.by_beacon_root(&root),
    };
    block.ok_or_else(|| ApiError::not_found(format!("no block for block id {id:?}")))
}

fn is_finalized(chain: &L1Chain, block: &L1Block) -> bool {
    block.header.number <= chain.finalized().header.number
}

/// Values of a query parameter, given repeated (`k=a&k=b`) or comma-separated (`k=a,b`).
fn query_values<'a>(query: &'a Option<String>, key: &str) -> Vec<&'a str> {
    query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| *k == key)
        .flat_map(|(_, v)| v.split(','))
        .filter(|v| !v.is_empty())
        .collect()
}

async fn genesis(State(chain): State<SharedChain>) -> Json<GenesisResponse> {
    let genesis_time = super::lock(&chain).genesis_time();
    Json(GenesisResponse {
        data: GenesisData {
            genesis_time,
            genesis_validators_root: keccak256(b"opfleet devnet validators"),
            genesis_fork_version: FixedBytes(GENESIS_FORK_VERSION),
        },
    })
}

async fn spec(State(chain): State<SharedChain>) -> Json<serde_json::Value> {
    let c = super::lock(&chain);
    let seconds_per_slot = c.block_time().to_string();
    let slots_per_epoch = c.tag_lag().slots_per_epoch().to_string();
    let deposit_chain_id = c.chain_id().get().to_string();
    drop(c);
    // Beacon APIs write every config value as a string.
    Json(json!({ "data": {
        "CONFIG_NAME": "opfleet-devnet",
        "PRESET_BASE": "mainnet",
        "SECONDS_PER_SLOT": seconds_per_slot,
        "SLOTS_PER_EPOCH": slots_per_epoch,
        "DEPOSIT_CHAIN_ID": deposit_chain_id,
        "DEPOSIT_NETWORK_ID": deposit_chain_id,
        "GENESIS_FORK_VERSION": format!("0x{}", alloy::primitives::hex::encode(GENESIS_FORK_VERSION)),
        "DENEB_FORK_EPOCH": "0",
        "ELECTRA_FORK_EPOCH": "0",
        "FIELD_ELEMENTS_PER_BLOB": "4096",
        "MAX_BLOBS_PER_BLOCK": "6",
        "MAX_BLOBS_PER_BLOCK_ELECTRA": "9",
        "KZG_COMMITMENT_INCLUSION_PROOF_DEPTH": KZG_COMMITMENT_INCLUSION_PROOF_DEPTH.to_string(),
    }}))
}

async fn version() -> Json<serde_json::Value> {
    Json(json!({ "data": { "version": "opfleet-devnet-l1" } }))
}

async fn syncing(State(chain): State<SharedChain>) -> Json<serde_json::Value> {
    let head_slot = super::lock(&chain).head().beacon.slot.to_string();
    Json(json!({ "data": {
        "head_slot": head_slot,
        "sync_distance": "0",
        "is_syncing": false,
        "is_optimistic": false,
        "el_offline": false,
    }}))
}

fn signed_header(block: &L1Block) -> SignedBeaconHeader {
    SignedBeaconHeader {
        message: block.beacon.clone(),
        // No validators sign here: an all-zero BLS signature of the right length.
        signature: Bytes::from(vec![0u8; 96]),
    }
}

async fn header(
    State(chain): State<SharedChain>,
    Path(block_id): Path<String>,
) -> Result<Response, ApiError> {
    let c = super::lock(&chain);
    let block = select(&c, &block_id)?;
    let body = Envelope {
        execution_optimistic: false,
        finalized: is_finalized(&c, block),
        data: HeaderData {
            root: block.beacon_root,
            canonical: true,
            header: signed_header(block),
        },
    };
    Ok(Json(body).into_response())
}

/// A block's blobs, copied out of the lock.
struct BlockBlobs {
    /// Blobs with their index in the block.
    blobs: Vec<(u64, CommittedBlob)>,
    /// The block's signed beacon header.
    header: SignedBeaconHeader,
    /// Whether the block is finalized.
    finalized: bool,
}

fn block_blobs(chain: &SharedChain, block_id: &str) -> Result<BlockBlobs, ApiError> {
    let c = super::lock(chain);
    let block = select(&c, block_id)?;
    Ok(BlockBlobs {
        blobs: block
            .blobs()
            .enumerate()
            .map(|(i, b)| (i as u64, b.clone()))
            .collect(),
        header: signed_header(block),
        finalized: is_finalized(&c, block),
    })
}

async fn blob_sidecars(
    State(chain): State<SharedChain>,
    Path(block_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let indices = query_values(&query, "indices")
        .into_iter()
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid blob index {v:?}")))
        })
        .collect::<Result<Vec<u64>, ApiError>>()?;
    let BlockBlobs {
        blobs,
        header: signed_block_header,
        finalized,
    } = block_blobs(&chain, &block_id)?;
    let data: Vec<SidecarJson<'_>> = blobs
        .iter()
        .filter(|(i, _)| indices.is_empty() || indices.contains(i))
        .map(|(index, b)| SidecarJson {
            index: index.to_string(),
            blob: HexBlob(&b.blob),
            kzg_commitment: b.commitment,
            kzg_proof: b.proof,
            signed_block_header: &signed_block_header,
            kzg_commitment_inclusion_proof: [B256::ZERO; KZG_COMMITMENT_INCLUSION_PROOF_DEPTH],
        })
        .collect();
    Ok(Json(Envelope {
        execution_optimistic: false,
        finalized,
        data,
    })
    .into_response())
}

async fn blobs(
    State(chain): State<SharedChain>,
    Path(block_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let wanted = query_values(&query, "versioned_hashes")
        .into_iter()
        .map(|v| {
            v.parse::<B256>()
                .map_err(|_| ApiError::bad_request(format!("invalid versioned hash {v:?}")))
        })
        .collect::<Result<Vec<B256>, ApiError>>()?;
    let BlockBlobs {
        blobs, finalized, ..
    } = block_blobs(&chain, &block_id)?;
    // Block order (the order of the commitments in the block), as the spec says.
    let data: Vec<HexBlob<'_>> = blobs
        .iter()
        .filter(|(_, b)| wanted.is_empty() || wanted.contains(&b.versioned_hash))
        .map(|(_, b)| HexBlob(&b.blob))
        .collect();
    Ok(Json(Envelope {
        execution_optimistic: false,
        finalized,
        data,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ids_parse() {
        assert_eq!(parse_block_id("head").unwrap(), BlockSelector::Head);
        assert_eq!(parse_block_id("12").unwrap(), BlockSelector::Slot(12));
        let root = format!("0x{}", "ab".repeat(32));
        assert_eq!(
            parse_block_id(&root).unwrap(),
            BlockSelector::Root(B256::repeat_byte(0xab))
        );
        assert_eq!(
            parse_block_id("0x12").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            parse_block_id("-1").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn query_values_accept_both_list_forms() {
        let q = Some("versioned_hashes=a,b&x=1&versioned_hashes=c".to_string());
        assert_eq!(query_values(&q, "versioned_hashes"), vec!["a", "b", "c"]);
        assert!(query_values(&None, "indices").is_empty());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Request inputs from the network never panic the parsers.
        #[test]
        fn parsers_never_panic(id in ".*", query in ".*") {
            let _ = parse_block_id(&id);
            let _ = query_values(&Some(query), "versioned_hashes");
        }

        /// Every decimal slot parses back to itself.
        #[test]
        fn slots_round_trip(slot in any::<u64>()) {
            prop_assert_eq!(parse_block_id(&slot.to_string()).unwrap(), BlockSelector::Slot(slot));
        }
    }
}
