//! Derivation throughput: how fast the supernode catches up on a recorded devnet history.
//!
//! ```text
//!  record (once per DA mode, untimed)
//!    L1 (manual) ◀─ batcher (calldata | blobs) ◀─ sequencer ─▶ SimEl "seq" (keeps the blocks)
//!    snapshot: every L1 header, tx, receipt, blob (+ commitment, proof) ─▶ RecordedL1 (memory)
//!
//!  measure (from the L2 genesis anchor to the recorded head, median of several runs)
//!    pipeline   RecordedL1 ─▶ Pipeline::next ─▶ attributes   (parents from the recorded chain)
//!    consolidate RecordedL1 ─▶ ChainDriver ─▶ Engine API + eth RPC ─▶ SimEl "seq" (has the blocks)
//!    insert     RecordedL1 ─▶ ChainDriver ─▶ Engine API + eth RPC ─▶ fresh SimEl (builds them)
//! ```
//! Blobs are KZG-checked in the provider (`verify_sidecar`, as the beacon client does); the
//! pipeline is also timed without that check to show what KZG costs.
//!
//! Run: `cargo bench -p opfleet-tests --bench derive` (optional argument: L1 epochs to record;
//! `--profile dev` when a release build of the dependency tree is not at hand).

#[path = "../tests/sequencer_common/mod.rs"]
mod sequencer_common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::consensus::{Header, ReceiptEnvelope, Sealed, Transaction, TxEnvelope};
use alloy::primitives::B256;
use alloy::signers::local::PrivateKeySigner;
use opfleet_protocol::blob::Blob;
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::{ChainId, L1BlockRef, L2BlockRef};
use opfleet_supernode::derive::traits::{
    BlobProvider, IndexedBlobHash, L1ChainProvider, L1Tag, ProviderError,
};
use opfleet_supernode::derive::{L1BlobSchedule, L2SafeSource, Pipeline, PipelineConfig};
use opfleet_supernode::driver::{ChainDriver, DriverConfig, EngineExecutionLayer, Step};
use opfleet_supernode::l1::kzg::verify_sidecar;
use opfleet_tests::batcher::{Batcher, BatcherConfig, DataAvailability, L1Sink};
use opfleet_tests::el::{SimEl, SimElConfig, SimElHandle};
use opfleet_tests::l1::kzg::CommittedBlob;
use opfleet_tests::sequencer::{DevnetChainConfig, DevnetFork, TxGenConfig};
use sequencer_common::{Chain, jwt, manual_l1, spawn_chain};

const CHAIN: ChainId = ChainId(901);
const BATCHER_KEY: B256 = B256::repeat_byte(0xba);
/// L1 epochs recorded by default (three L2 blocks each).
const DEFAULT_EPOCHS: u64 = 60;
/// Timed runs per figure (the median is reported).
const PIPELINE_RUNS: usize = 7;
const DRIVER_RUNS: usize = 3;

type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// One recorded L1 block, with everything derivation reads.
struct RecordedBlock {
    header: Sealed<Header>,
    block_ref: L1BlockRef,
    txs: Arc<Vec<TxEnvelope>>,
    receipts: Arc<Vec<ReceiptEnvelope>>,
    blobs: Vec<CommittedBlob>,
}

/// A frozen copy of the devnet L1, served from memory.
struct RecordedL1 {
    blocks: Vec<RecordedBlock>,
    by_hash: HashMap<B256, usize>,
    head: L1BlockRef,
    safe: L1BlockRef,
    finalized: L1BlockRef,
    /// Whether blobs are KZG-checked against their versioned hash on every read.
    kzg_check: bool,
}

impl RecordedL1 {
    fn block(&self, hash: &B256) -> Result<&RecordedBlock, ProviderError> {
        self.by_hash
            .get(hash)
            .and_then(|i| self.blocks.get(*i))
            .ok_or_else(|| ProviderError::NotFound(format!("L1 block {hash}")))
    }

    fn with_kzg(&self, kzg_check: bool) -> Self {
        Self {
            blocks: self
                .blocks
                .iter()
                .map(|b| RecordedBlock {
                    header: b.header.clone(),
                    block_ref: b.block_ref,
                    txs: b.txs.clone(),
                    receipts: b.receipts.clone(),
                    blobs: b.blobs.clone(),
                })
                .collect(),
            by_hash: self.by_hash.clone(),
            head: self.head,
            safe: self.safe,
            finalized: self.finalized,
            kzg_check,
        }
    }
}

