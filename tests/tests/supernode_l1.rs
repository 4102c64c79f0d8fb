//! The supernode's shared L1 client (`opfleet_supernode::l1`) against the devnet L1 and against
//! small fake servers that lie: headers by hash, number and tag; transactions and receipts with
//! deposits; blobs of a type-3 transaction verified with KZG; corrupted blob answers refused as
//! `Invalid`; the `/blobs/` fallback; retries; per-chain cache counters; and an L1 reorg.
//!
//! Blobs are handled as heap bytes: 128 KiB arrays do not fit a test thread's stack in debug.

mod l1_support;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::consensus::{Transaction as _, TxEnvelope};
use alloy::eips::eip4844::{BlobTransactionSidecar, Bytes48};
use alloy::primitives::{B256, hex};
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use l1_support::{blob_tx, kzg_commit};
use opfleet_protocol::blob::Blob;
use opfleet_protocol::deposit::DEPOSIT_EVENT_TOPIC;
use opfleet_protocol::{ChainId, L1BlockRef};
use opfleet_supernode::derive::traits::{
    BlobProvider, IndexedBlobHash, L1ChainProvider, L1Tag, ProviderError,
};
use opfleet_supernode::l1::{HitMiss, L1Client, L1ClientConfig, RetryPolicy};
use opfleet_tests::l1::{DepositConfig, L1, L1Config, L1Handle};
use serde_json::{Value, json};

const CHAIN_A: ChainId = ChainId(10);
const CHAIN_B: ChainId = ChainId(8453);

fn config(rpc: String, beacon: String) -> L1ClientConfig {
    let mut c = L1ClientConfig::new(rpc, beacon);
    // Retries in milliseconds: the tests never wait long for a failing fake.
    c.retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(10),
    };
    c.request_timeout = Duration::from_secs(10);
    c
}

fn client(l1: &L1Handle) -> L1Client {
    L1Client::new(config(l1.rpc_url(), l1.beacon_url())).unwrap()
}

/// A manually mined devnet L1 with `mined` blocks on top of genesis.
async fn manual_l1(max_deposits: u32, mined: u64) -> L1Handle {
    let mut config = L1Config::devnet().manual();
    config.genesis_time = Some(1_700_000_000);
    config.deposits = DepositConfig {
        max_per_block: max_deposits,
        seed: 42,
    };
    let l1 = L1::spawn(config).await.unwrap();
    for _ in 0..mined {
        l1.mine();
    }
    l1
}

fn block_at(l1: &L1Handle, n: u64) -> L1BlockRef {
    l1.with_chain(|c| c.by_number(n).unwrap().block_ref())
}

