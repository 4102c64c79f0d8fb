//! Shared by the batcher tests: a manual L1 and a simulated L2 execution client, L2 blocks
//! built through the Engine API on real L1 origins, and a reader that takes the batcher's
//! output back from the L1 JSON-RPC and beacon API the way derivation does.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use alloy::eips::eip2718::Encodable2718;
use alloy::eips::eip4844::kzg_to_versioned_hash;
use alloy::primitives::{Address, B256, Bytes};
use alloy::rpc::types::engine::PayloadStatusEnum;
use alloy::signers::local::PrivateKeySigner;
use opfleet_protocol::batch::{Batch, BatchReader, SpanBatchContext};
use opfleet_protocol::batcher_data::{decode_l1_tx, parse_frames};
use opfleet_protocol::blob::Blob as OpBlob;
use opfleet_protocol::channel::Channel;
use opfleet_protocol::compression::decompress;
use opfleet_protocol::frame::{ChannelId, Frame};
use opfleet_protocol::l1_info::{L1BlockInfo, L1InfoFork, L1InfoOrigin, L1InfoSystemParams};
use opfleet_protocol::{BlockId, ChainId};
use opfleet_tests::batcher::{Batcher, BatcherConfig, BatcherHandle, L1Sink};
use opfleet_tests::el::fixtures::{attributes, test_signed_tx, user_deposit};
use opfleet_tests::el::{
    ChainSpec, Fork, ForkSchedule, GenesisConfig, JwtSecret, SimEl, SimElConfig, SimElHandle,
};
use opfleet_tests::l1::{DepositConfig, L1, L1Config, L1Handle};
use serde_json::{Value, json};

use crate::engine_support::{block_hash, engine, forkchoice_updated, get_payload, new_payload};
use crate::l1_support::rpc;
use tokio::task::JoinHandle;

/// L2 chain id of the test chain.
pub const L2_CHAIN_ID: ChainId = ChainId(901);
/// L1 and L2 genesis time.
pub const GENESIS_TIME: u64 = 1_700_000_000;
/// L2 block time.
pub const L2_BLOCK_TIME: u64 = 2;
/// The batcher's key.
pub const BATCHER_KEY: B256 = B256::repeat_byte(0xba);
/// Most decompressed bytes read from a channel (Fjord's MAX_RLP_BYTES_PER_CHANNEL).
const MAX_RLP_BYTES: u64 = 100_000_000;

/// An L1, an L2 execution client and the L2 blocks built so far.
pub struct World {
    pub l1: Arc<L1Handle>,
    pub el: SimElHandle,
    pub secret: JwtSecret,
    /// Canonical L2 head as built by the test.
    pub head: B256,
    /// Next test transaction nonce.
    pub tx_nonce: u64,
}

/// Starts an L1 with a few blocks mined and the batcher key set as SystemConfig batcher, and an
/// L2 execution client at genesis.
pub async fn world() -> World {
    let mut config = L1Config::devnet().manual();
    config.genesis_time = Some(GENESIS_TIME);
    config.deposits = DepositConfig {
        max_per_block: 1,
        seed: 7,
    };
    let l1 = L1::spawn(config).await.unwrap();
    l1.set_batcher(batcher_address()).unwrap();
    for _ in 0..8 {
        l1.mine();
    }
    assert_eq!(l1.batcher(), batcher_address());
    let secret = JwtSecret::new([0x42; 32]);
    let spec = ChainSpec::new(
        L2_CHAIN_ID,
        GenesisConfig::new(L2_CHAIN_ID, GENESIS_TIME),
        ForkSchedule::isthmus(),
    );
    let el = SimEl::spawn(SimElConfig::local(spec, secret.clone()))
        .await
        .unwrap();
    let head = el.genesis().hash;
    World {
        l1: Arc::new(l1),
        el,
        secret,
        head,
        tx_nonce: 0,
    }
}

/// The batcher's address.
pub fn batcher_address() -> Address {
    PrivateKeySigner::from_bytes(&BATCHER_KEY)
        .unwrap()
        .address()
}

/// A batcher configuration for the world's chain with the defaults (blobs, zlib, span).
pub fn batcher_config(w: &World) -> BatcherConfig {
    let mut c = BatcherConfig::for_l1(
        &w.l1,
        w.el.rpc_url(),
        L2_CHAIN_ID,
        GENESIS_TIME,
        L2_BLOCK_TIME,
        BATCHER_KEY,
    );
    c.poll_interval = Duration::from_millis(50);
    c.submit_delay = Duration::from_millis(20);
    c
}

