//! L1 accounts the simulation itself sends from: random depositors and the SystemConfig owner.
//!
//! ```text
//! seeded rng --> one of DEPOSITORS keys --> signed 1559 tx to OptimismPortal (value = mint)
//!                                           + TransactionDeposited log
//! owner key  --> signed 1559 tx to SystemConfig.setBatcherHash + ConfigUpdate log
//! ```
//! Transactions are really signed (secp256k1 via alloy's `PrivateKeySigner`), so senders
//! recover from signatures like on a real chain. Nonces are tracked per account.
//!
//! Depositors are a fixed set that deposit again and again, as users of a real portal do. A
//! fresh account per deposit made every L2 execution client's account set, and with it each
//! block's nonce table (one copy per block kept) and state trie, grow without bound.

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope, transaction::Recovered};
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::signers::local::PrivateKeySigner;
use opfleet_protocol::ChainId;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::block::L1Tx;
use super::contracts::{self, Deposit};

/// Gas limit of the L1 calls the simulation makes (ample for the real contracts too).
const CALL_GAS_LIMIT: u64 = 300_000;

/// Fee cap of those calls: far above the devnet base fee, so they are always includable.
const MAX_FEE_PER_GAS: u128 = 100_000_000_000;

/// Tip of those calls.
const PRIORITY_FEE_PER_GAS: u128 = 1_000_000_000;

/// Why the simulation could not sign a transaction.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The signer failed (never expected with an in-memory key).
    #[error("signing an L1 transaction from {from}: {source}")]
    Sign {
        /// The sending account.
        from: Address,
        /// The signer's error.
        source: alloy::signers::Error,
    },
}

/// The accounts the L1 sends from, with a seeded generator of random deposits.
pub struct Accounts {
    chain_id: ChainId,
    portal: Address,
    system_config: Address,
    rng: StdRng,
    owner: PrivateKeySigner,
    owner_nonce: u64,
    /// The depositors and their next L1 nonces.
    depositors: [(PrivateKeySigner, u64); DEPOSITORS],
}

/// How many accounts make the random deposits.
pub const DEPOSITORS: usize = 16;

impl Accounts {
    /// Accounts for a chain; everything random derives from `seed`.
    pub fn new(chain_id: ChainId, portal: Address, system_config: Address, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let owner = random_signer(&mut rng);
        let depositors = std::array::from_fn(|_| (random_signer(&mut rng), 0));
        Self {
            chain_id,
            portal,
            system_config,
            rng,
            owner,
            owner_nonce: 0,
            depositors,
        }
    }

    /// The SystemConfig owner.
    pub fn owner(&self) -> Address {
        self.owner.address()
    }

    /// Up to `max` random deposits, each from one of the [`DEPOSITORS`].
    pub fn random_deposits(&mut self, max: u32) -> Result<Vec<L1Tx>, SignError> {
        let count = if max == 0 {
            0
        } else {
            self.rng.random_range(0..=max)
        };
        (0..count).map(|_| self.random_deposit()).collect()
    }

    /// One random deposit from one of the [`DEPOSITORS`].
    pub fn random_deposit(&mut self) -> Result<L1Tx, SignError> {
        let index = self.rng.random_range(0..DEPOSITORS);
        let (signer, nonce) = self.depositors[index].clone();
        // Mostly plain transfers; one in eight creates a contract, half carry calldata.
        let to = if self.rng.random_range(0..8) == 0 {
            TxKind::Create
        } else {
            TxKind::Call(Address::from(self.rng.random::<[u8; 20]>()))
        };
        let mint: u128 = self.rng.random_range(0..1_000_000_000_000_000_000);
        let value = U256::from(self.rng.random_range(0..=mint));
        let data_len = if self.rng.random_bool(0.5) {
            self.rng.random_range(1..64)
        } else {
            0
        };
        let data: Vec<u8> = (0..data_len).map(|_| self.rng.random()).collect();
        let deposit = Deposit {
            from: signer.address(),
            to,
            mint,
            value,
            gas_limit: self.rng.random_range(21_000..200_000),
            data: data.into(),
        };
        let log = deposit.log(self.portal);
        let tx = sign(
            &signer,
            self.chain_id,
            nonce,
            self.portal,
            U256::from(mint),
            deposit.portal_calldata(),
        )?;
        self.depositors[index].1 = nonce + 1;
        Ok(L1Tx {
            tx,
            blobs: Vec::new(),
            logs: vec![log],
        })
    }

