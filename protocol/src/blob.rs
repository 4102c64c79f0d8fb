//! OP blob encoding (version 0): rollup data packed into the 4096 field elements of an EIP-4844
//! blob, 254 bits per element.
//!
//! The data stream is `version 0 | length u24 BE | data | zero padding` = 130,048 bytes, cut into
//! 1024 rounds of 127 bytes, each stored in 4 field elements of 32 bytes:
//! ```text
//! stream  | tailA 31 | x | tailB 31 | y | tailC 31 | z | tailD 31 |
//! blob    | A | tailA || B | tailB || C | tailC || D | tailD |   A..D are the elements' top bytes
//! A = x & 0x3f                     B = (y & 0x0f) | (x & 0xc0) >> 2
//! C = z & 0x3f                     D = (y & 0xf0) >> 4 | (z & 0xc0) >> 2
//! ```
//! Top bytes keep their two high bits zero so every element stays below the BLS modulus. The
//! length must be at most [`MAX_BLOB_DATA_LEN`] and stream bytes past the data must be zero, so
//! the encoding is a bijection (OP specs, `ecotone/derivation.md` "Blob Encoding").
//!
//! Like op-node and kona, decoding does not check the two high bits of element 0's top byte (they
//! carry no data); a blob with them set is still read. The KZG commitment already bounds that
//! byte below 0x74, and deriving the same chain as op-node matters more here than the letter of
//! the spec.

use alloy::primitives::hex;
use std::fmt;

/// Bytes in a blob.
pub const BLOB_SIZE: usize = 131_072;

/// Field elements in a blob.
pub const FIELD_ELEMENTS_PER_BLOB: usize = 4096;

/// Bytes per field element.
const FE_SIZE: usize = 32;

/// Stream bytes carried by one round of four field elements.
const ROUND_BYTES: usize = 4 * 31 + 3;

/// Rounds per blob.
const ROUNDS: usize = FIELD_ELEMENTS_PER_BLOB / 4;

/// Stream bytes in a blob: version, length and data.
const STREAM_LEN: usize = ROUND_BYTES * ROUNDS;

/// Bytes of stream header: version byte and u24 length.
const HEADER_LEN: usize = 4;

/// Largest data a blob carries: 130,044 bytes.
pub const MAX_BLOB_DATA_LEN: usize = STREAM_LEN - HEADER_LEN;

/// The only blob encoding version.
pub const BLOB_ENCODING_VERSION: u8 = 0;

/// Why data cannot be encoded or a blob cannot be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    /// Data longer than [`MAX_BLOB_DATA_LEN`].
    #[error("data of {0} bytes does not fit a blob (max {MAX_BLOB_DATA_LEN})")]
    DataTooLong(usize),
    /// A field element's top byte uses its two high bits.
    #[error("field element {index}: top byte 0x{byte:02x} has its two high bits set")]
    InvalidFieldElement {
        /// Field element index, 0..4096.
        index: usize,
        /// The top byte found.
        byte: u8,
    },
    /// Unknown encoding version.
    #[error("blob encoding version {0} is not 0")]
    UnknownVersion(u8),
    /// Declared length too large.
    #[error("blob declares {0} data bytes, more than {MAX_BLOB_DATA_LEN}")]
    InvalidLength(usize),
    /// A non-zero byte after the data.
    #[error("field element {index}: non-zero byte after the {len} data bytes")]
    TrailingData {
        /// Field element holding the byte.
        index: usize,
        /// Declared data length.
        len: usize,
    },
    /// Input that is not hex.
    #[error("blob hex: {0}")]
    Hex(String),
    /// Input of the wrong size.
    #[error("{0} bytes given, a blob is {BLOB_SIZE}")]
    WrongSize(usize),
}

/// One EIP-4844 blob.
#[derive(Clone, PartialEq, Eq)]
pub struct Blob(Box<[u8; BLOB_SIZE]>);

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blob(0x{}..)", hex::encode(&self.0[..8]))
    }
}

impl Default for Blob {
    fn default() -> Self {
        Self(Box::new([0u8; BLOB_SIZE]))
    }
}

impl From<Box<[u8; BLOB_SIZE]>> for Blob {
    fn from(bytes: Box<[u8; BLOB_SIZE]>) -> Self {
        Self(bytes)
    }
}

