//! Fetching a missing payload by number: P2P `payload_by_number` first, then the source's
//! `opfleet_payloadByNumber` (C2), each answer checked to be the block asked for with a correct
//! block hash.
//!
//! ```text
//!   FetchChain [ P2pFetcher (each connected peer), SourceFetcher (each supernode URL) ]
//!        first checked answer wins; failures are logged and the next one is asked
//!        fetch_matching(n, hash): only block `hash` wins (a reorg to the attested chain must
//!        not stop at a peer that is on another fork at n)
//! ```

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{B256, Bytes};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use op_alloy_rpc_types_engine::OpExecutionPayloadEnvelope;
use opfleet_p2p::BlockGossipNode;
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::p2p::req_resp::{check_served_block, decode_payload_body};
use opfleet_protocol::p2p::{BlockTopicVersion, TopicForkTimes};
use serde::Deserialize;

/// Where missing payloads can come from.
#[async_trait::async_trait]
pub trait PayloadFetcher: Send + Sync {
    /// Short name for logs and metrics.
    fn name(&self) -> String;
    /// The canonical payload at `number`, checked, if this fetcher has it.
    async fn payload_by_number(
        &self,
        number: u64,
    ) -> Result<Option<OpExecutionPayloadEnvelope>, FetchError>;

    /// The payload at `number` if it is block `want`; a fetcher with several peers asks each.
    async fn payload_matching(
        &self,
        number: u64,
        want: B256,
    ) -> Result<Option<OpExecutionPayloadEnvelope>, FetchError> {
        Ok(self
            .payload_by_number(number)
            .await?
            .filter(|e| e.execution_payload.block_hash() == want))
    }
}

/// A fetch that failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Transport or RPC failure.
    #[error("{source_name}: {reason}")]
    Transport {
        /// The fetcher.
        source_name: String,
        /// Why.
        reason: String,
    },
    /// The answer is not the block asked for or does not decode.
    #[error("{source_name}: payload #{number}: {reason}")]
    Invalid {
        /// The fetcher.
        source_name: String,
        /// The number asked for.
        number: u64,
        /// What is wrong.
        reason: String,
    },
}

/// The topic version of block `number` under `rollup`'s forks.
pub fn version_for_block(rollup: &RollupConfig, number: u64) -> Option<BlockTopicVersion> {
    let ts = rollup.timestamp_for_block(number)?;
    let forks = TopicForkTimes {
        canyon: rollup.hardforks.canyon_time,
        ecotone: rollup.hardforks.ecotone_time,
        isthmus: rollup.hardforks.isthmus_time,
    };
    Some(forks.version_at(ts))
}

/// Asks every connected block-gossip peer in turn.
pub struct P2pFetcher {
    /// The node.
    pub node: Arc<BlockGossipNode>,
    /// The rollup config (topic version per block).
    pub rollup: RollupConfig,
}

#[async_trait::async_trait]
impl PayloadFetcher for P2pFetcher {
    fn name(&self) -> String {
        "p2p".into()
    }

    async fn payload_by_number(
        &self,
        number: u64,
    ) -> Result<Option<OpExecutionPayloadEnvelope>, FetchError> {
        let Some(version) = version_for_block(&self.rollup, number) else {
            return Ok(None);
        };
        let peers = self.node.peers().await.map_err(|e| FetchError::Transport {
            source_name: self.name(),
            reason: e.to_string(),
        })?;
        for peer in peers {
            match self.node.request_payload(peer, number, version).await {
                Ok(env) => return Ok(Some(env)),
                Err(e) => tracing::debug!(%peer, number, error = %e, "payload_by_number failed"),
            }
        }
        Ok(None)
    }

    async fn payload_matching(
        &self,
        number: u64,
        want: B256,
    ) -> Result<Option<OpExecutionPayloadEnvelope>, FetchError> {
        let Some(version) = version_for_block(&self.rollup, number) else {
            return Ok(None);
        };
        let peers = self.node.peers().await.map_err(|e| FetchError::Transport {
            source_name: self.name(),
            reason: e.to_string(),
        })?;
        for peer in peers {
            match self.node.request_payload(peer, number, version).await {
                Ok(env) if env.execution_payload.block_hash() == want => return Ok(Some(env)),
                Ok(env) => {
                    tracing::debug!(%peer, number, served = %env.execution_payload.block_hash(),
                    %want, "peer has another block at this height")
                }
                Err(e) => tracing::debug!(%peer, number, error = %e, "payload_by_number failed"),
            }
        }
        Ok(None)
    }
}

/// `opfleet_payloadByNumber`'s answer (C2).
#[derive(Debug, Deserialize)]
struct SourcePayload {
    version: u8,
    payload: Bytes,
}

/// Decodes C2's `{version, payload}`: the req/resp body of that topic version.
pub fn decode_source_payload(
    version: u8,
    body: &[u8],
    number: u64,
) -> Result<OpExecutionPayloadEnvelope, String> {
    let version = BlockTopicVersion::from_topic_index(version.wrapping_sub(1))
        .ok_or_else(|| format!("unknown payload version {version}"))?;
    let env = decode_payload_body(body, version).map_err(|e| e.to_string())?;
    check_served_block(&env, number).map_err(|e| e.to_string())?;
    Ok(env)
}

