//! op-node's gossipsub peer scoring ("default" peer params, thresholds), derived from the L2
//! block time exactly as op-node derives them, with op-node's "light" topic params on the blocks
//! topics minus the mesh-delivery terms (P3, P3b).
//!
//! ```text
//!   slot  = block time (2 s if unset)      epoch = 6 slots
//!   decay(d) = 0.01 ^ (1 / (d / slot))     a counter decays to 1 % over d
//!   one invalid message: -140.4475 * 1^2 * topic weight 0.8 = -112.358  (below the ban line)
//!   P3/P3b weight 0: a peer that only receives blocks (every peer but the sequencer) is never
//!   scored below zero for delivering none, so it stays in the sequencer's mesh
//! ```
//!
//! Why no P3: op-node's "light" topic params ask every mesh peer for 3 first-in-window deliveries
//! per topic once it has been 4 epochs in the mesh. Only the sequencer publishes, so every
//! other peer in the sequencer's mesh falls to -5.04 per topic (-19.7 on four topics) and is
//! pruned. Out of the mesh, both sides also gossip IHAVE for every block; when the peer's
//! message ids differ from ours (kona-node 1.0.0-rc.1 leaves the topic out) the IWANTed id is
//! never delivered, so every promise breaks on both sides, one behaviour penalty per block,
//! until the peer graylists the sequencer (deploy/kona-crosscheck.md, finding 3). op-node scored only its v1 topic and then
//! dropped topic scoring altogether (optimism#15297, #15719), as did kona (op-rs/kona#1765).
//! We keep the terms that cannot push an honest peer below zero: time in mesh and first
//! deliveries (positive) and the invalid-message penalty, which bans a peer for one invalid
//! block.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use libp2p::gossipsub::{PeerScoreParams, PeerScoreThresholds, TopicHash, TopicScoreParams};

/// op-node's `DecayToZero`: a decayed counter below this is reset to zero.
pub const DECAY_TO_ZERO: f64 = 0.01;

/// op-node's cap on the time-in-mesh contribution (`MaxInMeshScore`).
pub const MAX_IN_MESH_SCORE: f64 = 10.0;

/// op-node's penalty weight for each invalid message (squared) on the blocks topics.
pub const INVALID_MESSAGE_WEIGHT: f64 = -140.4475;

/// op-node's weight of a blocks topic in the total score.
pub const BLOCKS_TOPIC_WEIGHT: f64 = 0.8;

/// The slot the decays are measured in: the block time, or 2 s when it is zero.
fn slot(block_time: Duration) -> Duration {
    if block_time.is_zero() {
        Duration::from_secs(2)
    } else {
        block_time
    }
}

/// The per-slot factor that decays a counter to [`DECAY_TO_ZERO`] over `duration`.
pub fn score_decay(duration: Duration, slot: Duration) -> f64 {
    let ticks = (duration.as_secs_f64() / slot.as_secs_f64())
        .floor()
        .max(1.0);
    DECAY_TO_ZERO.powf(1.0 / ticks)
}

/// op-node's "light" topic score parameters for a blocks topic, mesh-delivery terms weighted 0.
pub fn blocks_topic_params(block_time: Duration) -> TopicScoreParams {
    let slot = slot(block_time);
    let epoch = slot * 6;
    let decay_epochs = 5u32;
    let in_mesh_cap = (3600.0 / slot.as_secs_f64()).floor();
    let mesh_deliveries_cap = f64::from(6 * decay_epochs);
    TopicScoreParams {
        topic_weight: BLOCKS_TOPIC_WEIGHT,
        time_in_mesh_weight: MAX_IN_MESH_SCORE / in_mesh_cap,
        time_in_mesh_quantum: slot,
        time_in_mesh_cap: in_mesh_cap,
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: score_decay(epoch * 20, slot),
        first_message_deliveries_cap: 23.0,
        // op-node's -0.7 (`MeshWeight`) here and on P3b prunes every non-publishing peer.
        mesh_message_deliveries_weight: 0.0,
        mesh_message_deliveries_decay: score_decay(epoch * decay_epochs, slot),
        mesh_message_deliveries_cap: mesh_deliveries_cap,
        mesh_message_deliveries_threshold: (mesh_deliveries_cap / 10.0).floor(),
        mesh_message_deliveries_window: Duration::from_secs(2),
        mesh_message_deliveries_activation: epoch * 4,
        mesh_failure_penalty_weight: 0.0,
        mesh_failure_penalty_decay: score_decay(epoch * decay_epochs, slot),
        invalid_message_deliveries_weight: INVALID_MESSAGE_WEIGHT,
        invalid_message_deliveries_decay: score_decay(epoch * 50, slot),
    }
}

