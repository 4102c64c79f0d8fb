//! The follower against fake supernodes (C2) and an in-memory execution client: a 3-key pool
//! with threshold 2, an untrusted 4th signer, an equivocating trusted signer, failover from
//! push to polling and between sources, restart without regression, reorg to the attested
//! chain, and the output-root check.

mod common;

use std::sync::Arc;

use alloy::primitives::B256;
use common::*;
use op_alloy_rpc_types_engine::OpExecutionPayloadEnvelope;
use opfleet_attest::AttestationKind::{self, Finalized, Safe};
use opfleet_follower::node::{Extras, FollowerNode};
use opfleet_follower::rpc::OutputRootRefusal;
use opfleet_protocol::L2BlockRef;

async fn start(
    config: opfleet_follower::config::FollowerConfig,
    el: std::sync::Arc<MemEl>,
) -> FollowerNode {
    FollowerNode::start(config, el, Extras::default())
        .await
        .unwrap()
}

fn safe_of(node: &FollowerNode) -> Option<u64> {
    node.state().heads.borrow().safe.map(|h| h.block.number)
}

fn finalized_of(node: &FollowerNode) -> Option<u64> {
    node.state()
        .heads
        .borrow()
        .finalized
        .map(|h| h.block.number)
}

/// Keys 1 and 2, one through each member, attest `block` as `kind`: a 2-of-3 quorum.
fn quorum(
    kind: AttestationKind,
    members: [&FakeSupernode; 2],
    block: L2BlockRef,
    derived: u64,
    output_root: B256,
) {
    for (key, member) in (1..).zip(members) {
        member.publish(attest(key, kind, block, derived, output_root));
    }
}

/// Two push-on pool members (`a` serving `payloads`) and a follower in attested mode over
/// them, with its own data directory.
struct PairFollow {
    a: FakeSupernode,
    b: FakeSupernode,
    node: FollowerNode,
    _dir: tempfile::TempDir,
}

impl PairFollow {
    async fn start(el: &Arc<MemEl>, payloads: &[OpExecutionPayloadEnvelope], verify: bool) -> Self {
        let a = FakeSupernode::start(CHAIN, true).await;
        let b = FakeSupernode::start(CHAIN, true).await;
        a.serve_payloads(payloads);
        let dir = tempfile::tempdir().unwrap();
        let node = start(
            attested_config(dir.path(), vec![a.url(), b.url()], verify),
            el.clone(),
        )
        .await;
        Self {
            a,
            b,
            node,
            _dir: dir,
        }
    }

    /// Keys 1 and 2 attest `block` as safe through `a` and `b`.
    fn attest_safe(&self, block: L2BlockRef, derived: u64, output_root: B256) {
        quorum(Safe, [&self.a, &self.b], block, derived, output_root);
    }
}

/// Waits for the node's first output-root refusal and checks that it names `block` and the
/// root our execution client computes for it.
async fn first_refusal(node: &FollowerNode, block: L2BlockRef) -> OutputRootRefusal {
    eventually(10, "refusal recorded", || {
        !node.state().status().output_root_refusals.is_empty()
    })
    .await;
    let refusal = node.state().status().output_root_refusals[0].clone();
    assert_eq!(refusal.block, block);
    assert_eq!(
        refusal.computed,
        output_root_of(block.hash),
        "computed by our EL"
    );
    refusal
}

