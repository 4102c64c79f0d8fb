//! The devnet's fleet: a pool of 3 supernodes deriving both chains from the world's L1 and
//! beacon, and followers (threshold 2) whose own execution clients reach the pool's safe head
//! (the sequencer's block) and follow the unsafe head over block gossip; a follower killed and
//! restarted keeps its data and comes back on the same RPC port; tests add nodes by spec.

mod devnet_support;

use std::time::{Duration, Instant};

use devnet_support::*;
use opfleet_supernode::config::Mode;
use opfleet_tests::devnet::{FleetNode, FollowerSpec, NodeKind, SupernodeSpec};

/// Generous: debug builds on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(90);

/// One world at a time, so each test stays quick.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_and_followers_reach_safe_and_follow_unsafe() {
    let _one = SERIAL.lock().await;
    let started = Instant::now();
    let net = start(fleet_config("fleet", 3, 2)).await;
    let world = net.devnet.world().clone();
    eprintln!(
        "world with 3 supernodes, 2 followers up in {:?}",
        started.elapsed()
    );

    // The endpoints file lists the pool and the followers with what a client needs.
    assert_eq!(net.endpoints.supernodes.len(), 3);
    assert_eq!(net.endpoints.followers.len(), 2);
    for s in &net.endpoints.supernodes {
        assert!(s["rpc"].as_str().unwrap().starts_with("http://"), "{s}");
        assert_eq!(s["chain_ids"].as_array().unwrap().len(), 2, "{s}");
        assert_eq!(s["els"].as_array().unwrap().len(), 2, "{s}");
        assert!(
            s["attest_gossip"].as_str().unwrap().contains("/p2p/"),
            "{s}"
        );
        assert!(s["signer"].as_str().unwrap().starts_with("0x"), "{s}");
    }
    for (i, f) in net.endpoints.followers.iter().enumerate() {
        let chain = &net.endpoints.chains[i % 2];
        assert_eq!(f["chain_id"], serde_json::json!(chain.chain_id));
        assert_eq!(f["trust_threshold"], 2);
        assert_eq!(f["attest_sources"].as_array().unwrap().len(), 3);
        assert!(f["attest_gossip"].as_str().is_some(), "{f}");
    }
    assert!(net.dir.join("swarm.key").exists());
    let followers = world.followers();
    assert_eq!(world.fleet().of_kind(NodeKind::Follower).len(), 2);

    // A test adds a follower by spec (early, so that its execution client has little to catch
    // up from genesis): one supernode polled over HTTP (no attestation gossip), threshold 1,
    // output roots checked against its own execution client.
    let pool = world.pool();
    let chain = world.chains()[1].chain_id();
    let mut spec = FollowerSpec::attested(chain, vec![pool[2].signer()], 1);
    spec.supernode_urls = vec![pool[2].rpc_url()];
    spec.verify_output_root = true;
    let added = world.add_follower(spec).await.unwrap();
    assert_eq!(added.name(), "follower-2");

    // Safe: each follower's EL reaches a safe block above genesis that is the sequencer's.
    for f in &followers {
        let chain = world.chain(f.chain_id()).unwrap();
        let safe = eventually("follower safe head above genesis", WAIT, || async {
            let safe = f.el().safe().id();
            (safe.number > 0 && chain.block(safe.number) == Some(safe)).then_some(safe)
        })
        .await;
        eprintln!(
            "{} (chain {}) safe #{} after {:?}",
            f.name(),
            f.chain_id(),
            safe.number,
            started.elapsed()
        );
        // The pool signed it: the follower's accepted safe head carries a 2-of-3 quorum.
        let status = f.sync_status().unwrap();
        assert!(status.safe_l2.number >= safe.number);
    }
    // Every pool member derived that far too.
    for s in world.pool() {
        for f in &followers {
            let chain = f.chain_id();
            let el = s.el(chain).unwrap();
            let target = f.el().safe().number();
            eventually("pool member safe", WAIT, || async {
                (el.safe().number() >= target).then_some(())
            })
            .await;
            assert_eq!(
                el.block_by_number(target).map(|b| b.id()),
                world.chain(chain).unwrap().block(target)
            );
        }
    }

    // Unsafe: the follower's EL head follows the sequencer's head over gossip.
    for f in &followers {
        let chain = world.chain(f.chain_id()).unwrap();
        let seq_head = chain.head().unwrap();
        eventually("follower unsafe head at the sequencer's", WAIT, || async {
            let head = f.el().head().id();
            (head.number >= seq_head.number && chain.block(head.number) == Some(head)).then_some(())
        })
        .await;
    }
    eprintln!("followers at the unsafe head after {:?}", started.elapsed());

    // Kill and restart a follower through the admin API: same RPC URL, heads not lower.
    let f = &followers[0];
    let url = f.rpc_url();
    let before = f.sync_status().unwrap();
    let killed: bool = net
        .admin("admin_nodeKill", jsonrpsee::rpc_params![f.name()])
        .await
        .unwrap();
    assert!(killed && !f.is_running());
    assert!(f.sync_status().is_none());
    let restarted: bool = net
        .admin("admin_nodeRestart", jsonrpsee::rpc_params![f.name()])
        .await
        .unwrap();
    assert!(restarted && f.is_running());
    assert_eq!(f.rpc_url(), url);
    let status: serde_json::Value =
        call(&url, "optimism_syncStatus", jsonrpsee::rpc_params![]).await;
    assert!(status["safe_l2"]["number"].as_u64().unwrap() >= before.safe_l2.number);
    let seq_head = world.chain(f.chain_id()).unwrap().head().unwrap();
    eventually(
        "restarted follower follows the unsafe head",
        WAIT,
        || async { (f.el().head().number() >= seq_head.number).then_some(()) },
    )
    .await;

    eprintln!(
        "restarted follower at the unsafe head after {:?}",
        started.elapsed()
    );

    let target = followers[1].el().safe().number();
    eventually("added follower reaches the safe head", WAIT, || async {
        (added.el().safe().number() >= target).then_some(())
    })
    .await;
    eprintln!(
        "added follower at the safe head after {:?}",
        started.elapsed()
    );
    let listed = opfleet_tests::devnet::Endpoints::read(&net.dir.join("endpoints.json")).unwrap();
    assert_eq!(listed, net.devnet.current_endpoints());
    assert_eq!(listed.followers.len(), 3);
    let status = added.follower_status().unwrap();
    let json = serde_json::to_value(&status).unwrap();
    assert!(json.is_object());

    eprintln!("fleet test done in {:?}", started.elapsed());
    net.stop().await;
}

