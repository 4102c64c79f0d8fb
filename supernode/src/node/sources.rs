//! What the node reads from each chain's execution client, behind small traits so the RPC and
//! the signer test without one (the concrete client is `opfleet-engine`'s `L2Client`, or the
//! followed op-node in attester mode).

use alloy::primitives::B256;
use opfleet_engine::{L2Client, L2ClientError, PayloadForGossip};
use opfleet_protocol::L2BlockRef;

/// An L2 block with its output root v0 and the two roots it commits to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputAtBlock {
    /// The block.
    pub block: L2BlockRef,
    /// keccak256(version 0 | state root | message passer storage root | block hash).
    pub output_root: B256,
    /// The block's state root.
    pub state_root: B256,
    /// Storage root of the L2ToL1MessagePasser at that block.
    pub message_passer_storage_root: B256,
}

/// Why a source read failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// Unreachable, timed out: retrying may succeed.
    #[error("source unavailable: {0}")]
    Unavailable(String),
    /// The source answered with something that fails a check.
    #[error("invalid answer from source: {0}")]
    Invalid(String),
}

/// Output roots of one chain's blocks.
#[async_trait::async_trait]
pub trait OutputRootSource: Send + Sync {
    /// The output at canonical block `number`; `None` when the source does not have it.
    async fn output_at_block(&self, number: u64) -> Result<Option<OutputAtBlock>, SourceError>;
}

/// Blocks of one chain in their gossip form.
#[async_trait::async_trait]
pub trait PayloadSource: Send + Sync {
    /// The canonical block `number` as gossip would carry it; `None` when unknown.
    async fn payload_by_number(&self, number: u64)
    -> Result<Option<PayloadForGossip>, SourceError>;
}

impl From<L2ClientError> for SourceError {
    fn from(e: L2ClientError) -> Self {
        if e.is_transport() {
            Self::Unavailable(e.to_string())
        } else {
            Self::Invalid(e.to_string())
        }
    }
}

/// Blocks read from the chain's execution client (`opfleet_payloadByNumber`).
///
/// Any block the execution client has canonically is served, unsafe ones included: followers
/// ask only to repair gaps in the unsafe chain they follow over gossip, those blocks are public
/// (the sequencer broadcasts them to anyone), and the follower checks the block hash and the
/// parent link itself. Serving only safe blocks would leave exactly those gaps unrepairable.
pub struct ElPayloads(pub L2Client);

#[async_trait::async_trait]
impl PayloadSource for ElPayloads {
    async fn payload_by_number(
        &self,
        number: u64,
    ) -> Result<Option<PayloadForGossip>, SourceError> {
        Ok(self.0.payload_by_number(number).await?)
    }
}
