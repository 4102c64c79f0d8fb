//! The I/O seams of derivation: everything the pipeline reads from L1 goes through these traits,
//! so the stages test without a network and one cached client serves every chain.
//!
//! ```text
//!   L1ChainProvider ── headers, canonical refs, transactions, receipts   (eth JSON-RPC)
//!   BlobProvider ───── blobs by versioned hash, KZG-checked              (beacon API)
//! ```

use std::sync::Arc;

use alloy::consensus::{Header, ReceiptEnvelope, Sealed, TxEnvelope};
use alloy::primitives::B256;
use opfleet_protocol::L1BlockRef;
use opfleet_protocol::blob::Blob;

/// An L1 block tag with a moving meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum L1Tag {
    /// The head, no confirmation distance.
    Latest,
    /// The L1 safe (justified) block.
    Safe,
    /// The L1 finalized block.
    Finalized,
}

/// A blob a block references: its position among the block's blob hashes and its versioned hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IndexedBlobHash {
    /// Index of the blob in the block (counting every blob of every type-3 tx, in order).
    pub index: u64,
    /// The EIP-4844 versioned hash.
    pub hash: B256,
}

/// Why an L1 read failed. Derivation retries `Temporary`, resets on `NotFound` of a block it
/// thought canonical, and stops on `Invalid` (the source is lying or broken).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The source is unreachable, timed out, or rate-limited; retrying may succeed.
    #[error("L1 source temporarily unavailable: {0}")]
    Temporary(String),
    /// The block (or its data) is not known to the source: reorged out or not yet there.
    #[error("not found: {0}")]
    NotFound(String),
    /// The source answered with data that fails a check (hash, KZG proof, shape).
    #[error("invalid data from L1 source: {0}")]
    Invalid(String),
}

/// Canonical L1 chain data, by hash where content matters and by number where canonicality does.
#[async_trait::async_trait]
pub trait L1ChainProvider: Send + Sync {
    /// The sealed header of the block with this hash (the L1-info values come from it).
    async fn header_by_hash(&self, hash: B256) -> Result<Sealed<Header>, ProviderError>;
    /// The canonical block at this number; `None` when the number is above the head.
    async fn block_ref_by_number(&self, number: u64) -> Result<Option<L1BlockRef>, ProviderError>;
    /// The block a tag points at now.
    async fn block_ref_by_tag(&self, tag: L1Tag) -> Result<L1BlockRef, ProviderError>;
    /// The transactions of the block with this hash, in block order (calldata and blob hashes).
    async fn transactions_by_hash(&self, hash: B256)
    -> Result<Arc<Vec<TxEnvelope>>, ProviderError>;
    /// The receipts of the block with this hash, in block order (deposits, system config updates).
    async fn receipts_by_hash(
        &self,
        hash: B256,
    ) -> Result<Arc<Vec<ReceiptEnvelope>>, ProviderError>;
}

/// Blob data from the beacon API.
#[async_trait::async_trait]
pub trait BlobProvider: Send + Sync {
    /// The blobs of `block` with these hashes, in the order asked, each verified with KZG against
    /// its versioned hash.
    async fn blobs(
        &self,
        block: &L1BlockRef,
        hashes: &[IndexedBlobHash],
    ) -> Result<Vec<Blob>, ProviderError>;
}
