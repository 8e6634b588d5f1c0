//! Reading the store into the cache: the catalogue (products, variants, prices) and stock.
//!
//! Incremental sync asks only for what changed since the last watermark, with an overlap,
//! because Shopify's `updated_at` is not a strict order: two writes in the same second
//! (Shopify's timestamps have whole seconds), or a write that commits late, can land just
//! behind the newest timestamp already seen. Upserts are idempotent (the store ignores rows
//! that are not newer than what it has), so re-reading the overlap costs API points but never
//! corrupts anything.
//!
//! The overlap has two widths, because a wide one on every pass is expensive: with 1,800
//! orders an hour on a store of 50,000 variants, re-reading 300 s cost about 160 points a
//! pass, against about 40 for a narrow pass (`examples/bench_report.rs`); on the standard plan
//! (100 points a second) that was 1.6 s of waiting in every pass, which is how stale the
//! cache was between passes.
//!
//! - Most passes are *narrow*: they start [`Syncer::narrow_overlap`] (1 s) behind the
//!   watermark, enough for writes in the same second as the newest one seen. They start no
//!   earlier than that behind the newest timestamp of any watermark as the last finished pass
//!   started: the store's clock had passed that time when that pass began, so a write older
//!   than it that the pass did not see committed more than the narrow overlap late, and is
//!   left to the wide pass. (Otherwise a resource that rarely changes, such as the catalogue
//!   while orders come in, would have its newest rows read again on every pass.)
//! - A pass is *wide* when the last wide pass (or full sync, which reads everything) started
//!   [`Syncer::wide_every`] (150 s) or more ago on [`Syncer::clock`], and on the first pass
//!   of a `Syncer` (the first after the engine starts). It starts [`Syncer::overlap`] (300 s) behind the watermarks the
//!   previous wide pass started from, so a write that commits up to `overlap` late is read
//!   by the first wide pass after it commits, however far the narrow passes in between
//!   moved the watermarks. Without a previous wide pass to go by, it starts
//!   `overlap + wide_every` behind the current watermarks, which also covers the narrow
//!   passes a previous run of the engine made after its last wide pass.
//!
//! So a write that commits late is still read, up to `wide_every` later than when every
//! pass was wide. What a pass goes by is kept in memory and shared by the clones of a
//! `Syncer` (an engine session makes one and its jobs run clones of it). A pass that fails
//! is not recorded: after a failed wide pass the next pass is wide again. The shop's details
//! and its locations, which rarely change, are read again by full and wide passes only.
//!
//! Each page is committed in one transaction. A watermark moves only once every row it covers
//! is saved (in the transaction of the *last* page of a pass, or, for stock, whose locations
//! are read at once, in one of its own after them), to the newest timestamp the pass saw, so
//! a crash mid-pass leaves the old watermark and the next pass re-reads from there: nothing
//! is ever skipped. An incremental pass reads the catalogue, the stock of each location and
//! the orders at once, and writes stock only once the catalogue is saved (stock needs its
//! variants): a pass takes about one round trip, not one per resource and location.
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
use shelfsync_shopify::{Clock, ShopifyClient, ShopifyError};
use shelfsync_store::{
    Level, Location, Money, OrderWrite, Product, Quantities, Resource, Shop, ShopifyTime, Source,
    Variant, gid_id,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Page sizes of incremental reads. Shopify checks a query's *requested* cost (which grows
/// with `first`) against the bucket before running it, and refunds the difference after; an
/// incremental pass finds a handful of rows, so asking for a smaller page lets it start
/// sooner when the bucket is low (an orders page of 50, with its line items, requests about
/// 350 points and is charged a few). Full reads keep the large pages.
const INCREMENTAL_VARIANTS_PAGE: u32 = 25;
const INCREMENTAL_LEVELS_PAGE: u32 = 50;
const INCREMENTAL_ORDERS_PAGE: u32 = 10;

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
    /// An incremental pass that re-read the wide overlap (see the module docs).
    pub wide: bool,
}

