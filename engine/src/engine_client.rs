//! The Engine API as an OP consensus client drives its execution client (specs
//! `protocol/exec-engine.md`), over HTTP with a fresh JWT per request.
//!
//! ```text
//!  forkchoice_updated(state, attrs?) ─▶ engine_forkchoiceUpdatedV3
//!  get_payload(id, V3 | V4) ──────────▶ engine_getPayloadV3 | V4 ─▶ OpExecutionPayloadEnvelope
//!  new_payload(envelope) ─────────────▶ engine_newPayloadV3 (V3 payload) | V4 (V4 payload)
//!                                        (no blob hashes; V4: empty execution requests)
//! ```
//! Which getPayload version to call follows the fork of the payload's timestamp: V4 from
//! Isthmus on, V3 before ([`PayloadVersion::at`]).

use alloy::primitives::{B256, Bytes};
use alloy::rpc::types::engine::{ForkchoiceState, ForkchoiceUpdated, PayloadId, PayloadStatus};
use op_alloy_rpc_types_engine::{
    OpExecutionPayload, OpExecutionPayloadEnvelope, OpExecutionPayloadEnvelopeV3,
    OpExecutionPayloadEnvelopeV4, OpPayloadAttributes,
};
use opfleet_protocol::config::RollupConfig;

use crate::jwt::JwtSecret;
use crate::rpc::{RpcError, RpcTransport};

/// Why an Engine API call failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The call itself failed: see [`RpcError`] for transport, auth, JSON-RPC and decode cases.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// V1/V2 payloads go through `engine_newPayloadV2`, which OP chains past Ecotone never use.
    #[error("block {number}: a {version} payload cannot be submitted (Ecotone or later only)")]
    PreEcotonePayload {
        /// The payload's block number.
        number: u64,
        /// Its variant.
        version: &'static str,
    },
    /// A V3/V4 payload without its parent beacon block root.
    #[error("block {0}: V3/V4 payload lacks its parent beacon block root")]
    MissingParentBeaconRoot(u64),
}

impl EngineError {
    /// The execution client was unreachable or refused the request at the HTTP level.
    pub const fn is_transport(&self) -> bool {
        matches!(self, Self::Rpc(e) if e.is_transport())
    }

    /// The execution client rejected our JWT.
    pub const fn is_unauthorized(&self) -> bool {
        matches!(self, Self::Rpc(e) if e.is_unauthorized())
    }

    /// The JSON-RPC error code the execution client answered with, if it did.
    pub const fn rpc_code(&self) -> Option<i64> {
        match self {
            Self::Rpc(RpcError::Rpc { code, .. }) => Some(*code),
            _ => None,
        }
    }
}

/// Which `engine_getPayload` method to call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PayloadVersion {
    /// `engine_getPayloadV3`: Ecotone to Holocene.
    V3,
    /// `engine_getPayloadV4`: Isthmus and later.
    V4,
}

impl PayloadVersion {
    /// The version for a payload at L2 timestamp `timestamp` (op-node `EngineAPIMethod`:
    /// V4 once Isthmus is active, V3 otherwise).
    pub const fn at(config: &RollupConfig, timestamp: u64) -> Self {
        if config.is_isthmus_active(timestamp) {
            Self::V4
        } else {
            Self::V3
        }
    }

    /// The JSON-RPC method name.
    pub const fn get_payload_method(self) -> &'static str {
        match self {
            Self::V3 => "engine_getPayloadV3",
            Self::V4 => "engine_getPayloadV4",
        }
    }
}

/// An authenticated Engine API client.
#[derive(Debug)]
pub struct EngineClient {
    rpc: RpcTransport,
}

impl EngineClient {
    /// A client of the Engine API at `url` (the execution client's authrpc), signing a token
    /// with `secret` for every request.
    pub fn new(url: &str, secret: JwtSecret) -> Result<Self, EngineError> {
        Ok(Self {
            rpc: RpcTransport::new(url, Some(secret))?,
        })
    }

    /// The same client with another per-call timeout (default [`crate::rpc::DEFAULT_TIMEOUT`]).
    pub fn with_timeout(self, timeout: std::time::Duration) -> Result<Self, EngineError> {
        Ok(Self {
            rpc: self.rpc.with_timeout(timeout)?,
        })
    }

    /// The Engine API URL.
    pub fn url(&self) -> &str {
        self.rpc.url()
    }

    /// The underlying authenticated transport, for `eth_*` calls on the authrpc listener.
    pub const fn transport(&self) -> &RpcTransport {
        &self.rpc
    }

    /// `engine_exchangeCapabilities`: the methods both sides support.
    pub async fn exchange_capabilities(
        &self,
        ours: Vec<String>,
    ) -> Result<Vec<String>, EngineError> {
        Ok(self
            .rpc
            .call("engine_exchangeCapabilities", (ours,))
            .await?)
    }