impl TryFrom<&[u8]> for Blob {
    type Error = BlobError;

    fn try_from(bytes: &[u8]) -> Result<Self, BlobError> {
        let array: Box<[u8; BLOB_SIZE]> = bytes
            .to_vec()
            .into_boxed_slice()
            .try_into()
            .map_err(|b: Box<[u8]>| BlobError::WrongSize(b.len()))?;
        Ok(Self(array))
    }
}

/// Layout of one round: its 4 field elements with the stream range of each one's 31-byte tail,
/// and the stream positions of the 3 extra bytes x, y, z.
struct Round {
    elements: [(usize, std::ops::Range<usize>); 4],
    extra: [usize; 3],
}

impl Round {
    fn new(round: usize) -> Self {
        let fe = round * 4;
        let s = round * ROUND_BYTES;
        Self {
            elements: [
                (fe, s..s + 31),
                (fe + 1, s + 32..s + 63),
                (fe + 2, s + 64..s + 95),
                (fe + 3, s + 96..s + 127),
            ],
            extra: [s + 31, s + 63, s + 95],
        }
    }
}

impl Blob {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; BLOB_SIZE] {
        &self.0
    }

    /// Parses `0x` hex (whitespace around is ignored) of exactly [`BLOB_SIZE`] bytes.
    pub fn from_hex(text: &str) -> Result<Self, BlobError> {
        let bytes = hex::decode(text.trim()).map_err(|e| BlobError::Hex(e.to_string()))?;
        Self::try_from(bytes.as_slice())
    }

    /// The blob as `0x` hex.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0.as_slice()))
    }

    /// Encodes rollup data into a blob.
    pub fn encode(data: &[u8]) -> Result<Self, BlobError> {
        if data.len() > MAX_BLOB_DATA_LEN {
            return Err(BlobError::DataTooLong(data.len()));
        }
        let mut stream = vec![0u8; STREAM_LEN];
        let len = (data.len() as u32).to_be_bytes();
        stream[0] = BLOB_ENCODING_VERSION;
        stream[1..HEADER_LEN].copy_from_slice(&len[1..]);
        stream[HEADER_LEN..HEADER_LEN + data.len()].copy_from_slice(data);

        let mut blob = Self::default();
        for round in 0..ROUNDS {
            let layout = Round::new(round);
            let [x, y, z] = layout.extra.map(|i| stream[i]);
            let tops = [
                x & 0x3f,
                (y & 0x0f) | ((x & 0xc0) >> 2),
                z & 0x3f,
                ((y & 0xf0) >> 4) | ((z & 0xc0) >> 2),
            ];
            for ((fe, tail), top) in layout.elements.into_iter().zip(tops) {
                let at = fe * FE_SIZE;
                blob.0[at] = top;
                blob.0[at + 1..at + FE_SIZE].copy_from_slice(&stream[tail]);
            }
        }
        Ok(blob)
    }

    /// Decodes the rollup data, checking the encoding is canonical.
    pub fn decode(&self) -> Result<Vec<u8>, BlobError> {
        let mut stream = vec![0u8; STREAM_LEN];
        for round in 0..ROUNDS {
            let layout = Round::new(round);
            let mut tops = [0u8; 4];
            for (k, (fe, tail)) in layout.elements.into_iter().enumerate() {
                let at = fe * FE_SIZE;
                let top = self.0[at];
                if fe != 0 && top & 0xc0 != 0 {
                    return Err(BlobError::InvalidFieldElement {
                        index: fe,
                        byte: top,
                    });
                }
                tops[k] = top;
                stream[tail].copy_from_slice(&self.0[at + 1..at + FE_SIZE]);
            }
            let [a, b, c, d] = tops;
            let [x, y, z] = layout.extra;
            stream[x] = (a & 0x3f) | ((b & 0x30) << 2);
            stream[y] = (b & 0x0f) | ((d & 0x0f) << 4);
            stream[z] = (c & 0x3f) | ((d & 0x30) << 2);
        }
        if stream[0] != BLOB_ENCODING_VERSION {
            return Err(BlobError::UnknownVersion(stream[0]));
        }
        let len =
            usize::from(stream[1]) << 16 | usize::from(stream[2]) << 8 | usize::from(stream[3]);
        if len > MAX_BLOB_DATA_LEN {
            return Err(BlobError::InvalidLength(len));
        }
        let end = HEADER_LEN + len;
        if let Some(pos) = stream[end..].iter().position(|&b| b != 0) {
            return Err(BlobError::TrailingData {
                index: field_element_of(end + pos),
                len,
            });
        }
        Ok(stream[HEADER_LEN..end].to_vec())
    }
}

