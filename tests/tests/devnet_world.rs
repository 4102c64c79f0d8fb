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
