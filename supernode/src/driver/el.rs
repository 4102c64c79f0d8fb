//! What the driver needs of an execution client: blocks to consolidate against, and block
//! insertion through the Engine API. Implemented over `opfleet-engine`'s clients, and by fakes
//! in tests.

use alloy::primitives::B256;
use op_alloy_rpc_types_engine::OpPayloadAttributes;

use super::consolidate::ExecutedBlock;

/// An L2 block tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum L2Tag {
    /// The unsafe head.
    Latest,
    /// The safe head.
    Safe,
    /// The finalized head.
    Finalized,
}

/// Why an execution client call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElError {
    /// Unreachable, timed out: retry.
    #[error("execution client unavailable: {0}")]
    Temporary(String),
    /// The client answered with something unusable.
    #[error("execution client answered badly: {0}")]
    Invalid(String),
}

/// The result of inserting a block built from attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Built, imported and made the head.
    Inserted(Box<ExecutedBlock>),
    /// The payload was rejected as invalid (the attributes cannot make a valid block).
    Invalid(String),
}

/// The execution client of one chain.
#[async_trait::async_trait]
pub trait ExecutionLayer: Send + Sync {
    /// The canonical block at `number`, with its transactions.
    async fn block_by_number(&self, number: u64) -> Result<Option<ExecutedBlock>, ElError>;
    /// The block a tag points at.
    async fn block_by_tag(&self, tag: L2Tag) -> Result<Option<ExecutedBlock>, ElError>;
    /// Builds a block from `attributes` on `parent` and makes it the head, with these safe and
    /// finalized hashes: forkchoiceUpdated with attributes, getPayload, newPayload,
    /// forkchoiceUpdated.
    async fn insert(
        &self,
        parent: B256,
        attributes: OpPayloadAttributes,
        safe: B256,
        finalized: B256,
    ) -> Result<InsertOutcome, ElError>;
    /// Sets the forkchoice without building.
    async fn forkchoice(&self, head: B256, safe: B256, finalized: B256) -> Result<(), ElError>;
}
