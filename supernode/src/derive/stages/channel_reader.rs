//! A ready channel's batches: decompressed (zlib, or brotli since Fjord) up to
//! `MAX_RLP_BYTES_PER_CHANNEL`, then read batch by batch until the first error (specs
//! `protocol/derivation.md` "Channel Format", `fjord/derivation.md`). Holocene's batch stage
//! can flush what is left of the current channel when one of its batches is invalid.
//!
//! ```text
//! ready channel ─decompress─▶ rlp(batch) rlp(batch) ... ─▶ queue of batches ─▶ batch stage
//!                                          └ error: the rest of the channel is ignored
//! ```

use std::collections::VecDeque;

use opfleet_protocol::batch::{Batch, BatchReader};
use opfleet_protocol::channel::ReadyChannel;
use opfleet_protocol::compression::decompress;

/// The batches of the channel being read.
#[derive(Debug, Clone, Default)]
pub struct ChannelReader {
    batches: VecDeque<Batch>,
}

impl ChannelReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a ready channel; `is_fjord` (at the current L1 origin's time) allows brotli.
    /// Returns how many batches it held; a channel that does not decompress holds none.
    pub fn load(&mut self, channel: &ReadyChannel, max_rlp_bytes: u64, is_fjord: bool) -> usize {
        self.batches.clear();
        let Ok(decompressed) = decompress(&channel.data, max_rlp_bytes, is_fjord) else {
            return 0;
        };
        let limit = usize::try_from(max_rlp_bytes).unwrap_or(usize::MAX);
        self.batches = BatchReader::new(&decompressed.data, limit)
            .map_while(Result::ok)
            .collect();
        self.batches.len()
    }

    /// The next batch of the channel, if any is left.
    pub fn next_batch(&mut self) -> Option<Batch> {
        self.batches.pop_front()
    }

    /// Drops the rest of the channel (Holocene: an invalid batch invalidates what follows).
    pub fn flush(&mut self) {
        self.batches.clear();
    }

    /// Puts a batch back at the front (a check needs data first).
    pub fn push_front(&mut self, batch: Batch) {
        self.batches.push_front(batch);
    }

    /// Whether no batch is left.
    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::B256;
    use opfleet_protocol::BlockId;
    use opfleet_protocol::batch::SingularBatch;
    use opfleet_protocol::compression::{Compression, compress};
    use opfleet_protocol::frame::ChannelId;

    fn ready(data: Vec<u8>) -> ReadyChannel {
        ReadyChannel {
            id: ChannelId([0; 16]),
            open_l1: BlockId::default(),
            close_l1: BlockId::default(),
            data,
        }
    }

    fn batches(n: u64) -> Vec<u8> {
        (0..n)
            .flat_map(|i| {
                Batch::Singular(SingularBatch {
                    timestamp: i,
                    parent_hash: B256::with_last_byte(i as u8),
                    ..Default::default()
                })
                .encode_channel_entry()
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn reads_zlib_and_brotli_channels_and_flushes() {
        let raw = batches(3);
        let mut r = ChannelReader::new();
        assert_eq!(
            r.load(
                &ready(compress(&raw, Compression::Zlib).unwrap()),
                1 << 20,
                true
            ),
            3
        );
        assert!(matches!(r.next_batch(), Some(Batch::Singular(b)) if b.timestamp == 0));
        r.flush();
        assert!(r.is_empty());
        let brotli = compress(&raw, Compression::Brotli { level: 5 }).unwrap();
        assert_eq!(r.load(&ready(brotli.clone()), 1 << 20, true), 3);
        // Brotli before Fjord names no usable compression.
        assert_eq!(r.load(&ready(brotli), 1 << 20, false), 0);
    }

    #[test]
    fn garbage_after_batches_ends_the_channel() {
        let mut raw = batches(2);
        raw.extend_from_slice(&[0xc0, 0x01]);
        let mut r = ChannelReader::new();
        assert_eq!(
            r.load(
                &ready(compress(&raw, Compression::Zlib).unwrap()),
                1 << 20,
                true
            ),
            2
        );
        assert_eq!(r.load(&ready(vec![0xff, 1, 2]), 1 << 20, true), 0);
    }
}

#[cfg(test)]
mod prop {
    use super::*;
    use opfleet_protocol::BlockId;
    use opfleet_protocol::frame::ChannelId;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_channels_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600), fjord in any::<bool>()) {
            let mut r = ChannelReader::new();
            let ready = ReadyChannel { id: ChannelId([0; 16]), open_l1: BlockId::default(), close_l1: BlockId::default(), data };
            let n = r.load(&ready, 1 << 16, fjord);
            for _ in 0..n {
                prop_assert!(r.next_batch().is_some());
            }
        }
    }
}