/// Starts a batcher.
pub async fn spawn_batcher(w: &World, config: BatcherConfig) -> BatcherHandle {
    let sink: Arc<dyn L1Sink> = w.l1.clone();
    Batcher::spawn(config, sink).await.unwrap()
}

/// Mines an L1 block every `every` until aborted (the L1's clock, sped up).
pub fn spawn_miner(l1: Arc<L1Handle>, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            l1.mine();
        }
    })
}

/// What one test L2 block carries besides its L1-info deposit.
#[derive(Clone, Copy, Debug)]
pub struct BlockShape {
    /// User transactions.
    pub txs: usize,
    /// Input bytes of each.
    pub input_len: usize,
    /// Whether the input is pseudo-random (hardly compressible).
    pub random: bool,
    /// Distinguishes otherwise identical blocks (a reorg's other branch).
    pub salt: u8,
}

impl BlockShape {
    /// A few small, compressible transactions.
    pub const SMALL: Self = Self {
        txs: 3,
        input_len: 40,
        random: false,
        salt: 0,
    };
}

/// Builds one L2 block on `parent` through the Engine API and makes it the head (safe stays
/// as it is unless `safe` is given). Block `n` takes L1 block `(n - 1) / 2` as origin.
pub async fn build_block_on(
    w: &mut World,
    parent: B256,
    shape: BlockShape,
    safe: Option<B256>,
) -> B256 {
    let parent_block = w.el.block_by_hash(parent).unwrap();
    let number = parent_block.number() + 1;
    let timestamp = GENESIS_TIME + number * L2_BLOCK_TIME;
    let origin_number = (number - 1) / 2;
    let parent_origin = parent_block
        .l2_block_ref()
        .map_or(0, |r| r.l1_origin.number);
    let parent_seq = parent_block.l2_block_ref().map_or(0, |r| r.sequence_number);
    let seq = if origin_number == parent_origin {
        parent_seq + 1
    } else {
        0
    };
    let origin = w.l1.with_chain(|c| {
        let b = c.by_number(origin_number).unwrap();
        L1InfoOrigin {
            number: origin_number,
            timestamp: b.header.timestamp,
            hash: b.hash,
            base_fee: alloy::primitives::U256::from(b.header.base_fee_per_gas.unwrap_or(1)),
            blob_base_fee: alloy::primitives::U256::from(1),
        }
    });
    let params = L1InfoSystemParams {
        batcher: batcher_address(),
        ..Default::default()
    };
    let mut txs =
        vec![L1BlockInfo::new(L1InfoFork::Isthmus, &origin, seq, &params).encoded_deposit_tx()];
    if seq == 0 {
        // An epoch's first block carries a user deposit too (never batched).
        txs.push(user_deposit(
            origin.hash,
            0,
            Address::repeat_byte(5),
            Address::repeat_byte(6),
            Bytes::new(),
        ));
    }
    for i in 0..shape.txs {
        let mut x = (w.tx_nonce + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(shape.salt);
        let input: Vec<u8> = (0..shape.input_len)
            .map(|j| {
                if shape.random {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                } else {
                    (j as u8).wrapping_add(i as u8).wrapping_add(shape.salt)
                }
            })
            .collect();
        txs.push(test_signed_tx(
            L2_CHAIN_ID.get(),
            w.tx_nonce,
            Address::repeat_byte(0x77),
            input.into(),
        ));
        w.tx_nonce += 1;
    }
    let c = engine(&w.el, &w.secret);
    // The safe head goes with the first forkchoice update too: a batcher polling between the
    // two updates must never see the reorged head without the new safe head.
    let updated = forkchoice_updated(
        &c,
        parent,
        safe.unwrap_or(B256::ZERO),
        Some(attributes(Fork::Isthmus, timestamp, txs)),
    )
    .await;
    let id = updated.payload_id.expect("a payload id");
    let env = get_payload(&c, id).await;
    let status = new_payload(&c, &env).await;
    assert_eq!(status.status, PayloadStatusEnum::Valid);
    let hash = block_hash(&env);
    let updated = forkchoice_updated(&c, hash, safe.unwrap_or(B256::ZERO), None).await;
    assert_eq!(updated.payload_status.status, PayloadStatusEnum::Valid);
    w.head = hash;
    hash
}

/// Builds `count` blocks on the head.
pub async fn build_blocks(w: &mut World, count: usize, shape: BlockShape) {
    for _ in 0..count {
        let head = w.head;
        build_block_on(w, head, shape, None).await;
    }
}

/// One L2 block as the batcher's output says it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostedBlock {
    /// Timestamp.
    pub timestamp: u64,
    /// L1 origin number.
    pub epoch_num: u64,
    /// Sequencer transactions.
    pub transactions: Vec<Bytes>,
}

