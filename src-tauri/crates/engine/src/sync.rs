//! Reading the store into the cache: the catalogue (products, variants, prices) and stock.
//!
//! Incremental sync asks only for what changed since the last watermark, with an overlap
//! window, because Shopify's `updated_at` is not a strict order: two writes in the same
//! instant, or a write that commits late, can land just behind the newest timestamp already
//! seen. Upserts are idempotent (the store ignores rows that are not newer than what it
//! has), so re-reading the overlap costs API points but never corrupts anything.
//!
//! Each page is committed in one transaction. The watermark moves only in the transaction
//! of the *last* page of a pass, to the newest timestamp the pass saw, so a crash mid-pass
//! leaves the old watermark and the next pass re-reads from there: nothing is ever skipped.
//!
//! Stock changes (a sale, an edit) move an inventory level's `updatedAt`, not its variant's,
//! so stock is read per location through `inventoryLevels(query: "updated_at:>=…")`.

use crate::cache::{Cache, CacheError};
use crate::events::{EngineEvent, Events, SyncKind};
use shelfsync_shopify::operations::{
    LevelNode, LocatedLevel, LocationLevels, LocationLevelsVariables, Locations,
    LocationsVariables, NamedQuantity, NoVariables, OrdersPage, OrdersPageVariables, ShopInfo,
    VariantCount, VariantNode, VariantsPage, VariantsPageVariables,
};
use shelfsync_shopify::{ShopifyClient, ShopifyError};
use shelfsync_store::{
    Level, Location, Money, OrderWrite, Product, Quantities, Resource, Shop, ShopifyTime, Source,
    Variant, gid_id,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How many orders the first orders pass reads (newest first); later passes read what
/// changed since.
pub const FIRST_ORDERS: u64 = 1_000;

/// What an orders pass read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrdersRead {
    /// Orders Shopify returned.
    pub read: u64,
    /// Orders new to the cache or newer than it had.
    pub changed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Shopify(#[from] ShopifyError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("Shopify sent data Shelfsync could not understand: {0}")]
    Unexpected(String),
    /// A bulk operation (full sync) failed, was canceled, or its file could not be read.
    #[error("Full sync: {0}")]
    Bulk(String),
}

/// What a sync pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub variants: u64,
    pub levels: u64,
    pub orders: u64,
    pub elapsed_ms: u64,
}

/// Reads one store into its cache.
#[derive(Debug, Clone)]
pub struct Syncer {
    pub client: ShopifyClient,
    pub cache: Cache,
    pub events: Events,
    /// Items per page (Shopify allows at most 250).
    pub page_size: u32,
    /// How far behind the watermark an incremental pass starts.
    pub overlap: Duration,
    /// How a full sync runs its bulk operation (see [`crate::bulk_sync`]).
    pub bulk: crate::bulk_sync::BulkSettings,
    /// The low-stock line stock writes are compared with.
    pub low_stock: crate::orders::LowStockRule,
    /// Set while webhook intake runs: an incremental pass is then a reconciliation, and
    /// whatever it finds changed is a change webhooks missed (see [`Syncer::run_incremental`]).
    pub reconciling: Arc<AtomicBool>,
}

