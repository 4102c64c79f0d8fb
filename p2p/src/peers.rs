//! Peer bookkeeping shared by the block and attestation gossip nodes: score bans and
//! static-peer redials.
//!
//! ```text
//!   every second:        gossipsub score < threshold ─► blacklist + disconnect + ban (duration)
//!   every redial tick:   static peer not connected and not banned ─► dial
//!   on connection:       banned peer ─► disconnect
//! ```

use std::collections::HashMap;
use std::time::Duration;

use libp2p::PeerId;
use libp2p::gossipsub;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{NetworkBehaviour, Swarm};
use tokio::time::Instant;

use crate::blocks::config::StaticPeer;

/// A peer banned for its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BannedPeer {
    /// The peer.
    pub peer_id: PeerId,
    /// Its score when it was banned.
    pub score: f64,
}

/// The peers banned now, and the rule that bans them.
#[derive(Debug)]
pub struct BanList {
    threshold: f64,
    duration: Duration,
    banned: HashMap<PeerId, (Instant, BannedPeer)>,
}

impl BanList {
    /// An empty list banning peers scoring below `threshold` for `duration`.
    pub fn new(threshold: f64, duration: Duration) -> Self {
        Self {
            threshold,
            duration,
            banned: HashMap::new(),
        }
    }

    /// Whether `peer` is banned now.
    pub fn is_banned(&self, peer: &PeerId) -> bool {
        self.banned
            .get(peer)
            .is_some_and(|(until, _)| *until > Instant::now())
    }

    /// The peers banned now, with the score that got them banned.
    pub fn banned(&self) -> Vec<BannedPeer> {
        let now = Instant::now();
        self.banned
            .values()
            .filter(|(until, _)| *until > now)
            .map(|(_, b)| *b)
            .collect()
    }

    /// Lifts expired bans, then bans connected peers whose gossipsub score fell below the
    /// threshold: they are blacklisted in gossipsub and disconnected.
    pub fn enforce<B, G>(&mut self, swarm: &mut Swarm<B>, gossipsub: G)
    where
        B: NetworkBehaviour,
        G: Fn(&mut B) -> &mut gossipsub::Behaviour,
    {
        let now = Instant::now();
        let expired: Vec<PeerId> = self
            .banned
            .iter()
            .filter(|(_, (until, _))| *until <= now)
            .map(|(peer, _)| *peer)
            .collect();
        for peer in expired {
            self.banned.remove(&peer);
            gossipsub(swarm.behaviour_mut()).remove_blacklisted_peer(&peer);
        }
        let peers: Vec<PeerId> = swarm.connected_peers().copied().collect();
        for peer_id in peers {
            let Some(score) = gossipsub(swarm.behaviour_mut()).peer_score(&peer_id) else {
                continue;
            };
            if score < self.threshold {
                tracing::warn!(peer = %peer_id, score, "banning peer for its gossip score");
                self.banned.insert(
                    peer_id,
                    (now + self.duration, BannedPeer { peer_id, score }),
                );
                gossipsub(swarm.behaviour_mut()).blacklist_peer(&peer_id);
                let _ = swarm.disconnect_peer_id(peer_id);
            }
        }
    }
}

/// Dials every static peer that is neither connected nor banned.
pub fn dial_static_peers<B: NetworkBehaviour>(
    swarm: &mut Swarm<B>,
    peers: &[StaticPeer],
    bans: &BanList,
) {
    for peer in peers {
        if swarm.is_connected(&peer.peer_id) || bans.is_banned(&peer.peer_id) {
            continue;
        }
        let opts = DialOpts::peer_id(peer.peer_id)
            .addresses(vec![peer.addr.clone()])
            .condition(PeerCondition::DisconnectedAndNotDialing)
            .build();
        if let Err(e) = swarm.dial(opts) {
            tracing::debug!(peer = %peer.peer_id, error = %e, "static peer dial not started");
        }
    }
}