    /// The owner's `setBatcherHash(batcher)` call with its `ConfigUpdate` log.
    pub fn set_batcher(&mut self, batcher: Address) -> Result<L1Tx, SignError> {
        self.set_batcher_of(self.system_config, batcher)
    }

    /// The owner's `setBatcherHash(batcher)` call on `system_config` with its log.
    pub fn set_batcher_of(
        &mut self,
        system_config: Address,
        batcher: Address,
    ) -> Result<L1Tx, SignError> {
        let tx = sign(
            &self.owner,
            self.chain_id,
            self.owner_nonce,
            system_config,
            U256::ZERO,
            contracts::set_batcher_calldata(batcher),
        )?;
        self.owner_nonce += 1;
        Ok(L1Tx {
            tx,
            blobs: Vec::new(),
            logs: vec![contracts::batcher_update_log(system_config, batcher)],
        })
    }
}

/// A signer from 32 random bytes; the rare bytes that are not a valid scalar are redrawn.
fn random_signer(rng: &mut StdRng) -> PrivateKeySigner {
    loop {
        let key = B256::from(rng.random::<[u8; 32]>());
        if let Ok(signer) = PrivateKeySigner::from_bytes(&key) {
            return signer;
        }
    }
}

fn sign(
    signer: &PrivateKeySigner,
    chain_id: ChainId,
    nonce: u64,
    to: Address,
    value: U256,
    input: Bytes,
) -> Result<Recovered<TxEnvelope>, SignError> {
    let mut tx = TxEip1559 {
        chain_id: chain_id.get(),
        nonce,
        gas_limit: CALL_GAS_LIMIT,
        max_fee_per_gas: MAX_FEE_PER_GAS,
        max_priority_fee_per_gas: PRIORITY_FEE_PER_GAS,
        to: TxKind::Call(to),
        value,
        access_list: Default::default(),
        input,
    };
    let signature = signer
        .sign_transaction_sync(&mut tx)
        .map_err(|source| SignError::Sign {
            from: signer.address(),
            source,
        })?;
    Ok(Recovered::new_unchecked(
        TxEnvelope::from(tx.into_signed(signature)),
        signer.address(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::consensus::transaction::SignerRecoverable;
    use alloy::primitives::Log;
    use opfleet_protocol::deposit::deposit_from_log;

    fn accounts(seed: u64) -> Accounts {
        Accounts::new(
            ChainId(900),
            Address::repeat_byte(0xd0),
            Address::repeat_byte(0x5c),
            seed,
        )
    }

    #[test]
    fn deposits_are_signed_by_their_depositor() {
        let mut a = accounts(7);
        for _ in 0..8 {
            let d = a.random_deposit().unwrap();
            let from = d.tx.inner().recover_signer().unwrap();
            assert_eq!(from, d.tx.signer());
            let log: &Log = &d.logs[0];
            let dep = deposit_from_log(Address::repeat_byte(0xd0), B256::ZERO, 0, log).unwrap();
            assert_eq!(dep.from, from);
        }
    }

    #[test]
    fn same_seed_same_deposits() {
        let a: Vec<_> = accounts(3)
            .random_deposits(5)
            .unwrap()
            .iter()
            .map(L1Tx::hash)
            .collect();
        let b: Vec<_> = accounts(3)
            .random_deposits(5)
            .unwrap()
            .iter()
            .map(L1Tx::hash)
            .collect();
        assert_eq!(a, b);
    }

    #[test]
    fn deposits_come_from_a_fixed_set_with_consecutive_nonces() {
        use alloy::consensus::Transaction;
        let mut a = accounts(5);
        let mut next: std::collections::HashMap<Address, u64> = Default::default();
        for _ in 0..200 {
            let d = a.random_deposit().unwrap();
            let n = next.entry(d.tx.signer()).or_default();
            assert_eq!(
                d.tx.inner().nonce(),
                *n,
                "nonces per depositor run 0, 1, 2, ..."
            );
            *n += 1;
        }
        assert!(next.len() <= DEPOSITORS, "{} depositors", next.len());
        assert!(next.len() > 1, "deposits spread over the set");
    }

    #[test]
    fn owner_nonce_increments() {
        let mut a = accounts(1);
        let t0 = a.set_batcher(Address::repeat_byte(1)).unwrap();
        let t1 = a.set_batcher(Address::repeat_byte(2)).unwrap();
        use alloy::consensus::Transaction;
        assert_eq!(t0.tx.inner().nonce(), 0);
        assert_eq!(t1.tx.inner().nonce(), 1);
        assert_eq!(t0.tx.signer(), a.owner());
    }
}
