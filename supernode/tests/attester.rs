//! Attester mode against an in-test fake op-node (optimism_syncStatus, optimism_outputAtBlock)
//! and fake L1 (eth_getBlockByNumber) JSON-RPC server.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use alloy::primitives::B256;
use common::*;
use jsonrpsee::RpcModule;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::rpc_params;
use jsonrpsee::server::{Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use opfleet_attest::{AttestationKind, PublicKey, SignedAttestation, SigningKey};
use opfleet_protocol::{ChainId, OutputResponse, SyncStatus};
use opfleet_supernode::attester::{self, CanonicalL1, L1Rpc, OpNodeClient};
use opfleet_supernode::config::{ChainConfig, ChainSource, Endpoints};
use serde::Deserialize;
use serde_json::json;

const C: ChainId = ChainId(10);

/// What the fake serves: the op-node's status, and L1 blocks with some replaced (a reorg).
#[derive(Default)]
struct World {
    status: SyncStatus,
    reorged_l1: BTreeSet<u64>,
    bad_outputs: bool,
}

async fn fake_server(world: Arc<Mutex<World>>) -> (String, ServerHandle) {
    let mut m = RpcModule::new(world);
    m.register_method("optimism_syncStatus", |_, w, _| {
        Ok::<_, ErrorObjectOwned>(w.lock().unwrap().status)
    })
    .unwrap();
    m.register_method("optimism_outputAtBlock", |p, w, _| {
        let (hex,): (String,) = p.parse()?;
        let n = u64::from_str_radix(hex.trim_start_matches("0x"), 16)
            .map_err(|e| ErrorObjectOwned::owned(-32602, e.to_string(), None::<()>))?;
        let o = output(C, n);
        let w = w.lock().unwrap();
        if n > w.status.unsafe_l2.number {
            return Err(ErrorObjectOwned::owned(
                -32000,
                "block not found",
                None::<()>,
            ));
        }
        Ok(OutputResponse {
            version: B256::ZERO,
            output_root: if w.bad_outputs {
                B256::repeat_byte(9)
            } else {
                o.output_root
            },
            block_ref: o.block,
            withdrawal_storage_root: o.message_passer_storage_root,
            state_root: o.state_root,
            sync_status: Some(w.status),
        })
    })
    .unwrap();
    m.register_method("eth_getBlockByNumber", |p, w, _| {
        let (hex, _full): (String, bool) = p.parse()?;
        let n = u64::from_str_radix(hex.trim_start_matches("0x"), 16)
            .map_err(|e| ErrorObjectOwned::owned(-32602, e.to_string(), None::<()>))?;
        let mut b = l1(n);
        if w.lock().unwrap().reorged_l1.contains(&n) {
            b.hash = B256::repeat_byte(0xee);
        }
        Ok::<_, ErrorObjectOwned>(json!({
            "hash": b.hash, "number": format!("{n:#x}"), "parentHash": b.parent_hash,
            "timestamp": format!("{:#x}", b.timestamp),
        }))
    })
    .unwrap();
    let server = Server::builder().build("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    (url, server.start(m))
}

#[derive(Debug, Deserialize)]
struct Latest {
    safe: Option<SignedAttestation>,
    finalized: Option<SignedAttestation>,
}

async fn latest(url: &str) -> Latest {
    let c = HttpClientBuilder::default().build(url).unwrap();
    c.request("attest_latest", rpc_params![C.to_string()])
        .await
        .unwrap()
}

#[tokio::test]
async fn follows_checks_and_signs() {
    let world = Arc::new(Mutex::new(World {
        status: status(C, 13, 20, 10),
        ..Default::default()
    }));
    let (url, server) = fake_server(world.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = node_config(dir.path());
    let mut rollup = rollup(C);
    rollup.block_time = 1;
    config.chains = vec![ChainConfig {
        source: ChainSource::Registry("test".into()),
        rollup,
        endpoints: Endpoints {
            follow: Some(url.clone()),
            ..Default::default()
        },
    }];
    let key = SigningKey::from_bytes(&[5; 32]);
    let l1_client: Arc<dyn CanonicalL1> = Arc::new(L1Rpc::new(&url).unwrap());
    let node = attester::service::start(&config, key.clone(), l1_client, None)
        .await
        .unwrap();
    let root = format!("http://{}", node.rpc_addr());

    let l = eventually("first attestations", || async {
        let l = latest(&root).await;
        (l.safe.is_some() && l.finalized.is_some()).then_some(l)
    })
    .await;
    let safe = l.safe.unwrap();
    safe.verify().unwrap();
    assert_eq!(safe.signer, PublicKey::of(&key));
    assert_eq!(safe.attestation.kind, AttestationKind::Safe);
    assert_eq!(safe.attestation.block, l2(C, 20));
    assert_eq!(safe.attestation.output_root, output(C, 20).output_root);
    // Safe derived from the op-node's current_l1, finalized from its finalized_l1.
    assert_eq!(safe.attestation.derived_from, l1(13).id());
    let fin = l.finalized.unwrap();
    fin.verify().unwrap();
    assert_eq!(fin.attestation.block, l2(C, 10));
    assert_eq!(fin.attestation.derived_from, l1(6).id());

    // The op-node's safe head's L1 origin is not on our L1: not adopted, not signed.
    {
        let mut w = world.lock().unwrap();
        w.status = status(C, 14, 22, 10);
        w.reorged_l1.insert(l2(C, 22).l1_origin.number);
    }
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        latest(&root).await.safe.unwrap().attestation.block.number,
        20
    );
    let (_, metrics) = http(node.rpc_addr(), "GET", "/metrics", "").await;
    assert!(
        metrics.contains(r#"opfleet_supernode_errors_total{chain="10",stage="check"}"#),
        "{metrics}"
    );

    // L1 agrees again: the new head is signed with the current_l1 it was first seen with.
    world.lock().unwrap().reorged_l1.clear();
    let l = eventually("safe 22", || async {
        let l = latest(&root).await;
        l.safe.filter(|s| s.attestation.block.number == 22)
    })
    .await;
    l.verify().unwrap();
    assert_eq!(l.attestation.derived_from, l1(14).id());
    let c = HttpClientBuilder::default()
        .build(format!("{root}/{C}/"))
        .unwrap();
    let s: SyncStatus = c
        .request("optimism_syncStatus", rpc_params![])
        .await
        .unwrap();
    assert_eq!(s.safe_l2, l2(C, 22));

    // Outputs that do not hash to their preimage are never signed over.
    {
        let mut w = world.lock().unwrap();
        w.bad_outputs = true;
        w.status = status(C, 15, 24, 10);
    }
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        latest(&root).await.safe.unwrap().attestation.block.number,
        22
    );
    node.shutdown().await;
    server.stop().unwrap();
}

#[tokio::test]
async fn op_node_client_reads_and_checks() {
    let world = Arc::new(Mutex::new(World {
        status: status(C, 13, 20, 10),
        ..Default::default()
    }));
    let (url, server) = fake_server(world.clone()).await;
    let op = OpNodeClient::new(&url).unwrap();
    assert_eq!(op.sync_status().await.unwrap(), status(C, 13, 20, 10));
    assert_eq!(op.output_at(7).await.unwrap(), Some(output(C, 7)));
    assert_eq!(op.output_at(1000).await.unwrap(), None);
    world.lock().unwrap().bad_outputs = true;
    assert!(op.output_at(7).await.is_err());
    let l1c = L1Rpc::new(&url).unwrap();
    assert_eq!(l1c.block_ref_by_number(9).await.unwrap(), Some(l1(9)));
    let down = OpNodeClient::new("http://127.0.0.1:1").unwrap();
    assert!(down.sync_status().await.is_err());
    server.stop().unwrap();
}
