//! Span batch bitlists.
//!
//! A bitlist of `n` bits is a big-endian integer left-padded with zero bits to whole bytes:
//! bit `i` is `(int >> i) & 1`, so bit 0 is the lowest bit of the LAST byte.
//!
//! ```text
//! n = 10, bits 0..9 = 1,0,0,0,0,0,0,0,1,1   ->   [0b0000_0011, 0b0000_0001]
//!                                                  ^ padding must be zero
//! ```

use super::cursor::Cursor;
use super::errors::BatchDecodeError;

/// Bytes needed for `n` bits.
pub(crate) const fn bitlist_len(n: usize) -> usize {
    n.div_ceil(8)
}

/// Reads a bitlist of `n` bits, rejecting set padding bits.
pub(crate) fn read_bitlist(
    cursor: &mut Cursor<'_>,
    n: usize,
    field: &'static str,
) -> Result<Vec<bool>, BatchDecodeError> {
    let offset = cursor.offset();
    let bytes = cursor.read_bytes(bitlist_len(n), field)?;
    let padding = bytes.len() * 8 - n;
    if padding > 0
        && let Some(first) = bytes.first()
        && first >> (8 - padding) != 0
    {
        return Err(BatchDecodeError::BitlistTooLong {
            field,
            offset,
            bits: n,
        });
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let byte = bytes[bytes.len() - 1 - i / 8];
        out.push((byte >> (i % 8)) & 1 == 1);
    }
    Ok(out)
}

/// Appends `bits` as a bitlist.
pub(crate) fn write_bitlist(out: &mut Vec<u8>, bits: &[bool]) {
    let len = bitlist_len(bits.len());
    let mut buf = vec![0u8; len];
    for (i, bit) in bits.iter().enumerate() {
        if *bit {
            buf[len - 1 - i / 8] |= 1 << (i % 8);
        }
    }
    out.extend_from_slice(&buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layout_matches_big_endian_integer() {
        let bits = [
            true, false, false, false, false, false, false, false, true, true,
        ];
        let mut out = Vec::new();
        write_bitlist(&mut out, &bits);
        assert_eq!(out, [0b0000_0011, 0b0000_0001]);
        assert_eq!(read_bitlist(&mut Cursor::new(&out), 10, "b").unwrap(), bits);
    }

    #[test]
    fn set_padding_bit_is_rejected() {
        assert_eq!(
            read_bitlist(&mut Cursor::new(&[0b0000_0100, 0]), 10, "b"),
            Err(BatchDecodeError::BitlistTooLong {
                field: "b",
                offset: 0,
                bits: 10
            })
        );
        assert!(read_bitlist(&mut Cursor::new(&[0b0000_0010, 0]), 10, "b").is_ok());
    }

    #[test]
    fn empty_bitlist_reads_nothing() {
        let mut c = Cursor::new(&[7]);
        assert!(read_bitlist(&mut c, 0, "b").unwrap().is_empty());
        assert_eq!(c.remaining(), 1);
    }

    proptest! {
        #[test]
        fn round_trip(bits in proptest::collection::vec(any::<bool>(), 0..100)) {
            let mut out = Vec::new();
            write_bitlist(&mut out, &bits);
            prop_assert_eq!(out.len(), bitlist_len(bits.len()));
            let mut c = Cursor::new(&out);
            prop_assert_eq!(read_bitlist(&mut c, bits.len(), "b").unwrap(), bits);
        }
    }
}
