//! Each admin fault does what it says, observed from outside over the real wire: L1 JSON-RPC,
//! the chains' eth RPC, libp2p gossip and the admin namespace.

mod devnet_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use alloy::primitives::{Address, B256};
use devnet_support::*;
use jsonrpsee::core::client::Error as ClientError;
use jsonrpsee::rpc_params;
use opfleet_protocol::interop::{ExecutingMessage, payload_hash};
use opfleet_protocol::{ChainId, L1BlockRef};
use opfleet_tests::devnet::ChainEndpoints;
use serde::Deserialize;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(40);

fn hash_of(block: &Value) -> B256 {
    block["hash"].as_str().unwrap().parse().unwrap()
}

fn parent_of(block: &Value) -> B256 {
    block["parentHash"].as_str().unwrap().parse().unwrap()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reorg {
    dropped: Vec<L1BlockRef>,
    new_head: L1BlockRef,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l1_reorg_replaces_blocks_and_the_chain_goes_on() {
    let net = start(config("reorg", 1)).await;
    let l1 = net.endpoints.l1.clone();
    let el = net.endpoints.chains[0].el_rpc.clone();
    // Past the finalized lag, so a depth-2 reorg is allowed.
    eventually("12 L1 blocks", WAIT, || async {
        (block_number(&l1).await >= 12).then_some(())
    })
    .await;

    let r: Reorg = net.admin("admin_l1Reorg", rpc_params![2]).await.unwrap();
    assert_eq!(r.dropped.len(), 2);
    for d in &r.dropped {
        let now = block(&l1, d.number).await;
        assert_ne!(hash_of(&now), d.hash, "block {} was not replaced", d.number);
    }
    // Parents still link across the replaced range.
    let first = r.dropped[0].number;
    let mut child = block(&l1, r.new_head.number).await;
    assert_eq!(hash_of(&child), r.new_head.hash);
    for n in (first - 2..r.new_head.number).rev() {
        let parent = block(&l1, n).await;
        assert_eq!(
            parent_of(&child),
            hash_of(&parent),
            "block {} does not link",
            n + 1
        );
        child = parent;
    }
    // A reorg shallower than the sequencer's L1 confirmation depth leaves its origin alone.
    let l2 = block_number(&el).await;
    eventually("L2 blocks after the reorg", WAIT, || async {
        (block_number(&el).await >= l2 + 3).then_some(())
    })
    .await;
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l1_reorg_that_drops_transactions_makes_the_batcher_post_again() {
    let net = start(config("reorg-drop", 1)).await;
    let l1 = net.endpoints.l1.clone();
    eventually("12 L1 blocks", WAIT, || async {
        (block_number(&l1).await >= 12).then_some(())
    })
    .await;
    let bad = net
        .admin::<Value>("admin_l1Reorg", rpc_params![2, "forget"])
        .await
        .unwrap_err();
    assert!(
        matches!(&bad, ClientError::Call(e) if e.code() == -32602),
        "{bad:?}"
    );
    // The batcher posts every few L1 blocks: reorg 3 away until one of its transactions is lost.
    let mut posted_before = None;
    for _ in 0..10 {
        let (_, posted) = batcher_progress(&net).await;
        let r: Reorg = net
            .admin("admin_l1Reorg", rpc_params![3, "dropSubmitted"])
            .await
            .unwrap();
        assert_eq!(r.dropped.len(), 3);
        let rewound = tokio::time::timeout(Duration::from_secs(3), async {
            loop {
                if batcher_progress(&net).await.0 > 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        if rewound.is_ok() {
            posted_before = Some(posted.unwrap_or(0));
            break;
        }
    }
    let posted_before = posted_before.expect("a reorg that lost a batcher transaction");
    eventually("the lost blocks posted again and more", WAIT, || async {
        let (_, posted) = batcher_progress(&net).await;
        (posted? > posted_before).then_some(())
    })
    .await;
    net.stop().await;
}

/// The batcher's L1 rewinds and last posted block, from `admin_status`.
async fn batcher_progress(net: &TestNet) -> (u64, Option<u64>) {
    let s: Value = net.admin("admin_status", rpc_params![]).await.unwrap();
    let c = &s["chains"][0];
    (
        c["batcher_l1_rewinds"].as_u64().unwrap(),
        c["batcher_posted"]["number"].as_u64(),
    )
}

/// The receipts' logs of `number` on `url` as (block-wide index, log).
async fn logs(url: &str, number: u64) -> Vec<alloy::rpc::types::Log> {
    let receipts = call(
        url,
        "eth_getBlockReceipts",
        rpc_params![format!("{number:#x}")],
    )
    .await;
    receipts
        .as_array()
        .map(|rs| {
            rs.iter()
                .flat_map(|r| r["logs"].as_array().cloned().unwrap_or_default())
                .map(|l| serde_json::from_value(l).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the log `msg` names exists on its chain with the payload it claims.
async fn resolves(chains: &[ChainEndpoints], msg: &ExecutingMessage) -> bool {
    let Some(chain) = chains.iter().find(|c| c.chain_id == msg.chain_id) else {
        return false;
    };
    let b = block(&chain.el_rpc, msg.block_number).await;
    if b.is_null() || quantity(&b["timestamp"]) != msg.timestamp {
        return false;
    }
    logs(&chain.el_rpc, msg.block_number)
        .await
        .iter()
        .find(|l| l.log_index == Some(u64::from(msg.log_index)))
        .is_some_and(|l| {
            l.inner.address == msg.origin && payload_hash(&l.inner.data) == msg.payload_hash
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_executing_message_points_at_no_log() {
    let net = start(config("invalid", 2)).await;
    let chains = net.endpoints.chains.clone();
    let a = chains[0].el_rpc.clone();
    eventually("a few blocks on both chains", WAIT, || async {
        (block_number(&a).await >= 4 && block_number(&chains[1].el_rpc).await >= 4).then_some(())
    })
    .await;
    let start_at = block_number(&a).await;
    assert!(
        net.admin::<bool>("admin_injectInvalidExecutingMessage", rpc_params!["901"])
            .await
            .unwrap()
    );
    let mut valid = 0;
    let mut next = 1;
    let deadline = tokio::time::Instant::now() + WAIT;
    let bad = 'scan: loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no block with an unresolvable executing message"
        );
        let head = block_number(&a).await;
        for n in next..=head {
            for log in logs(&a, n).await {
                let Some(msg) = ExecutingMessage::from_log(&log.inner).unwrap() else {
                    continue;
                };
                if resolves(&chains, &msg).await {
                    valid += 1;
                } else {
                    break 'scan (n, msg);
                }
            }
        }
        next = head + 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        bad.0 > start_at,
        "invalid message in block {} before the fault",
        bad.0
    );
    assert!(valid > 0, "no valid executing message to compare with");
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equivocation_gossips_two_signed_blocks_at_one_height() {
    let net = start(config("equivocate", 1)).await;
    let chain = net.endpoints.chains[0].clone();
    let node = listener(&chain).await;
    let mut blocks = node.blocks();
    let first = tokio::time::timeout(WAIT, blocks.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.signer, chain.unsafe_block_signer);

    assert!(
        net.admin::<bool>("admin_equivocateNextBlock", rpc_params!["901"])
            .await
            .unwrap()
    );
    let mut seen: BTreeMap<u64, BTreeSet<B256>> = BTreeMap::new();
    let height = tokio::time::timeout(WAIT, async {
        loop {
            let b = blocks.recv().await.unwrap();
            assert_eq!(b.signer, chain.unsafe_block_signer);
            let hashes = seen.entry(b.envelope.payload.block_number()).or_default();
            hashes.insert(b.envelope.payload.block_hash());
            if hashes.len() == 2 {
                return b.envelope.payload.block_number();
            }
        }
    })
    .await
    .expect("no two blocks at one height");
    let canonical = hash_of(&block(&chain.el_rpc, height).await);
    assert!(seen[&height].contains(&canonical));
    node.stop().await;
    net.stop().await;
}

/// Transactions to `inbox` in L1 blocks `from..=to`.
async fn batch_txs(l1: &str, inbox: Address, from: u64, to: u64) -> usize {
    let mut n = 0;
    for number in from..=to {
        let b = block(l1, number).await;
        n += b["transactions"]
            .as_array()
            .map(|txs| {
                txs.iter()
                    .filter(|t| {
                        t["to"].as_str().and_then(|s| s.parse::<Address>().ok()) == Some(inbox)
                    })
                    .count()
            })
            .unwrap_or(0);
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batcher_stops_and_resumes_with_the_backlog() {
    let net = start(config("batcher", 1)).await;
    let l1 = net.endpoints.l1.clone();
    let chain = net.endpoints.chains[0].clone();
    eventually("a first batch", WAIT, || async {
        let head = block_number(&l1).await;
        (batch_txs(&l1, chain.batch_inbox, 1, head).await > 0).then_some(())
    })
    .await;

    assert!(
        net.admin::<bool>("admin_batcherStop", rpc_params!["901"])
            .await
            .unwrap()
    );
    let stopped_at = block_number(&l1).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let now = block_number(&l1).await;
    assert!(now >= stopped_at + 4, "L1 stalled");
    // A transaction sent before the stop returned may still land in the next block.
    assert_eq!(
        batch_txs(&l1, chain.batch_inbox, stopped_at + 2, now).await,
        0
    );
    let status: Value = net.admin("admin_status", rpc_params![]).await.unwrap();
    assert_eq!(status["chains"][0]["batcher_paused"], true);

    let backlog = block_number(&chain.el_rpc).await;
    assert!(
        net.admin::<bool>("admin_batcherResume", rpc_params!["901"])
            .await
            .unwrap()
    );
    eventually("batches after the resume", WAIT, || async {
        let head = block_number(&l1).await;
        (batch_txs(&l1, chain.batch_inbox, now + 1, head).await > 0).then_some(())
    })
    .await;
    eventually("the backlog posted", WAIT, || async {
        let s: Value = net.admin("admin_status", rpc_params![]).await.unwrap();
        let posted = s["chains"][0]["batcher_posted"]["number"].as_u64()?;
        (posted >= backlog).then_some(())
    })
    .await;
    net.stop().await;
}

fn running(status: &Value, name: &str) -> Option<bool> {
    status["nodes"]
        .as_array()?
        .iter()
        .find(|n| n["name"] == name)?["running"]
        .as_bool()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_are_killed_and_restarted() {
    let net = start(config("kill", 1)).await;
    let chain = net.endpoints.chains[0].clone();
    let el = chain.el_rpc.clone();
    let node = listener(&chain).await;
    let mut blocks = node.blocks();
    tokio::time::timeout(WAIT, blocks.recv())
        .await
        .unwrap()
        .unwrap();

    // Unknown nodes are invalid params.
    match net
        .admin::<bool>("admin_nodeKill", rpc_params!["sequencer-7"])
        .await
    {
        Err(ClientError::Call(e)) => assert_eq!(e.code(), -32602),
        other => panic!("expected invalid params, got {other:?}"),
    }

    // The sequencer: no blocks and no peer while killed; both come back after a restart.
    assert!(
        net.admin::<bool>("admin_nodeKill", rpc_params!["sequencer-901"])
            .await
            .unwrap()
    );
    assert!(
        net.admin::<bool>("admin_nodeKill", rpc_params!["sequencer-901"])
            .await
            .is_err()
    );
    let status: Value = net.admin("admin_status", rpc_params![]).await.unwrap();
    assert_eq!(running(&status, "sequencer-901"), Some(false));
    eventually("the listener losing its peer", WAIT, || async {
        node.peers().await.unwrap().is_empty().then_some(())
    })
    .await;
    let frozen = block_number(&el).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        block_number(&el).await,
        frozen,
        "blocks while the sequencer was killed"
    );
    while blocks.try_recv().is_ok() {}

    assert!(
        net.admin::<bool>("admin_nodeRestart", rpc_params!["sequencer-901"])
            .await
            .unwrap()
    );
    let again = tokio::time::timeout(WAIT, async {
        loop {
            let b = blocks.recv().await.unwrap();
            if b.envelope.payload.block_number() > frozen {
                return b;
            }
        }
    })
    .await
    .expect("no gossip after the restart");
    assert_eq!(again.signer, chain.unsafe_block_signer);
    let status: Value = net.admin("admin_status", rpc_params![]).await.unwrap();
    assert_eq!(running(&status, "sequencer-901"), Some(true));

    // The batcher: killed it refuses stop/resume, restarted it posts again.
    assert!(
        net.admin::<bool>("admin_nodeKill", rpc_params!["batcher-901"])
            .await
            .unwrap()
    );
    assert!(
        net.admin::<bool>("admin_batcherStop", rpc_params!["901"])
            .await
            .is_err()
    );
    let status: Value = net.admin("admin_status", rpc_params![]).await.unwrap();
    assert_eq!(running(&status, "batcher-901"), Some(false));
    assert!(status["chains"][0]["batcher_paused"].is_null());
    let l1 = net.endpoints.l1.clone();
    let killed_at = block_number(&l1).await;
    assert!(
        net.admin::<bool>("admin_nodeRestart", rpc_params!["batcher-901"])
            .await
            .unwrap()
    );
    eventually("batches after the batcher restart", WAIT, || async {
        let head = block_number(&l1).await;
        (batch_txs(&l1, chain.batch_inbox, killed_at + 1, head).await > 0).then_some(())
    })
    .await;
    let _ = ChainId(901);
    node.stop().await;
    net.stop().await;
}
