//! OP Stack hardforks and their activation times.
//!
//! ```text
//! Bedrock -> Regolith -> Canyon -> Delta -> Ecotone -> Fjord -> Granite
//!         -> Holocene -> Isthmus -> Jovian -> Karst -> Lagoon      Interop (experimental, unordered)
//!
//! fork active at L2 timestamp ts       <=>  fork_time is set and ts >= fork_time
//! first block of a fork (block time b) <=>  active(ts) and ts >= b and not active(ts - b)
//! ```
//!
//! Activation follows op-node's `rollup.Config.IsX`: each fork looks at its own time only, and
//! [`HardForkTimes::check_order`] rejects configs where a later fork is set before an earlier
//! one (op-node's `checkFork`). `pectra_blob_schedule_time` is not in the chain: it is an
//! optional switch keyed by the L1 origin timestamp (specs `protocol/pectra-blob-schedule/`).

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

/// A named OP Stack network upgrade, in activation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hardfork {
    /// The Bedrock base protocol, active from genesis.
    Bedrock,
    /// Regolith.
    Regolith,
    /// Canyon.
    Canyon,
    /// Delta (span batches).
    Delta,
    /// Ecotone (blobs).
    Ecotone,
    /// Fjord.
    Fjord,
    /// Granite.
    Granite,
    /// Holocene.
    Holocene,
    /// Isthmus.
    Isthmus,
    /// Jovian.
    Jovian,
    /// Karst.
    Karst,
    /// Lagoon (specs mark it experimental; op-node lists it as mainline).
    Lagoon,
    /// Interop.
    Interop,
}

impl Hardfork {
    /// Every fork, oldest first.
    pub const ALL: [Self; 13] = [
        Self::Bedrock,
        Self::Regolith,
        Self::Canyon,
        Self::Delta,
        Self::Ecotone,
        Self::Fjord,
        Self::Granite,
        Self::Holocene,
        Self::Isthmus,
        Self::Jovian,
        Self::Karst,
        Self::Lagoon,
        Self::Interop,
    ];

    /// Forks whose order op-node checks (`checkFork`); Interop is experimental and unordered.
    const ORDERED: [Self; 11] = [
        Self::Regolith,
        Self::Canyon,
        Self::Delta,
        Self::Ecotone,
        Self::Fjord,
        Self::Granite,
        Self::Holocene,
        Self::Isthmus,
        Self::Jovian,
        Self::Karst,
        Self::Lagoon,
    ];

    /// op-node's lower-case fork name (`rollup.ForkName`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Bedrock => "bedrock",
            Self::Regolith => "regolith",
            Self::Canyon => "canyon",
            Self::Delta => "delta",
            Self::Ecotone => "ecotone",
            Self::Fjord => "fjord",
            Self::Granite => "granite",
            Self::Holocene => "holocene",
            Self::Isthmus => "isthmus",
            Self::Jovian => "jovian",
            Self::Karst => "karst",
            Self::Lagoon => "lagoon",
            Self::Interop => "interop",
        }
    }
}

