//! The clients against a tiny in-test HTTP server that answers with fixtures: what a consensus
//! client must do with the answers a real execution client gives, good or bad.
//!
//! ```text
//!  EngineClient / L2Client ──HTTP──▶ fixture server: records each request's method and
//!                                    Authorization header, answers (status, body) from a closure
//! ```

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use alloy::consensus::Header;
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{B256, Bytes};
use alloy::rpc::types::engine::ForkchoiceState;
use alloy::rpc::types::{BlockTransactions, Header as RpcHeader};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use opfleet_engine::{
    BlockCheckError, EngineClient, JwtSecret, L2Client, L2ClientError, OpRpcBlock, RpcError,
};
use opfleet_protocol::config::RollupConfig;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    params: Value,
    authorization: Option<String>,
}

type Answer = Arc<dyn Fn(&Seen) -> (u16, String) + Send + Sync>;

/// Serves HTTP/1.1 JSON-RPC on a free port until the test ends; returns its URL and the log.
async fn serve(answer: Answer) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (answer, seen) = (answer.clone(), seen.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then as many body bytes as content-length says.
                let (head_end, body_len) = loop {
                    let n = socket.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "client closed before a full request");
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map(|v| v.trim().parse::<usize>().unwrap())
                            .unwrap_or(0);
                        break (i + 4, len);
                    }
                };
                while buf.len() < head_end + body_len {
                    let n = socket.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let authorization = head.lines().find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("authorization")
                        .then(|| value.trim().to_string())
                });
                let request: Value =
                    serde_json::from_slice(&buf[head_end..head_end + body_len]).unwrap();
                let request_seen = Seen {
                    method: request["method"].as_str().unwrap().to_string(),
                    params: request["params"].clone(),
                    authorization,
                };
                let (status, body) = answer(&request_seen);
                seen.lock().unwrap().push(request_seen);
                let body = body.replace("\"$ID\"", &request["id"].to_string());
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(response.as_bytes()).await.unwrap();
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, log)
}

fn result(value: Value) -> (u16, String) {
    (
        200,
        json!({"jsonrpc": "2.0", "id": "$ID", "result": value}).to_string(),
    )
}

fn rpc_error(code: i64, message: &str) -> (u16, String) {
    (
        200,
        json!({"jsonrpc": "2.0", "id": "$ID", "error": {"code": code, "message": message}})
            .to_string(),
    )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Checks a bearer token the way an execution client does, independently of the crate.
fn check_token(secret: &JwtSecret, authorization: &str) -> u64 {
    let token = authorization.strip_prefix("Bearer ").expect("bearer token");
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap())
        .expect("HS256 signature by the shared secret");
    let (header, claims) = input.split_once('.').unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS256");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
    claims["iat"].as_u64().unwrap()
}

fn forkchoice() -> ForkchoiceState {
    ForkchoiceState {
        head_block_hash: B256::repeat_byte(1),
        safe_block_hash: B256::repeat_byte(1),
        finalized_block_hash: B256::ZERO,
    }
}

#[tokio::test]
async fn every_engine_request_carries_a_fresh_token_of_the_shared_secret() {
    let secret = JwtSecret::generate().unwrap();
    let (url, log) = serve(Arc::new(|seen: &Seen| match seen.method.as_str() {
        "engine_exchangeCapabilities" => result(json!(["engine_forkchoiceUpdatedV3"])),
        _ => result(json!({"payloadStatus": {"status": "VALID", "latestValidHash": null, "validationError": null}, "payloadId": null})),
    }))
    .await;
    let engine = EngineClient::new(&url, secret.clone()).unwrap();
    let caps = engine
        .exchange_capabilities(vec!["engine_newPayloadV4".into()])
        .await
        .unwrap();
    assert_eq!(caps, vec!["engine_forkchoiceUpdatedV3".to_string()]);
    let updated = engine.forkchoice_updated(forkchoice(), None).await.unwrap();
    assert!(updated.is_valid());

    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].params, json!([["engine_newPayloadV4"]]));
    assert_eq!(log[1].method, "engine_forkchoiceUpdatedV3");
    // Positional params: the state, then null attributes.
    assert_eq!(log[1].params.as_array().unwrap().len(), 2);
    assert_eq!(log[1].params[1], Value::Null);
    for seen in &log {
        let iat = check_token(&secret, seen.authorization.as_deref().unwrap());
        assert!(iat.abs_diff(now()) <= 5, "iat {iat} is now");
    }
}

