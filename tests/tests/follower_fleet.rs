//! Followers on the devnet with a real supernode pool (issue 6, "Done when"): a 2-of-3 quorum
//! gives them the pool's safe and finalized heads while block gossip gives them the unsafe
//! head; losing one pool member changes nothing; untrusted signers never count; a trusted
//! signer that also signs a wrong block is outvoted, reported, and stays excluded across a
//! restart.
//!
//! ```text
//!  L1 ── batcher ◀── sequencer 901 ──gossip──▶ follower (own SimEl)
//!   └──▶ supernode-0..2 (derive, sign) ──ws/poll/gossip──▶ follower: trust 3 keys, k = 2
//!        untrusted attester / rogue C2 servers ──────────────▶ follower (must not count)
//! ```
//! The tests of one binary share the machine's two cores, so they run one at a time.

mod devnet_support;

use std::time::Instant;

use devnet_support::fleet::*;
use devnet_support::*;
use opfleet_attest::{AttestationKind, PublicKey, SigningKey};
use opfleet_follower::test_support::FakeSupernode;
use opfleet_tests::devnet::config::keys;
use opfleet_tests::devnet::{FleetNode, SupernodeSpec};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_converge_on_the_pools_safe_and_finalized_and_follow_unsafe_over_p2p() {
    let _one_at_a_time = SERIAL.lock().await;
    let started = Instant::now();
    let net = start(one_chain_fleet("ff-converge", 3, 2, 2)).await;
    let world = net.devnet.world().clone();
    let pool = world.pool();
    let pool_keys: Vec<PublicKey> = pool.iter().map(|s| s.signer()).collect();

    for f in world.followers() {
        let c = eventually(
            "follower on the pool's safe and finalized",
            WAIT,
            || async { converged(&world, &f, &pool_keys, 2) },
        )
        .await;
        eprintln!(
            "{}: safe #{} finalized #{} after {:?}",
            f.name(),
            c.safe.number,
            c.finalized.number,
            started.elapsed()
        );
        // What the follower took is what the pool signs: at least two members attest a safe
        // and a finalized block of the sequencer's chain at or above it (a member that lagged
        // behind the two who made the quorum catches up).
        eventually(
            "two pool members attest at or above the heads",
            WAIT,
            || async {
                let mut attesting = 0;
                for s in &pool {
                    let Some((Some(safe), Some(fin))) =
                        attest_latest(s).await.map(|l| (l.safe, l.finalized))
                    else {
                        continue;
                    };
                    assert_eq!(safe.signer, s.signer());
                    assert!(on_chain(&world, safe.attestation.block.id()));
                    assert!(on_chain(&world, fin.attestation.block.id()));
                    if safe.attestation.block.number >= c.safe.number
                        && fin.attestation.block.number >= c.finalized.number
                    {
                        attesting += 1;
                    }
                }
                (attesting >= 2).then_some(())
            },
        )
        .await;
    }

    // Unsafe over P2P: the EL head reaches the sequencer's head, well above the attested safe.
    for f in world.followers() {
        let target = seq_head(&world);
        // What it serves as unsafe follows its engine's view of the EL, a moment behind.
        let status = eventually(
            "follower serves the sequencer's head as unsafe",
            WAIT,
            || async {
                let h = f.el().head().id();
                let s = f.sync_status()?;
                (h.number >= target && on_chain(&world, h) && s.unsafe_l2.number >= target)
                    .then_some(s)
            },
        )
        .await;
        assert!(on_chain(&world, status.unsafe_l2.id()));
        assert!(
            status.unsafe_l2.number > status.safe_l2.number,
            "unsafe #{} comes from gossip, ahead of safe #{}",
            status.unsafe_l2.number,
            status.safe_l2.number
        );
    }
    eprintln!("converge test done in {:?}", started.elapsed());
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_pool_member_changes_nothing_for_two_of_three_followers() {
    let _one_at_a_time = SERIAL.lock().await;
    let started = Instant::now();
    let net = start(one_chain_fleet("ff-kill-sn", 3, 1, 2)).await;
    let world = net.devnet.world().clone();
    let pool = world.pool();
    let pool_keys: Vec<PublicKey> = pool.iter().map(|s| s.signer()).collect();
    let f = world.followers().remove(0);
    let before = eventually("follower converged", WAIT, || async {
        converged(&world, &f, &pool_keys, 2)
    })
    .await;
    let log = HeadLog::start(&f);

    world.node_kill(pool[0].name()).await.unwrap();
    assert!(!pool[0].is_running());
    eprintln!(
        "{} killed at safe #{} finalized #{} after {:?}",
        pool[0].name(),
        before.safe.number,
        before.finalized.number,
        started.elapsed()
    );
    // The two live members alone carry safe and finalized on.
    let live: Vec<PublicKey> = pool_keys[1..].to_vec();
    let after = eventually("safe and finalized move on with 2 of 3", WAIT, || async {
        converged(&world, &f, &live, 2).filter(|c| {
            c.safe.number > before.safe.number + 4 && c.finalized.number > before.finalized.number
        })
    })
    .await;
    eprintln!(
        "with 2 of 3: safe #{} finalized #{} after {:?}",
        after.safe.number,
        after.finalized.number,
        started.elapsed()
    );
    let target = seq_head(&world);
    eventually("unsafe head still follows", WAIT, || async {
        (f.el().head().number() >= target).then_some(())
    })
    .await;
    let status = f.follower_status().unwrap();
    assert!(status.evidence.is_empty() && status.excluded_signers.is_empty());
    for h in log.stop() {
        if let Some(s) = h.safe {
            assert!(on_chain(&world, s.block.id()), "safe {:?}", s.block);
        }
    }
    eprintln!("kill test done in {:?}", started.elapsed());
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_signers_are_ignored_even_when_they_agree_on_a_wrong_block() {
    let _one_at_a_time = SERIAL.lock().await;
    let started = Instant::now();
    let net = start(one_chain_fleet("ff-untrusted", 3, 0, 2)).await;
    let world = net.devnet.world().clone();
    let pool = world.pool();
    let pool_keys: Vec<PublicKey> = pool.iter().map(|s| s.signer()).collect();

    // A fourth, real supernode with a key nobody trusts: it signs what supernode-0 reports and
    // publishes over RPC and the fleet's gossip.
    let untrusted_seed = [0x44; 32];
    let stranger = world
        .add_supernode(SupernodeSpec::attester(
            untrusted_seed,
            CHAIN,
            pool[0].chain_url(CHAIN),
        ))
        .await
        .unwrap();
    assert!(!pool_keys.contains(&stranger.signer()));
    // Two more untrusted signers that agree on blocks that do not exist, far ahead: were
    // untrusted votes counted, they alone would make a 2-of-n quorum for them.
    let liars = [
        SigningKey::from_bytes(&[0x55; 32]),
        SigningKey::from_bytes(&[0x66; 32]),
    ];
    let rogues = [
        FakeSupernode::start(CHAIN, true).await,
        FakeSupernode::start(CHAIN, true).await,
    ];

    let mut spec = world.pool_follower_spec(CHAIN);
    assert_eq!(spec.threshold, 2);
    spec.supernode_urls.push(stranger.ws_url());
    spec.supernode_urls.extend(rogues.iter().map(|r| r.url()));
    spec.gossip_peers
        .push(stranger.gossip_addr().unwrap().to_string());
    let f = world.add_follower(spec).await.unwrap();
    let log = HeadLog::start(&f);

    let lie = {
        let world = world.clone();
        let publish: Vec<_> = rogues.iter().map(FakeSupernode::publisher).collect();
        tokio::spawn(async move {
            loop {
                let n = seq_head(&world) + 100;
                for (key, p) in liars.iter().zip(&publish) {
                    for kind in [AttestationKind::Safe, AttestationKind::Finalized] {
                        p(phantom(kind, n, key));
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        })
    };

    let c = eventually("follower converged on the trusted pool", WAIT, || async {
        converged(&world, &f, &pool_keys, 2)
    })
    .await;
    eprintln!(
        "safe #{} finalized #{} after {:?}",
        c.safe.number,
        c.finalized.number,
        started.elapsed()
    );
    let status = eventually(
        "untrusted attestations reached and were refused",
        WAIT,
        || async {
            let s = f.follower_status()?;
            let from = |url: &str| {
                s.sources
                    .iter()
                    .find(|r| r.url == url)
                    .map_or(0, |r| r.received)
            };
            let reached = from(&stranger.ws_url()) > 0 && rogues.iter().all(|r| from(&r.url()) > 0);
            (reached && s.stats.is_some_and(|st| st.unknown_signer >= 4)).then_some(s)
        },
    )
    .await;
    lie.abort();
    let seen: Vec<PublicKey> = status.signers_seen.clone();
    assert!(
        seen.iter().all(|k| pool_keys.contains(k)),
        "only trusted signers are seen: {seen:?}"
    );
    assert!(status.evidence.is_empty());
    // Heads moved only with the trusted quorum: every accepted head was the sequencer's.
    let heads = log.stop();
    assert!(heads.len() > 1);
    for h in heads {
        for b in [h.safe, h.finalized].into_iter().flatten() {
            assert!(on_chain(&world, b.block.id()), "accepted {:?}", b.block);
        }
    }
    eprintln!("untrusted test done in {:?}", started.elapsed());
    for r in rogues {
        r.stop().await;
    }
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_signer_signing_a_wrong_block_is_outvoted_reported_and_kept_out_after_restart() {
    let _one_at_a_time = SERIAL.lock().await;
    let started = Instant::now();
    let net = start(one_chain_fleet("ff-equivocate", 3, 0, 2)).await;
    let world = net.devnet.world().clone();
    let pool = world.pool();
    let pool_keys: Vec<PublicKey> = pool.iter().map(|s| s.signer()).collect();

    // A rogue publisher holding supernode-2's key: for every safe head supernode-2 signs, it
    // signs a different block at the same height from the same L1 view.
    let key = SigningKey::from_bytes(&keys::supernode_signer(2));
    assert_eq!(opfleet_attest::PublicKey::of(&key), pool[2].signer());
    let rogue = FakeSupernode::start(CHAIN, true).await;
    let forger = {
        let honest = pool[2].clone();
        let publish = rogue.publisher();
        tokio::spawn(async move {
            let mut last = None;
            loop {
                if let Some(safe) = attest_latest(&honest).await.and_then(|l| l.safe)
                    && last != Some(safe)
                {
                    publish(forged(&safe.attestation, &key));
                    last = Some(safe);
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        })
    };

    let mut spec = world.pool_follower_spec(CHAIN);
    spec.supernode_urls.push(rogue.url());
    let f = world.add_follower(spec).await.unwrap();
    let log = HeadLog::start(&f);
    let evidence = eventually("equivocation reported", WAIT, || async {
        let s = f.follower_status()?;
        (!s.evidence.is_empty()).then_some(s)
    })
    .await;
    eprintln!("equivocation reported after {:?}", started.elapsed());
    assert!(
        evidence
            .evidence
            .iter()
            .all(|e| e.signer() == pool[2].signer()),
        "only supernode-2's key equivocated"
    );
    let ev = evidence.evidence[0];
    ev.check().unwrap();
    let (a, b) = (ev.first.attestation, ev.second.attestation);
    assert_eq!(
        (a.block.number, a.derived_from),
        (b.block.number, b.derived_from)
    );
    assert_ne!(a.block.hash, b.block.hash);
    assert_eq!(evidence.excluded_signers, vec![pool[2].signer()]);
    assert!(evidence.stats.unwrap().equivocations >= 1);

    // Outvoted: the two honest members carry the follower on the sequencer's chain.
    let honest = &pool_keys[..2];
    let c = eventually("follower on the honest quorum", WAIT, || async {
        converged(&world, &f, honest, 2).filter(|c| c.safe.number > a.block.number)
    })
    .await;
    eprintln!(
        "outvoted: safe #{} finalized #{} after {:?}",
        c.safe.number,
        c.finalized.number,
        started.elapsed()
    );
    for h in log.stop() {
        for b in [h.safe, h.finalized].into_iter().flatten() {
            assert!(on_chain(&world, b.block.id()), "accepted {:?}", b.block);
        }
    }

    // The evidence is persisted: a restarted follower reports it and keeps the signer out.
    world.node_kill(f.name()).await.unwrap();
    world.node_restart(f.name()).await.unwrap();
    let status = f.follower_status().unwrap();
    assert_eq!(status.evidence, vec![ev]);
    assert_eq!(status.excluded_signers, vec![pool[2].signer()]);
    let after = eventually("restarted follower moves on", WAIT, || async {
        converged(&world, &f, honest, 2).filter(|n| n.safe.number > c.safe.number)
    })
    .await;
    eprintln!(
        "after restart: safe #{} after {:?}",
        after.safe.number,
        started.elapsed()
    );
    let status = f.follower_status().unwrap();
    assert_eq!(status.evidence, vec![ev]);
    forger.abort();
    rogue.stop().await;
    eprintln!("equivocation test done in {:?}", started.elapsed());
    net.stop().await;
}