#[async_trait::async_trait]
impl L1ChainProvider for RecordedL1 {
    async fn header_by_hash(&self, hash: B256) -> Result<Sealed<Header>, ProviderError> {
        Ok(self.block(&hash)?.header.clone())
    }

    async fn block_ref_by_number(&self, number: u64) -> Result<Option<L1BlockRef>, ProviderError> {
        Ok(usize::try_from(number)
            .ok()
            .and_then(|n| self.blocks.get(n))
            .map(|b| b.block_ref))
    }

    async fn block_ref_by_tag(&self, tag: L1Tag) -> Result<L1BlockRef, ProviderError> {
        Ok(match tag {
            L1Tag::Latest => self.head,
            L1Tag::Safe => self.safe,
            L1Tag::Finalized => self.finalized,
        })
    }

    async fn transactions_by_hash(
        &self,
        hash: B256,
    ) -> Result<Arc<Vec<TxEnvelope>>, ProviderError> {
        Ok(self.block(&hash)?.txs.clone())
    }

    async fn receipts_by_hash(
        &self,
        hash: B256,
    ) -> Result<Arc<Vec<ReceiptEnvelope>>, ProviderError> {
        Ok(self.block(&hash)?.receipts.clone())
    }
}

#[async_trait::async_trait]
impl BlobProvider for RecordedL1 {
    async fn blobs(
        &self,
        block: &L1BlockRef,
        hashes: &[IndexedBlobHash],
    ) -> Result<Vec<Blob>, ProviderError> {
        let b = self.block(&block.hash)?;
        hashes
            .iter()
            .map(|h| {
                let found = usize::try_from(h.index)
                    .ok()
                    .and_then(|i| b.blobs.get(i))
                    .filter(|cb| cb.versioned_hash == h.hash)
                    .ok_or_else(|| ProviderError::NotFound(format!("blob {}", h.hash)))?;
                let blob = Blob::try_from(found.blob.as_slice())
                    .map_err(|e| ProviderError::Invalid(e.to_string()))?;
                if self.kzg_check {
                    verify_sidecar(h.index, &blob, &found.commitment.0, &found.proof.0, h.hash)
                        .map_err(|e| ProviderError::Invalid(e.to_string()))?;
                }
                Ok(blob)
            })
            .collect()
    }
}

/// The recorded L2 chain, as the pipeline's view of the safe chain.
struct RecordedL2 {
    blocks: Vec<L2BlockRef>,
    /// Transactions per block (deposits included), to check derived attributes against.
    tx_counts: Vec<usize>,
}

#[async_trait::async_trait]
impl L2SafeSource for RecordedL2 {
    async fn l2_block_ref(&self, number: u64) -> Result<Option<L2BlockRef>, ProviderError> {
        Ok(usize::try_from(number)
            .ok()
            .and_then(|n| self.blocks.get(n))
            .copied())
    }
}

/// A devnet history: the L1 snapshot, the L2 chain it derives to, and the sequencer's EL.
struct Recording {
    da: &'static str,
    l1: Arc<RecordedL1>,
    rollup: Arc<RollupConfig>,
    chain_config: DevnetChainConfig,
    l1_genesis_time: u64,
    l2: Arc<RecordedL2>,
    seq_el: Arc<SimElHandle>,
    user_txs: usize,
    batcher_txs: usize,
    calldata_bytes: usize,
    blob_count: usize,
}

impl Recording {
    fn head(&self) -> L2BlockRef {
        self.l2.blocks.last().copied().unwrap_or_default()
    }
}

fn snapshot(l1: &opfleet_tests::l1::L1Handle, kzg_check: bool) -> RecordedL1 {
    l1.with_chain(|c| {
        let head = c.head();
        let blocks: Vec<RecordedBlock> = (0..=head.header.number)
            .filter_map(|n| c.by_number(n))
            .map(|b| RecordedBlock {
                header: Sealed::new_unchecked(b.header.clone(), b.hash),
                block_ref: b.block_ref(),
                txs: Arc::new(b.txs.iter().map(|m| m.tx.tx.inner().clone()).collect()),
                receipts: Arc::new(b.txs.iter().map(|m| m.receipt.clone()).collect()),
                blobs: b.blobs().cloned().collect(),
            })
            .collect();
        let by_hash = blocks
            .iter()
            .enumerate()
            .map(|(i, b)| (b.block_ref.hash, i))
            .collect();
        RecordedL1 {
            blocks,
            by_hash,
            head: head.block_ref(),
            safe: c.safe().block_ref(),
            finalized: c.finalized().block_ref(),
            kzg_check,
        }
    })
}