    /// `engine_forkchoiceUpdatedV3`, starting a payload build when `attributes` are given.
    pub async fn forkchoice_updated(
        &self,
        state: ForkchoiceState,
        attributes: Option<OpPayloadAttributes>,
    ) -> Result<ForkchoiceUpdated, EngineError> {
        Ok(self
            .rpc
            .call("engine_forkchoiceUpdatedV3", (state, attributes))
            .await?)
    }

    /// `engine_getPayloadV3/V4`: the payload built for `id`, as the fork-neutral envelope.
    pub async fn get_payload(
        &self,
        id: PayloadId,
        version: PayloadVersion,
    ) -> Result<OpExecutionPayloadEnvelope, EngineError> {
        let method = version.get_payload_method();
        Ok(match version {
            PayloadVersion::V3 => {
                let e: OpExecutionPayloadEnvelopeV3 = self.rpc.call(method, (id,)).await?;
                OpExecutionPayloadEnvelope {
                    parent_beacon_block_root: Some(e.parent_beacon_block_root),
                    execution_payload: OpExecutionPayload::V3(e.execution_payload),
                }
            }
            PayloadVersion::V4 => {
                let e: OpExecutionPayloadEnvelopeV4 = self.rpc.call(method, (id,)).await?;
                OpExecutionPayloadEnvelope {
                    parent_beacon_block_root: Some(e.parent_beacon_block_root),
                    execution_payload: OpExecutionPayload::V4(e.execution_payload),
                }
            }
        })
    }

    /// `engine_newPayloadV3/V4`, by the payload's variant: OP blocks carry no blobs and no
    /// execution requests, so those lists are empty.
    pub async fn new_payload(
        &self,
        envelope: &OpExecutionPayloadEnvelope,
    ) -> Result<PayloadStatus, EngineError> {
        let payload = &envelope.execution_payload;
        let number = payload.block_number();
        let root = || {
            envelope
                .parent_beacon_block_root
                .ok_or(EngineError::MissingParentBeaconRoot(number))
        };
        let no_blobs: Vec<B256> = Vec::new();
        Ok(match payload {
            OpExecutionPayload::V3(v3) => {
                self.rpc
                    .call("engine_newPayloadV3", (v3, no_blobs, root()?))
                    .await?
            }
            OpExecutionPayload::V4(v4) => {
                self.rpc
                    .call(
                        "engine_newPayloadV4",
                        (v4, no_blobs, root()?, Vec::<Bytes>::new()),
                    )
                    .await?
            }
            OpExecutionPayload::V1(_) => {
                return Err(EngineError::PreEcotonePayload {
                    number,
                    version: "V1",
                });
            }
            OpExecutionPayload::V2(_) => {
                return Err(EngineError::PreEcotonePayload {
                    number,
                    version: "V2",
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::testutil::{Shape, consensus, rpc};
    use crate::payload::payload_from_block;
    use opfleet_protocol::config::HardForkTimes;
    use opfleet_protocol::p2p::TopicForkTimes;

    fn config(isthmus: Option<u64>) -> RollupConfig {
        RollupConfig {
            hardforks: HardForkTimes {
                ecotone_time: Some(0),
                isthmus_time: isthmus,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn payload_version_follows_isthmus() {
        let c = config(Some(100));
        assert_eq!(PayloadVersion::at(&c, 99), PayloadVersion::V3);
        assert_eq!(PayloadVersion::at(&c, 100), PayloadVersion::V4);
        assert_eq!(
            PayloadVersion::at(&config(None), u64::MAX),
            PayloadVersion::V3
        );
        assert_eq!(
            PayloadVersion::V4.get_payload_method(),
            "engine_getPayloadV4"
        );
    }

    #[tokio::test]
    async fn pre_ecotone_payloads_are_refused_before_any_call() {
        // Nothing listens on port 1: reaching the network would be a transport error instead.
        let client = EngineClient::new("http://127.0.0.1:1", JwtSecret::new([1; 32])).unwrap();
        let bedrock = rpc(&consensus(Shape::Bedrock, 3, 10, Vec::new()));
        let envelope = payload_from_block(&bedrock, &TopicForkTimes::default())
            .unwrap()
            .envelope;
        assert!(matches!(
            client.new_payload(&envelope).await,
            Err(EngineError::PreEcotonePayload { version: "V1", .. })
        ));
        let ecotone = rpc(&consensus(Shape::Ecotone, 3, 10, Vec::new()));
        let forks = TopicForkTimes {
            canyon: Some(0),
            ecotone: Some(0),
            isthmus: None,
        };
        let mut envelope = payload_from_block(&ecotone, &forks).unwrap().envelope;
        envelope.parent_beacon_block_root = None;
        assert!(matches!(
            client.new_payload(&envelope).await,
            Err(EngineError::MissingParentBeaconRoot(3))
        ));
    }

    #[tokio::test]
    async fn unreachable_engine_is_a_transport_error() {
        let client = EngineClient::new("http://127.0.0.1:1", JwtSecret::new([1; 32])).unwrap();
        let err = client.exchange_capabilities(Vec::new()).await.unwrap_err();
        assert!(err.is_transport(), "{err}");
        assert_eq!(err.rpc_code(), None);
    }
}
