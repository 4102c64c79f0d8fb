//! discv5 discovery for block gossip on 127.0.0.1: nodes find each other from one bootnode
//! ENR and connect; a node of another chain is seen in the DHT but never dialled.

mod support;

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::address;
use libp2p::PeerId;
use opfleet_p2p::discovery::{
    DiscoveryConfig, Enr, OPSTACK_ENR_KEY, enr_to_peer, opstack_entry, parse_bootnode,
};
use opfleet_p2p::{BlockGossipNode, NoPayloads, P2pConfig, generate_identity};
use opfleet_protocol::ChainId;

use support::{bounded_by, eventually_within, localhost};

const CHAIN: u64 = 901;
const OTHER_CHAIN: u64 = 902;
const TEST_TIMEOUT: Duration = Duration::from_secs(90);
/// Discovery walks take a while: how long a condition may take to hold, and how often it is
/// checked.
const DISCOVERY_WAIT: Duration = Duration::from_secs(40);
const POLL: Duration = Duration::from_millis(100);

async fn start(chain: u64, bootnodes: Vec<Enr>) -> BlockGossipNode {
    let mut config = P2pConfig::new(
        ChainId::from(chain),
        localhost(),
        address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
    );
    let mut discovery = DiscoveryConfig::new("127.0.0.1:0".parse().unwrap(), bootnodes);
    discovery.interval = Duration::from_millis(300);
    config.discovery = Some(discovery);
    BlockGossipNode::start(config, generate_identity(), Arc::new(NoPayloads))
        .await
        .unwrap()
}

async fn connected(node: &BlockGossipNode, peer: PeerId) -> bool {
    node.peers().await.unwrap().contains(&peer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_record_carries_the_opstack_entry_and_the_gossip_address() {
    bounded_by(TEST_TIMEOUT, async {
        let node = start(CHAIN, vec![]).await;
        let enr = node.local_enr().expect("discovery runs");
        // 901 = 7 * 128 + 5: uvarint 0x85 0x07, version 0x00, RLP string of 3 bytes 0x83.
        assert_eq!(
            enr.get_raw_rlp(OPSTACK_ENR_KEY),
            Some([0x83, 0x85, 0x07, 0x00].as_slice())
        );
        assert_eq!(opstack_entry(&enr).unwrap().chain_id, ChainId::from(CHAIN));
        let peer = enr_to_peer(&enr).unwrap();
        assert_eq!(peer.peer_id, node.local_peer_id());
        assert_eq!(peer.addr, node.listen_addrs().await.unwrap()[0]);
        // The text form is a usable bootnode; enode URLs and garbage are refused.
        assert_eq!(parse_bootnode(&enr.to_base64()).unwrap(), enr);
        assert!(parse_bootnode("enode://abcd@127.0.0.1:30303").is_err());
        assert!(parse_bootnode("enr:not-base64!").is_err());
        node.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_find_each_other_from_one_bootnode_and_connect() {
    bounded_by(TEST_TIMEOUT, async {
        let boot = start(CHAIN, vec![]).await;
        let boot_enr = boot.local_enr().unwrap();
        let a = start(CHAIN, vec![boot_enr.clone()]).await;
        let d = start(CHAIN, vec![boot_enr]).await;
        let (ib, ia, id) = (boot.local_peer_id(), a.local_peer_id(), d.local_peer_id());
        // A and D only know the bootnode; they learn of each other through its table.
        eventually_within("A connected to the bootnode", DISCOVERY_WAIT, POLL, || {
            connected(&a, ib)
        })
        .await;
        eventually_within("A and D connected", DISCOVERY_WAIT, POLL, || async {
            connected(&a, id).await && connected(&d, ia).await
        })
        .await;
        assert!(a.discovered_peers().await.unwrap().contains(&ib));
        a.stop().await;
        d.stop().await;
        boot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_of_another_chain_is_not_dialled() {
    bounded_by(TEST_TIMEOUT, async {
        let boot = start(CHAIN, vec![]).await;
        let boot_enr = boot.local_enr().unwrap();
        let other = start(OTHER_CHAIN, vec![boot_enr.clone()]).await;
        let other_enr = other.local_enr().unwrap();
        let a = start(CHAIN, vec![boot_enr]).await;
        let (ib, io) = (boot.local_peer_id(), other.local_peer_id());

        eventually_within("A connected to the bootnode", DISCOVERY_WAIT, POLL, || {
            connected(&a, ib)
        })
        .await;
        eventually_within(
            "A learnt the other chain's record",
            DISCOVERY_WAIT,
            POLL,
            || async {
                a.discovery_table()
                    .iter()
                    .any(|e| e.node_id() == other_enr.node_id())
            },
        )
        .await;
        // Several walks and connection rounds later, still not dialled either way.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(!a.discovered_peers().await.unwrap().contains(&io));
        assert!(!connected(&a, io).await);
        assert!(!connected(&other, a.local_peer_id()).await);
        assert!(!connected(&boot, io).await);
        a.stop().await;
        other.stop().await;
        boot.stop().await;
    })
    .await;
}
