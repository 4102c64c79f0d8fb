//! The simulated state trie: a real Merkle-Patricia account trie over the few accounts the
//! simulation knows, so that `eth_getProof` answers verify against the header's state root the way
//! op-node's output-root code checks them.
//!
//! ```text
//! stateRoot = MPT root of { keccak(addr) -> rlp([nonce, balance 0, storageRoot, codeHash]) }
//!   0x4200…0016  L2ToL1MessagePasser   storageRoot = message-passer root (see builder)
//!   HISTORY      block-history account storageRoot = keccak(parent.stateRoot ‖ tx_hash…),
//!                                      nonce = block number: binds each block's contents
//!   every sender with a simulated nonce (storageRoot empty)
//! ```
//! The storage roots are commitments, not storage tries: storage-slot proofs are not available.

use std::collections::BTreeMap;

use alloy::{
    consensus::{EMPTY_ROOT_HASH, constants::KECCAK_EMPTY},
    primitives::{Address, B256, Bytes, U256, address, keccak256},
    trie::{HashBuilder, Nibbles, TrieAccount, proof::ProofRetainer},
};

use super::builder::MESSAGE_PASSER;

/// The pseudo-account whose storage root commits to the block history.
pub const HISTORY_ACCOUNT: Address = address!("0x0000000000000000000000000000000000005157");

/// The accounts of one block's simulated state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimState {
    accounts: BTreeMap<Address, TrieAccount>,
}

impl SimState {
    /// The state after a block: its nonces, message-passer root and history commitment.
    pub fn new(
        nonces: &BTreeMap<Address, u64>,
        message_passer_root: B256,
        block_number: u64,
        history: B256,
    ) -> Self {
        let plain = |nonce| TrieAccount {
            nonce,
            balance: U256::ZERO,
            storage_root: EMPTY_ROOT_HASH,
            code_hash: KECCAK_EMPTY,
        };
        let mut accounts: BTreeMap<Address, TrieAccount> =
            nonces.iter().map(|(a, n)| (*a, plain(*n))).collect();
        accounts
            .entry(MESSAGE_PASSER)
            .or_insert_with(|| plain(0))
            .storage_root = message_passer_root;
        let history_account = accounts.entry(HISTORY_ACCOUNT).or_insert_with(|| plain(0));
        history_account.nonce = block_number;
        history_account.storage_root = history;
        Self { accounts }
    }

    /// The account at `address`, if the simulation knows it.
    pub fn account(&self, address: &Address) -> Option<&TrieAccount> {
        self.accounts.get(address)
    }

    /// The trie root and the proof nodes (root first) for `target`; an absent account gets an
    /// exclusion proof.
    pub fn root_and_proof(&self, target: Option<Address>) -> (B256, Vec<Bytes>) {
        let mut leaves: Vec<(Nibbles, Vec<u8>)> = self
            .accounts
            .iter()
            .map(|(a, acc)| (Nibbles::unpack(keccak256(a)), alloy::rlp::encode(acc)))
            .collect();
        leaves.sort_by_key(|leaf| leaf.0);
        let target = target.map(|a| Nibbles::unpack(keccak256(a)));
        let mut hb = HashBuilder::default()
            .with_proof_retainer(ProofRetainer::new(target.iter().copied().collect()));
        for (key, value) in &leaves {
            hb.add_leaf(*key, value);
        }
        let root = hb.root();
        let proof = match target {
            Some(t) => hb
                .take_proof_nodes()
                .matching_nodes_sorted(&t)
                .into_iter()
                .map(|(_, node)| node)
                .collect(),
            None => Vec::new(),
        };
        (root, proof)
    }

    /// The state root.
    pub fn root(&self) -> B256 {
        self.root_and_proof(None).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::trie::proof::verify_proof;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn proofs_verify_against_the_root(
            nonces in proptest::collection::btree_map(any::<[u8; 20]>(), any::<u64>(), 0..20),
            mp_root in any::<[u8; 32]>(),
            absent in any::<[u8; 20]>(),
        ) {
            let nonces: BTreeMap<Address, u64> =
                nonces.into_iter().map(|(a, n)| (Address::from(a), n)).collect();
            let state = SimState::new(&nonces, B256::from(mp_root), 7, B256::repeat_byte(1));
            let root = state.root();
            for address in nonces.keys().chain([&MESSAGE_PASSER, &HISTORY_ACCOUNT]) {
                let (r, proof) = state.root_and_proof(Some(*address));
                prop_assert_eq!(r, root);
                let expected = alloy::rlp::encode(state.account(address).unwrap());
                let key = Nibbles::unpack(keccak256(address));
                prop_assert!(verify_proof(root, key, Some(expected), &proof).is_ok());
            }
            let absent = Address::from(absent);
            if state.account(&absent).is_none() {
                let (_, proof) = state.root_and_proof(Some(absent));
                let key = Nibbles::unpack(keccak256(absent));
                prop_assert!(verify_proof(root, key, None, &proof).is_ok());
            }
        }
    }
}