/// Waits for the EL's safe label on `attested` (a block of `theirs`) and checks that its
/// canonical chain is `theirs` up to it and `ours` up to the fork point, block 5.
async fn el_reorged_to(
    el: &MemEl,
    attested: L2BlockRef,
    ours: &[OpExecutionPayloadEnvelope],
    theirs: &[OpExecutionPayloadEnvelope],
) {
    eventually(10, "EL safe label on the attested block", || {
        el.safe().map(|s| s.hash) == Some(attested.hash)
    })
    .await;
    assert_eq!(el.canonical_hash(attested.number), Some(attested.hash));
    assert_eq!(
        el.canonical_hash(6),
        Some(theirs[6].execution_payload.block_hash())
    );
    assert_eq!(
        el.canonical_hash(5),
        Some(ours[5].execution_payload.block_hash())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_of_three_drive_the_heads_untrusted_and_equivocating_signers_do_not() {
    let blocks = chain(21, None, 0);
    let el = MemEl::with_chain(&blocks);
    let sn: Vec<FakeSupernode> = futures_join(4).await;
    let dir = tempfile::tempdir().unwrap();
    let urls = sn.iter().map(FakeSupernode::url).collect();
    let node = start(attested_config(dir.path(), urls, false), el.clone()).await;

    let b = |n: usize| block_ref(&blocks[n]);
    let root = |n: usize| output_root_of(b(n).hash);

    // One trusted signer and the untrusted 4th: no quorum.
    sn[0].publish(attest(1, Safe, b(10), 5, root(10)));
    sn[3].publish(attest(4, Safe, b(10), 5, root(10)));
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(
        safe_of(&node),
        None,
        "1 trusted + 1 untrusted must not make a quorum"
    );

    // The second trusted signer completes 2-of-3; the EL's safe label follows.
    sn[1].publish(attest(2, Safe, b(10), 5, root(10)));
    eventually(10, "safe 10", || safe_of(&node) == Some(10)).await;
    eventually(10, "EL safe label 10", || {
        el.safe().map(|s| s.number) == Some(10)
    })
    .await;

    // Signer 3 equivocates at 12 (same L1 view, two blocks); 1 and 2 outvote it.
    let other = payload(Some(&blocks[11]), 9);
    sn[2].publish(attest(
        3,
        Safe,
        block_ref(&other),
        6,
        output_root_of(block_ref(&other).hash),
    ));
    sn[2].publish(attest(3, Safe, b(12), 6, root(12)));
    eventually(10, "evidence", || {
        !node.state().status().evidence.is_empty()
    })
    .await;
    quorum(Safe, [&sn[0], &sn[1]], b(12), 6, root(12));
    eventually(10, "safe 12", || safe_of(&node) == Some(12)).await;
    assert_eq!(
        node.state().heads.borrow().safe.unwrap().block.hash,
        b(12).hash
    );

    // Finalized by 1 and 2.
    quorum(Finalized, [&sn[0], &sn[1]], b(8), 4, root(8));
    eventually(10, "finalized 8", || finalized_of(&node) == Some(8)).await;
    eventually(10, "EL finalized label 8", || {
        el.finalized().map(|s| s.number) == Some(8)
    })
    .await;

    // follower_status over JSON-RPC shows the policy, quorum, evidence and exclusion.
    let status = rpc(node.rpc_addr(), "follower_status").await;
    assert_eq!(status["mode"], "attested");
    assert_eq!(status["trust"]["threshold"], 2);
    assert_eq!(status["excludedSigners"][0], pk(3).to_string());
    assert_eq!(status["evidence"].as_array().unwrap().len(), 1);
    assert_eq!(status["quorum"]["safe"]["head"]["block"]["number"], 12);
    assert!(status["stats"]["unknownSigner"].as_u64().unwrap() >= 1);
    let sync = rpc(node.rpc_addr(), "optimism_syncStatus").await;
    assert_eq!(sync["safe_l2"]["number"], 12);
    assert_eq!(sync["finalized_l2"]["number"], 8);
    assert_eq!(sync["unsafe_l2"]["number"], 20);

    // /healthz and /metrics answer.
    let m = node.metrics_addr().unwrap();
    let health = http_get(m, "/healthz").await;
    assert!(health.0 == 200, "healthz: {health:?}");
    let metrics = http_get(m, "/metrics").await;
    assert!(metrics.1.contains("follower_safe_head"), "{}", metrics.1);

    // Restart: the stored heads and evidence come back before anything new arrives, even
    // though the sources now only have older attestations.
    node.stop().await;
    for s in sn {
        s.stop().await;
    }
    let sn: Vec<FakeSupernode> = futures_join(3).await;
    for (i, s) in sn.iter().enumerate() {
        s.publish(attest(i as u8 + 1, Safe, b(9), 4, root(9)));
        s.publish(attest(i as u8 + 1, Finalized, b(7), 3, root(7)));
    }
    let urls = sn.iter().map(FakeSupernode::url).collect();
    let node = start(attested_config(dir.path(), urls, false), el.clone()).await;
    let sync = rpc(node.rpc_addr(), "optimism_syncStatus").await;
    assert_eq!(sync["safe_l2"]["number"], 12);
    assert_eq!(sync["finalized_l2"]["number"], 8);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(safe_of(&node), Some(12), "no regression after restart");
    assert_eq!(finalized_of(&node), Some(8), "finalized never moves back");
    let status = node.state().status();
    assert_eq!(status.evidence.len(), 1, "evidence persisted");
    assert_eq!(status.excluded_signers, vec![pk(3)]);
    // Newer heads still move it on.
    quorum(Safe, [&sn[0], &sn[1]], b(14), 7, root(14));
    eventually(10, "safe 14 after restart", || safe_of(&node) == Some(14)).await;
    node.stop().await;
}

async fn futures_join(n: usize) -> Vec<FakeSupernode> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(FakeSupernode::start(CHAIN, true).await);
    }
    v
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let code = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_takes_over_without_push_and_a_dead_source_does_not_stop_the_rest() {
    let blocks = chain(12, None, 0);
    let el = MemEl::with_chain(&blocks);
    // Two supernodes without attest_subscribe (poll only) and one URL where nothing listens.
    let a = FakeSupernode::start(CHAIN, false).await;
    let b = FakeSupernode::start(CHAIN, false).await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    let node = start(
        attested_config(dir.path(), vec![dead, a.url(), b.url()], false),
        el,
    )
    .await;
    let r = block_ref(&blocks[6]);
    quorum(Safe, [&a, &b], r, 3, output_root_of(r.hash));
    eventually(10, "safe 6 by polling", || safe_of(&node) == Some(6)).await;
    let status = node.state().status();
    assert!(status.sources.iter().all(|s| !s.push_live));
    assert!(
        status.sources[0].errors > 0,
        "the dead source reports errors"
    );

    // Push source: a supernode restarted on the same port is re-subscribed after backoff.
    let c = FakeSupernode::start(CHAIN, true).await;
    let addr = c.addr;
    let dir2 = tempfile::tempdir().unwrap();
    let el2 = MemEl::with_chain(&blocks);
    let node2 = start(
        attested_config(dir2.path(), vec![c.url(), b.url()], false),
        el2,
    )
    .await;
    eventually(10, "push live", || {
        node2.state().status().sources[0].push_live
    })
    .await;
    c.stop().await;
    eventually(10, "push down", || {
        !node2.state().status().sources[0].push_live
    })
    .await;
    let c = FakeSupernode::start_on(addr, CHAIN, true).await;
    eventually(15, "push back", || {
        node2.state().status().sources[0].push_live
    })
    .await;
    let r = block_ref(&blocks[8]);
    quorum(Safe, [&c, &b], r, 4, output_root_of(r.hash));
    eventually(10, "safe 8 after reconnect", || safe_of(&node2) == Some(8)).await;
    node.stop().await;
    node2.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_execution_client_is_reorged_to_the_attested_chain_and_fills_missing_blocks() {
    // The EL has fork 0 up to 10; the pool attests fork 7, which left fork 0 after block 5.
    let ours = chain(11, None, 0);
    let theirs = chain(13, Some((5, &ours)), 7);
    let el = MemEl::with_chain(&ours);
    let pool = PairFollow::start(&el, &theirs, false).await;
    let r = block_ref(&theirs[8]);
    pool.attest_safe(r, 3, B256::ZERO);
    eventually(10, "EL reorged to the attested block", || {
        el.canonical_hash(8) == Some(r.hash)
    })
    .await;
    el_reorged_to(&el, r, &ours, &theirs).await;

    // An attested head above the EL head: the missing blocks are fetched and inserted.
    let r = block_ref(&theirs[12]);
    pool.attest_safe(r, 5, B256::ZERO);
    eventually(10, "EL caught up to 12", || el.head().hash == r.hash).await;
    eventually(10, "EL safe 12", || el.safe().map(|s| s.number) == Some(12)).await;
    pool.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attested_output_root_that_differs_from_ours_is_refused() {
    let blocks = chain(12, None, 0);
    let el = MemEl::with_chain(&blocks);
    let pool = PairFollow::start(&el, &[], true).await;
    let node = &pool.node;
    let r = block_ref(&blocks[6]);
    pool.attest_safe(r, 3, B256::repeat_byte(0xee));
    let refusal = first_refusal(node, r).await;
    assert_eq!(refusal.signers, {
        let mut v = vec![pk(1), pk(2)];
        v.sort();
        v
    });
    assert_eq!(safe_of(node), None);
    // The right root is accepted.
    let r = block_ref(&blocks[7]);
    pool.attest_safe(r, 4, output_root_of(r.hash));
    eventually(10, "safe 7 verified", || safe_of(node) == Some(7)).await;
    pool.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_source_is_adopted_when_its_status_passes_op_nodes_checks() {
    let blocks = chain(12, None, 0);
    let el = MemEl::with_chain(&blocks);
    let op = FakeOpNode::start().await;
    let b = |n: usize| block_ref(&blocks[n]);
    {
        let mut s = op.status.lock().unwrap();
        s.safe_l2 = b(9);
        s.local_safe_l2 = b(9);
        s.finalized_l2 = b(4);
        s.unsafe_l2 = b(11);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = attested_config(dir.path(), vec![], false);
    config.rollup.block_time = 1;
    config.heads = opfleet_follower::config::HeadsSource::FollowSource {
        url: op.url(),
        l1: None,
    };
    let node = start(config, el.clone()).await;
    eventually(10, "safe 9 from the follow source", || {
        safe_of(&node) == Some(9)
    })
    .await;
    assert_eq!(finalized_of(&node), Some(4));
    eventually(10, "EL labels", || el.safe().map(|s| s.number) == Some(9)).await;

    // finalized > safe fails op-node's order check: not adopted.
    {
        let mut s = op.status.lock().unwrap();
        s.finalized_l2 = b(11);
        s.safe_l2 = b(10);
        s.local_safe_l2 = b(10);
    }
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(safe_of(&node), Some(9));
    assert_eq!(finalized_of(&node), Some(4));
    let status = rpc(node.rpc_addr(), "follower_status").await;
    assert_eq!(status["mode"], "follow-source");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attested_block_on_another_fork_is_fetched_so_its_output_root_can_be_checked() {
    // The EL has fork 0 up to 10; the pool attests block 8 of fork 7 (left fork 0 after 5)
    // with --verify.output-root on: the check needs that block in our EL.
    let ours = chain(11, None, 0);
    let theirs = chain(11, Some((5, &ours)), 7);
    let el = MemEl::with_chain(&ours);
    let pool = PairFollow::start(&el, &theirs, true).await;
    let node = &pool.node;

    // First a wrong output root for block 9 of fork 7: fetched, checked, refused; not safe.
    let r9 = block_ref(&theirs[9]);
    pool.attest_safe(r9, 3, B256::repeat_byte(0xee));
    first_refusal(node, r9).await;
    assert_eq!(safe_of(node), None);
    assert_ne!(el.safe().map(|s| s.hash), Some(r9.hash));

    // Then block 8 of fork 7 with its right output root: reorged to, checked, accepted.
    let r = block_ref(&theirs[8]);
    pool.attest_safe(r, 4, output_root_of(r.hash));
    eventually(10, "safe 8 of fork 7 verified", || {
        node.state().heads.borrow().safe.map(|h| h.block) == Some(r)
    })
    .await;
    el_reorged_to(&el, r, &ours, &theirs).await;
    assert!(node.state().status().output_root_refusals.len() == 1);
    pool.node.stop().await;
}
