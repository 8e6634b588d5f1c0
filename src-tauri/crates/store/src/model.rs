//! The values the cache stores.
//!
//! These types are what the engine hands in and the UI reads back. None of
//! them has a field for a token, a client secret or any other credential, so
//! no code path can put one in the database by accident.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a cached value came from. Recorded on every row that can change and
/// on every audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A scheduled incremental sync.
    Poll,
    /// A Shopify webhook.
    Webhook,
    /// A person, in the app or the CLI.
    User,
    /// A job that ran again after a failure.
    Retry,
    /// A full sync (bulk operation) or a file import.
    Import,
    /// A reconciliation pass that compared the cache with Shopify.
    Reconciliation,
}

impl Source {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Poll => "poll",
            Source::Webhook => "webhook",
            Source::User => "user",
            Source::Retry => "retry",
            Source::Import => "import",
            Source::Reconciliation => "reconciliation",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Source {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "poll" => Source::Poll,
            "webhook" => Source::Webhook,
            "user" => Source::User,
            "retry" => Source::Retry,
            "import" => Source::Import,
            "reconciliation" => Source::Reconciliation,
            other => return Err(Error::UnexpectedValue(format!("source \"{other}\""))),
        })
    }
}

/// An amount of money as Shopify sends it: decimal text, never a float, so
/// that "19.99" is stored and shown as exactly "19.99".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Money(String);

impl Money {
    /// Accepts an optional minus sign, digits, and an optional fraction.
    pub fn new(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        let digits = text.strip_prefix('-').unwrap_or(&text);
        let (whole, fraction) = match digits.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (digits, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if all_digits(whole) && fraction.is_none_or(all_digits) {
            Ok(Money(text))
        } else {
            Err(Error::InvalidMoney(text))
        }
    }

    /// The decimal text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Money {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Money::new(s)
    }
}

impl From<Money> for String {
    fn from(m: Money) -> String {
        m.0
    }
}

/// A Shopify timestamp: the RFC 3339 text exactly as sent (with its offset)
/// and the instant it denotes, used for ordering.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ShopifyTime {
    text: String,
    instant: Timestamp,
}

impl ShopifyTime {
    /// Parses RFC 3339 text such as `2026-01-31T12:00:00Z` or
    /// `2026-01-31T07:00:00-05:00`.
    pub fn parse(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        match text.parse::<Timestamp>() {
            Ok(instant) => Ok(ShopifyTime { text, instant }),
            Err(_) => Err(Error::InvalidTimestamp(text)),
        }
    }

    /// The text as Shopify sent it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The instant, for comparisons.
    pub fn instant(&self) -> Timestamp {
        self.instant
    }

    pub(crate) fn millis(&self) -> i64 {
        self.instant.as_millisecond()
    }
}

impl fmt::Display for ShopifyTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for ShopifyTime {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        ShopifyTime::parse(s)
    }
}

impl From<ShopifyTime> for String {
    fn from(t: ShopifyTime) -> String {
        t.text
    }
}

/// The numeric id inside a Shopify GID, e.g. `gid://shopify/ProductVariant/42`
/// with kind `ProductVariant` gives 42. Query strings
/// (`InventoryLevel/1?inventory_item_id=2`) are ignored.
pub fn gid_id(gid: &str, kind: &str) -> Option<i64> {
    let rest = gid.strip_prefix("gid://shopify/")?.strip_prefix(kind)?;
    let rest = rest.strip_prefix('/')?;
    let number = rest.split('?').next()?;
    number.parse().ok().filter(|n| *n > 0)
}

/// The store itself (one row: a database holds one store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shop {
    /// Numeric Shopify id.
    pub id: i64,
    /// The `*.myshopify.com` domain (or the simulator's host).
    pub domain: String,
    /// Display name.
    pub name: String,
    /// ISO 4217 currency of prices, e.g. `EUR`.
    pub currency_code: String,
    /// The store's time zone, e.g. `Europe/Paris`.
    pub iana_timezone: Option<String>,
}

