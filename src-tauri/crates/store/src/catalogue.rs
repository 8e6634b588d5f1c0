//! Writes and reads of the catalogue cache: shop, locations, products,
//! variants, inventory levels, and sync watermarks (orders: [`crate::orders`]).
//!
//! Upserts take a whole batch and run inside the caller's [`WriteTx`], so a
//! page of results (or a bulk-operation chunk) lands in one transaction, and
//! the watermark covering it can be advanced in that same transaction with
//! [`WriteTx::commit_with_watermark`]. A crash before the commit loses the
//! page and its watermark together, so the next sync reads it again.
//!
//! Every upsert is idempotent: a row is only rewritten when a value actually
//! changes, so re-reading an overlap window writes nothing and adds nothing
//! to the audit log. Data older than what is cached (an earlier Shopify
//! `updatedAt`) never overwrites newer data, so a slow poll cannot undo a
//! webhook that arrived first.

use rusqlite::{OptionalExtension, Row, ToSql, params};
use serde::{Deserialize, Serialize};

use crate::db::{Reader, WriteTx};
use crate::error::Result;
use crate::model::{
    AuditEntry, Level, Location, Product, Quantities, Resource, Shop, ShopifyTime, Source,
    StoredLevel, Variant, VariantPage, VariantRow, Watermark,
};
use crate::sql::timestamp;