/// How far back an incremental pass reads.
#[derive(Debug, Clone)]
enum Reach {
    /// [`Syncer::narrow_overlap`] behind the watermark, or behind the newest timestamp of any
    /// watermark as the last finished pass started, if that is later.
    Narrow(Option<ShopifyTime>),
    /// [`Syncer::overlap`] behind the watermarks the previous wide pass started from, if
    /// this `Syncer` made one; else `overlap + wide_every` behind the current watermarks.
    Wide(Option<Watermarks>),
}

/// The watermarks a pass started from.
#[derive(Debug, Clone, Default)]
struct Watermarks {
    products: Option<ShopifyTime>,
    levels: Option<ShopifyTime>,
    orders: Option<ShopifyTime>,
}

impl Watermarks {
    fn newest(&self) -> Option<ShopifyTime> {
        max_time(
            max_time(self.products.clone(), self.levels.clone()),
            self.orders.clone(),
        )
    }
}

/// The last wide pass that finished: when it started on [`Syncer::clock`], and the
/// watermarks it started from.
#[derive(Debug, Clone)]
struct WidePass {
    at: Duration,
    from: Watermarks,
}

/// What the next incremental pass goes by.
#[derive(Debug, Clone, Default)]
struct Passes {
    wide: Option<WidePass>,
    /// The newest timestamp of any watermark as the last finished incremental pass started.
    newest_before_last: Option<ShopifyTime>,
}

/// Reads one store into its cache.
#[derive(Debug, Clone)]
pub struct Syncer {
    pub client: ShopifyClient,
    pub cache: Cache,
    pub events: Events,
    /// Items per page (Shopify allows at most 250).
    pub page_size: u32,
    /// How late a write may commit and still be read: a wide pass starts this far behind
    /// the watermarks the previous wide pass started from (see the module docs).
    pub overlap: Duration,
    /// How far behind the watermark a narrow pass starts: writes in the same second as the
    /// newest one seen.
    pub narrow_overlap: Duration,
    /// A pass is wide when the last wide pass started this long ago or more on
    /// [`Syncer::clock`].
    pub wide_every: Duration,
    /// Time for [`Syncer::wide_every`]: the same clock as the client's (a scaled one when the
    /// store's clock runs faster than real time).
    pub clock: Clock,
    /// How a full sync runs its bulk operation (see [`crate::bulk_sync`]).
    pub bulk: crate::bulk_sync::BulkSettings,
    /// The low-stock line stock writes are compared with.
    pub low_stock: crate::orders::LowStockRule,
    /// Set while webhook intake runs: an incremental pass is then a reconciliation, and
    /// whatever it finds changed is a change webhooks missed (see [`Syncer::run_because`]).
    pub reconciling: Arc<AtomicBool>,
    /// What the next incremental pass goes by, shared by the clones of this `Syncer` (an
    /// engine session makes one `Syncer` and its jobs run clones of it).
    passes: Arc<Mutex<Passes>>,
}

impl Syncer {
    pub fn new(client: ShopifyClient, cache: Cache, events: Events) -> Self {
        Self {
            client,
            cache,
            events,
            page_size: 100,
            overlap: Duration::from_secs(300),
            narrow_overlap: Duration::from_secs(1),
            wide_every: Duration::from_secs(150),
            clock: Clock::real(),
            bulk: crate::bulk_sync::BulkSettings::default(),
            low_stock: crate::orders::LowStockRule::default(),
            reconciling: Arc::new(AtomicBool::new(false)),
            passes: Arc::new(Mutex::new(Passes::default())),
        }
    }

    /// How far back the next incremental pass reads, as of `now` on [`Syncer::clock`].
    fn reach(&self, now: Duration) -> Reach {
        let passes = self.passes.lock().unwrap_or_else(|p| p.into_inner());
        match &passes.wide {
            Some(wide) if now.saturating_sub(wide.at) < self.wide_every => {
                Reach::Narrow(passes.newest_before_last.clone())
            }
            Some(wide) => Reach::Wide(Some(wide.from.clone())),
            None => Reach::Wide(None),
        }
    }

