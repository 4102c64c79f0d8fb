//! Reading the batches of a decompressed channel.
//!
//! ```text
//! channel bytes: [rlp string: type ++ payload][rlp string: type ++ payload]...
//!                |<------------- at most max_rlp_bytes are read ------------>|
//! ```
//! Like op-node, only the first `max_rlp_bytes` (MAX_RLP_BYTES_PER_CHANNEL) bytes count: a batch
//! that does not end within them is an error. The first error ends the channel.

use alloy::rlp::Header;

use super::Batch;
use super::errors::BatchDecodeError;

/// A channel's batch stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchReaderError {
    /// A batch's RLP string header is malformed, is a list, or runs past the readable bytes.
    #[error("batch {index} at channel offset {offset}: bad RLP string: {reason}")]
    Rlp {
        /// Batch index in the channel.
        index: usize,
        /// Offset of the RLP header in the channel.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// A batch's contents do not decode.
    #[error("batch {index} at channel offset {offset}: {source}")]
    Batch {
        /// Batch index in the channel.
        index: usize,
        /// Offset of the RLP header in the channel.
        offset: usize,
        /// The decode error.
        source: BatchDecodeError,
    },
}

/// Iterates over the batches of a decompressed channel.
#[derive(Debug, Clone)]
pub struct BatchReader<'a> {
    data: &'a [u8],
    pos: usize,
    index: usize,
    failed: bool,
}

impl<'a> BatchReader<'a> {
    /// A reader over `data` that reads at most `max_rlp_bytes` of it.
    pub fn new(data: &'a [u8], max_rlp_bytes: usize) -> Self {
        Self {
            data: data.get(..max_rlp_bytes).unwrap_or(data),
            pos: 0,
            index: 0,
            failed: false,
        }
    }

    /// The next batch's `batch_type ++ payload` bytes, undecoded.
    pub fn next_raw(&mut self) -> Option<Result<&'a [u8], BatchReaderError>> {
        if self.failed {
            return None;
        }
        let start = self.pos;
        let rest = self.data.get(start..).filter(|r| !r.is_empty())?;
        let index = self.index;
        let mut buf = rest;
        let fail = |reason: String| BatchReaderError::Rlp {
            index,
            offset: start,
            reason,
        };
        let result = Header::decode_bytes(&mut buf, false).map_err(|e| fail(e.to_string()));
        match result {
            Ok(bytes) => {
                self.pos = start + (rest.len() - buf.len());
                self.index += 1;
                Some(Ok(bytes))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl Iterator for BatchReader<'_> {
    type Item = Result<Batch, BatchReaderError>;

    fn next(&mut self) -> Option<Self::Item> {
        let offset = self.pos;
        let index = self.index;
        let raw = match self.next_raw()? {
            Ok(raw) => raw,
            Err(e) => return Some(Err(e)),
        };
        let decoded = Batch::decode(raw).map_err(|source| BatchReaderError::Batch {
            index,
            offset,
            source,
        });
        if decoded.is_err() {
            self.failed = true;
        }
        Some(decoded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::SingularBatch;
    use alloy::primitives::B256;
    use proptest::prelude::*;

    fn entry(b: &SingularBatch) -> Vec<u8> {
        Batch::Singular(b.clone()).encode_channel_entry().unwrap()
    }

    #[test]
    fn reads_consecutive_batches_then_ends() {
        let a = SingularBatch {
            timestamp: 2,
            ..Default::default()
        };
        let b = SingularBatch {
            timestamp: 4,
            parent_hash: B256::repeat_byte(9),
            ..Default::default()
        };
        let data = [entry(&a), entry(&b)].concat();
        let got: Vec<_> = BatchReader::new(&data, usize::MAX).collect();
        assert_eq!(got, vec![Ok(Batch::Singular(a)), Ok(Batch::Singular(b))]);
    }

    #[test]
    fn limit_cuts_the_channel() {
        let a = SingularBatch {
            timestamp: 2,
            ..Default::default()
        };
        let one = entry(&a);
        let data = [one.clone(), one.clone()].concat();
        // Exactly one batch fits: the second is truncated and reported.
        let mut r = BatchReader::new(&data, one.len() + 3);
        assert_eq!(r.next(), Some(Ok(Batch::Singular(a.clone()))));
        assert!(matches!(
            r.next(),
            Some(Err(BatchReaderError::Rlp { index: 1, .. }))
        ));
        assert_eq!(r.next(), None);
        // Exactly at the limit both fit.
        assert_eq!(
            BatchReader::new(&data, data.len())
                .filter(Result::is_ok)
                .count(),
            2
        );
    }

    #[test]
    fn list_item_and_bad_type_are_errors_that_end_the_channel() {
        let mut r = BatchReader::new(&[0xc0, 0x80], usize::MAX);
        assert!(matches!(
            r.next(),
            Some(Err(BatchReaderError::Rlp { offset: 0, .. }))
        ));
        assert_eq!(r.next(), None);
        // A one-byte string 0x05: batch type 5 is unknown.
        let mut r = BatchReader::new(&[0x05], usize::MAX);
        assert!(matches!(
            r.next(),
            Some(Err(BatchReaderError::Batch {
                source: BatchDecodeError::UnknownBatchType(5),
                ..
            }))
        ));
        // An empty string holds no batch type.
        let mut r = BatchReader::new(&[0x80], usize::MAX);
        assert!(matches!(
            r.next(),
            Some(Err(BatchReaderError::Batch {
                source: BatchDecodeError::EmptyBatch,
                ..
            }))
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_channels_never_panic(
            data in proptest::collection::vec(any::<u8>(), 0..400),
            limit in 0usize..500,
        ) {
            for item in BatchReader::new(&data, limit) {
                let _ = item;
            }
        }
    }
}
