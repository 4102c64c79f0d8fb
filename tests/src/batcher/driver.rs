//! The batcher's loop: load new L2 blocks, fill and close channels, send their frames.
//!
//! ```text
//! every poll: load ──▶ pending ──▶ open channel ──close──▶ outbox ──submit──▶ L1
//!               │ parent hash breaks: drop pending, open and outbox; tip := L2 safe head
//!               └ outbox front timed out: its blocks and all later ones go back to pending
//! sent tx ──▶ unconfirmed (hash, nonce, channel, its blocks) ──in a finalized L1 block──▶
//!             popped; a channel's last tx: status.finalized, the head sink's safe and
//!             finalized := the channel's last block
//!         └── gone from L1 (reorged out, mempool forgot it, the L1 nonce fell below it) ──▶
//!             rewind: tip := block before that tx's channel; pending, open, outbox dropped;
//!             nonce := the L1's; the blocks are loaded and batched again in new channels
//! ```
//! A lost transaction's channel may have its first frames still on L1: they are an unfinished
//! channel there, which the next channel's first frame replaces (Holocene) or which times
//! out. Channels are sent one after the other in nonce order, and a reorg drops a suffix of
//! the batcher's transactions, so every block before the lost channel is still fully on L1
//! and derivation's safe head on the new branch is the block the rewind restarts after (as
//! op-batcher rewinds its cursors by the least it must).
//! The sequencer does not derive, so its execution client would keep genesis as safe and
//! finalized forever (and could prune nothing). What the batcher got finalized on L1 is what
//! derivation would make finalized; it also stands in for safe, since no L1 reorg reaches it.

use std::collections::VecDeque;
use std::sync::Arc;

use alloy::signers::local::PrivateKeySigner;
use opfleet_protocol::BlockId;
use opfleet_protocol::frame::ChannelId;
use tokio::sync::watch;
use tokio::time::Instant;

use super::channel_builder::{
    AddOutcome, BatchedBlock, ChannelBuildError, ChannelBuilder, ChannelSettings, ClosedChannel,
};
use super::l2_source::{L2Source, L2SourceError};
use super::submitter::{L1Sink, TxBuildError, TxFactory, TxStatus};
use super::{BatcherConfig, Control, SharedStatus, status_of};
use crate::l1::SubmitError;

