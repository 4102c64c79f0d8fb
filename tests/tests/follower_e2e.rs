//! The follower end to end on the devnet: a sequencer on a simulated execution client gossips
//! signed blocks over op-node P2P; a follower with its own simulated execution client takes
//! its unsafe head from that gossip, its safe and finalized heads from a 2-of-3 pool of fake
//! supernodes (C2), repairs a gossip gap from the pool's `opfleet_payloadByNumber`, checks
//! output roots against its own execution client, and restarts without regression.

mod follower_common;
mod sequencer_common;

use std::sync::Arc;
use std::time::Duration;

use follower_common::*;
use opfleet_attest::AttestationKind::{Finalized, Safe};
use opfleet_follower::config::{
    AttestedSources, FollowerConfig, HeadsSource, P2pSettings, trust_policy,
};
use opfleet_follower::node::{Extras, FollowerNode};
use opfleet_p2p::{BlockGossipNode, NoPayloads, P2pConfig};
use opfleet_protocol::ChainId;
use opfleet_tests::el::{SimEl, SimElConfig};
use opfleet_tests::l1::{L1, L1Config};
use opfleet_tests::sequencer::{DevnetChainConfig, SequencedBlock, TxGenConfig};
use sequencer_common::*;

const CHAIN: ChainId = ChainId(901);

fn follower_config(
    rollup: opfleet_protocol::config::RollupConfig,
    dir: &std::path::Path,
    urls: Vec<String>,
    static_peer: String,
    signer: alloy::primitives::Address,
) -> FollowerConfig {
    FollowerConfig {
        rollup,
        engine_url: "http://in-process".into(),
        l2_rpc_url: "http://in-process".into(),
        jwt_secret: "/in-process".into(),
        data_dir: dir.to_path_buf(),
        heads: HeadsSource::Attested(AttestedSources {
            policy: trust_policy(
                &[pk(1).to_string(), pk(2).to_string(), pk(3).to_string()],
                2,
            )
            .unwrap(),
            urls,
            gossip: None,
            poll_interval: Duration::from_millis(300),
        }),
        p2p: Some(P2pSettings {
            listen: "/ip4/127.0.0.1/tcp/0".into(),
            static_peers: vec![static_peer],
            bootnodes: vec![],
            discovery_udp: "127.0.0.1:0".parse().unwrap(),
            priv_key_hex: None,
            priv_path: None,
            unsafe_block_signer: signer,
            discovery: Default::default(),
        }),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        metrics_addr: None,
        verify_output_root: true,
        healthz_max_safe_age: Duration::from_secs(600),
    }
}

