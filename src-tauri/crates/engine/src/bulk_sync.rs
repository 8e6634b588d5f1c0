//! Full sync through a bulk operation.
//!
//! A new store can have tens of thousands of variants; paging through them with ordinary
//! queries spends the API budget for minutes. A bulk operation asks Shopify to export the
//! whole catalogue as one JSONL file instead: start it, wait for it (polling with backoff, or
//! woken early by the `bulk_operations/finish` webhook through [`BulkSettings::wake`]), then
//! stream the file line by line into the cache.
//!
//! The file is never held in memory: lines are parsed as they arrive and written in large
//! transactions ([`BulkSettings::batch_rows`] rows each), the next batch being parsed while
//! the previous one commits. Children are joined to parents by `__parentId`, not by line
//! order (with `groupObjects: false` Shopify promises no order): a level whose variant has not
//! arrived yet waits in a small map keyed by that variant, and only those are buffered.
//!
//! Watermarks advance only in the last transaction, so a sync killed half-way leaves them
//! where they were and the next pass re-reads everything it may have missed. A download link
//! that stops working (Shopify's links expire after 7 days; a long, interrupted download can
//! outlive it) is handled by starting a new operation; a connection that drops mid-file is
//! retried on the same link first. Upserts are idempotent, so re-reading rows is harmless.
//!
//! A sync killed while Shopify was still exporting leaves that export running. The next full
//! sync lists the app's recent bulk query operations first: a running export of this same
//! query is taken over (waited for and ingested), any other running query operation is
//! canceled, so no second export is started and none is left behind.
//!
//! Writing: into a cache that has no catalogue yet (the first full sync) the batches are plain
//! inserts, since there is nothing to compare with and a first sighting is not a change; over
//! a filled cache they are the store's upserts, whose changes reach the audit log with their
//! source. Both run in [`shelfsync_store::Database::write_bulk`] transactions.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shelfsync_shopify::ShopifyError;
use shelfsync_shopify::operations::{
    BulkOperationCancel, BulkOperationCancelVariables, BulkOperationState, BulkOperationStatus,
    BulkOperationStatusVariables, BulkOperationsRecent, BulkRunQuery, BulkRunQueryVariables,
    FULL_SYNC_BULK_QUERY, FullSyncLine, NoVariables,
};
use shelfsync_store::{Level, Product, Resource, ShopifyTime, Source, Variant, WriteTx};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::cache::CacheError;
use crate::events::SyncKind;
use crate::sync::{SyncError, Syncer, gid, max_time, money, quantities_of, time};

/// How a full sync uses bulk operations.
#[derive(Debug, Clone)]
pub struct BulkSettings {
    /// Rows (variants + levels) per transaction.
    pub batch_rows: usize,
    /// First wait between status polls; it grows by half each time up to `poll_max`.
    pub poll_first: Duration,
    pub poll_max: Duration,
    /// Operations started before giving up when download links keep failing.
    pub max_operations: u32,
    /// Re-opens of the same link after a connection drops mid-file.
    pub download_retries: u32,
    /// Notified when Shopify says an operation finished (the `bulk_operations/finish`
    /// webhook): the poll loop checks at once instead of waiting out its backoff.
    pub wake: Arc<Notify>,
}

impl Default for BulkSettings {
    fn default() -> Self {
        Self {
            batch_rows: 5_000,
            poll_first: Duration::from_millis(100),
            poll_max: Duration::from_secs(5),
            max_operations: 3,
            download_retries: 2,
            wake: Arc::new(Notify::new()),
        }
    }
}

/// What a bulk full sync read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkCounts {
    pub variants: u64,
    pub levels: u64,
    /// Size of the file downloaded (the last, successful download).
    pub bytes: u64,
    /// Time from asking for the export until its file was ready.
    pub wait_ms: u64,
    /// Time to download, parse and write the file (the last, successful download).
    pub ingest_ms: u64,
    /// Of `ingest_ms`, the time the reader waited for the previous transaction to commit
    /// (near `ingest_ms`: the cache's writer is the bottleneck, not the download or parsing).
    pub writer_wait_ms: u64,
}

