//! The eth reads a rollup node makes of its L2 execution client, answered as rollup-node types.
//!
//! ```text
//!  block_ref_by_number/hash ─▶ eth_getBlockBy{Number,Hash}(.., true) ─▶ check ─▶ L2BlockRef
//!  block_by_number_full     ─▶ eth_getBlockByNumber(n, true)         ─▶ check ─▶ OpRpcBlock
//!  output_at_block(n)       ─▶ the block, then eth_getProof(message passer, [], its hash)
//!                                                                    ─▶ OutputAtBlock
//!  payload_by_number(n)     ─▶ the block ─▶ payload of its topic version ─▶ PayloadForGossip
//! ```
//! `Ok(None)` means the execution client does not have the block; transport failures, error
//! answers and blocks that fail their checks are errors, each its own variant.

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::B256;
use alloy::rpc::types::EIP1186AccountProofResponse;
use opfleet_protocol::L2BlockRef;
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::output_root::L2_TO_L1_MESSAGE_PASSER_ADDRESS;
use opfleet_protocol::p2p::TopicForkTimes;

use crate::block::{BlockCheckError, OpRpcBlock, check_block};
use crate::block_ref::{BlockRefError, l2_block_ref};
use crate::jwt::JwtSecret;
use crate::output::{OutputAtBlock, OutputError, output_from_proof};
use crate::payload::{PayloadError, PayloadForGossip, payload_from_block, topic_fork_times};
use crate::rpc::{RpcError, RpcTransport};

