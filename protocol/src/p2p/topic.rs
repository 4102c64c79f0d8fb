//! Block gossip topics: which of the four `blocks` topics carries a block, and their names.
//!
//! ```text
//!   L2 timestamp ──► fork active? ──► BlockTopicVersion ──► "/optimism/<chainId>/<n>/blocks"
//!                    Isthmus → V4 (n = 3)   withdrawals root in the payload
//!                    Ecotone → V3 (n = 2)   parent beacon block root prefix, blob gas fields
//!                    Canyon  → V2 (n = 1)   empty withdrawals list
//!                    else    → V1 (n = 0)
//! ```

use core::fmt;
use core::str::FromStr;

use crate::ChainId;
use crate::p2p::errors::TopicParseError;

/// The version of the unsafe-block gossip topic, fixed by the forks active at the block's timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BlockTopicVersion {
    /// Pre-Canyon blocks (`ExecutionPayloadV1`).
    V1,
    /// Canyon and Delta blocks (`ExecutionPayloadV2`, empty withdrawals list).
    V2,
    /// Ecotone and later blocks (`ExecutionPayloadV3` with the parent beacon block root).
    V3,
    /// Isthmus and later blocks (`ExecutionPayloadV3` plus the L2 withdrawals root).
    V4,
}

/// Which forks that change the block topic are active, for one L2 timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopicForks {
    /// Canyon is active (withdrawals list, topic V2).
    pub canyon: bool,
    /// Ecotone is active (parent beacon block root and blob gas fields, topic V3).
    pub ecotone: bool,
    /// Isthmus is active (L2 withdrawals root, topic V4).
    pub isthmus: bool,
}

/// Fork activation timestamps that select the block topic; `None` means never scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopicForkTimes {
    /// Canyon activation timestamp.
    pub canyon: Option<u64>,
    /// Ecotone activation timestamp.
    pub ecotone: Option<u64>,
    /// Isthmus activation timestamp.
    pub isthmus: Option<u64>,
}

impl TopicForkTimes {
    /// The forks active at `timestamp` (a fork is active from its activation time on).
    pub fn active_at(&self, timestamp: u64) -> TopicForks {
        let active = |t: Option<u64>| t.is_some_and(|t| timestamp >= t);
        TopicForks {
            canyon: active(self.canyon),
            ecotone: active(self.ecotone),
            isthmus: active(self.isthmus),
        }
    }

    /// The topic version of a block with this timestamp.
    pub fn version_at(&self, timestamp: u64) -> BlockTopicVersion {
        BlockTopicVersion::for_forks(self.active_at(timestamp))
    }
}

impl BlockTopicVersion {
    /// All versions, oldest first: a node subscribes to every one, as op-node does.
    pub const ALL: [Self; 4] = [Self::V1, Self::V2, Self::V3, Self::V4];

    /// The version for a set of active forks; the newest active fork wins (op-node's order).
    pub fn for_forks(forks: TopicForks) -> Self {
        if forks.isthmus {
            Self::V4
        } else if forks.ecotone {
            Self::V3
        } else if forks.canyon {
            Self::V2
        } else {
            Self::V1
        }
    }

    /// The number in the topic name: V1 is `0`, V4 is `3`.
    pub const fn topic_index(self) -> u8 {
        match self {
            Self::V1 => 0,
            Self::V2 => 1,
            Self::V3 => 2,
            Self::V4 => 3,
        }
    }

    /// The version for a topic-name index, if it names one.
    pub const fn from_topic_index(index: u8) -> Option<Self> {
        match index {
            0 => Some(Self::V1),
            1 => Some(Self::V2),
            2 => Some(Self::V3),
            3 => Some(Self::V4),
            _ => None,
        }
    }

    /// Blocks on this topic carry a withdrawals list (which must be empty).
    pub const fn has_withdrawals(self) -> bool {
        !matches!(self, Self::V1)
    }

    /// Blocks on this topic carry `blob_gas_used` and `excess_blob_gas`.
    pub const fn has_blob_properties(self) -> bool {
        matches!(self, Self::V3 | Self::V4)
    }

    /// Messages on this topic put the parent beacon block root before the payload.
    pub const fn has_parent_beacon_block_root(self) -> bool {
        matches!(self, Self::V3 | Self::V4)
    }

    /// Blocks on this topic carry the L2 withdrawals root in the payload.
    pub const fn has_withdrawals_root(self) -> bool {
        matches!(self, Self::V4)
    }
}

/// One unsafe-block gossip topic: a chain and a topic version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GossipTopic {
    /// The L2 chain whose blocks the topic carries.
    pub chain_id: ChainId,
    /// The topic version.
    pub version: BlockTopicVersion,
}

