//! [`ExecutionLayer`] over `opfleet-engine`: blocks read with [`L2Client`] (hash-checked, full
//! transactions), blocks inserted with [`EngineClient`] (forkchoiceUpdated with attributes,
//! getPayload V3/V4 by fork, newPayload, forkchoiceUpdated).

use std::sync::Arc;

use alloy::eips::BlockNumberOrTag;
use alloy::eips::eip2718::Encodable2718;
use alloy::primitives::{B256, Bytes};
use alloy::rpc::types::engine::{ForkchoiceState, PayloadStatusEnum};
use op_alloy_rpc_types_engine::OpPayloadAttributes;
use opfleet_engine::{
    EngineClient, EngineError, L2Client, L2ClientError, OpRpcBlock, PayloadVersion, consensus_block,
};
use opfleet_protocol::config::RollupConfig;

use super::consolidate::ExecutedBlock;
use super::el::{ElError, ExecutionLayer, InsertOutcome, L2Tag};

/// One chain's execution client through `opfleet-engine`.
#[derive(Debug)]
pub struct EngineExecutionLayer {
    engine: EngineClient,
    l2: L2Client,
    rollup: Arc<RollupConfig>,
}

impl EngineExecutionLayer {
    /// The execution client behind `engine` (authrpc) and `l2` (eth JSON-RPC) for `rollup`.
    pub fn new(engine: EngineClient, l2: L2Client, rollup: Arc<RollupConfig>) -> Self {
        Self { engine, l2, rollup }
    }
}

fn engine_err(e: EngineError) -> ElError {
    if e.is_transport() {
        ElError::Temporary(e.to_string())
    } else {
        ElError::Invalid(e.to_string())
    }
}

fn l2_err(e: L2ClientError) -> ElError {
    if e.is_transport() {
        ElError::Temporary(e.to_string())
    } else {
        ElError::Invalid(e.to_string())
    }
}

/// The block in the driver's form.
fn executed(block: &OpRpcBlock) -> Result<ExecutedBlock, ElError> {
    let hash = block.header.hash;
    let b = consensus_block(block).map_err(|e| ElError::Invalid(e.to_string()))?;
    Ok(ExecutedBlock {
        hash,
        transactions: b
            .body
            .transactions
            .iter()
            .map(|tx| Bytes::from(tx.encoded_2718()))
            .collect(),
        withdrawals: b
            .body
            .withdrawals
            .as_ref()
            .map(|w| w.iter().copied().collect()),
        header: b.header,
    })
}

#[async_trait::async_trait]
impl ExecutionLayer for EngineExecutionLayer {
    async fn block_by_number(&self, number: u64) -> Result<Option<ExecutedBlock>, ElError> {
        self.l2
            .block_by_number_full(number)
            .await
            .map_err(l2_err)?
            .as_ref()
            .map(executed)
            .transpose()
    }

    async fn block_by_tag(&self, tag: L2Tag) -> Result<Option<ExecutedBlock>, ElError> {
        let tag = match tag {
            L2Tag::Latest => BlockNumberOrTag::Latest,
            L2Tag::Safe => BlockNumberOrTag::Safe,
            L2Tag::Finalized => BlockNumberOrTag::Finalized,
        };
        self.l2
            .block_by_tag_full(tag)
            .await
            .map_err(l2_err)?
            .as_ref()
            .map(executed)
            .transpose()
    }

    async fn insert(
        &self,
        parent: B256,
        attributes: OpPayloadAttributes,
        safe: B256,
        finalized: B256,
    ) -> Result<InsertOutcome, ElError> {
        let version = PayloadVersion::at(&self.rollup, attributes.payload_attributes.timestamp);
        let state = ForkchoiceState {
            head_block_hash: parent,
            safe_block_hash: safe,
            finalized_block_hash: finalized,
        };
        let fcu = self
            .engine
            .forkchoice_updated(state, Some(attributes))
            .await
            .map_err(engine_err)?;
        if let PayloadStatusEnum::Invalid { validation_error } = fcu.payload_status.status {
            return Ok(InsertOutcome::Invalid(validation_error));
        }
        let id = fcu.payload_id.ok_or_else(|| {
            ElError::Invalid(format!(
                "forkchoiceUpdated with attributes on {parent} gave no payload id ({:?})",
                fcu.payload_status.status
            ))
        })?;
        let envelope = self
            .engine
            .get_payload(id, version)
            .await
            .map_err(engine_err)?;
        let status = self
            .engine
            .new_payload(&envelope)
            .await
            .map_err(engine_err)?;
        match status.status {
            PayloadStatusEnum::Invalid { validation_error } => {
                return Ok(InsertOutcome::Invalid(validation_error));
            }
            PayloadStatusEnum::Valid | PayloadStatusEnum::Accepted => {}
            other => return Err(ElError::Temporary(format!("newPayload: {other:?}"))),
        }
        let hash = envelope.execution_payload.block_hash();
        self.forkchoice(hash, safe, finalized).await?;
        let block = self
            .l2
            .block_by_hash_full(hash)
            .await
            .map_err(l2_err)?
            .ok_or_else(|| ElError::Invalid(format!("inserted block {hash} is not served")))?;
        Ok(InsertOutcome::Inserted(Box::new(executed(&block)?)))
    }

    async fn forkchoice(&self, head: B256, safe: B256, finalized: B256) -> Result<(), ElError> {
        let state = ForkchoiceState {
            head_block_hash: head,
            safe_block_hash: safe,
            finalized_block_hash: finalized,
        };
        let r = self
            .engine
            .forkchoice_updated(state, None)
            .await
            .map_err(engine_err)?;
        match r.payload_status.status {
            PayloadStatusEnum::Valid => Ok(()),
            PayloadStatusEnum::Invalid { validation_error } => Err(ElError::Invalid(format!(
                "forkchoice to {head}: {validation_error}"
            ))),
            other => Err(ElError::Temporary(format!(
                "forkchoice to {head}: {other:?}"
            ))),
        }
    }
}