/// A supernode's (or any C2 server's) per-chain prefix.
pub struct SourceFetcher {
    url: String,
    client: HttpClient,
}

impl SourceFetcher {
    /// A fetcher for the per-chain prefix URL `.../<chainid>/`.
    pub fn new(prefix_url: &str) -> Result<Self, FetchError> {
        let client = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(10))
            .build(prefix_url)
            .map_err(|e| FetchError::Transport {
                source_name: prefix_url.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            url: prefix_url.to_string(),
            client,
        })
    }
}

#[async_trait::async_trait]
impl PayloadFetcher for SourceFetcher {
    fn name(&self) -> String {
        self.url.clone()
    }

    async fn payload_by_number(
        &self,
        number: u64,
    ) -> Result<Option<OpExecutionPayloadEnvelope>, FetchError> {
        let answer: Option<SourcePayload> = self
            .client
            .request(
                "opfleet_payloadByNumber",
                rpc_params![format!("0x{number:x}")],
            )
            .await
            .map_err(|e| FetchError::Transport {
                source_name: self.name(),
                reason: e.to_string(),
            })?;
        let Some(answer) = answer else {
            return Ok(None);
        };
        decode_source_payload(answer.version, &answer.payload, number)
            .map(Some)
            .map_err(|reason| FetchError::Invalid {
                source_name: self.name(),
                number,
                reason,
            })
    }
}

/// Several fetchers, asked in order.
#[derive(Default)]
pub struct FetchChain {
    fetchers: Vec<Arc<dyn PayloadFetcher>>,
}

impl FetchChain {
    /// A chain asking `fetchers` in order.
    pub fn new(fetchers: Vec<Arc<dyn PayloadFetcher>>) -> Self {
        Self { fetchers }
    }

    /// The first fetcher's checked payload at `number`.
    pub async fn fetch(&self, number: u64) -> Option<OpExecutionPayloadEnvelope> {
        self.first(number, None).await
    }

    /// The checked payload of block `want` at `number`, from the first fetcher that has it.
    pub async fn fetch_matching(
        &self,
        number: u64,
        want: B256,
    ) -> Option<OpExecutionPayloadEnvelope> {
        self.first(number, Some(want)).await
    }

    async fn first(&self, number: u64, want: Option<B256>) -> Option<OpExecutionPayloadEnvelope> {
        for f in &self.fetchers {
            let answer = match want {
                Some(want) => f.payload_matching(number, want).await,
                None => f.payload_by_number(number).await,
            };
            match answer {
                Ok(Some(env)) => {
                    metrics::counter!("follower_payload_fetch_total", "source" => f.name(), "result" => "ok")
                        .increment(1);
                    return Some(env);
                }
                Ok(None) => {}
                Err(e) => {
                    metrics::counter!("follower_payload_fetch_total", "source" => f.name(), "result" => "error")
                        .increment(1);
                    tracing::warn!(number, error = %e, "payload fetch failed");
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unsafe_blocks::queue::tests::env;

    /// A fetcher that has one block per height: `hash_byte` picks its fork.
    struct OnFork {
        hash_byte: u8,
        asked: std::sync::Mutex<Vec<u64>>,
    }

    #[async_trait::async_trait]
    impl PayloadFetcher for OnFork {
        fn name(&self) -> String {
            format!("fork-{}", self.hash_byte)
        }

        async fn payload_by_number(
            &self,
            number: u64,
        ) -> Result<Option<OpExecutionPayloadEnvelope>, FetchError> {
            self.asked.lock().unwrap().push(number);
            Ok(Some(env(
                number,
                B256::repeat_byte(self.hash_byte),
                B256::ZERO,
            )))
        }
    }

    #[tokio::test]
    async fn fetch_matching_skips_a_fetcher_on_another_fork() {
        let wrong = Arc::new(OnFork {
            hash_byte: 1,
            asked: Default::default(),
        });
        let right = Arc::new(OnFork {
            hash_byte: 2,
            asked: Default::default(),
        });
        let chain = FetchChain::new(vec![wrong.clone(), right.clone()]);
        let hash =
            |e: Option<OpExecutionPayloadEnvelope>| e.map(|e| e.execution_payload.block_hash());
        // Plain fetch: the first answer wins.
        assert_eq!(hash(chain.fetch(5).await), Some(B256::repeat_byte(1)));
        assert!(right.asked.lock().unwrap().is_empty());
        // Matching: the wrong fork's block is passed over.
        assert_eq!(
            hash(chain.fetch_matching(5, B256::repeat_byte(2)).await),
            Some(B256::repeat_byte(2))
        );
        assert_eq!(*wrong.asked.lock().unwrap(), vec![5, 5]);
        assert_eq!(chain.fetch_matching(5, B256::repeat_byte(3)).await, None);
    }

    #[test]
    fn an_unknown_version_or_short_body_is_an_error_not_a_panic() {
        assert!(decode_source_payload(0, &[], 1).is_err());
        assert!(decode_source_payload(9, &[], 1).is_err());
        assert!(decode_source_payload(3, &[1, 2, 3], 1).is_err());
    }
}
