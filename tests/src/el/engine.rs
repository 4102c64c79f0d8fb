//! Engine API semantics over the block store, independent of the transport.
//!
//! ```text
//! forkchoiceUpdated(state, attrs?) ── head unknown ─▶ SYNCING
//!          │ known: set head/safe/finalized (reorg if needed)
//!          └ attrs ─▶ build now (deterministic) ─▶ payloads[id]    id = f(parent, attrs)
//! getPayload(id) ─▶ payloads[id] as an envelope (V3 before Isthmus, V4 from Isthmus)
//! newPayload(p) ── header hash ≠ p.blockHash ─▶ INVALID
//!               ── parent unknown ────────────▶ SYNCING
//!               ── rebuild from parent ≠ p ───▶ INVALID (latestValidHash = parent)
//!               └─ store ─────────────────────▶ VALID
//! ```

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
};

use alloy::{
    consensus::Block,
    eips::eip7685::EMPTY_REQUESTS_HASH,
    primitives::{B256, Bytes, U256},
    rpc::types::engine::{
        BlobsBundleV1, ExecutionPayloadV3, ForkchoiceState, ForkchoiceUpdated, PayloadId,
        PayloadStatus, PayloadStatusEnum,
    },
};
use op_alloy_rpc_types_engine::{
    OpExecutionPayloadEnvelopeV3, OpExecutionPayloadEnvelopeV4, OpExecutionPayloadV4,
    OpPayloadAttributes,
};

use super::{
    builder::{BlockInputs, BuildError, SimBlock, build_block},
    chain::{Chain, ChainError},
    spec::{ChainSpec, Fork},
};

/// How many built payloads are kept for `getPayload`.
const MAX_PAYLOADS: usize = 64;

/// Engine API method versions that differ in payload shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadVersion {
    /// V2: Canyon and Delta, before Ecotone. Holocene is the oldest fork simulated, so no block
    /// here is a V2 block: V2 payload methods answer Unsupported fork, as op-geth does after
    /// Ecotone.
    V2,
    /// V3: Ecotone through Holocene.
    V3,
    /// V4: Isthmus and later (withdrawals root, execution requests).
    V4,
}

impl PayloadVersion {
    /// The version a fork's payloads use.
    pub fn for_fork(fork: Fork) -> Self {
        if fork.is_isthmus() {
            Self::V4
        } else {
            Self::V3
        }
    }
}

/// Engine API errors that are JSON-RPC errors (not payload statuses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// -38001.
    #[error("Unknown payload {0}")]
    UnknownPayload(PayloadId),
    /// -38002.
    #[error("Invalid forkchoice state: {0}")]
    InvalidForkchoiceState(ChainError),
    /// -38003.
    #[error("Invalid payload attributes: {0}")]
    InvalidPayloadAttributes(BuildError),
    /// -38005.
    #[error(
        "Unsupported fork: {method_version:?} used for a {fork:?} block at timestamp {timestamp}"
    )]
    UnsupportedFork {
        /// The method version called.
        method_version: PayloadVersion,
        /// The fork at the payload's timestamp.
        fork: Fork,
        /// The payload's timestamp.
        timestamp: u64,
    },
}

impl EngineError {
    /// The JSON-RPC error code the Engine API spec assigns.
    pub const fn code(&self) -> i32 {
        match self {
            Self::UnknownPayload(_) => -38001,
            Self::InvalidForkchoiceState(_) => -38002,
            Self::InvalidPayloadAttributes(_) => -38003,
            Self::UnsupportedFork { .. } => -38005,
        }
    }
}

/// A payload as `engine_newPayloadV3/V4` receives it.
#[derive(Clone, Debug)]
pub struct NewPayload {
    /// The execution payload (V3 fields).
    pub payload: ExecutionPayloadV3,
    /// The V4 withdrawals root (Isthmus), absent for V3.
    pub withdrawals_root: Option<B256>,
    /// Blob versioned hashes (must be empty on L2).
    pub versioned_hashes: Vec<B256>,
    /// The parent beacon block root.
    pub parent_beacon_block_root: B256,
    /// EIP-7685 requests (V4; must be empty on L2).
    pub execution_requests: Option<Vec<Bytes>>,
}

/// A block the client was told of but lacks (see [`super::sync`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncTarget {
    /// The block to reach.
    pub hash: B256,
    /// Its parent, when known (a `newPayload` whose parent is unknown): what to fetch if the
    /// peer does not have the block itself.
    pub parent: Option<B256>,
}

