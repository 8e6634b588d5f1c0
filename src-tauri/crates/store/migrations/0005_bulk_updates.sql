-- Schema 5: the journal of bulk updates.
--
-- A bulk update is written here before its first write to Shopify, and every request it
-- sends is written here (state 'sending', with its idempotency key) before it is sent and
-- marked 'done' or 'rejected' after the answer, each in a FULL-durability transaction. After
-- a crash, a step still 'sending' is sent again with the same key: Shopify answers a replay
-- with the first result, so its fate is learnt without applying it twice.
--
-- The plan, each step's rows and the outcome are JSON written by the engine; this crate only
-- keeps them and their states.

CREATE TABLE bulk_updates (
    id INTEGER PRIMARY KEY,
    file_name TEXT NOT NULL,
    -- 'all-or-nothing' or 'skip-conflicts'.
    mode TEXT NOT NULL CHECK (mode IN ('all-or-nothing', 'skip-conflicts')),
    state TEXT NOT NULL CHECK (state IN (
        'applying', 'applied', 'rolling-back', 'rolled-back', 'undoing', 'undone')),
    plan TEXT NOT NULL,
    outcome TEXT,
    created_at_ms INTEGER NOT NULL,
    finished_at_ms INTEGER
) STRICT;

CREATE TABLE bulk_update_steps (
    bulk_update_id INTEGER NOT NULL REFERENCES bulk_updates (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    -- 'apply' writes the plan; 'reverse' undoes what an apply step did.
    purpose TEXT NOT NULL CHECK (purpose IN ('apply', 'reverse')),
    idempotency_key TEXT NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('sending', 'done', 'rejected')),
    response TEXT,
    recorded_at_ms INTEGER NOT NULL,
    PRIMARY KEY (bulk_update_id, seq)
) STRICT, WITHOUT ROWID;

CREATE INDEX bulk_updates_state ON bulk_updates (state);
