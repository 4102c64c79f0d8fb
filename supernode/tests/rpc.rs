//! The RPC surface of a node fed hand-made ChainHeads: attest_latest, attest_subscribe over
//! WebSocket, the /<chainid>/ endpoints, 404, super roots, HTTP endpoints, and a restart that
//! does not regress.

mod common;

use std::time::Duration;

use alloy::primitives::keccak256;
use common::*;
use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use opfleet_attest::{AttestationKind, PublicKey, SignedAttestation, SigningKey};
use opfleet_engine::PayloadForGossip;
use opfleet_protocol::p2p::BlockTopicVersion;
use opfleet_protocol::p2p::req_resp::{check_served_block, decode_payload_body};
use opfleet_protocol::{
    ChainId, DerivedIdPair, OutputResponse, SafeHeadResponse, SuperRootAtTimestampResponse,
    SuperRootResponse, SupernodeSyncStatus, SyncStatus,
};
use opfleet_supernode::heads::ChainHeads;
use opfleet_supernode::node::service::Node;
use opfleet_supernode::node::{ChainSetup, PayloadSource, SourceError};
use serde::Deserialize;
use tokio::sync::watch;

const A: ChainId = ChainId(10);
const B: ChainId = ChainId(8453);

fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

#[derive(Debug, Deserialize)]
struct Latest {
    safe: Option<SignedAttestation>,
    finalized: Option<SignedAttestation>,
}

struct Running {
    node: Node,
    senders: Vec<watch::Sender<ChainHeads>>,
}

async fn start(dir: &std::path::Path, initial: &[ChainHeads]) -> Running {
    let config = node_config(dir);
    let mut node = Node::start(&config, vec![setup(A), setup(B)], key(), None)
        .await
        .unwrap();
    let mut senders = Vec::new();
    for h in initial {
        let (tx, rx) = watch::channel(*h);
        node.attach(rx);
        senders.push(tx);
    }
    Running { node, senders }
}

fn root_url(node: &Node) -> String {
    format!("http://{}", node.rpc_addr())
}

async fn latest(node: &Node, chain: ChainId) -> Latest {
    let c = HttpClientBuilder::default().build(root_url(node)).unwrap();
    c.request("attest_latest", rpc_params![chain.to_string()])
        .await
        .unwrap()
}

/// Waits until the latest safe and finalized attestations are at these heights.
async fn wait_signed(node: &Node, chain: ChainId, safe: u64, finalized: u64) -> Latest {
    eventually("attestations", || async {
        let l = latest(node, chain).await;
        let at =
            |a: &Option<SignedAttestation>, n| a.is_some_and(|a| a.attestation.block.number == n);
        (at(&l.safe, safe) && at(&l.finalized, finalized)).then_some(l)
    })
    .await
}

async fn next(
    sub: &mut jsonrpsee::core::client::Subscription<SignedAttestation>,
) -> SignedAttestation {
    tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("a notification")
        .expect("subscription open")
        .expect("a valid attestation")
}

fn check_signed(s: &SignedAttestation, kind: AttestationKind, chain: ChainId, n: u64) {
    s.verify().unwrap();
    assert_eq!(s.signer, PublicKey::of(&key()));
    let a = &s.attestation;
    assert_eq!(a.kind, kind);
    assert_eq!(a.chain_id, chain);
    assert_eq!(a.block, l2(chain, n));
    assert_eq!(a.output_root, output(chain, n).output_root);
}

