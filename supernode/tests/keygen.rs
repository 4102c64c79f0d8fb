//! `opfleet-supernode keygen` run as a process on temporary files.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use opfleet_attest::{PublicKey, keys};

const BIN: &str = env!("CARGO_BIN_EXE_opfleet-supernode");

#[test]
fn keygen_writes_a_0600_key_and_prints_its_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signer.key");
    let out = Command::new(BIN)
        .args(["keygen", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let line = printed.trim_end();
    assert!(line.starts_with("0x") && line.len() == 66, "{printed:?}");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let key = keys::load_secret_key(&path).unwrap();
    assert_eq!(line, PublicKey::of(&key).to_string());
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.len(), 65);
}

#[test]
fn keygen_refuses_to_overwrite_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signer.key");
    let first = Command::new(BIN)
        .arg("keygen")
        .env("OPFLEET_KEYGEN_OUT", &path)
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let before = std::fs::read(&path).unwrap();
    let second = Command::new(BIN)
        .args(["keygen", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn keygen_needs_an_output_path() {
    let out = Command::new(BIN)
        .arg("keygen")
        .env_remove("OPFLEET_KEYGEN_OUT")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out"));
}
