//! The private attestation gossip as a source: anything that hands out a broadcast receiver of
//! decoded, signature-checked attestations (C5's `AttestGossipNode::subscribe`) is forwarded
//! to the intake, where the trust policy is applied.

use opfleet_attest::SignedAttestation;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, watch};

use crate::sources::AttestationBatch;

/// A feed of attestations received from gossip.
pub trait AttestationFeed: Send + Sync {
    /// A receiver of every attestation from now on.
    fn subscribe(&self) -> broadcast::Receiver<SignedAttestation>;
}

/// Source name used for gossip batches.
pub const GOSSIP_SOURCE: &str = "gossip";

/// Forwards `feed` to `sink` until shutdown; a lagging receiver logs how many it missed (the
/// supernode sources still deliver the latest heads).
pub fn spawn_forwarder(
    feed: &dyn AttestationFeed,
    sink: mpsc::Sender<AttestationBatch>,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let mut rx = feed.subscribe();
    tokio::spawn(async move {
        loop {
            let item = tokio::select! {
                item = rx.recv() => item,
                _ = shutdown.changed() => return,
            };
            match item {
                Ok(att) => {
                    let batch = AttestationBatch {
                        source: GOSSIP_SOURCE.into(),
                        items: vec![att],
                    };
                    if sink.send(batch).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "attestation gossip receiver lagged");
                }
                Err(RecvError::Closed) => return,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::tests::{block, key, signed};
    use opfleet_attest::AttestationKind;

    struct Fake(broadcast::Sender<SignedAttestation>);
    impl AttestationFeed for Fake {
        fn subscribe(&self) -> broadcast::Receiver<SignedAttestation> {
            self.0.subscribe()
        }
    }

    #[tokio::test]
    async fn gossip_items_reach_the_sink() {
        let (tx, _) = broadcast::channel(8);
        let feed = Fake(tx.clone());
        let (sink, mut out) = mpsc::channel(8);
        let (_stop, stop_rx) = watch::channel(false);
        let _task = spawn_forwarder(&feed, sink, stop_rx);
        let a = signed(&key(1), AttestationKind::Safe, block(3, 1), 1, 5);
        tx.send(a).unwrap();
        let got = out.recv().await.unwrap();
        assert_eq!(got.source, GOSSIP_SOURCE);
        assert_eq!(got.items, vec![a]);
    }
}
