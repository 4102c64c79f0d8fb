//! An OP block as `eth_getBlockBy*` returns it, and the checks that make its content trustworthy
//! before anything is read from it (op-service `RPCBlock.verify`).
//!
//! ```text
//!  RPC block { header (with its claimed hash), transactions: Full | Hashes, withdrawals }
//!     │ check_block: keccak256(rlp(header)) == claimed hash
//!     │              with full txs: transactions root of their EIP-2718 bytes == header's
//!     ▼
//!  consensus_block: alloy::consensus::Block<OpTxEnvelope>  (what payloads are made from)
//! ```

use alloy::consensus::{Block, BlockBody, proofs::calculate_transaction_root};
use alloy::eips::eip2718::Encodable2718;
use alloy::primitives::{B256, Bytes};
use alloy::rpc::types::BlockTransactions;
use op_alloy_consensus::OpTxEnvelope;

/// An OP block in its JSON-RPC form (transactions full or as hashes).
pub type OpRpcBlock = alloy::rpc::types::Block<op_alloy_rpc_types::Transaction>;

/// An OP block in its consensus form.
pub type OpConsensusBlock = Block<OpTxEnvelope>;

/// Why an RPC block cannot be trusted or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockCheckError {
    /// The header does not hash to the hash the RPC claims.
    #[error("block {number}: header hashes to {computed}, RPC claims {claimed}")]
    HeaderHash {
        /// Block number.
        number: u64,
        /// The hash in the RPC answer.
        claimed: B256,
        /// keccak256 of the RLP header.
        computed: B256,
    },
    /// The transactions are not the ones the header commits to.
    #[error("block {number}: transactions root is {computed}, header has {header}")]
    TransactionsRoot {
        /// Block number.
        number: u64,
        /// The header's transactions root.
        header: B256,
        /// The root of the transactions received.
        computed: B256,
    },
    /// Only transaction hashes were returned where full transactions are needed.
    #[error("block {0}: RPC answer has transaction hashes, full transactions are needed")]
    NotFull(u64),
}

/// Checks the header hash, and the transactions root when transactions are full.
pub fn check_block(block: &OpRpcBlock) -> Result<(), BlockCheckError> {
    let header = &block.header;
    let number = header.number;
    let computed = header.inner.hash_slow();
    if computed != header.hash {
        return Err(BlockCheckError::HeaderHash {
            number,
            claimed: header.hash,
            computed,
        });
    }
    if let BlockTransactions::Full(txs) = &block.transactions {
        let envelopes: Vec<&OpTxEnvelope> = txs.iter().map(|tx| tx.inner.inner.inner()).collect();
        let computed = calculate_transaction_root(&envelopes);
        if computed != header.transactions_root {
            return Err(BlockCheckError::TransactionsRoot {
                number,
                header: header.transactions_root,
                computed,
            });
        }
    }
    Ok(())
}

/// The block's transactions, if the RPC answer carries them in full.
pub fn full_transactions(block: &OpRpcBlock) -> Result<Vec<&OpTxEnvelope>, BlockCheckError> {
    match &block.transactions {
        BlockTransactions::Full(txs) => Ok(txs.iter().map(|tx| tx.inner.inner.inner()).collect()),
        // An empty block may come back as an empty hash list, which is as good as full.
        BlockTransactions::Hashes(h) if h.is_empty() => Ok(Vec::new()),
        BlockTransactions::Hashes(_) | BlockTransactions::Uncle => {
            Err(BlockCheckError::NotFull(block.header.number))
        }
    }
}

/// The EIP-2718 bytes of a block's transactions, as payloads and attributes carry them.
pub fn encoded_transactions(block: &OpRpcBlock) -> Result<Vec<Bytes>, BlockCheckError> {
    Ok(full_transactions(block)?
        .into_iter()
        .map(|tx| tx.encoded_2718().into())
        .collect())
}

