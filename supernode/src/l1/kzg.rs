//! Blob checks with c-kzg and the Ethereum mainnet trusted setup (EIP-4844), as op-node does them.
//!
//! ```text
//!  sidecar:  kzg_to_versioned_hash(commitment) == tx versioned hash
//!            verify_blob_kzg_proof(blob, commitment, proof)
//!  /blobs/:  kzg_to_versioned_hash(blob_to_kzg_commitment(blob)) == tx versioned hash
//!            (no proof is served: the commitment is recomputed from the blob)
//! ```
//! The versioned hash comes from a type-3 transaction of an L1 block whose header hashed to its
//! hash and whose transactions matched its root, so a blob that passes is the one L1 committed to.

use alloy::eips::eip4844::{AsCkzg, Blob as AlloyBlob, kzg_to_versioned_hash};
use alloy::primitives::B256;
use c_kzg::KzgSettings;
use opfleet_protocol::blob::Blob;

/// Why a blob was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobCheckError {
    /// The commitment does not hash to the versioned hash the transaction lists.
    #[error("blob {index}: commitment hashes to {got}, transaction lists {expected}")]
    VersionedHash {
        /// Index of the blob in its block.
        index: u64,
        /// The transaction's versioned hash.
        expected: B256,
        /// `kzg_to_versioned_hash` of the served (or recomputed) commitment.
        got: B256,
    },
    /// The KZG proof does not open the commitment to this blob.
    #[error("blob {index}: KZG proof does not verify against the commitment")]
    Proof {
        /// Index of the blob in its block.
        index: u64,
    },
    /// c-kzg refused the input (a field element not below the BLS modulus, a point not on the curve).
    #[error("blob {index}: c-kzg rejected it: {reason}")]
    Malformed {
        /// Index of the blob in its block.
        index: u64,
        /// c-kzg's message.
        reason: String,
    },
}

/// The trusted setup compiled into c-kzg (no precomputation: verification is all we do).
fn settings() -> &'static KzgSettings {
    c_kzg::ethereum_kzg_settings(0)
}

/// Views the blob as c-kzg's type without copying 128 KiB onto the stack.
fn as_ckzg(index: u64, blob: &Blob) -> Result<&c_kzg::Blob, BlobCheckError> {
    <&AlloyBlob>::try_from(blob.as_bytes().as_slice())
        .map(AsCkzg::as_ckzg)
        .map_err(|e| BlobCheckError::Malformed {
            index,
            reason: e.to_string(),
        })
}

/// Checks a beacon blob sidecar: its commitment against the versioned hash, then its proof.
pub fn verify_sidecar(
    index: u64,
    blob: &Blob,
    commitment: &[u8; 48],
    proof: &[u8; 48],
    expected: B256,
) -> Result<(), BlobCheckError> {
    let got = kzg_to_versioned_hash(commitment);
    if got != expected {
        return Err(BlobCheckError::VersionedHash {
            index,
            expected,
            got,
        });
    }
    let malformed = |e: c_kzg::Error| BlobCheckError::Malformed {
        index,
        reason: format!("{e:?}"),
    };
    let commitment = c_kzg::Bytes48::new(*commitment);
    let proof = c_kzg::Bytes48::new(*proof);
    let ok = settings()
        .verify_blob_kzg_proof(as_ckzg(index, blob)?, &commitment, &proof)
        .map_err(malformed)?;
    if ok {
        Ok(())
    } else {
        Err(BlobCheckError::Proof { index })
    }
}

/// The versioned hash of a blob, from a commitment computed here (for `/blobs/` answers).
pub fn versioned_hash(index: u64, blob: &Blob) -> Result<B256, BlobCheckError> {
    let commitment = settings()
        .blob_to_kzg_commitment(as_ckzg(index, blob)?)
        .map_err(|e| BlobCheckError::Malformed {
            index,
            reason: format!("{e:?}"),
        })?;
    Ok(kzg_to_versioned_hash(commitment.to_bytes().as_slice()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::Path;

    /// A real OP-encoded blob from the public vectors.
    pub(crate) fn vector_blob(n: u8) -> Blob {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../../shared/vectors/blobs/blob{n}.hex"));
        let text = std::fs::read_to_string(&path).unwrap();
        Blob::from_hex(&text).unwrap()
    }

    /// Commitment and proof computed with c-kzg directly.
    pub(crate) fn commit(blob: &Blob) -> ([u8; 48], [u8; 48]) {
        let ckzg = as_ckzg(0, blob).unwrap();
        let c = settings().blob_to_kzg_commitment(ckzg).unwrap();
        let p = settings()
            .compute_blob_kzg_proof(ckzg, &c.to_bytes())
            .unwrap();
        (c.to_bytes().into_inner(), p.to_bytes().into_inner())
    }

    #[test]
    fn a_real_sidecar_verifies_and_tampering_is_caught() {
        let blob = vector_blob(1);
        let (commitment, proof) = commit(&blob);
        let hash = kzg_to_versioned_hash(&commitment);
        assert_eq!(hash[0], 0x01);
        verify_sidecar(0, &blob, &commitment, &proof, hash).unwrap();
        assert_eq!(versioned_hash(0, &blob).unwrap(), hash);

        // Another blob's hash: the commitment does not match the transaction.
        let other = vector_blob(2);
        let other_hash = versioned_hash(1, &other).unwrap();
        let err = verify_sidecar(3, &blob, &commitment, &proof, other_hash).unwrap_err();
        assert!(
            matches!(err, BlobCheckError::VersionedHash { index: 3, .. }),
            "{err}"
        );

        // Right commitment, other blob bytes: the proof fails.
        let err = verify_sidecar(2, &other, &commitment, &proof, hash).unwrap_err();
        assert_eq!(err, BlobCheckError::Proof { index: 2 });
    }

    #[test]
    fn non_canonical_field_elements_are_malformed() {
        let blob =
            Blob::try_from(vec![0xffu8; opfleet_protocol::blob::BLOB_SIZE].as_slice()).unwrap();
        let err = versioned_hash(5, &blob).unwrap_err();
        assert!(
            matches!(err, BlobCheckError::Malformed { index: 5, .. }),
            "{err}"
        );
        let commitment = [0u8; 48];
        let err = verify_sidecar(
            6,
            &blob,
            &commitment,
            &[0u8; 48],
            kzg_to_versioned_hash(&commitment),
        )
        .unwrap_err();
        assert!(
            matches!(err, BlobCheckError::Malformed { index: 6, .. }),
            "{err}"
        );
    }
}