#[tokio::test]
async fn attestations_over_http_and_websocket() {
    let dir = tempfile::tempdir().unwrap();
    let r = start(dir.path(), &[heads(A, 20, 10), heads(B, 30, 12)]).await;
    let node = &r.node;
    let l = wait_signed(node, A, 20, 10).await;
    check_signed(l.safe.as_ref().unwrap(), AttestationKind::Safe, A, 20);
    check_signed(
        l.finalized.as_ref().unwrap(),
        AttestationKind::Finalized,
        A,
        10,
    );
    assert_eq!(
        l.safe.unwrap().attestation.derived_from,
        heads(A, 20, 10).safe_derived_from
    );
    wait_signed(node, B, 30, 12).await;

    // Unknown chain: invalid params.
    let c = HttpClientBuilder::default().build(root_url(node)).unwrap();
    let err = c
        .request::<Latest, _>("attest_latest", rpc_params!["999"])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("-32602") || err.to_string().contains("unknown chain"),
        "{err}"
    );

    // Subscribe to chain A only: latest first, then each new one.
    let ws = WsClientBuilder::default()
        .build(format!("ws://{}", node.rpc_addr()))
        .await
        .unwrap();
    let mut sub = ws
        .subscribe::<SignedAttestation, _>(
            "attest_subscribe",
            rpc_params![vec![A.to_string()]],
            "attest_unsubscribe",
        )
        .await
        .unwrap();
    let first = next(&mut sub).await;
    check_signed(&first, AttestationKind::Safe, A, 20);
    let second = next(&mut sub).await;
    check_signed(&second, AttestationKind::Finalized, A, 10);
    // A change on chain B is not pushed to this subscriber; one on A is.
    r.senders[1].send_replace(heads(B, 32, 12));
    wait_signed(node, B, 32, 12).await;
    r.senders[0].send_replace(heads(A, 24, 16));
    let mut got = [next(&mut sub).await, next(&mut sub).await];
    got.sort_by_key(|s| s.attestation.kind);
    check_signed(&got[0], AttestationKind::Safe, A, 24);
    check_signed(&got[1], AttestationKind::Finalized, A, 16);
    // Same heads again: nothing new is signed.
    r.senders[0].send_replace(heads(A, 24, 16));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), sub.next())
            .await
            .is_err()
    );
    r.node.shutdown().await;
}

#[tokio::test]
async fn chain_endpoints_and_http_routes() {
    let dir = tempfile::tempdir().unwrap();
    let r = start(dir.path(), &[heads(A, 20, 10), heads(B, 30, 12)]).await;
    let node = &r.node;
    wait_signed(node, A, 20, 10).await;
    wait_signed(node, B, 30, 12).await;
    let addr = node.rpc_addr();

    for path in [format!("/{A}"), format!("/{A}/")] {
        let c = HttpClientBuilder::default()
            .build(format!("http://{addr}{path}"))
            .unwrap();
        let s: SyncStatus = c
            .request("optimism_syncStatus", rpc_params![])
            .await
            .unwrap();
        assert_eq!(s, heads(A, 20, 10).status, "{path}");
    }
    let c = HttpClientBuilder::default()
        .build(format!("http://{addr}/{A}/"))
        .unwrap();
    let o: OutputResponse = c
        .request("optimism_outputAtBlock", rpc_params!["0xf"])
        .await
        .unwrap();
    assert_eq!(o.output_root, output(A, 15).output_root);
    assert_eq!(o.block_ref, l2(A, 15));
    assert_eq!(o.state_root, output(A, 15).state_root);
    assert_eq!(o.sync_status, Some(heads(A, 20, 10).status));
    let cfg: serde_json::Value = c
        .request("optimism_rollupConfig", rpc_params![])
        .await
        .unwrap();
    assert_eq!(cfg["l2_chain_id"], serde_json::json!(10));
    let v: String = c.request("optimism_version", rpc_params![]).await.unwrap();
    assert!(v.starts_with('v'), "{v}");
    // SafeDB: safe head 20 recorded at its derived-from L1 block.
    let from = heads(A, 20, 10).safe_derived_from;
    let at: SafeHeadResponse = c
        .request(
            "optimism_safeHeadAtL1Block",
            rpc_params![format!("{:#x}", from.number + 5)],
        )
        .await
        .unwrap();
    assert_eq!(at.l1_block, from);
    assert_eq!(at.safe_head, l2(A, 20).id());
    assert!(
        c.request::<SafeHeadResponse, _>(
            "optimism_safeHeadAtL1Block",
            rpc_params![format!("{:#x}", from.number - 1)]
        )
        .await
        .is_err()
    );
    // No execution client for payloads: the method is not there.
    assert!(
        c.request::<serde_json::Value, _>("opfleet_payloadByNumber", rpc_params!["0x1"])
            .await
            .is_err()
    );

    // Unknown chain and unknown paths: 404.
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"optimism_syncStatus","params":[]}"#;
    assert_eq!(http(addr, "POST", "/999/", body).await.0, 404);
    assert_eq!(http(addr, "POST", "/999", body).await.0, 404);
    assert_eq!(http(addr, "GET", "/nope/deeper", "").await.0, 404);
    let (code, text) = http(addr, "POST", &format!("/{B}/"), body).await;
    assert_eq!(code, 200);
    assert!(text.contains(&format!("{}", l2(B, 30).hash)), "{text}");

    let (code, metrics) = http(addr, "GET", "/metrics", "").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains(r#"opfleet_supernode_l2_head{chain="10",head="safe"} 20"#),
        "{metrics}"
    );
    assert!(
        metrics
            .contains(r#"opfleet_supernode_attestations_signed_total{chain="8453",kind="safe"}"#)
    );
    let (code, ok) = http(addr, "GET", "/healthz", "").await;
    assert_eq!((code, ok.trim()), (200, "ok"));
    let (code, page) = http(addr, "GET", "/status", "").await;
    assert_eq!(code, 200);
    assert!(
        page.contains("chain 8453") && page.contains("#30"),
        "{page}"
    );

    // Root methods.
    let root = HttpClientBuilder::default().build(root_url(node)).unwrap();
    let hb: String = root
        .request("heartbeat_check", rpc_params![])
        .await
        .unwrap();
    assert!(hb.starts_with("0x") && hb.len() == 34, "{hb}");
    let s: SupernodeSyncStatus = root
        .request("supernode_syncStatus", rpc_params![])
        .await
        .unwrap();
    assert_eq!(s.chain_ids, vec![A, B]);
    assert_eq!(s.chains[&B], heads(B, 30, 12).status);
    assert_eq!(s.safe_timestamp, l2(A, 20).timestamp);
    let pair: DerivedIdPair = root
        .request("supervisor_crossSafe", rpc_params![A.to_string()])
        .await
        .unwrap();
    assert_eq!(pair.derived, l2(A, 20).id());
    assert_eq!(pair.source, heads(A, 20, 10).safe_derived_from);
    let fin: opfleet_protocol::BlockId = root
        .request("supervisor_finalized", rpc_params![B.to_string()])
        .await
        .unwrap();
    assert_eq!(fin, l2(B, 12).id());
    let sup: opfleet_protocol::SupervisorSyncStatus = root
        .request("supervisor_syncStatus", rpc_params![])
        .await
        .unwrap();
    assert_eq!(sup.chains[&A].cross_safe, l2(A, 20).id());
    let err = root
        .request::<serde_json::Value, _>("supervisor_checkAccessList", rpc_params![])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("interop is not active"), "{err}");
    r.node.shutdown().await;
}

