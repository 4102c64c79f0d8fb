//! The batcher data of one L1 block: calldata of batcher transactions and the blobs of batcher
//! blob transactions, in transaction order (specs `protocol/derivation.md` "Batcher Transaction
//! Format", `ecotone/derivation.md` "Blob Retrieval").
//!
//! ```text
//! tx to == batch inbox && sender == batcher ?
//!   type 3 ─▶ its blobs (index counts every blob of the block) ─▶ beacon ─▶ decode ─▶ data
//!   other  ─▶ calldata ─▶ data
//! ```
//! A blob that does not decode is skipped, like a transaction whose data holds no valid frame.

use alloy::consensus::Transaction;
use alloy::consensus::transaction::SignerRecoverable;
use alloy::primitives::{Address, Bytes};
use opfleet_protocol::L1BlockRef;

use crate::derive::traits::{BlobProvider, IndexedBlobHash, L1ChainProvider, ProviderError};

/// Why the data of a block could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataSourceError {
    /// An L1 or beacon read failed.
    #[error("batcher data of L1 block {block}: {source}")]
    Provider {
        /// The block number.
        block: u64,
        /// The read error.
        source: ProviderError,
    },
    /// The beacon answered with another number of blobs than asked.
    #[error("L1 block {block}: asked {asked} blobs, got {got}")]
    BlobCount {
        /// The block number.
        block: u64,
        /// Blobs asked.
        asked: usize,
        /// Blobs received.
        got: usize,
    },
}

/// One piece of batcher data and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatcherData {
    /// Index of the carrying transaction in the block.
    pub tx_index: usize,
    /// The bytes (calldata, or a decoded blob).
    pub data: Bytes,
}

/// Reads the batcher data of `block`: transactions to `inbox` signed by `batcher`.
pub async fn batcher_data(
    l1: &dyn L1ChainProvider,
    blobs: &dyn BlobProvider,
    block: &L1BlockRef,
    inbox: Address,
    batcher: Address,
) -> Result<Vec<BatcherData>, DataSourceError> {
    let wrap = |source| DataSourceError::Provider {
        block: block.number,
        source,
    };
    let txs = l1.transactions_by_hash(block.hash).await.map_err(wrap)?;
    // Calldata items, or placeholders for the blobs of a blob tx, in transaction order.
    enum Item {
        Calldata(usize, Bytes),
        Blob(usize),
    }
    let mut items = Vec::new();
    let mut wanted = Vec::new();
    let mut blob_index = 0u64;
    for (tx_index, tx) in txs.iter().enumerate() {
        let hashes = tx.blob_versioned_hashes().unwrap_or_default();
        let first_blob = blob_index;
        blob_index += hashes.len() as u64;
        if tx.to() != Some(inbox) {
            continue;
        }
        // A transaction whose sender cannot be recovered is not from the batcher.
        if tx.recover_signer().ok() != Some(batcher) {
            continue;
        }
        if tx.is_eip4844() {
            for (i, hash) in hashes.iter().enumerate() {
                wanted.push(IndexedBlobHash {
                    index: first_blob + i as u64,
                    hash: *hash,
                });
                items.push(Item::Blob(tx_index));
            }
        } else {
            items.push(Item::Calldata(tx_index, tx.input().clone()));
        }
    }
    let fetched = if wanted.is_empty() {
        Vec::new()
    } else {
        blobs.blobs(block, &wanted).await.map_err(wrap)?
    };
    if fetched.len() != wanted.len() {
        return Err(DataSourceError::BlobCount {
            block: block.number,
            asked: wanted.len(),
            got: fetched.len(),
        });
    }
    let mut fetched = fetched.into_iter();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Item::Calldata(tx_index, data) => out.push(BatcherData { tx_index, data }),
            Item::Blob(tx_index) => {
                if let Some(Ok(data)) = fetched.next().map(|b| b.decode()) {
                    out.push(BatcherData {
                        tx_index,
                        data: data.into(),
                    });
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::test_utils::{FakeL1, batcher_key, blob_tx, calldata_tx};
    use opfleet_protocol::blob::encode_blob;

    #[tokio::test]
    async fn reads_calldata_and_blobs_of_the_batcher_only() {
        let inbox = Address::repeat_byte(0xee);
        let batcher = batcher_key().1;
        let other = crate::derive::test_utils::other_key();
        let blob_a = encode_blob(b"blob a").unwrap();
        let blob_b = encode_blob(b"blob b").unwrap();
        let l1 = FakeL1::with_chain(2);
        let block = l1.block(1);
        l1.set_txs(
            block.hash,
            vec![
                calldata_tx(&batcher_key().0, 0, inbox, b"one"),
                // Another sender: ignored, but its blobs still count for the index.
                blob_tx(&other, 0, inbox, std::slice::from_ref(&blob_a), &l1, block),
                calldata_tx(&batcher_key().0, 1, Address::repeat_byte(1), b"elsewhere"),
                blob_tx(
                    &batcher_key().0,
                    2,
                    inbox,
                    &[blob_b.clone(), blob_a.clone()],
                    &l1,
                    block,
                ),
                calldata_tx(&batcher_key().0, 3, inbox, b"two"),
            ],
        );
        let got = batcher_data(&l1, &l1, &block, inbox, batcher)
            .await
            .unwrap();
        let datas: Vec<&[u8]> = got.iter().map(|d| d.data.as_ref()).collect();
        assert_eq!(
            datas,
            vec![&b"one"[..], &b"blob b"[..], &b"blob a"[..], &b"two"[..]]
        );
        assert_eq!(
            got.iter().map(|d| d.tx_index).collect::<Vec<_>>(),
            vec![0, 3, 3, 4]
        );
        let asked = l1.blob_requests();
        assert_eq!(
            asked
                .last()
                .unwrap()
                .iter()
                .map(|h| h.index)
                .collect::<Vec<_>>(),
            vec![1, 2]
        );
    }
}
