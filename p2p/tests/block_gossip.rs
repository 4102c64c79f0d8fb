//! Block gossip nodes on 127.0.0.1 talking real libp2p: delivery, rejection and scoring,
//! deduplication, and payload_by_number.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::primitives::{Address, B256, Bloom, Bytes, U256, address};
use alloy::rpc::types::engine::{ExecutionPayloadV1, ExecutionPayloadV2, ExecutionPayloadV3};
use alloy::signers::local::PrivateKeySigner;
use libp2p::PeerId;
use op_alloy_rpc_types_engine::{OpExecutionPayload, OpExecutionPayloadEnvelope};
use opfleet_p2p::blocks::scoring::blocks_topic_params;
use opfleet_p2p::{
    BlockGossipNode, P2pConfig, PayloadStore, RequestError, StaticPeer, generate_identity,
};
use opfleet_protocol::ChainId;
use opfleet_protocol::p2p::validation::compute_block_hash;
use opfleet_protocol::p2p::{
    BlockTopicVersion, ReqRespError, ResultCode, encode_block_message, sign_block,
};
use tokio::sync::broadcast::error::TryRecvError;

use support::{
    bounded, eventually, localhost, next, static_peer, wait_banned_for_score, wait_connected,
    wait_mutual_topic_peers, wait_topic_peers,
};

const CHAIN: u64 = 901;
const V3: BlockTopicVersion = BlockTopicVersion::V3;

fn chain() -> ChainId {
    ChainId::from(CHAIN)
}

/// The unsafe block signer of the tests (first anvil dev key).
fn sequencer_key() -> PrivateKeySigner {
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        .parse()
        .unwrap()
}

const SEQUENCER: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An Ecotone (V3) payload at `number` with a correct block hash, and its beacon root.
fn payload(number: u64) -> (OpExecutionPayload, B256) {
    let root = B256::repeat_byte(0x11);
    let v1 = ExecutionPayloadV1 {
        parent_hash: B256::repeat_byte(0x01),
        fee_recipient: address!("4200000000000000000000000000000000000011"),
        state_root: B256::repeat_byte(0x02),
        receipts_root: B256::repeat_byte(0x03),
        logs_bloom: Bloom::ZERO,
        prev_randao: B256::repeat_byte(0x04),
        block_number: number,
        gas_limit: 30_000_000,
        gas_used: 21_000,
        timestamp: now(),
        extra_data: Bytes::new(),
        base_fee_per_gas: U256::from(1_000_000u64),
        block_hash: B256::ZERO,
        transactions: vec![Bytes::from_static(&[0x7e, 0xc0])],
    };
    let mut payload = OpExecutionPayload::V3(ExecutionPayloadV3 {
        payload_inner: ExecutionPayloadV2 {
            payload_inner: v1,
            withdrawals: Vec::new(),
        },
        blob_gas_used: 0,
        excess_blob_gas: 0,
    });
    let hash = compute_block_hash(&payload, Some(root)).unwrap();
    if let OpExecutionPayload::V3(v3) = &mut payload {
        v3.payload_inner.payload_inner.block_hash = hash;
    }
    (payload, root)
}

/// Block `number` signed by `key`, as a gossip message, with its block hash.
fn signed_message(key: &PrivateKeySigner, number: u64) -> (Vec<u8>, B256) {
    let (payload, root) = payload(number);
    let hash = payload.block_hash();
    let envelope = sign_block(key, chain(), payload, Some(root)).unwrap();
    (encode_block_message(&envelope).unwrap(), hash)
}

#[derive(Default)]
struct MapStore(HashMap<u64, OpExecutionPayloadEnvelope>);

impl PayloadStore for MapStore {
    fn payload_by_number(&self, number: u64) -> Option<OpExecutionPayloadEnvelope> {
        self.0.get(&number).cloned()
    }
}

/// Block `number` as a peer serves it, and a store that holds it.
fn stored(number: u64) -> (OpExecutionPayloadEnvelope, MapStore) {
    let (payload, root) = payload(number);
    let served = OpExecutionPayloadEnvelope {
        parent_beacon_block_root: Some(root),
        execution_payload: payload,
    };
    let mut store = MapStore::default();
    store.0.insert(number, served.clone());
    (served, store)
}

async fn start(static_peers: Vec<StaticPeer>, store: MapStore) -> BlockGossipNode {
    start_with_block_time(static_peers, store, Duration::from_secs(2)).await
}

/// A node whose gossipsub scoring is tuned to `block_time`.
async fn start_with_block_time(
    static_peers: Vec<StaticPeer>,
    store: MapStore,
    block_time: Duration,
) -> BlockGossipNode {
    let mut config = P2pConfig::new(chain(), localhost(), SEQUENCER);
    config.static_peers = static_peers;
    config.block_time = block_time;
    config.redial_interval = Duration::from_millis(200);
    config.request_timeout = Duration::from_secs(5);
    BlockGossipNode::start(config, generate_identity(), Arc::new(store))
        .await
        .unwrap()
}

