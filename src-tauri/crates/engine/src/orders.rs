//! Orders and what they do to stock, and the owner's low-stock line.
//!
//! An order reaches the cache from its webhooks (`orders/create`, `orders/updated`,
//! `orders/cancelled`, `orders/fulfilled`, `orders/paid`) or from the incremental sync's
//! orders pass, whichever comes first; the store keeps the newest version
//! ([`shelfsync_store::OrderWrite`]). Each line keeps the units still to ship, which is the
//! stock the order holds as `committed`.
//!
//! Stock. An order moves units between quantities (`available` → `committed` when placed,
//! `committed` → shipped when fulfilled, back to `available` when cancelled), and Shopify's
//! `inventory_levels/update` webhook carries only `available`. Rather than computing the
//! other quantities from the order (and counting a sale twice when the level's own webhook
//! or a poll has already shown it), an order webhook that changes an order queues a
//! [`JOB_STOCK_REFRESH`] job that reads the lines' levels from Shopify at once, every
//! quantity, and saves them through the same newest-wins upsert as everything else. It is a
//! queue job, so a failure is retried and, if it persists, waits in the failed list. A poll
//! queues none: its pass read the levels that changed just before the orders.
//!
//! Low stock. Whenever a write lowers a variant's `available` (summed over locations, as the
//! inventory list shows it) from above its threshold to at or below it, a
//! [`EngineEvent::LowStock`] is published once; it is published again only after the stock
//! went back above the line. The threshold is the SKU's own (kept in the cache) or the
//! owner's global one ([`LowStockRule`]).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::json;
use shelfsync_shopify::operations::{ItemLevels, ItemLevelsVariables, OrderNode};
use shelfsync_store::{
    Level, LineItem, Money, NewJob, Order, OrderWrite, ShopifyTime, Source, StoredWebhook, WriteTx,
};

use crate::engine::JOB_SYNC_INCREMENTAL;
use crate::events::{EngineEvent, LowStockNotice, OrderNotice};
use crate::intake::Applied;
use crate::jobs::{JobContext, JobError, JobFuture, JobHandler};
use crate::sync::{SyncError, Syncer, gid, money, time};

/// The job kind that reads the current stock of some inventory items after an order;
/// payload `{"items": [inventory item ids]}`.
pub const JOB_STOCK_REFRESH: &str = "stock.refresh";

/// The global low-stock threshold the engine compares with (per-SKU thresholds, kept in the
/// cache, override it). Cloning shares it, so the app can change it while the engine runs.
#[derive(Debug, Clone)]
pub struct LowStockRule {
    global: Arc<AtomicU32>,
}

impl Default for LowStockRule {
    fn default() -> Self {
        Self::new(5)
    }
}

impl LowStockRule {
    pub fn new(global: u32) -> Self {
        Self {
            global: Arc::new(AtomicU32::new(global)),
        }
    }

    pub fn set_global(&self, threshold: u32) {
        self.global.store(threshold, Ordering::Relaxed);
    }

    pub fn global(&self) -> u32 {
        self.global.load(Ordering::Relaxed)
    }

    /// Whether the write just made in `tx` took `item` from above its threshold (its total
    /// `available` was `before`) to at or below it.
    pub(crate) fn crossed(
        &self,
        tx: &WriteTx<'_>,
        item: i64,
        before: Option<i64>,
    ) -> shelfsync_store::Result<Option<LowStockNotice>> {
        let Some(after) = tx.total_available(item)? else {
            return Ok(None);
        };
        let Some((variant_id, sku, title)) = tx.item_label(item)? else {
            return Ok(None);
        };
        let own = match &sku {
            Some(sku) => tx.low_stock_threshold(sku)?,
            None => None,
        };
        let threshold = i64::from(own.unwrap_or_else(|| self.global()));
        // A first sighting is not a fall: only a known total above the line counts.
        let fell = before.is_some_and(|b| b > threshold) && after <= threshold;
        Ok(fell.then_some(LowStockNotice {
            variant_id,
            sku,
            title,
            available: after,
            threshold,
        }))
    }
}

