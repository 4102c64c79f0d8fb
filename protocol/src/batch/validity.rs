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
    } else if Some(batch.epoch_num) == epoch.number.checked_add(1) {
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
    let batch_origin = if Some(start_epoch) == epoch.number.checked_add(1) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::SpanBatchElement;
    use crate::{BlockId, L2BlockRef};
    use alloy::primitives::{B256, FixedBytes};
    use std::collections::HashMap;

    use BatchDropReason as R;
    use BatchValidity::{Accept, Drop, Future, Past, Undecided};

    fn params() -> BatchValidationParams {
        BatchValidationParams {
            block_time: 2,
            seq_window_size: 10,
            max_sequencer_drift: 600,
            delta_time: Some(0),
            ..Default::default()
        }
    }

    fn holocene() -> BatchValidationParams {
        BatchValidationParams {
            holocene_time: Some(0),
            ..params()
        }
    }

    fn l1(number: u64, timestamp: u64) -> L1BlockRef {
        L1BlockRef {
            hash: B256::repeat_byte(number as u8),
            number,
            parent_hash: B256::repeat_byte(number as u8 - 1),
            timestamp,
        }
    }

    fn l1s() -> Vec<L1BlockRef> {
        vec![l1(10, 100), l1(11, 112), l1(12, 124)]
    }

    fn l2(number: u64, timestamp: u64, origin: u64) -> L2BlockRef {
        L2BlockRef {
            hash: B256::repeat_byte(0x80 | number as u8),
            number,
            parent_hash: B256::repeat_byte(0x80 | (number as u8 - 1)),
            timestamp,
            l1_origin: BlockId {
                hash: B256::repeat_byte(origin as u8),
                number: origin,
            },
            sequence_number: 0,
        }
    }

    fn safe_head() -> L2BlockRef {
        l2(100, 200, 10)
    }

    fn inclusion(number: u64) -> L1BlockRef {
        l1(number, 1_000)
    }

    fn user_tx() -> Bytes {
        Bytes::from_static(&[0x02, 0xc1, 0x01])
    }

    fn single() -> SingularBatch {
        SingularBatch {
            parent_hash: safe_head().hash,
            epoch_num: 10,
            epoch_hash: l1(10, 0).hash,
            timestamp: 202,
            transactions: vec![user_tx()],
        }
    }

    fn check(
        p: &BatchValidationParams,
        l1_blocks: &[L1BlockRef],
        head: &L2BlockRef,
        b: &SingularBatch,
    ) -> BatchValidity {
        check_singular_batch(p, l1_blocks, head, b, &inclusion(15))
    }

    #[test]
    fn singular_accepts_the_next_batch() {
        assert_eq!(check(&params(), &l1s(), &safe_head(), &single()), Accept);
    }

    #[test]
    fn singular_without_l1_blocks_is_undecided() {
        assert_eq!(check(&params(), &[], &safe_head(), &single()), Undecided);
    }

    #[test]
    fn singular_timestamps_future_and_past() {
        let future = SingularBatch {
            timestamp: 204,
            ..single()
        };
        assert_eq!(check(&params(), &l1s(), &safe_head(), &future), Future);
        assert_eq!(
            check(&holocene(), &l1s(), &safe_head(), &future),
            Drop(R::FutureTimestampHolocene)
        );
        let past = SingularBatch {
            timestamp: 200,
            ..single()
        };
        assert_eq!(
            check(&params(), &l1s(), &safe_head(), &past),
            Drop(R::PastTimestampPreHolocene)
        );
        assert_eq!(check(&holocene(), &l1s(), &safe_head(), &past), Past);
        // Holocene follows the inclusion block's time, not the batch's.
        let later = BatchValidationParams {
            holocene_time: Some(1_001),
            ..params()
        };
        assert_eq!(
            check(&later, &l1s(), &safe_head(), &past),
            Drop(R::PastTimestampPreHolocene)
        );
    }

    #[test]
    fn singular_parent_hash_must_be_the_safe_head() {
        let b = SingularBatch {
            parent_hash: B256::repeat_byte(1),
            ..single()
        };
        assert_eq!(
            check(&params(), &l1s(), &safe_head(), &b),
            Drop(R::ParentHashMismatch)
        );
    }

    #[test]
    fn singular_sequencing_window() {
        let p = params();
        assert_eq!(
            check_singular_batch(&p, &l1s(), &safe_head(), &single(), &inclusion(20)),
            Accept
        );
        assert_eq!(
            check_singular_batch(&p, &l1s(), &safe_head(), &single(), &inclusion(21)),
            Drop(R::IncludedTooLate)
        );
    }

    #[test]
    fn singular_epoch_rules() {
        let p = params();
        let old = SingularBatch {
            epoch_num: 9,
            epoch_hash: l1(9, 0).hash,
            ..single()
        };
        assert_eq!(check(&p, &l1s(), &safe_head(), &old), Drop(R::EpochTooOld));
        let next = SingularBatch {
            epoch_num: 11,
            epoch_hash: l1(11, 0).hash,
            ..single()
        };
        assert_eq!(check(&p, &l1s()[..1], &safe_head(), &next), Undecided);
        assert_eq!(check(&p, &l1s(), &safe_head(), &next), Accept);
        let far = SingularBatch {
            epoch_num: 12,
            epoch_hash: l1(12, 0).hash,
            ..single()
        };
        assert_eq!(
            check(&p, &l1s(), &safe_head(), &far),
            Drop(R::EpochTooFarInFuture)
        );
        let wrong = SingularBatch {
            epoch_hash: B256::repeat_byte(0x33),
            ..single()
        };
        assert_eq!(
            check(&p, &l1s(), &safe_head(), &wrong),
            Drop(R::EpochHashMismatch)
        );
        let wrong_next = SingularBatch {
            epoch_num: 11,
            ..single()
        };
        assert_eq!(
            check(&p, &l1s(), &safe_head(), &wrong_next),
            Drop(R::EpochHashMismatch)
        );
    }

    #[test]
    fn singular_timestamp_not_before_l1_origin() {
        let blocks = [l1(10, 203)];
        assert_eq!(
            check(&params(), &blocks, &safe_head(), &single()),
            Drop(R::TimestampBeforeL1Origin)
        );
        let blocks = [l1(10, 202)];
        assert_eq!(check(&params(), &blocks, &safe_head(), &single()), Accept);
    }

    #[test]
    fn singular_sequencer_drift() {
        let p = params();
        let head = l2(100, 800, 10);
        let b = SingularBatch {
            parent_hash: head.hash,
            timestamp: 802,
            ..single()
        };
        // origin 100 + drift 600 = 700 < 802
        assert_eq!(
            check(&p, &l1s(), &head, &b),
            Drop(R::SequencerDriftExceeded)
        );
        let empty = SingularBatch {
            transactions: vec![],
            ..b.clone()
        };
        assert_eq!(check(&p, &l1s()[..1], &head, &empty), Undecided);
        assert_eq!(
            check(&p, &l1s(), &head, &empty),
            Drop(R::SequencerDriftNotAdoptedNextOrigin)
        );
        let late_next = [l1(10, 100), l1(11, 900)];
        assert_eq!(check(&p, &late_next, &head, &empty), Accept);
        // Fjord's constant drift (1800) covers it.
        let fjord = BatchValidationParams {
            fjord_time: Some(0),
            ..p
        };
        assert_eq!(check(&fjord, &l1s(), &head, &b), Accept);
        // Exactly at the limit is fine.
        let at = SingularBatch {
            timestamp: 700,
            parent_hash: l2(100, 698, 10).hash,
            ..single()
        };
        assert_eq!(check(&p, &l1s(), &l2(100, 698, 10), &at), Accept);
    }

    #[test]
    fn singular_transaction_rules() {
        let p = params();
        let with = |tx: &'static [u8]| SingularBatch {
            transactions: vec![user_tx(), Bytes::from_static(tx)],
            ..single()
        };
        assert_eq!(
            check(&p, &l1s(), &safe_head(), &with(&[])),
            Drop(R::EmptyTransaction)
        );
        assert_eq!(
            check(&p, &l1s(), &safe_head(), &with(&[0x7e, 0xc0])),
            Drop(R::DepositTransaction)
        );
        assert_eq!(
            check(&p, &l1s(), &safe_head(), &with(&[0x04, 0xc0])),
            Drop(R::SetCodePreIsthmus)
        );
        let isthmus = BatchValidationParams {
            isthmus_time: Some(202),
            ..p
        };
        assert_eq!(
            check(&isthmus, &l1s(), &safe_head(), &with(&[0x04, 0xc0])),
            Accept
        );
        assert_eq!(
            check(&p, &l1s(), &safe_head(), &with(&[0x01, 0xc0])),
            Accept
        );
    }

    #[test]
    fn singular_activation_blocks_carry_no_user_transactions() {
        let jovian = BatchValidationParams {
            jovian_time: Some(201),
            ..params()
        };
        assert_eq!(
            check(&jovian, &l1s(), &safe_head(), &single()),
            Drop(R::NonEmptyTransitionBlock)
        );
        let empty = SingularBatch {
            transactions: vec![],
            ..single()
        };
        assert_eq!(check(&jovian, &l1s(), &safe_head(), &empty), Accept);
        let already = BatchValidationParams {
            jovian_time: Some(200),
            ..params()
        };
        assert_eq!(check(&already, &l1s(), &safe_head(), &single()), Accept);
        let interop = BatchValidationParams {
            interop_time: Some(202),
            ..params()
        };
        assert_eq!(
            check(&interop, &l1s(), &safe_head(), &single()),
            Drop(R::NonEmptyTransitionBlock)
        );
    }

    #[derive(Default)]
    struct Chain(HashMap<u64, (L2BlockRef, Vec<Bytes>)>);

    impl SafeChain for Chain {
        fn l2_block_ref(&self, number: u64) -> Option<L2BlockRef> {
            self.0.get(&number).map(|b| b.0)
        }
        fn l2_block_transactions(&self, number: u64) -> Option<Vec<Bytes>> {
            self.0.get(&number).map(|b| b.1.clone())
        }
    }

    fn check20(hash: B256) -> FixedBytes<20> {
        FixedBytes::from_slice(&hash[..20])
    }

    fn element(timestamp: u64, epoch_num: u64, transactions: Vec<Bytes>) -> SpanBatchElement {
        SpanBatchElement {
            timestamp,
            epoch_num,
            transactions,
        }
    }

    /// Three blocks after the safe head: epochs 10, 10, 11.
    fn span() -> SpanBatch {
        SpanBatch {
            parent_check: check20(safe_head().hash),
            l1_origin_check: check20(l1(11, 0).hash),
            first_origin_changed: false,
            blocks: vec![
                element(202, 10, vec![user_tx()]),
                element(204, 10, vec![]),
                element(206, 11, vec![user_tx()]),
            ],
        }
    }

    fn check_span(
        p: &BatchValidationParams,
        l1_blocks: &[L1BlockRef],
        head: &L2BlockRef,
        b: &SpanBatch,
        chain: &Chain,
    ) -> BatchValidity {
        check_span_batch(p, l1_blocks, head, b, &inclusion(15), chain)
    }

    fn prefix(p: &BatchValidationParams, b: &SpanBatch) -> BatchValidity {
        check_span_batch_prefix(
            p,
            &l1s(),
            &safe_head(),
            b,
            &inclusion(15),
            &Chain::default(),
        )
        .validity
    }

    #[test]
    fn span_accepts_and_reports_its_parent() {
        let c = Chain::default();
        assert_eq!(
            check_span(&params(), &l1s(), &safe_head(), &span(), &c),
            Accept
        );
        let pre =
            check_span_batch_prefix(&params(), &l1s(), &safe_head(), &span(), &inclusion(15), &c);
        assert_eq!(
            pre,
            SpanPrefixCheck {
                validity: Accept,
                parent: Some(safe_head())
            }
        );
    }

    #[test]
    fn span_prefix_inputs_and_activation() {
        let c = Chain::default();
        assert_eq!(
            check_span(&params(), &[], &safe_head(), &span(), &c),
            Undecided
        );
        let empty = SpanBatch {
            blocks: vec![],
            ..span()
        };
        assert_eq!(prefix(&params(), &empty), Drop(R::EmptySpanBatch));
        let no_delta = BatchValidationParams {
            delta_time: None,
            ..params()
        };
        assert_eq!(prefix(&no_delta, &span()), Drop(R::SpanBatchPreDelta));
        let late_delta = BatchValidationParams {
            delta_time: Some(101),
            ..params()
        };
        assert_eq!(prefix(&late_delta, &span()), Drop(R::SpanBatchPreDelta));
        // A span starting in the next epoch needs that epoch's L1 block.
        let mut next = span();
        next.blocks.iter_mut().for_each(|b| b.epoch_num = 11);
        assert_eq!(
            check_span(&params(), &l1s()[..1], &safe_head(), &next, &c),
            Undecided
        );
    }

    #[test]
    fn span_prefix_timestamps() {
        let mut future = span();
        future.blocks.iter_mut().for_each(|b| b.timestamp += 2);
        assert_eq!(prefix(&params(), &future), Future);
        assert_eq!(
            prefix(&holocene(), &future),
            Drop(R::FutureTimestampHolocene)
        );
        let mut old = span();
        old.blocks.iter_mut().for_each(|b| b.timestamp -= 8);
        assert_eq!(prefix(&params(), &old), Drop(R::NoNewBlocksPreHolocene));
        assert_eq!(prefix(&holocene(), &old), Past);
        let mut misaligned = span();
        misaligned.blocks.iter_mut().for_each(|b| b.timestamp -= 1);
        assert_eq!(prefix(&params(), &misaligned), Drop(R::MisalignedTimestamp));
        let mut off_grid = span();
        off_grid.blocks.iter_mut().for_each(|b| b.timestamp -= 3);
        assert_eq!(prefix(&params(), &off_grid), Drop(R::MisalignedTimestamp));
    }

    #[test]
    fn span_prefix_parent_window_and_origin() {
        let p = params();
        let c = Chain::default();
        let wrong_parent = SpanBatch {
            parent_check: FixedBytes::repeat_byte(9),
            ..span()
        };
        assert_eq!(prefix(&p, &wrong_parent), Drop(R::ParentHashMismatch));
        assert_eq!(
            check_span_batch_prefix(&p, &l1s(), &safe_head(), &span(), &inclusion(21), &c).validity,
            Drop(R::IncludedTooLate)
        );
        let mut far = span();
        far.blocks.iter_mut().for_each(|b| b.epoch_num = 12);
        far.l1_origin_check = check20(l1(12, 0).hash);
        assert_eq!(prefix(&p, &far), Drop(R::EpochTooFarInFuture));
        let unknown_end = SpanBatch {
            blocks: vec![
                element(202, 10, vec![]),
                element(204, 11, vec![]),
                element(206, 12, vec![]),
                element(208, 13, vec![]),
            ],
            ..span()
        };
        assert_eq!(prefix(&p, &unknown_end), Undecided);
        let wrong_origin = SpanBatch {
            l1_origin_check: FixedBytes::repeat_byte(9),
            ..span()
        };
        assert_eq!(prefix(&p, &wrong_origin), Drop(R::EpochHashMismatch));
        let mut old = span();
        old.blocks[0].epoch_num = 9;
        old.blocks[1].epoch_num = 10;
        old.blocks[2].epoch_num = 10;
        old.l1_origin_check = check20(l1(10, 0).hash);
        assert_eq!(prefix(&p, &old), Drop(R::EpochTooOld));
    }

    #[test]
    fn span_block_origin_time_and_drift() {
        let p = params();
        let c = Chain::default();
        let late_origin = [l1(10, 100), l1(11, 207), l1(12, 300)];
        assert_eq!(
            check_span(&p, &late_origin, &safe_head(), &span(), &c),
            Drop(R::TimestampBeforeL1Origin)
        );

        let head = l2(100, 800, 10);
        let drifting = SpanBatch {
            parent_check: check20(head.hash),
            l1_origin_check: check20(l1(10, 0).hash),
            first_origin_changed: false,
            blocks: vec![element(802, 10, vec![user_tx()])],
        };
        assert_eq!(
            check_span(&p, &l1s(), &head, &drifting, &c),
            Drop(R::SequencerDriftExceeded)
        );
        let empty = SpanBatch {
            blocks: vec![element(802, 10, vec![])],
            ..drifting.clone()
        };
        assert_eq!(
            check_span(&p, &l1s(), &head, &empty, &c),
            Drop(R::SequencerDriftNotAdoptedNextOrigin)
        );
        assert_eq!(check_span(&p, &l1s()[..1], &head, &empty, &c), Undecided);
        let late_next = [l1(10, 100), l1(11, 900)];
        assert_eq!(check_span(&p, &late_next, &head, &empty, &c), Accept);
        let fjord = BatchValidationParams {
            fjord_time: Some(0),
            ..p
        };
        assert_eq!(check_span(&fjord, &l1s(), &head, &drifting, &c), Accept);
    }

    #[test]
    fn span_transaction_and_activation_rules() {
        let p = params();
        let c = Chain::default();
        let with = |tx: &'static [u8]| {
            let mut s = span();
            s.blocks[2].transactions.push(Bytes::from_static(tx));
            s
        };
        assert_eq!(
            check_span(&p, &l1s(), &safe_head(), &with(&[]), &c),
            Drop(R::EmptyTransaction)
        );
        assert_eq!(
            check_span(&p, &l1s(), &safe_head(), &with(&[0x7e]), &c),
            Drop(R::DepositTransaction)
        );
        assert_eq!(
            check_span(&p, &l1s(), &safe_head(), &with(&[0x04]), &c),
            Drop(R::SetCodePreIsthmus)
        );
        let isthmus = BatchValidationParams {
            isthmus_time: Some(206),
            ..p
        };
        assert_eq!(
            check_span(&isthmus, &l1s(), &safe_head(), &with(&[0x04]), &c),
            Accept
        );
        let jovian_at_206 = BatchValidationParams {
            jovian_time: Some(205),
            ..p
        };
        assert_eq!(
            check_span(&jovian_at_206, &l1s(), &safe_head(), &span(), &c),
            Drop(R::NonEmptyTransitionBlock)
        );
        // Block 204 is empty, so a Jovian activation there is fine.
        let jovian_at_204 = BatchValidationParams {
            jovian_time: Some(204),
            ..p
        };
        assert_eq!(
            check_span(&jovian_at_204, &l1s(), &safe_head(), &span(), &c),
            Accept
        );
    }

    /// A span starting at the safe head's timestamp (block 100), building on block 99.
    fn overlapping() -> (SpanBatch, Chain) {
        let parent = l2(99, 198, 10);
        let mut chain = Chain::default();
        chain.0.insert(99, (parent, vec![]));
        chain.0.insert(
            100,
            (
                safe_head(),
                vec![Bytes::from_static(&[0x7e, 0xc0]), user_tx()],
            ),
        );
        let mut s = span();
        s.parent_check = check20(parent.hash);
        s.blocks.insert(0, element(200, 10, vec![user_tx()]));
        (s, chain)
    }

    #[test]
    fn span_overlap_matches_the_safe_chain() {
        let p = params();
        let (s, chain) = overlapping();
        assert_eq!(check_span(&p, &l1s(), &safe_head(), &s, &chain), Accept);
        let pre = check_span_batch_prefix(&p, &l1s(), &safe_head(), &s, &inclusion(15), &chain);
        assert_eq!(pre.parent, Some(l2(99, 198, 10)));

        let mut other_tx = s.clone();
        other_tx.blocks[0].transactions = vec![Bytes::from_static(&[0x02, 0xc1, 0x02])];
        assert_eq!(
            check_span(&p, &l1s(), &safe_head(), &other_tx, &chain),
            Drop(R::OverlapTransactionsMismatch)
        );
        let mut fewer = s.clone();
        fewer.blocks[0].transactions.clear();
        assert_eq!(
            check_span(&p, &l1s(), &safe_head(), &fewer, &chain),
            Drop(R::OverlapTransactionsMismatch)
        );
        let mut other_origin = s.clone();
        other_origin.blocks[0].epoch_num = 11;
        other_origin.blocks[1].epoch_num = 11;
        other_origin.blocks[2].epoch_num = 11;
        other_origin.blocks[3].epoch_num = 11;
        assert_eq!(
            check_span(&p, &l1s(), &safe_head(), &other_origin, &chain),
            Drop(R::OverlapOriginMismatch)
        );

        let mut missing_parent = Chain::default();
        missing_parent.0.insert(100, chain.0[&100].clone());
        assert_eq!(
            check_span(&p, &l1s(), &safe_head(), &s, &missing_parent),
            Undecided
        );
        let mut missing_block = Chain::default();
        missing_block.0.insert(99, chain.0[&99].clone());
        assert_eq!(
            check_span(&p, &l1s(), &safe_head(), &s, &missing_block),
            Undecided
        );
    }
}
