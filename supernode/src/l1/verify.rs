//! What is checked of every block answer before it is used or cached.
//!
//! ```text
//!  header        keccak256(rlp(header)) == the hash asked for (by hash) / the hash claimed (by number)
//!  transactions  ordered-trie root of the EIP-2718 encodings == header.transactions_root
//!  receipts      every receipt's blockHash == the block; trie root == header.receipts_root
//! ```
//! Both roots are checked in full: one trie over a few hundred items costs far less than the
//! HTTP round trip that brought them, and it pins count, order and content at once. An L1 fork
//! that adds header fields alloy does not know yet makes every header fail the hash check
//! (`Invalid`), loudly, rather than letting unverified data through.

use alloy::consensus::proofs::{calculate_receipt_root, calculate_transaction_root};
use alloy::consensus::{Header, ReceiptEnvelope, Sealed, TxEnvelope};
use alloy::primitives::B256;
use alloy::rpc::types::{Header as RpcHeader, TransactionReceipt};

use crate::derive::traits::ProviderError;

/// Why a block answer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockCheckError {
    /// The header does not hash to the hash it was asked or claimed by.
    #[error("block {expected}: header hashes to {got}")]
    HeaderHash {
        /// The hash asked for (or claimed by the node).
        expected: B256,
        /// keccak256 of the header's RLP.
        got: B256,
    },
    /// The node labelled the header with another hash than the one asked for.
    #[error("block {asked}: node answered with block {answered}")]
    WrongBlock {
        /// The hash asked for.
        asked: B256,
        /// The `hash` field of the answer.
        answered: B256,
    },
    /// Transactions do not match the header's transactions root.
    #[error("block {block}: {count} transactions have root {got}, header has {expected}")]
    TransactionsRoot {
        /// The block.
        block: B256,
        /// Transactions received.
        count: usize,
        /// The header's root.
        expected: B256,
        /// The root of what was received.
        got: B256,
    },
    /// The node sent transaction hashes when full transactions were asked for.
    #[error("block {0}: node sent transaction hashes, not full transactions")]
    NotFull(B256),
    /// A receipt names another block.
    #[error("block {block}: receipt {index} names block {named}")]
    ReceiptBlock {
        /// The block.
        block: B256,
        /// Index of the receipt.
        index: usize,
        /// The block the receipt names.
        named: B256,
    },
    /// Receipts do not match the header's receipts root.
    #[error("block {block}: {count} receipts have root {got}, header has {expected}")]
    ReceiptsRoot {
        /// The block.
        block: B256,
        /// Receipts received.
        count: usize,
        /// The header's root.
        expected: B256,
        /// The root of what was received.
        got: B256,
    },
}

impl From<BlockCheckError> for ProviderError {
    fn from(e: BlockCheckError) -> Self {
        Self::Invalid(e.to_string())
    }
}

/// Seals an RPC header after checking it hashes to its claimed hash and, if given, the hash asked.
pub fn seal_header(
    header: RpcHeader,
    asked: Option<B256>,
) -> Result<Sealed<Header>, BlockCheckError> {
    if let Some(asked) = asked
        && header.hash != asked
    {
        return Err(BlockCheckError::WrongBlock {
            asked,
            answered: header.hash,
        });
    }
    let got = header.inner.hash_slow();
    if got != header.hash {
        return Err(BlockCheckError::HeaderHash {
            expected: header.hash,
            got,
        });
    }
    Ok(Sealed::new_unchecked(header.inner, got))
}

/// Checks a block's transactions against its header.
pub fn check_transactions(
    header: &Sealed<Header>,
    txs: &[TxEnvelope],
) -> Result<(), BlockCheckError> {
    let got = calculate_transaction_root(txs);
    if got != header.transactions_root {
        return Err(BlockCheckError::TransactionsRoot {
            block: header.hash(),
            count: txs.len(),
            expected: header.transactions_root,
            got,
        });
    }
    Ok(())
}

