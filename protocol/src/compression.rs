//! Channel compression: zlib (RFC 1950) and, since Fjord, brotli behind a version byte.
//!
//! ```text
//! channel = zlib stream              first byte's low nibble is 8 or 15 (zlib CM field)
//!         | 0x01 | brotli stream     Fjord and later
//! ```
//! Decompression stops at `max_rlp_bytes_per_channel` bytes: the spec reads a channel as if it
//! held only its first `MAX_RLP_BYTES_PER_CHANNEL` decompressed bytes, and every batch that fits
//! in them is accepted. A stream that breaks midway (bad data, missing end) likewise yields the
//! bytes decoded before the break, because op-node decodes batches while it decompresses. So
//! [`decompress`] fails only when the first byte names no usable algorithm; otherwise it returns
//! what it could read (possibly nothing, e.g. after a bad zlib header) and how the stream ended
//! (OP specs, `derivation.md` "Channel Format", `fjord/derivation.md`).

use std::fmt;
use std::io::{Read, Write};

/// Version byte that marks a brotli channel.
pub const CHANNEL_VERSION_BROTLI: u8 = 0x01;

/// Brotli window (log2): the library default, which op-batcher keeps.
const BROTLI_LG_WINDOW: u32 = 22;

/// Compression level op-batcher uses for zlib (best compression).
const ZLIB_LEVEL: u32 = 9;

/// How our batcher compresses a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// zlib at best compression.
    Zlib,
    /// Brotli (Fjord) at `level` 0..=11.
    Brotli {
        /// Brotli quality, 0..=11.
        level: u32,
    },
}

impl Compression {
    /// Short name for logs and flags: "zlib" or "brotli".
    pub fn name(&self) -> &'static str {
        match self {
            Self::Zlib => "zlib",
            Self::Brotli { .. } => "brotli",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Zlib => f.write_str("zlib"),
            Self::Brotli { level } => write!(f, "brotli-{level}"),
        }
    }
}

/// Brotli level op-batcher means by plain "brotli".
pub const DEFAULT_BROTLI_LEVEL: u32 = 10;

/// A compression name that is not "zlib", "brotli" or "brotli-0".."brotli-11".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown compression {0:?}: expected zlib, brotli or brotli-<0..11>")]
pub struct UnknownCompressionName(pub String);

impl std::str::FromStr for Compression {
    type Err = UnknownCompressionName;

    /// Parses op-batcher's names: "zlib", "brotli" (level 10) and "brotli-<level>".
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownCompressionName(s.to_string());
        match s {
            "zlib" => Ok(Self::Zlib),
            "brotli" => Ok(Self::Brotli {
                level: DEFAULT_BROTLI_LEVEL,
            }),
            _ => {
                let level: u32 = s
                    .strip_prefix("brotli-")
                    .and_then(|l| l.parse().ok())
                    .ok_or_else(unknown)?;
                if level > 11 {
                    return Err(unknown());
                }
                Ok(Self::Brotli { level })
            }
        }
    }
}

/// The algorithm a channel was found to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelCompression {
    /// zlib stream.
    Zlib,
    /// `0x01` then a brotli stream.
    Brotli,
}

/// Why compression failed.
#[derive(Debug, thiserror::Error)]
pub enum CompressError {
    /// Brotli level out of range.
    #[error("brotli level {0} is out of range 0..=11")]
    BrotliLevel(u32),
    /// The encoder failed.
    #[error("{algorithm} compression failed: {source}")]
    Io {
        /// Algorithm in use.
        algorithm: &'static str,
        /// Underlying error.
        source: std::io::Error,
    },
}

/// Compresses channel bytes for the batcher.
pub fn compress(data: &[u8], compression: Compression) -> Result<Vec<u8>, CompressError> {
    let io = |source| CompressError::Io {
        algorithm: compression.name(),
        source,
    };
    match compression {
        Compression::Zlib => {
            let mut enc = flate2::write::ZlibEncoder::new(
                Vec::with_capacity(data.len() / 2 + 64),
                flate2::Compression::new(ZLIB_LEVEL),
            );
            enc.write_all(data).map_err(io)?;
            enc.finish().map_err(io)
        }
        Compression::Brotli { level } => {
            if level > 11 {
                return Err(CompressError::BrotliLevel(level));
            }
            let params = brotli::enc::BrotliEncoderParams {
                quality: level as i32,
                lgwin: BROTLI_LG_WINDOW as i32,
                ..Default::default()
            };
            let mut out = vec![CHANNEL_VERSION_BROTLI];
            brotli::BrotliCompress(&mut &data[..], &mut out, &params).map_err(io)?;
            Ok(out)
        }
    }
}