/// One channel read back from L1.
#[derive(Clone, Debug)]
pub struct PostedChannel {
    /// Channel id.
    pub id: ChannelId,
    /// Its batches, with span batches in derived form.
    pub blocks: Vec<PostedBlock>,
    /// Parent hash check: the first 20 bytes of the first block's parent hash (singular
    /// batches give the full hash; its first 20 bytes are kept).
    pub parent_check: [u8; 20],
    /// Batch types seen.
    pub batch_types: Vec<u8>,
    /// How many L1 transactions carried it.
    pub txs: usize,
    /// Whether it came in blobs.
    pub blobs: bool,
}

/// Everything the batcher posted, read back through the L1 JSON-RPC and beacon API.
#[derive(Debug, Default)]
pub struct Posted {
    /// Completed channels, in the order their last frame landed.
    pub channels: Vec<PostedChannel>,
    /// Batcher transactions seen.
    pub txs: usize,
    /// Blob transactions among them.
    pub blob_txs: usize,
    /// Blobs in them.
    pub blobs: usize,
    /// Channels opened but never completed (given up by the batcher).
    pub incomplete: usize,
}

impl Posted {
    /// Blocks of all complete channels, in order.
    pub fn blocks(&self) -> Vec<PostedBlock> {
        self.channels
            .iter()
            .flat_map(|c| c.blocks.clone())
            .collect()
    }
}

async fn beacon_blobs(l1: &L1Handle, timestamp: u64) -> HashMap<B256, Vec<u8>> {
    let slot = (timestamp - l1.genesis_time()) / l1.config().block_time;
    let url = format!("{}/eth/v1/beacon/blob_sidecars/{slot}", l1.beacon_url());
    let resp: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    let mut out = HashMap::new();
    for sc in resp["data"].as_array().cloned().unwrap_or_default() {
        let commitment =
            alloy::primitives::hex::decode(sc["kzg_commitment"].as_str().unwrap()).unwrap();
        let blob = OpBlob::from_hex(sc["blob"].as_str().unwrap()).unwrap();
        out.insert(kzg_to_versioned_hash(&commitment), blob.decode().unwrap());
    }
    out
}

/// Reads every batcher transaction of the canonical L1 chain and assembles its channels.
pub async fn read_posted(l1: &L1Handle) -> Posted {
    let url = l1.rpc_url();
    let head = l1.head().number;
    let inbox = l1.batch_inbox();
    let batcher = batcher_address();
    let ctx = SpanBatchContext {
        genesis_timestamp: GENESIS_TIME,
        block_time: L2_BLOCK_TIME,
        chain_id: L2_CHAIN_ID,
    };
    let mut posted = Posted::default();
    let mut open: HashMap<ChannelId, (Channel, usize, bool)> = HashMap::new();
    for number in 0..=head {
        let raw = rpc::<Value>(
            &url,
            "eth_getBlockByNumber",
            json!([format!("{number:#x}"), true]),
        )
        .await;
        let block: alloy::rpc::types::Block = serde_json::from_value(raw).unwrap();
        let l1_block = BlockId {
            hash: block.header.hash,
            number,
        };
        let mut blobs: Option<HashMap<B256, Vec<u8>>> = None;
        for tx in block.transactions.txns() {
            let data = decode_l1_tx(&tx.inner.inner().encoded_2718()).unwrap();
            if !data.is_batcher_tx(inbox, batcher) {
                continue;
            }
            posted.txs += 1;
            let frames: Vec<Frame> = if data.is_blob_tx() {
                posted.blob_txs += 1;
                posted.blobs += data.blob_versioned_hashes.len();
                if blobs.is_none() {
                    blobs = Some(beacon_blobs(l1, block.header.timestamp).await);
                }
                let by_hash = blobs.as_ref().unwrap();
                data.blob_versioned_hashes
                    .iter()
                    .flat_map(|h| parse_frames(&by_hash[h]).unwrap())
                    .collect()
            } else {
                parse_frames(&data.calldata).unwrap()
            };
            let mut touched = Vec::new();
            for frame in frames {
                let id = frame.channel_id;
                // Holocene: a new channel's first frame replaces an unfinished one.
                if frame.frame_number == 0 {
                    posted.incomplete += open.len();
                    open.clear();
                }
                let entry = open
                    .entry(id)
                    .or_insert_with(|| (Channel::new(id, l1_block, true), 0, false));
                entry.0.add_frame(frame, l1_block).unwrap();
                if !touched.contains(&id) {
                    touched.push(id);
                }
            }
            for id in touched {
                let Some(entry) = open.get_mut(&id) else {
                    continue;
                };
                entry.1 += 1;
                entry.2 |= data.is_blob_tx();
                if entry.0.is_ready() {
                    let (channel, txs, in_blobs) = open.remove(&id).unwrap();
                    posted
                        .channels
                        .push(read_channel(&channel, txs, in_blobs, &ctx));
                }
            }
        }
    }
    posted.incomplete += open.len();
    posted
}

