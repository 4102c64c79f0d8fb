//! Shared pieces of the follower end-to-end tests: an execution-layer adapter over a devnet
//! simulated execution client, and a fake supernode pool member serving C2.
//!
//! The adapter sends every Engine API call over HTTP with JWT (the devnet's Engine API client);
//! block refs and output roots come from the simulated client in process; payloads by number
//! come over its eth RPC through `opfleet_engine::L2Client`, as the follower's own
//! `EngineLayer` reads them.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use alloy::primitives::{B256, Bytes, U64};

use jsonrpsee::RpcModule;
use jsonrpsee::server::{Server, ServerHandle};
use op_alloy_rpc_types_engine::OpExecutionPayloadEnvelope;
use opfleet_attest::{Attestation, AttestationKind, PublicKey, SignedAttestation, SigningKey};
use opfleet_follower::engine::el_client::EngineLayer;
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::output_root::OutputV0;
use opfleet_protocol::p2p::payload_version;
use opfleet_protocol::p2p::req_resp::encode_payload_body;
use opfleet_protocol::{BlockId, ChainId, L2BlockRef};
use opfleet_tests::el::{JwtSecret, SimBlock, SimElHandle};
use serde_json::value::to_raw_value;
use tokio::sync::broadcast;

/// The follower's execution client over the SimEl's Engine API and eth RPC: the follower's own
/// `EngineLayer`, as `opfleet-follower run` builds it.
pub fn sim_el_layer(el: &SimElHandle, jwt: JwtSecret, rollup: &RollupConfig) -> Arc<EngineLayer> {
    let secret = opfleet_engine::JwtSecret::from_hex(&jwt.to_hex()).expect("a valid JWT secret");
    Arc::new(
        EngineLayer::new(&el.engine_url(), &el.rpc_url(), secret, rollup)
            .expect("an execution layer"),
    )
}

/// Output root v0 of a simulated block.
pub fn output_root(b: &SimBlock) -> B256 {
    OutputV0 {
        state_root: b.header().state_root,
        message_passer_storage_root: b.message_passer_root,
        block_hash: b.hash,
    }
    .output_root()
}

pub fn key(i: u8) -> SigningKey {
    SigningKey::from_bytes(&[i; 32])
}

pub fn pk(i: u8) -> PublicKey {
    PublicKey::of(&key(i))
}

pub fn now_ms() -> u64 {
    opfleet_follower::sources::now_ms()
}

/// An attestation by pool key `i`.
pub fn attest(
    i: u8,
    chain: ChainId,
    kind: AttestationKind,
    block: L2BlockRef,
    derived: u64,
    output_root: B256,
) -> SignedAttestation {
    SignedAttestation::sign(
        Attestation {
            kind,
            chain_id: chain,
            block,
            derived_from: BlockId {
                hash: B256::repeat_byte(derived as u8),
                number: derived,
            },
            output_root,
            issued_at_ms: now_ms(),
        },
        &key(i),
    )
}

#[derive(Default)]
struct PoolState {
    latest: Mutex<(Option<SignedAttestation>, Option<SignedAttestation>)>,
    push: Mutex<Option<broadcast::Sender<SignedAttestation>>>,
    payloads: Mutex<BTreeMap<u64, OpExecutionPayloadEnvelope>>,
    payload_requests: Mutex<Vec<u64>>,
}

/// One pool member: `attest_latest`, `attest_subscribe`, `opfleet_payloadByNumber` (C2).
pub struct PoolMember {
    pub addr: SocketAddr,
    handle: ServerHandle,
    state: Arc<PoolState>,
}

impl PoolMember {
    pub async fn start() -> Self {
        let state = Arc::new(PoolState::default());
        *state.push.lock().unwrap() = Some(broadcast::channel(256).0);
        let server = Server::builder().build("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let mut m = RpcModule::from_arc(state.clone());
        m.register_method("attest_latest", |_, st, _| {
            let l = *st.latest.lock().unwrap();
            Ok::<_, jsonrpsee::types::ErrorObjectOwned>(
                serde_json::json!({"safe": l.0, "finalized": l.1}),
            )
        })
        .unwrap();
        m.register_method("opfleet_payloadByNumber", |params, st, _| {
            let (n,): (U64,) = params.parse()?;
            let n = n.to::<u64>();
            st.payload_requests.lock().unwrap().push(n);
            let env = st.payloads.lock().unwrap().get(&n).cloned();
            Ok::<_, jsonrpsee::types::ErrorObjectOwned>(env.map(|e| {
                let version = payload_version(&e.execution_payload);
                let body = encode_payload_body(&e, version).unwrap();
                serde_json::json!({"version": version.topic_index() + 1, "payload": Bytes::from(body)})
            }))
        })
        .unwrap();
        m.register_subscription(
            "attest_subscribe",
            "attest_subscription",
            "attest_unsubscribe",
            |_params, pending, st, _| async move {
                let msg = |a: &SignedAttestation| -> Result<jsonrpsee::SubscriptionMessage, serde_json::Error> {
                    Ok(to_raw_value(a)?.into())
                };
                let mut rx = st.push.lock().unwrap().as_ref().unwrap().subscribe();
                let first = *st.latest.lock().unwrap();
                let sink = pending.accept().await?;
                for a in [first.0, first.1].into_iter().flatten() {
                    sink.send(msg(&a)?).await?;
                }
                while let Ok(a) = rx.recv().await {
                    sink.send(msg(&a)?).await?;
                }
                jsonrpsee::core::SubscriptionResult::Ok(())
            },
        )
        .unwrap();
        let handle = server.start(m);
        Self {
            addr,
            handle,
            state,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn publish(&self, a: SignedAttestation) {
        {
            let mut l = self.state.latest.lock().unwrap();
            match a.attestation.kind {
                AttestationKind::Safe => l.0 = Some(a),
                AttestationKind::Finalized => l.1 = Some(a),
            }
        }
        if let Some(tx) = self.state.push.lock().unwrap().as_ref() {
            let _ = tx.send(a);
        }
    }

    pub fn serve_payload(&self, env: OpExecutionPayloadEnvelope) {
        self.state
            .payloads
            .lock()
            .unwrap()
            .insert(env.execution_payload.block_number(), env);
    }

    /// The block numbers asked for with `opfleet_payloadByNumber`, in order.
    pub fn payload_requests(&self) -> Vec<u64> {
        self.state.payload_requests.lock().unwrap().clone()
    }

    pub async fn stop(self) {
        let _ = self.handle.stop();
        self.handle.stopped().await;
    }
}

/// Polls `f` until true or `secs` pass.
pub async fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