/// Why a channel cannot be decompressed at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecompressError {
    /// No bytes.
    #[error("channel data is empty")]
    Empty,
    /// The first byte names no known compression.
    #[error("channel starts with 0x{0:02x}: neither zlib (low nibble 8 or 15) nor brotli (0x01)")]
    UnknownCompression(u8),
    /// Brotli before Fjord.
    #[error("brotli channel before Fjord")]
    BrotliBeforeFjord,
}

/// How a decompressed stream ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEnd {
    /// The stream ended properly.
    Complete,
    /// The limit was reached with more data to come; the rest is ignored.
    LimitReached,
    /// The stream broke; the data before the break is kept.
    Broken(String),
}

/// A channel's decompressed bytes (at most the limit) and how reading ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decompressed {
    /// Algorithm found.
    pub compression: ChannelCompression,
    /// Decompressed bytes.
    pub data: Vec<u8>,
    /// How the stream ended.
    pub end: StreamEnd,
}

/// Identifies the channel's compression from its first byte.
pub fn detect(data: &[u8], is_fjord: bool) -> Result<ChannelCompression, DecompressError> {
    let &first = data.first().ok_or(DecompressError::Empty)?;
    match first {
        b if b & 0x0f == 8 || b & 0x0f == 15 => Ok(ChannelCompression::Zlib),
        CHANNEL_VERSION_BROTLI if is_fjord => Ok(ChannelCompression::Brotli),
        CHANNEL_VERSION_BROTLI => Err(DecompressError::BrotliBeforeFjord),
        other => Err(DecompressError::UnknownCompression(other)),
    }
}

/// Decompresses a channel, reading at most `max_bytes` decompressed bytes.
pub fn decompress(
    data: &[u8],
    max_bytes: u64,
    is_fjord: bool,
) -> Result<Decompressed, DecompressError> {
    let compression = detect(data, is_fjord)?;
    let (data, end) = match compression {
        ChannelCompression::Zlib => read_limited(flate2::read::ZlibDecoder::new(data), max_bytes),
        ChannelCompression::Brotli => {
            let stream = data.get(1..).unwrap_or_default();
            read_limited(brotli::Decompressor::new(stream, 4096), max_bytes)
        }
    };
    Ok(Decompressed {
        compression,
        data,
        end,
    })
}

