//! Super root v1: the commitment to the output roots of every chain of a dependency set at one
//! timestamp (specs `fault-proof/stage-one/optimism-portal.md` "Super Output" / "Super Root",
//! op-service `eth/super_root.go`).
//!
//! ```text
//!   0      1               9                  41            73
//!   | 0x01 | timestamp u64 | chainId u256 (BE) | outputRoot | chainId | outputRoot | ...
//!   |  version (1 byte)    |<-------- 64 bytes per chain, ascending chain id ----->|
//!   super_root = keccak256(all bytes)
//! ```
//! At least one chain is required. Our `ChainId` is 64 bits, so a chain id word with any of its
//! upper 24 bytes set is rejected rather than truncated.
//!
//! JSON (op-service `eth.SuperV1` MarshalJSON, as op-supernode's `superroot_atTimestamp` sends it):
//! ```text
//!   { "timestamp": "0x<hexutil.Uint64>", "chains": [ { "ChainID": "10", "Output": "0x<32 bytes>" } ] }
//! ```
//! Go's `ChainIDAndOutput` has no JSON tags, so its keys are the Go field names; lower-case
//! spellings are accepted on input. Reading goes through [`SuperV1::new`]: chains in any order are
//! sorted (Go's `NewSuperV1` sorts too), while a missing/`null`/empty `chains` or a repeated chain
//! is rejected, as it has no v1 encoding.

use alloy::primitives::{B256, keccak256};
use serde::{Deserialize, Serialize};

use crate::ChainId;
use crate::json_compat::null_as_default;

/// The version byte of a v1 super root.
pub const SUPER_ROOT_VERSION_V1: u8 = 1;

/// Bytes before the first chain entry: version byte and timestamp.
const HEADER_LEN: usize = 1 + 8;

/// Bytes per chain entry: chain id word and output root.
const ENTRY_LEN: usize = 64;

/// Why a super root cannot be built or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuperRootError {
    /// The input is empty, so it has no version byte.
    #[error("super root is empty: no version byte")]
    Empty,
    /// The version byte is not 1.
    #[error("unsupported super root version {0} at byte 0 (only v1 is defined)")]
    Version(u8),
    /// The input is shorter than version, timestamp and one chain entry.
    #[error("super root v1 is {0} bytes, shorter than the minimum of {min}", min = HEADER_LEN + ENTRY_LEN)]
    TooShort(usize),
    /// The chain entries do not fill a whole number of 64-byte entries.
    #[error("super root v1 is {0} bytes: the {rest} bytes after the timestamp are not a multiple of 64", rest = .0.saturating_sub(HEADER_LEN))]
    PartialEntry(usize),
    /// No chains were given to build a super root from.
    #[error("super root v1 needs at least one chain")]
    NoChains,
    /// A chain id word does not fit in 64 bits.
    #[error("chain id at entry {index} (byte offset {offset}) does not fit in 64 bits")]
    ChainIdTooLarge {
        /// Entry index.
        index: usize,
        /// Byte offset of the chain id word.
        offset: usize,
    },
    /// Entries are not in strictly ascending chain id order.
    #[error("chain {chain_id} at entry {index} is not above the previous entry's chain {previous}")]
    Unsorted {
        /// Entry index.
        index: usize,
        /// Chain id at that entry.
        chain_id: ChainId,
        /// Chain id of the entry before.
        previous: ChainId,
    },
    /// The same chain appears twice.
    #[error("chain {chain_id} appears more than once (entry {index})")]
    DuplicateChain {
        /// Entry index of the second occurrence.
        index: usize,
        /// The repeated chain id.
        chain_id: ChainId,
    },
}

/// One chain's output root inside a super root (Go `ChainIDAndOutput`, untagged fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OutputWithChainId {
    /// The chain.
    #[serde(rename = "ChainID", alias = "chainID", alias = "chainId")]
    pub chain_id: ChainId,
    /// Its output root at the super root's timestamp.
    #[serde(rename = "Output", alias = "output")]
    pub output_root: B256,
}