/// Why one round of work stopped early (the next poll retries).
#[derive(Debug, thiserror::Error)]
enum TickError {
    #[error(transparent)]
    L2(#[from] L2SourceError),
    #[error(transparent)]
    Channel(#[from] ChannelBuildError),
    #[error(transparent)]
    Build(#[from] TxBuildError),
    #[error("submitting nonce {nonce}: {source}")]
    Submit { nonce: u64, source: SubmitError },
}

/// A closed channel and how far its posting got.
#[derive(Debug)]
struct Outgoing {
    channel: ClosedChannel,
    /// Frames before this index are submitted.
    next_frame: usize,
    /// L1 head when the first frame was submitted.
    first_post_l1: Option<u64>,
}

/// A sent transaction not yet seen in a finalized L1 block.
#[derive(Clone, Copy, Debug)]
struct SentTx {
    hash: alloy::primitives::B256,
    nonce: u64,
    channel: ChannelId,
    /// The L2 block before the channel's first block: batching restarts after it if this
    /// transaction is lost.
    resume_after: BlockId,
    /// The channel's last L2 block.
    last_block: BlockId,
    /// Whether this transaction carried the channel's last frames.
    completes: bool,
}

/// The batcher's state, owned by its task.
pub(super) struct Driver {
    config: BatcherConfig,
    settings: ChannelSettings,
    source: L2Source,
    l1: Arc<dyn L1Sink>,
    factory: TxFactory,
    status: SharedStatus,
    /// The last block loaded; the next one must build on it.
    tip: BlockId,
    pending: VecDeque<BatchedBlock>,
    open: Option<ChannelBuilder>,
    outbox: VecDeque<Outgoing>,
    nonce: u64,
    last_submit: Option<Instant>,
    /// Sent transactions not yet finalized on L1, in nonce order.
    unconfirmed: VecDeque<SentTx>,
}

/// Sent transactions watched at most (older ones are forgotten: neither their finalization
/// nor their loss is seen).
const MAX_UNCONFIRMED: usize = 4096;

impl Driver {
    /// A driver that starts after `safe`.
    pub(super) fn new(
        config: BatcherConfig,
        source: L2Source,
        l1: Arc<dyn L1Sink>,
        signer: PrivateKeySigner,
        safe: BlockId,
        status: SharedStatus,
    ) -> Self {
        let nonce = l1.nonce(signer.address());
        let factory = TxFactory::new(
            signer,
            config.l1_chain_id.get(),
            config.batch_inbox,
            config.da,
        );
        status_of(&status).nonce = nonce;
        Self {
            settings: config.channel_settings(),
            config,
            source,
            l1,
            factory,
            status,
            tip: safe,
            pending: VecDeque::new(),
            open: None,
            outbox: VecDeque::new(),
            nonce,
            last_submit: None,
            unconfirmed: VecDeque::new(),
        }
    }

    /// Runs until told to stop (or the handle is gone).
    pub(super) async fn run(mut self, mut control: watch::Receiver<Control>) {
        loop {
            let state = *control.borrow_and_update();
            match state {
                Control::Stop => return,
                Control::Pause => {
                    if control.changed().await.is_err() {
                        return;
                    }
                    continue;
                }
                Control::Run => {}
            }
            if let Err(e) = self.tick(&control).await {
                tracing::warn!(error = %e, "batcher round failed; retrying");
                status_of(&self.status).last_error = Some(e.to_string());
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                changed = control.changed() => if changed.is_err() { return },
            }
        }
    }

    async fn tick(&mut self, control: &watch::Receiver<Control>) -> Result<(), TickError> {
        self.track_finalized();
        self.recover_lost();
        self.load().await?;
        let l1_head = self.l1.head().number;
        if let Err(e) = self.fill_channels(l1_head) {
            // Blocks that do not chain into a span: start again from what is safe.
            tracing::warn!(error = %e, "channel building failed; restarting from the safe head");
            self.restart_from_safe().await?;
            return Err(e.into());
        }
        self.submit(control).await
    }

    /// Reads every new block; on a broken parent link restarts from the safe head.
    async fn load(&mut self) -> Result<(), TickError> {
        let latest = self.source.latest_number().await?;
        if latest <= self.tip.number {
            // Nothing new: check the tip itself is still canonical (the chain may have been
            // reorged to the same or a lower height).
            let current = self.source.hash_at(self.tip.number).await?;
            if current != Some(self.tip.hash) {
                tracing::info!(tip = %self.tip.hash, "L2 tip replaced; restarting from safe head");
                self.restart_from_safe().await?;
            }
            return Ok(());
        }
        while self.tip.number < latest {
            let Some(block) = self.source.block(self.tip.number + 1).await? else {
                break;
            };
            if block.block.parent_hash != self.tip.hash {
                tracing::info!(
                    number = block.block.number,
                    parent = %block.block.parent_hash,
                    tip = %self.tip.hash,
                    "L2 reorg; restarting from safe head"
                );
                self.restart_from_safe().await?;
                return Ok(());
            }
            self.tip = block.block.id();
            status_of(&self.status).loaded = Some(self.tip);
            self.pending.push_back(block);
        }
        Ok(())
    }

    async fn restart_from_safe(&mut self) -> Result<(), L2SourceError> {
        let safe = self.source.safe_head().await?;
        self.tip = safe;
        self.pending.clear();
        self.open = None;
        self.outbox.clear();
        self.unconfirmed
            .retain(|t| t.last_block.number <= safe.number);
        let mut status = status_of(&self.status);
        status.l2_reorgs += 1;
        status.loaded = Some(safe);
        Ok(())
    }

    /// Pops transactions in finalized L1 blocks off `unconfirmed`, and reports the newest
    /// completed channel's last block as finalized.
    fn track_finalized(&mut self) {
        let next_nonce = self.l1.nonce(self.factory.address());
        let mut finalized = None;
        while let Some(t) = self.unconfirmed.front().copied() {
            match self.l1.tx_status(&t.hash) {
                TxStatus::Finalized => {}
                // Below the L1's nonce yet unknown: its block was pruned, behind finalized.
                TxStatus::Unknown if t.nonce < next_nonce => {}
                _ => break,
            }
            if t.completes {
                finalized = Some(t.last_block);
            }
            self.unconfirmed.pop_front();
        }
        let Some(block) = finalized else { return };
        status_of(&self.status).finalized = Some(block);
        if let Some(sink) = &self.config.head_sink {
            sink.set_safe(block);
            sink.set_finalized(block);
        }
    }

    /// If the L1 lost sent transactions (an L1 reorg dropped their blocks and the mempool
    /// forgot them), starts batching again after the last block whose frames are all still on
    /// L1, with the L1's nonce. True when it rewound.
    fn recover_lost(&mut self) -> bool {
        let next_nonce = self.l1.nonce(self.factory.address());
        if next_nonce >= self.nonce {
            return false;
        }
        let lost = self
            .unconfirmed
            .iter()
            .position(|t| t.nonce >= next_nonce && self.l1.tx_status(&t.hash) == TxStatus::Unknown);
        let resume_after = lost
            .and_then(|i| self.unconfirmed.get(i))
            .map(|t| t.resume_after);
        let lost_txs = self.nonce - next_nonce;
        self.nonce = next_nonce;
        if let Some(i) = lost {
            self.unconfirmed.truncate(i);
        }
        let mut status = status_of(&self.status);
        status.nonce = next_nonce;
        status.lost_txs += lost_txs;
        let Some(after) = resume_after else {
            // Only transactions of channels no longer needed were lost (given up, or of
            // blocks an L2 reorg replaced): the nonce is all there is to fix.
            tracing::warn!(
                lost_txs,
                nonce = next_nonce,
                "L1 lost batcher transactions of abandoned channels"
            );
            return false;
        };
        tracing::warn!(
            lost_txs,
            nonce = next_nonce,
            resume_after = after.number,
            "L1 lost batcher transactions; batching again from the block after the last one fully on L1"
        );
        self.tip = after;
        self.pending.clear();
        self.open = None;
        self.outbox.clear();
        status.l1_rewinds += 1;
        status.loaded = Some(after);
        if status.posted.is_some_and(|p| p.number > after.number) {
            status.posted = Some(after);
        }
        true
    }

    /// Moves pending blocks into channels and closes channels that are full or old enough.
    fn fill_channels(&mut self, l1_head: u64) -> Result<(), ChannelBuildError> {
        while let Some(block) = self.pending.pop_front() {
            let mut channel = match self.open.take() {
                Some(c) => c,
                None => ChannelBuilder::new(ChannelId(rand::random()), l1_head, self.settings),
            };
            match channel.try_add(block.clone()) {
                Ok(AddOutcome::Added) => self.open = Some(channel),
                Ok(AddOutcome::Full(refused)) => {
                    self.pending.push_front(*refused);
                    self.close(channel)?;
                }
                Err(e) => {
                    self.pending.push_front(block);
                    self.open = Some(channel);
                    return Err(e);
                }
            }
        }
        if self
            .open
            .as_ref()
            .is_some_and(|c| !c.blocks().is_empty() && c.is_timed_out(l1_head))
            && let Some(channel) = self.open.take()
        {
            self.close(channel)?;
        }
        Ok(())
    }

    fn close(&mut self, channel: ChannelBuilder) -> Result<(), ChannelBuildError> {
        let closed = channel.finish()?;
        tracing::debug!(
            channel = %closed.id,
            frames = closed.frames.len(),
            blocks = closed.blocks.len(),
            "channel closed"
        );
        self.outbox.push_back(Outgoing {
            channel: closed,
            next_frame: 0,
            first_post_l1: None,
        });
        status_of(&self.status).channels += 1;
        Ok(())
    }

    /// Gives up the front channel if finishing it now could miss the channel timeout: its
    /// blocks, and every block after them, are batched again.
    fn requeue_if_timed_out(&mut self, l1_head: u64) -> bool {
        let limit = self
            .config
            .channel_timeout
            .saturating_sub(self.config.sub_safety_margin);
        let timed_out = self
            .outbox
            .front()
            .and_then(|o| o.first_post_l1)
            .is_some_and(|first| l1_head >= first.saturating_add(limit));
        if !timed_out {
            return false;
        }
        let abandoned: Vec<ChannelId> = self.outbox.iter().map(|o| o.channel.id).collect();
        // What was sent of them no longer matters: its blocks are batched again.
        self.unconfirmed.retain(|t| !abandoned.contains(&t.channel));
        let mut blocks: VecDeque<BatchedBlock> = self
            .outbox
            .drain(..)
            .flat_map(|o| o.channel.blocks)
            .collect();
        if let Some(open) = self.open.take() {
            blocks.extend(open.into_blocks());
        }
        blocks.extend(self.pending.drain(..));
        tracing::warn!(
            blocks = blocks.len(),
            "channel ran into its timeout; re-batching"
        );
        self.pending = blocks;
        status_of(&self.status).timed_out_channels += 1;
        true
    }

    /// Sends what the outbox holds, one transaction at a time, while running.
    async fn submit(&mut self, control: &watch::Receiver<Control>) -> Result<(), TickError> {
        let per_tx = self.config.da.frames_per_tx();
        while !self.outbox.is_empty() {
            if let Some(last) = self.last_submit {
                let next = last + self.config.submit_delay;
                if Instant::now() < next {
                    tokio::time::sleep_until(next).await;
                }
            }
            if self.recover_lost() {
                // The lost blocks are loaded and batched again at the next tick.
                return Ok(());
            }
            let l1_head = self.l1.head().number;
            if self.requeue_if_timed_out(l1_head) {
                // Re-batched blocks go out in new channels first.
                self.fill_channels(l1_head)?;
                continue;
            }
            let Some(front) = self.outbox.front() else {
                break;
            };
            let (Some(first), Some(last)) =
                (front.channel.blocks.first(), front.channel.blocks.last())
            else {
                // A channel is closed only with blocks in it.
                self.outbox.pop_front();
                continue;
            };
            let resume_after = BlockId {
                number: first.block.number.saturating_sub(1),
                hash: first.block.parent_hash,
            };
            let last_block = last.block.id();
            let channel = front.channel.id;
            let end = (front.next_frame + per_tx).min(front.channel.frames.len());
            let frames = front
                .channel
                .frames
                .get(front.next_frame..end)
                .unwrap_or_default();
            let built = self.factory.build(self.nonce, frames, self.l1.fees())?;
            let last_tx;
            {
                // Held while submitting: `pause` waits for this submission, and none starts
                // after it.
                let state = control.borrow();
                if *state != Control::Run {
                    return Ok(());
                }
                match self.l1.submit(built.tx, built.sidecar) {
                    Ok(hash) | Err(SubmitError::AlreadyKnown(hash)) => last_tx = hash,
                    Err(source) => {
                        return Err(TickError::Submit {
                            nonce: self.nonce,
                            source,
                        });
                    }
                }
            }
            self.last_submit = Some(Instant::now());
            let nonce = self.nonce;
            self.nonce += 1;
            let done = match self.outbox.front_mut() {
                Some(front) => {
                    front.next_frame = end;
                    front.first_post_l1.get_or_insert(l1_head);
                    end >= front.channel.frames.len()
                }
                None => false,
            };
            let posted = if done {
                self.outbox
                    .pop_front()
                    .and_then(|o| o.channel.blocks.last().map(|b| b.block.id()))
            } else {
                None
            };
            self.unconfirmed.push_back(SentTx {
                hash: last_tx,
                nonce,
                channel,
                resume_after,
                last_block,
                completes: posted.is_some(),
            });
            if self.unconfirmed.len() > MAX_UNCONFIRMED {
                self.unconfirmed.pop_front();
            }
            let mut status = status_of(&self.status);
            status.txs += 1;
            status.nonce = self.nonce;
            if posted.is_some() {
                status.posted = posted;
            }
        }
        Ok(())
    }
}
