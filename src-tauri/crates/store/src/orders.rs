//! Orders, reconciliation passes and low-stock thresholds.
//!
//! Orders reach the cache from webhooks (`orders/create`, `orders/updated`, …) and from polls,
//! in any order, so an upsert keeps whichever version is newer by Shopify's `updated_at`.
//! Shopify's timestamps have whole seconds, and an order placed and fulfilled within one
//! second carries the same time twice; such a tie is settled by the order's progress, which
//! only goes one way (open → fulfilled or cancelled → closed, unshipped units only go down),
//! so a late `orders/create` can never reopen an order the cache already knows is shipped.
//!
//! Orders are Shopify's records and carry no audit trail of their own; what they do to stock
//! is audited on the inventory levels, where it lands.
//!
//! A reconciliation pass records how many changes it found that webhooks had not delivered,
//! so the app can say "webhooks missed 3 changes in the last day".

use rusqlite::{OptionalExtension, params};

use crate::db::{Reader, WriteTx};
use crate::error::Result;
use crate::model::{LineItem, Order, OrderStatus, ReconciliationRun, Source};
use crate::sql::timestamp;

/// What an order upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderWrite {
    /// The cache did not know the order.
    New,
    /// A newer version replaced the cached one.
    Changed,
    /// The cache already held this version or a newer one.
    Unchanged,
}

const UPSERT_ORDER: &str = "
INSERT INTO orders (id, name, created_at, created_at_ms, updated_at, updated_at_ms, cancelled_at,
                    closed_at, financial_status, fulfillment_status, currency_code, total_price,
                    source, recorded_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
ON CONFLICT (id) DO UPDATE SET
    name = excluded.name, created_at = excluded.created_at,
    created_at_ms = excluded.created_at_ms, updated_at = excluded.updated_at,
    updated_at_ms = excluded.updated_at_ms, cancelled_at = excluded.cancelled_at,
    closed_at = excluded.closed_at, financial_status = excluded.financial_status,
    fulfillment_status = excluded.fulfillment_status,
    currency_code = excluded.currency_code, total_price = excluded.total_price,
    source = excluded.source, recorded_at_ms = excluded.recorded_at_ms";

const ORDER_COLUMNS: &str = "id, name, created_at, updated_at, cancelled_at, closed_at, \
     financial_status, fulfillment_status, currency_code, total_price";

/// How far along an order is; it only ever grows.
fn progress(
    cancelled: bool,
    closed: bool,
    unfulfilled: i64,
    current: i64,
) -> (bool, bool, i64, i64) {
    (cancelled, closed, -unfulfilled, -current)
}

fn order_progress(o: &Order) -> (bool, bool, i64, i64) {
    progress(
        o.cancelled_at.is_some(),
        o.closed_at.is_some(),
        o.line_items.iter().map(|l| l.unfulfilled_quantity).sum(),
        o.line_items.iter().map(|l| l.current_quantity).sum(),
    )
}

fn order_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<Order> {
    Ok(Order {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: r.get(2)?,
        updated_at: r.get(3)?,
        cancelled_at: r.get(4)?,
        closed_at: r.get(5)?,
        financial_status: r.get(6)?,
        fulfillment_status: r.get(7)?,
        currency_code: r.get(8)?,
        total_price: r.get(9)?,
        line_items: Vec::new(),
    })
}

fn lines_of(conn: &rusqlite::Connection, order: i64) -> Result<Vec<LineItem>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, variant_id, sku, title, variant_title, inventory_item_id, quantity,
                current_quantity, unfulfilled_quantity, price
         FROM order_line_items WHERE order_id = ?1 ORDER BY id",
    )?;
    let lines = stmt.query_map([order], |r| {
        let quantity: i64 = r.get(6)?;
        Ok(LineItem {
            id: r.get(0)?,
            variant_id: r.get(1)?,
            sku: r.get(2)?,
            title: r.get(3)?,
            variant_title: r.get(4)?,
            inventory_item_id: r.get(5)?,
            quantity,
            current_quantity: r.get::<_, Option<i64>>(7)?.unwrap_or(quantity),
            unfulfilled_quantity: r.get::<_, Option<i64>>(8)?.unwrap_or(0),
            price: r.get(9)?,
        })
    })?;
    Ok(lines.collect::<rusqlite::Result<_>>()?)
}

