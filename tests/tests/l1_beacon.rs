//! Blobs through the beacon API, checked the way op-node checks them: a type-3 transaction's
//! versioned hash matches the sidecar's commitment, the KZG proof verifies with c-kzg and the
//! Ethereum trusted setup, and `/blobs/` returns the same blob. The blobs are real OP-encoded
//! blobs from the public vectors (`shared/vectors/blobs/`).
//!
//! Blobs are handled as heap bytes and parsed from JSON by hand: 128 KiB values (and alloy's
//! stack-buffered hex codec for them) do not fit a test thread's stack in debug builds.

mod l1_support;

use std::path::Path;

use alloy::eips::eip4844::{Blob, BlobTransactionSidecar, Bytes48};
use alloy::primitives::B256;
use alloy::rpc::types::Block;
use alloy::rpc::types::beacon::genesis::GenesisResponse;
use alloy::rpc::types::beacon::header::HeaderResponse;
use l1_support::{blob_tx, kzg_commit, rpc};
use opfleet_tests::l1::{DepositConfig, L1, L1Config, L1Handle, SubmitError};
use serde_json::{Value, json};

fn vector_blob(n: u8) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../shared/vectors/blobs/blob{n}.hex"));
    hex_bytes(std::fs::read_to_string(&path).unwrap().trim())
}

fn hex_bytes(s: &str) -> Vec<u8> {
    alloy::primitives::hex::decode(s).unwrap()
}

fn to_blobs(blobs: &[Vec<u8>]) -> Vec<Blob> {
    blobs
        .iter()
        .map(|b| Blob::try_from(b.as_slice()).unwrap())
        .collect()
}

