//! In-memory fakes of the derivation I/O traits and builders of L1 content for stage tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use alloy::consensus::{
    Header, Receipt, ReceiptEnvelope, ReceiptWithBloom, Sealed, SignableTransaction, TxEip1559,
    TxEip4844, TxEnvelope,
};
use alloy::primitives::{Address, B256, Bytes, Log, TxKind, U256, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use opfleet_protocol::blob::Blob;
use opfleet_protocol::{BlockId, L1BlockRef, L2BlockRef};

use super::pipeline::L2SafeSource;
use super::traits::{BlobProvider, IndexedBlobHash, L1ChainProvider, L1Tag, ProviderError};

/// L1 genesis time of the fake chain; blocks are 12 s apart.
pub const L1_GENESIS_TIME: u64 = 1_000_000;

/// An L1 ref that is not on the fake chain (a distinct salt).
pub fn l1_ref(number: u64, salt: u8) -> L1BlockRef {
    L1BlockRef {
        hash: B256::repeat_byte(salt),
        number,
        parent_hash: B256::ZERO,
        timestamp: L1_GENESIS_TIME + 12 * number,
    }
}

/// The batcher's test key and address.
pub fn batcher_key() -> (PrivateKeySigner, Address) {
    let k = PrivateKeySigner::from_bytes(&B256::repeat_byte(0xba)).unwrap();
    let a = k.address();
    (k, a)
}

/// Another key.
pub fn other_key() -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(0x0e)).unwrap()
}

/// A signed calldata transaction.
pub fn calldata_tx(key: &PrivateKeySigner, nonce: u64, to: Address, data: &[u8]) -> TxEnvelope {
    let tx = TxEip1559 {
        chain_id: 900,
        nonce,
        gas_limit: 1_000_000,
        max_fee_per_gas: 10,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(to),
        value: U256::ZERO,
        access_list: Default::default(),
        input: Bytes::copy_from_slice(data),
    };
    let sig = key.sign_hash_sync(&tx.signature_hash()).unwrap();
    TxEnvelope::Eip1559(tx.into_signed(sig))
}

/// A signed blob transaction carrying `blobs` (registered with the fake beacon of `l1`).
pub fn blob_tx(
    key: &PrivateKeySigner,
    nonce: u64,
    to: Address,
    blobs: &[Blob],
    l1: &FakeL1,
    _block: L1BlockRef,
) -> TxEnvelope {
    let hashes: Vec<B256> = blobs
        .iter()
        .map(|b| {
            // A fake versioned hash: the fake beacon serves blobs by it.
            let mut h = keccak256(b.as_bytes());
            h.0[0] = 1;
            l1.blobs.lock().unwrap().insert(h, b.clone());
            h
        })
        .collect();
    let tx = TxEip4844 {
        chain_id: 900,
        nonce,
        gas_limit: 100_000,
        max_fee_per_gas: 10,
        max_priority_fee_per_gas: 1,
        to,
        value: U256::ZERO,
        access_list: Default::default(),
        blob_versioned_hashes: hashes,
        max_fee_per_blob_gas: 10,
        input: Bytes::new(),
    };
    let sig = key.sign_hash_sync(&tx.signature_hash()).unwrap();
    TxEnvelope::from(tx.into_signed(sig))
}

/// A successful receipt with these logs.
pub fn receipt(logs: Vec<Log>) -> ReceiptEnvelope {
    ReceiptEnvelope::Eip1559(ReceiptWithBloom::new(
        Receipt {
            status: true.into(),
            cumulative_gas_used: 21_000,
            logs,
        },
        Default::default(),
    ))
}

#[derive(Clone, Debug)]
struct FakeBlock {
    header: Sealed<Header>,
    txs: Arc<Vec<TxEnvelope>>,
    receipts: Arc<Vec<ReceiptEnvelope>>,
}

/// An in-memory L1 chain and beacon.
#[derive(Debug, Default)]
pub struct FakeL1 {
    chain: Mutex<Vec<FakeBlock>>,
    by_hash: Mutex<HashMap<B256, FakeBlock>>,
    blobs: Mutex<HashMap<B256, Blob>>,
    blob_requests: Mutex<Vec<Vec<IndexedBlobHash>>>,
    finalized: Mutex<u64>,
    /// Header reads that fail (temporarily) before reads work again.
    pub failing_header_reads: Mutex<u32>,
}

impl FakeL1 {
    /// A chain of `len` blocks (0..len) with no transactions.
    pub fn with_chain(len: u64) -> Self {
        let l1 = Self::default();
        for _ in 0..len {
            l1.mine(0);
        }
        l1
    }

    /// Appends a block (`salt` tells apart the blocks of competing branches).
    pub fn mine(&self, salt: u8) -> L1BlockRef {
        let mut chain = self.chain.lock().unwrap();
        let number = chain.len() as u64;
        let parent_hash = chain.last().map_or(B256::ZERO, |b| b.header.hash());
        let header = Header {
            number,
            parent_hash,
            timestamp: L1_GENESIS_TIME + 12 * number,
            base_fee_per_gas: Some(7),
            excess_blob_gas: Some(0),
            blob_gas_used: Some(0),
            parent_beacon_block_root: Some(B256::repeat_byte(0xbe)),
            mix_hash: keccak256(number.to_be_bytes()),
            extra_data: Bytes::from(vec![salt]),
            gas_limit: 30_000_000,
            ..Default::default()
        };
        let block = FakeBlock {
            header: Sealed::new(header),
            txs: Arc::new(Vec::new()),
            receipts: Arc::new(Vec::new()),
        };
        self.by_hash
            .lock()
            .unwrap()
            .insert(block.header.hash(), block.clone());
        let r = to_ref(&block.header);
        chain.push(block);
        r
    }

