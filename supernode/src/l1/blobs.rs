//! The blob half of the traits: cache first, then the beacon node, every blob KZG-checked.
//!
//! ```text
//!  blobs(block, [(index, versioned hash)])
//!    ├─ cached by versioned hash? ─────────────────────────────────────────▶ hit
//!    └─ missing ─▶ slot = (block.timestamp - genesis_time) / SECONDS_PER_SLOT
//!                  ├─ /blob_sidecars/{slot}?indices=..   commitment→hash, proof   ┐ first the one
//!                  └─ /blobs/{slot}?versioned_hashes=..  recompute commitment→hash ┘ that last worked
//!                  Invalid stops at once; otherwise the other endpoint is tried; the errors combine
//!                  as Invalid > Temporary > NotFound.
//! ```
//! Beacon nodes after Fusaka (PeerDAS) may no longer serve `/blob_sidecars/`; `/blobs/` replaces
//! it (op-node moved to it). KZG work runs on the blocking pool, off the async workers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use alloy::primitives::B256;
use opfleet_protocol::L1BlockRef;
use opfleet_protocol::blob::Blob;

use super::beacon::{RawSidecar, SlotClock};
use super::cache::CacheKind;
use super::client::{ChainL1, Shared};
use super::kzg;
use super::retry::retry;
use crate::derive::traits::{BlobProvider, IndexedBlobHash, ProviderError};

/// Verified blobs by versioned hash.
type Found = HashMap<B256, Arc<Blob>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Sidecars,
    Blobs,
}

fn rank(e: &ProviderError) -> u8 {
    match e {
        ProviderError::Invalid(_) => 2,
        ProviderError::Temporary(_) => 1,
        ProviderError::NotFound(_) => 0,
    }
}

/// Two endpoints' failures as one: the more serious kind, both messages.
fn combine(first: ProviderError, second: ProviderError) -> ProviderError {
    let message = format!("{first}; then {second}");
    match rank(&first).max(rank(&second)) {
        2 => ProviderError::Invalid(message),
        1 => ProviderError::Temporary(message),
        _ => ProviderError::NotFound(message),
    }
}

fn joined(e: tokio::task::JoinError) -> ProviderError {
    ProviderError::Temporary(format!("blob verification task failed: {e}"))
}

/// Checks sidecars against the wanted blobs (blocking: KZG).
fn check_sidecars(
    slot: u64,
    sidecars: Vec<RawSidecar>,
    wanted: &[IndexedBlobHash],
) -> Result<Found, ProviderError> {
    let mut by_index: HashMap<u64, RawSidecar> = HashMap::with_capacity(sidecars.len());
    for s in sidecars {
        by_index.entry(s.index).or_insert(s);
    }
    let mut found = Found::with_capacity(wanted.len());
    for w in wanted {
        if found.contains_key(&w.hash) {
            continue;
        }
        let s = by_index.remove(&w.index).ok_or_else(|| {
            ProviderError::NotFound(format!(
                "beacon /blob_sidecars/{slot}: no sidecar for blob index {}",
                w.index
            ))
        })?;
        kzg::verify_sidecar(w.index, &s.blob, &s.commitment, &s.proof, w.hash)
            .map_err(|e| ProviderError::Invalid(format!("beacon /blob_sidecars/{slot}: {e}")))?;
        found.insert(w.hash, Arc::new(s.blob));
    }
    Ok(found)
}

/// Matches `/blobs/` answers to the wanted hashes by recomputed commitment (blocking: KZG).
fn check_blobs(
    slot: u64,
    blobs: Vec<Blob>,
    wanted: &[IndexedBlobHash],
) -> Result<Found, ProviderError> {
    let mut found = Found::with_capacity(wanted.len());
    for (i, blob) in blobs.into_iter().enumerate() {
        let hash = kzg::versioned_hash(i as u64, &blob)
            .map_err(|e| ProviderError::Invalid(format!("beacon /blobs/{slot}: answer {e}")))?;
        if !wanted.iter().any(|w| w.hash == hash) {
            return Err(ProviderError::Invalid(format!(
                "beacon /blobs/{slot}: answer {i} has versioned hash {hash}, which was not asked for"
            )));
        }
        found.entry(hash).or_insert_with(|| Arc::new(blob));
    }
    if let Some(w) = wanted.iter().find(|w| !found.contains_key(&w.hash)) {
        return Err(ProviderError::NotFound(format!(
            "beacon /blobs/{slot}: no blob with versioned hash {} (index {})",
            w.hash, w.index
        )));
    }
    Ok(found)
}

