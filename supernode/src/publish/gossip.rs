//! The private attestation gossip of `--p2p.attest.*`: an `opfleet_p2p` attestation node that
//! every signed attestation is published on.

use std::path::{Path, PathBuf};

use libp2p::Multiaddr;
use opfleet_attest::SignedAttestation;
use opfleet_p2p::attest::{AttestGossipConfig, AttestGossipNode, SwarmKey};
use opfleet_p2p::{
    DEFAULT_ATTEST_GOSSIP_KEY_FILE, IdentityFileError, StaticPeer, load_or_create_identity,
};
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
    /// The identity key file cannot be read, created or used.
    #[error("--p2p.attest.priv-path: {0}")]
    Identity(#[from] IdentityFileError),
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

/// The gossip node configuration for `chains` from the `--p2p.attest.*` settings. The identity
/// persists in `--p2p.attest.priv-path` (default `<data_dir>/attest_p2p_priv.txt`), created on
/// first start, so the peer id other fleet members dial survives restarts.
pub fn gossip_config(
    p2p: &AttestP2p,
    chains: Vec<ChainId>,
    data_dir: &Path,
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
    let key_file = match &p2p.priv_path {
        Some(path) => path.clone(),
        None => {
            std::fs::create_dir_all(data_dir).map_err(|source| GossipSetupError::Read {
                what: "--data-dir",
                path: data_dir.to_owned(),
                source,
            })?;
            data_dir.join(DEFAULT_ATTEST_GOSSIP_KEY_FILE)
        }
    };
    let identity = load_or_create_identity(&key_file)?;
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
        let c = gossip_config(&p, vec![ChainId(10)], dir.path()).unwrap();
        assert_eq!(c.chains, vec![ChainId(10)]);
        p.static_peers = vec!["/ip4/127.0.0.1/tcp/1".into()];
        let msg = gossip_config(&p, vec![], dir.path())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("static-peers[0]"), "{msg}");
        p.static_peers.clear();
        p.listen = Some("not-a-multiaddr".into());
        assert!(
            gossip_config(&p, vec![], dir.path())
                .unwrap_err()
                .to_string()
                .contains("--p2p.attest.listen")
        );
        p.listen = Some("/ip4/127.0.0.1/tcp/0".into());
        p.psk = Some(dir.path().join("missing"));
        assert!(
            gossip_config(&p, vec![], dir.path())
                .unwrap_err()
                .to_string()
                .contains("--p2p.attest.psk")
        );
    }

    #[test]
    fn identity_persists_in_the_data_dir_and_bad_key_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let psk = dir.path().join("swarm.key");
        SwarmKey::generate().unwrap().to_file(&psk).unwrap();
        let data = dir.path().join("data");
        let mut p = AttestP2p {
            listen: Some("/ip4/127.0.0.1/tcp/0".into()),
            psk: Some(psk),
            ..Default::default()
        };
        let first = gossip_config(&p, vec![ChainId(10)], &data).unwrap();
        assert!(data.join(DEFAULT_ATTEST_GOSSIP_KEY_FILE).is_file());
        let again = gossip_config(&p, vec![ChainId(10)], &data).unwrap();
        assert_eq!(
            first.identity.public().to_peer_id(),
            again.identity.public().to_peer_id()
        );
        let bad = dir.path().join("bad_attest_key.txt");
        std::fs::write(&bad, "0xnothex").unwrap();
        p.priv_path = Some(bad);
        let msg = gossip_config(&p, vec![ChainId(10)], &data)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("--p2p.attest.priv-path"), "{msg}");
        assert!(msg.contains("bad_attest_key.txt"), "{msg}");
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
        let a = spawn(gossip_config(&p, vec![ChainId(10)], dir.path()).unwrap())
            .await
            .unwrap();
        let a_addr = a.0.listen_addrs().await.unwrap()[0]
            .clone()
            .with(libp2p::multiaddr::Protocol::P2p(a.0.local_peer_id()));
        let peer = AttestP2p {
            static_peers: vec![a_addr.to_string()],
            ..p
        };
        let b = spawn(gossip_config(&peer, vec![ChainId(10)], &dir.path().join("b")).unwrap())
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