/// Nodes A, B, C; B dials A, C dials A and B.
async fn triangle() -> (BlockGossipNode, BlockGossipNode, BlockGossipNode) {
    let a = start(vec![], MapStore::default()).await;
    let b = start(vec![static_peer(&a).await], MapStore::default()).await;
    let c = start(
        vec![static_peer(&a).await, static_peer(&b).await],
        MapStore::default(),
    )
    .await;
    let (ia, ib, ic) = (a.local_peer_id(), b.local_peer_id(), c.local_peer_id());
    wait_topic_peers(&a, V3, &[ib, ic]).await;
    wait_topic_peers(&b, V3, &[ia, ic]).await;
    wait_topic_peers(&c, V3, &[ia, ib]).await;
    (a, b, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_block_reaches_every_peer_once_with_its_signer() {
    bounded(async {
        let (a, b, c) = triangle().await;
        let (mut rx_a, mut rx_b, mut rx_c) = (a.blocks(), b.blocks(), c.blocks());
        let (message, hash) = signed_message(&sequencer_key(), 1);
        a.publish(message.clone(), V3).await.unwrap();

        for (rx, name) in [(&mut rx_b, "B"), (&mut rx_c, "C")] {
            let block = next(rx).await;
            assert_eq!(block.signer, SEQUENCER, "{name}");
            assert_eq!(block.envelope.payload.block_hash(), hash, "{name}");
            assert_eq!(block.version, V3, "{name}");
            assert!(
                [a.local_peer_id(), b.local_peer_id(), c.local_peer_id()]
                    .contains(&block.from_peer)
            );
        }
        // B's relay reaches C and C's reaches B as well: the second copy is deduplicated.
        assert!(a.publish(message.clone(), V3).await.is_err(), "republish");
        assert!(
            c.publish(message, V3).await.is_err(),
            "relay of a seen message"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(matches!(rx_b.try_recv(), Err(TryRecvError::Empty)));
        assert!(matches!(rx_c.try_recv(), Err(TryRecvError::Empty)));
        assert!(
            matches!(rx_a.try_recv(), Err(TryRecvError::Empty)),
            "own block echoed"
        );

        // A second block still flows.
        let (message, hash) = signed_message(&sequencer_key(), 2);
        b.publish(message, V3).await.unwrap();
        assert_eq!(next(&mut rx_a).await.envelope.payload.block_hash(), hash);
        assert_eq!(next(&mut rx_c).await.envelope.payload.block_hash(), hash);
        a.stop().await;
        b.stop().await;
        c.stop().await;
    })
    .await;
}

/// Whether `peer` is in `node`'s mesh on every blocks topic, with a score of at least zero.
async fn meshed_on_every_topic(node: &BlockGossipNode, peer: PeerId) -> Result<(), String> {
    let score = node.peer_score(peer).await.unwrap().unwrap_or_default();
    if score < 0.0 {
        return Err(format!("score {score}"));
    }
    for version in BlockTopicVersion::ALL {
        if !node.mesh_peers(version).await.unwrap().contains(&peer) {
            return Err(format!("not in the {version:?} mesh (score {score})"));
        }
    }
    Ok(())
}

/// A sequencer publishing every block time keeps a peer that only receives in its mesh on all
/// four topics, each scoring the other at zero or more, past the point where op-node's
/// mesh-delivery quota (P3, 4 epochs = 24 slots) would start: under that quota the receiver
/// fell to -19.7 at the sequencer and was pruned, and out of the mesh kona-node graylisted the
/// sequencer within 30 s (deploy/kona-crosscheck.md, finding 3). A 1 s block time keeps the
/// test short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_stays_in_the_sequencers_mesh_past_the_delivery_quota() {
    bounded(async {
        let block_time = Duration::from_secs(1);
        let quota_starts = blocks_topic_params(block_time).mesh_message_deliveries_activation;
        let sequencer = start_with_block_time(vec![], MapStore::default(), block_time).await;
        let receiver = start_with_block_time(
            vec![static_peer(&sequencer).await],
            MapStore::default(),
            block_time,
        )
        .await;
        let (is, ir) = (sequencer.local_peer_id(), receiver.local_peer_id());
        eventually("mesh both ways", || async {
            meshed_on_every_topic(&sequencer, ir).await.is_ok()
                && meshed_on_every_topic(&receiver, is).await.is_ok()
        })
        .await;
        let mut rx = receiver.blocks();
        let end = tokio::time::Instant::now() + quota_starts + block_time * 3;
        let mut number = 1;
        while tokio::time::Instant::now() < end {
            let (message, hash) = signed_message(&sequencer_key(), number);
            sequencer.publish(message, V3).await.unwrap();
            assert_eq!(next(&mut rx).await.envelope.payload.block_hash(), hash);
            if let Err(why) = meshed_on_every_topic(&sequencer, ir).await {
                panic!("block {number}: receiver at the sequencer: {why}");
            }
            if let Err(why) = meshed_on_every_topic(&receiver, is).await {
                panic!("block {number}: sequencer at the receiver: {why}");
            }
            number += 1;
            tokio::time::sleep(block_time).await;
        }
        assert!(number > 20, "only {number} blocks in {quota_starts:?}");
        sequencer.stop().await;
        receiver.stop().await;
    })
    .await;
}

/// B receives `message` from A: it must not be delivered, and A's score at B must fall until
/// B bans A.
async fn rejected_and_banned(message: Vec<u8>) {
    let a = start(vec![], MapStore::default()).await;
    let b = start(vec![static_peer(&a).await], MapStore::default()).await;
    wait_mutual_topic_peers(&a, &b, V3).await;
    let mut rx_b = b.blocks();
    a.publish(message, V3).await.unwrap();

    // A is B's static peer, yet B does not redial it while it is banned.
    wait_banned_for_score(&b, a.local_peer_id()).await;
    assert!(matches!(rx_b.try_recv(), Err(TryRecvError::Empty)));
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_signed_by_another_key_is_rejected_and_penalised() {
    bounded(async {
        let (message, _) = signed_message(&PrivateKeySigner::random(), 1);
        rejected_and_banned(message).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_message_is_rejected_and_penalised() {
    bounded(async {
        rejected_and_banned(b"not a snappy block of a signed payload".to_vec()).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_by_number_serves_stored_blocks_and_fails_cleanly() {
    bounded(async {
        let (served, mut store) = stored(7);
        // A store that answers 9 with block 7: the server refuses to send the wrong block.
        store.0.insert(9, served.clone());
        let a = start(vec![], store).await;
        let b = start(vec![static_peer(&a).await], MapStore::default()).await;
        let ia = a.local_peer_id();
        wait_connected(&b, ia).await;

        assert_eq!(b.request_payload(ia, 7, V3).await.unwrap(), served);
        assert!(matches!(
            b.request_payload(ia, 8, V3).await,
            Err(RequestError::Failed(ResultCode::NotFound))
        ));
        assert!(matches!(
            b.request_payload(ia, 9, V3).await,
            Err(RequestError::Failed(ResultCode::Other(3)))
        ));
        assert!(matches!(
            b.request_payload(ia, 7, BlockTopicVersion::V1).await,
            Err(RequestError::BadResponse(
                ReqRespError::VersionMismatch { .. }
            ))
        ));
        // A peer nobody knows how to reach: an error, not a hang.
        let stranger = generate_identity().public().to_peer_id();
        assert!(matches!(
            b.request_payload(stranger, 7, V3).await,
            Err(RequestError::Outbound(_))
        ));
        a.stop().await;
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_peer_is_redialled_after_it_restarts() {
    bounded(async {
        // A fixed identity and port, so the restarted A is the same static peer.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let identity = generate_identity();
        let listen: libp2p::Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap();
        let start_a = || {
            let config = P2pConfig::new(chain(), listen.clone(), SEQUENCER);
            BlockGossipNode::start(config, identity.clone(), Arc::new(MapStore::default()))
        };
        let a = start_a().await.unwrap();
        let ia = a.local_peer_id();
        let b = start(vec![static_peer(&a).await], MapStore::default()).await;
        wait_connected(&b, ia).await;

        a.stop().await;
        eventually("B lost A", || async {
            !b.peers().await.unwrap().contains(&ia)
        })
        .await;
        let a = start_a().await.unwrap();
        wait_connected(&b, ia).await;
        let mut rx_b = b.blocks();
        wait_topic_peers(&a, V3, &[b.local_peer_id()]).await;
        let (message, hash) = signed_message(&sequencer_key(), 3);
        a.publish(message, V3).await.unwrap();
        assert_eq!(next(&mut rx_b).await.envelope.payload.block_hash(), hash);
        a.stop().await;
        b.stop().await;
    })
    .await;
}

/// A requester speaking the spec's trailing-slash protocol id, as a bare request-response swarm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_slash_protocol_is_served() {
    use libp2p::futures::StreamExt;
    use libp2p::request_response::{self, ProtocolSupport};
    use libp2p::swarm::SwarmEvent;
    use libp2p::{StreamProtocol, noise, tcp, yamux};
    use opfleet_p2p::blocks::req_resp::PayloadByNumberCodec;
    use opfleet_protocol::p2p::PayloadByNumberResponse;
    use opfleet_protocol::p2p::req_resp::{decode_response, payload_by_number_protocol_id_spec};

    bounded(async {
        let (served, store) = stored(4);
        let a = start(vec![], store).await;
        let a_addr = a.listen_addrs().await.unwrap()[0].clone();

        let protocol =
            StreamProtocol::try_from_owned(payload_by_number_protocol_id_spec(chain())).unwrap();
        let mut client = libp2p::SwarmBuilder::with_existing_identity(generate_identity())
            .with_tokio()
            .with_tcp(
                tcp::Config::default(),
                noise::Config::new,
                yamux::Config::default,
            )
            .unwrap()
            .with_behaviour(|_| {
                request_response::Behaviour::with_codec(
                    PayloadByNumberCodec,
                    [(protocol, ProtocolSupport::Outbound)],
                    request_response::Config::default(),
                )
            })
            .unwrap()
            .build();
        client
            .behaviour_mut()
            .send_request_with_addresses(&a.local_peer_id(), 4, vec![a_addr]);
        let response = loop {
            match client.select_next_some().await {
                SwarmEvent::Behaviour(request_response::Event::Message {
                    message: request_response::Message::Response { response, .. },
                    ..
                }) => break response,
                SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                    error, ..
                }) => panic!("request failed: {error}"),
                _ => {}
            }
        };
        assert_eq!(
            decode_response(&response.0, V3).unwrap(),
            PayloadByNumberResponse::Payload(Box::new(served))
        );
        a.stop().await;
    })
    .await;
}

/// A serving node with `limits` and block 7, and `n` requesters connected to it.
async fn server_and_requesters(
    limits: opfleet_p2p::ServeLimits,
    n: usize,
) -> (
    BlockGossipNode,
    Vec<BlockGossipNode>,
    OpExecutionPayloadEnvelope,
) {
    let (served, store) = stored(7);
    let mut config = P2pConfig::new(chain(), localhost(), SEQUENCER);
    config.request_timeout = Duration::from_secs(5);
    config.serve_limits = limits;
    let a = BlockGossipNode::start(config, generate_identity(), Arc::new(store))
        .await
        .unwrap();
    let ia = a.local_peer_id();
    let mut requesters = Vec::new();
    for _ in 0..n {
        let b = start(vec![static_peer(&a).await], MapStore::default()).await;
        wait_connected(&b, ia).await;
        requesters.push(b);
    }
    (a, requesters, served)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_by_number_is_throttled_then_refused_per_peer() {
    use libp2p::futures::future::join_all;
    bounded(async {
        let limits = opfleet_p2p::ServeLimits {
            peer_rate: 1.0,
            peer_burst: 2,
            max_throttle_delay: Duration::from_millis(1500),
            ..opfleet_p2p::ServeLimits::default()
        };
        let (a, requesters, served) = server_and_requesters(limits, 1).await;
        let b = &requesters[0];
        let ia = a.local_peer_id();
        let started = tokio::time::Instant::now();
        // Two from the burst now, one after a second's refill, two would wait 2 s: refused.
        let results = join_all((0..5).map(|_| async {
            let r = b.request_payload(ia, 7, V3).await;
            (r, started.elapsed())
        }))
        .await;
        let served_now = results
            .iter()
            .filter(|(r, t)| {
                r.as_ref().is_ok_and(|p| *p == served) && *t < Duration::from_millis(900)
            })
            .count();
        let served_later = results
            .iter()
            .filter(|(r, t)| r.is_ok() && *t >= Duration::from_millis(900))
            .count();
        let refused = results
            .iter()
            .filter(|(r, _)| matches!(r, Err(RequestError::Failed(ResultCode::Other(3)))))
            .count();
        assert_eq!(
            (served_now, served_later, refused),
            (2, 1, 2),
            "{results:?}"
        );
        a.stop().await;
        for r in requesters {
            r.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_by_number_global_limit_spans_peers() {
    bounded(async {
        let limits = opfleet_p2p::ServeLimits {
            global_rate: 0.5,
            global_burst: 1,
            max_throttle_delay: Duration::from_millis(500),
            ..opfleet_p2p::ServeLimits::default()
        };
        let (a, requesters, served) = server_and_requesters(limits, 2).await;
        let ia = a.local_peer_id();
        assert_eq!(
            requesters[0].request_payload(ia, 7, V3).await.unwrap(),
            served
        );
        // The other peer has a full bucket of its own, but the global one is empty for 2 s.
        assert!(matches!(
            requesters[1].request_payload(ia, 7, V3).await,
            Err(RequestError::Failed(ResultCode::Other(3)))
        ));
        a.stop().await;
        for r in requesters {
            r.stop().await;
        }
    })
    .await;
}