/// A place that holds stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Numeric Shopify id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Whether the location is active in Shopify.
    pub is_active: bool,
    /// Shopify's `updatedAt`, when known.
    pub updated_at: Option<ShopifyTime>,
}

/// A product (the variants carry SKUs and prices).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Numeric Shopify id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// URL handle.
    pub handle: String,
    /// `ACTIVE`, `DRAFT` or `ARCHIVED`, as Shopify sends it.
    pub status: String,
    /// Vendor.
    pub vendor: Option<String>,
    /// Product type.
    pub product_type: Option<String>,
    /// Shopify's `updatedAt`.
    pub updated_at: ShopifyTime,
}

/// A sellable variant of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    /// Numeric Shopify id.
    pub id: i64,
    /// The product it belongs to (must be saved first).
    pub product_id: i64,
    /// Variant title, e.g. `Red / M`.
    pub title: String,
    /// Stock keeping unit, if the store uses them.
    pub sku: Option<String>,
    /// Price.
    pub price: Money,
    /// Compare-at ("was") price.
    pub compare_at_price: Option<Money>,
    /// The inventory item that carries its stock.
    pub inventory_item_id: i64,
    /// Shopify's `updatedAt`.
    pub updated_at: ShopifyTime,
}

/// Shopify's named inventory quantities. `None` means "not reported in this
/// update": an upsert keeps the value already cached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quantities {
    /// Can be sold.
    pub available: Option<i64>,
    /// Physically present.
    pub on_hand: Option<i64>,
    /// Sold, not yet fulfilled.
    pub committed: Option<i64>,
    /// On its way.
    pub incoming: Option<i64>,
    /// Held back.
    pub reserved: Option<i64>,
    /// Damaged.
    pub damaged: Option<i64>,
    /// Kept as safety stock.
    pub safety_stock: Option<i64>,
    /// Under quality control.
    pub quality_control: Option<i64>,
}

impl Quantities {
    pub(crate) fn as_array(&self) -> [Option<i64>; 8] {
        [
            self.available,
            self.on_hand,
            self.committed,
            self.incoming,
            self.reserved,
            self.damaged,
            self.safety_stock,
            self.quality_control,
        ]
    }
}

/// The stock of one inventory item at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    /// The inventory item (see [`Variant::inventory_item_id`]).
    pub inventory_item_id: i64,
    /// The location.
    pub location_id: i64,
    /// The quantities reported.
    pub quantities: Quantities,
    /// Shopify's `updatedAt` for this level, when known.
    pub updated_at: Option<ShopifyTime>,
}

/// A level as cached, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLevel {
    /// The level.
    pub level: Level,
    /// The location's name.
    pub location_name: String,
    /// Where the current values came from.
    pub source: Source,
    /// When Shelfsync recorded them.
    pub recorded_at: Timestamp,
}

/// A variant as the UI lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantRow {
    /// The variant.
    pub variant: Variant,
    /// Its product's title.
    pub product_title: String,
    /// Sum of `available` over all locations (0 when none is known).
    pub total_available: i64,
}

/// One page of a search, with how many variants match it in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantPage {
    /// The page's rows, in the search's order.
    pub rows: Vec<VariantRow>,
    /// How many variants match the search, read in the same transaction as `rows`, so the
    /// two always agree.
    pub total: u64,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Numeric Shopify id.
    pub id: i64,
    /// Display name, e.g. `#1001`.
    pub name: String,
    /// When it was placed.
    pub created_at: ShopifyTime,
    /// Shopify's `updatedAt`.
    pub updated_at: ShopifyTime,
    /// When it was cancelled, if it was.
    pub cancelled_at: Option<ShopifyTime>,
    /// When it was closed (archived after fulfilment or cancellation), if it was.
    pub closed_at: Option<ShopifyTime>,
    /// e.g. `PAID`.
    pub financial_status: Option<String>,
    /// e.g. `FULFILLED`.
    pub fulfillment_status: Option<String>,
    /// ISO 4217 currency.
    pub currency_code: String,
    /// Total price.
    pub total_price: Money,
    /// Its lines; an upsert replaces all lines of the order.
    pub line_items: Vec<LineItem>,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    /// Numeric Shopify id.
    pub id: i64,
    /// The variant sold, if it still exists.
    pub variant_id: Option<i64>,
    /// SKU at the time of sale.
    pub sku: Option<String>,
    /// Title at the time of sale.
    pub title: String,
    /// The variant's title at the time of sale (`Small`, `Default Title`).
    pub variant_title: Option<String>,
    /// The inventory item whose stock the line moves, if the variant still exists.
    pub inventory_item_id: Option<i64>,
    /// Units ordered.
    pub quantity: i64,
    /// Units still on the order (after removals and cancellation).
    pub current_quantity: i64,
    /// Units sold but not shipped yet: what the line holds as `committed` stock.
    pub unfulfilled_quantity: i64,
    /// Unit price.
    pub price: Money,
}

