//! Configuration of the simulated L1.

use std::net::SocketAddr;

use alloy::primitives::{Address, address};
use opfleet_protocol::ChainId;

/// How far the `safe` and `finalized` tags lag the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagLag {
    /// Fixed distances in blocks (the fast devnet: with 2 s blocks, safe 8 s and finalized 16 s
    /// behind the head by default).
    Blocks {
        /// Blocks between head and safe.
        safe: u64,
        /// Blocks between head and finalized.
        finalized: u64,
    },
    /// Casper FFG shape with every slot filled: safe is the first block of the previous epoch
    /// (the justified checkpoint) and finalized the first block of the epoch before it.
    Epochs {
        /// Slots per epoch (32 on mainnet).
        slots_per_epoch: u64,
    },
}

impl TagLag {
    /// `(safe, finalized)` block numbers for a head at `head` (genesis at slot 0, one block
    /// per slot).
    pub fn tags(&self, head: u64) -> (u64, u64) {
        match *self {
            TagLag::Blocks { safe, finalized } => {
                (head.saturating_sub(safe), head.saturating_sub(finalized))
            }
            TagLag::Epochs { slots_per_epoch } => {
                let spe = slots_per_epoch.max(1);
                let epoch = head / spe;
                (epoch.saturating_sub(1) * spe, epoch.saturating_sub(2) * spe)
            }
        }
    }

    /// Slots per epoch as the beacon spec endpoint reports it.
    pub fn slots_per_epoch(&self) -> u64 {
        match *self {
            TagLag::Blocks { .. } => 32,
            TagLag::Epochs { slots_per_epoch } => slots_per_epoch,
        }
    }
}

/// Random user deposits made at every block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepositConfig {
    /// At most this many deposits per block (uniform in `0..=max_per_block`); 0 disables them.
    pub max_per_block: u32,
    /// Seed of the generator, so runs are reproducible.
    pub seed: u64,
}

/// Everything the simulated L1 needs to start.
#[derive(Clone, Debug)]
pub struct L1Config {
    /// L1 chain id (`eth_chainId`).
    pub chain_id: ChainId,
    /// Seconds between blocks; also the beacon `SECONDS_PER_SLOT`.
    pub block_time: u64,
    /// Timestamp of the genesis block and beacon genesis time; `None` means "now".
    pub genesis_time: Option<u64>,
    /// Lag of the safe and finalized tags.
    pub tags: TagLag,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Whether headers carry the Prague `requestsHash` (L1 mainnet and Sepolia do since 2025).
    pub prague: bool,
    /// OptimismPortal address (the deposit contract).
    pub portal: Address,
    /// SystemConfig address.
    pub system_config: Address,
    /// Batch inbox address the batcher posts to.
    pub batch_inbox: Address,
    /// Batcher at genesis (what the rollup config's genesis system config names).
    pub initial_batcher: Address,
    /// Fee recipient of every block.
    pub beneficiary: Address,
    /// Random deposits.
    pub deposits: DepositConfig,
    /// Blobs of blocks this many blocks below the head (and finalized) are pruned, as beacon
    /// nodes prune after their retention window; `None` keeps every blob (see `retention`).
    pub blob_retention: Option<u64>,
    /// Blocks (headers, transactions, receipts) this many blocks below the head (and
    /// finalized) are pruned; genesis is always kept; `None` keeps every block (see
    /// `retention`).
    pub history_retention: Option<u64>,
    /// Produce blocks on a timer; when false, only [`super::L1Handle::mine`] produces blocks.
    pub auto_mine: bool,
    /// Listen address of the JSON-RPC server (port 0 picks a free one).
    pub rpc_addr: SocketAddr,
    /// Listen address of the beacon API (port 0 picks a free one).
    pub beacon_addr: SocketAddr,
}

impl L1Config {
    /// The fast devnet L1: 2 s blocks, safe 4 and finalized 8 blocks behind, 0-2 deposits per block.
    pub fn devnet() -> Self {
        Self {
            chain_id: ChainId(900),
            block_time: 2,
            genesis_time: None,
            tags: TagLag::Blocks {
                safe: 4,
                finalized: 8,
            },
            gas_limit: 36_000_000,
            prague: true,
            portal: address!("0x0000000000000000000000000000000000d0517a"),
            system_config: address!("0x00000000000000000000000000000000005c0f19"),
            batch_inbox: address!("0xff00000000000000000000000000000000000901"),
            initial_batcher: address!("0x0000000000000000000000000000000000ba7c4e"),
            beneficiary: address!("0x0000000000000000000000000000000000c0ffee"),
            deposits: DepositConfig {
                max_per_block: 2,
                seed: 1,
            },
            blob_retention: Some(super::retention::DEFAULT_BLOB_RETENTION),
            history_retention: Some(super::retention::DEFAULT_HISTORY_RETENTION),
            auto_mine: true,
            rpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            beacon_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }

    /// Mainnet timing: 12 s slots, 32-slot epochs, safe and finalized by epoch.
    pub fn mainnet_timing() -> Self {
        Self {
            block_time: 12,
            tags: TagLag::Epochs {
                slots_per_epoch: 32,
            },
            ..Self::devnet()
        }
    }

    /// Manual mining only (for deterministic tests).
    pub fn manual(mut self) -> Self {
        self.auto_mine = false;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_lag_saturates_at_genesis() {
        let lag = TagLag::Blocks {
            safe: 4,
            finalized: 8,
        };
        assert_eq!(lag.tags(2), (0, 0));
        assert_eq!(lag.tags(10), (6, 2));
    }

    #[test]
    fn epoch_lag_uses_checkpoints() {
        let lag = TagLag::Epochs {
            slots_per_epoch: 32,
        };
        assert_eq!(lag.tags(31), (0, 0));
        assert_eq!(lag.tags(64), (32, 0));
        assert_eq!(lag.tags(100), (64, 32));
    }
}
