//! The simulated L1 seen through its JSON-RPC, as op-node sees it: every header rehashes to its
//! hash, transaction and receipt lists match their roots, tags lag the head, deposit and
//! SystemConfig logs decode, and a reorg replaces blocks without touching finalized ones.

mod l1_support;

use alloy::consensus::proofs::{calculate_receipt_root, calculate_transaction_root};
use alloy::consensus::{ReceiptEnvelope, SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Decodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy::rlp::Decodable;
use alloy::rpc::types::{Block, Log, TransactionReceipt};
use alloy::signers::local::PrivateKeySigner;
use l1_support::rpc;
use opfleet_protocol::deposit::{DEPOSIT_EVENT_TOPIC, deposit_from_log};
use opfleet_tests::l1::{DepositConfig, L1, L1Config, L1Handle};
use serde_json::{Value, json};

async fn manual_l1(max_deposits: u32) -> L1Handle {
    let mut config = L1Config::devnet().manual();
    config.genesis_time = Some(1_700_000_000);
    config.deposits = DepositConfig {
        max_per_block: max_deposits,
        seed: 42,
    };
    L1::spawn(config).await.unwrap()
}

/// Checks what op-node checks of a block from an untrusted RPC, and returns it.
async fn checked_block(url: &str, id: Value) -> Block {
    let raw: Value = rpc(url, "eth_getBlockByNumber", json!([id, true])).await;
    // Post-merge, post-Prague shape of the JSON itself.
    assert_eq!(raw["withdrawals"], json!([]));
    assert_eq!(raw["nonce"], json!("0x0000000000000000"));
    assert_eq!(raw["difficulty"], json!("0x0"));
    for field in [
        "parentBeaconBlockRoot",
        "requestsHash",
        "blobGasUsed",
        "excessBlobGas",
    ] {
        assert!(raw.get(field).is_some(), "missing {field} in {raw}");
    }
    let block: Block = serde_json::from_value(raw).unwrap();
    assert_eq!(block.header.inner.hash_slow(), block.header.hash);
    let txs: Vec<TxEnvelope> = block
        .transactions
        .txns()
        .map(|t| t.inner.inner().clone())
        .collect();
    assert_eq!(
        calculate_transaction_root(&txs),
        block.header.inner.transactions_root
    );
    let receipts: Vec<TransactionReceipt> = rpc(
        url,
        "eth_getBlockReceipts",
        json!([format!("{:#x}", block.header.inner.number)]),
    )
    .await;
    let consensus: Vec<ReceiptEnvelope> = receipts
        .iter()
        .map(|r| r.inner.clone().map_logs(|l: Log| l.inner))
        .collect();
    assert_eq!(
        calculate_receipt_root(&consensus),
        block.header.inner.receipts_root
    );
    block
}

#[tokio::test]
async fn blocks_rehash_link_and_match_their_roots() {
    let l1 = manual_l1(3).await;
    let url = l1.rpc_url();
    for _ in 0..12 {
        l1.mine();
    }
    let chain_id: U256 = rpc(&url, "eth_chainId", json!([])).await;
    assert_eq!(chain_id, U256::from(900));
    let head: U256 = rpc(&url, "eth_blockNumber", json!([])).await;
    assert_eq!(head, U256::from(12));

    let mut parent = checked_block(&url, json!("0x0")).await;
    assert_eq!(parent.header.inner.timestamp, 1_700_000_000);
    for n in 1..=12u64 {
        let block = checked_block(&url, json!(format!("{n:#x}"))).await;
        assert_eq!(block.header.inner.parent_hash, parent.header.hash);
        assert_eq!(
            block.header.inner.timestamp,
            parent.header.inner.timestamp + 2
        );
        let by_hash: Block = rpc(
            &url,
            "eth_getBlockByHash",
            json!([block.header.hash, false]),
        )
        .await;
        assert_eq!(by_hash.header.hash, block.header.hash);
        parent = block;
    }

    let latest = checked_block(&url, json!("latest")).await;
    let safe = checked_block(&url, json!("safe")).await;
    let finalized = checked_block(&url, json!("finalized")).await;
    assert_eq!(latest.header.hash, l1.head().hash);
    assert_eq!(safe.header.inner.number, 12 - 4);
    assert_eq!(finalized.header.inner.number, 12 - 8);
    assert_eq!(finalized.header.hash, l1.finalized().hash);

    // The raw encodings agree with the JSON objects.
    let raw_header: Bytes = rpc(&url, "debug_getRawHeader", json!(["latest"])).await;
    assert_eq!(keccak256(&raw_header), latest.header.hash);
    let raw_block: Bytes = rpc(&url, "debug_getRawBlock", json!([latest.header.hash])).await;
    let decoded = alloy::consensus::Block::<TxEnvelope>::decode(&mut raw_block.as_ref()).unwrap();
    assert_eq!(decoded.header.hash_slow(), latest.header.hash);
    assert_eq!(decoded.body.transactions.len(), latest.transactions.len());
    assert_eq!(latest.header.size, Some(U256::from(raw_block.len())));
    let raw_receipts: Vec<Bytes> = rpc(&url, "debug_getRawReceipts", json!(["latest"])).await;
    let receipts: Vec<ReceiptEnvelope> = raw_receipts
        .iter()
        .map(|r| ReceiptEnvelope::decode_2718(&mut r.as_ref()).unwrap())
        .collect();
    assert_eq!(
        calculate_receipt_root(&receipts),
        latest.header.inner.receipts_root
    );

    // Unknown blocks are null, as in geth.
    let missing: Option<Block> = rpc(&url, "eth_getBlockByNumber", json!(["0x64", false])).await;
    assert!(missing.is_none());
    l1.stop().await;
}

#[tokio::test]
async fn deposit_logs_decode_into_deposit_transactions() {
    let l1 = manual_l1(3).await;
    let url = l1.rpc_url();
    for _ in 0..10 {
        l1.mine();
    }
    let logs: Vec<Log> = rpc(
        &url,
        "eth_getLogs",
        json!([{
            "fromBlock": "0x0",
            "toBlock": "latest",
            "address": l1.portal(),
            "topics": [DEPOSIT_EVENT_TOPIC],
        }]),
    )
    .await;
    // Count the portal's logs in every receipt independently of eth_getLogs.
    let mut expected = 0;
    for n in 0..=10u64 {
        let receipts: Vec<TransactionReceipt> =
            rpc(&url, "eth_getBlockReceipts", json!([format!("{n:#x}")])).await;
        expected += receipts
            .iter()
            .flat_map(|r| r.inner.logs())
            .filter(|l| l.address() == l1.portal())
            .count();
    }
    assert!(!logs.is_empty());
    assert_eq!(logs.len(), expected);
    for log in &logs {
        let block_hash = log.block_hash.unwrap();
        let deposit =
            deposit_from_log(l1.portal(), block_hash, log.log_index.unwrap(), &log.inner).unwrap();
        // The depositor is the sender of the L1 transaction that carries the log.
        let receipt: TransactionReceipt = rpc(
            &url,
            "eth_getTransactionReceipt",
            json!([log.transaction_hash.unwrap()]),
        )
        .await;
        assert_eq!(receipt.from, deposit.from);
        assert_eq!(receipt.to, Some(l1.portal()));
        assert_eq!(receipt.block_hash, Some(block_hash));
        assert!(receipt.inner.status());
    }
    l1.stop().await;
}

#[tokio::test]
async fn set_batcher_emits_a_config_update_log() {
    let l1 = manual_l1(0).await;
    let url = l1.rpc_url();
    let batcher = Address::repeat_byte(0xba);
    let tx = l1.set_batcher(batcher).unwrap();
    let mined = l1.mine();
    let logs: Vec<Log> = rpc(
        &url,
        "eth_getLogs",
        json!([{
            "blockHash": mined.hash,
            "address": l1.system_config(),
            "topics": [keccak256("ConfigUpdate(uint256,uint8,bytes)"), B256::ZERO, B256::ZERO],
        }]),
    )
    .await;
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].transaction_hash, Some(tx));
    let data = &logs[0].inner.data.data;
    assert_eq!(data.len(), 96);
    assert_eq!(&data[76..96], batcher.as_slice());
    l1.stop().await;
}

