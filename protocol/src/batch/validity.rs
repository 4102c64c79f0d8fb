//! The batch queue's checks on singular and span batches (derivation spec "Batch Queue",
//! span-batches "Batch Queue", Holocene, Isthmus, Jovian).
//!
//! ```text
//! l1_blocks: [epoch = safe_head.l1_origin, next_epoch, ...]   (consecutive, known so far)
//! next_timestamp = safe_head.timestamp + block_time
//!
//!   batch.timestamp  <  next  ==  next  >  next
//!                     Past/Drop  check   Future/Drop (Holocene)
//! ```
//! Pure: chain state comes in as values, and the overlap check of span batches reads earlier
//! safe L2 blocks through [`SafeChain`], which the caller implements.

use alloy::primitives::Bytes;

use super::{SingularBatch, SpanBatch};
use crate::{L1BlockRef, L2BlockRef};

/// Max sequencer drift from Fjord on (a constant; before Fjord it is a chain parameter).
pub const FJORD_MAX_SEQUENCER_DRIFT: u64 = 1800;

/// Deposit transaction type byte: never allowed in batches.
const DEPOSIT_TX_TYPE: u8 = 0x7e;
/// Set-code (EIP-7702) transaction type byte: allowed from Isthmus.
const SET_CODE_TX_TYPE: u8 = 0x04;

/// The rollup config values and fork times the batch checks need.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchValidationParams {
    /// L2 block time, seconds.
    pub block_time: u64,
    /// Sequencing window size, L1 blocks.
    pub seq_window_size: u64,
    /// Max sequencer drift before Fjord, seconds.
    pub max_sequencer_drift: u64,
    /// Delta activation (span batches), L2 timestamp seconds.
    pub delta_time: Option<u64>,
    /// Fjord activation (constant drift), seconds.
    pub fjord_time: Option<u64>,
    /// Holocene activation (strict ordering), seconds.
    pub holocene_time: Option<u64>,
    /// Isthmus activation (set-code transactions), seconds.
    pub isthmus_time: Option<u64>,
    /// Jovian activation (its first block carries no user transactions), seconds.
    pub jovian_time: Option<u64>,
    /// Interop activation (its first block carries no user transactions), seconds.
    pub interop_time: Option<u64>,
}

fn active(fork: Option<u64>, time: u64) -> bool {
    fork.is_some_and(|f| time >= f)
}

impl BatchValidationParams {
    /// The max sequencer drift for an L1 origin with timestamp `l1_origin_time`.
    pub fn max_sequencer_drift_at(&self, l1_origin_time: u64) -> u64 {
        if active(self.fjord_time, l1_origin_time) {
            FJORD_MAX_SEQUENCER_DRIFT
        } else {
            self.max_sequencer_drift
        }
    }

    /// Whether Holocene rules apply to a batch included at L1 time `inclusion_time`.
    pub fn is_holocene(&self, inclusion_time: u64) -> bool {
        active(self.holocene_time, inclusion_time)
    }

    /// Whether set-code transactions are allowed in an L2 block at `timestamp`.
    pub fn is_isthmus(&self, timestamp: u64) -> bool {
        active(self.isthmus_time, timestamp)
    }

    /// Whether span batches are allowed for an L1 origin at `l1_origin_time`.
    pub fn is_delta(&self, l1_origin_time: u64) -> bool {
        active(self.delta_time, l1_origin_time)
    }

    /// Whether the L2 block at `timestamp` is the first of a fork that forbids user
    /// transactions in its activation block (Jovian, Interop).
    pub fn is_empty_activation_block(&self, timestamp: u64) -> bool {
        let first = |fork: Option<u64>| {
            active(fork, timestamp)
                && timestamp >= self.block_time
                && !active(fork, timestamp - self.block_time)
        };
        first(self.jovian_time) || first(self.interop_time)
    }
}