/// An order as Shopify's webhooks send it (REST shape).
#[derive(Deserialize)]
struct OrderPayload {
    id: i64,
    name: String,
    created_at: String,
    updated_at: String,
    cancelled_at: Option<String>,
    closed_at: Option<String>,
    financial_status: Option<String>,
    fulfillment_status: Option<String>,
    currency: String,
    total_price: String,
    #[serde(default)]
    line_items: Vec<LinePayload>,
}

#[derive(Deserialize)]
struct LinePayload {
    id: i64,
    variant_id: Option<i64>,
    sku: Option<String>,
    title: String,
    variant_title: Option<String>,
    quantity: i64,
    current_quantity: Option<i64>,
    fulfillable_quantity: Option<i64>,
    price: String,
}

fn unreadable(topic: &str, detail: impl std::fmt::Display) -> JobError {
    JobError::permanent(format!(
        "A {topic} event from Shopify could not be read ({detail}). Discard it; the next sync \
         reads the same order."
    ))
}

/// The REST `fulfillment_status` in GraphQL's words, as polls store it.
fn fulfillment_status(rest: Option<&str>) -> String {
    match rest {
        Some("fulfilled") => "FULFILLED",
        Some("partial") => "PARTIALLY_FULFILLED",
        Some("restocked") => "RESTOCKED",
        _ => "UNFULFILLED",
    }
    .to_owned()
}

/// Reads an order webhook's body. Line items name variants only; their inventory items
/// are filled in from the cache.
fn order_from_payload(hook: &StoredWebhook) -> Result<Order, JobError> {
    let topic = hook.event.topic.as_str();
    let p: OrderPayload =
        serde_json::from_slice(&hook.event.body).map_err(|e| unreadable(topic, e))?;
    let t = |text: &str| ShopifyTime::parse(text).map_err(|e| unreadable(topic, e));
    let m = |text: &str| Money::new(text).map_err(|e| unreadable(topic, e));
    let line_items = p
        .line_items
        .into_iter()
        .map(|l| {
            Ok(LineItem {
                id: l.id,
                variant_id: l.variant_id,
                sku: l.sku.filter(|s| !s.is_empty()),
                title: l.title,
                variant_title: l.variant_title,
                inventory_item_id: None,
                quantity: l.quantity,
                current_quantity: l.current_quantity.unwrap_or(l.quantity),
                unfulfilled_quantity: l.fulfillable_quantity.unwrap_or(l.quantity),
                price: m(&l.price)?,
            })
        })
        .collect::<Result<Vec<_>, JobError>>()?;
    Ok(Order {
        id: p.id,
        name: p.name,
        created_at: t(&p.created_at)?,
        updated_at: t(&p.updated_at)?,
        cancelled_at: p.cancelled_at.as_deref().map(t).transpose()?,
        closed_at: p.closed_at.as_deref().map(t).transpose()?,
        financial_status: p.financial_status.map(|s| s.to_ascii_uppercase()),
        fulfillment_status: Some(fulfillment_status(p.fulfillment_status.as_deref())),
        currency_code: p.currency,
        total_price: m(&p.total_price)?,
        line_items,
    })
}

