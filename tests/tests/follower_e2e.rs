//! The follower end to end on the devnet: a sequencer on a simulated execution client gossips
//! signed blocks over op-node P2P; a follower with its own simulated execution client takes
//! its unsafe head from that gossip, its safe and finalized heads from a 2-of-3 pool of fake
//! supernodes (C2), repairs a gossip gap from the pool's `opfleet_payloadByNumber`, checks
//! output roots against its own execution client, and restarts without regression.

mod follower_common;
mod sequencer_common;

use std::time::Duration;

use follower_common::*;
use opfleet_attest::AttestationKind::{Finalized, Safe};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_takes_unsafe_from_p2p_and_safe_finalized_from_the_quorum_across_a_restart() {
    // The sequencer's P2P side serves no payloads: the pool must repair the gap.
    let mut w = World::start(false).await;
    let static_peer = w.publisher_peer().await;
    let pool = [
        FakeSupernode::start(CHAIN, true).await,
        FakeSupernode::start(CHAIN, true).await,
        FakeSupernode::start(CHAIN, true).await,
    ];
    let urls: Vec<String> = pool.iter().map(FakeSupernode::url).collect();
    let f = w
        .follower(|rollup, dir, signer| {
            // Trusting pool keys 1..=3 with threshold 2, output roots checked.
            p2p_follower_config(
                rollup,
                dir,
                (&[1, 2, 3], 2),
                urls,
                vec![static_peer],
                signer,
                true,
            )
        })
        .await;

    // Unsafe head follows P2P. Block 5 is withheld from gossip but served by the pool.
    let mut blocks = Vec::new();
    for _ in 0..8 {
        let b = w.seq.step().await.unwrap();
        for m in &pool {
            m.serve_payloads([&b.envelope]);
        }
        if b.l2_block_ref.number != 5 {
            publish(&w.publisher, &b).await;
        }
        blocks.push(b);
    }
    let head = w.seq_el.head().hash;
    eventually(30, "follower EL head = sequencer head", || {
        f.el.head().hash == head
    })
    .await;
    assert_eq!(
        f.el.block_by_number(5).unwrap().hash,
        blocks[4].l2_block_ref.hash
    );

    // Safe and finalized follow the 2-of-3 quorum, output roots checked against our own EL.
    // Block n is blocks[n - 1]; its output root comes from the sequencer's execution client.
    let att = |i: u8, kind, n: u64, derived: u64| {
        let b = w.seq_el.block_by_number(n).unwrap();
        let r = b.l2_block_ref().unwrap();
        attest(i, CHAIN, kind, r, derived, output_root(&b))
    };
    pool[0].publish(att(1, Safe, 6, 3));
    pool[1].publish(att(2, Safe, 6, 3));
    pool[0].publish(att(1, Finalized, 3, 2));
    pool[2].publish(att(3, Finalized, 3, 2));
    eventually(20, "EL safe 6", || f.el.safe().number() == 6).await;
    eventually(20, "EL finalized 3", || f.el.finalized().number() == 3).await;
    let status = f.node.state().sync_status();
    assert_eq!(status.safe_l2, blocks[5].l2_block_ref);
    assert_eq!(status.finalized_l2, blocks[2].l2_block_ref);
    assert_eq!(status.unsafe_l2.hash, head);

    // Restart: stored heads are served at once; older attestations do not pull them back.
    let f = f
        .restart(|| {
            for (i, m) in pool.iter().enumerate() {
                m.publish(att(i as u8 + 1, Safe, 4, 2));
                m.publish(att(i as u8 + 1, Finalized, 2, 1));
            }
        })
        .await;
    let node = &f.node;
    let status = node.state().sync_status();
    assert_eq!(status.safe_l2.number, 6);
    assert_eq!(status.finalized_l2.number, 3);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(node.state().sync_status().safe_l2.number, 6);
    assert_eq!(
        node.state().sync_status().finalized_l2.number,
        3,
        "finalized never moves back"
    );
    assert_eq!(f.el.finalized().number(), 3);

    // And it keeps following: new blocks over P2P, a higher quorum head.
    for _ in 0..3 {
        let b = w.seq.step().await.unwrap();
        publish(&w.publisher, &b).await;
        blocks.push(b);
    }
    let head = w.seq_el.head().hash;
    eventually(30, "follower EL head after restart", || {
        f.el.head().hash == head
    })
    .await;
    pool[1].publish(att(2, Safe, 10, 5));
    pool[2].publish(att(3, Safe, 10, 5));
    eventually(20, "EL safe 10", || f.el.safe().number() == 10).await;

    f.stop().await;
    for m in pool {
        m.stop().await;
    }
    w.stop().await;
}