const UPSERT_LOCATION: &str = "
INSERT INTO locations (id, name, is_active, updated_at, updated_at_ms, recorded_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (id) DO UPDATE SET
    name = excluded.name, is_active = excluded.is_active,
    updated_at = excluded.updated_at, updated_at_ms = excluded.updated_at_ms,
    recorded_at_ms = excluded.recorded_at_ms
WHERE (excluded.updated_at_ms IS NULL OR locations.updated_at_ms IS NULL
       OR excluded.updated_at_ms >= locations.updated_at_ms)
  AND (excluded.name IS NOT locations.name
       OR excluded.is_active IS NOT locations.is_active
       OR excluded.updated_at_ms IS NOT locations.updated_at_ms)";

const UPSERT_PRODUCT: &str = "
INSERT INTO products (id, title, handle, status, vendor, product_type,
                      updated_at, updated_at_ms, source, recorded_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (id) DO UPDATE SET
    title = excluded.title, handle = excluded.handle, status = excluded.status,
    vendor = excluded.vendor, product_type = excluded.product_type,
    updated_at = excluded.updated_at, updated_at_ms = excluded.updated_at_ms,
    source = excluded.source, recorded_at_ms = excluded.recorded_at_ms
WHERE excluded.updated_at_ms >= products.updated_at_ms
  AND (excluded.title IS NOT products.title COLLATE BINARY
       OR excluded.handle IS NOT products.handle
       OR excluded.status IS NOT products.status
       OR excluded.vendor IS NOT products.vendor
       OR excluded.product_type IS NOT products.product_type
       OR excluded.updated_at_ms IS NOT products.updated_at_ms)";

const UPSERT_VARIANT: &str = "
INSERT INTO variants (id, product_id, title, sku, price, compare_at_price, inventory_item_id,
                      updated_at, updated_at_ms, source, recorded_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
ON CONFLICT (id) DO UPDATE SET
    product_id = excluded.product_id, title = excluded.title, sku = excluded.sku,
    price = excluded.price, compare_at_price = excluded.compare_at_price,
    inventory_item_id = excluded.inventory_item_id,
    updated_at = excluded.updated_at, updated_at_ms = excluded.updated_at_ms,
    source = excluded.source, recorded_at_ms = excluded.recorded_at_ms
WHERE excluded.updated_at_ms >= variants.updated_at_ms
  AND (excluded.product_id IS NOT variants.product_id
       OR excluded.title IS NOT variants.title
       OR excluded.sku IS NOT variants.sku COLLATE BINARY
       OR excluded.price IS NOT variants.price
       OR excluded.compare_at_price IS NOT variants.compare_at_price
       OR excluded.inventory_item_id IS NOT variants.inventory_item_id
       OR excluded.updated_at_ms IS NOT variants.updated_at_ms)";

const UPSERT_LEVEL: &str = "
INSERT INTO inventory_levels (inventory_item_id, location_id,
    available, on_hand, committed, incoming, reserved, damaged, safety_stock, quality_control,
    updated_at, updated_at_ms, source, recorded_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
ON CONFLICT (inventory_item_id, location_id) DO UPDATE SET
    available = coalesce(excluded.available, available),
    on_hand = coalesce(excluded.on_hand, on_hand),
    committed = coalesce(excluded.committed, committed),
    incoming = coalesce(excluded.incoming, incoming),
    reserved = coalesce(excluded.reserved, reserved),
    damaged = coalesce(excluded.damaged, damaged),
    safety_stock = coalesce(excluded.safety_stock, safety_stock),
    quality_control = coalesce(excluded.quality_control, quality_control),
    updated_at = coalesce(excluded.updated_at, updated_at),
    updated_at_ms = coalesce(excluded.updated_at_ms, updated_at_ms),
    source = excluded.source, recorded_at_ms = excluded.recorded_at_ms
WHERE (excluded.updated_at_ms IS NULL OR inventory_levels.updated_at_ms IS NULL
       OR excluded.updated_at_ms >= inventory_levels.updated_at_ms)
  AND (coalesce(excluded.available, available) IS NOT available
       OR coalesce(excluded.on_hand, on_hand) IS NOT on_hand
       OR coalesce(excluded.committed, committed) IS NOT committed
       OR coalesce(excluded.incoming, incoming) IS NOT incoming
       OR coalesce(excluded.reserved, reserved) IS NOT reserved
       OR coalesce(excluded.damaged, damaged) IS NOT damaged
       OR coalesce(excluded.safety_stock, safety_stock) IS NOT safety_stock
       OR coalesce(excluded.quality_control, quality_control) IS NOT quality_control
       OR coalesce(excluded.updated_at_ms, updated_at_ms) IS NOT updated_at_ms)";

const INSERT_PRODUCT: &str = "
INSERT INTO products (id, title, handle, status, vendor, product_type,
                      updated_at, updated_at_ms, source, recorded_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT DO NOTHING";

const INSERT_VARIANT: &str = "
INSERT INTO variants (id, product_id, title, sku, price, compare_at_price, inventory_item_id,
                      updated_at, updated_at_ms, source, recorded_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
ON CONFLICT DO NOTHING";

const INSERT_LEVEL: &str = "
INSERT INTO inventory_levels (inventory_item_id, location_id,
    available, on_hand, committed, incoming, reserved, damaged, safety_stock, quality_control,
    updated_at, updated_at_ms, source, recorded_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
ON CONFLICT DO NOTHING";

fn ms(t: &Option<ShopifyTime>) -> Option<i64> {
    t.as_ref().map(ShopifyTime::millis)
}

impl WriteTx<'_> {
    /// Saves the store's own record (a database holds one store).
    pub fn upsert_shop(&self, shop: &Shop) -> Result<()> {
        self.conn
            .execute("DELETE FROM shop WHERE id IS NOT ?1", [shop.id])?;
        self.conn.execute(
            "INSERT INTO shop (id, domain, name, currency_code, iana_timezone, recorded_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET
                 domain = excluded.domain, name = excluded.name,
                 currency_code = excluded.currency_code,
                 iana_timezone = excluded.iana_timezone,
                 recorded_at_ms = excluded.recorded_at_ms",
            params![
                shop.id,
                shop.domain,
                shop.name,
                shop.currency_code,
                shop.iana_timezone,
                self.now_ms()
            ],
        )?;
        Ok(())
    }

    /// Saves locations. Returns how many rows were inserted or changed.
    pub fn upsert_locations(&self, locations: &[Location]) -> Result<usize> {
        let mut stmt = self.conn.prepare_cached(UPSERT_LOCATION)?;
        let mut changed = 0;
        for l in locations {
            changed += stmt.execute(params![
                l.id,
                l.name,
                l.is_active,
                l.updated_at,
                ms(&l.updated_at),
                self.now_ms()
            ])?;
        }
        Ok(changed)
    }

    /// Saves products. Returns how many rows were inserted or changed.
    pub fn upsert_products(&self, products: &[Product], source: Source) -> Result<usize> {
        let mut stmt = self.conn.prepare_cached(UPSERT_PRODUCT)?;
        let mut changed = 0;
        for p in products {
            changed += stmt.execute(params![
                p.id,
                p.title,
                p.handle,
                p.status,
                p.vendor,
                p.product_type,
                p.updated_at,
                p.updated_at.millis(),
                source,
                self.now_ms()
            ])?;
        }
        Ok(changed)
    }

    /// Saves variants; their products must be saved first. Returns how many
    /// rows were inserted or changed.
    pub fn upsert_variants(&self, variants: &[Variant], source: Source) -> Result<usize> {
        let mut stmt = self.conn.prepare_cached(UPSERT_VARIANT)?;
        let mut changed = 0;
        for v in variants {
            changed += stmt.execute(params![
                v.id,
                v.product_id,
                v.title,
                v.sku,
                v.price,
                v.compare_at_price,
                v.inventory_item_id,
                v.updated_at,
                v.updated_at.millis(),
                source,
                self.now_ms()
            ])?;
        }
        Ok(changed)
    }

    /// Saves inventory levels; their variants and locations must be saved
    /// first. Quantities that are `None` keep their cached value. Returns how
    /// many rows were inserted or changed.
    pub fn upsert_levels(&self, levels: &[Level], source: Source) -> Result<usize> {
        let mut stmt = self.conn.prepare_cached(UPSERT_LEVEL)?;
        let mut changed = 0;
        for l in levels {
            let [a, oh, c, i, r, d, s, q] = l.quantities.as_array();
            changed += stmt.execute(params![
                l.inventory_item_id,
                l.location_id,
                a,
                oh,
                c,
                i,
                r,
                d,
                s,
                q,
                l.updated_at,
                ms(&l.updated_at),
                source,
                self.now_ms()
            ])?;
        }
        Ok(changed)
    }

    /// Saves a catalogue Shelfsync has not seen before (the first full sync into an empty
    /// cache): plain inserts, without the comparisons the upserts make for every row. A row
    /// that is already cached (written meanwhile by a webhook, so at least as new) is left as
    /// it is. Nothing goes to the audit log: a first sighting is not a change. Products come
    /// before their variants and variants before their levels, as with the upserts. Returns
    /// how many rows were inserted.
    pub fn insert_new_catalogue(
        &self,
        products: &[Product],
        variants: &[Variant],
        levels: &[Level],
        source: Source,
    ) -> Result<usize> {
        let now = self.now_ms();
        let mut inserted = 0;
        let mut stmt = self.conn.prepare_cached(INSERT_PRODUCT)?;
        for p in products {
            inserted += stmt.execute(params![
                p.id,
                p.title,
                p.handle,
                p.status,
                p.vendor,
                p.product_type,
                p.updated_at,
                p.updated_at.millis(),
                source,
                now
            ])?;
        }
        let mut stmt = self.conn.prepare_cached(INSERT_VARIANT)?;
        for v in variants {
            inserted += stmt.execute(params![
                v.id,
                v.product_id,
                v.title,
                v.sku,
                v.price,
                v.compare_at_price,
                v.inventory_item_id,
                v.updated_at,
                v.updated_at.millis(),
                source,
                now
            ])?;
        }
        let mut stmt = self.conn.prepare_cached(INSERT_LEVEL)?;
        for l in levels {
            let [a, oh, c, i, r, d, s, q] = l.quantities.as_array();
            inserted += stmt.execute(params![
                l.inventory_item_id,
                l.location_id,
                a,
                oh,
                c,
                i,
                r,
                d,
                s,
                q,
                l.updated_at,
                ms(&l.updated_at),
                source,
                now
            ])?;
        }
        Ok(inserted)
    }

    /// Removes products deleted in Shopify, with their variants and levels.
    /// Each removal is recorded in the audit log. Returns how many existed.
    pub fn delete_products(&self, ids: &[i64], source: Source) -> Result<usize> {
        let mut title = self
            .conn
            .prepare_cached("SELECT title FROM products WHERE id = ?1")?;
        let mut delete = self
            .conn
            .prepare_cached("DELETE FROM products WHERE id = ?1")?;
        let mut deleted = 0;
        for &id in ids {
            let Some(before) = title
                .query_row([id], |r| r.get::<_, String>(0))
                .optional()?
            else {
                continue;
            };
            deleted += delete.execute([id])?;
            self.audit(
                source,
                "product",
                &id.to_string(),
                "deleted",
                Some(&before),
                None,
            )?;
        }
        Ok(deleted)
    }

    /// Moves the watermark of `resource` forward to `to`; never backwards.
    /// Call it in the transaction that saved the rows up to `to` (or use
    /// [`WriteTx::commit_with_watermark`]). Returns whether it moved.
    pub fn advance_watermark(&self, resource: Resource, to: &ShopifyTime) -> Result<bool> {
        let moved = self.conn.execute(
            "INSERT INTO sync_watermarks (resource, updated_at, updated_at_ms, advanced_at_ms)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (resource) DO UPDATE SET
                 updated_at = excluded.updated_at, updated_at_ms = excluded.updated_at_ms,
                 advanced_at_ms = excluded.advanced_at_ms
             WHERE excluded.updated_at_ms > sync_watermarks.updated_at_ms",
            params![resource.as_str(), to, to.millis(), self.now_ms()],
        )?;
        Ok(moved > 0)
    }

    /// Forgets the watermark of `resource`, so the next sync reads it all.
    pub fn reset_watermark(&self, resource: Resource) -> Result<()> {
        self.conn.execute(
            "DELETE FROM sync_watermarks WHERE resource = ?1",
            [resource.as_str()],
        )?;
        Ok(())
    }

    /// Advances the watermark of `resource` to `to` and commits, so the rows
    /// and the watermark that covers them are saved together or not at all.
    pub fn commit_with_watermark(self, resource: Resource, to: &ShopifyTime) -> Result<()> {
        self.advance_watermark(resource, to)?;
        self.commit()
    }

    pub(crate) fn audit(
        &self,
        source: Source,
        entity: &str,
        entity_id: &str,
        field: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO audit_log (at_ms, source, entity, entity_id, field, before, after)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                self.now_ms(),
                source,
                entity,
                entity_id,
                field,
                before,
                after
            ])?;
        Ok(())
    }
}

/// How many rows the cache holds, for status displays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheCounts {
    /// Locations.
    pub locations: u64,
    /// Products.
    pub products: u64,
    /// Variants.
    pub variants: u64,
    /// Inventory levels.
    pub levels: u64,
    /// Orders.
    pub orders: u64,
}

pub(crate) const VARIANT_COLUMNS: &str = "v.id, v.product_id, v.title, v.sku, v.price, v.compare_at_price, \
                               v.inventory_item_id, v.updated_at";

pub(crate) fn variant_from(row: &Row<'_>) -> rusqlite::Result<Variant> {
    Ok(Variant {
        id: row.get(0)?,
        product_id: row.get(1)?,
        title: row.get(2)?,
        sku: row.get(3)?,
        price: row.get(4)?,
        compare_at_price: row.get(5)?,
        inventory_item_id: row.get(6)?,
        updated_at: row.get(7)?,
    })
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_prefix(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Which variants a search matches, as SQL shared by the page and the count so they cannot
/// disagree. A variant matches when its SKU, its product's title or its own title starts
/// with the query, ignoring ASCII case.
///
/// Written as `v.id IN (three prefix lookups)` rather than `sku LIKE ?1 OR p.title LIKE ?1
/// OR v.title LIKE ?1`: SQLite cannot use an index for an `OR` across two tables of a join,
/// so that form reads every variant for every page and every count. Each lookup here is a
/// range scan of a `NOCASE` index (`variants_sku`, `products_title`, `variants_title`).
/// An empty query matches every variant and needs no filter at all.
struct Search {
    /// The `LIKE` pattern, `None` for an empty query.
    pattern: Option<String>,
}

impl Search {
    fn new(query: &str) -> Self {
        let query = query.trim();
        Search {
            pattern: (!query.is_empty()).then(|| like_prefix(query)),
        }
    }

    /// The `WHERE` clause over `variants v JOIN products p`, with the pattern bound as
    /// parameter `?{index}`.
    fn filter_at(&self, index: usize) -> String {
        if self.pattern.is_none() {
            return String::new();
        }
        let p = format!("?{index}");
        format!(
            "WHERE v.id IN (
                SELECT id FROM variants WHERE sku LIKE {p} ESCAPE '\\'
                UNION ALL
                SELECT mv.id FROM products mp JOIN variants mv ON mv.product_id = mp.id
                WHERE mp.title LIKE {p} ESCAPE '\\'
                UNION ALL
                SELECT id FROM variants WHERE title LIKE {p} ESCAPE '\\')"
        )
    }

    /// The `WHERE` clause of a statement that binds only the pattern.
    fn filter(&self) -> String {
        self.filter_at(1)
    }

    /// The ids of one page (`LIMIT ?1 OFFSET ?2`), in the list's order. Only ids and sort
    /// keys are sorted; the caller reads the rest of the columns, and the stock sums, for the
    /// page's rows alone. Without a filter the join starts from `products_title`, already in
    /// the list's first sort key, so SQLite sorts only variants of products with the same
    /// title rather than the whole catalogue.
    fn page_ids(&self) -> String {
        let from = match self.pattern {
            None => "products p CROSS JOIN variants v ON v.product_id = p.id",
            Some(_) => "variants v JOIN products p ON p.id = v.product_id",
        };
        format!(
            "SELECT v.id FROM {from} {filter} ORDER BY p.title, v.title, v.id LIMIT ?1 OFFSET ?2",
            filter = self.filter_at(3)
        )
    }

    /// `before`, followed by the pattern when there is one.
    fn params<'a>(&'a self, before: &[&'a dyn ToSql]) -> Vec<&'a dyn ToSql> {
        let mut params = before.to_vec();
        if let Some(pattern) = &self.pattern {
            params.push(pattern);
        }
        params
    }
}

impl Reader {
    /// The store's own record, once synced.
    pub fn shop(&self) -> Result<Option<Shop>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, domain, name, currency_code, iana_timezone FROM shop LIMIT 1",
                [],
                |r| {
                    Ok(Shop {
                        id: r.get(0)?,
                        domain: r.get(1)?,
                        name: r.get(2)?,
                        currency_code: r.get(3)?,
                        iana_timezone: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// All locations, by name.
    pub fn locations(&self) -> Result<Vec<Location>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, is_active, updated_at FROM locations ORDER BY name, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Location {
                id: r.get(0)?,
                name: r.get(1)?,
                is_active: r.get(2)?,
                updated_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One product.
    pub fn product(&self, id: i64) -> Result<Option<Product>> {
        product_by_id(&self.conn, id)
    }

    /// One variant.
    pub fn variant(&self, id: i64) -> Result<Option<Variant>> {
        let sql = format!("SELECT {VARIANT_COLUMNS} FROM variants v WHERE v.id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], variant_from)
            .optional()?)
    }

    /// Variants whose SKU, product title or variant title starts with `query`
    /// (ignoring ASCII case), ordered by product title, variant title and id.
    /// An empty query lists every variant. `limit` and `offset` page the list.
    pub fn search_variants(&self, query: &str, limit: u32, offset: u32) -> Result<Vec<VariantRow>> {
        let search = Search::new(query);
        let sql = format!(
            "SELECT {VARIANT_COLUMNS}, p.title,
                    (SELECT coalesce(sum(l.available), 0) FROM inventory_levels l
                     WHERE l.inventory_item_id = v.inventory_item_id)
             FROM ({page}) page
             JOIN variants v ON v.id = page.id JOIN products p ON p.id = v.product_id
             ORDER BY p.title, v.title, v.id",
            page = search.page_ids()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(search.params(&[&limit, &offset]).as_slice(), |r| {
            Ok(VariantRow {
                variant: variant_from(r)?,
                product_title: r.get(8)?,
                total_available: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many variants [`Reader::search_variants`] finds for `query` in all, whatever
    /// the page. Counted through the same filter; an index range scan per part of the
    /// search, or the whole catalogue for an empty query.
    pub fn count_variants(&self, query: &str) -> Result<u64> {
        let search = Search::new(query);
        let sql = format!(
            "SELECT count(*) FROM variants v JOIN products p ON p.id = v.product_id {filter}",
            filter = search.filter()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        Ok(stmt.query_row(search.params(&[]).as_slice(), |r| count(r, 0))?)
    }

    /// A page of [`Reader::search_variants`] with [`Reader::count_variants`], both read in
    /// one transaction: a sync committing between the two cannot make them disagree.
    pub fn search_page(&self, query: &str, limit: u32, offset: u32) -> Result<VariantPage> {
        let tx = self.conn.unchecked_transaction()?;
        let rows = self.search_variants(query, limit, offset)?;
        let total = self.count_variants(query)?;
        tx.commit()?;
        Ok(VariantPage { rows, total })
    }

    /// The stock of a variant at each location, by location name.
    pub fn levels_for_variant(&self, variant_id: i64) -> Result<Vec<StoredLevel>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT l.inventory_item_id, l.location_id, l.available, l.on_hand, l.committed,
                    l.incoming, l.reserved, l.damaged, l.safety_stock, l.quality_control,
                    l.updated_at, loc.name, l.source, l.recorded_at_ms
             FROM variants v
             JOIN inventory_levels l ON l.inventory_item_id = v.inventory_item_id
             JOIN locations loc ON loc.id = l.location_id
             WHERE v.id = ?1
             ORDER BY loc.name, loc.id",
        )?;
        let rows = stmt.query_map([variant_id], |r| {
            Ok(StoredLevel {
                level: Level {
                    inventory_item_id: r.get(0)?,
                    location_id: r.get(1)?,
                    quantities: Quantities {
                        available: r.get(2)?,
                        on_hand: r.get(3)?,
                        committed: r.get(4)?,
                        incoming: r.get(5)?,
                        reserved: r.get(6)?,
                        damaged: r.get(7)?,
                        safety_stock: r.get(8)?,
                        quality_control: r.get(9)?,
                    },
                    updated_at: r.get(10)?,
                },
                location_name: r.get(11)?,
                source: r.get(12)?,
                recorded_at: timestamp(r.get(13)?)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How far incremental sync of `resource` has read, if it has started.
    pub fn watermark(&self, resource: Resource) -> Result<Option<ShopifyTime>> {
        Ok(self
            .conn
            .prepare_cached("SELECT updated_at FROM sync_watermarks WHERE resource = ?1")?
            .query_row([resource.as_str()], |r| r.get(0))
            .optional()?)
    }

    /// Every watermark, for status displays ("last synced").
    pub fn watermarks(&self) -> Result<Vec<Watermark>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT resource, updated_at, advanced_at_ms FROM sync_watermarks ORDER BY resource",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, ShopifyTime>(1)?,
                timestamp(r.get(2)?)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (resource, updated_at, advanced_at) = row?;
            out.push(Watermark {
                resource: resource.parse()?,
                updated_at,
                advanced_at,
            });
        }
        Ok(out)
    }

    /// Row counts.
    pub fn counts(&self) -> Result<CacheCounts> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM locations), (SELECT count(*) FROM products),
                    (SELECT count(*) FROM variants), (SELECT count(*) FROM inventory_levels),
                    (SELECT count(*) FROM orders)",
            [],
            |r| {
                Ok(CacheCounts {
                    locations: count(r, 0)?,
                    products: count(r, 1)?,
                    variants: count(r, 2)?,
                    levels: count(r, 3)?,
                    orders: count(r, 4)?,
                })
            },
        )?)
    }

    /// The audit trail of one entity (`inventory_level` with id
    /// `item@location`, `variant`, `product` or `job`), oldest first.
    pub fn audit_for(&self, entity: &str, entity_id: &str) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, at_ms, source, entity, entity_id, field, before, after
             FROM audit_log WHERE entity = ?1 AND entity_id = ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map([entity, entity_id], audit_from)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The latest `limit` audit entries, newest first.
    pub fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, at_ms, source, entity, entity_id, field, before, after
             FROM audit_log ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], audit_from)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// A `count(*)` column; never negative.
pub(crate) fn count(r: &Row<'_>, index: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, i64>(index)?.max(0).unsigned_abs())
}

fn audit_from(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get(0)?,
        at: timestamp(r.get(1)?)?,
        source: r.get(2)?,
        entity: r.get(3)?,
        entity_id: r.get(4)?,
        field: r.get(5)?,
        before: r.get(6)?,
        after: r.get(7)?,
    })
}

impl crate::Database {
    /// Saves locations in one transaction.
    pub fn upsert_locations(&mut self, locations: &[Location]) -> Result<usize> {
        let tx = self.write()?;
        let changed = tx.upsert_locations(locations)?;
        tx.commit()?;
        Ok(changed)
    }

    /// Saves products in one transaction.
    pub fn upsert_products(&mut self, products: &[Product], source: Source) -> Result<usize> {
        let tx = self.write()?;
        let changed = tx.upsert_products(products, source)?;
        tx.commit()?;
        Ok(changed)
    }

    /// Saves variants in one transaction.
    pub fn upsert_variants(&mut self, variants: &[Variant], source: Source) -> Result<usize> {
        let tx = self.write()?;
        let changed = tx.upsert_variants(variants, source)?;
        tx.commit()?;
        Ok(changed)
    }

    /// Saves inventory levels in one transaction.
    pub fn upsert_levels(&mut self, levels: &[Level], source: Source) -> Result<usize> {
        let tx = self.write()?;
        let changed = tx.upsert_levels(levels, source)?;
        tx.commit()?;
        Ok(changed)
    }
}

/// Product `id` as the cache holds it, read through `conn` (a reader's or a write
/// transaction's).
pub(crate) fn product_by_id(conn: &rusqlite::Connection, id: i64) -> Result<Option<Product>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, title, handle, status, vendor, product_type, updated_at
             FROM products WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(Product {
                id: r.get(0)?,
                title: r.get(1)?,
                handle: r.get(2)?,
                status: r.get(3)?,
                vendor: r.get(4)?,
                product_type: r.get(5)?,
                updated_at: r.get(6)?,
            })
        })
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Database;

    /// What SQLite plans to do for `sql` with `params` bound: one line per step.
    fn plan(reader: &Reader, sql: &str, params: &[&dyn ToSql]) -> Vec<String> {
        let mut stmt = reader
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        stmt.query_map(params, |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// Counting the matches of a query (each keystroke in the search box asks again) reads
    /// index ranges only: a step that reads a whole table would make it cost as much as the
    /// catalogue is large.
    #[test]
    fn counting_a_search_reads_only_index_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path().join("shop.sqlite3")).unwrap();
        let reader = db.reader().unwrap();
        let search = Search::new("mug");
        let sql = format!(
            "SELECT count(*) FROM variants v JOIN products p ON p.id = v.product_id {}",
            search.filter()
        );
        let steps = plan(&reader, &sql, &search.params(&[]));
        for table in ["variants", "products", "mv", "mp", "v", "p"] {
            assert!(
                !steps
                    .iter()
                    .any(|s| s.starts_with(&format!("SCAN {table} "))
                        || *s == format!("SCAN {table}")),
                "{table} is read whole: {steps:#?}"
            );
        }
        for index in ["variants_sku", "products_title", "variants_title"] {
            assert!(
                steps.iter().any(|s| s.contains(index)),
                "{index} unused: {steps:#?}"
            );
        }
    }
}