/// Records `epochs` L1 epochs of three L2 blocks each, batched with `da`, until every block is
/// derivable from the L1 snapshot.
async fn record(
    name: &'static str,
    da: DataAvailability,
    epochs: u64,
) -> Result<Recording, BenchError> {
    let l1 = manual_l1().await;
    let batcher_addr = PrivateKeySigner::from_bytes(&BATCHER_KEY)?.address();
    l1.set_batcher(batcher_addr)?;
    l1.mine();
    let l1 = Arc::new(l1);
    let chain_config = DevnetChainConfig {
        fork: DevnetFork::Isthmus,
        min_base_fee: 1_000,
        ..DevnetChainConfig::devnet(CHAIN)
    };
    let txgen = TxGenConfig {
        keys: 8,
        max_transfers: 8,
        ..TxGenConfig::default()
    };
    let Chain {
        el: seq_el,
        mut seq,
    } = spawn_chain(&l1, chain_config, txgen, None).await;
    let seq_el = Arc::new(seq_el);
    let rollup = Arc::new(seq.rollup().clone());
    let mut bc = BatcherConfig::for_l1(
        &l1,
        seq_el.rpc_url(),
        CHAIN,
        rollup.genesis.l2_time,
        rollup.block_time,
        BATCHER_KEY,
    );
    bc.da = da;
    bc.poll_interval = Duration::from_millis(20);
    bc.submit_delay = Duration::from_millis(5);
    let sink: Arc<dyn L1Sink> = l1.clone();
    let batcher = Batcher::spawn(bc, sink).await?;

    for _ in 0..epochs {
        for _ in 0..3 {
            seq.step().await?;
        }
        l1.mine();
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let head = seq.head();
    // Genesis has no L1-info deposit: its ref comes from the rollup config.
    let genesis = seq_el.genesis();
    let mut l2 = vec![L2BlockRef {
        hash: genesis.hash,
        number: 0,
        parent_hash: genesis.header().parent_hash,
        timestamp: genesis.header().timestamp,
        l1_origin: rollup.genesis.l1,
        sequence_number: 0,
    }];
    let mut tx_counts = vec![0];
    for n in 1..=head.number {
        let sim = seq_el
            .block_by_number(n)
            .ok_or_else(|| format!("sequencer EL lacks block {n}"))?;
        let block = sim
            .l2_block_ref()
            .ok_or_else(|| format!("block {n} has no L1-info deposit"))?;
        l2.push(block);
        tx_counts.push(sim.receipts.len());
    }
    let l2 = Arc::new(RecordedL2 {
        blocks: l2,
        tx_counts,
    });
    // Keep mining until the batcher has posted the whole chain (checked by deriving it).
    let deadline = Instant::now() + Duration::from_secs(90);
    let snap = loop {
        l1.mine();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let snap = Arc::new(snapshot(&l1, false));
        let (derived, _) = pipeline_once(&rollup, &snap, &l2).await?;
        if derived == head.number {
            break snap;
        }
        if Instant::now() > deadline {
            return Err(
                format!("{name}: only {derived} of {} blocks derivable", head.number).into(),
            );
        }
    };
    batcher.stop().await;
    let inbox = rollup.batch_inbox_address;
    let mut batcher_txs = 0;
    let mut calldata_bytes = 0;
    for tx in snap.blocks.iter().flat_map(|b| b.txs.iter()) {
        if tx.to() == Some(inbox) {
            batcher_txs += 1;
            calldata_bytes += tx.input().len();
        }
    }
    let blob_count = snap.blocks.iter().map(|b| b.blobs.len()).sum();
    let mut user_txs = 0;
    for n in 1..=head.number {
        if let Some(b) = seq_el.block_by_number(n) {
            // Every block carries its L1-info deposit; the rest are deposits and user txs.
            user_txs += b.receipts.len().saturating_sub(1);
        }
    }
    Ok(Recording {
        da: name,
        l1: snap,
        rollup,
        chain_config,
        l1_genesis_time: l1.genesis().timestamp,
        l2,
        seq_el,
        user_txs,
        batcher_txs,
        calldata_bytes,
        blob_count,
    })
}

/// Derives every block's attributes from the anchor (the L2 genesis); returns the count and the
/// time. Each derived block must match the recorded one (timestamp, L1 origin).
async fn pipeline_once(
    rollup: &Arc<RollupConfig>,
    l1: &Arc<RecordedL1>,
    l2: &Arc<RecordedL2>,
) -> Result<(u64, Duration), BenchError> {
    let anchor = *l2.blocks.first().ok_or("empty L2 chain")?;
    let start = Instant::now();
    let mut pipeline = Pipeline::new(
        PipelineConfig {
            rollup: rollup.clone(),
            blob_schedule: L1BlobSchedule::prague_at(0),
        },
        l1.clone(),
        l1.clone(),
        anchor,
        rollup.genesis.system_config,
    )
    .await?;
    let mut parent = anchor;
    while let Some(d) = pipeline.next(&parent, l2.as_ref()).await? {
        let next = parent.number as usize + 1;
        let (Some(expected), Some(txs)) = (l2.blocks.get(next), l2.tx_counts.get(next)) else {
            return Err(format!("derived past the recorded head {}", parent.number).into());
        };
        let derived_txs = d.attributes.transactions.as_ref().map_or(0, Vec::len);
        if d.attributes.payload_attributes.timestamp != expected.timestamp
            || d.l1_origin != expected.l1_origin
            || derived_txs != *txs
        {
            return Err(format!("block {} derived differently", expected.number).into());
        }
        parent = *expected;
    }
    Ok((parent.number, start.elapsed()))
}

/// Which execution client the driver runs against.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DriverMode {
    /// The sequencer's EL, which has every block: each derived block is consolidated.
    Consolidate,
    /// A fresh EL at genesis: each derived block is built and inserted.
    Insert,
}

