//! Batcher data inspection: what an operator reaches for when a batcher misbehaves.
//!
//! ```text
//!  signed L1 tx | bare calldata | blob            (one or more inputs, in order)
//!        |            |             |  Blob::decode
//!        +------------+-------------+--> batcher data: version 0x00 ++ frames
//!                                          |  parse_frames
//!                                          v
//!        frames, grouped by channel id --> Channel (any frame order) --> data when complete
//!                                          |  decompress (zlib | 0x01 brotli)
//!                                          v
//!        decompressed channel ----------> BatchReader --> singular and span batches
//! ```
//! Everything is pure: the caller reads the files. Input that is not batcher data at all is an
//! error naming the input and what is wrong; a channel that assembles but does not decode is
//! reported in the channel's `error` field, beside whatever decoded before the fault.

use alloy::primitives::{Address, B256, FixedBytes};
use opfleet_protocol::BlockId;
use opfleet_protocol::batch::{Batch, BatchReader};
use opfleet_protocol::batcher_data::{L1TxData, decode_l1_tx, parse_frames};
use opfleet_protocol::blob::{BLOB_SIZE, Blob};
use opfleet_protocol::channel::Channel;
use opfleet_protocol::compression::{ChannelCompression, StreamEnd, decompress};
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::config::params::MAX_RLP_BYTES_PER_CHANNEL_FJORD;
use opfleet_protocol::frame::{ChannelId, Frame};
use serde::Serialize;

/// What one input holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// A raw signed L1 transaction, or bare batcher calldata.
    BatcherTx,
    /// One 131,072-byte blob.
    Blob,
}

/// One named input: a file's name and its bytes, already hex-decoded where it was hex.
#[derive(Clone, Debug)]
pub struct Input {
    /// Name used in errors and the report (the file path).
    pub name: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Why an input could not be read as batcher data.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// Neither a signed transaction nor batcher calldata.
    #[error(
        "{name}: neither a signed L1 transaction ({tx_error}) nor batcher calldata (first byte 0x{first:02x}, expected derivation version 0x00)"
    )]
    NotBatcherData {
        /// Input name.
        name: String,
        /// Why it is not a transaction.
        tx_error: String,
        /// Its first byte.
        first: u8,
    },
    /// Empty input.
    #[error("{0}: empty input")]
    Empty(String),
    /// A blob transaction in calldata-free form: its frames are in blobs.
    #[error(
        "{name}: blob transaction {tx_hash} carries no calldata; its frames are in {count} blob(s) ({hashes}): inspect those with `inspect blob`"
    )]
    BlobTx {
        /// Input name.
        name: String,
        /// Transaction hash.
        tx_hash: B256,
        /// Number of blobs.
        count: usize,
        /// Versioned hashes, comma separated.
        hashes: String,
    },
    /// The batcher data (version byte, frames) does not parse.
    #[error("{name}: {source}")]
    Frames {
        /// Input name.
        name: String,
        /// What is wrong, with the offset.
        source: opfleet_protocol::batcher_data::BatcherDataError,
    },
    /// Not a blob.
    #[error("{name}: not an OP blob: {source}")]
    Blob {
        /// Input name.
        name: String,
        /// What is wrong, with the field element.
        source: opfleet_protocol::blob::BlobError,
    },
}

/// The JSON report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// Each input, as read.
    pub inputs: Vec<InputSummary>,
    /// Every frame, in input order.
    pub frames: Vec<FrameSummary>,
    /// Every channel the frames name, in order of first appearance.
    pub channels: Vec<ChannelSummary>,
}

impl Report {
    /// The first channel error, if any channel failed to assemble or decode.
    pub fn first_error(&self) -> Option<String> {
        self.channels
            .iter()
            .find_map(|c| c.error.as_ref().map(|e| format!("channel {}: {e}", c.id)))
    }
}

