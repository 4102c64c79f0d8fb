//! Each way a follower takes its safe and finalized heads, alone, on the devnet with real
//! supernodes (issue 6): supernode RPC only, attestation gossip only, sequencer-attested mode
//! (one attester-mode signer trusted with threshold 1), and `--l2.follow.source` pointed at a
//! supernode's op-node-shaped `/<chainid>/` prefix (no attestations at all).
//!
//! ```text
//!  rpc only:     supernode-0..2 ──ws attest_subscribe (+ poll)──▶ follower (k = 2)
//!  gossip only:  supernode-0..2 ──/opfleet/901/attest/1 (pnet)──▶ follower (k = 2)
//!  sequencer-attested: supernode-0 /901/ ◀─poll── attester (key K) ──▶ follower (keys [K], k = 1)
//!  follow source: supernode-0 /901/ optimism_syncStatus ◀─poll── follower
//! ```
//! The tests of one binary share the machine's two cores, so they run one at a time.

mod devnet_support;

use std::time::Instant;

use devnet_support::fleet::*;
use devnet_support::*;
use opfleet_attest::PublicKey;
use opfleet_protocol::SyncStatus;
use opfleet_tests::devnet::{FollowerSpec, SupernodeSpec};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits until the follower's unsafe head (over block gossip) reaches the sequencer's head.
async fn follows_unsafe(
    world: &opfleet_tests::devnet::World,
    f: &opfleet_tests::devnet::FleetFollower,
) {
    let target = seq_head(world);
    eventually("follower EL head at the sequencer's", WAIT, || async {
        let h = f.el().head().id();
        (h.number >= target && on_chain(world, h)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_only_follower_reaches_the_pools_heads() {
    let _one_at_a_time = SERIAL.lock().await;
    let started = Instant::now();
    let net = start(one_chain_fleet("ffm-rpc", 3, 0, 2)).await;
    let world = net.devnet.world().clone();
    let pool = world.pool();
    let keys: Vec<PublicKey> = pool.iter().map(|s| s.signer()).collect();
    let mut spec = FollowerSpec::attested(CHAIN, keys.clone(), 2);
    spec.supernode_urls = pool.iter().map(|s| s.ws_url()).collect();
    let f = world.add_follower(spec).await.unwrap();
    assert!(f.gossip_addr().is_none(), "no attestation gossip");

    let c = eventually("rpc-only follower converged", WAIT, || async {
        converged(&world, &f, &keys, 2)
    })
    .await;
    let status = f.follower_status().unwrap();
    assert_eq!(status.mode, "attested");
    assert_eq!(status.sources.len(), 3);
    assert!(
        status.sources.iter().all(|s| s.received > 0),
        "{:?}",
        status.sources
    );
    follows_unsafe(&world, &f).await;
    eprintln!(
        "rpc only: safe #{} finalized #{} in {:?}",
        c.safe.number,
        c.finalized.number,
        started.elapsed()
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_only_follower_reaches_the_pools_heads() {
    let _one_at_a_time = SERIAL.lock().await;
    let started = Instant::now();
    let net = start(one_chain_fleet("ffm-gossip", 3, 0, 2)).await;
    let world = net.devnet.world().clone();
    let pool = world.pool();
    let keys: Vec<PublicKey> = pool.iter().map(|s| s.signer()).collect();
    let mut spec = FollowerSpec::attested(CHAIN, keys.clone(), 2);
    spec.attest_gossip = true;
    spec.gossip_peers = pool
        .iter()
        .map(|s| s.gossip_addr().unwrap().to_string())
        .collect();
    let f = world.add_follower(spec).await.unwrap();

    let c = eventually("gossip-only follower converged", WAIT, || async {
        converged(&world, &f, &keys, 2)
    })
    .await;
    let status = f.follower_status().unwrap();
    assert!(status.sources.is_empty(), "no supernode URL");
    follows_unsafe(&world, &f).await;
    eprintln!(
        "gossip only: safe #{} finalized #{} in {:?}",
        c.safe.number,
        c.finalized.number,
        started.elapsed()
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequencer_attested_follower_trusts_one_key_with_threshold_one() {
    let _one_at_a_time = SERIAL.lock().await;
    let started = Instant::now();
    let net = start(one_chain_fleet("ffm-seq", 1, 0, 1)).await;
    let world = net.devnet.world().clone();
    let source = world.pool().remove(0);
    // The sequencer's signer: an attester following an op-node-shaped CL of the chain.
    let attester = world
        .add_supernode(SupernodeSpec::attester(
            [0x5e; 32],
            CHAIN,
            source.chain_url(CHAIN),
        ))
        .await
        .unwrap();
    let key = attester.signer();
    assert_ne!(key, source.signer());
    let mut spec = FollowerSpec::attested(CHAIN, vec![key], 1);
    spec.supernode_urls = vec![attester.ws_url()];
    let f = world.add_follower(spec).await.unwrap();

    let c = eventually("sequencer-attested follower converged", WAIT, || async {
        converged(&world, &f, &[key], 1)
    })
    .await;
    let status = f.follower_status().unwrap();
    let trust = status.trust.unwrap();
    assert_eq!((trust.keys, trust.threshold), (vec![key], 1));
    assert_eq!(status.signers_seen, vec![key]);
    follows_unsafe(&world, &f).await;
    eprintln!(
        "sequencer-attested: safe #{} finalized #{} in {:?}",
        c.safe.number,
        c.finalized.number,
        started.elapsed()
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_source_follower_follows_a_supernode_chain_prefix() {
    let _one_at_a_time = SERIAL.lock().await;
    let started = Instant::now();
    let net = start(one_chain_fleet("ffm-follow", 1, 0, 1)).await;
    let world = net.devnet.world().clone();
    let source = world.pool().remove(0);
    let url = source.chain_url(CHAIN);
    let f = world
        .add_follower(FollowerSpec::follow_source(CHAIN, url.clone()))
        .await
        .unwrap();

    let (safe, finalized) = eventually(
        "follow-source follower at the source's heads",
        WAIT,
        || async {
            let s = f.sync_status()?;
            let (safe, fin) = (s.safe_l2, s.finalized_l2);
            let el = f.el();
            let ok = safe.number > 0
                && fin.number > 0
                && on_chain(&world, safe.id())
                && on_chain(&world, fin.id())
                && el.safe().id() == safe.id()
                && el.finalized().id() == fin.id();
            ok.then_some((safe, fin))
        },
    )
    .await;
    // The source is at or above what the follower took, and it is what the follower reports.
    let theirs: SyncStatus =
        serde_json::from_value(call(&url, "optimism_syncStatus", jsonrpsee::rpc_params![]).await)
            .unwrap();
    assert!(theirs.safe_l2.number >= safe.number);
    assert!(theirs.finalized_l2.number >= finalized.number);
    let status = f.follower_status().unwrap();
    assert_eq!(status.mode, "follow-source");
    assert_eq!(status.follow_source.as_deref(), Some(url.as_str()));
    assert!(status.trust.is_none() && status.quorum.safe.is_none());
    // It keeps following.
    let moved = eventually("follow-source safe moves on", WAIT, || async {
        let s = f.el().safe().id();
        (s.number > safe.number && on_chain(&world, s)).then_some(s)
    })
    .await;
    follows_unsafe(&world, &f).await;
    eprintln!(
        "follow source: safe #{} finalized #{}, then safe #{} in {:?}",
        safe.number,
        finalized.number,
        moved.number,
        started.elapsed()
    );
    net.stop().await;
}
