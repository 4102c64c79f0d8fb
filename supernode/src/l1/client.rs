//! The shared L1 client and its cheap per-chain handles; the eth JSON-RPC half of the traits.
//!
//! ```text
//!  L1Client (one per process) ── Arc<Shared> ──┬── ChainL1 { chain 10 }   counts under chain="10"
//!                                              ├── ChainL1 { chain 8453 } counts under chain="8453"
//!                                              └── ...
//!  Shared = RPC transport + beacon transport + L1Cache + retry policy + clock + slot clock
//! ```

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};

use alloy::consensus::{Header, ReceiptEnvelope, Sealed, TxEnvelope};
use alloy::primitives::B256;
use alloy::rpc::types::{Block, Header as RpcHeader, Transaction, TransactionReceipt};
use opfleet_protocol::{ChainId, L1BlockRef};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::beacon::{BeaconTransport, SlotClock};
use super::cache::{CacheKind, L1Cache};
use super::config::L1ClientConfig;
use super::flight::Flights;
use super::metrics::{CacheStats, ChainCacheMetrics};
use super::retry::{Clock, RetryPolicy, TokioClock, retry};
use super::rpc::{RpcError, RpcTransport};
use super::verify::{self, BlockCheckError};
use crate::derive::traits::{L1ChainProvider, L1Tag, ProviderError};

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum L1ClientError {
    /// An endpoint is not an absolute http(s) URL.
    #[error("{which} URL {url:?}: {reason}")]
    Url {
        /// Which endpoint ("L1 RPC" or "L1 beacon").
        which: &'static str,
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built (TLS setup).
    #[error("building the L1 HTTP client: {0}")]
    Http(String),
}

/// State every chain handle shares.
pub(super) struct Shared {
    pub(super) rpc: RpcTransport,
    pub(super) beacon: BeaconTransport,
    pub(super) cache: L1Cache,
    pub(super) retry: RetryPolicy,
    pub(super) clock: Arc<dyn Clock>,
    /// Genesis time and slot length, fetched once.
    pub(super) slot_clock: OnceCell<SlotClock>,
    /// Set once `/blobs/` served what `/blob_sidecars/` did not: ask it first from then on.
    pub(super) prefer_blobs_endpoint: AtomicBool,
    /// One fetch at a time per (kind, block hash), so chains missing together fetch once.
    flights: Flights<(CacheKind, B256)>,
    chains: Mutex<HashMap<ChainId, Arc<ChainCacheMetrics>>>,
}

fn parse_url(which: &'static str, url: &str) -> Result<reqwest::Url, L1ClientError> {
    let err = |reason: String| L1ClientError::Url {
        which,
        url: url.to_string(),
        reason,
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| err(e.to_string()))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(err(format!("scheme {other:?} is not http or https"))),
    }
}

/// The supernode's one L1 client: JSON-RPC, beacon API and cache, shared by every chain.
#[derive(Clone)]
pub struct L1Client {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for L1Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L1Client").finish_non_exhaustive()
    }
}

impl L1Client {
    /// A client for these endpoints with real timers.
    pub fn new(config: L1ClientConfig) -> Result<Self, L1ClientError> {
        Self::with_clock(config, Arc::new(TokioClock))
    }

