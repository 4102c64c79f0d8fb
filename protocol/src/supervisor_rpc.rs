//! The op-supervisor responses the supernode still serves (specs `interop/supervisor.md`,
//! op-service/eth/supervisor_status.go, op-service/eth/super_root.go, op-supervisor's
//! `types.DerivedIDPair`).
//!
//! ```text
//! supervisor_syncStatus           { minSyncedL1: L1BlockRef, safeTimestamp, finalizedTimestamp,
//!                                   chains: {chainId: {localUnsafe: BlockRef, localSafe,
//!                                                      crossUnsafe, safe, finalized: BlockId}} }
//! supervisor_superRootAtTimestamp { crossSafeDerivedFrom: BlockId, timestamp: "0x<hex>",
//!                                   superRoot, version: "0x01",
//!                                   chains: [{chainID, canonical, pending: "0x<bytes>"}] }
//! supervisor_crossSafe            { source: BlockId, derived: BlockId }
//! supervisor_finalized            BlockId
//! ```
//! `safe` in the per-chain status is cross-safe (Go keeps the old name). The spec calls chain
//! ids hex, but Go's `eth.ChainID` writes decimal strings; we write decimal and read either.

use std::collections::BTreeMap;

use alloy::primitives::{B256, Bytes};
use serde::{Deserialize, Serialize};

use crate::json_compat::{null_as_default, one_byte_hex, serialize_go_map};
use crate::super_root::{OutputWithChainId, SUPER_ROOT_VERSION_V1, SuperRootError, SuperV1};
use crate::{BlockId, ChainId, L1BlockRef};

/// One chain's heads as the supervisor sees them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupervisorChainSyncStatus {
    /// Latest local-unsafe block (a full ref, the others are ids).
    pub local_unsafe: L1BlockRef,
    /// Local-safe block.
    pub local_safe: BlockId,
    /// Cross-unsafe block.
    pub cross_unsafe: BlockId,
    /// Cross-safe block, under its legacy JSON name `safe`.
    #[serde(rename = "safe")]
    pub cross_safe: BlockId,
    /// Finalized block.
    pub finalized: BlockId,
}

/// `supervisor_syncStatus`: the minimum progress over all chains, and each chain's heads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupervisorSyncStatus {
    /// Highest L1 block processed for every chain.
    pub min_synced_l1: L1BlockRef,
    /// Lowest cross-safe L2 timestamp over the chains.
    pub safe_timestamp: u64,
    /// Lowest finalized L2 timestamp over the chains.
    pub finalized_timestamp: u64,
    /// Per-chain heads.
    #[serde(
        serialize_with = "serialize_go_map",
        deserialize_with = "null_as_default"
    )]
    pub chains: BTreeMap<ChainId, SupervisorChainSyncStatus>,
}

/// A derived (L2) block and the source (L1) block it was derived from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DerivedIdPair {
    /// The L1 block.
    pub source: BlockId,
    /// The L2 block derived from it.
    pub derived: BlockId,
}

/// One chain's entry in a supervisor super root response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChainRootInfo {
    /// The chain.
    #[serde(rename = "chainID", alias = "chainId")]
    pub chain_id: ChainId,
    /// Output root of the latest canonical block at the timestamp.
    pub canonical: B256,
    /// Output root preimage of the block before executing messages were validated.
    pub pending: Bytes,
}

/// `supervisor_superRootAtTimestamp`: the cross-safe super root at a timestamp.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuperRootResponse {
    /// L1 block from which every chain is cross-safe at the timestamp.
    pub cross_safe_derived_from: BlockId,
    /// The L2 timestamp, a `hexutil.Uint64` quantity in JSON.
    #[serde(with = "alloy::serde::quantity")]
    pub timestamp: u64,
    /// The super root.
    pub super_root: B256,
    /// Super root version, one byte written as `hexutil.Bytes`.
    #[serde(with = "one_byte_hex")]
    pub version: u8,
    /// Every chain of the dependency set.
    #[serde(deserialize_with = "null_as_default")]
    pub chains: Vec<ChainRootInfo>,
}

/// Why a super root response cannot be turned into a [`SuperV1`] preimage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToSuperV1Error {
    /// The version has no preimage layout we know.
    #[error("super root response has version {0}, only version 1 is known")]
    UnknownVersion(u8),
    /// The chains do not form a valid v1 preimage (none, or one repeated).
    #[error("super root response chains are not a valid v1 preimage: {0}")]
    Invalid(#[from] SuperRootError),
}