/// keccak256(0x01 | ts | (chain id word | output root) by ascending chain id), by hand.
fn expected_super_root(
    ts: u64,
    roots: &[(ChainId, alloy::primitives::B256)],
) -> alloy::primitives::B256 {
    let mut sorted = roots.to_vec();
    sorted.sort_by_key(|(c, _)| *c);
    let mut pre = vec![1u8];
    pre.extend_from_slice(&ts.to_be_bytes());
    for (c, root) in sorted {
        pre.extend_from_slice(&[0u8; 24]);
        pre.extend_from_slice(&c.get().to_be_bytes());
        pre.extend_from_slice(root.as_slice());
    }
    keccak256(pre)
}

#[tokio::test]
async fn super_roots_from_per_chain_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let r = start(dir.path(), &[heads(A, 20, 10), heads(B, 30, 12)]).await;
    let node = &r.node;
    wait_signed(node, A, 20, 10).await;
    wait_signed(node, B, 30, 12).await;
    let root = HttpClientBuilder::default().build(root_url(node)).unwrap();

    // Timestamp of block 15 (+1 s: still block 15): safe on both chains.
    let ts = GENESIS_TIME + BLOCK_TIME * 15 + 1;
    let resp: SuperRootAtTimestampResponse = root
        .request("superroot_atTimestamp", rpc_params![format!("{ts:#x}")])
        .await
        .unwrap();
    let want = expected_super_root(
        ts,
        &[
            (B, output(B, 15).output_root),
            (A, output(A, 15).output_root),
        ],
    );
    let data = resp.data.expect("verified data");
    assert_eq!(data.super_root, want);
    assert_eq!(data.super_v1.unwrap().outputs().len(), 2);
    assert_eq!(
        resp.optimistic_at_timestamp[&A].output.unwrap().output_root,
        output(A, 15).output_root
    );
    assert_eq!(resp.chain_ids, vec![A, B]);
    // Required L1 is where each chain's safe head first reached block 15.
    assert_eq!(
        resp.optimistic_at_timestamp[&B].required_l1,
        heads(B, 30, 12).safe_derived_from
    );
    let sup: SuperRootResponse = root
        .request(
            "supervisor_superRootAtTimestamp",
            rpc_params![format!("{ts:#x}")],
        )
        .await
        .unwrap();
    assert_eq!(sup.super_root, want);
    assert_eq!(sup.to_super_v1().unwrap().timestamp(), ts);
    assert_eq!(keccak256(&sup.chains[0].pending), sup.chains[0].canonical);

    // Block 25 is safe on B only: optimistic outputs, no verified data.
    let ts = GENESIS_TIME + BLOCK_TIME * 25;
    let resp: SuperRootAtTimestampResponse = root
        .request("superroot_atTimestamp", rpc_params![format!("{ts:#x}")])
        .await
        .unwrap();
    assert!(resp.data.is_none());
    assert_eq!(
        resp.optimistic_at_timestamp[&A].output.unwrap().output_root,
        output(A, 25).output_root
    );
    let err = root
        .request::<SuperRootResponse, _>(
            "supervisor_superRootAtTimestamp",
            rpc_params![format!("{ts:#x}")],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not yet safe"), "{err}");
    r.node.shutdown().await;
}

