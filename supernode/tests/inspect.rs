//! `opfleet-supernode inspect` end to end: real batcher transactions and blobs built from the
//! public span-batch channel vector, and corrupt inputs that must fail with a clear error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use alloy::consensus::{SignableTransaction, TxEip1559, TxEip4844, TxEnvelope};
use alloy::eips::Encodable2718;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256, address, hex};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use opfleet_protocol::batcher_data::encode_frames;
use opfleet_protocol::blob::Blob;
use opfleet_protocol::frame::{ChannelId, split_channel};
use serde_json::Value;

/// OP Mainnet's batch inbox. The vector's span batch fits OP Mainnet: against its genesis the
/// span starts on 2024-06-14, the time of its L1 origin 20,089,770.
const OP_MAINNET_INBOX: Address = address!("0xff00000000000000000000000000000000000010");
/// Frame data size op-batcher uses for calldata (about 120 kB per transaction).
const CALLDATA_FRAME: usize = 120_000;
/// The well-known first dev key of anvil/hardhat: a stand-in batcher key, never a real one.
const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const EXAMPLE: &str = "deploy/examples/span-batch-tx.hex";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn channel_vector() -> Vec<u8> {
    let path = root().join("../shared/vectors/batches/zlib_channel_span_batch.hex");
    let text = std::fs::read_to_string(&path).unwrap();
    hex::decode(text.trim()).unwrap()
}

fn channel_id() -> ChannelId {
    ChannelId(*b"opfleet-example!")
}

/// The whole channel as one batcher calldata: version byte then every frame.
fn calldata() -> Vec<u8> {
    let frames = split_channel(channel_id(), &channel_vector(), CALLDATA_FRAME).unwrap();
    assert!(frames.len() > 1, "the example must span several frames");
    encode_frames(&frames).unwrap()
}

fn signer() -> PrivateKeySigner {
    DEV_KEY.parse().unwrap()
}

