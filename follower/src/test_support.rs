//! Test fakes shared by this crate's integration tests and the devnet's follower tests
//! (`opfleet-tests`): a fake supernode pool member serving C2 (also the devnet tests' rogue
//! signer), the test pool's keys and attestations, and a polling wait. Built only with the `test-support` feature.
//!
//! ```text
//! test -> publish(a) -> FakeSupernode --attest_latest / attest_subscribe--> follower
//! test -> serve_payloads(..) ----------> --opfleet_payloadByNumber--------> follower
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{B256, Bytes, U64};
use jsonrpsee::RpcModule;
use jsonrpsee::server::{Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use op_alloy_rpc_types_engine::OpExecutionPayloadEnvelope;
use opfleet_attest::{Attestation, AttestationKind, PublicKey, SignedAttestation, SigningKey};
use opfleet_protocol::p2p::payload_version;
use opfleet_protocol::p2p::req_resp::encode_payload_body;
use opfleet_protocol::{BlockId, ChainId, L2BlockRef};
use serde_json::value::to_raw_value;
use tokio::sync::broadcast;

pub use crate::sources::now_ms;

/// A signing key of the test pool, `[i; 32]` as its seed.
pub fn key(i: u8) -> SigningKey {
    SigningKey::from_bytes(&[i; 32])
}

/// The public key of [`key`]`(i)`.
pub fn pk(i: u8) -> PublicKey {
    PublicKey::of(&key(i))
}

/// An attestation of `block` on `chain` signed by pool key `i`, derived from L1 block `derived`
/// (whose hash is that number's low byte repeated).
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

/// Polls `f` every 50 ms until it returns true; panics naming `what` after `secs` seconds.
pub async fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[derive(Default)]
struct SupernodeState {
    latest: Mutex<(Option<SignedAttestation>, Option<SignedAttestation>)>,
    push: Mutex<Option<broadcast::Sender<SignedAttestation>>>,
    payloads: Mutex<BTreeMap<u64, OpExecutionPayloadEnvelope>>,
    payload_requests: Mutex<Vec<u64>>,
}

impl SupernodeState {
    fn publish(&self, a: SignedAttestation) {
        {
            let mut l = self.latest.lock().unwrap();
            match a.attestation.kind {
                AttestationKind::Safe => l.0 = Some(a),
                AttestationKind::Finalized => l.1 = Some(a),
            }
        }
        if let Some(tx) = self.push.lock().unwrap().as_ref() {
            let _ = tx.send(a);
        }
    }
}

/// A fake supernode pool member of one chain: `attest_latest` (an unknown chain is an error),
/// `attest_subscribe` (only with push on, so followers must poll without it) and
/// `opfleet_payloadByNumber` from the payloads it was given.
pub struct FakeSupernode {
    /// Where it listens.
    pub addr: SocketAddr,
    handle: ServerHandle,
    state: Arc<SupernodeState>,
}

impl FakeSupernode {
    /// Starts on a free local port.
    pub async fn start(chain: ChainId, push: bool) -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap(), chain, push).await
    }

    /// Starts on `addr` (a restart on the address a follower already knows).
    pub async fn start_on(addr: SocketAddr, chain: ChainId, push: bool) -> Self {
        let state = Arc::new(SupernodeState::default());
        if push {
            *state.push.lock().unwrap() = Some(broadcast::channel(256).0);
        }
        let server = Server::builder().build(addr).await.unwrap();
        let addr = server.local_addr().unwrap();
        let mut m = RpcModule::from_arc(state.clone());
        m.register_method("attest_latest", move |params, st, _| {
            let (asked,): (String,) = params.parse()?;
            if asked != chain.get().to_string() {
                return Err(ErrorObjectOwned::owned(-32602, "unknown chain", None::<()>));
            }
            let l = *st.latest.lock().unwrap();
            Ok(serde_json::json!({"safe": l.0, "finalized": l.1}))
        })
        .unwrap();
        m.register_method("opfleet_payloadByNumber", |params, st, _| {
            let (n,): (U64,) = params.parse()?;
            let n = n.to::<u64>();
            st.payload_requests.lock().unwrap().push(n);
            let env = st.payloads.lock().unwrap().get(&n).cloned();
            Ok::<_, ErrorObjectOwned>(env.map(|e| {
                let version = payload_version(&e.execution_payload);
                let body = encode_payload_body(&e, version).unwrap();
                serde_json::json!({"version": version.topic_index() + 1, "payload": Bytes::from(body)})
            }))
        })
        .unwrap();
        if push {
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
        }
        let handle = server.start(m);
        Self {
            addr,
            handle,
            state,
        }
    }

    /// Its HTTP URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Makes `a` this member's latest of its kind and pushes it to subscribers.
    pub fn publish(&self, a: SignedAttestation) {
        self.state.publish(a);
    }

    /// [`Self::publish`] for a task that outlives this borrow.
    pub fn publisher(&self) -> impl Fn(SignedAttestation) + Send + Sync + 'static {
        let state = self.state.clone();
        move |a| state.publish(a)
    }

    /// Serves `envs` by their block numbers from now on.
    pub fn serve_payloads<'a>(
        &self,
        envs: impl IntoIterator<Item = &'a OpExecutionPayloadEnvelope>,
    ) {
        let mut p = self.state.payloads.lock().unwrap();
        for e in envs {
            p.insert(e.execution_payload.block_number(), e.clone());
        }
    }

    /// The block numbers asked for with `opfleet_payloadByNumber`, in order.
    pub fn payload_requests(&self) -> Vec<u64> {
        self.state.payload_requests.lock().unwrap().clone()
    }

    /// Stops serving and waits until it has stopped.
    pub async fn stop(self) {
        let _ = self.handle.stop();
        self.handle.stopped().await;
    }
}
