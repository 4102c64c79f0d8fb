//! Shared by the follower fleet tests: a one-chain world with a supernode pool, checks that a
//! follower's heads are the sequencer's blocks the pool attests, a recorder of every accepted
//! head change, and a rogue attestation publisher speaking C2.
//!
//! ```text
//!  one_chain_fleet ─▶ L1 + chain 901 (sequencer, batcher) + pool supernode-0..n + followers
//!  HeadLog ◀─ watch of a follower's accepted heads (every change, for monotonicity checks)
//!  Rogue   ─▶ attest_latest / attest_subscribe with attestations the test forges
//! ```

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use alloy::primitives::keccak256;
use jsonrpsee::RpcModule;
use jsonrpsee::server::{Server, ServerHandle};
use opfleet_attest::{Attestation, AttestationKind, PublicKey, SignedAttestation, SigningKey};
use opfleet_follower::heads::AcceptedHeads;
use opfleet_follower::rpc::FollowerStatus;
use opfleet_protocol::{BlockId, ChainId, L2BlockRef};
use opfleet_tests::devnet::{DevnetConfig, FleetFollower, FleetSupernode, World};
use serde::Deserialize;
use serde_json::value::to_raw_value;
use tokio::sync::broadcast;

/// The chain of the one-chain fleet worlds.
pub const CHAIN: ChainId = ChainId(901);

/// Generous bound of one wait: debug builds on a loaded 2-core machine.
pub const WAIT: Duration = Duration::from_secs(90);

/// One chain (no interop), 1 s L1 and L2 blocks, a pool of `supernodes` and `followers`
/// world followers with `threshold`.
pub fn one_chain_fleet(
    name: &str,
    supernodes: usize,
    followers: usize,
    threshold: usize,
) -> DevnetConfig {
    let mut c = super::config(name, 1);
    c.interop = false;
    c.supernodes = supernodes;
    c.followers = followers;
    c.follower_threshold = threshold;
    c
}

/// Whether `block` is the sequencer's block at its height.
pub fn on_chain(world: &World, block: BlockId) -> bool {
    world.chain(CHAIN).ok().and_then(|c| c.block(block.number)) == Some(block)
}

/// The sequencer's head number.
pub fn seq_head(world: &World) -> u64 {
    world
        .chain(CHAIN)
        .ok()
        .and_then(|c| c.head())
        .map_or(0, |h| h.number)
}

/// `attest_latest` of a supernode (C2), over HTTP.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Latest {
    /// Its latest safe attestation.
    pub safe: Option<SignedAttestation>,
    /// Its latest finalized attestation.
    pub finalized: Option<SignedAttestation>,
}

/// Reads `attest_latest` of `node` for [`CHAIN`] (`None` if it does not answer).
pub async fn attest_latest(node: &FleetSupernode) -> Option<Latest> {
    use jsonrpsee::core::client::ClientT;
    super::client(&node.rpc_url())
        .request(
            "attest_latest",
            jsonrpsee::rpc_params![CHAIN.get().to_string()],
        )
        .await
        .ok()
}

/// The follower's heads, as it serves and drives them, when they agree with each other, with
/// the sequencer's chain and with a quorum of `trusted` signers (at least `k` of them voted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Converged {
    /// Safe head (accepted = EL safe label = quorum safe = the sequencer's block).
    pub safe: L2BlockRef,
    /// Finalized head (same agreement).
    pub finalized: L2BlockRef,
}

/// Checks that `f`'s accepted safe and finalized heads are the sequencer's blocks, that its
/// execution client's forkchoice carries exactly them, and that each was voted by at least
/// `k` signers, all in `trusted`. `None` while any of that does not hold (yet).
pub fn converged(
    world: &World,
    f: &FleetFollower,
    trusted: &[PublicKey],
    k: usize,
) -> Option<Converged> {
    let status = f.follower_status()?;
    let safe = status.accepted.safe?.block;
    let finalized = status.accepted.finalized?.block;
    if safe.number == 0 || finalized.number == 0 {
        return None;
    }
    let el = f.el();
    let ok = on_chain(world, safe.id())
        && on_chain(world, finalized.id())
        && el.safe().id() == safe.id()
        && el.finalized().id() == finalized.id()
        && quorum_of(&status, AttestationKind::Safe, safe, trusted, k)
        && quorum_of(&status, AttestationKind::Finalized, finalized, trusted, k);
    ok.then_some(Converged { safe, finalized })
}

/// Whether the follower's quorum head of `kind` is `block` with at least `k` voters, all
/// trusted.
pub fn quorum_of(
    status: &FollowerStatus,
    kind: AttestationKind,
    block: L2BlockRef,
    trusted: &[PublicKey],
    k: usize,
) -> bool {
    let q = match kind {
        AttestationKind::Safe => &status.quorum.safe,
        AttestationKind::Finalized => &status.quorum.finalized,
    };
    q.as_ref().is_some_and(|q| {
        q.head.block == block
            && q.head.signers >= k
            && q.signers.len() >= k
            && q.signers.iter().all(|s| trusted.contains(s))
    })
}

