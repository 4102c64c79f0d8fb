//! Batcher transaction data and the L1 transactions that carry it.
//!
//! ```text
//! batcher data = derivation_version u8 | payload
//!   0x00 -> frame | frame | ...   (at least one; one bad frame drops the whole transaction)
//!   0x01 -> alt-DA commitment     (not supported by opfleet)
//! ```
//! Calldata of type 0/1/2/4 transactions is batcher data; a blob (type 3) transaction carries its
//! batcher data in blobs named by its versioned hashes and its calldata is ignored
//! (OP specs, `derivation.md` "Batcher Transaction Format", `ecotone/derivation.md`).

use crate::frame::{Frame, FrameError};
use alloy::consensus::{Transaction, TxEnvelope, transaction::SignerRecoverable};
use alloy::eips::eip2718::Decodable2718;
use alloy::primitives::{Address, B256, Bytes, hex};

/// Derivation version byte of frame data.
pub const DERIVATION_VERSION_0: u8 = 0x00;

/// Derivation version byte of an alt-DA commitment.
pub const DERIVATION_VERSION_ALT_DA: u8 = 0x01;

/// EIP-2718 type of blob transactions.
pub const BLOB_TX_TYPE: u8 = 0x03;

/// Why batcher data yields no frames.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatcherDataError {
    /// No bytes at all.
    #[error("batcher data is empty: missing derivation version byte")]
    Empty,
    /// Version 1: the data is an alt-DA commitment.
    #[error("batcher data version 0x01 is an alt-DA commitment, not supported")]
    AltDaCommitment,
    /// A version byte the protocol does not define.
    #[error("unknown batcher data version 0x{0:02x}")]
    UnknownVersion(u8),
    /// Version 0 with nothing after it.
    #[error("batcher data version 0 holds no frames")]
    NoFrames,
    /// A frame failed to parse (offsets count from the start of the batcher data).
    #[error("frame {index} of the batcher data is invalid: {source}")]
    Frame {
        /// Position of the bad frame in the transaction.
        index: usize,
        /// What is wrong with it.
        source: FrameError,
    },
}

/// Parses the frames of one batcher transaction's data: all of them, or none.
pub fn parse_frames(data: &[u8]) -> Result<Vec<Frame>, BatcherDataError> {
    let (&version, _) = data.split_first().ok_or(BatcherDataError::Empty)?;
    match version {
        DERIVATION_VERSION_0 => {}
        DERIVATION_VERSION_ALT_DA => return Err(BatcherDataError::AltDaCommitment),
        other => return Err(BatcherDataError::UnknownVersion(other)),
    }
    let mut frames = Vec::new();
    let mut offset = 1;
    while offset < data.len() {
        let (frame, used) =
            Frame::decode_at(data, offset).map_err(|source| BatcherDataError::Frame {
                index: frames.len(),
                source,
            })?;
        frames.push(frame);
        offset += used;
    }
    if frames.is_empty() {
        return Err(BatcherDataError::NoFrames);
    }
    Ok(frames)
}

/// Encodes frames as version-0 batcher data.
pub fn encode_frames(frames: &[Frame]) -> Result<Vec<u8>, crate::frame::FrameTooLarge> {
    let mut out = Vec::with_capacity(1 + frames.iter().map(Frame::encoded_len).sum::<usize>());
    out.push(DERIVATION_VERSION_0);
    for frame in frames {
        frame.encode_into(&mut out)?;
    }
    Ok(out)
}

/// What derivation needs from a signed L1 transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L1TxData {
    /// Transaction hash.
    pub tx_hash: B256,
    /// EIP-2718 type (0 for legacy).
    pub tx_type: u8,
    /// Recovered sender.
    pub from: Address,
    /// Recipient; `None` for contract creation.
    pub to: Option<Address>,
    /// Calldata.
    pub calldata: Bytes,
    /// Blob versioned hashes (empty unless a blob transaction).
    pub blob_versioned_hashes: Vec<B256>,
}

