//! The simulated client's only "execution": transactions whose calldata starts with
//! [`SIM_LOG_MAGIC`] emit the logs encoded in the rest of the calldata. Everything else emits no
//! logs. This is how the devnet sequencer puts real events (e.g. CrossL2Inbox `ExecutingMessage`
//! logs from 0x4200…0022) into receipts without an EVM.
//!
//! ```text
//! calldata = "SIMLOGS1" | log* ;  log = address[20] | n_topics u8 (0..=4) | topic[32]*n
//!                                       | data_len u32 BE | data[data_len]
//! ```
//! Malformed log calldata makes the transaction fail (receipt status 0, no logs): deterministic,
//! never a panic.

use alloy::primitives::{Address, B256, Bytes, Log, LogData};

/// Calldata prefix that marks a transaction as emitting encoded logs.
pub const SIM_LOG_MAGIC: [u8; 8] = *b"SIMLOGS1";

/// Why log calldata could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimLogError {
    /// The input ends inside a log.
    #[error("log {index}: calldata ends at offset {offset} inside the {field}")]
    Truncated {
        /// Index of the log being read.
        index: usize,
        /// Offset (after the magic) where the input ran out.
        offset: usize,
        /// The field being read.
        field: &'static str,
    },
    /// More than four topics.
    #[error("log {index}: {count} topics at offset {offset}, at most 4 allowed")]
    TooManyTopics {
        /// Index of the log.
        index: usize,
        /// Offset of the count byte.
        offset: usize,
        /// The count.
        count: u8,
    },
    /// A log is too large to encode (data over u32::MAX bytes or more than 4 topics).
    #[error("log {index} cannot be encoded: {reason}")]
    Unencodable {
        /// Index of the log.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Encodes logs as calldata for a log-emitting transaction (magic included).
pub fn encode_sim_logs(logs: &[Log]) -> Result<Bytes, SimLogError> {
    let mut out = SIM_LOG_MAGIC.to_vec();
    for (index, log) in logs.iter().enumerate() {
        let topics = log.data.topics();
        let n = u8::try_from(topics.len()).ok().filter(|n| *n <= 4).ok_or(
            SimLogError::Unencodable {
                index,
                reason: "more than 4 topics",
            },
        )?;
        let len = u32::try_from(log.data.data.len()).map_err(|_| SimLogError::Unencodable {
            index,
            reason: "data over u32::MAX bytes",
        })?;
        out.extend_from_slice(log.address.as_slice());
        out.push(n);
        for t in topics {
            out.extend_from_slice(t.as_slice());
        }
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&log.data.data);
    }
    Ok(out.into())
}

/// A cursor over the log calldata that reports where it ran out.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    index: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], SimLogError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or(SimLogError::Truncated {
                index: self.index,
                offset: self.pos,
                field,
            })?;
        let out = self.data.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(out)
    }
}

/// The logs a transaction with this calldata emits: `Ok(None)` without the magic prefix.
pub fn decode_sim_logs(calldata: &[u8]) -> Result<Option<Vec<Log>>, SimLogError> {
    let Some(data) = calldata.strip_prefix(&SIM_LOG_MAGIC[..]) else {
        return Ok(None);
    };
    let mut r = Reader {
        data,
        pos: 0,
        index: 0,
    };
    let mut logs = Vec::new();
    while r.pos < data.len() {
        r.index = logs.len();
        let address = Address::from_slice(r.take(20, "address")?);
        let offset = r.pos;
        let count = r.take(1, "topic count")?.first().copied().unwrap_or(0);
        if count > 4 {
            return Err(SimLogError::TooManyTopics {
                index: r.index,
                offset,
                count,
            });
        }
        let mut topics = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            topics.push(B256::from_slice(r.take(32, "topics")?));
        }
        let len_bytes: [u8; 4] = r.take(4, "data length")?.try_into().unwrap_or([0; 4]);
        let len = u32::from_be_bytes(len_bytes) as usize;
        let data = Bytes::copy_from_slice(r.take(len, "data")?);
        logs.push(Log {
            address,
            data: LogData::new_unchecked(topics, data),
        });
    }
    Ok(Some(logs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_log() -> impl Strategy<Value = Log> {
        (
            any::<[u8; 20]>(),
            proptest::collection::vec(any::<[u8; 32]>(), 0..=4),
            proptest::collection::vec(any::<u8>(), 0..100),
        )
            .prop_map(|(a, t, d)| Log {
                address: Address::from(a),
                data: LogData::new_unchecked(t.into_iter().map(B256::from).collect(), d.into()),
            })
    }

    #[test]
    fn no_magic_no_logs() {
        assert_eq!(decode_sim_logs(b"\x12\x34\x56\x78"), Ok(None));
        assert_eq!(decode_sim_logs(&SIM_LOG_MAGIC), Ok(Some(vec![])));
    }

    #[test]
    fn truncation_is_reported() {
        let mut data = SIM_LOG_MAGIC.to_vec();
        data.extend_from_slice(&[1u8; 21]);
        assert_eq!(
            decode_sim_logs(&data),
            Err(SimLogError::Truncated {
                index: 0,
                offset: 21,
                field: "topics"
            })
        );
    }

    #[test]
    fn too_many_topics() {
        let mut data = SIM_LOG_MAGIC.to_vec();
        data.extend_from_slice(&[0u8; 20]);
        data.push(5);
        assert!(matches!(
            decode_sim_logs(&data),
            Err(SimLogError::TooManyTopics {
                index: 0,
                offset: 20,
                count: 5
            })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn round_trip(logs in proptest::collection::vec(arb_log(), 0..5)) {
            let encoded = encode_sim_logs(&logs).unwrap();
            prop_assert_eq!(decode_sim_logs(&encoded).unwrap(), Some(logs));
        }

        #[test]
        fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut data = SIM_LOG_MAGIC.to_vec();
            data.extend_from_slice(&tail);
            let _ = decode_sim_logs(&data);
            let _ = decode_sim_logs(&tail);
        }
    }
}
