//! Issue 5's "done when" through a running supernode of the devnet: it derives both chains from
//! blobs and from calldata into its own execution clients, and its safe heads are the
//! sequencers' blocks; finalized follows L1 finality; an L1 reorg under the batches rewinds its
//! safe heads and SafeDB and it derives the right heads again; a kill and restart resumes from
//! its store without regression; every attestation it publishes (over WebSocket
//! `attest_subscribe`) verifies and names the sequencer's block and the output root recomputed
//! from an execution client; `/<chainid>/` answers `optimism_syncStatus` with op-node's fields;
//! `superroot_atTimestamp` equals the super root recomputed from `optimism_outputAtBlock`.
//!
//! The tests run one at a time (each starts its own world) to stay quick on a loaded machine.

mod devnet_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use alloy::primitives::{B256, keccak256};
use devnet_support::*;
use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use opfleet_attest::{AttestationKind, SignedAttestation};
use opfleet_protocol::{BlockId, ChainId};
use opfleet_tests::batcher::DataAvailability;
use opfleet_tests::devnet::{DevnetConfig, FleetNode, FleetSupernode, World};
use serde_json::Value;

/// Generous: debug builds on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(60);
/// The L2ToL1MessagePasser, whose storage root is in output root v0.
const MESSAGE_PASSER: &str = "0x4200000000000000000000000000000000000016";

/// One world at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A world with one supernode (the pool) and no follower.
fn one_supernode(name: &str) -> DevnetConfig {
    fleet_config(name, 1, 0)
}

fn supernode(world: &World) -> std::sync::Arc<FleetSupernode> {
    world.pool().into_iter().next().unwrap()
}

/// One test's world: its turn (held until dropped), its start time, the devnet, its supernode.
struct OneSn {
    _one: tokio::sync::MutexGuard<'static, ()>,
    started: Instant,
    net: TestNet,
    world: std::sync::Arc<World>,
    sn: std::sync::Arc<FleetSupernode>,
}

/// Waits for its turn, then starts `config`'s world.
async fn start_one(config: DevnetConfig) -> OneSn {
    let _one = SERIAL.lock().await;
    let started = Instant::now();
    let net = start(config).await;
    let world = net.devnet.world().clone();
    let sn = supernode(&world);
    OneSn {
        _one,
        started,
        net,
        world,
        sn,
    }
}

/// The supernode's latest attestation of `kind` on `chain` (`attest_latest`).
async fn latest(sn: &FleetSupernode, chain: ChainId, kind: AttestationKind) -> SignedAttestation {
    let latest = call(
        &sn.rpc_url(),
        "attest_latest",
        rpc_params![chain.to_string()],
    )
    .await;
    let field = match kind {
        AttestationKind::Safe => "safe",
        AttestationKind::Finalized => "finalized",
    };
    serde_json::from_value(latest[field].clone()).unwrap()
}

/// `optimism_syncStatus` of the supernode's `/<chain>/` prefix (`None` before its first heads:
/// "not synced yet").
async fn try_status(sn: &FleetSupernode, chain: ChainId) -> Option<Value> {
    client(&sn.chain_url(chain))
        .request("optimism_syncStatus", rpc_params![])
        .await
        .ok()
}

/// `optimism_syncStatus` of a supernode that has heads.
async fn status(sn: &FleetSupernode, chain: ChainId) -> Value {
    try_status(sn, chain).await.unwrap()
}

/// A block id in op-node's JSON (`number` a JSON number).
fn block_id(v: &Value) -> BlockId {
    serde_json::from_value(v.clone()).unwrap()
}

/// A block id of an eth JSON-RPC block (`number` a hex quantity).
fn eth_block_id(v: &Value) -> BlockId {
    BlockId {
        hash: v["hash"].as_str().unwrap().parse().unwrap(),
        number: quantity(&v["number"]),
    }
}

/// Waits until the supernode's safe head of `chain` is at least `min` and is the sequencer's
/// block; returns it.
async fn safe_at_least(world: &World, sn: &FleetSupernode, chain: ChainId, min: u64) -> BlockId {
    let seq = world.chain(chain).unwrap();
    eventually(&format!("chain {chain} safe >= {min}"), WAIT, || async {
        let s = block_id(&try_status(sn, chain).await?["safe_l2"]);
        (s.number >= min && seq.block(s.number) == Some(s)).then_some(s)
    })
    .await
}

/// The L1 block at `number` on the canonical chain.
async fn l1_block(l1: &str, number: u64) -> BlockId {
    eth_block_id(&block(l1, number).await)
}

