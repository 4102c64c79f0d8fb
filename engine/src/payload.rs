//! A stored block back as the execution payload a sequencer gossiped for it.
//!
//! ```text
//!  block timestamp ─▶ forks active ─▶ BlockTopicVersion
//!     V1  ExecutionPayloadV1                      (pre-Canyon)
//!     V2  ExecutionPayloadV2, withdrawals = []    (Canyon, Delta)
//!     V3  ExecutionPayloadV3 + parent beacon root (Ecotone .. Holocene)
//!     V4  V3 + withdrawalsRoot                    (Isthmus and later; requestsHash = sha256(""))
//!  then payload ─▶ block (op-alloy) ─▶ keccak256(rlp(header)) must equal the block's hash
//! ```
//! The round trip is the check that nothing the header commits to was lost on the way: a payload
//! whose hash differs would be rejected by every peer and every execution client.

use alloy::consensus::BlockHeader as _;
use alloy::primitives::{B256, Bytes};
use alloy::rpc::types::engine::{
    CancunPayloadFields, ExecutionPayloadV1, ExecutionPayloadV2, ExecutionPayloadV3,
    PraguePayloadFields,
};
use op_alloy_consensus::OpTxEnvelope;
use op_alloy_rpc_types_engine::{
    OpExecutionPayload, OpExecutionPayloadEnvelope, OpExecutionPayloadSidecar, OpExecutionPayloadV4,
};
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::p2p::{BlockTopicVersion, TopicForkTimes};

use crate::block::{BlockCheckError, OpRpcBlock, consensus_block};

/// A block as an execution payload, with the gossip topic version it travels on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadForGossip {
    /// The `blocks` topic version (and req/resp payload form) of the block.
    pub version: BlockTopicVersion,
    /// The payload, with the parent beacon block root for V3 and V4.
    pub envelope: OpExecutionPayloadEnvelope,
}

impl PayloadForGossip {
    /// The block hash the payload carries.
    pub const fn block_hash(&self) -> B256 {
        self.envelope.execution_payload.block_hash()
    }

    /// The block number the payload carries.
    pub const fn block_number(&self) -> u64 {
        self.envelope.execution_payload.block_number()
    }
}

/// Why a block cannot be turned into the payload of its topic version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The header or body lacks a field the version needs.
    #[error("block {number}: {version:?} payload needs {field}, which the block lacks")]
    MissingField {
        /// Block number.
        number: u64,
        /// The topic version of the block's timestamp.
        version: BlockTopicVersion,
        /// The missing field.
        field: &'static str,
    },
    /// OP blocks never carry L1 withdrawals.
    #[error("block {number} has {count} withdrawals; OP blocks carry none")]
    Withdrawals {
        /// Block number.
        number: u64,
        /// How many.
        count: usize,
    },
    /// The payload does not convert back into a block.
    #[error("block {number}: payload does not convert back to a block: {reason}")]
    Convert {
        /// Block number.
        number: u64,
        /// op-alloy's message.
        reason: String,
    },
    /// The payload's block hashes differently from the block: a field of the header is outside
    /// what the version carries (for example a pre-Isthmus fork schedule for an Isthmus block).
    #[error("block {number}: {version:?} payload hashes to {computed}, block hash is {expected}")]
    HashMismatch {
        /// Block number.
        number: u64,
        /// The topic version used.
        version: BlockTopicVersion,
        /// The block's hash.
        expected: B256,
        /// The hash of the block rebuilt from the payload.
        computed: B256,
    },
    /// The RPC answer lacks what is needed.
    #[error(transparent)]
    Block(#[from] BlockCheckError),
}

/// The fork times that pick a block's topic version, from a rollup config.
pub const fn topic_fork_times(config: &RollupConfig) -> TopicForkTimes {
    TopicForkTimes {
        canyon: config.hardforks.canyon_time,
        ecotone: config.hardforks.ecotone_time,
        isthmus: config.hardforks.isthmus_time,
    }
}

