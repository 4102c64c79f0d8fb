//! The fleet's pre-shared key in go-libp2p's `swarm.key` format (IPFS private networks).
//!
//! ```text
//!   /key/swarm/psk/1.0.0/
//!   /base16/
//!   <64 hex characters = 32 key bytes>
//! ```
//!
//! Every connection of the attestation network is XSalsa20-encrypted with this key before any
//! libp2p handshake, so a node without it cannot even negotiate a protocol.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use libp2p::pnet::PreSharedKey;

/// First line of a swarm key file.
pub const SWARM_KEY_HEADER: &str = "/key/swarm/psk/1.0.0/";

/// Second line: the only encoding supported (go-libp2p's `/base16/`).
pub const SWARM_KEY_ENCODING: &str = "/base16/";

/// Key length in bytes.
pub const SWARM_KEY_LEN: usize = 32;

/// Swarm key text that is not a base16 swarm key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwarmKeyFormatError {
    /// Fewer than three lines.
    #[error("line {0} is missing (expected header, encoding and key lines)")]
    MissingLine(usize),
    /// Line 1 is not the PSK v1 header.
    #[error("line 1 is {0:?}, expected {SWARM_KEY_HEADER:?}")]
    BadHeader(String),
    /// Line 2 names an encoding other than base16.
    #[error("line 2 is {0:?}, expected {SWARM_KEY_ENCODING:?} (only base16 is supported)")]
    BadEncoding(String),
    /// A key character that is not a hex digit.
    #[error("line 3: character {character:?} at offset {offset} is not a hex digit")]
    BadHex {
        /// The character.
        character: char,
        /// Its byte offset in line 3.
        offset: usize,
    },
    /// The key is not 64 hex characters.
    #[error("line 3: {0} hex characters, expected {len}", len = SWARM_KEY_LEN * 2)]
    WrongLength(usize),
    /// Something follows the key line.
    #[error("line {0}: unexpected content after the key")]
    TrailingContent(usize),
}

/// A swarm key file that cannot be read, written or parsed; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum SwarmKeyError {
    /// The OS failed (missing file, permissions, disk full...).
    #[error("swarm key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The content is not a swarm key.
    #[error("swarm key file {path}: {source}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        source: SwarmKeyFormatError,
    },
    /// No randomness available for a new key.
    #[error("generating a swarm key: {0}")]
    Random(String),
}

/// The fleet's 32-byte pre-shared key. `Debug` shows only its fingerprint.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SwarmKey([u8; SWARM_KEY_LEN]);

