//! The attestation (DESIGN "Attestation v1") and its canonical bytes.
//!
//! ```text
//! off  len  field
//!   0    1  version (=1)
//!   1    1  kind (1 = safe, 2 = finalized)
//!   2    8  chain_id
//!  10   32  l2_hash
//!  42    8  l2_number
//!  50   32  l2_parent_hash
//!  82    8  l2_timestamp
//!  90   32  l1_origin_hash
//! 122    8  l1_origin_number
//! 130    8  sequence_number
//! 138   32  derived_from_hash
//! 170    8  derived_from_number
//! 178   32  output_root
//! 210    8  issued_at_ms
//! 218       end
//! ```
//! Integers are big-endian. The signed message is `OPFLEET-ATTESTATION-V1 | 0x00 | canonical`.

use alloy::primitives::B256;
use opfleet_protocol::{BlockId, ChainId, L2BlockRef};
use serde::{Deserialize, Serialize};

/// The only attestation format version this crate reads and writes.
pub const ATTESTATION_VERSION: u8 = 1;
/// Length of the canonical encoding.
pub const CANONICAL_LEN: usize = 218;
/// Domain separation prefix of the signed message (22 ASCII bytes, then one 0x00 byte).
pub const SIGNING_DOMAIN: &[u8; 22] = b"OPFLEET-ATTESTATION-V1";
/// Length of the signed message: domain, separator byte, canonical bytes.
pub const SIGNING_MESSAGE_LEN: usize = SIGNING_DOMAIN.len() + 1 + CANONICAL_LEN;

/// Which head an attestation speaks for; JSON `"safe"` or `"finalized"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttestationKind {
    /// The (cross-)safe head.
    Safe,
    /// The finalized head.
    Finalized,
}

impl AttestationKind {
    /// The kind's byte in the canonical encoding.
    pub const fn to_byte(self) -> u8 {
        match self {
            Self::Safe => 1,
            Self::Finalized => 2,
        }
    }

    /// The kind for a canonical byte, if it names one.
    pub const fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::Safe),
            2 => Some(Self::Finalized),
            _ => None,
        }
    }

    /// The kind's JSON spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Safe => "safe",
            Self::Finalized => "finalized",
        }
    }
}

impl core::fmt::Display for AttestationKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A statement that `block` (with `output_root`) is the `kind` head of `chain_id`, as derived
/// from L1 up to `derived_from`, made at `issued_at_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Attestation {
    /// Safe or finalized.
    pub kind: AttestationKind,
    /// The L2 chain.
    pub chain_id: ChainId,
    /// The attested L2 block.
    pub block: L2BlockRef,
    /// The L1 block at which `block` became safe (or finalized).
    pub derived_from: BlockId,
    /// Output root v0 of `block`.
    pub output_root: B256,
    /// Signer's wall clock when signing, milliseconds since the Unix epoch.
    pub issued_at_ms: u64,
}

/// Canonical bytes that are not an attestation v1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not exactly 218 bytes.
    #[error("attestation must be exactly {CANONICAL_LEN} bytes, got {0}")]
    WrongLength(usize),
    /// Byte 0 is not 1.
    #[error("unsupported attestation version {0} at offset 0 (expected {ATTESTATION_VERSION})")]
    UnsupportedVersion(u8),
    /// Byte 1 is neither 1 (safe) nor 2 (finalized).
    #[error("unknown attestation kind {0} at offset 1 (expected 1 = safe or 2 = finalized)")]
    UnknownKind(u8),
}

impl Attestation {
    /// The 218 canonical bytes.
    pub fn to_canonical_bytes(&self) -> [u8; CANONICAL_LEN] {
        let mut out = [0u8; CANONICAL_LEN];
        let mut w = Writer {
            buf: &mut out,
            pos: 0,
        };
        w.put(&[ATTESTATION_VERSION, self.kind.to_byte()]);
        w.put(&self.chain_id.get().to_be_bytes());
        w.put(self.block.hash.as_slice());
        w.put(&self.block.number.to_be_bytes());
        w.put(self.block.parent_hash.as_slice());
        w.put(&self.block.timestamp.to_be_bytes());
        w.put(self.block.l1_origin.hash.as_slice());
        w.put(&self.block.l1_origin.number.to_be_bytes());
        w.put(&self.block.sequence_number.to_be_bytes());
        w.put(self.derived_from.hash.as_slice());
        w.put(&self.derived_from.number.to_be_bytes());
        w.put(self.output_root.as_slice());
        w.put(&self.issued_at_ms.to_be_bytes());
        debug_assert_eq!(w.pos, CANONICAL_LEN);
        out
    }

