//! The supernode's chain driver against the devnet: a sequencer builds blocks on one simulated
//! execution client, the batcher posts them to L1 (blobs or calldata), and the driver derives
//! them from L1 alone into a second execution client. The derived safe heads must be the
//! sequencer's blocks; finalized follows L1 finality; an L1 reorg under the batches rewinds the
//! safe head and derivation finds the same blocks again.
//!
//! Everything goes over the wire as in the supernode: L1 through the shared L1 client (JSON-RPC
//! and the beacon blob API, KZG-checked), the execution client through `opfleet-engine`
//! (Engine API with JWT, eth JSON-RPC reads).

mod sequencer_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::B256;
use alloy::signers::local::PrivateKeySigner;
use opfleet_protocol::{ChainId, L2BlockRef};
use opfleet_supernode::derive::L1BlobSchedule;
use opfleet_supernode::driver::{ChainDriver, DriverConfig, EngineExecutionLayer, Step};
use opfleet_supernode::l1::client::L1Client;
use opfleet_supernode::l1::config::L1ClientConfig;
use opfleet_tests::batcher::{Batcher, BatcherConfig, BatcherHandle, DataAvailability, L1Sink};
use opfleet_tests::el::{SimEl, SimElConfig, SimElHandle};
use opfleet_tests::l1::L1Handle;
use opfleet_tests::sequencer::{DevnetChainConfig, DevnetFork, Sequencer, TxGenConfig};
use sequencer_common::*;

const CHAIN: ChainId = ChainId(901);
const BATCHER_KEY: B256 = B256::repeat_byte(0xba);

/// L1, the sequencer's chain, a batcher and a driver on a second execution client.
struct World {
    l1: Arc<L1Handle>,
    seq_el: Arc<SimElHandle>,
    seq: Sequencer,
    batcher: Option<BatcherHandle>,
    driver: ChainDriver,
    /// The execution client the driver drives (kept running).
    _driver_el: Arc<SimElHandle>,
}

/// The world; the driver runs on a second execution client, or with `on_sequencer_el` on the
/// sequencer's own (where it consolidates instead of inserting).
async fn world(da: DataAvailability, on_sequencer_el: bool) -> World {
    world_with(da, on_sequencer_el, DevnetFork::Isthmus).await
}

/// [`world`] with the chain's newest fork (active from genesis) chosen.
async fn world_with(da: DataAvailability, on_sequencer_el: bool, fork: DevnetFork) -> World {
    let l1 = manual_l1().await;
    let batcher = PrivateKeySigner::from_bytes(&BATCHER_KEY)
        .unwrap()
        .address();
    l1.set_batcher(batcher).unwrap();
    l1.mine();
    let l1 = Arc::new(l1);
    let config = DevnetChainConfig {
        fork,
        min_base_fee: 1_000,
        ..DevnetChainConfig::devnet(CHAIN)
    };
    let Chain { el: seq_el, seq } = spawn_chain(&l1, config, TxGenConfig::default(), None).await;
    let seq_el = Arc::new(seq_el);
    let rollup = Arc::new(seq.rollup().clone());
    assert_eq!(rollup.genesis.system_config.batcher_address, batcher);

    let mut bc = BatcherConfig::for_l1(
        &l1,
        seq_el.rpc_url(),
        CHAIN,
        rollup.genesis.l2_time,
        rollup.block_time,
        BATCHER_KEY,
    );
    bc.da = da;
    bc.poll_interval = Duration::from_millis(50);
    bc.submit_delay = Duration::from_millis(10);
    let sink: Arc<dyn L1Sink> = l1.clone();
    let batcher = Batcher::spawn(bc, sink).await.unwrap();

    let el = if on_sequencer_el {
        seq_el.clone()
    } else {
        let el = SimEl::spawn(SimElConfig::local(
            config.chain_spec(l1.genesis().timestamp),
            jwt(),
        ))
        .await
        .unwrap();
        Arc::new(el)
    };
    assert_eq!(el.genesis().hash, seq_el.genesis().hash);
    let secret = opfleet_engine::JwtSecret::from_hex(&jwt().to_hex()).unwrap();
    let engine = opfleet_engine::EngineClient::new(&el.engine_url(), secret).unwrap();
    let l2 = opfleet_engine::L2Client::new(&el.rpc_url(), &rollup).unwrap();
    let l1_client = L1Client::new(L1ClientConfig::new(l1.rpc_url(), l1.beacon_url()))
        .unwrap()
        .for_chain(CHAIN);
    let devnet_l1 = Arc::new(l1_client);
    let driver = ChainDriver::new(
        DriverConfig {
            rollup: rollup.clone(),
            blob_schedule: L1BlobSchedule::prague_at(0),
            anchor: None,
            idle_interval: Duration::from_millis(20),
        },
        devnet_l1.clone(),
        devnet_l1,
        Arc::new(EngineExecutionLayer::new(engine, l2, rollup.clone())),
    )
    .await
    .unwrap();
    World {
        l1,
        seq_el,
        seq,
        batcher: Some(batcher),
        driver,
        _driver_el: el,
    }
}