fn read_limited(reader: impl Read, max_bytes: u64) -> (Vec<u8>, StreamEnd) {
    // One byte past the limit tells "exactly at the limit" from "more to come".
    let mut limited = reader.take(max_bytes.saturating_add(1));
    let mut out = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let end = loop {
        match limited.read(&mut chunk) {
            Ok(0) => break StreamEnd::Complete,
            Ok(n) => out.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => break StreamEnd::Broken(e.to_string()),
        }
    };
    let limit = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    if out.len() > limit {
        out.truncate(limit);
        return (out, StreamEnd::LimitReached);
    }
    (out, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::hex;
    use proptest::prelude::*;
    use std::path::Path;

    const MAX: u64 = 100_000_000;

    #[test]
    fn names() {
        assert_eq!(Compression::Zlib.name(), "zlib");
        assert_eq!(Compression::Brotli { level: 10 }.name(), "brotli");
        assert_eq!(Compression::Brotli { level: 10 }.to_string(), "brotli-10");
        for c in [
            Compression::Zlib,
            Compression::Brotli { level: 0 },
            Compression::Brotli { level: 11 },
        ] {
            assert_eq!(c.to_string().parse::<Compression>(), Ok(c));
        }
        assert_eq!(
            "brotli".parse::<Compression>(),
            Ok(Compression::Brotli { level: 10 })
        );
        assert!("brotli-12".parse::<Compression>().is_err());
        assert!("gzip".parse::<Compression>().is_err());
    }

    #[test]
    fn detection() {
        assert_eq!(detect(&[], true), Err(DecompressError::Empty));
        assert_eq!(detect(&[0x78], true), Ok(ChannelCompression::Zlib));
        assert_eq!(detect(&[0x0f], true), Ok(ChannelCompression::Zlib));
        assert_eq!(detect(&[0x01], true), Ok(ChannelCompression::Brotli));
        assert_eq!(
            detect(&[0x01], false),
            Err(DecompressError::BrotliBeforeFjord)
        );
        assert_eq!(
            detect(&[0x02], true),
            Err(DecompressError::UnknownCompression(2))
        );
    }

    #[test]
    fn vector_zlib_channel() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/vectors/batches/zlib_channel_span_batch.hex");
        let text = std::fs::read_to_string(path).unwrap();
        let channel = hex::decode(text.trim()).unwrap();
        assert_eq!(channel.len(), 615_361);
        let out = decompress(&channel, MAX, true).unwrap();
        assert_eq!(out.compression, ChannelCompression::Zlib);
        assert_eq!(out.end, StreamEnd::Complete);
        // The README's 1,409,459 bytes is the RLP string holding the batch; its header (0xba and a
        // 3-byte length) makes 4 more.
        let mut rest = out.data.as_slice();
        let header = alloy::rlp::Header::decode(&mut rest).unwrap();
        assert!(!header.list);
        assert_eq!(header.payload_length, 1_409_459);
        assert_eq!(rest.len(), 1_409_459);
        assert_eq!(out.data.len(), 1_409_463);
        // The limit cuts the output and says so.
        let cut = decompress(&channel, 1000, true).unwrap();
        assert_eq!(cut.end, StreamEnd::LimitReached);
        assert_eq!(cut.data, out.data[..1000]);
        // Exactly at the limit is complete.
        let exact = decompress(&channel, 1_409_463, true).unwrap();
        assert_eq!(exact.end, StreamEnd::Complete);
    }

    #[test]
    fn broken_stream_keeps_prefix() {
        let data: Vec<u8> = (0..50_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let packed = compress(&data, Compression::Zlib).unwrap();
        let cut = &packed[..packed.len() / 2];
        let out = decompress(cut, MAX, true).unwrap();
        assert!(matches!(out.end, StreamEnd::Broken(_)));
        assert!(!out.data.is_empty());
        assert_eq!(out.data, data[..out.data.len()]);
    }

    #[test]
    fn broken_brotli_keeps_prefix() {
        let data: Vec<u8> = (0..50_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let packed = compress(&data, Compression::Brotli { level: 5 }).unwrap();
        let out = decompress(&packed[..packed.len() / 2], MAX, true).unwrap();
        assert!(matches!(out.end, StreamEnd::Broken(_)), "{:?}", out.end);
        assert_eq!(out.data, data[..out.data.len()]);
    }

    #[test]
    fn bad_zlib_header_reads_nothing() {
        // Low nibble 15 selects zlib, whose header then is invalid.
        let out = decompress(&[0x0f, 0x00, 0x01, 0x02], MAX, true).unwrap();
        assert!(out.data.is_empty());
        assert!(matches!(out.end, StreamEnd::Broken(_)));
    }

    #[test]
    fn brotli_level_checked() {
        assert!(matches!(
            compress(b"x", Compression::Brotli { level: 12 }),
            Err(CompressError::BrotliLevel(12))
        ));
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..2000), level in 0u32..=11, brotli in any::<bool>()) {
            let compression = if brotli { Compression::Brotli { level } } else { Compression::Zlib };
            let packed = compress(&data, compression).unwrap();
            let out = decompress(&packed, MAX, true).unwrap();
            prop_assert_eq!(out.end, StreamEnd::Complete);
            prop_assert_eq!(&out.data, &data);
            // Any limit yields a prefix.
            let limit = data.len() / 2;
            let out = decompress(&packed, limit as u64, true).unwrap();
            prop_assert_eq!(&out.data[..], &data[..limit.min(data.len())]);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600), first in prop::sample::select(vec![0x78u8, 0x08, 0x0f, 0x01])) {
            let _ = decompress(&bytes, 10_000, true);
            let mut with_header = vec![first];
            with_header.extend_from_slice(&bytes);
            let _ = decompress(&with_header, 10_000, true);
        }
    }
}
