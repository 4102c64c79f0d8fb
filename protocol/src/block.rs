//! Block references with op-node's exact JSON shapes (`eth.BlockID`, `eth.L1BlockRef`,
//! `eth.L2BlockRef`).
//!
//! ```text
//! BlockId     { hash, number }
//! L1BlockRef  { hash, number, parentHash, timestamp }
//! L2BlockRef  { hash, number, parentHash, timestamp, l1origin: BlockId, sequenceNumber }
//! ```
//! Integers are JSON numbers and hashes `0x` hex, as op-node writes them.

use alloy::primitives::B256;
use serde::{Deserialize, Serialize};

/// A block's hash and number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockId {
    /// Block hash.
    pub hash: B256,
    /// Block number.
    pub number: u64,
}

/// An L1 block as the rollup node sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L1BlockRef {
    /// Block hash.
    pub hash: B256,
    /// Block number.
    pub number: u64,
    /// Parent block hash.
    pub parent_hash: B256,
    /// Block timestamp, seconds.
    pub timestamp: u64,
}

impl L1BlockRef {
    /// The block's id.
    pub const fn id(&self) -> BlockId {
        BlockId {
            hash: self.hash,
            number: self.number,
        }
    }

    /// The parent's id (number saturates at genesis).
    pub const fn parent_id(&self) -> BlockId {
        BlockId {
            hash: self.parent_hash,
            number: self.number.saturating_sub(1),
        }
    }
}

/// An L2 block as the rollup node sees it: its L1 origin and its place in the epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L2BlockRef {
    /// Block hash.
    pub hash: B256,
    /// Block number.
    pub number: u64,
    /// Parent block hash.
    pub parent_hash: B256,
    /// Block timestamp, seconds.
    pub timestamp: u64,
    /// The L1 block this L2 block's epoch refers to.
    #[serde(rename = "l1origin")]
    pub l1_origin: BlockId,
    /// Distance to the first block of the epoch.
    pub sequence_number: u64,
}

impl L2BlockRef {
    /// The block's id.
    pub const fn id(&self) -> BlockId {
        BlockId {
            hash: self.hash,
            number: self.number,
        }
    }

    /// The parent's id (number saturates at genesis).
    pub const fn parent_id(&self) -> BlockId {
        BlockId {
            hash: self.parent_hash,
            number: self.number.saturating_sub(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l2_block_ref_json_matches_op_node() {
        let json = r#"{"hash":"0x1111111111111111111111111111111111111111111111111111111111111111","number":5,"parentHash":"0x2222222222222222222222222222222222222222222222222222222222222222","timestamp":1700000000,"l1origin":{"hash":"0x3333333333333333333333333333333333333333333333333333333333333333","number":9},"sequenceNumber":2}"#;
        let r: L2BlockRef = serde_json::from_str(json).unwrap();
        assert_eq!(r.number, 5);
        assert_eq!(r.l1_origin.number, 9);
        assert_eq!(r.sequence_number, 2);
        assert_eq!(serde_json::to_string(&r).unwrap(), json);
    }

    #[test]
    fn l1_block_ref_json_matches_op_node() {
        let json = r#"{"hash":"0x1111111111111111111111111111111111111111111111111111111111111111","number":5,"parentHash":"0x2222222222222222222222222222222222222222222222222222222222222222","timestamp":12}"#;
        let r: L1BlockRef = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), json);
        assert_eq!(r.parent_id().number, 4);
    }
}
