//! The output root of an L2 block, from the block and an `eth_getProof` of the
//! L2ToL1MessagePasser at that block (op-node `OutputV0AtBlock`).
//!
//! ```text
//!  eth_getProof(0x4200..0016, [], blockHash) ─▶ { storageHash, accountProof, nonce, balance, codeHash }
//!     accountProof must prove rlp([nonce, balance, storageHash, codeHash]) at keccak256(address)
//!     under the block's stateRoot (op-service `AccountResult.Verify`)
//!  output_root = keccak256(0^32 | stateRoot | storageHash | blockHash)   (output root v0)
//! ```

use alloy::primitives::{Address, B256, keccak256};
use alloy::rpc::types::EIP1186AccountProofResponse;
use alloy::trie::{Nibbles, TrieAccount, proof::verify_proof};
use opfleet_protocol::L2BlockRef;
use opfleet_protocol::output_root::{L2_TO_L1_MESSAGE_PASSER_ADDRESS, OutputV0};
use serde::{Deserialize, Serialize};

/// An L2 block's output root and the values it commits to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputAtBlock {
    /// The block.
    pub block: L2BlockRef,
    /// Output root v0 of the block.
    pub output_root: B256,
    /// The block's state root.
    pub state_root: B256,
    /// Storage root of the L2ToL1MessagePasser at the block.
    pub message_passer_storage_root: B256,
}

impl OutputAtBlock {
    /// The output root's preimage.
    pub const fn output_v0(&self) -> OutputV0 {
        OutputV0 {
            state_root: self.state_root,
            message_passer_storage_root: self.message_passer_storage_root,
            block_hash: self.block.hash,
        }
    }
}

/// Why a proof does not give an output root.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// The proof is for another account.
    #[error(
        "block {number}: eth_getProof answered for {got}, asked for the message passer {expected}"
    )]
    WrongAccount {
        /// Block number.
        number: u64,
        /// The message passer address.
        expected: Address,
        /// The address in the answer.
        got: Address,
    },
    /// The account proof does not prove the answered account under the block's state root.
    #[error(
        "block {number}: message passer account proof does not verify against state root {state_root}: {reason}"
    )]
    Proof {
        /// Block number.
        number: u64,
        /// The block's state root.
        state_root: B256,
        /// The verifier's message.
        reason: String,
    },
}