/// The consensus form of a block with full transactions.
pub fn consensus_block(block: &OpRpcBlock) -> Result<OpConsensusBlock, BlockCheckError> {
    let transactions = full_transactions(block)?.into_iter().cloned().collect();
    Ok(Block {
        header: block.header.inner.clone(),
        body: BlockBody {
            transactions,
            ommers: Vec::new(),
            withdrawals: block.withdrawals.clone(),
        },
    })
}

#[cfg(test)]
pub(crate) mod testutil {
    //! RPC blocks built from consensus blocks, as an execution client would answer.

    use alloy::consensus::{Header, Sealed, transaction::Recovered};
    use alloy::eips::eip4895::Withdrawals;
    use alloy::primitives::{Address, B64, Bytes, U256};
    use alloy::rpc::types::Header as RpcHeader;
    use op_alloy_consensus::TxDeposit;
    use opfleet_protocol::l1_info::{L1BlockInfo, L1InfoFork, L1InfoOrigin, L1InfoSystemParams};

    use super::*;

    /// The L1-info values used by test blocks.
    pub(crate) fn l1_info(form: L1InfoFork, l1_number: u64, seq: u64) -> L1BlockInfo {
        let origin = L1InfoOrigin {
            number: l1_number,
            timestamp: 12u64.wrapping_mul(l1_number).wrapping_add(1_000),
            hash: B256::left_padding_from(&l1_number.to_be_bytes()),
            base_fee: U256::from(7),
            blob_base_fee: U256::from(1),
        };
        L1BlockInfo::new(form, &origin, seq, &L1InfoSystemParams::default())
    }

    /// A deposit envelope of an L1-info transaction.
    pub(crate) fn l1_info_envelope(info: &L1BlockInfo) -> OpTxEnvelope {
        OpTxEnvelope::Deposit(Sealed::new(info.deposit_tx()))
    }

    /// A user deposit (not an L1-info transaction).
    pub(crate) fn user_deposit() -> OpTxEnvelope {
        OpTxEnvelope::Deposit(Sealed::new(TxDeposit {
            from: Address::repeat_byte(5),
            to: alloy::primitives::TxKind::Call(Address::repeat_byte(6)),
            gas_limit: 100_000,
            input: Bytes::from_static(b"hi"),
            ..Default::default()
        }))
    }

    /// Which header fields a test block carries.
    #[derive(Clone, Copy, Debug)]
    pub(crate) enum Shape {
        /// Bedrock: no withdrawals.
        Bedrock,
        /// Canyon: empty withdrawals.
        Canyon,
        /// Ecotone: blob fields and parent beacon block root.
        Ecotone,
        /// Isthmus: withdrawals root is the message-passer root, requests hash.
        Isthmus,
    }

    /// A consistent consensus block with these transactions.
    pub(crate) fn consensus(
        shape: Shape,
        number: u64,
        timestamp: u64,
        txs: Vec<OpTxEnvelope>,
    ) -> OpConsensusBlock {
        let canyon = !matches!(shape, Shape::Bedrock);
        let ecotone = matches!(shape, Shape::Ecotone | Shape::Isthmus);
        let isthmus = matches!(shape, Shape::Isthmus);
        let envelopes: Vec<&OpTxEnvelope> = txs.iter().collect();
        let header = Header {
            parent_hash: B256::repeat_byte(0xaa),
            beneficiary: Address::repeat_byte(0x11),
            state_root: B256::repeat_byte(0x55),
            transactions_root: calculate_transaction_root(&envelopes),
            receipts_root: B256::repeat_byte(0x66),
            number,
            gas_limit: 30_000_000,
            gas_used: 21_000,
            timestamp,
            extra_data: Bytes::from_static(&[0, 0, 0, 0, 250, 0, 0, 0, 6]),
            mix_hash: B256::repeat_byte(7),
            nonce: B64::ZERO,
            base_fee_per_gas: Some(1_000),
            withdrawals_root: canyon.then(|| {
                if isthmus {
                    B256::repeat_byte(0x77)
                } else {
                    alloy::consensus::EMPTY_ROOT_HASH
                }
            }),
            blob_gas_used: ecotone.then_some(0),
            excess_blob_gas: ecotone.then_some(0),
            parent_beacon_block_root: ecotone.then(|| B256::repeat_byte(9)),
            requests_hash: isthmus.then_some(alloy::eips::eip7685::EMPTY_REQUESTS_HASH),
            ..Default::default()
        };
        Block {
            header,
            body: BlockBody {
                transactions: txs,
                ommers: Vec::new(),
                withdrawals: canyon.then(Withdrawals::default),
            },
        }
    }