impl WriteTx<'_> {
    /// Saves `order` with its lines (replaced as a whole) unless the cache holds a newer
    /// version (see the module documentation for same-second ties).
    pub fn upsert_order(&self, order: &Order, source: Source) -> Result<OrderWrite> {
        let cached = self
            .conn
            .prepare_cached(
                "SELECT o.updated_at_ms, o.cancelled_at IS NOT NULL, o.closed_at IS NOT NULL,
                        COALESCE(SUM(l.unfulfilled_quantity), 0),
                        COALESCE(SUM(COALESCE(l.current_quantity, l.quantity)), 0)
                 FROM orders o LEFT JOIN order_line_items l ON l.order_id = o.id
                 WHERE o.id = ?1 GROUP BY o.id",
            )?
            .query_row([order.id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    progress(r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?),
                ))
            })
            .optional()?;
        let write = match cached {
            None => OrderWrite::New,
            Some((at, _)) if order.updated_at.millis() > at => OrderWrite::Changed,
            Some((at, before))
                if order.updated_at.millis() == at && order_progress(order) > before =>
            {
                OrderWrite::Changed
            }
            Some(_) => return Ok(OrderWrite::Unchanged),
        };
        self.conn.prepare_cached(UPSERT_ORDER)?.execute(params![
            order.id,
            order.name,
            order.created_at,
            order.created_at.millis(),
            order.updated_at,
            order.updated_at.millis(),
            order.cancelled_at,
            order.closed_at,
            order.financial_status,
            order.fulfillment_status,
            order.currency_code,
            order.total_price,
            source,
            self.now_ms()
        ])?;
        self.conn
            .prepare_cached("DELETE FROM order_line_items WHERE order_id = ?1")?
            .execute([order.id])?;
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO order_line_items (id, order_id, variant_id, sku, title, variant_title,
                 inventory_item_id, quantity, current_quantity, unfulfilled_quantity, price)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (id) DO UPDATE SET
                 order_id = excluded.order_id, variant_id = excluded.variant_id,
                 sku = excluded.sku, title = excluded.title,
                 variant_title = excluded.variant_title,
                 inventory_item_id = excluded.inventory_item_id,
                 quantity = excluded.quantity, current_quantity = excluded.current_quantity,
                 unfulfilled_quantity = excluded.unfulfilled_quantity, price = excluded.price",
        )?;
        for line in &order.line_items {
            insert.execute(params![
                line.id,
                order.id,
                line.variant_id,
                line.sku,
                line.title,
                line.variant_title,
                line.inventory_item_id,
                line.quantity,
                line.current_quantity,
                line.unfulfilled_quantity,
                line.price
            ])?;
        }
        Ok(write)
    }

    /// Records a finished reconciliation pass.
    pub fn record_reconciliation(&self, run: &ReconciliationRun) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO reconciliation_runs
                     (started_at_ms, finished_at_ms, reason, checked, repaired)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                run.started_at.as_millisecond(),
                run.finished_at.as_millisecond(),
                run.reason,
                run.checked as i64,
                run.repaired as i64
            ])?;
        Ok(())
    }

    /// Sets (or, with `None`, removes) the owner's low-stock threshold for `sku`.
    pub fn set_low_stock_threshold(&self, sku: &str, threshold: Option<u32>) -> Result<()> {
        match threshold {
            Some(t) => self
                .conn
                .prepare_cached(
                    "INSERT INTO low_stock_thresholds (sku, threshold) VALUES (?1, ?2)
                     ON CONFLICT (sku) DO UPDATE SET threshold = excluded.threshold",
                )?
                .execute(params![sku, t])?,
            None => self
                .conn
                .prepare_cached("DELETE FROM low_stock_thresholds WHERE sku = ?1")?
                .execute([sku])?,
        };
        Ok(())
    }

    /// The owner's threshold for `sku`, if one is set.
    pub fn low_stock_threshold(&self, sku: &str) -> Result<Option<u32>> {
        Ok(self
            .conn
            .prepare_cached("SELECT threshold FROM low_stock_thresholds WHERE sku = ?1")?
            .query_row([sku], |r| r.get(0))
            .optional()?)
    }

    /// `available` of `item` summed over its cached locations (`None` when none is known):
    /// what the inventory list shows and the low-stock threshold is compared with.
    pub fn total_available(&self, item: i64) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT SUM(available) FROM inventory_levels WHERE inventory_item_id = ?1",
            )?
            .query_row([item], |r| r.get(0))?)
    }

    /// The variant of inventory item `item` as a person names it: `(variant id, SKU,
    /// "Product - Variant")`.
    pub fn item_label(&self, item: i64) -> Result<Option<(i64, Option<String>, String)>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT v.id, v.sku, COALESCE(p.title || ' - ' || v.title, v.title)
                 FROM variants v LEFT JOIN products p ON p.id = v.product_id
                 WHERE v.inventory_item_id = ?1",
            )?
            .query_row([item], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?)
    }

    /// The inventory item of a cached variant.
    pub fn item_of_variant(&self, variant: i64) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT inventory_item_id FROM variants WHERE id = ?1")?
            .query_row([variant], |r| r.get(0))
            .optional()?)
    }

    /// The newest audit entry's id (0 for none): where a pass starts counting its changes.
    pub fn audit_mark(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM audit_log")?
            .query_row([], |r| r.get(0))?)
    }

    /// Distinct records (a level, a variant, a product) changed by `source` after audit
    /// entry `mark`: one change to a level can touch several of its quantities.
    pub fn changed_since(&self, mark: i64, source: Source) -> Result<u64> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT COUNT(*) FROM (SELECT DISTINCT entity, entity_id FROM audit_log
                 WHERE id > ?1 AND source = ?2)",
            )?
            .query_row(params![mark, source], |r| r.get::<_, i64>(0))? as u64)
    }
}

