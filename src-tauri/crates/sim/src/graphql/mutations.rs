//! Mutations. They run before the payload is resolved: each supported root field is performed on
//! the store under the write lock and leaves an [`Outcome`]; the resolvers then only read outcomes.
//! (So a payload never observes a later mutation of the same request; Shopify gives no guarantee
//! either way.)
//!
//! Served: `productVariantsBulkUpdate` (prices; see [`update_variants`]), `inventoryActivate`
//! (see [`perform_activate`]), and
//! `inventorySetQuantities` and `inventoryAdjustQuantities` with the 2026-04+ rules of FACTS §5,
//! checked in Shopify's order:
//! 1. (before execution, for every array argument: more than 250 items → `MAX_INPUT_SIZE_EXCEEDED`,
//!    see [`super::limits`]);
//! 2. a row without the `changeFromQuantity` key → `INVALID_FIELD_ARGUMENTS`, `data.<root>: null`
//!    (checked before the directive) [C capture];
//! 3. no field-level `@idempotent(key:)` → `BAD_REQUEST` [C capture];
//! 4. a key seen before: same input → the first payload again, other input →
//!    `IDEMPOTENCY_KEY_PARAMETER_MISMATCH` (message from a capture; replay and 24 h retention are
//!    FACTS §11 #8's defaults). Failed attempts are replayed too;
//! 5. the userError table (names, reason, reference document, unknown item or location, item not
//!    stocked, bounds, negative `on_hand`, duplicate rows, ledger documents);
//! 6. compare-and-swap: any stale `changeFromQuantity` fails the whole call with
//!    `CHANGE_FROM_QUANTITY_STALE` and changes nothing (§11 #5, #6 defaults);
//! 7. apply: `available` and the unavailable states move `on_hand` by the same delta, `on_hand`
//!    moves `available`; the group lists every changed quantity with `quantityAfterChange: null`.

use std::collections::HashMap;

use apollo_compiler::ExecutableDocument;
use apollo_compiler::ast::Value;
use apollo_compiler::executable::{Field, Operation, Selection};
use apollo_compiler::resolvers::{FieldError, ResolveInfo, ResolvedValue};
use apollo_compiler::response::{JsonMap, JsonValue};
use apollo_compiler::validation::Valid;

use super::FieldFailure;
use super::resolve::{Ctx, Obj, parse_gid};
use crate::clock::UnixMillis;
use crate::cost::field_key;
use crate::store::{
    AVAILABLE, DAMAGED, INCOMING, ON_HAND, QUALITY_CONTROL, RESERVED, SAFETY_STOCK, Store,
    quantity_index,
};

/// How long an idempotency key is remembered (FACTS §11 #8 default).
const KEY_RETENTION_MS: i64 = 24 * 3600 * 1000;
const QUANTITY_LIMIT: i64 = 1_000_000_000;

const REASONS: [&str; 17] = [
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_canceled",
    "movement_created",
    "movement_received",
    "movement_updated",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
];

/// Results of the mutation fields of one request, keyed by field.
#[derive(Default)]
pub struct Outcomes {
    by_field: HashMap<usize, Outcome>,
}

impl Outcomes {
    pub fn get(&self, info: &ResolveInfo<'_>) -> Option<&Outcome> {
        self.by_field.get(&field_key(info.field_selections()[0]))
    }
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// The root field fails with a top-level error and `data.<root>: null`.
    Failed(FieldFailure),
    Inventory(InventoryPayload),
    VariantsUpdate(VariantsPayload),
    Activate(ActivatePayload),
    /// A webhook subscription mutation (see [`crate::webhooks::graphql`]).
    Webhook(crate::webhooks::graphql::Payload),
    /// `bulkOperationRunQuery` / `bulkOperationCancel` (see [`crate::bulk`]).
    Bulk(crate::bulk::Payload),
}

/// `InventoryActivatePayload`: the level now stocking the item, or plain `UserError`s.
#[derive(Debug, Clone)]
pub struct ActivatePayload {
    pub level: Option<(u64, u64)>,
    pub user_errors: Vec<UserError>,
}

/// `ProductVariantsBulkUpdatePayload`.
#[derive(Debug, Clone)]
pub struct VariantsPayload {
    pub product_id: Option<u64>,
    pub variant_ids: Option<Vec<u64>>,
    pub user_errors: Vec<UserError>,
}

#[derive(Debug, Clone)]
pub struct InventoryPayload {
    pub payload_type: &'static str,
    pub error_type: &'static str,
    pub group: Option<Group>,
    pub user_errors: Vec<UserError>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: u64,
    pub created_at: UnixMillis,
    pub reason: String,
    pub reference_document_uri: Option<String>,
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone)]
pub struct Change {
    pub name: &'static str,
    pub delta: i64,
    pub item_id: u64,
    pub location_id: u64,
    pub ledger_document_uri: Option<String>,
}

#[derive(Debug, Clone)]
pub struct UserError {
    pub field: Option<Vec<String>>,
    pub message: String,
    pub code: Option<&'static str>,
}

impl UserError {
    fn new<S: AsRef<str>>(
        field: &[S],
        message: impl Into<String>,
        code: Option<&'static str>,
    ) -> Self {
        Self {
            field: Some(field.iter().map(|s| s.as_ref().to_owned()).collect()),
            message: message.into(),
            code,
        }
    }
}