/// Checks RPC receipts against their block's header and returns them in consensus form.
pub fn check_receipts(
    header: &Sealed<Header>,
    receipts: Vec<TransactionReceipt>,
) -> Result<Vec<ReceiptEnvelope>, BlockCheckError> {
    let block = header.hash();
    let mut out = Vec::with_capacity(receipts.len());
    for (index, r) in receipts.into_iter().enumerate() {
        if let Some(named) = r.block_hash
            && named != block
        {
            return Err(BlockCheckError::ReceiptBlock {
                block,
                index,
                named,
            });
        }
        out.push(r.inner.map_logs(|l| l.inner));
    }
    let got = calculate_receipt_root(&out);
    if got != header.receipts_root {
        return Err(BlockCheckError::ReceiptsRoot {
            block,
            count: out.len(),
            expected: header.receipts_root,
            got,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::consensus::{Receipt, ReceiptWithBloom, Sealable};
    use alloy::primitives::{Bloom, Log};

    fn rpc_header(inner: Header) -> RpcHeader {
        RpcHeader::new(inner)
    }

    #[test]
    fn header_must_hash_to_its_hash() {
        let h = Header {
            number: 7,
            ..Default::default()
        };
        let good = rpc_header(h.clone());
        let hash = good.hash;
        assert_eq!(seal_header(good.clone(), Some(hash)).unwrap().hash(), hash);
        assert_eq!(seal_header(good.clone(), None).unwrap().hash(), hash);
        let err = seal_header(good.clone(), Some(B256::repeat_byte(1))).unwrap_err();
        assert!(matches!(err, BlockCheckError::WrongBlock { .. }));
        let mut tampered = good;
        tampered.inner.gas_used = 1;
        let err = seal_header(tampered, Some(hash)).unwrap_err();
        assert!(matches!(err, BlockCheckError::HeaderHash { expected, .. } if expected == hash));
        assert!(matches!(
            ProviderError::from(err),
            ProviderError::Invalid(_)
        ));
    }

    #[test]
    fn empty_lists_match_empty_roots_only() {
        let empty = Header {
            transactions_root: calculate_transaction_root::<TxEnvelope>(&[]),
            receipts_root: calculate_receipt_root::<ReceiptEnvelope>(&[]),
            ..Default::default()
        }
        .seal_slow();
        check_transactions(&empty, &[]).unwrap();
        assert!(check_receipts(&empty, Vec::new()).unwrap().is_empty());
        let wrong = Header {
            transactions_root: B256::repeat_byte(7),
            receipts_root: B256::repeat_byte(7),
            ..Default::default()
        }
        .seal_slow();
        let err = check_transactions(&wrong, &[]).unwrap_err();
        assert!(matches!(
            err,
            BlockCheckError::TransactionsRoot { count: 0, .. }
        ));
        let err = check_receipts(&wrong, Vec::new()).unwrap_err();
        assert!(matches!(
            err,
            BlockCheckError::ReceiptsRoot { count: 0, .. }
        ));
    }

    #[test]
    fn receipts_round_trip_their_root_and_name_their_block() {
        let receipt = ReceiptEnvelope::Eip1559(ReceiptWithBloom {
            receipt: Receipt {
                status: true.into(),
                cumulative_gas_used: 21_000,
                logs: vec![Log::new_unchecked(
                    alloy::primitives::Address::repeat_byte(3),
                    vec![B256::repeat_byte(4)],
                    vec![1u8, 2].into(),
                )],
            },
            logs_bloom: Bloom::default(),
        });
        let header = Header {
            receipts_root: calculate_receipt_root(std::slice::from_ref(&receipt)),
            ..Default::default()
        }
        .seal_slow();
        let expected = receipt.clone();
        let rpc = |block_hash| TransactionReceipt {
            inner: receipt.clone().map_logs(|inner| alloy::rpc::types::Log {
                inner,
                ..Default::default()
            }),
            transaction_hash: B256::ZERO,
            transaction_index: Some(0),
            block_hash: Some(block_hash),
            block_number: Some(0),
            gas_used: 21_000,
            effective_gas_price: 1,
            blob_gas_used: None,
            blob_gas_price: None,
            from: Default::default(),
            to: None,
            contract_address: None,
        };
        let out = check_receipts(&header, vec![rpc(header.hash())]).unwrap();
        assert_eq!(out, vec![expected]);
        let err = check_receipts(&header, vec![rpc(B256::repeat_byte(9))]).unwrap_err();
        assert!(matches!(
            err,
            BlockCheckError::ReceiptBlock { index: 0, .. }
        ));
    }
}
