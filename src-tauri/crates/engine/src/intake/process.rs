//! Applying inbox events to the cache, as queue jobs.
//!
//! Each new inbox event has a `webhook.process` job (enqueued in the transaction that stored
//! the event), so a failure is retried with backoff and, if it persists, waits in the same
//! failed list as every other job, for a person to retry or discard. Applying an event and
//! marking it processed happen in one transaction; an event already marked is skipped, so a
//! job that runs twice (after a crash) changes nothing the second time.
//!
//! Order. Shopify promises none, so the event's own `updated_at` decides: an event older than
//! what the cache holds (from a newer webhook or a poll) changes nothing. Shopify's
//! timestamps have whole seconds, so two changes within one second carry the same time; when
//! such a tie would change the cached value, the level (or the product's variants) is read
//! back from Shopify instead of guessing which came last.
//!
//! Topics:
//! - `inventory_levels/update` carries only `available`: that quantity is updated (provenance
//!   `webhook`), the others keep their cached values until a poll or a read-back.
//! - `inventory_items/update`: the SKU of the item's variant.
//! - `products/update`: the product's fields and its variants' titles, SKUs and prices.
//! - `orders/create`, `orders/updated`, `orders/paid`, `orders/cancelled`,
//!   `orders/fulfilled`, …: the order and its lines ([`crate::orders`]), then a read of the
//!   stock it moved; a new order is announced.
//! - `app/uninstalled`: syncing stops and the owner is asked to connect again.
//! - `bulk_operations/finish`: the full sync waiting for its export checks at once.
//! - anything else is kept in the inbox, marked processed, and otherwise ignored.
//!
//! An event about an item, location or product the cache has not seen yet (a new product, or
//! a webhook that overtook the first sync) is not an error: an incremental sync is queued to
//! read it, and the event is marked processed.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use shelfsync_shopify::operations::{
    InventoryLevelRead, InventoryLevelReadVariables, VariantsPage, VariantsPageVariables,
};
use shelfsync_store::{
    Level, Money, NewJob, Product, Quantities, ShopifyTime, Source, StoredWebhook, Variant, WriteTx,
};

use crate::engine::JOB_SYNC_INCREMENTAL;
use crate::events::{Attention, EngineEvent};
use crate::jobs::{JobContext, JobError, JobFuture, JobHandler};
use crate::sync::Syncer;

/// The job kind that applies one inbox event; its payload is `{"inbox_id": n}`.
pub const JOB_WEBHOOK: &str = "webhook.process";

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The cache changed.
    Updated,
    /// The cache already held this, or something newer: nothing changed.
    Unchanged,
    /// A same-second tie was settled by reading the level from Shopify.
    ReadBack,
    /// The event names something not cached yet; an incremental sync was queued.
    NotCachedYet,
    /// A topic Shelfsync does not apply (kept in the inbox, marked processed).
    Ignored,
    /// The event was already processed (a job that ran again).
    AlreadyProcessed,
    /// Syncing stopped: the app was uninstalled.
    Uninstalled,
    /// A waiting full sync was woken.
    WokeFullSync,
}

/// Called when the app is uninstalled from the store.
pub type OnUninstalled = Arc<dyn Fn() + Send + Sync>;

/// Applies inbox events; register it as the handler of [`JOB_WEBHOOK`].
#[derive(Clone)]
pub struct Processor {
    syncer: Syncer,
    on_uninstalled: OnUninstalled,
}

impl std::fmt::Debug for Processor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processor").finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct JobPayload {
    inbox_id: i64,
}

#[derive(Deserialize)]
struct LevelPayload {
    inventory_item_id: i64,
    location_id: i64,
    available: Option<i64>,
    updated_at: String,
    admin_graphql_api_id: Option<String>,
}

#[derive(Deserialize)]
struct ItemPayload {
    id: i64,
    sku: Option<String>,
    updated_at: String,
}

#[derive(Deserialize)]
struct ProductPayload {
    id: i64,
    title: String,
    handle: String,
    status: String,
    vendor: Option<String>,
    product_type: Option<String>,
    updated_at: String,
    #[serde(default)]
    variants: Vec<VariantPayload>,
}

#[derive(Deserialize)]
struct VariantPayload {
    id: i64,
    title: String,
    sku: Option<String>,
    price: String,
    compare_at_price: Option<String>,
    inventory_item_id: i64,
    updated_at: String,
}

fn unreadable(topic: &str, detail: impl std::fmt::Display) -> JobError {
    JobError::permanent(format!(
        "A {topic} event from Shopify could not be read ({detail}). Discard it; the next sync \
         reads the same change."
    ))
}