/// Every accepted-heads value a follower went through, recorded by a task that waits on its
/// watch channel (so brief moves are seen).
pub struct HeadLog {
    seen: Arc<Mutex<Vec<AcceptedHeads>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HeadLog {
    /// Starts recording `f`'s accepted heads (it must be running).
    pub fn start(f: &FleetFollower) -> Self {
        let mut rx = f.accepted_heads().expect("follower running");
        let seen = Arc::new(Mutex::new(vec![*rx.borrow_and_update()]));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let h = *rx.borrow_and_update();
                log.lock().unwrap_or_else(PoisonError::into_inner).push(h);
            }
        });
        Self { seen, task }
    }

    /// What was recorded so far.
    pub fn seen(&self) -> Vec<AcceptedHeads> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Safe numbers in order (unset heads skipped).
    pub fn safe_numbers(&self) -> Vec<u64> {
        self.seen()
            .iter()
            .filter_map(|h| h.safe.map(|s| s.block.number))
            .collect()
    }

    /// Finalized numbers in order (unset heads skipped).
    pub fn finalized_numbers(&self) -> Vec<u64> {
        self.seen()
            .iter()
            .filter_map(|h| h.finalized.map(|s| s.block.number))
            .collect()
    }

    /// Panics unless finalized never moved back and never changed block at one height.
    pub fn assert_finalized_monotonic(&self) {
        let fin: Vec<L2BlockRef> = self
            .seen()
            .iter()
            .filter_map(|h| h.finalized.map(|f| f.block))
            .collect();
        for w in fin.windows(2) {
            if let [a, b] = w {
                assert!(
                    b.number > a.number || b == a,
                    "finalized moved from #{} {} to #{} {}",
                    a.number,
                    a.hash,
                    b.number,
                    b.hash
                );
            }
        }
    }

    /// Stops recording.
    pub fn stop(self) -> Vec<AcceptedHeads> {
        self.task.abort();
        self.seen()
    }
}

/// A test-made attestation source speaking C2 (`attest_latest`, `attest_subscribe`) that
/// serves whatever the test publishes: a rogue signer's voice.
pub struct Rogue {
    url: String,
    handle: ServerHandle,
    state: Arc<RogueState>,
}

struct RogueState {
    latest: Mutex<(Option<SignedAttestation>, Option<SignedAttestation>)>,
    push: broadcast::Sender<SignedAttestation>,
}

impl RogueState {
    fn publish(&self, a: SignedAttestation) {
        {
            let mut l = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
            match a.attestation.kind {
                AttestationKind::Safe => l.0 = Some(a),
                AttestationKind::Finalized => l.1 = Some(a),
            }
        }
        let _ = self.push.send(a);
    }
}

impl Rogue {
    /// Starts the server on a free port.
    pub async fn start() -> Self {
        let state = Arc::new(RogueState {
            latest: Mutex::new((None, None)),
            push: broadcast::channel(256).0,
        });
        let server = Server::builder().build("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", server.local_addr().unwrap());
        let mut m = RpcModule::from_arc(state.clone());
        m.register_method("attest_latest", |_, st, _| {
            let l = *st.latest.lock().unwrap_or_else(PoisonError::into_inner);
            Ok::<_, jsonrpsee::types::ErrorObjectOwned>(
                serde_json::json!({"safe": l.0, "finalized": l.1}),
            )
        })
        .unwrap();
        m.register_subscription(
            "attest_subscribe",
            "attest_subscription",
            "attest_unsubscribe",
            |_params, pending, st, _| async move {
                let mut rx = st.push.subscribe();
                let first = *st.latest.lock().unwrap_or_else(PoisonError::into_inner);
                let sink = pending.accept().await?;
                for a in [first.0, first.1].into_iter().flatten() {
                    sink.send(to_raw_value(&a)?).await?;
                }
                while let Ok(a) = rx.recv().await {
                    sink.send(to_raw_value(&a)?).await?;
                }
                jsonrpsee::core::SubscriptionResult::Ok(())
            },
        )
        .unwrap();
        let handle = server.start(m);
        Self { url, handle, state }
    }

    /// Its root URL.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Serves `a` as its latest of its kind and pushes it to subscribers.
    pub fn publish(&self, a: SignedAttestation) {
        self.state.publish(a);
    }

    /// [`Self::publish`] for a task that outlives this borrow.
    pub fn publisher(&self) -> impl Fn(SignedAttestation) + Send + Sync + 'static {
        let state = self.state.clone();
        move |a| state.publish(a)
    }

    /// Stops the server.
    pub async fn stop(self) {
        let _ = self.handle.stop();
        self.handle.stopped().await;
    }
}

/// `a` with a block that is not on the chain at the same height (every other field kept),
/// signed by `key`, issued now.
pub fn forged(a: &Attestation, key: &SigningKey) -> SignedAttestation {
    let mut f = *a;
    f.block.hash = keccak256(a.block.hash);
    f.output_root = keccak256(a.output_root);
    f.issued_at_ms = now_ms();
    SignedAttestation::sign(f, key)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    opfleet_follower::sources::now_ms()
}

/// A `kind` attestation by `key` of a block that does not exist, at `number`.
pub fn phantom(kind: AttestationKind, number: u64, key: &SigningKey) -> SignedAttestation {
    let tag = |what: &str| keccak256(format!("phantom-{what}-{number}"));
    SignedAttestation::sign(
        Attestation {
            kind,
            chain_id: CHAIN,
            block: L2BlockRef {
                hash: tag("block"),
                number,
                parent_hash: tag("parent"),
                timestamp: now_ms() / 1000,
                l1_origin: BlockId::default(),
                sequence_number: 0,
            },
            derived_from: BlockId {
                hash: tag("l1"),
                number: 1,
            },
            output_root: tag("output"),
            issued_at_ms: now_ms(),
        },
        key,
    )
}
