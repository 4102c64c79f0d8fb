//! Channel frames: the unit in which a batcher splits a compressed channel across L1 transactions.
//!
//! ```text
//! frame = channel_id [16] | frame_number u16 BE | frame_data_length u32 BE | frame_data | is_last u8
//!         <------------------ 22 bytes -------------------------------->              <- 1 ->
//! ```
//! The fixed part is [`FRAME_OVERHEAD`] = 23 bytes. `frame_data_length` is capped at
//! [`MAX_FRAME_DATA_LEN`] and `is_last` must be 0 or 1, otherwise the frame is invalid
//! (OP specs, `derivation.md` "Frame Format").

use alloy::primitives::hex;
use std::fmt;

/// Bytes of a frame that are not `frame_data`: 16 + 2 + 4 + 1.
pub const FRAME_OVERHEAD: usize = 23;

/// Largest `frame_data_length` a valid frame may declare.
pub const MAX_FRAME_DATA_LEN: usize = 1_000_000;

/// Length of a channel id in bytes.
pub const CHANNEL_ID_LEN: usize = 16;

/// Opaque identifier of a channel, chosen by the batcher.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(pub [u8; CHANNEL_ID_LEN]);

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChannelId({self})")
    }
}

impl From<[u8; CHANNEL_ID_LEN]> for ChannelId {
    fn from(bytes: [u8; CHANNEL_ID_LEN]) -> Self {
        Self(bytes)
    }
}

/// One frame of a channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// The channel this frame belongs to.
    pub channel_id: ChannelId,
    /// Index of the frame within its channel.
    pub frame_number: u16,
    /// A slice of the channel's compressed bytes.
    pub data: Vec<u8>,
    /// Whether this is the channel's closing frame.
    pub is_last: bool,
}

/// A frame field, named in decoding errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameField {
    /// `channel_id`, 16 bytes.
    ChannelId,
    /// `frame_number`, 2 bytes.
    FrameNumber,
    /// `frame_data_length`, 4 bytes.
    FrameDataLength,
    /// `frame_data`, as many bytes as declared.
    FrameData,
    /// `is_last`, 1 byte.
    IsLast,
}

impl fmt::Display for FrameField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ChannelId => "channel_id",
            Self::FrameNumber => "frame_number",
            Self::FrameDataLength => "frame_data_length",
            Self::FrameData => "frame_data",
            Self::IsLast => "is_last",
        })
    }
}

/// Why bytes are not a valid frame. Offsets are relative to the buffer given to the decoder.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The buffer ends inside a field.
    #[error("frame truncated in {field} at offset {offset}: need {needed} bytes, {available} left")]
    Truncated {
        /// Field being read.
        field: FrameField,
        /// Offset of the field.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the buffer.
        available: usize,
    },
    /// `frame_data_length` is above [`MAX_FRAME_DATA_LEN`].
    #[error(
        "frame_data_length {len} at offset {offset} exceeds the maximum of {MAX_FRAME_DATA_LEN}"
    )]
    DataTooLong {
        /// Offset of the `frame_data_length` field.
        offset: usize,
        /// Declared length.
        len: u32,
    },
    /// `is_last` is neither 0 nor 1.
    #[error("is_last byte at offset {offset} is {value}, must be 0 or 1")]
    InvalidIsLast {
        /// Offset of the `is_last` byte.
        offset: usize,
        /// The byte found.
        value: u8,
    },
}

/// Why a frame cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("frame data of {len} bytes exceeds the maximum of {MAX_FRAME_DATA_LEN}")]
pub struct FrameTooLarge {
    /// Length of the data.
    pub len: usize,
}

impl Frame {
    /// Encoded size: data plus [`FRAME_OVERHEAD`].
    pub fn encoded_len(&self) -> usize {
        self.data.len() + FRAME_OVERHEAD
    }

