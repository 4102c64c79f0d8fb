//! What a simulated execution client is configured with: chain id, genesis, fork schedule and
//! EIP-1559 defaults. Holocene (and every fork before it) is active from genesis; Isthmus and
//! Jovian activate at optional timestamps.
//!
//! ```text
//! time ──────────┬──────────────┬─────────────▶
//!   Holocene     │ Isthmus      │ Jovian
//!   V3 payloads  │ V4 payloads, withdrawalsRoot = message-passer storage root
//!   9-byte extra │ requestsHash = sha256("")   │ 17-byte extra (min base fee),
//!                │                             │ blobGasUsed = DA footprint
//! ```

use alloy::{eips::eip1559::BaseFeeParams, primitives::B256};
use opfleet_protocol::ChainId;

/// The protocol rules a block follows, by its timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fork {
    /// Holocene (Canyon, Ecotone, Fjord, Granite included): V3 payloads.
    Holocene,
    /// Isthmus: V4 payloads, L2 withdrawals root and empty requests hash in the header.
    Isthmus,
    /// Jovian: minimum base fee in extra data, DA footprint in `blobGasUsed`.
    Jovian,
}

impl Fork {
    /// Whether this fork includes Isthmus rules.
    pub fn is_isthmus(self) -> bool {
        self >= Self::Isthmus
    }

    /// Whether this fork includes Jovian rules.
    pub fn is_jovian(self) -> bool {
        self >= Self::Jovian
    }
}

/// Activation timestamps of the forks after Holocene; `None` means never.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForkSchedule {
    /// Isthmus activation time.
    pub isthmus_time: Option<u64>,
    /// Jovian activation time (must not precede Isthmus).
    pub jovian_time: Option<u64>,
}

impl ForkSchedule {
    /// Holocene rules forever.
    pub const fn holocene() -> Self {
        Self {
            isthmus_time: None,
            jovian_time: None,
        }
    }

    /// Isthmus from genesis, Jovian never.
    pub const fn isthmus() -> Self {
        Self {
            isthmus_time: Some(0),
            jovian_time: None,
        }
    }

    /// Isthmus and Jovian from genesis.
    pub const fn jovian() -> Self {
        Self {
            isthmus_time: Some(0),
            jovian_time: Some(0),
        }
    }

    /// The fork active at `timestamp`.
    pub fn fork_at(&self, timestamp: u64) -> Fork {
        let active = |t: Option<u64>| t.is_some_and(|t| timestamp >= t);
        if active(self.jovian_time) {
            Fork::Jovian
        } else if active(self.isthmus_time) {
            Fork::Isthmus
        } else {
            Fork::Holocene
        }
    }
}

/// The genesis block's configurable fields; the rest follow from the fork rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenesisConfig {
    /// Genesis timestamp.
    pub timestamp: u64,
    /// Genesis gas limit.
    pub gas_limit: u64,
    /// Genesis base fee per gas.
    pub base_fee: u64,
    /// Seed of the simulated history commitment; it decides the genesis state root and so the
    /// genesis hash (any value the devnet likes).
    pub history_seed: B256,
}

impl GenesisConfig {
    /// A genesis at `timestamp` with a 30M gas limit, 1 gwei base fee and a history seed derived
    /// from the chain id so that different chains have different genesis hashes.
    pub fn new(chain_id: ChainId, timestamp: u64) -> Self {
        let mut seed = b"opfleet-sim-genesis-state".to_vec();
        seed.extend_from_slice(&chain_id.get().to_be_bytes());
        Self {
            timestamp,
            gas_limit: 30_000_000,
            base_fee: 1_000_000_000,
            history_seed: alloy::primitives::keccak256(seed),
        }
    }
}

/// Everything that decides block contents, shared by all instances of one chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainSpec {
    /// The L2 chain id.
    pub chain_id: ChainId,
    /// Genesis block fields.
    pub genesis: GenesisConfig,
    /// Fork activation times.
    pub forks: ForkSchedule,
    /// EIP-1559 parameters used when the attributes' `eip1559Params` are zero (Canyon values of
    /// OP Mainnet by default: denominator 250, elasticity 6).
    pub base_fee_params: BaseFeeParams,
}

impl ChainSpec {
    /// A spec with OP Mainnet's default EIP-1559 parameters.
    pub fn new(chain_id: ChainId, genesis: GenesisConfig, forks: ForkSchedule) -> Self {
        Self {
            chain_id,
            genesis,
            forks,
            base_fee_params: BaseFeeParams::new(250, 6),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fork_schedule() {
        let s = ForkSchedule {
            isthmus_time: Some(10),
            jovian_time: Some(20),
        };
        assert_eq!(s.fork_at(9), Fork::Holocene);
        assert_eq!(s.fork_at(10), Fork::Isthmus);
        assert_eq!(s.fork_at(25), Fork::Jovian);
        assert_eq!(ForkSchedule::holocene().fork_at(u64::MAX), Fork::Holocene);
        assert!(Fork::Jovian.is_isthmus() && !Fork::Isthmus.is_jovian());
    }
}
