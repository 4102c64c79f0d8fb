//! One bounded cache for every chain's L1 reads, keyed by content so it never needs invalidation.
//!
//! ```text
//!  key (what it is addressed by)          value                    weight (bytes, estimated)
//!  Header(block hash)                     Sealed<Header>           struct + extra data
//!  Transactions(block hash)               Arc<Vec<TxEnvelope>>     EIP-2718 lengths + structs
//!  Receipts(block hash)                   Arc<Vec<ReceiptEnvelope>> logs + blooms + structs
//!  Blob(versioned hash)                   Arc<Blob>                131072 + overhead
//!
//!  bounded by entry count AND bytes; the least recently used entry goes first
//! ```
//! Only verified data goes in (headers that hash to their key, lists that match their header's
//! roots, KZG-checked blobs), and by-number or by-tag answers never do: a block hash or a
//! versioned hash names one content forever, so an L1 reorg cannot make an entry wrong.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use alloy::consensus::{Header, ReceiptEnvelope, Sealed, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::primitives::B256;
use opfleet_protocol::blob::{BLOB_SIZE, Blob};

/// Bounds of the shared cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// At most this many entries (of all kinds together).
    pub max_entries: usize,
    /// At most this many bytes (estimated) of all entries together.
    pub max_bytes: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_entries: 8192,
            max_bytes: 256 * 1024 * 1024,
        }
    }
}

/// A least-recently-used map bounded by entry count and by the sum of caller-given weights.
#[derive(Debug)]
pub struct BoundedLru<K, V> {
    map: HashMap<K, Slot<V>>,
    /// Recency order: the smallest tick is the least recently used.
    order: BTreeMap<u64, K>,
    tick: u64,
    bytes: usize,
    config: CacheConfig,
}

#[derive(Debug)]
struct Slot<V> {
    value: V,
    bytes: usize,
    tick: u64,
}

impl<K: Hash + Eq + Clone, V> BoundedLru<K, V> {
    /// An empty cache with these bounds.
    pub fn new(config: CacheConfig) -> Self {
        Self {
            map: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            bytes: 0,
            config,
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Sum of the weights held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn next_tick(&mut self) -> u64 {
        self.tick = self.tick.wrapping_add(1);
        self.tick
    }

    /// The value for `key`, marking it most recently used.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        let tick = self.next_tick();
        let slot = self.map.get_mut(key)?;
        self.order.remove(&slot.tick);
        slot.tick = tick;
        self.order.insert(tick, key.clone());
        Some(&slot.value)
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let slot = self.map.remove(key)?;
        self.order.remove(&slot.tick);
        self.bytes -= slot.bytes;
        Some(slot.value)
    }

    /// Stores `value` under `key` with weight `bytes`, evicting least recently used entries until
    /// both bounds hold. A value heavier than the whole byte bound is not stored (returns false).
    pub fn insert(&mut self, key: K, value: V, bytes: usize) -> bool {
        self.remove(&key);
        if bytes > self.config.max_bytes || self.config.max_entries == 0 {
            return false;
        }
        while self.map.len() >= self.config.max_entries
            || self.bytes.saturating_add(bytes) > self.config.max_bytes
        {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some(slot) = self.map.remove(&oldest) {
                self.bytes -= slot.bytes;
            }
        }
        let tick = self.next_tick();
        self.order.insert(tick, key.clone());
        self.map.insert(key, Slot { value, bytes, tick });
        self.bytes += bytes;
        true
    }
}

/// What an entry is, for the `kind` label of the hit/miss counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CacheKind {
    /// A block header.
    Header,
    /// A block's transactions.
    Transactions,
    /// A block's receipts.
    Receipts,
    /// One blob.
    Blob,
}

impl CacheKind {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Header => "header",
            Self::Transactions => "transactions",
            Self::Receipts => "receipts",
            Self::Blob => "blob",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Header(B256),
    Transactions(B256),
    Receipts(B256),
    Blob(B256),
}

#[derive(Clone, Debug)]
enum Value {
    Header(Arc<Sealed<Header>>),
    Transactions(Arc<Vec<TxEnvelope>>),
    Receipts(Arc<Vec<ReceiptEnvelope>>),
    Blob(Arc<Blob>),
}

/// Fixed per-entry overhead assumed on top of the payload (map slot, order entry, Arc).
const ENTRY_OVERHEAD: usize = 128;