fn parse<T: serde::de::DeserializeOwned>(hook: &StoredWebhook) -> Result<T, JobError> {
    serde_json::from_slice(&hook.event.body).map_err(|e| unreadable(&hook.event.topic, e))
}

fn time(topic: &str, text: &str) -> Result<ShopifyTime, JobError> {
    ShopifyTime::parse(text).map_err(|e| unreadable(topic, e))
}

fn money(topic: &str, text: &str) -> Result<Money, JobError> {
    Money::new(text).map_err(|e| unreadable(topic, e))
}

/// Queues an incremental sync (at most one pending) in this transaction.
fn queue_incremental_sync(tx: &WriteTx<'_>) -> shelfsync_store::Result<()> {
    tx.enqueue(&NewJob {
        kind: JOB_SYNC_INCREMENTAL.to_owned(),
        payload: json!({}),
        dedupe_key: Some(JOB_SYNC_INCREMENTAL.to_owned()),
        run_at: None,
    })?;
    Ok(())
}

/// Where an `inventory_levels/update` stands after looking at the cache.
enum LevelStep {
    Done(Applied),
    /// Applied, and the variant fell to its low-stock line.
    Low(crate::events::LowStockNotice),
    /// Same second, different value: read the level from Shopify.
    ReadBack(String),
}

impl Processor {
    pub fn new(syncer: Syncer, on_uninstalled: OnUninstalled) -> Self {
        Self {
            syncer,
            on_uninstalled,
        }
    }

    /// Applies inbox event `inbox_id` (see the module documentation).
    pub async fn process(&self, inbox_id: i64) -> Result<Applied, JobError> {
        let cache = &self.syncer.cache;
        let Some(hook) = cache.read(move |r| r.webhook(inbox_id)).await? else {
            // Pruned after it was processed.
            return Ok(Applied::AlreadyProcessed);
        };
        if hook.processed_at.is_some() {
            return Ok(Applied::AlreadyProcessed);
        }
        match hook.event.topic.as_str() {
            "inventory_levels/update" => self.level(hook).await,
            "inventory_items/update" => self.item(hook).await,
            "orders/create"
            | "orders/updated"
            | "orders/paid"
            | "orders/cancelled"
            | "orders/fulfilled"
            | "orders/partially_fulfilled"
            | "orders/edited" => crate::orders::apply_order_event(&self.syncer, hook).await,
            "products/update" => self.product(hook).await,
            "app/uninstalled" => {
                let applied = self.mark(inbox_id, Applied::Uninstalled).await?;
                if applied == Applied::Uninstalled {
                    (self.on_uninstalled)();
                    self.syncer.events.publish(EngineEvent::Attention {
                        attention: Attention::Reconnect {
                            reason: "The Shelfsync app was uninstalled from the store, so \
                                     syncing has stopped. Install it again and connect the \
                                     store to resume."
                                .into(),
                        },
                    });
                }
                Ok(applied)
            }
            "bulk_operations/finish" => {
                let applied = self.mark(inbox_id, Applied::WokeFullSync).await?;
                self.syncer.bulk.wake.notify_one();
                Ok(applied)
            }
            _ => self.mark(inbox_id, Applied::Ignored).await,
        }
    }

    /// Marks the event processed with nothing else to write.
    async fn mark(&self, inbox_id: i64, applied: Applied) -> Result<Applied, JobError> {
        Ok(self
            .syncer
            .cache
            .write(move |db| {
                let tx = db.write()?;
                let first = tx.mark_webhook_processed(inbox_id)?;
                tx.commit()?;
                Ok(if first {
                    applied
                } else {
                    Applied::AlreadyProcessed
                })
            })
            .await?)
    }