impl L1TxData {
    /// Whether this is a blob transaction, whose calldata derivation ignores.
    pub fn is_blob_tx(&self) -> bool {
        self.tx_type == BLOB_TX_TYPE
    }

    /// Whether it is a batcher transaction: sent by `batcher` to `inbox`.
    pub fn is_batcher_tx(&self, inbox: Address, batcher: Address) -> bool {
        self.to == Some(inbox) && self.from == batcher
    }
}

/// Why a raw L1 transaction cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum L1TxError {
    /// Not a valid EIP-2718 / legacy RLP transaction.
    #[error("not a valid signed L1 transaction: {0}")]
    Decode(String),
    /// Bytes left after the transaction.
    #[error("{0} trailing bytes after the transaction")]
    TrailingBytes(usize),
    /// The signature does not yield a sender.
    #[error("cannot recover the sender of transaction {tx_hash}: {reason}")]
    Recovery {
        /// Hash of the transaction.
        tx_hash: B256,
        /// Why recovery failed.
        reason: String,
    },
}

/// Reads a raw signed L1 transaction of any type (legacy, 2930, 1559, 4844 with or without
/// sidecar, 7702) and recovers its sender.
pub fn decode_l1_tx(raw: &[u8]) -> Result<L1TxData, L1TxError> {
    let mut buf = raw;
    let envelope =
        TxEnvelope::decode_2718(&mut buf).map_err(|e| L1TxError::Decode(e.to_string()))?;
    if !buf.is_empty() {
        return Err(L1TxError::TrailingBytes(buf.len()));
    }
    let tx_hash = *envelope.tx_hash();
    let from = envelope.recover_signer().map_err(|e| L1TxError::Recovery {
        tx_hash,
        reason: e.to_string(),
    })?;
    Ok(L1TxData {
        tx_hash,
        tx_type: envelope.tx_type() as u8,
        from,
        to: envelope.to(),
        calldata: envelope.input().clone(),
        blob_versioned_hashes: envelope
            .blob_versioned_hashes()
            .map(<[B256]>::to_vec)
            .unwrap_or_default(),
    })
}