#[tokio::test]
async fn restart_serves_stored_state_and_never_regresses() {
    let dir = tempfile::tempdir().unwrap();
    {
        let r = start(dir.path(), &[heads(A, 40, 20)]).await;
        wait_signed(&r.node, A, 40, 20).await;
        r.node.shutdown().await;
    }
    // Restart with derivation behind (as after a restart from an older anchor).
    let r = start(dir.path(), &[heads(A, 30, 20)]).await;
    let node = &r.node;
    let l = latest(node, A).await;
    check_signed(l.safe.as_ref().unwrap(), AttestationKind::Safe, A, 40);
    check_signed(
        l.finalized.as_ref().unwrap(),
        AttestationKind::Finalized,
        A,
        20,
    );
    let c = HttpClientBuilder::default()
        .build(format!("http://{}/{A}/", node.rpc_addr()))
        .unwrap();
    let s: SyncStatus = c
        .request("optimism_syncStatus", rpc_params![])
        .await
        .unwrap();
    assert_eq!(s.safe_l2.number, 40);
    // Lower finalized is never adopted either.
    r.senders[0].send_replace(heads(A, 45, 18));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s: SyncStatus = c
        .request("optimism_syncStatus", rpc_params![])
        .await
        .unwrap();
    assert_eq!((s.safe_l2.number, s.finalized_l2.number), (40, 20));
    assert_eq!(
        latest(node, A).await.safe.unwrap().attestation.block.number,
        40
    );
    // Once derivation passes the stored heads, it is served and signed.
    r.senders[0].send_replace(heads(A, 44, 22));
    let l = wait_signed(node, A, 44, 22).await;
    check_signed(
        l.finalized.as_ref().unwrap(),
        AttestationKind::Finalized,
        A,
        22,
    );
    let s: SyncStatus = c
        .request("optimism_syncStatus", rpc_params![])
        .await
        .unwrap();
    assert_eq!(s.safe_l2.number, 44);
    // Chain B never reported: not healthy yet, and its endpoint says so.
    let (code, text) = http(node.rpc_addr(), "GET", "/healthz", "").await;
    assert_eq!(code, 503);
    assert!(text.contains("8453"), "{text}");
    r.node.shutdown().await;
}

/// Blocks handed to the node as if read from its execution client.
struct FakePayloads(std::collections::BTreeMap<u64, PayloadForGossip>);

#[async_trait::async_trait]
impl PayloadSource for FakePayloads {
    async fn payload_by_number(
        &self,
        number: u64,
    ) -> Result<Option<PayloadForGossip>, SourceError> {
        if number == 666 {
            return Err(SourceError::Unavailable("execution client down".into()));
        }
        Ok(self.0.get(&number).cloned())
    }
}

