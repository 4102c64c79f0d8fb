//! The simulated L1 stays bounded: fed far more blocks than its windows, it holds about a window
//! of blocks and of blobs, and still holds what must remain (genesis, the finalized block, every
//! block a reorg may replace, the batcher set by a pruned `ConfigUpdate`).

use std::path::Path;

use alloy::consensus::{SignableTransaction, Signed, TxEip4844, TxEip4844Variant, TxEnvelope};
use alloy::eips::eip4844::{Blob, BlobTransactionSidecar};
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use opfleet_tests::l1::{L1Chain, L1Config};
use sha2::{Digest, Sha256};

const HISTORY: u64 = 30;
const BLOBS: u64 = 10;

fn config() -> L1Config {
    let mut config = L1Config::devnet().manual();
    config.history_retention = Some(HISTORY);
    config.blob_retention = Some(BLOBS);
    config
}

fn vector_blob() -> Blob {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/blobs/blob1.hex");
    let bytes =
        alloy::primitives::hex::decode(std::fs::read_to_string(&path).unwrap().trim()).unwrap();
    Blob::try_from(bytes.as_slice()).unwrap()
}

fn versioned_hash(blob: &Blob) -> B256 {
    let settings = c_kzg::ethereum_kzg_settings(0);
    let ckzg = Box::new(c_kzg::Blob::from_bytes(blob.as_slice()).unwrap());
    let commitment = settings.blob_to_kzg_commitment(&ckzg).unwrap().to_bytes();
    let mut hash: [u8; 32] = Sha256::digest(commitment.as_slice()).into();
    hash[0] = 0x01;
    B256::from(hash)
}

fn blob_tx(c: &L1Chain, inbox: Address, nonce: u64, hash: B256) -> TxEnvelope {
    let signer = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x22)).unwrap();
    let mut tx = TxEip4844 {
        chain_id: c.chain_id().get(),
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: inbox,
        value: U256::ZERO,
        access_list: Default::default(),
        blob_versioned_hashes: vec![hash],
        max_fee_per_blob_gas: 1_000_000_000,
        input: Default::default(),
    };
    let sig = signer.sign_transaction_sync(&mut tx).unwrap();
    let signed: Signed<TxEip4844Variant> = tx.into_signed(sig).into();
    TxEnvelope::from(signed)
}

#[test]
fn blocks_and_blobs_stay_within_their_windows() {
    let config = config();
    let mut c = L1Chain::new(&config, 1_700_000_000);
    let genesis = c.by_number(0).unwrap().hash;
    let blob = vector_blob();
    let hash = versioned_hash(&blob);
    // A batcher change early on: its log is pruned long before the end.
    c.set_batcher(Address::repeat_byte(0xbb)).unwrap();
    let mut first_tx = None;
    let blocks = 5 * HISTORY;
    let mut nonce = 0;
    for n in 0..blocks {
        // Blobs at the start (to be pruned) and at the end (to be kept): KZG is slow in debug.
        if n >= 2 * BLOBS && n < blocks - 2 * BLOBS {
            c.mine();
            continue;
        }
        let sidecar = BlobTransactionSidecar {
            blobs: vec![blob],
            commitments: Vec::new(),
            proofs: Vec::new(),
        };
        let tx = c
            .submit(blob_tx(&c, config.batch_inbox, nonce, hash), Some(sidecar))
            .unwrap();
        nonce += 1;
        first_tx.get_or_insert(tx);
        c.mine();
        // The windows plus the finalized lag (8) bound what is held.
        assert!(c.blocks_held() as u64 <= HISTORY + 2, "{}", c.blocks_held());
        assert!(c.blobs_held() as u64 <= BLOBS + 1, "{}", c.blobs_held());
    }
    let head = c.head().header.number;
    assert_eq!(head, blocks);
    // What must remain: genesis, finalized, and every block from the older window edge on.
    assert_eq!(c.by_number(0).unwrap().hash, genesis);
    assert_eq!(c.by_hash(&genesis).unwrap().header.number, 0);
    let finalized = c.finalized().header.number;
    assert_eq!(finalized, head - 8);
    for n in (head - HISTORY)..=head {
        assert!(c.by_number(n).is_some(), "block {n} pruned");
    }
    // Blobs of the last window are all served.
    for n in (head - BLOBS)..=head {
        let b = c.by_number(n).unwrap();
        assert_eq!(b.txs.iter().map(|m| m.tx.blobs.len()).sum::<usize>(), 1);
    }
    // Pruned: the block, its hash and its transactions are unknown.
    let old = head - HISTORY - 1;
    assert!(c.by_number(old).is_none());
    assert!(c.range(0, head).count() as u64 <= HISTORY + 2);
    assert!(c.tx_location(&first_tx.unwrap()).is_none());
    // The batcher set by a pruned log is still the batcher.
    assert_eq!(c.batcher(), Address::repeat_byte(0xbb));
    // A reorg down to just above finalized still finds every block it replays.
    let outcome = c.reorg(head - finalized).unwrap();
    assert_eq!(outcome.dropped.len() as u64, head - finalized);
    assert_eq!(
        c.by_number(finalized + 1).unwrap().header.parent_hash,
        c.by_number(finalized).unwrap().hash
    );
}

#[test]
fn windows_never_pass_the_finalized_block() {
    // A finalized lag longer than both windows: nothing at or above finalized goes.
    let mut config = config();
    config.tags = opfleet_tests::l1::TagLag::Blocks {
        safe: 50,
        finalized: 100,
    };
    let mut c = L1Chain::new(&config, 1_700_000_000);
    for _ in 0..400 {
        c.mine();
    }
    let finalized = c.finalized().header.number;
    assert_eq!(finalized, 300);
    assert_eq!(c.oldest_kept(), finalized);
    assert!(c.reorg(100).is_ok());
    assert_eq!(c.oldest_kept(), c.finalized().header.number);
}

#[test]
fn no_window_keeps_everything() {
    let mut config = config();
    config.history_retention = None;
    config.blob_retention = None;
    let mut c = L1Chain::new(&config, 1_700_000_000);
    for _ in 0..200 {
        c.mine();
    }
    assert_eq!(c.blocks_held(), 201);
    for n in 0..=200 {
        assert_eq!(c.by_number(n).unwrap().header.number, n);
    }
}
