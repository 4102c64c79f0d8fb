//! `opfleet-engine` against the devnet's simulated execution client: the Engine API client
//! builds and imports blocks, and the L2 client reads them back as rollup-node types.
//!
//! ```text
//!  EngineClient ──JWT──▶ SimEl A (authrpc)   FCU+attrs, getPayload, newPayload, FCU
//!  L2Client ──────────▶ SimEl A (rpc)        block refs, outputs, payloads
//!  EngineClient ──JWT──▶ SimEl B             newPayload of A's payloads: VALID, same head
//! ```

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, B256, Bytes, keccak256},
    rpc::types::engine::{ForkchoiceState, PayloadStatusEnum},
};
use jsonrpsee::{core::client::ClientT, http_client::HttpClientBuilder, rpc_params};
use opfleet_engine::{
    EngineClient, JwtSecret, L2Client, PayloadForGossip, PayloadVersion, topic_fork_times,
};
use opfleet_protocol::{
    BlockId, ChainId,
    config::{Genesis, HardForkTimes, RollupConfig},
    output_root::L2_TO_L1_MESSAGE_PASSER_ADDRESS,
    p2p::BlockTopicVersion,
};
use opfleet_tests::el::{
    self, ChainSpec, ForkSchedule, GenesisConfig, MESSAGE_PASSER, SimEl, SimElConfig, SimElHandle,
    fixtures::{attributes, l1_info_tx, test_signed_tx, user_deposit},
};
use serde_json::Value;

const CHAIN: ChainId = ChainId(901);
const GENESIS_TIME: u64 = 1_000;
const BLOCK_TIME: u64 = 2;
/// The L1 block the rollup config names as the genesis L1 anchor.
const GENESIS_L1: BlockId = BlockId {
    hash: B256::repeat_byte(0x1a),
    number: 4,
};

fn sim_secret() -> el::JwtSecret {
    el::JwtSecret::new([0x42; 32])
}

fn secret() -> JwtSecret {
    JwtSecret::from_hex(&sim_secret().to_hex()).unwrap()
}

async fn spawn(forks: ForkSchedule) -> SimElHandle {
    let spec = ChainSpec::new(CHAIN, GenesisConfig::new(CHAIN, GENESIS_TIME), forks);
    SimEl::spawn(SimElConfig::local(spec, sim_secret()))
        .await
        .unwrap()
}