/// Field element that stores stream byte `pos`.
fn field_element_of(pos: usize) -> usize {
    let (round, in_round) = (pos / ROUND_BYTES, pos % ROUND_BYTES);
    // Bytes 0..=31 go to element 0 (tail + x), 32..=63 to element 1 (tail + y, y's low nibble),
    // and so on; the extra bytes are split between elements, this names the one with the tail
    // before it.
    round * 4 + (in_round / 32).min(3)
}

/// Encodes rollup data into a blob.
pub fn encode_blob(data: &[u8]) -> Result<Blob, BlobError> {
    Blob::encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::Path;

    fn vectors() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/blobs")
    }

    #[test]
    fn constants() {
        assert_eq!(STREAM_LEN, 130_048);
        assert_eq!(MAX_BLOB_DATA_LEN, 130_044);
        assert_eq!(ROUNDS * 4 * FE_SIZE, BLOB_SIZE);
    }

    #[test]
    fn vector_blobs() {
        let expected: std::collections::BTreeMap<String, String> = serde_json::from_str(
            &std::fs::read_to_string(vectors().join("expected.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(expected.len(), 8);
        for (file, data_hex) in expected {
            let blob =
                Blob::from_hex(&std::fs::read_to_string(vectors().join(&file)).unwrap()).unwrap();
            let data = hex::decode(&data_hex).unwrap();
            assert_eq!(blob.decode().unwrap(), data, "{file}");
            assert_eq!(encode_blob(&data).unwrap(), blob, "{file}");
        }
    }

    #[test]
    fn max_size() {
        let data: Vec<u8> = (0..MAX_BLOB_DATA_LEN).map(|i| (i * 7 + 3) as u8).collect();
        let blob = encode_blob(&data).unwrap();
        assert_eq!(blob.decode().unwrap(), data);
        assert_eq!(
            encode_blob(&[0; MAX_BLOB_DATA_LEN + 1]),
            Err(BlobError::DataTooLong(MAX_BLOB_DATA_LEN + 1))
        );
    }

    #[test]
    fn rejections() {
        let good = encode_blob(b"hello").unwrap();

        let mut bad = good.clone();
        bad.0[32 * 5] = 0x40;
        assert_eq!(
            bad.decode(),
            Err(BlobError::InvalidFieldElement {
                index: 5,
                byte: 0x40
            })
        );

        let mut bad = good.clone();
        bad.0[1] = 1;
        assert_eq!(bad.decode(), Err(BlobError::UnknownVersion(1)));

        let mut bad = good.clone();
        bad.0[2..5].copy_from_slice(&[0x01, 0xfc, 0xfd]); // 130,301
        assert_eq!(bad.decode(), Err(BlobError::InvalidLength(130_301)));

        let mut bad = good.clone();
        bad.0[32 * 100 + 7] = 1;
        assert_eq!(
            bad.decode(),
            Err(BlobError::TrailingData { index: 100, len: 5 })
        );

        // Element 0's high bits carry nothing and are not checked (op-node behaviour).
        let mut loose = good.clone();
        loose.0[0] |= 0x40;
        assert_eq!(loose.decode().unwrap(), b"hello");

        assert_eq!(Blob::from_hex("0x00"), Err(BlobError::WrongSize(1)));
        assert!(Blob::from_hex("zz").is_err());
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let blob = encode_blob(&data).unwrap();
            prop_assert_eq!(blob.decode().unwrap(), data);
        }

        #[test]
        fn decode_never_panics(
            patches in proptest::collection::vec((0usize..BLOB_SIZE, any::<u8>()), 0..8),
            start in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut blob = Blob::default();
            blob.0[..start.len()].copy_from_slice(&start);
            for (at, v) in patches {
                blob.0[at] = v;
            }
            let _ = blob.decode();
        }
    }
}