    /// Records a finished incremental pass that started at `at` from the watermarks `from`.
    fn record_pass(&self, at: Duration, from: Watermarks, wide: bool) {
        let mut passes = self.passes.lock().unwrap_or_else(|p| p.into_inner());
        passes.newest_before_last = max_time(passes.newest_before_last.take(), from.newest());
        if wide {
            passes.wide = Some(WidePass { at, from });
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
        let at = self.clock.now();
        let reach = self.reach(at);
        let wide = kind == SyncKind::Incremental && matches!(reach, Reach::Wide(_));
        // The shop's details and its locations rarely change: a narrow pass goes by those in
        // the cache, and full and wide passes read them again.
        if kind == SyncKind::Full || wide {
            self.sync_shop().await?;
        }
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
        // Read before any rows are: every one of them is a time the store's clock had passed
        // when this pass started.
        let marks = self
            .cache
            .read(|r| {
                Ok(Watermarks {
                    products: r.watermark(Resource::Products)?,
                    levels: r.watermark(Resource::InventoryLevels)?,
                    orders: r.watermark(Resource::Orders)?,
                })
            })
            .await?;
        let (variants, levels, orders) = match kind {
            // One bulk operation reads every variant with its levels.
            SyncKind::Full => {
                let read = crate::bulk_sync::full_sync(self).await?;
                let orders = self.orders_pass(&reach).await?;
                // Everything was read: as good as a wide pass for the passes that follow.
                self.record_pass(at, marks, true);
                (read.variants, read.levels, orders)
            }
            SyncKind::Incremental => {
                // The three are read at once. Levels need their variants saved first, so the
                // stock is written once the catalogue is (orders need nothing else).
                let (catalogue_saved, saved) = tokio::sync::watch::channel(false);
                let catalogue = async {
                    let read = self.catalogue_pass(kind, &reach).await;
                    let _ = catalogue_saved.send(true);
                    read
                };
                // The first orders pass of a store without orders starts its watermark from
                // the catalogue's, so it waits for the catalogue.
                let mut orders_may_start = saved.clone();
                let orders_wait = marks.orders.is_none();
                let orders = async {
                    if orders_wait {
                        let _ = orders_may_start.wait_for(|saved| *saved).await;
                    }
                    self.orders_pass(&reach).await
                };
                let (variants, levels, orders) =
                    tokio::try_join!(catalogue, self.levels_pass(&reach, saved), orders)?;
                self.record_pass(at, marks, wide);
                (variants, levels, orders)
            }
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
            wide,
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

    /// The catalogue and stock brought up to date as the next incremental pass would read
    /// them, without orders and without counting as a pass (it changes nothing about how far
    /// back later passes read): for a bulk update's plan, which needs the live prices and
    /// stock of many rows. Returns the rows read.
    pub async fn refresh_stock(&self) -> Result<u64, SyncError> {
        let reach = self.reach(self.clock.now());
        let variants = self.catalogue_pass(SyncKind::Incremental, &reach).await?;
        let levels = self
            .levels_pass(&reach, tokio::sync::watch::channel(true).1)
            .await?;
        Ok(variants + levels)
    }

    /// The search for rows updated since `watermark`, as far back as `reach` says (`None`,
    /// everything, without a watermark).
    fn search_since(
        &self,
        watermark: Option<&ShopifyTime>,
        reach: &Reach,
        resource: Resource,
    ) -> Option<String> {
        let w = watermark?.instant().as_millisecond();
        let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4);
        let from = match reach {
            Reach::Narrow(newest) => {
                w.max(newest.as_ref().map_or(w, |n| n.instant().as_millisecond()))
                    - millis(self.narrow_overlap)
            }
            Reach::Wide(previous) => {
                let previous = previous.as_ref().and_then(|p| match resource {
                    Resource::Products => p.products.as_ref(),
                    Resource::InventoryLevels => p.levels.as_ref(),
                    _ => p.orders.as_ref(),
                });
                match previous {
                    Some(p) => w.min(p.instant().as_millisecond()) - millis(self.overlap),
                    None => w - millis(self.overlap) - millis(self.wide_every),
                }
            }
        };
        let from = shelfsync_store::Timestamp::from_millisecond(from)
            .ok()
            .or_else(|| watermark.map(ShopifyTime::instant))?;
        // Dates must be quoted, or Shopify splits them at the colons.
        Some(format!(
            "updated_at:>='{}'",
            from.strftime("%Y-%m-%dT%H:%M:%SZ")
        ))
    }

    /// Variants (with their products and, on a full pass, their stock). An incremental
    /// call on its own reads as far back as a wide pass without a previous one.
    pub async fn sync_catalogue(&self, kind: SyncKind) -> Result<u64, SyncError> {
        self.catalogue_pass(kind, &Reach::Wide(None)).await
    }

    /// [`Syncer::sync_catalogue`] as far back as `reach`.
    async fn catalogue_pass(&self, kind: SyncKind, reach: &Reach) -> Result<u64, SyncError> {
        let watermark = match kind {
            SyncKind::Full => None,
            SyncKind::Incremental => self.cache.read(|r| r.watermark(Resource::Products)).await?,
        };
        let query = self.search_since(watermark.as_ref(), reach, Resource::Products);
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
                    first: if query.is_some() {
                        self.page_size.min(INCREMENTAL_VARIANTS_PAGE)
                    } else {
                        self.page_size
                    },
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
            // A page with nothing to write (an incremental pass that found no change) is not
            // a transaction.
            let nothing = variants.is_empty() && watermarks.is_empty();
            if !nothing {
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
            }
            self.progress(kind, rows, total, started);
            if last {
                break;
            }
            after = page.page_info.end_cursor;
        }
        Ok(rows)
    }

    /// Stock changed since the levels watermark, location by location. On its own, as far
    /// back as a wide pass without a previous one.
    pub async fn sync_levels(&self) -> Result<u64, SyncError> {
        self.levels_pass(&Reach::Wide(None), tokio::sync::watch::channel(true).1)
            .await
    }

    /// [`Syncer::sync_levels`] as far back as `reach`. The locations are read at once, each
    /// page committed as it comes; the watermark moves after every location's pages are
    /// saved, in a transaction of its own, to the newest time any of them held.
    /// Nothing is written before `catalogue_saved` holds `true`.
    async fn levels_pass(
        &self,
        reach: &Reach,
        catalogue_saved: tokio::sync::watch::Receiver<bool>,
    ) -> Result<u64, SyncError> {
        let watermark = self
            .cache
            .read(|r| r.watermark(Resource::InventoryLevels))
            .await?;
        let query = self.search_since(watermark.as_ref(), reach, Resource::InventoryLevels);
        let locations = self.cache.read(|r| r.locations()).await?;
        let mut reads = tokio::task::JoinSet::new();
        for location in &locations {
            let (syncer, query, location) = (self.clone(), query.clone(), location.id);
            let saved = catalogue_saved.clone();
            reads.spawn(async move { syncer.location_levels(location, query, saved).await });
        }
        let mut rows = 0u64;
        let mut newest: Option<ShopifyTime> = None;
        while let Some(joined) = reads.join_next().await {
            let (read, latest) = joined.map_err(|e| {
                SyncError::Unexpected(format!("a location's stock read stopped: {e}"))
            })??;
            rows += read;
            newest = max_time(newest, latest);
        }
        if let Some(to) = newest {
            self.cache
                .write(move |db| {
                    let tx = db.write()?;
                    tx.advance_watermark(Resource::InventoryLevels, &to)?;
                    tx.commit()
                })
                .await?;
        }
        Ok(rows)
    }

    /// One location's levels matching `query`, page by page, each page committed: how many,
    /// and the newest `updatedAt` among them.
    async fn location_levels(
        &self,
        location: i64,
        query: Option<String>,
        mut catalogue_saved: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(u64, Option<ShopifyTime>), SyncError> {
        let source = self.pass_source();
        let mut rows = 0u64;
        let mut newest: Option<ShopifyTime> = None;
        let mut after = None;
        loop {
            let data = self
                .client
                .execute::<LocationLevels>(&LocationLevelsVariables {
                    location: format!("gid://shopify/Location/{location}"),
                    first: if query.is_some() {
                        INCREMENTAL_LEVELS_PAGE
                    } else {
                        250
                    },
                    after: after.clone(),
                    query: query.clone(),
                })
                .await?;
            let Some(found) = data.location else { break };
            let page = found.inventory_levels;
            let mut levels = Vec::with_capacity(page.nodes.len());
            for l in &page.nodes {
                let level = located_level_row(location, l)?;
                newest = max_time(newest, level.updated_at.clone());
                levels.push(level);
            }
            rows += levels.len() as u64;
            if !levels.is_empty() {
                // The sender goes away only when the pass is being dropped (another of its
                // reads failed), and this task with it.
                let _ = catalogue_saved.wait_for(|saved| *saved).await;
                self.cache
                    .write(move |db| {
                        let tx = db.write()?;
                        tx.upsert_levels(&levels, source)?;
                        tx.commit()
                    })
                    .await?;
            }
            if !page.page_info.has_next_page {
                break;
            }
            after = page.page_info.end_cursor;
        }
        Ok((rows, newest))
    }

    /// Orders changed since the orders watermark (on the first pass: the newest
    /// [`FIRST_ORDERS`] orders Shopify shows). An order new to the cache and placed since the
    /// previous pass is announced ([`EngineEvent::NewOrder`]). The stock the orders moved is
    /// read by the levels pass beside this one (or, if it moved after that read, by the next
    /// pass). On its own, as far back as a wide pass without a previous one.
    pub async fn sync_orders(&self) -> Result<OrdersRead, SyncError> {
        self.orders_pass(&Reach::Wide(None)).await
    }

    /// [`Syncer::sync_orders`] as far back as `reach`.
    async fn orders_pass(&self, reach: &Reach) -> Result<OrdersRead, SyncError> {
        let watermark = self.cache.read(|r| r.watermark(Resource::Orders)).await?;
        let first_pass = watermark.is_none();
        // A late order is announced as new whichever pass reads it.
        let announce_from = watermark.as_ref().map(|w| {
            w.instant().as_millisecond() - i64::try_from(self.overlap.as_millis()).unwrap_or(0)
        });
        let query = self.search_since(watermark.as_ref(), reach, Resource::Orders);
        let source = self.pass_source();
        let mut read = OrdersRead::default();
        let mut newest: Option<ShopifyTime> = None;
        let mut after = None;
        loop {
            let page = self
                .client
                .execute::<OrdersPage>(&OrdersPageVariables {
                    // The first pass reads up to `FIRST_ORDERS` in large pages.
                    first: if first_pass {
                        50
                    } else {
                        INCREMENTAL_ORDERS_PAGE
                    },
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
            let saved = if orders.is_empty() && watermark.is_none() {
                Vec::new()
            } else {
                self.cache
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
                    .await?
            };
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

#[cfg(test)]
mod tests {
    use super::*;
    use shelfsync_shopify::{ClientConfig, Credentials, Secret};

    async fn syncer(dir: &std::path::Path, clock: Clock) -> Syncer {
        let mut config = ClientConfig::new(
            "http://127.0.0.1:9",
            Credentials::AdminToken(Secret::new("shpat_test")),
        )
        .unwrap();
        config.clock = clock.clone();
        let client = ShopifyClient::new(config).unwrap();
        let cache = Cache::open(dir.join("store.db")).await.unwrap();
        let mut s = Syncer::new(client, cache, Events::new());
        s.clock = clock;
        s
    }

    fn at(text: &str) -> ShopifyTime {
        ShopifyTime::parse(text).unwrap()
    }

    fn is_wide(s: &Syncer) -> bool {
        matches!(s.reach(s.clock.now()), Reach::Wide(_))
    }

    #[tokio::test(start_paused = true)]
    async fn a_pass_is_wide_first_and_then_once_every_wide_every_on_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        // The store's clock runs ten times faster than real time, and so does the syncer's.
        let s = syncer(dir.path(), Clock::scaled(10.0)).await;
        assert!(matches!(s.reach(s.clock.now()), Reach::Wide(None)));
        s.record_pass(s.clock.now(), Watermarks::default(), true);
        // Clones share the record: the engine's jobs run clones of one syncer.
        let clone = s.clone();
        assert!(!is_wide(&clone));
        tokio::time::advance(Duration::from_millis(14_900)).await;
        assert!(!is_wide(&s), "149 s of the syncer's clock");
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(is_wide(&s), "150 s");
        assert!(is_wide(&clone));
        s.record_pass(s.clock.now(), Watermarks::default(), true);
        assert!(!is_wide(&clone));
        // A narrow pass leaves the wide pass's record alone.
        tokio::time::advance(Duration::from_secs(10)).await;
        s.record_pass(s.clock.now(), Watermarks::default(), false);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(is_wide(&s), "150 s after the wide pass");
    }

    #[tokio::test]
    async fn a_narrow_pass_goes_by_the_newest_time_the_store_has_shown() {
        let dir = tempfile::tempdir().unwrap();
        let s = syncer(dir.path(), Clock::real()).await;
        s.record_pass(s.clock.now(), Watermarks::default(), true);
        let newest = |s: &Syncer| match s.reach(s.clock.now()) {
            Reach::Narrow(newest) => newest.map(|t| t.as_str().to_owned()),
            Reach::Wide(_) => panic!("wide"),
        };
        assert_eq!(newest(&s), None);
        let marks = Watermarks {
            products: Some(at("2026-07-15T00:00:00Z")),
            levels: Some(at("2026-07-15T00:10:00Z")),
            orders: Some(at("2026-07-15T00:09:00Z")),
        };
        s.record_pass(s.clock.now(), marks, false);
        assert_eq!(newest(&s).as_deref(), Some("2026-07-15T00:10:00Z"));
        // It never goes back.
        s.record_pass(s.clock.now(), Watermarks::default(), false);
        assert_eq!(newest(&s).as_deref(), Some("2026-07-15T00:10:00Z"));
    }

    #[tokio::test]
    async fn how_far_back_a_pass_reads() {
        let dir = tempfile::tempdir().unwrap();
        let s = syncer(dir.path(), Clock::real()).await;
        let w = at("2026-07-15T00:10:00Z");
        let search = |reach: &Reach, resource| s.search_since(Some(&w), reach, resource);
        let from = |t: &str| Some(format!("updated_at:>='{t}'"));
        // Narrow: writes in the same second as the watermark and the one before.
        assert_eq!(
            search(&Reach::Narrow(None), Resource::InventoryLevels),
            from("2026-07-15T00:09:59Z")
        );
        // ... or as the newest time the store had shown before the last pass, if later: a
        // write older than that came in more than the narrow overlap late.
        assert_eq!(
            search(
                &Reach::Narrow(Some(at("2026-07-15T01:00:00Z"))),
                Resource::Products
            ),
            from("2026-07-15T00:59:59Z")
        );
        assert_eq!(
            search(
                &Reach::Narrow(Some(at("2026-07-15T00:05:00Z"))),
                Resource::Products
            ),
            from("2026-07-15T00:09:59Z")
        );
        // Wide: 300 s behind where the previous wide pass started, per resource.
        let previous = Reach::Wide(Some(Watermarks {
            products: Some(at("2026-07-15T00:07:00Z")),
            levels: Some(at("2026-07-15T00:05:00Z")),
            orders: Some(at("2026-07-15T00:11:00Z")),
        }));
        assert_eq!(
            search(&previous, Resource::InventoryLevels),
            from("2026-07-15T00:00:00Z")
        );
        assert_eq!(
            search(&previous, Resource::Products),
            from("2026-07-15T00:02:00Z")
        );
        // Never later than 300 s behind the current watermark.
        assert_eq!(
            search(&previous, Resource::Orders),
            from("2026-07-15T00:05:00Z")
        );
        // Without a previous wide pass: 300 + 150 s behind the current watermark.
        assert_eq!(
            search(&Reach::Wide(None), Resource::Orders),
            from("2026-07-15T00:02:30Z")
        );
        assert_eq!(
            search(&Reach::Wide(Some(Watermarks::default())), Resource::Orders),
            from("2026-07-15T00:02:30Z")
        );
        // Without a watermark: everything.
        assert_eq!(
            s.search_since(None, &Reach::Narrow(None), Resource::Orders),
            None
        );
    }
}
