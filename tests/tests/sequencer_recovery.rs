//! The sequencer recovers like op-node's: an L1 reorg under its current origin rewinds the
//! unsafe head to the highest block whose origin is still canonical (never below the safe head)
//! and rebuilds on the new L1 branch; a restarted sequencer resumes at its execution client's
//! head. The batcher follows the rewind.

mod batcher_support;
mod engine_support;
mod l1_support;
mod sequencer_common;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use alloy::primitives::B256;
use op_alloy_consensus::OpTxEnvelope;
use opfleet_protocol::{BlockId, ChainId, L2BlockRef};
use opfleet_tests::batcher::DataAvailability;
use opfleet_tests::el::SimElHandle;
use opfleet_tests::l1::L1Handle;
use opfleet_tests::sequencer::{
    SequencedBlock, Sequencer, SequencerConfig, SequencerError, TxGenConfig,
};
use sequencer_common::{Chain, devnet_chain, jwt, manual_l1, p2p_key};
use tokio::sync::broadcast;

const CHAIN: ChainId = ChainId(901);

/// An L1 with blocks 1..=6 (6 s apart) and a sequencer whose head is L2 block 20 (2 s blocks),
/// on origin 6: origin `k` covers L2 blocks `3k..=3k+2` (block 20 is the second of epoch 6).
async fn chain_on_origin_six() -> (L1Handle, Chain) {
    let l1 = manual_l1().await;
    for _ in 0..6 {
        l1.mine();
    }
    let mut chain = devnet_chain(&l1, CHAIN).await;
    for _ in 0..20 {
        chain.seq.step().await.unwrap();
    }
    let head = chain.seq.head();
    assert_eq!((head.number, head.l1_origin.number), (20, 6));
    (l1, chain)
}

fn hashes(el: &SimElHandle, to: u64) -> BTreeMap<u64, B256> {
    (1..=to)
        .map(|n| (n, el.block_by_number(n).unwrap().hash))
        .collect()
}

fn block_id(el: &SimElHandle, n: u64) -> BlockId {
    el.block_by_number(n).unwrap().id()
}

/// The whole canonical chain on the EL: parents link, every origin is canonical on L1, origins
/// and sequence numbers follow one another, the sequencer's head is the EL head and its payload
/// store serves exactly the canonical blocks.
fn assert_consistent(l1: &L1Handle, el: &SimElHandle, seq: &Sequencer) {
    let head = el.head();
    assert_eq!(head.hash, seq.head().hash, "sequencer head is the EL head");
    let mut prev: Option<L2BlockRef> = None;
    for n in 1..=head.number() {
        let block = el.block_by_number(n).unwrap();
        let r = block.l2_block_ref().unwrap();
        let parent = el.block_by_number(n - 1).unwrap();
        assert_eq!(r.parent_hash, parent.hash, "block {n} links to its parent");
        let l1_hash = l1.with_chain(|c| c.by_number(r.l1_origin.number).map(|b| b.hash));
        assert_eq!(
            l1_hash,
            Some(r.l1_origin.hash),
            "origin of block {n} canonical"
        );
        if let Some(p) = prev {
            if r.l1_origin == p.l1_origin {
                assert_eq!(r.sequence_number, p.sequence_number + 1, "block {n}");
            } else {
                assert_eq!(r.l1_origin.number, p.l1_origin.number + 1, "block {n}");
                assert_eq!(r.sequence_number, 0, "block {n}");
            }
        }
        let stored = seq
            .payload_by_number(n)
            .map(|p| p.execution_payload.block_hash());
        assert!(
            stored.is_none() || stored == Some(block.hash),
            "payload store at {n} holds a replaced block"
        );
        prev = Some(r);
    }
    assert!(seq.payload_by_number(head.number() + 1).is_none());
}

