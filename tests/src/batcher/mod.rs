//! The devnet batcher: follows an L2 chain's unsafe blocks and posts them to the L1 batch inbox
//! as real channels of span (or singular) batches, in blobs or calldata.
//!
//! ```text
//!  SimEl eth RPC ──eth_getBlockByNumber(n, true)──▶ L2Source ──▶ BatchedBlock (parent, epoch,
//!                                                                 timestamp, non-deposit txs)
//!        ┌─────────────────────────────────────────────────────────────┘
//!        ▼
//!  pending ──▶ ChannelBuilder (open ≤ max_duration L1 blocks, or until full)
//!                   │ finish: encode, compress, split into frames
//!                   ▼
//!  outbox [channel: frames] ──TxFactory (1 frame/calldata tx, ≤6 blobs/type-3 tx, signed,
//!                                        nonce tracked)──▶ L1Sink::submit ──▶ batch inbox
//! ```
//! Faults and recoveries, as op-batcher handles them:
//! - an L2 reorg (a loaded block's parent hash no longer matches, or the tip vanished) drops
//!   everything not yet posted and restarts from the L2 safe head;
//! - a channel whose posting takes longer than `channel_timeout - sub_safety_margin` L1 blocks
//!   (say after a long pause) is abandoned and its blocks are batched again in a new channel;
//! - an L1 reorg that re-includes the batcher's transactions (the devnet L1's default) needs
//!   nothing; one that loses them (`ReorgMode::DropSubmitted`, a real L1's mempool forgetting
//!   them) shows as sent transactions neither mined nor pending and an L1 nonce below the
//!   batcher's: it rewinds to the last block whose channel is fully on L1 and batches the rest
//!   again in new channels, from the L1's nonce (see `driver`).
//!
//! [`BatcherHandle::pause`] stops all work (no transaction is sent once it returns);
//! [`BatcherHandle::resume`] continues from the same state, so no block is lost.

pub mod channel_builder;
mod driver;
pub mod l2_source;
pub mod submitter;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::signers::local::PrivateKeySigner;
use opfleet_protocol::batch::SpanBatchContext;
use opfleet_protocol::compression::Compression;
use opfleet_protocol::{BlockId, ChainId};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use channel_builder::{
    BatchKind, BatchedBlock, ChannelBuilder, ChannelSettings, ClosedChannel,
};
pub use l2_source::{L2Source, L2SourceError};
pub use submitter::{DataAvailability, L1Fees, L1Sink, MAX_BLOBS_PER_TX, TxFactory, TxStatus};

use crate::l1::L1Handle;

/// Channel timeout of Granite and later rollups, in L1 blocks.
pub const CHANNEL_TIMEOUT_GRANITE: u64 = 50;

/// Everything the batcher needs to run.
#[derive(Clone, Debug)]
pub struct BatcherConfig {
    /// `http://` URL of the L2 execution client's eth JSON-RPC.
    pub l2_rpc_url: String,
    /// L2 chain id.
    pub l2_chain_id: ChainId,
    /// L2 genesis timestamp (span batches count time from it).
    pub l2_genesis_time: u64,
    /// L2 block time, seconds.
    pub l2_block_time: u64,
    /// L1 chain id the transactions are signed for.
    pub l1_chain_id: ChainId,
    /// The rollup's batch inbox.
    pub batch_inbox: Address,
    /// Secret key of the batcher; its address must be the SystemConfig batcher.
    pub batcher_key: B256,
    /// Blobs or calldata.
    pub da: DataAvailability,
    /// Channel compression.
    pub compression: Compression,
    /// Span or singular batches.
    pub batch_kind: BatchKind,
    /// L1 blocks a channel stays open at most.
    pub max_channel_duration: u64,
    /// The rollup's channel timeout in L1 blocks.
    pub channel_timeout: u64,
    /// L1 blocks before the channel timeout at which an unfinished channel is given up.
    pub sub_safety_margin: u64,
    /// How often the L2 chain and the L1 head are looked at.
    pub poll_interval: Duration,
    /// Pause between two transactions.
    pub submit_delay: Duration,
    /// The sequencer told of what the batcher got finalized on L1, as its safe and finalized
    /// heads (see `driver`); `None` tells no one.
    pub head_sink: Option<crate::sequencer::SequencerControls>,
}

impl BatcherConfig {
    /// op-batcher's defaults (blobs, zlib, span batches, channel timeout 50 with a margin of 10)
    /// with devnet timing: channels close after 2 L1 blocks, polling every 100 ms.
    pub fn new(
        l2_rpc_url: String,
        l2_chain_id: ChainId,
        l2_genesis_time: u64,
        l2_block_time: u64,
        l1_chain_id: ChainId,
        batch_inbox: Address,
        batcher_key: B256,
    ) -> Self {
        Self {
            l2_rpc_url,
            l2_chain_id,
            l2_genesis_time,
            l2_block_time,
            l1_chain_id,
            batch_inbox,
            batcher_key,
            da: DataAvailability::Blobs,
            compression: Compression::Zlib,
            batch_kind: BatchKind::Span,
            max_channel_duration: 2,
            channel_timeout: CHANNEL_TIMEOUT_GRANITE,
            sub_safety_margin: 10,
            poll_interval: Duration::from_millis(100),
            submit_delay: Duration::from_millis(50),
            head_sink: None,
        }
    }