fn batcher_tx(l1: &L1Handle, nonce: u64) -> TxEnvelope {
    let signer = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).unwrap();
    let mut tx = TxEip1559 {
        chain_id: l1.chain_id().get(),
        nonce,
        gas_limit: 100_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(l1.batch_inbox()),
        value: U256::ZERO,
        access_list: Default::default(),
        input: Bytes::from_static(&[0x00, 0xde, 0xad, 0xbe, 0xef]),
    };
    let sig = signer.sign_transaction_sync(&mut tx).unwrap();
    TxEnvelope::from(tx.into_signed(sig))
}

#[tokio::test]
async fn reorg_replaces_the_tip_and_keeps_finalized() {
    let l1 = manual_l1(2).await;
    let url = l1.rpc_url();
    for _ in 0..11 {
        l1.mine();
    }
    let batch = l1.submit(batcher_tx(&l1, 0), None).unwrap();
    l1.mine();
    let old_head = l1.head();
    let old_finalized: Block = rpc(&url, "eth_getBlockByNumber", json!(["finalized", false])).await;
    let old_tip: Vec<B256> = [11u64, 12]
        .iter()
        .map(|n| l1.with_chain(|c| c.by_number(*n).unwrap().hash))
        .collect();
    let before: TransactionReceipt = rpc(&url, "eth_getTransactionReceipt", json!([batch])).await;
    assert_eq!(before.block_hash, Some(old_head.hash));

    let outcome = l1.reorg(2).unwrap();
    assert_eq!(
        outcome.dropped.iter().map(|b| b.hash).collect::<Vec<_>>(),
        old_tip
    );

    let head = checked_block(&url, json!("latest")).await;
    assert_eq!(head.header.inner.number, 13);
    assert_ne!(head.header.hash, old_head.hash);
    for hash in &old_tip {
        let gone: Option<Block> = rpc(&url, "eth_getBlockByHash", json!([hash, false])).await;
        assert!(gone.is_none(), "block {hash} survived the reorg");
    }
    // The new branch links back to the untouched block 10.
    let b11 = checked_block(&url, json!("0xb")).await;
    let b10 = checked_block(&url, json!("0xa")).await;
    assert_eq!(b11.header.inner.parent_hash, b10.header.hash);
    // The finalized block is still there, unchanged.
    let still: Block = rpc(
        &url,
        "eth_getBlockByHash",
        json!([old_finalized.header.hash, false]),
    )
    .await;
    assert_eq!(still.header.inner.number, old_finalized.header.inner.number);
    let finalized: Block = rpc(&url, "eth_getBlockByNumber", json!(["finalized", false])).await;
    assert!(finalized.header.inner.number >= old_finalized.header.inner.number);

    // The batch was re-included, in a block of the new branch.
    let after: TransactionReceipt = rpc(&url, "eth_getTransactionReceipt", json!([batch])).await;
    assert_ne!(after.block_hash, before.block_hash);
    let block: Block = rpc(
        &url,
        "eth_getBlockByHash",
        json!([after.block_hash.unwrap(), false]),
    )
    .await;
    assert!(block.transactions.hashes().any(|h| h == batch));

    // Too deep: the finalized block would go.
    assert!(l1.reorg(20).is_err());
    l1.stop().await;
}

#[tokio::test]
async fn timer_mines_blocks_in_step_with_the_clock() {
    let mut config = L1Config::devnet();
    config.block_time = 1;
    let l1 = L1::spawn(config).await.unwrap();
    let start = l1.head();
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let head = l1.head();
    assert!(head.number > start.number, "no block in 2.5 s");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(head.timestamp <= now);
    l1.stop().await;
}
