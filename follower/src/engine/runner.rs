//! Carries out the driver's steps against the execution client.
//!
//! ```text
//!   wake (new payload, new heads, 1 s tick) ─> view EL ─> next_step ─> Engine API call ─> repeat
//!                                                          until Idle, Waiting or a step limit
//! ```
//! Engine API answers: VALID moves on; SYNCING and ACCEPTED leave the step for the next wake
//! (the client is still catching up or the block is on a side chain); INVALID drops the payload
//! and counts it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use alloy::primitives::B256;
use alloy::rpc::types::engine::PayloadStatusEnum;
use op_alloy_rpc_types_engine::OpExecutionPayloadEnvelope;
use opfleet_p2p::PayloadStore;
use opfleet_protocol::L2BlockRef;
use tokio::sync::{Notify, watch};

use crate::engine::driver::{
    ElView, Forkchoice, PayloadInfo, Step, Targets, forkchoice_after_insert,
    forkchoice_for_pending, forkchoice_for_reorg, next_step, reorg_connects,
};
use crate::engine::{BlockAt, ElError, ExecutionLayer};
use crate::unsafe_blocks::fetch::FetchChain;
use crate::unsafe_blocks::queue::{UnsafeQueue, info_of};

/// Steps carried out per wake before yielding.
const MAX_STEPS_PER_WAKE: usize = 512;

/// How deep a reorg to the attested chain may walk back.
pub const MAX_REORG_DEPTH: u64 = 1024;

/// The execution client's heads as last seen (for `optimism_syncStatus`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ElHeads {
    /// Canonical head.
    pub unsafe_head: Option<L2BlockRef>,
    /// Safe label.
    pub safe: Option<L2BlockRef>,
    /// Finalized label.
    pub finalized: Option<L2BlockRef>,
}

/// Recently inserted canonical payloads, served to P2P peers over `payload_by_number`.
#[derive(Debug, Default)]
pub struct RecentPayloads {
    inner: Mutex<(BTreeMap<u64, OpExecutionPayloadEnvelope>, VecDeque<u64>)>,
    capacity: usize,
}

impl RecentPayloads {
    /// Keeps at most `capacity` payloads.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, (BTreeMap<u64, OpExecutionPayloadEnvelope>, VecDeque<u64>)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records `env` as the canonical payload at its height.
    pub fn insert(&self, env: OpExecutionPayloadEnvelope) {
        let number = env.execution_payload.block_number();
        let mut g = self.lock();
        if g.0.insert(number, env).is_none() {
            g.1.push_back(number);
        }
        while g.1.len() > self.capacity {
            if let Some(old) = g.1.pop_front() {
                g.0.remove(&old);
            }
        }
    }

    /// Forgets the payloads above `number`: after a reorg to a block at `number` they are on
    /// the abandoned fork and must not be served as canonical.
    pub fn forget_above(&self, number: u64) {
        let mut g = self.lock();
        g.0.retain(|n, _| *n <= number);
        g.1.retain(|n| *n <= number);
    }
}

impl PayloadStore for RecentPayloads {
    fn payload_by_number(&self, number: u64) -> Option<OpExecutionPayloadEnvelope> {
        self.lock().0.get(&number).cloned()
    }
}

/// What a reorg to the attested chain labels the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Label {
    /// An accepted safe head: head and safe.
    Safe,
    /// A head whose output root is still to be checked: head only.
    Unverified,
}

/// How a drive ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriveOutcome {
    /// Nothing left to do.
    Idle,
    /// Something is missing (a payload, the client syncing): try again on the next wake.
    Waiting,
    /// The step limit was hit with work left.
    Busy,
}

/// The engine loop's state.
pub struct EngineRunner {
    el: Arc<dyn ExecutionLayer>,
    queue: Arc<Mutex<UnsafeQueue>>,
    fetch: FetchChain,
    served: Arc<RecentPayloads>,
    el_heads: watch::Sender<ElHeads>,
    wake: Arc<Notify>,
}

fn lock_queue(q: &Mutex<UnsafeQueue>) -> MutexGuard<'_, UnsafeQueue> {
    q.lock().unwrap_or_else(|p| p.into_inner())
}

