//! The last heads served per chain, as JSON, loaded before anything is served after a restart.

use std::collections::BTreeMap;

use opfleet_protocol::{BlockId, ChainId, SyncStatus};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Store, StoreError, sql, to_i64, to_u64};
use crate::heads::ChainHeads;

const TABLE: &str = "served_heads";

/// Stored form of [`ChainHeads`] (the chain id is the row key).
#[derive(Serialize, Deserialize)]
struct StoredHeads {
    status: SyncStatus,
    safe_derived_from: BlockId,
    finalized_derived_from: BlockId,
}

impl Store {
    /// Records `heads` as the last served for its chain.
    pub async fn save_heads(&self, heads: &ChainHeads) -> Result<(), StoreError> {
        let json = serde_json::to_string(&StoredHeads {
            status: heads.status,
            safe_derived_from: heads.safe_derived_from,
            finalized_derived_from: heads.finalized_derived_from,
        })
        .map_err(|e| StoreError::Corrupt {
            table: TABLE,
            chain_id: heads.chain_id.get() as i64,
            reason: format!("cannot encode: {e}"),
        })?;
        sqlx::query(
            "INSERT INTO served_heads (chain_id, heads) VALUES (?1, ?2) \
             ON CONFLICT (chain_id) DO UPDATE SET heads = excluded.heads",
        )
        .bind(to_i64("chain id", heads.chain_id.get())?)
        .bind(json)
        .execute(self.pool())
        .await
        .map_err(sql("save heads"))?;
        Ok(())
    }

    /// Every chain's last served heads.
    pub async fn load_heads(&self) -> Result<BTreeMap<ChainId, ChainHeads>, StoreError> {
        let rows = sqlx::query("SELECT chain_id, heads FROM served_heads")
            .fetch_all(self.pool())
            .await
            .map_err(sql("load heads"))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let chain_i: i64 = row.try_get("chain_id").map_err(sql("read heads"))?;
            let json: String = row.try_get("heads").map_err(sql("read heads"))?;
            let stored: StoredHeads =
                serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
                    table: TABLE,
                    chain_id: chain_i,
                    reason: e.to_string(),
                })?;
            let chain_id = ChainId(to_u64(TABLE, chain_i, chain_i)?);
            out.insert(
                chain_id,
                ChainHeads {
                    chain_id,
                    status: stored.status,
                    safe_derived_from: stored.safe_derived_from,
                    finalized_derived_from: stored.finalized_derived_from,
                    last_rewind: None,
                },
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::B256;

    #[tokio::test]
    async fn heads_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut heads = ChainHeads {
            chain_id: ChainId(10),
            ..Default::default()
        };
        heads.status.safe_l2.number = 7;
        heads.status.safe_l2.hash = B256::repeat_byte(7);
        heads.safe_derived_from.number = 3;
        {
            let s = Store::open(dir.path()).await.unwrap();
            assert!(s.load_heads().await.unwrap().is_empty());
            s.save_heads(&heads).await.unwrap();
            heads.status.finalized_l2.number = 5;
            s.save_heads(&heads).await.unwrap();
            s.close().await;
        }
        let s = Store::open(dir.path()).await.unwrap();
        let loaded = s.load_heads().await.unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[&ChainId(10)], heads);
    }
}
