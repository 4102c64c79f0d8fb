//! Transaction traffic of a devnet chain: signed EIP-1559 user transactions from a few dev keys,
//! and interop traffic through the simulated execution client's log calldata
//! ([`SIM_LOG_MAGIC`](crate::el::SIM_LOG_MAGIC)).
//!
//! ```text
//!  transfers ──── key_i ─▶ random address, value                     (no logs)
//!  initiating ─── key_i ─▶ INITIATOR: emits Ping(counter) with random data
//!  executing ──── key_i ─▶ CrossL2Inbox: emits ExecutingMessage(payloadHash, Identifier)
//!                          for an initiating log of ANOTHER chain from the shared feed, with
//!                          the access-list entries a real CrossL2Inbox call needs
//!  invalid (hook) key_i ─▶ CrossL2Inbox: an ExecutingMessage for a log that does not exist
//! ```
//! Nonces are tracked per key; [`TxGen::checkpoint`]/[`TxGen::restore`] undo a batch whose block
//! was not built.

use alloy::consensus::{SignableTransaction, TxEip1559};
use alloy::eips::eip2718::Encodable2718;
use alloy::eips::eip2930::{AccessList, AccessListItem};
use alloy::primitives::{Address, B256, Bytes, Log, LogData, TxKind, U256, address, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use op_alloy_consensus::OpTxEnvelope;
use opfleet_protocol::ChainId;
use opfleet_protocol::interop::{CROSS_L2_INBOX_ADDRESS, ExecutingMessage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::feed::InteropFeed;
use crate::el::{encode_sim_logs, logs::SimLogError};

/// The contract that emits the devnet's initiating messages.
pub const INITIATOR_ADDRESS: Address = address!("0x00000000000000000000000000000000000e1717");

/// Event signature hashed into the first topic of initiating logs.
pub const PING_EVENT: &str = "Ping(uint256,bytes)";

/// Gas limit of a plain transfer.
const TRANSFER_GAS: u64 = 21_000;

/// Why a transaction could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum TxGenError {
    /// Signing failed.
    #[error("signing a transaction of key {key}: {reason}")]
    Sign {
        /// Index of the dev key.
        key: usize,
        /// The signer's message.
        reason: String,
    },
    /// Log calldata could not be encoded.
    #[error("encoding log calldata: {0}")]
    Logs(#[from] SimLogError),
    /// A dev key could not be derived.
    #[error("deriving dev key {0}: the derived scalar is not a valid secp256k1 key")]
    Key(usize),
}

/// How much traffic each block carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxGenConfig {
    /// Seed of the generator.
    pub seed: u64,
    /// Number of dev keys.
    pub keys: usize,
    /// At most this many transfers per block (uniform in `0..=max`).
    pub max_transfers: u32,
    /// Initiating-message transactions per block.
    pub initiating_per_block: u32,
    /// At most this many executing-message transactions per block (when the feed has logs).
    pub executing_per_block: u32,
}

impl Default for TxGenConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            keys: 4,
            max_transfers: 3,
            initiating_per_block: 0,
            executing_per_block: 0,
        }
    }
}

/// The deterministic dev key `index` of `chain_id` (funded in the simulated state, which checks
/// no balances).
pub fn dev_key(chain_id: ChainId, index: usize) -> Result<PrivateKeySigner, TxGenError> {
    let mut seed = b"opfleet devnet key".to_vec();
    seed.extend_from_slice(&chain_id.get().to_be_bytes());
    seed.extend_from_slice(&(index as u64).to_be_bytes());
    PrivateKeySigner::from_bytes(&keccak256(seed)).map_err(|_| TxGenError::Key(index))
}

/// The state a batch changes, to undo it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    nonces: Vec<u64>,
    cursor: usize,
    pings: u64,
}

/// One block's generated transactions.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// EIP-2718 transactions, in block order.
    pub txs: Vec<Bytes>,
    /// Executing messages the batch emits (valid ones).
    pub executing: Vec<ExecutingMessage>,
    /// The invalid executing message, if one was injected.
    pub invalid: Option<ExecutingMessage>,
}

