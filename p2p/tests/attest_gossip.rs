//! Attestation gossip nodes on 127.0.0.1 on a private network: delivery between key holders,
//! isolation from other keys, rejection and bans, chains not followed, swarm.key errors.

mod support;

use std::path::Path;
use std::time::Duration;

use alloy::primitives::B256;
use opfleet_attest::{Attestation, AttestationKind, SignedAttestation, SigningKey};
use opfleet_p2p::attest::{
    AttestGossipConfig, AttestGossipNode, AttestPublishError, SwarmKey, SwarmKeyError,
};
use opfleet_p2p::{StaticPeer, generate_identity};
use opfleet_protocol::{BlockId, ChainId, L2BlockRef};
use tokio::sync::broadcast::error::TryRecvError;

use support::{
    bounded, localhost, next, static_peer, wait_banned_for_score, wait_mutual_topic_peers,
    wait_topic_peers,
};

const CHAIN: u64 = 901;
const OTHER_CHAIN: u64 = 902;

fn chain(id: u64) -> ChainId {
    ChainId::from(id)
}

/// A safe attestation of block `number` of chain `chain_id`, signed by `key`.
fn attestation(key: &SigningKey, chain_id: u64, number: u64) -> SignedAttestation {
    let attestation = Attestation {
        kind: AttestationKind::Safe,
        chain_id: chain(chain_id),
        block: L2BlockRef {
            hash: B256::with_last_byte(number as u8),
            number,
            parent_hash: B256::repeat_byte(0xaa),
            timestamp: 1_700_000_000 + number * 2,
            l1_origin: BlockId {
                hash: B256::repeat_byte(0xbb),
                number: 50,
            },
            sequence_number: number,
        },
        derived_from: BlockId {
            hash: B256::repeat_byte(0xcc),
            number: 60,
        },
        output_root: B256::repeat_byte(0xdd),
        issued_at_ms: 1_700_000_000_000 + number,
    };
    SignedAttestation::sign(attestation, key)
}

fn signer() -> SigningKey {
    SigningKey::from_bytes(&[0x42; 32])
}

