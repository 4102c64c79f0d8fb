//! Per-chain cache hit and miss counts: Prometheus counters through the `metrics` facade and the
//! same numbers in process, for the status page and tests.
//!
//! ```text
//!  opfleet_l1_cache_hits_total{chain="10", kind="header|transactions|receipts|blob"}
//!  opfleet_l1_cache_misses_total{chain="10", kind=...}
//!  opfleet_l1_retries_total{request="eth_getBlockByHash|beacon ..."}       (see `retry`)
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use opfleet_protocol::ChainId;

use super::cache::CacheKind;

/// Hits and misses of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HitMiss {
    /// Answered from the cache.
    pub hits: u64,
    /// Fetched from the L1 source.
    pub misses: u64,
}

/// A snapshot of one chain's cache counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Headers by hash.
    pub headers: HitMiss,
    /// Block transaction lists.
    pub transactions: HitMiss,
    /// Block receipt lists.
    pub receipts: HitMiss,
    /// Blobs (one count per blob).
    pub blobs: HitMiss,
}

#[derive(Debug, Default)]
struct Pair {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Pair {
    fn snapshot(&self) -> HitMiss {
        HitMiss {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// One chain's live counters.
#[derive(Debug)]
pub struct ChainCacheMetrics {
    chain: ChainId,
    headers: Pair,
    transactions: Pair,
    receipts: Pair,
    blobs: Pair,
}

impl ChainCacheMetrics {
    /// Zeroed counters for `chain`.
    pub fn new(chain: ChainId) -> Self {
        Self {
            chain,
            headers: Pair::default(),
            transactions: Pair::default(),
            receipts: Pair::default(),
            blobs: Pair::default(),
        }
    }

    fn pair(&self, kind: CacheKind) -> &Pair {
        match kind {
            CacheKind::Header => &self.headers,
            CacheKind::Transactions => &self.transactions,
            CacheKind::Receipts => &self.receipts,
            CacheKind::Blob => &self.blobs,
        }
    }

    /// Counts `n` lookups of `kind` that the cache answered (`hit`) or did not.
    pub fn record(&self, kind: CacheKind, hit: bool, n: u64) {
        if n == 0 {
            return;
        }
        let pair = self.pair(kind);
        let chain = self.chain.to_string();
        if hit {
            pair.hits.fetch_add(n, Ordering::Relaxed);
            metrics::counter!("opfleet_l1_cache_hits_total", "chain" => chain, "kind" => kind.as_str())
                .increment(n);
        } else {
            pair.misses.fetch_add(n, Ordering::Relaxed);
            metrics::counter!("opfleet_l1_cache_misses_total", "chain" => chain, "kind" => kind.as_str())
                .increment(n);
        }
    }

    /// The counts so far.
    pub fn snapshot(&self) -> CacheStats {
        CacheStats {
            headers: self.headers.snapshot(),
            transactions: self.transactions.snapshot(),
            receipts: self.receipts.snapshot(),
            blobs: self.blobs.snapshot(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind() {
        let m = ChainCacheMetrics::new(ChainId(10));
        m.record(CacheKind::Header, true, 1);
        m.record(CacheKind::Header, false, 2);
        m.record(CacheKind::Blob, true, 3);
        m.record(CacheKind::Receipts, false, 0);
        let s = m.snapshot();
        assert_eq!(s.headers, HitMiss { hits: 1, misses: 2 });
        assert_eq!(s.blobs, HitMiss { hits: 3, misses: 0 });
        assert_eq!(s.receipts, HitMiss::default());
        assert_eq!(s.transactions, HitMiss::default());
    }
}