    /// Decodes canonical bytes; anything but exactly one v1 attestation is an error.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let buf: &[u8; CANONICAL_LEN] = bytes
            .try_into()
            .map_err(|_| DecodeError::WrongLength(bytes.len()))?;
        let [version, kind_byte, ..] = *buf;
        if version != ATTESTATION_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let kind =
            AttestationKind::from_byte(kind_byte).ok_or(DecodeError::UnknownKind(kind_byte))?;
        let mut r = Reader { buf, pos: 2 };
        let chain_id = ChainId(r.u64());
        let hash = r.b256();
        let number = r.u64();
        let parent_hash = r.b256();
        let timestamp = r.u64();
        let l1_origin = BlockId {
            hash: r.b256(),
            number: r.u64(),
        };
        let sequence_number = r.u64();
        let derived_from = BlockId {
            hash: r.b256(),
            number: r.u64(),
        };
        let output_root = r.b256();
        let issued_at_ms = r.u64();
        debug_assert_eq!(r.pos, CANONICAL_LEN);
        Ok(Self {
            kind,
            chain_id,
            block: L2BlockRef {
                hash,
                number,
                parent_hash,
                timestamp,
                l1_origin,
                sequence_number,
            },
            derived_from,
            output_root,
            issued_at_ms,
        })
    }

    /// The exact bytes that are signed: domain, 0x00, canonical bytes.
    pub fn signing_message(&self) -> [u8; SIGNING_MESSAGE_LEN] {
        let mut out = [0u8; SIGNING_MESSAGE_LEN];
        let (domain, rest) = out.split_at_mut(SIGNING_DOMAIN.len());
        domain.copy_from_slice(SIGNING_DOMAIN);
        // rest[0] stays 0x00: the separator.
        rest[1..].copy_from_slice(&self.to_canonical_bytes());
        out
    }
}

/// Sequential writer into a fixed buffer whose total size the caller has already checked.
struct Writer<'a> {
    buf: &'a mut [u8; CANONICAL_LEN],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        self.buf[self.pos..end].copy_from_slice(bytes);
        self.pos = end;
    }
}