/// An empty block `number` of `version` (V3 or V4) whose payload hashes to its block hash.
fn gossip_block(number: u64, version: BlockTopicVersion) -> PayloadForGossip {
    use alloy::consensus::constants::{EMPTY_ROOT_HASH, EMPTY_WITHDRAWALS};
    use alloy::consensus::{BlockBody, EMPTY_OMMER_ROOT_HASH, Header};
    use alloy::eips::eip7685::EMPTY_REQUESTS_HASH;
    use alloy::primitives::B256;
    use alloy::rpc::types::engine::ExecutionPayloadV3;
    use op_alloy_rpc_types_engine::{
        OpExecutionPayload, OpExecutionPayloadEnvelope, OpExecutionPayloadV4,
    };
    let isthmus = version == BlockTopicVersion::V4;
    let root = B256::repeat_byte(0x42);
    let header = Header {
        parent_hash: B256::repeat_byte(number as u8),
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        state_root: B256::repeat_byte(2),
        transactions_root: EMPTY_ROOT_HASH,
        receipts_root: EMPTY_ROOT_HASH,
        number,
        gas_limit: 30_000_000,
        timestamp: GENESIS_TIME + BLOCK_TIME * number,
        base_fee_per_gas: Some(7),
        withdrawals_root: Some(if isthmus {
            B256::repeat_byte(0x77)
        } else {
            EMPTY_WITHDRAWALS
        }),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(root),
        requests_hash: isthmus.then_some(EMPTY_REQUESTS_HASH),
        ..Header::default()
    };
    let hash = header.hash_slow();
    let withdrawals_root = header.withdrawals_root.unwrap_or_default();
    let block = alloy::consensus::Block {
        header,
        body: BlockBody::<op_alloy_consensus::OpTxEnvelope> {
            transactions: vec![],
            ommers: vec![],
            withdrawals: Some(Default::default()),
        },
    };
    let v3 = ExecutionPayloadV3::from_block_unchecked(hash, &block);
    let execution_payload = if isthmus {
        OpExecutionPayload::V4(OpExecutionPayloadV4::from_v3_with_withdrawals_root(
            v3,
            withdrawals_root,
        ))
    } else {
        OpExecutionPayload::V3(v3)
    };
    PayloadForGossip {
        version,
        envelope: OpExecutionPayloadEnvelope {
            parent_beacon_block_root: Some(root),
            execution_payload,
        },
    }
}

#[tokio::test]
async fn payload_by_number_serves_the_req_resp_body() {
    let dir = tempfile::tempdir().unwrap();
    let blocks: std::collections::BTreeMap<u64, PayloadForGossip> = [
        (5, gossip_block(5, BlockTopicVersion::V3)),
        (6, gossip_block(6, BlockTopicVersion::V4)),
    ]
    .into();
    let with_el = ChainSetup {
        payloads: Some(std::sync::Arc::new(FakePayloads(blocks.clone()))),
        ..setup(A)
    };
    let node = Node::start(
        &node_config(dir.path()),
        vec![with_el, setup(B)],
        key(),
        None,
    )
    .await
    .unwrap();
    let c = HttpClientBuilder::default()
        .build(format!("http://{}/{A}/", node.rpc_addr()))
        .unwrap();

    #[derive(Deserialize)]
    struct Answer {
        version: u8,
        payload: alloy::primitives::Bytes,
    }
    for (n, fed) in &blocks {
        let a: Option<Answer> = c
            .request("opfleet_payloadByNumber", rpc_params![format!("{n:#x}")])
            .await
            .unwrap();
        let a = a.expect("the block is served");
        assert_eq!(a.version, fed.version.topic_index() + 1);
        let version = BlockTopicVersion::from_topic_index(a.version - 1).unwrap();
        let decoded = decode_payload_body(&a.payload, version).unwrap();
        assert_eq!(decoded, fed.envelope);
        check_served_block(&decoded, *n).unwrap();
        // The body is the root followed by the SSZ payload, as in a req/resp answer.
        assert_eq!(a.payload[..32], [0x42; 32]);
        let raw: serde_json::Value = c
            .request("opfleet_payloadByNumber", rpc_params![format!("{n:#x}")])
            .await
            .unwrap();
        assert_eq!(
            raw.as_object().map(|o| o.len()),
            Some(2),
            "only version and payload: {raw}"
        );
    }
    // A block the execution client does not have: null.
    let none: Option<serde_json::Value> = c
        .request("opfleet_payloadByNumber", rpc_params!["0x7"])
        .await
        .unwrap();
    assert_eq!(none, None);
    // Bad numbers: invalid params.
    for bad in [
        serde_json::json!("7"),
        serde_json::json!("0xzz"),
        serde_json::json!(-1),
    ] {
        let e = c
            .request::<serde_json::Value, _>("opfleet_payloadByNumber", rpc_params![bad.clone()])
            .await
            .unwrap_err();
        match e {
            jsonrpsee::core::client::Error::Call(obj) => assert_eq!(obj.code(), -32602, "{bad}"),
            other => panic!("{bad}: {other}"),
        }
    }
    let missing = c
        .request::<serde_json::Value, _>("opfleet_payloadByNumber", rpc_params![])
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, jsonrpsee::core::client::Error::Call(o) if o.code() == -32602),
        "{missing}"
    );
    // The execution client failing is a server error, not null.
    let down = c
        .request::<serde_json::Value, _>("opfleet_payloadByNumber", rpc_params!["0x29a"])
        .await
        .unwrap_err();
    assert!(down.to_string().contains("execution client down"), "{down}");
    node.shutdown().await;
}