fn vector_blob(n: u8) -> Blob {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../shared/vectors/blobs/blob{n}.hex"));
    Blob::from_hex(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The blob hashes of a block, indexed across all its type-3 transactions in order.
fn indexed_blob_hashes(txs: &[TxEnvelope]) -> Vec<IndexedBlobHash> {
    txs.iter()
        .flat_map(|t| t.blob_versioned_hashes().unwrap_or_default().to_vec())
        .enumerate()
        .map(|(i, hash)| IndexedBlobHash {
            index: i as u64,
            hash,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_by_hash_number_and_tag() {
    let l1 = manual_l1(1, 12).await;
    let shared = client(&l1);
    let a = shared.for_chain(CHAIN_A);

    for n in 0..=12 {
        assert_eq!(
            a.block_ref_by_number(n).await.unwrap(),
            Some(block_at(&l1, n))
        );
    }
    assert_eq!(a.block_ref_by_number(13).await.unwrap(), None);
    assert_eq!(a.block_ref_by_tag(L1Tag::Latest).await.unwrap(), l1.head());
    assert_eq!(a.block_ref_by_tag(L1Tag::Safe).await.unwrap(), l1.safe());
    assert_eq!(
        a.block_ref_by_tag(L1Tag::Finalized).await.unwrap(),
        l1.finalized()
    );
    assert_eq!(l1.safe().number, 8);
    assert_eq!(l1.finalized().number, 4);

    let head = l1.head();
    let header = a.header_by_hash(head.hash).await.unwrap();
    assert_eq!(header.hash(), head.hash);
    assert_eq!(header.hash_slow(), head.hash);
    assert_eq!(header.number, 12);
    assert_eq!(header.parent_hash, head.parent_hash);
    assert_eq!(header.timestamp, head.timestamp);

    // The same through the trait objects derivation holds.
    let (provider, _blobs) = shared.providers(CHAIN_A);
    assert_eq!(
        provider.block_ref_by_tag(L1Tag::Latest).await.unwrap(),
        head
    );

    let unknown = a.header_by_hash(B256::repeat_byte(0x42)).await.unwrap_err();
    assert!(matches!(unknown, ProviderError::NotFound(_)), "{unknown}");
    l1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_is_shared_and_counted_per_chain() {
    let l1 = manual_l1(2, 3).await;
    let shared = client(&l1);
    let a = shared.for_chain(CHAIN_A);
    let b = shared.for_chain(CHAIN_B);
    let block = block_at(&l1, 2).hash;

    a.header_by_hash(block).await.unwrap();
    a.header_by_hash(block).await.unwrap();
    b.header_by_hash(block).await.unwrap();
    let txs = a.transactions_by_hash(block).await.unwrap();
    let again = b.transactions_by_hash(block).await.unwrap();
    assert!(
        Arc::ptr_eq(&txs, &again),
        "chain B got chain A's cached list"
    );

    let sa = a.cache_stats();
    let sb = b.cache_stats();
    assert_eq!(sa.headers, HitMiss { hits: 1, misses: 1 });
    assert_eq!(sb.headers, HitMiss { hits: 1, misses: 0 });
    assert_eq!(sa.transactions, HitMiss { hits: 0, misses: 1 });
    assert_eq!(sb.transactions, HitMiss { hits: 1, misses: 0 });
    // A second handle of one chain counts into the same series.
    shared
        .for_chain(CHAIN_A)
        .header_by_hash(block)
        .await
        .unwrap();
    assert_eq!(a.cache_stats().headers, HitMiss { hits: 2, misses: 1 });
    let (entries, bytes) = shared.cache_usage();
    assert_eq!(entries, 2);
    assert!(bytes > 0);
    l1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_carry_deposits_and_match_transactions() {
    let l1 = manual_l1(3, 10).await;
    let shared = client(&l1);
    let a = shared.for_chain(CHAIN_A);
    let mut deposits = 0;
    for n in 1..=10 {
        let hash = block_at(&l1, n).hash;
        let txs = a.transactions_by_hash(hash).await.unwrap();
        let receipts = a.receipts_by_hash(hash).await.unwrap();
        assert_eq!(txs.len(), receipts.len(), "block {n}");
        deposits += receipts
            .iter()
            .flat_map(|r| r.logs())
            .filter(|l| {
                l.address == l1.portal() && l.topics().first() == Some(&DEPOSIT_EVENT_TOPIC)
            })
            .count();
    }
    assert!(deposits > 0, "no TransactionDeposited log in 10 blocks");
    // Receipts read the header first (a hit: transactions_by_hash cached it).
    let stats = a.cache_stats();
    assert_eq!(
        stats.receipts,
        HitMiss {
            hits: 0,
            misses: 10
        }
    );
    assert_eq!(
        stats.headers,
        HitMiss {
            hits: 10,
            misses: 0
        }
    );
    a.receipts_by_hash(block_at(&l1, 3).hash).await.unwrap();
    assert_eq!(a.cache_stats().receipts.hits, 1);
    l1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_of_a_type3_transaction_come_back_verified() {
    let l1 = manual_l1(0, 1).await;
    let blobs = vec![vector_blob(1), vector_blob(2)];
    let committed: Vec<_> = blobs.iter().map(|b| kzg_commit(b.as_bytes())).collect();
    let sidecar = BlobTransactionSidecar {
        blobs: blobs
            .iter()
            .map(|b| alloy::eips::eip4844::Blob::try_from(b.as_bytes().as_slice()).unwrap())
            .collect(),
        commitments: committed.iter().map(|c| Bytes48::from(c.0)).collect(),
        proofs: committed.iter().map(|c| Bytes48::from(c.1)).collect(),
    };
    let hashes: Vec<B256> = committed.iter().map(|c| c.2).collect();
    l1.submit(blob_tx(&l1, 0, hashes.clone()), Some(sidecar))
        .unwrap();
    let block = l1.mine();
    l1.mine();

    let shared = client(&l1);
    let a = shared.for_chain(CHAIN_A);
    let txs = a.transactions_by_hash(block.hash).await.unwrap();
    let wanted = indexed_blob_hashes(&txs);
    assert_eq!(wanted.iter().map(|w| w.hash).collect::<Vec<_>>(), hashes);
    let got = a.blobs(&block, &wanted).await.unwrap();
    assert_eq!(got, blobs);
    assert_eq!(a.cache_stats().blobs, HitMiss { hits: 0, misses: 2 });

    // Again, in the other order, from another chain: served from the cache, in the order asked.
    let b = shared.for_chain(CHAIN_B);
    let reversed: Vec<_> = wanted.iter().rev().copied().collect();
    let got = b.blobs(&block, &reversed).await.unwrap();
    assert_eq!(got, vec![blobs[1].clone(), blobs[0].clone()]);
    assert_eq!(b.cache_stats().blobs, HitMiss { hits: 2, misses: 0 });

    // No hashes, no request.
    assert!(a.blobs(&block, &[]).await.unwrap().is_empty());
    // A hash the block does not have: the beacon has no such blob.
    let fresh = client(&l1).for_chain(CHAIN_A);
    let missing = IndexedBlobHash {
        index: 5,
        hash: kzg_commit(vector_blob(3).as_bytes()).2,
    };
    let err = fresh.blobs(&block, &[missing]).await.unwrap_err();
    assert!(matches!(err, ProviderError::NotFound(_)), "{err}");
    l1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorg_moves_numbers_but_not_hashes() {
    let l1 = manual_l1(2, 12).await;
    let shared = client(&l1);
    let a = shared.for_chain(CHAIN_A);
    let old12 = a.block_ref_by_number(12).await.unwrap().unwrap();
    let old11 = block_at(&l1, 11);
    let old_header = a.header_by_hash(old12.hash).await.unwrap();

    l1.reorg(2).unwrap();
    let new12 = a.block_ref_by_number(12).await.unwrap().unwrap();
    assert_ne!(new12.hash, old12.hash);
    assert_eq!(new12, block_at(&l1, 12));
    assert_eq!(a.block_ref_by_number(13).await.unwrap(), Some(l1.head()));
    assert_eq!(a.block_ref_by_tag(L1Tag::Latest).await.unwrap(), l1.head());
    // By hash stays by hash: the reorged-out block is still itself (from the cache) ...
    assert_eq!(a.header_by_hash(old12.hash).await.unwrap(), old_header);
    // ... and what was never cached of the old branch is gone from the node.
    let err = a.transactions_by_hash(old11.hash).await.unwrap_err();
    assert!(matches!(err, ProviderError::NotFound(_)), "{err}");
    l1.stop().await;
}

// ---- A fake beacon node that can lie, fail, or lack endpoints ----

#[derive(Default)]
struct FakeBeacon {
    /// `data` of `/blob_sidecars/5`; `None` answers 404.
    sidecars: Option<Value>,
    /// `data` of `/blobs/5`; `None` answers 404.
    blobs: Option<Value>,
    /// This many `/genesis` requests answer 503 first.
    genesis_failures: u32,
    genesis_calls: u32,
    sidecar_calls: u32,
    blob_calls: u32,
}

type Fake = Arc<Mutex<FakeBeacon>>;

/// The fake's chain: genesis at 1000, 12 s slots, the test block in slot 5.
const FAKE_GENESIS: u64 = 1000;
const FAKE_SLOT: u64 = 5;

fn fake_block() -> L1BlockRef {
    L1BlockRef {
        hash: B256::repeat_byte(0xb1),
        number: 77,
        parent_hash: B256::repeat_byte(0xb0),
        timestamp: FAKE_GENESIS + 12 * FAKE_SLOT + 3,
    }
}

fn answer(data: Option<Value>, slot: &str) -> Response {
    match data {
        Some(data) if slot == FAKE_SLOT.to_string() => {
            Json(json!({ "execution_optimistic": false, "finalized": true, "data": data }))
                .into_response()
        }
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({"code": 404, "message": "not found"})),
        )
            .into_response(),
    }
}

async fn spawn_fake(fake: Fake) -> String {
    let app = Router::new()
        .route(
            "/eth/v1/beacon/genesis",
            get(|State(f): State<Fake>| async move {
                let mut f = f.lock().unwrap();
                f.genesis_calls += 1;
                if f.genesis_failures > 0 {
                    f.genesis_failures -= 1;
                    return (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response();
                }
                Json(json!({"data": {"genesis_time": FAKE_GENESIS.to_string()}})).into_response()
            }),
        )
        .route(
            "/eth/v1/config/spec",
            get(|| async { Json(json!({"data": {"SECONDS_PER_SLOT": "12"}})) }),
        )
        .route(
            "/eth/v1/beacon/blob_sidecars/{slot}",
            get(
                |State(f): State<Fake>, UrlPath(slot): UrlPath<String>| async move {
                    let mut f = f.lock().unwrap();
                    f.sidecar_calls += 1;
                    answer(f.sidecars.clone(), &slot)
                },
            ),
        )
        .route(
            "/eth/v1/beacon/blobs/{slot}",
            get(
                |State(f): State<Fake>, UrlPath(slot): UrlPath<String>| async move {
                    let mut f = f.lock().unwrap();
                    f.blob_calls += 1;
                    answer(f.blobs.clone(), &slot)
                },
            ),
        )
        .with_state(fake);
    serve(app).await
}

/// Serves `app` on a free local port until the test ends; its URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn sidecar_json(index: u64, blob: &Blob, commitment: &[u8; 48], proof: &[u8; 48]) -> Value {
    json!({
        "index": index.to_string(),
        "blob": hex::encode_prefixed(blob.as_bytes()),
        "kzg_commitment": hex::encode_prefixed(commitment),
        "kzg_proof": hex::encode_prefixed(proof),
    })
}

/// A client for the fake beacon (its JSON-RPC endpoint is never used by blob reads).
async fn fake_client(fake: &Fake) -> L1Client {
    let beacon = spawn_fake(fake.clone()).await;
    L1Client::new(config("http://127.0.0.1:9".into(), beacon)).unwrap()
}

/// A fake beacon whose `/blob_sidecars/` serves one sidecar, at index 0.
fn one_sidecar(blob: &Blob, commitment: &[u8; 48], proof: &[u8; 48]) -> FakeBeacon {
    FakeBeacon {
        sidecars: Some(json!([sidecar_json(0, blob, commitment, proof)])),
        ..FakeBeacon::default()
    }
}

/// Chain A asks a fresh fake beacon answering as `beacon` says for `wanted` of `block`: the
/// fake (for its counters) and the error the request must end in.
async fn refused(
    beacon: FakeBeacon,
    block: &L1BlockRef,
    wanted: &[IndexedBlobHash],
) -> (Fake, ProviderError) {
    let fake = Fake::new(Mutex::new(beacon));
    let err = fake_client(&fake)
        .await
        .for_chain(CHAIN_A)
        .blobs(block, wanted)
        .await
        .unwrap_err();
    (fake, err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_blob_answers_are_invalid() {
    let (good, other) = (vector_blob(1), vector_blob(2));
    let (commitment, proof, hash) = kzg_commit(good.as_bytes());
    let (other_commitment, other_proof, _) = kzg_commit(other.as_bytes());
    let wanted = [IndexedBlobHash { index: 0, hash }];
    let block = fake_block();

    // The commitment of another blob (with its valid proof): not the transaction's hash.
    let (fake, err) = refused(
        one_sidecar(&other, &other_commitment, &other_proof),
        &block,
        &wanted,
    )
    .await;
    assert!(
        matches!(err, ProviderError::Invalid(ref m) if m.contains("commitment hashes to")),
        "{err}"
    );
    assert_eq!(
        fake.lock().unwrap().blob_calls,
        0,
        "invalid data is not retried elsewhere"
    );

    // The right commitment with other bytes: the proof fails.
    let (_, err) = refused(one_sidecar(&other, &commitment, &proof), &block, &wanted).await;
    assert!(
        matches!(err, ProviderError::Invalid(ref m) if m.contains("KZG proof")),
        "{err}"
    );

    // One flipped byte in the blob, commitment and proof untouched.
    let mut bytes = good.as_bytes().to_vec();
    bytes[1000] ^= 0x01;
    let flipped = Blob::try_from(bytes.as_slice()).unwrap();
    let (_, err) = refused(one_sidecar(&flipped, &commitment, &proof), &block, &wanted).await;
    assert!(matches!(err, ProviderError::Invalid(_)), "{err}");

    // No sidecars endpoint, and `/blobs/` serves the wrong blob.
    let (_, err) = refused(
        FakeBeacon {
            blobs: Some(json!([hex::encode_prefixed(other.as_bytes())])),
            ..FakeBeacon::default()
        },
        &block,
        &wanted,
    )
    .await;
    assert!(
        matches!(err, ProviderError::Invalid(ref m) if m.contains("not asked for")),
        "{err}"
    );

    // A malformed answer is invalid too.
    let (_, err) = refused(
        FakeBeacon {
            sidecars: Some(json!([{"index": "0", "blob": "0x1234"}])),
            ..FakeBeacon::default()
        },
        &block,
        &wanted,
    )
    .await;
    assert!(matches!(err, ProviderError::Invalid(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_endpoint_fallback_and_retries() {
    let (a, b) = (vector_blob(1), vector_blob(2));
    let (ca, pa, ha) = kzg_commit(a.as_bytes());
    let (_, _, hb) = kzg_commit(b.as_bytes());
    let block = fake_block();

    // A beacon node without sidecars (after Fusaka) and a flaky genesis endpoint.
    let fake = Fake::default();
    {
        let mut f = fake.lock().unwrap();
        f.genesis_failures = 2;
        // Block order is b, a; asked a, b: answered in the order asked.
        f.blobs = Some(json!([
            hex::encode_prefixed(b.as_bytes()),
            hex::encode_prefixed(a.as_bytes())
        ]));
    }
    let shared = fake_client(&fake).await;
    let chain = shared.for_chain(CHAIN_A);
    let wanted = [
        IndexedBlobHash { index: 1, hash: ha },
        IndexedBlobHash { index: 0, hash: hb },
    ];
    let got = chain.blobs(&block, &wanted).await.unwrap();
    assert_eq!(got, vec![a.clone(), b.clone()]);
    {
        let f = fake.lock().unwrap();
        assert_eq!(f.genesis_calls, 3, "two 503s retried, then served");
        assert_eq!((f.sidecar_calls, f.blob_calls), (1, 1));
    }

    // Once `/blobs/` worked, it is asked first; cached blobs are not asked at all.
    let (c_blob, d_blob) = (vector_blob(3), vector_blob(4));
    let (_, _, hc) = kzg_commit(c_blob.as_bytes());
    fake.lock().unwrap().blobs = Some(json!([hex::encode_prefixed(c_blob.as_bytes())]));
    let got = chain
        .blobs(
            &block,
            &[
                IndexedBlobHash { index: 0, hash: ha },
                IndexedBlobHash { index: 2, hash: hc },
            ],
        )
        .await
        .unwrap();
    assert_eq!(got, vec![a.clone(), c_blob]);
    {
        let f = fake.lock().unwrap();
        assert_eq!((f.sidecar_calls, f.blob_calls, f.genesis_calls), (1, 2, 3));
    }
    assert_eq!(chain.cache_stats().blobs, HitMiss { hits: 1, misses: 3 });

    // Neither endpoint has it: not found (after both were asked).
    let (_, _, hd) = kzg_commit(d_blob.as_bytes());
    fake.lock().unwrap().blobs = None;
    let err = chain
        .blobs(&block, &[IndexedBlobHash { index: 0, hash: hd }])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::NotFound(_)), "{err}");

    // A healthy sidecar node is used directly; a block before beacon genesis is refused.
    let fake = Fake::default();
    fake.lock().unwrap().sidecars = Some(json!([sidecar_json(3, &a, &ca, &pa)]));
    let chain = fake_client(&fake).await.for_chain(CHAIN_B);
    let got = chain
        .blobs(&block, &[IndexedBlobHash { index: 3, hash: ha }])
        .await
        .unwrap();
    assert_eq!(got, vec![a]);
    assert_eq!(fake.lock().unwrap().blob_calls, 0);
    let early = L1BlockRef {
        timestamp: FAKE_GENESIS - 1,
        ..block
    };
    let err = chain
        .blobs(&early, &[IndexedBlobHash { index: 0, hash: hb }])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Invalid(_)), "{err}");
}

// ---- A JSON-RPC proxy that tampers with the devnet's answers ----

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    /// Whether to tamper with block and receipt answers.
    tamper: bool,
    /// Requests seen, by method.
    calls: Arc<Mutex<Vec<String>>>,
}

async fn spawn_proxy(upstream: String, tamper: bool) -> (String, Arc<Mutex<Vec<String>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/", post(tampering_proxy))
        .with_state(Proxy {
            upstream,
            http: reqwest::Client::new(),
            tamper,
            calls: calls.clone(),
        });
    (serve(app).await, calls)
}

async fn tampering_proxy(State(p): State<Proxy>, Json(req): Json<Value>) -> Json<Value> {
    p.calls
        .lock()
        .unwrap()
        .push(req["method"].as_str().unwrap_or_default().to_string());
    let mut resp: Value = p
        .http
        .post(&p.upstream)
        .json(&req)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    match req["method"].as_str().filter(|_| p.tamper) {
        Some("eth_getBlockByHash") => {
            if let Some(result) = resp.get_mut("result").filter(|r| r.is_object()) {
                result["gasUsed"] = json!("0x1234");
            }
        }
        Some("eth_getBlockReceipts") => {
            if let Some(list) = resp.get_mut("result").and_then(Value::as_array_mut) {
                list.pop();
            }
        }
        _ => {}
    }
    Json(resp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_blocks_and_receipts_are_invalid() {
    let l1 = manual_l1(0, 3).await;
    // One transaction in the head, so a receipt list can be cut short.
    l1.set_batcher(alloy::primitives::Address::repeat_byte(0xba))
        .unwrap();
    l1.mine();
    let (proxy, _) = spawn_proxy(l1.rpc_url(), true).await;
    let shared = L1Client::new(config(proxy, l1.beacon_url())).unwrap();
    let chain = shared.for_chain(CHAIN_A);
    let hash = l1.head().hash;

    let err = chain.header_by_hash(hash).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Invalid(ref m) if m.contains("header hashes to")),
        "{err}"
    );
    let err = chain.transactions_by_hash(hash).await.unwrap_err();
    assert!(matches!(err, ProviderError::Invalid(_)), "{err}");
    // By number is not tampered: the header comes in (and is cached) honestly ...
    let head = chain.block_ref_by_number(4).await.unwrap().unwrap();
    assert_eq!(head.hash, hash);
    // ... but a receipt list one short does not match the receipts root.
    assert!(l1.with_chain(|c| !c.head().txs.is_empty()));
    let err = chain.receipts_by_hash(hash).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Invalid(ref m) if m.contains("receipts have root")),
        "{err}"
    );
    // Nothing that failed a check was cached.
    assert_eq!(shared.cache_usage().0, 1);
    l1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chains_missing_together_fetch_once() {
    let l1 = manual_l1(2, 3).await;
    let (proxy, calls) = spawn_proxy(l1.rpc_url(), false).await;
    let shared = L1Client::new(config(proxy, l1.beacon_url())).unwrap();
    let chains: Vec<_> = (1..=4).map(|i| shared.for_chain(ChainId(i))).collect();
    let hash = l1.head().hash;
    let (a, b, c, d) = tokio::join!(
        chains[0].receipts_by_hash(hash),
        chains[1].receipts_by_hash(hash),
        chains[2].receipts_by_hash(hash),
        chains[3].receipts_by_hash(hash),
    );
    for r in [&a, &b, &c, &d] {
        assert_eq!(r.as_ref().unwrap(), a.as_ref().unwrap());
    }
    let seen = calls.lock().unwrap().clone();
    assert_eq!(seen, ["eth_getBlockByHash", "eth_getBlockReceipts"]);
    let misses: u64 = chains.iter().map(|c| c.cache_stats().receipts.misses).sum();
    let hits: u64 = chains.iter().map(|c| c.cache_stats().receipts.hits).sum();
    assert_eq!((misses, hits), (1, 3));
    l1.stop().await;
}
