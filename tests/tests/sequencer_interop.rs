//! Two devnet chains with interop traffic through a shared feed: executing messages on each
//! chain point at real initiating logs of the other.

mod sequencer_common;

use alloy::primitives::Log;
use opfleet_protocol::ChainId;
use opfleet_protocol::interop::{ExecutingMessage, payload_hash};
use opfleet_tests::el::SimElHandle;
use opfleet_tests::sequencer::{DevnetChainConfig, DevnetFork, InteropFeed, TxGenConfig};
use sequencer_common::*;

/// Every executing message of `el`'s first `blocks` blocks.
fn executing_messages(el: &SimElHandle, blocks: u64) -> Vec<(u64, ExecutingMessage)> {
    (1..=blocks)
        .flat_map(|n| {
            l2_logs(el, n).into_iter().filter_map(move |(_, log)| {
                ExecutingMessage::from_log(&log).unwrap().map(|m| (n, m))
            })
        })
        .collect()
}

/// The log a message names, if the chain has it.
fn named_log(el: &SimElHandle, msg: &ExecutingMessage) -> Option<(u64, Log)> {
    let block = el.block_by_number(msg.block_number)?;
    let (_, log) = l2_logs(el, msg.block_number)
        .into_iter()
        .find(|(i, _)| *i == u64::from(msg.log_index))?;
    Some((block.header().timestamp, log))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executing_messages_point_at_real_logs_of_the_other_chain() {
    let l1 = manual_l1().await;
    for _ in 0..4 {
        l1.mine();
    }
    let feed = InteropFeed::new();
    let txgen = TxGenConfig {
        max_transfers: 1,
        initiating_per_block: 2,
        executing_per_block: 3,
        ..Default::default()
    };
    let (ida, idb) = (ChainId(901), ChainId(902));
    let chain = |id, fork| DevnetChainConfig {
        interop: true,
        fork,
        ..DevnetChainConfig::devnet(id)
    };
    let mut a = spawn_chain(
        &l1,
        chain(ida, DevnetFork::Isthmus),
        txgen,
        Some(feed.clone()),
    )
    .await;
    let mut b = spawn_chain(
        &l1,
        chain(idb, DevnetFork::Jovian),
        txgen,
        Some(feed.clone()),
    )
    .await;
    assert_eq!(a.seq.rollup().hardforks.interop_time, Some(0));

    const BLOCKS: u64 = 8;
    for _ in 0..BLOCKS {
        a.seq.step().await.unwrap();
        b.seq.step().await.unwrap();
    }
    // The feed holds exactly the initiating logs the chains emitted.
    assert_eq!(feed.len(), 2 * 2 * BLOCKS as usize);

    for (here, there, id_here, id_there) in [(&a, &b, ida, idb), (&b, &a, idb, ida)] {
        let msgs = executing_messages(&here.el, BLOCKS);
        assert!(
            msgs.len() >= 4,
            "{id_here}: only {} executing messages",
            msgs.len()
        );
        for (n, msg) in msgs {
            assert_eq!(
                msg.chain_id, id_there,
                "{id_here} block {n} executes its own log"
            );
            let (timestamp, log) = named_log(&there.el, &msg)
                .unwrap_or_else(|| panic!("{id_here} block {n}: {msg:?} names no log"));
            assert_eq!(msg.timestamp, timestamp);
            assert_eq!(msg.origin, log.address);
            assert_eq!(msg.payload_hash, payload_hash(&log.data));
            let exec_time = here.el.block_by_number(n).unwrap().header().timestamp;
            assert!(msg.timestamp <= exec_time, "message from the future");
        }
    }

    // The fault hook: the next block of A executes a log that B does not have.
    a.seq.controls().inject_invalid_executing_message();
    let bad = a.seq.step().await.unwrap().l2_block_ref.number;
    let invalid: Vec<_> = executing_messages(&a.el, bad)
        .into_iter()
        .filter(|(n, m)| {
            *n == bad
                && named_log(&b.el, m).is_none_or(|(_, l)| payload_hash(&l.data) != m.payload_hash)
        })
        .collect();
    assert_eq!(invalid.len(), 1, "{invalid:?}");

    let (Chain { el: ea, .. }, Chain { el: eb, .. }) = (a, b);
    ea.stop().await;
    eb.stop().await;
    l1.stop().await;
}