/// A v1 super root preimage: chains sorted by ascending id, each at most once, at least one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "SuperV1Json")]
pub struct SuperV1 {
    #[serde(with = "alloy::serde::quantity")]
    timestamp: u64,
    #[serde(rename = "chains")]
    outputs: Vec<OutputWithChainId>,
}

/// The JSON fields as sent, before [`SuperV1::new`] checks and sorts them.
#[derive(Deserialize)]
struct SuperV1Json {
    #[serde(with = "alloy::serde::quantity")]
    timestamp: u64,
    /// Go writes an empty slice as `null`; reading it as empty lets `new` report `NoChains`.
    #[serde(default, deserialize_with = "null_as_default")]
    chains: Vec<OutputWithChainId>,
}

impl TryFrom<SuperV1Json> for SuperV1 {
    type Error = SuperRootError;

    fn try_from(json: SuperV1Json) -> Result<Self, Self::Error> {
        Self::new(json.timestamp, json.chains)
    }
}

impl SuperV1 {
    /// Builds a super root from outputs in any order; they are sorted by chain id.
    pub fn new(
        timestamp: u64,
        mut outputs: Vec<OutputWithChainId>,
    ) -> Result<Self, SuperRootError> {
        if outputs.is_empty() {
            return Err(SuperRootError::NoChains);
        }
        outputs.sort_by_key(|o| o.chain_id);
        if let Some(index) =
            (1..outputs.len()).find(|&i| outputs[i - 1].chain_id == outputs[i].chain_id)
        {
            return Err(SuperRootError::DuplicateChain {
                index,
                chain_id: outputs[index].chain_id,
            });
        }
        Ok(Self { timestamp, outputs })
    }

    /// The L2 timestamp the super root is taken at.
    pub const fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The per-chain output roots, by ascending chain id.
    pub fn outputs(&self) -> &[OutputWithChainId] {
        &self.outputs
    }

