-- Schema 3: what orders do to stock, where each order came from, reconciliation passes and
-- per-SKU low-stock thresholds.

-- When an order was closed (fulfilled or cancelled and archived), and how it reached the cache.
ALTER TABLE orders ADD COLUMN closed_at TEXT;
ALTER TABLE orders ADD COLUMN source TEXT NOT NULL DEFAULT 'poll'
    CHECK (source IN ('poll', 'webhook', 'user', 'retry', 'import', 'reconciliation'));

CREATE INDEX orders_created ON orders (created_at_ms);

-- What a line does to stock: `unfulfilled` units are committed (sold, not shipped);
-- `current_quantity` drops when units are removed or the order is cancelled.
ALTER TABLE order_line_items ADD COLUMN variant_title TEXT;
ALTER TABLE order_line_items ADD COLUMN inventory_item_id INTEGER;
ALTER TABLE order_line_items ADD COLUMN current_quantity INTEGER;
ALTER TABLE order_line_items ADD COLUMN unfulfilled_quantity INTEGER;

-- One row per reconciliation pass: the store asked what changed since the last watermark
-- and the cache compared with it. `repaired` counts the changes the cache had not received
-- through webhooks.
CREATE TABLE reconciliation_runs (
    id INTEGER PRIMARY KEY,
    started_at_ms INTEGER NOT NULL,
    finished_at_ms INTEGER NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('scheduled', 'start', 'wake', 'subscription', 'manual')),
    checked INTEGER NOT NULL CHECK (checked >= 0),
    repaired INTEGER NOT NULL CHECK (repaired >= 0)
) STRICT;

CREATE INDEX reconciliation_runs_finished ON reconciliation_runs (finished_at_ms);

-- The owner's own low-stock line for a SKU, overriding the global threshold.
CREATE TABLE low_stock_thresholds (
    sku TEXT PRIMARY KEY,
    threshold INTEGER NOT NULL CHECK (threshold >= 0)
) STRICT, WITHOUT ROWID;