/// Sequential reader over a buffer of exactly `CANONICAL_LEN` bytes; offsets are fixed by the
/// layout, so reads stay in bounds by construction.
struct Reader<'a> {
    buf: &'a [u8; CANONICAL_LEN],
    pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buf[self.pos..self.pos + N]);
        self.pos += N;
        out
    }

    fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.take())
    }

    fn b256(&mut self) -> B256 {
        B256::from(self.take::<32>())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn arb_attestation() -> impl Strategy<Value = Attestation> {
        (
            prop_oneof![
                Just(AttestationKind::Safe),
                Just(AttestationKind::Finalized)
            ],
            any::<u64>(),
            any::<[[u8; 32]; 5]>(),
            any::<[u64; 8]>(),
        )
            .prop_map(|(kind, chain, h, n)| Attestation {
                kind,
                chain_id: ChainId(chain),
                block: L2BlockRef {
                    hash: B256::from(h[0]),
                    number: n[0],
                    parent_hash: B256::from(h[1]),
                    timestamp: n[1],
                    l1_origin: BlockId {
                        hash: B256::from(h[2]),
                        number: n[2],
                    },
                    sequence_number: n[3],
                },
                derived_from: BlockId {
                    hash: B256::from(h[3]),
                    number: n[4],
                },
                output_root: B256::from(h[4]),
                issued_at_ms: n[5],
            })
    }

    /// An attestation whose every field has a distinct, recognisable byte pattern.
    pub(crate) fn sample() -> Attestation {
        Attestation {
            kind: AttestationKind::Safe,
            chain_id: ChainId(11155420),
            block: L2BlockRef {
                hash: B256::repeat_byte(0x11),
                number: 0x0102_0304_0506_0708,
                parent_hash: B256::repeat_byte(0x22),
                timestamp: 1_700_000_000,
                l1_origin: BlockId {
                    hash: B256::repeat_byte(0x33),
                    number: 9,
                },
                sequence_number: 2,
            },
            derived_from: BlockId {
                hash: B256::repeat_byte(0x44),
                number: 10,
            },
            output_root: B256::repeat_byte(0x55),
            issued_at_ms: 1_700_000_000_123,
        }
    }

    #[test]
    fn layout_follows_design_offsets() {
        let b = sample().to_canonical_bytes();
        assert_eq!(b.len(), 218);
        assert_eq!(b[0], 1);
        assert_eq!(b[1], 1);
        assert_eq!(&b[2..10], &11155420u64.to_be_bytes());
        assert_eq!(&b[10..42], &[0x11; 32]);
        assert_eq!(&b[42..50], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&b[50..82], &[0x22; 32]);
        assert_eq!(&b[82..90], &1_700_000_000u64.to_be_bytes());
        assert_eq!(&b[90..122], &[0x33; 32]);
        assert_eq!(&b[122..130], &9u64.to_be_bytes());
        assert_eq!(&b[130..138], &2u64.to_be_bytes());
        assert_eq!(&b[138..170], &[0x44; 32]);
        assert_eq!(&b[170..178], &10u64.to_be_bytes());
        assert_eq!(&b[178..210], &[0x55; 32]);
        assert_eq!(&b[210..218], &1_700_000_000_123u64.to_be_bytes());
    }

    #[test]
    fn finalized_kind_byte_is_two() {
        let a = Attestation {
            kind: AttestationKind::Finalized,
            ..sample()
        };
        assert_eq!(a.to_canonical_bytes()[1], 2);
    }

    #[test]
    fn signing_message_is_domain_zero_canonical() {
        let a = sample();
        let m = a.signing_message();
        assert_eq!(m.len(), 241);
        assert_eq!(&m[..22], b"OPFLEET-ATTESTATION-V1");
        assert_eq!(m[22], 0);
        assert_eq!(&m[23..], &a.to_canonical_bytes());
    }

    #[test]
    fn rejects_wrong_length() {
        let b = sample().to_canonical_bytes();
        assert_eq!(
            Attestation::from_canonical_bytes(&b[..217]),
            Err(DecodeError::WrongLength(217))
        );
        let mut long = b.to_vec();
        long.push(0);
        assert_eq!(
            Attestation::from_canonical_bytes(&long),
            Err(DecodeError::WrongLength(219))
        );
        assert_eq!(
            Attestation::from_canonical_bytes(&[]),
            Err(DecodeError::WrongLength(0))
        );
    }

    #[test]
    fn rejects_every_other_version() {
        let b = sample().to_canonical_bytes();
        for v in (0..=255u8).filter(|v| *v != 1) {
            let mut x = b;
            x[0] = v;
            assert_eq!(
                Attestation::from_canonical_bytes(&x),
                Err(DecodeError::UnsupportedVersion(v))
            );
        }
    }

    #[test]
    fn rejects_every_other_kind() {
        let b = sample().to_canonical_bytes();
        for k in (0..=255u8).filter(|k| *k != 1 && *k != 2) {
            let mut x = b;
            x[1] = k;
            assert_eq!(
                Attestation::from_canonical_bytes(&x),
                Err(DecodeError::UnknownKind(k))
            );
        }
    }

    proptest! {
        #[test]
        fn round_trip(a in arb_attestation()) {
            let b = a.to_canonical_bytes();
            prop_assert_eq!(Attestation::from_canonical_bytes(&b), Ok(a));
        }

        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Attestation::from_canonical_bytes(&bytes);
        }

        #[test]
        fn any_218_bytes_with_valid_header_round_trip(
            body in proptest::collection::vec(any::<u8>(), 216),
            kind in 1u8..=2,
        ) {
            let mut b = vec![1u8, kind];
            b.extend_from_slice(&body);
            let a = Attestation::from_canonical_bytes(&b);
            prop_assert!(a.is_ok());
            if let Ok(a) = a {
                prop_assert_eq!(a.to_canonical_bytes().to_vec(), b);
            }
        }
    }
}