async fn get(url: String) -> (u16, Value) {
    let resp = reqwest::get(url).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn rpc_block(l1: &L1Handle, tag: &str) -> Block {
    rpc(&l1.rpc_url(), "eth_getBlockByNumber", json!([tag, true])).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_sidecars_match_the_transactions_versioned_hashes() {
    let mut config = L1Config::devnet().manual();
    config.deposits = DepositConfig {
        max_per_block: 0,
        seed: 0,
    };
    let l1 = L1::spawn(config).await.unwrap();
    let beacon = l1.beacon_url();
    l1.mine();

    let blobs = vec![vector_blob(1), vector_blob(2)];
    let committed: Vec<_> = blobs.iter().map(|b| kzg_commit(b)).collect();
    let hashes: Vec<B256> = committed.iter().map(|c| c.2).collect();
    let sidecar = BlobTransactionSidecar {
        blobs: to_blobs(&blobs),
        commitments: committed.iter().map(|c| Bytes48::from(c.0)).collect(),
        proofs: committed.iter().map(|c| Bytes48::from(c.1)).collect(),
    };
    let tx_hash = l1
        .submit(blob_tx(&l1, 0, hashes.clone()), Some(sidecar))
        .unwrap();
    let mined = l1.mine();

    // The execution block holds the type-3 transaction with our versioned hashes.
    let block = rpc_block(&l1, "latest").await;
    assert_eq!(block.header.hash, mined.hash);
    let tx = block
        .transactions
        .txns()
        .find(|t| *t.inner.inner().tx_hash() == tx_hash)
        .unwrap();
    assert_eq!(
        alloy::consensus::Transaction::blob_versioned_hashes(tx),
        Some(hashes.as_slice())
    );
    assert_eq!(block.header.inner.blob_gas_used, Some(2 * 131_072));

    // Slot from genesis and spec, as op-node computes it.
    let (_, genesis) = get(format!("{beacon}/eth/v1/beacon/genesis")).await;
    let genesis: GenesisResponse = serde_json::from_value(genesis).unwrap();
    let (_, spec) = get(format!("{beacon}/eth/v1/config/spec")).await;
    assert_eq!(spec["data"]["SECONDS_PER_SLOT"], json!("2"));
    let slot = (block.header.inner.timestamp - genesis.data.genesis_time) / 2;
    assert_eq!(slot, 2);

    let (status, sidecars) = get(format!("{beacon}/eth/v1/beacon/blob_sidecars/{slot}")).await;
    assert_eq!(status, 200);
    let sidecars = sidecars["data"].as_array().unwrap();
    assert_eq!(sidecars.len(), 2);
    for (i, sc) in sidecars.iter().enumerate() {
        assert_eq!(sc["index"], json!(i.to_string()));
        let blob = hex_bytes(sc["blob"].as_str().unwrap());
        assert_eq!(blob, blobs[i]);
        let (commitment, _, versioned) = kzg_commit(&blob);
        let served_commitment = hex_bytes(sc["kzg_commitment"].as_str().unwrap());
        assert_eq!(served_commitment, commitment.as_slice());
        assert_eq!(versioned, hashes[i]);
        let ok = c_kzg::ethereum_kzg_settings(0)
            .verify_blob_kzg_proof(
                &Box::new(c_kzg::Blob::from_bytes(&blob).unwrap()),
                &c_kzg::Bytes48::from_bytes(&served_commitment).unwrap(),
                &c_kzg::Bytes48::from_bytes(&hex_bytes(sc["kzg_proof"].as_str().unwrap())).unwrap(),
            )
            .unwrap();
        assert!(ok, "blob {i} proof does not verify");
        let header = &sc["signed_block_header"]["message"];
        assert_eq!(header["slot"], json!(slot.to_string()));
        assert_eq!(
            header["parent_root"].as_str().unwrap().parse::<B256>().ok(),
            block.header.inner.parent_beacon_block_root
        );
        assert_eq!(
            sc["kzg_commitment_inclusion_proof"]
                .as_array()
                .unwrap()
                .len(),
            17
        );
    }

    // The same block by `head` and by beacon block root; one index only.
    let (_, head) = get(format!("{beacon}/eth/v1/beacon/headers/head")).await;
    let head: HeaderResponse = serde_json::from_value(head).unwrap();
    assert_eq!(head.data.header.message.slot, slot);
    let root = head.data.root;
    let (_, by_root) = get(format!(
        "{beacon}/eth/v1/beacon/blob_sidecars/{root}?indices=1"
    ))
    .await;
    let by_root = by_root["data"].as_array().unwrap();
    assert_eq!(by_root.len(), 1);
    assert_eq!(by_root[0]["index"], json!("1"));
    assert_eq!(hex_bytes(by_root[0]["blob"].as_str().unwrap()), blobs[1]);

    // `/blobs/` filtered by versioned hash, the way op-node asks.
    let (status, only) = get(format!(
        "{beacon}/eth/v1/beacon/blobs/{slot}?versioned_hashes={}",
        hashes[1]
    ))
    .await;
    assert_eq!(status, 200);
    let only = only["data"].as_array().unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(hex_bytes(only[0].as_str().unwrap()), blobs[1]);
    let (_, all) = get(format!("{beacon}/eth/v1/beacon/blobs/head")).await;
    let all: Vec<Vec<u8>> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| hex_bytes(b.as_str().unwrap()))
        .collect();
    assert_eq!(all, blobs);

    // A slot without blobs has none; a slot in the future has no block.
    let (status, empty) = get(format!("{beacon}/eth/v1/beacon/blob_sidecars/1")).await;
    assert_eq!(status, 200);
    assert_eq!(empty["data"], json!([]));
    let (status, _) = get(format!("{beacon}/eth/v1/beacon/blob_sidecars/99")).await;
    assert_eq!(status, 404);
    let (status, _) = get(format!("{beacon}/eth/v1/beacon/blobs/nonsense")).await;
    assert_eq!(status, 400);
    l1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_that_do_not_match_the_hashes_are_refused() {
    let l1 = L1::spawn(L1Config::devnet().manual()).await.unwrap();
    let (_, _, hash) = kzg_commit(&vector_blob(3));
    let sidecar = BlobTransactionSidecar {
        blobs: to_blobs(&[vector_blob(4)]),
        commitments: Vec::new(),
        proofs: Vec::new(),
    };
    let err = l1
        .submit(blob_tx(&l1, 0, vec![hash]), Some(sidecar))
        .unwrap_err();
    assert!(
        matches!(err, SubmitError::BlobMismatch { index: 0, .. }),
        "{err}"
    );
    let err = l1.submit(blob_tx(&l1, 1, vec![hash]), None).unwrap_err();
    assert!(matches!(err, SubmitError::MissingSidecar(_)), "{err}");
    l1.stop().await;
}