/// Why an ingest stopped.
enum IngestError {
    /// The link no longer works: a new operation is needed.
    LinkGone(ShopifyError),
    Other(SyncError),
}

impl From<SyncError> for IngestError {
    fn from(e: SyncError) -> Self {
        IngestError::Other(e)
    }
}

impl From<CacheError> for IngestError {
    fn from(e: CacheError) -> Self {
        IngestError::Other(SyncError::Cache(e))
    }
}

/// Reads the whole catalogue and stock through bulk operations.
pub async fn full_sync(s: &Syncer) -> Result<BulkCounts, SyncError> {
    let settings = &s.bulk;
    let mut last = None;
    for attempt in 0..settings.max_operations.max(1) {
        let asked = Instant::now();
        // A sync that was killed may have left its export running: take it over rather than
        // start a second one.
        let adopted = if attempt == 0 { adopt(s).await? } else { None };
        let id = match adopted {
            Some(id) => id,
            None => start(s).await?,
        };
        let done = wait(s, &id).await?;
        let wait_ms = asked.elapsed().as_millis() as u64;
        let total = done.objects();
        let Some(url) = done.url.clone() else {
            // Nothing to export (an empty store answers without a file).
            finish_empty(s).await?;
            return Ok(BulkCounts::default());
        };
        let mut retries = 0;
        loop {
            match ingest(s, &url, total).await {
                Ok(counts) => return Ok(BulkCounts { wait_ms, ..counts }),
                Err(IngestError::LinkGone(e)) => {
                    tracing::warn!(
                        "bulk download link of {id} stopped working ({e}); starting a new operation"
                    );
                    last = Some(e);
                    break;
                }
                Err(IngestError::Other(SyncError::Shopify(e)))
                    if e.is_transient() && retries < settings.download_retries =>
                {
                    retries += 1;
                    tracing::warn!("bulk download of {id} interrupted ({e}); reading it again");
                }
                Err(IngestError::Other(e)) => return Err(e),
            }
        }
    }
    Err(SyncError::Bulk(format!(
        "the catalogue export could not be downloaded after {} attempts{}. The full sync will run again later.",
        settings.max_operations,
        last.map(|e| format!(" (last: {e})")).unwrap_or_default()
    )))
}

/// Looks for bulk query operations still running from an earlier sync (one killed before its
/// export finished, or an older build whose export is not this one). The newest running export
/// of [`FULL_SYNC_BULK_QUERY`] is returned, to be waited for and ingested as if this sync had
/// started it; every other running query operation is canceled, so none is left holding one
/// of the app's slots or producing a file nobody reads.
async fn adopt(s: &Syncer) -> Result<Option<String>, SyncError> {
    let recent = s
        .client
        .execute::<BulkOperationsRecent>(&NoVariables {})
        .await?
        .bulk_operations
        .nodes;
    let mut adopted = None;
    for op in recent.into_iter().filter(|op| op.is_running()) {
        if adopted.is_none() && same_query(&op.query, FULL_SYNC_BULK_QUERY) {
            tracing::info!(
                "the catalogue export {} of an interrupted sync is still running; waiting for it",
                op.id
            );
            adopted = Some(op.id);
        } else {
            cancel(s, &op.id).await?;
        }
    }
    Ok(adopted)
}