/// Why a batch was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchDropReason {
    /// Timestamp after the next one under Holocene (no gaps allowed).
    FutureTimestampHolocene,
    /// Timestamp before the next one, before Holocene.
    PastTimestampPreHolocene,
    /// Parent hash (or span parent check) does not match the block it builds on.
    ParentHashMismatch,
    /// Included after the sequencing window of its epoch closed.
    IncludedTooLate,
    /// L1 origin older than the safe head's.
    EpochTooOld,
    /// L1 origin more than one block ahead of the parent's.
    EpochTooFarInFuture,
    /// Epoch hash (or span L1 origin check) does not match the canonical L1 block.
    EpochHashMismatch,
    /// L2 timestamp before its L1 origin's timestamp.
    TimestampBeforeL1Origin,
    /// Transactions in a block past the max sequencer drift.
    SequencerDriftExceeded,
    /// An empty block past the drift kept an old origin when the next one was adoptable.
    SequencerDriftNotAdoptedNextOrigin,
    /// User transactions in a Jovian or Interop activation block.
    NonEmptyTransitionBlock,
    /// A zero-length transaction.
    EmptyTransaction,
    /// A deposit transaction (type 0x7E).
    DepositTransaction,
    /// A set-code transaction before Isthmus.
    SetCodePreIsthmus,
    /// A span batch whose L1 origin is before Delta.
    SpanBatchPreDelta,
    /// A span batch with no block after the safe head, before Holocene.
    NoNewBlocksPreHolocene,
    /// A span batch's start is not aligned to a safe block.
    MisalignedTimestamp,
    /// A span batch with no blocks.
    EmptySpanBatch,
    /// An overlapped block's transactions differ from the safe block's.
    OverlapTransactionsMismatch,
    /// An overlapped block's L1 origin differs from the safe block's.
    OverlapOriginMismatch,
}

/// The batch queue's verdict on a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchValidity {
    /// Invalid now and later (unless L1 reorgs): discard it.
    Drop(BatchDropReason),
    /// Valid: process it.
    Accept,
    /// More L1 blocks (or safe L2 data) are needed to decide.
    Undecided,
    /// Possibly valid later (before Holocene): keep it.
    Future,
    /// Holocene: entirely before the next timestamp; discard it without flushing the channel.
    Past,
}

impl BatchValidity {
    /// Whether the batch is accepted.
    pub const fn is_accept(&self) -> bool {
        matches!(self, Self::Accept)
    }

    /// Whether the batch is dropped.
    pub const fn is_drop(&self) -> bool {
        matches!(self, Self::Drop(_))
    }
}

/// The safe L2 chain below the safe head, as the span batch checks need it.
pub trait SafeChain {
    /// The safe L2 block at `number`, or `None` if not available now (the check is undecided).
    fn l2_block_ref(&self, number: u64) -> Option<L2BlockRef>;
    /// All transactions (deposits first) of the safe L2 block at `number`, or `None`.
    fn l2_block_transactions(&self, number: u64) -> Option<Vec<Bytes>>;
}

/// The result of [`check_span_batch_prefix`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanPrefixCheck {
    /// The verdict.
    pub validity: BatchValidity,
    /// The L2 block the span builds on, when it was determined.
    pub parent: Option<L2BlockRef>,
}