impl Shared {
    async fn slot_clock(&self) -> Result<SlotClock, ProviderError> {
        self.slot_clock
            .get_or_try_init(|| async {
                retry(&self.retry, &*self.clock, "beacon_slot_clock", || {
                    self.beacon.slot_clock()
                })
                .await
            })
            .await
            .copied()
            .map_err(ProviderError::from)
    }

    async fn fetch_from(
        &self,
        endpoint: Endpoint,
        slot: u64,
        wanted: Arc<Vec<IndexedBlobHash>>,
    ) -> Result<Found, ProviderError> {
        match endpoint {
            Endpoint::Sidecars => {
                let mut indices: Vec<u64> = wanted.iter().map(|w| w.index).collect();
                indices.sort_unstable();
                indices.dedup();
                let sidecars = retry(&self.retry, &*self.clock, "beacon_blob_sidecars", || {
                    self.beacon.sidecars(slot, &indices)
                })
                .await?;
                tokio::task::spawn_blocking(move || check_sidecars(slot, sidecars, &wanted))
                    .await
                    .map_err(joined)?
            }
            Endpoint::Blobs => {
                let mut hashes: Vec<B256> = wanted.iter().map(|w| w.hash).collect();
                hashes.sort_unstable();
                hashes.dedup();
                let blobs = retry(&self.retry, &*self.clock, "beacon_blobs", || {
                    self.beacon.blobs(slot, &hashes)
                })
                .await?;
                tokio::task::spawn_blocking(move || check_blobs(slot, blobs, &wanted))
                    .await
                    .map_err(joined)?
            }
        }
    }

    /// Fetches and verifies the wanted blobs of `block` from the beacon node.
    async fn fetch_blobs(
        &self,
        block: &L1BlockRef,
        wanted: Vec<IndexedBlobHash>,
    ) -> Result<Found, ProviderError> {
        let clock = self.slot_clock().await?;
        let slot = clock.slot(block.timestamp).ok_or_else(|| {
            ProviderError::Invalid(format!(
                "L1 block {} has timestamp {} before beacon genesis {}",
                block.hash, block.timestamp, clock.genesis_time
            ))
        })?;
        let wanted = Arc::new(wanted);
        let prefer_blobs = self.prefer_blobs_endpoint.load(Ordering::Relaxed);
        let (first, second) = if prefer_blobs {
            (Endpoint::Blobs, Endpoint::Sidecars)
        } else {
            (Endpoint::Sidecars, Endpoint::Blobs)
        };
        let first_err = match self.fetch_from(first, slot, wanted.clone()).await {
            Ok(found) => return Ok(found),
            Err(e @ ProviderError::Invalid(_)) => return Err(e),
            Err(e) => e,
        };
        match self.fetch_from(second, slot, wanted).await {
            Ok(found) => {
                self.prefer_blobs_endpoint
                    .store(second == Endpoint::Blobs, Ordering::Relaxed);
                tracing::info!(slot, endpoint = ?second, after = %first_err, "beacon blobs served by the other endpoint; asking it first from now on");
                Ok(found)
            }
            Err(second_err) => Err(combine(first_err, second_err)),
        }
    }
}

/// A heap copy of a cached blob (a boxed 128 KiB array must not be cloned through the stack).
fn copy_blob(blob: &Blob) -> Result<Blob, ProviderError> {
    Blob::try_from(blob.as_bytes().as_slice()).map_err(|e| ProviderError::Invalid(e.to_string()))
}

