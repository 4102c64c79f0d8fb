//! Where heads come from: attestation sources (supernode push/poll, private gossip) feeding the
//! quorum intake, and the op-node-compatible follow source.
//!
//! ```text
//!   supernode URL 1..n ─┐
//!   attestation gossip ─┴─> mpsc<AttestationBatch> ─> intake (quorum)
//!   --l2.follow.source ───> watch<FollowHeads> (checked sync status)
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use opfleet_attest::SignedAttestation;

pub mod backoff;
pub mod follow;
pub mod gossip;
pub mod supernode;

/// Attestations from one source, delivered together.
#[derive(Clone, Debug)]
pub struct AttestationBatch {
    /// Which source (its URL or `gossip`).
    pub source: String,
    /// The attestations, unverified: the intake checks them.
    pub items: Vec<SignedAttestation>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