impl SuperRootResponse {
    /// The v1 preimage (chains sorted by id, canonical outputs), as op-service's `ToSuper`.
    pub fn to_super_v1(&self) -> Result<SuperV1, ToSuperV1Error> {
        if self.version != SUPER_ROOT_VERSION_V1 {
            return Err(ToSuperV1Error::UnknownVersion(self.version));
        }
        let outputs = self
            .chains
            .iter()
            .map(|c| OutputWithChainId {
                chain_id: c.chain_id,
                output_root: c.canonical,
            })
            .collect();
        Ok(SuperV1::new(self.timestamp, outputs)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Mirrors `eth.SupervisorSyncStatus` / `eth.SupervisorChainSyncStatus`
    /// (op-service/eth/supervisor_status.go, specs interop/supervisor.md): every field in Go
    /// field order, map keys in Go's string order.
    const SUPERVISOR_SYNC_STATUS_JSON: &str = concat!(
        r#"{"minSyncedL1":{"hash":"0x6161616161616161616161616161616161616161616161616161616161616161","number":200,"parentHash":"0x6262626262626262626262626262626262626262626262626262626262626262","timestamp":1700002400},"#,
        r#""safeTimestamp":1700003000,"finalizedTimestamp":1700002000,"chains":{"#,
        r#""10":{"localUnsafe":{"hash":"0x8181818181818181818181818181818181818181818181818181818181818181","number":810,"parentHash":"0x8282828282828282828282828282828282828282828282828282828282828282","timestamp":1700003100},"#,
        r#""localSafe":{"hash":"0x8383838383838383838383838383838383838383838383838383838383838383","number":805},"#,
        r#""crossUnsafe":{"hash":"0x8484848484848484848484848484848484848484848484848484848484848484","number":809},"#,
        r#""safe":{"hash":"0x8585858585858585858585858585858585858585858585858585858585858585","number":800},"#,
        r#""finalized":{"hash":"0x8686868686868686868686868686868686868686868686868686868686868686","number":750}},"#,
        r#""11155420":{"localUnsafe":{"hash":"0x7171717171717171717171717171717171717171717171717171717171717171","number":710,"parentHash":"0x7272727272727272727272727272727272727272727272727272727272727272","timestamp":1700003100},"#,
        r#""localSafe":{"hash":"0x7373737373737373737373737373737373737373737373737373737373737373","number":705},"#,
        r#""crossUnsafe":{"hash":"0x7474747474747474747474747474747474747474747474747474747474747474","number":709},"#,
        r#""safe":{"hash":"0x7575757575757575757575757575757575757575757575757575757575757575","number":700},"#,
        r#""finalized":{"hash":"0x7676767676767676767676767676767676767676767676767676767676767676","number":650}}}}"#,
    );

    #[test]
    fn supervisor_sync_status_round_trip() {
        let r: SupervisorSyncStatus = serde_json::from_str(SUPERVISOR_SYNC_STATUS_JSON).unwrap();
        assert_eq!(r.min_synced_l1.number, 200);
        assert_eq!(r.safe_timestamp, 1700003000);
        assert_eq!(r.finalized_timestamp, 1700002000);
        let op = r.chains[&ChainId(10)];
        assert_eq!(op.local_unsafe.number, 810);
        assert_eq!(op.local_safe.number, 805);
        assert_eq!(op.cross_unsafe.number, 809);
        assert_eq!(op.cross_safe.number, 800);
        assert_eq!(op.finalized.number, 750);
        assert_eq!(r.chains[&ChainId(11155420)].cross_safe.number, 700);
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            SUPERVISOR_SYNC_STATUS_JSON
        );
    }

    #[test]
    fn supervisor_sync_status_unknown_fields_tolerated() {
        let mut v: serde_json::Value = serde_json::from_str(SUPERVISOR_SYNC_STATUS_JSON).unwrap();
        v["chains"]["10"]["localDerivedFrom"] = serde_json::json!({});
        v["extra"] = serde_json::json!(1);
        let r: SupervisorSyncStatus = serde_json::from_value(v).unwrap();
        let plain: SupervisorSyncStatus =
            serde_json::from_str(SUPERVISOR_SYNC_STATUS_JSON).unwrap();
        assert_eq!(r, plain);
    }

    /// Mirrors `eth.SuperRootResponse`'s marshalling struct (op-service/eth/super_root.go:
    /// `superRootResponseMarshalling`, `chainRootInfoMarshalling`).
    const SUPER_ROOT_RESPONSE_JSON: &str = concat!(
        r#"{"crossSafeDerivedFrom":{"hash":"0x9191919191919191919191919191919191919191919191919191919191919191","number":300},"#,
        r#""timestamp":"0x6553f100","superRoot":"0x9292929292929292929292929292929292929292929292929292929292929292","version":"0x01","chains":["#,
        r#"{"chainID":"11155420","canonical":"0x9393939393939393939393939393939393939393939393939393939393939393","pending":"0x00aabb"},"#,
        r#"{"chainID":"10","canonical":"0x9494949494949494949494949494949494949494949494949494949494949494","pending":"0x"}]}"#,
    );

    #[test]
    fn super_root_response_round_trip() {
        let r: SuperRootResponse = serde_json::from_str(SUPER_ROOT_RESPONSE_JSON).unwrap();
        assert_eq!(r.cross_safe_derived_from.number, 300);
        assert_eq!(r.timestamp, 1700000000);
        assert_eq!(r.super_root, B256::repeat_byte(0x92));
        assert_eq!(r.version, 1);
        assert_eq!(r.chains[0].chain_id, ChainId(11155420));
        assert_eq!(r.chains[0].pending.as_ref(), &[0x00, 0xaa, 0xbb]);
        assert!(r.chains[1].pending.is_empty());
        assert_eq!(serde_json::to_string(&r).unwrap(), SUPER_ROOT_RESPONSE_JSON);
        let mut v: serde_json::Value = serde_json::from_str(SUPER_ROOT_RESPONSE_JSON).unwrap();
        v["extra"] = serde_json::json!("x");
        assert_eq!(serde_json::from_value::<SuperRootResponse>(v).unwrap(), r);
    }

    #[test]
    fn super_root_response_rejects_multi_byte_version() {
        let json = SUPER_ROOT_RESPONSE_JSON.replace(r#""version":"0x01""#, r#""version":"0x0101""#);
        let err = serde_json::from_str::<SuperRootResponse>(&json).unwrap_err();
        assert!(err.to_string().contains("exactly 1 byte"), "{err}");
    }

    #[test]
    fn super_root_response_to_super_v1() {
        let r: SuperRootResponse = serde_json::from_str(SUPER_ROOT_RESPONSE_JSON).unwrap();
        let s = r.to_super_v1().unwrap();
        assert_eq!(s.timestamp(), 1700000000);
        assert_eq!(
            s.outputs(),
            &[
                OutputWithChainId {
                    chain_id: ChainId(10),
                    output_root: B256::repeat_byte(0x94)
                },
                OutputWithChainId {
                    chain_id: ChainId(11155420),
                    output_root: B256::repeat_byte(0x93)
                },
            ]
        );
        let v2 = SuperRootResponse {
            version: 2,
            ..r.clone()
        };
        assert_eq!(v2.to_super_v1(), Err(ToSuperV1Error::UnknownVersion(2)));
        let empty = SuperRootResponse {
            chains: vec![],
            ..r.clone()
        };
        assert_eq!(
            empty.to_super_v1(),
            Err(ToSuperV1Error::Invalid(SuperRootError::NoChains))
        );
        let mut dup = r;
        dup.chains[1].chain_id = dup.chains[0].chain_id;
        assert_eq!(
            dup.to_super_v1(),
            Err(ToSuperV1Error::Invalid(SuperRootError::DuplicateChain {
                index: 1,
                chain_id: ChainId(11155420)
            }))
        );
    }

    /// Mirrors op-supervisor `types.DerivedIDPair` (`source`, `derived`).
    const DERIVED_PAIR_JSON: &str = r#"{"source":{"hash":"0xa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1","number":12},"derived":{"hash":"0xa2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2","number":34}}"#;

    #[test]
    fn derived_id_pair_round_trip() {
        let p: DerivedIdPair = serde_json::from_str(DERIVED_PAIR_JSON).unwrap();
        assert_eq!((p.source.number, p.derived.number), (12, 34));
        assert_eq!(serde_json::to_string(&p).unwrap(), DERIVED_PAIR_JSON);
    }

    proptest! {
        #[test]
        fn super_root_response_json_round_trip(
            timestamp in any::<u64>(),
            version in any::<u8>(),
            pending in proptest::collection::vec(any::<u8>(), 0..80),
            id in any::<u64>(),
        ) {
            let r = SuperRootResponse {
                cross_safe_derived_from: BlockId::default(),
                timestamp,
                super_root: B256::repeat_byte(7),
                version,
                chains: vec![ChainRootInfo { chain_id: ChainId(id), canonical: B256::ZERO, pending: pending.into() }],
            };
            let back: SuperRootResponse = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            prop_assert_eq!(back, r);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = serde_json::from_slice::<SupervisorSyncStatus>(&bytes);
            let _ = serde_json::from_slice::<SuperRootResponse>(&bytes);
            let _ = serde_json::from_slice::<DerivedIdPair>(&bytes);
        }
    }
}