/// Runs the chain driver from the L2 genesis to the recorded head; returns the time.
async fn driver_once(
    rec: &Recording,
    l1: &Arc<RecordedL1>,
    mode: DriverMode,
) -> Result<Duration, BenchError> {
    let (el, anchor) = match mode {
        DriverMode::Consolidate => (rec.seq_el.clone(), Some(0)),
        DriverMode::Insert => {
            let spec = rec.chain_config.chain_spec(rec.l1_genesis_time);
            (
                Arc::new(SimEl::spawn(SimElConfig::local(spec, jwt())).await?),
                None,
            )
        }
    };
    let secret = opfleet_engine::JwtSecret::from_hex(&jwt().to_hex())?;
    let engine = opfleet_engine::EngineClient::new(&el.engine_url(), secret)?;
    let l2 = opfleet_engine::L2Client::new(&el.rpc_url(), &rec.rollup)?;
    let mut driver = ChainDriver::new(
        DriverConfig {
            rollup: rec.rollup.clone(),
            blob_schedule: L1BlobSchedule::prague_at(0),
            anchor,
            idle_interval: Duration::from_millis(20),
        },
        l1.clone(),
        l1.clone(),
        Arc::new(EngineExecutionLayer::new(engine, l2, rec.rollup.clone())),
    )
    .await?;
    let start = Instant::now();
    loop {
        match driver.step().await? {
            Step::Idle => break,
            Step::Consolidated(_) if mode == DriverMode::Consolidate => {}
            Step::Inserted(_) if mode == DriverMode::Insert => {}
            other => return Err(format!("unexpected driver step {other:?}").into()),
        }
    }
    let took = start.elapsed();
    if driver.safe_head() != rec.head() {
        return Err(format!(
            "driver stopped at {:?}, recorded head {:?}",
            driver.safe_head(),
            rec.head()
        )
        .into());
    }
    Ok(took)
}

/// The median of some durations.
fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// One measured figure.
struct Figure {
    da: &'static str,
    what: &'static str,
    blocks: u64,
    median: Duration,
    runs: usize,
}

impl Figure {
    fn blocks_per_sec(&self) -> f64 {
        self.blocks as f64 / self.median.as_secs_f64()
    }
    fn ms_per_block(&self) -> f64 {
        self.median.as_secs_f64() * 1e3 / self.blocks as f64
    }
}