impl Order {
    /// Where the order stands, for filters and badges.
    pub fn status(&self) -> OrderStatus {
        if self.cancelled_at.is_some() {
            OrderStatus::Cancelled
        } else if self.line_items.iter().all(|l| l.unfulfilled_quantity == 0) {
            OrderStatus::Fulfilled
        } else {
            OrderStatus::Open
        }
    }
}

/// Where an order stands, as the owner sorts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Units still to ship: its stock is committed.
    Open,
    /// Everything shipped.
    Fulfilled,
    /// Cancelled; the units not shipped went back to available stock.
    Cancelled,
}

/// One reconciliation pass, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconciliationRun {
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    /// Why it ran: `scheduled`, `start`, `wake`, `subscription` or `manual`.
    pub reason: String,
    /// Rows the store reported changed since the last watermark.
    pub checked: u64,
    /// Changes the cache had not received through webhooks.
    pub repaired: u64,
}

/// A kind of data that incremental sync reads in `updated_at` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// Locations.
    Locations,
    /// Products and their variants.
    Products,
    /// Inventory levels.
    InventoryLevels,
    /// Orders.
    Orders,
}

impl Resource {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Locations => "locations",
            Resource::Products => "products",
            Resource::InventoryLevels => "inventory_levels",
            Resource::Orders => "orders",
        }
    }
}

impl FromStr for Resource {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "locations" => Resource::Locations,
            "products" => Resource::Products,
            "inventory_levels" => Resource::InventoryLevels,
            "orders" => Resource::Orders,
            other => return Err(Error::UnexpectedValue(format!("resource \"{other}\""))),
        })
    }
}

/// A sync watermark, for status displays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    /// What it covers.
    pub resource: Resource,
    /// Everything updated up to this Shopify time is in the cache.
    pub updated_at: ShopifyTime,
    /// When the last sync moved it.
    pub advanced_at: Timestamp,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Sequence number.
    pub id: i64,
    /// When the change was recorded.
    pub at: Timestamp,
    /// Where it came from.
    pub source: Source,
    /// `inventory_level`, `variant`, `product` or `job`.
    pub entity: String,
    /// The entity's id (`item@location` for levels).
    pub entity_id: String,
    /// The field that changed.
    pub field: String,
    /// Value before, as text.
    pub before: Option<String>,
    /// Value after, as text.
    pub after: Option<String>,
}

/// An incoming Shopify webhook, as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// `X-Shopify-Event-Id`: the same for every delivery of one event.
    pub event_id: String,
    /// `X-Shopify-Webhook-Id`.
    pub webhook_id: Option<String>,
    /// `X-Shopify-Topic`, e.g. `inventory_levels/update`.
    pub topic: String,
    /// `X-Shopify-Shop-Domain`.
    pub shop_domain: String,
    /// `X-Shopify-Triggered-At`.
    pub triggered_at: Option<ShopifyTime>,
    /// The raw body.
    pub body: Vec<u8>,
}

/// A webhook in the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredWebhook {
    /// Inbox sequence number.
    pub id: i64,
    /// The event.
    pub event: WebhookEvent,
    /// When Shelfsync received it.
    pub received_at: Timestamp,
    /// When it was processed, if it was.
    pub processed_at: Option<Timestamp>,
}

