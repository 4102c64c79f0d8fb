//! Rate limits on serving `payload_by_number`, as op-node's req/resp server applies them.
//!
//! ```text
//!   request from P ─► P's bucket (4/s, burst 15) ─► global bucket (20/s, burst 40)
//!        both have a token now ─────────────► answer now
//!        wait for tokens <= max throttle ───► answer after the wait (the peer is throttled)
//!        wait longer ───────────────────────► answer result code 3 at once, tokens untouched
//! ```
//! Buckets are token buckets with reservations (Go's `rate.Limiter`): a reservation may take
//! the level below zero, and the next request waits for the debt to refill.

use std::collections::HashMap;
use std::time::Duration;

use libp2p::PeerId;
use tokio::time::Instant;

/// op-node's `globalServerBlocksRateLimit`: requests per second served to all peers together.
pub const GLOBAL_SERVE_RATE: f64 = 20.0;
/// op-node's `globalServerBlocksBurst`.
pub const GLOBAL_SERVE_BURST: u32 = 40;
/// op-node's `peerServerBlocksRateLimit`: requests per second served to one peer.
pub const PEER_SERVE_RATE: f64 = 4.0;
/// op-node's `peerServerBlocksBurst` ("30 s of blocks at once").
pub const PEER_SERVE_BURST: u32 = 15;
/// op-node's `maxThrottleDelay`: a request that would wait longer is refused.
pub const MAX_THROTTLE_DELAY: Duration = Duration::from_secs(20);
/// op-node keeps rate state for this many peers (an LRU); older peers start afresh.
pub const MAX_TRACKED_PEERS: usize = 1000;

/// The limits a serving node applies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServeLimits {
    /// Requests per second for all peers together.
    pub global_rate: f64,
    /// Requests the global bucket holds when full.
    pub global_burst: u32,
    /// Requests per second for one peer.
    pub peer_rate: f64,
    /// Requests one peer's bucket holds when full.
    pub peer_burst: u32,
    /// Longest wait before an answer; longer ones are refused.
    pub max_throttle_delay: Duration,
}

impl Default for ServeLimits {
    /// op-node's limits.
    fn default() -> Self {
        Self {
            global_rate: GLOBAL_SERVE_RATE,
            global_burst: GLOBAL_SERVE_BURST,
            peer_rate: PEER_SERVE_RATE,
            peer_burst: PEER_SERVE_BURST,
            max_throttle_delay: MAX_THROTTLE_DELAY,
        }
    }
}

/// A token bucket that hands out reservations.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket refilling `rate` tokens per second up to `burst`.
    pub fn new(rate: f64, burst: u32, now: Instant) -> Self {
        Self {
            rate: rate.max(f64::MIN_POSITIVE),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.at = self.at.max(now);
    }

    /// Takes one token at `now`; returns how long the holder must wait for it to be covered.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }

    /// Gives back a token taken by [`Self::reserve`] (a refused request).
    pub fn cancel(&mut self) {
        self.tokens = (self.tokens + 1.0).min(self.burst);
    }
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Answer now.
    Now,
    /// Answer after this wait.
    After(Duration),
    /// Answer with a failure now: the wait would exceed the throttle limit.
    Refuse,
}

/// The per-peer and global buckets of a serving node.
#[derive(Debug)]
pub struct ServeThrottle {
    limits: ServeLimits,
    global: TokenBucket,
    peers: HashMap<PeerId, (TokenBucket, Instant)>,
}

impl ServeThrottle {
    /// Full buckets under `limits`.
    pub fn new(limits: ServeLimits, now: Instant) -> Self {
        Self {
            limits,
            global: TokenBucket::new(limits.global_rate, limits.global_burst, now),
            peers: HashMap::new(),
        }
    }

