//! Faults around the batcher: it is paused and resumed (briefly, and past a channel timeout),
//! the L2 chain reorgs its unsafe blocks, and the L1 reorgs the blocks holding its transactions
//! (re-including them, or losing them so that the batcher must post again).
//! In every case the batches read back from L1 must still cover every canonical L2 block.

mod batcher_support;
mod engine_support;
mod l1_support;

use std::time::Duration;

use batcher_support::*;
use opfleet_tests::batcher::{BatcherHandle, DataAvailability};
use opfleet_tests::l1::ReorgMode;

async fn wait_txs(batcher: &BatcherHandle, txs: u64) {
    for _ in 0..1_000 {
        if batcher.status().txs >= txs {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "batcher sent fewer than {txs} transactions: {:?}",
        batcher.status()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_resume_lose_no_block() {
    let mut w = world().await;
    build_blocks(&mut w, 5, BlockShape::SMALL).await;
    let mut config = batcher_config(&w);
    config.da = DataAvailability::calldata();
    let batcher = spawn_batcher(&w, config).await;
    post_through(&w, &batcher, 5).await;

    batcher.pause();
    let paused = batcher.status();
    assert!(paused.paused);
    build_blocks(&mut w, 5, BlockShape::SMALL).await;
    // L1 time passes: every channel would have timed out by duration many times over.
    for _ in 0..10 {
        w.l1.mine();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let still = batcher.status();
    assert_eq!(still.txs, paused.txs, "no transaction while paused");
    assert_eq!(still.loaded, paused.loaded, "no block read while paused");
    assert_eq!(read_posted(&w.l1).await.blocks().len(), 5);

    batcher.resume();
    post_through(&w, &batcher, 10).await;
    let status = batcher.status();
    batcher.stop().await;
    assert!(!status.paused);
    let posted = read_posted(&w.l1).await;
    assert_posted_chain(&w, &posted, 1, 10);
    assert_eq!(posted.incomplete, 0);
    assert_eq!(status.timed_out_channels, 0);
}

/// Paused between the two transactions of one channel for longer than the channel timeout
/// allows: the half-posted channel is given up and its blocks go out again in a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_past_the_channel_timeout_rebatches_the_channel() {
    let mut w = world().await;
    build_blocks(
        &mut w,
        1,
        BlockShape {
            txs: 3,
            input_len: 20_000,
            random: true,
            salt: 0,
        },
    )
    .await;
    build_blocks(&mut w, 2, BlockShape::SMALL).await;
    let mut config = batcher_config(&w);
    config.da = DataAvailability::Calldata {
        max_tx_size: 50_000,
    };
    // 38 L1 blocks (3.8 s at the test's 100 ms blocks) to post a channel: enough for two
    // frames 1.5 s apart, not for a pause of 40 blocks.
    config.channel_timeout = 40;
    config.sub_safety_margin = 2;
    config.submit_delay = Duration::from_millis(1_500);
    let batcher = spawn_batcher(&w, config).await;
    let miner = spawn_miner(w.l1.clone(), Duration::from_millis(100));
    wait_txs(&batcher, 1).await;
    batcher.pause();
    miner.abort();
    mine_some(&w.l1, 40);
    // Paused for longer than the submit delay: the batcher sees the pause before frame 1.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(
        batcher.status().txs,
        1,
        "paused between the channel's two frames"
    );

    batcher.resume();
    post_through(&w, &batcher, 3).await;
    let status = batcher.status();
    batcher.stop().await;
    assert_eq!(status.timed_out_channels, 1);
    let posted = read_posted(&w.l1).await;
    assert_eq!(posted.incomplete, 1, "the given-up channel never completes");
    assert_posted_chain(&w, &posted, 1, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l2_reorg_restarts_from_the_safe_head() {
    let mut w = world().await;
    build_blocks(&mut w, 6, BlockShape::SMALL).await;
    let mut config = batcher_config(&w);
    config.da = DataAvailability::calldata();
    let batcher = spawn_batcher(&w, config).await;
    post_through(&w, &batcher, 6).await;
    let before = read_posted(&w.l1).await;
    assert_posted_chain(&w, &before, 1, 6);

    // Blocks 5 and 6 are replaced by 5', 6', 7' on block 4; block 3 becomes safe.
    let safe = w.el.block_by_number(3).unwrap().hash;
    let four = w.el.block_by_number(4).unwrap().hash;
    let other = BlockShape {
        salt: 1,
        ..BlockShape::SMALL
    };
    build_block_on(&mut w, four, other, Some(safe)).await;
    build_blocks(&mut w, 2, other).await;
    assert_eq!(w.el.safe().hash, safe);
    post_through(&w, &batcher, 7).await;
    let status = batcher.status();
    batcher.stop().await;
    assert!(status.l2_reorgs >= 1, "{status:?}");

    let after = read_posted(&w.l1).await;
    let new_channels: Vec<_> = after.channels[before.channels.len()..].to_vec();
    let blocks: Vec<PostedBlock> = new_channels.iter().flat_map(|c| c.blocks.clone()).collect();
    let expected: Vec<PostedBlock> = (4..=7).map(|n| expected_block(&w.el, n)).collect();
    assert_eq!(
        blocks, expected,
        "reposted from the safe head on the new branch"
    );
    assert_eq!(new_channels[0].parent_check, safe[..20]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l1_reorg_of_batcher_transactions_loses_nothing() {
    let mut w = world().await;
    build_blocks(&mut w, 10, BlockShape::SMALL).await;
    let batcher = spawn_batcher(&w, batcher_config(&w)).await;
    // Mine by hand until the first batcher transaction is in a block. Under load the batcher
    // can take many L1 blocks to post, so wait on the chain itself, not on the batcher's status.
    let batcher_addr = batcher.address();
    let newest_batch_block = |w: &World| {
        w.l1.with_chain(|c| {
            let head = c.head().header.number;
            let newest = c
                .range(0, head)
                .filter(|b| b.txs.iter().any(|m| m.tx.tx.signer() == batcher_addr))
                .map(|b| b.header.number)
                .max();
            (head, newest)
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let (head, newest_batch_block) = loop {
        w.l1.mine();
        if let (head, Some(newest)) = newest_batch_block(&w) {
            break (head, newest);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the batcher posted nothing within 60 s (status: {:?})",
            batcher.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Reorg exactly deep enough to drop the newest block that carries a batcher transaction.
    let depth = head - newest_batch_block + 1;
    let outcome = w.l1.reorg(depth).unwrap();
    assert_eq!(outcome.dropped.len() as u64, depth);

    post_through(&w, &batcher, 10).await;
    batcher.stop().await;
    let posted = read_posted(&w.l1).await;
    assert_posted_chain(&w, &posted, 1, 10);
    assert_eq!(posted.incomplete, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l1_reorg_that_loses_batcher_transactions_is_posted_again() {
    let mut w = world().await;
    let batcher_addr = batcher_address();
    let batcher = spawn_batcher(&w, batcher_config(&w)).await;
    // Two rounds, so that the L1 holds at least two channels in different blocks.
    build_blocks(&mut w, 5, BlockShape::SMALL).await;
    post_through(&w, &batcher, 5).await;
    build_blocks(&mut w, 5, BlockShape::SMALL).await;
    post_through(&w, &batcher, 10).await;
    let (head, batch_blocks) = w.l1.with_chain(|c| {
        let head = c.head().header.number;
        let blocks: Vec<u64> = c
            .range(0, head)
            .filter(|b| b.txs.iter().any(|m| m.tx.tx.signer() == batcher_addr))
            .map(|b| b.header.number)
            .collect();
        (head, blocks)
    });
    let newest = *batch_blocks.last().unwrap();
    assert!(
        batch_blocks.first() < Some(&newest),
        "one L1 block holds every batch: {batch_blocks:?}"
    );
    let before = batcher.status();
    assert_eq!(before.nonce, w.l1.with_chain(|c| c.sent_by(batcher_addr)));

    // Drop the newest block that carries a batcher transaction; its transactions are lost.
    let depth = head - newest + 1;
    let outcome = w.l1.reorg_with(depth, ReorgMode::DropSubmitted).unwrap();
    assert_eq!(outcome.dropped.len() as u64, depth);
    let nonce_after_reorg = w.l1.with_chain(|c| c.sent_by(batcher_addr));
    assert!(nonce_after_reorg < before.nonce);
    let lost = before.nonce - nonce_after_reorg;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while batcher.status().l1_rewinds == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the batcher did not notice the lost transactions: {:?}",
            batcher.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rewound = batcher.status();
    assert_eq!(rewound.lost_txs, lost);
    assert!(rewound.posted.is_some_and(|p| p.number < 10), "{rewound:?}");

    // It posts the lost blocks again, then goes on with new ones from the L1's nonce.
    post_through(&w, &batcher, 10).await;
    build_blocks(&mut w, 2, BlockShape::SMALL).await;
    post_through(&w, &batcher, 12).await;
    let status = batcher.status();
    batcher.stop().await;
    assert_eq!(status.l1_rewinds, 1);
    let posted = read_posted(&w.l1).await;
    assert_posted_chain(&w, &posted, 1, 12);
    // The batcher's nonces on L1 are 0, 1, ... without a gap or a repeat.
    let mut nonces: Vec<u64> = w.l1.with_chain(|c| {
        c.range(0, c.head().header.number)
            .flat_map(|b| b.txs.iter())
            .filter(|m| m.tx.tx.signer() == batcher_addr)
            .map(|m| alloy::consensus::Transaction::nonce(m.tx.tx.inner()))
            .collect()
    });
    nonces.sort_unstable();
    assert_eq!(nonces, (0..status.nonce).collect::<Vec<_>>());
    assert_eq!(status.nonce, w.l1.with_chain(|c| c.sent_by(batcher_addr)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l1_reorg_that_loses_half_a_channel_posts_the_whole_channel_again() {
    let mut w = world().await;
    // One block of hardly compressible data: its channel takes two calldata transactions.
    let big = BlockShape {
        txs: 40,
        input_len: 4_000,
        random: true,
        salt: 0,
    };
    build_blocks(&mut w, 1, big).await;
    let mut config = batcher_config(&w);
    config.da = DataAvailability::calldata();
    // Time to mine the first transaction alone into a block.
    config.submit_delay = Duration::from_secs(1);
    let batcher = spawn_batcher(&w, config).await;
    // The channel closes after two L1 blocks.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while batcher.status().txs == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            batcher.status()
        );
        w.l1.mine();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    w.l1.mine();
    wait_txs(&batcher, 2).await;
    w.l1.mine();
    let batcher_addr = batcher_address();
    let holders: Vec<u64> = w.l1.with_chain(|c| {
        c.range(0, c.head().header.number)
            .filter(|b| b.txs.iter().any(|m| m.tx.tx.signer() == batcher_addr))
            .map(|b| b.header.number)
            .collect()
    });
    assert_eq!(holders.len(), 2, "the two frames in one block: {holders:?}");
    let head = w.l1.head().number;
    assert_eq!(holders[1], head);

    // The second frame's block goes, with the transaction: half a channel stays on L1.
    w.l1.reorg_with(1, ReorgMode::DropSubmitted).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while batcher.status().l1_rewinds == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            batcher.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(batcher.status().lost_txs, 1);
    post_through(&w, &batcher, 1).await;
    batcher.stop().await;
    let posted = read_posted(&w.l1).await;
    assert_posted_chain(&w, &posted, 1, 1);
    // The unfinished channel is replaced by the new one, which carries both frames again.
    assert_eq!(posted.incomplete, 1);
    assert_eq!(posted.channels.len(), 1);
    assert_eq!(posted.channels[0].txs, 2);
    assert_eq!(posted.txs, 3);
}