#[async_trait::async_trait]
impl BlobProvider for ChainL1 {
    async fn blobs(
        &self,
        block: &L1BlockRef,
        hashes: &[IndexedBlobHash],
    ) -> Result<Vec<Blob>, ProviderError> {
        let mut slots: Vec<Option<Arc<Blob>>> = hashes
            .iter()
            .map(|h| self.shared.cache.blob(&h.hash))
            .collect();
        let missing: Vec<IndexedBlobHash> = hashes
            .iter()
            .zip(&slots)
            .filter(|(_, s)| s.is_none())
            .map(|(h, _)| *h)
            .collect();
        let misses = missing.len() as u64;
        self.metrics
            .record(CacheKind::Blob, true, hashes.len() as u64 - misses);
        self.metrics.record(CacheKind::Blob, false, misses);
        if !missing.is_empty() {
            let found = self.shared.fetch_blobs(block, missing).await?;
            for (hash, blob) in &found {
                self.shared.cache.put_blob(*hash, blob.clone());
            }
            for (slot, h) in slots.iter_mut().zip(hashes) {
                if slot.is_none() {
                    *slot = found.get(&h.hash).cloned();
                }
            }
        }
        slots
            .iter()
            .zip(hashes)
            .map(|(slot, h)| match slot {
                Some(b) => copy_blob(b),
                None => Err(ProviderError::NotFound(format!(
                    "blob {} (index {}) of L1 block {}",
                    h.hash, h.index, block.hash
                ))),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::l1::kzg::tests::{commit, vector_blob};

    fn wanted(blob: &Blob, index: u64) -> IndexedBlobHash {
        IndexedBlobHash {
            index,
            hash: kzg::versioned_hash(index, blob).unwrap(),
        }
    }

    #[test]
    fn errors_combine_by_severity() {
        let nf = || ProviderError::NotFound("a".into());
        let tmp = || ProviderError::Temporary("b".into());
        let inv = || ProviderError::Invalid("c".into());
        assert!(matches!(combine(nf(), nf()), ProviderError::NotFound(_)));
        assert!(matches!(combine(tmp(), nf()), ProviderError::Temporary(_)));
        assert!(matches!(combine(nf(), inv()), ProviderError::Invalid(_)));
        assert_eq!(
            combine(nf(), tmp()).to_string(),
            "L1 source temporarily unavailable: not found: a; then L1 source temporarily unavailable: b"
        );
    }

    #[test]
    fn sidecars_are_matched_by_index_and_checked() {
        let blob = vector_blob(1);
        let (commitment, proof) = commit(&blob);
        let w = wanted(&blob, 4);
        let sidecar = RawSidecar {
            index: 4,
            blob: blob.clone(),
            commitment,
            proof,
        };
        let found = check_sidecars(9, vec![sidecar.clone()], &[w]).unwrap();
        assert_eq!(
            found.get(&w.hash).map(|b| b.as_bytes()),
            Some(blob.as_bytes())
        );

        let err = check_sidecars(
            9,
            vec![sidecar.clone()],
            &[IndexedBlobHash { index: 5, ..w }],
        )
        .unwrap_err();
        assert!(matches!(err, ProviderError::NotFound(_)), "{err}");

        let mut corrupt = sidecar;
        corrupt.proof = commit(&vector_blob(2)).1;
        let err = check_sidecars(9, vec![corrupt], &[w]).unwrap_err();
        assert!(
            matches!(err, ProviderError::Invalid(ref m) if m.contains("/blob_sidecars/9")),
            "{err}"
        );
    }

    #[test]
    fn blobs_answers_are_matched_by_recomputed_hash() {
        let (a, b) = (vector_blob(1), vector_blob(2));
        let (wa, wb) = (wanted(&a, 0), wanted(&b, 1));
        // Block order differs from request order: still matched.
        let found = check_blobs(3, vec![a.clone(), b.clone()], &[wb, wa]).unwrap();
        assert_eq!(found.len(), 2);
        let err = check_blobs(3, vec![a.clone()], &[wa, wb]).unwrap_err();
        assert!(matches!(err, ProviderError::NotFound(_)), "{err}");
        let err = check_blobs(3, vec![a, b], &[wa]).unwrap_err();
        assert!(matches!(err, ProviderError::Invalid(_)), "{err}");
    }
}
