//! The simulated execution client driven over real HTTP with real JWTs, as a consensus client
//! would drive it.

mod engine_support;

use std::net::SocketAddr;

use engine_support::*;

use alloy::{
    consensus::EMPTY_ROOT_HASH,
    primitives::{Address, B256, Bytes, LogData, address},
    rpc::types::engine::{ForkchoiceState, ForkchoiceUpdated, PayloadStatus, PayloadStatusEnum},
};
use jsonrpsee::{core::client::ClientT, http_client::HttpClient, rpc_params};
use op_alloy_rpc_types_engine::{OpExecutionPayloadEnvelopeV4, OpPayloadAttributes};
use opfleet_protocol::ChainId;
use opfleet_tests::el::{
    ChainSpec, Fork, ForkSchedule, GenesisConfig, JwtSecret, MESSAGE_PASSER, SimEl, SimElConfig,
    SimElHandle, encode_sim_logs,
    fixtures::{attributes, l1_info_tx, test_signed_tx, user_deposit},
    jwt::unix_now,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CROSS_L2_INBOX: Address = address!("0x4200000000000000000000000000000000000022");

fn secret() -> JwtSecret {
    JwtSecret::new([0x42; 32])
}

fn spec(forks: ForkSchedule) -> ChainSpec {
    ChainSpec::new(ChainId(901), GenesisConfig::new(ChainId(901), 1_000), forks)
}

async fn spawn(forks: ForkSchedule) -> SimElHandle {
    SimEl::spawn(SimElConfig::local(spec(forks), secret()))
        .await
        .unwrap()
}

/// `head` as head and safe, finalized zero.
fn fcs(head: B256) -> ForkchoiceState {
    ForkchoiceState {
        head_block_hash: head,
        safe_block_hash: head,
        finalized_block_hash: B256::ZERO,
    }
}

/// Forkchoice to [`fcs`]`(head)`.
async fn fcu(c: &HttpClient, head: B256, attrs: Option<OpPayloadAttributes>) -> ForkchoiceUpdated {
    forkchoice_updated(c, head, head, attrs).await
}

async fn build(
    c: &HttpClient,
    parent: B256,
    attrs: OpPayloadAttributes,
) -> OpExecutionPayloadEnvelopeV4 {
    let id = fcu(c, parent, Some(attrs))
        .await
        .payload_id
        .expect("a payload id");
    get_payload(c, id).await
}

/// Transactions of a realistic block: L1 info, a withdrawal-initiating deposit, and a user tx
/// whose receipt carries an event from the CrossL2Inbox.
fn interesting_txs(fork: Fork) -> (Vec<Bytes>, alloy::primitives::Log) {
    let log = alloy::primitives::Log {
        address: CROSS_L2_INBOX,
        data: LogData::new_unchecked(vec![B256::repeat_byte(0xee)], Bytes::from_static(b"msg")),
    };
    let txs = vec![
        l1_info_tx(fork, 1, 0, 0),
        user_deposit(
            B256::ZERO,
            3,
            Address::repeat_byte(5),
            MESSAGE_PASSER,
            Bytes::new(),
        ),
        test_signed_tx(
            901,
            0,
            CROSS_L2_INBOX,
            encode_sim_logs(std::slice::from_ref(&log)).unwrap(),
        ),
    ];
    (txs, log)
}

#[tokio::test]
async fn payload_built_on_one_instance_is_valid_on_another() {
    let (a, b) = (
        spawn(ForkSchedule::isthmus()).await,
        spawn(ForkSchedule::isthmus()).await,
    );
    assert_eq!(a.genesis().hash, b.genesis().hash);
    let (ca, cb) = (engine(&a, &secret()), engine(&b, &secret()));
    let caps: Vec<String> = ca
        .request(
            "engine_exchangeCapabilities",
            rpc_params![vec!["engine_newPayloadV4"]],
        )
        .await
        .unwrap();
    assert!(caps.iter().any(|m| m == "engine_forkchoiceUpdatedV3"));

    let genesis = a.genesis().hash;
    let (txs, _) = interesting_txs(Fork::Isthmus);
    let env = build(&ca, genesis, attributes(Fork::Isthmus, 1_002, txs)).await;
    let hash = block_hash(&env);

    let status = new_payload(&cb, &env).await;
    assert_eq!(
        status,
        PayloadStatus::new(PayloadStatusEnum::Valid, Some(hash))
    );
    assert_eq!(
        new_payload(&ca, &env).await.status,
        PayloadStatusEnum::Valid
    );
    for (el, c) in [(&a, &ca), (&b, &cb)] {
        let updated = fcu(c, hash, None).await;
        assert_eq!(updated.payload_status.status, PayloadStatusEnum::Valid);
        assert_eq!(el.head().hash, hash);
    }
    // The same attributes on the other instance build the same block.
    let (txs, _) = interesting_txs(Fork::Isthmus);
    let again = build(&cb, genesis, attributes(Fork::Isthmus, 1_002, txs)).await;
    assert_eq!(again, env);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn tampered_hash_is_invalid_and_unknown_parent_is_syncing() {
    let (a, b) = (
        spawn(ForkSchedule::isthmus()).await,
        spawn(ForkSchedule::isthmus()).await,
    );
    let (ca, cb) = (engine(&a, &secret()), engine(&b, &secret()));
    let genesis = a.genesis().hash;
    let env1 = build(&ca, genesis, attributes(Fork::Isthmus, 1_002, vec![])).await;
    assert_eq!(
        new_payload(&ca, &env1).await.status,
        PayloadStatusEnum::Valid
    );
    let env2 = build(
        &ca,
        block_hash(&env1),
        attributes(Fork::Isthmus, 1_004, vec![]),
    )
    .await;

    // Block 2 on an instance that never saw block 1.
    let status = new_payload(&cb, &env2).await;
    assert_eq!(
        status,
        PayloadStatus::from_status(PayloadStatusEnum::Syncing)
    );

    let mut tampered = env1.clone();
    tampered
        .execution_payload
        .payload_inner
        .payload_inner
        .payload_inner
        .block_hash = B256::repeat_byte(1);
    let status = new_payload(&cb, &tampered).await;
    assert!(status.is_invalid(), "{status:?}");
    assert!(matches!(
        status.status,
        PayloadStatusEnum::Invalid { ref validation_error } if validation_error.contains("hash")
    ));

    // A self-consistent header whose contents do not match re-execution is invalid too.
    let mut wrong_state = env1.clone();
    let inner = &mut wrong_state
        .execution_payload
        .payload_inner
        .payload_inner
        .payload_inner;
    inner.state_root = B256::repeat_byte(2);
    let block = wrong_state
        .execution_payload
        .clone()
        .into_block_raw()
        .map(|mut blk| {
            blk.header.parent_beacon_block_root = Some(wrong_state.parent_beacon_block_root);
            blk.header.requests_hash = Some(alloy::eips::eip7685::EMPTY_REQUESTS_HASH);
            blk
        })
        .unwrap();
    wrong_state
        .execution_payload
        .payload_inner
        .payload_inner
        .payload_inner
        .block_hash = block.header.hash_slow();
    let status = new_payload(&cb, &wrong_state).await;
    assert!(
        matches!(
            status.status,
            PayloadStatusEnum::Invalid { ref validation_error } if validation_error.contains("stateRoot")
        ),
        "{status:?}"
    );
    assert_eq!(status.latest_valid_hash, Some(genesis));

    // Forkchoice to a head it does not know.
    let updated = fcu(&cb, block_hash(&env2), None).await;
    assert_eq!(updated.payload_status.status, PayloadStatusEnum::Syncing);
    assert_eq!(b.head().hash, genesis);

    // Unknown payload id and the wrong method version are JSON-RPC errors.
    let err = cb
        .request::<Value, _>("engine_getPayloadV4", rpc_params!["0x0000000000000001"])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("-38001"), "{err}");
    let id = fcu(&ca, genesis, Some(attributes(Fork::Isthmus, 1_002, vec![])))
        .await
        .payload_id;
    let err = ca
        .request::<Value, _>("engine_getPayloadV3", rpc_params![id])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("-38005"), "{err}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn reorg_to_another_known_branch() {
    let a = spawn(ForkSchedule::isthmus()).await;
    let c = engine(&a, &secret());
    let genesis = a.genesis().hash;
    let x = build(&c, genesis, attributes(Fork::Isthmus, 1_002, vec![])).await;
    let mut other = attributes(Fork::Isthmus, 1_002, vec![]);
    other.payload_attributes.prev_randao = B256::repeat_byte(0xaa);
    let y = build(&c, genesis, other).await;
    assert_ne!(block_hash(&x), block_hash(&y));
    for env in [&x, &y] {
        assert_eq!(new_payload(&c, env).await.status, PayloadStatusEnum::Valid);
    }
    fcu(&c, block_hash(&x), None).await;
    assert_eq!(a.block_by_number(1).unwrap().hash, block_hash(&x));
    fcu(&c, block_hash(&y), None).await;
    assert_eq!(a.block_by_number(1).unwrap().hash, block_hash(&y));
    a.stop().await;
}

async fn raw_status(addr: SocketAddr, authorization: Option<String>) -> String {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(a) = authorization {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    text.lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn engine_requires_a_fresh_valid_jwt() {
    let a = spawn(ForkSchedule::isthmus()).await;
    let addr = a.engine_addr();
    let now = unix_now();
    let bearer = |t: String| Some(format!("Bearer {t}"));
    assert!(
        raw_status(addr, bearer(secret().sign(now)))
            .await
            .contains(" 200")
    );
    for (what, auth) in [
        ("missing", None),
        ("expired", bearer(secret().sign(now - 120))),
        ("future", bearer(secret().sign(now + 120))),
        ("wrong secret", bearer(JwtSecret::new([1; 32]).sign(now))),
        ("garbage", bearer("not.a.token".into())),
    ] {
        let status = raw_status(addr, auth).await;
        assert!(status.contains(" 401"), "{what}: {status}");
    }
    // The open RPC port needs no token.
    assert!(raw_status(a.rpc_addr(), None).await.contains(" 200"));
    a.stop().await;
}

#[tokio::test]
async fn eth_namespace_serves_what_a_consensus_client_reads() {
    let a = spawn(ForkSchedule::isthmus()).await;
    let c = engine(&a, &secret());
    let rpc = client(a.rpc_url(), None);
    let (txs, log) = interesting_txs(Fork::Isthmus);
    let env = build(&c, a.genesis().hash, attributes(Fork::Isthmus, 1_002, txs)).await;
    let hash = block_hash(&env);
    new_payload(&c, &env).await;
    fcu(&c, hash, None).await;

    let chain_id: String = rpc.request("eth_chainId", rpc_params![]).await.unwrap();
    assert_eq!(chain_id, "0x385");
    let syncing: bool = rpc.request("eth_syncing", rpc_params![]).await.unwrap();
    assert!(!syncing);

    // The header hash is keccak256 of the RLP of the header the JSON describes.
    let block: Value = rpc
        .request("eth_getBlockByNumber", rpc_params!["latest", true])
        .await
        .unwrap();
    let header: alloy::rpc::types::Header = serde_json::from_value(block.clone()).unwrap();
    assert_eq!(header.hash, hash);
    assert_eq!(header.inner.hash_slow(), hash);
    assert_eq!(block["transactions"].as_array().map(Vec::len), Some(3));
    assert_eq!(block["transactions"][0]["type"], "0x7e");
    // A typed OP client (kona, alloy) reads the full block back and re-derives the tx root.
    let typed: alloy::rpc::types::Block<op_alloy_rpc_types::Transaction> =
        serde_json::from_value(block.clone()).unwrap();
    let txs: Vec<op_alloy_consensus::OpTxEnvelope> = typed
        .transactions
        .into_transactions()
        .map(|tx| tx.inner.inner.into_inner())
        .collect();
    assert_eq!(
        alloy::consensus::proofs::calculate_transaction_root(&txs),
        header.inner.transactions_root
    );
    let by_hash: Value = rpc
        .request("eth_getBlockByHash", rpc_params![hash, false])
        .await
        .unwrap();
    assert_eq!(by_hash["hash"], block["hash"]);
    for tag in ["safe", "earliest", "finalized"] {
        let b: Value = rpc
            .request("eth_getBlockByNumber", rpc_params![tag, false])
            .await
            .unwrap();
        assert_eq!(
            b["number"],
            if tag == "safe" { "0x1" } else { "0x0" },
            "{tag}"
        );
    }
    let missing: Value = rpc
        .request("eth_getBlockByNumber", rpc_params!["0x9", false])
        .await
        .unwrap();
    assert!(missing.is_null());

    // Receipts: deposit nonce on deposits, the encoded event on the user tx.
    let receipts: Value = rpc
        .request("eth_getBlockReceipts", rpc_params!["latest"])
        .await
        .unwrap();
    let typed: Vec<op_alloy_rpc_types::OpTransactionReceipt> =
        serde_json::from_value(receipts.clone()).unwrap();
    let envelopes: Vec<op_alloy_consensus::OpReceiptEnvelope> = typed
        .into_iter()
        .map(op_alloy_consensus::OpReceiptEnvelope::from)
        .collect();
    assert_eq!(
        alloy::consensus::proofs::calculate_receipt_root(&envelopes),
        header.inner.receipts_root
    );
    assert_eq!(receipts[1]["depositNonce"], "0x0");
    assert_eq!(receipts[1]["depositReceiptVersion"], "0x1");
    let logs = &receipts[2]["logs"];
    assert_eq!(
        logs[0]["address"],
        serde_json::to_value(log.address).unwrap()
    );
    assert_eq!(
        logs[0]["topics"][0],
        serde_json::to_value(log.data.topics()[0]).unwrap()
    );
    assert_eq!(logs[0]["logIndex"], "0x0");
    let tx_hash = receipts[2]["transactionHash"].clone();
    let receipt: Value = rpc
        .request("eth_getTransactionReceipt", rpc_params![tx_hash.clone()])
        .await
        .unwrap();
    assert_eq!(receipt, receipts[2]);
    let tx: Value = rpc
        .request("eth_getTransactionByHash", rpc_params![tx_hash])
        .await
        .unwrap();
    assert_eq!(tx["blockHash"], serde_json::to_value(hash).unwrap());

    // eth_getProof's storage hash of the message passer is the Isthmus withdrawals root, also
    // over the authenticated engine endpoint, which a consensus client uses for everything.
    let proof: Value = c
        .request(
            "eth_getProof",
            rpc_params![MESSAGE_PASSER, Vec::<B256>::new(), hash],
        )
        .await
        .unwrap();
    let storage_hash: B256 = serde_json::from_value(proof["storageHash"].clone()).unwrap();
    assert_eq!(Some(storage_hash), header.inner.withdrawals_root);
    assert_ne!(storage_hash, EMPTY_ROOT_HASH);
    // And the account proof verifies against the state root, as op-node checks it.
    let proof: alloy::rpc::types::EIP1186AccountProofResponse =
        serde_json::from_value(proof).unwrap();
    let account = alloy::trie::TrieAccount {
        nonce: proof.nonce,
        balance: proof.balance,
        storage_root: proof.storage_hash,
        code_hash: proof.code_hash,
    };
    alloy::trie::proof::verify_proof(
        header.inner.state_root,
        alloy::trie::Nibbles::unpack(alloy::primitives::keccak256(MESSAGE_PASSER)),
        Some(alloy::rlp::encode(account)),
        &proof.account_proof,
    )
    .unwrap();
    let genesis_proof: Value = rpc
        .request(
            "eth_getProof",
            rpc_params![MESSAGE_PASSER, Vec::<B256>::new(), "earliest"],
        )
        .await
        .unwrap();
    assert_eq!(
        genesis_proof["storageHash"],
        serde_json::to_value(EMPTY_ROOT_HASH).unwrap()
    );
    a.stop().await;
}

#[tokio::test]
async fn jovian_headers_carry_min_base_fee_and_da_footprint() {
    let a = spawn(ForkSchedule::jovian()).await;
    let c = engine(&a, &secret());
    let (txs, _) = interesting_txs(Fork::Jovian);
    let env = build(&c, a.genesis().hash, attributes(Fork::Jovian, 1_002, txs)).await;
    let inner = &env.execution_payload.payload_inner;
    assert_eq!(inner.payload_inner.payload_inner.extra_data.len(), 17);
    assert!(inner.blob_gas_used > 0);
    assert_eq!(new_payload(&c, &env).await.status, PayloadStatusEnum::Valid);
    // Jovian attributes must carry minBaseFee.
    let mut attrs = attributes(Fork::Jovian, 1_002, vec![]);
    attrs.min_base_fee = None;
    let err = c
        .request::<Value, _>(
            "engine_forkchoiceUpdatedV3",
            rpc_params![fcs(a.genesis().hash), attrs],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("-38003"), "{err}");
    a.stop().await;
}

#[tokio::test]
async fn holocene_uses_v3_payloads() {
    let (a, b) = (
        spawn(ForkSchedule::holocene()).await,
        spawn(ForkSchedule::holocene()).await,
    );
    let (ca, cb) = (engine(&a, &secret()), engine(&b, &secret()));
    let (txs, _) = interesting_txs(Fork::Holocene);
    let id = fcu(
        &ca,
        a.genesis().hash,
        Some(attributes(Fork::Holocene, 1_002, txs)),
    )
    .await
    .payload_id
    .expect("a payload id");
    let err = ca
        .request::<Value, _>("engine_getPayloadV4", rpc_params![id])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("-38005"), "{err}");
    let env: op_alloy_rpc_types_engine::OpExecutionPayloadEnvelopeV3 = ca
        .request("engine_getPayloadV3", rpc_params![id])
        .await
        .unwrap();
    let hash = env.execution_payload.payload_inner.payload_inner.block_hash;
    let status: PayloadStatus = cb
        .request(
            "engine_newPayloadV3",
            rpc_params![
                &env.execution_payload,
                Vec::<B256>::new(),
                env.parent_beacon_block_root
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        status,
        PayloadStatus::new(PayloadStatusEnum::Valid, Some(hash))
    );
    assert_eq!(
        env.execution_payload
            .payload_inner
            .payload_inner
            .extra_data
            .len(),
        9,
        "Holocene extra data"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn v2_methods_answer_for_post_ecotone_blocks() {
    let a = spawn(ForkSchedule::isthmus()).await;
    let c = engine(&a, &secret());
    let genesis = a.genesis().hash;
    let updated: ForkchoiceUpdated = c
        .request("engine_forkchoiceUpdatedV2", rpc_params![fcs(genesis)])
        .await
        .unwrap();
    assert_eq!(updated.payload_status.status, PayloadStatusEnum::Valid);
    let attrs = attributes(Fork::Isthmus, 1_002, vec![]);
    let err = c
        .request::<Value, _>(
            "engine_forkchoiceUpdatedV2",
            rpc_params![fcs(genesis), &attrs],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("-38005"), "{err}");
    let env = build(&c, genesis, attrs).await;
    let id = fcu(&c, genesis, Some(attributes(Fork::Isthmus, 1_002, vec![])))
        .await
        .payload_id;
    let err = c
        .request::<Value, _>("engine_getPayloadV2", rpc_params![id])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("-38005"), "{err}");
    let v2 = &env.execution_payload.payload_inner.payload_inner;
    let err = c
        .request::<Value, _>("engine_newPayloadV2", rpc_params![v2])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("-38005"), "{err}");
    a.stop().await;
}

#[tokio::test]
async fn websocket_on_both_listeners() {
    let a = spawn(ForkSchedule::isthmus()).await;
    let open = jsonrpsee::ws_client::WsClientBuilder::default()
        .build(format!("ws://{}", a.rpc_addr()))
        .await
        .unwrap();
    let chain_id: String = open.request("eth_chainId", rpc_params![]).await.unwrap();
    assert_eq!(chain_id, "0x385");
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        http::HeaderValue::from_str(&format!("Bearer {}", secret().sign(unix_now()))).unwrap(),
    );
    let authed = jsonrpsee::ws_client::WsClientBuilder::default()
        .set_headers(headers)
        .build(format!("ws://{}", a.engine_addr()))
        .await
        .unwrap();
    let updated: ForkchoiceUpdated = authed
        .request(
            "engine_forkchoiceUpdatedV3",
            rpc_params![fcs(a.genesis().hash)],
        )
        .await
        .unwrap();
    assert_eq!(updated.payload_status.status, PayloadStatusEnum::Valid);
    let unauthenticated = jsonrpsee::ws_client::WsClientBuilder::default()
        .build(format!("ws://{}", a.engine_addr()))
        .await;
    assert!(unauthenticated.is_err());
    a.stop().await;
}
