//! Persisted follower state: accepted heads and equivocation evidence, in SQLite (sqlx) in the
//! data directory. Migrations run at open; nothing is served before the stored heads are loaded.
//!
//! ```text
//! <data-dir>/follower.sqlite
//!   heads(kind PK 'safe'|'finalized', number, head_json, updated_ms)
//!   evidence(signer PK, evidence_json, recorded_ms)
//! ```
//! The finalized row is written with a guard in SQL as well, so even a caller bug cannot move
//! it back.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use opfleet_attest::Evidence;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::heads::{AcceptedHead, AcceptedHeads};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "follower.sqlite";

/// A storage failure, naming what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory cannot be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A database operation failed.
    #[error("database {what}: {source}")]
    Db {
        /// What was being done.
        what: &'static str,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// Migrations failed.
    #[error("database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row does not decode.
    #[error("stored {what} does not decode: {reason}")]
    Corrupt {
        /// Which row.
        what: String,
        /// Why.
        reason: String,
    },
}

fn db(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Db { what, source }
}

/// The follower's database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir` and runs the migrations.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let url = format!("sqlite://{}", data_dir.join(DB_FILE).display());
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(db("options"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(db("open"))?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    /// The stored accepted heads (empty on a fresh database).
    pub async fn load_heads(&self) -> Result<AcceptedHeads, StoreError> {
        let rows = sqlx::query("SELECT kind, head_json FROM heads")
            .fetch_all(&self.pool)
            .await
            .map_err(db("read heads"))?;
        let mut heads = AcceptedHeads::default();
        for row in rows {
            let kind: String = row.try_get("kind").map_err(db("read heads.kind"))?;
            let json: String = row
                .try_get("head_json")
                .map_err(db("read heads.head_json"))?;
            let head: AcceptedHead =
                serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
                    what: format!("{kind} head"),
                    reason: e.to_string(),
                })?;
            match kind.as_str() {
                "safe" => heads.safe = Some(head),
                "finalized" => heads.finalized = Some(head),
                other => {
                    return Err(StoreError::Corrupt {
                        what: format!("head kind {other:?}"),
                        reason: "expected 'safe' or 'finalized'".into(),
                    });
                }
            }
        }
        Ok(heads)
    }

    /// Writes both heads in one transaction.
    pub async fn save_heads(&self, heads: &AcceptedHeads, now_ms: u64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db("begin"))?;
        for (kind, head) in [("safe", heads.safe), ("finalized", heads.finalized)] {
            let Some(head) = head else { continue };
            let json = serde_json::to_string(&head).map_err(|e| StoreError::Corrupt {
                what: format!("{kind} head"),
                reason: e.to_string(),
            })?;
            let number = i64::try_from(head.block.number).unwrap_or(i64::MAX);
            // Finalized only moves up, enforced by the upsert's WHERE as well.
            let sql = if kind == "finalized" {
                "INSERT INTO heads (kind, number, head_json, updated_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(kind) DO UPDATE SET number = excluded.number,
                   head_json = excluded.head_json, updated_ms = excluded.updated_ms
                 WHERE excluded.number >= heads.number"
            } else {
                "INSERT INTO heads (kind, number, head_json, updated_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(kind) DO UPDATE SET number = excluded.number,
                   head_json = excluded.head_json, updated_ms = excluded.updated_ms"
            };
            sqlx::query(sql)
                .bind(kind)
                .bind(number)
                .bind(json)
                .bind(i64::try_from(now_ms).unwrap_or(i64::MAX))
                .execute(&mut *tx)
                .await
                .map_err(db("write head"))?;
        }
        tx.commit().await.map_err(db("commit heads"))
    }

    /// Every stored evidence.
    pub async fn load_evidence(&self) -> Result<Vec<Evidence>, StoreError> {
        let rows = sqlx::query("SELECT signer, evidence_json FROM evidence ORDER BY recorded_ms")
            .fetch_all(&self.pool)
            .await
            .map_err(db("read evidence"))?;
        rows.iter()
            .map(|row| {
                let signer: String = row.try_get("signer").map_err(db("read evidence.signer"))?;
                let json: String = row
                    .try_get("evidence_json")
                    .map_err(db("read evidence.evidence_json"))?;
                let ev: Evidence =
                    serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
                        what: format!("evidence of {signer}"),
                        reason: e.to_string(),
                    })?;
                ev.check().map_err(|e| StoreError::Corrupt {
                    what: format!("evidence of {signer}"),
                    reason: e.to_string(),
                })?;
                Ok(ev)
            })
            .collect()
    }

    /// Records evidence (the first per signer is kept).
    pub async fn save_evidence(&self, ev: &Evidence, now_ms: u64) -> Result<(), StoreError> {
        let json = serde_json::to_string(ev).map_err(|e| StoreError::Corrupt {
            what: "evidence".into(),
            reason: e.to_string(),
        })?;
        sqlx::query(
            "INSERT INTO evidence (signer, evidence_json, recorded_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT(signer) DO NOTHING",
        )
        .bind(ev.signer().to_string())
        .bind(json)
        .bind(i64::try_from(now_ms).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await
        .map_err(db("write evidence"))?;
        Ok(())
    }

    /// Closes the pool (flushes the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::tests::{block, key, signed};
    use alloy::primitives::B256;
    use opfleet_attest::AttestationKind;

    fn head(n: u64, tag: u8) -> AcceptedHead {
        AcceptedHead {
            block: block(n, tag),
            output_root: B256::repeat_byte(tag),
        }
    }

    #[tokio::test]
    async fn heads_and_evidence_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        assert_eq!(store.load_heads().await.unwrap(), AcceptedHeads::default());
        let heads = AcceptedHeads {
            safe: Some(head(20, 1)),
            finalized: Some(head(10, 2)),
        };
        store.save_heads(&heads, 5).await.unwrap();
        let ev = Evidence::new(
            signed(&key(3), AttestationKind::Safe, block(10, 1), 5, 100),
            signed(&key(3), AttestationKind::Safe, block(10, 2), 5, 101),
        )
        .unwrap();
        store.save_evidence(&ev, 6).await.unwrap();
        store.save_evidence(&ev, 7).await.unwrap();
        store.close().await;

        let store = Store::open(dir.path()).await.unwrap();
        assert_eq!(store.load_heads().await.unwrap(), heads);
        assert_eq!(store.load_evidence().await.unwrap(), vec![ev]);
    }

    #[tokio::test]
    async fn the_database_refuses_to_move_finalized_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let mut heads = AcceptedHeads {
            safe: Some(head(20, 1)),
            finalized: Some(head(10, 2)),
        };
        store.save_heads(&heads, 1).await.unwrap();
        heads.finalized = Some(head(8, 3));
        heads.safe = Some(head(9, 3));
        store.save_heads(&heads, 2).await.unwrap();
        let back = store.load_heads().await.unwrap();
        assert_eq!(back.finalized, Some(head(10, 2)));
        assert_eq!(back.safe, Some(head(9, 3)));
    }
}
