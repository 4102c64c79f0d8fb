//! `opfleet-follower attestation verify` run as a process on temporary files.

use std::path::Path;
use std::process::{Command, Output};

use alloy::primitives::{B256, hex};
use opfleet_attest::{Attestation, AttestationKind, PublicKey, SignedAttestation, SigningKey};
use opfleet_protocol::{BlockId, ChainId, L2BlockRef};

const BIN: &str = env!("CARGO_BIN_EXE_opfleet-follower");

fn key() -> SigningKey {
    SigningKey::from_bytes(&[0x42; 32])
}

fn signed() -> SignedAttestation {
    let a = Attestation {
        kind: AttestationKind::Safe,
        chain_id: ChainId(11155420),
        block: L2BlockRef {
            hash: B256::repeat_byte(1),
            number: 1234,
            parent_hash: B256::repeat_byte(2),
            timestamp: 1_700_000_000,
            l1_origin: BlockId {
                hash: B256::repeat_byte(3),
                number: 99,
            },
            sequence_number: 4,
        },
        derived_from: BlockId {
            hash: B256::repeat_byte(5),
            number: 100,
        },
        output_root: B256::repeat_byte(6),
        issued_at_ms: 1_700_000_000_500,
    };
    SignedAttestation::sign(a, &key())
}

fn verify(file: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let out = Command::new(BIN)
        .args(["attestation", "verify"])
        .arg(file)
        .args(extra)
        .env_remove("OPFLEET_TRUST")
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, json)
}

#[test]
fn valid_in_every_form() {
    let dir = tempfile::tempdir().unwrap();
    let s = signed();
    let forms: [(&str, Vec<u8>); 4] = [
        ("a.json", serde_json::to_vec_pretty(&s).unwrap()),
        ("a.bin", s.to_wire().to_vec()),
        ("a.hex", hex::encode(s.to_wire()).into_bytes()),
        (
            "a0x.hex",
            format!("0x{}\n", hex::encode(s.to_wire())).into_bytes(),
        ),
    ];
    for (name, content) in forms {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let (out, json) = verify(&path, &[]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(json["valid"], true, "{name}");
        assert!(json.get("reason").is_none());
        assert_eq!(json["chainId"], "11155420");
        assert_eq!(json["block"]["number"], 1234);
        assert_eq!(json["signer"], PublicKey::of(&key()).to_string());
    }
}

#[test]
fn tampered_is_invalid_with_a_reason_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = signed().to_wire();
    w[50] ^= 1;
    let path = dir.path().join("t.bin");
    std::fs::write(&path, w).unwrap();
    let (out, json) = verify(&path, &[]);
    assert!(!out.status.success());
    assert_eq!(json["valid"], false);
    assert!(json["reason"].as_str().unwrap().contains("does not verify"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid attestation"));
}

#[test]
fn trust_set_is_enforced_and_has_an_env_twin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.json");
    std::fs::write(&path, serde_json::to_vec(&signed()).unwrap()).unwrap();
    let me = PublicKey::of(&key()).to_string();
    let stranger = PublicKey::of(&SigningKey::from_bytes(&[1; 32])).to_string();

    let (out, json) = verify(&path, &["--trust", &stranger]);
    assert!(!out.status.success());
    assert_eq!(json["valid"], false);
    assert!(json["reason"].as_str().unwrap().contains("not among"));

    let (out, json) = verify(&path, &["--trust", &stranger, "--trust", &me]);
    assert!(out.status.success());
    assert_eq!(json["valid"], true);

    let out = Command::new(BIN)
        .args(["attestation", "verify"])
        .arg(&path)
        .env("OPFLEET_TRUST", format!("{stranger},{me}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(BIN)
        .args(["attestation", "verify"])
        .arg(&path)
        .env("OPFLEET_TRUST", &stranger)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn undecodable_input_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk");
    std::fs::write(&path, "not an attestation").unwrap();
    let (out, _) = verify(&path, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("decoding"), "{err}");

    let (out, _) = verify(&dir.path().join("missing"), &[]);
    assert!(!out.status.success());

    let (out, _) = verify(&path, &["--trust", "0x1234"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid public key"));
}
