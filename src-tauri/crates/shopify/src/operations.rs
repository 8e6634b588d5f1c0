//! Typed operations. Each is a `.graphql` file under `graphql/` (validated against the real
//! 2026-07 schema by `tests/documents.rs`) plus the Rust types of its variables and data.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// One GraphQL operation with typed variables and data.
pub trait Operation {
    /// The operation's name in its document (`query ShopInfo { … }`).
    const NAME: &'static str;
    const DOCUMENT: &'static str;
    type Variables: Serialize + Send + Sync;
    type Data: DeserializeOwned;

    /// A first guess at the requested cost, used until Shopify has reported the real one.
    fn estimated_cost(_variables: &Self::Variables) -> f64 {
        10.0
    }
}

/// A write. Its document declares `$idempotencyKey: String!` and puts
/// `@idempotent(key: $idempotencyKey)` on the mutation field; the client fills the key in.
pub trait Mutation: Operation {}

macro_rules! document {
    ($file:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/graphql/", $file))
    };
}

/// Every operation's name and document, for the schema test.
pub const DOCUMENTS: &[(&str, &str)] = &[
    (ShopInfo::NAME, ShopInfo::DOCUMENT),
    (Locations::NAME, Locations::DOCUMENT),
    (VariantsPage::NAME, VariantsPage::DOCUMENT),
    (LocationLevels::NAME, LocationLevels::DOCUMENT),
    (VariantCount::NAME, VariantCount::DOCUMENT),
    (InventoryAdjust::NAME, InventoryAdjust::DOCUMENT),
    (InventorySet::NAME, InventorySet::DOCUMENT),
    (BulkRunQuery::NAME, BulkRunQuery::DOCUMENT),
    (BulkOperationStatus::NAME, BulkOperationStatus::DOCUMENT),
    (BulkOperationsRecent::NAME, BulkOperationsRecent::DOCUMENT),
    (BulkOperationCancel::NAME, BulkOperationCancel::DOCUMENT),
    (FULL_SYNC_BULK_NAME, FULL_SYNC_BULK_QUERY),
    (InventoryLevelRead::NAME, InventoryLevelRead::DOCUMENT),
    (ItemLevels::NAME, ItemLevels::DOCUMENT),
    (VariantPrices::NAME, VariantPrices::DOCUMENT),
    (LevelQuantities::NAME, LevelQuantities::DOCUMENT),
    (VariantsBulkUpdate::NAME, VariantsBulkUpdate::DOCUMENT),
    (OrdersPage::NAME, OrdersPage::DOCUMENT),
    (WebhookSubscriptions::NAME, WebhookSubscriptions::DOCUMENT),
    (
        WebhookSubscriptionCreate::NAME,
        WebhookSubscriptionCreate::DOCUMENT,
    ),
];

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct NoVariables {}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// The shop's identity and settings.
pub struct ShopInfo;

