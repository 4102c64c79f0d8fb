//! Where signed attestations go besides the store and the RPC: the fleet's private gossip topic
//! (`opfleet_p2p::attest::AttestGossipNode`), behind a trait so signing tests without libp2p.

use opfleet_attest::SignedAttestation;

/// A gossip publish that failed (no peers yet, node shut down...).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("gossip publish failed: {0}")]
pub struct SinkError(pub String);

/// A destination for every attestation the node signs.
#[async_trait::async_trait]
pub trait AttestSink: Send + Sync {
    /// Publishes one attestation.
    async fn publish(&self, signed: &SignedAttestation) -> Result<(), SinkError>;
}