/// The execution payload of a block with full transactions, in the version its timestamp's
/// forks select, checked to hash back to the block's hash.
pub fn payload_from_block(
    block: &OpRpcBlock,
    forks: &TopicForkTimes,
) -> Result<PayloadForGossip, PayloadError> {
    let hash = block.header.hash;
    let block = consensus_block(block)?;
    let header = &block.header;
    let number = header.number;
    let version = forks.version_at(header.timestamp);
    let missing = |field| PayloadError::MissingField {
        number,
        version,
        field,
    };

    if version.has_withdrawals() {
        let withdrawals = block
            .body
            .withdrawals
            .as_ref()
            .ok_or(missing("withdrawals"))?;
        if !withdrawals.is_empty() {
            return Err(PayloadError::Withdrawals {
                number,
                count: withdrawals.len(),
            });
        }
    }
    let parent_beacon_block_root = if version.has_parent_beacon_block_root() {
        header.blob_gas_used.ok_or(missing("blobGasUsed"))?;
        header.excess_blob_gas.ok_or(missing("excessBlobGas"))?;
        Some(
            header
                .parent_beacon_block_root
                .ok_or(missing("parentBeaconBlockRoot"))?,
        )
    } else {
        None
    };

    let execution_payload = match version {
        BlockTopicVersion::V1 => {
            OpExecutionPayload::V1(ExecutionPayloadV1::from_block_unchecked(hash, &block))
        }
        BlockTopicVersion::V2 => {
            OpExecutionPayload::V2(ExecutionPayloadV2::from_block_unchecked(hash, &block))
        }
        BlockTopicVersion::V3 => {
            OpExecutionPayload::V3(ExecutionPayloadV3::from_block_unchecked(hash, &block))
        }
        BlockTopicVersion::V4 => {
            let withdrawals_root = header
                .withdrawals_root()
                .ok_or(missing("withdrawalsRoot"))?;
            OpExecutionPayload::V4(OpExecutionPayloadV4::from_v3_with_withdrawals_root(
                ExecutionPayloadV3::from_block_unchecked(hash, &block),
                withdrawals_root,
            ))
        }
    };
    let envelope = OpExecutionPayloadEnvelope {
        parent_beacon_block_root,
        execution_payload,
    };
    let computed = payload_block_hash(&envelope)?;
    if computed != hash {
        return Err(PayloadError::HashMismatch {
            number,
            version,
            expected: hash,
            computed,
        });
    }
    Ok(PayloadForGossip { version, envelope })
}

