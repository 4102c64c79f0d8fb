//! op-supernode's RPC responses: `supernode_syncStatus` (`eth.SuperNodeSyncStatusResponse`,
//! op-service/eth/supernode_status.go) and `superroot_atTimestamp`
//! (`eth.SuperRootAtTimestampResponse`, op-service/eth/superroot_at_timestamp.go).
//!
//! ```text
//! supernode_syncStatus  { chains: {chainId: SyncStatus}, chain_ids: [chainId], current_l1: BlockId,
//!                         safe_timestamp, local_safe_timestamp, finalized_timestamp }
//! superroot_atTimestamp { current_l1, safe_timestamp, local_safe_timestamp, finalized_timestamp,
//!                         optimistic_at_timestamp: {chainId: {output: OutputResponse|null,
//!                                                             required_l1: BlockId}},
//!                         chain_ids, data?: {verified_required_l1, super: SuperV1|null,
//!                                            super_root} }
//! ```
//! Chain ids are decimal strings (also as map keys, in Go's string order), integers JSON numbers.
//! `super` is the validated [`SuperV1`], whose JSON shape is described in [`crate::super_root`].

use std::collections::BTreeMap;

use alloy::primitives::B256;
use serde::{Deserialize, Serialize};

use crate::json_compat::{null_as_default, serialize_go_map};
use crate::super_root::SuperV1;
use crate::{BlockId, ChainId, OutputResponse, SyncStatus};

/// `supernode_syncStatus`: every chain's op-node sync status plus cross-chain minimums.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupernodeSyncStatus {
    /// Per-chain sync status.
    #[serde(
        serialize_with = "serialize_go_map",
        deserialize_with = "null_as_default"
    )]
    pub chains: BTreeMap<ChainId, SyncStatus>,
    /// The dependency set, ascending.
    #[serde(deserialize_with = "null_as_default")]
    pub chain_ids: Vec<ChainId>,
    /// Lowest L1 block every chain has fully processed.
    pub current_l1: BlockId,
    /// Lowest safe L2 timestamp over all chains.
    pub safe_timestamp: u64,
    /// Lowest local-safe L2 timestamp over all chains.
    pub local_safe_timestamp: u64,
    /// Lowest finalized L2 timestamp over all chains.
    pub finalized_timestamp: u64,
}

impl SupernodeSyncStatus {
    /// Aggregates per-chain statuses the way op-supernode's `syncstatus.Aggregate` does: each
    /// figure is the minimum over the chains, so one chain that has not started pins it to zero.
    ///
    /// op-supernode treats a zero `current_l1` as "unset" while scanning its (randomly ordered)
    /// map, so an unstarted chain may or may not pin `current_l1` to zero there; here it always
    /// does, which is the conservative reading of "processed by all chains".
    pub fn aggregate(chains: BTreeMap<ChainId, SyncStatus>) -> Self {
        let min_of = |f: fn(&SyncStatus) -> u64| chains.values().map(f).min().unwrap_or(0);
        let current_l1 = chains
            .values()
            .map(|s| s.current_l1.id())
            .min_by_key(|id| id.number)
            .unwrap_or_default();
        Self {
            chain_ids: chains.keys().copied().collect(),
            current_l1,
            safe_timestamp: min_of(|s| s.safe_l2.timestamp),
            local_safe_timestamp: min_of(|s| s.local_safe_l2.timestamp),
            finalized_timestamp: min_of(|s| s.finalized_l2.timestamp),
            chains,
        }
    }
}

/// A chain's output that would apply if verification succeeded, and the L1 block needed to
/// derive it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OutputWithRequiredL1 {
    /// The full output; Go's nil pointer is `null`.
    pub output: Option<OutputResponse>,
    /// The lowest L1 block whose data derives this output.
    pub required_l1: BlockId,
}

/// The verified super root at a timestamp.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SuperRootResponseData {
    /// The lowest L1 block with the data to verify every chain's block at the timestamp.
    pub verified_required_l1: BlockId,
    /// The super root preimage; Go's nil interface is `null` (never an empty chain list: a
    /// supernode with chains always has at least one to build the preimage from).
    #[serde(rename = "super")]
    pub super_v1: Option<SuperV1>,
    /// keccak256 of the super root preimage.
    pub super_root: B256,
}