/// One simulated execution client's state: spec, blocks, fork choice, built payloads.
#[derive(Debug)]
pub struct EngineState {
    spec: ChainSpec,
    chain: Chain,
    payloads: HashMap<PayloadId, Arc<SimBlock>>,
    payload_order: VecDeque<PayloadId>,
    sync_target: Option<SyncTarget>,
    last_forkchoice: Option<ForkchoiceState>,
}

fn invalid(latest_valid_hash: Option<B256>, validation_error: String) -> PayloadStatus {
    PayloadStatus::new(
        PayloadStatusEnum::Invalid { validation_error },
        latest_valid_hash,
    )
}

impl EngineState {
    /// A client holding only the genesis block of `spec`.
    pub fn new(spec: ChainSpec) -> Result<Self, BuildError> {
        Ok(Self {
            chain: Chain::new(SimBlock::genesis(&spec)?),
            spec,
            payloads: HashMap::new(),
            payload_order: VecDeque::new(),
            sync_target: None,
            last_forkchoice: None,
        })
    }

    /// Prunes blocks below `min(finalized, head - window)` (see [`super::chain`]); `None`
    /// keeps every block.
    pub fn with_block_window(mut self, window: Option<u64>) -> Self {
        self.chain = self.chain.with_window(window);
        self
    }

    /// The newest block this client answered SYNCING for, once (the EL-sync task's work).
    pub fn take_sync_target(&mut self) -> Option<SyncTarget> {
        self.sync_target.take()
    }

    /// The forkchoice state of the last `forkchoiceUpdated` call.
    pub fn last_forkchoice(&self) -> Option<ForkchoiceState> {
        self.last_forkchoice
    }

    /// The chain spec.
    pub const fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// The block store.
    pub const fn chain(&self) -> &Chain {
        &self.chain
    }

    /// `engine_forkchoiceUpdatedV3`.
    pub fn forkchoice_updated(
        &mut self,
        state: ForkchoiceState,
        attrs: Option<&OpPayloadAttributes>,
    ) -> Result<ForkchoiceUpdated, EngineError> {
        self.last_forkchoice = Some(state);
        if self.chain.get(&state.head_block_hash).is_none() {
            self.sync_target = Some(SyncTarget {
                hash: state.head_block_hash,
                parent: None,
            });
            return Ok(ForkchoiceUpdated::from_status(PayloadStatusEnum::Syncing));
        }
        self.chain
            .set_forkchoice(
                state.head_block_hash,
                state.safe_block_hash,
                state.finalized_block_hash,
            )
            .map_err(EngineError::InvalidForkchoiceState)?;
        let head = self.chain.head();
        let status = PayloadStatus::new(PayloadStatusEnum::Valid, Some(head.hash));
        let Some(attrs) = attrs else {
            return Ok(ForkchoiceUpdated::new(status));
        };
        let inputs =
            BlockInputs::from_attributes(attrs).map_err(EngineError::InvalidPayloadAttributes)?;
        let block = build_block(&self.spec, &head, &inputs)
            .map_err(EngineError::InvalidPayloadAttributes)?;
        let version = match PayloadVersion::for_fork(block.fork) {
            PayloadVersion::V2 => 2,
            PayloadVersion::V3 => 3,
            PayloadVersion::V4 => 4,
        };
        let id = attrs.payload_id(&head.hash, version);
        if self.payloads.insert(id, Arc::new(block)).is_none() {
            self.payload_order.push_back(id);
            while self.payload_order.len() > MAX_PAYLOADS {
                if let Some(old) = self.payload_order.pop_front() {
                    self.payloads.remove(&old);
                }
            }
        }
        Ok(ForkchoiceUpdated::new(status).with_payload_id(id))
    }

    /// A payload built by an earlier fork-choice update, for `version`.
    pub fn get_payload(
        &self,
        id: PayloadId,
        version: PayloadVersion,
    ) -> Result<Arc<SimBlock>, EngineError> {
        let block = self
            .payloads
            .get(&id)
            .cloned()
            .ok_or(EngineError::UnknownPayload(id))?;
        check_version(version, block.fork, block.header().timestamp)?;
        Ok(block)
    }

    /// Fails with Unsupported fork unless `version` is the one for the fork at `timestamp`.
    pub fn check_version(
        &self,
        version: PayloadVersion,
        timestamp: u64,
    ) -> Result<(), EngineError> {
        check_version(version, self.spec.forks.fork_at(timestamp), timestamp)
    }

