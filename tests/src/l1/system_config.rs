//! The storage of each chain's SystemConfig on the simulated L1, as op-node and kona-node read
//! it (`eth_getStorageAt`, `eth_getProof`).
//!
//! ```text
//! slot 0x33  owner                       (OwnableUpgradeable._owner)
//! slot 101   overhead                    slot 102  scalar
//! slot 103   batcherHash                 slot 104  gasLimit (uint64, low bytes)
//! keccak256("systemconfig.unsafeblocksigner")       unsafeBlockSigner (address)
//! ```
//! Slots follow the SystemConfig storage layout of the OP contracts (unsafeBlockSigner in its
//! own keccak-derived slot, as op-node's `UnsafeBlockSignerAddressSystemConfigStorageSlot`).
//! Values at a block are the deployment values with the contract's `ConfigUpdate` logs up to
//! that block applied (the devnet emits BATCHER updates), so storage and logs always agree.
//! Storage proofs are real (a Merkle-Patricia trie of the slots); the account proof is empty
//! because the L1 state root is simulated (see `block`): nothing proves the account itself.

use std::collections::BTreeMap;

use alloy::consensus::constants::KECCAK_EMPTY;
use alloy::primitives::{Address, B256, Bytes, U256, b256, keccak256};
use alloy::rpc::types::{EIP1186AccountProofResponse, EIP1186StorageProof};
use alloy::serde::JsonStorageKey;
use alloy::trie::{EMPTY_ROOT_HASH, HashBuilder, Nibbles, proof::ProofRetainer};
use opfleet_protocol::ChainId;
use opfleet_protocol::config::SystemConfig;

use super::contracts;

/// `keccak256("systemconfig.unsafeblocksigner")` (the contract's `UNSAFE_BLOCK_SIGNER_SLOT`).
pub const UNSAFE_BLOCK_SIGNER_SLOT: B256 =
    b256!("0x65a7ed542fb37fe237fdfbdd70b31598523fe5b32879e307bae27a0bd9581c08");
/// `OwnableUpgradeable._owner`.
pub const OWNER_SLOT: B256 = slot(0x33);
/// `overhead`.
pub const OVERHEAD_SLOT: B256 = slot(101);
/// `scalar`.
pub const SCALAR_SLOT: B256 = slot(102);
/// `batcherHash`.
pub const BATCHER_HASH_SLOT: B256 = slot(103);
/// `gasLimit` (a uint64 in the low bytes).
pub const GAS_LIMIT_SLOT: B256 = slot(104);

const fn slot(n: u8) -> B256 {
    let mut word = [0u8; 32];
    word[31] = n;
    B256::new(word)
}

/// The SystemConfig address the devnet gives chain `chain`: `0x5c0f19` then the chain id in the
/// last eight bytes, distinct per chain and readable in rollup.json.
pub fn address_for(chain: ChainId) -> Address {
    let mut bytes = [0u8; 20];
    bytes[..3].copy_from_slice(&[0x5c, 0x0f, 0x19]);
    bytes[12..].copy_from_slice(&chain.get().to_be_bytes());
    Address::from(bytes)
}

/// One SystemConfig's storage (non-zero slots only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SystemConfigStorage {
    slots: BTreeMap<B256, B256>,
}

impl SystemConfigStorage {
    /// The storage right after deployment with `config` (the rollup's genesis system config),
    /// `owner` and the chain's `unsafe_block_signer`.
    pub fn deployed(config: &SystemConfig, owner: Address, unsafe_block_signer: Address) -> Self {
        let mut s = Self::default();
        s.set(OWNER_SLOT, owner.into_word());
        s.set(OVERHEAD_SLOT, config.overhead);
        s.set(SCALAR_SLOT, config.scalar);
        s.set(
            BATCHER_HASH_SLOT,
            contracts::batcher_hash(config.batcher_address),
        );
        s.set(GAS_LIMIT_SLOT, U256::from(config.gas_limit).into());
        s.set(UNSAFE_BLOCK_SIGNER_SLOT, unsafe_block_signer.into_word());
        s
    }

    fn set(&mut self, slot: B256, value: B256) {
        if value.is_zero() {
            self.slots.remove(&slot);
        } else {
            self.slots.insert(slot, value);
        }
    }

    /// The word in `slot` (zero when unset).
    pub fn get(&self, slot: &B256) -> B256 {
        self.slots.get(slot).copied().unwrap_or_default()
    }

    /// Applies a log this contract emitted: a `ConfigUpdate` BATCHER log sets `batcherHash`.
    pub fn apply(&mut self, log: &alloy::primitives::Log) {
        if let Some(batcher) = contracts::batcher_from_log(log) {
            self.set(BATCHER_HASH_SLOT, contracts::batcher_hash(batcher));
        }
    }

