//! The attestations this node signed, kept in their 314-byte wire form with a bounded history
//! per chain and kind (the newest is what `attest_latest` answers after a restart).

use opfleet_attest::{AttestationKind, SignedAttestation};
use opfleet_protocol::ChainId;
use sqlx::Row;

use super::{Store, StoreError, sql, to_i64};

const TABLE: &str = "attestations";

fn kind_code(kind: AttestationKind) -> i64 {
    i64::from(kind.to_byte())
}

impl Store {
    /// Stores a signed attestation and prunes its chain and kind to the configured history.
    pub async fn insert_attestation(&self, signed: &SignedAttestation) -> Result<(), StoreError> {
        let a = &signed.attestation;
        let chain = to_i64("chain id", a.chain_id.get())?;
        let kind = kind_code(a.kind);
        let mut tx = self.pool().begin().await.map_err(sql("begin insert"))?;
        sqlx::query(
            "INSERT INTO attestations (chain_id, kind, l2_number, wire) VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(chain)
        .bind(kind)
        .bind(to_i64("L2 block number", a.block.number)?)
        .bind(signed.to_wire().as_slice())
        .execute(&mut *tx)
        .await
        .map_err(sql("insert attestation"))?;
        sqlx::query(
            "DELETE FROM attestations WHERE chain_id = ?1 AND kind = ?2 AND id NOT IN \
             (SELECT id FROM attestations WHERE chain_id = ?1 AND kind = ?2 \
              ORDER BY id DESC LIMIT ?3)",
        )
        .bind(chain)
        .bind(kind)
        .bind(i64::from(self.history()))
        .execute(&mut *tx)
        .await
        .map_err(sql("prune attestations"))?;
        tx.commit().await.map_err(sql("commit attestation"))
    }

    /// The newest `limit` attestations of a chain and kind, newest first.
    pub async fn recent_attestations(
        &self,
        chain: ChainId,
        kind: AttestationKind,
        limit: u32,
    ) -> Result<Vec<SignedAttestation>, StoreError> {
        let chain_i = to_i64("chain id", chain.get())?;
        let rows = sqlx::query(
            "SELECT wire FROM attestations WHERE chain_id = ?1 AND kind = ?2 \
             ORDER BY id DESC LIMIT ?3",
        )
        .bind(chain_i)
        .bind(kind_code(kind))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(sql("read attestations"))?;
        rows.iter()
            .map(|row| {
                let wire: Vec<u8> = row.try_get("wire").map_err(sql("read attestation"))?;
                SignedAttestation::from_wire(&wire).map_err(|e| StoreError::Corrupt {
                    table: TABLE,
                    chain_id: chain_i,
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    /// The newest attestation of a chain and kind.
    pub async fn latest_attestation(
        &self,
        chain: ChainId,
        kind: AttestationKind,
    ) -> Result<Option<SignedAttestation>, StoreError> {
        Ok(self
            .recent_attestations(chain, kind, 1)
            .await?
            .into_iter()
            .next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;
    use alloy::primitives::B256;
    use opfleet_attest::{Attestation, SigningKey};
    use opfleet_protocol::{BlockId, L2BlockRef};

    fn signed(chain: u64, kind: AttestationKind, n: u64) -> SignedAttestation {
        let key = SigningKey::from_bytes(&[7; 32]);
        SignedAttestation::sign(
            Attestation {
                kind,
                chain_id: ChainId(chain),
                block: L2BlockRef {
                    hash: B256::repeat_byte(1),
                    number: n,
                    ..Default::default()
                },
                derived_from: BlockId::default(),
                output_root: B256::repeat_byte(2),
                issued_at_ms: n,
            },
            &key,
        )
    }

    #[tokio::test]
    async fn latest_is_per_chain_and_kind_and_history_is_bounded() {
        let (_d, s) = temp_store().await;
        let s = s.with_history(3);
        assert_eq!(
            s.latest_attestation(ChainId(10), AttestationKind::Safe)
                .await
                .unwrap(),
            None
        );
        for n in 1..=5 {
            s.insert_attestation(&signed(10, AttestationKind::Safe, n))
                .await
                .unwrap();
        }
        s.insert_attestation(&signed(10, AttestationKind::Finalized, 1))
            .await
            .unwrap();
        s.insert_attestation(&signed(11, AttestationKind::Safe, 9))
            .await
            .unwrap();
        let latest = s
            .latest_attestation(ChainId(10), AttestationKind::Safe)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(latest, signed(10, AttestationKind::Safe, 5));
        latest.verify().unwrap();
        let recent = s
            .recent_attestations(ChainId(10), AttestationKind::Safe, 100)
            .await
            .unwrap();
        let numbers: Vec<u64> = recent.iter().map(|a| a.attestation.block.number).collect();
        assert_eq!(numbers, vec![5, 4, 3]);
        let fin = s
            .latest_attestation(ChainId(10), AttestationKind::Finalized)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(fin.attestation.block.number, 1);
        assert_eq!(
            s.recent_attestations(ChainId(11), AttestationKind::Safe, 10)
                .await
                .unwrap()
                .len(),
            1
        );
    }
}
