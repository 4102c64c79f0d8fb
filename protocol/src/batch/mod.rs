//! Batches: what a channel carries, and the batch queue's checks on them.
//!
//! ```text
//! decompressed channel = rlp_string(batch) ++ rlp_string(batch) ++ ...     (reader)
//! batch = 0x00 ++ rlp([parent_hash, epoch_num, epoch_hash, timestamp, txs]) (singular)
//!       | 0x01 ++ prefix ++ payload                                          (span)
//! ```
//! Decoding never panics and never allocates more than the input can back. Checks that need
//! chain state (`validity`) take it as plain values and a small trait, so they stay pure.

#![deny(missing_docs)]

mod bits;
mod cursor;
pub mod errors;
pub mod reader;
pub mod singular;
pub mod span;
pub mod span_txs;
pub mod validity;

pub use errors::{BatchDecodeError, SpanBatchError};
pub use reader::{BatchReader, BatchReaderError};
pub use singular::SingularBatch;
pub use span::{RawSpanBatch, SpanBatch, SpanBatchContext, SpanBatchElement};
pub use span_txs::{SpanTx, SpanTxData};
pub use validity::{
    BatchDropReason, BatchValidationParams, BatchValidity, FJORD_MAX_SEQUENCER_DRIFT, SafeChain,
    SpanPrefixCheck, check_singular_batch, check_span_batch, check_span_batch_prefix,
};

/// Most blocks, and most transactions, one span batch may hold.
pub const MAX_SPAN_BATCH_ELEMENT_COUNT: u64 = 10_000_000;

/// Batch type byte of a singular batch.
pub const SINGULAR_BATCH_TYPE: u8 = 0;

/// Batch type byte of a span batch.
pub const SPAN_BATCH_TYPE: u8 = 1;

/// A batch as read from a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Batch {
    /// One L2 block (type 0).
    Singular(SingularBatch),
    /// A run of L2 blocks in wire form (type 1); derive it with [`RawSpanBatch::to_span_batch`].
    Span(RawSpanBatch),
}

impl Batch {
    /// The batch type byte.
    pub const fn batch_type(&self) -> u8 {
        match self {
            Self::Singular(_) => SINGULAR_BATCH_TYPE,
            Self::Span(_) => SPAN_BATCH_TYPE,
        }
    }

    /// Decodes `batch_type ++ payload`.
    pub fn decode(data: &[u8]) -> Result<Self, BatchDecodeError> {
        let (ty, payload) = data.split_first().ok_or(BatchDecodeError::EmptyBatch)?;
        match *ty {
            SINGULAR_BATCH_TYPE => SingularBatch::decode_payload(payload).map(Self::Singular),
            SPAN_BATCH_TYPE => RawSpanBatch::decode(payload).map(Self::Span),
            other => Err(BatchDecodeError::UnknownBatchType(other)),
        }
    }

    /// Encodes `batch_type ++ payload`.
    pub fn encode(&self) -> Result<Vec<u8>, SpanBatchError> {
        let mut out = vec![self.batch_type()];
        match self {
            Self::Singular(b) => b.encode_payload(&mut out),
            Self::Span(b) => b.encode(&mut out)?,
        }
        Ok(out)
    }

    /// Encodes the batch as one channel entry: an RLP byte string holding `batch_type ++ payload`.
    pub fn encode_channel_entry(&self) -> Result<Vec<u8>, SpanBatchError> {
        let inner = self.encode()?;
        let mut out = Vec::with_capacity(inner.len() + 9);
        alloy::rlp::Encodable::encode(&inner.as_slice(), &mut out);
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