    /// Appends the wire encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), FrameTooLarge> {
        let len = self.checked_data_len()?;
        out.reserve(self.encoded_len());
        out.extend_from_slice(&self.channel_id.0);
        out.extend_from_slice(&self.frame_number.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.data);
        out.push(u8::from(self.is_last));
        Ok(())
    }

    /// The wire encoding.
    pub fn encode(&self) -> Result<Vec<u8>, FrameTooLarge> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out)?;
        Ok(out)
    }

    fn checked_data_len(&self) -> Result<u32, FrameTooLarge> {
        let len = self.data.len();
        if len > MAX_FRAME_DATA_LEN {
            return Err(FrameTooLarge { len });
        }
        u32::try_from(len).map_err(|_| FrameTooLarge { len })
    }

    /// Decodes one frame from the start of `buf`, returning it and the bytes it took.
    pub fn decode(buf: &[u8]) -> Result<(Self, usize), FrameError> {
        Self::decode_at(buf, 0)
    }

    /// Decodes one frame at `offset` in `buf`; errors carry offsets into `buf`.
    pub fn decode_at(buf: &[u8], offset: usize) -> Result<(Self, usize), FrameError> {
        let mut cursor = Cursor { buf, pos: offset };
        let channel_id: [u8; CHANNEL_ID_LEN] = cursor.array(FrameField::ChannelId)?;
        let frame_number = u16::from_be_bytes(cursor.array(FrameField::FrameNumber)?);
        let len_offset = cursor.pos;
        let len = u32::from_be_bytes(cursor.array(FrameField::FrameDataLength)?);
        if len as usize > MAX_FRAME_DATA_LEN {
            return Err(FrameError::DataTooLong {
                offset: len_offset,
                len,
            });
        }
        let data = cursor.take(FrameField::FrameData, len as usize)?.to_vec();
        let is_last_offset = cursor.pos;
        let [is_last] = cursor.array(FrameField::IsLast)?;
        let is_last = match is_last {
            0 => false,
            1 => true,
            value => {
                return Err(FrameError::InvalidIsLast {
                    offset: is_last_offset,
                    value,
                });
            }
        };
        let frame = Self {
            channel_id: ChannelId(channel_id),
            frame_number,
            data,
            is_last,
        };
        Ok((frame, cursor.pos - offset))
    }
}

/// Why a channel cannot be split into frames.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// Frame size 0 or above [`MAX_FRAME_DATA_LEN`].
    #[error("frame data size {0} must be between 1 and {MAX_FRAME_DATA_LEN}")]
    FrameSize(usize),
    /// More frames than a u16 frame number can count.
    #[error("{frames} frames needed, at most 65536 fit in one channel")]
    TooManyFrames {
        /// Frames the data would need.
        frames: usize,
    },
}

/// Splits a compressed channel into frames of at most `max_frame_data` bytes each, the last one
/// closing the channel. Empty data gives one empty closing frame.
pub fn split_channel(
    channel_id: ChannelId,
    data: &[u8],
    max_frame_data: usize,
) -> Result<Vec<Frame>, SplitError> {
    if max_frame_data == 0 || max_frame_data > MAX_FRAME_DATA_LEN {
        return Err(SplitError::FrameSize(max_frame_data));
    }
    let count = data.len().div_ceil(max_frame_data).max(1);
    if count > usize::from(u16::MAX) + 1 {
        return Err(SplitError::TooManyFrames { frames: count });
    }
    let mut chunks: Vec<&[u8]> = data.chunks(max_frame_data).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    Ok(chunks
        .into_iter()
        .zip(0u16..=u16::MAX)
        .map(|(chunk, frame_number)| Frame {
            channel_id,
            frame_number,
            data: chunk.to_vec(),
            is_last: usize::from(frame_number) + 1 == count,
        })
        .collect())
}

