//! The private attestation gossip of `--p2p.attest.*`: an `opfleet_p2p` attestation node that
//! every signed attestation is published on.

use std::path::PathBuf;

use libp2p::Multiaddr;
use opfleet_attest::SignedAttestation;
use opfleet_p2p::attest::{AttestGossipConfig, AttestGossipNode, SwarmKey};
use opfleet_p2p::{StaticPeer, generate_identity, identity_from_hex};
use opfleet_protocol::ChainId;

use super::sink::{AttestSink, SinkError};
use crate::config::AttestP2p;

/// Why the gossip node did not start, naming the setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum GossipSetupError {
    /// A required setting is absent.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A setting is wrong.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The flag.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A file cannot be read.
    #[error("{what} {path}: {source}")]
    Read {
        /// The flag.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The libp2p node failed to start.
    #[error("attestation gossip node: {0}")]
    Node(String),
}

fn invalid(what: impl Into<String>, reason: impl std::fmt::Display) -> GossipSetupError {
    GossipSetupError::Invalid {
        what: what.into(),
        reason: reason.to_string(),
    }
}

/// The gossip node configuration for `chains` from the `--p2p.attest.*` settings.
pub fn gossip_config(
    p2p: &AttestP2p,
    chains: Vec<ChainId>,
) -> Result<AttestGossipConfig, GossipSetupError> {
    let listen: Multiaddr = p2p
        .listen
        .as_deref()
        .ok_or(GossipSetupError::Missing("--p2p.attest.listen"))?
        .parse()
        .map_err(|e| invalid("--p2p.attest.listen", e))?;
    let psk = p2p
        .psk
        .as_deref()
        .ok_or(GossipSetupError::Missing("--p2p.attest.psk"))?;
    let swarm_key = SwarmKey::from_file(psk).map_err(|e| invalid("--p2p.attest.psk", e))?;
    let identity = match &p2p.priv_path {
        None => generate_identity(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| GossipSetupError::Read {
                what: "--p2p.attest.priv-path",
                path: path.clone(),
                source,
            })?;
            identity_from_hex(&text)
                .map_err(|e| invalid(format!("--p2p.attest.priv-path {}", path.display()), e))?
        }
    };
    let mut config = AttestGossipConfig::new(identity, swarm_key, chains, listen);
    for (i, peer) in p2p.static_peers.iter().enumerate() {
        let what = format!("--p2p.attest.static-peers[{i}]");
        let addr: Multiaddr = peer.parse().map_err(|e| invalid(&what, e))?;
        config
            .static_peers
            .push(StaticPeer::from_multiaddr(addr).map_err(|e| invalid(&what, e))?);
    }
    Ok(config)
}

/// Starts the gossip node of `config`.
pub async fn spawn(config: AttestGossipConfig) -> Result<GossipSink, GossipSetupError> {
    AttestGossipNode::spawn(config)
        .await
        .map(GossipSink)
        .map_err(|e| GossipSetupError::Node(e.to_string()))
}

/// Publishes signed attestations on the fleet's private topic.
pub struct GossipSink(pub AttestGossipNode);

#[async_trait::async_trait]
impl AttestSink for GossipSink {
    async fn publish(&self, signed: &SignedAttestation) -> Result<(), SinkError> {
        self.0
            .publish(signed)
            .await
            .map_err(|e| SinkError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let psk = dir.path().join("swarm.key");
        SwarmKey::generate().unwrap().to_file(&psk).unwrap();
        let mut p = AttestP2p {
            listen: Some("/ip4/127.0.0.1/tcp/0".into()),
            psk: Some(psk.clone()),
            ..Default::default()
        };
        let c = gossip_config(&p, vec![ChainId(10)]).unwrap();
        assert_eq!(c.chains, vec![ChainId(10)]);
        p.static_peers = vec!["/ip4/127.0.0.1/tcp/1".into()];
        let msg = gossip_config(&p, vec![]).unwrap_err().to_string();
        assert!(msg.contains("static-peers[0]"), "{msg}");
        p.static_peers.clear();
        p.listen = Some("not-a-multiaddr".into());
        assert!(
            gossip_config(&p, vec![])
                .unwrap_err()
                .to_string()
                .contains("--p2p.attest.listen")
        );
        p.listen = Some("/ip4/127.0.0.1/tcp/0".into());
        p.psk = Some(dir.path().join("missing"));
        assert!(
            gossip_config(&p, vec![])
                .unwrap_err()
                .to_string()
                .contains("--p2p.attest.psk")
        );
    }

    #[tokio::test]
    async fn published_attestations_reach_a_fleet_peer() {
        use opfleet_attest::{Attestation, AttestationKind, SigningKey};
        let dir = tempfile::tempdir().unwrap();
        let psk = dir.path().join("swarm.key");
        SwarmKey::generate().unwrap().to_file(&psk).unwrap();
        let p = AttestP2p {
            listen: Some("/ip4/127.0.0.1/tcp/0".into()),
            psk: Some(psk.clone()),
            ..Default::default()
        };
        let a = spawn(gossip_config(&p, vec![ChainId(10)]).unwrap())
            .await
            .unwrap();
        let a_addr = a.0.listen_addrs().await.unwrap()[0]
            .clone()
            .with(libp2p::multiaddr::Protocol::P2p(a.0.local_peer_id()));
        let peer = AttestP2p {
            static_peers: vec![a_addr.to_string()],
            ..p
        };
        let b = spawn(gossip_config(&peer, vec![ChainId(10)]).unwrap())
            .await
            .unwrap();
        let mut rx = a.0.subscribe();
        let key = SigningKey::from_bytes(&[3; 32]);
        // Publishing fails until the mesh forms; retry (with fresh messages, as gossip drops
        // duplicates) for a while.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        for attempt in 1u64.. {
            let signed = SignedAttestation::sign(
                Attestation {
                    kind: AttestationKind::Safe,
                    chain_id: ChainId(10),
                    block: Default::default(),
                    derived_from: Default::default(),
                    output_root: Default::default(),
                    issued_at_ms: attempt,
                },
                &key,
            );
            if b.publish(&signed).await.is_ok()
                && let Ok(Ok(got)) =
                    tokio::time::timeout(std::time::Duration::from_secs(1), rx.recv()).await
            {
                got.verify().unwrap();
                assert_eq!(got.attestation.chain_id, ChainId(10));
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "no delivery");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}