/// The generator of one chain.
#[derive(Debug)]
pub struct TxGen {
    chain_id: ChainId,
    config: TxGenConfig,
    keys: Vec<PrivateKeySigner>,
    nonces: Vec<u64>,
    rng: StdRng,
    feed: Option<InteropFeed>,
    cursor: usize,
    pings: u64,
    equivocator: PrivateKeySigner,
    equivocations: u64,
}

impl TxGen {
    /// A generator for `chain_id`, reading other chains' initiating logs from `feed`.
    pub fn new(
        chain_id: ChainId,
        config: TxGenConfig,
        feed: Option<InteropFeed>,
    ) -> Result<Self, TxGenError> {
        let keys = (0..config.keys.max(1))
            .map(|i| dev_key(chain_id, i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            chain_id,
            nonces: vec![0; keys.len()],
            keys,
            rng: StdRng::seed_from_u64(config.seed ^ chain_id.get()),
            feed,
            cursor: 0,
            pings: 0,
            // Its transactions only ever go into the losing block of an equivocation, so its
            // nonce sequence is separate from the tracked keys'.
            equivocator: dev_key(chain_id, usize::MAX)?,
            equivocations: 0,
            config,
        })
    }

    /// Addresses of the dev keys.
    pub fn addresses(&self) -> Vec<Address> {
        self.keys.iter().map(|k| k.address()).collect()
    }

    /// Continues each key's nonce sequence at `nonces` (in key order, as [`TxGen::addresses`]):
    /// a restarted sequencer takes them from the chain it resumes.
    pub fn set_nonces(&mut self, nonces: &[u64]) {
        for (mine, chain) in self.nonces.iter_mut().zip(nonces) {
            *mine = *chain;
        }
    }