/// One input as read.
#[derive(Clone, Debug, Serialize)]
pub struct InputSummary {
    /// Input name.
    pub name: String,
    /// `transaction`, `calldata` or `blob`.
    pub kind: &'static str,
    /// For a transaction: its hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<B256>,
    /// For a transaction: its EIP-2718 type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_type: Option<u8>,
    /// For a transaction: the recovered sender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Address>,
    /// For a transaction: the recipient.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Address>,
    /// With `--chain`: whether the recipient is the chain's batch inbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_batch_inbox: Option<bool>,
    /// Length of the batcher data (calldata or blob payload).
    pub data_len: usize,
    /// Number of frames it carries.
    pub frame_count: usize,
}

/// One frame.
#[derive(Clone, Debug, Serialize)]
pub struct FrameSummary {
    /// Its channel.
    pub channel_id: String,
    /// Its number in the channel.
    pub frame_number: u16,
    /// Length of its data.
    pub data_len: usize,
    /// Whether it closes the channel.
    pub is_last: bool,
}

/// One channel.
#[derive(Clone, Debug, Serialize)]
pub struct ChannelSummary {
    /// Channel id.
    pub id: String,
    /// Frames received.
    pub frame_count: usize,
    /// Whether the closing frame and every frame before it arrived.
    pub complete: bool,
    /// `zlib` or `brotli`, once complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<&'static str>,
    /// Compressed size.
    pub compressed_len: usize,
    /// Decompressed size, once complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decompressed_len: Option<usize>,
    /// Batches read, in order.
    pub batches: Vec<BatchSummary>,
    /// What went wrong assembling or decoding, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One batch.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum BatchSummary {
    /// A span batch (type 1).
    Span(SpanSummary),
    /// A singular batch (type 0).
    Singular(SingularSummary),
}

/// A span batch's prefix and counts.
#[derive(Clone, Debug, Serialize)]
pub struct SpanSummary {
    /// Blocks in the span.
    pub block_count: usize,
    /// Transactions in the span.
    pub tx_count: usize,
    /// First block's timestamp minus L2 genesis time.
    pub rel_timestamp: u64,
    /// L1 origin number of the last block.
    pub l1_origin_num: u64,
    /// First 20 bytes of the parent block's hash.
    pub parent_check: FixedBytes<20>,
    /// First 20 bytes of the last block's L1 origin hash.
    pub l1_origin_check: FixedBytes<20>,
    /// With `--chain`: absolute timestamps and block numbers.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub chain: Option<SpanOnChain>,
}

/// A span batch placed on its chain.
#[derive(Clone, Debug, Serialize)]
pub struct SpanOnChain {
    /// First block's timestamp.
    pub first_timestamp: u64,
    /// Last block's timestamp.
    pub last_timestamp: u64,
    /// First L2 block number.
    pub first_block: u64,
    /// Last L2 block number.
    pub last_block: u64,
}

/// A singular batch's own fields.
#[derive(Clone, Debug, Serialize)]
pub struct SingularSummary {
    /// Parent L2 block hash.
    pub parent_hash: B256,
    /// L1 origin number.
    pub epoch_num: u64,
    /// L1 origin hash.
    pub epoch_hash: B256,
    /// Block timestamp.
    pub timestamp: u64,
    /// Transactions in the block.
    pub tx_count: usize,
    /// With `--chain`: the L2 block number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l2_block_number: Option<u64>,
}

/// Inspects inputs of one kind against an optional chain config.
pub fn inspect(
    kind: InputKind,
    inputs: &[Input],
    chain: Option<&RollupConfig>,
) -> Result<Report, InspectError> {
    let mut report = Report::default();
    let mut frames: Vec<Frame> = Vec::new();
    for input in inputs {
        let (summary, data) = read_input(kind, input, chain)?;
        let parsed = parse_frames(&data).map_err(|source| InspectError::Frames {
            name: input.name.clone(),
            source,
        })?;
        report.inputs.push(InputSummary {
            frame_count: parsed.len(),
            ..summary
        });
        frames.extend(parsed);
    }
    report.frames = frames.iter().map(summarize_frame).collect();
    report.channels = assemble(frames)
        .into_iter()
        .map(|(channel, error)| summarize_channel(channel, error, chain))
        .collect();
    Ok(report)
}