/// Steps the driver until it has nothing to do; returns the steps taken.
async fn drive(d: &mut ChainDriver) -> Vec<Step> {
    let mut steps = Vec::new();
    loop {
        match d.step().await.unwrap() {
            Step::Idle => return steps,
            s => steps.push(s),
        }
    }
}

/// Sequences `epochs` L1 epochs of three L2 blocks, mining L1 as time goes.
async fn sequence(w: &mut World, epochs: u64) {
    for _ in 0..epochs {
        for _ in 0..3 {
            w.seq.step().await.unwrap();
        }
        w.l1.mine();
        tokio::time::sleep(Duration::from_millis(60)).await;
        drive(&mut w.driver).await;
    }
}

/// Mines and drives until the driver's safe head is the sequencer's head.
async fn sync(w: &mut World) -> Vec<Step> {
    let target = w.seq.head();
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut steps = Vec::new();
    while w.driver.safe_head().number < target.number {
        assert!(
            Instant::now() < deadline,
            "derivation stuck at {:?}",
            w.driver.safe_head()
        );
        w.l1.mine();
        tokio::time::sleep(Duration::from_millis(80)).await;
        steps.extend(drive(&mut w.driver).await);
    }
    steps
}

/// Every derived block up to the safe head is the sequencer's block.
fn assert_same_chain(w: &World, safe: &L2BlockRef) {
    assert!(safe.number > 0);
    assert_eq!(
        safe.hash,
        w.seq_el.block_by_number(safe.number).unwrap().hash
    );
    let heads = *w.driver.subscribe().borrow();
    assert_eq!(heads.status.safe_l2, *safe);
    assert_eq!(heads.chain_id, CHAIN);
    let from = heads.safe_derived_from;
    let canonical =
        w.l1.with_chain(|c| c.by_number(from.number).map(|b| b.hash));
    assert_eq!(
        canonical,
        Some(from.hash),
        "safe head derived from canonical L1"
    );
    assert!(from.number >= safe.l1_origin.number);
}

/// Derives everything the sequencer made, checking that every step inserted a new block and
/// that the safe head is the sequencer's head, on its chain; returns that safe head.
async fn sync_inserting_all(w: &mut World) -> L2BlockRef {
    let steps = sync(w).await;
    assert!(
        steps.iter().all(|s| matches!(s, Step::Inserted(_))),
        "{steps:?}"
    );
    let safe = w.driver.safe_head();
    assert_eq!(safe, w.seq.head());
    assert_same_chain(w, &safe);
    safe
}