impl Outcome {
    pub fn type_name(&self) -> &str {
        match self {
            Outcome::Failed(_) => "Mutation",
            Outcome::Inventory(p) => p.payload_type,
            Outcome::VariantsUpdate(_) => "ProductVariantsBulkUpdatePayload",
            Outcome::Activate(_) => "InventoryActivatePayload",
            Outcome::Webhook(p) => p.type_name(),
            Outcome::Bulk(p) => p.type_name,
        }
    }

    /// The value of the root mutation field.
    pub fn root<'a>(&'a self, ctx: Ctx<'a>) -> Result<ResolvedValue<'a>, FieldError> {
        match self {
            Outcome::Failed(failure) => Err(failure.clone().into()),
            Outcome::Webhook(payload) => Ok(ResolvedValue::object(
                crate::webhooks::graphql::PayloadObject(payload),
            )),
            Outcome::Inventory(_)
            | Outcome::VariantsUpdate(_)
            | Outcome::Activate(_)
            | Outcome::Bulk(_) => Ok(ResolvedValue::object(Obj::Outcome(ctx, self))),
        }
    }

    pub fn resolve<'a>(
        &'a self,
        ctx: Ctx<'a>,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        match self {
            Outcome::Failed(failure) => Err(failure.clone().into()),
            // Webhook payloads resolve through their own object (see `root`).
            Outcome::Webhook(payload) => Err(FieldFailure::new(
                "UNSUPPORTED_BY_SIMULATOR",
                format!(
                    "shopify-sim does not simulate the field `{}.{}`",
                    payload.type_name(),
                    info.field_name()
                ),
            )
            .into()),
            Outcome::Bulk(payload) => payload.resolve(ctx.state, info),
            Outcome::Inventory(payload) => match info.field_name() {
                "inventoryAdjustmentGroup" => Ok(ResolvedValue::nullable_object(
                    payload.group.as_ref().map(|g| Obj::Group(ctx, g)),
                )),
                "userErrors" => {
                    Ok(ResolvedValue::list(payload.user_errors.iter().map(|e| {
                        ResolvedValue::object(Obj::UserError(e, payload.error_type))
                    })))
                }
                other => Err(FieldFailure::new(
                    "UNSUPPORTED_BY_SIMULATOR",
                    format!(
                        "shopify-sim does not simulate the field `{}.{other}`",
                        payload.payload_type
                    ),
                )
                .into()),
            },
            Outcome::Activate(payload) => match info.field_name() {
                "inventoryLevel" => Ok(ResolvedValue::nullable_object(payload.level.and_then(
                    |(item_id, location_id)| {
                        let item = ctx.store.inventory_items.get(&item_id)?;
                        let level = item.levels.get(&location_id)?;
                        Some(Obj::Level(ctx, item, level))
                    },
                ))),
                "userErrors" => Ok(ResolvedValue::list(
                    payload
                        .user_errors
                        .iter()
                        .map(|e| ResolvedValue::object(Obj::UserError(e, "UserError"))),
                )),
                other => Err(FieldFailure::new(
                    "UNSUPPORTED_BY_SIMULATOR",
                    format!(
                        "shopify-sim does not simulate the field `InventoryActivatePayload.{other}`"
                    ),
                )
                .into()),
            },
            Outcome::VariantsUpdate(payload) => match info.field_name() {
                "product" => Ok(ResolvedValue::nullable_object(
                    payload
                        .product_id
                        .and_then(|id| ctx.store.products.get(&id))
                        .map(|p| Obj::Product(ctx, p)),
                )),
                "productVariants" => match &payload.variant_ids {
                    Some(ids) => Ok(ResolvedValue::list(
                        ids.iter()
                            .filter_map(|id| ctx.store.variants.get(id))
                            .map(move |v| ResolvedValue::object(Obj::Variant(ctx, v))),
                    )),
                    None => Ok(ResolvedValue::null()),
                },
                "userErrors" => Ok(ResolvedValue::list(payload.user_errors.iter().map(|e| {
                    ResolvedValue::object(Obj::UserError(e, "ProductVariantsBulkUpdateUserError"))
                }))),
                other => Err(FieldFailure::new(
                    "UNSUPPORTED_BY_SIMULATOR",
                    format!(
                        "shopify-sim does not simulate the field `ProductVariantsBulkUpdatePayload.{other}`"
                    ),
                )
                .into()),
            },
        }
    }
}

/// A remembered `@idempotent` key.
#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    pub fingerprint: String,
    pub at: UnixMillis,
    /// The first outcome, answered again to a retry with the same key and input.
    pub outcome: Outcome,
}