/// The rollup config a rollup node would have for the simulated chain: Holocene and everything
/// before it from genesis, Isthmus and Jovian as the schedule says.
fn rollup_config(el: &SimElHandle, forks: ForkSchedule) -> RollupConfig {
    let genesis = el.genesis();
    RollupConfig {
        genesis: Genesis {
            l1: GENESIS_L1,
            l2: genesis.id(),
            l2_time: GENESIS_TIME,
            system_config: Default::default(),
        },
        block_time: BLOCK_TIME,
        l2_chain_id: CHAIN,
        hardforks: HardForkTimes {
            regolith_time: Some(0),
            canyon_time: Some(0),
            delta_time: Some(0),
            ecotone_time: Some(0),
            fjord_time: Some(0),
            granite_time: Some(0),
            holocene_time: Some(0),
            isthmus_time: forks.isthmus_time,
            jovian_time: forks.jovian_time,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn forkchoice(head: B256) -> ForkchoiceState {
    ForkchoiceState {
        head_block_hash: head,
        safe_block_hash: head,
        finalized_block_hash: B256::ZERO,
    }
}

/// What one built block's attributes carried.
#[derive(Clone, Copy, Debug)]
struct Built {
    hash: B256,
    l1_number: u64,
    sequence_number: u64,
}

/// Builds `count` blocks on `el` through the Engine API: two per L1 origin, so sequence numbers
/// run 0, 1, 0, 1... Each block carries a deposit to the message passer and a user transaction.
async fn build_chain(
    el: &SimElHandle,
    config: &RollupConfig,
    forks: ForkSchedule,
    count: u64,
) -> Vec<Built> {
    let engine = EngineClient::new(&el.engine_url(), secret()).unwrap();
    let mut parent = el.genesis().hash;
    let mut built = Vec::new();
    for n in 1..=count {
        let timestamp = GENESIS_TIME + n * BLOCK_TIME;
        let fork = forks.fork_at(timestamp);
        let (l1_number, sequence_number) = (10 + (n - 1) / 2, (n - 1) % 2);
        let txs = vec![
            l1_info_tx(fork, l1_number, sequence_number, 0),
            user_deposit(
                B256::with_last_byte(n as u8),
                0,
                Address::repeat_byte(5),
                MESSAGE_PASSER,
                Bytes::from(vec![n as u8; 4]),
            ),
            test_signed_tx(CHAIN.get(), n - 1, Address::repeat_byte(7), Bytes::new()),
        ];
        let updated = engine
            .forkchoice_updated(forkchoice(parent), Some(attributes(fork, timestamp, txs)))
            .await
            .unwrap();
        assert_eq!(updated.payload_status.status, PayloadStatusEnum::Valid);
        let id = updated.payload_id.expect("a payload id for attributes");
        let envelope = engine
            .get_payload(id, PayloadVersion::at(config, timestamp))
            .await
            .unwrap();
        let hash = envelope.execution_payload.block_hash();
        let status = engine.new_payload(&envelope).await.unwrap();
        assert_eq!(status.status, PayloadStatusEnum::Valid, "block {n}");
        let updated = engine
            .forkchoice_updated(forkchoice(hash), None)
            .await
            .unwrap();
        assert_eq!(updated.payload_status.status, PayloadStatusEnum::Valid);
        assert_eq!(el.head().hash, hash, "block {n} is the head");
        built.push(Built {
            hash,
            l1_number,
            sequence_number,
        });
        parent = hash;
    }
    built
}

const SCHEDULES: [(ForkSchedule, BlockTopicVersion); 3] = [
    (ForkSchedule::holocene(), BlockTopicVersion::V3),
    (ForkSchedule::isthmus(), BlockTopicVersion::V4),
    (ForkSchedule::jovian(), BlockTopicVersion::V4),
];

#[tokio::test]
async fn payloads_built_through_the_engine_client_land_in_the_execution_client() {
    for (forks, _) in SCHEDULES {
        let el = spawn(forks).await;
        let config = rollup_config(&el, forks);
        let engine = EngineClient::new(&el.engine_url(), secret()).unwrap();
        let caps = engine
            .exchange_capabilities(vec!["engine_forkchoiceUpdatedV3".into()])
            .await
            .unwrap();
        assert!(caps.iter().any(|m| m == "engine_newPayloadV4"), "{caps:?}");

        let built = build_chain(&el, &config, forks, 3).await;
        for (i, b) in built.iter().enumerate() {
            let block = el.block_by_number(i as u64 + 1).unwrap();
            assert_eq!(block.hash, b.hash);
            assert_eq!(block.block.body.transactions.len(), 3);
        }
        el.stop().await;
    }
}

#[tokio::test]
async fn a_wrong_jwt_secret_is_an_auth_error() {
    let el = spawn(ForkSchedule::isthmus()).await;
    let config = rollup_config(&el, ForkSchedule::isthmus());
    let wrong = JwtSecret::new([0x43; 32]);
    let engine = EngineClient::new(&el.engine_url(), wrong.clone()).unwrap();
    let err = engine
        .forkchoice_updated(forkchoice(el.genesis().hash), None)
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert!(err.is_transport(), "{err}");
    assert_eq!(err.rpc_code(), None);

    // The eth namespace on the authenticated listener refuses it the same way.
    let l2 = L2Client::new_authenticated(&el.engine_url(), wrong, &config).unwrap();
    let err = l2
        .block_ref_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap_err();
    assert!(err.is_transport() && !err.is_invalid(), "{err}");

    // The right secret on the same listener works.
    let l2 = L2Client::new_authenticated(&el.engine_url(), secret(), &config).unwrap();
    assert_eq!(l2.chain_id().await.unwrap(), CHAIN.get());
    el.stop().await;
}

#[tokio::test]
async fn block_refs_carry_the_l1_origin_and_sequence_number_of_the_attributes() {
    let forks = ForkSchedule::isthmus();
    let el = spawn(forks).await;
    let config = rollup_config(&el, forks);
    let built = build_chain(&el, &config, forks, 4).await;
    let l2 = L2Client::new(&el.rpc_url(), &config).unwrap();

    let mut parent = el.genesis().hash;
    for (i, b) in built.iter().enumerate() {
        let number = i as u64 + 1;
        let r = l2
            .block_ref_by_number(BlockNumberOrTag::Number(number))
            .await
            .unwrap()
            .expect("block exists");
        assert_eq!(r.hash, b.hash);
        assert_eq!(r.number, number);
        assert_eq!(r.parent_hash, parent);
        assert_eq!(r.timestamp, GENESIS_TIME + number * BLOCK_TIME);
        // The fixtures' L1 origin hash is the number, left-padded.
        assert_eq!(
            r.l1_origin,
            BlockId {
                hash: B256::left_padding_from(&b.l1_number.to_be_bytes()),
                number: b.l1_number,
            }
        );
        assert_eq!(r.sequence_number, b.sequence_number);
        assert_eq!(l2.block_ref_by_hash(b.hash).await.unwrap(), Some(r));
        parent = b.hash;
    }

    let latest = l2
        .block_ref_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.hash, built[3].hash);

    let genesis = l2
        .block_ref_by_number(BlockNumberOrTag::Number(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(genesis.hash, el.genesis().hash);
    assert_eq!(genesis.l1_origin, GENESIS_L1);
    assert_eq!(genesis.sequence_number, 0);

    assert_eq!(
        l2.block_ref_by_number(BlockNumberOrTag::Number(99))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        l2.block_ref_by_hash(B256::repeat_byte(0xee)).await.unwrap(),
        None
    );
    el.stop().await;
}

/// A raw JSON-RPC call, read as plain JSON: an account of the chain independent of our types.
async fn raw(url: &str, method: &str, params: jsonrpsee::core::params::ArrayParams) -> Value {
    HttpClientBuilder::default()
        .build(url)
        .unwrap()
        .request(method, params)
        .await
        .unwrap()
}

fn b256(v: &Value) -> B256 {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn output_at_block_is_output_root_v0_of_state_storage_and_block_hash() {
    let forks = ForkSchedule::isthmus();
    let el = spawn(forks).await;
    let config = rollup_config(&el, forks);
    build_chain(&el, &config, forks, 3).await;
    let l2 = L2Client::new(&el.rpc_url(), &config).unwrap();
    let url = el.rpc_url();

    let mut storage_roots = Vec::new();
    for number in 0..=3u64 {
        let out = l2.output_at_block(number).await.unwrap().expect("block");
        let tag = format!("0x{number:x}");
        let block = raw(&url, "eth_getBlockByNumber", rpc_params![tag, false]).await;
        let hash = b256(&block["hash"]);
        let state_root = b256(&block["stateRoot"]);
        let proof = raw(
            &url,
            "eth_getProof",
            rpc_params![L2_TO_L1_MESSAGE_PASSER_ADDRESS, Vec::<B256>::new(), hash],
        )
        .await;
        let storage_hash = b256(&proof["storageHash"]);

        let mut preimage = [0u8; 128];
        preimage[32..64].copy_from_slice(state_root.as_slice());
        preimage[64..96].copy_from_slice(storage_hash.as_slice());
        preimage[96..128].copy_from_slice(hash.as_slice());
        assert_eq!(out.output_root, keccak256(preimage), "block {number}");
        assert_eq!(out.block.hash, hash);
        assert_eq!(out.state_root, state_root);
        assert_eq!(out.message_passer_storage_root, storage_hash);
        // Isthmus headers commit to the same root as their withdrawals root.
        assert_eq!(b256(&block["withdrawalsRoot"]), storage_hash);
        storage_roots.push(storage_hash);
    }
    // Each block's deposit to the message passer moved its storage root.
    storage_roots.dedup();
    assert_eq!(storage_roots.len(), 4, "{storage_roots:?}");
    assert_eq!(l2.output_at_block(4).await.unwrap(), None);
    el.stop().await;
}

#[tokio::test]
async fn payload_by_number_round_trips_into_another_execution_client() {
    for (forks, version) in SCHEDULES {
        let a = spawn(forks).await;
        let b = spawn(forks).await;
        let config = rollup_config(&a, forks);
        let built = build_chain(&a, &config, forks, 3).await;
        let l2 = L2Client::new(&a.rpc_url(), &config).unwrap();
        let engine_b = EngineClient::new(&b.engine_url(), secret()).unwrap();
        assert_eq!(
            topic_fork_times(&config).version_at(GENESIS_TIME + BLOCK_TIME),
            version
        );

        for (i, built) in built.iter().enumerate() {
            let number = i as u64 + 1;
            let PayloadForGossip {
                version: got,
                envelope,
            } = l2.payload_by_number(number).await.unwrap().expect("block");
            assert_eq!(got, version, "{forks:?} block {number}");
            assert_eq!(envelope.execution_payload.block_hash(), built.hash);
            assert_eq!(
                envelope.execution_payload.block_hash(),
                a.block_by_number(number).unwrap().hash
            );
            let status = engine_b.new_payload(&envelope).await.unwrap();
            assert_eq!(
                status.status,
                PayloadStatusEnum::Valid,
                "{forks:?} block {number}"
            );
            assert_eq!(status.latest_valid_hash, Some(built.hash));
        }
        let head = built[2].hash;
        let updated = engine_b
            .forkchoice_updated(forkchoice(head), None)
            .await
            .unwrap();
        assert_eq!(updated.payload_status.status, PayloadStatusEnum::Valid);
        assert_eq!(b.head().hash, head);
        assert_eq!(l2.payload_by_number(4).await.unwrap(), None);
        a.stop().await;
        b.stop().await;
    }
}
