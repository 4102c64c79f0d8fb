//! Frames to signed L1 transactions to the batch inbox, and the L1 they go to.
//!
//! ```text
//! calldata: one frame per type-2 tx      input = 0x00 ++ frame
//! blobs:    up to 6 frames per type-3 tx blob i = Blob::encode(0x00 ++ frame i), KZG sidecar
//! ```
//! The batcher signs with its own key and tracks its nonce; fees follow the L1 head (twice the
//! base fee plus a tip, as wallets do), so transactions stay includable for a few blocks.

use alloy::consensus::{
    SignableTransaction, Signed, TxEip1559, TxEip4844, TxEip4844Variant, TxEnvelope,
};
use alloy::eips::eip4844::BlobTransactionSidecar;
use alloy::eips::eip7840::BlobParams;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, TxKind, U256};
use alloy::signers::local::PrivateKeySigner;
use opfleet_protocol::L1BlockRef;
use opfleet_protocol::batcher_data::encode_frames;
use opfleet_protocol::blob::{Blob as OpBlob, BlobError, MAX_BLOB_DATA_LEN};
use opfleet_protocol::frame::{FRAME_OVERHEAD, Frame, FrameTooLarge};

use crate::l1::kzg::{self, KzgError};
use crate::l1::{L1Handle, SubmitError};

/// Most blobs op-batcher puts in one transaction.
pub const MAX_BLOBS_PER_TX: usize = 6;

/// Gas of any transaction before its data (EIP-2028/7623 count the data on top).
const TX_BASE_GAS: u64 = 21_000;

/// Priority fee offered on every batcher transaction.
const TIP: u128 = 1_000_000_000;

/// Where batcher data goes on L1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DataAvailability {
    /// EIP-4844 blobs, one frame per blob, up to [`MAX_BLOBS_PER_TX`] blobs per transaction.
    #[default]
    Blobs,
    /// Calldata, one frame per transaction.
    Calldata {
        /// Most bytes of calldata per transaction (op-batcher's `MaxL1TxSize`, 120 000).
        max_tx_size: usize,
    },
}

impl DataAvailability {
    /// Calldata transactions of at most 120 000 bytes, op-batcher's default.
    pub const fn calldata() -> Self {
        Self::Calldata {
            max_tx_size: 120_000,
        }
    }

    /// Most channel bytes one frame carries: what is left of a blob or a transaction after
    /// the version byte and the frame header.
    pub fn max_frame_data(&self) -> usize {
        let room = match self {
            Self::Blobs => MAX_BLOB_DATA_LEN,
            Self::Calldata { max_tx_size } => *max_tx_size,
        };
        room.saturating_sub(1 + FRAME_OVERHEAD).max(1)
    }

    /// Frames one L1 transaction carries.
    pub fn frames_per_tx(&self) -> usize {
        match self {
            Self::Blobs => MAX_BLOBS_PER_TX,
            Self::Calldata { .. } => 1,
        }
    }
}

/// The L1 as the batcher uses it: its head and fees, its own nonce, and a way to send.
pub trait L1Sink: Send + Sync + 'static {
    /// The current head.
    fn head(&self) -> L1BlockRef;
    /// Base fee and blob base fee the next block charges.
    fn fees(&self) -> L1Fees;
    /// The batcher the SystemConfig names as of the head.
    fn batcher(&self) -> Address;
    /// `sender`'s next nonce: its canonical transactions plus its queued ones (after a restart,
    /// or after an L1 reorg lost some of them).
    fn nonce(&self, sender: Address) -> u64;
    /// Where transaction `tx` is as of the head.
    fn tx_status(&self, tx: &B256) -> TxStatus;
    /// Sends a signed transaction (with the blobs of a type-3 one).
    fn submit(
        &self,
        tx: TxEnvelope,
        sidecar: Option<BlobTransactionSidecar>,
    ) -> Result<B256, SubmitError>;
}

/// Where a sent transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// Waiting to be mined.
    Pending,
    /// In canonical block `block`, above the finalized one.
    Included {
        /// Block number.
        block: u64,
    },
    /// In a canonical block at or below the finalized one.
    Finalized,
    /// Neither pending nor in a kept canonical block: lost in an L1 reorg, or (for an old
    /// transaction) in a block pruned from history.
    Unknown,
}

/// Fees of the next L1 block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L1Fees {
    /// Base fee per gas.
    pub base_fee: u128,
    /// Blob base fee per blob gas.
    pub blob_base_fee: u128,
}

impl L1Sink for L1Handle {
    fn head(&self) -> L1BlockRef {
        L1Handle::head(self)
    }

    fn fees(&self) -> L1Fees {
        self.with_chain(|c| {
            let header = &c.head().header;
            let params = BlobParams::prague();
            let excess = (header.excess_blob_gas.unwrap_or_default()
                + header.blob_gas_used.unwrap_or_default())
            .saturating_sub(params.target_blob_gas_per_block());
            L1Fees {
                base_fee: u128::from(header.base_fee_per_gas.unwrap_or(1)),
                blob_base_fee: params.calc_blob_fee(excess),
            }
        })
    }