/// Performs every supported root mutation field of `operation`, in document order.
pub fn perform(
    state: &crate::server::SimState,
    store: &mut Store,
    keys: &mut HashMap<String, IdempotencyRecord>,
    document: &Valid<ExecutableDocument>,
    operation: &Operation,
    variables: &JsonMap,
    now: UnixMillis,
) -> Outcomes {
    keys.retain(|_, record| now - record.at < KEY_RETENTION_MS);
    let mut outcomes = Outcomes::default();
    let mut work = Vec::new();
    for field in root_fields(document, &operation.selection_set.selections) {
        let kind = match field.name.as_str() {
            "inventorySetQuantities" => Kind::Set,
            "inventoryAdjustQuantities" => Kind::Adjust,
            "productVariantsBulkUpdate" => Kind::Variants,
            "inventoryActivate" => Kind::Activate,
            root if crate::webhooks::graphql::MUTATION_ROOTS.contains(&root) => {
                let args: serde_json::Map<String, serde_json::Value> = field
                    .arguments
                    .iter()
                    .map(|a| {
                        let value = serde_json::to_value(to_json(&a.value, variables));
                        (a.name.to_string(), value.unwrap_or_default())
                    })
                    .collect();
                let after_sequence = store.events.len() as u64;
                if let Some(payload) = crate::webhooks::graphql::perform(
                    &state.webhooks,
                    root,
                    &serde_json::Value::Object(args),
                    after_sequence,
                    now,
                ) {
                    outcomes
                        .by_field
                        .insert(field_key(field), Outcome::Webhook(payload));
                }
                continue;
            }
            "bulkOperationRunQuery" | "bulkOperationCancel" => {
                let args: JsonMap = field
                    .arguments
                    .iter()
                    .map(|a| (a.name.as_str().into(), to_json(&a.value, variables)))
                    .collect();
                let payload = crate::bulk::perform(state, &field.name, &args, now);
                outcomes
                    .by_field
                    .insert(field_key(field), Outcome::Bulk(payload));
                continue;
            }
            _ => continue,
        };
        if kind == Kind::Activate {
            work.push((field, kind, JsonValue::Null, Vec::new()));
            continue;
        }
        if kind == Kind::Variants {
            let argument = |name: &str| {
                field
                    .specified_argument_by_name(name)
                    .map(|v| to_json(v, variables))
                    .unwrap_or(JsonValue::Null)
            };
            let rows = argument("variants").as_array().cloned().unwrap_or_default();
            work.push((field, kind, argument("productId"), rows));
            continue;
        }
        let input = field
            .specified_argument_by_name("input")
            .map(|v| to_json(v, variables))
            .unwrap_or(JsonValue::Null);
        let rows = input
            .get(kind.rows_key())
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default();
        work.push((field, kind, input, rows));
    }
    for (field, kind, input, rows) in work {
        // Without the scope nothing runs; the resolver reports ACCESS_DENIED.
        if super::resolve::check_scope(state, &field.name).is_err() {
            continue;
        }
        if kind == Kind::Activate {
            let outcome = perform_activate(store, keys, field, variables, now);
            outcomes.by_field.insert(field_key(field), outcome);
            continue;
        }
        if kind == Kind::Variants {
            let allow_partial = field
                .specified_argument_by_name("allowPartialUpdates")
                .map(|v| to_json(v, variables))
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            let outcome = update_variants(store, &input, &rows, allow_partial, now);
            outcomes.by_field.insert(field_key(field), outcome);
            continue;
        }
        let outcome = perform_inventory(store, keys, field, kind, &input, &rows, variables, now);
        outcomes.by_field.insert(field_key(field), outcome);
    }
    outcomes
}

/// `ProductVariantsBulkInput` fields the simulator applies; any other field present in the input
/// fails loudly rather than being dropped.
const VARIANT_INPUT_FIELDS: [&str; 6] = [
    "id",
    "price",
    "compareAtPrice",
    "barcode",
    "inventoryPolicy",
    "inventoryItem",
];

