-- Schema 2: the durable work queue, the webhook inbox and the audit log.

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_run_at_ms INTEGER NOT NULL,
    last_error TEXT,
    dedupe_key TEXT,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX jobs_due ON jobs (state, next_run_at_ms, id);
-- At most one waiting job per dedupe key; running, done and failed jobs may share it.
CREATE UNIQUE INDEX jobs_pending_dedupe ON jobs (dedupe_key)
    WHERE state = 'pending' AND dedupe_key IS NOT NULL;

CREATE TABLE webhook_inbox (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    webhook_id TEXT,
    topic TEXT NOT NULL,
    shop_domain TEXT NOT NULL,
    triggered_at TEXT,
    triggered_at_ms INTEGER,
    received_at_ms INTEGER NOT NULL,
    body BLOB NOT NULL,
    processed_at_ms INTEGER
) STRICT;

CREATE INDEX webhook_inbox_unprocessed ON webhook_inbox (received_at_ms, id)
    WHERE processed_at_ms IS NULL;

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    source TEXT NOT NULL
        CHECK (source IN ('poll', 'webhook', 'user', 'retry', 'import', 'reconciliation')),
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    field TEXT NOT NULL,
    before TEXT,
    after TEXT
) STRICT;

CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, id);
CREATE INDEX audit_log_at ON audit_log (at_ms);

-- Every change to a cached value is recorded with its source. A first sighting
-- of a row is not a change: the row's own `source` and `recorded_at_ms` say
-- where it came from.

CREATE TRIGGER inventory_levels_audit AFTER UPDATE ON inventory_levels
BEGIN
    INSERT INTO audit_log (at_ms, source, entity, entity_id, field, before, after)
    SELECT NEW.recorded_at_ms, NEW.source, 'inventory_level',
           NEW.inventory_item_id || '@' || NEW.location_id,
           q.field, CAST(q.before_value AS TEXT), CAST(q.after_value AS TEXT)
    FROM (
        SELECT 'available' AS field, OLD.available AS before_value, NEW.available AS after_value
        UNION ALL SELECT 'on_hand', OLD.on_hand, NEW.on_hand
        UNION ALL SELECT 'committed', OLD.committed, NEW.committed
        UNION ALL SELECT 'incoming', OLD.incoming, NEW.incoming
        UNION ALL SELECT 'reserved', OLD.reserved, NEW.reserved
        UNION ALL SELECT 'damaged', OLD.damaged, NEW.damaged
        UNION ALL SELECT 'safety_stock', OLD.safety_stock, NEW.safety_stock
        UNION ALL SELECT 'quality_control', OLD.quality_control, NEW.quality_control
    ) AS q
    WHERE q.before_value IS NOT q.after_value COLLATE BINARY;
END;

CREATE TRIGGER variants_audit AFTER UPDATE ON variants
BEGIN
    INSERT INTO audit_log (at_ms, source, entity, entity_id, field, before, after)
    SELECT NEW.recorded_at_ms, NEW.source, 'variant', CAST(NEW.id AS TEXT),
           q.field, q.before_value, q.after_value
    FROM (
        SELECT 'title' AS field, OLD.title AS before_value, NEW.title AS after_value
        UNION ALL SELECT 'sku', OLD.sku, NEW.sku
        UNION ALL SELECT 'price', OLD.price, NEW.price
        UNION ALL SELECT 'compare_at_price', OLD.compare_at_price, NEW.compare_at_price
    ) AS q
    WHERE q.before_value IS NOT q.after_value COLLATE BINARY;
END;

CREATE TRIGGER products_audit AFTER UPDATE ON products
BEGIN
    INSERT INTO audit_log (at_ms, source, entity, entity_id, field, before, after)
    SELECT NEW.recorded_at_ms, NEW.source, 'product', CAST(NEW.id AS TEXT),
           q.field, q.before_value, q.after_value
    FROM (
        SELECT 'title' AS field, OLD.title AS before_value, NEW.title AS after_value
        UNION ALL SELECT 'status', OLD.status, NEW.status
    ) AS q
    WHERE q.before_value IS NOT q.after_value COLLATE BINARY;
END;
