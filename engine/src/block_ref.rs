//! An L2 block as the rollup node sees it, read from the block itself (op-node
//! `derive.L2BlockToBlockRef`).
//!
//! ```text
//!  number == genesis.l2.number ─▶ hash must be genesis.l2.hash; l1origin = genesis.l1, seq 0
//!  otherwise                   ─▶ first tx must be the L1-info deposit:
//!                                 l1origin = (l1BlockHash, l1BlockNumber), seq = sequenceNumber
//! ```

use alloy::primitives::B256;
use op_alloy_consensus::OpTxEnvelope;
use opfleet_protocol::config::Genesis;
use opfleet_protocol::l1_info::{L1BlockInfo, L1InfoError};
use opfleet_protocol::{BlockId, L2BlockRef};

use crate::block::{BlockCheckError, OpRpcBlock, full_transactions};

/// Why a block does not yield an [`L2BlockRef`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockRefError {
    /// The block at the genesis height is not the configured genesis block.
    #[error(
        "block {number} is at the genesis height but has hash {got}, rollup genesis is {expected}"
    )]
    GenesisMismatch {
        /// The genesis number.
        number: u64,
        /// The configured genesis hash.
        expected: B256,
        /// The block's hash.
        got: B256,
    },
    /// A non-genesis block without transactions.
    #[error("block {0} has no transactions; its first must be the L1-info deposit")]
    NoTransactions(u64),
    /// The first transaction is not a deposit.
    #[error(
        "block {number}: transaction 0 has type {tx_type}, expected the L1-info deposit (0x7e)"
    )]
    FirstTxNotDeposit {
        /// Block number.
        number: u64,
        /// The EIP-2718 type of transaction 0.
        tx_type: u8,
    },
    /// The first transaction is a deposit but not a readable L1-info deposit.
    #[error("block {number}: transaction 0: {source}")]
    L1Info {
        /// Block number.
        number: u64,
        /// What is wrong with it.
        source: L1InfoError,
    },
    /// The RPC answer lacks what is needed.
    #[error(transparent)]
    Block(#[from] BlockCheckError),
}

/// The L1-info values of a block's first transaction.
pub fn l1_info_of(block: &OpRpcBlock) -> Result<L1BlockInfo, BlockRefError> {
    let number = block.header.number;
    let txs = full_transactions(block)?;
    let first = txs.first().ok_or(BlockRefError::NoTransactions(number))?;
    let OpTxEnvelope::Deposit(deposit) = first else {
        return Err(BlockRefError::FirstTxNotDeposit {
            number,
            tx_type: alloy::eips::Typed2718::ty(*first),
        });
    };
    L1BlockInfo::from_deposit_tx(deposit.inner())
        .map_err(|source| BlockRefError::L1Info { number, source })
}