#[tokio::test]
async fn http_and_json_rpc_failures_stay_apart() {
    let (url, _) = serve(Arc::new(|seen: &Seen| match seen.method.as_str() {
        "engine_forkchoiceUpdatedV3" => (401, "signature invalid\n".to_string()),
        "engine_getPayloadV3" => (503, "overloaded".to_string()),
        _ => rpc_error(-38003, "Invalid payload attributes"),
    }))
    .await;
    let engine = EngineClient::new(&url, JwtSecret::new([7; 32])).unwrap();

    let err = engine
        .forkchoice_updated(forkchoice(), None)
        .await
        .unwrap_err();
    assert!(err.is_unauthorized() && err.is_transport(), "{err}");
    assert!(err.to_string().contains("signature invalid"), "{err}");

    let err = engine
        .get_payload(
            alloy::rpc::types::engine::PayloadId::new([1; 8]),
            opfleet_engine::PayloadVersion::V3,
        )
        .await
        .unwrap_err();
    assert!(err.is_transport() && !err.is_unauthorized(), "{err}");
    assert!(matches!(
        err,
        opfleet_engine::EngineError::Rpc(RpcError::Http { status: 503, .. })
    ));

    let err = engine.exchange_capabilities(Vec::new()).await.unwrap_err();
    assert!(!err.is_transport());
    assert_eq!(err.rpc_code(), Some(-38003));
}

/// A consistent RPC block at `number` with no transactions (a real header hash).
fn empty_block(number: u64) -> OpRpcBlock {
    let header = Header {
        number,
        timestamp: 1_000 + 2 * number,
        gas_limit: 30_000_000,
        base_fee_per_gas: Some(1),
        transactions_root: alloy::consensus::EMPTY_ROOT_HASH,
        extra_data: Bytes::from_static(&[0; 9]),
        ..Default::default()
    };
    alloy::rpc::types::Block {
        header: RpcHeader {
            hash: header.hash_slow(),
            inner: header,
            total_difficulty: None,
            size: None,
        },
        uncles: Vec::new(),
        transactions: BlockTransactions::Full(Vec::new()),
        withdrawals: None,
    }
}

fn config_with_genesis(block: &OpRpcBlock) -> RollupConfig {
    let mut config = RollupConfig::default();
    config.genesis.l2.number = block.header.number;
    config.genesis.l2.hash = block.header.hash;
    config
}

#[tokio::test]
async fn l2_reads_refuse_blocks_that_are_not_what_was_asked_or_not_what_they_claim() {
    let genesis = empty_block(0);
    let config = config_with_genesis(&genesis);
    let served_genesis = serde_json::to_value(&genesis).unwrap();
    let mut lying = empty_block(5);
    lying.header.hash = B256::repeat_byte(0x99);
    let lying = serde_json::to_value(&lying).unwrap();
    let six = serde_json::to_value(empty_block(6)).unwrap();

    let (url, log) = serve(Arc::new(move |seen: &Seen| {
        match (seen.method.as_str(), seen.params[0].as_str().unwrap_or("")) {
            ("eth_getBlockByNumber", "0x0") => result(served_genesis.clone()),
            ("eth_getBlockByNumber", "0x5") => result(lying.clone()),
            ("eth_getBlockByNumber", "0x6" | "0x7") => result(six.clone()),
            ("eth_getBlockByNumber", "safe") => rpc_error(-39001, "safe block not found"),
            ("eth_getBlockByNumber", _) => result(Value::Null),
            _ => rpc_error(-32601, "method not found"),
        }
    }))
    .await;
    let l2 = L2Client::new(&url, &config).unwrap();

    // The genesis block maps to the rollup's L1 anchor.
    let r = l2
        .block_ref_by_number(BlockNumberOrTag::Number(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.hash, genesis.header.hash);
    assert_eq!(r.l1_origin, config.genesis.l1);

    let err = l2.block_by_number_full(5).await.unwrap_err();
    assert!(
        matches!(
            err,
            L2ClientError::Block(BlockCheckError::HeaderHash { number: 5, .. })
        ),
        "{err}"
    );
    assert!(err.is_invalid() && !err.is_transport());

    let err = l2.block_by_number_full(7).await.unwrap_err();
    assert!(matches!(err, L2ClientError::WrongBlock { .. }), "{err}");

    assert_eq!(
        l2.block_ref_by_number(BlockNumberOrTag::Safe)
            .await
            .unwrap(),
        None
    );
    assert_eq!(l2.block_by_number_full(8).await.unwrap(), None);

    // A non-genesis block without the L1-info deposit has no block ref.
    let err = l2
        .block_ref_by_number(BlockNumberOrTag::Number(6))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            L2ClientError::BlockRef(opfleet_engine::BlockRefError::NoTransactions(6))
        ),
        "{err}"
    );

    // Full transactions are always asked for, and nothing carries a token without a secret.
    for seen in log.lock().unwrap().iter() {
        assert_eq!(seen.params[1], Value::Bool(true));
        assert_eq!(seen.authorization, None);
    }
}
