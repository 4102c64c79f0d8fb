//! One devnet chain driven step by step: chaining, L1 origins, deposits, gossip, equivocation
//! and the rollup.json; and the timer-driven mode.

mod sequencer_common;

use alloy::consensus::Transaction as _;
use op_alloy_consensus::OpTxEnvelope;
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::deposit::user_deposits;
use opfleet_protocol::l1_info::L1BlockInfo;
use opfleet_protocol::p2p::{decode_block_message, recover_signer};
use opfleet_protocol::{BlockId, ChainId};
use opfleet_tests::l1::{L1, L1Config};
use opfleet_tests::sequencer::{
    DevnetChainConfig, DevnetFork, Equivocation, TxGenConfig, rollup::write_rollup_json,
};
use sequencer_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_chain_follow_origins_carry_deposits_and_gossip() {
    for fork in [DevnetFork::Isthmus, DevnetFork::Jovian] {
        let l1 = manual_l1().await;
        for _ in 0..5 {
            l1.mine();
        }
        let chain_id = ChainId(901);
        let config = DevnetChainConfig {
            fork,
            min_base_fee: 1_000,
            ..DevnetChainConfig::devnet(chain_id)
        };
        let Chain { el, mut seq } = spawn_chain(&l1, config, TxGenConfig::default(), None).await;
        let mut gossip = seq.subscribe();
        let signer = seq.signer();
        let genesis = el.genesis();

        let mut prev_hash = genesis.hash;
        let mut prev_origin = seq.rollup().genesis.l1;
        let mut prev_seq = 0;
        let (mut epochs, mut deposits_seen, mut user_txs) = (0, 0, 0);
        for n in 1..=12u64 {
            let block = seq.step().await.unwrap();
            let r = block.l2_block_ref;
            assert_eq!(r.number, n);
            assert_eq!(r.parent_hash, prev_hash);

            // The execution client holds it as its canonical block, chained to the previous.
            let sim = el.block_by_number(n).unwrap();
            assert_eq!(sim.hash, r.hash);
            assert_eq!(sim.header().parent_hash, prev_hash);
            assert_eq!(el.head().hash, r.hash);

            // The first transaction is the L1-info deposit naming the chosen origin.
            let txs = &sim.block.body.transactions;
            let OpTxEnvelope::Deposit(first) = &txs[0] else {
                panic!("block {n}: first tx is not a deposit");
            };
            let info = L1BlockInfo::from_deposit_tx(first.inner()).unwrap();
            assert_eq!(info.l1_origin(), r.l1_origin);
            assert_eq!(info.sequence_number, r.sequence_number);
            assert_eq!(sim.l2_block_ref(), Some(r));
            let origin = l1.with_chain(|c| c.by_number(r.l1_origin.number).unwrap().block_ref());
            assert_eq!(origin.hash, r.l1_origin.hash);
            assert!(origin.timestamp <= r.timestamp, "origin ahead of L2 time");
            assert_eq!(
                sim.header().mix_hash,
                l1.with_chain(|c| { c.by_number(origin.number).unwrap().header.mix_hash })
            );

            // Origins advance one block at a time, exactly when the next L1 block is not in
            // the future, and sequence numbers reset at each new epoch.
            let new_epoch = r.l1_origin != prev_origin;
            if new_epoch {
                assert_eq!(r.l1_origin.number, prev_origin.number + 1);
                assert_eq!(r.sequence_number, 0);
                epochs += 1;
            } else {
                assert_eq!(r.sequence_number, prev_seq + 1);
                let next =
                    l1.with_chain(|c| c.by_number(prev_origin.number + 1).map(|b| b.block_ref()));
                assert!(next.is_none_or(|b| b.timestamp > r.timestamp));
            }

            // User deposits of the origin, in log order, right after the L1-info deposit of
            // the epoch's first block, and nowhere else.
            let deposits: Vec<_> = txs[1..]
                .iter()
                .filter_map(|t| match t {
                    OpTxEnvelope::Deposit(d) => Some(d.inner().clone()),
                    _ => None,
                })
                .collect();
            let expected = if new_epoch {
                let logs = l1_logs(&l1, origin.number);
                user_deposits(l1.portal(), origin.hash, logs.iter().map(|(i, l)| (*i, l))).unwrap()
            } else {
                Vec::new()
            };
            assert_eq!(deposits, expected, "block {n}");
            deposits_seen += deposits.len();
            for t in &txs[1 + deposits.len()..] {
                assert!(!t.is_deposit());
                assert_eq!(t.chain_id(), Some(chain_id.get()));
                user_txs += 1;
            }

            // The gossip message decodes and recovers the sequencer's key.
            let published = gossip.recv().await.unwrap();
            assert_eq!(published.l2_block_ref, r);
            let env =
                decode_block_message(&published.signed_gossip, published.topic_version).unwrap();
            assert_eq!(recover_signer(&env, chain_id).unwrap(), signer);
            assert_eq!(env.payload.block_hash(), r.hash);
            assert_eq!(
                env.parent_beacon_block_root,
                block.envelope.parent_beacon_block_root
            );
            assert_eq!(
                seq.payload_by_number(n)
                    .unwrap()
                    .execution_payload
                    .block_hash(),
                r.hash
            );

            prev_hash = r.hash;
            prev_origin = r.l1_origin;
            prev_seq = r.sequence_number;
        }
        assert!(epochs >= 3, "only {epochs} new epochs");
        assert!(deposits_seen > 0, "no L1 deposit reached L2");
        assert!(user_txs > 0, "no user transactions");

        // The rollup.json round-trips.
        let path = std::env::temp_dir().join(format!(
            "opfleet-seq-rollup-{}-{:?}.json",
            std::process::id(),
            fork
        ));
        write_rollup_json(seq.rollup(), &path).unwrap();
        let back =
            RollupConfig::from_rollup_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(&back, seq.rollup());
        assert_eq!(back.genesis.l2, genesis.id());
        assert_eq!(back.genesis.l1, l1.genesis().id());
        el.stop().await;
        l1.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_waits_for_l1_then_catches_up_one_block_at_a_time() {
    // Without new L1 blocks the origin stays at genesis; once mined, it catches up one block
    // per L2 block while the L1 block is not in the L2 block's future.
    let l1 = manual_l1().await;
    let Chain { el, mut seq } = devnet_chain(&l1, ChainId(901)).await;
    for _ in 0..6 {
        let b = seq.step().await.unwrap();
        assert_eq!(b.l2_block_ref.l1_origin.number, 0);
    }
    for _ in 0..4 {
        l1.mine();
    }
    // L2 head at genesis + 12, L1 blocks at +6, +12, +18, +24: the origin catches up one L1
    // block per L2 block (+14 -> 1, +16 -> 2, +18 -> 3), then waits for block 4 (+24 > +20).
    let mut origins = Vec::new();
    for _ in 0..4 {
        let r = seq.step().await.unwrap().l2_block_ref;
        origins.push((r.l1_origin.number, r.sequence_number));
    }
    assert_eq!(origins, vec![(1, 0), (2, 0), (3, 0), (3, 1)]);
    el.stop().await;
    l1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmation_depth_keeps_the_origin_below_the_l1_head() {
    let l1 = manual_l1().await;
    l1.mine();
    l1.mine();
    let Chain { el, mut seq } = spawn_chain_with_depth(
        &l1,
        DevnetChainConfig::devnet(ChainId(901)),
        TxGenConfig::default(),
        None,
        2,
    )
    .await;
    // L1 head is block 2: block 1 (+6) is only 1 deep, so the origin stays at genesis.
    for _ in 0..4 {
        let r = seq.step().await.unwrap().l2_block_ref;
        assert_eq!(r.l1_origin.number, 0);
    }
    l1.mine();
    // Now block 1 is 2 deep and its timestamp (+6) is not after the next L2 block's (+10).
    let r = seq.step().await.unwrap().l2_block_ref;
    assert_eq!((r.l1_origin.number, r.sequence_number), (1, 0));
    // Block 2 (+12) is only 1 deep: the origin stays at 1 even though +12 <= +12.
    let r = seq.step().await.unwrap().l2_block_ref;
    assert_eq!((r.l1_origin.number, r.sequence_number), (1, 1));
    el.stop().await;
    l1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equivocation_publishes_two_signed_blocks_one_canonical() {
    let l1 = manual_l1().await;
    l1.mine();
    let chain_id = ChainId(901);
    let Chain { el, mut seq } = devnet_chain(&l1, chain_id).await;
    let mut gossip = seq.subscribe();
    seq.step().await.unwrap();
    gossip.recv().await.unwrap();
    seq.controls().equivocate_next_block();
    let canonical = seq.step().await.unwrap();
    let a = gossip.recv().await.unwrap();
    let b = gossip.recv().await.unwrap();
    assert_eq!(a.equivocation, Some(Equivocation::Canonical));
    assert_eq!(b.equivocation, Some(Equivocation::Conflicting));
    assert_eq!(a.l2_block_ref, canonical.l2_block_ref);
    assert_eq!(a.l2_block_ref.number, b.l2_block_ref.number);
    assert_eq!(a.l2_block_ref.parent_hash, b.l2_block_ref.parent_hash);
    assert_ne!(a.l2_block_ref.hash, b.l2_block_ref.hash);
    for m in [&a, &b] {
        let env = decode_block_message(&m.signed_gossip, m.topic_version).unwrap();
        assert_eq!(recover_signer(&env, chain_id).unwrap(), seq.signer());
        assert_eq!(env.payload.block_hash(), m.l2_block_ref.hash);
    }
    // The EL knows both, but only the first is canonical; the chain continues on it.
    assert_eq!(el.block_by_number(2).unwrap().hash, a.l2_block_ref.hash);
    assert!(el.block_by_hash(b.l2_block_ref.hash).is_some());
    assert_eq!(
        seq.payload_by_number(2)
            .unwrap()
            .execution_payload
            .block_hash(),
        a.l2_block_ref.hash
    );
    let next = seq.step().await.unwrap();
    assert_eq!(next.l2_block_ref.parent_hash, a.l2_block_ref.hash);
    assert_eq!(gossip.recv().await.unwrap().equivocation, None);
    el.stop().await;
    l1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safe_and_finalized_follow_the_setter() {
    let l1 = manual_l1().await;
    let Chain { el, mut seq } = devnet_chain(&l1, ChainId(901)).await;
    let first = seq.step().await.unwrap().l2_block_ref;
    seq.step().await.unwrap();
    assert_eq!(el.safe().hash, el.genesis().hash);
    let id = BlockId {
        hash: first.hash,
        number: first.number,
    };
    seq.controls().set_safe(id);
    seq.controls().set_finalized(id);
    seq.step().await.unwrap();
    assert_eq!(el.safe().hash, first.hash);
    assert_eq!(el.finalized().hash, first.hash);
    el.stop().await;
    l1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timer_driven_run_builds_on_the_clock_and_stops() {
    let l1 = L1::spawn(L1Config {
        block_time: 1,
        ..L1Config::devnet()
    })
    .await
    .unwrap();
    let config = DevnetChainConfig {
        block_time: 1,
        ..DevnetChainConfig::devnet(ChainId(901))
    };
    let Chain { el, seq } = spawn_chain(&l1, config, TxGenConfig::default(), None).await;
    let handle = seq.run();
    let mut blocks = handle.subscribe();
    let mut last = None;
    for _ in 0..3 {
        let b = tokio::time::timeout(std::time::Duration::from_secs(10), blocks.recv())
            .await
            .expect("a block within 10 s")
            .unwrap();
        if let Some(prev) = last {
            assert_eq!(b.l2_block_ref.parent_hash, prev);
        }
        assert!(b.l2_block_ref.timestamp <= opfleet_tests::el::jwt::unix_now());
        last = Some(b.l2_block_ref.hash);
    }
    let seq = handle.stop().await.unwrap();
    let head = seq.head();
    assert!(head.number >= 3);
    assert_eq!(el.block_by_number(head.number).unwrap().hash, head.hash);
    el.stop().await;
    l1.stop().await;
}