    /// The defaults of [`Self::new`] for a chain whose L1 is `l1`.
    pub fn for_l1(
        l1: &L1Handle,
        l2_rpc_url: String,
        l2_chain_id: ChainId,
        l2_genesis_time: u64,
        l2_block_time: u64,
        batcher_key: B256,
    ) -> Self {
        Self::new(
            l2_rpc_url,
            l2_chain_id,
            l2_genesis_time,
            l2_block_time,
            l1.chain_id(),
            l1.batch_inbox(),
            batcher_key,
        )
    }

    fn channel_settings(&self) -> ChannelSettings {
        ChannelSettings {
            kind: self.batch_kind,
            compression: self.compression,
            span_context: SpanBatchContext {
                genesis_timestamp: self.l2_genesis_time,
                block_time: self.l2_block_time,
                chain_id: self.l2_chain_id,
            },
            max_frame_data: self.da.max_frame_data(),
            target_frames: self.da.frames_per_tx(),
            max_duration: self.max_channel_duration,
        }
    }
}

/// Why the batcher did not start.
#[derive(Debug, thiserror::Error)]
pub enum BatcherError {
    /// The batcher key is not a valid secp256k1 secret.
    #[error("batcher key: {0}")]
    Key(String),
    /// The key's address is not the batcher the L1 SystemConfig names.
    #[error("batcher key signs as {key}, but the SystemConfig batcher is {system_config}")]
    NotTheBatcher {
        /// Address of the configured key.
        key: Address,
        /// Batcher of the L1 SystemConfig.
        system_config: Address,
    },
    /// The L2 RPC is unusable or the safe head unreadable.
    #[error(transparent)]
    L2(#[from] L2SourceError),
}

/// What the batcher has done so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatcherStatus {
    /// Whether it is paused.
    pub paused: bool,
    /// Last L2 block read from the execution client.
    pub loaded: Option<BlockId>,
    /// Last L2 block whose channel has been fully submitted to L1.
    pub posted: Option<BlockId>,
    /// Last L2 block whose channel's last transaction is in a finalized L1 block.
    pub finalized: Option<BlockId>,
    /// Channels closed.
    pub channels: u64,
    /// L1 transactions sent.
    pub txs: u64,
    /// Next nonce.
    pub nonce: u64,
    /// L2 reorgs seen (each restarts from the safe head).
    pub l2_reorgs: u64,
    /// Channels given up because their posting ran into the channel timeout.
    pub timed_out_channels: u64,
    /// Sent transactions the L1 lost (reorged out and forgotten by its mempool).
    pub lost_txs: u64,
    /// Rewinds after lost transactions (each batches again from the last block fully on L1).
    pub l1_rewinds: u64,
    /// The last error met (the batcher retries at the next poll).
    pub last_error: Option<String>,
}

/// Shared between the task and the handle.
type SharedStatus = Arc<Mutex<BatcherStatus>>;

fn status_of(status: &SharedStatus) -> std::sync::MutexGuard<'_, BatcherStatus> {
    status.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the handle asks of the task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Control {
    Run,
    Pause,
    Stop,
}

/// Starts batchers.
#[derive(Debug)]
pub struct Batcher;

impl Batcher {
    /// Checks the key against the L1 batcher, finds the L2 safe head and starts posting from it.
    pub async fn spawn(
        config: BatcherConfig,
        l1: Arc<dyn L1Sink>,
    ) -> Result<BatcherHandle, BatcherError> {
        let signer = PrivateKeySigner::from_bytes(&config.batcher_key)
            .map_err(|e| BatcherError::Key(e.to_string()))?;
        let system_config = l1.batcher();
        if signer.address() != system_config {
            return Err(BatcherError::NotTheBatcher {
                key: signer.address(),
                system_config,
            });
        }
        let address = signer.address();
        let source = L2Source::new(&config.l2_rpc_url)?;
        let safe = source.safe_head().await?;
        let status: SharedStatus = Arc::default();
        let (control, control_rx) = watch::channel(Control::Run);
        let driver = driver::Driver::new(config, source, l1, signer, safe, status.clone());
        tracing::info!(%address, safe = safe.number, "batcher started");
        let task = tokio::spawn(driver.run(control_rx));
        Ok(BatcherHandle {
            address,
            control,
            status,
            task,
        })
    }
}

/// A running batcher.
#[derive(Debug)]
pub struct BatcherHandle {
    address: Address,
    control: watch::Sender<Control>,
    status: SharedStatus,
    task: JoinHandle<()>,
}

impl BatcherHandle {
    /// The batcher address (sender of every batch transaction).
    pub fn address(&self) -> Address {
        self.address
    }

    /// What it has done so far.
    pub fn status(&self) -> BatcherStatus {
        status_of(&self.status).clone()
    }

    /// A reader of the live status that does not borrow the handle (for status pages).
    pub fn status_reader(&self) -> impl Fn() -> BatcherStatus + Send + Sync + 'static {
        let status = self.status.clone();
        move || status_of(&status).clone()
    }

    /// Stops reading and posting. Once this returns no further transaction is sent.
    pub fn pause(&self) {
        // The task reads the control under the watch lock while it submits, so this waits
        // for a submission in progress and no other starts after it.
        self.control.send_replace(Control::Pause);
        status_of(&self.status).paused = true;
    }

    /// Continues from where [`Self::pause`] stopped.
    pub fn resume(&self) {
        self.control.send_replace(Control::Run);
        status_of(&self.status).paused = false;
    }

    /// Waits until every L2 block up to `number` is in a fully submitted channel; false on
    /// timeout.
    pub async fn wait_posted(&self, number: u64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.status().posted.is_some_and(|p| p.number >= number) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the task and waits for it.
    pub async fn stop(self) {
        self.control.send_replace(Control::Stop);
        let _ = self.task.await;
    }
}