fn drain(rx: &mut broadcast::Receiver<SequencedBlock>) -> Vec<L2BlockRef> {
    let mut out = Vec::new();
    while let Ok(b) = rx.try_recv() {
        out.push(b.l2_block_ref);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l1_reorg_under_the_origin_rewinds_and_rebuilds() {
    for depth in 1..=3u64 {
        let (l1, Chain { el, mut seq }) = chain_on_origin_six().await;
        let before = hashes(&el, 20);
        let mut gossip = seq.subscribe();

        // L1 blocks 7-depth..=6 are replaced (and one more is mined): every L2 block on one of
        // them must go; the highest survivor is the last block of epoch 6-depth.
        let outcome = l1.reorg(depth).unwrap();
        assert_eq!(outcome.dropped.first().unwrap().number, 7 - depth);
        let survivor = 3 * (7 - depth) - 1;

        let first = seq.step().await.unwrap().l2_block_ref;
        assert_eq!(
            first.number,
            survivor + 1,
            "depth {depth}: rebuilt from the survivor"
        );
        assert_eq!(first.parent_hash, before[&survivor]);
        for _ in 0..12 {
            seq.step().await.unwrap();
        }
        assert_consistent(&l1, &el, &seq);

        // Survivors kept their hashes; every rewound height got a new block.
        let after = hashes(&el, 20);
        for n in 1..=20 {
            if n <= survivor {
                assert_eq!(after[&n], before[&n], "depth {depth}: block {n} kept");
            } else {
                assert_ne!(after[&n], before[&n], "depth {depth}: block {n} replaced");
            }
        }
        // The new blocks went out on gossip, the rewound heights first, in order.
        let published: Vec<u64> = drain(&mut gossip).iter().map(|r| r.number).collect();
        let expected: Vec<u64> = (survivor + 1..=seq.head().number).collect();
        assert_eq!(published, expected, "depth {depth}");
        // And the payload store serves the new blocks at the rewound heights.
        for n in survivor + 1..=seq.head().number {
            let stored = seq.payload_by_number(n).unwrap();
            let canonical = el.block_by_number(n).unwrap().hash;
            assert_eq!(stored.execution_payload.block_hash(), canonical);
        }
        el.stop().await;
        l1.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewind_stops_at_the_safe_head_and_waits_when_its_origin_is_gone() {
    let (l1, Chain { el, mut seq }) = chain_on_origin_six().await;
    let controls = seq.controls();
    // Safe head: block 16 (origin 5). A reorg of depth 2 removes origins 5 and 6.
    let safe = block_id(&el, 16);
    controls.set_safe(safe);
    l1.reorg(2).unwrap();

    let err = seq.step().await.unwrap_err();
    assert!(
        matches!(err, SequencerError::SafeOriginReorged { safe: s, .. } if s == safe),
        "{err}"
    );
    assert_eq!(
        seq.head().hash,
        safe.hash,
        "rewound to the safe head, not below"
    );
    assert_eq!(el.head().hash, safe.hash);
    // Stays there while the safe head does not move.
    assert!(seq.step().await.is_err());
    assert_eq!(el.head().number(), 16);

    // Derivation moves the safe head back to block 12 (origin 4): the rewind goes on to the
    // last block of epoch 4 and building resumes on the new branch.
    controls.set_safe(block_id(&el, 12));
    let next = seq.step().await.unwrap().l2_block_ref;
    assert_eq!(next.number, 15);
    assert_eq!(next.l1_origin.number, 5);
    for _ in 0..8 {
        seq.step().await.unwrap();
    }
    assert_consistent(&l1, &el, &seq);
    assert_eq!(el.safe().number(), 12);
    el.stop().await;
    l1.stop().await;
}

/// Every (sender, nonce) of the chain's user transactions is used once.
fn assert_unique_nonces(el: &SimElHandle) {
    let mut seen = HashSet::new();
    for n in 1..=el.head().number() {
        for tx in &el.block_by_number(n).unwrap().block.body.transactions {
            if let OpTxEnvelope::Eip1559(signed) = tx {
                let sender = signed.recover_signer().unwrap();
                let nonce = signed.tx().nonce;
                assert!(
                    seen.insert((sender, nonce)),
                    "block {n}: nonce {nonce} reused"
                );
            }
        }
    }
    assert!(!seen.is_empty(), "no user transactions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_sequencer_continues_the_chain() {
    let (l1, Chain { el, seq }) = chain_on_origin_six().await;
    seq.controls().set_safe(block_id(&el, 9));
    seq.controls().set_finalized(block_id(&el, 3));
    let config = SequencerConfig {
        rollup: seq.rollup().clone(),
        l1_rpc_url: l1.rpc_url(),
        engine_url: el.engine_url(),
        jwt_secret: jwt(),
        p2p_key: p2p_key(CHAIN),
        l1_confirmation_depth: 0,
        txgen: TxGenConfig::default(),
        interop: None,
    };

    // Running on its timer (the chain is far behind the wall clock, so it builds at once),
    // then stopped.
    let handle = seq.run();
    let mut gossip = handle.subscribe();
    for _ in 0..3 {
        tokio::time::timeout(Duration::from_secs(10), gossip.recv())
            .await
            .unwrap()
            .unwrap();
    }
    assert!(handle.stop().await.is_some());
    let head = el.head().l2_block_ref().unwrap();
    assert!(head.number >= 23);

    // A new sequencer on the same execution client picks the chain up where it was.
    let mut seq = Sequencer::new(config.clone()).await.unwrap();
    assert_eq!(seq.head(), head);
    assert_eq!(seq.controls().safe(), block_id(&el, 9));
    assert_eq!(seq.controls().finalized(), block_id(&el, 3));
    l1.mine();
    for _ in 0..6 {
        let r = seq.step().await.unwrap().l2_block_ref;
        let prev = el
            .block_by_number(r.number - 1)
            .unwrap()
            .l2_block_ref()
            .unwrap();
        assert_eq!(r.parent_hash, prev.hash);
        if r.l1_origin == prev.l1_origin {
            assert_eq!(r.sequence_number, prev.sequence_number + 1);
        } else {
            assert_eq!(r.l1_origin.number, prev.l1_origin.number + 1);
            assert_eq!(r.sequence_number, 0);
        }
    }
    assert_eq!(seq.head().number, head.number + 6);
    assert_consistent(&l1, &el, &seq);
    assert_unique_nonces(&el);

    // Restarted again while L1 reorgs under its origin: it rewinds on its first step (without
    // tx generator checkpoints: nonces come back from the chain).
    let head = seq.head();
    drop(seq);
    l1.reorg(2).unwrap();
    let mut seq = Sequencer::new(config).await.unwrap();
    assert_eq!(seq.head(), head);
    let first = seq.step().await.unwrap().l2_block_ref;
    assert!(first.number <= head.number, "rewound on the first step");
    for _ in 0..6 {
        seq.step().await.unwrap();
    }
    assert_consistent(&l1, &el, &seq);
    assert_unique_nonces(&el);
    el.stop().await;
    l1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batcher_reposts_the_rebuilt_blocks_after_a_rewind() {
    use batcher_support::{
        World, assert_posted_chain, batcher_address, batcher_config, expected_block, mine_some,
        post_through, read_posted, spawn_batcher,
    };
    let l1 = manual_l1().await;
    l1.set_batcher(batcher_address()).unwrap();
    for _ in 0..6 {
        l1.mine();
    }
    let Chain { el, mut seq } = devnet_chain(&l1, CHAIN).await;
    for _ in 0..20 {
        seq.step().await.unwrap();
    }
    let safe = block_id(&el, 6);
    seq.controls().set_safe(safe);
    seq.step().await.unwrap();
    let head = seq.head();
    let w = World {
        l1: std::sync::Arc::new(l1),
        secret: jwt(),
        head: head.hash,
        tx_nonce: 0,
        el,
    };
    let mut config = batcher_config(&w);
    config.da = DataAvailability::calldata();
    let batcher = spawn_batcher(&w, config).await;
    post_through(&w, &batcher, head.number).await;
    // It started from the safe head.
    assert_posted_chain(&w, &read_posted(&w.l1).await, safe.number + 1, head.number);

    // The L1 moved on while posting: let the origin catch up with its head, then reorg it away.
    for _ in 0..200 {
        if seq.head().l1_origin.number == w.l1.head().number {
            break;
        }
        seq.step().await.unwrap();
    }
    assert_eq!(seq.head().l1_origin.number, w.l1.head().number);
    let old_head = seq.head().number;
    w.l1.reorg(2).unwrap();
    seq.step().await.unwrap();
    assert!(seq.head().number <= old_head, "rewound");
    while seq.head().number <= old_head + 1 {
        seq.step().await.unwrap();
    }
    let new_head = seq.head().number;
    post_through(&w, &batcher, new_head).await;
    mine_some(&w.l1, 2);
    let status = batcher.status();
    batcher.stop().await;
    assert!(status.l2_reorgs >= 1, "{status:?}");

    // After its restart from the safe head, the channels carry exactly blocks safe+1..=head of
    // the new chain.
    let posted = read_posted(&w.l1).await;
    let restart = posted
        .channels
        .iter()
        .rposition(|c| c.parent_check == safe.hash[..20])
        .expect("a channel restarts from the safe head");
    let blocks: Vec<_> = posted.channels[restart..]
        .iter()
        .flat_map(|c| c.blocks.clone())
        .collect();
    let expected: Vec<_> = (safe.number + 1..=new_head)
        .map(|n| expected_block(&w.el, n))
        .collect();
    assert_eq!(blocks, expected);
    assert_consistent(&w.l1, &w.el, &seq);
}
