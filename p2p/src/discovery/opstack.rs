//! op-node's `opstack` ENR entry: which OP chain a discovery record belongs to.
//!
//! ```text
//!   ENR key "opstack" = RLP byte string( uvarint(chain id) | uvarint(version = 0) )
//!   chain 10:        0x82 0x0a 0x00
//! ```
//! uvarint is Go's `binary.PutUvarint`: 7 bits per byte, least significant group first, high
//! bit set on every byte but the last. Readers ignore bytes after the two varints (op-node
//! reserves them for later versions).

use alloy::rlp::Header;
use opfleet_protocol::ChainId;

/// The ENR key of the entry.
pub const OPSTACK_ENR_KEY: &str = "opstack";

/// The only version op-node advertises and accepts.
pub const OPSTACK_ENR_VERSION: u64 = 0;

/// Longest uvarint of a u64 (Go's `binary.MaxVarintLen64`).
const MAX_UVARINT_LEN: usize = 10;

/// The content of an `opstack` ENR entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpStackEnr {
    /// The L2 chain the node gossips blocks of.
    pub chain_id: ChainId,
    /// Entry version (0).
    pub version: u64,
}

/// An `opstack` entry that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpStackEnrError {
    /// The value is not one RLP byte string.
    #[error("opstack ENR entry: not an RLP byte string: {0}")]
    Rlp(String),
    /// A varint runs past the end of the entry.
    #[error("opstack ENR entry: {field} varint truncated at byte offset {offset}")]
    Truncated {
        /// `chain id` or `version`.
        field: &'static str,
        /// Where the string ended.
        offset: usize,
    },
    /// A varint longer than 64 bits.
    #[error("opstack ENR entry: {field} varint at byte offset {offset} overflows 64 bits")]
    Overflow {
        /// `chain id` or `version`.
        field: &'static str,
        /// Where the varint starts.
        offset: usize,
    },
}