    /// Drops the blocks from `number` on (then mine a new branch).
    pub fn rewind_to(&self, number: u64) {
        self.chain.lock().unwrap().truncate(number as usize);
    }

    /// The canonical block at `number`.
    pub fn block(&self, number: u64) -> L1BlockRef {
        to_ref(&self.chain.lock().unwrap()[number as usize].header)
    }

    /// Sets the finalized block number.
    pub fn set_finalized(&self, number: u64) {
        *self.finalized.lock().unwrap() = number;
    }

    /// Sets the transactions of the block with this hash (receipts: one empty success each).
    pub fn set_txs(&self, hash: B256, txs: Vec<TxEnvelope>) {
        let receipts: Vec<_> = txs.iter().map(|_| receipt(Vec::new())).collect();
        self.update(hash, |b| {
            b.txs = Arc::new(txs.clone());
            b.receipts = Arc::new(receipts.clone());
        });
    }

    /// Adds a receipt (e.g. with deposit or config logs) to the block with this hash.
    pub fn push_receipt(&self, hash: B256, r: ReceiptEnvelope) {
        self.update(hash, |b| {
            let mut receipts = (*b.receipts).clone();
            receipts.push(r.clone());
            b.receipts = Arc::new(receipts);
        });
    }

    fn update(&self, hash: B256, f: impl Fn(&mut FakeBlock)) {
        if let Some(b) = self.by_hash.lock().unwrap().get_mut(&hash) {
            f(b);
        }
        for b in self.chain.lock().unwrap().iter_mut() {
            if b.header.hash() == hash {
                f(b);
            }
        }
    }

    /// The blob requests seen so far.
    pub fn blob_requests(&self) -> Vec<Vec<IndexedBlobHash>> {
        self.blob_requests.lock().unwrap().clone()
    }
}

fn to_ref(h: &Sealed<Header>) -> L1BlockRef {
    L1BlockRef {
        hash: h.hash(),
        number: h.number,
        parent_hash: h.parent_hash,
        timestamp: h.timestamp,
    }
}

fn not_found(what: impl std::fmt::Display) -> ProviderError {
    ProviderError::NotFound(what.to_string())
}

#[async_trait::async_trait]
impl L1ChainProvider for FakeL1 {
    async fn header_by_hash(&self, hash: B256) -> Result<Sealed<Header>, ProviderError> {
        {
            let mut failing = self.failing_header_reads.lock().unwrap();
            if *failing > 0 {
                *failing -= 1;
                return Err(ProviderError::Temporary("injected".into()));
            }
        }
        let map = self.by_hash.lock().unwrap();
        map.get(&hash)
            .map(|b| b.header.clone())
            .ok_or_else(|| not_found(hash))
    }

    async fn block_ref_by_number(&self, number: u64) -> Result<Option<L1BlockRef>, ProviderError> {
        let chain = self.chain.lock().unwrap();
        Ok(chain.get(number as usize).map(|b| to_ref(&b.header)))
    }

    async fn block_ref_by_tag(&self, tag: L1Tag) -> Result<L1BlockRef, ProviderError> {
        let chain = self.chain.lock().unwrap();
        let n = match tag {
            L1Tag::Latest | L1Tag::Safe => chain.len().saturating_sub(1),
            L1Tag::Finalized => *self.finalized.lock().unwrap() as usize,
        };
        chain
            .get(n)
            .map(|b| to_ref(&b.header))
            .ok_or_else(|| not_found(n))
    }

    async fn transactions_by_hash(
        &self,
        hash: B256,
    ) -> Result<Arc<Vec<TxEnvelope>>, ProviderError> {
        let map = self.by_hash.lock().unwrap();
        map.get(&hash)
            .map(|b| b.txs.clone())
            .ok_or_else(|| not_found(hash))
    }

    async fn receipts_by_hash(
        &self,
        hash: B256,
    ) -> Result<Arc<Vec<ReceiptEnvelope>>, ProviderError> {
        let map = self.by_hash.lock().unwrap();
        map.get(&hash)
            .map(|b| b.receipts.clone())
            .ok_or_else(|| not_found(hash))
    }
}

#[async_trait::async_trait]
impl BlobProvider for FakeL1 {
    async fn blobs(
        &self,
        _block: &L1BlockRef,
        hashes: &[IndexedBlobHash],
    ) -> Result<Vec<Blob>, ProviderError> {
        self.blob_requests.lock().unwrap().push(hashes.to_vec());
        let map = self.blobs.lock().unwrap();
        hashes
            .iter()
            .map(|h| map.get(&h.hash).cloned().ok_or_else(|| not_found(h.hash)))
            .collect()
    }
}

/// A fake L2 chain: refs by number.
#[derive(Debug, Default)]
pub struct FakeL2 {
    /// The blocks.
    pub refs: Mutex<HashMap<u64, L2BlockRef>>,
}

#[async_trait::async_trait]
impl L2SafeSource for FakeL2 {
    async fn l2_block_ref(&self, number: u64) -> Result<Option<L2BlockRef>, ProviderError> {
        Ok(self.refs.lock().unwrap().get(&number).copied())
    }
}

/// The L2 block a test "executes" from attributes: a hash from its number and timestamp.
pub fn child(
    parent: &L2BlockRef,
    timestamp: u64,
    origin: BlockId,
    seq: u64,
    salt: u8,
) -> L2BlockRef {
    let mut pre = parent.hash.to_vec();
    pre.extend_from_slice(&timestamp.to_be_bytes());
    pre.push(salt);
    L2BlockRef {
        hash: keccak256(pre),
        number: parent.number + 1,
        parent_hash: parent.hash,
        timestamp,
        l1_origin: origin,
        sequence_number: seq,
    }
}
