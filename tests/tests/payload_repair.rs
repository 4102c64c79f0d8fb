//! Gap repair of the unsafe chain, end to end on the devnet: a sequencer on a simulated
//! execution client gossips its blocks over op-node P2P and serves `payload_by_number`; a
//! follower that misses a block asks its P2P peers first and the source's
//! `opfleet_payloadByNumber` (C2) second; a follower serves other followers from its own
//! execution client; a real supernode serves C2 from the chain's execution client.
//!
//! ```text
//!   sequencer ── gossip (block n held back) ──▶ follower A ── gossip relay ──▶ follower B
//!      └ payload_by_number (n) ◀── A repairs n          B repairs 1..k from A's EL ┘
//!   pool (fake C2) ◀── A's fallback when no peer has n
//!   supernode (real Node, ElPayloads over the sequencer's EL) ◀── follower C's fallback
//! ```
//! And with `--verify.output-root`: a follower that took the conflicting block of a sequencer
//! equivocation fetches and reorgs to the attested block so that its output root is checked.

mod follower_common;
mod sequencer_common;

use std::sync::Arc;
use std::time::Duration;

use follower_common::*;
use opfleet_follower::unsafe_blocks::fetch::{PayloadFetcher, SourceFetcher};
use opfleet_tests::el::SimElHandle;

/// A follower of `w` peering with the sequencer's node, with `source` as its only C2 source,
/// trusting pool key 1 alone; with `--verify.output-root` if `verify`. When no trusted signer
/// publishes, the source serves just as the gap-repair fallback.
async fn follower_of(w: &World, source: String, verify: bool) -> TestFollower {
    let peer = w.publisher_peer().await;
    w.follower(|rollup, dir, signer| {
        p2p_follower_config(
            rollup,
            dir,
            (&[1], 1),
            vec![source],
            vec![peer],
            signer,
            verify,
        )
    })
    .await
}

