//! The devnet starts, writes its endpoints file, and every endpoint in it answers over the
//! wire: L1 JSON-RPC, beacon API, each chain's Engine API (with the JWT from the file) and eth
//! RPC, its rollup.json, and its sequencer's libp2p gossip and payload_by_number.

mod devnet_support;

use std::time::Duration;

use alloy::primitives::B256;
use devnet_support::*;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::rpc_params;
use libp2p::PeerId;
use libp2p::multiaddr::Protocol;
use op_alloy_rpc_types_engine::OpNetworkPayloadEnvelope;
use opfleet_protocol::ChainId;
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::p2p::BlockTopicVersion;
use opfleet_tests::devnet::NodeKind;
use opfleet_tests::el::JwtSecret;
use opfleet_tests::el::jwt::unix_now;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn world_starts_and_every_endpoint_answers() {
    let net = start(config("world", 2)).await;
    let e = net.endpoints.clone();
    assert_eq!(
        e.chains.iter().map(|c| c.chain_id).collect::<Vec<_>>(),
        vec![ChainId(901), ChainId(902)]
    );
    assert!(e.supernodes.is_empty() && e.followers.is_empty());
    let names: Vec<_> = e.nodes.iter().map(|n| (n.name.as_str(), n.kind)).collect();
    assert!(names.contains(&("sequencer-901", NodeKind::Sequencer)));
    assert!(names.contains(&("batcher-902", NodeKind::Batcher)));

    // L1 JSON-RPC and beacon API.
    assert_eq!(
        quantity(&call(&e.l1, "eth_chainId", rpc_params![]).await),
        900
    );
    let genesis: Value = reqwest::get(format!("{}/eth/v1/beacon/genesis", e.beacon))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(genesis["data"]["genesis_time"].is_string(), "{genesis}");

    for chain in &e.chains {
        // The Engine API takes the JWT from the file, and refuses calls without one.
        let secret =
            JwtSecret::from_hex(&std::fs::read_to_string(&chain.jwt_secret_file).unwrap()).unwrap();
        assert_eq!(secret.to_hex(), chain.jwt_secret);
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            format!("Bearer {}", secret.sign(unix_now()))
                .parse()
                .unwrap(),
        );
        let engine = HttpClientBuilder::default()
            .set_headers(headers)
            .build(&chain.el_engine)
            .unwrap();
        let id: Value = engine.request("eth_chainId", rpc_params![]).await.unwrap();
        assert_eq!(quantity(&id), chain.chain_id.get());
        let caps: Vec<String> = engine
            .request(
                "engine_exchangeCapabilities",
                rpc_params![Vec::<String>::new()],
            )
            .await
            .unwrap();
        assert!(
            caps.iter().any(|c| c == "engine_forkchoiceUpdatedV3"),
            "{caps:?}"
        );
        let anonymous: Result<Value, _> = client(&chain.el_engine)
            .request("eth_chainId", rpc_params![])
            .await;
        assert!(anonymous.is_err(), "engine answered without a JWT");

        // rollup.json is op-node's format and anchors on the execution client's genesis.
        let rollup =
            RollupConfig::from_rollup_json(&std::fs::read_to_string(&chain.rollup_config).unwrap())
                .unwrap();
        assert_eq!(rollup.l2_chain_id, chain.chain_id);
        assert_eq!(rollup.batch_inbox_address, chain.batch_inbox);
        assert_eq!(rollup.hardforks.isthmus_time, Some(0));
        assert_eq!(rollup.hardforks.interop_time, Some(0));
        let l2_genesis = block(&chain.el_rpc, 0).await;
        assert_eq!(
            l2_genesis["hash"]
                .as_str()
                .unwrap()
                .parse::<B256>()
                .unwrap(),
            rollup.genesis.l2.hash
        );
        let l1_genesis = block(&e.l1, 0).await;
        assert_eq!(
            l1_genesis["hash"]
                .as_str()
                .unwrap()
                .parse::<B256>()
                .unwrap(),
            rollup.genesis.l1.hash
        );
    }

    // P2P: a node that dials the sequencer of 901 receives signed blocks of 901.
    let chain = e.chain(ChainId(901)).unwrap();
    let node = listener(chain).await;
    let mut blocks = node.blocks();
    let got = tokio::time::timeout(Duration::from_secs(30), blocks.recv())
        .await
        .expect("no gossip block within 30 s")
        .unwrap();
    assert_eq!(got.signer, chain.unsafe_block_signer);
    // The wire form decodes with op-alloy, and its signature recovers the sequencer.
    let wire = match got.version {
        BlockTopicVersion::V3 => got.envelope.encode_v3().unwrap(),
        BlockTopicVersion::V4 => got.envelope.encode_v4().unwrap(),
        v => panic!("unexpected topic version {v:?} for an Isthmus chain"),
    };
    assert_eq!(got.version, BlockTopicVersion::V4);
    let decoded = OpNetworkPayloadEnvelope::decode_v4(&wire).unwrap();
    let message = decoded.payload_hash.signature_message(chain.chain_id.get());
    let signer = decoded
        .signature
        .recover_address_from_prehash(&message)
        .unwrap();
    assert_eq!(signer, chain.unsafe_block_signer);
    let number = decoded.payload.block_number();
    let on_el = block(&chain.el_rpc, number).await;
    assert_eq!(
        on_el["hash"].as_str().unwrap().parse::<B256>().unwrap(),
        decoded.payload.block_hash()
    );

    // payload_by_number answers with the canonical block.
    let peer = chain
        .sequencer_p2p
        .parse::<libp2p::Multiaddr>()
        .unwrap()
        .iter()
        .find_map(|p| match p {
            Protocol::P2p(id) => Some(id),
            _ => None,
        })
        .unwrap();
    let peer: PeerId = peer;
    let answer = node
        .request_payload(peer, number, BlockTopicVersion::V4)
        .await
        .unwrap();
    assert_eq!(
        answer.execution_payload.block_hash(),
        decoded.payload.block_hash()
    );

    node.stop().await;
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jovian_calldata_brotli_world() {
    use opfleet_protocol::compression::Compression;
    use opfleet_tests::batcher::DataAvailability;
    use opfleet_tests::sequencer::DevnetFork;

    let mut c = config("jovian", 1);
    c.fork = DevnetFork::Jovian;
    c.da = DataAvailability::calldata();
    c.compression = Compression::Brotli { level: 10 };
    c.interop = false;
    let net = start(c).await;
    let chain = net.endpoints.chains[0].clone();
    let rollup =
        RollupConfig::from_rollup_json(&std::fs::read_to_string(&chain.rollup_config).unwrap())
            .unwrap();
    assert_eq!(rollup.hardforks.jovian_time, Some(0));
    assert_eq!(rollup.hardforks.interop_time, None);
    assert!(rollup.genesis.system_config.min_base_fee.is_some());

    // Batches arrive as calldata transactions carrying derivation version 0.
    let l1 = net.endpoints.l1.clone();
    let tx = eventually("a calldata batch", Duration::from_secs(40), || async {
        let head = block_number(&l1).await;
        for n in 1..=head {
            let b = block(&l1, n).await;
            let found = b["transactions"].as_array().and_then(|txs| {
                txs.iter()
                    .find(|t| {
                        t["to"].as_str().and_then(|s| s.parse().ok()) == Some(chain.batch_inbox)
                    })
                    .cloned()
            });
            if found.is_some() {
                return found;
            }
        }
        None
    })
    .await;
    assert_eq!(tx["type"], "0x2", "{tx}");
    assert!(tx["input"].as_str().unwrap().starts_with("0x00"), "{tx}");

    // Jovian blocks still go out on the V4 topic.
    let node = listener(&chain).await;
    let got = tokio::time::timeout(Duration::from_secs(30), node.blocks().recv())
        .await
        .expect("no gossip block within 30 s")
        .unwrap();
    assert_eq!(got.version, BlockTopicVersion::V4);
    OpNetworkPayloadEnvelope::decode_v4(&got.envelope.encode_v4().unwrap()).unwrap();
    node.stop().await;
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_blobs_are_pruned_recent_ones_served() {
    let mut c = config("prune", 1);
    c.l1_blob_retention = Some(10);
    let net = start(c).await;
    let l1 = net.endpoints.l1.clone();
    let beacon = net.endpoints.beacon.clone();
    let inbox = net.endpoints.chains[0].batch_inbox;
    let sidecars = |n: u64| {
        let url = format!("{beacon}/eth/v1/beacon/blob_sidecars/{n}");
        async move {
            let v: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
            v["data"].as_array().map_or(0, Vec::len)
        }
    };
    // The first L1 block with a blob batch, and its sidecars while it is recent.
    let (number, served) = eventually("a blob batch", Duration::from_secs(40), || async {
        let head = block_number(&l1).await;
        for n in 1..=head {
            let b = block(&l1, n).await;
            let has = b["transactions"].as_array().is_some_and(|txs| {
                txs.iter().any(|t| {
                    t["to"].as_str().and_then(|s| s.parse().ok()) == Some(inbox)
                        && t["type"] == "0x3"
                })
            });
            if has {
                return Some((n, sidecars(n).await));
            }
        }
        None
    })
    .await;
    assert!(served > 0, "block {number} serves no sidecars while recent");
    eventually("the blob pruned", Duration::from_secs(40), || async {
        (sidecars(number).await == 0).then_some(())
    })
    .await;
    assert!(block_number(&l1).await >= number + 10);
    net.stop().await;
}