impl Syncer {
    pub fn new(client: ShopifyClient, cache: Cache, events: Events) -> Self {
        Self {
            client,
            cache,
            events,
            page_size: 100,
            overlap: Duration::from_secs(300),
            bulk: crate::bulk_sync::BulkSettings::default(),
            low_stock: crate::orders::LowStockRule::default(),
            reconciling: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Where rows read by an incremental pass come from: a poll, or a reconciliation while
    /// webhooks are expected to bring every change.
    fn pass_source(&self) -> Source {
        if self.reconciling.load(Ordering::SeqCst) {
            Source::Reconciliation
        } else {
            Source::Poll
        }
    }

    /// Shop details, locations, the catalogue, stock and orders. `Full` ignores the
    /// watermarks of the catalogue and stock.
    pub async fn run(&self, kind: SyncKind) -> Result<SyncReport, SyncError> {
        self.run_because(kind, "scheduled").await
    }

    /// [`Syncer::run`], saying why it runs (`scheduled`, `start`, `wake`, `subscription`,
    /// `manual`): an incremental pass while webhook intake runs is recorded as a
    /// reconciliation with that reason.
    pub async fn run_because(&self, kind: SyncKind, reason: &str) -> Result<SyncReport, SyncError> {
        let started = Instant::now();
        let started_at = shelfsync_store::Timestamp::now();
        self.sync_shop().await?;
        let reconciling = kind == SyncKind::Incremental && self.reconciling.load(Ordering::SeqCst);
        let mark = if reconciling {
            self.cache
                .write(|db| {
                    let tx = db.write()?;
                    let mark = tx.audit_mark()?;
                    tx.commit()?;
                    Ok(mark)
                })
                .await?
        } else {
            0
        };
        let (variants, levels, orders) = match kind {
            // One bulk operation reads every variant with its levels.
            SyncKind::Full => {
                let read = crate::bulk_sync::full_sync(self).await?;
                let orders = self.sync_orders().await?;
                (read.variants, read.levels, orders)
            }
            SyncKind::Incremental => (
                self.sync_catalogue(kind).await?,
                self.sync_levels().await?,
                self.sync_orders().await?,
            ),
        };
        if reconciling {
            self.record_reconciliation(
                reason,
                started_at,
                mark,
                variants + levels + orders.read,
                orders.changed,
            )
            .await?;
        }
        let report = SyncReport {
            variants,
            levels,
            orders: orders.read,
            elapsed_ms: started.elapsed().as_millis() as u64,
        };
        self.events.publish(EngineEvent::SyncFinished {
            sync: kind,
            rows: variants + levels,
            elapsed_ms: report.elapsed_ms,
        });
        Ok(report)
    }

    /// The shop's own record and its locations.
    pub async fn sync_shop(&self) -> Result<(), SyncError> {
        let shop = self.client.execute::<ShopInfo>(&NoVariables {}).await?.shop;
        let shop = Shop {
            id: gid(&shop.id, "Shop")?,
            domain: shop.myshopify_domain,
            name: shop.name,
            currency_code: shop.currency_code,
            iana_timezone: Some(shop.iana_timezone),
        };
        let mut locations = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .client
                .execute::<Locations>(&LocationsVariables { first: 250, after })
                .await?
                .locations;
            for l in page.nodes {
                locations.push(Location {
                    id: gid(&l.id, "Location")?,
                    name: l.name,
                    is_active: l.is_active,
                    updated_at: None,
                });
            }
            if !page.page_info.has_next_page {
                break;
            }
            after = page.page_info.end_cursor;
        }
        self.cache
            .write(move |db| {
                let tx = db.write()?;
                tx.upsert_shop(&shop)?;
                tx.upsert_locations(&locations)?;
                tx.commit()
            })
            .await?;
        Ok(())
    }

    fn search_since(&self, watermark: Option<ShopifyTime>) -> Option<String> {
        watermark.map(|w| {
            let overlap = i64::try_from(self.overlap.as_millis()).unwrap_or(0);
            let from = shelfsync_store::Timestamp::from_millisecond(
                w.instant().as_millisecond() - overlap,
            )
            .unwrap_or(w.instant());
            // Dates must be quoted, or Shopify splits them at the colons.
            format!("updated_at:>='{}'", from.strftime("%Y-%m-%dT%H:%M:%SZ"))
        })
    }

    /// Variants (with their products and, on a full pass, their stock).
    pub async fn sync_catalogue(&self, kind: SyncKind) -> Result<u64, SyncError> {
        let watermark = match kind {
            SyncKind::Full => None,
            SyncKind::Incremental => self.cache.read(|r| r.watermark(Resource::Products)).await?,
        };
        let query = self.search_since(watermark);
        let total = match kind {
            SyncKind::Full => self
                .client
                .execute::<VariantCount>(&NoVariables {})
                .await
                .ok()
                .and_then(|d| d.product_variants_count)
                .map(|c| c.count),
            SyncKind::Incremental => None,
        };
        let started = Instant::now();
        let mut rows = 0u64;
        let mut newest: Option<ShopifyTime> = None;
        let mut newest_level: Option<ShopifyTime> = None;
        let mut after = None;
        loop {
            let page = self
                .client
                .execute::<VariantsPage>(&VariantsPageVariables {
                    first: self.page_size,
                    after: after.clone(),
                    query: query.clone(),
                })
                .await?
                .product_variants;
            let mut products = Vec::new();
            let mut variants = Vec::new();
            let mut levels = Vec::new();
            for node in &page.nodes {
                let (product, variant) = catalogue_rows(node)?;
                newest = max_time(newest, Some(variant.updated_at.clone()));
                if !products.iter().any(|p: &Product| p.id == product.id) {
                    products.push(product);
                }
                for l in &node.inventory_item.inventory_levels.nodes {
                    let level = level_row(variant.inventory_item_id, l)?;
                    newest_level = max_time(newest_level, level.updated_at.clone());
                    levels.push(level);
                }
                variants.push(variant);
            }
            rows += variants.len() as u64;
            let last = !page.page_info.has_next_page;
            let watermarks = if last {
                let mut w = Vec::new();
                if let Some(t) = newest.clone() {
                    w.push((Resource::Products, t));
                }
                if kind == SyncKind::Full
                    && let Some(t) = newest_level.clone()
                {
                    w.push((Resource::InventoryLevels, t));
                }
                w
            } else {
                Vec::new()
            };
            let source = match kind {
                SyncKind::Full => Source::Poll,
                SyncKind::Incremental => self.pass_source(),
            };
            self.cache
                .write(move |db| {
                    let tx = db.write()?;
                    tx.upsert_products(&products, source)?;
                    tx.upsert_variants(&variants, source)?;
                    tx.upsert_levels(&levels, source)?;
                    for (resource, to) in &watermarks {
                        tx.advance_watermark(*resource, to)?;
                    }
                    tx.commit()
                })
                .await?;
            self.progress(kind, rows, total, started);
            if last {
                break;
            }
            after = page.page_info.end_cursor;
        }
        Ok(rows)
    }

    /// Stock changed since the levels watermark, location by location.
    pub async fn sync_levels(&self) -> Result<u64, SyncError> {
        let watermark = self
            .cache
            .read(|r| r.watermark(Resource::InventoryLevels))
            .await?;
        let query = self.search_since(watermark);
        let locations = self.cache.read(|r| r.locations()).await?;
        let mut rows = 0u64;
        let mut newest: Option<ShopifyTime> = None;
        let source = self.pass_source();
        for (i, location) in locations.iter().enumerate() {
            let mut after = None;
            loop {
                let data = self
                    .client
                    .execute::<LocationLevels>(&LocationLevelsVariables {
                        location: format!("gid://shopify/Location/{}", location.id),
                        first: 250,
                        after: after.clone(),
                        query: query.clone(),
                    })
                    .await?;
                let Some(found) = data.location else { break };
                let page = found.inventory_levels;
                let mut levels = Vec::with_capacity(page.nodes.len());
                for l in &page.nodes {
                    let level = located_level_row(location.id, l)?;
                    newest = max_time(newest, level.updated_at.clone());
                    levels.push(level);
                }
                rows += levels.len() as u64;
                let last_page = !page.page_info.has_next_page;
                let watermark = if last_page && i + 1 == locations.len() {
                    newest.clone()
                } else {
                    None
                };
                self.cache
                    .write(move |db| {
                        let tx = db.write()?;
                        tx.upsert_levels(&levels, source)?;
                        if let Some(to) = &watermark {
                            tx.advance_watermark(Resource::InventoryLevels, to)?;
                        }
                        tx.commit()
                    })
                    .await?;
                if last_page {
                    break;
                }
                after = page.page_info.end_cursor;
            }
        }
        Ok(rows)
    }

    /// Orders changed since the orders watermark (on the first pass: the newest
    /// [`FIRST_ORDERS`] orders Shopify shows). An order new to the cache and placed since the
    /// previous pass is announced ([`EngineEvent::NewOrder`]). The stock the orders moved is
    /// not read again: the pass read the changed levels just before.
    pub async fn sync_orders(&self) -> Result<OrdersRead, SyncError> {
        let watermark = self.cache.read(|r| r.watermark(Resource::Orders)).await?;
        let first_pass = watermark.is_none();
        let announce_from = watermark.as_ref().map(|w| {
            w.instant().as_millisecond() - i64::try_from(self.overlap.as_millis()).unwrap_or(0)
        });
        let query = self.search_since(watermark);
        let source = self.pass_source();
        let mut read = OrdersRead::default();
        let mut newest: Option<ShopifyTime> = None;
        let mut after = None;
        loop {
            let page = self
                .client
                .execute::<OrdersPage>(&OrdersPageVariables {
                    first: 50,
                    after: after.clone(),
                    query: query.clone(),
                    reverse: first_pass,
                })
                .await?
                .orders;
            let orders = page
                .nodes
                .iter()
                .map(crate::orders::order_from_node)
                .collect::<Result<Vec<_>, _>>()?;
            for o in &orders {
                newest = max_time(newest, Some(o.updated_at.clone()));
            }
            read.read += orders.len() as u64;
            let last = !page.page_info.has_next_page || (first_pass && read.read >= FIRST_ORDERS);
            let watermark = if last { newest.clone() } else { None };
            let saved = self
                .cache
                .write(move |db| {
                    let tx = db.write()?;
                    let mut saved = Vec::new();
                    for order in orders {
                        saved.push(crate::orders::save_order(&tx, order, source, false)?);
                    }
                    if let Some(to) = &watermark {
                        tx.advance_watermark(Resource::Orders, to)?;
                    }
                    tx.commit()?;
                    Ok(saved)
                })
                .await?;
            for (write, order) in saved {
                if write == OrderWrite::Unchanged {
                    continue;
                }
                read.changed += 1;
                let placed_since = announce_from
                    .is_some_and(|from| order.created_at.instant().as_millisecond() >= from);
                if write == OrderWrite::New && placed_since {
                    self.events.publish(EngineEvent::NewOrder {
                        order: crate::orders::notice(&order),
                    });
                }
            }
            if last {
                break;
            }
            after = page.page_info.end_cursor;
        }
        if first_pass && read.read == 0 {
            // A store without orders gives no order time to start from, and without a
            // watermark every pass would be a first pass that announces nothing. The catalogue's
            // watermark is a time of the store's clock that this pass has already reached.
            if let Some(from) = self.cache.read(|r| r.watermark(Resource::Products)).await? {
                self.cache
                    .write(move |db| {
                        let tx = db.write()?;
                        tx.advance_watermark(Resource::Orders, &from)?;
                        tx.commit()?;
                        Ok(())
                    })
                    .await?;
            }
        }
        Ok(read)
    }

    /// Saves a finished reconciliation pass and announces it.
    async fn record_reconciliation(
        &self,
        reason: &str,
        started_at: shelfsync_store::Timestamp,
        mark: i64,
        checked: u64,
        orders_repaired: u64,
    ) -> Result<(), SyncError> {
        let reason = reason.to_owned();
        let notice = self
            .cache
            .write(move |db| {
                let tx = db.write()?;
                let repaired = tx.changed_since(mark, Source::Reconciliation)? + orders_repaired;
                let finished_at = shelfsync_store::Timestamp::now();
                tx.record_reconciliation(&shelfsync_store::ReconciliationRun {
                    started_at,
                    finished_at,
                    reason: reason.clone(),
                    checked,
                    repaired,
                })?;
                tx.commit()?;
                Ok(crate::events::ReconciliationNotice {
                    reason,
                    checked,
                    repaired,
                    repaired_last_day: 0,
                })
            })
            .await?;
        let day_ago = shelfsync_store::Timestamp::now().as_millisecond() - 86_400_000;
        let repaired_last_day = self.cache.read(move |r| r.repairs_since(day_ago)).await?;
        self.events.publish(EngineEvent::Reconciled {
            reconciliation: crate::events::ReconciliationNotice {
                repaired_last_day,
                ..notice
            },
        });
        Ok(())
    }

    pub(crate) fn progress(&self, sync: SyncKind, rows: u64, total: Option<u64>, started: Instant) {
        let secs = started.elapsed().as_secs_f64().max(0.001);
        let rate = rows as f64 / secs;
        let seconds_left = total
            .filter(|_| rate > 0.0)
            .map(|t| t.saturating_sub(rows) as f64 / rate);
        self.events.publish(EngineEvent::SyncProgress {
            sync,
            rows,
            total,
            rows_per_sec: rate,
            seconds_left,
        });
    }
}

pub(crate) fn gid(id: &str, kind: &str) -> Result<i64, SyncError> {
    gid_id(id, kind).ok_or_else(|| SyncError::Unexpected(format!("{id:?} is not a {kind} id")))
}

pub(crate) fn time(text: &str) -> Result<ShopifyTime, SyncError> {
    ShopifyTime::parse(text).map_err(|e| SyncError::Unexpected(e.to_string()))
}

pub(crate) fn money(text: &str) -> Result<Money, SyncError> {
    Money::new(text).map_err(|e| SyncError::Unexpected(e.to_string()))
}

pub(crate) fn max_time(a: Option<ShopifyTime>, b: Option<ShopifyTime>) -> Option<ShopifyTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.instant() > a.instant() { b } else { a }),
        (a, b) => a.or(b),
    }
}