/// `productVariantsBulkUpdate` for prices and the few variant fields Shelfsync writes (FACTS §5):
/// one product per call, all-or-nothing unless `allowPartialUpdates`. Messages from FACTS where
/// captured ("Product variant does not exist", "At least one variant does not belong to the
/// product", "Price must be greater than or equal to 0", "Product variant IDs must be unique", the
/// inventory-quantities text); codes chosen from the schema's enum where not captured.
fn update_variants(
    store: &mut Store,
    product_id: &JsonValue,
    rows: &[JsonValue],
    allow_partial: bool,
    now: UnixMillis,
) -> Outcome {
    for row in rows {
        if let Some(obj) = row.as_object() {
            if let Some(key) = obj.keys().find(|k| {
                !VARIANT_INPUT_FIELDS.contains(&k.as_str()) && k.as_str() != "inventoryQuantities"
            }) {
                return Outcome::Failed(FieldFailure::new(
                    "UNSUPPORTED_BY_SIMULATOR",
                    format!(
                        "shopify-sim does not simulate the input field `ProductVariantsBulkInput.{}`",
                        key.as_str()
                    ),
                ));
            }
            if let Some(item) = obj.get("inventoryItem").and_then(|v| v.as_object())
                && let Some(key) = item
                    .keys()
                    .find(|k| !["sku", "tracked", "cost"].contains(&k.as_str()))
            {
                return Outcome::Failed(FieldFailure::new(
                    "UNSUPPORTED_BY_SIMULATOR",
                    format!(
                        "shopify-sim does not simulate the input field `InventoryItemInput.{}`",
                        key.as_str()
                    ),
                ));
            }
        }
    }
    let product = product_id
        .as_str()
        .and_then(parse_gid)
        .filter(|(kind, id, _)| *kind == "Product" && store.products.contains_key(id))
        .map(|(_, id, _)| id);
    let Some(product) = product else {
        return Outcome::VariantsUpdate(VariantsPayload {
            product_id: None,
            variant_ids: None,
            user_errors: vec![UserError::new(
                &["productId"],
                "Product does not exist",
                Some("PRODUCT_DOES_NOT_EXIST"),
            )],
        });
    };
    let mut errors = Vec::new();
    let mut valid: Vec<(u64, &JsonValue)> = Vec::new();
    let mut seen = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let index = i.to_string();
        let at = |leaf: &'static str| -> Vec<String> {
            vec!["variants".to_owned(), index.clone(), leaf.to_owned()]
        };
        let before = errors.len();
        let id = row.get("id").and_then(|v| v.as_str()).and_then(parse_gid);
        let variant = match id {
            None => {
                errors.push(UserError::new(
                    &at("id"),
                    "Product variant is missing ID attribute",
                    Some("PRODUCT_VARIANT_ID_MISSING"),
                ));
                None
            }
            Some((_, n, _)) => match store.variants.get(&n) {
                None => {
                    errors.push(UserError::new(
                        &at("id"),
                        "Product variant does not exist",
                        Some("PRODUCT_VARIANT_DOES_NOT_EXIST"),
                    ));
                    None
                }
                Some(v) if v.product_id != product => {
                    errors.push(UserError::new(
                        &at("id"),
                        "At least one variant does not belong to the product",
                        Some("MUST_BE_FOR_THIS_PRODUCT"),
                    ));
                    None
                }
                Some(v) => Some(v.id),
            },
        };
        if let Some(v) = variant {
            if seen.contains(&v) {
                errors.push(UserError::new(
                    &at("id"),
                    "Product variant IDs must be unique",
                    Some("INVALID_INPUT"),
                ));
            }
            seen.push(v);
        }
        for key in ["price", "compareAtPrice"] {
            match row.get(key) {
                None | Some(JsonValue::Null) => {}
                Some(value) => match parse_money(value) {
                    Some(cents) if cents < 0 => errors.push(UserError::new(
                        &at(key),
                        if key == "price" {
                            "Price must be greater than or equal to 0"
                        } else {
                            "Compare at price must be greater than or equal to 0"
                        },
                        Some("GREATER_THAN_OR_EQUAL_TO"),
                    )),
                    Some(_) => {}
                    None => errors.push(UserError::new(
                        &at(key),
                        "Price is invalid",
                        Some("INVALID_VALUE"),
                    )),
                },
            }
        }
        if row.get("inventoryQuantities").is_some() {
            errors.push(UserError::new(
                &at("inventoryQuantities"),
                "Inventory quantities can only be provided during create. To update inventory for existing variants, use inventoryAdjustQuantities.",
                Some("NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE"),
            ));
        }
        if let (Some(v), true) = (variant, errors.len() == before) {
            valid.push((v, row));
        }
    }
    if !errors.is_empty() && !allow_partial {
        return Outcome::VariantsUpdate(VariantsPayload {
            product_id: None,
            variant_ids: None,
            user_errors: errors,
        });
    }
    let mut updated = Vec::new();
    for (id, row) in valid {
        let Some(variant) = store.variants.get_mut(&id) else {
            continue;
        };
        if let Some(cents) = row.get("price").and_then(parse_money) {
            variant.price_cents = cents;
        }
        match row.get("compareAtPrice") {
            Some(JsonValue::Null) => variant.compare_at_price_cents = None,
            Some(v) => variant.compare_at_price_cents = parse_money(v),
            None => {}
        }
        match row.get("barcode") {
            Some(JsonValue::Null) => variant.barcode = None,
            Some(v) => variant.barcode = v.as_str().map(str::to_owned),
            None => {}
        }
        if let Some(policy) = row.get("inventoryPolicy").and_then(|v| v.as_str()) {
            variant.inventory_policy = if policy == "CONTINUE" {
                "CONTINUE"
            } else {
                "DENY"
            };
        }
        variant.updated_at = now;
        let item_id = variant.inventory_item_id;
        if let (Some(input), Some(item)) = (
            row.get("inventoryItem"),
            store.inventory_items.get_mut(&item_id),
        ) {
            if let Some(sku) = input.get("sku").and_then(|v| v.as_str()) {
                item.sku = sku.to_owned();
            }
            if let Some(tracked) = input.get("tracked").and_then(|v| v.as_bool()) {
                item.tracked = tracked;
            }
            if let Some(cost) = input.get("cost") {
                item.unit_cost_cents = parse_money(cost);
            }
            item.updated_at = now;
        }
        if let Some(sku) = row
            .get("inventoryItem")
            .and_then(|i| i.get("sku"))
            .and_then(|v| v.as_str())
            && let Some(variant) = store.variants.get_mut(&id)
        {
            variant.sku = sku.to_owned();
        }
        updated.push(id);
    }
    if !updated.is_empty() {
        if let Some(p) = store.products.get_mut(&product) {
            p.updated_at = now;
        }
        store.record(
            "products/update",
            now,
            format!("gid://shopify/Product/{product}"),
        );
    }
    Outcome::VariantsUpdate(VariantsPayload {
        product_id: Some(product),
        variant_ids: Some(updated),
        user_errors: errors,
    })
}

/// A `Money` input: a decimal string (or number) → cents; `None` when malformed or finer than
/// a cent.
fn parse_money(value: &JsonValue) -> Option<i64> {
    let text = match value {
        JsonValue::String(s) => s.as_str().to_owned(),
        JsonValue::Number(n) => n.to_string(),
        _ => return None,
    };
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || fraction.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let cents = whole.parse::<i64>().ok()? * 100 + format!("{fraction:0<2}").parse::<i64>().ok()?;
    Some(if negative { -cents } else { cents })
}

