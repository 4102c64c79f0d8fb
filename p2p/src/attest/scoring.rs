//! Peer scoring on the attestation topics: op-node's peer parameters and penalties, with the
//! mesh-delivery rate terms switched off.
//!
//! ```text
//!   one invalid message: -140.4475 * 1^2 * topic weight 1.0 = -140.4  (below the ban line -100)
//! ```
//! Attestations arrive at L1's pace (one per chain and kind per L1 block at most), often slower:
//! a mesh-delivery quota would punish honest peers of quiet chains, so its weight is zero.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use libp2p::gossipsub::{PeerScoreParams, TopicHash, TopicScoreParams};

use crate::blocks::scoring::{
    INVALID_MESSAGE_WEIGHT, MAX_IN_MESH_SCORE, peer_score_params, score_decay,
};

/// The decay tick of attestation scores (op-node's default slot).
pub const ATTEST_SCORE_SLOT: Duration = Duration::from_secs(2);

/// Weight of each attestation topic in the total score.
pub const ATTEST_TOPIC_WEIGHT: f64 = 1.0;

/// Score parameters of one attestation topic.
pub fn attest_topic_params() -> TopicScoreParams {
    let slot = ATTEST_SCORE_SLOT;
    let epoch = slot * 6;
    let in_mesh_cap = (3600.0 / slot.as_secs_f64()).floor();
    TopicScoreParams {
        topic_weight: ATTEST_TOPIC_WEIGHT,
        time_in_mesh_weight: MAX_IN_MESH_SCORE / in_mesh_cap,
        time_in_mesh_quantum: slot,
        time_in_mesh_cap: in_mesh_cap,
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: score_decay(epoch * 20, slot),
        first_message_deliveries_cap: 23.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: INVALID_MESSAGE_WEIGHT,
        invalid_message_deliveries_decay: score_decay(epoch * 50, slot),
        ..TopicScoreParams::default()
    }
}

/// op-node's peer parameters with [`attest_topic_params`] on each of `topics`.
pub fn attest_peer_score_params(
    topics: impl IntoIterator<Item = TopicHash>,
    ip_colocation_whitelist: HashSet<IpAddr>,
) -> PeerScoreParams {
    let mut params = peer_score_params(ATTEST_SCORE_SLOT, [], ip_colocation_whitelist);
    params.topics = topics
        .into_iter()
        .map(|t| (t, attest_topic_params()))
        .collect();
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::config::DEFAULT_BAN_THRESHOLD;
    use crate::blocks::scoring::DECAY_TO_ZERO;

    #[test]
    fn params_are_valid() {
        let p = attest_peer_score_params(
            [TopicHash::from_raw("/opfleet/901/attest/1")],
            HashSet::new(),
        );
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(p.decay_to_zero, DECAY_TO_ZERO);
    }

    #[test]
    fn one_invalid_attestation_crosses_the_ban_threshold() {
        let p = attest_topic_params();
        assert!(p.invalid_message_deliveries_weight * p.topic_weight < DEFAULT_BAN_THRESHOLD);
    }
}
