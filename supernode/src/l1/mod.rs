//! The supernode's L1 plumbing: one execution JSON-RPC client, one beacon client and one bounded
//! cache for every chain it derives, behind the derivation traits.
//!
//! ```text
//!   derive(chain 10) ──┐  ChainL1 (for_chain)    L1Client (shared, Arc)
//!   derive(chain 8453)─┼─ L1ChainProvider ──┐   ┌─ rpc.rs     eth_getBlockByHash/Number, eth_getBlockReceipts
//!   derive(chain ...) ─┘  BlobProvider ─────┼──▶├─ beacon.rs  genesis, spec, /blob_sidecars/, /blobs/
//!                          hit/miss{chain} │   ├─ cache.rs   headers, txs, receipts, blobs (entries + bytes, LRU)
//!                                          │   ├─ retry.rs   exponential backoff + jitter, bounded
//!                                          │   ├─ flight.rs  one fetch per block when chains miss together
//!                                          │   └─ verify.rs  header hash, tx/receipt roots;  kzg.rs  blobs
//! ```
//! Everything cached is addressed by content (block hash, versioned hash) and verified before it
//! goes in; answers by number or tag are never cached, so L1 reorgs need no invalidation.
//!
//! Construction (once per process, before the chains start):
//! `let l1 = L1Client::new(args.to_config())?; let chain_l1 = l1.for_chain(chain_id);`
//! then hand `Arc::new(chain_l1)` to the chain's derivation as `Arc<dyn L1ChainProvider>` and
//! `Arc<dyn BlobProvider>`.

pub mod beacon;
pub mod blobs;
pub mod cache;
pub mod client;
pub mod config;
pub mod flight;
pub mod kzg;
pub mod metrics;
pub mod retry;
pub mod rpc;
pub mod verify;

pub use cache::CacheConfig;
pub use client::{ChainL1, L1Client, L1ClientError};
pub use config::{L1Args, L1ClientConfig};
pub use metrics::{CacheStats, HitMiss};
pub use retry::{Clock, RetryPolicy, TokioClock};
