-- Schema 1: the catalogue cache and sync watermarks.
--
-- Conventions:
-- * Shopify ids are the numeric part of the GID, stored as 64-bit INTEGER keys.
-- * Money is decimal TEXT exactly as Shopify sends it ("12.50"), never REAL.
-- * Shopify timestamps keep the RFC 3339 text as sent (`*_at`) plus UTC
--   milliseconds since the epoch (`*_at_ms`) for ordering and comparison.
-- * Times Shelfsync itself records are UTC milliseconds (`*_at_ms`).
-- * `source` says where a value came from; `recorded_at_ms` when it was written.

PRAGMA application_id = 1397968451; -- 'SSNC'

CREATE TABLE shop (
    id INTEGER PRIMARY KEY,
    domain TEXT NOT NULL,
    name TEXT NOT NULL,
    currency_code TEXT NOT NULL,
    iana_timezone TEXT,
    recorded_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE locations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    is_active INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    updated_at TEXT,
    updated_at_ms INTEGER,
    recorded_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL COLLATE NOCASE,
    handle TEXT NOT NULL,
    status TEXT NOT NULL,
    vendor TEXT,
    product_type TEXT,
    updated_at TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    source TEXT NOT NULL
        CHECK (source IN ('poll', 'webhook', 'user', 'retry', 'import', 'reconciliation')),
    recorded_at_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX products_title ON products (title COLLATE NOCASE);

CREATE TABLE variants (
    id INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    sku TEXT COLLATE NOCASE,
    price TEXT NOT NULL,
    compare_at_price TEXT,
    inventory_item_id INTEGER NOT NULL UNIQUE,
    updated_at TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    source TEXT NOT NULL
        CHECK (source IN ('poll', 'webhook', 'user', 'retry', 'import', 'reconciliation')),
    recorded_at_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX variants_product ON variants (product_id);
CREATE INDEX variants_sku ON variants (sku COLLATE NOCASE);

CREATE TABLE inventory_levels (
    inventory_item_id INTEGER NOT NULL
        REFERENCES variants (inventory_item_id) ON DELETE CASCADE,
    location_id INTEGER NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    available INTEGER,
    on_hand INTEGER,
    committed INTEGER,
    incoming INTEGER,
    reserved INTEGER,
    damaged INTEGER,
    safety_stock INTEGER,
    quality_control INTEGER,
    updated_at TEXT,
    updated_at_ms INTEGER,
    source TEXT NOT NULL
        CHECK (source IN ('poll', 'webhook', 'user', 'retry', 'import', 'reconciliation')),
    recorded_at_ms INTEGER NOT NULL,
    PRIMARY KEY (inventory_item_id, location_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX inventory_levels_location ON inventory_levels (location_id);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    cancelled_at TEXT,
    financial_status TEXT,
    fulfillment_status TEXT,
    currency_code TEXT NOT NULL,
    total_price TEXT NOT NULL,
    recorded_at_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX orders_updated ON orders (updated_at_ms);

CREATE TABLE order_line_items (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    -- No foreign key: an order keeps its lines after a variant is deleted.
    variant_id INTEGER,
    sku TEXT,
    title TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    price TEXT NOT NULL
) STRICT;

CREATE INDEX order_line_items_order ON order_line_items (order_id);
CREATE INDEX order_line_items_variant ON order_line_items (variant_id);

-- How far incremental sync has read, per resource. Only ever written in the
-- same transaction as the rows it covers.
CREATE TABLE sync_watermarks (
    resource TEXT PRIMARY KEY,
    updated_at TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    advanced_at_ms INTEGER NOT NULL
) STRICT;
