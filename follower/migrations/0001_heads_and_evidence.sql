-- Accepted safe and finalized heads: one row per kind ('safe', 'finalized').
CREATE TABLE IF NOT EXISTS heads (
    kind        TEXT PRIMARY KEY NOT NULL,
    number      INTEGER NOT NULL,
    head_json   TEXT NOT NULL,
    updated_ms  INTEGER NOT NULL
);

-- Equivocation evidence: one per signer (the first proof is enough to exclude it).
CREATE TABLE IF NOT EXISTS evidence (
    signer        TEXT PRIMARY KEY NOT NULL,
    evidence_json TEXT NOT NULL,
    recorded_ms   INTEGER NOT NULL
);