/// op-node's "default" peer score parameters, with the blocks topic params on `topics`.
pub fn peer_score_params(
    block_time: Duration,
    topics: impl IntoIterator<Item = TopicHash>,
    ip_colocation_whitelist: HashSet<IpAddr>,
) -> PeerScoreParams {
    let slot = slot(block_time);
    let epoch = slot * 6;
    let topic_params = blocks_topic_params(block_time);
    PeerScoreParams {
        topics: topics
            .into_iter()
            .map(|t| (t, topic_params.clone()))
            .collect::<HashMap<_, _>>(),
        topic_score_cap: 34.0,
        app_specific_weight: 1.0,
        ip_colocation_factor_weight: -35.0,
        ip_colocation_factor_threshold: 10.0,
        ip_colocation_factor_whitelist: ip_colocation_whitelist,
        behaviour_penalty_weight: -16.0,
        behaviour_penalty_threshold: 6.0,
        behaviour_penalty_decay: score_decay(epoch * 10, slot),
        decay_interval: slot,
        decay_to_zero: DECAY_TO_ZERO,
        retain_score: epoch * 100,
        ..PeerScoreParams::default()
    }
}

/// op-node's score thresholds (`NewPeerScoreThresholds`).
pub fn peer_score_thresholds() -> PeerScoreThresholds {
    PeerScoreThresholds {
        gossip_threshold: -10.0,
        publish_threshold: -40.0,
        graylist_threshold: -40.0,
        accept_px_threshold: 20.0,
        opportunistic_graft_threshold: 0.05,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::config::DEFAULT_BAN_THRESHOLD;

    #[test]
    fn params_are_valid_for_common_block_times() {
        for secs in [0, 1, 2, 12] {
            let params = peer_score_params(
                Duration::from_secs(secs),
                [TopicHash::from_raw("/optimism/10/0/blocks")],
                HashSet::new(),
            );
            assert_eq!(params.validate(), Ok(()), "block time {secs}");
            assert!(peer_score_thresholds().validate().is_ok());
        }
    }

    #[test]
    fn two_second_slot_matches_op_node() {
        let p = blocks_topic_params(Duration::from_secs(2));
        assert_eq!(p.time_in_mesh_cap, 1800.0);
        assert_eq!(p.mesh_message_deliveries_cap, 30.0);
        assert_eq!(p.mesh_message_deliveries_threshold, 3.0);
        assert_eq!(
            p.mesh_message_deliveries_activation,
            Duration::from_secs(48)
        );
        // 50 epochs of 6 slots: the counter reaches 1 % after 300 decays.
        let d = p.invalid_message_deliveries_decay;
        assert!((d.powi(300) - DECAY_TO_ZERO).abs() < 1e-9);
    }

    #[test]
    fn a_peer_that_only_receives_is_never_penalised() {
        let p = blocks_topic_params(Duration::from_secs(2));
        assert_eq!(p.mesh_message_deliveries_weight, 0.0);
        assert_eq!(p.mesh_failure_penalty_weight, 0.0);
        assert!(p.time_in_mesh_weight >= 0.0 && p.first_message_deliveries_weight >= 0.0);
    }

    #[test]
    fn one_invalid_block_crosses_the_ban_threshold() {
        let p = blocks_topic_params(Duration::from_secs(2));
        let penalty = p.invalid_message_deliveries_weight * p.topic_weight;
        assert!(penalty < DEFAULT_BAN_THRESHOLD);
    }
}