    /// The marshaled form that is hashed into the super root.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.outputs.len() * ENTRY_LEN);
        out.push(SUPER_ROOT_VERSION_V1);
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        for o in &self.outputs {
            out.extend_from_slice(&o.chain_id.to_be_word());
            out.extend_from_slice(o.output_root.as_slice());
        }
        out
    }

    /// Parses the marshaled form, requiring canonical (strictly ascending) chain order.
    pub fn decode(bytes: &[u8]) -> Result<Self, SuperRootError> {
        let (&version, rest) = bytes.split_first().ok_or(SuperRootError::Empty)?;
        if version != SUPER_ROOT_VERSION_V1 {
            return Err(SuperRootError::Version(version));
        }
        if bytes.len() < HEADER_LEN + ENTRY_LEN {
            return Err(SuperRootError::TooShort(bytes.len()));
        }
        if !(bytes.len() - HEADER_LEN).is_multiple_of(ENTRY_LEN) {
            return Err(SuperRootError::PartialEntry(bytes.len()));
        }
        let (ts, entries) = rest.split_at(8);
        let mut ts_bytes = [0u8; 8];
        ts_bytes.copy_from_slice(ts);
        let timestamp = u64::from_be_bytes(ts_bytes);

        let mut outputs: Vec<OutputWithChainId> = Vec::with_capacity(entries.len() / ENTRY_LEN);
        for (index, entry) in entries.chunks_exact(ENTRY_LEN).enumerate() {
            let (id_word, root) = entry.split_at(32);
            let (high, low) = id_word.split_at(24);
            if high.iter().any(|&b| b != 0) {
                return Err(SuperRootError::ChainIdTooLarge {
                    index,
                    offset: HEADER_LEN + index * ENTRY_LEN,
                });
            }
            let mut id = [0u8; 8];
            id.copy_from_slice(low);
            let chain_id = ChainId(u64::from_be_bytes(id));
            if let Some(prev) = outputs.last() {
                if prev.chain_id == chain_id {
                    return Err(SuperRootError::DuplicateChain { index, chain_id });
                }
                if prev.chain_id > chain_id {
                    return Err(SuperRootError::Unsorted {
                        index,
                        chain_id,
                        previous: prev.chain_id,
                    });
                }
            }
            outputs.push(OutputWithChainId {
                chain_id,
                output_root: B256::from_slice(root),
            });
        }
        Ok(Self { timestamp, outputs })
    }

    /// The super root: keccak256 of the marshaled form.
    pub fn super_root(&self) -> B256 {
        keccak256(self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn out(id: u64, byte: u8) -> OutputWithChainId {
        OutputWithChainId {
            chain_id: ChainId(id),
            output_root: B256::repeat_byte(byte),
        }
    }

    /// The layout written out byte by byte from the spec's `encodeSuperRoot`.
    #[test]
    fn encoding_matches_spec_layout() {
        let s = SuperV1::new(7000, vec![out(13, 3), out(11, 1), out(12, 2)]).unwrap();
        let mut expected = vec![0x01];
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x1b, 0x58]); // 7000
        for (id, b) in [(11u8, 1u8), (12, 2), (13, 3)] {
            let mut word = [0u8; 32];
            word[31] = id;
            expected.extend_from_slice(&word);
            expected.extend_from_slice(&[b; 32]);
        }
        assert_eq!(s.encode(), expected);
        assert_eq!(s.super_root(), keccak256(&expected));
        assert_eq!(SuperV1::decode(&expected), Ok(s));
    }

    /// The rejection cases of op-service `eth/super_root_test.go`, plus ordering.
    #[test]
    fn rejects_malformed() {
        assert_eq!(SuperV1::decode(&[]), Err(SuperRootError::Empty));
        let mut unknown = vec![0u8; 33];
        unknown[0] = 0x0a;
        assert_eq!(
            SuperV1::decode(&unknown),
            Err(SuperRootError::Version(0x0a))
        );
        assert_eq!(SuperV1::decode(&[1, 1]), Err(SuperRootError::TooShort(2)));
        let mut no_chains = vec![1u8];
        no_chains.extend_from_slice(&134058u64.to_be_bytes());
        assert_eq!(
            SuperV1::decode(&no_chains),
            Err(SuperRootError::TooShort(9))
        );
        let mut partial = no_chains.clone();
        partial.extend_from_slice(&[0u8; 64 + 3]);
        assert_eq!(
            SuperV1::decode(&partial),
            Err(SuperRootError::PartialEntry(76))
        );

        let unsorted = SuperV1 {
            timestamp: 1,
            outputs: vec![out(12, 2), out(11, 1)],
        }
        .encode();
        assert_eq!(
            SuperV1::decode(&unsorted),
            Err(SuperRootError::Unsorted {
                index: 1,
                chain_id: ChainId(11),
                previous: ChainId(12)
            })
        );
        let dup = SuperV1 {
            timestamp: 1,
            outputs: vec![out(11, 1), out(11, 2)],
        }
        .encode();
        assert_eq!(
            SuperV1::decode(&dup),
            Err(SuperRootError::DuplicateChain {
                index: 1,
                chain_id: ChainId(11)
            })
        );
        let mut wide = SuperV1::new(1, vec![out(11, 1)]).unwrap().encode();
        wide[9] = 1;
        assert_eq!(
            SuperV1::decode(&wide),
            Err(SuperRootError::ChainIdTooLarge {
                index: 0,
                offset: 9
            })
        );
    }

    #[test]
    fn new_rejects_empty_and_duplicates() {
        assert_eq!(SuperV1::new(1, vec![]), Err(SuperRootError::NoChains));
        assert_eq!(
            SuperV1::new(1, vec![out(5, 1), out(4, 1), out(5, 2)]),
            Err(SuperRootError::DuplicateChain {
                index: 2,
                chain_id: ChainId(5)
            })
        );
    }

    /// `eth.SuperV1`'s MarshalJSON output (op-service/eth/super_root.go), chains ascending.
    const SUPER_V1_JSON: &str = concat!(
        r#"{"timestamp":"0x3e8","chains":["#,
        r#"{"ChainID":"10","Output":"0x0101010101010101010101010101010101010101010101010101010101010101"},"#,
        r#"{"ChainID":"8453","Output":"0x0202020202020202020202020202020202020202020202020202020202020202"}]}"#
    );

    #[test]
    fn json_matches_go_shape() {
        let s: SuperV1 = serde_json::from_str(SUPER_V1_JSON).unwrap();
        assert_eq!(
            s,
            SuperV1::new(1000, vec![out(8453, 2), out(10, 1)]).unwrap()
        );
        assert_eq!(serde_json::to_string(&s).unwrap(), SUPER_V1_JSON);
    }

    #[test]
    fn json_accepts_lower_case_keys_and_sorts() {
        let json = format!(
            r#"{{"timestamp":"0x3e8","chains":[{{"chainId":"8453","output":"0x{}"}},{{"chainID":"0xa","Output":"0x{}"}}]}}"#,
            "02".repeat(32),
            "01".repeat(32)
        );
        let s: SuperV1 = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), SUPER_V1_JSON);
    }

    #[test]
    fn json_rejects_what_has_no_v1_encoding() {
        let root = format!("0x{}", "01".repeat(32));
        for (json, want) in [
            (
                r#"{"timestamp":"0x1","chains":[]}"#.to_string(),
                "at least one chain",
            ),
            (
                r#"{"timestamp":"0x1","chains":null}"#.to_string(),
                "at least one chain",
            ),
            (r#"{"timestamp":"0x1"}"#.to_string(), "at least one chain"),
            (
                format!(
                    r#"{{"timestamp":"0x1","chains":[{{"ChainID":"5","Output":"{root}"}},{{"ChainID":"5","Output":"{root}"}}]}}"#
                ),
                "more than once",
            ),
        ] {
            let err = serde_json::from_str::<SuperV1>(&json).unwrap_err();
            assert!(err.to_string().contains(want), "{json}: {err}");
        }
    }

    #[test]
    fn json_rejects_bad_timestamp() {
        for bad in [r#""3e8""#, r#""0xzz""#, r#""0x10000000000000000""#, "-1"] {
            let json = format!(
                r#"{{"timestamp":{bad},"chains":[{{"ChainID":"10","Output":"0x{}"}}]}}"#,
                "01".repeat(32)
            );
            assert!(serde_json::from_str::<SuperV1>(&json).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn round_trip(
            ts in any::<u64>(),
            entries in proptest::collection::btree_map(any::<u64>(), any::<[u8; 32]>(), 1..8),
        ) {
            let mut outputs: Vec<_> = entries
                .into_iter()
                .map(|(id, root)| OutputWithChainId { chain_id: ChainId(id), output_root: B256::from(root) })
                .collect();
            outputs.reverse();
            let s = SuperV1::new(ts, outputs).unwrap();
            prop_assert!(s.outputs().windows(2).all(|w| w[0].chain_id < w[1].chain_id));
            prop_assert_eq!(SuperV1::decode(&s.encode()), Ok(s));
        }

        #[test]
        fn json_round_trip(
            ts in any::<u64>(),
            entries in proptest::collection::btree_map(any::<u64>(), any::<[u8; 32]>(), 1..8),
        ) {
            let outputs = entries
                .into_iter()
                .map(|(id, root)| OutputWithChainId { chain_id: ChainId(id), output_root: B256::from(root) })
                .collect();
            let s = SuperV1::new(ts, outputs).unwrap();
            let json = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(serde_json::from_str::<SuperV1>(&json).unwrap(), s);
        }

        #[test]
        fn json_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = serde_json::from_slice::<SuperV1>(&bytes);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = SuperV1::decode(&bytes);
        }

        #[test]
        fn decode_never_panics_on_v1_prefix(mut bytes in proptest::collection::vec(any::<u8>(), 1..400)) {
            bytes[0] = 1;
            let _ = SuperV1::decode(&bytes);
        }
    }
}