/// An order as the Admin GraphQL API returns it.
pub(crate) fn order_from_node(node: &OrderNode) -> Result<Order, SyncError> {
    let line_items = node
        .line_items
        .nodes
        .iter()
        .map(|l| {
            Ok(LineItem {
                id: gid(&l.id, "LineItem")?,
                variant_id: l
                    .variant
                    .as_ref()
                    .map(|v| gid(&v.id, "ProductVariant"))
                    .transpose()?,
                sku: l.sku.clone().filter(|s| !s.is_empty()),
                title: l.title.clone(),
                variant_title: l.variant_title.clone(),
                inventory_item_id: l
                    .variant
                    .as_ref()
                    .map(|v| gid(&v.inventory_item.id, "InventoryItem"))
                    .transpose()?,
                quantity: l.quantity,
                current_quantity: l.current_quantity,
                unfulfilled_quantity: l.unfulfilled_quantity,
                price: money(&l.original_unit_price_set.shop_money.amount)?,
            })
        })
        .collect::<Result<Vec<_>, SyncError>>()?;
    let total = &node.total_price_set.shop_money;
    Ok(Order {
        id: gid(&node.id, "Order")?,
        name: node.name.clone(),
        created_at: time(&node.created_at)?,
        updated_at: time(&node.updated_at)?,
        cancelled_at: node.cancelled_at.as_deref().map(time).transpose()?,
        closed_at: node.closed_at.as_deref().map(time).transpose()?,
        financial_status: node.display_financial_status.clone(),
        fulfillment_status: node.display_fulfillment_status.clone(),
        currency_code: total.currency_code.clone().unwrap_or_default(),
        total_price: money(&total.amount)?,
        line_items,
    })
}

/// What the owner hears about `order`.
pub(crate) fn notice(order: &Order) -> OrderNotice {
    OrderNotice {
        id: order.id,
        name: order.name.clone(),
        total_price: order.total_price.as_str().to_owned(),
        currency_code: order.currency_code.clone(),
        units: order.line_items.iter().map(|l| l.quantity).sum(),
        first_line: order.line_items.first().map(|l| match &l.variant_title {
            Some(v) if !v.is_empty() && v != "Default Title" => format!("{} - {v}", l.title),
            _ => l.title.clone(),
        }),
    }
}

/// Queues a read of these items' stock (in `tx`).
pub(crate) fn queue_stock_refresh(
    tx: &WriteTx<'_>,
    items: &BTreeSet<i64>,
) -> shelfsync_store::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    tx.enqueue(&NewJob {
        kind: JOB_STOCK_REFRESH.to_owned(),
        payload: json!({ "items": items }),
        dedupe_key: None,
        run_at: None,
    })?;
    Ok(())
}

/// Saves `order` in `tx` (lines' inventory items filled in from the cache), queues a read of
/// the stock its change moved when `read_stock` (a webhook: a poll has just read the levels
/// in the same pass, and reading them again per order would spend the rate limit twice), and
/// says what happened. An order naming variants the cache does not know yet also queues an
/// incremental sync.
pub(crate) fn save_order(
    tx: &WriteTx<'_>,
    mut order: Order,
    source: Source,
    read_stock: bool,
) -> shelfsync_store::Result<(OrderWrite, Order)> {
    let mut unknown = false;
    for line in &mut order.line_items {
        if line.inventory_item_id.is_none()
            && let Some(variant) = line.variant_id
        {
            line.inventory_item_id = tx.item_of_variant(variant)?;
            unknown |= line.inventory_item_id.is_none();
        }
    }
    let write = tx.upsert_order(&order, source)?;
    if write != OrderWrite::Unchanged {
        if read_stock {
            let items = order
                .line_items
                .iter()
                .filter_map(|l| l.inventory_item_id)
                .collect();
            queue_stock_refresh(tx, &items)?;
        }
        if unknown {
            tx.enqueue(&NewJob {
                kind: JOB_SYNC_INCREMENTAL.to_owned(),
                payload: json!({}),
                dedupe_key: Some(JOB_SYNC_INCREMENTAL.to_owned()),
                run_at: None,
            })?;
        }
    }
    Ok((write, order))
}

