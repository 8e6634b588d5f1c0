//! Bulk updates: a file of stock and prices becomes a plan the owner sees, and a confirmed
//! plan is applied all or nothing, journaled so that a crash can be finished or reversed and a
//! finished update undone.
//!
//! Shopify has no transactions, so "all or nothing" is built from three parts:
//! - **compare-and-set**: every quantity is sent with `changeFromQuantity` = the plan's
//!   "before", so a sale since the plan makes Shopify refuse the chunk
//!   (`CHANGE_FROM_QUANTITY_STALE`) instead of overwriting it. Prices have no such input:
//!   they are read again just before their product's request, and a difference is a conflict
//!   (best effort: a change in the moment between the read and the write is not seen).
//! - **a journal** ([`shelfsync_store::BulkUpdate`]): the plan is written before the first
//!   request, and each request is written `sending`, with its idempotency key, before it
//!   leaves. After a crash, a quantity request still `sending` is sent again with the same key:
//!   Shopify answers a replay with the first result, so it is never applied twice. A price
//!   request still `sending` is settled by reading the prices back.
//! - **reversal by delta**: what an apply did is reversed with `inventoryAdjustQuantities`
//!   by `before − after`, never by setting the old value back, so a unit sold since stays sold
//!   (10 → 50 applied, 1 sold, reversed → 9). A reversal that would take stock below zero is
//!   not made; it is listed with the store's current value for the owner to decide. A price is
//!   put back only if it still holds the value the apply wrote.
//!
//! Preview and apply share one path: [`plan`](BulkUpdates::plan) is the only thing that reads a
//! file, and [`apply`](BulkUpdates::apply) takes nothing but a plan, so what was shown is
//! exactly what is sent, and a preview cannot write.

mod apply;
mod plan;

use serde::{Deserialize, Serialize};
use shelfsync_shopify::ShopifyClient;
use shelfsync_store::{BulkMode, BulkState};

use crate::cache::{Cache, CacheError};
use crate::import::{Format, ImportError, Problem, QuantityName};

pub use apply::{ApplyOptions, Progress, Recovery, UndoPreview, UndoRow};
pub use plan::{LIVE_READ_LIMIT, PlanOptions};

/// Quantities per `inventorySetQuantities` / `inventoryAdjustQuantities` call: Shopify's limit.
pub const MAX_QUANTITIES_PER_CALL: usize = 250;

/// What a file would change, against the live store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub file_name: String,
    pub format: Format,
    /// When the live values were read (milliseconds since the epoch; 0 before).
    pub read_at_ms: i64,
    pub options: PlanOptions,
    /// One row per variant, location and quantity the file names, in file order; a row whose
    /// `delta` is 0 changes nothing and is not sent.
    pub quantities: Vec<QuantityRow>,
    /// One row per variant whose price the file names; unchanged rows are not sent.
    pub prices: Vec<PriceRow>,
    /// Every problem of the file and of matching it to the store, by row and column.
    pub problems: Vec<Problem>,
    pub summary: PlanSummary,
    /// What reading the live values cost.
    pub refresh: RefreshCost,
}

impl Plan {
    /// Whether applying it would write anything.
    pub fn has_changes(&self) -> bool {
        self.summary.quantity_changes + self.summary.price_changes > 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantityRow {
    /// The file's row (a spreadsheet's numbering).
    pub row: u64,
    pub sku: String,
    pub product_id: i64,
    pub product_title: String,
    pub variant_id: i64,
    pub variant_title: String,
    pub inventory_item_id: i64,
    pub location_id: i64,
    pub location_name: String,
    pub name: QuantityName,
    /// The store's value when the plan was made (read live).
    pub before: i64,
    pub after: i64,
    pub delta: i64,
    /// What the cache held, when it differed from the live value.
    pub cached: Option<i64>,
    /// Beyond the plan's large-change threshold.
    pub large: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceRow {
    pub row: u64,
    pub sku: String,
    pub product_id: i64,
    pub product_title: String,
    pub variant_id: i64,
    pub variant_title: String,
    pub before_price: String,
    pub after_price: String,
    pub before_compare_at: Option<String>,
    pub after_compare_at: Option<String>,
    pub large: bool,
}

impl PriceRow {
    pub fn changes(&self) -> bool {
        self.before_price != self.after_price || self.before_compare_at != self.after_compare_at
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Records after the header.
    pub file_rows: u64,
    pub quantity_changes: u64,
    pub price_changes: u64,
    /// Rows that name the value the store already has.
    pub unchanged: u64,
    pub large: u64,
    pub problems: u64,
    /// Units the plan adds, over every increasing row.
    pub units_added: i64,
    /// Units the plan removes, over every decreasing row (a positive number).
    pub units_removed: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RefreshCost {
    pub requests: u64,
    /// Points of the store's rate-limit bucket that reading the live values used.
    pub points: f64,
    /// Whether the values came from a bulk operation (a large plan on a cache whose stock
    /// was not brought up to date within the last hour) rather than reads by id or an
    /// incremental pass.
    pub bulk_operation: bool,
}

/// A row that was not applied or not reversed because the store holds something else than
/// expected, with what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub row: u64,
    pub sku: String,
    /// The location's name, for a quantity.
    pub location: Option<String>,
    /// `available`, `on_hand` or `price`.
    pub field: String,
    /// What the plan (or the apply) expected to find.
    pub expected: String,
    /// What the store holds now; `None` when it could not be read.
    pub current: Option<String>,
    pub reason: String,
}

/// How a bulk update ended (or how far it got).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub id: i64,
    pub state: BulkState,
    pub mode: BulkMode,
    /// Quantity and price rows the store holds from this update now.
    pub applied: u64,
    /// Rows whose change was reversed.
    pub reversed: u64,
    /// Rows left out in "skip conflicts" mode, and why.
    pub skipped: Vec<Conflict>,
    /// What made an all-or-nothing update stop, when it did.
    pub stopped_by: Option<String>,
    /// Changes that could not be reversed cleanly, with the store's current value.
    pub not_reversed: Vec<Conflict>,
}

/// A journaled bulk update as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkSummary {
    pub id: i64,
    pub file_name: String,
    pub mode: BulkMode,
    pub state: BulkState,
    pub quantity_changes: u64,
    pub price_changes: u64,
    /// Milliseconds since the epoch.
    pub created_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    pub outcome: Option<Outcome>,
}

#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Shopify(#[from] shelfsync_shopify::ShopifyError),
    #[error("the cache is empty: sync the store before planning a bulk update")]
    NotSynced,
    #[error("the plan has {0} problem(s): fix the file, or choose to skip the rows with problems")]
    Unresolved(u64),
    #[error("there is no bulk update {0}")]
    Unknown(i64),
    #[error("bulk update {id} is {state:?}: {what}")]
    WrongState {
        id: i64,
        state: BulkState,
        what: &'static str,
    },
    #[error(
        "bulk update {id} stopped because Shopify could not be reached; it is journaled, and \
         once the store answers it can be rolled back or finished (the Bulk update page, or \
         `shelfsync bulk recover`): {detail}"
    )]
    Interrupted { id: i64, detail: String },
    #[error("Shopify answered something unexpected: {0}")]
    Unexpected(String),
    #[error("the journal of bulk update {id} cannot be read: {detail}")]
    Journal { id: i64, detail: String },
}