async fn finish(mut w: World) {
    if let Some(b) = w.batcher.take() {
        b.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn derives_blob_batches_and_finalizes_with_l1() {
    let mut w = world(DataAvailability::Blobs, false).await;
    sequence(&mut w, 4).await;
    let safe = sync_inserting_all(&mut w).await;
    // L1 finality (8 blocks behind the head) reaches the batches: finalized follows.
    let heads = w.driver.subscribe();
    for _ in 0..10 {
        w.l1.mine();
        drive(&mut w.driver).await;
    }
    let h = *heads.borrow();
    assert_eq!(h.status.finalized_l2, safe);
    assert!(h.finalized_derived_from.number <= w.l1.finalized().number);
    assert_eq!(h.status.finalized_l1, w.l1.finalized());
    finish(w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn derives_calldata_batches() {
    let mut w = world(DataAvailability::calldata(), false).await;
    sequence(&mut w, 4).await;
    sync(&mut w).await;
    let safe = w.driver.safe_head();
    assert_eq!(safe, w.seq.head());
    assert_same_chain(&w, &safe);
    finish(w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l1_reorg_under_the_batches_rewinds_and_rederives() {
    let mut w = world(DataAvailability::Blobs, false).await;
    sequence(&mut w, 3).await;
    sync(&mut w).await;
    let safe = w.driver.safe_head();
    assert_eq!(safe, w.seq.head());
    // Stop posting; drop the L1 blocks from the one the safe head was derived from, keeping
    // every L1 origin of the L2 chain.
    if let Some(b) = w.batcher.take() {
        b.stop().await;
    }
    let from = w.driver.subscribe().borrow().safe_derived_from;
    let head = w.l1.head().number;
    assert!(
        from.number > safe.l1_origin.number,
        "batches land after their origins"
    );
    let depth = head - from.number + 1;
    let outcome = w.l1.reorg(depth).unwrap();
    assert!(outcome.dropped.iter().any(|b| b.hash == from.hash));
    let mut steps = drive(&mut w.driver).await;
    while w.driver.safe_head() != safe {
        w.l1.mine();
        steps.extend(drive(&mut w.driver).await);
        assert!(steps.len() < 1000, "no re-derivation: {steps:?}");
    }
    assert!(
        steps
            .iter()
            .any(|s| matches!(s, Step::Rewound(b) if b.number < safe.number)),
        "the safe head moved back: {steps:?}"
    );
    // The same blocks again, now derived from the new branch (the batches were re-included).
    assert!(
        steps.iter().any(|s| matches!(s, Step::Consolidated(_))),
        "{steps:?}"
    );
    assert_same_chain(&w, &safe);
    let new_from = w.driver.subscribe().borrow().safe_derived_from;
    assert_ne!(new_from, from);
    finish(w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consolidates_the_sequencers_own_blocks() {
    for fork in [DevnetFork::Isthmus, DevnetFork::Jovian] {
        let mut w = world_with(DataAvailability::Blobs, true, fork).await;
        // Sequence first (the driver would otherwise race the sequencer for the forkchoice).
        for _ in 0..4 {
            for _ in 0..3 {
                w.seq.step().await.unwrap();
            }
            w.l1.mine();
        }
        let steps = sync(&mut w).await;
        assert_eq!(steps.len() as u64, w.seq.head().number);
        assert!(
            steps.iter().all(|s| matches!(s, Step::Consolidated(_))),
            "{fork:?}: every block is the sequencer's: {steps:?}"
        );
        let safe = w.driver.safe_head();
        assert_eq!(safe, w.seq.head());
        assert_same_chain(&w, &safe);
        assert_eq!(
            w.seq_el.safe().hash,
            safe.hash,
            "the EL's safe label follows"
        );
        finish(w).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn derives_a_jovian_chain() {
    let mut w = world_with(DataAvailability::Blobs, false, DevnetFork::Jovian).await;
    sequence(&mut w, 3).await;
    sync_inserting_all(&mut w).await;
    finish(w).await;
}
