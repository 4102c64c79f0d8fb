-- SafeDB: the L2 safe head recorded when derivation reached an L1 block (op-node's safedb).
CREATE TABLE safe_db (
    chain_id  INTEGER NOT NULL,
    l1_number INTEGER NOT NULL,
    l1_hash   BLOB    NOT NULL,
    l2_number INTEGER NOT NULL,
    l2_hash   BLOB    NOT NULL,
    PRIMARY KEY (chain_id, l1_number)
) WITHOUT ROWID;

-- Signed attestations in their 314-byte wire form, newest last; pruned to a bounded history.
CREATE TABLE attestations (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    chain_id  INTEGER NOT NULL,
    kind      INTEGER NOT NULL,
    l2_number INTEGER NOT NULL,
    wire      BLOB    NOT NULL
);
CREATE INDEX attestations_by_chain_kind ON attestations (chain_id, kind, id);

-- The last heads served per chain (JSON), so a restart never serves older heads.
CREATE TABLE served_heads (
    chain_id INTEGER PRIMARY KEY,
    heads    TEXT    NOT NULL
);