    /// `engine_newPayloadV3/V4`.
    pub fn new_payload(
        &mut self,
        input: NewPayload,
        version: PayloadVersion,
    ) -> Result<PayloadStatus, EngineError> {
        let timestamp = input.payload.payload_inner.payload_inner.timestamp;
        check_version(version, self.spec.forks.fork_at(timestamp), timestamp)?;
        let claimed = input.payload.payload_inner.payload_inner.block_hash;
        let block = match to_block(input) {
            Ok(b) => b,
            Err(e) => return Ok(invalid(None, e)),
        };
        let computed = block.header.hash_slow();
        if computed != claimed {
            return Ok(invalid(
                None,
                format!("block hash mismatch: payload says {claimed}, header hashes to {computed}"),
            ));
        }
        if self.chain.get(&claimed).is_some() {
            return Ok(PayloadStatus::new(PayloadStatusEnum::Valid, Some(claimed)));
        }
        let Some(parent) = self.chain.get(&block.header.parent_hash) else {
            self.sync_target = Some(SyncTarget {
                hash: claimed,
                parent: Some(block.header.parent_hash),
            });
            return Ok(PayloadStatus::from_status(PayloadStatusEnum::Syncing));
        };
        let fork = self.spec.forks.fork_at(timestamp);
        let rebuilt = match BlockInputs::from_block(&block, fork)
            .and_then(|inputs| build_block(&self.spec, &parent, &inputs))
        {
            Ok(b) => b,
            Err(e) => return Ok(invalid(Some(parent.hash), e.to_string())),
        };
        if rebuilt.hash != claimed {
            return Ok(invalid(
                Some(parent.hash),
                format!(
                    "block {claimed} does not match its re-execution {}: {}",
                    rebuilt.hash,
                    header_diff(rebuilt.header(), &block.header)
                ),
            ));
        }
        match self.chain.insert(rebuilt) {
            Ok(_) => Ok(PayloadStatus::new(PayloadStatusEnum::Valid, Some(claimed))),
            Err(e) => Ok(invalid(Some(parent.hash), e.to_string())),
        }
    }
}

fn check_version(version: PayloadVersion, fork: Fork, timestamp: u64) -> Result<(), EngineError> {
    if PayloadVersion::for_fork(fork) == version {
        Ok(())
    } else {
        Err(EngineError::UnsupportedFork {
            method_version: version,
            fork,
            timestamp,
        })
    }
}

/// The header the payload describes, with the fields the payload carries beside it.
fn to_block(input: NewPayload) -> Result<Block<Bytes>, String> {
    if !input.versioned_hashes.is_empty() {
        return Err(format!(
            "{} blob versioned hashes, L2 has no blobs",
            input.versioned_hashes.len()
        ));
    }
    let withdrawals = input.payload.payload_inner.withdrawals.len();
    if withdrawals != 0 {
        return Err(format!("{withdrawals} withdrawals, L2 payloads carry none"));
    }
    let mut block = input.payload.into_block_raw().map_err(|e| e.to_string())?;
    if let Some(root) = input.withdrawals_root {
        block.header.withdrawals_root = Some(root);
    }
    if let Some(requests) = input.execution_requests {
        if !requests.is_empty() {
            return Err(format!(
                "{} execution requests, L2 has none",
                requests.len()
            ));
        }
        block.header.requests_hash = Some(EMPTY_REQUESTS_HASH);
    }
    block.header.parent_beacon_block_root = Some(input.parent_beacon_block_root);
    Ok(block)
}

/// Names the header fields that differ, for INVALID validation errors.
fn header_diff(expected: &alloy::consensus::Header, got: &alloy::consensus::Header) -> String {
    let checks = [
        ("stateRoot", expected.state_root == got.state_root),
        (
            "transactionsRoot",
            expected.transactions_root == got.transactions_root,
        ),
        ("receiptsRoot", expected.receipts_root == got.receipts_root),
        ("logsBloom", expected.logs_bloom == got.logs_bloom),
        ("gasUsed", expected.gas_used == got.gas_used),
        (
            "baseFeePerGas",
            expected.base_fee_per_gas == got.base_fee_per_gas,
        ),
        ("extraData", expected.extra_data == got.extra_data),
        (
            "withdrawalsRoot",
            expected.withdrawals_root == got.withdrawals_root,
        ),
        ("blobGasUsed", expected.blob_gas_used == got.blob_gas_used),
        (
            "excessBlobGas",
            expected.excess_blob_gas == got.excess_blob_gas,
        ),
        ("requestsHash", expected.requests_hash == got.requests_hash),
        ("number", expected.number == got.number),
        ("difficulty", expected.difficulty == got.difficulty),
        ("nonce", expected.nonce == got.nonce),
        ("ommersHash", expected.ommers_hash == got.ommers_hash),
    ];
    let differing: Vec<&str> = checks
        .iter()
        .filter(|(_, same)| !same)
        .map(|(n, _)| *n)
        .collect();
    if differing.is_empty() {
        "headers differ".to_string()
    } else {
        format!("differs in {}", differing.join(", "))
    }
}

