//! `optimism_syncStatus` response: op-node's `eth.SyncStatus` (`op-service/eth/sync_status.go`).
//!
//! ```text
//! L1 view:  finalized_l1 .. safe_l1 .. head_l1        current_l1 = derivation cursor
//! L2 heads, normally:
//!   finalized_l2 <= safe_l2 <= local_safe_l2 <= pending_safe_l2 <= unsafe_l2
//!                               cross_unsafe_l2 <= unsafe_l2
//! ```
//! Post-interop `safe_l2` is cross-safe and `unsafe_l2` is local-unsafe. Nothing here enforces
//! the ordering; `follow_check` has the checks op-node applies to a status it follows.
//!
//! Field names are op-node's snake_case JSON tags. `cross_unsafe_l2` and `local_safe_l2` came
//! with interop: older op-node versions omit both and the newest omits `cross_unsafe_l2`, so
//! they read as zero when missing (Go's behaviour); we always write them because kona-node
//! requires them. Unknown fields (e.g. the legacy `queued_unsafe_l2`) are ignored.

use serde::{Deserialize, Serialize};

use crate::{L1BlockRef, L2BlockRef};

/// A snapshot of a rollup node's L1 view and L2 heads; zeroed refs are not yet known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncStatus {
    /// L1 block the derivation pipeline is currently at.
    pub current_l1: L1BlockRef,
    /// Legacy: matches `finalized_l1` in current op-node.
    pub current_l1_finalized: L1BlockRef,
    /// Perceived L1 head, no confirmation distance.
    pub head_l1: L1BlockRef,
    /// L1 safe block.
    pub safe_l1: L1BlockRef,
    /// L1 finalized block.
    pub finalized_l1: L1BlockRef,
    /// Tip of the L2 chain (local-unsafe post-interop).
    pub unsafe_l2: L2BlockRef,
    /// L2 block derived from L1 (cross-safe post-interop).
    pub safe_l2: L2BlockRef,
    /// L2 block derived from finalized L1 data.
    pub finalized_l2: L2BlockRef,
    /// L2 block processed from batches but not yet consolidated into the safe head.
    pub pending_safe_l2: L2BlockRef,
    /// Unsafe block whose cross-L2 dependencies are verified.
    #[serde(default)]
    pub cross_unsafe_l2: L2BlockRef,
    /// L2 block derived from L1, cross-L2 dependencies not yet verified.
    #[serde(default)]
    pub local_safe_l2: L2BlockRef,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::BlockId;
    use alloy::primitives::B256;
    use proptest::prelude::*;

    /// Mirrors `eth.SyncStatus` in op-service/eth/sync_status.go (interop version, with
    /// `cross_unsafe_l2` and `local_safe_l2`): every field, in Go's field order.
    pub(crate) const SYNC_STATUS_JSON: &str = concat!(
        r#"{"current_l1":{"hash":"0x0101010101010101010101010101010101010101010101010101010101010101","number":100,"parentHash":"0x0202020202020202020202020202020202020202020202020202020202020202","timestamp":1700000100},"#,
        r#""current_l1_finalized":{"hash":"0x0303030303030303030303030303030303030303030303030303030303030303","number":90,"parentHash":"0x0404040404040404040404040404040404040404040404040404040404040404","timestamp":1700000090},"#,
        r#""head_l1":{"hash":"0x0505050505050505050505050505050505050505050505050505050505050505","number":104,"parentHash":"0x0606060606060606060606060606060606060606060606060606060606060606","timestamp":1700000104},"#,
        r#""safe_l1":{"hash":"0x0707070707070707070707070707070707070707070707070707070707070707","number":96,"parentHash":"0x0808080808080808080808080808080808080808080808080808080808080808","timestamp":1700000096},"#,
        r#""finalized_l1":{"hash":"0x0909090909090909090909090909090909090909090909090909090909090909","number":90,"parentHash":"0x0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a","timestamp":1700000090},"#,
        r#""unsafe_l2":{"hash":"0x1111111111111111111111111111111111111111111111111111111111111111","number":500,"parentHash":"0x1212121212121212121212121212121212121212121212121212121212121212","timestamp":1700001000,"l1origin":{"hash":"0x1313131313131313131313131313131313131313131313131313131313131313","number":103},"sequenceNumber":2},"#,
        r#""safe_l2":{"hash":"0x1414141414141414141414141414141414141414141414141414141414141414","number":480,"parentHash":"0x1515151515151515151515151515151515151515151515151515151515151515","timestamp":1700000960,"l1origin":{"hash":"0x1616161616161616161616161616161616161616161616161616161616161616","number":97},"sequenceNumber":0},"#,
        r#""finalized_l2":{"hash":"0x1717171717171717171717171717171717171717171717171717171717171717","number":450,"parentHash":"0x1818181818181818181818181818181818181818181818181818181818181818","timestamp":1700000900,"l1origin":{"hash":"0x1919191919191919191919191919191919191919191919191919191919191919","number":88},"sequenceNumber":5},"#,
        r#""pending_safe_l2":{"hash":"0x2020202020202020202020202020202020202020202020202020202020202020","number":490,"parentHash":"0x2121212121212121212121212121212121212121212121212121212121212121","timestamp":1700000980,"l1origin":{"hash":"0x2222222222222222222222222222222222222222222222222222222222222222","number":99},"sequenceNumber":1},"#,
        r#""cross_unsafe_l2":{"hash":"0x2323232323232323232323232323232323232323232323232323232323232323","number":498,"parentHash":"0x2424242424242424242424242424242424242424242424242424242424242424","timestamp":1700000996,"l1origin":{"hash":"0x2525252525252525252525252525252525252525252525252525252525252525","number":102},"sequenceNumber":3},"#,
        r#""local_safe_l2":{"hash":"0x2626262626262626262626262626262626262626262626262626262626262626","number":485,"parentHash":"0x2727272727272727272727272727272727272727272727272727272727272727","timestamp":1700000970,"l1origin":{"hash":"0x2828282828282828282828282828282828282828282828282828282828282828","number":98},"sequenceNumber":4}}"#,
    );

    #[test]
    fn round_trip_matches_op_node_json() {
        let s: SyncStatus = serde_json::from_str(SYNC_STATUS_JSON).unwrap();
        assert_eq!(s.current_l1.number, 100);
        assert_eq!(s.current_l1_finalized.number, 90);
        assert_eq!(s.head_l1.number, 104);
        assert_eq!(s.safe_l1.number, 96);
        assert_eq!(s.finalized_l1.timestamp, 1700000090);
        assert_eq!(s.unsafe_l2.l1_origin.number, 103);
        assert_eq!(s.safe_l2.number, 480);
        assert_eq!(s.finalized_l2.sequence_number, 5);
        assert_eq!(s.pending_safe_l2.number, 490);
        assert_eq!(s.cross_unsafe_l2.number, 498);
        assert_eq!(s.local_safe_l2.hash, B256::repeat_byte(0x26));
        assert_eq!(serde_json::to_string(&s).unwrap(), SYNC_STATUS_JSON);
    }

    #[test]
    fn unknown_fields_tolerated() {
        // `queued_unsafe_l2` is the pre-interop UnsafeL2SyncTarget tag.
        let mut v: serde_json::Value = serde_json::from_str(SYNC_STATUS_JSON).unwrap();
        let extra = v["unsafe_l2"].clone();
        v["queued_unsafe_l2"] = extra;
        v["some_future_field"] = serde_json::json!({"x": [1, 2]});
        let s: SyncStatus = serde_json::from_value(v).unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), SYNC_STATUS_JSON);
    }

    #[test]
    fn interop_heads_default_when_missing() {
        let mut v: serde_json::Value = serde_json::from_str(SYNC_STATUS_JSON).unwrap();
        let obj = v.as_object_mut().unwrap();
        obj.remove("cross_unsafe_l2");
        obj.remove("local_safe_l2");
        let s: SyncStatus = serde_json::from_value(v).unwrap();
        assert_eq!(s.cross_unsafe_l2, L2BlockRef::default());
        assert_eq!(s.local_safe_l2, L2BlockRef::default());
        assert_eq!(s.safe_l2.number, 480);
    }

    #[test]
    fn pre_interop_heads_are_required() {
        let mut v: serde_json::Value = serde_json::from_str(SYNC_STATUS_JSON).unwrap();
        v.as_object_mut().unwrap().remove("safe_l2");
        let err = serde_json::from_value::<SyncStatus>(v).unwrap_err();
        assert!(err.to_string().contains("safe_l2"), "{err}");
    }

    pub(crate) fn arb_b256() -> impl Strategy<Value = B256> {
        any::<[u8; 32]>().prop_map(B256::from)
    }

    pub(crate) fn arb_block_id() -> impl Strategy<Value = BlockId> {
        (arb_b256(), any::<u64>()).prop_map(|(hash, number)| BlockId { hash, number })
    }

    pub(crate) fn arb_l1_ref() -> impl Strategy<Value = L1BlockRef> {
        (arb_b256(), any::<u64>(), arb_b256(), any::<u64>()).prop_map(
            |(hash, number, parent_hash, timestamp)| L1BlockRef {
                hash,
                number,
                parent_hash,
                timestamp,
            },
        )
    }

    pub(crate) fn arb_l2_ref() -> impl Strategy<Value = L2BlockRef> {
        (arb_l1_ref(), arb_block_id(), any::<u64>()).prop_map(|(l1, l1_origin, sequence_number)| {
            L2BlockRef {
                hash: l1.hash,
                number: l1.number,
                parent_hash: l1.parent_hash,
                timestamp: l1.timestamp,
                l1_origin,
                sequence_number,
            }
        })
    }

    pub(crate) fn arb_sync_status() -> impl Strategy<Value = SyncStatus> {
        (
            [
                arb_l1_ref(),
                arb_l1_ref(),
                arb_l1_ref(),
                arb_l1_ref(),
                arb_l1_ref(),
            ],
            [
                arb_l2_ref(),
                arb_l2_ref(),
                arb_l2_ref(),
                arb_l2_ref(),
                arb_l2_ref(),
                arb_l2_ref(),
            ],
        )
            .prop_map(|([c, cf, h, s, f], [u, sl2, fl2, p, cu, ls])| SyncStatus {
                current_l1: c,
                current_l1_finalized: cf,
                head_l1: h,
                safe_l1: s,
                finalized_l1: f,
                unsafe_l2: u,
                safe_l2: sl2,
                finalized_l2: fl2,
                pending_safe_l2: p,
                cross_unsafe_l2: cu,
                local_safe_l2: ls,
            })
    }

    proptest! {
        #[test]
        fn json_round_trip(s in arb_sync_status()) {
            let json = serde_json::to_string(&s).unwrap();
            let back: SyncStatus = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, s);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = serde_json::from_slice::<SyncStatus>(&bytes);
        }
    }
}