fn read_channel(
    channel: &Channel,
    txs: usize,
    blobs: bool,
    ctx: &SpanBatchContext,
) -> PostedChannel {
    let data = channel.data().unwrap();
    let plain = decompress(&data, MAX_RLP_BYTES, true).unwrap().data;
    let mut blocks = Vec::new();
    let mut batch_types = Vec::new();
    let mut parent_check = None;
    for batch in BatchReader::new(&plain, MAX_RLP_BYTES as usize) {
        let batch = batch.unwrap();
        batch_types.push(batch.batch_type());
        match batch {
            Batch::Singular(b) => {
                parent_check.get_or_insert(<[u8; 20]>::try_from(&b.parent_hash[..20]).unwrap());
                blocks.push(PostedBlock {
                    timestamp: b.timestamp,
                    epoch_num: b.epoch_num,
                    transactions: b.transactions,
                });
            }
            Batch::Span(raw) => {
                let span = raw.to_span_batch(ctx).unwrap();
                parent_check.get_or_insert(span.parent_check.0);
                blocks.extend(span.blocks.into_iter().map(|e| PostedBlock {
                    timestamp: e.timestamp,
                    epoch_num: e.epoch_num,
                    transactions: e.transactions,
                }));
            }
        }
    }
    PostedChannel {
        id: channel.id(),
        blocks,
        parent_check: parent_check.unwrap_or_default(),
        batch_types,
        txs,
        blobs,
    }
}

/// L2 block `number` as the execution client has it, in the batch's terms.
pub fn expected_block(el: &SimElHandle, number: u64) -> PostedBlock {
    let b = el.block_by_number(number).unwrap();
    let r = b.l2_block_ref().unwrap();
    PostedBlock {
        timestamp: b.header().timestamp,
        epoch_num: r.l1_origin.number,
        transactions: b
            .encoded_txs
            .iter()
            .filter(|t| t.first() != Some(&0x7e))
            .cloned()
            .collect(),
    }
}

/// Checks the posted blocks are exactly the EL's blocks `first..=last`, in order, and that
/// every channel's parent check names the block before its first block.
pub fn assert_posted_chain(w: &World, posted: &Posted, first: u64, last: u64) {
    let blocks = posted.blocks();
    let expected: Vec<PostedBlock> = (first..=last).map(|n| expected_block(&w.el, n)).collect();
    assert_eq!(blocks.len(), expected.len(), "block count");
    for (i, (got, want)) in blocks.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "L2 block {}", first + i as u64);
    }
    let mut number = first;
    for channel in &posted.channels {
        let parent = w.el.block_by_number(number - 1).unwrap().hash;
        assert_eq!(channel.parent_check, parent[..20], "channel {}", channel.id);
        number += channel.blocks.len() as u64;
    }
    // Epoch hashes: each block's L1 origin is the canonical L1 block of that number.
    for n in first..=last {
        let origin =
            w.el.block_by_number(n)
                .unwrap()
                .l2_block_ref()
                .unwrap()
                .l1_origin;
        let l1_hash =
            w.l1.with_chain(|c| c.by_number(origin.number).map(|b| b.hash));
        assert_eq!(l1_hash, Some(origin.hash), "origin of L2 block {n}");
    }
}

/// Mines a few L1 blocks so the last submissions are included.
pub fn mine_some(l1: &L1Handle, n: usize) {
    for _ in 0..n {
        l1.mine();
    }
}

/// Waits for the batcher to post through `number` while an L1 miner runs.
pub async fn post_through(w: &World, batcher: &BatcherHandle, number: u64) {
    let miner = spawn_miner(w.l1.clone(), Duration::from_millis(100));
    let ok = batcher.wait_posted(number, Duration::from_secs(60)).await;
    miner.abort();
    assert!(
        ok,
        "batcher did not post through {number}: {:?}",
        batcher.status()
    );
    mine_some(&w.l1, 2);
}