fn status_name(s: &PayloadStatusEnum) -> &'static str {
    match s {
        PayloadStatusEnum::Valid => "valid",
        PayloadStatusEnum::Invalid { .. } => "invalid",
        PayloadStatusEnum::Syncing => "syncing",
        PayloadStatusEnum::Accepted => "accepted",
    }
}

impl EngineRunner {
    /// A runner over `el`, inserting from `queue`, fetching gaps through `fetch`.
    pub fn new(
        el: Arc<dyn ExecutionLayer>,
        queue: Arc<Mutex<UnsafeQueue>>,
        fetch: FetchChain,
        served: Arc<RecentPayloads>,
        wake: Arc<Notify>,
    ) -> (Self, watch::Receiver<ElHeads>) {
        let (el_heads, rx) = watch::channel(ElHeads::default());
        (
            Self {
                el,
                queue,
                fetch,
                served,
                el_heads,
                wake,
            },
            rx,
        )
    }

    /// Runs until shutdown: drives on every wake, target change and once a second.
    pub async fn run(
        self,
        mut targets: watch::Receiver<Targets>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let t = *targets.borrow_and_update();
            match self.drive(&t).await {
                Ok(DriveOutcome::Busy) => continue,
                Ok(_) => {}
                Err(e) => {
                    metrics::counter!("follower_engine_errors_total").increment(1);
                    tracing::warn!(error = %e, "engine drive failed");
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = targets.changed() => {}
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    async fn view(&self, t: &Targets) -> Result<ElView, ElError> {
        let head = self
            .el
            .block_ref(BlockAt::Latest)
            .await?
            .ok_or_else(|| ElError::Invalid("no latest block".into()))?;
        let safe = self.el.block_ref(BlockAt::Safe).await?;
        let finalized = self.el.block_ref(BlockAt::Finalized).await?;
        self.el_heads.send_replace(ElHeads {
            unsafe_head: Some(head),
            safe,
            finalized,
        });
        metrics::gauge!("follower_el_head").set(head.number as f64);
        let at = |target: Option<L2BlockRef>| async move {
            match target {
                Some(b) if b.number <= head.number => Ok::<_, ElError>(
                    self.el
                        .block_ref(BlockAt::Number(b.number))
                        .await?
                        .map(|r| r.hash),
                ),
                _ => Ok(None),
            }
        };
        Ok(ElView {
            head,
            safe: safe.map(|b| b.id()).unwrap_or_default(),
            finalized: finalized.map(|b| b.id()).unwrap_or_default(),
            at_safe: at(t.safe).await?,
            at_finalized: at(t.finalized).await?,
            at_pending: at(t.pending).await?,
        })
    }

    /// Carries out steps until idle, waiting, or the step limit.
    pub async fn drive(&self, t: &Targets) -> Result<DriveOutcome, ElError> {
        for _ in 0..MAX_STEPS_PER_WAKE {
            let v = self.view(t).await?;
            let lowest = {
                let mut q = lock_queue(&self.queue);
                q.prune_through(v.head.number);
                q.lowest_above(v.head.number, v.head.hash)
            };
            let step = next_step(&v, t, lowest);
            tracing::trace!(?step, head = v.head.number, "engine step");
            let done = match step {
                Step::Idle => return Ok(DriveOutcome::Idle),
                Step::Insert(p) => self.insert(&v, &p).await?,
                Step::Discard(p) => {
                    lock_queue(&self.queue).take(&p);
                    metrics::counter!("follower_unsafe_discarded_total").increment(1);
                    true
                }
                Step::Fetch { number } => match self.fetch.fetch(number).await {
                    Some(env) => {
                        lock_queue(&self.queue).insert(env);
                        true
                    }
                    None => false,
                },
                Step::Reorg { target } => self.reorg(&v, t, &target, Label::Safe).await?,
                Step::ReorgToPending { target } => {
                    self.reorg(&v, t, &target, Label::Unverified).await?
                }
                Step::Forkchoice(fc) => self.forkchoice(fc).await?,
            };
            if !done {
                return Ok(DriveOutcome::Waiting);
            }
        }
        Ok(DriveOutcome::Busy)
    }

    async fn forkchoice(&self, fc: Forkchoice) -> Result<bool, ElError> {
        let status = self.el.forkchoice_updated(fc).await?;
        metrics::counter!("follower_engine_fcu_total", "status" => status_name(&status))
            .increment(1);
        match status {
            PayloadStatusEnum::Valid => Ok(true),
            PayloadStatusEnum::Invalid { validation_error } => {
                tracing::error!(head = %fc.head, %validation_error, "forkchoice INVALID");
                Ok(false)
            }
            PayloadStatusEnum::Syncing | PayloadStatusEnum::Accepted => Ok(false),
        }
    }

    /// newPayload; true when the client took it (VALID or ACCEPTED).
    async fn new_payload(&self, env: &OpExecutionPayloadEnvelope) -> Result<bool, ElError> {
        let status = self.el.new_payload(env).await?;
        metrics::counter!("follower_engine_new_payload_total", "status" => status_name(&status))
            .increment(1);
        match status {
            PayloadStatusEnum::Valid | PayloadStatusEnum::Accepted => Ok(true),
            PayloadStatusEnum::Invalid { validation_error } => {
                tracing::warn!(
                    number = env.execution_payload.block_number(),
                    hash = %env.execution_payload.block_hash(),
                    %validation_error,
                    "payload INVALID, dropped"
                );
                Ok(false)
            }
            PayloadStatusEnum::Syncing => Ok(false),
        }
    }

    async fn insert(&self, v: &ElView, p: &PayloadInfo) -> Result<bool, ElError> {
        let Some(env) = lock_queue(&self.queue).take(p) else {
            return Ok(true);
        };
        if !self.new_payload(&env).await? {
            return Ok(true);
        }
        let ok = self.forkchoice(forkchoice_after_insert(v, p)).await?;
        if ok {
            self.served.insert(env);
            metrics::counter!("follower_unsafe_inserted_total").increment(1);
        }
        Ok(ok)
    }

    /// Makes the attested `target` canonical: fetch it and its ancestors down to one whose
    /// parent the client has canonically, insert them upward, move the forkchoice (labelling
    /// the target safe, or not when its output root is still to be checked).
    async fn reorg(
        &self,
        v: &ElView,
        t: &Targets,
        target: &L2BlockRef,
        label: Label,
    ) -> Result<bool, ElError> {
        tracing::warn!(
            number = target.number,
            attested = %target.hash,
            ours = ?if label == Label::Safe { v.at_safe } else { v.at_pending },
            ?label,
            "execution client differs from the attested chain; reorging to it"
        );
        let floor = v.finalized.number;
        let mut fetched: Vec<OpExecutionPayloadEnvelope> = Vec::new();
        let mut canonical: BTreeMap<u64, B256> = BTreeMap::new();
        let mut want = target.hash;
        let mut number = target.number;
        let connected = loop {
            if target.number - number > MAX_REORG_DEPTH || number <= floor {
                tracing::error!(number, floor, "reorg to the attested chain is too deep");
                return Ok(false);
            }
            let Some(env) = self.fetch.fetch_matching(number, want).await else {
                tracing::warn!(number, expected = %want, "no source has the attested chain's block");
                return Ok(false);
            };
            let info = info_of(&env);
            if let Some(parent) = self.el.block_ref(BlockAt::Number(number - 1)).await? {
                canonical.insert(number - 1, parent.hash);
            }
            want = info.parent_hash;
            fetched.push(env);
            let infos: Vec<PayloadInfo> = fetched.iter().map(info_of).collect();
            if let Some(n) = reorg_connects(&infos, |k| canonical.get(&k).copied()) {
                break n;
            }
            number -= 1;
        };
        for env in fetched.iter().take(connected).rev() {
            if !self.new_payload(env).await? {
                return Ok(false);
            }
        }
        let fc = match (label, connected.checked_sub(1).and_then(|i| fetched.get(i))) {
            (Label::Safe, _) => forkchoice_for_reorg(v, t, target),
            (Label::Unverified, Some(lowest)) => {
                let lowest = info_of(lowest);
                let fork_parent = opfleet_protocol::BlockId {
                    hash: lowest.parent_hash,
                    number: lowest.number.saturating_sub(1),
                };
                forkchoice_for_pending(v, target, fork_parent)
            }
            (Label::Unverified, None) => return Ok(false),
        };
        let ok = self.forkchoice(fc).await?;
        if ok {
            metrics::counter!("follower_reorgs_to_attested_total").increment(1);
            self.served.forget_above(target.number);
            for env in fetched.into_iter().take(connected) {
                self.served.insert(env);
            }
        }
        Ok(ok)
    }
}