/// Applies an `orders/*` webhook from the inbox.
pub(crate) async fn apply_order_event(
    syncer: &Syncer,
    hook: StoredWebhook,
) -> Result<Applied, JobError> {
    let order = order_from_payload(&hook)?;
    let inbox_id = hook.id;
    let outcome = syncer
        .cache
        .write(move |db| {
            let tx = db.write()?;
            if !tx.mark_webhook_processed(inbox_id)? {
                return Ok(None);
            }
            let saved = save_order(&tx, order, Source::Webhook, true)?;
            tx.commit()?;
            Ok(Some(saved))
        })
        .await?;
    Ok(match outcome {
        None => Applied::AlreadyProcessed,
        Some((OrderWrite::Unchanged, _)) => Applied::Unchanged,
        Some((write, order)) => {
            if write == OrderWrite::New {
                syncer.events.publish(EngineEvent::NewOrder {
                    order: notice(&order),
                });
            }
            Applied::Updated
        }
    })
}

#[derive(Deserialize, Serialize)]
struct RefreshPayload {
    items: Vec<i64>,
}

/// Reads every level of `items` from Shopify and saves them with `source`; publishes the
/// low-stock crossings. Returns how many levels changed.
/// Items per `ItemLevels` call: each id is priced at 24 points (its `inventoryLevels(first:
/// 50)` with their locations and quantities), so 40 ask for 960, inside Shopify's limit of
/// 1000 for one query; 50 were refused with `MAX_COST_EXCEEDED`.
const ITEMS_PER_READ: usize = 40;

pub(crate) async fn refresh_items(
    syncer: &Syncer,
    items: &[i64],
    source: Source,
) -> Result<usize, SyncError> {
    let mut changed = 0;
    for chunk in items.chunks(ITEMS_PER_READ) {
        let ids = chunk
            .iter()
            .map(|i| format!("gid://shopify/InventoryItem/{i}"))
            .collect();
        let data = syncer
            .client
            .execute::<ItemLevels>(&ItemLevelsVariables { ids })
            .await?;
        let mut read: Vec<(i64, Vec<Level>)> = Vec::new();
        for node in data.nodes.into_iter().flatten() {
            let (Some(id), Some(levels)) = (node.id, node.inventory_levels) else {
                continue;
            };
            let item = gid(&id, "InventoryItem")?;
            let levels = levels
                .nodes
                .iter()
                .map(|l| crate::sync::level_row(item, l))
                .collect::<Result<Vec<_>, _>>()?;
            read.push((item, levels));
        }
        let rule = syncer.low_stock.clone();
        let (n, notices) = syncer
            .cache
            .write(move |db| {
                let tx = db.write()?;
                let mut n = 0;
                let mut notices = Vec::new();
                for (item, levels) in &read {
                    let before = tx.total_available(*item)?;
                    n += tx.upsert_levels(levels, source)?;
                    notices.extend(rule.crossed(&tx, *item, before)?);
                }
                tx.commit()?;
                Ok((n, notices))
            })
            .await?;
        changed += n;
        for stock in notices {
            syncer.events.publish(EngineEvent::LowStock { stock });
        }
    }
    Ok(changed)
}

/// Runs [`JOB_STOCK_REFRESH`] jobs.
#[derive(Clone)]
pub struct StockRefresh {
    syncer: Syncer,
}

impl StockRefresh {
    pub fn new(syncer: Syncer) -> Self {
        Self { syncer }
    }
}

impl std::fmt::Debug for StockRefresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StockRefresh").finish_non_exhaustive()
    }
}

impl JobHandler for StockRefresh {
    fn run(&self, cx: JobContext) -> JobFuture {
        let syncer = self.syncer.clone();
        Box::pin(async move {
            let payload: RefreshPayload = cx.payload()?;
            match refresh_items(&syncer, &payload.items, Source::Webhook).await {
                Ok(_) => Ok(()),
                Err(SyncError::Shopify(err)) => Err(err.into()),
                Err(SyncError::Cache(err)) => Err(err.into()),
                Err(err) => Err(JobError::retryable(err.to_string())),
            }
        })
    }

    fn describe(&self, _job: &shelfsync_store::Job) -> String {
        "Reading the stock an order changed".into()
    }
}