    /// A client whose retries sleep and draw jitter through `clock` (tests pass a fake one).
    pub fn with_clock(
        config: L1ClientConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, L1ClientError> {
        let rpc_url = parse_url("L1 RPC", &config.rpc_url)?;
        let beacon_url = parse_url("L1 beacon", &config.beacon_url)?;
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| L1ClientError::Http(e.to_string()))?;
        Ok(Self {
            shared: Arc::new(Shared {
                rpc: RpcTransport::new(http.clone(), rpc_url),
                beacon: BeaconTransport::new(http, beacon_url),
                cache: L1Cache::new(config.cache),
                retry: config.retry,
                clock,
                slot_clock: OnceCell::new(),
                prefer_blobs_endpoint: AtomicBool::new(false),
                flights: Flights::default(),
                chains: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The view of one chain: implements the derivation traits, counts cache hits and misses
    /// under `chain`, shares everything else. Cheap; handles for one chain share counters.
    pub fn for_chain(&self, chain: ChainId) -> ChainL1 {
        let metrics = self
            .shared
            .chains
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(chain)
            .or_insert_with(|| Arc::new(ChainCacheMetrics::new(chain)))
            .clone();
        ChainL1 {
            shared: self.shared.clone(),
            chain,
            metrics,
        }
    }

    /// Entries and estimated bytes in the shared cache.
    pub fn cache_usage(&self) -> (usize, usize) {
        self.shared.cache.usage()
    }
}

/// One chain's handle on the shared [`L1Client`].
#[derive(Clone)]
pub struct ChainL1 {
    pub(super) shared: Arc<Shared>,
    chain: ChainId,
    pub(super) metrics: Arc<ChainCacheMetrics>,
}

impl std::fmt::Debug for ChainL1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainL1")
            .field("chain", &self.chain)
            .finish_non_exhaustive()
    }
}

fn block_ref(header: &Sealed<Header>) -> L1BlockRef {
    L1BlockRef {
        hash: header.hash(),
        number: header.number,
        parent_hash: header.parent_hash,
        timestamp: header.timestamp,
    }
}

impl Shared {
    /// One JSON-RPC call with retries.
    async fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        params: Value,
    ) -> Result<Option<T>, RpcError> {
        retry(&self.retry, &*self.clock, method, || {
            self.rpc.call::<T>(method, params.clone())
        })
        .await
    }

    /// A header by number or tag (`params[0]`), checked against the hash the node claims.
    async fn header_by_id(&self, id: Value) -> Result<Option<Sealed<Header>>, ProviderError> {
        let Some(header) = self
            .call::<RpcHeader>("eth_getBlockByNumber", json!([id, false]))
            .await?
        else {
            return Ok(None);
        };
        let sealed = verify::seal_header(header, None)?;
        self.cache.put_header(sealed.clone());
        Ok(Some(sealed))
    }

    async fn fetch_header(&self, hash: B256) -> Result<Sealed<Header>, ProviderError> {
        let header = self
            .call::<RpcHeader>("eth_getBlockByHash", json!([hash, false]))
            .await?
            .ok_or_else(|| ProviderError::NotFound(format!("L1 block {hash}")))?;
        let sealed = verify::seal_header(header, Some(hash))?;
        self.cache.put_header(sealed.clone());
        Ok(sealed)
    }

    async fn fetch_transactions(&self, hash: B256) -> Result<Arc<Vec<TxEnvelope>>, ProviderError> {
        let block = self
            .call::<Block<Transaction>>("eth_getBlockByHash", json!([hash, true]))
            .await?
            .ok_or_else(|| ProviderError::NotFound(format!("L1 block {hash}")))?;
        let header = verify::seal_header(block.header, Some(hash))?;
        if block.transactions.is_hashes() && !block.transactions.is_empty() {
            return Err(BlockCheckError::NotFull(hash).into());
        }
        let txs: Vec<TxEnvelope> = block
            .transactions
            .into_transactions()
            .map(|t| t.inner.into_inner())
            .collect();
        verify::check_transactions(&header, &txs)?;
        self.cache.put_header(header);
        let txs = Arc::new(txs);
        self.cache.put_transactions(hash, txs.clone());
        Ok(txs)
    }

    async fn fetch_receipts(
        &self,
        header: &Sealed<Header>,
    ) -> Result<Arc<Vec<ReceiptEnvelope>>, ProviderError> {
        let hash = header.hash();
        let receipts = self
            .call::<Vec<TransactionReceipt>>("eth_getBlockReceipts", json!([hash]))
            .await?
            .ok_or_else(|| ProviderError::NotFound(format!("receipts of L1 block {hash}")))?;
        let receipts = Arc::new(verify::check_receipts(header, receipts)?);
        self.cache.put_receipts(hash, receipts.clone());
        Ok(receipts)
    }
}

impl ChainL1 {
    /// The chain this handle counts for.
    pub fn chain_id(&self) -> ChainId {
        self.chain
    }

    /// This chain's cache hits and misses so far.
    pub fn cache_stats(&self) -> CacheStats {
        self.metrics.snapshot()
    }

    /// From the cache, else fetched once however many chains ask at the same time. A lookup
    /// counts as a hit when this chain made no request of its own.
    async fn cached<T, Fut>(
        &self,
        kind: CacheKind,
        hash: B256,
        get: impl Fn(&L1Cache) -> Option<T>,
        fetch: impl FnOnce() -> Fut,
    ) -> Result<T, ProviderError>
    where
        Fut: std::future::Future<Output = Result<T, ProviderError>>,
    {
        if let Some(v) = get(&self.shared.cache) {
            self.metrics.record(kind, true, 1);
            return Ok(v);
        }
        let _flight = self.shared.flights.enter((kind, hash)).await;
        if let Some(v) = get(&self.shared.cache) {
            self.metrics.record(kind, true, 1);
            return Ok(v);
        }
        self.metrics.record(kind, false, 1);
        fetch().await
    }
}

#[async_trait::async_trait]
impl L1ChainProvider for ChainL1 {
    async fn header_by_hash(&self, hash: B256) -> Result<Sealed<Header>, ProviderError> {
        self.cached(
            CacheKind::Header,
            hash,
            |c| c.header(&hash),
            || self.shared.fetch_header(hash),
        )
        .await
    }

    async fn block_ref_by_number(&self, number: u64) -> Result<Option<L1BlockRef>, ProviderError> {
        // Never from the cache: which block is canonical at a height changes with reorgs.
        let header = self
            .shared
            .header_by_id(json!(format!("{number:#x}")))
            .await?;
        match header {
            Some(h) if h.number != number => Err(ProviderError::Invalid(format!(
                "asked L1 block number {number}, node answered block {} ({})",
                h.number,
                h.hash()
            ))),
            other => Ok(other.as_ref().map(block_ref)),
        }
    }

    async fn block_ref_by_tag(&self, tag: L1Tag) -> Result<L1BlockRef, ProviderError> {
        let name = match tag {
            L1Tag::Latest => "latest",
            L1Tag::Safe => "safe",
            L1Tag::Finalized => "finalized",
        };
        self.shared
            .header_by_id(json!(name))
            .await?
            .as_ref()
            .map(block_ref)
            .ok_or_else(|| ProviderError::NotFound(format!("L1 {name} block")))
    }

    async fn transactions_by_hash(
        &self,
        hash: B256,
    ) -> Result<Arc<Vec<TxEnvelope>>, ProviderError> {
        self.cached(
            CacheKind::Transactions,
            hash,
            |c| c.transactions(&hash),
            || self.shared.fetch_transactions(hash),
        )
        .await
    }

    async fn receipts_by_hash(
        &self,
        hash: B256,
    ) -> Result<Arc<Vec<ReceiptEnvelope>>, ProviderError> {
        self.cached(
            CacheKind::Receipts,
            hash,
            |c| c.receipts(&hash),
            || async {
                // The receipts root is in the header (usually a hit: derivation reads it first).
                let header = self.header_by_hash(hash).await?;
                self.shared.fetch_receipts(&header).await
            },
        )
        .await
    }
}
