//! One SystemConfig per chain on the L1: `eth_getStorageAt` and `eth_getProof` answer the
//! unsafe block signer and batcher hash slots, consistent with the `ConfigUpdate` logs.

mod l1_support;

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::rpc::types::EIP1186AccountProofResponse;
use alloy::trie::{Nibbles, proof::verify_proof};
use l1_support::rpc;
use opfleet_protocol::ChainId;
use opfleet_protocol::config::SystemConfig;
use opfleet_tests::l1::system_config::{BATCHER_HASH_SLOT, UNSAFE_BLOCK_SIGNER_SLOT};
use opfleet_tests::l1::{L1, L1Config};
use serde_json::{Value, json};

fn genesis_config(batcher: Address) -> SystemConfig {
    SystemConfig {
        batcher_address: batcher,
        overhead: B256::ZERO,
        scalar: B256::with_last_byte(1),
        gas_limit: 60_000_000,
        eip1559_params: None,
        operator_fee_params: None,
        min_base_fee: None,
        da_footprint_gas_scalar: None,
    }
}

fn word(v: &Value) -> B256 {
    serde_json::from_value(v.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_chain_has_its_own_system_config_storage() {
    let l1 = L1::spawn(L1Config::devnet().manual()).await.unwrap();
    let url = l1.rpc_url();
    let batcher = Address::repeat_byte(0xba);
    let (s1, s2) = (Address::repeat_byte(0x51), Address::repeat_byte(0x52));
    let a1 = l1.deploy_system_config(ChainId(901), &genesis_config(batcher), s1);
    let a2 = l1.deploy_system_config(ChainId(902), &genesis_config(batcher), s2);
    assert_ne!(a1, a2);
    assert_ne!(a1, l1.system_config());
    l1.mine();

    for (address, signer) in [(a1, s1), (a2, s2)] {
        let v = rpc::<Value>(
            &url,
            "eth_getStorageAt",
            json!([address, UNSAFE_BLOCK_SIGNER_SLOT, "latest"]),
        )
        .await;
        assert_eq!(word(&v), signer.into_word());
        let v = rpc::<Value>(
            &url,
            "eth_getStorageAt",
            json!([address, BATCHER_HASH_SLOT, "latest"]),
        )
        .await;
        assert_eq!(word(&v), batcher.into_word());
    }
    // Any other account has empty storage.
    let v = rpc::<Value>(
        &url,
        "eth_getStorageAt",
        json!([Address::repeat_byte(9), UNSAFE_BLOCK_SIGNER_SLOT, "latest"]),
    )
    .await;
    assert_eq!(word(&v), B256::ZERO);

    // A batcher change on chain 901's SystemConfig: its storage follows the log; 902's does not.
    let before = l1.head();
    let new_batcher = Address::repeat_byte(0xbb);
    l1.set_batcher_of(a1, new_batcher).unwrap();
    let after = l1.mine();
    let logs = rpc::<Value>(
        &url,
        "eth_getLogs",
        json!([{"address": a1, "fromBlock": format!("{:#x}", after.number), "toBlock": "latest"}]),
    )
    .await;
    let logs = logs.as_array().unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(
        word(
            &logs[0]["data"]
                .as_str()
                .map(|d| json!(format!("0x{}", &d[d.len() - 64..])))
                .unwrap()
        ),
        new_batcher.into_word()
    );
    let at = |n: u64| json!(format!("{n:#x}"));
    let v = rpc::<Value>(
        &url,
        "eth_getStorageAt",
        json!([a1, BATCHER_HASH_SLOT, at(after.number)]),
    )
    .await;
    assert_eq!(word(&v), new_batcher.into_word());
    let v = rpc::<Value>(
        &url,
        "eth_getStorageAt",
        json!([a1, BATCHER_HASH_SLOT, at(before.number)]),
    )
    .await;
    assert_eq!(word(&v), batcher.into_word());
    let v = rpc::<Value>(
        &url,
        "eth_getStorageAt",
        json!([a2, BATCHER_HASH_SLOT, {"blockHash": after.hash}]),
    )
    .await;
    assert_eq!(word(&v), batcher.into_word());

    // eth_getProof: values and storage proofs that verify against the storage hash.
    let v = rpc::<Value>(
        &url,
        "eth_getProof",
        json!([a1, [UNSAFE_BLOCK_SIGNER_SLOT, BATCHER_HASH_SLOT], "latest"]),
    )
    .await;
    let proof: EIP1186AccountProofResponse = serde_json::from_value(v).unwrap();
    assert_eq!(proof.address, a1);
    assert_eq!(proof.storage_proof.len(), 2);
    assert_eq!(
        proof.storage_proof[0].value,
        U256::from_be_bytes(s1.into_word().0)
    );
    assert_eq!(
        proof.storage_proof[1].value,
        U256::from_be_bytes(new_batcher.into_word().0)
    );
    for p in &proof.storage_proof {
        let key = Nibbles::unpack(keccak256(p.key.as_b256()));
        let value = alloy::rlp::encode(p.value);
        assert!(verify_proof(proof.storage_hash, key, Some(value), &p.proof).is_ok());
    }
    l1.stop().await;
}