/// Plans, applies, recovers and undoes bulk updates for one store.
#[derive(Clone)]
pub struct BulkUpdates {
    pub(crate) client: ShopifyClient,
    pub(crate) cache: Cache,
    /// The syncer that keeps this cache current, whose incremental pass a large plan runs
    /// (see [`LIVE_READ_LIMIT`]); without one, a plan makes its own.
    pub(crate) syncer: Option<crate::sync::Syncer>,
}

impl BulkUpdates {
    pub fn new(client: ShopifyClient, cache: Cache) -> Self {
        Self {
            client,
            cache,
            syncer: None,
        }
    }

    /// Large plans bring the cache up to date with `syncer`'s incremental pass: the
    /// syncer that keeps the cache current knows how far back its next pass needs to read
    /// (a narrow pass, usually), where a new one starts with a wide pass.
    pub fn with_syncer(mut self, syncer: crate::sync::Syncer) -> Self {
        self.syncer = Some(syncer);
        self
    }

    /// The latest bulk updates, newest first.
    pub async fn list(&self, limit: u32) -> Result<Vec<BulkSummary>, BulkError> {
        let updates = self.cache.read(move |r| r.bulk_updates(limit)).await?;
        Ok(updates.into_iter().map(BulkSummary::from).collect())
    }

    /// Bulk updates a crash or kill stopped midway, oldest first.
    pub async fn unfinished(&self) -> Result<Vec<BulkSummary>, BulkError> {
        let ids = self.cache.read(|r| r.unfinished_bulk_updates()).await?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(entry) = self.cache.read(move |r| r.bulk_entry(id)).await? {
                out.push(BulkSummary::from(entry));
            }
        }
        Ok(out)
    }
}

impl From<shelfsync_store::BulkEntry> for BulkSummary {
    /// A journal entry with its outcome read from its JSON (the plan is not read).
    fn from(entry: shelfsync_store::BulkEntry) -> Self {
        BulkSummary {
            id: entry.id,
            file_name: entry.file_name,
            mode: entry.mode,
            state: entry.state,
            quantity_changes: entry.counts.quantity_changes,
            price_changes: entry.counts.price_changes,
            created_at_ms: entry.created_at.as_millisecond(),
            finished_at_ms: entry.finished_at.map(|t| t.as_millisecond()),
            outcome: entry
                .outcome
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok()),
        }
    }
}

/// `gid://shopify/InventoryLevel/<location>?inventory_item_id=<item>`.
pub(crate) fn level_gid(item: i64, location: i64) -> String {
    format!("gid://shopify/InventoryLevel/{location}?inventory_item_id={item}")
}

/// The (item, location) of an inventory level's global id.
pub(crate) fn parse_level_gid(gid: &str) -> Option<(i64, i64)> {
    let rest = gid.strip_prefix("gid://shopify/InventoryLevel/")?;
    let (location, query) = rest.split_once('?')?;
    let item = query.strip_prefix("inventory_item_id=")?;
    Some((item.parse().ok()?, location.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_id_reads_back_as_its_item_and_location() {
        let gid = level_gid(53_204_673_823_026, 106_318_430_514);
        assert_eq!(
            parse_level_gid(&gid),
            Some((53_204_673_823_026, 106_318_430_514))
        );
        assert_eq!(parse_level_gid("gid://shopify/InventoryItem/1"), None);
    }
}