    /// The storage trie root and a proof for each of `keys` (root node first), as
    /// `eth_getProof` returns them; absent slots get exclusion proofs and value zero.
    pub fn proofs(&self, keys: &[JsonStorageKey]) -> (B256, Vec<EIP1186StorageProof>) {
        let targets: Vec<Nibbles> = keys
            .iter()
            .map(|k| Nibbles::unpack(keccak256(k.as_b256())))
            .collect();
        let mut leaves: Vec<(Nibbles, Vec<u8>)> = self
            .slots
            .iter()
            .map(|(slot, value)| {
                (
                    Nibbles::unpack(keccak256(slot)),
                    alloy::rlp::encode(U256::from_be_bytes(value.0)),
                )
            })
            .collect();
        leaves.sort_by_key(|leaf| leaf.0);
        let mut hb =
            HashBuilder::default().with_proof_retainer(ProofRetainer::new(targets.clone()));
        for (key, value) in &leaves {
            hb.add_leaf(*key, value);
        }
        let root = if leaves.is_empty() {
            EMPTY_ROOT_HASH
        } else {
            hb.root()
        };
        let nodes = hb.take_proof_nodes();
        let proofs = keys
            .iter()
            .zip(&targets)
            .map(|(key, target)| EIP1186StorageProof {
                key: *key,
                value: U256::from_be_bytes(self.get(&key.as_b256()).0),
                proof: nodes
                    .matching_nodes_sorted(target)
                    .into_iter()
                    .map(|(_, node)| node)
                    .collect::<Vec<Bytes>>(),
            })
            .collect();
        (root, proofs)
    }

    /// The `eth_getProof` answer for this contract at `address`.
    pub fn account_proof(
        &self,
        address: Address,
        keys: &[JsonStorageKey],
    ) -> EIP1186AccountProofResponse {
        let (storage_hash, storage_proof) = self.proofs(keys);
        EIP1186AccountProofResponse {
            address,
            balance: U256::ZERO,
            // The contract is simulated: it has no code whose hash could be given.
            code_hash: KECCAK_EMPTY,
            nonce: 0,
            storage_hash,
            account_proof: Vec::new(),
            storage_proof,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::trie::proof::verify_proof;

    fn config() -> SystemConfig {
        SystemConfig {
            batcher_address: Address::repeat_byte(0xba),
            overhead: B256::ZERO,
            scalar: B256::repeat_byte(3),
            gas_limit: 60_000_000,
            eip1559_params: None,
            operator_fee_params: None,
            min_base_fee: None,
            da_footprint_gas_scalar: None,
        }
    }

    #[test]
    fn unsafe_block_signer_slot_is_the_keccak_of_its_name() {
        assert_eq!(
            UNSAFE_BLOCK_SIGNER_SLOT,
            keccak256("systemconfig.unsafeblocksigner")
        );
    }

    #[test]
    fn addresses_differ_per_chain() {
        assert_ne!(address_for(ChainId(901)), address_for(ChainId(902)));
        assert_eq!(
            address_for(ChainId(901)).to_string().to_lowercase(),
            "0x5c0f190000000000000000000000000000000385"
        );
    }

    #[test]
    fn storage_follows_deployment_and_batcher_logs_with_verifying_proofs() {
        let signer = Address::repeat_byte(0x51);
        let mut s = SystemConfigStorage::deployed(&config(), Address::repeat_byte(1), signer);
        assert_eq!(s.get(&UNSAFE_BLOCK_SIGNER_SLOT), signer.into_word());
        assert_eq!(
            s.get(&BATCHER_HASH_SLOT),
            Address::repeat_byte(0xba).into_word()
        );
        assert_eq!(
            s.get(&GAS_LIMIT_SLOT),
            B256::from(U256::from(60_000_000u64))
        );
        let sc = address_for(ChainId(901));
        s.apply(&contracts::batcher_update_log(
            sc,
            Address::repeat_byte(0xbb),
        ));
        assert_eq!(
            s.get(&BATCHER_HASH_SLOT),
            Address::repeat_byte(0xbb).into_word()
        );
        let keys: Vec<JsonStorageKey> = [UNSAFE_BLOCK_SIGNER_SLOT, BATCHER_HASH_SLOT, slot(7)]
            .into_iter()
            .map(JsonStorageKey::from)
            .collect();
        let answer = s.account_proof(sc, &keys);
        for p in &answer.storage_proof {
            let key = Nibbles::unpack(keccak256(p.key.as_b256()));
            let value = (!p.value.is_zero()).then(|| alloy::rlp::encode(p.value));
            assert!(verify_proof(answer.storage_hash, key, value, &p.proof).is_ok());
        }
        assert_eq!(answer.storage_proof[2].value, U256::ZERO);
    }
}