/// Bounds-checked reader that reports the field and offset of a short read.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, field: FrameField, n: usize) -> Result<&'a [u8], FrameError> {
        let available = self.buf.len().saturating_sub(self.pos);
        let out = self
            .buf
            .get(self.pos..)
            .and_then(|rest| rest.get(..n))
            .ok_or(FrameError::Truncated {
                field,
                offset: self.pos,
                needed: n,
                available,
            })?;
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, field: FrameField) -> Result<[u8; N], FrameError> {
        let bytes = self.take(field, N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(id: u8, number: u16, data: &[u8], is_last: bool) -> Frame {
        Frame {
            channel_id: ChannelId([id; 16]),
            frame_number: number,
            data: data.to_vec(),
            is_last,
        }
    }

    #[test]
    fn layout_matches_spec() {
        let f = frame(0xab, 0x0102, &[9, 8, 7], true);
        let enc = f.encode().unwrap();
        assert_eq!(enc.len(), 3 + FRAME_OVERHEAD);
        assert_eq!(&enc[..16], &[0xab; 16]);
        assert_eq!(&enc[16..18], &[1, 2]);
        assert_eq!(&enc[18..22], &[0, 0, 0, 3]);
        assert_eq!(&enc[22..25], &[9, 8, 7]);
        assert_eq!(enc[25], 1);
        assert_eq!(Frame::decode(&enc).unwrap(), (f, enc.len()));
    }

    #[test]
    fn rejects_bad_is_last() {
        let mut enc = frame(1, 0, &[1], false).encode().unwrap();
        *enc.last_mut().unwrap() = 2;
        assert_eq!(
            Frame::decode(&enc),
            Err(FrameError::InvalidIsLast {
                offset: 23,
                value: 2
            })
        );
    }

    #[test]
    fn data_length_cap() {
        let mut enc = vec![0u8; 18];
        enc.extend_from_slice(&1_000_001u32.to_be_bytes());
        assert_eq!(
            Frame::decode(&enc),
            Err(FrameError::DataTooLong {
                offset: 18,
                len: 1_000_001
            })
        );
        let max = frame(0, 0, &vec![0; MAX_FRAME_DATA_LEN], true);
        let enc = max.encode().unwrap();
        assert_eq!(Frame::decode(&enc).unwrap().0, max);
        let over = frame(0, 0, &vec![0; MAX_FRAME_DATA_LEN + 1], true);
        assert_eq!(
            over.encode(),
            Err(FrameTooLarge {
                len: MAX_FRAME_DATA_LEN + 1
            })
        );
    }

    #[test]
    fn truncation_names_field_and_offset() {
        let enc = frame(1, 0, &[1, 2, 3, 4], true).encode().unwrap();
        assert_eq!(
            Frame::decode(&enc[..10]),
            Err(FrameError::Truncated {
                field: FrameField::ChannelId,
                offset: 0,
                needed: 16,
                available: 10
            })
        );
        assert_eq!(
            Frame::decode(&enc[..24]),
            Err(FrameError::Truncated {
                field: FrameField::FrameData,
                offset: 22,
                needed: 4,
                available: 2
            })
        );
        assert_eq!(
            Frame::decode(&enc[..26]),
            Err(FrameError::Truncated {
                field: FrameField::IsLast,
                offset: 26,
                needed: 1,
                available: 0
            })
        );
    }

    #[test]
    fn split() {
        let id = ChannelId([1; 16]);
        let frames = split_channel(id, &[1, 2, 3, 4, 5], 2).unwrap();
        assert_eq!(
            frames,
            vec![
                frame(1, 0, &[1, 2], false),
                frame(1, 1, &[3, 4], false),
                frame(1, 2, &[5], true)
            ]
        );
        assert_eq!(
            split_channel(id, &[], 2).unwrap(),
            vec![frame(1, 0, &[], true)]
        );
        assert_eq!(split_channel(id, &[1], 0), Err(SplitError::FrameSize(0)));
        assert_eq!(
            split_channel(id, &vec![0; 65_537], 1),
            Err(SplitError::TooManyFrames { frames: 65_537 })
        );
        assert_eq!(
            split_channel(id, &vec![0; 65_536], 1).unwrap().len(),
            65_536
        );
    }

    pub(crate) fn arb_frame() -> impl Strategy<Value = Frame> {
        (
            any::<[u8; 16]>(),
            any::<u16>(),
            proptest::collection::vec(any::<u8>(), 0..300),
            any::<bool>(),
        )
            .prop_map(|(id, frame_number, data, is_last)| Frame {
                channel_id: ChannelId(id),
                frame_number,
                data,
                is_last,
            })
    }

    proptest! {
        #[test]
        fn round_trip(f in arb_frame()) {
            let enc = f.encode().unwrap();
            prop_assert_eq!(enc.len(), f.encoded_len());
            prop_assert_eq!(Frame::decode(&enc).unwrap(), (f, enc.len()));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), offset in 0usize..250) {
            let _ = Frame::decode(&bytes);
            let _ = Frame::decode_at(&bytes, offset);
        }
    }
}