/// `superroot_atTimestamp`: the super root at an L2 timestamp, if verified, plus the
/// supernode's progress and each chain's optimistic output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuperRootAtTimestampResponse {
    /// Lowest L1 block every chain has fully derived and verified.
    pub current_l1: BlockId,
    /// Lowest safe L2 timestamp over the dependency set.
    #[serde(rename = "safe_timestamp")]
    pub current_safe_timestamp: u64,
    /// Lowest local-safe L2 timestamp over the dependency set.
    #[serde(rename = "local_safe_timestamp")]
    pub current_local_safe_timestamp: u64,
    /// Lowest finalized L2 timestamp over the dependency set.
    #[serde(rename = "finalized_timestamp")]
    pub current_finalized_timestamp: u64,
    /// Per-chain optimistic output at the timestamp; chains may be absent when `data` is none.
    #[serde(
        serialize_with = "serialize_go_map",
        deserialize_with = "null_as_default"
    )]
    pub optimistic_at_timestamp: BTreeMap<ChainId, OutputWithRequiredL1>,
    /// The dependency set at the timestamp, ascending.
    #[serde(deserialize_with = "null_as_default")]
    pub chain_ids: Vec<ChainId>,
    /// The verified super root; omitted when not every chain is verified at the timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<SuperRootResponseData>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::super_root::OutputWithChainId;
    use crate::sync_status::tests::{SYNC_STATUS_JSON, arb_b256, arb_block_id, arb_sync_status};
    use proptest::prelude::*;

    /// Mirrors `eth.SuperNodeSyncStatusResponse` (op-service/eth/supernode_status.go): every
    /// field in Go field order, map keys in Go's string order ("11155420" before "8453").
    fn supernode_sync_status_json() -> String {
        format!(
            concat!(
                r#"{{"chains":{{"11155420":{s},"8453":{s}}},"#,
                r#""chain_ids":["8453","11155420"],"#,
                r#""current_l1":{{"hash":"0x0101010101010101010101010101010101010101010101010101010101010101","number":100}},"#,
                r#""safe_timestamp":1700000960,"local_safe_timestamp":1700000970,"finalized_timestamp":1700000900}}"#
            ),
            s = SYNC_STATUS_JSON
        )
    }

    #[test]
    fn supernode_sync_status_round_trip() {
        let json = supernode_sync_status_json();
        let r: SupernodeSyncStatus = serde_json::from_str(&json).unwrap();
        assert_eq!(
            r.chains.keys().copied().collect::<Vec<_>>(),
            vec![ChainId(8453), ChainId(11155420)]
        );
        assert_eq!(r.chain_ids, vec![ChainId(8453), ChainId(11155420)]);
        assert_eq!(r.current_l1.number, 100);
        assert_eq!(r.safe_timestamp, 1700000960);
        assert_eq!(r.local_safe_timestamp, 1700000970);
        assert_eq!(r.finalized_timestamp, 1700000900);
        assert_eq!(serde_json::to_string(&r).unwrap(), json);
    }

    #[test]
    fn supernode_sync_status_tolerates_unknown_and_null() {
        let mut v: serde_json::Value = serde_json::from_str(&supernode_sync_status_json()).unwrap();
        v["verifiers"] = serde_json::json!([]);
        let r: SupernodeSyncStatus = serde_json::from_value(v).unwrap();
        assert_eq!(r.chains.len(), 2);
        let empty: SupernodeSyncStatus = serde_json::from_str(
            r#"{"chains":null,"chain_ids":null,"current_l1":{"hash":"0x0000000000000000000000000000000000000000000000000000000000000000","number":0},"safe_timestamp":0,"local_safe_timestamp":0,"finalized_timestamp":0}"#,
        )
        .unwrap();
        assert_eq!(empty, SupernodeSyncStatus::default());
    }

    #[test]
    fn aggregate_takes_minimums() {
        let base: SyncStatus = serde_json::from_str(SYNC_STATUS_JSON).unwrap();
        let mut behind = base;
        behind.current_l1.number = 95;
        behind.safe_l2.timestamp -= 10;
        behind.local_safe_l2.timestamp -= 20;
        behind.finalized_l2.timestamp -= 30;
        let mut chains = BTreeMap::new();
        chains.insert(ChainId(11155420), base);
        chains.insert(ChainId(8453), behind);
        let agg = SupernodeSyncStatus::aggregate(chains.clone());
        assert_eq!(agg.chain_ids, vec![ChainId(8453), ChainId(11155420)]);
        assert_eq!(agg.current_l1, behind.current_l1.id());
        assert_eq!(agg.safe_timestamp, base.safe_l2.timestamp - 10);
        assert_eq!(agg.local_safe_timestamp, base.local_safe_l2.timestamp - 20);
        assert_eq!(agg.finalized_timestamp, base.finalized_l2.timestamp - 30);
        assert_eq!(agg.chains, chains);
    }

    #[test]
    fn aggregate_unstarted_chain_pins_to_zero() {
        let base: SyncStatus = serde_json::from_str(SYNC_STATUS_JSON).unwrap();
        let mut chains = BTreeMap::new();
        chains.insert(ChainId(10), base);
        chains.insert(ChainId(8453), SyncStatus::default());
        let agg = SupernodeSyncStatus::aggregate(chains);
        assert_eq!(agg.current_l1, BlockId::default());
        assert_eq!(agg.safe_timestamp, 0);
        assert_eq!(agg.finalized_timestamp, 0);
        assert_eq!(
            SupernodeSyncStatus::aggregate(BTreeMap::new()),
            SupernodeSyncStatus::default()
        );
    }

    const OUTPUT_JSON: &str = concat!(
        r#"{"version":"0x0000000000000000000000000000000000000000000000000000000000000000","#,
        r#""outputRoot":"0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","#,
        r#""blockRef":{"hash":"0x5151515151515151515151515151515151515151515151515151515151515151","number":61,"parentHash":"0x5252525252525252525252525252525252525252525252525252525252525252","timestamp":1000,"l1origin":{"hash":"0x5353535353535353535353535353535353535353535353535353535353535353","number":89},"sequenceNumber":1},"#,
        r#""withdrawalStorageRoot":"0x5454545454545454545454545454545454545454545454545454545454545454","#,
        r#""stateRoot":"0x5555555555555555555555555555555555555555555555555555555555555555","syncStatus":null}"#
    );

    /// Mirrors `eth.SuperRootAtTimestampResponse` (op-service/eth/superroot_at_timestamp.go) with
    /// `eth.OutputWithRequiredL1`, `eth.SuperRootResponseData` and `eth.SuperV1`'s MarshalJSON
    /// (op-service/eth/super_root.go): every field, Go field order, Go map-key order.
    fn super_root_at_timestamp_json() -> String {
        format!(
            concat!(
                r#"{{"current_l1":{{"hash":"0x1111111111111111111111111111111111111111111111111111111111111111","number":100}},"#,
                r#""safe_timestamp":500,"local_safe_timestamp":600,"finalized_timestamp":400,"#,
                r#""optimistic_at_timestamp":{{"#,
                r#""11155420":{{"output":null,"required_l1":{{"hash":"0x2323232323232323232323232323232323232323232323232323232323232323","number":91}}}},"#,
                r#""8453":{{"output":{out},"required_l1":{{"hash":"0x2222222222222222222222222222222222222222222222222222222222222222","number":90}}}}}},"#,
                r#""chain_ids":["8453","11155420"],"#,
                r#""data":{{"verified_required_l1":{{"hash":"0x3333333333333333333333333333333333333333333333333333333333333333","number":95}},"#,
                r#""super":{{"timestamp":"0x3e8","chains":["#,
                r#"{{"ChainID":"8453","Output":"0xa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"}},"#,
                r#"{{"ChainID":"11155420","Output":"0xa2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2"}}]}},"#,
                r#""super_root":"0x4444444444444444444444444444444444444444444444444444444444444444"}}}}"#
            ),
            out = OUTPUT_JSON
        )
    }

    #[test]
    fn super_root_at_timestamp_round_trip() {
        let json = super_root_at_timestamp_json();
        let r: SuperRootAtTimestampResponse = serde_json::from_str(&json).unwrap();
        assert_eq!(r.current_l1.number, 100);
        assert_eq!(r.current_safe_timestamp, 500);
        assert_eq!(r.current_local_safe_timestamp, 600);
        assert_eq!(r.current_finalized_timestamp, 400);
        let opt = &r.optimistic_at_timestamp[&ChainId(8453)];
        assert_eq!(opt.output.unwrap().output_root, B256::repeat_byte(0xaa));
        assert_eq!(opt.required_l1.number, 90);
        assert_eq!(r.optimistic_at_timestamp[&ChainId(11155420)].output, None);
        assert_eq!(r.chain_ids, vec![ChainId(8453), ChainId(11155420)]);
        let data = r.data.as_ref().unwrap();
        assert_eq!(data.verified_required_l1.number, 95);
        let sup = data.super_v1.as_ref().unwrap();
        assert_eq!(sup.timestamp(), 1000);
        assert_eq!(sup.outputs()[1].chain_id, ChainId(11155420));
        assert_eq!(sup.outputs()[1].output_root, B256::repeat_byte(0xa2));
        assert_eq!(data.super_root, B256::repeat_byte(0x44));
        assert_eq!(serde_json::to_string(&r).unwrap(), json);
    }

    #[test]
    fn super_root_at_timestamp_without_data_omits_it() {
        let mut v: serde_json::Value =
            serde_json::from_str(&super_root_at_timestamp_json()).unwrap();
        v.as_object_mut().unwrap().remove("data");
        let r: SuperRootAtTimestampResponse = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(r.data, None);
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
        assert!(!serde_json::to_string(&r).unwrap().contains("\"data\""));
        // Explicit null reads as absent too.
        v["data"] = serde_json::Value::Null;
        assert_eq!(
            serde_json::from_value::<SuperRootAtTimestampResponse>(v).unwrap(),
            r
        );
    }

    #[test]
    fn super_root_at_timestamp_unknown_fields_and_go_field_case() {
        let mut v: serde_json::Value =
            serde_json::from_str(&super_root_at_timestamp_json()).unwrap();
        v["verifier_l1s"] = serde_json::json!({});
        v["data"]["super"]["chains"][0] =
            serde_json::json!({"chainID": "8453", "output": format!("0x{}", "a1".repeat(32))});
        let r: SuperRootAtTimestampResponse = serde_json::from_value(v).unwrap();
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            super_root_at_timestamp_json()
        );
    }

    #[test]
    fn super_null_is_none_and_empty_chains_rejected() {
        let mut v: serde_json::Value =
            serde_json::from_str(&super_root_at_timestamp_json()).unwrap();
        v["data"]["super"] = serde_json::Value::Null;
        let r: SuperRootAtTimestampResponse = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(r.data.as_ref().unwrap().super_v1, None);
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
        for empty in [serde_json::json!([]), serde_json::Value::Null] {
            v["data"]["super"] = serde_json::json!({"timestamp": "0x3e8", "chains": empty});
            let err =
                serde_json::from_value::<SuperRootAtTimestampResponse>(v.clone()).unwrap_err();
            assert!(err.to_string().contains("at least one chain"), "{err}");
        }
    }

    fn arb_super_v1() -> impl Strategy<Value = SuperV1> {
        (
            any::<u64>(),
            proptest::collection::btree_map(any::<u64>(), arb_b256(), 1..4),
        )
            .prop_map(|(timestamp, chains)| {
                let outputs = chains
                    .into_iter()
                    .map(|(id, output_root)| OutputWithChainId {
                        chain_id: ChainId(id),
                        output_root,
                    })
                    .collect();
                SuperV1::new(timestamp, outputs).expect("distinct ids, at least one")
            })
    }

    proptest! {
        #[test]
        fn supernode_sync_status_json_round_trip(
            statuses in proptest::collection::btree_map(any::<u64>().prop_map(ChainId), arb_sync_status(), 0..3),
        ) {
            let r = SupernodeSyncStatus::aggregate(statuses);
            let back: SupernodeSyncStatus = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            prop_assert_eq!(back, r);
        }

        #[test]
        fn super_root_at_timestamp_json_round_trip(
            ts in [any::<u64>(), any::<u64>(), any::<u64>()],
            current_l1 in arb_block_id(),
            required in proptest::collection::btree_map(any::<u64>().prop_map(ChainId), arb_block_id(), 0..3),
            data in proptest::option::of((arb_block_id(), proptest::option::of(arb_super_v1()), arb_b256())),
        ) {
            let r = SuperRootAtTimestampResponse {
                current_l1,
                current_safe_timestamp: ts[0],
                current_local_safe_timestamp: ts[1],
                current_finalized_timestamp: ts[2],
                chain_ids: required.keys().copied().collect(),
                optimistic_at_timestamp: required
                    .into_iter()
                    .map(|(id, required_l1)| (id, OutputWithRequiredL1 { output: None, required_l1 }))
                    .collect(),
                data: data.map(|(verified_required_l1, super_v1, super_root)| SuperRootResponseData {
                    verified_required_l1,
                    super_v1,
                    super_root,
                }),
            };
            let back: SuperRootAtTimestampResponse = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            prop_assert_eq!(back, r);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = serde_json::from_slice::<SupernodeSyncStatus>(&bytes);
            let _ = serde_json::from_slice::<SuperRootAtTimestampResponse>(&bytes);
        }
    }
}
