//! Error types of the P2P gossip codecs, one enum per concern.

use alloy::primitives::Address;

use crate::p2p::topic::BlockTopicVersion;

/// A gossip topic string that is not `/optimism/<chainId>/<0..3>/blocks`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicParseError {
    /// The topic does not start with `/optimism/`.
    #[error("gossip topic {0:?} does not start with \"/optimism/\"")]
    Prefix(String),
    /// The topic does not end with `/blocks`.
    #[error("gossip topic {0:?} does not end with \"/blocks\"")]
    Suffix(String),
    /// The topic has no `<chainId>/<version>` middle part.
    #[error("gossip topic {0:?} is not /optimism/<chainId>/<version>/blocks")]
    Shape(String),
    /// The chain id segment is not a canonical decimal u64.
    #[error("gossip topic chain id segment {0:?} is not a canonical decimal u64")]
    ChainId(String),
    /// The version segment is not 0, 1, 2 or 3.
    #[error("gossip topic version segment {0:?} is not 0, 1, 2 or 3")]
    Version(String),
}

/// A gossip message that cannot be decoded, or a payload that cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The snappy block header (the decompressed length varint) is malformed.
    #[error("gossip message: snappy block header at offset 0 is malformed: {0}")]
    SnappyHeader(String),
    /// The decompressed length announced by the snappy header exceeds the gossip limit.
    #[error(
        "gossip message: snappy header announces {announced} decompressed bytes, limit is {limit}"
    )]
    TooLarge {
        /// Length from the snappy header.
        announced: usize,
        /// The limit (op-node's `maxGossipSize`).
        limit: usize,
    },
    /// The decompressed message is too short to hold a signature and a payload.
    #[error(
        "gossip message: snappy header announces {announced} decompressed bytes, minimum is {minimum}"
    )]
    TooSmall {
        /// Length from the snappy header.
        announced: usize,
        /// The minimum for this topic version.
        minimum: usize,
    },
    /// The snappy block body does not decompress.
    #[error("gossip message: snappy block body is malformed: {0}")]
    Snappy(String),
    /// The signature's last byte is not a y-parity of 0 or 1 (op-node rejects 27/28).
    #[error("gossip message: signature y_parity at offset 64 is {0}, expected 0 or 1")]
    YParity(u8),
    /// The SSZ execution payload does not decode for the topic version.
    #[error(
        "gossip message on topic {version:?}: SSZ payload at offset {offset} does not decode: {reason}"
    )]
    Ssz {
        /// The topic version the payload was decoded for.
        version: BlockTopicVersion,
        /// Offset of the payload in the decompressed message.
        offset: usize,
        /// The SSZ decoder's reason.
        reason: String,
    },
    /// The payload variant does not belong on the requested topic version.
    #[error("payload is {payload:?} but the topic is {topic:?}")]
    WrongVersion {
        /// The version of the payload's variant.
        payload: BlockTopicVersion,
        /// The topic version asked for.
        topic: BlockTopicVersion,
    },
    /// A V3/V4 payload has no parent beacon block root to put in front of it.
    #[error("payload for topic {0:?} has no parent beacon block root")]
    MissingParentBeaconBlockRoot(BlockTopicVersion),
    /// Snappy compression failed while encoding.
    #[error("gossip message: snappy compression failed: {0}")]
    Compress(String),
}

/// A signature that cannot be produced or does not recover to an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signing key failed to sign the digest.
    #[error("signing the block digest failed: {0}")]
    Sign(String),
    /// The parent beacon block root is missing on V3/V4 or present on V1/V2.
    #[error(
        "payload for topic {0:?}: the parent beacon block root must be present exactly from V3 on"
    )]
    ParentBeaconBlockRoot(BlockTopicVersion),
    /// The 65-byte signature does not recover a public key for the digest.
    #[error("block signature does not recover a signer: {0}")]
    Recover(String),
    /// The signature recovers to an address other than the expected signer.
    #[error("block signed by {recovered}, expected {expected}")]
    WrongSigner {
        /// The address the signature recovers to.
        recovered: Address,
        /// The configured unsafe block signer.
        expected: Address,
    },
}

/// A `payload_by_number` request or response that cannot be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReqRespError {
    /// A request is not exactly 8 bytes (a little-endian u64 block number).
    #[error("payload_by_number request is {0} bytes, expected exactly 8")]
    RequestLength(usize),
    /// The response is empty: no result byte at offset 0.
    #[error("payload_by_number response is empty: no result byte at offset 0")]
    Empty,
    /// A success response ends before the 4-byte version at offsets 1..5.
    #[error("payload_by_number response is {0} bytes: the version needs offsets 1..5")]
    MissingVersion(usize),
    /// The response version is not 0, 1 or 2.
    #[error("payload_by_number response version {0} (offsets 1..5) is unknown")]
    UnknownVersion(u32),
    /// The response version cannot carry a block of the expected topic version.
    #[error("payload_by_number response version {response} cannot carry a {expected:?} block")]
    VersionMismatch {
        /// The version read from offsets 1..5.
        response: u32,
        /// The block version the caller expects at the requested height.
        expected: BlockTopicVersion,
    },
    /// The compressed response is larger than the response limit.
    #[error("payload_by_number response is {len} bytes, limit is {limit}")]
    TooLarge {
        /// Length of the raw response.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The snappy-framed body (from offset 5) is malformed.
    #[error("payload_by_number response: snappy frame stream from offset 5 is malformed: {0}")]
    Snappy(String),
    /// The decompressed body exceeds the response limit.
    #[error("payload_by_number response decompresses to more than {limit} bytes")]
    DecompressedTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The decompressed body is shorter than the 32-byte parent beacon block root.
    #[error(
        "payload_by_number response body is {0} bytes, too short for the 32-byte parent beacon block root"
    )]
    MissingParentBeaconBlockRoot(usize),
    /// The SSZ payload in the decompressed body does not decode.
    #[error(
        "payload_by_number response: SSZ payload at body offset {offset} does not decode: {reason}"
    )]
    Ssz {
        /// Offset in the decompressed body where the SSZ payload starts.
        offset: usize,
        /// The SSZ decoder's reason.
        reason: String,
    },
    /// The served block is not the one requested.
    #[error("payload_by_number: requested block {requested}, served block {served}")]
    WrongBlockNumber {
        /// The requested block number.
        requested: u64,
        /// The number of the served block.
        served: u64,
    },
    /// The served block's hash does not match its contents.
    #[error("payload_by_number: served block hash is invalid: {0}")]
    BlockHash(String),
    /// A success response was asked to be encoded for a V3/V4 payload without its root.
    #[error("payload for {0:?} has no parent beacon block root to serve")]
    EncodeMissingParentBeaconBlockRoot(BlockTopicVersion),
    /// A body was asked to be encoded for a topic version other than its payload variant's.
    #[error("payload is a {payload:?} block, cannot encode it as a {version:?} body")]
    EncodeWrongVersion {
        /// The version of the payload's variant.
        payload: BlockTopicVersion,
        /// The version asked for.
        version: BlockTopicVersion,
    },
    /// A V1/V2 block carries a parent beacon block root, which its body has no place for.
    #[error("{0:?} block carries a parent beacon block root, which its body has no place for")]
    EncodeUnexpectedParentBeaconBlockRoot(BlockTopicVersion),
    /// The snappy frame encoder failed.
    #[error("payload_by_number response: snappy frame encoding failed: {0}")]
    Compress(String),
}
