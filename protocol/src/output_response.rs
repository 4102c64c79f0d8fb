//! Responses of `optimism_outputAtBlock` and `optimism_safeHeadAtL1Block`
//! (`eth.OutputResponse`, `eth.SafeHeadResponse` in op-service/eth/output.go).
//!
//! ```text
//! OutputResponse   { version, outputRoot, blockRef: L2BlockRef,
//!                    withdrawalStorageRoot, stateRoot, syncStatus: SyncStatus | null }
//! SafeHeadResponse { l1Block: BlockId, safeHead: BlockId }
//! ```
//! `version` is the 32-byte output version (all zero for v0), hashes are `0x` hex.
//! `optimism_version` returns a bare JSON string and needs no type.

use alloy::primitives::B256;
use serde::{Deserialize, Serialize};

use crate::{BlockId, L2BlockRef, SyncStatus};

/// An L2 output root with the block and roots it commits to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputResponse {
    /// Output version as 32 bytes (v0 = zero).
    pub version: B256,
    /// The output root.
    pub output_root: B256,
    /// The L2 block the output is taken at.
    pub block_ref: L2BlockRef,
    /// Storage root of the L2ToL1MessagePasser account (the "messagePasserStorageRoot").
    pub withdrawal_storage_root: B256,
    /// State root of the block.
    pub state_root: B256,
    /// The node's sync status when it answered; Go's nil pointer is `null`.
    pub sync_status: Option<SyncStatus>,
}

/// The L2 safe head a node had once it processed a given L1 block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SafeHeadResponse {
    /// The L1 block, at or before the one asked for, the safe head was recorded at.
    pub l1_block: BlockId,
    /// The L2 safe head at that L1 block.
    pub safe_head: BlockId,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync_status::tests::{SYNC_STATUS_JSON, arb_b256, arb_block_id, arb_l2_ref};
    use proptest::prelude::*;

    const BLOCK_REF: &str = r#"{"hash":"0x3131313131313131313131313131313131313131313131313131313131313131","number":480,"parentHash":"0x3232323232323232323232323232323232323232323232323232323232323232","timestamp":1700000960,"l1origin":{"hash":"0x3333333333333333333333333333333333333333333333333333333333333333","number":97},"sequenceNumber":0}"#;

    /// Mirrors `eth.OutputResponse` in op-service/eth/output.go: every field, Go field order.
    fn output_json(sync_status: &str) -> String {
        format!(
            concat!(
                r#"{{"version":"0x0000000000000000000000000000000000000000000000000000000000000000","#,
                r#""outputRoot":"0x3434343434343434343434343434343434343434343434343434343434343434","#,
                r#""blockRef":{},"#,
                r#""withdrawalStorageRoot":"0x3535353535353535353535353535353535353535353535353535353535353535","#,
                r#""stateRoot":"0x3636363636363636363636363636363636363636363636363636363636363636","#,
                r#""syncStatus":{}}}"#
            ),
            BLOCK_REF, sync_status
        )
    }

    #[test]
    fn output_response_round_trip() {
        let json = output_json(SYNC_STATUS_JSON);
        let r: OutputResponse = serde_json::from_str(&json).unwrap();
        assert_eq!(r.version, B256::ZERO);
        assert_eq!(r.output_root, B256::repeat_byte(0x34));
        assert_eq!(r.block_ref.number, 480);
        assert_eq!(r.withdrawal_storage_root, B256::repeat_byte(0x35));
        assert_eq!(r.state_root, B256::repeat_byte(0x36));
        assert_eq!(r.sync_status.unwrap().safe_l2.number, 480);
        assert_eq!(serde_json::to_string(&r).unwrap(), json);
    }

    #[test]
    fn output_response_null_sync_status() {
        let json = output_json("null");
        let r: OutputResponse = serde_json::from_str(&json).unwrap();
        assert_eq!(r.sync_status, None);
        assert_eq!(serde_json::to_string(&r).unwrap(), json);
        // A source that leaves the field out entirely reads the same.
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v.as_object_mut().unwrap().remove("syncStatus");
        assert_eq!(serde_json::from_value::<OutputResponse>(v).unwrap(), r);
    }

    #[test]
    fn output_response_unknown_fields_tolerated() {
        let json = output_json("null");
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["messagePasserStorageRoot"] = serde_json::json!("0x00");
        let r: OutputResponse = serde_json::from_value(v).unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), json);
    }

    /// Mirrors `eth.SafeHeadResponse` in op-service/eth/output.go.
    const SAFE_HEAD_JSON: &str = r#"{"l1Block":{"hash":"0x4141414141414141414141414141414141414141414141414141414141414141","number":97},"safeHead":{"hash":"0x4242424242424242424242424242424242424242424242424242424242424242","number":480}}"#;

    #[test]
    fn safe_head_response_round_trip() {
        let r: SafeHeadResponse = serde_json::from_str(SAFE_HEAD_JSON).unwrap();
        assert_eq!(r.l1_block.number, 97);
        assert_eq!(r.safe_head.number, 480);
        assert_eq!(serde_json::to_string(&r).unwrap(), SAFE_HEAD_JSON);
        let mut v: serde_json::Value = serde_json::from_str(SAFE_HEAD_JSON).unwrap();
        v["extra"] = serde_json::json!(true);
        assert_eq!(serde_json::from_value::<SafeHeadResponse>(v).unwrap(), r);
    }

    proptest! {
        #[test]
        fn output_response_json_round_trip(
            roots in [arb_b256(), arb_b256(), arb_b256(), arb_b256()],
            block_ref in arb_l2_ref(),
        ) {
            let r = OutputResponse {
                version: roots[0],
                output_root: roots[1],
                block_ref,
                withdrawal_storage_root: roots[2],
                state_root: roots[3],
                sync_status: None,
            };
            let back: OutputResponse = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            prop_assert_eq!(back, r);
        }

        #[test]
        fn safe_head_json_round_trip(l1_block in arb_block_id(), safe_head in arb_block_id()) {
            let r = SafeHeadResponse { l1_block, safe_head };
            let back: SafeHeadResponse = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            prop_assert_eq!(back, r);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = serde_json::from_slice::<OutputResponse>(&bytes);
            let _ = serde_json::from_slice::<SafeHeadResponse>(&bytes);
        }
    }
}