fn put_uvarint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads one uvarint at `*offset` (Go's `binary.ReadUvarint` rules), advancing the offset.
fn read_uvarint(
    bytes: &[u8],
    offset: &mut usize,
    field: &'static str,
) -> Result<u64, OpStackEnrError> {
    let start = *offset;
    let mut value: u64 = 0;
    for i in 0..MAX_UVARINT_LEN {
        let Some(&b) = bytes.get(start + i) else {
            return Err(OpStackEnrError::Truncated {
                field,
                offset: bytes.len(),
            });
        };
        // The tenth byte may only carry the single top bit.
        if i == MAX_UVARINT_LEN - 1 && b > 1 {
            return Err(OpStackEnrError::Overflow {
                field,
                offset: start,
            });
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            *offset = start + i + 1;
            return Ok(value);
        }
    }
    Err(OpStackEnrError::Overflow {
        field,
        offset: start,
    })
}

impl OpStackEnr {
    /// The version-0 entry of `chain_id`.
    pub const fn new(chain_id: ChainId) -> Self {
        Self {
            chain_id,
            version: OPSTACK_ENR_VERSION,
        }
    }

    /// The entry's content before RLP: the two uvarints.
    pub fn to_varints(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 * MAX_UVARINT_LEN);
        put_uvarint(&mut out, u64::from(self.chain_id));
        put_uvarint(&mut out, self.version);
        out
    }

    /// The entry's value as stored in the ENR: the varints as one RLP byte string.
    pub fn to_rlp(&self) -> Vec<u8> {
        let varints = self.to_varints();
        let mut out = Vec::with_capacity(varints.len() + 1);
        alloy::rlp::Encodable::encode(varints.as_slice(), &mut out);
        out
    }

    /// Reads the entry's RLP value (trailing bytes inside the string are allowed, as in op-node).
    pub fn from_rlp(rlp: &[u8]) -> Result<Self, OpStackEnrError> {
        let mut buf = rlp;
        let header = Header::decode(&mut buf).map_err(|e| OpStackEnrError::Rlp(e.to_string()))?;
        if header.list {
            return Err(OpStackEnrError::Rlp(
                "a list, expected a byte string".into(),
            ));
        }
        let content = buf
            .get(..header.payload_length)
            .ok_or_else(|| OpStackEnrError::Rlp("string longer than the value".into()))?;
        let mut offset = 0;
        let chain_id = read_uvarint(content, &mut offset, "chain id")?;
        let version = read_uvarint(content, &mut offset, "version")?;
        Ok(Self {
            chain_id: ChainId::from(chain_id),
            version,
        })
    }

    /// op-node's filter: the entry is for `chain_id` and is version 0.
    pub fn matches(&self, chain_id: ChainId) -> bool {
        self.chain_id == chain_id && self.version == OPSTACK_ENR_VERSION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_bytes_from_op_node_layout() {
        // chain 10: uvarint 10 = 0x0a, version 0 = 0x00; RLP string of 2 bytes: 0x80 + 2.
        let op_mainnet = OpStackEnr::new(ChainId::from(10u64));
        assert_eq!(op_mainnet.to_rlp(), [0x82, 0x0a, 0x00]);
        // chain 11155420 = 5*128^3 + 40*128^2 + 111*128 + 92: groups 92, 111, 40, 5 low first,
        // continuation bit on all but the last: 0xdc 0xef 0xa8 0x05, then version 0x00.
        let sepolia = OpStackEnr::new(ChainId::from(11_155_420u64));
        assert_eq!(sepolia.to_rlp(), [0x85, 0xdc, 0xef, 0xa8, 0x05, 0x00]);
        assert_eq!(
            OpStackEnr::from_rlp(&[0x85, 0xdc, 0xef, 0xa8, 0x05, 0x00]),
            Ok(sepolia)
        );
        // A single byte below 0x80 is its own RLP string: chain 0 cannot be, version 1 is.
        assert_eq!(
            OpStackEnr::from_rlp(&[0x82, 0x0a, 0x01]),
            Ok(OpStackEnr {
                chain_id: ChainId::from(10u64),
                version: 1
            })
        );
        // u64::MAX: nine 0xff bytes and 0x01.
        let max = OpStackEnr::new(ChainId::from(u64::MAX));
        let mut expected = vec![0x8b];
        expected.extend([0xff; 9]);
        expected.extend([0x01, 0x00]);
        assert_eq!(max.to_rlp(), expected);
    }

    #[test]
    fn filter_and_errors() {
        let e = OpStackEnr::from_rlp(&[0x82, 0x0a, 0x00]).unwrap();
        assert!(e.matches(ChainId::from(10u64)));
        assert!(!e.matches(ChainId::from(11u64)));
        let v1 = OpStackEnr::from_rlp(&[0x82, 0x0a, 0x01]).unwrap();
        assert!(!v1.matches(ChainId::from(10u64)));
        // Trailing bytes are tolerated.
        assert_eq!(OpStackEnr::from_rlp(&[0x83, 0x0a, 0x00, 0x07]), Ok(e));
        assert_eq!(
            OpStackEnr::from_rlp(&[0x81, 0x8a]),
            Err(OpStackEnrError::Truncated {
                field: "chain id",
                offset: 1
            })
        );
        assert_eq!(
            OpStackEnr::from_rlp(&[0x0a]),
            Err(OpStackEnrError::Truncated {
                field: "version",
                offset: 1
            })
        );
        let mut overflow = vec![0x8b];
        overflow.extend([0xff; 9]);
        overflow.extend([0x02, 0x00]);
        assert!(matches!(
            OpStackEnr::from_rlp(&overflow),
            Err(OpStackEnrError::Overflow { offset: 0, .. })
        ));
        assert!(matches!(
            OpStackEnr::from_rlp(&[0xc2, 0x0a, 0x00]),
            Err(OpStackEnrError::Rlp(_))
        ));
        assert!(matches!(
            OpStackEnr::from_rlp(&[0x85, 0x0a]),
            Err(OpStackEnrError::Rlp(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn round_trips(chain in 0u64.., version in 0u64..) {
            let e = OpStackEnr { chain_id: ChainId::from(chain), version };
            proptest::prop_assert_eq!(OpStackEnr::from_rlp(&e.to_rlp()), Ok(e));
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(0u8.., 0..32)) {
            let _ = OpStackEnr::from_rlp(&bytes);
        }
    }
}