impl Reader {
    /// One order with its line items.
    pub fn order(&self, id: i64) -> Result<Option<Order>> {
        let order = self
            .conn
            .prepare_cached(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?1"))?
            .query_row([id], order_from)
            .optional()?;
        let Some(mut order) = order else {
            return Ok(None);
        };
        order.line_items = lines_of(&self.conn, id)?;
        Ok(Some(order))
    }

    /// The newest orders first (by when they were placed), with their lines, optionally only
    /// those in `status`.
    pub fn recent_orders(&self, status: Option<OrderStatus>, limit: u32) -> Result<Vec<Order>> {
        let filter = match status {
            None => "1",
            Some(OrderStatus::Cancelled) => "o.cancelled_at IS NOT NULL",
            Some(OrderStatus::Open) => {
                "o.cancelled_at IS NULL AND EXISTS (SELECT 1 FROM order_line_items l
                     WHERE l.order_id = o.id AND l.unfulfilled_quantity > 0)"
            }
            Some(OrderStatus::Fulfilled) => {
                "o.cancelled_at IS NULL AND NOT EXISTS (SELECT 1 FROM order_line_items l
                     WHERE l.order_id = o.id AND l.unfulfilled_quantity > 0)"
            }
        };
        let columns = ORDER_COLUMNS
            .split(", ")
            .map(|c| format!("o.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {columns} FROM orders o WHERE {filter}
             ORDER BY o.created_at_ms DESC, o.id DESC LIMIT ?1"
        ))?;
        let orders = stmt
            .query_map([limit], order_from)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        orders
            .into_iter()
            .map(|mut o| {
                o.line_items = lines_of(&self.conn, o.id)?;
                Ok(o)
            })
            .collect()
    }

    /// Changes reconciliation repaired in passes that finished at or after `since_ms`.
    pub fn repairs_since(&self, since_ms: i64) -> Result<u64> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT COALESCE(SUM(repaired), 0) FROM reconciliation_runs
                 WHERE finished_at_ms >= ?1",
            )?
            .query_row([since_ms], |r| r.get::<_, i64>(0))? as u64)
    }

    /// The last reconciliation pass, if one ran.
    pub fn last_reconciliation(&self) -> Result<Option<ReconciliationRun>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT started_at_ms, finished_at_ms, reason, checked, repaired
                 FROM reconciliation_runs ORDER BY id DESC LIMIT 1",
            )?
            .query_row([], |r| {
                Ok(ReconciliationRun {
                    started_at: timestamp(r.get(0)?)?,
                    finished_at: timestamp(r.get(1)?)?,
                    reason: r.get(2)?,
                    checked: r.get::<_, i64>(3)? as u64,
                    repaired: r.get::<_, i64>(4)? as u64,
                })
            })
            .optional()?)
    }

    /// Every per-SKU low-stock threshold, by SKU.
    pub fn low_stock_thresholds(&self) -> Result<Vec<(String, u32)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT sku, threshold FROM low_stock_thresholds ORDER BY sku")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
