//! Shared by the tests that talk to the simulated L1 from outside: one JSON-RPC call over
//! HTTP, and a blob transaction with its KZG commitment, proof and versioned hash computed
//! here (with c-kzg and SHA-256), independently of the L1's code.
//!
//! ```text
//!  rpc(url, method, params) ── POST JSON-RPC ──▶ L1 :8545 ──▶ result (an error fails the test)
//!  kzg_commit(blob) ─▶ (commitment, proof, 0x01 ‖ sha256(commitment)[1..])
//!  blob_tx(l1, nonce, hashes) ─▶ signed type-3 tx to the L1's batch inbox
//! ```

#![allow(dead_code)]

use alloy::consensus::{SignableTransaction, Signed, TxEip4844, TxEip4844Variant, TxEnvelope};
use alloy::network::TxSignerSync;
use alloy::primitives::{B256, U256};
use alloy::signers::local::PrivateKeySigner;
use opfleet_tests::l1::L1Handle;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// One JSON-RPC call over HTTP; returns the `result` (JSON `null` included) and fails the
/// test on an error answer.
pub async fn rpc<T: DeserializeOwned>(url: &str, method: &str, params: Value) -> T {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let resp: Value = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(resp.get("error").is_none(), "{method} failed: {resp}");
    serde_json::from_value(resp["result"].clone()).unwrap()
}

/// Commitment, proof and versioned hash of a 131072-byte blob.
pub fn kzg_commit(blob: &[u8]) -> ([u8; 48], [u8; 48], B256) {
    let settings = c_kzg::ethereum_kzg_settings(0);
    let ckzg = Box::new(c_kzg::Blob::from_bytes(blob).unwrap());
    let commitment = settings.blob_to_kzg_commitment(&ckzg).unwrap().to_bytes();
    let proof = settings
        .compute_blob_kzg_proof(&ckzg, &commitment)
        .unwrap()
        .to_bytes();
    let mut hash: [u8; 32] = Sha256::digest(commitment.as_slice()).into();
    hash[0] = 0x01;
    (
        commitment.into_inner(),
        proof.into_inner(),
        B256::from(hash),
    )
}

/// A signed type-3 transaction to the L1's batch inbox carrying `versioned_hashes`.
pub fn blob_tx(l1: &L1Handle, nonce: u64, versioned_hashes: Vec<B256>) -> TxEnvelope {
    let signer = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x22)).unwrap();
    let mut tx = TxEip4844 {
        chain_id: l1.chain_id().get(),
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: l1.batch_inbox(),
        value: U256::ZERO,
        access_list: Default::default(),
        blob_versioned_hashes: versioned_hashes,
        max_fee_per_blob_gas: 1_000_000_000,
        input: Default::default(),
    };
    let sig = signer.sign_transaction_sync(&mut tx).unwrap();
    let signed: Signed<TxEip4844Variant> = tx.into_signed(sig).into();
    TxEnvelope::from(signed)
}