/// Output root v0 recomputed from an execution client's eth JSON-RPC: keccak256(32 zero bytes
/// | stateRoot | storage root of the L2ToL1MessagePasser | blockHash).
async fn output_root(el_rpc: &str, number: u64) -> B256 {
    let b = block(el_rpc, number).await;
    let proof = call(
        el_rpc,
        "eth_getProof",
        rpc_params![MESSAGE_PASSER, Vec::<String>::new(), format!("{number:#x}")],
    )
    .await;
    let field = |v: &Value, k: &str| -> B256 { v[k].as_str().unwrap().parse().unwrap() };
    let mut pre = [0u8; 128];
    pre[32..64].copy_from_slice(field(&b, "stateRoot").as_slice());
    pre[64..96].copy_from_slice(field(&proof, "storageHash").as_slice());
    pre[96..].copy_from_slice(field(&b, "hash").as_slice());
    keccak256(pre)
}

/// Both chains derived from `da`: the supernode's safe heads are the sequencers' blocks, and
/// they move on as the batcher posts more.
async fn derives_both_chains(name: &str, da: DataAvailability) {
    let mut c = one_supernode(name);
    c.da = da;
    let OneSn {
        _one,
        started,
        net,
        world,
        sn,
    } = start_one(c).await;
    for chain in world.chains() {
        let id = chain.chain_id();
        let first = safe_at_least(&world, &sn, id, 3).await;
        let later = safe_at_least(&world, &sn, id, first.number + 3).await;
        // Every block up to the safe head is the sequencer's, in the supernode's own EL.
        let el = sn.el(id).unwrap();
        for n in 1..=later.number {
            assert_eq!(el.block_by_number(n).map(|b| b.id()), chain.block(n));
        }
        eprintln!(
            "{name}: chain {id} safe #{} after {:?}",
            later.number,
            started.elapsed()
        );
    }
    assert!(net.devnet.status().chains.iter().all(|c| c.batch_txs > 0));
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn derives_both_chains_from_blobs() {
    derives_both_chains("sn-blobs", DataAvailability::Blobs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn derives_both_chains_from_calldata() {
    derives_both_chains("sn-calldata", DataAvailability::calldata()).await;
}

/// Finalized follows L1 finality; every attestation pushed over `attest_subscribe` verifies,
/// is signed by the supernode, and names the sequencer's block and its output root;
/// `optimism_syncStatus` has op-node's fields; `superroot_atTimestamp` is the super root of
/// the chains' `optimism_outputAtBlock` roots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finality_attestations_sync_status_and_super_roots() {
    let OneSn {
        _one,
        started,
        net,
        world,
        sn,
    } = start_one(one_supernode("sn-attest")).await;
    let l1 = net.endpoints.l1.clone();
    let chains: Vec<ChainId> = world.chains().iter().map(|c| c.chain_id()).collect();
    let ws = WsClientBuilder::default().build(sn.ws_url()).await.unwrap();
    let ids: Vec<String> = chains.iter().map(ToString::to_string).collect();
    let mut sub = ws
        .subscribe::<Value, _>("attest_subscribe", rpc_params![ids], "attest_unsubscribe")
        .await
        .unwrap();

    // Finalized follows L1 finality: it becomes non-zero, moves on, is always a block derived
    // from finalized L1, and is the sequencer's block.
    for &id in &chains {
        let seq = world.chain(id).unwrap();
        let mut last = 0;
        for _ in 0..2 {
            let f = eventually(&format!("chain {id} finalized > {last}"), WAIT, || async {
                let f = block_id(&try_status(&sn, id).await?["finalized_l2"]);
                (f.number > last).then_some(f)
            })
            .await;
            assert_eq!(seq.block(f.number), Some(f));
            last = f.number;
        }
        let fin = latest(&sn, id, AttestationKind::Finalized).await;
        let l1_finalized =
            eth_block_id(&call(&l1, "eth_getBlockByNumber", rpc_params!["finalized", false]).await);
        assert!(fin.attestation.derived_from.number <= l1_finalized.number);
        assert_eq!(
            l1_block(&l1, fin.attestation.derived_from.number).await,
            fin.attestation.derived_from,
            "finalized derived from canonical L1"
        );
        eprintln!("chain {id} finalized #{last} after {:?}", started.elapsed());
    }

    // Every attestation pushed so far and for a while more.
    let mut seen: BTreeMap<(ChainId, AttestationKind), usize> = BTreeMap::new();
    let deadline = Instant::now() + WAIT;
    while seen.len() < 2 * chains.len() || seen.values().any(|n| *n < 3) {
        assert!(Instant::now() < deadline, "too few attestations: {seen:?}");
        let item = tokio::time::timeout(WAIT, sub.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let signed: SignedAttestation = serde_json::from_value(item).unwrap();
        signed.verify().unwrap();
        assert_eq!(signed.signer, sn.signer());
        let a = signed.attestation;
        let seq = world.chain(a.chain_id).unwrap();
        assert_eq!(seq.block(a.block.number), Some(a.block.id()), "{a:?}");
        let seq_rpc = &seq.endpoints().el_rpc;
        assert_eq!(
            a.output_root,
            output_root(seq_rpc, a.block.number).await,
            "{a:?}"
        );
        *seen.entry((a.chain_id, a.kind)).or_default() += 1;
    }
    eprintln!(
        "attestations checked {seen:?} after {:?}",
        started.elapsed()
    );

    // optimism_syncStatus has every field of op-node's SyncStatus (op-service/eth/sync_status.go)
    // with op-node's block reference fields.
    let s = status(&sn, chains[0]).await;
    let mut keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = vec![
        "current_l1",
        "current_l1_finalized",
        "head_l1",
        "safe_l1",
        "finalized_l1",
        "unsafe_l2",
        "safe_l2",
        "finalized_l2",
        "pending_safe_l2",
        "cross_unsafe_l2",
        "local_safe_l2",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected, "{s}");
    let fields = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    for l1_field in [
        "current_l1",
        "current_l1_finalized",
        "head_l1",
        "safe_l1",
        "finalized_l1",
    ] {
        assert_eq!(
            fields(&s[l1_field]),
            ["hash", "number", "parentHash", "timestamp"],
            "{l1_field}"
        );
    }
    for l2_field in [
        "unsafe_l2",
        "safe_l2",
        "finalized_l2",
        "pending_safe_l2",
        "cross_unsafe_l2",
        "local_safe_l2",
    ] {
        assert_eq!(
            fields(&s[l2_field]),
            [
                "hash",
                "l1origin",
                "number",
                "parentHash",
                "sequenceNumber",
                "timestamp"
            ],
            "{l2_field}"
        );
    }
    assert!(s["head_l1"]["number"].as_u64().unwrap() > 0);

    // superroot_atTimestamp at the timestamp of the lower safe head: equal to the super root
    // v1 of the per-chain optimism_outputAtBlock roots, chains by ascending id.
    let mut ts = u64::MAX;
    for &id in &chains {
        ts = ts.min(
            status(&sn, id).await["safe_l2"]["timestamp"]
                .as_u64()
                .unwrap(),
        );
    }
    let answer = call(
        &sn.rpc_url(),
        "superroot_atTimestamp",
        rpc_params![format!("{ts:#x}")],
    )
    .await;
    let mut preimage = vec![1u8];
    preimage.extend_from_slice(&ts.to_be_bytes());
    for &id in &chains {
        let rollup = world.chain(id).unwrap().rollup();
        let n = (ts - rollup.genesis.l2_time) / rollup.block_time;
        let out = call(
            &sn.chain_url(id),
            "optimism_outputAtBlock",
            rpc_params![format!("{n:#x}")],
        )
        .await;
        let root: B256 = out["outputRoot"].as_str().unwrap().parse().unwrap();
        let seq_rpc = &world.chain(id).unwrap().endpoints().el_rpc;
        assert_eq!(root, output_root(seq_rpc, n).await);
        let mut id_word = [0u8; 32];
        id_word[24..].copy_from_slice(&id.get().to_be_bytes());
        preimage.extend_from_slice(&id_word);
        preimage.extend_from_slice(root.as_slice());
    }
    let super_root: B256 = answer["data"]["super_root"]
        .as_str()
        .unwrap_or_else(|| panic!("no verified super root: {answer}"))
        .parse()
        .unwrap();
    assert_eq!(super_root, keccak256(&preimage), "{answer}");
    eprintln!("super root at {ts} checked after {:?}", started.elapsed());
    net.stop().await;
}

/// An L1 reorg that drops the block a safe head was derived from: the supernode rewinds its
/// safe head and SafeDB and derives the same L2 blocks again from the new L1 branch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l1_reorg_rewinds_and_rederives() {
    let OneSn {
        _one,
        started,
        net,
        world,
        sn,
    } = start_one(one_supernode("sn-reorg")).await;
    let l1 = net.endpoints.l1.clone();
    let chain = world.chains()[0].chain_id();
    safe_at_least(&world, &sn, chain, 3).await;

    // Reorg away the L1 block the latest safe head was derived from (shallower than the
    // sequencer's L1 confirmation depth, so the L2 chain itself stays).
    let mut dropped_source = None;
    for _ in 0..20 {
        let safe = latest(&sn, chain, AttestationKind::Safe).await;
        let from = safe.attestation.derived_from;
        let head =
            eth_block_id(&call(&l1, "eth_getBlockByNumber", rpc_params!["latest", false]).await);
        let depth = head.number + 1 - from.number;
        if depth > 3 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let r: Value = net
            .admin("admin_l1Reorg", rpc_params![depth])
            .await
            .unwrap();
        let dropped: Vec<BlockId> = r["dropped"]
            .as_array()
            .unwrap()
            .iter()
            .map(block_id)
            .collect();
        if dropped.contains(&from) {
            dropped_source = Some((safe.attestation.block, from));
            break;
        }
    }
    let (safe_before, from) = dropped_source.expect("no reorg dropped a safe head's L1 source");
    eprintln!(
        "L1 reorg dropped #{} (source of safe #{}) after {:?}",
        from.number,
        safe_before.number,
        started.elapsed()
    );

    // The SafeDB entry for that L1 height now names the new branch, and the supernode's safe
    // head passes the old one again with the sequencer's blocks.
    eventually("SafeDB re-derived on the new L1 branch", WAIT, || async {
        let at = client(&sn.chain_url(chain))
            .request::<Value, _>(
                "optimism_safeHeadAtL1Block",
                rpc_params![format!("{:#x}", from.number)],
            )
            .await
            .ok()?;
        let l1_block_at = block_id(&at["l1Block"]);
        let canonical = l1_block(&l1, l1_block_at.number).await;
        let safe = block_id(&at["safeHead"]);
        (l1_block_at == canonical
            && l1_block_at != from
            && world.chain(chain).unwrap().block(safe.number) == Some(safe))
        .then_some(())
    })
    .await;
    safe_at_least(&world, &sn, chain, safe_before.number + 1).await;
    let safe = latest(&sn, chain, AttestationKind::Safe).await;
    assert_eq!(
        l1_block(&l1, safe.attestation.derived_from.number).await,
        safe.attestation.derived_from,
        "the latest safe attestation is derived from canonical L1"
    );
    eprintln!("re-derived after {:?}", started.elapsed());
    net.stop().await;
}

/// A kill and restart: the restarted supernode serves heads no lower than before at once,
/// never holds live heads back for catching up (derivation resumed from its execution client's
/// safe head, not from an older anchor), and goes on deriving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_and_restart_resume_without_regression() {
    let OneSn {
        _one,
        started,
        net,
        world,
        sn,
    } = start_one(one_supernode("sn-restart")).await;
    let chains: Vec<ChainId> = world.chains().iter().map(|c| c.chain_id()).collect();
    for &id in &chains {
        safe_at_least(&world, &sn, id, 4).await;
        eventually("finalized above genesis", WAIT, || async {
            (try_status(&sn, id).await?["finalized_l2"]["number"].as_u64()? > 0).then_some(())
        })
        .await;
    }
    let url = sn.rpc_url();
    // What it served just before the kill (it may store more before it dies, never less).
    let mut before = BTreeMap::new();
    for &id in &chains {
        let s = status(&sn, id).await;
        let n = |k: &str| s[k]["number"].as_u64().unwrap();
        before.insert(id, (n("safe_l2"), n("finalized_l2")));
    }
    let killed: bool = net
        .admin("admin_nodeKill", rpc_params![sn.name()])
        .await
        .unwrap();
    assert!(killed && !sn.is_running());
    // Let L1 and the sequencers move on while it is down.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let restarted: bool = net
        .admin("admin_nodeRestart", rpc_params![sn.name()])
        .await
        .unwrap();
    assert!(restarted && sn.is_running());
    assert_eq!(sn.rpc_url(), url, "same port");

    for &id in &chains {
        let (safe, finalized) = before[&id];
        // Served at once and all along, never lower than what it had, until it derived on.
        eventually(
            &format!("chain {id} safe past #{}", safe + 3),
            WAIT,
            || async {
                let s = status(&sn, id).await;
                let (now_safe, now_fin) = (
                    s["safe_l2"]["number"].as_u64().unwrap(),
                    s["finalized_l2"]["number"].as_u64().unwrap(),
                );
                assert!(now_safe >= safe && now_fin >= finalized, "regressed: {s}");
                (now_safe >= safe + 3).then_some(())
            },
        )
        .await;
        safe_at_least(&world, &sn, id, safe + 3).await;
    }
    let metrics = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let held: Vec<&str> = metrics
        .lines()
        .filter(|l| {
            l.starts_with("opfleet_supernode_heads_held_total") && l.contains("catching_up")
        })
        .collect();
    assert!(
        held.is_empty(),
        "derivation restarted below its stored safe head: {held:?}"
    );
    assert!(metrics.contains("opfleet_supernode_attestations_signed_total"));
    eprintln!("restart checked after {:?}", started.elapsed());
    net.stop().await;
}