/// Waits until `el` has the sequencer's head, then checks every block's hash.
async fn same_chain(el: &SimElHandle, seq_el: &SimElHandle, what: &str) {
    let head = seq_el.head();
    eventually(40, what, || el.head().hash == head.hash).await;
    for n in 0..=head.number() {
        assert_eq!(
            el.block_by_number(n).map(|b| b.hash),
            seq_el.block_by_number(n).map(|b| b.hash),
            "{what}: block {n}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gaps_are_repaired_over_p2p_first_then_from_the_source_and_served_from_the_el() {
    let mut w = World::start(true).await;
    let pool = FakeSupernode::start(CHAIN, true).await;
    let a = follower_of(&w, pool.url(), false).await;

    // Block 4 never reaches A over gossip; the sequencer's node serves it, and so does the
    // pool: A must take it over P2P without asking the pool.
    tokio::time::sleep(Duration::from_secs(1)).await;
    while w.seq.head().number < 7 {
        let withhold = w.seq.head().number + 1 == 4;
        let b = w.step(withhold).await;
        pool.serve_payloads([&b.envelope]);
    }
    same_chain(&a.el, &w.seq_el, "A repairs block 4 over P2P").await;
    assert!(
        !pool.payload_requests().contains(&4),
        "P2P answered first: {:?}",
        pool.payload_requests()
    );

    // Block 10: held back from gossip and hidden from the sequencer's P2P store: A falls back
    // to the source's opfleet_payloadByNumber.
    w.store.hidden.lock().unwrap().insert(10);
    while w.seq.head().number < 9 {
        let b = w.step(false).await;
        pool.serve_payloads([&b.envelope]);
    }
    let held = w.step(true).await;
    assert_eq!(held.l2_block_ref.number, 10);
    pool.serve_payloads([&held.envelope]);
    for _ in 0..2 {
        let b = w.step(false).await;
        pool.serve_payloads([&b.envelope]);
    }
    same_chain(&a.el, &w.seq_el, "A repairs block 10 from the source").await;
    assert!(pool.payload_requests().contains(&10));

    // A restarts (its recent-payload cache is empty, its EL has everything). Follower B, at
    // genesis, peers with A alone and has a source that serves nothing: every block it lacks
    // comes from A's execution client over payload_by_number.
    let a = a.restart(|| {}).await;
    let empty_pool = FakeSupernode::start(CHAIN, true).await;
    let peer = peer_addr(a.node.p2p().unwrap()).await;
    let b = w
        .follower(|rollup, dir, signer| {
            let sources = vec![empty_pool.url()];
            p2p_follower_config(rollup, dir, (&[1], 1), sources, vec![peer], signer, false)
        })
        .await;
    // New blocks reach B through A's relay once the mesh has formed; the first one shows B
    // its gap. (Few: gossip refuses blocks from the future, and the chain started 30 s ago.)
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        w.step(false).await;
        if b.el.head().number() > 12 {
            break;
        }
    }
    same_chain(&b.el, &w.seq_el, "B repairs 1..12 from A's EL").await;

    b.stop().await;
    a.stop().await;
    pool.stop().await;
    empty_pool.stop().await;
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supernode_serves_payloads_from_the_chain_el_and_a_follower_repairs_from_it() {
    let mut w = World::start(true).await;
    // A real supernode node for chain 901 reading the sequencer's execution client.
    let sn_dir = tempfile::tempdir().unwrap();
    let l2 = || opfleet_engine::L2Client::new(&w.seq_el.rpc_url(), &w.rollup).unwrap();
    let setup = opfleet_supernode::node::ChainSetup {
        rollup: w.rollup.clone(),
        outputs: Arc::new(opfleet_supernode::node::derivation::ElOutputs(l2())),
        payloads: Some(Arc::new(opfleet_supernode::node::ElPayloads(l2()))),
    };
    let sn_config = opfleet_supernode::config::NodeConfig {
        chains: Vec::new(),
        l1: "http://127.0.0.1:1".into(),
        l1_beacon: None,
        data_dir: sn_dir.path().to_path_buf(),
        signer_key: sn_dir.path().join("unused.key"),
        rpc: "127.0.0.1:0".parse().unwrap(),
        metrics: None,
        p2p_attest: None,
        l1_prague_time: None,
        l1_cache: Default::default(),
    };
    let sn = opfleet_supernode::node::service::Node::start(
        &sn_config,
        vec![setup],
        opfleet_attest::SigningKey::from_bytes(&[9; 32]),
        None,
    )
    .await
    .unwrap();
    let sn_url = format!("http://{}", sn.rpc_addr());

    // The follower's decoder reads the supernode's answers back into the EL's blocks (no
    // follower listens yet: nothing is gossiped).
    for _ in 0..3 {
        w.step(true).await;
    }
    let fetcher = SourceFetcher::new(&format!("{sn_url}/{CHAIN}/")).unwrap();
    for n in 0..=3 {
        let env = fetcher.payload_by_number(n).await.unwrap().expect("served");
        assert_eq!(
            env.execution_payload.block_hash(),
            w.seq_el.block_by_number(n).unwrap().hash,
            "block {n}"
        );
        if n > 0 {
            assert_eq!(
                Some(env),
                w.seq.payload_by_number(n),
                "block {n} is the payload the sequencer built"
            );
        }
    }
    assert_eq!(fetcher.payload_by_number(4).await.unwrap(), None);

    // A follower whose only source is the supernode: block 6, held back from gossip and
    // hidden from P2P, is repaired through opfleet_payloadByNumber.
    w.store.hidden.lock().unwrap().insert(6);
    let f = follower_of(&w, sn_url, false).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    while w.seq.head().number < 8 {
        let withhold = w.seq.head().number + 1 == 6;
        w.step(withhold).await;
    }
    same_chain(&f.el, &w.seq_el, "follower repairs 6 from the supernode").await;

    f.stop().await;
    sn.shutdown().await;
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifying_follower_on_an_equivocated_block_fetches_the_attested_one_to_check_it() {
    let mut w = World::start(true).await;
    let pool = FakeSupernode::start(CHAIN, true).await;
    let f = follower_of(&w, pool.url(), true).await;
    let (node, el) = (&f.node, &f.el);
    tokio::time::sleep(Duration::from_secs(1)).await;
    while w.seq.head().number < 3 {
        w.step(false).await;
    }
    same_chain(el, &w.seq_el, "follower at 3").await;

    // Block 4 is equivocated: the follower gets only the conflicting block over gossip.
    let mut sequenced = w.seq.subscribe();
    w.seq.controls().equivocate_next_block();
    let canonical = w.step(true).await;
    let conflicting = loop {
        let b = sequenced.recv().await.unwrap();
        if b.equivocation == Some(opfleet_tests::sequencer::Equivocation::Conflicting) {
            break b;
        }
    };
    assert_eq!(conflicting.l2_block_ref.number, 4);
    assert_ne!(conflicting.l2_block_ref.hash, canonical.l2_block_ref.hash);
    publish(&w.publisher, &conflicting).await;
    eventually(20, "follower EL took the conflicting block", || {
        el.head().hash == conflicting.l2_block_ref.hash
    })
    .await;

    // The signer attests the canonical block 4 with its output root: the follower must have
    // that block to check the root, so it fetches it and reorgs to it, then accepts it.
    let attested = w.seq_el.block_by_number(4).unwrap();
    let r = attested.l2_block_ref().unwrap();
    assert_eq!(r, canonical.l2_block_ref);
    pool.publish(attest(
        1,
        CHAIN,
        opfleet_attest::AttestationKind::Safe,
        r,
        2,
        output_root(&attested),
    ));
    eventually(20, "attested block 4 verified and safe", || {
        node.state().heads.borrow().safe.map(|h| h.block) == Some(r)
    })
    .await;
    eventually(20, "EL safe label on it", || el.safe().hash == r.hash).await;
    assert!(node.state().status().output_root_refusals.is_empty());

    // And unsafe progress resumes on the attested chain.
    for _ in 0..2 {
        w.step(false).await;
    }
    same_chain(el, &w.seq_el, "follower on the sequencer's chain").await;

    f.stop().await;
    pool.stop().await;
    w.stop().await;
}