async fn publish(node: &BlockGossipNode, b: &SequencedBlock) {
    // The first publish may precede the follower's subscription reaching us: retry briefly.
    for _ in 0..100 {
        if node
            .publish(b.signed_gossip.clone(), b.topic_version)
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not publish block {}", b.l2_block_ref.number);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_takes_unsafe_from_p2p_and_safe_finalized_from_the_quorum_across_a_restart() {
    // Gossip validation drops blocks more than 60 s old: the chain starts 30 s ago.
    let now = now_ms() / 1000;
    let l1 = L1::spawn(L1Config {
        block_time: 6,
        genesis_time: Some(now - 30),
        ..L1Config::devnet().manual()
    })
    .await
    .unwrap();
    for _ in 0..4 {
        l1.mine();
    }
    let config = DevnetChainConfig::devnet(CHAIN);
    let Chain {
        el: seq_el,
        mut seq,
    } = spawn_chain(&l1, config, TxGenConfig::default(), None).await;
    let rollup = seq.rollup().clone();
    let follower_el = Arc::new(
        SimEl::spawn(SimElConfig::local(
            config.chain_spec(l1.genesis().timestamp),
            jwt(),
        ))
        .await
        .unwrap(),
    );
    assert_eq!(follower_el.genesis().hash, seq_el.genesis().hash);

    // The sequencer's P2P side.
    let mut pc = P2pConfig::new(CHAIN, "/ip4/127.0.0.1/tcp/0".parse().unwrap(), seq.signer());
    pc.ip_colocation_whitelist
        .insert(std::net::IpAddr::from([127, 0, 0, 1]));
    let publisher =
        BlockGossipNode::start(pc, opfleet_p2p::generate_identity(), Arc::new(NoPayloads))
            .await
            .unwrap();
    let addr = publisher.listen_addrs().await.unwrap()[0].clone();
    let static_peer = format!("{addr}/p2p/{}", publisher.local_peer_id());

    let pool = [
        FakeSupernode::start(CHAIN, true).await,
        FakeSupernode::start(CHAIN, true).await,
        FakeSupernode::start(CHAIN, true).await,
    ];
    let urls: Vec<String> = pool.iter().map(FakeSupernode::url).collect();
    let dir = tempfile::tempdir().unwrap();
    let layer = sim_el_layer(&follower_el, jwt(), &rollup);
    let node = FollowerNode::start(
        follower_config(
            rollup.clone(),
            dir.path(),
            urls.clone(),
            static_peer.clone(),
            seq.signer(),
        ),
        layer.clone(),
        Extras::default(),
    )
    .await
    .unwrap();

    // Unsafe head follows P2P. Block 5 is withheld from gossip but served by the pool.
    let mut blocks = Vec::new();
    for _ in 0..8 {
        let b = seq.step().await.unwrap();
        for m in &pool {
            m.serve_payloads([&b.envelope]);
        }
        if b.l2_block_ref.number != 5 {
            publish(&publisher, &b).await;
        }
        blocks.push(b);
    }
    let head = seq_el.head().hash;
    eventually(30, "follower EL head = sequencer head", || {
        follower_el.head().hash == head
    })
    .await;
    assert_eq!(
        follower_el.block_by_number(5).unwrap().hash,
        blocks[4].l2_block_ref.hash
    );

    // Safe and finalized follow the 2-of-3 quorum, output roots checked against our own EL.
    // Block n is blocks[n - 1]; its output root comes from the sequencer's execution client.
    let att = |i: u8, kind, n: u64, derived: u64| {
        let b = seq_el.block_by_number(n).unwrap();
        let r = b.l2_block_ref().unwrap();
        attest(i, CHAIN, kind, r, derived, output_root(&b))
    };
    pool[0].publish(att(1, Safe, 6, 3));
    pool[1].publish(att(2, Safe, 6, 3));
    pool[0].publish(att(1, Finalized, 3, 2));
    pool[2].publish(att(3, Finalized, 3, 2));
    eventually(20, "EL safe 6", || follower_el.safe().number() == 6).await;
    eventually(20, "EL finalized 3", || {
        follower_el.finalized().number() == 3
    })
    .await;
    let status = node.state().sync_status();
    assert_eq!(status.safe_l2, blocks[5].l2_block_ref);
    assert_eq!(status.finalized_l2, blocks[2].l2_block_ref);
    assert_eq!(status.unsafe_l2.hash, head);

    // Restart: stored heads are served at once; older attestations do not pull them back.
    node.stop().await;
    for (i, m) in pool.iter().enumerate() {
        m.publish(att(i as u8 + 1, Safe, 4, 2));
        m.publish(att(i as u8 + 1, Finalized, 2, 1));
    }
    let node = FollowerNode::start(
        follower_config(rollup.clone(), dir.path(), urls, static_peer, seq.signer()),
        layer,
        Extras::default(),
    )
    .await
    .unwrap();
    let status = node.state().sync_status();
    assert_eq!(status.safe_l2.number, 6);
    assert_eq!(status.finalized_l2.number, 3);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(node.state().sync_status().safe_l2.number, 6);
    assert_eq!(
        node.state().sync_status().finalized_l2.number,
        3,
        "finalized never moves back"
    );
    assert_eq!(follower_el.finalized().number(), 3);

    // And it keeps following: new blocks over P2P, a higher quorum head.
    for _ in 0..3 {
        let b = seq.step().await.unwrap();
        publish(&publisher, &b).await;
        blocks.push(b);
    }
    let head = seq_el.head().hash;
    eventually(30, "follower EL head after restart", || {
        follower_el.head().hash == head
    })
    .await;
    pool[1].publish(att(2, Safe, 10, 5));
    pool[2].publish(att(3, Safe, 10, 5));
    eventually(20, "EL safe 10", || follower_el.safe().number() == 10).await;

    node.stop().await;
    publisher.stop().await;
    for m in pool {
        m.stop().await;
    }
    seq_el.stop().await;
    if let Ok(el) = Arc::try_unwrap(follower_el) {
        el.stop().await;
    }
    l1.stop().await;
}
