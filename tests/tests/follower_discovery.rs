//! Followers that find their block-gossip peers by discv5 alone: given only the chain's bootnode
//! ENR (the sequencer's, from the endpoints file) and no static peer, a follower finds and
//! connects to the sequencer and to another follower, and follows the unsafe head over gossip.
//! A node whose ENR names another chain is learnt but never dialled. A restarted follower keeps
//! the attestation-gossip identity stored in its data directory, and the records discovery
//! learnt (`opnode_discovery_db`): started again with no bootnode at all, it finds the sequencer
//! from them.
//!
//! ```text
//!   sequencer (discv5 bootnode) ◀── ENR ── follower-0, follower-1, wrong-chain node
//!   follower-0 ── walk ──▶ follower-1's record ──▶ dial ;  wrong-chain record ──▶ dropped
//! ```

mod devnet_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use devnet_support::*;
use libp2p::PeerId;
use libp2p::multiaddr::{Multiaddr, Protocol};
use opfleet_attest::{PublicKey, SigningKey};
use opfleet_engine::JwtSecret;
use opfleet_follower::cli::{Cli, Command};
use opfleet_follower::engine::el_client::EngineLayer;
use opfleet_follower::node::{Extras, FollowerNode};
use opfleet_p2p::discovery::{
    DEFAULT_DISCOVERY_DB, DiscoveryConfig, DiscoveryDb, enr_matches_chain, parse_bootnode,
};
use opfleet_p2p::{BlockGossipNode, NoPayloads, P2pConfig, generate_identity};
use opfleet_protocol::ChainId;
use opfleet_tests::devnet::{FleetNode, FollowerSpec};

/// Per condition; the whole test stays well under a minute when the machine is not starved.
const WAIT: Duration = Duration::from_secs(45);

