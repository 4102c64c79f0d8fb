//! Blob commitments and proofs with c-kzg and the Ethereum trusted setup (EIP-4844).
//!
//! ```text
//! blob (131072 bytes) --c-kzg--> commitment (48) --sha256, byte 0 := 0x01--> versioned hash (32)
//!                     \--c-kzg(blob, commitment)--> blob proof (48)
//! ```
//! The L1 recomputes commitments and proofs itself from the blobs a transaction carries, so what
//! the beacon API serves is always real KZG data that matches the transaction's versioned hashes.

use std::sync::Arc;

use alloy::eips::eip4844::{AsCkzg, Blob, BlobTransactionSidecar, Bytes48, kzg_to_versioned_hash};
use alloy::primitives::B256;
use c_kzg::KzgSettings;

/// Why a blob could not be committed to.
#[derive(Debug, thiserror::Error)]
pub enum KzgError {
    /// c-kzg rejected the blob (typically a 32-byte field element not below the BLS modulus).
    #[error("blob {index}: c-kzg rejected it: {source}")]
    Blob {
        /// Position of the blob in its transaction.
        index: usize,
        /// The c-kzg error.
        source: c_kzg::Error,
    },
}

/// One blob with its commitment, proof and versioned hash, as the beacon API serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedBlob {
    /// The blob itself (shared: sidecars and re-included transactions point at the same bytes).
    pub blob: Arc<Blob>,
    /// KZG commitment to the blob.
    pub commitment: Bytes48,
    /// KZG proof that the blob matches the commitment (`compute_blob_kzg_proof`).
    pub proof: Bytes48,
    /// `0x01 || sha256(commitment)[1..]`, what the type-3 transaction lists.
    pub versioned_hash: B256,
}

/// The Ethereum mainnet trusted setup compiled into c-kzg (no precomputation: commitments
/// are rare in the devnet and precomputation costs memory and start-up time).
pub fn settings() -> &'static KzgSettings {
    c_kzg::ethereum_kzg_settings(0)
}

/// Commits to one blob: commitment, proof and versioned hash.
pub fn commit(index: usize, blob: Blob) -> Result<CommittedBlob, KzgError> {
    let settings = settings();
    let ckzg_blob = blob.as_ckzg();
    let commitment = settings
        .blob_to_kzg_commitment(ckzg_blob)
        .map_err(|source| KzgError::Blob { index, source })?
        .to_bytes();
    let proof = settings
        .compute_blob_kzg_proof(ckzg_blob, &commitment)
        .map_err(|source| KzgError::Blob { index, source })?
        .to_bytes();
    Ok(CommittedBlob {
        versioned_hash: kzg_to_versioned_hash(commitment.as_slice()),
        blob: Arc::new(blob),
        commitment: Bytes48::from(commitment.into_inner()),
        proof: Bytes48::from(proof.into_inner()),
    })
}

/// Commits to every blob, in order.
pub fn commit_all(blobs: Vec<Blob>) -> Result<Vec<CommittedBlob>, KzgError> {
    blobs
        .into_iter()
        .enumerate()
        .map(|(index, blob)| commit(index, blob))
        .collect()
}

/// Builds the EIP-4844 sidecar of some blobs (a helper for batchers and tests).
pub fn sidecar(blobs: Vec<Blob>) -> Result<BlobTransactionSidecar, KzgError> {
    let committed = commit_all(blobs)?;
    let mut sidecar = BlobTransactionSidecar::default();
    for c in committed {
        sidecar.blobs.push(Arc::unwrap_or_clone(c.blob));
        sidecar.commitments.push(c.commitment);
        sidecar.proofs.push(c.proof);
    }
    Ok(sidecar)
}

/// Checks a blob against a commitment and proof with c-kzg (`verify_blob_kzg_proof`).
pub fn verify(blob: &Blob, commitment: &Bytes48, proof: &Bytes48) -> Result<bool, c_kzg::Error> {
    settings().verify_blob_kzg_proof(blob.as_ckzg(), commitment.as_ckzg(), proof.as_ckzg())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_proof_and_versioned_hash_agree() {
        let mut bytes = [0u8; 131072];
        // Field elements must stay below the BLS modulus: keep each element's top byte zero.
        for (i, b) in bytes.iter_mut().enumerate() {
            if i % 32 != 0 {
                *b = (i % 251) as u8;
            }
        }
        let committed = commit(0, Blob::from(bytes)).unwrap();
        assert!(verify(&committed.blob, &committed.commitment, &committed.proof).unwrap());
        assert_eq!(committed.versioned_hash[0], 0x01);
        assert_eq!(
            committed.versioned_hash,
            kzg_to_versioned_hash(committed.commitment.as_slice())
        );
        // A proof for another blob does not verify this one.
        let other = commit(1, Blob::ZERO).unwrap();
        assert!(!verify(&committed.blob, &committed.commitment, &other.proof).unwrap());
    }

    #[test]
    fn non_canonical_field_element_is_an_error() {
        let blob = Blob::repeat_byte(0xff);
        let err = commit(3, blob).unwrap_err();
        assert!(err.to_string().starts_with("blob 3:"), "{err}");
    }
}
