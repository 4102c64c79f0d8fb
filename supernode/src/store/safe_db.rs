//! SafeDB: which L2 safe head derivation had when it reached each L1 block, with op-node's
//! semantics (op-node `node/safedb`):
//!
//! ```text
//!   update(safe, l1)  row[l1.number] = (l1.hash, safe)          (several updates at one L1
//!                                                                 block: the last one stays)
//!   reset(safe)       from the first row at/after safe.l1origin whose L2 >= safe.number:
//!                     delete it and all later rows; if an earlier row exists, re-record the
//!                     deleted row's L1 block with `safe` (it became safe there or before)
//!   at(n)             the row with the highest L1 number <= n
//! ```
//! [`Store::record_safe_head`] is what the node calls on every change of `(derived_from, safe)`:
//! it resets first when the safe head or the L1 block moved back (a reorg or a rewind).

use alloy::primitives::B256;
use opfleet_protocol::{BlockId, ChainId, L2BlockRef, SafeHeadResponse};
use sqlx::Row;

use super::{Store, StoreError, sql, to_i64, to_u64};

const TABLE: &str = "safe_db";

fn hash(chain: i64, bytes: &[u8]) -> Result<B256, StoreError> {
    B256::try_from(bytes).map_err(|_| StoreError::Corrupt {
        table: TABLE,
        chain_id: chain,
        reason: format!("hash of {} bytes, expected 32", bytes.len()),
    })
}

fn entry(chain: i64, row: &sqlx::sqlite::SqliteRow) -> Result<SafeHeadResponse, StoreError> {
    let get = |col: &'static str| -> Result<i64, StoreError> {
        row.try_get::<i64, _>(col).map_err(sql("read safe_db row"))
    };
    let blob = |col: &'static str| -> Result<Vec<u8>, StoreError> {
        row.try_get::<Vec<u8>, _>(col)
            .map_err(sql("read safe_db row"))
    };
    Ok(SafeHeadResponse {
        l1_block: BlockId {
            hash: hash(chain, &blob("l1_hash")?)?,
            number: to_u64(TABLE, chain, get("l1_number")?)?,
        },
        safe_head: BlockId {
            hash: hash(chain, &blob("l2_hash")?)?,
            number: to_u64(TABLE, chain, get("l2_number")?)?,
        },
    })
}