fn root_fields<'d>(
    document: &'d ExecutableDocument,
    selections: &'d [Selection],
) -> Vec<&'d Field> {
    let mut out = Vec::new();
    for selection in selections {
        match selection {
            Selection::Field(f) => out.push(&**f),
            Selection::InlineFragment(i) => {
                out.extend(root_fields(document, &i.selection_set.selections))
            }
            Selection::FragmentSpread(s) => {
                if let Some(fragment) = document.fragments.get(&s.fragment_name) {
                    out.extend(root_fields(document, &fragment.selection_set.selections));
                }
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Set,
    Adjust,
    Variants,
    Activate,
}

impl Kind {
    fn rows_key(self) -> &'static str {
        match self {
            Kind::Set => "quantities",
            Kind::Adjust => "changes",
            Kind::Variants => "variants",
            Kind::Activate => "",
        }
    }
    fn row_type(self) -> &'static str {
        match self {
            Kind::Set => "InventoryQuantityInput",
            Kind::Adjust => "InventoryChangeInput",
            Kind::Variants => "ProductVariantsBulkInput",
            Kind::Activate => "",
        }
    }
    fn payload_type(self) -> &'static str {
        match self {
            Kind::Set => "InventorySetQuantitiesPayload",
            Kind::Adjust => "InventoryAdjustQuantitiesPayload",
            Kind::Variants => "ProductVariantsBulkUpdatePayload",
            Kind::Activate => "InventoryActivatePayload",
        }
    }
    fn error_type(self) -> &'static str {
        match self {
            Kind::Set => "InventorySetQuantitiesUserError",
            Kind::Adjust => "InventoryAdjustQuantitiesUserError",
            Kind::Variants => "ProductVariantsBulkUpdateUserError",
            Kind::Activate => "UserError",
        }
    }
}

/// Literal or variable argument value as JSON; absent input fields stay absent.
pub(super) fn to_json(value: &Value, variables: &JsonMap) -> JsonValue {
    match value {
        Value::Null => JsonValue::Null,
        Value::Enum(e) => e.as_str().into(),
        Value::Variable(v) => variables
            .get(v.as_str())
            .cloned()
            .unwrap_or(JsonValue::Null),
        Value::String(s) => s.as_str().into(),
        Value::Float(f) => f.try_to_f64().map_or(JsonValue::Null, JsonValue::from),
        Value::Int(i) => i
            .try_to_i32()
            .map_or(JsonValue::Null, |i| JsonValue::from(i64::from(i))),
        Value::Boolean(b) => JsonValue::from(*b),
        Value::List(items) => {
            JsonValue::Array(items.iter().map(|v| to_json(v, variables)).collect())
        }
        Value::Object(fields) => {
            let mut map = JsonMap::new();
            for (name, v) in fields {
                map.insert(name.as_str(), to_json(v, variables));
            }
            JsonValue::Object(map)
        }
    }
}

/// Canonical text of an input (object keys sorted) for idempotency comparison.
fn fingerprint(root: &str, input: &JsonValue) -> String {
    let value: serde_json::Value = serde_json::to_value(input).unwrap_or_default();
    format!("{root}:{value}")
}

#[allow(clippy::too_many_arguments)]
fn perform_inventory(
    store: &mut Store,
    keys: &mut HashMap<String, IdempotencyRecord>,
    field: &Field,
    kind: Kind,
    input: &JsonValue,
    rows: &[JsonValue],
    variables: &JsonMap,
    now: UnixMillis,
) -> Outcome {
    if rows.iter().any(|row| {
        row.as_object()
            .is_some_and(|o| !o.contains_key("changeFromQuantity"))
    }) {
        return Outcome::Failed(FieldFailure::new(
            "INVALID_FIELD_ARGUMENTS",
            format!(
                "{} must include the following argument: changeFromQuantity.",
                kind.row_type()
            ),
        ));
    }
    let key = match idempotency_key(field, variables) {
        Ok(key) => key,
        Err(failure) => return Outcome::Failed(failure),
    };
    let print = fingerprint(&field.name, input);
    if let Some(record) = keys.get(&key) {
        if record.fingerprint == print {
            return record.outcome.clone();
        }
        return Outcome::Inventory(InventoryPayload {
            payload_type: kind.payload_type(),
            error_type: kind.error_type(),
            group: None,
            user_errors: vec![UserError {
                field: None,
                message:
                    "The same idempotency key cannot be used with different operation parameters."
                        .into(),
                code: Some("IDEMPOTENCY_KEY_PARAMETER_MISMATCH"),
            }],
        });
    }
    let result = match kind {
        Kind::Set => set_quantities(store, input, rows, now),
        Kind::Adjust => adjust_quantities(store, input, rows, now),
        // Only the two quantity mutations come through here.
        Kind::Variants | Kind::Activate => Err(Vec::new()),
    };
    let payload = match result {
        Ok(group) => InventoryPayload {
            payload_type: kind.payload_type(),
            error_type: kind.error_type(),
            group,
            user_errors: Vec::new(),
        },
        Err(user_errors) => InventoryPayload {
            payload_type: kind.payload_type(),
            error_type: kind.error_type(),
            group: None,
            user_errors,
        },
    };
    keys.insert(
        key,
        IdempotencyRecord {
            fingerprint: print,
            at: now,
            outcome: Outcome::Inventory(payload.clone()),
        },
    );
    Outcome::Inventory(payload)
}

/// The field's `@idempotent(key:)`, or Shopify's error when it is missing (FACTS §5).
fn idempotency_key(field: &Field, variables: &JsonMap) -> Result<String, FieldFailure> {
    let key = field
        .directives
        .get("idempotent")
        .and_then(|d| d.specified_argument_by_name("key"))
        .map(|v| to_json(v, variables));
    match key.as_ref().and_then(|k| k.as_str()) {
        Some(k) if !k.trim().is_empty() => Ok(k.to_owned()),
        // Not captured: Shopify documents only that the key must not be empty.
        Some(_) => Err(FieldFailure::bad_request(
            "The @idempotent directive key must not be empty.",
        )),
        None => Err(FieldFailure::bad_request(
            "The @idempotent directive is required for this mutation but was not provided.",
        )),
    }
}