impl GossipTopic {
    /// The topic for `chain_id` and `version`.
    pub const fn new(chain_id: ChainId, version: BlockTopicVersion) -> Self {
        Self { chain_id, version }
    }

    /// The four block topics of a chain, oldest first.
    pub fn all_for(chain_id: ChainId) -> [Self; 4] {
        BlockTopicVersion::ALL.map(|v| Self::new(chain_id, v))
    }
}

impl fmt::Display for GossipTopic {
    /// The topic string exactly as op-node builds it: `/optimism/<chainId>/<index>/blocks`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "/optimism/{}/{}/blocks",
            self.chain_id.get(),
            self.version.topic_index()
        )
    }
}

impl FromStr for GossipTopic {
    type Err = TopicParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix("/optimism/")
            .ok_or_else(|| TopicParseError::Prefix(s.to_owned()))?;
        let rest = rest
            .strip_suffix("/blocks")
            .ok_or_else(|| TopicParseError::Suffix(s.to_owned()))?;
        let (chain, index) = rest
            .split_once('/')
            .ok_or_else(|| TopicParseError::Shape(s.to_owned()))?;
        // Only canonical decimal, as op-node formats it: no sign, no leading zeros.
        let canonical = |p: &str| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p == "0" || !p.starts_with('0'))
        };
        if !canonical(chain) {
            return Err(TopicParseError::ChainId(chain.to_owned()));
        }
        if !canonical(index) {
            return Err(TopicParseError::Version(index.to_owned()));
        }
        let chain_id = chain
            .parse::<u64>()
            .map_err(|_| TopicParseError::ChainId(chain.to_owned()))?;
        let version = index
            .parse::<u8>()
            .ok()
            .and_then(BlockTopicVersion::from_topic_index)
            .ok_or_else(|| TopicParseError::Version(index.to_owned()))?;
        Ok(Self::new(ChainId::from(chain_id), version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn topic_strings_match_op_node() {
        let op_sepolia = ChainId::from(11_155_420u64);
        let names: Vec<String> = GossipTopic::all_for(op_sepolia)
            .iter()
            .map(|t| t.to_string())
            .collect();
        assert_eq!(
            names,
            [
                "/optimism/11155420/0/blocks",
                "/optimism/11155420/1/blocks",
                "/optimism/11155420/2/blocks",
                "/optimism/11155420/3/blocks",
            ]
        );
    }

    #[test]
    fn version_follows_newest_active_fork() {
        let times = TopicForkTimes {
            canyon: Some(100),
            ecotone: Some(200),
            isthmus: Some(300),
        };
        assert_eq!(times.version_at(0), BlockTopicVersion::V1);
        assert_eq!(times.version_at(99), BlockTopicVersion::V1);
        assert_eq!(times.version_at(100), BlockTopicVersion::V2);
        assert_eq!(times.version_at(199), BlockTopicVersion::V2);
        assert_eq!(times.version_at(200), BlockTopicVersion::V3);
        assert_eq!(times.version_at(300), BlockTopicVersion::V4);
        assert_eq!(
            TopicForkTimes::default().version_at(u64::MAX),
            BlockTopicVersion::V1
        );
        // Forks at genesis (the usual superchain case).
        let genesis = TopicForkTimes {
            canyon: Some(0),
            ecotone: Some(0),
            isthmus: Some(0),
        };
        assert_eq!(genesis.version_at(0), BlockTopicVersion::V4);
    }

    #[test]
    fn parse_rejects_malformed_topics() {
        for bad in [
            "",
            "/optimism/10/0/block",
            "/optimism//0/blocks",
            "/optimism/10/4/blocks",
            "/optimism/010/0/blocks",
            "/optimism/10/00/blocks",
            "/optimism/+10/0/blocks",
            "/optimism/10/0/extra/blocks",
            "/opfleet/10/attest/1",
            "/optimism/99999999999999999999999/0/blocks",
        ] {
            assert!(bad.parse::<GossipTopic>().is_err(), "{bad:?} parsed");
        }
    }

    proptest! {
        #[test]
        fn topic_round_trips(chain in any::<u64>(), index in 0u8..4) {
            let version = BlockTopicVersion::from_topic_index(index).unwrap();
            let topic = GossipTopic::new(ChainId::from(chain), version);
            prop_assert_eq!(topic.to_string().parse::<GossipTopic>().unwrap(), topic);
        }

        #[test]
        fn parse_never_panics(s in ".{0,64}") {
            let _ = s.parse::<GossipTopic>();
        }
    }
}