#[derive(Debug, Clone, Deserialize)]
pub struct ShopInfoData {
    pub shop: Shop,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Shop {
    pub id: String,
    pub name: String,
    pub myshopify_domain: String,
    pub currency_code: String,
    pub iana_timezone: String,
}

impl Operation for ShopInfo {
    const NAME: &'static str = "ShopInfo";
    const DOCUMENT: &'static str = document!("ShopInfo.graphql");
    type Variables = NoVariables;
    type Data = ShopInfoData;
}

/// One page of the shop's locations, active or not.
pub struct Locations;

#[derive(Debug, Clone, Serialize)]
pub struct LocationsVariables {
    pub first: u32,
    pub after: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LocationsData {
    pub locations: LocationConnection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationConnection {
    pub nodes: Vec<Location>,
    pub page_info: PageInfo,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub id: String,
    pub name: String,
    pub is_active: bool,
}

impl Operation for Locations {
    const NAME: &'static str = "Locations";
    const DOCUMENT: &'static str = document!("Locations.graphql");
    type Variables = LocationsVariables;
    type Data = LocationsData;

    fn estimated_cost(v: &LocationsVariables) -> f64 {
        2.0 + f64::from(v.first.min(250)) / 10.0
    }
}

/// One page of variants with their inventory levels at every location: the shape of the
/// incremental sync and of the reconciliation sweep.
pub struct VariantsPage;

#[derive(Debug, Clone, Serialize)]
pub struct VariantsPageVariables {
    pub first: u32,
    pub after: Option<String>,
    /// Shopify search syntax, e.g. `updated_at:>='2026-11-24T10:00:00Z'` (dates quoted).
    pub query: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantsPageData {
    pub product_variants: VariantConnection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantConnection {
    pub nodes: Vec<VariantNode>,
    pub page_info: PageInfo,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VariantNode {
    pub id: String,
    pub sku: Option<String>,
    pub title: String,
    /// Money as Shopify sends it: a decimal string, never a float.
    pub price: String,
    pub compare_at_price: Option<String>,
    pub updated_at: String,
    pub product: ProductRef,
    pub inventory_item: InventoryItemNode,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProductRef {
    pub id: String,
    pub title: String,
    pub handle: String,
    pub status: String,
    pub vendor: Option<String>,
    pub product_type: Option<String>,
    pub updated_at: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InventoryItemNode {
    pub id: String,
    pub tracked: bool,
    pub inventory_levels: LevelConnection,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct LevelConnection {
    pub nodes: Vec<LevelNode>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LevelNode {
    pub location: IdRef,
    pub updated_at: Option<String>,
    pub quantities: Vec<NamedQuantity>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct IdRef {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct NamedQuantity {
    pub name: String,
    pub quantity: i64,
}

impl Operation for VariantsPage {
    const NAME: &'static str = "VariantsPage";
    const DOCUMENT: &'static str = document!("VariantsPage.graphql");
    type Variables = VariantsPageVariables;
    type Data = VariantsPageData;

    fn estimated_cost(v: &VariantsPageVariables) -> f64 {
        // Generous until Shopify reports the real requested cost.
        20.0 + f64::from(v.first.min(250)) / 2.0
    }
}

/// One page of the inventory levels at one location changed since a time: the incremental
/// sync of stock. Selling and stock edits move a level's `updatedAt`, not the variant's.
pub struct LocationLevels;

#[derive(Debug, Clone, Serialize)]
pub struct LocationLevelsVariables {
    pub location: String,
    pub first: u32,
    pub after: Option<String>,
    pub query: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LocationLevelsData {
    pub location: Option<LocationWithLevels>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationWithLevels {
    pub id: String,
    pub inventory_levels: LevelPage,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LevelPage {
    pub nodes: Vec<LocatedLevel>,
    pub page_info: PageInfo,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LocatedLevel {
    pub updated_at: Option<String>,
    pub item: IdRef,
    pub quantities: Vec<NamedQuantity>,
}

impl Operation for LocationLevels {
    const NAME: &'static str = "LocationLevels";
    const DOCUMENT: &'static str = document!("LocationLevels.graphql");
    type Variables = LocationLevelsVariables;
    type Data = LocationLevelsData;

    fn estimated_cost(v: &LocationLevelsVariables) -> f64 {
        10.0 + f64::from(v.first.min(250)) / 5.0
    }
}

/// How many variants match a search (for progress totals).
pub struct VariantCount;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantCountData {
    pub product_variants_count: Option<Count>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Count {
    pub count: u64,
}

impl Operation for VariantCount {
    const NAME: &'static str = "VariantCount";
    const DOCUMENT: &'static str = document!("VariantCount.graphql");
    type Variables = NoVariables;
    type Data = VariantCountData;
}

/// A mutation's business-rule failure (`userErrors`), as Shopify reports it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct UserError {
    #[serde(default)]
    pub field: Option<Vec<String>>,
    pub message: String,
    #[serde(default)]
    pub code: Option<String>,
}

/// The adjustment group a write created. Only its id is asked for: each object more in a
/// mutation's answer costs a point, and the rows written are the ones sent.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AdjustmentGroup {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InventoryPayload {
    pub inventory_adjustment_group: Option<AdjustmentGroup>,
    pub user_errors: Vec<UserError>,
}

/// One quantity to set, compare-and-set against `change_from_quantity`.
///
/// `change_from_quantity` is always sent: `Some(n)` makes Shopify refuse the whole call with
/// `CHANGE_FROM_QUANTITY_STALE` unless the current value is `n`; `None` is sent as an
/// explicit `null`, which skips the check. Leaving the key out is an error in 2026-04+.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SetQuantity {
    pub inventory_item_id: String,
    pub location_id: String,
    pub quantity: i64,
    pub change_from_quantity: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InventorySetInput {
    /// `available` or `on_hand`.
    pub name: String,
    /// e.g. `correction`.
    pub reason: String,
    pub reference_document_uri: Option<String>,
    pub quantities: Vec<SetQuantity>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InventorySetVariables {
    pub input: InventorySetInput,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventorySetData {
    pub inventory_set_quantities: Option<InventoryPayload>,
}

/// Sets quantities (at most 250 per call), all or nothing.
pub struct InventorySet;

impl Operation for InventorySet {
    const NAME: &'static str = "InventorySet";
    const DOCUMENT: &'static str = document!("InventorySet.graphql");
    type Variables = InventorySetVariables;
    type Data = InventorySetData;
}

impl Mutation for InventorySet {}

/// One change by a delta; `change_from_quantity` as in [`SetQuantity`].
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AdjustQuantity {
    pub inventory_item_id: String,
    pub location_id: String,
    pub delta: i64,
    pub change_from_quantity: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryAdjustInput {
    pub name: String,
    pub reason: String,
    pub reference_document_uri: Option<String>,
    pub changes: Vec<AdjustQuantity>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InventoryAdjustVariables {
    pub input: InventoryAdjustInput,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryAdjustData {
    pub inventory_adjust_quantities: Option<InventoryPayload>,
}

/// Adjusts quantities by deltas (at most 250 per call), all or nothing.
pub struct InventoryAdjust;

impl Operation for InventoryAdjust {
    const NAME: &'static str = "InventoryAdjust";
    const DOCUMENT: &'static str = document!("InventoryAdjust.graphql");
    type Variables = InventoryAdjustVariables;
    type Data = InventoryAdjustData;
}

impl Mutation for InventoryAdjust {}

// ---------------------------------------------------------------------------------------------
// Bulk operations (a full sync reads the whole catalogue as one JSONL file).

/// Starts a bulk query (`groupObjects: false`, the 2026-01+ default: no line order promised).
pub struct BulkRunQuery;

#[derive(Debug, Clone, Serialize)]
pub struct BulkRunQueryVariables {
    /// The inner query, e.g. [`FULL_SYNC_BULK_QUERY`].
    pub query: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkRunQueryData {
    pub bulk_operation_run_query: Option<BulkRunQueryPayload>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkRunQueryPayload {
    pub bulk_operation: Option<BulkOperationRef>,
    pub user_errors: Vec<BulkUserError>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct BulkOperationRef {
    pub id: String,
    pub status: String,
}

/// `BulkOperationUserError` (`code` is `INVALID`, `OPERATION_IN_PROGRESS`, …).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct BulkUserError {
    #[serde(default)]
    pub field: Option<Vec<String>>,
    pub message: String,
    #[serde(default)]
    pub code: Option<String>,
}

impl Operation for BulkRunQuery {
    const NAME: &'static str = "BulkRunQuery";
    const DOCUMENT: &'static str = document!("BulkRunQuery.graphql");
    type Variables = BulkRunQueryVariables;
    type Data = BulkRunQueryData;
}

/// Polls one bulk operation.
pub struct BulkOperationStatus;

#[derive(Debug, Clone, Serialize)]
pub struct BulkOperationStatusVariables {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationStatusData {
    pub bulk_operation: Option<BulkOperationState>,
}

/// `objectCount`, `rootObjectCount` and `fileSize` are `UnsignedInt64`: JSON strings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationState {
    pub id: String,
    pub status: String,
    pub error_code: Option<String>,
    pub object_count: String,
    pub root_object_count: String,
    pub file_size: Option<String>,
    pub url: Option<String>,
}

impl BulkOperationState {
    pub fn objects(&self) -> u64 {
        self.object_count.parse().unwrap_or(0)
    }
}

impl Operation for BulkOperationStatus {
    const NAME: &'static str = "BulkOperationStatus";
    const DOCUMENT: &'static str = document!("BulkOperationStatus.graphql");
    type Variables = BulkOperationStatusVariables;
    type Data = BulkOperationStatusData;

    fn estimated_cost(_variables: &Self::Variables) -> f64 {
        1.0
    }
}

/// The app's 20 newest bulk query operations, newest first: a sync that starts finds the
/// operations an earlier, interrupted one left running.
pub struct BulkOperationsRecent;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationsRecentData {
    pub bulk_operations: BulkOperationList,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BulkOperationList {
    pub nodes: Vec<BulkOperationSummary>,
}

/// One operation and the query it runs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct BulkOperationSummary {
    pub id: String,
    pub status: String,
    pub query: String,
}

impl BulkOperationSummary {
    /// `CREATED` or `RUNNING`: it holds one of the app's bulk query slots and will produce a
    /// file (`CANCELING` holds a slot too, but will not).
    pub fn is_running(&self) -> bool {
        matches!(self.status.as_str(), "CREATED" | "RUNNING")
    }
}

impl Operation for BulkOperationsRecent {
    const NAME: &'static str = "BulkOperationsRecent";
    const DOCUMENT: &'static str = document!("BulkOperationsRecent.graphql");
    type Variables = NoVariables;
    type Data = BulkOperationsRecentData;
}

/// Asks Shopify to stop a running bulk operation (it moves to `CANCELING`, then `CANCELED`).
pub struct BulkOperationCancel;

#[derive(Debug, Clone, Serialize)]
pub struct BulkOperationCancelVariables {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationCancelData {
    pub bulk_operation_cancel: Option<BulkOperationCancelPayload>,
}

/// `userErrors` are plain `UserError`s here (no `code`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationCancelPayload {
    pub bulk_operation: Option<BulkOperationRef>,
    pub user_errors: Vec<BulkUserError>,
}

impl Operation for BulkOperationCancel {
    const NAME: &'static str = "BulkOperationCancel";
    const DOCUMENT: &'static str = document!("BulkOperationCancel.graphql");
    type Variables = BulkOperationCancelVariables;
    type Data = BulkOperationCancelData;
}

pub const FULL_SYNC_BULK_NAME: &str = "FullSyncBulk";
/// The inner query of a full sync: every variant with its product, inventory item and levels.
/// Each result line is a variant, or (with `__parentId` = the variant) one of its levels.
pub const FULL_SYNC_BULK_QUERY: &str = document!("FullSyncBulk.graphql");

/// One line of the full-sync JSONL: a variant (no `__parentId`) or a level (with it). Fields
/// of the other kind are absent.
///
/// A full sync reads hundreds of thousands of lines, so text borrows from the line where it
/// can: only strings with escapes (ids, whose `/` Shopify writes as `\/`) are copied.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FullSyncLine<'a> {
    #[serde(rename = "__parentId", borrow)]
    pub parent_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub sku: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub title: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub price: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub compare_at_price: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub updated_at: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub product: Option<BulkProduct<'a>>,
    #[serde(borrow)]
    pub inventory_item: Option<BulkItem<'a>>,
    #[serde(borrow)]
    pub location: Option<BulkItem<'a>>,
    #[serde(borrow)]
    pub quantities: Option<Vec<BulkQuantity<'a>>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkProduct<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub title: Cow<'a, str>,
    #[serde(borrow)]
    pub handle: Cow<'a, str>,
    #[serde(borrow)]
    pub status: Cow<'a, str>,
    #[serde(borrow)]
    pub vendor: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub product_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub updated_at: Cow<'a, str>,
}

/// An object of which the line selects only the id (inventory item, location).
#[derive(Debug, Clone, Deserialize)]
pub struct BulkItem<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
}

/// A named quantity of a level line.
#[derive(Debug, Clone, Deserialize)]
pub struct BulkQuantity<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    pub quantity: i64,
}

// ---------------------------------------------------------------------------------------------
// Webhook intake: one level read back after an ambiguous webhook, and the subscriptions.

/// One inventory level by its global id (`gid://shopify/InventoryLevel/<location>?
/// inventory_item_id=<item>`, the `admin_graphql_api_id` of an `inventory_levels/update`
/// webhook), with every quantity: the webhook carries only `available`.
pub struct InventoryLevelRead;

#[derive(Debug, Clone, Serialize)]
pub struct InventoryLevelReadVariables {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryLevelReadData {
    pub inventory_level: Option<LevelNode>,
}

impl Operation for InventoryLevelRead {
    const NAME: &'static str = "InventoryLevelRead";
    const DOCUMENT: &'static str = document!("InventoryLevelRead.graphql");
    type Variables = InventoryLevelReadVariables;
    type Data = InventoryLevelReadData;

    fn estimated_cost(_variables: &Self::Variables) -> f64 {
        2.0
    }
}

/// The app's webhook subscriptions (those created through the API), optionally only some
/// topics or one address.
pub struct WebhookSubscriptions;

#[derive(Debug, Clone, Serialize)]
pub struct WebhookSubscriptionsVariables {
    pub first: u32,
    pub after: Option<String>,
    /// `WebhookSubscriptionTopic` values, e.g. `INVENTORY_LEVELS_UPDATE`.
    pub topics: Option<Vec<String>>,
    pub uri: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSubscriptionsData {
    pub webhook_subscriptions: WebhookSubscriptionPage,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSubscriptionPage {
    pub nodes: Vec<WebhookSubscriptionNode>,
    pub page_info: PageInfo,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct WebhookSubscriptionNode {
    pub id: String,
    pub topic: String,
    pub uri: String,
}

impl Operation for WebhookSubscriptions {
    const NAME: &'static str = "WebhookSubscriptions";
    const DOCUMENT: &'static str = document!("WebhookSubscriptions.graphql");
    type Variables = WebhookSubscriptionsVariables;
    type Data = WebhookSubscriptionsData;
}

/// Subscribes `uri` (an `https://` address) to one topic, JSON bodies.
///
/// Sent without an idempotency key: Shopify refuses a second subscription of the same topic
/// and address ("Address for this topic has already been taken"), so a retry after a lost
/// answer cannot create a duplicate; the caller treats that refusal as "already there".
pub struct WebhookSubscriptionCreate;

#[derive(Debug, Clone, Serialize)]
pub struct WebhookSubscriptionCreateVariables {
    pub topic: String,
    pub uri: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSubscriptionCreateData {
    pub webhook_subscription_create: Option<WebhookSubscriptionCreatePayload>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSubscriptionCreatePayload {
    pub webhook_subscription: Option<WebhookSubscriptionNode>,
    pub user_errors: Vec<UserError>,
}

impl Operation for WebhookSubscriptionCreate {
    const NAME: &'static str = "WebhookSubscriptionCreate";
    const DOCUMENT: &'static str = document!("WebhookSubscriptionCreate.graphql");
    type Variables = WebhookSubscriptionCreateVariables;
    type Data = WebhookSubscriptionCreateData;
}

/// Every level of some inventory items, by the items' global ids: what an order did to their
/// stock (`committed`, `available`, `on_hand`) is read back at once instead of waiting for
/// the next poll. Ids that are not inventory items answer `null` (or `{}`).
pub struct ItemLevels;

#[derive(Debug, Clone, Serialize)]
pub struct ItemLevelsVariables {
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ItemLevelsData {
    pub nodes: Vec<Option<ItemLevelsNode>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemLevelsNode {
    /// Absent when the id named something else than an inventory item.
    pub id: Option<String>,
    pub inventory_levels: Option<LevelConnection>,
}

impl Operation for ItemLevels {
    const NAME: &'static str = "ItemLevels";
    const DOCUMENT: &'static str = document!("ItemLevels.graphql");
    type Variables = ItemLevelsVariables;
    type Data = ItemLevelsData;

    fn estimated_cost(variables: &Self::Variables) -> f64 {
        // Per item: the item and up to 50 levels with their quantities.
        2.0 + 4.0 * variables.ids.len() as f64
    }
}

/// The current price of some variants, by their global ids (at most 250 per call). Ids that
/// are not variants answer `null` (or `{}`).
pub struct VariantPrices;

#[derive(Debug, Clone, Serialize)]
pub struct VariantPricesVariables {
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VariantPricesData {
    pub nodes: Vec<Option<VariantPriceNode>>,
}

/// A variant's price. Every field is optional so that `{}` (an id naming something else than
/// a variant) decodes too.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VariantPriceNode {
    pub id: Option<String>,
    /// Money as Shopify sends it: a decimal string (`"12.50"`), never a float.
    pub price: Option<String>,
    pub compare_at_price: Option<String>,
    pub product: Option<IdRef>,
}

impl Operation for VariantPrices {
    const NAME: &'static str = "VariantPrices";
    const DOCUMENT: &'static str = document!("VariantPrices.graphql");
    type Variables = VariantPricesVariables;
    type Data = VariantPricesData;

    fn estimated_cost(variables: &Self::Variables) -> f64 {
        // Per variant: the variant and its product.
        1.0 + 2.0 * variables.ids.len() as f64
    }
}

/// `available` and `on_hand` of some inventory levels, by the levels' global ids
/// (`gid://shopify/InventoryLevel/<location>?inventory_item_id=<item>`, at most 250): the live
/// "before" of a bulk update's rows, and the values its rollback starts from.
pub struct LevelQuantities;

#[derive(Debug, Clone, Serialize)]
pub struct LevelQuantitiesVariables {
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LevelQuantitiesData {
    pub nodes: Vec<Option<LevelQuantitiesNode>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LevelQuantitiesNode {
    /// Absent when the id named something else than an inventory level.
    pub id: Option<String>,
    #[serde(default)]
    pub quantities: Vec<NamedQuantity>,
}

impl Operation for LevelQuantities {
    const NAME: &'static str = "LevelQuantities";
    const DOCUMENT: &'static str = document!("LevelQuantities.graphql");
    type Variables = LevelQuantitiesVariables;
    type Data = LevelQuantitiesData;

    fn estimated_cost(variables: &Self::Variables) -> f64 {
        // Per level: the level and its two quantities.
        1.0 + 3.0 * variables.ids.len() as f64
    }
}

/// New prices for one variant (`ProductVariantsBulkInput`). A field left `None` is not sent,
/// so Shopify keeps its value; `compare_at_price: Some(None)` is sent as an explicit `null`,
/// which clears the compare-at price.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VariantPriceInput {
    pub id: String,
    /// A decimal string, e.g. `"12.50"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare_at_price: Option<Option<String>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantsBulkUpdateVariables {
    pub product_id: String,
    /// Variants of `product_id` only, at most 250.
    pub variants: Vec<VariantPriceInput>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantsBulkUpdateData {
    pub product_variants_bulk_update: Option<VariantsBulkUpdatePayload>,
}

/// `userErrors` are `ProductVariantsBulkUpdateUserError`s (`field`, `message`, `code`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VariantsBulkUpdatePayload {
    pub product: Option<IdRef>,
    pub product_variants: Option<Vec<VariantPriceNode>>,
    pub user_errors: Vec<UserError>,
}

/// Sets the price and compare-at price of some variants of one product (at most 250 per
/// call), all or nothing (`allowPartialUpdates` is left at its default, `false`).
///
/// The document carries `@idempotent(key: $idempotencyKey)` like every [`Mutation`], and
/// both the 2026-07 schema (`directive @idempotent on FIELD`) and the simulator accept it;
/// but `productVariantsBulkUpdate` is not among the mutations whose description documents
/// idempotency support, and the simulator does not look at the key for it. So a retry after
/// a lost answer applies the prices again: harmless for the prices themselves (they are set,
/// not moved), but it can overwrite a price changed in between. Prices have no
/// compare-and-swap input either.
pub struct VariantsBulkUpdate;

impl Operation for VariantsBulkUpdate {
    const NAME: &'static str = "VariantsBulkUpdate";
    const DOCUMENT: &'static str = document!("VariantsBulkUpdate.graphql");
    type Variables = VariantsBulkUpdateVariables;
    type Data = VariantsBulkUpdateData;
}

impl Mutation for VariantsBulkUpdate {}

/// Orders changed since a time (`query: "updated_at:>='…'"`), oldest change first, each with
/// its lines and what they do to stock.
pub struct OrdersPage;

#[derive(Debug, Clone, Serialize)]
pub struct OrdersPageVariables {
    pub first: u32,
    pub after: Option<String>,
    pub query: Option<String>,
    /// Newest change first.
    pub reverse: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrdersPageData {
    pub orders: OrderConnection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderConnection {
    pub nodes: Vec<OrderNode>,
    pub page_info: PageInfo,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderNode {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
    pub cancelled_at: Option<String>,
    pub closed_at: Option<String>,
    pub display_financial_status: Option<String>,
    pub display_fulfillment_status: Option<String>,
    pub total_price_set: MoneyBag,
    pub line_items: LineItemConnection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoneyBag {
    pub shop_money: MoneyV2,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoneyV2 {
    pub amount: String,
    pub currency_code: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LineItemConnection {
    pub nodes: Vec<LineItemNode>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItemNode {
    pub id: String,
    pub sku: Option<String>,
    pub title: String,
    pub variant_title: Option<String>,
    pub quantity: i64,
    pub current_quantity: i64,
    pub unfulfilled_quantity: i64,
    pub original_unit_price_set: MoneyBag,
    pub variant: Option<LineVariant>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineVariant {
    pub id: String,
    pub inventory_item: IdRef,
}

impl Operation for OrdersPage {
    const NAME: &'static str = "OrdersPage";
    const DOCUMENT: &'static str = document!("OrdersPage.graphql");
    type Variables = OrdersPageVariables;
    type Data = OrdersPageData;

    fn estimated_cost(variables: &Self::Variables) -> f64 {
        // Shopify's connection costs grow with log(first) (a 250 × 250 orders-and-lines page
        // costs 156), so a page of 50 orders with their lines stays near 100.
        20.0 + f64::from(variables.first) * 1.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_price_input_omits_none_and_sends_an_explicit_null() {
        let json = |input: VariantPriceInput| serde_json::to_value(input).unwrap();
        let id = "gid://shopify/ProductVariant/1".to_owned();
        assert_eq!(
            json(VariantPriceInput {
                id: id.clone(),
                price: None,
                compare_at_price: None,
            }),
            serde_json::json!({ "id": id })
        );
        assert_eq!(
            json(VariantPriceInput {
                id: id.clone(),
                price: Some("12.50".into()),
                compare_at_price: Some(None),
            }),
            serde_json::json!({ "id": id, "price": "12.50", "compareAtPrice": null })
        );
        assert_eq!(
            json(VariantPriceInput {
                id: id.clone(),
                price: None,
                compare_at_price: Some(Some("15.00".into())),
            }),
            serde_json::json!({ "id": id, "compareAtPrice": "15.00" })
        );
    }

    #[test]
    fn bulk_update_variables_are_camel_case() {
        let vars = VariantsBulkUpdateVariables {
            product_id: "gid://shopify/Product/1".into(),
            variants: vec![VariantPriceInput {
                id: "gid://shopify/ProductVariant/2".into(),
                price: Some("3.00".into()),
                compare_at_price: None,
            }],
        };
        assert_eq!(
            serde_json::to_value(vars).unwrap(),
            serde_json::json!({
                "productId": "gid://shopify/Product/1",
                "variants": [{ "id": "gid://shopify/ProductVariant/2", "price": "3.00" }],
            })
        );
    }

    #[test]
    fn variant_prices_decode_null_and_empty_nodes() {
        let data: VariantPricesData = serde_json::from_value(serde_json::json!({
            "nodes": [
                { "id": "gid://shopify/ProductVariant/2", "price": "12.50",
                  "compareAtPrice": null, "product": { "id": "gid://shopify/Product/1" } },
                null,
                {}
            ]
        }))
        .unwrap();
        let first = data.nodes[0].as_ref().unwrap();
        assert_eq!(first.price.as_deref(), Some("12.50"));
        assert_eq!(first.compare_at_price, None);
        assert_eq!(
            first.product.as_ref().unwrap().id,
            "gid://shopify/Product/1"
        );
        assert!(data.nodes[1].is_none());
        assert_eq!(data.nodes[2].as_ref().unwrap().id, None);
    }
}