    /// What [`TxGen::restore`] goes back to.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            nonces: self.nonces.clone(),
            cursor: self.cursor,
            pings: self.pings,
        }
    }

    /// Undoes the batches generated since `cp` (their block was not built).
    pub fn restore(&mut self, cp: Checkpoint) {
        self.nonces = cp.nonces;
        self.cursor = cp.cursor;
        self.pings = cp.pings;
    }

    fn sign(
        &mut self,
        key: usize,
        to: Address,
        value: U256,
        input: Bytes,
        access_list: AccessList,
    ) -> Result<Bytes, TxGenError> {
        let (Some(signer), Some(nonce)) = (self.keys.get(key), self.nonces.get_mut(key)) else {
            return Err(TxGenError::Key(key));
        };
        let gas_limit = if input.is_empty() && access_list.0.is_empty() {
            TRANSFER_GAS
        } else {
            200_000 + 16 * input.len() as u64
        };
        let tx = TxEip1559 {
            chain_id: self.chain_id.get(),
            nonce: *nonce,
            gas_limit,
            max_fee_per_gas: 100_000_000_000,
            max_priority_fee_per_gas: 1_000_000,
            to: TxKind::Call(to),
            value,
            access_list,
            input,
        };
        let sig = signer
            .sign_hash_sync(&tx.signature_hash())
            .map_err(|e| TxGenError::Sign {
                key,
                reason: e.to_string(),
            })?;
        *nonce += 1;
        Ok(OpTxEnvelope::Eip1559(tx.into_signed(sig))
            .encoded_2718()
            .into())
    }

    fn random_key(&mut self) -> usize {
        self.rng.random_range(0..self.keys.len())
    }

    /// The transactions of a block at `timestamp`; with `invalid`, one executing message points
    /// at a log that does not exist.
    pub fn generate(&mut self, timestamp: u64, invalid: bool) -> Result<Batch, TxGenError> {
        let mut batch = Batch::default();
        let transfers = self.rng.random_range(0..=self.config.max_transfers);
        for _ in 0..transfers {
            let key = self.random_key();
            let to = Address::from(self.rng.random::<[u8; 20]>());
            let value = U256::from(self.rng.random_range(1..1_000_000_000u64));
            let tx = self.sign(key, to, value, Bytes::new(), AccessList::default())?;
            batch.txs.push(tx);
        }
        for _ in 0..self.config.initiating_per_block {
            let key = self.random_key();
            let tx = self.initiating_tx(key)?;
            batch.txs.push(tx);
        }
        for msg in self.take_foreign_logs(timestamp) {
            let key = self.random_key();
            batch.txs.push(self.executing_tx(key, &msg)?);
            batch.executing.push(msg);
        }
        if invalid {
            let msg = self.nonexistent_message(timestamp);
            let key = self.random_key();
            batch.txs.push(self.executing_tx(key, &msg)?);
            batch.invalid = Some(msg);
        }
        Ok(batch)
    }

    /// A transaction that emits one initiating log.
    fn initiating_tx(&mut self, key: usize) -> Result<Bytes, TxGenError> {
        let mut data = vec![0u8; 64];
        data[24..32].copy_from_slice(&self.chain_id.get().to_be_bytes());
        self.rng.fill(&mut data[32..]);
        let log = Log {
            address: INITIATOR_ADDRESS,
            data: LogData::new_unchecked(
                vec![keccak256(PING_EVENT), B256::from(U256::from(self.pings))],
                data.into(),
            ),
        };
        self.pings += 1;
        let input = encode_sim_logs(std::slice::from_ref(&log))?;
        self.sign(
            key,
            INITIATOR_ADDRESS,
            U256::ZERO,
            input,
            AccessList::default(),
        )
    }

    /// A CrossL2Inbox call that emits the `ExecutingMessage` event of `msg`.
    fn executing_tx(&mut self, key: usize, msg: &ExecutingMessage) -> Result<Bytes, TxGenError> {
        let input = encode_sim_logs(std::slice::from_ref(&msg.to_log()))?;
        let access_list = AccessList(vec![AccessListItem {
            address: CROSS_L2_INBOX_ADDRESS,
            storage_keys: msg.access().entries().to_vec(),
        }]);
        self.sign(key, CROSS_L2_INBOX_ADDRESS, U256::ZERO, input, access_list)
    }

    /// Up to `executing_per_block` initiating logs of other chains not yet executed, no newer
    /// than `timestamp`. The cursor moves past own logs and taken ones; it stops at the first
    /// foreign log that is still in this block's future.
    fn take_foreign_logs(&mut self, timestamp: u64) -> Vec<ExecutingMessage> {
        let Some(feed) = &self.feed else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (index, entry) in feed.since(self.cursor) {
            if out.len() >= self.config.executing_per_block as usize {
                break;
            }
            if entry.chain_id != self.chain_id {
                if entry.timestamp > timestamp {
                    break;
                }
                out.push(entry.executing_message());
            }
            self.cursor = index + 1;
        }
        out
    }

    /// An executing message whose identifier names no log: the newest known foreign block at
    /// an impossible log index, or (without foreign logs) this chain's genesis, which has none.
    fn nonexistent_message(&mut self, timestamp: u64) -> ExecutingMessage {
        let foreign = self.feed.as_ref().and_then(|f| {
            f.all()
                .into_iter()
                .rev()
                .find(|e| e.chain_id != self.chain_id && e.timestamp <= timestamp)
        });
        let mut payload = [0u8; 32];
        self.rng.fill(&mut payload);
        match foreign {
            Some(e) => ExecutingMessage {
                log_index: u32::MAX,
                payload_hash: B256::from(payload),
                ..e.executing_message()
            },
            None => ExecutingMessage {
                chain_id: self.chain_id,
                block_number: 0,
                log_index: 0,
                timestamp,
                origin: INITIATOR_ADDRESS,
                payload_hash: B256::from(payload),
            },
        }
    }

    /// A transaction no other block at this height has, for the losing side of an equivocation.
    pub fn equivocation_tx(&mut self) -> Result<Bytes, TxGenError> {
        let tx = TxEip1559 {
            chain_id: self.chain_id.get(),
            nonce: self.equivocations,
            gas_limit: TRANSFER_GAS,
            max_fee_per_gas: 100_000_000_000,
            max_priority_fee_per_gas: 1_000_000,
            to: TxKind::Call(address!("0x000000000000000000000000000000000000dead")),
            value: U256::from(1),
            access_list: AccessList::default(),
            input: Bytes::new(),
        };
        let sig = self
            .equivocator
            .sign_hash_sync(&tx.signature_hash())
            .map_err(|e| TxGenError::Sign {
                key: usize::MAX,
                reason: e.to_string(),
            })?;
        self.equivocations += 1;
        Ok(OpTxEnvelope::Eip1559(tx.into_signed(sig))
            .encoded_2718()
            .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequencer::feed::InitiatingLog;
    use alloy::consensus::{Transaction, transaction::SignerRecoverable};
    use alloy::eips::eip2718::Decodable2718;

    fn decode(tx: &Bytes) -> OpTxEnvelope {
        OpTxEnvelope::decode_2718(&mut &tx[..]).unwrap()
    }

    #[test]
    fn transfers_are_signed_by_dev_keys_with_increasing_nonces() {
        let cfg = TxGenConfig {
            max_transfers: 5,
            ..Default::default()
        };
        let mut g = TxGen::new(ChainId(901), cfg, None).unwrap();
        let keys = g.addresses();
        let mut seen = std::collections::HashMap::<Address, u64>::new();
        for t in 0..20 {
            for tx in g.generate(t, false).unwrap().txs {
                let env = decode(&tx);
                let sender = env.recover_signer().unwrap();
                assert!(keys.contains(&sender));
                assert_eq!(env.chain_id(), Some(901));
                let next = seen.entry(sender).or_default();
                assert_eq!(env.nonce(), *next);
                *next += 1;
            }
        }
        assert!(!seen.is_empty());
    }

    #[test]
    fn restore_reuses_nonces() {
        let cfg = TxGenConfig {
            keys: 1,
            max_transfers: 0,
            initiating_per_block: 1,
            ..Default::default()
        };
        let mut g = TxGen::new(ChainId(901), cfg, None).unwrap();
        let cp = g.checkpoint();
        let a = g.generate(1, false).unwrap();
        g.restore(cp);
        let b = g.generate(1, false).unwrap();
        assert_eq!(decode(&a.txs[0]).nonce(), decode(&b.txs[0]).nonce());
    }

    #[test]
    fn executes_only_foreign_logs_not_in_the_future() {
        let feed = InteropFeed::new();
        let log = |chain: u64, ts: u64, i: u32| InitiatingLog {
            chain_id: ChainId(chain),
            block_number: ts,
            log_index: i,
            timestamp: ts,
            log: Log {
                address: INITIATOR_ADDRESS,
                data: LogData::new_unchecked(
                    vec![B256::repeat_byte(1)],
                    Bytes::from(vec![i as u8]),
                ),
            },
        };
        feed.push([
            log(901, 1, 0),
            log(902, 1, 0),
            log(902, 5, 1),
            log(902, 9, 0),
        ]);
        let cfg = TxGenConfig {
            max_transfers: 0,
            executing_per_block: 10,
            ..Default::default()
        };
        let mut g = TxGen::new(ChainId(901), cfg, Some(feed.clone())).unwrap();
        let batch = g.generate(6, false).unwrap();
        let expected: Vec<_> = [log(902, 1, 0), log(902, 5, 1)]
            .iter()
            .map(InitiatingLog::executing_message)
            .collect();
        assert_eq!(batch.executing, expected);
        assert_eq!(batch.txs.len(), 2);
        // The event in the calldata parses back to the message.
        let env = decode(&batch.txs[1]);
        let logs = crate::el::logs::decode_sim_logs(env.input())
            .unwrap()
            .unwrap();
        assert_eq!(
            ExecutingMessage::from_log(&logs[0]).unwrap(),
            Some(expected[1])
        );
        // The log at time 9 comes once the block time reaches it, and only once.
        assert!(g.generate(8, false).unwrap().executing.is_empty());
        assert_eq!(g.generate(9, false).unwrap().executing.len(), 1);
        assert!(g.generate(10, false).unwrap().executing.is_empty());
    }

    #[test]
    fn invalid_message_names_no_known_log() {
        let feed = InteropFeed::new();
        let cfg = TxGenConfig {
            max_transfers: 0,
            ..Default::default()
        };
        let mut g = TxGen::new(ChainId(901), cfg, Some(feed)).unwrap();
        let batch = g.generate(4, true).unwrap();
        let msg = batch.invalid.unwrap();
        assert_eq!((msg.chain_id, msg.block_number), (ChainId(901), 0));
        assert_eq!(batch.txs.len(), 1);
    }

    #[test]
    fn equivocation_txs_come_from_an_untracked_key() {
        let mut g = TxGen::new(ChainId(901), TxGenConfig::default(), None).unwrap();
        let env = decode(&g.equivocation_tx().unwrap());
        assert!(!g.addresses().contains(&env.recover_signer().unwrap()));
    }
}