fn read_input(
    kind: InputKind,
    input: &Input,
    chain: Option<&RollupConfig>,
) -> Result<(InputSummary, Vec<u8>), InspectError> {
    let name = input.name.clone();
    let bytes = &input.bytes;
    let &first = bytes
        .first()
        .ok_or_else(|| InspectError::Empty(name.clone()))?;
    let base = InputSummary {
        name: name.clone(),
        kind: "calldata",
        tx_hash: None,
        tx_type: None,
        from: None,
        to: None,
        to_batch_inbox: None,
        data_len: 0,
        frame_count: 0,
    };
    match kind {
        InputKind::Blob => {
            let blob = Blob::try_from(bytes.as_slice()).map_err(|source| InspectError::Blob {
                name: name.clone(),
                source,
            })?;
            let data = blob
                .decode()
                .map_err(|source| InspectError::Blob { name, source })?;
            Ok((
                InputSummary {
                    kind: "blob",
                    data_len: data.len(),
                    ..base
                },
                data,
            ))
        }
        InputKind::BatcherTx => match decode_l1_tx(bytes) {
            Ok(tx) => {
                if tx.is_blob_tx() {
                    return Err(blob_tx_error(name, &tx));
                }
                let data = tx.calldata.to_vec();
                Ok((
                    InputSummary {
                        kind: "transaction",
                        tx_hash: Some(tx.tx_hash),
                        tx_type: Some(tx.tx_type),
                        from: Some(tx.from),
                        to: tx.to,
                        to_batch_inbox: chain.map(|c| tx.to == Some(c.batch_inbox_address)),
                        data_len: data.len(),
                        ..base
                    },
                    data,
                ))
            }
            // Calldata starts with the derivation version; alt-DA (0x01) is left to
            // `parse_frames`, which names it.
            Err(_) if first <= 0x01 && bytes.len() != BLOB_SIZE => Ok((
                InputSummary {
                    data_len: bytes.len(),
                    ..base
                },
                bytes.clone(),
            )),
            Err(e) => Err(InspectError::NotBatcherData {
                name,
                tx_error: e.to_string(),
                first,
            }),
        },
    }
}

