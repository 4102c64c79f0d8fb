//! Followers through faults on the devnet with a real supernode pool (issue 6): an L1 reorg
//! that undoes batches the pool derived from moves the followers' safe head back and forward
//! again while finalized never moves back; a follower killed and restarted serves no older
//! heads than before and catches up.
//!
//! The reorg loses the batcher's transactions of the dropped blocks (`ReorgMode::DropSubmitted`,
//! a real L1's mempool forgetting them), so the new branch holds no batches past the fork until
//! the batcher notices and posts again. The test holds the batcher paused from just before the
//! reorg until the 2-of-3 follower's safe head is back: every pool member then sits at its
//! rewound head together, so a quorum on the lower head forms whatever the machine's load
//! (with the L1's default re-inclusion each member is back for well under a second and two of
//! them rarely at once). The follower of one member must see safe go back as well.
//!
//! ```text
//!  batcher paused ─ L1 reorg(≤6, drop submitted txs): blocks holding batches replaced, batches lost
//!     ─▶ pool rewinds, signs the lower head ─▶ followers (1-of-1 and 2-of-3): safe back
//!  batcher resumed ─▶ sees its lost txs, posts those blocks again ─▶ pool re-derives, signs
//!     ─▶ followers: safe on past the reorg; finalized ↑ only (follower and its EL)
//!  follower kill ─ pool moves on ─ restart ─▶ stored heads served at once, then caught up
//! ```
//! The tests of one binary share the machine's two cores, so they run one at a time.

