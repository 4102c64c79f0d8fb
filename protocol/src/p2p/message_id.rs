//! op-node's gossipsub message id: content-addressed, so the same block relayed by any peer (or
//! sequencer identity) deduplicates, and ids agree across the mesh in IHAVE/IWANT.
//!
//! ```text
//!   valid snappy (<= 10 MiB):  sha256([1,0,0,0] | len(topic) u64 LE | topic | decompressed)[..20]
//!   otherwise:                 sha256([0,0,0,0] | len(topic) u64 LE | topic | raw data)[..20]
//! ```
//!
//! The spec text omits the topic; op-node's `BuildMsgIdFn` hashes it in (so that the chain id,
//! part of the topic, separates chains), and ids must match op-node's to interoperate.

use alloy::primitives::FixedBytes;
use sha2::{Digest, Sha256};

use crate::p2p::envelope::checked_decompressed_len;

/// Domain of ids computed over a valid snappy decompression (op-node `MessageDomainValidSnappy`).
pub const MESSAGE_DOMAIN_VALID_SNAPPY: [u8; 4] = [1, 0, 0, 0];

/// Domain of ids computed over raw, undecompressible data (`MessageDomainInvalidSnappy`).
pub const MESSAGE_DOMAIN_INVALID_SNAPPY: [u8; 4] = [0, 0, 0, 0];

/// A 20-byte gossipsub message id.
pub type MessageId = FixedBytes<20>;

/// The message id op-node assigns to `data` received on `topic`.
pub fn message_id(topic: &str, data: &[u8]) -> MessageId {
    // The size gate comes first so an oversized announcement is never allocated.
    let decompressed = checked_decompressed_len(data)
        .ok()
        .and_then(|_| snap::raw::Decoder::new().decompress_vec(data).ok());
    let (domain, body) = match &decompressed {
        Some(plain) => (MESSAGE_DOMAIN_VALID_SNAPPY, plain.as_slice()),
        None => (MESSAGE_DOMAIN_INVALID_SNAPPY, data),
    };
    let mut hasher = Sha256::new();
    hasher.update(domain);
    hasher.update((topic.len() as u64).to_le_bytes());
    hasher.update(topic.as_bytes());
    hasher.update(body);
    let digest: [u8; 32] = hasher.finalize().into();
    let mut id = [0u8; 20];
    id.copy_from_slice(&digest[..20]);
    MessageId::from(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition spelled out as one preimage, so a mistake in order or domain shows up.
    fn expected(domain: [u8; 4], topic: &str, body: &[u8]) -> MessageId {
        let mut preimage = domain.to_vec();
        preimage.extend_from_slice(&(topic.len() as u64).to_le_bytes());
        preimage.extend_from_slice(topic.as_bytes());
        preimage.extend_from_slice(body);
        let digest = Sha256::digest(&preimage);
        MessageId::from_slice(&digest[..20])
    }

    const TOPIC: &str = "/optimism/10/3/blocks";

    #[test]
    fn valid_snappy_hashes_the_decompressed_bytes() {
        let plain = b"some block bytes, some block bytes, some block bytes".to_vec();
        let compressed = snap::raw::Encoder::new().compress_vec(&plain).unwrap();
        assert_eq!(
            message_id(TOPIC, &compressed),
            expected([1, 0, 0, 0], TOPIC, &plain)
        );
    }

    #[test]
    fn invalid_snappy_hashes_the_raw_bytes() {
        let garbage = [0xffu8; 16];
        assert_eq!(
            message_id(TOPIC, &garbage),
            expected([0, 0, 0, 0], TOPIC, &garbage)
        );
        assert_eq!(message_id(TOPIC, &[]), expected([0, 0, 0, 0], TOPIC, &[]));
    }

    #[test]
    fn oversize_announcement_counts_as_invalid() {
        // uvarint of 10 MiB + 1, no body: never decompressed, hashed raw.
        let mut data = Vec::new();
        let mut v = (10u64 << 20) + 1;
        while v >= 0x80 {
            data.push((v as u8) | 0x80);
            v >>= 7;
        }
        data.push(v as u8);
        assert_eq!(
            message_id(TOPIC, &data),
            expected([0, 0, 0, 0], TOPIC, &data)
        );
    }

    #[test]
    fn topic_separates_ids() {
        let compressed = snap::raw::Encoder::new().compress_vec(b"block").unwrap();
        assert_ne!(
            message_id("/optimism/10/3/blocks", &compressed),
            message_id("/optimism/8453/3/blocks", &compressed)
        );
    }

    /// Ids that op-node's `BuildMsgIdFn` produced (captured in taiko-mono's Go fixtures).
    #[test]
    fn op_node_known_answers() {
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("testdata/op_node_msgid.json")).unwrap();
        for case in ["valid_snappy", "invalid_snappy"] {
            let entry = &fixture[case];
            let data = alloy::primitives::hex::decode(entry["data"].as_str().unwrap()).unwrap();
            let expected: MessageId = entry["expected_id"].as_str().unwrap().parse().unwrap();
            assert_eq!(
                message_id(entry["topic"].as_str().unwrap(), &data),
                expected,
                "{case}"
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = message_id(TOPIC, &data);
        }
    }
}