pub(crate) fn catalogue_rows(node: &VariantNode) -> Result<(Product, Variant), SyncError> {
    let p = &node.product;
    let product = Product {
        id: gid(&p.id, "Product")?,
        title: p.title.clone(),
        handle: p.handle.clone(),
        status: p.status.clone(),
        vendor: p.vendor.clone().filter(|v| !v.is_empty()),
        product_type: p.product_type.clone().filter(|v| !v.is_empty()),
        updated_at: time(&p.updated_at)?,
    };
    let variant = Variant {
        id: gid(&node.id, "ProductVariant")?,
        product_id: product.id,
        title: node.title.clone(),
        sku: node.sku.clone().filter(|s| !s.is_empty()),
        price: money(&node.price)?,
        compare_at_price: node.compare_at_price.as_deref().map(money).transpose()?,
        inventory_item_id: gid(&node.inventory_item.id, "InventoryItem")?,
        updated_at: time(&node.updated_at)?,
    };
    Ok((product, variant))
}

pub(crate) fn quantities(named: &[NamedQuantity]) -> Quantities {
    quantities_of(named.iter().map(|n| (n.name.as_str(), n.quantity)))
}

pub(crate) fn quantities_of<'n>(named: impl IntoIterator<Item = (&'n str, i64)>) -> Quantities {
    let mut q = Quantities::default();
    for (name, quantity) in named {
        let slot = match name {
            "available" => &mut q.available,
            "on_hand" => &mut q.on_hand,
            "committed" => &mut q.committed,
            "incoming" => &mut q.incoming,
            "reserved" => &mut q.reserved,
            "damaged" => &mut q.damaged,
            "safety_stock" => &mut q.safety_stock,
            "quality_control" => &mut q.quality_control,
            _ => continue,
        };
        *slot = Some(quantity);
    }
    q
}

pub(crate) fn level_row(item: i64, l: &LevelNode) -> Result<Level, SyncError> {
    Ok(Level {
        inventory_item_id: item,
        location_id: gid(&l.location.id, "Location")?,
        quantities: quantities(&l.quantities),
        updated_at: l.updated_at.as_deref().map(time).transpose()?,
    })
}

fn located_level_row(location: i64, l: &LocatedLevel) -> Result<Level, SyncError> {
    Ok(Level {
        inventory_item_id: gid(&l.item.id, "InventoryItem")?,
        location_id: location,
        quantities: quantities(&l.quantities),
        updated_at: l.updated_at.as_deref().map(time).transpose()?,
    })
}