mod devnet_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use devnet_support::fleet::*;
use devnet_support::*;
use opfleet_attest::PublicKey;
use opfleet_tests::devnet::{FleetNode, FollowerSpec};
use opfleet_tests::l1::ReorgMode;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The sequencer's L1 confirmation depth in the reorg test: its origins stay below every reorg.
const CONFS: u64 = 7;
/// Deepest L1 reorg: below [`CONFS`], so the L2 chain's origins stay, and within the L1
/// finality lag (8 blocks).
const MAX_DEPTH: u64 = CONFS - 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_l1_reorg_moves_safe_back_and_on_while_finalized_never_moves_back() {
    let _one_at_a_time = SERIAL.lock().await;
    let started = Instant::now();
    let mut config = one_chain_fleet("fff-reorg", 3, 1, 2);
    config.sequencer_l1_confs = CONFS;
    let net = start(config).await;
    let world = net.devnet.world().clone();
    let pool = world.pool();
    let keys: Vec<PublicKey> = pool.iter().map(|s| s.signer()).collect();
    let f = world.followers().remove(0);
    let mut solo_spec = FollowerSpec::attested(f.chain_id(), vec![pool[0].signer()], 1);
    solo_spec.supernode_urls = vec![pool[0].ws_url()];
    let solo = world.add_follower(solo_spec).await.unwrap();
    let solo_log = HeadLog::start(&solo);
    // Every accepted head from the start, and the execution client's finalized label, sampled
    // all along.
    let log = HeadLog::start(&f);
    let el_finalized = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let (el, out) = (f.el().clone(), el_finalized.clone());
        tokio::spawn(async move {
            loop {
                out.lock().unwrap().push(el.finalized().number());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    eventually("follower converged", WAIT, || async {
        converged(&world, &f, &keys, 2)
    })
    .await;

    // Reorg while the follower's safe head was derived from one of the last few L1 blocks, deep
    // enough to take away the batches it came from (a loaded machine derives a few blocks
    // behind the L1 head). The batcher is paused first, so nothing is posted again until the
    // followers were seen back.
    let chain = f.chain_id();
    let mut reorged = None;
    let (mut mark, mut solo_mark) = (0, 0);
    for _ in 0..10 {
        let polls = std::sync::atomic::AtomicU64::new(0);
        let att = eventually("safe head derived from a recent L1 block", WAIT, || async {
            let l = attest_latest(&pool[0]).await?.safe?;
            let accepted = f.sync_status()?.safe_l2;
            let head = world.l1().head().number;
            if polls
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                .is_multiple_of(50)
            {
                eprintln!(
                    "L1 head #{head}; supernode-0 safe #{} from L1 #{}; follower safe #{}",
                    l.attestation.block.number, l.attestation.derived_from.number, accepted.number
                );
            }
            let depth = (head + 1).checked_sub(l.attestation.derived_from.number)?;
            let limit = MAX_DEPTH.min(head.saturating_sub(world.l1().finalized().number));
            (depth <= limit && accepted == l.attestation.block).then_some(l.attestation)
        })
        .await;
        world.batcher_stop(chain).await.unwrap();
        // The L1 may have moved on while the batcher paused.
        let head = world.l1().head().number;
        let limit = MAX_DEPTH.min(head.saturating_sub(world.l1().finalized().number));
        let depth = (head + 1).saturating_sub(att.derived_from.number);
        if depth > limit {
            world.batcher_resume(chain).await.unwrap();
            continue;
        }
        (mark, solo_mark) = (log.seen().len(), solo_log.seen().len());
        let out = world
            .l1_reorg_with(depth, ReorgMode::DropSubmitted)
            .unwrap();
        eprintln!(
            "reorg of L1 #{}..: safe #{} derived from L1 #{}",
            out.dropped[0].number, att.block.number, att.derived_from.number
        );
        if out.dropped.iter().any(|b| b.id() == att.derived_from) {
            reorged = Some((att, out));
            break;
        }
        world.batcher_resume(chain).await.unwrap();
    }
    let (att, out) = reorged.expect("a reorg under the safe head's L1 block");
    let before = att.block.number;
    eprintln!(
        "L1 reorg: {} blocks from #{} replaced, follower safe #{before} derived from L1 #{} after {:?}",
        out.dropped.len(),
        out.dropped[0].number,
        att.derived_from.number,
        started.elapsed()
    );

    // Both followers go back below the reorged safe head, the 2-of-3 one on a quorum of
    // rewound attestations.
    let back = eventually("2-of-3 follower's safe moves back", WAIT, || async {
        log.seen()[mark..]
            .iter()
            .filter_map(|h| h.safe)
            .find(|s| s.block.number < before)
    })
    .await;
    assert!(on_chain(&world, back.block.id()), "{back:?}");
    let solo_back = eventually("one-member follower's safe moves back", WAIT, || async {
        solo_log.seen()[solo_mark..]
            .iter()
            .filter_map(|h| h.safe)
            .find(|s| s.block.number < before)
    })
    .await;
    eprintln!(
        "safe back to #{} (2-of-3) and #{} (one member) after {:?}; batcher resumes",
        back.block.number,
        solo_back.block.number,
        started.elapsed()
    );
    world.batcher_resume(chain).await.unwrap();

    let on = eventually("follower safe moves on past the reorg", WAIT, || async {
        converged(&world, &f, &keys, 2).filter(|c| c.safe.number > before)
    })
    .await;
    eprintln!(
        "safe on to #{}, finalized #{} after {:?}",
        on.safe.number,
        on.finalized.number,
        started.elapsed()
    );
    eventually(
        "one-member follower's safe moves on past the reorg",
        WAIT,
        || async {
            solo.sync_status()
                .filter(|s| s.safe_l2.number > before && on_chain(&world, s.safe_l2.id()))
        },
    )
    .await;
    let rewinds = world.status().chains[0].batcher_l1_rewinds;
    assert!(rewinds >= 1, "the batcher never posted lost blocks again");
    // In the 2-of-3 follower's log: back below the reorged head, then on past it.
    let safes: Vec<u64> = log.seen()[mark..]
        .iter()
        .filter_map(|h| h.safe.map(|s| s.block.number))
        .collect();
    let back_at = safes.iter().position(|n| *n < before).unwrap();
    assert!(
        safes[back_at..].iter().any(|n| *n > before),
        "2-of-3 follower's safe heads after the reorg: {safes:?}"
    );
    sampler.abort();
    solo_log.assert_finalized_monotonic();
    for h in log.seen().iter().chain(solo_log.seen().iter()) {
        if let Some(s) = h.safe {
            assert!(
                on_chain(&world, s.block.id()),
                "a safe head off the sequencer's chain: {s:?}"
            );
        }
    }
    solo_log.stop();
    log.assert_finalized_monotonic();
    let seen = log.stop();
    assert!(seen.iter().any(|h| h.finalized.is_some()));
    let fin = el_finalized.lock().unwrap().clone();
    assert!(
        fin.windows(2).all(|w| w[0] <= w[1]),
        "EL finalized moved back: {fin:?}"
    );
    eprintln!("reorg test done in {:?}", started.elapsed());
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_and_restarted_follower_resumes_without_regression() {
    let _one_at_a_time = SERIAL.lock().await;
    let started = Instant::now();
    let net = start(one_chain_fleet("fff-restart", 3, 1, 2)).await;
    let world = net.devnet.world().clone();
    let pool = world.pool();
    let keys: Vec<PublicKey> = pool.iter().map(|s| s.signer()).collect();
    let f = world.followers().remove(0);
    eventually("follower converged", WAIT, || async {
        converged(&world, &f, &keys, 2)
    })
    .await;
    let before = f.sync_status().unwrap();

    net.admin::<bool>("admin_nodeKill", jsonrpsee::rpc_params![f.name()])
        .await
        .unwrap();
    assert!(!f.is_running() && f.sync_status().is_none());
    // The pool moves on while the follower is down.
    let pool_safe = eventually("pool safe moves on", WAIT, || async {
        let l = attest_latest(&pool[0]).await?.safe?;
        (l.attestation.block.number > before.safe_l2.number + 4).then_some(l.attestation.block)
    })
    .await;
    net.admin::<bool>("admin_nodeRestart", jsonrpsee::rpc_params![f.name()])
        .await
        .unwrap();

    // Served at once: not older than before the kill (the stored heads).
    let at_restart = f.sync_status().unwrap();
    let log = HeadLog::start(&f);
    assert!(at_restart.safe_l2.number >= before.safe_l2.number);
    assert!(at_restart.finalized_l2.number >= before.finalized_l2.number);
    let served: serde_json::Value = call(
        &f.rpc_url(),
        "optimism_syncStatus",
        jsonrpsee::rpc_params![],
    )
    .await;
    assert!(served["safe_l2"]["number"].as_u64().unwrap() >= before.safe_l2.number);
    assert!(served["finalized_l2"]["number"].as_u64().unwrap() >= before.finalized_l2.number);
    eprintln!(
        "restarted at safe #{} finalized #{} (before kill #{} / #{}, pool safe #{}) after {:?}",
        at_restart.safe_l2.number,
        at_restart.finalized_l2.number,
        before.safe_l2.number,
        before.finalized_l2.number,
        pool_safe.number,
        started.elapsed()
    );

    // Catches up with the pool and the sequencer.
    let c = eventually("restarted follower catches up", WAIT, || async {
        converged(&world, &f, &keys, 2).filter(|c| c.safe.number >= pool_safe.number)
    })
    .await;
    let target = seq_head(&world);
    eventually("restarted follower's unsafe head", WAIT, || async {
        (f.el().head().number() >= target).then_some(())
    })
    .await;
    log.assert_finalized_monotonic();
    for h in log.stop() {
        let safe = h.safe.unwrap().block.number;
        let fin = h.finalized.unwrap().block.number;
        assert!(safe >= before.safe_l2.number, "safe regressed to #{safe}");
        assert!(
            fin >= before.finalized_l2.number,
            "finalized regressed to #{fin}"
        );
    }
    eprintln!(
        "caught up: safe #{} finalized #{} after {:?}",
        c.safe.number,
        c.finalized.number,
        started.elapsed()
    );
    net.stop().await;
}
