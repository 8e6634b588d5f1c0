//! What applying a webhook needs to read inside its own write transaction.
//!
//! A webhook is applied in one transaction with the inbox row that marks it processed, and
//! whether it applies at all depends on what the cache holds at that moment (is the event
//! older than the cached row? is the variant known yet?). These reads therefore run on the
//! writer's transaction, not on a [`crate::Reader`] that might see an older snapshot.

use rusqlite::OptionalExtension;

use crate::catalogue::{VARIANT_COLUMNS, count, variant_from};
use crate::db::{Reader, WriteTx};
use crate::error::Result;
use crate::model::{Level, Product, Quantities, Variant};

/// How many webhooks the inbox holds, for status displays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct InboxCounts {
    /// Every event still in the inbox (processed ones are pruned after a while).
    pub total: u64,
    /// Events committed but not applied yet.
    pub unprocessed: u64,
}

impl WriteTx<'_> {
    /// The cached level of `item` at `location`, if there is one.
    pub fn cached_level(&self, item: i64, location: i64) -> Result<Option<Level>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT available, on_hand, committed, incoming, reserved, damaged, safety_stock,
                        quality_control, updated_at
                 FROM inventory_levels WHERE inventory_item_id = ?1 AND location_id = ?2",
            )?
            .query_row([item, location], |r| {
                Ok(Level {
                    inventory_item_id: item,
                    location_id: location,
                    quantities: Quantities {
                        available: r.get(0)?,
                        on_hand: r.get(1)?,
                        committed: r.get(2)?,
                        incoming: r.get(3)?,
                        reserved: r.get(4)?,
                        damaged: r.get(5)?,
                        safety_stock: r.get(6)?,
                        quality_control: r.get(7)?,
                    },
                    updated_at: r.get(8)?,
                })
            })
            .optional()?)
    }

    /// The cached variant of inventory item `item` (one item belongs to one variant).
    pub fn variant_for_item(&self, item: i64) -> Result<Option<Variant>> {
        let sql =
            format!("SELECT {VARIANT_COLUMNS} FROM variants v WHERE v.inventory_item_id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([item], variant_from)
            .optional()?)
    }

    /// The cached variant `id`, if there is one.
    pub fn cached_variant(&self, id: i64) -> Result<Option<Variant>> {
        let sql = format!("SELECT {VARIANT_COLUMNS} FROM variants v WHERE v.id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], variant_from)
            .optional()?)
    }

    /// The cached product `id`, if there is one.
    pub fn cached_product(&self, id: i64) -> Result<Option<Product>> {
        crate::catalogue::product_by_id(self.conn, id)
    }

    /// Whether location `id` is cached.
    pub fn has_location(&self, id: i64) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM locations WHERE id = ?1")?
            .query_row([id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Whether product `id` is cached.
    pub fn has_product(&self, id: i64) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM products WHERE id = ?1")?
            .query_row([id], |_| Ok(()))
            .optional()?
            .is_some())
    }
}

impl Reader {
    /// How many webhooks the inbox holds and how many wait to be applied.
    pub fn inbox_counts(&self) -> Result<InboxCounts> {
        Ok(self.conn.query_row(
            "SELECT count(*), count(*) FILTER (WHERE processed_at_ms IS NULL) FROM webhook_inbox",
            [],
            |r| {
                Ok(InboxCounts {
                    total: count(r, 0)?,
                    unprocessed: count(r, 1)?,
                })
            },
        )?)
    }
}
