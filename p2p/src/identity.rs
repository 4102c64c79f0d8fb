//! Persistent node identities, as op-node keeps them with `--p2p.priv.path`: the 32-byte
//! secp256k1 secret as lowercase hex (no `0x`, no newline) in a file created with mode 0600 on
//! first start and read back on every later start, so the peer id (and the ENR) survive
//! restarts.
//!
//! ```text
//!   path exists? ── yes ─► read, trim, hex ─► secp256k1 secret ─► Keypair   (errors name the file)
//!        └─ no ─► generate ─► write <path>.tmp (0600) ─► fsync ─► rename to <path> ─► Keypair
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use libp2p::identity::{Keypair, secp256k1};

use crate::blocks::config::{ConfigError, generate_identity, identity_from_hex};

/// op-node's default `--p2p.priv.path` file name; followers put it in their data directory.
pub const DEFAULT_BLOCK_GOSSIP_KEY_FILE: &str = "opnode_p2p_priv.txt";

/// The file name of the attestation gossip identity in a data directory.
pub const DEFAULT_ATTEST_GOSSIP_KEY_FILE: &str = "attest_p2p_priv.txt";

/// An identity key file that cannot be read, written or used.
#[derive(Debug, thiserror::Error)]
pub enum IdentityFileError {
    /// The file exists but cannot be read.
    #[error("p2p identity key file {path}: cannot read: {source}")]
    Read {
        /// The key file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file does not hold a usable secp256k1 secret key.
    #[error("p2p identity key file {path}: {source}")]
    Invalid {
        /// The key file.
        path: PathBuf,
        /// What is wrong with its contents.
        source: ConfigError,
    },
    /// A fresh key could not be stored.
    #[error("p2p identity key file {path}: cannot create: {source}")]
    Write {
        /// The key file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The identity is not secp256k1, so it has no op-node key file form.
    #[error("p2p identity key file {path}: only secp256k1 identities can be stored")]
    NotSecp256k1 {
        /// The key file.
        path: PathBuf,
    },
}

/// The identity stored at `path`, or a fresh one written there (0600) when the file is absent.
pub fn load_or_create_identity(path: &Path) -> Result<Keypair, IdentityFileError> {
    match std::fs::read_to_string(path) {
        Ok(text) => identity_from_hex(&text).map_err(|source| IdentityFileError::Invalid {
            path: path.to_owned(),
            source,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let identity = generate_identity();
            write_identity(path, &identity)?;
            tracing::info!(path = %path.display(), peer_id = %identity.public().to_peer_id(), "created p2p identity key");
            Ok(identity)
        }
        Err(source) => Err(IdentityFileError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Writes `identity`'s secret to `path` in op-node's format (hex, mode 0600), replacing the file
/// atomically so a crash never leaves half a key behind.
pub fn write_identity(path: &Path, identity: &Keypair) -> Result<(), IdentityFileError> {
    let keypair: secp256k1::Keypair =
        identity
            .clone()
            .try_into_secp256k1()
            .map_err(|_| IdentityFileError::NotSecp256k1 {
                path: path.to_owned(),
            })?;
    let hex = alloy::hex::encode(keypair.secret().to_bytes());
    let write_err = |source| IdentityFileError::Write {
        path: path.to_owned(),
        source,
    };
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(write_err)?;
    file.write_all(hex.as_bytes()).map_err(write_err)?;
    file.sync_all().map_err(write_err)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(write_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_BLOCK_GOSSIP_KEY_FILE);
        let first = load_or_create_identity(&path).unwrap();
        let second = load_or_create_identity(&path).unwrap();
        assert_eq!(first.public().to_peer_id(), second.public().to_peer_id());
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.len(),
            64,
            "op-node format: 64 hex chars, no prefix or newline"
        );
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!dir.path().join("opnode_p2p_priv.txt.tmp").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn reads_op_node_files_with_prefix_and_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
        std::fs::write(&path, format!("0x{key}\n")).unwrap();
        let loaded = load_or_create_identity(&path).unwrap();
        let expected = identity_from_hex(key).unwrap();
        assert_eq!(loaded.public().to_peer_id(), expected.public().to_peer_id());
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken_priv.txt");
        std::fs::write(&path, "not a key").unwrap();
        let err = load_or_create_identity(&path).unwrap_err();
        assert!(matches!(err, IdentityFileError::Invalid { .. }));
        assert!(err.to_string().contains("broken_priv.txt"), "{err}");
        // The corrupt file is left for the operator, never silently replaced.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key");
        std::fs::write(&path, "00".repeat(32)).unwrap();
        assert!(matches!(
            load_or_create_identity(&path),
            Err(IdentityFileError::Invalid { .. })
        ));
    }

    #[test]
    fn an_unwritable_place_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing_dir").join("key.txt");
        let err = load_or_create_identity(&path).unwrap_err();
        assert!(matches!(err, IdentityFileError::Write { .. }));
        assert!(err.to_string().contains("key.txt"), "{err}");
    }

    #[test]
    fn written_keys_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let identity = generate_identity();
        write_identity(&path, &identity).unwrap();
        let back = load_or_create_identity(&path).unwrap();
        assert_eq!(identity.public().to_peer_id(), back.public().to_peer_id());
        let ed = Keypair::generate_ed25519();
        assert!(matches!(
            write_identity(&path, &ed),
            Err(IdentityFileError::NotSecp256k1 { .. })
        ));
    }
}
