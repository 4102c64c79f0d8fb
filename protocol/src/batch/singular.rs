//! Singular batches (batch type 0): one L2 block's inputs.
//!
//! ```text
//! payload = rlp([parent_hash, epoch_num, epoch_hash, timestamp, [tx, ...]])
//! ```
//! Each `tx` is an EIP-2718 encoded transaction. Decoding is strict like op-node's: the list holds
//! exactly these five items and every item is canonical RLP. Bytes after the list are ignored, as
//! op-node reads one RLP value from the batch payload.

use alloy::primitives::{B256, Bytes};
use alloy::rlp::{Decodable, Encodable, Header};

use super::errors::BatchDecodeError;
use crate::BlockId;

/// The inputs of one L2 block as the sequencer batched them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SingularBatch {
    /// Hash of the L2 block this batch builds on.
    pub parent_hash: B256,
    /// Number of the L1 origin (epoch) block.
    pub epoch_num: u64,
    /// Hash of the L1 origin (epoch) block.
    pub epoch_hash: B256,
    /// L2 block timestamp, seconds.
    pub timestamp: u64,
    /// EIP-2718 encoded sequencer transactions (no deposits).
    pub transactions: Vec<Bytes>,
}

impl SingularBatch {
    /// The batch's L1 origin.
    pub const fn epoch(&self) -> BlockId {
        BlockId {
            hash: self.epoch_hash,
            number: self.epoch_num,
        }
    }

    fn fields_len(&self) -> usize {
        self.parent_hash.length()
            + self.epoch_num.length()
            + self.epoch_hash.length()
            + self.timestamp.length()
            + self.transactions.length()
    }

    /// Appends the RLP payload (without the batch type byte).
    pub fn encode_payload(&self, out: &mut Vec<u8>) {
        Header {
            list: true,
            payload_length: self.fields_len(),
        }
        .encode(out);
        self.parent_hash.encode(out);
        self.epoch_num.encode(out);
        self.epoch_hash.encode(out);
        self.timestamp.encode(out);
        self.transactions.encode(out);
    }

    /// Decodes the RLP payload (without the batch type byte).
    pub fn decode_payload(data: &[u8]) -> Result<Self, BatchDecodeError> {
        let mut buf = data;
        let at = |buf: &[u8], reason: String| BatchDecodeError::SingularRlp {
            offset: data.len() - buf.len(),
            reason,
        };
        let header = Header::decode(&mut buf).map_err(|e| at(buf, format!("list header: {e}")))?;
        if !header.list {
            return Err(at(data, "expected a list, found a byte string".into()));
        }
        let mut fields = buf
            .get(..header.payload_length)
            .ok_or_else(|| at(buf, "list shorter than its header says".into()))?;
        let parent_hash =
            B256::decode(&mut fields).map_err(|e| at(fields, format!("parent_hash: {e}")))?;
        let epoch_num =
            u64::decode(&mut fields).map_err(|e| at(fields, format!("epoch_num: {e}")))?;
        let epoch_hash =
            B256::decode(&mut fields).map_err(|e| at(fields, format!("epoch_hash: {e}")))?;
        let timestamp =
            u64::decode(&mut fields).map_err(|e| at(fields, format!("timestamp: {e}")))?;
        let transactions = Vec::<Bytes>::decode(&mut fields)
            .map_err(|e| at(fields, format!("transactions: {e}")))?;
        if !fields.is_empty() {
            return Err(at(
                fields,
                format!(
                    "{} bytes of extra list items after transactions",
                    fields.len()
                ),
            ));
        }
        Ok(Self {
            parent_hash,
            epoch_num,
            epoch_hash,
            timestamp,
            transactions,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> SingularBatch {
        SingularBatch {
            parent_hash: B256::repeat_byte(1),
            epoch_num: 77,
            epoch_hash: B256::repeat_byte(2),
            timestamp: 1_700_000_000,
            transactions: vec![
                Bytes::from_static(&[0x02, 0xc0]),
                Bytes::from_static(&[0xc0]),
            ],
        }
    }

    #[test]
    fn encodes_as_a_five_item_list() {
        let mut out = Vec::new();
        sample().encode_payload(&mut out);
        // 0xf8 len | 0xa0 parent | 0x4d | 0xa0 epoch hash | 0x84 ts | 0xc6 [0x82 02c0, 0x81 c0]
        assert_eq!(out[0], 0xf8);
        assert_eq!(out[2], 0xa0);
        assert_eq!(out[35], 77);
        assert_eq!(SingularBatch::decode_payload(&out).unwrap(), sample());
    }

    #[test]
    fn extra_and_missing_items_are_errors() {
        let b = sample();
        let mut fields = Vec::new();
        b.parent_hash.encode(&mut fields);
        b.epoch_num.encode(&mut fields);
        b.epoch_hash.encode(&mut fields);
        b.timestamp.encode(&mut fields);
        let mut short = Vec::new();
        Header {
            list: true,
            payload_length: fields.len(),
        }
        .encode(&mut short);
        short.extend_from_slice(&fields);
        assert!(matches!(
            SingularBatch::decode_payload(&short),
            Err(BatchDecodeError::SingularRlp { .. })
        ));
        b.transactions.encode(&mut fields);
        1u8.encode(&mut fields);
        let mut long = Vec::new();
        Header {
            list: true,
            payload_length: fields.len(),
        }
        .encode(&mut long);
        long.extend_from_slice(&fields);
        let err = SingularBatch::decode_payload(&long).unwrap_err();
        assert!(err.to_string().contains("extra list items"), "{err}");
    }

    #[test]
    fn byte_string_is_not_a_batch() {
        assert!(SingularBatch::decode_payload(&[0x82, 1, 2]).is_err());
        assert!(SingularBatch::decode_payload(&[]).is_err());
    }

    pub(crate) fn arb_singular() -> impl Strategy<Value = SingularBatch> {
        (
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<[u8; 32]>(),
            any::<u64>(),
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..6),
        )
            .prop_map(|(p, n, h, t, txs)| SingularBatch {
                parent_hash: B256::from(p),
                epoch_num: n,
                epoch_hash: B256::from(h),
                timestamp: t,
                transactions: txs.into_iter().map(Bytes::from).collect(),
            })
    }

    proptest! {
        #[test]
        fn round_trip(b in arb_singular()) {
            let mut out = Vec::new();
            b.encode_payload(&mut out);
            prop_assert_eq!(SingularBatch::decode_payload(&out).unwrap(), b);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = SingularBatch::decode_payload(&data);
        }
    }
}
