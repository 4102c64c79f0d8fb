//! Durable supernode state in one SQLite file in the data directory (sqlx, migrations at open).
//!
//! ```text
//!   supernode.sqlite
//!   ├── safe_db        (chain, L1 number) -> L1 hash, L2 safe head   optimism_safeHeadAtL1Block
//!   ├── attestations   signed wire forms, bounded history per chain and kind
//!   └── served_heads   last ChainHeads served per chain            warm restart, no regression
//! ```
//! SQLite integers are signed 64-bit: every number we store is checked to fit rather than
//! wrapped, so ordering in SQL stays the numeric order.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub mod attestations;
pub mod heads;
pub mod safe_db;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "supernode.sqlite";

/// Attestations kept per chain and kind unless configured otherwise.
pub const DEFAULT_HISTORY: u32 = 1024;

/// Why a store operation failed.
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
    /// SQLite failed (open, query, constraint).
    #[error("database {context}: {source}")]
    Sql {
        /// What was being done.
        context: &'static str,
        /// The driver error.
        source: sqlx::Error,
    },
    /// A migration failed to apply.
    #[error("database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A number does not fit SQLite's signed 64-bit integers.
    #[error("{field} {value} is above the largest storable value {max}", max = i64::MAX)]
    TooLarge {
        /// Which value.
        field: &'static str,
        /// The value.
        value: u64,
    },
    /// A stored row does not decode (corruption or a foreign writer).
    #[error("stored {table} row for chain {chain_id} is corrupt: {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The chain of the row.
        chain_id: i64,
        /// What is wrong.
        reason: String,
    },
}

/// A `sqlx` error with what we were doing.
pub(crate) fn sql(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Sql { context, source }
}

/// A `u64` as a SQLite integer, refusing values that would wrap negative.
pub(crate) fn to_i64(field: &'static str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::TooLarge { field, value })
}

/// A SQLite integer read back as the `u64` it was stored from.
pub(crate) fn to_u64(table: &'static str, chain_id: i64, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt {
        table,
        chain_id,
        reason: format!("negative number {value}"),
    })
}

/// The supernode's database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    history: u32,
}

impl Store {
    /// Opens (creating if needed) `<data_dir>/supernode.sqlite` and applies pending migrations.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        Self::open_file(&data_dir.join(DB_FILE)).await
    }

    /// Opens (creating if needed) the database file at `path` and applies pending migrations.
    pub async fn open_file(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(sql("options"))?
            .filename(path)
            .create_if_missing(true)
            // FULL sync: a head or attestation is on disk before anyone is served it, so a
            // restart can never answer with less than it already said.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(sql("open"))?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self {
            pool,
            history: DEFAULT_HISTORY,
        })
    }

    /// Keeps at most `n` (at least 1) attestations per chain and kind.
    pub fn with_history(mut self, n: u32) -> Self {
        self.history = n.max(1);
        self
    }

    /// Closes the pool, waiting for writes in flight.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(crate) const fn history(&self) -> u32 {
        self.history
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) async fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn open_creates_the_directory_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        let store = Store::open(&nested).await.unwrap();
        store.close().await;
        assert!(nested.join(DB_FILE).exists());
        Store::open(&nested).await.unwrap().close().await;
    }

    #[test]
    fn numbers_above_i64_are_refused() {
        assert_eq!(to_i64("n", 5).unwrap(), 5);
        let err = to_i64("l2 number", u64::MAX).unwrap_err();
        assert!(err.to_string().contains("l2 number"), "{err}");
        assert!(to_u64("t", 1, -1).is_err());
    }
}