/// Checks a block's transactions: not empty, no deposits, set-code only from Isthmus.
fn check_transactions(
    params: &BatchValidationParams,
    timestamp: u64,
    txs: &[Bytes],
) -> Result<(), BatchDropReason> {
    for tx in txs {
        match tx.first() {
            None => return Err(BatchDropReason::EmptyTransaction),
            Some(&DEPOSIT_TX_TYPE) => return Err(BatchDropReason::DepositTransaction),
            Some(&SET_CODE_TX_TYPE) if !params.is_isthmus(timestamp) => {
                return Err(BatchDropReason::SetCodePreIsthmus);
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Checks a singular batch against the safe head and the L1 blocks from its origin on.
pub fn check_singular_batch(
    params: &BatchValidationParams,
    l1_blocks: &[L1BlockRef],
    safe_head: &L2BlockRef,
    batch: &SingularBatch,
    inclusion_block: &L1BlockRef,
) -> BatchValidity {
    use BatchDropReason as R;
    let Some(epoch) = l1_blocks.first() else {
        return BatchValidity::Undecided;
    };
    let holocene = params.is_holocene(inclusion_block.timestamp);
    let next_timestamp = safe_head.timestamp.saturating_add(params.block_time);
    if batch.timestamp > next_timestamp {
        return if holocene {
            BatchValidity::Drop(R::FutureTimestampHolocene)
        } else {
            BatchValidity::Future
        };
    }
    if batch.timestamp < next_timestamp {
        return if holocene {
            BatchValidity::Past
        } else {
            BatchValidity::Drop(R::PastTimestampPreHolocene)
        };
    }
    if batch.parent_hash != safe_head.hash {
        return BatchValidity::Drop(R::ParentHashMismatch);
    }
    if batch.epoch_num.saturating_add(params.seq_window_size) < inclusion_block.number {
        return BatchValidity::Drop(R::IncludedTooLate);
    }
    let batch_origin = if batch.epoch_num < epoch.number {
        return BatchValidity::Drop(R::EpochTooOld);
    } else if batch.epoch_num == epoch.number {
        epoch
    } else if batch.epoch_num == epoch.number + 1 {
        match l1_blocks.get(1) {
            Some(next) => next,
            None => return BatchValidity::Undecided,
        }
    } else {
        return BatchValidity::Drop(R::EpochTooFarInFuture);
    };
    if batch.epoch_hash != batch_origin.hash {
        return BatchValidity::Drop(R::EpochHashMismatch);
    }
    if batch.timestamp < batch_origin.timestamp {
        return BatchValidity::Drop(R::TimestampBeforeL1Origin);
    }
    let max = batch_origin
        .timestamp
        .saturating_add(params.max_sequencer_drift_at(batch_origin.timestamp));
    if batch.timestamp > max {
        if !batch.transactions.is_empty() {
            return BatchValidity::Drop(R::SequencerDriftExceeded);
        }
        // An empty batch past the drift may keep its origin only if the next L1 block is still
        // ahead of it in time; epoch advances are always allowed.
        if epoch.number == batch_origin.number {
            match l1_blocks.get(1) {
                None => return BatchValidity::Undecided,
                Some(next) if batch.timestamp >= next.timestamp => {
                    return BatchValidity::Drop(R::SequencerDriftNotAdoptedNextOrigin);
                }
                Some(_) => {}
            }
        }
    }
    if params.is_empty_activation_block(batch.timestamp) && !batch.transactions.is_empty() {
        return BatchValidity::Drop(R::NonEmptyTransitionBlock);
    }
    match check_transactions(params, batch.timestamp, &batch.transactions) {
        Ok(()) => BatchValidity::Accept,
        Err(reason) => BatchValidity::Drop(reason),
    }
}

/// Checks a span batch's prefix (Holocene span batch stage; first part of the full check):
/// activation, timestamps, parent check, sequencing window, L1 origin check.
pub fn check_span_batch_prefix(
    params: &BatchValidationParams,
    l1_blocks: &[L1BlockRef],
    safe_head: &L2BlockRef,
    batch: &SpanBatch,
    inclusion_block: &L1BlockRef,
    chain: &impl SafeChain,
) -> SpanPrefixCheck {
    use BatchDropReason as R;
    let verdict = |validity, parent| SpanPrefixCheck { validity, parent };
    let Some(epoch) = l1_blocks.first() else {
        return verdict(BatchValidity::Undecided, None);
    };
    let (Some(first), Some(last)) = (batch.blocks.first(), batch.blocks.last()) else {
        return verdict(BatchValidity::Drop(R::EmptySpanBatch), None);
    };
    let start_epoch = first.epoch_num;
    let batch_origin = if start_epoch == epoch.number + 1 {
        match l1_blocks.get(1) {
            Some(next) => next,
            None => return verdict(BatchValidity::Undecided, None),
        }
    } else {
        epoch
    };
    if !params.is_delta(batch_origin.timestamp) {
        return verdict(BatchValidity::Drop(R::SpanBatchPreDelta), None);
    }

    let holocene = params.is_holocene(inclusion_block.timestamp);
    let next_timestamp = safe_head.timestamp.saturating_add(params.block_time);
    if first.timestamp > next_timestamp {
        let v = if holocene {
            BatchValidity::Drop(R::FutureTimestampHolocene)
        } else {
            BatchValidity::Future
        };
        return verdict(v, None);
    }
    if last.timestamp < next_timestamp {
        let v = if holocene {
            BatchValidity::Past
        } else {
            BatchValidity::Drop(R::NoNewBlocksPreHolocene)
        };
        return verdict(v, None);
    }

    // A span overlapping the safe chain builds on an older safe block.
    let mut parent = *safe_head;
    if first.timestamp < next_timestamp {
        if first.timestamp > safe_head.timestamp || params.block_time == 0 {
            return verdict(BatchValidity::Drop(R::MisalignedTimestamp), None);
        }
        let behind = safe_head.timestamp - first.timestamp;
        if !behind.is_multiple_of(params.block_time) {
            return verdict(BatchValidity::Drop(R::MisalignedTimestamp), None);
        }
        let Some(parent_num) = safe_head.number.checked_sub(behind / params.block_time + 1) else {
            return verdict(BatchValidity::Drop(R::MisalignedTimestamp), None);
        };
        match chain.l2_block_ref(parent_num) {
            Some(p) => parent = p,
            None => return verdict(BatchValidity::Undecided, None),
        }
    }
    let with_parent = |v| verdict(v, Some(parent));
    if !batch.check_parent_hash(parent.hash) {
        return with_parent(BatchValidity::Drop(R::ParentHashMismatch));
    }
    if start_epoch.saturating_add(params.seq_window_size) < inclusion_block.number {
        return with_parent(BatchValidity::Drop(R::IncludedTooLate));
    }
    if start_epoch > parent.l1_origin.number.saturating_add(1) {
        return with_parent(BatchValidity::Drop(R::EpochTooFarInFuture));
    }
    match l1_blocks.iter().find(|b| b.number == last.epoch_num) {
        None => return with_parent(BatchValidity::Undecided),
        Some(b) if !batch.check_origin_hash(b.hash) => {
            return with_parent(BatchValidity::Drop(R::EpochHashMismatch));
        }
        Some(_) => {}
    }
    if start_epoch < parent.l1_origin.number {
        return with_parent(BatchValidity::Drop(R::EpochTooOld));
    }
    with_parent(BatchValidity::Accept)
}

/// Checks a whole span batch (pre-Holocene rules): the prefix, every new block's origin,
/// drift and transactions, and that blocks overlapping the safe chain match it.
pub fn check_span_batch(
    params: &BatchValidationParams,
    l1_blocks: &[L1BlockRef],
    safe_head: &L2BlockRef,
    batch: &SpanBatch,
    inclusion_block: &L1BlockRef,
    chain: &impl SafeChain,
) -> BatchValidity {
    use BatchDropReason as R;
    let prefix =
        check_span_batch_prefix(params, l1_blocks, safe_head, batch, inclusion_block, chain);
    let (BatchValidity::Accept, Some(parent)) = (prefix.validity, prefix.parent) else {
        return prefix.validity;
    };

    let mut origin_idx = 0;
    let mut prev_epoch = parent.l1_origin.number;
    for block in &batch.blocks {
        let origin_advanced = block.epoch_num > prev_epoch;
        prev_epoch = block.epoch_num;
        if block.timestamp <= safe_head.timestamp {
            continue;
        }
        let Some((idx, origin)) = l1_blocks
            .iter()
            .enumerate()
            .skip(origin_idx)
            .find(|(_, b)| b.number == block.epoch_num)
        else {
            return BatchValidity::Undecided;
        };
        origin_idx = idx;
        if block.timestamp < origin.timestamp {
            return BatchValidity::Drop(R::TimestampBeforeL1Origin);
        }
        let max = origin
            .timestamp
            .saturating_add(params.max_sequencer_drift_at(origin.timestamp));
        if block.timestamp > max {
            if !block.transactions.is_empty() {
                return BatchValidity::Drop(R::SequencerDriftExceeded);
            }
            if !origin_advanced {
                match l1_blocks.get(origin_idx + 1) {
                    None => return BatchValidity::Undecided,
                    Some(next) if block.timestamp >= next.timestamp => {
                        return BatchValidity::Drop(R::SequencerDriftNotAdoptedNextOrigin);
                    }
                    Some(_) => {}
                }
            }
        }
        if params.is_empty_activation_block(block.timestamp) && !block.transactions.is_empty() {
            return BatchValidity::Drop(R::NonEmptyTransitionBlock);
        }
        if let Err(reason) = check_transactions(params, block.timestamp, &block.transactions) {
            return BatchValidity::Drop(reason);
        }
    }

    // Blocks at or below the safe head must equal the safe blocks (deposits aside).
    let overlapped = safe_head.number.saturating_sub(parent.number);
    for (i, block) in batch.blocks.iter().enumerate().take(overlapped as usize) {
        let number = parent.number + 1 + i as u64;
        let (Some(safe_txs), Some(safe_ref)) = (
            chain.l2_block_transactions(number),
            chain.l2_block_ref(number),
        ) else {
            return BatchValidity::Undecided;
        };
        let user_txs: Vec<&Bytes> = safe_txs
            .iter()
            .filter(|tx| tx.first() != Some(&DEPOSIT_TX_TYPE))
            .collect();
        if user_txs.len() != block.transactions.len()
            || user_txs
                .iter()
                .zip(&block.transactions)
                .any(|(a, b)| *a != b)
        {
            return BatchValidity::Drop(R::OverlapTransactionsMismatch);
        }
        if safe_ref.l1_origin.number != block.epoch_num {
            return BatchValidity::Drop(R::OverlapOriginMismatch);
        }
    }
    BatchValidity::Accept
}