    fn batcher(&self) -> Address {
        L1Handle::batcher(self)
    }

    fn nonce(&self, sender: Address) -> u64 {
        self.with_chain(|c| c.pending_nonce(sender))
    }

    fn tx_status(&self, tx: &B256) -> TxStatus {
        self.with_chain(|c| match c.tx_location(tx) {
            Some(at) if at.block <= c.finalized().header.number => TxStatus::Finalized,
            Some(at) => TxStatus::Included { block: at.block },
            None if c.is_queued(tx) => TxStatus::Pending,
            None => TxStatus::Unknown,
        })
    }

    fn submit(
        &self,
        tx: TxEnvelope,
        sidecar: Option<BlobTransactionSidecar>,
    ) -> Result<B256, SubmitError> {
        L1Handle::submit(self, tx, sidecar)
    }
}

/// Why a batcher transaction could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TxBuildError {
    /// No frames, or more than the DA mode puts in one transaction.
    #[error("{count} frames for one transaction: 1..={max} expected")]
    FrameCount {
        /// Frames given.
        count: usize,
        /// Most allowed.
        max: usize,
    },
    /// A frame exceeds the frame size limit.
    #[error("frame {index}: {source}")]
    Frame {
        /// Position in the transaction.
        index: usize,
        /// The encoder's error.
        source: FrameTooLarge,
    },
    /// A frame does not fit a blob.
    #[error("frame {index} does not fit a blob: {source}")]
    Blob {
        /// Position in the transaction.
        index: usize,
        /// The blob encoder's error.
        source: BlobError,
    },
    /// KZG commitment failed.
    #[error(transparent)]
    Kzg(#[from] KzgError),
    /// Signing failed.
    #[error("signing nonce {nonce}: {reason}")]
    Sign {
        /// Nonce of the transaction.
        nonce: u64,
        /// The signer's error.
        reason: String,
    },
}

/// A signed batcher transaction ready for [`L1Sink::submit`].
#[derive(Clone, Debug)]
pub struct BatcherTx {
    /// The signed transaction.
    pub tx: TxEnvelope,
    /// Its blobs with commitments and proofs (type 3 only).
    pub sidecar: Option<BlobTransactionSidecar>,
}

/// Builds and signs the batcher's transactions.
#[derive(Clone, Debug)]
pub struct TxFactory {
    signer: PrivateKeySigner,
    l1_chain_id: u64,
    inbox: Address,
    da: DataAvailability,
}

impl TxFactory {
    /// A factory signing with `signer` for `inbox` on L1 chain `l1_chain_id`.
    pub fn new(
        signer: PrivateKeySigner,
        l1_chain_id: u64,
        inbox: Address,
        da: DataAvailability,
    ) -> Self {
        Self {
            signer,
            l1_chain_id,
            inbox,
            da,
        }
    }

    /// The batcher address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// One signed transaction carrying `frames` (one for calldata, up to six for blobs).
    pub fn build(
        &self,
        nonce: u64,
        frames: &[Frame],
        fees: L1Fees,
    ) -> Result<BatcherTx, TxBuildError> {
        let max = self.da.frames_per_tx();
        if frames.is_empty() || frames.len() > max {
            return Err(TxBuildError::FrameCount {
                count: frames.len(),
                max,
            });
        }
        let max_fee_per_gas = fees.base_fee.saturating_mul(2).saturating_add(TIP);
        let data: Vec<Vec<u8>> = frames
            .iter()
            .enumerate()
            .map(|(index, f)| {
                encode_frames(std::slice::from_ref(f))
                    .map_err(|source| TxBuildError::Frame { index, source })
            })
            .collect::<Result<_, _>>()?;
        match self.da {
            DataAvailability::Calldata { .. } => {
                let input = data.into_iter().next().unwrap_or_default();
                let mut tx = TxEip1559 {
                    chain_id: self.l1_chain_id,
                    nonce,
                    gas_limit: calldata_gas(&input),
                    max_fee_per_gas,
                    max_priority_fee_per_gas: TIP,
                    to: TxKind::Call(self.inbox),
                    value: U256::ZERO,
                    access_list: Default::default(),
                    input: input.into(),
                };
                let sig = self.sign(nonce, &mut tx)?;
                Ok(BatcherTx {
                    tx: TxEnvelope::Eip1559(tx.into_signed(sig)),
                    sidecar: None,
                })
            }
            DataAvailability::Blobs => {
                let mut blobs = Vec::with_capacity(data.len());
                for (index, d) in data.iter().enumerate() {
                    let blob =
                        OpBlob::encode(d).map_err(|source| TxBuildError::Blob { index, source })?;
                    blobs.push(alloy::eips::eip4844::Blob::from_slice(blob.as_bytes()));
                }
                let sidecar = kzg::sidecar(blobs)?;
                let mut tx = TxEip4844 {
                    chain_id: self.l1_chain_id,
                    nonce,
                    gas_limit: TX_BASE_GAS,
                    max_fee_per_gas,
                    max_priority_fee_per_gas: TIP,
                    to: self.inbox,
                    value: U256::ZERO,
                    access_list: Default::default(),
                    blob_versioned_hashes: sidecar.versioned_hashes().collect(),
                    max_fee_per_blob_gas: fees.blob_base_fee.saturating_mul(2).max(1),
                    input: Default::default(),
                };
                let sig = self.sign(nonce, &mut tx)?;
                let signed: Signed<TxEip4844Variant> = tx.into_signed(sig).into();
                Ok(BatcherTx {
                    tx: TxEnvelope::from(signed),
                    sidecar: Some(sidecar),
                })
            }
        }
    }

