//! Bytes per block of each devnet store, and proof that each stays bounded when fed far more
//! blocks than its window. Heap bytes are counted by a global allocator that wraps the system
//! one (one test function, so nothing else allocates meanwhile). Run with `--nocapture` to see
//! the figures (BENCHMARKS.md "Devnet footprint").

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use alloy::primitives::B256;
use alloy::rpc::types::engine::ForkchoiceState;
use opfleet_protocol::ChainId;
use opfleet_tests::el::engine::{EngineState, new_payload_input};
use opfleet_tests::el::fixtures::{attributes, l1_info_tx};
use opfleet_tests::el::{Fork, SimBlock};
use opfleet_tests::l1::{L1Chain, L1Config};
use opfleet_tests::sequencer::txgen::TxGen;
use opfleet_tests::sequencer::{DevnetChainConfig, PayloadStore, TxGenConfig};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// An L1 with the devnet's deposits (0-2 per block), no blobs.
fn l1_bytes(window: Option<u64>, blocks: u64) -> (isize, L1Chain) {
    let mut config = L1Config::devnet().manual();
    config.history_retention = window;
    let before = live();
    let mut c = L1Chain::new(&config, 1_700_000_000);
    for _ in 0..blocks {
        c.mine();
    }
    (live() - before, c)
}

/// An execution client fed the devnet sequencer's traffic shape: L1-info deposit, up to 3
/// transfers and one initiating message per block; finalized trails the head by `lag`.
struct L2Feed {
    state: EngineState,
    txgen: TxGen,
    lag: u64,
    hashes: Vec<B256>,
}

impl L2Feed {
    fn new(window: Option<u64>, lag: u64) -> Self {
        let spec = DevnetChainConfig::devnet(ChainId(901)).chain_spec(1_700_000_000);
        let txgen = TxGen::new(
            ChainId(901),
            TxGenConfig {
                initiating_per_block: 1,
                ..TxGenConfig::default()
            },
            None,
        )
        .unwrap();
        let state = EngineState::new(spec).unwrap().with_block_window(window);
        let genesis = state.chain().genesis().hash;
        Self {
            state,
            txgen,
            lag,
            hashes: vec![genesis],
        }
    }

    fn step(&mut self) -> std::sync::Arc<SimBlock> {
        let head = self.state.chain().head();
        let timestamp = head.header().timestamp + 2;
        let mut txs = vec![l1_info_tx(
            Fork::Isthmus,
            head.number() / 6,
            head.number() % 6,
            0,
        )];
        txs.extend(self.txgen.generate(timestamp, false).unwrap().txs);
        let attrs = attributes(Fork::Isthmus, timestamp, txs);
        let fcu = |h: B256, s: B256, f: B256| ForkchoiceState {
            head_block_hash: h,
            safe_block_hash: s,
            finalized_block_hash: f,
        };
        let id = self
            .state
            .forkchoice_updated(fcu(head.hash, B256::ZERO, B256::ZERO), Some(&attrs))
            .unwrap()
            .payload_id
            .unwrap();
        let version = opfleet_tests::el::engine::PayloadVersion::V4;
        let block = self.state.get_payload(id, version).unwrap();
        let (input, version) = new_payload_input(&block);
        let status = self.state.new_payload(input, version).unwrap();
        assert!(status.is_valid(), "{status:?}");
        self.hashes.push(block.hash);
        let n = self.hashes.len() - 1;
        let finalized = self.hashes[n.saturating_sub(self.lag as usize)];
        self.state
            .forkchoice_updated(fcu(block.hash, finalized, finalized), None)
            .unwrap();
        block
    }
}

#[test]
fn stores_stay_bounded_and_report_bytes_per_block() {
    // L1: bytes per block without pruning, then bounded with a window.
    let (unpruned, c) = l1_bytes(None, 1_000);
    drop(c);
    let per_l1_block = unpruned / 1_000;
    println!("L1: {per_l1_block} bytes per block (headers, txs, receipts, logs; no blobs)");
    assert!(per_l1_block > 0);
    let (at_2w, c2) = l1_bytes(Some(100), 200);
    drop(c2);
    let (at_10w, c10) = l1_bytes(Some(100), 1_000);
    assert!(c10.blocks_held() <= 102, "{}", c10.blocks_held());
    assert!(
        at_10w < at_2w + at_2w / 4,
        "L1 grew from {at_2w} to {at_10w} bytes"
    );
    drop(c10);

    // SimEl: bytes per block without pruning, then bounded.
    let before = live();
    let mut feed = L2Feed::new(None, 10);
    for _ in 0..200 {
        feed.step();
    }
    let per_l2_block = (live() - before) / 200;
    println!("SimEl: {per_l2_block} bytes per block (block, receipts, indices)");
    drop(feed);
    let before = live();
    let mut feed = L2Feed::new(Some(50), 10);
    for _ in 0..100 {
        feed.step();
    }
    let at_2w = live() - before;
    for _ in 0..300 {
        feed.step();
    }
    let at_10w = live() - before;
    println!("SimEl with a 50-block window: {at_2w} bytes after 100 blocks, {at_10w} after 400");
    // The test's own list of hashes grows by 32 bytes a block; allow for it.
    assert!(
        at_10w < at_2w + at_2w / 4 + 300 * 64,
        "SimEl grew from {at_2w} to {at_10w} bytes"
    );
    assert!(
        feed.state.chain().len() <= 52,
        "{}",
        feed.state.chain().len()
    );
    drop(feed);

    // Payload store: envelopes as the sequencer keeps them.
    let before = live();
    let store = PayloadStore::with_window(50);
    let mut feed = L2Feed::new(Some(50), 10);
    for _ in 0..300 {
        let block = feed.step();
        let v4 = opfleet_tests::el::engine::envelope_v4(&block);
        let envelope = op_alloy_rpc_types_engine::OpExecutionPayloadEnvelope {
            parent_beacon_block_root: Some(v4.parent_beacon_block_root),
            execution_payload: op_alloy_rpc_types_engine::OpExecutionPayload::V4(
                v4.execution_payload,
            ),
        };
        store.insert(block.number(), envelope);
    }
    assert_eq!(store.len(), 50);
    assert!(store.payload_by_number(300).is_some());
    assert!(store.payload_by_number(251).is_some());
    assert!(store.payload_by_number(250).is_none());
    drop(feed);
    println!(
        "payload store with a 50-block window after 300 blocks: {} bytes",
        live() - before
    );
}