async fn start(key: SwarmKey, chains: &[u64], static_peers: Vec<StaticPeer>) -> AttestGossipNode {
    let mut config = AttestGossipConfig::new(
        generate_identity(),
        key,
        chains.iter().map(|c| chain(*c)).collect(),
        localhost(),
    );
    config.static_peers = static_peers;
    config.redial_interval = Duration::from_millis(200);
    AttestGossipNode::spawn(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_with_one_key_deliver_attestations_to_each_other() {
    bounded(async {
        let key = SwarmKey::generate().unwrap();
        let a = start(key, &[CHAIN], vec![]).await;
        let b = start(key, &[CHAIN], vec![static_peer(&a).await]).await;
        let c = start(
            key,
            &[CHAIN],
            vec![static_peer(&a).await, static_peer(&b).await],
        )
        .await;
        let (ia, ib, ic) = (a.local_peer_id(), b.local_peer_id(), c.local_peer_id());
        wait_topic_peers(&a, chain(CHAIN), &[ib, ic]).await;
        wait_topic_peers(&b, chain(CHAIN), &[ia, ic]).await;
        wait_topic_peers(&c, chain(CHAIN), &[ia, ib]).await;
        let (mut rx_a, mut rx_b, mut rx_c) = (a.subscribe(), b.subscribe(), c.subscribe());

        let first = attestation(&signer(), CHAIN, 1);
        a.publish(&first).await.unwrap();
        assert_eq!(next(&mut rx_b).await, first);
        assert_eq!(next(&mut rx_c).await, first);

        let second = attestation(&signer(), CHAIN, 2);
        c.publish(&second).await.unwrap();
        assert_eq!(next(&mut rx_a).await, second);
        assert_eq!(next(&mut rx_b).await, second);

        // Relayed copies are deduplicated (sha256 ids) and nobody hears its own attestation.
        tokio::time::sleep(Duration::from_secs(2)).await;
        for rx in [&mut rx_a, &mut rx_b, &mut rx_c] {
            assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
        }
        assert!(matches!(
            b.publish(&first).await,
            Err(AttestPublishError::Gossipsub { .. })
        ));
        a.shutdown().await;
        b.shutdown().await;
        c.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_another_key_cannot_connect_or_receive() {
    bounded(async {
        let a = start(SwarmKey::generate().unwrap(), &[CHAIN], vec![]).await;
        let outsider = start(
            SwarmKey::generate().unwrap(),
            &[CHAIN],
            vec![static_peer(&a).await],
        )
        .await;
        let mut rx = outsider.subscribe();
        // The outsider keeps redialling every 200 ms; none of its attempts may succeed.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(a.peers().await.unwrap().is_empty());
        assert!(outsider.peers().await.unwrap().is_empty());
        assert!(matches!(
            a.publish(&attestation(&signer(), CHAIN, 1)).await,
            Err(AttestPublishError::NoPeers(_))
        ));
        assert!(matches!(
            outsider.publish(&attestation(&signer(), CHAIN, 1)).await,
            Err(AttestPublishError::NoPeers(_))
        ));
        assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
        a.shutdown().await;
        outsider.shutdown().await;
    })
    .await;
}

/// B receives `data` from A on the chain's topic: nothing may be delivered, and A's score at B
/// must fall until B bans A and stops redialling it.
async fn rejected_and_banned(data: Vec<u8>) {
    let key = SwarmKey::generate().unwrap();
    let a = start(key, &[CHAIN], vec![]).await;
    let b = start(key, &[CHAIN], vec![static_peer(&a).await]).await;
    wait_mutual_topic_peers(&a, &b, chain(CHAIN)).await;
    let mut rx_b = b.subscribe();
    a.publish_raw(chain(CHAIN), data).await.unwrap();

    wait_banned_for_score(&b, a.local_peer_id()).await;
    assert!(matches!(rx_b.try_recv(), Err(TryRecvError::Empty)));
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_attestation_is_rejected_and_its_sender_banned() {
    bounded(async {
        let mut wire = attestation(&signer(), CHAIN, 7).to_wire();
        // The last byte of the L2 block number (offset 42..50): the signature no longer covers it.
        wire[49] ^= 0x01;
        rejected_and_banned(wire.to_vec()).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_rejected_and_its_sender_banned() {
    bounded(async {
        rejected_and_banned(b"not an attestation".to_vec()).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attestations_of_a_chain_not_followed_are_not_delivered_nor_penalised() {
    bounded(async {
        let key = SwarmKey::generate().unwrap();
        // A follows both chains, B only CHAIN, C only OTHER_CHAIN (so A's publish has a taker).
        let a = start(key, &[CHAIN, OTHER_CHAIN], vec![]).await;
        let b = start(key, &[CHAIN], vec![static_peer(&a).await]).await;
        let c = start(key, &[OTHER_CHAIN], vec![static_peer(&a).await]).await;
        let (ia, ib, ic) = (a.local_peer_id(), b.local_peer_id(), c.local_peer_id());
        wait_topic_peers(&a, chain(CHAIN), &[ib]).await;
        wait_topic_peers(&a, chain(OTHER_CHAIN), &[ic]).await;
        wait_topic_peers(&b, chain(CHAIN), &[ia]).await;
        let (mut rx_b, mut rx_c) = (b.subscribe(), c.subscribe());

        let other = attestation(&signer(), OTHER_CHAIN, 3);
        a.publish(&other).await.unwrap();
        assert_eq!(next(&mut rx_c).await, other);
        // B cannot publish what it does not follow.
        assert!(matches!(
            b.publish(&other).await,
            Err(AttestPublishError::ChainNotFollowed(c)) if c == chain(OTHER_CHAIN)
        ));

        let ours = attestation(&signer(), CHAIN, 4);
        a.publish(&ours).await.unwrap();
        assert_eq!(next(&mut rx_b).await, ours, "only CHAIN reaches B");
        assert!(matches!(rx_b.try_recv(), Err(TryRecvError::Empty)));
        assert!(b.peer_score(ia).await.unwrap().unwrap() >= 0.0);
        assert!(b.banned_peers().await.unwrap().is_empty());
        a.shutdown().await;
        b.shutdown().await;
        c.shutdown().await;
    })
    .await;
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn swarm_key_errors_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let hex64 = "ab".repeat(32);
    let cases = [
        (
            "bad-header.key",
            format!("/key/swarm/psk/9.9.9/\n/base16/\n{hex64}\n"),
            "line 1",
        ),
        (
            "bad-encoding.key",
            format!("/key/swarm/psk/1.0.0/\n/base64/\n{hex64}\n"),
            "line 2",
        ),
        (
            "bad-hex.key",
            format!("/key/swarm/psk/1.0.0/\n/base16/\n{}xy\n", "ab".repeat(31)),
            "offset 62",
        ),
        (
            "short.key",
            "/key/swarm/psk/1.0.0/\n/base16/\nabcd\n".to_owned(),
            "4 hex characters, expected 64",
        ),
    ];
    for (name, text, problem) in cases {
        let path = write(dir.path(), name, &text);
        let err = SwarmKey::from_file(&path).unwrap_err();
        assert!(
            matches!(err, SwarmKeyError::Format { .. }),
            "{name}: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains(problem), "{name}: {message}");
    }
    let missing = dir.path().join("missing.key");
    let message = SwarmKey::from_file(&missing).unwrap_err().to_string();
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );

    let good = write(
        dir.path(),
        "good.key",
        &format!("/key/swarm/psk/1.0.0/\n/base16/\n{hex64}\n"),
    );
    assert_eq!(
        SwarmKey::from_file(&good).unwrap(),
        SwarmKey::from_bytes([0xab; 32])
    );
}