/// Why an L2 execution-client read failed.
#[derive(Debug, thiserror::Error)]
pub enum L2ClientError {
    /// The call failed: transport, auth, JSON-RPC error or malformed answer.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The block failed its hash or transactions-root check.
    #[error(transparent)]
    Block(#[from] BlockCheckError),
    /// The block has no valid L1-info deposit.
    #[error(transparent)]
    BlockRef(#[from] BlockRefError),
    /// The block does not make the payload of its version.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The message-passer proof does not check.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The answer is for another block than the one asked for.
    #[error("asked for block {asked}, execution client answered with block {got}")]
    WrongBlock {
        /// What was asked (number or hash).
        asked: String,
        /// What came back.
        got: String,
    },
}

impl L2ClientError {
    /// The execution client was unreachable or refused the request at the HTTP level.
    pub const fn is_transport(&self) -> bool {
        matches!(self, Self::Rpc(e) if e.is_transport())
    }

    /// The execution client answered, but with something invalid (not an RPC error).
    pub const fn is_invalid(&self) -> bool {
        !matches!(self, Self::Rpc(_))
    }
}

/// Reads of one L2 chain's execution client.
#[derive(Debug)]
pub struct L2Client {
    rpc: RpcTransport,
    config: RollupConfig,
    topic_forks: TopicForkTimes,
}

impl L2Client {
    /// A client of the eth JSON-RPC at `url`, for the chain `config` describes (its genesis
    /// anchors block refs, its forks pick payload versions).
    pub fn new(url: &str, config: &RollupConfig) -> Result<Self, L2ClientError> {
        Self::build(url, None, config)
    }

    /// The same over the authenticated Engine API listener (which also serves `eth_*`).
    pub fn new_authenticated(
        url: &str,
        secret: JwtSecret,
        config: &RollupConfig,
    ) -> Result<Self, L2ClientError> {
        Self::build(url, Some(secret), config)
    }

    fn build(
        url: &str,
        secret: Option<JwtSecret>,
        config: &RollupConfig,
    ) -> Result<Self, L2ClientError> {
        Ok(Self {
            rpc: RpcTransport::new(url, secret)?,
            config: config.clone(),
            topic_forks: topic_fork_times(config),
        })
    }

    /// The same client with another per-call timeout (default [`crate::rpc::DEFAULT_TIMEOUT`]).
    pub fn with_timeout(self, timeout: std::time::Duration) -> Result<Self, L2ClientError> {
        Ok(Self {
            rpc: self.rpc.with_timeout(timeout)?,
            ..self
        })
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        self.rpc.url()
    }

    /// The rollup config the client reads with.
    pub const fn rollup_config(&self) -> &RollupConfig {
        &self.config
    }

    /// The underlying transport, for other eth calls.
    pub const fn transport(&self) -> &RpcTransport {
        &self.rpc
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64, L2ClientError> {
        let id: alloy::primitives::U64 = self.rpc.call("eth_chainId", ()).await?;
        Ok(id.to())
    }

    /// A block by number or tag with full transactions, checked against its hash.
    pub async fn block_by_tag_full(
        &self,
        tag: BlockNumberOrTag,
    ) -> Result<Option<OpRpcBlock>, L2ClientError> {
        let block: Option<OpRpcBlock> =
            not_found_as_none(self.rpc.call("eth_getBlockByNumber", (tag, true)).await)?;
        let Some(block) = block else {
            return Ok(None);
        };
        if let BlockNumberOrTag::Number(n) = tag
            && block.header.number != n
        {
            return Err(L2ClientError::WrongBlock {
                asked: n.to_string(),
                got: block.header.number.to_string(),
            });
        }
        check_block(&block)?;
        Ok(Some(block))
    }

    /// A block by number with full transactions, checked against its hash.
    pub async fn block_by_number_full(
        &self,
        number: u64,
    ) -> Result<Option<OpRpcBlock>, L2ClientError> {
        self.block_by_tag_full(BlockNumberOrTag::Number(number))
            .await
    }

    /// A block by hash with full transactions, checked against its hash.
    pub async fn block_by_hash_full(
        &self,
        hash: B256,
    ) -> Result<Option<OpRpcBlock>, L2ClientError> {
        let block: Option<OpRpcBlock> =
            not_found_as_none(self.rpc.call("eth_getBlockByHash", (hash, true)).await)?;
        let Some(block) = block else {
            return Ok(None);
        };
        if block.header.hash != hash {
            return Err(L2ClientError::WrongBlock {
                asked: hash.to_string(),
                got: block.header.hash.to_string(),
            });
        }
        check_block(&block)?;
        Ok(Some(block))
    }

    /// The [`L2BlockRef`] of a block by number or tag (`latest`, `safe`, `finalized`...).
    pub async fn block_ref_by_number(
        &self,
        tag: BlockNumberOrTag,
    ) -> Result<Option<L2BlockRef>, L2ClientError> {
        match self.block_by_tag_full(tag).await? {
            Some(block) => Ok(Some(l2_block_ref(&block, &self.config.genesis)?)),
            None => Ok(None),
        }
    }

    /// The [`L2BlockRef`] of a block by hash.
    pub async fn block_ref_by_hash(&self, hash: B256) -> Result<Option<L2BlockRef>, L2ClientError> {
        match self.block_by_hash_full(hash).await? {
            Some(block) => Ok(Some(l2_block_ref(&block, &self.config.genesis)?)),
            None => Ok(None),
        }
    }

    /// The output root at block `number`, from an `eth_getProof` of the message passer at that
    /// block's hash (so that a reorg between the two reads cannot mix two blocks).
    pub async fn output_at_block(
        &self,
        number: u64,
    ) -> Result<Option<OutputAtBlock>, L2ClientError> {
        let Some(block) = self.block_by_number_full(number).await? else {
            return Ok(None);
        };
        let block_ref = l2_block_ref(&block, &self.config.genesis)?;
        // The block may have been reorged out between the two reads.
        let proof: Option<EIP1186AccountProofResponse> = not_found_as_none(
            self.rpc
                .call(
                    "eth_getProof",
                    (
                        L2_TO_L1_MESSAGE_PASSER_ADDRESS,
                        Vec::<B256>::new(),
                        block_ref.hash,
                    ),
                )
                .await,
        )?;
        let Some(proof) = proof else {
            return Ok(None);
        };
        Ok(Some(output_from_proof(
            block_ref,
            block.header.state_root,
            &proof,
        )?))
    }

    /// Block `number` as the execution payload a sequencer gossiped for it.
    pub async fn payload_by_number(
        &self,
        number: u64,
    ) -> Result<Option<PayloadForGossip>, L2ClientError> {
        match self.block_by_number_full(number).await? {
            Some(block) => Ok(Some(payload_from_block(&block, &self.topic_forks)?)),
            None => Ok(None),
        }
    }
}

/// Error messages with which execution clients say "no such block" instead of answering null:
/// geth and erigon for `safe`/`finalized` before anything is marked, and for `eth_getProof` at an
/// unknown block (op-node `L2BlockRefByLabel` lists the same phrases).
const NOT_FOUND_MESSAGES: [&str; 4] = [
    "block not found",
    "Unknown block",
    "unknown block",
    "header not found",
];

/// Whether a JSON-RPC error message means the block does not exist.
pub fn is_not_found_message(message: &str) -> bool {
    NOT_FOUND_MESSAGES.iter().any(|m| message.contains(m))
}

/// Reads a "no such block" error answer as `None`.
fn not_found_as_none<T>(result: Result<Option<T>, RpcError>) -> Result<Option<T>, RpcError> {
    match result {
        Err(RpcError::Rpc { message, .. }) if is_not_found_message(&message) => Ok(None),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpc_error(message: &str) -> RpcError {
        RpcError::Rpc {
            method: "eth_getBlockByNumber".into(),
            code: -32000,
            message: message.into(),
            data: None,
        }
    }

    #[test]
    fn not_found_answers_read_as_none() {
        for message in [
            "safe block not found",
            "finalized block not found",
            "Unknown block",
            "unknown block",
            "header not found",
        ] {
            assert!(matches!(
                not_found_as_none::<u64>(Err(rpc_error(message))),
                Ok(None)
            ));
        }
        assert!(matches!(
            not_found_as_none::<u64>(Err(rpc_error("execution aborted"))),
            Err(RpcError::Rpc { .. })
        ));
        assert!(matches!(not_found_as_none(Ok(Some(3u64))), Ok(Some(3))));
    }

    #[test]
    fn error_classes() {
        let transport = L2ClientError::Rpc(RpcError::Transport {
            method: "m".into(),
            url: "u".into(),
            reason: "refused".into(),
        });
        assert!(transport.is_transport() && !transport.is_invalid());
        let answered = L2ClientError::Rpc(rpc_error("execution aborted"));
        assert!(!answered.is_transport() && !answered.is_invalid());
        let invalid = L2ClientError::Block(BlockCheckError::NotFull(1));
        assert!(!invalid.is_transport() && invalid.is_invalid());
    }
}
