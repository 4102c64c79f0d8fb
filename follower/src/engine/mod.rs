//! Driving the execution client: what the follower needs from it ([`ExecutionLayer`]), the pure
//! decisions ([`driver`]) and the loop that carries them out ([`runner`]).

use alloy::primitives::B256;
use alloy::rpc::types::engine::PayloadStatusEnum;
use op_alloy_rpc_types_engine::OpExecutionPayloadEnvelope;
use opfleet_protocol::L2BlockRef;

pub mod driver;
pub mod el_client;
pub mod runner;

pub use driver::{ElView, Forkchoice, PayloadInfo, Step, Targets, next_step};

/// Which block of the execution client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockAt {
    /// Its canonical head.
    Latest,
    /// Its safe label.
    Safe,
    /// Its finalized label.
    Finalized,
    /// Its canonical block at a height.
    Number(u64),
}

/// An execution-client failure.
#[derive(Debug, thiserror::Error)]
pub enum ElError {
    /// The client did not answer (connection, timeout, HTTP).
    #[error("execution client unreachable: {0}")]
    Transport(String),
    /// The client answered something unusable.
    #[error("execution client answer: {0}")]
    Invalid(String),
}

/// The output root of a block, computed from the follower's own execution client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnOutput {
    /// The block it is the output of.
    pub block: L2BlockRef,
    /// Output root v0.
    pub output_root: B256,
}

/// What the follower needs from its execution client.
#[async_trait::async_trait]
pub trait ExecutionLayer: Send + Sync + 'static {
    /// A block as a rollup node sees it; `None` when the client does not have it.
    async fn block_ref(&self, at: BlockAt) -> Result<Option<L2BlockRef>, ElError>;
    /// `engine_newPayloadV3/V4` (picked from the payload).
    async fn new_payload(
        &self,
        payload: &OpExecutionPayloadEnvelope,
    ) -> Result<PayloadStatusEnum, ElError>;
    /// `engine_forkchoiceUpdatedV3` without attributes.
    async fn forkchoice_updated(&self, fc: Forkchoice) -> Result<PayloadStatusEnum, ElError>;
    /// The output root at canonical height `number`; `None` when the client lacks the block.
    async fn output_at(&self, number: u64) -> Result<Option<OwnOutput>, ElError>;
    /// The canonical block `number` as the execution payload it was gossiped as (with its
    /// parent beacon block root from Ecotone on); `None` when the client lacks the block.
    async fn payload_by_number(
        &self,
        number: u64,
    ) -> Result<Option<OpExecutionPayloadEnvelope>, ElError>;
}