fn blob_tx_error(name: String, tx: &L1TxData) -> InspectError {
    InspectError::BlobTx {
        name,
        tx_hash: tx.tx_hash,
        count: tx.blob_versioned_hashes.len(),
        hashes: tx
            .blob_versioned_hashes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn summarize_frame(frame: &Frame) -> FrameSummary {
    FrameSummary {
        channel_id: frame.channel_id.to_string(),
        frame_number: frame.frame_number,
        data_len: frame.data.len(),
        is_last: frame.is_last,
    }
}

/// Groups frames by channel in order of first appearance; a frame a channel refuses (duplicate,
/// past the end) is an error of that channel.
fn assemble(frames: Vec<Frame>) -> Vec<(Channel, Option<String>)> {
    let mut channels: Vec<(Channel, Option<String>)> = Vec::new();
    for frame in frames {
        let id: ChannelId = frame.channel_id;
        let slot = match channels.iter().position(|(c, _)| c.id() == id) {
            Some(i) => i,
            None => {
                channels.push((Channel::new(id, BlockId::default(), false), None));
                channels.len() - 1
            }
        };
        if let Some((channel, error)) = channels.get_mut(slot)
            && let Err(e) = channel.add_frame(frame, BlockId::default())
        {
            error.get_or_insert_with(|| e.to_string());
        }
    }
    channels
}

fn summarize_channel(
    channel: Channel,
    assembly_error: Option<String>,
    chain: Option<&RollupConfig>,
) -> ChannelSummary {
    let mut summary = ChannelSummary {
        id: channel.id().to_string(),
        frame_count: channel.frame_count(),
        complete: channel.is_ready(),
        compression: None,
        compressed_len: 0,
        decompressed_len: None,
        batches: Vec::new(),
        error: assembly_error,
    };
    let Some(data) = channel.data() else {
        if summary.error.is_none() {
            summary.error =
                Some("incomplete: the closing frame or an earlier frame is missing".into());
        }
        return summary;
    };
    summary.compressed_len = data.len();
    // Without a chain we cannot tell the fork, so the newest (largest) limit applies and brotli
    // is accepted: the tool reports what is there rather than what one fork would derive.
    let limit = MAX_RLP_BYTES_PER_CHANNEL_FJORD;
    let decompressed = match decompress(&data, limit, true) {
        Ok(d) => d,
        Err(e) => {
            summary.error = Some(format!("cannot decompress: {e}"));
            return summary;
        }
    };
    summary.compression = Some(match decompressed.compression {
        ChannelCompression::Zlib => "zlib",
        ChannelCompression::Brotli => "brotli",
    });
    summary.decompressed_len = Some(decompressed.data.len());
    let max = usize::try_from(limit).unwrap_or(usize::MAX);
    for batch in BatchReader::new(&decompressed.data, max) {
        match batch {
            Ok(b) => summary.batches.push(summarize_batch(&b, chain)),
            Err(e) => {
                summary.error = Some(e.to_string());
                break;
            }
        }
    }
    if summary.error.is_none() {
        match decompressed.end {
            StreamEnd::Complete => {}
            StreamEnd::LimitReached => {
                summary.error = Some(format!(
                    "decompressed data exceeds {limit} bytes; the rest is ignored"
                ));
            }
            StreamEnd::Broken(e) => {
                summary.error = Some(format!(
                    "compressed stream broken after {} bytes: {e}",
                    decompressed.data.len()
                ));
            }
        }
    }
    summary
}

fn summarize_batch(batch: &Batch, chain: Option<&RollupConfig>) -> BatchSummary {
    match batch {
        Batch::Singular(b) => BatchSummary::Singular(SingularSummary {
            parent_hash: b.parent_hash,
            epoch_num: b.epoch_num,
            epoch_hash: b.epoch_hash,
            timestamp: b.timestamp,
            tx_count: b.transactions.len(),
            l2_block_number: chain.and_then(|c| block_at(c, b.timestamp)),
        }),
        Batch::Span(b) => {
            let block_count = b.block_count();
            let on_chain = chain.and_then(|c| {
                let first_timestamp = c.genesis.l2_time.checked_add(b.rel_timestamp)?;
                let last_index = u64::try_from(block_count.checked_sub(1)?).ok()?;
                let span = last_index.checked_mul(c.block_time)?;
                let last_timestamp = first_timestamp.checked_add(span)?;
                Some(SpanOnChain {
                    first_timestamp,
                    last_timestamp,
                    first_block: block_at(c, first_timestamp)?,
                    last_block: block_at(c, last_timestamp)?,
                })
            });
            BatchSummary::Span(SpanSummary {
                block_count,
                tx_count: b.tx_count(),
                rel_timestamp: b.rel_timestamp,
                l1_origin_num: b.l1_origin_num,
                parent_check: b.parent_check,
                l1_origin_check: b.l1_origin_check,
                chain: on_chain,
            })
        }
    }
}

/// The L2 block number at `timestamp`, when it is a block time after genesis.
fn block_at(chain: &RollupConfig, timestamp: u64) -> Option<u64> {
    let since = timestamp.checked_sub(chain.genesis.l2_time)?;
    let block_time = chain.block_time;
    if block_time == 0 || since % block_time != 0 {
        return None;
    }
    chain.genesis.l2.number.checked_add(since / block_time)
}