/// The V3 execution payload of a block.
pub fn payload_v3(block: &SimBlock) -> ExecutionPayloadV3 {
    ExecutionPayloadV3::from_block_unchecked(block.hash, &block.block)
}

/// The `engine_getPayloadV3` envelope of a block.
pub fn envelope_v3(block: &SimBlock) -> OpExecutionPayloadEnvelopeV3 {
    OpExecutionPayloadEnvelopeV3 {
        execution_payload: payload_v3(block),
        block_value: U256::ZERO,
        blobs_bundle: BlobsBundleV1::default(),
        should_override_builder: false,
        parent_beacon_block_root: block.header().parent_beacon_block_root.unwrap_or_default(),
    }
}

/// The `engine_newPayloadV3/V4` input that carries `block` (V4 fields from Isthmus on), and the
/// method version that takes it.
pub fn new_payload_input(block: &SimBlock) -> (NewPayload, PayloadVersion) {
    let version = PayloadVersion::for_fork(block.fork);
    let v4 = version == PayloadVersion::V4;
    let input = NewPayload {
        payload: payload_v3(block),
        withdrawals_root: v4.then_some(block.message_passer_root),
        versioned_hashes: Vec::new(),
        parent_beacon_block_root: block.header().parent_beacon_block_root.unwrap_or_default(),
        execution_requests: v4.then(Vec::new),
    };
    (input, version)
}

/// The `engine_getPayloadV4` envelope of a block.
pub fn envelope_v4(block: &SimBlock) -> OpExecutionPayloadEnvelopeV4 {
    OpExecutionPayloadEnvelopeV4 {
        execution_payload: OpExecutionPayloadV4::from_v3_with_withdrawals_root(
            payload_v3(block),
            block.message_passer_root,
        ),
        block_value: U256::ZERO,
        blobs_bundle: BlobsBundleV1::default(),
        should_override_builder: false,
        parent_beacon_block_root: block.header().parent_beacon_block_root.unwrap_or_default(),
        execution_requests: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::el::{
        fixtures::attributes,
        spec::{ForkSchedule, GenesisConfig},
    };
    use opfleet_protocol::ChainId;

    fn state(forks: ForkSchedule) -> EngineState {
        let id = ChainId(10);
        EngineState::new(ChainSpec::new(id, GenesisConfig::new(id, 100), forks)).unwrap()
    }

    fn fcs(hash: B256) -> ForkchoiceState {
        ForkchoiceState {
            head_block_hash: hash,
            safe_block_hash: hash,
            finalized_block_hash: hash,
        }
    }

    #[test]
    fn error_codes() {
        let mut s = state(ForkSchedule::isthmus());
        let id = PayloadId::new([1; 8]);
        assert_eq!(
            s.get_payload(id, PayloadVersion::V4).unwrap_err().code(),
            -38001
        );
        let genesis = s.chain().head().hash;
        let bad_safe = ForkchoiceState {
            safe_block_hash: B256::repeat_byte(3),
            ..fcs(genesis)
        };
        assert_eq!(
            s.forkchoice_updated(bad_safe, None).unwrap_err().code(),
            -38002
        );
        let stale = attributes(Fork::Isthmus, 100, vec![]);
        assert_eq!(
            s.forkchoice_updated(fcs(genesis), Some(&stale))
                .unwrap_err()
                .code(),
            -38003
        );
        let ok = attributes(Fork::Isthmus, 102, vec![]);
        let id = s
            .forkchoice_updated(fcs(genesis), Some(&ok))
            .unwrap()
            .payload_id
            .unwrap();
        assert_eq!(
            s.get_payload(id, PayloadVersion::V3).unwrap_err().code(),
            -38005
        );
    }

    #[test]
    fn payload_ids_are_bounded() {
        let mut s = state(ForkSchedule::isthmus());
        let genesis = s.chain().head().hash;
        let ids: Vec<PayloadId> = (0..MAX_PAYLOADS as u64 + 1)
            .map(|i| {
                let a = attributes(Fork::Isthmus, 102 + i, vec![]);
                s.forkchoice_updated(fcs(genesis), Some(&a))
                    .unwrap()
                    .payload_id
                    .unwrap()
            })
            .collect();
        assert!(s.get_payload(ids[0], PayloadVersion::V4).is_err());
        assert!(s.get_payload(ids[MAX_PAYLOADS], PayloadVersion::V4).is_ok());
    }

    #[test]
    fn diff_names_fields() {
        let a = alloy::consensus::Header::default();
        let b = alloy::consensus::Header {
            gas_used: 1,
            state_root: B256::repeat_byte(1),
            ..a.clone()
        };
        assert_eq!(header_diff(&a, &b), "differs in stateRoot, gasUsed");
    }
}
