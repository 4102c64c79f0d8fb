//! A bounds-checked read cursor over a byte slice, and the span batch integer encodings.
//!
//! Every read reports the field it was reading and the offset where it started, so a decode error
//! says where the input went wrong. Unsigned varints follow protobuf (and Go's
//! `binary.ReadUvarint`): 7 bits per byte, least significant group first, at most 10 bytes.

use super::errors::BatchDecodeError;

/// Longest uvarint encoding of a `u64`.
const MAX_UVARINT_LEN: usize = 10;

/// A read position in a byte slice.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `data`.
    pub(crate) const fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Offset of the next byte to read.
    pub(crate) const fn offset(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// The unread bytes.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }

    /// Marks `n` more bytes as read (callers checked `n <= remaining`).
    pub(crate) fn advance(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.data.len());
    }

    /// The next byte without consuming it.
    pub(crate) fn peek(&self, field: &'static str) -> Result<u8, BatchDecodeError> {
        self.rest()
            .first()
            .copied()
            .ok_or(BatchDecodeError::UnexpectedEnd {
                field,
                offset: self.pos,
                needed: 1,
                remaining: 0,
            })
    }

    /// Reads exactly `n` bytes.
    pub(crate) fn read_bytes(
        &mut self,
        n: usize,
        field: &'static str,
    ) -> Result<&'a [u8], BatchDecodeError> {
        let rest = self.rest();
        let out = rest.get(..n).ok_or(BatchDecodeError::UnexpectedEnd {
            field,
            offset: self.pos,
            needed: n,
            remaining: rest.len(),
        })?;
        self.pos += n;
        Ok(out)
    }

    /// Reads a fixed-size array.
    pub(crate) fn read_array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], BatchDecodeError> {
        let bytes = self.read_bytes(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Reads a protobuf unsigned varint.
    pub(crate) fn read_uvarint(&mut self, field: &'static str) -> Result<u64, BatchDecodeError> {
        let start = self.pos;
        let mut value: u64 = 0;
        for i in 0..MAX_UVARINT_LEN {
            let byte = self
                .read_bytes(1, field)
                .map_err(|_| BatchDecodeError::UnexpectedEnd {
                    field,
                    offset: start,
                    needed: i + 1,
                    remaining: i,
                })?[0];
            // The tenth byte may only carry the single remaining bit of a u64.
            if i == MAX_UVARINT_LEN - 1 && byte > 1 {
                return Err(BatchDecodeError::VarintOverflow {
                    field,
                    offset: start,
                });
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(BatchDecodeError::VarintOverflow {
            field,
            offset: start,
        })
    }
}

/// Appends `value` as a protobuf unsigned varint.
pub(crate) fn write_uvarint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uvarint_round_trips_edges() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            write_uvarint(&mut out, v);
            let mut c = Cursor::new(&out);
            assert_eq!(c.read_uvarint("v").unwrap(), v);
            assert_eq!(c.remaining(), 0);
        }
    }

    #[test]
    fn uvarint_known_bytes() {
        let mut out = Vec::new();
        write_uvarint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }

    #[test]
    fn uvarint_overflow_and_truncation_are_errors() {
        let too_big = [0xff; 9].iter().copied().chain([0x02]).collect::<Vec<_>>();
        assert!(matches!(
            Cursor::new(&too_big).read_uvarint("v"),
            Err(BatchDecodeError::VarintOverflow { offset: 0, .. })
        ));
        assert!(matches!(
            Cursor::new(&[0x80, 0x80]).read_uvarint("v"),
            Err(BatchDecodeError::UnexpectedEnd { .. })
        ));
        let eleven = [0x80u8; 11];
        assert!(Cursor::new(&eleven).read_uvarint("v").is_err());
    }

    #[test]
    fn read_bytes_reports_offset() {
        let mut c = Cursor::new(&[1, 2, 3]);
        c.read_bytes(2, "a").unwrap();
        assert_eq!(
            c.read_bytes(4, "b"),
            Err(BatchDecodeError::UnexpectedEnd {
                field: "b",
                offset: 2,
                needed: 4,
                remaining: 1
            })
        );
    }
}