fn header_weight(h: &Header) -> usize {
    ENTRY_OVERHEAD + size_of::<Header>() + h.extra_data.len()
}

fn transactions_weight(txs: &[TxEnvelope]) -> usize {
    ENTRY_OVERHEAD
        + txs
            .iter()
            .map(|t| size_of::<TxEnvelope>() + t.encode_2718_len())
            .sum::<usize>()
}

fn receipts_weight(receipts: &[ReceiptEnvelope]) -> usize {
    ENTRY_OVERHEAD
        + receipts
            .iter()
            .map(|r| {
                size_of::<ReceiptEnvelope>()
                    + r.logs()
                        .iter()
                        .map(|l| 64 + 32 * l.topics().len() + l.data.data.len())
                        .sum::<usize>()
            })
            .sum::<usize>()
}

/// The L1 cache all chains share (thread-safe; every operation is a short critical section).
#[derive(Debug)]
pub struct L1Cache {
    inner: Mutex<BoundedLru<Key, Value>>,
}

impl L1Cache {
    /// An empty cache with these bounds.
    pub fn new(config: CacheConfig) -> Self {
        Self {
            inner: Mutex::new(BoundedLru::new(config)),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut BoundedLru<Key, Value>) -> R) -> R {
        // A panic elsewhere cannot leave the map half-updated in a way that matters for a cache.
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn get(&self, key: &Key) -> Option<Value> {
        self.with(|c| c.get(key).cloned())
    }

    /// Entries and estimated bytes held.
    pub fn usage(&self) -> (usize, usize) {
        self.with(|c| (c.len(), c.bytes()))
    }

    /// A verified header.
    pub fn header(&self, hash: &B256) -> Option<Sealed<Header>> {
        match self.get(&Key::Header(*hash)) {
            Some(Value::Header(h)) => Some(Sealed::clone(&h)),
            _ => None,
        }
    }

    /// Stores a header that hashes to its seal.
    pub fn put_header(&self, header: Sealed<Header>) {
        let weight = header_weight(header.inner());
        self.with(|c| {
            c.insert(
                Key::Header(header.hash()),
                Value::Header(Arc::new(header)),
                weight,
            )
        });
    }

    /// A block's verified transactions.
    pub fn transactions(&self, block: &B256) -> Option<Arc<Vec<TxEnvelope>>> {
        match self.get(&Key::Transactions(*block)) {
            Some(Value::Transactions(t)) => Some(t),
            _ => None,
        }
    }

    /// Stores a block's transactions (already checked against its transactions root).
    pub fn put_transactions(&self, block: B256, txs: Arc<Vec<TxEnvelope>>) {
        let weight = transactions_weight(&txs);
        self.with(|c| c.insert(Key::Transactions(block), Value::Transactions(txs), weight));
    }

    /// A block's verified receipts.
    pub fn receipts(&self, block: &B256) -> Option<Arc<Vec<ReceiptEnvelope>>> {
        match self.get(&Key::Receipts(*block)) {
            Some(Value::Receipts(r)) => Some(r),
            _ => None,
        }
    }

    /// Stores a block's receipts (already checked against its receipts root).
    pub fn put_receipts(&self, block: B256, receipts: Arc<Vec<ReceiptEnvelope>>) {
        let weight = receipts_weight(&receipts);
        self.with(|c| c.insert(Key::Receipts(block), Value::Receipts(receipts), weight));
    }

    /// A KZG-checked blob.
    pub fn blob(&self, versioned_hash: &B256) -> Option<Arc<Blob>> {
        match self.get(&Key::Blob(*versioned_hash)) {
            Some(Value::Blob(b)) => Some(b),
            _ => None,
        }
    }

    /// Stores a blob that matched its versioned hash.
    pub fn put_blob(&self, versioned_hash: B256, blob: Arc<Blob>) {
        self.with(|c| {
            c.insert(
                Key::Blob(versioned_hash),
                Value::Blob(blob),
                ENTRY_OVERHEAD + BLOB_SIZE,
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::consensus::Sealable;
    use proptest::prelude::*;

    fn lru(max_entries: usize, max_bytes: usize) -> BoundedLru<u32, &'static str> {
        BoundedLru::new(CacheConfig {
            max_entries,
            max_bytes,
        })
    }

    #[test]
    fn entry_bound_evicts_least_recently_used() {
        let mut c = lru(2, 1000);
        c.insert(1, "a", 10);
        c.insert(2, "b", 10);
        assert_eq!(c.get(&1), Some(&"a"));
        c.insert(3, "c", 10);
        assert_eq!(c.get(&2), None, "2 was the least recently used");
        assert_eq!(c.get(&1), Some(&"a"));
        assert_eq!(c.get(&3), Some(&"c"));
        assert_eq!((c.len(), c.bytes()), (2, 20));
    }

    #[test]
    fn byte_bound_evicts_as_many_as_needed() {
        let mut c = lru(100, 100);
        for k in 0..5 {
            c.insert(k, "x", 20);
        }
        assert_eq!(c.bytes(), 100);
        c.insert(9, "big", 70);
        assert_eq!(c.bytes(), 90);
        assert_eq!(c.len(), 2, "four small entries made room for the big one");
        assert!(c.get(&4).is_some());
        assert!(c.get(&0).is_none());
    }

    #[test]
    fn too_heavy_values_are_not_stored() {
        let mut c = lru(10, 50);
        c.insert(1, "a", 10);
        assert!(!c.insert(2, "huge", 51));
        assert_eq!(c.get(&1), Some(&"a"), "a refused insert evicts nothing");
        assert!(c.get(&2).is_none());
        let mut zero = lru(0, 50);
        assert!(!zero.insert(1, "a", 1));
        assert!(zero.is_empty());
    }

    #[test]
    fn replacing_a_key_updates_its_weight() {
        let mut c = lru(10, 100);
        c.insert(1, "a", 30);
        c.insert(1, "b", 50);
        assert_eq!((c.len(), c.bytes()), (1, 50));
        assert_eq!(c.remove(&1), Some("b"));
        assert_eq!((c.len(), c.bytes()), (0, 0));
    }

    #[test]
    fn typed_cache_keeps_kinds_apart() {
        let cache = L1Cache::new(CacheConfig::default());
        let header = Header::default().seal_slow();
        let hash = header.hash();
        cache.put_header(header.clone());
        cache.put_transactions(hash, Arc::new(Vec::new()));
        assert_eq!(cache.header(&hash), Some(header));
        assert_eq!(cache.transactions(&hash).map(|t| t.len()), Some(0));
        assert!(cache.receipts(&hash).is_none());
        assert!(cache.blob(&hash).is_none());
        cache.put_blob(hash, Arc::new(Blob::default()));
        assert!(cache.blob(&hash).is_some());
        assert_eq!(cache.usage().0, 3);
    }

    #[test]
    fn blobs_respect_the_byte_bound() {
        let cache = L1Cache::new(CacheConfig {
            max_entries: 100,
            max_bytes: 3 * (BLOB_SIZE + ENTRY_OVERHEAD),
        });
        for i in 0..5u8 {
            cache.put_blob(B256::repeat_byte(i), Arc::new(Blob::default()));
        }
        let (entries, bytes) = cache.usage();
        assert_eq!(entries, 3);
        assert!(bytes <= 3 * (BLOB_SIZE + ENTRY_OVERHEAD));
        assert!(cache.blob(&B256::repeat_byte(0)).is_none());
        assert!(cache.blob(&B256::repeat_byte(4)).is_some());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, usize),
        Get(u8),
        Remove(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (any::<u8>(), 0usize..400).prop_map(|(k, w)| Op::Insert(k, w)),
            any::<u8>().prop_map(Op::Get),
            any::<u8>().prop_map(Op::Remove),
        ]
    }

    proptest! {
        /// Whatever the operations, both bounds hold and the byte count is the sum of weights.
        #[test]
        fn bounds_always_hold(max_entries in 0usize..20, max_bytes in 0usize..1000, ops in proptest::collection::vec(op(), 0..200)) {
            let mut c: BoundedLru<u8, usize> = BoundedLru::new(CacheConfig { max_entries, max_bytes });
            for op in ops {
                match op {
                    Op::Insert(k, w) => { c.insert(k, w, w); }
                    Op::Get(k) => { c.get(&k); }
                    Op::Remove(k) => { c.remove(&k); }
                }
                prop_assert!(c.len() <= max_entries);
                prop_assert!(c.bytes() <= max_bytes);
                prop_assert_eq!(c.map.values().map(|s| s.bytes).sum::<usize>(), c.bytes());
                prop_assert_eq!(c.order.len(), c.map.len());
            }
        }
    }
}