async fn measure(rec: &Recording) -> Result<Vec<Figure>, BenchError> {
    let blocks = rec.head().number;
    let mut out = Vec::new();
    let variants: &[(&'static str, bool)] = if rec.blob_count > 0 {
        &[
            ("pipeline only (KZG-checked blobs)", true),
            ("pipeline only (no KZG check)", false),
        ]
    } else {
        &[("pipeline only", true)]
    };
    for (what, kzg) in variants {
        let l1 = Arc::new(rec.l1.with_kzg(*kzg));
        // One warm-up run, not counted.
        pipeline_once(&rec.rollup, &l1, &rec.l2).await?;
        let mut times = Vec::new();
        for _ in 0..PIPELINE_RUNS {
            let (n, t) = pipeline_once(&rec.rollup, &l1, &rec.l2).await?;
            if n != blocks {
                return Err(format!("{}: derived {n} of {blocks}", rec.da).into());
            }
            times.push(t);
        }
        out.push(Figure {
            da: rec.da,
            what,
            blocks,
            median: median(times),
            runs: PIPELINE_RUNS,
        });
    }
    let l1_kzg = Arc::new(rec.l1.with_kzg(true));
    for (what, mode) in [
        (
            "pipeline + driver, consolidate on EL with the blocks",
            DriverMode::Consolidate,
        ),
        (
            "pipeline + driver, insert into a fresh EL",
            DriverMode::Insert,
        ),
    ] {
        driver_once(rec, &l1_kzg, mode).await?;
        let mut times = Vec::new();
        for _ in 0..DRIVER_RUNS {
            times.push(driver_once(rec, &l1_kzg, mode).await?);
        }
        out.push(Figure {
            da: rec.da,
            what,
            blocks,
            median: median(times),
            runs: DRIVER_RUNS,
        });
    }
    Ok(out)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BenchError> {
    // `cargo bench` passes `--bench`; a bare number overrides the epochs recorded.
    let epochs = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<u64>().ok())
        .unwrap_or(DEFAULT_EPOCHS);
    let total = Instant::now();
    let mut figures = Vec::new();
    for (name, da) in [
        ("calldata", DataAvailability::calldata()),
        ("blobs", DataAvailability::Blobs),
    ] {
        let t = Instant::now();
        let rec = record(name, da, epochs).await?;
        println!(
            "recorded {name}: {} L2 blocks ({} non-L1-info txs), {} L1 blocks, {} batcher txs, \
             {} B calldata, {} blobs ({:.1} s)",
            rec.head().number,
            rec.user_txs,
            rec.l1.blocks.len(),
            rec.batcher_txs,
            rec.calldata_bytes,
            rec.blob_count,
            t.elapsed().as_secs_f64()
        );
        figures.extend(measure(&rec).await?);
    }
    println!();
    println!("| DA | what | blocks | runs | median total | blocks/s | ms/block |");
    println!("|---|---|---|---|---|---|---|");
    for f in &figures {
        println!(
            "| {} | {} | {} | {} | {:.1} ms | {:.0} | {:.3} |",
            f.da,
            f.what,
            f.blocks,
            f.runs,
            f.median.as_secs_f64() * 1e3,
            f.blocks_per_sec(),
            f.ms_per_block()
        );
    }
    println!();
    let find = |da: &str, prefix: &str| {
        figures
            .iter()
            .find(|f| f.da == da && f.what.starts_with(prefix))
            .map(Figure::ms_per_block)
    };
    let ratio = |label: &str, a: Option<f64>, b: Option<f64>| {
        if let (Some(a), Some(b)) = (a, b) {
            println!("{label}: {:.2}x", a / b);
        }
    };
    ratio(
        "blobs (KZG) / calldata, pipeline ms per block",
        find("blobs", "pipeline only (KZG"),
        find("calldata", "pipeline only"),
    );
    ratio(
        "blobs KZG / no KZG, pipeline ms per block",
        find("blobs", "pipeline only (KZG"),
        find("blobs", "pipeline only (no"),
    );
    for da in ["calldata", "blobs"] {
        ratio(
            &format!("{da}: consolidate / pipeline only, ms per block"),
            find(da, "pipeline + driver, consolidate"),
            find(da, "pipeline only"),
        );
        ratio(
            &format!("{da}: insert / consolidate, ms per block"),
            find(da, "pipeline + driver, insert"),
            find(da, "pipeline + driver, consolidate"),
        );
    }
    println!("total bench time {:.1} s", total.elapsed().as_secs_f64());
    Ok(())
}