/// `inventoryActivate`: stocks an item at a location (2026-04+: `@idempotent` required). An item
/// already stocked there is answered with its level, unchanged. The new level starts at
/// `available` (or `onHand` when only that is given), `0` otherwise; the other quantities start
/// at 0 so `on_hand` stays their sum. Unknown item or location → plain `UserError`s (the location
/// message is captured; the item message mirrors it).
fn perform_activate(
    store: &mut Store,
    keys: &mut HashMap<String, IdempotencyRecord>,
    field: &Field,
    variables: &JsonMap,
    now: UnixMillis,
) -> Outcome {
    let key = match idempotency_key(field, variables) {
        Ok(key) => key,
        Err(failure) => return Outcome::Failed(failure),
    };
    let mut args = JsonMap::new();
    for argument in &field.arguments {
        args.insert(argument.name.as_str(), to_json(&argument.value, variables));
    }
    let args = JsonValue::Object(args);
    let print = fingerprint(&field.name, &args);
    if let Some(record) = keys.get(&key) {
        if record.fingerprint == print {
            return record.outcome.clone();
        }
        return Outcome::Activate(ActivatePayload {
            level: None,
            user_errors: vec![UserError {
                field: None,
                message:
                    "The same idempotency key cannot be used with different operation parameters."
                        .into(),
                code: None,
            }],
        });
    }
    let id_of = |name: &str, kind: &str| {
        args.get(name)
            .and_then(|v| v.as_str())
            .and_then(parse_gid)
            .filter(|(k, _, _)| *k == kind)
            .map(|(_, id, _)| id)
    };
    let item = id_of("inventoryItemId", "InventoryItem")
        .filter(|id| store.inventory_items.contains_key(id));
    let location = id_of("locationId", "Location").filter(|id| store.locations.contains_key(id));
    let mut user_errors = Vec::new();
    if item.is_none() {
        user_errors.push(UserError::new(
            &["inventoryItemId"],
            "The product couldn't be stocked because the inventory item wasn't found.",
            None,
        ));
    }
    if location.is_none() {
        user_errors.push(UserError::new(
            &["locationId"],
            "The product couldn't be stocked because the location wasn't found.",
            None,
        ));
    }
    let outcome = match (item, location) {
        (Some(item_id), Some(location_id)) if user_errors.is_empty() => {
            let stocked = store
                .inventory_items
                .get(&item_id)
                .is_some_and(|i| i.levels.contains_key(&location_id));
            if !stocked {
                let start = args
                    .get("available")
                    .and_then(|v| v.as_i64())
                    .or_else(|| args.get("onHand").and_then(|v| v.as_i64()))
                    .unwrap_or(0);
                let mut quantities = [0_i64; 8];
                quantities[AVAILABLE] = start;
                quantities[ON_HAND] = start;
                if let Some(item) = store.inventory_items.get_mut(&item_id) {
                    item.levels.insert(
                        location_id,
                        crate::store::InventoryLevel {
                            location_id,
                            quantities,
                            quantity_updated_at: [now; 8],
                            is_active: true,
                            created_at: now,
                            updated_at: now,
                        },
                    );
                    item.updated_at = now;
                }
                store.record(
                    "inventory_levels/connect",
                    now,
                    super::resolve::level_gid(location_id, item_id),
                );
            }
            Outcome::Activate(ActivatePayload {
                level: Some((item_id, location_id)),
                user_errors: Vec::new(),
            })
        }
        _ => Outcome::Activate(ActivatePayload {
            level: None,
            user_errors,
        }),
    };
    keys.insert(
        key,
        IdempotencyRecord {
            fingerprint: print,
            at: now,
            outcome: outcome.clone(),
        },
    );
    outcome
}

/// One validated row: item, location, quantity index, the new value or delta, and the CAS value.
struct Row {
    item: u64,
    location: u64,
    amount: i64,
    change_from: Option<i64>,
    ledger: Option<String>,
}

fn common_checks(input: &JsonValue, errors: &mut Vec<UserError>) -> (String, Option<String>) {
    let reason = input
        .get("reason")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    if !REASONS.contains(&reason.as_str()) {
        errors.push(UserError::new(
            &["input", "reason"],
            format!(
                "The specified reason is invalid. Valid values are: {}.",
                REASONS.join(", ")
            ),
            Some("INVALID_REASON"),
        ));
    }
    let reference = input
        .get("referenceDocumentUri")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    if reference.as_deref().is_some_and(|uri| !has_scheme(uri)) {
        // Message not captured; code from the schema.
        errors.push(UserError::new(
            &["input", "referenceDocumentUri"],
            "The reference document URI is invalid.",
            Some("INVALID_REFERENCE_DOCUMENT"),
        ));
    }
    (reason, reference)
}