/// The output of `block`, whose header has `state_root`, from the message passer's account proof.
pub fn output_from_proof(
    block: L2BlockRef,
    state_root: B256,
    proof: &EIP1186AccountProofResponse,
) -> Result<OutputAtBlock, OutputError> {
    if proof.address != L2_TO_L1_MESSAGE_PASSER_ADDRESS {
        return Err(OutputError::WrongAccount {
            number: block.number,
            expected: L2_TO_L1_MESSAGE_PASSER_ADDRESS,
            got: proof.address,
        });
    }
    let account = TrieAccount {
        nonce: proof.nonce,
        balance: proof.balance,
        storage_root: proof.storage_hash,
        code_hash: proof.code_hash,
    };
    verify_proof(
        state_root,
        Nibbles::unpack(keccak256(proof.address)),
        Some(alloy::rlp::encode(account)),
        &proof.account_proof,
    )
    .map_err(|e| OutputError::Proof {
        number: block.number,
        state_root,
        reason: e.to_string(),
    })?;
    let output = OutputV0 {
        state_root,
        message_passer_storage_root: proof.storage_hash,
        block_hash: block.hash,
    };
    Ok(OutputAtBlock {
        block,
        output_root: output.output_root(),
        state_root,
        message_passer_storage_root: proof.storage_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::consensus::constants::KECCAK_EMPTY;
    use alloy::primitives::{Bytes, U256};
    use alloy::trie::{HashBuilder, proof::ProofRetainer};
    use proptest::prelude::*;

    /// A state trie over `accounts` and the proof of `target` in it.
    fn trie(accounts: &[(Address, TrieAccount)], target: Address) -> (B256, Vec<Bytes>) {
        let mut leaves: Vec<(Nibbles, Vec<u8>)> = accounts
            .iter()
            .map(|(a, acc)| (Nibbles::unpack(keccak256(a)), alloy::rlp::encode(acc)))
            .collect();
        leaves.sort_by_key(|l| l.0);
        let key = Nibbles::unpack(keccak256(target));
        let mut hb = HashBuilder::default().with_proof_retainer(ProofRetainer::new(vec![key]));
        for (k, v) in &leaves {
            hb.add_leaf(*k, v);
        }
        let root = hb.root();
        let proof = hb
            .take_proof_nodes()
            .matching_nodes_sorted(&key)
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        (root, proof)
    }

    fn passer(storage: u8) -> TrieAccount {
        TrieAccount {
            nonce: 1,
            balance: U256::from(5),
            storage_root: B256::repeat_byte(storage),
            code_hash: B256::repeat_byte(0xcc),
        }
    }

    fn others() -> Vec<(Address, TrieAccount)> {
        (1u8..20)
            .map(|i| {
                (
                    Address::repeat_byte(i),
                    TrieAccount {
                        nonce: u64::from(i),
                        balance: U256::ZERO,
                        storage_root: alloy::consensus::EMPTY_ROOT_HASH,
                        code_hash: KECCAK_EMPTY,
                    },
                )
            })
            .collect()
    }

    fn response(acc: &TrieAccount, proof: Vec<Bytes>) -> EIP1186AccountProofResponse {
        EIP1186AccountProofResponse {
            address: L2_TO_L1_MESSAGE_PASSER_ADDRESS,
            balance: acc.balance,
            code_hash: acc.code_hash,
            nonce: acc.nonce,
            storage_hash: acc.storage_root,
            account_proof: proof,
            storage_proof: Vec::new(),
        }
    }

    fn block() -> L2BlockRef {
        L2BlockRef {
            hash: B256::repeat_byte(0xbb),
            number: 17,
            ..Default::default()
        }
    }

    #[test]
    fn proven_storage_root_gives_output_v0() {
        let acc = passer(0x42);
        let mut accounts = others();
        accounts.push((L2_TO_L1_MESSAGE_PASSER_ADDRESS, acc));
        let (root, proof) = trie(&accounts, L2_TO_L1_MESSAGE_PASSER_ADDRESS);
        let out = output_from_proof(block(), root, &response(&acc, proof)).unwrap();
        assert_eq!(out.state_root, root);
        assert_eq!(out.message_passer_storage_root, B256::repeat_byte(0x42));
        assert_eq!(out.block, block());
        let mut pre = [0u8; 128];
        pre[32..64].copy_from_slice(root.as_slice());
        pre[64..96].copy_from_slice(&[0x42; 32]);
        pre[96..128].copy_from_slice(&[0xbb; 32]);
        assert_eq!(out.output_root, keccak256(pre));
        assert_eq!(out.output_v0().output_root(), out.output_root);
    }

    #[test]
    fn a_lying_storage_hash_is_refused() {
        let acc = passer(0x42);
        let mut accounts = others();
        accounts.push((L2_TO_L1_MESSAGE_PASSER_ADDRESS, acc));
        let (root, proof) = trie(&accounts, L2_TO_L1_MESSAGE_PASSER_ADDRESS);
        let mut lie = response(&acc, proof.clone());
        lie.storage_hash = B256::repeat_byte(0x43);
        assert!(matches!(
            output_from_proof(block(), root, &lie),
            Err(OutputError::Proof { number: 17, .. })
        ));
        // The right proof under another state root.
        assert!(matches!(
            output_from_proof(block(), B256::repeat_byte(1), &response(&acc, proof)),
            Err(OutputError::Proof { .. })
        ));
    }

    #[test]
    fn another_account_is_refused() {
        let acc = passer(0x42);
        let mut r = response(&acc, Vec::new());
        r.address = Address::repeat_byte(3);
        assert!(matches!(
            output_from_proof(block(), B256::ZERO, &r),
            Err(OutputError::WrongAccount { .. })
        ));
    }

    #[test]
    fn json_field_names() {
        let acc = passer(0x42);
        let (root, proof) = trie(
            &[(L2_TO_L1_MESSAGE_PASSER_ADDRESS, acc)],
            L2_TO_L1_MESSAGE_PASSER_ADDRESS,
        );
        let out = output_from_proof(block(), root, &response(&acc, proof)).unwrap();
        let json = serde_json::to_value(out).unwrap();
        for field in [
            "block",
            "outputRoot",
            "stateRoot",
            "messagePasserStorageRoot",
        ] {
            assert!(json.get(field).is_some(), "{field} in {json}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_proof_nodes_never_panic(
            nodes in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 0..5),
            root in any::<[u8; 32]>(),
        ) {
            let acc = passer(1);
            let proof = nodes.into_iter().map(Bytes::from).collect();
            let _ = output_from_proof(block(), B256::from(root), &response(&acc, proof));
        }
    }
}