    async fn level(&self, hook: StoredWebhook) -> Result<Applied, JobError> {
        let topic = hook.event.topic.clone();
        let p: LevelPayload = parse(&hook)?;
        let updated_at = time(&topic, &p.updated_at)?;
        let inbox_id = hook.id;
        let gid = p.admin_graphql_api_id.clone().unwrap_or_else(|| {
            format!(
                "gid://shopify/InventoryLevel/{}?inventory_item_id={}",
                p.location_id, p.inventory_item_id
            )
        });
        let (item, location, available) = (p.inventory_item_id, p.location_id, p.available);
        let rule = self.syncer.low_stock.clone();
        let step = self
            .syncer
            .cache
            .write(move |db| {
                let tx = db.write()?;
                if !tx.mark_webhook_processed(inbox_id)? {
                    return Ok(LevelStep::Done(Applied::AlreadyProcessed));
                }
                if tx.variant_for_item(item)?.is_none() || !tx.has_location(location)? {
                    queue_incremental_sync(&tx)?;
                    tx.commit()?;
                    return Ok(LevelStep::Done(Applied::NotCachedYet));
                }
                let cached = tx.cached_level(item, location)?;
                if let Some(cached) = &cached {
                    let cached_at = cached.updated_at.as_ref().map(ShopifyTime::instant);
                    let event_at = updated_at.instant();
                    match cached_at {
                        Some(at) if at > event_at => {
                            tx.commit()?;
                            return Ok(LevelStep::Done(Applied::Unchanged));
                        }
                        Some(at) if at == event_at && cached.quantities.available != available => {
                            return Ok(LevelStep::ReadBack(gid));
                        }
                        _ => {}
                    }
                }
                let before = tx.total_available(item)?;
                let changed = tx.upsert_levels(
                    &[Level {
                        inventory_item_id: item,
                        location_id: location,
                        quantities: Quantities {
                            available,
                            ..Quantities::default()
                        },
                        updated_at: Some(updated_at),
                    }],
                    Source::Webhook,
                )?;
                let low = rule.crossed(&tx, item, before)?;
                tx.commit()?;
                Ok(match (changed > 0, low) {
                    (true, Some(low)) => LevelStep::Low(low),
                    (true, None) => LevelStep::Done(Applied::Updated),
                    (false, _) => LevelStep::Done(Applied::Unchanged),
                })
            })
            .await?;
        match step {
            LevelStep::Done(applied) => Ok(applied),
            LevelStep::Low(stock) => {
                self.syncer.events.publish(EngineEvent::LowStock { stock });
                Ok(Applied::Updated)
            }
            LevelStep::ReadBack(gid) => self.read_back(inbox_id, item, location, gid).await,
        }
    }

    /// Reads one level from Shopify (every quantity) and saves it with the event's mark.
    async fn read_back(
        &self,
        inbox_id: i64,
        item: i64,
        location: i64,
        gid: String,
    ) -> Result<Applied, JobError> {
        let data = self
            .syncer
            .client
            .execute::<InventoryLevelRead>(&InventoryLevelReadVariables { id: gid })
            .await?;
        let level = match data.inventory_level {
            Some(node) => Some(Level {
                inventory_item_id: item,
                location_id: location,
                quantities: crate::sync::quantities(&node.quantities),
                updated_at: node
                    .updated_at
                    .as_deref()
                    .map(|t| time("inventory_levels/update", t))
                    .transpose()?,
            }),
            None => None,
        };
        let rule = self.syncer.low_stock.clone();
        let (applied, low) = self
            .syncer
            .cache
            .write(move |db| {
                let tx = db.write()?;
                if !tx.mark_webhook_processed(inbox_id)? {
                    return Ok((Applied::AlreadyProcessed, None));
                }
                let mut low = None;
                match &level {
                    Some(level) => {
                        let before = tx.total_available(item)?;
                        tx.upsert_levels(std::slice::from_ref(level), Source::Webhook)?;
                        low = rule.crossed(&tx, item, before)?;
                    }
                    // The level is gone (item no longer stocked there): let a sync sort it out.
                    None => queue_incremental_sync(&tx)?,
                }
                tx.commit()?;
                Ok((Applied::ReadBack, low))
            })
            .await?;
        if let Some(stock) = low {
            self.syncer.events.publish(EngineEvent::LowStock { stock });
        }
        Ok(applied)
    }

    async fn item(&self, hook: StoredWebhook) -> Result<Applied, JobError> {
        let topic = hook.event.topic.clone();
        let p: ItemPayload = parse(&hook)?;
        let updated_at = time(&topic, &p.updated_at)?;
        let inbox_id = hook.id;
        let sku = p.sku.filter(|s| !s.is_empty());
        Ok(self
            .syncer
            .cache
            .write(move |db| {
                let tx = db.write()?;
                if !tx.mark_webhook_processed(inbox_id)? {
                    return Ok(Applied::AlreadyProcessed);
                }
                let Some(variant) = tx.variant_for_item(p.id)? else {
                    queue_incremental_sync(&tx)?;
                    tx.commit()?;
                    return Ok(Applied::NotCachedYet);
                };
                if variant.updated_at.instant() > updated_at.instant() || variant.sku == sku {
                    tx.commit()?;
                    return Ok(Applied::Unchanged);
                }
                let changed = tx.upsert_variants(
                    &[Variant {
                        sku,
                        updated_at,
                        ..variant
                    }],
                    Source::Webhook,
                )?;
                tx.commit()?;
                Ok(if changed > 0 {
                    Applied::Updated
                } else {
                    Applied::Unchanged
                })
            })
            .await?)
    }