/// Nodes added by spec: an attester (`attest --follow`) signing what a pool member's
/// `/<chainid>/` prefix reports, a follower trusting that key alone over gossip only (the
/// sequencer-attested shape: one key, threshold 1), and a follower in `--l2.follow.source`
/// mode on the same prefix. Both followers' ELs reach safe heads that are the sequencer's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn specs_add_an_attester_and_followers_of_each_mode() {
    let _one = SERIAL.lock().await;
    let started = Instant::now();
    let net = start(fleet_config("fleet-specs", 1, 0)).await;
    let world = net.devnet.world().clone();
    let pool = world.pool();
    let chain = world.chains()[0].chain_id();
    let seq = world.chain(chain).unwrap();

    let attester = world
        .add_supernode(SupernodeSpec::attester(
            [7; 32],
            chain,
            pool[0].chain_url(chain),
        ))
        .await
        .unwrap();
    assert_eq!(attester.mode(), Mode::Attest);
    assert!(attester.el(chain).is_none());
    let mut gossip_only = FollowerSpec::attested(chain, vec![attester.signer()], 1);
    gossip_only.attest_gossip = true;
    gossip_only.gossip_peers = vec![attester.gossip_addr().unwrap().to_string()];
    gossip_only.name = Some("seq-attested".into());
    let gossip_only = world.add_follower(gossip_only).await.unwrap();
    let follow = world
        .add_follower(FollowerSpec::follow_source(chain, pool[0].chain_url(chain)))
        .await
        .unwrap();
    assert_eq!(world.fleet().of_kind(NodeKind::Supernode).len(), 2);
    assert!(!world.pool().iter().any(|s| s.name() == attester.name()));

    for f in [&gossip_only, &follow] {
        let safe = eventually(&format!("{} safe", f.name()), WAIT, || async {
            let safe = f.el().safe().id();
            (safe.number > 0 && seq.block(safe.number) == Some(safe)).then_some(safe)
        })
        .await;
        eprintln!(
            "{} safe #{} after {:?}",
            f.name(),
            safe.number,
            started.elapsed()
        );
    }
    // The gossip-only follower counted the attester's signature.
    let status = serde_json::to_value(gossip_only.follower_status().unwrap()).unwrap();
    assert!(
        status.to_string().contains(&attester.signer().to_string()),
        "{status}"
    );
    net.stop().await;
}