/// The block's [`L2BlockRef`]; `genesis` is the rollup config's anchor.
///
/// The block should have passed [`check_block`](crate::block::check_block), so that its hash
/// and first transaction are the ones its header commits to.
pub fn l2_block_ref(block: &OpRpcBlock, genesis: &Genesis) -> Result<L2BlockRef, BlockRefError> {
    let header = &block.header;
    let (l1_origin, sequence_number) = if header.number == genesis.l2.number {
        if header.hash != genesis.l2.hash {
            return Err(BlockRefError::GenesisMismatch {
                number: header.number,
                expected: genesis.l2.hash,
                got: header.hash,
            });
        }
        (genesis.l1, 0)
    } else {
        let info = l1_info_of(block)?;
        (
            BlockId {
                hash: info.block_hash,
                number: info.number,
            },
            info.sequence_number,
        )
    };
    Ok(L2BlockRef {
        hash: header.hash,
        number: header.number,
        parent_hash: header.parent_hash,
        timestamp: header.timestamp,
        l1_origin,
        sequence_number,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::testutil::*;
    use alloy::consensus::{SignableTransaction, TxEip1559};
    use alloy::primitives::Signature;
    use alloy::rpc::types::BlockTransactions;
    use opfleet_protocol::l1_info::L1InfoFork;
    use proptest::prelude::*;

    fn genesis_for(block: &OpRpcBlock) -> Genesis {
        Genesis {
            l1: BlockId {
                hash: B256::repeat_byte(0x01),
                number: 77,
            },
            l2: BlockId {
                hash: block.header.hash,
                number: block.header.number,
            },
            l2_time: block.header.timestamp,
            system_config: Default::default(),
        }
    }

    fn other_genesis() -> Genesis {
        Genesis {
            l2: BlockId {
                hash: B256::repeat_byte(0xfe),
                number: 0,
            },
            ..Default::default()
        }
    }

    #[test]
    fn reads_origin_and_sequence_number_of_every_form() {
        for (form, shape) in [
            (L1InfoFork::Ecotone, Shape::Ecotone),
            (L1InfoFork::Isthmus, Shape::Isthmus),
            (L1InfoFork::Jovian, Shape::Isthmus),
        ] {
            let info = l1_info(form, 42, 3);
            let c = consensus(
                shape,
                9,
                3_000,
                vec![l1_info_envelope(&info), user_deposit()],
            );
            let block = rpc(&c);
            let r = l2_block_ref(&block, &other_genesis()).unwrap();
            assert_eq!(r.hash, c.header.hash_slow());
            assert_eq!(r.number, 9);
            assert_eq!(r.parent_hash, c.header.parent_hash);
            assert_eq!(r.timestamp, 3_000);
            assert_eq!(r.l1_origin, info.l1_origin());
            assert_eq!(r.sequence_number, 3);
        }
    }

    #[test]
    fn genesis_maps_to_the_rollup_l1_anchor() {
        let block = rpc(&consensus(Shape::Isthmus, 0, 1_000, Vec::new()));
        let genesis = genesis_for(&block);
        let r = l2_block_ref(&block, &genesis).unwrap();
        assert_eq!(r.l1_origin, genesis.l1);
        assert_eq!(r.sequence_number, 0);
        assert_eq!(r.hash, block.header.hash);

        // Another block at the genesis height is not our chain.
        assert!(matches!(
            l2_block_ref(&block, &other_genesis()),
            Err(BlockRefError::GenesisMismatch { number: 0, .. })
        ));
    }

    #[test]
    fn non_genesis_without_l1_info_is_rejected() {
        let empty = rpc(&consensus(Shape::Isthmus, 5, 1_010, Vec::new()));
        assert_eq!(
            l2_block_ref(&empty, &other_genesis()),
            Err(BlockRefError::NoTransactions(5))
        );

        let user =
            OpTxEnvelope::Eip1559(TxEip1559::default().into_signed(Signature::test_signature()));
        let block = rpc(&consensus(Shape::Isthmus, 5, 1_010, vec![user]));
        assert_eq!(
            l2_block_ref(&block, &other_genesis()),
            Err(BlockRefError::FirstTxNotDeposit {
                number: 5,
                tx_type: 2
            })
        );

        let block = rpc(&consensus(Shape::Isthmus, 5, 1_010, vec![user_deposit()]));
        assert!(matches!(
            l2_block_ref(&block, &other_genesis()),
            Err(BlockRefError::L1Info {
                number: 5,
                source: L1InfoError::NotL1InfoTx { .. }
            })
        ));

        let mut hashes = block.clone();
        hashes.transactions = BlockTransactions::Hashes(vec![B256::ZERO]);
        assert_eq!(
            l2_block_ref(&hashes, &other_genesis()),
            Err(BlockRefError::Block(BlockCheckError::NotFull(5)))
        );
    }

    proptest! {
        #[test]
        fn any_l1_origin_round_trips(
            l1_number in any::<u64>(),
            seq in any::<u64>(),
            number in 1u64..u64::MAX,
        ) {
            let info = l1_info(L1InfoFork::Isthmus, l1_number, seq);
            let block = rpc(&consensus(Shape::Isthmus, number, 5, vec![l1_info_envelope(&info)]));
            let r = l2_block_ref(&block, &other_genesis()).unwrap();
            prop_assert_eq!(r.l1_origin.number, l1_number);
            prop_assert_eq!(r.sequence_number, seq);
        }

        #[test]
        fn arbitrary_first_deposit_input_never_panics(input in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut info = l1_info(L1InfoFork::Isthmus, 1, 0).deposit_tx();
            info.input = input.into();
            let tx = OpTxEnvelope::Deposit(alloy::consensus::Sealed::new(info));
            let block = rpc(&consensus(Shape::Isthmus, 3, 5, vec![tx]));
            let _ = l2_block_ref(&block, &other_genesis());
        }
    }
}
