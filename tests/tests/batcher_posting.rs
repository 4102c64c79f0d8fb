//! The batcher posts every L2 block, read back from L1 the way derivation reads it: calldata and
//! blob transactions from the batch inbox, frames, channels, decompression, batches, and span
//! batches turned back into blocks that must equal what the execution client holds.

mod batcher_support;
mod engine_support;
mod l1_support;

use batcher_support::*;
use opfleet_protocol::batch::{SINGULAR_BATCH_TYPE, SPAN_BATCH_TYPE};
use opfleet_protocol::compression::Compression;
use opfleet_tests::batcher::{BatchKind, DataAvailability};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calldata_span_batches_carry_every_block() {
    let mut w = world().await;
    build_blocks(&mut w, 10, BlockShape::SMALL).await;
    let mut config = batcher_config(&w);
    config.da = DataAvailability::calldata();
    let batcher = spawn_batcher(&w, config).await;
    post_through(&w, &batcher, 10).await;
    let status = batcher.status();
    batcher.stop().await;

    let posted = read_posted(&w.l1).await;
    assert_posted_chain(&w, &posted, 1, 10);
    assert_eq!(posted.blob_txs, 0);
    assert_eq!(posted.txs as u64, status.txs);
    assert_eq!(posted.incomplete, 0);
    for c in &posted.channels {
        assert_eq!(
            c.batch_types,
            vec![SPAN_BATCH_TYPE],
            "one span batch per channel"
        );
        assert!(!c.blobs);
    }
    assert_eq!(status.nonce, status.txs);
    assert_eq!(
        status.last_error, None,
        "idle polls and posting met no error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_span_batches_carry_every_block() {
    let mut w = world().await;
    build_blocks(&mut w, 10, BlockShape::SMALL).await;
    let batcher = spawn_batcher(&w, batcher_config(&w)).await;
    post_through(&w, &batcher, 10).await;
    // Once the L1 finalizes the last channel's transaction, the batcher reports block 10 as
    // finalized (what the devnet hands the sequencer as its safe and finalized heads).
    let last = w.el.block_by_number(10).unwrap().id();
    let mut finalized = None;
    for _ in 0..50 {
        w.l1.mine();
        finalized = batcher.status().finalized;
        if finalized == Some(last) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(finalized, Some(last));
    batcher.stop().await;

    let posted = read_posted(&w.l1).await;
    assert_posted_chain(&w, &posted, 1, 10);
    assert!(posted.blob_txs > 0);
    assert_eq!(
        posted.blob_txs, posted.txs,
        "blob mode sends only blob transactions"
    );
    assert!(posted.channels.iter().all(|c| c.blobs));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn singular_batches_with_brotli() {
    let mut w = world().await;
    build_blocks(&mut w, 10, BlockShape::SMALL).await;
    let mut config = batcher_config(&w);
    config.da = DataAvailability::calldata();
    config.batch_kind = BatchKind::Singular;
    config.compression = Compression::Brotli { level: 10 };
    let batcher = spawn_batcher(&w, config).await;
    post_through(&w, &batcher, 10).await;
    batcher.stop().await;

    let posted = read_posted(&w.l1).await;
    assert_posted_chain(&w, &posted, 1, 10);
    for c in &posted.channels {
        assert_eq!(c.batch_types, vec![SINGULAR_BATCH_TYPE; c.blocks.len()]);
    }
}

/// Hardly compressible blocks overflow channels: a channel closes when the next block does not
/// fit, and a single block bigger than one transaction spreads over several, frames in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_channels_close_and_split_over_transactions() {
    let mut w = world().await;
    let random = |txs, input_len| BlockShape {
        txs,
        input_len,
        random: true,
        salt: 0,
    };
    // Five blocks of ~60 kB (two 50 kB frames each), then ten of ~8 kB (several per channel).
    build_blocks(&mut w, 5, random(3, 20_000)).await;
    build_blocks(&mut w, 10, random(1, 8_000)).await;
    let mut config = batcher_config(&w);
    config.da = DataAvailability::Calldata {
        max_tx_size: 50_000,
    };
    // Only fullness closes channels here, so the last one stays open.
    config.max_channel_duration = 1_000;
    let batcher = spawn_batcher(&w, config).await;
    post_through(&w, &batcher, 10).await;
    let status = batcher.status();
    batcher.stop().await;

    let posted = read_posted(&w.l1).await;
    let last = posted.blocks().len() as u64;
    assert!((10..15).contains(&last), "posted through {last}");
    assert_posted_chain(&w, &posted, 1, last);
    for c in &posted.channels[..5] {
        assert_eq!(
            (c.blocks.len(), c.txs),
            (1, 2),
            "a big block alone, over two txs"
        );
    }
    assert!(posted.channels[5..].iter().all(|c| c.txs == 1));
    assert!(posted.channels[5].blocks.len() > 1);
    assert_eq!(status.channels as usize, posted.channels.len());
    assert_eq!(status.txs as usize, posted.txs);
}
