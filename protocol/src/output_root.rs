//! Output root v0: the commitment to one L2 block that proposals, `optimism_outputAtBlock` and
//! super roots carry (specs `protocol/proposals.md`, "L2 Output Commitment Construction").
//!
//! ```text
//!   0        32          64                          96          128
//!   | version | stateRoot | messagePasserStorageRoot | blockHash |
//!   | 0x00..00|           | (L2ToL1MessagePasser)    |           |
//!   output_root = keccak256(all 128 bytes)
//! ```

use alloy::primitives::{B256, keccak256};
use serde::{Deserialize, Serialize};

/// The `L2ToL1MessagePasser` predeploy whose storage root the output commits to.
pub use op_alloy_consensus::L2_TO_L1_MESSAGE_PASSER_ADDRESS;

/// Length of a marshaled v0 output.
pub const OUTPUT_V0_LEN: usize = 128;

/// The version word of a v0 output: 32 zero bytes.
pub const OUTPUT_VERSION_V0: B256 = B256::ZERO;

/// Why bytes are not a v0 output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputRootError {
    /// The input is not exactly 128 bytes.
    #[error("output v0 must be {OUTPUT_V0_LEN} bytes, got {0}")]
    Length(usize),
    /// The version word (bytes 0..32) is not zero.
    #[error("unsupported output version {0} at bytes 0..32 (only v0, all zero, is defined)")]
    Version(B256),
}

/// The preimage of an output root v0, with op-node's JSON field names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputV0 {
    /// State root of the L2 block.
    pub state_root: B256,
    /// Storage root of the `L2ToL1MessagePasser` account at that block.
    pub message_passer_storage_root: B256,
    /// Hash of the L2 block.
    pub block_hash: B256,
}

impl OutputV0 {
    /// The 128-byte marshaled form: version word, state root, storage root, block hash.
    pub fn encode(&self) -> [u8; OUTPUT_V0_LEN] {
        let mut out = [0u8; OUTPUT_V0_LEN];
        out[32..64].copy_from_slice(self.state_root.as_slice());
        out[64..96].copy_from_slice(self.message_passer_storage_root.as_slice());
        out[96..128].copy_from_slice(self.block_hash.as_slice());
        out
    }

    /// Parses the 128-byte marshaled form.
    pub fn decode(bytes: &[u8]) -> Result<Self, OutputRootError> {
        let bytes: &[u8; OUTPUT_V0_LEN] = bytes
            .try_into()
            .map_err(|_| OutputRootError::Length(bytes.len()))?;
        let word = |i: usize| B256::from_slice(&bytes[i * 32..(i + 1) * 32]);
        let version = word(0);
        if version != OUTPUT_VERSION_V0 {
            return Err(OutputRootError::Version(version));
        }
        Ok(Self {
            state_root: word(1),
            message_passer_storage_root: word(2),
            block_hash: word(3),
        })
    }

    /// The output root: keccak256 of the marshaled form.
    pub fn output_root(&self) -> B256 {
        keccak256(self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{address, b256};
    use proptest::prelude::*;

    #[test]
    fn message_passer_address_matches_spec() {
        assert_eq!(
            L2_TO_L1_MESSAGE_PASSER_ADDRESS,
            address!("0x4200000000000000000000000000000000000016")
        );
    }

    /// Known answer from op-rs/kona `crates/protocol/protocol/src/output_root.rs`
    /// (`test_hash_output_root`, `test_encode_output_root`).
    #[test]
    fn kona_known_answer() {
        let out = OutputV0 {
            state_root: B256::left_padding_from(&[0xbe, 0xef]),
            message_passer_storage_root: B256::left_padding_from(&[0xba, 0xbe]),
            block_hash: B256::left_padding_from(&[0xc0, 0xde]),
        };
        let mut expected = [0u8; 128];
        expected[62..64].copy_from_slice(&[0xbe, 0xef]);
        expected[94..96].copy_from_slice(&[0xba, 0xbe]);
        expected[126..128].copy_from_slice(&[0xc0, 0xde]);
        assert_eq!(out.encode(), expected);
        assert_eq!(
            out.output_root(),
            b256!("0c39fb6b07cf6694b13e63e59f7b15255be1c93a4d6d3e0da6c99729647c0d11")
        );
    }

    /// JSON shape from ethereum-optimism/optimism `op-service/eth/testdata/output_v0.json`.
    #[test]
    fn op_service_json_shape() {
        let json = r#"{"stateRoot":"0x0102030000000000000000000000000000000000000000000000000000000000","messagePasserStorageRoot":"0x0405060000000000000000000000000000000000000000000000000000000000","blockHash":"0x0708090000000000000000000000000000000000000000000000000000000000"}"#;
        let out: OutputV0 = serde_json::from_str(json).unwrap();
        assert_eq!(out.state_root[..3], [1, 2, 3]);
        assert_eq!(out.message_passer_storage_root[..3], [4, 5, 6]);
        assert_eq!(out.block_hash[..3], [7, 8, 9]);
        assert_eq!(serde_json::to_string(&out).unwrap(), json);
    }

    #[test]
    fn output_root_is_keccak_of_the_concatenation() {
        let out = OutputV0 {
            state_root: B256::repeat_byte(0x11),
            message_passer_storage_root: B256::repeat_byte(0x22),
            block_hash: B256::repeat_byte(0x33),
        };
        let mut pre = vec![0u8; 32];
        pre.extend_from_slice(&[0x11; 32]);
        pre.extend_from_slice(&[0x22; 32]);
        pre.extend_from_slice(&[0x33; 32]);
        assert_eq!(out.output_root(), keccak256(&pre));
    }

    #[test]
    fn rejects_bad_version_and_length() {
        let mut bytes = [0u8; 128];
        bytes[31] = 1;
        assert_eq!(
            OutputV0::decode(&bytes),
            Err(OutputRootError::Version(B256::with_last_byte(1)))
        );
        assert_eq!(
            OutputV0::decode(&bytes[..127]),
            Err(OutputRootError::Length(127))
        );
        assert_eq!(OutputV0::decode(&[]), Err(OutputRootError::Length(0)));
    }

    proptest! {
        #[test]
        fn round_trip(s in any::<[u8; 32]>(), m in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
            let out = OutputV0 {
                state_root: B256::from(s),
                message_passer_storage_root: B256::from(m),
                block_hash: B256::from(b),
            };
            prop_assert_eq!(OutputV0::decode(&out.encode()), Ok(out));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = OutputV0::decode(&bytes);
        }
    }
}