    async fn product(&self, hook: StoredWebhook) -> Result<Applied, JobError> {
        let topic = hook.event.topic.clone();
        let p: ProductPayload = parse(&hook)?;
        let product = Product {
            id: p.id,
            title: p.title,
            handle: p.handle,
            // REST sends `active`; the cache keeps GraphQL's `ACTIVE`.
            status: p.status.to_ascii_uppercase(),
            vendor: p.vendor.filter(|v| !v.is_empty()),
            product_type: p.product_type.filter(|v| !v.is_empty()),
            updated_at: time(&topic, &p.updated_at)?,
        };
        let variants = p
            .variants
            .into_iter()
            .map(|v| {
                Ok(Variant {
                    id: v.id,
                    product_id: p.id,
                    title: v.title,
                    sku: v.sku.filter(|s| !s.is_empty()),
                    price: money(&topic, &v.price)?,
                    compare_at_price: v
                        .compare_at_price
                        .as_deref()
                        .map(|m| money(&topic, m))
                        .transpose()?,
                    inventory_item_id: v.inventory_item_id,
                    updated_at: time(&topic, &v.updated_at)?,
                })
            })
            .collect::<Result<Vec<_>, JobError>>()?;
        let inbox_id = hook.id;
        let product_id = product.id;
        let step = self
            .syncer
            .cache
            .write(move |db| {
                let tx = db.write()?;
                if !tx.mark_webhook_processed(inbox_id)? {
                    return Ok(Some(Applied::AlreadyProcessed));
                }
                if let Some(cached) = tx.cached_product(product.id)?
                    && cached.updated_at.instant() == product.updated_at.instant()
                    && cached
                        != (Product {
                            updated_at: cached.updated_at.clone(),
                            ..product.clone()
                        })
                {
                    return Ok(None);
                }
                for v in &variants {
                    if let Some(cached) = tx.cached_variant(v.id)?
                        && cached.updated_at.instant() == v.updated_at.instant()
                        && !same_variant_fields(&cached, v)
                    {
                        // Same second, different values: which edit came last is unknown.
                        return Ok(None);
                    }
                }
                let new_product = !tx.has_product(product.id)?;
                let mut changed = tx.upsert_products(&[product], Source::Webhook)?;
                changed += tx.upsert_variants(&variants, Source::Webhook)?;
                if new_product {
                    // Its stock comes with the next incremental sync.
                    queue_incremental_sync(&tx)?;
                }
                tx.commit()?;
                Ok(Some(if changed > 0 {
                    Applied::Updated
                } else {
                    Applied::Unchanged
                }))
            })
            .await?;
        match step {
            Some(applied) => Ok(applied),
            None => self.read_back_product(inbox_id, product_id).await,
        }
    }

    /// Reads a product's variants from Shopify and saves them with the event's mark: the
    /// way out of a same-second tie between two `products/update` events.
    async fn read_back_product(&self, inbox_id: i64, product: i64) -> Result<Applied, JobError> {
        let mut products = Vec::new();
        let mut variants = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .syncer
                .client
                .execute::<VariantsPage>(&VariantsPageVariables {
                    first: 100,
                    after: after.clone(),
                    query: Some(format!("product_id:{product}")),
                })
                .await?
                .product_variants;
            for node in &page.nodes {
                let (p, v) = crate::sync::catalogue_rows(node)
                    .map_err(|e| JobError::permanent(e.to_string()))?;
                if !products.iter().any(|known: &Product| known.id == p.id) {
                    products.push(p);
                }
                variants.push(v);
            }
            if !page.page_info.has_next_page {
                break;
            }
            after = page.page_info.end_cursor;
        }
        Ok(self
            .syncer
            .cache
            .write(move |db| {
                let tx = db.write()?;
                if !tx.mark_webhook_processed(inbox_id)? {
                    return Ok(Applied::AlreadyProcessed);
                }
                tx.upsert_products(&products, Source::Webhook)?;
                tx.upsert_variants(&variants, Source::Webhook)?;
                tx.commit()?;
                Ok(Applied::ReadBack)
            })
            .await?)
    }
}

/// Whether two versions of a variant hold the same values (its time aside).
fn same_variant_fields(a: &Variant, b: &Variant) -> bool {
    a.title == b.title
        && a.sku == b.sku
        && a.price == b.price
        && a.compare_at_price == b.compare_at_price
        && a.product_id == b.product_id
}

impl JobHandler for Processor {
    fn run(&self, cx: JobContext) -> JobFuture {
        let this = self.clone();
        Box::pin(async move {
            let payload: JobPayload = cx.payload()?;
            let applied = this.process(payload.inbox_id).await?;
            tracing::debug!(inbox_id = payload.inbox_id, ?applied, "webhook applied");
            Ok(())
        })
    }

    fn describe(&self, _job: &shelfsync_store::Job) -> String {
        "Applying a store change from Shopify".into()
    }
}
