//! Shared by the follower fleet tests: a one-chain world with a supernode pool, checks that a
//! follower's heads are the sequencer's blocks the pool attests, a recorder of every accepted
//! head change, and forged attestations for a rogue publisher (the follower crate's
//! `FakeSupernode`) to serve over C2.
//!
//! ```text
//!  one_chain_fleet ─▶ L1 + chain 901 (sequencer, batcher) + pool supernode-0..n + followers
//!  HeadLog ◀─ watch of a follower's accepted heads (every change, for monotonicity checks)
//!  FakeSupernode (rogue) ─▶ attest_latest / attest_subscribe: forged() / phantom() votes
//! ```

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use alloy::primitives::keccak256;
use opfleet_attest::{Attestation, AttestationKind, PublicKey, SignedAttestation, SigningKey};
use opfleet_follower::heads::AcceptedHeads;
use opfleet_follower::rpc::FollowerStatus;
use opfleet_follower::test_support::now_ms;
use opfleet_protocol::{BlockId, ChainId, L2BlockRef};
use opfleet_tests::devnet::{DevnetConfig, FleetFollower, FleetSupernode, World};
use serde::Deserialize;

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

/// `a` with a block that is not on the chain at the same height (every other field kept),
/// signed by `key`, issued now.
pub fn forged(a: &Attestation, key: &SigningKey) -> SignedAttestation {
    let mut f = *a;
    f.block.hash = keccak256(a.block.hash);
    f.output_root = keccak256(a.output_root);
    f.issued_at_ms = now_ms();
    SignedAttestation::sign(f, key)
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
