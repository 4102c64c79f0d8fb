//! Signer keys: the public key as `0x` hex, and the secret key file (DESIGN: the 32-byte secret
//! seed as 64 hex characters on one line, file mode 0600).
//!
//! Loading refuses a file that group or others can access, the way ssh refuses such a key: a
//! leaked attestation key lets anyone vote as a pool member.

use core::fmt;
use core::str::FromStr;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use alloy::primitives::hex;
pub use ed25519_dalek::SigningKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ed25519 public key as it appears on the wire: 32 bytes, shown as `0x` hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// The public key of a signing key.
    pub fn of(key: &SigningKey) -> Self {
        Self(key.verifying_key().to_bytes())
    }

    /// The raw 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A public key that is not `0x` followed by 64 hex characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid public key {0:?}: expected 0x followed by 64 hex characters (32 bytes)")]
pub struct ParsePublicKeyError(pub String);

impl FromStr for PublicKey {
    type Err = ParsePublicKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let digits = t
            .strip_prefix("0x")
            .or_else(|| t.strip_prefix("0X"))
            .ok_or_else(|| ParsePublicKeyError(s.to_string()))?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(digits, &mut out).map_err(|_| ParsePublicKeyError(s.to_string()))?;
        Ok(Self(out))
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A key file that cannot be written, read or trusted.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The OS failed us (missing file, no permission, disk full...).
    #[error("key file {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Refused to overwrite an existing key.
    #[error("key file {0} already exists; refusing to overwrite a key (move it away first)")]
    AlreadyExists(PathBuf),
    /// Group or others may access the secret key.
    #[error(
        "key file {path} has mode {mode:04o}, which lets group or others access the secret key; \
         fix it with `chmod 600 {path}`"
    )]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The content is not one line of 64 hex characters.
    #[error("key file {path}: {reason}")]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// What is wrong, with the offending position.
        reason: String,
    },
}

/// A fresh signing key from the operating system's random source.
pub fn generate() -> Result<SigningKey, getrandom::Error> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Writes `key` as a new key file with mode 0600; never overwrites an existing file.
pub fn save_secret_key(path: &Path, key: &SigningKey) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Mode is set at creation so the secret is never readable by others, not even briefly.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                KeyFileError::AlreadyExists(path.to_path_buf())
            } else {
                io(e)
            }
        })?;
    let line = format!("{}\n", hex::encode(key.to_bytes()));
    file.write_all(line.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Reads a key file, refusing one that group or others can access.
pub fn load_secret_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    parse_secret_key(&text).map_err(|reason| KeyFileError::Malformed {
        path: path.to_path_buf(),
        reason,
    })
}

/// Parses key file content: 64 hex characters, optionally followed by one line ending.
fn parse_secret_key(text: &str) -> Result<SigningKey, String> {
    let line = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    if let Some((i, c)) = line.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(format!(
            "character {c:?} at byte offset {i} is not a hex digit; expected one line of 64 hex characters"
        ));
    }
    if line.len() != 64 {
        return Err(format!(
            "expected one line of 64 hex characters (a 32-byte seed), found {} characters",
            line.len()
        ));
    }
    let mut seed = [0u8; 32];
    hex::decode_to_slice(line, &mut seed).map_err(|e| format!("invalid hex: {e}"))?;
    Ok(SigningKey::from_bytes(&seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032 section 7.1, TEST 1.
    const RFC8032_TEST1_SECRET: &str =
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const RFC8032_TEST1_PUBLIC: &str =
        "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    #[test]
    fn rfc8032_test1_public_key_from_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, format!("{RFC8032_TEST1_SECRET}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let key = load_secret_key(&path).unwrap();
        assert_eq!(PublicKey::of(&key).to_string(), RFC8032_TEST1_PUBLIC);
    }

    #[test]
    fn save_then_load_round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let key = generate().unwrap();
        save_secret_key(&path, &key).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 65);
        assert!(text.ends_with('\n'));
        let back = load_secret_key(&path).unwrap();
        assert_eq!(back.to_bytes(), key.to_bytes());
    }

    #[test]
    fn refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        save_secret_key(&path, &generate().unwrap()).unwrap();
        let err = save_secret_key(&path, &generate().unwrap()).unwrap_err();
        assert!(matches!(err, KeyFileError::AlreadyExists(_)), "{err}");
    }

    #[test]
    fn refuses_group_or_other_access_and_says_how_to_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        save_secret_key(&path, &generate().unwrap()).unwrap();
        for mode in [0o640, 0o604, 0o644, 0o660, 0o602, 0o620] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = load_secret_key(&path).unwrap_err();
            assert!(
                matches!(err, KeyFileError::InsecurePermissions { mode: m, .. } if m == mode),
                "{err}"
            );
            let msg = err.to_string();
            assert!(msg.contains("chmod 600"), "{msg}");
            assert!(msg.contains(&path.display().to_string()), "{msg}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(load_secret_key(&path).is_ok());
    }

    #[test]
    fn malformed_content_names_the_problem() {
        assert!(parse_secret_key(RFC8032_TEST1_SECRET).is_ok());
        assert!(parse_secret_key(&format!("{RFC8032_TEST1_SECRET}\r\n")).is_ok());
        let short = parse_secret_key("abcd\n").err().unwrap();
        assert!(short.contains("found 4 characters"), "{short}");
        let bad = parse_secret_key(&format!("0x{}", &RFC8032_TEST1_SECRET[2..]))
            .err()
            .unwrap();
        assert!(bad.contains("offset 1"), "{bad}");
        let two_lines = parse_secret_key(&format!("{RFC8032_TEST1_SECRET}\n\n"))
            .err()
            .unwrap();
        assert!(two_lines.contains("offset 64"), "{two_lines}");
        assert!(parse_secret_key("").is_err());
    }

    #[test]
    fn public_key_hex_round_trip_and_rejections() {
        let pk: PublicKey = RFC8032_TEST1_PUBLIC.parse().unwrap();
        assert_eq!(pk.to_string(), RFC8032_TEST1_PUBLIC);
        assert_eq!(
            serde_json::to_string(&pk).unwrap(),
            format!("\"{RFC8032_TEST1_PUBLIC}\"")
        );
        assert!(RFC8032_TEST1_PUBLIC[2..].parse::<PublicKey>().is_err());
        assert!("0x1234".parse::<PublicKey>().is_err());
        assert!(
            format!("{RFC8032_TEST1_PUBLIC}00")
                .parse::<PublicKey>()
                .is_err()
        );
        assert!("0xzz".parse::<PublicKey>().is_err());
    }
}