    fn sign(
        &self,
        nonce: u64,
        tx: &mut dyn SignableTransaction<alloy::primitives::Signature>,
    ) -> Result<alloy::primitives::Signature, TxBuildError> {
        self.signer
            .sign_transaction_sync(tx)
            .map_err(|e| TxBuildError::Sign {
                nonce,
                reason: e.to_string(),
            })
    }
}

/// Intrinsic gas of a calldata transaction under Prague: the larger of the EIP-2028 cost
/// (4 per zero byte, 16 per other byte) and the EIP-7623 floor (10 per token, a non-zero byte
/// counting 4 tokens).
pub fn calldata_gas(input: &[u8]) -> u64 {
    let zeros = input.iter().filter(|b| **b == 0).count() as u64;
    let non_zeros = input.len() as u64 - zeros;
    let standard = TX_BASE_GAS + 4 * zeros + 16 * non_zeros;
    let floor = TX_BASE_GAS + 10 * (zeros + 4 * non_zeros);
    standard.max(floor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::consensus::Transaction;
    use alloy::eips::eip2718::Encodable2718;
    use opfleet_protocol::batcher_data::{decode_l1_tx, parse_frames};
    use opfleet_protocol::frame::ChannelId;

    fn factory(da: DataAvailability) -> TxFactory {
        let signer = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x33)).unwrap();
        TxFactory::new(signer, 900, Address::repeat_byte(0xff), da)
    }

    fn frame(n: u16, len: usize, last: bool) -> Frame {
        Frame {
            channel_id: ChannelId([7; 16]),
            frame_number: n,
            data: (0..len).map(|i| (i % 253) as u8).collect(),
            is_last: last,
        }
    }

    const FEES: L1Fees = L1Fees {
        base_fee: 7,
        blob_base_fee: 1,
    };

    #[test]
    fn calldata_tx_carries_one_frame_signed_by_the_batcher() {
        let f = factory(DataAvailability::calldata());
        let built = f.build(4, &[frame(0, 1_000, true)], FEES).unwrap();
        assert!(built.sidecar.is_none());
        let decoded = decode_l1_tx(&built.tx.encoded_2718()).unwrap();
        assert!(decoded.is_batcher_tx(Address::repeat_byte(0xff), f.address()));
        assert_eq!(built.tx.nonce(), 4);
        assert_eq!(
            parse_frames(&decoded.calldata).unwrap(),
            vec![frame(0, 1_000, true)]
        );
        assert_eq!(built.tx.gas_limit(), calldata_gas(&decoded.calldata));
    }

    #[test]
    fn blob_tx_carries_one_frame_per_blob() {
        let f = factory(DataAvailability::Blobs);
        let frames = [frame(0, 50_000, false), frame(1, 10, true)];
        let built = f.build(0, &frames, FEES).unwrap();
        let sidecar = built.sidecar.unwrap();
        assert_eq!(sidecar.blobs.len(), 2);
        assert_eq!(
            built.tx.blob_versioned_hashes().map(<[B256]>::to_vec),
            Some(sidecar.versioned_hashes().collect())
        );
        for (blob, expected) in sidecar.blobs.iter().zip(&frames) {
            let op = OpBlob::try_from(blob.as_slice()).unwrap();
            let frames = parse_frames(&op.decode().unwrap()).unwrap();
            assert_eq!(frames, vec![expected.clone()]);
        }
    }

    #[test]
    fn frame_counts_and_sizes_are_checked() {
        let blobs = factory(DataAvailability::Blobs);
        let seven: Vec<Frame> = (0..7).map(|n| frame(n, 1, n == 6)).collect();
        assert!(matches!(
            blobs.build(0, &seven, FEES),
            Err(TxBuildError::FrameCount { count: 7, max: 6 })
        ));
        assert!(matches!(
            blobs.build(0, &[], FEES),
            Err(TxBuildError::FrameCount { count: 0, .. })
        ));
        let too_big = frame(0, DataAvailability::Blobs.max_frame_data() + 1, true);
        assert!(matches!(
            blobs.build(0, &[too_big], FEES),
            Err(TxBuildError::Blob { index: 0, .. })
        ));
        let fits = frame(0, DataAvailability::Blobs.max_frame_data(), true);
        assert!(blobs.build(0, &[fits], FEES).is_ok());
    }

    #[test]
    fn calldata_gas_takes_the_floor_for_dense_data() {
        assert_eq!(calldata_gas(&[]), 21_000);
        assert_eq!(calldata_gas(&[1; 10]), 21_000 + 400);
        assert_eq!(calldata_gas(&[0; 10]), 21_000 + 100);
    }
}