/// A signed EIP-1559 batcher transaction to OP Mainnet's inbox; signing is deterministic
/// (RFC 6979), so the bytes are reproducible.
fn batcher_tx(data: Vec<u8>) -> Vec<u8> {
    let tx = TxEip1559 {
        chain_id: 1,
        nonce: 7,
        gas_limit: 10_000_000,
        max_fee_per_gas: 30_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(OP_MAINNET_INBOX),
        value: U256::ZERO,
        access_list: Default::default(),
        input: Bytes::from(data),
    };
    let sig = signer().sign_hash_sync(&tx.signature_hash()).unwrap();
    TxEnvelope::from(tx.into_signed(sig)).encoded_2718()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opfleet-supernode"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

/// Checks the report of the vector's channel, however it was carried.
fn assert_vector_channel(report: &Value) {
    let channels = report["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 1, "{report:#}");
    let c = &channels[0];
    assert_eq!(c["id"], channel_id().to_string());
    assert_eq!(c["complete"], true);
    assert_eq!(c["compression"], "zlib");
    assert_eq!(c["compressed_len"], channel_vector().len());
    // 1,409,459 bytes of span batch inside a 4-byte RLP string header.
    assert_eq!(c["decompressed_len"], 1_409_463);
    assert!(c.get("error").is_none(), "{c:#}");
    let batches = c["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!(b["type"], "span");
    assert_eq!(b["block_count"], 143);
    assert_eq!(b["tx_count"], 1766);
    for key in ["rel_timestamp", "l1_origin_num"] {
        assert!(b[key].as_u64().unwrap() > 0, "{key}");
    }
    for key in ["parent_check", "l1_origin_check"] {
        assert_eq!(b[key].as_str().unwrap().len(), 2 + 40, "{key}");
    }
    let frames = report["frames"].as_array().unwrap();
    let expected = channel_vector().len().div_ceil(CALLDATA_FRAME);
    assert_eq!(frames.len(), expected);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f["frame_number"], i);
        assert_eq!(f["is_last"], i + 1 == expected);
    }
}

#[test]
fn example_file_is_the_reproducible_batcher_tx() {
    let tx = batcher_tx(calldata());
    let text = format!("0x{}\n", hex::encode(&tx));
    let path = root().join(EXAMPLE);
    if std::env::var_os("OPFLEET_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap();
    assert!(
        on_disk == text,
        "{EXAMPLE} differs: regenerate with OPFLEET_BLESS=1"
    );
}

#[test]
fn signed_tx_with_chain_gives_blocks_and_timestamps() {
    let out = run(&["inspect", "batcher-tx", EXAMPLE, "--chain", "op-mainnet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert_vector_channel(&report);
    let input = &report["inputs"][0];
    assert_eq!(input["kind"], "transaction");
    assert_eq!(
        input["from"].as_str().unwrap().to_lowercase(),
        signer().address().to_string().to_lowercase()
    );
    assert_eq!(input["to_batch_inbox"], true);
    let b = &report["channels"][0]["batches"][0];
    let (first, last) = (
        b["first_block"].as_u64().unwrap(),
        b["last_block"].as_u64().unwrap(),
    );
    assert_eq!(last - first + 1, 143);
    let (t0, t1) = (
        b["first_timestamp"].as_u64().unwrap(),
        b["last_timestamp"].as_u64().unwrap(),
    );
    assert_eq!(t1 - t0, 142 * 2);
    // OP Mainnet genesis: block 105235063 at 1686068903.
    assert_eq!(first - 105_235_063, (t0 - 1_686_068_903) / 2);
}

#[test]
fn bare_calldata_raw_and_hex() {
    let dir = tempfile::tempdir().unwrap();
    let data = calldata();
    let raw = write(&dir, "calldata.bin", &data);
    let hexed = write(
        &dir,
        "calldata.hex",
        format!("0x{}", hex::encode(&data)).as_bytes(),
    );
    for file in [raw, hexed] {
        let out = run(&["inspect", "batcher-tx", &file]);
        assert!(out.status.success(), "{}", stderr(&out));
        let report = json(&out);
        assert_vector_channel(&report);
        assert_eq!(report["inputs"][0]["kind"], "calldata");
        assert!(
            report["channels"][0]["batches"][0]
                .get("first_block")
                .is_none()
        );
    }
}

#[test]
fn channel_spread_over_several_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let frames = split_channel(channel_id(), &channel_vector(), CALLDATA_FRAME).unwrap();
    let files: Vec<String> = frames
        .iter()
        .enumerate()
        .rev() // any transaction order: frames are collected by number
        .map(|(i, f)| {
            let tx = batcher_tx(encode_frames(std::slice::from_ref(f)).unwrap());
            write(&dir, &format!("tx{i}.bin"), &tx)
        })
        .collect();
    let mut args = vec!["inspect", "batcher-tx"];
    args.extend(files.iter().map(String::as_str));
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["inputs"].as_array().unwrap().len(), frames.len());
    assert_eq!(report["channels"][0]["complete"], true);
    assert_eq!(report["channels"][0]["batches"][0]["block_count"], 143);
}

#[test]
fn blobs_carry_the_same_channel() {
    let dir = tempfile::tempdir().unwrap();
    // One frame per blob, sized to fit a blob with the version byte and frame header.
    let frames = split_channel(channel_id(), &channel_vector(), 130_000).unwrap();
    let mut args = vec!["inspect".to_string(), "blob".to_string()];
    for (i, f) in frames.iter().enumerate() {
        let blob = Blob::encode(&encode_frames(std::slice::from_ref(f)).unwrap()).unwrap();
        let contents = if i % 2 == 0 {
            blob.to_hex().into_bytes()
        } else {
            blob.as_bytes().to_vec()
        };
        args.push(write(&dir, &format!("blob{i}"), &contents));
    }
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["inputs"][0]["kind"], "blob");
    assert_eq!(report["channels"][0]["batches"][0]["tx_count"], 1766);
}

#[test]
fn blob_transaction_points_at_its_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let tx = TxEip4844 {
        chain_id: 1,
        nonce: 1,
        gas_limit: 21_000,
        max_fee_per_gas: 30_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: OP_MAINNET_INBOX,
        value: U256::ZERO,
        access_list: Default::default(),
        blob_versioned_hashes: vec![B256::repeat_byte(0x01)],
        max_fee_per_blob_gas: 1,
        input: Bytes::new(),
    };
    let sig = signer().sign_hash_sync(&tx.signature_hash()).unwrap();
    let raw = TxEnvelope::from(tx.into_signed(sig)).encoded_2718();
    let out = run(&["inspect", "batcher-tx", &write(&dir, "blobtx", &raw)]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("inspect blob") && err.contains("0x0101"),
        "{err}"
    );
}

#[test]
fn corrupt_inputs_fail_with_a_named_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = calldata();

    // Truncated inside a frame: the tx is dropped whole; the error names the file.
    let cut = write(&dir, "cut.bin", &data[..data.len() - 10]);
    let out = run(&["inspect", "batcher-tx", &cut]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("cut.bin") && err.contains("offset"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // Alt-DA commitment.
    let alt = write(&dir, "altda.bin", &[0x01, 0x00, 0xaa]);
    let err = stderr(&run(&["inspect", "batcher-tx", &alt]));
    assert!(err.contains("altda.bin") && err.contains("alt-DA"), "{err}");

    // Garbage.
    let junk = write(&dir, "junk.bin", b"\xf0hello world");
    let err = stderr(&run(&["inspect", "batcher-tx", &junk]));
    assert!(
        err.contains("junk.bin") && err.contains("neither a signed L1 transaction"),
        "{err}"
    );

    // Empty and missing files.
    let empty = write(&dir, "empty.bin", b"");
    assert!(stderr(&run(&["inspect", "batcher-tx", &empty])).contains("empty.bin: empty input"));
    let err = stderr(&run(&["inspect", "batcher-tx", "/nonexistent/tx.hex"]));
    assert!(err.contains("/nonexistent/tx.hex"), "{err}");

    // A blob whose field element has its top bits set.
    let mut blob = Blob::encode(b"hello").unwrap().as_bytes().to_vec();
    blob[32 * 5] = 0xff;
    let err = stderr(&run(&["inspect", "blob", &write(&dir, "bad.blob", &blob)]));
    assert!(
        err.contains("bad.blob") && err.contains("field element"),
        "{err}"
    );

    // Unknown chain.
    let ok = write(&dir, "ok.bin", &data);
    let err = stderr(&run(&[
        "inspect",
        "batcher-tx",
        &ok,
        "--chain",
        "no-such-chain",
    ]));
    assert!(err.contains("no-such-chain"), "{err}");
}

#[test]
fn corrupt_channel_reports_json_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mut channel = channel_vector();
    let mid = channel.len() / 2;
    for b in &mut channel[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let frames = split_channel(channel_id(), &channel, CALLDATA_FRAME).unwrap();
    let file = write(&dir, "broken.bin", &encode_frames(&frames).unwrap());
    let out = run(&["inspect", "batcher-tx", &file]);
    assert!(!out.status.success());
    let report = json(&out);
    let c = &report["channels"][0];
    assert_eq!(c["complete"], true);
    assert!(c["error"].as_str().unwrap().len() > 10, "{c:#}");
    assert!(stderr(&out).contains(&channel_id().to_string()));
}

#[test]
fn incomplete_channel_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let frames = split_channel(channel_id(), &channel_vector(), CALLDATA_FRAME).unwrap();
    let file = write(&dir, "first.bin", &encode_frames(&frames[..2]).unwrap());
    let out = run(&["inspect", "batcher-tx", &file]);
    assert!(!out.status.success());
    let report = json(&out);
    assert_eq!(report["channels"][0]["complete"], false);
    assert_eq!(report["frames"].as_array().unwrap().len(), 2);
    assert!(stderr(&out).contains("incomplete"));
}