/// Reads CLI input as hex when it is hex (optional `0x`, whitespace anywhere), else as raw bytes.
///
/// Input that is valid hex is always taken as hex, so raw binary that happens to consist only of
/// ASCII hex digits is misread; binary batcher data starts with 0x00, which never is.
pub fn decode_hex_or_raw(input: &[u8]) -> Vec<u8> {
    let compact: Vec<u8> = input
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let digits = compact
        .strip_prefix(b"0x")
        .or_else(|| compact.strip_prefix(b"0X"))
        .unwrap_or(&compact);
    if digits.is_empty() {
        // Whitespace only, or a bare "0x": nothing.
        return Vec::new();
    }
    if digits.iter().all(u8::is_ascii_hexdigit)
        && let Ok(bytes) = hex::decode(digits)
    {
        return bytes;
    }
    input.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{ChannelId, FrameField};
    use alloy::consensus::{
        SignableTransaction, TxEip1559, TxEip2930, TxEip4844, TxEip4844WithSidecar, TxEip7702,
        TxLegacy, transaction::TxEip4844Variant,
    };
    use alloy::eips::eip2718::Encodable2718;
    use alloy::eips::eip4844::BlobTransactionSidecar;
    use alloy::primitives::{Signature, TxKind, U256, b256};
    use proptest::prelude::*;

    fn frame(n: u16, last: bool) -> Frame {
        Frame {
            channel_id: ChannelId([7; 16]),
            frame_number: n,
            data: vec![n as u8; 5],
            is_last: last,
        }
    }

    #[test]
    fn versions() {
        assert_eq!(parse_frames(&[]), Err(BatcherDataError::Empty));
        assert_eq!(parse_frames(&[0]), Err(BatcherDataError::NoFrames));
        assert_eq!(
            parse_frames(&[1, 2, 3]),
            Err(BatcherDataError::AltDaCommitment)
        );
        assert_eq!(parse_frames(&[2]), Err(BatcherDataError::UnknownVersion(2)));
        assert!(
            BatcherDataError::AltDaCommitment
                .to_string()
                .contains("alt-DA commitment, not supported")
        );
    }

    #[test]
    fn several_frames_and_all_or_nothing() {
        let frames = vec![frame(0, false), frame(1, false), frame(2, true)];
        let data = encode_frames(&frames).unwrap();
        assert_eq!(parse_frames(&data).unwrap(), frames);
        // One byte short: the last frame is cut, the whole tx is rejected.
        let err = parse_frames(&data[..data.len() - 1]).unwrap_err();
        assert_eq!(
            err,
            BatcherDataError::Frame {
                index: 2,
                source: FrameError::Truncated {
                    field: FrameField::IsLast,
                    offset: data.len() - 1,
                    needed: 1,
                    available: 0
                }
            }
        );
    }

    #[test]
    fn hex_or_raw() {
        assert_eq!(decode_hex_or_raw(b"0x0a0B\n"), vec![0x0a, 0x0b]);
        assert_eq!(decode_hex_or_raw(b"  0a 0b\n0c "), vec![0x0a, 0x0b, 0x0c]);
        assert_eq!(decode_hex_or_raw(b"0x"), Vec::<u8>::new());
        assert_eq!(decode_hex_or_raw(b" \n"), Vec::<u8>::new());
        assert_eq!(decode_hex_or_raw(&[0, 1, 2]), vec![0, 1, 2]);
        // Odd number of digits is not hex.
        assert_eq!(decode_hex_or_raw(b"abc"), b"abc".to_vec());
    }

    /// Deterministic test key: the well-known anvil account 0.
    fn signer() -> (k256::ecdsa::SigningKey, Address) {
        let key = k256::ecdsa::SigningKey::from_slice(
            &b256!("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80").0,
        )
        .unwrap();
        let addr = alloy::primitives::address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        (key, addr)
    }

    fn sign<T: SignableTransaction<Signature>>(tx: T) -> alloy::consensus::Signed<T> {
        let (key, _) = signer();
        let hash = tx.signature_hash();
        let (sig, recid) = key.sign_prehash_recoverable(hash.as_slice()).unwrap();
        let signature = Signature::from_signature_and_parity(sig, recid.is_y_odd());
        tx.into_signed(signature)
    }

    const INBOX: Address = alloy::primitives::address!("ff00000000000000000000000000000011155420");

    fn check(raw: &[u8], tx_type: u8, calldata: &[u8], hashes: &[B256]) {
        let data = decode_l1_tx(raw).unwrap();
        assert_eq!(data.tx_type, tx_type);
        assert_eq!(data.from, signer().1);
        assert_eq!(data.to, Some(INBOX));
        assert_eq!(data.calldata.as_ref(), calldata);
        assert_eq!(data.blob_versioned_hashes, hashes);
        assert!(data.is_batcher_tx(INBOX, signer().1));
        assert_eq!(data.is_blob_tx(), tx_type == BLOB_TX_TYPE);
        let mut padded = raw.to_vec();
        padded.push(0);
        assert_eq!(decode_l1_tx(&padded), Err(L1TxError::TrailingBytes(1)));
    }

    #[test]
    fn every_l1_tx_type() {
        let input = Bytes::from(encode_frames(&[frame(0, true)]).unwrap());
        let legacy = TxLegacy {
            chain_id: Some(1),
            nonce: 1,
            gas_price: 7,
            gas_limit: 100_000,
            to: TxKind::Call(INBOX),
            value: U256::ZERO,
            input: input.clone(),
        };
        check(&sign(legacy).encoded_2718(), 0, &input, &[]);

        let legacy_pre155 = TxLegacy {
            chain_id: None,
            nonce: 1,
            gas_price: 7,
            gas_limit: 100_000,
            to: TxKind::Call(INBOX),
            value: U256::ZERO,
            input: input.clone(),
        };
        check(&sign(legacy_pre155).encoded_2718(), 0, &input, &[]);

        let eip2930 = TxEip2930 {
            chain_id: 1,
            nonce: 2,
            gas_price: 7,
            gas_limit: 100_000,
            to: TxKind::Call(INBOX),
            value: U256::ZERO,
            access_list: Default::default(),
            input: input.clone(),
        };
        check(&sign(eip2930).encoded_2718(), 1, &input, &[]);

        let eip1559 = TxEip1559 {
            chain_id: 1,
            nonce: 3,
            gas_limit: 100_000,
            max_fee_per_gas: 10,
            max_priority_fee_per_gas: 1,
            to: TxKind::Call(INBOX),
            value: U256::ZERO,
            access_list: Default::default(),
            input: input.clone(),
        };
        check(&sign(eip1559).encoded_2718(), 2, &input, &[]);

        let hashes = vec![B256::repeat_byte(0x01), B256::repeat_byte(0x02)];
        let eip4844 = TxEip4844 {
            chain_id: 1,
            nonce: 4,
            gas_limit: 100_000,
            max_fee_per_gas: 10,
            max_priority_fee_per_gas: 1,
            to: INBOX,
            value: U256::ZERO,
            access_list: Default::default(),
            blob_versioned_hashes: hashes.clone(),
            max_fee_per_blob_gas: 3,
            input: Bytes::from_static(b"ignored"),
        };
        let signed = sign(TxEip4844Variant::<BlobTransactionSidecar>::TxEip4844(
            eip4844.clone(),
        ));
        let plain = TxEnvelope::from(signed).encoded_2718();
        check(&plain, 3, b"ignored", &hashes);

        // Network form: the same transaction wrapped with its blobs, commitments and proofs.
        let blob = crate::blob::encode_blob(&input).unwrap();
        let with_sidecar = TxEip4844WithSidecar::from_tx_and_sidecar(
            eip4844,
            BlobTransactionSidecar::new(
                vec![alloy::eips::eip4844::Blob::from_slice(blob.as_bytes())],
                vec![Default::default()],
                vec![Default::default()],
            ),
        );
        let signed = sign(TxEip4844Variant::TxEip4844WithSidecar(with_sidecar));
        let network = TxEnvelope::from(signed).encoded_2718();
        assert!(network.len() > plain.len() + crate::blob::BLOB_SIZE);
        check(&network, 3, b"ignored", &hashes);

        let eip7702 = TxEip7702 {
            chain_id: 1,
            nonce: 5,
            gas_limit: 100_000,
            max_fee_per_gas: 10,
            max_priority_fee_per_gas: 1,
            to: INBOX,
            value: U256::ZERO,
            access_list: Default::default(),
            authorization_list: vec![],
            input: input.clone(),
        };
        check(&sign(eip7702).encoded_2718(), 4, &input, &[]);
    }

    proptest! {
        #[test]
        fn frames_round_trip(frames in proptest::collection::vec(crate::frame::tests::arb_frame(), 1..5)) {
            let data = encode_frames(&frames).unwrap();
            prop_assert_eq!(parse_frames(&data).unwrap(), frames);
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_frames(&bytes);
            let _ = decode_l1_tx(&bytes);
            let _ = decode_hex_or_raw(&bytes);
        }

        #[test]
        fn version0_prefix_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut data = vec![0u8];
            data.extend_from_slice(&bytes);
            let _ = parse_frames(&data);
        }

        #[test]
        fn typed_prefix_never_panics(ty in 0u8..5, bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut data = vec![ty];
            data.extend_from_slice(&bytes);
            let _ = decode_l1_tx(&data);
        }
    }
}