    /// Decides on a request from `peer` arriving at `now`, reserving its tokens unless refused.
    pub fn admit(&mut self, peer: PeerId, now: Instant) -> Admission {
        if !self.peers.contains_key(&peer) && self.peers.len() >= MAX_TRACKED_PEERS {
            let oldest = self
                .peers
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(p, _)| *p);
            if let Some(oldest) = oldest {
                self.peers.remove(&oldest);
            }
        }
        let limits = self.limits;
        let (bucket, used) = self.peers.entry(peer).or_insert_with(|| {
            (
                TokenBucket::new(limits.peer_rate, limits.peer_burst, now),
                now,
            )
        });
        *used = now;
        let peer_wait = bucket.reserve(now);
        let global_wait = self.global.reserve(now);
        let wait = peer_wait.max(global_wait);
        if wait > limits.max_throttle_delay {
            bucket.cancel();
            self.global.cancel();
            Admission::Refuse
        } else if wait.is_zero() {
            Admission::Now
        } else {
            Admission::After(wait)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn bucket_serves_the_burst_then_paces() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(4.0, 15, t0);
        for _ in 0..15 {
            assert_eq!(b.reserve(t0), Duration::ZERO);
        }
        assert_eq!(b.reserve(t0), ms(250));
        assert_eq!(b.reserve(t0), ms(500));
        // A second later four tokens came back: the debt of two is paid, two are left over.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(b.reserve(t1), Duration::ZERO);
        assert_eq!(b.reserve(t1), Duration::ZERO);
        assert_eq!(b.reserve(t1), ms(250));
        b.cancel();
        assert_eq!(b.reserve(t1), ms(250));
        // Refill never exceeds the burst.
        let later = t1 + Duration::from_secs(3600);
        for _ in 0..15 {
            assert_eq!(b.reserve(later), Duration::ZERO);
        }
        assert!(b.reserve(later) > Duration::ZERO);
    }

    #[test]
    fn op_node_limits_per_peer_and_globally() {
        let t0 = Instant::now();
        let mut throttle = ServeThrottle::new(ServeLimits::default(), t0);
        let a = PeerId::random();
        for _ in 0..PEER_SERVE_BURST {
            assert_eq!(throttle.admit(a, t0), Admission::Now);
        }
        assert_eq!(throttle.admit(a, t0), Admission::After(ms(250)));
        // Another peer has its own bucket, but shares the global one (40 - 16 left = 24).
        let b = PeerId::random();
        for _ in 0..PEER_SERVE_BURST {
            assert_eq!(throttle.admit(b, t0), Admission::Now);
        }
        // 31 taken; nine more global tokens across fresh peers, then the global bucket paces.
        for _ in 0..9 {
            assert_eq!(throttle.admit(PeerId::random(), t0), Admission::Now);
        }
        // One token short at 20/s: a wait of 1/20 s.
        let Admission::After(wait) = throttle.admit(PeerId::random(), t0) else {
            panic!("expected a wait");
        };
        assert!(wait.abs_diff(ms(50)) < Duration::from_micros(1), "{wait:?}");
    }

    #[test]
    fn waits_beyond_the_throttle_limit_are_refused_without_spending_tokens() {
        let t0 = Instant::now();
        let limits = ServeLimits {
            peer_rate: 1.0,
            peer_burst: 1,
            max_throttle_delay: Duration::from_secs(2),
            ..ServeLimits::default()
        };
        let mut throttle = ServeThrottle::new(limits, t0);
        let a = PeerId::random();
        assert_eq!(throttle.admit(a, t0), Admission::Now);
        assert_eq!(
            throttle.admit(a, t0),
            Admission::After(Duration::from_secs(1))
        );
        assert_eq!(
            throttle.admit(a, t0),
            Admission::After(Duration::from_secs(2))
        );
        assert_eq!(throttle.admit(a, t0), Admission::Refuse);
        assert_eq!(throttle.admit(a, t0), Admission::Refuse);
        // Refusals took nothing: one second on, the wait is one second shorter.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(
            throttle.admit(a, t1),
            Admission::After(Duration::from_secs(2))
        );
    }

    #[test]
    fn tracked_peers_are_bounded() {
        let t0 = Instant::now();
        let mut throttle = ServeThrottle::new(
            ServeLimits {
                global_burst: u32::MAX,
                ..ServeLimits::default()
            },
            t0,
        );
        for i in 0..(MAX_TRACKED_PEERS as u64 + 10) {
            throttle.admit(PeerId::random(), t0 + Duration::from_millis(i));
        }
        assert_eq!(throttle.peers.len(), MAX_TRACKED_PEERS);
    }
}