/// The hash of the block a payload describes, computed as an execution client's `newPayload`
/// does (empty blob hashes; V4 with an empty execution-requests list).
pub fn payload_block_hash(envelope: &OpExecutionPayloadEnvelope) -> Result<B256, PayloadError> {
    let payload = &envelope.execution_payload;
    let number = payload.block_number();
    let sidecar = match (payload, envelope.parent_beacon_block_root) {
        (OpExecutionPayload::V1(_) | OpExecutionPayload::V2(_), _) => {
            OpExecutionPayloadSidecar::default()
        }
        (OpExecutionPayload::V3(_), Some(root)) => {
            OpExecutionPayloadSidecar::v3(CancunPayloadFields::new(root, Vec::new()))
        }
        (OpExecutionPayload::V4(_), Some(root)) => OpExecutionPayloadSidecar::v4(
            CancunPayloadFields::new(root, Vec::new()),
            PraguePayloadFields::new(Vec::<Bytes>::new()),
        ),
        (OpExecutionPayload::V3(_) | OpExecutionPayload::V4(_), None) => {
            return Err(PayloadError::MissingField {
                number,
                version: opfleet_protocol::p2p::envelope::payload_version(payload),
                field: "parentBeaconBlockRoot",
            });
        }
    };
    let block = payload
        .clone()
        .try_into_block_with_sidecar::<OpTxEnvelope>(&sidecar)
        .map_err(|e| PayloadError::Convert {
            number,
            reason: e.to_string(),
        })?;
    Ok(block.header.hash_slow())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::testutil::*;
    use opfleet_protocol::l1_info::L1InfoFork;
    use proptest::prelude::*;

    const FORKS: TopicForkTimes = TopicForkTimes {
        canyon: Some(100),
        ecotone: Some(200),
        isthmus: Some(300),
    };

    fn block(shape: Shape, timestamp: u64) -> OpRpcBlock {
        let info = l1_info(L1InfoFork::Ecotone, 8, 0);
        rpc(&consensus(
            shape,
            12,
            timestamp,
            vec![l1_info_envelope(&info), user_deposit()],
        ))
    }

    #[test]
    fn every_version_round_trips_to_the_block_hash() {
        for (shape, ts, version) in [
            (Shape::Bedrock, 50, BlockTopicVersion::V1),
            (Shape::Canyon, 150, BlockTopicVersion::V2),
            (Shape::Ecotone, 250, BlockTopicVersion::V3),
            (Shape::Isthmus, 350, BlockTopicVersion::V4),
        ] {
            let b = block(shape, ts);
            let p = payload_from_block(&b, &FORKS).unwrap();
            assert_eq!(p.version, version);
            assert_eq!(p.block_hash(), b.header.hash);
            assert_eq!(p.block_number(), 12);
            assert_eq!(
                opfleet_protocol::p2p::envelope::payload_version(&p.envelope.execution_payload),
                version
            );
            assert_eq!(
                p.envelope.parent_beacon_block_root,
                version
                    .has_parent_beacon_block_root()
                    .then(|| B256::repeat_byte(9))
            );
            assert_eq!(p.envelope.execution_payload.as_v1().transactions.len(), 2);
        }
    }

    #[test]
    fn v4_carries_the_withdrawals_root() {
        let b = block(Shape::Isthmus, 350);
        let p = payload_from_block(&b, &FORKS).unwrap();
        match p.envelope.execution_payload {
            OpExecutionPayload::V4(v4) => {
                assert_eq!(Some(v4.withdrawals_root), b.header.withdrawals_root);
            }
            other => panic!("expected V4, got {other:?}"),
        }
    }

    #[test]
    fn wrong_fork_schedule_is_a_hash_mismatch_or_missing_field() {
        // An Isthmus block read with a schedule that says Ecotone: V3 drops the withdrawals root
        // and the requests hash, so the rebuilt block hashes differently.
        let b = block(Shape::Isthmus, 250);
        assert!(matches!(
            payload_from_block(&b, &FORKS),
            Err(PayloadError::HashMismatch {
                version: BlockTopicVersion::V3,
                ..
            })
        ));
        // An Ecotone block read as Isthmus: V4 adds a requests hash the header does not have.
        let b = block(Shape::Ecotone, 350);
        assert!(matches!(
            payload_from_block(&b, &FORKS),
            Err(PayloadError::HashMismatch {
                version: BlockTopicVersion::V4,
                ..
            })
        ));
        // A Bedrock-shaped block where Ecotone is active lacks the blob fields.
        let b = block(Shape::Bedrock, 250);
        assert!(matches!(
            payload_from_block(&b, &FORKS),
            Err(PayloadError::MissingField {
                version: BlockTopicVersion::V3,
                ..
            })
        ));
    }

    #[test]
    fn a_wrong_claimed_hash_is_caught() {
        let mut b = block(Shape::Isthmus, 350);
        b.header.hash = B256::repeat_byte(3);
        assert!(matches!(
            payload_from_block(&b, &FORKS),
            Err(PayloadError::HashMismatch { .. })
        ));
    }

    #[test]
    fn withdrawals_are_refused() {
        let info = l1_info(L1InfoFork::Ecotone, 8, 0);
        let mut c = consensus(Shape::Ecotone, 12, 250, vec![l1_info_envelope(&info)]);
        c.body.withdrawals = Some(vec![Default::default()].into());
        assert!(matches!(
            payload_from_block(&rpc(&c), &FORKS),
            Err(PayloadError::Withdrawals { count: 1, .. })
        ));
    }

    #[test]
    fn topic_fork_times_come_from_the_rollup_config() {
        let mut config = RollupConfig::default();
        config.hardforks.canyon_time = Some(1);
        config.hardforks.ecotone_time = Some(2);
        config.hardforks.isthmus_time = Some(3);
        assert_eq!(
            topic_fork_times(&config),
            TopicForkTimes {
                canyon: Some(1),
                ecotone: Some(2),
                isthmus: Some(3)
            }
        );
    }

    proptest! {
        #[test]
        fn isthmus_blocks_round_trip(
            ts in 300u64..u64::MAX / 2,
            number in any::<u64>(),
            seq in any::<u64>(),
            extra_txs in 0usize..4,
        ) {
            let info = l1_info(L1InfoFork::Isthmus, 8, seq);
            let mut txs = vec![l1_info_envelope(&info)];
            txs.extend(std::iter::repeat_with(user_deposit).take(extra_txs));
            let b = rpc(&consensus(Shape::Isthmus, number, ts, txs));
            let p = payload_from_block(&b, &FORKS).unwrap();
            prop_assert_eq!(p.version, BlockTopicVersion::V4);
            prop_assert_eq!(payload_block_hash(&p.envelope).unwrap(), b.header.hash);
        }
    }
}