/// What [`crate::Database::record_webhook`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recorded {
    /// First delivery: stored under this inbox id.
    New(i64),
    /// The event was already in the inbox under this id (a redelivery).
    Duplicate(i64),
}

/// State of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its run time.
    Pending,
    /// Claimed by a worker.
    Running,
    /// Finished.
    Done,
    /// Out of retries: waits for a person to retry or discard it.
    Failed,
}

impl JobState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "pending" => JobState::Pending,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            other => return Err(Error::UnexpectedValue(format!("job state \"{other}\""))),
        })
    }
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    /// What to do, e.g. `sync.incremental` or `webhook.process`.
    pub kind: String,
    /// The job's arguments.
    pub payload: serde_json::Value,
    /// While a pending job with this key exists, enqueueing another one
    /// returns the existing job instead.
    pub dedupe_key: Option<String>,
    /// Earliest run time; `None` means now.
    pub run_at: Option<Timestamp>,
}

/// A job in the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Queue id.
    pub id: i64,
    /// What to do.
    pub kind: String,
    /// The job's arguments.
    pub payload: serde_json::Value,
    /// Its state.
    pub state: JobState,
    /// How many times a worker has started it since it was enqueued or last
    /// retried by a person.
    pub attempts: u32,
    /// Earliest next run.
    pub next_run_at: Timestamp,
    /// The last failure, in words a person understands.
    pub last_error: Option<String>,
    /// The dedupe key.
    pub dedupe_key: Option<String>,
    /// When it was enqueued.
    pub created_at: Timestamp,
    /// When its state last changed.
    pub updated_at: Timestamp,
}

/// What [`crate::Database::enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Enqueued {
    /// A new job with this id.
    New(i64),
    /// A pending job with the same dedupe key already exists.
    Duplicate(i64),
}

impl Enqueued {
    /// The job id either way.
    pub fn id(self) -> i64 {
        match self {
            Enqueued::New(id) | Enqueued::Duplicate(id) => id,
        }
    }
}

/// Number of jobs in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCounts {
    /// Waiting.
    pub pending: u64,
    /// Claimed.
    pub running: u64,
    /// Finished.
    pub done: u64,
    /// Waiting for a person.
    pub failed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gid_ids_are_read_only_for_the_expected_kind() {
        assert_eq!(
            gid_id("gid://shopify/ProductVariant/42", "ProductVariant"),
            Some(42)
        );
        assert_eq!(
            gid_id(
                "gid://shopify/InventoryLevel/7?inventory_item_id=9",
                "InventoryLevel"
            ),
            Some(7)
        );
        assert_eq!(gid_id("gid://shopify/Product/42", "ProductVariant"), None);
        assert_eq!(gid_id("gid://shopify/ProductVariant/42", "Product"), None);
        assert_eq!(
            gid_id("gid://shopify/ProductVariant/abc", "ProductVariant"),
            None
        );
        assert_eq!(gid_id("42", "ProductVariant"), None);
    }

    #[test]
    fn names_round_trip() {
        for s in [
            Source::Poll,
            Source::Webhook,
            Source::User,
            Source::Retry,
            Source::Import,
            Source::Reconciliation,
        ] {
            assert_eq!(s.as_str().parse::<Source>().unwrap(), s);
        }
        for r in [
            Resource::Locations,
            Resource::Products,
            Resource::InventoryLevels,
            Resource::Orders,
        ] {
            assert_eq!(r.as_str().parse::<Resource>().unwrap(), r);
        }
    }

    #[test]
    fn money_and_times_serialize_as_shopify_text() {
        let money = Money::new("19.90").unwrap();
        assert_eq!(serde_json::to_string(&money).unwrap(), "\"19.90\"");
        assert!(serde_json::from_str::<Money>("\"19,90\"").is_err());
        let time = ShopifyTime::parse("2026-01-31T07:00:00-05:00").unwrap();
        assert_eq!(
            serde_json::to_string(&time).unwrap(),
            "\"2026-01-31T07:00:00-05:00\""
        );
        assert_eq!(
            time.instant(),
            "2026-01-31T12:00:00Z".parse::<Timestamp>().unwrap()
        );
    }
}
