//! EL sync of the simulated execution client: told of a block it lacks (forkchoiceUpdated to an
//! unknown head, newPayload with an unknown parent), it answers SYNCING, fetches the missing
//! ancestors from its peer (over eth_getBlockByHash, or in-process), checks each header hashes
//! to the hash asked for, re-executes them, and from then on answers VALID.

mod engine_support;

use std::time::Duration;

use engine_support::*;

use alloy::primitives::{B256, Bytes};
use alloy::rpc::types::engine::ForkchoiceUpdated;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use op_alloy_rpc_types_engine::OpExecutionPayloadEnvelopeV4;
use opfleet_protocol::ChainId;
use opfleet_tests::el::fixtures::{attributes, l1_info_tx, test_signed_tx};
use opfleet_tests::el::sync::{SyncError, SyncPeer, sync_to};
use opfleet_tests::el::{
    ChainSpec, Fork, ForkSchedule, GenesisConfig, JwtSecret, SimEl, SimElConfig, SimElHandle,
    SimElOptions,
};
use serde_json::Value;

fn secret() -> JwtSecret {
    JwtSecret::new([0x42; 32])
}

fn spec() -> ChainSpec {
    ChainSpec::new(
        ChainId(901),
        GenesisConfig::new(ChainId(901), 1_000),
        ForkSchedule::isthmus(),
    )
}

async fn spawn(sync_from: Option<SyncPeer>) -> SimElHandle {
    let options = SimElOptions {
        sync_from,
        ..SimElOptions::default()
    };
    SimEl::spawn_with(SimElConfig::local(spec(), secret()), options)
        .await
        .unwrap()
}

/// Forkchoice to `head` alone (safe and finalized zero), building nothing.
async fn fcu(c: &HttpClient, head: B256) -> ForkchoiceUpdated {
    forkchoice_updated(c, head, B256::ZERO, None).await
}

/// Builds `n` blocks on `el` (each with a user transaction); returns their payloads.
async fn build(el: &SimElHandle, n: u64) -> Vec<OpExecutionPayloadEnvelopeV4> {
    let c = engine(el, &secret());
    let mut out = Vec::new();
    for _ in 0..n {
        let head = el.head();
        let timestamp = head.header().timestamp + 2;
        let number = head.number() + 1;
        let txs = vec![
            l1_info_tx(Fork::Isthmus, number / 3, number % 3, 0),
            test_signed_tx(
                901,
                number - 1,
                alloy::primitives::Address::repeat_byte(7),
                Bytes::new(),
            ),
        ];
        let attrs = attributes(Fork::Isthmus, timestamp, txs);
        let updated = forkchoice_updated(&c, head.hash, B256::ZERO, Some(attrs)).await;
        let env = get_payload(&c, updated.payload_id.unwrap()).await;
        assert!(new_payload(&c, &env).await.is_valid());
        assert!(fcu(&c, block_hash(&env)).await.is_valid());
        out.push(env);
    }
    out
}

fn hash_of(env: &OpExecutionPayloadEnvelopeV4) -> B256 {
    env.execution_payload
        .payload_inner
        .payload_inner
        .payload_inner
        .block_hash
}

/// Repeats forkchoiceUpdated(head) until VALID (as a consensus client does on every new block).
async fn until_valid(c: &HttpClient, head: B256) {
    for _ in 0..100 {
        if fcu(c, head).await.is_valid() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("forkchoice to {head} never became VALID");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forkchoice_to_an_unknown_head_syncs_from_the_rpc_peer() {
    let source = spawn(None).await;
    let built = build(&source, 12).await;
    let head = hash_of(built.last().unwrap());

    let follower = spawn(Some(SyncPeer::Rpc(source.rpc_url()))).await;
    let c = engine(&follower, &secret());
    assert!(fcu(&c, head).await.is_syncing());
    until_valid(&c, head).await;
    assert_eq!(follower.head().hash, head);
    for n in 0..=12 {
        assert_eq!(
            follower.block_by_number(n).unwrap().hash,
            source.block_by_number(n).unwrap().hash,
            "block {n}"
        );
    }
    follower.stop().await;
    source.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_payload_with_an_unknown_parent_syncs_in_process() {
    let source = spawn(None).await;
    let built = build(&source, 8).await;
    let follower = spawn(Some(source.sync_peer())).await;
    let c = engine(&follower, &secret());
    // The consensus client joined late: its first payload is block 8.
    let last = built.last().unwrap();
    assert!(new_payload(&c, last).await.is_syncing());
    until_valid(&c, hash_of(last)).await;
    assert!(new_payload(&c, last).await.is_valid());
    // And it goes on from there without syncing.
    let more = build(&source, 1).await;
    assert!(new_payload(&c, &more[0]).await.is_valid());
    assert!(fcu(&c, hash_of(&more[0])).await.is_valid());
    assert_eq!(follower.head().hash, source.head().hash);
    follower.stop().await;
    source.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_peer_unknown_heads_stay_syncing() {
    let source = spawn(None).await;
    let built = build(&source, 3).await;
    let lonely = spawn(None).await;
    let c = engine(&lonely, &secret());
    let head = hash_of(built.last().unwrap());
    assert!(fcu(&c, head).await.is_syncing());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(fcu(&c, head).await.is_syncing());
    lonely.stop().await;
    source.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_answering_with_another_block_is_refused() {
    let source = spawn(None).await;
    let built = build(&source, 3).await;
    // A lying peer: whatever hash is asked for, it answers block 1.
    let block_one: Value = HttpClientBuilder::default()
        .build(source.rpc_url())
        .unwrap()
        .request("eth_getBlockByHash", rpc_params![hash_of(&built[0]), true])
        .await
        .unwrap();
    let mut module = jsonrpsee::RpcModule::new(block_one);
    module
        .register_method("eth_getBlockByHash", |_, b, _| {
            Ok::<_, jsonrpsee::types::ErrorObjectOwned>(b.clone())
        })
        .unwrap();
    let server = jsonrpsee::server::Server::builder()
        .build("127.0.0.1:0")
        .await
        .unwrap();
    let liar = format!("http://{}", server.local_addr().unwrap());
    let handle = server.start(module);

    let target = spawn(None).await;
    let state = target_state(&target);
    let client = HttpClientBuilder::default().build(&liar).unwrap();
    let err = sync_to(
        &state,
        &SyncPeer::Rpc(liar),
        Some(&client),
        opfleet_tests::el::engine::SyncTarget {
            hash: hash_of(&built[2]),
            parent: None,
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SyncError::WrongHash { .. }), "{err}");
    assert!(target.block_by_hash(hash_of(&built[2])).is_none());
    let _ = handle.stop();
    target.stop().await;
    source.stop().await;
}

fn target_state(el: &SimElHandle) -> opfleet_tests::el::server::SharedState {
    match el.sync_peer() {
        SyncPeer::InProcess(state) => state,
        SyncPeer::Rpc(_) => unreachable!(),
    }
}