impl fmt::Display for Hardfork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fork name that is not one of [`Hardfork::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown hardfork {0:?}: expected one of bedrock, regolith, canyon, delta, ecotone, fjord, granite, holocene, isthmus, jovian, karst, interop"
)]
pub struct ParseHardforkError(pub String);

impl FromStr for Hardfork {
    type Err = ParseHardforkError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|f| f.name() == wanted)
            .ok_or_else(|| ParseHardforkError(s.to_string()))
    }
}

/// Fork times that contradict the fork order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HardforkOrderError {
    /// A fork is scheduled while the fork before it is not.
    #[error("fork {fork} is set (to {time}) but the prior fork {prior} is missing")]
    MissingPriorFork {
        /// The scheduled fork.
        fork: Hardfork,
        /// Its activation time.
        time: u64,
        /// The unscheduled fork before it.
        prior: Hardfork,
    },
    /// A fork activates before the fork it builds on.
    #[error("fork {fork} is set to {time}, before the prior fork {prior} at {prior_time}")]
    OutOfOrder {
        /// The fork set too early.
        fork: Hardfork,
        /// Its activation time.
        time: u64,
        /// The fork before it.
        prior: Hardfork,
        /// The prior fork's activation time.
        prior_time: u64,
    },
}

/// Activation timestamps (L2 block time, seconds) with op-node's rollup.json field names.
/// `None` means not scheduled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HardForkTimes {
    /// Regolith activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regolith_time: Option<u64>,
    /// Canyon activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canyon_time: Option<u64>,
    /// Delta activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_time: Option<u64>,
    /// Ecotone activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecotone_time: Option<u64>,
    /// Fjord activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fjord_time: Option<u64>,
    /// Granite activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granite_time: Option<u64>,
    /// Holocene activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holocene_time: Option<u64>,
    /// Time until which L1-info blob fees use the Cancun blob parameters; keyed by the L1
    /// origin timestamp, not the L2 block time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pectra_blob_schedule_time: Option<u64>,
    /// Isthmus activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isthmus_time: Option<u64>,
    /// Jovian activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jovian_time: Option<u64>,
    /// Karst activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub karst_time: Option<u64>,
    /// Lagoon activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lagoon_time: Option<u64>,
    /// Interop activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interop_time: Option<u64>,
}

impl HardForkTimes {
    /// When `fork` activates; Bedrock is active from genesis.
    pub const fn activation_time(&self, fork: Hardfork) -> Option<u64> {
        match fork {
            Hardfork::Bedrock => Some(0),
            Hardfork::Regolith => self.regolith_time,
            Hardfork::Canyon => self.canyon_time,
            Hardfork::Delta => self.delta_time,
            Hardfork::Ecotone => self.ecotone_time,
            Hardfork::Fjord => self.fjord_time,
            Hardfork::Granite => self.granite_time,
            Hardfork::Holocene => self.holocene_time,
            Hardfork::Isthmus => self.isthmus_time,
            Hardfork::Jovian => self.jovian_time,
            Hardfork::Karst => self.karst_time,
            Hardfork::Lagoon => self.lagoon_time,
            Hardfork::Interop => self.interop_time,
        }
    }

    /// Whether `fork` is active at L2 timestamp `ts`.
    pub const fn is_active(&self, fork: Hardfork, ts: u64) -> bool {
        match self.activation_time(fork) {
            Some(t) => ts >= t,
            None => false,
        }
    }

    /// Whether the block at `ts` is the first block of `fork`: active at `ts` but not one block
    /// earlier. A block closer than `block_time` to time zero never counts, as in op-node.
    pub const fn is_activation_block(&self, fork: Hardfork, ts: u64, block_time: u64) -> bool {
        match ts.checked_sub(block_time) {
            Some(prev) => self.is_active(fork, ts) && !self.is_active(fork, prev),
            None => false,
        }
    }

    /// The newest fork active at `ts`.
    pub fn active_fork(&self, ts: u64) -> Hardfork {
        Hardfork::ALL
            .into_iter()
            .rev()
            .find(|f| self.is_active(*f, ts))
            .unwrap_or(Hardfork::Bedrock)
    }

    /// Checks that every scheduled fork from Regolith to Lagoon has its predecessor scheduled at
    /// the same time or earlier (op-node `checkFork`).
    pub fn check_order(&self) -> Result<(), HardforkOrderError> {
        let ordered = Hardfork::ORDERED;
        for (prior, fork) in ordered.into_iter().zip(ordered.into_iter().skip(1)) {
            match (self.activation_time(prior), self.activation_time(fork)) {
                (None, Some(time)) => {
                    return Err(HardforkOrderError::MissingPriorFork { fork, time, prior });
                }
                (Some(prior_time), Some(time)) if prior_time > time => {
                    return Err(HardforkOrderError::OutOfOrder {
                        fork,
                        time,
                        prior,
                        prior_time,
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn staggered() -> HardForkTimes {
        HardForkTimes {
            regolith_time: Some(0),
            canyon_time: Some(10),
            delta_time: Some(20),
            ecotone_time: Some(30),
            fjord_time: Some(40),
            granite_time: Some(50),
            holocene_time: Some(60),
            pectra_blob_schedule_time: Some(65),
            isthmus_time: Some(70),
            jovian_time: Some(80),
            karst_time: Some(90),
            lagoon_time: Some(95),
            interop_time: Some(100),
        }
    }

    #[test]
    fn activation_is_inclusive_of_the_fork_time() {
        let t = staggered();
        assert!(!t.is_active(Hardfork::Canyon, 9));
        assert!(t.is_active(Hardfork::Canyon, 10));
        assert!(t.is_active(Hardfork::Canyon, 11));
        assert!(t.is_active(Hardfork::Bedrock, 0));
        assert!(!HardForkTimes::default().is_active(Hardfork::Interop, u64::MAX));
    }

    #[test]
    fn active_fork_walks_the_schedule() {
        let t = staggered();
        let expect = [
            (0, Hardfork::Regolith),
            (9, Hardfork::Regolith),
            (10, Hardfork::Canyon),
            (39, Hardfork::Ecotone),
            (40, Hardfork::Fjord),
            (69, Hardfork::Holocene),
            (70, Hardfork::Isthmus),
            (85, Hardfork::Jovian),
            (94, Hardfork::Karst),
            (99, Hardfork::Lagoon),
            (100, Hardfork::Interop),
        ];
        for (ts, fork) in expect {
            assert_eq!(t.active_fork(ts), fork, "at {ts}");
        }
        assert_eq!(HardForkTimes::default().active_fork(5), Hardfork::Bedrock);
    }

    #[test]
    fn activation_block_is_the_first_block_at_or_after_the_fork() {
        let t = staggered();
        // Block time 4: blocks at ..., 28, 32, ... ; Ecotone at 30 activates in the block at 32.
        assert!(!t.is_activation_block(Hardfork::Ecotone, 28, 4));
        assert!(t.is_activation_block(Hardfork::Ecotone, 32, 4));
        assert!(!t.is_activation_block(Hardfork::Ecotone, 36, 4));
        // Exactly on the fork time.
        assert!(t.is_activation_block(Hardfork::Fjord, 40, 2));
        assert!(!t.is_activation_block(Hardfork::Fjord, 42, 2));
        // Genesis activation (time 0) never has an activation block.
        assert!(!t.is_activation_block(Hardfork::Regolith, 0, 2));
        assert!(!t.is_activation_block(Hardfork::Regolith, 2, 2));
    }

    #[test]
    fn order_check_names_the_offending_forks() {
        assert_eq!(staggered().check_order(), Ok(()));
        let mut t = staggered();
        t.delta_time = None;
        let err = t.check_order().unwrap_err();
        assert_eq!(
            err,
            HardforkOrderError::MissingPriorFork {
                fork: Hardfork::Ecotone,
                time: 30,
                prior: Hardfork::Delta
            }
        );
        assert!(err.to_string().contains("prior fork delta is missing"));
        let mut t = staggered();
        t.holocene_time = Some(75);
        let err = t.check_order().unwrap_err();
        assert!(matches!(
            err,
            HardforkOrderError::OutOfOrder {
                fork: Hardfork::Isthmus,
                ..
            }
        ));
        // Interop is outside the ordered chain, as in op-node.
        let t = HardForkTimes {
            interop_time: Some(5),
            ..Default::default()
        };
        assert_eq!(t.check_order(), Ok(()));
    }

    #[test]
    fn names_round_trip() {
        for f in Hardfork::ALL {
            assert_eq!(f.name().parse::<Hardfork>().unwrap(), f);
            assert_eq!(f.to_string(), f.name());
        }
        assert!("Fjord".parse::<Hardfork>().is_ok());
        let err = "bedrock2".parse::<Hardfork>().unwrap_err();
        assert!(err.to_string().contains("\"bedrock2\""));
    }

    proptest! {
        #[test]
        fn exactly_one_activation_block_per_fork(fork_time in 20u64..10_000, block_time in 1u64..20, start in 0u64..10) {
            let t = HardForkTimes { canyon_time: Some(fork_time), ..Default::default() };
            let hits = (0..2000u64)
                .map(|i| start + i * block_time)
                .filter(|ts| t.is_activation_block(Hardfork::Canyon, *ts, block_time))
                .collect::<Vec<_>>();
            let first_active = (0..2000u64).map(|i| start + i * block_time).find(|ts| *ts >= fork_time);
            // start < 20 <= fork_time, so the grid point before the first active one is inactive.
            match first_active {
                Some(ts) => prop_assert_eq!(hits, vec![ts]),
                None => prop_assert!(hits.is_empty()),
            }
        }
    }
}