fn has_scheme(uri: &str) -> bool {
    match uri.split_once(':') {
        Some((scheme, rest)) => {
            !rest.is_empty()
                && scheme
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

/// Checks item, location, stocking and duplicates of each row.
fn rows_checks(
    store: &Store,
    rows: &[JsonValue],
    rows_key: &str,
    amount_key: &str,
    errors: &mut Vec<UserError>,
) -> Vec<Row> {
    let mut out = Vec::new();
    let pair = |row: &JsonValue| {
        (
            row.get("inventoryItemId")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            row.get("locationId")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        )
    };
    let mut pair_counts: HashMap<(Option<String>, Option<String>), usize> = HashMap::new();
    for row in rows {
        *pair_counts.entry(pair(row)).or_default() += 1;
    }
    for (i, row) in rows.iter().enumerate() {
        let index = i.to_string();
        let path = |leaf: &str| ["input", rows_key, index.as_str(), leaf].map(str::to_owned);
        let gid = |key: &str, kind: &str| {
            row.get(key)
                .and_then(|v| v.as_str())
                .and_then(parse_gid)
                .filter(|(k, _, _)| *k == kind)
                .map(|(_, id, _)| id)
        };
        let item = gid("inventoryItemId", "InventoryItem")
            .filter(|id| store.inventory_items.contains_key(id));
        let location = gid("locationId", "Location").filter(|id| store.locations.contains_key(id));
        let amount = row.get(amount_key).and_then(|v| v.as_i64()).unwrap_or(0);
        let mut ok = true;
        if item.is_none() {
            errors.push(UserError {
                field: Some(path("inventoryItemId").to_vec()),
                message: "The specified inventory item could not be found.".into(),
                code: Some("INVALID_INVENTORY_ITEM"),
            });
            ok = false;
        }
        if location.is_none() {
            errors.push(UserError {
                field: Some(path("locationId").to_vec()),
                message: "The specified location could not be found.".into(),
                code: Some("INVALID_LOCATION"),
            });
            ok = false;
        }
        if let (Some(item), Some(location)) = (item, location) {
            let stocked = store
                .inventory_items
                .get(&item)
                .is_some_and(|i| i.levels.get(&location).is_some_and(|l| l.is_active));
            if !stocked {
                // Message not captured; code from the 2026-07 schema.
                errors.push(UserError {
                    field: Some(path("locationId").to_vec()),
                    message: "The specified inventory item is not stocked at the location.".into(),
                    code: Some("ITEM_NOT_STOCKED_AT_LOCATION"),
                });
                ok = false;
            }
            // Every row of a repeated pair is reported (captured: rows 0 and 1 of a pair).
            if pair_counts.get(&pair(row)).is_some_and(|n| *n > 1) {
                errors.push(UserError {
                    field: Some(path("locationId").to_vec()),
                    message: "The combination of inventoryItemId and locationId must be unique."
                        .into(),
                    code: Some("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR"),
                });
                ok = false;
            }
        }
        if amount > QUANTITY_LIMIT {
            errors.push(UserError {
                field: Some(path(amount_key).to_vec()),
                message: "The quantity can't be higher than 1,000,000,000.".into(),
                code: Some("INVALID_QUANTITY_TOO_HIGH"),
            });
            ok = false;
        } else if amount < -QUANTITY_LIMIT {
            errors.push(UserError {
                field: Some(path(amount_key).to_vec()),
                message: "The quantity can't be lower than -1,000,000,000.".into(),
                code: Some("INVALID_QUANTITY_TOO_LOW"),
            });
            ok = false;
        }
        if let (true, Some(item), Some(location)) = (ok, item, location) {
            out.push(Row {
                item,
                location,
                amount,
                change_from: row.get("changeFromQuantity").and_then(|v| v.as_i64()),
                ledger: row
                    .get("ledgerDocumentUri")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
            });
        }
    }
    out
}

fn stale_check(store: &Store, rows: &[Row], index: usize, rows_key: &str) -> Vec<UserError> {
    rows.iter()
        .enumerate()
        .filter_map(|(i, row)| {
            let expected = row.change_from?;
            let current = store
                .inventory_items
                .get(&row.item)?
                .levels
                .get(&row.location)?
                .quantities[index];
            (expected != current).then(|| {
                UserError::new(
                    &["input", rows_key, &i.to_string(), "changeFromQuantity"],
                    "The changeFromQuantity value does not match persisted value.",
                    Some("CHANGE_FROM_QUANTITY_STALE"),
                )
            })
        })
        .collect()
}

/// Applies `delta` to quantity `index` and the quantities that move with it; returns the change
/// rows (zero deltas dropped).
fn apply(
    store: &mut Store,
    row: &Row,
    index: usize,
    delta: i64,
    now: UnixMillis,
    changes: &mut Vec<Change>,
) {
    if delta == 0 {
        return;
    }
    let Some(item) = store.inventory_items.get_mut(&row.item) else {
        return;
    };
    let Some(level) = item.levels.get_mut(&row.location) else {
        return;
    };
    let mut moved = vec![index];
    match index {
        AVAILABLE | DAMAGED | QUALITY_CONTROL | RESERVED | SAFETY_STOCK => moved.push(ON_HAND),
        ON_HAND => moved.push(AVAILABLE),
        _ => {}
    }
    for (n, &q) in moved.iter().enumerate() {
        level.quantities[q] += delta;
        level.quantity_updated_at[q] = now;
        changes.push(Change {
            name: crate::store::QUANTITY_NAMES[q],
            delta,
            item_id: row.item,
            location_id: row.location,
            ledger_document_uri: if n == 0 { row.ledger.clone() } else { None },
        });
    }
    level.updated_at = now;
    item.updated_at = now;
    store.record(
        "inventory_levels/update",
        now,
        super::resolve::level_gid(row.location, row.item),
    );
}

fn next_group_id(store: &mut Store) -> u64 {
    store.next_adjustment_group_id += 1;
    store.next_adjustment_group_id
}

fn set_quantities(
    store: &mut Store,
    input: &JsonValue,
    rows: &[JsonValue],
    now: UnixMillis,
) -> Result<Option<Group>, Vec<UserError>> {
    let mut errors = Vec::new();
    let name = input
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let index = match name {
        "available" => Some(AVAILABLE),
        "on_hand" => Some(ON_HAND),
        _ => {
            errors.push(UserError::new(
                &["input", "name"],
                "The quantity name must be either 'available' or 'on_hand'.",
                Some("INVALID_NAME"),
            ));
            None
        }
    };
    let (reason, reference) = common_checks(input, &mut errors);
    let checked = rows_checks(store, rows, "quantities", "quantity", &mut errors);
    if index == Some(ON_HAND) {
        for (i, row) in rows.iter().enumerate() {
            if row
                .get("quantity")
                .and_then(|v| v.as_i64())
                .is_some_and(|q| q < 0)
            {
                errors.push(UserError::new(
                    &["input", "quantities", &i.to_string(), "quantity"],
                    "The quantity can't be negative.",
                    Some("INVALID_QUANTITY_NEGATIVE"),
                ));
            }
        }
    }
    let Some(index) = index.filter(|_| errors.is_empty()) else {
        return Err(errors);
    };
    let stale = stale_check(store, &checked, index, "quantities");
    if !stale.is_empty() {
        return Err(stale);
    }
    let mut changes = Vec::new();
    for row in &checked {
        let current = store
            .inventory_items
            .get(&row.item)
            .and_then(|i| i.levels.get(&row.location))
            .map_or(0, |l| l.quantities[index]);
        apply(store, row, index, row.amount - current, now, &mut changes);
    }
    Ok(Some(Group {
        id: next_group_id(store),
        created_at: now,
        reason,
        reference_document_uri: reference,
        changes,
    }))
}

fn adjust_quantities(
    store: &mut Store,
    input: &JsonValue,
    rows: &[JsonValue],
    now: UnixMillis,
) -> Result<Option<Group>, Vec<UserError>> {
    let mut errors = Vec::new();
    let name = input
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let index = match quantity_index(name) {
        Some(i @ (AVAILABLE | DAMAGED | INCOMING | QUALITY_CONTROL | RESERVED | SAFETY_STOCK)) => {
            Some(i)
        }
        _ => {
            // The capture shows `code: null` for this rule.
            errors.push(UserError::new(
                &["input", "name"],
                "The specified quantity name is invalid. Valid values are: available, damaged, incoming, quality_control, reserved, safety_stock.",
                None,
            ));
            None
        }
    };
    let (reason, reference) = common_checks(input, &mut errors);
    let checked = rows_checks(store, rows, "changes", "delta", &mut errors);
    if let Some(index) = index {
        for (i, row) in rows.iter().enumerate() {
            let ledger = row.get("ledgerDocumentUri").and_then(|v| v.as_str());
            let at = |leaf: &str| {
                ["input", "changes", &i.to_string(), leaf]
                    .map(str::to_owned)
                    .to_vec()
            };
            match (index == AVAILABLE, ledger) {
                (true, Some(_)) => errors.push(UserError {
                    field: Some(at("ledgerDocumentUri")),
                    message: "A ledger document URI is not allowed when adjusting available.".into(),
                    code: Some("INVALID_AVAILABLE_DOCUMENT"),
                }),
                (false, None) => errors.push(UserError {
                    field: Some(at("ledgerDocumentUri")),
                    message: "A ledger document URI is required except when adjusting available."
                        .into(),
                    code: Some("INVALID_QUANTITY_DOCUMENT"),
                }),
                (false, Some(uri)) if uri.starts_with("gid://shopify/") => errors.push(UserError {
                    field: Some(at("ledgerDocumentUri")),
                    message: "Internal (gid://shopify/) ledger documents are not allowed to be adjusted via API."
                        .into(),
                    code: Some("INTERNAL_LEDGER_DOCUMENT"),
                }),
                _ => {}
            }
        }
    }
    let ledgers: Vec<Option<&str>> = rows
        .iter()
        .map(|r| r.get("ledgerDocumentUri").and_then(|v| v.as_str()))
        .collect();
    if ledgers.windows(2).any(|w| w[0] != w[1]) {
        errors.push(UserError::new(
            &["input", "changes"],
            "All changes must have the same ledger document URI or, in the case of adjusting available, no ledger document URI.",
            Some("MAX_ONE_LEDGER_DOCUMENT"),
        ));
    }
    let Some(index) = index.filter(|_| errors.is_empty()) else {
        return Err(errors);
    };
    let stale = stale_check(store, &checked, index, "changes");
    if !stale.is_empty() {
        return Err(stale);
    }
    let mut changes = Vec::new();
    for row in &checked {
        apply(store, row, index, row.amount, now, &mut changes);
    }
    if changes.is_empty() {
        // Every delta zero: a no-op, not an error (captured).
        return Ok(None);
    }
    Ok(Some(Group {
        id: next_group_id(store),
        created_at: now,
        reason,
        reference_document_uri: reference,
        changes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_documents_need_a_scheme() {
        assert!(has_scheme("gid://my-app/PurchaseOrder/PO-1"));
        assert!(has_scheme("logistics://har-408/set/1"));
        assert!(has_scheme("https://example.com/po/1"));
        assert!(!has_scheme("PO-1"));
        assert!(!has_scheme("1:2"));
    }
}