fn peer_of(addr: &Multiaddr) -> PeerId {
    match addr.iter().last() {
        Some(Protocol::P2p(id)) => id,
        _ => panic!("{addr} has no /p2p/ component"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_find_peers_from_the_bootnode_enr_and_follow_unsafe() {
    let started = Instant::now();
    let net = start(config("discovery", 1)).await;
    let world = net.devnet.world().clone();
    let chain = &net.endpoints.chains[0];
    let chain_id = chain.chain_id;

    // The endpoints file names the chain's bootnode: the sequencer's signed record.
    let enr_text = chain
        .sequencer_enr
        .clone()
        .expect("the sequencer runs discv5");
    let enr = parse_bootnode(&enr_text).unwrap();
    assert!(enr_matches_chain(&enr, chain_id), "{enr_text}");
    let sequencer = peer_of(&chain.sequencer_p2p.parse().unwrap());

    // A node of another chain registers with the same bootnode.
    let other_chain = ChainId(chain_id.0 + 1000);
    let mut other_config = P2pConfig::new(
        other_chain,
        "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        chain.unsafe_block_signer,
    );
    let mut discovery = DiscoveryConfig::new("127.0.0.1:0".parse().unwrap(), vec![enr.clone()]);
    discovery.interval = Duration::from_millis(500);
    other_config.discovery = Some(discovery);
    let other = BlockGossipNode::start(other_config, generate_identity(), Arc::new(NoPayloads))
        .await
        .unwrap();
    let other_node_id = other.local_enr().unwrap().node_id();

    // Two followers with the bootnode and no static peer (safe heads would come from the
    // attestation gossip; here only the unsafe head matters).
    let trust = PublicKey::of(&SigningKey::from_bytes(&[42; 32]));
    let mut spec = FollowerSpec::attested(chain_id, vec![trust], 1);
    spec.attest_gossip = true;
    spec.p2p_bootnodes = vec![enr_text.clone()];
    let a = world.add_follower(spec.clone()).await.unwrap();
    let b = world.add_follower(spec).await.unwrap();
    assert!(world.followers().len() >= 2);
    let a_gossip = a.block_gossip().await.unwrap();
    let b_peer = peer_of(&b.p2p_addr().unwrap());
    let b_udp = b.block_gossip().await.unwrap().local_enr().unwrap().udp4();
    assert!(b_udp.is_some());
    eprintln!("followers up after {:?}", started.elapsed());

    wait_connected(
        "follower-0 connected to the sequencer",
        &a_gossip,
        sequencer,
    )
    .await;
    eprintln!("connected to the sequencer after {:?}", started.elapsed());
    eventually(
        "follower-0 found and connected to follower-1",
        WAIT,
        || async {
            let found = a_gossip.discovered_peers().await.unwrap().contains(&b_peer);
            let connected = a_gossip.peers().await.unwrap().contains(&b_peer);
            (found && connected).then_some(())
        },
    )
    .await;
    eprintln!("connected to follower-1 after {:?}", started.elapsed());

    // Unsafe head over gossip: follower-0's execution client reaches the sequencer's head.
    let target = world.chain(chain_id).unwrap().head().unwrap();
    eventually(
        "follower-0 has the sequencer's unsafe head",
        WAIT,
        || async {
            let ours = a.el().block_by_number(target.number).map(|b| b.id());
            (ours == Some(target)).then_some(())
        },
    )
    .await;
    assert!(
        a.el().safe().number() < target.number,
        "unsafe, not safe, blocks"
    );
    eprintln!(
        "unsafe head #{} after {:?}",
        target.number,
        started.elapsed()
    );

    // The other chain's record reaches follower-0's table, yet it is never dialled. It was
    // learnt through the walks that also found follower-1, so those walks have seen it.
    eventually(
        "follower-0 learnt the other chain's record",
        WAIT,
        || async {
            a_gossip
                .discovery_table()
                .iter()
                .any(|e| e.node_id() == other_node_id)
                .then_some(())
        },
    )
    .await;
    let other_peer = other.local_peer_id();
    assert!(
        !a_gossip
            .discovered_peers()
            .await
            .unwrap()
            .contains(&other_peer)
    );
    assert!(!a_gossip.peers().await.unwrap().contains(&other_peer));
    assert!(
        !other
            .peers()
            .await
            .unwrap()
            .contains(&a_gossip.local_peer_id())
    );

    // A restarted follower keeps its attestation-gossip identity (stored in its data dir).
    drop(a_gossip);
    let gossip_id = peer_of(&b.gossip_addr().unwrap());
    assert!(b.data_dir().join("attest_p2p_priv.txt").is_file());
    b.kill().await.unwrap();
    b.restart().await.unwrap();
    assert_eq!(peer_of(&b.gossip_addr().unwrap()), gossip_id);
    assert_eq!(peer_of(&b.p2p_addr().unwrap()), b_peer);
    let b_gossip = b.block_gossip().await.unwrap();
    assert_eq!(b_gossip.local_enr().unwrap().udp4(), b_udp);
    wait_connected(
        "the restarted follower-1 rejoins by discovery",
        &b_gossip,
        sequencer,
    )
    .await;

    // A restarted sequencer hands out the same record (identity and UDP port kept), so the
    // bootnode ENR in the endpoints file stays valid.
    let seq_node = world.chain(chain_id).unwrap().sequencer().clone();
    seq_node.kill().await.unwrap();
    seq_node.restart().await.unwrap();
    let again = seq_node.enr().unwrap();
    assert_eq!(again.node_id(), enr.node_id());
    assert_eq!(again.udp4_socket(), enr.udp4_socket());
    assert_eq!(again.tcp4(), enr.tcp4());
    let a_gossip = a.block_gossip().await.unwrap();
    wait_connected(
        "follower-0 reconnects to the restarted sequencer",
        &a_gossip,
        sequencer,
    )
    .await;
    eprintln!("done after {:?}", started.elapsed());

    other.stop().await;
    net.stop().await;
}

/// A follower that found the sequencer through its bootnode keeps the record in its data
/// directory; started again from that directory with no bootnode and no static peer (through
/// the `run` flags, advertising 127.0.0.1 while bound to 0.0.0.0), it finds and connects to the
/// sequencer from the discovery DB alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_without_bootnodes_finds_peers_from_its_discovery_db() {
    let started = Instant::now();
    let net = start(config("discovery-db", 1)).await;
    let world = net.devnet.world().clone();
    let chain = &net.endpoints.chains[0];
    let enr_text = chain
        .sequencer_enr
        .clone()
        .expect("the sequencer runs discv5");
    let enr = parse_bootnode(&enr_text).unwrap();
    let sequencer = peer_of(&chain.sequencer_p2p.parse().unwrap());

    // First life: the bootnode is given; the sequencer is found and connected.
    let trust = PublicKey::of(&SigningKey::from_bytes(&[42; 32]));
    let mut spec = FollowerSpec::attested(chain.chain_id, vec![trust], 1);
    spec.attest_gossip = true;
    spec.p2p_bootnodes = vec![enr_text];
    let a = world.add_follower(spec).await.unwrap();
    let a_gossip = a.block_gossip().await.unwrap();
    wait_connected(
        "the follower connected to the sequencer",
        &a_gossip,
        sequencer,
    )
    .await;
    drop(a_gossip);
    a.kill().await.unwrap();
    let db = DiscoveryDb::File(a.data_dir().join(DEFAULT_DISCOVERY_DB));
    eventually(
        "the sequencer's record in the discovery DB",
        WAIT,
        || async {
            db.load()
                .iter()
                .any(|e| e.node_id() == enr.node_id())
                .then_some(())
        },
    )
    .await;
    eprintln!("discovery DB written after {:?}", started.elapsed());

    // Second life, from the same data directory and execution client, without any bootnode.
    let data_dir = a.data_dir().to_str().unwrap().to_string();
    let signer = format!("{:#x}", chain.unsafe_block_signer);
    let trust_key = trust.to_string();
    let engine = a.el().engine_url();
    let rpc = a.el().rpc_url();
    let argv = [
        "opfleet-follower",
        "run",
        "--rollup-config",
        chain.rollup_config.to_str().unwrap(),
        "--l2",
        &engine,
        "--l2.rpc",
        &rpc,
        "--l2.jwt-secret",
        chain.jwt_secret_file.to_str().unwrap(),
        "--data-dir",
        &data_dir,
        "--trust.keys",
        &trust_key,
        "--trust.threshold",
        "1",
        // Safe heads do not matter here: a source that never answers.
        "--attest.source",
        "http://127.0.0.1:9",
        "--rpc.port",
        "0",
        "--p2p.listen",
        "/ip4/127.0.0.1/tcp/0",
        "--p2p.listen.udp",
        "0",
        "--p2p.advertise.ip",
        "127.0.0.1",
        "--p2p.unsafe-block-signer",
        &signer,
    ];
    let Command::Run(args) = Cli::try_parse_from(argv).unwrap().command else {
        panic!("not run");
    };
    let config = args.to_config().unwrap();
    let p2p = config.p2p.as_ref().unwrap();
    assert!(p2p.bootnodes.is_empty() && p2p.static_peers.is_empty());
    let secret = JwtSecret::from_file(&config.jwt_secret).unwrap();
    let el = EngineLayer::new(
        &config.engine_url,
        &config.l2_rpc_url,
        secret,
        &config.rollup,
    )
    .unwrap();
    let node = FollowerNode::start(config, Arc::new(el), Extras::default())
        .await
        .unwrap();
    let gossip = node.p2p().unwrap().clone();
    let local = gossip
        .local_enr()
        .expect("discovery runs from the DB alone");
    assert_eq!(local.ip4(), Some(std::net::Ipv4Addr::LOCALHOST));
    eventually(
        "the follower found the sequencer from its discovery DB",
        WAIT,
        || async {
            let found = gossip
                .discovered_peers()
                .await
                .unwrap()
                .contains(&sequencer);
            let connected = gossip.peers().await.unwrap().contains(&sequencer);
            (found && connected).then_some(())
        },
    )
    .await;
    eprintln!(
        "rejoined from the discovery DB after {:?}",
        started.elapsed()
    );

    drop(gossip);
    node.stop().await;
    assert!(db.load().iter().any(|e| e.node_id() == enr.node_id()));
    net.stop().await;
}

/// Waits until `gossip` has a connection to `peer`.
async fn wait_connected(what: &str, gossip: &BlockGossipNode, peer: PeerId) {
    eventually(what, WAIT, || async {
        gossip.peers().await.unwrap().contains(&peer).then_some(())
    })
    .await;
}