/// Whether two GraphQL documents are the same text up to whitespace.
fn same_query(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

async fn cancel(s: &Syncer, id: &str) -> Result<(), SyncError> {
    let payload = s
        .client
        .execute::<BulkOperationCancel>(&BulkOperationCancelVariables { id: id.to_owned() })
        .await?
        .bulk_operation_cancel;
    match payload.and_then(|p| p.user_errors.into_iter().next()) {
        // It finished between the listing and the cancel: nothing left to stop.
        Some(e) => tracing::info!("bulk operation {id} was not canceled: {}", e.message),
        None => tracing::info!("canceled bulk operation {id}, left running by an earlier sync"),
    }
    Ok(())
}

async fn start(s: &Syncer) -> Result<String, SyncError> {
    let data = s
        .client
        .execute::<BulkRunQuery>(&BulkRunQueryVariables {
            query: FULL_SYNC_BULK_QUERY.to_owned(),
        })
        .await?;
    let payload = data
        .bulk_operation_run_query
        .ok_or_else(|| SyncError::Bulk("Shopify did not start the catalogue export".into()))?;
    if let Some(e) = payload.user_errors.first() {
        return Err(SyncError::Bulk(format!(
            "Shopify refused to start the catalogue export: {}{}",
            e.message,
            e.code
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        )));
    }
    payload
        .bulk_operation
        .map(|op| op.id)
        .ok_or_else(|| SyncError::Bulk("Shopify did not start the catalogue export".into()))
}

/// Polls until the operation completes; a failed or canceled one is an error.
async fn wait(s: &Syncer, id: &str) -> Result<BulkOperationState, SyncError> {
    let settings = &s.bulk;
    let mut delay = settings.poll_first;
    loop {
        let state = s
            .client
            .execute::<BulkOperationStatus>(&BulkOperationStatusVariables { id: id.to_owned() })
            .await?
            .bulk_operation
            .ok_or_else(|| {
                SyncError::Bulk(format!("Shopify no longer knows the catalogue export {id}"))
            })?;
        match state.status.as_str() {
            "COMPLETED" => return Ok(state),
            "FAILED" => {
                return Err(SyncError::Bulk(format!(
                    "Shopify's catalogue export failed ({}). The full sync will run again later.",
                    state.error_code.as_deref().unwrap_or("no reason given")
                )));
            }
            "CANCELED" | "CANCELING" => {
                return Err(SyncError::Bulk(
                    "the catalogue export was canceled on Shopify's side before it finished. The full sync will run again later."
                        .into(),
                ));
            }
            "EXPIRED" => {
                return Err(SyncError::Bulk(
                    "the catalogue export expired before it was downloaded. The full sync will run again later."
                        .into(),
                ));
            }
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = settings.wake.notified() => {}
        }
        delay = (delay * 3 / 2).min(settings.poll_max);
    }
}

async fn finish_empty(s: &Syncer) -> Result<(), SyncError> {
    s.progress(SyncKind::Full, 0, Some(0), Instant::now());
    Ok(())
}

/// Rows waiting for their transaction.
#[derive(Default)]
struct Batch {
    products: Vec<Product>,
    variants: Vec<Variant>,
    levels: Vec<Level>,
}

impl Batch {
    fn rows(&self) -> usize {
        self.variants.len() + self.levels.len()
    }

    /// Writes the batch: plain inserts into a cache that had no catalogue when the ingest
    /// began, upserts otherwise (changes then reach the audit log with their source).
    fn save(&self, tx: &WriteTx<'_>, fresh: bool) -> shelfsync_store::Result<()> {
        if fresh {
            tx.insert_new_catalogue(&self.products, &self.variants, &self.levels, Source::Poll)?;
        } else {
            tx.upsert_products(&self.products, Source::Poll)?;
            tx.upsert_variants(&self.variants, Source::Poll)?;
            tx.upsert_levels(&self.levels, Source::Poll)?;
        }
        Ok(())
    }
}

/// A level read before its variant (the item id is not known yet).
struct Orphan {
    location_id: i64,
    quantities: shelfsync_store::Quantities,
    updated_at: Option<ShopifyTime>,
}

#[derive(Default)]
struct Join {
    /// Variant id → inventory item id, for every variant read so far.
    items: HashMap<i64, i64>,
    products: HashSet<i64>,
    orphans: HashMap<i64, Vec<Orphan>>,
    batch: Batch,
    variants: u64,
    levels: u64,
    newest_variant: Option<ShopifyTime>,
    newest_level: Option<ShopifyTime>,
    error: Option<SyncError>,
}

impl Join {
    fn line(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.try_line(bytes) {
            self.error = Some(e);
        }
    }

    fn try_line(&mut self, bytes: &[u8]) -> Result<(), SyncError> {
        let line: FullSyncLine<'_> = serde_json::from_slice(bytes)
            .map_err(|e| SyncError::Unexpected(format!("a line of the catalogue export: {e}")))?;
        match line.parent_id.as_deref() {
            Some(parent) => self.level(parent, &line),
            None => self.variant(&line),
        }
    }

    fn level(&mut self, parent: &str, line: &FullSyncLine<'_>) -> Result<(), SyncError> {
        let location = line
            .location
            .as_ref()
            .ok_or_else(|| SyncError::Unexpected("a stock line without a location".into()))?;
        let orphan = Orphan {
            location_id: gid(&location.id, "Location")?,
            quantities: quantities_of(
                line.quantities
                    .iter()
                    .flatten()
                    .map(|q| (q.name.as_ref(), q.quantity)),
            ),
            updated_at: line.updated_at.as_deref().map(time).transpose()?,
        };
        // The parent is the variant (the nearest connection node); an inventory item id is
        // accepted too.
        let item = if parent.contains("/InventoryItem/") {
            Some(gid(parent, "InventoryItem")?)
        } else {
            let variant = gid(parent, "ProductVariant")?;
            match self.items.get(&variant) {
                Some(item) => Some(*item),
                None => {
                    self.orphans.entry(variant).or_default().push(orphan);
                    return Ok(());
                }
            }
        };
        if let Some(item) = item {
            self.push_level(item, orphan);
        }
        Ok(())
    }

    fn push_level(&mut self, item: i64, o: Orphan) {
        self.newest_level = max_time(self.newest_level.take(), o.updated_at.clone());
        self.batch.levels.push(Level {
            inventory_item_id: item,
            location_id: o.location_id,
            quantities: o.quantities,
            updated_at: o.updated_at,
        });
        self.levels += 1;
    }

    fn variant(&mut self, line: &FullSyncLine<'_>) -> Result<(), SyncError> {
        let missing = |what: &str| SyncError::Unexpected(format!("a variant line without {what}"));
        let p = line
            .product
            .as_ref()
            .ok_or_else(|| missing("its product"))?;
        let product_id = gid(&p.id, "Product")?;
        // A product's fields repeat on each of its variants' lines; keep the first.
        let product = if self.products.insert(product_id) {
            Some(Product {
                id: product_id,
                title: p.title.clone().into_owned(),
                handle: p.handle.clone().into_owned(),
                status: p.status.clone().into_owned(),
                vendor: p
                    .vendor
                    .as_deref()
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned),
                product_type: p
                    .product_type
                    .as_deref()
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned),
                updated_at: time(&p.updated_at)?,
            })
        } else {
            None
        };
        let item = line
            .inventory_item
            .as_ref()
            .ok_or_else(|| missing("its inventory item"))?;
        let variant = Variant {
            id: gid(
                line.id.as_deref().ok_or_else(|| missing("an id"))?,
                "ProductVariant",
            )?,
            product_id,
            title: line.title.as_deref().unwrap_or_default().to_owned(),
            sku: line
                .sku
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            price: money(line.price.as_deref().ok_or_else(|| missing("a price"))?)?,
            compare_at_price: line.compare_at_price.as_deref().map(money).transpose()?,
            inventory_item_id: gid(&item.id, "InventoryItem")?,
            updated_at: time(
                line.updated_at
                    .as_deref()
                    .ok_or_else(|| missing("updatedAt"))?,
            )?,
        };
        self.newest_variant =
            max_time(self.newest_variant.take(), Some(variant.updated_at.clone()));
        if let Some(product) = product {
            self.batch.products.push(product);
        }
        self.items.insert(variant.id, variant.inventory_item_id);
        if let Some(waiting) = self.orphans.remove(&variant.id) {
            for o in waiting {
                self.push_level(variant.inventory_item_id, o);
            }
        }
        self.batch.variants.push(variant);
        self.variants += 1;
        Ok(())
    }
}

