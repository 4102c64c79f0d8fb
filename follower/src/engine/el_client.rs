//! [`ExecutionLayer`] over a real execution client: Engine API calls with JWT through
//! `opfleet_engine::EngineClient`, chain reads through `opfleet_engine::L2Client`.

use alloy::eips::BlockNumberOrTag;
use alloy::rpc::types::engine::{ForkchoiceState, PayloadStatusEnum};
use op_alloy_rpc_types_engine::OpExecutionPayloadEnvelope;
use opfleet_engine::{EngineClient, JwtSecret, L2Client};
use opfleet_protocol::L2BlockRef;
use opfleet_protocol::config::RollupConfig;

use crate::engine::{BlockAt, ElError, ExecutionLayer, Forkchoice, OwnOutput};

/// The follower's execution client.
pub struct EngineLayer {
    engine: EngineClient,
    l2: L2Client,
}

impl EngineLayer {
    /// Clients of the Engine API at `engine_url` (JWT `secret`) and eth RPC at `rpc_url`.
    pub fn new(
        engine_url: &str,
        rpc_url: &str,
        secret: JwtSecret,
        rollup: &RollupConfig,
    ) -> Result<Self, ElError> {
        let engine = EngineClient::new(engine_url, secret.clone())
            .map_err(|e| ElError::Transport(format!("{engine_url}: {e}")))?;
        // The Engine API listener also serves eth_*; authenticate when reads go there.
        let l2 = if rpc_url == engine_url {
            L2Client::new_authenticated(rpc_url, secret, rollup)
        } else {
            L2Client::new(rpc_url, rollup)
        }
        .map_err(|e| ElError::Transport(format!("{rpc_url}: {e}")))?;
        Ok(Self { engine, l2 })
    }
}

fn l2_err(e: opfleet_engine::L2ClientError) -> ElError {
    if e.is_transport() {
        ElError::Transport(e.to_string())
    } else {
        ElError::Invalid(e.to_string())
    }
}

fn engine_err(e: opfleet_engine::EngineError) -> ElError {
    if e.is_transport() {
        ElError::Transport(e.to_string())
    } else {
        ElError::Invalid(e.to_string())
    }
}

#[async_trait::async_trait]
impl ExecutionLayer for EngineLayer {
    async fn block_ref(&self, at: BlockAt) -> Result<Option<L2BlockRef>, ElError> {
        let tag = match at {
            BlockAt::Latest => BlockNumberOrTag::Latest,
            BlockAt::Safe => BlockNumberOrTag::Safe,
            BlockAt::Finalized => BlockNumberOrTag::Finalized,
            BlockAt::Number(n) => BlockNumberOrTag::Number(n),
        };
        self.l2.block_ref_by_number(tag).await.map_err(l2_err)
    }

    async fn new_payload(
        &self,
        payload: &OpExecutionPayloadEnvelope,
    ) -> Result<PayloadStatusEnum, ElError> {
        Ok(self
            .engine
            .new_payload(payload)
            .await
            .map_err(engine_err)?
            .status)
    }

    async fn forkchoice_updated(&self, fc: Forkchoice) -> Result<PayloadStatusEnum, ElError> {
        let state = ForkchoiceState {
            head_block_hash: fc.head,
            safe_block_hash: fc.safe,
            finalized_block_hash: fc.finalized,
        };
        Ok(self
            .engine
            .forkchoice_updated(state, None)
            .await
            .map_err(engine_err)?
            .payload_status
            .status)
    }

    async fn output_at(&self, number: u64) -> Result<Option<OwnOutput>, ElError> {
        Ok(self
            .l2
            .output_at_block(number)
            .await
            .map_err(l2_err)?
            .map(|o| OwnOutput {
                block: o.block,
                output_root: o.output_root,
            }))
    }

    async fn payload_by_number(
        &self,
        number: u64,
    ) -> Result<Option<OpExecutionPayloadEnvelope>, ElError> {
        Ok(self
            .l2
            .payload_by_number(number)
            .await
            .map_err(l2_err)?
            .map(|p| p.envelope))
    }
}
