//! op-node's gossipsub settings for the block topics, as plain values for the libp2p layer.
//!
//! Content-addressed ids ([`crate::p2p::message_id`]) with strict no-sign messages (no author,
//! no libp2p signature): the block signature is the only authentication, so a sequencer may
//! publish from several network identities.

use core::time::Duration;

use crate::p2p::envelope::MAX_GOSSIP_SIZE;

/// Gossipsub parameters as op-node sets them (`BuildGlobalGossipParams`, `NewGossipSub`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GossipsubParams {
    /// `D`: topic mesh target size.
    pub mesh_n: usize,
    /// `D_low`: mesh low watermark.
    pub mesh_n_low: usize,
    /// `D_high`: mesh high watermark.
    pub mesh_n_high: usize,
    /// `D_lazy`: peers to gossip to.
    pub gossip_lazy: usize,
    /// Heartbeat interval.
    pub heartbeat_interval: Duration,
    /// Fanout TTL for topics published to but not subscribed.
    pub fanout_ttl: Duration,
    /// Heartbeat windows of full messages kept for IWANT (`mcache_len`).
    pub history_length: usize,
    /// Heartbeat windows gossiped about (`mcache_gossip`).
    pub history_gossip: usize,
    /// How long message ids are remembered for deduplication (130 heartbeats).
    pub seen_ttl: Duration,
    /// Largest gossip frame and decompressed message.
    pub max_transmit_size: usize,
    /// Time a topic validator may take.
    pub validator_timeout: Duration,
    /// Validations run at once per topic.
    pub validator_concurrency: usize,
    /// Outbound queue per peer.
    pub peer_outbound_queue: usize,
    /// Queue of messages awaiting validation.
    pub validate_queue: usize,
    /// Peer exchange on prune.
    pub peer_exchange: bool,
}

/// op-node's values.
pub const OP_NODE_GOSSIPSUB: GossipsubParams = GossipsubParams {
    mesh_n: 8,
    mesh_n_low: 6,
    mesh_n_high: 12,
    gossip_lazy: 6,
    heartbeat_interval: Duration::from_millis(500),
    fanout_ttl: Duration::from_secs(24),
    history_length: 12,
    history_gossip: 3,
    seen_ttl: Duration::from_millis(130 * 500),
    max_transmit_size: MAX_GOSSIP_SIZE,
    validator_timeout: Duration::from_secs(3),
    validator_concurrency: 4,
    peer_outbound_queue: 256,
    validate_queue: 256,
    peer_exchange: false,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_ttl_covers_the_gossip_time_window() {
        // Ids must outlive the 60 s + 5 s window in which a block can still be accepted.
        let window = Duration::from_secs(
            crate::p2p::validation::MAX_BLOCK_AGE_SECS
                + crate::p2p::validation::MAX_BLOCK_FUTURE_SECS,
        );
        assert!(OP_NODE_GOSSIPSUB.seen_ttl >= window);
        assert_eq!(OP_NODE_GOSSIPSUB.seen_ttl, Duration::from_secs(65));
        let p = OP_NODE_GOSSIPSUB;
        assert!(p.mesh_n_low <= p.mesh_n && p.mesh_n <= p.mesh_n_high);
    }
}