/// Downloads and ingests one operation's file.
async fn ingest(s: &Syncer, url: &str, total: u64) -> Result<BulkCounts, IngestError> {
    let mut download = match s.client.download(url).await {
        Ok(d) => d,
        Err(
            e @ ShopifyError::Http {
                status: 403 | 404 | 410,
                ..
            },
        ) => {
            return Err(IngestError::LinkGone(e));
        }
        Err(e) => return Err(IngestError::Other(e.into())),
    };
    let started = Instant::now();
    // A cache without a catalogue (the first full sync) takes plain inserts: nothing to
    // compare with, nothing to audit.
    let fresh = s.cache.read(|r| Ok(r.counts()?.variants == 0)).await?;
    let mut join = Join::default();
    let mut in_flight: Option<JoinHandle<Result<(), CacheError>>> = None;
    let mut writer_wait = Duration::ZERO;
    loop {
        let more = download
            .next_lines(|line| join.line(line))
            .await
            .map_err(|e| IngestError::Other(e.into()))?;
        if let Some(e) = join.error.take() {
            return Err(e.into());
        }
        if !more {
            break;
        }
        if join.batch.rows() >= s.bulk.batch_rows {
            let batch = std::mem::take(&mut join.batch);
            if let Some(previous) = in_flight.take() {
                let waiting = Instant::now();
                settle(previous).await?;
                writer_wait += waiting.elapsed();
            }
            let cache = s.cache.clone();
            in_flight = Some(tokio::spawn(async move {
                cache
                    .write(move |db| {
                        let tx = db.write_bulk()?;
                        batch.save(&tx, fresh)?;
                        tx.commit()
                    })
                    .await
            }));
            s.progress(
                SyncKind::Full,
                join.variants + join.levels,
                Some(total),
                started,
            );
        }
    }
    if let Some(previous) = in_flight.take() {
        let waiting = Instant::now();
        settle(previous).await?;
        writer_wait += waiting.elapsed();
    }
    if !join.orphans.is_empty() {
        return Err(IngestError::Other(SyncError::Unexpected(format!(
            "the catalogue export has stock for {} variants it does not list",
            join.orphans.len()
        ))));
    }
    // The last transaction: the remaining rows and the watermarks.
    let batch = std::mem::take(&mut join.batch);
    let last_write = Instant::now();
    let mut watermarks = Vec::new();
    if let Some(t) = join.newest_variant.clone() {
        watermarks.push((Resource::Products, t));
    }
    if let Some(t) = join.newest_level.clone() {
        watermarks.push((Resource::InventoryLevels, t));
    }
    s.cache
        .write(move |db| {
            let tx = db.write_bulk()?;
            batch.save(&tx, fresh)?;
            for (resource, to) in &watermarks {
                tx.advance_watermark(*resource, to)?;
            }
            tx.commit()
        })
        .await?;
    writer_wait += last_write.elapsed();
    s.progress(
        SyncKind::Full,
        join.variants + join.levels,
        Some(total),
        started,
    );
    Ok(BulkCounts {
        variants: join.variants,
        levels: join.levels,
        bytes: download.received(),
        wait_ms: 0,
        ingest_ms: started.elapsed().as_millis() as u64,
        writer_wait_ms: writer_wait.as_millis() as u64,
    })
}

async fn settle(task: JoinHandle<Result<(), CacheError>>) -> Result<(), IngestError> {
    task.await
        .map_err(|e| IngestError::Other(SyncError::Cache(CacheError::Task(e.to_string()))))?
        .map_err(IngestError::from)
}