impl SwarmKey {
    /// A key from its raw bytes.
    pub const fn from_bytes(bytes: [u8; SWARM_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, SwarmKeyError> {
        let mut bytes = [0u8; SWARM_KEY_LEN];
        getrandom::fill(&mut bytes).map_err(|e| SwarmKeyError::Random(e.to_string()))?;
        Ok(Self(bytes))
    }

    /// Reads a swarm key file.
    pub fn from_file(path: &Path) -> Result<Self, SwarmKeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| SwarmKeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        text.parse().map_err(|source| SwarmKeyError::Format {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Writes the key file with mode 0600 (replacing an existing file's content and mode).
    pub fn to_file(&self, path: &Path) -> Result<(), SwarmKeyError> {
        let io = |source| SwarmKeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        // Mode at creation keeps a new file private from the first byte; set_permissions
        // tightens a file that existed before.
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
        file.write_all(self.to_file_text().as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)
    }

    /// The file content: header, encoding, lowercase hex key, each line ending in `\n`.
    pub fn to_file_text(&self) -> String {
        format!(
            "{SWARM_KEY_HEADER}\n{SWARM_KEY_ENCODING}\n{}\n",
            alloy::hex::encode(self.0)
        )
    }

    /// The raw key bytes.
    pub const fn as_bytes(&self) -> &[u8; SWARM_KEY_LEN] {
        &self.0
    }

    /// go-libp2p's key fingerprint (hex), safe to log: operators compare it across the fleet.
    pub fn fingerprint(&self) -> String {
        self.psk().fingerprint().to_string()
    }

    /// The key as libp2p's pnet wants it.
    pub fn psk(&self) -> PreSharedKey {
        PreSharedKey::new(self.0)
    }
}

impl fmt::Debug for SwarmKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SwarmKey")
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

/// Strips one trailing `\r` (files written on Windows) and trailing spaces or tabs.
fn clean(line: &str) -> &str {
    line.trim_end_matches(['\r', ' ', '\t'])
}

impl FromStr for SwarmKey {
    type Err = SwarmKeyFormatError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut lines = text.split('\n');
        let mut line = |n: usize| {
            lines
                .next()
                .map(clean)
                .ok_or(SwarmKeyFormatError::MissingLine(n))
        };
        let header = line(1)?;
        if header != SWARM_KEY_HEADER {
            return Err(SwarmKeyFormatError::BadHeader(header.to_owned()));
        }
        let encoding = line(2)?;
        if encoding != SWARM_KEY_ENCODING {
            return Err(SwarmKeyFormatError::BadEncoding(encoding.to_owned()));
        }
        let key = line(3)?;
        if key.is_empty() {
            return Err(SwarmKeyFormatError::MissingLine(3));
        }
        if let Some((offset, character)) = key.char_indices().find(|(_, c)| !c.is_ascii_hexdigit())
        {
            return Err(SwarmKeyFormatError::BadHex { character, offset });
        }
        if key.len() != SWARM_KEY_LEN * 2 {
            return Err(SwarmKeyFormatError::WrongLength(key.len()));
        }
        for (i, rest) in lines.enumerate() {
            if !clean(rest).is_empty() {
                return Err(SwarmKeyFormatError::TrailingContent(i + 4));
            }
        }
        let mut bytes = [0u8; SWARM_KEY_LEN];
        alloy::hex::decode_to_slice(key, &mut bytes)
            .map_err(|_| SwarmKeyFormatError::WrongLength(key.len()))?;
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn parses_go_libp2p_format_and_round_trips() {
        let text = format!("/key/swarm/psk/1.0.0/\n/base16/\n{KEY_HEX}\n");
        let key: SwarmKey = text.parse().unwrap();
        let expected: Vec<u8> = (0u8..32).collect();
        assert_eq!(key.as_bytes().as_slice(), expected.as_slice());
        assert_eq!(key.to_file_text(), text);
        // Same text libp2p's own formatter writes, and libp2p reads ours.
        assert_eq!(key.psk().to_key_file(), text);
        assert_eq!(text.parse::<PreSharedKey>().unwrap(), key.psk());
        // Uppercase, CRLF and no final newline are accepted.
        let crlf = format!(
            "/key/swarm/psk/1.0.0/\r\n/base16/\r\n{}",
            KEY_HEX.to_uppercase()
        );
        assert_eq!(crlf.parse::<SwarmKey>().unwrap(), key);
    }

    #[test]
    fn format_errors_say_what_and_where() {
        let e = |t: &str| t.parse::<SwarmKey>().unwrap_err();
        assert_eq!(
            e("/key/swarm/psk/2.0.0/\n/base16/\n00"),
            SwarmKeyFormatError::BadHeader("/key/swarm/psk/2.0.0/".into())
        );
        assert_eq!(
            e(&format!("/key/swarm/psk/1.0.0/\n/base64/\n{KEY_HEX}")),
            SwarmKeyFormatError::BadEncoding("/base64/".into())
        );
        assert_eq!(
            e("/key/swarm/psk/1.0.0/\n/base16/\n00zz"),
            SwarmKeyFormatError::BadHex {
                character: 'z',
                offset: 2
            }
        );
        assert_eq!(
            e("/key/swarm/psk/1.0.0/\n/base16/\n0011"),
            SwarmKeyFormatError::WrongLength(4)
        );
        assert_eq!(
            e("/key/swarm/psk/1.0.0/"),
            SwarmKeyFormatError::MissingLine(2)
        );
        assert_eq!(
            e("/key/swarm/psk/1.0.0/\n/base16/\n"),
            SwarmKeyFormatError::MissingLine(3)
        );
        assert_eq!(
            e(&format!(
                "/key/swarm/psk/1.0.0/\n/base16/\n{KEY_HEX}\nmore\n"
            )),
            SwarmKeyFormatError::TrailingContent(4)
        );
        assert_eq!(e(""), SwarmKeyFormatError::BadHeader(String::new()));
    }

    #[test]
    fn file_round_trip_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("swarm.key");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let key = SwarmKey::generate().unwrap();
        key.to_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(SwarmKey::from_file(&path).unwrap(), key);
        assert_ne!(SwarmKey::generate().unwrap(), key);
        assert!(!format!("{key:?}").contains(&alloy::hex::encode(key.as_bytes())));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(body in "\\PC*", key in "[0-9a-fA-Fg-z\u{e9}]{0,70}") {
            let _ = body.parse::<SwarmKey>();
            let _ = format!("/key/swarm/psk/1.0.0/\n/base16/\n{key}\n").parse::<SwarmKey>();
        }

        #[test]
        fn round_trips(bytes in proptest::array::uniform32(0u8..)) {
            let key = SwarmKey::from_bytes(bytes);
            proptest::prop_assert_eq!(key.to_file_text().parse::<SwarmKey>(), Ok(key));
        }
    }
}