    /// The RPC form of a consensus block, with full transactions and its true hash.
    pub(crate) fn rpc(block: &OpConsensusBlock) -> OpRpcBlock {
        let hash = block.header.hash_slow();
        let txs = block
            .body
            .transactions
            .iter()
            .enumerate()
            .map(|(i, tx)| op_alloy_rpc_types::Transaction {
                inner: alloy::rpc::types::Transaction {
                    inner: Recovered::new_unchecked(tx.clone(), Address::repeat_byte(1)),
                    block_hash: Some(hash),
                    block_number: Some(block.header.number),
                    transaction_index: Some(i as u64),
                    effective_gas_price: Some(0),
                    block_timestamp: Some(block.header.timestamp),
                },
                deposit_nonce: None,
                deposit_receipt_version: None,
            })
            .collect();
        alloy::rpc::types::Block {
            header: RpcHeader {
                hash,
                inner: block.header.clone(),
                total_difficulty: None,
                size: None,
            },
            uncles: Vec::new(),
            transactions: BlockTransactions::Full(txs),
            withdrawals: block.body.withdrawals.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use alloy::eips::eip2718::Decodable2718;
    use opfleet_protocol::l1_info::L1InfoFork;

    fn sample() -> OpRpcBlock {
        let info = l1_info(L1InfoFork::Isthmus, 4, 1);
        rpc(&consensus(
            Shape::Isthmus,
            10,
            2_000,
            vec![l1_info_envelope(&info), user_deposit()],
        ))
    }

    #[test]
    fn consistent_block_passes_and_converts_back() {
        let block = sample();
        check_block(&block).unwrap();
        let c = consensus_block(&block).unwrap();
        assert_eq!(c.header.hash_slow(), block.header.hash);
        assert_eq!(c.body.transactions.len(), 2);
        let encoded = encoded_transactions(&block).unwrap();
        assert_eq!(encoded.len(), 2);
        for (bytes, tx) in encoded.iter().zip(&c.body.transactions) {
            assert_eq!(OpTxEnvelope::decode_2718_exact(bytes).unwrap(), *tx);
        }
    }

    #[test]
    fn wrong_claimed_hash_is_caught() {
        let mut block = sample();
        block.header.hash = B256::repeat_byte(1);
        assert!(matches!(
            check_block(&block),
            Err(BlockCheckError::HeaderHash { number: 10, .. })
        ));
    }

    #[test]
    fn swapped_transactions_are_caught() {
        let mut block = sample();
        if let BlockTransactions::Full(txs) = &mut block.transactions {
            txs.reverse();
        }
        assert!(matches!(
            check_block(&block),
            Err(BlockCheckError::TransactionsRoot { number: 10, .. })
        ));
    }

    #[test]
    fn hashes_only_are_not_full() {
        let mut block = sample();
        block.transactions = BlockTransactions::Hashes(vec![B256::ZERO]);
        check_block(&block).unwrap();
        assert_eq!(
            consensus_block(&block).unwrap_err(),
            BlockCheckError::NotFull(10)
        );
        block.transactions = BlockTransactions::Hashes(Vec::new());
        assert!(
            consensus_block(&block)
                .unwrap()
                .body
                .transactions
                .is_empty()
        );
    }
}