impl Store {
    /// op-node's `SafeHeadUpdated`: `safe` was the safe head when derivation reached `l1`.
    pub async fn safe_head_updated(
        &self,
        chain: ChainId,
        safe: BlockId,
        l1: BlockId,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO safe_db (chain_id, l1_number, l1_hash, l2_number, l2_hash) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (chain_id, l1_number) DO UPDATE SET \
             l1_hash = excluded.l1_hash, l2_number = excluded.l2_number, l2_hash = excluded.l2_hash",
        )
        .bind(to_i64("chain id", chain.get())?)
        .bind(to_i64("L1 block number", l1.number)?)
        .bind(l1.hash.as_slice())
        .bind(to_i64("L2 block number", safe.number)?)
        .bind(safe.hash.as_slice())
        .execute(self.pool())
        .await
        .map_err(sql("record safe head"))?;
        Ok(())
    }

    /// op-node's `SafeHeadReset`: forget what was recorded as safe at or above `safe`.
    pub async fn safe_head_reset(
        &self,
        chain: ChainId,
        safe: L2BlockRef,
    ) -> Result<(), StoreError> {
        let chain_i = to_i64("chain id", chain.get())?;
        let mut tx = self.pool().begin().await.map_err(sql("begin reset"))?;
        let first = sqlx::query(
            "SELECT l1_number, l1_hash, l2_number, l2_hash FROM safe_db \
             WHERE chain_id = ?1 AND l1_number >= ?2 AND l2_number >= ?3 \
             ORDER BY l1_number ASC LIMIT 1",
        )
        .bind(chain_i)
        .bind(to_i64("L1 origin number", safe.l1_origin.number)?)
        .bind(to_i64("L2 block number", safe.number)?)
        .fetch_optional(&mut *tx)
        .await
        .map_err(sql("find reset point"))?;
        let Some(first) = first else {
            return tx.commit().await.map_err(sql("commit reset"));
        };
        let first = entry(chain_i, &first)?;
        let first_l1 = to_i64("L1 block number", first.l1_block.number)?;
        let has_earlier: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM safe_db WHERE chain_id = ?1 AND l1_number < ?2)",
        )
        .bind(chain_i)
        .bind(first_l1)
        .fetch_one(&mut *tx)
        .await
        .map_err(sql("look for earlier entries"))?;
        sqlx::query("DELETE FROM safe_db WHERE chain_id = ?1 AND l1_number >= ?2")
            .bind(chain_i)
            .bind(first_l1)
            .execute(&mut *tx)
            .await
            .map_err(sql("delete reset entries"))?;
        // Before our first record we cannot know at which L1 block `safe` became safe.
        if has_earlier {
            sqlx::query(
                "INSERT INTO safe_db (chain_id, l1_number, l1_hash, l2_number, l2_hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .bind(chain_i)
            .bind(first_l1)
            .bind(first.l1_block.hash.as_slice())
            .bind(to_i64("L2 block number", safe.number)?)
            .bind(safe.hash.as_slice())
            .execute(&mut *tx)
            .await
            .map_err(sql("re-record reset entry"))?;
        }
        tx.commit().await.map_err(sql("commit reset"))
    }

    /// op-node's `SafeHeadAtL1`: the entry with the highest L1 number `<= l1_number`.
    pub async fn safe_head_at_l1(
        &self,
        chain: ChainId,
        l1_number: u64,
    ) -> Result<Option<SafeHeadResponse>, StoreError> {
        let chain_i = to_i64("chain id", chain.get())?;
        // Asking above the storable range means "the latest entry".
        let at = i64::try_from(l1_number).unwrap_or(i64::MAX);
        let row = sqlx::query(
            "SELECT l1_number, l1_hash, l2_number, l2_hash FROM safe_db \
             WHERE chain_id = ?1 AND l1_number <= ?2 ORDER BY l1_number DESC LIMIT 1",
        )
        .bind(chain_i)
        .bind(at)
        .fetch_optional(self.pool())
        .await
        .map_err(sql("look up safe head at L1"))?;
        row.map(|r| entry(chain_i, &r)).transpose()
    }

    /// The first L1 block at which a safe head at or above L2 block `l2_number` was recorded:
    /// the L1 data needed to derive that block (`required_l1` of super roots).
    pub async fn safe_source_of(
        &self,
        chain: ChainId,
        l2_number: u64,
    ) -> Result<Option<BlockId>, StoreError> {
        let chain_i = to_i64("chain id", chain.get())?;
        let Ok(n) = i64::try_from(l2_number) else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT l1_number, l1_hash, l2_number, l2_hash FROM safe_db \
             WHERE chain_id = ?1 AND l2_number >= ?2 ORDER BY l1_number ASC LIMIT 1",
        )
        .bind(chain_i)
        .bind(n)
        .fetch_optional(self.pool())
        .await
        .map_err(sql("look up safe source"))?;
        Ok(row
            .map(|r| entry(chain_i, &r))
            .transpose()?
            .map(|e| e.l1_block))
    }

    /// The newest entry of a chain, if any.
    pub async fn latest_safe_entry(
        &self,
        chain: ChainId,
    ) -> Result<Option<SafeHeadResponse>, StoreError> {
        self.safe_head_at_l1(chain, u64::MAX).await
    }

    /// Records a change of `(derived_from, safe)` from the derivation driver: a reset first when
    /// the safe head or the L1 block went back relative to the newest entry, then the update.
    pub async fn record_safe_head(
        &self,
        chain: ChainId,
        safe: L2BlockRef,
        derived_from: BlockId,
    ) -> Result<(), StoreError> {
        if let Some(last) = self.latest_safe_entry(chain).await?
            && (safe.number < last.safe_head.number || derived_from.number < last.l1_block.number)
        {
            self.safe_head_reset(chain, safe).await?;
        }
        self.safe_head_updated(chain, safe.id(), derived_from).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;

    const C: ChainId = ChainId(10);

    fn l1(n: u64) -> BlockId {
        BlockId {
            hash: B256::with_last_byte(n as u8),
            number: n,
        }
    }

    fn l2(n: u64, origin: u64) -> L2BlockRef {
        L2BlockRef {
            hash: crate::publish::gate::tests::tagged(0x20, n),
            number: n,
            l1_origin: l1(origin),
            ..Default::default()
        }
    }

    async fn at(store: &Store, n: u64) -> Option<(u64, u64)> {
        store
            .safe_head_at_l1(C, n)
            .await
            .unwrap()
            .map(|e| (e.l1_block.number, e.safe_head.number))
    }

    #[tokio::test]
    async fn lookup_takes_highest_entry_at_or_below() {
        let (_d, s) = temp_store().await;
        assert_eq!(at(&s, 100).await, None);
        s.record_safe_head(C, l2(10, 1), l1(5)).await.unwrap();
        s.record_safe_head(C, l2(20, 3), l1(8)).await.unwrap();
        assert_eq!(at(&s, 4).await, None);
        assert_eq!(at(&s, 5).await, Some((5, 10)));
        assert_eq!(at(&s, 7).await, Some((5, 10)));
        assert_eq!(at(&s, 8).await, Some((8, 20)));
        assert_eq!(at(&s, u64::MAX).await, Some((8, 20)));
        // Another chain sees nothing.
        assert_eq!(s.safe_head_at_l1(ChainId(11), 8).await.unwrap(), None);
        let e = s.safe_head_at_l1(C, 9).await.unwrap().unwrap();
        assert_eq!(e.l1_block, l1(8));
        assert_eq!(e.safe_head, l2(20, 3).id());
        assert_eq!(s.safe_source_of(C, 10).await.unwrap(), Some(l1(5)));
        assert_eq!(s.safe_source_of(C, 11).await.unwrap(), Some(l1(8)));
        assert_eq!(s.safe_source_of(C, 21).await.unwrap(), None);
    }

    #[tokio::test]
    async fn several_updates_at_one_l1_block_keep_the_last() {
        let (_d, s) = temp_store().await;
        s.record_safe_head(C, l2(10, 1), l1(5)).await.unwrap();
        s.record_safe_head(C, l2(11, 1), l1(5)).await.unwrap();
        s.record_safe_head(C, l2(12, 1), l1(5)).await.unwrap();
        assert_eq!(at(&s, 5).await, Some((5, 12)));
    }

    #[tokio::test]
    async fn reset_drops_entries_at_and_above_the_new_safe_head() {
        let (_d, s) = temp_store().await;
        for (l2n, l1n) in [(10, 5), (20, 8), (30, 12), (40, 15)] {
            s.record_safe_head(C, l2(l2n, l1n - 2), l1(l1n))
                .await
                .unwrap();
        }
        // Rewind to L2 #25 (origin L1 #9): the entry at L1 #12 (L2 30) is the first at/above;
        // it and #15 go, and L1 #12 is re-recorded with the new safe head.
        s.safe_head_reset(C, l2(25, 9)).await.unwrap();
        assert_eq!(at(&s, 11).await, Some((8, 20)));
        assert_eq!(at(&s, 12).await, Some((12, 25)));
        assert_eq!(at(&s, 100).await, Some((12, 25)));
    }

    #[tokio::test]
    async fn reset_before_first_entry_records_nothing() {
        let (_d, s) = temp_store().await;
        s.record_safe_head(C, l2(10, 3), l1(5)).await.unwrap();
        s.safe_head_reset(C, l2(5, 2)).await.unwrap();
        assert_eq!(at(&s, 100).await, None);
    }

    #[tokio::test]
    async fn record_after_l1_reorg_replaces_the_abandoned_branch() {
        let (_d, s) = temp_store().await;
        s.record_safe_head(C, l2(10, 3), l1(5)).await.unwrap();
        s.record_safe_head(C, l2(20, 6), l1(8)).await.unwrap();
        s.record_safe_head(C, l2(30, 9), l1(11)).await.unwrap();
        // Derivation rewinds to L2 #18 and re-derives it at L1 #7.
        s.record_safe_head(C, l2(18, 5), l1(7)).await.unwrap();
        assert_eq!(at(&s, 6).await, Some((5, 10)));
        assert_eq!(at(&s, 7).await, Some((7, 18)));
        assert_eq!(at(&s, 11).await, Some((8, 18)));
    }
}
